//! Every raw system call the preload makes itself, in one place.
//!
//! The preload may not call libc's wrappers for these: open, stat, mkdir,
//! readlink... are our own hooks (a nested mapping), and mmap'ing or
//! allocating through libc is not safe in a vfork child or a signal
//! handler. A system call made here never re-enters a hook, never
//! allocates and never takes a lock.
//!
//! Paths are NUL-terminated C strings ([`CPath`]); the kernel reads them
//! itself (a bad pointer is EFAULT, never a fault in our process).
//! Integer formatting for log lines and id maps is here too, once.

use super::hook::errno;
use core::ffi::c_void;
use libc::c_char;
use sb2_ruletree::mapping::PathBuf;
use sb2_ruletree::Errno;

/// A NUL-terminated path for the kernel.
pub type CPath = *const c_char;

/// A system call's result: the value, or the errno it set.
#[inline]
fn ret(r: libc::c_long) -> Result<libc::c_long, Errno> {
    if r < 0 {
        Err(Errno(errno()))
    } else {
        Ok(r)
    }
}

/// An open file descriptor of ours, closed when dropped.
pub struct Fd(i32);

impl Fd {
    pub fn raw(&self) -> i32 {
        self.0
    }
    /// Keeps the descriptor open for good; its number.
    pub fn into_raw(self) -> i32 {
        let fd = self.0;
        core::mem::forget(self);
        fd
    }
}

impl Drop for Fd {
    fn drop(&mut self) {
        close(self.0);
    }
}

/// close(2) of a descriptor we own.
pub fn close(fd: i32) {
    // SAFETY: closing a number has no memory effects.
    unsafe { sb2_ruletree::syscall!(libc::SYS_close, fd) };
}

/// openat(2); `O_CLOEXEC` is the caller's to add.
pub fn openat(dirfd: i32, path: CPath, flags: i32, mode: u32) -> Result<Fd, Errno> {
    // SAFETY: the kernel reads the path itself.
    let r = unsafe { sb2_ruletree::syscall!(libc::SYS_openat, dirfd, path, flags, mode) };
    ret(r).map(|fd| Fd(fd as i32))
}

/// open(2) relative to the cwd.
pub fn open(path: CPath, flags: i32, mode: u32) -> Result<Fd, Errno> {
    openat(libc::AT_FDCWD, path, flags, mode)
}

/// A `struct stat` every byte of which is zero (a valid value: plain
/// integers).
fn zeroed_stat() -> libc::stat {
    // SAFETY: libc::stat is plain C integers, for which zero is valid.
    unsafe { core::mem::zeroed() }
}

/// fstat(2).
pub fn fstat(fd: i32) -> Result<libc::stat, Errno> {
    let mut st = zeroed_stat();
    // SAFETY: the kernel writes one struct stat into ours.
    ret(unsafe { sb2_ruletree::syscall!(libc::SYS_fstat, fd, &mut st) })?;
    Ok(st)
}

/// fstatat(2) (`newfstatat`).
pub fn fstatat(dirfd: i32, path: CPath, flags: i32) -> Result<libc::stat, Errno> {
    let mut st = zeroed_stat();
    // SAFETY: the kernel reads the path and writes one struct stat into ours.
    ret(unsafe { sb2_ruletree::syscall!(libc::SYS_newfstatat, dirfd, path, &mut st, flags) })?;
    Ok(st)
}

/// fstatat(2) into the caller's buffer; the raw result (0 or -1, errno).
pub fn fstatat_into(dirfd: i32, path: CPath, buf: *mut c_void, flags: i32) -> i32 {
    // SAFETY: the kernel checks the caller's buffer itself (EFAULT).
    unsafe { sb2_ruletree::syscall!(libc::SYS_newfstatat, dirfd, path, buf, flags) as i32 }
}

/// statx(2).
pub fn statx(dirfd: i32, path: CPath, flags: i32, mask: u32) -> Result<libc::statx, Errno> {
    // SAFETY: libc::statx is plain C integers, for which zero is valid.
    let mut sx: libc::statx = unsafe { core::mem::zeroed() };
    // SAFETY: the kernel reads the path and writes one struct statx.
    ret(unsafe { sb2_ruletree::syscall!(libc::SYS_statx, dirfd, path, flags, mask, &mut sx) })?;
    Ok(sx)
}

/// statx(2) into the caller's buffer; the raw result.
pub fn statx_into(dirfd: i32, path: CPath, flags: i32, mask: u32, buf: *mut c_void) -> i32 {
    // SAFETY: the kernel checks the caller's buffer itself (EFAULT).
    unsafe { sb2_ruletree::syscall!(libc::SYS_statx, dirfd, path, flags, mask, buf) as i32 }
}

/// faccessat(2) with F_OK: does `path` exist?
pub fn exists(path: CPath) -> bool {
    // SAFETY: the kernel reads the path itself.
    unsafe { sb2_ruletree::syscall!(libc::SYS_faccessat, libc::AT_FDCWD, path, libc::F_OK) == 0 }
}

/// mkdirat(2).
pub fn mkdirat(dirfd: i32, path: CPath, mode: u32) -> Result<(), Errno> {
    // SAFETY: the kernel reads the path itself.
    ret(unsafe { sb2_ruletree::syscall!(libc::SYS_mkdirat, dirfd, path, mode) }).map(drop)
}

/// unlinkat(2).
pub fn unlinkat(dirfd: i32, path: CPath, flags: i32) -> Result<(), Errno> {
    // SAFETY: the kernel reads the path itself.
    ret(unsafe { sb2_ruletree::syscall!(libc::SYS_unlinkat, dirfd, path, flags) }).map(drop)
}

/// readlinkat(2) of `path` into `out`.
pub fn readlink(path: CPath, out: &mut PathBuf) -> Result<(), Errno> {
    out.fill(|p, cap| {
        // SAFETY: the kernel writes at most `cap` bytes at `p`, inside
        // out's own storage.
        unsafe {
            sb2_ruletree::syscall!(libc::SYS_readlinkat, libc::AT_FDCWD, path, p, cap) as isize
        }
    })
    .map(drop)
}

/// write(2) of all of `buf` (a short write is retried with the rest).
pub fn write_all(fd: i32, buf: &[u8]) -> bool {
    let mut rest = buf;
    while !rest.is_empty() {
        // SAFETY: the kernel reads our slice.
        let n = unsafe { sb2_ruletree::syscall!(libc::SYS_write, fd, rest.as_ptr(), rest.len()) };
        if n <= 0 {
            return false;
        }
        rest = rest.get(n as usize..).unwrap_or(&[]);
    }
    true
}

/// Writes `data` into the existing file `path` (a /proc or sysfs knob).
pub fn write_file(path: CPath, data: &[u8]) -> bool {
    match open(path, libc::O_WRONLY | libc::O_CLOEXEC, 0) {
        Ok(fd) => write_all(fd.raw(), data),
        Err(_) => false,
    }
}

/// pread(2) at offset 0.
pub fn pread_head(fd: i32, buf: &mut [u8]) -> isize {
    // SAFETY: the kernel writes at most buf.len() bytes into our buffer.
    unsafe {
        sb2_ruletree::syscall!(libc::SYS_pread64, fd, buf.as_mut_ptr(), buf.len(), 0) as isize
    }
}

/// fcntl(F_DUPFD_CLOEXEC): a duplicate numbered `min` or above.
pub fn dup_above(fd: i32, min: i32) -> Result<Fd, Errno> {
    // SAFETY: no memory is passed.
    ret(unsafe { sb2_ruletree::syscall!(libc::SYS_fcntl, fd, libc::F_DUPFD_CLOEXEC, min) })
        .map(|f| Fd(f as i32))
}

/// getdents64(2) into `buf`: bytes filled, 0 at the end, negative on error.
pub fn getdents(fd: i32, buf: &mut [u8]) -> isize {
    // SAFETY: the kernel fills at most buf.len() bytes of our buffer.
    unsafe {
        sb2_ruletree::syscall!(libc::SYS_getdents64, fd, buf.as_mut_ptr(), buf.len()) as isize
    }
}

/// lseek(2) back to the start.
pub fn rewind(fd: i32) {
    // SAFETY: no memory is passed.
    unsafe { sb2_ruletree::syscall!(libc::SYS_lseek, fd, 0, libc::SEEK_SET) };
}

/// utimensat(fd, NULL, NULL, 0): touch an open file.
pub fn touch(fd: i32) {
    // SAFETY: NULL path and times are the documented "now, this fd".
    unsafe {
        sb2_ruletree::syscall!(
            libc::SYS_utimensat,
            fd,
            core::ptr::null::<c_char>(),
            core::ptr::null::<libc::timespec>(),
            0,
        )
    };
}

/// mmap(2) of `len` bytes of `fd`.
pub fn mmap(fd: i32, len: usize, prot: i32, flags: i32) -> Result<*mut u8, Errno> {
    // SAFETY: a fresh mapping the kernel places; nothing of ours is touched.
    let p = unsafe { libc::mmap(core::ptr::null_mut(), len, prot, flags, fd, 0) };
    if p == libc::MAP_FAILED {
        return Err(Errno(errno()));
    }
    Ok(p as *mut u8)
}

/// Anonymous private memory (vfork-safe: no allocator lock) and munmap
/// (a raw call: munmap is one of our hooks): the ruletree's, which its
/// buffers use too.
pub use sb2_ruletree::sys::{map_anon as mmap_anon, unmap as munmap};

/// getuid(2) and getgid(2), never the virtual ids of our own hooks.
pub fn real_ids() -> (u32, u32) {
    // SAFETY: no arguments.
    unsafe {
        (
            sb2_ruletree::syscall!(libc::SYS_getuid) as u32,
            sb2_ruletree::syscall!(libc::SYS_getgid) as u32,
        )
    }
}

/// The process umask (set back at once: another thread could see 0 in
/// between, as with any umask query).
pub fn umask() -> u32 {
    // SAFETY: umask cannot fail and takes no memory.
    unsafe {
        let u = sb2_ruletree::syscall!(libc::SYS_umask, 0) as u32;
        sb2_ruletree::syscall!(libc::SYS_umask, u);
        u
    }
}

/// unshare(2).
pub fn unshare(flags: i32) -> bool {
    // SAFETY: no memory is passed.
    unsafe { sb2_ruletree::syscall!(libc::SYS_unshare, flags) == 0 }
}

/// mount(2) of a file system without data.
pub fn mount(source: CPath, target: CPath, fstype: CPath) -> bool {
    // SAFETY: the kernel reads the strings itself.
    unsafe { sb2_ruletree::syscall!(libc::SYS_mount, source, target, fstype, 0usize, 0usize) == 0 }
}

/// capset(2) to no capabilities at all for this process.
pub fn drop_capabilities() {
    let hdr = [0x2008_0522u32, 0]; // _LINUX_CAPABILITY_VERSION_3, this process
    let data = [0u32; 6];
    // SAFETY: a version-3 header and its two data records, ours.
    unsafe { sb2_ruletree::syscall!(libc::SYS_capset, hdr.as_ptr(), data.as_ptr()) };
}

/// uname(2).
pub fn uname() -> Option<libc::utsname> {
    // SAFETY: utsname is plain C chars, for which zero is valid.
    let mut u: libc::utsname = unsafe { core::mem::zeroed() };
    // SAFETY: the kernel fills our struct.
    (unsafe { sb2_ruletree::syscall!(libc::SYS_uname, &mut u) } == 0).then_some(u)
}

/// A socket address type: plain data, valid when zeroed.
pub trait SockAddr: Copy {}
impl SockAddr for libc::sockaddr_in6 {}
impl SockAddr for libc::sockaddr_un {}

/// getsockname(2) or getpeername(2) into a buffer of type `T`.
pub fn sock_name<T: SockAddr>(fd: i32, peer: bool) -> Option<(T, libc::socklen_t)> {
    // SAFETY: T is a sockaddr type (SockAddr): plain data, for which zero
    // is valid.
    let mut raw: T = unsafe { core::mem::zeroed() };
    let mut len = core::mem::size_of::<T>() as libc::socklen_t;
    let nr = if peer {
        libc::SYS_getpeername
    } else {
        libc::SYS_getsockname
    };
    // SAFETY: our buffer and its size.
    let r = unsafe { sb2_ruletree::syscall!(nr, fd, &mut raw as *mut T, &mut len) };
    (r == 0).then_some((raw, len))
}

/// Receives one datagram into nothing: drops it.
pub fn drop_datagram(fd: i32) {
    // SAFETY: a zero-length receive with no buffers.
    unsafe {
        sb2_ruletree::syscall!(
            libc::SYS_recvfrom,
            fd,
            core::ptr::null_mut::<c_void>(),
            0usize,
            libc::MSG_DONTWAIT,
            core::ptr::null_mut::<libc::sockaddr>(),
            core::ptr::null_mut::<libc::socklen_t>(),
        )
    };
}

// ------------------------------------------------------------ formatting

pub use sb2_ruletree::sys::decimal as dec;

/// `v` as 16 lowercase hex digits.
pub fn hex(v: u64) -> [u8; 16] {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = [0u8; 16];
    for (i, d) in out.iter_mut().enumerate() {
        *d = DIGITS[((v >> (60 - 4 * i)) & 15) as usize];
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn formats() {
        assert_eq!(super::dec(0, &mut [0; 20]), b"0");
        assert_eq!(super::dec(u64::MAX, &mut [0; 20]), b"18446744073709551615");
        assert_eq!(&super::hex(0xab), b"00000000000000ab");
    }
}
