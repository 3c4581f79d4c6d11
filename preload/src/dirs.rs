//! Directory gates: opendir (where union directories are synthesized), the
//! tree walkers (ftw/nftw report virtual paths to the user's callback,
//! fts_open maps its start paths) and glob (run by glibc with our mapped
//! directory functions through GLOB_ALTDIRFUNC).

use crate::hook::{errno, set_errno};
use crate::path::{map, resolve, READ};
use core::cell::Cell;
use libc::{c_char, c_int, c_void};
use sb2_ruletree::format::ACT_UNION_DIR;
use sb2_ruletree::mapping::{Ctx, Mapped, PathBuf};
use sb2_ruletree::Errno;

pub fn opendir(
    p: *const c_char,
    f: impl FnOnce(*const c_char) -> *mut c_void,
) -> Result<*mut c_void, Errno> {
    let saved = errno();
    let ctx = crate::state::ctx()?;
    let (mut v, mut h) = (PathBuf::new(), PathBuf::new());
    resolve(&ctx, None, p, READ, true, &mut v, &mut h)?;
    set_errno(saved);
    Ok(f(h.as_ptr()))
}

/// scandir: the directory is mapped (its filter and comparison callbacks
/// run mapped too).
pub fn scan_map<R>(p: *const c_char, f: impl FnOnce(*const c_char) -> R) -> Result<R, Errno> {
    map(p, READ, f)
}

#[derive(Clone, Copy)]
struct Walk {
    user: *mut c_void,
    host: *const u8,
    host_len: usize,
    virt: *const u8,
    virt_len: usize,
}

const NO_WALK: Walk = Walk {
    user: core::ptr::null_mut(),
    host: core::ptr::null(),
    host_len: 0,
    virt: core::ptr::null(),
    virt_len: 0,
};

thread_local! {
    static WALK: Cell<Walk> = const { Cell::new(NO_WALK) };
}

#[repr(C)]
struct Ftw {
    base: c_int,
    level: c_int,
}

/// Rewrites a host path reported by the walker into the virtual one.
fn to_virtual(w: &Walk, fpath: *const c_char, out: &mut PathBuf) -> bool {
    // SAFETY: the walker passes NUL-terminated paths; w's slices are alive
    // for the duration of the walk (they live in the gate's frame).
    unsafe {
        let s = core::ffi::CStr::from_ptr(fpath).to_bytes();
        let host = core::slice::from_raw_parts(w.host, w.host_len);
        let virt = core::slice::from_raw_parts(w.virt, w.virt_len);
        match s.strip_prefix(host) {
            Some(rest) => out.set(virt).and_then(|_| out.push(rest)).is_ok(),
            None => false,
        }
    }
}

type FtwFn = unsafe extern "C" fn(*const c_char, *const c_void, c_int) -> c_int;
type NftwFn = unsafe extern "C" fn(*const c_char, *const c_void, c_int, *mut Ftw) -> c_int;

unsafe extern "C" fn ftw_tramp(fpath: *const c_char, sb: *const c_void, flag: c_int) -> c_int {
    let w = WALK.with(|c| c.get());
    // SAFETY: user was set from the caller's ftw function pointer.
    let user: FtwFn = unsafe { core::mem::transmute::<*mut c_void, FtwFn>(w.user) };
    let mut v = PathBuf::new();
    let mut st = core::mem::MaybeUninit::<libc::stat>::uninit();
    let sb = virtual_sb(fpath, sb, &mut st);
    if to_virtual(&w, fpath, &mut v) {
        // SAFETY: calling the user's callback with a NUL-terminated path.
        unsafe { user(v.as_ptr(), sb, flag) }
    } else {
        // SAFETY: as above, with the walker's own path.
        unsafe { user(fpath, sb, flag) }
    }
}

unsafe extern "C" fn nftw_tramp(
    fpath: *const c_char,
    sb: *const c_void,
    flag: c_int,
    ftw: *mut Ftw,
) -> c_int {
    // With FTW_CHDIR glibc changed directory with internal calls.
    crate::cache::cwd_moved();
    let w = WALK.with(|c| c.get());
    // SAFETY: user was set from the caller's nftw function pointer.
    let user: NftwFn = unsafe { core::mem::transmute::<*mut c_void, NftwFn>(w.user) };
    let mut v = PathBuf::new();
    let mut st = core::mem::MaybeUninit::<libc::stat>::uninit();
    let sb = virtual_sb(fpath, sb, &mut st);
    if !ftw.is_null() && to_virtual(&w, fpath, &mut v) {
        // FTW.base is the offset of the last component: shift it with the
        // prefix; for the start path itself find it in the virtual path
        // (its last component may differ from the host's).
        // SAFETY: ftw points to the walker's FTW record.
        let (base, level) = unsafe { ((*ftw).base, (*ftw).level) };
        let base = if v.len() == w.virt_len {
            let b = v.as_bytes();
            b.iter()
                .rposition(|c| *c == b'/')
                .map_or(0, |i| i as c_int + 1)
        } else {
            base - w.host_len as c_int + w.virt_len as c_int
        };
        let mut f = Ftw { base, level };
        // SAFETY: the user's callback with our adjusted copies.
        unsafe { user(v.as_ptr(), sb, flag, &mut f) }
    } else {
        // SAFETY: passing the walker's own arguments through.
        unsafe { user(fpath, sb, flag, ftw) }
    }
}

/// The walker's stat of `fpath` as the session shows it (virtual
/// permissions): a patched copy in `out`, or `sb` itself.
fn virtual_sb(
    fpath: *const c_char,
    sb: *const c_void,
    out: &mut core::mem::MaybeUninit<libc::stat>,
) -> *const c_void {
    if sb.is_null() || !crate::vperm::on() {
        return sb;
    }
    // SAFETY: the walker passes a filled struct stat; we copy it whole.
    unsafe {
        core::ptr::copy_nonoverlapping(sb as *const libc::stat, out.as_mut_ptr(), 1);
        let p = out.as_mut_ptr() as *mut c_void;
        crate::vperm::stat(0, p, crate::vperm::Again::path(fpath, true));
        p
    }
}

/// glibc's FTSENT (the same for fts64 on 64-bit targets).
#[repr(C)]
struct FtsEnt {
    cycle: *mut FtsEnt,
    parent: *mut FtsEnt,
    link: *mut FtsEnt,
    number: libc::c_long,
    pointer: *mut c_void,
    accpath: *mut c_char,
    path: *mut c_char,
    errno: c_int,
    symfd: c_int,
    pathlen: u16,
    namelen: u16,
    ino: libc::ino_t,
    dev: libc::dev_t,
    nlink: libc::nlink_t,
    level: i16,
    info: u16,
    flags: u16,
    instr: u16,
    statp: *mut libc::stat,
    name: [c_char; 1],
}

/// fts_read: the entry's stat as the session shows it (glibc's fts stats
/// with internal calls no hook sees).
pub fn fts_virtual(e: *mut c_void) -> *mut c_void {
    const WITH_STAT: [u16; 8] = [1, 2, 3, 4, 6, 8, 12, 13]; // D DC DEFAULT DNR DP F SL SLNONE
    if e.is_null() || !crate::vperm::on() {
        return e;
    }
    // SAFETY: fts returned this entry; its statp is fts's own buffer.
    unsafe {
        let ent = &*(e as *const FtsEnt);
        if WITH_STAT.contains(&ent.info) && !ent.statp.is_null() && !ent.accpath.is_null() {
            crate::vperm::stat(
                0,
                ent.statp as *mut c_void,
                crate::vperm::Again::path(ent.accpath, true),
            );
        }
    }
    e
}

/// fts_children: every entry of the list. Their `fts_accpath` is the
/// directory's (fts fills in a child's path only when it reads it), so
/// each is asked about as parent + "/" + name.
pub fn fts_list_virtual(first: *mut c_void) -> *mut c_void {
    if !crate::vperm::on() {
        return first;
    }
    let mut e = first as *mut FtsEnt;
    while !e.is_null() {
        // SAFETY: a list fts built, linked by fts_link; parents outlive it;
        // names and paths are NUL-terminated.
        unsafe {
            let ent = &*e;
            let mut p = PathBuf::new();
            let name = core::ffi::CStr::from_ptr(ent.name.as_ptr()).to_bytes();
            let parent = ent.parent;
            let ok = if !parent.is_null() && (*parent).level >= 0 && !(*parent).accpath.is_null() {
                let dir = core::ffi::CStr::from_ptr((*parent).accpath).to_bytes();
                p.set(dir)
                    .and_then(|_| p.push(b"/"))
                    .and_then(|_| p.push(name))
            } else {
                p.set(name)
            };
            if ok.is_ok()
                && !ent.statp.is_null()
                && [1u16, 2, 3, 4, 6, 8, 12, 13].contains(&ent.info)
            {
                crate::vperm::stat(
                    0,
                    ent.statp as *mut c_void,
                    crate::vperm::Again::path(p.as_ptr(), true),
                );
            }
            e = ent.link;
        }
    }
    first
}

/// ftw/nftw: the start path is mapped; every path the user's callback sees
/// starts with the virtual start path it gave.
pub fn ftw(
    p: *const c_char,
    user: *mut c_void,
    flags: c_int,
    real: impl FnOnce(*const c_char, *mut c_void) -> c_int,
    n: bool,
) -> Result<c_int, Errno> {
    const FTW_PHYS: c_int = 1;
    let saved = errno();
    let ctx = crate::state::ctx()?;
    let (mut vres, mut h, mut vin) = (PathBuf::new(), PathBuf::new(), PathBuf::new());
    crate::cstr::read_path(p, &mut vin)?;
    // FTW_PHYS reports a symlink start path as the link itself.
    let op = if flags & FTW_PHYS != 0 {
        crate::path::LREAD
    } else {
        READ
    };
    resolve(&ctx, None, p, op, false, &mut vres, &mut h)?;
    if user.is_null() {
        return Err(Errno::EFAULT);
    }
    // glibc drops trailing slashes from the start path it reports.
    trim_slashes(&mut h);
    trim_slashes(&mut vin);
    let hb = h.as_ptr() as *const u8;
    let w = Walk {
        user,
        host: hb,
        host_len: h.len(),
        virt: vin.as_bytes().as_ptr(),
        virt_len: vin.len(),
    };
    let prev = WALK.with(|c| c.replace(w));
    let tramp: *mut c_void = if n {
        nftw_tramp as *mut c_void
    } else {
        ftw_tramp as *mut c_void
    };
    set_errno(saved);
    let r = real(hb as *const c_char, tramp);
    // glibc restores the cwd after an FTW_CHDIR walk, again internally.
    crate::cache::cwd_moved();
    WALK.with(|c| c.set(prev));
    Ok(r)
}

fn trim_slashes(p: &mut PathBuf) {
    let b = p.as_bytes();
    let n = b.iter().rposition(|c| *c != b'/').map_or(1, |i| i + 1);
    p.truncate(n);
}

/// fts never changes directory behind our back (glibc's fts would chdir
/// with internal calls, invalidating the cached virtual cwd unseen).
pub const FTS_NOCHDIR: c_int = 0x0004;

/// fts_open: every start path is mapped (into malloc'd copies: fts keeps
/// its own). Entries are reported with host paths, as in Scratchbox2.
pub fn fts_open(
    argv: *const *mut c_char,
    real: impl FnOnce(*const *mut c_char) -> *mut c_void,
) -> Result<*mut c_void, Errno> {
    if argv.is_null() {
        return Err(Errno::EFAULT);
    }
    let saved = errno();
    let ctx = crate::state::ctx()?;
    let mut n = 0usize;
    // SAFETY: argv is a NULL-terminated array (fts_open contract).
    while !unsafe { *argv.add(n) }.is_null() {
        n += 1;
    }
    // SAFETY: plain allocation, freed below.
    let arr =
        unsafe { libc::calloc(n + 1, core::mem::size_of::<*mut c_char>()) } as *mut *mut c_char;
    if arr.is_null() {
        return Err(Errno(libc::ENOMEM));
    }
    let mut result = Ok(());
    for i in 0..n {
        let (mut v, mut h) = (PathBuf::new(), PathBuf::new());
        // SAFETY: i < n, inside the caller's array.
        let p = unsafe { *argv.add(i) };
        match resolve(&ctx, None, p, READ, false, &mut v, &mut h) {
            // SAFETY: strdup of our NUL-terminated buffer into arr[i] (i < n+1).
            Ok(_) => unsafe { *arr.add(i) = libc::strdup(h.as_ptr()) },
            Err(e) => {
                result = Err(e);
                break;
            }
        }
    }
    let r = match result {
        Ok(()) => {
            set_errno(saved);
            Ok(real(arr as *const *mut c_char))
        }
        Err(e) => Err(e),
    };
    // SAFETY: freeing exactly what was allocated above (NULL entries are no-ops).
    unsafe {
        for i in 0..n {
            libc::free(*arr.add(i) as *mut c_void);
        }
        libc::free(arr as *mut c_void);
    }
    r
}

#[repr(C)]
struct GlobT {
    pathc: usize,
    pathv: *mut *mut c_char,
    offs: usize,
    flags: c_int,
    closedir: *mut c_void,
    readdir: *mut c_void,
    opendir: *mut c_void,
    lstat: *mut c_void,
    stat: *mut c_void,
}

const GLOB_ALTDIRFUNC: c_int = 1 << 9;

/// glob: glibc's own glob, with directory functions that go through our
/// mapping, so patterns match in the virtual view and results stay virtual.
pub fn glob(
    flags: c_int,
    g: *mut c_void,
    is64: bool,
    real: impl FnOnce(c_int) -> c_int,
) -> Result<c_int, Errno> {
    if g.is_null() {
        return Err(Errno::EFAULT);
    }
    if flags & GLOB_ALTDIRFUNC != 0 {
        return Ok(real(flags));
    }
    let g = g as *mut GlobT;
    // SAFETY: g is the caller's glob_t; these fields exist in both glob_t and glob64_t.
    unsafe {
        (*g).opendir = crate::table::opendir as *mut c_void;
        if is64 {
            (*g).readdir = libc::readdir64 as *mut c_void;
            (*g).lstat = crate::table::lstat64 as *mut c_void;
            (*g).stat = crate::table::stat64 as *mut c_void;
        } else {
            (*g).readdir = libc::readdir as *mut c_void;
            (*g).lstat = crate::table::lstat as *mut c_void;
            (*g).stat = crate::table::stat as *mut c_void;
        }
        (*g).closedir = libc::closedir as *mut c_void;
    }
    Ok(real(flags | GLOB_ALTDIRFUNC))
}

/// (Its own file operations are raw system calls: hooks have no
/// re-entrancy guard, and the placeholders are host paths.)
///
/// Makes the synthesized union directory `host` list the entries of every
/// component directory of the rule (first one wins on duplicates, which is
/// the same name anyway). Rebuilt only when a component changed since.
pub fn populate_union(
    _ctx: &Ctx,
    m: Mapped,
    _vpath: &[u8],
    host: &mut PathBuf,
) -> Result<(), Errno> {
    let Some(rule) = m.rule else { return Ok(()) };
    if rule.action_kind() != ACT_UNION_DIR {
        // The union rule sits inside an actions list: find it.
        return Ok(());
    }
    let sys = Sys2;
    let created = sys.mkdir_p(host)?;
    let union_mtime = if created {
        (0, 0)
    } else {
        sys.mtime(host.with_nul()).unwrap_or((0, 0))
    };
    let mut newest = (0, 0);
    let mut comp = PathBuf::new();
    for d in rule.union_dirs() {
        comp.set(d)?;
        if let Ok(t) = sys.mtime(comp.with_nul()) {
            newest = newest.max(t);
        }
    }
    if union_mtime > newest {
        return Ok(());
    }
    // Add every component entry.
    let ufd = sys.open_dir(host.with_nul())?;
    for d in rule.union_dirs() {
        comp.set(d)?;
        let Ok(cfd) = sys.open_dir(comp.with_nul()) else {
            continue;
        };
        sys.each_entry(cfd, |name, is_dir| {
            // SAFETY: name is NUL-terminated from getdents; ufd is our dir fd.
            unsafe {
                if is_dir {
                    libc::syscall(libc::SYS_mkdirat, ufd, name.as_ptr(), 0o755);
                } else {
                    let flags = libc::O_CREAT | libc::O_EXCL | libc::O_WRONLY | libc::O_CLOEXEC;
                    let fd =
                        libc::syscall(libc::SYS_openat, ufd, name.as_ptr(), flags, 0o644) as c_int;
                    if fd >= 0 {
                        libc::close(fd);
                    }
                }
            }
        });
        // SAFETY: closing our own fd.
        unsafe { libc::close(cfd) };
    }
    // Drop entries that no component has any more.
    let mut cfds = [-1; 16];
    for (slot, d) in cfds.iter_mut().zip(rule.union_dirs()) {
        comp.set(d)?;
        *slot = sys.open_dir(comp.with_nul()).unwrap_or(-1);
    }
    sys.each_entry(ufd, |name, is_dir| {
        let present = cfds.iter().filter(|fd| **fd >= 0).any(|fd| {
            // SAFETY: fstatat on our dir fd with a NUL-terminated name.
            unsafe {
                let mut st: libc::stat = core::mem::zeroed();
                let nofollow = libc::AT_SYMLINK_NOFOLLOW;
                libc::syscall(libc::SYS_newfstatat, *fd, name.as_ptr(), &mut st, nofollow) == 0
            }
        });
        if !present {
            // SAFETY: removing a placeholder in our own union dir.
            unsafe {
                let flags = if is_dir { libc::AT_REMOVEDIR } else { 0 };
                libc::syscall(libc::SYS_unlinkat, ufd, name.as_ptr(), flags)
            };
        }
    });
    // SAFETY: closing our fds; touching our dir so the next opendir can skip.
    unsafe {
        for fd in cfds.iter().filter(|fd| **fd >= 0) {
            libc::close(*fd);
        }
        libc::futimens(ufd, core::ptr::null());
        libc::close(ufd);
    }
    Ok(())
}

/// Small raw-syscall helpers for union directories.
struct Sys2;

impl Sys2 {
    fn mtime(&self, p: &[u8]) -> Result<(i64, i64), Errno> {
        // SAFETY: NUL-terminated path, our stat buffer.
        unsafe {
            let mut st: libc::stat = core::mem::zeroed();
            if libc::syscall(libc::SYS_newfstatat, libc::AT_FDCWD, p.as_ptr(), &mut st, 0) != 0 {
                return Err(Errno(errno()));
            }
            Ok((st.st_mtime, st.st_mtime_nsec))
        }
    }
    fn open_dir(&self, p: &[u8]) -> Result<c_int, Errno> {
        // SAFETY: NUL-terminated path.
        let fd = unsafe {
            libc::syscall(
                libc::SYS_openat,
                libc::AT_FDCWD,
                p.as_ptr(),
                libc::O_RDONLY | libc::O_DIRECTORY | libc::O_CLOEXEC,
            )
        } as c_int;
        if fd < 0 {
            Err(Errno(errno()))
        } else {
            Ok(fd)
        }
    }
    /// Creates `p` and its parents; true if `p` itself was created now.
    fn mkdir_p(&self, p: &mut PathBuf) -> Result<bool, Errno> {
        let len = p.len();
        let mut tmp = PathBuf::new();
        let bytes = p.as_bytes();
        for (i, c) in bytes.iter().enumerate().skip(1) {
            if *c == b'/' {
                tmp.set(bytes.get(..i).unwrap_or(&[]))?;
                // SAFETY: NUL-terminated path.
                unsafe { libc::syscall(libc::SYS_mkdirat, libc::AT_FDCWD, tmp.as_ptr(), 0o755) };
            }
        }
        tmp.set(bytes.get(..len).unwrap_or(&[]))?;
        // SAFETY: NUL-terminated path.
        Ok(unsafe { libc::syscall(libc::SYS_mkdirat, libc::AT_FDCWD, tmp.as_ptr(), 0o755) } == 0)
    }
    /// Calls `f(name_with_nul, is_dir)` for each entry but `.` and `..`.
    fn each_entry(&self, fd: c_int, mut f: impl FnMut(&[u8], bool)) {
        let mut buf = [0u8; 4096];
        // SAFETY: rewinding our own fd.
        unsafe { libc::lseek(fd, 0, libc::SEEK_SET) };
        loop {
            // SAFETY: getdents64 fills at most buf.len() bytes of our buffer.
            let n = unsafe { libc::syscall(libc::SYS_getdents64, fd, buf.as_mut_ptr(), buf.len()) };
            if n <= 0 {
                return;
            }
            let mut off = 0usize;
            while off + 19 < n as usize {
                let reclen = u16::from_ne_bytes([buf[off + 16], buf[off + 17]]) as usize;
                let dtype = buf[off + 18];
                let name_area = buf.get(off + 19..off + reclen).unwrap_or(&[]);
                let nl = name_area
                    .iter()
                    .position(|c| *c == 0)
                    .unwrap_or(name_area.len());
                let name = name_area.get(..=nl).unwrap_or(&[]);
                if name != b".\0" && name != b"..\0" && !name.is_empty() {
                    f(name, dtype == libc::DT_DIR);
                }
                if reclen == 0 {
                    return;
                }
                off += reclen;
            }
        }
    }
}
