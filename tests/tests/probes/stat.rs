//! The stat family (stat, lstat, the *at and __*xstat forms, statx,
//! statfs, statvfs, pathconf) and the access family.

use super::Want::{Errno, Is, IsDir, Works};
use super::*;

const STAT_FOLLOW: [&str; 4] = ["stat", "stat64", "__xstat", "__xstat64"];
const STAT_NOFOLLOW: [&str; 4] = ["lstat", "lstat64", "__lxstat", "__lxstat64"];
const STAT_AT: [&str; 5] = [
    "fstatat",
    "fstatat64",
    "__fxstatat",
    "__fxstatat64",
    "statx",
];
const STAT_FS: [&str; 4] = ["statfs", "statfs64", "statvfs", "statvfs64"];

#[test]
fn stat_all_mapped_follow_and_nofollow() {
    let e = env("stat-paths");
    let mut f = Fails::default();
    e.path_cases(
        &mut f,
        "stat",
        &STAT_FOLLOW,
        &[
            ("/sb2v/file", Is("size=16 type=f")),
            ("/sb2v/link", Is("size=16 type=f")),
            ("/sb2v/abslink", Is("size=16 type=f")),
            ("/sb2ro/file", Is("size=14 type=f")),
            ("/sb2v/dlink", IsDir),
            ("/sb2v/missing", Errno("ENOENT")),
            ("/sb2v/file/x", Errno("ENOTDIR")),
        ],
    );
    e.path_cases(
        &mut f,
        "stat",
        &STAT_NOFOLLOW,
        &[
            ("/sb2v/file", Is("size=16 type=f")),
            ("/sb2v/link", Is("size=4 type=l")),
            ("/sb2v/abslink", Is("size=10 type=l")),
            ("/sb2v/dlink/deep", Is("size=13 type=f")),
            ("/sb2v/missing", Errno("ENOENT")),
        ],
    );
    f.finish();
}

/// A symlink whose target is an absolute virtual path (meaningless on the
/// host) as an intermediate or final component.
#[test]
fn stat_open_all_through_absolute_virtual_dir_symlink() {
    let e = env("stat-avlink");
    symlink("/sb2v/sub", e.real.join("avdir")).expect("symlink");
    let mut f = Fails::default();
    e.path_cases(
        &mut f,
        "stat",
        &STAT_FOLLOW,
        &[
            ("/sb2v/avdir/deep", Is("size=13 type=f")),
            ("/sb2v/avdir/up", Is("size=16 type=f")),
            ("/sb2v/avdir", IsDir),
        ],
    );
    e.path_cases(
        &mut f,
        "stat",
        &STAT_NOFOLLOW,
        &[
            ("/sb2v/avdir/deep", Is("size=13 type=f")),
            ("/sb2v/avdir", Is("size=9 type=l")),
        ],
    );
    e.path_cases(
        &mut f,
        "stat",
        &STAT_AT,
        &[
            ("/sb2v/avdir/ deep", Is("size=13 type=f")),
            ("/sb2v avdir/inner/leaf", Is("size=5 type=f")),
            ("/sb2v avdir n", Is("size=9 type=l")),
        ],
    );
    let open: Vec<&str> = OPEN_PATH.iter().chain(&OPEN_2).copied().collect();
    e.path_cases(
        &mut f,
        "open",
        &open,
        &[
            ("/sb2v/avdir/deep", Is("deep content")),
            ("/sb2v/avdir/ rd", Is("dir")),
        ],
    );
    f.ok_with(
        &e.run("names", &["realpath", "/sb2v/avdir/inner/leaf"]),
        "/sb2v/sub/inner/leaf",
    );
    f.ok_with(
        &e.run("names", &["chdir", "/sb2v/avdir", "deep"]),
        "/sb2v/sub deep content",
    );
    f.ok_with(&e.run("dirs", &["opendir", "/sb2v/avdir"]), "deep,inner,up");
    f.ok_with(
        &e.run("dirs", &["glob", "/sb2v/avdir/*"]),
        "/sb2v/avdir/deep,/sb2v/avdir/inner,/sb2v/avdir/up",
    );
    f.finish();
}

#[test]
fn stat_at_all_dirfd_mapped() {
    let e = env("stat-at");
    let mut f = Fails::default();
    e.path_cases(
        &mut f,
        "stat",
        &STAT_AT,
        &[
            ("/sb2v/sub deep", Is("size=13 type=f")),
            ("/sb2v/sub up", Is("size=16 type=f")),
            ("/sb2v/sub up n", Is("size=7 type=l")),
            ("/sb2v abslink", Is("size=16 type=f")),
            ("AT_FDCWD /sb2v/file", Is("size=16 type=f")),
            ("/sb2ro/sub deep", Is("size=14 type=f")),
            // AT_EMPTY_PATH with "": the dirfd itself (a mapped directory).
            ("/sb2v/sub  e", IsDir),
            ("/sb2v/sub missing", Errno("ENOENT")),
            ("-C /sb2v/sub AT_FDCWD deep", Is("size=13 type=f")),
        ],
    );
    f.finish();
}

#[test]
fn stat_fs_pathconf_mapped() {
    let e = env("stat-fs");
    let mut f = Fails::default();
    for func in STAT_FS {
        let l = e.run("stat", &[func, "/sb2v/file"]);
        let h = e.host_run("stat", &[func, &e.real.join("file").display().to_string()]);
        if f.ok(&l) {
            f.check(l.payload == h.payload, || {
                format!("expected the payload of the host call ({h}): {l}")
            });
        }
        f.ok(&e.run("stat", &[func, "/sb2v/sub/deep"]));
        f.errno(&e.run("stat", &[func, "/sb2v/missing"]), "ENOENT");
    }
    let l = e.run("stat", &["pathconf", "/sb2v/file"]);
    if f.ok(&l) {
        f.check(l.ret == "255", || format!("expected NAME_MAX 255: {l}"));
    }
    f.errno(&e.run("stat", &["pathconf", "/sb2v/missing"]), "ENOENT");
    f.finish();
}

#[test]
fn stat_relative_after_chdir_mapped() {
    let e = env("stat-rel");
    let mut f = Fails::default();
    let funcs: Vec<&str> = STAT_FOLLOW.iter().chain(&STAT_NOFOLLOW).copied().collect();
    e.path_cases(
        &mut f,
        "stat",
        &funcs,
        &[
            ("-C /sb2v/sub deep", Is("size=13 type=f")),
            ("-C /sb2v/sub ../file", Is("size=16 type=f")),
            ("-C /sb2v/sub missing", Errno("ENOENT")),
        ],
    );
    f.finish();
}

#[test]
fn stat_stat_statx_bad_input_efault_enametoolong() {
    let e = env("stat-bad");
    let mut f = Fails::default();
    for (arg, err) in BAD {
        f.errno(&e.run("stat", &["stat", arg]), err);
        f.errno(&e.run("stat", &["lstat", arg]), err);
        f.errno(&e.run("stat", &["statx", "AT_FDCWD", arg]), err);
        f.errno(&e.run("stat", &["statx", "/sb2v/sub", arg]), err);
    }
    f.finish();
}

#[test]
fn access_all_mapped_and_readonly_erofs() {
    let e = env("access");
    let before = snapshot(&e.ro);
    let mut f = Fails::default();
    e.path_cases(
        &mut f,
        "access",
        &["access", "euidaccess", "eaccess"],
        &[
            ("/sb2v/file f", Works),
            ("/sb2v/file rw", Works),
            ("/sb2v/link r", Works),
            ("-C /sb2v/sub deep r", Works),
            ("/sb2ro/file r", Works),
            ("/sb2ro/file w", Errno("EROFS")),
            ("/sb2v/missing", Errno("ENOENT")),
        ],
    );
    f.ok(&e.run("access", &["faccessat", "/sb2v/sub", "deep", "rw"]));
    f.ok(&e.run("access", &["faccessat", "/sb2v", "link", "f", "n"]));
    f.ok(&e.run("access", &["faccessat", "AT_FDCWD", "/sb2v/file", "r", "a"]));
    f.ok(&e.run("access", &["faccessat", "/sb2ro/sub", "deep", "r"]));
    f.errno(
        &e.run("access", &["faccessat", "/sb2ro/sub", "deep", "w"]),
        "EROFS",
    );
    f.errno(
        &e.run("access", &["faccessat", "/sb2v/sub", "missing"]),
        "ENOENT",
    );
    same_snapshot(&mut f, &before, &snapshot(&e.ro), "RODIR");
    f.finish();
}
