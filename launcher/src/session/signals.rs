//! The signals that end a session reach its command, not sb2: sb2 waits
//! for the command, forwards SIGINT, SIGTERM, SIGHUP and SIGQUIT to it,
//! and then tells how it ended, so that the session directory is removed
//! however the command ends.

use anyhow::Result;
use std::os::unix::process::ExitStatusExt;
use std::process::Child;
use std::sync::atomic::{AtomicI32, Ordering};

/// The command's pid while it runs, 0 otherwise; read by the handler.
static CHILD: AtomicI32 = AtomicI32::new(0);

extern "C" fn relay(sig: libc::c_int) {
    let pid = CHILD.load(Ordering::SeqCst);
    if pid > 0 {
        // SAFETY: kill is async-signal-safe.
        unsafe { libc::kill(pid, sig) };
    }
}

/// From now on the signals a user sends to end a session go to the
/// command (once [`wait`] knows its pid).
pub fn relay_to_command() {
    // SAFETY: installing a handler that only calls kill(2).
    unsafe {
        for sig in [libc::SIGINT, libc::SIGTERM, libc::SIGHUP, libc::SIGQUIT] {
            libc::signal(sig, relay as *const () as libc::sighandler_t);
        }
    }
}

/// Waits for the command and returns its exit status: its own, or 128+N
/// for signal N, which is named on stderr (a broken pipe only when not
/// quiet: `sb2 -q cmd | head` is normal use).
pub fn wait(mut child: Child, quiet: bool) -> Result<i32> {
    CHILD.store(child.id() as i32, Ordering::SeqCst);
    let status = loop {
        match child.wait() {
            Ok(s) => break s,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e.into()),
        }
    };
    CHILD.store(0, Ordering::SeqCst);
    if let Some(code) = status.code() {
        return Ok(code);
    }
    let sig = status.signal().unwrap_or(0);
    if !quiet || sig != libc::SIGPIPE {
        eprintln!(
            "sb2: command terminated by signal {sig} ({}){}",
            signal_name(sig),
            if status.core_dumped() {
                ", core dumped"
            } else {
                ""
            }
        );
    }
    Ok(128 + sig)
}

/// Name of a signal, for the exit message.
pub fn signal_name(sig: i32) -> String {
    // SAFETY: strsignal returns a static or thread-local string.
    let p = unsafe { libc::strsignal(sig) };
    if p.is_null() {
        return format!("signal {sig}");
    }
    // SAFETY: NUL-terminated.
    unsafe { std::ffi::CStr::from_ptr(p) }
        .to_string_lossy()
        .into_owned()
}
