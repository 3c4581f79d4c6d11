//! `sb2-logz [LOGFILE]`: a session log summed up per program.

use super::{denial, for_each_event, is_denied, note_skipped, open, section, show};
use anyhow::Result;
use sb2_ruletree::contract::events::{Event, Kind};
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

#[derive(Default, Debug, PartialEq, Eq)]
struct Counts {
    mapped: u64,
    passed: u64,
    denied: u64,
    exec: u64,
    net: u64,
    net_denied: u64,
    names: u64,
    names_denied: u64,
}

#[derive(Default)]
struct Summary {
    progs: BTreeMap<String, Counts>,
    denied: BTreeSet<String>,
    mapped: BTreeSet<(String, String)>,
    passed: BTreeSet<String>,
}

impl Summary {
    fn add(&mut self, e: &Event) {
        let Some(ev) = e.ev else { return };
        // Trace events say nothing a log summary counts.
        if matches!(
            ev,
            Kind::Read | Kind::Write | Kind::Create | Kind::Remove | Kind::Session
        ) {
            return;
        }
        if let Some(l) = denial(e) {
            self.denied.insert(l);
        }
        let denied = u64::from(is_denied(e));
        let c = self.progs.entry(show(e.prog.as_ref())).or_default();
        match ev {
            Kind::Map => {
                let (v, h) = (show(e.vpath.as_ref()), show(e.hpath.as_ref()));
                if v == h {
                    c.passed += 1;
                    self.passed.insert(v);
                } else {
                    c.mapped += 1;
                    self.mapped.insert((v, h));
                }
            }
            Kind::Deny => c.denied += 1,
            Kind::Net => {
                c.net += 1;
                c.net_denied += denied;
            }
            Kind::Name => {
                c.names += 1;
                c.names_denied += denied;
            }
            _ => c.exec += 1,
        }
    }

    fn print(&self, mapped: bool, passed: bool) {
        for (p, c) in &self.progs {
            println!(
                "{p}: mapped {}, passed {}, denied {}, exec {}, net {} (denied {}), names {} (denied {})",
                c.mapped, c.passed, c.denied, c.exec, c.net, c.net_denied, c.names, c.names_denied
            );
        }
        if !self.denied.is_empty() {
            section("denied:", &self.denied);
        }
        if mapped {
            section(
                "mapped:",
                self.mapped.iter().map(|(v, h)| format!("{v} -> {h}")),
            );
        }
        if passed {
            section("passed:", &self.passed);
        }
    }
}

pub fn summary(log: Option<&Path>, mapped: bool, passed: bool, json: bool) -> Result<()> {
    let (r, name) = open(log)?;
    let mut s = Summary::default();
    let skipped = for_each_event(r, &name, |e| s.add(e))?;
    note_skipped(&name, skipped);
    if s.progs.is_empty() {
        eprintln!("sb2-logz: {name}: no events");
    }
    if json {
        println!("{}", s.json(mapped, passed));
    } else {
        s.print(mapped, passed);
    }
    Ok(())
}

/// Version of the summary's JSON schema (docs/json.md).
pub const SUMMARY_SCHEMA_VERSION: u32 = 1;

impl Summary {
    fn json(&self, mapped: bool, passed: bool) -> serde_json::Value {
        let progs: serde_json::Map<String, serde_json::Value> = self
            .progs
            .iter()
            .map(|(p, c)| {
                (
                    p.clone(),
                    serde_json::json!({
                        "mapped": c.mapped, "passed": c.passed, "denied": c.denied, "exec": c.exec,
                        "net": c.net, "net_denied": c.net_denied, "names": c.names,
                        "names_denied": c.names_denied,
                    }),
                )
            })
            .collect();
        let mut doc = serde_json::json!({
            "schema": "sb2-log-summary",
            "version": SUMMARY_SCHEMA_VERSION,
            "programs": progs,
            "denied": self.denied,
        });
        if mapped {
            doc["mapped"] = self
                .mapped
                .iter()
                .map(|(v, h)| serde_json::json!([v, h]))
                .collect();
        }
        if passed {
            doc["passed"] = serde_json::json!(self.passed);
        }
        doc
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summary_counts_each_program_and_lists_denials_once() {
        let log = br#"{"ev":"map","pid":1,"prog":"gcc","fn":"open","vpath":"/usr/include/stdio.h","hpath":"/t/usr/include/stdio.h","rule":"a.lua:3"}
            {"ev":"map","pid":1,"prog":"gcc","fn":"open","vpath":"/tmp/x","hpath":"/tmp/x"}
            {"ev":"deny","pid":1,"prog":"gcc","fn":"open","vpath":"/usr/lib/y","hpath":"/t/usr/lib/y","errno":"EROFS"}
            {"ev":"deny","pid":3,"prog":"gcc","fn":"open","vpath":"/usr/lib/y","hpath":"/t/usr/lib/y","errno":"EROFS"}
            {"ev":"map","pid":1,"prog":"gcc","fn":"op
            {"ev":"net","pid":2,"prog":"curl","fn":"connect","family":"ipv6","addr":"::1","port":80,"verdict":"deny","errno":"EPERM"}
            {"ev":"name","pid":2,"prog":"curl","fn":"getaddrinfo","name":"example.org","verdict":"allow"}
            {"ev":"exec","pid":2,"prog":"sh","fn":"execve","path":"/bin/curl"}
            {"ev":"static","pid":2,"prog":"sh","fn":"execve","path":"/bin/busybox"}
            {"ev":"read","pid":2,"prog":"sh","fn":"open","path":"/etc/passwd"}
            {"ev":"bogus","pid":4,"prog":"zz","fn":"x"}
            {"ev":"deny","pid":5,"prog":"yy","fn":"open","vpath":"/a","errno":30}

            [1, 2]
        "#;
        let mut s = Summary::default();
        let skipped = for_each_event(&log[..], "test", |e| s.add(e)).expect("in memory");
        assert_eq!(
            skipped, 4,
            "the torn line, the unknown event, the numeric errno and the array"
        );
        let gcc = Counts {
            mapped: 1,
            passed: 1,
            denied: 2,
            ..Counts::default()
        };
        assert_eq!(s.progs.get("gcc"), Some(&gcc));
        let curl = Counts {
            net: 1,
            net_denied: 1,
            names: 1,
            ..Counts::default()
        };
        assert_eq!(s.progs.get("curl"), Some(&curl));
        assert_eq!(s.progs.get("sh").map(|c| c.exec), Some(2));
        assert!(!s.progs.contains_key("zz") && !s.progs.contains_key("yy"));
        let denied: Vec<&str> = s.denied.iter().map(String::as_str).collect();
        assert_eq!(
            denied,
            [
                "curl connect [::1] port 80 (EPERM)",
                "gcc open /usr/lib/y (EROFS)"
            ]
        );
    }
}
