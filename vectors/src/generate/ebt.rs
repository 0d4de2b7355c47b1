//! Vectors for EBT v3 (`vectors/ebt.json`): notes encoded and decoded one at a time at every
//! edge (-1, small values, the 32-bit and 2^53 boundaries, floats, negatives, values that are
//! not numbers), whole notes bodies (feed keys, empty and malformed bodies), and per-peer
//! sessions ([`super::ebt_session`]): request skipping, lost state, stale blocks, lazy peers,
//! duplicates and live appends.

use rand_chacha::ChaCha20Rng;
use rand_core::{RngCore, SeedableRng};
use serde_json::{json, Value};
use ssb_impl::{FeedId, Keypair};

use super::{ebt_session, Builder, Intent};
use crate::file::VectorFile;

const NOTES: &[(&str, &str)] = &[
    ("note_encode", "op ebt.note.encode: {sequence, receive, replicate} to the note integer"),
    ("note_decode", "op ebt.note.decode: one JSON value read as a note"),
    ("notes_decode", "op ebt.notes.decode: the JSON text of a whole notes body"),
    ("session", "op ebt.session: one peer's session driven step by step"),
    ("minus_one", "the note -1: the sender does not replicate the feed"),
    ("small", "sequences 0 and 1 with both receive bits (notes 0 to 3)"),
    ("random_sequence", "a sequence drawn from the seed, both receive bits"),
    (
        "int32_edge",
        "just inside 32-bit signed arithmetic: sequence 2^30 - 1 (notes 2^31 - 2 and 2^31 - 1)",
    ),
    (
        "beyond_int32",
        "past 32-bit signed arithmetic: a sequence of 2^30 or more, a note of 2^31 or more",
    ),
    (
        "max_safe",
        "the largest notes: sequence 2^52 - 1, notes 2^53 - 2 and 2^53 - 1 (Number.MAX_SAFE_INTEGER)",
    ),
    ("too_large", "a note past 2^53 - 1, or a sequence whose note would be"),
    (
        "integral_float",
        "an integer written as a float (2.0, 1e3, -1.0): JSON has one number type, so it is an integer",
    ),
    ("non_integer", "a number with a fraction"),
    ("negative", "a negative number other than -1"),
    ("negative_zero", "-0, which is the integer 0"),
    ("not_a_number", "a string, null, a boolean, an array or an object where a note belongs"),
    ("invalid_feed", "a notes key that is not a classic feed id (@ + base64 of 32 bytes + .ed25519)"),
    ("empty_object", "the empty notes object {}"),
    ("not_an_object", "a notes body that is JSON but not an object"),
    ("not_json", "a notes body that is not JSON"),
    ("duplicate_feed", "one feed twice in a notes body: the last value counts, as JSON.parse keeps it"),
    (
        "clock_wrapper",
        "notes wrapped as {\"clock\": {...}}, a form epidemic-broadcast-trees also reads; the key clock is not a feed id",
    ),
    ("lost_state", "nothing remembered of the peer (a new peer or a lost state): the opening holds every feed"),
    (
        "request_skipping",
        "a feed whose remembered sequence equals ours is left out of the opening",
    ),
    ("remembered_ahead", "the remembered sequence is above ours (we lost messages): the feed is in the opening"),
    (
        "answer_peer_ahead",
        "the peer's note for a feed we left out shows it ahead of us: we answer with our note asking to receive",
    ),
    (
        "answer_peer_not_ahead",
        "the peer's note for a feed we left out shows it level with or behind us: we answer with our note, not asking it to send (receive false)",
    ),
    (
        "stale_block",
        "the peer said -1 last session but we replicate the feed now: our note is sent anyway",
    ),
    ("empty_clock", "the peer's notes are {}"),
    ("send_range", "the peer asks to receive and is behind: we send it the messages it lacks"),
    ("peer_lazy", "the peer's note has receive false: we send no messages"),
    (
        "lazy_append",
        "a new message of a feed whose peer is lazy: it hears of it through a note that asks for nothing",
    ),
    ("duplicate", "the peer sends a message we hold: we ask it to stop sending (receive false), once"),
    ("lazy_ahead", "a peer we made lazy announces more than we hold: we ask it to send again"),
    ("peer_dont_replicate", "the peer's -1 for a feed we replicate: nothing is sent for that feed"),
    ("foreign_feed", "the peer's notes name a feed we do not replicate: answered once with -1"),
    ("live_append", "a new message after the peer caught up: sent on its own"),
    ("peer_regressed", "the peer's note falls below what it said before (it lost messages): we send from there"),
    ("want", "we start replicating a feed during the session: a note for it is sent"),
];

fn encode(
    b: &mut Builder,
    comment: &str,
    flags: &[&str],
    sequence: u64,
    receive: bool,
    replicate: bool,
    intent: Intent,
) {
    let mut all = vec!["note_encode"];
    all.extend_from_slice(flags);
    let args = json!({"sequence": sequence, "receive": receive, "replicate": replicate});
    b.add(comment, &all, "ebt.note.encode", args, intent);
}

fn decode(b: &mut Builder, comment: &str, flags: &[&str], value: Value, intent: Intent) {
    let mut all = vec!["note_decode"];
    all.extend_from_slice(flags);
    b.add(
        comment,
        &all,
        "ebt.note.decode",
        json!({ "value": value }),
        intent,
    );
}

fn notes(b: &mut Builder, comment: &str, flags: &[&str], text: &str, intent: Intent) {
    let mut all = vec!["notes_decode"];
    all.extend_from_slice(flags);
    b.add(comment, &all, "ebt.notes.decode", json!({ "json": text }), intent);
}

/// `n` feed ids drawn from the seed.
pub(super) fn feeds(rng: &mut ChaCha20Rng, n: usize) -> Vec<FeedId> {
    (0..n)
        .map(|_| {
            let mut seed = [0u8; 32];
            rng.fill_bytes(&mut seed);
            Keypair::from_seed(seed).id()
        })
        .collect()
}

fn clock_cases(b: &mut Builder, rng: &mut ChaCha20Rng) {
    const SAFE: u64 = (1 << 53) - 1;
    // Encoding.
    for (seq, rx) in [(0, true), (0, false), (1, true), (1, false)] {
        let c = format!("sequence {seq}, receive {rx}");
        encode(b, &c, &["small"], seq, rx, true, Intent::Accept);
    }
    encode(
        b,
        "do not replicate: -1, whatever the sequence",
        &["minus_one"],
        5,
        true,
        false,
        Intent::Accept,
    );
    let r = 2 + u64::from(rng.next_u32() % 100_000);
    for rx in [true, false] {
        let c = format!("seeded sequence {r}, receive {rx}");
        encode(b, &c, &["random_sequence"], r, rx, true, Intent::Accept);
    }
    for rx in [true, false] {
        let c = format!("sequence 2^30 - 1, receive {rx}: note below 2^31");
        encode(b, &c, &["int32_edge"], (1 << 30) - 1, rx, true, Intent::Accept);
    }
    encode(
        b,
        "sequence 2^30: note 2^31",
        &["beyond_int32"],
        1 << 30,
        true,
        true,
        Intent::Accept,
    );
    encode(
        b,
        "sequence 2^31: note 2^32",
        &["beyond_int32"],
        1 << 31,
        true,
        true,
        Intent::Accept,
    );
    for rx in [true, false] {
        let c = format!("sequence 2^52 - 1, receive {rx}");
        encode(
            b,
            &c,
            &["beyond_int32", "max_safe"],
            (1 << 52) - 1,
            rx,
            true,
            Intent::Accept,
        );
    }
    encode(
        b,
        "sequence 2^52: its note 2^53 is past 2^53 - 1",
        &["too_large"],
        1 << 52,
        true,
        true,
        Intent::Reject("too_large"),
    );

    // Decoding one value.
    decode(b, "-1", &["minus_one"], json!(-1), Intent::Accept);
    for v in 0..4 {
        decode(b, &format!("{v}"), &["small"], json!(v), Intent::Accept);
    }
    let r = 4 + u64::from(rng.next_u32() % 200_000);
    decode(
        b,
        &format!("seeded note {r}"),
        &["random_sequence"],
        json!(r),
        Intent::Accept,
    );
    decode(
        b,
        "2^31 - 1",
        &["int32_edge"],
        json!((1u64 << 31) - 1),
        Intent::Accept,
    );
    decode(
        b,
        "2^31 - 2",
        &["int32_edge"],
        json!((1u64 << 31) - 2),
        Intent::Accept,
    );
    decode(
        b,
        "2^31: sequence 2^30",
        &["beyond_int32"],
        json!(1u64 << 31),
        Intent::Accept,
    );
    decode(
        b,
        "2^32 + 1: sequence 2^31, lazy",
        &["beyond_int32"],
        json!((1u64 << 32) + 1),
        Intent::Accept,
    );
    decode(
        b,
        "2^53 - 2: sequence 2^52 - 1",
        &["beyond_int32", "max_safe"],
        json!(SAFE - 1),
        Intent::Accept,
    );
    decode(
        b,
        "2^53 - 1: sequence 2^52 - 1, lazy",
        &["beyond_int32", "max_safe"],
        json!(SAFE),
        Intent::Accept,
    );
    decode(
        b,
        "2^53",
        &["too_large"],
        json!(SAFE + 1),
        Intent::Reject("too_large"),
    );
    decode(
        b,
        "2^64 (a float to JSON parsers)",
        &["too_large"],
        json!(18_446_744_073_709_551_616.0),
        Intent::Reject("too_large"),
    );
    decode(
        b,
        "1e300",
        &["too_large"],
        json!(1e300),
        Intent::Reject("too_large"),
    );
    decode(b, "2.0", &["integral_float"], json!(2.0), Intent::Accept);
    decode(
        b,
        "-1.0",
        &["integral_float", "minus_one"],
        json!(-1.0),
        Intent::Accept,
    );
    decode(
        b,
        "1.5",
        &["non_integer"],
        json!(1.5),
        Intent::Reject("not_an_integer"),
    );
    decode(
        b,
        "4.000001",
        &["non_integer"],
        json!(4.000001),
        Intent::Reject("not_an_integer"),
    );
    decode(b, "-2", &["negative"], json!(-2), Intent::Reject("negative"));
    decode(b, "-3", &["negative"], json!(-3), Intent::Reject("negative"));
    decode(
        b,
        "-2^53",
        &["negative"],
        json!(-(SAFE as i64) - 1),
        Intent::Reject("negative"),
    );
    decode(
        b,
        "-0.5",
        &["negative", "non_integer"],
        json!(-0.5),
        Intent::Reject("not_an_integer"),
    );
    for (c, v) in [
        ("the string \"4\"", json!("4")),
        ("null", Value::Null),
        ("true", json!(true)),
        ("false", json!(false)),
        ("an array [4]", json!([4])),
        ("an object", json!({"sequence": 2})),
    ] {
        decode(b, c, &["not_a_number"], v, Intent::Reject("not_a_number"));
    }

    // Decoding a whole body.
    let f = feeds(rng, 3);
    let (a, bb, c) = (f[0].to_string(), f[1].to_string(), f[2].to_string());
    let ok = |b: &mut Builder, comment: &str, flags: &[&str], text: String| {
        notes(b, comment, flags, &text, Intent::Accept)
    };
    ok(
        b,
        "three feeds: receive, lazy, do not replicate",
        &["small", "minus_one"],
        format!(r#"{{"{a}":2,"{bb}":3,"{c}":-1}}"#),
    );
    ok(b, "the empty notes object", &["empty_object"], "{}".into());
    ok(
        b,
        "white space and a large note",
        &["beyond_int32", "max_safe"],
        format!("{{ \"{a}\" : 9007199254740990 }}\n"),
    );
    ok(
        b,
        "2.0 and 1e3 are integers",
        &["integral_float"],
        format!(r#"{{"{a}":2.0,"{bb}":1e3,"{c}":-1.0}}"#),
    );
    ok(b, "-0 is 0", &["negative_zero"], format!(r#"{{"{a}":-0}}"#));
    ok(
        b,
        "the same feed twice: the last value counts",
        &["duplicate_feed"],
        format!(r#"{{"{a}":4,"{a}":9}}"#),
    );
    let bad = |b: &mut Builder, comment: &str, flags: &[&str], text: String, kind: &'static str| {
        notes(b, comment, flags, &text, Intent::Reject(kind))
    };
    bad(
        b,
        "1.5",
        &["non_integer"],
        format!(r#"{{"{a}":2,"{bb}":1.5}}"#),
        "not_an_integer",
    );
    bad(b, "-2", &["negative"], format!(r#"{{"{a}":-2}}"#), "negative");
    bad(
        b,
        "2^53",
        &["too_large"],
        format!(r#"{{"{a}":9007199254740992}}"#),
        "too_large",
    );
    bad(
        b,
        "a string note",
        &["not_a_number"],
        format!(r#"{{"{a}":"4"}}"#),
        "not_a_number",
    );
    bad(
        b,
        "a null note",
        &["not_a_number"],
        format!(r#"{{"{a}":null}}"#),
        "not_a_number",
    );
    let short = &a[..a.len() - 12];
    for (comment, key) in [
        ("no @ sigil", a[1..].to_string()),
        ("a .sha256 suffix", a.replace(".ed25519", ".sha256")),
        (
            "a message id",
            format!("%{}", &a[1..]).replace(".ed25519", ".sha256"),
        ),
        ("base64 of 31 bytes", format!("{short}AA==.ed25519")),
        ("not base64", "@not base64!.ed25519".to_string()),
        ("an empty key", String::new()),
    ] {
        bad(
            b,
            &format!("key {comment}"),
            &["invalid_feed"],
            format!(r#"{{"{key}":2}}"#),
            "invalid_feed",
        );
    }
    bad(
        b,
        "notes inside {\"clock\": ...}",
        &["clock_wrapper", "invalid_feed"],
        format!(r#"{{"clock":{{"{a}":2}}}}"#),
        "invalid_feed",
    );
    for (comment, text) in [
        ("an array", format!(r#"["{a}",2]"#)),
        ("a number", "5".to_string()),
        ("a string", format!(r#""{a}""#)),
        ("null", "null".to_string()),
        ("true", "true".to_string()),
    ] {
        bad(b, comment, &["not_an_object"], text, "not_an_object");
    }
    for (comment, text) in [
        ("cut short", format!(r#"{{"{a}":2"#)),
        ("empty", String::new()),
        ("a trailing comma", format!(r#"{{"{a}":2,}}"#)),
        ("single quotes", format!("{{'{a}':2}}")),
    ] {
        bad(b, comment, &["not_json"], text, "not_json");
    }
}

pub fn generate(seed: u64) -> VectorFile {
    let mut rng = ChaCha20Rng::seed_from_u64(seed ^ 0x4542_5433); // "EBT3"
    let mut b = Builder::new(
        "ebt",
        "EBT v3 notes and per-peer sessions; see conformance/ADAPTER.md (suite ebt)",
        NOTES,
    );
    clock_cases(&mut b, &mut rng);
    ebt_session::cases(&mut b, &mut rng);
    b.finish()
}
