//! The exec pipeline, shared by the preload's exec hooks and
//! `sb2-show exec`: what a session runs when a program execs `path`.
//!
//! 1. PATH search in the virtual view (execvp and friends);
//! 2. argv rewrites (toolchain: `gcc` → the cross compiler, `host-gcc` →
//!    the host's, unmapped);
//! 3. the program path mapped with the EXEC class;
//! 4. its head inspected: `#!` scripts get their interpreter mapped and
//!    inspected in turn (`#!/usr/bin/env X` looks X up itself); ELF of the
//!    host machine runs directly, or through its policy root's ld.so; ELF of
//!    the target machine runs through the CPU transparency command (qemu
//!    user mode) with the target root as library prefix and `argv[0]` kept;
//!    anything else goes to the kernel as it is, which gives its errno.
//!
//! The result is a [`Plan`]: the host file to execve, the argv items that
//! replace the caller's `argv[0]`, the tail to append and the environment to
//! add. No allocation, no panic: a plan lives on the stack (it runs in
//! vfork children).
//!
//! * this file — the request and the [`Plan`];
//! * `planner` — [`plan`]: the steps above;
//! * `rootld` — a chroot's loader facts: its ld.so, `--argv0`, library
//!   path;
//! * `head` — what a file's first bytes say: [`parse_elf`],
//!   [`parse_shebang`], and which ELF machines this host runs.

mod head;
mod planner;
mod rootld;

pub use head::*;
pub use planner::plan;
pub use rootld::{chroot_facts, host_path, loader_facts};

use crate::format::{ArgvModRef, PolicyRef};
use crate::mapping::PathBuf;
use crate::Errno;

/// How the program will run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// Dynamic ELF of the host machine, exec'd directly.
    Host,
    /// Dynamic ELF of the host machine, started by a policy root's ld.so.
    RootLoader,
    /// Statically linked ELF of the host machine: runs, cannot be followed.
    Static,
    /// ELF of the target machine, run by the CPU transparency command.
    Target,
    /// Not recognized: handed to the kernel, which decides.
    Unknown,
}

impl Kind {
    pub fn name(&self) -> &'static str {
        match self {
            Kind::Host => "host ELF (direct)",
            Kind::RootLoader => "host-machine ELF started by its root's ld.so",
            Kind::Static => "static host ELF (not interceptable)",
            Kind::Target => "target ELF (CPU transparency)",
            Kind::Unknown => "not ELF or script (kernel decides)",
        }
    }
}

/// Room for the strings of one [`Items`]: a few paths and arguments.
const ARENA: usize = 3 * crate::PATH_MAX + 2048;
/// The part of it kept in place; more goes to an anonymous mapping
/// ([`crate::spill`]): a plan's strings rarely need more than a few
/// hundred bytes, and three full-size arenas on the stack of a fork
/// child were ten pages to fault in per exec.
const INLINE: usize = 512;
/// Most strings one [`Items`] holds.
pub const MAX_ITEMS: usize = 16;
/// Nested `#!` interpreters the kernel accepts (BINPRM_MAX_RECURSION).
const MAX_SCRIPTS: usize = 4;
/// Bytes of a file inspected: the `#!` line or the ELF header and, almost
/// always, its program headers.
pub const HEAD: usize = 1024;

/// A list of byte strings, in place up to [`INLINE`] bytes, then in an
/// anonymous mapping of [`ARENA`] bytes. Not zeroed: only the bytes used
/// are touched.
#[derive(Default)]
pub struct Items {
    buf: crate::spill::Spill<INLINE, ARENA>,
    used: usize,
    at: [(u32, u32); MAX_ITEMS],
    n: usize,
}

impl Items {
    pub fn new() -> Items {
        Items {
            buf: crate::spill::Spill::new(),
            used: 0,
            at: [(0, 0); MAX_ITEMS],
            n: 0,
        }
    }
    fn store(&mut self, s: &[u8]) -> Result<(u32, u32), Errno> {
        let end = self.used + s.len();
        if end > ARENA {
            return Err(Errno(libc::E2BIG));
        }
        if end > self.buf.cap() {
            self.buf.grow(self.used, Errno(libc::E2BIG))?;
        }
        // SAFETY: used..end is inside the current storage (checked above),
        // and `s` is borrowed, so it is not our storage being written.
        unsafe {
            core::ptr::copy_nonoverlapping(s.as_ptr(), self.buf.ptr_mut().add(self.used), s.len())
        };
        let r = (self.used as u32, s.len() as u32);
        self.used = end;
        Ok(r)
    }
    #[link_section = ".text.hot.sb2"]
    pub(super) fn insert(&mut self, i: usize, s: &[u8]) -> Result<(), Errno> {
        if self.n == MAX_ITEMS || i > self.n {
            return Err(Errno(libc::E2BIG));
        }
        let r = self.store(s)?;
        self.at.copy_within(i..self.n, i + 1);
        self.at[i] = r;
        self.n += 1;
        Ok(())
    }
    pub fn push(&mut self, s: &[u8]) -> Result<(), Errno> {
        self.insert(self.n, s)
    }
    pub(super) fn remove_first(&mut self) {
        if self.n > 0 {
            self.at.copy_within(1..self.n, 0);
            self.n -= 1;
        }
    }
    pub fn len(&self) -> usize {
        self.n
    }
    /// Drops the items from `i` on.
    pub(super) fn clear_from(&mut self, i: usize) {
        self.n = self.n.min(i);
    }
    pub fn is_empty(&self) -> bool {
        self.n == 0
    }
    pub fn get(&self, i: usize) -> &[u8] {
        let base = self.buf.ptr();
        match self.at.get(i) {
            Some(&(o, l)) if i < self.n && (o + l) as usize <= self.used => {
                // SAFETY: bytes below `used` were written by `store` (and
                // copied along into a spill), and o..o+l is inside them
                // (checked).
                unsafe { core::slice::from_raw_parts(base.add(o as usize), l as usize) }
            }
            _ => &[],
        }
    }
    pub fn iter(&self) -> impl Iterator<Item = &[u8]> {
        (0..self.n).map(|i| self.get(i))
    }
}

/// What an exec becomes.
pub struct Plan<'t> {
    /// The host file given to the kernel's execve.
    pub file: PathBuf,
    /// The virtual path of the program finally run (after `#!`).
    pub vpath: PathBuf,
    /// The program's name as exec'd: the caller's path, or `dir/name`
    /// found along PATH.
    pub given: PathBuf,
    pub kind: Kind,
    pub policy: Option<PolicyRef<'t>>,
    pub argvmod: Option<ArgvModRef<'t>>,
    /// The new argv up to (not including) the caller's argv[1..].
    pub head: Items,
    /// `NAME=value` entries to put into the child's environment.
    pub env: Items,
    /// Target programs: enter the binfmt_misc namespace first, so that
    /// target programs they exec run through qemu too.
    pub binfmt: bool,
    /// How many of the caller's argv[1..] the head replaces (a loader run
    /// as a program inside a chroot gets its program argument mapped).
    pub skip: usize,
    /// What follows the caller's arguments (an argv rewrite's tail).
    pub tail: Items,
    /// A chroot substitute replaced the program (logged).
    pub substituted: bool,
}

impl<'t> Plan<'t> {
    pub fn new() -> Plan<'t> {
        Plan {
            file: PathBuf::new(),
            vpath: PathBuf::new(),
            given: PathBuf::new(),
            kind: Kind::Unknown,
            policy: None,
            argvmod: None,
            head: Items::new(),
            env: Items::new(),
            binfmt: false,
            skip: 0,
            tail: Items::new(),
            substituted: false,
        }
    }

    /// The final argv: head, the caller's argv[1..] (less those the head
    /// replaced), the tail.
    pub fn argv<'s>(
        &'s self,
        rest: impl Iterator<Item = &'s [u8]> + 's,
    ) -> impl Iterator<Item = &'s [u8]> + 's {
        // Skipped here, not with `skip`: its out-of-line `nth` lies far
        // from the exec path's code, a page fault more in a forked child.
        let mut rest = rest;
        for _ in 0..self.skip {
            if rest.next().is_none() {
                break;
            }
        }
        self.head.iter().chain(rest).chain(self.tail.iter())
    }
}

impl Default for Plan<'_> {
    fn default() -> Self {
        Plan::new()
    }
}

/// One exec request.
#[derive(Clone, Copy)]
pub struct ExecReq<'a> {
    /// `Some(fd)` for execveat relative to a directory fd.
    pub dirfd: Option<i32>,
    /// The path as the caller gave it.
    pub path: &'a [u8],
    pub argv0: &'a [u8],
    /// The PATH to search when `path` has no `/` (execvp family).
    pub search: Option<&'a [u8]>,
    /// Follow a symlink in the final component (execveat without
    /// AT_SYMLINK_NOFOLLOW).
    pub follow: bool,
    /// The first few of the caller's argv[1..] (a loader run as a program
    /// names its program there).
    pub args: &'a [&'a [u8]],
}

impl<'a> ExecReq<'a> {
    /// What `execvp(prog, ...)` asks: `prog` searched in `path_var`, its
    /// final symlink followed.
    pub fn execvp(prog: &'a [u8], path_var: &'a [u8]) -> ExecReq<'a> {
        ExecReq {
            dirfd: None,
            path: prog,
            argv0: prog,
            search: Some(path_var),
            follow: true,
            args: &[],
        }
    }
}

/// The active exec policy, as the child's environment carries it (what
/// `if_active_exec_policy_is` tests).
pub const POLICY_VAR: &[u8] = crate::contract::POLICY_VAR.as_bytes();
/// The file the pipeline exec'd: a process whose AT_EXECFN is another
/// file was started without the pipeline (by a target program under qemu)
/// and re-plans itself.
pub const EXECED_VAR: &[u8] = crate::contract::EXECED_VAR.as_bytes();
