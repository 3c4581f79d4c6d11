//! The path glue, between the process layer and the families: the
//! preload's side of the one path pipeline. [`Cached`] implements the
//! pipeline's `Host` trait with raw system calls ([`Sys`], never our own
//! hooks) and the caches of `process::cache`; the `map*` helpers are the
//! kinds the hook table uses. Each helper decodes the caller's path,
//! resolves it through `sb2_ruletree::mapping`, refuses writes to
//! read-only paths (EROFS), and hands the host path to the real function
//! (the FFI boundary gives that the caller's errno back).

use crate::ffi::cstr::read_path;
use crate::ffi::hook::errno;
use crate::process::{cache, log, state};
use sb2_ruletree::contract::LogLevel;
use sb2_ruletree::mapping::{self, Ctx, Host, Kind, Mapped, PathBuf, Req};
use sb2_ruletree::protect::{self, Need, Verdict};
pub use sb2_ruletree::sys::Sys;
use sb2_ruletree::Errno;

/// The preload's host: raw system calls ([`Sys`]) plus the per-thread
/// caches of [`crate::process::cache`].
pub struct Cached;

impl Host for Cached {
    #[link_section = ".text.hot.sb2"]
    fn lstat_kind(&self, hpath: &[u8]) -> Result<Kind, Errno> {
        if cache::cwd_hidden() {
            if let Some(r) = in_hidden_cwd(hpath, |p| Sys.lstat_kind(p)) {
                return r;
            }
        }
        Sys.lstat_kind(hpath)
    }
    fn readlink(&self, hpath: &[u8], out: &mut PathBuf) -> Result<(), Errno> {
        if cache::cwd_hidden() {
            if let Some(r) = in_hidden_cwd(hpath, |p| Sys.readlink(p, out)) {
                return r;
            }
        }
        Sys.readlink(hpath, out)
    }
    fn getenv(&self, name: &[u8], out: &mut PathBuf) -> bool {
        Sys.getenv(name, out)
    }
    fn host_cwd(&self, out: &mut PathBuf) -> Result<(), Errno> {
        Sys.host_cwd(out)?;
        cache::note_host_cwd(out);
        Ok(())
    }
    fn fd_path(&self, fd: i32, out: &mut PathBuf) -> Result<(), Errno> {
        Sys.fd_path(fd, out)
    }
    fn fd_vpath(
        &self,
        fd: i32,
        out: &mut PathBuf,
        scratch: &mut PathBuf,
        virt: impl FnOnce(&[u8], &mut PathBuf) -> Result<(), Errno>,
    ) -> Result<bool, Errno> {
        // The pipeline's own way (Sys), unless the cache knows.
        cache::fd_vpath(fd, out, scratch, |o, s| Sys.fd_vpath(fd, o, s, virt))
    }
    fn cached_cwd(&self, out: &mut PathBuf) -> Option<bool> {
        cache::cached_cwd(out)
    }
    fn cache_cwd(&self, vcwd: &[u8], token: u64, is_host: bool) {
        cache::cache_cwd(vcwd, token, is_host)
    }
    fn dir_known(&self, key: u64) -> bool {
        cache::dir_known(key)
    }
    fn dir_token(&self) -> u64 {
        cache::token()
    }
    fn dir_remember(&self, key: u64, token: u64) {
        cache::dir_remember(key, token)
    }
    fn rule_cached(&self, key: u64) -> Option<u32> {
        cache::rule_cached(key)
    }
    fn rule_remember(&self, key: u64, rule: u32) {
        cache::rule_remember(key, rule)
    }
    #[link_section = ".text.hot.sb2"]
    fn exec_probe(&self, hpath: &[u8], head: &mut [u8]) -> Result<usize, Errno> {
        let creds = crate::process::hot::credentials();
        let st = sb2_ruletree::sys::exec_stat(hpath)?;
        if let Some(n) = crate::process::hot::probe_cached(hpath, &st, head) {
            return Ok(n);
        }
        let n = sb2_ruletree::sys::exec_read(hpath, head)?;
        // A PATH search asks for no head: nothing to remember of it.
        if !head.is_empty() {
            crate::process::hot::probe_remember(hpath, &st, head.get(..n).unwrap_or(&[]), creds);
        }
        Ok(n)
    }
}

/// `f` on the NUL-terminated host path `hpath` as the kernel can reach it
/// when it lies in a cwd whose absolute path cannot be walked
/// ([`cache::via_cwd`]); None when it does not.
#[inline(never)]
fn in_hidden_cwd<R>(hpath: &[u8], f: impl FnOnce(&[u8]) -> R) -> Option<R> {
    let h = hpath.strip_suffix(b"\0").unwrap_or(hpath);
    let mut b = PathBuf::new();
    cache::via_cwd(h, &mut b).then(|| f(b.with_nul()))
}

/// The host path for the kernel, in place: in a cwd whose absolute path
/// the process cannot walk, a path into it by `/proc/thread-self/cwd`
/// ([`cache::via_cwd`]), so that `mkdir a` works there as it does
/// natively. The kernel gets that whole path, not the caller's relative
/// name (`m.rel`): that may be relative to a dirfd above the cwd.
#[inline(never)]
fn reach_hidden_cwd(m: &mut Mapped, out: &mut PathBuf) -> Result<(), Errno> {
    let mut b = PathBuf::new();
    if !cache::via_cwd(out.as_bytes(), &mut b) {
        return Ok(());
    }
    m.rel = 0;
    out.set(b.as_bytes())
}

/// How a hook uses its path: the row's declaration (see the hook table),
/// refined at run time by the call's flags.
#[derive(Clone, Copy)]
pub struct Op {
    pub class: u32,
    pub follow: bool,
    pub write: bool,
    /// What the call needs to find at its path, when its class does not
    /// say (O_CREAT|O_EXCL and fopen "x" need a new name; rename's and
    /// link's two paths differ): the write check answers as the kernel
    /// would when that is missing (see `ruletree::protect`).
    pub need: Option<Need>,
    /// `AT_EMPTY_PATH`: an empty path names the dirfd's own file, so a
    /// write to it is judged as a write through that fd ([`fd_write`]).
    pub empty_is_fd: bool,
}

use sb2_ruletree::class as C;
pub const STAT: Op = Op {
    class: C::STAT,
    follow: true,
    write: false,
    need: None,
    empty_is_fd: false,
};
pub const LSTAT: Op = Op {
    class: C::STAT,
    follow: false,
    write: false,
    need: None,
    empty_is_fd: false,
};
pub const READ: Op = Op {
    class: C::OPEN,
    follow: true,
    write: false,
    need: None,
    empty_is_fd: false,
};
pub const LREAD: Op = Op {
    class: C::OPEN,
    follow: false,
    write: false,
    need: None,
    empty_is_fd: false,
};
pub const DLOPEN: Op = Op {
    class: C::OPEN | C::DLOPEN,
    follow: true,
    write: false,
    need: None,
    empty_is_fd: false,
};

impl Op {
    /// The op of an `open` with these flags.
    pub fn open(flags: i32) -> Op {
        let acc = flags & libc::O_ACCMODE;
        // O_TMPFILE includes the O_DIRECTORY bit: test all of its bits.
        let tmpfile = flags & libc::O_TMPFILE == libc::O_TMPFILE;
        let write =
            acc != libc::O_RDONLY || flags & (libc::O_CREAT | libc::O_TRUNC) != 0 || tmpfile;
        let mut class = C::OPEN;
        if flags & libc::O_CREAT != 0 {
            class |= C::CREAT;
        }
        let excl = libc::O_CREAT | libc::O_EXCL;
        Op {
            class,
            // O_CREAT|O_EXCL never follows a final symlink (EEXIST).
            follow: flags & libc::O_NOFOLLOW == 0 && flags & excl != excl,
            write,
            need: (flags & excl == excl).then_some(Need::New),
            empty_is_fd: false,
        }
    }
    /// The op of an `fopen` with this mode string.
    pub fn fopen(mode: *const libc::c_char) -> Op {
        let mut b = PathBuf::new();
        let (write, create, excl) = match read_path(mode, &mut b) {
            Ok(()) => (
                b.as_bytes().iter().any(|c| matches!(c, b'w' | b'a' | b'+')),
                // "r+" writes but does not create (O_RDWR without O_CREAT).
                b.as_bytes().iter().any(|c| matches!(c, b'w' | b'a')),
                b.as_bytes().contains(&b'x'),
            ),
            Err(_) => (false, false, false),
        };
        Op {
            class: if create { C::OPEN | C::CREAT } else { C::OPEN },
            // "x" is O_EXCL: a final symlink is never followed (EEXIST).
            follow: !excl,
            write,
            need: (write && excl).then_some(Need::New),
            empty_is_fd: false,
        }
    }
    /// Follow the final symlink unless `flags` has `AT_SYMLINK_NOFOLLOW`;
    /// with `AT_EMPTY_PATH`, an empty path is the dirfd's file.
    pub fn at(self, flags: i32) -> Op {
        Op {
            follow: self.follow && flags & libc::AT_SYMLINK_NOFOLLOW == 0,
            empty_is_fd: flags & libc::AT_EMPTY_PATH != 0,
            ..self
        }
    }
    /// Follow the final symlink only if `flags` has `AT_SYMLINK_FOLLOW`.
    pub fn at_follow(self, flags: i32) -> Op {
        Op {
            follow: flags & libc::AT_SYMLINK_FOLLOW != 0,
            ..self
        }
    }
}

/// Resolves the caller's `p` (relative to `dirfd` if given) into `out`.
pub fn resolve<'a>(
    ctx: &Ctx<'a>,
    dirfd: Option<i32>,
    p: *const libc::c_char,
    op: Op,
    want_union: bool,
    vout: &mut PathBuf,
    out: &mut PathBuf,
) -> Result<Mapped<'a>, Errno> {
    let m = resolve_untraced(ctx, dirfd, p, op, want_union, vout, out)?;
    trace(op, vout, out);
    Ok(m)
}

/// The access trace (`--trace`): what the call does with the path.
#[inline]
pub fn trace(op: Op, v: &PathBuf, h: &PathBuf) {
    if !log::tracing() || op.class & C::CHECK != 0 {
        return;
    }
    let ev: &[u8] = if op.class & (C::CREAT | C::SYMLINK | C::MKNOD) != 0 {
        b"create"
    } else if op.class & C::REMOVE != 0 {
        b"remove"
    } else if op.class & C::RENAME != 0 {
        return; // map2_at traces the pair
    } else if op.write {
        b"write"
    } else if op.class & C::OPEN != 0 {
        b"read"
    } else {
        return;
    };
    log::trace_path(ev, v.as_bytes(), h.as_bytes());
}

/// Is this write refused (a read-only rule, or outside `--allow-write`,
/// decided by `ruletree::protect` in the kernel's order of checks)? Then
/// the errno it gets. A refusal is a violation, logged and recorded
/// (unless the call only asks, like access(W_OK)); a write that would
/// fail natively anyway (EEXIST, ENOENT, ENOTDIR) gets the kernel's errno
/// and is none.
#[inline]
fn refused(ctx: &Ctx, op: Op, m: &Mapped, v: &[u8], h: &[u8]) -> Option<Errno> {
    // Most calls only read: nothing to judge (the common path stays a
    // branch).
    if !op.write {
        return None;
    }
    answer(op, judge(ctx, op, m, v, h), m, v, h)
}

/// `ruletree::protect`'s verdict on `op` at this path.
fn judge<'a>(ctx: &Ctx, op: Op, m: &Mapped<'a>, v: &[u8], h: &[u8]) -> Verdict<'a> {
    let need = op.need.unwrap_or_else(|| Need::of_class(op.class));
    protect::judge(&Cached, &ctx.tree, m, v, h, op.write, need)
}

/// The errno a verdict gives the caller; a refusal is logged.
fn answer(op: Op, verdict: Verdict, m: &Mapped, v: &[u8], h: &[u8]) -> Option<Errno> {
    match verdict {
        Verdict::Allowed => None,
        Verdict::Native(e) => Some(e),
        Verdict::Refused { errno, .. } => {
            if op.class & C::CHECK == 0 {
                log::denied(v, h, errno, m.rule);
            }
            Some(errno)
        }
    }
}

/// A write the rules or `--allow-write` forbid (before the kernel's own
/// checks: the caller still asks [`refused`] for the verdict).
#[inline]
fn forbidden(ctx: &Ctx, op: Op, m: &Mapped, v: &[u8], h: &[u8]) -> bool {
    op.write && protect::forbidden(&ctx.tree, m, v, h)
}

pub fn resolve_untraced<'a>(
    ctx: &Ctx<'a>,
    dirfd: Option<i32>,
    p: *const libc::c_char,
    op: Op,
    want_union: bool,
    vout: &mut PathBuf,
    out: &mut PathBuf,
) -> Result<Mapped<'a>, Errno> {
    let mut vin = PathBuf::new();
    read_path(p, &mut vin)?;
    if vin.is_empty() {
        // "" names nothing (the kernel says ENOENT), or the dirfd itself
        // with AT_EMPTY_PATH: the operation on the fd, judged as such.
        vout.clear();
        out.clear();
        if op.write && op.empty_is_fd {
            fd_judged(ctx, dirfd.unwrap_or(libc::AT_FDCWD), op)?;
        }
        return Ok(Mapped::UNMAPPED);
    }
    let dirfd = match dirfd {
        Some(libc::AT_FDCWD) | None => None,
        Some(fd) => Some(fd),
    };
    let req = Req {
        dirfd,
        path: vin.as_bytes(),
        class: op.class,
        follow: op.follow,
        want_union,
    };
    let mut m = mapping::resolve(ctx, &Cached, &req, vout, out)?;
    if let Some(e) = refused(ctx, op, &m, vout.as_bytes(), out.as_bytes()) {
        return Err(e);
    }
    if log::enabled(LogLevel::Debug) {
        log::mapped(vout.as_bytes(), out.as_bytes(), m.rule);
    }
    if cache::cwd_hidden() {
        reach_hidden_cwd(&mut m, out)?;
    }
    Ok(m)
}

/// A write through an open file descriptor (fchmod, fchown, fsetxattr,
/// futimens, and `*at` calls on the dirfd itself): refused as the same
/// write by the file's path would be, so that opening a protected file
/// read-only is no way around write protection. Then calls `f`. (A
/// negative fd, AT_FDCWD with a NULL path too, is the kernel's EBADF or
/// EFAULT.)
#[inline]
pub fn fd_write<R>(fd: i32, op: Op, f: impl FnOnce() -> R) -> Result<R, Errno> {
    if op.write && fd >= 0 {
        fd_judged(&state::ctx()?, fd, op)?;
    }
    Ok(f())
}

/// The write check of [`fd_write`] (`AT_FDCWD`: the cwd). The kernel names
/// the fd's file (`/proc/self/fd/N`); its virtual path is the reverse
/// mapping, and its rule the one that maps that path back to this file
/// (none if nothing does: then only `--allow-write` judges, which looks
/// at the host path too). What the judge calls a native failure is none
/// here, since no path is walked: the file is no longer at its path
/// (unlinked, replaced), so no longer in a tree writes are kept out of.
/// An fd that is no file (pipe, socket) or not open is the real call's
/// to answer.
fn fd_judged(ctx: &Ctx, fd: i32, op: Op) -> Result<(), Errno> {
    let (mut h, mut v, mut back) = (PathBuf::new(), PathBuf::new(), PathBuf::new());
    let named = if fd == libc::AT_FDCWD {
        Sys.host_cwd(&mut h)
    } else {
        Sys.fd_path(fd, &mut h)
    };
    if named.is_err() {
        return Ok(());
    }
    if unmap(ctx, h.as_bytes(), op.class, &mut v).is_err() {
        v.set(h.as_bytes())?;
    }
    let m = match mapping::map_clean(ctx, &Cached, v.as_bytes(), op.class, false, &mut back) {
        Ok(m) if back.as_bytes() == h.as_bytes() => m,
        _ => Mapped::UNMAPPED,
    };
    let (v, h) = (v.as_bytes(), h.as_bytes());
    match judge(ctx, op, &m, v, h) {
        r @ Verdict::Refused { .. } => answer(op, r, &m, v, h).map_or(Ok(()), Err),
        _ => Ok(()),
    }
}

/// Maps `p` (relative to the cwd) and calls `f` with the host path.
#[inline]
pub fn map<R>(
    p: *const libc::c_char,
    op: Op,
    f: impl FnOnce(*const libc::c_char) -> R,
) -> Result<R, Errno> {
    map_at(libc::AT_FDCWD, p, op, f)
}

/// Maps `p` relative to `dirfd` and calls `f` with the (absolute) host path.
#[inline]
pub fn map_at<R>(
    dirfd: i32,
    p: *const libc::c_char,
    op: Op,
    f: impl FnOnce(*const libc::c_char) -> R,
) -> Result<R, Errno> {
    let ctx = state::ctx()?;
    let (mut v, mut h) = (PathBuf::new(), PathBuf::new());
    resolve(&ctx, Some(dirfd), p, op, false, &mut v, &mut h)?;
    Ok(f(h.as_ptr()))
}

/// `*at` call with `AT_SYMLINK_NOFOLLOW` / `AT_EMPTY_PATH` flags (an empty
/// path, naming the dirfd itself, is passed through by `resolve`).
#[inline]
pub fn map_at_or_fd<R>(
    dirfd: i32,
    p: *const libc::c_char,
    flags: i32,
    op: Op,
    f: impl FnOnce(*const libc::c_char) -> R,
) -> Result<R, Errno> {
    map_at(dirfd, p, op.at(flags), f)
}

/// Two paths (rename, link): both mapped.
#[inline]
pub fn map2_at<R>(
    d1: i32,
    p1: *const libc::c_char,
    d2: i32,
    p2: *const libc::c_char,
    op: Op,
    f: impl FnOnce(*const libc::c_char, *const libc::c_char) -> R,
) -> Result<R, Errno> {
    let ctx = state::ctx()?;
    let (mut v1, mut v2) = (PathBuf::new(), PathBuf::new());
    let (mut h1, mut h2) = (PathBuf::new(), PathBuf::new());
    // The first path must exist; rename may replace the second, link
    // makes it.
    let rename = op.class & C::RENAME != 0;
    let op1 = Op {
        need: Some(Need::Existing),
        ..op
    };
    let op2 = Op {
        follow: false,
        need: Some(if rename { Need::Any } else { Need::New }),
        ..op
    };
    // Both are mapped before either is judged: the kernel looks both up
    // (ENOENT, EEXIST) before it asks whether it may write.
    let unjudged = |o: Op| Op { write: false, ..o };
    let m1 = resolve_untraced(&ctx, Some(d1), p1, unjudged(op1), false, &mut v1, &mut h1)?;
    let m2 = resolve_untraced(&ctx, Some(d2), p2, unjudged(op2), false, &mut v2, &mut h2)?;
    let j1 = judge(&ctx, op1, &m1, v1.as_bytes(), h1.as_bytes());
    let j2 = judge(&ctx, op2, &m2, v2.as_bytes(), h2.as_bytes());
    for j in [j1, j2] {
        if let Verdict::Native(e) = j {
            return Err(e);
        }
    }
    if let Some(e) = answer(op1, j1, &m1, v1.as_bytes(), h1.as_bytes()) {
        return Err(e);
    }
    if let Some(e) = answer(op2, j2, &m2, v2.as_bytes(), h2.as_bytes()) {
        return Err(e);
    }
    if rename {
        log::trace_path(b"remove", v1.as_bytes(), h1.as_bytes());
        log::trace_path(b"create", v2.as_bytes(), h2.as_bytes());
    } else {
        trace(op1, &v1, &h1);
        trace(op2, &v2, &h2);
    }
    Ok(f(h1.as_ptr(), h2.as_ptr()))
}

#[inline]
pub fn map2<R>(
    p1: *const libc::c_char,
    p2: *const libc::c_char,
    op: Op,
    f: impl FnOnce(*const libc::c_char, *const libc::c_char) -> R,
) -> Result<R, Errno> {
    map2_at(libc::AT_FDCWD, p1, libc::AT_FDCWD, p2, op, f)
}

/// A path that libc accepts as NULL (meaning "no path"): passed through.
#[inline]
pub fn map_opt<R>(
    p: *const libc::c_char,
    op: Op,
    f: impl FnOnce(*const libc::c_char) -> R,
) -> Result<R, Errno> {
    if p.is_null() {
        return Ok(f(p));
    }
    map(p, op, f)
}

/// Host → virtual, into `out`.
pub fn unmap(ctx: &Ctx, hpath: &[u8], class: u32, out: &mut PathBuf) -> Result<(), Errno> {
    mapping::reverse(ctx, &Cached, hpath, class, out)
}

/// The path to give the kernel with the caller's dirfd: the caller's own
/// relative name when the mapping left it as it was (the kernel walks one
/// name instead of the whole absolute path again), else the host path
/// (absolute, so the dirfd is ignored; or empty, naming the dirfd).
#[inline]
pub fn kernel_path(m: &Mapped, h: &mut PathBuf) -> *const libc::c_char {
    let p = h.as_ptr();
    if m.rel != 0 && m.rel < h.len() {
        // SAFETY: rel < len: inside the NUL-terminated buffer.
        unsafe { p.add(m.rel) }
    } else {
        p
    }
}

/// Flattens a mapped call whose body can fail itself.
#[inline]
pub fn flat<R>(r: Result<Result<R, Errno>, Errno>) -> Result<R, Errno> {
    r.and_then(|x| x)
}

/// The open family, without an extra system call for the final component:
/// the real open is tried with `O_NOFOLLOW` on the path resolved up to its
/// last component; ELOOP means the last component is a symlink, which is
/// then resolved in the virtual view. (O_PATH opens a link itself with
/// O_NOFOLLOW, so it takes the plain route.)
#[inline]
pub fn open_at(
    d: i32,
    p: *const libc::c_char,
    flags: i32,
    real: impl Fn(*const libc::c_char, i32) -> i32,
) -> Result<i32, Errno> {
    let op = Op::open(flags);
    if flags & (libc::O_NOFOLLOW | libc::O_PATH) != 0 || op.need == Some(Need::New) {
        return map_at(d, p, op, |h| real(h, flags));
    }
    let ctx = state::ctx()?;
    let (mut v, mut h) = (PathBuf::new(), PathBuf::new());
    // Unfollowed, and with the read-only check left to us (below).
    let first = Op {
        follow: false,
        write: false,
        ..op
    };
    let m = resolve_untraced(&ctx, Some(d), p, first, false, &mut v, &mut h)?;
    // A read-only verdict on the unfollowed path may not be the target's:
    // then decide on the fully resolved path below.
    if !forbidden(&ctx, op, &m, v.as_bytes(), h.as_bytes()) {
        let fd = real(kernel_path(&m, &mut h), flags | libc::O_NOFOLLOW);
        // A final symlink: ELOOP, or ENOTDIR when O_DIRECTORY was asked.
        let e = errno();
        let link = e == libc::ELOOP || (e == libc::ENOTDIR && flags & libc::O_DIRECTORY != 0);
        if fd >= 0 || !link {
            // The link itself is not what is opened: traced only here.
            crate::ffi::hook::errno_kept(|| trace(op, &v, &h));
            return Ok(fd);
        }
    }
    // The refusal, if any, came out of resolve_untraced.
    let _ = resolve_untraced(&ctx, Some(d), p, op, false, &mut v, &mut h)?;
    trace(op, &v, &h);
    Ok(real(h.as_ptr(), flags))
}
