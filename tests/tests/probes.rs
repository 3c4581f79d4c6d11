//! Every hooked libc function, called directly by the C probe programs of
//! `tests/probes/` inside a session whose rules map `/sb2v` (a path that does
//! not exist on the host) to a real directory of the test and `/sb2ro` to a
//! second, read-only one. A call on `/sb2v/...` can only succeed if its hook
//! mapped the path. Each probe prints one line:
//! `FUNCTION ret=<value> errno=<NAME or 0>[ <payload>]`.
//!
//! Expectations are collected per test ([`Fails`]) so one run reports every
//! function that misbehaves, not only the first.

use sb2_tests::{bin_dir, probe, repo, text, World};
use std::collections::{BTreeMap, BTreeSet};
use std::ffi::{OsStr, OsString};
use std::fmt;
use std::fs;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{symlink, FileTypeExt, MetadataExt};
use std::path::{Path, PathBuf};
use std::process::Command;

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

// ---------------------------------------------------------------------------
// open family
// ---------------------------------------------------------------------------

const OPEN_PATH: [&str; 4] = ["open", "open64", "__open", "__open64"];
const OPEN_2: [&str; 2] = ["__open_2", "__open64_2"];
const OPEN_AT: [&str; 2] = ["openat", "openat64"];
const OPENAT_2: [&str; 2] = ["__openat_2", "__openat64_2"];
const FOPEN: [&str; 4] = ["fopen", "fopen64", "freopen", "freopen64"];
const CREAT: [&str; 2] = ["creat", "creat64"];

#[test]
fn open_all_read_mapped() {
    let e = env("open-read");
    let mut f = Fails::default();
    for func in OPEN_PATH.iter().chain(&OPEN_2).copied() {
        f.ok_with(&e.run("open", &[func, "/sb2v/file"]), "hello from real");
        f.ok_with(&e.run("open", &[func, "/sb2v/abslink"]), "hello from real");
        f.ok_with(&e.run("open", &[func, "/sb2ro/file"]), "readonly file");
        f.ok_with(&e.run("open", &[func, "/sb2v/sub", "rd"]), "dir");
        f.ok_with(&e.run("open", &[func, "/sb2v/dlink", "rd"]), "dir");
        f.errno(&e.run("open", &[func, "/sb2v/file", "rd"]), "ENOTDIR");
        f.errno(&e.run("open", &[func, "/sb2v/link/"]), "ENOTDIR");
        f.errno(&e.run("open", &[func, "/sb2v/missing"]), "ENOENT");
        f.errno(&e.run("open", &[func, "/sb2v/link", "rn"]), "ELOOP");
    }
    for func in OPEN_AT.iter().chain(&OPENAT_2).copied() {
        f.ok_with(&e.run("open", &[func, "/sb2v/sub", "deep"]), "deep content");
        f.ok_with(
            &e.run("open", &[func, "/sb2v", "sub/up"]),
            "hello from real",
        );
        f.ok_with(
            &e.run("open", &[func, "AT_FDCWD", "/sb2v/file"]),
            "hello from real",
        );
        f.ok_with(
            &e.run("open", &[func, "/sb2ro/sub", "/sb2v/sub/deep"]),
            "deep content",
        );
        f.ok_with(
            &e.run("open", &[func, "/sb2ro/sub", "deep"]),
            "readonly deep",
        );
        f.errno(&e.run("open", &[func, "/sb2v/sub", "missing"]), "ENOENT");
    }
    for func in FOPEN {
        f.ok_with(
            &e.run("open", &[func, "/sb2v/file", "r"]),
            "hello from real",
        );
        f.ok_with(
            &e.run("open", &[func, "/sb2v/dlink/deep", "r"]),
            "deep content",
        );
        f.errno(&e.run("open", &[func, "/sb2v/missing", "r"]), "ENOENT");
    }
    // freopen(NULL, mode, f) changes the mode of the stream's own file.
    f.ok_with(&e.run("open", &["freopen", "NULL", "r"]), "<eof>");
    f.finish();
}

#[test]
fn open_all_write_mapped_creates_in_realdir() {
    let e = env("open-write");
    let mut f = Fails::default();
    let r = &e.real;
    for func in OPEN_PATH.iter().chain(&CREAT).copied() {
        let name = format!("new-{func}");
        let l = if func.starts_with("creat") {
            e.run("open", &[func, &format!("/sb2v/{name}")])
        } else {
            e.run("open", &[func, &format!("/sb2v/{name}"), "wcx"])
        };
        if f.ok_with(&l, "written") {
            f.fs(
                read(&r.join(&name)) == "probe\n",
                &l,
                &format!("REALDIR/{name} written"),
            );
        }
    }
    for func in OPEN_2 {
        // The fortified forms refuse O_CREAT: write to an existing file.
        let name = format!("exist-{func}");
        fs::write(r.join(&name), "").expect("write");
        let l = e.run("open", &[func, &format!("/sb2v/{name}"), "w"]);
        if f.ok_with(&l, "written") {
            f.fs(
                read(&r.join(&name)) == "probe\n",
                &l,
                &format!("REALDIR/{name} written"),
            );
        }
    }
    for func in OPEN_AT {
        let name = format!("new-{func}");
        let l = e.run("open", &[func, "/sb2v/sub", &name, "wcx"]);
        if f.ok_with(&l, "written") {
            f.fs(
                read(&r.join("sub").join(&name)) == "probe\n",
                &l,
                &format!("REALDIR/sub/{name} written"),
            );
        }
    }
    for func in OPENAT_2 {
        let name = format!("exist-{func}");
        fs::write(r.join("sub").join(&name), "").expect("write");
        let l = e.run("open", &[func, "/sb2v/sub", &name, "w"]);
        if f.ok_with(&l, "written") {
            f.fs(
                read(&r.join("sub").join(&name)) == "probe\n",
                &l,
                &format!("REALDIR/sub/{name} written"),
            );
        }
    }
    for func in FOPEN {
        let name = format!("new-{func}");
        let l = e.run("open", &[func, &format!("/sb2v/{name}"), "w"]);
        if f.ok_with(&l, "written") {
            f.fs(
                read(&r.join(&name)) == "probe\n",
                &l,
                &format!("REALDIR/{name} written"),
            );
        }
        let name = format!("app-{func}");
        fs::write(r.join(&name), "old\n").expect("write");
        let l = e.run("open", &[func, &format!("/sb2v/{name}"), "a"]);
        if f.ok_with(&l, "written") {
            f.fs(
                read(&r.join(&name)) == "old\nprobe\n",
                &l,
                &format!("REALDIR/{name} appended"),
            );
        }
    }
    // O_EXCL on an existing mapped file.
    f.errno(&e.run("open", &["open", "/sb2v/file", "wcx"]), "EEXIST");
    f.finish();
}

#[test]
fn open_all_write_readonly_erofs() {
    let e = env("open-ro");
    let before = snapshot(&e.ro);
    let mut f = Fails::default();
    for func in OPEN_PATH {
        f.errno(&e.run("open", &[func, "/sb2ro/new", "wc"]), "EROFS");
        f.errno(&e.run("open", &[func, "/sb2ro/file", "W"]), "EROFS");
        f.errno(&e.run("open", &[func, "/sb2ro/file", "rt"]), "EROFS");
    }
    for func in OPEN_2 {
        f.errno(&e.run("open", &[func, "/sb2ro/file", "w"]), "EROFS");
    }
    for func in OPEN_AT {
        f.errno(&e.run("open", &[func, "/sb2ro/sub", "new", "wc"]), "EROFS");
        f.errno(
            &e.run("open", &[func, "/sb2v/sub", "/sb2ro/new", "wc"]),
            "EROFS",
        );
    }
    for func in OPENAT_2 {
        f.errno(&e.run("open", &[func, "/sb2ro/sub", "deep", "w"]), "EROFS");
    }
    for func in CREAT {
        f.errno(&e.run("open", &[func, "/sb2ro/new"]), "EROFS");
        f.errno(&e.run("open", &[func, "/sb2ro/file"]), "EROFS");
    }
    for func in FOPEN {
        f.errno(&e.run("open", &[func, "/sb2ro/new", "w"]), "EROFS");
        f.errno(&e.run("open", &[func, "/sb2ro/file", "a"]), "EROFS");
        f.errno(&e.run("open", &[func, "/sb2ro/file", "r+"]), "EROFS");
    }
    same_snapshot(&mut f, &before, &snapshot(&e.ro), "RODIR");
    f.finish();
}

/// A write through a symlink goes where the symlink leads (as the kernel
/// does with a read-only mount): allowed from RODIR into REALDIR, refused
/// from REALDIR into RODIR.
#[test]
fn open_all_write_through_symlinks_follow_the_target() {
    let e = env("open-symlinks");
    let target = e.real.join("rwtarget");
    symlink("/sb2v/rwtarget", e.ro.join("rwlink")).expect("symlink");
    symlink("/sb2ro/file", e.real.join("rolink")).expect("symlink");
    let before = snapshot(&e.ro);
    let mut f = Fails::default();
    let cases: Vec<Vec<&str>> = OPEN_PATH
        .iter()
        .chain(&OPEN_2)
        .map(|func| vec![*func, "/sb2ro/rwlink", "w"])
        .chain(
            OPEN_AT
                .iter()
                .chain(&OPENAT_2)
                .map(|func| vec![*func, "/sb2ro", "rwlink", "w"]),
        )
        .chain(CREAT.iter().map(|func| vec![*func, "/sb2ro/rwlink"]))
        .chain(FOPEN.iter().map(|func| vec![*func, "/sb2ro/rwlink", "w"]))
        .collect();
    for c in &cases {
        fs::write(&target, "old\n").expect("write");
        let l = e.run("open", c);
        if f.ok_with(&l, "written") {
            f.fs(read(&target) == "probe\n", &l, "REALDIR/rwtarget written");
        }
    }
    for c in &cases {
        let mut c = c.clone();
        for a in c.iter_mut() {
            *a = match *a {
                "/sb2ro/rwlink" => "/sb2v/rolink",
                "/sb2ro" => "/sb2v",
                "rwlink" => "rolink",
                x => x,
            };
        }
        f.errno(&e.run("open", &c), "EROFS");
    }
    same_snapshot(&mut f, &before, &snapshot(&e.ro), "RODIR");
    f.finish();
}

#[test]
fn open_all_relative_after_chdir_mapped() {
    let e = env("open-rel");
    let mut f = Fails::default();
    for func in OPEN_PATH.iter().chain(&OPEN_2).copied() {
        f.ok_with(
            &e.run("open", &["-C", "/sb2v/sub", func, "deep"]),
            "deep content",
        );
        f.ok_with(
            &e.run("open", &["-C", "/sb2v/sub", func, "../file"]),
            "hello from real",
        );
    }
    for func in OPEN_AT.iter().chain(&OPENAT_2).copied() {
        f.ok_with(
            &e.run("open", &["-C", "/sb2v/sub", func, "AT_FDCWD", "up"]),
            "hello from real",
        );
    }
    for func in FOPEN {
        f.ok_with(
            &e.run("open", &["-C", "/sb2v", func, "sub/deep", "r"]),
            "deep content",
        );
    }
    let l = e.run("open", &["-C", "/sb2v/sub", "creat", "rel-new"]);
    if f.ok_with(&l, "written") {
        f.fs(
            read(&e.real.join("sub/rel-new")) == "probe\n",
            &l,
            "REALDIR/sub/rel-new written",
        );
    }
    f.errno(
        &e.run("open", &["-C", "/sb2ro/sub", "open", "rel-new", "wc"]),
        "EROFS",
    );
    f.finish();
}

#[test]
fn open_open_fopen_bad_input_efault_enametoolong() {
    let e = env("open-bad");
    let mut f = Fails::default();
    for (arg, err) in BAD {
        f.errno(&e.run("open", &["open", arg]), err);
        f.errno(&e.run("open", &["open", arg, "wc"]), err);
        f.errno(&e.run("open", &["openat", "/sb2v/sub", arg]), err);
        f.errno(&e.run("open", &["fopen", arg, "r"]), err);
        f.errno(&e.run("open", &["fopen", arg, "w"]), err);
    }
    f.finish();
}

#[test]
fn open_open_non_utf8_name_mapped() {
    let e = env("open-nonutf8");
    let mut f = Fails::default();
    let name = OsStr::from_bytes(b"\xff\xfe");
    let mut vpath = OsString::from("/sb2v/");
    vpath.push(name);
    let l = e.run_os("open", &[os("open"), vpath.clone(), os("wcx")]);
    if f.ok_with(&l, "written") {
        f.fs(
            read(&e.real.join(name)) == "probe\n",
            &l,
            "REALDIR/\\xff\\xfe written",
        );
    }
    f.ok_with(
        &e.run_os("stat", &[os("stat"), vpath.clone()]),
        "size=6 type=f",
    );
    f.ok_with(
        &e.run_os("stat", &[os("fstatat"), os("/sb2v"), name.to_owned()]),
        "size=6 type=f",
    );
    f.ok_with(&e.run_os("open", &[os("open"), vpath]), "probe");
    f.finish();
}

// ---------------------------------------------------------------------------
// stat family
// ---------------------------------------------------------------------------

const STAT_FOLLOW: [&str; 4] = ["stat", "stat64", "__xstat", "__xstat64"];
const STAT_NOFOLLOW: [&str; 4] = ["lstat", "lstat64", "__lxstat", "__lxstat64"];
const STAT_AT: [&str; 5] = [
    "fstatat",
    "fstatat64",
    "__fxstatat",
    "__fxstatat64",
    "statx",
];
const STAT_FS: [&str; 4] = ["statfs", "statfs64", "statvfs", "statvfs64"];

#[test]
fn stat_all_mapped_follow_and_nofollow() {
    let e = env("stat-paths");
    let mut f = Fails::default();
    for func in STAT_FOLLOW {
        f.ok_with(&e.run("stat", &[func, "/sb2v/file"]), "size=16 type=f");
        f.ok_with(&e.run("stat", &[func, "/sb2v/link"]), "size=16 type=f");
        f.ok_with(&e.run("stat", &[func, "/sb2v/abslink"]), "size=16 type=f");
        f.ok_with(&e.run("stat", &[func, "/sb2ro/file"]), "size=14 type=f");
        let l = e.run("stat", &[func, "/sb2v/dlink"]);
        if f.ok(&l) {
            f.check(l.payload.ends_with("type=d"), || {
                format!("expected a directory: {l}")
            });
        }
        f.errno(&e.run("stat", &[func, "/sb2v/missing"]), "ENOENT");
        f.errno(&e.run("stat", &[func, "/sb2v/file/x"]), "ENOTDIR");
    }
    for func in STAT_NOFOLLOW {
        f.ok_with(&e.run("stat", &[func, "/sb2v/file"]), "size=16 type=f");
        f.ok_with(&e.run("stat", &[func, "/sb2v/link"]), "size=4 type=l");
        f.ok_with(&e.run("stat", &[func, "/sb2v/abslink"]), "size=10 type=l");
        f.ok_with(
            &e.run("stat", &[func, "/sb2v/dlink/deep"]),
            "size=13 type=f",
        );
        f.errno(&e.run("stat", &[func, "/sb2v/missing"]), "ENOENT");
    }
    f.finish();
}

/// A symlink whose target is an absolute virtual path (meaningless on the
/// host) as an intermediate or final component.
#[test]
fn stat_open_all_through_absolute_virtual_dir_symlink() {
    let e = env("stat-avlink");
    symlink("/sb2v/sub", e.real.join("avdir")).expect("symlink");
    let mut f = Fails::default();
    for func in STAT_FOLLOW {
        f.ok_with(
            &e.run("stat", &[func, "/sb2v/avdir/deep"]),
            "size=13 type=f",
        );
        f.ok_with(&e.run("stat", &[func, "/sb2v/avdir/up"]), "size=16 type=f");
        let l = e.run("stat", &[func, "/sb2v/avdir"]);
        if f.ok(&l) {
            f.check(l.payload.ends_with("type=d"), || {
                format!("expected a directory: {l}")
            });
        }
    }
    for func in STAT_NOFOLLOW {
        f.ok_with(
            &e.run("stat", &[func, "/sb2v/avdir/deep"]),
            "size=13 type=f",
        );
        f.ok_with(&e.run("stat", &[func, "/sb2v/avdir"]), "size=9 type=l");
    }
    for func in STAT_AT {
        f.ok_with(
            &e.run("stat", &[func, "/sb2v/avdir/", "deep"]),
            "size=13 type=f",
        );
        f.ok_with(
            &e.run("stat", &[func, "/sb2v", "avdir/inner/leaf"]),
            "size=5 type=f",
        );
        f.ok_with(
            &e.run("stat", &[func, "/sb2v", "avdir", "n"]),
            "size=9 type=l",
        );
    }
    for func in OPEN_PATH.iter().chain(&OPEN_2).copied() {
        f.ok_with(&e.run("open", &[func, "/sb2v/avdir/deep"]), "deep content");
        f.ok_with(&e.run("open", &[func, "/sb2v/avdir/", "rd"]), "dir");
    }
    f.ok_with(
        &e.run("names", &["realpath", "/sb2v/avdir/inner/leaf"]),
        "/sb2v/sub/inner/leaf",
    );
    f.ok_with(
        &e.run("names", &["chdir", "/sb2v/avdir", "deep"]),
        "/sb2v/sub deep content",
    );
    f.ok_with(&e.run("dirs", &["opendir", "/sb2v/avdir"]), "deep,inner,up");
    f.ok_with(
        &e.run("dirs", &["glob", "/sb2v/avdir/*"]),
        "/sb2v/avdir/deep,/sb2v/avdir/inner,/sb2v/avdir/up",
    );
    f.finish();
}

#[test]
fn stat_at_all_dirfd_mapped() {
    let e = env("stat-at");
    let mut f = Fails::default();
    for func in STAT_AT {
        f.ok_with(
            &e.run("stat", &[func, "/sb2v/sub", "deep"]),
            "size=13 type=f",
        );
        f.ok_with(&e.run("stat", &[func, "/sb2v/sub", "up"]), "size=16 type=f");
        f.ok_with(
            &e.run("stat", &[func, "/sb2v/sub", "up", "n"]),
            "size=7 type=l",
        );
        f.ok_with(
            &e.run("stat", &[func, "/sb2v", "abslink"]),
            "size=16 type=f",
        );
        f.ok_with(
            &e.run("stat", &[func, "AT_FDCWD", "/sb2v/file"]),
            "size=16 type=f",
        );
        f.ok_with(
            &e.run("stat", &[func, "/sb2ro/sub", "deep"]),
            "size=14 type=f",
        );
        // AT_EMPTY_PATH with "": the dirfd itself (a mapped directory).
        let l = e.run("stat", &[func, "/sb2v/sub", "", "e"]);
        if f.ok(&l) {
            f.check(l.payload.ends_with("type=d"), || {
                format!("expected the directory itself: {l}")
            });
        }
        f.errno(&e.run("stat", &[func, "/sb2v/sub", "missing"]), "ENOENT");
        f.ok_with(
            &e.run("stat", &["-C", "/sb2v/sub", func, "AT_FDCWD", "deep"]),
            "size=13 type=f",
        );
    }
    f.finish();
}

#[test]
fn stat_fs_pathconf_mapped() {
    let e = env("stat-fs");
    let mut f = Fails::default();
    for func in STAT_FS {
        let l = e.run("stat", &[func, "/sb2v/file"]);
        let h = e.host_run("stat", &[func, &e.real.join("file").display().to_string()]);
        if f.ok(&l) {
            f.check(l.payload == h.payload, || {
                format!("expected the payload of the host call ({h}): {l}")
            });
        }
        f.ok(&e.run("stat", &[func, "/sb2v/sub/deep"]));
        f.errno(&e.run("stat", &[func, "/sb2v/missing"]), "ENOENT");
    }
    let l = e.run("stat", &["pathconf", "/sb2v/file"]);
    if f.ok(&l) {
        f.check(l.ret == "255", || format!("expected NAME_MAX 255: {l}"));
    }
    f.errno(&e.run("stat", &["pathconf", "/sb2v/missing"]), "ENOENT");
    f.finish();
}

#[test]
fn stat_relative_after_chdir_mapped() {
    let e = env("stat-rel");
    let mut f = Fails::default();
    for func in STAT_FOLLOW.iter().chain(&STAT_NOFOLLOW).copied() {
        f.ok_with(
            &e.run("stat", &["-C", "/sb2v/sub", func, "deep"]),
            "size=13 type=f",
        );
        f.ok_with(
            &e.run("stat", &["-C", "/sb2v/sub", func, "../file"]),
            "size=16 type=f",
        );
        f.errno(
            &e.run("stat", &["-C", "/sb2v/sub", func, "missing"]),
            "ENOENT",
        );
    }
    f.finish();
}

#[test]
fn stat_stat_statx_bad_input_efault_enametoolong() {
    let e = env("stat-bad");
    let mut f = Fails::default();
    for (arg, err) in BAD {
        f.errno(&e.run("stat", &["stat", arg]), err);
        f.errno(&e.run("stat", &["lstat", arg]), err);
        f.errno(&e.run("stat", &["statx", "AT_FDCWD", arg]), err);
        f.errno(&e.run("stat", &["statx", "/sb2v/sub", arg]), err);
    }
    f.finish();
}

// ---------------------------------------------------------------------------
// access family
// ---------------------------------------------------------------------------

#[test]
fn access_all_mapped_and_readonly_erofs() {
    let e = env("access");
    let before = snapshot(&e.ro);
    let mut f = Fails::default();
    for func in ["access", "euidaccess", "eaccess"] {
        f.ok(&e.run("access", &[func, "/sb2v/file", "f"]));
        f.ok(&e.run("access", &[func, "/sb2v/file", "rw"]));
        f.ok(&e.run("access", &[func, "/sb2v/link", "r"]));
        f.ok(&e.run("access", &["-C", "/sb2v/sub", func, "deep", "r"]));
        f.ok(&e.run("access", &[func, "/sb2ro/file", "r"]));
        f.errno(&e.run("access", &[func, "/sb2ro/file", "w"]), "EROFS");
        f.errno(&e.run("access", &[func, "/sb2v/missing"]), "ENOENT");
    }
    f.ok(&e.run("access", &["faccessat", "/sb2v/sub", "deep", "rw"]));
    f.ok(&e.run("access", &["faccessat", "/sb2v", "link", "f", "n"]));
    f.ok(&e.run("access", &["faccessat", "AT_FDCWD", "/sb2v/file", "r", "a"]));
    f.ok(&e.run("access", &["faccessat", "/sb2ro/sub", "deep", "r"]));
    f.errno(
        &e.run("access", &["faccessat", "/sb2ro/sub", "deep", "w"]),
        "EROFS",
    );
    f.errno(
        &e.run("access", &["faccessat", "/sb2v/sub", "missing"]),
        "ENOENT",
    );
    same_snapshot(&mut f, &before, &snapshot(&e.ro), "RODIR");
    f.finish();
}

// ---------------------------------------------------------------------------
// create and remove family
// ---------------------------------------------------------------------------

#[test]
fn create_all_mapped_effects_in_realdir() {
    let e = env("create");
    let r = &e.real;
    let s = r.join("sub");
    let mut f = Fails::default();

    let l = e.run("create", &["mkdir", "/sb2v/mk"]);
    if f.ok(&l) {
        f.fs(is_dir(&r.join("mk")), &l, "REALDIR/mk a directory");
    }
    let l = e.run("create", &["mkdirat", "/sb2v/sub", "mkat"]);
    if f.ok(&l) {
        f.fs(is_dir(&s.join("mkat")), &l, "REALDIR/sub/mkat a directory");
    }

    for (func, t) in [("mknod", "p"), ("__xmknod", "f")] {
        let l = e.run("create", &[func, &format!("/sb2v/nod-{func}"), t]);
        let made = if t == "p" {
            is_fifo(&r.join(format!("nod-{func}")))
        } else {
            is_file(&r.join(format!("nod-{func}")))
        };
        if f.ok(&l) {
            f.fs(made, &l, &format!("REALDIR/nod-{func}"));
        }
    }
    for (func, t) in [("mknodat", "f"), ("__xmknodat", "p")] {
        let l = e.run("create", &[func, "/sb2v/sub", &format!("nod-{func}"), t]);
        let made = if t == "p" {
            is_fifo(&s.join(format!("nod-{func}")))
        } else {
            is_file(&s.join(format!("nod-{func}")))
        };
        if f.ok(&l) {
            f.fs(made, &l, &format!("REALDIR/sub/nod-{func}"));
        }
    }
    let l = e.run("create", &["mkfifo", "/sb2v/fifo"]);
    if f.ok(&l) {
        f.fs(is_fifo(&r.join("fifo")), &l, "REALDIR/fifo a fifo");
    }
    let l = e.run("create", &["mkfifoat", "/sb2v/sub", "fifoat"]);
    if f.ok(&l) {
        f.fs(is_fifo(&s.join("fifoat")), &l, "REALDIR/sub/fifoat a fifo");
    }

    let l = e.run("create", &["symlink", "file", "/sb2v/sym"]);
    if f.ok(&l) {
        f.fs(
            fs::read_link(r.join("sym")).ok() == Some(PathBuf::from("file")),
            &l,
            "REALDIR/sym -> file",
        );
    }
    let l = e.run("create", &["symlinkat", "../file", "/sb2v/sub", "symat"]);
    if f.ok(&l) {
        f.fs(
            fs::read_link(s.join("symat")).ok() == Some(PathBuf::from("../file")),
            &l,
            "REALDIR/sub/symat -> ../file",
        );
    }

    let ino = |p: &Path| fs::symlink_metadata(p).map(|m| m.ino()).unwrap_or(0);
    let file_ino = ino(&r.join("file"));
    let l = e.run("create", &["link", "/sb2v/file", "/sb2v/hard"]);
    if f.ok(&l) {
        f.fs(
            ino(&r.join("hard")) == file_ino,
            &l,
            "REALDIR/hard a hard link of REALDIR/file",
        );
    }
    let l = e.run(
        "create",
        &["linkat", "/sb2v", "file", "/sb2v/sub", "hardat"],
    );
    if f.ok(&l) {
        f.fs(
            ino(&s.join("hardat")) == file_ino,
            &l,
            "REALDIR/sub/hardat a hard link of REALDIR/file",
        );
    }
    let l = e.run(
        "create",
        &["linkat", "/sb2v", "link", "/sb2v/sub", "hardf", "f"],
    );
    if f.ok(&l) {
        f.fs(
            ino(&s.join("hardf")) == file_ino,
            &l,
            "REALDIR/sub/hardf a hard link of REALDIR/file (link followed)",
        );
    }

    for func in ["truncate", "truncate64"] {
        fs::write(r.join(func), "abcdef").expect("write");
        let l = e.run("create", &[func, &format!("/sb2v/{func}"), "3"]);
        if f.ok(&l) {
            f.fs(
                read(&r.join(func)) == "abc",
                &l,
                &format!("REALDIR/{func} truncated to 3 bytes"),
            );
        }
    }

    for n in ["r1", "r2", "r3", "r4", "u1", "u2", "rm1"] {
        fs::write(r.join(n), n).expect("write");
    }
    for d in ["ud", "rd", "rm2"] {
        fs::create_dir(r.join(d)).expect("mkdir");
    }
    let l = e.run("create", &["rename", "/sb2v/r1", "/sb2v/sub/r1b"]);
    if f.ok(&l) {
        f.fs(
            !exists(&r.join("r1")) && read(&s.join("r1b")) == "r1",
            &l,
            "REALDIR/r1 moved to REALDIR/sub/r1b",
        );
    }
    let l = e.run("create", &["renameat", "/sb2v", "r2", "/sb2v/sub", "r2b"]);
    if f.ok(&l) {
        f.fs(
            !exists(&r.join("r2")) && read(&s.join("r2b")) == "r2",
            &l,
            "REALDIR/r2 moved to REALDIR/sub/r2b",
        );
    }
    let l = e.run(
        "create",
        &["renameat2", "/sb2v", "r3", "/sb2v/sub", "r3b", "n"],
    );
    if f.ok(&l) {
        f.fs(
            !exists(&r.join("r3")) && read(&s.join("r3b")) == "r3",
            &l,
            "REALDIR/r3 moved to REALDIR/sub/r3b",
        );
    }
    let l = e.run(
        "create",
        &["renameat2", "/sb2v", "r4", "/sb2v/sub", "deep", "n"],
    );
    if f.errno(&l, "EEXIST") {
        f.fs(
            read(&r.join("r4")) == "r4" && read(&s.join("deep")) == DEEP_TEXT,
            &l,
            "nothing renamed",
        );
    }

    let l = e.run("create", &["unlink", "/sb2v/u1"]);
    if f.ok(&l) {
        f.fs(!exists(&r.join("u1")), &l, "REALDIR/u1 removed");
    }
    let l = e.run("create", &["unlinkat", "/sb2v", "u2"]);
    if f.ok(&l) {
        f.fs(!exists(&r.join("u2")), &l, "REALDIR/u2 removed");
    }
    let l = e.run("create", &["unlinkat", "/sb2v", "ud", "r"]);
    if f.ok(&l) {
        f.fs(!exists(&r.join("ud")), &l, "REALDIR/ud removed");
    }
    let l = e.run("create", &["rmdir", "/sb2v/rd"]);
    if f.ok(&l) {
        f.fs(!exists(&r.join("rd")), &l, "REALDIR/rd removed");
    }
    let l = e.run("create", &["remove", "/sb2v/rm1"]);
    if f.ok(&l) {
        f.fs(!exists(&r.join("rm1")), &l, "REALDIR/rm1 removed");
    }
    let l = e.run("create", &["remove", "/sb2v/rm2"]);
    if f.ok(&l) {
        f.fs(!exists(&r.join("rm2")), &l, "REALDIR/rm2 removed");
    }

    // The link itself is removed, not its target.
    let l = e.run("create", &["unlink", "/sb2v/link"]);
    if f.ok(&l) {
        f.fs(
            !exists(&r.join("link")) && is_file(&r.join("file")),
            &l,
            "REALDIR/link removed, REALDIR/file kept",
        );
    }
    f.errno(&e.run("create", &["unlink", "/sb2v/missing"]), "ENOENT");
    f.errno(&e.run("create", &["mkdir", "/sb2v/sub"]), "EEXIST");
    f.finish();
}

#[test]
fn create_all_relative_after_chdir_mapped() {
    let e = env("create-rel");
    let s = e.real.join("sub");
    let mut f = Fails::default();
    let l = e.run("create", &["-C", "/sb2v/sub", "mkdir", "reldir"]);
    if f.ok(&l) {
        f.fs(
            is_dir(&s.join("reldir")),
            &l,
            "REALDIR/sub/reldir a directory",
        );
    }
    let l = e.run("create", &["-C", "/sb2v/sub", "mkfifo", "relfifo"]);
    if f.ok(&l) {
        f.fs(
            is_fifo(&s.join("relfifo")),
            &l,
            "REALDIR/sub/relfifo a fifo",
        );
    }
    let l = e.run("create", &["-C", "/sb2v/sub", "symlink", "deep", "rellink"]);
    if f.ok(&l) {
        f.fs(
            fs::read_link(s.join("rellink")).ok() == Some(PathBuf::from("deep")),
            &l,
            "REALDIR/sub/rellink -> deep",
        );
    }
    let l = e.run(
        "create",
        &["-C", "/sb2v/sub", "rename", "rellink", "../moved"],
    );
    if f.ok(&l) {
        f.fs(
            fs::read_link(e.real.join("moved")).is_ok(),
            &l,
            "REALDIR/moved",
        );
    }
    let l = e.run(
        "create",
        &["-C", "/sb2v/sub", "mkdirat", "AT_FDCWD", "reldir2"],
    );
    if f.ok(&l) {
        f.fs(
            is_dir(&s.join("reldir2")),
            &l,
            "REALDIR/sub/reldir2 a directory",
        );
    }
    let l = e.run("create", &["-C", "/sb2v/sub", "unlink", "deep"]);
    if f.ok(&l) {
        f.fs(!exists(&s.join("deep")), &l, "REALDIR/sub/deep removed");
    }
    f.finish();
}

#[test]
fn create_all_readonly_erofs_untouched() {
    let e = env("create-ro");
    fs::write(e.real.join("tomove"), "x").expect("write");
    let before = snapshot(&e.ro);
    let mut f = Fails::default();
    let cases: &[&[&str]] = &[
        &["mkdir", "/sb2ro/d"],
        &["mkdirat", "/sb2ro/sub", "d"],
        &["mkdirat", "/sb2v", "/sb2ro/d"],
        &["mknod", "/sb2ro/n", "p"],
        &["mknodat", "/sb2ro/sub", "n", "f"],
        &["__xmknod", "/sb2ro/n", "f"],
        &["__xmknodat", "/sb2ro/sub", "n", "p"],
        &["mkfifo", "/sb2ro/p"],
        &["mkfifoat", "/sb2ro/sub", "p"],
        &["unlink", "/sb2ro/file"],
        &["unlink", "/sb2ro/link"],
        &["unlinkat", "/sb2ro/sub", "deep"],
        &["unlinkat", "/sb2ro", "empty", "r"],
        &["rmdir", "/sb2ro/empty"],
        &["remove", "/sb2ro/file"],
        &["remove", "/sb2ro/empty"],
        &["rename", "/sb2ro/file", "/sb2ro/file2"],
        &["rename", "/sb2ro/file", "/sb2v/stolen"],
        &["rename", "/sb2v/tomove", "/sb2ro/moved"],
        &["renameat", "/sb2ro", "file", "/sb2ro/sub", "file2"],
        &["renameat2", "/sb2ro", "file", "/sb2ro/sub", "file2", "n"],
        &["link", "/sb2ro/file", "/sb2ro/hard"],
        &["linkat", "/sb2ro", "file", "/sb2ro/sub", "hard"],
        &["symlink", "file", "/sb2ro/sym"],
        &["symlinkat", "file", "/sb2ro/sub", "sym"],
        &["truncate", "/sb2ro/file", "1"],
        &["truncate64", "/sb2ro/file", "1"],
        &["truncate", "/sb2ro/link", "1"],
    ];
    for c in cases {
        f.errno(&e.run("create", c), "EROFS");
    }
    f.fs(
        read(&e.real.join("tomove")) == "x",
        &e.run("stat", &["stat", "/sb2v/tomove"]),
        "REALDIR/tomove kept",
    );
    same_snapshot(&mut f, &before, &snapshot(&e.ro), "RODIR");
    f.finish();
}

#[test]
fn create_mkdir_rename_bad_input_efault_enametoolong() {
    let e = env("create-bad");
    let mut f = Fails::default();
    for (arg, err) in BAD {
        f.errno(&e.run("create", &["mkdir", arg]), err);
        f.errno(&e.run("create", &["mkdirat", "/sb2v", arg]), err);
        f.errno(&e.run("create", &["rename", arg, "/sb2v/x"]), err);
        f.errno(&e.run("create", &["rename", "/sb2v/file", arg]), err);
        f.errno(&e.run("create", &["unlink", arg]), err);
    }
    f.fs(
        read(&e.real.join("file")) == FILE_TEXT,
        &e.run("stat", &["stat", "/sb2v/file"]),
        "REALDIR/file kept",
    );
    f.finish();
}

// ---------------------------------------------------------------------------
// links and names family
// ---------------------------------------------------------------------------

#[test]
fn names_readlink_all_mapped() {
    let e = env("readlink");
    let mut f = Fails::default();
    for func in ["readlink", "__readlink_chk"] {
        f.ok_with(&e.run("names", &[func, "/sb2v/link"]), "file");
        f.ok_with(&e.run("names", &[func, "/sb2v/abslink"]), "/sb2v/file");
        f.ok_with(&e.run("names", &[func, "/sb2v/dlink/up"]), "../file");
        f.ok_with(&e.run("names", &[func, "/sb2ro/link"]), "file");
        f.ok_with(&e.run("names", &["-C", "/sb2v/sub", func, "up"]), "../file");
        f.errno(&e.run("names", &[func, "/sb2v/file"]), "EINVAL");
        f.errno(&e.run("names", &[func, "/sb2v/missing"]), "ENOENT");
        // /proc/self/cwd shows the virtual cwd.
        f.ok_with(
            &e.run("names", &["-C", "/sb2v/sub", func, "/proc/self/cwd"]),
            "/sb2v/sub",
        );
    }
    for func in ["readlinkat", "__readlinkat_chk"] {
        f.ok_with(&e.run("names", &[func, "/sb2v/sub", "up"]), "../file");
        f.ok_with(&e.run("names", &[func, "/sb2v", "link"]), "file");
        f.ok_with(
            &e.run("names", &[func, "AT_FDCWD", "/sb2v/abslink"]),
            "/sb2v/file",
        );
        f.errno(&e.run("names", &[func, "/sb2v/sub", "deep"]), "EINVAL");
    }
    f.finish();
}

#[test]
fn names_realpath_all_virtual() {
    let e = env("realpath");
    let mut f = Fails::default();
    for func in ["realpath", "__realpath_chk", "canonicalize_file_name"] {
        f.ok_with(&e.run("names", &[func, "/sb2v/link"]), "/sb2v/file");
        f.ok_with(&e.run("names", &[func, "/sb2v/abslink"]), "/sb2v/file");
        f.ok_with(&e.run("names", &[func, "/sb2v/dlink/up"]), "/sb2v/file");
        f.ok_with(
            &e.run("names", &[func, "/sb2v/sub/../sub/./deep"]),
            "/sb2v/sub/deep",
        );
        f.ok_with(&e.run("names", &[func, "/sb2ro/link"]), "/sb2ro/file");
        f.ok_with(
            &e.run("names", &["-C", "/sb2v/sub", func, "deep"]),
            "/sb2v/sub/deep",
        );
        f.ok_with(
            &e.run("names", &["-C", "/sb2v/sub", func, "up"]),
            "/sb2v/file",
        );
        f.ok_with(
            &e.run("names", &["-C", "/sb2v/sub", func, "."]),
            "/sb2v/sub",
        );
        f.errno(&e.run("names", &[func, "/sb2v/missing"]), "ENOENT");
    }
    for func in ["realpath", "__realpath_chk"] {
        f.ok_with(
            &e.run("names", &[func, "/sb2v/link", "NULLBUF"]),
            "/sb2v/file",
        );
    }
    f.finish();
}

#[test]
fn names_getcwd_all_virtual_after_chdir() {
    let e = env("getcwd");
    let mut f = Fails::default();
    f.ok_with(&e.run("names", &["chdir", "/sb2v/sub"]), "/sb2v/sub");
    f.ok_with(&e.run("names", &["chdir", "/sb2v/dlink"]), "/sb2v/sub");
    f.ok_with(
        &e.run("names", &["-C", "/sb2v", "chdir", "sub/inner"]),
        "/sb2v/sub/inner",
    );
    f.ok_with(&e.run("names", &["chdir", "/sb2ro/sub"]), "/sb2ro/sub");
    // A relative name after the call is looked up in the new directory.
    f.ok_with(
        &e.run("names", &["chdir", "/sb2v/sub", "deep"]),
        "/sb2v/sub deep content",
    );
    f.ok_with(
        &e.run("names", &["-C", "/sb2v/sub", "chdir", "..", "file"]),
        "/sb2v hello from real",
    );
    f.ok_with(
        &e.run(
            "names",
            &["-C", "/sb2v/sub/inner", "chdir", "/sb2ro/sub", "deep"],
        ),
        "/sb2ro/sub readonly deep",
    );
    f.ok_with(
        &e.run("names", &["fchdir", "/sb2v/sub", "deep"]),
        "/sb2v/sub deep content",
    );
    f.ok_with(
        &e.run(
            "names",
            &["-C", "/sb2v", "fchdir", "/sb2v/sub/inner", "leaf"],
        ),
        "/sb2v/sub/inner leaf",
    );
    f.ok_with(
        &e.run("names", &["-C", "/sb2v/sub", "fchdir", "/sb2ro", "file"]),
        "/sb2ro readonly file",
    );
    f.ok_with(
        &e.run("names", &["fchdir", "/sb2v/dlink/", "up"]),
        "/sb2v/sub hello from real",
    );
    f.errno(&e.run("names", &["fchdir", "BADFD"]), "EBADF");
    f.errno(&e.run("names", &["chdir", "/sb2v/missing"]), "ENOENT");
    f.errno(&e.run("names", &["chdir", "/sb2v/file"]), "ENOTDIR");
    for func in ["getcwd", "__getcwd_chk", "getwd", "get_current_dir_name"] {
        f.ok_with(&e.run("names", &["-C", "/sb2v/sub", func]), "/sb2v/sub");
        f.ok_with(
            &e.run("names", &["-C", "/sb2v/sub/inner", func]),
            "/sb2v/sub/inner",
        );
        f.ok_with(&e.run("names", &["-C", "/sb2ro", func]), "/sb2ro");
    }
    f.ok_with(
        &e.run("names", &["-C", "/sb2v/sub", "getcwd", "NULL"]),
        "/sb2v/sub",
    );
    f.errno(
        &e.run("names", &["-C", "/sb2v/sub", "getcwd", "5"]),
        "ERANGE",
    );
    f.errno(
        &e.run("names", &["-C", "/sb2v/sub", "__getcwd_chk", "5"]),
        "ERANGE",
    );
    f.finish();
}

#[test]
fn names_readlink_realpath_chdir_bad_input_efault_enametoolong() {
    let e = env("names-bad");
    let mut f = Fails::default();
    for (arg, err) in BAD {
        f.errno(&e.run("names", &["readlink", arg]), err);
        f.errno(&e.run("names", &["readlinkat", "/sb2v", arg]), err);
        f.errno(&e.run("names", &["realpath", arg]), err);
        f.errno(&e.run("names", &["realpath", arg, "NULLBUF"]), err);
        f.errno(&e.run("names", &["canonicalize_file_name", arg]), err);
        f.errno(&e.run("names", &["chdir", arg]), err);
    }
    f.finish();
}

// ---------------------------------------------------------------------------
// owner, mode, times, extended attributes
// ---------------------------------------------------------------------------

#[test]
fn attr_mode_owner_all_mapped() {
    let e = env("attr-mode");
    let (r, s) = (&e.real, e.real.join("sub"));
    for n in ["a-chmod", "a-lchmod", "a-chown", "a-lchown-target"] {
        fs::write(r.join(n), n).expect("write");
    }
    fs::write(s.join("a-fchmodat"), "x").expect("write");
    fs::write(s.join("a-fchownat"), "x").expect("write");
    symlink("a-lchown-target", r.join("a-lchown")).expect("symlink");
    let mut f = Fails::default();
    let l = e.run("attr", &["chmod", "/sb2v/a-chmod", "600"]);
    if f.ok(&l) {
        f.fs(mode(&r.join("a-chmod")) == 0o600, &l, "mode 600");
    }
    let l = e.run("attr", &["chmod", "/sb2v/link", "640"]);
    if f.ok(&l) {
        f.fs(
            mode(&r.join("file")) == 0o640,
            &l,
            "REALDIR/file (the link's target) mode 640",
        );
    }
    let l = e.run("attr", &["lchmod", "/sb2v/a-lchmod", "604"]);
    if f.ok(&l) {
        f.fs(mode(&r.join("a-lchmod")) == 0o604, &l, "mode 604");
    }
    let l = e.run("attr", &["fchmodat", "/sb2v/sub", "a-fchmodat", "606"]);
    if f.ok(&l) {
        f.fs(mode(&s.join("a-fchmodat")) == 0o606, &l, "mode 606");
    }
    let l = e.run(
        "attr",
        &["-C", "/sb2v/sub", "fchmodat", "AT_FDCWD", "deep", "660"],
    );
    if f.ok(&l) {
        f.fs(
            mode(&s.join("deep")) == 0o660,
            &l,
            "REALDIR/sub/deep mode 660",
        );
    }

    // SAFETY: plain id queries.
    let (uid, gid) = unsafe { (libc::geteuid(), libc::getegid()) };
    // As root a real change is visible; otherwise the caller's own ids.
    let (u, g) = if uid == 0 {
        (1234u32, 4321u32)
    } else {
        (uid, gid)
    };
    let owner = |p: &Path| {
        fs::symlink_metadata(p)
            .map(|m| (m.uid(), m.gid()))
            .unwrap_or((u32::MAX, u32::MAX))
    };
    let (us, gs) = (u.to_string(), g.to_string());
    let l = e.run("attr", &["chown", "/sb2v/a-chown", &us, &gs]);
    if f.ok(&l) {
        f.fs(owner(&r.join("a-chown")) == (u, g), &l, "owner changed");
    }
    let l = e.run("attr", &["lchown", "/sb2v/a-lchown", &us, &gs]);
    if f.ok(&l) {
        f.fs(
            owner(&r.join("a-lchown")) == (u, g),
            &l,
            "the link's own owner changed",
        );
    }
    let l = e.run("attr", &["fchownat", "/sb2v/sub", "a-fchownat", &us, &gs]);
    if f.ok(&l) {
        f.fs(owner(&s.join("a-fchownat")) == (u, g), &l, "owner changed");
    }
    f.ok(&e.run("attr", &["chown", "/sb2v/file"]));
    f.errno(&e.run("attr", &["chmod", "/sb2v/missing", "600"]), "ENOENT");
    f.errno(&e.run("attr", &["chown", "/sb2v/missing"]), "ENOENT");
    f.finish();
}

#[test]
fn attr_times_all_mapped() {
    let e = env("attr-times");
    let (r, s) = (&e.real, e.real.join("sub"));
    for n in ["t-utime", "t-utimes", "t-target"] {
        fs::write(r.join(n), n).expect("write");
    }
    symlink("t-target", r.join("t-lutimes")).expect("symlink");
    symlink("t-target", r.join("t-utimensat-n")).expect("symlink");
    fs::write(s.join("t-futimesat"), "x").expect("write");
    fs::write(s.join("t-utimensat"), "x").expect("write");
    let mut f = Fails::default();
    let target_mtime = mtime(&r.join("t-target"));
    let cases: [(&[&str], PathBuf, i64); 6] = [
        (
            &["utime", "/sb2v/t-utime", "1000000001"],
            r.join("t-utime"),
            1000000001,
        ),
        (
            &["utimes", "/sb2v/t-utimes", "1000000002"],
            r.join("t-utimes"),
            1000000002,
        ),
        (
            &["lutimes", "/sb2v/t-lutimes", "1000000003"],
            r.join("t-lutimes"),
            1000000003,
        ),
        (
            &["futimesat", "/sb2v/sub", "t-futimesat", "1000000004"],
            s.join("t-futimesat"),
            1000000004,
        ),
        (
            &["utimensat", "/sb2v/sub", "t-utimensat", "1000000005"],
            s.join("t-utimensat"),
            1000000005,
        ),
        (
            &["utimensat", "/sb2v", "t-utimensat-n", "1000000006", "n"],
            r.join("t-utimensat-n"),
            1000000006,
        ),
    ];
    for (args, p, t) in cases {
        let l = e.run("attr", args);
        if f.ok(&l) {
            f.fs(
                mtime(&p) == t,
                &l,
                &format!("mtime of {} = {t} (is {})", p.display(), mtime(&p)),
            );
        }
    }
    let l = e.run("attr", &["utime", "/sb2v/sub/deep"]);
    f.ok(&l);
    let l = e.run("attr", &["-C", "/sb2v/sub", "utimes", "deep", "1000000007"]);
    if f.ok(&l) {
        f.fs(
            mtime(&s.join("deep")) == 1000000007,
            &l,
            "mtime of REALDIR/sub/deep",
        );
    }
    f.fs(
        mtime(&r.join("t-target")) == target_mtime,
        &e.run("stat", &["stat", "/sb2v/t-target"]),
        "the symlinks' target untouched",
    );
    for args in [
        &["utime", "/sb2v/missing"][..],
        &["utimes", "/sb2v/missing"],
        &["lutimes", "/sb2v/missing"],
        &["utimensat", "/sb2v", "missing"],
        &["futimesat", "/sb2v", "missing"],
    ] {
        f.errno(&e.run("attr", args), "ENOENT");
    }
    f.finish();
}

#[test]
fn attr_xattr_all_mapped() {
    let e = env("attr-xattr");
    fs::write(e.real.join("x"), "x").expect("write");
    let host = e.real.join("x").display().to_string();
    let mut f = Fails::default();
    f.ok(&e.run("attr", &["setxattr", "/sb2v/x", "user.one", "v1"]));
    f.ok(&e.run("attr", &["lsetxattr", "/sb2v/x", "user.two", "v2"]));
    f.ok_with(
        &e.host_run("attr", &["listxattr", &host]),
        "user.one,user.two",
    );
    f.ok_with(&e.run("attr", &["getxattr", "/sb2v/x", "user.one"]), "v1");
    f.ok_with(&e.run("attr", &["lgetxattr", "/sb2v/x", "user.two"]), "v2");
    f.ok_with(
        &e.run("attr", &["-C", "/sb2v", "getxattr", "x", "user.two"]),
        "v2",
    );
    f.ok_with(
        &e.run("attr", &["listxattr", "/sb2v/x"]),
        "user.one,user.two",
    );
    f.ok_with(
        &e.run("attr", &["llistxattr", "/sb2v/x"]),
        "user.one,user.two",
    );
    f.ok(&e.run("attr", &["removexattr", "/sb2v/x", "user.one"]));
    f.ok(&e.run("attr", &["lremovexattr", "/sb2v/x", "user.two"]));
    f.ok_with(&e.host_run("attr", &["listxattr", &host]), "<empty>");
    f.errno(
        &e.run("attr", &["getxattr", "/sb2v/x", "user.one"]),
        "ENODATA",
    );
    for func in ["getxattr", "lgetxattr", "removexattr", "lremovexattr"] {
        f.errno(
            &e.run("attr", &[func, "/sb2v/missing", "user.one"]),
            "ENOENT",
        );
    }
    for func in ["listxattr", "llistxattr"] {
        f.errno(&e.run("attr", &[func, "/sb2v/missing"]), "ENOENT");
    }
    f.finish();
}

#[test]
fn attr_all_readonly_erofs_untouched() {
    let e = env("attr-ro");
    let before = snapshot(&e.ro);
    let mut f = Fails::default();
    let cases: &[&[&str]] = &[
        &["chmod", "/sb2ro/file", "600"],
        &["lchmod", "/sb2ro/file", "600"],
        &["fchmodat", "/sb2ro/sub", "deep", "600"],
        &["chown", "/sb2ro/file"],
        &["lchown", "/sb2ro/link"],
        &["fchownat", "/sb2ro/sub", "deep"],
        &["utime", "/sb2ro/file", "1000000000"],
        &["utimes", "/sb2ro/file", "1000000000"],
        &["lutimes", "/sb2ro/link", "1000000000"],
        &["futimesat", "/sb2ro/sub", "deep", "1000000000"],
        &["utimensat", "/sb2ro/sub", "deep", "1000000000"],
        &["utimensat", "/sb2ro", "link", "1000000000", "n"],
        &["setxattr", "/sb2ro/file", "user.a", "b"],
        &["lsetxattr", "/sb2ro/file", "user.a", "b"],
        &["removexattr", "/sb2ro/file", "user.a"],
        &["lremovexattr", "/sb2ro/file", "user.a"],
    ];
    for c in cases {
        f.errno(&e.run("attr", c), "EROFS");
    }
    // Reading attributes of read-only paths is fine.
    f.ok_with(&e.run("attr", &["listxattr", "/sb2ro/file"]), "<empty>");
    f.ok_with(&e.run("attr", &["llistxattr", "/sb2ro/file"]), "<empty>");
    f.errno(
        &e.run("attr", &["getxattr", "/sb2ro/file", "user.a"]),
        "ENODATA",
    );
    f.errno(
        &e.run("attr", &["lgetxattr", "/sb2ro/file", "user.a"]),
        "ENODATA",
    );
    same_snapshot(&mut f, &before, &snapshot(&e.ro), "RODIR");
    f.finish();
}

// ---------------------------------------------------------------------------
// temporary files
// ---------------------------------------------------------------------------

const MKSTEMP: [&str; 4] = ["mkstemp", "mkstemp64", "mkostemp", "mkostemp64"];
const MKSTEMPS: [&str; 4] = ["mkstemps", "mkstemps64", "mkostemps", "mkostemps64"];

/// The template after the call: same shape, X's replaced, virtual prefix.
fn filled(f: &mut Fails, l: &Line, prefix: &str, suffix: &str) -> Option<String> {
    let p = &l.payload;
    let good = p.len() == prefix.len() + 6 + suffix.len()
        && p.starts_with(prefix)
        && p.ends_with(suffix)
        && !p.contains("XXXXXX");
    f.check(good, || {
        format!("expected a filled template {prefix}XXXXXX{suffix}: {l}")
    })
    .then(|| p.clone())
}

#[test]
fn tmp_mkstemp_all_virtual_template_file_in_realdir() {
    let e = env("mkstemp");
    let mut f = Fails::default();
    for (func, suffix, extra) in MKSTEMP
        .iter()
        .map(|x| (*x, "", None))
        .chain(MKSTEMPS.iter().map(|x| (*x, ".c", Some("2"))))
    {
        let t = format!("/sb2v/t{func}-XXXXXX{suffix}");
        let mut args = vec![func, t.as_str()];
        args.extend(extra);
        let l = e.run("tmp", &args);
        if f.ok(&l) {
            if let Some(v) = filled(&mut f, &l, &format!("/sb2v/t{func}-"), suffix) {
                let real = e.real.join(v.trim_start_matches("/sb2v/"));
                f.fs(
                    read(&real) == "probe\n",
                    &l,
                    &format!("{} created and written", real.display()),
                );
            }
        }
        // Relative template after chdir into a mapped directory.
        let t = format!("rel{func}-XXXXXX{suffix}");
        let mut args = vec!["-C", "/sb2v/sub", func, t.as_str()];
        args.extend(extra);
        let l = e.run("tmp", &args);
        if f.ok(&l) {
            if let Some(v) = filled(&mut f, &l, &format!("rel{func}-"), suffix) {
                f.fs(
                    read(&e.real.join("sub").join(&v)) == "probe\n",
                    &l,
                    &format!("REALDIR/sub/{v} created"),
                );
            }
        }
        f.errno(&e.run("tmp", &[func, "/sb2v/missingdir/tXXXXXX"]), "ENOENT");
    }
    let l = e.run("tmp", &["mkdtemp", "/sb2v/dXXXXXX"]);
    if f.ok(&l) {
        if let Some(v) = filled(&mut f, &l, "/sb2v/d", "") {
            f.fs(
                is_dir(&e.real.join(v.trim_start_matches("/sb2v/"))),
                &l,
                "the directory in REALDIR",
            );
        }
    }
    let l = e.run("tmp", &["mktemp", "/sb2v/mXXXXXX"]);
    if f.ok(&l) {
        if let Some(v) = filled(&mut f, &l, "/sb2v/m", "") {
            f.fs(
                !exists(&e.real.join(v.trim_start_matches("/sb2v/"))),
                &l,
                "nothing created by mktemp",
            );
        }
    }
    f.finish();
}

#[test]
fn tmp_all_readonly_erofs_untouched() {
    let e = env("mkstemp-ro");
    let before = snapshot(&e.ro);
    let mut f = Fails::default();
    for func in MKSTEMP {
        f.errno(&e.run("tmp", &[func, "/sb2ro/tXXXXXX"]), "EROFS");
    }
    for func in MKSTEMPS {
        f.errno(&e.run("tmp", &[func, "/sb2ro/tXXXXXX.c", "2"]), "EROFS");
    }
    f.errno(&e.run("tmp", &["mkdtemp", "/sb2ro/dXXXXXX"]), "EROFS");
    f.errno(&e.run("tmp", &["mkstemp", "/sb2ro/sub/tXXXXXX"]), "EROFS");
    same_snapshot(&mut f, &before, &snapshot(&e.ro), "RODIR");
    f.finish();
}

#[test]
fn tmp_tmpnam_tempnam_names_in_the_virtual_view() {
    let e = env("tmpnam");
    let mut f = Fails::default();
    for args in [&["tmpnam"][..], &["tmpnam", "BUF"]] {
        let l = e.run("tmp", args);
        if f.ok(&l) {
            f.check(
                l.payload.starts_with("/tmp/") && l.payload.len() > 5,
                || format!("expected a name in /tmp: {l}"),
            );
        }
    }
    let l = e.run("tmp", &["tempnam", "NULL", "pf"]);
    if f.ok(&l) {
        f.check(l.payload.starts_with("/tmp/pf"), || {
            format!("expected /tmp/pf...: {l}")
        });
    }
    // A directory that exists only in the virtual view must be used.
    let l = e.run("tmp", &["tempnam", "/sb2v/sub", "pf"]);
    if f.ok(&l) {
        f.check(l.payload.starts_with("/sb2v/sub/pf"), || {
            format!("expected a name in /sb2v/sub: {l}")
        });
    }
    f.finish();
}

// ---------------------------------------------------------------------------
// directories and tree walks
// ---------------------------------------------------------------------------

const SUB_TREE: &str = "/sb2v/sub,/sb2v/sub/deep,/sb2v/sub/inner,/sb2v/sub/inner/leaf,/sb2v/sub/up";

#[test]
fn dirs_opendir_scandir_all_mapped() {
    let e = env("opendir");
    let mut f = Fails::default();
    for func in ["opendir", "scandir", "scandir64"] {
        f.ok_with(&e.run("dirs", &[func, "/sb2v/sub"]), "deep,inner,up");
        f.ok_with(&e.run("dirs", &[func, "/sb2v/dlink"]), "deep,inner,up");
        f.ok_with(
            &e.run("dirs", &[func, "/sb2v"]),
            "abslink,dlink,file,link,sub",
        );
        f.ok_with(&e.run("dirs", &[func, "/sb2ro"]), "empty,file,link,sub");
        f.ok_with(
            &e.run("dirs", &["-C", "/sb2v", func, "sub"]),
            "deep,inner,up",
        );
        f.errno(&e.run("dirs", &[func, "/sb2v/missing"]), "ENOENT");
        f.errno(&e.run("dirs", &[func, "/sb2v/file"]), "ENOTDIR");
    }
    for func in ["scandirat", "scandirat64"] {
        // The dirfd is itself a mapped directory; the name is relative to it.
        f.ok_with(&e.run("dirs", &[func, "/sb2v", "sub"]), "deep,inner,up");
        f.ok_with(
            &e.run("dirs", &[func, "/sb2v", "/sb2v/sub"]),
            "deep,inner,up",
        );
        f.errno(&e.run("dirs", &[func, "/sb2v", "missing"]), "ENOENT");
    }
    f.finish();
}

#[test]
fn dirs_ftw_nftw_all_callbacks_see_virtual_paths() {
    let e = env("ftw");
    let mut f = Fails::default();
    for func in ["ftw", "ftw64"] {
        f.ok_with(&e.run("dirs", &[func, "/sb2v/sub"]), SUB_TREE);
        f.ok_with(&e.run("dirs", &[func, "/sb2v/sub/"]), SUB_TREE);
        f.ok_with(
            &e.run("dirs", &[func, "/sb2v/dlink"]),
            "/sb2v/dlink,/sb2v/dlink/deep,/sb2v/dlink/inner,/sb2v/dlink/inner/leaf,/sb2v/dlink/up",
        );
        f.ok_with(
            &e.run("dirs", &["-C", "/sb2v", func, "sub"]),
            "sub,sub/deep,sub/inner,sub/inner/leaf,sub/up",
        );
        f.errno(&e.run("dirs", &[func, "/sb2v/missing"]), "ENOENT");
    }
    for func in ["nftw", "nftw64"] {
        // "c" (FTW_CHDIR): the callback also checks getcwd() and the base name.
        for flags in ["p", "pd", "pc", "0", "c"] {
            f.ok_with(&e.run("dirs", &[func, "/sb2v/sub", flags]), SUB_TREE);
        }
        f.ok_with(
            &e.run("dirs", &[func, "/sb2v/sub/inner", "pc"]),
            "/sb2v/sub/inner,/sb2v/sub/inner/leaf",
        );
        // glibc strips the start path's trailing slashes.
        f.ok_with(&e.run("dirs", &[func, "/sb2v/sub/"]), SUB_TREE);
        // A symlink as start path: FTW_PHYS reports the link itself (as
        // glibc does on the host), without FTW_PHYS the walk follows it.
        f.ok_with(&e.run("dirs", &[func, "/sb2v/dlink", "p"]), "/sb2v/dlink");
        f.ok_with(
            &e.run("dirs", &[func, "/sb2v/dlink", "0"]),
            "/sb2v/dlink,/sb2v/dlink/deep,/sb2v/dlink/inner,/sb2v/dlink/inner/leaf,/sb2v/dlink/up",
        );
        f.ok_with(
            &e.run("dirs", &["-C", "/sb2v", func, "sub"]),
            "sub,sub/deep,sub/inner,sub/inner/leaf,sub/up",
        );
        f.errno(&e.run("dirs", &[func, "/sb2v/missing"]), "ENOENT");
    }
    f.finish();
}

#[test]
fn dirs_fts_open_all_mapped() {
    let e = env("fts");
    let mut f = Fails::default();
    for func in ["fts_open", "fts64_open"] {
        let l = e.run("dirs", &[func, "/sb2v/sub"]);
        if f.ok(&l) {
            f.check(
                l.payload.ends_with(" names=deep,inner,leaf,sub,up") && !l.payload.contains('!'),
                || format!("expected the entries of REALDIR/sub: {l}"),
            );
        }
        let l = e.run("dirs", &[func, "/sb2v/sub/inner", "/sb2v/file"]);
        if f.ok(&l) {
            f.check(
                l.payload.ends_with(" names=file,inner,leaf") && !l.payload.contains('!'),
                || format!("expected the entries of both: {l}"),
            );
        }
        let l = e.run("dirs", &["-C", "/sb2v", func, "sub"]);
        if f.ok(&l) {
            f.check(
                l.payload.ends_with(" names=deep,inner,leaf,sub,up") && !l.payload.contains('!'),
                || format!("expected the entries of REALDIR/sub: {l}"),
            );
        }
        // Without FTS_NOCHDIR: fts_accpath must stay usable and getcwd right.
        let l = e.run("dirs", &[func, "CHDIR", "/sb2v/sub"]);
        if f.ok(&l) {
            f.check(
                l.payload.ends_with(" names=deep,inner,leaf,sub,up") && !l.payload.contains('!'),
                || format!("expected the entries of REALDIR/sub: {l}"),
            );
        }
    }
    f.finish();
}

#[test]
fn dirs_glob_all_virtual_paths() {
    let e = env("glob");
    let mut f = Fails::default();
    for func in ["glob", "glob64"] {
        f.ok_with(
            &e.run("dirs", &[func, "/sb2v/*"]),
            "/sb2v/abslink,/sb2v/dlink,/sb2v/file,/sb2v/link,/sb2v/sub",
        );
        f.ok_with(
            &e.run("dirs", &[func, "/sb2v/s*/[di]*"]),
            "/sb2v/sub/deep,/sb2v/sub/inner",
        );
        f.ok_with(
            &e.run("dirs", &[func, "/sb2v/*/inner/l*"]),
            "/sb2v/dlink/inner/leaf,/sb2v/sub/inner/leaf",
        );
        f.ok_with(
            &e.run("dirs", &[func, "/sb2ro/*"]),
            "/sb2ro/empty,/sb2ro/file,/sb2ro/link,/sb2ro/sub",
        );
        f.ok_with(
            &e.run("dirs", &["-C", "/sb2v", func, "sub/*"]),
            "sub/deep,sub/inner,sub/up",
        );
        f.ok_with(&e.run("dirs", &[func, "/sb2v/file"]), "/sb2v/file");
        let l = e.run("dirs", &[func, "/sb2v/nothing*"]);
        f.check(l.payload == "GLOB_NOMATCH", || {
            format!("expected GLOB_NOMATCH: {l}")
        });
    }
    f.finish();
}

#[test]
fn dirs_opendir_bad_input_efault_enametoolong() {
    let e = env("opendir-bad");
    let mut f = Fails::default();
    for (arg, err) in BAD {
        f.errno(&e.run("dirs", &["opendir", arg]), err);
        f.errno(&e.run("dirs", &["scandir", arg]), err);
        f.errno(&e.run("dirs", &["nftw", arg]), err);
    }
    f.finish();
}

// ---------------------------------------------------------------------------
// misc: dlopen, inotify, file handles, sockets
// ---------------------------------------------------------------------------

#[test]
fn misc_dlopen_dlmopen_mapped() {
    let e = env("dlopen");
    let src = e.w.dir.join("lib.c");
    fs::write(&src, "int sb2_probe_sym(void) { return 7; }\n").expect("write");
    let o = Command::new("gcc")
        .args(["-shared", "-fPIC", "-o"])
        .arg(e.real.join("libp.so"))
        .arg(&src)
        .output()
        .expect("gcc");
    assert!(o.status.success(), "gcc:\n{}", text(&o));
    let mut f = Fails::default();
    for func in ["dlopen", "dlmopen"] {
        f.ok_with(
            &e.run("misc", &[func, "/sb2v/libp.so", "sb2_probe_sym"]),
            "sym=yes",
        );
        f.ok_with(
            &e.run("misc", &["-C", "/sb2v", func, "./libp.so", "sb2_probe_sym"]),
            "sym=yes",
        );
        f.ok_with(
            &e.run("misc", &[func, "/sb2v/libp.so", "no_such_symbol"]),
            "sym=no",
        );
        // A name without '/' is the loader's own search: not a path.
        f.ok(&e.run("misc", &[func, "libm.so.6", "cos"]));
        let l = e.run("misc", &[func, "/sb2v/missing.so", "x"]);
        f.check(l.ret == "NULL", || format!("expected a failure: {l}"));
    }
    f.finish();
}

#[test]
fn misc_inotify_name_to_handle_at_mapped() {
    let e = env("inotify");
    let mut f = Fails::default();
    f.ok(&e.run("misc", &["inotify_add_watch", "/sb2v/file"]));
    f.ok(&e.run("misc", &["inotify_add_watch", "/sb2v/sub"]));
    f.ok(&e.run("misc", &["-C", "/sb2v", "inotify_add_watch", "sub/deep"]));
    f.errno(
        &e.run("misc", &["inotify_add_watch", "/sb2v/missing"]),
        "ENOENT",
    );
    let host_sub = e.real.join("sub").display().to_string();
    let h = e.host_run("misc", &["name_to_handle_at", &host_sub, "deep"]);
    f.ok(&h);
    f.ok_with(
        &e.run("misc", &["name_to_handle_at", "/sb2v/sub", "deep"]),
        &h.payload,
    );
    f.ok_with(
        &e.run("misc", &["name_to_handle_at", "AT_FDCWD", "/sb2v/sub/deep"]),
        &h.payload,
    );
    f.ok_with(
        &e.run("misc", &["name_to_handle_at", "/sb2v", "sub/deep"]),
        &h.payload,
    );
    let hf = e.host_run(
        "misc",
        &["name_to_handle_at", &e.real.display().to_string(), "file"],
    );
    f.ok_with(
        &e.run("misc", &["name_to_handle_at", "/sb2v", "link", "f"]),
        &hf.payload,
    );
    f.errno(
        &e.run("misc", &["name_to_handle_at", "/sb2v/sub", "missing"]),
        "ENOENT",
    );
    f.finish();
}

#[test]
fn misc_bind_connect_unix_socket_mapped() {
    let e = env("sock");
    let mut f = Fails::default();
    let is_sock = |p: &Path| {
        fs::symlink_metadata(p)
            .map(|m| m.file_type().is_socket())
            .unwrap_or(false)
    };
    let l = e.run("misc", &["bind", "/sb2v/sock"]);
    if f.ok_with(&l, "bound") {
        f.fs(is_sock(&e.real.join("sock")), &l, "REALDIR/sock a socket");
    }
    let l = e.run("misc", &["-C", "/sb2v/sub", "bind", "relsock"]);
    if f.ok_with(&l, "bound") {
        f.fs(
            is_sock(&e.real.join("sub/relsock")),
            &l,
            "REALDIR/sub/relsock a socket",
        );
    }
    let l = e.run("misc", &["connect", "/sb2v/sock2"]);
    if f.ok_with(&l, "connected") {
        f.fs(is_sock(&e.real.join("sock2")), &l, "REALDIR/sock2 a socket");
    }
    // The listener bound at the host path: connect alone must map.
    let host = e.real.join("sock3").display().to_string();
    f.ok_with(
        &e.run("misc", &["connect", "/sb2v/sock3", &host]),
        "connected",
    );
    f.errno(&e.run("misc", &["bind", "/sb2v/sock"]), "EADDRINUSE");
    f.errno(&e.run("misc", &["bind", "/sb2v/missing/sock"]), "ENOENT");
    // A datagram addressed by path: the receiver bound the host path,
    // sendto names it virtually.
    let host = e.real.join("dgram").display().to_string();
    f.ok_with(
        &e.run("misc", &["sendto", "/sb2v/dgram", &host]),
        "received",
    );
    f.finish();
}

#[test]
fn misc_bind_readonly_erofs_untouched() {
    let e = env("sock-ro");
    let before = snapshot(&e.ro);
    let mut f = Fails::default();
    f.errno(&e.run("misc", &["bind", "/sb2ro/sock"]), "EROFS");
    f.errno(&e.run("misc", &["bind", "/sb2ro/sub/sock"]), "EROFS");
    same_snapshot(&mut f, &before, &snapshot(&e.ro), "RODIR");
    f.finish();
}

// ---------------------------------------------------------------------------
// memory: the preload's cache of readable pages
// ---------------------------------------------------------------------------

#[test]
fn mem_munmap_mprotect_mremap_then_path_efault() {
    let e = env("mem");
    let mut f = Fails::default();
    f.ok_with(
        &e.run("mem", &["munmap", "/sb2v/file"]),
        "before=ok after=EFAULT",
    );
    f.ok_with(
        &e.run("mem", &["mprotect", "/sb2v/file"]),
        "before=ok after=EFAULT",
    );
    f.ok_with(
        &e.run("mem", &["mremap", "/sb2v/file"]),
        "before=ok after=EFAULT moved=ok",
    );
    f.finish();
}

// ---------------------------------------------------------------------------
// threads, fork, vfork
// ---------------------------------------------------------------------------

#[test]
fn threads_all_modes_mapped() {
    let e = env("threads");
    let mut f = Fails::default();
    let l = e.run(
        "threads",
        &["threads", "/sb2v/file", "16", "/sb2v/link", "file"],
    );
    f.ok_with(&l, "calls=64000 bad=0");
    let l = e.run("threads", &["fork", "/sb2v/file", "16"]);
    f.ok_with(&l, "child=0 parent_bad=0");
    let (cmd, lines, out) = e.lines_os("threads", &[os("vfork"), os("/sb2v/file"), os("16")]);
    f.check(
        lines
            == [
                "vfork ret=0 errno=0 child=0",
                "vfork_execve ret=0 errno=0 child=0",
            ],
        || format!("`{cmd}` printed:\n{out}"),
    );
    f.finish();
}

// ---------------------------------------------------------------------------
// coverage
// ---------------------------------------------------------------------------

#[test]
fn hook_table_every_row_has_a_probe() {
    let w = World::new("probes-coverage");
    let o = w
        .cmd(bin_dir().join("sb2-show"))
        .arg("hooks")
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

    let dir = repo().join("tests/probes");
    let mut probed = BTreeSet::new();
    for ent in fs::read_dir(&dir).expect("tests/probes") {
        let p = ent.expect("entry").path();
        if p.extension() != Some(OsStr::new("c")) {
            continue;
        }
        let src = fs::read_to_string(&p).expect("read probe");
        for part in src.split("CASE(\"").skip(1) {
            if let Some(end) = part.find("\")") {
                probed.insert(part[..end].to_owned());
            }
        }
    }
    let exempt_text = fs::read_to_string(dir.join("EXEMPT")).expect("tests/probes/EXEMPT");
    let mut exempt = BTreeSet::new();
    let mut bad_exempt = Vec::new();
    for l in exempt_text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
    {
        match l.split_once(':') {
            Some((name, reason)) if !reason.trim().is_empty() => {
                exempt.insert(name.trim().to_owned());
            }
            _ => bad_exempt.push(l.to_owned()),
        }
    }
    assert!(
        bad_exempt.is_empty(),
        "tests/probes/EXEMPT lines must be `name: reason`: {bad_exempt:?}"
    );
    let missing: Vec<&String> = hooked
        .iter()
        .filter(|h| !probed.contains(*h) && !exempt.contains(*h))
        .collect();
    assert!(
        missing.is_empty(),
        "{} hooked function(s) have no CASE(\"name\") in tests/probes/*.c and no line in tests/probes/EXEMPT:\n  {}",
        missing.len(),
        missing.iter().map(|s| s.as_str()).collect::<Vec<_>>().join("\n  ")
    );
    let stale: Vec<&String> = exempt.iter().filter(|x| !hooked.contains(x)).collect();
    assert!(
        stale.is_empty(),
        "tests/probes/EXEMPT names functions that are not hooked: {stale:?}"
    );
}
