//! Network rules (`sb2 -n MODE`, docs/net-rules.md), end to end, with the C
//! probe `tests/probes/net.c`, python3, curl and getent against servers the
//! tests start themselves: `offline` refuses even loopback (connect and send
//! EPERM, bind EADDRNOTAVAIL) and the server never sees a connection;
//! `localhost` allows loopback, rewrites a wildcard bind to 127.0.0.1 / ::1
//! and refuses other local addresses; a custom rule file decides per port;
//! name lookups are refused at once, without a DNS query (counted by a
//! responder of the test); an unknown mode or a bad rule file is an error.
//!
//! Nothing leaves the machine: sockets go to loopback, or into a network
//! namespace the test makes with `unshare -rn` (only `lo` in it), and every
//! name lookup runs in a namespace whose /etc/resolv.conf names the test's
//! own responder. A machine that forbids unprivileged namespaces fails those
//! tests with a message saying so.

use sb2_tests::*;
use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Output, Stdio};
use std::time::{Duration, Instant};

/// A TCP listener and a UDP socket on ADDR (ports chosen by the system,
/// printed as `TCPPORT UDPPORT`), counting accepted connections and
/// received datagrams in COUNTFILE (`TCP UDP`).
/// Usage: server.py 4|6 ADDR COUNTFILE
const SERVER_PY: &str = r#"import os, select, socket, sys
fam = socket.AF_INET6 if sys.argv[1] == "6" else socket.AF_INET
addr, count = sys.argv[2], sys.argv[3]
t = socket.socket(fam, socket.SOCK_STREAM)
t.bind((addr, 0))
t.listen(64)
u = socket.socket(fam, socket.SOCK_DGRAM)
u.bind((addr, 0))
n = [0, 0]
def save():
    with open(count + ".tmp", "w") as f:
        f.write("%d %d\n" % (n[0], n[1]))
    os.replace(count + ".tmp", count)
save()
print(t.getsockname()[1], u.getsockname()[1], flush=True)
while True:
    r, _, _ = select.select([t, u], [], [])
    if t in r:
        c, _ = t.accept()
        n[0] += 1
        c.close()
    if u in r:
        u.recvfrom(65536)
        n[1] += 1
    save()
"#;

/// A DNS responder on 127.0.0.1:53 (in a network namespace, where the test
/// is root): counts queries in COUNTFILE and answers each with NXDOMAIN.
/// Prints `ready` once listening. Usage: dns.py COUNTFILE
const DNS_PY: &str = r#"import os, socket, sys
count = sys.argv[1]
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.1", 53))
n = 0
def save():
    with open(count + ".tmp", "w") as f:
        f.write(str(n))
    os.replace(count + ".tmp", count)
save()
print("ready", flush=True)
while True:
    q, peer = s.recvfrom(4096)
    n += 1
    save()
    if len(q) < 12:
        continue
    i = 12
    while i < len(q) and q[i] != 0:
        i += q[i] + 1
    flags = bytes([0x80 | (q[2] & 0x79), 0x80 | 3])
    s.sendto(q[:2] + flags + b"\x00\x01\x00\x00\x00\x00\x00\x00" + q[12:i + 5], peer)
"#;

/// python3 -c: connect to 127.0.0.1:ARGV1; prints `connected`,
/// `PermissionError ERRNO` or `OSError ERRNO`. (No single quotes: it goes
/// into a single-quoted shell word.)
const PY_CONNECT: &str = r#"import socket, sys
try:
    socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=5).close()
    print("connected")
except PermissionError as e:
    print("PermissionError", e.errno)
except OSError as e:
    print("OSError", e.errno)"#;

/// python3 -c: getaddrinfo("example.org"); prints the first address or
/// `gaierror True` when the error is EAI_NONAME.
const PY_GAI: &str = r#"import socket
try:
    print(socket.getaddrinfo("example.org", 80)[0][4][0])
except socket.gaierror as e:
    print("gaierror", e.errno == socket.EAI_NONAME)"#;

/// `DIR/server.py` (written once per world).
fn server_py(w: &World) -> PathBuf {
    let p = w.dir.join("server.py");
    if !p.exists() {
        std::fs::write(&p, SERVER_PY).expect("write server.py");
    }
    p
}

/// A [`SERVER_PY`] run outside sb2; killed (by its pid) when dropped.
struct Server {
    child: Child,
    tcp: u16,
    udp: u16,
    count: PathBuf,
}

impl Server {
    fn start(w: &World, v6: bool, addr: &str, name: &str) -> Server {
        require("python3");
        let script = server_py(w);
        let count = w.dir.join(format!("{name}.count"));
        let mut child = w
            .cmd("python3")
            .arg(&script)
            .arg(if v6 { "6" } else { "4" })
            .arg(addr)
            .arg(&count)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .spawn()
            .expect("start the python3 server");
        let mut line = String::new();
        let out = child.stdout.take().expect("server stdout");
        let _ = BufReader::new(out).read_line(&mut line);
        let ports: Vec<u16> = line
            .split_whitespace()
            .filter_map(|p| p.parse().ok())
            .collect();
        if ports.len() != 2 {
            let _ = child.kill();
            let _ = child.wait();
            panic!("the test server {name} on {addr} did not start (printed {line:?})");
        }
        Server {
            child,
            tcp: ports[0],
            udp: ports[1],
            count,
        }
    }

    /// (accepted connections, received datagrams) so far.
    fn counts(&self) -> (u32, u32) {
        let t = std::fs::read_to_string(&self.count).unwrap_or_default();
        let n: Vec<u32> = t
            .split_whitespace()
            .filter_map(|x| x.parse().ok())
            .collect();
        (
            n.first().copied().unwrap_or(0),
            n.get(1).copied().unwrap_or(0),
        )
    }

    /// The counts once they reached `min` (or 5 s passed), after a pause
    /// for anything still in flight.
    fn settled_counts(&self, min: (u32, u32)) -> (u32, u32) {
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(5) {
            let c = self.counts();
            if c.0 >= min.0 && c.1 >= min.1 {
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        std::thread::sleep(Duration::from_millis(300));
        self.counts()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Checks the `LABEL: VALUE` lines the test scripts print; reports every
/// mismatch at once, with the whole output.
fn expect_fields(o: &Output, want: &[(&str, &str)]) {
    let s = stdout(o);
    let mut bad = Vec::new();
    for (label, v) in want {
        let p = format!("{label}: ");
        let got = s
            .lines()
            .find_map(|l| l.strip_prefix(p.as_str()))
            .map(str::trim);
        if got != Some(*v) {
            bad.push(format!("{label}: want {v:?}, got {got:?}"));
        }
    }
    assert!(bad.is_empty(), "{}\n{}", bad.join("\n"), text(o));
}

/// The value of the `LABEL: VALUE` line.
fn field(o: &Output, label: &str) -> String {
    let p = format!("{label}: ");
    stdout(o)
        .lines()
        .find_map(|l| l.strip_prefix(p.as_str()))
        .map(|v| v.trim().to_owned())
        .unwrap_or_else(|| panic!("no `{label}:` line:\n{}", text(o)))
}

/// The port of a `bindname` result `PREFIX:PORT` (e.g. `127.0.0.1:`,
/// `[::1]:`); panics unless it has that form with a port other than 0.
fn bound_port(o: &Output, label: &str, prefix: &str) -> u16 {
    let v = field(o, label);
    let port = v
        .strip_prefix(prefix)
        .and_then(|p| p.parse::<u16>().ok())
        .unwrap_or_else(|| panic!("{label}: want {prefix}PORT, got {v:?}\n{}", text(o)));
    assert_ne!(port, 0, "{label}: {v}\n{}", text(o));
    port
}

fn net_probe() -> String {
    probe("net").to_str().expect("probe path").to_owned()
}

fn stderr_of(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Runs `sh -c 'ip link set lo up; SETUP; echo NS-READY; BODY'` under
/// `unshare FLAGS` (FLAGS includes -r and -n: a user and network namespace
/// in which only `lo` exists and the test is root). Panics with a clear
/// message (never skips) when the machine forbids the namespace or the
/// setup fails.
fn in_ns(w: &World, flags: &str, setup: &str, body: &str) -> Output {
    require("unshare");
    require("ip");
    let script = format!(
        "ip link set lo up || {{ echo 'NS-SETUP-FAILED: ip link set lo up'; exit 90; }}\n{setup}\necho NS-READY\n{body}\n"
    );
    let o = w
        .cmd("unshare")
        .arg(flags)
        .arg("sh")
        .arg("-c")
        .arg(&script)
        .output()
        .expect("run unshare");
    let out = stdout(&o);
    if !out.contains("NS-READY") {
        if !out.contains("NS-SETUP-FAILED") && stderr_of(&o).contains("Operation not permitted") {
            panic!(
                "`unshare {flags}` is not permitted on this machine (unprivileged user namespaces \
                 disabled?): this test needs a user+network namespace of its own so that no \
                 packet leaves the machine\n{}",
                text(&o)
            );
        }
        panic!(
            "setting up the namespace (`unshare {flags}`) failed:\n{}",
            text(&o)
        );
    }
    o
}

/// Runs BODY in a user+network+mount namespace whose /etc/resolv.conf names
/// the DNS responder [`DNS_PY`] on 127.0.0.1 (its query count in
/// `DIR/dns.count`), whose nsswitch.conf says `hosts: files dns` and where
/// nscd's socket is hidden: no lookup can reach a real name server.
fn in_dns_ns(w: &World, body: &str) -> Output {
    require("python3");
    require("getent");
    require("mount");
    std::fs::write(w.dir.join("dns.py"), DNS_PY).expect("write dns.py");
    std::fs::write(
        w.dir.join("resolv.conf"),
        "nameserver 127.0.0.1\noptions timeout:1 attempts:1\n",
    )
    .expect("write resolv.conf");
    std::fs::write(
        w.dir.join("nsswitch.conf"),
        "passwd: files\ngroup: files\nshadow: files\nhosts: files dns\nnetworks: files\nprotocols: files\nservices: files\n",
    )
    .expect("write nsswitch.conf");
    let d = w.dir.display();
    let setup = format!(
        r#"mount --bind {d}/resolv.conf /etc/resolv.conf || {{ echo 'NS-SETUP-FAILED: mount --bind over /etc/resolv.conf in the namespace'; exit 91; }}
mount --bind {d}/nsswitch.conf /etc/nsswitch.conf || {{ echo 'NS-SETUP-FAILED: mount --bind over /etc/nsswitch.conf in the namespace'; exit 91; }}
for n in /run/nscd /var/run/nscd; do
  if [ -d $n ] && [ ! -L $n ]; then mount -t tmpfs sb2-test $n || {{ echo "NS-SETUP-FAILED: hiding $n"; exit 91; }}; fi
done
python3 {d}/dns.py {d}/dns.count > {d}/dns.ready &
dpid=$!
trap 'kill $dpid 2>/dev/null' EXIT
i=0
while [ ! -s {d}/dns.ready ] && [ $i -lt 200 ]; do sleep 0.05; i=$((i+1)); done
[ -s {d}/dns.ready ] || {{ echo 'NS-SETUP-FAILED: the DNS responder did not start'; exit 92; }}
grep -q '^nameserver 127.0.0.1' /etc/resolv.conf || {{ echo 'NS-SETUP-FAILED: /etc/resolv.conf not replaced'; exit 93; }}"#
    );
    in_ns(w, "-rnm", &setup, body)
}

#[test]
fn offline_refuses_loopback_connect_send_and_bind_and_the_server_sees_nothing() {
    require("curl");
    let w = World::new("net-offline");
    let srv = Server::start(&w, false, "127.0.0.1", "v4");
    let p = net_probe();
    let (t, u) = (srv.tcp, srv.udp);
    let script = format!(
        r#"P={p}
echo "connect: $($P connect ipv4 127.0.0.1 {t})"
echo "sendto: $($P sendto ipv4 127.0.0.1 {u})"
echo "sendmsg: $($P sendmsg ipv4 127.0.0.1 {u})"
echo "bind: $($P bind ipv4 127.0.0.1 0)"
echo "bind-any: $($P bind ipv4 0.0.0.0 0)"
echo "python: $(python3 -c '{py}' {t})"
curl -sS --noproxy '*' --max-time 10 -o /dev/null http://127.0.0.1:{t}/
echo "curl: $?"
"#,
        py = PY_CONNECT
    );
    let o = w.sh(&["-n", "offline", "--"], &script);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    expect_fields(
        &o,
        &[
            ("connect", "errno EPERM"),
            ("sendto", "errno EPERM"),
            ("sendmsg", "errno EPERM"),
            ("bind", "errno EADDRNOTAVAIL"),
            ("bind-any", "errno EADDRNOTAVAIL"),
            ("python", "PermissionError 1"),
            ("curl", "7"),
        ],
    );
    // The violations, summed up when the session ends.
    let err = stderr_of(&o);
    for want in [
        "access violation".to_owned(),
        format!("probe-net: connect 127.0.0.1 port {t} (EPERM)"),
        format!("probe-net: sendto 127.0.0.1 port {u} (EPERM)"),
        format!("curl: connect 127.0.0.1 port {t} (EPERM)"),
    ] {
        assert!(err.contains(&want), "stderr lacks {want:?}:\n{}", text(&o));
    }

    // The same calls online (the default, and -n online) reach the server:
    // it counts exactly those, none of the offline ones.
    let online = format!(
        "P={p}\necho \"connect: $($P connect ipv4 127.0.0.1 {t})\"\necho \"sendto: $($P sendto ipv4 127.0.0.1 {u})\"\n"
    );
    let modes: [&[&str]; 2] = [&[], &["-n", "online", "--"]];
    for args in modes {
        let o = w.sh(args, &online);
        assert_eq!(o.status.code(), Some(0), "{args:?}\n{}", text(&o));
        expect_fields(&o, &[("connect", "ok"), ("sendto", "ok")]);
        assert!(
            !stderr_of(&o).contains("access violation"),
            "{args:?}\n{}",
            text(&o)
        );
    }
    assert_eq!(
        srv.settled_counts((2, 2)),
        (2, 2),
        "(connections, datagrams) the server saw: only the 2 online ones"
    );
}

#[test]
fn localhost_allows_loopback_and_binds_the_wildcard_address_to_127_0_0_1() {
    let w = World::new("net-localhost");
    let srv = Server::start(&w, false, "127.0.0.1", "v4");
    let p = net_probe();
    let (t, u) = (srv.tcp, srv.udp);
    let script = format!(
        r#"P={p}
echo "connect: $($P connect ipv4 127.0.0.1 {t})"
echo "connect-127.0.0.2: $($P connect ipv4 127.0.0.2 {t})"
echo "sendto: $($P sendto ipv4 127.0.0.1 {u})"
echo "bindname-any: $($P bindname ipv4 0.0.0.0 0)"
echo "bindname-lo: $($P bindname ipv4 127.0.0.1 0)"
echo "listen: $($P listen ipv4 127.0.0.1 0)"
echo "python-bind: $(python3 -c 'import socket; s = socket.socket(); s.bind(("", 0)); print(s.getsockname()[0])')"
"#
    );
    let o = w.sh(&["-n", "localhost", "--"], &script);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    expect_fields(
        &o,
        &[
            ("connect", "ok"),
            // Allowed (127.0.0.0/8), refused by the kernel: nobody listens.
            ("connect-127.0.0.2", "errno ECONNREFUSED"),
            ("sendto", "ok"),
            ("listen", "ok"),
            ("python-bind", "127.0.0.1"),
        ],
    );
    bound_port(&o, "bindname-any", "127.0.0.1:");
    bound_port(&o, "bindname-lo", "127.0.0.1:");
    assert!(!stderr_of(&o).contains("access violation"), "{}", text(&o));
    assert_eq!(
        srv.settled_counts((1, 1)),
        (1, 1),
        "(connections, datagrams)"
    );

    // Without -n the wildcard stays the wildcard: the rewrite is sb2's.
    let o = w.sh(
        &[],
        &format!("echo \"bindname-any: $({p} bindname ipv4 0.0.0.0 0)\""),
    );
    bound_port(&o, "bindname-any", "0.0.0.0:");
}

#[test]
fn localhost_and_privatenets_refuse_other_addresses_in_a_network_namespace() {
    let w = World::new("net-localhost-ns");
    let p = net_probe();
    // 10.9.9.1 is a local, non-loopback address of the namespace (on lo:
    // a dummy interface needs a kernel module containers may lack).
    // 192.0.2.1 (TEST-NET-1) has no route there: ENETUNREACH, no packet.
    let o = in_ns(
        &w,
        "-rn",
        "ip addr add 10.9.9.1/32 dev lo || { echo 'NS-SETUP-FAILED: ip addr add 10.9.9.1/32 dev lo'; exit 91; }",
        &format!(
            r#"P={p}
echo "sb2-connect: $(sb2 -n localhost -- $P connect ipv4 10.9.9.1 9)"
echo "sb2-sendto: $(sb2 -n localhost -- $P sendto ipv4 10.9.9.1 9)"
echo "sb2-bind: $(sb2 -n localhost -- $P bind ipv4 10.9.9.1 0)"
echo "sb2-lo: $(sb2 -n localhost -- $P connect ipv4 127.0.0.1 9)"
echo "plain-connect: $($P connect ipv4 10.9.9.1 9)"
echo "plain-bind: $($P bind ipv4 10.9.9.1 0)"
echo "priv-connect: $(sb2 -n online_privatenets -- $P connect ipv4 10.9.9.1 9)"
echo "priv-bind: $(sb2 -n online_privatenets -- $P bind ipv4 10.9.9.1 0)"
echo "priv-public: $(sb2 -n online_privatenets -- $P connect ipv4 192.0.2.1 9)"
echo "plain-public: $($P connect ipv4 192.0.2.1 9)"
"#
        ),
    );
    expect_fields(
        &o,
        &[
            ("sb2-connect", "errno EPERM"),
            ("sb2-sendto", "errno EPERM"),
            ("sb2-bind", "errno EADDRNOTAVAIL"),
            // Loopback is allowed: the kernel refuses (nobody on port 9).
            ("sb2-lo", "errno ECONNREFUSED"),
            // Without sb2 the same calls get the kernel's answers.
            ("plain-connect", "errno ECONNREFUSED"),
            ("plain-bind", "ok"),
            ("priv-connect", "errno ECONNREFUSED"),
            ("priv-bind", "ok"),
            ("priv-public", "errno EPERM"),
            ("plain-public", "errno ENETUNREACH"),
        ],
    );
}

#[test]
fn a_custom_rule_file_allows_one_port_and_refuses_another() {
    let w = World::new("net-custom");
    let a = Server::start(&w, false, "127.0.0.1", "a");
    let b = Server::start(&w, false, "127.0.0.1", "b");
    let (pa, pb) = (a.tcp, b.tcp);
    // No rule matches port C (a's UDP port, as a TCP port): EPERM, the
    // default; no ipv6_out chain: every IPv6 destination is refused.
    let pc = a.udp;
    let rules = w.write(
        "rules/ports.lua",
        &format!(
            r#"-- port {pa} allowed, port {pb} refused as if nobody listened
net_rule_file_interface_version = "100"
net_rules = {{
  ipv4_out = {{
    {{ address = "127.0.0.1", port = {pa}, allow = true }},
    {{ address = "127.0.0.0/8", port = {pb}, deny = true, errno = "ECONNREFUSED" }},
  }},
  ipv4_in = {{ {{ allow = true }} }},
}}
"#
        ),
    );
    let rules = rules.to_str().unwrap();
    let p = net_probe();
    let o = w.sh(
        &["-n", rules, "--"],
        &format!(
            r#"P={p}
echo "a: $($P connect ipv4 127.0.0.1 {pa})"
echo "b: $($P connect ipv4 127.0.0.1 {pb})"
echo "c: $($P connect ipv4 127.0.0.1 {pc})"
echo "v6: $($P connect ipv6 ::1 {pa})"
echo "bind: $($P bind ipv4 127.0.0.1 0)"
"#
        ),
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    expect_fields(
        &o,
        &[
            ("a", "ok"),
            ("b", "errno ECONNREFUSED"),
            ("c", "errno EPERM"),
            ("v6", "errno EPERM"),
            ("bind", "ok"),
        ],
    );
    assert_eq!(a.settled_counts((1, 0)), (1, 0), "server a");
    assert_eq!(
        b.settled_counts((0, 0)),
        (0, 0),
        "server b saw the refused connect"
    );

    // A rule file with a syntax error on line 4: exit 125, file:line named.
    let bad = w.write(
        "rules/bad.lua",
        "net_rule_file_interface_version = \"100\"\nnet_rules = {\n  ipv4_out = { { allow = true },\n  oops oops\n}\n",
    );
    let o = w.sb2(&["-n", bad.to_str().unwrap(), "--", "true"]);
    assert_eq!(o.status.code(), Some(125), "{}", text(&o));
    assert!(stderr_of(&o).contains("bad.lua:4"), "{}", text(&o));
    // A rule that names an unknown errno: exit 125, the file and the value
    // named.
    let bad = w.write(
        "rules/badval.lua",
        "net_rule_file_interface_version = \"100\"\nnet_rules = {\n  ipv4_out = { { deny = true, errno = \"EBOGUS\" } },\n}\n",
    );
    let o = w.sb2(&["-n", bad.to_str().unwrap(), "--", "true"]);
    assert_eq!(o.status.code(), Some(125), "{}", text(&o));
    let err = stderr_of(&o);
    assert!(
        err.contains("badval.lua") && err.contains("EBOGUS"),
        "{}",
        text(&o)
    );
    // A rule file that does not exist.
    let missing = w.dir.join("no-such-rules.lua");
    let o = w.sb2(&["-n", missing.to_str().unwrap(), "--", "true"]);
    assert_eq!(o.status.code(), Some(125), "{}", text(&o));
    assert!(stderr_of(&o).contains("no-such-rules.lua"), "{}", text(&o));
}

#[test]
fn ipv6_localhost_allows_loopback_and_binds_the_wildcard_address_to_1() {
    require("python3");
    let w = World::new("net-ipv6");
    let p = net_probe();
    let srv = server_py(&w);
    let d = w.dir.display();
    // In a namespace of its own: IPv6 on lo there does not depend on how
    // the machine's (or a container's) loopback is configured.
    let o = in_ns(
        &w,
        "-rn",
        "",
        &format!(
            r#"P={p}
python3 {srv} 6 ::1 {d}/v6.count > {d}/v6.port &
spid=$!
trap 'kill $spid 2>/dev/null' EXIT
i=0
while [ ! -s {d}/v6.port ] && [ $i -lt 200 ]; do sleep 0.05; i=$((i+1)); done
read t u < {d}/v6.port
echo "ports: $t $u"
echo "connect: $(sb2 -n localhost -- $P connect ipv6 ::1 $t)"
echo "sendto: $(sb2 -n localhost -- $P sendto ipv6 ::1 $u)"
echo "bindname-any: $(sb2 -n localhost -- $P bindname ipv6 :: 0)"
echo "plain-bindname-any: $($P bindname ipv6 :: 0)"
echo "offline-connect: $(sb2 -n offline -- $P connect ipv6 ::1 $t)"
echo "offline-sendto: $(sb2 -n offline -- $P sendto ipv6 ::1 $u)"
echo "offline-bind: $(sb2 -n offline -- $P bind ipv6 ::1 0)"
sleep 0.3
echo "count: $(cat {d}/v6.count)"
"#,
            srv = srv.display()
        ),
    );
    let ports = field(&o, "ports");
    assert_eq!(
        ports.split_whitespace().count(),
        2,
        "the IPv6 test server did not start on ::1 in the namespace:\n{}",
        text(&o)
    );
    expect_fields(
        &o,
        &[
            ("connect", "ok"),
            ("sendto", "ok"),
            ("offline-connect", "errno EPERM"),
            ("offline-sendto", "errno EPERM"),
            ("offline-bind", "errno EADDRNOTAVAIL"),
            // Only the two localhost calls reached the server.
            ("count", "1 1"),
        ],
    );
    bound_port(&o, "bindname-any", "[::1]:");
    bound_port(&o, "plain-bindname-any", "[::]:");
}

#[test]
fn offline_name_lookups_fail_at_once_without_a_dns_query() {
    let w = World::new("net-offline-dns");
    let p = net_probe();
    let d = w.dir.display();
    let o = in_dns_ns(
        &w,
        &format!(
            r#"P={p}
s=$(date +%s%N)
sb2 -n offline -- getent hosts example.org
echo "getent-rc: $?"
e=$(date +%s%N)
echo "getent-ms: $(( (e - s) / 1000000 ))"
echo "python: $(sb2 -n offline -- python3 -c '{py}')"
echo "gai: $(sb2 -n offline -- $P gai example.org)"
echo "ghbn: $(sb2 -n offline -- $P ghbn example.org)"
echo "res_query: $(sb2 -n offline -- $P res_query example.org)"
echo "gai-numeric: $(sb2 -n offline -- $P gai 127.0.0.1)"
echo "gai-numeric6: $(sb2 -n offline -- $P gai ::1)"
sleep 0.3
echo "count-sb2: $(cat {d}/dns.count)"
getent hosts example.org
echo "plain-rc: $?"
echo "plain-gai: $($P gai example.org)"
sleep 0.3
echo "count-plain: $(cat {d}/dns.count)"
"#,
            py = PY_GAI
        ),
    );
    expect_fields(
        &o,
        &[
            ("getent-rc", "2"),
            ("python", "gaierror True"),
            ("gai", "gai EAI_NONAME"),
            ("ghbn", "h_errno 1"),
            ("res_query", "h_errno 1"),
            // Numeric addresses are not lookups.
            ("gai-numeric", "127.0.0.1"),
            ("gai-numeric6", "::1"),
            // No query reached the responder from sb2.
            ("count-sb2", "0"),
            // Without sb2 the responder answers (NXDOMAIN: the same exit
            // status, but it was asked).
            ("plain-rc", "2"),
            ("plain-gai", "gai EAI_NONAME"),
        ],
    );
    let ms: u64 = field(&o, "getent-ms").parse().expect("getent-ms");
    assert!(ms < 2000, "offline getent took {ms} ms\n{}", text(&o));
    let plain: u32 = field(&o, "count-plain").parse().expect("count-plain");
    assert!(
        plain > 0,
        "the responder was never asked, so the test proves nothing:\n{}",
        text(&o)
    );
    assert!(
        stderr_of(&o).contains("example.org"),
        "the denied lookups are not in the violation summary:\n{}",
        text(&o)
    );
}

#[test]
fn localhost_resolves_localhost_and_nothing_else() {
    let w = World::new("net-localhost-dns");
    let p = net_probe();
    let d = w.dir.display();
    let o = in_dns_ns(
        &w,
        &format!(
            r#"P={p}
getent hosts localhost >/dev/null
echo "plain-localhost-rc: $?"
sb2 -n localhost -- getent hosts localhost
echo "localhost-rc: $?"
echo "gai-localhost: $(sb2 -n localhost -- $P gai localhost)"
echo "ghbn-localhost: $(sb2 -n localhost -- $P ghbn localhost)"
sleep 0.3
c0=$(cat {d}/dns.count)
sb2 -n localhost -- getent hosts example.org
echo "example-rc: $?"
echo "gai-example: $(sb2 -n localhost -- $P gai example.org)"
echo "ghbn-example: $(sb2 -n localhost -- $P ghbn example.org)"
sleep 0.3
c1=$(cat {d}/dns.count)
echo "queries-sb2-example: $((c1 - c0))"
getent hosts example.org >/dev/null
echo "plain-example-rc: $?"
sleep 0.3
c2=$(cat {d}/dns.count)
echo "queries-plain-example: $((c2 - c1))"
"#
        ),
    );
    // (localhost itself may be asked of the responder: `getent hosts`
    // looks up IPv6 first, and /etc/hosts may have no ::1 line. It is
    // allowed; only the other names must not be asked.)
    assert_eq!(
        field(&o, "plain-localhost-rc"),
        "0",
        "this machine's /etc/hosts does not resolve localhost:\n{}",
        text(&o)
    );
    expect_fields(
        &o,
        &[
            ("localhost-rc", "0"),
            ("example-rc", "2"),
            ("ghbn-localhost", "127.0.0.1"),
            ("gai-example", "gai EAI_NONAME"),
            ("ghbn-example", "h_errno 1"),
            ("queries-sb2-example", "0"),
            ("plain-example-rc", "2"),
        ],
    );
    let gai = field(&o, "gai-localhost");
    assert!(
        gai == "127.0.0.1" || gai == "::1",
        "gai localhost: {gai}\n{}",
        text(&o)
    );
    let plain: u32 = field(&o, "queries-plain-example")
        .parse()
        .expect("queries-plain-example");
    assert!(plain > 0, "the responder was never asked:\n{}", text(&o));
}

#[test]
fn an_unknown_mode_is_an_error_that_lists_the_valid_ones() {
    let w = World::new("net-unknown");
    let o = w.sb2(&["-n", "nosuch", "--", "true"]);
    assert_eq!(o.status.code(), Some(125), "{}", text(&o));
    let err = stderr_of(&o);
    for want in [
        "nosuch",
        "online",
        "offline",
        "localhost",
        "online_privatenets",
    ] {
        assert!(err.contains(want), "stderr lacks {want:?}:\n{}", text(&o));
    }
    // The valid modes are accepted.
    for mode in ["online", "offline", "localhost", "online_privatenets"] {
        let o = w.sb2(&["-n", mode, "--", "true"]);
        assert_eq!(o.status.code(), Some(0), "-n {mode}:\n{}", text(&o));
    }
}

/// Receives and accepts from a denied source port are dropped: datagrams
/// through recvfrom (also with MSG_PEEK) and recvmsg, connections through
/// accept. Without the rules the same script sees the denied ones first.
const PY_RECV: &str = r#"import socket, sys
bad_port = int(sys.argv[1])
def udp(port=0):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", port))
    return s
r, good, bad = udp(), udp(), udp(bad_port)
r.settimeout(5)
out = []
bad.sendto(b"bad", r.getsockname()); good.sendto(b"good", r.getsockname())
out.append(r.recvfrom(100)[0].decode())
bad.sendto(b"bad2", r.getsockname()); good.sendto(b"good2", r.getsockname())
out.append(r.recvmsg(100)[0].decode())
bad.sendto(b"bad3", r.getsockname()); good.sendto(b"good3", r.getsockname())
out.append(r.recvfrom(100, socket.MSG_PEEK)[0].decode())
out.append(r.recvfrom(100)[0].decode())
l = socket.socket(); l.bind(("127.0.0.1", 0)); l.listen(8); l.settimeout(5)
cb = socket.socket(); cb.bind(("127.0.0.1", bad_port)); cb.connect(l.getsockname())
cg = socket.socket(); cg.connect(l.getsockname())
conn, peer = l.accept()
out.append("accepted-bad" if peer[1] == bad_port else "accepted-good")
print(" ".join(out))
"#;

#[test]
fn receive_rules_drop_datagrams_and_connections_from_a_denied_source() {
    require("python3");
    let w = World::new("net-recv");
    // A port free for both UDP and TCP right now.
    let bad_port = loop {
        let u = std::net::UdpSocket::bind("127.0.0.1:0").expect("udp");
        let p = u.local_addr().expect("addr").port();
        if std::net::TcpListener::bind(("127.0.0.1", p)).is_ok() {
            break p;
        }
    };
    let rules = w.write(
        "recv.lua",
        &format!(
            "net_rule_file_interface_version = \"100\"\n\
             net_rules = {{\n\
               ipv4_out = {{ {{ allow = true }} }},\n\
               ipv4_in = {{\n\
                 {{ func_name = \"recvfrom\", port = {bad_port}, deny = true }},\n\
                 {{ func_name = \"recvmsg\", port = {bad_port}, deny = true }},\n\
                 {{ func_name = \"accept\", port = {bad_port}, deny = true }},\n\
                 {{ allow = true }},\n\
               }},\n\
             }}\n"
        ),
    );
    let py = w.write("recv.py", PY_RECV);
    let port = bad_port.to_string();
    let o = w.sb2(&[
        "-n",
        rules.to_str().unwrap(),
        "--",
        "python3",
        py.to_str().unwrap(),
        &port,
    ]);
    assert_eq!(
        stdout(&o),
        "good good2 good3 good3 accepted-good\n",
        "{}",
        text(&o)
    );
    let o = w.sb2(&["--", "python3", py.to_str().unwrap(), &port]);
    assert_eq!(
        stdout(&o),
        "bad good bad2 bad2 accepted-bad\n",
        "online: {}",
        text(&o)
    );
}

#[test]
fn online_calls_are_traced_and_offline_denials_too() {
    let w = World::new("net-trace");
    let srv = Server::start(&w, false, "127.0.0.1", "trace");
    let p = net_probe();
    let port = srv.tcp.to_string();
    for (mode, verdict) in [
        ("online", "\"verdict\":\"allow\""),
        ("offline", "\"verdict\":\"deny\""),
    ] {
        let trace = w.dir.join(format!("{mode}.json"));
        let o = w.sb2(&[
            "-n",
            mode,
            "--trace",
            trace.to_str().unwrap(),
            "--",
            &p,
            "connect",
            "ipv4",
            "127.0.0.1",
            &port,
        ]);
        assert!(o.status.success(), "{}", text(&o));
        let t = std::fs::read_to_string(&trace).expect("trace");
        assert!(
            t.lines().any(|l| l.contains("\"ev\":\"net\"")
                && l.contains("\"fn\":\"connect\"")
                && l.contains(&format!("\"port\":{port}"))
                && l.contains(verdict)),
            "{mode}: no net event with {verdict}:\n{t}"
        );
    }
}

#[test]
fn short_ipv6_and_unspec_addresses_are_judged_too() {
    let w = World::new("net-forms");
    let p = net_probe();
    let run = |mode: &str, args: &[&str]| -> String {
        let mut a = vec!["-n", mode, "--", p.as_str()];
        a.extend_from_slice(args);
        let o = w.sb2(&a);
        stdout(&o).trim().to_owned()
    };
    // Nothing listens on port 9 of ::1: natively refused by the kernel,
    // offline refused by sb2 before the kernel is asked.
    assert_eq!(
        run("offline", &["connect24", "ipv6", "::1", "9"]),
        "errno EPERM"
    );
    assert_eq!(
        run("online", &["connect24", "ipv6", "::1", "9"]),
        "errno ECONNREFUSED"
    );
    assert_eq!(
        run("offline", &["bindunspec", "ipv4", "0.0.0.0", "0"]),
        "errno EADDRNOTAVAIL"
    );
    assert_eq!(run("online", &["bindunspec", "ipv4", "0.0.0.0", "0"]), "ok");
    // A server on every interface may listen in online_privatenets.
    assert_eq!(
        run("online_privatenets", &["listen", "ipv4", "0.0.0.0", "0"]),
        "ok"
    );
}

/// AF_UNIX sockets are never network: a server and client on a socket
/// file talk in offline mode, and the socket path is mapped like a file.
const PY_UNIX: &str = r#"import os, socket, sys
path = sys.argv[1]
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.bind(path); s.listen(1)
c = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM); c.connect(path)
a, _ = s.accept(); c.sendall(b"hi"); print(a.recv(2).decode())
d = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM); d.bind(path + ".d")
e = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM); e.sendto(b"dg", path + ".d")
print(d.recvfrom(2)[0].decode())
"#;

#[test]
fn unix_sockets_are_never_network() {
    require("python3");
    let w = World::new("net-unix");
    let py = w.write("unix.py", PY_UNIX);
    let sock = w.work.join("s");
    let o = w.sb2(&[
        "-n",
        "offline",
        "--",
        "python3",
        py.to_str().unwrap(),
        sock.to_str().unwrap(),
    ]);
    assert_eq!(stdout(&o), "hi\ndg\n", "{}", text(&o));
    assert!(!text(&o).contains("violation"), "{}", text(&o));
}
