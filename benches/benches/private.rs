//! Box2 (envelope) messages checked per second by a node holding 50 group keys, over 1,000
//! messages none of which are for it: the common case of private-message indexing.
//!
//! The workload ([`Workload`], seeded, the same every run): 5 other feeds × 200 signed classic
//! messages, interleaved, each with `<base64>.box2` content boxed to keys the node does not hold:
//! 45 % to another group only (1 slot), 10 % to another group and 1–3 of its members by DM key
//! (2–4 slots, like `group/add-member`), 45 % direct messages to 1–3 other feeds plus the
//! author's self key (2–4 slots); a quarter padded with 16–256 bytes; plaintexts are posts of
//! 60–600 characters of text. The node holds 50 group keys and its self key, and computes its
//! DM key with each author in both info orders, as it does (two keys to try when they differ:
//! for none of these five authors).
//!
//! Groups (Criterion ids; the whole-workload ones have Throughput::Elements(1000), so Criterion
//! prints messages per second):
//! * `private_node/box2_50groups_{16,8}` — (a) a fresh `Node` (MemoryStore) holding 50 group
//!   keys, `box2_attempts` 16 or 8, ingests the 1,000 messages with `add_message` (message
//!   checks, signature, append, follow graph, private index). Making the node is not timed.
//! * `private_node/box2_0groups_16` — the same with no group key (self and DM keys only).
//! * `private_node/plain_0groups` — (c) the same node ingesting 1,000 plain posts of about the
//!   same size from the same feeds (no box2): ingest without private indexing.
//! * `private_pure/open_50groups_{16,8}`, `private_pure/open_0groups_16` — (b) `groups::open`
//!   with the 50 group keys (or none) + self key + the node's DM key(s) with the author, on the
//!   decoded ciphertexts with their contexts prepared.
//! * `private_pure/lean_50groups_16`, `private_pure/lean_cached_50groups_16` — the same search
//!   and the same cryptography written leaner (a proposal, not the implementation): the
//!   `DeriveSecret` infos built once per message, no allocation per trial; and, for `cached`,
//!   each key's HMAC state (ipad/opad blocks) computed once and reused for every message's slot
//!   mask. Checked to find the same (key, slot) on positive controls and nothing on the workload.
//! * `private_parts/*` — one message, one key: the pieces a trial is made of (`DeriveSecret`,
//!   HKDF-Expand with its info ready, a slot mask, a failing header-box open — ours and
//!   libsodium's —, one SHA-256 block, one group key on slot 0, one DM key on 16 slots), and
//!   what the node does per box2 message besides trying keys (`boxed_parts`, reproduced; the
//!   message check of box2 content; the trial lists `index_private` builds with 50 groups; the
//!   DM keys it derives once per author). These also run interleaved after the groups.
//!
//! After the groups, on a measuring run, the whole-workload operations run again interleaved
//! (20 rounds, each op once per round in rotating order; medians, and differences and ratios
//! taken round by round, which the load of other processes mostly cancels), and a Markdown
//! summary is printed: both sets of figures, the parts, and the per-key costs derived from
//! them. `reports/bench/private.md` discusses a run.
//!
//! `cargo bench -p ssb-benches --bench private` (about 85 s once built). `cargo test --benches`
//! runs every benchmark once as a smoke test, after the workload's checks.

use std::hint::black_box;
use std::time::{Duration, Instant, SystemTime};

use criterion::{criterion_group, BatchSize, Criterion, SamplingMode, Throughput};
use hmac::Mac;
use rand_chacha::ChaCha20Rng;
use rand_core::{RngCore, SeedableRng};
use serde_json::json;
use ssb_benches::{
    criterion_dir, is_measuring_run, machine_description, median, paired_ratio, read_estimate, utc_timestamp,
};
use ssb_impl::bendybutt::bfe::{FeedRef, MsgRef};
use ssb_impl::legacy::message::{check_content, sign_message, MsgId};
use ssb_impl::legacy::{self, Mode, Value};
use ssb_impl::node::{Node, NodeConfig, ReadVia};
use ssb_impl::private::box2::{self, Context, RecipientKey};
use ssb_impl::private::content::{self, BoxFormat};
use ssb_impl::private::groups::{self, schemes, GroupId, InfoOrder};
use ssb_impl::private::kdf;
use ssb_impl::store::{MemoryBlobs, MemoryStore};
use ssb_impl::{crypto, Keypair};

const SEED: u64 = 0xB0C2_5EED;
const AUTHORS: usize = 5;
const PER_AUTHOR: usize = 200;
const MESSAGES: usize = AUTHORS * PER_AUTHOR;
const NODE_GROUPS: usize = 50;
const OTHER_GROUPS: usize = 8;
const OTHER_FEEDS: usize = 12;

/// One message of the workload.
struct Msg {
    author: usize,
    /// The signed message, box2 content.
    boxed: Value,
    /// A signed message of about the same size with a plain `post` content (its own chain).
    plain: Value,
    /// The stored text of `boxed` (the signing encoding, as the node stores it).
    stored: String,
    ctx: Context,
    ciphertext: Vec<u8>,
    slots: usize,
}

/// The node's keys and the 1,000 messages (see the module documentation).
struct Workload {
    node: Keypair,
    groups: Vec<(GroupId, [u8; 32])>,
    self_key: RecipientKey,
    /// The node's DM keys with each author, as the node computes them (both info orders,
    /// deduplicated).
    dm: Vec<Vec<RecipientKey>>,
    msgs: Vec<Msg>,
}

fn random32(rng: &mut ChaCha20Rng) -> [u8; 32] {
    let mut k = [0u8; 32];
    rng.fill_bytes(&mut k);
    k
}

fn below(rng: &mut ChaCha20Rng, n: usize) -> usize {
    (rng.next_u64() % n as u64) as usize
}

fn words(rng: &mut ChaCha20Rng, len: usize) -> String {
    const W: [&str; 12] = [
        "the",
        "meeting",
        "moved",
        "to",
        "thursday",
        "bring",
        "snacks",
        "garden",
        "photos",
        "ok",
        "scuttlebutt",
        "boat",
    ];
    let mut s = String::with_capacity(len + 12);
    while s.len() < len {
        s.push_str(W[below(rng, W.len())]);
        s.push(' ');
    }
    s.truncate(len);
    s
}

fn dm_between(a: &Keypair, b: &Keypair, order: InfoOrder) -> Option<RecipientKey> {
    groups::dm_key_for_feeds(a, &FeedRef::from(a.id()), &FeedRef::from(b.id()), order).ok()
}

/// What the node computes for its DM keys with `author` (`PrivateIndex::dm_keys`).
fn node_dm_keys(node: &Keypair, author: &Keypair) -> Vec<RecipientKey> {
    let mut out: Vec<RecipientKey> = Vec::new();
    for order in [InfoOrder::Bytewise, InfoOrder::JsString] {
        if let Some(k) = dm_between(node, author, order) {
            if !out.contains(&k) {
                out.push(k);
            }
        }
    }
    out
}

fn parse_value(j: &serde_json::Value) -> Value {
    legacy::parse(serde_json::to_string(j).unwrap().as_bytes(), Mode::JsCompat).expect("valid JSON")
}

impl Workload {
    fn generate(seed: u64) -> Workload {
        let mut rng = ChaCha20Rng::seed_from_u64(seed);
        let node = Keypair::from_seed([0x4E; 32]);
        let groups: Vec<(GroupId, [u8; 32])> = (0..NODE_GROUPS)
            .map(|_| (GroupId(random32(&mut rng)), random32(&mut rng)))
            .collect();
        let self_key = RecipientKey::new(random32(&mut rng), schemes::FEED_ID_SELF);
        let authors: Vec<Keypair> = (0..AUTHORS)
            .map(|i| Keypair::from_seed([0x10 + i as u8; 32]))
            .collect();
        let others: Vec<Keypair> = (0..OTHER_FEEDS)
            .map(|i| Keypair::from_seed([0x80 + i as u8; 32]))
            .collect();
        let other_groups: Vec<[u8; 32]> = (0..OTHER_GROUPS).map(|_| random32(&mut rng)).collect();
        let author_self: Vec<[u8; 32]> = (0..AUTHORS).map(|_| random32(&mut rng)).collect();
        // DM keys from each author to each other feed.
        let author_dm: Vec<Vec<RecipientKey>> = authors
            .iter()
            .map(|a| {
                others
                    .iter()
                    .map(|o| dm_between(a, o, InfoOrder::Bytewise).expect("distinct feeds"))
                    .collect()
            })
            .collect();
        let dm: Vec<Vec<RecipientKey>> = authors.iter().map(|a| node_dm_keys(&node, a)).collect();

        // Interleave the feeds at random, each in sequence order.
        let mut order: Vec<usize> = (0..AUTHORS)
            .flat_map(|a| std::iter::repeat_n(a, PER_AUTHOR))
            .collect();
        for i in (1..order.len()).rev() {
            order.swap(i, below(&mut rng, i + 1));
        }
        let mut prev_boxed: Vec<Option<MsgId>> = vec![None; AUTHORS];
        let mut prev_plain: Vec<Option<MsgId>> = vec![None; AUTHORS];
        let mut seq = [0u32; AUTHORS];
        let mut msgs = Vec::with_capacity(MESSAGES);
        for (i, &a) in order.iter().enumerate() {
            seq[a] += 1;
            let ts = 1_700_000_000_000.0 + i as f64 * 1000.0;
            let pick = below(&mut rng, 100);
            let mut recps: Vec<RecipientKey> = Vec::new();
            let mut names: Vec<String> = Vec::new();
            let add_dms = |rng: &mut ChaCha20Rng, recps: &mut Vec<RecipientKey>, names: &mut Vec<String>| {
                let n = 1 + below(rng, 3);
                let mut chosen: Vec<usize> = Vec::new();
                while chosen.len() < n {
                    let o = below(rng, OTHER_FEEDS);
                    if !chosen.contains(&o) {
                        chosen.push(o);
                    }
                }
                for o in chosen {
                    recps.push(author_dm[a][o].clone());
                    names.push(others[o].id().to_string());
                }
            };
            if pick < 55 {
                let g = below(&mut rng, OTHER_GROUPS);
                recps.push(RecipientKey::new(other_groups[g], schemes::PRIVATE_GROUP));
                names.push(format!("ssb:identity/group/other-{g}"));
                if pick >= 45 {
                    add_dms(&mut rng, &mut recps, &mut names);
                }
            } else {
                add_dms(&mut rng, &mut recps, &mut names);
                recps.push(RecipientKey::new(author_self[a], schemes::FEED_ID_SELF));
            }
            let text_len = 60 + below(&mut rng, 541);
            let plaintext = serde_json::to_vec(&json!({
                "type": "post",
                "text": words(&mut rng, text_len),
                "recps": names,
            }))
            .unwrap();
            let padding: Vec<u8> = if below(&mut rng, 4) == 0 {
                let mut p = vec![0u8; 16 + below(&mut rng, 241)];
                rng.fill_bytes(&mut p);
                p
            } else {
                Vec::new()
            };
            let author_ref = FeedRef::from(authors[a].id());
            let ctx = Context::new(&author_ref, prev_boxed[a].map(MsgRef::from).as_ref()).unwrap();
            let mut msg_key = [0u8; 32];
            while msg_key == [0u8; 32] {
                msg_key = random32(&mut rng);
            }
            let ciphertext = box2::seal(&plaintext, &ctx, &msg_key, &recps, &padding).unwrap();
            let text = content::encode(BoxFormat::Box2, &ciphertext);
            let (boxed, id) =
                sign_message(&authors[a], prev_boxed[a], seq[a], ts, Value::string(&text), None);
            prev_boxed[a] = Some(id);
            // A plain post whose message is about as long: the text takes the base64's place.
            let plain_text: String = text
                .chars()
                .take(text.len().saturating_sub(20))
                .map(|c| if c.is_ascii_alphanumeric() { c } else { 'x' })
                .collect();
            let plain_content = parse_value(&json!({"type": "post", "text": plain_text}));
            let (plain, pid) = sign_message(&authors[a], prev_plain[a], seq[a], ts, plain_content, None);
            prev_plain[a] = Some(pid);
            let boxed = Value::Object(boxed);
            let stored = legacy::stringify::units_to_utf8(&legacy::to_signing_units(&boxed)).unwrap();
            msgs.push(Msg {
                author: a,
                boxed,
                plain: Value::Object(plain),
                stored,
                ctx,
                ciphertext,
                slots: recps.len(),
            });
        }
        Workload {
            node,
            groups,
            self_key,
            dm,
            msgs,
        }
    }

    /// The trial keys of `groups::open` for each author: `groups` of the node's group keys, the
    /// self key, the DM key(s) with the author (the node's order).
    fn trial_keys(&self, groups: usize) -> Vec<Vec<RecipientKey>> {
        (0..AUTHORS)
            .map(|a| {
                let mut keys: Vec<RecipientKey> = self.groups[..groups]
                    .iter()
                    .map(|(_, k)| RecipientKey::new(*k, schemes::PRIVATE_GROUP))
                    .collect();
                keys.push(self.self_key.clone());
                keys.extend(self.dm[a].iter().cloned());
                keys
            })
            .collect()
    }

    /// A fresh node holding `groups` of the group keys, trying `attempts` slots.
    fn node(&self, groups: usize, attempts: usize) -> Node {
        let config = NodeConfig {
            box2_attempts: attempts,
            ..NodeConfig::default()
        };
        let mut n = Node::new(
            self.node.clone(),
            config,
            Box::new(MemoryStore::new()),
            Box::new(MemoryBlobs::new()),
        )
        .unwrap();
        for (g, k) in &self.groups[..groups] {
            n.add_group_key(*g, *k, None);
        }
        n
    }

    /// Slots `groups::open` tries per message with non-group keys, at `attempts`: (mean, how
    /// many messages are capped by `attempts` rather than by their length).
    fn slots_tried(&self, attempts: usize) -> (f64, usize) {
        let tried: Vec<usize> = self
            .msgs
            .iter()
            .map(|m| box2::slots_to_try(m.ciphertext.len(), attempts))
            .collect();
        let capped = self
            .msgs
            .iter()
            .filter(|m| box2::slots_to_try(m.ciphertext.len(), usize::MAX) > attempts)
            .count();
        (tried.iter().sum::<usize>() as f64 / tried.len() as f64, capped)
    }

    /// The workload's own checks: none of the messages opens with the node's keys, while a
    /// message to one of its groups or by DM to it would; the node ingests them all and reads
    /// none.
    fn check(&self) {
        let keys = self.trial_keys(NODE_GROUPS);
        for m in &self.msgs {
            assert_eq!(
                groups::open(&m.ciphertext, &m.ctx, &keys[m.author], 16).err(),
                Some(box2::Box2Error::NotRecipient)
            );
        }
        // Positive controls on the first message's context: the node's 17th group key in slot
        // 0, and the DM key (as the author computes it) in slot 3, after three other keys.
        let m = &self.msgs[0];
        let author = Keypair::from_seed([0x10 + m.author as u8; 32]);
        let group = RecipientKey::new(self.groups[17].1, schemes::PRIVATE_GROUP);
        let ct = box2::seal(b"{\"type\":\"x\"}", &m.ctx, &[7; 32], &[group], &[]).unwrap();
        assert!(groups::open(&ct, &m.ctx, &keys[m.author], 16).is_ok());
        let dm = dm_between(&author, &self.node, InfoOrder::Bytewise).unwrap();
        let others: Vec<RecipientKey> = (0..3)
            .map(|i| RecipientKey::new([i + 1; 32], schemes::FEED_ID_DM))
            .chain([dm])
            .collect();
        let ct = box2::seal(&[b'x'; 400], &m.ctx, &[7; 32], &others, &[]).unwrap();
        assert_eq!(groups::open(&ct, &m.ctx, &keys[m.author], 8).unwrap().key.slot, 3);
        let lean = lean_keys(self, NODE_GROUPS);
        let (lg, lo) = &lean[m.author];
        for cached in [false, true] {
            let expect_dm = Some((NODE_GROUPS + 1, 3));
            assert_eq!(lean_open_key(&ct, &m.ctx, lg, lo, 8, cached), expect_dm);
            let g = box2::seal(
                b"{}",
                &m.ctx,
                &[7; 32],
                &[RecipientKey::new(self.groups[17].1, schemes::PRIVATE_GROUP)],
                &[],
            )
            .unwrap();
            assert_eq!(lean_open_key(&g, &m.ctx, lg, lo, 16, cached), Some((17, 0)));
            for m in &self.msgs {
                let (lg, lo) = &lean[m.author];
                assert_eq!(lean_open_key(&m.ciphertext, &m.ctx, lg, lo, 16, cached), None);
            }
        }
        let mut node = self.node(NODE_GROUPS, 16);
        for m in &self.msgs {
            node.add_message(&m.boxed, 0).expect("valid message");
        }
        let s = node.private_stats();
        assert_eq!((s.checked, s.opened), (MESSAGES as u64, 0));
        let mut node = self.node(0, 16);
        for m in &self.msgs {
            node.add_message(&m.plain, 0).expect("valid message");
        }
        assert_eq!(node.private_stats().checked, 0);
    }
}

// ---------------------------------------------------------------------------------------------
// A leaner trial, same cryptography: what `box2::open_key` could do (see reports/bench/private.md)

type HmacSha256 = hmac::Hmac<sha2::Sha256>;

/// The schemes the node tries, by index into [`Infos::slot`].
const SCHEMES: [&str; 3] = [schemes::PRIVATE_GROUP, schemes::FEED_ID_SELF, schemes::FEED_ID_DM];

/// A trial key: its bytes, its scheme's index, and (for `cached`) its HMAC-SHA-256 state keyed
/// once — the ipad/opad blocks hashed — which every message's slot mask starts from.
struct LeanKey {
    key: [u8; 32],
    scheme: usize,
    mac: HmacSha256,
}

impl LeanKey {
    fn new(k: &RecipientKey) -> LeanKey {
        LeanKey {
            key: k.key,
            scheme: SCHEMES
                .iter()
                .position(|s| *s == k.scheme)
                .expect("a scheme the node uses"),
            mac: <HmacSha256 as Mac>::new_from_slice(&k.key).unwrap(),
        }
    }
}

/// One message's `DeriveSecret` infos (SLP of `["envelope", feed, previous, …labels]`), built
/// once per message instead of once per derivation.
struct Infos {
    read: Vec<u8>,
    header: Vec<u8>,
    slot: [Vec<u8>; 3],
}

impl Infos {
    fn new(ctx: &Context) -> Infos {
        let slp = |labels: &[&[u8]]| {
            let mut parts: Vec<&[u8]> = vec![b"envelope", ctx.feed_bfe(), ctx.previous_bfe()];
            parts.extend_from_slice(labels);
            kdf::slp_encode(&parts).unwrap()
        };
        Infos {
            read: slp(&[b"read_key"]),
            header: slp(&[b"header_key"]),
            slot: SCHEMES.map(|s| slp(&[b"slot_key", s.as_bytes()])),
        }
    }
}

/// HKDF-Expand-SHA256 to 32 bytes from a keyed HMAC state (one block of output: T(1)).
fn expand_from(mac: &HmacSha256, info: &[u8]) -> [u8; 32] {
    let mut m = mac.clone();
    m.update(info);
    m.update(&[1]);
    m.finalize().into_bytes().into()
}

/// Does the slot at `start` hold a key that opens the header? No allocation: the 16 header
/// bytes are opened in a stack buffer.
fn lean_try_slot(ct: &[u8], infos: &Infos, mask: &[u8; 32], start: usize) -> bool {
    let mut msg_key = *mask;
    for (m, c) in msg_key.iter_mut().zip(&ct[start..start + 32]) {
        *m ^= c;
    }
    let read_key = kdf::hkdf_expand32(&msg_key, &infos.read);
    let header_key = kdf::hkdf_expand32(&read_key, &infos.header);
    let mac: [u8; 16] = ct[..16].try_into().unwrap();
    let mut header: [u8; 16] = ct[16..32].try_into().unwrap();
    crypto::secretbox_open_detached(&header_key, &[0; 24], &mac, &mut header).is_ok()
}

/// `groups::open_key`'s search (group keys on slot 0, the others on up to `attempts` slots)
/// with the infos built once per message and no allocation per trial; with `cached`, the slot
/// masks start from each key's keyed HMAC state. Returns (key index, slot) of the first match.
fn lean_open_key(
    ct: &[u8],
    ctx: &Context,
    group: &[LeanKey],
    other: &[LeanKey],
    attempts: usize,
    cached: bool,
) -> Option<(usize, usize)> {
    let slots = box2::slots_to_try(ct.len(), attempts);
    if slots == 0 {
        return None;
    }
    let infos = Infos::new(ctx);
    let mask = |k: &LeanKey| {
        let info = &infos.slot[k.scheme];
        if cached {
            expand_from(&k.mac, info)
        } else {
            kdf::hkdf_expand32(&k.key, info)
        }
    };
    for (i, k) in group.iter().enumerate() {
        if lean_try_slot(ct, &infos, &mask(k), box2::HEADER_BOX_LEN) {
            return Some((i, 0));
        }
    }
    for (i, k) in other.iter().enumerate() {
        let mask = mask(k);
        for j in 0..slots {
            if lean_try_slot(ct, &infos, &mask, box2::HEADER_BOX_LEN + j * box2::SLOT_LEN) {
                return Some((group.len() + i, j));
            }
        }
    }
    None
}

/// Per author: the lean group keys and the lean other keys (self key, DM keys).
fn lean_keys(w: &Workload, groups: usize) -> Vec<(Vec<LeanKey>, Vec<LeanKey>)> {
    w.trial_keys(groups)
        .iter()
        .map(|keys| {
            let (g, o): (Vec<&RecipientKey>, Vec<&RecipientKey>) =
                keys.iter().partition(|k| k.scheme == schemes::PRIVATE_GROUP);
            (
                g.into_iter().map(LeanKey::new).collect(),
                o.into_iter().map(LeanKey::new).collect(),
            )
        })
        .collect()
}

fn sodium_init() {
    // SAFETY: sodium_init is idempotent and thread-safe; it must run before any other call.
    assert!(unsafe { libsodium_sys::sodium_init() } >= 0, "sodium_init failed");
}

/// libsodium's `crypto_secretbox_open_detached` of a 32-byte header box (fails: wrong key).
fn sodium_header_open(key: &[u8; 32], boxed: &[u8]) -> bool {
    let mut out = [0u8; 16];
    // SAFETY: `boxed` holds at least 32 bytes (16 of MAC, 16 of ciphertext), `out` 16, the
    // nonce 24 and the key 32.
    unsafe {
        libsodium_sys::crypto_secretbox_open_detached(
            out.as_mut_ptr(),
            boxed[16..32].as_ptr(),
            boxed[..16].as_ptr(),
            16,
            [0u8; 24].as_ptr(),
            key.as_ptr(),
        ) == 0
    }
}

fn ingest(node: &mut Node, msgs: &[Msg], plain: bool) {
    for m in msgs {
        let v = if plain { &m.plain } else { &m.boxed };
        node.add_message(black_box(v), 0).unwrap();
    }
}

fn bench_node(c: &mut Criterion, w: &Workload) {
    let mut group = c.benchmark_group("private_node");
    group.throughput(Throughput::Elements(MESSAGES as u64));
    group.sampling_mode(SamplingMode::Flat);
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(4));
    for (name, groups, attempts, plain) in [
        ("box2_50groups_16", NODE_GROUPS, 16, false),
        ("box2_50groups_8", NODE_GROUPS, 8, false),
        ("box2_0groups_16", 0, 16, false),
        ("plain_0groups", 0, 16, true),
    ] {
        group.bench_function(name, |b| {
            b.iter_batched(
                || w.node(groups, attempts),
                |mut node| {
                    ingest(&mut node, &w.msgs, plain);
                    node
                },
                BatchSize::PerIteration,
            )
        });
    }
    group.finish();
}

fn bench_pure(c: &mut Criterion, w: &Workload) {
    let mut group = c.benchmark_group("private_pure");
    group.throughput(Throughput::Elements(MESSAGES as u64));
    group.sampling_mode(SamplingMode::Flat);
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(3));
    for (name, groups, attempts) in [
        ("open_50groups_16", NODE_GROUPS, 16),
        ("open_50groups_8", NODE_GROUPS, 8),
        ("open_0groups_16", 0, 16),
    ] {
        let keys = w.trial_keys(groups);
        group.bench_function(name, |b| {
            b.iter(|| {
                let mut opened = 0usize;
                for m in &w.msgs {
                    opened += groups::open(black_box(&m.ciphertext), &m.ctx, &keys[m.author], attempts)
                        .is_ok() as usize;
                }
                opened
            })
        });
    }
    let lean = lean_keys(w, NODE_GROUPS);
    for (name, cached) in [("lean_50groups_16", false), ("lean_cached_50groups_16", true)] {
        group.bench_function(name, |b| b.iter(|| lean_pass(w, &lean, 16, cached)));
    }
    group.finish();
}

/// One pass of [`lean_open_key`] over the workload; how many opened (none).
fn lean_pass(w: &Workload, lean: &[(Vec<LeanKey>, Vec<LeanKey>)], attempts: usize, cached: bool) -> usize {
    w.msgs
        .iter()
        .filter(|m| {
            let (g, o) = &lean[m.author];
            lean_open_key(black_box(&m.ciphertext), &m.ctx, g, o, attempts, cached).is_some()
        })
        .count()
}

/// The node's `boxed_parts` (impl/src/node/private.rs), reproduced: what it does to a stored
/// box2 message before trying keys.
fn boxed_parts(stored: &str) -> Option<(Vec<u8>, Option<MsgId>)> {
    if !stored.contains(".box") {
        return None;
    }
    let v: serde_json::Value = serde_json::from_str(stored).ok()?;
    let text = v.get("content")?.as_str()?;
    let format = content::format_of(text)?;
    let ciphertext = content::decode(format, text).ok()?;
    let previous = match v.get("previous")? {
        serde_json::Value::Null => None,
        serde_json::Value::String(s) => Some(MsgId::parse(s)?),
        _ => return None,
    };
    Some((ciphertext, previous))
}

/// The parts, by name and what each is (the Criterion ids are `private_parts/<name>`).
const PARTS: [(&str, &str); 12] = [
    (
        "derive_secret",
        "`Context::read_key`: one `DeriveSecret` (SLP info built, HKDF-Expand-SHA256)",
    ),
    (
        "hkdf_expand32_info_ready",
        "`kdf::hkdf_expand32` with the info already built",
    ),
    (
        "slot_mask",
        "`Context::slot_mask` of a group key (`DeriveSecret` with two labels)",
    ),
    (
        "header_open_fail",
        "`crypto::secretbox_open` of the 32-byte header box, wrong key",
    ),
    (
        "header_open_fail_libsodium",
        "libsodium's `crypto_secretbox_open_detached`, same",
    ),
    (
        "sha256_one_block",
        "`crypto::sha256` of 55 bytes (one compression + set-up)",
    ),
    (
        "group_key_slot0",
        "`box2::open_key`, one group key on slot 0: mask, 2 derives, header open",
    ),
    ("dm_key_16_slots", "`box2::open_key`, one DM key on 16 slots"),
    (
        "boxed_parts",
        "the node's `boxed_parts`: JSON parse of the stored text, base64 decode",
    ),
    (
        "check_content_box2",
        "`legacy::message::check_content` of the box2 content (canonical base64 check)",
    ),
    (
        "trial_lists_50",
        "the key lists `index_private` builds per box2 message with 50 groups",
    ),
    (
        "node_dm_keys",
        "the node's DM keys with one author, both info orders (once per author)",
    ),
];

/// One message (long enough for 16 slots, not for the node) and the keys the parts use.
struct Parts<'a> {
    w: &'a Workload,
    m: &'a Msg,
    gk: RecipientKey,
    dk: RecipientKey,
    key: [u8; 32],
    infos: Infos,
    author: Keypair,
    content: Value,
}

impl<'a> Parts<'a> {
    fn new(w: &'a Workload) -> Parts<'a> {
        let m = w
            .msgs
            .iter()
            .find(|m| box2::slots_to_try(m.ciphertext.len(), 16) == 16)
            .expect("a long message");
        Parts {
            w,
            m,
            gk: RecipientKey::new(w.groups[0].1, schemes::PRIVATE_GROUP),
            dk: w.dm[m.author][0].clone(),
            key: [0x33; 32],
            infos: Infos::new(&m.ctx),
            author: Keypair::from_seed([0x10 + m.author as u8; 32]),
            content: match &m.boxed {
                Value::Object(o) => o.get("content").expect("a message has content").clone(),
                _ => unreachable!("a message is an object"),
            },
        }
    }

    /// Runs part `i` of [`PARTS`] once.
    fn run(&self, i: usize) {
        let (m, key) = (self.m, black_box(&self.key));
        match i {
            0 => drop(black_box(m.ctx.read_key(key))),
            1 => drop(black_box(kdf::hkdf_expand32(key, &self.infos.read))),
            2 => drop(black_box(m.ctx.slot_mask(black_box(&self.gk)).unwrap())),
            3 => assert!(crypto::secretbox_open(key, &[0; 24], &m.ciphertext[..32]).is_err()),
            4 => assert!(!sodium_header_open(key, &m.ciphertext[..32])),
            5 => drop(black_box(crypto::sha256(black_box(&[0x61; 55])))),
            6 => assert!(box2::open_key(
                &m.ciphertext,
                &m.ctx,
                std::slice::from_ref(black_box(&self.gk)),
                1
            )
            .is_err()),
            7 => assert!(box2::open_key(
                &m.ciphertext,
                &m.ctx,
                std::slice::from_ref(black_box(&self.dk)),
                16
            )
            .is_err()),
            8 => assert!(boxed_parts(black_box(&m.stored)).is_some()),
            9 => assert!(check_content(black_box(&self.content)).is_ok()),
            10 => {
                // As `index_private` does: the (key, via) list, each key with a freshly
                // allocated scheme `String`, and the key list cloned from it for `box2::open`.
                let trial: Vec<(RecipientKey, ReadVia)> = self
                    .w
                    .groups
                    .iter()
                    .map(|(g, k)| (RecipientKey::new(*k, schemes::PRIVATE_GROUP), ReadVia::Group(*g)))
                    .collect();
                let keys: Vec<RecipientKey> = trial.iter().map(|(k, _)| k.clone()).collect();
                black_box((trial, keys));
            }
            _ => drop(black_box(node_dm_keys(&self.w.node, black_box(&self.author)))),
        }
    }
}

fn bench_parts(c: &mut Criterion, w: &Workload) {
    let mut group = c.benchmark_group("private_parts");
    group.sample_size(20);
    group.measurement_time(Duration::from_secs(1));
    group.warm_up_time(Duration::from_millis(300));
    let parts = Parts::new(w);
    for (i, (name, _)) in PARTS.iter().enumerate() {
        group.bench_function(*name, |b| b.iter(|| parts.run(i)));
    }
    group.finish();
}

/// The parts interleaved: calibrated batches of about 2 ms, `rounds` rounds in rotating order;
/// median ns per call of each part.
fn interleaved_parts(w: &Workload, rounds: usize) -> Vec<f64> {
    let parts = Parts::new(w);
    let calls: Vec<u32> = (0..PARTS.len())
        .map(|i| {
            let t = Instant::now();
            let mut n = 0;
            while t.elapsed() < Duration::from_millis(2) {
                parts.run(i);
                n += 1;
            }
            n
        })
        .collect();
    let mut times = vec![Vec::with_capacity(rounds); PARTS.len()];
    for r in 0..rounds {
        for k in 0..PARTS.len() {
            let i = (r + k) % PARTS.len();
            let t = Instant::now();
            for _ in 0..calls[i] {
                parts.run(i);
            }
            times[i].push(t.elapsed().as_nanos() as f64 / f64::from(calls[i]));
        }
    }
    times.iter_mut().map(|t| median(t)).collect()
}

fn benches(c: &mut Criterion) {
    let t = std::time::Instant::now();
    sodium_init();
    let w = Workload::generate(SEED);
    w.check();
    eprintln!(
        "private: {} messages generated and checked in {:.1} s",
        w.msgs.len(),
        t.elapsed().as_secs_f64()
    );
    bench_parts(c, &w);
    bench_pure(c, &w);
    bench_node(c, &w);
    WORKLOAD.with(|cell| *cell.borrow_mut() = Some(w));
}

thread_local! {
    static WORKLOAD: std::cell::RefCell<Option<Workload>> = const { std::cell::RefCell::new(None) };
}

fn config() -> Criterion {
    Criterion::default().warm_up_time(Duration::from_secs(1))
}

criterion_group! {
    name = private;
    config = config();
    targets = benches
}

/// Criterion's mean for `id`, in ns per iteration, if it ran in this invocation.
fn criterion_ns(dir: &std::path::Path, id: &str, since: SystemTime) -> Option<f64> {
    read_estimate(dir, id, since).ok().map(|e| e.mean)
}

/// The whole-workload operations of the interleaved cross-check, by name: what the Criterion
/// groups `private_node` and `private_pure` measure.
const OPS: [&str; 9] = [
    "node/box2_50groups_16",
    "node/box2_50groups_8",
    "node/box2_0groups_16",
    "node/plain_0groups",
    "pure/open_50groups_16",
    "pure/open_50groups_8",
    "pure/open_0groups_16",
    "pure/lean_50groups_16",
    "pure/lean_cached_50groups_16",
];

/// Per-round nanoseconds of one pass over the 1,000 messages, for every op of [`OPS`].
struct Interleaved {
    times: Vec<Vec<f64>>,
}

impl Interleaved {
    /// `rounds` rounds, each running every op once in an order rotating from round to round
    /// (after one untimed round), so that load from other processes falls on all ops alike.
    /// Nodes are made (and dropped) outside the timed part.
    fn run(w: &Workload, rounds: usize) -> Interleaved {
        let keys50 = w.trial_keys(NODE_GROUPS);
        let keys0 = w.trial_keys(0);
        let lean = lean_keys(w, NODE_GROUPS);
        let pure = |keys: &[Vec<RecipientKey>], attempts: usize| {
            let t = Instant::now();
            let opened = w
                .msgs
                .iter()
                .filter(|m| groups::open(black_box(&m.ciphertext), &m.ctx, &keys[m.author], attempts).is_ok())
                .count();
            let ns = t.elapsed().as_nanos() as f64;
            assert_eq!(opened, 0);
            ns
        };
        let node = |groups: usize, attempts: usize, plain: bool| {
            let mut n = w.node(groups, attempts);
            let t = Instant::now();
            ingest(&mut n, &w.msgs, plain);
            let ns = t.elapsed().as_nanos() as f64;
            drop(black_box(n));
            ns
        };
        let lean_op = |cached: bool| {
            let t = Instant::now();
            let opened = lean_pass(w, &lean, 16, cached);
            let ns = t.elapsed().as_nanos() as f64;
            assert_eq!(opened, 0);
            ns
        };
        let op = |i: usize| match i {
            0 => node(NODE_GROUPS, 16, false),
            1 => node(NODE_GROUPS, 8, false),
            2 => node(0, 16, false),
            3 => node(0, 16, true),
            4 => pure(&keys50, 16),
            5 => pure(&keys50, 8),
            6 => pure(&keys0, 16),
            7 => lean_op(false),
            _ => lean_op(true),
        };
        let mut times = vec![Vec::with_capacity(rounds); OPS.len()];
        for r in 0..=rounds {
            for k in 0..OPS.len() {
                let i = (r + k) % OPS.len();
                let ns = op(i);
                if r > 0 {
                    times[i].push(ns);
                }
            }
        }
        Interleaved { times }
    }

    fn times(&self, name: &str) -> &[f64] {
        &self.times[OPS.iter().position(|o| *o == name).expect("an op")]
    }

    /// Median µs per message.
    fn us(&self, name: &str) -> f64 {
        median(&mut self.times(name).to_vec()) / 1e3 / MESSAGES as f64
    }

    /// Median over rounds of `a − b`, µs per message (load cancels in the difference).
    fn diff_us(&self, a: &str, b: &str) -> f64 {
        let mut d: Vec<f64> = self
            .times(a)
            .iter()
            .zip(self.times(b))
            .map(|(x, y)| x - y)
            .collect();
        median(&mut d) / 1e3 / MESSAGES as f64
    }

    /// Throughput of `a` relative to `b`, median of the per-round ratios.
    fn ratio(&self, a: &str, b: &str) -> f64 {
        paired_ratio(self.times(a), self.times(b))
    }
}

const ROUNDS: usize = 20;

fn summarize(since: SystemTime) {
    let dir = criterion_dir();
    let Some(w) = WORKLOAD.with(|cell| cell.borrow_mut().take()) else {
        return;
    };
    eprintln!("private: interleaved cross-check, {ROUNDS} rounds…");
    let il = Interleaved::run(&w, ROUNDS);
    let parts = interleaved_parts(&w, 2 * ROUNDS);
    println!(
        "\n## private: summary ({}; {}; cargo bench -p ssb-benches --bench private)\n",
        utc_timestamp(SystemTime::now()),
        machine_description(),
    );
    let slots: Vec<usize> = w.msgs.iter().map(|m| m.slots).collect();
    let lens: Vec<usize> = w.msgs.iter().map(|m| m.ciphertext.len()).collect();
    let (tried16, capped16) = w.slots_tried(16);
    let (tried8, capped8) = w.slots_tried(8);
    let dm_keys = w.dm.iter().map(Vec::len).sum::<usize>() as f64 / AUTHORS as f64;
    let mean = |f: &dyn Fn(&Msg) -> usize| w.msgs.iter().map(f).sum::<usize>() as f64 / MESSAGES as f64;
    let stored_plain = |m: &Msg| {
        legacy::stringify::units_to_utf8(&legacy::to_signing_units(&m.plain))
            .unwrap()
            .len()
    };
    println!(
        "Stored message text, mean bytes: {:.0} box2, {:.0} plain.",
        mean(&|m| m.stored.len()),
        mean(&stored_plain)
    );
    println!(
        "Workload: {} messages, slots mean {:.2} (1 slot: {}, 2–4: {}), envelope {}–{} bytes (mean {:.0}); \
         slots tried per non-group key: {:.2} at 16 ({} messages capped by it), {:.2} at 8 ({} capped); \
         DM keys per author: {:.1} (two when the info orders differ).",
        w.msgs.len(),
        slots.iter().sum::<usize>() as f64 / slots.len() as f64,
        slots.iter().filter(|s| **s == 1).count(),
        slots.iter().filter(|s| **s > 1).count(),
        lens.iter().min().unwrap(),
        lens.iter().max().unwrap(),
        lens.iter().sum::<usize>() as f64 / lens.len() as f64,
        tried16,
        capped16,
        tried8,
        capped8,
        dm_keys,
    );
    println!(
        "\n| operation (1,000 messages per pass) | interleaved: msgs/s | µs/msg | Criterion: msgs/s | µs/msg |\n|---|---|---|---|---|"
    );
    for name in OPS {
        let us = il.us(name);
        let crit = criterion_ns(&dir, &format!("private_{name}"), since).map_or(
            "not measured | ".to_string(),
            |ns| {
                let us = ns / 1e3 / MESSAGES as f64;
                format!("{:.0} | {us:.2}", 1e6 / us)
            },
        );
        println!("| `{name}` | {:.0} | {us:.2} | {crit} |", 1e6 / us);
    }
    println!("\n| part (one message, one key) | interleaved: ns | Criterion: ns | what |\n|---|---|---|---|");
    for ((name, what), ns) in PARTS.iter().zip(&parts) {
        let crit = criterion_ns(&dir, &format!("private_parts/{name}"), since)
            .map_or("not measured".to_string(), |v| format!("{v:.0}"));
        println!("| `{name}` | {ns:.0} | {crit} | {what} |");
    }
    let n = NODE_GROUPS as f64;
    let group_key = il.diff_us("pure/open_50groups_16", "pure/open_0groups_16") / n;
    let nongroup = 1.0 + dm_keys;
    let per_key16 = il.us("pure/open_0groups_16") / nongroup;
    let index = il.diff_us("node/box2_50groups_16", "node/plain_0groups");
    let index0 = il.diff_us("node/box2_0groups_16", "node/plain_0groups");
    println!("\nDerived (interleaved medians; differences and ratios taken round by round):\n");
    println!(
        "* per group key per message: {:.0} ns ((pure 50 groups − pure 0 groups) / 50)",
        group_key * 1e3
    );
    println!(
        "* per non-group key per message at 16: {:.0} ns over {tried16:.2} slots = {:.0} ns per slot \
         (pure 0 groups / {nongroup:.1} keys)",
        per_key16 * 1e3,
        per_key16 * 1e3 / tried16
    );
    println!(
        "* 8 instead of 16 attempts saves {:.2} µs per message (pure), {:.2} µs (node)",
        il.diff_us("pure/open_50groups_16", "pure/open_50groups_8"),
        il.diff_us("node/box2_50groups_16", "node/box2_50groups_8"),
    );
    println!(
        "* private indexing in the node (box2 50 groups/16 − plain): {index:.2} µs per message, against {:.2} µs \
         for the pure check: node-side overhead {:.2} µs; with no group key: {index0:.2} against {:.2} ({:.2} µs)",
        il.us("pure/open_50groups_16"),
        index - il.us("pure/open_50groups_16"),
        il.us("pure/open_0groups_16"),
        index0 - il.us("pure/open_0groups_16"),
    );
    println!(
        "* node throughput, box2 50 groups/16 ÷ plain: {:.3}; pure check ÷ node: {:.2}×",
        il.ratio("node/box2_50groups_16", "node/plain_0groups"),
        il.ratio("pure/open_50groups_16", "node/box2_50groups_16"),
    );
    println!(
        "* lean trial (infos once per message, no allocation per trial) ÷ groups::open: {:.2}×; \
         with per-key HMAC states cached: {:.2}×",
        il.ratio("pure/lean_50groups_16", "pure/open_50groups_16"),
        il.ratio("pure/lean_cached_50groups_16", "pure/open_50groups_16"),
    );
}

fn main() {
    let started = SystemTime::now();
    private();
    Criterion::default().configure_from_args().final_summary();
    let args: Vec<String> = std::env::args().collect();
    if is_measuring_run(&args) {
        summarize(started);
    }
}
