//! The Bendy Butt and meta feed vectors (read from `SSB_UPSTREAM_VECTORS`) through
//! `ssb_impl::bendybutt`: the 7 good go-metafeed entries pass every check, the 19 bad cases are
//! rejected for the fault each describes (their 5 valid predecessors accepted), the example
//! payload decodes as documented, the JS variant's 4 entries pass, and the spec-era files are
//! reported on. The checkers are also run on feeds made by our own signer and on tampered
//! copies of the vectors, to show they are not vacuous.

use ssb_impl::bendybutt::bencode::Value;
use ssb_impl::bendybutt::bfe::{self, FeedRef, MsgRef};
use ssb_impl::bendybutt::message::{Content, Payload};
use ssb_impl::bendybutt::metafeed::{MetafeedContent, MetafeedMsgType, Tangle};
use ssb_impl::crypto;
use ssb_impl::Keypair;
use ssb_vectors::file::upstream_dir;
use ssb_vectors::upstream::metafeed::*;

fn assert_all_pass(name: &str, reports: &[EntryReport]) {
    for r in reports {
        println!("{name}: {r}");
    }
    let failed: Vec<String> = reports
        .iter()
        .filter(|r| !r.ok())
        .map(|r| r.to_string())
        .collect();
    assert!(
        failed.is_empty(),
        "{name}: {} failing:\n{}",
        failed.len(),
        failed.join("\n")
    );
}

/// Every check an accepted entry goes through.
const FEED_CHECKS: &[&str] = &[
    "accepted (decode, chain, signature)",
    "re-encode",
    "key",
    "author",
    "sequence",
    "previous",
    "timestamp",
    "signature",
    "content",
];

#[test]
fn go_metafeed_good_entries() {
    let Some(dir) = upstream_dir() else {
        println!("skipped: SSB_UPSTREAM_VECTORS is not set");
        return;
    };
    let (path, simple) = load_good(&dir, SIMPLE_FILE).unwrap_or_else(|e| panic!("{e}"));
    let simple = check_good(&path, &simple, Layer::Feed).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(simple.len(), 3);
    assert_all_pass("simple", &simple);
    for r in &simple {
        for c in FEED_CHECKS {
            assert!(r.passed.contains(c), "{r}: {c} not checked");
        }
    }

    let (path, mgmt) = load_good(&dir, MANAGEMENT_FILE).unwrap_or_else(|e| panic!("{e}"));
    let mgmt = check_good(&path, &mgmt, Layer::Metafeed).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(mgmt.len(), 4);
    assert_all_pass("managment", &mgmt);
    for r in &mgmt {
        for c in FEED_CHECKS.iter().chain(&[
            "content signature valid",
            "content signature bytes",
            "subfeed in Metadata",
        ]) {
            assert!(r.passed.contains(c), "{r}: {c} not checked");
        }
    }
    // The two metafeed/add/derived entries carry nonces, found in Metadata.
    assert_eq!(
        mgmt.iter()
            .filter(|r| r.passed.contains(&"nonce in Metadata"))
            .count(),
        2
    );
    println!("go-metafeed good entries: {}/7 pass", simple.len() + mgmt.len());
}

#[test]
fn go_metafeed_bad_cases() {
    let Some(dir) = upstream_dir() else {
        println!("skipped: SSB_UPSTREAM_VECTORS is not set");
        return;
    };
    let (path, msgs) = load_bad(&dir, BAD_MESSAGES_FILE).unwrap_or_else(|e| panic!("{e}"));
    let msgs = check_bad(&path, &msgs, Layer::Feed).unwrap_or_else(|e| panic!("{e}"));
    let (path, content) = load_bad(&dir, BAD_CONTENT_FILE).unwrap_or_else(|e| panic!("{e}"));
    let content = check_bad(&path, &content, Layer::Metafeed).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!((msgs.len(), content.len()), (12, 7));
    let all: Vec<_> = msgs.iter().chain(&content).collect();
    for r in &all {
        println!("{r}");
    }
    let failed: Vec<String> = all.iter().filter(|r| !r.ok()).map(|r| r.to_string()).collect();
    assert!(
        failed.is_empty(),
        "{} bad cases fail:\n{}",
        failed.len(),
        failed.join("\n")
    );
    assert!(all.iter().all(|r| r.got.is_some() && r.got == r.expected));
    let valid: usize = all.iter().map(|r| r.valid_entries).sum();
    let accepted: usize = all.iter().map(|r| r.accepted).sum();
    assert_eq!((valid, accepted), (5, 5));

    // The recorded Reason strings that name another fault than their case's description.
    let disagreeing: Vec<&str> = all
        .iter()
        .filter(|r| !reason_agrees(&r.reason, r.expected.as_ref().unwrap()))
        .map(|r| r.description.as_str())
        .collect();
    println!("Reason disagrees with Description: {disagreeing:?}");
    assert_eq!(
        disagreeing,
        [
            "6.1: message too long",
            "2.2: broken metafeed TFK",
            "3.1: bad nonce prefix",
            "3.2: bad nonce length (short)",
            "3.3: bad nonce length (long)",
            "4.1: bad content signature",
        ]
    );
}

/// The 7 bad-content entries' content signatures: cases 1.1–3.3 are signed over the bare
/// dictionary (without the "bendybutt" prefix the good vectors use), so they verify only under
/// the other rule; 4.1 verifies under neither. Their message signatures are all valid.
#[test]
fn go_metafeed_bad_content_signatures() {
    let Some(dir) = upstream_dir() else {
        println!("skipped: SSB_UPSTREAM_VECTORS is not set");
        return;
    };
    let (path, file) = load_bad(&dir, BAD_CONTENT_FILE).unwrap_or_else(|e| panic!("{e}"));
    let mut seen = Vec::new();
    for case in &file.cases {
        let bytes = hex::decode(&case.entries[0].encoded_data).unwrap();
        let variants = content_signature_variants(&bytes).unwrap_or_else(|| panic!("{}", path.display()));
        let raw = check_raw_message(&case.description, &bytes, true);
        assert!(raw.message_signature, "{}", case.description);
        seen.push((case.description.clone(), variants));
    }
    for (d, (prefixed, bare)) in &seen {
        println!("{d}: prefixed {prefixed}, bare {bare}");
        assert!(!prefixed, "{d}");
        assert_eq!(*bare, !d.starts_with("4.1"), "{d}");
    }
    // The good vectors' content signatures use the prefix.
    let (_, good) = load_good(&dir, MANAGEMENT_FILE).unwrap();
    for e in &good.entries {
        let bytes = hex::decode(&e.encoded_data).unwrap();
        assert_eq!(content_signature_variants(&bytes), Some((true, false)));
    }
}

#[test]
fn go_metafeed_example_entry() {
    let Some(dir) = upstream_dir() else {
        println!("skipped: SSB_UPSTREAM_VECTORS is not set");
        return;
    };
    let p = load_example_entry(&dir).unwrap_or_else(|e| panic!("{e}"));
    let key: [u8; 32] = std::array::from_fn(|i| i as u8 + 1);
    assert_eq!(p.author, FeedRef::bendybutt(key));
    assert_eq!(p.sequence, 1);
    assert_eq!(p.previous, None);
    assert_eq!(p.timestamp, 10);
    // The content is a bare byte string, which the message model keeps opaque.
    assert_eq!(p.content, Content::Encrypted(b"hello, world".to_vec()));
    assert_eq!(p.encode().len(), 65);
}

#[test]
fn ssb_meta_feeds_js_variant() {
    let Some(dir) = upstream_dir() else {
        println!("skipped: SSB_UPSTREAM_VECTORS is not set");
        return;
    };
    let (path, js) = load_good(&dir, JS_MANAGEMENT_FILE).unwrap_or_else(|e| panic!("{e}"));
    let reports = check_good(&path, &js, Layer::Metafeed).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(reports.len(), 4);
    assert_all_pass("ssb-meta-feeds", &reports);
    // Entries 1–3 are byte-identical to go-metafeed's; entry 4 adds a bamboo subfeed.
    let (_, go) = load_good(&dir, MANAGEMENT_FILE).unwrap();
    for i in 0..3 {
        assert_eq!(js.entries[i], go.entries[i]);
    }
    assert_ne!(js.entries[3].encoded_data, go.entries[3].encoded_data);
    let sub = js.entries[3].highlevel_content[0]["subfeed"].as_str().unwrap();
    assert_eq!(FeedRef::parse(sub).unwrap().format, bfe::FeedFormat::Bamboo);
}

/// The spec-era files predate the final encoding: every entry is canonical bencode whose sha256
/// is the recorded key, but no signature verifies under any rule we know, and the strict
/// decoder refuses them for their old encodings.
#[test]
fn bendy_butt_spec_era_files() {
    let Some(dir) = upstream_dir() else {
        println!("skipped: SSB_UPSTREAM_VECTORS is not set");
        return;
    };
    let reports = check_spec_era_file(&dir).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(reports.len(), 3);
    for (r, key_ok) in &reports {
        println!("{r:?}, key matches: {key_ok}");
        assert!(r.bencode_round_trip && *key_ok, "{r:?}");
        assert!(!r.message_signature, "{r:?}");
        assert_eq!(r.content_signature, Some((false, false)), "{r:?}");
    }
    // Entry 1 has previous = 01 04 ‖ 32 zero bytes on sequence 1.
    assert!(reports[0]
        .0
        .decode
        .as_ref()
        .unwrap_err()
        .contains("previous must be nil"));
    // Entries 2 and 3 decode as messages, but their content is the old form:
    // type "metafeed/add" (raw 32-byte nonce) and a tombstone without `metafeed`.
    assert_eq!(reports[1].0.decode, Ok(()));
    let m2 = reports[1].0.metafeed.clone().unwrap().unwrap_err();
    assert!(m2.contains("\"metafeed/add\" is not"), "{m2}");
    let m3 = reports[2].0.metafeed.clone().unwrap().unwrap_err();
    assert!(m3.contains("no \"metafeed\" field"), "{m3}");

    // m0.bbmsg: old codes (author 00 02, previous 01 02), its own signatures valid under the
    // current rules except that its content signature has no "bendybutt" prefix.
    let m0 = check_spec_example(&dir).unwrap_or_else(|e| panic!("{e}"));
    println!("{m0:?}");
    assert!(m0.bencode_round_trip);
    assert!(m0.message_signature);
    assert_eq!(m0.content_signature, Some((false, true)));
    let e = m0.decode.unwrap_err();
    assert!(
        e.contains("author: expected BFE format bendybutt-v1, got bamboo"),
        "{e}"
    );
}

#[test]
fn bfe_registry_matches_bfe_json() {
    let Some(dir) = upstream_dir() else {
        println!("skipped: SSB_UPSTREAM_VECTORS is not set");
        return;
    };
    let theirs = load_bfe_registry(&dir).unwrap_or_else(|e| panic!("{e}"));
    let ours = bfe::registry();
    assert_eq!(theirs.len(), 25);
    assert_eq!(ours.len(), theirs.len());
    for (o, t) in ours.iter().zip(&theirs) {
        assert_eq!((o.0, o.1, o.2, o.3), (t.0, t.1.as_str(), t.2, t.3.as_str()));
        // bfe.json gives no data_length for boolean and nil; the spec's README fixes them at
        // 1 and 0 bytes, as we do.
        match (o.1, o.3) {
            ("generic", "boolean") => assert_eq!((o.4, t.4), (Some(1), None)),
            ("generic", "nil") => assert_eq!((o.4, t.4), (Some(0), None)),
            _ => assert_eq!(o.4, t.4, "{o:?}"),
        }
    }
}

/// Tampered copies of the vectors fail: a changed key, a changed timestamp field, a broken
/// chain, a swapped description and a valid predecessor made invalid.
#[test]
fn tampered_vectors_fail() {
    let Some(dir) = upstream_dir() else {
        println!("skipped: SSB_UPSTREAM_VECTORS is not set");
        return;
    };
    let (path, good) = load_good(&dir, MANAGEMENT_FILE).unwrap();
    let fails = |f: &GoodFile| {
        check_good(&path, f, Layer::Metafeed)
            .unwrap()
            .iter()
            .filter(|r| !r.ok())
            .count()
    };
    assert_eq!(fails(&good), 0);
    let mut t = good.clone();
    t.entries[1].key = t.entries[0].key.clone();
    assert_eq!(fails(&t), 1);
    let mut t = good.clone();
    t.entries[2].timestamp = 1;
    assert_eq!(fails(&t), 1);
    let mut t = good.clone();
    t.entries[0].highlevel_content[0]["feedpurpose"] = "other".into();
    assert_eq!(fails(&t), 1);
    let mut t = good.clone();
    t.entries.remove(1); // entries 3 and 4 no longer chain
    assert_eq!(fails(&t), 2);
    let mut t = good.clone();
    let mut bytes = hex::decode(&t.entries[3].encoded_data).unwrap();
    let n = bytes.len();
    bytes[n - 10] ^= 1; // inside the message signature
    t.entries[3].encoded_data = hex::encode(bytes);
    assert_eq!(fails(&t), 1);

    let (path, bad) = load_bad(&dir, BAD_MESSAGES_FILE).unwrap();
    let bad_fails = |f: &BadFile| {
        check_bad(&path, f, Layer::Feed)
            .unwrap()
            .iter()
            .filter(|r| !r.ok())
            .count()
    };
    assert_eq!(bad_fails(&bad), 0);
    let mut t = bad.clone();
    let d0 = t.cases[0].description.clone();
    t.cases[0].description = t.cases[1].description.clone();
    t.cases[1].description = d0;
    assert_eq!(bad_fails(&t), 2);
    let mut t = bad.clone();
    let case = t.cases.iter_mut().find(|c| c.entries.len() == 2).unwrap();
    case.entries[0].encoded_data.replace_range(10..12, "ff");
    assert_eq!(bad_fails(&t), 1);
    // A bad-message case checked at the meta feed layer: its valid predecessor is a "test"
    // message, not management content, so the case fails there.
    assert!(check_bad(&path, &bad, Layer::Metafeed)
        .unwrap()
        .iter()
        .any(|r| !r.ok()));
}

/// A meta feed made with our own signer, written in the vectors' JSON shape and run through
/// the same checker; needs no upstream files.
#[test]
fn own_signer_feed_through_the_checker() {
    let mf = Keypair::from_seed([0x11; 32]);
    let sub1 = Keypair::from_seed([0x22; 32]);
    let sub2 = Keypair::from_seed([0x33; 32]);
    let metafeed = FeedRef::bendybutt(*mf.public());
    let contents = [
        MetafeedContent {
            kind: MetafeedMsgType::AddDerived,
            subfeed: FeedRef::classic(*sub1.public()),
            metafeed,
            feedpurpose: Some("main".into()),
            nonce: Some([0x23; 32]),
            tangles: Some([(b"metafeed".to_vec(), Tangle::default())].into()),
            extra: Default::default(),
        },
        MetafeedContent {
            kind: MetafeedMsgType::AddExisting,
            subfeed: FeedRef::new(bfe::FeedFormat::GabbyGroveV1, *sub2.public()),
            metafeed,
            feedpurpose: Some("old".into()),
            nonce: None,
            tangles: None,
            extra: Default::default(),
        },
    ];
    let mut entries = Vec::new();
    let mut previous: Option<MsgRef> = None;
    for (i, c) in contents.iter().enumerate() {
        let subkey = if i == 0 { &sub1 } else { &sub2 };
        let content = c.sign(subkey, None).unwrap();
        let Content::Signed { signature, .. } = &content else {
            panic!("signed")
        };
        let content_sig = hex::encode(bfe::encode_signature(signature));
        let msg = Payload {
            author: metafeed,
            sequence: i as u64 + 1,
            previous: previous.clone(),
            timestamp: 1_650_000_000_000 + i as i64,
            content,
        }
        .sign(&mf, None)
        .unwrap();
        entries.push(GoodEntry {
            encoded_data: hex::encode(msg.encode()),
            key: msg.key().to_string(),
            author: metafeed.to_string(),
            sequence: i as u64 + 1,
            previous: previous.as_ref().map(|p| p.to_string()),
            timestamp: msg.payload.timestamp,
            highlevel_content: serde_json::json!([c.to_json(), {"Name": "sig", "HexString": content_sig}]),
            signature: hex::encode(bfe::encode_signature(&msg.signature)),
        });
        previous = Some(msg.key());
    }
    let file = GoodFile {
        description: "ours".into(),
        metadata: vec![
            MetaItem {
                name: "subfeed1".into(),
                hex_string: None,
                feed: Some(FeedRef::classic(*sub1.public()).to_string()),
            },
            MetaItem {
                name: "subfeed2".into(),
                hex_string: None,
                feed: Some(contents[1].subfeed.to_uri()),
            },
            MetaItem {
                name: "nonce".into(),
                hex_string: Some(hex::encode([0x23; 32])),
                feed: None,
            },
        ],
        entries,
    };
    let reports = check_good(std::path::Path::new("ours"), &file, Layer::Metafeed).unwrap();
    assert_all_pass("own signer", &reports);
    // At the plain feed layer the entries are accepted too, but the loose content comparison
    // does not read BFE feed ids as sigils, so only "content" differs.
    let reports = check_good(std::path::Path::new("ours"), &file, Layer::Feed).unwrap();
    for r in &reports {
        assert!(r.passed.contains(&"accepted (decode, chain, signature)"), "{r}");
        assert_eq!(r.failures.len(), 1, "{r}");
        assert!(r.failures[0].starts_with("content "), "{r}");
    }
    // And the key really is sha256 of the bytes.
    let bytes = hex::decode(&file.entries[1].encoded_data).unwrap();
    assert_eq!(
        MsgRef::parse(&file.entries[1].key).unwrap().id(),
        crypto::sha256(&bytes)
    );
}

#[test]
fn json_matches_is_strict_enough() {
    use serde_json::json;
    let d = Value::dict([
        ("type", Value::bytes(bfe::encode_string("test"))),
        ("i", Value::Int(1)),
        ("b", Value::Int(1)),
    ]);
    assert!(json_matches(&json!({"type": "test", "i": 1, "b": true}), &d));
    assert!(!json_matches(&json!({"type": "test", "i": 2, "b": true}), &d));
    assert!(!json_matches(&json!({"type": "test", "i": 1}), &d));
    assert!(!json_matches(&json!({"type": "tesT", "i": 1, "b": true}), &d));
    assert_eq!(base64_std(b""), "");
    assert_eq!(base64_std(b"f"), "Zg==");
    assert_eq!(base64_std(b"fo"), "Zm8=");
    assert_eq!(base64_std(b"foo"), "Zm9v");
    assert_eq!(base64_std(&[0xfb, 0xff]), "+/8=");
}

/// Malformed vector files give a typed error naming the file and record; nothing panics.
#[test]
fn malformed_files_are_errors() {
    use ssb_vectors::upstream::UpstreamError;
    let root = std::env::temp_dir().join(format!("ssb-upstream-metafeed-{}", std::process::id()));
    let sub = root.join("go-metafeed");
    std::fs::create_dir_all(&sub).unwrap();
    let file = sub.join("testvector-simple.json");
    let _ = std::fs::remove_file(&file);
    assert!(matches!(
        load_good(&root, SIMPLE_FILE),
        Err(UpstreamError::Missing { .. })
    ));
    std::fs::write(&file, "{").unwrap();
    assert!(matches!(
        load_good(&root, SIMPLE_FILE),
        Err(UpstreamError::Json { .. })
    ));
    std::fs::write(
        &file,
        r#"{"Description":"","Metadata":[],"Entries":[],"Extra":1}"#,
    )
    .unwrap();
    assert!(matches!(
        load_good(&root, SIMPLE_FILE),
        Err(UpstreamError::Json { .. })
    ));
    let entry = |data: &str| {
        format!(
            r#"{{"Description":"","Metadata":[],"Entries":[{{"EncodedData":"{data}","Key":"k","Author":"a",
            "Sequence":1,"Previous":null,"Timestamp":0,"HighlevelContent":null,"Signature":""}}]}}"#
        )
    };
    std::fs::write(&file, entry("zz")).unwrap();
    let (path, f) = load_good(&root, SIMPLE_FILE).unwrap();
    let e = check_good(&path, &f, Layer::Feed).unwrap_err().to_string();
    assert!(e.contains("Entries[0]") && e.contains("EncodedData"), "{e}");
    // Well-formed hex that is not a message is a failing entry, not an error.
    std::fs::write(&file, entry("6c65")).unwrap();
    let (path, f) = load_good(&root, SIMPLE_FILE).unwrap();
    let r = check_good(&path, &f, Layer::Feed).unwrap();
    assert!(!r[0].ok() && r[0].failures[0].starts_with("rejected"), "{}", r[0]);
    // A bad-case file whose invalid entry is not last is refused.
    let bad = sub.join("testvector-metafeed-bad-messages.json");
    std::fs::write(
        &bad,
        r#"{"Description":"","Cases":[{"Description":"x","Metadata":[],"Entries":[
            {"EncodedData":"6c65","Invalid":true,"Reason":""},{"EncodedData":"6c65","Invalid":false,"Reason":""}]}]}"#,
    )
    .unwrap();
    let (path, f) = load_bad(&root, BAD_MESSAGES_FILE).unwrap();
    let e = check_bad(&path, &f, Layer::Feed).unwrap_err().to_string();
    assert!(e.contains("Cases[0]"), "{e}");
    std::fs::remove_dir_all(&root).unwrap();
}
