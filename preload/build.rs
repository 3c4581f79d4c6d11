//! Links the unwinder statically (libgcc_eh.a, placed before std's
//! `-lgcc_s` so the linker's --as-needed drops libgcc_s.so.1): every exec
//! in a session loads libsb2.so, and each extra shared library costs about
//! 0.1 ms per exec on a typical VM. Without a libgcc_eh.a the library
//! simply keeps depending on libgcc_s.so.1.
//!
//! Also compiles src/variadic.c (execl, execle, execlp: C-variadic, which
//! stable Rust cannot define) into a static archive linked whole, and adds
//! a version script exporting those names (rustc's own exports only Rust
//! symbols).
use std::process::Command;

fn variadic(cc: &str) {
    println!("cargo:rerun-if-changed=src/variadic.c");
    println!("cargo:rerun-if-changed=variadic.map");
    let out = std::path::PathBuf::from(std::env::var("OUT_DIR").expect("OUT_DIR"));
    let obj = out.join("variadic.o");
    let lib = out.join("libsb2variadic.a");
    let ok = Command::new(cc)
        .args([
            "-O2",
            "-fPIC",
            "-Wall",
            "-Werror",
            "-c",
            "src/variadic.c",
            "-o",
        ])
        .arg(&obj)
        .status()
        .is_ok_and(|s| s.success());
    assert!(ok, "compiling src/variadic.c failed");
    let _ = std::fs::remove_file(&lib);
    let ok = Command::new("ar")
        .arg("rcs")
        .arg(&lib)
        .arg(&obj)
        .status()
        .is_ok_and(|s| s.success());
    assert!(ok, "ar of variadic.o failed");
    println!("cargo:rustc-link-search=native={}", out.display());
    println!("cargo:rustc-link-lib=static:+whole-archive=sb2variadic");
    let map = std::path::Path::new(&std::env::var("CARGO_MANIFEST_DIR").expect("dir"))
        .join("variadic.map");
    println!(
        "cargo:rustc-cdylib-link-arg=-Wl,--version-script={}",
        map.display()
    );
}

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    let cc = std::env::var("CC").unwrap_or_else(|_| "cc".into());
    variadic(&cc);
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
