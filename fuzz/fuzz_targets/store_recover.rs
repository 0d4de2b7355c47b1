//! Fuzzes disk store recovery (`store::DiskStore::open`) and the store doctor
//! (`store::doctor::run`) on arbitrary `log.bin` (and `index.bin`) files.
//!
//! The first input byte picks how the files are made:
//! - `mode & 3`: 0, the rest is `log.bin`; 1, the rest follows a valid log header; 2 and 3,
//!   the rest is edits (see `ssb_fuzz::apply_edits`) to the log of a small valid store (4 signed
//!   messages of 2 feeds), so that records near a valid one are explored;
//! - `mode & 4`: write that store's `index.bin` too (edited the same way when `mode & 16`);
//! - `mode & 8`: open with `OpenMode::TrustIndex` rather than `OpenMode::Verify`.
//!
//! Invariants:
//! - no panic in open, reads, the doctor or its repairs;
//! - under `Verify`, open refuses the files (`Corrupt`) exactly when the doctor, run first on
//!   the same files, finds damage that recovery must not mend (a bad header, a corrupt record
//!   in the middle, an undecodable record, a feed out of order, an id twice);
//! - after a successful open: every stored message reads back (under `Verify`), by author and
//!   sequence and by id alike; opening again cuts nothing and rebuilds nothing; and the doctor
//!   finds no problem with the log's structure or the index;
//! - a problem the doctor repairs is gone the next time it runs.

#![no_main]

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use ssb_fuzz::apply_edits;
use ssb_impl::legacy::message::sign_message;
use ssb_impl::legacy::{to_signing_units, Object, Value};
use ssb_impl::store::log::{log_header, INDEX_FILE, LOG_FILE};
use ssb_impl::store::{doctor, DiskStore, OpenMode, Store, StoreError, StoredMsg, SyncPolicy};
use ssb_impl::Keypair;

/// Problems that make a `Verify` open fail.
const FATAL: [&str; 6] = [
    "damaged_record",
    "bad_header",
    "corrupt_record",
    "undecodable_record",
    "out_of_order",
    "duplicate_id",
];

/// Problems a successful open leaves no trace of.
const MENDED_BY_OPEN: [&str; 6] = [
    "torn_header",
    "torn_tail",
    "index_missing",
    "index_inconsistent",
    "index_behind",
    "log_missing",
];

fn scratch() -> &'static PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let base = if Path::new("/dev/shm").is_dir() {
            PathBuf::from("/dev/shm")
        } else {
            std::env::temp_dir()
        };
        base.join(format!("ssb-fuzz-store-recover-{}", std::process::id()))
    })
}

/// The log and index of a small valid store.
fn fixture() -> &'static (Vec<u8>, Vec<u8>) {
    static F: OnceLock<(Vec<u8>, Vec<u8>)> = OnceLock::new();
    F.get_or_init(|| {
        let dir = scratch().with_extension("fixture");
        let _ = std::fs::remove_dir_all(&dir);
        let (mut store, _) = DiskStore::open(&dir, SyncPolicy::Never).expect("fixture store");
        for (k, seed) in [(0u32, 1u8), (1, 2), (2, 1), (3, 1)] {
            let keys = Keypair::from_seed([seed; 32]);
            let latest = store.latest(&keys.id());
            let seq = latest.map_or(1, |l| l.sequence as u32 + 1);
            let mut content = Object::new();
            content.insert("type".into(), Value::string("post"));
            content.insert("text".into(), Value::string(&format!("message {k} ✓\n")));
            let (o, id) = sign_message(
                &keys,
                latest.map(|l| l.id),
                seq,
                1e12 + f64::from(k),
                Value::Object(content),
                None,
            );
            let value = String::from_utf16(&to_signing_units(&Value::Object(o))).expect("UTF-16");
            let m = StoredMsg {
                id,
                author: keys.id(),
                sequence: u64::from(seq),
                timestamp: 1e12 + f64::from(k),
                received: u64::from(k),
                value,
            };
            store.append(&[m]).expect("fixture append");
        }
        store.sync().expect("fixture sync");
        drop(store);
        let log = std::fs::read(dir.join(LOG_FILE)).expect("fixture log");
        let index = std::fs::read(dir.join(INDEX_FILE)).expect("fixture index");
        let _ = std::fs::remove_dir_all(&dir);
        (log, index)
    })
}

fn kinds(r: &doctor::DoctorReport) -> Vec<&'static str> {
    r.problems.iter().map(|p| p.kind).collect()
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let (fix_log, fix_index) = fixture();
    let log = match mode & 3 {
        0 => rest.to_vec(),
        1 => [&log_header()[..], rest].concat(),
        _ => apply_edits(fix_log, rest),
    };
    let dir = scratch();
    let _ = std::fs::remove_dir_all(dir);
    std::fs::create_dir_all(dir).expect("scratch directory");
    std::fs::write(dir.join(LOG_FILE), &log).expect("write log");
    if mode & 4 != 0 {
        let index = if mode & 16 != 0 {
            apply_edits(fix_index, rest)
        } else {
            fix_index.clone()
        };
        std::fs::write(dir.join(INDEX_FILE), index).expect("write index");
    }
    let open_mode = if mode & 8 != 0 {
        OpenMode::TrustIndex
    } else {
        OpenMode::Verify
    };

    let before = doctor::run(dir, false).expect("doctor on the fuzzed files");
    let fatal = before.problems.iter().any(|p| FATAL.contains(&p.kind));
    match DiskStore::open_with(dir, SyncPolicy::Never, open_mode) {
        Err(StoreError::Corrupt(why)) => {
            if open_mode == OpenMode::Verify {
                assert!(fatal, "open refused ({why}) what the doctor passes: {before}");
            }
        }
        Err(e) => panic!("open failed with {e}"),
        Ok((store, report)) => {
            if open_mode == OpenMode::Verify {
                assert!(!fatal, "open accepted what the doctor finds damaged: {before}");
                assert_eq!(report.records, before.records, "{report:?} {before}");
            }
            assert_eq!(report.records, store.len());
            let mut n = 0;
            for (feed, latest) in store.feeds() {
                match store.range(&feed, 1, usize::MAX) {
                    Ok(msgs) => {
                        assert_eq!(msgs.len() as u64, latest);
                        for (i, m) in msgs.iter().enumerate() {
                            assert_eq!((m.author, m.sequence), (feed, i as u64 + 1));
                            assert_eq!(store.get_by_id(&m.id).expect("by id").as_ref(), Some(m));
                        }
                        n += latest;
                    }
                    Err(e) => assert!(
                        open_mode == OpenMode::TrustIndex,
                        "a verified record does not read back: {e}"
                    ),
                }
            }
            if open_mode == OpenMode::Verify {
                assert_eq!(n, store.len());
            }
            drop(store);
            let (again, report2) = DiskStore::open_with(dir, SyncPolicy::Never, open_mode).expect("reopen");
            assert_eq!(
                (
                    report2.truncated_bytes,
                    report2.index_rebuilt,
                    report2.index_caught_up
                ),
                (0, false, 0),
                "second open changed something: {report2:?}"
            );
            assert_eq!(report2.records, report.records);
            drop(again);
            if open_mode == OpenMode::Verify {
                let after = doctor::run(dir, false).expect("doctor after open");
                let left: Vec<_> = kinds(&after)
                    .into_iter()
                    .filter(|k| FATAL.contains(k) || MENDED_BY_OPEN.contains(k))
                    .collect();
                assert!(left.is_empty(), "after a successful open: {after}");
            }
        }
    }

    let repaired = doctor::run(dir, true).expect("doctor repair");
    let again = doctor::run(dir, false).expect("doctor after repair");
    for p in repaired.problems.iter().filter(|p| p.repaired) {
        assert!(
            !again.has(p.kind),
            "repaired {p}, yet the next run finds: {again}"
        );
    }
});
