//! Custom rule files (per port, per receiving function), bad rule files
//! and unknown modes, and the trace of network decisions.

use super::*;

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
