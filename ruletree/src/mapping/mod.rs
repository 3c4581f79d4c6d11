//! THE path pipeline. Every path-taking hook of the preload and every
//! `sb2-show` command go through [`resolve`] (virtual → host) or
//! [`reverse`] (host → virtual); nobody else splices paths.
//!
//! Stages of [`resolve`]:
//! 1. absolutize against the virtual cwd, or the dirfd's virtual path;
//! 2. walk the components, dropping `.`, applying `..` to the resolved prefix
//!    (so `..` never skips a symlink), and resolving each symlink *in the
//!    virtual view*: the prefix is mapped, `lstat`ed on the host and, if it is
//!    a link, its target is spliced in (absolute targets restart at the
//!    virtual root) — ELOOP after 40 links, ENAMETOOLONG past PATH_MAX;
//! 3. look up the deciding rule ([`crate::lookup`]) for the resolved path;
//! 4. apply its action into the caller's buffer.
//!
//! Generic over [`Host`] so the preload (raw syscalls) and `sb2-show` (std)
//! run the same code. Hot path: stack buffers only, no allocation, no panic.
//!
//! * this file — the request, its context and its outcome;
//! * `pathbuf` — [`PathBuf`], the fixed stack buffer every stage writes;
//! * `host` — [`Host`], what the pipeline asks of the system (and the
//!   caches a host may keep);
//! * `walk` — stages 1 and 2: [`resolve`];
//! * `chroot` — [`Chroot`]: a simulated root, and the inner and outer
//!   spaces of paths it makes;
//! * `apply` — stages 3 and 4: the deciding rule's action ([`map_clean`]);
//! * `reverse` — [`reverse`].

mod apply;
mod chroot;
mod host;
mod pathbuf;
mod reverse;
mod walk;

pub use apply::map_clean;
pub use chroot::{encode_mounts, mounts, session_mounts, Chroot};
pub use host::{Host, Kind};
pub use pathbuf::PathBuf;
pub use reverse::reverse;
pub use walk::resolve;

use crate::format::{ModeRef, RuleRef, Tree};
use crate::Errno;

/// Key of a resolved virtual directory for [`Host::dir_known`]: a fast
/// word-at-a-time hash (FxHash's mixing) of the call class and the path.
#[inline]
#[link_section = ".text.hot.sb2"]
pub fn dir_key(class: u32, path: &[u8]) -> u64 {
    const K: u64 = 0x51_7c_c1_b7_27_22_0a_95;
    let mix = |h: u64, w: u64| (h.rotate_left(5) ^ w).wrapping_mul(K);
    let mut h = mix(path.len() as u64, class as u64);
    let mut chunks = path.chunks_exact(8);
    for c in &mut chunks {
        let mut w = [0u8; 8];
        w.copy_from_slice(c);
        h = mix(h, u64::from_le_bytes(w));
    }
    let mut w = [0u8; 8];
    let rest = chunks.remainder();
    if let Some(dst) = w.get_mut(..rest.len()) {
        dst.copy_from_slice(rest);
    }
    mix(h, u64::from_le_bytes(w))
}

/// If `v` is `/proc/{self,thread-self,PID}/ENTRY` of the process whose id
/// `pid` gives (asked only for a numeric PID), ENTRY (`root`, `cwd`,
/// `exe`, `fd/3`...).
pub fn own_proc_entry(v: &[u8], pid: impl FnOnce() -> i32) -> Option<&[u8]> {
    let rest = v.strip_prefix(b"/proc/")?;
    let slash = rest.iter().position(|c| *c == b'/')?;
    let (who, entry) = (rest.get(..slash)?, rest.get(slash + 1..)?);
    let mut digits = [0u8; 20];
    let own = who == b"self"
        || who == b"thread-self"
        || (who.first().is_some_and(u8::is_ascii_digit)
            && who == crate::sys::decimal(pid() as u64, &mut digits));
    own.then_some(entry)
}

/// The process-level facts rules may depend on.
#[derive(Clone, Copy)]
pub struct Ctx<'a> {
    pub tree: Tree<'a>,
    pub mode: ModeRef<'a>,
    pub binary_name: &'a [u8],
    pub exec_policy: &'a [u8],
    /// Simulated euid is 0 (`-R`): `readonly_fs_if_not_root` is writable.
    pub is_root: bool,
    /// The process's simulated chroot, if it made one.
    pub chroot: Option<Chroot<'a>>,
}

impl Ctx<'_> {
    /// An outer virtual path as this process names it (inside its chroot,
    /// relative to the root), into `out`; false when it cannot be named
    /// from inside (then `out` holds the outer path).
    pub fn view(&self, outer: &[u8], out: &mut PathBuf) -> Result<bool, Errno> {
        if let Some(cr) = &self.chroot {
            if cr.inner(outer, out)? {
                return Ok(true);
            }
            out.set(outer)?;
            return Ok(false);
        }
        out.set(outer)?;
        Ok(true)
    }
}

/// One mapping request.
#[derive(Clone, Copy, Debug)]
pub struct Req<'p> {
    /// `None` = relative to the cwd; `Some(fd)` = relative to that dirfd.
    pub dirfd: Option<i32>,
    pub path: &'p [u8],
    pub class: u32,
    /// Resolve a symlink in the final component (false for lstat, unlink...).
    pub follow: bool,
    /// The caller lists the directory (opendir): union dirs are synthesized.
    pub want_union: bool,
}

/// How the host path was produced.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MapKind {
    Normal,
    /// A union directory: the host path is the synthesized directory.
    Union,
    /// `/proc`: results (readlink) must be reverse-mapped.
    ProcFs,
}

/// The outcome of a mapping.
#[derive(Clone, Copy)]
pub struct Mapped<'a> {
    /// The deciding rule (None: no rule matched; the path is unmapped).
    pub rule: Option<RuleRef<'a>>,
    pub readonly: bool,
    /// The errno a refused write gets (EROFS unless the rule says).
    pub deny_errno: Errno,
    pub kind: MapKind,
    pub exec_policy: Option<&'a [u8]>,
    /// Non-zero: the request's path, relative to its dirfd (or the cwd),
    /// names the host file as well, and is `out[rel..]` (the mapping left
    /// it as given under a directory that maps to itself). The kernel then walks one
    /// relative name instead of the whole absolute host path.
    pub rel: usize,
}

impl Mapped<'_> {
    /// No rule decided: the path is used as it is, writable.
    pub const UNMAPPED: Mapped<'static> = Mapped {
        rule: None,
        readonly: false,
        deny_errno: Errno::EROFS,
        kind: MapKind::Normal,
        exec_policy: None,
        rel: 0,
    };
}
