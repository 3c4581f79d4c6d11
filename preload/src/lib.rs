//! libsb2.so, the LD_PRELOAD interposer of sb2.
//!
//! FFI glue and process state only: the rules and the path pipeline live in
//! the `sb2-ruletree` crate, which `sb2-show` shares. [`table`] is the one
//! declaration of every hooked libc function; each row names a helper of
//! [`path`] (plain mapping) or a gate in a family module ([`fs`], [`dirs`],
//! [`net`]).
//!
//! Hot-path rules (DESIGN §6): no heap allocation, no locks, no std::fs or
//! std::env (they would re-enter our own hooks), no panic across the FFI
//! boundary ([`hook::boundary`] catches and fails closed with EIO).

// The hook table's macro handles one row per recursion step.
#![recursion_limit = "1024"]

#[macro_use]
mod hook;
mod cache;
mod cstr;
mod dirs;
mod exec;
mod fs;
mod log;
mod net;
mod path;
mod real;
mod state;
mod table;
mod vperm;

/// Runs when the library is loaded: attaches to the session. Real
/// functions are resolved lazily, on a hook's first call: resolving all of
/// them here would cost every exec more than the rest of our start-up.
/// (A vfork child may be the first caller; `dlsym` is safe there, since the
/// suspended parent cannot be inside the loader while it waits in vfork.)
///
/// glibc passes `argc, argv, envp` to `.init_array` functions: a process
/// exec'd without the exec pipeline re-plans itself with them
/// ([`exec::replan_if_unplanned`]).
extern "C" fn sb2_init(
    _argc: core::ffi::c_int,
    argv: *const *const core::ffi::c_char,
    _envp: *const *const core::ffi::c_char,
) {
    state::init();
    if state::active() {
        exec::replan_if_unplanned(argv);
    }
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
