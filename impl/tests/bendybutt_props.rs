//! Property tests of `ssb_impl::bendybutt`: the bencode decoder never panics and accepts only
//! what it re-encodes byte for byte; any value round-trips through encode/decode; BFE, payload,
//! message and meta feed content decoding never panic on arbitrary input; feeds made by our
//! signer validate, and any single changed byte of a message is rejected.

use proptest::collection::{btree_map, vec};
use proptest::prelude::*;
use ssb_impl::bendybutt::bencode::{self, Dict, Value};
use ssb_impl::bendybutt::bfe::{Bfe, FeedRef, MsgRef};
use ssb_impl::bendybutt::message::{Content, FeedValidator, Message, Payload};
use ssb_impl::bendybutt::metafeed::MetafeedContent;
use ssb_impl::Keypair;

/// Modest case counts; failures are reported with their minimal input rather than persisted.
fn config(cases: u32) -> ProptestConfig {
    ProptestConfig {
        cases,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

fn value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        any::<i64>().prop_map(Value::Int),
        vec(any::<u8>(), 0..40).prop_map(Value::Bytes),
    ];
    leaf.prop_recursive(4, 64, 6, |inner| {
        prop_oneof![
            vec(inner.clone(), 0..6).prop_map(Value::List),
            btree_map(vec(any::<u8>(), 0..8), inner, 0..6).prop_map(Value::Dict),
        ]
    })
}

/// Bytes that look like bencode: mostly structure characters and digits, so that the decoder's
/// deeper paths are reached.
fn bencodeish() -> impl Strategy<Value = Vec<u8>> {
    vec(
        prop_oneof![
            Just(b'i'),
            Just(b'l'),
            Just(b'd'),
            Just(b'e'),
            Just(b':'),
            Just(b'-'),
            (b'0'..=b'9'),
            any::<u8>(),
        ],
        0..64,
    )
}

proptest! {
    #![proptest_config(config(512))]

    #[test]
    fn bencode_decode_never_panics(bytes in vec(any::<u8>(), 0..256)) {
        if let Ok(v) = bencode::decode(&bytes) {
            prop_assert_eq!(bencode::encode(&v), bytes);
        }
    }

    #[test]
    fn bencode_decode_structured_input(bytes in bencodeish(), depth in 0usize..6) {
        if let Ok(v) = bencode::decode_with_depth(&bytes, depth) {
            prop_assert_eq!(bencode::encode(&v), bytes);
        }
    }

    #[test]
    fn bencode_round_trip(v in value()) {
        let enc = bencode::encode(&v);
        prop_assert_eq!(bencode::encoded_len(&v), enc.len());
        prop_assert_eq!(bencode::decode(&enc), Ok(v));
    }

    /// Any strict prefix of an encoding is refused (a value's end is never implied).
    #[test]
    fn bencode_truncation_refused(v in value(), cut in any::<prop::sample::Index>()) {
        let enc = bencode::encode(&v);
        let n = cut.index(enc.len());
        prop_assert!(bencode::decode(&enc[..n]).is_err());
    }

    #[test]
    fn bfe_decode_never_panics(t in 0u8..10, f in 0u8..6, data in vec(any::<u8>(), 0..70)) {
        let bytes = [vec![t, f], data].concat();
        if let Ok(v) = Bfe::decode(&bytes) {
            prop_assert_eq!(v.encode(), bytes);
        }
    }

    #[test]
    fn bfe_decode_arbitrary(bytes in vec(any::<u8>(), 0..80)) {
        if let Ok(v) = Bfe::decode(&bytes) {
            prop_assert_eq!(v.encode(), bytes.clone());
        }
        let _ = FeedRef::from_bfe(&bytes);
        let _ = MsgRef::from_bfe(&bytes);
    }

    #[test]
    fn ref_parsing_never_panics(s in "\\PC{0,80}", tail in "[A-Za-z0-9_=+/-]{0,50}") {
        let _ = FeedRef::parse(&s);
        let _ = MsgRef::parse(&s);
        for prefix in ["ssb:feed/bendybutt-v1/", "ssb:message/bamboo/", "@", "%"] {
            if let Ok(r) = FeedRef::parse(&format!("{prefix}{tail}")) {
                prop_assert_eq!(FeedRef::parse(&r.to_uri()), Ok(r));
            }
            if let Ok(r) = MsgRef::parse(&format!("{prefix}{tail}")) {
                prop_assert_eq!(MsgRef::parse(&r.to_uri()), Ok(r));
            }
        }
    }

    #[test]
    fn message_decode_never_panics(bytes in vec(any::<u8>(), 0..300)) {
        if let Ok(m) = Message::decode(&bytes) {
            prop_assert_eq!(m.encode(), bytes.clone());
        }
        let _ = Payload::decode(&bytes);
    }

    #[test]
    fn message_decode_of_values_never_panics(v in value()) {
        let bytes = bencode::encode(&v);
        if let Ok(m) = Message::decode(&bytes) {
            prop_assert_eq!(m.encode(), bytes);
        }
        if let Value::Dict(d) = &v {
            if let Ok(c) = MetafeedContent::from_dict(d) {
                prop_assert_eq!(MetafeedContent::from_dict(&c.to_dict()), Ok(c));
            }
        }
    }
}

fn content() -> impl Strategy<Value = Content> {
    let dict = || btree_map(vec(any::<u8>(), 0..6), value(), 0..4);
    prop_oneof![
        vec(any::<u8>(), 0..60).prop_map(Content::Encrypted),
        dict().prop_map(Content::Dict),
        (
            dict(),
            prop::array::uniform32(any::<u8>()),
            prop::array::uniform32(any::<u8>())
        )
            .prop_map(|(dict, a, b)| {
                let mut signature = [0u8; 64];
                signature[..32].copy_from_slice(&a);
                signature[32..].copy_from_slice(&b);
                Content::Signed { dict, signature }
            }),
    ]
}

fn build_feed(seed: [u8; 32], contents: Vec<(i64, Content)>, hmac: Option<[u8; 32]>) -> Vec<Message> {
    let k = Keypair::from_seed(seed);
    let mut out: Vec<Message> = Vec::new();
    for (i, (timestamp, content)) in contents.into_iter().enumerate() {
        let m = Payload {
            author: FeedRef::bendybutt(*k.public()),
            sequence: i as u64 + 1,
            previous: out.last().map(Message::key),
            timestamp,
            content,
        }
        .sign(&k, hmac.as_ref())
        .expect("signable");
        out.push(m);
    }
    out
}

proptest! {
    #![proptest_config(config(48))]

    #[test]
    fn own_feeds_validate(
        seed in prop::array::uniform32(any::<u8>()),
        contents in vec((any::<i64>(), content()), 1..5),
        hmac in prop::option::of(prop::array::uniform32(any::<u8>())),
    ) {
        let feed = build_feed(seed, contents, hmac);
        let mut v = FeedValidator::new(hmac);
        for m in &feed {
            let bytes = m.encode();
            prop_assert!(bytes.len() <= 8192);
            prop_assert_eq!(&Message::decode(&bytes).unwrap(), m);
            let r = v.append(&bytes).unwrap();
            prop_assert_eq!(r.key, m.key());
        }
        prop_assert_eq!(v.state().unwrap().sequence, feed.len() as u64);
    }

    /// Changing any one byte of a valid message makes it undecodable or rejected.
    #[test]
    fn any_changed_byte_is_rejected(
        seed in prop::array::uniform32(any::<u8>()),
        content in content(),
        at in any::<prop::sample::Index>(),
        xor in 1u8..=255,
    ) {
        let feed = build_feed(seed, vec![(7, content)], None);
        let mut bytes = feed[0].encode();
        let i = at.index(bytes.len());
        bytes[i] ^= xor;
        prop_assert!(FeedValidator::new(None).check(&bytes).is_err(), "byte {} accepted", i);
    }
}

#[test]
fn hand_picked_dict_is_canonical() {
    // Keys are emitted in byte order whatever the insertion order.
    let d: Dict = [(b"b".to_vec(), Value::Int(1)), (b"a".to_vec(), Value::Int(2))].into();
    assert_eq!(bencode::encode(&Value::Dict(d)), b"d1:ai2e1:bi1ee");
}
