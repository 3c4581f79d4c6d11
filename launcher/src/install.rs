//! Locating sb2's own files: libsb2.so next to the `sb2` binary (as cargo
//! builds it and as `make install`-style layouts keep it), and the `rules/`
//! directory (installed `share/sb2/rules`, or the source tree).

use anyhow::{bail, Result};
use std::path::{Path, PathBuf};

/// Directory of the running executable.
pub fn exe_dir() -> Result<PathBuf> {
    let exe = std::env::current_exe()?;
    Ok(exe
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("/")))
}

/// Absolute path of libsb2.so.
pub fn libsb2() -> Result<PathBuf> {
    if let Some(p) = std::env::var_os("SB2_LIBSB2") {
        return Ok(PathBuf::from(p));
    }
    let d = exe_dir()?;
    for c in [d.join("libsb2.so"), d.join("../lib/sb2/libsb2.so")] {
        if c.exists() {
            return Ok(c.canonicalize()?);
        }
    }
    bail!(
        "libsb2.so not found next to {} (build it with `cargo build --release`)",
        d.display()
    )
}

/// The rules directory (modes/, lib/, net/).
pub fn rules_dir() -> Result<PathBuf> {
    if let Some(p) = std::env::var_os("SB2_RULES_DIR") {
        return Ok(PathBuf::from(p));
    }
    let d = exe_dir()?;
    let candidates = [
        d.join("../share/sb2/rules"),
        d.join("../../rules"),
        PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../rules")),
    ];
    for c in &candidates {
        if c.join("modes").is_dir() {
            return Ok(c.canonicalize()?);
        }
    }
    bail!(
        "sb2 rule files not found (looked in {})",
        candidates
            .iter()
            .map(|c| c.display().to_string())
            .collect::<Vec<_>>()
            .join(", ")
    )
}

/// Mapping modes available: directories under `rules/modes` (a symlink is
/// an alias, e.g. devel → accel).
pub fn modes(rules: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(rules.join("modes"))
        .map(|rd| {
            rd.filter_map(|e| e.ok())
                .filter(|e| e.path().join("fs_rules.lua").exists())
                .filter_map(|e| e.file_name().into_string().ok())
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}
