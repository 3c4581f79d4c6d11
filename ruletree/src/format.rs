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
//! argvmod name str | dirs strlist off | new_filename str | tail strlist off | flags u32
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

use crate::model::{self, Action, Condition, Selector};

pub const MAGIC: &[u8; 8] = b"SB2RTREE";
/// Bumped whenever the layout changes.
pub const VERSION: u32 = 4;
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

// ---------------------------------------------------------------- writer

/// Serializes a [`model::Session`] into ruletree bytes.
pub fn write(session: &model::Session) -> Result<Vec<u8>, String> {
    let mut w = Writer {
        buf: vec![0u8; HDR],
    };
    let mut mode_offs = Vec::new();
    let target_root = session
        .constants
        .iter()
        .find(|(k, _)| k == "target_root")
        .map(|(_, v)| v.as_bytes().to_vec())
        .unwrap_or_else(|| b"/".to_vec());
    for m in &session.modes {
        let fs = w.list(&m.fs_rules)?;
        let rev = model::reverse_rules(&m.fs_rules, &target_root);
        let rev = w.list(&rev)?;
        let sel = w.list(&m.exec_selection)?;
        let pols: Vec<[u32; 8]> = m
            .exec_policies
            .iter()
            .map(|p| {
                let a = w.str(&p.name);
                let b = w.str(&p.ld_so);
                let c = w.str(&p.library_path);
                let d = w.str(&p.root);
                [a.0, a.1, b.0, b.1, c.0, c.1, d.0, d.1]
            })
            .collect();
        let pols_off = w.here();
        w.u32(pols.len() as u32);
        pols.iter().flatten().for_each(|x| w.u32(*x));
        let name = w.str(m.name.as_bytes());
        let flags = m.toolchain as u32;
        mode_offs.push([name.0, name.1, fs, rev, sel, pols_off, flags, 0, 0]);
    }
    let mods: Vec<[u32; 8]> = session
        .argvmods
        .iter()
        .map(|a| {
            let n = w.str(&a.name);
            let d = w.strlist(&a.dirs);
            let f = w.str(&a.new_filename);
            let t = w.strlist(&a.add_tail);
            [
                n.0,
                n.1,
                d,
                f.0,
                f.1,
                t,
                a.disable_mapping as u32,
                a.every_mode as u32,
            ]
        })
        .collect();
    let argvmods_off = w.here();
    w.u32(mods.len() as u32);
    mods.iter().flatten().for_each(|x| w.u32(*x));
    let consts: Vec<[u32; 4]> = session
        .constants
        .iter()
        .map(|(k, v)| {
            let k = w.str(k.as_bytes());
            let v = w.str(v.as_bytes());
            [k.0, k.1, v.0, v.1]
        })
        .collect();
    let consts_off = w.here();
    w.u32(consts.len() as u32);
    for c in &consts {
        c.iter().for_each(|x| w.u32(*x));
    }
    let net_off = match &session.net {
        Some(n) => w.net(n),
        None => 0,
    };
    let modes_off = w.here();
    for m in &mode_offs {
        m.iter().for_each(|x| w.u32(*x));
    }
    while !w.buf.len().is_multiple_of(8) {
        w.buf.push(0);
    }
    let len = w.buf.len() as u32;
    let b = &mut w.buf;
    b[0..8].copy_from_slice(MAGIC);
    b[8..12].copy_from_slice(&VERSION.to_le_bytes());
    b[12..16].copy_from_slice(&len.to_le_bytes());
    b[24..28].copy_from_slice(&(session.modes.len() as u32).to_le_bytes());
    b[28..32].copy_from_slice(&modes_off.to_le_bytes());
    b[32..36].copy_from_slice(&consts_off.to_le_bytes());
    b[36..40].copy_from_slice(&argvmods_off.to_le_bytes());
    b[40..44].copy_from_slice(&net_off.to_le_bytes());
    let sum = checksum(b);
    b[16..24].copy_from_slice(&sum.to_le_bytes());
    Ok(w.buf)
}

struct Writer {
    buf: Vec<u8>,
}

#[derive(Default)]
struct BuildNode {
    children: std::collections::BTreeMap<Vec<u8>, BuildNode>,
    rules: Vec<u32>,
}

/// Components of a selector, and the trie node it is anchored at: a `prefix`
/// selector not ending in `/` may end in the middle of a component, so it is
/// anchored at its parent.
fn anchor(sel: &Selector) -> Option<Vec<&[u8]>> {
    let (s, partial) = match sel {
        Selector::Path(s) | Selector::Dir(s) => (s.as_slice(), false),
        Selector::Prefix(s) => (s.as_slice(), !s.ends_with(b"/")),
        Selector::None => return None,
    };
    let mut comps: Vec<&[u8]> = s.split(|c| *c == b'/').filter(|c| !c.is_empty()).collect();
    if partial {
        comps.pop();
    }
    Some(comps)
}

/// Does every path `inner` selects also satisfy `outer`?
fn within(inner: &Selector, outer: &Selector) -> bool {
    let Selector::Dir(o) = outer else {
        return false;
    };
    let i = match inner {
        Selector::Path(s) | Selector::Dir(s) | Selector::Prefix(s) => s,
        Selector::None => return false,
    };
    let o: &[u8] = o;
    if o == b"/" {
        return true;
    }
    match inner {
        Selector::Prefix(_) => {
            i.len() > o.len() && i.starts_with(o) && i.get(o.len()) == Some(&b'/')
        }
        _ => i.starts_with(o) && (i.len() == o.len() || i.get(o.len()) == Some(&b'/')),
    }
}

/// Splices a `rules` subtree into its parent list when that cannot change
/// the outcome (no filters on the subtree rule, and every child selects
/// only paths the subtree's selector selects): first match with
/// fall-through then gives the same answer, and a lookup walks one index
/// instead of two.
fn flatten(rules: &[model::Rule]) -> Vec<model::Rule> {
    let mut out = Vec::with_capacity(rules.len());
    for r in rules {
        if let Action::Rules(sub) = &r.action {
            let sub = flatten(sub);
            if r.func_class == 0
                && r.binary_name.is_none()
                && sub.iter().all(|c| within(&c.selector, &r.selector))
            {
                out.extend(sub);
            } else {
                let mut r = r.clone();
                r.action = Action::Rules(sub);
                out.push(r);
            }
        } else {
            out.push(r.clone());
        }
    }
    out
}

impl Writer {
    fn here(&self) -> u32 {
        self.buf.len() as u32
    }
    fn u32(&mut self, v: u32) {
        self.buf.extend_from_slice(&v.to_le_bytes());
    }
    fn str(&mut self, s: &[u8]) -> (u32, u32) {
        let off = self.here();
        self.buf.extend_from_slice(s);
        self.buf.push(0);
        while !self.buf.len().is_multiple_of(4) {
            self.buf.push(0);
        }
        (off, s.len() as u32)
    }
    fn opt(&mut self, s: &Option<Vec<u8>>) -> (u32, u32) {
        match s {
            Some(s) => self.str(s),
            None => (0, 0),
        }
    }
    fn net(&mut self, n: &crate::net::NetRules) -> u32 {
        let chains: Vec<u32> = n
            .chains
            .iter()
            .map(|c| c.as_ref().map_or(0, |c| self.net_chain(c)))
            .collect();
        let names = n.names.as_ref().map_or(0, |rules| {
            let words: Vec<[u32; 7]> = rules
                .iter()
                .map(|r| {
                    use crate::net::NameMatch;
                    let (how, s) = match &r.what {
                        NameMatch::Any => (0, self.str(b"")),
                        NameMatch::Exact(x) => (1, self.str(x)),
                        NameMatch::Suffix(x) => (2, self.str(x)),
                    };
                    let f = self.str(r.origin.file.as_bytes());
                    [r.allow as u32, how, s.0, s.1, f.0, f.1, r.origin.line]
                })
                .collect();
            let off = self.here();
            self.u32(words.len() as u32);
            words.iter().flatten().for_each(|x| self.u32(*x));
            off
        });
        let name = self.str(n.name.as_bytes());
        let off = self.here();
        chains.iter().for_each(|c| self.u32(*c));
        self.u32(names);
        self.u32(name.0);
        self.u32(name.1);
        self.u32(n.allows_all() as u32);
        off
    }
    fn net_chain(&mut self, rules: &[crate::net::NetRule]) -> u32 {
        let words: Vec<[u32; 20]> = rules
            .iter()
            .map(|r| {
                let sub = if r.sub.is_empty() {
                    0
                } else {
                    self.net_chain(&r.sub)
                };
                let b = self.str(r.binary.as_deref().unwrap_or(b""));
                let f = self.str(r.origin.file.as_bytes());
                crate::net::rule_words(r, b, f, sub)
            })
            .collect();
        let off = self.here();
        self.u32(words.len() as u32);
        words.iter().flatten().for_each(|x| self.u32(*x));
        off
    }
    fn strlist(&mut self, l: &[Vec<u8>]) -> u32 {
        let strs: Vec<(u32, u32)> = l.iter().map(|s| self.str(s)).collect();
        let off = self.here();
        self.u32(strs.len() as u32);
        for (o, n) in strs {
            self.u32(o);
            self.u32(n);
        }
        off
    }

    fn list(&mut self, rules: &[model::Rule]) -> Result<u32, String> {
        let flat = flatten(rules);
        let rules = &flat[..];
        let mut words: Vec<[u32; RULE_WORDS]> = Vec::new();
        let mut trie = BuildNode::default();
        for (i, r) in rules.iter().enumerate() {
            let (sk, sel) = match &r.selector {
                Selector::None => (SEL_NONE, &b""[..]),
                Selector::Path(s) => (SEL_PATH, &s[..]),
                Selector::Prefix(s) => (SEL_PREFIX, &s[..]),
                Selector::Dir(s) => (SEL_DIR, &s[..]),
            };
            if let Some(comps) = anchor(&r.selector) {
                if comps.len() >= MAX_DEPTH {
                    return Err(format!(
                        "{}:{}: selector is deeper than {MAX_DEPTH} components",
                        r.origin.file, r.origin.line
                    ));
                }
                let mut n = &mut trie;
                for c in comps {
                    n = n.children.entry(c.to_vec()).or_default();
                }
                n.rules.push(i as u32);
            }
            let empty = Vec::new();
            let (ak, astr, sub): (u8, &[u8], u32) = match &r.action {
                Action::UseOrigPath => (ACT_USE_ORIG, &empty, 0),
                Action::ForceOrigPath => (ACT_FORCE_ORIG, &empty, 0),
                Action::ForceOrigPathUnlessChroot => (ACT_FORCE_ORIG_UNLESS_CHROOT, &empty, 0),
                Action::MapTo(p) => (ACT_MAP_TO, p, 0),
                Action::ReplaceBy(p) => (ACT_REPLACE_BY, p, 0),
                Action::SetPath(p) => (ACT_SET_PATH, p, 0),
                Action::MapToValueOfEnvVar(p) => (ACT_MAP_TO_ENV, p, 0),
                Action::ReplaceByValueOfEnvVar(p) => (ACT_REPLACE_BY_ENV, p, 0),
                Action::UnionDir(l) => (ACT_UNION_DIR, &empty, self.strlist(l)),
                Action::ProcFs => (ACT_PROCFS, &empty, 0),
                Action::Rules(l) => (ACT_RULES, &empty, self.list(l)?),
                Action::Actions(l) => (ACT_ACTIONS, &empty, self.list(l)?),
                Action::IfExistsThenMapTo(p) => (ACT_IF_EXISTS_MAP_TO, p, 0),
                Action::IfExistsThenReplaceBy(p) => (ACT_IF_EXISTS_REPLACE_BY, p, 0),
                Action::IfExistsIn(p, l) => (ACT_IF_EXISTS_IN, p, self.list(l)?),
            };
            let (ck, cstr): (u8, &[u8]) = match &r.condition {
                Condition::None => (COND_NONE, &empty),
                Condition::ActiveExecPolicyIs(s) => (COND_EXEC_POLICY, s),
                Condition::RedirectIgnoreIsActive(s) => (COND_REDIRECT_IGNORE, s),
                Condition::RedirectForceIsActive(s) => (COND_REDIRECT_FORCE, s),
                Condition::EnvVarIsNotEmpty(s) => (COND_ENV_NOT_EMPTY, s),
                Condition::EnvVarIsEmpty(s) => (COND_ENV_EMPTY, s),
            };
            let sel = self.str(sel);
            let astr = self.str(astr);
            let cstr = self.str(cstr);
            let bin = self.opt(&r.binary_name);
            let pol = self.opt(&r.exec_policy_name);
            let name = self.opt(&r.name);
            let file = self.str(r.origin.file.as_bytes());
            words.push([
                sk as u32 | (ak as u32) << 8 | (ck as u32) << 16 | (r.flags as u32) << 24,
                r.func_class,
                sel.0,
                sel.1,
                astr.0,
                astr.1,
                cstr.0,
                cstr.1,
                bin.0,
                bin.1,
                pol.0,
                pol.1,
                name.0,
                name.1,
                sub,
                file.0,
                file.1,
                r.origin.line,
            ]);
        }
        let trie_off = self.trie(&trie);
        let rules_off = self.here();
        for w in &words {
            w.iter().for_each(|x| self.u32(*x));
        }
        let off = self.here();
        self.u32(rules.len() as u32);
        self.u32(rules_off);
        self.u32(trie_off);
        Ok(off)
    }

    fn trie(&mut self, n: &BuildNode) -> u32 {
        // Sorted by (length, bytes): the reader's binary search decides most
        // comparisons on the length alone, without comparing bytes.
        let mut sorted: Vec<(&Vec<u8>, &BuildNode)> = n.children.iter().collect();
        sorted.sort_by(|a, b| (a.0.len(), a.0).cmp(&(b.0.len(), b.0)));
        let kids: Vec<((u32, u32), u32)> = sorted
            .into_iter()
            .map(|(k, c)| {
                let name = self.str(k);
                (name, self.trie(c))
            })
            .collect();
        let children_off = self.here();
        for ((o, l), node) in &kids {
            self.u32(*o);
            self.u32(*l);
            self.u32(*node);
        }
        let rules_off = self.here();
        for r in &n.rules {
            self.u32(*r);
        }
        let off = self.here();
        self.u32(kids.len() as u32);
        self.u32(children_off);
        self.u32(n.rules.len() as u32);
        self.u32(rules_off);
        off
    }
}

// ---------------------------------------------------------------- reader

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
        self.u32(off) as u64 | (self.u32(off + 4) as u64) << 32
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
    pub fn constant(&self, key: &[u8]) -> Option<&'a [u8]> {
        let off = self.u32(32);
        let n = self.u32(off);
        (0..n).find_map(|i| {
            let e = off + 4 + i * 16;
            (self.str(self.u32(e), self.u32(e + 4)) == key)
                .then(|| self.str(self.u32(e + 8), self.u32(e + 12)))
        })
    }
    /// All constants, in order.
    pub fn constants(&self) -> impl Iterator<Item = (&'a [u8], &'a [u8])> + '_ {
        let off = self.u32(32);
        (0..self.u32(off)).map(move |i| {
            let e = off + 4 + i * 16;
            (
                self.str(self.u32(e), self.u32(e + 4)),
                self.str(self.u32(e + 8), self.u32(e + 12)),
            )
        })
    }

    /// The session's argv rewrites.
    pub fn argvmods(&self) -> impl Iterator<Item = ArgvModRef<'a>> + 'a {
        let t = *self;
        let off = self.u32(36);
        (0..self.u32(off)).map(move |i| ArgvModRef {
            t,
            off: off + 4 + i * 32,
        })
    }

    /// The strings of a stored string list.
    pub fn strlist(&self, off: u32) -> impl Iterator<Item = &'a [u8]> + 'a {
        let t = *self;
        (0..self.u32(off)).map(move |i| t.str(t.u32(off + 4 + i * 8), t.u32(off + 8 + i * 8)))
    }

    /// Number of modes.
    pub fn n_modes(&self) -> u32 {
        self.u32(24)
    }
    /// Mode `i` (0 is the default).
    pub fn mode(&self, i: u32) -> Option<ModeRef<'a>> {
        (i < self.n_modes()).then(|| ModeRef {
            t: *self,
            off: self.u32(28) + i * 36,
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
        self.t.str(
            self.t.u32(self.off + i * 8),
            self.t.u32(self.off + i * 8 + 4),
        )
    }
    pub fn name(&self) -> &'a [u8] {
        self.s(0)
    }
    /// The root's ld.so (empty: start programs directly).
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
        self.t.str(self.t.u32(self.off), self.t.u32(self.off + 4))
    }
    pub fn dirs(&self) -> impl Iterator<Item = &'a [u8]> + 'a {
        self.t.strlist(self.t.u32(self.off + 8))
    }
    pub fn new_filename(&self) -> &'a [u8] {
        self.t
            .str(self.t.u32(self.off + 12), self.t.u32(self.off + 16))
    }
    pub fn add_tail(&self) -> impl Iterator<Item = &'a [u8]> + 'a {
        self.t.strlist(self.t.u32(self.off + 20))
    }
    pub fn disable_mapping(&self) -> bool {
        self.t.u32(self.off + 24) & 1 != 0
    }
    pub fn every_mode(&self) -> bool {
        self.t.u32(self.off + 28) & 1 != 0
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
            off: self.t.u32(self.off + 16),
        }
    }
    /// The exec policies of this mode.
    pub fn exec_policies(&self) -> impl Iterator<Item = PolicyRef<'a>> + 'a {
        let t = self.t;
        let off = t.u32(self.off + 20);
        (0..t.u32(off)).map(move |i| PolicyRef {
            t,
            off: off + 4 + i * 32,
        })
    }
    /// The policy named `name`.
    pub fn exec_policy(&self, name: &[u8]) -> Option<PolicyRef<'a>> {
        self.exec_policies().find(|p| p.name() == name)
    }
    /// Whether the toolchain argvmods apply in this mode.
    pub fn toolchain(&self) -> bool {
        self.t.u32(self.off + 24) & 1 != 0
    }
    pub fn name(&self) -> &'a [u8] {
        self.t.str(self.t.u32(self.off), self.t.u32(self.off + 4))
    }
    pub fn fs_rules(&self) -> RuleList<'a> {
        RuleList {
            t: self.t,
            off: self.t.u32(self.off + 8),
        }
    }
    pub fn rev_rules(&self) -> RuleList<'a> {
        RuleList {
            t: self.t,
            off: self.t.u32(self.off + 12),
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
            self.t.u32(self.off)
        }
    }
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
    pub fn get(&self, i: u32) -> Option<RuleRef<'a>> {
        (i < self.len()).then(|| RuleRef {
            t: self.t,
            off: self.t.u32(self.off + 4) + i * (RULE_WORDS as u32 * 4),
        })
    }
    pub fn iter(&self) -> impl Iterator<Item = RuleRef<'a>> + '_ {
        (0..self.len()).filter_map(|i| self.get(i))
    }
    pub(crate) fn trie_root(&self) -> TrieNode<'a> {
        TrieNode {
            t: self.t,
            off: self.t.u32(self.off + 8),
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
        let (n, base) = (self.t.u32(self.off), self.t.u32(self.off + 4));
        // Children are sorted by (length, name): binary search.
        let (mut lo, mut hi) = (0u32, n);
        while lo < hi {
            let mid = (lo + hi) / 2;
            let e = base + mid * 12;
            let klen = self.t.u32(e + 4) as usize;
            let ord = match klen.cmp(&name.len()) {
                std::cmp::Ordering::Equal => self.t.str(self.t.u32(e), klen as u32).cmp(name),
                other => other,
            };
            match ord {
                std::cmp::Ordering::Equal => {
                    return Some(TrieNode {
                        t: self.t,
                        off: self.t.u32(e + 8),
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
    pub(crate) fn first_rule_after(&self, after: Option<u32>) -> Option<u32> {
        let (n, base) = (self.t.u32(self.off + 8), self.t.u32(self.off + 12));
        (0..n)
            .map(|i| self.t.u32(base + i * 4))
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
        self.t.u32(self.off + i * 4)
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
        let n = if off == 0 { 0 } else { self.t.u32(off) };
        (0..n).map(move |i| {
            self.t
                .str(self.t.u32(off + 4 + i * 8), self.t.u32(off + 8 + i * 8))
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
