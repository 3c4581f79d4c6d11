//! Write protection, decided once for the preload and `sb2-show`: is a
//! write to a mapped path refused, with which errno, and by what — a
//! read-only rule (its file:line) or the `--allow-write` list?
//!
//! The decision follows the kernel's order of checks where they matter to
//! a build: the kernel walks the path before anything else, and a create
//! of a name that exists fails with EEXIST even on a read-only mount. So a
//! write that would fail on the host anyway — mkdir of an existing
//! directory, a missing parent, a parent that is not a directory, a file
//! to change or remove that is not there — gets the errno the host's
//! kernel gives it, and is no violation: nothing was kept from being
//! written. `mkdir -p /abs/path` under `--allow-write` then works: the
//! existing parents answer EEXIST, and only a real attempt to create
//! outside the allowed directories is refused and counted. (A read-only
//! mount answers EROFS first for unlink, rmdir and rename of a missing
//! name; we answer what the writable host would, ENOENT, which `rm -f`
//! takes as success.)
//!
//! Only a write the rules would refuse pays for the extra `lstat`s; an
//! allowed write costs one branch. No allocation, no panic.

use crate::contract::key;
use crate::format::{RuleRef, Tree};
use crate::mapping::{Host, Kind, Mapped, PathBuf};
use crate::{class, Errno};

/// What the call needs to find at its path.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Need {
    /// It makes the final name (mkdir, symlink, mknod, mkfifo): EEXIST if
    /// the name exists.
    New,
    /// It acts on an existing file (unlink, chmod, truncate, utimes,
    /// setxattr, open for writing without O_CREAT): ENOENT if missing.
    Existing,
    /// Either (open with O_CREAT, rename's destination, bind).
    Any,
}

impl Need {
    /// What a call of this function class needs.
    pub fn of_class(c: u32) -> Need {
        if c & (class::SYMLINK | class::MKNOD) != 0
            || (c & class::CREAT != 0 && c & class::OPEN == 0)
        {
            Need::New
        } else if c & (class::CREAT | class::RENAME | class::SOCKADDR) != 0 {
            Need::Any
        } else {
            Need::Existing
        }
    }
}

/// Who refuses a write.
#[derive(Clone, Copy)]
pub enum By<'a> {
    /// A read-only rule (`readonly`, `protection = readonly_fs_*`).
    Rule(Option<RuleRef<'a>>),
    /// The path is outside every `--allow-write` directory.
    AllowWrite,
}

/// The verdict on a write.
#[derive(Clone, Copy)]
pub enum Verdict<'a> {
    Allowed,
    /// The kernel fails this call before it would ask whether the file
    /// system is writable: its errno, and no violation.
    Native(Errno),
    /// Refused: a violation.
    Refused {
        errno: Errno,
        by: By<'a>,
    },
}

/// Names that stay writable under `--allow-write` (as in Gentoo's
/// sandbox): exact names only, since `/proc/self/fd/3/x` would be a path
/// below the directory open as fd 3.
const ALWAYS: [&[u8]; 8] = [
    b"/dev/null",
    b"/dev/zero",
    b"/dev/full",
    b"/dev/tty",
    b"/dev/ptmx",
    b"/dev/stdin",
    b"/dev/stdout",
    b"/dev/stderr",
];

/// `--allow-write DIR...` (the launcher adds the session directory): is a
/// write to virtual `v`, host `h` below one of them? True when the session
/// has no list.
pub fn allowed_by_list(tree: &Tree, v: &[u8], h: &[u8]) -> bool {
    let Some(list) = tree.constant(key::ALLOW_WRITE.as_bytes()) else {
        return true;
    };
    if list.is_empty() || v.is_empty() {
        return true;
    }
    let fd_link = |p: &[u8]| {
        [b"/proc/self/fd/".as_slice(), b"/dev/fd/", b"/dev/pts/"]
            .iter()
            .any(|d| {
                p.strip_prefix(*d)
                    .is_some_and(|n| !n.is_empty() && n.iter().all(u8::is_ascii_digit))
            })
    };
    if ALWAYS.contains(&v) || fd_link(v) {
        return true;
    }
    let under = |p: &[u8], d: &[u8]| {
        !d.is_empty()
            && p.starts_with(d)
            && (d == b"/" || matches!(p.get(d.len()), None | Some(b'/')))
    };
    list.split(|c| *c == b'\n')
        .any(|d| under(v, d) || under(h, d))
}

/// Would the rules refuse this write (before the kernel's own checks)?
#[inline]
pub fn forbidden(tree: &Tree, m: &Mapped, v: &[u8], h: &[u8]) -> bool {
    m.readonly || !allowed_by_list(tree, v, h)
}

/// The verdict on a write to virtual `v`, mapped by `m` to host `h`.
/// `write` false: not a write, always allowed.
pub fn judge<'a, H: Host>(
    host: &H,
    tree: &Tree,
    m: &Mapped<'a>,
    v: &[u8],
    h: &[u8],
    write: bool,
    need: Need,
) -> Verdict<'a> {
    if !write || !forbidden(tree, m, v, h) {
        return Verdict::Allowed;
    }
    if let Some(e) = native_failure(host, h, need) {
        return Verdict::Native(e);
    }
    if m.readonly {
        Verdict::Refused {
            errno: m.deny_errno,
            by: By::Rule(m.rule),
        }
    } else {
        Verdict::Refused {
            errno: Errno::EROFS,
            by: By::AllowWrite,
        }
    }
}

/// The errno the kernel would give a call that needs `need` at host path
/// `h`, before it checks writability; None if the call would get that far.
fn native_failure<H: Host>(host: &H, h: &[u8], need: Need) -> Option<Errno> {
    let mut b = PathBuf::new();
    // The final name, without trailing slashes ("mkdir a/" names a).
    let mut end = h.len();
    while end > 1 && h[end - 1] == b'/' {
        end -= 1;
    }
    let name = &h[..end];
    if b.set(name).is_err() {
        return None;
    }
    match host.lstat_kind(b.with_nul()) {
        Ok(_) if need == Need::New => return Some(Errno(libc::EEXIST)),
        Ok(_) => return None,
        Err(_) => {}
    }
    // Missing: is its parent a directory we could create in?
    let parent = match name.iter().rposition(|c| *c == b'/') {
        Some(0) => &name[..1],
        Some(i) => &name[..i],
        None => return (need == Need::Existing).then_some(Errno::ENOENT),
    };
    if b.set(parent).is_err() {
        return None;
    }
    match host.lstat_kind(b.with_nul()) {
        Err(e) => Some(e),
        Ok(Kind::Other) => Some(Errno::ENOTDIR),
        Ok(_) if need == Need::Existing => Some(Errno::ENOENT),
        Ok(_) => None,
    }
}

impl Verdict<'_> {
    /// One line for `sb2-show path`: what a write would get, and why.
    pub fn describe(&self) -> String {
        let name = |e: Errno| crate::contract::errno_name(e.0);
        match self {
            Verdict::Allowed => "allowed".into(),
            Verdict::Native(e) => format!(
                "fails as it would natively ({}), before any protection: no violation",
                name(*e)
            ),
            Verdict::Refused {
                errno,
                by: By::Rule(Some(r)),
            } => format!(
                "refused ({}) by the read-only rule at {}:{}",
                name(*errno),
                String::from_utf8_lossy(r.file()),
                r.line()
            ),
            Verdict::Refused {
                errno,
                by: By::Rule(None),
            } => {
                format!("refused ({}) by a read-only rule", name(*errno))
            }
            Verdict::Refused {
                errno,
                by: By::AllowWrite,
            } => format!(
                "refused ({}) by --allow-write: outside every allowed directory",
                name(*errno)
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classes_need_what_the_kernel_checks_first() {
        assert_eq!(Need::of_class(class::CREAT), Need::New); // mkdir
        assert_eq!(Need::of_class(class::SYMLINK), Need::New);
        assert_eq!(Need::of_class(class::MKNOD), Need::New);
        assert_eq!(Need::of_class(class::OPEN | class::CREAT), Need::Any);
        assert_eq!(Need::of_class(class::RENAME), Need::Any);
        assert_eq!(Need::of_class(class::REMOVE), Need::Existing);
        assert_eq!(Need::of_class(class::OPEN), Need::Existing);
        assert_eq!(Need::of_class(class::SET_TIMES), Need::Existing);
    }
}
