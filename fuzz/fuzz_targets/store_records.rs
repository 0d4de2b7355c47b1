//! Fuzzes disk store recovery with structure-aware input: the log is built record by record
//! from operations on real signed records, so the fuzzer spends its time on the decisions that
//! matter (torn tail or damage, where a good record follows, a damaged complete last record,
//! a record changed with a valid checksum) instead of on finding a valid checksum.
//!
//! Input: a flags byte (`& 2`: the damaging operation flips a bit rather than overwriting a
//! byte), then operations of 4 bytes `op k a b`,
//! with `k` choosing one of the fixture's records:
//! - `op % 6 == 0`: the record as written;
//! - `1`: the record with byte `a | b << 8` (mod its length) changed (checksum now wrong);
//! - `2`: the first `a | b << 8` bytes of the record (mod its length): a torn write;
//! - `3`: `a` zero bytes (an extent the file system allocated but never wrote);
//! - `4`: `a` bytes of `b`;
//! - `5`: the record with a byte of its value changed and its checksum fixed (a forgery only
//!   signatures can catch).
//!
//! Invariants:
//! - no panic in open, the doctor, its repair, or verification;
//! - open refuses the log (`Corrupt`) exactly when the doctor finds damage recovery must not
//!   mend (`FATAL`), and never for a log that is good records followed by a torn write;
//! - when open cuts a tail, `recovery.log` records the cut with the same byte count, and a
//!   second open changes nothing;
//! - verification on open reports every forged record that open accepted.

#![no_main]

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use ssb_fuzz::fixture_messages;
use ssb_impl::store::log::{encode_record, log_header, record_crc, LOG_FILE, PAYLOAD_FIXED};
use ssb_impl::store::recovery;
use ssb_impl::store::verify::{self, Verified, VerifyOnOpen};
use ssb_impl::store::{doctor, DiskStore, Store, StoreError, SyncPolicy};

const FATAL: [&str; 6] = [
    "bad_header",
    "corrupt_record",
    "undecodable_record",
    "out_of_order",
    "duplicate_id",
    "damaged_record",
];

/// Operations read, at most: every record costs a signature check in each doctor run.
const MAX_OPS: usize = 24;

fn scratch() -> &'static PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let base = if Path::new("/dev/shm").is_dir() {
            PathBuf::from("/dev/shm")
        } else {
            std::env::temp_dir()
        };
        base.join(format!("ssb-fuzz-store-records-{}", std::process::id()))
    })
}

/// The encoded records of the fixture.
fn records() -> &'static Vec<Vec<u8>> {
    static R: OnceLock<Vec<Vec<u8>>> = OnceLock::new();
    R.get_or_init(|| {
        fixture_messages(8)
            .iter()
            .map(|m| {
                let mut b = Vec::new();
                encode_record(m, &mut b).expect("encode");
                b
            })
            .collect()
    })
}

fuzz_target!(|data: &[u8]| {
    let Some((&flags, ops)) = data.split_first() else {
        return;
    };
    let recs = records();
    let mut log = log_header().to_vec();
    // Good records of the fixture in their order, then at most one torn write (a prefix of a
    // record, and zeros): what a crash can leave, so open must succeed.
    let mut clean_prefix = true;
    let mut torn_only = true;
    let mut torn_writes = 0;
    let mut good_records = 0u64;
    let mut forged = 0u64;
    for op in ops.chunks_exact(4).take(MAX_OPS) {
        let k = op[1] as usize % recs.len();
        let r = &recs[k];
        if clean_prefix && op[0] % 6 != 0 && op[0] % 6 != 5 {
            clean_prefix = false;
        }
        if clean_prefix && k != good_records as usize {
            torn_only = false;
        }
        let n = usize::from(op[2]) | usize::from(op[3]) << 8;
        match op[0] % 6 {
            0 => {
                log.extend_from_slice(r);
                if clean_prefix {
                    good_records += 1;
                } else {
                    torn_only = false;
                }
            }
            1 => {
                let mut r = r.clone();
                let at = n % r.len();
                if flags & 2 != 0 {
                    r[at] ^= 1 << (op[3] % 8);
                } else {
                    r[at] = op[2];
                }
                log.extend_from_slice(&r);
                torn_only = false;
            }
            2 => {
                log.extend_from_slice(&r[..n % r.len()]);
                torn_writes += 1;
                if torn_writes > 1 {
                    torn_only = false;
                }
            }
            3 => log.extend(std::iter::repeat(0).take(usize::from(op[2]))),
            4 => {
                log.extend(std::iter::repeat(op[3]).take(usize::from(op[2])));
                torn_only = false;
            }
            _ => {
                let mut r = r.clone();
                let value_len = r.len() - 8 - PAYLOAD_FIXED;
                let at = 8 + PAYLOAD_FIXED + n % value_len;
                // Inside a multi-byte character the value stops being UTF-8: an undecodable
                // record, which open refuses.
                if r[at] >= 0x80 {
                    torn_only = false;
                }
                r[at] = if r[at] == b'a' { b'b' } else { b'a' };
                let len = (r.len() - 8) as u32;
                let crc = record_crc(len, &r[8..]);
                r[4..8].copy_from_slice(&crc.to_le_bytes());
                log.extend_from_slice(&r);
                if clean_prefix {
                    forged += 1;
                    good_records += 1;
                } else {
                    torn_only = false;
                }
            }
        }
    }
    let dir = scratch();
    let _ = std::fs::remove_dir_all(dir);
    std::fs::create_dir_all(dir).expect("scratch directory");
    std::fs::write(dir.join(LOG_FILE), &log).expect("write log");

    let before = doctor::run(dir, false).expect("doctor");
    let fatal = before.problems.iter().any(|p| FATAL.contains(&p.kind));
    // Verification runs the doctor's checks again: only needed to see forgeries caught.
    let verified = if forged > 0 {
        Some(verify::verify(dir, VerifyOnOpen::Always, None).expect("verify"))
    } else {
        None
    };
    match DiskStore::open(dir, SyncPolicy::Never) {
        Err(StoreError::Corrupt(why)) => {
            assert!(fatal, "open refused ({why}) what the doctor passes: {before}");
            assert!(!torn_only, "open refused good records and a torn write: {why}");
        }
        Err(e) => panic!("open failed with {e}"),
        Ok((store, report)) => {
            assert!(!fatal, "open accepted what the doctor finds damaged: {before}");
            if torn_only {
                // Duplicate or out-of-order records are fatal, so here they are all in order.
                assert_eq!(report.records, good_records, "{report:?}");
            }
            if report.truncated_bytes > 0 {
                let h = recovery::history(dir).expect("history");
                let cut = h
                    .recoveries
                    .iter()
                    .find(|r| r.by == "open")
                    .expect("the cut is recorded");
                assert_eq!(cut.bytes_cut, report.truncated_bytes);
            }
            assert_eq!(store.len(), report.records);
            drop(store);
            let (_, again) = DiskStore::open(dir, SyncPolicy::Never).expect("reopen");
            assert!(!again.recovered(), "second open recovered again: {again:?}");
            if let Some(v) = &verified {
                assert!(
                    matches!(v, Verified::Damaged { .. }),
                    "{forged} forged records verified: {v:?}"
                );
            }
        }
    }
    let repaired = doctor::run(dir, true).expect("doctor repair");
    if repaired.repairs.is_empty() {
        return;
    }
    let again = doctor::run(dir, false).expect("doctor after repair");
    for p in repaired.problems.iter().filter(|p| p.repaired) {
        assert!(
            !again.has(p.kind),
            "repaired {p}, yet the next run finds: {again}"
        );
    }
});
