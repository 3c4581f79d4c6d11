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
];

#[test]
fn exec_all_restore_session_in_an_empty_environment() {
    let w = World::new("execenv");
    let lib = bin_dir().join("libsb2.so").canonicalize().unwrap();
    let probe = probe("exec");
    for func in FUNCS {
        let o = w.sb2(&[probe.to_str().unwrap(), func, "/usr/bin/env"]);
        let s = stdout(&o);
        assert!(
            s.lines().any(|l| l.starts_with("SB2_SESSION_DIR=/")),
            "{func}: {}",
            text(&o)
        );
        assert!(
            s.lines()
                .any(|l| l == format!("LD_PRELOAD={}", lib.display())),
            "{func}: {}",
            text(&o)
        );
        // The user's own LD_PRELOAD and variables are kept, ours in front.
        let o = w.sb2(&[probe.to_str().unwrap(), func, "/usr/bin/env", "keep"]);
        let s = stdout(&o);
        assert!(s.contains("SB2_PROBE=1\n"), "{func}: {}", text(&o));
        assert!(
            s.lines()
                .any(|l| l == format!("LD_PRELOAD={}:/nonexistent/user-preload.so", lib.display())),
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
