//! Path corner cases where a session must behave as the kernel does
//! natively: `..` after a missing name or a file, a final `.` or `/`,
//! /proc magic links, a vfork child's chdir, a cwd renamed by another
//! process, a relative socket name in a deep cwd.

use sb2_tests::*;

/// A world with `/v` mapped onto `real/` (which does not exist on the host
/// as `/v`), and the same structure reachable natively.
fn mapped_world(name: &str) -> (World, String, std::path::PathBuf) {
    let w = World::new(name);
    let real = w.dir.join("real");
    std::fs::create_dir_all(real.join("d")).unwrap();
    std::fs::create_dir_all(real.join("a")).unwrap();
    std::fs::create_dir_all(real.join("b")).unwrap();
    std::fs::write(real.join("file"), "FILE\n").unwrap();
    std::fs::write(real.join("a/file"), "A\n").unwrap();
    std::os::unix::fs::symlink("d", real.join("dl")).unwrap();
    std::os::unix::fs::symlink("nowhere", real.join("dang")).unwrap();
    let rules = w.write(
        "rules.lua",
        &format!(
            "fs_mapping_rules = {{\n  {{ rules = import_from_fs_rule_library(\"sb2_own\"), dir = \"/\" }},\n  \
             {{ dir = \"/proc\", rules = import_from_fs_rule_library(\"proc\") }},\n  \
             {{ dir = \"/v\", replace_by = \"{}\" }},\n  {{ dir = \"/\", use_orig_path = true }},\n}}\n",
            real.display()
        ),
    );
    (w, rules.display().to_string(), real)
}

/// Runs `script` natively with $V = the real dir and in a session with
/// $V = /v; both outputs (stdout+stderr with the prefix replaced) must match.
fn same_as_native(w: &World, rules: &str, real: &std::path::Path, script: &str) {
    let native = w
        .cmd("sh")
        .args(["-c", script])
        .env("V", real)
        .output()
        .unwrap();
    let session = w
        .cmd(bin_dir().join("sb2"))
        .args(["-M", rules, "sh", "-c", script])
        .env("V", "/v")
        .output()
        .unwrap();
    let norm = |o: &std::process::Output| {
        format!(
            "{}{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        )
        .replace(&real.display().to_string(), "$V")
        .replace("/v", "$V")
    };
    assert_eq!(
        norm(&session),
        norm(&native),
        "script: {script}\nsession:\n{}",
        text(&session)
    );
}

#[test]
fn dotdot_after_missing_or_file_fails_as_in_the_kernel() {
    let (w, rules, real) = mapped_world("dotdot");
    same_as_native(
        &w,
        &rules,
        &real,
        "cat $V/nope/../file; echo $?; cat $V/file/../file; echo $?; cat $V/a/../file",
    );
}

#[test]
fn final_dot_and_trailing_slash_do_not_destroy() {
    let (w, rules, real) = mapped_world("dots");
    same_as_native(
        &w,
        &rules,
        &real,
        "rm $V/file/. 2>&1 | sed 's/^rm: //'; rmdir $V/d/. 2>&1 | sed 's/^rmdir: //'; rmdir $V/dl/ 2>&1 | sed 's/^rmdir: //'; \
         mkdir $V/dang/ 2>&1 | sed 's/^mkdir: //'; mkdir $V/new/. 2>&1 | sed 's/^mkdir: //'; ls -d $V/file $V/d $V/dl",
    );
    assert!(
        real.join("file").exists() && real.join("d").is_dir() && !real.join("nowhere").exists()
    );
}

#[test]
fn proc_magic_links_are_followed_by_the_kernel() {
    let (w, rules, _real) = mapped_world("proc");
    let o = w.sb2(&["-M", &rules, "sh", "-c", "echo piped | cat /dev/stdin; echo fd0 | cat /proc/self/fd/0; exec 3</v/file; cat /dev/fd/3"]);
    assert_eq!(stdout(&o), "piped\nfd0\nFILE\n", "{}", text(&o));
}

#[test]
fn vfork_child_chdir_leaves_parent_cwd_alone() {
    let (w, rules, _real) = mapped_world("vfork");
    let py = "import os, subprocess\nos.chdir('/v/a')\nprint(open('file').read().strip())\n\
              subprocess.run(['true'], cwd='/v/b', check=True)\nprint(open('file').read().strip(), os.getcwd())\n\
              open('new', 'w').write('x')\nprint(sorted(os.listdir('.')))\n";
    let f = w.write("t.py", py);
    let o = w.sb2(&["-M", &rules, "python3", f.to_str().unwrap()]);
    assert_eq!(stdout(&o), "A\nA /v/a\n['file', 'new']\n", "{}", text(&o));
}

#[test]
fn cwd_renamed_by_another_process() {
    let (w, rules, real) = mapped_world("cwdrename");
    let o = w.sb2(&[
        "-M",
        &rules,
        "sh",
        "-c",
        "cd /v/b && : > y && mv ../b ../c && echo hi > x && pwd && cat ../c/x",
    ]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(stdout(&o).ends_with("hi\n"), "{}", text(&o));
    assert!(real.join("c/x").exists());
}

#[test]
fn relative_unix_socket_in_a_deep_cwd() {
    let (w, rules, real) = mapped_world("sock");
    let deep = format!(
        "/v/{}",
        ["d"; 1]
            .iter()
            .map(|_| "x".repeat(60))
            .collect::<Vec<_>>()
            .join("/")
    );
    let deep = format!("{deep}/{}", "y".repeat(60));
    let py = format!(
        "import os, socket\nos.makedirs('{deep}')\nos.chdir('{deep}')\ns = socket.socket(socket.AF_UNIX)\ns.bind('s.sock')\nprint(os.path.exists('s.sock'))\n"
    );
    let f = w.write("t.py", &py);
    let o = w.sb2(&["-M", &rules, "python3", f.to_str().unwrap()]);
    assert_eq!(stdout(&o), "True\n", "{}", text(&o));
    assert!(real.join(&deep[3..]).join("s.sock").exists());
}
