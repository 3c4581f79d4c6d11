//! Per-thread caches that keep the hot path free of extra system calls
//! (on this kind of machine one system call costs about as much as the
//! whole mapping):
//!
//! * resolved directories (shared by every process of the session, in the
//!   same mapping as the counter, so a new process starts warm): virtual
//!   directory prefixes known to resolve to themselves (every component a
//!   real directory), so the pipeline need not `lstat` them again. One
//!   64-bit word per entry holds the key's high bits and the generation's
//!   low 24 bits, so an entry is written and read whole. Valid while the session's shared generation
//!   counter is unchanged; every process of the session bumps it when it
//!   renames, removes a directory or links something, or creates a symlink
//!   (rename*, rmdir, unlinkat with AT_REMOVEDIR, remove, link*, symlink*): the operations that can turn
//!   a known directory, or the host directory a rule now picks, into
//!   something else. The counter is read *before* a directory is looked at,
//!   so a change racing with the lookup invalidates the entry. Changes made
//!   by programs outside the session (or static ones) are not seen until
//!   the next bump: a documented limit.
//! * the virtual cwd, valid while this process has not changed directory
//!   (chdir/fchdir hooks and nftw bump `CWD_GEN`) and nothing was renamed
//!   or removed in the session (the shared counter); beside it, the host
//!   cwd when its absolute path cannot be walked (see [`via_cwd`]);
//! * directory fds' virtual paths (for `*at` calls with a relative path):
//!   asking the kernel (`readlink` of /proc/self/fd/N) costs about ten
//!   times an `fstat` of the fd, and the reverse mapping more again, so a
//!   few recent ones are kept, each checked by one `fstat` (same device
//!   and inode: the number was not reused for another directory) and by
//!   the shared generation (nothing in the session was renamed or removed
//!   since);
//!
//! * programs this process exec'd: [`super::hot`].
//!
//! (Readable pages of the caller's memory are remembered by `ffi::cstr`.)
//!
//! Thread-locals are const-initialized and have no destructor. A signal
//! handler may interrupt an update: entries are invalidated first and
//! validated last, so it sees a miss, never a half-written hit. A vfork
//! child shares them with its parent: directory entries stay true for both,
//! but a child's cwd is not its parent's, so a vfork child (detected by its
//! pid in chdir/fchdir) marks the cwd cache untrusted until the parent next
//! looks and revalidates it.

use crate::ffi::sys;
use core::cell::{Cell, UnsafeCell};
use core::sync::atomic::{AtomicBool, AtomicPtr, AtomicU64, Ordering};
use sb2_ruletree::contract;
use sb2_ruletree::mapping::{Host, PathBuf};
use sb2_ruletree::sys::Sys;
use sb2_ruletree::Errno;

/// The session-wide generation counter (a shared mapping of the session's
/// `generation` file), or null when unavailable (then nothing is cached).
pub static SHARED_GEN: AtomicPtr<AtomicU64> = AtomicPtr::new(core::ptr::null_mut());
/// This process's cwd generation.
pub static CWD_GEN: AtomicU64 = AtomicU64::new(1);
/// Set by a vfork child that changed directory.
static CWD_UNTRUSTED: AtomicBool = AtomicBool::new(false);

/// Entries of the shared mapping, after the counter's header.
const DIRS: usize = contract::GENERATION_SLOTS;
const HEADER: usize = contract::GENERATION_HEADER;
const GEN_BITS: u64 = 0xff_ffff;

/// Longest cwd the cache keeps (a longer one is asked for each time; a
/// hidden one longer than this is not reached through `/proc`). The
/// thread-locals are small on purpose: glibc copies and clears every
/// thread's block at its start, each of our processes included, and a
/// page more of it cost about 2 µs per exec.
const CWD_PATH: usize = 1024;

struct CwdCache {
    gen: Cell<u64>,
    shared: Cell<u64>,
    len: Cell<usize>,
    /// The virtual cwd is the host cwd.
    same: Cell<bool>,
    buf: UnsafeCell<[u8; CWD_PATH]>,
    /// The host cwd, when its absolute path cannot be walked (see
    /// [`via_cwd`]); 0: it can.
    hidden_len: Cell<usize>,
    hidden: UnsafeCell<[u8; CWD_PATH]>,
    /// The cwd generation and shared token the note was made under.
    hidden_gen: Cell<u64>,
    hidden_shared: Cell<u64>,
}

const RULES: usize = 64;

/// Rule selections per parent directory (see `mapping::map_final`): keys
/// and rule ids + 1 (0 = empty slot). The tree never changes in a process.
struct RuleCache {
    keys: [Cell<u64>; RULES],
    rules: [Cell<u32>; RULES],
}

const FDS: usize = 4;
/// Longest directory path the fd cache keeps (longer ones are asked for
/// each time).
const FD_PATH: usize = 512;

struct FdEntry {
    /// The shared generation the entry was made under; 0: empty.
    shared: Cell<u64>,
    fd: Cell<i32>,
    dev: Cell<u64>,
    ino: Cell<u64>,
    len: Cell<usize>,
    /// The virtual path is the host path.
    same: Cell<bool>,
    buf: UnsafeCell<[u8; FD_PATH]>,
}

struct FdCache {
    ents: [FdEntry; FDS],
    next: Cell<usize>,
}

#[allow(clippy::declare_interior_mutable_const)]
const ZERO: Cell<u64> = Cell::new(0);
#[allow(clippy::declare_interior_mutable_const)]
const NORULE: Cell<u32> = Cell::new(0);

thread_local! {
    static CWD: CwdCache = const {
        CwdCache {
            gen: Cell::new(0), shared: Cell::new(0), len: Cell::new(0), same: Cell::new(false), buf: UnsafeCell::new([0; CWD_PATH]),
            hidden_len: Cell::new(0), hidden: UnsafeCell::new([0; CWD_PATH]), hidden_gen: Cell::new(0), hidden_shared: Cell::new(0),
        }
    };
    static RULE: RuleCache = const { RuleCache { keys: [ZERO; RULES], rules: [NORULE; RULES] } };
    static FDP: FdCache = const {
        FdCache {
            ents: [const {
                FdEntry { shared: Cell::new(0), fd: Cell::new(0), dev: Cell::new(0), ino: Cell::new(0), len: Cell::new(0), same: Cell::new(false), buf: UnsafeCell::new([0; FD_PATH]) }
            }; FDS],
            next: Cell::new(0),
        }
    };
}

/// In a forked child: the caches are the child's now.
#[link_section = ".text.hot.sb2"]
pub extern "C" fn after_fork_child() {
    // SAFETY: getpid has no preconditions.
    super::hot::HOT.pid.store(
        unsafe { sb2_ruletree::syscall!(libc::SYS_getpid) as i32 },
        Ordering::Release,
    );
    super::hot::HOT.forked.store(true, Ordering::Relaxed);
    // The thread that held it does not exist here. (Read first: a write
    // would copy the page.)
    if super::hot::HOT.probes_busy.load(Ordering::Acquire) {
        super::hot::HOT.probes_busy.store(false, Ordering::Release);
    }
}

/// Records our pid; [`after_fork_child`] keeps it right in forked
/// children (the library's constructor registers it).
#[link_section = ".text.hot.sb2.start"]
pub fn init() {
    // SAFETY: getpid has no preconditions.
    super::hot::HOT.pid.store(
        unsafe { sb2_ruletree::syscall!(libc::SYS_getpid) as i32 },
        Ordering::Release,
    );
}

/// The shared generation, or None when caching is off. Generations start
/// at 1, so 0 never validates anything.
#[inline]
fn shared_gen() -> Option<u64> {
    let p = SHARED_GEN.load(Ordering::Acquire);
    if p.is_null() {
        return None;
    }
    // SAFETY: set once to a live shared mapping that is never unmapped.
    Some(unsafe { (*p).load(Ordering::Acquire) } + 1)
}

/// Something in the session's namespace changed: forget resolved dirs in
/// every process of the session.
pub fn namespace_changed() {
    let p = SHARED_GEN.load(Ordering::Acquire);
    if !p.is_null() {
        // SAFETY: as in shared_gen.
        unsafe { (*p).fetch_add(1, Ordering::AcqRel) };
    }
}

/// The token for [`dir_remember`] and [`cache_cwd`], read before looking.
#[inline]
#[link_section = ".text.hot.sb2"]
pub fn token() -> u64 {
    shared_gen().unwrap_or(0)
}

/// The shared entry for `key`.
#[inline]
fn dir_slot(key: u64) -> Option<&'static AtomicU64> {
    let p = SHARED_GEN.load(Ordering::Acquire);
    if p.is_null() {
        return None;
    }
    let i = (key >> 3) as usize % DIRS;
    // SAFETY: the mapping is GENERATION_LEN bytes (checked when mapped):
    // the counter in its header, then DIRS aligned 64-bit entries; it is
    // never unmapped.
    Some(unsafe { &*(p as *const u8).add(HEADER).cast::<AtomicU64>().add(i) })
}

#[inline]
#[link_section = ".text.hot.sb2"]
pub fn dir_known(key: u64) -> bool {
    let (Some(g), Some(slot)) = (shared_gen(), dir_slot(key)) else {
        return false;
    };
    let v = slot.load(Ordering::Acquire);
    v != 0 && v == (key & !GEN_BITS) | (g & GEN_BITS)
}

#[inline]
pub fn dir_remember(key: u64, token: u64) {
    if token & GEN_BITS == 0 {
        return;
    }
    if let Some(slot) = dir_slot(key) {
        slot.store((key & !GEN_BITS) | (token & GEN_BITS), Ordering::Release);
    }
}

/// Is this a vfork child (or another clone sharing our memory without
/// fork's handlers)? One system call: for rare paths only.
pub fn is_vfork_child() -> bool {
    // SAFETY: getpid has no preconditions.
    let pid = unsafe { sb2_ruletree::syscall!(libc::SYS_getpid) as i32 };
    pid != super::hot::HOT.pid.load(Ordering::Acquire)
}

/// chdir/fchdir happened in this process (or in a vfork child sharing our
/// memory, which then also marks the cwd cache untrusted).
pub fn cwd_moved() {
    CWD_GEN.fetch_add(1, Ordering::AcqRel);
    // SAFETY: getpid has no preconditions (chdir is rare: one syscall).
    if unsafe { sb2_ruletree::syscall!(libc::SYS_getpid) as i32 }
        != super::hot::HOT.pid.load(Ordering::Acquire)
    {
        CWD_UNTRUSTED.store(true, Ordering::Release);
    }
}

/// Copies the cached virtual cwd into `out`, if still valid; `Some(true)`
/// when it is the host cwd as well.
#[inline]
pub fn cached_cwd(out: &mut PathBuf) -> Option<bool> {
    if CWD_UNTRUSTED.load(Ordering::Acquire) {
        // Only the process the caches belong to may clear the mark: a vfork
        // parent runs again only after its child has exec'd or exited.
        // SAFETY: getpid has no preconditions.
        if unsafe { sb2_ruletree::syscall!(libc::SYS_getpid) as i32 }
            != super::hot::HOT.pid.load(Ordering::Acquire)
        {
            return None;
        }
        CWD_UNTRUSTED.store(false, Ordering::Release);
        CWD_GEN.fetch_add(1, Ordering::AcqRel);
        return None;
    }
    let shared = shared_gen()?;
    let g = CWD_GEN.load(Ordering::Acquire);
    CWD.with(|c| {
        if c.gen.get() != g || c.shared.get() != shared || c.len.get() == 0 {
            return None;
        }
        // SAFETY: only this thread touches its own buffer; len <= CWD_PATH.
        let b = unsafe { &*c.buf.get() };
        out.set(b.get(..c.len.get()).unwrap_or(&[]))
            .ok()
            .map(|_| c.same.get())
    })
}

/// The kernel's way into the calling thread's cwd (see [`via_cwd`]).
const VIA_CWD: &[u8] = b"/proc/thread-self/cwd";

/// Notes, with each fresh look at the host cwd `h` (the pipeline's, on a
/// miss of the cwd cache), whether its absolute path can be walked: a
/// process may stand in a directory whose parent it may not search (`cd
/// p/c; chmod a-x ..`), where the kernel still walks relative names from
/// the cwd itself. One `lstat` per look.
pub fn note_host_cwd(h: &mut PathBuf) {
    let hidden = Sys.lstat_kind(h.with_nul()) == Err(Errno(libc::EACCES));
    let (g, shared) = (CWD_GEN.load(Ordering::Acquire), token());
    let h = h.as_bytes();
    CWD.with(|c| {
        // Invalid while written: a signal handler's lookup finds none.
        c.hidden_len.set(0);
        // SAFETY: only this thread touches its own buffer.
        let b = unsafe { &mut *c.hidden.get() };
        if let Some(dst) = b.get_mut(..h.len()).filter(|_| hidden && !h.is_empty()) {
            dst.copy_from_slice(h);
            c.hidden_gen.set(g);
            c.hidden_shared.set(shared);
            c.hidden_len.set(h.len());
        }
    });
}

/// Whether the cwd was last seen hidden (one thread-local read: the
/// common answer, no, keeps [`via_cwd`] off the hot path).
#[inline]
pub fn cwd_hidden() -> bool {
    CWD.with(|c| c.hidden_len.get() != 0)
}

/// The host path `h`, when it lies in a cwd whose absolute path cannot be
/// walked (see [`note_host_cwd`]), as the kernel can reach it: through
/// `/proc/thread-self/cwd`, which it follows to the directory itself, as
/// it starts a relative walk (the cwd itself is `.../cwd/.`: the link
/// followed). True if `out` holds that. A note older than the last chdir
/// or rename in the session is renewed first (two system calls, in such
/// a cwd only: they keep it true however the caller names its paths).
pub fn via_cwd(h: &[u8], out: &mut PathBuf) -> bool {
    if CWD_UNTRUSTED.load(Ordering::Acquire) {
        return false;
    }
    let fresh = |c: &CwdCache| {
        c.hidden_gen.get() == CWD_GEN.load(Ordering::Acquire)
            && c.hidden_shared.get() != 0
            && c.hidden_shared.get() == token()
    };
    if CWD.with(|c| c.hidden_len.get() != 0 && !fresh(c)) {
        let mut cwd = PathBuf::new();
        if Sys.host_cwd(&mut cwd).is_err() {
            CWD.with(|c| c.hidden_len.set(0));
            return false;
        }
        note_host_cwd(&mut cwd);
    }
    CWD.with(|c| {
        let n = c.hidden_len.get();
        if n == 0 {
            return false;
        }
        // SAFETY: only this thread touches its own buffer; n <= CWD_PATH.
        let cwd = unsafe { &*c.hidden.get() }.get(..n).unwrap_or(&[]);
        let rest = match h.strip_prefix(cwd) {
            Some([]) => b"/.".as_slice(),
            Some(r) if r.first() == Some(&b'/') => r,
            _ => return false,
        };
        out.set(VIA_CWD).is_ok() && out.push(rest).is_ok()
    })
}

/// The real host path of a path [`via_cwd`] made, into `out`; false if
/// `h` is not one.
pub fn from_cwd(h: &[u8], out: &mut PathBuf) -> bool {
    let Some(rest) = h.strip_prefix(VIA_CWD) else {
        return false;
    };
    let rest = rest
        .strip_prefix(b"/.")
        .filter(|r| r.is_empty())
        .unwrap_or(rest);
    CWD.with(|c| {
        let n = c.hidden_len.get();
        // SAFETY: only this thread touches its own buffer; n <= CWD_PATH.
        let cwd = unsafe { &*c.hidden.get() }.get(..n).unwrap_or(&[]);
        n != 0 && out.set(cwd).is_ok() && out.push(rest).is_ok()
    })
}

pub fn cache_cwd(v: &[u8], token: u64, is_host: bool) {
    if token == 0 || CWD_UNTRUSTED.load(Ordering::Acquire) {
        return;
    }
    let g = CWD_GEN.load(Ordering::Acquire);
    CWD.with(|c| {
        c.gen.set(0);
        // SAFETY: only this thread touches its own buffer.
        let b = unsafe { &mut *c.buf.get() };
        if let Some(dst) = b.get_mut(..v.len()) {
            dst.copy_from_slice(v);
            c.len.set(v.len());
            c.same.set(is_host);
            c.shared.set(token);
            c.gen.set(g);
        }
    });
}

#[inline]
pub fn rule_cached(key: u64) -> Option<u32> {
    let i = (key as usize) % RULES;
    RULE.with(|c| match (c.keys.get(i), c.rules.get(i)) {
        (Some(k), Some(r)) if r.get() != 0 && k.get() == key => Some(r.get() - 1),
        _ => None,
    })
}

#[inline]
pub fn rule_remember(key: u64, rule: u32) {
    let i = (key as usize) % RULES;
    RULE.with(|c| {
        if let (Some(k), Some(r)) = (c.keys.get(i), c.rules.get(i)) {
            r.set(0);
            k.set(key);
            r.set(rule.wrapping_add(1));
        }
    });
}

/// The virtual path of the directory open as `fd`, into `out` (see
/// `Host::fd_vpath`), from the cache or else from `uncached(out,
/// scratch)` (the pipeline's own way).
pub fn fd_vpath(
    fd: i32,
    out: &mut PathBuf,
    scratch: &mut PathBuf,
    uncached: impl FnOnce(&mut PathBuf, &mut PathBuf) -> Result<bool, Errno>,
) -> Result<bool, Errno> {
    let token = token();
    if token == 0 || fd < 0 {
        return uncached(out, scratch);
    }
    let st = sys::fstat(fd)?;
    if st.st_mode & libc::S_IFMT != libc::S_IFDIR {
        return uncached(out, scratch);
    }
    let same = |e: &FdEntry| {
        e.shared.get() == token
            && e.fd.get() == fd
            && e.dev.get() == st.st_dev
            && e.ino.get() == st.st_ino
    };
    let hit = FDP.with(|c| {
        c.ents.iter().find_map(|e| {
            // SAFETY: only this thread touches its own buffers; len <= FD_PATH.
            let b = unsafe { &*e.buf.get() }.get(..e.len.get()).unwrap_or(&[]);
            (same(e) && out.set(b).is_ok()).then(|| e.same.get())
        })
    });
    if let Some(same) = hit {
        return Ok(same);
    }
    let is_host = uncached(out, scratch)?;
    let p = out.as_bytes();
    if p.len() <= FD_PATH {
        FDP.with(|c| {
            let i = c.next.get() % FDS;
            c.next.set(i + 1);
            if let Some(e) = c.ents.get(i) {
                // Invalid while written: a signal handler's lookup misses.
                e.shared.set(0);
                // SAFETY: only this thread touches its own buffer.
                if let Some(dst) = unsafe { &mut *e.buf.get() }.get_mut(..p.len()) {
                    dst.copy_from_slice(p);
                    e.len.set(p.len());
                    e.fd.set(fd);
                    e.dev.set(st.st_dev);
                    e.ino.set(st.st_ino);
                    e.same.set(is_host);
                    e.shared.set(token);
                }
            }
        });
    }
    Ok(is_host)
}

/// Table helpers: run the namespace / cwd invalidation after the real
/// call, passing its result through.
pub fn changed<R>(r: Result<R, Errno>) -> Result<R, Errno> {
    namespace_changed();
    r
}
pub fn changed_if<R>(cond: bool, r: Result<R, Errno>) -> Result<R, Errno> {
    if cond {
        namespace_changed();
    }
    r
}
pub fn cwd_changed<R>(r: Result<R, Errno>) -> Result<R, Errno> {
    cwd_moved();
    r
}
