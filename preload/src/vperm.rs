//! Virtual permissions in a process (`sb2 -R`, `-U`, DESIGN §8): the
//! process's virtual ids and the hook bodies of the id, owner, mode,
//! device-node, stat and privileged-xattr families.
//!
//! On only when the process inherited `SB2_VPERM` (the launcher sets it
//! for `-R`/`-U`; the exec pipeline passes the current ids on to every
//! child, also after `env -i`). File metadata lives in the session's shared
//! table ([`sb2_ruletree::vperm`]); [`stat`] and [`statx`] are the one place
//! a real stat result becomes the virtual one.
//!
//! Ids are eight atomics and a group list (no lock; inherited by fork and
//! shared with a vfork child, which is what vfork means). The real
//! set*id system calls are never made.

use crate::cstr::{give, take};
use crate::hook::{errno, set_errno};
use core::sync::atomic::{AtomicBool, AtomicPtr, AtomicU32, AtomicUsize, Ordering};
use libc::{c_char, c_int, c_void, gid_t, uid_t};
use sb2_ruletree::mapping::PathBuf;
use sb2_ruletree::vperm::{overlay, Db, Meta, Who};
use sb2_ruletree::Errno;

static ON: AtomicBool = AtomicBool::new(false);
static DB: AtomicPtr<u8> = AtomicPtr::new(core::ptr::null_mut());
static DB_LEN: AtomicUsize = AtomicUsize::new(0);
/// ruid euid suid fsuid rgid egid sgid fsgid.
static IDS: [AtomicU32; 8] = [const { AtomicU32::new(0) }; 8];
const MAX_GROUPS: usize = 64;
static NGROUPS: AtomicUsize = AtomicUsize::new(0);
static GROUPS: [AtomicU32; MAX_GROUPS] = [const { AtomicU32::new(0) }; MAX_GROUPS];
static REAL_UID: AtomicU32 = AtomicU32::new(0);
static REAL_GID: AtomicU32 = AtomicU32::new(0);
/// The `SB2_VPERM` value this process started with (see [`env_entry`]).
static INITIAL: AtomicPtr<u8> = AtomicPtr::new(core::ptr::null_mut());
static INITIAL_LEN: AtomicUsize = AtomicUsize::new(0);

const RUID: usize = 0;
const EUID: usize = 1;
const FSUID: usize = 3;
const GID0: usize = 4;

/// Parses `SB2_VPERM` into the id atomics; false if absent or malformed.
fn parse_ids(v: &[u8]) -> bool {
    let mut parts = v.split(|c| *c == b':');
    for slot in IDS.iter() {
        match parts.next().and_then(num) {
            Some(n) => slot.store(n, Ordering::Relaxed),
            None => return false,
        }
    }
    let mut n = 0;
    if let Some(gs) = parts.next() {
        for g in gs.split(|c| *c == b',').filter(|g| !g.is_empty()) {
            match num(g) {
                Some(x) if n < MAX_GROUPS => {
                    GROUPS[n].store(x, Ordering::Relaxed);
                    n += 1;
                }
                _ => return false,
            }
        }
    }
    NGROUPS.store(n, Ordering::Relaxed);
    true
}

fn num(s: &[u8]) -> Option<u32> {
    if s.is_empty() || s.len() > 10 {
        return None;
    }
    let mut n: u64 = 0;
    for c in s {
        if !c.is_ascii_digit() {
            return None;
        }
        n = n * 10 + (c - b'0') as u64;
    }
    u32::try_from(n).ok()
}

/// The ids a target process's user namespace should show (euid, egid), if
/// virtual permissions are on (read from the environment: this runs in
/// qemu's constructor, before any session state).
pub fn namespace_ids() -> Option<(u32, u32)> {
    let v = crate::state::env(sb2_ruletree::vperm::IDS_VAR)?;
    let mut ids = [0u32; 8];
    for (slot, part) in ids.iter_mut().zip(v.split(|c| *c == b':')) {
        *slot = num(part)?;
    }
    Some((ids[EUID], ids[GID0 + 1]))
}

/// Turns virtual permissions on if this process inherited `SB2_VPERM` and
/// the session has a table. Called once from `state::init`.
pub fn init(session_dir: &[u8]) {
    let Some(v) = crate::state::env(sb2_ruletree::vperm::IDS_VAR) else {
        return;
    };
    if !parse_ids(v) {
        crate::state::say(&[b"sb2: malformed SB2_VPERM; virtual permissions are off\n"]);
        return;
    }
    let mut p = PathBuf::new();
    if p.set(session_dir)
        .and_then(|_| p.push(b"/vperm.db"))
        .is_err()
    {
        return;
    }
    let Some((m, len)) = crate::state::map_shared(p.as_ptr(), None) else {
        return;
    };
    // SAFETY: our fresh mapping of len bytes, kept for the process's life
    // (unmapped at once if it is not a table); raw id syscalls.
    unsafe {
        if Db::from_raw(m, len).is_none() {
            libc::syscall(libc::SYS_munmap, m, len);
            return;
        }
        DB_LEN.store(len, Ordering::Relaxed);
        DB.store(m, Ordering::Release);
        REAL_UID.store(libc::syscall(libc::SYS_getuid) as u32, Ordering::Relaxed);
        REAL_GID.store(libc::syscall(libc::SYS_getgid) as u32, Ordering::Relaxed);
    }
    INITIAL.store(v.as_ptr() as *mut u8, Ordering::Relaxed);
    INITIAL_LEN.store(v.len(), Ordering::Relaxed);
    ON.store(true, Ordering::Release);
}

#[inline]
pub fn on() -> bool {
    ON.load(Ordering::Acquire)
}

/// Simulated euid 0: `readonly_fs_if_not_root` rules are writable.
#[inline]
pub fn is_root() -> bool {
    on() && IDS[EUID].load(Ordering::Relaxed) == 0
}

fn db() -> Option<Db<'static>> {
    let p = DB.load(Ordering::Acquire);
    // SAFETY: set once in init() to a live shared mapping validated there.
    unsafe { Db::from_raw(p, DB_LEN.load(Ordering::Relaxed)) }
}

fn who(db: &Db) -> Who {
    let (uu, ug) = db.unknown();
    Who {
        real_uid: REAL_UID.load(Ordering::Relaxed),
        real_gid: REAL_GID.load(Ordering::Relaxed),
        unknown_uid: uu,
        unknown_gid: ug,
    }
}

fn id(i: usize) -> u32 {
    IDS[i].load(Ordering::Relaxed)
}

// ---------------------------------------------------------------- ids

/// get*id: the virtual id `i`, or the real call when off.
#[inline]
pub fn get(i: usize, real: impl FnOnce() -> u32) -> Result<u32, Errno> {
    Ok(if on() { id(i) } else { real() })
}
pub const R: usize = RUID;
pub const E: usize = EUID;
pub const G: usize = GID0;
pub const EG: usize = GID0 + 1;

/// getresuid/getresgid (`base` 0 or 4).
pub fn getres(
    base: usize,
    r: *mut u32,
    e: *mut u32,
    s: *mut u32,
    real: impl FnOnce() -> c_int,
) -> Result<c_int, Errno> {
    if !on() {
        return Ok(real());
    }
    for (p, i) in [(r, base), (e, base + 1), (s, base + 2)] {
        give(p as *mut c_void, &id(i).to_ne_bytes())?;
    }
    Ok(0)
}

pub fn getgroups(
    size: c_int,
    list: *mut gid_t,
    real: impl FnOnce() -> c_int,
) -> Result<c_int, Errno> {
    if !on() {
        return Ok(real());
    }
    let n = NGROUPS.load(Ordering::Relaxed);
    if size == 0 {
        return Ok(n as c_int);
    }
    if (size as usize) < n || size < 0 {
        return Err(Errno::EINVAL);
    }
    let mut buf = [0u8; 4 * MAX_GROUPS];
    for i in 0..n {
        buf[4 * i..4 * i + 4].copy_from_slice(&GROUPS[i].load(Ordering::Relaxed).to_ne_bytes());
    }
    give(list as *mut c_void, &buf[..4 * n])?;
    Ok(n as c_int)
}

pub fn setgroups(
    n: usize,
    list: *const gid_t,
    real: impl FnOnce() -> c_int,
) -> Result<c_int, Errno> {
    if !on() {
        return Ok(real());
    }
    if id(EUID) != 0 {
        return Err(Errno(libc::EPERM));
    }
    if n > MAX_GROUPS {
        return Err(Errno::EINVAL);
    }
    let mut buf = [0u8; 4 * MAX_GROUPS];
    take(&mut buf[..4 * n], list as *const c_void)?;
    for i in 0..n {
        let g = u32::from_ne_bytes([buf[4 * i], buf[4 * i + 1], buf[4 * i + 2], buf[4 * i + 3]]);
        GROUPS[i].store(g, Ordering::Relaxed);
    }
    NGROUPS.store(n, Ordering::Relaxed);
    Ok(0)
}

/// initgroups: the user's groups from NSS, as root may set them.
pub fn initgroups(
    user: *const c_char,
    group: gid_t,
    real: impl FnOnce() -> c_int,
) -> Result<c_int, Errno> {
    if !on() {
        return Ok(real());
    }
    if id(EUID) != 0 {
        return Err(Errno(libc::EPERM));
    }
    let mut list = [0 as gid_t; MAX_GROUPS];
    let mut n = MAX_GROUPS as c_int;
    // SAFETY: our buffer and its size; user is the caller's string.
    let r = unsafe { libc::getgrouplist(user, group, list.as_mut_ptr(), &mut n) };
    let n = if r < 0 { MAX_GROUPS } else { n as usize };
    setgroups(n, list.as_ptr(), || 0)
}

/// The set*id family, `base` 0 (uid) or 4 (gid), with POSIX's rules
/// against the virtual ids (virtual euid 0 is privileged). `None` leaves
/// an id as it is.
pub fn setres(
    base: usize,
    r: Option<u32>,
    e: Option<u32>,
    s: Option<u32>,
    real: impl FnOnce() -> c_int,
) -> Result<c_int, Errno> {
    if !on() {
        return Ok(real());
    }
    let cur = [id(base), id(base + 1), id(base + 2)];
    if id(EUID) != 0 {
        for x in [r, e, s].into_iter().flatten() {
            if !cur.contains(&x) {
                return Err(Errno(libc::EPERM));
            }
        }
    }
    for (i, x) in [r, e, s].into_iter().enumerate() {
        if let Some(x) = x {
            IDS[base + i].store(x, Ordering::Relaxed);
        }
    }
    IDS[base + 3].store(id(base + 1), Ordering::Relaxed);
    Ok(0)
}

fn opt(x: u32) -> Option<u32> {
    (x != u32::MAX).then_some(x)
}

/// setuid/setgid: privileged sets all three, else only the effective one
/// (to the real or saved id).
pub fn set1(base: usize, x: u32, real: impl FnOnce() -> c_int) -> Result<c_int, Errno> {
    if on() && id(EUID) == 0 {
        return setres(base, Some(x), Some(x), Some(x), real);
    }
    if on() && x != id(base) && x != id(base + 2) {
        return Err(Errno(libc::EPERM));
    }
    setres(base, None, Some(x), None, real)
}

/// seteuid/setegid.
pub fn sete(base: usize, x: u32, real: impl FnOnce() -> c_int) -> Result<c_int, Errno> {
    if x == u32::MAX {
        return Err(Errno::EINVAL);
    }
    setres(base, None, Some(x), None, real)
}

/// setreuid/setregid: the saved id follows a changed effective one.
pub fn setre(base: usize, r: u32, e: u32, real: impl FnOnce() -> c_int) -> Result<c_int, Errno> {
    if !on() {
        return Ok(real());
    }
    let (r, e) = (opt(r), opt(e));
    let s = if r.is_some() || e.is_some_and(|e| e != id(base)) {
        Some(e.unwrap_or(id(base + 1)))
    } else {
        None
    };
    setres(base, r, e, s, real)
}

pub fn setres3(
    base: usize,
    r: u32,
    e: u32,
    s: u32,
    real: impl FnOnce() -> c_int,
) -> Result<c_int, Errno> {
    setres(base, opt(r), opt(e), opt(s), real)
}

/// setfsuid/setfsgid: return the previous value, never fail.
pub fn setfs(base: usize, x: u32, real: impl FnOnce() -> c_int) -> Result<c_int, Errno> {
    if !on() {
        return Ok(real());
    }
    let old = id(base + 3);
    let allowed = id(EUID) == 0 || [id(base), id(base + 1), id(base + 2), old].contains(&x);
    if allowed && x != u32::MAX {
        IDS[base + 3].store(x, Ordering::Relaxed);
    }
    Ok(old as c_int)
}

/// capset: the virtual root may set what it likes (setcap's own check).
pub fn capset(real: impl FnOnce() -> c_int) -> Result<c_int, Errno> {
    if on() && id(EUID) == 0 {
        return Ok(0);
    }
    Ok(real())
}

/// `SB2_VPERM=<current ids>` for a child's environment, into `out`; false
/// when off. A value the program put in the environment itself (differing
/// from the one this process started with: sb2-fakeroot) is kept.
pub fn env_entry(envp_value: Option<&[u8]>, out: &mut [u8; 512]) -> Option<usize> {
    if !on() {
        return None;
    }
    if let Some(v) = envp_value {
        let p = INITIAL.load(Ordering::Relaxed);
        // SAFETY: points into the environ string we started with.
        let initial =
            unsafe { core::slice::from_raw_parts(p, INITIAL_LEN.load(Ordering::Relaxed)) };
        if v != initial {
            return None;
        }
    }
    let mut w = 0;
    let mut put = |b: &[u8], w: &mut usize| {
        let end = (*w + b.len()).min(out.len());
        out[*w..end].copy_from_slice(&b[..end - *w]);
        *w = end;
    };
    put(sb2_ruletree::vperm::IDS_VAR, &mut w);
    put(b"=", &mut w);
    for (i, x) in IDS.iter().enumerate() {
        if i > 0 {
            put(b":", &mut w);
        }
        put(dec(x.load(Ordering::Relaxed), &mut [0; 10]), &mut w);
    }
    put(b":", &mut w);
    for (i, g) in GROUPS
        .iter()
        .take(NGROUPS.load(Ordering::Relaxed))
        .enumerate()
    {
        if i > 0 {
            put(b",", &mut w);
        }
        put(dec(g.load(Ordering::Relaxed), &mut [0; 10]), &mut w);
    }
    Some(w)
}

fn dec(mut x: u32, buf: &mut [u8; 10]) -> &[u8] {
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (x % 10) as u8;
        x /= 10;
        if x == 0 {
            return &buf[i..];
        }
    }
}

// ---------------------------------------------------------------- stat

/// One raw statx (never our own hook).
fn raw_statx(a: Again, mask: u32) -> Result<libc::statx, Errno> {
    // SAFETY: our statx buffer; a.path is NUL-terminated (ours or "").
    unsafe {
        let mut sx: libc::statx = core::mem::zeroed();
        if libc::syscall(libc::SYS_statx, a.dirfd, a.path, a.flags, mask, &mut sx) != 0 {
            return Err(Errno(errno()));
        }
        Ok(sx)
    }
}

/// The file the kernel just described, asked again with statx for what a
/// `struct stat` lacks: the birth time (0 if the file system has none).
/// `None` if it is no longer the same inode.
fn birth(a: Again, ino: u64) -> Option<u64> {
    let saved = errno();
    let r = raw_statx(a, libc::STATX_INO | libc::STATX_BTIME);
    set_errno(saved);
    r.ok()
        .filter(|sx| sx.stx_ino == ino)
        .map(|sx| stx_birth(&sx))
}

/// A statx result as [`Meta`].
fn stx_meta(sx: &libc::statx) -> Meta {
    use sb2_ruletree::vperm::makedev;
    Meta {
        dev: makedev(sx.stx_dev_major, sx.stx_dev_minor),
        ino: sx.stx_ino,
        uid: sx.stx_uid,
        gid: sx.stx_gid,
        mode: sx.stx_mode as u32,
        rdev: makedev(sx.stx_rdev_major, sx.stx_rdev_minor),
        birth: stx_birth(sx),
        ctime: if sx.stx_mask & libc::STATX_CTIME != 0 {
            ns(sx.stx_ctime.tv_sec, sx.stx_ctime.tv_nsec as i64)
        } else {
            0
        },
    }
}

fn stx_birth(sx: &libc::statx) -> u64 {
    if sx.stx_mask & libc::STATX_BTIME == 0 {
        return 0;
    }
    ns(sx.stx_btime.tv_sec, sx.stx_btime.tv_nsec as i64)
}

/// The virtual view of `m` (whose birth is fetched only if a record may
/// apply and the slot cannot vouch for the inode by its ctime).
fn view(db: &Db, m: &mut Meta, birth_of: impl FnOnce() -> Option<u64>) {
    let rec = match db.find(m.dev, m.ino) {
        None => None,
        Some(e) => match e.read_seen(m) {
            Some(rec) => rec,
            None => {
                let checked_at = realtime_ns();
                match birth_of() {
                    Some(b) => {
                        m.birth = b;
                        let rec = e.read(m);
                        if rec.is_some() {
                            e.note_seen(m, checked_at);
                        }
                        rec
                    }
                    None => None,
                }
            }
        },
    };
    overlay(rec, &who(db), m);
}

/// The real time in ns (vDSO: no system call).
fn realtime_ns() -> u64 {
    // SAFETY: a valid timespec to fill.
    unsafe {
        let mut t: libc::timespec = core::mem::zeroed();
        libc::clock_gettime(libc::CLOCK_REALTIME, &mut t);
        ns(t.tv_sec, t.tv_nsec)
    }
}

fn ns(sec: i64, nsec: i64) -> u64 {
    (sec as u64)
        .wrapping_mul(1_000_000_000)
        .wrapping_add(nsec as u64)
}

/// How to ask the kernel again about the file a stat call described.
#[derive(Clone, Copy)]
pub struct Again {
    pub dirfd: c_int,
    pub path: *const c_char,
    pub flags: c_int,
}

impl Again {
    pub fn fd(fd: c_int) -> Again {
        Again {
            dirfd: fd,
            path: c"".as_ptr(),
            flags: libc::AT_EMPTY_PATH,
        }
    }
    /// An `*at` call's target: the dirfd itself when the mapped path is
    /// empty (`AT_EMPTY_PATH`), else the host path (absolute, or relative
    /// to `dirfd`).
    pub fn at(dirfd: c_int, host: *const c_char, flags: c_int) -> Again {
        // SAFETY: host is our NUL-terminated buffer.
        if unsafe { *host } == 0 {
            return Again::fd(dirfd);
        }
        Again {
            dirfd,
            path: host,
            flags: flags & libc::AT_SYMLINK_NOFOLLOW,
        }
    }
    pub fn path(path: *const c_char, follow: bool) -> Again {
        Again {
            dirfd: libc::AT_FDCWD,
            path,
            flags: if follow { 0 } else { libc::AT_SYMLINK_NOFOLLOW },
        }
    }
}

/// A `struct stat` the kernel filled (r == 0) made virtual.
#[inline]
pub fn stat(r: c_int, buf: *mut c_void, again: Again) -> c_int {
    if r != 0 || !on() {
        return r;
    }
    let Some(db) = db() else { return r };
    // SAFETY: the kernel just wrote this buffer: it is a valid struct stat.
    let st = unsafe { &mut *(buf as *mut libc::stat) };
    let mut m = Meta {
        dev: st.st_dev,
        ino: st.st_ino,
        uid: st.st_uid,
        gid: st.st_gid,
        mode: st.st_mode,
        rdev: st.st_rdev,
        birth: 0,
        ctime: ns(st.st_ctime, st.st_ctime_nsec),
    };
    let flags = if st.st_mode & libc::S_IFMT == libc::S_IFLNK {
        again.flags | libc::AT_SYMLINK_NOFOLLOW
    } else {
        again.flags
    };
    let (ino, again) = (m.ino, Again { flags, ..again });
    view(&db, &mut m, || birth(again, ino));
    st.st_uid = m.uid;
    st.st_gid = m.gid;
    st.st_mode = m.mode;
    st.st_rdev = m.rdev;
    r
}

/// A `struct statx` the kernel filled made virtual. (Our statx asks for
/// the birth time too, so no second call is needed when it is there.)
#[inline]
pub fn statx(r: c_int, buf: *mut c_void, again: Again) -> c_int {
    if r != 0 || !on() {
        return r;
    }
    let Some(db) = db() else { return r };
    // SAFETY: the kernel just wrote this buffer.
    let sx = unsafe { &mut *(buf as *mut libc::statx) };
    let mut m = stx_meta(sx);
    let (have, b, ino) = (sx.stx_mask & libc::STATX_BTIME != 0, m.birth, m.ino);
    view(
        &db,
        &mut m,
        || if have { Some(b) } else { birth(again, ino) },
    );
    sx.stx_uid = m.uid;
    sx.stx_gid = m.gid;
    sx.stx_mode = m.mode as u16;
    sx.stx_rdev_major = sb2_ruletree::vperm::major(m.rdev);
    sx.stx_rdev_minor = sb2_ruletree::vperm::minor(m.rdev);
    r
}

/// statx mask addition: ask for the birth time (and the ctime that can
/// vouch for it next time) as well.
pub fn statx_mask(mask: u32) -> u32 {
    if on() {
        mask | libc::STATX_BTIME | libc::STATX_INO | libc::STATX_CTIME
    } else {
        mask
    }
}

// -------------------------------------------------------- owner and mode

/// The real metadata of `again`'s file (with birth), or its errno.
fn meta(a: Again) -> Result<Meta, Errno> {
    raw_statx(a, libc::STATX_BASIC_STATS | libc::STATX_BTIME).map(|sx| stx_meta(&sx))
}

/// chown family: recorded, never done for real (the real user could not,
/// and root's chown of its own file changes nothing a later stat shows).
pub fn chown(
    a: Again,
    uid: uid_t,
    gid: gid_t,
    real: impl FnOnce() -> c_int,
) -> Result<c_int, Errno> {
    if !on() {
        return Ok(real());
    }
    let db = db().ok_or(Errno::EIO)?;
    let saved = errno();
    let checked_at = realtime_ns();
    let real_m = meta(a)?;
    let mut shown = real_m;
    let rec = db.lookup(&real_m);
    overlay(rec, &who(&db), &mut shown);
    let euid = id(EUID);
    if euid != 0 && (shown.uid != euid || (uid != u32::MAX && uid != euid)) {
        return Err(Errno(libc::EPERM));
    }
    let (nu, ng) = (opt(uid).unwrap_or(shown.uid), opt(gid).unwrap_or(shown.gid));
    let mut plain = real_m;
    overlay(None, &who(&db), &mut plain);
    let dir = real_m.mode & libc::S_IFMT == libc::S_IFDIR;
    let setid = rec
        .and_then(|r| r.perm)
        .is_some_and(|p| p & (libc::S_ISUID | libc::S_ISGID) != 0);
    if rec.is_none() && (nu, ng) == (plain.uid, plain.gid) {
        set_errno(saved);
        return Ok(0);
    }
    let e = db.entry(&real_m).map_err(|_| full())?;
    // The real file is untouched: its ctime can vouch for it from now on.
    e.note_seen(&real_m, checked_at);
    if (nu, ng) == (plain.uid, plain.gid) {
        e.clear_owner();
    } else {
        e.set_owner(Some(nu), Some(ng), (shown.uid, shown.gid));
    }
    if !dir && setid {
        // As the kernel does, for root too: a chown drops set-user-ID, and
        // set-group-ID of a group-executable file.
        let p = rec.and_then(|r| r.perm).unwrap_or(0);
        let g = if p & libc::S_IXGRP != 0 {
            libc::S_ISGID
        } else {
            0
        };
        e.clear_setid(libc::S_ISUID | g);
    }
    set_errno(saved);
    Ok(0)
}

fn full() -> Errno {
    crate::state::say(&[b"sb2: the virtual permission table is full; ownership not recorded\n"]);
    Errno(libc::ENOSPC)
}

/// chmod family: the real file keeps a mode its owner can use (root can
/// read, write and traverse anything), never set-id bits; the virtual mode
/// is recorded when it differs from the real one.
pub fn chmod(a: Again, mode: u32, real: impl FnOnce(u32) -> c_int) -> Result<c_int, Errno> {
    if !on() {
        return Ok(real(mode));
    }
    let db = db().ok_or(Errno::EIO)?;
    let saved = errno();
    let m = meta(a)?;
    if m.mode & libc::S_IFMT == libc::S_IFLNK {
        return Ok(real(mode)); // lchmod: the kernel says EOPNOTSUPP
    }
    let rec = db.lookup(&m);
    let want = mode & 0o7777;
    if rec.is_some_and(|r| r.dev.is_some()) {
        db.entry(&m).map_err(|_| full())?.set_perm(Some(want));
        return Ok(0);
    }
    let mut shown = m;
    overlay(rec, &who(&db), &mut shown);
    let euid = id(EUID);
    if euid != 0 && shown.uid != euid {
        return Err(Errno(libc::EPERM));
    }
    let dir = m.mode & libc::S_IFMT == libc::S_IFDIR;
    let usable = libc::S_IRUSR | libc::S_IWUSR | if dir { libc::S_IXUSR } else { 0 };
    let real_mode = (want & 0o1777) | usable;
    if real(real_mode) != 0 {
        let e = errno();
        // Not the real user's file: root could, so it is virtual only.
        if e != libc::EPERM {
            return Err(Errno(e));
        }
    } else if want == real_mode {
        if rec.is_some_and(|r| r.perm.is_some()) {
            db.entry(&m).map_err(|_| full())?.set_perm(None);
        }
        set_errno(saved);
        return Ok(0);
    }
    db.entry(&m).map_err(|_| full())?.set_perm(Some(want));
    set_errno(saved);
    Ok(0)
}

fn umask() -> u32 {
    // SAFETY: umask cannot fail; set back at once (another thread could
    // see 0 in between, as with any umask query).
    unsafe {
        let u = libc::syscall(libc::SYS_umask, 0) as u32;
        libc::syscall(libc::SYS_umask, u);
        u
    }
}

/// mkdir family: root can use a directory whatever its mode (tar makes
/// them mode 0 and fills them), so the real one always has `u+rwx`; a
/// mode without them is recorded.
pub fn mkdir(
    host: *const c_char,
    mode: u32,
    real: impl FnOnce(u32) -> c_int,
) -> Result<c_int, Errno> {
    if !on() || mode & 0o700 == 0o700 {
        return Ok(real(mode));
    }
    let r = real(mode | 0o700);
    if r != 0 {
        return Ok(r);
    }
    let saved = errno();
    let db = db().ok_or(Errno::EIO)?;
    let m = meta(Again::path(host, false))?;
    db.entry(&m)
        .map_err(|_| full())?
        .set_perm(Some(mode & 0o7777 & !umask()));
    set_errno(saved);
    Ok(0)
}

/// mknod family: character and block devices become an empty placeholder
/// file recorded with the device's type and number (root's mknod works;
/// ours makes something tar and dpkg-deb archive as that device). Other
/// types are made for real.
pub fn mknod(
    host: *const c_char,
    mode: u32,
    dev: u64,
    real: impl FnOnce() -> c_int,
) -> Result<c_int, Errno> {
    let t = mode & libc::S_IFMT;
    if !on() || (t != libc::S_IFCHR && t != libc::S_IFBLK) || id(EUID) != 0 {
        return Ok(real());
    }
    let db = db().ok_or(Errno::EIO)?;
    let saved = errno();
    // SAFETY: raw syscalls on our NUL-terminated host path.
    let fd = unsafe {
        libc::syscall(
            libc::SYS_openat,
            libc::AT_FDCWD,
            host,
            libc::O_CREAT | libc::O_EXCL | libc::O_WRONLY | libc::O_CLOEXEC | libc::O_NOFOLLOW,
            0o600,
        )
    } as c_int;
    if fd < 0 {
        return Err(Errno(errno()));
    }
    let m = meta(Again::fd(fd));
    // SAFETY: our fd.
    unsafe { libc::syscall(libc::SYS_close, fd) };
    let m = m?;
    let um = umask();
    let e = db.entry(&m).map_err(|_| full())?;
    e.set_dev(t, dev);
    e.set_perm(Some(mode & 0o7777 & !um));
    let (fu, fg) = (id(FSUID), id(GID0 + 3));
    if (fu, fg) != db.unknown() {
        e.set_owner(Some(fu), Some(fg), (fu, fg));
    }
    set_errno(saved);
    Ok(0)
}

/// `__xmknod`: the device number comes by pointer.
pub fn xmknod(
    host: *const c_char,
    mode: u32,
    dev: *const u64,
    real: impl FnOnce() -> c_int,
) -> Result<c_int, Errno> {
    let t = mode & libc::S_IFMT;
    if !on() || (t != libc::S_IFCHR && t != libc::S_IFBLK) {
        return Ok(real());
    }
    let mut b = [0u8; 8];
    take(&mut b, dev as *const c_void)?;
    mknod(host, mode, u64::from_ne_bytes(b), real)
}

// ---------------------------------------------------------------- xattr

/// The namespaces only root may write: kept virtual as `user.sb2.NAME`
/// on the same file (it follows the inode, across sessions too).
fn privileged(name: &[u8]) -> bool {
    name.starts_with(b"security.") || name.starts_with(b"trusted.")
}
const VPREFIX: &[u8] = b"user.sb2.";

/// Calls `f` with the name a privileged xattr is stored under. With
/// `fallback`, an ENODATA for the virtual name retries the real one (a
/// real SELinux label, say).
pub fn xattr<R: Copy + PartialEq + From<i8>>(
    name: *const c_char,
    fallback: bool,
    mut f: impl FnMut(*const c_char) -> R,
) -> Result<R, Errno> {
    if !on() {
        return Ok(f(name));
    }
    let mut n = PathBuf::new();
    crate::cstr::read_path(name, &mut n)?;
    if !privileged(n.as_bytes()) {
        return Ok(f(name));
    }
    let mut v = PathBuf::new();
    v.set(VPREFIX)?;
    v.push(n.as_bytes())?;
    let r = f(v.as_ptr());
    if fallback && r == R::from(-1) && errno() == libc::ENODATA {
        return Ok(f(name));
    }
    Ok(r)
}

/// Writing a privileged xattr needs the virtual root.
pub fn xattr_set(
    name: *const c_char,
    f: impl FnMut(*const c_char) -> c_int,
) -> Result<c_int, Errno> {
    if on() && id(EUID) != 0 {
        let mut n = PathBuf::new();
        crate::cstr::read_path(name, &mut n)?;
        if privileged(n.as_bytes()) {
            return Err(Errno(libc::EPERM));
        }
    }
    xattr(name, false, f)
}

/// listxattr family: `user.sb2.NAME` entries are listed as `NAME`.
pub fn xattr_list(list: *mut c_char, r: isize) -> Result<isize, Errno> {
    if !on() || r <= 0 || list.is_null() {
        return Ok(r);
    }
    // SAFETY: the kernel just wrote r bytes there.
    let buf = unsafe { core::slice::from_raw_parts_mut(list as *mut u8, r as usize) };
    let (mut rd, mut wr) = (0, 0);
    while rd < buf.len() {
        let end = buf[rd..]
            .iter()
            .position(|c| *c == 0)
            .map_or(buf.len(), |z| rd + z + 1);
        let skip = if buf[rd..end].starts_with(VPREFIX) {
            VPREFIX.len()
        } else {
            0
        };
        let n = end - rd - skip;
        buf.copy_within(rd + skip..end, wr);
        wr += n;
        rd = end;
    }
    Ok(wr as isize)
}
