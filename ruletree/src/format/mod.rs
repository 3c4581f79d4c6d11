//! The ruletree file: a hand-written, position-independent offset format.
//!
//! Every reference is a little-endian `u32` offset from the start of the file,
//! so the file is used in place wherever it is mapped. Layout:
//!
//! ```text
//! header  magic "SB2RTREE" | version u32 | file_len u32 | checksum u64
//!         | n_modes u32 | modes_off u32 | consts_off u32 | argvmods_off u32
//!         | net_off u32 (0: no network rules; layout in `crate::net`) | reserved u32
//! mode    name str | fs RuleList off | rev RuleList off
//!         | exec selection RuleList off | policies off | flags u32 | 2 x reserved
//! policy  name str | ld_so str | library_path str | root str
//! argvmod name str | dirs strlist off | new_filename str | tail strlist off
//!         | flags u32 (1: disable mapping, 2: launcher)
//!         | flags u32 (1: every mode; (chroot mode + 1) << 8)
//! str     (off u32, len u32) into the file; bytes are NUL-terminated
//! list    count u32 | rules_off u32 | trie_off u32
//! rule    RULE_WORDS u32 words (see `Rule` accessors)
//! trie    n_children u32 | children_off u32 | n_rules u32 | rules_off u32
//!         children: (name str, node off) sorted by name; rules: u32 indices
//! ```
//!
//! The checksum (FNV-1a over 64-bit words, checksum field taken as zero)
//! catches truncated or damaged files; [`Tree::new`] refuses a file of another
//! version rather than misreading it. The reader never panics: a bad offset
//! reads as empty.
//!
//! * this file — the layout constants shared by both sides;
//! * `write` — [`write`](fn@write): a [`model::Session`] to bytes
//!   (launcher, once per session; allocates);
//! * `read` — [`Tree`] and its views: the zero-copy, bounds-checked reader
//!   the preload uses on its hot path (no allocation, no panic).

#[cfg(doc)]
use crate::model;

mod read;
mod write;

pub use read::*;
pub use write::{seal, write, WriteError};

pub const MAGIC: &[u8; 8] = b"SB2RTREE";
/// Bumped whenever the layout changes.
pub const VERSION: u32 = 5;
const HDR: usize = 48;
const RULE_WORDS: usize = 18;
/// Deepest selector (in path components) the trie index accepts.
pub const MAX_DEPTH: usize = 48;

/// Why a ruletree file cannot be used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FormatError {
    BadMagic,
    Version { found: u32, expected: u32 },
    Truncated,
    Checksum,
}

impl FormatError {
    /// A sentence for the user.
    pub fn message(&self) -> &'static str {
        match self {
            FormatError::BadMagic => "not a ruletree file (bad magic)",
            FormatError::Version { .. } => "ruletree was written by another sb2 version",
            FormatError::Truncated => "ruletree file is truncated",
            FormatError::Checksum => "ruletree checksum mismatch (damaged file)",
        }
    }
}

impl FormatError {
    /// What is wrong, in a few words (for "session file F is damaged (...)").
    pub fn reason(&self) -> &'static str {
        match self {
            FormatError::BadMagic => "not a ruletree file",
            FormatError::Version { .. } => "written by another sb2 version",
            FormatError::Truncated => "truncated",
            FormatError::Checksum => "checksum mismatch",
        }
    }
}

fn checksum(data: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    let mut i = 0;
    while i + 8 <= data.len() {
        let mut w = [0u8; 8];
        w.copy_from_slice(&data[i..i + 8]);
        let v = if (16..24).contains(&i) {
            0
        } else {
            u64::from_le_bytes(w)
        };
        h = (h ^ v).wrapping_mul(0x0000_0100_0000_01b3);
        i += 8;
    }
    while i < data.len() {
        h = (h ^ data[i] as u64).wrapping_mul(0x0000_0100_0000_01b3);
        i += 1;
    }
    h
}

// Selector, action and condition kinds as stored.
pub const SEL_NONE: u8 = 0;
pub const SEL_PATH: u8 = 1;
pub const SEL_PREFIX: u8 = 2;
pub const SEL_DIR: u8 = 3;

pub const ACT_USE_ORIG: u8 = 1;
pub const ACT_FORCE_ORIG: u8 = 2;
pub const ACT_FORCE_ORIG_UNLESS_CHROOT: u8 = 3;
pub const ACT_MAP_TO: u8 = 4;
pub const ACT_REPLACE_BY: u8 = 5;
pub const ACT_SET_PATH: u8 = 6;
pub const ACT_MAP_TO_ENV: u8 = 7;
pub const ACT_REPLACE_BY_ENV: u8 = 8;
pub const ACT_UNION_DIR: u8 = 9;
pub const ACT_PROCFS: u8 = 10;
pub const ACT_RULES: u8 = 11;
pub const ACT_ACTIONS: u8 = 12;
pub const ACT_IF_EXISTS_MAP_TO: u8 = 13;
pub const ACT_IF_EXISTS_REPLACE_BY: u8 = 14;
pub const ACT_IF_EXISTS_IN: u8 = 15;

pub const COND_NONE: u8 = 0;
pub const COND_EXEC_POLICY: u8 = 1;
pub const COND_REDIRECT_IGNORE: u8 = 2;
pub const COND_REDIRECT_FORCE: u8 = 3;
pub const COND_ENV_NOT_EMPTY: u8 = 4;
pub const COND_ENV_EMPTY: u8 = 5;
