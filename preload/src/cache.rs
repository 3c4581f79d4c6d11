//! Per-thread caches that keep the hot path free of extra system calls
//! (on this kind of machine one system call costs about as much as the
//! whole mapping):
//!
//! * resolved directories: virtual directory prefixes known to resolve to
//!   themselves (every component a real directory), so the pipeline need
//!   not `lstat` them again. Valid while the session's shared generation
//!   counter is unchanged; every process of the session bumps it when it
//!   renames or removes something (rename*, rmdir, unlinkat, remove), the
//!   only operations that can turn a known directory into something else.
//!   Changes made by programs outside the session (or static ones) are not
//!   seen until the next such bump: a documented limit.
//! * the virtual cwd, valid while this process has not changed directory
//!   (chdir/fchdir hooks and nftw's FTW_CHDIR bump `CWD_GEN`);
//! * readable pages, so a path argument is copied without first asking the
//!   kernel whether its memory is readable (see `cstr`); flushed by munmap.
//!
//! Thread-locals are const-initialized and have no destructor; a vfork
//! child shares them with its parent, which is harmless (entries stay true).

use core::cell::{Cell, UnsafeCell};
use core::sync::atomic::{AtomicPtr, AtomicU64, Ordering};
use sb2_ruletree::PATH_MAX;

/// The session-wide generation counter (a shared mapping of the session's
/// `generation` file), or null when unavailable (then nothing is cached).
pub static SHARED_GEN: AtomicPtr<AtomicU64> = AtomicPtr::new(core::ptr::null_mut());
/// This process's cwd generation.
pub static CWD_GEN: AtomicU64 = AtomicU64::new(1);
/// This process's munmap generation.
pub static MAP_GEN: AtomicU64 = AtomicU64::new(1);

const DIRS: usize = 256;

struct DirCache {
    keys: [Cell<u64>; DIRS],
    gens: [Cell<u64>; DIRS],
}

struct CwdCache {
    gen: Cell<u64>,
    len: Cell<usize>,
    buf: UnsafeCell<[u8; PATH_MAX]>,
}

const PAGES: usize = 16;

struct PageCache {
    gen: Cell<u64>,
    pages: [Cell<usize>; PAGES],
    next: Cell<usize>,
}

#[allow(clippy::declare_interior_mutable_const)]
const ZERO: Cell<u64> = Cell::new(0);
#[allow(clippy::declare_interior_mutable_const)]
const NOPAGE: Cell<usize> = Cell::new(usize::MAX);

thread_local! {
    static DIR: DirCache = const { DirCache { keys: [ZERO; DIRS], gens: [ZERO; DIRS] } };
    static CWD: CwdCache = const { CwdCache { gen: Cell::new(0), len: Cell::new(0), buf: UnsafeCell::new([0; PATH_MAX]) } };
    static PAGE: PageCache = const { PageCache { gen: Cell::new(0), pages: [NOPAGE; PAGES], next: Cell::new(0) } };
}

#[inline]
fn shared_gen() -> Option<u64> {
    let p = SHARED_GEN.load(Ordering::Acquire);
    if p.is_null() {
        return None;
    }
    // SAFETY: set once to a live shared mapping that is never unmapped.
    Some(unsafe { (*p).load(Ordering::Acquire) })
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

#[inline]
pub fn dir_known(key: u64) -> bool {
    let Some(g) = shared_gen() else { return false };
    let i = (key as usize) % DIRS;
    DIR.with(|d| match (d.keys.get(i), d.gens.get(i)) {
        (Some(k), Some(gg)) => k.get() == key && gg.get() == g,
        _ => false,
    })
}

#[inline]
pub fn dir_remember(key: u64) {
    let Some(g) = shared_gen() else { return };
    let i = (key as usize) % DIRS;
    DIR.with(|d| {
        if let (Some(k), Some(gg)) = (d.keys.get(i), d.gens.get(i)) {
            k.set(key);
            gg.set(g);
        }
    });
}

/// Copies the cached virtual cwd into `out`, if still valid.
#[inline]
pub fn cached_cwd(out: &mut sb2_ruletree::mapping::PathBuf) -> bool {
    let g = CWD_GEN.load(Ordering::Acquire);
    CWD.with(|c| {
        if c.gen.get() != g || c.len.get() == 0 {
            return false;
        }
        // SAFETY: only this thread touches its own buffer; len <= PATH_MAX.
        let b = unsafe { &*c.buf.get() };
        out.set(b.get(..c.len.get()).unwrap_or(&[])).is_ok()
    })
}

pub fn cache_cwd(v: &[u8]) {
    let g = CWD_GEN.load(Ordering::Acquire);
    CWD.with(|c| {
        // SAFETY: only this thread touches its own buffer.
        let b = unsafe { &mut *c.buf.get() };
        if let Some(dst) = b.get_mut(..v.len()) {
            dst.copy_from_slice(v);
            c.len.set(v.len());
            c.gen.set(g);
        }
    });
}

/// Was the page at `page` (an address rounded down) found readable since
/// the last munmap?
#[inline]
pub fn page_known(page: usize) -> bool {
    let g = MAP_GEN.load(Ordering::Acquire);
    PAGE.with(|p| {
        if p.gen.get() != g {
            p.gen.set(g);
            p.pages.iter().for_each(|c| c.set(usize::MAX));
            return false;
        }
        p.pages.iter().any(|c| c.get() == page)
    })
}

pub fn page_remember(page: usize) {
    PAGE.with(|p| {
        let i = p.next.get() % PAGES;
        if let Some(c) = p.pages.get(i) {
            c.set(page);
        }
        p.next.set(i + 1);
    });
}

/// Table helpers: run the namespace / cwd / memory invalidation after the
/// real call, passing its result through.
pub fn changed<R>(r: Result<R, sb2_ruletree::Errno>) -> Result<R, sb2_ruletree::Errno> {
    namespace_changed();
    r
}
pub fn cwd_changed<R>(r: Result<R, sb2_ruletree::Errno>) -> Result<R, sb2_ruletree::Errno> {
    CWD_GEN.fetch_add(1, Ordering::AcqRel);
    r
}
pub fn unmapped<R>(r: Result<R, sb2_ruletree::Errno>) -> Result<R, sb2_ruletree::Errno> {
    MAP_GEN.fetch_add(1, Ordering::AcqRel);
    r
}
