//! The memory family: munmap, mremap and mprotect can make memory we
//! remembered as readable unreadable, so after each the caller-memory
//! reader (`ffi::cstr`) forgets the pages it knew.

use crate::ffi::cstr::forget_pages;
use sb2_ruletree::Errno;

/// Runs after the real call, passing its result through.
pub fn unmapped<R>(r: Result<R, Errno>) -> Result<R, Errno> {
    forget_pages();
    r
}
