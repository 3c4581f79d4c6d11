//! The open family: open, open64, __open*, openat*, __openat*_2, creat*,
//! fopen*, freopen*.

use super::Want::{Errno, Is};
use super::*;

#[test]
fn open_all_read_mapped() {
    let e = env("open-read");
    let mut f = Fails::default();
    let paths: Vec<&str> = OPEN_PATH.iter().chain(&OPEN_2).copied().collect();
    e.path_cases(
        &mut f,
        "open",
        &paths,
        &[
            ("/sb2v/file", Is("hello from real")),
            ("/sb2v/abslink", Is("hello from real")),
            ("/sb2ro/file", Is("readonly file")),
            ("/sb2v/sub rd", Is("dir")),
            ("/sb2v/dlink rd", Is("dir")),
            ("/sb2v/file rd", Errno("ENOTDIR")),
            ("/sb2v/link/", Errno("ENOTDIR")),
            ("/sb2v/missing", Errno("ENOENT")),
            ("/sb2v/link rn", Errno("ELOOP")),
        ],
    );
    let at: Vec<&str> = OPEN_AT.iter().chain(&OPENAT_2).copied().collect();
    e.path_cases(
        &mut f,
        "open",
        &at,
        &[
            ("/sb2v/sub deep", Is("deep content")),
            ("/sb2v sub/up", Is("hello from real")),
            ("AT_FDCWD /sb2v/file", Is("hello from real")),
            ("/sb2ro/sub /sb2v/sub/deep", Is("deep content")),
            ("/sb2ro/sub deep", Is("readonly deep")),
            ("/sb2v/sub missing", Errno("ENOENT")),
        ],
    );
    e.path_cases(
        &mut f,
        "open",
        &FOPEN,
        &[
            ("/sb2v/file r", Is("hello from real")),
            ("/sb2v/dlink/deep r", Is("deep content")),
            ("/sb2v/missing r", Errno("ENOENT")),
        ],
    );
    // freopen(NULL, mode, f) changes the mode of the stream's own file.
    f.ok_with(&e.run("open", &["freopen", "NULL", "r"]), "<eof>");
    f.finish();
}

#[test]
fn open_all_write_mapped_creates_in_realdir() {
    let e = env("open-write");
    let mut f = Fails::default();
    let r = &e.real;
    for func in OPEN_PATH.iter().chain(&CREAT).copied() {
        let name = format!("new-{func}");
        let l = if func.starts_with("creat") {
            e.run("open", &[func, &format!("/sb2v/{name}")])
        } else {
            e.run("open", &[func, &format!("/sb2v/{name}"), "wcx"])
        };
        if f.ok_with(&l, "written") {
            f.fs(
                read(&r.join(&name)) == "probe\n",
                &l,
                &format!("REALDIR/{name} written"),
            );
        }
    }
    for func in OPEN_2 {
        // The fortified forms refuse O_CREAT: write to an existing file.
        let name = format!("exist-{func}");
        fs::write(r.join(&name), "").expect("write");
        let l = e.run("open", &[func, &format!("/sb2v/{name}"), "w"]);
        if f.ok_with(&l, "written") {
            f.fs(
                read(&r.join(&name)) == "probe\n",
                &l,
                &format!("REALDIR/{name} written"),
            );
        }
    }
    for func in OPEN_AT {
        let name = format!("new-{func}");
        let l = e.run("open", &[func, "/sb2v/sub", &name, "wcx"]);
        if f.ok_with(&l, "written") {
            f.fs(
                read(&r.join("sub").join(&name)) == "probe\n",
                &l,
                &format!("REALDIR/sub/{name} written"),
            );
        }
    }
    for func in OPENAT_2 {
        let name = format!("exist-{func}");
        fs::write(r.join("sub").join(&name), "").expect("write");
        let l = e.run("open", &[func, "/sb2v/sub", &name, "w"]);
        if f.ok_with(&l, "written") {
            f.fs(
                read(&r.join("sub").join(&name)) == "probe\n",
                &l,
                &format!("REALDIR/sub/{name} written"),
            );
        }
    }
    for func in FOPEN {
        let name = format!("new-{func}");
        let l = e.run("open", &[func, &format!("/sb2v/{name}"), "w"]);
        if f.ok_with(&l, "written") {
            f.fs(
                read(&r.join(&name)) == "probe\n",
                &l,
                &format!("REALDIR/{name} written"),
            );
        }
        let name = format!("app-{func}");
        fs::write(r.join(&name), "old\n").expect("write");
        let l = e.run("open", &[func, &format!("/sb2v/{name}"), "a"]);
        if f.ok_with(&l, "written") {
            f.fs(
                read(&r.join(&name)) == "old\nprobe\n",
                &l,
                &format!("REALDIR/{name} appended"),
            );
        }
    }
    // O_EXCL on an existing mapped file.
    f.errno(&e.run("open", &["open", "/sb2v/file", "wcx"]), "EEXIST");
    f.finish();
}

#[test]
fn open_all_write_readonly_erofs() {
    let e = env("open-ro");
    let before = snapshot(&e.ro);
    let mut f = Fails::default();
    for func in OPEN_PATH {
        f.errno(&e.run("open", &[func, "/sb2ro/new", "wc"]), "EROFS");
        f.errno(&e.run("open", &[func, "/sb2ro/file", "W"]), "EROFS");
        f.errno(&e.run("open", &[func, "/sb2ro/file", "rt"]), "EROFS");
    }
    for func in OPEN_2 {
        f.errno(&e.run("open", &[func, "/sb2ro/file", "w"]), "EROFS");
    }
    for func in OPEN_AT {
        f.errno(&e.run("open", &[func, "/sb2ro/sub", "new", "wc"]), "EROFS");
        f.errno(
            &e.run("open", &[func, "/sb2v/sub", "/sb2ro/new", "wc"]),
            "EROFS",
        );
    }
    for func in OPENAT_2 {
        f.errno(&e.run("open", &[func, "/sb2ro/sub", "deep", "w"]), "EROFS");
    }
    for func in CREAT {
        f.errno(&e.run("open", &[func, "/sb2ro/new"]), "EROFS");
        f.errno(&e.run("open", &[func, "/sb2ro/file"]), "EROFS");
    }
    for func in FOPEN {
        f.errno(&e.run("open", &[func, "/sb2ro/new", "w"]), "EROFS");
        f.errno(&e.run("open", &[func, "/sb2ro/file", "a"]), "EROFS");
        f.errno(&e.run("open", &[func, "/sb2ro/file", "r+"]), "EROFS");
    }
    same_snapshot(&mut f, &before, &snapshot(&e.ro), "RODIR");
    f.finish();
}

/// A write through a symlink goes where the symlink leads (as the kernel
/// does with a read-only mount): allowed from RODIR into REALDIR, refused
/// from REALDIR into RODIR.
#[test]
fn open_all_write_through_symlinks_follow_the_target() {
    let e = env("open-symlinks");
    let target = e.real.join("rwtarget");
    symlink("/sb2v/rwtarget", e.ro.join("rwlink")).expect("symlink");
    symlink("/sb2ro/file", e.real.join("rolink")).expect("symlink");
    let before = snapshot(&e.ro);
    let mut f = Fails::default();
    let cases: Vec<Vec<&str>> = OPEN_PATH
        .iter()
        .chain(&OPEN_2)
        .map(|func| vec![*func, "/sb2ro/rwlink", "w"])
        .chain(
            OPEN_AT
                .iter()
                .chain(&OPENAT_2)
                .map(|func| vec![*func, "/sb2ro", "rwlink", "w"]),
        )
        .chain(CREAT.iter().map(|func| vec![*func, "/sb2ro/rwlink"]))
        .chain(FOPEN.iter().map(|func| vec![*func, "/sb2ro/rwlink", "w"]))
        .collect();
    for c in &cases {
        fs::write(&target, "old\n").expect("write");
        let l = e.run("open", c);
        if f.ok_with(&l, "written") {
            f.fs(read(&target) == "probe\n", &l, "REALDIR/rwtarget written");
        }
    }
    for c in &cases {
        let mut c = c.clone();
        for a in c.iter_mut() {
            *a = match *a {
                "/sb2ro/rwlink" => "/sb2v/rolink",
                "/sb2ro" => "/sb2v",
                "rwlink" => "rolink",
                x => x,
            };
        }
        f.errno(&e.run("open", &c), "EROFS");
    }
    same_snapshot(&mut f, &before, &snapshot(&e.ro), "RODIR");
    f.finish();
}

#[test]
fn open_all_relative_after_chdir_mapped() {
    let e = env("open-rel");
    let mut f = Fails::default();
    let paths: Vec<&str> = OPEN_PATH.iter().chain(&OPEN_2).copied().collect();
    e.path_cases(
        &mut f,
        "open",
        &paths,
        &[
            ("-C /sb2v/sub deep", Is("deep content")),
            ("-C /sb2v/sub ../file", Is("hello from real")),
        ],
    );
    let at: Vec<&str> = OPEN_AT.iter().chain(&OPENAT_2).copied().collect();
    e.path_cases(
        &mut f,
        "open",
        &at,
        &[("-C /sb2v/sub AT_FDCWD up", Is("hello from real"))],
    );
    e.path_cases(
        &mut f,
        "open",
        &FOPEN,
        &[("-C /sb2v sub/deep r", Is("deep content"))],
    );
    let l = e.run("open", &["-C", "/sb2v/sub", "creat", "rel-new"]);
    if f.ok_with(&l, "written") {
        f.fs(
            read(&e.real.join("sub/rel-new")) == "probe\n",
            &l,
            "REALDIR/sub/rel-new written",
        );
    }
    f.errno(
        &e.run("open", &["-C", "/sb2ro/sub", "open", "rel-new", "wc"]),
        "EROFS",
    );
    f.finish();
}

#[test]
fn open_open_fopen_bad_input_efault_enametoolong() {
    let e = env("open-bad");
    let mut f = Fails::default();
    for (arg, err) in BAD {
        f.errno(&e.run("open", &["open", arg]), err);
        f.errno(&e.run("open", &["open", arg, "wc"]), err);
        f.errno(&e.run("open", &["openat", "/sb2v/sub", arg]), err);
        f.errno(&e.run("open", &["fopen", arg, "r"]), err);
        f.errno(&e.run("open", &["fopen", arg, "w"]), err);
    }
    f.finish();
}

#[test]
fn open_open_non_utf8_name_mapped() {
    let e = env("open-nonutf8");
    let mut f = Fails::default();
    let name = OsStr::from_bytes(b"\xff\xfe");
    let mut vpath = OsString::from("/sb2v/");
    vpath.push(name);
    let l = e.run_os("open", &[os("open"), vpath.clone(), os("wcx")]);
    if f.ok_with(&l, "written") {
        f.fs(
            read(&e.real.join(name)) == "probe\n",
            &l,
            "REALDIR/\\xff\\xfe written",
        );
    }
    f.ok_with(
        &e.run_os("stat", &[os("stat"), vpath.clone()]),
        "size=6 type=f",
    );
    f.ok_with(
        &e.run_os("stat", &[os("fstatat"), os("/sb2v"), name.to_owned()]),
        "size=6 type=f",
    );
    f.ok_with(&e.run_os("open", &[os("open"), vpath]), "probe");
    f.finish();
}
