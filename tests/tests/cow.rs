//! `sb2 -c`, the private copy-on-write view of the target root: what a
//! session writes into the root (plain and virtual-root programs, tar and
//! dpkg-deb extraction, an arm64 program under qemu) is seen in the
//! session and lands in the layer; the target root stays byte for byte
//! what it was (owners, modes, sizes, times and checksums compared);
//! `-S` keeps the layer for `-J`, `-D` drops it; a refused namespace is
//! exit status 125 with one line, never a session without the layer.

use sb2_tests::*;
use std::path::{Path, PathBuf};

/// A small host-architecture target root owned by the test's user (so
/// that it is writable, as a root one builds into is).
fn own_root(w: &World, name: &str) -> PathBuf {
    let root = w.dir.join("root");
    let d = root.display();
    setup_sh(&format!(
        "set -e; mkdir -p {d}/usr/bin {d}/etc {d}/data/sub {d}/opt {d}/var/lib/dpkg
         echo target > {d}/etc/hostname
         echo 'from the target' > {d}/data/file
         echo 'to be removed' > {d}/data/gone
         echo deep > {d}/data/sub/deep
         printf '#!/bin/sh\\necho hi\\n' > {d}/data/keep.sh && chmod 644 {d}/data/keep.sh
         echo ro > {d}/data/ro && chmod 444 {d}/data/ro
         ln -s file {d}/data/link
         touch -d '2001-02-03 04:05:06' {d}/data/file {d}/data {d}/etc"
    ));
    w.init_target(&root, name, &["-A", std::env::consts::ARCH]);
    root
}

/// A tarball and a .deb, each installing usr/share/pkg/{a,b} and
/// replacing etc/hostname.
fn packages(w: &World) -> (PathBuf, PathBuf) {
    require("dpkg-deb");
    let s = w.dir.join("pkgsrc");
    let d = s.display();
    setup_sh(&format!(
        "set -e; mkdir -p {d}/usr/share/pkg {d}/etc {d}/DEBIAN
         echo a > {d}/usr/share/pkg/a; echo b > {d}/usr/share/pkg/b; echo packaged > {d}/etc/hostname
         printf 'Package: cowpkg\\nVersion: 1\\nArchitecture: all\\nMaintainer: t <t@t>\\nDescription: t\\n' > {d}/DEBIAN/control
         tar cf {w}/pkg.tar -C {d} usr etc
         dpkg-deb --root-owner-group -b {d} {w}/pkg.deb >/dev/null",
        w = w.dir.display()
    ));
    (w.dir.join("pkg.tar"), w.dir.join("pkg.deb"))
}

#[test]
fn cow_session_writes_go_to_the_layer_and_the_target_is_unchanged() {
    let w = World::new("cow-writes");
    let root = own_root(&w, "cowt");
    let (tar, deb) = packages(&w);
    // A static program bypasses the preload: only the kernel's layer
    // catches its write.
    w.write(
        "static.c",
        "#include <fcntl.h>\n#include <unistd.h>\nint main(int c, char **v) { int fd = open(v[1], O_WRONLY|O_TRUNC); return fd < 0 || write(fd, \"static\\n\", 7) != 7; }\n",
    );
    setup_sh(&format!(
        "cd {} && gcc -static -o static static.c",
        w.work.display()
    ));
    let before = tree_snapshot(&root);
    let script = format!(
        "set -e; R={r}
         echo changed > $R/data/file
         echo new > $R/data/new && chmod 600 $R/data/new && chown 123:456 $R/data/new
         chmod 755 $R/data/keep.sh
         rm $R/data/gone; rm -r $R/data/sub; rm $R/data/link
         mkdir $R/opt/x && ln -s ../../data/file $R/opt/x/l
         mv $R/etc/hostname $R/etc/hostname.old
         tar xf {tar} -C $R
         dpkg-deb -x {deb} $R/opt/x
         chmod 644 $R/data/ro && ./static $R/data/ro
         cat $R/data/ro $R/data/file $R/opt/x/l $R/etc/hostname $R/usr/share/pkg/a $R/opt/x/usr/share/pkg/b
         stat -c '%u %g %a' $R/data/new $R/data/keep.sh
         ls $R/data
         test ! -e $R/data/gone && test ! -e $R/data/sub && echo removed",
        r = root.display(),
        tar = tar.display(),
        deb = deb.display()
    );
    let o = w.sh(&["-t", "cowt", "-c", "-R"], &script);
    assert!(o.status.success(), "{}", text(&o));
    assert_eq!(
        stdout(&o),
        "static\nchanged\nchanged\npackaged\na\nb\n123 456 600\n0 0 755\nfile\nkeep.sh\nnew\nro\nremoved\n",
        "{}",
        text(&o)
    );
    assert_eq!(tree_snapshot(&root), before, "the target root changed");
    // The same writes without -c would have changed it: the check sees it.
    let o = w.sh(
        &["-t", "cowt"],
        &format!("echo x > {}/data/file", root.display()),
    );
    assert!(o.status.success(), "{}", text(&o));
    assert_ne!(tree_snapshot(&root), before);
}

#[test]
fn cow_starts_in_the_view_when_the_cwd_is_in_the_root() {
    let w = World::new("cow-cwd");
    let root = own_root(&w, "cowc");
    let before = tree_snapshot(&root);
    let o = w
        .cmd(bin_dir().join("sb2"))
        .current_dir(root.join("data"))
        .args([
            "-t",
            "cowc",
            "-c",
            "sh",
            "-c",
            "echo here > file; cat file; pwd",
        ])
        .output()
        .unwrap();
    assert_eq!(
        stdout(&o),
        format!("here\n{}/data\n", root.display()),
        "{}",
        text(&o)
    );
    assert_eq!(tree_snapshot(&root), before);
}

/// The session directory a persistent session's info file names.
fn session_dir(info: &Path) -> PathBuf {
    let t = std::fs::read_to_string(info).unwrap();
    PathBuf::from(
        t.lines()
            .find_map(|l| l.strip_prefix("SESSION_DIR="))
            .expect("SESSION_DIR"),
    )
}

#[test]
fn cow_layer_is_kept_with_s_seen_by_j_and_dropped_by_d() {
    let w = World::new("cow-persist");
    let root = own_root(&w, "cowp");
    let before = tree_snapshot(&root);
    let info = w.dir.join("session");
    let i = info.to_str().unwrap();
    let r = root.display();
    let o = w.sh(
        &["-t", "cowp", "-S", i, "-c"],
        &format!("echo kept > {r}/data/file && rm {r}/data/gone"),
    );
    assert!(o.status.success(), "{}", text(&o));
    assert_eq!(tree_snapshot(&root), before);
    let dir = session_dir(&info);
    assert_eq!(
        std::fs::read_to_string(dir.join("cow/upper/data/file")).unwrap(),
        "kept\n"
    );
    // A join sees the layer, with or without -c, and writes into it.
    for extra in [&[][..], &["-c"][..]] {
        let mut a = vec!["-J", i];
        a.extend(extra);
        let o = w.sh(
            &a,
            &format!(
                "cat {r}/data/file; test -e {r}/data/gone || echo gone; echo more >> {r}/data/file"
            ),
        );
        assert!(o.status.success(), "{}", text(&o));
        assert!(stdout(&o).starts_with("kept\n"), "{}", text(&o));
        assert!(stdout(&o).contains("gone\n"), "{}", text(&o));
    }
    assert_eq!(
        std::fs::read_to_string(dir.join("cow/upper/data/file")).unwrap(),
        "kept\nmore\nmore\n"
    );
    assert_eq!(tree_snapshot(&root), before);
    let o = w.sb2(&["-D", i]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(!dir.exists() && !info.exists());
    assert_eq!(tree_snapshot(&root), before);

    // A persistent session made without -c has no layer to join.
    let o = w.sb2(&["-t", "cowp", "-S", i, "true"]);
    assert!(o.status.success(), "{}", text(&o));
    let o = w.sb2(&["-J", i, "-c", "true"]);
    assert_eq!(o.status.code(), Some(125), "{}", text(&o));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("no copy-on-write layer"),
        "{}",
        text(&o)
    );
    let o = w.sb2(&["-D", i]);
    assert!(o.status.success(), "{}", text(&o));
}

#[test]
fn cow_arm64_program_under_qemu_writes_into_the_layer() {
    require("qemu-aarch64");
    let arm = std::env::var_os("SB2_TEST_ARM64_ROOTFS").map(PathBuf::from).unwrap_or_else(|| {
        panic!("SB2_TEST_ARM64_ROOTFS is not set: make one with `sudo scripts/make-arm64-rootfs DIR` (scripts/test does)")
    });
    let w = World::new("cow-arm64");
    // A root the user owns, with what busybox needs from the arm64 root.
    let root = w.dir.join("root");
    let (d, a) = (root.display(), arm.display());
    setup_sh(&format!(
        "set -e; mkdir -p {d}/usr/lib/aarch64-linux-gnu {d}/data
         ln -s usr/lib {d}/lib
         for l in ld-linux-aarch64.so.1 libc.so.6 libresolv.so.2; do
           cp -L {a}/usr/lib/aarch64-linux-gnu/$l {d}/usr/lib/aarch64-linux-gnu/; done
         ln -s aarch64-linux-gnu/ld-linux-aarch64.so.1 {d}/usr/lib/ld-linux-aarch64.so.1
         echo 'from the target' > {d}/data/file; echo x > {d}/data/gone
         cp {a}/usr/bin/busybox {w}/busybox",
        w = w.work.display()
    ));
    w.init_target(&root, "cowarm", &["-A", "aarch64", "-c", "qemu-aarch64"]);
    let before = tree_snapshot(&root);
    let info = w.dir.join("session");
    let i = info.to_str().unwrap();
    // busybox sh is arm64 (qemu); its `./busybox` children reach qemu
    // through the preload's binfmt_misc namespace, nested in -c's. qemu
    // opens /data/file in the target root (it exists there); other calls
    // (unlink, a new file) name the root by its host path.
    let o = w.sb2(&[
        "-t",
        "cowarm",
        "-S",
        i,
        "-c",
        "./busybox",
        "sh",
        "-c",
        &format!(
            "echo arm64 > /data/file && ./busybox rm {d}/data/gone && echo new > {d}/data/new && \
             ./busybox cat /data/file {d}/data/new && ./busybox uname -m"
        ),
    ]);
    assert_eq!(stdout(&o), "arm64\nnew\naarch64\n", "{}", text(&o));
    assert_eq!(tree_snapshot(&root), before, "the target root changed");
    let dir = session_dir(&info);
    let upper = dir.join("cow/upper/data");
    assert_eq!(
        std::fs::read_to_string(upper.join("file")).unwrap(),
        "arm64\n"
    );
    assert_eq!(std::fs::read_to_string(upper.join("new")).unwrap(), "new\n");
    let o = w.sb2(&["-D", i]);
    assert!(o.status.success(), "{}", text(&o));
}

#[test]
fn cow_refusals_are_125_with_one_line() {
    require("unshare");
    let w = World::new("cow-refused");
    let root = own_root(&w, "cowr");
    let before = tree_snapshot(&root);
    let one_line = |o: &std::process::Output, want: &[&str]| {
        let e = String::from_utf8_lossy(&o.stderr).into_owned();
        assert_eq!(o.status.code(), Some(125), "{}", text(o));
        assert_eq!(e.lines().count(), 1, "{}", text(o));
        for s in want {
            assert!(e.contains(s), "{s}: {}", text(o));
        }
    };
    // No user namespaces: max_user_namespaces is per user namespace, so
    // set it to 0 in one of our own and run sb2 there.
    let o = w
        .cmd_without_user_namespaces(bin_dir().join("sb2"))
        .args(["-t", "cowr", "-c", "sh", "-c"])
        .arg(format!("echo ran > {}/data/file", root.display()))
        .output()
        .unwrap();
    one_line(
        &o,
        &["-c: cannot create a user namespace", "max_user_namespaces"],
    );
    assert_eq!(tree_snapshot(&root), before);
    // A session directory inside the root: refused before it is made.
    let inside = root.join("session");
    let o = w.sb2(&["-t", "cowr", "-W", inside.to_str().unwrap(), "-c", "true"]);
    one_line(&o, &["overlap", "-W"]);
    assert_eq!(tree_snapshot(&root), before);
    // The host target's root is / : not what -c is for.
    let o = w.sb2(&["-t", "host", "-c", "true"]);
    one_line(&o, &["-c", "-t"]);
}
