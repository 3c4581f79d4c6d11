//! tests/probes/chroot.c, group by group: a real chroot (the oracle) and
//! the session (`sb2 -- probe-chroot OUTER GROUP`, the default
//! `--chroot=any`: an ordinary user may chroot) print the same lines.

use super::*;
use sb2_tests::probe;

/// Runs GROUP on both sides and compares; the oracle must have said
/// `anchors` (its setup is right).
fn group(name: &str, anchors: &[&str]) -> Pair {
    let p = Pair::new(&format!("probe-{name}"));
    let exe = probe("chroot");
    let real = oracle(
        &p.w,
        &p.real.new,
        &[exe.as_os_str(), p.real.outer.as_os_str(), OsStr::new(name)],
    );
    let sim = in_sb2(
        &p.w,
        &[],
        &[exe.as_os_str(), p.sim.outer.as_os_str(), OsStr::new(name)],
    );
    assert_oracle_says(&real, anchors);
    assert_same(&format!("probe-chroot {name}"), &real, &sim);
    p
}

#[test]
fn absolute_dotdot_symlinks_dirfds_and_proc_resolve_in_the_root() {
    group(
        "walk",
        &[
            "walk.chroot: ok",
            "walk.getcwd-cwd-outside: ENOENT",
            "walk.abs: inside",
            "walk.rel-from-outside: outer",
            "walk.dotdot3: inside",
            "walk.root-is-rootdotdot: same",
            "walk.proc-root: /",
            "walk.proc-root-dotdot: inside",
            "walk.proc-cwd-sub: /sub",
            "walk.proc-fd: /sub/MARK",
            "walk.rellink: inside",
            "walk.absout: inside",
            "walk.realpath-rellink: /sub",
            "walk.dirfd-root-dotdot: inside",
            "walk.dirfd-outside: outer",
            "walk.dirfd-outside-into-root-dotdot: inside",
            "walk.links40: inside",
            "walk.links41: ELOOP",
        ],
    );
}

#[test]
fn a_cwd_left_outside_stays_outside_until_it_meets_the_root() {
    group(
        "outside",
        &[
            "outside.getcwd: ENOENT",
            "outside.mark: outer",
            "outside.realpath-rel: ENOENT",
            "outside.realpath-abs: /MARK",
            "outside.exec-rel: inside",
            "outside.getcwd-up: ENOENT",
            "outside.up-mark: outer",
            "outside.getcwd-root: /",
            "outside.getcwd-still-root: /",
            "outside.mark-at-root: inside",
        ],
    );
}

#[test]
fn chroot_dot_from_a_held_outside_fd_moves_the_root_out() {
    group(
        "escape",
        &[
            "escape.chroot-dot: ok",
            "escape.getcwd: /",
            "escape.abs: outer",
            "escape.abs-new: inside",
        ],
    );
}

#[test]
fn chroot_slash_changes_nothing() {
    group(
        "self",
        &[
            "self.chroot-slash-outside: ok",
            "self.outer-by-path: outer",
            "self.abs: inside",
            "self.abs-again: inside",
            "self.abs-after-dot: inside",
        ],
    );
}

#[test]
fn symlink_stores_its_target_verbatim() {
    let p = group(
        "symlink",
        &[
            "symlink.readlink-abs: /MARK",
            "symlink.readlink-rel: ../../sub/MARK",
            "symlink.read-abs: inside",
        ],
    );
    // Read from outside the session too: the link on disk is what the
    // program asked for, not a host path.
    for (tree, side) in [(&p.real, "real"), (&p.sim, "sb2")] {
        for (name, want) in [("made-abs", "/MARK"), ("made-rel", "../../sub/MARK")] {
            let got = fs::read_link(tree.new.join(name))
                .unwrap_or_else(|e| panic!("{side}: readlink {name}: {e}"));
            assert_eq!(got, Path::new(want), "{side}: {name} on disk");
        }
    }
}

#[test]
fn nested_chroot_is_relative_to_the_current_root_and_cwd() {
    group(
        "nested",
        &[
            "nested.abs.abs: sub",
            "nested.rel-cwd-outside.chroot: ENOENT",
            "nested.rel.abs: sub",
            "nested.link.abs: sub",
            "nested.dotdot.abs: sub",
            "nested.slash.abs: inside",
            "nested.rel-dotdot.abs: sub",
        ],
    );
}

#[test]
fn escape_from_a_nested_chroot_ends_at_the_sessions_root() {
    group(
        "nested-escape",
        &[
            "nested-escape.chroot-sub: ok",
            "nested-escape.chroot-dot: ok",
            "nested-escape.getcwd: /",
            "nested-escape.outer-by-path: outer",
            // The host's / has no MARK.
            "nested-escape.abs-after-escape: ENOENT",
        ],
    );
}

/// In a target session (emulate mode: / is the target's root), the escape
/// from a nested chroot ends at the session's root, the target's, not at
/// the host's.
#[test]
fn escape_from_a_nested_chroot_in_a_target_session_ends_at_the_targets_root() {
    let w = World::new("chroot-probe-target-escape");
    let target = w.dir.join("target");
    sh_ok(&format!(
        "cp -a '{}' '{}' && echo target > '{}/MARK'",
        mini_root().display(),
        target.display(),
        target.display()
    ));
    w.init_target(&target, "chroot-target", &[]);
    let sb2_args = ["-t", "chroot-target", "-e"];
    let o = in_sb2(
        &w,
        &sb2_args,
        &[OsStr::new("/bin/cat"), OsStr::new("/MARK")],
    );
    assert_eq!(
        String::from_utf8_lossy(&o.stdout),
        "target\n",
        "the session's / must be the target's root:\n{}",
        text(&o)
    );
    // The probe is a program of the target (the host's libc is the
    // target's here), and the tree is in the target: OUTER is /outer.
    fs::copy(probe("chroot"), target.join("bin/probe-chroot")).expect("copy probe");
    Tree::new(&target);
    let o = in_sb2(
        &w,
        &sb2_args,
        &[
            OsStr::new("/bin/probe-chroot"),
            OsStr::new("/outer"),
            OsStr::new("nested-escape"),
        ],
    );
    let want = [
        "nested-escape.chroot: ok",
        "nested-escape.chdir-root: ok",
        "nested-escape.chroot-sub: ok",
        "nested-escape.chroot-dot: ok",
        "nested-escape.getcwd: /",
        "nested-escape.outer-by-path: outer",
        "nested-escape.abs-after-escape: target",
    ];
    assert_eq!(
        String::from_utf8_lossy(&o.stdout)
            .lines()
            .collect::<Vec<_>>(),
        want,
        "{}",
        text(&o)
    );
}

#[test]
fn no_escape_from_a_nested_chroot_with_the_cwd_inside() {
    group(
        "nested-stay",
        &["nested-stay.getcwd: /", "nested-stay.abs: sub"],
    );
}

#[test]
fn a_chroot_in_a_vfork_child_is_the_childs() {
    group(
        "vfork",
        &[
            "inside",
            "vfork.child: exit 0",
            "vfork.parent-root: same",
            "vfork.parent-rel: outer",
        ],
    );
}

#[test]
fn threads_share_the_root_while_it_moves() {
    group(
        "threads",
        &[
            "threads.main: ok",
            "threads.other-reads: 0",
            "threads.final: inside",
        ],
    );
}

#[test]
fn bad_arguments_fail_as_the_kernel_fails_them() {
    group(
        "bad",
        &[
            "bad.file: ENOTDIR",
            "bad.missing: ENOENT",
            "bad.empty: ENOENT",
            "bad.null: EFAULT",
            "bad.loop: ELOOP",
            "bad.long: ENAMETOOLONG",
            "bad.in-file: ENOTDIR",
            "bad.in-loop: ELOOP",
            "bad.still: inside",
        ],
    );
}

#[test]
fn the_root_survives_exec_with_a_cleared_null_or_hostile_environment() {
    group(
        "execenv",
        &[
            "execenv.clearenv: inside",
            "execenv.envp-null: inside",
            "execenv.envp-empty: inside",
            "execenv.envp-custom: inside",
            "execenv.clearenv-sh: inside",
        ],
    );
}
