//! Persistent sessions (`-S FILE`, `-J FILE`, `-D FILE`): the session
//! directory outlives the command and a small info file, in Scratchbox2's
//! spirit, says where it is, which target it was made for and which modes
//! its ruletree holds.

use crate::config;
use anyhow::{anyhow, bail, Context, Result};
use sb2_ruletree::contract::RULETREE_FILE;
use std::path::{Path, PathBuf};

const MAGIC: &str = "SB2 SessionInfo";

/// The info file of a persistent session.
pub struct Info {
    pub dir: PathBuf,
    pub target: String,
    pub modes: Vec<String>,
}

impl Info {
    /// `-S FILE`: FILE must not exist, so one session never takes over
    /// another's description.
    pub fn write(&self, f: &Path) -> Result<()> {
        use std::io::Write;
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(f)
            .with_context(|| format!("-S {}: the session file must not exist", f.display()))?;
        writeln!(file, "{MAGIC} 1")?;
        writeln!(file, "SESSION_DIR={}", self.dir.display())?;
        writeln!(file, "TARGET={}", self.target)?;
        writeln!(file, "MODES={}", self.modes.join(","))?;
        Ok(())
    }

    /// `-J FILE`: refused when the session directory is gone.
    pub fn read(f: &Path) -> Result<Info> {
        let text = read_info(f)?;
        let get = |k: &str| {
            text.lines()
                .find_map(|l| l.strip_prefix(k))
                .map(str::to_string)
        };
        let dir = PathBuf::from(
            get("SESSION_DIR=").ok_or_else(|| anyhow!("{}: no SESSION_DIR", f.display()))?,
        );
        if !dir.join(RULETREE_FILE).exists() {
            bail!(
                "{}: its session directory {} is gone",
                f.display(),
                dir.display()
            );
        }
        Ok(Info {
            dir,
            target: get("TARGET=").unwrap_or_else(|| config::HOST_TARGET.into()),
            modes: get("MODES=")
                .unwrap_or_default()
                .split(',')
                .filter(|s| !s.is_empty())
                .map(str::to_string)
                .collect(),
        })
    }
}

fn read_info(f: &Path) -> Result<String> {
    let text =
        std::fs::read_to_string(f).with_context(|| format!("session file {}", f.display()))?;
    if !text.starts_with(MAGIC) {
        bail!("{}: not an sb2 session file", f.display());
    }
    Ok(text)
}

/// `-D FILE`: removes the session directory (whatever state it is in)
/// and the info file.
pub fn delete(f: &Path) -> Result<()> {
    let text = read_info(f)?;
    if let Some(d) = text.lines().find_map(|l| l.strip_prefix("SESSION_DIR=")) {
        super::dir::remove(Path::new(d));
    }
    std::fs::remove_file(f)?;
    Ok(())
}
