//! Vectors for Bendy Butt feeds and meta feeds (`vectors/feed-bendybutt.json`): honest feeds and
//! meta feeds made by our signer, then one fault per case: every field of the payload, the
//! signature, the size limit, non-canonical bencode, the chain, and each meta feed content rule.
//! Faulty messages are built as raw bencode and signed over their own payload bytes, so that only
//! the rule under test can fail.

use rand_chacha::ChaCha20Rng;
use rand_core::{RngCore, SeedableRng};
use serde_json::json;
use ssb_impl::bendybutt::bencode::{encode, Dict, Value as B};
use ssb_impl::bendybutt::bfe::{encode_signature, encode_string, FeedRef, MsgRef, NIL};
use ssb_impl::bendybutt::message::{sign_content, Content, Payload};
use ssb_impl::bendybutt::metafeed::{MetafeedContent, MetafeedMsgType, Tangle};
use ssb_impl::{crypto, Keypair};

use super::{h, Builder, Intent};
use crate::file::VectorFile;

const NOTES: &[(&str, &str)] = &[
    (
        "valid",
        "an honest feed: every message accepted, keys as given; content is [dictionary, content signature]",
    ),
    (
        "metafeed",
        "a meta feed: each message also carries management content signed by its subfeed",
    ),
    (
        "sequence_type",
        "the sequence is not an integer of at least 1 (0, or a byte string)",
    ),
    (
        "other_author",
        "a later message signed and authored by another feed",
    ),
    (
        "metafeed_not_author",
        "management content whose metafeed field is a valid id, but not the message's author",
    ),
    (
        "encrypted_content",
        "content in the spec's second shape: BFE-encoded encrypted data, opaque",
    ),
    (
        "hmac",
        "an HMAC-signed network: signatures cover crypto_auth(payload, key)",
    ),
    (
        "author",
        "the author field is not a bendybutt-v1 feed id (type, format or length)",
    ),
    (
        "previous",
        "the previous field is wrong: type, format, length, nil after the first, not nil on the first",
    ),
    ("sequence", "the sequence is 0, skips, or repeats"),
    (
        "chain",
        "the message does not extend the feed: wrong previous key, another author",
    ),
    (
        "signature",
        "the signature is wrong: its BFE marker, its length, or a flipped bit",
    ),
    (
        "size_limit",
        "the encoded message is at the 8192-byte limit (valid) or over it",
    ),
    (
        "non_canonical",
        "bytes that decode as bencode but not canonically (unsorted keys, leading zeros)",
    ),
    (
        "shape",
        "not a [payload, signature] list of the right lengths and kinds",
    ),
    (
        "content_rule",
        "meta feed management content breaks one rule (type, subfeed, metafeed, nonce, content signature)",
    ),
];

fn bytes(b: &[u8]) -> B {
    B::Bytes(b.to_vec())
}

fn dict(pairs: &[(&str, B)]) -> Dict {
    pairs
        .iter()
        .map(|(k, v)| (k.as_bytes().to_vec(), v.clone()))
        .collect()
}

/// Signs a raw payload value and wraps it as `[payload, signature BFE]`.
fn raw_message(keys: &Keypair, payload: B, hmac: Option<&[u8; 32]>) -> Vec<u8> {
    let p = encode(&payload);
    let input = match hmac {
        Some(k) => crypto::auth(k, &p).to_vec(),
        None => p,
    };
    let sig = keys.sign(&input);
    encode(&B::List(vec![payload, B::Bytes(encode_signature(&sig))]))
}

/// A raw payload in the usual layout.
fn raw_payload(author: Vec<u8>, seq: i64, previous: Vec<u8>, ts: i64, content: B) -> B {
    B::List(vec![
        B::Bytes(author),
        B::Int(seq),
        B::Bytes(previous),
        B::Int(ts),
        content,
    ])
}

struct Feed {
    keys: Keypair,
}

impl Feed {
    fn author(&self) -> FeedRef {
        FeedRef::bendybutt(*self.keys.public())
    }

    fn message(
        &self,
        seq: u64,
        previous: Option<MsgRef>,
        content: Content,
        hmac: Option<&[u8; 32]>,
    ) -> (Vec<u8>, MsgRef) {
        let p = Payload {
            author: self.author(),
            sequence: seq,
            previous,
            timestamp: 1_700_000_000 + seq as i64,
            content,
        };
        let m = p.sign(&self.keys, hmac).expect("our payloads are valid");
        (m.encode(), m.key())
    }
}

/// Content in the spec's first shape, `[dictionary, content signature]`, signed here by the
/// author's own key (the spec allows another key; meta feeds use the subfeed's).
fn text_content(keys: &Keypair, t: &str, hmac: Option<&[u8; 32]>) -> Content {
    let d = dict(&[
        ("type", bytes(&encode_string("post"))),
        ("text", bytes(&encode_string(t))),
    ]);
    sign_content(d, keys, hmac)
}

pub fn generate(seed: u64) -> VectorFile {
    let mut rng = ChaCha20Rng::seed_from_u64(seed ^ 0x4242_4d46); // "BBMF"
    let mut b = Builder::new(
        "feed-bendybutt",
        "Bendy Butt feeds and meta feeds: a list of encoded messages validated in order; see conformance/ADAPTER.md (suite feed-bendybutt)",
        NOTES,
    );
    let feed = Feed {
        keys: Keypair::generate(&mut rng),
    };
    let add = |b: &mut Builder,
               comment: &str,
               flags: &[&str],
               msgs: &[Vec<u8>],
               metafeed: bool,
               hmac: Option<&[u8; 32]>,
               intent: Intent| {
        let args = json!({
            "messages": msgs.iter().map(|m| h(m)).collect::<Vec<_>>(),
            "metafeed": metafeed,
            "hmac_key": hmac.map_or(serde_json::Value::Null, |k| h(k)),
        });
        b.add(comment, flags, "bendybutt.validate", args, intent);
    };

    // An honest plain feed.
    let (m1, k1) = feed.message(1, None, text_content(&feed.keys, "hello", None), None);
    let (m2, k2) = feed.message(
        2,
        Some(k1.clone()),
        text_content(&feed.keys, "second", None),
        None,
    );
    // The spec's second content shape: BFE encrypted data (05 01: box2), alone.
    let (m2e, _) = feed.message(
        2,
        Some(k1.clone()),
        Content::Encrypted([&[5u8, 1][..], &[9u8; 40]].concat()),
        None,
    );
    let (m3, k3) = feed.message(
        3,
        Some(k2.clone()),
        text_content(&feed.keys, "héllo again 🌍", None),
        None,
    );
    add(
        &mut b,
        "three messages",
        &["valid"],
        &[m1.clone(), m2.clone(), m3.clone()],
        false,
        None,
        Intent::Accept,
    );
    add(
        &mut b,
        "a message with encrypted content",
        &["valid", "encrypted_content"],
        &[m1.clone(), m2e],
        false,
        None,
        Intent::Accept,
    );

    // HMAC network.
    let mut key = [0u8; 32];
    rng.fill_bytes(&mut key);
    let (h1, hk1) = feed.message(
        1,
        None,
        text_content(&feed.keys, "private network", Some(&key)),
        Some(&key),
    );
    let (h2, _) = feed.message(
        2,
        Some(hk1),
        text_content(&feed.keys, "still private", Some(&key)),
        Some(&key),
    );
    add(
        &mut b,
        "HMAC-signed feed with its key",
        &["valid", "hmac"],
        &[h1.clone(), h2],
        false,
        Some(&key),
        Intent::Accept,
    );
    add(
        &mut b,
        "HMAC-signed feed without the key",
        &["hmac", "signature"],
        std::slice::from_ref(&h1),
        false,
        None,
        Intent::Reject("invalid_signature"),
    );
    add(
        &mut b,
        "plain feed checked with an HMAC key",
        &["hmac", "signature"],
        std::slice::from_ref(&m1),
        false,
        Some(&key),
        Intent::Reject("invalid_signature"),
    );

    // The payload fields, one at a time.
    let author = feed.author().to_bfe();
    let content = || text_content(&feed.keys, "x", None).to_value();
    let first = |a: Vec<u8>, seq: i64, prev: Vec<u8>| {
        raw_message(&feed.keys, raw_payload(a, seq, prev, 1, content()), None)
    };
    let mut classic = author.clone();
    classic[1] = 0x00;
    let mut msg_type = author.clone();
    msg_type[0] = 0x01;
    add(
        &mut b,
        "author is a classic feed id",
        &["author"],
        &[first(classic, 1, NIL.to_vec())],
        false,
        None,
        Intent::Reject("invalid_author"),
    );
    add(
        &mut b,
        "author has the message type code",
        &["author"],
        &[first(msg_type, 1, NIL.to_vec())],
        false,
        None,
        Intent::Reject("invalid_author"),
    );
    add(
        &mut b,
        "author key of 31 bytes",
        &["author"],
        &[first(author[..33].to_vec(), 1, NIL.to_vec())],
        false,
        None,
        Intent::Reject("invalid_author"),
    );
    add(
        &mut b,
        "first message whose previous is not nil",
        &["previous"],
        &[first(author.clone(), 1, k3.to_bfe())],
        false,
        None,
        Intent::Reject("invalid_previous"),
    );
    add(
        &mut b,
        "sequence 0",
        &["sequence", "sequence_type"],
        &[first(author.clone(), 0, NIL.to_vec())],
        false,
        None,
        Intent::Reject("invalid_sequence"),
    );
    let second = |prev: Vec<u8>, seq: i64| {
        raw_message(
            &feed.keys,
            raw_payload(author.clone(), seq, prev, 2, content()),
            None,
        )
    };
    add(
        &mut b,
        "second message with a nil previous",
        &["previous"],
        &[m1.clone(), second(NIL.to_vec(), 2)],
        false,
        None,
        Intent::Reject("invalid_previous"),
    );
    let mut prev_classic = k1.to_bfe();
    prev_classic[1] = 0x00;
    add(
        &mut b,
        "previous in the classic message format",
        &["previous"],
        &[m1.clone(), second(prev_classic, 2)],
        false,
        None,
        Intent::Reject("invalid_previous"),
    );
    let mut prev_type = k1.to_bfe();
    prev_type[0] = 0x00;
    add(
        &mut b,
        "previous with the feed type code",
        &["previous"],
        &[m1.clone(), second(prev_type, 2)],
        false,
        None,
        Intent::Reject("invalid_previous"),
    );
    add(
        &mut b,
        "previous of 31 bytes",
        &["previous"],
        &[m1.clone(), second(k1.to_bfe()[..33].to_vec(), 2)],
        false,
        None,
        Intent::Reject("invalid_previous"),
    );
    add(
        &mut b,
        "previous names another message",
        &["chain"],
        &[m1.clone(), m2.clone(), second(k1.to_bfe(), 3)],
        false,
        None,
        Intent::Reject("previous_mismatch"),
    );
    add(
        &mut b,
        "sequence skips one (previous is right)",
        &["sequence"],
        &[
            m1.clone(),
            feed.message(
                3,
                Some(k1.clone()),
                text_content(&feed.keys, "skips 2", None),
                None,
            )
            .0,
        ],
        false,
        None,
        Intent::Reject("sequence_mismatch"),
    );
    add(
        &mut b,
        "the same message twice",
        &["sequence"],
        &[m1.clone(), m1.clone()],
        false,
        None,
        Intent::Reject("sequence_mismatch"),
    );
    add(
        &mut b,
        "a feed that starts at sequence 2",
        &["sequence"],
        std::slice::from_ref(&m2),
        false,
        None,
        Intent::Reject("first_sequence_not_one"),
    );
    let other = Feed {
        keys: Keypair::generate(&mut rng),
    };
    let (o2, _) = other.message(
        2,
        Some(k1.clone()),
        text_content(&other.keys, "not my feed", None),
        None,
    );
    add(
        &mut b,
        "another author continues the feed",
        &["chain", "other_author"],
        &[m1.clone(), o2],
        false,
        None,
        Intent::Reject("author_mismatch"),
    );

    // The signature.
    let signed_as = |f: &dyn Fn(&mut Vec<u8>)| {
        let payload = raw_payload(author.clone(), 1, NIL.to_vec(), 1, content());
        let mut sig = encode_signature(&feed.keys.sign(&encode(&payload)));
        f(&mut sig);
        encode(&B::List(vec![payload, B::Bytes(sig)]))
    };
    add(
        &mut b,
        "signature marker 04 01",
        &["signature"],
        &[signed_as(&|s| s[1] = 1)],
        false,
        None,
        Intent::Reject("invalid_signature_format"),
    );
    add(
        &mut b,
        "signature of 63 bytes",
        &["signature"],
        &[signed_as(&|s| {
            s.pop();
        })],
        false,
        None,
        Intent::Reject("invalid_signature_format"),
    );
    add(
        &mut b,
        "a bit flipped in the signature",
        &["signature"],
        &[signed_as(&|s| s[20] ^= 8)],
        false,
        None,
        Intent::Reject("invalid_signature"),
    );
    let impostor = Keypair::generate(&mut rng);
    add(
        &mut b,
        "signed by another key than the author's",
        &["signature"],
        &[raw_message(
            &impostor,
            raw_payload(author.clone(), 1, NIL.to_vec(), 1, content()),
            None,
        )],
        false,
        None,
        Intent::Reject("invalid_signature"),
    );

    // Size: find the text length that puts the encoded message at 8192 bytes.
    let sized = |n: usize| {
        let content = text_content(&feed.keys, &"a".repeat(n), None).to_value();
        raw_message(
            &feed.keys,
            raw_payload(author.clone(), 1, NIL.to_vec(), 1, content),
            None,
        )
    };
    let base = sized(0).len();
    let at = |len: usize| {
        // Growing the text by one byte grows the message by one, except when the length prefix
        // gains a digit; search near the estimate.
        (len.saturating_sub(base + 8)..=len - base + 8)
            .map(sized)
            .find(|m| m.len() == len)
            .expect("reachable size")
    };
    add(
        &mut b,
        "message of exactly 8192 bytes",
        &["valid", "size_limit"],
        &[at(8192)],
        false,
        None,
        Intent::Accept,
    );
    add(
        &mut b,
        "message of 8193 bytes",
        &["size_limit"],
        &[at(8193)],
        false,
        None,
        Intent::Reject("too_long"),
    );
    add(
        &mut b,
        "message of 8194 bytes",
        &["size_limit"],
        &[at(8194)],
        false,
        None,
        Intent::Reject("too_long"),
    );

    // Bytes that are not canonical bencode, and wrong shapes.
    let canonical = m1.clone();
    let mut leading_zero = canonical.clone();
    if let Some(pos) = leading_zero.windows(3).position(|w| w == b"i1e") {
        leading_zero.splice(pos..pos + 3, b"i01e".iter().copied());
    }
    add(
        &mut b,
        "sequence written i01e",
        &["non_canonical"],
        &[leading_zero],
        false,
        None,
        Intent::Reject("invalid_bencode"),
    );
    let unsorted = {
        // The encoder always sorts, so write the content dictionary by hand: type before text.
        let mut payload = b"l".to_vec();
        payload.extend(encode(&bytes(&author)));
        payload.extend(b"i1e");
        payload.extend(encode(&bytes(&NIL)));
        payload.extend(b"i1e");
        payload.extend(b"d4:type");
        payload.extend(encode(&bytes(&encode_string("post"))));
        payload.extend(b"4:text");
        payload.extend(encode(&bytes(&encode_string("x"))));
        payload.extend(b"ee");
        let sig = encode_signature(&feed.keys.sign(&payload));
        [&b"l"[..], &payload, &encode(&B::Bytes(sig)), b"e"].concat()
    };
    add(
        &mut b,
        "content dictionary keys out of order",
        &["non_canonical"],
        &[unsorted],
        false,
        None,
        Intent::Reject("invalid_bencode"),
    );
    add(
        &mut b,
        "a bare payload without a signature",
        &["shape"],
        &[encode(&raw_payload(
            author.clone(),
            1,
            NIL.to_vec(),
            1,
            content(),
        ))],
        false,
        None,
        Intent::Reject("invalid_shape"),
    );
    add(
        &mut b,
        "payload of four fields",
        &["shape"],
        &[raw_message(
            &feed.keys,
            B::List(vec![bytes(&author), B::Int(1), bytes(&NIL), B::Int(1)]),
            None,
        )],
        false,
        None,
        Intent::Reject("invalid_shape"),
    );
    add(
        &mut b,
        "sequence as a byte string",
        &["shape", "sequence_type"],
        &[raw_message(
            &feed.keys,
            B::List(vec![
                bytes(&author),
                bytes(b"1"),
                bytes(&NIL),
                B::Int(1),
                content(),
            ]),
            None,
        )],
        false,
        None,
        Intent::Reject("invalid_shape"),
    );

    metafeed_cases(&mut b, &mut rng, &add);
    b.finish()
}

type Add<'a> = dyn Fn(&mut Builder, &str, &[&str], &[Vec<u8>], bool, Option<&[u8; 32]>, Intent) + 'a;

fn metafeed_cases(b: &mut Builder, rng: &mut ChaCha20Rng, add: &Add) {
    let mf = Feed {
        keys: Keypair::generate(rng),
    };
    let main = Keypair::generate(rng);
    let old = Keypair::generate(rng);
    let mut nonce = [0u8; 32];
    rng.fill_bytes(&mut nonce);
    let derived = MetafeedContent {
        kind: MetafeedMsgType::AddDerived,
        subfeed: FeedRef::classic(*main.public()),
        metafeed: mf.author(),
        feedpurpose: Some("main".into()),
        nonce: Some(nonce),
        tangles: Some([(b"metafeed".to_vec(), Tangle::default())].into_iter().collect()),
        extra: Dict::new(),
    };
    let existing = MetafeedContent {
        kind: MetafeedMsgType::AddExisting,
        subfeed: FeedRef::classic(*old.public()),
        metafeed: mf.author(),
        feedpurpose: Some("legacy".into()),
        nonce: None,
        tangles: None,
        extra: Dict::new(),
    };
    let (a1, k1) = mf.message(1, None, derived.sign(&main, None).expect("subfeed key"), None);
    let (a2, k2) = mf.message(
        2,
        Some(k1.clone()),
        existing.sign(&old, None).expect("subfeed key"),
        None,
    );
    let tomb = MetafeedContent {
        kind: MetafeedMsgType::Tombstone,
        feedpurpose: None,
        ..derived.clone()
    };
    let (a3, _) = mf.message(3, Some(k2), tomb.sign(&main, None).expect("subfeed key"), None);
    add(
        b,
        "a meta feed: add/derived, add/existing, tombstone",
        &["valid", "metafeed"],
        &[a1.clone(), a2, a3],
        true,
        None,
        Intent::Accept,
    );

    let bad = |b: &mut Builder, comment: &str, content: Content, kind: &'static str| {
        let (m, _) = mf.message(1, None, content, None);
        let flags: &[&str] = if kind == "metafeed_metafeed" {
            &["metafeed", "content_rule", "metafeed_not_author"]
        } else {
            &["metafeed", "content_rule"]
        };
        add(b, comment, flags, &[m], true, None, Intent::Reject(kind));
    };
    let mut d = derived.to_dict();
    d.insert(b"type".to_vec(), bytes(&encode_string("metafeed/add")));
    bad(
        b,
        "unknown management type",
        sign_content(d, &main, None),
        "metafeed_type",
    );
    let mut d = derived.to_dict();
    let mut sub = derived.subfeed.to_bfe();
    sub.truncate(20);
    d.insert(b"subfeed".to_vec(), B::Bytes(sub));
    bad(
        b,
        "subfeed id cut short",
        sign_content(d, &main, None),
        "metafeed_subfeed",
    );
    let stranger = Keypair::generate(rng);
    let other_mf = MetafeedContent {
        metafeed: FeedRef::bendybutt(*stranger.public()),
        ..derived.clone()
    };
    bad(
        b,
        "metafeed field names another meta feed",
        other_mf.sign(&main, None).expect("subfeed key"),
        "metafeed_metafeed",
    );
    let mut d = derived.to_dict();
    d.insert(b"nonce".to_vec(), B::Bytes([&[6u8, 3][..], &[1u8; 31]].concat()));
    bad(
        b,
        "nonce of 31 bytes",
        sign_content(d, &main, None),
        "metafeed_nonce",
    );
    bad(
        b,
        "content signed by another key than the subfeed's",
        derived
            .sign(&main, None)
            .map(|c| match c {
                Content::Signed { dict, .. } => sign_content(dict, &stranger, None),
                other => other,
            })
            .expect("subfeed key"),
        "metafeed_content_signature",
    );
    let plain = Content::Dict(derived.to_dict());
    bad(
        b,
        "management content without its subfeed signature",
        plain,
        "metafeed_content",
    );
    let _ = (a1, k1);
}
