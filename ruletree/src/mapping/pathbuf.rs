//! [`PathBuf`]: a path in a fixed stack buffer. The pipeline's only
//! storage: no allocation, and every append checks `PATH_MAX`
//! (ENAMETOOLONG) instead of panicking.
//!
//! The buffer holds [`INLINE`] bytes in place; a longer path (rare: a
//! path of 512 bytes is a very deep one) moves to an anonymous mapping of
//! `PATH_MAX` bytes ([`crate::spill`], which says why).

use crate::spill::Spill;
use crate::{Errno, PATH_MAX};

/// Bytes a [`PathBuf`] holds in place (its NUL included).
pub const INLINE: usize = 512;
/// Size of the mapping a longer path moves to.
const FULL: usize = PATH_MAX + 1;

/// A path in a fixed buffer, always with room for a terminating NUL.
#[derive(Default)]
pub struct PathBuf {
    len: usize,
    buf: Spill<INLINE, FULL>,
}

impl PathBuf {
    /// An empty buffer. Not zeroed: only written bytes are ever read.
    #[inline]
    pub fn new() -> PathBuf {
        PathBuf {
            len: 0,
            buf: Spill::new(),
        }
    }
    /// Moves the path to a mapping of the full size (once).
    fn grow(&mut self) -> Result<(), Errno> {
        self.buf.grow(self.len, Errno::ENAMETOOLONG)
    }
    /// The bytes written so far.
    #[inline]
    pub fn as_bytes(&self) -> &[u8] {
        // SAFETY: bytes 0..len were written by push/set (invariant of every
        // mutator), and len < the storage's size.
        unsafe { core::slice::from_raw_parts(self.buf.ptr(), self.len) }
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
    #[link_section = ".text.hot.sb2"]
    pub fn push(&mut self, s: &[u8]) -> Result<(), Errno> {
        let end = self.len + s.len();
        if !self.buf.is_inline() || end >= INLINE {
            return self.push_long(s);
        }
        // SAFETY: len..end is inside the bytes in place with room for the
        // NUL (checked above), and `s`, borrowed immutably, is not them.
        unsafe {
            core::ptr::copy_nonoverlapping(s.as_ptr(), self.buf.ptr_mut().add(self.len), s.len())
        };
        self.len = end;
        Ok(())
    }
    /// [`PathBuf::push`] beyond the bytes in place.
    #[inline(never)]
    fn push_long(&mut self, s: &[u8]) -> Result<(), Errno> {
        if self.len + s.len() >= PATH_MAX {
            return Err(Errno::ENAMETOOLONG);
        }
        if self.len + s.len() >= self.buf.cap() {
            self.grow()?;
        }
        let p = self.buf.ptr_mut();
        // SAFETY: the destination range len..len+s.len() is inside the
        // storage (checked above, with room for the NUL) and does not
        // overlap `s`, which is borrowed immutably.
        unsafe { core::ptr::copy_nonoverlapping(s.as_ptr(), p.add(self.len), s.len()) };
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
    /// Lets `f` write into the buffer (a system call filling it directly:
    /// no second buffer on the stack; readlink or getcwd, which may be
    /// asked again) and keeps the `n` it reports written, up to PATH_MAX
    /// minus the NUL; a negative `n` is an error (errno is set). A result
    /// that may not have fit in place (it filled it, or ERANGE) is asked
    /// for again in the full-size mapping.
    pub fn fill(&mut self, mut f: impl FnMut(*mut u8, usize) -> isize) -> Result<usize, Errno> {
        let cap = self.buf.cap();
        let mut n = f(self.buf.ptr_mut(), cap.min(PATH_MAX));
        // SAFETY: this thread's errno slot.
        let erange = n < 0 && unsafe { *libc::__errno_location() } == libc::ERANGE;
        if self.buf.is_inline() && (erange || n >= (INLINE - 1) as isize) {
            self.len = 0;
            self.grow()?;
            n = f(self.buf.ptr_mut(), PATH_MAX);
        }
        if n < 0 {
            // SAFETY: this thread's errno slot.
            return Err(Errno(unsafe { *libc::__errno_location() }));
        }
        self.len = (n as usize).min(PATH_MAX - 1).min(self.buf.cap() - 1);
        Ok(self.len)
    }
    /// Room left for [`PathBuf::append_with`] (its NUL kept aside).
    pub fn room(&self) -> usize {
        self.buf.cap().min(PATH_MAX) - 1 - self.len
    }
    /// Makes the room of a full PATH_MAX buffer (a path that outgrew the
    /// bytes in place); ENAMETOOLONG if it has it already.
    pub fn make_room(&mut self) -> Result<(), Errno> {
        self.grow()
    }
    /// Lets `f` append up to [`PathBuf::room`] bytes directly into the
    /// buffer; returns how many bytes it reported, or the errno of a
    /// negative report.
    pub fn append_with(&mut self, f: impl FnOnce(*mut u8, usize) -> isize) -> Result<usize, Errno> {
        let room = self.room();
        let p = self.buf.ptr_mut();
        // SAFETY: len + room + 1 <= the storage's size, so the pointer is
        // inside it with `room` writable bytes after it.
        let n = f(unsafe { p.add(self.len) }, room);
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
        let cap = self.buf.cap();
        let p = self.buf.ptr_mut();
        if self.len < cap {
            // SAFETY: len < the storage's size.
            unsafe { *p.add(self.len) = 0 };
        }
        // SAFETY: bytes 0..=len are initialized now; len < the storage's
        // size (every mutator keeps room for the NUL).
        unsafe { core::slice::from_raw_parts(p, self.len + 1) }
    }
    /// Pointer to the NUL-terminated path, for C calls.
    #[inline]
    pub fn as_ptr(&mut self) -> *const libc::c_char {
        self.with_nul().as_ptr() as *const libc::c_char
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn long(n: usize) -> Vec<u8> {
        (0..n).map(|i| b'a' + (i % 26) as u8).collect()
    }

    #[test]
    fn a_path_longer_than_the_bytes_in_place_moves_and_stays_whole() {
        let mut p = PathBuf::new();
        let a = long(INLINE - 10);
        p.set(&a).unwrap();
        p.push(b"/0123456789abcdef").unwrap();
        let mut want = a.clone();
        want.extend_from_slice(b"/0123456789abcdef");
        assert_eq!(p.as_bytes(), &want[..]);
        assert_eq!(p.with_nul().last(), Some(&0));
        // Up to PATH_MAX - 1 bytes fit, not one more.
        let mut q = PathBuf::new();
        q.set(&long(PATH_MAX - 1)).unwrap();
        assert_eq!(q.len(), PATH_MAX - 1);
        assert_eq!(q.push(b"x"), Err(Errno::ENAMETOOLONG));
        assert_eq!(
            PathBuf::new().set(&long(PATH_MAX)),
            Err(Errno::ENAMETOOLONG)
        );
    }

    #[test]
    fn fill_asks_again_in_the_full_buffer_when_the_answer_may_not_fit() {
        let target = long(3000);
        let mut p = PathBuf::new();
        let mut calls = 0;
        let n = p
            .fill(|dst, cap| {
                calls += 1;
                let n = target.len().min(cap);
                // SAFETY: fill gives cap writable bytes at dst.
                unsafe { core::ptr::copy_nonoverlapping(target.as_ptr(), dst, n) };
                n as isize
            })
            .unwrap();
        assert_eq!((n, calls), (3000, 2));
        assert_eq!(p.as_bytes(), &target[..]);
        let mut short = PathBuf::new();
        let mut calls = 0;
        short
            .fill(|dst, _| {
                calls += 1;
                // SAFETY: fill gives at least 3 writable bytes.
                unsafe { core::ptr::copy_nonoverlapping(b"abc".as_ptr(), dst, 3) };
                3
            })
            .unwrap();
        assert_eq!((short.as_bytes(), calls), (&b"abc"[..], 1));
    }

    #[test]
    fn append_with_fills_the_room_left_then_make_room_gives_more() {
        let mut p = PathBuf::new();
        p.set(b"/x").unwrap();
        assert_eq!(p.room(), INLINE - 3);
        let got = p
            .append_with(|dst, room| {
                // SAFETY: room writable bytes at dst.
                unsafe { core::ptr::write_bytes(dst, b'y', room) };
                room as isize
            })
            .unwrap();
        assert_eq!(got, INLINE - 3);
        p.make_room().unwrap();
        assert_eq!(p.room(), PATH_MAX - 1 - (INLINE - 1));
        assert_eq!(&p.as_bytes()[..3], b"/xy");
        assert_eq!(p.make_room(), Err(Errno::ENAMETOOLONG));
    }
}
