//! Virtual permissions, the process's side (`sb2 -R`, `-U`): its virtual
//! ids and the session's shared metadata table, set up when the process
//! attaches. Several families use them (the id hooks, the owner and mode
//! hooks, the stat overlay, the exec pipeline that passes the ids on to
//! children, the CPU transparency namespace), so they live below all of
//! them.
//!
//! On only when the process inherited `SB2_VPERM` (the launcher sets it
//! for `-R`/`-U`; the exec pipeline passes the current ids on to every
//! child, also after `env -i`). Ids are eight atomics and a group list (no
//! lock; inherited by fork and shared with a vfork child, which is what
//! vfork means). The real set*id system calls are never made.

use super::state::Refusal;
use crate::ffi::sys;
use core::sync::atomic::{AtomicBool, AtomicPtr, AtomicU32, AtomicUsize, Ordering};
use sb2_ruletree::contract;
use sb2_ruletree::vperm::{Db, Who};
use sb2_ruletree::Errno;

static ON: AtomicBool = AtomicBool::new(false);
static DB: AtomicPtr<u8> = AtomicPtr::new(core::ptr::null_mut());
static DB_LEN: AtomicUsize = AtomicUsize::new(0);
/// ruid euid suid fsuid rgid egid sgid fsgid.
static IDS: [AtomicU32; 8] = [const { AtomicU32::new(0) }; 8];
pub const MAX_GROUPS: usize = 64;
static NGROUPS: AtomicUsize = AtomicUsize::new(0);
static GROUPS: [AtomicU32; MAX_GROUPS] = [const { AtomicU32::new(0) }; MAX_GROUPS];
static REAL_UID: AtomicU32 = AtomicU32::new(0);
static REAL_GID: AtomicU32 = AtomicU32::new(0);
/// The `SB2_VPERM` value this process started with (see [`env_entry`]).
static INITIAL: AtomicPtr<u8> = AtomicPtr::new(core::ptr::null_mut());
static INITIAL_LEN: AtomicUsize = AtomicUsize::new(0);

/// Index of the real uid in the id set; +1 effective, +2 saved, +3 fs.
pub const RUID: usize = 0;
pub const EUID: usize = 1;
pub const FSUID: usize = 3;
/// Index of the real gid; the gids follow as the uids do.
pub const GID0: usize = 4;
pub const FSGID: usize = GID0 + 3;

const IDS_VAR: &[u8] = contract::IDS_VAR.as_bytes();

/// Parses `SB2_VPERM` into the id atomics; false if absent or malformed.
fn parse_ids(v: &[u8]) -> bool {
    let mut parts = v.split(|c| *c == b':');
    for slot in IDS.iter() {
        match parts.next().and_then(num) {
            Some(n) => slot.store(n, Ordering::Relaxed),
            None => return false,
        }
    }
    let mut n = 0;
    if let Some(gs) = parts.next() {
        for g in gs.split(|c| *c == b',').filter(|g| !g.is_empty()) {
            match num(g) {
                Some(x) if n < MAX_GROUPS => {
                    GROUPS[n].store(x, Ordering::Relaxed);
                    n += 1;
                }
                _ => return false,
            }
        }
    }
    NGROUPS.store(n, Ordering::Relaxed);
    true
}

fn num(s: &[u8]) -> Option<u32> {
    if s.is_empty() || s.len() > 10 {
        return None;
    }
    let mut n: u64 = 0;
    for c in s {
        if !c.is_ascii_digit() {
            return None;
        }
        n = n * 10 + (c - b'0') as u64;
    }
    u32::try_from(n).ok()
}

/// The ids a target process's user namespace should show (euid, egid), if
/// virtual permissions are on (read from the environment: this runs in
/// qemu, which never attaches to the session).
pub fn namespace_ids() -> Option<(u32, u32)> {
    let v = super::state::env(IDS_VAR)?;
    let mut ids = [0u32; 8];
    for (slot, part) in ids.iter_mut().zip(v.split(|c| *c == b':')) {
        *slot = num(part)?;
    }
    Some((ids[EUID], ids[GID0 + 1]))
}

/// Turns virtual permissions on if this process inherited `SB2_VPERM`.
/// Called once from `state::init`; an unusable table is refused (the
/// session is then unusable for this process: `state`), never silently
/// ignored, which would show the real owners under `-R`.
pub fn init(session_dir: &[u8]) -> Result<(), Refusal> {
    let Some(v) = super::state::start_env(super::state::Var::Ids) else {
        return Ok(());
    };
    if !parse_ids(v) {
        super::log::say(&[b"sb2: malformed SB2_VPERM; virtual permissions are off\n"]);
        return Ok(());
    }
    let (m, len) = super::state::map_session_file(session_dir, contract::VPERM_FILE)?;
    // SAFETY: our fresh shared mapping of len bytes, kept for the process's
    // life.
    if let Err(e) = unsafe { Db::from_raw(m, len) } {
        // SAFETY: not a table: nothing refers to the mapping.
        unsafe { sys::munmap(m, len) };
        return Err(Refusal::Damaged(e.reason()));
    }
    DB_LEN.store(len, Ordering::Relaxed);
    DB.store(m, Ordering::Release);
    start(v);
    Ok(())
}

/// The virtual ids alone, without the table, for a process whose session
/// is unusable: its id calls still answer as the session's would (every
/// call that needs the table fails with EIO).
pub fn init_ids() {
    if let Some(v) = super::state::start_env(super::state::Var::Ids) {
        if parse_ids(v) {
            start(v);
        }
    }
}

fn start(v: &'static [u8]) {
    let (uid, gid) = sys::real_ids();
    REAL_UID.store(uid, Ordering::Relaxed);
    REAL_GID.store(gid, Ordering::Relaxed);
    INITIAL.store(v.as_ptr() as *mut u8, Ordering::Relaxed);
    INITIAL_LEN.store(v.len(), Ordering::Relaxed);
    ON.store(true, Ordering::Release);
}

#[inline]
pub fn on() -> bool {
    ON.load(Ordering::Acquire)
}

/// Simulated euid 0: `readonly_fs_if_not_root` rules are writable.
#[inline]
pub fn is_root() -> bool {
    on() && id(EUID) == 0
}

/// The session's metadata table.
pub fn db() -> Option<Db<'static>> {
    let p = DB.load(Ordering::Acquire);
    if p.is_null() {
        return None;
    }
    // SAFETY: set once in init() to a live shared mapping validated there.
    unsafe { Db::from_raw(p, DB_LEN.load(Ordering::Relaxed)) }.ok()
}

/// The real and "unknown" owners the table's records are relative to.
pub fn who(db: &Db) -> Who {
    let (uu, ug) = db.unknown();
    Who {
        real_uid: REAL_UID.load(Ordering::Relaxed),
        real_gid: REAL_GID.load(Ordering::Relaxed),
        unknown_uid: uu,
        unknown_gid: ug,
    }
}

/// The virtual id at index `i` (see [`RUID`], [`GID0`]).
pub fn id(i: usize) -> u32 {
    IDS.get(i).map_or(0, |x| x.load(Ordering::Relaxed))
}

pub fn set_id(i: usize, v: u32) {
    if let Some(x) = IDS.get(i) {
        x.store(v, Ordering::Relaxed);
    }
}

/// The supplementary groups, into `out`; how many.
pub fn groups(out: &mut [u32; MAX_GROUPS]) -> usize {
    let n = NGROUPS.load(Ordering::Relaxed);
    for (o, g) in out.iter_mut().zip(GROUPS.iter().take(n)) {
        *o = g.load(Ordering::Relaxed);
    }
    n
}

pub fn set_groups(list: &[u32]) {
    for (slot, g) in GROUPS.iter().zip(list) {
        slot.store(*g, Ordering::Relaxed);
    }
    NGROUPS.store(list.len().min(MAX_GROUPS), Ordering::Relaxed);
}

/// The table is full: said once per call, and the call fails.
pub fn full() -> Errno {
    super::log::say(&[b"sb2: the virtual permission table is full; ownership not recorded\n"]);
    Errno(libc::ENOSPC)
}

/// `SB2_VPERM=<current ids>` for a child's environment, into `out`; false
/// when off. A value the program put in the environment itself (differing
/// from the one this process started with: sb2-fakeroot) is kept.
#[link_section = ".text.hot.sb2"]
pub fn env_entry(envp_value: Option<&[u8]>, out: &mut [u8; 512]) -> Option<usize> {
    if !on() {
        return None;
    }
    if let Some(v) = envp_value {
        let p = INITIAL.load(Ordering::Relaxed);
        // SAFETY: points into the environ string we started with.
        let initial =
            unsafe { core::slice::from_raw_parts(p, INITIAL_LEN.load(Ordering::Relaxed)) };
        if v != initial {
            return None;
        }
    }
    let mut w = 0;
    let mut put = |b: &[u8], w: &mut usize| {
        let end = (*w + b.len()).min(out.len());
        out[*w..end].copy_from_slice(&b[..end - *w]);
        *w = end;
    };
    put(IDS_VAR, &mut w);
    put(b"=", &mut w);
    for (i, x) in IDS.iter().enumerate() {
        if i > 0 {
            put(b":", &mut w);
        }
        put(
            sys::dec(x.load(Ordering::Relaxed).into(), &mut [0; 20]),
            &mut w,
        );
    }
    put(b":", &mut w);
    for (i, g) in GROUPS
        .iter()
        .take(NGROUPS.load(Ordering::Relaxed))
        .enumerate()
    {
        if i > 0 {
            put(b",", &mut w);
        }
        put(
            sys::dec(g.load(Ordering::Relaxed).into(), &mut [0; 20]),
            &mut w,
        );
    }
    Some(w)
}
