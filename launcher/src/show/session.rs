//! What `sb2-show` needs: the session's ruletree (mapped with memmap2, as
//! the preload maps it) and a pipeline context for a pretended caller.

use anyhow::{anyhow, bail, Context, Result};
use sb2_ruletree::contract::{MODE_VAR, RULETREE_FILE, SESSION_VAR};
use sb2_ruletree::format::Tree;
use sb2_ruletree::mapping::Ctx;

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
