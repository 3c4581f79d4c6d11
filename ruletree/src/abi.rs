//! The one symbol libsb2.so exports besides the libc names it interposes:
//! `SB2_PRELOAD_INFO`, a C-layout description of the hook table that
//! `sb2-show hooks` reads after `dlopen`ing the library.

use core::ffi::c_char;

/// One row of the hook table.
#[repr(C)]
pub struct HookRow {
    /// The libc symbol (NUL-terminated).
    pub name: *const c_char,
    /// Its family: fs, dirs, net, exec, ids...
    pub family: *const c_char,
    /// What the table declares the hook does.
    pub decl: *const c_char,
}

// SAFETY: rows point only to static NUL-terminated strings.
unsafe impl Sync for HookRow {}

/// `SB2_PRELOAD_INFO`.
#[repr(C)]
pub struct PreloadInfo {
    /// Bumped when this layout changes.
    pub abi: u32,
    pub version: *const c_char,
    pub n_hooks: usize,
    pub hooks: *const HookRow,
}

// SAFETY: points only to static data.
unsafe impl Sync for PreloadInfo {}

pub const ABI: u32 = 1;
