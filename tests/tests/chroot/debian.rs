//! Real Debian roots (mmdebstrap --variant=minbase, made by
//! scripts/make-debian-root; each test extracts a private copy of the
//! tarball): apt-get, dpkg --root with maintainer scripts, debootstrap and
//! the root's own glibc and python, all chrooted in a session.

use super::*;
use sb2_tests::stdout;

/// The tarball named by `var` (scripts/test sets it), extracted into
/// `dest`, with an empty /dev (the tarball has none: it is extracted by
/// an ordinary user).
fn debian_root(var: &str, dest: &Path) -> PathBuf {
    let tar = std::env::var_os(var).map(PathBuf::from).unwrap_or_else(|| {
        panic!(
            "{var} is not set: run scripts/test as root once (scripts/make-debian-root makes it)"
        )
    });
    assert!(
        tar.is_file(),
        "{var}={} is not a file: run scripts/test as root once (scripts/make-debian-root makes it)",
        tar.display()
    );
    fs::create_dir_all(dest).expect("mkdir root");
    let o = Command::new("tar")
        .arg("-xf")
        .arg(&tar)
        .arg("-C")
        .arg(dest)
        .output()
        .expect("tar");
    assert!(
        o.status.success(),
        "extracting {}:\n{}",
        tar.display(),
        text(&o)
    );
    fs::create_dir_all(dest.join("dev")).expect("mkdir dev");
    dest.to_path_buf()
}

fn bookworm(w: &World) -> PathBuf {
    debian_root("SB2_TEST_BOOKWORM_ROOT", &w.dir.join("bookworm"))
}

fn trixie(w: &World) -> PathBuf {
    debian_root("SB2_TEST_TRIXIE_ROOT", &w.dir.join("trixie"))
}

#[test]
fn apt_get_installs_hello_in_a_chroot() {
    let w = World::new("chroot-apt");
    let root = bookworm(&w);
    let r = s(&root);
    // The cached root has the package lists and hello's .deb in apt's
    // cache (no network); a root without lists updates them first.
    let o = run(
        &w,
        &["-R"],
        &[
            "chroot",
            r,
            "sh",
            "-c",
            "ls /var/lib/apt/lists/*_Packages >/dev/null 2>&1 || apt-get update -qq
             DEBIAN_FRONTEND=noninteractive apt-get install -y -q hello",
        ],
    );
    assert!(o.status.success(), "apt-get install hello:\n{}", text(&o));
    assert!(root.join("usr/bin/hello").is_file(), "{}", text(&o));
    let o = run(&w, &[], &["chroot", r, "hello"]);
    assert_eq!(stdout(&o), "Hello, world!\n", "{}", text(&o));
    let o = run(&w, &["-R"], &["chroot", r, "id", "-un"]);
    assert_eq!(stdout(&o), "root\n", "{}", text(&o));
    let o = run(
        &w,
        &[],
        &["chroot", r, "dpkg-query", "-W", "-f", "${Status}", "hello"],
    );
    assert_eq!(stdout(&o), "install ok installed", "{}", text(&o));
}

#[test]
fn dpkg_root_runs_the_maintainer_scripts_in_the_root() {
    require("dpkg-deb");
    let w = World::new("chroot-dpkg");
    let root = bookworm(&w);
    let r = s(&root);
    fs::write(root.join("etc/sb2-root-marker"), "the target root\n").expect("write");
    let pkg = w.work.join("pkg");
    fs::create_dir_all(pkg.join("DEBIAN")).expect("mkdir");
    fs::create_dir_all(pkg.join("usr/share/sb2test")).expect("mkdir");
    fs::write(
        pkg.join("DEBIAN/control"),
        "Package: sb2test\nVersion: 1.0\nArchitecture: all\nMaintainer: sb2 <sb2@example.org>\nDescription: sb2 chroot test\n",
    )
    .expect("write");
    fs::write(pkg.join("usr/share/sb2test/hello.txt"), "packaged\n").expect("write");
    let postinst = pkg.join("DEBIAN/postinst");
    fs::write(
        &postinst,
        "#!/bin/sh\nset -e\n\
         useradd --system --user-group --no-create-home --home-dir /nonexistent sb2svc\n\
         mkdir -p /var/lib/sb2test\n\
         cat /etc/sb2-root-marker > /var/lib/sb2test/by-postinst\n\
         readlink /proc/self/root >> /var/lib/sb2test/by-postinst\n\
         chown sb2svc:sb2svc /var/lib/sb2test/by-postinst\n",
    )
    .expect("write");
    sh_ok(&format!("chmod 0755 '{}'", postinst.display()));
    let deb = w.work.join("sb2test.deb");
    let o = run(&w, &["-R"], &["dpkg-deb", "--build", s(&pkg), s(&deb)]);
    assert!(o.status.success(), "dpkg-deb --build:\n{}", text(&o));

    let state = w.dir.join("vperm-state");
    let o = run(
        &w,
        &["-R", "-s", s(&state)],
        &["dpkg", &format!("--root={r}"), "-i", s(&deb)],
    );
    assert!(o.status.success(), "dpkg --root -i:\n{}", text(&o));
    assert_eq!(
        fs::read_to_string(root.join("usr/share/sb2test/hello.txt"))
            .ok()
            .as_deref(),
        Some("packaged\n"),
        "{}",
        text(&o)
    );
    let passwd = fs::read_to_string(root.join("etc/passwd")).expect("passwd");
    assert!(
        passwd.lines().any(|l| l.starts_with("sb2svc:")),
        "useradd in the postinst did not add to ROOT/etc/passwd:\n{passwd}\n{}",
        text(&o)
    );
    let host_passwd = fs::read_to_string("/etc/passwd").expect("/etc/passwd");
    assert!(
        !host_passwd.contains("sb2svc:"),
        "the host's /etc/passwd got the user"
    );
    assert_eq!(
        fs::read_to_string(root.join("var/lib/sb2test/by-postinst"))
            .ok()
            .as_deref(),
        Some("the target root\n/\n"),
        "the postinst ran in the root:\n{}",
        text(&o)
    );
    let o = run(
        &w,
        &["-R", "-i", s(&state)],
        &[
            "chroot",
            r,
            "stat",
            "-c",
            "%U:%G",
            "/var/lib/sb2test/by-postinst",
        ],
    );
    assert_eq!(stdout(&o), "sb2svc:sb2svc\n", "{}", text(&o));
    let status = fs::read_to_string(root.join("var/lib/dpkg/status")).expect("status");
    assert!(
        status.contains("Package: sb2test\nStatus: install ok installed\n"),
        "dpkg's database in the root does not have sb2test installed"
    );
}

#[test]
fn debootstrap_as_an_ordinary_user_makes_a_real_root() {
    require("debootstrap");
    let cache = std::env::var_os("SB2_TEST_DEBOOTSTRAP_CACHE")
        .map(PathBuf::from)
        .unwrap_or_else(|| panic!("SB2_TEST_DEBOOTSTRAP_CACHE is not set: a directory you can write that keeps debootstrap's downloads (scripts/test makes it)"));
    fs::create_dir_all(&cache).expect("mkdir cache");
    let mirror = std::env::var("SB2_DEBIAN_MIRROR")
        .unwrap_or_else(|_| "http://deb.debian.org/debian".to_owned());
    let w = World::new("chroot-debootstrap");
    let dir = w.dir.join("bootstrapped");
    let d = s(&dir);
    let o = run(
        &w,
        &["-R"],
        &[
            "debootstrap",
            "--variant=minbase",
            &format!("--cache-dir={}", cache.display()),
            "bookworm",
            d,
            &mirror,
        ],
    );
    let log = fs::read_to_string(dir.join("debootstrap/debootstrap.log")).unwrap_or_default();
    assert!(
        o.status.success(),
        "debootstrap:\n{}\n--- debootstrap.log (tail)\n{}",
        text(&o),
        log.lines()
            .rev()
            .take(40)
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect::<Vec<_>>()
            .join("\n")
    );
    // No symlink names the host path of the root.
    let o = w
        .cmd("find")
        .args([d, "-type", "l", "-lname", &format!("{d}*")])
        .output()
        .expect("find");
    assert!(
        o.status.success() && stdout(&o).is_empty(),
        "symlinks to the host path:\n{}",
        text(&o)
    );
    // A real chroot runs it.
    let o = w
        .cmd("unshare")
        .args([
            "-r",
            "chroot",
            d,
            "/bin/sh",
            "-c",
            "echo ok; cat /etc/debian_version",
        ])
        .output()
        .expect("unshare");
    let out = stdout(&o);
    assert!(
        o.status.success() && out.starts_with("ok\n12."),
        "a real chroot into the bootstrapped root:\n{}",
        text(&o)
    );
    let o = run(&w, &[], &["chroot", d, "cat", "/etc/debian_version"]);
    assert!(stdout(&o).starts_with("12."), "{}", text(&o));
}

const PY_VERSIONS: &str =
    "import sys, os; print(sys.version_info[:2]); print(os.confstr('CS_GNU_LIBC_VERSION'))";

#[test]
fn the_roots_own_glibc_and_python_run_in_it() {
    let w = World::new("chroot-trixie");
    let root = trixie(&w);
    let r = s(&root);
    let o = run(&w, &[], &["chroot", r, "python3", "-c", PY_VERSIONS]);
    let out = stdout(&o);
    assert!(
        o.status.success() && out.lines().nth(1) == Some("glibc 2.41"),
        "trixie's python3 must run on trixie's glibc 2.41:\n{}",
        text(&o)
    );
    let real = oracle(
        &w,
        &root,
        &chroot_sh(&root, &format!("python3 -c \"{PY_VERSIONS}\"")),
    );
    let sim = in_sb2(
        &w,
        &[],
        &chroot_sh(&root, &format!("python3 -c \"{PY_VERSIONS}\"")),
    );
    assert_oracle_says(&real, &["glibc 2.41"]);
    assert_same("python3 in trixie", &real, &sim);

    // #! interpreters come from the root (the host's python is older).
    fs::write(
        root.join("usr/local/bin/pyver"),
        format!("#!/usr/bin/python3\n{PY_VERSIONS}\n"),
    )
    .expect("write");
    sh_ok(&format!("chmod 755 '{r}/usr/local/bin/pyver'"));
    let real = oracle(&w, &root, &chroot_sh(&root, "/usr/local/bin/pyver"));
    let sim = in_sb2(&w, &[], &chroot_sh(&root, "/usr/local/bin/pyver"));
    assert_oracle_says(&real, &["glibc 2.41"]);
    assert_same("#!/usr/bin/python3 in trixie", &real, &sim);
}

#[test]
fn python_execve_with_an_empty_environment_keeps_the_root() {
    let w = World::new("chroot-execve");
    let root = trixie(&w);
    let inner = "import os; print(os.confstr('CS_GNU_LIBC_VERSION')); print(os.readlink('/proc/self/root')); print(os.getcwd())";
    let script = format!(
        "cd /usr && python3 -c \"import os; os.execve('/usr/bin/python3', ['python3', '-c', \\\"{inner}\\\"], {{}})\""
    );
    let real = oracle(&w, &root, &chroot_sh(&root, &script));
    let sim = in_sb2(&w, &[], &chroot_sh(&root, &script));
    assert_oracle_says(&real, &["glibc 2.41", "/", "/usr"]);
    assert_same("os.execve(..., {}) in trixie", &real, &sim);
}

#[test]
fn ldd_in_the_root_lists_the_roots_libraries() {
    let w = World::new("chroot-ldd");
    let root = trixie(&w);
    // ldd lists the root's libraries (load addresses aside), as in a real
    // chroot, and nothing of the session's. A known limit (docs/chroot.md):
    // ld.so prints the paths it opened, the host paths of the root's
    // files, so each `=> PATH` is compared as "this file of the root".
    let script = "ldd /usr/bin/python3 | sed 's/ (0x[0-9a-f]*)//'";
    let real = oracle(&w, &root, &chroot_sh(&root, script));
    let sim = in_sb2(&w, &[], &chroot_sh(&root, script));
    assert_oracle_says(&real, &["\tlibc.so.6 => /lib/x86_64-linux-gnu/libc.so.6"]);
    let r = s(&root);
    let canon = |p: &str| {
        fs::canonicalize(p)
            .map(|c| c.display().to_string())
            .unwrap_or_default()
    };
    // Real: PATH inside the root; sim: the host path of that file.
    let lines = |o: &std::process::Output, inside: bool| -> Vec<String> {
        String::from_utf8_lossy(&o.stdout)
            .lines()
            .map(|l| match l.split_once(" => ") {
                Some((name, path)) if inside => {
                    format!("{name} => {}", canon(&format!("{r}{path}")))
                }
                Some((name, path)) => format!("{name} => {}", canon(path)),
                None => l.to_string(),
            })
            .collect()
    };
    assert_eq!(real.status.code(), sim.status.code(), "{}", text(&sim));
    assert_eq!(
        lines(&real, true),
        lines(&sim, false),
        "ldd in trixie:\n{}",
        text(&sim)
    );
    assert!(
        !String::from_utf8_lossy(&sim.stdout).contains("libsb2"),
        "ldd lists libsb2.so:\n{}",
        text(&sim)
    );
}

#[test]
fn ldconfig_in_the_root_writes_the_roots_cache_from_its_ld_so_conf() {
    require("gcc");
    let w = World::new("chroot-ldconfig");
    let root = trixie(&w);
    let r = s(&root);
    // A library in a directory of the root's ld.so.conf, after ldconfig.
    let lib = root.join("opt/sb2lib");
    fs::create_dir_all(&lib).expect("mkdir");
    fs::write(w.work.join("l.c"), "int sb2x(void) { return 42; }\n").expect("write");
    fs::write(
        w.work.join("m.c"),
        "#include <stdio.h>\nint sb2x(void);\nint main(void) { printf(\"%d\\n\", sb2x()); return 0; }\n",
    )
    .expect("write");
    sh_ok(&format!(
        "cd '{work}' && gcc -shared -fPIC -o '{lib}/libsb2x.so' l.c && gcc -o '{r}/usr/local/bin/usex' m.c -L'{lib}' -lsb2x
         echo /opt/sb2lib > '{r}/etc/ld.so.conf.d/sb2x.conf'; rm -f '{r}/etc/ld.so.cache'",
        work = w.work.display(),
        lib = lib.display()
    ));
    let o = run(&w, &["-R"], &["chroot", r, "sh", "-c", "ldconfig && usex"]);
    assert_eq!(stdout(&o), "42\n", "{}", text(&o));
    let cache = fs::read(root.join("etc/ld.so.cache")).unwrap_or_default();
    assert!(
        cache.windows(9).any(|x| x == b"libsb2x.s"),
        "ldconfig did not write the root's /etc/ld.so.cache with libsb2x.so:\n{}",
        text(&o)
    );
    let host_cache = fs::read("/etc/ld.so.cache").unwrap_or_default();
    assert!(!host_cache.windows(9).any(|x| x == b"libsb2x.s"));
}

#[test]
fn mount_umount_and_ischroot_succeed_in_the_root() {
    let w = World::new("chroot-mount");
    let root = trixie(&w);
    let o = run(
        &w,
        &["-R"],
        &[
            "chroot",
            s(&root),
            "sh",
            "-c",
            "mkdir -p /dev/pts; mount -t proc proc /proc && mount -t sysfs sys /sys && mount -t devpts devpts /dev/pts; echo mount=$?
             mount -t tmpfs tmpfs /mnt; echo tmpfs=$?
             umount /mnt; umount /dev/pts; umount /sys; umount /proc; echo umount=$?
             test -r /proc/self/status && echo proc
             ischroot; echo ischroot=$?",
        ],
    );
    assert_eq!(
        stdout(&o),
        "mount=0\ntmpfs=0\numount=0\nproc\nischroot=0\n",
        "{}",
        text(&o)
    );
    // Nothing was mounted on the root's directories.
    assert!(fs::read_dir(root.join("mnt"))
        .expect("mnt")
        .next()
        .is_none());
    assert!(fs::read_dir(root.join("proc"))
        .expect("proc")
        .next()
        .is_none());
}

#[test]
fn unix_sockets_bind_and_connect_in_the_root() {
    let w = World::new("chroot-unix");
    let root = trixie(&w);
    let script = "import os, socket
s = socket.socket(socket.AF_UNIX)
s.bind('/sock')
s.listen(1)
c = socket.socket(socket.AF_UNIX)
c.connect('/../../sock')
a, peer = s.accept()
c.sendall(b'over the socket')
print(a.recv(100).decode(), s.getsockname(), os.path.exists('/sock'))";
    let words = ["chroot", s(&root), "python3", "-c", script];
    let argv: Vec<&OsStr> = words.iter().map(OsStr::new).collect();
    let sim = in_sb2(&w, &[], &argv);
    let meta = fs::symlink_metadata(root.join("sock"));
    use std::os::unix::fs::FileTypeExt;
    assert!(
        meta.is_ok_and(|m| m.file_type().is_socket()),
        "ROOT/sock is not a socket:\n{}",
        text(&sim)
    );
    fs::remove_file(root.join("sock")).expect("rm sock");
    let real = oracle(&w, &root, &argv);
    assert_oracle_says(&real, &["over the socket /sock True"]);
    assert_same("AF_UNIX in trixie", &real, &sim);
}
