//! System calls without libc's `syscall` wrapper: the same contract (-1
//! and errno on failure) from an inline `syscall`/`svc` instruction. The
//! preload makes every system call of its own this way. Besides sparing a
//! call, it keeps a fork child that execs off one more page of libc's
//! code: the child maps again each page of code it runs (fork copies no
//! page table entries of file mappings), a fault of about 3 µs on a VM.

/// An argument of a system call, as the register holds it.
pub trait Arg {
    fn word(self) -> usize;
}

macro_rules! int_arg {
    ($($t:ty),*) => {$(
        impl Arg for $t {
            #[inline(always)]
            fn word(self) -> usize {
                // Signed values are sign-extended, as a C caller's would
                // be; the kernel reads an `int` from the low half.
                self as isize as usize
            }
        }
    )*};
}
int_arg!(i32, i64, isize, u32, u64, usize);

impl<T> Arg for *const T {
    #[inline(always)]
    fn word(self) -> usize {
        self as usize
    }
}
impl<T> Arg for *mut T {
    #[inline(always)]
    fn word(self) -> usize {
        self as usize
    }
}
impl<T> Arg for &T {
    #[inline(always)]
    fn word(self) -> usize {
        self as *const T as usize
    }
}
impl<T> Arg for &mut T {
    #[inline(always)]
    fn word(self) -> usize {
        self as *mut T as usize
    }
}

/// The kernel's answer as libc's `syscall` gives it: errno set and -1 for
/// an error (-4095..-1), the value otherwise.
#[inline(always)]
fn result(r: isize) -> libc::c_long {
    if (-4095..0).contains(&r) {
        // SAFETY: this thread's errno slot.
        unsafe { *libc::__errno_location() = -r as i32 };
        return -1;
    }
    r as libc::c_long
}

/// System call `nr` with six argument words.
///
/// # Safety
/// As for the system call itself: pointers must be valid for what it
/// reads and writes.
#[inline(always)]
#[cfg(target_arch = "x86_64")]
pub unsafe fn call6(nr: libc::c_long, a: [usize; 6]) -> libc::c_long {
    let r: isize;
    // SAFETY: the caller's contract; the kernel clobbers rcx and r11.
    unsafe {
        core::arch::asm!(
            "syscall",
            inlateout("rax") nr as isize => r,
            in("rdi") a[0], in("rsi") a[1], in("rdx") a[2],
            in("r10") a[3], in("r8") a[4], in("r9") a[5],
            lateout("rcx") _, lateout("r11") _,
            options(nostack),
        );
    }
    result(r)
}

/// System call `nr` with six argument words.
///
/// # Safety
/// As for the system call itself: pointers must be valid for what it
/// reads and writes.
#[inline(always)]
#[cfg(target_arch = "aarch64")]
pub unsafe fn call6(nr: libc::c_long, a: [usize; 6]) -> libc::c_long {
    let r: isize;
    // SAFETY: the caller's contract.
    unsafe {
        core::arch::asm!(
            "svc 0",
            in("x8") nr as usize,
            inlateout("x0") a[0] => r,
            in("x1") a[1], in("x2") a[2], in("x3") a[3], in("x4") a[4], in("x5") a[5],
            options(nostack),
        );
    }
    result(r)
}

/// System call `nr` with six argument words (libc's wrapper elsewhere).
///
/// # Safety
/// As for the system call itself.
#[inline(always)]
#[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
pub unsafe fn call6(nr: libc::c_long, a: [usize; 6]) -> libc::c_long {
    // SAFETY: the caller's contract.
    unsafe { libc::syscall(nr, a[0], a[1], a[2], a[3], a[4], a[5]) }
}

/// Up to six argument words, the rest zero.
#[inline(always)]
pub fn words(args: &[usize]) -> [usize; 6] {
    let mut w = [0usize; 6];
    for (d, s) in w.iter_mut().zip(args) {
        *d = *s;
    }
    w
}

/// `syscall!(SYS_x, args...)`: a system call by [`call6`], with libc's
/// `syscall` contract (-1 and errno on failure). Up to six arguments.
#[macro_export]
macro_rules! syscall {
    ($nr:expr $(, $a:expr)* $(,)?) => {
        $crate::sys::raw::call6(
            $nr as _,
            $crate::sys::raw::words(&[$($crate::sys::raw::Arg::word($a)),*]),
        )
    };
}
