//! Exec gates (first part of DESIGN §7): the session survives exec. When a
//! program execs with an environment that lost `SB2_SESSION_DIR` or our
//! entry in `LD_PRELOAD` (`env -i`, build tools that sanitize the
//! environment), they are put back, in front of the user's own
//! `LD_PRELOAD`. Program paths are not mapped yet (exec policies, `#!`
//! interpreters and CPU transparency come with the rest of §7).
//!
//! `uname` reports the target's machine name (`sb2-init -M`, default the
//! target architecture), as Scratchbox2 does, so `uname -m` in a session
//! answers for the machine the build is for.
//!
//! These run in vfork children (shells and make use vfork; posix_spawn
//! does): the new environment is built in memory from mmap, never malloc,
//! and no lock is taken.

use core::sync::atomic::{AtomicPtr, AtomicUsize, Ordering};
use libc::c_char;
use sb2_ruletree::Errno;

type Env = *const *const c_char;

/// "SB2_SESSION_DIR=..." as this process got it, and our library's path.
static SESSION_ENTRY: AtomicPtr<c_char> = AtomicPtr::new(core::ptr::null_mut());
static LIB: AtomicPtr<c_char> = AtomicPtr::new(core::ptr::null_mut());
static LIB_LEN: AtomicUsize = AtomicUsize::new(0);

/// Called once the session is attached.
pub fn init() {
    if let Some(v) = crate::state::env(crate::state::SESSION_VAR) {
        let entry = v.as_ptr().wrapping_sub(crate::state::SESSION_VAR.len() + 1);
        SESSION_ENTRY.store(entry as *mut c_char, Ordering::Release);
    }
    // SAFETY: dladdr on one of our own functions; dli_fname lives as long
    // as the library stays loaded (for good: it is preloaded).
    unsafe {
        let mut info: libc::Dl_info = core::mem::zeroed();
        if libc::dladdr(init as *const libc::c_void, &mut info) != 0 && !info.dli_fname.is_null() {
            LIB.store(info.dli_fname as *mut c_char, Ordering::Release);
            LIB_LEN.store(libc::strlen(info.dli_fname), Ordering::Release);
        }
    }
}

fn bytes<'a>(p: *const c_char) -> &'a [u8] {
    // SAFETY: environment entries and our statics are NUL-terminated.
    unsafe { core::ffi::CStr::from_ptr(p) }.to_bytes()
}

/// Memory from mmap, unmapped on drop (safe in a vfork child).
struct Block {
    p: *mut u8,
    len: usize,
}

impl Block {
    fn new(len: usize) -> Result<Block, Errno> {
        // SAFETY: an anonymous private mapping; raw syscall (mmap is not
        // hooked, but this keeps allocation visible as what it is).
        let p = unsafe {
            libc::mmap(
                core::ptr::null_mut(),
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                -1,
                0,
            )
        };
        if p == libc::MAP_FAILED {
            return Err(Errno(libc::ENOMEM));
        }
        Ok(Block {
            p: p as *mut u8,
            len,
        })
    }
}

impl Drop for Block {
    fn drop(&mut self) {
        // SAFETY: our own mapping (raw syscall: munmap is one of our hooks).
        unsafe { libc::syscall(libc::SYS_munmap, self.p, self.len) };
    }
}

/// Calls `f` with `envp` (NULL = `environ`), or with a copy that has the
/// session's variables back if it lost them.
pub fn with_session_env<R>(envp: Env, f: impl FnOnce(Env) -> R) -> Result<R, Errno> {
    let envp: Env = if envp.is_null() {
        extern "C" {
            static environ: *const *const c_char;
        }
        // SAFETY: reading libc's environ pointer.
        unsafe { environ }
    } else {
        envp
    };
    let session = SESSION_ENTRY.load(Ordering::Acquire);
    let lib = LIB.load(Ordering::Acquire);
    if session.is_null() || lib.is_null() || envp.is_null() {
        return Ok(f(envp));
    }
    let lib = bytes(lib);
    let sess_key = &bytes(session)[..crate::state::SESSION_VAR.len() + 1];
    let (mut n, mut has_session, mut preload_at, mut has_lib) = (0usize, false, None, false);
    // SAFETY: envp is a NULL-terminated array (exec contract).
    while let Some(e) = unsafe { (*envp.add(n)).as_ref() } {
        let e = bytes(e);
        if e.starts_with(sess_key) {
            has_session = true;
        } else if let Some(v) = e.strip_prefix(b"LD_PRELOAD=") {
            preload_at = Some(n);
            has_lib = v.split(|c| *c == b':' || *c == b' ').any(|x| x == lib);
        }
        n += 1;
    }
    if has_session && has_lib {
        return Ok(f(envp));
    }
    // New array: every entry, our LD_PRELOAD in place of (or added to) the
    // old one, the session variable added; then the new LD_PRELOAD text.
    let old = preload_at.map(|i| {
        // SAFETY: i < n, an entry of envp.
        bytes(unsafe { *envp.add(i) })
            .get(b"LD_PRELOAD=".len()..)
            .unwrap_or(&[])
    });
    let text_len = b"LD_PRELOAD=".len() + lib.len() + 1 + old.map_or(0, <[u8]>::len) + 1;
    let ptrs = (n + 3) * core::mem::size_of::<*const c_char>();
    let block = Block::new(ptrs + text_len)?;
    // SAFETY: the block holds `ptrs` bytes of pointers then the text.
    unsafe {
        let arr = block.p as *mut *const c_char;
        let text = block.p.add(ptrs);
        let mut t = 0usize;
        for part in [&b"LD_PRELOAD="[..], lib] {
            core::ptr::copy_nonoverlapping(part.as_ptr(), text.add(t), part.len());
            t += part.len();
        }
        if let Some(o) = old.filter(|o| !o.is_empty()) {
            *text.add(t) = b':';
            t += 1;
            core::ptr::copy_nonoverlapping(o.as_ptr(), text.add(t), o.len());
            t += o.len();
        }
        *text.add(t) = 0;
        let mut k = 0usize;
        for i in 0..n {
            let e = *envp.add(i);
            *arr.add(k) = if Some(i) == preload_at && !has_lib {
                text as *const c_char
            } else {
                e
            };
            k += 1;
        }
        if preload_at.is_none() {
            *arr.add(k) = text as *const c_char;
            k += 1;
        }
        if !has_session {
            *arr.add(k) = session;
            k += 1;
        }
        *arr.add(k) = core::ptr::null();
        Ok(f(arr as Env))
    }
}

/// posix_spawn returns its error instead of setting errno.
pub fn spawn_result(r: Result<i32, Errno>) -> Result<i32, Errno> {
    Ok(r.unwrap_or_else(|e| e.0))
}

type ExecFn =
    unsafe extern "C" fn(*const c_char, *const *const c_char, *const *const c_char) -> i32;

fn call(slot: &crate::real::Slot, p: *const c_char, argv: Env, envp: Env) -> i32 {
    match slot.get() {
        // SAFETY: the slot holds libc's execve/execvpe, of this C type.
        Some(f) => unsafe { core::mem::transmute::<*mut libc::c_void, ExecFn>(f)(p, argv, envp) },
        None => {
            crate::hook::set_errno(libc::ENOSYS);
            -1
        }
    }
}

/// execv is execve with `environ`; glibc's execv reaches the kernel
/// internally, so it is hooked on its own and sent to the real execve.
pub fn execve(p: *const c_char, argv: Env, envp: Env) -> i32 {
    call(&crate::table::execve::SLOT, p, argv, envp)
}

/// execvp is execvpe with `environ` (the same PATH search).
pub fn execvpe(p: *const c_char, argv: Env, envp: Env) -> i32 {
    call(&crate::table::execvpe::SLOT, p, argv, envp)
}

/// uname: the real answer with `machine` replaced by the target's.
pub fn uname(
    buf: *mut libc::utsname,
    real: impl FnOnce(*mut libc::utsname) -> i32,
) -> Result<i32, Errno> {
    let r = real(buf);
    if r != 0 || buf.is_null() {
        return Ok(r);
    }
    let Ok(ctx) = crate::state::ctx() else {
        return Ok(r);
    };
    let Some(m) = ctx
        .tree
        .constant(b"sbox_uname_machine")
        .filter(|m| !m.is_empty())
    else {
        return Ok(r);
    };
    // SAFETY: the real uname filled in the caller's buffer.
    let field = unsafe { &mut (*buf).machine };
    let n = m.len().min(field.len() - 1);
    for (d, s) in field.iter_mut().zip(m.iter().take(n)) {
        *d = *s as c_char;
    }
    if let Some(z) = field.get_mut(n) {
        *z = 0;
    }
    Ok(r)
}
