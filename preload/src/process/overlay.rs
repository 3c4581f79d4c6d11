//! The stat overlay: the one place a real stat result becomes the virtual
//! one (`sb2 -R`/`-U`: owners, modes and device nodes recorded in the
//! session's table). The stat hooks, the tree walkers (their callbacks get
//! glibc's internal stat results) and fts use it, and the owner and mode
//! hooks read a file's real metadata the same way, so it lives below the
//! families.

use super::vperm::{db, on, who};
use crate::ffi::hook::errno_kept;
use crate::ffi::sys;
use libc::{c_char, c_int, c_void};
use sb2_ruletree::vperm::{overlay, Db, Meta};
use sb2_ruletree::Errno;

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
    fn statx(self, mask: u32) -> Result<libc::statx, Errno> {
        sys::statx(self.dirfd, self.path, self.flags, mask)
    }
}

/// The file the kernel just described, asked again with statx for what a
/// `struct stat` lacks: the birth time (0 if the file system has none).
/// `None` if it is no longer the same inode. errno stays as the real call
/// left it.
fn birth(a: Again, ino: u64) -> Option<u64> {
    errno_kept(|| a.statx(libc::STATX_INO | libc::STATX_BTIME))
        .ok()
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
pub fn realtime_ns() -> u64 {
    let mut t = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: a valid timespec of ours to fill.
    unsafe { libc::clock_gettime(libc::CLOCK_REALTIME, &mut t) };
    ns(t.tv_sec, t.tv_nsec)
}

fn ns(sec: i64, nsec: i64) -> u64 {
    (sec as u64)
        .wrapping_mul(1_000_000_000)
        .wrapping_add(nsec as u64)
}

/// The table's header was damaged after this process checked it (or a
/// broken session kept the ids without the table): the real owners must
/// not show, so the call fails with EIO.
#[cold]
fn unusable_table() -> c_int {
    crate::ffi::hook::set_errno(libc::EIO);
    -1
}

/// A `struct stat` the kernel filled (r == 0) made virtual.
#[inline]
pub fn stat(r: c_int, buf: *mut c_void, again: Again) -> c_int {
    if r != 0 || !on() {
        return r;
    }
    let Some(db) = db() else {
        return unusable_table();
    };
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
    let Some(db) = db() else {
        return unusable_table();
    };
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

/// The real metadata of `again`'s file (with birth), or its errno.
pub fn meta(a: Again) -> Result<Meta, Errno> {
    a.statx(libc::STATX_BASIC_STATS | libc::STATX_BTIME)
        .map(|sx| stx_meta(&sx))
}
