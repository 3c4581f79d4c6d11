//! THE hook table: every libc function libsb2 interposes, one row each.
//!
//! A row is a declaration first: `family name(args) -> ret [CLASS, Follow,
//! Write; path=.., dirfd=.., fd=..]`, then its body `|real, op| ...`, an
//! expression that calls the path glue ([`crate::path`]: `map`, `map_at`,
//! `map2`...) with `op`, the operation the declaration gives, or a gate of
//! the row's family module. The family is the module the row's gate lives
//! in (`fs` for rows that only map). `alias name = base;` is the same
//! function under another glibc name. `sb2-show hooks` prints the
//! declarations and `sb2-show -f FUNC` reads them (see
//! `sb2_ruletree::abi`); the test suite checks that every row's probe case
//! runs.
//!
//! glibc 2.36 facts relied on: the 2.33 `stat` family
//! and the old `__xstat` forms are both exported and must both be hooked;
//! `_FORTIFY_SOURCE` callers use the `__*_2` / `__*_chk` names; fopen,
//! opendir, ftw, glob, mkstemp, realpath... reach the kernel through internal
//! calls that bypass the PLT, so the outer function is what we hook. Variadic
//! `open`/`openat` take their optional mode as a fixed argument (same
//! register on x86_64 and aarch64).

#![allow(clippy::missing_safety_doc)]

use crate::mem::unmapped;
use crate::net::NameApi;
use crate::nss::{self, Key, GR, PW, SP};
use crate::path::*;
use crate::process::cache::{changed, changed_if, cwd_changed};
use crate::stat::{self as vstat, stat_at, statx_at, Again};
use crate::vperm;
use crate::{dirs, exec, fs, ids, net, root, union};
use libc::{
    c_char, c_int, c_long, c_uint, c_void, dev_t, gid_t, mode_t, off_t, size_t, ssize_t, uid_t,
};
use sb2_ruletree::net::func as nf;

type P = *const c_char;
type V = *mut c_void;

hooks! {
    // --- open ------------------------------------------------------------
    fs open(p: P, flags: c_int, mode: mode_t) -> c_int [OPEN, OpenFlags, OpenFlags; path=p]
        = |real, op| open_at(libc::AT_FDCWD, p, flags, |h, f| vperm::creating(libc::AT_FDCWD, h, f, || real(h, f, mode)));
    alias open64 = open;
    alias __open = open;
    alias __open64 = open;
    fs __open_2(p: P, flags: c_int) -> c_int [OPEN, OpenFlags, OpenFlags; path=p]
        = |real, op| open_at(libc::AT_FDCWD, p, flags, |h, f| vperm::creating(libc::AT_FDCWD, h, f, || real(h, f)));
    alias __open64_2 = __open_2;
    fs openat(d: c_int, p: P, flags: c_int, mode: mode_t) -> c_int [OPEN, OpenFlags, OpenFlags; dirfd=d, path=p]
        = |real, op| open_at(d, p, flags, |h, f| vperm::creating(d, h, f, || real(d, h, f, mode)));
    alias openat64 = openat;
    fs __openat_2(d: c_int, p: P, flags: c_int) -> c_int [OPEN, OpenFlags, OpenFlags; dirfd=d, path=p]
        = |real, op| open_at(d, p, flags, |h, f| vperm::creating(d, h, f, || real(d, h, f)));
    alias __openat64_2 = __openat_2;
    fs creat(p: P, mode: mode_t) -> c_int [OPEN | CREAT, Yes, Yes; path=p]
        = |real, op| map(p, Op::open(libc::O_CREAT | libc::O_WRONLY | libc::O_TRUNC), |h| vperm::creating(libc::AT_FDCWD, h, libc::O_CREAT, || real(h, mode)));
    alias creat64 = creat;
    fs fopen(p: P, m: P) -> V [OPEN, OpenFlags, OpenFlags; path=p]
        = |real, op| map(p, Op::fopen(m), |h| real(h, m));
    alias fopen64 = fopen;
    fs freopen(p: P, m: P, f: V) -> V [OPEN, OpenFlags, OpenFlags; path=p]
        = |real, op| map_opt(p, Op::fopen(m), |h| real(h, m, f));
    alias freopen64 = freopen;

    // --- stat ------------------------------------------------------------
    stat stat(p: P, b: V) -> c_int [STAT, Yes, No; path=p]
        = |real, op| stat_at(libc::AT_FDCWD, p, 0, b, |h| real(h, b));
    alias stat64 = stat;
    stat lstat(p: P, b: V) -> c_int [STAT, No, No; path=p]
        = |real, op| map(p, op, |h| vstat::overlay(real(h, b), b, Again::path(h, false)));
    alias lstat64 = lstat;
    stat fstatat(d: c_int, p: P, b: V, fl: c_int) -> c_int [STAT, AtFlags, No; dirfd=d, path=p]
        = |real, op| stat_at(d, p, fl, b, |h| real(d, h, b, fl));
    alias fstatat64 = fstatat;
    stat __xstat(ver: c_int, p: P, b: V) -> c_int [STAT, Yes, No; path=p]
        = |real, op| stat_at(libc::AT_FDCWD, p, 0, b, |h| real(ver, h, b));
    alias __xstat64 = __xstat;
    stat __lxstat(ver: c_int, p: P, b: V) -> c_int [STAT, No, No; path=p]
        = |real, op| map(p, op, |h| vstat::overlay(real(ver, h, b), b, Again::path(h, false)));
    alias __lxstat64 = __lxstat;
    stat __fxstatat(ver: c_int, d: c_int, p: P, b: V, fl: c_int) -> c_int [STAT, AtFlags, No; dirfd=d, path=p]
        = |real, op| map_at_or_fd(d, p, fl, op, |h| vstat::overlay(real(ver, d, h, b, fl), b, Again::at(d, h, fl)));
    alias __fxstatat64 = __fxstatat;
    stat fstat(fd: c_int, b: V) -> c_int [STAT, None, No; fd=fd]
        = |real, op| Ok(vstat::overlay(real(fd, b), b, Again::fd(fd)));
    alias fstat64 = fstat;
    stat __fxstat(ver: c_int, fd: c_int, b: V) -> c_int [STAT, None, No; fd=fd]
        = |real, op| Ok(vstat::overlay(real(ver, fd, b), b, Again::fd(fd)));
    alias __fxstat64 = __fxstat;
    stat statx(d: c_int, p: P, fl: c_int, mask: c_uint, b: V) -> c_int [STAT, AtFlags, No; dirfd=d, path=p]
        = |real, op| statx_at(d, p, fl, mask, b, |h| real(d, h, fl, vstat::statx_mask(mask), b));
    fs statfs(p: P, b: V) -> c_int [STAT, Yes, No; path=p] = |real, op| map(p, op, |h| real(h, b));
    alias statfs64 = statfs;
    fs statvfs(p: P, b: V) -> c_int [STAT, Yes, No; path=p] = |real, op| map(p, op, |h| real(h, b));
    alias statvfs64 = statvfs;
    fs pathconf(p: P, n: c_int) -> c_long [STAT, Yes, No; path=p]
        = |real, op| map(p, op, |h| real(h, n));

    // --- access ----------------------------------------------------------
    fs access(p: P, m: c_int) -> c_int [STAT, Yes, Check; path=p]
        = |real, op| map(p, fs::access_op(m), |h| real(h, m));
    fs euidaccess(p: P, m: c_int) -> c_int [STAT, Yes, Check; path=p]
        = |real, op| map(p, fs::access_op(m), |h| real(h, m));
    fs eaccess(p: P, m: c_int) -> c_int [STAT, Yes, Check; path=p]
        = |real, op| map(p, fs::access_op(m), |h| real(h, m));
    fs faccessat(d: c_int, p: P, m: c_int, fl: c_int) -> c_int [STAT, AtFlags, Check; dirfd=d, path=p]
        = |real, op| map_at(d, p, fs::access_op(m).at(fl), |h| real(d, h, m, fl));

    // --- create and remove ---------------------------------------------
    vperm mkdir(p: P, m: mode_t) -> c_int [CREAT, No, Yes; path=p]
        = |real, op| flat(map(p, op, |h| vperm::mkdir(h, m, |m| real(h, m))));
    vperm mkdirat(d: c_int, p: P, m: mode_t) -> c_int [CREAT, No, Yes; dirfd=d, path=p]
        = |real, op| flat(map_at(d, p, op, |h| vperm::mkdir(h, m, |m| real(d, h, m))));
    vperm mknod(p: P, m: mode_t, dev: dev_t) -> c_int [MKNOD, No, Yes; path=p]
        = |real, op| flat(map(p, op, |h| vperm::mknod(h, m, dev, || real(h, m, dev))));
    vperm mknodat(d: c_int, p: P, m: mode_t, dev: dev_t) -> c_int [MKNOD, No, Yes; dirfd=d, path=p]
        = |real, op| flat(map_at(d, p, op, |h| vperm::mknod(h, m, dev, || real(d, h, m, dev))));
    vperm __xmknod(ver: c_int, p: P, m: mode_t, dev: *mut dev_t) -> c_int [MKNOD, No, Yes; path=p]
        = |real, op| flat(map(p, op, |h| vperm::xmknod(h, m, dev, || real(ver, h, m, dev))));
    vperm __xmknodat(ver: c_int, d: c_int, p: P, m: mode_t, dev: *mut dev_t) -> c_int [MKNOD, No, Yes; dirfd=d, path=p]
        = |real, op| flat(map_at(d, p, op, |h| vperm::xmknod(h, m, dev, || real(ver, d, h, m, dev))));
    fs mkfifo(p: P, m: mode_t) -> c_int [MKNOD, No, Yes; path=p]
        = |real, op| map(p, op, |h| real(h, m));
    fs mkfifoat(d: c_int, p: P, m: mode_t) -> c_int [MKNOD, No, Yes; dirfd=d, path=p]
        = |real, op| map_at(d, p, op, |h| real(d, h, m));
    fs unlink(p: P) -> c_int [REMOVE, No, Yes; path=p] = |real, op| map(p, op, |h| real(h));
    fs unlinkat(d: c_int, p: P, fl: c_int) -> c_int [REMOVE, No, Yes; dirfd=d, path=p]
        = |real, op| changed_if(fl & libc::AT_REMOVEDIR != 0, map_at(d, p, op, |h| real(d, h, fl)));
    fs rmdir(p: P) -> c_int [REMOVE, No, Yes; path=p] = |real, op| changed(map(p, op, |h| real(h)));
    fs remove(p: P) -> c_int [REMOVE, No, Yes; path=p]
        = |real, op| changed(map(p, op, |h| real(h)));
    fs rename(a: P, b: P) -> c_int [RENAME, No, Yes; path=a, path2=b]
        = |real, op| changed(map2(a, b, op, |x, y| real(x, y)));
    fs renameat(da: c_int, a: P, db: c_int, b: P) -> c_int [RENAME, No, Yes; dirfd=da, path=a, dirfd2=db, path2=b]
        = |real, op| changed(map2_at(da, a, db, b, op, |x, y| real(da, x, db, y)));
    fs renameat2(da: c_int, a: P, db: c_int, b: P, fl: c_uint) -> c_int [RENAME, No, Yes; dirfd=da, path=a, dirfd2=db, path2=b]
        = |real, op| changed(map2_at(da, a, db, b, op, |x, y| real(da, x, db, y, fl)));
    fs link(a: P, b: P) -> c_int [OPEN, No, Yes; path=a, path2=b]
        = |real, op| changed(map2(a, b, op, |x, y| real(x, y)));
    fs linkat(da: c_int, a: P, db: c_int, b: P, fl: c_int) -> c_int [OPEN, AtFollow, Yes; dirfd=da, path=a, dirfd2=db, path2=b]
        = |real, op| changed(map2_at(da, a, db, b, op.at_follow(fl), |x, y| real(da, x, db, y, fl)));
    fs symlink(target: P, p: P) -> c_int [SYMLINK, No, Yes; path=p]
        = |real, op| changed(map(p, op, |h| real(target, h)));
    fs symlinkat(target: P, d: c_int, p: P) -> c_int [SYMLINK, No, Yes; dirfd=d, path=p]
        = |real, op| changed(map_at(d, p, op, |h| real(target, d, h)));
    fs truncate(p: P, len: off_t) -> c_int [OPEN, Yes, Yes; path=p]
        = |real, op| map(p, op, |h| real(h, len));
    alias truncate64 = truncate;

    // --- links and names -------------------------------------------------
    fs readlink(p: P, buf: *mut c_char, n: size_t) -> ssize_t [OPEN, No, No; path=p]
        = |real, op| fs::readlink(libc::AT_FDCWD, p, buf, n, |h| real(h, buf, n));
    fs readlinkat(d: c_int, p: P, buf: *mut c_char, n: size_t) -> ssize_t [OPEN, No, No; dirfd=d, path=p]
        = |real, op| fs::readlink(d, p, buf, n, |h| real(d, h, buf, n));
    fs __readlink_chk(p: P, buf: *mut c_char, n: size_t, bl: size_t) -> ssize_t [OPEN, No, No; path=p]
        = |real, op| fs::readlink(libc::AT_FDCWD, p, buf, n, |h| real(h, buf, n, bl));
    fs __readlinkat_chk(d: c_int, p: P, buf: *mut c_char, n: size_t, bl: size_t) -> ssize_t [OPEN, No, No; dirfd=d, path=p]
        = |real, op| fs::readlink(d, p, buf, n, |h| real(d, h, buf, n, bl));
    fs realpath(p: P, out: *mut c_char) -> *mut c_char [REALPATH, Yes, No; path=p]
        = |_real, op| fs::realpath(p, out);
    fs __realpath_chk(p: P, out: *mut c_char, _n: size_t) -> *mut c_char [REALPATH, Yes, No; path=p]
        = |_real, op| fs::realpath(p, out);
    fs canonicalize_file_name(p: P) -> *mut c_char [REALPATH, Yes, No; path=p]
        = |_real, op| fs::realpath(p, core::ptr::null_mut());
    fs chdir(p: P) -> c_int [NONE, Yes, No; path=p]
        = |real, op| cwd_changed(map(p, op, |h| real(h)));
    fs fchdir(fd: c_int) -> c_int [NONE, None, No; fd=fd] = |real, op| cwd_changed(Ok(real(fd)));
    root chroot(p: P) -> c_int [CHROOT, Yes, No; path=p] = |_real, op| root::chroot(p);
    fs getcwd(buf: *mut c_char, n: size_t) -> *mut c_char [GETCWD, None, No]
        = |_real, op| fs::getcwd(buf, n);
    fs __getcwd_chk(buf: *mut c_char, n: size_t, _bl: size_t) -> *mut c_char [GETCWD, None, No]
        = |_real, op| fs::getcwd(buf, n);
    fs getwd(buf: *mut c_char) -> *mut c_char [GETCWD, None, No]
        = |_real, op| fs::getcwd(buf, libc::PATH_MAX as size_t);
    fs get_current_dir_name() -> *mut c_char [GETCWD, None, No]
        = |_real, op| fs::getcwd(core::ptr::null_mut(), 0);

    // --- owner, mode, times ----------------------------------------------
    vperm chmod(p: P, m: mode_t) -> c_int [OPEN, Yes, Yes; path=p]
        = |real, op| flat(map(p, op, |h| vperm::chmod(Again::path(h, true), m, |m| real(h, m))));
    vperm lchmod(p: P, m: mode_t) -> c_int [OPEN, No, Yes; path=p]
        = |real, op| flat(map(p, op, |h| vperm::chmod(Again::path(h, false), m, |m| real(h, m))));
    vperm fchmod(fd: c_int, m: mode_t) -> c_int [OPEN, None, Yes; fd=fd]
        = |real, op| flat(fd_write(fd, op, || vperm::chmod(Again::fd(fd), m, |m| real(fd, m))));
    vperm fchmodat(d: c_int, p: P, m: mode_t, fl: c_int) -> c_int [OPEN, AtFlags, Yes; dirfd=d, path=p]
        = |real, op| flat(map_at(d, p, op.at(fl), |h| vperm::chmod(Again::at(d, h, fl), m, |m| real(d, h, m, fl))));
    vperm chown(p: P, u: uid_t, g: gid_t) -> c_int [OPEN, Yes, Yes; path=p]
        = |real, op| flat(map(p, op, |h| vperm::chown(Again::path(h, true), u, g, || real(h, u, g))));
    vperm lchown(p: P, u: uid_t, g: gid_t) -> c_int [OPEN, No, Yes; path=p]
        = |real, op| flat(map(p, op, |h| vperm::chown(Again::path(h, false), u, g, || real(h, u, g))));
    vperm fchown(fd: c_int, u: uid_t, g: gid_t) -> c_int [OPEN, None, Yes; fd=fd]
        = |real, op| flat(fd_write(fd, op, || vperm::chown(Again::fd(fd), u, g, || real(fd, u, g))));
    vperm fchownat(d: c_int, p: P, u: uid_t, g: gid_t, fl: c_int) -> c_int [OPEN, AtFlags, Yes; dirfd=d, path=p]
        = |real, op| flat(map_at_or_fd(d, p, fl, op, |h| vperm::chown(Again::at(d, h, fl), u, g, || real(d, h, u, g, fl))));
    fs utime(p: P, t: V) -> c_int [SET_TIMES, Yes, Yes; path=p]
        = |real, op| map(p, op, |h| real(h, t));
    fs utimes(p: P, t: V) -> c_int [SET_TIMES, Yes, Yes; path=p]
        = |real, op| map(p, op, |h| real(h, t));
    fs lutimes(p: P, t: V) -> c_int [SET_TIMES, No, Yes; path=p]
        = |real, op| map(p, op, |h| real(h, t));
    fs utimensat(d: c_int, p: P, t: V, fl: c_int) -> c_int [SET_TIMES, AtFlags, Yes; dirfd=d, path=p]
        = |real, op| fs::map_at_opt(d, p, op.at(fl), false, |h| real(d, h, t, fl));
    fs futimesat(d: c_int, p: P, t: V) -> c_int [SET_TIMES, Yes, Yes; dirfd=d, path=p]
        = |real, op| fs::map_at_opt(d, p, op, true, |h| real(d, h, t));
    fs futimens(fd: c_int, t: V) -> c_int [SET_TIMES, None, Yes; fd=fd]
        = |real, op| fd_write(fd, op, || real(fd, t));
    fs futimes(fd: c_int, t: V) -> c_int [SET_TIMES, None, Yes; fd=fd]
        = |real, op| fd_write(fd, op, || real(fd, t));

    // --- extended attributes ---------------------------------------------
    vperm getxattr(p: P, n: P, v: V, s: size_t) -> ssize_t [STAT, Yes, No; path=p]
        = |real, op| flat(map(p, op, |h| vperm::xattr(n, true, |n| real(h, n, v, s))));
    vperm lgetxattr(p: P, n: P, v: V, s: size_t) -> ssize_t [STAT, No, No; path=p]
        = |real, op| flat(map(p, op, |h| vperm::xattr(n, true, |n| real(h, n, v, s))));
    vperm fgetxattr(fd: c_int, n: P, v: V, s: size_t) -> ssize_t [STAT, None, No; fd=fd]
        = |real, op| vperm::xattr(n, true, |n| real(fd, n, v, s));
    vperm listxattr(p: P, l: *mut c_char, s: size_t) -> ssize_t [STAT, Yes, No; path=p]
        = |real, op| flat(map(p, op, |h| vperm::xattr_list(l, real(h, l, s))));
    vperm llistxattr(p: P, l: *mut c_char, s: size_t) -> ssize_t [STAT, No, No; path=p]
        = |real, op| flat(map(p, op, |h| vperm::xattr_list(l, real(h, l, s))));
    vperm flistxattr(fd: c_int, l: *mut c_char, s: size_t) -> ssize_t [STAT, None, No; fd=fd]
        = |real, op| vperm::xattr_list(l, real(fd, l, s));
    vperm setxattr(p: P, n: P, v: *const c_void, s: size_t, fl: c_int) -> c_int [OPEN, Yes, Yes; path=p]
        = |real, op| flat(map(p, op, |h| vperm::xattr_set(n, |n| real(h, n, v, s, fl))));
    vperm lsetxattr(p: P, n: P, v: *const c_void, s: size_t, fl: c_int) -> c_int [OPEN, No, Yes; path=p]
        = |real, op| flat(map(p, op, |h| vperm::xattr_set(n, |n| real(h, n, v, s, fl))));
    vperm fsetxattr(fd: c_int, n: P, v: *const c_void, s: size_t, fl: c_int) -> c_int [OPEN, None, Yes; fd=fd]
        = |real, op| flat(fd_write(fd, op, || vperm::xattr_set(n, |n| real(fd, n, v, s, fl))));
    vperm removexattr(p: P, n: P) -> c_int [OPEN, Yes, Yes; path=p]
        = |real, op| flat(map(p, op, |h| vperm::xattr_set(n, |n| real(h, n))));
    vperm lremovexattr(p: P, n: P) -> c_int [OPEN, No, Yes; path=p]
        = |real, op| flat(map(p, op, |h| vperm::xattr_set(n, |n| real(h, n))));
    vperm fremovexattr(fd: c_int, n: P) -> c_int [OPEN, None, Yes; fd=fd]
        = |real, op| flat(fd_write(fd, op, || vperm::xattr_set(n, |n| real(fd, n))));

    // --- temporary files -------------------------------------------------
    fs mkstemp(t: *mut c_char) -> c_int [CREAT, No, Yes; path=t]
        = |real, op| fs::mktemp(t, 0, op, |h| vperm::temp_fd(real(h)), |fd, _| *fd >= 0);
    alias mkstemp64 = mkstemp;
    fs mkostemp(t: *mut c_char, fl: c_int) -> c_int [CREAT, No, Yes; path=t]
        = |real, op| fs::mktemp(t, 0, op, |h| vperm::temp_fd(real(h, fl)), |fd, _| *fd >= 0);
    alias mkostemp64 = mkostemp;
    fs mkstemps(t: *mut c_char, sl: c_int) -> c_int [CREAT, No, Yes; path=t]
        = |real, op| fs::mktemp(t, sl, op, |h| vperm::temp_fd(real(h, sl)), |fd, _| *fd >= 0);
    alias mkstemps64 = mkstemps;
    fs mkostemps(t: *mut c_char, sl: c_int, fl: c_int) -> c_int [CREAT, No, Yes; path=t]
        = |real, op| fs::mktemp(t, sl, op, |h| vperm::temp_fd(real(h, sl, fl)), |fd, _| *fd >= 0);
    alias mkostemps64 = mkostemps;
    fs mkdtemp(t: *mut c_char) -> *mut c_char [CREAT, No, Yes; path=t]
        = |real, op| fs::mktemp(t, 0, op, |h| vperm::temp_dir(h, real(h)), |r, _| !r.is_null()).map(|r| if r.is_null() { r } else { t });
    fs mktemp(t: *mut c_char) -> *mut c_char [STAT, No, No; path=t]
        = |real, op| fs::mktemp_name(t, op, |h| real(h));
    fs tmpnam(s: *mut c_char) -> *mut c_char [STAT, No, No] = |real, op| fs::tmpnam(|| real(s));
    fs tempnam(d: P, pfx: P) -> *mut c_char [STAT, Yes, No; path=d]
        = |real, op| fs::tempnam(d, |h| real(h, pfx));

    // --- directories and tree walks -------------------------------------
    union opendir(p: P) -> V [OPEN, Yes, No; path=p] = |real, op| union::opendir(p, |h| real(h));
    dirs scandir(p: P, list: V, filter: V, cmp: V) -> c_int [OPEN, Yes, No; path=p]
        = |real, op| map(p, op, |h| real(h, list, filter, cmp));
    alias scandir64 = scandir;
    dirs scandirat(d: c_int, p: P, list: V, filter: V, cmp: V) -> c_int [OPEN, Yes, No; dirfd=d, path=p]
        = |real, op| map_at(d, p, op, |h| real(d, h, list, filter, cmp));
    alias scandirat64 = scandirat;
    dirs ftw(p: P, f: V, n: c_int) -> c_int [OPEN, Yes, No; path=p]
        = |real, op| dirs::ftw(p, f, 0, |h, t| real(h, t, n), false);
    alias ftw64 = ftw;
    dirs nftw(p: P, f: V, n: c_int, fl: c_int) -> c_int [OPEN, Arg, No; path=p]
        = |real, op| dirs::ftw(p, f, fl, |h, t| real(h, t, n, fl), true);
    alias nftw64 = nftw;
    dirs fts_open(argv: *const *mut c_char, o: c_int, cmp: V) -> V [OPEN, Yes, No]
        = |real, op| dirs::fts_open(argv, |a| real(a, o | dirs::FTS_NOCHDIR, cmp));
    alias fts64_open = fts_open;
    dirs fts_read(f: V) -> V [NONE, None, No] = |real, op| Ok(dirs::fts_virtual(real(f)));
    alias fts64_read = fts_read;
    dirs fts_children(f: V, o: c_int) -> V [NONE, None, No]
        = |real, op| Ok(dirs::fts_list_virtual(real(f, o)));
    alias fts64_children = fts_children;
    dirs glob(pat: P, fl: c_int, errf: V, g: V) -> c_int [OPEN, Yes, No; path=pat]
        = |real, op| dirs::glob(fl, g, false, |fl| real(pat, fl, errf, g));
    dirs glob64(pat: P, fl: c_int, errf: V, g: V) -> c_int [OPEN, Yes, No; path=pat]
        = |real, op| dirs::glob(fl, g, true, |fl| real(pat, fl, errf, g));

    // --- misc ------------------------------------------------------------
    fs dlopen(p: P, fl: c_int) -> V [OPEN | DLOPEN, Yes, No; path=p]
        = |real, op| fs::dlopen(p, |h| real(h, fl));
    fs dlmopen(ns: c_long, p: P, fl: c_int) -> V [OPEN | DLOPEN, Yes, No; path=p]
        = |real, op| fs::dlopen(p, |h| real(ns, h, fl));
    fs inotify_add_watch(fd: c_int, p: P, mask: u32) -> c_int [OPEN, Arg, No; path=p]
        = |real, op| map(p, Op { follow: mask & libc::IN_DONT_FOLLOW == 0, ..READ }, |h| real(fd, h, mask));
    fs name_to_handle_at(d: c_int, p: P, hd: V, mnt: *mut c_int, fl: c_int) -> c_int [STAT, AtFollow, No; dirfd=d, path=p]
        = |real, op| map_at_or_fd(d, p, fl, LSTAT.at_follow(fl), |h| real(d, h, hd, mnt, fl));
    net bind(fd: c_int, a: *const libc::sockaddr, l: libc::socklen_t) -> c_int [SOCKADDR, No, Yes; fd=fd]
        = |real, op| net::gate(op, nf::BIND, false, a, l, |a, l| real(fd, a, l));
    net connect(fd: c_int, a: *const libc::sockaddr, l: libc::socklen_t) -> c_int [SOCKADDR, Yes, No; fd=fd]
        = |real, op| net::gate(op, nf::CONNECT, true, a, l, |a, l| real(fd, a, l));
    net sendto(fd: c_int, b: *const c_void, n: size_t, fl: c_int, a: *const libc::sockaddr, l: libc::socklen_t) -> ssize_t [SOCKADDR, Yes, No; fd=fd]
        = |real, op| net::gate(op, nf::SENDTO, true, a, l, |a, l| real(fd, b, n, fl, a, l));
    net sendmsg(fd: c_int, m: *const libc::msghdr, fl: c_int) -> ssize_t [SOCKADDR, None, No; fd=fd]
        = |real, op| net::sendmsg(m, |m| real(fd, m, fl));
    net sendmmsg(fd: c_int, v: *mut libc::mmsghdr, n: c_uint, fl: c_int) -> c_int [SOCKADDR, None, No; fd=fd]
        = |real, op| net::sendmmsg(v, n, |v, n| real(fd, v, n, fl));
    net listen(fd: c_int, backlog: c_int) -> c_int [SOCKADDR, None, No; fd=fd]
        = |real, op| net::listen(fd, || real(fd, backlog));
    net getsockname(fd: c_int, a: *mut libc::sockaddr, l: *mut libc::socklen_t) -> c_int [SOCKADDR, None, No; fd=fd]
        = |real, op| net::unix_name(fd, false, a, l, || real(fd, a, l));
    net getpeername(fd: c_int, a: *mut libc::sockaddr, l: *mut libc::socklen_t) -> c_int [SOCKADDR, None, No; fd=fd]
        = |real, op| net::unix_name(fd, true, a, l, || real(fd, a, l));
    net accept(fd: c_int, a: *mut libc::sockaddr, l: *mut libc::socklen_t) -> c_int [SOCKADDR, None, No; fd=fd]
        = |real, op| net::accept(|| real(fd, a, l));
    net accept4(fd: c_int, a: *mut libc::sockaddr, l: *mut libc::socklen_t, fl: c_int) -> c_int [SOCKADDR, None, No; fd=fd]
        = |real, op| net::accept(|| real(fd, a, l, fl));
    net recvfrom(fd: c_int, b: V, n: size_t, fl: c_int, a: *mut libc::sockaddr, l: *mut libc::socklen_t) -> ssize_t [SOCKADDR, None, No; fd=fd]
        = |real, op| net::recvfrom(fd, fl & libc::MSG_PEEK != 0, a, l, || real(fd, b, n, fl, a, l));
    net recvmsg(fd: c_int, m: *mut libc::msghdr, fl: c_int) -> ssize_t [SOCKADDR, None, No; fd=fd]
        = |real, op| net::recvmsg(fd, fl & libc::MSG_PEEK != 0, m, || real(fd, m, fl));
    net getaddrinfo(node: P, svc: P, hints: V, res: V) -> c_int [NONE, None, No]
        = |real, op| net::names(node, NameApi::Gai, net::EAI_NONAME, net::EAI_SYSTEM, || real(node, svc, hints, res));
    net gethostbyname(name: P) -> V [NONE, None, No]
        = |real, op| net::names(name, NameApi::Hostent, core::ptr::null_mut(), core::ptr::null_mut(), || real(name));
    net gethostbyname2(name: P, af: c_int) -> V [NONE, None, No]
        = |real, op| net::names(name, NameApi::Hostent, core::ptr::null_mut(), core::ptr::null_mut(), || real(name, af));
    net gethostbyname_r(name: P, ret: V, buf: *mut c_char, n: size_t, result: *mut V, herr: *mut c_int) -> c_int [NONE, None, No]
        = |real, op| net::names(name, NameApi::HostentR(result, herr), 0, libc::EFAULT, || real(name, ret, buf, n, result, herr));
    net gethostbyname2_r(name: P, af: c_int, ret: V, buf: *mut c_char, n: size_t, result: *mut V, herr: *mut c_int) -> c_int [NONE, None, No]
        = |real, op| net::names(name, NameApi::HostentR(result, herr), 0, libc::EFAULT, || real(name, af, ret, buf, n, result, herr));
    net res_query(d: P, c: c_int, t: c_int, ans: *mut u8, n: c_int) -> c_int [NONE, None, No]
        = |real, op| net::names(d, NameApi::Res, -1, -1, || real(d, c, t, ans, n));
    net res_search(d: P, c: c_int, t: c_int, ans: *mut u8, n: c_int) -> c_int [NONE, None, No]
        = |real, op| net::names(d, NameApi::Res, -1, -1, || real(d, c, t, ans, n));
    net res_querydomain(d: P, dom: P, c: c_int, t: c_int, ans: *mut u8, n: c_int) -> c_int [NONE, None, No]
        = |real, op| net::names(d, NameApi::Res, -1, -1, || real(d, dom, c, t, ans, n));
    net res_nquery(st: V, d: P, c: c_int, t: c_int, ans: *mut u8, n: c_int) -> c_int [NONE, None, No]
        = |real, op| net::names(d, NameApi::Res, -1, -1, || real(st, d, c, t, ans, n));
    net res_nsearch(st: V, d: P, c: c_int, t: c_int, ans: *mut u8, n: c_int) -> c_int [NONE, None, No]
        = |real, op| net::names(d, NameApi::Res, -1, -1, || real(st, d, c, t, ans, n));
    net res_nquerydomain(st: V, d: P, dom: P, c: c_int, t: c_int, ans: *mut u8, n: c_int) -> c_int [NONE, None, No]
        = |real, op| net::names(d, NameApi::Res, -1, -1, || real(st, d, dom, c, t, ans, n));
    alias __res_query = res_query;
    alias __res_search = res_search;

    // --- ids: virtual with -R/-U (ids.rs), else the real calls ---------
    ids getuid() -> uid_t [NONE, None, No] = |real, op| ids::get(ids::R, || real());
    ids geteuid() -> uid_t [NONE, None, No] = |real, op| ids::get(ids::E, || real());
    ids getgid() -> gid_t [NONE, None, No] = |real, op| ids::get(ids::G, || real());
    ids getegid() -> gid_t [NONE, None, No] = |real, op| ids::get(ids::EG, || real());
    ids getresuid(r: *mut uid_t, e: *mut uid_t, s: *mut uid_t) -> c_int [NONE, None, No]
        = |real, op| ids::getres(ids::R, r, e, s, || real(r, e, s));
    ids getresgid(r: *mut gid_t, e: *mut gid_t, s: *mut gid_t) -> c_int [NONE, None, No]
        = |real, op| ids::getres(ids::G, r, e, s, || real(r, e, s));
    ids getgroups(n: c_int, l: *mut gid_t) -> c_int [NONE, None, No]
        = |real, op| ids::getgroups(n, l, || real(n, l));
    ids setgroups(n: size_t, l: *const gid_t) -> c_int [NONE, None, No]
        = |real, op| ids::setgroups(n, l, || real(n, l));
    ids initgroups(u: P, g: gid_t) -> c_int [NONE, None, No]
        = |real, op| ids::initgroups(|l| nss::grouplist(u, g, l), || real(u, g));
    ids setuid(u: uid_t) -> c_int [NONE, None, No] = |real, op| ids::set1(ids::R, u, || real(u));
    ids setgid(g: gid_t) -> c_int [NONE, None, No] = |real, op| ids::set1(ids::G, g, || real(g));
    ids seteuid(u: uid_t) -> c_int [NONE, None, No] = |real, op| ids::sete(ids::R, u, || real(u));
    ids setegid(g: gid_t) -> c_int [NONE, None, No] = |real, op| ids::sete(ids::G, g, || real(g));
    ids setreuid(r: uid_t, e: uid_t) -> c_int [NONE, None, No]
        = |real, op| ids::setre(ids::R, r, e, || real(r, e));
    ids setregid(r: gid_t, e: gid_t) -> c_int [NONE, None, No]
        = |real, op| ids::setre(ids::G, r, e, || real(r, e));
    ids setresuid(r: uid_t, e: uid_t, s: uid_t) -> c_int [NONE, None, No]
        = |real, op| ids::setres3(ids::R, r, e, s, || real(r, e, s));
    ids setresgid(r: gid_t, e: gid_t, s: gid_t) -> c_int [NONE, None, No]
        = |real, op| ids::setres3(ids::G, r, e, s, || real(r, e, s));
    ids setfsuid(u: uid_t) -> c_int [NONE, None, No] = |real, op| ids::setfs(ids::R, u, || real(u));
    ids setfsgid(g: gid_t) -> c_int [NONE, None, No] = |real, op| ids::setfs(ids::G, g, || real(g));
    ids capset(h: V, d: V) -> c_int [NONE, None, No] = |real, op| ids::capset(|| real(h, d));
    ids unshare(f: c_int) -> c_int [NONE, None, No] = |real, op| ids::namespaces(f, || real(f));
    ids setns(fd: c_int, t: c_int) -> c_int [NONE, None, No]
        = |real, op| ids::namespaces(if t == 0 { libc::CLONE_NEWUSER } else { t }, || real(fd, t));

    // --- name service: the mapped /etc/passwd, group, shadow (nss/) ----
    nss lckpwdf() -> c_int [NONE, None, No] = |real, op| nss::lckpwdf(|| real());
    nss ulckpwdf() -> c_int [NONE, None, No] = |real, op| nss::ulckpwdf(|| real());
    nss getpwnam(name: P) -> V [NONE, None, No]
        = |real, op| nss::get(PW, Key::Name(name), &nss::STORE[0], || real(name));
    nss getpwuid(u: uid_t) -> V [NONE, None, No]
        = |real, op| nss::get(PW, Key::Id(u), &nss::STORE[1], || real(u));
    nss getpwent() -> V [NONE, None, No]
        = |real, op| nss::get(PW, Key::Next, &nss::STORE[2], || real());
    nss getgrnam(name: P) -> V [NONE, None, No]
        = |real, op| nss::get(GR, Key::Name(name), &nss::STORE[3], || real(name));
    nss getgrgid(g: gid_t) -> V [NONE, None, No]
        = |real, op| nss::get(GR, Key::Id(g), &nss::STORE[4], || real(g));
    nss getgrent() -> V [NONE, None, No]
        = |real, op| nss::get(GR, Key::Next, &nss::STORE[5], || real());
    nss getspnam(name: P) -> V [NONE, None, No]
        = |real, op| nss::get(SP, Key::Name(name), &nss::STORE[6], || real(name));
    nss getpwnam_r(name: P, e: V, buf: *mut c_char, n: size_t, res: *mut V) -> c_int [NONE, None, No]
        = |real, op| nss::get_r(PW, Key::Name(name), e, buf, n, res, || real(name, e, buf, n, res));
    nss getpwuid_r(u: uid_t, e: V, buf: *mut c_char, n: size_t, res: *mut V) -> c_int [NONE, None, No]
        = |real, op| nss::get_r(PW, Key::Id(u), e, buf, n, res, || real(u, e, buf, n, res));
    nss getpwent_r(e: V, buf: *mut c_char, n: size_t, res: *mut V) -> c_int [NONE, None, No]
        = |real, op| nss::get_r(PW, Key::Next, e, buf, n, res, || real(e, buf, n, res));
    nss getgrnam_r(name: P, e: V, buf: *mut c_char, n: size_t, res: *mut V) -> c_int [NONE, None, No]
        = |real, op| nss::get_r(GR, Key::Name(name), e, buf, n, res, || real(name, e, buf, n, res));
    nss getgrgid_r(g: gid_t, e: V, buf: *mut c_char, n: size_t, res: *mut V) -> c_int [NONE, None, No]
        = |real, op| nss::get_r(GR, Key::Id(g), e, buf, n, res, || real(g, e, buf, n, res));
    nss getgrent_r(e: V, buf: *mut c_char, n: size_t, res: *mut V) -> c_int [NONE, None, No]
        = |real, op| nss::get_r(GR, Key::Next, e, buf, n, res, || real(e, buf, n, res));
    nss getspnam_r(name: P, e: V, buf: *mut c_char, n: size_t, res: *mut V) -> c_int [NONE, None, No]
        = |real, op| nss::get_r(SP, Key::Name(name), e, buf, n, res, || real(name, e, buf, n, res));
    nss setpwent() -> () [NONE, None, No] = |real, op| nss::rewind(PW, || real());
    alias endpwent = setpwent;
    nss setgrent() -> () [NONE, None, No] = |real, op| nss::rewind(GR, || real());
    alias endgrent = setgrent;
    nss getgrouplist(u: P, g: gid_t, l: *mut gid_t, n: *mut c_int) -> c_int [NONE, None, No]
        = |real, op| nss::getgrouplist(u, g, l, n, || real(u, g, l, n));

    // --- exec: the exec pipeline (exec/; execl/execle/execlp: variadic.c) -
    exec execve(p: P, argv: *const *const c_char, envp: *const *const c_char) -> c_int [EXEC, Yes, No; path=p]
        = |_real, op| exec::execve(p, argv, envp, false);
    exec execv(p: P, argv: *const *const c_char) -> c_int [EXEC, Yes, No; path=p]
        = |_real, op| exec::execve(p, argv, core::ptr::null(), false);
    exec execvp(p: P, argv: *const *const c_char) -> c_int [EXEC, Yes, No; path=p]
        = |_real, op| exec::execve(p, argv, core::ptr::null(), true);
    exec execvpe(p: P, argv: *const *const c_char, envp: *const *const c_char) -> c_int [EXEC, Yes, No; path=p]
        = |_real, op| exec::execve(p, argv, envp, true);
    exec fexecve(fd: c_int, argv: *const *const c_char, envp: *const *const c_char) -> c_int [EXEC, None, No; fd=fd]
        = |real, op| exec::exec_fd(fd, argv, envp, |e| real(fd, argv, e));
    exec execveat(d: c_int, p: P, argv: *const *const c_char, envp: *const *const c_char, fl: c_int) -> c_int [EXEC, AtFlags, No; dirfd=d, path=p]
        = |real, op| exec::execveat(d, p, argv, envp, fl, |e| real(d, p, argv, e, fl));
    exec posix_spawn(pid: *mut libc::pid_t, p: P, fa: V, at: V, argv: *const *const c_char, envp: *const *const c_char) -> c_int [EXEC, Yes, No; path=p]
        = |_real, op| exec::spawn(pid, p, fa, at, argv, envp, false);
    exec posix_spawnp(pid: *mut libc::pid_t, p: P, fa: V, at: V, argv: *const *const c_char, envp: *const *const c_char) -> c_int [EXEC, Yes, No; path=p]
        = |_real, op| exec::spawn(pid, p, fa, at, argv, envp, true);
    exec system(cmd: P) -> c_int [EXEC, None, No] = |_real, op| exec::system(cmd);
    exec popen(cmd: P, mode: P) -> *mut libc::FILE [EXEC, None, No]
        = |_real, op| exec::popen(cmd, mode);
    exec pclose(f: *mut libc::FILE) -> c_int [NONE, None, No]
        = |real, op| exec::pclose(f, |f| real(f));
    exec uname(b: *mut libc::utsname) -> c_int [NONE, None, No]
        = |real, op| exec::uname(b, |b| real(b));

    // --- memory: path arguments are read from pages known to be mapped --
    mem munmap(a: V, l: size_t) -> c_int [NONE, None, No] = |real, op| unmapped(Ok(real(a, l)));
    mem mremap(a: V, l: size_t, n: size_t, fl: c_int, na: V) -> V [NONE, None, No]
        = |real, op| unmapped(Ok(real(a, l, n, fl, na)));
    mem mprotect(a: V, l: size_t, prot: c_int) -> c_int [NONE, None, No]
        = |real, op| unmapped(Ok(real(a, l, prot)));
}
