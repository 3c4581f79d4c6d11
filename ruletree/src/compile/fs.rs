//! Fs rule tables to [`crate::model::Rule`]: every key Scratchbox2's rule
//! files use, checked (one selector, one action, conditions only where
//! they can apply), each error naming the rule's file and line.

use super::{err_at, origin_of, CompileError};
use crate::model::*;
use mlua::{Table, Value};

#[derive(Clone, Copy, PartialEq)]
pub(super) enum Level {
    Top,
    Candidate,
}

pub(super) struct Conv {
    pub(super) origins: Table,
    pub(super) procfs: Table,
    pub(super) default_file: String,
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
    pub(super) fn origin(&self, t: &Table) -> Origin {
        origin_of(&self.origins, t, &self.default_file)
    }

    pub(super) fn err(&self, o: &Origin, msg: impl Into<String>) -> CompileError {
        err_at(o, msg)
    }

    pub(super) fn list(&self, t: &Table, level: Level) -> Result<Vec<Rule>, CompileError> {
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

    pub(super) fn string(&self, o: &Origin, key: &str, v: Value) -> Result<Vec<u8>, CompileError> {
        match v {
            Value::String(s) => Ok(s.as_bytes().to_vec()),
            Value::Nil => Err(self.err(o, format!("'{key}' is nil (an undefined variable?)"))),
            other => Err(self.err(
                o,
                format!("'{key}' must be a string, not a {}", other.type_name()),
            )),
        }
    }

    pub(super) fn abs(&self, o: &Origin, key: &str, v: Value) -> Result<Vec<u8>, CompileError> {
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

    pub(super) fn rule(&self, t: &Table, level: Level) -> Result<Option<Rule>, CompileError> {
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
