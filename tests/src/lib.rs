//! Test harness for sb2's end-to-end tests: finds the built binaries, makes
//! isolated per-test directories (config home, work dir), target roots, and
//! compiles the C probe programs in `tests/probes/`.
//!
//! Tests never skip silently: a missing tool panics with its name.
//!
//! Every command a [`World`] makes has `SB2_PROBE_RECORD` set to the record
//! file of this run ([`probe_record`]): the probe programs append the name
//! of every case they run in an sb2 session to it (`tests/probes/record.h`),
//! and the coverage test, run after the suite, checks that every hooked
//! function was among them.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

/// Where `sb2`, `sb2-init`, `sb2-show`, `sb2-config` and `libsb2.so` are:
/// the cargo target directory of this test executable (target/<profile>).
pub fn bin_dir() -> PathBuf {
    if let Some(d) = std::env::var_os("SB2_BIN_DIR") {
        return PathBuf::from(d);
    }
    let exe = std::env::current_exe().expect("test executable path");
    // target/<profile>/deps/e2e-<hash>
    let dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("target dir")
        .to_path_buf();
    for b in ["sb2", "sb2-init", "sb2-show", "sb2-config", "libsb2.so"] {
        assert!(
            dir.join(b).exists(),
            "{} missing in {}: build everything first (cargo build --release --workspace)",
            b,
            dir.display()
        );
    }
    dir
}

/// The repository root.
pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("repo")
        .to_path_buf()
}

/// Panics unless `tool` is on PATH (tests never skip silently).
pub fn require(tool: &str) {
    let ok = Command::new("sh")
        .arg("-c")
        // sbin too: setcap and friends live there, off a user's PATH.
        .arg(format!("PATH=$PATH:/usr/sbin:/sbin command -v {tool}"))
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false);
    assert!(
        ok,
        "required tool '{tool}' is not installed (.ci/run installs it)"
    );
}

/// Text of an output, for assertions and failure messages.
pub fn text(o: &Output) -> String {
    format!(
        "status: {:?}\n--- stdout\n{}--- stderr\n{}",
        o.status.code(),
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// One test's private world: a config home, a home and a work directory.
pub struct World {
    pub dir: PathBuf,
    pub work: PathBuf,
    pub home: PathBuf,
}

impl World {
    pub fn new(name: &str) -> World {
        let base = std::env::temp_dir().join(format!("sb2-test-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&base);
        let work = base.join("work");
        let home = base.join("home");
        std::fs::create_dir_all(&work).expect("mkdir work");
        std::fs::create_dir_all(&home).expect("mkdir home");
        let base = base.canonicalize().expect("canon");
        World {
            work: base.join("work"),
            home: base.join("home"),
            dir: base,
        }
    }

    /// A command with this world's environment (PATH starts with the sb2
    /// binaries; XDG_CONFIG_HOME, XDG_CACHE_HOME and HOME are private), run
    /// in `work`.
    pub fn cmd(&self, prog: impl AsRef<OsStr>) -> Command {
        let mut c = Command::new(prog);
        // A fixed PATH: the system's tools, not a developer's shims.
        let path = format!(
            "{}:/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin",
            bin_dir().display()
        );
        c.current_dir(&self.work)
            .env("PATH", path)
            .env("HOME", &self.home)
            .env("XDG_CONFIG_HOME", self.dir.join("config"))
            // The ruletree cache too: a test sees only its own entries.
            .env("XDG_CACHE_HOME", self.dir.join("cache"))
            .env_remove("XDG_RUNTIME_DIR")
            .env_remove("SB2_SESSION_DIR")
            .env_remove("SBOX_TARGET")
            .env_remove("LD_PRELOAD")
            .env("SB2_PROBE_RECORD", probe_record());
        c
    }

    /// `prog` where user namespaces are refused, as in a CI container or
    /// under Ubuntu's AppArmor default: inside a user namespace of our own
    /// whose `user.max_user_namespaces` is 0 (the limit is per namespace).
    pub fn cmd_without_user_namespaces(&self, prog: impl AsRef<OsStr>) -> Command {
        let mut c = self.cmd("unshare");
        c.args([
            "-Ur",
            "sh",
            "-c",
            "echo 0 > /proc/sys/user/max_user_namespaces && exec \"$@\"",
            "sh",
        ])
        .arg(prog);
        c
    }

    /// The file in `work` named PREFIX...SUFFIX (a built package).
    pub fn built(&self, prefix: &str, suffix: &str) -> PathBuf {
        std::fs::read_dir(&self.work)
            .expect("work dir")
            .filter_map(|e| e.ok().map(|e| e.path()))
            .find(|p| {
                let n = p.file_name().unwrap_or_default().to_string_lossy();
                n.starts_with(prefix) && n.ends_with(suffix)
            })
            .unwrap_or_else(|| panic!("no {prefix}*{suffix} in {}", self.work.display()))
    }

    /// `sb2 ARGS...`
    pub fn sb2(&self, args: &[&str]) -> Output {
        self.cmd(bin_dir().join("sb2"))
            .args(args)
            .output()
            .expect("run sb2")
    }

    /// `sb2 ARGS... sh -c SCRIPT`
    pub fn sh(&self, sb2_args: &[&str], script: &str) -> Output {
        let mut a: Vec<&str> = sb2_args.to_vec();
        a.extend(["sh", "-c", script]);
        self.sb2(&a)
    }

    /// Creates a target named `name` from `root` with `sb2-init -s`.
    pub fn init_target(&self, root: &Path, name: &str, extra: &[&str]) {
        let o = self
            .cmd(bin_dir().join("sb2-init"))
            .current_dir(root)
            .args(extra)
            .arg("-s")
            .arg(name)
            .output()
            .expect("sb2-init");
        assert!(o.status.success(), "sb2-init failed:\n{}", text(&o));
    }

    pub fn write(&self, rel: &str, content: &str) -> PathBuf {
        let p = self.work.join(rel);
        if let Some(d) = p.parent() {
            std::fs::create_dir_all(d).expect("mkdir");
        }
        std::fs::write(&p, content).expect("write");
        p
    }
}

impl Drop for World {
    fn drop(&mut self) {
        if !std::thread::panicking() {
            let _ = Command::new("chmod")
                .arg("-R")
                .arg("u+rwx")
                .arg(&self.dir)
                .output();
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

/// Runs a setup script with `sh -c` outside any session; panics with its
/// output if it fails.
pub fn setup_sh(script: &str) {
    let o = Command::new("sh")
        .arg("-c")
        .arg(script)
        .output()
        .expect("sh");
    assert!(o.status.success(), "setup failed: {script}\n{}", text(&o));
}

/// A target root made from pieces of the host (host-architecture programs
/// that run here as they are): coreutils, find, sh, the system's python3
/// (`/usr/bin/python3`, whatever its version) and its standard library,
/// plus a header, a library, absolute and relative symlinks, a directory
/// symlink and a symlink loop. Built once per test run and shared
/// read-only.
pub fn target_root() -> &'static Path {
    static ROOT: OnceLock<PathBuf> = OnceLock::new();
    ROOT.get_or_init(|| {
        require("gcc");
        require("python3");
        let r = std::env::temp_dir().join(format!("sb2-test-{}-rootfs", std::process::id()));
        let _ = std::fs::remove_dir_all(&r);
        std::fs::create_dir_all(&r).expect("mkdir rootfs");
        let d = r.display();
        setup_sh(&format!(
            "set -e; cd {d}; mkdir -p usr/bin usr/lib usr/include etc data/sub
             ln -s usr/bin bin; ln -s usr/lib lib
             for p in sh dash cat ls find stat readlink realpath test mkdir touch rm ln env true false echo head wc tr sort grep sed cut pwd; do
               cp \"$(command -v $p)\" usr/bin/ 2>/dev/null || cp /usr/bin/$p usr/bin/; done
             py=$(readlink -f /usr/bin/python3); py=${{py##*/}}
             cp /usr/bin/$py usr/bin/python3
             gccdir=$(dirname \"$(gcc -print-prog-name=cc1)\")
             mkdir -p \".$gccdir\" && cp \"$gccdir/cc1\" \".$gccdir/\" && cp -a \"$gccdir/include\" \".$gccdir/\"
             cp \"$(readlink -f \"$(command -v gcc)\")\" usr/bin/gcc
             cp \"$(readlink -f \"$(command -v as)\")\" usr/bin/as
             mkdir -p usr/lib/$py && cp -a /usr/lib/$py/. usr/lib/$py/
             find usr/lib/$py -name __pycache__ -prune -exec rm -rf {{}} +
             echo 'int sb2_target_value(void);' > usr/include/sb2test.h
             echo '#define SB2_TARGET_HEADER 1' >> usr/include/sb2test.h
             echo 'int sb2_target_value(void) {{ return 42; }}' > lib.c
             gcc -shared -fPIC -o usr/lib/libsb2test.so lib.c && rm lib.c
             ln -s sb2test.h usr/include/sb2rel.h
             ln -s /usr/include/sb2test.h usr/include/sb2abs.h
             mkdir -p usr/share/aclocal && echo 'dnl target' > usr/share/aclocal/sb2-target.m4
             echo target-hostname > etc/hostname
             echo 'from the target' > data/file
             ln -s /etc/hostname etc/abs_link
             ln -s ../etc/hostname data/rel_link
             ln -s /data/sub data/dir_link
             echo deep > data/sub/deep
             ln -s loop_b data/loop_a; ln -s loop_a data/loop_b
             ln -s /nonexistent data/dangling"
        ));
        r.canonicalize().expect("canon rootfs")
    })
}

/// The record file of the probe cases run (one name a line): `probe-cases`
/// in `$SB2_PROBE_RECORD_DIR`, else in the cargo target directory. The
/// same path in every run of the test binary, so that a later run (the
/// coverage test) reads what an earlier one recorded.
pub fn probe_record_path() -> PathBuf {
    std::env::var_os("SB2_PROBE_RECORD_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(bin_dir)
        .join("probe-cases")
}

/// [`probe_record_path`], emptied on first use in this process: the
/// record holds the cases of one run of the test binary.
pub fn probe_record() -> &'static Path {
    static RECORD: OnceLock<PathBuf> = OnceLock::new();
    RECORD.get_or_init(|| {
        let p = probe_record_path();
        if let Some(d) = p.parent() {
            std::fs::create_dir_all(d)
                .unwrap_or_else(|e| panic!("mkdir {} (the probe record): {e}", d.display()));
        }
        std::fs::write(&p, "")
            .unwrap_or_else(|e| panic!("emptying the probe record {}: {e}", p.display()));
        p
    })
}

/// Compiles (once) the probe program `tests/probes/<name>.c` and returns
/// its path.
pub fn probe(name: &str) -> PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    let dir = DIR.get_or_init(|| {
        require("gcc");
        let d = std::env::temp_dir().join(format!("sb2-test-{}-probes", std::process::id()));
        std::fs::create_dir_all(&d).expect("mkdir probes");
        d
    });
    let out = dir.join(format!("probe-{name}"));
    if !out.exists() {
        let src = repo().join("tests/probes").join(format!("{name}.c"));
        let tmp = dir.join(format!(
            "probe-{name}.{}.tmp",
            std::thread::current()
                .name()
                .unwrap_or("t")
                .replace("::", "_")
        ));
        let o = Command::new("gcc")
            .args(["-O1", "-D_GNU_SOURCE", "-Wall", "-o"])
            .arg(&tmp)
            .arg(&src)
            .arg("-I")
            .arg(repo().join("tests/probes"))
            .args(["-ldl", "-lpthread"])
            .output()
            .expect("gcc");
        assert!(
            o.status.success(),
            "compiling {}:\n{}",
            src.display(),
            text(&o)
        );
        std::fs::rename(&tmp, &out).expect("rename probe");
    }
    out
}

/// Everything about a tree that a write could change: every entry's
/// path, type, owner, mode, size, mtime and link target, and the sha256
/// of every regular file.
pub fn tree_snapshot(root: &Path) -> String {
    let r = root.display();
    let o = Command::new("sh")
        .arg("-c")
        .arg(format!(
            "set -e; cd {r} && find . -printf '%p %y %U %G %m %s %T@ %l\\n' | LC_ALL=C sort; \
             find . -type f -exec sha256sum {{}} + | LC_ALL=C sort"
        ))
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", text(&o));
    stdout(&o)
}
