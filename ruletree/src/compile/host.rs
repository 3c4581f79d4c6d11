//! The loader of an exec policy's root (`native_app_root`): which ld.so of
//! this host's machine the root holds and which library directories it
//! searches, found once at compile time so an exec needs no directory scan.

use std::path::{Path, PathBuf};

// The host's loader and multiarch directory (`lib/<this>`).
#[cfg(target_arch = "x86_64")]
const HOST_LD_SO: &str = "ld-linux-x86-64.so.2";
#[cfg(target_arch = "x86_64")]
const HOST_MULTIARCH: &str = "x86_64-linux-gnu";
#[cfg(target_arch = "aarch64")]
const HOST_LD_SO: &str = "ld-linux-aarch64.so.1";
#[cfg(target_arch = "aarch64")]
const HOST_MULTIARCH: &str = "aarch64-linux-gnu";
#[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
const HOST_LD_SO: &str = "ld-linux.so.2";
#[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
const HOST_MULTIARCH: &str = "unknown-linux-gnu";

/// Library directories of a root for its ld.so's `--library-path`, and the
/// ld.so itself: the multiarch and plain lib dirs that exist, and the first
/// `ld-linux*.so*` that is a regular file in them (no symlink is followed:
/// a root's absolute links point into the root, not at the host).
pub(super) fn root_loader(root: &str) -> (Vec<u8>, Vec<u8>) {
    let mut dirs = Vec::new();
    for base in ["lib", "usr/lib", "lib64", "usr/lib64"] {
        let b = Path::new(root).join(base);
        if let Ok(rd) = std::fs::read_dir(&b) {
            let mut multi: Vec<PathBuf> = rd
                .flatten()
                .map(|e| e.path())
                .filter(|p| {
                    p.is_dir()
                        && p.file_name()
                            .and_then(|n| n.to_str())
                            .is_some_and(|n| n == HOST_MULTIARCH)
                })
                .collect();
            multi.sort();
            dirs.extend(multi);
        }
        if b.is_dir() {
            dirs.push(b);
        }
    }
    let mut ld_so = Vec::new();
    'found: for d in &dirs {
        if let Ok(rd) = std::fs::read_dir(d) {
            let mut names: Vec<PathBuf> = rd.flatten().map(|e| e.path()).collect();
            names.sort();
            for p in names {
                let n = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
                // The loader for programs of this host's machine only.
                if n == HOST_LD_SO {
                    if let Ok(md) = std::fs::symlink_metadata(&p) {
                        if md.is_file() {
                            ld_so = p.display().to_string().into_bytes();
                            break 'found;
                        }
                    }
                }
            }
        }
    }
    // Dedupe (lib may be a link to usr/lib): keep the first spelling.
    let mut seen = std::collections::HashSet::new();
    let lp: Vec<String> = dirs
        .iter()
        .filter(|d| seen.insert(std::fs::canonicalize(d).unwrap_or_else(|_| (*d).clone())))
        .map(|d| d.display().to_string())
        .collect();
    (ld_so, lp.join(":").into_bytes())
}
