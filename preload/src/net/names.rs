//! Name lookups under the `-n` rules: getaddrinfo, gethostbyname* and the
//! res_* queries are judged at their entry points (glibc's resolver makes
//! its own sockets below any hook); a denied name is "not found" in each
//! API's own way, without asking any resolver.

use crate::ffi::cstr::{give, read_path};
use crate::ffi::hook::answer_errno;
use crate::process::{log, state};
use sb2_ruletree::mapping::PathBuf;
use sb2_ruletree::net as rules;
use sb2_ruletree::Errno;

/// How each API says "not found" besides its return value.
pub enum NameApi {
    /// getaddrinfo: EAI_NONAME.
    Gai,
    /// gethostbyname(2): NULL with h_errno HOST_NOT_FOUND.
    Hostent,
    /// gethostbyname(2)_r: *result NULL, *h_errnop HOST_NOT_FOUND.
    HostentR(*mut *mut libc::c_void, *mut libc::c_int),
    /// res_*: -1 with h_errno HOST_NOT_FOUND.
    Res,
}

extern "C" {
    fn __h_errno_location() -> *mut libc::c_int;
    fn inet_pton(af: libc::c_int, src: *const libc::c_char, dst: *mut libc::c_void) -> libc::c_int;
    fn inet_aton(src: *const libc::c_char, dst: *mut libc::c_void) -> libc::c_int;
}
const HOST_NOT_FOUND: libc::c_int = 1;
const NETDB_INTERNAL: libc::c_int = -1;
/// getaddrinfo's "system error, see errno".
pub const EAI_SYSTEM: libc::c_int = -11;
/// getaddrinfo's "name not known".
pub const EAI_NONAME: libc::c_int = -2;

/// A name lookup: the real function if the rules allow `name` (or it is
/// numeric, or there are no name rules), else `denied` with the API's
/// other "not found" signals set, without asking any resolver. `failed`
/// is the API's "system error" value, for a name or out pointer the
/// kernel refuses (errno EFAULT).
pub fn names<R: Copy>(
    name: *const libc::c_char,
    api: NameApi,
    denied: R,
    failed: R,
    real: impl FnOnce() -> R,
) -> Result<R, Errno> {
    let fail = |e: Errno| {
        if matches!(api, NameApi::Hostent | NameApi::Res) {
            // SAFETY: this thread's h_errno.
            unsafe { *__h_errno_location() = NETDB_INTERNAL };
        }
        answer_errno(e.0);
        Ok(failed)
    };
    // An unusable session: a system error (EIO), not an unjudged lookup.
    let ctx = match state::ctx() {
        Ok(c) => c,
        Err(e) => return fail(e),
    };
    let Some(net) = rules::Net::of(ctx.tree) else {
        return Ok(real());
    };
    if name.is_null() {
        return Ok(real());
    }
    let mut n = PathBuf::new();
    if let Err(e) = read_path(name, &mut n) {
        return fail(e);
    }
    let verdict = if numeric(n.as_bytes()) {
        None
    } else {
        rules::decide_name(&net, n.as_bytes())
    };
    if let Some((allowed, why)) = verdict {
        log::name(n.as_bytes(), allowed, why);
        if !allowed {
            match api {
                NameApi::Gai => {}
                // SAFETY: this thread's h_errno.
                NameApi::Hostent | NameApi::Res => unsafe {
                    *__h_errno_location() = HOST_NOT_FOUND
                },
                NameApi::HostentR(result, herr) => {
                    // Not found: 0, *result NULL, *h_errnop set (glibc).
                    let r = if result.is_null() {
                        Ok(())
                    } else {
                        give(result as *mut libc::c_void, &0usize.to_ne_bytes())
                    };
                    let h = if herr.is_null() {
                        Ok(())
                    } else {
                        give(herr as *mut libc::c_void, &HOST_NOT_FOUND.to_ne_bytes())
                    };
                    if let Err(e) = r.and(h) {
                        return fail(e);
                    }
                }
            }
            return Ok(denied);
        }
    }
    Ok(real())
}

/// A numeric IPv4 (inet_aton's forms: "127.1" too) or IPv6 address
/// (with a "%scope"): parsing it asks nobody.
fn numeric(n: &[u8]) -> bool {
    let mut buf = [0u8; 16];
    let mut s = [0 as libc::c_char; 64];
    let n = n.split(|c| *c == b'%').next().unwrap_or(n);
    if n.is_empty() || n.len() >= s.len() {
        return false;
    }
    for (d, c) in s.iter_mut().zip(n) {
        *d = *c as libc::c_char;
    }
    // SAFETY: NUL-terminated input, 16-byte output.
    unsafe {
        inet_aton(s.as_ptr(), buf.as_mut_ptr() as *mut libc::c_void) != 0
            || inet_pton(
                libc::AF_INET6,
                s.as_ptr(),
                buf.as_mut_ptr() as *mut libc::c_void,
            ) == 1
    }
}
