//! Write protection answers in the kernel's order of checks: a write that
//! fails natively anyway (the name exists, the parent is missing or not a
//! directory, the file to remove is missing) gets the kernel's errno and
//! is no violation, so `mkdir -p` of an absolute path works under
//! `--strict --allow-write`. The kernel, run side by side outside the
//! session, is the oracle.

use sb2_tests::*;

/// Each call and the errno name it ended with ("ok" for success).
const PROBE: &str = r#"
import errno, os, sys
calls = [
    ("mkdir", lambda: os.mkdir("/usr")),
    ("mkdir-slash", lambda: os.mkdir("/usr/")),
    ("mkdir-missing-parent", lambda: os.mkdir("/nonexistent-sb2/x")),
    ("mkdir-parent-not-dir", lambda: os.mkdir("/etc/passwd/x")),
    ("symlink-existing", lambda: os.symlink("x", "/usr")),
    ("mknod-existing", lambda: os.mkfifo("/etc/passwd")),
    ("unlink-missing", lambda: os.unlink("/usr/nonexistent-sb2")),
    ("rmdir-missing", lambda: os.rmdir("/nonexistent-sb2")),
    ("chmod-missing", lambda: os.chmod("/nonexistent-sb2", 0o644)),
    ("open-missing-parent", lambda: open("/nonexistent-sb2/f", "w")),
    ("fopen-rplus-missing", lambda: open("/usr/nonexistent-sb2", "r+")),
    ("link-existing-name", lambda: os.link("/etc/hostname", "/etc/passwd")),
    ("rename-missing-source", lambda: os.rename("/nonexistent-sb2", "/usr/sb2-x")),
]
for name, call in calls:
    try:
        call()
        print(name, "ok")
    except OSError as e:
        print(name, errno.errorcode[e.errno])
"#;

#[test]
fn protect_native_failures_get_the_kernels_errno_and_no_violation() {
    require("python3");
    let w = World::new("protorder");
    let build = w.dir.join("build");
    std::fs::create_dir_all(&build).unwrap();
    let native = w.cmd("python3").args(["-c", PROBE]).output().unwrap();
    assert!(native.status.success(), "{}", text(&native));
    let aw = build.to_str().unwrap();
    let o = w.sb2(&["--strict", "--allow-write", aw, "python3", "-c", PROBE]);
    assert_eq!(
        stdout(&o),
        stdout(&native),
        "session vs kernel:\n{}",
        text(&o)
    );
    // Not one of them is a violation: --strict leaves the exit status 0.
    assert!(o.status.success(), "{}", text(&o));
    assert!(
        !String::from_utf8_lossy(&o.stderr).contains("access violation"),
        "{}",
        text(&o)
    );
    // Real attempts to create outside --allow-write (a directory, a link's
    // new name) are still refused, with EROFS, and counted.
    let o = w.sb2(&[
        "--strict",
        "--allow-write",
        aw,
        "python3",
        "-c",
        "import os\nfor f in (lambda: os.mkdir('/usr/sb2-new'), lambda: os.link('/etc/hostname', '/usr/sb2-link')):\n try:\n  f()\n except OSError as e:\n  print(e.errno)",
    ]);
    let erofs = libc::EROFS.to_string();
    assert_eq!(stdout(&o), format!("{erofs}\n{erofs}\n"), "{}", text(&o));
    assert!(!o.status.success(), "--strict: {}", text(&o));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("access violation"),
        "{}",
        text(&o)
    );
}

#[test]
fn protect_show_path_says_whether_a_write_is_refused_and_by_what() {
    let w = World::new("protshow");
    let build = w.dir.join("build");
    std::fs::create_dir_all(&build).unwrap();
    let aw = build.to_str().unwrap();
    let new = format!("{aw}/new");
    let o = w.sb2(&[
        "--allow-write",
        aw,
        "sb2-show",
        "-f",
        "mkdir",
        "path",
        "/usr",
        "/usr/sb2-new",
        "/nonexistent-sb2/x",
        &new,
    ]);
    assert!(o.status.success(), "{}", text(&o));
    let writes: Vec<String> = stdout(&o)
        .lines()
        .filter_map(|l| l.trim().strip_prefix("write: ").map(str::to_owned))
        .collect();
    assert_eq!(writes.len(), 4, "{}", text(&o));
    assert!(writes[0].contains("natively (EEXIST)"), "{writes:?}");
    assert!(
        writes[1].contains("refused (EROFS) by --allow-write"),
        "{writes:?}"
    );
    assert!(writes[2].contains("natively (ENOENT)"), "{writes:?}");
    assert_eq!(writes[3], "allowed", "{writes:?}");
    // A read-only rule is named by its file and line.
    let rules = w.write(
        "r.lua",
        "fs_mapping_rules = {\n  { dir = \"/ro\", replace_by = \"/tmp\", readonly = true },\n  { dir = \"/\", use_orig_path = true },\n}\n",
    );
    let o = w.sb2(&[
        "-M",
        rules.to_str().unwrap(),
        "sb2-show",
        "-f",
        "creat",
        "path",
        "/ro/x",
    ]);
    let want = format!(
        "refused (EROFS) by the read-only rule at {}:2",
        rules.display()
    );
    assert!(stdout(&o).contains(&want), "want {want:?}:\n{}", text(&o));
}

#[test]
fn protect_mkdir_p_of_an_absolute_path_works_under_strict_allow_write() {
    require("make");
    let w = World::new("protmkdirp");
    let build = w.dir.join("build");
    std::fs::create_dir_all(&build).unwrap();
    let b = build.display();
    w.write(
        "Makefile",
        &format!("all:\n\tmkdir -p {b}/a/b/c\n\tinstall -d {b}/inst/x\n\ttouch {b}/a/b/c/f\n"),
    );
    let o = w.sb2(&[
        "--strict",
        "--allow-write",
        build.to_str().unwrap(),
        "--",
        "make",
    ]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(build.join("a/b/c/f").exists(), "{}", text(&o));
    assert!(build.join("inst/x").is_dir(), "{}", text(&o));
    assert!(
        !String::from_utf8_lossy(&o.stderr).contains("access violation"),
        "{}",
        text(&o)
    );
}
