//! A damaged session never crashes a program: a session file
//! (`ruletree.bin`, `generation`, `vperm.db` under `-R`) damaged while the
//! session runs makes every program started afterwards say so once (one
//! line, once per session) and fail its hooked calls with EIO, exec
//! included, instead of crashing or running unmapped; the programs that
//! were running go on (the shell here, whose copy of the tree was checked
//! when it started).
//!
//! The shell of `sb2 -W DIR` says "ready", the test damages a file of DIR
//! by renaming a damaged copy over it (a truncation in place would take
//! the pages from under the running shell's mapping, the kernel's rule:
//! docs/architecture.md; the ruletree is read-only besides), then lets the
//! shell run two stat probes and an exec.

use sb2_tests::*;
use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::Stdio;

/// How a test damages a file of the session directory.
enum Damage {
    /// A damaged copy (cut to this many bytes, or with these bytes at this
    /// offset) renamed over the file.
    Truncated(u64),
    Written(u64, &'static [u8]),
    Grown(u64),
}

fn damage(file: &Path, d: &Damage) {
    use std::os::unix::fs::FileExt;
    let tmp = file.with_extension("damaged");
    let rename = |edit: &dyn Fn(&std::fs::File)| {
        std::fs::copy(file, &tmp).expect("copy");
        // The copy has the file's mode (the ruletree is read-only).
        std::fs::set_permissions(&tmp, std::os::unix::fs::PermissionsExt::from_mode(0o644))
            .unwrap();
        let f = std::fs::OpenOptions::new().write(true).open(&tmp).unwrap();
        edit(&f);
        std::fs::rename(&tmp, file).expect("rename");
    };
    match d {
        Damage::Truncated(n) => rename(&|f| f.set_len(*n).unwrap()),
        Damage::Written(at, b) => rename(&|f| f.write_all_at(b, *at).unwrap()),
        Damage::Grown(by) => rename(&|f| {
            let len = f.metadata().unwrap().len();
            f.set_len(len + by).unwrap()
        }),
    }
}

/// Runs the case: `sb2 ARGS -W DIR sh`, damage `file` of DIR once the
/// shell is up, then two stat probes and `env true` (an exec from a
/// process of the damaged session). Checks the outcome and that the one
/// line naming the file and `why` appears exactly once.
fn case(name: &str, sb2_args: &[&str], file: &str, d: Damage, why: &str) {
    let w = World::new(name);
    let dir = w.dir.join("session");
    let stat = probe("stat");
    let script = format!(
        "echo ready; read go; \
         {p} stat /etc/passwd; echo \"rc=$?\"; \
         {p} stat /etc/passwd; echo \"rc=$?\"; \
         env true; echo \"env=$?\"; echo done",
        p = stat.display()
    );
    let mut c = w.cmd(bin_dir().join("sb2"));
    c.args(sb2_args)
        .arg("-W")
        .arg(&dir)
        .args(["sh", "-c", &script])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = c.spawn().expect("sb2");
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let mut first = String::new();
    out.read_line(&mut first).unwrap();
    assert_eq!(first, "ready\n", "the session did not start");
    damage(&dir.join(file), &d);
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(b"go\n").unwrap();
    drop(stdin);
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut out, &mut rest).unwrap();
    let o = child.wait_with_output().expect("wait");
    let err = String::from_utf8_lossy(&o.stderr).into_owned();
    let all = format!("status {:?}\n--- stdout\n{rest}--- stderr\n{err}", o.status);
    // No crash anywhere: the shell ran to its end, each probe exited by
    // itself after its call failed with EIO.
    assert_eq!(o.status.code(), Some(0), "{all}");
    assert!(rest.ends_with("done\n"), "{all}");
    assert_eq!(
        rest.matches("stat ret=-1 errno=EIO\nrc=0\n").count(),
        2,
        "{all}"
    );
    // The exec failed with EIO (env says so and exits 126) rather than
    // running `true` unmapped.
    assert!(rest.contains("env=126"), "{all}");
    assert!(err.contains("Input/output error"), "{all}");
    let line = format!(
        "sb2: session file {}/{file} is damaged ({why}); calls fail with EIO\n",
        dir.display()
    );
    assert_eq!(err.matches(&line).count(), 1, "{all}");
    assert_eq!(err.matches("sb2: session file").count(), 1, "{all}");
}

#[test]
fn damage_ruletree_truncated_while_running() {
    case(
        "dmg-tree-trunc",
        &[],
        "ruletree.bin",
        Damage::Truncated(1000),
        "truncated",
    );
}

#[test]
fn damage_ruletree_flipped_bytes() {
    case(
        "dmg-tree-flip",
        &[],
        "ruletree.bin",
        Damage::Written(4000, b"\xff\x00\xff"),
        "checksum mismatch",
    );
}

#[test]
fn damage_ruletree_other_version() {
    let v = sb2_ruletree::format::VERSION;
    let why = format!("format version 99, this sb2 reads version {v}");
    let why: &'static str = Box::leak(why.into_boxed_str());
    case(
        "dmg-tree-version",
        &[],
        "ruletree.bin",
        Damage::Written(8, b"\x63\x00\x00\x00"),
        why,
    );
}

#[test]
fn damage_generation_truncated() {
    case(
        "dmg-gen-trunc",
        &[],
        "generation",
        Damage::Truncated(100),
        "truncated",
    );
}

#[test]
fn damage_generation_wrong_size() {
    case(
        "dmg-gen-size",
        &[],
        "generation",
        Damage::Grown(4096),
        "longer than its layout",
    );
}

#[test]
fn damage_generation_foreign() {
    case(
        "dmg-gen-magic",
        &[],
        "generation",
        Damage::Written(8, b"XXXX"),
        "not a generation file",
    );
}

#[test]
fn damage_vperm_truncated() {
    case(
        "dmg-vperm-trunc",
        &["-R"],
        "vperm.db",
        Damage::Truncated(4096),
        "truncated",
    );
}

#[test]
fn damage_vperm_corrupted() {
    case(
        "dmg-vperm-magic",
        &["-R"],
        "vperm.db",
        Damage::Written(0, b"garbage!"),
        "not a virtual permission table",
    );
}

#[test]
fn damage_ruletree_is_read_only_so_nothing_truncates_it_by_accident() {
    let w = World::new("dmg-tree-ro");
    let o = w.sh(
        &[],
        "stat -c %a \"$SB2_SESSION_DIR/ruletree.bin\"; (true > \"$SB2_SESSION_DIR/ruletree.bin\") 2>/dev/null || echo refused; true",
    );
    // Root's writes ignore the mode (the suite runs as an ordinary user).
    // SAFETY: getuid cannot fail.
    let want = if unsafe { libc::getuid() } == 0 {
        "444\n"
    } else {
        "444\nrefused\n"
    };
    assert_eq!(stdout(&o), want, "{}", text(&o));
}
