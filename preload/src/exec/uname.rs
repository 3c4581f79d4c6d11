//! `uname` reports the target's machine name (`sb2-init -M`, default the
//! target architecture), as Scratchbox2 does.

use crate::process::state;
use libc::c_char;
use sb2_ruletree::contract::key;
use sb2_ruletree::Errno;

/// uname: the real answer with `machine` replaced by the target's.
pub fn uname(
    buf: *mut libc::utsname,
    real: impl FnOnce(*mut libc::utsname) -> i32,
) -> Result<i32, Errno> {
    let r = real(buf);
    if r != 0 || buf.is_null() {
        return Ok(r);
    }
    // An unusable session: EIO, not the host's machine name.
    let ctx = state::ctx()?;
    let Some(m) = ctx
        .tree
        .constant(key::UNAME_MACHINE.as_bytes())
        .filter(|m| !m.is_empty())
    else {
        return Ok(r);
    };
    // SAFETY: the real uname filled in the caller's buffer.
    let field = unsafe { &mut (*buf).machine };
    let n = m.len().min(field.len() - 1);
    for (d, s) in field.iter_mut().zip(m.iter().take(n)) {
        *d = *s as c_char;
    }
    if let Some(z) = field.get_mut(n) {
        *z = 0;
    }
    Ok(r)
}
