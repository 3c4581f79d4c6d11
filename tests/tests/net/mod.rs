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

mod names;
mod rules;
mod sockets;

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
