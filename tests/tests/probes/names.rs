//! Links and names: readlink, realpath, canonicalize_file_name, chdir,
//! fchdir and the getcwd family.

use super::*;

#[test]
fn names_readlink_all_mapped() {
    let e = env("readlink");
    let mut f = Fails::default();
    for func in ["readlink", "__readlink_chk"] {
        f.ok_with(&e.run("names", &[func, "/sb2v/link"]), "file");
        f.ok_with(&e.run("names", &[func, "/sb2v/abslink"]), "/sb2v/file");
        f.ok_with(&e.run("names", &[func, "/sb2v/dlink/up"]), "../file");
        f.ok_with(&e.run("names", &[func, "/sb2ro/link"]), "file");
        f.ok_with(&e.run("names", &["-C", "/sb2v/sub", func, "up"]), "../file");
        f.errno(&e.run("names", &[func, "/sb2v/file"]), "EINVAL");
        f.errno(&e.run("names", &[func, "/sb2v/missing"]), "ENOENT");
        // /proc/self/cwd shows the virtual cwd.
        f.ok_with(
            &e.run("names", &["-C", "/sb2v/sub", func, "/proc/self/cwd"]),
            "/sb2v/sub",
        );
    }
    for func in ["readlinkat", "__readlinkat_chk"] {
        f.ok_with(&e.run("names", &[func, "/sb2v/sub", "up"]), "../file");
        f.ok_with(&e.run("names", &[func, "/sb2v", "link"]), "file");
        f.ok_with(
            &e.run("names", &[func, "AT_FDCWD", "/sb2v/abslink"]),
            "/sb2v/file",
        );
        f.errno(&e.run("names", &[func, "/sb2v/sub", "deep"]), "EINVAL");
    }
    f.finish();
}

#[test]
fn names_realpath_all_virtual() {
    let e = env("realpath");
    let mut f = Fails::default();
    for func in ["realpath", "__realpath_chk", "canonicalize_file_name"] {
        f.ok_with(&e.run("names", &[func, "/sb2v/link"]), "/sb2v/file");
        f.ok_with(&e.run("names", &[func, "/sb2v/abslink"]), "/sb2v/file");
        f.ok_with(&e.run("names", &[func, "/sb2v/dlink/up"]), "/sb2v/file");
        f.ok_with(
            &e.run("names", &[func, "/sb2v/sub/../sub/./deep"]),
            "/sb2v/sub/deep",
        );
        f.ok_with(&e.run("names", &[func, "/sb2ro/link"]), "/sb2ro/file");
        f.ok_with(
            &e.run("names", &["-C", "/sb2v/sub", func, "deep"]),
            "/sb2v/sub/deep",
        );
        f.ok_with(
            &e.run("names", &["-C", "/sb2v/sub", func, "up"]),
            "/sb2v/file",
        );
        f.ok_with(
            &e.run("names", &["-C", "/sb2v/sub", func, "."]),
            "/sb2v/sub",
        );
        f.errno(&e.run("names", &[func, "/sb2v/missing"]), "ENOENT");
    }
    for func in ["realpath", "__realpath_chk"] {
        f.ok_with(
            &e.run("names", &[func, "/sb2v/link", "NULLBUF"]),
            "/sb2v/file",
        );
    }
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
