//! Slots for the real libc functions: looked up once with
//! `dlsym(RTLD_NEXT, name)` (or, for a symbol glibc keeps only for old
//! binaries, `dlvsym` of its base version), and kept in an atomic, a
//! missing one too (no lock, safe after fork and in a vfork child).
//!
//! Every hook has its own slot (made by `hooks!`). The few real functions
//! a family calls outside its own hook's row (the exec pipeline ends in
//! the real execve or posix_spawn whatever exec function was called) have
//! their slots here, so that no family reaches into the generated table.

use core::ffi::c_void;
use core::sync::atomic::{AtomicPtr, Ordering};

/// The address of the next definition of one symbol. The name is not
/// stored (a pointer in a static is a relocation the loader writes in
/// every process at start, on a page it must copy): each caller passes
/// its own literal.
pub struct Slot {
    ptr: AtomicPtr<c_void>,
}

impl Slot {
    pub const fn new() -> Slot {
        Slot {
            ptr: AtomicPtr::new(core::ptr::null_mut()),
        }
    }

    /// The real function `name` (with its terminating NUL), resolved on
    /// first use; None if libc lacks it.
    #[inline]
    pub fn get(&self, name: &'static str) -> Option<*mut c_void> {
        let p = self.ptr.load(Ordering::Acquire);
        if p == ABSENT {
            return None;
        }
        if !p.is_null() {
            return Some(p);
        }
        self.resolve(name)
    }

    #[cold]
    pub fn resolve(&self, name: &'static str) -> Option<*mut c_void> {
        if name.as_bytes().last() != Some(&0) {
            return None;
        }
        let name = name.as_ptr() as *const libc::c_char;
        // SAFETY: name is NUL-terminated (checked).
        let mut p = unsafe { sb2_dlsym(libc::RTLD_NEXT, name) };
        if p.is_null() {
            if let Some(v) = BASE_VERSION {
                // A symbol glibc keeps only for old binaries (__res_query
                // since 2.34) has no default version, so dlsym cannot see
                // it; the programs that call it were linked against the
                // base version.
                // SAFETY: both strings are NUL-terminated.
                p = unsafe { sb2_dlvsym(libc::RTLD_NEXT, name, v.as_ptr()) };
            }
        }
        if p.is_null() {
            // Looked up once: the loader's lock is not taken again.
            self.ptr.store(ABSENT, Ordering::Release);
            return None;
        }
        self.ptr.store(p, Ordering::Release);
        Some(p)
    }
}

extern "C" {
    // dlsym and dlvsym at glibc's base version, which every glibc has (in
    // libdl.so.2 before 2.34, which they load if the program did not): the
    // library's glibc floor, src/glibc_floor.c. RTLD_NEXT still means
    // "after libsb2.so": they are part of it.
    fn sb2_dlsym(handle: *mut c_void, name: *const libc::c_char) -> *mut c_void;
    fn sb2_dlvsym(
        handle: *mut c_void,
        name: *const libc::c_char,
        version: *const libc::c_char,
    ) -> *mut c_void;
}

/// A slot's value for "libc has no such function".
const ABSENT: *mut c_void = core::ptr::dangling_mut();

/// glibc's first symbol version on this architecture (where we know it;
/// src/glibc_floor.c and build.rs name the same).
#[cfg(target_arch = "x86_64")]
const BASE_VERSION: Option<&core::ffi::CStr> = Some(c"GLIBC_2.2.5");
#[cfg(target_arch = "aarch64")]
const BASE_VERSION: Option<&core::ffi::CStr> = Some(c"GLIBC_2.17");
#[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
const BASE_VERSION: Option<&core::ffi::CStr> = None;

/// The real execve: where every exec of the pipeline ends.
pub static EXECVE: Slot = Slot::new();
const EXECVE_NAME: &str = "execve\0";
/// The real posix_spawn: posix_spawn(p), system and popen end there.
pub static POSIX_SPAWN: Slot = Slot::new();
const POSIX_SPAWN_NAME: &str = "posix_spawn\0";
/// The real getgrouplist: initgroups' group list when /etc/group is the
/// host's.
pub static GETGROUPLIST: Slot = Slot::new();
const GETGROUPLIST_NAME: &str = "getgrouplist\0";

type Argv = *const *const libc::c_char;
type ExecFn = unsafe extern "C" fn(*const libc::c_char, Argv, Argv) -> i32;
type SpawnFn = unsafe extern "C" fn(
    *mut libc::pid_t,
    *const libc::c_char,
    *const c_void,
    *const c_void,
    Argv,
    Argv,
) -> i32;

/// Calls the real execve (its errno is the call's answer): where every
/// exec of the pipeline ends, in the exec path's section.
#[link_section = ".text.hot.sb2"]
pub fn execve(path: *const libc::c_char, argv: Argv, envp: Argv) -> i32 {
    let Some(f) = EXECVE.get(EXECVE_NAME) else {
        super::hook::answer_errno(libc::ENOSYS);
        return -1;
    };
    // SAFETY: the slot holds libc's execve, of this C type.
    let f = unsafe { core::mem::transmute::<*mut c_void, ExecFn>(f) };
    super::hook::calling_real();
    // SAFETY: NUL-terminated path and NULL-terminated arrays from the
    // exec pipeline (or the caller's own).
    unsafe { f(path, argv, envp) }
}

/// Looks up the real execve and posix_spawn now (see `process::cache`'s
/// fork handler), if not done yet.
pub fn resolve_exec() {
    let _ = EXECVE.get(EXECVE_NAME);
    let _ = POSIX_SPAWN.get(POSIX_SPAWN_NAME);
}

/// Does libc have posix_spawn?
pub fn has_posix_spawn() -> bool {
    POSIX_SPAWN.get(POSIX_SPAWN_NAME).is_some()
}

/// Calls the real posix_spawn; ENOSYS if libc lacks it.
pub fn posix_spawn(
    pid: *mut libc::pid_t,
    path: *const libc::c_char,
    actions: *const c_void,
    attr: *const c_void,
    argv: Argv,
    envp: Argv,
) -> i32 {
    let Some(f) = POSIX_SPAWN.get(POSIX_SPAWN_NAME) else {
        return libc::ENOSYS;
    };
    // SAFETY: the slot holds libc's posix_spawn, of this C type.
    let f = unsafe { core::mem::transmute::<*mut c_void, SpawnFn>(f) };
    super::hook::calling_real();
    // SAFETY: the caller's pid pointer, file actions and attributes, with
    // the pipeline's NUL-terminated path and NULL-terminated arrays.
    unsafe { f(pid, path, actions, attr, argv, envp) }
}

type GroupListFn =
    unsafe extern "C" fn(*const libc::c_char, libc::gid_t, *mut libc::gid_t, *mut i32) -> i32;

/// glibc's group list of `user` (nsswitch), `group` first, into `out`;
/// how many it filled (all of `out` when there are more). A lookup, not
/// the call's answer: errno is not touched for the caller.
pub fn getgrouplist(
    user: *const libc::c_char,
    group: libc::gid_t,
    out: &mut [libc::gid_t],
) -> usize {
    let Some(f) = GETGROUPLIST.get(GETGROUPLIST_NAME) else {
        return 0;
    };
    // SAFETY: the slot holds libc's getgrouplist, of this C type.
    let f = unsafe { core::mem::transmute::<*mut c_void, GroupListFn>(f) };
    let mut n = out.len() as i32;
    // SAFETY: our buffer and its size; user is the caller's string.
    let r = unsafe { f(user, group, out.as_mut_ptr(), &mut n) };
    if r < 0 {
        out.len()
    } else {
        (n.max(0) as usize).min(out.len())
    }
}
