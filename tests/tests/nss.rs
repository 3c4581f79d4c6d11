//! Name-service lookups answer from the /etc files the session maps
//! (preload/src/nss/): a rule file maps /etc/passwd, /etc/group and
//! /etc/shadow to files of the test that know a user and groups the host
//! does not (`onlyhere`, 4242:4243). Real programs (getent, id, ls -l,
//! python3's pwd and grp) and the probe `tests/probes/nss.c` (one line per
//! call: `FUNCTION ret=<value> errno=<NAME or 0>[ <payload>]`) see them;
//! without the mapping the host's answers are unchanged.

use sb2_tests::{probe, stdout, text, World};
use std::fs;
use std::path::PathBuf;
use std::process::Command;

const PASSWD: &str = "# the test's users\n\n\
root:x:0:0:root:/root:/bin/sh\n\
+nis\n\
onlyhere:x:4242:4243:Only Here:/home/onlyhere:/bin/sh\n\
second:x:4244:4243::/home/second:/bin/false\n";
const GROUP: &str = "root:x:0:\nonlyhere:x:4243:second\nextra:x:4250:onlyhere, second\n";
const SHADOW: &str = "onlyhere:$6$salt$hash:19000:0:99999:7:::\n";

/// A world whose rule file `rules.lua` maps the three databases to its
/// `etc/`.
fn world(name: &str) -> (World, PathBuf) {
    let w = World::new(name);
    let etc = w.dir.join("etc");
    fs::create_dir_all(&etc).expect("mkdir etc");
    for (f, t) in [("passwd", PASSWD), ("group", GROUP), ("shadow", SHADOW)] {
        fs::write(etc.join(f), t).expect("write");
    }
    let rules = w.dir.join("rules.lua");
    let e = etc.display();
    fs::write(
        &rules,
        format!(
            r#"fs_mapping_rules = {{
  {{ rules = import_from_fs_rule_library("sb2_own"), dir = "/" }},
  {{ path = "/etc/passwd", replace_by = "{e}/passwd" }},
  {{ path = "/etc/group", replace_by = "{e}/group" }},
  {{ path = "/etc/shadow", replace_by = "{e}/shadow" }},
  {{ path = "/etc/.pwd.lock", replace_by = "{e}/.pwd.lock" }},
  {{ dir = "/", use_orig_path = true }},
}}
"#
        ),
    )
    .expect("write rules");
    (w, rules)
}

fn sh(w: &World, sb2_args: &[&str], script: &str) -> String {
    let o = w.sh(sb2_args, script);
    assert!(
        o.status.success(),
        "sb2 {sb2_args:?} sh -c {script:?}:\n{}",
        text(&o)
    );
    stdout(&o)
}

#[test]
fn nss_real_programs_see_the_mapped_users() {
    let (w, rules) = world("nss-programs");
    let m = rules.to_str().expect("UTF-8");
    let out = sh(
        &w,
        &["-M", m],
        "getent passwd onlyhere; getent passwd 4244; getent group onlyhere; getent group 4250; \
         getent shadow onlyhere; id onlyhere; getent passwd | cut -d: -f1 | tr '\\n' ' '; echo; \
         getent passwd daemon || echo daemon-unknown",
    );
    assert_eq!(
        out,
        "onlyhere:x:4242:4243:Only Here:/home/onlyhere:/bin/sh\n\
         second:x:4244:4243::/home/second:/bin/false\n\
         onlyhere:x:4243:second\n\
         extra:x:4250:onlyhere,second\n\
         onlyhere:$6$salt$hash:19000:0:99999:7:::\n\
         uid=4242(onlyhere) gid=4243(onlyhere) groups=4243(onlyhere),4250(extra)\n\
         root onlyhere second \n\
         daemon-unknown\n"
    );
    let py = sh(
        &w,
        &["-M", m],
        "python3 -c 'import pwd, grp; p = pwd.getpwnam(\"onlyhere\"); g = grp.getgrgid(4250); \
         print(p.pw_uid, p.pw_gid, p.pw_dir, g.gr_name, g.gr_mem, pwd.getpwuid(4244).pw_name, \
         [x.pw_name for x in pwd.getpwall()], [x.gr_name for x in grp.getgrall()])'",
    );
    assert_eq!(
        py,
        "4242 4243 /home/onlyhere extra ['onlyhere', 'second'] second \
         ['root', 'onlyhere', 'second'] ['root', 'onlyhere', 'extra']\n"
    );
    // ls -l names a file's virtual owner (sb2 -R: chown works unprivileged).
    let ls = sh(
        &w,
        &["-R", "-M", m],
        "touch f && chown 4242:4243 f && ls -l f | cut -d' ' -f3,4 && \
         chown second:extra f && ls -ln f | cut -d' ' -f3,4",
    );
    assert_eq!(ls, "onlyhere onlyhere\n4244 4250\n");
}

/// Runs probe-nss with ARGS in a session with the rules (None: no rules).
fn run(w: &World, rules: Option<&str>, args: &[&str]) -> String {
    let exe = probe("nss");
    let mut a: Vec<&str> = Vec::new();
    if let Some(r) = rules {
        a.extend(["-M", r]);
    }
    a.push("--");
    let exe = exe.to_str().expect("UTF-8").to_owned();
    a.push(&exe);
    a.extend_from_slice(args);
    let o = w.sb2(&a);
    assert!(o.status.success(), "sb2 {a:?}:\n{}", text(&o));
    stdout(&o).trim_end().to_owned()
}

#[test]
fn nss_probe_answers_exactly_as_glibc_would_from_the_file() {
    let (w, rules) = world("nss-probe");
    let m = Some(rules.to_str().expect("UTF-8"));
    // `ARGS | the line`. Return values and errno as glibc's nss_files
    // gives them (checked against glibc on the same files bind-mounted
    // over /etc): lookups set errno to what they return (0 when not
    // found), ERANGE when a line does not fit the buffer, enumeration
    // ends with ENOENT and leaves errno. `+`/`-` lines are skipped.
    let cases = [
        "getpwnam onlyhere | ret=ptr errno=0 onlyhere:x:4242:4243:Only Here:/home/onlyhere:/bin/sh",
        "getpwnam nosuch | ret=NULL errno=0",
        "getpwnam +nis | ret=NULL errno=0",
        "getpwuid 4244 | ret=ptr errno=0 second:x:4244:4243::/home/second:/bin/false",
        "getpwuid 1 | ret=NULL errno=0",
        "getgrnam extra | ret=ptr errno=0 extra:x:4250:onlyhere,second",
        "getgrgid 4243 | ret=ptr errno=0 onlyhere:x:4243:second",
        "getspnam onlyhere | ret=ptr errno=0 onlyhere:$6$salt$hash:19000:0:99999:7:-1:-1:-1",
        "getpwnam_r onlyhere 4 | ret=ERANGE errno=ERANGE NULL",
        "getpwnam_r onlyhere 1024 | ret=0 errno=0 onlyhere:x:4242:4243:Only Here:/home/onlyhere:/bin/sh",
        "getpwnam_r nosuch 1024 | ret=0 errno=0 NULL",
        "getpwuid_r 4242 100 | ret=0 errno=0 onlyhere:x:4242:4243:Only Here:/home/onlyhere:/bin/sh",
        "getgrnam_r extra 8 | ret=ERANGE errno=ERANGE NULL",
        "getgrnam_r nosuch 1024 | ret=0 errno=0 NULL",
        "getgrgid_r 4250 1024 | ret=0 errno=0 extra:x:4250:onlyhere,second",
        "getspnam_r onlyhere 1024 | ret=0 errno=0 onlyhere:$6$salt$hash:19000:0:99999:7:-1:-1:-1",
        "getspnam_r onlyhere 4 | ret=ERANGE errno=ERANGE NULL",
        "getspnam_r nosuch 1024 | ret=0 errno=0 NULL",
        "getpwent | ret=3 errno=0 root,onlyhere,second",
        "getgrent | ret=3 errno=0 root,onlyhere,extra",
        // ERANGE leaves the cursor: a retry gets the same entry.
        "getpwent_r 4 | ret=0 errno=ERANGE first=ERANGE root,onlyhere,second end=ENOENT",
        "getgrent_r 1024 | ret=0 errno=0 first=0 root,onlyhere,extra end=ENOENT",
        "setpwent | ret=void errno=0 root,onlyhere|root",
        "endpwent | ret=void errno=0 root,onlyhere|root",
        "setgrent | ret=void errno=0 root,onlyhere|root",
        "endgrent | ret=void errno=0 root,onlyhere|root",
        "getgrouplist onlyhere 4243 10 | ret=2 errno=0 n=2 4243,4250",
        "getgrouplist onlyhere 4243 1 | ret=-1 errno=0 n=2",
        "getgrouplist second 7 10 | ret=3 errno=0 n=3 7,4243,4250",
        // The mapped lock file is taken (the host's needs real root).
        "lckpwdf | ret=0 errno=0 again=-1",
        "ulckpwdf | ret=0 errno=0 again=-1",
    ];
    let mut bad = Vec::new();
    let lock = w.dir.join("etc/.pwd.lock");
    for case in cases {
        let (args, want) = case.split_once(" | ").expect("ARGS | LINE");
        let args: Vec<&str> = args.split(' ').collect();
        let got = run(&w, m, &args);
        let want = format!("{} {want}", args[0]);
        if got != want {
            bad.push(format!("probe-nss {args:?}\n  got:  {got}\n  want: {want}"));
        }
        if args[0] == "lckpwdf" && !lock.exists() {
            bad.push(format!("lckpwdf made no {}", lock.display()));
        }
    }
    assert!(bad.is_empty(), "{}", bad.join("\n"));
}

#[test]
fn nss_initgroups_takes_the_mapped_group_file() {
    let (w, rules) = world("nss-initgroups");
    let exe = probe("vperm");
    let o = w.sb2(&[
        "-R",
        "-M",
        rules.to_str().expect("UTF-8"),
        "--",
        exe.to_str().expect("UTF-8"),
        "initgroups",
        "onlyhere",
        "4243",
    ]);
    assert_eq!(
        stdout(&o),
        "initgroups ret=0 errno=0 groups=4243,4250\n",
        "{}",
        text(&o)
    );
}

#[test]
fn nss_without_the_mapping_the_host_answers() {
    let w = World::new("nss-host");
    let host = |args: &[&str]| {
        let o = Command::new(args[0])
            .args(&args[1..])
            .env_remove("LD_PRELOAD")
            .output()
            .expect("run");
        stdout(&o)
    };
    let out = sh(
        &w,
        &[],
        "getent passwd root; getent group root; id -un; id -u",
    );
    assert_eq!(
        out,
        format!(
            "{}{}{}{}",
            host(&["getent", "passwd", "root"]),
            host(&["getent", "group", "root"]),
            host(&["id", "-un"]),
            host(&["id", "-u"])
        )
    );
    assert_eq!(
        sh(&w, &[], "getent passwd onlyhere || echo unknown"),
        "unknown\n"
    );
    let probe_host = |args: &[&str]| {
        let o = Command::new(probe("nss"))
            .args(args)
            .env_remove("LD_PRELOAD")
            .env_remove("SB2_SESSION_DIR")
            .output()
            .expect("probe");
        stdout(&o).trim_end().to_owned()
    };
    for args in [
        &["getpwnam", "root"][..],
        &["getpwuid_r", "0", "1024"],
        &["getgrgid", "0"],
        &["getgrnam_r", "root", "4"],
    ] {
        assert_eq!(run(&w, None, args), probe_host(args), "{args:?}");
    }
}
