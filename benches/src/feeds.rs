//! The classic-feed workload of the `feeds` bench and the operations it times.
//!
//! * [`Workload::generate`]: `feeds` feeds of `per_feed` classic messages each, signed with
//!   [`sign_message`], whose content is a realistic post (a `text` of a few hundred bytes with
//!   some non-ASCII — accented Latin, Cyrillic, CJK, emoji outside the BMP — and escapes, some
//!   with a `channel`, replies with `root`/`branch`, some `mentions`), serialized as compact
//!   JSON text (`JSON.stringify(msg)`, UTF-8), and interleaved in a seeded random order that
//!   keeps each feed in sequence. Fully deterministic for a seed.
//! * The operations, each walking the stream from where it stopped and starting over (with
//!   fresh validators) at its end: [`SingleValidation`] (parse + per-feed
//!   [`FeedValidator::append`]), [`BatchValidation`] (parse + [`BatchValidator::validate`] in
//!   chunks), [`RawVerify`] (`crypto::ed25519_verify` over the same key/bytes/signature
//!   triples), and the parts of single validation for the profile ([`Part`]).

use std::collections::HashMap;
use std::hint::black_box;
use std::time::{Duration, Instant};

use rand_chacha::ChaCha20Rng;
use rand_core::{RngCore, SeedableRng};
use ssb_impl::crypto;
use ssb_impl::feed::{BatchValidator, FeedValidator};
use ssb_impl::legacy::message::{
    canonical_b64, check_content, check_message, has_valid_order, lenient_b64, prepare, sign_message,
    signed_bytes, Checked, MsgId, Prepared,
};
use ssb_impl::legacy::{
    latin1_sha256, parse, to_compact_units, to_signing_units, JsString, Mode, Object, Value,
};
use ssb_impl::{FeedId, Keypair};

/// What one signature check needs, as [`Prepared`] holds it.
#[derive(Clone)]
pub struct Triple {
    pub public: [u8; 32],
    pub signed: Vec<u8>,
    pub signature: [u8; 64],
}

/// A stream of valid classic messages from several feeds, interleaved.
pub struct Workload {
    pub feeds: usize,
    pub per_feed: usize,
    /// Compact JSON text (UTF-8) of each message, in stream order.
    pub texts: Vec<String>,
    /// The parsed messages (`Mode::JsCompat`), in stream order.
    pub values: Vec<Value>,
    /// Each message's id, from [`sign_message`].
    pub ids: Vec<MsgId>,
    /// Feed index of each message.
    pub feed_of: Vec<usize>,
    /// The signature check of each message.
    pub triples: Vec<Triple>,
}

#[rustfmt::skip]
const WORDS: &[&str] = &[
    "the", "a", "and", "of", "to", "in", "is", "that", "it", "for", "on", "with", "as", "was", "we",
    "this", "gossip", "feed", "peer", "pub", "replication", "offline", "first", "garden",
    "community", "message", "protocol", "friends", "sailing", "island", "solar", "bread", "sync",
    "bike", "music", "library", "river", "forest", "mesh", "network", "identity", "client",
    "server", "merkle", "signature", "post", "reply", "thread", "coffee", "morning", "evening",
    "café", "naïve", "Grüße", "señor", "smörgåsbord", "façade", "Ærø", "Łódź", "привет", "мир",
    "日本語", "東京", "한국어", "中文", "Ωmega", "→", "—", "…", "“quoted”", "🌱", "✨", "🎉", "🚲", "🏝️", "☕",
    "👩‍💻", "\"escaped\"", "back\\slash", "tab\there", "50%", "#solarpunk", "#scuttlebutt",
    "[link](https://example.org/x?y=1&z=2)", "`code`", "**bold**", "_em_",
];

const CHANNELS: &[&str] = &[
    "solarpunk",
    "scuttlebutt",
    "sailing",
    "gardening",
    "music",
    "café",
];

const NAMES: &[&str] = &[
    "alice",
    "bob",
    "carol",
    "dave",
    "eve",
    "frank",
    "zoë",
    "mørk",
    "たろう",
];

fn pick<'a, T>(rng: &mut ChaCha20Rng, xs: &'a [T]) -> &'a T {
    &xs[rng.next_u32() as usize % xs.len()]
}

/// True with probability 1/`n`.
fn one_in(rng: &mut ChaCha20Rng, n: u32) -> bool {
    between(rng, 1, n) == 1
}

/// Uniform in `lo..=hi`.
fn between(rng: &mut ChaCha20Rng, lo: u32, hi: u32) -> u32 {
    lo + rng.next_u32() % (hi - lo + 1)
}

/// A post's text of about `target` UTF-8 bytes: words, punctuation, paragraphs.
fn post_text(rng: &mut ChaCha20Rng, target: usize) -> String {
    let mut s = String::new();
    let mut sentence_start = true;
    while s.len() < target {
        let w = *pick(rng, WORDS);
        if sentence_start {
            let mut cs = w.chars();
            if let Some(c) = cs.next() {
                s.extend(c.to_uppercase());
                s.push_str(cs.as_str());
            }
        } else {
            s.push_str(w);
        }
        match rng.next_u32() % 20 {
            0 => s.push_str(".\n\n"),
            1 | 2 => s.push_str(". "),
            3 => s.push_str(", "),
            4 => s.push_str("! "),
            _ => s.push(' '),
        }
        sentence_start = s.ends_with(". ") || s.ends_with("\n\n") || s.ends_with("! ");
    }
    s.trim_end().to_string()
}

/// A post's content: `type`, `text` and, at random, `channel`, `root`/`branch`, `mentions`.
fn post_content(rng: &mut ChaCha20Rng, earlier: &[MsgId], others: &[String]) -> Value {
    let mut c = Object::new();
    c.insert("type".into(), Value::string("post"));
    let target = between(rng, 200, 440) as usize;
    c.insert("text".into(), Value::string(&post_text(rng, target)));
    if one_in(rng, 4) {
        c.insert("channel".into(), Value::string(pick::<&str>(rng, CHANNELS)));
    }
    if !earlier.is_empty() && one_in(rng, 3) {
        let root = *pick(rng, earlier);
        let branch = *pick(rng, earlier);
        c.insert("root".into(), Value::string(&root.to_string()));
        c.insert("branch".into(), Value::string(&branch.to_string()));
    }
    if one_in(rng, 5) {
        let mut m = Object::new();
        m.insert("link".into(), Value::string(pick(rng, others).as_str()));
        m.insert("name".into(), Value::string(pick::<&str>(rng, NAMES)));
        c.insert("mentions".into(), Value::Array(vec![Value::Object(m)]));
    }
    Value::Object(c)
}

/// Compact JSON text (`JSON.stringify(v)`) as UTF-8.
pub fn compact_text(v: &Value) -> String {
    String::from_utf16(&to_compact_units(v)).expect("generated messages have no lone surrogates")
}

impl Workload {
    /// `feeds` × `per_feed` messages from keys and content drawn from a ChaCha20 RNG seeded
    /// with `seed`.
    pub fn generate(feeds: usize, per_feed: usize, seed: u64) -> Workload {
        assert!(feeds > 0 && per_feed > 0);
        let mut rng = ChaCha20Rng::seed_from_u64(seed);
        let keys: Vec<Keypair> = (0..feeds).map(|_| Keypair::generate(&mut rng)).collect();
        let authors: Vec<String> = keys.iter().map(|k| k.id().to_string()).collect();
        // The interleaving: a random feed with messages left, each time.
        let mut left = vec![per_feed; feeds];
        let mut order = Vec::with_capacity(feeds * per_feed);
        while order.len() < feeds * per_feed {
            let live: Vec<usize> = (0..feeds).filter(|&f| left[f] > 0).collect();
            let f = *pick(&mut rng, &live);
            left[f] -= 1;
            order.push(f);
        }
        let mut last: Vec<Option<MsgId>> = vec![None; feeds];
        let mut seq = vec![0u32; feeds];
        let mut clock: Vec<f64> = (0..feeds)
            .map(|f| 1_700_000_000_000.0 + 1000.0 * f as f64)
            .collect();
        let mut w = Workload {
            feeds,
            per_feed,
            texts: Vec::new(),
            values: Vec::new(),
            ids: Vec::new(),
            feed_of: order.clone(),
            triples: Vec::new(),
        };
        for f in order {
            seq[f] += 1;
            clock[f] += f64::from(between(&mut rng, 1_000, 3_600_000));
            // A quarter of the timestamps carry monotonic-timestamp's fractional part.
            let timestamp = if one_in(&mut rng, 4) {
                clock[f] + f64::from(between(&mut rng, 1, 999)) / 1000.0
            } else {
                clock[f]
            };
            let content = post_content(&mut rng, &w.ids, &authors);
            let (msg, id) = sign_message(&keys[f], last[f], seq[f], timestamp, content, None);
            last[f] = Some(id);
            let value = Value::Object(msg);
            let text = compact_text(&value);
            let parsed = parse(text.as_bytes(), Mode::JsCompat).expect("our own JSON parses");
            assert!(parsed == value, "compact text does not parse back to the message");
            let p = prepare(&parsed, None).expect("a message we signed is well-formed");
            assert_eq!(p.checked.id, id, "prepare and sign_message disagree on the id");
            let lean = prepare_lean(&parsed).expect("prepare_lean takes what prepare takes");
            assert!(
                lean.checked.id == p.checked.id
                    && lean.checked.author == p.checked.author
                    && lean.checked.previous == p.checked.previous
                    && lean.checked.sequence == p.checked.sequence
                    && lean.checked.timestamp == p.checked.timestamp
                    && lean.units == p.units
                    && lean.signed == p.signed
                    && lean.signature == p.signature
                    && p.after_signature.is_none(),
                "prepare_lean differs from prepare"
            );
            w.triples.push(Triple {
                public: p.checked.author.0,
                signed: p.signed,
                signature: p.signature,
            });
            w.texts.push(text);
            w.values.push(parsed);
            w.ids.push(id);
        }
        w
    }

    pub fn len(&self) -> usize {
        self.texts.len()
    }

    pub fn is_empty(&self) -> bool {
        self.texts.is_empty()
    }

    /// The messages as JSON lines, in stream order (what the Node side reads).
    pub fn jsonl(&self) -> String {
        let mut s = String::with_capacity(self.texts.iter().map(|t| t.len() + 1).sum());
        for t in &self.texts {
            s.push_str(t);
            s.push('\n');
        }
        s
    }

    /// Hex sha256 of every message id (`%….sha256`) in stream order joined by `\n`: what the
    /// Node side reports as `ids_sha256` after validating the stream.
    pub fn ids_sha256(&self) -> String {
        let joined: Vec<String> = self.ids.iter().map(MsgId::to_string).collect();
        crypto::sha256(joined.join("\n").as_bytes())
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }

    /// Sizes for the report: `(min, mean, max)` over messages of `f(i)`.
    pub fn size_stats(&self, f: impl Fn(usize) -> usize) -> (usize, f64, usize) {
        let xs: Vec<usize> = (0..self.len()).map(f).collect();
        let (lo, hi) = (
            xs.iter().copied().min().unwrap_or(0),
            xs.iter().copied().max().unwrap_or(0),
        );
        (lo, xs.iter().sum::<usize>() as f64 / xs.len().max(1) as f64, hi)
    }

    /// UTF-16 units of message `i`'s signing encoding (`JSON.stringify(msg, null, 2)`).
    pub fn signing_len(&self, i: usize) -> usize {
        to_signing_units(&self.values[i]).len()
    }

    /// UTF-8 bytes of the compact JSON of message `i`'s content.
    pub fn content_bytes(&self, i: usize) -> usize {
        let content = self.values[i]
            .as_object()
            .and_then(|o| o.get("content"))
            .expect("messages have content");
        compact_text(content).len()
    }

    /// Non-ASCII share of all text bytes.
    pub fn non_ascii_share(&self) -> f64 {
        let total: usize = self.texts.iter().map(String::len).sum();
        let non: usize = self
            .texts
            .iter()
            .map(|t| t.bytes().filter(|b| !b.is_ascii()).count())
            .sum();
        non as f64 / total.max(1) as f64
    }
}

/// What an operation did in one call: how many messages (or verifications) it got through.
pub type Items = u64;

/// Parse + per-feed [`FeedValidator::append`], one message at a time, the validator chosen by
/// the message's `author` string (as ssb-validate keys its state).
pub struct SingleValidation<'a> {
    w: &'a Workload,
    lean: bool,
    next: usize,
    feeds: HashMap<JsString, FeedValidator>,
    /// Messages refused (must stay 0: every message of the workload is valid).
    pub invalid: u64,
}

impl<'a> SingleValidation<'a> {
    pub fn new(w: &'a Workload) -> Self {
        SingleValidation {
            w,
            lean: false,
            next: 0,
            feeds: HashMap::new(),
            invalid: 0,
        }
    }

    /// The same with [`prepare_lean`] in place of `prepare`: `FeedValidator::append_prepared`
    /// (which verifies the signature) on its output — what single validation would cost with the
    /// profile's fixes to `prepare`.
    pub fn lean(w: &'a Workload) -> Self {
        SingleValidation {
            lean: true,
            ..Self::new(w)
        }
    }

    /// Validates one message from its JSON text.
    pub fn validate_text(&mut self, text: &[u8]) -> bool {
        let Ok(v) = parse(text, Mode::JsCompat) else {
            return false;
        };
        self.validate_value(&v)
    }

    /// Validates one parsed message.
    pub fn validate_value(&mut self, v: &Value) -> bool {
        let author = v
            .as_object()
            .and_then(|o| o.get("author"))
            .and_then(Value::as_str);
        let Some(author) = author else { return false };
        let feed = match self.feeds.get_mut(author) {
            Some(f) => f,
            None => self
                .feeds
                .entry(author.clone())
                .or_insert_with(|| FeedValidator::new(None)),
        };
        if self.lean {
            prepare_lean(v).is_some_and(|p| feed.append_prepared(p, None).is_ok())
        } else {
            feed.append(v).is_ok()
        }
    }

    fn advance(&mut self) -> usize {
        if self.next == self.w.len() {
            self.feeds.clear();
            self.next = 0;
        }
        self.next += 1;
        self.next - 1
    }

    /// Parses and validates the next `n` messages.
    pub fn run(&mut self, n: usize) -> Items {
        for _ in 0..n {
            let i = self.advance();
            if !self.validate_text(black_box(self.w.texts[i].as_bytes())) {
                self.invalid += 1;
            }
        }
        n as Items
    }
}

/// Parse + [`BatchValidator::validate`] of `chunk` messages at a time.
pub struct BatchValidation<'a> {
    w: &'a Workload,
    chunk: usize,
    next: usize,
    validator: BatchValidator,
    /// Messages refused (must stay 0).
    pub invalid: u64,
}

impl<'a> BatchValidation<'a> {
    pub fn new(w: &'a Workload, chunk: usize) -> Self {
        assert!(chunk > 0);
        BatchValidation {
            w,
            chunk,
            next: 0,
            validator: BatchValidator::new(None),
            invalid: 0,
        }
    }

    pub fn chunk(&self) -> usize {
        self.chunk
    }

    /// Validates the next `n` chunks (the last chunk of the stream may be shorter).
    pub fn run(&mut self, n: usize) -> Items {
        let mut items = 0;
        for _ in 0..n {
            if self.next == self.w.len() {
                self.validator = BatchValidator::new(None);
                self.next = 0;
            }
            let end = (self.next + self.chunk).min(self.w.len());
            let values: Vec<Value> = self.w.texts[self.next..end]
                .iter()
                .map(|t| parse(black_box(t.as_bytes()), Mode::JsCompat).unwrap_or(Value::Null))
                .collect();
            let verdicts = self.validator.validate(&values);
            self.invalid += verdicts.iter().filter(|v| v.is_err()).count() as u64;
            items += (end - self.next) as Items;
            self.next = end;
        }
        items
    }
}

/// `crypto::ed25519_verify` over the workload's triples, in stream order.
pub struct RawVerify<'a> {
    w: &'a Workload,
    next: usize,
    /// Verifications that failed (must stay 0).
    pub invalid: u64,
}

impl<'a> RawVerify<'a> {
    pub fn new(w: &'a Workload) -> Self {
        RawVerify {
            w,
            next: 0,
            invalid: 0,
        }
    }

    pub fn run(&mut self, n: usize) -> Items {
        for _ in 0..n {
            if self.next == self.w.len() {
                self.next = 0;
            }
            let t = &self.w.triples[self.next];
            if !crypto::ed25519_verify(
                black_box(&t.public),
                black_box(&t.signed),
                black_box(&t.signature),
            ) {
                self.invalid += 1;
            }
            self.next += 1;
        }
        n as Items
    }
}

/// One piece of what single validation does to a message, for the profile. Each runs on
/// precomputed inputs, message after message through the stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Part {
    /// `legacy::parse(text, JsCompat)`.
    Parse,
    /// `prepare`'s field rules without the encodings: key order, author, sequence, previous,
    /// timestamp, hash, content and signature decoding (replicated from `prepare`).
    FieldChecks,
    /// `Value::Object(msg.clone())`, the deep copy `prepare` makes to stringify the message.
    CloneMessage,
    /// `to_signing_units` of the whole message (`JSON.stringify(msg, null, 2)`).
    StringifyMessage,
    /// `latin1_sha256` of that encoding: the message id.
    Latin1Sha256,
    /// `msg.without("signature")`.
    Without,
    /// `signed_bytes(&unsigned, None)`: another deep copy, `to_signing_units`, UTF-16 → UTF-8.
    SignedBytes,
    /// The UTF-16 → UTF-8 step of `signed_bytes` alone (`String::from_utf16_lossy`).
    Utf16ToUtf8,
    /// `prepare(msg, None)` as a whole.
    Prepare,
    /// `crypto::ed25519_verify`.
    Verify,
    /// `crypto::sha512` over `R ‖ A ‖ signed bytes`: the hash inside every ed25519 verification.
    VerifySha512,
    /// [`prepare_lean`]: `prepare` without the copies and the second encoding.
    PrepareLean,
    /// [`utf16_to_utf8`] of the unsigned encoding: the direct conversion `prepare_lean` uses.
    Utf16ToUtf8Direct,
    /// `check_message(parse(text))`: parse, `prepare` and verify in one go, no feed state. Next
    /// to the sum of the three measured alone it shows what running them back to back costs
    /// (or saves); next to `single` what the feed state costs.
    CheckMessage,
    /// The feed state alone: find the author's validator by the `author` string, then
    /// `append_prepared` with the signature already known good.
    FeedBookkeeping,
}

impl Part {
    pub const ALL: [Part; 15] = [
        Part::Parse,
        Part::FieldChecks,
        Part::CloneMessage,
        Part::StringifyMessage,
        Part::Latin1Sha256,
        Part::Without,
        Part::SignedBytes,
        Part::Utf16ToUtf8,
        Part::Prepare,
        Part::Verify,
        Part::VerifySha512,
        Part::CheckMessage,
        Part::FeedBookkeeping,
        Part::PrepareLean,
        Part::Utf16ToUtf8Direct,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Part::Parse => "parse",
            Part::FieldChecks => "field_checks",
            Part::CloneMessage => "clone_message",
            Part::StringifyMessage => "stringify_message",
            Part::Latin1Sha256 => "latin1_sha256",
            Part::Without => "without_signature",
            Part::SignedBytes => "signed_bytes",
            Part::Utf16ToUtf8 => "utf16_to_utf8",
            Part::Prepare => "prepare",
            Part::Verify => "ed25519_verify",
            Part::VerifySha512 => "verify_sha512",
            Part::CheckMessage => "check_message",
            Part::FeedBookkeeping => "feed_bookkeeping",
            Part::PrepareLean => "prepare_lean",
            Part::Utf16ToUtf8Direct => "utf16_to_utf8_direct",
        }
    }
}

/// What `prepare`'s field checks find in a message.
pub struct Fields {
    pub public: [u8; 32],
    pub signature: [u8; 64],
    pub previous: Option<MsgId>,
    pub sequence: f64,
    pub timestamp: f64,
}

/// `prepare`'s field checks (everything but the encodings, the id and the signed bytes), as
/// `impl/src/legacy/message.rs` does them; `None` where `prepare` would refuse, and also for a
/// non-canonical author (which `prepare` reports only after the signature).
pub fn field_checks(v: &Value) -> Option<Fields> {
    let msg = v.as_object()?;
    if !has_valid_order(msg) {
        return None;
    }
    let author = msg.get("author")?.as_str()?.to_string_lossy();
    let author_b64 = author.strip_suffix(".ed25519")?.strip_prefix('@')?;
    let public: [u8; 32] = lenient_b64(author_b64).try_into().ok()?;
    canonical_b64(author_b64)?;
    let sequence = msg.get("sequence")?.as_f64()?;
    if !ssb_impl::legacy::message::is_int32(sequence) {
        return None;
    }
    let previous = match msg.get("previous")? {
        Value::Null => None,
        Value::String(s) => Some(MsgId::parse(&s.to_string_lossy())?),
        _ => return None,
    };
    let timestamp = msg.get("timestamp")?.as_f64()?;
    if !msg.get("hash")?.as_str()?.eq_str("sha256") {
        return None;
    }
    check_content(msg.get("content")?).ok()?;
    let sig = msg.get("signature")?.as_str()?.to_string_lossy();
    let sig = canonical_b64(sig.strip_suffix(".sig.ed25519")?)?;
    Some(Fields {
        public,
        signature: sig.try_into().ok()?,
        previous,
        sequence,
        timestamp,
    })
}

/// UTF-8 of UTF-16 units that hold no lone surrogate (a signing encoding never does: it
/// escapes them), written directly, ASCII first.
pub fn utf16_to_utf8(units: &[u16]) -> Vec<u8> {
    let mut out = Vec::with_capacity(units.len() + units.len() / 2 + 8);
    let mut i = 0;
    while i < units.len() {
        let u = units[i];
        if u < 0x80 {
            out.push(u as u8);
        } else if u < 0x800 {
            out.extend_from_slice(&[0xc0 | (u >> 6) as u8, 0x80 | (u & 0x3f) as u8]);
        } else if (0xd800..0xdc00).contains(&u) && matches!(units.get(i + 1), Some(0xdc00..=0xdfff)) {
            let c = 0x10000 + ((u32::from(u) - 0xd800) << 10) + (u32::from(units[i + 1]) - 0xdc00);
            out.extend_from_slice(&[
                0xf0 | (c >> 18) as u8,
                0x80 | ((c >> 12) & 0x3f) as u8,
                0x80 | ((c >> 6) & 0x3f) as u8,
                0x80 | (c & 0x3f) as u8,
            ]);
            i += 1;
        } else {
            // A BMP character (a lone surrogate would come out as WTF-8; callers have none).
            out.extend_from_slice(&[
                0xe0 | (u >> 12) as u8,
                0x80 | ((u >> 6) & 0x3f) as u8,
                0x80 | (u & 0x3f) as u8,
            ]);
        }
        i += 1;
    }
    out
}

/// Where the signing encoding of a message whose last key is `signature` stops being the
/// encoding of the message without it: the start of `,\n  "signature": `. String contents never
/// hold a raw newline in the encoding (it is escaped), so the last occurrence is the one.
pub fn signature_cut(units: &[u16]) -> Option<usize> {
    const SEP: &str = ",\n  \"signature\": ";
    let sep: Vec<u16> = SEP.encode_utf16().collect();
    (0..=units.len().checked_sub(sep.len())?)
        .rev()
        .find(|&i| units[i..i + sep.len()] == sep[..])
}

/// `prepare` as the profile suggests it should be, built from the public API: the same field
/// checks, but the message is stringified once, straight from the parsed value (no deep
/// copies), and the signed bytes are that encoding cut before the signature, closed with
/// `\n}`, converted to UTF-8 directly. Valid messages only, no HMAC key; gives the same
/// [`Prepared`] as `prepare` (checked for every message of the workload).
pub fn prepare_lean(v: &Value) -> Option<Prepared> {
    let f = field_checks(v)?;
    let units = to_signing_units(v);
    if units.len() > ssb_impl::legacy::message::MAX_MESSAGE_UNITS {
        return None;
    }
    let cut = signature_cut(&units)?;
    let mut signed = utf16_to_utf8(&units[..cut]);
    signed.extend_from_slice(b"\n}");
    Some(Prepared {
        checked: Checked {
            id: MsgId(latin1_sha256(&units)),
            author: FeedId(f.public),
            previous: f.previous,
            sequence: f.sequence,
            timestamp: f.timestamp,
        },
        units: units.len(),
        encoding: units,
        signed,
        signature: f.signature,
        after_signature: None,
    })
}

/// Runs one [`Part`] over the stream, message after message, timing itself.
///
/// Each part runs as it does inside single validation: on the output of the steps before it,
/// made just before, untimed (so in cache, and fresh — not a second run over the same message,
/// which would also have trained the branch predictor on it), for a new message each time.
/// `parse` and `check_message` start from the stored text, as single validation does. The
/// timer's own cost is subtracted.
pub struct PartOp<'a> {
    w: &'a Workload,
    part: Part,
    next: usize,
    buf: Vec<u8>,
    timer_ns: f64,
    feeds: HashMap<JsString, FeedValidator>,
}

/// The cost of an empty `Instant::now()` … `elapsed()` pair, in nanoseconds (smallest of a few
/// means).
pub fn timer_overhead_ns() -> f64 {
    (0..5)
        .map(|_| {
            let t0 = Instant::now();
            let mut sum = Duration::ZERO;
            for _ in 0..10_000 {
                let t = Instant::now();
                sum += black_box(t.elapsed());
            }
            black_box(sum);
            t0.elapsed().as_secs_f64() * 1e9 / 10_000.0
        })
        .fold(f64::INFINITY, f64::min)
}

/// Nanoseconds `f` takes.
#[inline(always)]
fn time<R>(f: impl FnOnce() -> R) -> f64 {
    let t = Instant::now();
    black_box(f());
    t.elapsed().as_secs_f64() * 1e9
}

impl<'a> PartOp<'a> {
    pub fn new(w: &'a Workload, part: Part, timer_ns: f64) -> Self {
        PartOp {
            w,
            part,
            next: 0,
            buf: Vec::with_capacity(16 * 1024),
            timer_ns,
            feeds: HashMap::new(),
        }
    }

    pub fn part(&self) -> Part {
        self.part
    }

    /// Runs the part on the next `n` messages: `(n, nanoseconds of the timed part alone)`.
    pub fn run(&mut self, n: usize) -> (Items, f64) {
        let mut ns = 0.0;
        for _ in 0..n {
            if self.next == self.w.len() {
                self.next = 0;
                self.feeds.clear();
            }
            let i = self.next;
            self.next += 1;
            ns += self.once(i) - self.timer_ns;
        }
        (n as Items, ns.max(0.0))
    }

    fn once(&mut self, i: usize) -> f64 {
        let text = self.w.texts[i].as_bytes();
        if self.part == Part::Parse {
            return time(|| parse(black_box(text), Mode::JsCompat).expect("parses"));
        }
        if self.part == Part::CheckMessage {
            return time(|| {
                let v = parse(black_box(text), Mode::JsCompat).expect("parses");
                assert!(check_message(&v, None).is_ok());
            });
        }
        let v = parse(text, Mode::JsCompat).expect("parses");
        let obj = v.as_object().expect("an object");
        match self.part {
            Part::Parse | Part::CheckMessage => unreachable!("handled above"),
            Part::FieldChecks => time(|| assert!(field_checks(black_box(&v)).is_some())),
            Part::PrepareLean => time(|| assert!(prepare_lean(black_box(&v)).is_some())),
            Part::Utf16ToUtf8Direct => {
                let units = to_signing_units(&Value::Object(obj.without("signature")));
                time(|| utf16_to_utf8(black_box(&units)))
            }
            Part::CloneMessage => time(|| Value::Object(black_box(obj).clone())),
            Part::StringifyMessage => time(|| to_signing_units(black_box(&v))),
            Part::Latin1Sha256 => {
                let units = to_signing_units(&v);
                time(|| latin1_sha256(black_box(&units)))
            }
            Part::Without => time(|| black_box(obj).without("signature")),
            Part::SignedBytes => {
                let unsigned = obj.without("signature");
                time(|| signed_bytes(black_box(&unsigned), None))
            }
            Part::Utf16ToUtf8 => {
                let units = to_signing_units(&Value::Object(obj.without("signature")));
                time(|| String::from_utf16_lossy(black_box(&units)))
            }
            Part::Prepare => time(|| assert!(prepare(black_box(&v), None).is_ok())),
            Part::Verify => {
                let p = prepare(&v, None).expect("prepares");
                let a = &p.checked.author.0;
                time(|| assert!(crypto::ed25519_verify(black_box(a), &p.signed, &p.signature)))
            }
            Part::VerifySha512 => {
                let p = prepare(&v, None).expect("prepares");
                self.buf.clear();
                self.buf.extend_from_slice(&p.signature[..32]);
                self.buf.extend_from_slice(&p.checked.author.0);
                self.buf.extend_from_slice(&p.signed);
                let buf = &self.buf;
                time(|| crypto::sha512(black_box(buf)))
            }
            Part::FeedBookkeeping => {
                let p = prepare(&v, None).expect("prepares");
                let feeds = &mut self.feeds;
                time(|| {
                    let author = obj.get("author").and_then(Value::as_str).expect("author");
                    let feed = match feeds.get_mut(author) {
                        Some(f) => f,
                        None => feeds
                            .entry(author.clone())
                            .or_insert_with(|| FeedValidator::new(None)),
                    };
                    assert!(feed.append_prepared(p, Some(true)).is_ok());
                })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn workload_is_valid_deterministic_and_interleaved() {
        let w = Workload::generate(3, 7, 5);
        assert_eq!(w.len(), 21);
        assert_eq!(
            Workload::generate(3, 7, 5).texts,
            w.texts,
            "seeded, so reproducible"
        );
        assert!(w.feed_of.windows(2).any(|p| p[0] != p[1]), "feeds interleave");
        // Each feed in sequence order.
        for f in 0..3 {
            let seqs: Vec<f64> = (0..w.len())
                .filter(|&i| w.feed_of[i] == f)
                .map(|i| {
                    w.values[i]
                        .as_object()
                        .unwrap()
                        .get("sequence")
                        .unwrap()
                        .as_f64()
                        .unwrap()
                })
                .collect();
            assert_eq!(seqs, (1..=7).map(f64::from).collect::<Vec<_>>());
        }
        let (lo, _, hi) = w.size_stats(|i| w.content_bytes(i));
        assert!(lo >= 200 && hi <= 800, "content {lo}..{hi} bytes");
        assert!(w.non_ascii_share() > 0.0);
        assert_eq!(w.ids_sha256().len(), 64);
        assert!(w.jsonl().lines().count() == w.len());
    }

    #[test]
    fn every_operation_accepts_the_whole_stream_twice() {
        let w = Workload::generate(3, 9, 1);
        let n = w.len();
        let mut single = SingleValidation::new(&w);
        assert_eq!(single.run(2 * n + 1), (2 * n + 1) as u64);
        assert_eq!(single.invalid, 0);
        for chunk in [1, 4, 64] {
            let mut batch = BatchValidation::new(&w, chunk);
            let chunks = n.div_ceil(chunk);
            assert_eq!(batch.run(chunks), n as u64);
            batch.run(chunks);
            assert_eq!(batch.invalid, 0, "chunk {chunk}");
        }
        let mut raw = RawVerify::new(&w);
        raw.run(n + 3);
        assert_eq!(raw.invalid, 0);
        for part in Part::ALL {
            let (items, ns) = PartOp::new(&w, part, timer_overhead_ns()).run(n + 1);
            assert_eq!(items, (n + 1) as u64);
            assert!(ns > 0.0);
        }
    }

    #[test]
    fn a_tampered_message_is_counted_invalid() {
        let w = Workload::generate(1, 3, 2);
        let mut single = SingleValidation::new(&w);
        let text = w.texts[0].replacen("\"post\"", "\"Post\"", 1);
        assert!(!single.validate_text(text.as_bytes()));
        assert!(single.validate_text(w.texts[0].as_bytes()));
    }
}
