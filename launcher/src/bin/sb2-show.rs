//! `sb2-show`: what the session's mapping does, and which rule decided.
//! Runs the very pipeline the preload runs (sb2-ruletree), on the session's
//! ruletree.

use anyhow::{anyhow, bail, Result};
use clap::{Parser, Subcommand};
use sb2_launcher::show::Session;
use sb2_ruletree::mapping::{self, Host, PathBuf, Req};
use sb2_ruletree::sys::Sys;
use std::os::unix::ffi::OsStrExt;

#[derive(Parser)]
#[command(
    name = "sb2-show",
    about = "Show what sb2's mapping does",
    disable_version_flag = true
)]
struct Cli {
    /// Pretend to be this program (for binary_name rules)
    #[arg(short = 'b', value_name = "BINARY", default_value = "sb2-show")]
    binary: String,
    /// Pretend to be this libc function (selects the function class)
    #[arg(short = 'f', value_name = "FUNCTION", default_value = "open")]
    function: String,
    /// Pretend this exec policy is active
    #[arg(short = 'p', value_name = "POLICY", default_value = "")]
    policy: String,
    /// Don't follow a symlink in the final component
    #[arg(short = 'n')]
    nofollow: bool,
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Show the mapping of each path and the rule that decided it
    Path { paths: Vec<std::ffi::OsString> },
    /// Print only the host path of each path
    Which { paths: Vec<std::ffi::OsString> },
    /// Print the real (host) current directory
    Realcwd,
    /// Reverse-map host paths to virtual ones
    Reverse { paths: Vec<std::ffi::OsString> },
    /// Dump the session's ruletree
    Ruletree,
    /// Print the preload's hook table
    Hooks,
    /// Show how exec of PROG ARGS would run: policy, mapped path, final
    /// argv, environment changes (PROG is searched in PATH like execvp)
    Exec {
        #[arg(required = true, trailing_var_arg = true, allow_hyphen_values = true)]
        argv: Vec<std::ffi::OsString>,
    },
}

fn run(cli: Cli) -> Result<()> {
    match &cli.cmd {
        Cmd::Hooks => return hooks(),
        Cmd::Realcwd => {
            let mut b = PathBuf::new();
            Sys.host_cwd(&mut b)
                .map_err(|e| anyhow!("getcwd: errno {}", e.0))?;
            println!("{}", String::from_utf8_lossy(b.as_bytes()));
            return Ok(());
        }
        _ => {}
    }
    let s = Session::open()?;
    let ctx = s.ctx(cli.binary.as_bytes(), cli.policy.as_bytes())?;
    match &cli.cmd {
        Cmd::Ruletree => print!("{}", sb2_ruletree::dump::dump(&s.tree())),
        Cmd::Path { paths } | Cmd::Which { paths } => {
            if paths.is_empty() {
                bail!("give one or more paths");
            }
            let terse = matches!(cli.cmd, Cmd::Which { .. });
            let (_, rows) = sb2_launcher::hooks::load_installed()?;
            let class = sb2_launcher::hooks::class_of(&rows, &cli.function)?;
            for p in paths {
                let req = Req {
                    dirfd: None,
                    path: p.as_bytes(),
                    class,
                    follow: !cli.nofollow,
                    want_union: false,
                };
                let (mut v, mut h) = (PathBuf::new(), PathBuf::new());
                match mapping::resolve(&ctx, &Sys, &req, &mut v, &mut h) {
                    Err(e) => println!(
                        "{} => error: {}",
                        p.to_string_lossy(),
                        std::io::Error::from_raw_os_error(e.0)
                    ),
                    Ok(m) if terse => {
                        let _ = m;
                        println!("{}", String::from_utf8_lossy(h.as_bytes()));
                    }
                    Ok(m) => {
                        let host = String::from_utf8_lossy(h.as_bytes());
                        let virt = String::from_utf8_lossy(v.as_bytes());
                        let via = if virt != p.to_string_lossy() {
                            format!(" (resolved: {virt})")
                        } else {
                            String::new()
                        };
                        println!(
                            "{}{via} => {host}{}",
                            p.to_string_lossy(),
                            if m.readonly { " (readonly)" } else { "" }
                        );
                        match m.rule {
                            Some(r) => {
                                println!("  rule: {}", sb2_ruletree::dump::describe_rule(&r))
                            }
                            None => println!("  rule: none (unmapped)"),
                        }
                        let need = sb2_ruletree::protect::Need::of_class(class);
                        let verdict = sb2_ruletree::protect::judge(
                            &Sys,
                            &ctx.tree,
                            &m,
                            v.as_bytes(),
                            h.as_bytes(),
                            true,
                            need,
                        );
                        println!("  write: {}", verdict.describe());
                    }
                }
            }
        }
        Cmd::Reverse { paths } => {
            for p in paths {
                let mut out = PathBuf::new();
                mapping::reverse(
                    &ctx,
                    &Sys,
                    p.as_bytes(),
                    sb2_ruletree::class::GETCWD,
                    &mut out,
                )
                .map_err(|e| anyhow!("errno {}", e.0))?;
                println!(
                    "{} => {}",
                    p.to_string_lossy(),
                    String::from_utf8_lossy(out.as_bytes())
                );
                // The rule that maps the virtual path back onto this host
                // path (reverse candidates are verified that way).
                let mut fwd = PathBuf::new();
                let class = sb2_ruletree::class::GETCWD;
                match mapping::map_clean(&ctx, &Sys, out.as_bytes(), class, false, &mut fwd) {
                    Ok(m) if fwd.as_bytes() == p.as_bytes() => match m.rule {
                        Some(r) => println!("  rule: {}", sb2_ruletree::dump::describe_rule(&r)),
                        None => println!("  rule: none (unmapped)"),
                    },
                    _ => println!("  no rule maps a virtual path onto it: shown as is"),
                }
            }
        }
        Cmd::Exec { argv } => exec(&ctx, argv)?,
        _ => {}
    }
    Ok(())
}

/// `sb2-show exec`: the preload's exec planner, printed.
fn exec(ctx: &sb2_ruletree::mapping::Ctx, argv: &[std::ffi::OsString]) -> Result<()> {
    use sb2_ruletree::exec::{plan, ExecReq, Plan};
    let prog = argv[0].as_bytes();
    let path_var = std::env::var_os("PATH").unwrap_or_else(|| "/bin:/usr/bin".into());
    let req = ExecReq {
        dirfd: None,
        path: prog,
        argv0: prog,
        search: Some(path_var.as_bytes()),
        follow: true,
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
    let mut line = String::new();
    for a in p.argv(rest) {
        let a = s(a);
        if a.is_empty() || a.contains(|c: char| c.is_whitespace() || "'\"\\$`".contains(c)) {
            line.push_str(&format!(" '{}'", a.replace('\'', "'\\''")));
        } else {
            line.push(' ');
            line.push_str(&a);
        }
    }
    println!("argv:   {line}");
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

fn hooks() -> Result<()> {
    let (lib, rows) = sb2_launcher::hooks::load_installed()?;
    println!("# {} hooked functions in {}", rows.len(), lib.display());
    print!("{}", sb2_launcher::hooks::render(&rows));
    Ok(())
}

fn main() {
    // Behave like other command-line tools when the reader goes away
    // (`sb2-show hooks | head`): end quietly instead of panicking.
    // SAFETY: restoring the default disposition of one signal at start-up.
    unsafe { libc::signal(libc::SIGPIPE, libc::SIG_DFL) };
    if let Err(e) = run(Cli::parse()) {
        eprintln!("sb2-show: {e:#}");
        std::process::exit(1);
    }
}
