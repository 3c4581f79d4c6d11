//! dlopen, inotify, file handles, sockets by path; the preload's cache of
//! readable pages (munmap, mprotect, mremap); threads, fork and vfork.

use super::*;

#[test]
fn misc_dlopen_dlmopen_mapped() {
    let e = env("dlopen");
    let src = e.w.dir.join("lib.c");
    fs::write(&src, "int sb2_probe_sym(void) { return 7; }\n").expect("write");
    let o = Command::new("gcc")
        .args(["-shared", "-fPIC", "-o"])
        .arg(e.real.join("libp.so"))
        .arg(&src)
        .output()
        .expect("gcc");
    assert!(o.status.success(), "gcc:\n{}", text(&o));
    let mut f = Fails::default();
    for func in ["dlopen", "dlmopen"] {
        f.ok_with(
            &e.run("misc", &[func, "/sb2v/libp.so", "sb2_probe_sym"]),
            "sym=yes",
        );
        f.ok_with(
            &e.run("misc", &["-C", "/sb2v", func, "./libp.so", "sb2_probe_sym"]),
            "sym=yes",
        );
        f.ok_with(
            &e.run("misc", &[func, "/sb2v/libp.so", "no_such_symbol"]),
            "sym=no",
        );
        // A name without '/' is the loader's own search: not a path.
        f.ok(&e.run("misc", &[func, "libm.so.6", "cos"]));
        let l = e.run("misc", &[func, "/sb2v/missing.so", "x"]);
        f.check(l.ret == "NULL", || format!("expected a failure: {l}"));
    }
    f.finish();
}

#[test]
fn misc_inotify_name_to_handle_at_mapped() {
    let e = env("inotify");
    let mut f = Fails::default();
    f.ok(&e.run("misc", &["inotify_add_watch", "/sb2v/file"]));
    f.ok(&e.run("misc", &["inotify_add_watch", "/sb2v/sub"]));
    f.ok(&e.run("misc", &["-C", "/sb2v", "inotify_add_watch", "sub/deep"]));
    f.errno(
        &e.run("misc", &["inotify_add_watch", "/sb2v/missing"]),
        "ENOENT",
    );
    let host_sub = e.real.join("sub").display().to_string();
    let h = e.host_run("misc", &["name_to_handle_at", &host_sub, "deep"]);
    f.ok(&h);
    f.ok_with(
        &e.run("misc", &["name_to_handle_at", "/sb2v/sub", "deep"]),
        &h.payload,
    );
    f.ok_with(
        &e.run("misc", &["name_to_handle_at", "AT_FDCWD", "/sb2v/sub/deep"]),
        &h.payload,
    );
    f.ok_with(
        &e.run("misc", &["name_to_handle_at", "/sb2v", "sub/deep"]),
        &h.payload,
    );
    let hf = e.host_run(
        "misc",
        &["name_to_handle_at", &e.real.display().to_string(), "file"],
    );
    f.ok_with(
        &e.run("misc", &["name_to_handle_at", "/sb2v", "link", "f"]),
        &hf.payload,
    );
    f.errno(
        &e.run("misc", &["name_to_handle_at", "/sb2v/sub", "missing"]),
        "ENOENT",
    );
    f.finish();
}

#[test]
fn misc_bind_connect_unix_socket_mapped() {
    let e = env("sock");
    let mut f = Fails::default();
    let is_sock = |p: &Path| {
        fs::symlink_metadata(p)
            .map(|m| m.file_type().is_socket())
            .unwrap_or(false)
    };
    let l = e.run("misc", &["bind", "/sb2v/sock"]);
    if f.ok_with(&l, "bound") {
        f.fs(is_sock(&e.real.join("sock")), &l, "REALDIR/sock a socket");
    }
    let l = e.run("misc", &["-C", "/sb2v/sub", "bind", "relsock"]);
    if f.ok_with(&l, "bound") {
        f.fs(
            is_sock(&e.real.join("sub/relsock")),
            &l,
            "REALDIR/sub/relsock a socket",
        );
    }
    let l = e.run("misc", &["connect", "/sb2v/sock2"]);
    if f.ok_with(&l, "connected") {
        f.fs(is_sock(&e.real.join("sock2")), &l, "REALDIR/sock2 a socket");
    }
    // The listener bound at the host path: connect alone must map.
    let host = e.real.join("sock3").display().to_string();
    f.ok_with(
        &e.run("misc", &["connect", "/sb2v/sock3", &host]),
        "connected",
    );
    // The name the socket is reported under is the one it was bound as
    // (not the host path), truncated to the buffer as the kernel does, with
    // the full size reported.
    let _ = fs::remove_file(e.real.join("sn"));
    f.ok_with(
        &e.run("misc", &["getsockname", "/sb2v/sn", "108"]),
        "/sb2v/sn len=11",
    );
    let _ = fs::remove_file(e.real.join("sn"));
    f.ok_with(
        &e.run("misc", &["getsockname", "/sb2v/sn", "4"]),
        "/sb2 len=11",
    );
    let _ = fs::remove_file(e.real.join("pn"));
    f.ok_with(&e.run("misc", &["getpeername", "/sb2v/pn"]), "/sb2v/pn");
    f.errno(&e.run("misc", &["bind", "/sb2v/sock"]), "EADDRINUSE");
    f.errno(&e.run("misc", &["bind", "/sb2v/missing/sock"]), "ENOENT");
    // A datagram addressed by path: the receiver bound the host path,
    // sendto names it virtually.
    let host = e.real.join("dgram").display().to_string();
    f.ok_with(
        &e.run("misc", &["sendto", "/sb2v/dgram", &host]),
        "received",
    );
    f.finish();
}

#[test]
fn misc_bind_readonly_erofs_untouched() {
    let e = env("sock-ro");
    let before = snapshot(&e.ro);
    let mut f = Fails::default();
    f.errno(&e.run("misc", &["bind", "/sb2ro/sock"]), "EROFS");
    f.errno(&e.run("misc", &["bind", "/sb2ro/sub/sock"]), "EROFS");
    same_snapshot(&mut f, &before, &snapshot(&e.ro), "RODIR");
    f.finish();
}

#[test]
fn mem_munmap_mprotect_mremap_then_path_efault() {
    let e = env("mem");
    let mut f = Fails::default();
    f.ok_with(
        &e.run("mem", &["munmap", "/sb2v/file"]),
        "before=ok after=EFAULT",
    );
    f.ok_with(
        &e.run("mem", &["mprotect", "/sb2v/file"]),
        "before=ok after=EFAULT",
    );
    f.ok_with(
        &e.run("mem", &["mremap", "/sb2v/file"]),
        "before=ok after=EFAULT moved=ok",
    );
    f.finish();
}

#[test]
fn threads_all_modes_mapped() {
    let e = env("threads");
    let mut f = Fails::default();
    let l = e.run(
        "threads",
        &["threads", "/sb2v/file", "16", "/sb2v/link", "file"],
    );
    f.ok_with(&l, "calls=64000 bad=0");
    let l = e.run("threads", &["fork", "/sb2v/file", "16"]);
    f.ok_with(&l, "child=0 parent_bad=0");
    let (cmd, lines, out) = e.lines_os("threads", &[os("vfork"), os("/sb2v/file"), os("16")]);
    f.check(
        lines
            == [
                "vfork ret=0 errno=0 child=0",
                "vfork_execve ret=0 errno=0 child=0",
            ],
        || format!("`{cmd}` printed:\n{out}"),
    );
    f.finish();
}
