//! [`PathBuf`]: a path in a fixed stack buffer. The pipeline's only
//! storage: no allocation, and every append checks `PATH_MAX`
//! (ENAMETOOLONG) instead of growing or panicking.

use crate::{Errno, PATH_MAX};
use core::mem::MaybeUninit;

/// A path in a fixed stack buffer, always with room for a terminating NUL.
pub struct PathBuf {
    len: usize,
    buf: [MaybeUninit<u8>; PATH_MAX + 1],
}

impl Default for PathBuf {
    fn default() -> Self {
        Self::new()
    }
}

impl PathBuf {
    /// An empty buffer. Not zeroed: only written bytes are ever read.
    #[inline]
    pub fn new() -> PathBuf {
        PathBuf {
            len: 0,
            buf: [MaybeUninit::uninit(); PATH_MAX + 1],
        }
    }
    /// The bytes written so far.
    #[inline]
    pub fn as_bytes(&self) -> &[u8] {
        // SAFETY: bytes 0..len were written by push/set (invariant of every
        // mutator), and len <= PATH_MAX < buf.len().
        unsafe { core::slice::from_raw_parts(self.buf.as_ptr() as *const u8, self.len) }
    }
    pub fn len(&self) -> usize {
        self.len
    }
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
    pub fn clear(&mut self) {
        self.len = 0;
    }
    /// Appends bytes; ENAMETOOLONG if the result would not fit PATH_MAX
    /// (with its NUL).
    #[inline]
    pub fn push(&mut self, s: &[u8]) -> Result<(), Errno> {
        if self.len + s.len() >= PATH_MAX {
            return Err(Errno::ENAMETOOLONG);
        }
        // SAFETY: the destination range len..len+s.len() is inside buf (checked
        // above) and does not overlap `s`, which is borrowed immutably.
        unsafe {
            core::ptr::copy_nonoverlapping(
                s.as_ptr(),
                (self.buf.as_mut_ptr() as *mut u8).add(self.len),
                s.len(),
            );
        }
        self.len += s.len();
        Ok(())
    }
    pub fn set(&mut self, s: &[u8]) -> Result<(), Errno> {
        self.len = 0;
        self.push(s)
    }
    /// A buffer holding a copy of `s`.
    pub fn from_bytes(s: &[u8]) -> Result<PathBuf, Errno> {
        let mut p = PathBuf::new();
        p.set(s)?;
        Ok(p)
    }
    /// Truncates to `n` bytes (no-op if longer).
    pub fn truncate(&mut self, n: usize) {
        if n < self.len {
            self.len = n;
        }
    }
    /// Removes the last component (`/a/b` → `/a`, `/a` → ``, meaning root).
    pub(super) fn pop_component(&mut self) {
        let b = self.as_bytes();
        let cut = b.iter().rposition(|c| *c == b'/').unwrap_or(0);
        self.len = cut;
    }
    /// Lets `f` write up to PATH_MAX bytes into the buffer (a system call
    /// filling it directly: no second buffer on the stack) and keeps the
    /// `n` it reports written; a negative `n` is an error (errno is set).
    pub fn fill(&mut self, f: impl FnOnce(*mut u8, usize) -> isize) -> Result<usize, Errno> {
        let n = f(self.buf.as_mut_ptr() as *mut u8, PATH_MAX);
        if n < 0 {
            // SAFETY: this thread's errno slot.
            return Err(Errno(unsafe { *libc::__errno_location() }));
        }
        self.len = (n as usize).min(PATH_MAX - 1);
        Ok(self.len)
    }
    /// Lets `f` append up to the room left (PATH_MAX minus the NUL) directly
    /// into the buffer; returns how many bytes it reported, or the errno of
    /// a negative report.
    pub fn append_with(&mut self, f: impl FnOnce(*mut u8, usize) -> isize) -> Result<usize, Errno> {
        let room = PATH_MAX - 1 - self.len;
        // SAFETY: len < PATH_MAX, so the pointer is inside buf with `room`
        // writable bytes after it.
        let n = f(
            unsafe { (self.buf.as_mut_ptr() as *mut u8).add(self.len) },
            room,
        );
        if n < 0 {
            // SAFETY: this thread's errno slot.
            return Err(Errno(unsafe { *libc::__errno_location() }));
        }
        let n = (n as usize).min(room);
        self.len += n;
        Ok(n)
    }
    /// NUL-terminates and returns the bytes including the NUL, for C.
    #[inline]
    pub fn with_nul(&mut self) -> &[u8] {
        if let Some(slot) = self.buf.get_mut(self.len) {
            *slot = MaybeUninit::new(0);
        }
        // SAFETY: bytes 0..=len are initialized now; len < buf.len().
        unsafe { core::slice::from_raw_parts(self.buf.as_ptr() as *const u8, self.len + 1) }
    }
    /// Pointer to the NUL-terminated path, for C calls.
    #[inline]
    pub fn as_ptr(&mut self) -> *const libc::c_char {
        self.with_nul().as_ptr() as *const libc::c_char
    }
}
