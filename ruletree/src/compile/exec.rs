//! Exec rules (`exec_rules.lua`, run in the mode's Lua state after its fs
//! rules): `exec_policies`, `exec_policy_selection` and
//! `enable_cross_gcc_toolchain`, into the mode's [`Mode`].

use super::fs::{Conv, Level};
use super::record::root_loader;
use super::CompileError;
use crate::model::*;
use mlua::{Table, Value};

impl Conv {
    /// `exec_policies`, `exec_policy_selection`, `enable_cross_gcc_toolchain`.
    pub(super) fn exec_rules(&self, g: &Table, m: &mut Mode) -> Result<(), CompileError> {
        m.toolchain = matches!(
            g.get::<Value>("enable_cross_gcc_toolchain"),
            Ok(Value::Boolean(true))
        );
        if let Ok(Value::Table(pols)) = g.get::<Value>("exec_policies") {
            // The list's own line, for an entry that is not a table.
            let lo = self.origin(&pols);
            for v in pols.sequence_values::<Value>() {
                let Ok(Value::Table(t)) = v else {
                    return Err(self.err(&lo, "exec_policies holds a non-table"));
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
            let lo = self.origin(&sel);
            for v in sel.sequence_values::<Value>() {
                let Ok(Value::Table(t)) = v else {
                    return Err(self.err(&lo, "exec_policy_selection holds a non-table"));
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
}
