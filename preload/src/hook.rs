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

/// Declares hooked functions, one row each:
///
/// `family name(arg: Type, ...) -> Ret [CLASS, Follow, Write; key=arg, ...] = |real, op| body;`
///
/// declares how the function uses its path (see [`sb2_ruletree::abi`]):
/// its function class (`CLASS | CLASS`, `NONE` for none), whether it
/// follows a final symlink ([`sb2_ruletree::abi::Follow`]), whether it
/// writes ([`sb2_ruletree::abi::Write`]), and which arguments are the
/// `path`, `path2`, `dirfd`, `dirfd2` and `fd`. It generates the exported C
/// function, its real-function slot (module `name`, item `SLOT`) and a row
/// of `HOOKS`. `body` is an expression of type `Result<Ret, Errno>`; `real`
/// is the next definition of the symbol and `op` the
/// [`crate::path::Op`] the declaration gives (flags may refine it at run
/// time: `op.at(flags)`).
///
/// `alias name = base;` declares a symbol that is `base` under another
/// name (open64 for open): same signature, declaration and body, its own
/// real-function slot. The base row defines a macro of its own name that
/// stamps out its aliases.
macro_rules! hooks {
    (@munch ($d:tt) [$($rows:tt)*] alias $alias:ident = $base:ident ; $($rest:tt)*) => {
        $base! { fn $alias }
        hooks!(@munch ($d) [$($rows)* ($base! { row $alias }),] $($rest)*);
    };
    (@munch ($d:tt) [$($rows:tt)*]
        $fam:ident $name:ident ( $($a:ident : $t:ty),* $(,)? ) -> $r:ty
        [$class:ident $(| $cl:ident)*, $follow:ident, $write:ident $(; $($k:ident = $v:ident),+)?]
        = |$real:ident, $op:ident| $body:expr ; $($rest:tt)*
    ) => {
        hook_fn!($name, ($($a : $t),*), $r, ($class $(| $cl)*, $follow, $write), $real, $op, $body);
        #[allow(unused_macros)]
        macro_rules! $name {
            (fn $d alias:ident) => {
                hook_fn!($d alias, ($($a : $t),*), $r, ($class $(| $cl)*, $follow, $write), $real, $op, $body);
            };
            (row $d alias:ident) => {
                hook_row!($d alias, $fam, ($name), ($($a),*), ($class $(| $cl)*, $follow, $write), ($($($k = $v),+)?))
            };
        }
        hooks!(@munch ($d) [$($rows)* (hook_row!($name, $fam, (), ($($a),*), ($class $(| $cl)*, $follow, $write), ($($($k = $v),+)?))),] $($rest)*);
    };
    (@munch ($d:tt) [$(($row:expr),)*]) => {
        /// Every hooked function, in table order (exported through
        /// `SB2_PRELOAD_INFO` for `sb2-show`).
        pub const HOOKS: &[$crate::hook::HookRow] = &[$($row),*];
    };
    ($($rows:tt)*) => {
        hooks!(@munch ($) [] $($rows)*);
    };
}

/// The declaration of a row, as a [`sb2_ruletree::abi::Decl`].
macro_rules! hook_decl {
    (($class:ident $(| $cl:ident)*, $follow:ident, $write:ident)) => {
        sb2_ruletree::abi::Decl {
            class: sb2_ruletree::class::$class $(| sb2_ruletree::class::$cl)*,
            follow: sb2_ruletree::abi::Follow::$follow,
            write: sb2_ruletree::abi::Write::$write,
        }
    };
}

/// One exported hook and its real-function slot (see [`hooks!`]).
macro_rules! hook_fn {
    ($name:ident, ($($a:ident : $t:ty),*), $r:ty, $decl:tt, $real:ident, $op:ident, $body:expr) => {
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
            const DECL: sb2_ruletree::abi::Decl = hook_decl!($decl);
            #[allow(unused_variables)]
            let $op = $crate::path::Op {
                class: DECL.class,
                follow: DECL.follows(),
                write: DECL.writes(),
            };
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
    };
}

/// One row of `HOOKS` (see [`hooks!`]).
macro_rules! hook_row {
    (@cstr) => { core::ptr::null() };
    (@cstr $base:ident) => { concat!(stringify!($base), "\0").as_ptr().cast() };
    ($name:ident, $fam:ident, ($($base:ident)?), ($($a:ident),*), $decl:tt, ($($k:ident = $v:ident),*)) => {{
        const ARGS: &[&str] = &[$(stringify!($a)),*];
        const SPEC: &[(&str, &str)] = &[$((stringify!($k), stringify!($v))),*];
        const _: () = assert!(
            sb2_ruletree::abi::valid_spec(ARGS, SPEC),
            concat!("hook table row ", stringify!($name), ": unknown key or argument in its declaration")
        );
        const DECL: sb2_ruletree::abi::Decl = hook_decl!($decl);
        $crate::hook::HookRow {
            name: concat!(stringify!($name), "\0").as_ptr().cast(),
            family: concat!(stringify!($fam), "\0").as_ptr().cast(),
            alias_of: hook_row!(@cstr $($base)?),
            class: DECL.class,
            follow: DECL.follow,
            write: DECL.write,
            path: sb2_ruletree::abi::spec_arg(ARGS, SPEC, "path"),
            path2: sb2_ruletree::abi::spec_arg(ARGS, SPEC, "path2"),
            dirfd: sb2_ruletree::abi::spec_arg(ARGS, SPEC, "dirfd"),
            dirfd2: sb2_ruletree::abi::spec_arg(ARGS, SPEC, "dirfd2"),
            fd: sb2_ruletree::abi::spec_arg(ARGS, SPEC, "fd"),
        }
    }};
}
