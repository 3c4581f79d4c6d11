//! Rule selection: Scratchbox2's ordered first-match semantics with subtree
//! fall-through, indexed by path component.
//!
//! Each rule list carries a trie keyed by selector components. A lookup walks
//! the trie along the path once and considers only the rules anchored on that
//! walk, in rule order, so its cost grows with the path's depth, not with the
//! number of rules. Hot path: no allocation.

use crate::format::ACT_RULES;
use crate::format::{
    Budget, RuleList, RuleRef, TrieNode, MAX_DEPTH, SEL_DIR, SEL_PATH, SEL_PREFIX,
};

/// Who is asking: the filters of a rule are checked against this.
#[derive(Clone, Copy, Debug)]
pub struct Caller<'c> {
    /// The calling function's class bits (`crate::class`); 0 = unclassified.
    pub class: u32,
    /// The calling program's name (basename).
    pub binary_name: &'c [u8],
}

/// Does `sel` of `kind` select `path`?
#[inline]
#[link_section = ".text.hot.sb2"]
pub fn selector_matches(kind: u8, sel: &[u8], path: &[u8]) -> bool {
    match kind {
        SEL_PATH => path == sel,
        SEL_PREFIX => path.starts_with(sel),
        SEL_DIR => {
            sel == b"/"
                || (path.starts_with(sel)
                    && (path.len() == sel.len() || path.get(sel.len()) == Some(&b'/')))
        }
        _ => false,
    }
}

/// Do the rule's filters (`func_class`, `binary_name`) pass?
#[inline]
#[link_section = ".text.hot.sb2"]
pub fn filters_pass(r: &RuleRef, who: &Caller) -> bool {
    let fc = r.func_class();
    if fc != 0 && fc & who.class == 0 {
        return false;
    }
    match r.binary_name() {
        Some(b) => b == who.binary_name,
        None => true,
    }
}

/// The trie nodes on `path`'s walk, root first (offsets only: small and
/// cheap to set up on the stack).
struct Walk<'a, 'b> {
    list: RuleList<'a>,
    nodes: [u32; MAX_DEPTH + 1],
    n: usize,
    budget: &'b Budget,
}

impl<'a, 'b> Walk<'a, 'b> {
    #[link_section = ".text.hot.sb2"]
    fn new(list: &RuleList<'a>, path: &[u8], budget: &'b Budget) -> Walk<'a, 'b> {
        let mut w = Walk {
            list: *list,
            nodes: [0; MAX_DEPTH + 1],
            n: 0,
            budget,
        };
        if list.is_empty() {
            return w;
        }
        let mut node = list.trie_root();
        w.nodes[0] = node.off;
        w.n = 1;
        for comp in path.split(|c| *c == b'/').filter(|c| !c.is_empty()) {
            if w.n > MAX_DEPTH {
                break;
            }
            match node.child(comp) {
                Some(c) => {
                    node = c;
                    if let Some(slot) = w.nodes.get_mut(w.n) {
                        *slot = c.off;
                    }
                    w.n += 1;
                }
                None => break,
            }
        }
        w
    }
    /// Smallest anchored rule index greater than `after`.
    fn next(&self, after: Option<u32>) -> Option<u32> {
        self.nodes
            .iter()
            .take(self.n)
            .filter_map(|off| {
                TrieNode {
                    t: self.list.t,
                    off: *off,
                }
                .first_rule_after(after, self.budget)
            })
            .min()
    }
    /// First rule after `after` that selects `path` and whose filters pass.
    #[link_section = ".text.hot.sb2"]
    fn find_after(
        &self,
        path: &[u8],
        who: &Caller,
        after: Option<u32>,
    ) -> Option<(u32, RuleRef<'a>)> {
        let mut last = after;
        while let Some(i) = self.next(last).filter(|_| self.budget.spend()) {
            last = Some(i);
            let r = self.list.get(i)?;
            if selector_matches(r.selector_kind(), r.selector(), path) && filters_pass(&r, who) {
                return Some((i, r));
            }
        }
        None
    }
}

/// First rule in `list` whose selector matches `path` and whose filters pass,
/// after rule index `after`. Returns the index too, so callers can continue.
/// Subtrees are *not* entered here.
#[link_section = ".text.hot.sb2"]
pub fn find_after<'a>(
    list: &RuleList<'a>,
    path: &[u8],
    who: &Caller,
    after: Option<u32>,
) -> Option<(u32, RuleRef<'a>)> {
    Walk::new(list, path, &Budget::new()).find_after(path, who, after)
}

/// The deciding rule for `path`: first match, descending into `rules`
/// subtrees, falling through past a subtree in which nothing matched.
#[link_section = ".text.hot.sb2"]
pub fn find<'a>(list: &RuleList<'a>, path: &[u8], who: &Caller) -> Option<RuleRef<'a>> {
    let mut uniform = false;
    find_depth(list, path, who, 0, usize::MAX, &mut uniform, &Budget::new())
}

/// Like [`find`], and also says whether the answer holds for every entry
/// of `path`'s parent directory (`parent_depth` components deep).
///
/// It does when every trie walk of the search stopped above the parent:
/// then any sibling's walk visits the same nodes, so it has the same
/// candidates, and each candidate's selector depends only on components
/// the siblings share (a `path` or `dir` anchored at a visited node is at
/// most that deep; a partial `prefix` anchored at a visited node looks at
/// the one component below it, still inside the parent). Filters depend on
/// the caller, not the path.
#[link_section = ".text.hot.sb2"]
pub fn find_for_dir<'a>(
    list: &RuleList<'a>,
    path: &[u8],
    who: &Caller,
    parent_depth: usize,
) -> (Option<RuleRef<'a>>, bool) {
    let mut uniform = true;
    let r = find_depth(
        list,
        path,
        who,
        0,
        parent_depth,
        &mut uniform,
        &Budget::new(),
    );
    (r, uniform)
}

#[allow(clippy::too_many_arguments)]
#[link_section = ".text.hot.sb2"]
fn find_depth<'a>(
    list: &RuleList<'a>,
    path: &[u8],
    who: &Caller,
    depth: u32,
    parent_depth: usize,
    uniform: &mut bool,
    budget: &Budget,
) -> Option<RuleRef<'a>> {
    if depth > 16 {
        return None;
    }
    let walk = Walk::new(list, path, budget);
    if walk.n > parent_depth {
        // The walk reached the parent's own depth (n counts the root).
        *uniform = false;
    }
    let mut after = None;
    while let Some((i, r)) = walk.find_after(path, who, after) {
        if r.action_kind() != ACT_RULES {
            return Some(r);
        }
        let sub = r.sublist();
        if let Some(found) = find_depth(&sub, path, who, depth + 1, parent_depth, uniform, budget) {
            return Some(found);
        }
        after = Some(i);
    }
    None
}
