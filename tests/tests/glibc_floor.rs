//! libsb2.so loads into the programs of older target roots: no symbol it
//! references needs a glibc newer than Debian bullseye's 2.31 (on aarch64,
//! the base is 2.17; the same bound holds). preload/src/glibc_floor.c and
//! preload/build.rs keep it there; a dependency or a build host that pulls
//! in a newer symbol version fails here, by name.

use sb2_tests::*;

/// Debian bullseye's glibc.
const FLOOR: (u32, u32) = (2, 31);

/// "2.2.5" -> (2, 2): major and minor, what glibc's versions differ by.
fn major_minor(v: &str) -> Option<(u32, u32)> {
    let mut it = v.split('.');
    let major = it.next()?.parse().ok()?;
    let minor = it.next()?.parse().ok()?;
    Some((major, minor))
}

#[test]
fn libsb2_needs_no_glibc_newer_than_bullseye() {
    require("objdump");
    let lib = bin_dir().join("libsb2.so");
    let o = std::process::Command::new("objdump")
        .arg("-T")
        .arg(&lib)
        .output()
        .expect("objdump -T");
    assert!(
        o.status.success(),
        "objdump -T {}: {}",
        lib.display(),
        text(&o)
    );
    let mut seen = 0;
    let mut too_new = Vec::new();
    for line in stdout(&o).lines() {
        // "0000000000000000  w   DF *UND*  0000000000000000 (GLIBC_2.2.5) dlsym"
        let Some(at) = line.find("GLIBC_") else {
            continue;
        };
        let version: String = line[at + "GLIBC_".len()..]
            .chars()
            .take_while(|c| c.is_ascii_digit() || *c == '.')
            .collect();
        let Some(v) = major_minor(&version) else {
            continue; // GLIBC_PRIVATE
        };
        seen += 1;
        if v > FLOOR {
            let symbol = line.split_whitespace().last().unwrap_or("?");
            too_new.push(format!("{symbol} (GLIBC_{version})"));
        }
    }
    assert!(
        seen > 0,
        "objdump -T {} lists no GLIBC_ version: not a glibc build?\n{}",
        lib.display(),
        text(&o)
    );
    assert!(
        too_new.is_empty(),
        "{} needs a glibc newer than {}.{} (bullseye), so it cannot load into programs of older \
         roots; pin these in preload/src/glibc_floor.c or preload/build.rs:\n  {}",
        lib.display(),
        FLOOR.0,
        FLOOR.1,
        too_new.join("\n  ")
    );
}
