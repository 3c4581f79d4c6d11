//! The `hooks!` macro behind the hook table, and [`boundary`], the FFI
//! boundary every hook body runs inside: errno handling and panic
//! containment (fail closed: EIO, never a fall-back to the real call).

use sb2_ruletree::Errno;
use std::cell::Cell;

pub use sb2_ruletree::abi::HookRow;

/// The C failure value of a return type.
pub trait CRet: Copy {
    const FAIL: Self;
}
impl CRet for i32 {
    const FAIL: Self = -1;
}
impl CRet for u32 {
    const FAIL: Self = u32::MAX;
}
impl CRet for i64 {
    const FAIL: Self = -1;
}
impl CRet for isize {
    const FAIL: Self = -1;
}
impl<T> CRet for *mut T {
    const FAIL: Self = core::ptr::null_mut();
}
impl<T> CRet for *const T {
    const FAIL: Self = core::ptr::null();
}

thread_local! {
    static CURRENT_FN: Cell<&'static str> = const { Cell::new("") };
}

/// The hooked function this thread is in (for log lines).
pub fn current_fn() -> &'static str {
    CURRENT_FN.with(|c| c.get())
}

/// Records the hooked function being entered.
#[inline]
pub fn set_current_fn(name: &'static str) {
    CURRENT_FN.with(|c| c.set(name));
}

pub fn errno() -> i32 {
    // SAFETY: __errno_location always returns this thread's errno slot.
    unsafe { *libc::__errno_location() }
}
pub fn set_errno(e: i32) {
    // SAFETY: as above.
    unsafe { *libc::__errno_location() = e }
}

/// Runs a hook body. Errors set errno and return the type's failure value;
/// a panic is contained and reported as EIO.
#[inline]
pub fn boundary<R: CRet>(f: impl FnOnce() -> Result<R, Errno>) -> R {
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)) {
        Ok(Ok(v)) => v,
        Ok(Err(e)) => {
            set_errno(e.0);
            R::FAIL
        }
        Err(_) => {
            set_errno(libc::EIO);
            R::FAIL
        }
    }
}

/// Declares hooked functions, one line each:
///
/// `family name(arg: Type, ...) -> Ret = |real| body;`
///
/// generates the exported C function, its real-function slot (module `name`,
/// item `SLOT`) and a row of `HOOKS`. `body` is an expression of type
/// `Result<Ret, Errno>`; `real` is the next definition of the symbol.
macro_rules! hooks {
    ($( $fam:ident $name:ident ( $($a:ident : $t:ty),* $(,)? ) -> $r:ty = |$real:ident| $body:expr ; )*) => {
        $(
            #[allow(non_snake_case)]
            pub mod $name {
                pub static SLOT: $crate::real::Slot = $crate::real::Slot::new(concat!(stringify!($name), "\0"));
            }

            /// Interposed libc function (see the hook table).
            ///
            /// # Safety
            /// Same contract as the libc function of this name.
            #[no_mangle]
            pub unsafe extern "C" fn $name($($a: $t),*) -> $r {
                type F = unsafe extern "C" fn($($t),*) -> $r;
                let Some(p) = $name::SLOT.get() else {
                    $crate::hook::set_errno(libc::ENOSYS);
                    return <$r as $crate::hook::CRet>::FAIL;
                };
                // SAFETY: the slot holds the next definition of this very
                // symbol, whose C type is the one declared in the table.
                let $real: F = unsafe { core::mem::transmute::<*mut core::ffi::c_void, F>(p) };
                // No session: straight to the real function. (There is no
                // re-entrancy guard: our own code makes raw system calls
                // and calls real functions directly, so a nested hook call
                // can only come from a signal handler or a callback, and
                // those must be mapped too.)
                if !$crate::state::active() {
                    // SAFETY: forwarding the caller's own arguments.
                    return unsafe { $real($($a),*) };
                }
                // For log, violation and trace lines (one thread-local
                // store).
                $crate::hook::set_current_fn(stringify!($name));
                $crate::hook::boundary::<$r>(|| {
                    #[allow(unused_unsafe)]
                    // SAFETY: the body forwards the caller's arguments, with
                    // paths replaced by mapped NUL-terminated buffers.
                    unsafe { $body }
                })
            }
        )*

        /// Every hooked function, in table order (exported through
        /// `SB2_PRELOAD_INFO` for `sb2-show hooks`).
        pub const N_HOOKS: usize = [$(stringify!($name)),*].len();

        /// Every hooked function, in table order.
        pub static HOOKS: [$crate::hook::HookRow; N_HOOKS] = [
            $( $crate::hook::HookRow {
                name: concat!(stringify!($name), "\0").as_ptr() as *const core::ffi::c_char,
                family: concat!(stringify!($fam), "\0").as_ptr() as *const core::ffi::c_char,
                decl: concat!(stringify!($body), "\0").as_ptr() as *const core::ffi::c_char,
            } ),*
        ];

    };
}
