//! Locating files: sb2's own (libsb2.so next to the `sb2` binary, as cargo
//! builds it and as `make install`-style layouts keep it; the `rules/`
//! directory, installed `share/sb2/rules` or the source tree) and the
//! programs a target names (compilers, CPU transparency commands).

use anyhow::{bail, Result};
use sb2_ruletree::contract::{LIBSB2_VAR, RULES_DIR_VAR};
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
    if let Some(p) = std::env::var_os(LIBSB2_VAR) {
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
    if let Some(p) = std::env::var_os(RULES_DIR_VAR) {
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

/// Finds `prog` in PATH (or checks it if it has a `/`) and returns it
/// absolute but with symlinks kept: a compiler's name
/// (aarch64-linux-gnu-gcc) gives the tool prefix, its target (gcc-12)
/// would not.
pub fn which(prog: &str) -> Option<PathBuf> {
    if prog.contains('/') {
        let p = std::path::absolute(prog).ok()?;
        return p.is_file().then_some(p);
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join(prog))
        .find(|p| p.is_file())
}

/// The caller's PATH, or the one execvp uses without it.
pub fn path_var() -> std::ffi::OsString {
    std::env::var_os("PATH").unwrap_or_else(|| sb2_ruletree::contract::DEFAULT_PATH.into())
}
