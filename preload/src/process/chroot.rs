//! This process's simulated root: what chroot() set, read by every path
//! call (as `Ctx::chroot`) and carried over exec in the environment
//! (`contract::CHROOT_VAR`, `CHROOT_LD_VAR`), which only the exec pipeline
//! writes.
//!
//! The state lives in a small ring of static slots. chroot() fills a free
//! slot and then publishes its index with one atomic store, so a thread
//! racing with it sees the old root or the new one, never a mix; a slot is
//! rewritten only after the ring has gone round (15 further chroot() calls
//! while one path call is in flight would be needed to tear it).
//!
//! A vfork child shares this memory with its parent, which must not see
//! the child's chroot: the child's root is published in a separate slot
//! tagged with its pid, used only by that pid (a rare branch: the flag is
//! checked first, the pid only when it is set).

use super::state;
use core::cell::UnsafeCell;
use core::sync::atomic::{AtomicBool, AtomicI32, AtomicUsize, Ordering};
use sb2_ruletree::mapping::{Chroot, PathBuf};
use sb2_ruletree::PATH_MAX;

const SLOTS: usize = 16;
/// Room for the mount list and the loader facts.
const EXTRA: usize = 2 * PATH_MAX;

struct Slot {
    root_len: AtomicUsize,
    mounts_len: AtomicUsize,
    ld_len: AtomicUsize,
    root: UnsafeCell<[u8; PATH_MAX]>,
    mounts: UnsafeCell<[u8; EXTRA]>,
    ld: UnsafeCell<[u8; EXTRA]>,
}

// SAFETY: a slot's bytes are written only while it is unpublished (see the
// module doc) and read only after its index was published with Release.
unsafe impl Sync for Slot {}

#[allow(clippy::declare_interior_mutable_const)]
const EMPTY: Slot = Slot {
    root_len: AtomicUsize::new(0),
    mounts_len: AtomicUsize::new(0),
    ld_len: AtomicUsize::new(0),
    root: UnsafeCell::new([0; PATH_MAX]),
    mounts: UnsafeCell::new([0; EXTRA]),
    ld: UnsafeCell::new([0; EXTRA]),
};

/// Ring slots, then the vfork child's slot.
static RING: [Slot; SLOTS + 1] = [EMPTY; SLOTS + 1];
/// Index + 1 of the published slot; 0: not chrooted.
static CURRENT: AtomicUsize = AtomicUsize::new(0);
static NEXT: AtomicUsize = AtomicUsize::new(0);
/// A vfork child chrooted: its slot applies to that pid only.
static VFORKED: AtomicBool = AtomicBool::new(false);
static VFORK_PID: AtomicI32 = AtomicI32::new(0);
/// 0: not chrooted, 1 + SLOTS: the vfork slot is published.
static VFORK_CURRENT: AtomicUsize = AtomicUsize::new(0);

fn slice(buf: &UnsafeCell<[u8; PATH_MAX]>, len: usize) -> &'static [u8] {
    // SAFETY: static storage; a published slot is not written (module doc).
    unsafe {
        (*(buf.get() as *const [u8; PATH_MAX]))
            .get(..len)
            .unwrap_or(&[])
    }
}

fn slice2(buf: &UnsafeCell<[u8; EXTRA]>, len: usize) -> &'static [u8] {
    // SAFETY: as in `slice`.
    unsafe {
        (*(buf.get() as *const [u8; EXTRA]))
            .get(..len)
            .unwrap_or(&[])
    }
}

fn chroot_of(i: usize) -> Option<Chroot<'static>> {
    let s = RING.get(i.checked_sub(1)?)?;
    Some(Chroot {
        root: slice(&s.root, s.root_len.load(Ordering::Acquire)),
        mounts: slice2(&s.mounts, s.mounts_len.load(Ordering::Acquire)),
        ld: slice2(&s.ld, s.ld_len.load(Ordering::Acquire)),
    })
}

/// The calling process's root (None: not chrooted).
#[inline]
pub fn current() -> Option<Chroot<'static>> {
    if VFORKED.load(Ordering::Acquire) {
        return vforked();
    }
    match CURRENT.load(Ordering::Acquire) {
        0 => None,
        i => chroot_of(i),
    }
}

#[cold]
fn vforked() -> Option<Chroot<'static>> {
    // SAFETY: getpid has no preconditions.
    if unsafe { libc::getpid() } == VFORK_PID.load(Ordering::Acquire) {
        return chroot_of(VFORK_CURRENT.load(Ordering::Acquire));
    }
    // The parent, back after its child's exec or exit: the child's root
    // was never its own.
    VFORKED.store(false, Ordering::Release);
    chroot_of(CURRENT.load(Ordering::Acquire))
}

/// Sets (Some) or ends (None) this process's chroot: the root's outer
/// path, its mount list and loader facts. `vfork_child`: the caller is a
/// vfork child (its parent keeps its own root).
pub fn set(new: Option<(&[u8], &[u8], &[u8])>, vfork_child: bool) {
    let publish = |i: usize| -> usize {
        let Some((root, mounts, ld)) = new else {
            return 0;
        };
        let Some(s) = RING.get(i) else { return 0 };
        let (r, m, l) = (
            root.len().min(PATH_MAX),
            mounts.len().min(EXTRA),
            ld.len().min(EXTRA),
        );
        // SAFETY: slot i is unpublished (module doc): nobody reads it now.
        unsafe {
            core::ptr::copy_nonoverlapping(root.as_ptr(), s.root.get() as *mut u8, r);
            core::ptr::copy_nonoverlapping(mounts.as_ptr(), s.mounts.get() as *mut u8, m);
            core::ptr::copy_nonoverlapping(ld.as_ptr(), s.ld.get() as *mut u8, l);
        }
        s.root_len.store(r, Ordering::Release);
        s.mounts_len.store(m, Ordering::Release);
        s.ld_len.store(l, Ordering::Release);
        i + 1
    };
    if vfork_child {
        let v = publish(SLOTS);
        VFORK_CURRENT.store(v, Ordering::Release);
        // SAFETY: getpid has no preconditions.
        VFORK_PID.store(unsafe { libc::getpid() }, Ordering::Release);
        VFORKED.store(true, Ordering::Release);
        return;
    }
    let i = NEXT.fetch_add(1, Ordering::AcqRel) % SLOTS;
    CURRENT.store(publish(i), Ordering::Release);
}

/// Takes the root a parent passed on over exec (`contract::CHROOT_VAR`
/// and `CHROOT_LD_VAR`), with the mount list of the process's mode.
pub fn init(mounts: impl FnOnce(&mut PathBuf)) {
    let Some(root) = state::start_env(state::Var::Chroot) else {
        return;
    };
    if root.first() != Some(&b'/') || root == b"/" {
        return;
    }
    let ld = state::start_env(state::Var::ChrootLd).unwrap_or(b"");
    let mut m = PathBuf::new();
    mounts(&mut m);
    set(Some((root, m.as_bytes(), ld)), false);
}
