//! Stages 3 and 4 of the pipeline: pick the deciding rule for a clean
//! virtual path and apply its action (map_to, replace_by, union dirs,
//! conditional `actions` lists...) into the caller's buffer, with the
//! rule's write protection. Hot path: no allocation, no panic.

use super::*;
use crate::format::*;
use crate::lookup::{self, Caller};
use crate::model::flags;

/// [`map_clean`] for the final path of a request, with the host's cache
/// of rule selections per parent directory ([`Host::rule_cached`]): the
/// trie walk and the candidate scan are skipped when a sibling already
/// showed that one rule decides the whole directory.
#[link_section = ".text.hot.sb2"]
pub(super) fn map_final<'a, H: Host>(
    ctx: &Ctx<'a>,
    host: &H,
    vpath: &[u8],
    class: u32,
    want_union: bool,
    out: &mut PathBuf,
) -> Result<Mapped<'a>, Errno> {
    let cut = vpath.iter().rposition(|c| *c == b'/').unwrap_or(0);
    let parent = vpath.get(..cut).unwrap_or(&[]);
    let key = dir_key(class ^ 0x5b2_0000, parent);
    let rule = match host.rule_cached(key) {
        Some(0) => None,
        Some(off) => Some(ctx.tree.rule_at(off)),
        None => {
            let who = Caller {
                class,
                binary_name: ctx.binary_name,
            };
            let depth = parent
                .split(|c| *c == b'/')
                .filter(|c| !c.is_empty())
                .count();
            let (r, uniform) = lookup::find_for_dir(&ctx.mode.fs_rules(), vpath, &who, depth);
            if uniform {
                host.rule_remember(key, r.map_or(0, |r| r.id()));
            }
            r
        }
    };
    map_with(ctx, host, rule, vpath, want_union, out)
}

/// Maps an already clean, resolved virtual path (no symlink resolution).
#[link_section = ".text.hot.sb2"]
pub fn map_clean<'a, H: Host>(
    ctx: &Ctx<'a>,
    host: &H,
    vpath: &[u8],
    class: u32,
    want_union: bool,
    out: &mut PathBuf,
) -> Result<Mapped<'a>, Errno> {
    let who = Caller {
        class,
        binary_name: ctx.binary_name,
    };
    let rule = lookup::find(&ctx.mode.fs_rules(), vpath, &who);
    map_with(ctx, host, rule, vpath, want_union, out)
}

/// Applies the deciding rule (None: the path is unmapped).
fn map_with<'a, H: Host>(
    ctx: &Ctx<'a>,
    host: &H,
    rule: Option<RuleRef<'a>>,
    vpath: &[u8],
    want_union: bool,
    out: &mut PathBuf,
) -> Result<Mapped<'a>, Errno> {
    let Some(rule) = rule else {
        out.set(vpath)?;
        return Ok(Mapped::UNMAPPED);
    };
    let budget = Budget::new();
    match apply(ctx, host, rule, rule, vpath, want_union, 0, &budget, out)? {
        Step::Done(m) => Ok(m),
        Step::Next => Err(Errno::ENOENT),
    }
}

/// A rule's write protection (flags `fl`, its own and its parents'):
/// read-only, and the errno a refused write gets.
fn protect(ctx: &Ctx, fl: u8, m: &mut Mapped) {
    m.readonly =
        fl & flags::READONLY != 0 || (fl & flags::READONLY_IF_NOT_ROOT != 0 && !ctx.is_root);
    m.deny_errno = if fl & flags::DENY_EACCES != 0 {
        Errno::EACCES
    } else if fl & flags::DENY_EPERM != 0 {
        Errno(libc::EPERM)
    } else {
        Errno::EROFS
    };
}

/// What applying one rule gave.
enum Step<'a> {
    /// The host path is in `out`.
    Done(Mapped<'a>),
    /// An `if_exists_in` whose directory does not exist, or none of whose
    /// candidates applied: the enclosing `actions` list tries its next
    /// candidate.
    Next,
}

#[allow(clippy::too_many_arguments)]
#[link_section = ".text.hot.sb2"]
fn apply<'a, H: Host>(
    ctx: &Ctx<'a>,
    host: &H,
    top: RuleRef<'a>,
    r: RuleRef<'a>,
    vpath: &[u8],
    want_union: bool,
    depth: u32,
    budget: &Budget,
    out: &mut PathBuf,
) -> Result<Step<'a>, Errno> {
    let fl = top.flags() | r.flags();
    let mut m = Mapped {
        rule: Some(top),
        readonly: false,
        deny_errno: Errno::EROFS,
        kind: MapKind::Normal,
        exec_policy: r.exec_policy_name().or(top.exec_policy_name()),
        rel: 0,
    };
    protect(ctx, fl, &mut m);
    let sel_len = top.selector().len().min(vpath.len());
    let rest = vpath.get(sel_len..).unwrap_or(&[]);
    match r.action_kind() {
        ACT_USE_ORIG | ACT_FORCE_ORIG | ACT_FORCE_ORIG_UNLESS_CHROOT => out.set(vpath)?,
        ACT_PROCFS => {
            out.set(vpath)?;
            m.kind = MapKind::ProcFs;
        }
        ACT_MAP_TO => map_to(r.action_str(), vpath, out)?,
        ACT_REPLACE_BY => replace_by(r.action_str(), rest, out)?,
        ACT_SET_PATH => out.set(r.action_str())?,
        ACT_MAP_TO_ENV | ACT_REPLACE_BY_ENV => env_action(host, &r, vpath, rest, out)?,
        ACT_UNION_DIR => {
            if want_union {
                let sd = ctx
                    .tree
                    .constant(crate::contract::key::SESSION_DIR.as_bytes())
                    .unwrap_or(b"/tmp");
                out.set(sd)?;
                out.push(b"/")?;
                out.push(crate::contract::UNION_DIR.as_bytes())?;
                out.push(vpath)?;
                m.kind = MapKind::Union;
            } else {
                // Outside a listing, the directory is its first component.
                let first = r.union_dirs().next().unwrap_or(vpath);
                out.set(first)?;
                out.push(rest)?;
            }
        }
        ACT_ACTIONS | ACT_IF_EXISTS_IN => {
            if depth > 8 {
                return Err(Errno::ELOOP);
            }
            if r.action_kind() == ACT_IF_EXISTS_IN {
                map_to(r.action_str(), vpath, out)?;
                if !host.exists(out.with_nul()) {
                    return Ok(Step::Next);
                }
            }
            for c in r.sublist().iter() {
                // Damaged lists that nest into themselves end here.
                if !budget.spend() {
                    return Err(Errno::ELOOP);
                }
                if !condition_holds(ctx, host, &c) {
                    continue;
                }
                match c.action_kind() {
                    ACT_IF_EXISTS_MAP_TO => {
                        map_to(c.action_str(), vpath, out)?;
                        if !host.exists(out.with_nul()) {
                            continue;
                        }
                        protect(ctx, fl | c.flags(), &mut m);
                        return Ok(Step::Done(m));
                    }
                    ACT_IF_EXISTS_REPLACE_BY => {
                        replace_by(c.action_str(), rest, out)?;
                        if !host.exists(out.with_nul()) {
                            continue;
                        }
                        protect(ctx, fl | c.flags(), &mut m);
                        return Ok(Step::Done(m));
                    }
                    _ => match apply(ctx, host, top, c, vpath, want_union, depth + 1, budget, out)?
                    {
                        Step::Next => continue,
                        Step::Done(mut mm) => {
                            if !mm.readonly {
                                protect(ctx, fl | c.flags(), &mut mm);
                            }
                            return Ok(Step::Done(mm));
                        }
                    },
                }
            }
            if r.action_kind() == ACT_IF_EXISTS_IN {
                return Ok(Step::Next);
            }
            // Scratchbox2: "End of conditional action list" is an error.
            return Err(Errno::ENOENT);
        }
        _ => out.set(vpath)?,
    }
    Ok(Step::Done(m))
}

#[inline(never)] // cold, and keeps its buffer out of the hot frame
#[link_section = ".text.hot.sb2"]
fn condition_holds<H: Host>(ctx: &Ctx, host: &H, c: &RuleRef) -> bool {
    let s = c.condition_str();
    match c.condition_kind() {
        COND_NONE => true,
        COND_EXEC_POLICY => ctx.exec_policy == s,
        COND_REDIRECT_IGNORE | COND_REDIRECT_FORCE => {
            let var: &[u8] = if c.condition_kind() == COND_REDIRECT_IGNORE {
                b"SBOX_REDIRECT_IGNORE"
            } else {
                b"SBOX_REDIRECT_FORCE"
            };
            let mut v = PathBuf::new();
            host.getenv(var, &mut v) && v.as_bytes().split(|c| *c == b':').any(|p| p == s)
        }
        COND_ENV_NOT_EMPTY | COND_ENV_EMPTY => {
            let mut v = PathBuf::new();
            let set = host.getenv(s, &mut v) && !v.is_empty();
            set == (c.condition_kind() == COND_ENV_NOT_EMPTY)
        }
        _ => false,
    }
}

/// `map_to P`: P glued in front of the whole path ("/" or "" = unchanged).
/// `map_to_value_of_env_var` / `replace_by_value_of_env_var` (unset:
/// unchanged).
#[inline(never)]
#[link_section = ".text.hot.sb2"]
fn env_action<H: Host>(
    host: &H,
    r: &RuleRef,
    vpath: &[u8],
    rest: &[u8],
    out: &mut PathBuf,
) -> Result<(), Errno> {
    let mut val = PathBuf::new();
    if !host.getenv(r.action_str(), &mut val) {
        out.set(vpath)
    } else if r.action_kind() == ACT_MAP_TO_ENV {
        map_to(val.as_bytes(), vpath, out)
    } else {
        replace_by(val.as_bytes(), rest, out)
    }
}

#[link_section = ".text.hot.sb2"]
fn map_to(p: &[u8], vpath: &[u8], out: &mut PathBuf) -> Result<(), Errno> {
    if p.is_empty() || p == b"/" {
        return out.set(vpath);
    }
    out.set(p.strip_suffix(b"/").unwrap_or(p))?;
    if vpath != b"/" {
        out.push(vpath)?;
    }
    Ok(())
}

/// `replace_by R`: R in place of the selected part.
pub(super) fn replace_by(r: &[u8], rest: &[u8], out: &mut PathBuf) -> Result<(), Errno> {
    out.set(r)?;
    if r.ends_with(b"/") && rest.first() == Some(&b'/') {
        out.push(rest.get(1..).unwrap_or(&[]))?;
    } else {
        out.push(rest)?;
    }
    if out.is_empty() {
        out.push(b"/")?;
    }
    Ok(())
}
