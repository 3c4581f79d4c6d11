//! The ruletree reader: [`Tree`] and the views it hands out, read in place
//! over the process's read-only copy of the file. On the preload's hot
//! path: no allocation, no panic; every read is bounds-checked, offset
//! arithmetic wraps, a bad offset reads as 0 or empty, every count is at
//! most what the file can hold, and lookups spend a [`Budget`]: whatever
//! the bytes, a reader finishes soon with some answer
//! (`ruletree/tests/fuzz_reader.rs` checks it).

use super::*;

/// Entry `i` of a table of `size`-byte entries after the count at `off`.
/// Wrapping: a garbage offset reads as empty, never overflows.
#[inline]
fn at(off: u32, i: u32, size: u32) -> u32 {
    off.wrapping_add(4).wrapping_add(i.wrapping_mul(size))
}

/// How much work one lookup may do over the tree's indexes. A tree this
/// sb2 wrote needs a small fraction of it; a damaged one (verified, then
/// changed, or forged with a valid checksum) could otherwise chain nested
/// lists into exponential work: past the budget a lookup finds nothing.
pub struct Budget(core::cell::Cell<u32>);

impl Budget {
    /// Entries read across one lookup, nested lists included.
    pub const STEPS: u32 = 1 << 20;
    pub fn new() -> Budget {
        Budget(core::cell::Cell::new(Self::STEPS))
    }
    /// Takes one step; false once the budget is spent.
    #[inline]
    pub fn spend(&self) -> bool {
        let n = self.0.get();
        self.0.set(n.saturating_sub(1));
        n > 0
    }
}

impl Default for Budget {
    fn default() -> Self {
        Self::new()
    }
}

/// A verified ruletree, read in place.
#[derive(Clone, Copy)]
pub struct Tree<'a> {
    data: &'a [u8],
}

impl<'a> Tree<'a> {
    /// Checks magic, version, length and checksum.
    pub fn new(data: &'a [u8]) -> Result<Tree<'a>, FormatError> {
        if data.len() < HDR {
            return Err(FormatError::Truncated);
        }
        if &data[0..8] != MAGIC {
            return Err(FormatError::BadMagic);
        }
        let t = Tree { data };
        let v = t.u32(8);
        if v != VERSION {
            return Err(FormatError::Version {
                found: v,
                expected: VERSION,
            });
        }
        if t.u32(12) as usize != data.len() {
            return Err(FormatError::Truncated);
        }
        if checksum(data) != t.u64(16) {
            return Err(FormatError::Checksum);
        }
        Ok(t)
    }

    /// The network rules' section (0: none).
    pub(crate) fn net_off(&self) -> u32 {
        self.u32(40)
    }

    /// A tree already verified by [`Tree::new`] (in this process or the one
    /// it was forked from): reading is bounds-checked, so bad data can only
    /// give wrong answers, never undefined behavior.
    pub fn verified(data: &'a [u8]) -> Tree<'a> {
        Tree { data }
    }

    #[inline]
    pub(crate) fn u32(&self, off: u32) -> u32 {
        let o = off as usize;
        match self.data.get(o..o + 4) {
            Some(b) => u32::from_le_bytes([b[0], b[1], b[2], b[3]]),
            None => 0,
        }
    }
    fn u64(&self, off: u32) -> u64 {
        self.u32(off) as u64 | (self.u32(off.wrapping_add(4)) as u64) << 32
    }
    /// The count stored at `off` of a table of `size`-byte entries that
    /// follows it, at most as many as the file can hold: garbage counts
    /// cannot make a loop run for billions of empty entries.
    #[inline]
    pub(crate) fn count(&self, off: u32, size: u32) -> u32 {
        let room = self.data.len().saturating_sub(off as usize + 4) / size.max(1) as usize;
        self.u32(off).min(room.min(u32::MAX as usize) as u32)
    }
    /// The bytes of a stored string (without its NUL).
    #[inline]
    pub fn str(&self, off: u32, len: u32) -> &'a [u8] {
        let o = off as usize;
        self.data.get(o..o + len as usize).unwrap_or(&[])
    }
    /// The stored string with its terminating NUL, for passing to C.
    pub fn cstr(&self, off: u32, len: u32) -> &'a [u8] {
        let o = off as usize;
        self.data.get(o..o + len as usize + 1).unwrap_or(b"\0")
    }

    /// The rule whose [`RuleRef::id`] is `off`.
    pub fn rule_at(&self, off: u32) -> RuleRef<'a> {
        RuleRef { t: *self, off }
    }

    /// Size of the file.
    pub fn len(&self) -> usize {
        self.data.len()
    }
    /// Whether the tree is empty (never, for a verified tree).
    pub fn is_empty(&self) -> bool {
        self.data.is_empty()
    }

    /// A session constant (`target_root`, `session_dir`, ...).
    #[link_section = ".text.hot.sb2"]
    pub fn constant(&self, key: &[u8]) -> Option<&'a [u8]> {
        let off = self.u32(32);
        let n = self.count(off, 16);
        (0..n).find_map(|i| {
            let e = at(off, i, 16);
            (self.str(self.u32(e), self.u32(e.wrapping_add(4))) == key)
                .then(|| self.str(self.u32(e.wrapping_add(8)), self.u32(e.wrapping_add(12))))
        })
    }
    /// All constants, in order.
    pub fn constants(&self) -> impl Iterator<Item = (&'a [u8], &'a [u8])> + '_ {
        let off = self.u32(32);
        (0..self.count(off, 16)).map(move |i| {
            let e = at(off, i, 16);
            (
                self.str(self.u32(e), self.u32(e.wrapping_add(4))),
                self.str(self.u32(e.wrapping_add(8)), self.u32(e.wrapping_add(12))),
            )
        })
    }

    /// The session's argv rewrites.
    pub fn argvmods(&self) -> impl Iterator<Item = ArgvModRef<'a>> + 'a {
        let t = *self;
        let off = self.u32(36);
        (0..self.count(off, 32)).map(move |i| ArgvModRef {
            t,
            off: at(off, i, 32),
        })
    }

    /// The strings of a stored string list.
    pub fn strlist(&self, off: u32) -> impl Iterator<Item = &'a [u8]> + 'a {
        let t = *self;
        (0..self.count(off, 8)).map(move |i| {
            let e = at(off, i, 8);
            t.str(t.u32(e), t.u32(e.wrapping_add(4)))
        })
    }

    /// Number of modes.
    pub fn n_modes(&self) -> u32 {
        let room = self.data.len().saturating_sub(self.u32(28) as usize) / 36;
        self.u32(24).min(room.min(u32::MAX as usize) as u32)
    }
    /// Mode `i` (0 is the default).
    pub fn mode(&self, i: u32) -> Option<ModeRef<'a>> {
        (i < self.n_modes()).then(|| ModeRef {
            t: *self,
            off: self.u32(28).wrapping_add(i.wrapping_mul(36)),
        })
    }
    /// The mode named `name`.
    pub fn mode_named(&self, name: &[u8]) -> Option<ModeRef<'a>> {
        (0..self.n_modes())
            .filter_map(|i| self.mode(i))
            .find(|m| m.name() == name)
    }
}

/// An exec policy.
#[derive(Clone, Copy)]
pub struct PolicyRef<'a> {
    t: Tree<'a>,
    off: u32,
}

impl<'a> PolicyRef<'a> {
    fn s(&self, i: u32) -> &'a [u8] {
        let e = self.off.wrapping_add(i * 8);
        self.t.str(self.t.u32(e), self.t.u32(e.wrapping_add(4)))
    }
    pub fn name(&self) -> &'a [u8] {
        self.s(0)
    }
    /// The root's ld.so (empty: start programs directly).
    #[link_section = ".text.hot.sb2"]
    pub fn ld_so(&self) -> &'a [u8] {
        self.s(1)
    }
    pub fn library_path(&self) -> &'a [u8] {
        self.s(2)
    }
    pub fn root(&self) -> &'a [u8] {
        self.s(3)
    }
}

/// An argv rewrite.
#[derive(Clone, Copy)]
pub struct ArgvModRef<'a> {
    t: Tree<'a>,
    off: u32,
}

impl<'a> ArgvModRef<'a> {
    pub fn name(&self) -> &'a [u8] {
        self.t
            .str(self.t.u32(self.off), self.t.u32(self.off.wrapping_add(4)))
    }
    pub fn dirs(&self) -> impl Iterator<Item = &'a [u8]> + 'a {
        self.t.strlist(self.t.u32(self.off.wrapping_add(8)))
    }
    pub fn new_filename(&self) -> &'a [u8] {
        self.t.str(
            self.t.u32(self.off.wrapping_add(12)),
            self.t.u32(self.off.wrapping_add(16)),
        )
    }
    pub fn add_tail(&self) -> impl Iterator<Item = &'a [u8]> + 'a {
        self.t.strlist(self.t.u32(self.off.wrapping_add(20)))
    }
    pub fn disable_mapping(&self) -> bool {
        self.t.u32(self.off.wrapping_add(24)) & 1 != 0
    }
    /// A compiler launcher (see [`crate::model::ArgvMod::launcher`]).
    pub fn launcher(&self) -> bool {
        self.t.u32(self.off.wrapping_add(24)) & 2 != 0
    }
    pub fn every_mode(&self) -> bool {
        self.t.u32(self.off.wrapping_add(28)) & 1 != 0
    }
    /// The mode whose chroot substitute this is (see
    /// [`crate::model::ArgvMod::chroot_mode`]).
    pub fn chroot_mode(&self) -> Option<u32> {
        (self.t.u32(self.off.wrapping_add(28)) >> 8).checked_sub(1)
    }
}

/// A mode's entry.
#[derive(Clone, Copy)]
pub struct ModeRef<'a> {
    t: Tree<'a>,
    off: u32,
}

impl<'a> ModeRef<'a> {
    /// `exec_policy_selection`, matched against mapped program paths.
    pub fn exec_selection(&self) -> RuleList<'a> {
        RuleList {
            t: self.t,
            off: self.t.u32(self.off.wrapping_add(16)),
        }
    }
    /// The exec policies of this mode.
    pub fn exec_policies(&self) -> impl Iterator<Item = PolicyRef<'a>> + 'a {
        let t = self.t;
        let off = t.u32(self.off.wrapping_add(20));
        (0..t.count(off, 32)).map(move |i| PolicyRef {
            t,
            off: at(off, i, 32),
        })
    }
    /// The policy named `name`.
    pub fn exec_policy(&self, name: &[u8]) -> Option<PolicyRef<'a>> {
        self.exec_policies().find(|p| p.name() == name)
    }
    /// Whether the toolchain argvmods apply in this mode.
    pub fn toolchain(&self) -> bool {
        self.t.u32(self.off.wrapping_add(24)) & 1 != 0
    }
    pub fn name(&self) -> &'a [u8] {
        self.t
            .str(self.t.u32(self.off), self.t.u32(self.off.wrapping_add(4)))
    }
    pub fn fs_rules(&self) -> RuleList<'a> {
        RuleList {
            t: self.t,
            off: self.t.u32(self.off.wrapping_add(8)),
        }
    }
    pub fn rev_rules(&self) -> RuleList<'a> {
        RuleList {
            t: self.t,
            off: self.t.u32(self.off.wrapping_add(12)),
        }
    }
}

/// An ordered rule list with its trie index.
#[derive(Clone, Copy)]
pub struct RuleList<'a> {
    pub(crate) t: Tree<'a>,
    pub(crate) off: u32,
}

impl<'a> RuleList<'a> {
    pub fn len(&self) -> u32 {
        if self.off == 0 {
            0
        } else {
            // At most as many rules as the file holds.
            let room = self.t.len() / (RULE_WORDS * 4);
            self.t.u32(self.off).min(room.min(u32::MAX as usize) as u32)
        }
    }
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
    pub fn get(&self, i: u32) -> Option<RuleRef<'a>> {
        (i < self.len()).then(|| RuleRef {
            t: self.t,
            off: self
                .t
                .u32(self.off.wrapping_add(4))
                .wrapping_add(i.wrapping_mul(RULE_WORDS as u32 * 4)),
        })
    }
    pub fn iter(&self) -> impl Iterator<Item = RuleRef<'a>> + '_ {
        (0..self.len()).filter_map(|i| self.get(i))
    }
    pub(crate) fn trie_root(&self) -> TrieNode<'a> {
        TrieNode {
            t: self.t,
            off: self.t.u32(self.off.wrapping_add(8)),
        }
    }
}

/// One trie node of a rule list's index.
#[derive(Clone, Copy)]
pub(crate) struct TrieNode<'a> {
    pub(crate) t: Tree<'a>,
    pub(crate) off: u32,
}

impl<'a> TrieNode<'a> {
    pub(crate) fn child(&self, name: &[u8]) -> Option<TrieNode<'a>> {
        let (n, base) = (self.t.u32(self.off), self.t.u32(self.off.wrapping_add(4)));
        // Children are sorted by (length, name): binary search.
        let (mut lo, mut hi) = (0u32, n);
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            let e = base.wrapping_add(mid.wrapping_mul(12));
            let klen = self.t.u32(e.wrapping_add(4)) as usize;
            let ord = match klen.cmp(&name.len()) {
                std::cmp::Ordering::Equal => self.t.str(self.t.u32(e), klen as u32).cmp(name),
                other => other,
            };
            match ord {
                std::cmp::Ordering::Equal => {
                    return Some(TrieNode {
                        t: self.t,
                        off: self.t.u32(e.wrapping_add(8)),
                    })
                }
                std::cmp::Ordering::Less => lo = mid + 1,
                std::cmp::Ordering::Greater => hi = mid,
            }
        }
        None
    }
    /// First rule index anchored here that is greater than `after`.
    #[inline]
    pub(crate) fn first_rule_after(&self, after: Option<u32>, budget: &Budget) -> Option<u32> {
        let base = self.t.u32(self.off.wrapping_add(12));
        let n = self.t.count(self.off.wrapping_add(8), 4);
        (0..n)
            .take_while(|_| budget.spend())
            .map(|i| self.t.u32(base.wrapping_add(i.wrapping_mul(4))))
            .find(|r| after.is_none_or(|a| *r > a))
    }
}

/// One rule, read in place.
#[derive(Clone, Copy)]
pub struct RuleRef<'a> {
    pub(crate) t: Tree<'a>,
    off: u32,
}

impl<'a> RuleRef<'a> {
    #[inline]
    fn w(&self, i: u32) -> u32 {
        self.t.u32(self.off.wrapping_add(i * 4))
    }
    pub fn selector_kind(&self) -> u8 {
        self.w(0) as u8
    }
    pub fn action_kind(&self) -> u8 {
        (self.w(0) >> 8) as u8
    }
    pub fn condition_kind(&self) -> u8 {
        (self.w(0) >> 16) as u8
    }
    pub fn flags(&self) -> u8 {
        (self.w(0) >> 24) as u8
    }
    pub fn func_class(&self) -> u32 {
        self.w(1)
    }
    pub fn selector(&self) -> &'a [u8] {
        self.t.str(self.w(2), self.w(3))
    }
    pub fn action_str(&self) -> &'a [u8] {
        self.t.str(self.w(4), self.w(5))
    }
    pub fn condition_str(&self) -> &'a [u8] {
        self.t.str(self.w(6), self.w(7))
    }
    pub fn binary_name(&self) -> Option<&'a [u8]> {
        (self.w(8) != 0).then(|| self.t.str(self.w(8), self.w(9)))
    }
    pub fn exec_policy_name(&self) -> Option<&'a [u8]> {
        (self.w(10) != 0).then(|| self.t.str(self.w(10), self.w(11)))
    }
    pub fn name(&self) -> Option<&'a [u8]> {
        (self.w(12) != 0).then(|| self.t.str(self.w(12), self.w(13)))
    }
    /// The nested list of `rules`, `actions` and `then_actions`.
    pub fn sublist(&self) -> RuleList<'a> {
        RuleList {
            t: self.t,
            off: self.w(14),
        }
    }
    /// The directories of a `union_dir` action.
    pub fn union_dirs(&self) -> impl Iterator<Item = &'a [u8]> + '_ {
        let off = self.w(14);
        let n = if off == 0 { 0 } else { self.t.count(off, 8) };
        (0..n).map(move |i| {
            let e = at(off, i, 8);
            self.t.str(self.t.u32(e), self.t.u32(e.wrapping_add(4)))
        })
    }
    pub fn file(&self) -> &'a [u8] {
        self.t.str(self.w(15), self.w(16))
    }
    pub fn line(&self) -> u32 {
        self.w(17)
    }
    /// Identity of the rule within the tree (its offset), for logs and
    /// caches ([`Tree::rule_at`] gives the rule back).
    pub fn id(&self) -> u32 {
        self.off
    }
}
