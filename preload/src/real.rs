//! Slots for the real libc functions: `dlsym(RTLD_NEXT, name)` once, kept in
//! an atomic (no lock, safe after fork and in a vfork child).

use core::ffi::c_void;
use core::sync::atomic::{AtomicPtr, Ordering};

/// The address of the next definition of one symbol.
pub struct Slot {
    name: &'static str,
    ptr: AtomicPtr<c_void>,
}

impl Slot {
    /// `name` includes its terminating NUL.
    pub const fn new(name: &'static str) -> Slot {
        Slot {
            name,
            ptr: AtomicPtr::new(core::ptr::null_mut()),
        }
    }

    /// The real function, resolved on first use; None if libc lacks it.
    #[inline]
    pub fn get(&self) -> Option<*mut c_void> {
        let p = self.ptr.load(Ordering::Acquire);
        if !p.is_null() {
            return Some(p);
        }
        self.resolve()
    }

    #[cold]
    pub fn resolve(&self) -> Option<*mut c_void> {
        // SAFETY: name is NUL-terminated (const constructor contract).
        let p = unsafe { libc::dlsym(libc::RTLD_NEXT, self.name.as_ptr() as *const libc::c_char) };
        if p.is_null() {
            return None;
        }
        self.ptr.store(p, Ordering::Release);
        Some(p)
    }
}
