//! A real arm64 Debian root file system (scripts/make-arm64-rootfs) as a
//! target: Debian's cross compiler, run in a `simple` session, links a
//! library that exists only in the target root through the absolute
//! symlinks the packages ship, resolved in the virtual view.

use sb2_tests::*;
use std::path::PathBuf;

fn rootfs() -> PathBuf {
    let p = std::env::var_os("SB2_TEST_ARM64_ROOTFS").map(PathBuf::from).unwrap_or_else(|| {
        panic!("SB2_TEST_ARM64_ROOTFS is not set: make one with `sudo scripts/make-arm64-rootfs DIR` (scripts/test does)")
    });
    assert!(
        p.join("usr/include/zlib.h").exists(),
        "{} is not an arm64 root made by scripts/make-arm64-rootfs",
        p.display()
    );
    p
}

#[test]
fn cross_link_finds_target_only_library_through_absolute_symlinks() {
    require("aarch64-linux-gnu-gcc");
    require("aarch64-linux-gnu-readelf");
    require("qemu-aarch64");
    let root = rootfs();
    let w = World::new("cross");
    // No -s: a real root passes sb2-init's sanity check.
    let o = w
        .cmd(bin_dir().join("sb2-init"))
        .current_dir(&root)
        .args(["-A", "aarch64", "-c", "qemu-aarch64", "arm64"])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", text(&o));
    w.write("prog.c", "#include <stdio.h>\n#include <zlib.h>\nint main(void) { printf(\"zlib %s\\n\", zlibVersion()); return 0; }\n");

    // In the session: /usr/lib/aarch64-linux-gnu/libz.so -> /lib/... is
    // resolved inside the target, so ld links libz.so.1 dynamically.
    let o = w.sb2(&[
        "-t",
        "arm64",
        "aarch64-linux-gnu-gcc",
        "-o",
        "prog",
        "prog.c",
        "-lz",
    ]);
    assert!(o.status.success(), "{}", text(&o));
    let elf = w
        .cmd("aarch64-linux-gnu-readelf")
        .args(["-d", "prog"])
        .output()
        .unwrap();
    assert!(
        stdout(&elf).contains("Shared library: [libz.so.1]"),
        "{}",
        text(&elf)
    );
    let run = w
        .cmd("qemu-aarch64")
        .arg("-L")
        .arg(&root)
        .arg("./prog")
        .output()
        .unwrap();
    assert!(stdout(&run).starts_with("zlib 1."), "{}", text(&run));

    // Outside a session, --sysroot cannot follow that absolute link: ld
    // silently falls back to the static libz.a (the trap sb2 avoids).
    let o = w
        .cmd("aarch64-linux-gnu-gcc")
        .arg(format!("--sysroot={}", root.display()))
        .args(["-o", "prog2", "prog.c", "-lz"])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", text(&o));
    let elf = w
        .cmd("aarch64-linux-gnu-readelf")
        .args(["-d", "prog2"])
        .output()
        .unwrap();
    assert!(!stdout(&elf).contains("libz.so.1"), "{}", text(&elf));

    // sb2-show says how: the symlink was followed inside the target.
    let o = w.sb2(&[
        "-t",
        "arm64",
        "sb2-show",
        "path",
        "/usr/lib/aarch64-linux-gnu/libz.so",
    ]);
    let s = stdout(&o);
    assert!(
        s.contains("(resolved: /usr/lib/aarch64-linux-gnu/libz.so.1.")
            || s.contains("(resolved: /lib/aarch64-linux-gnu/libz.so.1."),
        "{}",
        text(&o)
    );
    assert!(
        s.contains(&format!("=> {}/", root.display())),
        "{}",
        text(&o)
    );
}
