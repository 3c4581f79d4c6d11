//! Links the unwinder statically (libgcc_eh.a, placed before std's
//! `-lgcc_s` so the linker's --as-needed drops libgcc_s.so.1): every exec
//! in a session loads libsb2.so, and each extra shared library costs about
//! 0.1 ms per exec on a typical VM. Without a libgcc_eh.a the library
//! simply keeps depending on libgcc_s.so.1.
//!
//! The unwinder linked is a copy of libgcc_eh.a whose references to glibc
//! are rewritten for the library's glibc floor (see `floor_unwinder` and
//! src/glibc_floor.c).
//!
//! Also compiles src/variadic.c (execl, execle, execlp: C-variadic, which
//! stable Rust cannot define) and src/glibc_floor.c into a static archive
//! linked whole, and adds a version script exporting the variadic names
//! (rustc's own exports only Rust symbols).
use std::path::{Path, PathBuf};
use std::process::Command;

fn out_dir() -> PathBuf {
    PathBuf::from(std::env::var("OUT_DIR").expect("OUT_DIR"))
}

/// glibc's first symbol version on the target architecture, as in
/// src/glibc_floor.c; None where we do not pin versions.
fn glibc_base() -> Option<&'static str> {
    match std::env::var("CARGO_CFG_TARGET_ARCH").ok()?.as_str() {
        "x86_64" => Some("GLIBC_2.2.5"),
        "aarch64" => Some("GLIBC_2.17"),
        _ => None,
    }
}

fn c_objects(cc: &str) {
    println!("cargo:rerun-if-changed=variadic.map");
    let out = out_dir();
    let lib = out.join("libsb2c.a");
    let mut objs = Vec::new();
    for name in ["variadic", "glibc_floor"] {
        let src = format!("src/{name}.c");
        println!("cargo:rerun-if-changed={src}");
        let obj = out.join(format!("{name}.o"));
        let ok = Command::new(cc)
            .args(["-O2", "-fPIC", "-Wall", "-Werror", "-c", &src, "-o"])
            .arg(&obj)
            .status()
            .is_ok_and(|s| s.success());
        assert!(ok, "compiling {src} failed");
        objs.push(obj);
    }
    let _ = std::fs::remove_file(&lib);
    let ok = Command::new("ar")
        .arg("rcs")
        .arg(&lib)
        .args(&objs)
        .status()
        .is_ok_and(|s| s.success());
    assert!(ok, "ar of the C objects failed");
    println!("cargo:rustc-link-search=native={}", out.display());
    println!("cargo:rustc-link-lib=static:+whole-archive=sb2c");
    // No RELRO segment: the loader would make the relocated data read-only
    // after relocating it (one mprotect, the mapping split in two, and
    // the partial page between them one more page written), about 8 µs
    // per exec measured. Its GOT stays writable: libsb2 is no boundary
    // against the program it is loaded into, which can write all of its
    // memory anyway (the guarantees that hold against it are Landlock's).
    println!("cargo:rustc-cdylib-link-arg=-Wl,-z,norelro");
    // The writable segment starts on a page of its own: its 14 KiB are then
    // 4 pages for the loader to write, not 5 when the code before it
    // happens to end late in a page (a few hundred bytes of code more made
    // every exec 2 faults dearer).
    println!("cargo:rustc-cdylib-link-arg=-Wl,-z,separate-loadable-segments");
    // The code's layout: what every process and every exec runs, first
    // (see layout.ld).
    let layout = Path::new(&std::env::var("CARGO_MANIFEST_DIR").expect("dir")).join("layout.ld");
    println!("cargo:rerun-if-changed={}", layout.display());
    println!("cargo:rustc-cdylib-link-arg=-Wl,-T,{}", layout.display());
    let map = Path::new(&std::env::var("CARGO_MANIFEST_DIR").expect("dir")).join("variadic.map");
    println!(
        "cargo:rustc-cdylib-link-arg=-Wl,--version-script={}",
        map.display()
    );
}

/// The weak pthread references of libgcc's thread layer (gthr-posix.h):
/// glibc 2.34 moved these into libc.so.6 under a new version, but its
/// libc.so.6 still defines each at the base version too (older glibc: in
/// libpthread.so.0, at that version; weak, so null in a program without
/// it, and libgcc then takes itself as single-threaded, as it always has).
const UNWINDER_PTHREAD: &[&str] = &[
    "__pthread_key_create",
    "pthread_once",
    "pthread_key_create",
    "pthread_getspecific",
    "pthread_setspecific",
    "pthread_mutex_lock",
    "pthread_mutex_unlock",
];

/// A copy of libgcc_eh.a (the unwinder: `gcc_eh`) in OUT_DIR with its
/// glibc references rewritten: each pthread one names the base version
/// (`pthread_once@GLIBC_2.2.5`: the spelling `.symver` gives a versioned
/// reference in an object, which the linker honours), and
/// _dl_find_object (glibc 2.35, no older version) becomes
/// sb2_dl_find_object, defined in src/glibc_floor.c. Elsewhere than
/// x86_64 and aarch64, the archive as it is.
fn floor_unwinder(cc: &str, archive: &Path) -> PathBuf {
    let Some(base) = glibc_base() else {
        return archive.to_path_buf();
    };
    let copy = out_dir().join("libsb2gcc_eh.a");
    // The cross objcopy for a cross compiler (aarch64-linux-gnu-gcc).
    let objcopy = std::env::var("OBJCOPY").unwrap_or_else(|_| {
        let name = Path::new(cc)
            .file_name()
            .map(|n| n.to_string_lossy().into_owned());
        match name.as_deref().and_then(|n| n.strip_suffix("gcc")) {
            Some(prefix) if prefix.ends_with('-') => format!("{prefix}objcopy"),
            _ => "objcopy".into(),
        }
    });
    let mut cmd = Command::new(&objcopy);
    for sym in UNWINDER_PTHREAD {
        cmd.arg(format!("--redefine-sym={sym}={sym}@{base}"));
    }
    cmd.arg("--redefine-sym=_dl_find_object=sb2_dl_find_object");
    let ok = cmd
        .arg(archive)
        .arg(&copy)
        .status()
        .is_ok_and(|s| s.success());
    assert!(
        ok,
        "{objcopy} {} {} failed: binutils is needed (set OBJCOPY for a cross build)",
        archive.display(),
        copy.display()
    );
    copy
}

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-env-changed=CC");
    println!("cargo:rerun-if-env-changed=OBJCOPY");
    let cc = std::env::var("CC").unwrap_or_else(|_| "cc".into());
    c_objects(&cc);
    let Ok(out) = Command::new(&cc)
        .arg("-print-file-name=libgcc_eh.a")
        .output()
    else {
        return;
    };
    let path = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
    if !path.is_absolute() || !path.exists() {
        return;
    }
    let archive = floor_unwinder(&cc, &path);
    if let (Some(dir), Some(name)) = (archive.parent(), archive.file_name()) {
        println!("cargo:rustc-link-search=native={}", dir.display());
        println!(
            "cargo:rustc-link-lib=static:-bundle,+verbatim={}",
            name.to_string_lossy()
        );
    }
}
