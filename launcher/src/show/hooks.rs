//! The preload's hook declarations, read from the library itself:
//! `sb2-show hooks` prints them, and `sb2-show -f FUNC` (and anything else
//! that needs a function's class) looks the function up in them. There is
//! no second list: what the tool says is what `libsb2.so` does, because it
//! loads the very library that runs.

use anyhow::{bail, Result};
use sb2_ruletree::abi::{HookInfo, HookRow, PreloadInfo, ABI, NO_ARG};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

/// Every row of the hook table of the `libsb2.so` at `lib`.
pub fn load(lib: &Path) -> Result<Vec<HookInfo>> {
    let c = std::ffi::CString::new(lib.as_os_str().as_bytes())?;
    // SAFETY: dlopen/dlsym with NUL-terminated strings; the symbol is the
    // PreloadInfo static of libsb2.so (ABI checked before any other field
    // is read), which points to `n_hooks` static rows. The library is never
    // closed, so the rows stay valid while we copy them.
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
        Ok(rows.iter().map(HookInfo::from_row).collect())
    }
}

/// The rows of the installed `libsb2.so` (see `install::libsb2`).
pub fn load_installed() -> Result<(std::path::PathBuf, Vec<HookInfo>)> {
    let lib = crate::install::libsb2()?;
    let rows = load(&lib)?;
    Ok((lib, rows))
}

/// `sb2-show hooks`.
pub fn print() -> Result<()> {
    let (lib, rows) = load_installed()?;
    println!("# {} hooked functions in {}", rows.len(), lib.display());
    print!("{}", render(&rows));
    Ok(())
}

/// The declaration of a hooked function, as the hook table has it.
pub fn find<'r>(rows: &'r [HookInfo], func: &str) -> Result<&'r HookInfo> {
    match rows.iter().find(|r| r.name == func) {
        Some(r) => Ok(r),
        None => {
            let mut near: Vec<&str> = rows
                .iter()
                .map(|r| r.name.as_str())
                .filter(|n| n.contains(func) || func.contains(*n))
                .collect();
            near.truncate(6);
            if near.is_empty() {
                bail!("{func} is not a hooked function (see `sb2-show hooks`)")
            }
            bail!(
                "{func} is not a hooked function; similar: {} (see `sb2-show hooks`)",
                near.join(", ")
            )
        }
    }
}

/// Class bits as names (`OPEN|CREAT`), `-` for none.
pub fn class_names(c: u32) -> String {
    let mut s = String::new();
    sb2_ruletree::class::describe(c, &mut s);
    if c & sb2_ruletree::class::CHECK != 0 {
        if !s.is_empty() {
            s.push('|');
        }
        s.push_str("CHECK");
    }
    if s.is_empty() {
        s.push('-');
    }
    s
}

fn arg(i: i8) -> String {
    if i == NO_ARG {
        "-".into()
    } else {
        i.to_string()
    }
}

/// The table as text: one row per function, aliases pointing at their base.
pub fn render(rows: &[HookInfo]) -> String {
    let mut out = format!(
        "{:<24} {:<6} {:<16} {:<10} {:<10} {:<6} {:<6} {:<4} {}\n",
        "# function", "family", "class", "follow", "write", "path", "dirfd", "fd", "alias-of"
    );
    for r in rows {
        let path = if r.path2 == NO_ARG {
            arg(r.path)
        } else {
            format!("{},{}", arg(r.path), arg(r.path2))
        };
        let dirfd = if r.dirfd2 == NO_ARG {
            arg(r.dirfd)
        } else {
            format!("{},{}", arg(r.dirfd), arg(r.dirfd2))
        };
        out.push_str(&format!(
            "{:<24} {:<6} {:<16} {:<10} {:<10} {:<6} {:<6} {:<4} {}\n",
            r.name,
            r.family,
            class_names(r.class),
            r.follow.name(),
            r.write.name(),
            path,
            dirfd,
            arg(r.fd),
            r.alias_of.as_deref().unwrap_or("-")
        ));
    }
    out
}
