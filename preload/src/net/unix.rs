//! AF_UNIX socket paths: mapped like any path on the way in (bind,
//! connect, sendto), and named as the caller knows them on the way out
//! (getsockname, getpeername).

use crate::ffi::sys;
use crate::path::{resolve, Op};
use crate::process::state;
use sb2_ruletree::mapping::PathBuf;
use sb2_ruletree::Errno;

/// An AF_UNIX address's path mapped (others pass as they are).
pub fn unix_addr<R>(
    op: Op,
    a: *const libc::sockaddr,
    len: libc::socklen_t,
    f: impl FnOnce(*const libc::sockaddr, libc::socklen_t) -> R,
) -> Result<R, Errno> {
    let base = core::mem::offset_of!(libc::sockaddr_un, sun_path);
    // SAFETY: the family field is read only when the address has one.
    if a.is_null() || (len as usize) <= base || unsafe { (*a).sa_family } as i32 != libc::AF_UNIX {
        return Ok(f(a, len));
    }
    let un = a as *const libc::sockaddr_un;
    // SAFETY: len > base, so sun_path[0] is inside the caller's address.
    if unsafe { (*un).sun_path[0] } == 0 {
        return Ok(f(a, len)); // abstract socket: not a path
    }
    let mut name = [0 as libc::c_char; 109];
    let n = (len as usize - base).min(108);
    // SAFETY: copies n <= 108 bytes of the caller's sun_path.
    unsafe { core::ptr::copy_nonoverlapping((*un).sun_path.as_ptr(), name.as_mut_ptr(), n) };
    let ctx = state::ctx()?;
    let (mut v, mut h) = (PathBuf::new(), PathBuf::new());
    resolve(&ctx, None, name.as_ptr(), op, false, &mut v, &mut h)?;
    if name[0] != b'/' as libc::c_char && relative_is_same(&h, &name) {
        // The relative name already names the mapped file from the real
        // cwd: keep it relative (the absolute form could exceed sun_path's
        // 108 bytes).
        return Ok(f(a, len));
    }
    // SAFETY: a zeroed sockaddr_un is a valid value.
    let mut out: libc::sockaddr_un = unsafe { core::mem::zeroed() };
    let hb = h.as_bytes();
    if hb.len() >= out.sun_path.len() {
        return Err(Errno::ENAMETOOLONG);
    }
    out.sun_family = libc::AF_UNIX as libc::sa_family_t;
    for (d, s) in out.sun_path.iter_mut().zip(hb) {
        *d = *s as libc::c_char;
    }
    Ok(f(
        &out as *const _ as *const libc::sockaddr,
        (base + hb.len() + 1) as libc::socklen_t,
    ))
}

/// Is `host` the real cwd joined with the relative `name`?
fn relative_is_same(host: &PathBuf, name: &[libc::c_char]) -> bool {
    use sb2_ruletree::mapping::Host;
    let mut cwd = PathBuf::new();
    if sb2_ruletree::sys::Sys.host_cwd(&mut cwd).is_err() {
        return false;
    }
    let n = name.iter().position(|c| *c == 0).unwrap_or(name.len());
    let name: &[u8] = unsafe_bytes(name.get(..n).unwrap_or(&[]));
    let h = host.as_bytes();
    h.len() == cwd.len() + 1 + name.len()
        && h.starts_with(cwd.as_bytes())
        && h.get(cwd.len()) == Some(&b'/')
        && h.ends_with(name)
}

fn unsafe_bytes(s: &[libc::c_char]) -> &[u8] {
    // SAFETY: c_char and u8 have the same size and alignment.
    unsafe { core::slice::from_raw_parts(s.as_ptr() as *const u8, s.len()) }
}

// ------------------------------------------------------------ -n rules

/// getsockname, getpeername: an AF_UNIX path the kernel reports is the
/// host path the mapping made; the caller gets the path it named (inside
/// a chroot, relative to its root). Truncated and sized as the kernel
/// does: `*len` says the full size, at most the buffer is written.
pub fn unix_name(
    fd: libc::c_int,
    peer: bool,
    a: *mut libc::sockaddr,
    len: *mut libc::socklen_t,
    real: impl FnOnce() -> libc::c_int,
) -> Result<libc::c_int, Errno> {
    // SAFETY: the caller's buffer size, read before the call changes it.
    let room = if len.is_null() { 0 } else { unsafe { *len } } as usize;
    let r = real();
    let base = core::mem::offset_of!(libc::sockaddr_un, sun_path);
    if r != 0 || a.is_null() || room < base {
        return Ok(r);
    }
    // The whole address, which the caller's buffer may have truncated.
    let Some((full, fl)) = sys::sock_name::<libc::sockaddr_un>(fd, peer) else {
        return Ok(r);
    };
    if full.sun_family as i32 != libc::AF_UNIX || fl as usize <= base + 1 {
        return Ok(r); // not a path, or unnamed
    }
    // SAFETY: sun_path is plain bytes.
    let path = unsafe {
        core::slice::from_raw_parts(full.sun_path.as_ptr() as *const u8, full.sun_path.len())
    };
    let path = path.split(|c| *c == 0).next().unwrap_or(&[]);
    if path.first() != Some(&b'/') {
        return Ok(r);
    }
    let ctx = state::ctx()?;
    let (mut v, mut seen) = (PathBuf::new(), PathBuf::new());
    if crate::path::unmap(&ctx, path, sb2_ruletree::class::SOCKADDR, &mut v).is_err() {
        return Ok(r);
    }
    ctx.view(v.as_bytes(), &mut seen).ok();
    let name = seen.as_bytes();
    if name == path {
        return Ok(r);
    }
    let un = a as *mut libc::sockaddr_un;
    // SAFETY: at most room bytes of the caller's buffer are written.
    unsafe {
        let dst = (*un).sun_path.as_mut_ptr() as *mut u8;
        let n = name.len().min(room - base);
        core::ptr::copy_nonoverlapping(name.as_ptr(), dst, n);
        if base + n < room {
            *dst.add(n) = 0;
        }
        *len = (base + name.len() + 1) as libc::socklen_t;
    }
    Ok(r)
}
