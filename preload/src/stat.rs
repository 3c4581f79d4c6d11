//! The stat family: `stat`, `fstatat`, `statx`... without an extra system
//! call for the final component, and every result made virtual by the
//! stat overlay (`process::overlay`, re-exported here for the table).

use crate::ffi::hook::calling_real;
use crate::ffi::sys;
use crate::path::{kernel_path, resolve, LSTAT, STAT};
use crate::process::state;
use libc::{c_char, c_int, c_void};
use sb2_ruletree::mapping::PathBuf;
use sb2_ruletree::Errno;

pub use crate::process::overlay::{stat as overlay, statx as overlay_x, statx_mask, Again};

/// The stat family, without an extra system call for the final component:
/// the path is resolved up to its last component, the kernel is asked with
/// `AT_SYMLINK_NOFOLLOW` into the caller's buffer, and only if that finds a
/// symlink (which must be followed in the virtual view) is the path resolved
/// fully and the real function called. `stat`, `stat64` and `__xstat(1)`
/// share the kernel's `struct stat` layout on 64-bit Linux.
#[inline]
pub fn stat_at(
    d: c_int,
    p: *const c_char,
    flags: c_int,
    buf: *mut c_void,
    real: impl FnOnce(*const c_char) -> c_int,
) -> Result<c_int, Errno> {
    follow_last_lazily(
        d,
        p,
        flags,
        real,
        |kd, h, fl| {
            let r = sys::fstatat_into(kd, h, buf, fl);
            // SAFETY: read only on success, when the kernel filled in the
            // buffer (a bad buffer pointer gives EFAULT and is never read).
            let link = r == 0
                && unsafe { (*(buf as *const libc::stat)).st_mode } & libc::S_IFMT == libc::S_IFLNK;
            (r, link)
        },
        |r, again| overlay(r, buf, again),
    )
}

/// statx, like [`stat_at`].
#[inline]
pub fn statx_at(
    d: c_int,
    p: *const c_char,
    flags: c_int,
    mask: u32,
    buf: *mut c_void,
    real: impl FnOnce(*const c_char) -> c_int,
) -> Result<c_int, Errno> {
    follow_last_lazily(
        d,
        p,
        flags,
        real,
        |kd, h, fl| {
            let m = statx_mask(mask | libc::STATX_TYPE);
            let r = sys::statx_into(kd, h, fl, m, buf);
            // SAFETY: read only on success, as in stat_at.
            let link = r == 0
                && (unsafe { (*(buf as *const libc::statx)).stx_mode } as u32) & libc::S_IFMT
                    == libc::S_IFLNK;
            (r, link)
        },
        |r, again| overlay_x(r, buf, again),
    )
}

/// The shared part of [`stat_at`] and [`statx_at`]: `nofollow(dirfd, host,
/// flags)` does the call with `AT_SYMLINK_NOFOLLOW` added and says whether
/// it met a symlink; `fin` makes a successful result virtual (virtual
/// permissions), given how to ask about the same file again.
#[inline]
fn follow_last_lazily(
    d: c_int,
    p: *const c_char,
    flags: c_int,
    real: impl FnOnce(*const c_char) -> c_int,
    nofollow: impl FnOnce(c_int, *const c_char, c_int) -> (c_int, bool),
    fin: impl FnOnce(c_int, Again) -> c_int,
) -> Result<c_int, Errno> {
    let ctx = state::ctx()?;
    let (mut v, mut h) = (PathBuf::new(), PathBuf::new());
    let m = resolve(&ctx, Some(d), p, LSTAT, false, &mut v, &mut h)?;
    let kp = kernel_path(&m, &mut h);
    if flags & libc::AT_SYMLINK_NOFOLLOW != 0 || v.as_bytes() == b"/" || v.is_empty() {
        let r = real(kp);
        return Ok(fin(r, Again::at(d, kp, flags)));
    }
    let nf = flags | libc::AT_SYMLINK_NOFOLLOW;
    // This system call stands for the real function: its errno is the
    // call's answer unless it met a symlink.
    calling_real();
    let (r, link) = nofollow(d, kp, nf);
    if !link {
        return Ok(fin(r, Again::at(d, kp, nf)));
    }
    resolve(&ctx, Some(d), p, STAT, false, &mut v, &mut h)?;
    let r = real(h.as_ptr());
    Ok(fin(r, Again::path(h.as_ptr(), true)))
}
