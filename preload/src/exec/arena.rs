//! Memory for the argv and environment blocks an exec builds: anonymous
//! mmap, never malloc, because the exec hooks run in vfork children (shells
//! and make use vfork; posix_spawn does), where the allocator's lock may be
//! held by the suspended parent.

use crate::ffi::sys;
use libc::c_char;
use sb2_ruletree::Errno;

/// Memory from mmap, unmapped on drop (safe in a vfork child).
pub struct Block {
    p: *mut u8,
    len: usize,
}

impl Block {
    pub fn new(len: usize) -> Result<Block, Errno> {
        let p = sys::mmap_anon(len).map_err(|_| Errno(libc::ENOMEM))?;
        Ok(Block { p, len })
    }
}

impl Drop for Block {
    fn drop(&mut self) {
        // SAFETY: our own mapping; the exec that used it has returned.
        unsafe { sys::munmap(self.p, self.len) };
    }
}

/// Writes pointers and the strings they point to into a [`Block`].
pub struct Writer<'b> {
    b: &'b Block,
    ptrs: usize,
    n: usize,
    text: usize,
}

impl<'b> Writer<'b> {
    /// `n_ptrs` slots (including the terminating NULL) then text.
    pub fn new(b: &'b Block, n_ptrs: usize) -> Writer<'b> {
        Writer {
            b,
            ptrs: n_ptrs,
            n: 0,
            text: n_ptrs * core::mem::size_of::<*const c_char>(),
        }
    }
    pub fn ptr(&mut self, p: *const c_char) {
        if self.n < self.ptrs {
            // SAFETY: slot n is inside the pointer area of the block.
            unsafe { *(self.b.p as *mut *const c_char).add(self.n) = p };
            self.n += 1;
        }
    }
    /// Copies the concatenation of `parts` (NUL-terminated) and points the
    /// next slot at it.
    pub fn string(&mut self, parts: &[&[u8]]) {
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
    pub fn finish(mut self) -> *const *const c_char {
        self.ptr(core::ptr::null());
        self.b.p as *const *const c_char
    }
}
