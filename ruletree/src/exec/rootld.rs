//! The loader facts of a chroot: which ld.so starts the root's programs,
//! whether it takes `--argv0`, and the library directories it must search.
//!
//! The kernel resolves a program's PT_INTERP in the *real* root, and ld.so
//! then reads the host's `/etc/ld.so.cache`: a chroot's programs would run
//! with the host's loader against the root's libc, which breaks as soon as
//! the two glibc versions differ. So a chroot's programs start through the
//! root's own ld.so with `--inhibit-cache` and a `--library-path` made from
//! the root's `/etc/ld.so.conf` (and its includes) and the standard
//! directories, all resolved in the chroot view. These facts cost a few
//! file reads; chroot() computes them once (see [`loader_facts`]) and the
//! process carries them with its root (`contract::CHROOT_LD_VAR`).
//! `--argv0` exists from glibc 2.33 (bullseye's 2.31 loader rejects it): it
//! is passed only to a loader whose help text names it.

use crate::mapping::{self, Ctx, Host, PathBuf, Req};
use crate::{class, Errno};

/// The interpreter path of this machine's programs, and their multiarch
/// directory name.
#[cfg(target_arch = "x86_64")]
pub(crate) const INTERP: &[u8] = b"/lib64/ld-linux-x86-64.so.2";
#[cfg(target_arch = "x86_64")]
const MULTIARCH: &[u8] = b"x86_64-linux-gnu";
#[cfg(target_arch = "aarch64")]
pub(crate) const INTERP: &[u8] = b"/lib/ld-linux-aarch64.so.1";
#[cfg(target_arch = "aarch64")]
const MULTIARCH: &[u8] = b"aarch64-linux-gnu";
#[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
pub(crate) const INTERP: &[u8] = b"/lib/ld-linux.so.2";
#[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
const MULTIARCH: &[u8] = b"unknown-linux-gnu";

/// Resolves an inner path of the chroot to its host path (following
/// links in the chroot view).
pub fn host_path<H: Host>(
    ctx: &Ctx,
    host: &H,
    inner: &[u8],
    out: &mut PathBuf,
) -> Result<(), Errno> {
    let mut v = PathBuf::new();
    let req = Req {
        dirfd: None,
        path: inner,
        class: class::OPEN,
        follow: true,
        want_union: false,
    };
    mapping::resolve(ctx, host, &req, &mut v, out)?;
    out.with_nul();
    Ok(())
}

/// What a chroot() to `root` (an outer path) sets up besides the root
/// itself, into the caller's buffers: the mount list of the process's mode
/// with the session's `--bind`s, and the root's loader facts (empty when it
/// has none). The preload's chroot() and `sb2-show --chroot` both use it.
pub fn chroot_facts<H: Host>(
    ctx: &Ctx,
    host: &H,
    root: &[u8],
    mounts: &mut PathBuf,
    ld: &mut PathBuf,
) {
    mapping::session_mounts(&ctx.tree, ctx.mode.name(), mounts);
    let inside = Ctx {
        chroot: Some(mapping::Chroot {
            root,
            mounts: mounts.as_bytes(),
            ld: b"",
        }),
        ..*ctx
    };
    if loader_facts(&inside, host, ld).is_err() {
        ld.clear();
    }
}

/// Writes `A:LD_SO:LIBRARY_PATH` for the chroot of `ctx` into `out`
/// (`contract::CHROOT_LD_VAR`); ENOENT if the root has no loader for this
/// machine's programs.
pub fn loader_facts<H: Host>(ctx: &Ctx, host: &H, out: &mut PathBuf) -> Result<(), Errno> {
    let mut ld = PathBuf::new();
    host_path(ctx, host, INTERP, &mut ld)?;
    if host.exec_probe(ld.with_nul(), &mut []).is_err() || crate::sys::has_byte(ld.as_bytes(), b':')
    {
        return Err(Errno::ENOENT);
    }
    out.set(if takes_argv0(ld.with_nul()) {
        b"1:"
    } else {
        b"0:"
    })?;
    out.push(ld.as_bytes())?;
    out.push(b":")?;
    let start = out.len();
    let add = |dir: &[u8], out: &mut PathBuf| -> Result<(), Errno> {
        let mut h = PathBuf::new();
        if dir.first() != Some(&b'/') || host_path(ctx, host, dir, &mut h).is_err() {
            return Ok(());
        }
        if host.lstat_kind(h.with_nul()) != Ok(mapping::Kind::Dir) {
            return Ok(());
        }
        let have = out.as_bytes().get(start..).unwrap_or(&[]);
        if have.split(|c| *c == b':').any(|d| d == h.as_bytes()) {
            return Ok(());
        }
        if out.len() > start {
            out.push(b":")?;
        }
        out.push(h.as_bytes())
    };
    conf_dirs(
        ctx,
        host,
        b"/etc/ld.so.conf",
        0,
        &mut |d: &[u8], o: &mut PathBuf| add(d, o),
        out,
    )?;
    for base in [&b"/lib/"[..], b"/usr/lib/"] {
        let mut d = PathBuf::new();
        d.set(base)?;
        d.push(MULTIARCH)?;
        add(d.as_bytes(), out)?;
    }
    for d in [&b"/lib"[..], b"/usr/lib", b"/lib64", b"/usr/lib64"] {
        add(d, out)?;
    }
    Ok(())
}

/// What is done with each directory or file found: it may append to the
/// output.
type Visit<'v> = dyn FnMut(&[u8], &mut PathBuf) -> Result<(), Errno> + 'v;

/// Does the loader's help text name `--argv0`?
fn takes_argv0(ld: &[u8]) -> bool {
    const NEEDLE: &[u8] = b"--argv0";
    let mut buf = [0u8; 8192];
    // The needle may straddle two chunks: keep the tail of the last one.
    let mut tail = [0u8; 8];
    let mut tail_len = 0usize;
    let mut found = false;
    crate::sys::read_chunks(ld, &mut buf, |chunk| {
        let mut joined = [0u8; 16];
        let head = chunk.get(..NEEDLE.len()).unwrap_or(chunk);
        let n = tail_len + head.len();
        if let (Some(a), Some(b)) = (joined.get_mut(..tail_len), tail.get(..tail_len)) {
            a.copy_from_slice(b);
        }
        if let Some(a) = joined.get_mut(tail_len..n) {
            a.copy_from_slice(head);
        }
        found = contains(joined.get(..n).unwrap_or(&[]), NEEDLE) || contains(chunk, NEEDLE);
        let keep = chunk.len().min(NEEDLE.len() - 1);
        tail_len = keep;
        if let (Some(a), Some(b)) = (tail.get_mut(..keep), chunk.get(chunk.len() - keep..)) {
            a.copy_from_slice(b);
        }
        !found
    });
    found
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

/// The directories an ld.so.conf file (inner path) names, `include`s
/// followed (two levels, as deep as Debian goes).
fn conf_dirs<H: Host>(
    ctx: &Ctx,
    host: &H,
    inner: &[u8],
    depth: u32,
    add: &mut Visit,
    out: &mut PathBuf,
) -> Result<(), Errno> {
    let mut h = PathBuf::new();
    if depth > 2 || host_path(ctx, host, inner, &mut h).is_err() {
        return Ok(());
    }
    let mut text = [0u8; 8192];
    let mut len = 0usize;
    crate::sys::read_chunks(h.with_nul(), &mut [0u8; 4096], |c| {
        let n = c.len().min(text.len() - len);
        if let (Some(d), Some(s)) = (text.get_mut(len..len + n), c.get(..n)) {
            d.copy_from_slice(s);
        }
        len += n;
        len < text.len()
    });
    let text = text.get(..len).unwrap_or(&[]);
    for line in text.split(|c| *c == b'\n') {
        let line = line.split(|c| *c == b'#').next().unwrap_or(&[]);
        let line = trim(line);
        if line.is_empty() {
            continue;
        }
        if let Some(pat) = line.strip_prefix(b"include") {
            let pat = trim(pat);
            if pat.len() == line.len() - 7 {
                // "includefoo": a directory named so, not the keyword.
            } else {
                let mut abs = PathBuf::new();
                if pat.first() != Some(&b'/') {
                    // Relative to the including file's directory.
                    let cut = inner.iter().rposition(|c| *c == b'/').unwrap_or(0);
                    abs.set(inner.get(..cut).unwrap_or(&[]))?;
                    abs.push(b"/")?;
                }
                abs.push(pat)?;
                glob(
                    ctx,
                    host,
                    abs.as_bytes(),
                    &mut |f: &[u8], o: &mut PathBuf| conf_dirs(ctx, host, f, depth + 1, add, o),
                    out,
                )?;
                continue;
            }
        }
        // Old `dir=TYPE` lines name the directory before the `=`.
        let dir = line.split(|c| *c == b'=').next().unwrap_or(line);
        add(trim(dir), out)?;
    }
    Ok(())
}

/// Calls `f` with each inner file matching `pat`, whose last component may
/// hold one `*` (`/etc/ld.so.conf.d/*.conf`), in name order.
fn glob<H: Host>(
    ctx: &Ctx,
    host: &H,
    pat: &[u8],
    f: &mut Visit,
    out: &mut PathBuf,
) -> Result<(), Errno> {
    let cut = pat.iter().rposition(|c| *c == b'/').unwrap_or(0);
    let (dir, name) = (
        pat.get(..cut).unwrap_or(&[]),
        pat.get(cut + 1..).unwrap_or(&[]),
    );
    let Some(star) = name.iter().position(|c| *c == b'*') else {
        return f(pat, out);
    };
    let (pre, suf) = (
        name.get(..star).unwrap_or(&[]),
        name.get(star + 1..).unwrap_or(&[]),
    );
    let mut h = PathBuf::new();
    if host_path(ctx, host, if dir.is_empty() { b"/" } else { dir }, &mut h).is_err() {
        return Ok(());
    }
    // Name order, without a heap: repeatedly take the smallest name above
    // the last one taken (directories of ld.so.conf.d are small).
    let mut last = PathBuf::new();
    let mut first = true;
    loop {
        let mut next = PathBuf::new();
        let mut found = false;
        crate::sys::list_dir(h.with_nul(), |n| {
            let ok = n.len() >= pre.len() + suf.len() && n.starts_with(pre) && n.ends_with(suf);
            if ok && (first || n > last.as_bytes()) && (!found || n < next.as_bytes()) {
                found = next.set(n).is_ok();
            }
        });
        if !found {
            return Ok(());
        }
        first = false;
        last.set(next.as_bytes())?;
        let mut file = PathBuf::new();
        file.set(dir)?;
        file.push(b"/")?;
        file.push(next.as_bytes())?;
        f(file.as_bytes(), out)?;
    }
}

fn trim(s: &[u8]) -> &[u8] {
    let s = match s.iter().position(|c| !c.is_ascii_whitespace()) {
        Some(i) => s.get(i..).unwrap_or(&[]),
        None => return &[],
    };
    let end = s
        .iter()
        .rposition(|c| !c.is_ascii_whitespace())
        .map_or(0, |i| i + 1);
    s.get(..end).unwrap_or(&[])
}
