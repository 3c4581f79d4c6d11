//! The exec family. Every exec-family call and posix_spawn runs the shared
//! exec pipeline (`sb2_ruletree::exec`): PATH search in the virtual view,
//! toolchain argv rewrites, the program path mapped with the EXEC class,
//! `#!` interpreters mapped, host ELF started directly or by its policy
//! root's ld.so, target ELF by the CPU transparency command. The child's
//! environment keeps the session ([`env`]).
//!
//! These run in vfork children (shells and make use vfork; posix_spawn
//! does): argv and the environment are built in memory from mmap, never
//! malloc ([`arena`]), and no lock is taken. [`shell`] has system and
//! popen, [`replan`] the constructor's re-planning, [`binfmt`] the CPU
//! transparency command's namespace, [`uname`] the target's machine name.

mod arena;
pub mod binfmt;
mod env;
pub mod replan;
pub mod shell;
pub mod uname;

pub use binfmt::enter_if_cpu_transparency;
pub use replan::replan_if_unplanned;
pub use shell::{pclose, popen, system};
pub use uname::uname;

use crate::ffi::cstr::read_path;
use crate::ffi::hook::errno;
use crate::ffi::{real, sys};
use crate::path::Cached;
use crate::process::{log, state};
use arena::{Block, Space, Writer};
use env::{bytes, entries, first_args, with_session_env};
use libc::c_char;
use sb2_ruletree::contract::{self, LogLevel};
use sb2_ruletree::exec::{self as xexec, ExecReq, Items, Kind, Plan};
use sb2_ruletree::mapping::{Host, PathBuf};
use sb2_ruletree::Errno;

/// A NULL-terminated array of C strings (argv, envp).
type Env = *const *const c_char;
/// posix_spawn returns its error instead of setting errno.
pub fn spawn_result(r: Result<i32, Errno>) -> Result<i32, Errno> {
    Ok(r.unwrap_or_else(|e| e.0))
}

/// The exec pipeline for one call: plans, builds argv and environment,
/// and hands them to `run` with the host file to execute: the real
/// execve ([`real::execve`], for the execveat and fexecve callers too) or
/// posix_spawn. Generic, not `dyn`: `run` is compiled into this function
/// (in the exec path's section; a `dyn` closure's body lies elsewhere,
/// one page fault more in a forked child).
#[link_section = ".text.hot.sb2"]
#[inline(never)]
pub fn exec(
    dirfd: Option<i32>,
    path: *const c_char,
    argv: Env,
    envp: Env,
    search: bool,
    follow: bool,
    run: impl FnOnce(*const c_char, Env, Env) -> i32,
) -> Result<i32, Errno> {
    let ctx = state::ctx()?;
    let mut vin = PathBuf::new();
    read_path(path, &mut vin)?;
    let argv0 = entries(argv).next().unwrap_or(b"");
    let mut first: [&[u8]; 8] = [&[]; 8];
    let n_args = first_args(argv, &mut first);
    let req = ExecReq {
        dirfd: dirfd.filter(|d| *d != libc::AT_FDCWD),
        path: vin.as_bytes(),
        argv0,
        // PATH only for a search (a scan of the whole environment).
        search: search.then(|| state::env(b"PATH").unwrap_or(contract::DEFAULT_PATH.as_bytes())),
        follow,
        args: first.get(..n_args).unwrap_or(&[]),
    };
    let mut plan = Plan::new();
    let r = xexec::plan(&ctx, &Cached, &req, &mut plan);
    if log::enabled(LogLevel::Info)
        || log::tracing()
        || (r.is_ok() && (plan.kind == Kind::Static || plan.substituted))
    {
        log::exec_event(vin.as_bytes(), &plan, r.err());
    }
    r?;
    // The plan's argv, every string copied into one block (the caller's
    // argv[1..] too: the block is all the new process needs).
    let args = || plan.argv(env::args(argv));
    let n = args().count() + 1;
    let text: usize = args().map(|s| s.len() + 1).sum();
    let mut space = Space::<1024>::new();
    let block = Block::new(&mut space, n * core::mem::size_of::<*const c_char>() + text)?;
    let mut w = Writer::new(&block, n);
    for a in args() {
        w.string(&[a]);
    }
    let new_argv = w.finish();
    let file = plan.file.as_ptr();
    with_session_env(envp, &plan.env, |e| run(file, new_argv, e))
}

/// execve-like hook: the pipeline, then the real execve. For the execvp
/// family, a file the kernel refuses with ENOEXEC is run by /bin/sh, as
/// POSIX says (glibc does the same).
#[link_section = ".text.hot.sb2"]
#[inline(never)]
pub fn execve(path: *const c_char, argv: Env, envp: Env, search: bool) -> Result<i32, Errno> {
    let r = exec(None, path, argv, envp, search, true, real::execve)?;
    if search && errno() == libc::ENOEXEC {
        return sh_fallback(path, argv, envp);
    }
    Ok(r)
}

/// `/bin/sh FILE ARGS...` for a file without a `#!` line.
fn sh_fallback(path: *const c_char, argv: Env, envp: Env) -> Result<i32, Errno> {
    let n = entries(argv).count().max(1) + 2;
    let mut space = Space::<1024>::new();
    let block = Block::new(&mut space, n * core::mem::size_of::<*const c_char>())?;
    let mut w = Writer::new(&block, n);
    w.ptr(c"/bin/sh".as_ptr() as *const c_char);
    w.ptr(path);
    for a in env::args(argv) {
        w.ptr(a.as_ptr() as *const c_char);
    }
    let a = w.finish();
    exec(
        None,
        c"/bin/sh".as_ptr() as *const c_char,
        a,
        envp,
        false,
        true,
        real::execve,
    )
}

/// fexecve / execveat(fd, "", AT_EMPTY_PATH): the program is the open
/// file. Host ELF (or anything unreadable) is run from the fd itself (an
/// fd may be all there is: memfd, deleted file); otherwise its path goes
/// through the same pipeline.
pub fn exec_fd(fd: i32, argv: Env, envp: Env, real: impl FnOnce(Env) -> i32) -> Result<i32, Errno> {
    let mut head = [0u8; xexec::HEAD];
    let n = sys::pread_head(fd, &mut head);
    let direct = n <= 0
        || head
            .get(..n as usize)
            .is_some_and(|hd| xexec::parse_elf(hd).is_some_and(|e| xexec::host_machine(e.machine)));
    let mut h = PathBuf::new();
    let ctx = state::ctx()?;
    let mut v = PathBuf::new();
    let mut seen = PathBuf::new();
    if direct
        || Cached.fd_path(fd, &mut h).is_err()
        || crate::path::unmap(&ctx, h.as_bytes(), sb2_ruletree::class::EXEC, &mut v).is_err()
        // Inside a chroot the pipeline takes the path as the process names
        // it; a file outside the root has no such name.
        || !ctx.view(v.as_bytes(), &mut seen).unwrap_or(false)
    {
        return with_session_env(envp, &Items::default(), real);
    }
    let p = seen.as_ptr();
    exec(None, p, argv, envp, false, true, real::execve)
}

/// posix_spawn and posix_spawnp: the pipeline, then the real posix_spawn
/// with the planned file (PATH was searched already).
#[link_section = ".text.hot.sb2"]
#[inline(never)]
pub fn spawn(
    pid: *mut libc::pid_t,
    path: *const c_char,
    fa: *const libc::c_void,
    at: *const libc::c_void,
    argv: Env,
    envp: Env,
    search: bool,
) -> Result<i32, Errno> {
    if !real::has_posix_spawn() {
        return Ok(libc::ENOSYS);
    }
    crate::process::hot::spawning();
    spawn_result(exec(None, path, argv, envp, search, true, |file, a, e| {
        real::posix_spawn(pid, file, fa, at, a, e)
    }))
}

/// execveat: relative to a directory fd, or the fd itself (AT_EMPTY_PATH).
#[inline(never)]
pub fn execveat(
    dirfd: i32,
    path: *const c_char,
    argv: Env,
    envp: Env,
    flags: i32,
    real: impl FnOnce(Env) -> i32,
) -> Result<i32, Errno> {
    if flags & libc::AT_EMPTY_PATH != 0 && !path.is_null() && bytes(path).is_empty() {
        return exec_fd(dirfd, argv, envp, real);
    }
    let follow = flags & libc::AT_SYMLINK_NOFOLLOW == 0;
    exec(Some(dirfd), path, argv, envp, false, follow, real::execve)
}
