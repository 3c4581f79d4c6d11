//! Socket gates. For now: AF_UNIX socket paths in bind/connect are mapped
//! like any path (class SOCKADDR); abstract sockets and other families pass
//! through. (Network rules come with `-n`.)

use crate::path::resolve;
use sb2_ruletree::mapping::PathBuf;
use sb2_ruletree::Errno;

pub fn unix_addr(
    op: crate::path::Op,
    a: *const libc::sockaddr,
    len: libc::socklen_t,
    f: impl FnOnce(*const libc::sockaddr, libc::socklen_t) -> i32,
) -> Result<i32, Errno> {
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
