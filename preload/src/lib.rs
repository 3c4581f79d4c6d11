//! libsb2.so, the LD_PRELOAD interposer of sb2.
//!
//! FFI glue and process state only: the rules and the path pipeline live in
//! the `sb2-ruletree` crate, which `sb2-show` shares. The crate is layered,
//! each layer using only those below it (checked by the `layers` test):
//!
//! 1. [`ffi`]: the C boundary (the hook macro and [`ffi::hook::boundary`],
//!    real functions, the caller's memory, raw system calls);
//! 2. [`process`]: this process in its session (attach, caches, log,
//!    virtual ids, the stat overlay);
//! 3. [`path`]: the path glue (the pipeline's host, the `map*` kinds);
//! 4. the families, which never use each other: [`fs`], [`stat`],
//!    [`dirs`], [`union`], [`ids`], [`vperm`], [`net`], [`nss`], [`exec`],
//!    [`mem`], [`root`];
//! 5. [`table`]: the one declaration of every hooked libc function, each
//!    row composing a kind of [`path`] or a gate of a family.
//!
//! Hot-path rules: no heap allocation, no locks (a forked child or a
//! signal handler could find one held), no std::fs or std::env (they would
//! re-enter our own hooks), no panic across the FFI boundary (the boundary
//! and [`ffi::hook::no_unwind`] catch and fail closed).
//!
//! Exec cost: a fork child that execs (the shell's) pays a page fault,
//! about 3 µs on a VM, for each page it touches before its exec: its data
//! and stack are the parent's, copied on write; its code is mapped again
//! at first use (64 KiB around each fault). So the exec path keeps small
//! frames (`PathBuf` holds 512 bytes in place), writes few statics (those it
//! must write share the hot page: `process::hot`), looks nothing up after
//! the fork (`before_fork`), and its functions (the exec family's hooks,
//! the pipeline's walk, lookup and planner) carry
//! `#[link_section = ".text.hot.sb2"]`; what every process runs at start
//! (the constructor) carries `.text.hot.sb2.start`. `layout.ld` places
//! these first, after the loader's own entry points: two or three windows
//! of code instead of ten. The session itself is attached at the first
//! call that needs it, not in the constructor.

#![deny(clippy::undocumented_unsafe_blocks)]
// The hook table's macro handles one row per recursion step.
#![recursion_limit = "1024"]

#[macro_use]
mod ffi;
mod process;

mod path;

mod dirs;
mod exec;
mod fs;
mod ids;
mod mem;
mod net;
mod nss;
mod root;
mod stat;
mod union;
mod vperm;

mod table;

#[cfg(test)]
mod layers;

/// Runs when the library is loaded: finds out from the environment whether
/// the process is in a session (the process layer maps the session's files
/// later, at the first hooked call that needs them: most short processes
/// make none, and each exec should cost next to nothing), then the
/// families do what must happen before `main`: the CPU transparency
/// command enters its namespace, and a process exec'd without the exec
/// pipeline re-plans itself. Real functions are resolved lazily, on a
/// hook's first call. (A vfork child may be the first caller; `dlsym` is
/// safe there, since the suspended parent cannot be inside the loader
/// while it waits in vfork.)
///
/// glibc passes `argc, argv, envp` to `.init_array` functions. A hook may
/// have run before this (another library's constructor runs first); the
/// environment is captured once either way.
#[link_section = ".text.hot.sb2.start"]
extern "C" fn sb2_init(
    _argc: core::ffi::c_int,
    argv: *const *const core::ffi::c_char,
    _envp: *const *const core::ffi::c_char,
) {
    ffi::hook::no_unwind((), || {
        process::state::init();
        exec::enter_if_cpu_transparency();
        if process::state::in_session() {
            // SAFETY: registering plain handlers (in the constructor, where
            // the registration's allocation is safe).
            unsafe {
                libc::pthread_atfork(
                    Some(before_fork),
                    None,
                    Some(process::cache::after_fork_child),
                )
            };
            exec::replan_if_unplanned(argv);
        }
    })
}

/// In the parent, before each fork: the child will most likely exec, and
/// whatever it must look up or write itself costs it a page fault per page
/// (its memory is the parent's, copied on write, and its code is mapped
/// again at first use: a `dlsym` in the child was about ten faults). The
/// exec family's real functions are looked up here, once for all children.
#[link_section = ".text.hot.sb2"]
extern "C" fn before_fork() {
    ffi::hook::no_unwind((), || {
        ffi::real::resolve_exec();
        let _ = table::execve::resolve();
        let _ = table::execv::resolve();
        let _ = table::execvp::resolve();
        let _ = table::execvpe::resolve();
    })
}

type InitFn = extern "C" fn(
    core::ffi::c_int,
    *const *const core::ffi::c_char,
    *const *const core::ffi::c_char,
);

#[used]
#[link_section = ".init_array"]
static INIT: InitFn = sb2_init;

/// Version and hook table, read by `sb2-show hooks` through `dlopen`.
#[no_mangle]
pub static SB2_PRELOAD_INFO: sb2_ruletree::abi::PreloadInfo = sb2_ruletree::abi::PreloadInfo {
    abi: sb2_ruletree::abi::ABI,
    version: concat!(env!("CARGO_PKG_VERSION"), "\0").as_ptr() as *const core::ffi::c_char,
    n_hooks: table::HOOKS.len(),
    hooks: table::HOOKS.as_ptr(),
};
