//! Virtual permissions: the session's file-metadata database
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
//!
//! * this file — what a file looks like ([`Meta`], [`Rec`]), the overlay
//!   and device numbers;
//! * `table` — the shared hash table ([`Db`], [`Entry`]): lock-free, used
//!   by the preload on every stat and metadata change, allocates nothing;
//! * `text` — the text form ([`save`], [`parse`], [`load`]).

mod table;
mod text;

pub use table::*;
pub use text::*;

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

#[cfg(test)]
mod tests;
