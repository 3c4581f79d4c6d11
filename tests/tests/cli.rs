//! The `sb2`, `sb2-init`, `sb2-config` and `sb2-show` command lines: exit
//! statuses, targets, modes, persistent sessions, rule file errors.

use sb2_tests::*;

#[test]
fn cli_exit_status_is_the_commands() {
    let w = World::new("exit");
    assert_eq!(w.sb2(&["true"]).status.code(), Some(0));
    assert_eq!(w.sb2(&["false"]).status.code(), Some(1));
    assert_eq!(w.sb2(&["sh", "-c", "exit 42"]).status.code(), Some(42));
}

#[test]
fn cli_signal_gives_128_plus_n_and_says_which() {
    let w = World::new("signal");
    let o = w.sb2(&["sh", "-c", "kill -TERM $$"]);
    assert_eq!(o.status.code(), Some(128 + 15), "{}", text(&o));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("signal 15") && err.contains("Terminated"),
        "{}",
        text(&o)
    );
}

#[test]
fn cli_not_found_127_not_executable_126() {
    let w = World::new("notfound");
    let o = w.sb2(&["no-such-command-sb2"]);
    assert_eq!(o.status.code(), Some(127), "{}", text(&o));
    assert!(String::from_utf8_lossy(&o.stderr).contains("command not found"));
    let f = w.write("notexec", "#!/bin/sh\necho hi\n");
    let o = w.sb2(&[f.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(126), "{}", text(&o));
}

#[test]
fn cli_version_and_help() {
    let w = World::new("version");
    let o = w.sb2(&["-v"]);
    assert!(stdout(&o).starts_with("sb2 "), "{}", text(&o));
    let o = w.sb2(&["-h"]);
    let s = stdout(&o);
    for opt in [
        "-t", "-m", "-e", "-M", "-L", "-d", "-q", "-W", "-O", "-S", "-J", "-D", "-c",
    ] {
        assert!(s.contains(&format!("{opt} ")), "help lacks {opt}:\n{s}");
    }
}

/// A bad command line fails like a Unix tool's: status 125 (sb2's own
/// error, never the status of a command), one line on stderr that names
/// the option and says what to do, nothing run.
#[test]
fn cli_bad_options_fail_with_one_line_and_125() {
    let w = World::new("badopt");
    let cases: [(&[&str], &str, &str); 5] = [
        (&["-X", "foo"], "'-X'", "'-- -X'"),
        (
            &["--allow-writes", "/tmp", "true"],
            "'--allow-writes'",
            "did you mean '--allow-write'?",
        ),
        (&["-t"], "'-t'", "needs a value"),
        (&["-e", "-m", "simple", "true"], "'-e'", "'-m'"),
        (&["-d", "-L", "info", "true"], "'-d'", "'-L'"),
    ];
    for (args, option, hint) in cases {
        let o = w.sb2(args);
        assert_eq!(o.status.code(), Some(125), "sb2 {args:?}: {}", text(&o));
        let e = String::from_utf8_lossy(&o.stderr);
        assert_eq!(e.lines().count(), 1, "sb2 {args:?}: {}", text(&o));
        assert!(
            e.starts_with("sb2: ")
                && e.contains(option)
                && e.contains(hint)
                && e.contains("see 'sb2 --help'"),
            "sb2 {args:?}: {}",
            text(&o)
        );
        assert!(o.stdout.is_empty(), "sb2 {args:?}: {}", text(&o));
    }
}

/// Options after the command name are the command's; a command named like
/// an option needs `--`.
#[test]
fn cli_options_after_the_command_and_double_dash() {
    let w = World::new("dashdash");
    let o = w.sb2(&["sh", "-c", "echo \"$@\"", "sh", "-j4", "-t", "--", "-X"]);
    assert_eq!(stdout(&o), "-j4 -t -- -X\n", "{}", text(&o));
    let o = w.sb2(&["--", "-x"]);
    assert_eq!(o.status.code(), Some(127), "{}", text(&o));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("sb2: -x: command not found"),
        "{}",
        text(&o)
    );
}

/// `--help` and `--version` of every tool print to stdout and exit 0.
#[test]
fn cli_every_tool_has_help_and_version() {
    let w = World::new("helpversion");
    for tool in [
        "sb2",
        "sb2-init",
        "sb2-config",
        "sb2-show",
        "sb2-logz",
        "sb2-fakeroot",
    ] {
        for flag in ["--help", "--version"] {
            let o = w.cmd(bin_dir().join(tool)).arg(flag).output().unwrap();
            assert_eq!(o.status.code(), Some(0), "{tool} {flag}: {}", text(&o));
            assert!(!o.stdout.is_empty(), "{tool} {flag}: {}", text(&o));
        }
        let o = w
            .cmd(bin_dir().join(tool))
            .arg("--no-such-option")
            .output()
            .unwrap();
        assert_eq!(o.status.code(), Some(125), "{tool}: {}", text(&o));
        assert_eq!(
            String::from_utf8_lossy(&o.stderr).lines().count(),
            1,
            "{tool}: {}",
            text(&o)
        );
    }
}

#[test]
fn cli_no_nesting_runs_in_current_session() {
    let w = World::new("nest");
    let o = w.sb2(&[
        "sh",
        "-c",
        "outer=$SB2_SESSION_DIR; sb2 sh -c 'echo inner=$SB2_SESSION_DIR'; echo outer=$outer",
    ]);
    assert!(o.status.success(), "{}", text(&o));
    let s = stdout(&o);
    let inner = s.lines().find_map(|l| l.strip_prefix("inner=")).unwrap();
    let outer = s.lines().find_map(|l| l.strip_prefix("outer=")).unwrap();
    assert_eq!(inner, outer, "a second session was created");
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("do not nest"),
        "{}",
        text(&o)
    );
}

#[test]
fn cli_unknown_mode_lists_valid_ones() {
    let w = World::new("badmode");
    let o = w.sb2(&["-m", "bogus", "true"]);
    assert_eq!(o.status.code(), Some(125));
    let e = String::from_utf8_lossy(&o.stderr);
    assert!(
        e.contains("'bogus'")
            && e.contains("simple")
            && e.contains("emulate")
            && e.contains("nomap"),
        "{}",
        text(&o)
    );
}

#[test]
fn cli_unknown_target_lists_valid_ones() {
    let w = World::new("badtarget");
    w.init_target(target_root(), "known", &[]);
    let o = w.sb2(&["-t", "nosuch", "true"]);
    assert_eq!(o.status.code(), Some(125));
    let e = String::from_utf8_lossy(&o.stderr);
    assert!(
        e.contains("'nosuch'") && e.contains("known") && e.contains("host"),
        "{}",
        text(&o)
    );
}

#[test]
fn cli_unknown_log_level_lists_valid_ones() {
    let w = World::new("badlevel");
    let o = w.sb2(&["-L", "loud", "true"]);
    assert_eq!(o.status.code(), Some(125));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("debug"),
        "{}",
        text(&o)
    );
    assert!(w.sb2(&["-L", "info", "true"]).status.success());
    assert!(w.sb2(&["-d", "-q", "true"]).status.success());
}

#[test]
fn rules_syntax_error_names_file_and_line() {
    let w = World::new("syntax");
    let f = w.write("bad.lua", "fs_mapping_rules = {\n  { dir = \"/\", use_orig_path = true },\n  { dir = \"/x\" map_to = \"/y\" },\n}\n");
    let o = w.sb2(&["-M", f.to_str().unwrap(), "echo", "must-not-run"]);
    assert_eq!(o.status.code(), Some(125), "{}", text(&o));
    assert!(!stdout(&o).contains("must-not-run"));
    let e = String::from_utf8_lossy(&o.stderr);
    assert!(
        e.contains(&format!("{}:3:", f.display())),
        "no file:line in: {e}"
    );
}

#[test]
fn rules_semantic_error_names_file_line_and_problem() {
    let w = World::new("semantic");
    let f = w.write("bad.lua", "fs_mapping_rules = {\n  { dir = \"/\", use_orig_path = true },\n\n  { dir = \"/x\", mapto = \"/y\" },\n}\n");
    let o = w.sb2(&["-M", f.to_str().unwrap(), "true"]);
    assert_eq!(o.status.code(), Some(125));
    let e = String::from_utf8_lossy(&o.stderr);
    assert!(
        e.contains(&format!("{}:4:", f.display())) && e.contains("unknown key 'mapto'"),
        "{e}"
    );
    let f = w.write(
        "bad2.lua",
        "fs_mapping_rules = {\n  { dir = \"/\", map_to = undefined_variable },\n}\n",
    );
    let o = w.sb2(&["-M", f.to_str().unwrap(), "true"]);
    let e = String::from_utf8_lossy(&o.stderr);
    assert!(
        e.contains(&format!("{}:2:", f.display())) && e.contains("nil"),
        "{e}"
    );
}

#[test]
fn cli_custom_rule_file_maps() {
    let w = World::new("custom");
    let real = w.write("real/hello", "mapped hello\n");
    let f = w.write(
        "r.lua",
        &format!(
            "fs_mapping_rules = {{\n  {{ dir = \"/virtual\", replace_by = \"{}\" }},\n  {{ dir = \"/\", use_orig_path = true }},\n}}\n",
            real.parent().unwrap().display()
        ),
    );
    let o = w.sb2(&["-M", f.to_str().unwrap(), "cat", "/virtual/hello"]);
    assert_eq!(stdout(&o), "mapped hello\n", "{}", text(&o));
}

#[test]
fn cli_persistent_session_save_join_delete() {
    let w = World::new("persist");
    let info = w.work.join("session.info");
    let o = w.sb2(&[
        "-S",
        info.to_str().unwrap(),
        "-m",
        "simple",
        "-m",
        "nomap",
        "sh",
        "-c",
        "echo $SB2_SESSION_DIR",
    ]);
    assert!(o.status.success(), "{}", text(&o));
    let dir = stdout(&o).trim().to_string();
    assert!(
        std::path::Path::new(&dir).join("ruletree.bin").exists(),
        "session dir removed"
    );
    let o = w.sb2(&[
        "-J",
        info.to_str().unwrap(),
        "-m",
        "nomap",
        "sh",
        "-c",
        "echo $SB2_SESSION_DIR; sb2-show ruletree | grep '^mode'",
    ]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(stdout(&o).starts_with(&dir), "{}", text(&o));
    let o = w.sb2(&["-J", info.to_str().unwrap(), "-m", "emulate", "true"]);
    assert_eq!(o.status.code(), Some(125));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("simple, nomap"),
        "{}",
        text(&o)
    );
    let o = w.sb2(&["-D", info.to_str().unwrap()]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(!std::path::Path::new(&dir).exists() && !info.exists());
}

#[test]
fn cli_session_dir_option_and_cleanup() {
    let w = World::new("wdir");
    let d = w.dir.join("mysession");
    let o = w.sb2(&[
        "-W",
        d.to_str().unwrap(),
        "sh",
        "-c",
        "echo $SB2_SESSION_DIR; test -f $SB2_SESSION_DIR/ruletree.bin",
    ]);
    assert!(o.status.success(), "{}", text(&o));
    assert_eq!(stdout(&o).trim(), d.to_str().unwrap());
    assert!(!d.exists(), "session directory not cleaned up");
    let o = w.sb2(&["-W", "relative", "true"]);
    assert_eq!(o.status.code(), Some(125));
}

#[test]
fn cli_target_config_and_default() {
    let w = World::new("config");
    let cfg = |args: &[&str]| {
        w.cmd(bin_dir().join("sb2-config"))
            .args(args)
            .output()
            .unwrap()
    };
    w.init_target(target_root(), "alpha", &["-A", "aarch64", "-m", "emulate"]);
    w.init_target(target_root(), "beta", &[]);
    assert_eq!(stdout(&cfg(&["-l"])), "alpha\nbeta\n");
    assert_eq!(
        stdout(&cfg(&["showtarget"])).trim(),
        "alpha",
        "the first target becomes the default"
    );
    assert!(cfg(&["-d", "beta"]).status.success());
    assert_eq!(stdout(&cfg(&["showtarget"])).trim(), "beta");
    let text_cfg = std::fs::read_to_string(w.dir.join("config/sb2/targets/alpha/config")).unwrap();
    assert!(
        text_cfg.contains("SB2_CONFIG_VERSION=1")
            && text_cfg.contains("ARCH=aarch64")
            && text_cfg.contains("MODE=emulate")
    );
    assert!(cfg(&["-t", "beta", "setenv", "SB2_TEST_VAR", "hello"])
        .status
        .success());
    assert!(cfg(&["-t", "beta", "clearenv", "HOME_SB2_CLEARED"])
        .status
        .success());
    assert!(stdout(&cfg(&["-t", "beta", "showenv"])).contains("SB2_TEST_VAR=hello"));
    let o = w
        .cmd(bin_dir().join("sb2"))
        .env("HOME_SB2_CLEARED", "x")
        .args([
            "sh",
            "-c",
            "echo $SB2_TEST_VAR; echo ${HOME_SB2_CLEARED:-unset}",
        ])
        .output()
        .unwrap();
    assert_eq!(stdout(&o), "hello\nunset\n", "{}", text(&o));
    assert!(cfg(&["-t", "beta", "unsetenv", "SB2_TEST_VAR"])
        .status
        .success());
    assert!(!stdout(&cfg(&["-t", "beta", "showenv"])).contains("SB2_TEST_VAR"));
    let o = cfg(&["-d", "nosuch"]);
    assert!(!o.status.success() && String::from_utf8_lossy(&o.stderr).contains("alpha"));
}

#[test]
fn init_refuses_a_directory_that_is_not_a_root() {
    let w = World::new("initcheck");
    let o = w.cmd(bin_dir().join("sb2-init")).arg("t").output().unwrap();
    assert!(!o.status.success());
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("-s"),
        "{}",
        text(&o)
    );
}

#[test]
fn show_path_names_the_rule_file_and_line() {
    let w = World::new("showpath");
    w.init_target(target_root(), "t", &[]);
    let o = w.sb2(&["-e", "sb2-show", "path", "/etc/hostname", "/data/rel_link"]);
    let s = stdout(&o);
    assert!(
        s.contains(&format!(
            "/etc/hostname => {}/etc/hostname (readonly)",
            target_root().display()
        )),
        "{}",
        text(&o)
    );
    assert!(s.contains("lib/emulate.lua:"), "{}", text(&o));
    assert!(s.contains("resolved: /etc/hostname"), "{}", text(&o));
    let o = w.sb2(&["-e", "sb2-show", "which", "/usr/include/sb2test.h"]);
    assert_eq!(
        stdout(&o).trim(),
        format!("{}/usr/include/sb2test.h", target_root().display())
    );
    let o = w.sb2(&[
        "-e",
        "sb2-show",
        "reverse",
        &format!("{}/etc", target_root().display()),
    ]);
    assert!(stdout(&o).contains("=> /etc"), "{}", text(&o));
    assert!(stdout(&o).contains("rule: dir / => map_to"), "{}", text(&o));
    let o = w.sb2(&["-e", "sh", "-c", "cd /etc && sb2-show realcwd"]);
    assert_eq!(
        stdout(&o).trim(),
        format!("{}/etc", target_root().display()),
        "{}",
        text(&o)
    );
    let o = w.sb2(&["-e", "sb2-show", "ruletree"]);
    assert!(
        stdout(&o).contains("mode emulate (default)") && stdout(&o).contains("reverse rules:"),
        "{}",
        text(&o)
    );
}

#[test]
fn session_dir_removed_under_a_running_program() {
    let w = World::new("removed");
    // The shell keeps its mapping; a program started after the removal says
    // clearly what happened and does not crash.
    let o = w.sb2(&[
        "sh",
        "-c",
        "rm -rf \"$SB2_SESSION_DIR\"; cat /etc/hostname; echo status=$?",
    ]);
    let e = String::from_utf8_lossy(&o.stderr);
    assert!(
        e.contains("sb2: session file") && e.contains("removed"),
        "{}",
        text(&o)
    );
    let s = stdout(&o);
    assert!(s.contains("status="), "{}", text(&o));
    assert!(
        !s.contains("status=139") && !s.contains("status=134"),
        "crashed: {}",
        text(&o)
    );
}

#[test]
fn cli_log_level_writes_json_lines_with_rules() {
    let w = World::new("log");
    w.init_target(target_root(), "t", &["-m", "emulate"]);
    let logs = w.dir.join("logs");
    let o = w
        .cmd(bin_dir().join("sb2"))
        .env("SB2_LOG_DIR", &logs)
        .args([
            "-d",
            "sh",
            "-c",
            "cat /etc/hostname >/dev/null; touch /etc/denied 2>/dev/null; true",
        ])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", text(&o));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("sb2: log: "),
        "{}",
        text(&o)
    );
    let f = std::fs::read_dir(&logs)
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let log = std::fs::read_to_string(f).unwrap();
    let map = log
        .lines()
        .find(|l| {
            l.contains("\"ev\":\"map\"")
                && l.contains("\"prog\":\"cat\"")
                && l.contains("\"vpath\":\"/etc/hostname\"")
        })
        .unwrap_or_else(|| panic!("no map event for cat:\n{log}"));
    assert!(
        map.contains(&format!(
            "\"hpath\":\"{}/etc/hostname\"",
            target_root().display()
        )),
        "{map}"
    );
    assert!(map.contains("lib/emulate.lua:"), "{map}");
    assert!(
        log.lines().any(|l| l.contains("\"ev\":\"deny\"")
            && l.contains("/etc/denied")
            && l.contains("EROFS")),
        "no deny event:\n{log}"
    );
    // -q: no log message; without -L: no log at all.
    let o = w
        .cmd(bin_dir().join("sb2"))
        .env("SB2_LOG_DIR", w.dir.join("logs2"))
        .args(["true"])
        .output()
        .unwrap();
    assert!(!String::from_utf8_lossy(&o.stderr).contains("log"));
    assert!(!w.dir.join("logs2").exists());
}

#[test]
fn badinput_bad_result_buffer_is_efault_not_a_crash() {
    let w = World::new("badbuf");
    let o = w.sb2(&[probe("badbuf").to_str().unwrap(), "/etc/hostname"]);
    assert_eq!(
        stdout(&o),
        "stat=-1 EFAULT statx=-1 EFAULT fstatat=-1 EFAULT\n",
        "{}",
        text(&o)
    );
}

#[test]
fn cli_no_command_starts_a_shell_in_the_session() {
    use std::io::Write;
    let w = World::new("shell");
    let mut child = w
        .cmd(bin_dir().join("sb2"))
        .env("SHELL", "/bin/sh")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"test -f \"$SB2_SESSION_DIR/ruletree.bin\" && echo in-session\nexit 3\n")
        .unwrap();
    let o = child.wait_with_output().unwrap();
    assert_eq!(stdout(&o), "in-session\n", "{}", text(&o));
    assert_eq!(o.status.code(), Some(3));
}

#[test]
fn cli_logs_go_to_the_xdg_state_directory_by_default() {
    let w = World::new("log-xdg");
    // Default: $HOME/.local/state/sb2.
    let o = w.sb2(&["-d", "cat", "/etc/hostname"]);
    assert!(o.status.success(), "{}", text(&o));
    let dir = w.home.join(".local/state/sb2");
    let logs: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}: {}", dir.display(), text(&o)))
        .filter_map(|e| e.ok())
        .collect();
    assert_eq!(logs.len(), 1, "{}", text(&o));
    assert!(
        text(&o).contains(&dir.display().to_string()),
        "sb2 names the file: {}",
        text(&o)
    );
    // $XDG_STATE_HOME when set.
    let state = w.dir.join("state");
    let o = w
        .cmd(bin_dir().join("sb2"))
        .env("XDG_STATE_HOME", &state)
        .args(["-d", "cat", "/etc/hostname"])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", text(&o));
    assert_eq!(
        std::fs::read_dir(state.join("sb2")).unwrap().count(),
        1,
        "{}",
        text(&o)
    );
    assert!(!w.home.join("sb2_logs").exists());
}
