//! Memory for the argv and environment blocks an exec builds: a buffer on
//! the caller's stack when the block fits (nearly always: no system
//! call), else anonymous mmap; never malloc, because the exec hooks run
//! in vfork children (shells and make use vfork; posix_spawn does), where
//! the allocator's lock may be held by the suspended parent.

use crate::ffi::sys;
use core::mem::MaybeUninit;
use libc::c_char;
use sb2_ruletree::Errno;

/// Stack room for a block of up to N bytes (pointer-aligned).
#[repr(C, align(8))]
pub struct Space<const N: usize>([MaybeUninit<u8>; N]);

impl<const N: usize> Space<N> {
    pub fn new() -> Space<N> {
        Space([MaybeUninit::uninit(); N])
    }
}

/// A block of memory: in a [`Space`] or from mmap (unmapped on drop,
/// which is safe in a vfork child).
pub struct Block<'s> {
    p: *mut u8,
    len: usize,
    mapped: bool,
    _space: core::marker::PhantomData<&'s mut [u8]>,
}

impl<'s> Block<'s> {
    pub fn new<const N: usize>(space: &'s mut Space<N>, len: usize) -> Result<Block<'s>, Errno> {
        if len <= N {
            return Ok(Block {
                p: space.0.as_mut_ptr() as *mut u8,
                len,
                mapped: false,
                _space: core::marker::PhantomData,
            });
        }
        let p = sys::mmap_anon(len).map_err(|_| Errno(libc::ENOMEM))?;
        Ok(Block {
            p,
            len,
            mapped: true,
            _space: core::marker::PhantomData,
        })
    }
}

impl Drop for Block<'_> {
    fn drop(&mut self) {
        if self.mapped {
            // SAFETY: our own mapping; the exec that used it has returned.
            unsafe { sys::munmap(self.p, self.len) };
        }
    }
}

/// Writes pointers and the strings they point to into a [`Block`].
pub struct Writer<'b, 's> {
    b: &'b Block<'s>,
    ptrs: usize,
    n: usize,
    text: usize,
}

impl<'b, 's> Writer<'b, 's> {
    /// `n_ptrs` slots (including the terminating NULL) then text.
    pub fn new(b: &'b Block<'s>, n_ptrs: usize) -> Writer<'b, 's> {
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
