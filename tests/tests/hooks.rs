//! The hook table's declarations, as `sb2-show` reads them from libsb2.so,
//! agree with what the library does: a rule selecting on a function class
//! decides the same path for a real call and for `sb2-show -f FUNC`.

use sb2_tests::*;

fn hooks_table() -> Vec<Vec<String>> {
    let o = std::process::Command::new(bin_dir().join("sb2-show"))
        .arg("hooks")
        .output()
        .expect("sb2-show hooks");
    assert!(o.status.success(), "{}", text(&o));
    stdout(&o)
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|l| l.split_whitespace().map(str::to_owned).collect())
        .collect()
}

#[test]
fn hooks_table_prints_declarations_and_aliases() {
    let rows = hooks_table();
    let row = |n: &str| {
        rows.iter()
            .find(|r| r[0] == n)
            .unwrap_or_else(|| panic!("{n} not in sb2-show hooks"))
            .clone()
    };
    // name family class follow write path dirfd fd alias-of
    assert_eq!(
        row("lstat")[1..],
        ["stat", "STAT", "nofollow", "read", "0", "-", "-", "-"]
    );
    assert_eq!(row("open64")[8], "open");
    assert_eq!(row("open")[2..5], ["OPEN", "open-flags", "open-flags"]);
    assert_eq!(
        row("unlinkat")[2..7],
        ["REMOVE", "nofollow", "write", "1", "0"]
    );
    assert_eq!(row("renameat")[5..7], ["1,3", "0,2"]);
    assert_eq!(row("fchmod")[4..8], ["write", "-", "-", "0"]);
    assert_eq!(row("mkfifoat")[2], "MKNOD");
    assert_eq!(row("statvfs")[2], "STAT");
    assert_eq!(row("execvpe")[2], "EXEC");
    // An alias points at a row that is not itself an alias.
    for r in &rows {
        if r[8] != "-" {
            assert_eq!(row(&r[8])[8], "-", "{} is an alias of an alias", r[0]);
        }
    }
    // Every row has all nine columns.
    assert!(rows.iter().all(|r| r.len() == 9), "{rows:?}");
}

#[test]
fn hooks_show_f_uses_the_declared_class_like_the_library() {
    require("python3");
    let w = World::new("hooksclass");
    let d = w.dir.display().to_string();
    for sub in ["stat", "open", "mknod"] {
        std::fs::create_dir_all(w.dir.join(sub)).unwrap();
    }
    std::fs::write(w.dir.join("stat/f"), "S").unwrap();
    std::fs::write(w.dir.join("open/f"), "O").unwrap();
    let rules = w.write(
        "r.lua",
        &format!(
            r#"fs_mapping_rules = {{
  {{ rules = import_from_fs_rule_library("sb2_own"), dir = "/" }},
  {{ dir = "/v", func_class = FUNC_CLASS_STAT, replace_by = "{d}/stat" }},
  {{ dir = "/v", func_class = FUNC_CLASS_MKNOD, replace_by = "{d}/mknod" }},
  {{ dir = "/v", replace_by = "{d}/open" }},
  {{ dir = "/", use_orig_path = true }},
}}
"#
        ),
    );
    let r = rules.to_str().unwrap();
    // What sb2-show says each function sees at /v/f.
    for (func, want) in [
        ("stat", "stat"),
        ("stat64", "stat"),
        ("statvfs", "stat"),
        ("getxattr", "stat"),
        ("open", "open"),
        ("fopen", "open"),
        ("mkfifoat", "mknod"),
    ] {
        let o = w.sb2(&["-M", r, "sb2-show", "-f", func, "which", "/v/f"]);
        assert_eq!(
            stdout(&o).trim(),
            format!("{d}/{want}/f"),
            "sb2-show -f {func}: {}",
            text(&o)
        );
    }
    // What the library does for the same calls.
    let py = "import os\n\
print(os.stat('/v/f').st_size)\n\
print(os.statvfs('/v').f_bsize > 0)\n\
print(open('/v/f').read())\n\
os.mkfifo('fifo', dir_fd=os.open('/v', os.O_RDONLY))\n";
    let o = w.sb2(&["-M", r, "python3", "-c", py]);
    assert!(o.status.success(), "{}", text(&o));
    assert_eq!(stdout(&o), "1\nTrue\nO\n", "{}", text(&o));
    // mkfifoat's class is MKNOD: /v/fifo (the dirfd's virtual path plus
    // the name) goes where MKNOD calls go.
    assert!(w.dir.join("mknod/fifo").exists(), "{}", text(&o));
    let o = w.sb2(&["-M", r, "sh", "-c", "mkfifo /v/fifo2"]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(w.dir.join("mknod/fifo2").exists(), "mkfifo: {}", text(&o));
    let o = w.sb2(&["-M", r, "sb2-show", "-f", "no_such_fn", "which", "/v/f"]);
    assert!(!o.status.success(), "{}", text(&o));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("not a hooked function"),
        "{}",
        text(&o)
    );
}
