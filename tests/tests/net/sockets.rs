//! Sockets on loopback (and in namespaces of their own) under each mode:
//! connect, send, bind and listen; IPv6 and the short address forms;
//! AF_UNIX is never network.

use super::*;

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

#[test]
fn sendmmsg_is_judged_like_sendmsg() {
    let w = World::new("net-sendmmsg");
    let srv = Server::start(&w, false, "127.0.0.1", "v4");
    let p = net_probe();
    let u = srv.udp;
    let script = format!(
        "echo \"sendmsg: $({p} sendmsg ipv4 127.0.0.1 {u})\"\necho \"sendmmsg: $({p} sendmmsg ipv4 127.0.0.1 {u})\"\n"
    );
    let o = w.sh(&["-n", "offline", "--"], &script);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    expect_fields(
        &o,
        &[("sendmsg", "errno EPERM"), ("sendmmsg", "errno EPERM")],
    );
    let want = format!("probe-net: sendmmsg 127.0.0.1 port {u} (EPERM)");
    assert!(
        stderr_of(&o).contains(&want),
        "stderr lacks {want:?}:\n{}",
        text(&o)
    );
    // Allowed in localhost mode and online: both datagrams of each arrive.
    for mode in ["localhost", "online"] {
        let o = w.sh(&["-n", mode, "--"], &script);
        assert_eq!(o.status.code(), Some(0), "{mode}\n{}", text(&o));
        expect_fields(&o, &[("sendmsg", "ok"), ("sendmmsg", "ok")]);
    }
    assert_eq!(
        srv.settled_counts((0, 4)),
        (0, 4),
        "(connections, datagrams): only the 4 allowed ones"
    );
}

#[test]
fn accept_and_receive_calls_drop_what_the_rules_deny_and_offline_has_no_server() {
    let w = World::new("net-accept-recv");
    let p = net_probe();
    let calls = ["accept", "accept4", "recvfrom", "recvmsg"];
    let script: String = calls
        .iter()
        .map(|c| format!("echo \"{c}: $({p} {c} ipv4 127.0.0.1 0)\"\n"))
        .collect();
    // The probe listens (or binds a datagram socket) on loopback, connects
    // (or sends) to itself and accepts (or receives) without blocking.
    let o = w.sh(&["-n", "localhost", "--"], &script);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    expect_fields(&o, &calls.map(|c| (c, "ok")));
    // Offline even the loopback server cannot bind.
    let o = w.sh(&["-n", "offline", "--"], &script);
    expect_fields(&o, &calls.map(|c| (c, "setup errno EADDRNOTAVAIL")));
    // A rule file that denies what comes from 127.0.0.1 to these calls: the
    // connection or datagram is dropped, and as the probe does not block
    // it sees none (EAGAIN), as if nothing had arrived.
    let rules = w.write(
        "in.lua",
        "net_rule_file_interface_version = \"100\"\n\
         net_rules = {\n\
           ipv4_out = { { allow = true } },\n\
           ipv4_in = {\n\
             { func_name = \"accept\", address = \"127.0.0.1\", deny = true },\n\
             { func_name = \"recvfrom\", address = \"127.0.0.1\", deny = true },\n\
             { func_name = \"recvmsg\", address = \"127.0.0.1\", deny = true },\n\
             { allow = true },\n\
           },\n\
         }\n",
    );
    let o = w.sh(&["-n", rules.to_str().unwrap(), "--"], &script);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    expect_fields(&o, &calls.map(|c| (c, "errno EAGAIN")));
}
