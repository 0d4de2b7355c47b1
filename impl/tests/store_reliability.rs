//! Reliability of the disk store: a damaged complete last record is refused, not cut as a torn
//! tail; every recovery is recorded (with counts) in `recovery.log` and the doctor reports it;
//! a long damaged tail is searched correctly; the identity-safety evidence (index, blobs, the
//! own-feed marker) is found when the log is gone; verify on open refuses a record changed with
//! a valid checksum.

mod store_support;

use std::path::Path;

use ssb_impl::store::doctor;
use ssb_impl::store::log::{encode_record, record_crc, INDEX_FILE, LOG_FILE};
use ssb_impl::store::own_feed::{self, check_start, IdentityError, Marker, MARKER_FILE};
use ssb_impl::store::recovery::{self, RECOVERY_FILE};
use ssb_impl::store::verify::{self, Verified, VerifyOnOpen};
use ssb_impl::store::{Blobs, DiskBlobs, DiskStore, Store, StoreError, StoredMsg, SyncPolicy};
use store_support::{interleaved, Feeds};

fn disk_of(msgs: &[StoredMsg]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let (mut d, _) = DiskStore::open(dir.path(), SyncPolicy::OnSync).unwrap();
    for chunk in msgs.chunks(5) {
        d.append(chunk).unwrap();
    }
    d.sync().unwrap();
    dir
}

fn record_bytes(m: &StoredMsg) -> Vec<u8> {
    let mut b = Vec::new();
    encode_record(m, &mut b).unwrap();
    b
}

fn log_of(dir: &Path) -> Vec<u8> {
    std::fs::read(dir.join(LOG_FILE)).unwrap()
}

#[test]
fn a_damaged_complete_last_record_is_refused_not_cut_as_a_torn_tail() {
    let (_, msgs) = interleaved(21, 2, 10);
    let dir = disk_of(&msgs);
    let log = log_of(dir.path());
    let last = record_bytes(&msgs[9]);
    let start = log.len() - last.len();
    // A flipped bit in the value (not its closing brace), in the checksum, and in the author.
    for at in [start + 4, start + 8 + 3, start + 8 + 88 + 20, log.len() - 2] {
        let mut bytes = log.clone();
        bytes[at] ^= 0x02;
        std::fs::write(dir.path().join(LOG_FILE), &bytes).unwrap();
        match DiskStore::open(dir.path(), SyncPolicy::OnSync) {
            Err(StoreError::Corrupt(why)) => {
                assert!(why.contains("not a torn write"), "byte {at}: {why}");
                assert!(why.contains(&format!("offset {start}")), "byte {at}: {why}");
            }
            other => panic!("byte {at}: {other:?}"),
        }
        assert_eq!(log_of(dir.path()), bytes, "nothing was cut");
        let r = doctor::run(dir.path(), false).unwrap();
        assert!(r.has("damaged_record") && !r.has("torn_tail"), "{r}");
    }
    // The doctor's repair drops it, and says so in recovery.log.
    let r = doctor::run(dir.path(), true).unwrap();
    assert!(
        r.problems
            .iter()
            .any(|p| p.kind == "damaged_record" && p.repaired),
        "{r}"
    );
    let h = recovery::history(dir.path()).unwrap();
    let rec = h
        .recoveries
        .iter()
        .find(|r| r.action == "damaged_record_dropped")
        .expect("the drop is recorded");
    assert_eq!(
        (
            rec.action.as_str(),
            rec.by.as_str(),
            rec.records_kept,
            rec.records_dropped,
            rec.bytes_cut
        ),
        ("damaged_record_dropped", "doctor", 9, 1, last.len() as u64)
    );
    let (d, _) = DiskStore::open(dir.path(), SyncPolicy::OnSync).unwrap();
    assert_eq!(d.len(), 9);
    // And the doctor reports it from now on.
    let text = doctor::run(dir.path(), false).unwrap().to_string();
    assert!(text.contains("past recoveries:"), "{text}");
    assert!(
        text.contains("damaged_record_dropped by doctor: 9 records kept, 1 dropped"),
        "{text}"
    );
}

#[test]
fn a_torn_tail_and_a_rebuilt_index_are_recorded_with_counts() {
    let (_, msgs) = interleaved(22, 3, 12);
    let dir = disk_of(&msgs);
    assert!(
        !dir.path().join(RECOVERY_FILE).exists(),
        "a clean store records nothing"
    );
    let mut bytes = log_of(dir.path());
    let good = bytes.len() as u64;
    // A torn write: half a record.
    let extra = record_bytes(&msgs[0]);
    bytes.extend_from_slice(&extra[..extra.len() / 2]);
    std::fs::write(dir.path().join(LOG_FILE), &bytes).unwrap();
    let (_, report) = DiskStore::open(dir.path(), SyncPolicy::OnSync).unwrap();
    assert_eq!(report.recoveries.len(), 1, "{report:?}");
    let r = &report.recoveries[0];
    assert_eq!(
        (
            r.action.as_str(),
            r.records_kept,
            r.records_dropped,
            r.bytes_cut,
            r.offset
        ),
        ("torn_tail_cut", 12, 0, (extra.len() / 2) as u64, Some(good))
    );
    // A damaged index.
    let mut idx = std::fs::read(dir.path().join(INDEX_FILE)).unwrap();
    idx[40] ^= 1;
    std::fs::write(dir.path().join(INDEX_FILE), &idx).unwrap();
    let (_, report) = DiskStore::open(dir.path(), SyncPolicy::OnSync).unwrap();
    assert!(report.index_rebuilt);
    assert_eq!(report.recoveries[0].action, "index_rebuilt");
    let h = recovery::history(dir.path()).unwrap();
    let actions: Vec<&str> = h.recoveries.iter().map(|r| r.action.as_str()).collect();
    assert_eq!(actions, ["torn_tail_cut", "index_rebuilt"]);
    let text = doctor::run(dir.path(), false).unwrap().to_string();
    assert!(text.contains("past recoveries: 2 (0 records dropped"), "{text}");
    // Opening a sound store again records nothing more.
    let (_, report) = DiskStore::open(dir.path(), SyncPolicy::OnSync).unwrap();
    assert!(!report.recovered(), "{report:?}");
    assert_eq!(recovery::history(dir.path()).unwrap().recoveries.len(), 2);
}

/// Records of `msgs` with their checksums broken: what a damaged region of a log looks like
/// (plausible lengths everywhere, no checksum that matches).
fn damaged_records(msgs: &[StoredMsg], bytes: usize) -> Vec<u8> {
    let mut out = Vec::new();
    let mut i = 0;
    while out.len() < bytes {
        let mut r = record_bytes(&msgs[i % msgs.len()]);
        r[5] ^= 0x55;
        out.extend_from_slice(&r);
        i += 1;
    }
    out
}

#[test]
fn a_two_mib_damaged_region_is_searched_to_its_end() {
    let (_, msgs) = interleaved(23, 4, 40);
    let dir = disk_of(&msgs[..20]);
    let log = log_of(dir.path());
    let damaged = damaged_records(&msgs[20..], 2 << 20);
    // Damage up to the end: the first damaged record is complete, so open refuses it and the
    // doctor calls it damage, with no good record after it.
    let mut bytes = log.clone();
    bytes.extend_from_slice(&damaged);
    std::fs::write(dir.path().join(LOG_FILE), &bytes).unwrap();
    assert!(matches!(
        DiskStore::open(dir.path(), SyncPolicy::OnSync),
        Err(StoreError::Corrupt(_))
    ));
    let r = doctor::run(dir.path(), false).unwrap();
    assert_eq!(r.records, 20, "{r}");
    assert!(r.has("damaged_record") && !r.has("corrupt_record"), "{r}");
    // One good record after 2 MiB of damage: corruption in the middle, found at its offset.
    let good = record_bytes(&msgs[20]);
    bytes.extend_from_slice(&good);
    std::fs::write(dir.path().join(LOG_FILE), &bytes).unwrap();
    let after = (bytes.len() - good.len()) as u64;
    match DiskStore::open(dir.path(), SyncPolicy::OnSync) {
        Err(StoreError::Corrupt(why)) => {
            assert!(
                why.contains(&format!("a good record follows at offset {after}")),
                "{why}"
            )
        }
        other => panic!("{other:?}"),
    }
    // The checksum the search computes from prefixes is the record's.
    let len = u32::from_le_bytes(good[..4].try_into().unwrap());
    assert_eq!(
        record_crc(len, &good[8..]),
        u32::from_le_bytes(good[4..8].try_into().unwrap())
    );
}

#[test]
fn the_marker_follows_the_owners_head_and_the_evidence_outlives_the_log() {
    let mut feeds = Feeds::new(2, 60);
    let me = feeds.author(0);
    let dir = tempfile::tempdir().unwrap();
    // A new directory: nothing to refuse.
    let ev = own_feed::inspect(dir.path()).unwrap();
    assert_eq!(ev.lost_log(), None);
    assert_eq!(check_start(&ev, &me, false), Ok(()));
    {
        let (mut d, _) = DiskStore::open(dir.path(), SyncPolicy::OnSync).unwrap();
        assert_eq!(d.set_owner(me).unwrap(), None);
        // Another feed's messages do not write the marker.
        d.append(&[feeds.next(1, "theirs", 1)]).unwrap();
        d.sync().unwrap();
        assert!(!dir.path().join(MARKER_FILE).exists());
        for i in 0..3 {
            d.append(&[feeds.next(0, &format!("mine {i}"), 2)]).unwrap();
            d.sync().unwrap();
        }
    }
    let marker = own_feed::read_marker(dir.path()).unwrap().unwrap().unwrap();
    assert_eq!(marker, Marker { id: me, sequence: 3 });
    // Another key on this directory is refused.
    let other = feeds.author(1);
    let ev = own_feed::inspect(dir.path()).unwrap();
    assert_eq!(
        check_start(&ev, &other, false),
        Err(IdentityError::OtherFeed {
            marker: me,
            key: other
        })
    );
    assert_eq!(check_start(&ev, &me, false), Ok(()));

    // The log gone: the index, the blobs and the marker each refuse the start on their own.
    let saved_log = log_of(dir.path());
    std::fs::remove_file(dir.path().join(LOG_FILE)).unwrap();
    let ev = own_feed::inspect(dir.path()).unwrap();
    assert!(matches!(
        check_start(&ev, &me, false),
        Err(IdentityError::LostLog(_))
    ));
    let why = ev.lost_log().unwrap();
    assert!(
        why.contains("log.bin is missing") && why.contains("indexes 4 records"),
        "{why}"
    );
    assert!(why.contains("published up to sequence 3"), "{why}");
    assert_eq!(check_start(&ev, &me, true), Ok(()), "the override");
    // The doctor no longer calls this directory clean.
    let r = doctor::run(dir.path(), false).unwrap();
    assert!(r.has("log_lost") && !r.is_sound(), "{r}");

    std::fs::remove_file(dir.path().join(MARKER_FILE)).unwrap();
    let ev = own_feed::inspect(dir.path()).unwrap();
    assert!(ev.lost_log().unwrap().contains("index.bin indexes 4 records"));
    std::fs::remove_file(dir.path().join(INDEX_FILE)).unwrap();
    // An empty log (just the header) and only a blob left.
    std::fs::write(dir.path().join(LOG_FILE), &saved_log[..16]).unwrap();
    assert_eq!(own_feed::inspect(dir.path()).unwrap().lost_log(), None);
    let mut blobs = DiskBlobs::open(dir.path()).unwrap();
    blobs.add(b"evidence").unwrap();
    let ev = own_feed::inspect(dir.path()).unwrap();
    let why = ev.lost_log().unwrap();
    assert!(
        why.contains("log.bin holds no record") && why.contains("1 blobs"),
        "{why}"
    );

    // A log restored from an older copy: the marker is ahead of it.
    std::fs::write(dir.path().join(LOG_FILE), &saved_log).unwrap();
    own_feed::write_marker(dir.path(), &Marker { id: me, sequence: 7 }, false).unwrap();
    let (mut d, _) = DiskStore::open(dir.path(), SyncPolicy::OnSync).unwrap();
    let m = d.set_owner(me).unwrap();
    let in_log = d.latest(&me).unwrap().sequence;
    assert_eq!(own_feed::own_feed_behind(m.as_ref(), &me, in_log), Some((3, 7)));
    let r = doctor::run(dir.path(), false).unwrap();
    assert!(r.has("own_feed_behind"), "{r}");
}

#[test]
fn verify_on_open_refuses_a_record_changed_with_a_valid_checksum() {
    let (_, msgs) = interleaved(24, 2, 10);
    let dir = disk_of(&msgs);
    assert_eq!(
        verify::verify(dir.path(), VerifyOnOpen::Auto, None).unwrap(),
        Verified::Clean { messages: 10 }
    );
    // Change one character of a value in the middle of the log and fix the checksum: opening
    // the store checks checksums only, so it takes it.
    let mut bytes = log_of(dir.path());
    let start = 16 + msgs[..4].iter().map(|m| record_bytes(m).len()).sum::<usize>();
    let rec = record_bytes(&msgs[4]);
    let value = &rec[8 + 88..];
    let at = value.windows(4).position(|w| w == b"text").expect("a post") + 8 + 88 + start + 10;
    bytes[at] = if bytes[at] == b'a' { b'b' } else { b'a' };
    let len = rec.len() - 8;
    let crc = record_crc(len as u32, &bytes[start + 8..start + 8 + len]);
    bytes[start + 4..start + 8].copy_from_slice(&crc.to_le_bytes());
    std::fs::write(dir.path().join(LOG_FILE), &bytes).unwrap();
    assert!(DiskStore::open(dir.path(), SyncPolicy::OnSync).is_ok());
    match verify::verify(dir.path(), VerifyOnOpen::Auto, None).unwrap() {
        Verified::Damaged { problems } => assert!(
            problems.iter().any(|p| p.offset == Some(start as u64)),
            "{problems:?}"
        ),
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        verify::verify(dir.path(), VerifyOnOpen::Never, None).unwrap(),
        Verified::Skipped { .. }
    ));
}
