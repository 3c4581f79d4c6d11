//! Virtual permissions (`sb2 -R`, `-U`) seen through the hooks that only
//! matter with them: the fd-based stat, owner, mode and xattr calls, the
//! stats fts hands out, and the id family, each called directly by the
//! probe `tests/probes/vperm.c` (one line per call:
//! `FUNCTION ret=<value> errno=<NAME or 0>[ <payload>]`).
//!
//! The virtual owner and mode table lives as long as one session, so a
//! change and the calls that must see it run in one `sb2 ... sh -c` session.
//! Expectations hold whether the tests run as an unprivileged user (CI) or
//! as root: real ids are compared with the test process's own.

use sb2_tests::{probe, stdout, text, World};
use std::fs;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;
use std::process::Command;

fn real_uid() -> u32 {
    // SAFETY: getuid has no preconditions and cannot fail.
    unsafe { libc::getuid() }
}

fn exe() -> String {
    probe("vperm")
        .to_str()
        .expect("UTF-8 probe path")
        .to_owned()
}

/// `'s'` for sh.
fn quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "'\\''"))
}

/// Runs the probe calls in ONE session `sb2 SB2_ARGS -- sh -c ...` (so
/// they share its table), stopping at the first that exits non-zero;
/// their lines.
fn session(w: &World, sb2_args: &[&str], calls: &[&[&str]]) -> Vec<String> {
    let exe = exe();
    let script = calls
        .iter()
        .map(|c| {
            std::iter::once(exe.as_str())
                .chain(c.iter().copied())
                .map(quote)
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect::<Vec<_>>()
        .join(" && ");
    let mut args = sb2_args.to_vec();
    args.push("--");
    let o = w.sh(&args, &script);
    let lines: Vec<String> = stdout(&o).lines().map(str::to_owned).collect();
    assert!(
        o.status.success() && lines.len() == calls.len(),
        "sb2 {sb2_args:?} -- sh -c {script:?}:\n{}",
        text(&o)
    );
    lines
}

/// One probe call as the first command of its own session (no shell in
/// between: the ids are the ones the launcher gave).
fn run(w: &World, sb2_args: &[&str], call: &[&str]) -> String {
    let exe = exe();
    let mut args = sb2_args.to_vec();
    args.push("--");
    args.push(&exe);
    args.extend_from_slice(call);
    let o = w.sb2(&args);
    let out = stdout(&o);
    assert!(
        o.status.success() && out.lines().count() == 1,
        "sb2 {args:?}:\n{}",
        text(&o)
    );
    out.trim_end().to_owned()
}

/// The same call outside any session: what the kernel says.
fn native(w: &World, call: &[&str]) -> String {
    let o = Command::new(exe())
        .args(call)
        .current_dir(&w.work)
        .env_remove("LD_PRELOAD")
        .env_remove("SB2_SESSION_DIR")
        .env_remove("SB2_VPERM")
        .output()
        .expect("run probe");
    assert!(o.status.success(), "probe-vperm {call:?}:\n{}", text(&o));
    stdout(&o).trim_end().to_owned()
}

/// A file of the world with an exact mode (not left to the umask).
fn file(w: &World, rel: &str, mode: u32) -> std::path::PathBuf {
    let p = w.write(rel, "content\n");
    fs::set_permissions(&p, fs::Permissions::from_mode(mode)).expect("chmod");
    p
}

fn owner_mode(p: &Path) -> (u32, u32, u32) {
    let m = fs::metadata(p).expect("metadata");
    (m.uid(), m.gid(), m.mode())
}

#[test]
fn ids_are_root_with_r_the_given_ones_with_u_and_real_without() {
    let w = World::new("vperm-probes-ids");
    let ids: [&[&str]; 6] = [
        &["getuid"],
        &["geteuid"],
        &["getgid"],
        &["getegid"],
        &["getresuid"],
        &["getgroups"],
    ];
    assert_eq!(
        session(&w, &["-R"], &ids),
        [
            "getuid ret=0 errno=0 id=0",
            "geteuid ret=0 errno=0 id=0",
            "getgid ret=0 errno=0 id=0",
            "getegid ret=0 errno=0 id=0",
            "getresuid ret=0 errno=0 ids=0,0,0",
            "getgroups ret=1 errno=0 n=1 groups=0",
        ]
    );
    // -U alone: the processes are that user (not root).
    assert_eq!(
        run(&w, &["-U", "123.456"], &["getresgid"]),
        "getresgid ret=0 errno=0 ids=456,456,456"
    );
    assert_eq!(
        run(&w, &["-U", "123.456"], &["geteuid"]),
        "geteuid ret=123 errno=0 id=123"
    );
    // Without -R/-U every id call is the real one.
    let uid = real_uid();
    assert_eq!(
        run(&w, &[], &["getuid"]),
        format!("getuid ret={uid} errno=0 id={uid}")
    );
    for call in ["getresuid", "getresgid", "getgroups", "getegid"] {
        assert_eq!(run(&w, &[], &[call]), native(&w, &[call]), "{call}");
    }
}

#[test]
fn set_ids_follow_the_posix_rules_against_the_virtual_ids() {
    let w = World::new("vperm-probes-setid");
    // `SB2 OPTIONS | CALL | the line after the function name`. The virtual
    // root may become anyone; setreuid (setregid) with a new real id makes
    // the saved id the new effective one. An ordinary virtual user may not,
    // whatever the real user may do, but may keep its own ids; setfsuid and
    // setfsgid never fail (they return the old id).
    let cases = [
        "-R | setuid 1000 | ret=0 errno=0 ids=1000,1000,1000",
        "-R | setresuid 5 6 7 | ret=0 errno=0 ids=5,6,7",
        "-R | setresgid -1 8 -1 | ret=0 errno=0 ids=0,8,0",
        "-R | setreuid 3 4 | ret=0 errno=0 ids=3,4,4",
        "-R | setregid 3 4 | ret=0 errno=0 ids=3,4,4",
        "-R | setregid -1 6 | ret=0 errno=0 ids=0,6,6",
        "-R | setegid 9 | ret=0 errno=0 ids=0,9,0",
        "-R | setfsuid 9 | ret=0 errno=0 now=9",
        "-R | setfsgid 9 | ret=0 errno=0 now=9",
        "-R | setgroups 4,5 | ret=0 errno=0 groups=4,5",
        // A user NSS does not know: the group given is the whole list.
        "-R | initgroups sb2-no-such-user 77 | ret=0 errno=0 groups=77",
        "-U 1000.1000 | setuid 0 | ret=-1 errno=EPERM ids=1000,1000,1000",
        "-U 1000.1000 | setgid 0 | ret=-1 errno=EPERM ids=1000,1000,1000",
        "-U 1000.1000 | setresuid -1 0 -1 | ret=-1 errno=EPERM ids=1000,1000,1000",
        "-U 1000.1000 | seteuid 1000 | ret=0 errno=0 ids=1000,1000,1000",
        "-U 1000.1000 | setregid 0 -1 | ret=-1 errno=EPERM ids=1000,1000,1000",
        "-U 1000.1000 | setregid -1 1000 | ret=0 errno=0 ids=1000,1000,1000",
        "-U 1000.1000 | setfsuid 0 | ret=1000 errno=0 now=1000",
        "-U 1000.1000 | setfsgid 0 | ret=1000 errno=0 now=1000",
        "-U 1000.1000 | setgroups 4 | ret=-1 errno=EPERM groups=1000",
        "-U 1000.1000 | initgroups sb2-no-such-user 5 | ret=-1 errno=EPERM groups=1000",
    ];
    for case in cases {
        let [opts, call, want]: [&str; 3] = case
            .split(" | ")
            .collect::<Vec<_>>()
            .try_into()
            .expect("OPTIONS | CALL | LINE");
        let opts: Vec<&str> = opts.split(' ').collect();
        let call: Vec<&str> = call.split(' ').collect();
        assert_eq!(
            run(&w, &opts, &call),
            format!("{} {want}", call[0]),
            "sb2 {opts:?} -- probe-vperm {call:?}"
        );
    }
    // Without -R/-U the kernel decides (initgroups: EPERM unless really
    // root).
    for call in [
        &["setregid", "-1", "-1"][..],
        &["setfsgid", "0"],
        &["initgroups", "sb2-no-such-user", "77"],
    ] {
        let host = native(&w, call);
        assert_eq!(run(&w, &[], call), host, "{call:?}");
        if real_uid() != 0 && call[0] == "initgroups" {
            assert!(host.starts_with("initgroups ret=-1 errno=EPERM"), "{host}");
        }
    }
}

#[test]
fn fchown_is_virtual_and_every_fstat_shows_it_for_the_session() {
    let w = World::new("vperm-probes-fchown");
    let f = file(&w, "f", 0o644);
    let before = owner_mode(&f);
    let lines = session(
        &w,
        &["-R"],
        &[
            &["fchown", "f", "123", "456"],
            &["fstat", "f"],
            &["fstat64", "f"],
            &["__fxstat", "f"],
            &["__fxstat64", "f"],
        ],
    );
    assert_eq!(lines[0], "fchown ret=0 errno=0");
    for (l, func) in lines[1..]
        .iter()
        .zip(["fstat", "fstat64", "__fxstat", "__fxstat64"])
    {
        assert_eq!(
            *l,
            format!("{func} ret=0 errno=0 uid=123 gid=456 mode=100644")
        );
    }
    // The real file is untouched: still the test user's.
    assert_eq!(owner_mode(&f), before);
    assert_eq!(before.0, real_uid());
    // The table ends with its session: a new one shows the user's file as
    // the unknown owner, root.
    assert_eq!(
        run(&w, &["-R"], &["fstat", "f"]),
        "fstat ret=0 errno=0 uid=0 gid=0 mode=100644"
    );
    // A virtual non-root user may not give its file away.
    assert_eq!(
        run(&w, &["-U", "1000.1000"], &["fchown", "f", "0", "0"]),
        "fchown ret=-1 errno=EPERM"
    );
}

#[test]
fn fchmod_set_id_bits_are_virtual_only() {
    let w = World::new("vperm-probes-fchmod");
    let f = file(&w, "f", 0o644);
    let lines = session(&w, &["-R"], &[&["fchmod", "f", "4755"], &["fstat", "f"]]);
    assert_eq!(
        lines,
        [
            "fchmod ret=0 errno=0",
            "fstat ret=0 errno=0 uid=0 gid=0 mode=104755"
        ]
    );
    // The real file got the permission bits but no set-user-ID bit.
    assert_eq!(owner_mode(&f).2 & 0o7777, 0o755);
}

#[test]
fn fts_read_and_fts_children_show_the_owners_recorded_in_the_session() {
    let w = World::new("vperm-probes-fts");
    file(&w, "d/a", 0o644);
    file(&w, "d/sub/b", 0o644);
    for d in ["d", "d/sub"] {
        fs::set_permissions(w.work.join(d), fs::Permissions::from_mode(0o755)).expect("chmod");
    }
    let lines = session(
        &w,
        &["-R"],
        &[
            &["fchown", "d/a", "123", "456"],
            &["fchown", "d/sub", "7", "8"],
            &["fts_read", "d"],
            &["fts64_read", "d"],
            &["fts_children", "d"],
            &["fts64_children", "d"],
        ],
    );
    // Unchowned files of the user show as the unknown owner, root. (glibc
    // stats fts_children's entries while building the list; by the time it
    // returns, their fts_accpath all point at the directory's own path.)
    let walk = "ret=4 errno=0 a:123:456:100644,b:0:0:100644,d:0:0:40755,sub:7:8:40755";
    let children = "ret=2 errno=0 a:123:456:100644,sub:7:8:40755";
    assert_eq!(
        lines[2..].to_vec(),
        [
            format!("fts_read {walk}"),
            format!("fts64_read {walk}"),
            format!("fts_children {children}"),
            format!("fts64_children {children}"),
        ]
    );
}

#[test]
fn privileged_xattrs_are_kept_as_user_sb2_names_under_r() {
    let w = World::new("vperm-probes-xattr");
    file(&w, "x", 0o644);
    file(&w, "y", 0o644);
    let name = "trusted.sb2test";
    assert_eq!(
        session(&w, &["-R"], &[&["fsetxattr", "x", name, "hello"]]),
        ["fsetxattr ret=0 errno=0"]
    );
    // On the file it is a user.* attribute (it follows the inode, into
    // later sessions too).
    assert_eq!(
        native(&w, &["flistxattr", "x"]),
        "flistxattr ret=25 errno=0 names=user.sb2.trusted.sb2test"
    );
    let lines = session(
        &w,
        &["-R"],
        &[
            &["fgetxattr", "x", name],
            &["flistxattr", "x"],
            &["fremovexattr", "x", name],
            &["flistxattr", "x"],
        ],
    );
    assert_eq!(
        lines,
        [
            "fgetxattr ret=5 errno=0 value=hello",
            "flistxattr ret=16 errno=0 names=trusted.sb2test",
            "fremovexattr ret=0 errno=0",
            "flistxattr ret=0 errno=0 names=",
        ]
    );
    assert_eq!(
        native(&w, &["flistxattr", "x"]),
        "flistxattr ret=0 errno=0 names="
    );
    // A virtual non-root user may not write them.
    assert_eq!(
        run(&w, &["-U", "1000.1000"], &["fsetxattr", "y", name, "v"]),
        "fsetxattr ret=-1 errno=EPERM"
    );
    // Without -R/-U the kernel decides (EPERM unless really root).
    let set = ["fsetxattr", "y", name, "v"];
    let host = native(&w, &set);
    assert_eq!(run(&w, &[], &set), host);
    if real_uid() != 0 {
        assert_eq!(host, "fsetxattr ret=-1 errno=EPERM");
    }
}

#[test]
fn capset_succeeds_for_the_virtual_root() {
    let w = World::new("vperm-probes-capset");
    assert_eq!(run(&w, &["-R"], &["capset"]), "capset ret=0 errno=0");
    // Otherwise the kernel's answer (EPERM unless really root).
    let host = native(&w, &["capset"]);
    assert_eq!(run(&w, &[], &["capset"]), host);
    assert_eq!(run(&w, &["-U", "1000.1000"], &["capset"]), host);
    if real_uid() != 0 {
        assert_eq!(host, "capset ret=-1 errno=EPERM");
    }
}

/// unshare and setns are the kernel's own answers in a session (the hooks
/// only note a user namespace entered, for the exec probe cache): a new
/// user namespace, and joining the one the process is in (EINVAL).
#[test]
fn namespace_calls_are_the_kernels() {
    let w = World::new("vperm-probes-ns");
    let newuser = format!("{:#x}", libc::CLONE_NEWUSER);
    for call in [
        vec!["unshare", newuser.as_str()],
        vec!["unshare", "0"],
        vec!["setns", "/proc/self/ns/user", newuser.as_str()],
        vec!["setns", "/proc/self/ns/user", "0"],
    ] {
        let host = native(&w, &call);
        assert_eq!(run(&w, &[], &call), host, "{call:?}");
    }
    assert_eq!(native(&w, &["unshare", &newuser]), "unshare ret=0 errno=0");
    assert_eq!(
        native(&w, &["setns", "/proc/self/ns/user", &newuser]),
        "setns ret=-1 errno=EINVAL"
    );
}
