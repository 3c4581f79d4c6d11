//! The session's shared metadata table: an open-addressing hash table of
//! fixed-size atomic slots in a `MAP_SHARED` file (the layout and its
//! invariants are in the parent module's doc). Used by the preload on
//! every stat and metadata change: no lock, no allocation, no panic after
//! [`Db::init`].

use super::*;
use core::sync::atomic::{AtomicU32, AtomicU64, Ordering};

const MAGIC: [u8; 8] = *b"SB2VPRM2";
/// Bytes before the first slot.
pub const HEADER: usize = 64;
/// Bytes per slot.
pub const SLOT: usize = 40;
/// Default number of slots (a power of two): 10 MiB, sparse.
pub const DEFAULT_SLOTS: u32 = 1 << 18;
/// Probes before a lookup gives up (the table is then treated as full).
const MAX_PROBE: usize = 512;

/// Mode word: the virtual permission bits (low 12) are recorded.
const M_PERM: u32 = 1 << 31;
/// Mode word: the virtual file type (bits 12..16) replaces the real one
/// (a device node simulated by a placeholder file), rdev is recorded.
const M_DEV: u32 = 1 << 30;
/// Mode word: bits 16..20 hold the real file type the record was made
/// for (validates records on file systems without birth times).
const M_RTYPE_SHIFT: u32 = 16;

#[repr(C)]
struct Header {
    magic: [u8; 8],
    slots: u32,
    _pad: u32,
    /// Claimed slots.
    used: AtomicU64,
    /// Owner of files the real user owns and nobody chowned (`-U`),
    /// packed as [`pack_owner`].
    unknown: AtomicU64,
}

#[repr(C)]
struct Slot {
    key: AtomicU64,
    /// `!(uid << 32 | gid)`: zero means "not recorded".
    owner: AtomicU64,
    /// statx btime in nanoseconds, 0 if the file system has none.
    birth: AtomicU64,
    mode: AtomicU32,
    /// Kernel-encoded (`new_encode_dev`) device number.
    rdev: AtomicU32,
    /// ctime (ns) the inode showed when its birth was last found equal to
    /// `birth`; 0 if none.
    seen: AtomicU64,
}

const _: () = assert!(core::mem::size_of::<Slot>() == SLOT);
const _: () = assert!(core::mem::size_of::<Header>() <= HEADER);

pub fn pack_owner(uid: u32, gid: u32) -> u64 {
    !((uid as u64) << 32 | gid as u64)
}
fn unpack_owner(w: u64) -> Option<(u32, u32)> {
    if w == 0 {
        return None;
    }
    let v = !w;
    Some(((v >> 32) as u32, v as u32))
}

/// The slot key of an inode: exact for the device and inode numbers of
/// every common file system (device < 2^20, inode < 2^43), a 63-bit hash
/// otherwise. Never 0 (the empty slot).
fn key(dev: u64, ino: u64) -> u64 {
    let d = encode_dev(dev) as u64;
    if d < 1 << 20 && ino < 1 << 43 {
        1 << 63 | d << 43 | ino
    } else {
        (mix(d ^ mix(ino)) >> 1) | 1
    }
}

/// Where a key's probe starts: inodes numbered alike (made together,
/// usually walked together) share a block of slots, so a tree's records
/// sit on few pages rather than one page each; the blocks themselves are
/// spread by a hash.
fn home(k: u64, ino: u64) -> usize {
    const BLOCK: u64 = 64;
    ((mix(k / BLOCK) & !(BLOCK - 1)) | (ino % BLOCK)) as usize
}

fn mix(mut x: u64) -> u64 {
    // splitmix64's finalizer.
    x ^= x >> 30;
    x = x.wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x ^= x >> 27;
    x = x.wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

/// The session's table, over a shared mapping.
#[derive(Clone, Copy)]
pub struct Db<'a> {
    hdr: &'a Header,
    slots: &'a [Slot],
}

/// A slot of the table.
#[derive(Clone, Copy)]
pub struct Entry<'a>(&'a Slot);

/// Why a mapped file is not a usable table (said when a process of an
/// `-R` session cannot use it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DbError {
    /// Shorter than its header, or than the slots the header promises.
    Truncated,
    /// Not a table at all (bad magic).
    NotATable,
    /// A table of another layout version (the magic's last byte).
    Version(u8),
    /// A slot count that is no power of two.
    BadSlots,
    /// Not 8-byte aligned (never for a mapping).
    Misaligned,
}

impl DbError {
    /// What is wrong, for a one-line message.
    pub fn reason(&self) -> &'static str {
        match self {
            DbError::Truncated => "truncated",
            DbError::NotATable => "not a virtual permission table",
            DbError::Version(_) => "written by another sb2 version",
            DbError::BadSlots => "bad slot count in its header",
            DbError::Misaligned => "misaligned",
        }
    }
}

/// The table has no free slot within reach of this key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Full;

impl<'a> Db<'a> {
    /// Bytes of a table with `slots` slots.
    pub fn size(slots: u32) -> usize {
        HEADER + slots as usize * SLOT
    }

    /// Writes a fresh header into `buf` (at least [`HEADER`] bytes; the
    /// slots that follow it in the file must be zero).
    pub fn init(buf: &mut [u8], slots: u32, unknown: (u32, u32)) {
        assert!(slots.is_power_of_two() && buf.len() >= HEADER);
        buf[..8].copy_from_slice(&MAGIC);
        buf[8..12].copy_from_slice(&slots.to_ne_bytes());
        buf[24..32].copy_from_slice(&pack_owner(unknown.0, unknown.1).to_ne_bytes());
    }

    /// The table in `mem` (8-byte aligned, shared, writable), if it is one.
    ///
    /// Only the header is checked: every slot's words are atomics whose
    /// every value is safe to read (garbage gives wrong answers, never
    /// undefined behavior), and the table is written while it is used, so
    /// it has no checksum.
    ///
    /// # Safety
    /// `mem` must stay mapped for `'a`; other processes may write it only
    /// through this module's atomic operations.
    pub unsafe fn from_raw(mem: *mut u8, len: usize) -> Result<Db<'a>, DbError> {
        if len < HEADER {
            return Err(DbError::Truncated);
        }
        if !(mem as usize).is_multiple_of(8) {
            return Err(DbError::Misaligned);
        }
        // SAFETY: at least HEADER bytes, aligned; Header is plain data and
        // atomics.
        let hdr = unsafe { &*(mem as *const Header) };
        if hdr.magic != MAGIC {
            return Err(if hdr.magic[..7] == MAGIC[..7] {
                DbError::Version(hdr.magic[7])
            } else {
                DbError::NotATable
            });
        }
        let n = hdr.slots;
        if !n.is_power_of_two() {
            return Err(DbError::BadSlots);
        }
        if Self::size(n) > len {
            return Err(DbError::Truncated);
        }
        // SAFETY: n slots follow the header inside the mapping.
        let slots =
            unsafe { core::slice::from_raw_parts(mem.add(HEADER) as *const Slot, n as usize) };
        Ok(Db { hdr, slots })
    }

    pub fn unknown(&self) -> (u32, u32) {
        unpack_owner(self.hdr.unknown.load(Ordering::Relaxed)).unwrap_or((0, 0))
    }

    /// Nothing was ever recorded (every lookup can be skipped).
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.hdr.used.load(Ordering::Acquire) == 0
    }

    pub fn capacity(&self) -> u32 {
        self.hdr.slots
    }

    pub fn used(&self) -> u64 {
        self.hdr.used.load(Ordering::Relaxed)
    }

    fn probe(&self, dev: u64, ino: u64, claim: bool) -> Result<Option<Entry<'a>>, Full> {
        let k = key(dev, ino);
        let mask = self.slots.len() - 1;
        let start = home(k, ino) & mask;
        for i in 0..MAX_PROBE.min(self.slots.len()) {
            let s = &self.slots[(start + i) & mask];
            let mut cur = s.key.load(Ordering::Acquire);
            if cur == 0 && claim {
                match s
                    .key
                    .compare_exchange(0, k, Ordering::AcqRel, Ordering::Acquire)
                {
                    Ok(_) => {
                        self.hdr.used.fetch_add(1, Ordering::AcqRel);
                        return Ok(Some(Entry(s)));
                    }
                    Err(now) => cur = now,
                }
            }
            if cur == k {
                return Ok(Some(Entry(s)));
            }
            if cur == 0 {
                return Ok(None);
            }
        }
        if claim {
            Err(Full)
        } else {
            Ok(None)
        }
    }

    /// The record of the inode `m` describes, if one is valid for it.
    #[inline]
    pub fn lookup(&self, m: &Meta) -> Option<Rec> {
        if self.is_empty() {
            return None;
        }
        let e = self.probe(m.dev, m.ino, false).ok()??;
        e.read(m)
    }

    /// The slot holding something under this inode number (valid or not):
    /// a cheap test before fetching the birth time for [`Entry::read`].
    #[inline]
    pub fn find(&self, dev: u64, ino: u64) -> Option<Entry<'a>> {
        if self.is_empty() {
            return None;
        }
        match self.probe(dev, ino, false) {
            Ok(Some(e)) if !e.raw().is_empty() => Some(e),
            _ => None,
        }
    }

    /// The slot for the inode `m` describes, claimed if new and reset if
    /// it held a record of an earlier inode with the same number.
    pub fn entry(&self, m: &Meta) -> Result<Entry<'a>, Full> {
        let e = self.probe(m.dev, m.ino, true)?.ok_or(Full)?;
        e.adopt(m);
        Ok(e)
    }

    /// Every slot with a record, as a saved line would hold it. (A hashed
    /// key, for device or inode numbers beyond the exact range, cannot be
    /// named and is not saved.)
    pub fn records(&self) -> impl Iterator<Item = Saved> + 'a {
        self.slots.iter().filter_map(|s| {
            let k = s.key.load(Ordering::Acquire);
            if k & (1 << 63) == 0 {
                return None;
            }
            let rec = Entry(s).raw();
            if rec.is_empty() {
                return None;
            }
            Some(Saved {
                dev: decode_dev(((k >> 43) & 0xf_ffff) as u32),
                ino: k & ((1 << 43) - 1),
                birth: s.birth.load(Ordering::Acquire),
                seen: s.seen.load(Ordering::Acquire),
                rtype: ((s.mode.load(Ordering::Relaxed) >> M_RTYPE_SHIFT) & 0xf) << 12,
                rec,
            })
        })
    }
}

impl<'a> Entry<'a> {
    /// The record as stored, unvalidated.
    fn raw(&self) -> Rec {
        let s = self.0;
        let mode = s.mode.load(Ordering::Acquire);
        Rec {
            owner: unpack_owner(s.owner.load(Ordering::Acquire)),
            perm: (mode & M_PERM != 0).then_some(mode & 0o7777),
            dev: (mode & M_DEV != 0).then(|| {
                (
                    mode & libc::S_IFMT,
                    decode_dev(s.rdev.load(Ordering::Acquire)),
                )
            }),
        }
    }

    fn matches(&self, m: &Meta) -> bool {
        let b = self.0.birth.load(Ordering::Acquire);
        if b != m.birth {
            return false;
        }
        if b != 0 {
            return true;
        }
        // No birth times here: the real type must at least agree.
        let rt = (self.0.mode.load(Ordering::Acquire) >> M_RTYPE_SHIFT) & 0xf;
        rt == 0 || rt == (m.mode & libc::S_IFMT) >> 12
    }

    /// The record, without a birth check, if `m` shows the ctime noted by
    /// [`Entry::note_seen`]: `None` means "check the birth".
    #[inline]
    pub fn read_seen(&self, m: &Meta) -> Option<Option<Rec>> {
        let seen = self.0.seen.load(Ordering::Acquire);
        if seen == 0 || seen != m.ctime {
            return None;
        }
        let r = self.raw();
        Some((!r.is_empty()).then_some(r))
    }

    /// After [`Entry::read`] found `m`'s birth equal to the slot's, with
    /// `checked_at` the real time (ns) read *before* the birth was asked:
    /// remembers `m.ctime` so the next stat showing it needs no check.
    ///
    /// Sound because ctimes only grow: another inode that gets this number
    /// later is created after `checked_at` and so has a ctime after it
    /// (less the kernel's coarse clock lag), while `m.ctime` is noted only
    /// when it is older than `checked_at` by more than that lag and the
    /// file system's timestamp granularity (whole seconds when it keeps no
    /// nanoseconds). Fresh files are checked each time until then.
    pub fn note_seen(&self, m: &Meta, checked_at: u64) {
        const NS: u64 = 1_000_000_000;
        let margin = if m.ctime.is_multiple_of(NS) {
            2 * NS
        } else {
            NS / 10
        };
        if m.ctime == 0 || m.ctime.saturating_add(margin) > checked_at {
            return;
        }
        if self.0.birth.load(Ordering::Acquire) == m.birth {
            self.0.seen.store(m.ctime, Ordering::Release);
        }
    }

    /// The record, if it belongs to the inode `m` describes.
    pub fn read(&self, m: &Meta) -> Option<Rec> {
        if !self.matches(m) {
            return None;
        }
        let r = self.raw();
        (!r.is_empty()).then_some(r)
    }

    /// Makes the slot describe `m`'s inode: a record of an earlier inode
    /// with the same number is cleared. Concurrent writers of the same
    /// reused inode all try; each clears only values it saw stale, so a
    /// value another writer stored for the new inode is kept (unless it
    /// equals the stale one, which is then the same value anyway).
    fn adopt(&self, m: &Meta) {
        let s = self.0;
        let rt = ((m.mode & libc::S_IFMT) >> 12) << M_RTYPE_SHIFT;
        let b = s.birth.load(Ordering::Acquire);
        if !self.matches(m) {
            let (o, md, rd) = (
                s.owner.load(Ordering::Acquire),
                s.mode.load(Ordering::Acquire),
                s.rdev.load(Ordering::Acquire),
            );
            // The writer that moves the birth clears the stale values;
            // one that loses the race finds the slot adopted already.
            if b == m.birth
                || s.birth
                    .compare_exchange(b, m.birth, Ordering::AcqRel, Ordering::Acquire)
                    .is_ok()
            {
                s.seen.store(0, Ordering::Release);
                let _ = s
                    .owner
                    .compare_exchange(o, 0, Ordering::AcqRel, Ordering::Relaxed);
                let _ = s
                    .rdev
                    .compare_exchange(rd, 0, Ordering::AcqRel, Ordering::Relaxed);
                let _ = s
                    .mode
                    .compare_exchange(md, rt, Ordering::AcqRel, Ordering::Relaxed);
            }
        }
        // Record the real type (validates records where there are no
        // birth times).
        let _ = s
            .mode
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |w| {
                (w & (0xf << M_RTYPE_SHIFT) == 0).then_some(w | rt)
            });
    }

    /// Sets the owner; `None` keeps that half. `cur` is the owner the file
    /// shows now (used when nothing is recorded yet).
    pub fn set_owner(&self, uid: Option<u32>, gid: Option<u32>, cur: (u32, u32)) {
        let _ = self
            .0
            .owner
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |w| {
                let (u0, g0) = unpack_owner(w).unwrap_or(cur);
                Some(pack_owner(uid.unwrap_or(u0), gid.unwrap_or(g0)))
            });
    }

    /// Forgets the owner (the file shows its real one again).
    pub fn clear_owner(&self) {
        self.0.owner.store(0, Ordering::Release);
    }

    /// Records permission bits, or forgets them (`None`).
    pub fn set_perm(&self, perm: Option<u32>) {
        let _ = self
            .0
            .mode
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |w| {
                Some(match perm {
                    Some(p) => (w & !0o7777) | M_PERM | (p & 0o7777),
                    None => w & !(M_PERM | 0o7777),
                })
            });
    }

    /// Clears set-id bits of the recorded permissions (chown does).
    pub fn clear_setid(&self, bits: u32) {
        let _ = self
            .0
            .mode
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |w| {
                (w & M_PERM != 0 && w & bits != 0).then_some(w & !bits)
            });
    }

    /// Makes the file a simulated device node.
    pub fn set_dev(&self, ftype: u32, rdev: u64) {
        self.0.rdev.store(encode_dev(rdev), Ordering::Release);
        let _ = self
            .0
            .mode
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |w| {
                Some((w & !libc::S_IFMT) | M_DEV | (ftype & libc::S_IFMT))
            });
    }

    /// Stores a loaded record whole.
    pub(super) fn store(&self, r: &Rec) {
        if let Some((u, g)) = r.owner {
            self.0.owner.store(pack_owner(u, g), Ordering::Release);
        }
        if let Some((t, d)) = r.dev {
            self.set_dev(t, d);
        }
        if r.perm.is_some() {
            self.set_perm(r.perm);
        }
    }

    /// Restores a saved record and the ctime that vouched for its inode.
    pub(super) fn restore(&self, r: &Rec, seen: u64) {
        self.store(r);
        self.0.seen.store(seen, Ordering::Release);
    }
}
