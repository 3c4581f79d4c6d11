//! From what was asked ([`Options`]) to what a session is made of: the
//! mapping modes (checked against the rule files), the network rule file
//! of `-n`, and the virtual permissions of `-R`/`-U`/`-s`/`-i`.

use super::Options;
use crate::config::Target;
use crate::vperm::Ids;
use anyhow::{bail, Context, Result};
use std::path::{Path, PathBuf};

/// The network modes shipped in `rules/net`.
pub fn net_modes(rules: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(rules.join("net"))
        .map(|d| {
            d.filter_map(|e| e.ok())
                .filter_map(|e| {
                    e.file_name()
                        .to_str()
                        .and_then(|n| n.strip_suffix(".lua"))
                        .map(str::to_owned)
                })
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

/// `-n`'s argument as (name, rule file): a shipped mode, or a path.
pub fn net_file(rules: &Path, arg: Option<&str>) -> Result<(String, PathBuf)> {
    let arg = arg.unwrap_or("online");
    if arg.contains('/') || arg.ends_with(".lua") {
        let p = Path::new(arg)
            .canonicalize()
            .with_context(|| format!("-n {arg}: network rule file"))?;
        return Ok((p.display().to_string(), p));
    }
    let f = rules.join("net").join(format!("{arg}.lua"));
    if !f.is_file() {
        bail!(
            "unknown network mode '{arg}'; valid modes: {} (or a rule file path)",
            net_modes(rules).join(", ")
        );
    }
    Ok((arg.to_string(), f))
}

/// The modes a new session gets: those of `-m`, else the target's
/// default; each must have rule files.
pub fn modes(o: &Options, target: &Target, rules: &Path) -> Result<Vec<String>> {
    let all_modes = crate::install::modes(rules);
    let modes: Vec<String> = if o.modes.is_empty() {
        vec![match target.get("MODE") {
            "" => "simple".into(),
            m => m.into(),
        }]
    } else {
        o.modes.clone()
    };
    for m in &modes {
        if !all_modes.contains(m) {
            bail!(
                "unknown mapping mode '{m}'; valid modes: {}",
                all_modes.join(", ")
            );
        }
    }
    Ok(modes)
}

/// Virtual permissions asked for: the first command's ids and the owner
/// of unknown files.
#[derive(Clone, Copy, Debug)]
pub struct Vperm {
    pub ids: Ids,
    pub unknown: Ids,
}

impl Options {
    /// None when no option asked for virtual permissions: the preload then
    /// leaves ids and owners alone.
    pub fn vperm(&self) -> Result<Option<Vperm>> {
        let root = Ids { uid: 0, gid: 0 };
        let u = self
            .unknown
            .as_deref()
            .map(crate::vperm::parse_ids)
            .transpose()?;
        let wanted =
            self.root || u.is_some() || self.vperm_save.is_some() || self.vperm_load.is_some();
        if !wanted {
            return Ok(None);
        }
        if let Some(f) = &self.vperm_load {
            crate::vperm::check_load_file(f)?;
        }
        Ok(Some(Vperm {
            ids: match (self.root, u) {
                (false, Some(u)) => u,
                _ => root,
            },
            unknown: u.unwrap_or(root),
        }))
    }
}
