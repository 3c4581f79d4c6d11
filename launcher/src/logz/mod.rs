//! `sb2-logz`: makes sense of the JSON lines sb2 writes, read as
//! [`Event`]s of the launcher ↔ preload contract.
//!
//! * `sb2-logz [LOGFILE]` sums up a session log (`sb2 -L LEVEL`) per
//!   program: paths mapped and passed through, writes denied, execs,
//!   network calls and name lookups, then lists every denial once
//!   ([`summary`]).
//! * `sb2-logz --report TRACE` turns an access trace into the build's
//!   dependencies: the files it read from outside the build tree, the files
//!   it left behind, what it was denied, where it went on the network, and
//!   (on Debian) the packages the inputs came from, the host's and the
//!   target root's apart ([`trace`], [`packages`]).

mod packages;
mod summary;
mod trace;

use anyhow::{Context, Result};
use clap::Parser;
use sb2_ruletree::contract::events::{bytes, text, Event, Kind, Verdict};
use std::ffi::OsString;
use std::fmt::Display;
use std::io::BufRead;
use std::os::unix::ffi::OsStringExt;
use std::path::{Path, PathBuf};

/// `sb2-logz`'s command line.
#[derive(Parser)]
#[command(
    name = "sb2-logz",
    version,
    about = "Summarize an sb2 session log, or report a build's dependencies from an access trace",
    after_help = "The report's packages come from dpkg-query -S, one section per database: \
        a file read from below the session's target root (named in the trace's first line, or \
        --target-root) is listed under `packages (target ROOT):`, asked of ROOT/var/lib/dpkg \
        by its path inside the root (likewise `packages (tools ROOT):`); any other file under \
        `packages (host):`. A root without a dpkg database is said to have none.\n\n\
        Exit status: 0; 2 for a file that cannot be read; 125 for a bad command line."
)]
pub struct Args {
    /// Session log (JSON lines); standard input if absent or "-"
    #[arg(value_name = "LOGFILE")]
    log: Option<PathBuf>,
    /// Also list each mapped path once, as VPATH -> HPATH
    #[arg(short = 'm')]
    mapped: bool,
    /// Also list each path passed through unmapped
    #[arg(short = 'p')]
    passed: bool,
    /// Report the dependencies recorded in the access trace TRACE
    #[arg(long, value_name = "TRACE", conflicts_with_all = ["log", "mapped", "passed"])]
    report: Option<PathBuf>,
    /// The build tree: its files are not inputs (default: current directory)
    #[arg(long, value_name = "DIR", requires = "report")]
    tree: Option<PathBuf>,
    /// Don't ask dpkg which packages the inputs come from
    #[arg(long, requires = "report")]
    no_dpkg: bool,
    /// The target root: files read from below it are asked of its dpkg
    /// database (DIR/var/lib/dpkg) under their names inside it (default:
    /// the root the trace's first line names)
    #[arg(long, value_name = "DIR", requires = "report")]
    target_root: Option<PathBuf>,
    /// Print the summary or the report as one JSON document
    /// (docs/json.md)
    #[arg(long)]
    json: bool,
}

/// Runs `sb2-logz`.
pub fn run(a: Args) -> Result<()> {
    match &a.report {
        Some(t) => trace::report(
            t,
            a.tree.as_deref(),
            a.no_dpkg,
            a.target_root.as_deref(),
            a.json,
        ),
        None => summary::summary(a.log.as_deref(), a.mapped, a.passed, a.json),
    }
}

// ---------------------------------------------------------------- input

/// The file, or standard input for none or "-"; also its name for messages.
fn open(path: Option<&Path>) -> Result<(Box<dyn BufRead>, String)> {
    match path {
        Some(p) if p != Path::new("-") => {
            let f =
                std::fs::File::open(p).with_context(|| format!("cannot open {}", p.display()))?;
            Ok((
                Box::new(std::io::BufReader::new(f)),
                p.display().to_string(),
            ))
        }
        _ => Ok((Box::new(std::io::stdin().lock()), "standard input".into())),
    }
}

/// Calls `f` with each event of the input; returns how many lines were
/// something else. A log can end in a torn line (a process killed
/// mid-write) or hold stray output, and neither should cost the rest.
fn for_each_event(r: impl BufRead, name: &str, mut f: impl FnMut(&Event)) -> Result<usize> {
    let mut skipped = 0;
    for line in r.split(b'\n') {
        let line = line.with_context(|| format!("reading {name}"))?;
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        match serde_json::from_slice::<Event>(&line) {
            Ok(e) => f(&e),
            Err(_) => skipped += 1,
        }
    }
    Ok(skipped)
}

fn note_skipped(name: &str, skipped: usize) {
    if skipped > 0 {
        eprintln!("sb2-logz: {name}: {skipped} lines skipped (not sb2 events)");
    }
}

// --------------------------------------------------------------- fields

/// A path field as the host path it names (the bytes, not their text).
fn host_path(s: &str) -> PathBuf {
    PathBuf::from(OsString::from_vec(bytes(s)))
}

/// A string field for display; "?" when the writer left it out.
fn show(s: Option<&String>) -> String {
    s.map_or_else(|| "?".to_owned(), |s| text(s))
}

fn verdict_name(v: Option<Verdict>) -> &'static str {
    match v {
        Some(Verdict::Allow) => "allow",
        Some(Verdict::Deny) => "deny",
        Some(Verdict::Rewrite) => "rewrite",
        None => "?",
    }
}

/// `ADDR port PORT`, an IPv6 address in brackets so its colons don't run
/// into the rest; the rewritten destination when `new` is set (a rule may
/// change only the address or only the port).
fn endpoint(e: &Event, new: bool) -> String {
    let (addr, port) = if new {
        (
            e.new_addr.as_ref().or(e.addr.as_ref()),
            e.new_port.or(e.port),
        )
    } else {
        (e.addr.as_ref(), e.port)
    };
    let addr = show(addr);
    let port = port.map_or_else(|| "?".to_owned(), |p| p.to_string());
    if e.family.as_deref() == Some("ipv6") || addr.contains(':') {
        format!("[{addr}] port {port}")
    } else {
        format!("{addr} port {port}")
    }
}

fn is_denied(e: &Event) -> bool {
    e.verdict == Some(Verdict::Deny)
}

fn who(e: &Event) -> String {
    format!("{} {}", show(e.prog.as_ref()), show(e.func.as_ref()))
}

/// The line of a denial (a refused write, a denied network call or name
/// lookup) in the `denied:` lists; None for any other event.
fn denial(e: &Event) -> Option<String> {
    let who = who(e);
    match e.ev? {
        Kind::Deny => Some(format!(
            "{who} {} ({})",
            show(e.vpath.as_ref()),
            show(e.errno.as_ref())
        )),
        Kind::Net if is_denied(e) => Some(format!(
            "{who} {} ({})",
            endpoint(e, false),
            show(e.errno.as_ref())
        )),
        Kind::Name if is_denied(e) => {
            Some(format!("{who} {} (name lookup)", show(e.name.as_ref())))
        }
        _ => None,
    }
}

/// The line of a network call or name lookup in the report's `network:`.
fn network(e: &Event) -> Option<String> {
    let who = who(e);
    let verdict = verdict_name(e.verdict);
    match e.ev? {
        Kind::Net => {
            let mut l = format!("{who} {} {verdict}", endpoint(e, false));
            if e.new_addr.is_some() || e.new_port.is_some() {
                l.push_str(&format!(" -> {}", endpoint(e, true)));
            }
            Some(l)
        }
        Kind::Name => Some(format!("{who} {} {verdict}", show(e.name.as_ref()))),
        _ => None,
    }
}

/// A header and its items, indented; `(none)` says the section is empty
/// rather than missing.
fn section<T: Display>(title: &str, items: impl IntoIterator<Item = T>) {
    println!("{title}");
    let mut any = false;
    for i in items {
        println!("  {i}");
        any = true;
    }
    if !any {
        println!("  (none)");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_are_bytes_and_endpoints_bracket_ipv6() {
        // The preload's \u00XX escapes are bytes: "é" is \u00c3\u00a9.
        assert_eq!(show(Some(&"/caf\u{c3}\u{a9}".to_owned())), "/café");
        assert_eq!(
            host_path("/caf\u{c3}\u{a9}"),
            PathBuf::from(OsString::from_vec(b"/caf\xc3\xa9".to_vec()))
        );
        let e: Event = serde_json::from_str(
            r#"{"ev":"net","prog":"c","fn":"connect","family":"ipv6","addr":"::1","port":80,"verdict":"rewrite","new_port":8080}"#,
        )
        .expect("an event");
        assert_eq!(
            network(&e).as_deref(),
            Some("c connect [::1] port 80 rewrite -> [::1] port 8080")
        );
        assert_eq!(denial(&e), None);
    }
}
