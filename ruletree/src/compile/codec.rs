//! The compiler's output as bytes and back, for the launcher's ruletree
//! cache: a [`Session`] (what the Lua evaluation produced, before
//! [`crate::format::write`] lays it out) and the compile's [`Record`].
//!
//! Why not cache the finished ruletree file: it embeds the session
//! directory, and its trie indexes sort path components, so a string
//! cannot be patched in place. The model can: [`substitute`] rewrites a
//! placeholder in every string, then the writer builds indexes and
//! checksum as for a fresh compile.
//!
//! The encoding is private to one build of sb2 (the cache key names the
//! binary): little-endian integers, length-prefixed byte strings, one tag
//! byte per enum. [`decode`] checks every tag, length and UTF-8 string and
//! returns `None` on anything malformed; it never panics.

use super::record::{Output, Probe, ProbeResult, Record, StatSig};
use crate::model::*;
use crate::net::{AddrMatch, Kind, NameMatch, NameRule, NetRule, NetRules};

/// Appends the encoding of a value.
pub trait Codec: Sized {
    fn enc(&self, w: &mut Vec<u8>);
    fn dec(r: &mut Reader) -> Option<Self>;
}

/// A cursor over encoded bytes.
pub struct Reader<'a> {
    buf: &'a [u8],
    depth: u32,
}

impl<'a> Reader<'a> {
    pub fn new(buf: &'a [u8]) -> Reader<'a> {
        Reader { buf, depth: 0 }
    }

    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        if n > self.buf.len() {
            return None;
        }
        let (a, b) = self.buf.split_at(n);
        self.buf = b;
        Some(a)
    }

    /// Nothing left: a whole value was read and no trailing garbage.
    pub fn at_end(&self) -> bool {
        self.buf.is_empty()
    }
}

/// Encodes `v`.
pub fn encode<T: Codec>(v: &T) -> Vec<u8> {
    let mut w = Vec::new();
    v.enc(&mut w);
    w
}

/// Decodes a whole `T` from `b` (None if malformed or followed by more).
pub fn decode<T: Codec>(b: &[u8]) -> Option<T> {
    let mut r = Reader::new(b);
    let v = T::dec(&mut r)?;
    r.at_end().then_some(v)
}

macro_rules! int {
    ($($t:ty),*) => {$(
        impl Codec for $t {
            fn enc(&self, w: &mut Vec<u8>) {
                w.extend_from_slice(&self.to_le_bytes());
            }
            fn dec(r: &mut Reader) -> Option<Self> {
                let b = r.take(std::mem::size_of::<$t>())?;
                Some(<$t>::from_le_bytes(b.try_into().ok()?))
            }
        }
    )*};
}
int!(u8, u16, u32, i32, u64, i64);

impl Codec for bool {
    fn enc(&self, w: &mut Vec<u8>) {
        w.push(*self as u8);
    }
    fn dec(r: &mut Reader) -> Option<Self> {
        match u8::dec(r)? {
            0 => Some(false),
            1 => Some(true),
            _ => None,
        }
    }
}

fn len(r: &mut Reader) -> Option<usize> {
    let n = u32::dec(r)? as usize;
    // Every element takes at least one byte: a bad length fails here
    // instead of reserving memory for it.
    (n <= r.buf.len()).then_some(n)
}

impl<T: Codec> Codec for Vec<T> {
    fn enc(&self, w: &mut Vec<u8>) {
        (self.len() as u32).enc(w);
        self.iter().for_each(|x| x.enc(w));
    }
    fn dec(r: &mut Reader) -> Option<Self> {
        let n = len(r)?;
        r.depth += 1;
        if r.depth > 64 {
            return None;
        }
        let v = (0..n).map(|_| T::dec(r)).collect();
        r.depth -= 1;
        v
    }
}

impl Codec for String {
    fn enc(&self, w: &mut Vec<u8>) {
        (self.len() as u32).enc(w);
        w.extend_from_slice(self.as_bytes());
    }
    fn dec(r: &mut Reader) -> Option<Self> {
        let n = len(r)?;
        String::from_utf8(r.take(n)?.to_vec()).ok()
    }
}

impl<T: Codec> Codec for Option<T> {
    fn enc(&self, w: &mut Vec<u8>) {
        match self {
            None => w.push(0),
            Some(v) => {
                w.push(1);
                v.enc(w);
            }
        }
    }
    fn dec(r: &mut Reader) -> Option<Self> {
        match u8::dec(r)? {
            0 => Some(None),
            1 => Some(Some(T::dec(r)?)),
            _ => None,
        }
    }
}

impl<A: Codec, B: Codec> Codec for (A, B) {
    fn enc(&self, w: &mut Vec<u8>) {
        self.0.enc(w);
        self.1.enc(w);
    }
    fn dec(r: &mut Reader) -> Option<Self> {
        Some((A::dec(r)?, B::dec(r)?))
    }
}

impl<const N: usize> Codec for [u8; N] {
    fn enc(&self, w: &mut Vec<u8>) {
        w.extend_from_slice(self);
    }
    fn dec(r: &mut Reader) -> Option<Self> {
        r.take(N)?.try_into().ok()
    }
}

impl Codec for [Option<Vec<NetRule>>; 4] {
    fn enc(&self, w: &mut Vec<u8>) {
        self.iter().for_each(|c| c.enc(w));
    }
    fn dec(r: &mut Reader) -> Option<Self> {
        Some([
            Codec::dec(r)?,
            Codec::dec(r)?,
            Codec::dec(r)?,
            Codec::dec(r)?,
        ])
    }
}

/// A struct as its fields in order.
macro_rules! fields {
    ($t:ident { $($f:ident),* $(,)? }) => {
        impl Codec for $t {
            fn enc(&self, w: &mut Vec<u8>) {
                $(self.$f.enc(w);)*
            }
            fn dec(r: &mut Reader) -> Option<Self> {
                Some($t { $($f: Codec::dec(r)?),* })
            }
        }
    };
}

fields!(Origin { file, line });
fields!(Rule {
    selector,
    action,
    condition,
    func_class,
    binary_name,
    flags,
    exec_policy_name,
    name,
    origin,
});
fields!(Mode {
    name,
    fs_rules,
    exec_selection,
    exec_policies,
    toolchain,
    chroot_substitutes,
    chroot_mounts,
});
fields!(ExecPolicy {
    name,
    root,
    ld_so,
    library_path,
    origin,
});
fields!(ArgvMod {
    name,
    dirs,
    new_filename,
    add_tail,
    disable_mapping,
    every_mode,
    launcher,
    chroot_mode,
});
fields!(Session {
    constants,
    modes,
    argvmods,
    net,
});
fields!(NetRules {
    name,
    chains,
    names,
});
fields!(NetRule {
    kind,
    addr,
    port,
    funcs,
    binary,
    new_addr,
    new_port,
    errno,
    sub,
    origin,
});
fields!(AddrMatch {
    bytes,
    prefix,
    wildcard,
});
fields!(NameRule {
    allow,
    what,
    origin,
});
fields!(StatSig {
    dev,
    ino,
    size,
    mtime,
    ctime,
});
fields!(Record {
    probes,
    outputs,
    uncacheable,
});
fields!(Output { fd, text });

/// An enum: one tag byte, then the variant's fields.
macro_rules! variants {
    ($t:ident { $($tag:literal => $v:ident $(($($f:ident),*))?),* $(,)? }) => {
        impl Codec for $t {
            fn enc(&self, w: &mut Vec<u8>) {
                match self {
                    $($t::$v $(($($f),*))? => {
                        w.push($tag);
                        $($($f.enc(w);)*)?
                    })*
                }
            }
            fn dec(r: &mut Reader) -> Option<Self> {
                Some(match u8::dec(r)? {
                    $($tag => $t::$v $(($({ let $f = Codec::dec(r)?; $f }),*))?,)*
                    _ => return None,
                })
            }
        }
    };
}

variants!(Selector {
    0 => Path(p),
    1 => Prefix(p),
    2 => Dir(p),
    3 => None,
});
variants!(Action {
    0 => UseOrigPath,
    1 => ForceOrigPath,
    2 => ForceOrigPathUnlessChroot,
    3 => MapTo(p),
    4 => ReplaceBy(p),
    5 => SetPath(p),
    6 => MapToValueOfEnvVar(p),
    7 => ReplaceByValueOfEnvVar(p),
    8 => UnionDir(p),
    9 => ProcFs,
    10 => Rules(v),
    11 => Actions(v),
    12 => IfExistsThenMapTo(p),
    13 => IfExistsThenReplaceBy(p),
    14 => IfExistsIn(p, v),
});
variants!(Condition {
    0 => None,
    1 => ActiveExecPolicyIs(p),
    2 => RedirectIgnoreIsActive(p),
    3 => RedirectForceIsActive(p),
    4 => EnvVarIsNotEmpty(p),
    5 => EnvVarIsEmpty(p),
});
variants!(Kind {
    1 => Allow,
    2 => Deny,
    3 => Rules,
});
variants!(NameMatch {
    0 => Any,
    1 => Exact(p),
    2 => Suffix(p),
});
variants!(Probe {
    0 => File(p, r),
    1 => Exists(p, b),
    2 => RootLoader(p, a, b),
    3 => Env(n, v),
});
variants!(ProbeResult {
    0 => Missing(e),
    1 => Content(h, s),
});

/// Replaces every occurrence of each `(from, to)` in every string of
/// `s` (paths, constants, names, origins): the placeholders a session
/// was compiled with become this session's values.
pub fn substitute(s: &mut Session, pairs: &[(String, String)]) {
    let pairs: Vec<(&[u8], &[u8])> = pairs
        .iter()
        .filter(|(f, _)| !f.is_empty())
        .map(|(f, t)| (f.as_bytes(), t.as_bytes()))
        .collect();
    if pairs.is_empty() {
        return;
    }
    let mut sub = Sub { pairs: &pairs };
    for (k, v) in &mut s.constants {
        sub.string(k);
        sub.string(v);
    }
    for m in &mut s.modes {
        sub.string(&mut m.name);
        sub.rules(&mut m.fs_rules);
        sub.rules(&mut m.exec_selection);
        for p in &mut m.exec_policies {
            for b in [&mut p.name, &mut p.root, &mut p.ld_so, &mut p.library_path] {
                sub.bytes(b);
            }
            sub.string(&mut p.origin.file);
        }
        m.chroot_substitutes.iter_mut().for_each(|a| sub.argvmod(a));
        sub.string(&mut m.chroot_mounts);
    }
    s.argvmods.iter_mut().for_each(|a| sub.argvmod(a));
    if let Some(n) = &mut s.net {
        sub.string(&mut n.name);
        for c in n.chains.iter_mut().flatten() {
            sub.net_rules(c);
        }
        for r in n.names.iter_mut().flatten() {
            if let NameMatch::Exact(p) | NameMatch::Suffix(p) = &mut r.what {
                sub.bytes(p);
            }
            sub.string(&mut r.origin.file);
        }
    }
}

struct Sub<'a> {
    pairs: &'a [(&'a [u8], &'a [u8])],
}

impl Sub<'_> {
    fn bytes(&mut self, b: &mut Vec<u8>) {
        for (from, to) in self.pairs {
            if let Some(r) = replace(b, from, to) {
                *b = r;
            }
        }
    }

    fn string(&mut self, s: &mut String) {
        let mut b = std::mem::take(s).into_bytes();
        self.bytes(&mut b);
        // Placeholders and their values are UTF-8, so the result is.
        *s = String::from_utf8(b).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into());
    }

    fn argvmod(&mut self, a: &mut ArgvMod) {
        self.bytes(&mut a.name);
        self.bytes(&mut a.new_filename);
        a.dirs.iter_mut().for_each(|d| self.bytes(d));
        a.add_tail.iter_mut().for_each(|d| self.bytes(d));
    }

    fn rules(&mut self, rules: &mut [Rule]) {
        for r in rules {
            match &mut r.selector {
                Selector::Path(p) | Selector::Prefix(p) | Selector::Dir(p) => self.bytes(p),
                Selector::None => {}
            }
            match &mut r.action {
                Action::MapTo(p)
                | Action::ReplaceBy(p)
                | Action::SetPath(p)
                | Action::MapToValueOfEnvVar(p)
                | Action::ReplaceByValueOfEnvVar(p)
                | Action::IfExistsThenMapTo(p)
                | Action::IfExistsThenReplaceBy(p) => self.bytes(p),
                Action::UnionDir(v) => v.iter_mut().for_each(|p| self.bytes(p)),
                Action::Rules(v) | Action::Actions(v) => self.rules(v),
                Action::IfExistsIn(p, v) => {
                    self.bytes(p);
                    self.rules(v);
                }
                Action::UseOrigPath
                | Action::ForceOrigPath
                | Action::ForceOrigPathUnlessChroot
                | Action::ProcFs => {}
            }
            match &mut r.condition {
                Condition::ActiveExecPolicyIs(p)
                | Condition::RedirectIgnoreIsActive(p)
                | Condition::RedirectForceIsActive(p)
                | Condition::EnvVarIsNotEmpty(p)
                | Condition::EnvVarIsEmpty(p) => self.bytes(p),
                Condition::None => {}
            }
            for b in [&mut r.binary_name, &mut r.exec_policy_name, &mut r.name]
                .into_iter()
                .flatten()
            {
                self.bytes(b);
            }
            self.string(&mut r.origin.file);
        }
    }

    fn net_rules(&mut self, rules: &mut [NetRule]) {
        for r in rules {
            if let Some(b) = &mut r.binary {
                self.bytes(b);
            }
            self.net_rules(&mut r.sub);
            self.string(&mut r.origin.file);
        }
    }
}

/// `hay` with every `from` replaced by `to`, or None if it has none.
fn replace(hay: &[u8], from: &[u8], to: &[u8]) -> Option<Vec<u8>> {
    let first = find(hay, from)?;
    let mut out = Vec::with_capacity(hay.len() + to.len());
    out.extend_from_slice(&hay[..first]);
    let mut rest = &hay[first..];
    while let Some(i) = find(rest, from) {
        out.extend_from_slice(&rest[..i]);
        out.extend_from_slice(to);
        rest = &rest[i + from.len()..];
    }
    out.extend_from_slice(rest);
    Some(out)
}

/// Where `needle` (not empty) first occurs in `hay`.
pub fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    if needle.is_empty() || needle.len() > hay.len() {
        return None;
    }
    hay.windows(needle.len()).position(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Session {
        let mut r = Rule::new(
            Selector::Dir(b"/tmp".to_vec()),
            Action::ReplaceBy(b"/@S@/tmp".to_vec()),
        );
        r.origin = Origin {
            file: "/rules/lib/private_tmp.lua".into(),
            line: 3,
        };
        r.binary_name = Some(b"gcc".to_vec());
        let sub = Rule::new(
            Selector::None,
            Action::IfExistsIn(
                b"/@S@".to_vec(),
                vec![Rule::new(
                    Selector::None,
                    Action::UnionDir(vec![b"/a".to_vec()]),
                )],
            ),
        );
        let mut top = Rule::new(Selector::Prefix(b"/x".to_vec()), Action::Actions(vec![sub]));
        top.condition = Condition::EnvVarIsEmpty(b"HOME".to_vec());
        Session {
            constants: vec![("session_dir".into(), "/@S@".into())],
            modes: vec![Mode {
                name: "simple".into(),
                fs_rules: vec![r, top],
                exec_policies: vec![ExecPolicy {
                    name: b"Host".to_vec(),
                    root: b"/".to_vec(),
                    ..Default::default()
                }],
                toolchain: true,
                chroot_mounts: "/proc\t/proc".into(),
                ..Default::default()
            }],
            argvmods: vec![ArgvMod {
                name: b"gcc".to_vec(),
                dirs: vec![b"/usr/bin".to_vec()],
                chroot_mode: Some(0),
                ..Default::default()
            }],
            net: Some(NetRules {
                name: "offline".into(),
                chains: [
                    Some(vec![NetRule {
                        kind: Kind::Deny,
                        addr: Some(AddrMatch {
                            bytes: [1; 16],
                            prefix: 8,
                            wildcard: false,
                        }),
                        port: Some(53),
                        funcs: 1,
                        binary: None,
                        new_addr: Some([2; 16]),
                        new_port: None,
                        errno: -1,
                        sub: vec![],
                        origin: Origin::default(),
                    }]),
                    None,
                    None,
                    None,
                ],
                names: Some(vec![NameRule {
                    allow: true,
                    what: NameMatch::Suffix(b".example".to_vec()),
                    origin: Origin::default(),
                }]),
            }),
        }
    }

    #[test]
    fn a_session_round_trips() {
        let s = sample();
        let b = encode(&s);
        assert_eq!(decode::<Session>(&b), Some(s));
    }

    #[test]
    fn malformed_bytes_are_refused_never_a_panic() {
        let b = encode(&sample());
        for n in 0..b.len() {
            assert_eq!(decode::<Session>(&b[..n]), None, "truncated at {n}");
        }
        let mut long = b.clone();
        long.push(0);
        assert_eq!(decode::<Session>(&long), None);
        // Every single-byte change either still decodes or is refused.
        for i in 0..b.len() {
            let mut x = b.clone();
            x[i] ^= 0xff;
            let _ = decode::<Session>(&x);
        }
    }

    #[test]
    fn substitute_reaches_every_string() {
        let mut s = sample();
        substitute(&mut s, &[("/@S@".into(), "/run/sb2-me-Ab12".into())]);
        let text = format!("{s:?}");
        assert!(!text.contains("@S@"), "{text}");
        assert_eq!(s.constants[0].1, "/run/sb2-me-Ab12");
        assert_eq!(
            s.modes[0].fs_rules[0].action,
            Action::ReplaceBy(b"/run/sb2-me-Ab12/tmp".to_vec())
        );
        assert_eq!(replace(b"a@b@", b"@", b"xy"), Some(b"axybxy".to_vec()));
        assert_eq!(replace(b"ab", b"@", b"xy"), None);
    }
}
