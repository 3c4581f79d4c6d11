//! Socket gates. For now: AF_UNIX socket paths in bind/connect/sendto are mapped
//! like any path (class SOCKADDR); abstract sockets and other families pass
//! through. (Network rules come with `-n`.)

use crate::path::resolve;
use sb2_ruletree::mapping::PathBuf;
use sb2_ruletree::Errno;

pub fn unix_addr<R>(
    op: crate::path::Op,
    a: *const libc::sockaddr,
    len: libc::socklen_t,
    f: impl FnOnce(*const libc::sockaddr, libc::socklen_t) -> R,
) -> Result<R, Errno> {
    let saved = crate::hook::errno();
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
    let ctx = crate::state::ctx()?;
    let (mut v, mut h) = (PathBuf::new(), PathBuf::new());
    resolve(&ctx, None, name.as_ptr(), op, false, &mut v, &mut h)?;
    if name[0] != b'/' as libc::c_char && relative_is_same(&h, &name) {
        // The relative name already names the mapped file from the real
        // cwd: keep it relative (the absolute form could exceed sun_path's
        // 108 bytes).
        crate::hook::set_errno(saved);
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
    crate::hook::set_errno(saved);
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
