//! The session's own rules judge the real, outer path of what a chrooted
//! program touches: --allow-write, write violations, virtual permissions
//! (-R), --trace. And the CLI: --chroot=root, --bind, sb2-show --chroot.

use super::*;
use sb2_tests::stdout;

#[test]
fn allow_write_compares_the_outer_path() {
    let p = Pair::new("rules-allow");
    let new = s(&p.sim.new);
    let o = run(
        &p.w,
        &["--allow-write", new],
        &["chroot", new, "touch", "/x"],
    );
    assert!(o.status.success(), "{}", text(&o));
    assert!(p.sim.new.join("x").exists(), "ROOT/x was not written");
    assert!(
        !String::from_utf8_lossy(&o.stderr).contains("access violation"),
        "{}",
        text(&o)
    );

    // Only ROOT/sub is writable: /x in the root is outside it.
    let sub = p.sim.new.join("sub");
    let o = run(
        &p.w,
        &["--allow-write", s(&sub)],
        &["chroot", new, "sh", "-c", "touch /sub/ok; touch /y"],
    );
    assert!(p.sim.new.join("sub/ok").exists(), "{}", text(&o));
    assert!(!p.sim.new.join("y").exists(), "{}", text(&o));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("touch: cannot touch '/y': Read-only file system"),
        "the write outside --allow-write must fail with EROFS as the program named it:\n{}",
        text(&o)
    );
    let outer_y = format!("{new}/y");
    let violation = err
        .lines()
        .find(|l| l.starts_with("sb2:   ") && l.contains("(EROFS)"))
        .unwrap_or_else(|| panic!("no violation listed:\n{}", text(&o)));
    assert!(
        violation.contains(&outer_y),
        "the violation must name the outer path {outer_y}:\n{}",
        text(&o)
    );
}

#[test]
fn a_write_in_the_root_is_judged_by_where_it_lands() {
    // --allow-write names a host directory, W; the root has a directory of
    // the same name (ROOT/W). A write to W inside the root lands in ROOT/W,
    // outside W: refused, though the program named a path below W.
    let p = Pair::new("rules-inner-name");
    let new = s(&p.sim.new);
    let allowed = p.w.work.clone();
    let inner = p.sim.new.join(allowed.strip_prefix("/").expect("absolute"));
    fs::create_dir_all(&inner).expect("mkdir ROOT/W");
    let o = run(
        &p.w,
        &["--allow-write", s(&allowed)],
        &[
            "chroot",
            new,
            "sh",
            "-c",
            &format!("cat /MARK; touch {}/z", allowed.display()),
        ],
    );
    assert_eq!(
        stdout(&o),
        "inside\n",
        "the chroot must work:\n{}",
        text(&o)
    );
    assert!(!o.status.success(), "{}", text(&o));
    assert!(
        !inner.join("z").exists(),
        "ROOT/W/z was written:\n{}",
        text(&o)
    );
    assert!(
        !allowed.join("z").exists(),
        "W/z was written:\n{}",
        text(&o)
    );
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("Read-only file system"),
        "{}",
        text(&o)
    );
}

#[test]
fn virtual_chown_in_the_root_is_the_outer_files() {
    let p = Pair::new("rules-vperm");
    let new = s(&p.sim.new);
    fs::write(p.sim.new.join("f"), "f\n").expect("write");
    let o = run(
        &p.w,
        &["-R"],
        &[
            "sh",
            "-c",
            &format!("chroot {new} chown 5:6 /f && stat -c %u:%g {new}/f && chroot {new} stat -c %u:%g /f"),
        ],
    );
    assert_eq!(stdout(&o), "5:6\n5:6\n", "{}", text(&o));
}

#[test]
fn the_trace_records_the_outer_path() {
    let p = Pair::new("rules-trace");
    let new = s(&p.sim.new);
    let trace = p.w.dir.join("trace.json");
    let o = run(
        &p.w,
        &["--trace", s(&trace)],
        &["chroot", new, "cat", "/abslink/sub/MARK"],
    );
    assert_eq!(stdout(&o), "sub\n", "{}", text(&o));
    let t = fs::read_to_string(&trace).expect("trace");
    let want = format!("{new}/sub/MARK");
    let hit = t.lines().any(|l| {
        let v: serde_json::Value = serde_json::from_str(l).unwrap_or_default();
        v["ev"] == "read" && v["prog"] == "cat" && v["hpath"] == want.as_str()
    });
    assert!(hit, "no read of {want} by cat in the trace:\n{t}");
}

#[test]
fn chroot_root_refuses_an_ordinary_user_and_allows_the_virtual_root() {
    let p = Pair::new("rules-chroot-root");
    let new = s(&p.sim.new);
    let o = run(&p.w, &["--chroot=root"], &["chroot", new, "cat", "/MARK"]);
    assert_eq!(o.status.code(), Some(125), "{}", text(&o));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("Operation not permitted"),
        "{}",
        text(&o)
    );
    assert_eq!(stdout(&o), "", "{}", text(&o));
    let o = run(
        &p.w,
        &["-R", "--chroot=root"],
        &["chroot", new, "cat", "/MARK"],
    );
    assert_eq!(stdout(&o), "inside\n", "{}", text(&o));
    // The default lets anyone chroot.
    let o = run(&p.w, &[], &["chroot", new, "cat", "/MARK"]);
    assert_eq!(stdout(&o), "inside\n", "{}", text(&o));
    let o = run(&p.w, &["--chroot=any"], &["chroot", new, "cat", "/MARK"]);
    assert_eq!(stdout(&o), "inside\n", "{}", text(&o));
}

#[test]
fn bind_shows_a_host_directory_inside_any_chroot() {
    let p = Pair::new("rules-bind");
    let new = s(&p.sim.new);
    let host = p.w.dir.join("hostdir");
    fs::create_dir_all(&host).expect("mkdir");
    fs::write(host.join("file"), "from the host\n").expect("write");
    let spec = format!("{}:/data", host.display());
    let o = run(
        &p.w,
        &["--bind", &spec],
        &["chroot", new, "sh", "-c", "cat /data/file; ls /data"],
    );
    assert!(
        stdout(&o).starts_with("from the host\nfile\n"),
        "{}",
        text(&o)
    );
    // In a chroot nested in the root too.
    sh_ok(&format!(
        "cp -a '{}' '{new}/inner'",
        super::mini_root().display()
    ));
    let o = run(
        &p.w,
        &["--bind", &spec],
        &["chroot", new, "chroot", "/inner", "cat", "/data/file"],
    );
    assert_eq!(stdout(&o), "from the host\n", "{}", text(&o));
    // Default: the same path inside.
    let o = run(
        &p.w,
        &["--bind", s(&host)],
        &["chroot", new, "cat", &format!("{}/file", host.display())],
    );
    assert_eq!(stdout(&o), "from the host\n", "{}", text(&o));
    // Repeatable, and nothing of the root is hidden.
    let spec2 = format!("{}:/data2", host.display());
    let o = run(
        &p.w,
        &["--bind", &spec, "--bind", &spec2],
        &["chroot", new, "cat", "/data/file", "/data2/file", "/MARK"],
    );
    assert_eq!(
        stdout(&o),
        "from the host\nfrom the host\ninside\n",
        "{}",
        text(&o)
    );
    // Without it, the root has no /data.
    let o = run(&p.w, &[], &["chroot", new, "cat", "/data/file"]);
    assert!(!o.status.success(), "{}", text(&o));
}

#[test]
fn sb2_show_resolves_a_path_in_a_chroot() {
    let p = Pair::new("show-chroot");
    let new = s(&p.sim.new);
    let o = run(
        &p.w,
        &[],
        &["sb2-show", "--chroot", new, "path", "/../../sub/MARK"],
    );
    let want = format!("=> {new}/sub/MARK");
    assert!(
        o.status.success()
            && stdout(&o)
                .lines()
                .next()
                .is_some_and(|l| l.ends_with(&want)),
        "sb2-show --chroot {new} path /../../sub/MARK must show {want}:\n{}",
        text(&o)
    );
}
