//! Every row of the hook table is run by a probe case in a session.
//!
//! The probe programs record each case they run inside sb2 (tests/probes/
//! record.h) in the record file of the run ([`probe_record_path`]); this
//! test reads it, so it runs only AFTER the rest of the suite, alone, in a
//! second run of the test binary (scripts/test does this):
//!
//!     e2e --test-threads=2            # the suite; records the cases
//!     e2e --ignored coverage::        # this check
//!
//! A hooked function may instead be named in tests/probes/EXEMPT with a
//! reason.

use sb2_tests::{bin_dir, probe_record_path, repo, text};
use std::collections::BTreeSet;
use std::ffi::OsStr;
use std::fs;
use std::process::Command;

/// The functions of the hook table, as `sb2-show hooks` prints them.
fn hooked() -> Vec<String> {
    let o = Command::new(bin_dir().join("sb2-show"))
        .arg("hooks")
        .env_remove("LD_PRELOAD")
        .env_remove("SB2_SESSION_DIR")
        .output()
        .expect("sb2-show hooks");
    assert!(o.status.success(), "sb2-show hooks:\n{}", text(&o));
    let hooked: Vec<String> = String::from_utf8_lossy(&o.stdout)
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .filter_map(|l| l.split_whitespace().next().map(str::to_owned))
        .collect();
    assert!(
        hooked.len() > 50,
        "too few hooked functions in `sb2-show hooks`:\n{}",
        text(&o)
    );
    hooked
}

/// The names of tests/probes/EXEMPT (`name: reason` lines).
fn exempt() -> BTreeSet<String> {
    let path = repo().join("tests/probes/EXEMPT");
    let t = fs::read_to_string(&path).expect("tests/probes/EXEMPT");
    let mut exempt = BTreeSet::new();
    let mut bad = Vec::new();
    for l in t
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
    {
        match l.split_once(':') {
            Some((name, reason)) if !reason.trim().is_empty() => {
                exempt.insert(name.trim().to_owned());
            }
            _ => bad.push(l.to_owned()),
        }
    }
    assert!(
        bad.is_empty(),
        "tests/probes/EXEMPT lines must be `name: reason`: {bad:?}"
    );
    exempt
}

/// The probe file that has `CASE("name")`, if any (for the message).
fn case_source(name: &str) -> Option<String> {
    let needle = format!("CASE(\"{name}\")");
    let dir = repo().join("tests/probes");
    let mut files: Vec<_> = fs::read_dir(&dir)
        .expect("tests/probes")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension() == Some(OsStr::new("c")))
        .collect();
    files.sort();
    files
        .into_iter()
        .find(|p| fs::read_to_string(p).is_ok_and(|s| s.contains(&needle)))
        .map(|p| {
            format!(
                "tests/probes/{}",
                p.file_name().unwrap_or_default().to_string_lossy()
            )
        })
}

#[test]
#[ignore = "reads the record of a complete run: run alone after the suite (`--ignored coverage::`)"]
fn every_hooked_function_ran_in_a_probe_case() {
    let record = probe_record_path();
    let ran: BTreeSet<String> = fs::read_to_string(&record)
        .unwrap_or_else(|e| {
            panic!(
                "no probe record {} ({e}): run the suite first, then this test alone",
                record.display()
            )
        })
        .lines()
        .map(str::to_owned)
        .collect();
    assert!(
        !ran.is_empty(),
        "the probe record {} is empty: run the whole suite first, then this test alone",
        record.display()
    );
    let hooked = hooked();
    let exempt = exempt();
    let missing: Vec<String> = hooked
        .iter()
        .filter(|h| !ran.contains(*h) && !exempt.contains(*h))
        .map(|h| match case_source(h) {
            Some(src) => format!("{h}  (CASE in {src}, but no test runs it)"),
            None => format!("{h}  (no CASE(\"{h}\") in tests/probes/*.c)"),
        })
        .collect();
    assert!(
        missing.is_empty(),
        "{} hooked function(s) never ran in a probe case in a session (record {}) \
         and have no line in tests/probes/EXEMPT:\n  {}",
        missing.len(),
        record.display(),
        missing.join("\n  ")
    );
    let stale: Vec<&String> = exempt.iter().filter(|x| !hooked.contains(x)).collect();
    assert!(
        stale.is_empty(),
        "tests/probes/EXEMPT names functions that are not hooked: {stale:?}"
    );
}
