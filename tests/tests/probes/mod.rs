//! Every hooked libc function, called directly by the C probe programs of
//! `tests/probes/` inside a session whose rules map `/sb2v` (a path that does
//! not exist on the host) to a real directory of the test and `/sb2ro` to a
//! second, read-only one. A call on `/sb2v/...` can only succeed if its hook
//! mapped the path. Each probe prints one line:
//! `FUNCTION ret=<value> errno=<NAME or 0>[ <payload>]`.
//!
//! Expectations are collected per test ([`Fails`]) so one run reports every
//! function that misbehaves, not only the first.

use sb2_tests::{bin_dir, probe, text, World};
use std::collections::{BTreeMap, BTreeSet};
use std::ffi::{OsStr, OsString};
use std::fmt;
use std::fs;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{symlink, FileTypeExt, MetadataExt};
use std::path::{Path, PathBuf};
use std::process::Command;

mod attr;
mod create;
mod dirs;
mod misc;
mod names;
mod open;
mod stat;

const FILE_TEXT: &str = "hello from real\n";
const DEEP_TEXT: &str = "deep content\n";
const RO_TEXT: &str = "readonly file\n";
const RO_DEEP_TEXT: &str = "readonly deep\n";

// ---------------------------------------------------------------------------
// The world of a probe test
// ---------------------------------------------------------------------------

/// A world with REALDIR (`/sb2v`), RODIR (`/sb2ro`, read-only) and the rule
/// file mapping them.
///
/// REALDIR: `file`, `link -> file`, `abslink -> /sb2v/file`, `dlink -> sub`,
/// `sub/deep`, `sub/up -> ../file`, `sub/inner/leaf`.
/// RODIR: `file`, `link -> file`, `sub/deep`, `empty/`.
struct Env {
    w: World,
    real: PathBuf,
    ro: PathBuf,
    rules: PathBuf,
}

fn env(name: &str) -> Env {
    let w = World::new(&format!("probes-{name}"));
    let real = w.dir.join("real");
    let ro = w.dir.join("ro");
    fs::create_dir_all(real.join("sub/inner")).expect("mkdir real");
    fs::write(real.join("file"), FILE_TEXT).expect("write");
    fs::write(real.join("sub/deep"), DEEP_TEXT).expect("write");
    fs::write(real.join("sub/inner/leaf"), "leaf\n").expect("write");
    symlink("file", real.join("link")).expect("symlink");
    symlink("/sb2v/file", real.join("abslink")).expect("symlink");
    symlink("sub", real.join("dlink")).expect("symlink");
    symlink("../file", real.join("sub/up")).expect("symlink");
    fs::create_dir_all(ro.join("sub")).expect("mkdir ro");
    fs::create_dir_all(ro.join("empty")).expect("mkdir ro");
    fs::write(ro.join("file"), RO_TEXT).expect("write");
    fs::write(ro.join("sub/deep"), RO_DEEP_TEXT).expect("write");
    symlink("file", ro.join("link")).expect("symlink");
    let rules = w.dir.join("rules.lua");
    fs::write(
        &rules,
        format!(
            r#"fs_mapping_rules = {{
  {{ rules = import_from_fs_rule_library("sb2_own"), dir = "/" }},
  {{ dir = "/proc", rules = import_from_fs_rule_library("proc") }},
  {{ dir = "/sb2v", replace_by = "{}" }},
  {{ dir = "/sb2ro", replace_by = "{}", readonly = true }},
  {{ dir = "/", use_orig_path = true }},
}}
"#,
            real.display(),
            ro.display()
        ),
    )
    .expect("write rules");
    Env { w, real, ro, rules }
}

/// One result line of a probe, with the command that printed it.
struct Line {
    cmd: String,
    out: String,
    ret: String,
    errno: String,
    payload: String,
}

impl fmt::Display for Line {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "`{}` printed:\n{}", self.cmd, self.out.trim_end())
    }
}

impl Line {
    /// Parses `FUNC ret=R errno=E[ PAYLOAD]`; anything else gives errno
    /// `<bad-output>` so that every expectation on it fails with the output.
    fn parse(cmd: String, out: String, line: Option<&str>, func: &str) -> Line {
        let bad = |out: String| Line {
            cmd: cmd.clone(),
            out,
            ret: String::new(),
            errno: "<bad-output>".into(),
            payload: String::new(),
        };
        let Some(line) = line else { return bad(out) };
        let mut it = line.splitn(4, ' ');
        let (f, r, e, p) = (it.next(), it.next(), it.next(), it.next());
        match (
            f,
            r.and_then(|r| r.strip_prefix("ret=")),
            e.and_then(|e| e.strip_prefix("errno=")),
        ) {
            (Some(f), Some(r), Some(e)) if f == func => Line {
                cmd: cmd.clone(),
                out,
                ret: r.into(),
                errno: e.into(),
                payload: p.unwrap_or("").into(),
            },
            _ => bad(out),
        }
    }
}

fn os(s: &str) -> OsString {
    OsString::from(s)
}

impl Env {
    /// Runs `probe-<family> ARGS...` in a session with the rules; all output
    /// lines (the probe must exit 0).
    fn lines_os(&self, family: &str, args: &[OsString]) -> (String, Vec<String>, String) {
        let exe = probe(family);
        let o = self
            .w
            .cmd(bin_dir().join("sb2"))
            .arg("-M")
            .arg(&self.rules)
            .arg("--")
            .arg(&exe)
            .args(args)
            .output()
            .expect("run sb2");
        let cmd = format!(
            "probe-{family} {}",
            args.iter()
                .map(|a| a.to_string_lossy())
                .collect::<Vec<_>>()
                .join(" ")
        );
        let lines: Vec<String> = String::from_utf8_lossy(&o.stdout)
            .lines()
            .map(str::to_owned)
            .collect();
        if o.status.code() != Some(0) {
            return (cmd, Vec::new(), text(&o));
        }
        (cmd, lines, text(&o))
    }

    /// Runs one probe call in the session; its one line.
    fn run_os(&self, family: &str, args: &[OsString]) -> Line {
        let (cmd, lines, out) = self.lines_os(family, args);
        // The function name: the first argument, or the third after -C DIR.
        let at = if args.first().is_some_and(|a| a == "-C") {
            2
        } else {
            0
        };
        let func = args
            .get(at)
            .map(|a| a.to_string_lossy().into_owned())
            .unwrap_or_default();
        let one = if lines.len() == 1 {
            lines.first().map(String::as_str)
        } else {
            None
        };
        Line::parse(cmd, out, one, &func)
    }

    fn run(&self, family: &str, args: &[&str]) -> Line {
        self.run_os(family, &args.iter().map(|a| os(a)).collect::<Vec<_>>())
    }

    /// The same probe run outside any session (plain host view).
    fn host_run(&self, family: &str, args: &[&str]) -> Line {
        let o = Command::new(probe(family))
            .args(args)
            .current_dir(&self.w.work)
            .env_remove("LD_PRELOAD")
            .env_remove("SB2_SESSION_DIR")
            .output()
            .expect("run probe");
        let cmd = format!("(host) probe-{family} {}", args.join(" "));
        let lines: Vec<String> = String::from_utf8_lossy(&o.stdout)
            .lines()
            .map(str::to_owned)
            .collect();
        let one = if o.status.code() == Some(0) && lines.len() == 1 {
            lines.first().map(String::as_str)
        } else {
            None
        };
        Line::parse(cmd, text(&o), one, args.first().copied().unwrap_or(""))
    }
}

/// Collected expectation failures of one test.
#[derive(Default)]
struct Fails(Vec<String>);

impl Fails {
    fn check(&mut self, ok: bool, what: impl FnOnce() -> String) -> bool {
        if !ok {
            self.0.push(what());
        }
        ok
    }
    /// The call succeeded.
    fn ok(&mut self, l: &Line) -> bool {
        let good = l.errno == "0" && l.ret != "-1" && l.ret != "NULL";
        self.check(good, || format!("expected success: {l}"))
    }
    /// The call succeeded with exactly this payload.
    fn ok_with(&mut self, l: &Line, payload: &str) -> bool {
        self.ok(l)
            && self.check(l.payload == payload, || {
                format!("expected payload {payload:?}: {l}")
            })
    }
    /// The call failed with this errno.
    fn errno(&mut self, l: &Line, e: &str) -> bool {
        self.check(
            l.errno == e && (l.ret == "-1" || l.ret == "NULL" || l.ret.starts_with('-')),
            || format!("expected errno={e}: {l}"),
        )
    }
    /// A condition on the real file system after a call.
    fn fs(&mut self, ok: bool, l: &Line, what: &str) -> bool {
        self.check(ok, || format!("after the call, expected {what}: {l}"))
    }
    fn finish(self) {
        assert!(
            self.0.is_empty(),
            "{} failed expectation(s):\n\n{}",
            self.0.len(),
            self.0.join("\n\n")
        );
    }
}

fn read(p: &Path) -> String {
    fs::read_to_string(p).unwrap_or_else(|e| format!("<{}: {e}>", p.display()))
}

/// Everything observable of a tree but access times (reading is allowed).
fn snapshot(dir: &Path) -> BTreeMap<PathBuf, String> {
    fn walk(root: &Path, d: &Path, out: &mut BTreeMap<PathBuf, String>) {
        let Ok(md) = fs::symlink_metadata(d) else {
            return;
        };
        let content = if md.file_type().is_symlink() {
            format!("-> {:?}", fs::read_link(d).ok())
        } else if md.is_file() {
            format!("{:?}", fs::read(d).ok())
        } else {
            String::new()
        };
        out.insert(
            d.strip_prefix(root).unwrap_or(d).to_path_buf(),
            format!(
                "{:?} {:o} {}:{} m{}.{} c{}.{} {content}",
                md.file_type(),
                md.mode(),
                md.uid(),
                md.gid(),
                md.mtime(),
                md.mtime_nsec(),
                md.ctime(),
                md.ctime_nsec()
            ),
        );
        if md.is_dir() {
            let mut names: Vec<_> = fs::read_dir(d)
                .map(|r| r.filter_map(|e| e.ok()).map(|e| e.path()).collect())
                .unwrap_or_default();
            names.sort();
            for n in names {
                walk(root, &n, out);
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(dir, dir, &mut out);
    out
}

fn same_snapshot(
    f: &mut Fails,
    before: &BTreeMap<PathBuf, String>,
    after: &BTreeMap<PathBuf, String>,
    what: &str,
) {
    if before != after {
        let mut diff = Vec::new();
        let keys: BTreeSet<_> = before.keys().chain(after.keys()).collect();
        for k in keys {
            if before.get(k) != after.get(k) {
                diff.push(format!(
                    "  {}: {:?} -> {:?}",
                    k.display(),
                    before.get(k),
                    after.get(k)
                ));
            }
        }
        f.0.push(format!("{what} changed:\n{}", diff.join("\n")));
    }
}

fn is_fifo(p: &Path) -> bool {
    fs::symlink_metadata(p)
        .map(|m| m.file_type().is_fifo())
        .unwrap_or(false)
}
fn is_dir(p: &Path) -> bool {
    fs::symlink_metadata(p).map(|m| m.is_dir()).unwrap_or(false)
}
fn is_file(p: &Path) -> bool {
    fs::symlink_metadata(p)
        .map(|m| m.is_file())
        .unwrap_or(false)
}
fn exists(p: &Path) -> bool {
    fs::symlink_metadata(p).is_ok()
}
fn mode(p: &Path) -> u32 {
    fs::symlink_metadata(p)
        .map(|m| m.mode() & 0o7777)
        .unwrap_or(0)
}
fn mtime(p: &Path) -> i64 {
    fs::symlink_metadata(p).map(|m| m.mtime()).unwrap_or(0)
}

const BAD: [(&str, &str); 3] = [
    ("NULL", "EFAULT"),
    ("DANGLING", "EFAULT"),
    ("LONG", "ENAMETOOLONG"),
];

/// The open family, by the arguments they take.
const OPEN_PATH: [&str; 4] = ["open", "open64", "__open", "__open64"];
const OPEN_2: [&str; 2] = ["__open_2", "__open64_2"];
const OPEN_AT: [&str; 2] = ["openat", "openat64"];
const OPENAT_2: [&str; 2] = ["__openat_2", "__openat64_2"];
const FOPEN: [&str; 4] = ["fopen", "fopen64", "freopen", "freopen64"];
const CREAT: [&str; 2] = ["creat", "creat64"];

// ---------------------------------------------------------------------------
// The scenario matrix
// ---------------------------------------------------------------------------

/// What one call must give.
#[derive(Clone, Copy)]
enum Want<'a> {
    /// Success with exactly this payload.
    Is(&'a str),
    /// Success, whatever the payload.
    Works,
    /// Success on a directory (the payload ends with `type=d`).
    IsDir,
    /// Failure with this errno.
    Errno(&'a str),
}

impl Env {
    /// The scenario matrix of a family: every function of `funcs` with every
    /// case. A case is `"[-C DIR] ARGS..."`, split at single spaces (so two
    /// spaces make an empty argument); the probe runs `[-C DIR] FUNC
    /// ARGS...`. The rows repeat per family what each must map: a symlink,
    /// an absolute one, one through a directory symlink, `..` and `.`, a
    /// relative name after `-C`, a missing name, a file as a directory.
    fn path_cases(&self, f: &mut Fails, family: &str, funcs: &[&str], cases: &[(&str, Want)]) {
        for func in funcs {
            for (case, want) in cases {
                let words: Vec<&str> = case.split(' ').collect();
                let at = if words.first() == Some(&"-C") { 2 } else { 0 };
                let (cd, rest) = words.split_at(at.min(words.len()));
                let args: Vec<&str> = cd
                    .iter()
                    .copied()
                    .chain([*func])
                    .chain(rest.iter().copied())
                    .collect();
                let l = self.run(family, &args);
                match *want {
                    Want::Is(p) => {
                        f.ok_with(&l, p);
                    }
                    Want::Works => {
                        f.ok(&l);
                    }
                    Want::IsDir => {
                        if f.ok(&l) {
                            f.check(l.payload.ends_with("type=d"), || {
                                format!("expected a directory: {l}")
                            });
                        }
                    }
                    Want::Errno(e) => {
                        f.errno(&l, e);
                    }
                }
            }
        }
    }
}
