//! The report's `packages` sections: which Debian package each input came
//! from, asked of the package database the file belongs to. A file read
//! from a target root (or tools root) is a file of that root's packages,
//! so it is asked of `ROOT/var/lib/dpkg` under its name inside the root
//! (`dpkg-query --admindir=ROOT/var/lib/dpkg -S /usr/include/x.h`); any
//! other file is asked of the host's database, as it is.

use std::collections::{BTreeMap, BTreeSet};
use std::ffi::{OsStr, OsString};
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::os::unix::fs::PermissionsExt;
use std::path::{Component, Path, PathBuf};
use std::process::{Command, Stdio};

/// `dpkg-query -S` arguments per run: it loads its whole database each
/// time, so few large runs, yet far below the argument size limit.
const DPKG_BATCH: usize = 200;

/// A root's package database, relative to the root.
const ADMINDIR: &str = "var/lib/dpkg";

/// Symlinks followed in one name before giving up (the kernel's limit).
const MAX_LINKS: u32 = 40;

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

/// A root the session mapped into, with its own package database.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Root {
    /// "target" or "tools": what the report calls it.
    pub role: &'static str,
    /// As the report shows it: canonical when it exists.
    pub dir: PathBuf,
    /// Every spelling a host path may start with (as given, canonical).
    prefixes: Vec<PathBuf>,
}

impl Root {
    /// None for the host's own root: its files are the host's.
    pub fn new(role: &'static str, dir: &Path) -> Option<Root> {
        let canon = std::fs::canonicalize(dir).unwrap_or_else(|_| dir.to_path_buf());
        if !dir.is_absolute() || canon == Path::new("/") || dir == Path::new("/") {
            return None;
        }
        let mut prefixes = vec![canon.clone()];
        if dir != canon {
            prefixes.push(dir.to_path_buf());
        }
        Some(Root {
            role,
            dir: canon,
            prefixes,
        })
    }

    /// The path inside this root that host path `p` is, if it is one.
    fn inside(&self, p: &Path) -> Option<PathBuf> {
        self.prefixes
            .iter()
            .find_map(|r| p.strip_prefix(r).ok())
            .map(|rest| Path::new("/").join(rest))
    }

    fn admindir(&self) -> PathBuf {
        self.dir.join(ADMINDIR)
    }
}

/// The inputs per database, by the names the database knows them by
/// (the path inside the root; a host file's own path): the host's first,
/// then each root's in order. A path under two roots (a tools root inside
/// the target root) belongs to the root that holds it most closely.
fn split(inputs: &[&Path], roots: &[Root]) -> Vec<Vec<PathBuf>> {
    let mut out: Vec<Vec<PathBuf>> = (0..=roots.len()).map(|_| Vec::new()).collect();
    for &host in inputs {
        let placed = roots
            .iter()
            .enumerate()
            .filter_map(|(i, r)| r.inside(host).map(|name| (i + 1, name)))
            .min_by_key(|(_, name)| name.components().count());
        let (i, name) = placed.unwrap_or_else(|| (0, host.to_path_buf()));
        if let Some(v) = out.get_mut(i) {
            v.push(name);
        }
    }
    out
}

/// One database's share of the inputs.
pub struct Section {
    /// "host", "target" or "tools".
    pub role: &'static str,
    /// The root (none for the host).
    pub dir: Option<PathBuf>,
    /// How many inputs are below it.
    pub files: usize,
    /// The root has no dpkg database (then nothing below is attributed).
    pub no_database: Option<PathBuf>,
    /// Files per package.
    pub packages: BTreeMap<String, usize>,
    /// Files no package owns.
    pub unowned: usize,
}

/// One section per database for these inputs (host paths): the host's,
/// then each root's.
pub fn sections(inputs: &[&Path], roots: &[Root]) -> Vec<Section> {
    let mut out = Vec::new();
    for (i, files) in split(inputs, roots).iter().enumerate() {
        let root = i.checked_sub(1).and_then(|r| roots.get(r));
        let mut s = Section {
            role: root.map_or("host", |r| r.role),
            dir: root.map(|r| r.dir.clone()),
            files: files.len(),
            no_database: None,
            packages: BTreeMap::new(),
            unowned: 0,
        };
        if let Some(r) = root.filter(|r| !r.admindir().join("status").is_file()) {
            s.no_database = Some(r.admindir());
        } else if !files.is_empty() {
            (s.packages, s.unowned) = owners(files, root);
        }
        out.push(s);
    }
    out
}

/// Prints one section per database: `packages (host):`, then each
/// root's, `packages (target ROOT):`. A root without a database gets one
/// line saying so.
pub fn print(inputs: &[&Path], roots: &[Root]) {
    for l in lines(&sections(inputs, roots)) {
        println!("{l}");
    }
}

fn lines(sections: &[Section]) -> Vec<String> {
    let mut out = Vec::new();
    for s in sections {
        out.push(match &s.dir {
            None => "packages (host):".to_owned(),
            Some(d) => format!("packages ({} {}):", s.role, d.display()),
        });
        if s.files == 0 {
            out.push("  (none)".into());
            continue;
        }
        if let Some(a) = &s.no_database {
            out.push(format!(
                "  (no dpkg database at {}) {} files",
                a.display(),
                s.files
            ));
            continue;
        }
        for (pkg, n) in &s.packages {
            out.push(format!("  {pkg} ({n} files)"));
        }
        if s.unowned > 0 {
            out.push(format!("  (not from a package) {} files", s.unowned));
        }
    }
    out
}

/// Files per package, and the number of inputs no package owns, asked of
/// the host's database or `root`'s. Names dpkg does not know are tried
/// again in other spellings, only for the inputs still unowned, so most
/// inputs cost one lookup.
fn owners(inputs: &[PathBuf], root: Option<&Root>) -> (BTreeMap<String, usize>, usize) {
    let admindir = root.map(Root::admindir);
    let fs_root = root.map_or(Path::new("/"), |r| r.dir.as_path());
    let mut owner: Vec<Option<BTreeSet<String>>> = vec![None; inputs.len()];
    for round in 0..4 {
        let tries: Vec<(usize, PathBuf)> = inputs
            .iter()
            .enumerate()
            .filter(|(i, _)| owner.get(*i).is_some_and(Option::is_none))
            .filter_map(|(i, f)| spelling(fs_root, f, round).map(|s| (i, s)))
            .collect();
        if tries.is_empty() {
            continue;
        }
        let names: Vec<&Path> = tries.iter().map(|(_, s)| s.as_path()).collect();
        let found = dpkg_search(admindir.as_deref(), &names);
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
/// alternatives link no package owns), resolved inside `fs_root` as the
/// root's own programs see it.
fn spelling(fs_root: &Path, name: &Path, round: u32) -> Option<PathBuf> {
    let resolved = || resolve_in(fs_root, name).filter(|c| c != name);
    match round {
        0 => Some(name.to_path_buf()),
        1 => usr_toggle(name),
        2 => resolved(),
        _ => usr_toggle(&resolved()?),
    }
}

/// `name` (absolute, inside `root`) with every symlink followed as if
/// `root` were `/`: an absolute link starts again at the root, `..` stops
/// there. None for a symlink loop. The host's `canonicalize` would follow
/// a target's absolute links out into the host.
fn resolve_in(root: &Path, name: &Path) -> Option<PathBuf> {
    let mut done = PathBuf::from("/");
    let mut todo: Vec<OsString> = Vec::new();
    push_components(&mut todo, &mut done, name);
    let mut links = 0;
    while let Some(c) = todo.pop() {
        if c == ".." {
            done.pop();
            continue;
        }
        let next = done.join(&c);
        let host = root.join(next.strip_prefix("/").unwrap_or(&next));
        match std::fs::read_link(&host) {
            Ok(target) => {
                links += 1;
                if links > MAX_LINKS {
                    return None;
                }
                push_components(&mut todo, &mut done, &target);
            }
            Err(_) => done = next,
        }
    }
    Some(done)
}

/// Queues `p`'s components to be walked next (the stack's top is the
/// first); an absolute `p` restarts the walk at the root.
fn push_components(todo: &mut Vec<OsString>, done: &mut PathBuf, p: &Path) {
    if p.is_absolute() {
        *done = PathBuf::from("/");
    }
    for c in p.components().rev() {
        match c {
            Component::Normal(n) => todo.push(n.to_os_string()),
            Component::ParentDir => todo.push("..".into()),
            Component::RootDir | Component::CurDir | Component::Prefix(_) => {}
        }
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

/// Owners by path, as `dpkg-query -S` prints them, from the host's
/// database or the one in `admindir`. Its stderr (complaints about
/// unknown paths) and exit status (non-zero when any path is unknown) say
/// nothing the missing lines don't.
fn dpkg_search(admindir: Option<&Path>, paths: &[&Path]) -> BTreeMap<PathBuf, BTreeSet<String>> {
    let mut found = BTreeMap::new();
    for batch in paths.chunks(DPKG_BATCH) {
        let mut cmd = Command::new("dpkg-query");
        if let Some(d) = admindir {
            let mut a = OsString::from("--admindir=");
            a.push(d);
            cmd.arg(a);
        }
        let out = cmd
            .arg("-S")
            .args(batch.iter().map(|p| dpkg_pattern(p)))
            .stdin(Stdio::null())
            .stderr(Stdio::null())
            .output();
        match out {
            Ok(out) => parse_dpkg(&out.stdout, &mut found),
            Err(e) => eprintln!("sb2-logz: dpkg-query: {e}"),
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

    /// A fresh directory of this test process, canonical (the report
    /// shows roots canonical).
    fn scratch(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("sb2-logz-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).expect("mkdir scratch");
        d.canonicalize().expect("canonical scratch")
    }

    fn put(root: &Path, rel: &str, text: &str) {
        let p = root.join(rel);
        std::fs::create_dir_all(p.parent().expect("a parent")).expect("mkdir");
        std::fs::write(p, text).expect("write");
    }

    #[test]
    fn files_go_to_the_root_that_holds_them_under_their_inside_names() {
        assert_eq!(Root::new("target", Path::new("/")), None, "/ is the host");
        assert_eq!(Root::new("target", Path::new("rel")), None);
        let t = Root::new("target", Path::new("/nonexistent/t")).expect("a root");
        let tools = Root::new("tools", Path::new("/nonexistent/t/tools")).expect("a root");
        assert_eq!(
            t.inside(Path::new("/nonexistent/t/usr/include/x.h")),
            Some(PathBuf::from("/usr/include/x.h"))
        );
        assert_eq!(
            t.inside(Path::new("/nonexistent/tx/y")),
            None,
            "by component"
        );
        let inputs = [
            Path::new("/usr/bin/gcc"),
            Path::new("/nonexistent/t/usr/lib/libz.so"),
            Path::new("/nonexistent/t/tools/usr/bin/make"),
            Path::new("/nonexistent/t"),
        ];
        let groups = split(&inputs, &[t, tools]);
        let names = |i: usize| {
            groups.get(i).map(|g| {
                g.iter()
                    .map(|p| p.display().to_string())
                    .collect::<Vec<_>>()
            })
        };
        assert_eq!(names(0), Some(vec!["/usr/bin/gcc".to_owned()]));
        assert_eq!(
            names(1),
            Some(vec!["/usr/lib/libz.so".to_owned(), "/".to_owned()])
        );
        assert_eq!(names(2), Some(vec!["/usr/bin/make".to_owned()]));
    }

    #[test]
    fn symlinks_resolve_inside_the_root() {
        let r = scratch("resolve");
        put(&r, "usr/bin/gcc-12", "");
        std::fs::create_dir_all(r.join("etc/alternatives")).expect("mkdir");
        let link =
            |to: &str, at: &str| std::os::unix::fs::symlink(to, r.join(at)).expect("symlink");
        // /usr/bin/cc -> /etc/alternatives/cc -> /usr/bin/gcc-12, all
        // absolute: on the host they would lead out of the root.
        link("/etc/alternatives/cc", "usr/bin/cc");
        link("/usr/bin/gcc-12", "etc/alternatives/cc");
        link("usr/bin", "bin");
        link("../../../../x", "usr/bin/up");
        link("loop", "usr/bin/loop");
        assert_eq!(
            resolve_in(&r, Path::new("/usr/bin/cc")),
            Some(PathBuf::from("/usr/bin/gcc-12"))
        );
        assert_eq!(
            resolve_in(&r, Path::new("/bin/cc")),
            Some(PathBuf::from("/usr/bin/gcc-12"))
        );
        assert_eq!(
            resolve_in(&r, Path::new("/usr/bin/up")),
            Some(PathBuf::from("/x")),
            ".. stops at the root"
        );
        assert_eq!(resolve_in(&r, Path::new("/usr/bin/loop")), None);
        assert_eq!(
            spelling(&r, Path::new("/bin/cc"), 3),
            Some(PathBuf::from("/bin/gcc-12")),
            "resolved, then the merged-/usr alias"
        );
        let _ = std::fs::remove_dir_all(&r);
    }

    /// The whole path with the real dpkg-query against a tiny Debian root:
    /// its status file and file lists, as dpkg keeps them (format 1: a
    /// Multi-Arch: same package's list is named PKG:ARCH.list).
    #[test]
    fn a_target_file_is_its_own_database_package() {
        if !on_path("dpkg-query") {
            eprintln!("no dpkg-query: the database lookup is not tested here");
            return;
        }
        let r = scratch("db");
        put(
            &r,
            "var/lib/dpkg/status",
            "Package: libsb2pkg-dev\nStatus: install ok installed\nMaintainer: t <t@t>\n\
             Architecture: arm64\nMulti-Arch: same\nVersion: 1\nDescription: t\n\n",
        );
        put(&r, "var/lib/dpkg/info/format", "1\n");
        put(
            &r,
            "var/lib/dpkg/info/libsb2pkg-dev:arm64.list",
            "/.\n/usr\n/usr/include\n/usr/include/sb2pkg.h\n/lib\n/lib/libsb2pkg.so\n",
        );
        put(&r, "usr/include/sb2pkg.h", "");
        put(&r, "usr/lib/libsb2pkg.so", "");
        put(&r, "usr/include/stray.h", "");
        let bare = scratch("bare");
        put(&bare, "usr/include/z.h", "");
        let inputs = [
            r.join("usr/include/sb2pkg.h"),
            // Registered as /lib/libsb2pkg.so: merged /usr.
            r.join("usr/lib/libsb2pkg.so"),
            r.join("usr/include/stray.h"),
            bare.join("usr/include/z.h"),
            PathBuf::from("/nonexistent-sb2-logz/x"),
        ];
        let inputs: Vec<&Path> = inputs.iter().map(PathBuf::as_path).collect();
        let roots: Vec<Root> = [Root::new("target", &r), Root::new("tools", &bare)]
            .into_iter()
            .flatten()
            .collect();
        let got = lines(&sections(&inputs, &roots));
        let want = [
            "packages (host):".to_owned(),
            "  (not from a package) 1 files".to_owned(),
            format!("packages (target {}):", r.display()),
            "  libsb2pkg-dev:arm64 (2 files)".to_owned(),
            "  (not from a package) 1 files".to_owned(),
            format!("packages (tools {}):", bare.display()),
            format!(
                "  (no dpkg database at {}/var/lib/dpkg) 1 files",
                bare.display()
            ),
        ];
        assert_eq!(got, want);
        assert_eq!(
            lines(&sections(&[], &roots)).get(1).map(String::as_str),
            Some("  (none)")
        );
        let _ = std::fs::remove_dir_all(&r);
        let _ = std::fs::remove_dir_all(&bare);
    }
}
