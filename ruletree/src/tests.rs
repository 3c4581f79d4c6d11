//! Unit tests of the pure parts: format round trip and damage detection,
//! first-match lookup with subtree fall-through, the pipeline on a fake
//! host and reverse mapping. They never replace the end-to-end tests in
//! tests/.

use crate::format::{self, Tree};
use crate::mapping::{self, Ctx, Host, Kind, PathBuf, Req};
use crate::model::*;
use crate::Errno;
use std::collections::HashMap;

fn rule(sel: Selector, act: Action) -> Rule {
    Rule::new(sel, act)
}
fn dir(s: &str) -> Selector {
    Selector::Dir(s.into())
}

fn build(rules: Vec<Rule>) -> Vec<u8> {
    let s = Session {
        constants: vec![
            ("target_root".into(), "/T".into()),
            ("session_dir".into(), "/S".into()),
        ],
        modes: vec![Mode {
            name: "m".into(),
            fs_rules: rules,
            ..Mode::default()
        }],
        ..Session::default()
    };
    format::write(&s).unwrap()
}

/// A file system of host paths: dirs, files and symlinks.
#[derive(Default)]
struct Fake {
    links: HashMap<&'static str, &'static str>,
    exists: Vec<&'static str>,
    cwd: &'static str,
}

impl Host for Fake {
    fn lstat_kind(&self, p: &[u8]) -> Result<Kind, Errno> {
        let p = std::str::from_utf8(&p[..p.len() - 1]).unwrap();
        if self.links.contains_key(p) {
            Ok(Kind::Symlink)
        } else if self
            .exists
            .iter()
            .any(|e| *e == p || e.starts_with(&format!("{p}/")))
        {
            Ok(Kind::Dir)
        } else {
            Err(Errno::ENOENT)
        }
    }
    fn readlink(&self, p: &[u8], out: &mut PathBuf) -> Result<(), Errno> {
        let p = std::str::from_utf8(&p[..p.len() - 1]).unwrap();
        out.set(self.links.get(p).ok_or(Errno::EINVAL)?.as_bytes())
    }
    fn getenv(&self, _: &[u8], _: &mut PathBuf) -> bool {
        false
    }
    fn host_cwd(&self, out: &mut PathBuf) -> Result<(), Errno> {
        out.set(self.cwd.as_bytes())
    }
    fn fd_path(&self, _: i32, _: &mut PathBuf) -> Result<(), Errno> {
        Err(Errno::EBADF)
    }
}

/// The context of a program `prog` in the tree's first mode.
fn ctx_of<'a>(tree: Tree<'a>, chroot: Option<mapping::Chroot<'a>>) -> Ctx<'a> {
    Ctx {
        tree,
        mode: tree.mode(0).unwrap(),
        binary_name: b"prog",
        exec_policy: b"",
        is_root: false,
        chroot,
    }
}

fn map(bytes: &[u8], host: &Fake, path: &str, follow: bool) -> Result<String, Errno> {
    let ctx = ctx_of(Tree::new(bytes).unwrap(), None);
    let req = Req {
        dirfd: None,
        path: path.as_bytes(),
        class: crate::class::OPEN,
        follow,
        want_union: false,
    };
    let (mut v, mut h) = (PathBuf::new(), PathBuf::new());
    mapping::resolve(&ctx, host, &req, &mut v, &mut h)?;
    Ok(String::from_utf8(h.as_bytes().to_vec()).unwrap())
}

#[test]
fn format_detects_damage_and_version() {
    let mut b = build(vec![rule(dir("/"), Action::UseOrigPath)]);
    assert!(Tree::new(&b).is_ok());
    assert_eq!(
        Tree::new(&b[..b.len() - 8]).err(),
        Some(format::FormatError::Truncated)
    );
    let last = b.len() - 1;
    b[last] ^= 1;
    assert_eq!(Tree::new(&b).err(), Some(format::FormatError::Checksum));
    let mut v = build(vec![]);
    v[8] = 99;
    assert!(matches!(
        Tree::new(&v),
        Err(format::FormatError::Version { found: 99, .. })
    ));
}

#[test]
fn first_match_in_rule_order_not_longest_prefix() {
    let b = build(vec![
        rule(dir("/usr"), Action::MapTo("/A".into())),
        rule(dir("/usr/include"), Action::MapTo("/B".into())),
        rule(dir("/"), Action::UseOrigPath),
    ]);
    assert_eq!(
        map(&b, &Fake::default(), "/usr/include/x.h", true).unwrap(),
        "/A/usr/include/x.h"
    );
    assert_eq!(map(&b, &Fake::default(), "/usrx", true).unwrap(), "/usrx");
}

#[test]
fn selectors_path_prefix_dir() {
    let b = build(vec![
        rule(Selector::Path("/p".into()), Action::ReplaceBy("/P".into())),
        rule(
            Selector::Prefix("/usr/bin/sb2-".into()),
            Action::MapTo("/H".into()),
        ),
        rule(dir("/d"), Action::ReplaceBy("/D".into())),
        rule(dir("/"), Action::UseOrigPath),
    ]);
    let f = Fake::default();
    assert_eq!(map(&b, &f, "/p", true).unwrap(), "/P");
    assert_eq!(map(&b, &f, "/p/x", true).unwrap(), "/p/x");
    assert_eq!(
        map(&b, &f, "/usr/bin/sb2-show", true).unwrap(),
        "/H/usr/bin/sb2-show"
    );
    assert_eq!(map(&b, &f, "/usr/bin/sb", true).unwrap(), "/usr/bin/sb");
    assert_eq!(map(&b, &f, "/d/e", true).unwrap(), "/D/e");
    assert_eq!(map(&b, &f, "/dd", true).unwrap(), "/dd");
}

#[test]
fn subtree_falls_through_and_filters_apply() {
    let mut by_bin = rule(dir("/x"), Action::MapTo("/BIN".into()));
    by_bin.binary_name = Some(b"other".to_vec());
    let mut by_class = rule(dir("/x"), Action::MapTo("/EXEC".into()));
    by_class.func_class = crate::class::EXEC;
    let b = build(vec![
        rule(dir("/x"), Action::Rules(vec![by_bin, by_class])),
        rule(dir("/x"), Action::MapTo("/AFTER".into())),
    ]);
    assert_eq!(
        map(&b, &Fake::default(), "/x/y", true).unwrap(),
        "/AFTER/x/y"
    );
}

#[test]
fn conditional_actions_take_the_first_that_exists() {
    let b = build(vec![rule(
        dir("/u"),
        Action::Actions(vec![
            rule(Selector::None, Action::IfExistsThenMapTo("/T".into())),
            rule(Selector::None, Action::IfExistsThenMapTo("/H".into())),
            rule(Selector::None, Action::MapTo("/T".into())),
        ]),
    )]);
    let f = Fake {
        exists: vec!["/H/u/only-host"],
        ..Default::default()
    };
    assert_eq!(map(&b, &f, "/u/only-host", true).unwrap(), "/H/u/only-host");
    assert_eq!(map(&b, &f, "/u/nowhere", true).unwrap(), "/T/u/nowhere");
}

#[test]
fn if_exists_in_falls_through_to_the_next_candidate() {
    let cands = |then: Action| {
        vec![
            rule(
                Selector::None,
                Action::IfExistsIn("/A".into(), vec![rule(Selector::None, then)]),
            ),
            rule(
                Selector::None,
                Action::IfExistsIn(
                    "/B".into(),
                    vec![rule(Selector::None, Action::MapTo("/B".into()))],
                ),
            ),
        ]
    };
    let mut with_default = cands(Action::IfExistsThenMapTo("/Z".into()));
    with_default.push(rule(Selector::None, Action::MapTo("/C".into())));
    let b = build(vec![
        rule(dir("/v"), Action::Actions(with_default)),
        rule(
            dir("/n"),
            Action::Actions(cands(Action::MapTo("/A".into()))),
        ),
    ]);
    let f = Fake {
        exists: vec!["/A/v/x", "/Z/v/x", "/A/v/y", "/B/v/w"],
        ..Default::default()
    };
    // The directory exists and so does the candidate's target.
    assert_eq!(map(&b, &f, "/v/x", true).unwrap(), "/Z/v/x");
    // The directory exists but none of its candidates applies: next.
    assert_eq!(map(&b, &f, "/v/y", true).unwrap(), "/C/v/y");
    // The directory does not exist: next.
    assert_eq!(map(&b, &f, "/v/w", true).unwrap(), "/B/v/w");
    // Nothing applies at all: as Scratchbox2, an error.
    assert_eq!(map(&b, &f, "/n/q", true), Err(Errno::ENOENT));
}

#[test]
fn symlinks_resolve_in_the_virtual_view() {
    let b = build(vec![rule(dir("/"), Action::MapTo("/T".into()))]);
    let mut f = Fake {
        exists: vec!["/T/etc/real", "/T/a/b"],
        ..Default::default()
    };
    f.links.insert("/T/lib", "usr/lib");
    f.links.insert("/T/etc/abs", "/etc/real");
    f.links.insert("/T/loop", "/loop");
    assert_eq!(map(&b, &f, "/etc/abs", true).unwrap(), "/T/etc/real");
    assert_eq!(map(&b, &f, "/etc/abs", false).unwrap(), "/T/etc/abs");
    assert_eq!(map(&b, &f, "/lib/x", true).unwrap(), "/T/usr/lib/x");
    assert_eq!(map(&b, &f, "/a/./b/../b//c", true).unwrap(), "/T/a/b/c");
    assert_eq!(map(&b, &f, "/loop", true), Err(Errno::ELOOP));
    assert_eq!(map(&b, &f, "", true), Err(Errno::ENOENT));
    assert_eq!(
        map(&b, &f, &"/a".repeat(3000), true),
        Err(Errno::ENAMETOOLONG)
    );
}

#[test]
fn relative_paths_use_the_reversed_cwd() {
    let b = build(vec![rule(dir("/"), Action::MapTo("/T".into()))]);
    let f = Fake {
        cwd: "/T/src",
        exists: vec!["/T/src"],
        ..Default::default()
    };
    assert_eq!(map(&b, &f, "x.c", true).unwrap(), "/T/src/x.c");
    assert_eq!(map(&b, &f, "../y", true).unwrap(), "/T/y");
}

#[test]
fn reverse_picks_the_longest_verified_rule() {
    let b = build(vec![
        rule(dir("/home"), Action::UseOrigPath),
        rule(dir("/tmp"), Action::ReplaceBy("/S/tmp".into())),
        rule(dir("/"), Action::MapTo("/home/t".into())),
    ]);
    let tree = Tree::new(&b).unwrap();
    let ctx = Ctx {
        tree,
        mode: tree.mode(0).unwrap(),
        binary_name: b"",
        exec_policy: b"",
        is_root: false,
        chroot: None,
    };
    let rev = |h: &str| {
        let mut o = PathBuf::new();
        mapping::reverse(&ctx, &Fake::default(), h.as_bytes(), 0, &mut o).unwrap();
        String::from_utf8(o.as_bytes().to_vec()).unwrap()
    };
    assert_eq!(rev("/S/tmp/x"), "/tmp/x");
    assert_eq!(rev("/home/u"), "/home/u");
    // /home/t/etc is both "itself" (the /home rule) and /etc: forward
    // mapping of /etc gives it back, and the target root rule is longer.
    assert_eq!(rev("/home/t/etc"), "/etc");
    assert_eq!(rev("/elsewhere"), "/elsewhere");
}

#[test]
fn rule_choice_is_shared_by_a_directory_only_when_siblings_cannot_differ() {
    let b = build(vec![
        rule(
            Selector::Prefix("/usr/bin/sb2-".into()),
            Action::MapTo("/A".into()),
        ),
        rule(
            Selector::Path("/etc/special".into()),
            Action::MapTo("/P".into()),
        ),
        rule(dir("/"), Action::UseOrigPath),
    ]);
    let tree = Tree::new(&b).unwrap();
    let list = tree.mode(0).unwrap().fs_rules();
    let who = crate::lookup::Caller {
        class: crate::class::OPEN,
        binary_name: b"",
    };
    let uniform =
        |p: &str, depth: usize| crate::lookup::find_for_dir(&list, p.as_bytes(), &who, depth).1;
    // Siblings in /usr/bin differ (sb2-show vs ls): never shared.
    assert!(!uniform("/usr/bin/sb2-show", 2));
    assert!(!uniform("/usr/bin/ls", 2));
    // Below /usr/bin/x every entry has the same answer.
    assert!(uniform("/usr/bin/x/y", 3));
    // /etc/special vs /etc/other: not shared; deeper down: shared.
    assert!(!uniform("/etc/other", 1));
    assert!(uniform("/etc/a/b", 2));
}

#[test]
fn protect_follows_the_kernels_order_of_checks() {
    use crate::protect::{judge, By, Need, Verdict};
    let s = Session {
        constants: vec![
            ("session_dir".into(), "/S".into()),
            ("allow_write".into(), "/W\n/S".into()),
        ],
        modes: vec![Mode {
            name: "m".into(),
            fs_rules: vec![rule(dir("/"), Action::UseOrigPath)],
            ..Mode::default()
        }],
        ..Session::default()
    };
    let bytes = format::write(&s).unwrap();
    let tree = Tree::new(&bytes).unwrap();
    let f = Fake {
        exists: vec!["/usr/bin/x", "/W/d"],
        ..Default::default()
    };
    let m = crate::mapping::Mapped::UNMAPPED;
    let verdict =
        |p: &str, need: Need| match judge(&f, &tree, &m, p.as_bytes(), p.as_bytes(), true, need) {
            Verdict::Allowed => "allowed".to_string(),
            Verdict::Native(e) => format!("native {}", e.0),
            Verdict::Refused {
                errno,
                by: By::AllowWrite,
            } => format!("refused {} allow-write", errno.0),
            Verdict::Refused {
                errno,
                by: By::Rule(_),
            } => format!("refused {} rule", errno.0),
        };
    let (eexist, enoent) = (libc::EEXIST, libc::ENOENT);
    // mkdir -p /usr/bin: the existing names answer EEXIST, no violation.
    assert_eq!(verdict("/usr", Need::New), format!("native {eexist}"));
    assert_eq!(verdict("/usr/bin/", Need::New), format!("native {eexist}"));
    // A missing parent: ENOENT, as the kernel's walk says first.
    assert_eq!(verdict("/nope/x", Need::New), format!("native {enoent}"));
    assert_eq!(
        verdict("/usr/missing", Need::Existing),
        format!("native {enoent}")
    );
    // A real attempt to create outside the list is refused.
    assert_eq!(
        verdict("/usr/new", Need::New),
        format!("refused {} allow-write", libc::EROFS)
    );
    assert_eq!(
        verdict("/usr/bin/x", Need::Existing),
        format!("refused {} allow-write", libc::EROFS)
    );
    assert_eq!(
        verdict("/usr/new", Need::Any),
        format!("refused {} allow-write", libc::EROFS)
    );
    // Below an allowed directory, and the always-writable devices.
    assert_eq!(verdict("/W/d/new", Need::New), "allowed");
    assert_eq!(verdict("/dev/null", Need::Existing), "allowed");
    assert_eq!(
        verdict("/proc/self/fd/3/x", Need::New),
        format!("native {enoent}")
    );
    // Not a write: nothing to decide.
    assert!(matches!(
        judge(&f, &tree, &m, b"/usr", b"/usr", false, Need::New),
        Verdict::Allowed
    ));
}

/// Resolves `path` inside a chroot to `root` (with /proc mounted); the
/// host path, and the virtual (outer) path the rules saw.
fn map_in(bytes: &[u8], host: &Fake, root: &str, path: &str) -> Result<(String, String), Errno> {
    let mut mounts = PathBuf::new();
    mapping::encode_mounts(b"/proc\t/proc", &mut mounts).unwrap();
    let chroot = mapping::Chroot {
        root: root.as_bytes(),
        mounts: mounts.as_bytes(),
        ld: b"",
    };
    let ctx = ctx_of(Tree::new(bytes).unwrap(), Some(chroot));
    let req = Req {
        dirfd: None,
        path: path.as_bytes(),
        class: crate::class::OPEN,
        follow: true,
        want_union: false,
    };
    let (mut v, mut h) = (PathBuf::new(), PathBuf::new());
    mapping::resolve(&ctx, host, &req, &mut v, &mut h)?;
    let s = |b: &PathBuf| String::from_utf8(b.as_bytes().to_vec()).unwrap();
    Ok((s(&h), s(&v)))
}

#[test]
fn chroot_walk_is_the_kernels() {
    // The session maps /work/r/etc elsewhere: rules see outer paths.
    let b = build(vec![
        rule(dir("/work/r/etc"), Action::MapTo("/M".into())),
        rule(dir("/"), Action::UseOrigPath),
    ]);
    let host = Fake {
        links: HashMap::from([
            ("/work/r/abs", "/"),
            ("/work/r/rel", "../../.."),
            ("/work/r/out", "/etc/passwd"),
            ("/work/r/loop", "loop"),
        ]),
        exists: vec![
            "/work/r/sub/x",
            "/work/outer/x",
            "/M/work/r/etc/passwd",
            "/proc/1",
        ],
        cwd: "/work/outer",
    };
    let r = "/work/r";
    let h = |p: &str| map_in(&b, &host, r, p).map(|(h, _)| h);
    // Absolute paths start at the root; `..` stops at it however reached.
    assert_eq!(h("/sub/x"), Ok("/work/r/sub/x".into()));
    assert_eq!(h("/../../sub/x"), Ok("/work/r/sub/x".into()));
    assert_eq!(h("/abs/sub/x"), Ok("/work/r/sub/x".into()));
    assert_eq!(h("/rel/sub/x"), Ok("/work/r/sub/x".into()));
    // An absolute link out names the root's file (mapped by the rule for
    // the outer path).
    assert_eq!(
        map_in(&b, &host, r, "/out"),
        Ok(("/M/work/r/etc/passwd".into(), "/work/r/etc/passwd".into()))
    );
    assert_eq!(h("/loop"), Err(Errno::ELOOP));
    // The cwd is outside: relative paths walk there until they meet the
    // root, where `..` stops again.
    assert_eq!(h("x"), Ok("/work/outer/x".into()));
    assert_eq!(h("../r/sub/x"), Ok("/work/r/sub/x".into()));
    assert_eq!(h("../r/../r/sub/x"), Ok("/work/r/r/sub/x".into()));
    assert_eq!(h("../../work/outer/x"), Ok("/work/outer/x".into()));
    // Mounts: the session's /proc, and `..` from it returns inside.
    assert_eq!(h("/proc/1"), Ok("/proc/1".into()));
    assert_eq!(h("/proc/../sub/x"), Ok("/work/r/sub/x".into()));
}
