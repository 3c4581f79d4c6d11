//! The mapped file system view seen by real programs (coreutils, find,
//! python3, gcc) in the modes: target files, symlinks resolved in the
//! virtual view, relative paths, `*at` calls, read-only target, private /tmp.

use sb2_tests::*;

fn run_ok(w: &World, args: &[&str], script: &str) -> String {
    let o = w.sh(args, script);
    assert!(o.status.success(), "script failed:\n{script}\n{}", text(&o));
    stdout(&o)
}

#[test]
fn fs_emulate_shows_the_target_root() {
    let w = World::new("emulate");
    let t = target_root();
    w.init_target(t, "tgt", &["-m", "emulate"]);
    let s = run_ok(
        &w,
        &[],
        "cat /etc/hostname; ls / | tr '\\n' ' '; echo; test -e /data/file && echo exists; \
         test -e /usr/include/stdio.h || echo no-host-stdio; stat -c %s /data/file; \
         find /data -name deep; find /data/dir_link/ -type f",
    );
    assert_eq!(
        s,
        "target-hostname\nbin data etc lib usr \nexists\nno-host-stdio\n16\n/data/sub/deep\n/data/dir_link/deep\n",
        "emulate view"
    );
}

#[test]
fn fs_symlinks_resolve_in_the_virtual_view() {
    let w = World::new("symlinks");
    w.init_target(target_root(), "tgt", &["-m", "emulate"]);
    let s = run_ok(
        &w,
        &[],
        "cat /etc/abs_link /data/rel_link /data/dir_link/deep; readlink -f /etc/abs_link; realpath /data/dir_link/deep; \
         readlink /etc/abs_link; realpath -m /data/dangling",
    );
    assert_eq!(s, "target-hostname\ntarget-hostname\ndeep\n/etc/hostname\n/data/sub/deep\n/etc/hostname\n/nonexistent\n");
    let o = w.sb2(&["cat", "/data/loop_a"]);
    assert!(!o.status.success());
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("Too many levels of symbolic links"),
        "{}",
        text(&o)
    );
    let o = w.sb2(&["cat", "/data/dangling"]);
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("No such file"),
        "{}",
        text(&o)
    );
}

#[test]
fn fs_relative_paths_and_cwd_after_cd() {
    let w = World::new("relative");
    w.init_target(target_root(), "tgt", &["-m", "emulate"]);
    let s = run_ok(&w, &[], "cd /data && cat file && cd sub && cat deep && pwd && /bin/pwd && cat ../file && readlink /proc/self/cwd && realpath .");
    assert_eq!(
        s,
        "from the target\ndeep\n/data/sub\n/data/sub\nfrom the target\n/data/sub\n/data/sub\n"
    );
}

#[test]
fn fs_python_os_functions() {
    let w = World::new("python");
    w.init_target(target_root(), "tgt", &["-m", "emulate"]);
    let script = "import os\n\
        print(sorted(os.listdir('/data')))\n\
        print(os.stat('/data/file').st_size, os.path.exists('/data/loop_a'), os.path.islink('/data/loop_a'))\n\
        print(os.readlink('/etc/abs_link'), os.path.realpath('/data/dir_link/deep'))\n\
        d = os.open('/data/sub', os.O_RDONLY)\n\
        print(os.stat('deep', dir_fd=d).st_size, sorted(os.listdir(d)))\n\
        os.chdir('/data')\n\
        print(os.getcwd(), os.path.abspath('file'), open('rel_link').read().strip())\n\
        print([sorted(f) for _, _, f in os.walk('/data/sub')])\n\
        try:\n    open('/etc/new', 'w')\nexcept OSError as e:\n    print(e.strerror)\n";
    let f = w.write("t.py", script);
    let o = w.sb2(&["python3", f.to_str().unwrap()]);
    assert_eq!(
        stdout(&o),
        "['dangling', 'dir_link', 'file', 'loop_a', 'loop_b', 'rel_link', 'sub']\n\
         16 False True\n\
         /etc/hostname /data/sub/deep\n\
         5 ['deep']\n\
         /data /data/file target-hostname\n\
         [['deep']]\n\
         Read-only file system\n",
        "{}",
        text(&o)
    );
}

#[test]
fn fs_directory_fds_follow_reuse_and_renames() {
    // A dirfd's path is cached (checked by the fd's inode and the
    // session's rename counter) and a name under a directory mapped to
    // itself goes to the kernel relative to the fd: neither may answer
    // for the wrong directory.
    let w = World::new("dirfds");
    w.init_target(target_root(), "tgt", &["-m", "emulate"]);
    let script = "import os\n\
        d = os.open('/data/sub', os.O_RDONLY)\n\
        print(os.stat('deep', dir_fd=d).st_size)\n\
        os.close(d)\n\
        e = os.open('/etc', os.O_RDONLY)\n\
        print(e == d, os.stat('hostname', dir_fd=e).st_size, os.path.exists('/etc/deep'))\n\
        try:\n    os.stat('deep', dir_fd=e)\nexcept OSError as x:\n    print(x.strerror)\n\
        os.close(e)\n\
        os.makedirs('a/in')\n\
        open('a/f', 'w').write('12345')\n\
        a = os.open('a', os.O_RDONLY)\n\
        print(os.stat('f', dir_fd=a).st_size, os.path.isdir(os.path.join('/proc/self/fd', str(a), 'in')))\n\
        os.rename('a', 'b')\n\
        os.mkdir('a')\n\
        open('a/f', 'w').write('1')\n\
        print(os.stat('f', dir_fd=a).st_size, sorted(os.listdir(a)))\n\
        fd = os.open('f', os.O_RDONLY, dir_fd=a)\n\
        print(os.read(fd, 9))\n";
    let f = w.write("t.py", script);
    let o = w.sb2(&["python3", f.to_str().unwrap()]);
    assert_eq!(
        stdout(&o),
        "5\nTrue 16 False\nNo such file or directory\n5 True\n5 ['f', 'in']\nb'12345'\n",
        "{}",
        text(&o)
    );
}

#[test]
fn fs_target_is_read_only_and_workdir_is_real() {
    let w = World::new("writes");
    w.init_target(target_root(), "tgt", &["-m", "emulate"]);
    let o = w.sh(&[], "touch /etc/newfile; echo touch=$?; mkdir /data/newdir; echo mkdir=$?; rm -f /data/file; echo rm=$?; \
                       echo written > out.txt && echo ok; echo private > /tmp/sb2-private-probe; cat /tmp/sb2-private-probe");
    let s = stdout(&o);
    assert!(
        s.contains("touch=1") && s.contains("mkdir=1") && s.contains("rm=1"),
        "{}",
        text(&o)
    );
    let e = String::from_utf8_lossy(&o.stderr);
    assert!(
        e.matches("Read-only file system").count() >= 3,
        "{}",
        text(&o)
    );
    assert!(s.contains("ok\nprivate\n"), "{}", text(&o));
    assert_eq!(
        std::fs::read_to_string(w.work.join("out.txt")).unwrap(),
        "written\n"
    );
    assert!(
        !std::path::Path::new("/tmp/sb2-private-probe").exists(),
        "/tmp was not private"
    );
    assert!(
        target_root().join("data/file").exists() && !target_root().join("etc/newfile").exists()
    );
    // -O use-global-tmp gives the host's /tmp.
    let name = format!("/tmp/sb2-global-{}", std::process::id());
    let o = w.sb2(&["-O", "use-global-tmp", "touch", &name]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(std::path::Path::new(&name).exists());
    let _ = std::fs::remove_file(&name);
}

#[test]
fn fs_simple_headers_and_libraries_from_the_target() {
    require("gcc");
    require("readelf");
    let w = World::new("simple");
    w.init_target(target_root(), "tgt", &["-m", "simple"]);
    // The test root has no libc headers: only the target's own header is used.
    w.write("main.c", "#include <sb2test.h>\n#include <sb2abs.h>\nint main(void){ return sb2_target_value() - 42 + SB2_TARGET_HEADER - 1; }\n");
    let s = run_ok(
        &w,
        &[],
        "cat /usr/include/sb2rel.h | head -1; test -e /usr/include/sb2test.h && echo header; \
         test -e /data/file || echo host-root; cat /etc/hostname >/dev/null && echo host-etc; \
         gcc -c main.c -o main.o && echo compiled; gcc -o prog main.o -lsb2test && echo linked; \
         python3 -c 'import os; print(os.path.exists(\"/usr/include/sb2test.h\"), os.path.realpath(\"/usr/include/sb2abs.h\"))'; \
         touch /usr/include/new.h 2>/dev/null || echo readonly",
    );
    assert_eq!(
        s,
        "int sb2_target_value(void);\nheader\nhost-root\nhost-etc\ncompiled\nlinked\nTrue /usr/include/sb2test.h\nreadonly\n"
    );
    let o = std::process::Command::new("readelf")
        .arg("-d")
        .arg(w.work.join("prog"))
        .output()
        .unwrap();
    assert!(
        stdout(&o).contains("Shared library: [libsb2test.so]"),
        "{}",
        text(&o)
    );
}

#[test]
fn fs_nomap_and_tools_modes() {
    let w = World::new("modes");
    w.init_target(target_root(), "tgt", &[]);
    let o = w.sb2(&[
        "-m",
        "nomap",
        "sh",
        "-c",
        "test -e /data/file || echo unmapped",
    ]);
    assert_eq!(stdout(&o), "unmapped\n", "{}", text(&o));
    // tools mode: everything from the tools root.
    let o = w.sb2(&[
        "-m",
        "tools",
        "-T",
        target_root().to_str().unwrap(),
        "cat",
        "/etc/hostname",
    ]);
    assert_eq!(stdout(&o), "target-hostname\n", "{}", text(&o));
    // tools mode without a tools root maps nothing.
    let o = w.sb2(&[
        "-m",
        "tools",
        "sh",
        "-c",
        "test -e /data/file || echo unmapped",
    ]);
    assert_eq!(stdout(&o), "unmapped\n", "{}", text(&o));
}

#[test]
fn fs_accel_union_dir_lists_both_roots_and_stays_current() {
    let w = World::new("accel");
    w.init_target(target_root(), "tgt", &[]);
    let tools = w.dir.join("tools");
    std::fs::create_dir_all(tools.join("usr/share/aclocal")).unwrap();
    std::fs::write(tools.join("usr/share/aclocal/tools.m4"), "dnl tools\n").unwrap();
    let t = tools.to_str().unwrap();
    let o = w.sb2(&["-m", "accel", "-T", t, "ls", "/usr/share/aclocal"]);
    assert_eq!(stdout(&o), "sb2-target.m4\ntools.m4\n", "{}", text(&o));
    let o = w.sb2(&[
        "-m",
        "devel",
        "-T",
        t,
        "sh",
        "-c",
        "cat /usr/share/aclocal/tools.m4 /usr/share/aclocal/sb2-target.m4",
    ]);
    assert_eq!(stdout(&o), "dnl tools\ndnl target\n", "{}", text(&o));
    std::fs::remove_file(tools.join("usr/share/aclocal/tools.m4")).unwrap();
    std::fs::write(tools.join("usr/share/aclocal/new.m4"), "").unwrap();
    let o = w.sb2(&["-m", "accel", "-T", t, "ls", "/usr/share/aclocal"]);
    assert_eq!(stdout(&o), "new.m4\nsb2-target.m4\n", "{}", text(&o));
}

#[test]
fn fs_same_programs_in_simple_and_emulate() {
    // The same coreutils, find and python3 calls in both modes, on target
    // paths each mode maps (simple maps /usr/include and /usr/lib).
    let w = World::new("bothmodes");
    w.init_target(target_root(), "tgt", &[]);
    let script = "cd /usr/include && cat sb2rel.h | head -1 && ls sb2*.h | tr '\\n' ' ' && echo && \
        find . -name 'sb2a*' && stat -c %s sb2test.h && test -e sb2abs.h && echo exists && \
        readlink -f sb2abs.h && realpath sb2rel.h && readlink sb2abs.h && pwd && \
        python3 -c 'import os; print(os.path.realpath(\"sb2abs.h\"), os.getcwd(), \"libsb2test.so\" in os.listdir(\"/usr/lib\"))' && \
        (touch /usr/include/new.h 2>/dev/null || echo readonly)";
    let expected = format!(
        "int sb2_target_value(void);\nsb2abs.h sb2rel.h sb2test.h \n./sb2abs.h\n{}\nexists\n/usr/include/sb2test.h\n/usr/include/sb2test.h\n\
         /usr/include/sb2test.h\n/usr/include\n/usr/include/sb2test.h /usr/include True\nreadonly\n",
        std::fs::metadata(target_root().join("usr/include/sb2test.h")).unwrap().len()
    );
    for mode in ["simple", "emulate"] {
        let o = w.sh(&["-m", mode], script);
        assert_eq!(stdout(&o), expected, "mode {mode}:\n{}", text(&o));
    }
}

#[test]
fn fs_emulate_gcc_compiles_against_target_headers() {
    // The target root (made of host-arch pieces) carries gcc's driver, cc1
    // and as: in emulate everything, compiler files included, comes from it.
    require("gcc");
    let w = World::new("emugcc");
    w.init_target(target_root(), "tgt", &["-m", "emulate"]);
    w.write("main.c", "#include <sb2test.h>\n#include <sb2abs.h>\nint f(void) { return sb2_target_value() + SB2_TARGET_HEADER; }\n");
    w.write("host.c", "#include <stdio.h>\nint g(void) { return 0; }\n");
    let o = w.sh(&[], "gcc -c main.c -o main.o && echo compiled; gcc -c host.c -o host.o 2>&1 | grep -c 'stdio.h: No such file'");
    assert_eq!(stdout(&o), "compiled\n1\n", "{}", text(&o));
    assert!(w.work.join("main.o").exists());
}

/// Paths longer than the 512 bytes a path buffer keeps in place (they move
/// to a mapping of PATH_MAX) work as natively: creating, reading, the cwd
/// (getcwd asked again in the bigger buffer), a symlink's target, and
/// exec of a program there, and an environment bigger than the exec
/// block's stack room.
#[test]
fn fs_paths_and_environments_longer_than_the_buffers_in_place() {
    let w = World::new("longpaths");
    // 12 components of 150 bytes: about 1,800 bytes.
    let comp = "d".repeat(149);
    let long: Vec<String> = (0..12).map(|i| format!("{i:x}{comp}")).collect();
    let long = long.join("/");
    let vars: String = (0..400)
        .map(|i| format!("SB2_TEST_VAR_{i}=value{i} "))
        .collect();
    let script = format!(
        "set -e; mkdir -p {long}; echo hi > {long}/f; cat {long}/f; \
         ln -s $PWD/{long}/f link; cat link; readlink link | wc -c; \
         cp /bin/echo {long}/prog; {long}/prog ran; \
         cd {long}; pwd | wc -c; ./prog ran here; \
         env {vars} ./prog big env; env {vars} sh -c 'echo $SB2_TEST_VAR_399'"
    );
    let o = w.sh(&[], &script);
    let cwd_len = w.work.join(&long).as_os_str().len() + 1;
    let link_len = cwd_len + 2;
    assert_eq!(
        stdout(&o),
        format!("hi\nhi\n{link_len}\nran\n{cwd_len}\nran here\nbig env\nvalue399\n"),
        "{}",
        text(&o)
    );
}
