//! Re-planning in the constructor: a process exec'd without the exec
//! pipeline (by a target program under qemu, whose execs go straight to
//! the kernel) runs what the pipeline would have run instead.

use super::env::{bytes, entries, first_args};
use super::{exec, Env};
use crate::ffi::sys;
use crate::path::Cached;
use crate::process::state;
use libc::c_char;
use sb2_ruletree::exec::{self as xexec, ExecReq, Kind, Plan};

/// Called from the library's constructor. A process whose `__SB2_EXECED`
/// does not name its own executable was exec'd without the pipeline: by a
/// target program under qemu (its execs go straight to the kernel, which
/// finds the host's `/usr/bin/gcc` where the session means the cross
/// compiler, or the host's `/bin/sh` where emulate means the target's).
/// If the pipeline would have run something else, run that now, with the
/// same argv; otherwise go on.
#[link_section = ".text.hot.sb2.start"]
pub fn replan_if_unplanned(argv: Env) {
    // Small stack frame here: every process runs this, and each page of a
    // big frame is probed (a page fault on a fresh stack). The planning
    // itself is in `replan`.
    // SAFETY: getauxval has no preconditions; AT_EXECFN is the filename
    // given to execve, NUL-terminated, on the initial stack.
    let execfn = unsafe { libc::getauxval(libc::AT_EXECFN) } as *const c_char;
    // ld.so run as the program (`ld.so PROG ARGS`): glibc has shifted argv
    // already, and a plan of the loader's path would drop PROG.
    // SAFETY: as above.
    if unsafe { libc::getauxval(libc::AT_BASE) } == 0 {
        name_loaded_program();
        return;
    }
    let marker = state::start_env(state::Var::Execed);
    // The common case, without a system call: we exec'd exactly this file.
    if !execfn.is_null() && marker.is_some_and(|m| m == bytes(execfn)) {
        return;
    }
    let Some(exe) = stat(c"/proc/self/exe".as_ptr()) else {
        return;
    };
    // Environment values are NUL-terminated in place.
    if marker.is_some_and(|m| same(stat(m.as_ptr() as *const c_char), &exe)) {
        return;
    }
    // Only a program exec'd directly (a script's interpreter has another
    // executable than its name).
    if execfn.is_null() || !same(stat(execfn), &exe) {
        return;
    }
    replan(argv, execfn, &exe);
}

/// A program the pipeline started through a loader is named after the
/// loader by the kernel (`/proc/self/comm`, `ps`, `top`): it takes its own
/// name back, as a direct exec would have given it.
#[inline(never)]
fn name_loaded_program() {
    let Some(exe) = state::loaded_program() else {
        return;
    };
    let base = exe.rsplit(|c| *c == b'/').next().unwrap_or(exe);
    // The kernel's comm: up to 15 bytes and a NUL.
    let mut name = [0u8; 16];
    for (d, s) in name.iter_mut().zip(base.iter().take(15)) {
        *d = *s;
    }
    // SAFETY: PR_SET_NAME reads a NUL-terminated string of at most 16 bytes.
    unsafe { libc::prctl(libc::PR_SET_NAME, name.as_ptr()) };
}

#[inline(never)]
fn replan(argv: Env, execfn: *const c_char, exe: &libc::stat) {
    let Ok(ctx) = state::ctx() else {
        return;
    };
    let argv0 = entries(argv).next().unwrap_or(b"");
    // The first arguments too: a compiler launcher's compiler is one.
    let mut first: [&[u8]; 8] = [&[]; 8];
    let n_args = first_args(argv, &mut first);
    let req = ExecReq {
        dirfd: None,
        path: bytes(execfn),
        argv0,
        search: None,
        follow: true,
        args: first.get(..n_args).unwrap_or(&[]),
    };
    let mut plan = Plan::new();
    if xexec::plan(&ctx, &Cached, &req, &mut plan).is_err() {
        return;
    }
    let unchanged = matches!(plan.kind, Kind::Host | Kind::Static | Kind::Unknown)
        && plan.argvmod.is_none()
        && same(stat(plan.file.as_ptr()), exe);
    if unchanged {
        return;
    }
    let _ = exec(
        None,
        execfn,
        argv,
        core::ptr::null(),
        false,
        true,
        crate::ffi::real::execve,
    );
}

fn stat(p: *const c_char) -> Option<libc::stat> {
    sys::fstatat(libc::AT_FDCWD, p, 0).ok()
}

fn same(a: Option<libc::stat>, b: &libc::stat) -> bool {
    a.is_some_and(|a| a.st_dev == b.st_dev && a.st_ino == b.st_ino)
}
