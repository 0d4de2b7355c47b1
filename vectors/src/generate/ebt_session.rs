//! The `ebt.session` cases of `vectors/ebt.json`: one peer's EBT v3 session, opened with our
//! sequences and what we remembered of the peer, then driven by the peer's notes, our appends,
//! duplicates the peer sends and feeds we start to replicate. Each case states the opening and
//! the actions its author expects, and the generator refuses to write a case whose reference
//! answer differs (a stricter form of the suite builder's intent check).

use rand_chacha::ChaCha20Rng;
use serde_json::{json, Map, Value};
use ssb_impl::FeedId;

use super::ebt::feeds;
use super::{Builder, Intent};

/// The note for `sequence`: `sequence * 2`, plus 1 when the sender does not want messages.
fn n(sequence: u64, receive: bool) -> i64 {
    (sequence as i64) * 2 + i64::from(!receive)
}

fn obj(entries: &[(&FeedId, Value)]) -> Value {
    let m: Map<String, Value> = entries.iter().map(|(f, v)| (f.to_string(), v.clone())).collect();
    Value::Object(m)
}

fn notes(entries: &[(&FeedId, i64)]) -> Value {
    obj(&entries.iter().map(|(f, v)| (*f, json!(v))).collect::<Vec<_>>())
}

fn step_notes(entries: &[(&FeedId, i64)]) -> Value {
    json!({ "notes": notes(entries) })
}

fn step_at(kind: &str, feed: &FeedId, sequence: u64) -> Value {
    json!({ kind: {"feed": feed.to_string(), "sequence": sequence} })
}

fn send(feed: &FeedId, from: u64, to: u64) -> Value {
    json!({"send": {"feed": feed.to_string(), "from": from, "to": to}})
}

/// One case: the arguments, and the opening and per-step actions the author expects.
struct Scenario<'a> {
    comment: &'a str,
    flags: &'a [&'a str],
    local: &'a [(&'a FeedId, u64)],
    remembered: Option<Value>,
    steps: Vec<Value>,
    opening: Value,
    expect: Vec<Value>,
}

fn add(b: &mut Builder, s: Scenario) {
    let mut flags = vec!["session"];
    flags.extend_from_slice(s.flags);
    let local = obj(&s.local.iter().map(|(f, q)| (*f, json!(q))).collect::<Vec<_>>());
    let args = json!({
        "local": local,
        "remembered": s.remembered.unwrap_or(Value::Null),
        "steps": s.steps,
    });
    b.add(s.comment, &flags, "ebt.session", args, Intent::Accept);
    let want = json!({"opening": s.opening, "steps": s.expect});
    let case = b.cases.last().expect("just added");
    assert!(
        case.expect == want,
        "generator bug: {} ({}) answers {}, its author expects {}",
        case.id,
        s.comment,
        case.expect,
        want
    );
}

pub(super) fn cases(b: &mut Builder, rng: &mut ChaCha20Rng) {
    let f = feeds(rng, 4);
    let (a, bf, c, d) = (&f[0], &f[1], &f[2], &f[3]);
    let none: Vec<Value> = vec![];

    add(
        b,
        Scenario {
            comment: "nothing remembered: every feed is in the opening, one at sequence 0 too",
            flags: &["lost_state"],
            local: &[(a, 5), (bf, 0), (c, 12)],
            remembered: None,
            steps: vec![],
            opening: notes(&[(a, n(5, true)), (bf, n(0, true)), (c, n(12, true))]),
            expect: vec![],
        },
    );
    add(
        b,
        Scenario {
            comment: "nothing remembered, and the peer's notes are empty",
            flags: &["lost_state", "empty_clock"],
            local: &[(a, 4)],
            remembered: None,
            steps: vec![step_notes(&[])],
            opening: notes(&[(a, n(4, true))]),
            expect: vec![json!(none)],
        },
    );
    add(b, Scenario {
        comment: "A is skipped (remembered = ours), B is not (remembered above ours); the peer's note for A shows it ahead",
        flags: &["request_skipping", "remembered_ahead", "answer_peer_ahead"],
        local: &[(a, 5), (bf, 3)],
        remembered: Some(notes(&[(a, n(5, true)), (bf, n(4, true))])),
        steps: vec![step_notes(&[(a, n(7, true)), (bf, n(4, true))])],
        opening: notes(&[(bf, n(3, true))]),
        expect: vec![json!([{"notes": notes(&[(a, n(5, true))])}])],
    });
    add(
        b,
        Scenario {
            comment: "both feeds skipped (opening {}); the peer's notes show it level on A and behind on C: answered without asking it to send",
            flags: &["request_skipping", "answer_peer_not_ahead", "send_range"],
            local: &[(a, 5), (c, 2)],
            remembered: Some(notes(&[(a, n(5, true)), (c, n(2, false))])),
            steps: vec![step_notes(&[(a, n(5, true))]), step_notes(&[(c, n(1, true))])],
            opening: notes(&[]),
            expect: vec![
                json!([{"notes": notes(&[(a, n(5, false))])}]),
                json!([{"notes": notes(&[(c, n(2, false))])}, send(c, 2, 2)]),
            ],
        },
    );
    add(
        b,
        Scenario {
            comment: "the peer said -1 for A last time, and we replicate A: A is in the opening",
            flags: &["stale_block", "request_skipping"],
            local: &[(a, 4), (bf, 1)],
            remembered: Some(notes(&[(a, -1), (bf, n(1, true))])),
            steps: vec![step_notes(&[(a, n(4, true))])],
            opening: notes(&[(a, n(4, true))]),
            expect: vec![json!(none)],
        },
    );
    add(
        b,
        Scenario {
            comment: "the peer asks for A from 3 on and is level on B",
            flags: &["lost_state", "send_range"],
            local: &[(a, 6), (bf, 2)],
            remembered: None,
            steps: vec![step_notes(&[(a, n(2, true)), (bf, n(2, true))])],
            opening: notes(&[(a, n(6, true)), (bf, n(2, true))]),
            expect: vec![json!([send(a, 3, 6)])],
        },
    );
    add(
        b,
        Scenario {
            comment: "the peer is behind on A but lazy: no messages",
            flags: &["peer_lazy"],
            local: &[(a, 6)],
            remembered: None,
            steps: vec![step_notes(&[(a, n(2, false))])],
            opening: notes(&[(a, n(6, true))]),
            expect: vec![json!(none)],
        },
    );
    add(
        b,
        Scenario {
            comment: "the peer is level on A and lazy; we append A 7: a note, not the message",
            flags: &["peer_lazy", "lazy_append"],
            local: &[(a, 6)],
            remembered: None,
            steps: vec![step_notes(&[(a, n(6, false))]), step_at("append", a, 7)],
            opening: notes(&[(a, n(6, true))]),
            expect: vec![json!(none), json!([{"notes": notes(&[(a, n(7, false))])}])],
        },
    );
    add(
        b,
        Scenario {
            comment: "the peer sends A 5, which we hold, twice; then it announces A 8 while lazy",
            flags: &["duplicate", "lazy_ahead"],
            local: &[(a, 5)],
            remembered: None,
            steps: vec![
                step_notes(&[(a, n(5, true))]),
                step_at("duplicate", a, 5),
                step_at("duplicate", a, 5),
                step_notes(&[(a, n(8, false))]),
            ],
            opening: notes(&[(a, n(5, true))]),
            expect: vec![
                json!(none),
                json!([{"notes": notes(&[(a, n(5, false))])}]),
                json!(none),
                json!([{"notes": notes(&[(a, n(5, true))])}]),
            ],
        },
    );
    add(
        b,
        Scenario {
            comment: "the peer's -1 for A, which we replicate; then we append A 6",
            flags: &["peer_dont_replicate"],
            local: &[(a, 5), (bf, 2)],
            remembered: None,
            steps: vec![step_notes(&[(a, -1), (bf, n(2, true))]), step_at("append", a, 6)],
            opening: notes(&[(a, n(5, true)), (bf, n(2, true))]),
            expect: vec![json!(none), json!(none)],
        },
    );
    add(
        b,
        Scenario {
            comment: "the peer names D, which we do not replicate, twice",
            flags: &["foreign_feed"],
            local: &[(a, 1)],
            remembered: None,
            steps: vec![step_notes(&[(d, n(3, true))]), step_notes(&[(d, n(4, true))])],
            opening: notes(&[(a, n(1, true))]),
            expect: vec![json!([{"notes": notes(&[(d, -1)])}]), json!(none)],
        },
    );
    add(
        b,
        Scenario {
            comment: "the peer catches up on A (2..3), then we append A 4 and A 5",
            flags: &["send_range", "live_append"],
            local: &[(a, 3)],
            remembered: None,
            steps: vec![
                step_notes(&[(a, n(1, true))]),
                step_at("append", a, 4),
                step_at("append", a, 5),
            ],
            opening: notes(&[(a, n(3, true))]),
            expect: vec![
                json!([send(a, 2, 3)]),
                json!([send(a, 4, 4)]),
                json!([send(a, 5, 5)]),
            ],
        },
    );
    add(
        b,
        Scenario {
            comment: "the peer is level on A, then says it holds only A 2",
            flags: &["peer_regressed", "send_range"],
            local: &[(a, 5)],
            remembered: None,
            steps: vec![step_notes(&[(a, n(5, true))]), step_notes(&[(a, n(2, true))])],
            opening: notes(&[(a, n(5, true))]),
            expect: vec![json!(none), json!([send(a, 3, 5)])],
        },
    );
    add(
        b,
        Scenario {
            comment: "the peer names B, which we do not replicate; then we start to replicate B",
            flags: &["foreign_feed", "want"],
            local: &[(a, 2)],
            remembered: None,
            steps: vec![
                step_notes(&[(a, n(2, true)), (bf, n(5, true))]),
                step_at("want", bf, 0),
            ],
            opening: notes(&[(a, n(2, true))]),
            expect: vec![
                json!([{"notes": notes(&[(bf, -1)])}]),
                json!([{"notes": notes(&[(bf, n(0, true))])}]),
            ],
        },
    );
}
