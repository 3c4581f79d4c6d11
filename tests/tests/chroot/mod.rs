//! chroot() simulated in a session: inside sb2, chroot never reaches the
//! kernel, yet every path resolves as the kernel resolves it in a real
//! chroot. The tests are differential: the same probe program or command
//! line runs once in a REAL chroot (the oracle: `unshare -rm`, a user
//! namespace in which an unprivileged user may chroot, with the host's
//! /proc, /dev and /sys bound into the root as the session shows them) and
//! once in an sb2 session, and the two outputs must be identical. Each
//! side gets its own fresh copy of the tree, so what one writes cannot
//! change what the other reads.
//!
//! The tree (`Tree`), made of host programs like fakechroot's
//! test/testtree.sh:
//!
//! ```text
//! OUTER/MARK              "outer"
//! OUTER/new/              NEW, the root: sh (dash), cat, ls, readlink, env,
//!                         id, ... and their libraries (ldd), etc/passwd
//!                         naming uid 0 `toor` and the caller `chrootuser`
//! NEW/MARK "inside"       NEW/abslink -> /      NEW/rellink -> ../../..
//! NEW/absout -> /MARK     NEW/sub/MARK "sub"    NEW/sublink -> /sub
//! NEW/afile               NEW/loop -> loop      NEW/{proc,dev,sys}/
//! ```
//!
//! `debian` runs real Debian roots (scripts/make-debian-root; their
//! tarballs are named by SB2_TEST_BOOKWORM_ROOT and SB2_TEST_TRIXIE_ROOT).

use sb2_tests::{bin_dir, require, text, World};
use std::ffi::OsStr;
use std::fs;
use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

mod commands;
mod debian;
mod probe;
mod session;

use sb2_tests::setup_sh as sh_ok;

/// The programs the small root has (from the host, with their libraries).
const PROGRAMS: &[&str] = &[
    "dash", "cat", "ls", "readlink", "realpath", "env", "id", "touch", "stat", "chown", "ln",
    "mkdir", "rm", "rmdir", "mv", "echo", "true", "false", "pwd", "test", "chroot", "head", "tr",
];

/// The small root's template: host programs and their libraries at the
/// host's paths (bin/ and lib/ real directories; usr/bin -> ../bin), sh is
/// dash, etc/passwd names uid 0 `toor` and the caller's uid `chrootuser`
/// (so a name that comes from the host's /etc/passwd shows). Built once per
/// run and copied by each test.
fn mini_root() -> &'static Path {
    static ROOT: OnceLock<PathBuf> = OnceLock::new();
    ROOT.get_or_init(|| {
        require("ldd");
        let r = std::env::temp_dir().join(format!("sb2-test-{}-chroot-mini", std::process::id()));
        let _ = fs::remove_dir_all(&r);
        fs::create_dir_all(&r).expect("mkdir mini root");
        let (uid, gid) = unsafe { (libc::getuid(), libc::getgid()) };
        sh_ok(&format!(
            "set -e; cd '{d}'; mkdir -p bin etc usr
             ln -s ../bin usr/bin
             for p in {progs}; do
               f=/usr/bin/$p; [ -e $f ] || f=/bin/$p; [ -e $f ] || f=/usr/sbin/$p
               cp -L $f bin/$p
               for l in $(ldd $f | grep -o '/[^ ]*'); do
                 mkdir -p .$(dirname $l); [ -e .$l ] || cp -L $l .$l
               done
             done
             ln -s dash bin/sh
             printf 'toor:x:0:0:root in the root:/:/bin/sh\\nchrootuser:x:{uid}:{gid}::/:/bin/sh\\n' > etc/passwd
             printf 'toorgrp:x:0:\\nchrootgrp:x:{gid}:\\n' > etc/group
             printf 'passwd: files\\ngroup: files\\n' > etc/nsswitch.conf",
            d = r.display(),
            progs = PROGRAMS.join(" "),
        ));
        r
    })
}

/// A copy of the tree: OUTER and NEW (`outer/new`) in `parent`.
pub struct Tree {
    pub outer: PathBuf,
    pub new: PathBuf,
}

impl Tree {
    pub fn new(parent: &Path) -> Tree {
        let outer = parent.join("outer");
        let new = outer.join("new");
        fs::create_dir_all(&outer).expect("mkdir outer");
        sh_ok(&format!(
            "cp -a '{}' '{}'",
            mini_root().display(),
            new.display()
        ));
        for d in ["sub", "proc", "dev", "sys"] {
            fs::create_dir_all(new.join(d)).expect("mkdir");
        }
        fs::write(outer.join("MARK"), "outer\n").expect("write");
        fs::write(new.join("MARK"), "inside\n").expect("write");
        fs::write(new.join("sub/MARK"), "sub\n").expect("write");
        fs::write(new.join("afile"), "").expect("write");
        for (target, name) in [
            ("/", "abslink"),
            ("../../..", "rellink"),
            ("/MARK", "absout"),
            ("/sub", "sublink"),
            ("loop", "loop"),
        ] {
            symlink(target, new.join(name)).expect("symlink");
        }
        Tree { outer, new }
    }
}

/// A world with two copies of the tree: `oracle/outer` for the real chroot
/// and `sb2/outer` for the session.
pub struct Pair {
    pub w: World,
    pub real: Tree,
    pub sim: Tree,
}

impl Pair {
    pub fn new(name: &str) -> Pair {
        let w = World::new(&format!("chroot-{name}"));
        let real = Tree::new(&w.dir.join("oracle"));
        let sim = Tree::new(&w.dir.join("sb2"));
        Pair { w, real, sim }
    }
}

/// `argv` run in a user namespace (uid 0 there) with a private mount
/// namespace in which the host's /proc, /dev and /sys are bound onto
/// ROOT/proc, ROOT/dev and ROOT/sys (where those directories exist): the
/// kernel's own chroot, for an unprivileged user.
pub fn oracle(w: &World, root: &Path, argv: &[&OsStr]) -> Output {
    require("unshare");
    require("mount");
    let o = w
        .cmd("unshare")
        .args(["-rm", "--", "sh", "-c"])
        .arg(
            "r=$1; shift
             for d in proc dev sys; do
               if [ -d \"$r/$d\" ]; then mount --rbind /$d \"$r/$d\" || exit 99; fi
             done
             exec \"$@\"",
        )
        .arg("oracle")
        .arg(root)
        .args(argv)
        .output()
        .expect("unshare");
    assert!(
        o.status.code() != Some(99),
        "the oracle could not bind /proc, /dev, /sys into {}:\n{}",
        root.display(),
        text(&o)
    );
    o
}

/// `sb2 SB2_ARGS -- argv`.
/// [`in_sb2`] with the command line as strings.
pub fn run(w: &World, sb2_args: &[&str], argv: &[&str]) -> Output {
    let argv: Vec<&OsStr> = argv.iter().map(OsStr::new).collect();
    in_sb2(w, sb2_args, &argv)
}

/// A path as a `&str`, for command lines.
pub fn s(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

pub fn in_sb2(w: &World, sb2_args: &[&str], argv: &[&OsStr]) -> Output {
    w.cmd(bin_dir().join("sb2"))
        .args(sb2_args)
        .arg("--")
        .args(argv)
        .output()
        .expect("run sb2")
}

/// The lines of `want` that differ from `got`, side by side.
fn diff(want: &str, got: &str) -> String {
    let (a, b): (Vec<&str>, Vec<&str>) = (want.lines().collect(), got.lines().collect());
    let mut out = String::new();
    for i in 0..a.len().max(b.len()) {
        let (x, y) = (a.get(i).copied(), b.get(i).copied());
        if x != y {
            out.push_str(&format!(
                "  line {}: real {:?}\n          sb2  {:?}\n",
                i + 1,
                x.unwrap_or("<none>"),
                y.unwrap_or("<none>")
            ));
        }
    }
    out
}

/// The session's answer must be the kernel's: same exit status, same
/// stdout.
#[track_caller]
pub fn assert_same(what: &str, real: &Output, sim: &Output) {
    let (rs, ss) = (
        String::from_utf8_lossy(&real.stdout),
        String::from_utf8_lossy(&sim.stdout),
    );
    assert!(
        real.status.code() == sim.status.code() && rs == ss,
        "{what}: the session differs from a real chroot\n{}\n=== real chroot\n{}\n=== sb2\n{}",
        diff(&rs, &ss),
        text(real),
        text(sim)
    );
}

/// The oracle must have said these lines (so that a broken oracle, whose
/// output anything could match, fails instead).
#[track_caller]
pub fn assert_oracle_says(real: &Output, lines: &[&str]) {
    let s = String::from_utf8_lossy(&real.stdout);
    let missing: Vec<&&str> = lines
        .iter()
        .filter(|l| !s.lines().any(|x| x == **l))
        .collect();
    assert!(
        missing.is_empty(),
        "the real chroot (the oracle) did not say {missing:?}: the test's setup is wrong\n{}",
        text(real)
    );
}

/// `chroot ROOT /bin/sh -c SCRIPT` argv.
pub fn chroot_sh<'a>(root: &'a Path, script: &'a str) -> Vec<&'a OsStr> {
    vec![
        OsStr::new("chroot"),
        root.as_os_str(),
        OsStr::new("/bin/sh"),
        OsStr::new("-c"),
        OsStr::new(script),
    ]
}
