//! The import rule of the crate's layers, checked over the source: a file
//! may name (`crate::...`) only its own layer or those below it, and a
//! family never names another family (what two families share lives
//! below them). `$crate::` in a macro is not checked here: the `hooks!`
//! macro's text names what the table, where it expands, composes.

use std::path::{Path, PathBuf};

/// The layer of a module (first path component under `src/`), lowest
/// first; families share one rank.
fn rank(module: &str) -> Option<u32> {
    Some(match module {
        "ffi" => 0,
        "process" => 1,
        "path" => 2,
        "fs" | "stat" | "dirs" | "union" | "ids" | "vperm" | "net" | "nss" | "exec" | "mem"
        | "root" => 3,
        "table" => 4,
        "lib" | "layers" => 5,
        _ => return None,
    })
}

const FAMILY: u32 = 3;

fn sources(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).expect("read src") {
        let p = e.expect("dir entry").path();
        if p.is_dir() {
            sources(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// Every module a source file names with `crate::` (not `$crate::`).
fn references(text: &str) -> Vec<String> {
    let mut found = Vec::new();
    for line in text.lines() {
        let code = line.split("//").next().unwrap_or("");
        let mut rest = code;
        while let Some(i) = rest.find("crate::") {
            let before = rest[..i].chars().last();
            let after = &rest[i + "crate::".len()..];
            let name: String = after
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            if before != Some('$') && !name.is_empty() {
                found.push(name);
            }
            rest = after;
        }
        // `use crate::{a, b}`
        if let Some(i) = code.find("crate::{") {
            let list = &code[i + "crate::{".len()..];
            let list = list.split('}').next().unwrap_or("");
            for n in list.split(',') {
                let n: String = n
                    .trim()
                    .chars()
                    .take_while(|c| c.is_alphanumeric() || *c == '_')
                    .collect();
                if !n.is_empty() {
                    found.push(n);
                }
            }
        }
    }
    found
}

#[test]
fn layers_import_only_downwards() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    sources(&src, &mut files);
    assert!(files.len() > 10, "sources not found in {}", src.display());
    let mut bad = Vec::new();
    for f in &files {
        let rel = f.strip_prefix(&src).expect("under src");
        let module = rel
            .components()
            .next()
            .and_then(|c| c.as_os_str().to_str())
            .map(|m| m.trim_end_matches(".rs"))
            .expect("module name");
        if module == "layers" {
            continue; // this file quotes the rule, it does not use it
        }
        let Some(own) = rank(module) else {
            bad.push(format!("{}: not in any layer", rel.display()));
            continue;
        };
        let text = std::fs::read_to_string(f).expect("read source");
        for r in references(&text) {
            let Some(theirs) = rank(&r) else {
                bad.push(format!("{}: names crate::{r}, in no layer", rel.display()));
                continue;
            };
            let upward = theirs > own;
            let sideways = own == FAMILY && theirs == FAMILY && r != module;
            if upward || sideways {
                bad.push(format!("{}: names crate::{r}", rel.display()));
            }
        }
    }
    assert!(bad.is_empty(), "layering broken:\n{}", bad.join("\n"));
}

#[test]
fn references_are_found() {
    let text = "use crate::ffi::sys;\nuse crate::{dirs, net};\n$crate::process::x\n// crate::table\nx(crate::exec::y)";
    assert_eq!(references(text), ["ffi", "dirs", "net", "exec"]);
}

#[test]
fn every_file_says_what_it_is_for() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    sources(&src, &mut files);
    for f in files {
        let text = std::fs::read_to_string(&f).expect("read source");
        assert!(text.starts_with("//!"), "{}: no //! doc", f.display());
        let lines = text.lines().count();
        assert!(lines <= 620, "{}: {lines} lines", f.display());
    }
}
