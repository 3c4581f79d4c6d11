//! The network family. Socket gates: AF_UNIX socket paths are mapped like
//! any path (class SOCKADDR; abstract sockets pass); internet addresses of
//! connect, bind, listen, accept, sendto, sendmsg, sendmmsg, recvfrom and
//! recvmsg are judged by the session's `-n` rules (allowed, denied with an
//! errno, or rewritten). Name lookups are judged at the resolver's entry
//! points ([`names`]), because glibc's resolver makes its own sockets
//! below any hook. Every verdict is logged; denials are violations.

mod names;
mod unix;

pub use names::{names, NameApi, EAI_NONAME, EAI_SYSTEM};
pub use unix::{unix_addr, unix_name};

use crate::ffi::cstr::{give, take, take_struct};
use crate::ffi::hook::{errno_kept, restore_errno};
use crate::ffi::sys;
use crate::path::Op;
use crate::process::{log, state};
use sb2_ruletree::Errno;

use sb2_ruletree::net::{self as rules, func, Chain, Verdict};

/// An internet socket address, decoded, with the caller's bytes kept so a
/// rewrite can change them.
pub struct Inet {
    v6: bool,
    /// IPv4 in the first 4 bytes.
    addr: [u8; 16],
    port: u16,
    raw: libc::sockaddr_in6,
    len: libc::socklen_t,
}

impl Inet {
    /// The caller's address, if it is AF_INET or AF_INET6 (read through
    /// the kernel: a bad pointer is EFAULT).
    fn read(a: *const libc::sockaddr, len: libc::socklen_t) -> Result<Option<Inet>, Errno> {
        if a.is_null() || (len as usize) < 2 {
            return Ok(None);
        }
        // SAFETY: an all-zero sockaddr_in6 is valid; we fill a prefix.
        let mut raw: libc::sockaddr_in6 = unsafe { core::mem::zeroed() };
        let cap = core::mem::size_of::<libc::sockaddr_in6>();
        let n = (len as usize).min(cap);
        // SAFETY: a byte view of our own struct.
        let bytes = unsafe { core::slice::from_raw_parts_mut(&mut raw as *mut _ as *mut u8, cap) };
        take(
            bytes.get_mut(..n).unwrap_or(&mut []),
            a as *const libc::c_void,
        )?;
        Ok(Inet::decode(raw, len))
    }

    /// The kernel's own rules for what is an internet address: an IPv6
    /// address may come without its scope id (the 24-byte RFC 2133 form).
    fn decode(raw: libc::sockaddr_in6, len: libc::socklen_t) -> Option<Inet> {
        const SIN6_LEN_RFC2133: usize = 24;
        let mut addr = [0u8; 16];
        // Never more than we copied: the kernel reads this much of ours.
        let len = len.min(core::mem::size_of::<libc::sockaddr_in6>() as libc::socklen_t);
        match raw.sin6_family as i32 {
            libc::AF_INET if len as usize >= core::mem::size_of::<libc::sockaddr_in>() => {
                // SAFETY: the first bytes of sockaddr_in6 hold a sockaddr_in.
                let sin = unsafe { &*(&raw as *const _ as *const libc::sockaddr_in) };
                addr[..4].copy_from_slice(&sin.sin_addr.s_addr.to_ne_bytes());
                Some(Inet {
                    v6: false,
                    addr,
                    port: u16::from_be(sin.sin_port),
                    raw,
                    len,
                })
            }
            libc::AF_INET6 if len as usize >= SIN6_LEN_RFC2133 => {
                addr.copy_from_slice(&raw.sin6_addr.s6_addr);
                Some(Inet {
                    v6: true,
                    addr,
                    port: u16::from_be(raw.sin6_port),
                    raw,
                    len,
                })
            }
            _ => None,
        }
    }

    fn rewrite(&mut self, addr: Option<[u8; 16]>, port: Option<u16>) {
        if self.v6 {
            if let Some(a) = addr {
                self.raw.sin6_addr.s6_addr = a;
            }
            if let Some(p) = port {
                self.raw.sin6_port = p.to_be();
            }
        } else {
            // SAFETY: as in decode.
            let sin = unsafe { &mut *(&mut self.raw as *mut _ as *mut libc::sockaddr_in) };
            if let Some(a) = addr {
                sin.sin_addr.s_addr = u32::from_ne_bytes([a[0], a[1], a[2], a[3]]);
            }
            if let Some(p) = port {
                sin.sin_port = p.to_be();
            }
        }
        if let Some(a) = addr {
            self.addr = a;
        }
        if let Some(p) = port {
            self.port = p;
        }
    }

    fn ptr(&self) -> *const libc::sockaddr {
        &self.raw as *const _ as *const libc::sockaddr
    }
}

/// The address as text, for logs.
struct AddrText {
    buf: [u8; 64],
    len: usize,
}

fn text(v6: bool, a: &[u8; 16]) -> AddrText {
    let mut t = AddrText {
        buf: [0; 64],
        len: 0,
    };
    let af = if v6 { libc::AF_INET6 } else { libc::AF_INET };
    // SAFETY: inet_ntop writes at most 64 bytes (NUL included) into buf.
    let p = unsafe {
        inet_ntop(
            af,
            a.as_ptr() as *const libc::c_void,
            t.buf.as_mut_ptr() as *mut libc::c_char,
            t.buf.len() as libc::socklen_t,
        )
    };
    if !p.is_null() {
        t.len = t.buf.iter().position(|c| *c == 0).unwrap_or(0);
    }
    t
}

/// Must network calls be looked at? Not when there are no rules, or
/// they allow everything and no log or trace wants to hear of it.
#[inline]
fn watching() -> bool {
    // An unusable session: looked at, so that `judge` fails with EIO
    // rather than the call going out unjudged.
    state::ctx().map_or(true, |ctx| {
        rules::Net::of(ctx.tree).is_some_and(|n| !n.allows_all() || log::wants_allowed_net())
    })
}

/// What the session's `-n` rules say about `inet` for `f`; the address is
/// rewritten in place when the rule says so. Logs and records the verdict.
fn judge(f: u32, out: bool, inet: &mut Inet) -> Result<(), Errno> {
    let ctx = state::ctx()?;
    let Some(net) = rules::Net::of(ctx.tree) else {
        return Ok(());
    };
    let chain = match (inet.v6, out) {
        (false, true) => Chain::Ipv4Out,
        (false, false) => Chain::Ipv4In,
        (true, true) => Chain::Ipv6Out,
        (true, false) => Chain::Ipv6In,
    };
    let call = rules::Call {
        func: f,
        chain,
        addr: inet.addr,
        port: inet.port,
        binary: ctx.binary_name,
    };
    let (verdict, why) = rules::decide(&net, &call);
    if matches!(
        verdict,
        Verdict::Allow {
            addr: None,
            port: None
        }
    ) && !log::wants_allowed_net()
    {
        return Ok(());
    }
    let before = text(inet.v6, &inet.addr);
    let mut ev = log::NetEvent {
        v6: inet.v6,
        addr: before.buf.get(..before.len).unwrap_or(&[]),
        port: inet.port,
        denied: None,
        rewritten: None,
        why,
    };
    match verdict {
        Verdict::Deny(e) => {
            ev.denied = Some(e);
            log::net(&ev);
            Err(Errno(e))
        }
        Verdict::Allow { addr, port } => {
            let moved =
                addr.is_some_and(|a| a != inet.addr) || port.is_some_and(|p| p != inet.port);
            inet.rewrite(addr, port);
            let after = text(inet.v6, &inet.addr);
            if moved {
                ev.rewritten = Some((after.buf.get(..after.len).unwrap_or(&[]), inet.port));
            }
            log::net(&ev);
            Ok(())
        }
    }
}

/// connect, bind, sendto: AF_UNIX paths are mapped, internet addresses
/// judged (and maybe rewritten); other families pass.
pub fn gate<R>(
    op: Op,
    f: u32,
    out: bool,
    a: *const libc::sockaddr,
    len: libc::socklen_t,
    real: impl FnOnce(*const libc::sockaddr, libc::socklen_t) -> R,
) -> Result<R, Errno> {
    if !watching() {
        return unix_addr(op, a, len, real);
    }
    match Inet::read(a, len)?.or_else(|| unspec_bind(f, a, len)) {
        Some(mut inet) => {
            judge(f, out, &mut inet)?;
            Ok(real(inet.ptr(), inet.len))
        }
        None => unix_addr(op, a, len, real),
    }
}

/// bind(AF_UNSPEC, 0.0.0.0) on an AF_INET socket binds the wildcard
/// address (a kernel compatibility rule): judged as AF_INET.
fn unspec_bind(f: u32, a: *const libc::sockaddr, len: libc::socklen_t) -> Option<Inet> {
    if f != func::BIND || (len as usize) < core::mem::size_of::<libc::sockaddr_in>() {
        return None;
    }
    // SAFETY: sockaddr_in is plain data.
    let mut sin = unsafe { take_struct(a as *const libc::sockaddr_in) }.ok()?;
    if sin.sin_family as i32 != libc::AF_UNSPEC || sin.sin_addr.s_addr != 0 {
        return None;
    }
    sin.sin_family = libc::AF_INET as libc::sa_family_t;
    // SAFETY: sockaddr_in6 is plain data, for which zero is valid.
    let mut raw: libc::sockaddr_in6 = unsafe { core::mem::zeroed() };
    // SAFETY: a sockaddr_in fits in the prefix of our sockaddr_in6.
    unsafe {
        core::ptr::copy_nonoverlapping(&sin, &mut raw as *mut _ as *mut libc::sockaddr_in, 1)
    };
    Inet::decode(
        raw,
        core::mem::size_of::<libc::sockaddr_in>() as libc::socklen_t,
    )
}

/// sendmsg: the destination in `msg_name`, if any.
pub fn sendmsg(
    m: *const libc::msghdr,
    real: impl FnOnce(*const libc::msghdr) -> isize,
) -> Result<isize, Errno> {
    if m.is_null() || !watching() {
        return Ok(real(m));
    }
    // SAFETY: msghdr is plain data.
    let mut h = unsafe { take_struct(m) }?;
    let Some(mut inet) = Inet::read(h.msg_name as *const libc::sockaddr, h.msg_namelen)? else {
        return Ok(real(m));
    };
    judge(func::SENDMSG, true, &mut inet)?;
    h.msg_name = inet.ptr() as *mut libc::c_void;
    Ok(real(&h))
}

/// sendmmsg: message by message, each judged (and maybe rewritten) and
/// sent alone; a denied message ends the call: with the count sent before
/// it, or its errno if it was the first (the kernel's own convention for
/// a failing message).
pub fn sendmmsg(
    v: *mut libc::mmsghdr,
    n: libc::c_uint,
    real: impl Fn(*mut libc::mmsghdr, libc::c_uint) -> libc::c_int,
) -> Result<libc::c_int, Errno> {
    if v.is_null() || n == 0 || !watching() {
        return Ok(real(v, n));
    }
    let mut sent = 0;
    // The kernel's UIO_MAXIOV.
    for i in 0..n.min(1024) as usize {
        // SAFETY: pointer arithmetic only; the contents are read through
        // the kernel by take().
        let one = unsafe { v.add(i) };
        // SAFETY: mmsghdr is plain data.
        let mut h = unsafe { take_struct(one) }?;
        let a = h.msg_hdr.msg_name as *const libc::sockaddr;
        match Inet::read(a, h.msg_hdr.msg_namelen)? {
            None => {
                let r = real(one, 1);
                if r != 1 {
                    return Ok(partial(sent, r));
                }
            }
            Some(mut inet) => {
                if let Err(e) = judge(func::SENDMMSG, true, &mut inet) {
                    return if sent > 0 {
                        restore_errno();
                        Ok(sent)
                    } else {
                        Err(e)
                    };
                }
                h.msg_hdr.msg_name = inet.ptr() as *mut libc::c_void;
                let r = real(&mut h, 1);
                if r != 1 {
                    return Ok(partial(sent, r));
                }
                // The count the kernel wrote into our copy goes back.
                give(
                    // SAFETY: address of the caller's msg_len field.
                    unsafe { core::ptr::addr_of_mut!((*one).msg_len) } as *mut libc::c_void,
                    &h.msg_len.to_ne_bytes(),
                )?;
            }
        }
        sent += 1;
    }
    Ok(sent)
}

/// A sendmmsg that stopped at a failing message: the count before it
/// (errno as the caller had it), or the failure itself.
fn partial(sent: libc::c_int, r: libc::c_int) -> libc::c_int {
    if sent > 0 {
        restore_errno();
        sent
    } else {
        r
    }
}

/// The local (or peer) address of socket `fd`, if an internet one.
fn local(fd: libc::c_int, peer: bool) -> Option<Inet> {
    let (raw, len) = sys::sock_name::<libc::sockaddr_in6>(fd, peer)?;
    Inet::decode(raw, len)
}

/// listen: the address the socket is bound to.
pub fn listen(fd: libc::c_int, real: impl FnOnce() -> libc::c_int) -> Result<libc::c_int, Errno> {
    if !watching() {
        return Ok(real());
    }
    if let Some(mut inet) = local(fd, false) {
        judge(func::LISTEN, false, &mut inet)?;
    }
    Ok(real())
}

/// accept/accept4: a connection from a denied peer is closed and the next
/// one awaited (a non-blocking socket then says EAGAIN, as with none).
pub fn accept(real: impl Fn() -> libc::c_int) -> Result<libc::c_int, Errno> {
    if !watching() {
        return Ok(real());
    }
    loop {
        let fd = real();
        if fd < 0 {
            return Ok(fd);
        }
        let allowed = errno_kept(|| {
            local(fd, true).is_none_or(|mut inet| judge(func::ACCEPT, false, &mut inet).is_ok())
        });
        if allowed {
            return Ok(fd);
        }
        // The connection we just accepted: not the program's.
        sys::close(fd);
    }
}

/// recvfrom on a datagram socket: a datagram from a denied source is
/// dropped and the next awaited (a non-blocking socket then says EAGAIN,
/// as with none). Only a caller that asks for the source can be judged.
pub fn recvfrom(
    fd: libc::c_int,
    peek: bool,
    a: *mut libc::sockaddr,
    l: *mut libc::socklen_t,
    real: impl Fn() -> isize,
) -> Result<isize, Errno> {
    if a.is_null() || l.is_null() || !watching() {
        return Ok(real());
    }
    let mut cap = [0u8; 4];
    take(&mut cap, l as *const libc::c_void)?;
    drop_denied(
        fd,
        func::RECVFROM,
        peek,
        || {
            // Each try starts with the caller's buffer size again.
            give(l as *mut libc::c_void, &cap)?;
            Ok(real())
        },
        || {
            // SAFETY: the kernel wrote *l for this successful call.
            let n = unsafe { *l }.min(u32::from_ne_bytes(cap));
            Inet::read(a, n).ok().flatten()
        },
    )
}

/// recvmsg, like [`recvfrom`]: the source is `msg_name`.
pub fn recvmsg(
    fd: libc::c_int,
    peek: bool,
    m: *mut libc::msghdr,
    real: impl Fn() -> isize,
) -> Result<isize, Errno> {
    if m.is_null() || !watching() {
        return Ok(real());
    }
    // SAFETY: msghdr is plain data.
    let h = unsafe { take_struct(m as *const libc::msghdr) }?;
    if h.msg_name.is_null() {
        return Ok(real());
    }
    let (name_cap, ctrl_cap) = (h.msg_namelen, h.msg_controllen);
    drop_denied(
        fd,
        func::RECVMSG,
        peek,
        || {
            // SAFETY: addresses of the caller's fields (no read), written
            // through the kernel.
            let (nl, cl) = unsafe {
                (
                    core::ptr::addr_of_mut!((*m).msg_namelen),
                    core::ptr::addr_of_mut!((*m).msg_controllen),
                )
            };
            give(nl as *mut libc::c_void, &name_cap.to_ne_bytes())?;
            give(cl as *mut libc::c_void, &ctrl_cap.to_ne_bytes())?;
            Ok(real())
        },
        || {
            // SAFETY: the kernel accepted this msghdr for a successful call.
            let h = unsafe { &*m };
            Inet::read(
                h.msg_name as *const libc::sockaddr,
                h.msg_namelen.min(name_cap),
            )
            .ok()
            .flatten()
        },
    )
}

/// The receive loop: `call` receives, `source` says from whom; a denied
/// source's datagram is dropped (consumed, when `peek` left it queued).
fn drop_denied(
    fd: libc::c_int,
    f: u32,
    peek: bool,
    call: impl Fn() -> Result<isize, Errno>,
    source: impl Fn() -> Option<Inet>,
) -> Result<isize, Errno> {
    loop {
        let r = call()?;
        if r < 0 {
            return Ok(r);
        }
        let allowed =
            errno_kept(|| source().is_none_or(|mut inet| judge(f, false, &mut inet).is_ok()));
        if allowed {
            return Ok(r);
        }
        if peek {
            errno_kept(|| sys::drop_datagram(fd));
        }
    }
}

extern "C" {
    fn inet_ntop(
        af: libc::c_int,
        src: *const libc::c_void,
        dst: *mut libc::c_char,
        size: libc::socklen_t,
    ) -> *const libc::c_char;
}
