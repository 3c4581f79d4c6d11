//! Fuzzing the path pipeline against the kernel's own path walk.
//!
//! In a small real tree (directories, files, relative and absolute
//! symlinks, links to `..` and `.`, a loop, a dangling link) random paths
//! — relative to a directory fd or absolute, with `.`, `..`, `//` and a
//! trailing slash — are resolved twice: by the pipeline with an identity
//! mapping (no rules, or one `use_orig_path` rule for `/`) followed by
//! the real call on the host path it gives, as every hook does; and by
//! the kernel alone (`openat(O_PATH)`). Both must reach the same inode or
//! fail with the same errno, following the final symlink or not, and the
//! pipeline's resolved virtual path must be where the kernel arrived.
//!
//! `PROPTEST_CASES` sets the count (docs/fuzzing.md).

mod common;

use proptest::prelude::*;
use sb2_ruletree::format::{self, Tree};
use sb2_ruletree::mapping::{self, Ctx, PathBuf, Req};
use sb2_ruletree::model::{Action, Mode, Rule, Selector, Session};
use sb2_ruletree::sys::Sys;
use sb2_ruletree::{class, Errno};
use std::ffi::CString;
use std::os::unix::ffi::OsStrExt;
use std::sync::OnceLock;

/// The tree, made once: its canonical path and an O_PATH fd of it.
fn base() -> &'static (std::path::PathBuf, i32) {
    static B: OnceLock<(std::path::PathBuf, i32)> = OnceLock::new();
    B.get_or_init(|| {
        let d = common::scratch("walk");
        std::fs::create_dir_all(d.join("a/b/deep")).unwrap();
        std::fs::create_dir_all(d.join("c")).unwrap();
        let d = d.canonicalize().unwrap();
        std::fs::write(d.join("f"), "f").unwrap();
        std::fs::write(d.join("a/b/f"), "abf").unwrap();
        let ln = |target: &str, at: &str| std::os::unix::fs::symlink(target, d.join(at)).unwrap();
        ln("..", "a/l_up");
        ln(&d.join("a/b").display().to_string(), "a/l_abs");
        ln("b/f", "a/l_file");
        ln("l_up/c", "a/l_chain");
        ln("loop2", "loop1");
        ln("loop1", "loop2");
        ln("nowhere", "dangling");
        ln("a/b/../..", "l_dotdot");
        ln(".", "l_self");
        ln("a/b/", "l_slash");
        ln(&d.join("f").display().to_string(), "c/l_abs_file");
        ln("../a/l_abs/deep", "c/l_far");
        let c = CString::new(d.as_os_str().as_bytes()).unwrap();
        // SAFETY: a NUL-terminated path; the fd lives for the test run.
        let fd = unsafe { libc::open(c.as_ptr(), libc::O_PATH | libc::O_DIRECTORY) };
        assert!(fd >= 0);
        (d, fd)
    })
}

/// An identity mapping: no rules at all, or `/` used as it is.
fn tree(with_rule: bool) -> &'static [u8] {
    static T: [OnceLock<Vec<u8>>; 2] = [OnceLock::new(), OnceLock::new()];
    T[with_rule as usize].get_or_init(|| {
        let fs_rules = if with_rule {
            vec![Rule::new(Selector::Dir("/".into()), Action::UseOrigPath)]
        } else {
            Vec::new()
        };
        let s = Session {
            modes: vec![Mode {
                name: "id".into(),
                fs_rules,
                ..Mode::default()
            }],
            ..Session::default()
        };
        format::write(&s).unwrap()
    })
}

const COMPONENTS: &[&str] = &[
    "a",
    "b",
    "c",
    "f",
    "deep",
    "x",
    ".",
    "..",
    "",
    "l_up",
    "l_abs",
    "l_file",
    "l_chain",
    "loop1",
    "dangling",
    "l_dotdot",
    "l_self",
    "l_slash",
    "l_abs_file",
    "l_far",
];

/// What an open(O_PATH) reaches: (device, inode, path the kernel names
/// it by), or its errno.
type Outcome = Result<(u64, u64, Vec<u8>), i32>;

fn kernel(dirfd: i32, path: &[u8], follow: bool) -> Outcome {
    let c = CString::new(path).map_err(|_| libc::EINVAL)?;
    let fl = libc::O_PATH | if follow { 0 } else { libc::O_NOFOLLOW };
    // SAFETY: a NUL-terminated path; the fd is closed below.
    let fd = unsafe { libc::openat(dirfd, c.as_ptr(), fl) };
    if fd < 0 {
        return Err(std::io::Error::last_os_error().raw_os_error().unwrap_or(0));
    }
    // SAFETY: a zeroed stat for the kernel to fill.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    // SAFETY: fd is ours; st is a valid buffer.
    let r = unsafe { libc::fstat(fd, &mut st) };
    let name = std::fs::read_link(format!("/proc/self/fd/{fd}"))
        .map(|p| p.as_os_str().as_bytes().to_vec())
        .unwrap_or_default();
    // SAFETY: our own fd.
    unsafe { libc::close(fd) };
    assert_eq!(r, 0);
    Ok((st.st_dev, st.st_ino, name))
}

fn errno_of(e: Errno) -> i32 {
    e.0
}

proptest! {
    #![proptest_config(common::config(20000))]

    #[test]
    fn identity_pipeline_walks_like_the_kernel(
        comps in proptest::collection::vec(0..COMPONENTS.len(), 1..8),
        absolute in any::<bool>(),
        trailing in any::<bool>(),
        follow in any::<bool>(),
        with_rule in any::<bool>(),
    ) {
        let (dir, dirfd) = base();
        let mut rel = comps.iter().map(|i| COMPONENTS[*i]).collect::<Vec<_>>().join("/");
        if trailing {
            rel.push('/');
        }
        let path = if absolute {
            format!("{}/{rel}", dir.display())
        } else {
            rel.clone()
        };
        let t = Tree::new(tree(with_rule)).unwrap();
        let ctx = Ctx {
            tree: t,
            mode: t.mode(0).unwrap(),
            binary_name: b"probe",
            exec_policy: b"",
            is_root: false,
            chroot: None,
        };
        let req = Req {
            dirfd: (!absolute).then_some(*dirfd),
            path: path.as_bytes(),
            class: class::OPEN,
            follow,
            want_union: false,
        };
        let (mut v, mut h) = (PathBuf::new(), PathBuf::new());
        let piped: Outcome = match mapping::resolve(&ctx, &Sys, &req, &mut v, &mut h) {
            Ok(_) => kernel(libc::AT_FDCWD, h.as_bytes(), follow),
            Err(e) => Err(errno_of(e)),
        };
        let real = kernel(if absolute { libc::AT_FDCWD } else { *dirfd }, path.as_bytes(), follow);
        match (&piped, &real) {
            (Ok((d1, i1, _)), Ok((d2, i2, name))) => {
                prop_assert_eq!((d1, i1), (d2, i2), "{:?} (follow {}): another file", path, follow);
                prop_assert_eq!(
                    String::from_utf8_lossy(v.as_bytes()),
                    String::from_utf8_lossy(name),
                    "{:?} (follow {}): resolved virtual path", path, follow
                );
            }
            (Err(e1), Err(e2)) => prop_assert_eq!(e1, e2, "{:?} (follow {}): errno", path, follow),
            _ => prop_assert!(
                false,
                "{:?} (follow {}): pipeline {:?} (host path {:?}), kernel {:?}",
                path, follow, piped, String::from_utf8_lossy(h.as_bytes()), real
            ),
        }
    }
}
