//! The message stores: the disk store gives the memory store's answers on the same appends (and
//! again after reopening), refuses what it must with nothing written, recovers a torn tail at any
//! byte of the last record, refuses corruption in the middle, and rebuilds or completes a
//! missing, stale or damaged index.

mod store_support;

use std::path::Path;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha20Rng;
use ssb_impl::legacy::message::{check_message, MsgId};
use ssb_impl::store::log::{encode_record, INDEX_FILE, LOG_FILE};
use ssb_impl::store::{
    DiskStore, MemoryStore, OpenMode, OpenReport, Store, StoreError, StoredMsg, SyncPolicy, MAX_VALUE_BYTES,
};
use store_support::{assert_same, interleaved, Feeds};

fn ids(msgs: &[StoredMsg]) -> Vec<MsgId> {
    msgs.iter().map(|m| m.id).collect()
}

fn memory_of(msgs: &[StoredMsg]) -> MemoryStore {
    let mut m = MemoryStore::new();
    m.append(msgs).unwrap();
    m
}

fn open(dir: &Path) -> (DiskStore, OpenReport) {
    DiskStore::open(dir, SyncPolicy::OnSync).unwrap()
}

/// A synced store of `msgs` in a new directory.
fn disk_of(msgs: &[StoredMsg]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let (mut d, _) = open(dir.path());
    for chunk in msgs.chunks(5) {
        d.append(chunk).unwrap();
    }
    d.sync().unwrap();
    dir
}

/// A copy of a store directory's log and index, with the log replaced by `log`.
fn with_log(from: &Path, log: &[u8], keep_index: bool) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join(LOG_FILE), log).unwrap();
    if keep_index {
        std::fs::copy(from.join(INDEX_FILE), dir.path().join(INDEX_FILE)).unwrap();
    }
    dir
}

fn record_len(m: &StoredMsg) -> usize {
    let mut b = Vec::new();
    encode_record(m, &mut b).unwrap();
    b.len()
}

#[test]
fn memory_and_disk_agree_on_generated_feeds_and_after_reopening() {
    for seed in 0..4 {
        let (feeds, msgs) = interleaved(seed, 5, 250);
        let authors: Vec<_> = (0..5).map(|a| feeds.author(a)).collect();
        let all_ids = ids(&msgs);
        let dir = tempfile::tempdir().unwrap();
        let (mut disk, report) = open(dir.path());
        assert!(report.created && report.records == 0);
        let mut mem = MemoryStore::new();
        let mut rng = ChaCha20Rng::seed_from_u64(seed);
        let mut next = 0;
        let mut refused = 0;
        while next < msgs.len() {
            let n = rng.gen_range(1..=12).min(msgs.len() - next);
            let mut batch = msgs[next..next + n].to_vec();
            let bad = rng.gen_range(0..3) == 0;
            if bad {
                match rng.gen_range(0..3) {
                    // A message already stored (or the batch's own first message again).
                    0 => batch.push(msgs[rng.gen_range(0..=next)].clone()),
                    // A message that skips a sequence.
                    1 => {
                        let mut m = msgs[next].clone();
                        m.sequence += 1000;
                        m.id = MsgId(rng.gen());
                        batch.insert(rng.gen_range(0..=batch.len()), m);
                    }
                    _ => batch.reverse(),
                }
            }
            let (rm, rd) = (mem.append(&batch), disk.append(&batch));
            assert_eq!(
                rm.as_ref().map_err(StoreError::kind),
                rd.as_ref().map_err(StoreError::kind),
                "seed {seed} at {next}: memory {rm:?}, disk {rd:?}"
            );
            if let (Err(em), Err(ed)) = (&rm, &rd) {
                assert_eq!(em.to_string(), ed.to_string());
                refused += 1;
                // The good part of the batch goes in on its own.
                batch = msgs[next..next + n].to_vec();
                mem.append(&batch).unwrap();
                disk.append(&batch).unwrap();
            }
            next += n;
            if rng.gen_bool(0.3) {
                disk.sync().unwrap();
            }
            assert_eq!(mem.len(), next as u64);
            assert_eq!(disk.len(), next as u64);
        }
        assert!(refused >= 5, "seed {seed}: only {refused} refused batches");
        assert_same(&mem, &disk, &authors, &all_ids);
        // Every value parses back into a message that validates, with the stored id.
        for m in disk.range(&authors[0], 1, usize::MAX).unwrap() {
            let c = check_message(&m.parse_value().unwrap(), None).unwrap();
            assert_eq!((c.id, c.author, c.sequence as u64), (m.id, m.author, m.sequence));
        }
        drop(disk);
        for mode in [OpenMode::Verify, OpenMode::TrustIndex] {
            let (again, report) = DiskStore::open_with(dir.path(), SyncPolicy::OnSync, mode).unwrap();
            assert_eq!(report.records, msgs.len() as u64);
            assert_eq!(report.feeds, 5);
            assert_eq!(report.truncated_bytes, 0);
            assert!(!report.index_rebuilt, "{report:?}");
            assert_same(&mem, &again, &authors, &all_ids);
        }
    }
}

#[test]
fn reopening_gives_the_same_state_and_catches_the_index_up() {
    let (feeds, msgs) = interleaved(7, 3, 60);
    let authors: Vec<_> = (0..3).map(|a| feeds.author(a)).collect();
    let dir = tempfile::tempdir().unwrap();
    {
        let (mut d, _) = open(dir.path());
        d.append(&msgs[..40]).unwrap();
        d.sync().unwrap();
        // Appended but never synced: written to the log, not yet to the index.
        d.append(&msgs[40..]).unwrap();
    }
    let (d, report) = open(dir.path());
    assert_eq!(report.records, 60);
    assert_eq!(report.index_caught_up, 20);
    assert!(!report.index_rebuilt);
    assert_eq!(report.truncated_bytes, 0);
    assert_eq!(report.records_checked, 60);
    assert_same(&memory_of(&msgs), &d, &authors, &ids(&msgs));
    let bytes = d.log_bytes();
    drop(d);
    let (d, report) = DiskStore::open_with(dir.path(), SyncPolicy::OnSync, OpenMode::TrustIndex).unwrap();
    assert_eq!(report.index_caught_up, 0);
    assert_eq!(
        report.records_checked, 0,
        "a complete index leaves nothing to scan"
    );
    assert_eq!(report.log_bytes, bytes);
    assert_same(&memory_of(&msgs), &d, &authors, &ids(&msgs));
}

#[test]
fn a_torn_tail_at_every_byte_of_the_last_record_is_cut_and_the_rest_survives() {
    let (feeds, msgs) = interleaved(3, 3, 12);
    let authors: Vec<_> = (0..3).map(|a| feeds.author(a)).collect();
    let src = disk_of(&msgs);
    let log = std::fs::read(src.path().join(LOG_FILE)).unwrap();
    let last = msgs.last().unwrap();
    let start = log.len() - record_len(last);
    let before = memory_of(&msgs[..11]);
    for cut in start..log.len() {
        for keep_index in [false, true] {
            let dir = with_log(src.path(), &log[..cut], keep_index);
            // fsync is not what is tested here, and is slow on a busy disk.
            let policy = if cut == start + 1 {
                SyncPolicy::OnSync
            } else {
                SyncPolicy::Never
            };
            let (mut d, report) = DiskStore::open(dir.path(), policy).unwrap();
            assert_eq!(report.truncated_bytes, (cut - start) as u64, "cut at {cut}");
            assert_eq!(report.truncated_reason.is_some(), cut > start);
            assert_eq!(report.records, 11);
            // Missing, or covering the lost record (ahead of the log): rebuilt either way.
            assert!(report.index_rebuilt);
            assert_eq!(
                std::fs::metadata(dir.path().join(LOG_FILE)).unwrap().len(),
                start as u64
            );
            assert_same(&before, &d, &authors, &ids(&msgs));
            if cut == start + 1 {
                // The store goes on from there.
                d.append(std::slice::from_ref(last)).unwrap();
                d.sync().unwrap();
                drop(d);
                let (d, report) = open(dir.path());
                assert_eq!((report.records, report.truncated_bytes), (12, 0));
                assert!(!report.index_rebuilt);
                assert_same(&memory_of(&msgs), &d, &authors, &ids(&msgs));
            }
        }
    }
}

#[test]
fn zeros_or_garbage_after_the_last_record_are_a_torn_tail() {
    let (_, msgs) = interleaved(4, 2, 10);
    let src = disk_of(&msgs);
    let log = std::fs::read(src.path().join(LOG_FILE)).unwrap();
    let mut rng = ChaCha20Rng::seed_from_u64(4);
    for n in [1, 7, 8, 95, 96, 97, 4096, 70_000] {
        for zeros in [true, false] {
            let mut bytes = log.clone();
            bytes.extend((0..n).map(|_| if zeros { 0 } else { rng.gen::<u8>() }));
            let dir = with_log(src.path(), &bytes, true);
            let (d, report) = open(dir.path());
            assert_eq!(report.truncated_bytes, n as u64, "{n} bytes, zeros {zeros}");
            assert_eq!(report.records, 10);
            assert!(!report.index_rebuilt, "the index still matches");
            assert_eq!(d.log_bytes(), log.len() as u64);
        }
    }
}

#[test]
fn a_flipped_byte_in_the_middle_of_the_log_is_corruption() {
    let (_, msgs) = interleaved(5, 3, 12);
    let src = disk_of(&msgs);
    let log = std::fs::read(src.path().join(LOG_FILE)).unwrap();
    // The sixth record.
    let start = 16 + msgs[..5].iter().map(record_len).sum::<usize>();
    let end = start + record_len(&msgs[5]);
    for at in (start..end).chain([0, 5, 8, 12, 15]) {
        for flip in [0x01u8, 0x80, 0xFF] {
            let mut bytes = log.clone();
            bytes[at] ^= flip;
            let dir = with_log(src.path(), &bytes, true);
            match DiskStore::open(dir.path(), SyncPolicy::OnSync) {
                Err(StoreError::Corrupt(why)) => {
                    if at >= 16 {
                        assert!(why.contains(&format!("offset {start}")), "{why}")
                    }
                }
                other => panic!("byte {at} ^ {flip:#x}: {other:?}"),
            }
            // Nothing was cut.
            assert_eq!(std::fs::read(dir.path().join(LOG_FILE)).unwrap(), bytes);
        }
    }
}

#[test]
fn a_damaged_record_under_a_trusted_index_is_found_when_read() {
    let (feeds, msgs) = interleaved(6, 2, 12);
    let src = disk_of(&msgs);
    let mut log = std::fs::read(src.path().join(LOG_FILE)).unwrap();
    let start = 16 + msgs[..5].iter().map(record_len).sum::<usize>();
    log[start + 200] ^= 0x20;
    let dir = with_log(src.path(), &log, true);
    let (d, report) = DiskStore::open_with(dir.path(), SyncPolicy::OnSync, OpenMode::TrustIndex).unwrap();
    assert_eq!((report.records, report.records_checked), (12, 0));
    let m = &msgs[5];
    assert!(matches!(
        d.get(&m.author, m.sequence),
        Err(StoreError::Corrupt(_))
    ));
    assert!(matches!(d.get_by_id(&m.id), Err(StoreError::Corrupt(_))));
    let other = &msgs[6];
    assert_eq!(
        d.get(&other.author, other.sequence).unwrap().as_ref(),
        Some(other)
    );
    let _ = feeds;
    // Verify mode refuses the same directory.
    drop(d);
    assert!(matches!(
        DiskStore::open(dir.path(), SyncPolicy::OnSync),
        Err(StoreError::Corrupt(_))
    ));
}

#[test]
fn a_missing_stale_or_damaged_index_is_rebuilt() {
    let (feeds, msgs) = interleaved(8, 3, 30);
    let authors: Vec<_> = (0..3).map(|a| feeds.author(a)).collect();
    let full = disk_of(&msgs);
    let short = disk_of(&msgs[..20]);
    let stranger = disk_of(&interleaved(9, 3, 30).1);
    let index = std::fs::read(full.path().join(INDEX_FILE)).unwrap();
    let short_index = std::fs::read(short.path().join(INDEX_FILE)).unwrap();
    let log = std::fs::read(full.path().join(LOG_FILE)).unwrap();
    let short_log = std::fs::read(short.path().join(LOG_FILE)).unwrap();
    assert_eq!(index.len(), 16 + 30 * 96);

    let mut flipped = index.clone();
    flipped[16 + 96 * 7 + 50] ^= 1;
    let mut other_header = index.clone();
    other_header[9] ^= 1;
    type Case<'a> = (&'a str, Option<Vec<u8>>, &'a [u8]);
    let cases: Vec<Case> = vec![
        ("missing", None, &log),
        ("ahead of the log", Some(index.clone()), &short_log),
        ("flipped byte", Some(flipped), &log),
        ("partial entry", Some(index[..index.len() - 40].to_vec()), &log),
        ("bad header", Some(other_header), &log),
        ("empty file", Some(Vec::new()), &log),
        (
            "of another log",
            Some(std::fs::read(stranger.path().join(INDEX_FILE)).unwrap()),
            &log,
        ),
        ("entries but an empty log", Some(index.clone()), &log[..16]),
    ];
    for (what, idx, log) in cases {
        for mode in [OpenMode::Verify, OpenMode::TrustIndex] {
            let dir = tempfile::tempdir().unwrap();
            std::fs::write(dir.path().join(LOG_FILE), log).unwrap();
            if let Some(idx) = &idx {
                std::fs::write(dir.path().join(INDEX_FILE), idx).unwrap();
            }
            let (d, report) = DiskStore::open_with(dir.path(), SyncPolicy::OnSync, mode).unwrap();
            assert!(report.index_rebuilt, "{what} {mode:?}: {report:?}");
            assert!(report.index_reason.is_some());
            let n = d.len() as usize;
            assert_eq!(report.records_checked, n as u64, "{what}: the log was read");
            assert_same(&memory_of(&msgs[..n]), &d, &authors, &ids(&msgs));
            drop(d);
            let written = std::fs::read(dir.path().join(INDEX_FILE)).unwrap();
            let expect = match n {
                30 => &index[..],
                20 => &short_index[..],
                _ => &index[..16],
            };
            assert_eq!(
                written, expect,
                "{what}: the rebuilt index is the one appends write"
            );
            let (_, report) = DiskStore::open_with(dir.path(), SyncPolicy::OnSync, mode).unwrap();
            assert!(
                !report.index_rebuilt && report.index_caught_up == 0,
                "{what}: {report:?}"
            );
        }
    }
}

#[test]
fn out_of_order_duplicate_and_too_large_are_refused_with_nothing_written() {
    let mut f = Feeds::new(2, 40);
    let a: Vec<StoredMsg> = (0..4).map(|i| f.next(0, &format!("a{i}"), 1)).collect();
    let b1 = f.next(1, "b1", 1);
    let b2 = f.next(1, "b2", 1);
    let dir = tempfile::tempdir().unwrap();
    let (disk, _) = open(dir.path());
    let stores: Vec<Box<dyn Store>> = vec![Box::new(MemoryStore::new()), Box::new(disk)];
    for mut s in stores {
        s.append(&a[..2]).unwrap();
        let check = |s: &dyn Store| {
            assert_eq!(s.len(), 2);
            assert_eq!(s.latest(&a[0].author).unwrap().sequence, 2);
            assert_eq!(s.latest(&b1.author), None);
        };
        match s.append(&[a[3].clone()]) {
            Err(StoreError::OutOfOrder {
                author,
                expected: 3,
                got: 4,
            }) if author == a[0].author => {}
            other => panic!("{other:?}"),
        }
        match s.append(std::slice::from_ref(&b2)) {
            Err(
                e @ StoreError::OutOfOrder {
                    expected: 1, got: 2, ..
                },
            ) => assert_eq!(e.kind(), "out_of_order"),
            other => panic!("{other:?}"),
        }
        // A good message, then one already stored: the whole batch is refused.
        match s.append(&[b1.clone(), a[1].clone()]) {
            Err(e @ StoreError::Duplicate { .. }) => assert_eq!(e.kind(), "duplicate"),
            other => panic!("{other:?}"),
        }
        // The same message twice in one batch.
        assert!(matches!(
            s.append(&[b1.clone(), b1.clone()]),
            Err(StoreError::Duplicate { id }) if id == b1.id
        ));
        // Another message claiming a stored id, at the right place.
        let mut clash = a[2].clone();
        clash.id = a[0].id;
        assert!(matches!(s.append(&[clash]), Err(StoreError::Duplicate { .. })));
        let mut big = a[2].clone();
        big.value = "x".repeat(MAX_VALUE_BYTES + 1);
        assert_eq!(s.append(&[big]).unwrap_err().kind(), "too_large");
        check(&*s);
        s.sync().unwrap();
        check(&*s);
        s.append(&[]).unwrap();
        s.append(&[b1.clone(), a[2].clone(), b2.clone(), a[3].clone()])
            .unwrap();
        assert_eq!(s.feeds(), {
            let mut v = vec![(a[0].author, 4), (b1.author, 2)];
            v.sort();
            v
        });
    }
    // The refused batches left no trace on disk.
    let (d, report) = open(dir.path());
    assert_eq!(report.records, 6);
    assert_eq!(
        d.log_bytes(),
        16 + a.iter().chain([&b1, &b2]).map(record_len).sum::<usize>() as u64
    );
}

#[test]
fn the_largest_value_fits_and_every_policy_stores_the_same() {
    let mut f = Feeds::new(1, 90);
    let mut msgs: Vec<StoredMsg> = (0..3).map(|i| f.next(0, &format!("m{i}"), i)).collect();
    // Not a valid message (the store does not validate), but the largest value it takes.
    msgs[1].value = "é".repeat(MAX_VALUE_BYTES / 2);
    for policy in [SyncPolicy::EveryAppend, SyncPolicy::OnSync, SyncPolicy::Never] {
        let dir = tempfile::tempdir().unwrap();
        {
            let (mut d, _) = DiskStore::open(dir.path(), policy).unwrap();
            for m in &msgs {
                d.append(std::slice::from_ref(m)).unwrap();
            }
            d.sync().unwrap();
            assert_eq!(d.get(&msgs[1].author, 2).unwrap().as_ref(), Some(&msgs[1]));
        }
        let (d, report) = DiskStore::open(dir.path(), policy).unwrap();
        assert_eq!(
            (report.records, report.index_rebuilt, report.index_caught_up),
            (3, false, 0)
        );
        assert_eq!(d.range(&msgs[0].author, 1, 10).unwrap(), msgs);
    }
}

#[test]
fn a_log_that_is_not_ours_is_refused_and_a_torn_header_recovered() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join(LOG_FILE), b"{\"not\": \"a log\"}\n").unwrap();
    assert!(matches!(
        DiskStore::open(dir.path(), SyncPolicy::OnSync),
        Err(StoreError::Corrupt(_))
    ));
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join(LOG_FILE), b"SSBHL").unwrap();
    let (d, report) = open(dir.path());
    assert_eq!(
        (report.truncated_bytes, report.records, d.log_bytes()),
        (5, 0, 16)
    );
}

/// Ten thousand messages of twenty feeds, appended and synced a hundred at a time: every one
/// reads back by position and by id, both ways of reopening agree, and the doctor verifies all
/// of them. (The store's timings live in the notes of issue 4, not in a test.)
#[test]
fn ten_thousand_messages_read_back_and_verify() {
    let (_, msgs) = interleaved(11, 20, 10_000);
    let dir = tempfile::tempdir().unwrap();
    let (mut d, _) = open(dir.path());
    for chunk in msgs.chunks(100) {
        d.append(chunk).unwrap();
        d.sync().unwrap();
    }
    for m in &msgs {
        assert_eq!(d.get(&m.author, m.sequence).unwrap().unwrap().id, m.id);
        assert_eq!(d.get_by_id(&m.id).unwrap().unwrap().sequence, m.sequence);
    }
    drop(d);
    let (_, report) = open(dir.path());
    let (_, report2) = DiskStore::open_with(dir.path(), SyncPolicy::OnSync, OpenMode::TrustIndex).unwrap();
    assert_eq!((report.records, report2.records), (10_000, 10_000));
    let doctor = ssb_impl::store::doctor::run(dir.path(), false).unwrap();
    assert!(
        doctor.is_clean() && doctor.signatures_verified == 10_000,
        "{doctor}"
    );
    let mut mem = MemoryStore::new();
    for chunk in msgs.chunks(100) {
        mem.append(chunk).unwrap();
    }
    assert_eq!(mem.len(), 10_000);
}
