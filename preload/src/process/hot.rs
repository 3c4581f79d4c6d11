//! The process layer's hot page: the statics every process of a session
//! writes at start (`state`'s attach state, captured environment, mapped
//! tree) and a fork child writes before its exec (its pid, the exec probe
//! cache), in memory that the loader has already written (it holds
//! relocated pointers). Each page a process writes is a fault (a fresh page, or a
//! copy in a fork child), about 3 µs on a VM; a page of zeros read first
//! and written after is two.
//!
//! The exec probe cache: programs this process exec'd, a few host paths
//! with the identity and times of the file, the kernel's permission to
//! execute it and its first bytes, so that `make` starting `sh` for the
//! hundredth time reads it with one `stat` instead of five calls. Valid
//! while the same file (device, inode) has the same size, mtime and ctime
//! (chmod, chown, an ACL or a write change the ctime) and the process's
//! real credentials are those it was made under (a successful set*id,
//! setgroups, capset, or unshare or setns into a user namespace moves them
//! on; a change made without those libc functions, such as libcap's raw
//! capset system call, is not seen); a file changed in the last seconds
//! is not kept (its times could repeat). Process-wide,
//! behind a try-lock that nobody waits for (a thread, signal handler or
//! forked child that finds it taken goes without the cache).

use core::cell::{Cell, UnsafeCell};
use core::sync::atomic::{
    AtomicBool, AtomicI32, AtomicPtr, AtomicU32, AtomicU8, AtomicUsize, Ordering,
};

/// Entries of the exec probe cache.
const PROBES: usize = 2;
/// Longest host path it keeps.
const PROBE_PATH: usize = 256;

#[derive(Clone, Copy)]
struct Probe {
    /// Path length; 0: empty slot.
    len: usize,
    path: [u8; PROBE_PATH],
    dev: u64,
    ino: u64,
    size: i64,
    mtime: (i64, i64),
    ctime: (i64, i64),
    n: usize,
    /// The credentials generation it was made under.
    creds: u32,
    head: [u8; sb2_ruletree::exec::HEAD],
}

const NO_PROBE: Probe = Probe {
    len: 0,
    path: [0; PROBE_PATH],
    dev: 0,
    ino: 0,
    size: 0,
    mtime: (0, 0),
    ctime: (0, 0),
    n: 0,
    creds: 0,
    head: [0; sb2_ruletree::exec::HEAD],
};

/// The process layer's statics that every process of a session writes
/// at start (its state and environment: `state`) and a fork child before
/// its exec (its pid, the probe cache). Each page a process writes costs
/// a fault (a fresh page, or a copy in a fork child), and a page of zeros
/// is faulted twice when read first. The pointers at both ends make the
/// loader relocate, and so write, the page or two it spans at load; the
/// library's writable data is relocated pointers throughout, so these
/// pages are written at load anyway. (Not page-aligned: that left most of
/// a page empty, and made the loader write one page more.)
#[repr(C, align(64))]
pub(super) struct HotPage {
    /// Relocated by the loader (see above).
    anchor: &'static u8,
    /// `state`'s attach state.
    pub(super) state: AtomicU8,
    /// `state`'s captured environment entries.
    pub(super) start: [AtomicPtr<u8>; super::state::N_VARS],
    /// `state`'s mapped tree, its length and the selected mode.
    pub(super) tree: AtomicPtr<u8>,
    pub(super) tree_len: AtomicUsize,
    pub(super) mode: AtomicUsize,
    /// `state`: this process is the CPU transparency command.
    pub(super) cpu_transparency: AtomicBool,
    /// The pid the caches belong to (updated in forked children).
    pub(super) pid: AtomicI32,
    /// The exec probe cache is in use (see `with_probes`).
    pub(super) probes_busy: AtomicBool,
    /// This process is a forked child (set by `cache::after_fork_child`)
    /// that has not started a program with posix_spawn yet: it remembers
    /// no probes (see `probe_remember`).
    pub(super) forked: AtomicBool,
    /// A vfork child, which shares this memory, changed its credentials:
    /// no probe is remembered any more (one it made would be trusted by
    /// the parent, under other ids).
    shared_creds_changed: AtomicBool,
    /// Bumped by each change of the real credentials (the probes record
    /// the value they were made under).
    creds: AtomicU32,
    next: Cell<usize>,
    probes: UnsafeCell<[Probe; PROBES]>,
    /// Relocated by the loader, like `anchor`.
    anchor_end: &'static u8,
}

// SAFETY: `next` and `probes` are used only while holding `probes_busy`
// (see `with_probes`); the rest are atomics or never written.
unsafe impl Sync for HotPage {}

static ANCHOR: u8 = 0;

pub(super) static HOT: HotPage = HotPage {
    anchor: &ANCHOR,
    state: AtomicU8::new(0),
    start: [const { AtomicPtr::new(core::ptr::null_mut()) }; super::state::N_VARS],
    tree: AtomicPtr::new(core::ptr::null_mut()),
    tree_len: AtomicUsize::new(0),
    mode: AtomicUsize::new(0),
    cpu_transparency: AtomicBool::new(false),
    pid: AtomicI32::new(0),
    probes_busy: AtomicBool::new(false),
    forked: AtomicBool::new(false),
    shared_creds_changed: AtomicBool::new(false),
    creds: AtomicU32::new(0),
    next: Cell::new(0),
    probes: UnsafeCell::new([NO_PROBE; PROBES]),
    anchor_end: &ANCHOR,
};
// At most two pages, each holding one of the anchors.
const _: () = assert!(core::mem::size_of::<HotPage>() <= 4096);

/// `f` on the probe cache, if nobody else is using it.
fn with_probes<R>(f: impl FnOnce(&mut [Probe; PROBES], &Cell<usize>) -> R) -> Option<R> {
    if HOT
        .probes_busy
        .compare_exchange(false, true, Ordering::Acquire, Ordering::Relaxed)
        .is_err()
    {
        return None;
    }
    // SAFETY: the flag makes us its only user until we clear it.
    let r = f(unsafe { &mut *HOT.probes.get() }, &HOT.next);
    HOT.probes_busy.store(false, Ordering::Release);
    Some(r)
}

fn probe_matches(e: &Probe, hpath: &[u8], st: &libc::stat) -> bool {
    e.len != 0
        && e.path.get(..e.len) == Some(hpath)
        && e.dev == st.st_dev
        && e.ino == st.st_ino
        && e.size == st.st_size
        && e.mtime == (st.st_mtime, st.st_mtime_nsec)
        && e.ctime == (st.st_ctime, st.st_ctime_nsec)
        && e.creds == HOT.creds.load(Ordering::Acquire)
}

/// A program's head as an earlier exec of the same file read it (and
/// found it executable), into `head`; how many bytes.
#[link_section = ".text.hot.sb2"]
pub fn probe_cached(hpath: &[u8], st: &libc::stat, head: &mut [u8]) -> Option<usize> {
    with_probes(|ents, _| {
        let e = ents.iter().find(|e| probe_matches(e, hpath, st))?;
        let n = e.n.min(head.len());
        head.get_mut(..n)?.copy_from_slice(e.head.get(..n)?);
        Some(n)
    })
    .flatten()
}

/// The process's real credentials changed (set*id, setgroups, capset, a
/// user namespace entered),
/// and with them the kernel's permission to execute what the cache holds:
/// the probes made before no longer match.
pub fn credentials_changed() {
    HOT.creds.fetch_add(1, Ordering::AcqRel);
    if super::cache::is_vfork_child() {
        HOT.shared_creds_changed.store(true, Ordering::Release);
    }
}

/// This process starts a program with posix_spawn: its memory outlives
/// the exec, and a forked child that does this keeps its probes again.
#[inline]
pub fn spawning() {
    if HOT.forked.load(Ordering::Relaxed) {
        HOT.forked.store(false, Ordering::Relaxed);
    }
}

/// The credentials generation to give [`probe_remember`]: read before
/// the probe it remembers is made.
pub fn credentials() -> u32 {
    HOT.creds.load(Ordering::Acquire)
}

/// Remembers an executable file's head (`exec_probe` succeeded).
pub fn probe_remember(hpath: &[u8], st: &libc::stat, head: &[u8], creds: u32) {
    // A forked child (a shell's) is about to exec, which ends its copy of
    // the cache; a posix_spawn or vfork caller keeps what it learns.
    if hpath.len() > PROBE_PATH
        || head.len() > sb2_ruletree::exec::HEAD
        || HOT.forked.load(Ordering::Relaxed)
        || HOT.shared_creds_changed.load(Ordering::Acquire)
    {
        return;
    }
    // A file changed in the last seconds may change again within the
    // file system's timestamp granularity (a jiffy on older kernels),
    // with the same size: its times would not tell. Such a file is not
    // remembered (git's "racy" rule).
    let mut now = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime writes the timespec we own.
    if unsafe { libc::clock_gettime(libc::CLOCK_REALTIME_COARSE, &mut now) } != 0
        || st.st_mtime.max(st.st_ctime) >= now.tv_sec - 2
    {
        return;
    }
    with_probes(|ents, next| {
        let i = next.get() % PROBES;
        next.set(i + 1);
        if let Some(e) = ents.get_mut(i) {
            e.len = 0;
            e.path[..hpath.len()].copy_from_slice(hpath);
            e.dev = st.st_dev;
            e.ino = st.st_ino;
            e.size = st.st_size;
            e.mtime = (st.st_mtime, st.st_mtime_nsec);
            e.ctime = (st.st_ctime, st.st_ctime_nsec);
            e.head[..head.len()].copy_from_slice(head);
            e.n = head.len();
            e.creds = creds;
            e.len = hpath.len();
        }
    });
}
