//! The pipeline's `Host` implemented with raw system calls: used by the
//! preload (where calling libc would re-enter our own hooks) and by
//! `sb2-show` (which runs inside the session, preloaded, and must not have
//! its own lookups mapped a second time).

use crate::mapping::{Host, Kind, PathBuf};
use crate::Errno;

pub mod raw;

/// The bytes of a NUL-terminated C string, by a loop of our own: the
/// strings the preload measures are short, and libc's strlen is one more
/// page of its code for a fork child to map in before its exec. The reads
/// are volatile: the compiler would otherwise see the loop for what it is
/// and call strlen after all.
///
/// # Safety
/// `p` must point to a NUL-terminated string that outlives `'a`.
#[inline]
pub unsafe fn c_bytes<'a>(p: *const libc::c_char) -> &'a [u8] {
    let mut n = 0;
    // SAFETY: read up to the NUL and no further (the caller's promise).
    while unsafe { core::ptr::read_volatile(p.add(n)) } != 0 {
        n += 1;
    }
    // SAFETY: the n bytes before the NUL, read above.
    unsafe { core::slice::from_raw_parts(p as *const u8, n) }
}

/// Does `s` hold byte `b`? A loop of our own for the exec path, for the
/// reason above: `<[u8]>::contains` calls core's out-of-line memchr, a
/// page of code far from the rest.
#[inline]
#[allow(clippy::manual_contains)]
pub fn has_byte(s: &[u8], b: u8) -> bool {
    s.iter().any(|&c| c == b)
}

/// The error of the system call that just failed.
fn last_err() -> Errno {
    // SAFETY: this thread's errno slot.
    Errno(unsafe { *libc::__errno_location() })
}

/// `newfstatat(AT_FDCWD, hpath, flags)` by raw system call.
///
/// # Safety
/// `hpath` must be NUL-terminated.
unsafe fn stat_at(hpath: &[u8], flags: i32) -> Result<libc::stat, Errno> {
    // SAFETY: hpath is NUL-terminated (caller); st is ours and all-zero is
    // a valid `struct stat`.
    unsafe {
        let mut st: libc::stat = core::mem::zeroed();
        if crate::syscall!(
            libc::SYS_newfstatat,
            libc::AT_FDCWD,
            hpath.as_ptr(),
            &mut st,
            flags,
        ) != 0
        {
            return Err(last_err());
        }
        Ok(st)
    }
}

/// `n` in decimal, at the end of `buf` (20 digits hold any u64); shared
/// with the preload, which formats log lines and environment entries
/// without allocating.
pub fn decimal(mut n: u64, buf: &mut [u8; 20]) -> &[u8] {
    let mut i = buf.len();
    loop {
        i -= 1;
        if let Some(d) = buf.get_mut(i) {
            *d = b'0' + (n % 10) as u8;
        }
        n /= 10;
        if n == 0 || i == 0 {
            break;
        }
    }
    buf.get(i..).unwrap_or(&[])
}

extern "C" {
    static environ: *const *const libc::c_char;
}

/// Value of an environment variable, read from `environ` directly (the
/// program may define its own `getenv`, as bash does).
pub fn env(name: &[u8]) -> Option<&'static [u8]> {
    // SAFETY: environ is a NULL-terminated array of NUL-terminated strings
    // owned by libc for the life of the process.
    unsafe {
        let mut e = environ;
        if e.is_null() {
            return None;
        }
        while !(*e).is_null() {
            let s = c_bytes(*e);
            if s.len() > name.len() && s.starts_with(name) && s.get(name.len()) == Some(&b'=') {
                return s.get(name.len() + 1..);
            }
            e = e.add(1);
        }
    }
    None
}

/// See [`Host::exec_probe`]; raw system calls.
/// openat(2) of a NUL-terminated host path, read-only and close-on-exec
/// with `flags` added: the fd, or negative.
///
/// # Safety
/// `hpath` must be NUL-terminated.
unsafe fn open_ro(hpath: &[u8], flags: i32) -> libc::c_long {
    // SAFETY: hpath is NUL-terminated (the caller's promise).
    unsafe {
        crate::syscall!(
            libc::SYS_openat,
            libc::AT_FDCWD,
            hpath.as_ptr(),
            libc::O_RDONLY | libc::O_CLOEXEC | flags,
        )
    }
}

/// Calls `f` with each chunk of up to `buf.len()` bytes of a
/// NUL-terminated host file, in order, until `f` returns false; false if
/// the file cannot be opened.
pub fn read_chunks(hpath: &[u8], buf: &mut [u8], mut f: impl FnMut(&[u8]) -> bool) -> bool {
    if hpath.last() != Some(&0) {
        return false;
    }
    // SAFETY: hpath is NUL-terminated (checked); buf is ours and the kernel
    // writes at most buf.len() bytes into it.
    unsafe {
        let fd = open_ro(hpath, 0);
        if fd < 0 {
            return false;
        }
        loop {
            let n = crate::syscall!(libc::SYS_read, fd, buf.as_mut_ptr(), buf.len());
            if n <= 0 || !f(buf.get(..n as usize).unwrap_or(&[])) {
                break;
            }
        }
        crate::syscall!(libc::SYS_close, fd);
    }
    true
}

/// Calls `f` with the name of each entry of a NUL-terminated host
/// directory (not `.` and `..`).
pub fn list_dir(hpath: &[u8], mut f: impl FnMut(&[u8])) {
    if hpath.last() != Some(&0) {
        return;
    }
    let mut buf = [0u8; 2048];
    // SAFETY: hpath is NUL-terminated; the kernel fills at most buf.len()
    // bytes of linux_dirent64 records, which are read within n.
    unsafe {
        let fd = open_ro(hpath, libc::O_DIRECTORY);
        if fd < 0 {
            return;
        }
        loop {
            let n = crate::syscall!(libc::SYS_getdents64, fd, buf.as_mut_ptr(), buf.len());
            if n <= 0 {
                break;
            }
            let mut off = 0usize;
            while off + 19 < n as usize {
                // d_ino (8), d_off (8), d_reclen (2), d_type (1), d_name.
                let reclen = u16::from_ne_bytes([buf[off + 16], buf[off + 17]]) as usize;
                if reclen == 0 {
                    break;
                }
                let name = buf
                    .get(off + 19..(off + reclen).min(n as usize))
                    .unwrap_or(&[]);
                let name = name.split(|c| *c == 0).next().unwrap_or(&[]);
                if name != b"." && name != b".." {
                    f(name);
                }
                off += reclen;
            }
        }
        crate::syscall!(libc::SYS_close, fd);
    }
}

pub fn exec_probe(hpath: &[u8], head: &mut [u8]) -> Result<usize, Errno> {
    exec_stat(hpath)?;
    exec_read(hpath, head)
}

/// The first half of [`exec_probe`]: `stat` of a NUL-terminated host path
/// that must be a regular file (EACCES otherwise, as the kernel says).
#[link_section = ".text.hot.sb2"]
pub fn exec_stat(hpath: &[u8]) -> Result<libc::stat, Errno> {
    if hpath.last() != Some(&0) {
        return Err(Errno::EINVAL);
    }
    // SAFETY: hpath is NUL-terminated (checked).
    let st = unsafe { stat_at(hpath, 0)? };
    if st.st_mode & libc::S_IFMT != libc::S_IFREG {
        return Err(Errno(libc::EACCES));
    }
    Ok(st)
}

/// May this process execute the file, as execve's own check decides: with
/// its effective ids and capabilities (faccessat2's AT_EACCESS). Plain
/// faccessat asks for the real ids, and lets root's permitted capabilities
/// stand for its effective ones. Where faccessat2 is missing (Linux before
/// 5.8) or filtered: the plain call.
///
/// # Safety
/// `hpath` must be NUL-terminated.
#[link_section = ".text.hot.sb2"]
unsafe fn may_execute(hpath: &[u8]) -> bool {
    // SAFETY: the caller's promise.
    let r = unsafe {
        crate::syscall!(
            libc::SYS_faccessat2,
            libc::AT_FDCWD,
            hpath.as_ptr(),
            libc::X_OK,
            libc::AT_EACCESS,
        )
    };
    // ENOSYS: an older kernel; EPERM: a seccomp filter that predates the
    // call (older container runtimes'), as an X_OK check never fails so.
    if r == 0 || ![Errno(libc::ENOSYS), Errno(libc::EPERM)].contains(&last_err()) {
        return r == 0;
    }
    // SAFETY: as above.
    unsafe {
        crate::syscall!(
            libc::SYS_faccessat,
            libc::AT_FDCWD,
            hpath.as_ptr(),
            libc::X_OK
        ) == 0
    }
}

/// The second half of [`exec_probe`], for a file [`exec_stat`] accepted:
/// may the caller execute it (EACCES), and its first `head.len()` bytes.
#[link_section = ".text.hot.sb2"]
pub fn exec_read(hpath: &[u8], head: &mut [u8]) -> Result<usize, Errno> {
    if hpath.last() != Some(&0) {
        return Err(Errno::EINVAL);
    }
    // SAFETY: hpath is NUL-terminated (checked); head is ours.
    unsafe {
        if !may_execute(hpath) {
            return Err(Errno(libc::EACCES));
        }
        if head.is_empty() {
            return Ok(0);
        }
        let fd = open_ro(hpath, 0);
        if fd < 0 {
            return Ok(0);
        }
        let n = crate::syscall!(libc::SYS_pread64, fd, head.as_mut_ptr(), head.len(), 0);
        crate::syscall!(libc::SYS_close, fd);
        Ok(n.max(0) as usize)
    }
}

/// Anonymous private memory by raw system call (vfork-safe: no allocator,
/// no hook).
pub fn map_anon(len: usize) -> Result<*mut u8, Errno> {
    // SAFETY: a fresh mapping the kernel places; nothing of ours is touched.
    let p = unsafe {
        crate::syscall!(
            libc::SYS_mmap,
            core::ptr::null_mut::<u8>(),
            len,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
            -1,
            0,
        )
    };
    if p < 0 {
        return Err(Errno(libc::ENOMEM));
    }
    Ok(p as *mut u8)
}

/// Gives back a [`map_anon`] mapping.
///
/// # Safety
/// Nothing may use the range afterwards.
pub unsafe fn unmap(p: *mut u8, len: usize) {
    // SAFETY: the caller gives up the range.
    unsafe { crate::syscall!(libc::SYS_munmap, p, len) };
}

/// Host operations by raw system call.
pub struct Sys;

impl Host for Sys {
    #[link_section = ".text.hot.sb2"]
    fn lstat_kind(&self, hpath: &[u8]) -> Result<Kind, Errno> {
        // SAFETY: hpath is NUL-terminated (pipeline contract).
        let st = unsafe { stat_at(hpath, libc::AT_SYMLINK_NOFOLLOW) }?;
        Ok(match st.st_mode & libc::S_IFMT {
            libc::S_IFLNK => Kind::Symlink,
            libc::S_IFDIR => Kind::Dir,
            _ => Kind::Other,
        })
    }
    #[link_section = ".text.hot.sb2"]
    fn readlink(&self, hpath: &[u8], out: &mut PathBuf) -> Result<(), Errno> {
        // SAFETY: hpath is NUL-terminated; the kernel writes at most `cap`
        // bytes into out's buffer.
        out.fill(|p, cap| unsafe {
            crate::syscall!(libc::SYS_readlinkat, libc::AT_FDCWD, hpath.as_ptr(), p, cap)
        } as isize)?;
        Ok(())
    }
    fn getenv(&self, name: &[u8], out: &mut PathBuf) -> bool {
        match env(name) {
            Some(v) => out.set(v).is_ok(),
            None => false,
        }
    }
    fn host_cwd(&self, out: &mut PathBuf) -> Result<(), Errno> {
        // SAFETY: the kernel writes at most `cap` bytes into out's buffer;
        // its length includes the NUL.
        let n = out.fill(|p, cap| unsafe { crate::syscall!(libc::SYS_getcwd, p, cap) } as isize)?;
        if n == 0 {
            return Err(Errno::ENOENT);
        }
        out.truncate(n - 1);
        Ok(())
    }
    fn fd_path(&self, fd: i32, out: &mut PathBuf) -> Result<(), Errno> {
        if fd < 0 {
            return Err(Errno::EBADF);
        }
        // "/proc/self/fd/" and up to 10 digits and a NUL.
        let mut p = *b"/proc/self/fd/\0\0\0\0\0\0\0\0\0\0\0";
        let mut digits = [0u8; 20];
        let ds = decimal(fd as u64, &mut digits);
        if let Some(dst) = p.get_mut(14..14 + ds.len()) {
            dst.copy_from_slice(ds);
        }
        match self.readlink(&p, out) {
            Ok(()) if out.as_bytes().first() == Some(&b'/') => Ok(()),
            // A pipe or socket cannot be a directory.
            Ok(()) => Err(Errno::ENOTDIR),
            Err(_) => Err(Errno::EBADF),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimal_writes_every_u32() {
        let mut b = [0u8; 20];
        assert_eq!(decimal(0, &mut b), b"0");
        assert_eq!(decimal(4096, &mut b), b"4096");
        assert_eq!(decimal(u64::MAX, &mut b), b"18446744073709551615");
    }

    #[test]
    fn raw_calls_answer_like_the_kernel() {
        assert_eq!(Sys.lstat_kind(b"/\0"), Ok(Kind::Dir));
        assert_eq!(Sys.lstat_kind(b"/nonexistent-sb2\0"), Err(Errno::ENOENT));
        let mut head = [0u8; 4];
        assert_eq!(exec_probe(b"/proc/self/exe\0", &mut head), Ok(4));
        assert_eq!(&head, b"\x7fELF");
        assert_eq!(exec_probe(b"/\0", &mut head), Err(Errno::EACCES));
        assert_eq!(exec_probe(b"/", &mut head), Err(Errno::EINVAL));
        let mut p = PathBuf::new();
        assert_eq!(Sys.fd_path(-1, &mut p), Err(Errno::EBADF));
    }
}
