//! Debian targets end to end: roots made by `sb2-mkroot` without root
//! (scripts/test makes them as a third, unprivileged user and caches
//! them), packages installed into a target in `-m install`, and Debian
//! source packages cross-built by `dpkg-buildpackage` in `sb2 -t arm64`.

use sb2_tests::*;
use std::path::{Path, PathBuf};

fn env_path(var: &str, what: &str) -> PathBuf {
    std::env::var_os(var)
        .map(PathBuf::from)
        .unwrap_or_else(|| panic!("{var} is not set: {what} (scripts/test makes it)"))
}

fn arm64_root() -> PathBuf {
    env_path("SB2_TEST_ARM64_ROOTFS", "an arm64 root made by sb2-mkroot")
}

fn amd64_root() -> PathBuf {
    env_path("SB2_TEST_AMD64_ROOTFS", "an amd64 root made by sb2-mkroot")
}

/// `dpkg-query -W` of PKG in ROOT's own database: "pkg:arch status".
fn query(w: &World, root: &Path, pkg: &str) -> String {
    let o = w
        .cmd("dpkg-query")
        .arg(format!("--admindir={}/var/lib/dpkg", root.display()))
        .args(["-W", "-f", "${Package}:${Architecture} ${Status}\n", pkg])
        .output()
        .unwrap();
    stdout(&o)
}

/// An arm64 target named `arm64` on ROOT, as sb2-mkroot --init makes it.
fn arm64_target(w: &World, root: &Path) {
    let o = w
        .cmd(bin_dir().join("sb2-init"))
        .current_dir(root)
        .args(["-c", "qemu-aarch64", "arm64", "aarch64-linux-gnu-gcc"])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", text(&o));
}

/// A private, writable copy of the cached arm64 root (installs must not
/// change the cache), with the `arm64` target on it.
fn arm64_copy(w: &World) -> PathBuf {
    let copy = w.dir.join("root-arm64");
    let o = w
        .cmd("cp")
        .arg("-a")
        .arg(arm64_root())
        .arg(&copy)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", text(&o));
    arm64_target(w, &copy);
    copy
}

#[test]
fn mkroot_roots_are_registered_owned_by_their_maker_and_really_chrootable() {
    require("unshare");
    let w = World::new("mkroot-roots");
    for (root, arch) in [(arm64_root(), "arm64"), (amd64_root(), "amd64")] {
        // Every package is in the root's own database.
        let q = query(&w, &root, "libc6");
        assert_eq!(
            q,
            format!("libc6:{arch} install ok installed\n"),
            "{}",
            root.display()
        );
        for pkg in ["dpkg", "apt", "coreutils", "libc6-dev", "zlib1g-dev"] {
            assert!(
                query(&w, &root, pkg).contains(" install ok installed"),
                "{pkg} in {}",
                root.display()
            );
        }
        let o = w
            .cmd("dpkg-query")
            .arg(format!("--admindir={}/var/lib/dpkg", root.display()))
            .args(["-S", "/usr/include/zlib.h"])
            .output()
            .unwrap();
        assert_eq!(
            stdout(&o),
            format!("zlib1g-dev:{arch}: /usr/include/zlib.h\n"),
            "{}",
            text(&o)
        );
        // Made without root: the files are their maker's, an ordinary user.
        let o = w
            .cmd("stat")
            .args(["-c", "%u"])
            .arg(root.join("etc/passwd"))
            .output()
            .unwrap();
        assert_ne!(stdout(&o).trim(), "0", "{}: made as root?", root.display());
        // Merged /usr, and no link points at the directory it was made in.
        for d in ["bin", "lib", "sbin"] {
            assert_eq!(
                std::fs::read_link(root.join(d)).unwrap(),
                PathBuf::from(format!("usr/{d}"))
            );
        }
        let o = w
            .cmd("find")
            .arg(&root)
            .args(["-lname", "/tmp/*", "-o", "-lname", "/var/tmp/*"])
            .output()
            .unwrap();
        assert_eq!(stdout(&o), "", "links into the host: {}", text(&o));
    }
    // The kernel's chroot (in a user namespace) into the host-architecture
    // root runs its own sh, dpkg and their libraries.
    let o = w
        .cmd("unshare")
        .args(["-rm", "chroot"])
        .arg(amd64_root())
        .args([
            "/bin/sh",
            "-c",
            "echo in root; dpkg -l libc6 | tail -1; dpkg --print-architecture",
        ])
        .output()
        .unwrap();
    let out = stdout(&o);
    assert!(
        o.status.success()
            && out.starts_with("in root\nii  libc6:amd64")
            && out.ends_with("amd64\n"),
        "{}",
        text(&o)
    );
}

#[test]
fn mkroot_says_what_is_wrong_and_installs_nothing() {
    let w = World::new("mkroot-errors");
    let mk = bin_dir().join("sb2-mkroot");
    let o = w.cmd(&mk).args(["--arch", "vax", "x"]).output().unwrap();
    assert_eq!(o.status.code(), Some(125), "{}", text(&o));
    assert!(
        text(&o).contains("unknown architecture 'vax'; valid: amd64, arm64"),
        "{}",
        text(&o)
    );
    let o = w.cmd(&mk).output().unwrap();
    assert_eq!(o.status.code(), Some(125), "{}", text(&o));
    // A directory with something in it is not filled.
    w.write("full/keep", "mine\n");
    let o = w.cmd(&mk).arg(w.work.join("full")).output().unwrap();
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(text(&o).contains("is not empty"), "{}", text(&o));
    assert_eq!(
        std::fs::read_to_string(w.work.join("full/keep")).unwrap(),
        "mine\n"
    );
    // Host tools it needs are named with their packages, not installed.
    let bin = w.dir.join("onlydpkg");
    std::fs::create_dir_all(&bin).unwrap();
    std::os::unix::fs::symlink("/usr/bin/dpkg", bin.join("dpkg")).unwrap();
    let o = w
        .cmd(&mk)
        .env("PATH", &bin)
        .args(["--arch", "arm64", "--init", "a"])
        .arg(w.work.join("new"))
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let t = text(&o);
    for want in [
        "mmdebstrap (package mmdebstrap)",
        "qemu-aarch64 (package qemu-user)",
        "aarch64-linux-gnu-gcc (package gcc-aarch64-linux-gnu)",
    ] {
        assert!(t.contains(want), "{want}: {t}");
    }
    assert!(!w.work.join("new").exists(), "{t}");
}

const PNG_C: &str = "#include <png.h>\n#include <stdio.h>\n\
int main(void) { printf(\"png %s\\n\", png_get_libpng_ver(NULL)); return 0; }\n";

#[test]
fn install_mode_apt_installs_a_target_library_that_the_next_build_links() {
    require("qemu-aarch64");
    require("aarch64-linux-gnu-readelf");
    let w = World::new("install-png");
    let root = arm64_copy(&w);
    assert_eq!(
        query(&w, &root, "libpng-dev"),
        "",
        "the cached root already has libpng-dev"
    );
    let o = w.sb2(&[
        "-t",
        "arm64",
        "-m",
        "install",
        "-R",
        "--",
        "apt-get",
        "install",
        "-y",
        "libpng-dev",
    ]);
    assert!(o.status.success(), "{}", text(&o));
    // Registered in the target's database, as arm64 packages.
    assert_eq!(
        query(&w, &root, "libpng-dev"),
        "libpng-dev:arm64 install ok installed\n"
    );
    assert!(query(&w, &root, "libpng16-16").starts_with("libpng16-16:arm64 install ok installed"));
    assert!(root.join("usr/include/libpng16/png.h").exists());
    // The next build finds header, library and pkg-config file.
    w.write("p.c", PNG_C);
    let o = w.sh(
        &["-t", "arm64", "--trace", "trace.json"],
        "gcc $(pkg-config --cflags libpng) p.c -o p $(pkg-config --libs libpng)",
    );
    assert!(o.status.success(), "{}", text(&o));
    // The build's report names the target's packages it used, from the
    // target's database, apart from the host's tools.
    let o = w
        .cmd(bin_dir().join("sb2-logz"))
        .args(["--report", "trace.json", "--tree", "."])
        .output()
        .unwrap();
    let report = stdout(&o);
    let target = report
        .split_once(&format!("packages (target {}):", root.display()))
        .map(|x| x.1)
        .unwrap_or_else(|| panic!("no target section: {report}"));
    for pkg in ["libpng-dev:arm64", "libpng16-16:arm64"] {
        assert!(target.contains(pkg), "{pkg}: {report}");
    }
    let host = report
        .split_once("packages (host):")
        .map(|x| x.1)
        .unwrap_or("");
    assert!(
        host.contains("aarch64-linux-gnu"),
        "the cross tools: {report}"
    );
    let o = w
        .cmd("aarch64-linux-gnu-readelf")
        .args(["-d", "p"])
        .output()
        .unwrap();
    assert!(
        stdout(&o).contains("Shared library: [libpng16.so.16]"),
        "{}",
        text(&o)
    );
    let o = w.sb2(&["-t", "arm64", "./p"]);
    assert!(stdout(&o).starts_with("png 1.6."), "{}", text(&o));
}

/// Unpacks a Debian source package (.dsc and its files) into the world.
fn unpack_source(w: &World, dsc: &Path) -> PathBuf {
    let o = w
        .cmd("dpkg-source")
        .args(["--no-check", "-x"])
        .arg(dsc)
        .arg(w.work.join("src"))
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", text(&o));
    w.work.join("src")
}

fn deb_field(w: &World, deb: &Path, field: &str) -> String {
    let o = w
        .cmd("dpkg-deb")
        .args(["-f"])
        .arg(deb)
        .arg(field)
        .output()
        .unwrap();
    stdout(&o).trim().to_string()
}

/// Every entry of the .deb's data is root:root.
fn assert_root_owned(w: &World, deb: &Path) {
    let o = w.cmd("dpkg-deb").arg("-c").arg(deb).output().unwrap();
    let list = stdout(&o);
    assert!(!list.is_empty(), "{}", text(&o));
    for l in list.lines() {
        assert!(
            l.split_whitespace().nth(1) == Some("root/root"),
            "{}: {l}",
            deb.display()
        );
    }
}

fn build(w: &World, src: &Path) {
    let o = w
        .cmd(bin_dir().join("sb2"))
        .current_dir(src)
        .args(["-t", "arm64", "--", "dpkg-buildpackage", "-b", "-uc", "-us"])
        .output()
        .unwrap();
    let t = text(&o);
    assert!(o.status.success(), "{}", &t[t.len().saturating_sub(6000)..]);
    assert!(
        t.contains("host architecture arm64"),
        "dpkg-architecture: {t}"
    );
}

#[test]
fn dpkg_buildpackage_cross_builds_gnu_hello_which_installs_and_runs_in_the_target() {
    require("dpkg-buildpackage");
    require("qemu-aarch64");
    let tarball = env_path("SB2_TEST_HELLO_TARBALL", "GNU hello's .orig.tar.gz");
    let dsc = std::fs::read_dir(tarball.parent().unwrap())
        .unwrap()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .find(|p| p.extension().is_some_and(|e| e == "dsc"))
        .expect("hello's .dsc next to the tarball");
    let w = World::new("dpkg-hello");
    let root = arm64_copy(&w);
    let src = unpack_source(&w, &dsc);
    // Without -d: dpkg-checkbuilddeps finds debhelper, help2man and
    // texinfo on the host.
    build(&w, &src);
    let deb = w.built("hello_", "_arm64.deb");
    assert_eq!(deb_field(&w, &deb, "Architecture"), "arm64");
    // Depends from the target's libc6 symbols: the host has no libc6:arm64.
    let dep = deb_field(&w, &deb, "Depends");
    assert!(dep.starts_with("libc6 (>= 2."), "{dep}");
    let host = w
        .cmd("dpkg-query")
        .args(["-W", "libc6:arm64"])
        .output()
        .unwrap();
    assert!(
        !host.status.success(),
        "the host has libc6:arm64: {}",
        text(&host)
    );
    assert_root_owned(&w, &deb);
    // It installs into the target, and runs there.
    let o = w
        .cmd(bin_dir().join("sb2"))
        .args(["-t", "arm64", "-m", "install", "-R", "--", "dpkg", "-i"])
        .arg(&deb)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", text(&o));
    assert_eq!(
        query(&w, &root, "hello"),
        "hello:arm64 install ok installed\n"
    );
    let o = w.sb2(&["-t", "arm64", "hello"]);
    assert_eq!(stdout(&o), "Hello, world!\n", "{}", text(&o));
}

#[test]
fn dpkg_buildpackage_cross_builds_zlib_runtime_and_dev_packages() {
    require("dpkg-buildpackage");
    let dsc = env_path("SB2_TEST_ZLIB_DSC", "zlib's .dsc (apt-get source zlib)");
    let w = World::new("dpkg-zlib");
    let root = arm64_root();
    arm64_target(&w, &root);
    let src = unpack_source(&w, &dsc);
    build(&w, &src);
    let (lib, dev) = (
        w.built("zlib1g_", "_arm64.deb"),
        w.built("zlib1g-dev_", "_arm64.deb"),
    );
    for deb in [&lib, &dev] {
        assert_eq!(deb_field(&w, deb, "Architecture"), "arm64");
        assert_root_owned(&w, deb);
    }
    let version = deb_field(&w, &lib, "Version");
    assert!(deb_field(&w, &lib, "Depends").starts_with("libc6 (>= 2."));
    assert!(
        deb_field(&w, &dev, "Depends").starts_with(&format!("zlib1g (= {version})")),
        "{}",
        deb_field(&w, &dev, "Depends")
    );
    // The library inside is an aarch64 one.
    let x = w.dir.join("x");
    let o = w
        .cmd("dpkg-deb")
        .arg("-x")
        .arg(&lib)
        .arg(&x)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", text(&o));
    let so = w
        .cmd("sh")
        .arg("-c")
        .arg(format!(
            "file -L {}/lib/aarch64-linux-gnu/libz.so.1",
            x.display()
        ))
        .output()
        .unwrap();
    assert!(stdout(&so).contains("ARM aarch64"), "{}", text(&so));
}

#[test]
fn checkbuilddeps_counts_target_libraries_and_host_tools_only() {
    require("dpkg-checkbuilddeps");
    let w = World::new("checkbuilddeps");
    let root = arm64_root();
    arm64_target(&w, &root);
    // libpng-dev is installed on the host (amd64) but not in the target:
    // it must be reported. help2man is a host tool, zlib1g-dev a target
    // library: both met.
    let host = w
        .cmd("dpkg-query")
        .args(["-W", "libpng-dev:amd64", "help2man"])
        .output()
        .unwrap();
    assert!(
        host.status.success(),
        "host packages for this test: {}",
        text(&host)
    );
    let control = |deps: &str| {
        format!("Source: t\nBuild-Depends: {deps}\n\nPackage: t\nArchitecture: any\nDescription: t\n t\n")
    };
    w.write(
        "need/debian/control",
        &control("debhelper-compat (= 13), help2man, zlib1g-dev, libpng-dev (>= 1.6)"),
    );
    w.write(
        "ok/debian/control",
        &control("debhelper-compat (= 13), help2man, zlib1g-dev"),
    );
    let o = w.sh(&["-t", "arm64"], "cd need && dpkg-checkbuilddeps");
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let err = String::from_utf8_lossy(&o.stderr).into_owned();
    let line = err
        .lines()
        .find(|l| l.contains("Unmet build dependencies: "))
        .unwrap_or("");
    assert!(
        line.contains("Unmet build dependencies: libpng-dev (>= 1.6)"),
        "{err}"
    );
    for met in ["help2man", "zlib1g-dev", "debhelper"] {
        assert!(!line.contains(met), "{met} is met: {err}");
    }
    let o = w.sh(&["-t", "arm64"], "cd ok && dpkg-checkbuilddeps");
    assert!(o.status.success(), "{}", text(&o));
    // The same host dpkg-checkbuilddeps without sb2 counts neither: the
    // host has no arm64 zlib1g-dev.
    let o = w
        .cmd("dpkg-checkbuilddeps")
        .args(["-a", "arm64"])
        .current_dir(w.work.join("ok"))
        .output()
        .unwrap();
    assert!(text(&o).contains("zlib1g-dev"), "{}", text(&o));
}

#[test]
fn cow_install_mode_installs_and_removes_packages_and_the_target_is_unchanged() {
    require("qemu-aarch64");
    let w = World::new("cow-install");
    // A copy the user owns, as a root made by sb2-mkroot is.
    let root = arm64_copy(&w);
    // An arm64 package whose postinst writes into the root.
    let s = w.dir.join("pkg");
    let d = s.display();
    setup_sh(&format!(
        "set -e; mkdir -p {d}/DEBIAN {d}/usr/bin
         printf '#!/bin/sh\\necho cowtool\\n' > {d}/usr/bin/cowtool && chmod 755 {d}/usr/bin/cowtool
         printf 'Package: cowtool\\nVersion: 1\\nArchitecture: arm64\\nMaintainer: t <t@t>\\nDepends: libc6\\nDescription: t\\n' > {d}/DEBIAN/control
         printf '#!/bin/sh\\nset -e\\necho configured > /etc/cowtool.conf\\n' > {d}/DEBIAN/postinst && chmod 755 {d}/DEBIAN/postinst
         dpkg-deb --root-owner-group -b {d} {w}/cowtool.deb >/dev/null",
        w = w.work.display()
    ));
    let before = tree_snapshot(&root);
    let o = w.sh(
        &["-t", "arm64", "-m", "install", "-R", "-c"],
        "set -e; dpkg -i cowtool.deb; dpkg --purge busybox; cat /etc/cowtool.conf; \
         dpkg-query -W -f '${Package} ${Status}\\n' cowtool busybox; cowtool; \
         test ! -e /usr/bin/busybox && echo busybox-gone",
    );
    let out = stdout(&o);
    assert!(o.status.success(), "{}", text(&o));
    for want in [
        "configured\n",
        "cowtool install ok installed\n",
        "busybox unknown ok not-installed\n",
        "cowtool\nbusybox-gone\n",
    ] {
        assert!(out.contains(want), "{want}: {}", text(&o));
    }
    assert_eq!(tree_snapshot(&root), before, "the target changed");
    assert_eq!(query(&w, &root, "cowtool"), "");
}

#[test]
fn mkroot_init_makes_the_target_a_build_can_use_at_once() {
    require("aarch64-linux-gnu-gcc");
    require("mmdebstrap");
    let w = World::new("mkroot-init");
    let dir = w.dir.join("root");
    // `extract`: the packages unpacked, not installed (seconds): enough
    // for sb2-init's check and a compile; the full recipe is covered by
    // the cached roots.
    let o = w
        .cmd(bin_dir().join("sb2-mkroot"))
        .args(["--arch", "arm64", "--variant", "extract", "--init", "mk"])
        .arg(&dir)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", text(&o));
    let conf = std::fs::read_to_string(w.dir.join("config/sb2/targets/mk/config")).unwrap();
    for want in [
        format!("TARGET_ROOT={}\n", dir.display()),
        "CPU_TRANSPARENCY=qemu-aarch64\n".into(),
        "COMPILER_TRIPLET=aarch64-linux-gnu\n".into(),
    ] {
        assert!(conf.contains(&want), "{want}: {conf}");
    }
    assert!(dir.join("usr/include/stdio.h").exists());
    w.write(
        "m.c",
        "#include <stdio.h>\nint main(void) { puts(\"mk\"); return 0; }\n",
    );
    let o = w.sb2(&["-t", "mk", "gcc", "m.c", "-o", "m"]);
    assert!(o.status.success(), "{}", text(&o));
    let f = w.cmd("file").arg("m").output().unwrap();
    assert!(stdout(&f).contains("ARM aarch64"), "{}", text(&f));
}

#[test]
fn install_mode_runs_the_hosts_dpkg_only_where_that_is_safe() {
    let w = World::new("install-accel");
    let root = arm64_copy(&w);
    let which = |w: &World| {
        let o = w.sb2(&[
            "-t", "arm64", "-m", "install", "sb2-show", "exec", "dpkg", "-l",
        ]);
        assert!(o.status.success(), "{}", text(&o));
        (stdout(&o), String::from_utf8_lossy(&o.stderr).into_owned())
    };
    let (out, err) = which(&w);
    assert!(
        out.contains("host ELF (direct)") && out.contains("file:    /usr/bin/dpkg\n"),
        "{out}"
    );
    assert_eq!(err, "");
    // The user asked for the target's own.
    let o = w.sb2(&[
        "-t", "arm64", "-m", "install", "-O", "no-accel", "sb2-show", "exec", "dpkg",
    ]);
    assert!(
        stdout(&o).contains("target ELF (CPU transparency)"),
        "{}",
        text(&o)
    );
    assert_eq!(String::from_utf8_lossy(&o.stderr), "");
    // A root without what sb2-mkroot adds for the host's apt: the host's
    // apt would install amd64 packages into it, so it is not used, and
    // the session says why.
    std::fs::remove_file(root.join("etc/apt/apt.conf.d/00sb2-architecture")).unwrap();
    let (out, err) = which(&w);
    assert!(out.contains("target ELF (CPU transparency)"), "{out}");
    assert!(
        err.contains(
            "install mode: the target's own apt and dpkg run, not the host's: the arm64 root lacks"
        ),
        "{err}"
    );
}
