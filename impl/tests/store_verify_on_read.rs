//! Verify on read ([`ssb_impl::store::read_check`]): a store too large to verify when opened
//! checks each record the first time it is read. A record changed on disk with a valid checksum
//! (a forged signature, a rewritten `previous`) is refused by `get`, `range` and `get_by_id`,
//! every time; good records are served; without verification on read the forgery is served.

mod store_support;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use ssb_impl::legacy::message::message_id;
use ssb_impl::legacy::{to_signing_units, Value};
use ssb_impl::store::{DiskStore, Store, StoreError, StoredMsg, SyncPolicy};
use store_support::{interleaved, post, stored};

/// `m` with its signature replaced by another well-formed one (so the record is self-consistent:
/// its id is the hash of the new text), as an attacker with write access to the log would.
fn forged(m: &StoredMsg) -> StoredMsg {
    let Value::Object(mut o) = m.parse_value().unwrap() else {
        unreachable!()
    };
    let sig = format!("{}.sig.ed25519", STANDARD.encode([0x42u8; 64]));
    o.insert("signature".into(), Value::string(&sig));
    StoredMsg {
        id: message_id(&o),
        value: String::from_utf16(&to_signing_units(&Value::Object(o))).unwrap(),
        ..m.clone()
    }
}

fn open(dir: &std::path::Path) -> DiskStore {
    DiskStore::open(dir, SyncPolicy::OnSync).unwrap().0
}

#[test]
fn a_forged_record_is_refused_on_read_and_good_ones_are_served() {
    let (feeds, mut msgs) = interleaved(7, 2, 20);
    let victim = msgs.len() - 1;
    let real = msgs[victim].clone();
    msgs[victim] = forged(&real);
    let author = real.author;
    let dir = tempfile::tempdir().unwrap();
    {
        let mut d = open(dir.path());
        // The store takes what the caller says it validated.
        d.append(&msgs).unwrap();
        d.sync().unwrap();
    }

    // Without verification on read the forgery is served.
    let d = open(dir.path());
    assert_eq!(d.get(&author, real.sequence).unwrap().unwrap(), msgs[victim]);

    let mut d = open(dir.path());
    d.verify_on_read(None);
    let e = d.get(&author, real.sequence).unwrap_err();
    assert!(matches!(e, StoreError::Corrupt(_)), "{e}");
    assert!(e.to_string().contains("failed verification on read"), "{e}");
    assert!(e.to_string().contains("signature_invalid"), "{e}");
    // Asked again (by id, and in a range), still refused.
    assert!(d.get_by_id(&msgs[victim].id).is_err());
    assert!(d.range(&author, 1, 100).is_err());
    // Every other record is served, and verified once.
    for m in msgs.iter().filter(|m| m.id != msgs[victim].id) {
        assert_eq!(d.get(&m.author, m.sequence).unwrap().as_ref(), Some(m));
        assert_eq!(d.get_by_id(&m.id).unwrap().as_ref(), Some(m));
    }
    let other = feeds.author(0);
    let other = if other == author { feeds.author(1) } else { other };
    assert!(!d.range(&other, 1, 100).unwrap().is_empty());
    let st = d.read_check_stats().unwrap();
    assert_eq!(st.passed, msgs.len() as u64 - 1, "{st:?}");
    assert_eq!(st.failed, 1, "{st:?}");
    assert_eq!(st.refusals, 3, "{st:?}");
}

#[test]
fn a_record_whose_previous_is_not_its_feeds_record_before_it_is_refused() {
    // Message 3 of a feed, validly signed by its author, that names as `previous` an id other
    // than the stored message 2's: the signature holds, the chain does not.
    let keys = ssb_impl::identity::Keypair::from_seed([31; 32]);
    let a = keys.id();
    let m1 = stored(&keys, None, 1, post("one"), 1);
    let m2 = stored(&keys, Some(m1.id), 2, post("two"), 2);
    let good3 = stored(&keys, Some(m2.id), 3, post("three"), 3);
    let alien3 = stored(&keys, Some(m1.id), 3, post("three on another chain"), 3);
    let dir = tempfile::tempdir().unwrap();
    {
        let mut d = open(dir.path());
        d.append(&[m1.clone(), m2.clone(), alien3.clone()]).unwrap();
        d.sync().unwrap();
    }
    let mut d = open(dir.path());
    d.verify_on_read(None);
    assert_eq!(d.get(&a, 2).unwrap().as_ref(), Some(&m2));
    let e = d.get(&a, 3).unwrap_err();
    assert!(e.to_string().contains("previous"), "{e}");
    // The same check passes the message that does chain on message 2.
    let dir = tempfile::tempdir().unwrap();
    {
        let mut d = open(dir.path());
        d.append(&[m1, m2, good3.clone()]).unwrap();
        d.sync().unwrap();
    }
    let mut d = open(dir.path());
    d.verify_on_read(None);
    assert_eq!(d.get(&a, 3).unwrap().as_ref(), Some(&good3));
}
