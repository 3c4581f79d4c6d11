//! A real arm64 Debian root file system (scripts/make-arm64-rootfs) as a
//! target: Debian's cross compiler, run in a `simple` session, links a
//! library that exists only in the target root through the absolute
//! symlinks the packages ship, resolved in the virtual view.

use sb2_tests::*;
use std::path::PathBuf;

fn rootfs() -> PathBuf {
    let p = std::env::var_os("SB2_TEST_ARM64_ROOTFS").map(PathBuf::from).unwrap_or_else(|| {
        panic!("SB2_TEST_ARM64_ROOTFS is not set: make one with `sudo scripts/make-arm64-rootfs DIR` (scripts/test does)")
    });
    assert!(
        p.join("usr/include/zlib.h").exists(),
        "{} is not an arm64 root made by scripts/make-arm64-rootfs",
        p.display()
    );
    p
}

#[test]
fn cross_link_finds_target_only_library_through_absolute_symlinks() {
    require("aarch64-linux-gnu-gcc");
    require("aarch64-linux-gnu-readelf");
    require("qemu-aarch64");
    let root = rootfs();
    let w = World::new("cross");
    // No -s: a real root passes sb2-init's sanity check.
    let o = w
        .cmd(bin_dir().join("sb2-init"))
        .current_dir(&root)
        .args(["-A", "aarch64", "-c", "qemu-aarch64", "arm64"])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", text(&o));
    w.write("prog.c", "#include <stdio.h>\n#include <zlib.h>\nint main(void) { printf(\"zlib %s\\n\", zlibVersion()); return 0; }\n");

    // In the session: /usr/lib/aarch64-linux-gnu/libz.so -> /lib/... is
    // resolved inside the target, so ld links libz.so.1 dynamically.
    let o = w.sb2(&[
        "-t",
        "arm64",
        "aarch64-linux-gnu-gcc",
        "-o",
        "prog",
        "prog.c",
        "-lz",
    ]);
    assert!(o.status.success(), "{}", text(&o));
    let elf = w
        .cmd("aarch64-linux-gnu-readelf")
        .args(["-d", "prog"])
        .output()
        .unwrap();
    assert!(
        stdout(&elf).contains("Shared library: [libz.so.1]"),
        "{}",
        text(&elf)
    );
    let run = w
        .cmd("qemu-aarch64")
        .arg("-L")
        .arg(&root)
        .arg("./prog")
        .output()
        .unwrap();
    assert!(stdout(&run).starts_with("zlib 1."), "{}", text(&run));

    // Outside a session, --sysroot cannot follow that absolute link: ld
    // silently falls back to the static libz.a (the trap sb2 avoids).
    let o = w
        .cmd("aarch64-linux-gnu-gcc")
        .arg(format!("--sysroot={}", root.display()))
        .args(["-o", "prog2", "prog.c", "-lz"])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", text(&o));
    let elf = w
        .cmd("aarch64-linux-gnu-readelf")
        .args(["-d", "prog2"])
        .output()
        .unwrap();
    assert!(!stdout(&elf).contains("libz.so.1"), "{}", text(&elf));

    // sb2-show says how: the symlink was followed inside the target.
    let o = w.sb2(&[
        "-t",
        "arm64",
        "sb2-show",
        "path",
        "/usr/lib/aarch64-linux-gnu/libz.so",
    ]);
    let s = stdout(&o);
    assert!(
        s.contains("(resolved: /usr/lib/aarch64-linux-gnu/libz.so.1.")
            || s.contains("(resolved: /lib/aarch64-linux-gnu/libz.so.1."),
        "{}",
        text(&o)
    );
    assert!(
        s.contains(&format!("=> {}/", root.display())),
        "{}",
        text(&o)
    );
}

/// An arm64 target made from the root with Debian's cross compiler:
/// `sb2-init -c qemu-aarch64 arm64 aarch64-linux-gnu-gcc`, run in the root.
fn arm64_world(name: &str) -> (World, PathBuf) {
    require("aarch64-linux-gnu-gcc");
    require("qemu-aarch64");
    let root = rootfs();
    let w = World::new(name);
    let o = w
        .cmd(bin_dir().join("sb2-init"))
        .current_dir(&root)
        .args(["-c", "qemu-aarch64", "arm64", "aarch64-linux-gnu-gcc"])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", text(&o));
    // What sb2-init learned from the compiler.
    let conf = std::fs::read_to_string(w.dir.join("config/sb2/targets/arm64/config")).unwrap();
    for want in [
        "ARCH=aarch64\n",
        "COMPILER_TRIPLET=aarch64-linux-gnu\n",
        "COMPILER=/usr/bin/aarch64-linux-gnu-gcc\n",
        "CPU_TRANSPARENCY=qemu-aarch64\n",
        "COMPILER_LIBRARY_DIRS=/usr/lib/gcc-cross/aarch64-linux-gnu/",
        "COMPILER_PROGRAM_DIRS=/usr/lib/gcc-cross/aarch64-linux-gnu/",
    ] {
        assert!(conf.contains(want), "{want}: {conf}");
    }
    assert!(
        conf.lines().any(|l| l.starts_with("COMPILER_VERSION=1")),
        "{conf}"
    );
    (w, root)
}

const MAKEFILE: &str = "all: prog\n\
gen: gen.c\n\tgcc -o gen gen.c\n\
table.h: gen\n\t./gen > table.h\n\
prog: prog.c table.h\n\tgcc -o prog prog.c -lz\n\
check: prog\n\t./prog > check.out\n\tgrep -q 'zlib 1' check.out\n\
clean:\n\trm -f gen table.h prog check.out\n";
const GEN_C: &str = "#include <stdio.h>\n#include <sys/utsname.h>\n\
int main(void) { struct utsname u; uname(&u); printf(\"#define GEN_LONG %zu\\n#define GEN_MACHINE \\\"%s\\\"\\n\", sizeof(long), u.machine); return 0; }\n";
const PROG_C: &str = "#include <stdio.h>\n#include <zlib.h>\n#include \"table.h\"\n\
int main(void) { printf(\"zlib %s long %d machine %s\\n\", zlibVersion(), GEN_LONG, GEN_MACHINE); return 0; }\n";

fn check_project(w: &World, mode: &str) {
    w.write("proj/Makefile", MAKEFILE);
    w.write("proj/gen.c", GEN_C);
    w.write("proj/prog.c", PROG_C);
    // `make` started by sb2 itself: in emulate+toolchain the target's.
    for goal in ["all", "check"] {
        let o = w.sb2(&["-t", "arm64", "-m", mode, "make", "-C", "proj", goal]);
        assert!(o.status.success(), "{mode} {goal}: {}", text(&o));
    }
    // The generator was built for arm64 and ran (through qemu): its output
    // is the target's.
    let table = std::fs::read_to_string(w.work.join("proj/table.h")).unwrap();
    assert!(
        table.contains("GEN_LONG 8") && table.contains("\"aarch64\""),
        "{mode}: {table}"
    );
    let elf = w
        .cmd("aarch64-linux-gnu-readelf")
        .args(["-d", "proj/prog"])
        .output()
        .unwrap();
    assert!(
        stdout(&elf).contains("Shared library: [libz.so.1]"),
        "{mode}: {}",
        text(&elf)
    );
    let f = w.cmd("file").arg("proj/prog").output().unwrap();
    assert!(stdout(&f).contains("ARM aarch64"), "{mode}: {}", text(&f));
    let o = w.sb2(&["-t", "arm64", "-m", mode, "proj/prog"]);
    assert!(
        stdout(&o).starts_with("zlib 1.") && stdout(&o).contains("machine aarch64"),
        "{mode}: {}",
        text(&o)
    );
    // No host library leaked into a target process: no loader complaint.
    assert!(!text(&o).contains("ld.so"), "{mode}: {}", text(&o));
    let o = w.sh(&["-t", "arm64", "-m", mode], "cd proj && make clean");
    assert!(o.status.success(), "{}", text(&o));
}

#[test]
fn cross_make_project_with_generator_in_simple_mode() {
    let (w, _) = arm64_world("mk-simple");
    check_project(&w, "simple");
}

#[test]
fn cross_make_project_with_generator_in_emulate_toolchain_mode() {
    // Here `make` itself is the target root's arm64 make, run by qemu; the
    // shells it starts and the generator it runs go through the session.
    let (w, root) = arm64_world("mk-emu");
    assert!(root.join("usr/bin/make").exists());
    check_project(&w, "emulate+toolchain");
    let o = w.sb2(&[
        "-t",
        "arm64",
        "-m",
        "emulate+toolchain",
        "sb2-show",
        "exec",
        "make",
    ]);
    assert!(stdout(&o).contains("target ELF"), "{}", text(&o));
}

#[test]
fn cross_toolchain_names_run_the_cross_tools_and_host_names_the_host() {
    let (w, _) = arm64_world("toolnames");
    let o = w.sh(
        &["-t", "arm64"],
        "gcc -dumpmachine; cc -dumpmachine; c++ -dumpmachine; g++ -dumpmachine; cpp --version | head -1; \
         host-gcc -dumpmachine; aarch64-linux-gnu-gcc -dumpmachine; uname -m",
    );
    let host = std::process::Command::new("gcc")
        .arg("-dumpmachine")
        .output()
        .unwrap();
    let host = stdout(&host);
    assert_eq!(
        stdout(&o),
        format!(
            "aarch64-linux-gnu\naarch64-linux-gnu\naarch64-linux-gnu\naarch64-linux-gnu\naarch64-linux-gnu-cpp (Debian 12.2.0-14) 12.2.0\n{host}aarch64-linux-gnu\naarch64\n"
        ),
        "{}",
        text(&o)
    );
    for tool in [
        "as", "ld", "ar", "ranlib", "strip", "nm", "objcopy", "objdump", "readelf",
    ] {
        let o = w.sb2(&["-t", "arm64", "sb2-show", "exec", tool]);
        assert!(
            stdout(&o).contains(&format!("argv:    /usr/bin/aarch64-linux-gnu-{tool}")),
            "{tool}: {}",
            text(&o)
        );
    }
    // The tools work on target objects: the host's strip could not.
    w.write("s.c", "int main(void) { return 0; }\n");
    let o = w.sh(
        &["-t", "arm64"],
        "gcc -c s.c && gcc -o s s.o && strip s && nm s.o | grep -q main && readelf -h s | grep -q AArch64 \
         && objdump -d s.o | grep -q ret && ar rc libs.a s.o && ranlib libs.a && echo ok",
    );
    assert_eq!(stdout(&o), "ok\n", "{}", text(&o));
    // host-gcc builds for the host, unmapped (host headers).
    let o = w.sh(&["-t", "arm64"], "host-gcc -o h s.c && ./h && echo host-ok");
    assert_eq!(stdout(&o), "host-ok\n", "{}", text(&o));
}

#[test]
fn cross_target_programs_exec_target_programs() {
    // An arm64 busybox sh (run by qemu) runs an arm64 program: target
    // processes' execs reach qemu again through the session's private
    // binfmt_misc registration.
    let (w, root) = arm64_world("chain");
    w.write("p.c", "#include <stdio.h>\nint main(int c, char **v) { printf(\"argv0=%s\\n\", v[0]); return 3; }\n");
    let o = w.sb2(&["-t", "arm64", "gcc", "-o", "p", "p.c"]);
    assert!(o.status.success(), "{}", text(&o));
    std::fs::copy(root.join("usr/bin/busybox"), w.work.join("busybox")).unwrap();
    let o = w.sb2(&[
        "-t",
        "arm64",
        "./busybox",
        "sh",
        "-c",
        "./p; echo rc=$?; ./busybox uname -m",
    ]);
    assert_eq!(stdout(&o), "argv0=./p\nrc=3\naarch64\n", "{}", text(&o));
    assert!(!text(&o).contains("ld.so"), "{}", text(&o));
    // In emulate, /usr/bin/busybox is the target root's.
    let o = w.sb2(&["-t", "arm64", "-e", "busybox", "sh", "-c", "./p"]);
    assert_eq!(stdout(&o), "argv0=./p\n", "{}", text(&o));
}

#[test]
fn cross_without_user_namespaces_says_once_why_target_programs_cannot_exec() {
    // Where user namespaces are refused (a CI container, Ubuntu's AppArmor
    // default), qemu cannot get its private binfmt_misc: the session says
    // so once, with the cause and the fix, and the target's exec of a
    // target program fails as the kernel fails it. max_user_namespaces is
    // per user namespace: 0 in one of our own.
    require("unshare");
    let (w, root) = arm64_world("no-userns");
    std::fs::copy(root.join("usr/bin/busybox"), w.work.join("busybox")).unwrap();
    let o = w
        .cmd_without_user_namespaces(bin_dir().join("sb2"))
        .args(["-t", "arm64", "./busybox", "sh", "-c"])
        .arg("./busybox echo inner; ./busybox echo again; echo outer")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr).into_owned();
    // The outer arm64 sh runs (qemu started by sb2's exec pipeline).
    assert!(stdout(&o).ends_with("outer\n"), "{}", text(&o));
    assert!(!stdout(&o).contains("inner"), "{}", text(&o));
    let said = err
        .matches("sb2: target programs cannot start other target programs")
        .count();
    assert_eq!(said, 1, "said once: {}", text(&o));
    for want in [
        "user.max_user_namespaces",
        "qemu-user-binfmt",
        "Exec format error",
    ] {
        assert!(err.contains(want), "{want}: {}", text(&o));
    }
}

#[test]
fn cross_argv0_is_kept_for_target_binaries_and_scripts() {
    // Scratchbox2's test-argv0: relative, absolute and PATH names.
    let (w, _) = arm64_world("argv0");
    w.write(
        "bin/a0.c",
        "#include <stdio.h>\nint main(int c, char **v) { printf(\"%s\\n\", v[0]); return 0; }\n",
    );
    let o = w.sb2(&["-t", "arm64", "gcc", "-o", "bin/a0", "bin/a0.c"]);
    assert!(o.status.success(), "{}", text(&o));
    let abs = w.work.join("bin/a0");
    let o = w.sh(
        &["-t", "arm64"],
        &format!(
            "./bin/a0; {a}; PATH=$PWD/bin:$PATH a0; cd bin && ./a0",
            a = abs.display()
        ),
    );
    assert_eq!(
        stdout(&o),
        format!("./bin/a0\n{}\na0\n./a0\n", abs.display()),
        "{}",
        text(&o)
    );
}

#[test]
fn cross_gnu_hello_configure_and_make() {
    // GNU hello's unmodified `./configure && make` (no --host): gcc is the
    // cross compiler and configure's test programs run through qemu.
    let src = std::env::var_os("SB2_TEST_HELLO_TARBALL").map(PathBuf::from).unwrap_or_else(|| {
        panic!("SB2_TEST_HELLO_TARBALL is not set: GNU hello's .orig.tar.gz (apt-get source hello; scripts/test fetches it)")
    });
    let (w, _) = arm64_world("hello");
    let o = w
        .cmd("tar")
        .arg("xzf")
        .arg(&src)
        .args(["--strip-components=1", "-C"])
        .arg(&w.work)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", text(&o));
    let o = w.sh(
        &["-t", "arm64"],
        "./configure >configure.out 2>&1 && make >make.out 2>&1",
    );
    let log = |f: &str| std::fs::read_to_string(w.work.join(f)).unwrap_or_default();
    assert!(
        o.status.success(),
        "{}\n{}\n{}",
        text(&o),
        log("configure.out"),
        log("make.out")
    );
    let f = w.cmd("file").arg("hello").output().unwrap();
    assert!(stdout(&f).contains("ARM aarch64"), "{}", text(&f));
    let o = w.sb2(&["-t", "arm64", "./hello"]);
    assert_eq!(stdout(&o), "Hello, world!\n", "{}", text(&o));
}

#[test]
fn host_arch_target_root_programs_load_the_roots_libc() {
    // A root made of Debian amd64 packages (scripts/make-arm64-rootfs with
    // ARCH=amd64): in emulate, /bin/sh and coreutils are the root's and are
    // started by the root's ld.so with the root's libraries.
    let root = std::env::var_os("SB2_TEST_AMD64_ROOTFS").map(PathBuf::from).unwrap_or_else(|| {
        panic!("SB2_TEST_AMD64_ROOTFS is not set: `sudo env ARCH=amd64 scripts/make-arm64-rootfs DIR` (scripts/test does)")
    });
    assert!(root.join("usr/bin/dash").exists());
    let w = World::new("amd64root");
    let o = w
        .cmd(bin_dir().join("sb2-init"))
        .current_dir(&root)
        .arg("amd64")
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", text(&o));
    let r = root.display().to_string();
    for cmd in [
        &["cat", "/proc/self/maps"][..],
        &["sh", "-c", "cat /proc/$$/maps"][..],
    ] {
        let mut a = vec!["-t", "amd64", "-e"];
        a.extend(cmd);
        let o = w.sb2(&a);
        let maps = stdout(&o);
        assert!(
            maps.lines()
                .any(|l| l.ends_with(&format!("{r}/usr/lib/x86_64-linux-gnu/libc.so.6"))),
            "{cmd:?}: {}",
            text(&o)
        );
        assert!(
            maps.lines().any(|l| l.contains(&format!(
                "{r}/usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2"
            ))),
            "{cmd:?}: {}",
            text(&o)
        );
        assert!(
            !maps
                .lines()
                .any(|l| l.ends_with(" /usr/lib/x86_64-linux-gnu/libc.so.6")),
            "{cmd:?}: {}",
            text(&o)
        );
    }
    // argv[0] is kept through the root's ld.so.
    let o = w.sb2(&["-t", "amd64", "-e", "sh", "-c", "echo $0"]);
    assert_eq!(stdout(&o), "sh\n", "{}", text(&o));
    let o = w.sb2(&["-t", "amd64", "-e", "sb2-show", "exec", "ls"]);
    assert!(
        stdout(&o).contains("policy:  Target") && stdout(&o).contains("--argv0 ls"),
        "{}",
        text(&o)
    );
}

#[test]
fn tools_root_programs_load_the_tools_roots_libc() {
    // A tools root (here the amd64 root) for the arm64 target: in `tools`
    // mode its programs run by its own ld.so and libraries (policy Tools).
    let tools = std::env::var_os("SB2_TEST_AMD64_ROOTFS").map(PathBuf::from).unwrap_or_else(|| {
        panic!("SB2_TEST_AMD64_ROOTFS is not set: `sudo env ARCH=amd64 scripts/make-arm64-rootfs DIR` (scripts/test does)")
    });
    let root = rootfs();
    let w = World::new("toolsroot");
    let o = w
        .cmd(bin_dir().join("sb2-init"))
        .current_dir(&root)
        .arg("-t")
        .arg(&tools)
        .args(["-c", "qemu-aarch64", "arm64t", "aarch64-linux-gnu-gcc"])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", text(&o));
    let t = tools.display().to_string();
    let o = w.sb2(&["-t", "arm64t", "-m", "tools", "cat", "/proc/self/maps"]);
    assert!(
        stdout(&o)
            .lines()
            .any(|l| l.ends_with(&format!("{t}/usr/lib/x86_64-linux-gnu/libc.so.6"))),
        "{}",
        text(&o)
    );
    let o = w.sb2(&["-t", "arm64t", "-m", "tools", "sb2-show", "exec", "cat"]);
    assert!(stdout(&o).contains("policy:  Tools"), "{}", text(&o));
}
