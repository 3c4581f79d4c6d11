//! Owner, mode, times and extended attributes.

use super::*;

#[test]
fn attr_mode_owner_all_mapped() {
    let e = env("attr-mode");
    let (r, s) = (&e.real, e.real.join("sub"));
    for n in ["a-chmod", "a-lchmod", "a-chown", "a-lchown-target"] {
        fs::write(r.join(n), n).expect("write");
    }
    fs::write(s.join("a-fchmodat"), "x").expect("write");
    fs::write(s.join("a-fchownat"), "x").expect("write");
    symlink("a-lchown-target", r.join("a-lchown")).expect("symlink");
    let mut f = Fails::default();
    let l = e.run("attr", &["chmod", "/sb2v/a-chmod", "600"]);
    if f.ok(&l) {
        f.fs(mode(&r.join("a-chmod")) == 0o600, &l, "mode 600");
    }
    let l = e.run("attr", &["chmod", "/sb2v/link", "640"]);
    if f.ok(&l) {
        f.fs(
            mode(&r.join("file")) == 0o640,
            &l,
            "REALDIR/file (the link's target) mode 640",
        );
    }
    let l = e.run("attr", &["lchmod", "/sb2v/a-lchmod", "604"]);
    if f.ok(&l) {
        f.fs(mode(&r.join("a-lchmod")) == 0o604, &l, "mode 604");
    }
    let l = e.run("attr", &["fchmodat", "/sb2v/sub", "a-fchmodat", "606"]);
    if f.ok(&l) {
        f.fs(mode(&s.join("a-fchmodat")) == 0o606, &l, "mode 606");
    }
    let l = e.run(
        "attr",
        &["-C", "/sb2v/sub", "fchmodat", "AT_FDCWD", "deep", "660"],
    );
    if f.ok(&l) {
        f.fs(
            mode(&s.join("deep")) == 0o660,
            &l,
            "REALDIR/sub/deep mode 660",
        );
    }

    // SAFETY: plain id queries.
    let (uid, gid) = unsafe { (libc::geteuid(), libc::getegid()) };
    // As root a real change is visible; otherwise the caller's own ids.
    let (u, g) = if uid == 0 {
        (1234u32, 4321u32)
    } else {
        (uid, gid)
    };
    let owner = |p: &Path| {
        fs::symlink_metadata(p)
            .map(|m| (m.uid(), m.gid()))
            .unwrap_or((u32::MAX, u32::MAX))
    };
    let (us, gs) = (u.to_string(), g.to_string());
    let l = e.run("attr", &["chown", "/sb2v/a-chown", &us, &gs]);
    if f.ok(&l) {
        f.fs(owner(&r.join("a-chown")) == (u, g), &l, "owner changed");
    }
    let l = e.run("attr", &["lchown", "/sb2v/a-lchown", &us, &gs]);
    if f.ok(&l) {
        f.fs(
            owner(&r.join("a-lchown")) == (u, g),
            &l,
            "the link's own owner changed",
        );
    }
    let l = e.run("attr", &["fchownat", "/sb2v/sub", "a-fchownat", &us, &gs]);
    if f.ok(&l) {
        f.fs(owner(&s.join("a-fchownat")) == (u, g), &l, "owner changed");
    }
    f.ok(&e.run("attr", &["chown", "/sb2v/file"]));
    f.errno(&e.run("attr", &["chmod", "/sb2v/missing", "600"]), "ENOENT");
    f.errno(&e.run("attr", &["chown", "/sb2v/missing"]), "ENOENT");
    f.finish();
}

#[test]
fn attr_times_all_mapped() {
    let e = env("attr-times");
    let (r, s) = (&e.real, e.real.join("sub"));
    for n in ["t-utime", "t-utimes", "t-target"] {
        fs::write(r.join(n), n).expect("write");
    }
    symlink("t-target", r.join("t-lutimes")).expect("symlink");
    symlink("t-target", r.join("t-utimensat-n")).expect("symlink");
    fs::write(s.join("t-futimesat"), "x").expect("write");
    fs::write(s.join("t-utimensat"), "x").expect("write");
    let mut f = Fails::default();
    let target_mtime = mtime(&r.join("t-target"));
    let cases: [(&[&str], PathBuf, i64); 6] = [
        (
            &["utime", "/sb2v/t-utime", "1000000001"],
            r.join("t-utime"),
            1000000001,
        ),
        (
            &["utimes", "/sb2v/t-utimes", "1000000002"],
            r.join("t-utimes"),
            1000000002,
        ),
        (
            &["lutimes", "/sb2v/t-lutimes", "1000000003"],
            r.join("t-lutimes"),
            1000000003,
        ),
        (
            &["futimesat", "/sb2v/sub", "t-futimesat", "1000000004"],
            s.join("t-futimesat"),
            1000000004,
        ),
        (
            &["utimensat", "/sb2v/sub", "t-utimensat", "1000000005"],
            s.join("t-utimensat"),
            1000000005,
        ),
        (
            &["utimensat", "/sb2v", "t-utimensat-n", "1000000006", "n"],
            r.join("t-utimensat-n"),
            1000000006,
        ),
    ];
    for (args, p, t) in cases {
        let l = e.run("attr", args);
        if f.ok(&l) {
            f.fs(
                mtime(&p) == t,
                &l,
                &format!("mtime of {} = {t} (is {})", p.display(), mtime(&p)),
            );
        }
    }
    let l = e.run("attr", &["utime", "/sb2v/sub/deep"]);
    f.ok(&l);
    let l = e.run("attr", &["-C", "/sb2v/sub", "utimes", "deep", "1000000007"]);
    if f.ok(&l) {
        f.fs(
            mtime(&s.join("deep")) == 1000000007,
            &l,
            "mtime of REALDIR/sub/deep",
        );
    }
    f.fs(
        mtime(&r.join("t-target")) == target_mtime,
        &e.run("stat", &["stat", "/sb2v/t-target"]),
        "the symlinks' target untouched",
    );
    for args in [
        &["utime", "/sb2v/missing"][..],
        &["utimes", "/sb2v/missing"],
        &["lutimes", "/sb2v/missing"],
        &["utimensat", "/sb2v", "missing"],
        &["futimesat", "/sb2v", "missing"],
    ] {
        f.errno(&e.run("attr", args), "ENOENT");
    }
    f.finish();
}

#[test]
fn attr_xattr_all_mapped() {
    let e = env("attr-xattr");
    fs::write(e.real.join("x"), "x").expect("write");
    let host = e.real.join("x").display().to_string();
    let mut f = Fails::default();
    f.ok(&e.run("attr", &["setxattr", "/sb2v/x", "user.one", "v1"]));
    f.ok(&e.run("attr", &["lsetxattr", "/sb2v/x", "user.two", "v2"]));
    f.ok_with(
        &e.host_run("attr", &["listxattr", &host]),
        "user.one,user.two",
    );
    f.ok_with(&e.run("attr", &["getxattr", "/sb2v/x", "user.one"]), "v1");
    f.ok_with(&e.run("attr", &["lgetxattr", "/sb2v/x", "user.two"]), "v2");
    f.ok_with(
        &e.run("attr", &["-C", "/sb2v", "getxattr", "x", "user.two"]),
        "v2",
    );
    f.ok_with(
        &e.run("attr", &["listxattr", "/sb2v/x"]),
        "user.one,user.two",
    );
    f.ok_with(
        &e.run("attr", &["llistxattr", "/sb2v/x"]),
        "user.one,user.two",
    );
    f.ok(&e.run("attr", &["removexattr", "/sb2v/x", "user.one"]));
    f.ok(&e.run("attr", &["lremovexattr", "/sb2v/x", "user.two"]));
    f.ok_with(&e.host_run("attr", &["listxattr", &host]), "<empty>");
    f.errno(
        &e.run("attr", &["getxattr", "/sb2v/x", "user.one"]),
        "ENODATA",
    );
    for func in ["getxattr", "lgetxattr", "removexattr", "lremovexattr"] {
        f.errno(
            &e.run("attr", &[func, "/sb2v/missing", "user.one"]),
            "ENOENT",
        );
    }
    for func in ["listxattr", "llistxattr"] {
        f.errno(&e.run("attr", &[func, "/sb2v/missing"]), "ENOENT");
    }
    f.finish();
}

#[test]
fn attr_all_readonly_erofs_untouched() {
    let e = env("attr-ro");
    let before = snapshot(&e.ro);
    let mut f = Fails::default();
    let cases: &[&[&str]] = &[
        &["chmod", "/sb2ro/file", "600"],
        &["lchmod", "/sb2ro/file", "600"],
        &["fchmodat", "/sb2ro/sub", "deep", "600"],
        &["chown", "/sb2ro/file"],
        &["lchown", "/sb2ro/link"],
        &["fchownat", "/sb2ro/sub", "deep"],
        &["utime", "/sb2ro/file", "1000000000"],
        &["utimes", "/sb2ro/file", "1000000000"],
        &["lutimes", "/sb2ro/link", "1000000000"],
        &["futimesat", "/sb2ro/sub", "deep", "1000000000"],
        &["utimensat", "/sb2ro/sub", "deep", "1000000000"],
        &["utimensat", "/sb2ro", "link", "1000000000", "n"],
        &["setxattr", "/sb2ro/file", "user.a", "b"],
        &["lsetxattr", "/sb2ro/file", "user.a", "b"],
        &["removexattr", "/sb2ro/file", "user.a"],
        &["lremovexattr", "/sb2ro/file", "user.a"],
    ];
    for c in cases {
        f.errno(&e.run("attr", c), "EROFS");
    }
    // Reading attributes of read-only paths is fine.
    f.ok_with(&e.run("attr", &["listxattr", "/sb2ro/file"]), "<empty>");
    f.ok_with(&e.run("attr", &["llistxattr", "/sb2ro/file"]), "<empty>");
    f.errno(
        &e.run("attr", &["getxattr", "/sb2ro/file", "user.a"]),
        "ENODATA",
    );
    f.errno(
        &e.run("attr", &["lgetxattr", "/sb2ro/file", "user.a"]),
        "ENODATA",
    );
    same_snapshot(&mut f, &before, &snapshot(&e.ro), "RODIR");
    f.finish();
}
