//! Real programs in the root, `chroot(8)` and all: `sb2 -- chroot NEW
//! /bin/sh -c SCRIPT` against `chroot NEW /bin/sh -c SCRIPT` in a user
//! namespace. Every line of SCRIPT prints `LABEL: OUTPUT rc=STATUS`.

use super::*;

/// `t LABEL CMD...`: one line with the command's stdout and stderr joined.
const T: &str = "t() { l=$1; shift; o=$(\"$@\" 2>&1); r=$?; echo \"$l: $(echo $o) rc=$r\"; }\n";

fn differ(name: &str, sb2_args: &[&str], script: &str, anchors: &[&str]) -> Pair {
    let p = Pair::new(name);
    let script = format!("{T}{script}");
    let real = oracle(&p.w, &p.real.new, &chroot_sh(&p.real.new, &script));
    let sim = in_sb2(&p.w, sb2_args, &chroot_sh(&p.sim.new, &script));
    assert_oracle_says(&real, anchors);
    assert_same(name, &real, &sim);
    p
}

#[test]
fn paths_and_escape_attempts_resolve_in_the_root() {
    differ(
        "cmd-paths",
        &[],
        "t abs cat /MARK
         t dotdot cat /../../../MARK
         t abslink cat /abslink/../abslink/MARK
         t rellink cat /rellink/MARK /rellink/rellink/sub/MARK
         t absout cat /absout
         t links-out cat /abslink/rellink/../../MARK
         t proc-root-dotdot cat /proc/self/root/../../MARK
         t cd-up sh -c 'cd ../../..; pwd; pwd -P; cat MARK'
         t cd-up-twice sh -c 'cd /sub; cd ../../../sub/../..; /bin/pwd; cat MARK'
         t ls-root ls /
         t ls-up ls /../..
         t same-inode sh -c '[ / -ef /.. ] && [ / -ef /abslink/.. ] && echo same'
         t missing cat /nope
         t loop cat /loop
         t notdir cat /afile/x
         t test-e test -e /bin/cat",
        &[
            "abs: inside rc=0",
            "dotdot: inside rc=0",
            "rellink: inside sub rc=0",
            "cd-up: / / inside rc=0",
            "same-inode: same rc=0",
        ],
    );
}

#[test]
fn proc_self_and_pwd_answer_relative_to_the_root() {
    differ(
        "cmd-proc",
        &[],
        "t exe readlink /proc/self/exe
         t root readlink /proc/self/root
         t cwd sh -c 'cd /sub && readlink /proc/self/cwd'
         t fd sh -c 'readlink /proc/self/fd/3 3</sub/MARK'
         t ls-proc-root ls /proc/self/root/
         t proc-root-mark cat /proc/self/root/MARK
         t pwd-P sh -c 'cd /sublink && pwd -P'
         t pwd-L sh -c 'cd /sublink && pwd'
         t bin-pwd sh -c 'cd /sublink && /bin/pwd -P'
         t realpath realpath /rellink/sub/../sublink /abslink/.. /absout
         t readlink-f readlink -f /rellink/rellink/sublink
         t comm cat /proc/self/comm
         t dev-null sh -c 'echo x >/dev/null && echo written'",
        &[
            "exe: /bin/readlink rc=0",
            "root: / rc=0",
            "cwd: /sub rc=0",
            "fd: /sub/MARK rc=0",
            "pwd-P: /sub rc=0",
            "pwd-L: /sublink rc=0",
            "realpath: /sub / /MARK rc=0",
        ],
    );
}

#[test]
fn symlinks_made_in_the_root_keep_their_target() {
    let p = differ(
        "cmd-symlink",
        &[],
        "t ln ln -s /MARK /made
         t ln-rel ln -s ../sub/MARK /sub/made
         t readlink readlink /made /sub/made
         t cat cat /made /sub/made
         t ls-l sh -c 'ls -l /made | sed \"s/.* -> //\"'",
        &["readlink: /MARK ../sub/MARK rc=0", "cat: inside sub rc=0"],
    );
    assert_eq!(
        fs::read_link(p.sim.new.join("made")).expect("readlink"),
        Path::new("/MARK"),
        "the link on disk holds the program's target, not a host path"
    );
    assert_eq!(
        fs::read_link(p.sim.new.join("sub/made")).expect("readlink"),
        Path::new("../sub/MARK")
    );
}

#[test]
fn writes_by_absolute_and_climbing_paths_land_in_the_root() {
    let p = differ(
        "cmd-write",
        &[],
        "t mkdir mkdir /../../made-dir
         t cp sh -c 'cat /sub/MARK > /../made-dir/f && cat /made-dir/f'
         t mv sh -c 'cd /sub && mv ../../../made-dir/f ../../moved && cat /moved'
         t ln sh -c 'ln /moved /abslink/hard && cat /hard'
         t rm sh -c 'rm /rellink/hard && test ! -e /hard && echo gone'
         t rmdir sh -c 'rmdir /sub/../../made-dir && test ! -e /made-dir && echo gone'
         t touch-link sh -c 'touch /absout && cat /MARK'
         t ls-root ls /",
        &[
            "cp: sub rc=0",
            "mv: sub rc=0",
            "ln: sub rc=0",
            "rm: gone rc=0",
        ],
    );
    for side in [&p.real, &p.sim] {
        assert_eq!(
            fs::read_to_string(side.new.join("moved")).ok().as_deref(),
            Some("sub\n"),
            "{} has no moved file",
            side.new.display()
        );
        assert!(!side.outer.join("made-dir").exists());
        assert!(!side.outer.join("moved").exists());
    }
}

#[test]
fn the_root_survives_every_exec_and_a_cleared_environment() {
    differ(
        "cmd-exec",
        &[],
        "t env-i env -i /bin/cat /MARK
         t env-i-sh env -i /bin/sh -c 'cat /MARK; readlink /proc/self/root; cd ..; pwd -P'
         t env-i-twice env -i /bin/env -i /bin/sh -c 'cat /../MARK'
         t exec sh -c 'exec cat /MARK'
         t env-u env -u PATH /bin/cat /MARK
         t ld-preload env LD_PRELOAD= /bin/cat /MARK
         t nested-sh sh -c 'sh -c \"sh -c \\\"cat /MARK\\\"\"'",
        &[
            "env-i: inside rc=0",
            "env-i-sh: inside / / rc=0",
            "env-i-twice: inside rc=0",
            "ld-preload: inside rc=0",
        ],
    );
}

#[test]
fn chroot8_inside_the_root_nests() {
    // The nested root has no programs: chroot(8) fails to run one, the
    // same way on both sides (and only if /sub was found, in the root).
    differ(
        "cmd-nested",
        &[],
        "t sub chroot /sub /bin/true
         t sublink chroot /sublink /bin/true
         t file chroot /afile /bin/true
         t missing chroot /missing /bin/true
         t self chroot / /bin/cat /MARK
         t dot sh -c 'cd /sub; chroot .. /bin/cat /MARK'",
        &[
            "sub: chroot: failed to run command '/bin/true': No such file or directory rc=127",
            "self: inside rc=0",
            "dot: inside rc=0",
        ],
    );
}

#[test]
fn names_come_from_the_roots_etc_passwd() {
    // uid 0 is `toor` in the root (root on the host).
    differ(
        "cmd-nss",
        &["-R"],
        "t id-un id -un
         t id-gn id -gn
         t ls-n sh -c 'touch /owned; stat -c %U:%G /owned'",
        &["id-un: toor rc=0", "id-gn: toorgrp rc=0"],
    );
    // Without -R the caller's own uid is `chrootuser` in the root.
    let p = Pair::new("cmd-nss-user");
    let o = in_sb2(&p.w, &[], &chroot_sh(&p.sim.new, "id -un"));
    assert_eq!(stdout_of(&o), "chrootuser\n", "{}", text(&o));
}

fn stdout_of(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

#[test]
fn a_root_without_proc_dev_sys_shows_the_sessions() {
    // The oracle binds them onto empty directories; the session must show
    // them whether or not the directories exist.
    let p = Pair::new("cmd-proc-missing");
    for d in ["proc", "dev", "sys"] {
        fs::remove_dir(p.sim.new.join(d)).expect("rmdir");
    }
    let script =
        "cat /proc/self/comm; echo x >/dev/null && echo devnull; test -d /sys/kernel && echo sys";
    let real = oracle(&p.w, &p.real.new, &chroot_sh(&p.real.new, script));
    let sim = in_sb2(&p.w, &[], &chroot_sh(&p.sim.new, script));
    assert_oracle_says(&real, &["cat", "devnull", "sys"]);
    assert_same("proc, dev and sys in the root", &real, &sim);
}

/// `NAME=VALUE` lines of an `env` output, as (name, value).
fn env_vars(o: &Output) -> Vec<(String, String)> {
    stdout_of(o)
        .lines()
        .filter_map(|l| l.split_once('='))
        .map(|(n, v)| (n.to_owned(), v.to_owned()))
        .collect()
}

#[test]
fn a_user_set_environment_value_neither_makes_nor_moves_a_root() {
    let p = Pair::new("cmd-env-state");
    let (w, new, outer) = (&p.w, &p.sim.new, &p.sim.outer);
    let plain = in_sb2(w, &[], &[OsStr::new("env")]);
    assert!(plain.status.success(), "{}", text(&plain));
    let chrooted = in_sb2(
        w,
        &[],
        &[
            OsStr::new("chroot"),
            new.as_os_str(),
            OsStr::new("/bin/env"),
        ],
    );
    assert!(chrooted.status.success(), "{}", text(&chrooted));
    // What the chroot added to the environment, if it carries its state
    // there: a program may set, clear or copy it, and the root stays.
    let before: Vec<String> = env_vars(&plain).into_iter().map(|(n, _)| n).collect();
    let added: Vec<(String, String)> = env_vars(&chrooted)
        .into_iter()
        .filter(|(n, _)| {
            !before.contains(n) && !["PWD", "OLDPWD", "_", "SHLVL"].contains(&n.as_str())
        })
        .collect();
    let cat_in = |env_args: &[String]| {
        let mut a: Vec<&OsStr> = vec![
            OsStr::new("chroot"),
            new.as_os_str(),
            OsStr::new("/bin/env"),
        ];
        a.extend(env_args.iter().map(OsStr::new));
        a.extend([OsStr::new("/bin/cat"), OsStr::new("/MARK")]);
        in_sb2(w, &[], &a)
    };
    for (name, value) in &added {
        for args in [
            vec![format!("{name}=/")],
            vec![format!("{name}=")],
            vec!["-u".to_owned(), name.clone()],
            vec!["-i".to_owned(), format!("{name}={}", outer.display())],
        ] {
            let o = cat_in(&args);
            assert_eq!(
                stdout_of(&o),
                "inside\n",
                "env {args:?} in the root:\n{}",
                text(&o)
            );
        }
        // Nor does it change what /proc/self/exe names.
        for v in ["/", "", "/bin/false", &outer.display().to_string()] {
            let mut a: Vec<&OsStr> = vec![
                OsStr::new("chroot"),
                new.as_os_str(),
                OsStr::new("/bin/env"),
            ];
            let set = format!("{name}={v}");
            a.extend([
                OsStr::new(&set),
                OsStr::new("/bin/readlink"),
                OsStr::new("/proc/self/exe"),
            ]);
            let o = in_sb2(w, &[], &a);
            assert_eq!(
                stdout_of(&o),
                "/bin/readlink\n",
                "env {set} readlink /proc/self/exe in the root:\n{}",
                text(&o)
            );
        }
        // Set outside any chroot, the value makes none.
        for v in [value.clone(), new.display().to_string()] {
            let o = in_sb2(
                w,
                &[],
                &[
                    OsStr::new("env"),
                    OsStr::new(&format!("{name}={v}")),
                    OsStr::new("/bin/cat"),
                    outer.join("MARK").as_os_str(),
                ],
            );
            assert_eq!(
                stdout_of(&o),
                "outer\n",
                "{name}={v} outside a chroot:\n{}",
                text(&o)
            );
        }
    }
}
