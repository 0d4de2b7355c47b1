//! Classic feed validation: forks are reported with both ids, duplicates and strangers refused,
//! and batch validation of an interleaved stream from many feeds, with corrupted messages mixed
//! in, gives exactly the verdicts of one-by-one validation.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha20Rng;
use ssb_impl::feed::{BatchValidator, FeedError, FeedValidator};
use ssb_impl::legacy::message::{sign_message, MsgId};
use ssb_impl::legacy::{JsString, MessageError, Object, Value};
use ssb_impl::Keypair;

fn post(text: &str) -> Value {
    let mut o = Object::new();
    o.insert("type".into(), Value::string("post"));
    o.insert("text".into(), Value::string(text));
    Value::Object(o)
}

fn msg(keys: &Keypair, prev: Option<MsgId>, seq: u32, text: &str) -> (Value, MsgId) {
    let (o, id) = sign_message(
        keys,
        prev,
        seq,
        1_700_000_000_000.0 + f64::from(seq),
        post(text),
        None,
    );
    (Value::Object(o), id)
}

#[test]
fn forks_are_reported_with_both_ids() {
    let alice = Keypair::from_seed([1; 32]);
    let (m1, id1) = msg(&alice, None, 1, "one");
    let (m2a, id2a) = msg(&alice, Some(id1), 2, "two");
    let (m2b, id2b) = msg(&alice, Some(id1), 2, "two, again");
    let (m3b, _) = msg(&alice, Some(id2b), 3, "three on the other branch");
    let mut v = FeedValidator::new(None);
    assert_eq!(v.append(&m1), Ok(id1));
    assert_eq!(v.append(&m2a), Ok(id2a));
    assert_eq!(
        v.append(&m2b),
        Err(FeedError::Fork {
            sequence: 2,
            existing: id2a,
            new: id2b
        })
    );
    assert_eq!(
        v.append(&m3b),
        Err(FeedError::Fork {
            sequence: 2,
            existing: id2a,
            new: id2b
        })
    );
    // The same message again is not a fork.
    assert_eq!(
        v.append(&m2a),
        Err(FeedError::Invalid(MessageError::SequenceMismatch))
    );
    assert_eq!(v.len(), 2);
}

#[test]
fn a_forged_branch_is_not_a_fork() {
    let alice = Keypair::from_seed([1; 32]);
    let (m1, id1) = msg(&alice, None, 1, "one");
    let (m2, _) = msg(&alice, Some(id1), 2, "two");
    let (Value::Object(mut forged), _) = msg(&alice, Some(id1), 2, "forged") else {
        unreachable!()
    };
    forged.insert(JsString::from("content"), post("tampered after signing"));
    let mut v = FeedValidator::new(None);
    v.append(&m1).unwrap();
    v.append(&m2).unwrap();
    assert_eq!(
        v.append(&Value::Object(forged)),
        Err(FeedError::Invalid(MessageError::SequenceMismatch))
    );
}

#[test]
fn another_author_is_refused() {
    let (alice, bob) = (Keypair::from_seed([1; 32]), Keypair::from_seed([2; 32]));
    let (m1, id1) = msg(&alice, None, 1, "one");
    let (b2, _) = msg(&bob, Some(id1), 2, "bob continues alice's feed");
    let mut v = FeedValidator::new(None);
    v.append(&m1).unwrap();
    assert_eq!(
        v.append(&b2),
        Err(FeedError::Invalid(MessageError::AuthorMismatch))
    );
}

/// Many feeds, interleaved, with every kind of corruption sprinkled in.
fn stream(seed: u64) -> Vec<Value> {
    let mut rng = ChaCha20Rng::seed_from_u64(seed);
    let authors: Vec<Keypair> = (0..6).map(|i| Keypair::from_seed([i as u8 + 10; 32])).collect();
    // Per author: the previous of the head, the head, the head's sequence.
    let mut heads: Vec<(Option<MsgId>, Option<MsgId>, u32)> = vec![(None, None, 0); authors.len()];
    let mut out = Vec::new();
    for n in 0..400 {
        let a = rng.gen_range(0..authors.len());
        let (before, prev, seq) = heads[a];
        let (m, id) = msg(&authors[a], prev, seq + 1, &format!("message {n}"));
        let Value::Object(mut o) = m.clone() else {
            unreachable!()
        };
        match rng.gen_range(0..20) {
            0 => {
                // Signature bit flip (still canonical base64 of 64 bytes).
                let sig = o
                    .get("signature")
                    .and_then(Value::as_str)
                    .unwrap()
                    .to_string_lossy();
                let flipped = format!("{}{}", if sig.starts_with('A') { "B" } else { "A" }, &sig[1..]);
                o.insert("signature".into(), Value::string(&flipped));
                out.push(Value::Object(o));
            }
            1 => {
                o.insert("content".into(), post("changed after signing"));
                out.push(Value::Object(o));
            }
            2 => out.push(out.last().cloned().unwrap_or(m)), // a duplicate of whatever came last
            3 if seq > 0 => {
                // A validly signed second message at the head's sequence: a fork.
                let (f, _) = msg(&authors[a], before, seq, "a fork");
                out.push(f);
            }
            4 => {
                // Signed by someone else, claiming this author.
                let (Value::Object(other), _) = msg(&authors[(a + 1) % authors.len()], prev, seq + 1, "x")
                else {
                    unreachable!()
                };
                let mut o2 = other.clone();
                o2.insert("author".into(), o.get("author").unwrap().clone());
                out.push(Value::Object(o2));
            }
            _ => {
                heads[a] = (prev, Some(id), seq + 1);
                out.push(m);
            }
        }
    }
    out
}

#[test]
fn batch_validation_equals_one_by_one() {
    for seed in [1, 2, 3] {
        let msgs = stream(seed);
        let mut singles: std::collections::BTreeMap<String, FeedValidator> = Default::default();
        let one_by_one: Vec<_> = msgs
            .iter()
            .map(|m| {
                let author = m
                    .as_object()
                    .and_then(|o| o.get("author"))
                    .and_then(Value::as_str)
                    .unwrap();
                singles
                    .entry(author.to_string_lossy())
                    .or_insert_with(|| FeedValidator::new(None))
                    .append(m)
            })
            .collect();
        let batched = BatchValidator::new(None).validate(&msgs);
        assert_eq!(batched, one_by_one, "seed {seed}");
        let rejected = one_by_one.iter().filter(|r| r.is_err()).count();
        assert!(
            rejected > 20 && rejected < 200,
            "seed {seed}: {rejected} rejected; the stream should mix both"
        );
        assert!(
            one_by_one
                .iter()
                .any(|r| matches!(r, Err(FeedError::Fork { .. }))),
            "seed {seed} has forks"
        );
    }
}

#[test]
fn batch_validation_in_chunks_keeps_feed_state() {
    let msgs = stream(7);
    let whole = BatchValidator::new(None).validate(&msgs);
    let mut chunked = BatchValidator::new(None);
    let pieces: Vec<_> = msgs.chunks(37).flat_map(|c| chunked.validate(c)).collect();
    assert_eq!(pieces, whole);
}
