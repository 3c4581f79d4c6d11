//! Sessions: what `sb2` does with its [`Options`]. A new session gets a
//! directory ([`dir`]) holding the mode's rules compiled once into the
//! ruletree ([`build`]); its command runs with the preload ([`spawn`]),
//! signals reach it ([`signals`]), sb2 sums up its access violations and
//! log ([`report`]), and the directory is removed unless the session was
//! made persistent ([`persist`]: `-S`, `-J`, `-D`). With `-c` the command
//! runs in its own mount namespace over a copy-on-write layer of the
//! target root ([`cow`]). Inside a session, sb2 does not nest: the command
//! runs in the current one.

mod build;
pub mod cache;
mod cow;
mod dir;
mod guard;
mod options;
mod persist;
mod report;
mod resolve;
mod signals;
mod spawn;

pub use options::{Args, Options};
pub use resolve::Vperm;

use crate::config::{self, Target};
use crate::install;
use anyhow::{bail, Result};
use sb2_ruletree::contract::{RULETREE_FILE, SESSION_VAR, TMP_DIR};
use std::path::Path;

/// Entry point of `sb2` (and `sb2-fakeroot`); returns the exit status.
pub fn run(o: Options) -> Result<i32> {
    if let Some(f) = &o.delete {
        return persist::delete(f).map(|_| 0);
    }
    let vp = o.vperm()?;
    if let Some(dir) = std::env::var_os(SESSION_VAR) {
        let dir = Path::new(&dir);
        if dir.join(RULETREE_FILE).exists() {
            if o.cow && cow::of_session(dir)?.is_none() {
                bail!(
                    "-c: already inside session {}, which has no copy-on-write layer (sessions do not nest); run sb2 -c outside it",
                    dir.display()
                );
            }
            if !o.quiet && vp.is_none() {
                eprintln!(
                    "sb2: already inside session {}; sessions do not nest, running the command in the current one",
                    dir.display()
                );
            }
            let (load, save) = (o.vperm_load.as_deref(), o.vperm_save.as_deref());
            return spawn::run_in_current(dir, &o.command, vp, load, save);
        }
    }
    if let Some(f) = o.join.clone() {
        return join(&f, o, vp);
    }
    if o.modes.len() > 1 && o.save.is_none() {
        bail!("several -m options are only allowed when creating a persistent session (-S)");
    }
    let target = config::choose(o.target.as_deref())?;
    let rules = install::rules_dir()?;
    let modes = resolve::modes(&o, &target, &rules)?;
    if o.cow {
        cow::check(target.root(), &dir::parent(o.session_dir.as_deref()))?;
    }
    let dir = dir::create(o.session_dir.as_deref())?;
    let log_file = match &o.log_level {
        Some(_) => Some(report::log_path(&o.command)?),
        None => None,
    };
    let src = build::Sources {
        target: &target,
        rules: &rules,
        modes: &modes,
        log_file: log_file.as_deref(),
    };
    let layer = match o.cow {
        true => cow::create(&dir, target.root()).map(Some),
        false => Ok(None),
    };
    let built = layer.and_then(|layer| {
        let use_cache = !o.no_cache && !cache::disabled_by_env();
        let origin = build::build(&o, &src, &dir, use_cache)?;
        if o.log_level.is_some() && !o.quiet {
            // Whether this start compiled the rules (a user's window into
            // the cache: sb2 -L info true).
            eprintln!("sb2: ruletree: {origin}");
        }
        let unknown = vp.map_or(crate::vperm::Ids { uid: 0, gid: 0 }, |v| v.unknown);
        crate::vperm::create(&dir, unknown, o.vperm_load.as_deref())?;
        Ok(layer)
    });
    let layer = match built {
        Ok(l) => l,
        Err(e) => {
            dir::remove(&dir);
            return Err(e);
        }
    };
    if let Some(f) = &o.save {
        persist::Info {
            dir: dir.clone(),
            target: target.name.clone(),
            modes: modes.clone(),
        }
        .write(f)?;
    }
    if !o.allow_write.is_empty() {
        // The session's own temporary directory: writable, private.
        std::env::set_var("TMPDIR", dir.join(TMP_DIR));
    }
    let mut guard = match guard_for(&dir, vp) {
        Ok(g) => g,
        Err(e) => {
            dir::remove(&dir);
            return Err(e.context("restricting the command (Landlock, network namespace)"));
        }
    };
    let r = spawn::spawn(
        &dir,
        None,
        &target,
        o.command,
        o.quiet,
        vp,
        layer.as_ref(),
        Some(&mut guard),
    );

    let saved = match &o.vperm_save {
        Some(f) => crate::vperm::save(&dir, f),
        None => Ok(()),
    };
    let violations = report::violations(&dir, o.quiet, o.json.as_deref(), &guard.said);
    if violations == 0 && o.log_level.is_some() && !o.quiet {
        // What the summary would have said (-L: the session's own story).
        for l in &guard.said {
            eprintln!("sb2: {l}");
        }
    }
    if o.save.is_none() {
        dir::remove(&dir);
    }
    if let (Some(f), false) = (&log_file, o.quiet) {
        report::log_written(f);
    }
    saved?;
    match r {
        Ok(0) if o.strict && violations > 0 => {
            let code = crate::EXIT_VIOLATIONS;
            eprintln!(
                "sb2: --strict: exit status {code} because of {violations} access violation(s)"
            );
            Ok(code)
        }
        other => other,
    }
}

/// `-J FILE`: runs the command in a persistent session, in the mode `-m`
/// names (one of the session's) or its first.
fn join(f: &Path, o: Options, vp: Option<Vperm>) -> Result<i32> {
    if o.target.is_some() || o.session_dir.is_some() {
        bail!(
            "-t and -W cannot be used with -J (the session already has its target and directory)"
        );
    }
    let info = persist::Info::read(f)?;
    let mode = match o.modes.as_slice() {
        [] => None,
        [m] if info.modes.contains(m) => Some(m.clone()),
        [m] => bail!(
            "session {} has no mode '{m}'; its modes: {}",
            f.display(),
            info.modes.join(", ")
        ),
        _ => bail!("-m can be given once when joining a session"),
    };
    let target = Target::load(&info.target).unwrap_or_else(|_| Target::host());
    // A session made with -S -c is always joined over its kept layer.
    let layer = cow::of_session(&info.dir)?;
    if o.cow {
        cow::check_join(&layer, f)?;
    }
    if let Some(f) = &o.vperm_load {
        crate::vperm::load(&info.dir, f)?;
    }
    let mut guard = guard_for(&info.dir, vp)?;
    let r = spawn::spawn(
        &info.dir,
        mode.as_deref(),
        &target,
        o.command,
        o.quiet,
        vp,
        layer.as_ref(),
        Some(&mut guard),
    );
    if let Some(f) = &o.vperm_save {
        crate::vperm::save(&info.dir, f)?;
    }
    r
}

/// The kernel's restrictions for a session's command (see [`guard`]);
/// its target programs see the virtual ids of -R, else ours.
fn guard_for(dir: &Path, vp: Option<Vperm>) -> Result<guard::Guard> {
    // SAFETY: getuid and getgid cannot fail.
    let real = || unsafe { (libc::getuid(), libc::getgid()) };
    let ids = vp.map_or_else(real, |v| (v.ids.uid, v.ids.gid));
    guard::Guard::new(&guard::Want::of_session(dir, ids)?)
}
