//! Directory gates: the tree walkers (ftw/nftw report virtual paths to the
//! user's callback, fts_open maps its start paths), scandir and glob (run
//! by glibc with our mapped directory functions through GLOB_ALTDIRFUNC).
//! opendir is in `union`, with the union directories it synthesizes.

use crate::ffi::hook::no_unwind;
use crate::path::{resolve, LREAD, READ};
use crate::process::overlay::{self, Again};
use crate::process::{cache, state, vperm};
use core::cell::Cell;
use libc::{c_char, c_int, c_void};
use sb2_ruletree::mapping::PathBuf;
use sb2_ruletree::Errno;

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

/// The user's ftw callback, called with the virtual path. (An `extern "C"`
/// entry point outside any hook's boundary: a panic must not unwind into
/// glibc's walker; it stops the walk with -1.)
unsafe extern "C" fn ftw_tramp(fpath: *const c_char, sb: *const c_void, flag: c_int) -> c_int {
    // SAFETY: the walker's own arguments.
    no_unwind(-1, || unsafe { ftw_call(fpath, sb, flag) })
}

unsafe fn ftw_call(fpath: *const c_char, sb: *const c_void, flag: c_int) -> c_int {
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

/// The user's nftw callback, like [`ftw_tramp`].
unsafe extern "C" fn nftw_tramp(
    fpath: *const c_char,
    sb: *const c_void,
    flag: c_int,
    ftw: *mut Ftw,
) -> c_int {
    // SAFETY: the walker's own arguments.
    no_unwind(-1, || unsafe { nftw_call(fpath, sb, flag, ftw) })
}

unsafe fn nftw_call(fpath: *const c_char, sb: *const c_void, flag: c_int, ftw: *mut Ftw) -> c_int {
    // With FTW_CHDIR glibc changed directory with internal calls.
    cache::cwd_moved();
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
    if sb.is_null() || !vperm::on() {
        return sb;
    }
    // SAFETY: the walker passes a filled struct stat; we copy it whole.
    unsafe { core::ptr::copy_nonoverlapping(sb as *const libc::stat, out.as_mut_ptr(), 1) };
    let p = out.as_mut_ptr() as *mut c_void;
    overlay::stat(0, p, Again::path(fpath, true));
    p
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

/// The `fts_info` values of entries that come with a stat: D DC DEFAULT
/// DNR DP F SL SLNONE.
const WITH_STAT: [u16; 8] = [1, 2, 3, 4, 6, 8, 12, 13];

/// fts_read: the entry's stat as the session shows it (glibc's fts stats
/// with internal calls no hook sees).
pub fn fts_virtual(e: *mut c_void) -> *mut c_void {
    if e.is_null() || !vperm::on() {
        return e;
    }
    // SAFETY: fts returned this entry; its statp is fts's own buffer.
    let ent = unsafe { &*(e as *const FtsEnt) };
    if WITH_STAT.contains(&ent.info) && !ent.statp.is_null() && !ent.accpath.is_null() {
        overlay::stat(0, ent.statp as *mut c_void, Again::path(ent.accpath, true));
    }
    e
}

/// fts_children: every entry of the list. Their `fts_accpath` is the
/// directory's (fts fills in a child's path only when it reads it), so
/// each is asked about as parent + "/" + name.
pub fn fts_list_virtual(first: *mut c_void) -> *mut c_void {
    if !vperm::on() {
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
            if ok.is_ok() && !ent.statp.is_null() && WITH_STAT.contains(&ent.info) {
                overlay::stat(0, ent.statp as *mut c_void, Again::path(p.as_ptr(), true));
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
    let ctx = state::ctx()?;
    let (mut vres, mut h, mut vin) = (PathBuf::new(), PathBuf::new(), PathBuf::new());
    crate::ffi::cstr::read_path(p, &mut vin)?;
    // FTW_PHYS reports a symlink start path as the link itself.
    let op = if flags & FTW_PHYS != 0 { LREAD } else { READ };
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
    let r = real(hb as *const c_char, tramp);
    // glibc restores the cwd after an FTW_CHDIR walk, again internally.
    cache::cwd_moved();
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
    let ctx = state::ctx()?;
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
        Ok(()) => Ok(real(arr as *const *mut c_char)),
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
/// The functions are named by symbol: preloaded, libsb2 comes first in the
/// dynamic linker's lookup order, so `opendir`, `stat`... are our hooks.
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
        (*g).opendir = libc::opendir as *mut c_void;
        if is64 {
            (*g).readdir = libc::readdir64 as *mut c_void;
            (*g).lstat = libc::lstat64 as *mut c_void;
            (*g).stat = libc::stat64 as *mut c_void;
        } else {
            (*g).readdir = libc::readdir as *mut c_void;
            (*g).lstat = libc::lstat as *mut c_void;
            (*g).stat = libc::stat as *mut c_void;
        }
        (*g).closedir = libc::closedir as *mut c_void;
    }
    Ok(real(flags | GLOB_ALTDIRFUNC))
}
