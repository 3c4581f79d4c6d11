//! The rule compiler (feature `compiler`, launcher only): runs a mode's Lua
//! rule files with mlua and turns the rule tables into [`crate::model`].
//!
//! Rule files use Scratchbox2's vocabulary (docs/rules.md). So that every
//! error can name the file and line of the offending rule, each source is
//! lightly instrumented before it runs: every table constructor `{...}`
//! becomes `__sb2_t(LINE,{...})`, which records where the table was written.
//! No newline is added, so Lua's own syntax errors keep their line numbers.

use crate::model::*;
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
}

/// Compiles every mode of a session.
pub fn compile(input: &Input) -> Result<Session, CompileError> {
    let mut modes = Vec::new();
    for (name, file) in &input.modes {
        modes.push(compile_mode(input, name, file)?);
    }
    let net = match &input.net {
        Some((name, file)) => Some(crate::compile_net::compile_net(name, file)?),
        None => None,
    };
    Ok(Session {
        constants: input.constants.clone(),
        modes,
        argvmods: input.argvmods.clone(),
        net,
    })
}

/// Inserts `__sb2_t(LINE,` before each table constructor (see module doc).
pub fn instrument(src: &str) -> String {
    #[derive(PartialEq)]
    enum Close {
        Plain,
        Call,
    }
    let b = src.as_bytes();
    let mut out = String::with_capacity(src.len() * 2);
    let mut stack: Vec<Close> = Vec::new();
    let mut line = 1u32;
    let mut i = 0;
    // Previous significant token: was it something a call can follow?
    let mut callable = false;
    let mut word = String::new();
    let long_bracket = |i: usize| -> Option<usize> {
        // At '[': returns the level if this opens a long bracket.
        let mut j = i + 1;
        while b.get(j) == Some(&b'=') {
            j += 1;
        }
        (b.get(j) == Some(&b'[')).then_some(j - i - 1)
    };
    let copy_until = |out: &mut String, line: &mut u32, from: usize, close: &[u8]| -> usize {
        let mut j = from;
        while j < b.len() && !b[j..].starts_with(close) {
            if b[j] == b'\n' {
                *line += 1;
            }
            j += 1;
        }
        let end = (j + close.len()).min(b.len());
        *line += src[j..end].matches('\n').count() as u32;
        out.push_str(&src[from..end]);
        end
    };
    while i < b.len() {
        let c = b[i];
        if c == b'-' && b.get(i + 1) == Some(&b'-') {
            if b.get(i + 2) == Some(&b'[') {
                if let Some(lvl) = long_bracket(i + 2) {
                    let close = format!("]{}]", "=".repeat(lvl));
                    i = copy_until(&mut out, &mut line, i, close.as_bytes());
                    continue;
                }
            }
            i = copy_until(&mut out, &mut line, i, b"\n");
            continue;
        }
        if c == b'[' {
            if let Some(lvl) = long_bracket(i) {
                let close = format!("]{}]", "=".repeat(lvl));
                i = copy_until(&mut out, &mut line, i, close.as_bytes());
                callable = true;
                word.clear();
                continue;
            }
        }
        if c == b'"' || c == b'\'' {
            let mut j = i + 1;
            while j < b.len() && b[j] != c {
                if b[j] == b'\\' {
                    j += 1;
                }
                if b.get(j) == Some(&b'\n') {
                    line += 1;
                }
                j += 1;
            }
            let end = (j + 1).min(b.len());
            out.push_str(&src[i..end]);
            i = end;
            callable = true;
            word.clear();
            continue;
        }
        if c == b'{' {
            const KEYWORDS: &[&str] = &[
                "and", "break", "do", "else", "elseif", "end", "false", "for", "function", "goto",
                "if", "in", "local", "nil", "not", "or", "repeat", "return", "then", "true",
                "until", "while",
            ];
            let is_call = callable && !KEYWORDS.contains(&word.as_str());
            if is_call {
                out.push_str(&format!("(__sb2_t({line},{{"));
                stack.push(Close::Call);
            } else {
                out.push_str(&format!("__sb2_t({line},{{"));
                stack.push(Close::Plain);
            }
            callable = false;
            word.clear();
            i += 1;
            continue;
        }
        if c == b'}' {
            match stack.pop() {
                Some(Close::Call) => out.push_str("}))"),
                Some(Close::Plain) => out.push_str("})"),
                None => out.push('}'),
            }
            callable = true;
            word.clear();
            i += 1;
            continue;
        }
        if c == b'\n' {
            line += 1;
        }
        if c.is_ascii_alphanumeric() || c == b'_' {
            if !callable || word.is_empty() {
                word.clear();
            }
            word.push(c as char);
            callable = true;
        } else if c == b')' || c == b']' {
            callable = true;
            word.clear();
        } else if !c.is_ascii_whitespace() {
            callable = false;
            word.clear();
        }
        // Multi-byte UTF-8 passes through byte-wise.
        let ch_len = src[i..].chars().next().map(|ch| ch.len_utf8()).unwrap_or(1);
        out.push_str(&src[i..i + ch_len]);
        i += ch_len;
    }
    out
}

pub(crate) fn lua_err(file: &Path, e: mlua::Error) -> CompileError {
    // Lua's messages already start with "file:line:" (chunks are named "@file").
    let msg = match &e {
        mlua::Error::SyntaxError { message, .. } => message.clone(),
        mlua::Error::RuntimeError(m) => m.clone(),
        mlua::Error::CallbackError { cause, .. } => return lua_err(file, (**cause).clone()),
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

pub(crate) fn load_file(lua: &Lua, file: &Path) -> Result<Value, CompileError> {
    let src = std::fs::read_to_string(file).map_err(|e| CompileError {
        file: file.display().to_string(),
        line: 0,
        message: format!("cannot read rule file: {e}"),
    })?;
    let g = lua.globals();
    let prev: Value = g.get("__sb2_current_file").map_err(|e| lua_err(file, e))?;
    g.set("__sb2_current_file", file.display().to_string())
        .map_err(|e| lua_err(file, e))?;
    let r = lua
        .load(instrument(&src))
        .set_name(format!("@{}", file.display()))
        .eval::<Value>()
        .map_err(|e| lua_err(file, e));
    // Tables built after a library returns belong to the file that imported it.
    g.set("__sb2_current_file", prev)
        .map_err(|e| lua_err(file, e))?;
    r
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

pub(crate) const PRELUDE: &str = r#"
local origins = setmetatable({}, { __mode = "k" })
__sb2_origins = origins
function __sb2_t(line, t)
  origins[t] = { __sb2_current_file, line }
  return t
end
sb2_procfs_mapper = setmetatable({}, { __name = "sb2_procfs_mapper" })
readonly_fs_if_not_root = 1
readonly_fs_always = 2
function basename(p) return (string.gsub(p, "^.*/", "")) end
sblib = {}
function sblib.isprefix(a, b) return string.sub(b, 1, #a) == a end
function has_mode_option(o)
  for w in string.gmatch(sbox_mode_specific_options or "", "[^,%s]+") do
    if w == o then return true end
  end
  return false
end
"#;

fn compile_mode(input: &Input, mode: &str, file: &Path) -> Result<Mode, CompileError> {
    let lua = Lua::new();
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
        lua.load(PRELUDE).set_name("=sb2-prelude").exec()?;
        let sblib: Table = g.get("sblib")?;
        sblib.set(
            "path_exists",
            lua.create_function(|_, p: String| Ok(Path::new(&p).exists()))?,
        )?;
        Ok(())
    };
    setup().map_err(|e| lua_err(file, e))?;
    let rules_dir = input.rules_dir.clone();
    let libfn = lua
        .create_function(move |lua, name: String| {
            if name.contains('/') || name.contains("..") {
                return Err(mlua::Error::RuntimeError(format!(
                    "bad rule library name '{name}'"
                )));
            }
            let p = rules_dir.join("lib").join(format!("{name}.lua"));
            load_file(lua, &p).map_err(|e| mlua::Error::RuntimeError(e.to_string()))
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
        ..Mode::default()
    };
    // exec_rules.lua next to the fs rules, run in the same Lua state (it
    // sees the same constants and helpers).
    let exec_file = file.with_file_name("exec_rules.lua");
    if exec_file.exists() {
        load_file(&lua, &exec_file)?;
        let cx = Conv {
            default_file: exec_file.display().to_string(),
            ..cx
        };
        cx.exec_rules(&g, &mut m)?;
    }
    Ok(m)
}

// The host's loader and multiarch directory (`lib/<this>`).
#[cfg(target_arch = "x86_64")]
const HOST_LD_SO: &str = "ld-linux-x86-64.so.2";
#[cfg(target_arch = "x86_64")]
const HOST_MULTIARCH: &str = "x86_64-linux-gnu";
#[cfg(target_arch = "aarch64")]
const HOST_LD_SO: &str = "ld-linux-aarch64.so.1";
#[cfg(target_arch = "aarch64")]
const HOST_MULTIARCH: &str = "aarch64-linux-gnu";
#[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
const HOST_LD_SO: &str = "ld-linux.so.2";
#[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
const HOST_MULTIARCH: &str = "unknown-linux-gnu";

/// Library directories of a root for its ld.so's `--library-path`, and the
/// ld.so itself: the multiarch and plain lib dirs that exist, and the first
/// `ld-linux*.so*` that is a regular file in them (no symlink is followed:
/// a root's absolute links point into the root, not at the host).
fn root_loader(root: &str) -> (Vec<u8>, Vec<u8>) {
    let mut dirs = Vec::new();
    for base in ["lib", "usr/lib", "lib64", "usr/lib64"] {
        let b = Path::new(root).join(base);
        if let Ok(rd) = std::fs::read_dir(&b) {
            let mut multi: Vec<PathBuf> = rd
                .flatten()
                .map(|e| e.path())
                .filter(|p| {
                    p.is_dir()
                        && p.file_name()
                            .and_then(|n| n.to_str())
                            .is_some_and(|n| n == HOST_MULTIARCH)
                })
                .collect();
            multi.sort();
            dirs.extend(multi);
        }
        if b.is_dir() {
            dirs.push(b);
        }
    }
    let mut ld_so = Vec::new();
    'found: for d in &dirs {
        if let Ok(rd) = std::fs::read_dir(d) {
            let mut names: Vec<PathBuf> = rd.flatten().map(|e| e.path()).collect();
            names.sort();
            for p in names {
                let n = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
                // The loader for programs of this host's machine only.
                if n == HOST_LD_SO {
                    if let Ok(md) = std::fs::symlink_metadata(&p) {
                        if md.is_file() {
                            ld_so = p.display().to_string().into_bytes();
                            break 'found;
                        }
                    }
                }
            }
        }
    }
    // Dedupe (lib may be a link to usr/lib): keep the first spelling.
    let mut seen = std::collections::HashSet::new();
    let lp: Vec<String> = dirs
        .iter()
        .filter(|d| seen.insert(std::fs::canonicalize(d).unwrap_or_else(|_| (*d).clone())))
        .map(|d| d.display().to_string())
        .collect();
    (ld_so, lp.join(":").into_bytes())
}

#[derive(Clone, Copy, PartialEq)]
enum Level {
    Top,
    Candidate,
}

struct Conv {
    origins: Table,
    procfs: Table,
    default_file: String,
}

const KEYS: &[&str] = &[
    "path",
    "prefix",
    "dir",
    "map_to",
    "replace_by",
    "use_orig_path",
    "force_orig_path",
    "force_orig_path_unless_chroot",
    "set_path",
    "map_to_value_of_env_var",
    "replace_by_value_of_env_var",
    "union_dir",
    "custom_map_funct",
    "rules",
    "actions",
    "if_exists_then_map_to",
    "if_exists_then_replace_by",
    "if_exists_in",
    "then_actions",
    "if_active_exec_policy_is",
    "if_redirect_ignore_is_active",
    "if_redirect_force_is_active",
    "if_env_var_is_not_empty",
    "if_env_var_is_empty",
    "if_env_var_is_set",
    "if_env_var_is_not_set",
    "func_class",
    "binary_name",
    "readonly",
    "protection",
    "errno",
    "virtual_path",
    "exec_policy_name",
    "name",
    "log_level",
    "log_message",
    "optional_rule",
];

impl Conv {
    /// `exec_policies`, `exec_policy_selection`, `enable_cross_gcc_toolchain`.
    fn exec_rules(&self, g: &Table, m: &mut Mode) -> Result<(), CompileError> {
        let o = Origin {
            file: self.default_file.clone(),
            line: 0,
        };
        m.toolchain = matches!(
            g.get::<Value>("enable_cross_gcc_toolchain"),
            Ok(Value::Boolean(true))
        );
        if let Ok(Value::Table(pols)) = g.get::<Value>("exec_policies") {
            for v in pols.sequence_values::<Value>() {
                let Ok(Value::Table(t)) = v else {
                    return Err(self.err(&o, "exec_policies holds a non-table"));
                };
                let po = self.origin(&t);
                let mut p = ExecPolicy {
                    origin: po.clone(),
                    ..ExecPolicy::default()
                };
                for pair in t.pairs::<String, Value>() {
                    let (k, v) = pair.map_err(|e| self.err(&po, e.to_string()))?;
                    match k.as_str() {
                        "name" => p.name = self.string(&po, "name", v)?,
                        "native_app_root" => p.root = self.abs(&po, "native_app_root", v)?,
                        "log_level" | "log_message" => {}
                        _ => return Err(self.err(&po, format!("unknown key '{k}' in exec policy"))),
                    }
                }
                if p.name.is_empty() {
                    return Err(self.err(&po, "exec policy has no name"));
                }
                if !p.root.is_empty() && p.root != b"/" {
                    let (ld, lp) = root_loader(&String::from_utf8_lossy(&p.root));
                    p.ld_so = ld;
                    p.library_path = lp;
                }
                m.exec_policies.push(p);
            }
        }
        if let Ok(Value::Table(sel)) = g.get::<Value>("exec_policy_selection") {
            for v in sel.sequence_values::<Value>() {
                let Ok(Value::Table(t)) = v else {
                    return Err(self.err(&o, "exec_policy_selection holds a non-table"));
                };
                let so = self.origin(&t);
                if !t.contains_key("use_orig_path").unwrap_or(false) {
                    t.set("use_orig_path", true)
                        .map_err(|e| self.err(&so, e.to_string()))?;
                }
                let Some(r) = self.rule(&t, Level::Top)? else {
                    continue;
                };
                match &r.exec_policy_name {
                    Some(n) if m.exec_policies.iter().any(|p| &p.name == n) => {}
                    Some(n) => {
                        return Err(self.err(
                            &so,
                            format!(
                                "exec_policy_name '{}' names no policy in exec_policies",
                                String::from_utf8_lossy(n)
                            ),
                        ))
                    }
                    None => return Err(self.err(&so, "selection entry has no exec_policy_name")),
                }
                m.exec_selection.push(r);
            }
        }
        Ok(())
    }

    fn origin(&self, t: &Table) -> Origin {
        origin_of(&self.origins, t, &self.default_file)
    }

    fn err(&self, o: &Origin, msg: impl Into<String>) -> CompileError {
        err_at(o, msg)
    }

    fn list(&self, t: &Table, level: Level) -> Result<Vec<Rule>, CompileError> {
        let o = self.origin(t);
        let mut out = Vec::new();
        for v in t.clone().sequence_values::<Value>() {
            match v {
                Ok(Value::Table(r)) => {
                    if let Some(rule) = self.rule(&r, level)? {
                        out.push(rule);
                    }
                }
                Ok(other) => {
                    return Err(self.err(
                        &o,
                        format!(
                            "a rule list holds a {}, expected rule tables",
                            other.type_name()
                        ),
                    ))
                }
                Err(e) => return Err(self.err(&o, e.to_string())),
            }
        }
        Ok(out)
    }

    fn string(&self, o: &Origin, key: &str, v: Value) -> Result<Vec<u8>, CompileError> {
        match v {
            Value::String(s) => Ok(s.as_bytes().to_vec()),
            Value::Nil => Err(self.err(o, format!("'{key}' is nil (an undefined variable?)"))),
            other => Err(self.err(
                o,
                format!("'{key}' must be a string, not a {}", other.type_name()),
            )),
        }
    }

    fn abs(&self, o: &Origin, key: &str, v: Value) -> Result<Vec<u8>, CompileError> {
        let s = self.string(o, key, v)?;
        if s.first() != Some(&b'/') {
            return Err(self.err(
                o,
                format!(
                    "'{key}' must be an absolute path, got \"{}\"",
                    String::from_utf8_lossy(&s)
                ),
            ));
        }
        Ok(s)
    }

    fn rule(&self, t: &Table, level: Level) -> Result<Option<Rule>, CompileError> {
        let o = self.origin(t);
        let mut rule = Rule::new(Selector::None, Action::UseOrigPath);
        rule.origin = o.clone();
        let mut selectors = 0;
        let mut actions: Vec<&str> = Vec::new();
        let mut optional = false;
        let mut then_actions: Option<Table> = None;
        for pair in t.clone().pairs::<Value, Value>() {
            let (k, v) = pair.map_err(|e| self.err(&o, e.to_string()))?;
            let key = match &k {
                Value::String(s) => s.to_str().map(|s| s.to_string()).unwrap_or_default(),
                _ => return Err(self.err(
                    &o,
                    "rule tables have only named keys (did you forget '{' ... '}' around a rule?)",
                )),
            };
            let Some(key) = KEYS.iter().find(|x| **x == key) else {
                return Err(self.err(&o, format!("unknown key '{key}' in rule")));
            };
            let key: &str = key;
            let is_true = matches!(v, Value::Boolean(true));
            match key {
                "path" => {
                    rule.selector = Selector::Path(self.abs(&o, key, v)?);
                    selectors += 1;
                }
                "prefix" => {
                    rule.selector = Selector::Prefix(self.abs(&o, key, v)?);
                    selectors += 1;
                }
                "dir" => {
                    rule.selector = Selector::Dir(self.abs(&o, key, v)?);
                    selectors += 1;
                }
                "map_to" => {
                    rule.action = Action::MapTo(self.string(&o, key, v)?);
                    actions.push(key);
                }
                "replace_by" => {
                    rule.action = Action::ReplaceBy(self.string(&o, key, v)?);
                    actions.push(key);
                }
                "set_path" => {
                    rule.action = Action::SetPath(self.abs(&o, key, v)?);
                    actions.push(key);
                }
                "map_to_value_of_env_var" => {
                    rule.action = Action::MapToValueOfEnvVar(self.string(&o, key, v)?);
                    actions.push(key);
                }
                "replace_by_value_of_env_var" => {
                    rule.action = Action::ReplaceByValueOfEnvVar(self.string(&o, key, v)?);
                    actions.push(key);
                }
                "use_orig_path" | "force_orig_path" | "force_orig_path_unless_chroot" => {
                    if !is_true {
                        return Err(self.err(&o, format!("'{key}' must be true")));
                    }
                    rule.action = match key {
                        "use_orig_path" => Action::UseOrigPath,
                        "force_orig_path" => Action::ForceOrigPath,
                        _ => Action::ForceOrigPathUnlessChroot,
                    };
                    actions.push(key);
                }
                "union_dir" => {
                    let Value::Table(l) = v else {
                        return Err(self.err(&o, "'union_dir' must be a list of directories"));
                    };
                    let mut dirs = Vec::new();
                    for d in l.sequence_values::<Value>() {
                        dirs.push(self.abs(
                            &o,
                            key,
                            d.map_err(|e| self.err(&o, e.to_string()))?,
                        )?);
                    }
                    if dirs.is_empty() {
                        return Err(self.err(&o, "'union_dir' lists no directory"));
                    }
                    rule.action = Action::UnionDir(dirs);
                    actions.push(key);
                }
                "custom_map_funct" => {
                    match &v {
                        Value::Table(f) if *f == self.procfs => {}
                        _ => {
                            return Err(
                                self.err(&o, "'custom_map_funct' only accepts sb2_procfs_mapper")
                            )
                        }
                    }
                    rule.action = Action::ProcFs;
                    actions.push(key);
                }
                "rules" | "actions" => {
                    let Value::Table(l) = v else {
                        return Err(self.err(&o, format!("'{key}' must be a list of rules")));
                    };
                    if key == "rules" {
                        rule.action = Action::Rules(self.list(&l, Level::Top)?);
                    } else {
                        let cands = self.list(&l, Level::Candidate)?;
                        if cands.is_empty() {
                            return Err(self.err(&o, "'actions' is empty"));
                        }
                        rule.action = Action::Actions(cands);
                    }
                    actions.push(key);
                }
                "if_exists_then_map_to" => {
                    rule.action = Action::IfExistsThenMapTo(self.string(&o, key, v)?);
                    actions.push(key);
                }
                "if_exists_then_replace_by" => {
                    rule.action = Action::IfExistsThenReplaceBy(self.string(&o, key, v)?);
                    actions.push(key);
                }
                "if_exists_in" => {
                    rule.action = Action::IfExistsIn(self.string(&o, key, v)?, Vec::new());
                    actions.push(key);
                }
                "then_actions" => {
                    let Value::Table(l) = v else {
                        return Err(self.err(&o, "'then_actions' must be a list of actions"));
                    };
                    then_actions = Some(l);
                }
                "if_active_exec_policy_is" => {
                    rule.condition = Condition::ActiveExecPolicyIs(self.string(&o, key, v)?)
                }
                "if_redirect_ignore_is_active" => {
                    rule.condition = Condition::RedirectIgnoreIsActive(self.string(&o, key, v)?)
                }
                "if_redirect_force_is_active" => {
                    rule.condition = Condition::RedirectForceIsActive(self.string(&o, key, v)?)
                }
                "if_env_var_is_not_empty" | "if_env_var_is_set" => {
                    rule.condition = Condition::EnvVarIsNotEmpty(self.string(&o, key, v)?)
                }
                "if_env_var_is_empty" | "if_env_var_is_not_set" => {
                    rule.condition = Condition::EnvVarIsEmpty(self.string(&o, key, v)?)
                }
                "func_class" => match v {
                    Value::Integer(n) if n > 0 => rule.func_class = n as u32,
                    Value::Number(n) if n > 0.0 => rule.func_class = n as u32,
                    _ => {
                        return Err(
                            self.err(&o, "'func_class' must be a positive FUNC_CLASS_* bit mask")
                        )
                    }
                },
                "binary_name" => rule.binary_name = Some(self.string(&o, key, v)?),
                "readonly" if is_true => rule.flags |= flags::READONLY,
                "protection" => {
                    match v {
                        Value::Integer(1) => rule.flags |= flags::READONLY_IF_NOT_ROOT,
                        Value::Integer(2) => rule.flags |= flags::READONLY,
                        _ => return Err(self.err(
                            &o,
                            "'protection' must be readonly_fs_if_not_root or readonly_fs_always",
                        )),
                    }
                }
                "errno" => match self.string(&o, key, v)?.as_slice() {
                    b"EROFS" => {}
                    b"EACCES" => rule.flags |= flags::DENY_EACCES,
                    b"EPERM" => rule.flags |= flags::DENY_EPERM,
                    other => {
                        return Err(self.err(
                            &o,
                            format!(
                                "errno '{}' for a refused write: use EROFS, EACCES or EPERM",
                                String::from_utf8_lossy(other)
                            ),
                        ))
                    }
                },
                "virtual_path" if is_true => rule.flags |= flags::VIRTUAL_PATH,
                "exec_policy_name" => rule.exec_policy_name = Some(self.string(&o, key, v)?),
                "name" => rule.name = Some(self.string(&o, key, v)?),
                "optional_rule" => optional = is_true,
                // Accepted for compatibility; ignored as in Scratchbox2.
                _ => {}
            }
        }
        if let Some(l) = then_actions {
            match &mut rule.action {
                Action::IfExistsIn(_, then) => *then = self.list(&l, Level::Candidate)?,
                _ => return Err(self.err(&o, "'then_actions' needs 'if_exists_in'")),
            }
        } else if matches!(rule.action, Action::IfExistsIn(..)) {
            return Err(self.err(&o, "'if_exists_in' needs 'then_actions'"));
        }
        if actions.len() > 1 {
            return Err(self.err(
                &o,
                format!("a rule has one action, this one has {}", actions.join(", ")),
            ));
        }
        if actions.is_empty() {
            return Err(self.err(
                &o,
                "rule has no action (map_to, replace_by, use_orig_path, rules, actions, ...); \
                 note that a key whose value is nil (an undefined variable?) is dropped by Lua",
            ));
        }
        if selectors > 1 {
            return Err(self.err(&o, "a rule has one selector (path, prefix or dir)"));
        }
        match level {
            Level::Top => {
                if selectors == 0 {
                    if optional {
                        return Ok(None);
                    }
                    return Err(self.err(&o, "rule has no selector (path, prefix or dir)"));
                }
                if rule.condition != Condition::None {
                    return Err(self.err(
                        &o,
                        "conditions (if_...) are only allowed on entries of an 'actions' list",
                    ));
                }
                if matches!(
                    rule.action,
                    Action::IfExistsThenMapTo(_)
                        | Action::IfExistsThenReplaceBy(_)
                        | Action::IfExistsIn(..)
                ) {
                    return Err(self.err(
                        &o,
                        "conditional actions (if_exists_...) are only allowed inside 'actions'",
                    ));
                }
            }
            Level::Candidate => {
                if selectors != 0 {
                    return Err(self.err(&o, "entries of an 'actions' list have no selector"));
                }
            }
        }
        Ok(Some(rule))
    }
}
