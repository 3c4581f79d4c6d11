//! Links and names: readlink, realpath, canonicalize_file_name, chdir,
//! fchdir and the getcwd family.

use super::Want::{Errno, Is};
use super::*;

#[test]
fn names_readlink_all_mapped() {
    let e = env("readlink");
    let mut f = Fails::default();
    e.path_cases(
        &mut f,
        "names",
        &["readlink", "__readlink_chk"],
        &[
            ("/sb2v/link", Is("file")),
            ("/sb2v/abslink", Is("/sb2v/file")),
            ("/sb2v/dlink/up", Is("../file")),
            ("/sb2ro/link", Is("file")),
            ("-C /sb2v/sub up", Is("../file")),
            ("/sb2v/file", Errno("EINVAL")),
            ("/sb2v/missing", Errno("ENOENT")),
            // /proc/self/cwd shows the virtual cwd.
            ("-C /sb2v/sub /proc/self/cwd", Is("/sb2v/sub")),
        ],
    );
    e.path_cases(
        &mut f,
        "names",
        &["readlinkat", "__readlinkat_chk"],
        &[
            ("/sb2v/sub up", Is("../file")),
            ("/sb2v link", Is("file")),
            ("AT_FDCWD /sb2v/abslink", Is("/sb2v/file")),
            ("/sb2v/sub deep", Errno("EINVAL")),
        ],
    );
    f.finish();
}

#[test]
fn names_realpath_all_virtual() {
    let e = env("realpath");
    let mut f = Fails::default();
    e.path_cases(
        &mut f,
        "names",
        &["realpath", "__realpath_chk", "canonicalize_file_name"],
        &[
            ("/sb2v/link", Is("/sb2v/file")),
            ("/sb2v/abslink", Is("/sb2v/file")),
            ("/sb2v/dlink/up", Is("/sb2v/file")),
            ("/sb2v/sub/../sub/./deep", Is("/sb2v/sub/deep")),
            ("/sb2ro/link", Is("/sb2ro/file")),
            ("-C /sb2v/sub deep", Is("/sb2v/sub/deep")),
            ("-C /sb2v/sub up", Is("/sb2v/file")),
            ("-C /sb2v/sub .", Is("/sb2v/sub")),
            ("/sb2v/missing", Errno("ENOENT")),
        ],
    );
    e.path_cases(
        &mut f,
        "names",
        &["realpath", "__realpath_chk"],
        &[("/sb2v/link NULLBUF", Is("/sb2v/file"))],
    );
    f.finish();
}

#[test]
fn names_getcwd_all_virtual_after_chdir() {
    let e = env("getcwd");
    let mut f = Fails::default();
    f.ok_with(&e.run("names", &["chdir", "/sb2v/sub"]), "/sb2v/sub");
    f.ok_with(&e.run("names", &["chdir", "/sb2v/dlink"]), "/sb2v/sub");
    f.ok_with(
        &e.run("names", &["-C", "/sb2v", "chdir", "sub/inner"]),
        "/sb2v/sub/inner",
    );
    f.ok_with(&e.run("names", &["chdir", "/sb2ro/sub"]), "/sb2ro/sub");
    // A relative name after the call is looked up in the new directory.
    f.ok_with(
        &e.run("names", &["chdir", "/sb2v/sub", "deep"]),
        "/sb2v/sub deep content",
    );
    f.ok_with(
        &e.run("names", &["-C", "/sb2v/sub", "chdir", "..", "file"]),
        "/sb2v hello from real",
    );
    f.ok_with(
        &e.run(
            "names",
            &["-C", "/sb2v/sub/inner", "chdir", "/sb2ro/sub", "deep"],
        ),
        "/sb2ro/sub readonly deep",
    );
    f.ok_with(
        &e.run("names", &["fchdir", "/sb2v/sub", "deep"]),
        "/sb2v/sub deep content",
    );
    f.ok_with(
        &e.run(
            "names",
            &["-C", "/sb2v", "fchdir", "/sb2v/sub/inner", "leaf"],
        ),
        "/sb2v/sub/inner leaf",
    );
    f.ok_with(
        &e.run("names", &["-C", "/sb2v/sub", "fchdir", "/sb2ro", "file"]),
        "/sb2ro readonly file",
    );
    f.ok_with(
        &e.run("names", &["fchdir", "/sb2v/dlink/", "up"]),
        "/sb2v/sub hello from real",
    );
    f.errno(&e.run("names", &["fchdir", "BADFD"]), "EBADF");
    f.errno(&e.run("names", &["chdir", "/sb2v/missing"]), "ENOENT");
    f.errno(&e.run("names", &["chdir", "/sb2v/file"]), "ENOTDIR");
    for func in ["getcwd", "__getcwd_chk", "getwd", "get_current_dir_name"] {
        f.ok_with(&e.run("names", &["-C", "/sb2v/sub", func]), "/sb2v/sub");
        f.ok_with(
            &e.run("names", &["-C", "/sb2v/sub/inner", func]),
            "/sb2v/sub/inner",
        );
        f.ok_with(&e.run("names", &["-C", "/sb2ro", func]), "/sb2ro");
    }
    f.ok_with(
        &e.run("names", &["-C", "/sb2v/sub", "getcwd", "NULL"]),
        "/sb2v/sub",
    );
    f.errno(
        &e.run("names", &["-C", "/sb2v/sub", "getcwd", "5"]),
        "ERANGE",
    );
    f.errno(
        &e.run("names", &["-C", "/sb2v/sub", "__getcwd_chk", "5"]),
        "ERANGE",
    );
    f.finish();
}

#[test]
fn names_readlink_realpath_chdir_bad_input_efault_enametoolong() {
    let e = env("names-bad");
    let mut f = Fails::default();
    for (arg, err) in BAD {
        f.errno(&e.run("names", &["readlink", arg]), err);
        f.errno(&e.run("names", &["readlinkat", "/sb2v", arg]), err);
        f.errno(&e.run("names", &["realpath", arg]), err);
        f.errno(&e.run("names", &["realpath", arg, "NULLBUF"]), err);
        f.errno(&e.run("names", &["canonicalize_file_name", arg]), err);
        f.errno(&e.run("names", &["chdir", arg]), err);
    }
    f.finish();
}
