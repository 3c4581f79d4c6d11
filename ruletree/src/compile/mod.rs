//! The rule compiler (feature `compiler`, launcher only): runs a mode's Lua
//! rule files with mlua and turns the rule tables into [`crate::model`].
//!
//! Rule files use Scratchbox2's vocabulary (docs/rules.md). So that every
//! error can name the file and line of the offending rule, each source is
//! lightly instrumented before it runs ([`instrument`]): every table
//! constructor `{...}` becomes `__sb2_t(LINE,{...})`, which records where
//! the table was written. No newline is added, so Lua's own syntax errors
//! keep their line numbers.
//!
//! * this file — [`compile`], the Lua state of a mode, file:line errors;
//! * `instrument` — the source rewrite above;
//! * `prelude.lua` — the helpers every rule file sees;
//! * `fs` / `exec` — fs and exec rule tables to [`crate::model`];
//! * `host` — a policy root's ld.so and library path;
//! * [`net`] — the `-n` network rule file;
//! * [`record`] — what a compile read besides its inputs (files, the
//!   environment, policy roots) and what it printed, so that the
//!   launcher's cache can tell when a compiled result still holds;
//! * [`codec`] — the result as bytes and back, and placeholder
//!   substitution, for that cache.
//!
//! Runs once per session in the launcher: it allocates freely and reports
//! every problem as a [`CompileError`] rather than panicking.

pub mod codec;
mod exec;
mod fs;
mod host;
mod instrument;
pub mod net;
pub mod record;

pub use instrument::instrument;

use crate::model::*;
use fs::{Conv, Level};
use mlua::{Lua, Table, Value};
use std::path::{Path, PathBuf};

/// A rule file error: file, line and what is wrong.
#[derive(Debug, Clone)]
pub struct CompileError {
    pub file: String,
    pub line: u32,
    pub message: String,
}

impl std::fmt::Display for CompileError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.line > 0 {
            write!(f, "{}:{}: {}", self.file, self.line, self.message)
        } else {
            write!(f, "{}: {}", self.file, self.message)
        }
    }
}

impl std::error::Error for CompileError {}

/// What to compile.
#[derive(Clone)]
pub struct Input {
    /// The `rules/` directory (for `import_from_fs_rule_library`).
    pub rules_dir: PathBuf,
    /// (mode name, fs rule file) — the first mode is the default.
    pub modes: Vec<(String, PathBuf)>,
    /// Session constants, visible to rule files as Lua globals.
    pub constants: Vec<(String, String)>,
    /// The session's argv rewrites (the target's toolchain).
    pub argvmods: Vec<ArgvMod>,
    /// The `-n` network rule file: (mode name, file).
    pub net: Option<(String, PathBuf)>,
    /// (placeholder, real value): per-session values the constants hold
    /// as placeholders, for a result that serves every session (see
    /// [`record`]); the real values are what file probes look at.
    pub placeholders: Vec<(String, String)>,
}

/// A compile's result: the session's rules (placeholders still in them)
/// and what the compile read and printed.
pub struct Compiled {
    pub session: Session,
    pub record: record::Record,
}

/// Compiles every mode of a session. Nothing is printed: the rule files'
/// output is in the record ([`record::Record::replay`]).
pub fn compile(input: &Input) -> Result<Compiled, CompileError> {
    let rec = record::Recording::start(&input.placeholders);
    let session = compile_session(input)?;
    Ok(Compiled {
        session,
        record: rec.finish(),
    })
}

fn compile_session(input: &Input) -> Result<Session, CompileError> {
    let mut modes = Vec::new();
    for (name, file) in &input.modes {
        modes.push(compile_mode(input, name, file)?);
    }
    let net = match &input.net {
        Some((name, file)) => Some(net::compile_net(name, file)?),
        None => None,
    };
    let mut argvmods = input.argvmods.clone();
    for (i, m) in modes.iter().enumerate() {
        for a in &m.chroot_substitutes {
            argvmods.push(ArgvMod {
                chroot_mode: Some(i as u32),
                ..a.clone()
            });
        }
    }
    let mut constants = input.constants.clone();
    for m in &modes {
        constants.push((
            format!("{}.{}", crate::contract::key::CHROOT_MOUNTS, m.name),
            m.chroot_mounts.clone(),
        ));
    }
    Ok(Session {
        constants,
        modes,
        argvmods,
        net,
    })
}

/// The mode's `chroot_substitutes`: `{ name = N, dirs = {...}, run = P,
/// add_tail = {...} }` entries (dirs default to the four bin dirs; no
/// `run` keeps the program).
fn chroot_substitutes(g: &Table, file: &Path) -> Result<Vec<ArgvMod>, CompileError> {
    let bad = |m: String| CompileError {
        file: file.display().to_string(),
        line: 0,
        message: format!("chroot_substitutes: {m}"),
    };
    let list: Option<Vec<Table>> = g
        .get("chroot_substitutes")
        .map_err(|_| bad("must be a list of tables".into()))?;
    let mut out = Vec::new();
    for t in list.unwrap_or_default() {
        let name: String = t
            .get("name")
            .map_err(|_| bad("an entry has no name".into()))?;
        let dirs: Option<Vec<String>> = t
            .get("dirs")
            .map_err(|_| bad(format!("{name}: dirs must be a list of paths")))?;
        let dirs = dirs.unwrap_or_else(|| {
            ["/bin", "/usr/bin", "/sbin", "/usr/sbin"]
                .map(String::from)
                .to_vec()
        });
        let run: Option<String> = t
            .get("run")
            .map_err(|_| bad(format!("{name}: run must be a path")))?;
        let tail: Option<Vec<String>> = t
            .get("add_tail")
            .map_err(|_| bad(format!("{name}: add_tail must be a list of strings")))?;
        if run.as_ref().is_some_and(|r| !r.starts_with('/'))
            || dirs.iter().any(|d| !d.starts_with('/'))
        {
            return Err(bad(format!("{name}: run and dirs must be absolute paths")));
        }
        out.push(ArgvMod {
            name: name.into_bytes(),
            dirs: dirs.into_iter().map(String::into_bytes).collect(),
            new_filename: run.unwrap_or_default().into_bytes(),
            add_tail: tail
                .unwrap_or_default()
                .into_iter()
                .map(String::into_bytes)
                .collect(),
            disable_mapping: false,
            every_mode: false,
            launcher: false,
            chroot_mode: None,
        });
    }
    Ok(out)
}

/// The mode's `chroot_mounts` (default `/proc`, `/sys`, `/dev`): each
/// entry `DIR` or `DIR:INSIDE`, absolute; as `INSIDE\tDIR` lines.
fn chroot_mounts(g: &Table, file: &Path) -> Result<String, CompileError> {
    let list: Vec<String> = match g.get::<Option<Vec<String>>>("chroot_mounts") {
        Ok(Some(l)) => l,
        Ok(None) => ["/proc", "/sys", "/dev"].map(String::from).to_vec(),
        Err(_) => {
            return Err(CompileError {
                file: file.display().to_string(),
                line: 0,
                message: "chroot_mounts must be a list of absolute paths".into(),
            })
        }
    };
    let mut lines = Vec::new();
    for e in list {
        let (dir, inside) = e.split_once(':').unwrap_or((&e, &e));
        if !dir.starts_with('/') || !inside.starts_with('/') || inside == "/" {
            return Err(CompileError {
                file: file.display().to_string(),
                line: 0,
                message: format!(
                    "chroot_mounts: '{e}' is not an absolute DIR[:INSIDE] (other than /)"
                ),
            });
        }
        lines.push(format!(
            "{}\t{}",
            inside.trim_end_matches('/'),
            dir.trim_end_matches('/')
        ));
    }
    Ok(lines.join("\n"))
}

pub(crate) fn lua_err(file: &Path, e: mlua::Error) -> CompileError {
    // Lua's messages already start with "file:line:" (chunks are named "@file").
    let msg = match &e {
        mlua::Error::SyntaxError { message, .. } => message.clone(),
        mlua::Error::RuntimeError(m) => m.clone(),
        mlua::Error::CallbackError { cause, traceback } => {
            let e = lua_err(file, (**cause).clone());
            return if e.line == 0 { placed(e, traceback) } else { e };
        }
        other => other.to_string(),
    };
    let fname = file.display().to_string();
    if let Some(rest) = msg.strip_prefix(&format!("{fname}:")) {
        let (l, m) = rest.split_once(':').unwrap_or(("0", rest));
        if let Ok(line) = l.trim().parse() {
            return CompileError {
                file: fname,
                line,
                message: m.trim().to_string(),
            };
        }
    }
    CompileError {
        file: fname,
        line: 0,
        message: msg,
    }
}

/// A callback's error (a Rust function called by a rule file: its
/// arguments did not convert, say) carries no position of its own: the
/// innermost rule file line of the Lua traceback is where it was called.
fn placed(mut e: CompileError, traceback: &str) -> CompileError {
    let at = traceback.lines().find_map(|l| {
        let (path, rest) = l.trim().split_once(".lua:")?;
        let n: String = rest.chars().take_while(char::is_ascii_digit).collect();
        Some((format!("{path}.lua"), n.parse::<u32>().ok()?))
    });
    match at {
        Some((path, line)) if path == e.file => e.line = line,
        Some((path, line)) => e.message = format!("{path}:{line}: {}", e.message),
        None => {}
    }
    e
}

pub(crate) fn load_file(lua: &Lua, file: &Path) -> Result<Value, CompileError> {
    let bad = |message: String| CompileError {
        file: file.display().to_string(),
        line: 0,
        message,
    };
    let src = record::read_file(file)
        .map_err(|e| bad(format!("cannot read rule file: {e}")))
        .and_then(|b| String::from_utf8(b).map_err(|_| bad("rule file is not UTF-8".into())))?;
    let g = lua.globals();
    let prev: Value = g.get("__sb2_current_file").map_err(|e| lua_err(file, e))?;
    g.set("__sb2_current_file", file.display().to_string())
        .map_err(|e| lua_err(file, e))?;
    let r = lua
        .load(instrument(&src))
        .set_name(format!("@{}", file.display()))
        // Rule files are text. Lua would take a file starting with ESC
        // as precompiled bytecode, which it does not check: a damaged or
        // hostile one can crash the interpreter.
        .set_mode(mlua::ChunkMode::Text)
        .eval::<Value>()
        .map_err(|e| lua_err(file, e));
    // Tables built after a library returns belong to the file that imported it.
    g.set("__sb2_current_file", prev)
        .map_err(|e| lua_err(file, e))?;
    r
}

/// "FILE:LINE: " of the Lua code that called the running Rust function
/// (a callback's errors carry no position of their own), or nothing.
fn caller(lua: &Lua) -> String {
    let Some(d) = lua.inspect_stack(1) else {
        return String::new();
    };
    let src = d.source();
    let line = d.curr_line();
    match src.source.as_deref().and_then(|s| s.strip_prefix('@')) {
        Some(f) if line > 0 => format!("{f}:{line}: "),
        _ => String::new(),
    }
}

/// Where the rule table `t` was written (recorded by `__sb2_t`).
pub(crate) fn origin_of(origins: &Table, t: &Table, default_file: &str) -> Origin {
    match origins.get::<Option<Table>>(t.clone()) {
        Ok(Some(o)) => Origin {
            file: o
                .get::<String>(1)
                .unwrap_or_else(|_| default_file.to_string()),
            line: o.get::<u32>(2).unwrap_or(0),
        },
        _ => Origin {
            file: default_file.to_string(),
            line: 0,
        },
    }
}

/// An error about the rule written at `o`.
pub(crate) fn err_at(o: &Origin, msg: impl Into<String>) -> CompileError {
    CompileError {
        file: o.file.clone(),
        line: o.line,
        message: msg.into(),
    }
}

/// Defines `__sb2_t` (see the module doc) and the Scratchbox2 helpers rule
/// files call; run in every Lua state before a rule file.
pub(crate) const PRELUDE: &str = include_str!("prelude.lua");

/// Lua instructions a compile may run: the repository's rules take a
/// few hundred thousand; a loop that never ends (a typo in a rule file)
/// stops the launcher after a second or two with file and line instead
/// of hanging it.
pub const MAX_INSTRUCTIONS: u64 = 200_000_000;
/// Memory the Lua state of a compile may hold (a runaway `string.rep` or
/// table fills this, not the machine).
pub const MAX_MEMORY: usize = 512 << 20;

/// A Lua state for rule files, with the limits above.
pub(crate) fn new_lua() -> Lua {
    let lua = Lua::new();
    let _ = lua.set_memory_limit(MAX_MEMORY);
    const EVERY: u32 = 100_000;
    let ran = std::cell::Cell::new(0u64);
    lua.set_hook(
        mlua::HookTriggers::new().every_nth_instruction(EVERY),
        move |_, d| {
            ran.set(ran.get() + EVERY as u64);
            if ran.get() <= MAX_INSTRUCTIONS {
                return Ok(mlua::VmState::Continue);
            }
            let src = d.source();
            let file = src.source.as_deref().unwrap_or("?");
            let file = file.strip_prefix('@').unwrap_or(file);
            Err(mlua::Error::RuntimeError(format!(
                "{file}:{}: the rules ran more than {} million Lua instructions \
                 (an endless loop?)",
                d.curr_line(),
                MAX_INSTRUCTIONS / 1_000_000
            )))
        },
    );
    lua
}

fn compile_mode(input: &Input, mode: &str, file: &Path) -> Result<Mode, CompileError> {
    let lua = new_lua();
    let g = lua.globals();
    let setup = || -> mlua::Result<()> {
        for (k, v) in &input.constants {
            // An empty constant (no tools root) is nil to Lua, as in Scratchbox2.
            if !v.is_empty() {
                g.set(k.as_str(), v.as_str())?;
            }
        }
        g.set("active_mapmode", mode)?;
        for (n, v) in crate::class::NAMES {
            g.set(format!("FUNC_CLASS_{n}"), *v)?;
        }
        record::install(&lua)?;
        lua.load(PRELUDE).set_name("=sb2-prelude").exec()?;
        let sblib: Table = g.get("sblib")?;
        sblib.set(
            "path_exists",
            lua.create_function(|_, p: String| Ok(record::exists(Path::new(&p))))?,
        )?;
        Ok(())
    };
    setup().map_err(|e| lua_err(file, e))?;
    let rules_dir = input.rules_dir.clone();
    let libfn = lua
        .create_function(move |lua, name: String| {
            if name.contains('/') || name.contains("..") {
                return Err(mlua::Error::RuntimeError(format!(
                    "{}bad rule library name '{name}'",
                    caller(lua)
                )));
            }
            let p = rules_dir.join("lib").join(format!("{name}.lua"));
            load_file(lua, &p).map_err(|e| {
                // A library that cannot be read has no line of its own to
                // blame: the import's line is the one to fix.
                let at = if e.line == 0 {
                    caller(lua)
                } else {
                    String::new()
                };
                mlua::Error::RuntimeError(format!("{at}{e}"))
            })
        })
        .map_err(|e| lua_err(file, e))?;
    g.set("import_from_fs_rule_library", libfn)
        .map_err(|e| lua_err(file, e))?;

    let ret = load_file(&lua, file)?;
    if let Ok(Some(v)) = g.get::<Option<String>>("rule_file_interface_version") {
        if v != "105" {
            return Err(CompileError {
                file: file.display().to_string(),
                line: 0,
                message: format!("rule_file_interface_version is \"{v}\", expected \"105\""),
            });
        }
    }
    let list = match g.get::<Value>("fs_mapping_rules") {
        Ok(Value::Table(t)) => t,
        _ => match ret {
            Value::Table(t) => t,
            _ => {
                return Err(CompileError {
                    file: file.display().to_string(),
                    line: 0,
                    message:
                        "defines no rules: set fs_mapping_rules = { ... } or return a rule list"
                            .into(),
                })
            }
        },
    };
    let origins: Table = g.get("__sb2_origins").map_err(|e| lua_err(file, e))?;
    let procfs: Table = g.get("sb2_procfs_mapper").map_err(|e| lua_err(file, e))?;
    let cx = Conv {
        origins,
        procfs,
        default_file: file.display().to_string(),
    };
    let fs_rules = cx.list(&list, Level::Top)?;
    let mut m = Mode {
        name: mode.to_string(),
        fs_rules,
        chroot_mounts: chroot_mounts(&g, file)?,
        ..Mode::default()
    };
    // exec_rules.lua next to the fs rules, run in the same Lua state (it
    // sees the same constants and helpers).
    let exec_file = file.with_file_name("exec_rules.lua");
    if record::exists(&exec_file) {
        load_file(&lua, &exec_file)?;
        let cx = Conv {
            default_file: exec_file.display().to_string(),
            ..cx
        };
        cx.exec_rules(&g, &mut m)?;
    }
    m.chroot_substitutes = chroot_substitutes(&g, &exec_file)?;
    Ok(m)
}
