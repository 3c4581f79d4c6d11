//! THE hook table: every libc function libsb2 interposes, one line each.
//!
//! `family name(args) -> ret = |real| body;` — the body names the kind:
//! `map`/`map_at`/`map2`/`map2_at`/`map_opt`/`map_at_or_fd` (see
//! [`crate::path`]) with the operation's class, symlink-following and write
//! check, or a gate in a family module. `sb2-show hooks` prints this table;
//! the test suite checks every row has a probe program.
//!
//! glibc 2.36 facts relied on (research/peers.md §4): the 2.33 `stat` family
//! and the old `__xstat` forms are both exported and must both be hooked;
//! `_FORTIFY_SOURCE` callers use the `__*_2` / `__*_chk` names; fopen,
//! opendir, ftw, glob, mkstemp, realpath... reach the kernel through internal
//! calls that bypass the PLT, so the outer function is what we hook. Variadic
//! `open`/`openat` take their optional mode as a fixed argument (same
//! register on x86_64 and aarch64).

#![allow(clippy::missing_safety_doc)]

use crate::mem::unmapped;
use crate::net::NameApi;
use crate::path::*;
use crate::process::cache::{changed, changed_if, cwd_changed};
use crate::stat::{self as vstat, stat_at, statx_at, Again};
use crate::vperm;
use crate::{dirs, exec, fs, ids, net, union};
use libc::{
    c_char, c_int, c_long, c_uint, c_void, dev_t, gid_t, mode_t, off_t, size_t, ssize_t, uid_t,
};
use sb2_ruletree::net::func as nf;

type P = *const c_char;
type V = *mut c_void;

hooks! {
    // --- open ------------------------------------------------------------
    fs open(p: P, flags: c_int, mode: mode_t) -> c_int = |real| open_at(libc::AT_FDCWD, p, flags, |h, f| real(h, f, mode));
    fs open64(p: P, flags: c_int, mode: mode_t) -> c_int = |real| open_at(libc::AT_FDCWD, p, flags, |h, f| real(h, f, mode));
    fs __open(p: P, flags: c_int, mode: mode_t) -> c_int = |real| open_at(libc::AT_FDCWD, p, flags, |h, f| real(h, f, mode));
    fs __open64(p: P, flags: c_int, mode: mode_t) -> c_int = |real| open_at(libc::AT_FDCWD, p, flags, |h, f| real(h, f, mode));
    fs __open_2(p: P, flags: c_int) -> c_int = |real| open_at(libc::AT_FDCWD, p, flags, |h, f| real(h, f));
    fs __open64_2(p: P, flags: c_int) -> c_int = |real| open_at(libc::AT_FDCWD, p, flags, |h, f| real(h, f));
    fs openat(d: c_int, p: P, flags: c_int, mode: mode_t) -> c_int = |real| open_at(d, p, flags, |h, f| real(d, h, f, mode));
    fs openat64(d: c_int, p: P, flags: c_int, mode: mode_t) -> c_int = |real| open_at(d, p, flags, |h, f| real(d, h, f, mode));
    fs __openat_2(d: c_int, p: P, flags: c_int) -> c_int = |real| open_at(d, p, flags, |h, f| real(d, h, f));
    fs __openat64_2(d: c_int, p: P, flags: c_int) -> c_int = |real| open_at(d, p, flags, |h, f| real(d, h, f));
    fs creat(p: P, mode: mode_t) -> c_int = |real| map(p, Op::open(libc::O_CREAT | libc::O_WRONLY | libc::O_TRUNC), |h| real(h, mode));
    fs creat64(p: P, mode: mode_t) -> c_int = |real| map(p, Op::open(libc::O_CREAT | libc::O_WRONLY | libc::O_TRUNC), |h| real(h, mode));
    fs fopen(p: P, m: P) -> V = |real| map(p, Op::fopen(m), |h| real(h, m));
    fs fopen64(p: P, m: P) -> V = |real| map(p, Op::fopen(m), |h| real(h, m));
    fs freopen(p: P, m: P, f: V) -> V = |real| map_opt(p, Op::fopen(m), |h| real(h, m, f));
    fs freopen64(p: P, m: P, f: V) -> V = |real| map_opt(p, Op::fopen(m), |h| real(h, m, f));

    // --- stat ------------------------------------------------------------
    fs stat(p: P, b: V) -> c_int = |real| stat_at(libc::AT_FDCWD, p, 0, b, |h| real(h, b));
    fs stat64(p: P, b: V) -> c_int = |real| stat_at(libc::AT_FDCWD, p, 0, b, |h| real(h, b));
    fs lstat(p: P, b: V) -> c_int = |real| map(p, LSTAT, |h| vstat::overlay(real(h, b), b, Again::path(h, false)));
    fs lstat64(p: P, b: V) -> c_int = |real| map(p, LSTAT, |h| vstat::overlay(real(h, b), b, Again::path(h, false)));
    fs fstatat(d: c_int, p: P, b: V, fl: c_int) -> c_int = |real| stat_at(d, p, fl, b, |h| real(d, h, b, fl));
    fs fstatat64(d: c_int, p: P, b: V, fl: c_int) -> c_int = |real| stat_at(d, p, fl, b, |h| real(d, h, b, fl));
    fs __xstat(ver: c_int, p: P, b: V) -> c_int = |real| stat_at(libc::AT_FDCWD, p, 0, b, |h| real(ver, h, b));
    fs __xstat64(ver: c_int, p: P, b: V) -> c_int = |real| stat_at(libc::AT_FDCWD, p, 0, b, |h| real(ver, h, b));
    fs __lxstat(ver: c_int, p: P, b: V) -> c_int = |real| map(p, LSTAT, |h| vstat::overlay(real(ver, h, b), b, Again::path(h, false)));
    fs __lxstat64(ver: c_int, p: P, b: V) -> c_int = |real| map(p, LSTAT, |h| vstat::overlay(real(ver, h, b), b, Again::path(h, false)));
    fs __fxstatat(ver: c_int, d: c_int, p: P, b: V, fl: c_int) -> c_int = |real| map_at_or_fd(d, p, fl, STAT, |h| vstat::overlay(real(ver, d, h, b, fl), b, Again::at(d, h, fl)));
    fs __fxstatat64(ver: c_int, d: c_int, p: P, b: V, fl: c_int) -> c_int = |real| map_at_or_fd(d, p, fl, STAT, |h| vstat::overlay(real(ver, d, h, b, fl), b, Again::at(d, h, fl)));
    vperm fstat(fd: c_int, b: V) -> c_int = |real| Ok(vstat::overlay(real(fd, b), b, Again::fd(fd)));
    vperm fstat64(fd: c_int, b: V) -> c_int = |real| Ok(vstat::overlay(real(fd, b), b, Again::fd(fd)));
    vperm __fxstat(ver: c_int, fd: c_int, b: V) -> c_int = |real| Ok(vstat::overlay(real(ver, fd, b), b, Again::fd(fd)));
    vperm __fxstat64(ver: c_int, fd: c_int, b: V) -> c_int = |real| Ok(vstat::overlay(real(ver, fd, b), b, Again::fd(fd)));
    fs statx(d: c_int, p: P, fl: c_int, mask: c_uint, b: V) -> c_int = |real| statx_at(d, p, fl, mask, b, |h| real(d, h, fl, vstat::statx_mask(mask), b));
    fs statfs(p: P, b: V) -> c_int = |real| map(p, STAT, |h| real(h, b));
    fs statfs64(p: P, b: V) -> c_int = |real| map(p, STAT, |h| real(h, b));
    fs statvfs(p: P, b: V) -> c_int = |real| map(p, STAT, |h| real(h, b));
    fs statvfs64(p: P, b: V) -> c_int = |real| map(p, STAT, |h| real(h, b));
    fs pathconf(p: P, n: c_int) -> c_long = |real| map(p, STAT, |h| real(h, n));

    // --- access ----------------------------------------------------------
    fs access(p: P, m: c_int) -> c_int = |real| map(p, fs::access_op(m), |h| real(h, m));
    fs euidaccess(p: P, m: c_int) -> c_int = |real| map(p, fs::access_op(m), |h| real(h, m));
    fs eaccess(p: P, m: c_int) -> c_int = |real| map(p, fs::access_op(m), |h| real(h, m));
    fs faccessat(d: c_int, p: P, m: c_int, fl: c_int) -> c_int = |real| map_at(d, p, fs::access_op(m).at(fl), |h| real(d, h, m, fl));

    // --- create and remove ---------------------------------------------
    fs mkdir(p: P, m: mode_t) -> c_int = |real| flat(map(p, CREAT, |h| vperm::mkdir(h, m, |m| real(h, m))));
    fs mkdirat(d: c_int, p: P, m: mode_t) -> c_int = |real| flat(map_at(d, p, CREAT, |h| vperm::mkdir(h, m, |m| real(d, h, m))));
    fs mknod(p: P, m: mode_t, dev: dev_t) -> c_int = |real| flat(map(p, MKNOD, |h| vperm::mknod(h, m, dev, || real(h, m, dev))));
    fs mknodat(d: c_int, p: P, m: mode_t, dev: dev_t) -> c_int = |real| flat(map_at(d, p, MKNOD, |h| vperm::mknod(h, m, dev, || real(d, h, m, dev))));
    fs __xmknod(ver: c_int, p: P, m: mode_t, dev: *mut dev_t) -> c_int = |real| flat(map(p, MKNOD, |h| vperm::xmknod(h, m, dev, || real(ver, h, m, dev))));
    fs __xmknodat(ver: c_int, d: c_int, p: P, m: mode_t, dev: *mut dev_t) -> c_int = |real| flat(map_at(d, p, MKNOD, |h| vperm::xmknod(h, m, dev, || real(ver, d, h, m, dev))));
    fs mkfifo(p: P, m: mode_t) -> c_int = |real| map(p, MKNOD, |h| real(h, m));
    fs mkfifoat(d: c_int, p: P, m: mode_t) -> c_int = |real| map_at(d, p, MKNOD, |h| real(d, h, m));
    fs unlink(p: P) -> c_int = |real| map(p, REMOVE, |h| real(h));
    fs unlinkat(d: c_int, p: P, fl: c_int) -> c_int = |real| changed_if(fl & libc::AT_REMOVEDIR != 0, map_at(d, p, REMOVE, |h| real(d, h, fl)));
    fs rmdir(p: P) -> c_int = |real| changed(map(p, REMOVE, |h| real(h)));
    fs remove(p: P) -> c_int = |real| changed(map(p, REMOVE, |h| real(h)));
    fs rename(a: P, b: P) -> c_int = |real| changed(map2(a, b, RENAME, |x, y| real(x, y)));
    fs renameat(da: c_int, a: P, db: c_int, b: P) -> c_int = |real| changed(map2_at(da, a, db, b, RENAME, |x, y| real(da, x, db, y)));
    fs renameat2(da: c_int, a: P, db: c_int, b: P, fl: c_uint) -> c_int = |real| changed(map2_at(da, a, db, b, RENAME, |x, y| real(da, x, db, y, fl)));
    fs link(a: P, b: P) -> c_int = |real| changed(map2(a, b, LWRITE, |x, y| real(x, y)));
    fs linkat(da: c_int, a: P, db: c_int, b: P, fl: c_int) -> c_int = |real| changed(map2_at(da, a, db, b, LWRITE.at_follow(fl), |x, y| real(da, x, db, y, fl)));
    fs symlink(target: P, p: P) -> c_int = |real| changed(map(p, SYMLINK, |h| real(target, h)));
    fs symlinkat(target: P, d: c_int, p: P) -> c_int = |real| changed(map_at(d, p, SYMLINK, |h| real(target, d, h)));
    fs truncate(p: P, len: off_t) -> c_int = |real| map(p, WRITE, |h| real(h, len));
    fs truncate64(p: P, len: off_t) -> c_int = |real| map(p, WRITE, |h| real(h, len));

    // --- links and names -------------------------------------------------
    fs readlink(p: P, buf: *mut c_char, n: size_t) -> ssize_t = |real| fs::readlink(libc::AT_FDCWD, p, buf, n, |h| real(h, buf, n));
    fs readlinkat(d: c_int, p: P, buf: *mut c_char, n: size_t) -> ssize_t = |real| fs::readlink(d, p, buf, n, |h| real(d, h, buf, n));
    fs __readlink_chk(p: P, buf: *mut c_char, n: size_t, bl: size_t) -> ssize_t = |real| fs::readlink(libc::AT_FDCWD, p, buf, n, |h| real(h, buf, n, bl));
    fs __readlinkat_chk(d: c_int, p: P, buf: *mut c_char, n: size_t, bl: size_t) -> ssize_t = |real| fs::readlink(d, p, buf, n, |h| real(d, h, buf, n, bl));
    fs realpath(p: P, out: *mut c_char) -> *mut c_char = |_real| fs::realpath(p, out);
    fs __realpath_chk(p: P, out: *mut c_char, _n: size_t) -> *mut c_char = |_real| fs::realpath(p, out);
    fs canonicalize_file_name(p: P) -> *mut c_char = |_real| fs::realpath(p, core::ptr::null_mut());
    fs chdir(p: P) -> c_int = |real| cwd_changed(map(p, CHDIR, |h| real(h)));
    fs fchdir(fd: c_int) -> c_int = |real| cwd_changed(Ok(real(fd)));
    fs getcwd(buf: *mut c_char, n: size_t) -> *mut c_char = |_real| fs::getcwd(buf, n);
    fs __getcwd_chk(buf: *mut c_char, n: size_t, _bl: size_t) -> *mut c_char = |_real| fs::getcwd(buf, n);
    fs getwd(buf: *mut c_char) -> *mut c_char = |_real| fs::getcwd(buf, libc::PATH_MAX as size_t);
    fs get_current_dir_name() -> *mut c_char = |_real| fs::getcwd(core::ptr::null_mut(), 0);

    // --- owner, mode, times ----------------------------------------------
    fs chmod(p: P, m: mode_t) -> c_int = |real| flat(map(p, WRITE, |h| vperm::chmod(Again::path(h, true), m, |m| real(h, m))));
    fs lchmod(p: P, m: mode_t) -> c_int = |real| flat(map(p, LWRITE, |h| vperm::chmod(Again::path(h, false), m, |m| real(h, m))));
    vperm fchmod(fd: c_int, m: mode_t) -> c_int = |real| vperm::chmod(Again::fd(fd), m, |m| real(fd, m));
    fs fchmodat(d: c_int, p: P, m: mode_t, fl: c_int) -> c_int = |real| flat(map_at(d, p, WRITE.at(fl), |h| vperm::chmod(Again::at(d, h, fl), m, |m| real(d, h, m, fl))));
    fs chown(p: P, u: uid_t, g: gid_t) -> c_int = |real| flat(map(p, WRITE, |h| vperm::chown(Again::path(h, true), u, g, || real(h, u, g))));
    fs lchown(p: P, u: uid_t, g: gid_t) -> c_int = |real| flat(map(p, LWRITE, |h| vperm::chown(Again::path(h, false), u, g, || real(h, u, g))));
    vperm fchown(fd: c_int, u: uid_t, g: gid_t) -> c_int = |real| vperm::chown(Again::fd(fd), u, g, || real(fd, u, g));
    fs fchownat(d: c_int, p: P, u: uid_t, g: gid_t, fl: c_int) -> c_int = |real| flat(map_at_or_fd(d, p, fl, WRITE, |h| vperm::chown(Again::at(d, h, fl), u, g, || real(d, h, u, g, fl))));
    fs utime(p: P, t: V) -> c_int = |real| map(p, TIMES, |h| real(h, t));
    fs utimes(p: P, t: V) -> c_int = |real| map(p, TIMES, |h| real(h, t));
    fs lutimes(p: P, t: V) -> c_int = |real| map(p, LTIMES, |h| real(h, t));
    fs utimensat(d: c_int, p: P, t: V, fl: c_int) -> c_int = |real| fs::map_at_opt(d, p, TIMES.at(fl), |h| real(d, h, t, fl));
    fs futimesat(d: c_int, p: P, t: V) -> c_int = |real| fs::map_at_opt(d, p, TIMES, |h| real(d, h, t));

    // --- extended attributes ---------------------------------------------
    fs getxattr(p: P, n: P, v: V, s: size_t) -> ssize_t = |real| flat(map(p, STAT, |h| vperm::xattr(n, true, |n| real(h, n, v, s))));
    fs lgetxattr(p: P, n: P, v: V, s: size_t) -> ssize_t = |real| flat(map(p, LSTAT, |h| vperm::xattr(n, true, |n| real(h, n, v, s))));
    vperm fgetxattr(fd: c_int, n: P, v: V, s: size_t) -> ssize_t = |real| vperm::xattr(n, true, |n| real(fd, n, v, s));
    fs listxattr(p: P, l: *mut c_char, s: size_t) -> ssize_t = |real| flat(map(p, STAT, |h| vperm::xattr_list(l, real(h, l, s))));
    fs llistxattr(p: P, l: *mut c_char, s: size_t) -> ssize_t = |real| flat(map(p, LSTAT, |h| vperm::xattr_list(l, real(h, l, s))));
    vperm flistxattr(fd: c_int, l: *mut c_char, s: size_t) -> ssize_t = |real| vperm::xattr_list(l, real(fd, l, s));
    fs setxattr(p: P, n: P, v: *const c_void, s: size_t, fl: c_int) -> c_int = |real| flat(map(p, WRITE, |h| vperm::xattr_set(n, |n| real(h, n, v, s, fl))));
    fs lsetxattr(p: P, n: P, v: *const c_void, s: size_t, fl: c_int) -> c_int = |real| flat(map(p, LWRITE, |h| vperm::xattr_set(n, |n| real(h, n, v, s, fl))));
    vperm fsetxattr(fd: c_int, n: P, v: *const c_void, s: size_t, fl: c_int) -> c_int = |real| vperm::xattr_set(n, |n| real(fd, n, v, s, fl));
    fs removexattr(p: P, n: P) -> c_int = |real| flat(map(p, WRITE, |h| vperm::xattr_set(n, |n| real(h, n))));
    fs lremovexattr(p: P, n: P) -> c_int = |real| flat(map(p, LWRITE, |h| vperm::xattr_set(n, |n| real(h, n))));
    vperm fremovexattr(fd: c_int, n: P) -> c_int = |real| vperm::xattr_set(n, |n| real(fd, n));

    // --- temporary files -------------------------------------------------
    fs mkstemp(t: *mut c_char) -> c_int = |real| fs::mktemp(t, 0, |h| real(h), |fd, _| *fd >= 0);
    fs mkstemp64(t: *mut c_char) -> c_int = |real| fs::mktemp(t, 0, |h| real(h), |fd, _| *fd >= 0);
    fs mkostemp(t: *mut c_char, fl: c_int) -> c_int = |real| fs::mktemp(t, 0, |h| real(h, fl), |fd, _| *fd >= 0);
    fs mkostemp64(t: *mut c_char, fl: c_int) -> c_int = |real| fs::mktemp(t, 0, |h| real(h, fl), |fd, _| *fd >= 0);
    fs mkstemps(t: *mut c_char, sl: c_int) -> c_int = |real| fs::mktemp(t, sl, |h| real(h, sl), |fd, _| *fd >= 0);
    fs mkstemps64(t: *mut c_char, sl: c_int) -> c_int = |real| fs::mktemp(t, sl, |h| real(h, sl), |fd, _| *fd >= 0);
    fs mkostemps(t: *mut c_char, sl: c_int, fl: c_int) -> c_int = |real| fs::mktemp(t, sl, |h| real(h, sl, fl), |fd, _| *fd >= 0);
    fs mkostemps64(t: *mut c_char, sl: c_int, fl: c_int) -> c_int = |real| fs::mktemp(t, sl, |h| real(h, sl, fl), |fd, _| *fd >= 0);
    fs mkdtemp(t: *mut c_char) -> *mut c_char = |real| fs::mktemp(t, 0, |h| real(h), |r, _| !r.is_null()).map(|r| if r.is_null() { r } else { t });
    fs mktemp(t: *mut c_char) -> *mut c_char = |real| fs::mktemp_name(t, |h| real(h));
    fs tmpnam(s: *mut c_char) -> *mut c_char = |real| fs::tmpnam(|| real(s));
    fs tempnam(d: P, pfx: P) -> *mut c_char = |real| fs::tempnam(d, |h| real(h, pfx));

    // --- directories and tree walks -------------------------------------
    dirs opendir(p: P) -> V = |real| union::opendir(p, |h| real(h));
    dirs scandir(p: P, list: V, filter: V, cmp: V) -> c_int = |real| dirs::scan_map(p, |h| real(h, list, filter, cmp));
    dirs scandir64(p: P, list: V, filter: V, cmp: V) -> c_int = |real| dirs::scan_map(p, |h| real(h, list, filter, cmp));
    dirs scandirat(d: c_int, p: P, list: V, filter: V, cmp: V) -> c_int = |real| map_at(d, p, READ, |h| real(d, h, list, filter, cmp));
    dirs scandirat64(d: c_int, p: P, list: V, filter: V, cmp: V) -> c_int = |real| map_at(d, p, READ, |h| real(d, h, list, filter, cmp));
    dirs ftw(p: P, f: V, n: c_int) -> c_int = |real| dirs::ftw(p, f, 0, |h, t| real(h, t, n), false);
    dirs ftw64(p: P, f: V, n: c_int) -> c_int = |real| dirs::ftw(p, f, 0, |h, t| real(h, t, n), false);
    dirs nftw(p: P, f: V, n: c_int, fl: c_int) -> c_int = |real| dirs::ftw(p, f, fl, |h, t| real(h, t, n, fl), true);
    dirs nftw64(p: P, f: V, n: c_int, fl: c_int) -> c_int = |real| dirs::ftw(p, f, fl, |h, t| real(h, t, n, fl), true);
    dirs fts_open(argv: *const *mut c_char, o: c_int, cmp: V) -> V = |real| dirs::fts_open(argv, |a| real(a, o | dirs::FTS_NOCHDIR, cmp));
    dirs fts64_open(argv: *const *mut c_char, o: c_int, cmp: V) -> V = |real| dirs::fts_open(argv, |a| real(a, o | dirs::FTS_NOCHDIR, cmp));
    dirs fts_read(f: V) -> V = |real| Ok(dirs::fts_virtual(real(f)));
    dirs fts64_read(f: V) -> V = |real| Ok(dirs::fts_virtual(real(f)));
    dirs fts_children(f: V, o: c_int) -> V = |real| Ok(dirs::fts_list_virtual(real(f, o)));
    dirs fts64_children(f: V, o: c_int) -> V = |real| Ok(dirs::fts_list_virtual(real(f, o)));
    dirs glob(pat: P, fl: c_int, errf: V, g: V) -> c_int = |real| dirs::glob(fl, g, false, |fl| real(pat, fl, errf, g));
    dirs glob64(pat: P, fl: c_int, errf: V, g: V) -> c_int = |real| dirs::glob(fl, g, true, |fl| real(pat, fl, errf, g));

    // --- misc ------------------------------------------------------------
    fs dlopen(p: P, fl: c_int) -> V = |real| fs::dlopen(p, |h| real(h, fl));
    fs dlmopen(ns: c_long, p: P, fl: c_int) -> V = |real| fs::dlopen(p, |h| real(ns, h, fl));
    fs inotify_add_watch(fd: c_int, p: P, mask: u32) -> c_int = |real| map(p, Op { follow: mask & libc::IN_DONT_FOLLOW == 0, ..READ }, |h| real(fd, h, mask));
    fs name_to_handle_at(d: c_int, p: P, hd: V, mnt: *mut c_int, fl: c_int) -> c_int = |real| map_at_or_fd(d, p, fl, LSTAT.at_follow(fl), |h| real(d, h, hd, mnt, fl));
    net bind(fd: c_int, a: *const libc::sockaddr, l: libc::socklen_t) -> c_int = |real| net::gate(SOCK_BIND, nf::BIND, false, a, l, |a, l| real(fd, a, l));
    net connect(fd: c_int, a: *const libc::sockaddr, l: libc::socklen_t) -> c_int = |real| net::gate(SOCK, nf::CONNECT, true, a, l, |a, l| real(fd, a, l));
    net sendto(fd: c_int, b: *const c_void, n: size_t, fl: c_int, a: *const libc::sockaddr, l: libc::socklen_t) -> ssize_t = |real| net::gate(SOCK, nf::SENDTO, true, a, l, |a, l| real(fd, b, n, fl, a, l));
    net sendmsg(fd: c_int, m: *const libc::msghdr, fl: c_int) -> ssize_t = |real| net::sendmsg(m, |m| real(fd, m, fl));
    net sendmmsg(fd: c_int, v: *mut libc::mmsghdr, n: c_uint, fl: c_int) -> c_int = |real| net::sendmmsg(v, n, |v, n| real(fd, v, n, fl));
    net listen(fd: c_int, backlog: c_int) -> c_int = |real| net::listen(fd, || real(fd, backlog));
    net accept(fd: c_int, a: *mut libc::sockaddr, l: *mut libc::socklen_t) -> c_int = |real| net::accept(|| real(fd, a, l));
    net accept4(fd: c_int, a: *mut libc::sockaddr, l: *mut libc::socklen_t, fl: c_int) -> c_int = |real| net::accept(|| real(fd, a, l, fl));
    net recvfrom(fd: c_int, b: V, n: size_t, fl: c_int, a: *mut libc::sockaddr, l: *mut libc::socklen_t) -> ssize_t = |real| net::recvfrom(fd, fl & libc::MSG_PEEK != 0, a, l, || real(fd, b, n, fl, a, l));
    net recvmsg(fd: c_int, m: *mut libc::msghdr, fl: c_int) -> ssize_t = |real| net::recvmsg(fd, fl & libc::MSG_PEEK != 0, m, || real(fd, m, fl));
    net getaddrinfo(node: P, svc: P, hints: V, res: V) -> c_int = |real| net::names(node, NameApi::Gai, net::EAI_NONAME, net::EAI_SYSTEM, || real(node, svc, hints, res));
    net gethostbyname(name: P) -> V = |real| net::names(name, NameApi::Hostent, core::ptr::null_mut(), core::ptr::null_mut(), || real(name));
    net gethostbyname2(name: P, af: c_int) -> V = |real| net::names(name, NameApi::Hostent, core::ptr::null_mut(), core::ptr::null_mut(), || real(name, af));
    net gethostbyname_r(name: P, ret: V, buf: *mut c_char, n: size_t, result: *mut V, herr: *mut c_int) -> c_int = |real| net::names(name, NameApi::HostentR(result, herr), 0, libc::EFAULT, || real(name, ret, buf, n, result, herr));
    net gethostbyname2_r(name: P, af: c_int, ret: V, buf: *mut c_char, n: size_t, result: *mut V, herr: *mut c_int) -> c_int = |real| net::names(name, NameApi::HostentR(result, herr), 0, libc::EFAULT, || real(name, af, ret, buf, n, result, herr));
    net res_query(d: P, c: c_int, t: c_int, ans: *mut u8, n: c_int) -> c_int = |real| net::names(d, NameApi::Res, -1, -1, || real(d, c, t, ans, n));
    net res_search(d: P, c: c_int, t: c_int, ans: *mut u8, n: c_int) -> c_int = |real| net::names(d, NameApi::Res, -1, -1, || real(d, c, t, ans, n));
    net res_querydomain(d: P, dom: P, c: c_int, t: c_int, ans: *mut u8, n: c_int) -> c_int = |real| net::names(d, NameApi::Res, -1, -1, || real(d, dom, c, t, ans, n));
    net res_nquery(st: V, d: P, c: c_int, t: c_int, ans: *mut u8, n: c_int) -> c_int = |real| net::names(d, NameApi::Res, -1, -1, || real(st, d, c, t, ans, n));
    net res_nsearch(st: V, d: P, c: c_int, t: c_int, ans: *mut u8, n: c_int) -> c_int = |real| net::names(d, NameApi::Res, -1, -1, || real(st, d, c, t, ans, n));
    net res_nquerydomain(st: V, d: P, dom: P, c: c_int, t: c_int, ans: *mut u8, n: c_int) -> c_int = |real| net::names(d, NameApi::Res, -1, -1, || real(st, d, dom, c, t, ans, n));
    net __res_query(d: P, c: c_int, t: c_int, ans: *mut u8, n: c_int) -> c_int = |real| net::names(d, NameApi::Res, -1, -1, || real(d, c, t, ans, n));
    net __res_search(d: P, c: c_int, t: c_int, ans: *mut u8, n: c_int) -> c_int = |real| net::names(d, NameApi::Res, -1, -1, || real(d, c, t, ans, n));

    // --- ids: virtual with -R/-U (vperm.rs), else the real calls ---------
    ids getuid() -> uid_t = |real| ids::get(ids::R, || real());
    ids geteuid() -> uid_t = |real| ids::get(ids::E, || real());
    ids getgid() -> gid_t = |real| ids::get(ids::G, || real());
    ids getegid() -> gid_t = |real| ids::get(ids::EG, || real());
    ids getresuid(r: *mut uid_t, e: *mut uid_t, s: *mut uid_t) -> c_int = |real| ids::getres(ids::R, r, e, s, || real(r, e, s));
    ids getresgid(r: *mut gid_t, e: *mut gid_t, s: *mut gid_t) -> c_int = |real| ids::getres(ids::G, r, e, s, || real(r, e, s));
    ids getgroups(n: c_int, l: *mut gid_t) -> c_int = |real| ids::getgroups(n, l, || real(n, l));
    ids setgroups(n: size_t, l: *const gid_t) -> c_int = |real| ids::setgroups(n, l, || real(n, l));
    ids initgroups(u: P, g: gid_t) -> c_int = |real| ids::initgroups(u, g, || real(u, g));
    ids setuid(u: uid_t) -> c_int = |real| ids::set1(ids::R, u, || real(u));
    ids setgid(g: gid_t) -> c_int = |real| ids::set1(ids::G, g, || real(g));
    ids seteuid(u: uid_t) -> c_int = |real| ids::sete(ids::R, u, || real(u));
    ids setegid(g: gid_t) -> c_int = |real| ids::sete(ids::G, g, || real(g));
    ids setreuid(r: uid_t, e: uid_t) -> c_int = |real| ids::setre(ids::R, r, e, || real(r, e));
    ids setregid(r: gid_t, e: gid_t) -> c_int = |real| ids::setre(ids::G, r, e, || real(r, e));
    ids setresuid(r: uid_t, e: uid_t, s: uid_t) -> c_int = |real| ids::setres3(ids::R, r, e, s, || real(r, e, s));
    ids setresgid(r: gid_t, e: gid_t, s: gid_t) -> c_int = |real| ids::setres3(ids::G, r, e, s, || real(r, e, s));
    ids setfsuid(u: uid_t) -> c_int = |real| ids::setfs(ids::R, u, || real(u));
    ids setfsgid(g: gid_t) -> c_int = |real| ids::setfs(ids::G, g, || real(g));
    ids capset(h: V, d: V) -> c_int = |real| ids::capset(|| real(h, d));

    // --- exec: the exec pipeline (exec.rs; execl/execle/execlp: variadic.c) -
    exec execve(p: P, argv: *const *const c_char, envp: *const *const c_char) -> c_int = |_real| exec::execve(p, argv, envp, false);
    exec execv(p: P, argv: *const *const c_char) -> c_int = |_real| exec::execve(p, argv, core::ptr::null(), false);
    exec execvp(p: P, argv: *const *const c_char) -> c_int = |_real| exec::execve(p, argv, core::ptr::null(), true);
    exec execvpe(p: P, argv: *const *const c_char, envp: *const *const c_char) -> c_int = |_real| exec::execve(p, argv, envp, true);
    exec fexecve(fd: c_int, argv: *const *const c_char, envp: *const *const c_char) -> c_int = |real| exec::exec_fd(fd, argv, envp, |e| real(fd, argv, e));
    exec execveat(d: c_int, p: P, argv: *const *const c_char, envp: *const *const c_char, fl: c_int) -> c_int = |real| exec::execveat(d, p, argv, envp, fl, |e| real(d, p, argv, e, fl));
    exec posix_spawn(pid: *mut libc::pid_t, p: P, fa: V, at: V, argv: *const *const c_char, envp: *const *const c_char) -> c_int = |_real| exec::spawn(pid, p, fa, at, argv, envp, false);
    exec posix_spawnp(pid: *mut libc::pid_t, p: P, fa: V, at: V, argv: *const *const c_char, envp: *const *const c_char) -> c_int = |_real| exec::spawn(pid, p, fa, at, argv, envp, true);
    exec system(cmd: P) -> c_int = |_real| exec::system(cmd);
    exec popen(cmd: P, mode: P) -> *mut libc::FILE = |_real| exec::popen(cmd, mode);
    exec pclose(f: *mut libc::FILE) -> c_int = |real| exec::pclose(f, |f| real(f));
    exec uname(b: *mut libc::utsname) -> c_int = |real| exec::uname(b, |b| real(b));

    // --- memory: path arguments are read from pages known to be mapped --
    mem munmap(a: V, l: size_t) -> c_int = |real| unmapped(Ok(real(a, l)));
    mem mremap(a: V, l: size_t, n: size_t, fl: c_int, na: V) -> V = |real| unmapped(Ok(real(a, l, n, fl, na)));
    mem mprotect(a: V, l: size_t, prot: c_int) -> c_int = |real| unmapped(Ok(real(a, l, prot)));
}
