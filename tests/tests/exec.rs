//! The session survives exec: a program that empties or edits its
//! environment still runs its children in the session (first part of
//! issue 3; program paths are not mapped yet).

use sb2_tests::*;

const FUNCS: &[&str] = &[
    "execve",
    "execvpe",
    "fexecve",
    "execv",
    "execvp",
    "posix_spawn",
    "posix_spawnp",
    "execveat",
    "system",
    "popen",
    "pclose",
];

#[test]
fn exec_all_restore_session_in_an_empty_environment() {
    let w = World::new("execenv");
    let probe = probe("exec");
    let ours = |l: &str| l.starts_with("LD_PRELOAD=/") && l.contains("/$PLATFORM/libsb2.so");
    for func in FUNCS {
        let o = w.sb2(&[probe.to_str().unwrap(), func, "/usr/bin/env"]);
        let s = stdout(&o);
        assert!(
            s.lines().any(|l| l.starts_with("SB2_SESSION_DIR=/")),
            "{func}: {}",
            text(&o)
        );
        assert!(
            s.lines().any(|l| ours(l) && l.ends_with("/libsb2.so")),
            "{func}: {}",
            text(&o)
        );
        // The user's own LD_PRELOAD and variables are kept, ours in front.
        let o = w.sb2(&[probe.to_str().unwrap(), func, "/usr/bin/env", "keep"]);
        let s = stdout(&o);
        assert!(s.contains("SB2_PROBE=1\n"), "{func}: {}", text(&o));
        assert!(
            s.lines()
                .any(|l| ours(l) && l.ends_with("/libsb2.so:/nonexistent/user-preload.so")),
            "{func}: {}",
            text(&o)
        );
        assert!(
            s.lines().any(|l| l.starts_with("SB2_SESSION_DIR=/")),
            "{func}: {}",
            text(&o)
        );
    }
}

#[test]
fn exec_env_i_child_is_still_mapped() {
    // `env -i` clears everything; the child still sees the mapped view.
    let w = World::new("envi");
    let real = w.write("real/file", "mapped\n");
    let rules = w.write(
        "r.lua",
        &format!(
            "fs_mapping_rules = {{\n  {{ rules = import_from_fs_rule_library(\"sb2_own\"), dir = \"/\" }},\n  {{ dir = \"/v\", replace_by = \"{}\" }},\n  {{ dir = \"/\", use_orig_path = true }},\n}}\n",
            real.parent().unwrap().display()
        ),
    );
    let o = w.sb2(&[
        "-M",
        rules.to_str().unwrap(),
        "sh",
        "-c",
        "env -i /bin/cat /v/file; env -u LD_PRELOAD /bin/cat /v/file",
    ]);
    assert_eq!(stdout(&o), "mapped\nmapped\n", "{}", text(&o));
}

#[test]
fn exec_uname_reports_the_target_machine() {
    let w = World::new("uname");
    w.init_target(target_root(), "arm", &["-A", "aarch64"]);
    w.init_target(
        target_root(),
        "named",
        &["-A", "aarch64", "-M", "armv8-sb2"],
    );
    let host = std::process::Command::new("uname")
        .arg("-m")
        .output()
        .unwrap();
    let host = stdout(&host);
    let o = w.sb2(&["-t", "host", "uname", "-m"]);
    assert_eq!(stdout(&o), host, "{}", text(&o));
    let o = w.sb2(&["-t", "arm", "uname", "-m"]);
    assert_eq!(stdout(&o), "aarch64\n", "{}", text(&o));
    let o = w.sb2(&["-t", "named", probe("misc").to_str().unwrap(), "uname"]);
    assert_eq!(
        stdout(&o),
        "uname ret=0 errno=0 armv8-sb2\n",
        "{}",
        text(&o)
    );
}
