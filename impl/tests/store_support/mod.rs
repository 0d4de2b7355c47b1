//! Helpers shared by the store tests: real signed feeds, interleaved, and a comparison of every
//! answer two stores give.

#![allow(dead_code)]

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha20Rng;
use ssb_impl::legacy::message::{sign_message, MsgId};
use ssb_impl::legacy::{to_signing_units, Object, Value};
use ssb_impl::store::{Store, StoredMsg};
use ssb_impl::{FeedId, Keypair};

pub fn post(text: &str) -> Value {
    let mut o = Object::new();
    o.insert("type".into(), Value::string("post"));
    o.insert("text".into(), Value::string(text));
    Value::Object(o)
}

/// A signed message in stored form.
pub fn stored(keys: &Keypair, prev: Option<MsgId>, seq: u32, content: Value, received: u64) -> StoredMsg {
    let (o, id) = sign_message(
        keys,
        prev,
        seq,
        1_700_000_000_000.0 + f64::from(seq) * 1000.5,
        content,
        None,
    );
    StoredMsg {
        id,
        author: keys.id(),
        sequence: u64::from(seq),
        timestamp: 1_700_000_000_000.0 + f64::from(seq) * 1000.5,
        received,
        value: String::from_utf16(&to_signing_units(&Value::Object(o))).expect("well-formed"),
    }
}

/// Builds feeds one message at a time.
pub struct Feeds {
    pub keys: Vec<Keypair>,
    heads: Vec<(Option<MsgId>, u32)>,
}

impl Feeds {
    pub fn new(authors: usize, seed_base: u8) -> Self {
        Feeds {
            keys: (0..authors)
                .map(|i| Keypair::from_seed([seed_base.wrapping_add(i as u8); 32]))
                .collect(),
            heads: vec![(None, 0); authors],
        }
    }

    pub fn author(&self, a: usize) -> FeedId {
        self.keys[a].id()
    }

    /// The next message of author `a`.
    pub fn next(&mut self, a: usize, text: &str, received: u64) -> StoredMsg {
        let (prev, seq) = self.heads[a];
        let m = stored(&self.keys[a], prev, seq + 1, post(text), received);
        self.heads[a] = (Some(m.id), seq + 1);
        m
    }
}

/// Text with escapes, non-ASCII and sometimes a lot of it.
pub fn text(rng: &mut ChaCha20Rng, n: usize) -> String {
    let pieces = [
        "hello",
        " ",
        "\"q\"",
        "\\",
        "\n",
        "\t",
        "é",
        "✓",
        "🎉",
        "\u{1}",
        "日本語",
        "0",
    ];
    let len = if rng.gen_range(0..20) == 0 {
        rng.gen_range(200..1500)
    } else {
        rng.gen_range(0..30)
    };
    let mut s = format!("message {n}: ");
    for _ in 0..len {
        s.push_str(pieces[rng.gen_range(0..pieces.len())]);
    }
    s
}

/// `n` messages of `authors` feeds, interleaved at random.
pub fn interleaved(seed: u64, authors: usize, n: usize) -> (Feeds, Vec<StoredMsg>) {
    let mut rng = ChaCha20Rng::seed_from_u64(seed);
    let mut feeds = Feeds::new(authors, 10 + (seed as u8).wrapping_mul(7));
    let msgs = (0..n)
        .map(|i| {
            let a = rng.gen_range(0..authors);
            let t = text(&mut rng, i);
            feeds.next(a, &t, 1_000 + i as u64)
        })
        .collect();
    (feeds, msgs)
}

/// Asserts that two stores give the same answer to every question about `authors` and `ids`.
pub fn assert_same(a: &dyn Store, b: &dyn Store, authors: &[FeedId], ids: &[MsgId]) {
    assert_eq!(a.len(), b.len(), "len");
    assert_eq!(a.feeds(), b.feeds(), "feeds");
    let stranger = FeedId([0xEE; 32]);
    for author in authors.iter().chain([&stranger]) {
        let la = a.latest(author);
        assert_eq!(la, b.latest(author), "latest of {author}");
        let top = la.map_or(0, |l| l.sequence);
        for seq in 0..=top + 1 {
            assert_eq!(
                a.get(author, seq).unwrap(),
                b.get(author, seq).unwrap(),
                "get {author} {seq}"
            );
        }
        for from in [0, 1, 2, top / 2, top, top + 1, u64::MAX] {
            for limit in [0, 1, 7, usize::MAX] {
                assert_eq!(
                    a.range(author, from, limit).unwrap(),
                    b.range(author, from, limit).unwrap(),
                    "range {author} from {from} limit {limit}"
                );
            }
        }
    }
    for id in ids.iter().chain([&MsgId([0xAB; 32])]) {
        assert_eq!(
            a.get_by_id(id).unwrap(),
            b.get_by_id(id).unwrap(),
            "get_by_id {id}"
        );
    }
}
