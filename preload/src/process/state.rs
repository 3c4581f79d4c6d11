//! Per-process state: the session's ruletree, mapped read-only and used
//! in place, and the facts rules depend on (mode, program name, exec
//! policy).
//!
//! Two steps, both lock-free. Before `main`, [`init`] captures the
//! session's variables from the environment (one pass) and decides whether
//! the process is in a session at all; that is all most short processes
//! of a build ever need (`true`, `echo`, `test`...). At the first hooked
//! call that needs the session, [`active`] attaches: maps the tree, the
//! generation file and the vperm table, and initializes the process layer.
//! Racing threads may both map the tree; one wins the compare-and-swap,
//! the other unmaps its mapping. Everything is inherited unchanged by fork
//! and vfork children (a vfork child that attaches attaches its parent
//! too: they share the memory).
//!
//! Attaching calls no family: a hook may be the first caller (another
//! library's constructor runs before ours), and the layers above do their
//! part from the library's constructor.

use crate::ffi::sys;
use core::sync::atomic::{AtomicBool, AtomicPtr, AtomicU8, AtomicUsize, Ordering};
use sb2_ruletree::contract::{self, key};
use sb2_ruletree::format::{FormatError, ModeRef, Tree};
use sb2_ruletree::mapping::{Ctx, PathBuf};
use sb2_ruletree::Errno;

const UNINIT: u8 = 0;
const NONE: u8 = 1;
const READY: u8 = 2;
const BROKEN: u8 = 3;
/// In a session, not attached yet: the environment is captured, the
/// session's files are not mapped.
const LAZY: u8 = 4;

/// The attach state (in the process's hot page: `hot::HOT`).
static STATE: &AtomicU8 = &super::hot::HOT.state;
/// The mapped tree, its length and the selected mode (in the hot page:
/// every attached process writes them).
static DATA: &AtomicPtr<u8> = &super::hot::HOT.tree;
static LEN: &AtomicUsize = &super::hot::HOT.tree_len;
static MODE: &AtomicUsize = &super::hot::HOT.mode;

/// This process is the session's CPU transparency command (qemu): it runs
/// detached from the session. In the hot page: every process reads it at
/// start, and a page of zeros read first costs a fault of its own.
static CPU_TRANSPARENCY: &AtomicBool = &super::hot::HOT.cpu_transparency;

/// The environment variable naming the session directory: its presence is
/// what makes a process part of a session.
pub const SESSION_VAR: &[u8] = contract::SESSION_VAR.as_bytes();
/// Selects one of the session's modes for this process.
pub const MODE_VAR: &[u8] = contract::MODE_VAR.as_bytes();

extern "C" {
    static program_invocation_short_name: *const libc::c_char;
}

pub use sb2_ruletree::sys::env;

/// The session's variables as this process started with them, captured
/// in one pass over the environment before `main` (or at the first hooked
/// call, if another library's constructor makes one first). The session
/// is attached later, at the first call that needs it, and must not
/// depend on what the program did to its environment meanwhile (`env -i`
/// clears it before its exec).
#[derive(Clone, Copy)]
#[repr(usize)]
pub enum Var {
    Session,
    Mode,
    Policy,
    Ids,
    Chroot,
    ChrootLd,
    Disable,
    Execed,
    Exe,
    Cpu,
}

/// How many variables [`capture`] keeps.
pub const N_VARS: usize = 10;
const VARS: [&str; N_VARS] = [
    contract::SESSION_VAR,
    contract::MODE_VAR,
    contract::POLICY_VAR,
    contract::IDS_VAR,
    contract::CHROOT_VAR,
    contract::CHROOT_LD_VAR,
    contract::DISABLE_VAR,
    contract::EXECED_VAR,
    contract::EXE_VAR,
    contract::CPU_VAR,
];

/// The captured entries `NAME=value` (environ strings, never freed; in
/// the process's hot page: `hot::HOT`).
static START: &[AtomicPtr<u8>; N_VARS] = &super::hot::HOT.start;

/// One pass over `environ`: every session variable's entry.
#[link_section = ".text.hot.sb2.start"]
fn capture() {
    extern "C" {
        static environ: *const *const libc::c_char;
    }
    // SAFETY: environ is a NULL-terminated array of NUL-terminated strings
    // owned by libc for the life of the process; an entry is read only
    // as far as its NUL.
    unsafe {
        let mut e = environ;
        if e.is_null() {
            return;
        }
        while !(*e).is_null() {
            let s = *e as *const u8;
            // All our names start with "SB2_", "__SB2_" or "SBOX_".
            if matches!(*s, b'S' | b'_') {
                let entry = sb2_ruletree::sys::c_bytes(*e);
                for (slot, name) in START.iter().zip(VARS) {
                    let name = name.as_bytes();
                    if entry.len() > name.len()
                        && entry.starts_with(name)
                        && entry.get(name.len()) == Some(&b'=')
                    {
                        slot.store(s as *mut u8, Ordering::Release);
                    }
                }
            }
            e = e.add(1);
        }
    }
}

/// A session variable's value as this process started with it.
#[link_section = ".text.hot.sb2.start"]
pub fn start_env(v: Var) -> Option<&'static [u8]> {
    let (entry, name) = start_entry(v)?;
    entry.get(name + 1..)
}

/// A captured `NAME=value` entry, and the length of NAME.
fn start_entry(v: Var) -> Option<(&'static [u8], usize)> {
    let p = START.get(v as usize)?.load(Ordering::Acquire);
    if p.is_null() {
        return None;
    }
    // SAFETY: an environ string (see `capture`), NUL-terminated and never
    // freed.
    let entry = unsafe { sb2_ruletree::sys::c_bytes(p as *const libc::c_char) };
    Some((entry, VARS.get(v as usize)?.len()))
}

/// Is this process in a session? Attaches on first use.
#[inline]
#[link_section = ".text.hot.sb2"]
pub fn active() -> bool {
    match STATE.load(Ordering::Acquire) {
        NONE => false,
        READY | BROKEN => true,
        _ => {
            // The first hooked call attaches, before any hook's boundary:
            // a panic here must not unwind into C. It fails closed, as a
            // session that cannot be used does.
            if !crate::ffi::hook::no_unwind(false, || {
                init();
                attach();
                true
            }) {
                let _ = STATE.compare_exchange(LAZY, BROKEN, Ordering::AcqRel, Ordering::Acquire);
            }
            STATE.load(Ordering::Acquire) != NONE
        }
    }
}

/// Is this process in a session, attached or not? Never attaches.
#[link_section = ".text.hot.sb2.start"]
pub fn in_session() -> bool {
    init();
    STATE.load(Ordering::Acquire) != NONE
}

/// Finds out, from the environment alone, whether this process is in a
/// session (runs before `main`: most processes of a session make few
/// calls that need the session, and many none; they pay nothing more).
/// The CPU transparency command is recognized here, and its tree mapped:
/// it runs detached, and sets up its namespace before `main`.
#[link_section = ".text.hot.sb2.start"]
pub fn init() {
    if STATE.load(Ordering::Acquire) != UNINIT {
        return;
    }
    capture();
    let Some(dir) = start_env(Var::Session).filter(|d| !d.is_empty()) else {
        STATE.store(NONE, Ordering::Release);
        return;
    };
    // `host-gcc` and friends: this process tree runs unmapped.
    if start_env(Var::Disable).is_some_and(|v| !v.is_empty()) {
        STATE.store(NONE, Ordering::Release);
        return;
    }
    if is_cpu_transparency() {
        if let Ok((ptr, len)) = load_tree(dir) {
            DATA.store(ptr, Ordering::Release);
            LEN.store(len, Ordering::Release);
        }
        CPU_TRANSPARENCY.store(true, Ordering::Release);
        STATE.store(NONE, Ordering::Release);
        return;
    }
    // Before any fork: the caches must know which process they belong to.
    super::cache::init();
    let _ = STATE.compare_exchange(UNINIT, LAZY, Ordering::AcqRel, Ordering::Acquire);
}

/// Attaches to the session: maps its files and sets up the process
/// layer. Threads may race here: each maps what it needs, one mapping
/// of the tree wins, and every step is idempotent.
///
/// The session's files are checked before anything uses them: a missing,
/// truncated, damaged or foreign `ruletree.bin`, generation file or (with
/// `-R`/`-U`) `vperm.db` makes the process's session unusable. It says so
/// once ([`refused`]), and every call that maps a path, plans an exec or
/// judges the network then fails with EIO (`ctx()`): never a crash, never
/// the unmapped host. Any one of them is enough, because each is needed
/// by nearly every call: the tree by all; the generation file by every
/// walk (its cache) and by every rename or removal (which must invalidate
/// the other processes' caches); the vperm table by every stat, create,
/// chown, chmod and exec under `-R`.
#[link_section = ".text.hot.sb2"]
fn attach() {
    if STATE.load(Ordering::Acquire) != LAZY {
        return;
    }
    let Some(dir) = start_env(Var::Session) else {
        return;
    };
    let (ptr, len) = match load_tree(dir) {
        Ok(t) => t,
        Err(r) => return broken(dir, contract::RULETREE_FILE, r),
    };
    let ptr = match DATA.compare_exchange(
        core::ptr::null_mut(),
        ptr,
        Ordering::AcqRel,
        Ordering::Acquire,
    ) {
        Ok(_) => {
            LEN.store(len, Ordering::Release);
            ptr
        }
        Err(winner) => {
            // SAFETY: our own fresh mapping, unused by anyone.
            unsafe { sys::munmap(ptr, len) };
            winner
        }
    };
    // SAFETY: the mapping is read-only and lives for the process (the
    // winner's has the same length: the same file, checked).
    let tree = Tree::verified(unsafe {
        core::slice::from_raw_parts(ptr, LEN.load(Ordering::Acquire).max(len))
    });
    if let Some(name) = start_env(Var::Mode) {
        if let Some(i) =
            (0..tree.n_modes()).find(|i| tree.mode(*i).is_some_and(|m| m.name() == name))
        {
            MODE.store(i as usize, Ordering::Release);
        }
    }
    if let Err(r) = map_generation(dir) {
        return broken(dir, contract::GENERATION_FILE, r);
    }
    let mode = tree
        .mode(MODE.load(Ordering::Relaxed) as u32)
        .or(tree.mode(0))
        .map_or(&b""[..], |m| m.name());
    super::chroot::init(|m| sb2_ruletree::mapping::session_mounts(&tree, mode, m));
    if let Err(r) = super::vperm::init(dir) {
        return broken(dir, contract::VPERM_FILE, r);
    }
    let constant = |k: &str| tree.constant(k.as_bytes());
    if let (Some(level), Some(file)) = (constant(key::LOG_LEVEL), constant(key::LOG_FILE)) {
        super::log::init(level, file);
    }
    super::log::init_files(
        constant(key::TRACE_FILE).unwrap_or(b""),
        constant(key::VIOLATIONS_FILE).unwrap_or(b""),
    );
    let _ = STATE.compare_exchange(LAZY, READY, Ordering::AcqRel, Ordering::Acquire);
}

/// Why a session file cannot be used.
pub enum Refusal {
    /// It cannot be opened or mapped (errno).
    Open(Errno),
    /// Its contents are wrong: what is wrong, in a few words.
    Damaged(&'static str),
    /// A ruletree of another format version.
    Version { found: u32, expected: u32 },
}

/// The session cannot be used: says so (once), and every call that needs
/// it fails with EIO from now on. The virtual ids still hold (they come
/// from the environment, not from a file): `id` under `-R` does not turn
/// into the real user.
fn broken(dir: &[u8], file: &str, r: Refusal) {
    super::vperm::init_ids();
    if STATE
        .compare_exchange(LAZY, BROKEN, Ordering::AcqRel, Ordering::Acquire)
        .is_ok()
    {
        refused(dir, file, &r);
    }
}

/// "sb2: session file DIR/FILE is damaged (WHAT); calls fail with EIO",
/// once per session: the first process to find the damage leaves a marker
/// in the session directory (`logged/`); a process that cannot make one
/// (the directory is gone or read-only) says it anyway.
fn refused(dir: &[u8], file: &str, r: &Refusal) {
    let mut num = [[0u8; 20]; 2];
    let [n0, n1] = &mut num;
    let (verb, what): (&[u8], [&[u8]; 4]) = match r {
        Refusal::Open(e) => (
            b"cannot be opened",
            [
                contract::errno_name(e.0).as_bytes(),
                if *e == Errno::ENOENT {
                    &b": was the session directory removed?"[..]
                } else {
                    b""
                },
                b"",
                b"",
            ],
        ),
        Refusal::Damaged(w) => (b"is damaged", [w.as_bytes(), b"", b"", b""]),
        Refusal::Version { found, expected } => (
            b"is damaged",
            [
                b"format version ",
                sys::dec((*found).into(), n0),
                b", this sb2 reads version ",
                sys::dec((*expected).into(), n1),
            ],
        ),
    };
    let mut key = PathBuf::new();
    let _ = key.set(b"refused/");
    for part in [file.as_bytes(), b"/"].iter().chain(what.iter()) {
        let _ = key.push(part);
    }
    if !super::log::once_per_session(key.as_bytes()) {
        return;
    }
    super::log::say(&[
        b"sb2: session file ",
        dir,
        b"/",
        file.as_bytes(),
        b" ",
        verb,
        b" (",
        what[0],
        what[1],
        what[2],
        what[3],
        b"); calls fail with EIO\n",
    ]);
}

/// `dir/name` into `p`.
fn session_file(p: &mut PathBuf, dir: &[u8], name: &str) -> Result<(), Errno> {
    p.set(dir)?;
    p.push(b"/")?;
    p.push(name.as_bytes())
}

/// Maps the session's shared generation counter and directory cache (see
/// `cache`), after checking its size and header.
fn map_generation(dir: &[u8]) -> Result<(), Refusal> {
    let (m, len) = map_session_file(dir, contract::GENERATION_FILE)?;
    // SAFETY: a live shared mapping of len bytes.
    let head = unsafe { core::slice::from_raw_parts(m as *const u8, len) };
    let head = head.get(..contract::GENERATION_HEADER).unwrap_or(head);
    if let Err(what) = contract::check_generation(len, head) {
        // SAFETY: our own mapping; nothing refers to it.
        unsafe { sys::munmap(m, len) };
        return Err(Refusal::Damaged(what));
    }
    super::cache::SHARED_GEN.store(m as *mut core::sync::atomic::AtomicU64, Ordering::Release);
    Ok(())
}

/// Maps a session file (`dir/name`) shared and writable for the life of
/// the process, all of it.
///
/// Checked when mapped, a shared file can still be truncated later by
/// someone else; the kernel then kills a process touching the lost pages
/// with SIGBUS, which no library can prevent for a mapping that must stay
/// shared (docs/architecture.md, "Damaged sessions"). sb2 never truncates
/// them.
pub fn map_session_file(dir: &[u8], name: &str) -> Result<(*mut u8, usize), Refusal> {
    let mut p = PathBuf::new();
    session_file(&mut p, dir, name).map_err(Refusal::Open)?;
    let fd = sys::open(p.as_ptr(), libc::O_RDWR | libc::O_CLOEXEC, 0).map_err(Refusal::Open)?;
    let len = sys::fstat(fd.raw()).map_err(Refusal::Open)?.st_size.max(0) as usize;
    if len == 0 {
        return Err(Refusal::Damaged("empty"));
    }
    let prot = libc::PROT_READ | libc::PROT_WRITE;
    let m = sys::mmap(fd.raw(), len, prot, libc::MAP_SHARED).map_err(Refusal::Open)?;
    Ok((m, len))
}

/// Maps the session's ruletree read-only, in place, and checks it.
///
/// A mapping, shared with every process of the session through the page
/// cache (a private copy per process cost about 15-20 µs per exec). The
/// launcher makes the file read-only (0444), so nothing in the session
/// truncates or edits it by accident; a tree replaced by rename leaves a
/// running process its old one, and one changed in place is still only
/// read through the bounds-checked reader (fuzzed). Truncating it in place
/// after a chmod would take pages from under running processes (SIGBUS,
/// the kernel's rule, as for `generation` and `vperm.db`).
fn load_tree(dir: &[u8]) -> Result<(*mut u8, usize), Refusal> {
    let mut p = PathBuf::new();
    session_file(&mut p, dir, contract::RULETREE_FILE).map_err(Refusal::Open)?;
    let fd = sys::open(p.as_ptr(), libc::O_RDONLY | libc::O_CLOEXEC, 0).map_err(Refusal::Open)?;
    let len = sys::fstat(fd.raw()).map_err(Refusal::Open)?.st_size.max(0) as usize;
    if len == 0 {
        return Err(Refusal::Damaged("empty"));
    }
    let m = sys::mmap(fd.raw(), len, libc::PROT_READ, libc::MAP_SHARED).map_err(Refusal::Open)?;
    // SAFETY: a fresh read-only mapping of len bytes (the file's size).
    let buf = unsafe { core::slice::from_raw_parts(m as *const u8, len) };
    let checked = Tree::new(buf).map(|_| ()).map_err(|e| match e {
        FormatError::Version { found, expected } => Refusal::Version { found, expected },
        e => Refusal::Damaged(e.reason()),
    });
    if let Err(r) = checked {
        // SAFETY: our own mapping; `buf` is not used again.
        unsafe { sys::munmap(m, len) };
        return Err(r);
    }
    Ok((m, len))
}

/// The environ entries `SB2_SESSION_DIR=...` and `SB2_SESSION_MODE=...`
/// this process started with (null when absent).
pub fn session_entries() -> (*const libc::c_char, *const libc::c_char) {
    let entry = |v| {
        start_entry(v).map_or(core::ptr::null(), |(e, _)| {
            e.as_ptr() as *const libc::c_char
        })
    };
    (entry(Var::Session), entry(Var::Mode))
}

/// Is this process the CPU transparency command (qemu) of the session?
/// Then it runs without the session: qemu's own file accesses are host
/// paths (its `-L` prefix probes), and the guest makes raw system calls
/// the library could not see anyway.
///
/// The exec pipeline and the launcher name the command in `__SB2_CPU`
/// (only cross-target sessions have one). A process the pipeline started
/// is told apart without a system call: its AT_EXECFN is the file the
/// pipeline exec'd, which `__SB2_EXECED` names; only a process exec'd
/// some other way (by the kernel's binfmt_misc for a target program)
/// reads `/proc/self/exe`.
#[link_section = ".text.hot.sb2.start"]
fn is_cpu_transparency() -> bool {
    let Some(q) = start_env(Var::Cpu).filter(|q| !q.is_empty()) else {
        return false;
    };
    // SAFETY: getauxval has no preconditions; AT_EXECFN is the filename
    // given to execve, NUL-terminated, on the initial stack.
    let execfn = unsafe { libc::getauxval(libc::AT_EXECFN) } as *const libc::c_char;
    if !execfn.is_null() {
        // SAFETY: as above.
        let execfn = unsafe { sb2_ruletree::sys::c_bytes(execfn) };
        if execfn == q {
            return true;
        }
        if start_env(Var::Execed) == Some(execfn) {
            return false;
        }
    }
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
#[link_section = ".text.hot.sb2"]
pub fn ctx() -> Result<Ctx<'static>, Errno> {
    if STATE.load(Ordering::Acquire) != READY
        && (!active() || STATE.load(Ordering::Acquire) != READY)
    {
        return Err(Errno::EIO);
    }
    let tree = tree().ok_or(Errno::EIO)?;
    let mode: ModeRef<'static> = tree
        .mode(MODE.load(Ordering::Relaxed) as u32)
        .or(tree.mode(0))
        .ok_or(Errno::EIO)?;
    let exec_policy = start_env(Var::Policy).unwrap_or(b"");
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
        sb2_ruletree::sys::c_bytes(p)
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
    let execfn = unsafe { sb2_ruletree::sys::c_bytes(execfn) };
    start_env(Var::Exe).filter(|e| *e == execfn)
}
