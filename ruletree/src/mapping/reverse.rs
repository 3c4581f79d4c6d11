//! Host path → virtual path, for the calls that report paths back
//! (getcwd, realpath, `/proc/self/...` links). Hot path: no allocation,
//! no panic.

use super::apply::{map_clean, replace_by};
use super::*;
use crate::lookup::{self, Caller};

/// Host path → virtual path (getcwd, realpath, `/proc/self/{exe,cwd,fd/N}`).
///
/// Every reverse rule whose host selector matches is a candidate; a
/// candidate counts only if mapping its result forward gives `hpath` back,
/// and the one with the longest host selector wins. No candidate: the host
/// path is returned as is.
#[inline(never)] // keeps its two buffers out of callers' frames
pub fn reverse<H: Host>(
    ctx: &Ctx,
    host: &H,
    hpath: &[u8],
    class: u32,
    out: &mut PathBuf,
) -> Result<(), Errno> {
    let rev = ctx.mode.rev_rules();
    let who = Caller {
        class: u32::MAX,
        binary_name: ctx.binary_name,
    };
    let mut best_len: Option<usize> = None;
    let mut after = None;
    let mut cand = PathBuf::new();
    let mut fwd = PathBuf::new();
    while let Some((i, r)) = lookup::find_after(&rev, hpath, &who, after) {
        after = Some(i);
        let sel = r.selector();
        if best_len.is_some_and(|b| b >= sel.len()) {
            continue;
        }
        replace_by(
            r.action_str(),
            hpath.get(sel.len()..).unwrap_or(&[]),
            &mut cand,
        )?;
        if map_clean(ctx, host, cand.as_bytes(), class, false, &mut fwd).is_ok()
            && same_path(fwd.as_bytes(), hpath)
        {
            out.set(cand.as_bytes())?;
            best_len = Some(sel.len());
        }
    }
    if best_len.is_none() {
        out.set(hpath)?;
    }
    Ok(())
}

fn same_path(a: &[u8], b: &[u8]) -> bool {
    let trim = |p: &[u8]| -> usize {
        let mut n = p.len();
        while n > 1 && p.get(n - 1) == Some(&b'/') {
            n -= 1;
        }
        n
    };
    a.get(..trim(a)) == b.get(..trim(b))
}
