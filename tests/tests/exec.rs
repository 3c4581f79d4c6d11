//! The session survives exec: a program that empties or edits its
//! environment still runs its children in the session; exec errors are
//! the kernel's; scripts run through their interpreter.

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
    "execl",
    "execle",
    "execlp",
    "system",
    "popen",
    "pclose",
];

#[test]
fn exec_all_restore_session_in_an_empty_environment() {
    let w = World::new("execenv");
    let probe = probe("exec");
    // A host session names the host's build directly (no `$PLATFORM`:
    // the loader would read /proc/self/exe at every exec to expand it).
    let ours = |l: &str| {
        l.starts_with("LD_PRELOAD=/")
            && l.contains("/preload/")
            && l.contains(&format!("/{}/libsb2.so", std::env::consts::ARCH))
    };
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

#[test]
fn exec_argv0_kept_for_scripts_and_binaries_by_relative_absolute_and_path_names() {
    // Scratchbox2's test-argv0, on the host target: what the program sees
    // as $0 / argv[0] is what the caller passed.
    let w = World::new("argv0");
    w.write("bin/s.sh", "#!/bin/sh\necho \"$0\"\n");
    w.write(
        "bin/b.c",
        "#include <stdio.h>\nint main(int c, char **v) { printf(\"%s\\n\", v[0]); return 0; }\n",
    );
    let o = w
        .cmd("gcc")
        .args(["-o", "bin/b", "bin/b.c"])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", text(&o));
    let o = w.cmd("chmod").args(["+x", "bin/s.sh"]).output().unwrap();
    assert!(o.status.success());
    let d = w.work.display();
    let o = w.sh(
        &[],
        &format!("./bin/s.sh; {d}/bin/s.sh; PATH=$PWD/bin:$PATH s.sh; ./bin/b; {d}/bin/b; PATH=$PWD/bin:$PATH b"),
    );
    assert_eq!(
        stdout(&o),
        format!("./bin/s.sh\n{d}/bin/s.sh\n{d}/bin/s.sh\n./bin/b\n{d}/bin/b\nb\n"),
        "{}",
        text(&o)
    );
    // sb2 starts the session's command through the same pipeline.
    let o = w.sb2(&["./bin/b"]);
    assert_eq!(stdout(&o), "./bin/b\n", "{}", text(&o));
}

#[test]
fn exec_env_shebang_finds_the_interpreter_in_the_virtual_path() {
    require("python3");
    let w = World::new("envpy");
    w.write(
        "py",
        "#!/usr/bin/env python3\nimport sys\nprint('py', sys.argv[0], sys.argv[1:])\n",
    );
    let o = w.cmd("chmod").args(["+x", "py"]).output().unwrap();
    assert!(o.status.success());
    let o = w.sb2(&["./py", "a", "b c"]);
    assert_eq!(stdout(&o), "py ./py ['a', 'b c']\n", "{}", text(&o));
    let o = w.sb2(&["sb2-show", "exec", "./py", "x"]);
    assert!(stdout(&o).contains("python3 ./py x"), "{}", text(&o));
}

#[test]
fn exec_errors_are_the_kernels() {
    let w = World::new("execerr");
    let p = probe("exec");
    let p = p.to_str().unwrap();
    w.write("noint", "#!/nonexistent/interp\n");
    w.write("noexec", "#!/bin/sh\necho hi\n");
    w.write("garbage", "\x01\x02 not a program\n");
    std::fs::create_dir_all(w.work.join("dir")).unwrap();
    for (i, name) in ["l1", "l2", "l3", "l4", "l5", "l6"].iter().enumerate() {
        let next = ["l2", "l3", "l4", "l5", "l6", "l1"][i];
        w.write(name, &format!("#!{}/{next}\n", w.work.display()));
    }
    let o = w
        .cmd("chmod")
        .args(["+x", "noint", "garbage", "l1", "l2", "l3", "l4", "l5", "l6"])
        .output()
        .unwrap();
    assert!(o.status.success());
    for (prog, errno) in [
        ("./noint", "ENOENT"),
        ("./missing", "ENOENT"),
        ("./noexec", "EACCES"),
        ("./dir", "EACCES"),
        ("./garbage", "ENOEXEC"),
        ("./l1", "ELOOP"),
    ] {
        let native = w.cmd(p).args(["execve", prog]).output().unwrap();
        let o = w.sb2(&[p, "execve", prog]);
        let want = format!("execve ret=-1 errno={errno}\n");
        assert_eq!(stdout(&native), want, "native {prog}: {}", text(&native));
        assert_eq!(stdout(&o), want, "{prog}: {}", text(&o));
    }
    // E2BIG: an argument longer than the kernel accepts.
    let native = w.cmd(p).args(["execve-big", "/bin/true"]).output().unwrap();
    let o = w.sb2(&[p, "execve-big", "/bin/true"]);
    assert_eq!(
        stdout(&native),
        "execve ret=-1 errno=E2BIG\n",
        "{}",
        text(&native)
    );
    assert_eq!(stdout(&o), "execve ret=-1 errno=E2BIG\n", "{}", text(&o));
    // execvp runs a file the kernel cannot execute with /bin/sh (POSIX).
    w.write("plain", "echo from-sh \"$0\"\n");
    let o = w.cmd("chmod").args(["+x", "plain"]).output().unwrap();
    assert!(o.status.success());
    let o = w.sb2(&[p, "execvp", "./plain"]);
    assert_eq!(stdout(&o), "from-sh ./plain\n", "{}", text(&o));
}

#[test]
fn exec_static_binary_runs_and_is_logged_once() {
    let w = World::new("static");
    w.write(
        "st.c",
        "#include <stdio.h>\nint main(void) { puts(\"static ok\"); return 0; }\n",
    );
    let o = w
        .cmd("gcc")
        .args(["-static", "-o", "st", "st.c"])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", text(&o));
    let logs = w.dir.join("logs");
    let o = w
        .cmd(bin_dir().join("sb2"))
        .env("SB2_LOG_DIR", &logs)
        .args(["-L", "warning", "sh", "-c", "./st; ./st"])
        .output()
        .unwrap();
    assert_eq!(stdout(&o), "static ok\nstatic ok\n", "{}", text(&o));
    let log: String = std::fs::read_dir(&logs)
        .unwrap()
        .flatten()
        .map(|e| std::fs::read_to_string(e.path()).unwrap())
        .collect();
    let events: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("\"ev\":\"static\""))
        .collect();
    assert_eq!(events.len(), 1, "{log}");
    assert!(
        events[0].contains("not mapped") && events[0].contains("/st\""),
        "{log}"
    );
}

#[test]
fn exec_first_command_is_found_in_the_sessions_path_and_run_by_sh_without_shebang() {
    let w = World::new("firstcmd");
    // sb2-config setenv PATH: the session's first command is looked up in
    // the session's PATH.
    w.write("tools/mytool", "#!/bin/sh\necho mytool \"$0\"\n");
    w.write("plain", "echo plain-by-sh\n");
    let o = w
        .cmd("chmod")
        .args(["+x", "tools/mytool", "plain"])
        .output()
        .unwrap();
    assert!(o.status.success());
    w.init_target(target_root(), "t", &[]);
    let path = format!("{}/tools:/usr/bin:/bin", w.work.display());
    let o = w
        .cmd(bin_dir().join("sb2-config"))
        .args(["-t", "t", "setenv", "PATH", &path])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", text(&o));
    let o = w.sb2(&["-t", "t", "mytool"]);
    assert_eq!(
        stdout(&o),
        format!("mytool {}/tools/mytool\n", w.work.display()),
        "{}",
        text(&o)
    );
    // A script without #! runs with /bin/sh, as execvp does.
    let o = w.sb2(&["-t", "t", "./plain"]);
    assert_eq!(stdout(&o), "plain-by-sh\n", "{}", text(&o));
}

/// Python's `run(p='./p')`: posix_spawn of `p`, printing `spawn ERRNO`
/// when it is refused.
const SPAWN_P: &str = r#"
import os
def run(p='./p'):
    try:
        pid = os.posix_spawn(p, [p], dict(os.environ))
    except OSError as e:
        print('spawn', e.errno, flush=True)
        return
    os.waitpid(pid, 0)
"#;

/// A process that starts the same program again and again (make's
/// posix_spawn of sh) reads it once: the exec pipeline remembers each
/// program's first bytes and the kernel's permission, for the same file
/// with the same times. A changed file (same size, same inode), a chmod
/// and a replacement must each be seen at the next exec, as the kernel
/// sees them.
#[test]
fn exec_sees_a_program_changed_between_two_spawns() {
    require("python3");
    let w = World::new("respawn");
    let script = SPAWN_P.to_owned()
        + r#"
def write(text, mode=0o755):
    with open('p.new', 'w') as f:
        f.write(text)
    os.chmod('p.new', mode)
    os.rename('p.new', 'p')
write('#!/bin/sh\necho one\n')
# Old enough to be remembered (a file changed in the last seconds is not).
import time; time.sleep(3)
run(); run()
# Same size, same inode: rewritten in place.
with open('p', 'r+') as f:
    f.write('#!/bin/cat\n')
run()
os.chmod('p', 0o644)
run()
os.chmod('p', 0o755)
run()
write('#!/bin/sh\necho two\n')
run()
"#;
    w.write("t.py", &script);
    let o = w.sb2(&["python3", "t.py"]);
    assert_eq!(
        stdout(&o),
        "one\none\n#!/bin/cat\ncho one\nspawn 13\n#!/bin/cat\ncho one\ntwo\n",
        "{}",
        text(&o)
    );
}

/// The exec probe cache holds the kernel's permission to execute a file
/// for the credentials the process had: after a capset that drops
/// CAP_DAC_OVERRIDE (root in a user namespace of our own), group-only
/// executable scripts must be refused, as the kernel refuses them
/// natively: one its owner cannot read either, and one it can.
/// (A script: its interpreter is what the pipeline hands the kernel, so
/// the probe is the only check of the script itself.)
#[test]
fn exec_probe_cache_follows_a_change_of_credentials() {
    require("python3");
    require("unshare");
    let w = World::new("creds");
    let script = SPAWN_P.to_owned()
        + r#"
import ctypes, time
# Group-only: root may run it by CAP_DAC_OVERRIDE alone. p: unreadable by
# its owner too (reading it fails as well); q: readable (only the
# permission to execute decides).
for name, mode, text in (('p', 0o070, 'one'), ('q', 0o474, 'two')):
    with open(name, 'w') as f:
        f.write('#!/bin/sh\necho %s\n' % text)
    os.chmod(name, mode)
# Old enough to be remembered (a file changed in the last seconds is not).
time.sleep(3)
run(); run(); run('./q'); run('./q')
libc = ctypes.CDLL(None, use_errno=True)
class Hdr(ctypes.Structure):
    _fields_ = [('version', ctypes.c_uint32), ('pid', ctypes.c_int)]
class Data(ctypes.Structure):
    _fields_ = [('effective', ctypes.c_uint32), ('permitted', ctypes.c_uint32), ('inheritable', ctypes.c_uint32)]
h = Hdr(0x20080522, 0)
d = (Data * 2)()
if libc.capget(ctypes.byref(h), d) != 0:
    print('capget', ctypes.get_errno())
d[0].effective &= ~((1 << 1) | (1 << 2))  # CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH
if libc.capset(ctypes.byref(h), d) != 0:
    print('capset', ctypes.get_errno())
run(); run('./q')
"#;
    w.write("t.py", &script);
    let native = w
        .cmd("unshare")
        .args(["-r", "python3", "t.py"])
        .output()
        .expect("run unshare");
    assert_eq!(
        stdout(&native),
        "one\none\ntwo\ntwo\nspawn 13\nspawn 13\n",
        "natively: {}",
        text(&native)
    );
    let o = w.sb2(&["unshare", "-r", "python3", "t.py"]);
    assert_eq!(stdout(&o), stdout(&native), "{}", text(&o));
}
