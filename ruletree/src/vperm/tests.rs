//! The table's records, the overlay and the saved text form, on a table in
//! a plain buffer.

use super::*;

fn table(slots: u32) -> Vec<u64> {
    let mut v = vec![0u64; Db::size(slots) / 8];
    // SAFETY: a u64 buffer viewed as bytes.
    let b = unsafe { core::slice::from_raw_parts_mut(v.as_mut_ptr() as *mut u8, v.len() * 8) };
    Db::init(b, slots, (0, 0));
    v
}
fn db(v: &mut [u64]) -> Db<'_> {
    // SAFETY: the buffer outlives the Db and is aligned.
    unsafe { Db::from_raw(v.as_mut_ptr() as *mut u8, v.len() * 8) }.unwrap()
}
const WHO: Who = Who {
    real_uid: 1000,
    real_gid: 1000,
    unknown_uid: 0,
    unknown_gid: 0,
};

#[test]
fn unknown_files_of_the_user_are_root_others_keep_owner() {
    let mut m = Meta {
        uid: 1000,
        gid: 5,
        mode: libc::S_IFREG | 0o644,
        ..Meta::default()
    };
    overlay(None, &WHO, &mut m);
    assert_eq!((m.uid, m.gid), (0, 5));
}

#[test]
fn records_apply_and_a_reused_inode_drops_them() {
    let mut v = table(64);
    let d = db(&mut v);
    let m = Meta {
        dev: makedev(8, 1),
        ino: 42,
        uid: 1000,
        gid: 1000,
        mode: libc::S_IFREG | 0o600,
        birth: 111,
        ..Meta::default()
    };
    let e = d.entry(&m).unwrap();
    e.set_owner(Some(123), None, (0, 0));
    e.set_perm(Some(0o4755));
    let mut shown = m;
    overlay(d.lookup(&m), &WHO, &mut shown);
    assert_eq!(
        (shown.uid, shown.gid, shown.mode),
        (123, 0, libc::S_IFREG | 0o4755)
    );
    // Same number, new inode (other birth): nothing applies...
    let reborn = Meta {
        birth: 222,
        mode: libc::S_IFDIR | 0o755,
        ..m
    };
    assert_eq!(d.lookup(&reborn), None);
    // ...and the next writer starts from a clean record.
    d.entry(&reborn).unwrap().set_owner(None, Some(7), (0, 0));
    assert_eq!(
        d.lookup(&reborn).unwrap(),
        Rec {
            owner: Some((0, 7)),
            perm: None,
            dev: None
        }
    );
}

#[test]
fn an_old_ctime_vouches_for_the_inode_until_it_is_reused() {
    const S: u64 = 1_000_000_000;
    let mut v = table(64);
    let d = db(&mut v);
    let m = Meta {
        dev: 1,
        ino: 77,
        mode: libc::S_IFREG | 0o644,
        birth: 10 * S + 1,
        ctime: 20 * S + 5,
        ..Meta::default()
    };
    d.entry(&m).unwrap().set_owner(Some(3), Some(4), (0, 0));
    let e = d.find(1, 77).unwrap();
    // Not checked yet: the birth must be asked for.
    assert_eq!(e.read_seen(&m), None);
    // A ctime younger than the margin at check time is not trusted...
    e.note_seen(&m, 20 * S + 5 + S / 20);
    assert_eq!(e.read_seen(&m), None);
    // ...an older one is, for that exact ctime only.
    e.note_seen(&m, 30 * S);
    assert_eq!(e.read_seen(&m).unwrap().unwrap().owner, Some((3, 4)));
    assert_eq!(
        e.read_seen(&Meta {
            ctime: m.ctime + 1,
            ..m
        }),
        None
    );
    // Whole-second ctimes (coarse file systems) need a 2 s margin.
    let coarse = Meta { ctime: 20 * S, ..m };
    e.note_seen(&coarse, 21 * S);
    assert_eq!(e.read_seen(&coarse), None);
    // A birth check that fails notes nothing; a reused inode's writer
    // forgets the old ctime along with the old record.
    let reborn = Meta {
        birth: 40 * S,
        ctime: 40 * S + 7,
        ..m
    };
    e.note_seen(&reborn, 50 * S);
    assert_eq!(e.read_seen(&reborn), None);
    d.entry(&reborn).unwrap();
    assert_eq!(e.read_seen(&m), None);
    // Saved and loaded with the record.
    d.entry(&reborn).unwrap().set_owner(Some(5), None, (0, 0));
    d.find(1, 77).unwrap().note_seen(&reborn, 50 * S);
    let mut v2 = table(64);
    let d2 = db(&mut v2);
    load(&d2, &parse(&save(&d)).unwrap()).unwrap();
    let e2 = d2.find(1, 77).unwrap();
    assert_eq!(e2.read_seen(&reborn).unwrap().unwrap().owner, Some((5, 0)));
}

#[test]
fn devices_keep_their_type_through_chmod() {
    let mut v = table(64);
    let d = db(&mut v);
    let m = Meta {
        dev: 1,
        ino: 9,
        mode: libc::S_IFREG | 0o600,
        birth: 5,
        ..Meta::default()
    };
    let e = d.entry(&m).unwrap();
    e.set_dev(libc::S_IFBLK, makedev(3, 1));
    e.set_perm(Some(0o644));
    let mut shown = m;
    overlay(d.lookup(&m), &WHO, &mut shown);
    assert_eq!(shown.mode, libc::S_IFBLK | 0o644);
    assert_eq!((major(shown.rdev), minor(shown.rdev)), (3, 1));
}

#[test]
fn save_and_parse_round_trip_and_damage_is_an_error() {
    let mut v = table(64);
    let d = db(&mut v);
    for i in 0..10u64 {
        let m = Meta {
            dev: makedev(8, 2),
            ino: 100 + i,
            mode: libc::S_IFREG,
            birth: 9 + i,
            ..Meta::default()
        };
        let e = d.entry(&m).unwrap();
        e.set_owner(Some(i as u32), Some(2 * i as u32), (0, 0));
        if i == 3 {
            e.set_dev(libc::S_IFCHR, makedev(1, 3));
        }
    }
    let text = save(&d);
    let recs = parse(&text).unwrap();
    assert_eq!(recs.len(), 10);
    let mut v2 = table(64);
    let d2 = db(&mut v2);
    load(&d2, &recs).unwrap();
    assert_eq!(save(&d2), text);
    let cut = &text[..text.len() - 8];
    assert!(
        parse(cut).unwrap_err().message.contains("end"),
        "{}",
        parse(cut).unwrap_err()
    );
    let bad = text.replacen("owner=", "owner=x", 1);
    assert!(parse(&bad).unwrap_err().to_string().starts_with("line 2:"));
}

#[test]
fn a_full_table_says_so() {
    let mut v = table(4);
    let d = db(&mut v);
    for i in 0..4 {
        d.entry(&Meta {
            ino: i,
            ..Meta::default()
        })
        .unwrap();
    }
    assert!(d
        .entry(&Meta {
            ino: 99,
            ..Meta::default()
        })
        .is_err());
}
