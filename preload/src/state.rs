//! Per-process state: the session's ruletree, mapped read-only once and used
//! in place, and the facts rules depend on (mode, program name, exec policy).
//!
//! Initialization is lazy and lock-free: racing threads may both map the
//! tree; one wins the compare-and-swap, the other unmaps its copy. Everything
//! is inherited unchanged by fork and vfork children.

use core::sync::atomic::{AtomicPtr, AtomicU8, AtomicUsize, Ordering};
use sb2_ruletree::format::{ModeRef, Tree};
use sb2_ruletree::mapping::Ctx;
use sb2_ruletree::Errno;

const UNINIT: u8 = 0;
const NONE: u8 = 1;
const READY: u8 = 2;
const BROKEN: u8 = 3;

static STATE: AtomicU8 = AtomicU8::new(UNINIT);
static DATA: AtomicPtr<u8> = AtomicPtr::new(core::ptr::null_mut());
static LEN: AtomicUsize = AtomicUsize::new(0);
static MODE: AtomicUsize = AtomicUsize::new(0);
static POLICY: AtomicPtr<u8> = AtomicPtr::new(core::ptr::null_mut());
static POLICY_LEN: AtomicUsize = AtomicUsize::new(0);

/// The environment variable naming the session directory: the whole
/// launcher → preload contract (DESIGN §3).
pub const SESSION_VAR: &[u8] = b"SB2_SESSION_DIR";
/// Selects one of the session's modes for this process.
pub const MODE_VAR: &[u8] = b"SB2_SESSION_MODE";
/// The active exec policy (set by the exec logic).
pub const POLICY_VAR: &[u8] = sb2_ruletree::exec::POLICY_VAR;

extern "C" {
    static program_invocation_short_name: *const libc::c_char;
}

pub use sb2_ruletree::sys::env;

/// Is this process in a session? Initializes on first use.
#[inline]
pub fn active() -> bool {
    match STATE.load(Ordering::Acquire) {
        NONE => false,
        UNINIT => {
            init();
            STATE.load(Ordering::Acquire) != NONE
        }
        _ => true,
    }
}

pub fn say(parts: &[&[u8]]) {
    for p in parts {
        // SAFETY: writing a valid buffer to stderr; failures are ignored.
        unsafe { libc::write(2, p.as_ptr() as *const libc::c_void, p.len()) };
    }
}

/// Attaches to the session named by `SB2_SESSION_DIR`, if any.
pub fn init() {
    if STATE.load(Ordering::Acquire) != UNINIT {
        return;
    }
    let Some(dir) = env(SESSION_VAR).filter(|d| !d.is_empty()) else {
        STATE.store(NONE, Ordering::Release);
        return;
    };
    // `host-gcc` and friends: this process tree runs unmapped.
    if env(b"SBOX_DISABLE_MAPPING").is_some_and(|v| !v.is_empty()) {
        STATE.store(NONE, Ordering::Release);
        return;
    }
    let mut p = sb2_ruletree::mapping::PathBuf::new();
    let ok = p.set(dir).and_then(|_| p.push(b"/ruletree.bin"));
    let res = match ok {
        Ok(()) => map_tree(p.as_ptr()),
        Err(_) => Err("its path is too long"),
    };
    match res {
        Ok((ptr, len)) => {
            if DATA
                .compare_exchange(
                    core::ptr::null_mut(),
                    ptr,
                    Ordering::AcqRel,
                    Ordering::Acquire,
                )
                .is_err()
            {
                // SAFETY: our own fresh mapping, unused by anyone. (A raw
                // system call: munmap is one of our hooks.)
                unsafe { libc::syscall(libc::SYS_munmap, ptr as *mut libc::c_void, len) };
                return;
            }
            LEN.store(len, Ordering::Release);
            // SAFETY: the mapping is read-only and lives for the process.
            let tree = Tree::verified(unsafe { core::slice::from_raw_parts(ptr, len) });
            if crate::exec::in_cpu_transparency(&tree) {
                STATE.store(NONE, Ordering::Release);
                return;
            }
            if let Some(name) = env(MODE_VAR) {
                if let Some(i) =
                    (0..tree.n_modes()).find(|i| tree.mode(*i).is_some_and(|m| m.name() == name))
                {
                    MODE.store(i as usize, Ordering::Release);
                }
            }
            map_generation(dir);
            crate::vperm::init(dir);
            crate::cache::init();
            crate::exec::init(&tree);
            if let (Some(level), Some(file)) =
                (tree.constant(b"log_level"), tree.constant(b"log_file"))
            {
                crate::log::init(level, file);
            }
            crate::log::init_files(
                tree.constant(b"trace_file").unwrap_or(b""),
                tree.constant(b"violations_file").unwrap_or(b""),
            );
            if let Some(pol) = env(POLICY_VAR) {
                POLICY.store(pol.as_ptr() as *mut u8, Ordering::Release);
                POLICY_LEN.store(pol.len(), Ordering::Release);
            }
            STATE.store(READY, Ordering::Release);
        }
        Err(msg) => {
            if STATE
                .compare_exchange(UNINIT, BROKEN, Ordering::AcqRel, Ordering::Acquire)
                .is_ok()
            {
                say(&[
                    b"sb2: cannot use session '",
                    dir,
                    b"': ",
                    msg.as_bytes(),
                    b"; file system calls fail with EIO\n",
                ]);
            }
        }
    }
}

/// Maps the session's shared generation counter (see `cache`); without it
/// nothing is cached.
fn map_generation(dir: &[u8]) {
    let mut p = sb2_ruletree::mapping::PathBuf::new();
    if p.set(dir).and_then(|_| p.push(b"/generation")).is_err() {
        return;
    }
    let len = crate::cache::SHARED_LEN;
    if let Some((m, _)) = map_shared(p.as_ptr(), Some(len)) {
        crate::cache::SHARED_GEN.store(m as *mut core::sync::atomic::AtomicU64, Ordering::Release);
    }
}

/// Maps a session file shared and writable for the life of the process:
/// its first `len` bytes (the file must be that long), or all of it.
/// Raw system calls only: this runs before the session is ready.
pub fn map_shared(path: *const libc::c_char, len: Option<usize>) -> Option<(*mut u8, usize)> {
    // SAFETY: raw syscalls on a NUL-terminated path and our stat buffer.
    unsafe {
        let fd = libc::syscall(
            libc::SYS_openat,
            libc::AT_FDCWD,
            path,
            libc::O_RDWR | libc::O_CLOEXEC,
        ) as i32;
        if fd < 0 {
            return None;
        }
        let mut st: libc::stat = core::mem::zeroed();
        let ok = libc::syscall(libc::SYS_fstat, fd, &mut st) == 0;
        let size = st.st_size.max(0) as usize;
        let len = len.unwrap_or(size);
        let m = if ok && len > 0 && size >= len {
            libc::mmap(
                core::ptr::null_mut(),
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_SHARED,
                fd,
                0,
            )
        } else {
            libc::MAP_FAILED
        };
        libc::syscall(libc::SYS_close, fd);
        (m != libc::MAP_FAILED).then_some((m as *mut u8, len))
    }
}

fn map_tree(path: *const libc::c_char) -> Result<(*mut u8, usize), &'static str> {
    // SAFETY: raw syscalls on a NUL-terminated path and our own stat buffer.
    unsafe {
        let fd = libc::syscall(
            libc::SYS_openat,
            libc::AT_FDCWD,
            path,
            libc::O_RDONLY | libc::O_CLOEXEC,
        ) as i32;
        if fd < 0 {
            return Err("its ruletree.bin cannot be opened (was the session directory removed?)");
        }
        let mut st: libc::stat = core::mem::zeroed();
        if libc::syscall(libc::SYS_fstat, fd, &mut st) != 0 || st.st_size <= 0 {
            libc::close(fd);
            return Err("its ruletree.bin is empty");
        }
        let len = st.st_size as usize;
        let p = libc::mmap(
            core::ptr::null_mut(),
            len,
            libc::PROT_READ,
            libc::MAP_PRIVATE,
            fd,
            0,
        );
        libc::close(fd);
        if p == libc::MAP_FAILED {
            return Err("its ruletree.bin cannot be mapped");
        }
        let data = core::slice::from_raw_parts(p as *const u8, len);
        if let Err(e) = Tree::new(data) {
            libc::syscall(libc::SYS_munmap, p, len);
            return Err(e.message());
        }
        Ok((p as *mut u8, len))
    }
}

/// The mapping context of this process, or EIO if the session is broken.
#[inline]
pub fn ctx() -> Result<Ctx<'static>, Errno> {
    if STATE.load(Ordering::Acquire) != READY {
        return Err(Errno::EIO);
    }
    let ptr = DATA.load(Ordering::Acquire);
    let len = LEN.load(Ordering::Acquire);
    // SAFETY: set once in init() to a live read-only mapping of `len` bytes
    // that is never unmapped.
    let tree = Tree::verified(unsafe { core::slice::from_raw_parts(ptr, len) });
    let mode: ModeRef<'static> = tree
        .mode(MODE.load(Ordering::Relaxed) as u32)
        .or(tree.mode(0))
        .ok_or(Errno::EIO)?;
    let pol = POLICY.load(Ordering::Relaxed);
    let exec_policy: &'static [u8] = if pol.is_null() {
        b""
    } else {
        // SAFETY: points into an environ string, which libc never frees.
        unsafe { core::slice::from_raw_parts(pol, POLICY_LEN.load(Ordering::Relaxed)) }
    };
    Ok(Ctx {
        tree,
        mode,
        binary_name: binary_name(),
        exec_policy,
        is_root: crate::vperm::is_root(),
    })
}

/// The calling program's name, as glibc recorded it from argv[0].
pub fn binary_name() -> &'static [u8] {
    // SAFETY: glibc sets this to a NUL-terminated string before main.
    unsafe {
        let p = program_invocation_short_name;
        if p.is_null() {
            return b"";
        }
        core::ffi::CStr::from_ptr(p).to_bytes()
    }
}
