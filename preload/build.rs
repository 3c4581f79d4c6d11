//! Links the unwinder statically (libgcc_eh.a, placed before std's
//! `-lgcc_s` so the linker's --as-needed drops libgcc_s.so.1): every exec
//! in a session loads libsb2.so, and each extra shared library costs about
//! 0.1 ms per exec on a typical VM. Without a libgcc_eh.a the library
//! simply keeps depending on libgcc_s.so.1.
use std::process::Command;

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    let cc = std::env::var("CC").unwrap_or_else(|_| "cc".into());
    let Ok(out) = Command::new(cc)
        .arg("-print-file-name=libgcc_eh.a")
        .output()
    else {
        return;
    };
    let path = std::path::PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
    if !path.is_absolute() || !path.exists() {
        return;
    }
    if let Some(dir) = path.parent() {
        println!("cargo:rustc-link-search=native={}", dir.display());
        println!("cargo:rustc-link-lib=static:-bundle,+verbatim=libgcc_eh.a");
    }
}
