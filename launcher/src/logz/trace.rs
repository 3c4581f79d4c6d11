//! `sb2-logz --report TRACE`: an access trace replayed into the build's
//! inputs, outputs, denials and network use, and the packages of the
//! inputs, per database: the trace's first line names the session's
//! target and tools roots, whose files are their packages' and not the
//! host's.

use super::{denial, for_each_event, host_path, network, note_skipped, open, packages, section};
use anyhow::{Context, Result};
use sb2_ruletree::contract::events::{Event, Kind};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Kernel-made file systems: reading them says nothing about what the
/// build depends on.
const PSEUDO_FS: [&str; 3] = ["/proc", "/sys", "/dev"];

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
    /// From the `session` line; none in a trace older than it.
    target_root: Option<PathBuf>,
    tools_root: Option<PathBuf>,
}

impl Trace {
    fn add(&mut self, e: &Event) {
        if let Some(l) = denial(e) {
            self.denied.insert(l);
        }
        if let Some(l) = network(e) {
            self.network.insert(l);
        }
        if e.ev == Some(Kind::Session) {
            // The first line names the roots; a second session writing to
            // the same file starts it afresh, so there is no other.
            let dir = |s: &Option<String>| s.as_deref().filter(|s| !s.is_empty()).map(host_path);
            self.target_root = self.target_root.take().or_else(|| dir(&e.target_root));
            self.tools_root = self.tools_root.take().or_else(|| dir(&e.tools_root));
            return;
        }
        let (Some(ev), Some(path)) = (e.ev, e.path.as_deref().map(host_path)) else {
            return;
        };
        // A writer may leave hpath out when nothing was mapped.
        let host = e.hpath.as_deref().map_or_else(|| path.clone(), host_path);
        match ev {
            Kind::Read | Kind::Exec => {
                self.reads.entry(path).or_insert(host);
            }
            Kind::Create | Kind::Write => {
                self.written_v.insert(path.clone());
                self.written_h.insert(host.clone());
                self.live.insert(path, host);
            }
            Kind::Remove => {
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

/// The roots whose files belong to their own package databases: the
/// target root (`--target-root`, else the trace's), then the tools root.
fn roots(t: &Trace, target_root: Option<&Path>) -> Vec<packages::Root> {
    let target = target_root.or(t.target_root.as_deref());
    let mut v: Vec<packages::Root> = Vec::new();
    for r in [
        target.and_then(|d| packages::Root::new("target", d)),
        t.tools_root
            .as_deref()
            .and_then(|d| packages::Root::new("tools", d)),
    ]
    .into_iter()
    .flatten()
    {
        // A tools root that is the target root is one database.
        if !v.iter().any(|o| o.dir == r.dir) {
            v.push(r);
        }
    }
    v
}

pub fn report(
    trace: &Path,
    tree: Option<&Path>,
    no_dpkg: bool,
    target_root: Option<&Path>,
    json: bool,
) -> Result<()> {
    let (shown, tree) = tree_dirs(tree)?;
    // Relative to where sb2-logz runs, as --tree is; the trace's are absolute.
    let target_root = match target_root {
        Some(d) => Some(
            std::env::current_dir()
                .context("cannot get the current directory")?
                .join(d),
        ),
        None => None,
    };
    let (r, name) = open(Some(trace))?;
    let mut t = Trace::default();
    let skipped = for_each_event(r, &name, |e| t.add(e))?;
    note_skipped(&name, skipped);

    let inputs = t.inputs(&tree);
    let dpkg = !no_dpkg && packages::on_path("dpkg-query");
    if json {
        let hosts: Vec<&Path> = inputs.iter().map(|(_, h)| h.as_path()).collect();
        let pk = dpkg.then(|| packages::sections(&hosts, &roots(&t, target_root.as_deref())));
        println!("{}", report_json(&shown, &inputs, &t, pk.as_deref()));
        return Ok(());
    }
    section(
        &format!("inputs (outside {}):", shown.display()),
        inputs.iter().map(|(v, _)| v.display()),
    );
    section("outputs:", t.outputs().iter().map(|v| v.display()));
    section("denied:", &t.denied);
    section("network:", &t.network);
    if dpkg {
        let hosts: Vec<&Path> = inputs.iter().map(|(_, h)| h.as_path()).collect();
        packages::print(&hosts, &roots(&t, target_root.as_deref()));
    }
    Ok(())
}

/// Version of the report's JSON schema (docs/json.md).
pub const REPORT_SCHEMA_VERSION: u32 = 1;

/// The report as one JSON document; `packages` is absent without dpkg.
fn report_json(
    tree: &Path,
    inputs: &[(&PathBuf, &PathBuf)],
    t: &Trace,
    packages: Option<&[packages::Section]>,
) -> serde_json::Value {
    let p = |x: &Path| x.to_string_lossy().into_owned();
    let mut doc = serde_json::json!({
        "schema": "sb2-report",
        "version": REPORT_SCHEMA_VERSION,
        "tree": p(tree),
        "inputs": inputs.iter().map(|(v, h)| serde_json::json!({"path": p(v), "hpath": p(h)})).collect::<Vec<_>>(),
        "outputs": t.outputs().iter().map(|v| p(v)).collect::<Vec<_>>(),
        "denied": t.denied,
        "network": t.network,
    });
    if let Some(secs) = packages {
        doc["packages"] = secs
            .iter()
            .map(|s| {
                serde_json::json!({
                    "database": s.role,
                    "root": s.dir.as_deref().map(p),
                    "files": s.files,
                    "no_database": s.no_database.is_some(),
                    "packages": s.packages,
                    "unowned": s.unowned,
                })
            })
            .collect();
    }
    doc
}

#[cfg(test)]
mod tests {
    use super::*;

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
    fn the_session_line_names_the_roots_and_old_traces_have_none() {
        use sb2_ruletree::contract::events::field;
        // As sb2 writes it: a path's bytes one char each, so "é" (two
        // bytes of UTF-8) survives the JSON round trip as those bytes.
        let root = "/srv/caf\u{e9}-root".as_bytes();
        let e = Event {
            ev: Some(Kind::Session),
            pid: Some(1),
            prog: Some("sb2".into()),
            func: Some("main".into()),
            target: Some("arm64".into()),
            target_root: Some(field(root)),
            tools_root: Some(String::new()),
            ..Event::default()
        };
        let line = serde_json::to_string(&e).expect("json");
        let read = format!(
            "{line}\n{}\n",
            r#"{"ev":"read","path":"/usr/include/z.h","hpath":"/srv/z.h"}"#
        );
        let mut t = Trace::default();
        let skipped = for_each_event(read.as_bytes(), "test", |e| t.add(e)).expect("in memory");
        assert_eq!(skipped, 0);
        assert_eq!(t.target_root, Some(PathBuf::from("/srv/caf\u{e9}-root")));
        assert_eq!(t.tools_root, None, "empty: the host's tools");
        assert_eq!(t.reads.len(), 1, "the session line is no read");
        let dirs = |t: &Trace, o: Option<&Path>| {
            roots(t, o)
                .into_iter()
                .map(|r| (r.role, r.dir))
                .collect::<Vec<_>>()
        };
        assert_eq!(
            dirs(&t, None),
            [("target", PathBuf::from("/srv/caf\u{e9}-root"))]
        );
        assert_eq!(
            dirs(&t, Some(Path::new("/other"))),
            [("target", PathBuf::from("/other"))],
            "--target-root wins"
        );
        assert!(dirs(&Trace::default(), None).is_empty(), "an old trace");
        t.tools_root = Some(PathBuf::from("/srv/caf\u{e9}-root"));
        assert_eq!(dirs(&t, None).len(), 1, "one root, one database");
    }
}
