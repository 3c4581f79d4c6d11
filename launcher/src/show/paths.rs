//! `sb2-show path`, `which`, `reverse` and `realcwd`: a path through the
//! mapping pipeline, either way, with the rule that decided.

use anyhow::{anyhow, Result};
use sb2_ruletree::abi::{HookInfo, Write};
use sb2_ruletree::mapping::{self, Ctx, Host, PathBuf, Req};
use sb2_ruletree::protect::{self, Need};
use sb2_ruletree::sys::Sys;
use std::ffi::OsString;
use std::os::unix::ffi::OsStrExt;

/// `realcwd`: the host's current directory, as the kernel has it.
pub fn realcwd() -> Result<()> {
    let mut b = PathBuf::new();
    Sys.host_cwd(&mut b)
        .map_err(|e| anyhow!("getcwd: errno {}", e.0))?;
    println!("{}", String::from_utf8_lossy(b.as_bytes()));
    Ok(())
}

/// `path` (`terse`: `which`): each path mapped as the function declared by
/// `decl` would map it (its class, and whether it follows a final symlink
/// unless `nofollow`), with the verdict on a write.
pub fn forward(ctx: &Ctx, paths: &[OsString], decl: &HookInfo, nofollow: bool, terse: bool) {
    let class = decl.class;
    let follow = !nofollow && decl.follow.by_default();
    for p in paths {
        let req = Req {
            dirfd: None,
            path: p.as_bytes(),
            class,
            follow,
            want_union: false,
        };
        let (mut v, mut h) = (PathBuf::new(), PathBuf::new());
        match mapping::resolve(ctx, &Sys, &req, &mut v, &mut h) {
            Err(e) => println!(
                "{} => error: {}",
                p.to_string_lossy(),
                std::io::Error::from_raw_os_error(e.0)
            ),
            Ok(_) if terse => {
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
                if decl.write == Write::No {
                    println!("  write: none ({} does not write)", decl.name);
                    continue;
                }
                // Open-like calls: as with O_CREAT, the widest they write.
                let need = match decl.write {
                    Write::OpenFlags => Need::Any,
                    _ => Need::of_class(class),
                };
                let verdict =
                    protect::judge(&Sys, &ctx.tree, &m, v.as_bytes(), h.as_bytes(), true, need);
                println!("  write: {}", verdict.describe());
            }
        }
    }
}

/// `reverse`: each host path as the session sees it.
pub fn reverse(ctx: &Ctx, paths: &[OsString]) -> Result<()> {
    let class = sb2_ruletree::class::GETCWD;
    for p in paths {
        let mut out = PathBuf::new();
        mapping::reverse(ctx, &Sys, p.as_bytes(), class, &mut out)
            .map_err(|e| anyhow!("errno {}", e.0))?;
        println!(
            "{} => {}",
            p.to_string_lossy(),
            String::from_utf8_lossy(out.as_bytes())
        );
        // The rule that maps the virtual path back onto this host
        // path (reverse candidates are verified that way).
        let mut fwd = PathBuf::new();
        match mapping::map_clean(ctx, &Sys, out.as_bytes(), class, false, &mut fwd) {
            Ok(m) if fwd.as_bytes() == p.as_bytes() => match m.rule {
                Some(r) => println!("  rule: {}", sb2_ruletree::dump::describe_rule(&r)),
                None => println!("  rule: none (unmapped)"),
            },
            _ => println!("  no rule maps a virtual path onto it: shown as is"),
        }
    }
    Ok(())
}
