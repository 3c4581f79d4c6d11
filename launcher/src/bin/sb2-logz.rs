//! `sb2-logz`: makes sense of the JSON lines sb2 writes.
//!
//! * `sb2-logz [LOGFILE]` sums up a session log (`sb2 -L LEVEL`) per
//!   program: paths mapped and passed through, writes denied, execs,
//!   network calls and name lookups, then lists every denial once.
//! * `sb2-logz --report TRACE` turns an access trace into the build's
//!   dependencies: the files it read from outside the build tree, the files
//!   it left behind, what it was denied, where it went on the network, and
//!   (on Debian) the packages the inputs came from.

use anyhow::{Context, Result};
use clap::Parser;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::ffi::{OsStr, OsString};
use std::fmt::Display;
use std::io::BufRead;
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

#[derive(Parser)]
#[command(
    name = "sb2-logz",
    about = "Summarize an sb2 session log, or report a build's dependencies from an access trace",
    disable_version_flag = true,
    after_help = "Exit status: 0, or 2 for a bad option or a file that cannot be read."
)]
struct Cli {
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
}

/// Kernel-made file systems: reading them says nothing about what the
/// build depends on.
const PSEUDO_FS: [&str; 3] = ["/proc", "/sys", "/dev"];

/// `dpkg -S` arguments per run: dpkg loads its whole database each time,
/// so few large runs, yet far below the argument size limit.
const DPKG_BATCH: usize = 200;

fn run(cli: Cli) -> Result<()> {
    match &cli.report {
        Some(trace) => report(trace, cli.tree.as_deref(), cli.no_dpkg),
        None => summary(cli.log.as_deref(), cli.mapped, cli.passed),
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

/// Calls `f` with each JSON object of the input; returns how many lines
/// were something else. A log can end in a torn line (a process killed
/// mid-write) or hold stray output, and neither should cost the rest.
fn for_each_event(r: impl BufRead, name: &str, mut f: impl FnMut(&Value)) -> Result<usize> {
    let mut skipped = 0;
    for line in r.split(b'\n') {
        let line = line.with_context(|| format!("reading {name}"))?;
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        match serde_json::from_slice::<Value>(&line) {
            Ok(v) if v.is_object() => f(&v),
            _ => skipped += 1,
        }
    }
    Ok(skipped)
}

fn note_skipped(name: &str, skipped: usize) {
    if skipped > 0 {
        eprintln!("sb2-logz: {name}: {skipped} lines skipped (not JSON)");
    }
}

fn get<'a>(e: &'a Value, key: &str) -> Option<&'a str> {
    e.get(key)?.as_str()
}

/// The preload writes every byte that is not printable ASCII as `\u00XX`,
/// so a string of chars below 256 stands for those bytes (a UTF-8 name
/// arrives as one char per byte). Anything else came from another writer
/// and is taken as the text it is.
fn raw_bytes(s: &str) -> Vec<u8> {
    if s.chars().all(|c| u32::from(c) < 256) {
        s.chars().map(|c| c as u8).collect()
    } else {
        s.as_bytes().to_vec()
    }
}

fn decode(s: &str) -> String {
    if s.is_ascii() {
        return s.to_owned();
    }
    String::from_utf8_lossy(&raw_bytes(s)).into_owned()
}

fn host_path(s: &str) -> PathBuf {
    PathBuf::from(OsString::from_vec(raw_bytes(s)))
}

/// A string field for display; "?" when the writer left it out.
fn text(e: &Value, key: &str) -> String {
    get(e, key).map_or_else(|| "?".to_owned(), decode)
}

/// errno and port are numbers from some writers, names from others.
fn scalar(v: Option<&Value>) -> String {
    match v {
        Some(Value::String(s)) => decode(s),
        Some(Value::Number(n)) => n.to_string(),
        _ => "?".to_owned(),
    }
}

/// `ADDR port PORT`, an IPv6 address in brackets so its colons don't run
/// into the rest; the rewritten destination when `new` is set (a rule may
/// change only the address or only the port).
fn endpoint(e: &Value, new: bool) -> String {
    let pick = |k: &str, new_k: &str| {
        let v = if new { e.get(new_k) } else { None };
        v.or_else(|| e.get(k))
    };
    let addr = scalar(pick("addr", "new_addr"));
    let port = scalar(pick("port", "new_port"));
    if get(e, "family") == Some("ipv6") || addr.contains(':') {
        format!("[{addr}] port {port}")
    } else {
        format!("{addr} port {port}")
    }
}

fn is_denied(e: &Value) -> bool {
    get(e, "verdict") == Some("deny")
}

/// The line of a denial (a refused write, a denied network call or name
/// lookup) in the `denied:` lists; None for any other event.
fn denial(e: &Value) -> Option<String> {
    let who = format!("{} {}", text(e, "prog"), text(e, "fn"));
    match get(e, "ev")? {
        "deny" => Some(format!(
            "{who} {} ({})",
            text(e, "vpath"),
            scalar(e.get("errno"))
        )),
        "net" if is_denied(e) => Some(format!(
            "{who} {} ({})",
            endpoint(e, false),
            scalar(e.get("errno"))
        )),
        "name" if is_denied(e) => Some(format!("{who} {} (name lookup)", text(e, "name"))),
        _ => None,
    }
}

/// The line of a network call or name lookup in the report's `network:`.
fn network(e: &Value) -> Option<String> {
    let who = format!("{} {}", text(e, "prog"), text(e, "fn"));
    let verdict = text(e, "verdict");
    match get(e, "ev")? {
        "net" => {
            let mut l = format!("{who} {} {verdict}", endpoint(e, false));
            if e.get("new_addr").is_some() || e.get("new_port").is_some() {
                l.push_str(&format!(" -> {}", endpoint(e, true)));
            }
            Some(l)
        }
        "name" => Some(format!("{who} {} {verdict}", text(e, "name"))),
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

// -------------------------------------------------------------- summary

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
    fn add(&mut self, e: &Value) {
        let Some(ev) = get(e, "ev") else { return };
        if !matches!(ev, "map" | "deny" | "exec" | "static" | "net" | "name") {
            return;
        }
        if let Some(l) = denial(e) {
            self.denied.insert(l);
        }
        let denied = u64::from(is_denied(e));
        let c = self.progs.entry(text(e, "prog")).or_default();
        match ev {
            "map" => {
                let (v, h) = (text(e, "vpath"), text(e, "hpath"));
                if v == h {
                    c.passed += 1;
                    self.passed.insert(v);
                } else {
                    c.mapped += 1;
                    self.mapped.insert((v, h));
                }
            }
            "deny" => c.denied += 1,
            "net" => {
                c.net += 1;
                c.net_denied += denied;
            }
            "name" => {
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

fn summary(log: Option<&Path>, mapped: bool, passed: bool) -> Result<()> {
    let (r, name) = open(log)?;
    let mut s = Summary::default();
    let skipped = for_each_event(r, &name, |e| s.add(e))?;
    note_skipped(&name, skipped);
    if s.progs.is_empty() {
        eprintln!("sb2-logz: {name}: no events");
    }
    s.print(mapped, passed);
    Ok(())
}

// --------------------------------------------------------------- report

/// What an access trace says, replayed in file order. Paths are keyed by
/// their virtual path (what the build asked for); the value is the host
/// path, the file that exists now.
#[derive(Default)]
struct Trace {
    reads: BTreeMap<PathBuf, PathBuf>,
    /// Both spellings, so a build's own file is never an input, whichever
    /// way a later read names it.
    written_v: BTreeSet<PathBuf>,
    written_h: BTreeSet<PathBuf>,
    /// Created or written and not removed since: a rename is a remove of
    /// the old name and a create of the new one, so replaying in order
    /// leaves exactly the files the build left behind.
    live: BTreeMap<PathBuf, PathBuf>,
    denied: BTreeSet<String>,
    network: BTreeSet<String>,
}

impl Trace {
    fn add(&mut self, e: &Value) {
        if let Some(l) = denial(e) {
            self.denied.insert(l);
        }
        if let Some(l) = network(e) {
            self.network.insert(l);
        }
        let (Some(ev), Some(path)) = (get(e, "ev"), get(e, "path").map(host_path)) else {
            return;
        };
        // A writer may leave hpath out when nothing was mapped.
        let host = get(e, "hpath").map_or_else(|| path.clone(), host_path);
        match ev {
            "read" | "exec" => {
                self.reads.entry(path).or_insert(host);
            }
            "create" | "write" => {
                self.written_v.insert(path.clone());
                self.written_h.insert(host.clone());
                self.live.insert(path, host);
            }
            "remove" => {
                self.live.remove(&path);
            }
            _ => {}
        }
    }

    /// Files read from outside the tree that the build did not make and
    /// that are still there (a temporary file says nothing to rebuild).
    fn inputs(&self, tree: &[PathBuf]) -> Vec<(&PathBuf, &PathBuf)> {
        let inside = |p: &Path| tree.iter().any(|d| p.starts_with(d));
        let pseudo = |p: &Path| PSEUDO_FS.iter().any(|d| p.starts_with(d));
        self.reads
            .iter()
            .filter(|(v, h)| !self.written_v.contains(*v) && !self.written_h.contains(*h))
            .filter(|(v, h)| v.is_absolute() && !inside(v.as_path()) && !inside(h.as_path()))
            .filter(|(v, h)| !pseudo(v.as_path()) && !pseudo(h.as_path()))
            .filter(|(_, h)| is_file(h.as_path()))
            .collect()
    }

    fn outputs(&self) -> Vec<&PathBuf> {
        self.live
            .iter()
            .filter(|(_, h)| is_file(h.as_path()))
            .map(|(v, _)| v)
            .collect()
    }
}

fn is_file(p: &Path) -> bool {
    std::fs::metadata(p).is_ok_and(|m| m.is_file())
}

/// DIR made absolute, canonical when it exists (shown first); the trace
/// may spell it either way (a symlink on the way), so both count as inside.
fn tree_dirs(dir: Option<&Path>) -> Result<(PathBuf, Vec<PathBuf>)> {
    let cwd = std::env::current_dir().context("cannot get the current directory")?;
    let abs = dir.map_or_else(|| cwd.clone(), |d| cwd.join(d));
    Ok(match std::fs::canonicalize(&abs) {
        Ok(c) if c != abs => (c.clone(), vec![c, abs]),
        _ => (abs.clone(), vec![abs]),
    })
}

fn report(trace: &Path, tree: Option<&Path>, no_dpkg: bool) -> Result<()> {
    let (shown, tree) = tree_dirs(tree)?;
    let (r, name) = open(Some(trace))?;
    let mut t = Trace::default();
    let skipped = for_each_event(r, &name, |e| t.add(e))?;
    note_skipped(&name, skipped);

    let inputs = t.inputs(&tree);
    section(
        &format!("inputs (outside {}):", shown.display()),
        inputs.iter().map(|(v, _)| v.display()),
    );
    section("outputs:", t.outputs().iter().map(|v| v.display()));
    section("denied:", &t.denied);
    section("network:", &t.network);
    if !no_dpkg && on_path("dpkg") {
        let hosts: Vec<&Path> = inputs.iter().map(|(_, h)| h.as_path()).collect();
        packages(&hosts);
    }
    Ok(())
}

// ------------------------------------------------------------- packages

fn on_path(prog: &str) -> bool {
    let Some(path) = std::env::var_os("PATH") else {
        return false;
    };
    std::env::split_paths(&path).any(|d| {
        std::fs::metadata(d.join(prog))
            .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
    })
}

/// The `packages:` section: which package each input came from.
fn packages(inputs: &[&Path]) {
    let (by_pkg, orphans) = owners(inputs);
    println!("packages:");
    for (pkg, n) in &by_pkg {
        println!("  {pkg} ({n} files)");
    }
    if orphans > 0 {
        println!("  (not from a package) {orphans} files");
    }
    if inputs.is_empty() {
        println!("  (none)");
    }
}

/// Files per package, and the number of inputs no package owns. Names
/// dpkg does not know are tried again in other spellings, only for the
/// inputs still unowned, so most inputs cost one lookup.
fn owners(inputs: &[&Path]) -> (BTreeMap<String, usize>, usize) {
    let mut owner: Vec<Option<BTreeSet<String>>> = vec![None; inputs.len()];
    for round in 0..4 {
        let tries: Vec<(usize, PathBuf)> = inputs
            .iter()
            .enumerate()
            .filter(|(i, _)| owner.get(*i).is_some_and(Option::is_none))
            .filter_map(|(i, p)| spelling(p, round).map(|s| (i, s)))
            .collect();
        if tries.is_empty() {
            continue;
        }
        let found = dpkg_search(&tries.iter().map(|(_, s)| s.as_path()).collect::<Vec<_>>());
        for (i, s) in tries {
            if let (Some(pkgs), Some(slot)) = (found.get(&s), owner.get_mut(i)) {
                *slot = Some(pkgs.clone());
            }
        }
    }
    let mut by_pkg = BTreeMap::new();
    let mut orphans = 0;
    for o in owner {
        match o {
            Some(pkgs) => pkgs
                .into_iter()
                .for_each(|p| *by_pkg.entry(p).or_insert(0) += 1),
            None => orphans += 1,
        }
    }
    (by_pkg, orphans)
}

/// The name to ask dpkg about in round `round`: as accessed; then with
/// /usr added or removed, because with Debian's merged /usr a file may be
/// registered under /lib but opened as /usr/lib or the other way round;
/// then the same two for the file a symlink leads to (/usr/bin/cc is an
/// alternatives link no package owns).
fn spelling(p: &Path, round: u32) -> Option<PathBuf> {
    let canonical = || std::fs::canonicalize(p).ok().filter(|c| c != p);
    match round {
        0 => Some(p.to_path_buf()),
        1 => usr_toggle(p),
        2 => canonical(),
        _ => usr_toggle(&canonical()?),
    }
}

/// Only these directories moved under /usr.
const MERGED_USR: [&str; 6] = ["bin", "sbin", "lib", "lib32", "lib64", "libx32"];

fn usr_toggle(p: &Path) -> Option<PathBuf> {
    let (rest, add) = match p.strip_prefix("/usr") {
        Ok(r) => (r, false),
        Err(_) => (p.strip_prefix("/").ok()?, true),
    };
    let top = rest.components().next()?.as_os_str().to_str()?;
    if !MERGED_USR.contains(&top) {
        return None;
    }
    Some(Path::new(if add { "/usr" } else { "/" }).join(rest))
}

/// Owners by path, as `dpkg -S` prints them. Its stderr (complaints about
/// unknown paths) and exit status (non-zero when any path is unknown) say
/// nothing the missing lines don't.
fn dpkg_search(paths: &[&Path]) -> BTreeMap<PathBuf, BTreeSet<String>> {
    let mut found = BTreeMap::new();
    for batch in paths.chunks(DPKG_BATCH) {
        let out = Command::new("dpkg")
            .arg("-S")
            .args(batch.iter().map(|p| dpkg_pattern(p)))
            .stdin(Stdio::null())
            .stderr(Stdio::null())
            .output();
        match out {
            Ok(out) => parse_dpkg(&out.stdout, &mut found),
            Err(e) => eprintln!("sb2-logz: dpkg: {e}"),
        }
    }
    found
}

/// dpkg -S takes shell patterns; escaped, a path matches only itself.
fn dpkg_pattern(p: &Path) -> OsString {
    let mut out = Vec::new();
    for &b in p.as_os_str().as_bytes() {
        if matches!(b, b'*' | b'?' | b'[' | b']' | b'\\') {
            out.push(b'\\');
        }
        out.push(b);
    }
    OsString::from_vec(out)
}

/// Lines `PKG, PKG: PATH`; a package name may hold a colon (`libc6:amd64`)
/// but never ": ", so the first ": " ends the list.
fn parse_dpkg(stdout: &[u8], found: &mut BTreeMap<PathBuf, BTreeSet<String>>) {
    for line in stdout.split(|&b| b == b'\n') {
        let Some(i) = line.windows(2).position(|w| w == b": ") else {
            continue;
        };
        let (Some(list), Some(path)) = (line.get(..i), line.get(i + 2..)) else {
            continue;
        };
        let list = String::from_utf8_lossy(list);
        let pkgs: Vec<&str> = list.split(", ").collect();
        // `diversion by PKG from: PATH` and `... to: PATH` name no owner.
        if pkgs.iter().any(|p| p.is_empty() || p.contains(' ')) {
            continue;
        }
        found
            .entry(PathBuf::from(OsStr::from_bytes(path)))
            .or_default()
            .extend(pkgs.into_iter().map(str::to_owned));
    }
}

fn main() {
    // Behave like other command-line tools when the reader goes away
    // (`sb2-logz log | head`): end quietly instead of panicking.
    // SAFETY: restoring the default disposition of one signal at start-up.
    unsafe { libc::signal(libc::SIGPIPE, libc::SIG_DFL) };
    if let Err(e) = run(Cli::parse()) {
        eprintln!("sb2-logz: {e:#}");
        std::process::exit(2);
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
            {"ev":"bogus","pid":4,"prog":"zz","fn":"x"}

            [1, 2]
        "#;
        let mut s = Summary::default();
        let skipped = for_each_event(&log[..], "test", |e| s.add(e)).expect("in memory");
        assert_eq!(skipped, 2, "the torn line and the array");
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
        assert!(!s.progs.contains_key("zz"), "unknown events are ignored");
        let denied: Vec<&str> = s.denied.iter().map(String::as_str).collect();
        assert_eq!(
            denied,
            [
                "curl connect [::1] port 80 (EPERM)",
                "gcc open /usr/lib/y (EROFS)"
            ]
        );
    }

    #[test]
    fn outputs_replay_creates_and_removes_in_order() {
        let trace =
            br#"{"ev":"create","prog":"cc","fn":"open","path":"/b/a.o.tmp","hpath":"/h/a.o.tmp"}
            {"ev":"remove","prog":"cc","fn":"rename","path":"/b/a.o.tmp","hpath":"/h/a.o.tmp"}
            {"ev":"create","prog":"cc","fn":"rename","path":"/b/a.o","hpath":"/h/a.o"}
            {"ev":"create","prog":"sh","fn":"open","path":"/b/out"}
            {"ev":"remove","prog":"rm","fn":"unlink","path":"/b/out"}
            {"ev":"write","prog":"sh","fn":"open","path":"/b/out","hpath":"/h/out"}
            {"ev":"write","prog":"sh","fn":"open","path":"/b/gone","hpath":"/h/gone"}
            {"ev":"remove","prog":"rm","fn":"unlink","path":"/b/gone","hpath":"/h/gone"}
            {"ev":"read","prog":"cc","fn":"open","path":"/usr/include/stdio.h"}
            {"ev":"read","prog":"cc","fn":"open","path":"/b/a.o.tmp","hpath":"/h/a.o.tmp"}
        "#;
        let mut t = Trace::default();
        let skipped = for_each_event(&trace[..], "test", |e| t.add(e)).expect("in memory");
        assert_eq!(skipped, 0);
        let live: Vec<(&Path, &Path)> = t
            .live
            .iter()
            .map(|(v, h)| (v.as_path(), h.as_path()))
            .collect();
        assert_eq!(
            live,
            [
                (Path::new("/b/a.o"), Path::new("/h/a.o")),
                (Path::new("/b/out"), Path::new("/h/out"))
            ]
        );
        assert_eq!(
            t.reads
                .get(Path::new("/usr/include/stdio.h"))
                .map(PathBuf::as_path),
            Some(Path::new("/usr/include/stdio.h")),
            "no hpath: the path itself is the host path"
        );
        assert!(
            t.written_v.contains(Path::new("/b/a.o.tmp")),
            "made by the build, not an input"
        );
    }

    #[test]
    fn dpkg_lines_and_escaped_names() {
        let out = b"libc6:amd64: /lib/x86_64-linux-gnu/libc.so.6\n\
                    diversion by dash from: /bin/sh\n\
                    dash: /bin/sh\n\
                    gcc-12, cpp-12: /usr/share/doc/x: y\n\
                    garbage\n";
        let mut found = BTreeMap::new();
        parse_dpkg(out, &mut found);
        let got = |p: &str| {
            found
                .get(Path::new(p))
                .map(|s| s.iter().map(String::as_str).collect::<Vec<_>>())
        };
        assert_eq!(
            got("/lib/x86_64-linux-gnu/libc.so.6"),
            Some(vec!["libc6:amd64"])
        );
        assert_eq!(got("/bin/sh"), Some(vec!["dash"]));
        assert_eq!(got("/usr/share/doc/x: y"), Some(vec!["cpp-12", "gcc-12"]));
        assert_eq!(found.len(), 3);
        assert_eq!(
            usr_toggle(Path::new("/usr/lib/x86_64-linux-gnu/libc.so.6")),
            Some(PathBuf::from("/lib/x86_64-linux-gnu/libc.so.6"))
        );
        assert_eq!(usr_toggle(Path::new("/usr/share/doc")), None);
        // The preload's \u00XX escapes are bytes: "é" is \u00c3\u00a9.
        assert_eq!(decode("/caf\u{c3}\u{a9}"), "/café");
        assert_eq!(
            dpkg_pattern(Path::new("/a*[b]")),
            OsString::from("/a\\*\\[b\\]")
        );
    }
}
