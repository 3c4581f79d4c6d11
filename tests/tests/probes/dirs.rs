//! Temporary files (mkstemp family, mkdtemp, mktemp, tmpnam, tempnam),
//! directories and tree walks (opendir, scandir, ftw, nftw, fts, glob).

use super::Want::{Errno, Is};
use super::*;

const MKSTEMP: [&str; 4] = ["mkstemp", "mkstemp64", "mkostemp", "mkostemp64"];
const MKSTEMPS: [&str; 4] = ["mkstemps", "mkstemps64", "mkostemps", "mkostemps64"];

/// The template after the call: same shape, X's replaced, virtual prefix.
fn filled(f: &mut Fails, l: &Line, prefix: &str, suffix: &str) -> Option<String> {
    let p = &l.payload;
    let good = p.len() == prefix.len() + 6 + suffix.len()
        && p.starts_with(prefix)
        && p.ends_with(suffix)
        && !p.contains("XXXXXX");
    f.check(good, || {
        format!("expected a filled template {prefix}XXXXXX{suffix}: {l}")
    })
    .then(|| p.clone())
}

#[test]
fn tmp_mkstemp_all_virtual_template_file_in_realdir() {
    let e = env("mkstemp");
    let mut f = Fails::default();
    for (func, suffix, extra) in MKSTEMP
        .iter()
        .map(|x| (*x, "", None))
        .chain(MKSTEMPS.iter().map(|x| (*x, ".c", Some("2"))))
    {
        let t = format!("/sb2v/t{func}-XXXXXX{suffix}");
        let mut args = vec![func, t.as_str()];
        args.extend(extra);
        let l = e.run("tmp", &args);
        if f.ok(&l) {
            if let Some(v) = filled(&mut f, &l, &format!("/sb2v/t{func}-"), suffix) {
                let real = e.real.join(v.trim_start_matches("/sb2v/"));
                f.fs(
                    read(&real) == "probe\n",
                    &l,
                    &format!("{} created and written", real.display()),
                );
            }
        }
        // Relative template after chdir into a mapped directory.
        let t = format!("rel{func}-XXXXXX{suffix}");
        let mut args = vec!["-C", "/sb2v/sub", func, t.as_str()];
        args.extend(extra);
        let l = e.run("tmp", &args);
        if f.ok(&l) {
            if let Some(v) = filled(&mut f, &l, &format!("rel{func}-"), suffix) {
                f.fs(
                    read(&e.real.join("sub").join(&v)) == "probe\n",
                    &l,
                    &format!("REALDIR/sub/{v} created"),
                );
            }
        }
        f.errno(&e.run("tmp", &[func, "/sb2v/missingdir/tXXXXXX"]), "ENOENT");
    }
    let l = e.run("tmp", &["mkdtemp", "/sb2v/dXXXXXX"]);
    if f.ok(&l) {
        if let Some(v) = filled(&mut f, &l, "/sb2v/d", "") {
            f.fs(
                is_dir(&e.real.join(v.trim_start_matches("/sb2v/"))),
                &l,
                "the directory in REALDIR",
            );
        }
    }
    let l = e.run("tmp", &["mktemp", "/sb2v/mXXXXXX"]);
    if f.ok(&l) {
        if let Some(v) = filled(&mut f, &l, "/sb2v/m", "") {
            f.fs(
                !exists(&e.real.join(v.trim_start_matches("/sb2v/"))),
                &l,
                "nothing created by mktemp",
            );
        }
    }
    f.finish();
}

#[test]
fn tmp_all_readonly_erofs_untouched() {
    let e = env("mkstemp-ro");
    let before = snapshot(&e.ro);
    let mut f = Fails::default();
    for func in MKSTEMP {
        f.errno(&e.run("tmp", &[func, "/sb2ro/tXXXXXX"]), "EROFS");
    }
    for func in MKSTEMPS {
        f.errno(&e.run("tmp", &[func, "/sb2ro/tXXXXXX.c", "2"]), "EROFS");
    }
    f.errno(&e.run("tmp", &["mkdtemp", "/sb2ro/dXXXXXX"]), "EROFS");
    f.errno(&e.run("tmp", &["mkstemp", "/sb2ro/sub/tXXXXXX"]), "EROFS");
    same_snapshot(&mut f, &before, &snapshot(&e.ro), "RODIR");
    f.finish();
}

#[test]
fn tmp_tmpnam_tempnam_names_in_the_virtual_view() {
    let e = env("tmpnam");
    let mut f = Fails::default();
    for args in [&["tmpnam"][..], &["tmpnam", "BUF"]] {
        let l = e.run("tmp", args);
        if f.ok(&l) {
            f.check(
                l.payload.starts_with("/tmp/") && l.payload.len() > 5,
                || format!("expected a name in /tmp: {l}"),
            );
        }
    }
    let l = e.run("tmp", &["tempnam", "NULL", "pf"]);
    if f.ok(&l) {
        f.check(l.payload.starts_with("/tmp/pf"), || {
            format!("expected /tmp/pf...: {l}")
        });
    }
    // A directory that exists only in the virtual view must be used.
    let l = e.run("tmp", &["tempnam", "/sb2v/sub", "pf"]);
    if f.ok(&l) {
        f.check(l.payload.starts_with("/sb2v/sub/pf"), || {
            format!("expected a name in /sb2v/sub: {l}")
        });
    }
    f.finish();
}

const SUB_TREE: &str = "/sb2v/sub,/sb2v/sub/deep,/sb2v/sub/inner,/sb2v/sub/inner/leaf,/sb2v/sub/up";

#[test]
fn dirs_opendir_scandir_all_mapped() {
    let e = env("opendir");
    let mut f = Fails::default();
    e.path_cases(
        &mut f,
        "dirs",
        &["opendir", "scandir", "scandir64"],
        &[
            ("/sb2v/sub", Is("deep,inner,up")),
            ("/sb2v/dlink", Is("deep,inner,up")),
            ("/sb2v", Is("abslink,dlink,file,link,sub")),
            ("/sb2ro", Is("empty,file,link,sub")),
            ("-C /sb2v sub", Is("deep,inner,up")),
            ("/sb2v/missing", Errno("ENOENT")),
            ("/sb2v/file", Errno("ENOTDIR")),
        ],
    );
    // The dirfd is itself a mapped directory; the name is relative to it.
    e.path_cases(
        &mut f,
        "dirs",
        &["scandirat", "scandirat64"],
        &[
            ("/sb2v sub", Is("deep,inner,up")),
            ("/sb2v /sb2v/sub", Is("deep,inner,up")),
            ("/sb2v missing", Errno("ENOENT")),
        ],
    );
    f.finish();
}

#[test]
fn dirs_ftw_nftw_all_callbacks_see_virtual_paths() {
    let e = env("ftw");
    let mut f = Fails::default();
    let dlink_tree =
        "/sb2v/dlink,/sb2v/dlink/deep,/sb2v/dlink/inner,/sb2v/dlink/inner/leaf,/sb2v/dlink/up";
    let rel_tree = "sub,sub/deep,sub/inner,sub/inner/leaf,sub/up";
    e.path_cases(
        &mut f,
        "dirs",
        &["ftw", "ftw64"],
        &[
            ("/sb2v/sub", Is(SUB_TREE)),
            ("/sb2v/sub/", Is(SUB_TREE)),
            ("/sb2v/dlink", Is(dlink_tree)),
            ("-C /sb2v sub", Is(rel_tree)),
            ("/sb2v/missing", Errno("ENOENT")),
        ],
    );
    e.path_cases(
        &mut f,
        "dirs",
        &["nftw", "nftw64"],
        &[
            // "c" (FTW_CHDIR): the callback also checks getcwd() and the
            // base name.
            ("/sb2v/sub p", Is(SUB_TREE)),
            ("/sb2v/sub pd", Is(SUB_TREE)),
            ("/sb2v/sub pc", Is(SUB_TREE)),
            ("/sb2v/sub 0", Is(SUB_TREE)),
            ("/sb2v/sub c", Is(SUB_TREE)),
            (
                "/sb2v/sub/inner pc",
                Is("/sb2v/sub/inner,/sb2v/sub/inner/leaf"),
            ),
            // glibc strips the start path's trailing slashes.
            ("/sb2v/sub/", Is(SUB_TREE)),
            // A symlink as start path: FTW_PHYS reports the link itself (as
            // glibc does on the host), without FTW_PHYS the walk follows it.
            ("/sb2v/dlink p", Is("/sb2v/dlink")),
            ("/sb2v/dlink 0", Is(dlink_tree)),
            ("-C /sb2v sub", Is(rel_tree)),
            ("/sb2v/missing", Errno("ENOENT")),
        ],
    );
    f.finish();
}

#[test]
fn dirs_fts_open_all_mapped() {
    let e = env("fts");
    let mut f = Fails::default();
    for func in ["fts_open", "fts64_open"] {
        let l = e.run("dirs", &[func, "/sb2v/sub"]);
        if f.ok(&l) {
            f.check(
                l.payload.ends_with(" names=deep,inner,leaf,sub,up") && !l.payload.contains('!'),
                || format!("expected the entries of REALDIR/sub: {l}"),
            );
        }
        let l = e.run("dirs", &[func, "/sb2v/sub/inner", "/sb2v/file"]);
        if f.ok(&l) {
            f.check(
                l.payload.ends_with(" names=file,inner,leaf") && !l.payload.contains('!'),
                || format!("expected the entries of both: {l}"),
            );
        }
        let l = e.run("dirs", &["-C", "/sb2v", func, "sub"]);
        if f.ok(&l) {
            f.check(
                l.payload.ends_with(" names=deep,inner,leaf,sub,up") && !l.payload.contains('!'),
                || format!("expected the entries of REALDIR/sub: {l}"),
            );
        }
        // Without FTS_NOCHDIR: fts_accpath must stay usable and getcwd right.
        let l = e.run("dirs", &[func, "CHDIR", "/sb2v/sub"]);
        if f.ok(&l) {
            f.check(
                l.payload.ends_with(" names=deep,inner,leaf,sub,up") && !l.payload.contains('!'),
                || format!("expected the entries of REALDIR/sub: {l}"),
            );
        }
    }
    f.finish();
}

#[test]
fn dirs_glob_all_virtual_paths() {
    let e = env("glob");
    let mut f = Fails::default();
    e.path_cases(
        &mut f,
        "dirs",
        &["glob", "glob64"],
        &[
            (
                "/sb2v/*",
                Is("/sb2v/abslink,/sb2v/dlink,/sb2v/file,/sb2v/link,/sb2v/sub"),
            ),
            ("/sb2v/s*/[di]*", Is("/sb2v/sub/deep,/sb2v/sub/inner")),
            (
                "/sb2v/*/inner/l*",
                Is("/sb2v/dlink/inner/leaf,/sb2v/sub/inner/leaf"),
            ),
            (
                "/sb2ro/*",
                Is("/sb2ro/empty,/sb2ro/file,/sb2ro/link,/sb2ro/sub"),
            ),
            ("-C /sb2v sub/*", Is("sub/deep,sub/inner,sub/up")),
            ("/sb2v/file", Is("/sb2v/file")),
        ],
    );
    for func in ["glob", "glob64"] {
        let l = e.run("dirs", &[func, "/sb2v/nothing*"]);
        f.check(l.payload == "GLOB_NOMATCH", || {
            format!("expected GLOB_NOMATCH: {l}")
        });
    }
    f.finish();
}

#[test]
fn dirs_opendir_bad_input_efault_enametoolong() {
    let e = env("opendir-bad");
    let mut f = Fails::default();
    for (arg, err) in BAD {
        f.errno(&e.run("dirs", &["opendir", arg]), err);
        f.errno(&e.run("dirs", &["scandir", arg]), err);
        f.errno(&e.run("dirs", &["nftw", arg]), err);
    }
    f.finish();
}
