//! The ruletree writer (launcher only, once per session): lays out a
//! [`model::Session`] in the format described in the parent module, with
//! each rule list's trie index, and seals it with the checksum.

use super::*;
use crate::model::{self, Action, Condition, Selector};

/// Why a session cannot be written as a ruletree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WriteError {
    /// A selector has more components than the trie index takes
    /// ([`MAX_DEPTH`]); the rule was written at `file:line`.
    TooDeep { file: String, line: u32 },
}

impl std::fmt::Display for WriteError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            WriteError::TooDeep { file, line } => write!(
                f,
                "{file}:{line}: selector is deeper than {MAX_DEPTH} components"
            ),
        }
    }
}

impl std::error::Error for WriteError {}

/// Serializes a [`model::Session`] into ruletree bytes.
pub fn write(session: &model::Session) -> Result<Vec<u8>, WriteError> {
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
                a.disable_mapping as u32 | (a.launcher as u32) << 1,
                a.every_mode as u32 | a.chroot_mode.map_or(0, |m| (m + 1) << 8),
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
    seal(b);
    Ok(w.buf)
}

/// Stores the length and checksum of a ruletree file in its header (of at
/// least the header's size): what makes [`Tree::new`] accept it. Public
/// for the fuzz tests, which seal damaged trees so that the reader sees
/// damage the checksum would otherwise catch.
pub fn seal(b: &mut [u8]) {
    if b.len() < HDR {
        return;
    }
    let len = b.len() as u32;
    b[12..16].copy_from_slice(&len.to_le_bytes());
    let sum = checksum(b);
    b[16..24].copy_from_slice(&sum.to_le_bytes());
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

    fn list(&mut self, rules: &[model::Rule]) -> Result<u32, WriteError> {
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
                    return Err(WriteError::TooDeep {
                        file: r.origin.file.clone(),
                        line: r.origin.line,
                    });
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
