//! Network rules (docs/net-rules.md): the session's `-n` rule set as the
//! compiler produces it ([`NetRules`]), its place in the
//! ruletree file, and the two decisions the preload asks for: may this
//! address be used by this call ([`decide`]), may this name be looked up
//! ([`decide_name`]). Deciding reads the mapped tree in place: no heap, no
//! panic.
//!
//! Section layout (offsets from the start of the file, all `u32`):
//!
//! ```text
//! net     chain off × 4 (ipv4_out ipv4_in ipv6_out ipv6_in; 0 = none)
//!         | names off (0 = no name rules) | mode name str (off, len)
//!         | flags (1: everything is allowed, nothing rewritten)
//! chain   count | count × NET_WORDS words
//! rule    kind | flags | prefix | addr[4] | port | funcs | binary str
//!         | new_addr[4] | new_port | errno | sub chain off | file str | line
//! names   count | count × NAME_WORDS words: kind | how | str | file str | line
//! ```

use crate::format::Tree;
use crate::model::Origin;

/// Which chain a call consults.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Chain {
    Ipv4Out = 0,
    Ipv4In = 1,
    Ipv6Out = 2,
    Ipv6In = 3,
}

pub const CHAIN_NAMES: [&str; 4] = ["ipv4_out", "ipv4_in", "ipv6_out", "ipv6_in"];

/// Function bits (`func_name`).
pub mod func {
    pub const CONNECT: u32 = 1;
    pub const BIND: u32 = 2;
    pub const LISTEN: u32 = 4;
    pub const ACCEPT: u32 = 8;
    pub const SENDTO: u32 = 16;
    pub const SENDMSG: u32 = 32;
    pub const SENDMMSG: u32 = 64;
    pub const RECVFROM: u32 = 128;
    pub const RECVMSG: u32 = 256;
    pub const NAMES: [(&str, u32); 9] = [
        ("connect", CONNECT),
        ("bind", BIND),
        ("listen", LISTEN),
        ("accept", ACCEPT),
        ("sendto", SENDTO),
        ("sendmsg", SENDMSG),
        ("sendmmsg", SENDMMSG),
        ("recvfrom", RECVFROM),
        ("recvmsg", RECVMSG),
    ];
}

/// The errno names a `deny` may use (their values: [`crate::contract`]).
pub const ERRNOS: [&str; 8] = [
    "EPERM",
    "EACCES",
    "EADDRNOTAVAIL",
    "ENETUNREACH",
    "ECONNREFUSED",
    "EHOSTUNREACH",
    "EADDRINUSE",
    "ETIMEDOUT",
];

// ------------------------------------------------------------ model

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Allow = 1,
    Deny = 2,
    Rules = 3,
}

/// An address to match: 16 bytes (IPv4 in the first 4), a prefix length
/// in bits, or the wildcard address only.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AddrMatch {
    pub bytes: [u8; 16],
    pub prefix: u8,
    pub wildcard: bool,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NetRule {
    pub kind: Kind,
    pub addr: Option<AddrMatch>,
    pub port: Option<u16>,
    /// `func` bits; 0 = any function.
    pub funcs: u32,
    pub binary: Option<Vec<u8>>,
    pub new_addr: Option<[u8; 16]>,
    pub new_port: Option<u16>,
    pub errno: i32,
    pub sub: Vec<NetRule>,
    pub origin: Origin,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NameMatch {
    Any,
    Exact(Vec<u8>),
    Suffix(Vec<u8>),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NameRule {
    pub allow: bool,
    pub what: NameMatch,
    pub origin: Origin,
}

/// A compiled `-n` rule file.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct NetRules {
    pub name: String,
    pub chains: [Option<Vec<NetRule>>; 4],
    pub names: Option<Vec<NameRule>>,
}

impl NetRules {
    /// Does every chain allow everything, unchanged, with no name rules
    /// (`online`)? Then a call needs no look at its address unless a log
    /// or trace wants it.
    pub fn allows_all(&self) -> bool {
        let plain = |r: &NetRule| {
            r.kind == Kind::Allow
                && r.addr.is_none()
                && r.port.is_none()
                && r.funcs == 0
                && r.binary.is_none()
                && r.new_addr.is_none()
                && r.new_port.is_none()
        };
        self.names.is_none()
            && self
                .chains
                .iter()
                .all(|c| c.as_ref().and_then(|c| c.first()).is_some_and(plain))
    }
}

// ------------------------------------------------------------ layout

pub(crate) const NET_WORDS: u32 = 20;
pub(crate) const NAME_WORDS: u32 = 7;
const F_ADDR: u32 = 1;
const F_PORT: u32 = 2;
const F_WILDCARD: u32 = 4;
const F_NEW_ADDR: u32 = 8;
const F_NEW_PORT: u32 = 16;

/// The words of one rule, given where its strings and sub chain were put.
pub(crate) fn rule_words(r: &NetRule, binary: (u32, u32), file: (u32, u32), sub: u32) -> [u32; 20] {
    let mut w = [0u32; 20];
    w[0] = r.kind as u32;
    let mut flags = 0;
    if let Some(a) = r.addr {
        flags |= F_ADDR | if a.wildcard { F_WILDCARD } else { 0 };
        w[2] = a.prefix as u32;
        put16(&mut w[3..7], &a.bytes);
    }
    if let Some(p) = r.port {
        flags |= F_PORT;
        w[7] = p as u32;
    }
    w[8] = r.funcs;
    (w[9], w[10]) = binary;
    if let Some(a) = r.new_addr {
        flags |= F_NEW_ADDR;
        put16(&mut w[11..15], &a);
    }
    if let Some(p) = r.new_port {
        flags |= F_NEW_PORT;
        w[15] = p as u32;
    }
    w[1] = flags;
    w[16] = r.errno as u32;
    w[17] = sub;
    (w[18], w[19]) = file;
    // The line shares the errno word's upper half: errnos are small.
    w[16] |= r.origin.line.min(0xffff) << 16;
    w
}

fn put16(dst: &mut [u32], b: &[u8; 16]) {
    for (i, d) in dst.iter_mut().enumerate() {
        let o = i * 4;
        *d = u32::from_le_bytes([b[o], b[o + 1], b[o + 2], b[o + 3]]);
    }
}

// ------------------------------------------------------------ reader

/// The session's network rules, if it has any.
#[derive(Clone, Copy)]
pub struct Net<'a> {
    tree: Tree<'a>,
    off: u32,
}

impl<'a> Net<'a> {
    pub fn of(tree: Tree<'a>) -> Option<Net<'a>> {
        let off = tree.net_off();
        (off != 0).then_some(Net { tree, off })
    }
    /// The mode's name (or the custom file's path).
    pub fn name(&self) -> &'a [u8] {
        self.tree.str(
            self.tree.u32(self.off.wrapping_add(20)),
            self.tree.u32(self.off.wrapping_add(24)),
        )
    }
    fn chain(&self, c: Chain) -> u32 {
        self.tree.u32(self.off.wrapping_add(4 * c as u32))
    }
    /// See [`NetRules::allows_all`].
    pub fn allows_all(&self) -> bool {
        self.tree.u32(self.off.wrapping_add(28)) & 1 != 0
    }
}

/// What a rule said.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Proceed; with a new address (16 bytes, IPv4 in the first 4) or
    /// port when the rule rewrites.
    Allow {
        addr: Option<[u8; 16]>,
        port: Option<u16>,
    },
    Deny(i32),
}

/// The deciding rule's place (`file`, `line`), for logs.
#[derive(Clone, Copy, Debug, Default)]
pub struct Why<'a> {
    pub file: &'a [u8],
    pub line: u32,
}

/// One call to decide: the function bit, the address (IPv4 in the first 4
/// bytes) and port, and the calling program's name.
#[derive(Clone, Copy, Debug)]
pub struct Call<'b> {
    pub func: u32,
    pub chain: Chain,
    pub addr: [u8; 16],
    pub port: u16,
    pub binary: &'b [u8],
}

/// The first matching rule of the call's chain; no match (or no chain)
/// denies with EPERM, as Scratchbox2 does.
pub fn decide<'a>(net: &Net<'a>, call: &Call) -> (Verdict, Why<'a>) {
    let off = net.chain(call.chain);
    if off == 0 {
        return (Verdict::Deny(libc::EPERM), Why::default());
    }
    walk(net.tree, off, call, 0, &crate::format::Budget::new())
        .unwrap_or((Verdict::Deny(libc::EPERM), Why::default()))
}

fn walk<'a>(
    t: Tree<'a>,
    chain: u32,
    call: &Call,
    depth: u32,
    budget: &crate::format::Budget,
) -> Option<(Verdict, Why<'a>)> {
    // 0: an empty nested chain (offset 0 is the file header).
    if depth > 16 || chain == 0 {
        return None;
    }
    let n = t.u32(chain).min(4096);
    // A damaged chain nesting into itself ends when the budget does.
    for i in (0..n).take_while(|_| budget.spend()) {
        let r = chain.wrapping_add(4).wrapping_add(i * NET_WORDS * 4);
        let w = |k: u32| t.u32(r.wrapping_add(4 * k));
        if !matches(&t, r, call) {
            continue;
        }
        let why = Why {
            file: t.str(w(18), w(19)),
            line: w(16) >> 16,
        };
        match w(0) {
            1 => {
                let flags = w(1);
                let addr = (flags & F_NEW_ADDR != 0).then(|| get16(&t, r.wrapping_add(44)));
                let port = (flags & F_NEW_PORT != 0).then_some(w(15) as u16);
                return Some((Verdict::Allow { addr, port }, why));
            }
            2 => {
                let e = (w(16) & 0xffff) as i32;
                return Some((Verdict::Deny(if e == 0 { libc::EPERM } else { e }), why));
            }
            3 => {
                if let Some(v) = walk(t, w(17), call, depth + 1, budget) {
                    return Some(v);
                }
            }
            _ => {}
        }
    }
    None
}

fn matches(t: &Tree, r: u32, call: &Call) -> bool {
    let w = |k: u32| t.u32(r.wrapping_add(4 * k));
    let flags = w(1);
    if w(8) != 0 && w(8) & call.func == 0 {
        return false;
    }
    if flags & F_PORT != 0 && w(7) != call.port as u32 {
        return false;
    }
    let bin = t.str(w(9), w(10));
    if w(10) != 0 && bin != call.binary {
        return false;
    }
    if flags & F_ADDR != 0 {
        let len = if matches!(call.chain, Chain::Ipv4Out | Chain::Ipv4In) {
            4
        } else {
            16
        };
        let want = get16(t, r.wrapping_add(12));
        let have = call.addr.get(..len).unwrap_or(&[]);
        if flags & F_WILDCARD != 0 {
            return have.iter().all(|b| *b == 0);
        }
        return prefix_eq(want.get(..len).unwrap_or(&[]), have, w(2));
    }
    true
}

fn get16(t: &Tree, off: u32) -> [u8; 16] {
    let mut b = [0u8; 16];
    for i in 0..4u32 {
        let v = t.u32(off.wrapping_add(4 * i)).to_le_bytes();
        if let Some(d) = b.get_mut(4 * i as usize..4 * i as usize + 4) {
            d.copy_from_slice(&v);
        }
    }
    b
}

/// Do the first `bits` bits of `a` and `b` agree?
pub fn prefix_eq(a: &[u8], b: &[u8], bits: u32) -> bool {
    let full = (bits / 8) as usize;
    if a.get(..full) != b.get(..full) {
        return false;
    }
    let rest = bits % 8;
    if rest == 0 {
        return true;
    }
    let mask = 0xffu8 << (8 - rest);
    match (a.get(full), b.get(full)) {
        (Some(x), Some(y)) => x & mask == y & mask,
        _ => false,
    }
}

/// May `name` be looked up? `None`: the rules say nothing (no name rules:
/// every name may); else the verdict and the deciding rule.
pub fn decide_name<'a>(net: &Net<'a>, name: &[u8]) -> Option<(bool, Why<'a>)> {
    let t = net.tree;
    let off = t.u32(net.off.wrapping_add(16));
    if off == 0 {
        return None;
    }
    let n = t.u32(off).min(4096);
    for i in 0..n {
        let r = off.wrapping_add(4).wrapping_add(i * NAME_WORDS * 4);
        let w = |k: u32| t.u32(r.wrapping_add(4 * k));
        let s = t.str(w(2), w(3));
        let hit = match w(1) {
            1 => s.eq_ignore_ascii_case(name) || s.eq_ignore_ascii_case(trim_dot(name)),
            2 => {
                let n = trim_dot(name);
                n.len() >= s.len()
                    && n.get(n.len() - s.len()..)
                        .is_some_and(|tail| tail.eq_ignore_ascii_case(s))
            }
            _ => true,
        };
        if hit {
            let why = Why {
                file: t.str(w(4), w(5)),
                line: w(6),
            };
            return Some((w(0) == 1, why));
        }
    }
    Some((false, Why::default()))
}

/// "example.org." is "example.org".
fn trim_dot(n: &[u8]) -> &[u8] {
    n.strip_suffix(b".").unwrap_or(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefixes() {
        assert!(prefix_eq(&[127, 0, 0, 1], &[127, 9, 9, 9], 8));
        assert!(!prefix_eq(&[127, 0, 0, 1], &[128, 0, 0, 1], 8));
        assert!(prefix_eq(&[172, 16, 0, 0], &[172, 31, 1, 1], 12));
        assert!(!prefix_eq(&[172, 16, 0, 0], &[172, 32, 1, 1], 12));
        assert!(prefix_eq(&[1, 2, 3, 4], &[1, 2, 3, 4], 32));
    }
}
