//! `sb2-logz --report TRACE`: an access trace replayed into the build's
//! inputs, outputs, denials and network use.

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
}

impl Trace {
    fn add(&mut self, e: &Event) {
        if let Some(l) = denial(e) {
            self.denied.insert(l);
        }
        if let Some(l) = network(e) {
            self.network.insert(l);
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

pub fn report(trace: &Path, tree: Option<&Path>, no_dpkg: bool) -> Result<()> {
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
    if !no_dpkg && packages::on_path("dpkg") {
        let hosts: Vec<&Path> = inputs.iter().map(|(_, h)| h.as_path()).collect();
        packages::print(&hosts);
    }
    Ok(())
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
}
