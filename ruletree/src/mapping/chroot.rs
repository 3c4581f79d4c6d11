//! The simulated chroot as the pipeline sees it: the process's root
//! directory and the directories of the outer view "mounted" inside it.
//!
//! Two spaces of virtual paths meet here. The *outer* path is the session's
//! virtual view, the one rules, write protection, the trace and every cache
//! are keyed by. The *inner* path is what the chrooted process names: `/`
//! is the root. [`Chroot::outer`] and [`Chroot::inner`] convert between
//! them. A mount (`/proc`, `/sys`, `/dev` by default, and the user's
//! `--bind`s) makes an outer directory appear at an inner path, as a bind
//! mount does under a real chroot. An outer path neither under the root
//! nor under a mount is *unreachable* from inside: a cwd or an fd left
//! there by chroot() without chdir, as the kernel allows.
//!
//! The walk itself (`walk`) runs in one space at a time: inner once it
//! started at the root or met it, outer while it wanders outside. `..` is a
//! no-op at the inner root, which is how the kernel confines a chroot: by
//! the identity of the directory, not by the spelling of the path.

use super::PathBuf;
use crate::Errno;

/// A process's simulated root.
#[derive(Clone, Copy, Debug)]
pub struct Chroot<'a> {
    /// The root as an outer virtual path: absolute, symlink-free, no
    /// trailing slash, never `/` (a chroot back to `/` ends the
    /// simulation).
    pub root: &'a [u8],
    /// Directories of the outer view visible inside, both paths absolute
    /// (made by [`encode_mounts`]; see [`mounts`]).
    pub mounts: &'a [u8],
    /// The root's loader facts (`contract::CHROOT_LD_VAR`'s value; empty
    /// when it has no loader for this machine).
    pub ld: &'a [u8],
}

/// The (INSIDE, OUTSIDE) pairs of a mount list made by [`encode_mounts`].
/// Walked on every path call inside a chroot, so it is length-prefixed,
/// not parsed.
pub fn mounts(list: &[u8]) -> impl Iterator<Item = (&[u8], &[u8])> {
    let mut rest = list;
    core::iter::from_fn(move || {
        let (inside, r) = take(rest)?;
        let (outside, r) = take(r)?;
        rest = r;
        Some((inside, outside))
    })
}

/// A length-prefixed string at the start of `b`, and what follows it.
#[inline]
fn take(b: &[u8]) -> Option<(&[u8], &[u8])> {
    let n = u16::from_le_bytes([*b.first()?, *b.get(1)?]) as usize;
    Some((b.get(2..2 + n)?, b.get(2 + n..)?))
}

/// Appends the `INSIDE\tOUTSIDE` lines of `text` (a mode's
/// `chroot_mounts`, the `--bind` list) to a mount list for [`Chroot`].
pub fn encode_mounts(text: &[u8], out: &mut PathBuf) -> Result<(), Errno> {
    for line in text.split(|c| *c == b'\n') {
        let Some(tab) = line.iter().position(|c| *c == b'\t') else {
            continue;
        };
        for part in [line.get(..tab), line.get(tab + 1..)].into_iter().flatten() {
            out.push(&(part.len() as u16).to_le_bytes())?;
            out.push(part)?;
        }
    }
    Ok(())
}

/// The mount list of the mode named `mode`: its `chroot_mounts` (the tree
/// constant `chroot_mounts.MODE`), then the session's `--bind`s.
pub fn session_mounts(tree: &crate::format::Tree, mode: &[u8], out: &mut PathBuf) {
    use crate::contract::key;
    let mut k = PathBuf::new();
    let named = k.set(key::CHROOT_MOUNTS.as_bytes()).is_ok()
        && k.push(b".").is_ok()
        && k.push(mode).is_ok();
    let own = if named {
        tree.constant(k.as_bytes())
    } else {
        None
    };
    for list in [own, tree.constant(key::CHROOT_BINDS.as_bytes())]
        .into_iter()
        .flatten()
    {
        let _ = encode_mounts(list, out);
    }
}

/// `path` with `prefix` as a whole-component prefix removed (`Some("")`
/// for the prefix itself).
fn under<'p>(path: &'p [u8], prefix: &[u8]) -> Option<&'p [u8]> {
    let rest = path.strip_prefix(prefix)?;
    (rest.is_empty() || rest.first() == Some(&b'/') || prefix == b"/").then_some(rest)
}

impl Chroot<'_> {
    /// The outer path of an inner one (`""` or `/...`).
    pub fn outer(&self, inner: &[u8], out: &mut PathBuf) -> Result<(), Errno> {
        let inner = if inner == b"/" { &b""[..] } else { inner };
        let mut best: Option<(&[u8], &[u8])> = None;
        for (inside, outside) in mounts(self.mounts) {
            if under(inner, inside).is_some() && best.is_none_or(|(i, _)| inside.len() > i.len()) {
                best = Some((inside, outside));
            }
        }
        match best {
            Some((inside, outside)) => {
                out.set(outside)?;
                out.push(inner.get(inside.len()..).unwrap_or(&[]))
            }
            None => {
                out.set(self.root)?;
                out.push(inner)
            }
        }
    }

    /// The inner path of an outer one, into `out`; false (and `out`
    /// untouched) if the outer path cannot be named from inside.
    pub fn inner(&self, outer: &[u8], out: &mut PathBuf) -> Result<bool, Errno> {
        let mut best: Option<(&[u8], &[u8])> = None;
        for (inside, outside) in mounts(self.mounts) {
            if under(outer, outside).is_some() && best.is_none_or(|(_, o)| outside.len() > o.len())
            {
                best = Some((inside, outside));
            }
        }
        if let Some((inside, outside)) = best {
            let rest = outer.get(outside.len()..).unwrap_or(&[]);
            out.set(inside)?;
            return out.push(rest).map(|_| true);
        }
        match under(outer, self.root) {
            Some(rest) => {
                out.set(if rest.is_empty() { b"/" } else { rest })?;
                Ok(true)
            }
            None => Ok(false),
        }
    }

    /// Does the outer path lie in the root itself (not in a mount)?
    pub fn contains(&self, outer: &[u8]) -> bool {
        under(outer, self.root).is_some()
    }

    /// Is the outer path the root itself?
    #[inline]
    pub fn is_root(&self, outer: &[u8]) -> bool {
        outer == self.root
    }
}
