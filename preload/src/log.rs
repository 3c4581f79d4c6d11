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

use core::sync::atomic::{AtomicI32, AtomicU8, Ordering};
use sb2_ruletree::format::RuleRef;

pub const WARNING: u8 = 2;
pub const NET: u8 = 4;
pub const INFO: u8 = 5;
pub const DEBUG: u8 = 6;

static LEVEL: AtomicU8 = AtomicU8::new(0);
static FD: AtomicI32 = AtomicI32::new(-1);
static PATH: core::sync::atomic::AtomicPtr<u8> =
    core::sync::atomic::AtomicPtr::new(core::ptr::null_mut());
static PATH_LEN: core::sync::atomic::AtomicUsize = core::sync::atomic::AtomicUsize::new(0);
/// The trace file (`--trace`): its path (in the ruletree) and our fd.
static TRACE: SideFile = SideFile::new();
/// The session's violations file.
static VIOLATIONS: SideFile = SideFile::new();

/// A file the preload appends whole lines to, opened once per process at
/// a high fd number; each write first checks (fstat) that the fd is still
/// that file, because a program may close every fd and reuse the number.
struct SideFile {
    path: core::sync::atomic::AtomicPtr<u8>,
    len: core::sync::atomic::AtomicUsize,
    fd: AtomicI32,
    ino: core::sync::atomic::AtomicU64,
}

impl SideFile {
    const fn new() -> SideFile {
        SideFile {
            path: core::sync::atomic::AtomicPtr::new(core::ptr::null_mut()),
            len: core::sync::atomic::AtomicUsize::new(0),
            fd: AtomicI32::new(-1),
            ino: core::sync::atomic::AtomicU64::new(0),
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
        let fd = self.fd.load(Ordering::Acquire);
        if fd >= 0 && ino_of(fd) == Some(self.ino.load(Ordering::Acquire)) {
            // SAFETY: our buffer; one write keeps the line whole (O_APPEND).
            unsafe { libc::syscall(libc::SYS_write, fd, buf.as_ptr(), buf.len()) };
            return;
        }
        let p = self.path.load(Ordering::Acquire);
        if p.is_null() {
            return;
        }
        let mut path = sb2_ruletree::mapping::PathBuf::new();
        // SAFETY: set() stored a slice of the read-only ruletree mapping.
        if path
            .set(unsafe { core::slice::from_raw_parts(p, self.len.load(Ordering::Acquire)) })
            .is_err()
        {
            return;
        }
        let flags = libc::O_WRONLY | libc::O_APPEND | libc::O_CREAT | libc::O_CLOEXEC;
        // SAFETY: raw syscalls on our NUL-terminated path and our own fds.
        unsafe {
            let f = libc::syscall(
                libc::SYS_openat,
                libc::AT_FDCWD,
                path.as_ptr(),
                flags,
                0o644,
            ) as i32;
            if f < 0 {
                return;
            }
            // Out of the way of programs that expect the lowest free fds.
            let hi = libc::syscall(libc::SYS_fcntl, f, libc::F_DUPFD_CLOEXEC, 900) as i32;
            let f = if hi >= 0 {
                libc::syscall(libc::SYS_close, f);
                hi
            } else {
                f
            };
            libc::syscall(libc::SYS_write, f, buf.as_ptr(), buf.len());
            // Install ours unless another thread just did; the fd we saw
            // is never closed here (stale: the program's number now).
            match ino_of(f) {
                Some(ino)
                    if self
                        .fd
                        .compare_exchange(fd, f, Ordering::AcqRel, Ordering::Acquire)
                        .is_ok() =>
                {
                    self.ino.store(ino, Ordering::Release)
                }
                _ => {
                    libc::syscall(libc::SYS_close, f);
                }
            }
        }
    }
}

fn ino_of(fd: i32) -> Option<u64> {
    // SAFETY: a raw fstat into our buffer.
    unsafe {
        let mut st: libc::stat = core::mem::zeroed();
        (libc::syscall(libc::SYS_fstat, fd, &mut st) == 0)
            .then_some(st.st_ino ^ st.st_dev.rotate_left(32))
    }
}

/// Called at init with the tree's `trace_file` and `session_dir`.
pub fn init_files(trace: &'static [u8], session_violations: &'static [u8]) {
    TRACE.set(trace);
    VIOLATIONS.set(session_violations);
}

/// Is `--trace` on?
#[inline]
pub fn tracing() -> bool {
    TRACE.on()
}

/// Level number of a level name.
pub fn level_of(name: &[u8]) -> u8 {
    match name {
        b"error" => 1,
        b"warning" => 2,
        b"notice" => 3,
        b"net" => 4,
        b"info" => 5,
        b"debug" => 6,
        b"noise" => 7,
        _ => 0,
    }
}

/// Called at init with the tree's `log_level` and `log_file` constants
/// (which live as long as the mapping).
pub fn init(level: &[u8], file: &'static [u8]) {
    if file.is_empty() {
        return;
    }
    PATH.store(file.as_ptr() as *mut u8, Ordering::Release);
    PATH_LEN.store(file.len(), Ordering::Release);
    LEVEL.store(level_of(level), Ordering::Release);
}

#[inline]
pub fn enabled(level: u8) -> bool {
    let l = LEVEL.load(Ordering::Relaxed);
    l != 0 && level <= l
}

fn fd() -> i32 {
    let fd = FD.load(Ordering::Acquire);
    if fd >= 0 {
        return fd;
    }
    let mut p = sb2_ruletree::mapping::PathBuf::new();
    // SAFETY: PATH points into the read-only ruletree mapping (init).
    let path = unsafe {
        core::slice::from_raw_parts(
            PATH.load(Ordering::Acquire),
            PATH_LEN.load(Ordering::Acquire),
        )
    };
    if p.set(path).is_err() {
        return -1;
    }
    let flags = libc::O_WRONLY | libc::O_APPEND | libc::O_CREAT | libc::O_CLOEXEC;
    // SAFETY: raw open of a NUL-terminated path.
    let fd =
        unsafe { libc::syscall(libc::SYS_openat, libc::AT_FDCWD, p.as_ptr(), flags, 0o644) } as i32;
    if fd < 0 {
        return -1;
    }
    match FD.compare_exchange(-1, fd, Ordering::AcqRel, Ordering::Acquire) {
        Ok(_) => fd,
        Err(other) => {
            // SAFETY: closing our own duplicate.
            unsafe { libc::close(fd) };
            other
        }
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
    fn num(&mut self, mut v: u64) {
        let mut d = [0u8; 20];
        let mut i = d.len();
        loop {
            i -= 1;
            if let Some(x) = d.get_mut(i) {
                *x = b'0' + (v % 10) as u8;
            }
            v /= 10;
            if v == 0 {
                break;
            }
        }
        self.raw(d.get(i..).unwrap_or(&[]));
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
        let fd = if log { fd() } else { -1 };
        let line = self.close();
        if fd >= 0 {
            // SAFETY: writing our own buffer; one write keeps the line whole.
            unsafe { libc::write(fd, line.as_ptr() as *const libc::c_void, line.len()) };
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
    l.field(b"prog", crate::state::binary_name());
    l.field(b"fn", crate::hook::current_fn().as_bytes());
    l
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
    l.field(b"path", vpath);
    let name: &[u8] = match errno.0 {
        libc::EACCES => b"EACCES",
        libc::EPERM => b"EPERM",
        _ => b"EROFS",
    };
    l.field(b"errno", name);
    rule_field(&mut l, rule);
    l.send(enabled(WARNING), true, tracing());
}

/// A path the program uses, for the trace: `read`, `write`, `create`,
/// `remove` or `exec`.
pub fn trace_path(ev: &[u8], vpath: &[u8], hpath: &[u8]) {
    if !tracing() || vpath.is_empty() {
        return;
    }
    let mut l = start(ev);
    l.field(b"path", vpath);
    l.field(b"hpath", hpath);
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
    enabled(INFO) || tracing()
}

pub fn net(e: &NetEvent) {
    let log = enabled(if e.denied.is_some() { NET } else { INFO });
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
            l.field(b"errno", sb2_ruletree::net::errno_name(err).as_bytes());
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
    let log = enabled(if allowed { INFO } else { NET });
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
    if stat && !(enabled(WARNING) && first_time(plan.file.as_bytes())) && !enabled(INFO) {
        return;
    }
    if !stat && !enabled(INFO) {
        return;
    }
    let mut l = start(if stat { b"static" } else { b"exec" });
    l.field(b"path", vpath);
    if let Some(e) = err {
        l.raw(b",\"errno\":");
        l.num(e.0 as u64);
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
        }
    }
    l.finish();
}

/// Creates `SESSION/logged/<hash of key>`; true if it did not exist.
fn first_time(key: &[u8]) -> bool {
    let Some(dir) = crate::state::env(crate::state::SESSION_VAR) else {
        return true;
    };
    let h = sb2_ruletree::mapping::dir_key(0, key);
    let mut p = sb2_ruletree::mapping::PathBuf::new();
    if p.set(dir).and_then(|_| p.push(b"/logged")).is_err() {
        return true;
    }
    // SAFETY: raw syscalls on our NUL-terminated paths.
    unsafe {
        libc::syscall(libc::SYS_mkdirat, libc::AT_FDCWD, p.as_ptr(), 0o777);
        let mut hex = [0u8; 17];
        hex[0] = b'/';
        for i in 0..16 {
            hex[1 + i] = b"0123456789abcdef"[((h >> (60 - 4 * i)) & 15) as usize];
        }
        if p.push(&hex).is_err() {
            return true;
        }
        let fd = libc::syscall(
            libc::SYS_openat,
            libc::AT_FDCWD,
            p.as_ptr(),
            libc::O_CREAT | libc::O_EXCL | libc::O_WRONLY | libc::O_CLOEXEC,
            0o644,
        );
        if fd < 0 {
            return false;
        }
        libc::syscall(libc::SYS_close, fd);
    }
    true
}
