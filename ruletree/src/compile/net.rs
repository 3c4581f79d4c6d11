//! The `-n` rule file compiler:
//! runs a network rule file (docs/net-rules.md) with mlua and turns
//! `net_rules` and `name_rules` into [`crate::net::NetRules`], naming file
//! and line on every error, like the fs rule compiler whose loader it
//! shares.

use crate::compile::{err_at, load_file, lua_err, origin_of, CompileError, PRELUDE};
use crate::model::Origin;
use crate::net::*;
use mlua::{Table, Value};
use std::path::Path;

/// Compiles the network rule file `file`; `name` is the mode's name.
pub fn compile_net(name: &str, file: &Path) -> Result<NetRules, CompileError> {
    let lua = super::new_lua();
    super::record::install(&lua).map_err(|e| lua_err(file, e))?;
    lua.load(PRELUDE)
        .set_name("=sb2-prelude")
        .exec()
        .map_err(|e| lua_err(file, e))?;
    load_file(&lua, file)?;
    let g = lua.globals();
    let fname = file.display().to_string();
    let whole = |m: String| CompileError {
        file: fname.clone(),
        line: 0,
        message: m,
    };
    if let Ok(Some(v)) = g.get::<Option<String>>("net_rule_file_interface_version") {
        if v != "100" {
            return Err(whole(format!(
                "net_rule_file_interface_version is \"{v}\", expected \"100\""
            )));
        }
    }
    let cx = Cx {
        origins: g.get("__sb2_origins").map_err(|e| lua_err(file, e))?,
        file: fname.clone(),
    };
    let rules: Table = match g.get::<Value>("net_rules") {
        Ok(Value::Table(t)) => t,
        _ => {
            return Err(whole(
                "defines no net_rules = { ipv4_out = {...}, ... }".into(),
            ))
        }
    };
    let mut out = NetRules {
        name: name.to_string(),
        ..Default::default()
    };
    let o = cx.origin(&rules);
    for pair in rules.clone().pairs::<Value, Value>() {
        let (k, v) = pair.map_err(|e| cx.err(&o, e.to_string()))?;
        let key = match &k {
            Value::String(s) => s.to_string_lossy(),
            _ => return Err(cx.err(&o, "net_rules keys are chain names")),
        };
        let Some(i) = CHAIN_NAMES.iter().position(|c| *c == key) else {
            return Err(cx.err(
                &o,
                format!("unknown chain '{key}'; chains: {}", CHAIN_NAMES.join(", ")),
            ));
        };
        let Value::Table(t) = v else {
            return Err(cx.err(&o, format!("'{key}' must be a list of rules")));
        };
        let v6 = i >= 2;
        if let Some(slot) = out.chains.get_mut(i) {
            *slot = Some(cx.chain(&t, v6)?);
        }
    }
    out.names = match g.get::<Value>("name_rules") {
        Ok(Value::Table(t)) => Some(cx.names(&t)?),
        Ok(Value::Nil) => None,
        _ => return Err(whole("name_rules must be a list of rules".into())),
    };
    Ok(out)
}

struct Cx {
    origins: Table,
    file: String,
}

const RULE_KEYS: &[&str] = &[
    "allow",
    "deny",
    "rules",
    "address",
    "port",
    "func_name",
    "binary_name",
    "new_address",
    "new_port",
    "errno",
    "log_level",
    "log_msg",
];

impl Cx {
    fn origin(&self, t: &Table) -> Origin {
        origin_of(&self.origins, t, &self.file)
    }

    fn err(&self, o: &Origin, msg: impl Into<String>) -> CompileError {
        err_at(o, msg)
    }

    fn chain(&self, t: &Table, v6: bool) -> Result<Vec<NetRule>, CompileError> {
        let o = self.origin(t);
        let mut out = Vec::new();
        for v in t.clone().sequence_values::<Value>() {
            match v {
                Ok(Value::Table(r)) => out.push(self.rule(&r, v6)?),
                Ok(other) => {
                    return Err(self.err(
                        &o,
                        format!(
                            "a rule chain holds a {}, expected rule tables",
                            other.type_name()
                        ),
                    ))
                }
                Err(e) => return Err(self.err(&o, e.to_string())),
            }
        }
        Ok(out)
    }

    fn rule(&self, t: &Table, v6: bool) -> Result<NetRule, CompileError> {
        let o = self.origin(t);
        for pair in t.clone().pairs::<Value, Value>() {
            let (k, _) = pair.map_err(|e| self.err(&o, e.to_string()))?;
            let key = match &k {
                Value::String(s) => s.to_string_lossy(),
                _ => return Err(self.err(&o, "a rule's keys are field names")),
            };
            if !RULE_KEYS.contains(&key.as_str()) {
                return Err(self.err(
                    &o,
                    format!("unknown field '{key}'; fields: {}", RULE_KEYS.join(", ")),
                ));
            }
        }
        let get = |k: &str| t.get::<Value>(k).unwrap_or(Value::Nil);
        let set = |k: &str| !matches!(get(k), Value::Nil | Value::Boolean(false));
        let kinds = [
            set("allow"),
            set("deny"),
            !matches!(get("rules"), Value::Nil),
        ];
        let kind = match kinds {
            [true, false, false] => Kind::Allow,
            [false, true, false] => Kind::Deny,
            [false, false, true] => Kind::Rules,
            _ => {
                return Err(self.err(
                    &o,
                    "a rule needs exactly one of allow = true, deny = true, rules = {...}",
                ))
            }
        };
        let text = |k: &str| -> Result<Option<String>, CompileError> {
            match get(k) {
                Value::Nil => Ok(None),
                Value::String(s) => Ok(Some(s.to_string_lossy())),
                other => Err(self.err(
                    &o,
                    format!("'{k}' must be a string, not a {}", other.type_name()),
                )),
            }
        };
        let port = |k: &str| -> Result<Option<u16>, CompileError> {
            match get(k) {
                Value::Nil => Ok(None),
                Value::Integer(n) if (0..=65535).contains(&n) => Ok(Some(n as u16)),
                Value::Number(n) if n.fract() == 0.0 && (0.0..=65535.0).contains(&n) => {
                    Ok(Some(n as u16))
                }
                other => Err(self.err(&o, format!("'{k}' must be a port number, got {other:?}"))),
            }
        };
        let addr = match text("address")? {
            None => None,
            Some(a) => Some(self.addr(&o, &a, v6)?),
        };
        let new_addr = match text("new_address")? {
            None => None,
            Some(a) => {
                let m = self.addr(&o, &a, v6)?;
                if m.wildcard || m.prefix != if v6 { 128 } else { 32 } {
                    return Err(self.err(&o, format!("new_address '{a}' must be one address")));
                }
                Some(m.bytes)
            }
        };
        let funcs = match text("func_name")? {
            None => 0,
            Some(f) => match func::NAMES.iter().find(|(n, _)| *n == f) {
                Some((_, b)) => *b,
                None => {
                    let names: Vec<&str> = func::NAMES.iter().map(|(n, _)| *n).collect();
                    return Err(self.err(
                        &o,
                        format!("unknown func_name '{f}'; functions: {}", names.join(", ")),
                    ));
                }
            },
        };
        let errno = match text("errno")? {
            None => 0,
            Some(e) => {
                match crate::contract::errno_value(&e).filter(|_| ERRNOS.contains(&e.as_str())) {
                    Some(v) => v,
                    None => {
                        return Err(self.err(
                            &o,
                            format!("unknown errno '{e}'; errnos: {}", ERRNOS.join(", ")),
                        ));
                    }
                }
            }
        };
        if errno != 0 && kind != Kind::Deny {
            return Err(self.err(&o, "errno goes with deny = true"));
        }
        let sub = match get("rules") {
            Value::Table(s) => self.chain(&s, v6)?,
            Value::Nil => Vec::new(),
            _ => return Err(self.err(&o, "'rules' must be a list of rules")),
        };
        Ok(NetRule {
            kind,
            addr,
            port: port("port")?,
            funcs,
            binary: text("binary_name")?.map(String::into_bytes),
            new_addr,
            new_port: port("new_port")?,
            errno,
            sub,
            origin: o,
        })
    }

    fn addr(&self, o: &Origin, a: &str, v6: bool) -> Result<AddrMatch, CompileError> {
        let wild = |bytes| AddrMatch {
            bytes,
            prefix: 0,
            wildcard: true,
        };
        match (a, v6) {
            ("INADDR_ANY", false) => return Ok(wild([0; 16])),
            ("IN6ADDR_ANY", true) => return Ok(wild([0; 16])),
            ("INADDR_ANY", true) | ("IN6ADDR_ANY", false) => {
                return Err(self.err(o, format!("'{a}' does not belong in this chain")))
            }
            _ => {}
        }
        let (ip, bits) = match a.split_once('/') {
            Some((ip, b)) => (ip, Some(b)),
            None => (ip_only(a), None),
        };
        let bad = || {
            self.err(
                o,
                format!(
                    "bad address '{a}' for an {} chain",
                    if v6 { "ipv6" } else { "ipv4" }
                ),
            )
        };
        let mut bytes = [0u8; 16];
        let max = if v6 {
            let x: std::net::Ipv6Addr = ip.parse().map_err(|_| bad())?;
            bytes = x.octets();
            128
        } else {
            let x: std::net::Ipv4Addr = ip.parse().map_err(|_| bad())?;
            bytes[..4].copy_from_slice(&x.octets());
            32
        };
        let prefix = match bits {
            None => max,
            Some(b) => match b.parse::<u8>() {
                Ok(n) if n <= max => n,
                _ => return Err(bad()),
            },
        };
        Ok(AddrMatch {
            bytes,
            prefix,
            wildcard: false,
        })
    }

    fn names(&self, t: &Table) -> Result<Vec<NameRule>, CompileError> {
        let mut out = Vec::new();
        let lo = self.origin(t);
        for v in t.clone().sequence_values::<Value>() {
            let r = match v {
                Ok(Value::Table(r)) => r,
                _ => return Err(self.err(&lo, "name_rules holds rule tables")),
            };
            let o = self.origin(&r);
            let get = |k: &str| r.get::<Value>(k).unwrap_or(Value::Nil);
            for pair in r.clone().pairs::<Value, Value>() {
                let (k, _) = pair.map_err(|e| self.err(&o, e.to_string()))?;
                let key = match &k {
                    Value::String(s) => s.to_string_lossy(),
                    _ => String::new(),
                };
                if !["allow", "deny", "name", "name_suffix"].contains(&key.as_str()) {
                    return Err(self.err(
                        &o,
                        format!("unknown field '{key}'; fields: allow, deny, name, name_suffix"),
                    ));
                }
            }
            let on = |k: &str| !matches!(get(k), Value::Nil | Value::Boolean(false));
            let allow = match (on("allow"), on("deny")) {
                (true, false) => true,
                (false, true) => false,
                _ => {
                    return Err(self.err(
                        &o,
                        "a name rule needs exactly one of allow = true, deny = true",
                    ))
                }
            };
            // "example.org." means "example.org" (lookups are trimmed too).
            let s = |k: &str| match get(k) {
                Value::String(s) => {
                    let b = s.as_bytes().to_vec();
                    Some(b.strip_suffix(b".").map(<[u8]>::to_vec).unwrap_or(b))
                }
                _ => None,
            };
            let what = match (s("name"), s("name_suffix")) {
                (Some(n), None) => NameMatch::Exact(n),
                (None, Some(n)) => NameMatch::Suffix(n),
                (None, None) => NameMatch::Any,
                _ => return Err(self.err(&o, "use name or name_suffix, not both")),
            };
            out.push(NameRule {
                allow,
                what,
                origin: o,
            });
        }
        Ok(out)
    }
}

/// "::1" and "127.0.0.1" as given (IPv6 in brackets is accepted too).
fn ip_only(a: &str) -> &str {
    a.strip_prefix('[')
        .and_then(|x| x.strip_suffix(']'))
        .unwrap_or(a)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::{write, Tree};
    use crate::model::Session;

    fn tree_of(mode: &str) -> Vec<u8> {
        let f = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../rules/net")
            .join(format!("{mode}.lua"));
        let net = compile_net(mode, &f).expect("shipped rules compile");
        write(&Session {
            net: Some(net),
            ..Session::default()
        })
        .expect("write")
    }

    fn v4(a: [u8; 4]) -> [u8; 16] {
        let mut b = [0u8; 16];
        b[..4].copy_from_slice(&a);
        b
    }

    fn ask(t: &Tree, func: u32, chain: Chain, addr: [u8; 16], port: u16) -> Verdict {
        let net = Net::of(*t).expect("net section");
        let call = Call {
            func,
            chain,
            addr,
            port,
            binary: b"probe",
        };
        decide(&net, &call).0
    }

    #[test]
    fn localhost_mode_allows_loopback_and_rewrites_the_wildcard() {
        let bytes = tree_of("localhost");
        let t = Tree::new(&bytes).unwrap();
        let allow = Verdict::Allow {
            addr: None,
            port: None,
        };
        assert_eq!(
            ask(&t, func::CONNECT, Chain::Ipv4Out, v4([127, 0, 0, 5]), 80),
            allow
        );
        assert_eq!(
            ask(&t, func::CONNECT, Chain::Ipv4Out, v4([10, 0, 0, 1]), 80),
            Verdict::Deny(libc::EPERM)
        );
        assert_eq!(
            ask(&t, func::BIND, Chain::Ipv4In, v4([0; 4]), 0),
            Verdict::Allow {
                addr: Some(v4([127, 0, 0, 1])),
                port: None
            }
        );
        assert_eq!(
            ask(&t, func::BIND, Chain::Ipv4In, v4([10, 0, 0, 1]), 0),
            Verdict::Deny(libc::EADDRNOTAVAIL)
        );
        let mut one = [0u8; 16];
        one[15] = 1;
        assert_eq!(ask(&t, func::CONNECT, Chain::Ipv6Out, one, 80), allow);
        let net = Net::of(t).unwrap();
        assert_eq!(net.name(), b"localhost");
        assert!(decide_name(&net, b"LOCALHOST.").unwrap().0);
        assert!(!decide_name(&net, b"example.org").unwrap().0);
        assert!(decide_name(&net, b"a.localhost").unwrap().0);
    }

    #[test]
    fn offline_denies_everything_and_online_nothing() {
        let bytes = tree_of("offline");
        let t = Tree::new(&bytes).unwrap();
        assert_eq!(
            ask(&t, func::SENDTO, Chain::Ipv4Out, v4([127, 0, 0, 1]), 53),
            Verdict::Deny(libc::EPERM)
        );
        assert_eq!(
            ask(&t, func::BIND, Chain::Ipv6In, [0; 16], 0),
            Verdict::Deny(libc::EADDRNOTAVAIL)
        );
        assert!(!decide_name(&Net::of(t).unwrap(), b"localhost").unwrap().0);
        let bytes = tree_of("online");
        let t = Tree::new(&bytes).unwrap();
        assert!(matches!(
            ask(&t, func::CONNECT, Chain::Ipv4Out, v4([8, 8, 8, 8]), 53),
            Verdict::Allow { .. }
        ));
        assert!(decide_name(&Net::of(t).unwrap(), b"example.org").is_none());
        assert!(Net::of(t).unwrap().allows_all());
        let bytes = tree_of("localhost");
        assert!(!Net::of(Tree::new(&bytes).unwrap()).unwrap().allows_all());
    }

    #[test]
    fn a_bad_rule_names_file_and_line() {
        let dir = std::env::temp_dir().join(format!("sb2-net-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let f = dir.join("bad.lua");
        std::fs::write(
            &f,
            "net_rules = {\n  ipv4_out = {\n    { allow = true },\n    { deny = true, errno = \"EBOGUS\" },\n  },\n}\n",
        )
        .unwrap();
        let e = compile_net("bad", &f).unwrap_err();
        assert_eq!(e.line, 4, "{e}");
        assert!(e.message.contains("EBOGUS"), "{e}");
        std::fs::write(&f, "net_rules = { ipv5_out = {} }\n").unwrap();
        let e = compile_net("bad", &f).unwrap_err();
        assert!(e.message.contains("ipv5_out"), "{e}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
