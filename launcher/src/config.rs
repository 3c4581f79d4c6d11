//! Targets: `$XDG_CONFIG_HOME/sb2` (default `~/.config/sb2`).
//!
//! ```text
//! config                      DEFAULT_TARGET=<name>
//! targets/<name>/config       KEY=VALUE lines, SB2_CONFIG_VERSION=1 first
//! targets/<name>/env/<VAR>    sb2-config setenv: value; empty file = unset
//! ```
//!
//! The format is documented in docs/config.md. A config of a newer version
//! than this sb2 understands is refused with a message, never half-read.

use anyhow::{anyhow, bail, Context, Result};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

pub const CONFIG_VERSION: u32 = 1;
/// The built-in target used when none is configured: the host itself.
pub const HOST_TARGET: &str = "host";

pub fn config_home() -> PathBuf {
    if let Some(x) = std::env::var_os("XDG_CONFIG_HOME").filter(|x| !x.is_empty()) {
        return PathBuf::from(x).join("sb2");
    }
    let home = std::env::var_os("HOME").unwrap_or_else(|| "/".into());
    PathBuf::from(home).join(".config/sb2")
}

pub fn target_dir(name: &str) -> PathBuf {
    config_home().join("targets").join(name)
}

/// One target's configuration.
#[derive(Debug, Clone, Default)]
pub struct Target {
    pub name: String,
    pub values: BTreeMap<String, String>,
}

impl Target {
    pub fn get(&self, k: &str) -> &str {
        self.values.get(k).map(String::as_str).unwrap_or("")
    }
    pub fn root(&self) -> &str {
        match self.get("TARGET_ROOT") {
            "" => "/",
            r => r,
        }
    }
    /// The built-in host target (root `/`, host architecture).
    pub fn host() -> Target {
        let mut values = BTreeMap::new();
        values.insert("TARGET_ROOT".into(), "/".into());
        values.insert("ARCH".into(), std::env::consts::ARCH.into());
        values.insert("MODE".into(), "simple".into());
        Target {
            name: HOST_TARGET.into(),
            values,
        }
    }

    pub fn load(name: &str) -> Result<Target> {
        if name == HOST_TARGET && !target_dir(name).exists() {
            return Ok(Target::host());
        }
        let f = target_dir(name).join("config");
        let text = std::fs::read_to_string(&f).map_err(|_| {
            let known = list().unwrap_or_default();
            anyhow!(
                "no target named '{name}'; valid targets: {} (create one with sb2-init)",
                std::iter::once(HOST_TARGET.to_string())
                    .chain(known)
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        })?;
        let values = parse(&text, &f)?;
        Ok(Target {
            name: name.into(),
            values,
        })
    }

    pub fn save(&self) -> Result<()> {
        let dir = target_dir(&self.name);
        std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
        let mut s =
            String::from("# sb2 target configuration (docs/config.md); written by sb2-init\n");
        s.push_str(&format!("SB2_CONFIG_VERSION={CONFIG_VERSION}\n"));
        for (k, v) in &self.values {
            if k != "SB2_CONFIG_VERSION" {
                s.push_str(&format!("{k}={}\n", escape(v)));
            }
        }
        let f = dir.join("config");
        let tmp = dir.join("config.tmp");
        std::fs::write(&tmp, s).with_context(|| format!("writing {}", tmp.display()))?;
        std::fs::rename(&tmp, &f).with_context(|| format!("writing {}", f.display()))?;
        Ok(())
    }

    /// Environment settings from `sb2-config setenv/clearenv`: Some(value)
    /// to set, None to unset.
    pub fn env(&self) -> Vec<(String, Option<String>)> {
        let dir = target_dir(&self.name).join("env");
        let mut v: Vec<(String, Option<String>)> = std::fs::read_dir(dir)
            .map(|rd| {
                rd.filter_map(|e| e.ok())
                    .filter_map(|e| {
                        let name = e.file_name().into_string().ok()?;
                        let val = std::fs::read_to_string(e.path()).ok()?;
                        Some((name, if val.is_empty() { None } else { Some(val) }))
                    })
                    .collect()
            })
            .unwrap_or_default();
        v.sort();
        v
    }
}

fn escape(v: &str) -> String {
    v.replace('\\', "\\\\").replace('\n', "\\n")
}

fn unescape(v: &str) -> String {
    let mut out = String::new();
    let mut it = v.chars();
    while let Some(c) = it.next() {
        if c == '\\' {
            match it.next() {
                Some('n') => out.push('\n'),
                Some(o) => out.push(o),
                None => {}
            }
        } else {
            out.push(c);
        }
    }
    out
}

fn parse(text: &str, file: &Path) -> Result<BTreeMap<String, String>> {
    let mut m = BTreeMap::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim_end();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let Some((k, v)) = line.split_once('=') else {
            bail!("{}:{}: expected KEY=VALUE", file.display(), i + 1);
        };
        m.insert(k.to_string(), unescape(v));
    }
    let ver: u32 = m
        .get("SB2_CONFIG_VERSION")
        .ok_or_else(|| {
            anyhow!(
                "{}: no SB2_CONFIG_VERSION; not an sb2 target config",
                file.display()
            )
        })?
        .parse()
        .map_err(|_| anyhow!("{}: bad SB2_CONFIG_VERSION", file.display()))?;
    if ver > CONFIG_VERSION {
        bail!(
            "{}: config version {ver} is newer than this sb2 understands ({CONFIG_VERSION})",
            file.display()
        );
    }
    Ok(m)
}

/// Names of configured targets.
pub fn list() -> Result<Vec<String>> {
    let mut v: Vec<String> = match std::fs::read_dir(config_home().join("targets")) {
        Ok(rd) => rd
            .filter_map(|e| e.ok())
            .filter(|e| e.path().join("config").exists())
            .filter_map(|e| e.file_name().into_string().ok())
            .collect(),
        Err(_) => Vec::new(),
    };
    v.sort();
    Ok(v)
}

pub fn default_target() -> Option<String> {
    let text = std::fs::read_to_string(config_home().join("config")).ok()?;
    text.lines()
        .find_map(|l| l.strip_prefix("DEFAULT_TARGET=").map(str::to_string))
        .filter(|s| !s.is_empty())
}

pub fn set_default_target(name: &str) -> Result<()> {
    if name != HOST_TARGET && !target_dir(name).join("config").exists() {
        bail!(
            "no target named '{name}'; valid targets: {}",
            list()?.join(", ")
        );
    }
    std::fs::create_dir_all(config_home())?;
    std::fs::write(
        config_home().join("config"),
        format!("DEFAULT_TARGET={name}\n"),
    )?;
    Ok(())
}

/// The target `sb2` uses: `-t`, else `$SBOX_TARGET`, else the default,
/// else the built-in host target.
pub fn choose(explicit: Option<&str>) -> Result<Target> {
    let name = explicit
        .map(str::to_string)
        .or_else(|| std::env::var("SBOX_TARGET").ok().filter(|s| !s.is_empty()))
        .or_else(default_target);
    match name {
        Some(n) => Target::load(&n),
        None => Ok(Target::host()),
    }
}
