//! `sb2-show exec PROG ARGS`: the preload's exec planner, printed: the
//! program found, its kind and policy, the rewrite that applied, the file
//! really executed, the final argv and the environment changes.

use anyhow::{bail, Result};
use sb2_ruletree::exec::{plan, ExecReq, Plan};
use sb2_ruletree::mapping::Ctx;
use sb2_ruletree::sys::Sys;
use std::ffi::OsString;
use std::os::unix::ffi::OsStrExt;

pub fn print(ctx: &Ctx, argv: &[OsString]) -> Result<()> {
    let prog = argv[0].as_bytes();
    let path_var = crate::install::path_var();
    let first: Vec<&[u8]> = argv[1..].iter().take(8).map(|a| a.as_bytes()).collect();
    let req = ExecReq {
        args: &first,
        ..ExecReq::execvp(prog, path_var.as_bytes())
    };
    let mut p = Plan::new();
    if let Err(e) = plan(ctx, &Sys, &req, &mut p) {
        bail!(
            "exec {}: {}",
            argv[0].to_string_lossy(),
            std::io::Error::from_raw_os_error(e.0)
        );
    }
    let s = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    println!("program: {}", s(p.vpath.as_bytes()));
    println!("kind:    {}", p.kind.name());
    match p.policy {
        Some(pol) => println!("policy:  {}", s(pol.name())),
        None => println!("policy:  (none)"),
    }
    if let Some(m) = p.argvmod {
        println!(
            "rewrite: {} -> {}{}",
            s(m.name()),
            s(m.new_filename()),
            if m.disable_mapping() {
                " (mapping disabled)"
            } else {
                ""
            }
        );
    }
    println!("file:    {}", s(p.file.as_bytes()));
    let rest = argv[1..].iter().map(|a| a.as_bytes());
    println!("argv:   {}", shell_words(p.argv(rest).map(s)));
    for e in p.env.iter() {
        if e.contains(&b'=') {
            println!("env:     {}", s(e));
        } else {
            println!("env:     unset {}", s(e));
        }
    }
    if p.binfmt {
        println!("binfmt:  target programs it execs run through the CPU transparency command too");
    }
    Ok(())
}

/// The words, each after a space, quoted for a shell where needed so the
/// line can be pasted.
fn shell_words(words: impl Iterator<Item = String>) -> String {
    let mut line = String::new();
    for a in words {
        if a.is_empty() || a.contains(|c: char| c.is_whitespace() || "'\"\\$`".contains(c)) {
            line.push_str(&format!(" '{}'", a.replace('\'', "'\\''")));
        } else {
            line.push(' ');
            line.push_str(&a);
        }
    }
    line
}
