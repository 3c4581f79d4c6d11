//! Virtual permissions (`sb2 -R`, `-U`, `-s`, `-i`), end to
//! end: fakeroot's own test suite (tests/fakeroot) under sb2, under the
//! installed fakeroot as the oracle and under a launcher that fakes
//! nothing; packaging across sessions (tar, dpkg-deb, python3, stat,
//! statx); writers racing and killed; and nothing of it without `-R`.

use sb2_tests::*;
use std::path::PathBuf;
use std::process::Command;

fn real_uid() -> u32 {
    // SAFETY: getuid has no preconditions.
    unsafe { libc::getuid() }
}

/// Runs every tests/fakeroot/t.* script with `launcher`; the names of the
/// scripts that failed, with their output.
fn fakeroot_suite(w: &World, launcher: &str) -> Vec<(String, String)> {
    let dir = repo().join("tests/fakeroot");
    let mut failed = Vec::new();
    let mut scripts: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.file_name().unwrap().to_string_lossy().starts_with("t."))
        .collect();
    scripts.sort();
    assert_eq!(scripts.len(), 15, "13 fakeroot tests + 2 packaging tests");
    for s in scripts {
        let name = s.file_name().unwrap().to_string_lossy().into_owned();
        let run = w
            .dir
            .join(format!("run-{}-{name}", launcher.replace(' ', "_")));
        std::fs::create_dir_all(&run).unwrap();
        std::fs::copy(dir.join("lib.sh"), run.join("lib.sh")).unwrap();
        let o = w
            .cmd("sh")
            .arg(&s)
            .current_dir(&run)
            .env("FAKEROOT", launcher)
            .output()
            .unwrap();
        if !o.status.success() {
            failed.push((name, text(&o)));
        }
    }
    failed
}

#[test]
fn fakeroot_test_suite_passes_under_sb2_and_the_installed_fakeroot() {
    require("fakeroot");
    require("setcap");
    require("getcap");
    let w = World::new("vperm-suite");
    let sb2 = format!("{} -R", bin_dir().join("sb2").display());
    let ours = fakeroot_suite(&w, &sb2);
    assert!(ours.is_empty(), "sb2 -R failed: {ours:#?}");
    let oracle = fakeroot_suite(&w, "fakeroot");
    assert!(
        oracle.is_empty(),
        "the installed fakeroot failed: {oracle:#?}"
    );
    if real_uid() != 0 {
        // The suite really tests faking: a launcher that fakes nothing
        // fails the 9 scripts that need it.
        let none = fakeroot_suite(&w, "env");
        assert!(none.len() >= 9, "env passed too many: only {none:?} failed");
    }
}

fn sh_ok(w: &World, args: &[&str], script: &str) -> String {
    let o = w.sh(args, script);
    assert!(o.status.success(), "{args:?} {script}\n{}", text(&o));
    stdout(&o)
}

/// A tiny statx probe: `statx PATH` prints `uid gid mode(octal)`.
fn statx_probe(w: &World) -> PathBuf {
    let src = w.write(
        "statx.c",
        "#define _GNU_SOURCE\n#include <fcntl.h>\n#include <stdio.h>\n#include <sys/stat.h>\n\
         int main(int c, char **v) { struct statx s; if (statx(AT_FDCWD, v[1], AT_SYMLINK_NOFOLLOW, STATX_BASIC_STATS, &s)) return 1;\n\
         printf(\"%u %u %o %u:%u\\n\", s.stx_uid, s.stx_gid, s.stx_mode, s.stx_rdev_major, s.stx_rdev_minor); return 0; }\n",
    );
    let out = w.dir.join("statx-probe");
    let o = Command::new("gcc")
        .arg("-o")
        .arg(&out)
        .arg(&src)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", text(&o));
    out
}

#[test]
fn an_install_saved_with_s_is_packaged_by_a_later_session_with_i() {
    require("dpkg-deb");
    require("python3");
    let w = World::new("vperm-state");
    let probe = statx_probe(&w);
    let state = w.dir.join("state");
    let st = state.to_str().unwrap();
    sh_ok(
        &w,
        &["-R", "-s", st, "--"],
        "set -e; mkdir -p pkg/DEBIAN pkg/usr/bin pkg/dev
         printf 'Package: sb2-vperm-test\\nVersion: 1.0\\nArchitecture: all\\nMaintainer: sb2 <sb2@example.org>\\nDescription: test\\n' > pkg/DEBIAN/control
         install -o 0 -g 0 -m 4755 /bin/true pkg/usr/bin/suid
         touch pkg/usr/bin/owned && chown 123:456 pkg/usr/bin/owned
         mknod pkg/dev/null c 1 3
         mkfifo pkg/dev/fifo",
    );
    assert!(std::fs::read_to_string(&state)
        .unwrap()
        .contains("owner=123:456"));
    // The real files are the user's, with no set-id bit.
    use std::os::unix::fs::MetadataExt;
    let m = std::fs::metadata(w.work.join("pkg/usr/bin/suid")).unwrap();
    assert_eq!((m.uid(), m.mode() & 0o7000), (real_uid(), 0));

    // A later session: tar, dpkg-deb, python3, stat(1) and statx agree.
    let out = sh_ok(
        &w,
        &["-R", "-i", st, "--"],
        &format!(
            "set -e; tar czf pkg.tgz -C pkg . && dpkg-deb --build pkg pkg.deb >/dev/null
             for f in pkg/usr/bin/suid pkg/usr/bin/owned pkg/dev/null; do
               python3 -c 'import os,sys; s=os.lstat(sys.argv[1]); print(s.st_uid, s.st_gid, oct(s.st_mode)[2:], \"%d:%d\" % (os.major(s.st_rdev), os.minor(s.st_rdev)))' $f
               stat -c '%u %g %f %t:%T' $f
               {} $f
             done",
            probe.display()
        ),
    );
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 9, "{out}");
    // python3 (octal), stat (hex), statx (octal) on each file.
    let want = [
        ("0 0 104755 0:0", "0 0 89ed 0:0", "0 0 104755 0:0"),
        (
            "123 456 100644 0:0",
            "123 456 81a4 0:0",
            "123 456 100644 0:0",
        ),
        ("0 0 20644 1:3", "0 0 21a4 1:3", "0 0 20644 1:3"),
    ];
    for (i, (py, st, sx)) in want.iter().enumerate() {
        assert_eq!(lines[3 * i], *py, "python3: {out}");
        assert_eq!(lines[3 * i + 1], *st, "stat: {out}");
        assert_eq!(lines[3 * i + 2], *sx, "statx: {out}");
    }
    let list = Command::new("tar")
        .arg("tvzf")
        .arg(w.work.join("pkg.tgz"))
        .output()
        .unwrap();
    let list = stdout(&list);
    for want in [
        "-rwsr-xr-x root/root",
        "-rw-r--r-- 123/456",
        "crw-r--r-- root/root",
        "prw-r--r-- root/root",
    ] {
        assert!(list.contains(want), "{want} not in\n{list}");
    }
    let deb = Command::new("dpkg-deb")
        .arg("-c")
        .arg(w.work.join("pkg.deb"))
        .output()
        .unwrap();
    let deb = stdout(&deb);
    assert!(
        deb.contains("-rwsr-xr-x root/root") && deb.contains("./usr/bin/suid"),
        "{deb}"
    );
    assert!(deb.contains("crw-r--r-- root/root"), "{deb}");
    assert!(
        !deb.contains(&format!("{}/", real_uid())) || real_uid() == 0,
        "{deb}"
    );
}

#[test]
fn a_damaged_state_file_is_refused_before_the_command_runs() {
    let w = World::new("vperm-bad-state");
    let state = w.dir.join("state");
    let st = state.to_str().unwrap();
    sh_ok(&w, &["-R", "-s", st, "--"], "touch f && chown 5:5 f");
    let good = std::fs::read_to_string(&state).unwrap();
    std::fs::write(&state, &good[..good.len() - 6]).unwrap();
    let o = w.sh(&["-R", "-i", st, "--"], "touch ran");
    assert_eq!(o.status.code(), Some(125), "{}", text(&o));
    assert!(
        text(&o).contains("truncated") || text(&o).contains("damaged"),
        "{}",
        text(&o)
    );
    assert!(text(&o).contains(st), "names the file: {}", text(&o));
    assert!(!w.work.join("ran").exists(), "the command ran");
    std::fs::write(&state, good.replacen("owner=5:5", "owner=five", 1)).unwrap();
    let o = w.sh(&["-R", "-i", st, "--"], "touch ran");
    assert_eq!(o.status.code(), Some(125), "{}", text(&o));
    assert!(text(&o).contains("line 2"), "{}", text(&o));
    let o = w.sb2(&["-R", "-i", "/nonexistent/state", "--", "true"]);
    assert_eq!(o.status.code(), Some(125), "{}", text(&o));
}

/// Writers: `python3 writer.py LOG UID0 N FILE...` chowns the files in turn
/// to UID0, UID0+1, ... and logs each completed chown.
const WRITER: &str = r#"import os, sys
log = open(sys.argv[1], 'w', buffering=1)
base, n, files = int(sys.argv[2]), int(sys.argv[3]), sys.argv[4:]
for i in range(n):
    f = files[i % len(files)]
    os.chown(f, base + i, base + i)
    log.write('%s %d\n' % (f, base + i))
"#;

/// `stat -c '%n %u %g'` output as name → (uid, gid).
fn parse_owners(out: &str) -> std::collections::HashMap<String, (u32, u32)> {
    out.lines()
        .map(|l| {
            let v: Vec<&str> = l.split_whitespace().collect();
            (
                v[0].to_string(),
                (v[1].parse().unwrap(), v[2].parse().unwrap()),
            )
        })
        .collect()
}

#[test]
fn eight_writers_lose_no_chown_even_when_killed() {
    require("python3");
    let w = World::new("vperm-race");
    w.write("writer.py", WRITER);
    // Distinct files (8 × 25) and shared ones (10, all writers), 2,000
    // chowns per writer; then the same with writers killed mid-run.
    let out = sh_ok(
        &w,
        &["-R", "--"],
        "set -e
         for p in 0 1 2 3 4 5 6 7; do for f in $(seq 0 24); do touch d$p.$f; done; done
         for f in $(seq 0 9); do touch s.$f; done
         for p in 0 1 2 3 4 5 6 7; do python3 writer.py dlog$p $((p * 100000 + 1000)) 2000 $(for f in $(seq 0 24); do echo d$p.$f; done) & done
         for p in 0 1 2 3 4 5 6 7; do python3 writer.py slog$p $((p * 100000 + 50000)) 2000 $(seq -f s.%g 0 9) & done
         wait
         stat -c '%n %u %g' d*.* s.*",
    );
    let owners = parse_owners(&out);
    assert_eq!(owners.len(), 210, "{out}");
    for p in 0..8u32 {
        for f in 0..25u32 {
            // Writer p's last chown of file f: i = 1975 + f.
            let want = p * 100000 + 1000 + 1975 + f;
            assert_eq!(owners[&format!("d{p}.{f}")], (want, want), "d{p}.{f}");
        }
    }
    for f in 0..10u32 {
        let (u, g) = owners[&format!("s.{f}")];
        assert_eq!(u, g, "s.{f}: uid and gid from different chowns");
        // Some writer's last chown of that file.
        let last: Vec<u32> = (0..8).map(|p| p * 100000 + 50000 + 1990 + f).collect();
        assert!(
            last.contains(&u),
            "s.{f} = {u}, not any writer's last chown {last:?}"
        );
    }

    // Killed writers: every logged chown is there (or the one after it,
    // done but not yet logged when the writer died).
    let out = sh_ok(
        &w,
        &["-R", "--"],
        "for p in 0 1 2 3 4 5 6 7; do python3 writer.py klog$p $((p * 100000 + 1000)) 1000000 $(for f in $(seq 0 24); do echo d$p.$f; done) & pids=\"$pids $!\"; done
         sleep 1.5; kill -KILL $pids; wait
         stat -c '%n %u %g' d*.*",
    );
    let now = parse_owners(&out);
    let mut checked = 0;
    for p in 0..8 {
        let log = std::fs::read_to_string(w.work.join(format!("klog{p}"))).unwrap_or_default();
        let mut last = std::collections::HashMap::new();
        for l in log.lines() {
            if let Some((f, u)) = l.split_once(' ') {
                if let Ok(u) = u.parse::<u32>() {
                    last.insert(f.to_string(), u);
                }
            }
        }
        for (f, u) in last {
            let (got, g) = now[&f];
            assert_eq!(got, g, "{f}: torn owner");
            assert!(
                got == u || got == u + 25,
                "{f}: logged {u}, table says {got}"
            );
            checked += 1;
        }
    }
    assert!(
        checked >= 8 * 25,
        "the writers did too little before the kill: {checked}"
    );
}

#[test]
fn a_reused_inode_never_shows_a_stale_owner() {
    require("python3");
    let w = World::new("vperm-reuse");
    // Unlinked with a raw system call (no hook sees it), recreated at
    // once: whether or not the inode number comes back, no stale record.
    let out = sh_ok(
        &w,
        &["-R", "--"],
        "for i in $(seq 1 20); do
           mknod f c 1 3; chown 5:6 f; chmod 4711 f
           python3 -c 'import ctypes; ctypes.CDLL(None).syscall(87, b\"f\")'
           touch f; stat -c '%F %u %g %a' f; rm f
         done",
    );
    for l in out.lines() {
        assert_eq!(l, "regular empty file 0 0 644", "{out}");
    }
    assert_eq!(out.lines().count(), 20);
}

#[test]
fn a_record_vouched_for_by_ctime_still_drops_on_reuse() {
    require("python3");
    let w = World::new("vperm-seen");
    // Older than the 100 ms margin, a stat notes the file's ctime and
    // later stats skip the birth check; a reused inode must still show
    // nothing stale, in the session and in a later one loading the state.
    let out = sh_ok(
        &w,
        &["-R", "--"],
        "for i in $(seq 1 5); do
           touch f; chown 5:6 f; sleep 0.3; stat -c '%u %g' f; stat -c '%u %g' f
           python3 -c 'import ctypes; ctypes.CDLL(None).syscall(87, b\"f\")'
           touch f; stat -c '%u %g' f; rm f
         done",
    );
    assert_eq!(out, "5 6\n5 6\n0 0\n".repeat(5), "{out}");
    let state = w.dir.join("state");
    let st = state.to_str().unwrap();
    sh_ok(
        &w,
        &["-R", "-s", st, "--"],
        "touch kept gone; chown 5:6 kept gone; sleep 0.2; stat kept gone >/dev/null",
    );
    let saved = std::fs::read_to_string(&state).unwrap();
    assert_eq!(saved.matches(" seen=").count(), 2, "{saved}");
    // Replaced between sessions, without any sandbox.
    std::fs::remove_file(w.work.join("gone")).unwrap();
    std::fs::write(w.work.join("gone"), "").unwrap();
    let out = sh_ok(&w, &["-R", "-i", st, "--"], "stat -c '%n %u %g' kept gone");
    assert_eq!(out, "kept 5 6\ngone 0 0\n");
}

#[test]
fn without_r_nothing_is_virtual() {
    let w = World::new("vperm-off");
    let uid = real_uid();
    let o = w.sh(
        &["--"],
        "id -u; touch f; chown 123:456 f 2>/dev/null; echo chown=$?; stat -c %u f; mknod n c 1 3 2>/dev/null; echo mknod=$?",
    );
    let out = stdout(&o);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[0], uid.to_string(), "{out}");
    if uid != 0 {
        assert_eq!(lines[1], "chown=1", "{out}");
        assert_eq!(lines[2], uid.to_string(), "{out}");
        assert_eq!(lines[3], "mknod=1", "{out}");
    }
    // -U alone: the processes and unknown files are that user.
    let out = sh_ok(
        &w,
        &["-U", "1234.99", "--"],
        "id -u; id -g; touch g; stat -c '%u %g' g",
    );
    assert_eq!(out, "1234\n99\n1234 99\n");
}

#[test]
fn fakeroot_inside_a_session_is_sb2s_own_and_saves_state() {
    require("fakeroot");
    let w = World::new("vperm-fakeroot");
    let st = w.dir.join("st");
    let out = sh_ok(
        &w,
        &["--"],
        &format!(
            "id -u; fakeroot -- id -u; touch f; fakeroot -s {0} -- chown 5:7 f; fakeroot -i {0} -- stat -c '%u %g' f; \
             fakeroot -- sh -c 'fakeroot -- id -un'",
            st.display()
        ),
    );
    assert_eq!(out, format!("{}\n0\n5 7\nroot\n", real_uid()));
}

#[test]
fn setuid_changes_what_children_and_files_see() {
    require("python3");
    let w = World::new("vperm-ids");
    // set*id per process, inherited through exec (also env -i), and
    // readonly_fs_if_not_root follows the virtual euid.
    let out = sh_ok(
        &w,
        &["-R", "--"],
        "python3 -c 'import os; os.setgroups([4, 24]); os.setresgid(20, 21, 22); os.setresuid(10, 11, 12); print(os.getresuid(), os.getresgid(), os.getgroups(), flush=True); os.execvp(\"env\", [\"env\", \"-i\", \"/usr/bin/python3\", \"-c\", \"import os; print(os.getresuid(), os.getresgid(), os.getgroups())\"])'",
    );
    assert_eq!(
        out, "(10, 11, 12) (20, 21, 22) [4, 24]\n(10, 11, 12) (20, 21, 22) [4, 24]\n",
        "{out}"
    );
    let o = w.sh(
        &["-U", "1000.1000", "--"],
        "python3 -c 'import os; os.setuid(0)'",
    );
    assert!(
        !o.status.success() && text(&o).contains("PermissionError"),
        "{}",
        text(&o)
    );
}

#[test]
fn arm64_programs_run_by_qemu_see_the_virtual_root() {
    require("qemu-aarch64");
    let Some(root) = std::env::var_os("SB2_TEST_ARM64_ROOTFS").map(PathBuf::from) else {
        panic!("SB2_TEST_ARM64_ROOTFS is not set (scripts/test makes one)");
    };
    let w = World::new("vperm-arm64");
    let o = w
        .cmd(bin_dir().join("sb2-init"))
        .current_dir(&root)
        .args(["-A", "aarch64", "-c", "qemu-aarch64", "arm64"])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", text(&o));
    let o = w.sb2(&[
        "-t",
        "arm64",
        "-m",
        "emulate",
        "-R",
        "--",
        "/usr/bin/id",
        "-u",
    ]);
    assert!(o.status.success(), "{}", text(&o));
    assert_eq!(stdout(&o).trim(), "0", "{}", text(&o));
}

#[test]
fn dpkg_buildpackage_with_rfakeroot_in_a_session_and_with_r_sb2() {
    require("dpkg-buildpackage");
    let w = World::new("vperm-dpkg");
    w.write("p/debian/control", "Source: sb2demo\nSection: misc\nPriority: optional\nMaintainer: sb2 <sb2@example.org>\nStandards-Version: 4.6.2\n\nPackage: sb2demo\nArchitecture: all\nDescription: demo\n demo\n");
    w.write("p/debian/changelog", "sb2demo (1.0) unstable; urgency=low\n\n  * demo\n\n -- sb2 <sb2@example.org>  Sun, 22 Nov 2026 00:00:00 +0000\n");
    w.write("p/debian/source/format", "3.0 (native)\n");
    let rules = w.write(
        "p/debian/rules",
        "#!/usr/bin/make -f\nbuild build-arch build-indep:\n\ttrue\nclean:\n\trm -rf debian/tmp\nbinary binary-arch binary-indep:\n\t\
         install -d debian/tmp/DEBIAN debian/tmp/usr/bin\n\tinstall -m 755 /bin/true debian/tmp/usr/bin/demo\n\t\
         chown -R root:root debian/tmp\n\tchown daemon:daemon debian/tmp/usr/bin/demo\n\tchmod 4755 debian/tmp/usr/bin/demo\n\t\
         dpkg-gencontrol -Pdebian/tmp\n\tdpkg-deb --build debian/tmp ..\n",
    );
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&rules, std::fs::Permissions::from_mode(0o755)).unwrap();
    let deb = w.work.join("sb2demo_1.0_all.deb");
    let sb2_r = format!("{} -R", bin_dir().join("sb2").display());
    for how in [
        // In a session, unmodified: its fakeroot is sb2's.
        vec![
            "sb2",
            "--",
            "dpkg-buildpackage",
            "-b",
            "-us",
            "-uc",
            "-d",
            "-rfakeroot",
        ],
        // Outside: sb2 -R where the gain-root command goes.
        vec![
            "dpkg-buildpackage",
            "-b",
            "-us",
            "-uc",
            "-d",
            sb2_r.as_str(),
        ],
    ] {
        let _ = std::fs::remove_file(&deb);
        let mut args: Vec<String> = how.iter().map(|s| s.to_string()).collect();
        if args[0] == "dpkg-buildpackage" {
            let last = args.pop().unwrap();
            args.push(format!("-r{last}"));
        }
        let o = w
            .cmd(&args[0])
            .args(&args[1..])
            .current_dir(w.work.join("p"))
            .output()
            .unwrap();
        assert!(o.status.success(), "{args:?}\n{}", text(&o));
        let c = Command::new("dpkg-deb")
            .arg("-c")
            .arg(&deb)
            .output()
            .unwrap();
        let c = stdout(&c);
        assert!(
            c.contains("drwxr-xr-x root/root")
                && c.contains("-rwsr-xr-x daemon/daemon")
                && c.contains("./usr/bin/demo"),
            "{args:?}\n{c}"
        );
    }
}

#[test]
fn files_made_after_dropping_root_belong_to_the_new_ids() {
    // apt drops root to _apt, then chmods the files and directories it
    // made (apt-key's mktemp -d): as in the kernel, they are the new ids'.
    require("perl");
    let w = World::new("vperm-dropped");
    let out = sh_ok(
        &w,
        &["-R"],
        r#"perl -e 'use POSIX; POSIX::setgid(65534) or die "gid"; POSIX::setuid(42) or die "uid";
            open(F, ">f") or die "open $!"; close F; chmod(0600, "f") or die "chmod f $!";
            mkdir("d") or die "mkdir $!"; chmod(0700, "d") or die "chmod d $!";
            sysopen(G, "g", O_CREAT|O_EXCL|O_WRONLY) or die "excl $!"; close G'
           stat -c '%n %u:%g %a' f d g"#,
    );
    assert_eq!(out, "f 42:65534 600\nd 42:65534 700\ng 42:65534 644\n");
}
