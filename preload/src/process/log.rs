//! The session log (`sb2 -L LEVEL`, `-d`): JSON lines appended to the file
//! the launcher chose, one `write(2)` per event from a stack buffer, so
//! lines of concurrent processes never interleave. With logging off (the
//! default) each event site costs one atomic load.
//!
//! Events: `map` (debug: every mapping, with the deciding rule), `deny`
//! (warning: a write refused as read-only or outside `--allow-write`),
//! `net`/`name` (level net when denied, info when allowed: a network call
//! or a name lookup the `-n` rules decided), `exec` (info: how each exec
//! was run; warning, once per session and program, for a static program).
//!
//! Besides the log, every denial is appended to the session's
//! `violations` file (the launcher summarizes it and `--strict` fails on
//! it), and with `--trace FILE` every path read, written, created, removed
//! or executed, every denial and every network decision goes to FILE.
//!
//! All three files are [`SessionFile`]s: opened by each process on first
//! use at a high descriptor number, and checked before every write, since
//! a program may close every descriptor and reuse the number for a file of
//! its own. errno in a line is always its name (`contract::errno_name`).

use crate::ffi::sys;
use core::sync::atomic::{AtomicPtr, AtomicU64, AtomicU8, AtomicUsize, Ordering};
use sb2_ruletree::contract::{self, LogLevel};
use sb2_ruletree::format::RuleRef;
use sb2_ruletree::Errno;

/// The session's level (0: no log).
static LEVEL: AtomicU8 = AtomicU8::new(0);
/// The session log (`-L`, `-d`).
static LOG: SessionFile = SessionFile::new();
/// The trace file (`--trace`).
static TRACE: SessionFile = SessionFile::new();
/// The session's violations file.
static VIOLATIONS: SessionFile = SessionFile::new();

/// Where our descriptors go: out of the way of programs that expect the
/// lowest free numbers.
const HIGH_FD: i32 = 900;

/// A file the preload appends whole lines to (its path lives in the
/// ruletree mapping), opened once per process at a high fd number; each
/// write first checks (fstat) that the fd is still that file, because a
/// program may close every fd and reuse the number: then the file is
/// opened again, and the program's file is never written.
pub struct SessionFile {
    path: AtomicPtr<u8>,
    len: AtomicUsize,
    /// The fd we write to and the identity of the file it was opened on,
    /// in one word (see [`pack`]) so that no thread ever sees one without
    /// the other; 0: none yet.
    state: AtomicU64,
}

/// Bits of [`SessionFile::state`] that hold the fd, plus one (so that 0
/// means none); the rest hold the file's identity.
const FD_BITS: u32 = 20;

fn pack(fd: i32, id: u64) -> u64 {
    (id << FD_BITS) | (fd as u64 + 1)
}

impl SessionFile {
    const fn new() -> SessionFile {
        SessionFile {
            path: AtomicPtr::new(core::ptr::null_mut()),
            len: AtomicUsize::new(0),
            state: AtomicU64::new(0),
        }
    }
    fn set(&self, path: &'static [u8]) {
        if !path.is_empty() {
            self.len.store(path.len(), Ordering::Release);
            self.path.store(path.as_ptr() as *mut u8, Ordering::Release);
        }
    }
    fn on(&self) -> bool {
        !self.path.load(Ordering::Relaxed).is_null()
    }
    fn write(&self, buf: &[u8]) {
        let st = self.state.load(Ordering::Acquire);
        if st != 0 {
            let fd = ((st & ((1 << FD_BITS) - 1)) - 1) as i32;
            if id_of(fd).map(|id| pack(fd, id)) == Some(st) {
                // One write keeps the line whole (O_APPEND).
                sys::write_all(fd, buf);
                return;
            }
        }
        let p = self.path.load(Ordering::Acquire);
        if p.is_null() {
            return;
        }
        let mut path = sb2_ruletree::mapping::PathBuf::new();
        // SAFETY: set() stored a slice of the read-only ruletree mapping.
        let name = unsafe { core::slice::from_raw_parts(p, self.len.load(Ordering::Acquire)) };
        if path.set(name).is_err() {
            return;
        }
        let flags = libc::O_WRONLY | libc::O_APPEND | libc::O_CREAT | libc::O_CLOEXEC;
        let Ok(f) = sys::open(path.as_ptr(), flags, 0o644) else {
            return;
        };
        let f = sys::dup_above(f.raw(), HIGH_FD).unwrap_or(f);
        sys::write_all(f.raw(), buf);
        // Install ours unless another thread just did (then ours is
        // closed as `f` goes). The fd we saw is never closed here: it is
        // stale, the program's number now.
        if (f.raw() as u64) < (1 << FD_BITS) - 1 {
            if let Some(id) = id_of(f.raw()) {
                let new = pack(f.raw(), id);
                if self
                    .state
                    .compare_exchange(st, new, Ordering::AcqRel, Ordering::Acquire)
                    .is_ok()
                {
                    f.into_raw();
                }
            }
        }
    }
}

/// The identity of the file open as `fd` (inode and device folded into
/// the bits [`pack`] keeps).
fn id_of(fd: i32) -> Option<u64> {
    sys::fstat(fd)
        .ok()
        .map(|st| (st.st_ino ^ st.st_dev.rotate_left(32)) & (u64::MAX >> FD_BITS))
}

/// Called at init with the tree's `trace_file` and `violations_file`.
pub fn init_files(trace: &'static [u8], session_violations: &'static [u8]) {
    TRACE.set(trace);
    VIOLATIONS.set(session_violations);
}

/// Is `--trace` on?
#[inline]
pub fn tracing() -> bool {
    TRACE.on()
}

/// Called at init with the tree's `log_level` and `log_file` constants
/// (which live as long as the mapping).
pub fn init(level: &[u8], file: &'static [u8]) {
    if file.is_empty() {
        return;
    }
    LOG.set(file);
    LEVEL.store(
        LogLevel::from_name(level).map_or(0, |l| l as u8),
        Ordering::Release,
    );
}

#[inline]
pub fn enabled(level: LogLevel) -> bool {
    let l = LEVEL.load(Ordering::Relaxed);
    l != 0 && level as u8 <= l
}

/// A message for the user on stderr (not the log: the session is broken,
/// or a limit was hit).
pub fn say(parts: &[&[u8]]) {
    for p in parts {
        sys::write_all(2, p);
    }
}

/// A JSON line under construction in a stack buffer.
struct Line {
    buf: [u8; 8192],
    len: usize,
}

impl Line {
    fn raw(&mut self, s: &[u8]) {
        let end = (self.len + s.len()).min(self.buf.len() - 2);
        let n = end - self.len;
        if let (Some(dst), Some(src)) = (self.buf.get_mut(self.len..end), s.get(..n)) {
            dst.copy_from_slice(src);
        }
        self.len = end;
    }
    fn num(&mut self, v: u64) {
        self.raw(sys::dec(v, &mut [0; 20]));
    }
    /// A JSON string; bytes that are not printable ASCII become \u00XX.
    fn string(&mut self, s: &[u8]) {
        self.raw(b"\"");
        self.escaped(s);
        self.raw(b"\"");
    }
    /// The inside of a JSON string.
    fn escaped(&mut self, s: &[u8]) {
        for &c in s {
            match c {
                b'"' => self.raw(b"\\\""),
                b'\\' => self.raw(b"\\\\"),
                0x20..=0x7e => self.raw(&[c]),
                _ => {
                    const HEX: &[u8; 16] = b"0123456789abcdef";
                    let h = [
                        b'\\',
                        b'u',
                        b'0',
                        b'0',
                        HEX[(c >> 4) as usize],
                        HEX[(c & 15) as usize],
                    ];
                    self.raw(&h);
                }
            }
        }
    }
    fn field(&mut self, k: &[u8], v: &[u8]) {
        self.raw(b",\"");
        self.raw(k);
        self.raw(b"\":");
        self.string(v);
    }
    fn close(&mut self) -> &[u8] {
        if let Some(b) = self.buf.get_mut(self.len) {
            *b = b'}';
        }
        if let Some(b) = self.buf.get_mut(self.len + 1) {
            *b = b'\n';
        }
        self.buf.get(..self.len + 2).unwrap_or(&[])
    }
    fn finish(&mut self) {
        self.send(true, false, false);
    }
    /// Writes the line to the log, the violations file and the trace, as
    /// asked.
    fn send(&mut self, log: bool, violation: bool, trace: bool) {
        let line = self.close();
        if log {
            LOG.write(line);
        }
        if violation {
            VIOLATIONS.write(line);
        }
        if trace {
            TRACE.write(line);
        }
    }
}

fn start(event: &[u8]) -> Line {
    let mut l = Line {
        buf: [0; 8192],
        len: 0,
    };
    l.raw(b"{\"ev\":");
    l.string(event);
    l.raw(b",\"pid\":");
    // SAFETY: getpid has no preconditions.
    l.num(unsafe { libc::getpid() } as u64);
    l.field(b"prog", super::state::binary_name());
    l.field(b"fn", crate::ffi::hook::current_fn().as_bytes());
    l
}

/// `"errno":"NAME"`.
fn errno_field(l: &mut Line, e: i32) {
    l.field(b"errno", contract::errno_name(e).as_bytes());
}

fn rule_field(l: &mut Line, r: Option<RuleRef>) {
    if let Some(r) = r {
        origin_field(l, r.file(), r.line());
    }
}

/// `"rule":"FILE:LINE"`: where the deciding rule was written.
fn origin_field(l: &mut Line, file: &[u8], line: u32) {
    l.raw(b",\"rule\":\"");
    l.escaped(file);
    l.raw(b":");
    l.num(line as u64);
    l.raw(b"\"");
}

/// A path was mapped (debug).
pub fn mapped(vpath: &[u8], hpath: &[u8], rule: Option<RuleRef>) {
    let mut l = start(b"map");
    l.field(b"vpath", vpath);
    l.field(b"hpath", hpath);
    rule_field(&mut l, rule);
    l.finish();
}

/// A write was refused: read-only, or outside `--allow-write` (warning;
/// always a violation).
pub fn denied(vpath: &[u8], hpath: &[u8], errno: sb2_ruletree::Errno, rule: Option<RuleRef>) {
    let mut l = start(b"deny");
    l.field(b"vpath", vpath);
    l.field(b"hpath", hpath);
    errno_field(&mut l, errno.0);
    rule_field(&mut l, rule);
    l.send(enabled(LogLevel::Warning), true, tracing());
}

/// A path the program uses, for the trace: `read`, `write`, `create`,
/// `remove` or `exec`.
pub fn trace_path(ev: &[u8], vpath: &[u8], hpath: &[u8]) {
    if !tracing() || vpath.is_empty() {
        return;
    }
    let mut l = start(ev);
    l.field(b"path", vpath);
    let mut real = sb2_ruletree::mapping::PathBuf::new();
    if super::cache::cwd_hidden() && super::cache::from_cwd(hpath, &mut real) {
        // The kernel's way into a hidden cwd names another directory in
        // every other process: the trace keeps the real path.
        l.field(b"hpath", real.as_bytes());
    } else {
        l.field(b"hpath", hpath);
    }
    l.send(false, false, true);
}

/// A network call the `-n` rules decided.
pub struct NetEvent<'a> {
    pub v6: bool,
    pub addr: &'a [u8],
    pub port: u16,
    /// None: allowed; Some(errno): denied.
    pub denied: Option<i32>,
    pub rewritten: Option<(&'a [u8], u16)>,
    pub why: sb2_ruletree::net::Why<'a>,
}

/// Would an allowed network call be written anywhere (log at info, or
/// the trace)?
#[inline]
pub fn wants_allowed_net() -> bool {
    enabled(LogLevel::Info) || tracing()
}

pub fn net(e: &NetEvent) {
    let log = enabled(if e.denied.is_some() {
        LogLevel::Net
    } else {
        LogLevel::Info
    });
    if !log && e.denied.is_none() && !tracing() {
        return;
    }
    let mut l = start(b"net");
    l.field(b"family", if e.v6 { b"ipv6" } else { b"ipv4" });
    l.field(b"addr", e.addr);
    l.raw(b",\"port\":");
    l.num(e.port as u64);
    match (e.denied, e.rewritten) {
        (Some(err), _) => {
            l.field(b"verdict", b"deny");
            errno_field(&mut l, err);
        }
        (None, Some((a, p))) => {
            l.field(b"verdict", b"rewrite");
            l.field(b"new_addr", a);
            l.raw(b",\"new_port\":");
            l.num(p as u64);
        }
        (None, None) => l.field(b"verdict", b"allow"),
    }
    why_field(&mut l, e.why);
    l.send(log, e.denied.is_some(), tracing());
}

/// A name lookup the `-n` rules decided.
pub fn name(name: &[u8], allowed: bool, why: sb2_ruletree::net::Why) {
    let log = enabled(if allowed {
        LogLevel::Info
    } else {
        LogLevel::Net
    });
    if !log && allowed && !tracing() {
        return;
    }
    let mut l = start(b"name");
    l.field(b"name", name);
    l.field(b"verdict", if allowed { b"allow" } else { b"deny" });
    why_field(&mut l, why);
    l.send(log, !allowed, tracing());
}

fn why_field(l: &mut Line, why: sb2_ruletree::net::Why) {
    if !why.file.is_empty() {
        origin_field(l, why.file, why.line);
    }
}

/// An exec was planned (info), or a static program runs (warning, once per
/// session per program: a marker file in the session directory says it was
/// logged already).
pub fn exec_event(vpath: &[u8], plan: &sb2_ruletree::exec::Plan, err: Option<sb2_ruletree::Errno>) {
    if err.is_none() {
        trace_path(b"exec", plan.vpath.as_bytes(), plan.file.as_bytes());
    }
    let stat = err.is_none() && plan.kind == sb2_ruletree::exec::Kind::Static;
    if stat
        && !(enabled(LogLevel::Warning) && first_time(plan.file.as_bytes()))
        && !enabled(LogLevel::Info)
    {
        return;
    }
    // A chroot substitute is worth a notice: the program did not run.
    let sub = err.is_none() && plan.substituted;
    if !(stat || enabled(LogLevel::Info) || (sub && enabled(LogLevel::Notice))) {
        return;
    }
    let mut l = start(if stat { b"static" } else { b"exec" });
    l.field(b"path", vpath);
    if let Some(e) = err {
        errno_field(&mut l, e.0);
    } else {
        l.field(b"vpath", plan.vpath.as_bytes());
        l.field(b"file", plan.file.as_bytes());
        l.field(b"kind", plan.kind.name().as_bytes());
        if let Some(p) = plan.policy {
            l.field(b"policy", p.name());
        }
        if stat {
            l.field(
                b"msg",
                b"statically linked program: its own file system calls are not mapped",
            );
        } else if sub {
            l.field(
                b"msg",
                b"substituted inside a chroot (the mode's chroot_substitutes)",
            );
        }
    }
    l.finish();
}

/// Creates `SESSION/logged/<hash of key>`; true if it did not exist.
fn first_time(key: &[u8]) -> bool {
    marker(key).is_ok()
}

/// Is this the session's first word about `key`? True unless its marker
/// (`SESSION/logged/<hash of key>`) exists already: a process that cannot
/// make one says it too (more than once beats never).
pub fn once_per_session(key: &[u8]) -> bool {
    marker(key) != Err(Errno(libc::EEXIST))
}

/// Makes the marker of `key`.
fn marker(key: &[u8]) -> Result<(), Errno> {
    let Some(dir) = super::state::start_env(super::state::Var::Session) else {
        return Ok(());
    };
    let h = sb2_ruletree::mapping::dir_key(0, key);
    let mut p = sb2_ruletree::mapping::PathBuf::new();
    p.set(dir)?;
    p.push(b"/")?;
    p.push(contract::LOGGED_DIR.as_bytes())?;
    let _ = sys::mkdirat(libc::AT_FDCWD, p.as_ptr(), 0o777);
    p.push(b"/")?;
    p.push(&sys::hex(h))?;
    let flags = libc::O_CREAT | libc::O_EXCL | libc::O_WRONLY | libc::O_CLOEXEC;
    sys::open(p.as_ptr(), flags, 0o644).map(|_| ())
}
