//! The table as text, fakeroot's `-s`/`-i` for the launcher: one line
//! per record and an `end N` line, so a truncated file is refused. A load
//! is parsed and checked completely before anything is stored.

use super::*;

/// One line of a saved state file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Saved {
    pub dev: u64,
    pub ino: u64,
    pub birth: u64,
    /// Real file type (`S_IFMT` bits) the record was made for, 0 unknown.
    pub rtype: u32,
    /// The ctime that vouches for the inode (see [`Entry::note_seen`]), 0
    /// none: it stays valid across sessions, so a loaded table needs no
    /// birth check for files unchanged since.
    pub seen: u64,
    pub rec: Rec,
}

const SAVE_HEAD: &str = "# sb2 virtual permissions, format 1";

/// The table as text: a header line, one line per record, and an `end N`
/// line that makes truncation detectable.
pub fn save(db: &Db) -> String {
    use std::fmt::Write;
    let mut out = String::from(SAVE_HEAD);
    out.push('\n');
    let mut n = 0;
    for s in db.records() {
        let _ = writeln!(out, "{}", format_line(&s));
        n += 1;
    }
    let _ = writeln!(out, "end {n}");
    out
}

fn format_line(s: &Saved) -> String {
    let mut l = format!(
        "dev={} ino={} birth={} rtype={:o}",
        s.dev, s.ino, s.birth, s.rtype
    );
    if s.seen != 0 {
        l += &format!(" seen={}", s.seen);
    }
    if let Some((u, g)) = s.rec.owner {
        l += &format!(" owner={u}:{g}");
    }
    if let Some(p) = s.rec.perm {
        l += &format!(" perm={p:o}");
    }
    if let Some((t, d)) = s.rec.dev {
        l += &format!(" type={:o} rdev={}:{}", t, major(d), minor(d));
    }
    l
}

/// Why a saved state file cannot be loaded: the line and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    pub line: usize,
    pub message: String,
}

impl std::fmt::Display for ParseError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "line {}: {}", self.line, self.message)
    }
}

impl std::error::Error for ParseError {}

/// Parses a saved state file completely; the error names the line.
pub fn parse(text: &str) -> Result<Vec<Saved>, ParseError> {
    let err = |line: usize, message: String| ParseError { line, message };
    let mut lines = text.lines().enumerate();
    match lines.next() {
        Some((_, h)) if h == SAVE_HEAD => {}
        _ => return Err(err(1, "not an sb2 virtual permissions file".into())),
    }
    let mut out = Vec::new();
    for (i, line) in lines {
        let no = i + 1;
        if let Some(n) = line.strip_prefix("end ") {
            let n: usize = n
                .trim()
                .parse()
                .map_err(|_| err(no, "bad record count".into()))?;
            if n != out.len() {
                return Err(err(
                    no,
                    format!("{n} records announced, {} found (file damaged)", out.len()),
                ));
            }
            return Ok(out);
        }
        out.push(parse_line(line).map_err(|e| err(no, e))?);
    }
    Err(err(
        text.lines().count() + 1,
        "the file ends without its 'end' line (truncated?)".into(),
    ))
}

fn parse_line(line: &str) -> Result<Saved, String> {
    let mut s = Saved {
        dev: 0,
        ino: 0,
        birth: 0,
        rtype: 0,
        seen: 0,
        rec: Rec::default(),
    };
    let (mut has_dev, mut has_ino) = (false, false);
    let num = |v: &str, radix: u32| {
        u64::from_str_radix(v, radix).map_err(|_| format!("bad number '{v}'"))
    };
    let pair = |v: &str| -> Result<(u64, u64), String> {
        let (a, b) = v
            .split_once(':')
            .ok_or_else(|| format!("'{v}' is not A:B"))?;
        Ok((num(a, 10)?, num(b, 10)?))
    };
    let mut ftype = None;
    let mut rdev = None;
    for w in line.split_whitespace() {
        let (k, v) = w
            .split_once('=')
            .ok_or_else(|| format!("'{w}' is not key=value"))?;
        match k {
            "dev" => (s.dev, has_dev) = (num(v, 10)?, true),
            "ino" => (s.ino, has_ino) = (num(v, 10)?, true),
            "birth" => s.birth = num(v, 10)?,
            "rtype" => s.rtype = num(v, 8)? as u32,
            "seen" => s.seen = num(v, 10)?,
            "owner" => {
                let (u, g) = pair(v)?;
                if u > u32::MAX as u64 - 1 || g > u32::MAX as u64 - 1 {
                    return Err(format!("owner '{v}' out of range"));
                }
                s.rec.owner = Some((u as u32, g as u32));
            }
            "perm" => {
                let p = num(v, 8)?;
                if p > 0o7777 {
                    return Err(format!("perm '{v}' out of range"));
                }
                s.rec.perm = Some(p as u32);
            }
            "type" => ftype = Some(num(v, 8)? as u32),
            "rdev" => {
                let (a, b) = pair(v)?;
                rdev = Some(makedev(a as u32, b as u32));
            }
            _ => return Err(format!("unknown field '{k}'")),
        }
    }
    if !has_dev || !has_ino {
        return Err("dev= and ino= are required".into());
    }
    match (ftype, rdev) {
        (Some(t), Some(d)) if t == libc::S_IFCHR || t == libc::S_IFBLK => s.rec.dev = Some((t, d)),
        (None, None) => {}
        _ => return Err("type= (020000 or 060000) and rdev= go together".into()),
    }
    if s.rec.is_empty() {
        return Err("the record records nothing".into());
    }
    Ok(s)
}

/// Stores parsed records (all of them were checked by [`parse`]).
pub fn load(db: &Db, recs: &[Saved]) -> Result<(), Full> {
    for r in recs {
        let m = Meta {
            dev: r.dev,
            ino: r.ino,
            mode: r.rtype,
            birth: r.birth,
            ..Meta::default()
        };
        db.entry(&m)?.restore(&r.rec, r.seen);
    }
    Ok(())
}
