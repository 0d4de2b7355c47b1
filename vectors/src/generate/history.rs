//! Vectors for `createHistoryStream` (`vectors/history.json`): a seeded classic feed of six
//! messages (two of them share one timestamp) and two more published after the call, queried
//! with every option the call reads: `seq`/`sequence` (inclusive), `limit`, `keys`, `old`,
//! `live`, an unknown or invalid `id`, missing options and flags that are not booleans. Each
//! case states which sequences its author expects back, whether the stream ends, and with which
//! error, and the generator refuses a case whose reference answer differs.

use rand_chacha::ChaCha20Rng;
use rand_core::{RngCore, SeedableRng};
use serde_json::{json, Value};
use ssb_impl::legacy::message::{sign_message, MsgId};
use ssb_impl::legacy::{to_compact_units, Object, Value as L};
use ssb_impl::Keypair;

use super::{Builder, Intent};
use crate::file::VectorFile;

const NOTES: &[(&str, &str)] = &[
    ("seq_absent", "no seq: from the first message"),
    ("seq_zero", "seq 0: from the first message"),
    ("seq_one", "seq 1: from the first message (seq is inclusive)"),
    (
        "seq_middle",
        "seq in the middle of the feed: that message and the ones after it",
    ),
    ("seq_last", "seq of the last message: only that one"),
    ("seq_past_end", "seq past the last message: nothing"),
    ("sequence_alias", "the option spelled sequence instead of seq"),
    (
        "seq_float",
        "seq written as 2.0: JSON has one number type, so it is the integer 2",
    ),
    (
        "invalid_seq",
        "seq with a fraction, or not a number: the call is refused",
    ),
    (
        "seq_negative",
        "seq negative: from the first message, as ssb-db and ssb-db2 read it (clients send -1)",
    ),
    (
        "seq_and_sequence",
        "both seq and sequence given: sequence wins, as in ssb-db and ssb-db2",
    ),
    (
        "big_number",
        "signed content holding integers beyond u64 and i64 (123456789012345680000, 2^64): the value must travel as the number JSON.parse reads",
    ),
    ("limit_zero", "limit 0: nothing, and the stream ends"),
    ("limit_one", "limit 1: the first message only"),
    ("limit_negative", "limit -1: no limit"),
    ("limit_large", "a limit larger than the feed"),
    (
        "invalid_limit",
        "limit with a fraction or not a number: the call is refused",
    ),
    (
        "keys_default",
        "keys absent: true, each answer is {key, value, timestamp}",
    ),
    (
        "keys_true",
        "keys true: each answer is {key, value, timestamp}, key the message id",
    ),
    (
        "keys_false",
        "keys false: each answer is the message value as signed",
    ),
    (
        "old_false_live_false",
        "old false and live false: nothing, and the stream ends at once",
    ),
    (
        "live_only",
        "live true and old false: only messages added after the call; the stream stays open",
    ),
    (
        "live",
        "live true: the stored messages, then the new ones; the stream stays open",
    ),
    (
        "live_limit",
        "live with a limit: the stream ends once the limit is reached by new messages",
    ),
    (
        "live_past_end",
        "live from a seq past the stored end: new messages from that seq on",
    ),
    (
        "not_live",
        "live absent: messages added after the call are not sent",
    ),
    (
        "same_timestamp",
        "two messages with one timestamp: they come in sequence order",
    ),
    (
        "unknown_feed",
        "a valid feed id the node holds nothing of: nothing",
    ),
    ("invalid_id", "id missing or not a feed id: the call is refused"),
    (
        "no_options",
        "the first argument is missing or not an object: the call is refused",
    ),
    (
        "invalid_flag",
        "live, old or keys that is not a boolean: the call is refused",
    ),
];

/// The receive time of every message, in ms (`now` of the op).
const NOW: u64 = 1_700_000_999_000;
const STORED: u64 = 6;
const LIVE: u64 = 2;

fn to_json(o: &Object) -> Value {
    let text = String::from_utf16(&to_compact_units(&L::Object(o.clone()))).expect("well-formed JSON text");
    serde_json::from_str(&text).expect("JSON.stringify output parses")
}

/// The feed: `STORED + LIVE` messages signed by `keys`; messages 3 and 4 share a timestamp.
fn feed(keys: &Keypair, rng: &mut ChaCha20Rng) -> Vec<(MsgId, Value)> {
    let mut out = Vec::new();
    let mut previous = None;
    let base = 1_700_000_000_000.0 + f64::from(rng.next_u32() % 1_000_000);
    for seq in 1..=(STORED + LIVE) as u32 {
        let ts = base + 1000.0 * f64::from(if seq == 4 { 3 } else { seq });
        let mut content = Object::new();
        content.insert("type".into(), L::string("post"));
        content.insert(
            "text".into(),
            L::string(&format!("history message {seq}, {:08x}", rng.next_u32())),
        );
        let (msg, id) = sign_message(keys, previous, seq, ts, L::Object(content), None);
        previous = Some(id);
        out.push((id, to_json(&msg)));
    }
    out
}

/// What the author of a case expects back.
struct Want {
    /// The sequences answered, in order.
    seqs: Vec<u64>,
    keys: bool,
    ended: bool,
    error: Option<&'static str>,
}

fn want(seqs: impl IntoIterator<Item = u64>, keys: bool, ended: bool) -> Want {
    Want {
        seqs: seqs.into_iter().collect(),
        keys,
        ended,
        error: None,
    }
}

fn refused(kind: &'static str) -> Want {
    Want {
        seqs: vec![],
        keys: true,
        ended: true,
        error: Some(kind),
    }
}

struct Ctx {
    stored: Vec<Value>,
    live: Vec<Value>,
    ids: Vec<MsgId>,
}

impl Ctx {
    fn add(&self, b: &mut Builder, comment: &str, flags: &[&str], call: Value, with_live: bool, w: Want) {
        let live = if with_live { self.live.clone() } else { vec![] };
        let args = json!({"feed": self.stored, "args": call, "live": live, "now": NOW});
        b.add(comment, flags, "history.query", args, Intent::Accept);
        let case = b.cases.last().expect("just added");
        let problem = self.check(&case.expect, &w);
        if let Some(p) = problem {
            panic!(
                "generator bug: {} ({comment}): {p}; answer {}",
                case.id, case.expect
            );
        }
    }

    /// Why an answer is not what `w` says, if it is not.
    fn check(&self, got: &Value, w: &Want) -> Option<String> {
        if got["ended"] != json!(w.ended) || got["error"] != json!(w.error) {
            return Some(format!("ended/error: expected {} / {:?}", w.ended, w.error));
        }
        let items = got["items"].as_array()?;
        let seqs: Vec<u64> = items
            .iter()
            .map(|i| {
                let v = if w.keys { &i["value"] } else { i };
                v["sequence"].as_u64().unwrap_or(0)
            })
            .collect();
        if seqs != w.seqs {
            return Some(format!("sequences {seqs:?}, expected {:?}", w.seqs));
        }
        for (i, s) in items.iter().zip(&seqs) {
            let id = self.ids[*s as usize - 1].to_string();
            let shaped = if w.keys {
                i.as_object().is_some_and(|o| o.len() == 3)
                    && i["key"] == json!(id)
                    && i["timestamp"] == json!(NOW)
            } else {
                i.get("key").is_none() && i["signature"].is_string()
            };
            if !shaped {
                return Some(format!("answer for {s} is not shaped as keys {} asks", w.keys));
            }
        }
        None
    }
}

pub fn generate(seed: u64) -> VectorFile {
    let mut rng = ChaCha20Rng::seed_from_u64(seed ^ 0x4849_5354); // "HIST"
    let mut b = Builder::new(
        "history",
        "createHistoryStream answered by a node; see conformance/ADAPTER.md (suite history)",
        NOTES,
    );
    cases(&mut b, &mut rng);
    b.finish()
}

fn cases(b: &mut Builder, rng: &mut ChaCha20Rng) {
    let mut seed_bytes = [0u8; 32];
    rng.fill_bytes(&mut seed_bytes);
    let author = Keypair::from_seed(seed_bytes);
    rng.fill_bytes(&mut seed_bytes);
    let stranger = Keypair::from_seed(seed_bytes).id().to_string();
    let msgs = feed(&author, rng);
    let ctx = Ctx {
        stored: msgs[..STORED as usize].iter().map(|(_, v)| v.clone()).collect(),
        live: msgs[STORED as usize..].iter().map(|(_, v)| v.clone()).collect(),
        ids: msgs.iter().map(|(id, _)| *id).collect(),
    };
    let id = author.id().to_string();
    let all = 1..=STORED;
    let everything = 1..=STORED + LIVE;

    // Where the stream starts.
    ctx.add(
        b,
        "no seq",
        &["seq_absent", "keys_default"],
        json!([{"id": id}]),
        false,
        want(all.clone(), true, true),
    );
    ctx.add(
        b,
        "seq 0",
        &["seq_zero"],
        json!([{"id": id, "seq": 0}]),
        false,
        want(all.clone(), true, true),
    );
    ctx.add(
        b,
        "seq 1",
        &["seq_one"],
        json!([{"id": id, "seq": 1}]),
        false,
        want(all.clone(), true, true),
    );
    ctx.add(
        b,
        "seq 4",
        &["seq_middle"],
        json!([{"id": id, "seq": 4}]),
        false,
        want(4..=STORED, true, true),
    );
    ctx.add(
        b,
        "seq 6, the last",
        &["seq_last"],
        json!([{"id": id, "seq": STORED}]),
        false,
        want([STORED], true, true),
    );
    ctx.add(
        b,
        "seq 7, past the end",
        &["seq_past_end"],
        json!([{"id": id, "seq": STORED + 1}]),
        false,
        want([], true, true),
    );
    ctx.add(
        b,
        "seq 1000, far past the end",
        &["seq_past_end"],
        json!([{"id": id, "seq": 1000}]),
        false,
        want([], true, true),
    );
    ctx.add(
        b,
        "sequence 5",
        &["sequence_alias"],
        json!([{"id": id, "sequence": 5}]),
        false,
        want(5..=STORED, true, true),
    );
    ctx.add(
        b,
        "seq 2.0",
        &["seq_float"],
        json!([{"id": id, "seq": 2.0}]),
        false,
        want(2..=STORED, true, true),
    );
    ctx.add(
        b,
        "seq 3, limit 2: the two messages with one timestamp",
        &["seq_middle", "same_timestamp"],
        json!([{"id": id, "seq": 3, "limit": 2}]),
        false,
        want([3, 4], true, true),
    );
    ctx.add(
        b,
        "seq -1",
        &["seq_negative"],
        json!([{"id": id, "seq": -1}]),
        false,
        want(1..=STORED, true, true),
    );
    ctx.add(
        b,
        "seq 2 and sequence 5",
        &["seq_and_sequence", "sequence_alias"],
        json!([{"id": id, "seq": 2, "sequence": 5}]),
        false,
        want(5..=STORED, true, true),
    );
    for (comment, v) in [("seq 1.5", json!(1.5)), ("seq \"3\"", json!("3"))] {
        ctx.add(
            b,
            comment,
            &["invalid_seq"],
            json!([{"id": id, "seq": v}]),
            false,
            refused("invalid_seq"),
        );
    }
    ctx.add(
        b,
        "sequence -5",
        &["seq_negative", "sequence_alias"],
        json!([{"id": id, "sequence": -5}]),
        false,
        want(1..=STORED, true, true),
    );

    // How many.
    ctx.add(
        b,
        "limit 0",
        &["limit_zero"],
        json!([{"id": id, "limit": 0}]),
        false,
        want([], true, true),
    );
    ctx.add(
        b,
        "limit 1",
        &["limit_one"],
        json!([{"id": id, "limit": 1}]),
        false,
        want([1], true, true),
    );
    ctx.add(
        b,
        "seq 5, limit 1",
        &["limit_one", "seq_middle"],
        json!([{"id": id, "seq": 5, "limit": 1}]),
        false,
        want([5], true, true),
    );
    ctx.add(
        b,
        "limit -1",
        &["limit_negative"],
        json!([{"id": id, "limit": -1}]),
        false,
        want(all.clone(), true, true),
    );
    ctx.add(
        b,
        "limit 100",
        &["limit_large"],
        json!([{"id": id, "limit": 100}]),
        false,
        want(all.clone(), true, true),
    );
    for (comment, v) in [("limit 1.5", json!(1.5)), ("limit \"2\"", json!("2"))] {
        ctx.add(
            b,
            comment,
            &["invalid_limit"],
            json!([{"id": id, "limit": v}]),
            false,
            refused("invalid_limit"),
        );
    }

    // How each answer looks.
    ctx.add(
        b,
        "keys true",
        &["keys_true"],
        json!([{"id": id, "keys": true, "seq": 5}]),
        false,
        want(5..=STORED, true, true),
    );
    ctx.add(
        b,
        "keys false",
        &["keys_false"],
        json!([{"id": id, "keys": false}]),
        false,
        want(all.clone(), false, true),
    );

    // Old and live.
    ctx.add(
        b,
        "old false, live false",
        &["old_false_live_false"],
        json!([{"id": id, "old": false, "live": false}]),
        true,
        want([], true, true),
    );
    ctx.add(
        b,
        "no live option: the two later messages are not sent",
        &["not_live"],
        json!([{"id": id, "seq": 5}]),
        true,
        want(5..=STORED, true, true),
    );
    ctx.add(
        b,
        "live true, old false: only the two later messages",
        &["live_only"],
        json!([{"id": id, "live": true, "old": false}]),
        true,
        want(STORED + 1..=STORED + LIVE, true, false),
    );
    ctx.add(
        b,
        "live true",
        &["live"],
        json!([{"id": id, "live": true}]),
        true,
        want(everything.clone(), true, false),
    );
    ctx.add(
        b,
        "live true, keys false",
        &["live", "keys_false"],
        json!([{"id": id, "live": true, "keys": false}]),
        true,
        want(everything.clone(), false, false),
    );
    ctx.add(
        b,
        "live true, limit 7: the limit is reached by the first later message",
        &["live_limit"],
        json!([{"id": id, "live": true, "limit": STORED + 1}]),
        true,
        want(1..=STORED + 1, true, true),
    );
    ctx.add(
        b,
        "live true, old false, limit 1",
        &["live_limit", "live_only"],
        json!([{"id": id, "live": true, "old": false, "limit": 1}]),
        true,
        want([STORED + 1], true, true),
    );
    ctx.add(
        b,
        "live true, seq 8: the stored messages and message 7 are skipped",
        &["live_past_end"],
        json!([{"id": id, "live": true, "seq": STORED + LIVE}]),
        true,
        want([STORED + LIVE], true, false),
    );

    // Which feed, and malformed calls.
    ctx.add(
        b,
        "a feed the node holds nothing of",
        &["unknown_feed"],
        json!([{"id": stranger}]),
        false,
        want([], true, true),
    );
    ctx.add(
        b,
        "a feed the node holds nothing of, live",
        &["unknown_feed", "live"],
        json!([{"id": stranger, "live": true}]),
        true,
        want([], true, false),
    );
    let msg_id = ctx.ids[0].to_string();
    for (comment, call) in [
        ("no id", json!([{"seq": 1}])),
        ("id without its sigil", json!([{"id": id[1..]}])),
        ("a message id as id", json!([{"id": msg_id}])),
        ("id a number", json!([{"id": 42}])),
    ] {
        ctx.add(b, comment, &["invalid_id"], call, false, refused("invalid_id"));
    }
    for (comment, call) in [
        ("no arguments", json!([])),
        ("the feed id alone, as a string", json!([id])),
        ("null", json!([null])),
    ] {
        ctx.add(b, comment, &["no_options"], call, false, refused("no_options"));
    }
    for (comment, opts) in [
        ("live \"true\"", json!({"id": id, "live": "true"})),
        ("old \"false\"", json!({"id": id, "old": "false"})),
        ("keys 1", json!({"id": id, "keys": 1})),
    ] {
        ctx.add(
            b,
            comment,
            &["invalid_flag"],
            json!([opts]),
            false,
            refused("invalid_flag"),
        );
    }

    // A feed whose signed content holds numbers a u64 or an i64 cannot: read through a JSON
    // library's integer types they would not verify.
    rng.fill_bytes(&mut seed_bytes);
    let big = Keypair::from_seed(seed_bytes);
    let mut previous = None;
    let mut big_msgs = Vec::new();
    for (seq, x) in [(1u32, 123456789012345680000.0), (2, -123456789012345680000.0)] {
        let mut content = Object::new();
        content.insert("type".into(), L::string("post"));
        content.insert("n".into(), L::Number(x));
        content.insert("m".into(), L::Number(18446744073709551616.0));
        let (msg, id) = sign_message(
            &big,
            previous,
            seq,
            1_700_000_500_000.0 + f64::from(seq),
            L::Object(content),
            None,
        );
        previous = Some(id);
        big_msgs.push((id, to_json(&msg)));
    }
    let big_ctx = Ctx {
        stored: big_msgs.iter().map(|(_, v)| v.clone()).collect(),
        live: vec![],
        ids: big_msgs.iter().map(|(id, _)| *id).collect(),
    };
    big_ctx.add(
        b,
        "a feed whose messages hold integers above u64 and below i64",
        &["keys_default", "big_number"],
        json!([{"id": big.id().to_string()}]),
        false,
        want([1, 2], true, true),
    );
}
