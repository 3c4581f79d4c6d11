//! Stages 1 and 2 of the pipeline: make the path absolute in the virtual
//! view, then walk it component by component, resolving every symlink in
//! the virtual view (the kernel never sees a virtual path). Hot path: no
//! allocation, no panic.

use super::apply::{map_clean, map_final};
use super::reverse::reverse;
use super::*;
use crate::format::{ACT_FORCE_ORIG, ACT_FORCE_ORIG_UNLESS_CHROOT, ACT_PROCFS};
use crate::PATH_MAX;

const MAX_LINKS: u32 = 40;

/// Maps `req` to a host path in `out`; the resolved virtual path is left in
/// `vout`.
#[link_section = ".text.hot.sb2"]
pub fn resolve<'a, H: Host>(
    ctx: &Ctx<'a>,
    host: &H,
    req: &Req,
    vout: &mut PathBuf,
    out: &mut PathBuf,
) -> Result<Mapped<'a>, Errno> {
    walk(ctx, &super::host::Memo::new(host), req, vout, out)
}

#[link_section = ".text.hot.sb2"]
fn walk<'a, H: Host>(
    ctx: &Ctx<'a>,
    host: &H,
    req: &Req,
    vout: &mut PathBuf,
    out: &mut PathBuf,
) -> Result<Mapped<'a>, Errno> {
    if req.path.is_empty() {
        return Err(Errno::ENOENT);
    }
    if req.path.len() >= PATH_MAX {
        return Err(Errno::ENAMETOOLONG);
    }
    let mut a = PathBuf::new();
    let mut b = PathBuf::new();
    let (mut rem, mut spare) = (&mut a, &mut b);
    let chroot = ctx.chroot;
    // The walk's space (see `chroot`): inner once at the process's root.
    let mut inside;
    // Stage 1: absolutize.
    let mut fd_is_host = false;
    if req.path.first() != Some(&b'/') {
        match req.dirfd {
            Some(fd) => {
                fd_is_host = host.fd_vpath(fd, rem, out, |h, v| {
                    reverse(ctx, host, h, crate::class::GETCWD, v)
                })?
            }
            None => fd_is_host = cwd_vpath(ctx, host, rem, out)?,
        }
        inside = to_walk_space(&chroot, rem, spare)?;
        rem.push(b"/")?;
    } else {
        inside = chroot.is_some();
    }
    rem.push(req.path)?;
    let trailing_slash = req.path.len() > 1 && req.path.last() == Some(&b'/');
    // A trailing slash makes lookups follow a final symlink ("dl/" is the
    // directory), but calls that create, remove or rename the name itself
    // must see the name: the kernel then fails with ENOTDIR or EEXIST.
    use crate::class as c;
    let names_itself = req.class & (c::REMOVE | c::RENAME | c::CREAT | c::SYMLINK | c::MKNOD) != 0;
    let follow_final = req.follow || (trailing_slash && !names_itself);
    // A final "." or ".." stays in the host path, so the kernel answers as
    // it would ("file/." is ENOTDIR, rmdir("d/.") EINVAL).
    let mut dot_tail = false;
    // The error the last looked-up component gave (missing, not a dir).
    let mut bad: Option<Errno> = None;

    // Stage 2: walk components, resolving symlinks in the virtual view.
    let res = vout;
    res.clear();
    let mut links = 0u32;
    let mut checking = true;
    let mut pos = 0usize;
    // Fast path: a clean absolute path whose parent directory is known to
    // resolve to itself needs no walk; only its last component may still
    // be a symlink to resolve.
    // (Its rules and caches know outer paths: `ob` holds the outer path of
    // an inner one.)
    let mut ob = PathBuf::new();
    if let Some(cut) = clean_parent(rem.as_bytes()) {
        let parent = rem.as_bytes().get(..cut).unwrap_or(&[]);
        let known = parent.is_empty()
            || match (&chroot, inside) {
                (Some(cr), true) => {
                    cr.outer(parent, &mut ob)?;
                    host.dir_known(dir_key(req.class, ob.as_bytes()))
                }
                _ => host.dir_known(dir_key(req.class, parent)),
            };
        if known {
            res.set(parent)?;
            pos = cut;
        }
    }
    'walk: loop {
        let bytes = rem.as_bytes();
        while bytes.get(pos) == Some(&b'/') {
            pos += 1;
        }
        if pos >= bytes.len() {
            break;
        }
        let start = pos;
        while pos < bytes.len() && bytes.get(pos) != Some(&b'/') {
            pos += 1;
        }
        let comp = bytes.get(start..pos).unwrap_or(&[]);
        let is_last = bytes
            .get(pos..)
            .is_none_or(|r| r.iter().all(|c| *c == b'/'));
        dot_tail = is_last && (comp == b"." || comp == b"..");
        if comp == b"." {
            continue;
        }
        if comp == b".." {
            if let Some(e) = bad {
                return Err(e);
            }
            // At the inner root (empty) this is a no-op: the chroot's
            // confinement.
            res.pop_component();
            continue;
        }
        let mut before = res.len();
        res.push(b"/")?;
        res.push(comp)?;
        if let Some(cr) = &chroot {
            if !inside && cr.is_root(res.as_bytes()) {
                // The walk met the root from outside: from here on `..`
                // stops at it.
                res.clear();
                before = 0;
                inside = true;
            }
        }
        if !checking || (is_last && !follow_final) {
            continue;
        }
        let vpath: &[u8] = match (&chroot, inside) {
            (Some(cr), true) => {
                cr.outer(res.as_bytes(), &mut ob)?;
                ob.as_bytes()
            }
            _ => res.as_bytes(),
        };
        let key = dir_key(req.class, vpath);
        if !is_last && host.dir_known(key) {
            bad = None;
            continue;
        }
        // Taken before the lstat, so a change racing with it invalidates
        // what we are about to remember.
        let token = host.dir_token();
        let m = map_clean(ctx, host, vpath, req.class, false, out)?;
        if let Some(r) = m.rule {
            let kind = r.action_kind();
            let mut checking_proc = false;
            if chroot.is_some() && kind == ACT_PROCFS {
                // The process's own root and cwd links would take the
                // kernel's walk out of the chroot: they are followed here,
                // as the links they are inside it.
                match proc_link(host, vpath) {
                    Some(ProcLink::Root) => {
                        links += 1;
                        res.clear();
                        inside = true;
                        continue;
                    }
                    Some(ProcLink::Cwd) => {
                        links += 1;
                        cwd_vpath(ctx, host, res, out)?;
                        inside = to_walk_space(&chroot, res, &mut ob)?;
                        continue;
                    }
                    // `/proc` and `/proc/self` themselves are walked here
                    // (so that `/proc/self/root` is seen); deeper links
                    // are the kernel's.
                    None if vpath.iter().filter(|c| **c == b'/').count() <= 2 => {
                        checking_proc = true;
                    }
                    None => {}
                }
            }
            // The kernel resolves from here on (e.g. a host resolv.conf
            // link, or everything in nomap mode); not inside a chroot,
            // where only the pipeline knows the root (but still for /proc,
            // whose other links are magic: only the kernel can follow them).
            let force = match kind {
                ACT_FORCE_ORIG | ACT_FORCE_ORIG_UNLESS_CHROOT => chroot.is_none(),
                ACT_PROCFS => !checking_proc,
                _ => false,
            };
            if force {
                checking = false;
                continue;
            }
        }
        match host.lstat_kind(out.with_nul()) {
            Ok(Kind::Symlink) => {
                links += 1;
                if links > MAX_LINKS {
                    return Err(Errno::ELOOP);
                }
                host.readlink(out.with_nul(), spare)?;
                if spare.is_empty() {
                    return Err(Errno::ENOENT);
                }
                let rest = rem.as_bytes().get(pos..).unwrap_or(&[]);
                spare.push(b"/")?;
                spare.push(rest)?;
                if spare.as_bytes().first() == Some(&b'/') {
                    // Absolute targets start at the process's root.
                    res.clear();
                    inside = chroot.is_some();
                } else {
                    res.truncate(before);
                }
                core::mem::swap(&mut rem, &mut spare);
                pos = 0;
                bad = None;
                continue 'walk;
            }
            Ok(Kind::Dir) => {
                host.dir_remember(key, token);
                bad = None;
            }
            // A missing component may still have mapped children (virtual
            // directories need not exist on the host), so the walk goes on;
            // but a ".." right after it must fail as in the kernel rather
            // than step over it textually.
            Ok(Kind::Other) => bad = Some(Errno::ENOTDIR),
            Err(e) => bad = Some(e),
        }
    }
    if let (Some(cr), true) = (&chroot, inside) {
        // Rules, protection and the caller see the outer path.
        ob.set(res.as_bytes())?;
        cr.outer(ob.as_bytes(), res)?;
    }
    if res.is_empty() {
        res.push(b"/")?;
    }
    // Stages 3 and 4.
    let mut m = map_final(ctx, host, res.as_bytes(), req.class, req.want_union, out)?;
    if dot_tail {
        out.push(b"/.")?;
    } else if trailing_slash && out.as_bytes().last() != Some(&b'/') {
        out.push(b"/")?;
    }
    // No symlink taken and a plain relative name: the virtual path is the
    // dirfd's path + "/" + name; mapped to itself, the host path is too.
    if fd_is_host && links == 0 && plain_relative(req.path) && out.as_bytes() == res.as_bytes() {
        m.rel = out.len() - req.path.len();
    }
    Ok(m)
}

/// The virtual (outer) cwd into `out`, `scratch` used for the host's;
/// true if both are the same.
fn cwd_vpath<H: Host>(
    ctx: &Ctx,
    host: &H,
    out: &mut PathBuf,
    scratch: &mut PathBuf,
) -> Result<bool, Errno> {
    if let Some(same) = host.cached_cwd(out) {
        return Ok(same);
    }
    let token = host.dir_token();
    host.host_cwd(scratch)?;
    reverse(ctx, host, scratch.as_bytes(), crate::class::GETCWD, out)?;
    let same = out.as_bytes() == scratch.as_bytes();
    host.cache_cwd(out.as_bytes(), token, same);
    Ok(same)
}

/// An outer path (a cwd, a dirfd's path) in the walk's space: inner when
/// it lies inside the chroot (the root itself is empty), else left outer;
/// true if inner. `scratch` is spare room.
fn to_walk_space(
    chroot: &Option<super::Chroot>,
    path: &mut PathBuf,
    scratch: &mut PathBuf,
) -> Result<bool, Errno> {
    let Some(cr) = chroot else {
        return Ok(false);
    };
    if !cr.inner(path.as_bytes(), scratch)? {
        return Ok(false);
    }
    let inner = scratch.as_bytes();
    path.set(if inner == b"/" { b"" } else { inner })?;
    Ok(true)
}

/// The links of `/proc` a chroot must follow itself.
enum ProcLink {
    Root,
    Cwd,
}

/// Is `v` this process's `/proc/{self,thread-self,PID}/{root,cwd}`?
fn proc_link<H: Host>(host: &H, v: &[u8]) -> Option<ProcLink> {
    match super::own_proc_entry(v, || host.own_pid())? {
        b"root" => Some(ProcLink::Root),
        b"cwd" => Some(ProcLink::Cwd),
        _ => None,
    }
}

/// A relative path with no empty, `.` or `..` component and no trailing
/// slash.
fn plain_relative(p: &[u8]) -> bool {
    !p.is_empty()
        && p.first() != Some(&b'/')
        && p.split(|c| *c == b'/')
            .all(|c| !c.is_empty() && c != b"." && c != b"..")
}

/// If `p` is absolute with no `//`, no `.` or `..` component and no
/// trailing slash, the index of its last slash (where its parent ends).
#[inline]
fn clean_parent(p: &[u8]) -> Option<usize> {
    if p.len() < 2 || p.first() != Some(&b'/') || p.last() == Some(&b'/') {
        return None;
    }
    let dotty = |c: &[u8]| c.is_empty() || c == b"." || c == b"..";
    let mut last = 0usize;
    for (i, c) in p.iter().enumerate().skip(1) {
        if *c == b'/' {
            if dotty(p.get(last + 1..i).unwrap_or(&[])) {
                return None;
            }
            last = i;
        }
    }
    if dotty(p.get(last + 1..).unwrap_or(&[])) {
        return None;
    }
    Some(last)
}
