//! [`Spill`]: bytes kept in place up to `N`, moved once to an anonymous
//! mapping of `FULL` bytes when more are needed, and given back on drop.
//! The pipeline's buffers ([`crate::mapping::PathBuf`], the exec plan's
//! lists) live on the stack of every hooked call, most often in a fork
//! child before its exec, where each stack page touched is a fault (the
//! compiler's stack probes touch every page of a frame): so they keep a
//! little in place, and the rare long content goes to a mapping (never
//! malloc: the pipeline runs in vfork children and signal handlers).

use crate::Errno;
use core::mem::MaybeUninit;

/// `N` bytes in place, or (after [`Spill::grow`]) `FULL` in a mapping.
pub struct Spill<const N: usize, const FULL: usize> {
    /// The mapping, once grown (null before).
    mapped: *mut u8,
    inline: [MaybeUninit<u8>; N],
}

impl<const N: usize, const FULL: usize> Default for Spill<N, FULL> {
    fn default() -> Self {
        Self::new()
    }
}

impl<const N: usize, const FULL: usize> Drop for Spill<N, FULL> {
    fn drop(&mut self) {
        if !self.mapped.is_null() {
            // SAFETY: our own mapping of FULL bytes, used by nobody else.
            unsafe { crate::sys::unmap(self.mapped, FULL) };
        }
    }
}

impl<const N: usize, const FULL: usize> Spill<N, FULL> {
    /// Empty room in place. Not zeroed: only written bytes are read.
    #[inline]
    pub fn new() -> Self {
        Spill {
            mapped: core::ptr::null_mut(),
            inline: [MaybeUninit::uninit(); N],
        }
    }
    /// Still in place (room for `N` bytes)?
    #[inline]
    pub fn is_inline(&self) -> bool {
        self.mapped.is_null()
    }
    /// How many bytes there is room for now.
    #[inline]
    pub fn cap(&self) -> usize {
        if self.is_inline() {
            N
        } else {
            FULL
        }
    }
    #[inline]
    pub fn ptr(&self) -> *const u8 {
        if self.is_inline() {
            self.inline.as_ptr() as *const u8
        } else {
            self.mapped
        }
    }
    #[inline]
    pub fn ptr_mut(&mut self) -> *mut u8 {
        if self.is_inline() {
            self.inline.as_mut_ptr() as *mut u8
        } else {
            self.mapped
        }
    }
    /// Moves to the mapping, keeping the first `used` bytes (which must
    /// have been written). Once: a second call is `full`.
    #[cold]
    #[inline(never)]
    pub fn grow(&mut self, used: usize, full: Errno) -> Result<(), Errno> {
        if !self.is_inline() || used > N {
            return Err(full);
        }
        let m = crate::sys::map_anon(FULL)?;
        // SAFETY: a fresh mapping of FULL > N >= used bytes; the first
        // `used` bytes in place were written (the caller's promise).
        unsafe { core::ptr::copy_nonoverlapping(self.inline.as_ptr() as *const u8, m, used) };
        self.mapped = m;
        Ok(())
    }
}
