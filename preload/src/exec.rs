//! The exec hooks (DESIGN §7). Every exec-family call and posix_spawn runs
//! the shared exec pipeline (`sb2_ruletree::exec`): PATH search in the
//! virtual view, toolchain argv rewrites, the program path mapped with the
//! EXEC class, `#!` interpreters mapped, host ELF started directly or by
//! its policy root's ld.so, target ELF by the CPU transparency command.
//! The child's environment keeps the session: when a program execs with an
//! environment that lost `SB2_SESSION_DIR` or our `LD_PRELOAD` entry
//! (`env -i`, build tools that sanitize the environment), they are put
//! back, in front of the user's own `LD_PRELOAD`.
//!
//! The CPU transparency command (qemu) is itself started preloaded: in it
//! the library only makes sure the process is in a user namespace with its
//! own binfmt_misc instance that sends target ELF to qemu (so target
//! programs can exec target programs), then detaches ([`in_cpu_transparency`]).
//!
//! `uname` reports the target's machine name (`sb2-init -M`, default the
//! target architecture), as Scratchbox2 does.
//!
//! These run in vfork children (shells and make use vfork; posix_spawn
//! does): argv and the environment are built in memory from mmap, never
//! malloc, and no lock is taken.

use crate::cstr::read_path;
use crate::path::Cached;
use core::sync::atomic::{AtomicPtr, Ordering};
use libc::c_char;
use sb2_ruletree::exec::{self as xexec, ExecReq, Items, Kind, Plan};
use sb2_ruletree::mapping::{Host, PathBuf};
use sb2_ruletree::Errno;

type Env = *const *const c_char;

/// "SB2_SESSION_DIR=..." and "SB2_SESSION_MODE=..." as this process got
/// them.
static SESSION_ENTRY: AtomicPtr<c_char> = AtomicPtr::new(core::ptr::null_mut());
static MODE_ENTRY: AtomicPtr<c_char> = AtomicPtr::new(core::ptr::null_mut());
/// Names the file the exec pipeline started (see `replan_if_unplanned`).
const EXECED: &[u8] = xexec::EXECED_VAR;
/// Our `LD_PRELOAD` entry (`.../$PLATFORM/libsb2.so`, the tree's
/// `preload_entry`; the ruletree mapping lives as long as the process).
static LIB: AtomicPtr<u8> = AtomicPtr::new(core::ptr::null_mut());
static LIB_LEN: core::sync::atomic::AtomicUsize = core::sync::atomic::AtomicUsize::new(0);

/// Called once the session is attached.
pub fn init(tree: &sb2_ruletree::format::Tree<'static>) {
    let Some(lib) = tree.constant(b"preload_entry").filter(|l| !l.is_empty()) else {
        return;
    };
    LIB.store(lib.as_ptr() as *mut u8, Ordering::Release);
    LIB_LEN.store(lib.len(), Ordering::Release);
    if let Some(v) = crate::state::env(crate::state::MODE_VAR) {
        let entry = v.as_ptr().wrapping_sub(crate::state::MODE_VAR.len() + 1);
        MODE_ENTRY.store(entry as *mut c_char, Ordering::Release);
    }
    if let Some(v) = crate::state::env(crate::state::SESSION_VAR) {
        let entry = v.as_ptr().wrapping_sub(crate::state::SESSION_VAR.len() + 1);
        SESSION_ENTRY.store(entry as *mut c_char, Ordering::Release);
    }
}

fn bytes<'a>(p: *const c_char) -> &'a [u8] {
    // SAFETY: environment entries and our statics are NUL-terminated.
    unsafe { core::ffi::CStr::from_ptr(p) }.to_bytes()
}

fn our_lib() -> &'static [u8] {
    let p = LIB.load(Ordering::Acquire);
    if p.is_null() {
        return b"";
    }
    // SAFETY: set by init to a string of the process-lifetime ruletree.
    unsafe { core::slice::from_raw_parts(p, LIB_LEN.load(Ordering::Acquire)) }
}

/// Memory from mmap, unmapped on drop (safe in a vfork child).
struct Block {
    p: *mut u8,
    len: usize,
}

impl Block {
    fn new(len: usize) -> Result<Block, Errno> {
        // SAFETY: an anonymous private mapping; raw syscall (mmap is not
        // hooked, but this keeps allocation visible as what it is).
        let p = unsafe {
            libc::mmap(
                core::ptr::null_mut(),
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                -1,
                0,
            )
        };
        if p == libc::MAP_FAILED {
            return Err(Errno(libc::ENOMEM));
        }
        Ok(Block {
            p: p as *mut u8,
            len,
        })
    }
}

impl Drop for Block {
    fn drop(&mut self) {
        // SAFETY: our own mapping (raw syscall: munmap is one of our hooks).
        unsafe { libc::syscall(libc::SYS_munmap, self.p, self.len) };
    }
}

/// Writes pointers and the strings they point to into a [`Block`].
struct Writer<'b> {
    b: &'b Block,
    ptrs: usize,
    n: usize,
    text: usize,
}

impl<'b> Writer<'b> {
    /// `n_ptrs` slots (including the terminating NULL) then text.
    fn new(b: &'b Block, n_ptrs: usize) -> Writer<'b> {
        Writer {
            b,
            ptrs: n_ptrs,
            n: 0,
            text: n_ptrs * core::mem::size_of::<*const c_char>(),
        }
    }
    fn ptr(&mut self, p: *const c_char) {
        if self.n < self.ptrs {
            // SAFETY: slot n is inside the pointer area of the block.
            unsafe { *(self.b.p as *mut *const c_char).add(self.n) = p };
            self.n += 1;
        }
    }
    /// Copies the concatenation of `parts` (NUL-terminated) and points the
    /// next slot at it.
    fn string(&mut self, parts: &[&[u8]]) {
        let len: usize = parts.iter().map(|p| p.len()).sum();
        if self.text + len + 1 > self.b.len {
            return;
        }
        // SAFETY: text..text+len+1 is inside the block (checked).
        unsafe {
            let start = self.b.p.add(self.text);
            let mut d = start;
            for p in parts {
                core::ptr::copy_nonoverlapping(p.as_ptr(), d, p.len());
                d = d.add(p.len());
            }
            *d = 0;
            self.ptr(start as *const c_char);
        }
        self.text += len + 1;
    }
    fn finish(mut self) -> *const *const c_char {
        self.ptr(core::ptr::null());
        self.b.p as *const *const c_char
    }
}

fn environ() -> Env {
    extern "C" {
        static environ: *const *const c_char;
    }
    // SAFETY: reading libc's environ pointer.
    unsafe { environ }
}

/// Entries of a NULL-terminated array (a NULL array is empty).
fn entries<'a>(a: Env) -> impl Iterator<Item = &'a [u8]> + Clone {
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
    let session = SESSION_ENTRY.load(Ordering::Acquire);
    if session.is_null() {
        return Ok(f(envp));
    }
    let sess = bytes(session);
    let sess_key = &sess[..crate::state::SESSION_VAR.len() + 1];
    let lib = our_lib();
    let (mut n, mut has_session, mut preload, mut has_lib, mut text) = (0, false, None, false, 0);
    let mode = MODE_ENTRY.load(Ordering::Acquire);
    let mode_key: &[u8] = if mode.is_null() {
        b""
    } else {
        &bytes(mode)[..crate::state::MODE_VAR.len() + 1]
    };
    let mut has_mode = mode.is_null();
    let mut vperm_now = None;
    for e in entries(envp) {
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
    let vperm = crate::vperm::env_entry(vperm_now, &mut vbuf)
        .map(|n| &vbuf[..n])
        .filter(|e| vperm_value(e) != vperm_now);
    if has_session && has_lib && has_mode && extra.is_empty() && vperm.is_none() {
        return Ok(f(envp));
    }
    text += b"LD_PRELOAD=".len() + lib.len() + 1 + preload.map_or(0, <[u8]>::len) + 1;
    text += extra.iter().map(|e| e.len() + 1).sum::<usize>();
    text += vperm.map_or(0, |v| v.len() + 1);
    let slots = n + 5 + extra.len();
    let block = Block::new(slots * core::mem::size_of::<*const c_char>() + text)?;
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
    if !has_mode {
        let m = MODE_ENTRY.load(Ordering::Acquire);
        if !m.is_null() {
            w.ptr(m);
        }
    }
    for x in extra.iter().filter(|x| x.contains(&b'=')) {
        w.string(&[x]);
    }
    if let Some(v) = vperm {
        w.string(&[v]);
    }
    Ok(f(w.finish()))
}

/// The value of an `SB2_VPERM=` environment entry.
fn vperm_value(e: &[u8]) -> Option<&[u8]> {
    e.strip_prefix(sb2_ruletree::vperm::IDS_VAR)?
        .strip_prefix(b"=")
}

/// posix_spawn returns its error instead of setting errno.
pub fn spawn_result(r: Result<i32, Errno>) -> Result<i32, Errno> {
    Ok(r.unwrap_or_else(|e| e.0))
}

/// How the planned program is started: `execve` (or `execveat`/`fexecve`
/// callers, which end in the same) or `posix_spawn`.
pub type Run<'r> = &'r mut dyn FnMut(*const c_char, Env, Env) -> i32;

/// The exec pipeline for one call: plans, builds argv and environment,
/// and hands them to `run` with the host file to execute.
pub fn exec(
    dirfd: Option<i32>,
    path: *const c_char,
    argv: Env,
    envp: Env,
    search: bool,
    follow: bool,
    run: Run,
) -> Result<i32, Errno> {
    let mut found = PathBuf::new();
    exec_found(dirfd, path, argv, envp, search, follow, &mut found, run)
}

/// [`exec`], leaving in `found` the program's name as exec'd (after the
/// PATH search).
#[allow(clippy::too_many_arguments)]
fn exec_found(
    dirfd: Option<i32>,
    path: *const c_char,
    argv: Env,
    envp: Env,
    search: bool,
    follow: bool,
    found: &mut PathBuf,
    run: Run,
) -> Result<i32, Errno> {
    let ctx = crate::state::ctx()?;
    let mut vin = PathBuf::new();
    read_path(path, &mut vin)?;
    let argv0 = entries(argv).next().unwrap_or(b"");
    let pathvar = crate::state::env(b"PATH").unwrap_or(b"/bin:/usr/bin");
    let req = ExecReq {
        dirfd: dirfd.filter(|d| *d != libc::AT_FDCWD),
        path: vin.as_bytes(),
        argv0,
        search: search.then_some(pathvar),
        follow,
    };
    let mut plan = Plan::new();
    let r = xexec::plan(&ctx, &Cached, &req, &mut plan);
    found.set(plan.given.as_bytes())?;
    if crate::log::enabled(crate::log::INFO)
        || crate::log::tracing()
        || (r.is_ok() && plan.kind == Kind::Static)
    {
        crate::log::exec_event(vin.as_bytes(), &plan, r.err());
    }
    r?;
    let rest = entries(argv).skip(1);
    let n = plan.head.len()
        + rest.clone().count()
        + plan.argvmod.map_or(0, |m| m.add_tail().count())
        + 1;
    let text: usize = plan.head.iter().map(|s| s.len() + 1).sum::<usize>()
        + plan
            .argvmod
            .map_or(0, |m| m.add_tail().map(|s| s.len() + 1).sum());
    let block = Block::new(n * core::mem::size_of::<*const c_char>() + text)?;
    let mut w = Writer::new(&block, n);
    for h in plan.head.iter() {
        w.string(&[h]);
    }
    for a in rest {
        w.ptr(a.as_ptr() as *const c_char);
    }
    if let Some(m) = plan.argvmod {
        for t in m.add_tail() {
            w.string(&[t]);
        }
    }
    let new_argv = w.finish();
    let file = plan.file.as_ptr();
    with_session_env(envp, &plan.env, |e| run(file, new_argv, e))
}

type ExecFn =
    unsafe extern "C" fn(*const c_char, *const *const c_char, *const *const c_char) -> i32;

/// The real execve (the one the kernel path of every exec ends in).
pub fn real_execve(p: *const c_char, argv: Env, envp: Env) -> i32 {
    match crate::table::execve::SLOT.get() {
        // SAFETY: the slot holds libc's execve, of this C type.
        Some(f) => unsafe { core::mem::transmute::<*mut libc::c_void, ExecFn>(f)(p, argv, envp) },
        None => {
            crate::hook::set_errno(libc::ENOSYS);
            -1
        }
    }
}

/// execve-like hook: the pipeline, then the real execve. For the execvp
/// family, a file the kernel refuses with ENOEXEC is run by /bin/sh, as
/// POSIX says (glibc does the same).
pub fn execve(path: *const c_char, argv: Env, envp: Env, search: bool) -> Result<i32, Errno> {
    let r = exec(None, path, argv, envp, search, true, &mut |f, a, e| {
        real_execve(f, a, e)
    })?;
    if search && crate::hook::errno() == libc::ENOEXEC {
        return sh_fallback(path, argv, envp);
    }
    Ok(r)
}

/// `/bin/sh FILE ARGS...` for a file without a `#!` line.
fn sh_fallback(path: *const c_char, argv: Env, envp: Env) -> Result<i32, Errno> {
    let n = entries(argv).count().max(1) + 2;
    let block = Block::new(n * core::mem::size_of::<*const c_char>())?;
    let mut w = Writer::new(&block, n);
    w.ptr(c"/bin/sh".as_ptr() as *const c_char);
    w.ptr(path);
    for a in entries(argv).skip(1) {
        w.ptr(a.as_ptr() as *const c_char);
    }
    let a = w.finish();
    exec(
        None,
        c"/bin/sh".as_ptr() as *const c_char,
        a,
        envp,
        false,
        true,
        &mut |f, a, e| real_execve(f, a, e),
    )
}

/// fexecve / execveat(fd, "", AT_EMPTY_PATH): the program is the open
/// file. Host ELF (or anything unreadable) is run from the fd itself (an
/// fd may be all there is: memfd, deleted file); otherwise its path goes
/// through the same pipeline.
pub fn exec_fd(fd: i32, argv: Env, envp: Env, real: impl FnOnce(Env) -> i32) -> Result<i32, Errno> {
    let mut head = [0u8; xexec::HEAD];
    // SAFETY: reading the caller's fd into our buffer.
    let n = unsafe { libc::syscall(libc::SYS_pread64, fd, head.as_mut_ptr(), head.len(), 0) };
    let direct = n <= 0
        || head
            .get(..n as usize)
            .is_some_and(|hd| xexec::parse_elf(hd).is_some_and(|e| xexec::host_machine(e.machine)));
    let mut h = PathBuf::new();
    let ctx = crate::state::ctx()?;
    let mut v = PathBuf::new();
    if direct
        || Cached.fd_path(fd, &mut h).is_err()
        || crate::path::unmap(&ctx, h.as_bytes(), sb2_ruletree::class::EXEC, &mut v).is_err()
    {
        return with_session_env(envp, &Items::default(), real);
    }
    let p = v.as_ptr();
    exec(None, p, argv, envp, false, true, &mut |f, a, e| {
        real_execve(f, a, e)
    })
}

/// Called from the library's constructor. A process whose `__SB2_EXECED`
/// does not name its own executable was exec'd without the pipeline: by a
/// target program under qemu (its execs go straight to the kernel, which
/// finds the host's `/usr/bin/gcc` where the session means the cross
/// compiler, or the host's `/bin/sh` where emulate means the target's).
/// If the pipeline would have run something else, run that now, with the
/// same argv; otherwise go on.
pub fn replan_if_unplanned(argv: Env) {
    // Small stack frame here: every process runs this, and each page of a
    // big frame is probed (a page fault on a fresh stack). The planning
    // itself is in `replan`.
    // SAFETY: getauxval has no preconditions; AT_EXECFN is the filename
    // given to execve, NUL-terminated, on the initial stack.
    let execfn = unsafe { libc::getauxval(libc::AT_EXECFN) } as *const c_char;
    // ld.so run as the program (`ld.so PROG ARGS`): glibc has shifted argv
    // already, and a plan of the loader's path would drop PROG.
    // SAFETY: as above.
    if unsafe { libc::getauxval(libc::AT_BASE) } == 0 {
        return;
    }
    let marker = crate::state::env(EXECED);
    // The common case, without a system call: we exec'd exactly this file.
    if !execfn.is_null() && marker.is_some_and(|m| m == bytes(execfn)) {
        return;
    }
    let mut exe: libc::stat = unsafe { core::mem::zeroed() };
    if !stat_ok(c"/proc/self/exe".as_ptr(), &mut exe) {
        return;
    }
    let mut st: libc::stat = unsafe { core::mem::zeroed() };
    // Environment values are NUL-terminated in place.
    if let Some(m) = marker {
        if stat_ok(m.as_ptr() as *const c_char, &mut st) && same(&st, &exe) {
            return;
        }
    }
    // Only a program exec'd directly (a script's interpreter has another
    // executable than its name).
    if execfn.is_null() || !stat_ok(execfn, &mut st) || !same(&st, &exe) {
        return;
    }
    replan(argv, execfn, &exe);
}

#[inline(never)]
fn replan(argv: Env, execfn: *const c_char, exe: &libc::stat) {
    let Ok(ctx) = crate::state::ctx() else {
        return;
    };
    let argv0 = entries(argv).next().unwrap_or(b"");
    let req = ExecReq {
        dirfd: None,
        path: bytes(execfn),
        argv0,
        search: None,
        follow: true,
    };
    let mut plan = Plan::new();
    if xexec::plan(&ctx, &Cached, &req, &mut plan).is_err() {
        return;
    }
    let mut f: libc::stat = unsafe { core::mem::zeroed() };
    let unchanged = matches!(plan.kind, Kind::Host | Kind::Static | Kind::Unknown)
        && plan.argvmod.is_none()
        && stat_ok(plan.file.as_ptr(), &mut f)
        && same(&f, exe);
    if unchanged {
        return;
    }
    let _ = exec(
        None,
        execfn,
        argv,
        core::ptr::null(),
        false,
        true,
        &mut |f, a, e| real_execve(f, a, e),
    );
}

fn stat_ok(p: *const c_char, st: &mut libc::stat) -> bool {
    // SAFETY: NUL-terminated path, our buffer.
    unsafe {
        libc::syscall(
            libc::SYS_newfstatat,
            libc::AT_FDCWD,
            p,
            st as *mut libc::stat,
            0,
        ) == 0
    }
}

fn same(a: &libc::stat, b: &libc::stat) -> bool {
    a.st_dev == b.st_dev && a.st_ino == b.st_ino
}

/// Is this process the CPU transparency command (qemu) of the session? If
/// so, before qemu starts any thread, put it in a user namespace with its
/// own binfmt_misc instance that runs target ELF through qemu (unless its
/// parent already is in one), so target programs can exec target programs.
/// The process then runs without the session: qemu's own file accesses are
/// host paths (its `-L` prefix probes), and the guest makes raw system
/// calls the library could not see anyway.
pub fn in_cpu_transparency(tree: &sb2_ruletree::format::Tree) -> bool {
    let Some(q) = tree.constant(b"cpu_transparency").filter(|q| !q.is_empty()) else {
        return false;
    };
    let mut exe = PathBuf::new();
    // SAFETY: readlink into the buffer's own storage.
    let r = exe.fill(|p, cap| unsafe {
        libc::syscall(
            libc::SYS_readlinkat,
            libc::AT_FDCWD,
            c"/proc/self/exe".as_ptr(),
            p,
            cap,
        )
    } as isize);
    if r.is_err() || exe.as_bytes() != q {
        return false;
    }
    enter_binfmt(tree);
    true
}

fn write_file(path: &[u8], data: &[u8]) -> bool {
    // SAFETY: raw syscalls on a NUL-terminated path and our own buffer.
    unsafe {
        let fd = libc::syscall(
            libc::SYS_openat,
            libc::AT_FDCWD,
            path.as_ptr(),
            libc::O_WRONLY | libc::O_CLOEXEC,
        );
        if fd < 0 {
            return false;
        }
        let n = libc::syscall(libc::SYS_write, fd, data.as_ptr(), data.len());
        libc::syscall(libc::SYS_close, fd);
        n == data.len() as i64
    }
}

/// "A B 1" id map line into `buf`.
fn id_map(buf: &mut PathBuf, a: u32, b: u32) -> &[u8] {
    let num = |v: u32, buf: &mut PathBuf| {
        let mut d = [0u8; 10];
        let mut i = d.len();
        let mut v = v;
        loop {
            i -= 1;
            d[i] = b'0' + (v % 10) as u8;
            v /= 10;
            if v == 0 {
                break;
            }
        }
        let _ = buf.push(&d[i..]);
    };
    buf.clear();
    num(a, buf);
    let _ = buf.push(b" ");
    num(b, buf);
    let _ = buf.push(b" 1");
    buf.as_bytes()
}

/// Two nested user namespaces: in the outer one we are root and mount and
/// register binfmt_misc (an instance per user namespace, Linux 6.7+); the
/// inner one maps us back to our own ids, so `id` is unchanged (or to the
/// virtual ids of `sb2 -R`/`-U`). Files of
/// other owners show as nobody in there (documented). Any failure leaves
/// the process as it is: target programs then cannot exec target programs.
fn enter_binfmt(tree: &sb2_ruletree::format::Tree) {
    let (Some(name), Some(reg)) = (
        tree.constant(b"binfmt_name"),
        tree.constant(b"binfmt_register"),
    ) else {
        return;
    };
    let mut p = PathBuf::new();
    if p.set(b"/proc/sys/fs/binfmt_misc/")
        .and_then(|_| p.push(name))
        .is_err()
    {
        return;
    }
    // SAFETY: raw syscalls with NUL-terminated paths and our buffers.
    unsafe {
        if libc::syscall(libc::SYS_faccessat, libc::AT_FDCWD, p.as_ptr(), libc::F_OK) == 0 {
            return;
        }
        // binfmt_misc instances per user namespace came with Linux 6.7: on
        // older kernels do not enter namespaces for nothing.
        let mut u: libc::utsname = core::mem::zeroed();
        if libc::syscall(libc::SYS_uname, &mut u) != 0 || !kernel_at_least(&u, 6, 7) {
            return;
        }
        let uid = libc::syscall(libc::SYS_getuid) as u32;
        let gid = libc::syscall(libc::SYS_getgid) as u32;
        if libc::syscall(libc::SYS_unshare, libc::CLONE_NEWUSER | libc::CLONE_NEWNS) != 0 {
            return;
        }
        let mut line = PathBuf::new();
        let ok = write_file(b"/proc/self/setgroups\0", b"deny")
            && write_file(b"/proc/self/uid_map\0", id_map(&mut line, 0, uid))
            && write_file(b"/proc/self/gid_map\0", id_map(&mut line, 0, gid))
            && libc::syscall(
                libc::SYS_mount,
                c"binfmt_misc".as_ptr(),
                c"/proc/sys/fs/binfmt_misc".as_ptr(),
                c"binfmt_misc".as_ptr(),
                0usize,
                0usize,
            ) == 0;
        if ok {
            write_file(b"/proc/sys/fs/binfmt_misc/register\0", reg);
        }
        if libc::syscall(libc::SYS_unshare, libc::CLONE_NEWUSER) == 0 {
            write_file(b"/proc/self/setgroups\0", b"deny");
            // With virtual permissions the target program sees its
            // virtual ids (qemu makes real system calls: no hook can).
            let (iu, ig) = crate::vperm::namespace_ids().unwrap_or((uid, gid));
            write_file(b"/proc/self/uid_map\0", id_map(&mut line, iu, 0));
            write_file(b"/proc/self/gid_map\0", id_map(&mut line, ig, 0));
            // The new namespace gave us every capability in it: drop them,
            // qemu and its guest run as the user they were.
            let hdr = [0x2008_0522u32, 0]; // _LINUX_CAPABILITY_VERSION_3, this process
            let data = [0u32; 6];
            libc::syscall(libc::SYS_capset, hdr.as_ptr(), data.as_ptr());
        }
    }
}

/// Is the running kernel (from `uname`) at least `maj.min`?
fn kernel_at_least(u: &libc::utsname, maj: u32, min: u32) -> bool {
    let mut nums = [0u32; 2];
    let mut i = 0;
    for c in u.release.iter().map(|c| *c as u8) {
        match c {
            b'0'..=b'9' => nums[i] = nums[i].saturating_mul(10).saturating_add((c - b'0') as u32),
            b'.' if i == 0 => i = 1,
            _ => break,
        }
    }
    (nums[0], nums[1]) >= (maj, min)
}

/// uname: the real answer with `machine` replaced by the target's.
pub fn uname(
    buf: *mut libc::utsname,
    real: impl FnOnce(*mut libc::utsname) -> i32,
) -> Result<i32, Errno> {
    let r = real(buf);
    if r != 0 || buf.is_null() {
        return Ok(r);
    }
    let Ok(ctx) = crate::state::ctx() else {
        return Ok(r);
    };
    let Some(m) = ctx
        .tree
        .constant(b"sbox_uname_machine")
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

type SpawnFn = unsafe extern "C" fn(
    *mut libc::pid_t,
    *const c_char,
    *const libc::c_void,
    *const libc::c_void,
    *const *const c_char,
    *const *const c_char,
) -> i32;

/// posix_spawn and posix_spawnp: the pipeline, then the real posix_spawn
/// with the planned file (PATH was searched already).
pub fn spawn(
    pid: *mut libc::pid_t,
    path: *const c_char,
    fa: *const libc::c_void,
    at: *const libc::c_void,
    argv: Env,
    envp: Env,
    search: bool,
) -> Result<i32, Errno> {
    let Some(f) = crate::table::posix_spawn::SLOT.get() else {
        return Ok(libc::ENOSYS);
    };
    // SAFETY: the slot holds libc's posix_spawn, of this C type.
    let real = unsafe { core::mem::transmute::<*mut libc::c_void, SpawnFn>(f) };
    spawn_result(exec(
        None,
        path,
        argv,
        envp,
        search,
        true,
        &mut |file, a, e| {
            // SAFETY: forwarding the caller's arguments with our argv/env.
            unsafe { real(pid, file, fa, at, a, e) }
        },
    ))
}

/// execveat: relative to a directory fd, or the fd itself (AT_EMPTY_PATH).
pub fn execveat(
    dirfd: i32,
    path: *const c_char,
    argv: Env,
    envp: Env,
    flags: i32,
    real: impl FnOnce(Env) -> i32,
) -> Result<i32, Errno> {
    if flags & libc::AT_EMPTY_PATH != 0 && !path.is_null() && bytes(path).is_empty() {
        return exec_fd(dirfd, argv, envp, real);
    }
    let follow = flags & libc::AT_SYMLINK_NOFOLLOW == 0;
    exec(
        Some(dirfd),
        path,
        argv,
        envp,
        false,
        follow,
        &mut |f, a, e| real_execve(f, a, e),
    )
}

/// `/bin/sh -c CMD` through posix_spawn (our hook: /bin/sh is mapped and
/// run like any program), with `actions` for popen's pipe.
fn spawn_sh(
    cmd: *const c_char,
    fa: *const libc::c_void,
    at: *const libc::c_void,
    pid: &mut libc::pid_t,
) -> i32 {
    let argv: [*const c_char; 4] = [
        c"sh".as_ptr() as *const c_char,
        c"-c".as_ptr() as *const c_char,
        cmd,
        core::ptr::null(),
    ];
    match spawn(
        pid,
        c"/bin/sh".as_ptr() as *const c_char,
        fa,
        at,
        argv.as_ptr(),
        core::ptr::null(),
        false,
    ) {
        Ok(r) => r,
        Err(e) => e.0,
    }
}

/// system(3), as glibc does it (SIGINT/SIGQUIT ignored and SIGCHLD blocked
/// while waiting; the child gets them back), but the shell is started
/// through the session's exec pipeline: glibc's own system() reaches the
/// kernel without calling any hookable function.
pub fn system(cmd: *const c_char) -> Result<i32, Errno> {
    if cmd.is_null() {
        return Ok(1);
    }
    // SAFETY: plain libc signal and spawn-attribute calls on our locals.
    unsafe {
        let mut ign: libc::sigaction = core::mem::zeroed();
        ign.sa_sigaction = libc::SIG_IGN;
        let (mut old_int, mut old_quit): (libc::sigaction, libc::sigaction) =
            (core::mem::zeroed(), core::mem::zeroed());
        libc::sigaction(libc::SIGINT, &ign, &mut old_int);
        libc::sigaction(libc::SIGQUIT, &ign, &mut old_quit);
        let mut chld: libc::sigset_t = core::mem::zeroed();
        let mut old_mask: libc::sigset_t = core::mem::zeroed();
        libc::sigemptyset(&mut chld);
        libc::sigaddset(&mut chld, libc::SIGCHLD);
        libc::sigprocmask(libc::SIG_BLOCK, &chld, &mut old_mask);
        let mut attr: libc::posix_spawnattr_t = core::mem::zeroed();
        libc::posix_spawnattr_init(&mut attr);
        let mut def: libc::sigset_t = core::mem::zeroed();
        libc::sigemptyset(&mut def);
        if old_int.sa_sigaction != libc::SIG_IGN {
            libc::sigaddset(&mut def, libc::SIGINT);
        }
        if old_quit.sa_sigaction != libc::SIG_IGN {
            libc::sigaddset(&mut def, libc::SIGQUIT);
        }
        libc::posix_spawnattr_setsigdefault(&mut attr, &def);
        libc::posix_spawnattr_setsigmask(&mut attr, &old_mask);
        libc::posix_spawnattr_setflags(
            &mut attr,
            (libc::POSIX_SPAWN_SETSIGDEF | libc::POSIX_SPAWN_SETSIGMASK) as libc::c_short,
        );
        let mut pid: libc::pid_t = 0;
        let r = spawn_sh(
            cmd,
            core::ptr::null(),
            &attr as *const _ as *const libc::c_void,
            &mut pid,
        );
        let mut status: i32 = 127 << 8;
        if r == 0 {
            while libc::waitpid(pid, &mut status, 0) < 0 {
                if crate::hook::errno() != libc::EINTR {
                    status = -1;
                    break;
                }
            }
        }
        libc::posix_spawnattr_destroy(&mut attr);
        libc::sigaction(libc::SIGINT, &old_int, core::ptr::null_mut());
        libc::sigaction(libc::SIGQUIT, &old_quit, core::ptr::null_mut());
        libc::sigprocmask(libc::SIG_SETMASK, &old_mask, core::ptr::null_mut());
        Ok(status)
    }
}

/// Streams opened by our popen: FILE, its fd and child, for pclose. A
/// slot is claimed by swapping its FILE from null to `CLAIMED` first.
const POPEN_SLOTS: usize = 64;
const CLAIMED: *mut libc::FILE = core::ptr::dangling_mut::<libc::FILE>();
static POPEN_FILE: [AtomicPtr<libc::FILE>; POPEN_SLOTS] =
    [const { AtomicPtr::new(core::ptr::null_mut()) }; POPEN_SLOTS];
static POPEN_FD: [core::sync::atomic::AtomicI32; POPEN_SLOTS] =
    [const { core::sync::atomic::AtomicI32::new(-1) }; POPEN_SLOTS];
static POPEN_PID: [core::sync::atomic::AtomicI32; POPEN_SLOTS] =
    [const { core::sync::atomic::AtomicI32::new(0) }; POPEN_SLOTS];

/// popen(3) with the shell started through the session's exec pipeline
/// (glibc's popen, like system, never calls a hookable exec function).
pub fn popen(cmd: *const c_char, mode: *const c_char) -> Result<*mut libc::FILE, Errno> {
    if cmd.is_null() || mode.is_null() {
        return Err(Errno::EINVAL);
    }
    let m = bytes(mode);
    let read = match m.first() {
        Some(b'r') => true,
        Some(b'w') => false,
        _ => return Err(Errno::EINVAL),
    };
    let cloexec = m.contains(&b'e');
    let slot = POPEN_FILE
        .iter()
        .position(|f| {
            f.compare_exchange(
                core::ptr::null_mut(),
                CLAIMED,
                Ordering::AcqRel,
                Ordering::Acquire,
            )
            .is_ok()
        })
        .ok_or(Errno(libc::EMFILE))?;
    let release = |e: Errno| {
        POPEN_FILE[slot].store(core::ptr::null_mut(), Ordering::Release);
        e
    };
    // SAFETY: libc pipe/spawn-file-action/fdopen calls on our locals.
    unsafe {
        let mut fds = [0i32; 2];
        if libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) != 0 {
            return Err(release(Errno(crate::hook::errno())));
        }
        let (ours, theirs, target) = if read {
            (fds[0], fds[1], 1)
        } else {
            (fds[1], fds[0], 0)
        };
        let mut fa: libc::posix_spawn_file_actions_t = core::mem::zeroed();
        libc::posix_spawn_file_actions_init(&mut fa);
        // POSIX: the child closes the streams of earlier popen calls (first:
        // one of their fds may be the one the pipe goes to).
        for fd in &POPEN_FD {
            let fd = fd.load(Ordering::Acquire);
            if fd >= 0 && fd != theirs {
                libc::posix_spawn_file_actions_addclose(&mut fa, fd);
            }
        }
        libc::posix_spawn_file_actions_adddup2(&mut fa, theirs, target);
        let mut pid: libc::pid_t = 0;
        let r = spawn_sh(
            cmd,
            &fa as *const _ as *const libc::c_void,
            core::ptr::null(),
            &mut pid,
        );
        libc::posix_spawn_file_actions_destroy(&mut fa);
        libc::close(theirs);
        if r != 0 {
            libc::close(ours);
            return Err(release(Errno(r)));
        }
        if !cloexec {
            libc::fcntl(ours, libc::F_SETFD, 0);
        }
        let f = libc::fdopen(ours, if read { c"r".as_ptr() } else { c"w".as_ptr() });
        if f.is_null() {
            let e = Errno(crate::hook::errno());
            libc::close(ours);
            return Err(release(e));
        }
        POPEN_PID[slot].store(pid, Ordering::Release);
        POPEN_FD[slot].store(ours, Ordering::Release);
        POPEN_FILE[slot].store(f, Ordering::Release);
        Ok(f)
    }
}

/// pclose(3) for streams of our popen; others go to the real pclose.
pub fn pclose(f: *mut libc::FILE, real: impl FnOnce(*mut libc::FILE) -> i32) -> Result<i32, Errno> {
    let Some(i) = POPEN_FILE
        .iter()
        .position(|x| !f.is_null() && x.load(Ordering::Acquire) == f)
    else {
        return Ok(real(f));
    };
    let pid = POPEN_PID[i].load(Ordering::Acquire);
    POPEN_FD[i].store(-1, Ordering::Release);
    POPEN_FILE[i].store(core::ptr::null_mut(), Ordering::Release);
    // SAFETY: the stream is ours (from fdopen); waiting for our child.
    unsafe {
        libc::fclose(f);
        let mut status = 0;
        while libc::waitpid(pid, &mut status, 0) < 0 {
            if crate::hook::errno() != libc::EINTR {
                return Err(Errno(crate::hook::errno()));
            }
        }
        Ok(status)
    }
}
