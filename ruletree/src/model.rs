//! Owned rule structures: what the Lua compiler produces and the format
//! writer consumes. The vocabulary is Scratchbox2's (docs/rules.md).

/// Which paths a rule applies to. Matched against the clean, absolute,
/// symlink-resolved virtual path.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Selector {
    /// `path = P`: exactly P.
    Path(Vec<u8>),
    /// `prefix = P`: any path starting with the bytes of P.
    Prefix(Vec<u8>),
    /// `dir = P`: P itself and everything below it (on a `/` boundary).
    Dir(Vec<u8>),
    /// No selector: only allowed for candidates inside an `actions` list.
    None,
}

/// What a rule does with the path.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Action {
    UseOrigPath,
    ForceOrigPath,
    ForceOrigPathUnlessChroot,
    MapTo(Vec<u8>),
    ReplaceBy(Vec<u8>),
    SetPath(Vec<u8>),
    MapToValueOfEnvVar(Vec<u8>),
    ReplaceByValueOfEnvVar(Vec<u8>),
    UnionDir(Vec<Vec<u8>>),
    /// `custom_map_funct = sb2_procfs_mapper`.
    ProcFs,
    /// `rules = {...}`: a subtree; if nothing in it matches, evaluation goes
    /// on after this rule.
    Rules(Vec<Rule>),
    /// `actions = {...}`: conditional candidates, first that applies wins.
    Actions(Vec<Rule>),
    IfExistsThenMapTo(Vec<u8>),
    IfExistsThenReplaceBy(Vec<u8>),
    /// `if_exists_in = P, then_actions = {...}`.
    IfExistsIn(Vec<u8>, Vec<Rule>),
}

/// A condition on an action candidate.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Condition {
    None,
    ActiveExecPolicyIs(Vec<u8>),
    RedirectIgnoreIsActive(Vec<u8>),
    RedirectForceIsActive(Vec<u8>),
    EnvVarIsNotEmpty(Vec<u8>),
    EnvVarIsEmpty(Vec<u8>),
}

/// Rule flag bits (stored in the tree).
pub mod flags {
    /// `readonly = true` or `protection = readonly_fs_always`.
    pub const READONLY: u8 = 1;
    /// `protection = readonly_fs_if_not_root`.
    pub const READONLY_IF_NOT_ROOT: u8 = 2;
    /// `virtual_path = true`: no reverse rule is generated.
    pub const VIRTUAL_PATH: u8 = 4;
    /// `errno = "EACCES"` with readonly/protection: a refused write gets
    /// EACCES instead of EROFS.
    pub const DENY_EACCES: u8 = 8;
    /// `errno = "EPERM"`, likewise.
    pub const DENY_EPERM: u8 = 16;
}

/// Where a rule was written.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Origin {
    pub file: String,
    pub line: u32,
}

/// One rule.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rule {
    pub selector: Selector,
    pub action: Action,
    pub condition: Condition,
    /// 0 = any class.
    pub func_class: u32,
    pub binary_name: Option<Vec<u8>>,
    pub flags: u8,
    pub exec_policy_name: Option<Vec<u8>>,
    pub name: Option<Vec<u8>>,
    pub origin: Origin,
}

impl Rule {
    /// A rule with the given selector and action and nothing else.
    pub fn new(selector: Selector, action: Action) -> Rule {
        Rule {
            selector,
            action,
            condition: Condition::None,
            func_class: 0,
            binary_name: None,
            flags: 0,
            exec_policy_name: None,
            name: None,
            origin: Origin::default(),
        }
    }
}

/// One mapping mode of the session.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Mode {
    pub name: String,
    pub fs_rules: Vec<Rule>,
    /// `exec_policy_selection`: selectors on the mapped (host) path, each
    /// with an `exec_policy_name` (stored as `use_orig_path` rules).
    pub exec_selection: Vec<Rule>,
    pub exec_policies: Vec<ExecPolicy>,
    /// `enable_cross_gcc_toolchain`: the session's argvmods apply.
    pub toolchain: bool,
    /// `chroot_substitutes` (see [`ArgvMod::chroot_mode`]).
    pub chroot_substitutes: Vec<ArgvMod>,
    /// `chroot_mounts`: directories of the session's view visible inside
    /// any chroot, as `INSIDE\tOUTSIDE` lines (stored as the tree constant
    /// `chroot_mounts.MODE`, read only by chroot()).
    pub chroot_mounts: String,
}

/// An exec policy (Scratchbox2's `all_exec_policies` entry): how programs
/// of the host's machine selected for it are started.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ExecPolicy {
    pub name: Vec<u8>,
    /// `native_app_root`: the root whose libraries such programs load. When
    /// set (and not `/`), dynamic programs start through that root's ld.so.
    pub root: Vec<u8>,
    /// That root's dynamic loader (found by the compiler), empty if none.
    pub ld_so: Vec<u8>,
    /// Its library directories, `:`-separated, for `--library-path`.
    pub library_path: Vec<u8>,
    pub origin: Origin,
}

/// An argv rewrite (Scratchbox2's "argvmods", used for the toolchain): a
/// program found as `name` in one of `dirs` runs `new_filename` instead,
/// with `add_tail` appended to its arguments.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ArgvMod {
    pub name: Vec<u8>,
    /// Directories (virtual, no trailing `/`) the name must be found in.
    pub dirs: Vec<Vec<u8>>,
    pub new_filename: Vec<u8>,
    pub add_tail: Vec<Vec<u8>>,
    /// `host-gcc` and friends: run the host tool with mapping disabled.
    pub disable_mapping: bool,
    /// Applies in every mode (not only toolchain modes): `fakeroot`.
    pub every_mode: bool,
    /// A compiler launcher (ccache, distcc, icecc): the program is kept,
    /// and its first argument, when it names a program another rewrite
    /// applies to (`gcc`), becomes that rewrite's program and tail. The
    /// launcher hashes, ships or runs the compiler by that name, so it must
    /// see the cross compiler and its flags, not the generic name.
    pub launcher: bool,
    /// A chroot substitute of the mode with this index (the mode's
    /// `chroot_substitutes`): applies only to programs exec'd inside a
    /// chroot, where the session's other rewrites do not. An `@root` in
    /// `add_tail` is the chroot's host path; an empty `new_filename` keeps
    /// the program.
    pub chroot_mode: Option<u32>,
}

/// Everything a session's ruletree holds.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Session {
    /// The session's constants: `target_root`, `session_dir`, ...
    pub constants: Vec<(String, String)>,
    /// Modes; the first is the default.
    pub modes: Vec<Mode>,
    /// The session's argv rewrites (from the target's toolchain).
    pub argvmods: Vec<ArgvMod>,
    /// The `-n` network rules (none: no network checks).
    pub net: Option<crate::net::NetRules>,
}

/// Reverse rules for a mode (Scratchbox2's `create_reverse_rules.lua`): each
/// forward rule that can be inverted becomes a rule whose selector is the host
/// path and whose action replaces it by the virtual one. The pipeline checks
/// every reverse candidate by mapping it forward again, so a rule that does
/// not invert exactly is never trusted blindly.
pub fn reverse_rules(rules: &[Rule], target_root: &[u8]) -> Vec<Rule> {
    let mut out = Vec::new();
    rev_list(rules, &mut out);
    if target_root != b"/" && !target_root.is_empty() {
        let mut r = Rule::new(
            Selector::Dir(target_root.to_vec()),
            Action::ReplaceBy(b"/".to_vec()),
        );
        r.origin = Origin {
            file: "(target root)".into(),
            line: 0,
        };
        out.push(r);
    }
    out
}

fn join(prefix: &[u8], path: &[u8]) -> Vec<u8> {
    if prefix.is_empty() || prefix == b"/" {
        return path.to_vec();
    }
    let mut v = prefix.to_vec();
    if path != b"/" {
        v.extend_from_slice(path);
    }
    v
}

fn rev_list(rules: &[Rule], out: &mut Vec<Rule>) {
    for r in rules {
        rev_one(r, &r.selector, out);
    }
}

fn rev_one(r: &Rule, sel: &Selector, out: &mut Vec<Rule>) {
    if r.flags & flags::VIRTUAL_PATH != 0 {
        return;
    }
    type Kind = fn(Vec<u8>) -> Selector;
    let (kind, s): (Kind, &[u8]) = match sel {
        Selector::Path(s) => (Selector::Path, s),
        Selector::Prefix(s) => (Selector::Prefix, s),
        Selector::Dir(s) => (Selector::Dir, s),
        Selector::None => return,
    };
    let mut push = |host: Vec<u8>| {
        let mut rr = Rule::new(kind(host), Action::ReplaceBy(s.to_vec()));
        rr.origin = r.origin.clone();
        rr.name = r.name.clone();
        out.push(rr);
    };
    match &r.action {
        Action::UseOrigPath
        | Action::ForceOrigPath
        | Action::ForceOrigPathUnlessChroot
        | Action::ProcFs => push(s.to_vec()),
        Action::MapTo(p) | Action::IfExistsThenMapTo(p) => push(join(p, s)),
        Action::ReplaceBy(p) | Action::IfExistsThenReplaceBy(p) => push(p.clone()),
        Action::Rules(sub) => rev_list(sub, out),
        Action::Actions(cands) => {
            for c in cands {
                rev_one(c, sel, out);
            }
        }
        Action::IfExistsIn(_, then) => {
            for c in then {
                rev_one(c, sel, out);
            }
        }
        Action::SetPath(_)
        | Action::MapToValueOfEnvVar(_)
        | Action::ReplaceByValueOfEnvVar(_)
        | Action::UnionDir(_) => {}
    }
}
