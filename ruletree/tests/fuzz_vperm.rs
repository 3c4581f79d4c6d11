//! Fuzzing the virtual-permission table's loaders: the saved state file
//! (`sb2 -R -s/-i`, fakeroot's) and the shared table's header.
//!
//! * any text, and real saves garbled: [`vperm::parse`] never panics, an
//!   error names a line of the file, and what it accepts loads;
//! * a table of random records saves, parses and loads back to the same
//!   text;
//! * any bytes as a table (`Db::from_raw`, what a process does with
//!   `vperm.db`): refused with a reason or used (lookups, records, a
//!   save) without a panic.
//!
//! `PROPTEST_CASES` sets the count (docs/fuzzing.md).

mod common;

use proptest::prelude::*;
use sb2_ruletree::vperm::{self, Db, Meta};

/// A table of `slots` slots in aligned memory.
fn table(slots: u32) -> Vec<u64> {
    let mut v = vec![0u64; Db::size(slots) / 8];
    // SAFETY: the u64s viewed as bytes.
    let b = unsafe { std::slice::from_raw_parts_mut(v.as_mut_ptr() as *mut u8, v.len() * 8) };
    Db::init(b, slots, (1000, 1000));
    v
}

fn db(mem: &mut [u64]) -> Db<'_> {
    // SAFETY: the memory outlives the Db; nothing else writes it.
    unsafe { Db::from_raw(mem.as_mut_ptr() as *mut u8, mem.len() * 8) }.expect("a table")
}

/// One record to make: inode, birth, owner, permissions, device node.
type RecSpec = (
    u64,
    u64,
    Option<(u32, u32)>,
    Option<u32>,
    Option<(bool, u32, u32)>,
);

fn rec_spec() -> impl Strategy<Value = RecSpec> {
    (
        1u64..1 << 40,
        any::<u64>(),
        proptest::option::of((0u32..70000, 0u32..70000)),
        proptest::option::of(0u32..0o7777),
        proptest::option::of((any::<bool>(), 0u32..4096, 0u32..1 << 20)),
    )
}

/// A table holding `specs`, saved as text.
fn saved(specs: &[RecSpec]) -> String {
    let mut mem = table(1 << 10);
    let d = db(&mut mem);
    for (ino, birth, owner, perm, dev) in specs {
        let m = Meta {
            dev: 0x803,
            ino: *ino,
            mode: libc::S_IFREG | 0o644,
            birth: *birth,
            ..Meta::default()
        };
        let Ok(e) = d.entry(&m) else { continue };
        if let Some((u, g)) = owner {
            e.set_owner(Some(*u), Some(*g), (0, 0));
        }
        e.set_perm(*perm);
        if let Some((blk, ma, mi)) = dev {
            let t = if *blk { libc::S_IFBLK } else { libc::S_IFCHR };
            e.set_dev(t, vperm::makedev(*ma, *mi));
        }
    }
    vperm::save(&d)
}

/// One edit of a text: delete, insert or replace a character, swap two
/// lines, or cut the text short.
#[derive(Clone, Debug)]
enum Edit {
    Delete(usize),
    Insert(usize, char),
    Replace(usize, char),
    SwapLines(usize, usize),
    Cut(usize),
}

fn edit() -> impl Strategy<Value = Edit> {
    let ch = prop_oneof![
        proptest::char::range(' ', '~'),
        Just('\n'),
        Just('='),
        Just(':'),
        proptest::char::any(),
    ];
    prop_oneof![
        any::<usize>().prop_map(Edit::Delete),
        (any::<usize>(), ch.clone()).prop_map(|(p, c)| Edit::Insert(p, c)),
        (any::<usize>(), ch).prop_map(|(p, c)| Edit::Replace(p, c)),
        (any::<usize>(), any::<usize>()).prop_map(|(a, b)| Edit::SwapLines(a, b)),
        any::<usize>().prop_map(Edit::Cut),
    ]
}

fn garble(text: &str, edits: &[Edit]) -> String {
    let mut c: Vec<char> = text.chars().collect();
    for e in edits {
        let n = c.len().max(1);
        match *e {
            Edit::Delete(p) if !c.is_empty() => {
                c.remove(p % n);
            }
            Edit::Insert(p, ch) => c.insert(p % (c.len() + 1), ch),
            Edit::Replace(p, ch) if !c.is_empty() => c[p % n] = ch,
            Edit::SwapLines(a, b) => {
                let s: String = c.iter().collect();
                let mut lines: Vec<&str> = s.split('\n').collect();
                let k = lines.len();
                lines.swap(a % k, b % k);
                c = lines.join("\n").chars().collect();
            }
            Edit::Cut(p) => c.truncate(p % n),
            _ => {}
        }
    }
    c.into_iter().collect()
}

/// What `parse` must do with any text: an error names a line of it (the
/// line after the last for a missing end), and what it accepts loads.
fn check_parse(text: &str) -> Result<(), TestCaseError> {
    match vperm::parse(text) {
        Err(e) => {
            let lines = text.lines().count();
            prop_assert!(
                e.line >= 1 && e.line <= lines + 1,
                "line {} of {lines}: {e}",
                e.line
            );
        }
        Ok(recs) => {
            let mut mem = table(1 << 10);
            let _ = vperm::load(&db(&mut mem), &recs);
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(common::config(4000))]

    #[test]
    fn any_text_parses_or_names_a_line(text in ".{0,400}") {
        check_parse(&text)?;
    }

    #[test]
    fn garbled_saves_parse_or_name_a_line(
        specs in proptest::collection::vec(rec_spec(), 0..24),
        edits in proptest::collection::vec(edit(), 1..6),
    ) {
        check_parse(&garble(&saved(&specs), &edits))?;
    }

    #[test]
    fn saves_round_trip(specs in proptest::collection::vec(rec_spec(), 0..40)) {
        let text = saved(&specs);
        let recs = vperm::parse(&text).map_err(|e| TestCaseError::fail(e.to_string()))?;
        let mut mem = table(1 << 10);
        let d = db(&mut mem);
        prop_assert!(vperm::load(&d, &recs).is_ok());
        // The same records; their order may differ (slots are in probe
        // order, which depends on the order the colliding keys came in).
        let sorted = |t: &str| {
            let mut l: Vec<String> = t.lines().map(String::from).collect();
            l.sort();
            l
        };
        prop_assert_eq!(sorted(&vperm::save(&d)), sorted(&text));
    }

    /// Any header and slots: refused with a reason, or read and written
    /// without a panic.
    #[test]
    fn any_table_bytes_are_refused_or_safe(
        header in proptest::collection::vec(any::<u64>(), 8),
        slots in proptest::collection::vec(any::<u64>(), 0..400),
        real_magic in any::<bool>(),
        n_slots in prop_oneof![Just(0u32), Just(1), Just(8), Just(16), any::<u32>()],
    ) {
        let mut mem = header.clone();
        if real_magic {
            mem[0] = u64::from_ne_bytes(*b"SB2VPRM2");
            mem[1] = n_slots as u64;
        }
        mem.extend_from_slice(&slots);
        let len = mem.len() * 8;
        // SAFETY: the memory outlives the Db; nothing else writes it.
        match unsafe { Db::from_raw(mem.as_mut_ptr() as *mut u8, len) } {
            Err(e) => prop_assert!(!e.reason().is_empty()),
            Ok(d) => {
                prop_assert!(Db::size(d.capacity()) <= len);
                let _ = (d.unknown(), d.is_empty(), d.used());
                for w in slots.iter().take(16) {
                    let m = Meta { dev: w & 0xffff, ino: w >> 16, birth: *w, mode: *w as u32, ..Meta::default() };
                    let _ = d.lookup(&m);
                    if let Some(e) = d.find(m.dev, m.ino) {
                        let _ = (e.read(&m), e.read_seen(&m));
                    }
                    if let Ok(e) = d.entry(&m) {
                        e.set_perm(Some(0o755));
                    }
                }
                check_parse(&vperm::save(&d))?;
            }
        }
    }
}
