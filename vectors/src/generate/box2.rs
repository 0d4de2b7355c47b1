//! Vectors for the envelope format (`vectors/box2.json`): boxing to 1–16 recipient keys with the
//! `msg_key` given, the feed formats and nil previous ids, the refusals (17 or no recipients,
//! an empty plaintext, an all-zero `msg_key`, an empty scheme, a feed format without a nil
//! previous); unboxing from every slot depth with the slot limit, wrong keys, schemes and
//! contexts, tampered header, slot and body, padding, header flags, crafted offsets,
//! truncation, read keys; and `DeriveSecret` with its label limits.

use rand_chacha::ChaCha20Rng;
use rand_core::{RngCore, SeedableRng};
use serde_json::{json, Value};
use ssb_impl::bendybutt::bfe::{FeedFormat, FeedRef, MsgFormat, MsgRef};
use ssb_impl::crypto;
use ssb_impl::private::box2::{self, Context, RecipientKey, HEADER_BOX_LEN, SLOT_LEN};
use ssb_impl::private::content::{self, BoxFormat};
use ssb_impl::private::groups::schemes;

use super::{h, Builder, Intent};
use crate::file::VectorFile;

const NOTES: &[(&str, &str)] = &[
    ("box", "op box2.box: the content string must match exactly, or the error kind"),
    (
        "unbox",
        "op box2.unbox: the plaintext and read key must match, or the error kind",
    ),
    (
        "derive_secret",
        "op box2.derive_secret: the derived 32 bytes must match, or the error kind",
    ),
    ("one_recipient", "one key slot"),
    ("several_recipients", "2–15 key slots"),
    ("max_recipients", "16 key slots, the private-group spec's limit"),
    ("first_slot", "the reader's key is in the first slot"),
    ("last_slot", "the reader's key is in the last slot"),
    (
        "beyond_eight",
        "the reader's key is in slot 9–16: found only by readers that look 16 deep (envelope-js looks 8 deep by default)",
    ),
    (
        "slot_limit",
        "the reader's key lies deeper than max_attempts slots: not found",
    ),
    (
        "seventeen_slots",
        "an envelope with 17 slots (made with the limit raised), read 16 deep",
    ),
    ("too_many_recipients", "17 recipients: more than the 16 allowed"),
    ("no_recipients", "no recipient at all"),
    ("empty_plaintext", "an empty plaintext, which box refuses"),
    ("zero_msg_key", "an all-zero msg_key, which box refuses"),
    (
        "empty_scheme",
        "a recipient whose scheme is the empty string: DeriveSecret refuses an empty label",
    ),
    ("large_plaintext", "an 8,000-byte plaintext"),
    (
        "nil_previous",
        "the feed's first message: previous is null, bound as the zero id of the feed's message format",
    ),
    (
        "zero_previous",
        "previous given as the all-zero classic message id, the same bytes as a nil previous",
    ),
    ("bendybutt_feed", "a bendybutt-v1 feed and message ids"),
    ("buttwoo_feed", "a buttwoo-v1 feed"),
    ("gabbygrove_feed", "a gabbygrove-v1 feed"),
    (
        "unsupported_feed_format",
        "an indexed-v1 feed's first message: no nil previous id is defined for it",
    ),
    ("mixed_schemes", "recipients of every key scheme of the private-group spec"),
    ("wrong_key", "the reader holds no key of the message"),
    ("wrong_scheme", "the right key bytes under another scheme name"),
    ("wrong_feed", "unboxed as if another feed had written it"),
    ("wrong_previous", "unboxed as if it followed another message"),
    ("tampered_slot", "one bit flipped in the reader's slot"),
    ("tampered_header", "one bit flipped in the header box"),
    ("tampered_body", "one bit flipped in the body box"),
    (
        "padding",
        "bytes between the slots and the body (the extensions region), skipped by the header's offset",
    ),
    (
        "header_flags",
        "a header whose flags byte is not zero: no extension is defined, readers ignore it",
    ),
    (
        "offset_past_end",
        "a header whose offset leaves no room for the body's authenticator",
    ),
    (
        "offset_in_slots",
        "a header whose offset points before the end of the slot that opened",
    ),
    (
        "truncated",
        "an envelope too short to hold a slot, an authenticator and a byte",
    ),
    ("truncated_body", "the envelope's last bytes cut off"),
    ("read_key", "unboxed with the message's read key instead of a slot key"),
    ("several_trial_keys", "several trial keys, the last of which opens the message"),
    ("content_suffix", "content that ends in .box, not .box2"),
    ("no_labels", "DeriveSecret with no label"),
    ("several_labels", "DeriveSecret with two labels"),
    ("unicode_label", "a label with characters outside ASCII (UTF-8 encoded)"),
    ("empty_label", "an empty label, which DeriveSecret refuses"),
    (
        "long_label",
        "a 40,000-byte label: SLP lengths are unsigned 16-bit, so up to 65,535 is allowed",
    ),
    ("label_over_limit", "a 65,536-byte label: its length does not fit SLP"),
];

fn draw<const N: usize>(rng: &mut ChaCha20Rng) -> [u8; N] {
    let mut b = [0u8; N];
    rng.fill_bytes(&mut b);
    b
}

const SCHEMES: [&str; 4] = [
    schemes::PRIVATE_GROUP,
    schemes::FEED_ID_DM,
    schemes::FEED_ID_SELF,
    schemes::PO_BOX,
];

fn recps_json(r: &[RecipientKey]) -> Value {
    Value::Array(
        r.iter()
            .map(|k| json!({"key": h(&k.key), "scheme": k.scheme}))
            .collect(),
    )
}

/// A message's place: its feed and previous id, as the ops take them.
#[derive(Clone)]
struct Place {
    feed: FeedRef,
    previous: Option<MsgRef>,
}

impl Place {
    fn ctx(&self) -> Context {
        Context::new(&self.feed, self.previous.as_ref()).expect("generator contexts are valid")
    }

    fn feed_str(&self) -> String {
        self.feed.to_string()
    }

    fn previous_json(&self) -> Value {
        match &self.previous {
            Some(p) => Value::String(p.to_string()),
            None => Value::Null,
        }
    }
}

struct Gen {
    rng: ChaCha20Rng,
}

impl Gen {
    fn classic(&mut self, first: bool) -> Place {
        let feed = FeedRef::classic(crypto::ed25519_public_from_seed(&draw(&mut self.rng)));
        let previous =
            (!first).then(|| MsgRef::new(MsgFormat::Classic, &draw::<32>(&mut self.rng)).expect("32"));
        Place { feed, previous }
    }

    fn of_format(&mut self, format: FeedFormat, first: bool) -> Place {
        let feed = FeedRef::new(format, crypto::ed25519_public_from_seed(&draw(&mut self.rng)));
        let msg_format = match format {
            FeedFormat::BendyButtV1 => MsgFormat::BendyButtV1,
            FeedFormat::ButtwooV1 => MsgFormat::ButtwooV1,
            FeedFormat::GabbyGroveV1 => MsgFormat::GabbyGroveV1,
            _ => MsgFormat::Classic,
        };
        let previous = (!first).then(|| MsgRef::new(msg_format, &draw::<32>(&mut self.rng)).expect("32"));
        Place { feed, previous }
    }

    /// `n` recipient keys, the schemes in turn.
    fn recipients(&mut self, n: usize) -> Vec<RecipientKey> {
        (0..n)
            .map(|i| RecipientKey::new(draw(&mut self.rng), SCHEMES[i % SCHEMES.len()]))
            .collect()
    }

    fn box_args(&mut self, place: &Place, plaintext: &[u8], msg_key: &[u8; 32], r: &[RecipientKey]) -> Value {
        json!({
            "plaintext": h(plaintext),
            "feed": place.feed_str(),
            "previous": place.previous_json(),
            "msg_key": h(msg_key),
            "recipients": recps_json(r),
        })
    }

    /// An envelope made by the reference, with `padding` random bytes and the flags byte given.
    fn sealed(
        &mut self,
        place: &Place,
        plaintext: &[u8],
        r: &[RecipientKey],
        padding: usize,
        flags: u8,
    ) -> Vec<u8> {
        let msg_key: [u8; 32] = draw(&mut self.rng);
        let pad = super::random_bytes(&mut self.rng, padding);
        box2::seal_with(plaintext, &place.ctx(), &msg_key, r, &pad, r.len().max(1), flags)
            .expect("generator seals")
    }
}

fn unbox_args(place: &Place, ct: &[u8], keys: &[RecipientKey], max_attempts: usize) -> Value {
    json!({
        "content": content::encode(BoxFormat::Box2, ct),
        "feed": place.feed_str(),
        "previous": place.previous_json(),
        "trial_keys": recps_json(keys),
        "max_attempts": max_attempts,
    })
}

fn flip(rng: &mut ChaCha20Rng, ct: &[u8], range: std::ops::Range<usize>) -> Vec<u8> {
    let mut out = ct.to_vec();
    let i = range.start + (rng.next_u32() as usize) % range.len();
    out[i] ^= 1 << (rng.next_u32() % 8);
    out
}

/// An envelope for one recipient whose header says `offset` (and whose body sits right after
/// the slot): what a writer holding the keys could craft.
fn crafted_offset(
    place: &Place,
    msg_key: &[u8; 32],
    r: &RecipientKey,
    offset: u16,
    plaintext: &[u8],
) -> Vec<u8> {
    let ctx = place.ctx();
    let read_key = ctx.read_key(msg_key);
    let mut header = [0u8; 16];
    header[..2].copy_from_slice(&offset.to_le_bytes());
    let mut ct = crypto::secretbox_seal(&ctx.header_key(&read_key), &[0; 24], &header);
    ct.extend_from_slice(&box2::slot(&ctx, msg_key, r).expect("valid scheme"));
    ct.extend_from_slice(&crypto::secretbox_seal(
        &ctx.body_key(&read_key),
        &[0; 24],
        plaintext,
    ));
    ct
}

pub fn generate(seed: u64) -> VectorFile {
    let mut g = Gen {
        rng: ChaCha20Rng::seed_from_u64(seed ^ 0x424f_5832), // "BOX2"
    };
    let mut b = Builder::new(
        "box2",
        "The envelope format (box2): boxing, unboxing and DeriveSecret; see conformance/ADAPTER.md (suite box2)",
        NOTES,
    );

    // Boxing to every count of recipients.
    for n in 1..=16 {
        let place = g.classic(false);
        let pt = super::random_bytes(&mut g.rng, 10 + 3 * n);
        let r = g.recipients(n);
        let k = draw(&mut g.rng);
        let mut flags = vec![
            "box",
            super::count_flag(n, ssb_impl::private::box2::MAX_RECIPIENTS),
        ];
        if n >= 4 {
            flags.push("mixed_schemes");
        }
        let args = g.box_args(&place, &pt, &k, &r);
        b.add(
            &format!("box {} bytes to {n} key(s)", pt.len()),
            &flags,
            "box2.box",
            args,
            Intent::Accept,
        );
    }
    let place = g.classic(false);
    let k = draw(&mut g.rng);
    let r = g.recipients(17);
    let args = g.box_args(&place, b"hello", &k, &r);
    b.add(
        "box to 17 keys: refused",
        &["box", "too_many_recipients"],
        "box2.box",
        args,
        Intent::Reject("too_many_recipients"),
    );
    let args = g.box_args(&place, b"hello", &k, &[]);
    b.add(
        "box to no key: refused",
        &["box", "no_recipients"],
        "box2.box",
        args,
        Intent::Reject("no_recipients"),
    );
    let r = g.recipients(2);
    let args = g.box_args(&place, b"", &k, &r);
    b.add(
        "box an empty plaintext: refused",
        &["box", "several_recipients", "empty_plaintext"],
        "box2.box",
        args,
        Intent::Reject("empty_plaintext"),
    );
    let args = g.box_args(&place, b"hello", &[0; 32], &r);
    b.add(
        "box with an all-zero msg_key: refused",
        &["box", "several_recipients", "zero_msg_key"],
        "box2.box",
        args,
        Intent::Reject("zero_msg_key"),
    );
    let mut empty = r.clone();
    empty[1].scheme = String::new();
    let args = g.box_args(&place, b"hello", &k, &empty);
    b.add(
        "box to a key whose scheme is empty: refused",
        &["box", "several_recipients", "empty_scheme"],
        "box2.box",
        args,
        Intent::Reject("empty_label"),
    );
    let pt = super::random_bytes(&mut g.rng, 8000);
    let args = g.box_args(&place, &pt, &k, &r);
    b.add(
        "box 8,000 bytes",
        &["box", "several_recipients", "large_plaintext"],
        "box2.box",
        args,
        Intent::Accept,
    );
    for (what, place, flags) in [
        (
            "a classic feed's first message",
            g.classic(true),
            vec!["nil_previous"],
        ),
        (
            "a bendybutt-v1 feed's first message",
            g.of_format(FeedFormat::BendyButtV1, true),
            vec!["bendybutt_feed", "nil_previous"],
        ),
        (
            "a bendybutt-v1 feed's later message",
            g.of_format(FeedFormat::BendyButtV1, false),
            vec!["bendybutt_feed"],
        ),
        (
            "a buttwoo-v1 feed's first message",
            g.of_format(FeedFormat::ButtwooV1, true),
            vec!["buttwoo_feed", "nil_previous"],
        ),
        (
            "a gabbygrove-v1 feed's first message",
            g.of_format(FeedFormat::GabbyGroveV1, true),
            vec!["gabbygrove_feed", "nil_previous"],
        ),
    ] {
        let r = g.recipients(2);
        let k = draw(&mut g.rng);
        let args = g.box_args(&place, b"{\"type\":\"post\"}", &k, &r);
        let mut f = vec!["box", "several_recipients"];
        f.extend(flags);
        b.add(&format!("box {what}"), &f, "box2.box", args, Intent::Accept);
    }
    let place = g.of_format(FeedFormat::IndexedV1, true);
    let r = g.recipients(1);
    let args = g.box_args(&place, b"hello", &k, &r);
    b.add(
        "box an indexed-v1 feed's first message: no nil previous is defined",
        &["box", "one_recipient", "unsupported_feed_format"],
        "box2.box",
        args,
        Intent::Reject("unsupported_feed_format"),
    );

    // Unboxing from the last slot of every count, 16 deep.
    for n in 1..=16 {
        let place = g.classic(false);
        let pt = super::random_bytes(&mut g.rng, 5 + n);
        let r = g.recipients(n);
        let ct = g.sealed(&place, &pt, &r, 0, 0);
        let mut flags = vec![
            "unbox",
            super::count_flag(n, ssb_impl::private::box2::MAX_RECIPIENTS),
            "last_slot",
        ];
        if n > 8 {
            flags.push("beyond_eight");
        }
        b.add(
            &format!("unbox a message to {n} key(s) with the last, looking 16 deep"),
            &flags,
            "box2.unbox",
            unbox_args(&place, &ct, &r[n - 1..], 16),
            Intent::Accept,
        );
    }
    let place = g.classic(false);
    let r16 = g.recipients(16);
    let ct16 = g.sealed(&place, b"sixteen", &r16, 0, 0);
    b.add(
        "unbox a message to 16 keys with the first",
        &["unbox", "max_recipients", "first_slot", "mixed_schemes"],
        "box2.unbox",
        unbox_args(&place, &ct16, &r16[..1], 16),
        Intent::Accept,
    );
    b.add(
        "the key in slot 9, looking 8 deep",
        &["unbox", "max_recipients", "slot_limit"],
        "box2.unbox",
        unbox_args(&place, &ct16, &r16[8..9], 8),
        Intent::Reject("not_recipient"),
    );
    b.add(
        "the key in slot 8, looking 8 deep",
        &["unbox", "max_recipients"],
        "box2.unbox",
        unbox_args(&place, &ct16, &r16[7..8], 8),
        Intent::Accept,
    );
    let r17 = g.recipients(17);
    let ct17 = g.sealed(&place, b"seventeen", &r17, 0, 0);
    b.add(
        "an envelope with 17 slots, the key in slot 17, looking 16 deep",
        &["unbox", "seventeen_slots", "slot_limit"],
        "box2.unbox",
        unbox_args(&place, &ct17, &r17[16..], 16),
        Intent::Reject("not_recipient"),
    );
    b.add(
        "an envelope with 17 slots, the key in slot 16, looking 16 deep",
        &["unbox", "seventeen_slots", "beyond_eight"],
        "box2.unbox",
        unbox_args(&place, &ct17, &r17[15..16], 16),
        Intent::Accept,
    );

    // Wrong keys and contexts, on a message to 3 read with the second key.
    let place = g.classic(false);
    let r = g.recipients(3);
    let pt = b"{\"type\":\"post\",\"text\":\"context\"}";
    let ct = g.sealed(&place, pt, &r, 0, 0);
    let stranger = g.recipients(1);
    b.add(
        "a key that is in no slot",
        &["unbox", "several_recipients", "wrong_key"],
        "box2.unbox",
        unbox_args(&place, &ct, &stranger, 16),
        Intent::Reject("not_recipient"),
    );
    let mut renamed = r[1].clone();
    renamed.scheme = schemes::FEED_ID_SELF.to_string();
    b.add(
        "the right key bytes named with another scheme",
        &["unbox", "several_recipients", "wrong_scheme"],
        "box2.unbox",
        unbox_args(&place, &ct, &[renamed], 16),
        Intent::Reject("not_recipient"),
    );
    let other_feed = Place {
        feed: g.classic(true).feed,
        previous: place.previous.clone(),
    };
    b.add(
        "unboxed as another feed's message",
        &["unbox", "several_recipients", "wrong_feed"],
        "box2.unbox",
        unbox_args(&other_feed, &ct, &r[1..2], 16),
        Intent::Reject("not_recipient"),
    );
    let other_prev = Place {
        feed: place.feed,
        previous: g.classic(false).previous,
    };
    b.add(
        "unboxed as if it followed another message",
        &["unbox", "several_recipients", "wrong_previous"],
        "box2.unbox",
        unbox_args(&other_prev, &ct, &r[1..2], 16),
        Intent::Reject("not_recipient"),
    );
    let header = 0..HEADER_BOX_LEN;
    let slot2 = HEADER_BOX_LEN + SLOT_LEN..HEADER_BOX_LEN + 2 * SLOT_LEN;
    let body = HEADER_BOX_LEN + 3 * SLOT_LEN..ct.len();
    for (flag, range, kind) in [
        ("tampered_header", header, "not_recipient"),
        ("tampered_slot", slot2, "not_recipient"),
        ("tampered_body", body, "bad_body"),
    ] {
        let bad = flip(&mut g.rng, &ct, range);
        b.add(
            &format!("one bit flipped: {flag}"),
            &["unbox", "several_recipients", flag],
            "box2.unbox",
            unbox_args(&place, &bad, &r[1..2], 16),
            Intent::Reject(kind),
        );
    }
    let mut keys = g.recipients(3);
    keys.push(r[2].clone());
    b.add(
        "four trial keys, the last of which is in slot 3",
        &["unbox", "several_recipients", "several_trial_keys", "last_slot"],
        "box2.unbox",
        unbox_args(&place, &ct, &keys, 16),
        Intent::Accept,
    );
    let read_key = box2::open(&ct, &place.ctx(), &r[..1], 16)
        .expect("opens")
        .key
        .read_key;
    let content = content::encode(BoxFormat::Box2, &ct);
    b.add(
        "unboxed with its read key",
        &["unbox", "several_recipients", "read_key"],
        "box2.unbox",
        json!({"content": content, "feed": place.feed_str(), "previous": place.previous_json(), "read_key": h(&read_key)}),
        Intent::Accept,
    );
    b.add(
        "unboxed with another read key",
        &["unbox", "several_recipients", "read_key", "wrong_key"],
        "box2.unbox",
        json!({"content": content, "feed": place.feed_str(), "previous": place.previous_json(), "read_key": h(&draw::<32>(&mut g.rng))}),
        Intent::Reject("not_recipient"),
    );
    let box1_suffix = format!("{}.box", content.trim_end_matches(".box2"));
    b.add(
        "content ending in .box",
        &["unbox", "several_recipients", "content_suffix"],
        "box2.unbox",
        json!({"content": box1_suffix, "feed": place.feed_str(), "previous": place.previous_json(), "trial_keys": recps_json(&r[..1]), "max_attempts": 16}),
        Intent::Reject("invalid_content"),
    );

    // First messages: a nil previous, and the zero id that stands for it.
    let first = g.classic(true);
    let r = g.recipients(2);
    let ct = g.sealed(&first, b"first", &r, 0, 0);
    b.add(
        "a classic feed's first message",
        &["unbox", "several_recipients", "nil_previous"],
        "box2.unbox",
        unbox_args(&first, &ct, &r[1..], 16),
        Intent::Accept,
    );
    let zero = Place {
        feed: first.feed,
        previous: Some(MsgRef::new(MsgFormat::Classic, &[0; 32]).expect("32")),
    };
    b.add(
        "a first message, previous given as the all-zero classic id",
        &["unbox", "several_recipients", "zero_previous"],
        "box2.unbox",
        unbox_args(&zero, &ct, &r[1..], 16),
        Intent::Accept,
    );
    let bb = g.of_format(FeedFormat::BendyButtV1, true);
    let ct = g.sealed(&bb, b"bendy", &r, 0, 0);
    b.add(
        "a bendybutt-v1 feed's first message",
        &["unbox", "several_recipients", "bendybutt_feed", "nil_previous"],
        "box2.unbox",
        unbox_args(&bb, &ct, &r[..1], 16),
        Intent::Accept,
    );

    // The extensions region and the header.
    let place = g.classic(false);
    let r = g.recipients(2);
    for pad in [1usize, 100] {
        let ct = g.sealed(&place, b"padded", &r, pad, 0);
        b.add(
            &format!("{pad} byte(s) of padding between the slots and the body"),
            &["unbox", "several_recipients", "padding", "last_slot"],
            "box2.unbox",
            unbox_args(&place, &ct, &r[1..], 16),
            Intent::Accept,
        );
    }
    let ct = g.sealed(&place, b"flags", &r, 0, 0x01);
    b.add(
        "a header with flags 0x01",
        &["unbox", "several_recipients", "header_flags"],
        "box2.unbox",
        unbox_args(&place, &ct, &r[..1], 16),
        Intent::Accept,
    );
    let k = draw(&mut g.rng);
    let one = &r[..1];
    let ct = crafted_offset(&place, &k, &one[0], 60_000, b"crafted");
    b.add(
        "a header whose offset is past the end",
        &["unbox", "one_recipient", "offset_past_end"],
        "box2.unbox",
        unbox_args(&place, &ct, one, 16),
        Intent::Reject("bad_offset"),
    );
    let ct = crafted_offset(&place, &k, &one[0], 40, b"crafted");
    b.add(
        "a header whose offset points into the slot that opened",
        &["unbox", "one_recipient", "offset_in_slots"],
        "box2.unbox",
        unbox_args(&place, &ct, one, 16),
        Intent::Reject("bad_offset"),
    );
    let ct = g.sealed(&place, b"truncated", &r, 0, 0);
    b.add(
        "the last 3 bytes cut off",
        &["unbox", "several_recipients", "truncated_body"],
        "box2.unbox",
        unbox_args(&place, &ct[..ct.len() - 3], one, 16),
        Intent::Reject("bad_body"),
    );
    let ct = g.sealed(&place, b"x", one, 0, 0);
    b.add(
        "an envelope of 80 bytes: one byte short of a slot to try",
        &["unbox", "one_recipient", "truncated"],
        "box2.unbox",
        unbox_args(&place, &ct[..80], one, 16),
        Intent::Reject("not_recipient"),
    );

    // DeriveSecret.
    let derive = |place: &Place, key: &[u8; 32], labels: Vec<String>| json!({"feed": place.feed_str(), "previous": place.previous_json(), "key": h(key), "labels": labels});
    let place = g.classic(false);
    let key = draw(&mut g.rng);
    b.add(
        "read_key from a msg_key",
        &["derive_secret"],
        "box2.derive_secret",
        derive(&place, &key, vec!["read_key".into()]),
        Intent::Accept,
    );
    let first = g.classic(true);
    b.add(
        "read_key on a classic feed's first message",
        &["derive_secret", "nil_previous"],
        "box2.derive_secret",
        derive(&first, &key, vec!["read_key".into()]),
        Intent::Accept,
    );
    let bb = g.of_format(FeedFormat::BendyButtV1, true);
    b.add(
        "read_key on a bendybutt-v1 feed's first message",
        &["derive_secret", "nil_previous", "bendybutt_feed"],
        "box2.derive_secret",
        derive(&bb, &key, vec!["read_key".into()]),
        Intent::Accept,
    );
    let gg = g.of_format(FeedFormat::GabbyGroveV1, false);
    b.add(
        "header_key on a gabbygrove-v1 feed",
        &["derive_secret", "gabbygrove_feed"],
        "box2.derive_secret",
        derive(&gg, &key, vec!["header_key".into()]),
        Intent::Accept,
    );
    b.add(
        "a slot mask: slot_key and a scheme",
        &["derive_secret", "several_labels"],
        "box2.derive_secret",
        derive(
            &place,
            &key,
            vec!["slot_key".into(), schemes::PRIVATE_GROUP.into()],
        ),
        Intent::Accept,
    );
    b.add(
        "no labels",
        &["derive_secret", "no_labels"],
        "box2.derive_secret",
        derive(&place, &key, vec![]),
        Intent::Accept,
    );
    b.add(
        "a label in Greek and an emoji",
        &["derive_secret", "unicode_label"],
        "box2.derive_secret",
        derive(&place, &key, vec!["κλειδί 🔑".into()]),
        Intent::Accept,
    );
    b.add(
        "an empty label",
        &["derive_secret", "empty_label"],
        "box2.derive_secret",
        derive(&place, &key, vec!["body_key".into(), String::new()]),
        Intent::Reject("empty_label"),
    );
    b.add(
        "a 40,000-byte label",
        &["derive_secret", "long_label"],
        "box2.derive_secret",
        derive(&place, &key, vec!["k".repeat(40_000)]),
        Intent::Accept,
    );
    b.add(
        "a 65,536-byte label",
        &["derive_secret", "label_over_limit"],
        "box2.derive_secret",
        derive(&place, &key, vec!["k".repeat(65_536)]),
        Intent::Reject("label_too_long"),
    );
    let indexed = g.of_format(FeedFormat::IndexedV1, true);
    b.add(
        "an indexed-v1 feed's first message",
        &["derive_secret", "unsupported_feed_format"],
        "box2.derive_secret",
        derive(&indexed, &key, vec!["read_key".into()]),
        Intent::Reject("unsupported_feed_format"),
    );
    // Appended so the older ids stay: the SLP limit itself, on both sides.
    b.add(
        "a 65,535-byte label: the longest SLP holds",
        &["derive_secret", "long_label"],
        "box2.derive_secret",
        derive(&place, &key, vec!["k".repeat(65_535)]),
        Intent::Accept,
    );
    b.add(
        "a 65,535-byte label then a 1-byte one: each element is limited, not the sum",
        &["derive_secret", "long_label"],
        "box2.derive_secret",
        derive(&place, &key, vec!["k".repeat(65_535), "k".into()]),
        Intent::Accept,
    );
    b.add(
        "a 1-byte label then a 65,536-byte one",
        &["derive_secret", "label_over_limit"],
        "box2.derive_secret",
        derive(&place, &key, vec!["k".into(), "k".repeat(65_536)]),
        Intent::Reject("label_too_long"),
    );
    b.finish()
}
