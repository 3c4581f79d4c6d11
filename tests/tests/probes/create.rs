//! Creating and removing: mkdir, mknod, mkfifo, symlink, link, rename,
//! truncate, unlink, rmdir, remove and their *at forms.

use super::*;

#[test]
fn create_all_mapped_effects_in_realdir() {
    let e = env("create");
    let r = &e.real;
    let s = r.join("sub");
    let mut f = Fails::default();

    let l = e.run("create", &["mkdir", "/sb2v/mk"]);
    if f.ok(&l) {
        f.fs(is_dir(&r.join("mk")), &l, "REALDIR/mk a directory");
    }
    let l = e.run("create", &["mkdirat", "/sb2v/sub", "mkat"]);
    if f.ok(&l) {
        f.fs(is_dir(&s.join("mkat")), &l, "REALDIR/sub/mkat a directory");
    }

    for (func, t) in [("mknod", "p"), ("__xmknod", "f")] {
        let l = e.run("create", &[func, &format!("/sb2v/nod-{func}"), t]);
        let made = if t == "p" {
            is_fifo(&r.join(format!("nod-{func}")))
        } else {
            is_file(&r.join(format!("nod-{func}")))
        };
        if f.ok(&l) {
            f.fs(made, &l, &format!("REALDIR/nod-{func}"));
        }
    }
    for (func, t) in [("mknodat", "f"), ("__xmknodat", "p")] {
        let l = e.run("create", &[func, "/sb2v/sub", &format!("nod-{func}"), t]);
        let made = if t == "p" {
            is_fifo(&s.join(format!("nod-{func}")))
        } else {
            is_file(&s.join(format!("nod-{func}")))
        };
        if f.ok(&l) {
            f.fs(made, &l, &format!("REALDIR/sub/nod-{func}"));
        }
    }
    let l = e.run("create", &["mkfifo", "/sb2v/fifo"]);
    if f.ok(&l) {
        f.fs(is_fifo(&r.join("fifo")), &l, "REALDIR/fifo a fifo");
    }
    let l = e.run("create", &["mkfifoat", "/sb2v/sub", "fifoat"]);
    if f.ok(&l) {
        f.fs(is_fifo(&s.join("fifoat")), &l, "REALDIR/sub/fifoat a fifo");
    }

    let l = e.run("create", &["symlink", "file", "/sb2v/sym"]);
    if f.ok(&l) {
        f.fs(
            fs::read_link(r.join("sym")).ok() == Some(PathBuf::from("file")),
            &l,
            "REALDIR/sym -> file",
        );
    }
    let l = e.run("create", &["symlinkat", "../file", "/sb2v/sub", "symat"]);
    if f.ok(&l) {
        f.fs(
            fs::read_link(s.join("symat")).ok() == Some(PathBuf::from("../file")),
            &l,
            "REALDIR/sub/symat -> ../file",
        );
    }

    let ino = |p: &Path| fs::symlink_metadata(p).map(|m| m.ino()).unwrap_or(0);
    let file_ino = ino(&r.join("file"));
    let l = e.run("create", &["link", "/sb2v/file", "/sb2v/hard"]);
    if f.ok(&l) {
        f.fs(
            ino(&r.join("hard")) == file_ino,
            &l,
            "REALDIR/hard a hard link of REALDIR/file",
        );
    }
    let l = e.run(
        "create",
        &["linkat", "/sb2v", "file", "/sb2v/sub", "hardat"],
    );
    if f.ok(&l) {
        f.fs(
            ino(&s.join("hardat")) == file_ino,
            &l,
            "REALDIR/sub/hardat a hard link of REALDIR/file",
        );
    }
    let l = e.run(
        "create",
        &["linkat", "/sb2v", "link", "/sb2v/sub", "hardf", "f"],
    );
    if f.ok(&l) {
        f.fs(
            ino(&s.join("hardf")) == file_ino,
            &l,
            "REALDIR/sub/hardf a hard link of REALDIR/file (link followed)",
        );
    }

    for func in ["truncate", "truncate64"] {
        fs::write(r.join(func), "abcdef").expect("write");
        let l = e.run("create", &[func, &format!("/sb2v/{func}"), "3"]);
        if f.ok(&l) {
            f.fs(
                read(&r.join(func)) == "abc",
                &l,
                &format!("REALDIR/{func} truncated to 3 bytes"),
            );
        }
    }

    for n in ["r1", "r2", "r3", "r4", "u1", "u2", "rm1"] {
        fs::write(r.join(n), n).expect("write");
    }
    for d in ["ud", "rd", "rm2"] {
        fs::create_dir(r.join(d)).expect("mkdir");
    }
    let l = e.run("create", &["rename", "/sb2v/r1", "/sb2v/sub/r1b"]);
    if f.ok(&l) {
        f.fs(
            !exists(&r.join("r1")) && read(&s.join("r1b")) == "r1",
            &l,
            "REALDIR/r1 moved to REALDIR/sub/r1b",
        );
    }
    let l = e.run("create", &["renameat", "/sb2v", "r2", "/sb2v/sub", "r2b"]);
    if f.ok(&l) {
        f.fs(
            !exists(&r.join("r2")) && read(&s.join("r2b")) == "r2",
            &l,
            "REALDIR/r2 moved to REALDIR/sub/r2b",
        );
    }
    let l = e.run(
        "create",
        &["renameat2", "/sb2v", "r3", "/sb2v/sub", "r3b", "n"],
    );
    if f.ok(&l) {
        f.fs(
            !exists(&r.join("r3")) && read(&s.join("r3b")) == "r3",
            &l,
            "REALDIR/r3 moved to REALDIR/sub/r3b",
        );
    }
    let l = e.run(
        "create",
        &["renameat2", "/sb2v", "r4", "/sb2v/sub", "deep", "n"],
    );
    if f.errno(&l, "EEXIST") {
        f.fs(
            read(&r.join("r4")) == "r4" && read(&s.join("deep")) == DEEP_TEXT,
            &l,
            "nothing renamed",
        );
    }

    let l = e.run("create", &["unlink", "/sb2v/u1"]);
    if f.ok(&l) {
        f.fs(!exists(&r.join("u1")), &l, "REALDIR/u1 removed");
    }
    let l = e.run("create", &["unlinkat", "/sb2v", "u2"]);
    if f.ok(&l) {
        f.fs(!exists(&r.join("u2")), &l, "REALDIR/u2 removed");
    }
    let l = e.run("create", &["unlinkat", "/sb2v", "ud", "r"]);
    if f.ok(&l) {
        f.fs(!exists(&r.join("ud")), &l, "REALDIR/ud removed");
    }
    let l = e.run("create", &["rmdir", "/sb2v/rd"]);
    if f.ok(&l) {
        f.fs(!exists(&r.join("rd")), &l, "REALDIR/rd removed");
    }
    let l = e.run("create", &["remove", "/sb2v/rm1"]);
    if f.ok(&l) {
        f.fs(!exists(&r.join("rm1")), &l, "REALDIR/rm1 removed");
    }
    let l = e.run("create", &["remove", "/sb2v/rm2"]);
    if f.ok(&l) {
        f.fs(!exists(&r.join("rm2")), &l, "REALDIR/rm2 removed");
    }

    // The link itself is removed, not its target.
    let l = e.run("create", &["unlink", "/sb2v/link"]);
    if f.ok(&l) {
        f.fs(
            !exists(&r.join("link")) && is_file(&r.join("file")),
            &l,
            "REALDIR/link removed, REALDIR/file kept",
        );
    }
    f.errno(&e.run("create", &["unlink", "/sb2v/missing"]), "ENOENT");
    f.errno(&e.run("create", &["mkdir", "/sb2v/sub"]), "EEXIST");
    f.finish();
}

#[test]
fn create_all_relative_after_chdir_mapped() {
    let e = env("create-rel");
    let s = e.real.join("sub");
    let mut f = Fails::default();
    let l = e.run("create", &["-C", "/sb2v/sub", "mkdir", "reldir"]);
    if f.ok(&l) {
        f.fs(
            is_dir(&s.join("reldir")),
            &l,
            "REALDIR/sub/reldir a directory",
        );
    }
    let l = e.run("create", &["-C", "/sb2v/sub", "mkfifo", "relfifo"]);
    if f.ok(&l) {
        f.fs(
            is_fifo(&s.join("relfifo")),
            &l,
            "REALDIR/sub/relfifo a fifo",
        );
    }
    let l = e.run("create", &["-C", "/sb2v/sub", "symlink", "deep", "rellink"]);
    if f.ok(&l) {
        f.fs(
            fs::read_link(s.join("rellink")).ok() == Some(PathBuf::from("deep")),
            &l,
            "REALDIR/sub/rellink -> deep",
        );
    }
    let l = e.run(
        "create",
        &["-C", "/sb2v/sub", "rename", "rellink", "../moved"],
    );
    if f.ok(&l) {
        f.fs(
            fs::read_link(e.real.join("moved")).is_ok(),
            &l,
            "REALDIR/moved",
        );
    }
    let l = e.run(
        "create",
        &["-C", "/sb2v/sub", "mkdirat", "AT_FDCWD", "reldir2"],
    );
    if f.ok(&l) {
        f.fs(
            is_dir(&s.join("reldir2")),
            &l,
            "REALDIR/sub/reldir2 a directory",
        );
    }
    let l = e.run("create", &["-C", "/sb2v/sub", "unlink", "deep"]);
    if f.ok(&l) {
        f.fs(!exists(&s.join("deep")), &l, "REALDIR/sub/deep removed");
    }
    f.finish();
}

#[test]
fn create_all_readonly_erofs_untouched() {
    let e = env("create-ro");
    fs::write(e.real.join("tomove"), "x").expect("write");
    let before = snapshot(&e.ro);
    let mut f = Fails::default();
    let cases: &[&[&str]] = &[
        &["mkdir", "/sb2ro/d"],
        &["mkdirat", "/sb2ro/sub", "d"],
        &["mkdirat", "/sb2v", "/sb2ro/d"],
        &["mknod", "/sb2ro/n", "p"],
        &["mknodat", "/sb2ro/sub", "n", "f"],
        &["__xmknod", "/sb2ro/n", "f"],
        &["__xmknodat", "/sb2ro/sub", "n", "p"],
        &["mkfifo", "/sb2ro/p"],
        &["mkfifoat", "/sb2ro/sub", "p"],
        &["unlink", "/sb2ro/file"],
        &["unlink", "/sb2ro/link"],
        &["unlinkat", "/sb2ro/sub", "deep"],
        &["unlinkat", "/sb2ro", "empty", "r"],
        &["rmdir", "/sb2ro/empty"],
        &["remove", "/sb2ro/file"],
        &["remove", "/sb2ro/empty"],
        &["rename", "/sb2ro/file", "/sb2ro/file2"],
        &["rename", "/sb2ro/file", "/sb2v/stolen"],
        &["rename", "/sb2v/tomove", "/sb2ro/moved"],
        &["renameat", "/sb2ro", "file", "/sb2ro/sub", "file2"],
        &["renameat2", "/sb2ro", "file", "/sb2ro/sub", "file2", "n"],
        &["link", "/sb2ro/file", "/sb2ro/hard"],
        &["linkat", "/sb2ro", "file", "/sb2ro/sub", "hard"],
        &["symlink", "file", "/sb2ro/sym"],
        &["symlinkat", "file", "/sb2ro/sub", "sym"],
        &["truncate", "/sb2ro/file", "1"],
        &["truncate64", "/sb2ro/file", "1"],
        &["truncate", "/sb2ro/link", "1"],
    ];
    for c in cases {
        f.errno(&e.run("create", c), "EROFS");
    }
    f.fs(
        read(&e.real.join("tomove")) == "x",
        &e.run("stat", &["stat", "/sb2v/tomove"]),
        "REALDIR/tomove kept",
    );
    same_snapshot(&mut f, &before, &snapshot(&e.ro), "RODIR");
    f.finish();
}

#[test]
fn create_mkdir_rename_bad_input_efault_enametoolong() {
    let e = env("create-bad");
    let mut f = Fails::default();
    for (arg, err) in BAD {
        f.errno(&e.run("create", &["mkdir", arg]), err);
        f.errno(&e.run("create", &["mkdirat", "/sb2v", arg]), err);
        f.errno(&e.run("create", &["rename", arg, "/sb2v/x"]), err);
        f.errno(&e.run("create", &["rename", "/sb2v/file", arg]), err);
        f.errno(&e.run("create", &["unlink", arg]), err);
    }
    f.fs(
        read(&e.real.join("file")) == FILE_TEXT,
        &e.run("stat", &["stat", "/sb2v/file"]),
        "REALDIR/file kept",
    );
    f.finish();
}
