//! The FFI boundary: the `hooks!` macro that turns the hook table's rows
//! into exported C functions, and [`boundary`], which every hook body runs
//! inside. errno is handled here, once (saved on entry, given back to the
//! real function, set from an error), and a panic is contained (fail
//! closed: EIO, never a fall-back to the real call).

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
impl CRet for () {
    const FAIL: Self = ();
}
impl<T> CRet for *mut T {
    const FAIL: Self = core::ptr::null_mut();
}
impl<T> CRet for *const T {
    const FAIL: Self = core::ptr::null();
}

/// What the hook this thread is in needs at the boundary: its name (for
/// log, violation and trace lines), the caller's errno as it was on entry,
/// and whether errno now holds the call's own answer.
struct Call {
    name: Cell<&'static str>,
    entry_errno: Cell<i32>,
    answered: Cell<bool>,
}

thread_local! {
    static CALL: Call = const {
        Call { name: Cell::new(""), entry_errno: Cell::new(0), answered: Cell::new(false) }
    };
}

/// The hooked function this thread is in (for log lines).
pub fn current_fn() -> &'static str {
    CALL.with(|c| c.name.get())
}

thread_local! {
    /// This thread's errno slot, once asked for: every hooked call reads
    /// and writes errno, and a fork child that execs would otherwise map
    /// in one more page of libc's code for `__errno_location`.
    static ERRNO: Cell<*mut i32> = const { Cell::new(core::ptr::null_mut()) };
}

#[inline]
fn errno_slot() -> *mut i32 {
    ERRNO.with(|c| {
        let p = c.get();
        if !p.is_null() {
            return p;
        }
        // SAFETY: __errno_location has no preconditions; it returns this
        // thread's slot, which lives as long as the thread (and is at the
        // same address in a forked child, whose copy this is).
        let p = unsafe { libc::__errno_location() };
        c.set(p);
        p
    })
}

pub fn errno() -> i32 {
    // SAFETY: this thread's errno slot.
    unsafe { *errno_slot() }
}
pub fn set_errno(e: i32) {
    // SAFETY: as above.
    unsafe { *errno_slot() = e }
}

/// Just before a real function (or the system call that stands for it)
/// runs: errno is the caller's again (our own lookups may have changed
/// it), and what it is after the call is the call's answer.
#[inline]
pub fn calling_real() {
    CALL.with(|c| {
        set_errno(c.entry_errno.get());
        c.answered.set(true);
    });
}

/// The call's answer is this errno although it returns a value (mktemp's
/// empty template, a resolver's "system error").
pub fn answer_errno(e: i32) {
    set_errno(e);
    CALL.with(|c| c.answered.set(true));
}

/// The call succeeds although the real function failed (the failure was
/// ours to hide: a virtual chmod, a partly sent sendmmsg): errno is the
/// caller's again.
pub fn restore_errno() {
    CALL.with(|c| {
        set_errno(c.entry_errno.get());
        c.answered.set(false);
    });
}

/// Runs `f` (work after the real call: logging, a virtual-permission
/// lookup) keeping errno as the real call left it.
#[inline]
pub fn errno_kept<T>(f: impl FnOnce() -> T) -> T {
    let e = errno();
    let r = f();
    set_errno(e);
    r
}

/// Runs a hook body for the hooked function `name`. The caller's errno is
/// saved here, once: an error sets errno and returns the type's failure
/// value; a success leaves errno as the real function left it, or, when
/// no real function ran, as the caller had it (our own lookups never
/// leak an errno into a successful call). A panic is contained and
/// reported as EIO. A hook nested in this one (a signal handler, a tree
/// walker's callback) has its own record; ours is put back after it.
#[inline]
pub fn boundary<R: CRet>(name: &'static str, f: impl FnOnce() -> Result<R, Errno>) -> R {
    let entry = errno();
    let outer = CALL.with(|c| {
        (
            c.name.replace(name),
            c.entry_errno.replace(entry),
            c.answered.replace(false),
        )
    });
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f));
    let answered = CALL.with(|c| {
        let answered = c.answered.get();
        c.name.set(outer.0);
        c.entry_errno.set(outer.1);
        c.answered.set(outer.2);
        answered
    });
    match r {
        Ok(Ok(v)) => {
            if !answered {
                set_errno(entry);
            }
            v
        }
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

/// Runs an `extern "C"` entry point that is not a hook (the constructor,
/// the tree walkers' trampolines) so that a panic cannot unwind into C:
/// it gives `fallback` instead.
#[inline]
pub fn no_unwind<R>(fallback: R, f: impl FnOnce() -> R) -> R {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)).unwrap_or(fallback)
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
/// calls the next definition of the symbol (giving it the caller's errno
/// back first, see [`calling_real`]) and `op` is the
/// [`crate::path::Op`] the declaration gives (flags may refine it at run
/// time: `op.at(flags)`).
///
/// `alias name = base;` declares a symbol that is `base` under another
/// glibc name (open64 for open): same signature, declaration and body, its
/// own real-function slot. The base row defines a macro of its own name
/// that stamps out its aliases (`$d` is a `$` passed in, so that the inner
/// macro can have metavariables of its own).
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
        pub const HOOKS: &[$crate::ffi::hook::HookRow] = &[$($row),*];
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

/// The hooks a fork child calls to exec go with the rest of the exec path
/// (the crate docs, "Exec cost"); the others where the linker puts them.
macro_rules! hook_section {
    (execve, $item:item) => { hook_section!(@hot $item); };
    (execv, $item:item) => { hook_section!(@hot $item); };
    (execvp, $item:item) => { hook_section!(@hot $item); };
    (execvpe, $item:item) => { hook_section!(@hot $item); };
    (posix_spawn, $item:item) => { hook_section!(@hot $item); };
    (posix_spawnp, $item:item) => { hook_section!(@hot $item); };
    (@hot $item:item) => {
        #[link_section = ".text.hot.sb2"]
        $item
    };
    ($name:ident, $item:item) => {
        $item
    };
}

/// One exported hook and its real-function slot (see [`hooks!`]).
macro_rules! hook_fn {
    ($name:ident, ($($a:ident : $t:ty),*), $r:ty, $decl:tt, $real:ident, $op:ident, $body:expr) => {
        #[allow(non_snake_case)]
        pub mod $name {
            pub static SLOT: $crate::ffi::real::Slot = $crate::ffi::real::Slot::new();
            /// The next definition, looked up now if it was not yet.
            #[allow(dead_code)]
            pub fn resolve() -> Option<*mut core::ffi::c_void> {
                SLOT.get(concat!(stringify!($name), "\0"))
            }
        }

        hook_section!($name,
        /// Interposed libc function (see the hook table).
        ///
        /// # Safety
        /// Same contract as the libc function of this name.
        #[no_mangle]
        // Rows wrap `real` in closures that adapt its arguments; some
        // adapt nothing, which is still the row's way of saying it.
        #[allow(clippy::redundant_closure)]
        pub unsafe extern "C" fn $name($($a: $t),*) -> $r {
            type F = unsafe extern "C" fn($($t),*) -> $r;
            let Some(p) = $name::resolve() else {
                $crate::ffi::hook::set_errno(libc::ENOSYS);
                return <$r as $crate::ffi::hook::CRet>::FAIL;
            };
            // SAFETY: the slot holds the next definition of this very
            // symbol, whose C type is the one declared in the table.
            let next: F = unsafe { core::mem::transmute::<*mut core::ffi::c_void, F>(p) };
            // No session: straight to the real function. (There is no
            // re-entrancy guard: our own code makes raw system calls
            // and calls real functions directly, so a nested hook call
            // can only come from a signal handler or a callback, and
            // those must be mapped too.)
            if !$crate::process::state::active() {
                // SAFETY: forwarding the caller's own arguments.
                return unsafe { next($($a),*) };
            }
            #[allow(unused_variables)]
            let $real = |$($a: $t),*| -> $r {
                $crate::ffi::hook::calling_real();
                // SAFETY: the body passes the caller's arguments, with
                // paths replaced by mapped NUL-terminated buffers.
                unsafe { next($($a),*) }
            };
            const DECL: sb2_ruletree::abi::Decl = hook_decl!($decl);
            #[allow(unused_variables)]
            let $op = $crate::path::Op {
                class: DECL.class,
                follow: DECL.follows(),
                write: DECL.writes(),
                need: None,
                empty_is_fd: false,
            };
            $crate::ffi::hook::boundary::<$r>(stringify!($name), || {
                #[allow(unused_unsafe)]
                // SAFETY: the body reads the caller's arguments under
                // the contract of the libc function it stands for.
                unsafe { $body }
            })
        }
        );
    };
}

/// One row of `HOOKS` (see [`hooks!`]).
macro_rules! hook_row {
    (@name) => { [0; sb2_ruletree::abi::NAME_LEN] };
    (@name $base:ident) => { sb2_ruletree::abi::fixed(stringify!($base)) };
    ($name:ident, $fam:ident, ($($base:ident)?), ($($a:ident),*), $decl:tt, ($($k:ident = $v:ident),*)) => {{
        const ARGS: &[&str] = &[$(stringify!($a)),*];
        const SPEC: &[(&str, &str)] = &[$((stringify!($k), stringify!($v))),*];
        const _: () = assert!(
            sb2_ruletree::abi::valid_spec(ARGS, SPEC),
            concat!("hook table row ", stringify!($name), ": unknown key or argument in its declaration")
        );
        const DECL: sb2_ruletree::abi::Decl = hook_decl!($decl);
        $crate::ffi::hook::HookRow {
            name: sb2_ruletree::abi::fixed(stringify!($name)),
            family: sb2_ruletree::abi::fixed(stringify!($fam)),
            alias_of: hook_row!(@name $($base)?),
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

#[cfg(test)]
mod tests {
    use super::*;

    /// A panic in a hook body is contained: the call fails with EIO. This
    /// unwinds through libgcc's unwinder as build.rs links it (its lookup
    /// of unwind tables is src/glibc_floor.c's sb2_dl_find_object, not
    /// glibc's _dl_find_object): were that lookup wrong, the panic could
    /// not start unwinding and the test process would abort.
    #[test]
    fn boundary_contains_a_panic() {
        #[inline(never)]
        fn deep(n: u32) -> Result<i32, Errno> {
            if n == 0 {
                panic!("contained");
            }
            deep(n - 1).map(|v| v + 1)
        }
        let r = boundary::<i32>("test", || deep(8));
        assert_eq!((r, errno()), (-1, libc::EIO));
        assert_eq!(no_unwind(7, || -> i32 { panic!("contained") }), 7);
    }
}
