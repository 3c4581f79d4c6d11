//! Virtual permissions' file hooks (`sb2 -R`, `-U`): chown and chmod are
//! recorded in the session's table instead of done (the real user could
//! not), mkdir keeps directories usable, mknod makes placeholders recorded
//! as devices, and the privileged xattr namespaces are kept as `user.sb2.*`.
//! Off, each is the real call.

use crate::ffi::cstr::take;
use crate::ffi::hook::{errno, restore_errno};
use crate::ffi::sys;
use crate::process::overlay::{meta, realtime_ns, Again};
use crate::process::vperm::{db, full, id, on, who, EUID, FSGID, FSUID};
use libc::{c_char, c_int, c_void, gid_t, uid_t};
use sb2_ruletree::mapping::PathBuf;
use sb2_ruletree::vperm::overlay;
use sb2_ruletree::Errno;

/// -1 ("leave as it is") as None.
fn opt(x: u32) -> Option<u32> {
    (x != u32::MAX).then_some(x)
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
    Ok(0)
}

/// chmod family: the real file keeps a mode its owner can use (root can
/// read, write and traverse anything), never set-id bits; the virtual mode
/// is recorded when it differs from the real one.
pub fn chmod(a: Again, mode: u32, real: impl FnOnce(u32) -> c_int) -> Result<c_int, Errno> {
    if !on() {
        return Ok(real(mode));
    }
    let db = db().ok_or(Errno::EIO)?;
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
        return Ok(0);
    }
    db.entry(&m).map_err(|_| full())?.set_perm(Some(want));
    // Virtual only, whatever the real chmod said.
    restore_errno();
    Ok(0)
}

/// mkdir family: root can use a directory whatever its mode (tar makes
/// them mode 0 and fills them), so the real one always has `u+rwx`; a
/// mode without them is recorded.
pub fn mkdir(
    host: *const c_char,
    mode: u32,
    real: impl FnOnce(u32) -> c_int,
) -> Result<c_int, Errno> {
    if !on() {
        return Ok(real(mode));
    }
    if mode & 0o700 == 0o700 {
        let r = real(mode);
        if r == 0 {
            created(Again::path(host, false))?;
        }
        return Ok(r);
    }
    let r = real(mode | 0o700);
    if r != 0 {
        return Ok(r);
    }
    let db = db().ok_or(Errno::EIO)?;
    let m = meta(Again::path(host, false))?;
    db.entry(&m)
        .map_err(|_| full())?
        .set_perm(Some(mode & 0o7777 & !sys::umask()));
    created(Again::path(host, false))?;
    Ok(0)
}

/// open with O_CREAT: a file it makes belongs to the virtual fs ids (see
/// [`created`]). Whether the name existed is asked first, only when those
/// ids are not the default owner's (a process that dropped root).
pub fn creating(
    dirfd: c_int,
    host: *const c_char,
    flags: c_int,
    real: impl FnOnce() -> c_int,
) -> c_int {
    if flags & libc::O_CREAT == 0 || !on() || !foreign_ids() {
        return real();
    }
    let existed =
        flags & libc::O_EXCL == 0 && sys::fstatat(dirfd, host, libc::AT_SYMLINK_NOFOLLOW).is_ok();
    let fd = real();
    if fd >= 0 && !existed {
        made(Again::fd(fd));
    }
    fd
}

/// mkstemp's family: the file it made belongs to the virtual fs ids, as
/// one open(O_CREAT) makes (glibc makes it below the hooks).
pub fn temp_fd(fd: c_int) -> c_int {
    if fd >= 0 {
        made(Again::fd(fd));
    }
    fd
}

/// mkdtemp: the same for the directory it made.
pub fn temp_dir(host: *const c_char, r: *mut c_char) -> *mut c_char {
    if !r.is_null() {
        made(Again::path(host, false));
    }
    r
}

/// [`created`], keeping the caller's errno (the call itself succeeded).
fn made(a: Again) {
    crate::ffi::hook::errno_kept(|| {
        let _ = created(a);
    });
}

/// Are the virtual fs ids other than the owner an unrecorded file shows?
fn foreign_ids() -> bool {
    db().is_some_and(|db| {
        let w = who(&db);
        (id(FSUID), id(FSGID)) != (w.unknown_uid, w.unknown_gid)
    })
}

/// A new file or directory belongs to the virtual fs ids that made it, as
/// the kernel would have it: recorded when those are not the owner an
/// unrecorded file shows (a process that dropped root to `_apt` makes
/// `_apt`'s files, and may chmod them).
pub fn created(a: Again) -> Result<(), Errno> {
    if !on() || !foreign_ids() {
        return Ok(());
    }
    let db = db().ok_or(Errno::EIO)?;
    let (u, g) = (id(FSUID), id(FSGID));
    let w = who(&db);
    let m = meta(a)?;
    let mut shown = m;
    overlay(db.lookup(&m), &w, &mut shown);
    db.entry(&m)
        .map_err(|_| full())?
        .set_owner(Some(u), Some(g), (shown.uid, shown.gid));
    Ok(())
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
    let flags = libc::O_CREAT | libc::O_EXCL | libc::O_WRONLY | libc::O_CLOEXEC | libc::O_NOFOLLOW;
    let fd = sys::open(host, flags, 0o600)?;
    let m = meta(Again::fd(fd.raw()))?;
    drop(fd);
    let um = sys::umask();
    let e = db.entry(&m).map_err(|_| full())?;
    e.set_dev(t, dev);
    e.set_perm(Some(mode & 0o7777 & !um));
    let (fu, fg) = (id(FSUID), id(FSGID));
    if (fu, fg) != db.unknown() {
        e.set_owner(Some(fu), Some(fg), (fu, fg));
    }
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
    crate::ffi::cstr::read_path(name, &mut n)?;
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
        crate::ffi::cstr::read_path(name, &mut n)?;
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
