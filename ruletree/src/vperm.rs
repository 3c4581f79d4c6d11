//! Virtual permissions (DESIGN §8): the session's file-metadata database
//! and the rules that overlay it on what the kernel reports.
//!
//! The database is one file, `SESSION/vperm.db`, made by the launcher and
//! mapped `MAP_SHARED` by every process of the session: no daemon, no
//! round trip per stat, no lock. It is an open-addressing hash table of
//! fixed-size slots keyed by the inode (`st_dev`, `st_ino`):
//!
//! * a slot is claimed by one compare-and-swap of its key word and never
//!   released, so probe chains never break and a reader needs no lock;
//! * every field is one atomic word, written whole: owner (uid and gid in
//!   one word, so a chown is one store or one CAS loop), mode, rdev. A
//!   process killed at any instruction leaves every word either old or
//!   new, never torn; at worst a claimed slot with nothing recorded;
//! * the inode's birth time (statx `btime`) is recorded with it: an inode
//!   number reused after an unlink (even by a program without the preload)
//!   has a different birth, so its old record is ignored, then reset by the
//!   next writer. Checking the birth costs a `statx` (a `struct stat`
//!   has none), so a slot also keeps the change time (ctime) its inode
//!   showed when its birth was last checked: while a stat shows that same
//!   ctime, it is the same inode and no check is needed (see
//!   [`Entry::note_seen`] for why that is sound).
//!
//! [`overlay`] is the one function that turns a real `stat` result into the
//! virtual one; the preload calls it for every stat form, and the launcher
//! saves and loads the table as text ([`save`], [`load`]: fakeroot's
//! `-s`/`-i`; a load is checked completely before anything is stored).

use core::sync::atomic::{AtomicU32, AtomicU64, Ordering};

/// File name inside the session directory.
pub const FILE: &str = crate::contract::VPERM_FILE;
/// Environment variable carrying a process's virtual ids:
/// `ruid:euid:suid:fsuid:rgid:egid:sgid:fsgid[:g1,g2,...]`. Its presence
/// turns virtual permissions on for the process.
pub const IDS_VAR: &[u8] = crate::contract::IDS_VAR.as_bytes();

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

/// Kernel `new_encode_dev`: 12-bit major, 20-bit minor in 32 bits.
pub fn encode_dev(dev: u64) -> u32 {
    let (ma, mi) = (major(dev), minor(dev));
    (mi & 0xff) | (ma << 8) | ((mi & !0xff) << 12)
}
pub fn decode_dev(d: u32) -> u64 {
    let ma = (d & 0xfff00) >> 8;
    let mi = (d & 0xff) | ((d >> 12) & 0xfff00);
    makedev(ma, mi)
}
pub fn major(dev: u64) -> u32 {
    (((dev >> 32) & 0xffff_f000) | ((dev >> 8) & 0xfff)) as u32
}
pub fn minor(dev: u64) -> u32 {
    (((dev >> 12) & 0xffff_ff00) | (dev & 0xff)) as u32
}
pub fn makedev(ma: u32, mi: u32) -> u64 {
    let (ma, mi) = (ma as u64, mi as u64);
    ((ma & 0xffff_f000) << 32) | ((ma & 0xfff) << 8) | ((mi & 0xffff_ff00) << 12) | (mi & 0xff)
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

/// What the kernel says about a file, and (after [`overlay`]) what the
/// session shows.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Meta {
    pub dev: u64,
    pub ino: u64,
    pub uid: u32,
    pub gid: u32,
    pub mode: u32,
    pub rdev: u64,
    /// Birth time in ns, 0 if unknown.
    pub birth: u64,
    /// Change time in ns, 0 if unknown.
    pub ctime: u64,
}

/// A valid record's contents.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Rec {
    pub owner: Option<(u32, u32)>,
    /// Permission bits (07777).
    pub perm: Option<u32>,
    /// Simulated device: file type bits and device number.
    pub dev: Option<(u32, u64)>,
}

impl Rec {
    pub fn is_empty(&self) -> bool {
        self.owner.is_none() && self.perm.is_none() && self.dev.is_none()
    }
}

/// Whose files appear as whose.
#[derive(Clone, Copy, Debug)]
pub struct Who {
    pub real_uid: u32,
    pub real_gid: u32,
    pub unknown_uid: u32,
    pub unknown_gid: u32,
}

/// The one overlay: the real metadata `m` as the session shows it.
pub fn overlay(rec: Option<Rec>, who: &Who, m: &mut Meta) {
    let rec = rec.unwrap_or_default();
    match rec.owner {
        Some((u, g)) => (m.uid, m.gid) = (u, g),
        None => {
            if m.uid == who.real_uid {
                m.uid = who.unknown_uid;
            }
            if m.gid == who.real_gid {
                m.gid = who.unknown_gid;
            }
        }
    }
    if let Some((t, rdev)) = rec.dev {
        m.mode = t | (m.mode & 0o7777);
        m.rdev = rdev;
    }
    if let Some(p) = rec.perm {
        m.mode = (m.mode & libc::S_IFMT) | (p & 0o7777);
    }
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
    /// # Safety
    /// `mem` must stay mapped for `'a`; other processes may write it only
    /// through this module's atomic operations.
    pub unsafe fn from_raw(mem: *mut u8, len: usize) -> Option<Db<'a>> {
        if len < HEADER || !(mem as usize).is_multiple_of(8) {
            return None;
        }
        // SAFETY: at least HEADER bytes, aligned; Header is plain data and
        // atomics.
        let hdr = unsafe { &*(mem as *const Header) };
        let n = hdr.slots;
        if hdr.magic != MAGIC || !n.is_power_of_two() || Self::size(n) > len {
            return None;
        }
        // SAFETY: n slots follow the header inside the mapping.
        let slots =
            unsafe { core::slice::from_raw_parts(mem.add(HEADER) as *const Slot, n as usize) };
        Some(Db { hdr, slots })
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
    fn store(&self, r: &Rec) {
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
}

/// One line of a saved state file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Saved {
    pub dev: u64,
    pub ino: u64,
    pub birth: u64,
    /// Real file type (`S_IFMT` bits) the record was made for, 0 unknown.
    pub rtype: u32,
    /// The ctime that vouches for the inode (see [`Entry::note_seen`]), 0
    /// none: it stays valid across sessions, so a loaded table needs no
    /// birth check for files unchanged since.
    pub seen: u64,
    pub rec: Rec,
}

const SAVE_HEAD: &str = "# sb2 virtual permissions, format 1";

/// The table as text: a header line, one line per record, and an `end N`
/// line that makes truncation detectable.
pub fn save(db: &Db) -> String {
    use std::fmt::Write;
    let mut out = String::from(SAVE_HEAD);
    out.push('\n');
    let mut n = 0;
    for s in db.records() {
        let _ = writeln!(out, "{}", format_line(&s));
        n += 1;
    }
    let _ = writeln!(out, "end {n}");
    out
}

fn format_line(s: &Saved) -> String {
    let mut l = format!(
        "dev={} ino={} birth={} rtype={:o}",
        s.dev, s.ino, s.birth, s.rtype
    );
    if s.seen != 0 {
        l += &format!(" seen={}", s.seen);
    }
    if let Some((u, g)) = s.rec.owner {
        l += &format!(" owner={u}:{g}");
    }
    if let Some(p) = s.rec.perm {
        l += &format!(" perm={p:o}");
    }
    if let Some((t, d)) = s.rec.dev {
        l += &format!(" type={:o} rdev={}:{}", t, major(d), minor(d));
    }
    l
}

/// Parses a saved state file completely; the error names the line.
pub fn parse(text: &str) -> Result<Vec<Saved>, String> {
    let mut lines = text.lines().enumerate();
    match lines.next() {
        Some((_, h)) if h == SAVE_HEAD => {}
        _ => return Err("line 1: not an sb2 virtual permissions file".into()),
    }
    let mut out = Vec::new();
    for (i, line) in lines {
        let no = i + 1;
        if let Some(n) = line.strip_prefix("end ") {
            let n: usize = n
                .trim()
                .parse()
                .map_err(|_| format!("line {no}: bad record count"))?;
            if n != out.len() {
                return Err(format!(
                    "line {no}: {n} records announced, {} found (file damaged)",
                    out.len()
                ));
            }
            return Ok(out);
        }
        out.push(parse_line(line).map_err(|e| format!("line {no}: {e}"))?);
    }
    Err(format!(
        "line {}: the file ends without its 'end' line (truncated?)",
        text.lines().count() + 1
    ))
}

fn parse_line(line: &str) -> Result<Saved, String> {
    let mut s = Saved {
        dev: 0,
        ino: 0,
        birth: 0,
        rtype: 0,
        seen: 0,
        rec: Rec::default(),
    };
    let (mut has_dev, mut has_ino) = (false, false);
    let num = |v: &str, radix: u32| {
        u64::from_str_radix(v, radix).map_err(|_| format!("bad number '{v}'"))
    };
    let pair = |v: &str| -> Result<(u64, u64), String> {
        let (a, b) = v
            .split_once(':')
            .ok_or_else(|| format!("'{v}' is not A:B"))?;
        Ok((num(a, 10)?, num(b, 10)?))
    };
    let mut ftype = None;
    let mut rdev = None;
    for w in line.split_whitespace() {
        let (k, v) = w
            .split_once('=')
            .ok_or_else(|| format!("'{w}' is not key=value"))?;
        match k {
            "dev" => (s.dev, has_dev) = (num(v, 10)?, true),
            "ino" => (s.ino, has_ino) = (num(v, 10)?, true),
            "birth" => s.birth = num(v, 10)?,
            "rtype" => s.rtype = num(v, 8)? as u32,
            "seen" => s.seen = num(v, 10)?,
            "owner" => {
                let (u, g) = pair(v)?;
                if u > u32::MAX as u64 - 1 || g > u32::MAX as u64 - 1 {
                    return Err(format!("owner '{v}' out of range"));
                }
                s.rec.owner = Some((u as u32, g as u32));
            }
            "perm" => {
                let p = num(v, 8)?;
                if p > 0o7777 {
                    return Err(format!("perm '{v}' out of range"));
                }
                s.rec.perm = Some(p as u32);
            }
            "type" => ftype = Some(num(v, 8)? as u32),
            "rdev" => {
                let (a, b) = pair(v)?;
                rdev = Some(makedev(a as u32, b as u32));
            }
            _ => return Err(format!("unknown field '{k}'")),
        }
    }
    if !has_dev || !has_ino {
        return Err("dev= and ino= are required".into());
    }
    match (ftype, rdev) {
        (Some(t), Some(d)) if t == libc::S_IFCHR || t == libc::S_IFBLK => s.rec.dev = Some((t, d)),
        (None, None) => {}
        _ => return Err("type= (020000 or 060000) and rdev= go together".into()),
    }
    if s.rec.is_empty() {
        return Err("the record records nothing".into());
    }
    Ok(s)
}

/// Stores parsed records (all of them were checked by [`parse`]).
pub fn load(db: &Db, recs: &[Saved]) -> Result<(), Full> {
    for r in recs {
        let m = Meta {
            dev: r.dev,
            ino: r.ino,
            mode: r.rtype,
            birth: r.birth,
            ..Meta::default()
        };
        let e = db.entry(&m)?;
        e.store(&r.rec);
        e.0.seen.store(r.seen, Ordering::Release);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(slots: u32) -> Vec<u64> {
        let mut v = vec![0u64; Db::size(slots) / 8];
        // SAFETY: a u64 buffer viewed as bytes.
        let b = unsafe { core::slice::from_raw_parts_mut(v.as_mut_ptr() as *mut u8, v.len() * 8) };
        Db::init(b, slots, (0, 0));
        v
    }
    fn db(v: &mut [u64]) -> Db<'_> {
        // SAFETY: the buffer outlives the Db and is aligned.
        unsafe { Db::from_raw(v.as_mut_ptr() as *mut u8, v.len() * 8) }.unwrap()
    }
    const WHO: Who = Who {
        real_uid: 1000,
        real_gid: 1000,
        unknown_uid: 0,
        unknown_gid: 0,
    };

    #[test]
    fn unknown_files_of_the_user_are_root_others_keep_owner() {
        let mut m = Meta {
            uid: 1000,
            gid: 5,
            mode: libc::S_IFREG | 0o644,
            ..Meta::default()
        };
        overlay(None, &WHO, &mut m);
        assert_eq!((m.uid, m.gid), (0, 5));
    }

    #[test]
    fn records_apply_and_a_reused_inode_drops_them() {
        let mut v = table(64);
        let d = db(&mut v);
        let m = Meta {
            dev: makedev(8, 1),
            ino: 42,
            uid: 1000,
            gid: 1000,
            mode: libc::S_IFREG | 0o600,
            birth: 111,
            ..Meta::default()
        };
        let e = d.entry(&m).unwrap();
        e.set_owner(Some(123), None, (0, 0));
        e.set_perm(Some(0o4755));
        let mut shown = m;
        overlay(d.lookup(&m), &WHO, &mut shown);
        assert_eq!(
            (shown.uid, shown.gid, shown.mode),
            (123, 0, libc::S_IFREG | 0o4755)
        );
        // Same number, new inode (other birth): nothing applies...
        let reborn = Meta {
            birth: 222,
            mode: libc::S_IFDIR | 0o755,
            ..m
        };
        assert_eq!(d.lookup(&reborn), None);
        // ...and the next writer starts from a clean record.
        d.entry(&reborn).unwrap().set_owner(None, Some(7), (0, 0));
        assert_eq!(
            d.lookup(&reborn).unwrap(),
            Rec {
                owner: Some((0, 7)),
                perm: None,
                dev: None
            }
        );
    }

    #[test]
    fn an_old_ctime_vouches_for_the_inode_until_it_is_reused() {
        const S: u64 = 1_000_000_000;
        let mut v = table(64);
        let d = db(&mut v);
        let m = Meta {
            dev: 1,
            ino: 77,
            mode: libc::S_IFREG | 0o644,
            birth: 10 * S + 1,
            ctime: 20 * S + 5,
            ..Meta::default()
        };
        d.entry(&m).unwrap().set_owner(Some(3), Some(4), (0, 0));
        let e = d.find(1, 77).unwrap();
        // Not checked yet: the birth must be asked for.
        assert_eq!(e.read_seen(&m), None);
        // A ctime younger than the margin at check time is not trusted...
        e.note_seen(&m, 20 * S + 5 + S / 20);
        assert_eq!(e.read_seen(&m), None);
        // ...an older one is, for that exact ctime only.
        e.note_seen(&m, 30 * S);
        assert_eq!(e.read_seen(&m).unwrap().unwrap().owner, Some((3, 4)));
        assert_eq!(
            e.read_seen(&Meta {
                ctime: m.ctime + 1,
                ..m
            }),
            None
        );
        // Whole-second ctimes (coarse file systems) need a 2 s margin.
        let coarse = Meta { ctime: 20 * S, ..m };
        e.note_seen(&coarse, 21 * S);
        assert_eq!(e.read_seen(&coarse), None);
        // A birth check that fails notes nothing; a reused inode's writer
        // forgets the old ctime along with the old record.
        let reborn = Meta {
            birth: 40 * S,
            ctime: 40 * S + 7,
            ..m
        };
        e.note_seen(&reborn, 50 * S);
        assert_eq!(e.read_seen(&reborn), None);
        d.entry(&reborn).unwrap();
        assert_eq!(e.read_seen(&m), None);
        // Saved and loaded with the record.
        d.entry(&reborn).unwrap().set_owner(Some(5), None, (0, 0));
        d.find(1, 77).unwrap().note_seen(&reborn, 50 * S);
        let mut v2 = table(64);
        let d2 = db(&mut v2);
        load(&d2, &parse(&save(&d)).unwrap()).unwrap();
        let e2 = d2.find(1, 77).unwrap();
        assert_eq!(e2.read_seen(&reborn).unwrap().unwrap().owner, Some((5, 0)));
    }

    #[test]
    fn devices_keep_their_type_through_chmod() {
        let mut v = table(64);
        let d = db(&mut v);
        let m = Meta {
            dev: 1,
            ino: 9,
            mode: libc::S_IFREG | 0o600,
            birth: 5,
            ..Meta::default()
        };
        let e = d.entry(&m).unwrap();
        e.set_dev(libc::S_IFBLK, makedev(3, 1));
        e.set_perm(Some(0o644));
        let mut shown = m;
        overlay(d.lookup(&m), &WHO, &mut shown);
        assert_eq!(shown.mode, libc::S_IFBLK | 0o644);
        assert_eq!((major(shown.rdev), minor(shown.rdev)), (3, 1));
    }

    #[test]
    fn save_and_parse_round_trip_and_damage_is_an_error() {
        let mut v = table(64);
        let d = db(&mut v);
        for i in 0..10u64 {
            let m = Meta {
                dev: makedev(8, 2),
                ino: 100 + i,
                mode: libc::S_IFREG,
                birth: 9 + i,
                ..Meta::default()
            };
            let e = d.entry(&m).unwrap();
            e.set_owner(Some(i as u32), Some(2 * i as u32), (0, 0));
            if i == 3 {
                e.set_dev(libc::S_IFCHR, makedev(1, 3));
            }
        }
        let text = save(&d);
        let recs = parse(&text).unwrap();
        assert_eq!(recs.len(), 10);
        let mut v2 = table(64);
        let d2 = db(&mut v2);
        load(&d2, &recs).unwrap();
        assert_eq!(save(&d2), text);
        let cut = &text[..text.len() - 8];
        assert!(
            parse(cut).unwrap_err().contains("end"),
            "{}",
            parse(cut).unwrap_err()
        );
        let bad = text.replacen("owner=", "owner=x", 1);
        assert!(parse(&bad).unwrap_err().starts_with("line 2:"));
    }

    #[test]
    fn a_full_table_says_so() {
        let mut v = table(4);
        let d = db(&mut v);
        for i in 0..4 {
            d.entry(&Meta {
                ino: i,
                ..Meta::default()
            })
            .unwrap();
        }
        assert!(d
            .entry(&Meta {
                ino: 99,
                ..Meta::default()
            })
            .is_err());
    }
}
