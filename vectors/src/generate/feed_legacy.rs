//! Vectors for classic messages (`vectors/feed-legacy.json`): the signing encoding of values
//! (numbers, unicode, escapes, lone surrogates, integer-like and duplicate keys) and the
//! validation of messages against a feed state (size limit, field order, each wrong field,
//! previous/sequence, signatures and their ed25519 edge cases, forks, HMAC networks).

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use curve25519_dalek::constants::{ED25519_BASEPOINT_POINT, EIGHT_TORSION};
use curve25519_dalek::scalar::Scalar;
use rand_chacha::ChaCha20Rng;
use rand_core::{RngCore, SeedableRng};
use serde_json::json;
use sha2::{Digest, Sha512};
use ssb_impl::legacy::message::{message_id, signed_bytes, MsgId};
use ssb_impl::legacy::{to_compact_units, to_signing_units, JsString, Object, Value};
use ssb_impl::Keypair;

use super::{Builder, Intent};
use crate::file::VectorFile;

const NOTES: &[(&str, &str)] = &[
    ("encode", "op legacy.encode: JSON.parse then JSON.stringify(v, null, 2); encoding, UTF-16 length, latin-1 sha256"),
    ("validate", "op feed.validate: one message against the state of its feed"),
    ("number_format", "ECMAScript Number::toString: exponents from 1e21 and below 1e-6, -0 as 0, shortest round trip"),
    ("number_overflow", "a number that JSON.parse rounds to ±Infinity, which JSON.stringify prints as null"),
    ("unicode", "non-ASCII text, written as is (surrogate pairs, CJK, combining marks, U+2028/U+2029, DEL)"),
    ("escapes", "every JSON escape on input; on output only \\\" \\\\ \\b \\f \\n \\r \\t and \\u00XX for other control characters"),
    ("lone_surrogate", "a string holding a lone UTF-16 surrogate (from a \\u escape); JSON.stringify writes it as \\udXXX"),
    ("integer_keys", "object keys that are canonical array indices come first, ascending, as V8 orders them"),
    ("duplicate_keys", "a key given twice: first position, last value (JSON.parse)"),
    ("nesting", "empty and nested objects and arrays"),
    ("whitespace", "insignificant white space in the input"),
    ("invalid_json", "text JSON.parse refuses"),
    ("valid", "a valid message: the id must match"),
    ("first_message", "the first message of a feed (no state)"),
    ("author_sequence_swapped", "author before sequence: the other allowed order"),
    ("size_limit", "the signing encoding of the whole message is 8191, 8192 (both valid) or 8193 UTF-16 units"),
    ("size_utf16", "the size is counted in UTF-16 units, not bytes: a message of 8192 units that is far more bytes in UTF-8"),
    ("field_order", "the keys are present but in an order that is not allowed, or one is missing or extra"),
    ("wrong_field", "one field has a wrong type or value"),
    ("author_tag", "an author id whose tag is not .ed25519"),
    ("content_array", "content that is an array (an object to JavaScript's typeof)"),
    ("overlong_signature", "a valid signature with bytes appended: 65 and 66 bytes still spell 88 base64 characters"),
    ("int32_sequence", "sequence outside int32: ssb-validate's ~~n === n refuses it"),
    ("timestamp_later", "a non-number timestamp on a message after the first"),
    ("content_type_units", "content type length counted in UTF-16 units (astral characters count 2)"),
    ("box_suffix", "string content: canonical base64 followed by .box and anything (.box, .box2, .boxfoo)"),
    ("wrong_previous", "previous is not the id of the feed's last message"),
    ("wrong_sequence", "sequence is not the last one + 1"),
    ("fork", "a validly signed message whose previous is another message at the same sequence as the last"),
    ("bad_signature", "the signature does not verify"),
    ("small_order_key", "author is a small-order point with a signature satisfying the equation (libsodium refuses)"),
    ("non_canonical_s", "signature S + L instead of S (libsodium refuses)"),
    ("non_canonical_r", "signature R in a non-canonical encoding of a small-order point (libsodium refuses)"),
    ("mixed_order_key", "author has a torsion component, signature valid under the cofactorless equation (libsodium accepts)"),
    ("surrogate_replaced", "a lone surrogate replaced by U+FFFD after signing (what ssb-db2 stores): the signature no longer verifies"),
    ("hmac", "an HMAC-signed network: the signed bytes are crypto_auth(encoding, caps.sign)"),
    ("hmac_key_invalid", "the HMAC key argument is not base64 of 32 bytes"),
    ("signed_number", "signed content holding a number as written on the wire (integer, fraction, exponent, -0, beyond 2^53, beyond u64): the signature covers JSON.stringify of JSON.parse of it"),
];

fn s(x: &str) -> Value {
    Value::string(x)
}

fn n(x: f64) -> Value {
    Value::Number(x)
}

fn obj(fields: Vec<(&str, Value)>) -> Value {
    let mut o = Object::new();
    for (k, v) in fields {
        o.insert(JsString::from(k), v);
    }
    Value::Object(o)
}

/// The JSON text of a value as JSON.stringify (compact) writes it, as UTF-8.
fn text(v: &Value) -> Vec<u8> {
    String::from_utf16(&to_compact_units(v))
        .expect("JSON.stringify output is well-formed")
        .into_bytes()
}

fn hexv(bytes: &[u8]) -> serde_json::Value {
    serde_json::Value::String(hex::encode(bytes))
}

/// Builds a message object in the given key order and appends a signature made by `keys`
/// (or by the signer function when one is given).
struct Signer {
    keys: Keypair,
}

impl Signer {
    fn id(&self) -> String {
        self.keys.id().to_string()
    }

    fn sign(&self, fields: Vec<(&str, Value)>, hmac: Option<&[u8; 32]>) -> Object {
        let Value::Object(mut o) = obj(fields) else {
            unreachable!("obj builds objects")
        };
        let sig = self.keys.sign(&signed_bytes(&o, hmac));
        o.insert(
            "signature".into(),
            s(&format!("{}.sig.ed25519", STANDARD.encode(sig))),
        );
        o
    }

    /// The usual message, in ssb-validate's order.
    fn message(&self, previous: Option<MsgId>, seq: f64, content: Value, hmac: Option<&[u8; 32]>) -> Object {
        self.sign(
            vec![
                ("previous", previous.map_or(Value::Null, |p| s(&p.to_string()))),
                ("sequence", n(seq)),
                ("author", s(&self.id())),
                ("timestamp", n(1_700_000_000_000.0 + seq)),
                ("hash", s("sha256")),
                ("content", content),
            ],
            hmac,
        )
    }
}

fn post(text: &str) -> Value {
    obj(vec![("type", s("post")), ("text", s(text))])
}

fn state(id: &MsgId, seq: f64) -> serde_json::Value {
    json!({"id": id.to_string(), "sequence": seq})
}

fn with(o: &Object, key: &str, v: Value) -> Object {
    let mut o = o.clone();
    o.insert(JsString::from(key), v);
    o
}

/// A message object with its keys in another order.
fn reorder(o: &Object, keys: &[&str]) -> Object {
    let mut out = Object::new();
    for k in keys {
        if let Some(v) = o.get(k) {
            out.insert(JsString::from(*k), v.clone());
        }
    }
    out
}

/// Signs `unsigned` with a raw secret scalar for a public point whose encoding is given: used
/// for keys that no seed produces (a torsion component added).
fn sign_raw(a: Scalar, public: [u8; 32], msg: &[u8], rng: &mut ChaCha20Rng) -> Option<[u8; 64]> {
    let mut rb = [0u8; 64];
    rng.fill_bytes(&mut rb);
    let r = Scalar::from_bytes_mod_order_wide(&rb);
    let big_r = (r * ED25519_BASEPOINT_POINT).compress().to_bytes();
    let k_hash: [u8; 64] = Sha512::new()
        .chain_update(big_r)
        .chain_update(public)
        .chain_update(msg)
        .finalize()
        .into();
    let k = Scalar::from_bytes_mod_order_wide(&k_hash);
    // The cofactorless equation holds with a torsion component of order 8 only when k ≡ 0 (mod 8).
    if k.as_bytes()[0] & 7 != 0 {
        return None;
    }
    let sig_s = r + k * a;
    let mut sig = [0u8; 64];
    sig[..32].copy_from_slice(&big_r);
    sig[32..].copy_from_slice(sig_s.as_bytes());
    Some(sig)
}

/// The keys of the author of the generated feed (for tests that re-sign a repaired case).
pub fn author(seed: u64) -> Keypair {
    Keypair::generate(&mut ChaCha20Rng::seed_from_u64(seed ^ 0x4645_4544))
}

pub fn generate(seed: u64) -> VectorFile {
    let mut rng = ChaCha20Rng::seed_from_u64(seed ^ 0x4645_4544); // "FEED"
    let mut b = Builder::new(
        "feed-legacy",
        "Classic messages: signing encoding of values and validation against a feed state; see conformance/ADAPTER.md (suite feed-legacy)",
        NOTES,
    );
    encode_cases(&mut b);

    let alice = Signer {
        keys: Keypair::generate(&mut rng),
    };
    let validate = |b: &mut Builder,
                    comment: &str,
                    flags: &[&str],
                    st: serde_json::Value,
                    hmac: serde_json::Value,
                    msg: &[u8],
                    intent: Intent| {
        let mut all = vec!["validate"];
        all.extend_from_slice(flags);
        b.add(
            comment,
            &all,
            "feed.validate",
            json!({"state": st, "hmac_key": hmac, "message": hexv(msg)}),
            intent,
        );
    };
    let null = serde_json::Value::Null;

    // A valid feed of three messages.
    let m1 = alice.message(None, 1.0, post("hello world"), None);
    let id1 = message_id(&m1);
    let m2 = alice.message(
        Some(id1),
        2.0,
        obj(vec![
            ("type", s("vote")),
            (
                "vote",
                obj(vec![("link", s(&id1.to_string())), ("value", n(1.0))]),
            ),
        ]),
        None,
    );
    let id2 = message_id(&m2);
    validate(
        &mut b,
        "first message of a feed",
        &["valid", "first_message"],
        null.clone(),
        null.clone(),
        &text(&Value::Object(m1.clone())),
        Intent::Accept,
    );
    validate(
        &mut b,
        "second message after the first",
        &["valid"],
        state(&id1, 1.0),
        null.clone(),
        &text(&Value::Object(m2.clone())),
        Intent::Accept,
    );
    let swapped = alice.sign(
        vec![
            ("previous", s(&id2.to_string())),
            ("author", s(&alice.id())),
            ("sequence", n(3.0)),
            ("timestamp", n(1_700_000_000_003.0)),
            ("hash", s("sha256")),
            ("content", post("author before sequence")),
        ],
        None,
    );
    validate(
        &mut b,
        "author before sequence is allowed",
        &["valid", "author_sequence_swapped"],
        state(&id2, 2.0),
        null.clone(),
        &text(&Value::Object(swapped)),
        Intent::Accept,
    );

    // Content that exercises the encoding inside a signed message.
    for (comment, content, flag) in [
        (
            "unicode and escapes in a post",
            post("héllo 🌍 世界 e\u{301} \u{2028} \"q\" \\ \n\t\u{1}"),
            "unicode",
        ),
        (
            "numbers of many magnitudes in content",
            obj(vec![
                ("type", s("numbers")),
                ("a", n(1e21)),
                ("b", n(1e-7)),
                ("c", n(0.1)),
                ("d", n(-0.0)),
                ("e", n(123456789012345680000.0)),
                ("f", n(5e-324)),
            ]),
            "number_format",
        ),
        (
            "integer-like keys in content",
            obj(vec![
                ("type", s("ordering")),
                ("b", n(1.0)),
                ("2", n(2.0)),
                ("a", n(3.0)),
                ("1", n(4.0)),
                ("01", n(5.0)),
            ]),
            "integer_keys",
        ),
        (
            "a lone surrogate in a post",
            Value::Object({
                let Value::Object(mut o) = post("x") else {
                    unreachable!()
                };
                o.insert("text".into(), Value::String(JsString(vec![0x61, 0xd800, 0x62])));
                o
            }),
            "lone_surrogate",
        ),
    ] {
        let m = alice.message(None, 1.0, content, None);
        validate(
            &mut b,
            comment,
            &["valid", "first_message", flag],
            null.clone(),
            null.clone(),
            &text(&Value::Object(m)),
            Intent::Accept,
        );
    }

    // ssb-db2 stores lone surrogates as U+FFFD: the stored message no longer verifies.
    let lone = alice.message(
        None,
        1.0,
        Value::Object({
            let Value::Object(mut o) = post("x") else {
                unreachable!()
            };
            o.insert("text".into(), Value::String(JsString(vec![0x61, 0xd800, 0x62])));
            o
        }),
        None,
    );
    let replaced = with(&lone, "content", post("a\u{fffd}b"));
    validate(
        &mut b,
        "lone surrogate replaced by U+FFFD after signing",
        &["surrogate_replaced", "bad_signature"],
        null.clone(),
        null.clone(),
        &text(&Value::Object(replaced)),
        Intent::Reject("invalid_signature"),
    );

    size_cases(&mut b, &alice, &validate);
    order_and_field_cases(&mut b, &alice, &m1, &id1, &validate);

    // Previous and sequence.
    // One fault per case: previous is right wherever sequence is wrong, and the other way
    // round, so the order of the two checks never decides a case.
    let m3 = alice.message(Some(id2), 3.0, post("third"), None);
    let skips = alice.message(Some(id1), 3.0, post("skips sequence 2"), None);
    validate(
        &mut b,
        "sequence skips one",
        &["wrong_sequence"],
        state(&id1, 1.0),
        null.clone(),
        &text(&Value::Object(skips)),
        Intent::Reject("sequence_mismatch"),
    );
    let repeats = alice.message(Some(id2), 2.0, post("repeats sequence 2"), None);
    validate(
        &mut b,
        "sequence repeats the state's",
        &["wrong_sequence"],
        state(&id2, 2.0),
        null.clone(),
        &text(&Value::Object(repeats)),
        Intent::Reject("sequence_mismatch"),
    );
    let other_prev = alice.message(Some(id1), 3.0, post("previous points one back"), None);
    validate(
        &mut b,
        "previous names the message before the last",
        &["wrong_previous", "fork"],
        state(&id2, 2.0),
        null.clone(),
        &text(&Value::Object(other_prev)),
        Intent::Reject("previous_mismatch"),
    );
    let fork2 = alice.message(Some(id1), 2.0, post("a second message 2"), None);
    let fork3 = alice.message(
        Some(message_id(&fork2)),
        3.0,
        post("continues the other branch"),
        None,
    );
    validate(
        &mut b,
        "validly signed message continuing another branch at the last sequence",
        &["fork", "wrong_previous"],
        state(&id2, 2.0),
        null.clone(),
        &text(&Value::Object(fork3)),
        Intent::Reject("previous_mismatch"),
    );
    // The rewritten previous names the state's last message, so only the signature is wrong.
    let fork2_id = message_id(&fork2);
    let forged_prev = with(&m3, "previous", s(&fork2_id.to_string()));
    validate(
        &mut b,
        "previous rewritten after signing to the state's last id",
        &["bad_signature"],
        state(&fork2_id, 2.0),
        null.clone(),
        &text(&Value::Object(forged_prev)),
        Intent::Reject("invalid_signature"),
    );
    let first_with_previous = alice.message(Some(id1), 1.0, post("sequence 1 with a previous"), None);
    validate(
        &mut b,
        "a first message (sequence 1) that has a previous",
        &["first_message", "wrong_previous"],
        null.clone(),
        null.clone(),
        &text(&Value::Object(first_with_previous)),
        Intent::Reject("first_previous_not_null"),
    );
    let seq2_first = alice.message(None, 2.0, post("starts at two"), None);
    validate(
        &mut b,
        "a first message with sequence 2",
        &["first_message", "wrong_sequence"],
        null.clone(),
        null.clone(),
        &text(&Value::Object(seq2_first)),
        Intent::Reject("first_sequence_not_one"),
    );

    signature_cases(&mut b, &alice, &mut rng, &validate);
    hmac_cases(&mut b, &alice, &mut rng, &validate);
    // Appended after the older cases so that their ids stay as they were.
    boundary_cases(&mut b, &alice, &id2, &mut rng, &validate);
    b.finish()
}

/// Boundaries added for single-fault coverage: each character class at each size limit, each
/// number class in a signed message, and a previous from another feed.
fn boundary_cases(b: &mut Builder, alice: &Signer, id2: &MsgId, rng: &mut ChaCha20Rng, validate: &Validate) {
    let null = || serde_json::Value::Null;
    // 3-byte (BMP) and astral characters at 8191, 8192 and 8193 UTF-16 units; an astral
    // character is two units, so an odd target takes one ASCII character more.
    for (fill, per_char, name) in [("中", 1usize, "3-byte"), ("😀", 2, "astral")] {
        let units_for = |count: usize, pad: usize| {
            let t = format!("{}{}", fill.repeat(count), "a".repeat(pad));
            let m = alice.message(None, 1.0, post(&t), None);
            (to_signing_units(&Value::Object(m.clone())).len(), m)
        };
        let base = units_for(0, 0).0;
        for target in [8191usize, 8192, 8193] {
            let count = (target - base) / per_char;
            let pad = (target - base) % per_char;
            let (units, m) = units_for(count, pad);
            assert_eq!(units, target, "{name} fill reaches the target");
            let intent = if target <= 8192 {
                Intent::Accept
            } else {
                Intent::Reject("too_long")
            };
            validate(
                b,
                &format!("message of {target} UTF-16 units ({name} fill)"),
                &["size_limit", "size_utf16"],
                null(),
                null(),
                &text(&Value::Object(m)),
                intent,
            );
        }
    }
    // Each number class in signed content: the text on the wire, the value it signs as.
    for (wire, value, class) in [
        ("42", 42.0, "an integer"),
        ("1.50", 1.5, "a fraction with a trailing zero"),
        ("1e3", 1000.0, "an exponent"),
        ("-1.5e-7", -1.5e-7, "a small negative exponent"),
        ("-0", -0.0, "negative zero (signed as 0)"),
        ("1e21", 1e21, "1e21 (signed as 1e+21)"),
        (
            "9007199254740993",
            9007199254740992.0,
            "2^53 + 1 (signed as 2^53)",
        ),
        (
            "123456789012345680000",
            123456789012345680000.0,
            "an integer above u64",
        ),
        (
            "-123456789012345680000",
            -123456789012345680000.0,
            "a negative integer below i64",
        ),
    ] {
        let content = obj(vec![("type", s("post")), ("n", n(value))]);
        let m = alice.message(None, 1.0, content, None);
        let signed_as = String::from_utf16(&to_compact_units(&n(value))).expect("a number is ASCII");
        let compact = String::from_utf8(text(&Value::Object(m))).expect("UTF-8");
        let needle = format!("\"n\":{signed_as}");
        assert!(compact.contains(&needle), "the number is in the text");
        let wired = compact.replacen(&needle, &format!("\"n\":{wire}"), 1);
        validate(
            b,
            &format!("content holding {class}, written {wire}"),
            &["valid", "first_message", "signed_number"],
            null(),
            null(),
            wired.as_bytes(),
            Intent::Accept,
        );
    }
    // Lone surrogates elsewhere than in the middle of a text: at its end, and in a key.
    let mut tail = Object::new();
    tail.insert("type".into(), s("post"));
    tail.insert("text".into(), Value::String(JsString(vec![0x61, 0x62, 0xdbff])));
    let mut keyed = Object::new();
    keyed.insert("type".into(), s("post"));
    keyed.insert(
        JsString(vec![0xdc00, 0x6b]),
        s("a key starting with a lone low surrogate"),
    );
    for (comment, content) in [
        ("a lone high surrogate ending a post", tail),
        ("a lone low surrogate in a content key", keyed),
    ] {
        let m = alice.message(None, 1.0, Value::Object(content), None);
        validate(
            b,
            comment,
            &["valid", "first_message", "lone_surrogate"],
            null(),
            null(),
            &text(&Value::Object(m)),
            Intent::Accept,
        );
    }
    // previous names a message of another feed (not a fork: nothing of this feed is at 2).
    let bob = Signer {
        keys: Keypair::generate(rng),
    };
    let bob1 = bob.message(None, 1.0, post("bob's first"), None);
    let wrong = alice.message(
        Some(message_id(&bob1)),
        3.0,
        post("previous from another feed"),
        None,
    );
    validate(
        b,
        "previous names another feed's message",
        &["wrong_previous"],
        state(id2, 2.0),
        null(),
        &text(&Value::Object(wrong)),
        Intent::Reject("previous_mismatch"),
    );
}

type Validate<'a> =
    dyn Fn(&mut Builder, &str, &[&str], serde_json::Value, serde_json::Value, &[u8], Intent) + 'a;

fn encode_cases(b: &mut Builder) {
    let encode = |b: &mut Builder, comment: &str, flags: &[&str], text: &str, intent: Intent| {
        let mut all = vec!["encode"];
        all.extend_from_slice(flags);
        b.add(
            comment,
            &all,
            "legacy.encode",
            json!({"json": hexv(text.as_bytes())}),
            intent,
        );
    };
    for t in [
        "1e21",
        "1e-7",
        "123e-20",
        "0.000001",
        "1e-6",
        "100",
        "1.5",
        "-0",
        "-0.0",
        "5e-324",
        "1.7976931348623157e308",
        "123456789012345678901234567890",
        "0.1",
        "1e300",
        "4.35",
        "2e-7",
        "1E+2",
        "9007199254740993",
    ] {
        encode(
            b,
            &format!("number {t}"),
            &["number_format"],
            &format!("{{\"n\": {t}}}"),
            Intent::Accept,
        );
    }
    for t in ["1e400", "-1e400"] {
        encode(
            b,
            &format!("number {t} rounds to infinity"),
            &["number_overflow"],
            &format!("[{t}]"),
            Intent::Accept,
        );
    }
    encode(
        b,
        "astral, CJK, combining, line separators, DEL",
        &["unicode"],
        "{\"t\": \"🌍 世界 é e\u{301} \u{2028}\u{2029} \u{7f} ü\"}",
        Intent::Accept,
    );
    encode(
        b,
        "every input escape",
        &["escapes"],
        r#"{"t": "\" \\ \/ \b \f \n \r \t \u0001 \u001f \u007f \u00e9 \ud83c\udf0d \u2028"}"#,
        Intent::Accept,
    );
    encode(
        b,
        "all control characters escaped",
        &["escapes"],
        r#"["\u0000\u0001\u0002\u0003\u0004\u0005\u0006\u0007\u0008\u0009\u000a\u000b\u000c\u000d\u000e\u000f\u0010\u0011\u0012\u0013\u0014\u0015\u0016\u0017\u0018\u0019\u001a\u001b\u001c\u001d\u001e\u001f"]"#,
        Intent::Accept,
    );
    for (c, t) in [
        ("a lone high surrogate", r#"{"t": "a\ud800b"}"#),
        ("a lone low surrogate", r#"{"t": "\udc00"}"#),
        ("two high surrogates", r#"{"t": "\ud800\ud800"}"#),
        ("low then high", r#"{"t": "\udfff\ud800"}"#),
        ("a lone surrogate as a key", r#"{"\ud801": 1}"#),
    ] {
        encode(b, c, &["lone_surrogate"], t, Intent::Accept);
    }
    encode(
        b,
        "integer-like keys first, ascending",
        &["integer_keys"],
        r#"{"b": 1, "2": 2, "a": 3, "1": 4, "01": 5, "4294967294": 6, "4294967295": 7, "-1": 8, "1.5": 9, "0": 10}"#,
        Intent::Accept,
    );
    encode(
        b,
        "a duplicate key keeps its first place and last value",
        &["duplicate_keys"],
        r#"{"a": 1, "b": 2, "a": 3}"#,
        Intent::Accept,
    );
    encode(
        b,
        "a duplicate integer-like key",
        &["duplicate_keys", "integer_keys"],
        r#"{"x": 0, "7": 1, "7": [2]}"#,
        Intent::Accept,
    );
    encode(
        b,
        "empty and nested containers",
        &["nesting"],
        r#"{"a": {}, "b": [], "c": [[]], "d": [{}, {"e": [1, [2, {"f": null}]]}], "g": true, "h": false}"#,
        Intent::Accept,
    );
    encode(
        b,
        "top-level scalars are values too",
        &["nesting"],
        "\"just a string\"",
        Intent::Accept,
    );
    encode(
        b,
        "white space everywhere allowed",
        &["whitespace"],
        " \t\r\n{ \"a\" :\n[ 1 ,\t2 ] }\n ",
        Intent::Accept,
    );
    for (c, t) in [
        ("trailing comma", "[1, 2,]"),
        ("single quotes", "{'a': 1}"),
        ("NaN", "[NaN]"),
        ("leading zero", "[01]"),
        ("raw control character in a string", "[\"a\u{1}b\"]"),
        ("unknown escape", r#"["\x41"]"#),
        ("truncated", r#"{"a": [1, 2"#),
        ("two values", "1 2"),
        ("empty text", ""),
        ("byte order mark", "\u{feff}[1]"),
    ] {
        encode(b, c, &["invalid_json"], t, Intent::Reject("invalid_json"));
    }
}

fn size_cases(b: &mut Builder, alice: &Signer, validate: &Validate) {
    // Find text lengths that put the signed message at exactly 8191, 8192 and 8193 units.
    let units_for = |fill: &str, count: usize| {
        let m = alice.message(None, 1.0, post(&fill.repeat(count)), None);
        to_signing_units(&Value::Object(m)).len()
    };
    for (fill, flags) in [("a", vec!["size_limit"]), ("é", vec!["size_limit", "size_utf16"])] {
        let base = units_for(fill, 0);
        for target in [8191usize, 8192, 8193] {
            let count = target - base;
            assert_eq!(units_for(fill, count), target, "each fill character is one unit");
            let m = alice.message(None, 1.0, post(&fill.repeat(count)), None);
            let intent = if target <= 8192 {
                Intent::Accept
            } else {
                Intent::Reject("too_long")
            };
            validate(
                b,
                &format!("message of {target} UTF-16 units ({}-byte fill)", fill.len()),
                &flags,
                serde_json::Value::Null,
                serde_json::Value::Null,
                &text(&Value::Object(m)),
                intent,
            );
        }
    }
}

fn order_and_field_cases(b: &mut Builder, alice: &Signer, m1: &Object, id1: &MsgId, validate: &Validate) {
    let null = || serde_json::Value::Null;
    let reorders: [(&str, &[&str]); 5] = [
        (
            "previous not first",
            &[
                "sequence",
                "previous",
                "author",
                "timestamp",
                "hash",
                "content",
                "signature",
            ],
        ),
        (
            "timestamp before author",
            &[
                "previous",
                "timestamp",
                "sequence",
                "author",
                "hash",
                "content",
                "signature",
            ],
        ),
        (
            "content before hash",
            &[
                "previous",
                "sequence",
                "author",
                "timestamp",
                "content",
                "hash",
                "signature",
            ],
        ),
        (
            "signature not last",
            &[
                "previous",
                "sequence",
                "author",
                "timestamp",
                "hash",
                "signature",
                "content",
            ],
        ),
        (
            "hash missing",
            &[
                "previous",
                "sequence",
                "author",
                "timestamp",
                "content",
                "signature",
            ],
        ),
    ];
    for (comment, keys) in reorders {
        validate(
            b,
            comment,
            &["field_order"],
            null(),
            null(),
            &text(&Value::Object(reorder(m1, keys))),
            Intent::Reject("invalid_order"),
        );
    }
    let extra = with(m1, "extra", n(1.0));
    validate(
        b,
        "an extra key after signature",
        &["field_order"],
        null(),
        null(),
        &text(&Value::Object(extra)),
        Intent::Reject("invalid_order"),
    );

    // Each field wrong, in a message signed as it stands (so only that rule can fail).
    let fields = |author: Value, seq: Value, ts: Value, hash: Value, content: Value| {
        vec![
            ("previous", Value::Null),
            ("sequence", seq),
            ("author", author),
            ("timestamp", ts),
            ("hash", hash),
            ("content", content),
        ]
    };
    let id = alice.id();
    let ts = || n(1_700_000_000_000.0);
    // (comment, flags, the fields in order, the expected kind)
    type FieldCase<'a> = (&'a str, Vec<&'a str>, Vec<(&'a str, Value)>, &'static str);
    let cases: Vec<FieldCase> = vec![
        (
            "author is a number",
            vec!["wrong_field"],
            fields(n(1.0), n(1.0), ts(), s("sha256"), post("x")),
            "invalid_author",
        ),
        (
            "author with suffix .sha256",
            vec!["wrong_field", "author_tag"],
            fields(
                s(&id.replace(".ed25519", ".sha256")),
                n(1.0),
                ts(),
                s("sha256"),
                post("x"),
            ),
            "invalid_author",
        ),
        (
            "author of 31 bytes",
            vec!["wrong_field"],
            fields(
                s(&format!("@{}.ed25519", STANDARD.encode([7u8; 31]))),
                n(1.0),
                ts(),
                s("sha256"),
                post("x"),
            ),
            "invalid_author",
        ),
        (
            "timestamp as a string",
            vec!["wrong_field"],
            fields(s(&id), n(1.0), s("1700000000000"), s("sha256"), post("x")),
            "timestamp_not_number",
        ),
        (
            "hash sha512",
            vec!["wrong_field"],
            fields(s(&id), n(1.0), ts(), s("sha512"), post("x")),
            "invalid_properties",
        ),
        (
            "content null",
            vec!["wrong_field"],
            fields(s(&id), n(1.0), ts(), s("sha256"), Value::Null),
            "invalid_properties",
        ),
        (
            "content an array",
            vec!["wrong_field", "content_array"],
            fields(s(&id), n(1.0), ts(), s("sha256"), Value::Array(vec![s("post")])),
            "invalid_properties",
        ),
        (
            "content a number",
            vec!["wrong_field"],
            fields(s(&id), n(1.0), ts(), s("sha256"), n(5.0)),
            "invalid_properties",
        ),
        (
            "content type missing",
            vec!["wrong_field"],
            fields(s(&id), n(1.0), ts(), s("sha256"), obj(vec![("text", s("x"))])),
            "invalid_content_type",
        ),
        (
            "content type of 2 units",
            vec!["wrong_field"],
            fields(s(&id), n(1.0), ts(), s("sha256"), obj(vec![("type", s("ab"))])),
            "invalid_content_type",
        ),
        (
            "content type of 53 units",
            vec!["wrong_field"],
            fields(
                s(&id),
                n(1.0),
                ts(),
                s("sha256"),
                obj(vec![("type", s(&"t".repeat(53)))]),
            ),
            "invalid_content_type",
        ),
        (
            "content type of 27 astral characters (54 units)",
            vec!["wrong_field", "content_type_units"],
            fields(
                s(&id),
                n(1.0),
                ts(),
                s("sha256"),
                obj(vec![("type", s(&"😀".repeat(27)))]),
            ),
            "invalid_content_type",
        ),
        (
            "string content without .box",
            vec!["wrong_field", "box_suffix"],
            fields(s(&id), n(1.0), ts(), s("sha256"), s("aGVsbG8=")),
            "invalid_properties",
        ),
        (
            "string content with non-canonical base64",
            vec!["wrong_field", "box_suffix"],
            fields(s(&id), n(1.0), ts(), s("sha256"), s("aGVsbG9=.box")),
            "invalid_properties",
        ),
    ];
    for (comment, flags, f, kind) in cases {
        let m = alice.sign(f, None);
        validate(
            b,
            comment,
            &flags,
            null(),
            null(),
            &text(&Value::Object(m)),
            Intent::Reject(kind),
        );
    }
    let accepted: Vec<(&str, Vec<&str>, Value)> = vec![
        (
            "content type of exactly 3 units",
            vec!["valid", "first_message"],
            obj(vec![("type", s("abc"))]),
        ),
        (
            "content type of exactly 52 units",
            vec!["valid", "first_message"],
            obj(vec![("type", s(&"t".repeat(52)))]),
        ),
        (
            "content type of 26 astral characters (52 units)",
            vec!["valid", "first_message", "content_type_units"],
            obj(vec![("type", s(&"😀".repeat(26)))]),
        ),
        (
            "boxed content .box",
            vec!["valid", "first_message", "box_suffix"],
            s(&format!("{}.box", STANDARD.encode([1u8; 48]))),
        ),
        (
            "boxed content .box2",
            vec!["valid", "first_message", "box_suffix"],
            s(&format!("{}.box2", STANDARD.encode([2u8; 50]))),
        ),
        (
            "boxed content .boxfoo",
            vec!["valid", "first_message", "box_suffix"],
            s(&format!("{}.boxfoo", STANDARD.encode([3u8; 49]))),
        ),
    ];
    for (comment, flags, content) in accepted {
        let m = alice.message(None, 1.0, content, None);
        validate(
            b,
            comment,
            &flags,
            null(),
            null(),
            &text(&Value::Object(m)),
            Intent::Accept,
        );
    }
    // Sequence faults, each after a state that the sequence passes as "last + 1" (JS compares
    // loosely), so only the type rule can fail.
    for (comment, seq, st) in [
        ("sequence 1.5 after 0.5", n(1.5), 0.5),
        ("sequence \"2\" (a string) after 1", s("2"), 1.0),
    ] {
        let m = alice.sign(
            vec![
                ("previous", s(&id1.to_string())),
                ("sequence", seq),
                ("author", s(&id)),
                ("timestamp", ts()),
                ("hash", s("sha256")),
                ("content", post("x")),
            ],
            None,
        );
        validate(
            b,
            comment,
            &["wrong_field"],
            state(id1, st),
            null(),
            &text(&Value::Object(m)),
            Intent::Reject("invalid_properties"),
        );
    }
    // Sequence 2^31 is an integer, but not an int32.
    let big = alice.sign(
        vec![
            ("previous", s(&id1.to_string())),
            ("sequence", n(2147483648.0)),
            ("author", s(&id)),
            ("timestamp", ts()),
            ("hash", s("sha256")),
            ("content", post("x")),
        ],
        None,
    );
    validate(
        b,
        "sequence 2^31 after state 2^31 - 1",
        &["wrong_field", "int32_sequence"],
        state(id1, 2147483647.0),
        null(),
        &text(&Value::Object(big)),
        Intent::Reject("invalid_properties"),
    );
    let later_ts = alice.sign(
        vec![
            ("previous", s(&id1.to_string())),
            ("sequence", n(2.0)),
            ("author", s(&id)),
            ("timestamp", s("later")),
            ("hash", s("sha256")),
            ("content", post("x")),
        ],
        None,
    );
    validate(
        b,
        "a string timestamp on the second message",
        &["wrong_field", "timestamp_later"],
        state(id1, 1.0),
        null(),
        &text(&Value::Object(later_ts)),
        Intent::Reject("timestamp_not_number"),
    );
    // Signature format.
    let sig = m1
        .get("signature")
        .and_then(Value::as_str)
        .expect("signed")
        .to_string_lossy();
    for (comment, bad) in [
        (
            "signature suffix .sig.sha256",
            sig.replace(".sig.ed25519", ".sig.sha256"),
        ),
        ("signature base64 not canonical", {
            // The last data character carries 2 bits and 4 unused ones: set an unused bit.
            const ALPHABET: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
            let v = ALPHABET.find(&sig[85..86]).expect("base64");
            let mut t = sig.clone();
            t.replace_range(85..86, &ALPHABET[(v ^ 1)..(v ^ 1) + 1]);
            t
        }),
        (
            "signature of 63 bytes",
            format!("{}.sig.ed25519", STANDARD.encode([5u8; 63])),
        ),
    ] {
        validate(
            b,
            comment,
            &["wrong_field"],
            null(),
            null(),
            &text(&Value::Object(with(m1, "signature", s(&bad)))),
            Intent::Reject("invalid_signature_format"),
        );
    }
    // A valid signature with zero bytes appended: 65 and 66 bytes still spell 88 characters.
    for extra in [1usize, 2] {
        let mut bytes = STANDARD
            .decode(sig.trim_end_matches(".sig.ed25519"))
            .expect("ours");
        bytes.extend(std::iter::repeat_n(0u8, extra));
        let bad = format!("{}.sig.ed25519", STANDARD.encode(bytes));
        validate(
            b,
            &format!(
                "the valid signature plus {extra} zero byte(s): {} bytes, 88 characters",
                64 + extra
            ),
            &["wrong_field", "overlong_signature"],
            null(),
            null(),
            &text(&Value::Object(with(m1, "signature", s(&bad)))),
            Intent::Reject("invalid_signature_format"),
        );
    }
}

fn signature_cases(b: &mut Builder, alice: &Signer, rng: &mut ChaCha20Rng, validate: &Validate) {
    let null = || serde_json::Value::Null;
    let m = alice.message(None, 1.0, post("signed"), None);
    let sig_text = m
        .get("signature")
        .and_then(Value::as_str)
        .expect("signed")
        .to_string_lossy();
    let sig = STANDARD
        .decode(sig_text.trim_end_matches(".sig.ed25519"))
        .expect("ours");
    let resign = |bytes: &[u8]| {
        with(
            &m,
            "signature",
            s(&format!("{}.sig.ed25519", STANDARD.encode(bytes))),
        )
    };
    let mut flipped = sig.clone();
    flipped[10] ^= 4;
    validate(
        b,
        "a bit flipped in the signature's R",
        &["bad_signature"],
        null(),
        null(),
        &text(&Value::Object(resign(&flipped))),
        Intent::Reject("invalid_signature"),
    );
    let other = alice.message(None, 1.0, post("another text"), None);
    validate(
        b,
        "content changed after signing",
        &["bad_signature"],
        null(),
        null(),
        &text(&Value::Object(with(
            &m,
            "content",
            other.get("content").expect("has content").clone(),
        ))),
        Intent::Reject("invalid_signature"),
    );
    let mallory = Keypair::generate(rng);
    let by_mallory = Signer { keys: mallory }.sign(
        vec![
            ("previous", Value::Null),
            ("sequence", n(1.0)),
            ("author", s(&alice.id())),
            ("timestamp", n(1.0)),
            ("hash", s("sha256")),
            ("content", post("forged")),
        ],
        None,
    );
    validate(
        b,
        "signed by another key than the author's",
        &["bad_signature"],
        null(),
        null(),
        &text(&Value::Object(by_mallory)),
        Intent::Reject("invalid_signature"),
    );

    // S + L.
    let mut s_plus_l = sig.clone();
    let l: [u8; 32] = [
        0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde, 0x14, 0, 0,
        0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10,
    ];
    let mut carry = 0u16;
    for i in 0..32 {
        let v = u16::from(sig[32 + i]) + u16::from(l[i]) + carry;
        s_plus_l[32 + i] = v as u8;
        carry = v >> 8;
    }
    validate(
        b,
        "signature with S + L",
        &["non_canonical_s", "bad_signature"],
        null(),
        null(),
        &text(&Value::Object(resign(&s_plus_l))),
        Intent::Reject("invalid_signature"),
    );

    // The identity point as author, R = identity and S = 0: the equation holds, libsodium refuses.
    let identity = {
        let mut p = [0u8; 32];
        p[0] = 1;
        p
    };
    let small_author = format!("@{}.ed25519", STANDARD.encode(identity));
    let unsigned = |author: &str| {
        vec![
            ("previous", Value::Null),
            ("sequence", n(1.0)),
            ("author", s(author)),
            ("timestamp", n(1.0)),
            ("hash", s("sha256")),
            ("content", post("small order")),
        ]
    };
    let with_sig = |author: &str, sig: &[u8]| {
        let Value::Object(mut o) = obj(unsigned(author)) else {
            unreachable!("object")
        };
        o.insert(
            "signature".into(),
            s(&format!("{}.sig.ed25519", STANDARD.encode(sig))),
        );
        o
    };
    let mut zero_sig = [0u8; 64];
    zero_sig[0] = 1;
    validate(
        b,
        "identity point as author, R = identity, S = 0",
        &["small_order_key", "bad_signature"],
        null(),
        null(),
        &text(&Value::Object(with_sig(&small_author, &zero_sig))),
        Intent::Reject("invalid_signature"),
    );
    // R = p + 1, a non-canonical encoding of the identity.
    let mut nc_r = [0u8; 64];
    nc_r[0] = 0xee;
    nc_r[1..31].fill(0xff);
    nc_r[31] = 0x7f;
    validate(
        b,
        "R = p + 1 (non-canonical identity), S = 0",
        &["non_canonical_r", "small_order_key", "bad_signature"],
        null(),
        null(),
        &text(&Value::Object(with_sig(&small_author, &nc_r))),
        Intent::Reject("invalid_signature"),
    );

    // A mixed-order author key: aB + T with T of order 8; sign until k ≡ 0 (mod 8).
    let mut seed = [0u8; 64];
    rng.fill_bytes(&mut seed);
    let a = Scalar::from_bytes_mod_order_wide(&seed);
    let public = (a * ED25519_BASEPOINT_POINT + EIGHT_TORSION[1])
        .compress()
        .to_bytes();
    let author = format!("@{}.ed25519", STANDARD.encode(public));
    let Value::Object(unsigned_obj) = obj(unsigned(&author)) else {
        unreachable!("object")
    };
    let signed = signed_bytes(&unsigned_obj, None);
    let sig = (0..256)
        .find_map(|_| sign_raw(a, public, &signed, rng))
        .expect("k ≡ 0 mod 8 within 256 tries");
    validate(
        b,
        "author with a torsion component, cofactorless-valid signature",
        &["mixed_order_key", "valid", "first_message"],
        null(),
        null(),
        &text(&Value::Object(with_sig(&author, &sig))),
        Intent::Accept,
    );
}

fn hmac_cases(b: &mut Builder, alice: &Signer, rng: &mut ChaCha20Rng, validate: &Validate) {
    let null = || serde_json::Value::Null;
    let mut key = [0u8; 32];
    rng.fill_bytes(&mut key);
    let key_b64 = serde_json::Value::String(STANDARD.encode(key));
    let m = alice.message(None, 1.0, post("on an HMAC network"), Some(&key));
    let t = text(&Value::Object(m.clone()));
    validate(
        b,
        "HMAC-signed message with its key",
        &["hmac", "valid", "first_message"],
        null(),
        key_b64.clone(),
        &t,
        Intent::Accept,
    );
    validate(
        b,
        "HMAC-signed message checked without the key",
        &["hmac", "bad_signature"],
        null(),
        null(),
        &t,
        Intent::Reject("invalid_signature"),
    );
    let mut other = key;
    other[0] ^= 1;
    validate(
        b,
        "HMAC-signed message checked with another key",
        &["hmac", "bad_signature"],
        null(),
        serde_json::Value::String(STANDARD.encode(other)),
        &t,
        Intent::Reject("invalid_signature"),
    );
    let plain = alice.message(None, 1.0, post("main network"), None);
    validate(
        b,
        "plain message checked with an HMAC key",
        &["hmac", "bad_signature"],
        null(),
        key_b64,
        &text(&Value::Object(plain.clone())),
        Intent::Reject("invalid_signature"),
    );
    for (comment, k) in [
        (
            "HMAC key of 31 bytes",
            serde_json::Value::String(STANDARD.encode([1u8; 31])),
        ),
        (
            "HMAC key not canonical base64",
            serde_json::Value::String(format!("{}x", STANDARD.encode([1u8; 32]).trim_end_matches('='))),
        ),
        ("HMAC key a number", json!(42)),
    ] {
        validate(
            b,
            comment,
            &["hmac", "hmac_key_invalid"],
            null(),
            k,
            &text(&Value::Object(plain.clone())),
            Intent::Reject("invalid_hmac_key"),
        );
    }
}
