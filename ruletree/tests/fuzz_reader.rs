//! Fuzzing the ruletree reader: whatever the bytes, [`Tree::new`] answers
//! and a tree read anyway (`Tree::verified`, as a process does with a
//! tree changed after it was checked, or one forged with a valid
//! checksum) never panics, never reads out of bounds and finishes soon,
//! in every accessor, lookup, the pipeline, reverse mapping, the exec
//! planner, write protection, the network rules and the dump.
//!
//! Cases: real trees (the repository's rules, compiled) damaged in a few
//! places and sealed again, so the checksum does not hide the damage from
//! the reader; and random bytes behind a valid header. `PROPTEST_CASES`
//! sets the count (docs/fuzzing.md).

#![cfg(feature = "compiler")]

mod common;

use proptest::prelude::*;
use sb2_ruletree::format::{self, Tree};
use sb2_ruletree::mapping::{self, Ctx, Host, Kind, PathBuf, Req};
use sb2_ruletree::{class, exec, lookup, net, protect, Errno};
use std::time::{Duration, Instant};

/// A small made-up file system: directories under /usr, /srv, /home and
/// /tmp, a link `/lnk` to /usr/lib, a loop `/loop`, and programs that are
/// scripts.
struct Fake;

fn strip(p: &[u8]) -> &[u8] {
    p.strip_suffix(b"\0").unwrap_or(p)
}

impl Host for Fake {
    fn lstat_kind(&self, p: &[u8]) -> Result<Kind, Errno> {
        let p = strip(p);
        if p == b"/lnk" || p == b"/loop" {
            Ok(Kind::Symlink)
        } else if p.ends_with(b".c") || p.ends_with(b"gcc") || p.ends_with(b"sh") {
            Ok(Kind::Other)
        } else if [&b"/usr"[..], b"/srv", b"/home", b"/tmp", b"/etc", b"/proc"]
            .iter()
            .any(|d| p.starts_with(d))
            || p == b"/"
        {
            Ok(Kind::Dir)
        } else {
            Err(Errno::ENOENT)
        }
    }
    fn readlink(&self, p: &[u8], out: &mut PathBuf) -> Result<(), Errno> {
        match strip(p) {
            b"/lnk" => out.set(b"/usr/lib"),
            b"/loop" => out.set(b"/loop/x"),
            _ => Err(Errno::EINVAL),
        }
    }
    fn getenv(&self, name: &[u8], out: &mut PathBuf) -> bool {
        name == b"HOME" && out.set(b"/home/u").is_ok()
    }
    fn host_cwd(&self, out: &mut PathBuf) -> Result<(), Errno> {
        out.set(b"/home/u/src")
    }
    fn fd_path(&self, _: i32, out: &mut PathBuf) -> Result<(), Errno> {
        out.set(b"/usr/include")
    }
    fn exec_probe(&self, hpath: &[u8], head: &mut [u8]) -> Result<usize, Errno> {
        self.lstat_kind(hpath)?;
        let h = b"#!/bin/sh -e\n";
        let n = h.len().min(head.len());
        head[..n].copy_from_slice(&h[..n]);
        Ok(n)
    }
}

const PATHS: &[&[u8]] = &[
    b"/usr/bin/gcc",
    b"/usr/lib/../include/stdio.h",
    b"/etc/passwd",
    b"/home/u/src/x.c",
    b"/tmp/a/b",
    b"/proc/self/exe",
    b"/",
    b"/lnk/libc.so",
    b"/loop/y",
    b"rel/path/./x",
    b"//usr///share/",
    b"/srv/target/usr/lib",
];

/// Reads everything a process or `sb2-show` could read from `t`.
fn exercise(t: Tree) {
    let _ = (t.len(), t.is_empty(), t.n_modes());
    for (k, v) in t.constants().take(256) {
        let _ = (k.len(), v.len(), t.constant(k));
    }
    let _ = t.constant(b"session_dir");
    for a in t.argvmods().take(64) {
        let _ = (
            a.name(),
            a.new_filename(),
            a.disable_mapping(),
            a.launcher(),
        );
        let _ = (a.every_mode(), a.chroot_mode());
        let _ = (a.dirs().take(64).count(), a.add_tail().take(64).count());
    }
    for m in (0..t.n_modes().min(12)).filter_map(|i| t.mode(i)) {
        let _ = (m.name(), m.toolchain(), m.exec_policy(b"Host").is_some());
        for p in m.exec_policies().take(64) {
            let _ = (p.name(), p.ld_so(), p.library_path(), p.root());
        }
        for list in [m.fs_rules(), m.rev_rules(), m.exec_selection()] {
            for r in list.iter().take(256) {
                let _ = sb2_ruletree::dump::describe_rule(&r);
                let _ = (r.union_dirs().take(64).count(), r.sublist().len());
                let _ = t.rule_at(r.id()).line();
            }
            let who = lookup::Caller {
                class: class::OPEN,
                binary_name: b"gcc",
            };
            for p in PATHS {
                let _ = lookup::find(&list, p, &who);
                let _ = lookup::find_for_dir(&list, p, &who, 2);
            }
        }
        let ctx = Ctx {
            tree: t,
            mode: m,
            binary_name: b"gcc",
            exec_policy: b"",
            is_root: false,
            chroot: None,
        };
        let mut mounts = PathBuf::new();
        mapping::session_mounts(&t, m.name(), &mut mounts);
        for p in PATHS {
            for (follow, cls) in [(true, class::OPEN), (false, class::REMOVE)] {
                let req = Req {
                    dirfd: None,
                    path: p,
                    class: cls,
                    follow,
                    want_union: !follow,
                };
                let (mut v, mut h) = (PathBuf::new(), PathBuf::new());
                if let Ok(mm) = mapping::resolve(&ctx, &Fake, &req, &mut v, &mut h) {
                    let _ = protect::judge(
                        &Fake,
                        &t,
                        &mm,
                        v.as_bytes(),
                        h.as_bytes(),
                        true,
                        protect::Need::Any,
                    );
                }
            }
            let mut out = PathBuf::new();
            let _ = mapping::reverse(&ctx, &Fake, p, class::GETCWD, &mut out);
            let mut plan = exec::Plan::new();
            let req = exec::ExecReq::execvp(p, b"/usr/bin:/bin");
            let _ = exec::plan(&ctx, &Fake, &req, &mut plan);
        }
    }
    if let Some(n) = net::Net::of(t) {
        let _ = (n.name(), n.allows_all());
        for chain in [net::Chain::Ipv4Out, net::Chain::Ipv6Out, net::Chain::Ipv4In] {
            let call = net::Call {
                func: u32::MAX,
                chain,
                addr: [127, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
                port: 80,
                binary: b"curl",
            };
            let _ = net::decide(&n, &call);
        }
        let _ = net::decide_name(&n, b"deb.debian.org.");
    }
    let _ = sb2_ruletree::dump::dump(&t);
}

/// [`exercise`], within a time a damaged tree must never exceed.
fn exercise_timed(t: Tree) {
    let start = Instant::now();
    exercise(t);
    let took = start.elapsed();
    assert!(
        took < Duration::from_secs(10),
        "reading a damaged tree took {took:?}"
    );
}

/// One damage: where (any position, wrapped to the file) and what.
#[derive(Clone, Debug)]
enum Damage {
    /// A byte with some bits flipped.
    Flip(usize, u8),
    /// A word set to any value.
    Word(usize, u32),
    /// A word set to an offset inside the file (plausible, so the reader
    /// follows it somewhere real).
    Offset(usize, u32),
    /// A word set to a small count.
    Count(usize, u8),
}

fn damage() -> impl Strategy<Value = Damage> {
    prop_oneof![
        (any::<usize>(), 1u8..=255).prop_map(|(p, x)| Damage::Flip(p, x)),
        (any::<usize>(), any::<u32>()).prop_map(|(p, v)| Damage::Word(p, v)),
        (any::<usize>(), any::<u32>()).prop_map(|(p, v)| Damage::Offset(p, v)),
        (any::<usize>(), any::<u8>()).prop_map(|(p, v)| Damage::Count(p, v)),
    ]
}

fn apply(b: &mut [u8], d: &Damage) {
    let len = b.len();
    let mut put = |p: usize, v: u32| {
        let at = (p % (len - 3)) & !3;
        b[at..at + 4].copy_from_slice(&v.to_le_bytes());
    };
    match *d {
        Damage::Flip(p, x) => b[p % len] ^= x,
        Damage::Word(p, v) => put(p, v),
        Damage::Offset(p, v) => put(p, v % len as u32),
        Damage::Count(p, v) => put(p, v as u32),
    }
}

proptest! {
    #![proptest_config(common::config(1000))]

    /// A real tree, damaged and sealed: read whole, whatever it says.
    #[test]
    fn damaged_real_tree_reads_safely(
        damages in proptest::collection::vec(damage(), 1..12),
        cut in proptest::option::weighted(0.2, any::<usize>()),
    ) {
        let mut b = common::real_tree().to_vec();
        for d in &damages {
            apply(&mut b, d);
        }
        if let Some(c) = cut {
            b.truncate(48 + c % (b.len() - 48));
        }
        format::seal(&mut b);
        let _ = Tree::new(&b);
        exercise_timed(Tree::verified(&b));
    }

    /// Damage the checksum would catch (not sealed): refused, never read.
    #[test]
    fn unsealed_damage_is_refused(damages in proptest::collection::vec(damage(), 1..4)) {
        let orig = common::real_tree();
        let mut b = orig.to_vec();
        for d in &damages {
            apply(&mut b, d);
        }
        if b[..] != orig[..] {
            prop_assert!(Tree::new(&b).is_err());
        }
    }

    /// Random bytes: refused by `Tree::new` without a panic, and read
    /// safely behind a valid header.
    #[test]
    fn random_bytes_read_safely(
        body in proptest::collection::vec(any::<u8>(), 0..4096),
        words in proptest::collection::vec(0u32..4096, 0..8),
    ) {
        let _ = Tree::new(&body);
        let mut b = common::real_tree()[..48].to_vec();
        b.extend_from_slice(&body);
        // Header words pointing into the body, some of the time.
        for (i, w) in words.iter().enumerate() {
            let at = 24 + 4 * i;
            if at + 4 <= 48 {
                b[at..at + 4].copy_from_slice(&w.to_le_bytes());
            }
        }
        format::seal(&mut b);
        let _ = Tree::new(&b);
        exercise_timed(Tree::verified(&b));
    }
}

/// The undamaged tree reads in full (the fuzz cases' baseline).
#[test]
fn real_tree_is_valid_and_reads() {
    let t = Tree::new(common::real_tree()).expect("a valid tree");
    assert!(t.n_modes() >= 5);
    exercise_timed(t);
}
