//! The report's `packages:` section: which Debian package each input came
//! from, asked of `dpkg -S`.

use std::collections::{BTreeMap, BTreeSet};
use std::ffi::{OsStr, OsString};
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// `dpkg -S` arguments per run: dpkg loads its whole database each time,
/// so few large runs, yet far below the argument size limit.
const DPKG_BATCH: usize = 200;

/// Only these directories moved under /usr.
const MERGED_USR: [&str; 6] = ["bin", "sbin", "lib", "lib32", "lib64", "libx32"];

pub fn on_path(prog: &str) -> bool {
    let Some(path) = std::env::var_os("PATH") else {
        return false;
    };
    std::env::split_paths(&path).any(|d| {
        std::fs::metadata(d.join(prog))
            .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
    })
}

/// Prints the section for these inputs (host paths).
pub fn print(inputs: &[&Path]) {
    let (by_pkg, orphans) = owners(inputs);
    println!("packages:");
    for (pkg, n) in &by_pkg {
        println!("  {pkg} ({n} files)");
    }
    if orphans > 0 {
        println!("  (not from a package) {orphans} files");
    }
    if inputs.is_empty() {
        println!("  (none)");
    }
}

/// Files per package, and the number of inputs no package owns. Names
/// dpkg does not know are tried again in other spellings, only for the
/// inputs still unowned, so most inputs cost one lookup.
fn owners(inputs: &[&Path]) -> (BTreeMap<String, usize>, usize) {
    let mut owner: Vec<Option<BTreeSet<String>>> = vec![None; inputs.len()];
    for round in 0..4 {
        let tries: Vec<(usize, PathBuf)> = inputs
            .iter()
            .enumerate()
            .filter(|(i, _)| owner.get(*i).is_some_and(Option::is_none))
            .filter_map(|(i, p)| spelling(p, round).map(|s| (i, s)))
            .collect();
        if tries.is_empty() {
            continue;
        }
        let found = dpkg_search(&tries.iter().map(|(_, s)| s.as_path()).collect::<Vec<_>>());
        for (i, s) in tries {
            if let (Some(pkgs), Some(slot)) = (found.get(&s), owner.get_mut(i)) {
                *slot = Some(pkgs.clone());
            }
        }
    }
    let mut by_pkg = BTreeMap::new();
    let mut orphans = 0;
    for o in owner {
        match o {
            Some(pkgs) => pkgs
                .into_iter()
                .for_each(|p| *by_pkg.entry(p).or_insert(0) += 1),
            None => orphans += 1,
        }
    }
    (by_pkg, orphans)
}

/// The name to ask dpkg about in round `round`: as accessed; then with
/// /usr added or removed, because with Debian's merged /usr a file may be
/// registered under /lib but opened as /usr/lib or the other way round;
/// then the same two for the file a symlink leads to (/usr/bin/cc is an
/// alternatives link no package owns).
fn spelling(p: &Path, round: u32) -> Option<PathBuf> {
    let canonical = || std::fs::canonicalize(p).ok().filter(|c| c != p);
    match round {
        0 => Some(p.to_path_buf()),
        1 => usr_toggle(p),
        2 => canonical(),
        _ => usr_toggle(&canonical()?),
    }
}

fn usr_toggle(p: &Path) -> Option<PathBuf> {
    let (rest, add) = match p.strip_prefix("/usr") {
        Ok(r) => (r, false),
        Err(_) => (p.strip_prefix("/").ok()?, true),
    };
    let top = rest.components().next()?.as_os_str().to_str()?;
    if !MERGED_USR.contains(&top) {
        return None;
    }
    Some(Path::new(if add { "/usr" } else { "/" }).join(rest))
}

/// Owners by path, as `dpkg -S` prints them. Its stderr (complaints about
/// unknown paths) and exit status (non-zero when any path is unknown) say
/// nothing the missing lines don't.
fn dpkg_search(paths: &[&Path]) -> BTreeMap<PathBuf, BTreeSet<String>> {
    let mut found = BTreeMap::new();
    for batch in paths.chunks(DPKG_BATCH) {
        let out = Command::new("dpkg")
            .arg("-S")
            .args(batch.iter().map(|p| dpkg_pattern(p)))
            .stdin(Stdio::null())
            .stderr(Stdio::null())
            .output();
        match out {
            Ok(out) => parse_dpkg(&out.stdout, &mut found),
            Err(e) => eprintln!("sb2-logz: dpkg: {e}"),
        }
    }
    found
}

/// dpkg -S takes shell patterns; escaped, a path matches only itself.
fn dpkg_pattern(p: &Path) -> OsString {
    let mut out = Vec::new();
    for &b in p.as_os_str().as_bytes() {
        if matches!(b, b'*' | b'?' | b'[' | b']' | b'\\') {
            out.push(b'\\');
        }
        out.push(b);
    }
    OsString::from_vec(out)
}

/// Lines `PKG, PKG: PATH`; a package name may hold a colon (`libc6:amd64`)
/// but never ": ", so the first ": " ends the list.
fn parse_dpkg(stdout: &[u8], found: &mut BTreeMap<PathBuf, BTreeSet<String>>) {
    for line in stdout.split(|&b| b == b'\n') {
        let Some(i) = line.windows(2).position(|w| w == b": ") else {
            continue;
        };
        let (Some(list), Some(path)) = (line.get(..i), line.get(i + 2..)) else {
            continue;
        };
        let list = String::from_utf8_lossy(list);
        let pkgs: Vec<&str> = list.split(", ").collect();
        // `diversion by PKG from: PATH` and `... to: PATH` name no owner.
        if pkgs.iter().any(|p| p.is_empty() || p.contains(' ')) {
            continue;
        }
        found
            .entry(PathBuf::from(OsStr::from_bytes(path)))
            .or_default()
            .extend(pkgs.into_iter().map(str::to_owned));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dpkg_lines_and_escaped_names() {
        let out = b"libc6:amd64: /lib/x86_64-linux-gnu/libc.so.6\n\
                    diversion by dash from: /bin/sh\n\
                    dash: /bin/sh\n\
                    gcc-12, cpp-12: /usr/share/doc/x: y\n\
                    garbage\n";
        let mut found = BTreeMap::new();
        parse_dpkg(out, &mut found);
        let got = |p: &str| {
            found
                .get(Path::new(p))
                .map(|s| s.iter().map(String::as_str).collect::<Vec<_>>())
        };
        assert_eq!(
            got("/lib/x86_64-linux-gnu/libc.so.6"),
            Some(vec!["libc6:amd64"])
        );
        assert_eq!(got("/bin/sh"), Some(vec!["dash"]));
        assert_eq!(got("/usr/share/doc/x: y"), Some(vec!["cpp-12", "gcc-12"]));
        assert_eq!(found.len(), 3);
        assert_eq!(
            usr_toggle(Path::new("/usr/lib/x86_64-linux-gnu/libc.so.6")),
            Some(PathBuf::from("/lib/x86_64-linux-gnu/libc.so.6"))
        );
        assert_eq!(usr_toggle(Path::new("/usr/share/doc")), None);
        assert_eq!(
            dpkg_pattern(Path::new("/a*[b]")),
            OsString::from("/a\\*\\[b\\]")
        );
    }
}
