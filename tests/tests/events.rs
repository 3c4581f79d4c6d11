//! The log, violation and trace lines the preload writes by hand match the
//! one event schema (`sb2_ruletree::contract::events::Event`, which refuses
//! unknown fields): every kind of event is made by real programs in a
//! session and every line is read back with serde.

use sb2_ruletree::contract::errno_value;
use sb2_ruletree::contract::events::{Event, Kind};
use sb2_tests::*;
use std::collections::BTreeSet;

#[test]
fn events_every_line_written_parses_as_the_schema() {
    require("gcc");
    require("python3");
    let w = World::new("events");
    let allowed = w.dir.join("allowed");
    let logs = w.dir.join("logs");
    std::fs::create_dir_all(&allowed).unwrap();
    std::fs::create_dir_all(&logs).unwrap();
    // A statically linked program: a `static` event when it runs.
    let src = w.write("st.c", "int main(void) { return 0; }\n");
    let st = w.dir.join("st");
    let o = w
        .cmd("gcc")
        .args(["-static", "-o", st.to_str().unwrap(), src.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(o.status.success(), "gcc -static: {}", text(&o));
    let a = allowed.display();
    let script = format!(
        "cat /etc/hostname >/dev/null\n\
         echo x > {a}/out; chmod 600 {a}/out; rm {a}/out\n\
         touch /usr/sb2-events-denied 2>/dev/null\n\
         {st}\n\
         /nonexistent-sb2-events 2>/dev/null\n\
         python3 -c '\n\
import socket\n\
s = socket.socket()\n\
try: s.connect((\"192.0.2.1\", 80))\n\
except OSError: pass\n\
try: socket.getaddrinfo(\"example.org\", 80)\n\
except OSError: pass\n'\n\
         true\n",
        st = st.display()
    );
    let trace = w.dir.join("trace.json");
    let o = w
        .cmd(bin_dir().join("sb2"))
        .env("SB2_LOG_DIR", &logs)
        .args([
            "-L",
            "noise",
            "-n",
            "offline",
            "--allow-write",
            allowed.to_str().unwrap(),
            "--trace",
            trace.to_str().unwrap(),
            "sh",
            "-c",
            &script,
        ])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", text(&o));
    let mut files: Vec<_> = std::fs::read_dir(&logs)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert!(!files.is_empty(), "no session log in {}", logs.display());
    files.push(trace);
    let mut kinds = BTreeSet::new();
    let mut lines = 0;
    for f in &files {
        for l in std::fs::read_to_string(f).unwrap().lines() {
            let e: Event =
                serde_json::from_str(l).unwrap_or_else(|err| panic!("{}: {err}: {l}", f.display()));
            let kind = e.ev.unwrap_or_else(|| panic!("no ev: {l}"));
            assert!(
                e.pid.is_some() && e.prog.is_some() && e.func.is_some(),
                "{l}"
            );
            if let Some(n) = &e.errno {
                assert!(errno_value(n).is_some(), "errno is not a name: {l}");
            }
            kinds.insert(format!("{kind:?}"));
            lines += 1;
        }
    }
    for k in [
        Kind::Map,
        Kind::Deny,
        Kind::Read,
        Kind::Write,
        Kind::Create,
        Kind::Remove,
        Kind::Exec,
        Kind::Static,
        Kind::Net,
        Kind::Name,
        Kind::Session,
    ] {
        assert!(
            kinds.contains(&format!("{k:?}")),
            "no {k:?} event among {lines} lines ({kinds:?}):\n{}",
            text(&o)
        );
    }
}
