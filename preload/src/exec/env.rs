//! The session's environment, carried into every exec: when a program
//! execs with an environment that lost `SB2_SESSION_DIR` or our
//! `LD_PRELOAD` entry (`env -i`, build tools that sanitize the
//! environment), they are put back, in front of the user's own
//! `LD_PRELOAD`, with the process's current virtual ids and the planner's
//! own entries.

use super::arena::{Block, Space, Writer};
use super::Env;
use crate::process::{chroot, state, vperm};
use libc::c_char;
use sb2_ruletree::contract::{self, key};
use sb2_ruletree::exec::Items;
use sb2_ruletree::Errno;

pub fn bytes<'a>(p: *const c_char) -> &'a [u8] {
    // SAFETY: environment entries and our statics are NUL-terminated.
    unsafe { core::ffi::CStr::from_ptr(p) }.to_bytes()
}

/// Our `LD_PRELOAD` entry (`.../$PLATFORM/libsb2.so`, the tree's
/// `preload_entry`; the ruletree mapping lives as long as the process).
fn our_lib() -> &'static [u8] {
    state::ctx()
        .ok()
        .and_then(|c| c.tree.constant(key::PRELOAD_ENTRY.as_bytes()))
        .unwrap_or(b"")
}

fn environ() -> Env {
    extern "C" {
        static environ: *const *const c_char;
    }
    // SAFETY: reading libc's environ pointer.
    unsafe { environ }
}

/// Entries of a NULL-terminated array (a NULL array is empty).
/// The first arguments after argv[0] (as many as fit): what the exec
/// planner looks at (a loader's program, a compiler launcher's compiler).
pub fn first_args(argv: Env, out: &mut [&[u8]; 8]) -> usize {
    let mut n = 0;
    for (slot, a) in out.iter_mut().zip(entries(argv).skip(1)) {
        *slot = a;
        n += 1;
    }
    n
}

pub fn entries<'a>(a: Env) -> impl Iterator<Item = &'a [u8]> + Clone {
    (0usize..)
        .map(move |i| {
            if a.is_null() {
                return core::ptr::null();
            }
            // SAFETY: a NULL-terminated array (exec contract); we stop at
            // the first NULL.
            unsafe { *a.add(i) }
        })
        .take_while(|p| !p.is_null())
        .map(bytes)
}

fn key(e: &[u8]) -> &[u8] {
    e.split(|c| *c == b'=').next().unwrap_or(e)
}

/// Calls `f` with `envp` (NULL = `environ`), or with a copy that has the
/// session's variables back if it lost them and `extra` (`NAME=value`
/// entries) put in.
pub fn with_session_env<R>(envp: Env, extra: &Items, f: impl FnOnce(Env) -> R) -> Result<R, Errno> {
    let envp: Env = if envp.is_null() { environ() } else { envp };
    let (session, mode) = state::session_entries();
    let lib = our_lib();
    if session.is_null() || lib.is_empty() {
        return Ok(f(envp));
    }
    let sess = bytes(session);
    let sess_key = &sess[..state::SESSION_VAR.len() + 1];
    let (mut n, mut has_session, mut preload, mut has_lib, mut text) = (0, false, None, false, 0);
    let mode_key: &[u8] = if mode.is_null() {
        b""
    } else {
        &bytes(mode)[..state::MODE_VAR.len() + 1]
    };
    let mut has_mode = mode.is_null();
    let mut vperm_now = None;
    // The process's root goes on, and only ours (a user's value is
    // dropped).
    let root = chroot::current();
    let mut chroot_entries = false;
    for e in entries(envp) {
        chroot_entries |= is_chroot_entry(e);
        if !has_mode && e.starts_with(mode_key) {
            has_mode = true;
        }
        if let Some(v) = vperm_value(e) {
            vperm_now = Some(v);
        }
        if e.starts_with(sess_key) {
            has_session = true;
        } else if let Some(v) = e.strip_prefix(b"LD_PRELOAD=") {
            preload = Some(v);
            has_lib = v.split(|c| *c == b':' || *c == b' ').any(|x| x == lib);
        }
        n += 1;
    }
    // The process's current virtual ids (they may have changed by set*id
    // since it started, and env -i drops them).
    let mut vbuf = [0u8; 512];
    let vperm = vperm::env_entry(vperm_now, &mut vbuf)
        .map(|n| &vbuf[..n])
        .filter(|e| vperm_value(e) != vperm_now);
    if has_session
        && has_lib
        && has_mode
        && extra.is_empty()
        && vperm.is_none()
        && root.is_none()
        && !chroot_entries
    {
        return Ok(f(envp));
    }
    const ROOT_KEY: &[u8] = contract::CHROOT_VAR.as_bytes();
    const LD_KEY: &[u8] = contract::CHROOT_LD_VAR.as_bytes();
    if let Some(r) = &root {
        text += ROOT_KEY.len() + r.root.len() + 2 + LD_KEY.len() + r.ld.len() + 2;
    }
    text += b"LD_PRELOAD=".len() + lib.len() + 1 + preload.map_or(0, <[u8]>::len) + 1;
    text += extra.iter().map(|e| e.len() + 1).sum::<usize>();
    text += vperm.map_or(0, |v| v.len() + 1);
    let slots = n + 7 + extra.len();
    // Most environments of a build fit (a desktop's is 2-5 KiB).
    let mut space = Space::<8192>::new();
    let block = Block::new(
        &mut space,
        slots * core::mem::size_of::<*const c_char>() + text,
    )?;
    let mut w = Writer::new(&block, slots);
    for e in entries(envp) {
        if extra.iter().any(|x| key(x) == key(e)) {
            continue;
        }
        if e.starts_with(b"LD_PRELOAD=") && !has_lib {
            continue;
        }
        if vperm.is_some() && vperm_value(e).is_some() {
            continue;
        }
        if is_chroot_entry(e) {
            continue;
        }
        w.ptr(e.as_ptr() as *const c_char);
    }
    if !has_lib {
        let old = preload.filter(|o| !o.is_empty());
        let sep: &[u8] = if old.is_some() { b":" } else { b"" };
        w.string(&[b"LD_PRELOAD=", lib, sep, old.unwrap_or(b"")]);
    }
    if !has_session {
        w.ptr(session);
    }
    if !has_mode && !mode.is_null() {
        w.ptr(mode);
    }
    for x in extra.iter().filter(|x| x.contains(&b'=')) {
        w.string(&[x]);
    }
    if let Some(v) = vperm {
        w.string(&[v]);
    }
    if let Some(r) = &root {
        w.string(&[ROOT_KEY, b"=", r.root]);
        w.string(&[LD_KEY, b"=", r.ld]);
    }
    Ok(f(w.finish()))
}

/// `__SB2_CHROOT=...` or `__SB2_CHROOT_LD=...`.
fn is_chroot_entry(e: &[u8]) -> bool {
    // Both names start with CHROOT_VAR: most entries fail here.
    if !e.starts_with(contract::CHROOT_VAR.as_bytes()) {
        return false;
    }
    let k = key(e);
    k == contract::CHROOT_VAR.as_bytes() || k == contract::CHROOT_LD_VAR.as_bytes()
}

/// The value of an `SB2_VPERM=` environment entry.
fn vperm_value(e: &[u8]) -> Option<&[u8]> {
    e.strip_prefix(contract::IDS_VAR.as_bytes())?
        .strip_prefix(b"=")
}
