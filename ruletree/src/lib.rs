//! sb2's ruletree: the compiled rule database of one session and the path
//! mapping pipeline that both the preload library and `sb2-show` run.
//!
//! * [`contract`] — every name, size and format the launcher and the preload
//!   share (environment, session files, tree constants, log events).
//! * [`abi`] — the hook table description `libsb2.so` exports for
//!   `sb2-show hooks`.
//! * [`model`] — owned rule structures (what the Lua compiler produces).
//! * [`format`](mod@format) — the position-independent binary file: a
//!   writer used by the launcher and a zero-copy, bounds-checked reader
//!   ([`format::Tree`]) used in place over a read-only mapping.
//! * [`lookup`] — first-match rule selection indexed by path component.
//! * [`mapping`] — THE pipeline: absolutize, normalize, resolve symlinks in
//!   the virtual view, map; and its inverse for getcwd/realpath.
//! * [`exec`] — what an exec runs: PATH search, argv rewrites, `#!` and ELF
//!   inspection, loader or CPU transparency.
//! * [`sys`] — the pipeline's [`mapping::Host`] by raw system calls.
//! * [`spill`] — the pipeline's buffers: a little in place, the rest in a
//!   mapping.
//! * [`protect`] — write protection: read-only rules and `--allow-write`,
//!   decided in the kernel's order of checks.
//! * [`net`] — the `-n` network rules and their decisions.
//! * [`vperm`] — virtual permissions: the session's shared metadata table,
//!   its overlay on `stat`, and its text form (`-s`/`-i`).
//! * [`dump`] — the text form printed by `sb2-show ruletree`.
//! * `compile` (feature `compiler`) — Lua rule files to [`model`], with
//!   file:line errors (`compile::net` for the `-n` rules). Only the
//!   launcher enables it; the preload links no Lua.
//!
//! Everything reachable from the preload's hot path ([`format::Tree`],
//! [`lookup`], [`mapping`], [`exec`], [`sys`], [`net`]'s decisions and
//! [`vperm`]'s table) allocates nothing and never panics.
//!
//! Functions every exec runs (the walk, the rule lookup, the exec planner)
//! carry `#[link_section = ".text.hot.sb2"]`: in `libsb2.so` the linker
//! places them with the rest of the exec path (the preload's `layout.ld`),
//! so that a fork child, whose
//! code is mapped again at first use, faults in few pages of it (see the
//! preload's crate docs, "Exec cost").

pub mod abi;
pub mod contract;
pub mod dump;
pub mod exec;
pub mod format;
pub mod lookup;
pub mod mapping;
pub mod model;
pub mod net;
pub mod protect;
pub mod spill;
pub mod sys;
pub mod vperm;

#[cfg(feature = "compiler")]
pub mod compile;

/// Maximum length of a path, including its terminating NUL, as the kernel
/// counts it (`PATH_MAX`).
pub const PATH_MAX: usize = 4096;

/// An errno value. The pipeline reports failures the way the kernel would.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Errno(pub i32);

impl Errno {
    pub const ENOENT: Errno = Errno(libc::ENOENT);
    pub const ELOOP: Errno = Errno(libc::ELOOP);
    pub const ENAMETOOLONG: Errno = Errno(libc::ENAMETOOLONG);
    pub const EFAULT: Errno = Errno(libc::EFAULT);
    pub const EROFS: Errno = Errno(libc::EROFS);
    pub const EIO: Errno = Errno(libc::EIO);
    pub const ENOSYS: Errno = Errno(libc::ENOSYS);
    pub const EINVAL: Errno = Errno(libc::EINVAL);
    pub const ENOTDIR: Errno = Errno(libc::ENOTDIR);
    pub const EBADF: Errno = Errno(libc::EBADF);
    pub const EACCES: Errno = Errno(libc::EACCES);
    pub const ERANGE: Errno = Errno(libc::ERANGE);
}

/// Function classes, Scratchbox2's `FUNC_CLASS_*` bits: a rule with a
/// `func_class` filter applies only to calls whose class intersects it.
pub mod class {
    /// No class: the call takes no path (ids, memory, name lookups).
    pub const NONE: u32 = 0;
    pub const OPEN: u32 = 0x1;
    pub const STAT: u32 = 0x2;
    pub const EXEC: u32 = 0x4;
    pub const SOCKADDR: u32 = 0x8;
    pub const FTSOPEN: u32 = 0x10;
    pub const GLOB: u32 = 0x20;
    pub const GETCWD: u32 = 0x40;
    pub const REALPATH: u32 = 0x80;
    pub const SET_TIMES: u32 = 0x100;
    pub const L10N: u32 = 0x200;
    pub const MKNOD: u32 = 0x400;
    pub const RENAME: u32 = 0x800;
    pub const PROC_FS_OP: u32 = 0x1000;
    pub const SYMLINK: u32 = 0x2000;
    pub const CREAT: u32 = 0x4000;
    pub const REMOVE: u32 = 0x8000;
    pub const CHROOT: u32 = 0x10000;
    pub const DLOPEN: u32 = 0x80000;
    /// Not a Scratchbox2 class: the call only asks whether a write would
    /// be allowed (access with W_OK). A refusal answers EROFS but is no
    /// violation, and the trace does not count it as a write.
    pub const CHECK: u32 = 0x100000;

    /// Name/value pairs, exported to Lua as `FUNC_CLASS_<NAME>`.
    pub const NAMES: &[(&str, u32)] = &[
        ("OPEN", OPEN),
        ("STAT", STAT),
        ("EXEC", EXEC),
        ("SOCKADDR", SOCKADDR),
        ("FTSOPEN", FTSOPEN),
        ("GLOB", GLOB),
        ("GETCWD", GETCWD),
        ("REALPATH", REALPATH),
        ("SET_TIMES", SET_TIMES),
        ("L10N", L10N),
        ("MKNOD", MKNOD),
        ("RENAME", RENAME),
        ("PROC_FS_OP", PROC_FS_OP),
        ("SYMLINK", SYMLINK),
        ("CREAT", CREAT),
        ("REMOVE", REMOVE),
        ("CHROOT", CHROOT),
        ("DLOPEN", DLOPEN),
    ];

    /// Names of the bits set in `c`, for logs and `sb2-show`.
    pub fn describe(c: u32, out: &mut String) {
        for (n, b) in NAMES {
            if c & b != 0 {
                if !out.is_empty() {
                    out.push('|');
                }
                out.push_str(n);
            }
        }
    }
}

#[cfg(test)]
mod tests;
