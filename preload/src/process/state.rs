//! Per-process state: the session's ruletree, mapped read-only once and used
//! in place, and the facts rules depend on (mode, program name, exec policy).
//!
//! Initialization is lazy and lock-free: racing threads may both map the
//! tree; one wins the compare-and-swap, the other unmaps its copy. Everything
//! is inherited unchanged by fork and vfork children.
//!
//! Attaching initializes the whole process layer (caches, log, virtual
//! permissions) and records what the families need of the session (the
//! environment entries an exec must carry on, whether this process is the
//! CPU transparency command), but calls no family: a hook may be the first
//! caller (another library's constructor runs before ours), and the layers
//! above do their part from the library's constructor.

use crate::ffi::sys;
use core::sync::atomic::{AtomicBool, AtomicPtr, AtomicU8, AtomicUsize, Ordering};
use sb2_ruletree::contract::{self, key};
use sb2_ruletree::format::{ModeRef, Tree};
use sb2_ruletree::mapping::{Ctx, PathBuf};
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

/// "SB2_SESSION_DIR=..." and "SB2_SESSION_MODE=..." as this process got
/// them (environ entries, never freed), for the exec pipeline to put back
/// into an environment that lost them.
static SESSION_ENTRY: AtomicPtr<libc::c_char> = AtomicPtr::new(core::ptr::null_mut());
static MODE_ENTRY: AtomicPtr<libc::c_char> = AtomicPtr::new(core::ptr::null_mut());
/// This process is the session's CPU transparency command (qemu): it runs
/// detached from the session.
static CPU_TRANSPARENCY: AtomicBool = AtomicBool::new(false);

/// The environment variable naming the session directory: its presence is
/// what makes a process part of a session.
pub const SESSION_VAR: &[u8] = contract::SESSION_VAR.as_bytes();
/// Selects one of the session's modes for this process.
pub const MODE_VAR: &[u8] = contract::MODE_VAR.as_bytes();
/// The active exec policy (set by the exec logic).
pub const POLICY_VAR: &[u8] = contract::POLICY_VAR.as_bytes();

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
            // The first hooked call attaches, before any hook's boundary:
            // a panic here must not unwind into C. It fails closed, as a
            // session that cannot be used does.
            if !crate::ffi::hook::no_unwind(false, || {
                init();
                true
            }) {
                let _ = STATE.compare_exchange(UNINIT, BROKEN, Ordering::AcqRel, Ordering::Acquire);
            }
            STATE.load(Ordering::Acquire) != NONE
        }
        _ => true,
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
    if env(contract::DISABLE_VAR.as_bytes()).is_some_and(|v| !v.is_empty()) {
        STATE.store(NONE, Ordering::Release);
        return;
    }
    let mut p = PathBuf::new();
    let res = match session_file(&mut p, dir, contract::RULETREE_FILE) {
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
                // SAFETY: our own fresh mapping, unused by anyone.
                unsafe { sys::munmap(ptr, len) };
                return;
            }
            LEN.store(len, Ordering::Release);
            // SAFETY: the mapping is read-only and lives for the process.
            let tree = Tree::verified(unsafe { core::slice::from_raw_parts(ptr, len) });
            if is_cpu_transparency(&tree) {
                CPU_TRANSPARENCY.store(true, Ordering::Release);
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
            let mode = tree
                .mode(MODE.load(Ordering::Relaxed) as u32)
                .or(tree.mode(0))
                .map_or(&b""[..], |m| m.name());
            super::chroot::init(|m| sb2_ruletree::mapping::session_mounts(&tree, mode, m));
            super::vperm::init(dir);
            super::cache::init();
            keep_entry(&SESSION_ENTRY, SESSION_VAR);
            keep_entry(&MODE_ENTRY, MODE_VAR);
            let constant = |k: &str| tree.constant(k.as_bytes());
            if let (Some(level), Some(file)) = (constant(key::LOG_LEVEL), constant(key::LOG_FILE)) {
                super::log::init(level, file);
            }
            super::log::init_files(
                constant(key::TRACE_FILE).unwrap_or(b""),
                constant(key::VIOLATIONS_FILE).unwrap_or(b""),
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
                super::log::say(&[
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

/// `dir/name` into `p`.
fn session_file(p: &mut PathBuf, dir: &[u8], name: &str) -> Result<(), Errno> {
    p.set(dir)?;
    p.push(b"/")?;
    p.push(name.as_bytes())
}

/// Maps the session's shared generation counter (see `cache`); without it
/// nothing is cached.
fn map_generation(dir: &[u8]) {
    let mut p = PathBuf::new();
    if session_file(&mut p, dir, contract::GENERATION_FILE).is_err() {
        return;
    }
    if let Some((m, _)) = sys::mmap_shared(p.as_ptr(), Some(contract::GENERATION_LEN)) {
        super::cache::SHARED_GEN.store(m as *mut core::sync::atomic::AtomicU64, Ordering::Release);
    }
}

/// Maps a session file (`dir/name`) shared and writable for the life of
/// the process, all of it.
pub fn map_session_file(dir: &[u8], name: &str) -> Option<(*mut u8, usize)> {
    let mut p = PathBuf::new();
    session_file(&mut p, dir, name).ok()?;
    sys::mmap_shared(p.as_ptr(), None)
}

fn map_tree(path: *const libc::c_char) -> Result<(*mut u8, usize), &'static str> {
    let fd = sys::open(path, libc::O_RDONLY | libc::O_CLOEXEC, 0)
        .map_err(|_| "its ruletree.bin cannot be opened (was the session directory removed?)")?;
    let len = match sys::fstat(fd.raw()) {
        Ok(st) if st.st_size > 0 => st.st_size as usize,
        _ => return Err("its ruletree.bin is empty"),
    };
    let p = sys::mmap(fd.raw(), len, libc::PROT_READ, libc::MAP_PRIVATE)
        .map_err(|_| "its ruletree.bin cannot be mapped")?;
    // SAFETY: a fresh read-only mapping of len bytes.
    let data = unsafe { core::slice::from_raw_parts(p as *const u8, len) };
    if let Err(e) = Tree::new(data) {
        // SAFETY: our own mapping; `data` is not used again.
        unsafe { sys::munmap(p, len) };
        return Err(e.message());
    }
    Ok((p, len))
}

/// Remembers the environ entry `NAME=value` of `name`, if there is one.
fn keep_entry(slot: &AtomicPtr<libc::c_char>, name: &[u8]) {
    if let Some(v) = env(name) {
        // The value is in the middle of its environ entry "NAME=value".
        let entry = v.as_ptr().wrapping_sub(name.len() + 1);
        slot.store(entry as *mut libc::c_char, Ordering::Release);
    }
}

/// The environ entries `SB2_SESSION_DIR=...` and `SB2_SESSION_MODE=...`
/// this process started with (null when absent).
pub fn session_entries() -> (*const libc::c_char, *const libc::c_char) {
    (
        SESSION_ENTRY.load(Ordering::Acquire),
        MODE_ENTRY.load(Ordering::Acquire),
    )
}

/// Is this process the CPU transparency command (qemu) of the session?
/// Then it runs without the session: qemu's own file accesses are host
/// paths (its `-L` prefix probes), and the guest makes raw system calls
/// the library could not see anyway.
fn is_cpu_transparency(tree: &Tree) -> bool {
    let Some(q) = tree
        .constant(key::CPU_TRANSPARENCY.as_bytes())
        .filter(|q| !q.is_empty())
    else {
        return false;
    };
    let mut exe = PathBuf::new();
    sys::readlink(c"/proc/self/exe".as_ptr(), &mut exe).is_ok() && exe.as_bytes() == q
}

/// The session's tree, when this process is its CPU transparency command
/// (which runs detached; the exec family then sets up its namespace).
pub fn cpu_transparency_tree() -> Option<Tree<'static>> {
    if !CPU_TRANSPARENCY.load(Ordering::Acquire) {
        return None;
    }
    tree()
}

/// The mapped tree, whether or not this process uses the session.
fn tree() -> Option<Tree<'static>> {
    let ptr = DATA.load(Ordering::Acquire);
    let len = LEN.load(Ordering::Acquire);
    if ptr.is_null() || len == 0 {
        return None;
    }
    // SAFETY: set once in init() to a live read-only mapping of `len` bytes
    // that is never unmapped.
    Some(Tree::verified(unsafe {
        core::slice::from_raw_parts(ptr, len)
    }))
}

/// The mapping context of this process, or EIO if the session is broken.
#[inline]
pub fn ctx() -> Result<Ctx<'static>, Errno> {
    if STATE.load(Ordering::Acquire) != READY {
        return Err(Errno::EIO);
    }
    let tree = tree().ok_or(Errno::EIO)?;
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
        is_root: super::vperm::is_root(),
        chroot: super::chroot::current(),
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

/// The host path of the program this process runs when the exec pipeline
/// started it through a loader (`ld.so PROG`: no AT_BASE, and the loader
/// made PROG the AT_EXECFN).
pub fn loaded_program() -> Option<&'static [u8]> {
    // SAFETY: getauxval has no preconditions; AT_EXECFN is the filename
    // given to execve, NUL-terminated, on the initial stack.
    let (base, execfn) = unsafe {
        (
            libc::getauxval(libc::AT_BASE),
            libc::getauxval(libc::AT_EXECFN) as *const libc::c_char,
        )
    };
    if base != 0 || execfn.is_null() {
        return None;
    }
    // SAFETY: as above.
    let execfn = unsafe { core::ffi::CStr::from_ptr(execfn) }.to_bytes();
    env(sb2_ruletree::contract::EXE_VAR.as_bytes()).filter(|e| *e == execfn)
}
