//! The id family under virtual permissions (`sb2 -R`, `-U`): get*id,
//! set*id with POSIX's rules against the virtual ids (virtual euid 0 is
//! privileged), the group list and capset. Off, each is the real call.
//! The ids themselves are process state (`process::vperm`): the exec
//! pipeline passes them on to children.

use crate::ffi::cstr::{give, take};
use crate::process::vperm::{self as ids, id, on, EUID, GID0, MAX_GROUPS, RUID};
use libc::{c_int, c_void, gid_t};
use sb2_ruletree::Errno;

/// get*id: the virtual id `i`, or the real call when off.
#[inline]
pub fn get(i: usize, real: impl FnOnce() -> u32) -> Result<u32, Errno> {
    Ok(if on() { id(i) } else { real() })
}
pub const R: usize = RUID;
pub const E: usize = EUID;
pub const G: usize = GID0;
pub const EG: usize = GID0 + 1;

/// getresuid/getresgid (`base` 0 or 4).
pub fn getres(
    base: usize,
    r: *mut u32,
    e: *mut u32,
    s: *mut u32,
    real: impl FnOnce() -> c_int,
) -> Result<c_int, Errno> {
    if !on() {
        return Ok(real());
    }
    for (p, i) in [(r, base), (e, base + 1), (s, base + 2)] {
        give(p as *mut c_void, &id(i).to_ne_bytes())?;
    }
    Ok(0)
}

pub fn getgroups(
    size: c_int,
    list: *mut gid_t,
    real: impl FnOnce() -> c_int,
) -> Result<c_int, Errno> {
    if !on() {
        return Ok(real());
    }
    let mut groups = [0u32; MAX_GROUPS];
    let n = ids::groups(&mut groups);
    if size == 0 {
        return Ok(n as c_int);
    }
    if (size as usize) < n || size < 0 {
        return Err(Errno::EINVAL);
    }
    let mut buf = [0u8; 4 * MAX_GROUPS];
    for (i, g) in groups.iter().take(n).enumerate() {
        buf[4 * i..4 * i + 4].copy_from_slice(&g.to_ne_bytes());
    }
    give(list as *mut c_void, &buf[..4 * n])?;
    Ok(n as c_int)
}

pub fn setgroups(
    n: usize,
    list: *const gid_t,
    real: impl FnOnce() -> c_int,
) -> Result<c_int, Errno> {
    if !on() {
        return Ok(real_set(real));
    }
    if id(EUID) != 0 {
        return Err(Errno(libc::EPERM));
    }
    if n > MAX_GROUPS {
        return Err(Errno::EINVAL);
    }
    let mut buf = [0u8; 4 * MAX_GROUPS];
    take(&mut buf[..4 * n], list as *const c_void)?;
    let mut groups = [0u32; MAX_GROUPS];
    for (i, g) in groups.iter_mut().take(n).enumerate() {
        *g = u32::from_ne_bytes([buf[4 * i], buf[4 * i + 1], buf[4 * i + 2], buf[4 * i + 3]]);
    }
    ids::set_groups(&groups[..n]);
    Ok(0)
}

/// initgroups: the user's groups, as root may set them. `list` fills
/// the list (the name-service family's: from the group file the session
/// maps, else glibc's NSS) and says how long it is.
pub fn initgroups(
    list: impl FnOnce(&mut [gid_t]) -> usize,
    real: impl FnOnce() -> c_int,
) -> Result<c_int, Errno> {
    if !on() {
        return Ok(real_set(real));
    }
    if id(EUID) != 0 {
        return Err(Errno(libc::EPERM));
    }
    let mut l = [0 as gid_t; MAX_GROUPS];
    let n = list(&mut l).min(MAX_GROUPS);
    setgroups(n, l.as_ptr(), || 0)
}

/// The set*id family, `base` 0 (uid) or 4 (gid), with POSIX's rules
/// against the virtual ids (virtual euid 0 is privileged). `None` leaves
/// an id as it is.
pub fn setres(
    base: usize,
    r: Option<u32>,
    e: Option<u32>,
    s: Option<u32>,
    real: impl FnOnce() -> c_int,
) -> Result<c_int, Errno> {
    if !on() {
        return Ok(real_set(real));
    }
    let cur = [id(base), id(base + 1), id(base + 2)];
    if id(EUID) != 0 {
        for x in [r, e, s].into_iter().flatten() {
            if !cur.contains(&x) {
                return Err(Errno(libc::EPERM));
            }
        }
    }
    for (i, x) in [r, e, s].into_iter().enumerate() {
        if let Some(x) = x {
            ids::set_id(base + i, x);
        }
    }
    ids::set_id(base + 3, id(base + 1));
    Ok(0)
}

/// -1 ("leave as it is") as None.
pub fn opt(x: u32) -> Option<u32> {
    (x != u32::MAX).then_some(x)
}

/// setuid/setgid: privileged sets all three, else only the effective one
/// (to the real or saved id).
pub fn set1(base: usize, x: u32, real: impl FnOnce() -> c_int) -> Result<c_int, Errno> {
    if on() && id(EUID) == 0 {
        return setres(base, Some(x), Some(x), Some(x), real);
    }
    if on() && x != id(base) && x != id(base + 2) {
        return Err(Errno(libc::EPERM));
    }
    setres(base, None, Some(x), None, real)
}

/// seteuid/setegid.
pub fn sete(base: usize, x: u32, real: impl FnOnce() -> c_int) -> Result<c_int, Errno> {
    if x == u32::MAX {
        return Err(Errno::EINVAL);
    }
    setres(base, None, Some(x), None, real)
}

/// setreuid/setregid: the saved id follows a changed effective one.
pub fn setre(base: usize, r: u32, e: u32, real: impl FnOnce() -> c_int) -> Result<c_int, Errno> {
    if !on() {
        return Ok(real_set(real));
    }
    let (r, e) = (opt(r), opt(e));
    let s = if r.is_some() || e.is_some_and(|e| e != id(base)) {
        Some(e.unwrap_or(id(base + 1)))
    } else {
        None
    };
    setres(base, r, e, s, real)
}

pub fn setres3(
    base: usize,
    r: u32,
    e: u32,
    s: u32,
    real: impl FnOnce() -> c_int,
) -> Result<c_int, Errno> {
    setres(base, opt(r), opt(e), opt(s), real)
}

/// setfsuid/setfsgid: return the previous value, never fail.
pub fn setfs(base: usize, x: u32, real: impl FnOnce() -> c_int) -> Result<c_int, Errno> {
    if !on() {
        // It returns the previous fs id, not 0: any id set may be a change.
        let r = real();
        if x != u32::MAX {
            crate::process::hot::credentials_changed();
        }
        return Ok(r);
    }
    let old = id(base + 3);
    let allowed = id(EUID) == 0 || [id(base), id(base + 1), id(base + 2), old].contains(&x);
    if allowed && x != u32::MAX {
        ids::set_id(base + 3, x);
    }
    Ok(old as c_int)
}

/// capset: the virtual root may set what it likes (setcap's own check).
pub fn capset(real: impl FnOnce() -> c_int) -> Result<c_int, Errno> {
    if on() && id(EUID) == 0 {
        return Ok(0);
    }
    Ok(real_set(real))
}

/// unshare and setns (`flags`: the namespace types; setns with type 0
/// counts as a user namespace): always the real calls. Entering a user
/// namespace changes the process's capabilities over every file, which
/// `real_set` below accounts for.
pub fn namespaces(flags: c_int, real: impl FnOnce() -> c_int) -> Result<c_int, Errno> {
    Ok(if flags & libc::CLONE_NEWUSER != 0 {
        real_set(real)
    } else {
        real()
    })
}

/// A real credentials change: on success, the exec probes this process
/// remembered (each holds the kernel's permission to execute a file, for
/// the ids it had) no longer count.
fn real_set(real: impl FnOnce() -> c_int) -> c_int {
    let r = real();
    if r == 0 {
        crate::process::hot::credentials_changed();
    }
    r
}
