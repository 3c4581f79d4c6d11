//! The lock of the passwd and shadow files (lckpwdf, ulckpwdf), on the
//! mapped `/etc/.pwd.lock`.

use crate::ffi::sys;
use crate::path::resolve;
use crate::process::state;
use core::sync::atomic::Ordering::Relaxed;
use libc::c_int;
use sb2_ruletree::mapping::PathBuf;
use sb2_ruletree::Errno;

/// The lock file of the passwd and shadow files, held by lckpwdf (-1:
/// none).
static PWD_LOCK: core::sync::atomic::AtomicI32 = core::sync::atomic::AtomicI32::new(-1);

/// lckpwdf: glibc opens `/etc/.pwd.lock` internally, below every hook (so
/// useradd in a chroot or a mapped /etc would lock the host's file, and a
/// user may not). When that path maps elsewhere, the mapped lock file is
/// opened and locked here as glibc does (a write lock, waiting up to 15
/// seconds).
pub fn lckpwdf(real: impl FnOnce() -> c_int) -> Result<c_int, Errno> {
    let ctx = state::ctx()?;
    let (mut v, mut h) = (PathBuf::new(), PathBuf::new());
    let op = crate::path::Op::open(libc::O_WRONLY | libc::O_CREAT);
    resolve(
        &ctx,
        None,
        c"/etc/.pwd.lock".as_ptr(),
        op,
        false,
        &mut v,
        &mut h,
    )?;
    if h.as_bytes() == b"/etc/.pwd.lock" {
        return Ok(real());
    }
    if PWD_LOCK.load(Relaxed) >= 0 {
        return Ok(-1); // already locked by this process, as glibc says
    }
    let fd = sys::open(
        h.as_ptr(),
        libc::O_WRONLY | libc::O_CREAT | libc::O_CLOEXEC,
        0o600,
    )?;
    let lock = libc::flock {
        l_type: libc::F_WRLCK as i16,
        l_whence: libc::SEEK_SET as i16,
        l_start: 0,
        l_len: 0,
        l_pid: 0,
    };
    for _ in 0..150 {
        // SAFETY: fd is ours and lock a valid flock.
        if unsafe { sb2_ruletree::syscall!(libc::SYS_fcntl, fd.raw(), libc::F_SETLK, &lock) } == 0 {
            PWD_LOCK.store(fd.into_raw(), Relaxed);
            return Ok(0);
        }
        // SAFETY: plain sleep of 100 ms.
        unsafe {
            sb2_ruletree::syscall!(
                libc::SYS_nanosleep,
                &libc::timespec {
                    tv_sec: 0,
                    tv_nsec: 100_000_000,
                },
                0usize,
            )
        };
    }
    Ok(-1)
}

/// ulckpwdf: releases what [`lckpwdf`] took (or the real lock).
pub fn ulckpwdf(real: impl FnOnce() -> c_int) -> Result<c_int, Errno> {
    let fd = PWD_LOCK.swap(-1, Relaxed);
    if fd < 0 {
        return Ok(real());
    }
    sys::close(fd);
    Ok(0)
}
