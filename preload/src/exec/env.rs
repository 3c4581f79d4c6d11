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
    // SAFETY: argv and environment entries and our statics are
    // NUL-terminated and outlive the exec.
    unsafe { sb2_ruletree::sys::c_bytes(p) }
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

/// The first arguments after argv[0] (as many as fit): what the exec
/// planner looks at (a loader's program, a compiler launcher's compiler).
#[link_section = ".text.hot.sb2"]
pub fn first_args(argv: Env, out: &mut [&[u8]; 8]) -> usize {
    let mut n = 0;
    for (slot, a) in out.iter_mut().zip(args(argv)) {
        *slot = a;
        n += 1;
    }
    n
}

/// Entries of a NULL-terminated array (a NULL array is empty).
pub fn entries<'a>(a: Env) -> impl Iterator<Item = &'a [u8]> + Clone {
    ptrs(a).map(bytes)
}

/// argv[1..]. Not `entries(a).skip(1)`: `Skip`'s out-of-line `nth` lands
/// far from the exec path's code, a page fault more in a forked child.
pub fn args<'a>(a: Env) -> impl Iterator<Item = &'a [u8]> + Clone {
    let mut it = entries(a);
    it.next();
    it
}

fn key(e: &[u8]) -> &[u8] {
    e.split(|c| *c == b'=').next().unwrap_or(e)
}

/// The pointers of a NULL-terminated array (a NULL array is empty).
fn ptrs(a: Env) -> impl Iterator<Item = *const c_char> + Clone {
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
}

/// Does the C string at `p` start with `prefix`? It is read no further
/// than its NUL or the prefix's length: most entries of an environment
/// are told apart by their first byte, without a `strlen` (an exec looks
/// at every entry of a build's environment, two or three times).
fn starts(p: *const c_char, prefix: &[u8]) -> bool {
    prefix.iter().enumerate().all(|(i, c)| {
        // SAFETY: bytes before the string's NUL; a mismatch (the NUL
        // included, as no prefix holds one) stops the walk.
        (unsafe { *p.add(i) }) as u8 == *c
    })
}

/// Is the entry at `p` `NAME=...`?
fn named(p: *const c_char, name: &[u8]) -> bool {
    // SAFETY: `starts` read up to name.len() bytes without meeting the NUL,
    // so byte name.len() is still in the string (its NUL at the latest).
    starts(p, name) && unsafe { *p.add(name.len()) } as u8 == b'='
}

/// Calls `f` with `envp` (NULL = `environ`), or with a copy that has the
/// session's variables back if it lost them and `extra` (`NAME=value`
/// entries) put in.
#[link_section = ".text.hot.sb2"]
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
    const IDS_KEY: &[u8] = contract::IDS_VAR.as_bytes();
    for p in ptrs(envp) {
        n += 1;
        if starts(p, contract::CHROOT_VAR.as_bytes()) {
            chroot_entries |= is_chroot_entry(bytes(p));
        } else if !has_mode && !mode_key.is_empty() && starts(p, mode_key) {
            has_mode = true;
        } else if named(p, IDS_KEY) {
            vperm_now = bytes(p).get(IDS_KEY.len() + 1..);
        } else if starts(p, sess_key) {
            has_session = true;
        } else if starts(p, b"LD_PRELOAD=") {
            let v = bytes(p).get(b"LD_PRELOAD=".len()..).unwrap_or(b"");
            preload = Some(v);
            has_lib = v.split(|c| *c == b':' || *c == b' ').any(|x| x == lib);
        }
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
    // The block holds pointers to the caller's own strings and only our
    // few new entries: 2 KiB is room for about 200 variables. A bigger
    // one is mapped. Each page of it in place is one more fault in a fork
    // child (the stack probe touches it whether used or not).
    let mut space = Space::<2048>::new();
    let block = Block::new(
        &mut space,
        slots * core::mem::size_of::<*const c_char>() + text,
    )?;
    let mut w = Writer::new(&block, slots);
    // The names `extra` replaces, found once (not per entry).
    let mut names: [&[u8]; sb2_ruletree::exec::MAX_ITEMS] = [&[]; sb2_ruletree::exec::MAX_ITEMS];
    let n_names = extra.len().min(names.len());
    for (slot, x) in names.iter_mut().zip(extra.iter()) {
        *slot = key(x);
    }
    let names = names.get(..n_names).unwrap_or(&[]);
    for p in ptrs(envp) {
        if names.iter().any(|k| named(p, k)) {
            continue;
        }
        if !has_lib && starts(p, b"LD_PRELOAD=") {
            continue;
        }
        if vperm.is_some() && named(p, IDS_KEY) {
            continue;
        }
        if starts(p, ROOT_KEY) && is_chroot_entry(bytes(p)) {
            continue;
        }
        w.ptr(p);
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
    for x in extra
        .iter()
        .filter(|x| sb2_ruletree::sys::has_byte(x, b'='))
    {
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
