//! Write protection and accounting, end to end: with `--allow-write DIR` a
//! build writes its own directory, the session's TMPDIR and /dev/null, and
//! every other write fails with EROFS and leaves nothing behind; sb2 sums
//! up the violations when the session ends and `--strict` turns them into
//! exit status 1. `--trace FILE` records what a real gcc/make build read,
//! wrote and ran, and `sb2-logz --report` turns that into its inputs from
//! outside the tree (with their Debian packages: in a cross build, the
//! target root's files asked of the target's own database) and its outputs;
//! `sb2-logz LOGFILE` sums up a session log per program.

use sb2_tests::*;
use std::path::PathBuf;
use std::process::Output;

fn stderr_of(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// The violations sb2 listed on stderr: the header `sb2: N access
/// violation(s):` and the N lines `sb2:   PROG: FN PATH (ERRNO)` after it
/// (without the `sb2:   ` prefix). None: no header.
fn violations(o: &Output) -> Vec<String> {
    let err = stderr_of(o);
    let lines: Vec<&str> = err.lines().collect();
    let Some(i) = lines.iter().position(|l| {
        l.starts_with("sb2: ") && l.contains(" access violation") && l.ends_with(':')
    }) else {
        return Vec::new();
    };
    let n: usize = lines[i]["sb2: ".len()..]
        .split(' ')
        .next()
        .and_then(|x| x.parse().ok())
        .unwrap_or_else(|| panic!("bad violation header {:?}:\n{}", lines[i], text(o)));
    let items: Vec<String> = lines[i + 1..]
        .iter()
        .take_while(|l| l.starts_with("sb2:   "))
        .map(|l| l["sb2:   ".len()..].to_owned())
        .collect();
    assert_eq!(items.len(), n, "the header counts {n}:\n{}", text(o));
    items
}

/// The sections of an sb2-logz output: an unindented line ending in ':'
/// starts one; its items are the following lines indented by two spaces.
fn sections(s: &str) -> Vec<(String, Vec<String>)> {
    let mut out: Vec<(String, Vec<String>)> = Vec::new();
    for l in s.lines() {
        if let Some(item) = l.strip_prefix("  ") {
            if let Some(last) = out.last_mut() {
                last.1.push(item.trim().to_owned());
            }
        } else if l.trim_end().ends_with(':') {
            out.push((l.trim_end().to_owned(), Vec::new()));
        }
    }
    out
}

/// The items of the section whose header starts with `head`.
fn section<'a>(secs: &'a [(String, Vec<String>)], head: &str, o: &Output) -> &'a [String] {
    secs.iter()
        .find(|(h, _)| h.starts_with(head))
        .map(|(_, v)| v.as_slice())
        .unwrap_or_else(|| panic!("no section {head:?} in:\n{}", text(o)))
}

/// The items of `v` that contain `pat`.
fn matching<'a>(v: &'a [String], pat: &str) -> Vec<&'a String> {
    v.iter().filter(|i| i.contains(pat)).collect()
}

/// `sb2-logz ARGS...`, run outside any session.
fn logz(w: &World, args: &[&str]) -> Output {
    let b = bin_dir().join("sb2-logz");
    assert!(
        b.exists(),
        "{} missing: build everything first (cargo build --release --workspace)",
        b.display()
    );
    w.cmd(&b).args(args).output().expect("run sb2-logz")
}

/// A build step that writes its own directory, the session's TMPDIR and
/// /dev/null, and tries to write outside: a file next to the build
/// directory (twice: one violation), a file in $HOME, an existing file's
/// removal and a directory. It carries on and exits 0.
const BUILD_SH: &str = r#"echo built > out.txt
echo x > ../outside.txt || echo "outside: failed"
echo x > ../outside.txt || echo "outside again: failed"
touch "$HOME/stray" || echo "stray: failed"
rm -f ../existing.txt
[ -e ../existing.txt ] && echo "existing: kept"
mkdir ../newdir || echo "mkdir-outside: failed"
mkdir -p sub && echo "mkdir-inside: ok"
echo "tmpdir: $TMPDIR"
echo tmp > "$TMPDIR/t.txt" && echo "tmp: $(cat "$TMPDIR/t.txt")"
echo null > /dev/null && echo "devnull: ok"
test -w .. || echo "test-w: no"
exec 3<..
echo x > /proc/self/fd/3/viafd.txt || echo "fd-path: failed"
echo x > /dev/fd/3/viafd.txt || echo "dev-fd-path: failed"
exec 3<&-
exit 0
"#;

#[test]
fn allow_write_keeps_a_build_inside_its_directory() {
    let w = World::new("protect-build");
    let build = w.work.join("build");
    std::fs::create_dir_all(&build).expect("mkdir build");
    std::fs::write(build.join("build.sh"), BUILD_SH).expect("write build.sh");
    std::fs::write(w.work.join("existing.txt"), "keep\n").expect("write existing.txt");
    let b = build.to_str().expect("build dir");
    let home = w.home.to_str().expect("home");
    let run = |sb2_args: &[&str], cmd: &[&str]| -> Output {
        w.cmd(bin_dir().join("sb2"))
            .current_dir(&build)
            .args(sb2_args)
            .arg("--")
            .args(cmd)
            .output()
            .expect("run sb2")
    };
    let outside = w.work.join("outside.txt");
    let stray = w.home.join("stray");

    let o = run(&["--allow-write", b], &["sh", "build.sh"]);
    // The build's own exit status: violations alone do not fail it.
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let out = stdout(&o);
    for want in [
        "outside: failed",
        "outside again: failed",
        "stray: failed",
        "existing: kept",
        "mkdir-outside: failed",
        "mkdir-inside: ok",
        "tmp: tmp",
        "devnull: ok",
        "test-w: no",
        "fd-path: failed",
        "dev-fd-path: failed",
    ] {
        assert!(
            out.lines().any(|l| l == want),
            "no line {want:?}:\n{}",
            text(&o)
        );
    }
    let tmpdir = out
        .lines()
        .find_map(|l| l.strip_prefix("tmpdir: "))
        .unwrap_or("");
    assert!(
        !tmpdir.is_empty() && tmpdir != "/tmp",
        "TMPDIR is not a session-private directory: {tmpdir:?}\n{}",
        text(&o)
    );
    assert!(
        stderr_of(&o).contains("Read-only file system"),
        "{}",
        text(&o)
    );
    assert_eq!(
        std::fs::read_to_string(build.join("out.txt"))
            .ok()
            .as_deref(),
        Some("built\n")
    );
    assert!(build.join("sub").is_dir());
    assert!(!outside.exists(), "outside.txt was written");
    assert!(
        !w.work.join("viafd.txt").exists(),
        "written through /proc/self/fd/N/..."
    );
    assert!(!stray.exists(), "$HOME/stray was written");
    assert!(!w.work.join("newdir").exists(), "newdir was made");
    assert!(
        w.work.join("existing.txt").exists(),
        "existing.txt was removed"
    );

    // The summary: each violation once, with program, path and errno.
    let err = stderr_of(&o);
    assert!(err.contains("access violation"), "{}", text(&o));
    let v = violations(&o);
    assert_eq!(
        matching(&v, "outside.txt (EROFS)").len(),
        1,
        "outside.txt once: {v:#?}\n{}",
        text(&o)
    );
    assert!(
        matching(&v, "stray")
            .iter()
            .any(|i| i.starts_with("touch: ") && i.ends_with("(EROFS)")),
        "{v:#?}"
    );
    assert!(
        matching(&v, "existing.txt (EROFS)")
            .iter()
            .any(|i| i.starts_with("rm: ")),
        "{v:#?}"
    );
    assert!(
        matching(&v, "newdir (EROFS)")
            .iter()
            .any(|i| i.starts_with("mkdir: ")),
        "{v:#?}"
    );
    // Asking whether a write would be allowed (test -w) is answered, not
    // counted as a violation.
    assert!(
        !v.iter().any(|i| i.contains("access")),
        "an access check is listed: {v:#?}"
    );
    for allowed in ["out.txt (", "t.txt (", "sub (", "/dev/null"] {
        assert!(
            matching(&v, allowed).is_empty(),
            "an allowed write is listed ({allowed}): {v:#?}"
        );
    }

    // --strict: the same run exits 86 (its own status); a failing command
    // keeps its status; a clean one exits 0.
    let o = run(&["--strict", "--allow-write", b], &["sh", "build.sh"]);
    assert_eq!(o.status.code(), Some(86), "{}", text(&o));
    assert!(stderr_of(&o).contains("access violation"), "{}", text(&o));
    let o = run(
        &["--strict", "--allow-write", b],
        &["sh", "-c", "echo x > ../outside.txt; exit 3"],
    );
    assert_eq!(o.status.code(), Some(3), "{}", text(&o));
    let o = run(
        &["--strict", "--allow-write", b],
        &[
            "sh",
            "-c",
            "echo fine > out.txt && echo x > \"$TMPDIR/x\" && echo x > /dev/null",
        ],
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(violations(&o).is_empty(), "{}", text(&o));
    assert!(!stderr_of(&o).contains("access violation"), "{}", text(&o));

    // --allow-write is repeatable.
    let o = run(
        &["--allow-write", b, "--allow-write", home],
        &["sh", "build.sh"],
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(
        stray.exists(),
        "$HOME allowed, stray not written:\n{}",
        text(&o)
    );
    assert!(!outside.exists(), "outside.txt was written:\n{}", text(&o));
    std::fs::remove_file(&stray).expect("rm stray");

    // Without --allow-write nothing is protected: the test can fail.
    let o = run(&[], &["sh", "build.sh"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(outside.exists() && stray.exists(), "{}", text(&o));
    assert!(!stderr_of(&o).contains("access violation"), "{}", text(&o));
}

#[test]
fn trace_of_a_make_build_and_its_report() {
    require("gcc");
    require("make");
    require("dpkg");
    let w = World::new("protect-trace");
    w.write(
        "proj/main.c",
        "#include <stdio.h>\n#include \"util.h\"\nint main(void) { printf(\"%d\\n\", twice(21)); return 0; }\n",
    );
    w.write("proj/util.h", "int twice(int x);\n");
    w.write(
        "proj/util.c",
        "#include \"util.h\"\nint twice(int x) { return 2 * x; }\n",
    );
    w.write(
        "proj/Makefile",
        "hello: main.o util.o\n\tgcc -o hello main.o util.o\nmain.o: main.c util.h\n\tgcc -c main.c\nutil.o: util.c util.h\n\tgcc -c util.c\n",
    );
    let proj = w.work.join("proj");
    let trace = w.dir.join("trace.jsonl");
    let t = trace.to_str().expect("trace path");
    let o = w
        .cmd(bin_dir().join("sb2"))
        .current_dir(&proj)
        .args(["--trace", t, "--", "make"])
        .output()
        .expect("run sb2");
    assert!(o.status.success(), "{}", text(&o));
    assert!(proj.join("hello").exists(), "{}", text(&o));

    // JSON lines: one object per event.
    let log = std::fs::read_to_string(&trace).expect("the trace file");
    let lines: Vec<String> = log
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| l.replace(' ', ""))
        .collect();
    assert!(!lines.is_empty(), "empty trace");
    for l in &lines {
        assert!(
            l.starts_with('{') && l.ends_with('}'),
            "not a JSON object: {l}"
        );
    }
    assert!(
        lines.iter().any(|l| l.contains("\"hpath\":")),
        "no hpath:\n{log}"
    );
    let has = |evs: &[&str], name: &str| {
        lines
            .iter()
            .any(|l| evs.iter().any(|e| l.contains(&format!("\"ev\":\"{e}\""))) && l.contains(name))
    };
    for name in ["main.c", "util.h", "util.c", "/usr/include/stdio.h"] {
        assert!(has(&["read"], name), "no read event for {name}:\n{log}");
    }
    assert!(has(&["exec"], "gcc"), "no exec event for gcc:\n{log}");
    for name in ["main.o", "util.o", "hello"] {
        assert!(
            has(&["create", "write"], name),
            "no create/write event for {name}:\n{log}"
        );
    }

    let p = proj.to_str().expect("proj path");
    let r = logz(&w, &["--report", t, "--tree", p]);
    assert!(r.status.success(), "{}", text(&r));
    let report = stdout(&r);
    let secs = sections(&report);
    let inputs = section(&secs, "inputs (outside", &r);
    assert!(
        inputs.iter().any(|i| i.contains("/usr/include/stdio.h")),
        "inputs lack stdio.h:\n{report}"
    );
    for inside in ["main.c", "util.h", "util.c"] {
        assert!(
            !inputs.iter().any(|i| i.contains(inside)),
            "{inside} is in the tree, not an input from outside:\n{report}"
        );
    }
    let outputs = section(&secs, "outputs:", &r);
    for name in ["main.o", "util.o", "hello"] {
        assert!(
            outputs.iter().any(|i| i.contains(name)),
            "outputs lack {name}:\n{report}"
        );
    }
    section(&secs, "denied:", &r);
    section(&secs, "network:", &r);
    // The host target's root is /: every package is the host's.
    let packages = section(&secs, "packages (host):", &r);
    assert!(
        packages.iter().any(|i| i.contains("libc6-dev")),
        "packages lack libc6-dev:\n{report}"
    );
}

/// A tiny Debian root for an arm64 target: one registered package
/// (`libsb2pkg-dev:arm64`, Multi-Arch: same, in dpkg's format 1 database)
/// that ships a header and a library, the library registered under /lib
/// (merged /usr: the build opens it as /usr/lib), and one header no
/// package owns.
fn fake_arm64_root(w: &World) -> PathBuf {
    let r = w.dir.join("root");
    let lib_c = w.write("lib.c", "int sb2pkg_value(void) { return 7; }\n");
    setup_sh(&format!(
        "set -e; R={r}; mkdir -p $R/usr/include $R/usr/lib $R/etc $R/var/lib/dpkg/info
         ln -s usr/lib $R/lib
         printf 'Package: libsb2pkg-dev\\nStatus: install ok installed\\nMaintainer: t <t@t>\\nArchitecture: arm64\\nMulti-Arch: same\\nVersion: 1\\nDescription: t\\n\\n' > $R/var/lib/dpkg/status
         echo 1 > $R/var/lib/dpkg/info/format
         printf '/.\\n/usr\\n/usr/include\\n/usr/include/sb2pkg.h\\n/lib\\n/lib/libsb2pkg.so\\n' > $R/var/lib/dpkg/info/libsb2pkg-dev:arm64.list
         echo 'int sb2pkg_value(void);' > $R/usr/include/sb2pkg.h
         echo '#define SB2_STRAY 1' > $R/usr/include/sb2stray.h
         aarch64-linux-gnu-gcc -shared -nostdlib -fPIC -o $R/usr/lib/libsb2pkg.so {lib}",
        r = r.display(),
        lib = lib_c.display()
    ));
    std::fs::remove_file(&lib_c).expect("rm lib.c");
    r
}

#[test]
fn report_names_the_target_packages_apart_from_the_host_ones() {
    require("aarch64-linux-gnu-gcc");
    require("qemu-aarch64");
    require("dpkg-query");
    let w = World::new("protect-target-pkgs");
    let root = fake_arm64_root(&w);
    let o = w
        .cmd(bin_dir().join("sb2-init"))
        .current_dir(&root)
        .args([
            "-s",
            "-c",
            "qemu-aarch64",
            "fakearm",
            "aarch64-linux-gnu-gcc",
        ])
        .output()
        .expect("sb2-init");
    assert!(o.status.success(), "{}", text(&o));
    w.write(
        "proj/prog.c",
        "#include <sb2pkg.h>\n#include <sb2stray.h>\nint f(void) { return sb2pkg_value() + SB2_STRAY; }\n",
    );
    let proj = w.work.join("proj");
    let trace = w.dir.join("trace.jsonl");
    let t = trace.to_str().expect("trace path");
    // The cross compiler is the host's; the header and the library it
    // reads through /usr are the target root's.
    let o = w
        .cmd(bin_dir().join("sb2"))
        .current_dir(&proj)
        .args(["-t", "fakearm", "--trace", t, "--"])
        .args(["aarch64-linux-gnu-gcc", "-shared", "-nostdlib", "-fPIC"])
        .args(["-o", "libprog.so", "prog.c", "-L/usr/lib", "-lsb2pkg"])
        .output()
        .expect("run sb2");
    assert!(o.status.success(), "{}", text(&o));

    let p = proj.to_str().expect("proj path");
    let report_of = |args: &[&str]| {
        let r = logz(&w, args);
        assert!(r.status.success(), "{}", text(&r));
        let secs = sections(&stdout(&r));
        (r, secs)
    };
    let target_head = format!("packages (target {}):", root.display());
    let (r, secs) = report_of(&["--report", t, "--tree", p]);
    let report = stdout(&r);
    let inputs = section(&secs, "inputs (outside", &r);
    for h in ["/usr/include/sb2pkg.h", "/usr/lib/libsb2pkg.so"] {
        assert!(inputs.iter().any(|i| i == h), "inputs lack {h}:\n{report}");
    }
    let target = section(&secs, &target_head, &r);
    assert_eq!(
        target,
        [
            "libsb2pkg-dev:arm64 (2 files)",
            "(not from a package) 1 files"
        ],
        "the header and the library (as /lib), then sb2stray.h:\n{report}"
    );
    let host = section(&secs, "packages (host):", &r);
    assert!(
        host.iter()
            .any(|i| i.starts_with("gcc-") && i.contains("aarch64-linux-gnu")),
        "the cross compiler is a host package:\n{report}"
    );
    assert!(
        !host.iter().any(|i| i.contains("sb2pkg")),
        "a target package among the host's:\n{report}"
    );

    // A trace without its first line (as sb2 wrote them before) names no
    // root: everything is asked of the host, unless --target-root says.
    let old = w.dir.join("old.jsonl");
    let body = std::fs::read_to_string(&trace).expect("the trace");
    let (first, rest) = body.split_once('\n').expect("a first line");
    assert!(first.contains("\"ev\":\"session\""), "{first}");
    std::fs::write(&old, rest).expect("write the old trace");
    let o_ = old.to_str().expect("old trace path");
    let (r, secs) = report_of(&["--report", o_, "--tree", p]);
    assert!(
        !secs.iter().any(|(h, _)| h.starts_with("packages (target")),
        "{}",
        text(&r)
    );
    let root_s = root.to_str().expect("root path");
    let (r, secs) = report_of(&["--report", o_, "--tree", p, "--target-root", root_s]);
    assert_eq!(
        section(&secs, &target_head, &r).first().map(String::as_str),
        Some("libsb2pkg-dev:arm64 (2 files)"),
        "{}",
        text(&r)
    );

    // A root without a dpkg database: said once, for its three files.
    std::fs::remove_dir_all(root.join("var/lib/dpkg")).expect("rm the database");
    let (r, secs) = report_of(&["--report", t, "--tree", p]);
    assert_eq!(
        section(&secs, &target_head, &r),
        [format!(
            "(no dpkg database at {}/var/lib/dpkg) 3 files",
            root.display()
        )],
        "{}",
        text(&r)
    );
}

#[test]
fn logz_sums_up_a_session_log_per_program() {
    let w = World::new("protect-logz");
    let logs = w.dir.join("logs");
    let net = probe("net");
    let o = w
        .cmd(bin_dir().join("sb2"))
        .env("SB2_LOG_DIR", &logs)
        .args(["-L", "net", "-n", "offline", "--"])
        .arg(&net)
        .args(["connect", "ipv4", "127.0.0.1", "9"])
        .output()
        .expect("run sb2");
    assert_eq!(stdout(&o).trim(), "errno EPERM", "{}", text(&o));
    let files: Vec<PathBuf> = std::fs::read_dir(&logs)
        .unwrap_or_else(|e| panic!("no log directory {}: {e}\n{}", logs.display(), text(&o)))
        .map(|e| e.expect("dir entry").path())
        .collect();
    assert_eq!(files.len(), 1, "one log file: {files:?}");
    let log = std::fs::read_to_string(&files[0]).expect("read the log");
    assert!(
        log.lines().any(|l| {
            let l = l.replace(' ', "");
            l.contains("\"ev\":\"net\"")
                && l.contains("\"verdict\":\"deny\"")
                && l.contains("127.0.0.1")
        }),
        "no denied net event in the log:\n{log}"
    );

    let r = logz(&w, &[files[0].to_str().expect("log path")]);
    assert!(r.status.success(), "{}", text(&r));
    let s = stdout(&r);
    let line = s
        .lines()
        .find(|l| l.starts_with("probe-net:"))
        .unwrap_or_else(|| panic!("no line for probe-net:\n{s}"));
    for part in [
        "mapped ",
        "passed ",
        "exec ",
        "net 1 (denied 1)",
        "names 0 (denied 0)",
    ] {
        assert!(line.contains(part), "{part:?} not in {line:?}\n{s}");
    }
    let secs = sections(&s);
    let denied = section(&secs, "denied:", &r);
    assert!(
        denied.iter().any(|i| i.contains("127.0.0.1")),
        "denied: lacks 127.0.0.1:\n{s}"
    );
}

#[test]
fn readonly_rules_refuse_with_their_errno_and_count_as_violations() {
    let w = World::new("protect-rules");
    let d = w.work.display().to_string();
    for sub in ["ro", "acc", "open"] {
        std::fs::create_dir_all(w.work.join(sub)).expect("mkdir");
    }
    let rules = w.write(
        "rules.lua",
        &format!(
            r#"fs_mapping_rules = {{
  {{ rules = import_from_fs_rule_library("sb2_own"), dir = "/" }},
  {{ dir = "{d}/ro", use_orig_path = true, readonly = true }},
  {{ dir = "{d}/acc", use_orig_path = true, readonly = true, errno = "EACCES" }},
  {{ dir = "/", use_orig_path = true }},
}}
"#
        ),
    );
    let r = rules.to_str().expect("rules path");
    let script = "touch ro/f 2>&1 | sed 's/.*: //'; touch acc/f 2>&1 | sed 's/.*: //'; \
                  touch open/f && echo open-ok";
    let o = w.sh(&["-M", r], script);
    assert_eq!(
        stdout(&o),
        "Read-only file system\nPermission denied\nopen-ok\n",
        "{}",
        text(&o)
    );
    let v = violations(&o);
    assert!(
        !matching(&v, "ro/f (EROFS)").is_empty() && !matching(&v, "acc/f (EACCES)").is_empty(),
        "{v:#?}\n{}",
        text(&o)
    );
    let o = w.sh(&["--strict", "-M", r], "touch ro/g 2>/dev/null; true");
    assert_eq!(o.status.code(), Some(86), "{}", text(&o));
    // A wrong errno is a rule file error naming file and line.
    let bad = w.write(
        "bad.lua",
        "fs_mapping_rules = {\n  { dir = \"/x\", readonly = true, errno = \"ENOPE\" },\n}\n",
    );
    let o = w.sh(&["-M", bad.to_str().expect("bad path")], "true");
    assert_eq!(o.status.code(), Some(125), "{}", text(&o));
    assert!(text(&o).contains("bad.lua:2"), "{}", text(&o));
}

#[test]
fn trace_names_the_files_mkstemp_and_friends_made_not_their_templates() {
    require("gcc");
    let w = World::new("trace-mkstemp");
    w.write(
        "mk.c",
        "#include <stdlib.h>\n#include <stdio.h>\n\
         int main(void) { char t[] = \"out/msXXXXXX\"; char d[] = \"out/mdXXXXXX\"; char s[] = \"out/mssXXXXXX.c\";\n\
         if (mkstemp(t) < 0 || !mkdtemp(d) || mkstemps(s, 2) < 0) return 1;\n\
         printf(\"%s\\n%s\\n%s\\n\", t, d, s); return 0; }\n",
    );
    std::fs::create_dir_all(w.work.join("out")).unwrap();
    let o = w.cmd("gcc").args(["-o", "mk", "mk.c"]).output().unwrap();
    assert!(o.status.success(), "{}", text(&o));
    let trace = w.dir.join("trace.jsonl");
    let o = w
        .cmd(bin_dir().join("sb2"))
        .arg("--trace")
        .arg(&trace)
        .arg("./mk")
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", text(&o));
    let t = std::fs::read_to_string(&trace).unwrap();
    assert!(!t.contains("XXXXXX"), "a template in the trace: {t}");
    for made in stdout(&o).lines() {
        let full = w.work.join(made);
        assert!(full.exists(), "{made}");
        assert!(
            t.lines().any(|l| l.contains("\"ev\":\"create\"")
                && l.contains(&format!("\"path\":\"{}\"", full.display()))),
            "{made} not traced as created: {t}"
        );
    }
}

#[test]
fn violation_summary_as_json_on_stderr_or_into_a_file() {
    let w = World::new("json-violations");
    let allowed = w.work.join("ok");
    std::fs::create_dir_all(&allowed).unwrap();
    let a = allowed.to_str().unwrap();
    let o = w.sb2(&[
        "--json",
        "--allow-write",
        a,
        "sh",
        "-c",
        "touch ../a 2>/dev/null; touch ../a 2>/dev/null; true",
    ]);
    assert!(o.status.success(), "{}", text(&o));
    let err = String::from_utf8_lossy(&o.stderr).into_owned();
    let line = err
        .lines()
        .find(|l| l.starts_with('{') && l.contains("\"schema\":\"sb2-violations\""))
        .unwrap_or_else(|| panic!("{err}"));
    let doc: serde_json::Value = serde_json::from_str(line).unwrap();
    assert_eq!(doc["schema"], "sb2-violations");
    assert_eq!(doc["version"], 1);
    assert_eq!(doc["total"], 2);
    let v = &doc["violations"][0];
    assert_eq!(
        (
            v["ev"].as_str(),
            v["prog"].as_str(),
            v["errno"].as_str(),
            v["times"].as_u64()
        ),
        (Some("deny"), Some("touch"), Some("EROFS"), Some(2)),
        "{doc}"
    );
    assert!(
        v["vpath"].as_str().unwrap().ends_with("-json-violations/a"),
        "{doc}"
    );
    assert!(
        !err.contains("access violation(s):"),
        "no text list as well: {err}"
    );
    // Into a file: written with none too; the text list stays on stderr.
    let f = w.dir.join("v.json");
    let arg = format!("--json={}", f.display());
    let o = w.sb2(&[
        &arg,
        "--allow-write",
        a,
        "sh",
        "-c",
        "touch ../b 2>/dev/null; true",
    ]);
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("1 access violation(s):"),
        "{}",
        text(&o)
    );
    let doc: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&f).unwrap()).unwrap();
    assert_eq!(doc["total"], 1);
    let o = w.sb2(&[&arg, "true"]);
    assert!(o.status.success(), "{}", text(&o));
    let doc: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&f).unwrap()).unwrap();
    assert_eq!(
        (
            doc["total"].as_u64(),
            doc["violations"].as_array().map(Vec::len)
        ),
        (Some(0), Some(0))
    );
}

#[test]
fn logz_summary_and_report_as_json() {
    let w = World::new("logz-json");
    let logs = w.dir.join("logs");
    let trace = w.dir.join("trace.jsonl");
    let o = w
        .cmd(bin_dir().join("sb2"))
        .env("SB2_LOG_DIR", &logs)
        .arg("-d")
        .arg("--trace")
        .arg(&trace)
        .args([
            "sh",
            "-c",
            "cat /etc/debian_version >/dev/null; echo x > out",
        ])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", text(&o));
    let log = std::fs::read_dir(&logs)
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let logz = |args: &[&std::ffi::OsStr]| {
        let o = w
            .cmd(bin_dir().join("sb2-logz"))
            .args(args)
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", text(&o));
        serde_json::from_slice::<serde_json::Value>(&o.stdout)
            .unwrap_or_else(|e| panic!("{e}: {}", text(&o)))
    };
    let s = logz(&["--json".as_ref(), "-m".as_ref(), log.as_os_str()]);
    assert_eq!(
        (s["schema"].as_str(), s["version"].as_u64()),
        (Some("sb2-log-summary"), Some(1)),
        "{s}"
    );
    assert!(s["programs"]["cat"]["passed"].as_u64() > Some(0), "{s}");
    assert!(s["mapped"].is_array(), "{s}");
    let r = logz(&[
        "--json".as_ref(),
        "--report".as_ref(),
        trace.as_os_str(),
        "--tree".as_ref(),
        w.work.as_os_str(),
    ]);
    assert_eq!(
        (r["schema"].as_str(), r["version"].as_u64()),
        (Some("sb2-report"), Some(1)),
        "{r}"
    );
    assert!(
        r["inputs"]
            .as_array()
            .unwrap()
            .iter()
            .any(|i| i["path"] == "/etc/debian_version"),
        "{r}"
    );
    assert!(
        r["outputs"]
            .as_array()
            .unwrap()
            .iter()
            .any(|o| o.as_str().is_some_and(|p| p.ends_with("/work/out"))),
        "{r}"
    );
    let host = &r["packages"][0];
    assert_eq!(host["database"], "host");
    assert!(host["packages"]["base-files"].as_u64() >= Some(1), "{r}");
}

/// What a write through an fd could change about a file: owner, mode,
/// times (ctime moves with any change of its inode) and one xattr.
fn inode_state(p: &std::path::Path) -> String {
    use std::os::unix::fs::MetadataExt;
    let m = std::fs::metadata(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
    format!(
        "uid={} gid={} mode={:o} mtime={}.{} ctime={}.{} xattr={:?}",
        m.uid(),
        m.gid(),
        m.mode(),
        m.mtime(),
        m.mtime_nsec(),
        m.ctime(),
        m.ctime_nsec(),
        get_xattr(p, "user.sb2keep")
    )
}

fn c_path(p: &std::path::Path) -> std::ffi::CString {
    use std::os::unix::ffi::OsStrExt;
    std::ffi::CString::new(p.as_os_str().as_bytes()).expect("path without NUL")
}

fn get_xattr(p: &std::path::Path, name: &str) -> Option<String> {
    let (cp, cn) = (c_path(p), std::ffi::CString::new(name).expect("name"));
    let mut v = [0u8; 256];
    // SAFETY: NUL-terminated strings and a buffer of the size given.
    let n = unsafe { libc::getxattr(cp.as_ptr(), cn.as_ptr(), v.as_mut_ptr().cast(), v.len()) };
    (n >= 0).then(|| String::from_utf8_lossy(&v[..n as usize]).into_owned())
}

/// Sets a user xattr; false where the file system has none (tmpfs before
/// Linux 6.6).
fn set_xattr(p: &std::path::Path, name: &str, value: &str) -> bool {
    let (cp, cn) = (c_path(p), std::ffi::CString::new(name).expect("name"));
    // SAFETY: NUL-terminated strings and a value of the length given.
    unsafe {
        libc::setxattr(
            cp.as_ptr(),
            cn.as_ptr(),
            value.as_ptr().cast(),
            value.len(),
            0,
        ) == 0
    }
}

/// The writes a file's fd allows whoever may open it read-only, each as
/// a probe call (family, function and arguments after the file):
/// fchmod, fchown (to the owner it has: only ctime tells), fsetxattr,
/// fremovexattr, futimens and futimes; and on a directory's fd,
/// futimesat with a NULL path, utimensat and fchownat with AT_EMPTY_PATH
/// (glibc's utimensat refuses a NULL path, and its fchmodat
/// AT_EMPTY_PATH before 2.39).
fn fd_writes(uid: &str, gid: &str) -> Vec<(&'static str, &'static str, Vec<String>, bool)> {
    let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
    // (probe family, function, arguments after the FILE/DIR, on a dir)
    vec![
        ("vperm", "fchmod", s(&["600"]), false),
        ("vperm", "fchown", s(&[uid, gid]), false),
        ("vperm", "fsetxattr", s(&["user.sb2new", "v"]), false),
        ("vperm", "fremovexattr", s(&["user.sb2keep"]), false),
        ("vperm", "futimens", s(&["1000"]), false),
        ("vperm", "futimes", s(&["2000"]), false),
        ("attr", "utimensat", s(&["", "3000", "e"]), true),
        ("attr", "futimesat", s(&["NULL", "4000"]), true),
        ("attr", "fchownat", s(&["", uid, gid, "e"]), true),
    ]
}

/// One session of the probe calls of [`fd_writes`] on `file` (or `dir`):
/// their lines, and the session's output.
fn fd_write_session(
    w: &World,
    sb2_args: &[&str],
    file: &std::path::Path,
    dir: &std::path::Path,
) -> (Vec<String>, Output) {
    // SAFETY: plain id queries.
    let (uid, gid) = unsafe { (libc::geteuid(), libc::getegid()) };
    let (uid, gid) = (uid.to_string(), gid.to_string());
    let q = |s: &str| format!("'{}'", s.replace('\'', "'\\''"));
    let script = fd_writes(&uid, &gid)
        .iter()
        .map(|(fam, f, args, on_dir)| {
            let target = if *on_dir { dir } else { file };
            let mut c = vec![
                q(probe(fam).to_str().expect("probe path")),
                q(f),
                q(target.to_str().expect("path")),
            ];
            c.extend(args.iter().map(|a| q(a)));
            c.join(" ")
        })
        .collect::<Vec<_>>()
        .join("; ");
    let mut a = sb2_args.to_vec();
    a.push("--");
    let o = w.sh(&a, &script);
    let lines = stdout(&o).lines().map(str::to_owned).collect();
    (lines, o)
}

/// Write protection has no fd-shaped holes: a file opened read-only
/// still lets its owner change mode, owner, times and xattrs through the
/// fd, so each of those calls on a protected file (outside
/// `--allow-write`, or under a read-only rule) is refused as its path
/// form is, EROFS, the file unchanged and the violation counted; on a
/// file the session may write they work.
#[test]
fn writes_through_a_read_only_fd_are_protected_like_their_paths() {
    let w = World::new("protect-fd");
    let build = w.work.join("build");
    for d in ["build/dir", "prot-dir", "ro/dir"] {
        std::fs::create_dir_all(w.work.join(d)).expect("mkdir");
    }
    let files = ["build/f", "prot-f", "ro/f"].map(|f| w.write(f, "x\n"));
    let [mine, prot, ro] = &files;
    let xattrs = files.iter().all(|f| set_xattr(f, "user.sb2keep", "1"));
    let b = build.to_str().expect("build dir");

    let fns = fd_writes("0", "0");
    let check_refused = |lines: &[String],
                         o: &Output,
                         file: &std::path::Path,
                         dir: &std::path::Path,
                         errno: &str| {
        assert_eq!(lines.len(), fns.len(), "{}", text(o));
        for ((_, f, _, _), l) in fns.iter().zip(lines) {
            assert_eq!(l, &format!("{f} ret=-1 errno={errno}"), "{}", text(o));
        }
        let v = violations(o);
        for (_, f, _, on_dir) in &fns {
            let target = if *on_dir { dir } else { file };
            let want = format!(": {f} {} ({errno})", target.display());
            assert_eq!(
                v.iter().filter(|i| i.ends_with(&want)).count(),
                1,
                "{f} not counted once as {want:?}: {v:#?}\n{}",
                text(o)
            );
        }
    };

    // Outside --allow-write.
    let before = (inode_state(prot), inode_state(&w.work.join("prot-dir")));
    let (lines, o) = fd_write_session(&w, &["--allow-write", b], prot, &w.work.join("prot-dir"));
    check_refused(&lines, &o, prot, &w.work.join("prot-dir"), "EROFS");
    assert_eq!(
        (inode_state(prot), inode_state(&w.work.join("prot-dir"))),
        before,
        "a protected file changed through an fd:\n{}",
        text(&o)
    );

    // Inside it: every call works (an xattr only where the file system
    // has them).
    let before = inode_state(mine);
    let (lines, o) = fd_write_session(&w, &["--allow-write", b], mine, &build.join("dir"));
    assert_eq!(lines.len(), fns.len(), "{}", text(&o));
    for ((_, f, _, _), l) in fns.iter().zip(&lines) {
        let ok = format!("{f} ret=0 errno=0");
        let unsupported = !xattrs && f.contains("xattr");
        assert!(
            *l == ok || (unsupported && l.ends_with("EOPNOTSUPP")),
            "{l:?} is not {ok:?}:\n{}",
            text(&o)
        );
    }
    assert!(violations(&o).is_empty(), "{}", text(&o));
    assert_ne!(inode_state(mine), before, "{}", text(&o));
    assert_eq!(
        std::fs::metadata(mine)
            .map(|m| {
                use std::os::unix::fs::MetadataExt;
                (m.mode() & 0o7777, m.mtime())
            })
            .ok(),
        Some((0o600, 2000)),
        "{}",
        text(&o)
    );
    if xattrs {
        assert_eq!(get_xattr(mine, "user.sb2keep"), None);
        assert_eq!(get_xattr(mine, "user.sb2new").as_deref(), Some("v"));
    }

    // A read-only rule, without --allow-write.
    let d = w.work.display().to_string();
    let rules = w.write(
        "rules.lua",
        &format!(
            r#"fs_mapping_rules = {{
  {{ rules = import_from_fs_rule_library("sb2_own"), dir = "/" }},
  {{ dir = "{d}/ro", use_orig_path = true, readonly = true }},
  {{ dir = "/", use_orig_path = true }},
}}
"#
        ),
    );
    let r = rules.to_str().expect("rules path");
    let before = (inode_state(ro), inode_state(&w.work.join("ro/dir")));
    let (lines, o) = fd_write_session(&w, &["-M", r], ro, &w.work.join("ro/dir"));
    check_refused(&lines, &o, ro, &w.work.join("ro/dir"), "EROFS");
    assert_eq!(
        (inode_state(ro), inode_state(&w.work.join("ro/dir"))),
        before,
        "{}",
        text(&o)
    );
    // The same rules leave the rest writable through fds.
    let (lines, o) = fd_write_session(&w, &["-M", r], prot, &w.work.join("prot-dir"));
    assert!(
        lines
            .iter()
            .all(|l| l.contains(" ret=0 ") || (!xattrs && l.ends_with("EOPNOTSUPP"))),
        "{lines:#?}\n{}",
        text(&o)
    );
}

/// Device nodes: the fd form answers as the path form does (/dev/null is
/// always writable; changing its mode is the kernel's to refuse). And
/// under `-R` a write through an fd of an allowed file is still the
/// virtual one (recorded, not done), while a protected file stays
/// refused.
#[test]
fn fd_writes_on_devices_and_under_virtual_root() {
    let w = World::new("protect-fd-vperm");
    let build = w.work.join("build");
    std::fs::create_dir_all(&build).expect("mkdir build");
    let mine = w.write("build/f", "x\n");
    let prot = w.write("prot-f", "x\n");
    let b = build.to_str().expect("build dir");
    let (attr, vperm) = (probe("attr"), probe("vperm"));
    let (attr, vperm) = (
        attr.to_str().expect("probe"),
        vperm.to_str().expect("probe"),
    );
    let o = w.sh(
        &["--allow-write", b, "--"],
        &format!("{attr} chmod /dev/null 666; {vperm} fchmod /dev/null 666"),
    );
    let lines: Vec<String> = stdout(&o).lines().map(str::to_owned).collect();
    assert_eq!(lines.len(), 2, "{}", text(&o));
    assert_eq!(
        lines[0].strip_prefix("chmod "),
        lines[1].strip_prefix("fchmod "),
        "{}",
        text(&o)
    );
    assert!(violations(&o).is_empty(), "{}", text(&o));

    let (m, p) = (mine.to_str().expect("path"), prot.to_str().expect("path"));
    let before = inode_state(&prot);
    let o = w.sh(
        &["-R", "--allow-write", b, "--"],
        &format!(
            "{vperm} fchown {m} 0 0; {vperm} fchmod {m} 4755; {vperm} fstat {m}; \
             {vperm} fchown {p} 0 0; {vperm} fchmod {p} 600"
        ),
    );
    let lines: Vec<String> = stdout(&o).lines().map(str::to_owned).collect();
    assert_eq!(
        lines,
        [
            "fchown ret=0 errno=0",
            "fchmod ret=0 errno=0",
            "fstat ret=0 errno=0 uid=0 gid=0 mode=104755",
            "fchown ret=-1 errno=EROFS",
            "fchmod ret=-1 errno=EROFS",
        ],
        "{}",
        text(&o)
    );
    assert_eq!(inode_state(&prot), before, "{}", text(&o));
    assert_eq!(violations(&o).len(), 2, "{}", text(&o));
}

/// A cwd whose parent the user may not search (`cd p/c; chmod a-x ..`,
/// the scenario of coreutils' mkdir -p tests): its absolute path cannot
/// be walked, but the kernel walks relative names from the cwd itself,
/// so `mkdir a` works natively. sb2 starts there, and its sessions,
/// started there or moving there, do what the same commands do natively.
/// (Only an unprivileged user meets the refusal; root passes either way.)
#[test]
fn a_cwd_below_an_unsearchable_parent_works_as_natively() {
    let w = World::new("protect-hidden-cwd");
    let sb2 = bin_dir().join("sb2");
    let sb2 = sb2.to_str().expect("sb2 path");
    let cmds = "mkdir a && touch a/f && ln -s a l && mkdir -p l/b/c && ls a l/ && \
                echo x > l/b/c/g && mv a/f a/f2 && ls -R a && cat a/b/c/g && \
                rm -r a l && ls && pwd && echo done";
    // Each run in a fresh p/c; the parent made searchable again after.
    let run = |name: &str, inner: &str| -> Output {
        std::fs::create_dir_all(w.work.join(name).join("p/c")).expect("mkdir p/c");
        let script =
            format!("cd {name}/p/c && chmod a-x .. && {{ {inner}; }}; s=$?; chmod u+x ..; exit $s");
        w.cmd("sh").args(["-c", &script]).output().expect("sh")
    };
    let q = |s: &str| format!("'{}'", s.replace('\'', "'\\''"));
    let native = run("native", &format!("sh -c {}", q(cmds)));
    assert!(native.status.success(), "{}", text(&native));
    let want = stdout(&native).replace("/native/", "/X/");
    let trace = w.dir.join("trace.jsonl");
    let t = trace.to_str().expect("trace path");
    for (name, inner) in [
        ("started", format!("{sb2} sh -c {}", q(cmds))),
        (
            "allowed",
            format!(
                "{sb2} --strict --allow-write . --trace {t} sh -c {}",
                q(cmds)
            ),
        ),
    ] {
        let o = run(name, &inner);
        assert!(o.status.success(), "{name}: {}", text(&o));
        assert_eq!(
            stdout(&o).replace(&format!("/{name}/"), "/X/"),
            want,
            "{name}: {}",
            text(&o)
        );
    }
    // The trace names the real paths, not the way the kernel was shown.
    let log = std::fs::read_to_string(&trace).expect("trace");
    let made = format!("\"hpath\":\"{}\"", w.work.join("allowed/p/c/a").display());
    assert!(log.contains(&made), "no {made} in the trace:\n{log}");
    assert!(!log.contains("thread-self"), "{log}");
    // A session that moves into such a cwd.
    std::fs::create_dir_all(w.work.join("moved/p/c")).expect("mkdir p/c");
    let o = w.sh(
        &["--"],
        &format!(
            "cd moved/p/c && chmod a-x .. && {{ sh -c {}; }}; s=$?; chmod u+x ..; exit $s",
            q(cmds)
        ),
    );
    assert!(o.status.success(), "moved: {}", text(&o));
    assert_eq!(
        stdout(&o).replace("/moved/", "/X/"),
        want,
        "moved: {}",
        text(&o)
    );
}

/// The target root of an emulate session is read-only (without `-R`):
/// its files refuse writes through an fd as they refuse chmod, by the
/// same rule.
#[test]
fn fd_writes_to_the_emulated_target_root_are_refused() {
    let w = World::new("protect-fd-emulate");
    let root = target_root();
    w.init_target(root, "t", &["-m", "emulate"]);
    let file = root.join("etc/hostname");
    let before = inode_state(&file);
    // The session's /tmp is its own: the probes run from the start
    // directory, which the emulate view leaves as it is.
    for p in ["attr", "vperm"] {
        std::fs::copy(probe(p), w.work.join(format!("probe-{p}"))).expect("copy probe");
    }
    let o = w.sh(
        &["--"],
        "./probe-attr chmod /etc/hostname 600; ./probe-vperm fchmod /etc/hostname 600; \
         ./probe-vperm futimens /etc/hostname 5",
    );
    let lines: Vec<String> = stdout(&o).lines().map(str::to_owned).collect();
    assert_eq!(
        lines,
        [
            "chmod ret=-1 errno=EROFS",
            "fchmod ret=-1 errno=EROFS",
            "futimens ret=-1 errno=EROFS",
        ],
        "{}",
        text(&o)
    );
    assert_eq!(inode_state(&file), before, "{}", text(&o));
    let v = violations(&o);
    for f in ["chmod", "fchmod", "futimens"] {
        assert_eq!(
            matching(&v, &format!(": {f} /etc/hostname (EROFS)")).len(),
            1,
            "{v:#?}\n{}",
            text(&o)
        );
    }
}
