//! Reading path arguments from the caller: NULL or unreadable pointers give
//! EFAULT (as the kernel would), never a crash; over-long paths give
//! ENAMETOOLONG.
//!
//! A page is first read with `process_vm_readv` on our own pid, which
//! reports a fault instead of raising SIGSEGV; pages found readable are
//! remembered per thread until the next munmap, mremap or mprotect of
//! the process (the memory hooks call [`forget_pages`]), so the common
//! case costs no system call. Pages are handled one at a time, so a
//! string ending just before an unmapped page still reads.

use core::cell::Cell;
use core::sync::atomic::{AtomicU64, Ordering};
use libc::c_void;
use sb2_ruletree::mapping::PathBuf;
use sb2_ruletree::{Errno, PATH_MAX};

const PAGE: usize = 4096;

/// This process's munmap generation: pages remembered under an older one
/// are forgotten.
static MAP_GEN: AtomicU64 = AtomicU64::new(1);

const PAGES: usize = 16;

struct PageCache {
    gen: Cell<u64>,
    pages: [Cell<usize>; PAGES],
    next: Cell<usize>,
}

// Zero, not an impossible page: the thread-locals must stay all-zero
// (.tbss, nothing to copy at thread start). `gen` 0 is never current, so
// the slots are reset to `usize::MAX` before their first use.
#[allow(clippy::declare_interior_mutable_const)]
const NOPAGE: Cell<usize> = Cell::new(0);

thread_local! {
    static KNOWN: PageCache = const { PageCache { gen: Cell::new(0), pages: [NOPAGE; PAGES], next: Cell::new(0) } };
}

/// Memory was unmapped or made unreadable somewhere in the process.
pub fn forget_pages() {
    MAP_GEN.fetch_add(1, Ordering::AcqRel);
}

/// Was the page at `page` (an address rounded down) found readable since
/// the last [`forget_pages`]?
#[inline]
fn page_known(page: usize) -> bool {
    let g = MAP_GEN.load(Ordering::Acquire);
    KNOWN.with(|p| {
        if p.gen.get() != g {
            p.pages.iter().for_each(|c| c.set(usize::MAX));
            p.gen.set(g);
            return false;
        }
        p.pages.iter().any(|c| c.get() == page)
    })
}

fn page_remember(page: usize) {
    KNOWN.with(|p| {
        let i = p.next.get() % PAGES;
        if let Some(c) = p.pages.get(i) {
            c.set(page);
        }
        p.next.set(i + 1);
    });
}

/// Copies the NUL-terminated string at `p` into `out` (without the NUL).
#[link_section = ".text.hot.sb2"]
pub fn read_path(p: *const libc::c_char, out: &mut PathBuf) -> Result<(), Errno> {
    if p.is_null() {
        return Err(Errno::EFAULT);
    }
    out.clear();
    let mut addr = p as usize;
    loop {
        let n = PAGE - (addr % PAGE);
        if page_known(addr - addr % PAGE) {
            // SAFETY: the page was readable and nothing was unmapped since;
            // memchr reads at most n bytes, all inside that page.
            let bytes = unsafe { core::slice::from_raw_parts(addr as *const u8, n) };
            // Our own search, not libc's memchr: a path's NUL is near, and
            // a fork child would map in a page of libc's code for it.
            if let Some(len) = bytes.iter().position(|c| *c == 0) {
                return out.push(bytes.get(..len).unwrap_or(&[]));
            }
            out.push(bytes)?;
            addr += n;
            continue;
        }
        // Unknown page: let the kernel copy it straight into `out`, where a
        // fault is an error code, not a signal.
        if out.len() >= PATH_MAX - 1 {
            return Err(Errno::ENAMETOOLONG);
        }
        let start = out.len();
        // SAFETY: getpid has no preconditions.
        let pid = unsafe { sb2_ruletree::syscall!(libc::SYS_getpid) };
        let mut want = 0usize;
        let copied = out.append_with(|dst, room| {
            want = n.min(room);
            let local = libc::iovec {
                iov_base: dst as *mut libc::c_void,
                iov_len: want,
            };
            let remote = libc::iovec {
                iov_base: addr as *mut libc::c_void,
                iov_len: want,
            };
            // SAFETY: the kernel writes at most `want` bytes at dst (inside
            // out's buffer) and checks the remote range itself.
            unsafe {
                sb2_ruletree::syscall!(libc::SYS_process_vm_readv, pid, &local, 1, &remote, 1, 0)
                    as isize
            }
        });
        let got = match copied {
            Ok(g) => g,
            Err(Errno(libc::EFAULT)) => return Err(Errno::EFAULT),
            // process_vm_readv refused (seccomp, ENOSYS): read directly.
            Err(_) => return read_direct(p, out),
        };
        // Protection is per page: one byte read proves all of its page.
        if got > 0 {
            page_remember(addr - addr % PAGE);
        }
        if let Some(z) = out
            .as_bytes()
            .get(start..)
            .and_then(|b| b.iter().position(|c| *c == 0))
        {
            out.truncate(start + z);
            return Ok(());
        }
        if got < want {
            return Err(Errno::EFAULT);
        }
        if want < n {
            // The path outgrew the bytes kept in place: on in the full
            // buffer (ENAMETOOLONG if it was that already).
            out.make_room()?;
            addr += got;
            continue;
        }
        addr += n;
    }
}

fn read_direct(p: *const libc::c_char, out: &mut PathBuf) -> Result<(), Errno> {
    // SAFETY: fallback when the kernel cannot check for us; the caller
    // promised a valid string, as libc itself assumes.
    let s = unsafe { core::ffi::CStr::from_ptr(p) }.to_bytes();
    if s.len() >= PATH_MAX {
        return Err(Errno::ENAMETOOLONG);
    }
    out.set(s)
}

/// Copies `src` to the caller's memory through the kernel: EFAULT for a
/// bad pointer instead of a crash.
pub fn give(dst: *mut c_void, src: &[u8]) -> Result<(), Errno> {
    if src.is_empty() {
        return Ok(());
    }
    let local = libc::iovec {
        iov_base: src.as_ptr() as *mut c_void,
        iov_len: src.len(),
    };
    let remote = libc::iovec {
        iov_base: dst,
        iov_len: src.len(),
    };
    // SAFETY: the kernel checks the remote range; local is our slice.
    let n = unsafe { libc::process_vm_writev(libc::getpid(), &local, 1, &remote, 1, 0) };
    if n == src.len() as isize {
        return Ok(());
    }
    if refused() {
        // SAFETY: the kernel cannot check for us (seccomp, ENOSYS); the
        // caller promised valid memory, as libc itself assumes.
        unsafe { core::ptr::copy_nonoverlapping(src.as_ptr(), dst as *mut u8, src.len()) };
        return Ok(());
    }
    Err(Errno::EFAULT)
}

/// Reads the caller's memory through the kernel (EFAULT, never a crash).
pub fn take(dst: &mut [u8], src: *const c_void) -> Result<(), Errno> {
    if dst.is_empty() {
        return Ok(());
    }
    let local = libc::iovec {
        iov_base: dst.as_mut_ptr() as *mut c_void,
        iov_len: dst.len(),
    };
    let remote = libc::iovec {
        iov_base: src as *mut c_void,
        iov_len: dst.len(),
    };
    // SAFETY: as in give.
    let n = unsafe { libc::process_vm_readv(libc::getpid(), &local, 1, &remote, 1, 0) };
    if n == dst.len() as isize {
        return Ok(());
    }
    if refused() {
        // SAFETY: as in give's fallback.
        unsafe { core::ptr::copy_nonoverlapping(src as *const u8, dst.as_mut_ptr(), dst.len()) };
        return Ok(());
    }
    Err(Errno::EFAULT)
}

/// A C struct copied from the caller's memory through the kernel
/// (EFAULT for a bad pointer, never a crash).
///
/// # Safety
/// `T` must be plain C data for which every byte pattern is a valid
/// value (sockaddr, msghdr...).
pub unsafe fn take_struct<T>(src: *const T) -> Result<T, Errno> {
    // SAFETY: the caller vouches that zero bytes, and any bytes, are a T.
    let mut v: T = unsafe { core::mem::zeroed() };
    // SAFETY: a byte view of our own value.
    let bytes = unsafe {
        core::slice::from_raw_parts_mut(&mut v as *mut T as *mut u8, core::mem::size_of::<T>())
    };
    take(bytes, src as *const c_void)?;
    Ok(v)
}

/// Did the kernel refuse process_vm_readv/writev itself (seccomp, no such
/// call) rather than report a bad address?
fn refused() -> bool {
    matches!(super::hook::errno(), libc::EPERM | libc::ENOSYS)
}
