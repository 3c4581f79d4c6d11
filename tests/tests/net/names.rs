//! Name lookups: refused at once offline, only `localhost` in localhost
//! mode, without a query to the DNS responder of the test.

use super::*;
use std::process::Output;

/// python3 -c: getaddrinfo("example.org"); prints the first address or
/// `gaierror True` when the error is EAI_NONAME.
const PY_GAI: &str = r#"import socket
try:
    print(socket.getaddrinfo("example.org", 80)[0][4][0])
except socket.gaierror as e:
    print("gaierror", e.errno == socket.EAI_NONAME)"#;

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

/// Every hooked lookup function of the probe, as `CALL [FAMILY]` (the
/// last two are [`OLD_ABI`]).
const LOOKUPS: [&str; 14] = [
    "gethostbyname",
    "gethostbyname2 ipv4",
    "gethostbyname2 ipv6",
    "gethostbyname_r",
    "gethostbyname2_r ipv4",
    "gethostbyname2_r ipv6",
    "res_query",
    "res_search",
    "res_querydomain",
    "res_nquery",
    "res_nsearch",
    "res_nquerydomain",
    "__res_query",
    "__res_search",
];

/// `echo "LABEL: $(PREFIX $P CALL NAME [FAMILY])"` for every lookup, LABEL
/// the call and family joined by `-`.
fn lookup_lines(prefix: &str, name: &str) -> String {
    LOOKUPS
        .iter()
        .map(|l| {
            let (call, fam) = l.split_once(' ').unwrap_or((l, ""));
            let label = l.replace(' ', "-");
            format!("echo \"{label}: $({prefix} $P {call} {name} {fam})\"\n")
        })
        .collect()
}

/// The old-ABI symbols: glibc 2.34 and later keep them only under their
/// base version, for old binaries, which dlsym cannot see: libsb2 finds
/// the real function with dlvsym.
const OLD_ABI: [&str; 2] = ["__res_query", "__res_search"];

/// The expected field of every lookup, the old-ABI ones included:
/// `h_errno 1` (HOST_NOT_FOUND, as gethostbyname and res_query say when
/// refused).
fn refused(o: &Output, extra: &[(&str, &str)]) {
    let labels: Vec<String> = LOOKUPS.iter().map(|l| l.replace(' ', "-")).collect();
    let mut want: Vec<(&str, &str)> = labels.iter().map(|l| (l.as_str(), "h_errno 1")).collect();
    want.extend_from_slice(extra);
    expect_fields(o, &want);
}

#[test]
fn offline_every_lookup_function_is_refused_without_a_dns_query() {
    let w = World::new("net-offline-lookups");
    let p = net_probe();
    let d = w.dir.display();
    let o = in_dns_ns(
        &w,
        &format!(
            "P={p}\n{}sleep 0.3\necho \"count-sb2: $(cat {d}/dns.count)\"\n\
             echo \"plain-res_search: $($P res_search example.org)\"\n\
             echo \"plain-ghbn_r: $($P gethostbyname_r example.org)\"\n\
             sleep 0.3\necho \"count-plain: $(cat {d}/dns.count)\"\n",
            lookup_lines("sb2 -n offline --", "example.org")
        ),
    );
    // Refused as not found; the responder was never asked. Without sb2 it
    // is asked and says NXDOMAIN.
    refused(
        &o,
        &[
            ("count-sb2", "0"),
            ("plain-res_search", "h_errno 1"),
            ("plain-ghbn_r", "h_errno 1"),
        ],
    );
    let err = stderr_of(&o);
    for l in LOOKUPS.iter().filter(|l| !OLD_ABI.contains(l)) {
        let call = l.split(' ').next().unwrap_or(l);
        let want = format!("probe-net: {call} example.org (name lookup denied)");
        assert!(err.contains(&want), "stderr lacks {want:?}:\n{}", text(&o));
    }
    let plain: u32 = field(&o, "count-plain").parse().expect("count-plain");
    assert!(
        plain > 0,
        "the responder was never asked, so the test proves nothing:\n{}",
        text(&o)
    );
}

#[test]
fn localhost_every_lookup_function_resolves_localhost_and_refuses_other_names() {
    let w = World::new("net-localhost-lookups");
    let p = net_probe();
    let d = w.dir.display();
    let o = in_dns_ns(
        &w,
        &format!(
            "P={p}\n\
             echo \"ghbn_r: $(sb2 -n localhost -- $P gethostbyname_r localhost)\"\n\
             echo \"ghbn2: $(sb2 -n localhost -- $P gethostbyname2 localhost ipv4)\"\n\
             echo \"ghbn2_r: $(sb2 -n localhost -- $P gethostbyname2_r localhost ipv4)\"\n\
             sleep 0.3\nc0=$(cat {d}/dns.count)\n{}sleep 0.3\n\
             echo \"queries-sb2-example: $(( $(cat {d}/dns.count) - c0 ))\"\n",
            lookup_lines("sb2 -n localhost --", "example.org")
        ),
    );
    refused(
        &o,
        &[
            ("ghbn_r", "127.0.0.1"),
            ("ghbn2", "127.0.0.1"),
            ("ghbn2_r", "127.0.0.1"),
            ("queries-sb2-example", "0"),
        ],
    );
}

#[test]
fn old_abi_res_query_and_res_search_are_judged_like_res_query() {
    let w = World::new("net-old-abi-res");
    let p = net_probe();
    let d = w.dir.display();
    let o = in_dns_ns(
        &w,
        &format!(
            "P={p}
             echo \"online-__res_query: $(sb2 -- $P __res_query example.org)\"\n             echo \"online-__res_search: $(sb2 -- $P __res_search example.org)\"\n             sleep 0.3\necho \"count-online: $(cat {d}/dns.count)\"\n             echo \"offline-__res_query: $(sb2 -n offline -- $P __res_query example.org)\"\n             echo \"offline-__res_search: $(sb2 -n offline -- $P __res_search example.org)\"\n             sleep 0.3\necho \"count-offline: $(cat {d}/dns.count)\"\n"
        ),
    );
    // Online the responder is asked (NXDOMAIN); offline it is not.
    expect_fields(
        &o,
        &[
            ("online-__res_query", "h_errno 1"),
            ("online-__res_search", "h_errno 1"),
            ("offline-__res_query", "h_errno 1"),
            ("offline-__res_search", "h_errno 1"),
        ],
    );
    let online: u32 = field(&o, "count-online").parse().expect("count-online");
    assert!(
        online >= 2,
        "online old-ABI lookups asked nothing:\n{}",
        text(&o)
    );
    assert_eq!(
        field(&o, "count-offline"),
        online.to_string(),
        "{}",
        text(&o)
    );
    for call in OLD_ABI {
        let want = format!("probe-net: {call} example.org (name lookup denied)");
        assert!(
            stderr_of(&o).contains(&want),
            "stderr lacks {want:?}:\n{}",
            text(&o)
        );
    }
}
