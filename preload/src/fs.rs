//! Gates of the file family that need more than "map the path, call the
//! real function": results that must be reverse-mapped (readlink of
//! `/proc/self/...`, getcwd, realpath), templates that must be copied back
//! (mkstemp family), and optional paths.

use crate::ffi::hook::answer_errno;
use crate::ffi::sys;
use crate::path::{self, map, map_at, resolve, unmap, Op, Sys};
use crate::process::state;
use sb2_ruletree::mapping::{Host, MapKind, PathBuf};
use sb2_ruletree::{class, Errno};

/// access(2) modes: W_OK is a write for read-only checks.
pub fn access_op(mode: i32) -> Op {
    if mode & libc::W_OK != 0 {
        Op {
            class: class::OPEN | class::CHECK,
            follow: true,
            write: true,
            need: None,
            empty_is_fd: false,
        }
    } else {
        path::STAT
    }
}

/// `*at` functions that take a NULL path: futimesat's names the fd itself
/// (`null_is_fd`: then a write through that fd); glibc's utimensat
/// refuses it (EINVAL) before any system call.
pub fn map_at_opt<R>(
    d: i32,
    p: *const libc::c_char,
    op: Op,
    null_is_fd: bool,
    f: impl FnOnce(*const libc::c_char) -> R,
) -> Result<R, Errno> {
    if p.is_null() {
        if null_is_fd {
            return path::fd_write(d, op, || f(p));
        }
        return Ok(f(p));
    }
    map_at(d, p, op, f)
}

/// Is `v` one of `/proc/self|<pid>/{exe,cwd,root,fd/N}` — links whose
/// targets are host paths that must be shown virtual?
fn proc_link(v: &[u8]) -> bool {
    let Some(rest) = v.strip_prefix(b"/proc/") else {
        return false;
    };
    let Some(slash) = rest.iter().position(|c| *c == b'/') else {
        return false;
    };
    let (who, what) = rest.split_at(slash);
    if who != b"self" && who != b"thread-self" && !who.iter().all(u8::is_ascii_digit) {
        return false;
    }
    matches!(what, b"/exe" | b"/cwd" | b"/root")
        || what.starts_with(b"/fd/")
        || what.starts_with(b"/task/")
}

/// Is `v` this process's `/proc/{self,thread-self,PID}/LINK`?
fn own_link(v: &[u8], link: &[u8]) -> bool {
    // SAFETY: getpid has no preconditions.
    let pid = || unsafe { libc::getpid() };
    sb2_ruletree::mapping::own_proc_entry(v, pid) == Some(link)
}

pub fn readlink(
    d: i32,
    p: *const libc::c_char,
    buf: *mut libc::c_char,
    n: usize,
    real: impl FnOnce(*const libc::c_char) -> isize,
) -> Result<isize, Errno> {
    let ctx = state::ctx()?;
    let (mut v, mut h) = (PathBuf::new(), PathBuf::new());
    let m = resolve(&ctx, Some(d), p, path::LREAD, false, &mut v, &mut h)?;
    if m.kind != MapKind::ProcFs || !proc_link(v.as_bytes()) || buf.is_null() {
        return Ok(real(h.as_ptr()));
    }
    let mut target = PathBuf::new();
    let mut virt = PathBuf::new();
    if ctx.chroot.is_some() && own_link(v.as_bytes(), b"root") {
        // The process's root is `/` to itself.
        virt.set(b"/")?;
    } else if let Some(exe) = own_link(v.as_bytes(), b"exe")
        .then(state::loaded_program)
        .flatten()
    {
        // Started by a loader: the program, not the loader, is the exe.
        unmap(&ctx, exe, class::REALPATH, &mut h)?;
        ctx.view(h.as_bytes(), &mut virt)?;
    } else {
        Sys.readlink(h.with_nul(), &mut target)?;
        if target.as_bytes().first() == Some(&b'/') {
            unmap(&ctx, target.as_bytes(), class::REALPATH, &mut h)?;
            // Outside the chroot the outer path is all there is to say.
            ctx.view(h.as_bytes(), &mut virt)?;
        } else {
            virt.set(target.as_bytes())?; // "pipe:[123]" and the like
        }
    }
    let out = virt.as_bytes();
    let k = out.len().min(n);
    // SAFETY: the caller gave a buffer of n bytes; readlink does not NUL-terminate.
    unsafe { core::ptr::copy_nonoverlapping(out.as_ptr(), buf as *mut u8, k) };
    Ok(k as isize)
}

/// Copies `s` to the caller's buffer, or to a malloc'd one if `buf` is NULL
/// (glibc semantics of getcwd/realpath).
fn give(s: &[u8], buf: *mut libc::c_char, size: usize) -> Result<*mut libc::c_char, Errno> {
    let need = s.len() + 1;
    let dst = if buf.is_null() {
        // SAFETY: plain allocation handed to the caller, who frees it.
        let p = unsafe { libc::malloc(need.max(size)) } as *mut libc::c_char;
        if p.is_null() {
            return Err(Errno(libc::ENOMEM));
        }
        p
    } else {
        if size < need {
            return Err(Errno::ERANGE);
        }
        buf
    };
    // SAFETY: dst has room for need bytes (checked or allocated above).
    unsafe {
        core::ptr::copy_nonoverlapping(s.as_ptr(), dst as *mut u8, s.len());
        *dst.add(s.len()) = 0;
    }
    Ok(dst)
}

/// getcwd and friends: the real cwd, reverse-mapped to the virtual view.
pub fn getcwd(buf: *mut libc::c_char, size: usize) -> Result<*mut libc::c_char, Errno> {
    if !buf.is_null() && size == 0 {
        return Err(Errno::EINVAL);
    }
    let ctx = state::ctx()?;
    let (mut h, mut v) = (PathBuf::new(), PathBuf::new());
    Sys.host_cwd(&mut h)?;
    unmap(&ctx, h.as_bytes(), class::GETCWD, &mut v)?;
    // A cwd outside the chroot: glibc's getcwd says ENOENT (the kernel's
    // "(unreachable)" answer).
    if !ctx.view(v.as_bytes(), &mut h)? {
        return Err(Errno::ENOENT);
    }
    give(h.as_bytes(), buf, size)
}

/// realpath: the pipeline's resolved virtual path, if the file exists.
pub fn realpath(
    p: *const libc::c_char,
    out: *mut libc::c_char,
) -> Result<*mut libc::c_char, Errno> {
    let ctx = state::ctx()?;
    let (mut v, mut h) = (PathBuf::new(), PathBuf::new());
    resolve(
        &ctx,
        None,
        p,
        Op {
            class: class::REALPATH,
            follow: true,
            write: false,
            need: None,
            empty_is_fd: false,
        },
        false,
        &mut v,
        &mut h,
    )?;
    sys::fstatat(libc::AT_FDCWD, h.as_ptr(), 0)?;
    // Inside a chroot, as the process names it; a file outside it (reached
    // from a cwd left outside) has no name there: glibc's answer is ENOENT.
    let mut seen = PathBuf::new();
    if !ctx.view(v.as_bytes(), &mut seen)? {
        return Err(Errno::ENOENT);
    }
    give(
        seen.as_bytes(),
        out,
        if out.is_null() {
            0
        } else {
            libc::PATH_MAX as usize
        },
    )
}

/// mkstemp family: the template is mapped, the real function fills in the
/// host copy, and on success (`ok`) the generated characters are copied
/// back into the caller's (virtual) template. On failure the caller's
/// template is left as it was.
pub fn mktemp<R>(
    t: *mut libc::c_char,
    suffix_len: i32,
    op: Op,
    f: impl FnOnce(*mut libc::c_char) -> R,
    ok: impl FnOnce(&R, &[u8]) -> bool,
) -> Result<R, Errno> {
    let ctx = state::ctx()?;
    let (mut v, mut h) = (PathBuf::new(), PathBuf::new());
    // Traced below, with the name the call made, not the XXXXXX template.
    path::resolve_untraced(&ctx, None, t, op, false, &mut v, &mut h)?;
    let tail = 6 + suffix_len.max(0) as usize;
    // SAFETY: t was just read as a NUL-terminated string.
    let tlen = unsafe { libc::strlen(t) };
    if tlen < tail || h.len() < tail {
        return Err(Errno::EINVAL);
    }
    let hp = h.as_ptr() as *mut libc::c_char;
    let r = f(hp);
    let hb = h.as_bytes();
    if ok(&r, hb) {
        // The virtual name ends in the same template: give it the made name.
        let made = &hb[hb.len() - tail..];
        let vb = v.as_bytes();
        if vb.len() >= tail {
            let mut named = PathBuf::new();
            if named.set(&vb[..vb.len() - tail]).is_ok() && named.push(made).is_ok() {
                path::trace(op, &named, &h);
            }
        }
        // SAFETY: both buffers hold at least `tail` bytes before their NUL.
        unsafe {
            core::ptr::copy_nonoverlapping(
                hb.as_ptr().add(hb.len() - tail),
                t.add(tlen - tail) as *mut u8,
                tail,
            );
        }
    }
    Ok(r)
}

/// mktemp never returns NULL: failure is an empty template.
pub fn mktemp_name(
    t: *mut libc::c_char,
    op: Op,
    f: impl FnOnce(*mut libc::c_char) -> *mut libc::c_char,
) -> Result<*mut libc::c_char, Errno> {
    let mut good = false;
    let r = mktemp(t, 0, op, f, |_, host| {
        good = host.first().is_some_and(|c| *c != 0);
        good
    });
    if !good && !t.is_null() {
        // SAFETY: t is the caller's template (NULL was refused by
        // read_path, which then gave EFAULT).
        unsafe { *t = 0 };
    }
    if let Err(e) = r {
        answer_errno(e.0);
    }
    Ok(t)
}

/// tmpnam/tempnam: names are checked for uniqueness in the mapped view.
pub fn tmpnam(mut f: impl FnMut() -> *mut libc::c_char) -> Result<*mut libc::c_char, Errno> {
    let ctx = state::ctx()?;
    for _ in 0..100 {
        let r = f();
        if r.is_null() {
            return Ok(r);
        }
        let (mut v, mut h) = (PathBuf::new(), PathBuf::new());
        if resolve(&ctx, None, r, path::LSTAT, false, &mut v, &mut h).is_ok()
            && !Sys.exists(h.with_nul())
        {
            return Ok(r);
        }
    }
    Err(Errno(libc::EEXIST))
}

/// dlopen: a name without '/' is looked up by the loader's own search.
pub fn dlopen(
    p: *const libc::c_char,
    f: impl FnOnce(*const libc::c_char) -> *mut libc::c_void,
) -> Result<*mut libc::c_void, Errno> {
    // SAFETY: strchr on a caller string only when non-null.
    if p.is_null() || unsafe { libc::strchr(p, b'/' as i32) }.is_null() {
        return Ok(f(p));
    }
    map(p, path::DLOPEN, f)
}

/// tempnam(dir, pfx): the directory is mapped (glibc checks it exists), and
/// the name it returns is given back in the virtual view.
pub fn tempnam(
    d: *const libc::c_char,
    mut f: impl FnMut(*const libc::c_char) -> *mut libc::c_char,
) -> Result<*mut libc::c_char, Errno> {
    if d.is_null() {
        return tmpnam(|| f(d));
    }
    let ctx = state::ctx()?;
    let (mut v, mut h) = (PathBuf::new(), PathBuf::new());
    resolve(&ctx, None, d, path::STAT, false, &mut v, &mut h)?;
    let r = f(h.as_ptr());
    if r.is_null() {
        return Ok(r);
    }
    // SAFETY: r is the NUL-terminated string tempnam just allocated.
    let got = unsafe { core::ffi::CStr::from_ptr(r) }.to_bytes();
    let Some(rest) = got.strip_prefix(h.as_bytes()) else {
        return Ok(r);
    };
    let mut out = PathBuf::new();
    out.set(v.as_bytes())?;
    out.push(rest)?;
    let new = give(out.as_bytes(), core::ptr::null_mut(), 0)?;
    // SAFETY: freeing the string tempnam allocated; the caller gets ours.
    unsafe { libc::free(r as *mut libc::c_void) };
    Ok(new)
}
