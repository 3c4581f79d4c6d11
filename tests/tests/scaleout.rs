//! Compiler launchers in an arm64 session: ccache, distcc and icecream
//! get the cross compiler and the target's flags (sb2-init -C) as their
//! compiler argument, so cached, remote and fallback objects are all
//! aarch64. The volunteers (distccd; icecc-scheduler and two iceccd) run
//! on loopback, started by the tests; icecream's run in a network
//! namespace of the test's own, as they broadcast.

use sb2_tests::*;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

fn rootfs() -> PathBuf {
    let p = std::env::var_os("SB2_TEST_ARM64_ROOTFS")
        .map(PathBuf::from)
        .expect("SB2_TEST_ARM64_ROOTFS is not set (scripts/test makes the root)");
    assert!(p.join("usr/include/stdio.h").exists(), "{}", p.display());
    p
}

/// An arm64 target whose compiler flags define SB2_FLAG as `flag`.
fn arm64(w: &World, flag: &str) {
    require("aarch64-linux-gnu-gcc");
    let o = w
        .cmd(bin_dir().join("sb2-init"))
        .current_dir(rootfs())
        .args(["-c", "qemu-aarch64"])
        .arg(format!("-C=-DSB2_FLAG={flag}"))
        .args(["arm64", "aarch64-linux-gnu-gcc"])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", text(&o));
}

/// Two objects and a program; b.c only compiles with the target's flags.
fn project(w: &World) {
    w.write("proj/a.c", "int f(void);\nint main(void) { return f(); }\n");
    w.write(
        "proj/b.c",
        "#ifndef SB2_FLAG\n#error no target flags\n#endif\nint f(void) { return SB2_FLAG - SB2_FLAG; }\n",
    );
    w.write(
        "proj/Makefile",
        "prog: a.o b.o\n\t$(CC) -o prog a.o b.o\nclean:\n\trm -f a.o b.o prog\n",
    );
}

/// Both objects and the program are aarch64.
fn assert_aarch64(w: &World, what: &str) {
    for f in ["a.o", "b.o", "prog"] {
        let o = w.cmd("file").arg(format!("proj/{f}")).output().unwrap();
        assert!(stdout(&o).contains("ARM aarch64"), "{what}: {}", text(&o));
    }
}

fn make(w: &World, sb2_args: &[&str], cc: &str, env: &[(&str, &str)]) -> String {
    let mut c = w.cmd(bin_dir().join("sb2"));
    c.args(sb2_args)
        .args(["make", "-C", "proj", "-j4"])
        .arg(format!("CC={cc}"));
    for (k, v) in env {
        c.env(k, v);
    }
    let o = c.output().unwrap();
    assert!(o.status.success(), "{cc}: {}", text(&o));
    text(&o)
}

fn clean(w: &World) {
    let o = w
        .cmd("make")
        .args(["-C", "proj", "clean"])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", text(&o));
}

/// ccache's statistics as `key value` pairs.
fn ccache_stat(w: &World, dir: &Path, key: &str) -> u64 {
    let o = w
        .cmd("ccache")
        .env("CCACHE_DIR", dir)
        .arg("--print-stats")
        .output()
        .unwrap();
    stdout(&o)
        .lines()
        .find_map(|l| l.strip_prefix(key)?.strip_prefix('\t')?.parse().ok())
        .unwrap_or_else(|| panic!("{key} not in {}", text(&o)))
}

#[test]
fn ccache_caches_cross_objects_keyed_by_the_target_flags() {
    require("ccache");
    let w = World::new("ccache");
    arm64(&w, "1");
    project(&w);
    let dir = w.dir.join("ccache");
    let dir_s = dir.display().to_string();
    let env = [("CCACHE_DIR", dir_s.as_str())];
    let args = ["-t", "arm64"];
    make(&w, &args, "ccache gcc", &env);
    assert_aarch64(&w, "first build");
    assert_eq!(ccache_stat(&w, &dir, "cache_miss"), 2);
    // A new session, the same sources: every compile is a hit.
    clean(&w);
    make(&w, &args, "ccache gcc", &env);
    assert_aarch64(&w, "second build");
    assert_eq!(ccache_stat(&w, &dir, "cache_miss"), 2);
    assert_eq!(ccache_stat(&w, &dir, "direct_cache_hit"), 2);
    // Other flags from sb2-init -C: the command line ccache hashes
    // differs (no direct hit), and b.o, whose code they change, is
    // compiled again.
    arm64(&w, "2");
    clean(&w);
    make(&w, &args, "ccache gcc", &env);
    assert_aarch64(&w, "rebuilt with other flags");
    assert_eq!(ccache_stat(&w, &dir, "direct_cache_hit"), 2);
    assert_eq!(ccache_stat(&w, &dir, "cache_miss"), 3);
    // ccache's masquerade directory first on PATH and a plain `gcc`: its
    // `gcc` becomes its cross compiler's name there, with the flags.
    clean(&w);
    let calls = |w: &World| {
        ["cache_miss", "direct_cache_hit", "preprocessed_cache_hit"]
            .iter()
            .map(|k| ccache_stat(w, &dir, k))
            .sum::<u64>()
    };
    let before = calls(&w);
    let o = w
        .cmd(bin_dir().join("sb2"))
        .env("CCACHE_DIR", &dir)
        .args([
            "-t",
            "arm64",
            "sh",
            "-c",
            "PATH=/usr/lib/ccache:$PATH make -C proj CC=gcc",
        ])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", text(&o));
    assert_aarch64(&w, "masquerade");
    assert_eq!(calls(&w), before + 2);
}

/// A free loopback TCP port (bound, then released).
fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

/// A daemon we started in a process group of its own, ended with its
/// workers (the group, by the daemon's pid) when dropped.
struct Started(Child);
impl Drop for Started {
    fn drop(&mut self) {
        let _ = std::process::Command::new("kill")
            .arg("--")
            .arg(format!("-{}", self.0.id()))
            .status();
        let _ = self.0.wait();
    }
}

#[test]
fn distcc_compiles_for_the_target_on_the_volunteer_and_on_fallback() {
    require("distcc");
    require("distccd");
    let w = World::new("distcc");
    arm64(&w, "1");
    project(&w);
    let port = free_port();
    let log = w.dir.join("distccd.log");
    let d = w
        .cmd("distccd")
        .args([
            "--daemon",
            "--no-detach",
            "--listen",
            "127.0.0.1",
            "--allow",
        ])
        .arg("127.0.0.1")
        .arg("--port")
        .arg(port.to_string())
        .arg("--log-file")
        .arg(&log)
        .args(["--log-level", "info"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .process_group(0)
        .spawn()
        .expect("distccd");
    let d = Started(d);
    let t = Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            t.elapsed() < Duration::from_secs(10),
            "distccd did not start"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let hosts = format!("127.0.0.1:{port}");
    let ddir = w.dir.join("distcc");
    std::fs::create_dir_all(&ddir).unwrap();
    let ddir = ddir.display().to_string();
    // No fallback: a compile the volunteer refuses fails the build. -n
    // localhost: the session's network rules let the build reach it.
    let env = [
        ("DISTCC_HOSTS", hosts.as_str()),
        ("DISTCC_DIR", ddir.as_str()),
        ("DISTCC_FALLBACK", "0"),
        ("DISTCC_SKIP_LOCAL_RETRY", "1"),
    ];
    make(&w, &["-t", "arm64", "-n", "localhost"], "distcc gcc", &env);
    assert_aarch64(&w, "on the volunteer");
    let l = std::fs::read_to_string(&log).unwrap();
    for f in ["a.c", "b.c"] {
        assert!(
            l.lines()
                .any(|x| x.contains("COMPILE_OK")
                    && x.ends_with(&format!("aarch64-linux-gnu-gcc {f}"))),
            "{f} not compiled by the volunteer with the cross compiler:\n{l}"
        );
    }
    // The volunteer is gone: distcc compiles locally, still for the target.
    drop(d);
    clean(&w);
    let out = make(
        &w,
        &["-t", "arm64"],
        "distcc gcc",
        &[
            ("DISTCC_HOSTS", hosts.as_str()),
            ("DISTCC_DIR", ddir.as_str()),
        ],
    );
    assert!(out.contains("running locally instead"), "{out}");
    assert_aarch64(&w, "local fallback");
}

/// icecream: a scheduler, a local daemon that takes no jobs (its socket is
/// the system's, /run/icecc, which scripts/test gives the test user) and a
/// "remote" daemon on another port, all in a network namespace of their own
/// (they broadcast), in a user namespace that keeps CAP_SYS_CHROOT (the
/// remote daemon compiles in a chroot of the compiler environment). The
/// sessions run there too, without capabilities.
#[test]
fn icecream_compiles_cross_on_the_daemon_in_simple_and_emulate_toolchain() {
    for t in [
        "icecc",
        "icecc-scheduler",
        "iceccd",
        "icecc-create-env",
        "setpriv",
        "qemu-aarch64",
    ] {
        require(t);
    }
    let run = Path::new("/run/icecc");
    let w = World::new("icecc");
    let probe = w.cmd("test").args(["-w", "/run/icecc"]).status().unwrap();
    assert!(
        run.is_dir() && probe.success(),
        "/run/icecc must exist and be the test user's (scripts/test makes it as root)"
    );
    arm64(&w, "1");
    project(&w);
    // The compiler environment of the cross toolchain (outside /tmp, which
    // is private to each session).
    let env_dir = w.work.join("icenv");
    std::fs::create_dir_all(&env_dir).unwrap();
    let o = w
        .cmd("icecc-create-env")
        .args([
            "--gcc",
            "/usr/bin/aarch64-linux-gnu-gcc",
            "/usr/bin/aarch64-linux-gnu-g++",
        ])
        .current_dir(&env_dir)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", text(&o));
    let tarball = std::fs::read_dir(&env_dir)
        .unwrap()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .find(|p| p.to_string_lossy().ends_with(".tar.gz"))
        .expect("icecc-create-env made no tarball");
    // In the work directory: the sessions' /tmp is private.
    let logs = w.work.join("logs");
    std::fs::create_dir_all(&logs).unwrap();
    let script = r#"
set -u
ip link set lo up
icecc-scheduler -n sb2 -p 18765 -l "$LOGS/scheduler.log" -vvv & s=$!
iceccd --no-remote -n sb2 -s 127.0.0.1:18765 -b "$LOGS/env-local" -N local -l "$LOGS/local.log" -vvv & l=$!
ICECC_TEST_SOCKET="$LOGS/remote.socket" iceccd -n sb2 -s 127.0.0.1:18765 -p 18770 -b "$LOGS/env-remote" -N remote -l "$LOGS/remote.log" -vvv & r=$!
trap 'kill $s $l $r' EXIT
i=0
until grep -qs "Connected to scheduler" "$LOGS/local.log" && grep -qs "Connected to scheduler" "$LOGS/remote.log"; do
	i=$((i+1)); [ $i -lt 100 ] || { echo "icecream did not start"; exit 1; }
	sleep 0.1; kill -HUP $l $r
done
rc=0
for mode in simple emulate+toolchain; do
	make -s -C proj clean
	ICECC_LOGFILE="$LOGS/client-$mode.log" ICECC_DEBUG=debug ICECC_PREFERRED_HOST=remote ICECC_TEST_REMOTEBUILD=1 \
		setpriv --inh-caps=-all --ambient-caps=-all --bounding-set=-all -- \
		sb2 -t arm64 -m "$mode" make -C proj CC="icecc gcc" || rc=1
	for f in a.o b.o prog; do file "proj/$f" | grep -q "ARM aarch64" || { echo "$mode: proj/$f is not aarch64"; rc=1; }; done
	kill -HUP $r
done
exit $rc
"#;
    let o = w
        .cmd("unshare")
        .args([
            "--map-current-user",
            "--keep-caps",
            "-n",
            "sh",
            "-c",
            script,
        ])
        .env("LOGS", &logs)
        .env(
            "ICECC_VERSION",
            format!("x86_64:{}=aarch64-linux-gnu", tarball.display()),
        )
        .output()
        .unwrap();
    let log = |n: &str| std::fs::read_to_string(logs.join(n)).unwrap_or_default();
    assert!(
        o.status.success(),
        "{}\n--- remote daemon\n{}",
        text(&o),
        log("remote.log")
    );
    for mode in ["simple", "emulate+toolchain"] {
        let c = log(&format!("client-{mode}.log"));
        // Each compile went to the remote daemon, with the cross compiler
        // and the target's flags; none was built locally.
        for f in ["a.c", "b.c"] {
            assert!(
                c.contains(&format!(
                    "icecc aarch64-linux-gnu-gcc -DSB2_FLAG=1 -c -o {}",
                    f.replace(".c", ".o")
                )),
                "{mode} {f}:\n{c}"
            );
        }
        assert_eq!(
            c.matches("Have to use host 127.0.0.1:18770").count(),
            2,
            "{mode}:\n{c}"
        );
        assert_eq!(
            c.matches("<building_local>").count(),
            1,
            "{mode} (only the link):\n{c}"
        );
    }
    let r = log("remote.log");
    assert_eq!(
        r.matches("Remote compilation completed with exit code 0")
            .count(),
        4,
        "{r}"
    );
}
