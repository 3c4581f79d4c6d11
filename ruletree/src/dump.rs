//! Text dump of a ruletree (`sb2-show ruletree`): the constants, then every
//! mode's forward and reverse rules, nested as written, each with its origin.

use crate::format::*;
use std::fmt::Write;

/// A stored string as text; a damaged tree's "string" can be the whole
/// file, so at most a path's length of it is shown.
fn s(b: &[u8]) -> String {
    let max = crate::PATH_MAX;
    match b.get(..max) {
        Some(head) if b.len() > max => format!("{}...", String::from_utf8_lossy(head)),
        _ => String::from_utf8_lossy(b).into_owned(),
    }
}

/// One line describing a rule (selector, filters, action, attributes, origin).
pub fn describe_rule(r: &RuleRef) -> String {
    let mut o = String::new();
    let sel = match r.selector_kind() {
        SEL_PATH => format!("path {}", s(r.selector())),
        SEL_PREFIX => format!("prefix {}", s(r.selector())),
        SEL_DIR => format!("dir {}", s(r.selector())),
        _ => "(candidate)".into(),
    };
    o.push_str(&sel);
    if r.func_class() != 0 {
        let mut c = String::new();
        crate::class::describe(r.func_class(), &mut c);
        let _ = write!(o, " func_class={c}");
    }
    if let Some(b) = r.binary_name() {
        let _ = write!(o, " binary_name={}", s(b));
    }
    let cond = r.condition_str();
    match r.condition_kind() {
        COND_EXEC_POLICY => {
            let _ = write!(o, " if_active_exec_policy_is={}", s(cond));
        }
        COND_REDIRECT_IGNORE => {
            let _ = write!(o, " if_redirect_ignore_is_active={}", s(cond));
        }
        COND_REDIRECT_FORCE => {
            let _ = write!(o, " if_redirect_force_is_active={}", s(cond));
        }
        COND_ENV_NOT_EMPTY => {
            let _ = write!(o, " if_env_var_is_not_empty={}", s(cond));
        }
        COND_ENV_EMPTY => {
            let _ = write!(o, " if_env_var_is_empty={}", s(cond));
        }
        _ => {}
    }
    let a = s(r.action_str());
    let act = match r.action_kind() {
        ACT_USE_ORIG => "use_orig_path".to_string(),
        ACT_FORCE_ORIG => "force_orig_path".into(),
        ACT_FORCE_ORIG_UNLESS_CHROOT => "force_orig_path_unless_chroot".into(),
        ACT_MAP_TO => format!("map_to {a}"),
        ACT_REPLACE_BY => format!("replace_by {a}"),
        ACT_SET_PATH => format!("set_path {a}"),
        ACT_MAP_TO_ENV => format!("map_to_value_of_env_var {a}"),
        ACT_REPLACE_BY_ENV => format!("replace_by_value_of_env_var {a}"),
        ACT_UNION_DIR => format!(
            "union_dir {}",
            r.union_dirs().map(s).collect::<Vec<_>>().join(" ")
        ),
        ACT_PROCFS => "custom_map_funct sb2_procfs_mapper".into(),
        ACT_RULES => "rules".into(),
        ACT_ACTIONS => "actions".into(),
        ACT_IF_EXISTS_MAP_TO => format!("if_exists_then_map_to {a}"),
        ACT_IF_EXISTS_REPLACE_BY => format!("if_exists_then_replace_by {a}"),
        ACT_IF_EXISTS_IN => format!("if_exists_in {a} then_actions"),
        _ => "?".into(),
    };
    let _ = write!(o, " => {act}");
    let f = r.flags();
    if f & crate::model::flags::READONLY != 0 {
        o.push_str(" readonly");
    }
    if f & crate::model::flags::READONLY_IF_NOT_ROOT != 0 {
        o.push_str(" protection=readonly_fs_if_not_root");
    }
    if f & crate::model::flags::VIRTUAL_PATH != 0 {
        o.push_str(" virtual_path");
    }
    if f & crate::model::flags::DENY_EACCES != 0 {
        o.push_str(" errno=EACCES");
    }
    if f & crate::model::flags::DENY_EPERM != 0 {
        o.push_str(" errno=EPERM");
    }
    if let Some(p) = r.exec_policy_name() {
        let _ = write!(o, " exec_policy_name={}", s(p));
    }
    if let Some(n) = r.name() {
        let _ = write!(o, " name=\"{}\"", s(n));
    }
    let _ = write!(o, "   [{}:{}]", s(r.file()), r.line());
    o
}

/// Deepest nesting shown, and most rules listed in all: a tree this sb2
/// wrote stays far below both; a damaged one whose lists nest into
/// themselves would otherwise recurse until the stack overflows, or list
/// exponentially many lines.
const MAX_NESTING: usize = 16;
const MAX_LINES: usize = 1 << 14;
/// Most bytes of rule lines in all (far above any real tree's dump).
const MAX_TEXT: usize = 16 << 20;

fn list(out: &mut String, l: &RuleList, depth: usize, lines: &mut usize) {
    let indent = 4 + 6 * depth;
    if depth > MAX_NESTING {
        let _ = writeln!(out, "{:indent$}(nested too deep: damaged tree?)", "");
        return;
    }
    for (i, r) in l.iter().enumerate() {
        if *lines >= MAX_LINES || out.len() >= MAX_TEXT {
            let _ = writeln!(out, "{:indent$}(too many rules: damaged tree?)", "");
            return;
        }
        *lines += 1;
        let _ = writeln!(
            out,
            "{:indent$}{i:>3}. {}",
            "",
            describe_rule(&r),
            indent = indent
        );
        if matches!(r.action_kind(), ACT_RULES | ACT_ACTIONS | ACT_IF_EXISTS_IN) {
            list(out, &r.sublist(), depth + 1, lines);
        }
    }
}

/// The whole tree as text.
pub fn dump(t: &Tree) -> String {
    let mut out = String::new();
    let mut lines = 0;
    let _ = writeln!(out, "ruletree format {VERSION}, {} bytes", t.len());
    let _ = writeln!(out, "constants:");
    for (k, v) in t.constants().take(MAX_LINES) {
        let _ = writeln!(out, "  {} = {}", s(k), s(v));
    }
    for i in 0..t.n_modes() {
        let Some(m) = t.mode(i) else { continue };
        let _ = writeln!(
            out,
            "mode {}{}:",
            s(m.name()),
            if i == 0 { " (default)" } else { "" }
        );
        let _ = writeln!(out, "  fs rules:");
        list(&mut out, &m.fs_rules(), 0, &mut lines);
        let _ = writeln!(out, "  reverse rules:");
        list(&mut out, &m.rev_rules(), 0, &mut lines);
    }
    out
}
