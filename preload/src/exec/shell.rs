//! system(3), popen(3) and pclose(3): glibc's own reach the kernel without
//! calling any hookable exec function, so the shell is started here, by
//! posix_spawn through the session's exec pipeline. No lock, no malloc of
//! ours (the popen table is atomics).

use super::env::bytes;
use super::spawn;
use crate::ffi::hook::errno;
use core::sync::atomic::{AtomicI32, AtomicPtr, Ordering};
use libc::c_char;
use sb2_ruletree::Errno;

/// `/bin/sh -c CMD` through posix_spawn (our hook: /bin/sh is mapped and
/// run like any program), with `actions` for popen's pipe.
fn spawn_sh(
    cmd: *const c_char,
    fa: *const libc::c_void,
    at: *const libc::c_void,
    pid: &mut libc::pid_t,
) -> i32 {
    let argv: [*const c_char; 4] = [
        c"sh".as_ptr() as *const c_char,
        c"-c".as_ptr() as *const c_char,
        cmd,
        core::ptr::null(),
    ];
    match spawn(
        pid,
        c"/bin/sh".as_ptr() as *const c_char,
        fa,
        at,
        argv.as_ptr(),
        core::ptr::null(),
        false,
    ) {
        Ok(r) => r,
        Err(e) => e.0,
    }
}

/// system(3), as glibc does it (SIGINT/SIGQUIT ignored and SIGCHLD blocked
/// while waiting; the child gets them back), but the shell is started
/// through the session's exec pipeline: glibc's own system() reaches the
/// kernel without calling any hookable function.
pub fn system(cmd: *const c_char) -> Result<i32, Errno> {
    if cmd.is_null() {
        return Ok(1);
    }
    // SAFETY: plain libc signal and spawn-attribute calls on our locals.
    unsafe {
        let mut ign: libc::sigaction = core::mem::zeroed();
        ign.sa_sigaction = libc::SIG_IGN;
        let (mut old_int, mut old_quit): (libc::sigaction, libc::sigaction) =
            (core::mem::zeroed(), core::mem::zeroed());
        libc::sigaction(libc::SIGINT, &ign, &mut old_int);
        libc::sigaction(libc::SIGQUIT, &ign, &mut old_quit);
        let mut chld: libc::sigset_t = core::mem::zeroed();
        let mut old_mask: libc::sigset_t = core::mem::zeroed();
        libc::sigemptyset(&mut chld);
        libc::sigaddset(&mut chld, libc::SIGCHLD);
        libc::sigprocmask(libc::SIG_BLOCK, &chld, &mut old_mask);
        let mut attr: libc::posix_spawnattr_t = core::mem::zeroed();
        libc::posix_spawnattr_init(&mut attr);
        let mut def: libc::sigset_t = core::mem::zeroed();
        libc::sigemptyset(&mut def);
        if old_int.sa_sigaction != libc::SIG_IGN {
            libc::sigaddset(&mut def, libc::SIGINT);
        }
        if old_quit.sa_sigaction != libc::SIG_IGN {
            libc::sigaddset(&mut def, libc::SIGQUIT);
        }
        libc::posix_spawnattr_setsigdefault(&mut attr, &def);
        libc::posix_spawnattr_setsigmask(&mut attr, &old_mask);
        libc::posix_spawnattr_setflags(
            &mut attr,
            (libc::POSIX_SPAWN_SETSIGDEF | libc::POSIX_SPAWN_SETSIGMASK) as libc::c_short,
        );
        let mut pid: libc::pid_t = 0;
        let r = spawn_sh(
            cmd,
            core::ptr::null(),
            &attr as *const _ as *const libc::c_void,
            &mut pid,
        );
        let mut status: i32 = 127 << 8;
        if r == 0 {
            while libc::waitpid(pid, &mut status, 0) < 0 {
                if errno() != libc::EINTR {
                    status = -1;
                    break;
                }
            }
        }
        libc::posix_spawnattr_destroy(&mut attr);
        libc::sigaction(libc::SIGINT, &old_int, core::ptr::null_mut());
        libc::sigaction(libc::SIGQUIT, &old_quit, core::ptr::null_mut());
        libc::sigprocmask(libc::SIG_SETMASK, &old_mask, core::ptr::null_mut());
        Ok(status)
    }
}

/// Streams opened by our popen: FILE, its fd and child, for pclose. A
/// slot is claimed by swapping its FILE from null to `CLAIMED` first.
const POPEN_SLOTS: usize = 64;
const CLAIMED: *mut libc::FILE = core::ptr::dangling_mut::<libc::FILE>();
static POPEN_FILE: [AtomicPtr<libc::FILE>; POPEN_SLOTS] =
    [const { AtomicPtr::new(core::ptr::null_mut()) }; POPEN_SLOTS];
static POPEN_FD: [AtomicI32; POPEN_SLOTS] = [const { AtomicI32::new(-1) }; POPEN_SLOTS];
static POPEN_PID: [AtomicI32; POPEN_SLOTS] = [const { AtomicI32::new(0) }; POPEN_SLOTS];

/// popen(3) with the shell started through the session's exec pipeline
/// (glibc's popen, like system, never calls a hookable exec function).
pub fn popen(cmd: *const c_char, mode: *const c_char) -> Result<*mut libc::FILE, Errno> {
    if cmd.is_null() || mode.is_null() {
        return Err(Errno::EINVAL);
    }
    let m = bytes(mode);
    let read = match m.first() {
        Some(b'r') => true,
        Some(b'w') => false,
        _ => return Err(Errno::EINVAL),
    };
    let cloexec = m.contains(&b'e');
    let slot = POPEN_FILE
        .iter()
        .position(|f| {
            f.compare_exchange(
                core::ptr::null_mut(),
                CLAIMED,
                Ordering::AcqRel,
                Ordering::Acquire,
            )
            .is_ok()
        })
        .ok_or(Errno(libc::EMFILE))?;
    let release = |e: Errno| {
        POPEN_FILE[slot].store(core::ptr::null_mut(), Ordering::Release);
        e
    };
    // SAFETY: libc pipe/spawn-file-action/fdopen calls on our locals.
    unsafe {
        let mut fds = [0i32; 2];
        if libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) != 0 {
            return Err(release(Errno(errno())));
        }
        let (ours, theirs, target) = if read {
            (fds[0], fds[1], 1)
        } else {
            (fds[1], fds[0], 0)
        };
        let mut fa: libc::posix_spawn_file_actions_t = core::mem::zeroed();
        libc::posix_spawn_file_actions_init(&mut fa);
        // POSIX: the child closes the streams of earlier popen calls (first:
        // one of their fds may be the one the pipe goes to).
        for fd in &POPEN_FD {
            let fd = fd.load(Ordering::Acquire);
            if fd >= 0 && fd != theirs {
                libc::posix_spawn_file_actions_addclose(&mut fa, fd);
            }
        }
        libc::posix_spawn_file_actions_adddup2(&mut fa, theirs, target);
        let mut pid: libc::pid_t = 0;
        let r = spawn_sh(
            cmd,
            &fa as *const _ as *const libc::c_void,
            core::ptr::null(),
            &mut pid,
        );
        libc::posix_spawn_file_actions_destroy(&mut fa);
        libc::close(theirs);
        if r != 0 {
            libc::close(ours);
            return Err(release(Errno(r)));
        }
        if !cloexec {
            libc::fcntl(ours, libc::F_SETFD, 0);
        }
        let f = libc::fdopen(ours, if read { c"r".as_ptr() } else { c"w".as_ptr() });
        if f.is_null() {
            let e = Errno(errno());
            libc::close(ours);
            return Err(release(e));
        }
        POPEN_PID[slot].store(pid, Ordering::Release);
        POPEN_FD[slot].store(ours, Ordering::Release);
        POPEN_FILE[slot].store(f, Ordering::Release);
        Ok(f)
    }
}

/// pclose(3) for streams of our popen; others go to the real pclose.
pub fn pclose(f: *mut libc::FILE, real: impl FnOnce(*mut libc::FILE) -> i32) -> Result<i32, Errno> {
    let Some(i) = POPEN_FILE
        .iter()
        .position(|x| !f.is_null() && x.load(Ordering::Acquire) == f)
    else {
        return Ok(real(f));
    };
    let pid = POPEN_PID[i].load(Ordering::Acquire);
    POPEN_FD[i].store(-1, Ordering::Release);
    POPEN_FILE[i].store(core::ptr::null_mut(), Ordering::Release);
    // SAFETY: the stream is ours (from fdopen); waiting for our child.
    unsafe {
        libc::fclose(f);
        let mut status = 0;
        while libc::waitpid(pid, &mut status, 0) < 0 {
            if errno() != libc::EINTR {
                return Err(Errno(errno()));
            }
        }
        Ok(status)
    }
}
