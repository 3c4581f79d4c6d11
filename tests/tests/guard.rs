//! The kernel backs up --allow-write and -n offline: a statically linked
//! program (which the preload cannot see), and an arm64 program under
//! qemu (whose system calls are qemu's), are refused by Landlock and the
//! session's network namespace, while dynamic programs keep the preload's
//! answers and ordinary builds keep working in the allowed directory.

use sb2_tests::*;
use std::path::{Path, PathBuf};

/// One program, several operations, each on argv: `w FILE` (create and
/// write), `t FILE` (truncate), `r FROM TO` (rename), `d FILE` (unlink),
/// `c PORT` (TCP connect to 127.0.0.1), `u` (UDP send to 192.0.2.1).
/// Prints `OP: ok` or `OP: strerror`.
const OPS_C: &str = r#"
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
static int say(const char *op, int r) {
    printf("%s: %s\n", op, r < 0 ? strerror(errno) : "ok");
    return 0;
}
int main(int argc, char **argv) {
    char op = argv[1][0];
    if (op == 'w') { int fd = open(argv[2], O_WRONLY | O_CREAT | O_TRUNC, 0644); if (fd >= 0) write(fd, "x", 1); return say("write", fd); }
    if (op == 't') return say("truncate", truncate(argv[2], 0));
    if (op == 'r') return say("rename", rename(argv[2], argv[3]));
    if (op == 'd') return say("unlink", unlink(argv[2]));
    struct sockaddr_in a = { .sin_family = AF_INET };
    if (op == 'c') {
        int s = socket(AF_INET, SOCK_STREAM, 0);
        a.sin_port = htons(atoi(argv[2]));
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        return say("connect", connect(s, (struct sockaddr *)&a, sizeof a));
    }
    int s = socket(AF_INET, SOCK_DGRAM, 0);
    a.sin_port = htons(53);
    inet_pton(AF_INET, "192.0.2.1", &a.sin_addr);
    return say("sendto", (int)sendto(s, "x", 1, 0, (struct sockaddr *)&a, sizeof a));
}
"#;

/// The ops program built by `cc` with `flags` into `work/name`.
fn build(w: &World, cc: &str, flags: &[&str], name: &str) -> PathBuf {
    let src = w.write("ops.c", OPS_C);
    let out = w.work.join(name);
    let o = w
        .cmd(cc)
        .args(flags)
        .arg("-o")
        .arg(&out)
        .arg(&src)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", text(&o));
    out
}

/// Files outside the allowed directory: one to overwrite, truncate,
/// rename and delete; their content before.
fn outside(w: &World) -> (PathBuf, Vec<(PathBuf, String)>) {
    let dir = w.dir.join("outside");
    std::fs::create_dir_all(&dir).unwrap();
    for f in ["keep", "trunc", "from", "gone"] {
        std::fs::write(dir.join(f), format!("{f}\n")).unwrap();
    }
    let snap = ["keep", "trunc", "from", "gone"]
        .iter()
        .map(|f| (dir.join(f), format!("{f}\n")))
        .collect();
    (dir, snap)
}

fn unchanged(dir: &Path, snap: &[(PathBuf, String)]) {
    for (p, c) in snap {
        assert_eq!(
            std::fs::read_to_string(p).ok().as_deref(),
            Some(c.as_str()),
            "{} changed",
            p.display()
        );
    }
    assert!(!dir.join("new").exists() && !dir.join("to").exists());
}

fn script(prog: &Path, dir: &Path, allowed: &str) -> String {
    let (p, d) = (prog.display(), dir.display());
    format!(
        "{p} w {d}/new; {p} w {d}/keep; {p} t {d}/trunc; {p} r {d}/from {d}/to; {p} d {d}/gone; \
         {p} w {allowed}/new; {p} r {allowed}/new {allowed}/moved; {p} d {allowed}/moved"
    )
}

const REFUSED: &str =
    "write: Permission denied\nwrite: Permission denied\ntruncate: Permission denied\n\
rename: Permission denied\nunlink: Permission denied\nwrite: ok\nrename: ok\nunlink: ok\n";

#[test]
fn static_program_cannot_write_outside_allow_write() {
    let w = World::new("guard-static");
    let prog = build(&w, "gcc", &["-static"], "ops-static");
    let (dir, snap) = outside(&w);
    std::fs::create_dir_all(w.work.join("out")).unwrap();
    let o = w.sh(&["--allow-write", "out"], &script(&prog, &dir, "out"));
    assert_eq!(stdout(&o), REFUSED, "{}", text(&o));
    unchanged(&dir, &snap);
    // The dynamic build of the same program gets the preload's answer.
    let dynamic = build(&w, "gcc", &[], "ops-dynamic");
    let o = w.sh(
        &["--allow-write", "out"],
        &format!("{} w {}/new", dynamic.display(), dir.display()),
    );
    assert_eq!(stdout(&o), "write: Read-only file system\n", "{}", text(&o));
    // The summary says what the kernel enforced.
    assert!(
        text(&o)
            .contains("kernel-enforced: writes only beneath the allowed directories (Landlock ABI"),
        "{}",
        text(&o)
    );
    unchanged(&dir, &snap);
    // A persistent session (-S) joined later (-J) is restricted the same.
    let info = w.dir.join("session.info");
    let o = w.sb2(&["-S", info.to_str().unwrap(), "--allow-write", "out", "true"]);
    assert!(o.status.success(), "{}", text(&o));
    let o = w.sb2(&[
        "-J",
        info.to_str().unwrap(),
        prog.to_str().unwrap(),
        "w",
        dir.join("new").to_str().unwrap(),
    ]);
    assert_eq!(stdout(&o), "write: Permission denied\n", "{}", text(&o));
    unchanged(&dir, &snap);
    let o = w.sb2(&["-D", info.to_str().unwrap()]);
    assert!(o.status.success(), "{}", text(&o));
}

#[test]
fn arm64_program_under_qemu_cannot_write_outside_allow_write() {
    require("aarch64-linux-gnu-gcc");
    require("qemu-aarch64");
    let root = std::env::var_os("SB2_TEST_ARM64_ROOTFS")
        .map(PathBuf::from)
        .expect("SB2_TEST_ARM64_ROOTFS is not set (scripts/test makes the root)");
    let w = World::new("guard-qemu");
    let o = w
        .cmd(bin_dir().join("sb2-init"))
        .current_dir(&root)
        .args(["-c", "qemu-aarch64", "arm64", "aarch64-linux-gnu-gcc"])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", text(&o));
    let prog = build(&w, "aarch64-linux-gnu-gcc", &["-static"], "ops-arm64");
    let (dir, snap) = outside(&w);
    std::fs::create_dir_all(w.work.join("out")).unwrap();
    let o = w.sh(
        &["-t", "arm64", "--allow-write", "out"],
        &script(&prog, &dir, "out"),
    );
    assert_eq!(stdout(&o), REFUSED, "{}", text(&o));
    unchanged(&dir, &snap);
    // A target program still starts another one (the private binfmt_misc
    // is made before Landlock forbids mounting it).
    let o = w.sh(
        &["-t", "arm64", "-m", "emulate", "--allow-write", "out"],
        "sh -c 'uname -m > out/machine' && cat out/machine",
    );
    assert_eq!(stdout(&o), "aarch64\n", "{}", text(&o));
}

#[test]
fn static_program_is_offline_under_n_offline() {
    let w = World::new("guard-net");
    let prog = build(&w, "gcc", &["-static"], "ops-static");
    let dynamic = build(&w, "gcc", &[], "ops-dynamic");
    // A server on loopback, outside the session: reachable natively.
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    let o = w
        .cmd(&prog)
        .args(["c", &port.to_string()])
        .output()
        .unwrap();
    assert_eq!(stdout(&o), "connect: ok\n");
    let (s, d) = (prog.display(), dynamic.display());
    let o = w.sh(
        &["-n", "offline"],
        &format!("{s} c {port}; {s} u; {d} c {port}"),
    );
    assert_eq!(
        stdout(&o),
        "connect: Permission denied\nsendto: Network is unreachable\nconnect: Operation not permitted\n",
        "{}",
        text(&o)
    );
    let t = text(&o);
    assert!(t.contains("kernel-enforced: no TCP connect or bind"), "{t}");
    assert!(t.contains("kernel-enforced: a network namespace"), "{t}");
    // Other network modes stay the preload's alone.
    let o = w.sh(&["-n", "localhost"], &format!("{s} c {port}"));
    assert_eq!(stdout(&o), "connect: ok\n", "{}", text(&o));
}

#[test]
fn builds_keep_working_in_the_allowed_directory_under_landlock() {
    require("python3");
    let w = World::new("guard-build");
    w.write("src/Makefile", "install:\n\tmkdir -p $(DESTDIR)/usr/bin\n\tinstall -m 755 hello.sh $(DESTDIR)/usr/bin/hello\n");
    w.write("src/hello.sh", "#!/bin/sh\necho hello\n");
    let tar = w
        .cmd("tar")
        .args(["cf", "src.tar", "src"])
        .output()
        .unwrap();
    assert!(tar.status.success());
    std::fs::create_dir_all(w.work.join("out")).unwrap();
    let o = w.sh(
        &["--allow-write", "out"],
        "cd out && tar xf ../src.tar && make -s -C src install DESTDIR=$PWD/pkg && \
         python3 -c 'import tempfile, pathlib; pathlib.Path(\"py.txt\").write_text(\"py\"); tempfile.TemporaryFile().write(b\"t\")' && \
         out=$(./pkg/usr/bin/hello) && echo \"$out $(cat py.txt)\"",
    );
    assert!(o.status.success(), "{}", text(&o));
    assert_eq!(stdout(&o), "hello py\n", "{}", text(&o));
    assert!(!text(&o).contains("violation"), "{}", text(&o));
}
