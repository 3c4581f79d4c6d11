//! `sb2-show hooks`: the hook table libsb2.so exports (the preload's own
//! list of what it intercepts), read by loading the library, so the list
//! shown is the one that runs.

use anyhow::{bail, Result};
use std::os::unix::ffi::OsStrExt;

pub fn print() -> Result<()> {
    use sb2_ruletree::abi::{HookRow, PreloadInfo, ABI};
    let lib = crate::install::libsb2()?;
    let c = std::ffi::CString::new(lib.as_os_str().as_bytes())?;
    // SAFETY: dlopen/dlsym with NUL-terminated strings; the symbol is the
    // PreloadInfo static of libsb2.so (ABI checked below), which points to
    // static rows of NUL-terminated strings.
    unsafe {
        let h = libc::dlopen(c.as_ptr(), libc::RTLD_NOW | libc::RTLD_LOCAL);
        if h.is_null() {
            bail!("cannot load {}", lib.display());
        }
        let info = libc::dlsym(h, c"SB2_PRELOAD_INFO".as_ptr()) as *const PreloadInfo;
        if info.is_null() || (*info).abi != ABI {
            bail!(
                "{} has no hook table of this sb2-show's version",
                lib.display()
            );
        }
        let rows: &[HookRow] = std::slice::from_raw_parts((*info).hooks, (*info).n_hooks);
        let s = |p: *const libc::c_char| std::ffi::CStr::from_ptr(p).to_string_lossy().into_owned();
        println!("# {} hooked functions in {}", rows.len(), lib.display());
        for r in rows {
            println!(
                "{:<24} {:<5} {}",
                s(r.name),
                s(r.family),
                s(r.decl).split_whitespace().collect::<Vec<_>>().join(" ")
            );
        }
    }
    Ok(())
}
