//! The store doctor: clean on a clean store; finds forged and mislabelled messages, non-canonical
//! text, corruption in the middle of the log, a torn tail, a missing, stale or damaged index and
//! tampered blobs; repairs only what it can without losing a good record.

mod store_support;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use ssb_impl::legacy::message::message_id;
use ssb_impl::legacy::{parse, to_compact_units, Mode, Value};
use ssb_impl::store::doctor::{self, DoctorReport};
use ssb_impl::store::log::{encode_record, INDEX_FILE, LOG_FILE};
use ssb_impl::store::{Blobs, DiskBlobs, DiskStore, Store, StoredMsg, SyncPolicy};
use store_support::{interleaved, Feeds};

fn record_len(m: &StoredMsg) -> u64 {
    let mut b = Vec::new();
    encode_record(m, &mut b).unwrap() as u64 + 8
}

/// Offset of record `i` in a log of `msgs`.
fn offset_of(msgs: &[StoredMsg], i: usize) -> u64 {
    16 + msgs[..i].iter().map(record_len).sum::<u64>()
}

fn store(msgs: &[StoredMsg]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let (mut d, _) = DiskStore::open(dir.path(), SyncPolicy::OnSync).unwrap();
    d.append(msgs).unwrap();
    d.sync().unwrap();
    dir
}

fn kinds(r: &DoctorReport) -> Vec<&'static str> {
    r.problems.iter().map(|p| p.kind).collect()
}

#[test]
fn a_clean_store_is_clean() {
    let (_, msgs) = interleaved(1, 4, 80);
    let dir = store(&msgs);
    let mut blobs = DiskBlobs::open(dir.path()).unwrap();
    blobs.add(b"one").unwrap();
    blobs.add(&[7u8; 100_000]).unwrap();
    let r = doctor::run(dir.path(), false).unwrap();
    assert!(r.is_clean(), "{r}");
    assert_eq!((r.records, r.feeds, r.signatures_verified), (80, 4, 80));
    assert_eq!((r.index_entries, r.blobs, r.blob_bytes), (80, 2, 100_003));
    let text = r.to_string();
    assert!(
        text.contains("80 records in 4 feeds")
            && text.contains("): clean\n")
            && text.trim_end().ends_with("past recoveries: none recorded"),
        "{text}"
    );
    // Repair on a clean store does nothing.
    let log = std::fs::read(dir.path().join(LOG_FILE)).unwrap();
    let r = doctor::run(dir.path(), true).unwrap();
    assert!(r.is_clean() && r.repairs.is_empty());
    assert_eq!(std::fs::read(dir.path().join(LOG_FILE)).unwrap(), log);
}

#[test]
fn a_forged_message_is_reported() {
    let (_, mut msgs) = interleaved(2, 3, 30);
    // The last message, its signature replaced by another valid-looking one, re-identified.
    let last = msgs.pop().unwrap();
    let Value::Object(mut o) = last.parse_value().unwrap() else {
        unreachable!()
    };
    let sig = format!("{}.sig.ed25519", STANDARD.encode([0x42u8; 64]));
    o.insert("signature".into(), Value::string(&sig));
    let forged = StoredMsg {
        id: message_id(&o),
        value: String::from_utf16(&ssb_impl::legacy::to_signing_units(&Value::Object(o))).unwrap(),
        ..last.clone()
    };
    assert_ne!(forged.id, last.id);
    msgs.push(forged);
    // The store takes what the caller says it validated.
    let dir = store(&msgs);
    let r = doctor::run(dir.path(), false).unwrap();
    assert_eq!(kinds(&r), ["invalid_message"], "{r}");
    let p = &r.problems[0];
    assert_eq!(p.offset, Some(offset_of(&msgs, 29)));
    assert!(
        p.detail.starts_with(&format!(
            "{} sequence {}: signature_invalid",
            last.author, last.sequence
        )),
        "{}",
        p.detail
    );
    assert_eq!(r.signatures_verified, 29);
    assert!(r.to_string().contains("1 problem, 0 repaired"), "{r}");
    // Repair cannot fix a forgery, and leaves it for a human.
    let r = doctor::run(dir.path(), true).unwrap();
    assert_eq!(r.unrepaired().count(), 1);
}

#[test]
fn a_mislabelled_record_and_non_canonical_text_are_reported() {
    let mut f = Feeds::new(2, 50);
    let mut msgs: Vec<StoredMsg> = (0..6).map(|i| f.next(i % 2, &format!("m{i}"), 5)).collect();
    // Record 2 says another timestamp than its message; record 5 holds compact JSON.
    msgs[2].timestamp += 1.0;
    let v = parse(msgs[5].value.as_bytes(), Mode::JsCompat).unwrap();
    msgs[5].value = String::from_utf16(&to_compact_units(&v)).unwrap();
    let dir = store(&msgs);
    let r = doctor::run(dir.path(), false).unwrap();
    assert_eq!(kinds(&r), ["record_mismatch", "non_canonical_value"], "{r}");
    assert_eq!(r.problems[0].offset, Some(offset_of(&msgs, 2)));
    assert!(
        r.problems[0].detail.contains("timestamp"),
        "{}",
        r.problems[0].detail
    );
    // The compact text still parses to the same message, so its signature verifies.
    assert_eq!(r.signatures_verified, 6);
}

#[test]
fn a_flipped_byte_in_the_middle_is_reported_and_not_repaired() {
    let (_, msgs) = interleaved(3, 3, 20);
    let dir = store(&msgs);
    let path = dir.path().join(LOG_FILE);
    let mut log = std::fs::read(&path).unwrap();
    let at = offset_of(&msgs, 7);
    log[at as usize + 100] ^= 0x04;
    std::fs::write(&path, &log).unwrap();
    for repair in [false, true] {
        let r = doctor::run(dir.path(), repair).unwrap();
        // The lost record leaves a gap in its feed: the feed's next record is out of order.
        let lost = &msgs[7];
        let gap = msgs[8..].iter().position(|m| m.author == lost.author).unwrap() + 8;
        assert_eq!(kinds(&r), ["corrupt_record", "out_of_order"], "{r}");
        assert_eq!(r.problems[1].offset, Some(offset_of(&msgs, gap)));
        assert_eq!(
            r.signatures_verified, 19,
            "the message after the gap still verifies on its own"
        );
        assert_eq!(r.problems[0].offset, Some(at));
        assert!(r.problems[0]
            .detail
            .contains(&format!("follows at offset {}", offset_of(&msgs, 8))));
        // It reads on past the damage.
        assert_eq!(r.records, 19);
        assert!(r.repairs.is_empty() && !r.problems[0].repaired);
        assert_eq!(
            std::fs::read(&path).unwrap(),
            log,
            "repair must not touch good records"
        );
    }
}

#[test]
fn a_torn_tail_is_reported_and_repaired() {
    let (_, msgs) = interleaved(4, 3, 20);
    let dir = store(&msgs);
    let path = dir.path().join(LOG_FILE);
    let log = std::fs::read(&path).unwrap();
    let at = offset_of(&msgs, 19);
    std::fs::write(&path, &log[..at as usize + 30]).unwrap();
    let r = doctor::run(dir.path(), false).unwrap();
    // The index still covers the lost record.
    assert_eq!(kinds(&r), ["torn_tail", "index_inconsistent"], "{r}");
    assert_eq!(r.problems[0].offset, Some(at));
    let r = doctor::run(dir.path(), true).unwrap();
    assert!(r.problems.iter().all(|p| p.repaired), "{r}");
    assert_eq!(r.repairs.len(), 2, "{r}");
    assert_eq!(std::fs::metadata(&path).unwrap().len(), at);
    let r = doctor::run(dir.path(), false).unwrap();
    assert!(r.is_clean(), "{r}");
    assert_eq!(r.records, 19);
    let (_, report) = DiskStore::open(dir.path(), SyncPolicy::OnSync).unwrap();
    assert_eq!(
        (report.truncated_bytes, report.index_rebuilt, report.records),
        (0, false, 19)
    );
}

#[test]
fn a_missing_behind_or_damaged_index_is_reported_and_rebuilt() {
    let (_, msgs) = interleaved(5, 2, 20);
    let dir = store(&msgs);
    let path = dir.path().join(INDEX_FILE);
    let index = std::fs::read(&path).unwrap();
    let mut flipped = index.clone();
    flipped[16 + 96 * 3] ^= 1;
    let cases: [(&str, Option<&[u8]>); 4] = [
        ("index_missing", None),
        ("index_behind", Some(&index[..16 + 96 * 12])),
        ("index_inconsistent", Some(&flipped)),
        ("index_inconsistent", Some(&index[..100])),
    ];
    for (kind, bytes) in cases {
        match bytes {
            Some(b) => std::fs::write(&path, b).unwrap(),
            None => std::fs::remove_file(&path).unwrap(),
        }
        let r = doctor::run(dir.path(), false).unwrap();
        assert_eq!(kinds(&r), [kind], "{r}");
        let r = doctor::run(dir.path(), true).unwrap();
        assert!(r.problems[0].repaired, "{r}");
        assert_eq!(
            std::fs::read(&path).unwrap(),
            index,
            "{kind}: rebuilt as appends wrote it"
        );
        assert!(doctor::run(dir.path(), false).unwrap().is_clean());
    }
}

#[test]
fn a_tampered_blob_and_leftovers_are_reported() {
    let dir = store(&interleaved(6, 1, 3).1);
    let mut blobs = DiskBlobs::open(dir.path()).unwrap();
    let good = blobs.add(b"good blob").unwrap();
    let bad = blobs.add(b"bad blob").unwrap();
    std::fs::write(blobs.path_of(&bad), b"bad blob, changed").unwrap();
    std::fs::write(dir.path().join("blobs/tmp/leftover.tmp"), b"half").unwrap();
    std::fs::write(dir.path().join("blobs/sha256/README"), b"?").unwrap();
    let r = doctor::run(dir.path(), false).unwrap();
    let mut found = kinds(&r);
    found.sort();
    assert_eq!(found, ["blob_mismatch", "blob_stray", "blob_temp"], "{r}");
    let mismatch = r.problems.iter().find(|p| p.kind == "blob_mismatch").unwrap();
    assert!(mismatch.detail.contains(&bad.to_string()), "{r}");
    assert_eq!(r.blobs, 2);
    let r = doctor::run(dir.path(), true).unwrap();
    let mut left: Vec<_> = r.unrepaired().map(|p| p.kind).collect();
    left.sort();
    assert_eq!(left, ["blob_mismatch", "blob_stray"]);
    assert!(!dir.path().join("blobs/tmp/leftover.tmp").exists());
    assert_eq!(blobs.get(&good).unwrap().as_deref(), Some(&b"good blob"[..]));
}

#[test]
fn a_missing_log_or_directory() {
    let dir = tempfile::tempdir().unwrap();
    let r = doctor::run(dir.path(), true).unwrap();
    assert_eq!(kinds(&r), ["log_missing"]);
    assert!(doctor::run(&dir.path().join("nowhere"), false).is_err());
    std::fs::write(dir.path().join(LOG_FILE), b"garbage that is no log").unwrap();
    let r = doctor::run(dir.path(), true).unwrap();
    assert_eq!(kinds(&r), ["bad_header"]);
}
