//! What a compile read from outside its inputs, so that a cached result
//! can be trusted only while all of it still holds.
//!
//! A rule file is a program: besides the constants it is given, it can
//! read files (`io.open`, the rule libraries it imports), ask whether a
//! path exists, read the environment, and the compiler itself looks into
//! policy roots for their loader ([`super::host`]). Every such fact is a
//! [`Probe`] with the answer the compile got; [`Probe::recheck`] asks
//! again. Whatever cannot be asked again (the clock, random numbers, a
//! command's output, a write, standard input) makes the compile
//! `uncacheable`, with the reason.
//!
//! Placeholders: the launcher compiles with a fixed stand-in for values
//! that differ per session (the session directory) so that one compiled
//! model serves every session. A probe of a path holding a placeholder
//! looks at the real path (the rules see the truth) and makes the compile
//! uncacheable. So does a string function (`find`, `sub`, `gsub`, ...)
//! applied to a placeholder: its answer could differ for the real value.
//! Concatenation (`session_dir .. "/tmp"`, `string.format("%s", ...)`)
//! is what placeholders are for and is not flagged; comparing one with
//! `==` or taking its length `#` cannot be seen from Lua and is not
//! caught (no shipped rule does either).
//!
//! Output to stdout and stderr (`io.stderr:write`, `print`) is recorded,
//! not written: the launcher prints it after the compile, and again on
//! every cache hit, so a message a mode prints "once per session" still
//! appears once per session.

use mlua::{Lua, Value};
use sha2::{Digest, Sha256};
use std::cell::RefCell;
use std::io::Read;
use std::os::unix::fs::MetadataExt;
use std::path::Path;

/// A file's identity and change times; equal signatures mean unchanged
/// contents (a write always moves ctime).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StatSig {
    pub dev: u64,
    pub ino: u64,
    pub size: u64,
    pub mtime: i64,
    pub ctime: i64,
}

/// A file's state as a compile saw it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ProbeResult {
    /// Could not be opened or read: the errno.
    Missing(i32),
    /// The SHA-256 of its contents, and its signature when that can be
    /// trusted to change with them (not if the file changed within the
    /// last seconds, which a timestamp's granularity could hide: the
    /// "racy git" problem).
    Content([u8; 32], Option<StatSig>),
}

/// One fact a compile learned from outside its inputs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Probe {
    /// A file read (a rule file or library, `io.open`, `io.lines`, `dofile`).
    File(String, ProbeResult),
    /// `sblib.path_exists`, and whether a mode has an exec_rules.lua.
    Exists(String, bool),
    /// The loader of a policy root: (root, ld.so, library path).
    RootLoader(String, Vec<u8>, Vec<u8>),
    /// `os.getenv`.
    Env(String, Option<Vec<u8>>),
}

/// Something a rule file wrote to stdout (1) or stderr (2).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Output {
    pub fd: u8,
    pub text: Vec<u8>,
}

/// Everything a compile learned and said besides its result.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Record {
    pub probes: Vec<Probe>,
    pub outputs: Vec<Output>,
    /// Why the result must not be reused (the first reason found).
    pub uncacheable: Option<String>,
}

impl Record {
    /// Writes the recorded output to stdout and stderr, in order.
    pub fn replay(&self) {
        use std::io::Write;
        for o in &self.outputs {
            let _ = match o.fd {
                1 => std::io::stdout().write_all(&o.text),
                _ => std::io::stderr().write_all(&o.text),
            };
        }
        let _ = std::io::stdout().flush();
    }
}

struct State {
    record: Record,
    /// (placeholder, real value).
    placeholders: Vec<(String, String)>,
}

thread_local! {
    static STATE: RefCell<Option<State>> = const { RefCell::new(None) };
}

/// Records for the duration of one compile (see [`super::compile`]).
pub(super) struct Recording;

impl Recording {
    pub(super) fn start(placeholders: &[(String, String)]) -> Recording {
        STATE.with(|s| {
            *s.borrow_mut() = Some(State {
                record: Record::default(),
                placeholders: placeholders.to_vec(),
            })
        });
        Recording
    }

    pub(super) fn finish(self) -> Record {
        STATE.with(|s| s.borrow_mut().take().map(|s| s.record).unwrap_or_default())
    }
}

impl Drop for Recording {
    fn drop(&mut self) {
        STATE.with(|s| s.borrow_mut().take());
    }
}

fn with<R>(f: impl FnOnce(&mut State) -> R) -> Option<R> {
    STATE.with(|s| s.borrow_mut().as_mut().map(f))
}

/// Marks the compile uncacheable (the first reason is kept).
pub(super) fn uncacheable(why: impl Into<String>) {
    with(|s| {
        s.record.uncacheable.get_or_insert_with(|| why.into());
    });
}

/// `p` with placeholders replaced by the real values; a path that held
/// one makes the compile uncacheable (it depends on this session).
fn real_path(p: &str) -> String {
    with(|s| {
        let mut out = p.to_string();
        for (ph, real) in &s.placeholders {
            if !ph.is_empty() && out.contains(ph.as_str()) {
                out = out.replace(ph.as_str(), real);
                s.record
                    .uncacheable
                    .get_or_insert_with(|| format!("a rule looked at {out}, in the session"));
            }
        }
        out
    })
    .unwrap_or_else(|| p.to_string())
}

fn push(p: Probe) {
    with(|s| s.record.probes.push(p));
}

/// Reads `path` (placeholders resolved), recording the probe; the
/// bytes read, or the error.
pub(super) fn read_file(path: &Path) -> std::io::Result<Vec<u8>> {
    let shown = path.display().to_string();
    let real = real_path(&shown);
    let (result, bytes) = read_probed(Path::new(&real));
    if real == shown {
        push(Probe::File(shown, result));
    }
    bytes
}

/// Records a file the rules will open themselves; returns the path to
/// open (placeholders resolved).
fn probe_file(path: &str) -> String {
    let real = real_path(path);
    if real == path {
        let (result, _) = read_probed(Path::new(path));
        push(Probe::File(path.to_string(), result));
    }
    real
}

/// `Path::exists`, recorded.
pub(super) fn exists(path: &Path) -> bool {
    let shown = path.display().to_string();
    let real = real_path(&shown);
    let e = Path::new(&real).exists();
    if real == shown {
        push(Probe::Exists(shown, e));
    }
    e
}

/// [`super::host::root_loader`], recorded.
pub(super) fn root_loader(root: &str) -> (Vec<u8>, Vec<u8>) {
    let real = real_path(root);
    let (ld, lp) = super::host::root_loader(&real);
    if real == root {
        push(Probe::RootLoader(root.to_string(), ld.clone(), lp.clone()));
    }
    (ld, lp)
}

fn sig(md: &std::fs::Metadata) -> StatSig {
    StatSig {
        dev: md.dev(),
        ino: md.ino(),
        size: md.size(),
        mtime: md.mtime() * 1_000_000_000 + md.mtime_nsec(),
        ctime: md.ctime() * 1_000_000_000 + md.ctime_nsec(),
    }
}

/// A file changed this recently may change again within the same
/// timestamp tick: its signature is not trusted.
const RACY_NS: i64 = 2_000_000_000;

fn now_ns() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as i64)
        .unwrap_or(0)
}

fn read_probed(path: &Path) -> (ProbeResult, std::io::Result<Vec<u8>>) {
    let errno = |e: &std::io::Error| e.raw_os_error().unwrap_or(libc::EIO);
    let mut f = match std::fs::File::open(path) {
        Ok(f) => f,
        Err(e) => return (ProbeResult::Missing(errno(&e)), Err(e)),
    };
    // The signature before the contents: a change after it moves ctime
    // past it, so the next look reads again.
    let s = f.metadata().map(|m| sig(&m)).ok();
    let mut bytes = Vec::new();
    if let Err(e) = f.read_to_end(&mut bytes) {
        return (ProbeResult::Missing(errno(&e)), Err(e));
    }
    let hash: [u8; 32] = Sha256::digest(&bytes).into();
    let s = s.filter(|s| now_ns() - s.ctime.max(s.mtime) > RACY_NS);
    (ProbeResult::Content(hash, s), Ok(bytes))
}

impl Probe {
    /// Asks again. `None`: the answer changed. `Some(p)`: it holds; `p`
    /// is this probe with a fresher signature if the file had to be read
    /// again to tell (worth storing, so the next look is a stat only).
    pub fn recheck(&self) -> Option<Probe> {
        match self {
            Probe::File(p, ProbeResult::Content(h, Some(old))) => {
                let md = std::fs::metadata(p).ok()?;
                if sig(&md) == *old {
                    return Some(self.clone());
                }
                match read_probed(Path::new(p)).0 {
                    ProbeResult::Content(h2, s) if h2 == *h => {
                        Some(Probe::File(p.clone(), ProbeResult::Content(h2, s)))
                    }
                    _ => None,
                }
            }
            Probe::File(p, r) => {
                let now = read_probed(Path::new(p)).0;
                match (r, &now) {
                    (ProbeResult::Content(h, _), ProbeResult::Content(h2, _)) if h == h2 => {
                        Some(Probe::File(p.clone(), now))
                    }
                    (ProbeResult::Missing(a), ProbeResult::Missing(b)) if a == b => {
                        Some(self.clone())
                    }
                    _ => None,
                }
            }
            Probe::Exists(p, e) => (Path::new(p).exists() == *e).then(|| self.clone()),
            Probe::RootLoader(root, ld, lp) => {
                let (ld2, lp2) = super::host::root_loader(root);
                (ld2 == *ld && lp2 == *lp).then(|| self.clone())
            }
            Probe::Env(n, v) => {
                let now = std::env::var_os(n).map(|v| v.into_encoded_bytes());
                (now == *v).then(|| self.clone())
            }
        }
    }
}

/// Lua side of the recording: wraps the standard library functions that
/// look outside the compile (see the module doc). Runs before the prelude.
const SANDBOX: &str = include_str!("sandbox.lua");

/// Installs the recording wrappers in a compile's Lua state.
pub(super) fn install(lua: &Lua) -> mlua::Result<()> {
    let g = lua.globals();
    g.set(
        "__sb2_probe_file",
        lua.create_function(|_, p: String| Ok(probe_file(&p)))?,
    )?;
    g.set(
        "__sb2_uncacheable",
        lua.create_function(|_, why: String| {
            uncacheable(why);
            Ok(())
        })?,
    )?;
    g.set(
        "__sb2_output",
        lua.create_function(|_, (fd, text): (u8, mlua::String)| {
            let text = text.as_bytes().to_vec();
            let o = Output { fd, text };
            // Outside a recorded compile (a lone compile_net): say it now.
            if let Some(o) = with(|s| s.record.outputs.push(o.clone())).map_or(Some(o), |_| None) {
                Record {
                    outputs: vec![o],
                    ..Record::default()
                }
                .replay();
            }
            Ok(())
        })?,
    )?;
    g.set(
        "__sb2_getenv",
        lua.create_function(|lua, n: String| {
            let v = std::env::var_os(&n).map(|v| v.into_encoded_bytes());
            push(Probe::Env(n, v.clone()));
            match v {
                Some(v) => Ok(Value::String(lua.create_string(v)?)),
                None => Ok(Value::Nil),
            }
        })?,
    )?;
    let phs: Vec<String> =
        with(|s| s.placeholders.iter().map(|(p, _)| p.clone()).collect()).unwrap_or_default();
    g.set("__sb2_placeholders", phs)?;
    lua.load(SANDBOX).set_name("=sb2-sandbox").exec()
}
