//! Fuzzing the rule compiler's inputs: the repository's own rule files
//! (a mode's fs and exec rules, a rule library, a network rule file),
//! garbled — characters and Lua tokens inserted, lines deleted,
//! duplicated, swapped, the file cut short — must compile or give an
//! error that names a file and a line, never panic and never hang (an
//! endless loop is stopped by the instruction limit, `compile::new_lua`).
//!
//! Each case writes the garbled file into a private copy of `rules/`.
//! `PROPTEST_CASES` sets the count (docs/fuzzing.md).

#![cfg(feature = "compiler")]

mod common;

use proptest::prelude::*;
use sb2_ruletree::compile::{self, CompileError};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// A private copy of `rules/` for the test `name`.
fn rules_copy(name: &str) -> PathBuf {
    let d = common::scratch(name);
    let st = std::process::Command::new("cp")
        .arg("-a")
        .arg(common::rules_dir())
        .arg(&d)
        .status()
        .expect("cp");
    assert!(st.success());
    d
}

/// The rule files worth garbling (relative to `rules/`).
fn targets() -> Vec<String> {
    let mut v = Vec::new();
    for m in common::modes() {
        for f in ["fs_rules.lua", "exec_rules.lua"] {
            if common::rules_dir().join("modes").join(&m).join(f).exists() {
                v.push(format!("modes/{m}/{f}"));
            }
        }
    }
    for dir in ["lib", "net"] {
        let mut names: Vec<String> = std::fs::read_dir(common::rules_dir().join(dir))
            .expect("rules dir")
            .filter_map(|e| e.ok())
            .map(|e| format!("{dir}/{}", e.file_name().to_string_lossy()))
            .filter(|n| n.ends_with(".lua"))
            .collect();
        names.sort();
        v.extend(names);
    }
    v
}

/// The compile of a session whose first mode is `mode` with the network
/// rules `net`, over the rules in `dir`.
fn compile_in(dir: &Path, mode: &str, net: &str) -> Result<(), CompileError> {
    let mut input = common::input(net);
    input.rules_dir = dir.to_path_buf();
    input.modes = vec![(
        mode.to_string(),
        dir.join("modes").join(mode).join("fs_rules.lua"),
    )];
    input.net = Some((net.to_string(), dir.join("net").join(format!("{net}.lua"))));
    compile::compile(&input).map(|_| ())
}

const TOKENS: &[&str] = &[
    "{",
    "}",
    "(",
    ")",
    "[[",
    "]]",
    "\"",
    "'",
    ",",
    "=",
    "==",
    "..",
    "...",
    "end",
    "do",
    "then",
    "function",
    "local",
    "return",
    "nil",
    "if",
    "for",
    "while true do end",
    "repeat until false",
    "--",
    "--[[",
    "#",
    "~",
    "0x",
    "1e400",
    "\\",
    "\n",
    "rules",
    "actions",
    "map_to",
    "dir",
    "prefix",
    "path",
    "replace_by",
    "if_exists_then_map_to",
    "union_dir",
    "func_class",
    "binary_name",
    "readonly",
    "error(",
    "string.rep('x', 1e9)",
    "{{{{{{{{",
];

#[derive(Clone, Debug)]
enum Edit {
    /// A token inserted at a byte position.
    Token(usize, usize),
    /// Any character inserted.
    Char(usize, char),
    /// A byte range deleted.
    Delete(usize, u8),
    /// A line deleted, duplicated, or swapped with another.
    DropLine(usize),
    DupLine(usize),
    SwapLines(usize, usize),
    /// The file cut short.
    Cut(usize),
}

fn edit() -> impl Strategy<Value = Edit> {
    prop_oneof![
        3 => (any::<usize>(), 0..TOKENS.len()).prop_map(|(p, t)| Edit::Token(p, t)),
        2 => (any::<usize>(), proptest::char::any()).prop_map(|(p, c)| Edit::Char(p, c)),
        2 => (any::<usize>(), 1u8..16).prop_map(|(p, n)| Edit::Delete(p, n)),
        1 => any::<usize>().prop_map(Edit::DropLine),
        1 => any::<usize>().prop_map(Edit::DupLine),
        1 => (any::<usize>(), any::<usize>()).prop_map(|(a, b)| Edit::SwapLines(a, b)),
        1 => any::<usize>().prop_map(Edit::Cut),
    ]
}

/// `p` moved back to a character boundary of `s`.
fn boundary(s: &str, p: usize) -> usize {
    let mut p = p % (s.len() + 1);
    while !s.is_char_boundary(p) {
        p -= 1;
    }
    p
}

fn garble(src: &str, edits: &[Edit]) -> String {
    let mut s = src.to_string();
    for e in edits {
        match *e {
            Edit::Token(p, t) => {
                let p = boundary(&s, p);
                s.insert_str(p, TOKENS[t]);
            }
            Edit::Char(p, c) => {
                let p = boundary(&s, p);
                s.insert(p, c);
            }
            Edit::Delete(p, n) => {
                let a = boundary(&s, p);
                let b = boundary(&s, (a + n as usize).min(s.len()));
                if b > a {
                    s.replace_range(a..b, "");
                }
            }
            Edit::DropLine(i) | Edit::DupLine(i) | Edit::SwapLines(i, _) => {
                let mut lines: Vec<String> = s.split('\n').map(String::from).collect();
                let k = lines.len();
                match *e {
                    Edit::DropLine(_) => {
                        lines.remove(i % k);
                    }
                    Edit::DupLine(_) => lines.insert(i % k, lines[i % k].clone()),
                    Edit::SwapLines(_, j) => lines.swap(i % k, j % k),
                    _ => {}
                }
                s = lines.join("\n");
            }
            Edit::Cut(p) => {
                let p = boundary(&s, p);
                s.truncate(p);
            }
        }
    }
    s
}

/// Errors that are about a whole file, not a line of it.
fn whole_file(e: &CompileError) -> bool {
    [
        "defines no ",
        "interface_version is",
        "is not UTF-8",
        "binary chunk",
        "memory error",
        "not enough memory",
        "chroot_substitutes",
        "chroot_mounts",
    ]
    .iter()
    .any(|w| e.message.contains(w))
}

/// Does the error say where? A file of the rules, and a line: its own,
/// or in the message (an error in an imported library is reported by the
/// importing file, with the library's `FILE:LINE:` in the message).
fn names_file_and_line(e: &CompileError) -> bool {
    let line_in_message = e
        .message
        .split(".lua:")
        .skip(1)
        .any(|r| r.starts_with(|c: char| c.is_ascii_digit()));
    !e.file.is_empty() && (e.line > 0 || line_in_message || whole_file(e))
}

proptest! {
    #![proptest_config(common::config(1000))]

    #[test]
    fn garbled_rule_files_compile_or_say_where(
        which in any::<usize>(),
        edits in proptest::collection::vec(edit(), 1..6),
    ) {
        thread_local! {
            static DIR: PathBuf = rules_copy("compile");
        }
        let dir = DIR.with(|d| d.clone());
        let all = targets();
        let rel = &all[which % all.len()];
        let path = dir.join(rel);
        let orig = std::fs::read_to_string(common::rules_dir().join(rel)).expect("rule file");
        std::fs::write(&path, garble(&orig, &edits)).expect("write");
        // The mode the file belongs to (a library or network file: a mode
        // that imports libraries, with the file's network rules).
        let (mode, net) = match rel.split('/').collect::<Vec<_>>()[..] {
            ["modes", m, _] => (m.to_string(), "offline".to_string()),
            ["net", f] => ("simple".to_string(), f.trim_end_matches(".lua").to_string()),
            _ => ("emulate".to_string(), "offline".to_string()),
        };
        let start = Instant::now();
        let r = compile_in(&dir, &mode, &net);
        let took = start.elapsed();
        std::fs::write(&path, &orig).expect("restore");
        prop_assert!(took < Duration::from_secs(30), "{rel}: compile took {took:?}");
        if let Err(e) = r {
            prop_assert!(names_file_and_line(&e), "{rel}: error without file and line: {e:?}");
        }
    }
}

/// An endless loop in a rule file is stopped, with its file and line.
#[test]
fn endless_loop_is_stopped_with_file_and_line() {
    let dir = rules_copy("loop");
    let f = dir.join("modes/simple/fs_rules.lua");
    let src = std::fs::read_to_string(&f).unwrap();
    std::fs::write(
        &f,
        format!("local n = 0\nwhile true do n = n + 1 end\n{src}"),
    )
    .unwrap();
    let start = Instant::now();
    let e = compile_in(&dir, "simple", "offline").expect_err("an endless loop compiles");
    assert!(start.elapsed() < Duration::from_secs(30));
    assert_eq!(e.file, f.display().to_string(), "{e:?}");
    assert_eq!(e.line, 2, "{e:?}");
    assert!(e.message.contains("endless loop"), "{e:?}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// The unchanged rules compile (the fuzz cases' baseline).
#[test]
fn every_mode_compiles() {
    let dir = common::rules_dir();
    for m in common::modes() {
        compile_in(&dir, &m, "offline").unwrap_or_else(|e| panic!("{m}: {e}"));
    }
}
