//! What `sb2-show` needs: the session's ruletree (mapped with memmap2, as
//! the preload maps it) and a pipeline context for a pretended caller.

use anyhow::{anyhow, bail, Context, Result};
use sb2_ruletree::contract::{MODE_VAR, RULETREE_FILE, SESSION_VAR};
use sb2_ruletree::format::Tree;
use sb2_ruletree::mapping::{Ctx, PathBuf};

/// The current session's ruletree, mapped read-only.
pub struct Session {
    pub dir: std::path::PathBuf,
    map: memmap2::Mmap,
}

impl Session {
    pub fn open() -> Result<Session> {
        let dir = std::env::var_os(SESSION_VAR)
            .ok_or_else(|| anyhow!("not inside an sb2 session (run it as `sb2 sb2-show ...`)"))?;
        let dir = std::path::PathBuf::from(dir);
        let f = std::fs::File::open(dir.join(RULETREE_FILE))
            .with_context(|| format!("session {}", dir.display()))?;
        // SAFETY: the ruletree is written once before the session starts and
        // never modified afterwards.
        let map = unsafe { memmap2::Mmap::map(&f)? };
        Tree::new(&map).map_err(|e| anyhow!("{}: {}", dir.display(), e.message()))?;
        Ok(Session { dir, map })
    }

    pub fn tree(&self) -> Tree<'_> {
        Tree::verified(&self.map)
    }

    /// A context for `binary_name`, in the session's current mode.
    pub fn ctx<'a>(&'a self, binary_name: &'a [u8], exec_policy: &'a [u8]) -> Result<Ctx<'a>> {
        let tree = self.tree();
        let mode = match std::env::var(MODE_VAR) {
            Ok(m) if !m.is_empty() => tree.mode_named(m.as_bytes()),
            _ => tree.mode(0),
        };
        let Some(mode) = mode else {
            bail!("the session has no such mode")
        };
        Ok(Ctx {
            tree,
            mode,
            binary_name,
            exec_policy,
            is_root: false,
            chroot: None,
        })
    }
}

/// The chroot sb2-show shows paths in: `--chroot DIR` resolved in the
/// session's view as chroot() would, or the one this process was started
/// in (`contract::CHROOT_VAR`); its mounts and loader facts as chroot()
/// computes them.
#[derive(Default)]
pub struct Root {
    root: PathBuf,
    mounts: PathBuf,
    ld: PathBuf,
}

impl Root {
    pub fn enter<'a>(&'a mut self, ctx: Ctx<'a>, dir: Option<&std::ffi::OsStr>) -> Result<Ctx<'a>> {
        use sb2_ruletree::mapping::{self, Chroot, Req};
        use sb2_ruletree::sys::Sys;
        use std::os::unix::ffi::OsStrExt;
        let mut h = PathBuf::new();
        match dir {
            Some(d) => {
                let req = Req {
                    dirfd: None,
                    path: d.as_bytes(),
                    class: sb2_ruletree::class::CHROOT,
                    follow: true,
                    want_union: false,
                };
                mapping::resolve(&ctx, &Sys, &req, &mut self.root, &mut h).map_err(|e| {
                    anyhow!(
                        "--chroot {}: {}",
                        d.to_string_lossy(),
                        std::io::Error::from_raw_os_error(e.0)
                    )
                })?;
                if !std::path::Path::new(std::ffi::OsStr::from_bytes(h.as_bytes())).is_dir() {
                    bail!("--chroot {}: not a directory", d.to_string_lossy());
                }
            }
            None => match std::env::var_os(sb2_ruletree::contract::CHROOT_VAR) {
                Some(r) if r.as_bytes().starts_with(b"/") && r.as_bytes() != b"/" => self
                    .root
                    .set(r.as_bytes())
                    .map_err(|e| anyhow!("{}", std::io::Error::from_raw_os_error(e.0)))?,
                _ => return Ok(ctx),
            },
        }
        if self.root.as_bytes() == b"/" {
            return Ok(ctx);
        }
        sb2_ruletree::exec::chroot_facts(
            &ctx,
            &Sys,
            self.root.as_bytes(),
            &mut self.mounts,
            &mut self.ld,
        );
        Ok(Ctx {
            chroot: Some(Chroot {
                root: self.root.as_bytes(),
                mounts: self.mounts.as_bytes(),
                ld: self.ld.as_bytes(),
            }),
            ..ctx
        })
    }
}
