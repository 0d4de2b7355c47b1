//! Vectors for private-box (`vectors/box1.json`): sealing to 1–7 feeds with the randomness given
//! (nonce, body key, ephemeral secret), opening from every slot position, and the refusals: too
//! many or no recipients, a key that cannot be converted, a stranger, an eighth slot, tampered
//! bytes, crafted recipient counts, truncation and a wrong content suffix.

use rand_chacha::ChaCha20Rng;
use rand_core::{RngCore, SeedableRng};
use serde_json::{json, Value};
use ssb_impl::crypto;
use ssb_impl::private::box1::{self, SealParams, PREFIX_LEN, SLOT_LEN};
use ssb_impl::private::content::{self, BoxFormat};
use ssb_impl::Keypair;

use super::{h, Builder, Intent};
use crate::file::VectorFile;

const NOTES: &[(&str, &str)] = &[
    (
        "box",
        "op box1.box: the content string must match exactly, or the error kind",
    ),
    (
        "unbox",
        "op box1.unbox: the plaintext must match, or the error kind",
    ),
    ("one_recipient", "a message to one recipient"),
    ("several_recipients", "a message to 2–6 recipients"),
    ("max_recipients", "a message to 7 recipients, the format's limit"),
    ("first_slot", "the reader's key is in the first slot"),
    ("last_slot", "the reader's key is in the last slot"),
    ("empty_plaintext", "an empty plaintext (private-box allows it)"),
    ("large_plaintext", "an 8,000-byte plaintext"),
    (
        "too_many_recipients",
        "8 recipients: more than the 7 the format allows",
    ),
    ("no_recipients", "no recipient at all"),
    (
        "invalid_recipient",
        "a recipient ed25519 key that has no curve25519 form (a small-order point)",
    ),
    ("wrong_key", "the reader is not a recipient"),
    (
        "eight_slots",
        "a message with 8 slots (made with the limit raised to 8)",
    ),
    (
        "eighth_slot",
        "the reader's key is in the 8th slot: readers try the 7 the format documents",
    ),
    ("tampered_nonce", "one bit flipped in the nonce"),
    (
        "tampered_ephemeral",
        "one bit flipped in the ephemeral public key",
    ),
    ("tampered_slot", "one bit flipped in the reader's slot"),
    ("tampered_body", "one bit flipped in the body box"),
    (
        "low_order_ephemeral",
        "the ephemeral public key replaced by a low-order point (X25519 gives all zeros)",
    ),
    (
        "zero_count",
        "a crafted slot saying 0 recipients: the body would start over the slots",
    ),
    (
        "count_past_end",
        "a crafted slot whose recipient count puts the body past the end of the ciphertext",
    ),
    (
        "truncated",
        "a ciphertext too short to hold a slot and a body authenticator",
    ),
    (
        "content_suffix",
        "content that does not end in .box (none, or .box2)",
    ),
];

struct Gen {
    rng: ChaCha20Rng,
    /// Recipient keypairs, drawn once.
    keys: Vec<Keypair>,
}

impl Gen {
    fn params(&mut self) -> SealParams {
        SealParams::random(&mut self.rng)
    }

    fn publics(&self, n: usize) -> Vec<[u8; 32]> {
        self.keys[..n].iter().map(|k| *k.public()).collect()
    }

    fn box_args(&self, plaintext: &[u8], recipients: &[[u8; 32]], p: &SealParams) -> Value {
        json!({
            "plaintext": h(plaintext),
            "recipients": recipients.iter().map(|r| h(r)).collect::<Vec<_>>(),
            "nonce": h(&p.nonce),
            "body_key": h(&p.body_key),
            "ephemeral_secret": h(&p.ephemeral_secret),
        })
    }

    /// A ciphertext for the first `n` keys (the limit raised to `n`).
    fn sealed(&mut self, plaintext: &[u8], n: usize) -> Vec<u8> {
        let p = self.params();
        let curve = box1::feed_keys_to_curve(&self.publics(n)).expect("drawn keys convert");
        box1::seal_curve(plaintext, &curve, &p, n.max(1)).expect("generator seals")
    }
}

fn unbox_args(ct: &[u8], reader: &Keypair) -> Value {
    json!({"content": content::encode(BoxFormat::Box1, ct), "seed": h(reader.seed())})
}

fn flip(rng: &mut ChaCha20Rng, ct: &[u8], range: std::ops::Range<usize>) -> Vec<u8> {
    let mut out = ct.to_vec();
    let i = range.start + (rng.next_u32() as usize) % range.len();
    out[i] ^= 1 << (rng.next_u32() % 8);
    out
}

pub fn generate(seed: u64) -> VectorFile {
    let mut rng = ChaCha20Rng::seed_from_u64(seed ^ 0x424f_5831); // "BOX1"
    let keys = (0..9).map(|_| Keypair::generate(&mut rng)).collect();
    let mut g = Gen { rng, keys };
    let mut b = Builder::new(
        "box1",
        "private-box (box1): sealing to 1–7 feeds and opening; see conformance/ADAPTER.md (suite box1)",
        NOTES,
    );

    // Sealing, with every count of recipients.
    for n in 1..=7 {
        let pt = super::random_bytes(&mut g.rng, 20 + n * 7);
        let p = g.params();
        b.add(
            &format!("seal {} bytes to {n} recipient(s)", pt.len()),
            &[
                "box",
                super::count_flag(n, ssb_impl::private::box1::MAX_RECIPIENTS),
            ],
            "box1.box",
            g.box_args(&pt, &g.publics(n), &p),
            Intent::Accept,
        );
    }
    let p = g.params();
    b.add(
        "seal an empty plaintext",
        &["box", "one_recipient", "empty_plaintext"],
        "box1.box",
        g.box_args(b"", &g.publics(1), &p),
        Intent::Accept,
    );
    let pt = super::random_bytes(&mut g.rng, 8000);
    let p = g.params();
    b.add(
        "seal 8,000 bytes to 3 recipients",
        &["box", "several_recipients", "large_plaintext"],
        "box1.box",
        g.box_args(&pt, &g.publics(3), &p),
        Intent::Accept,
    );
    let p = g.params();
    b.add(
        "seal to 8 recipients: refused",
        &["box", "too_many_recipients"],
        "box1.box",
        g.box_args(b"hello", &g.publics(8), &p),
        Intent::Reject("too_many_recipients"),
    );
    let p = g.params();
    b.add(
        "seal to nobody: refused",
        &["box", "no_recipients"],
        "box1.box",
        g.box_args(b"hello", &[], &p),
        Intent::Reject("no_recipients"),
    );
    let mut small_order = g.publics(2);
    small_order[1] = [0; 32];
    small_order[1][0] = 1; // the identity point
    let p = g.params();
    b.add(
        "seal to a feed whose key is the ed25519 identity point: refused",
        &["box", "several_recipients", "invalid_recipient"],
        "box1.box",
        g.box_args(b"hello", &small_order, &p),
        Intent::Reject("invalid_recipient"),
    );

    // Opening, from the last slot of each count and the first of the largest.
    for n in 1..=7 {
        let pt = super::random_bytes(&mut g.rng, 30 + n);
        let ct = g.sealed(&pt, n);
        b.add(
            &format!("open a message to {n} recipient(s) as the last of them"),
            &[
                "unbox",
                super::count_flag(n, ssb_impl::private::box1::MAX_RECIPIENTS),
                "last_slot",
            ],
            "box1.unbox",
            unbox_args(&ct, &g.keys[n - 1]),
            Intent::Accept,
        );
    }
    let ct7 = g.sealed(b"{\"type\":\"post\",\"text\":\"to seven\"}", 7);
    b.add(
        "open a message to 7 recipients as the first of them",
        &["unbox", "max_recipients", "first_slot"],
        "box1.unbox",
        unbox_args(&ct7, &g.keys[0]),
        Intent::Accept,
    );
    let ct = g.sealed(b"", 1);
    b.add(
        "open an empty plaintext",
        &["unbox", "one_recipient", "empty_plaintext", "first_slot"],
        "box1.unbox",
        unbox_args(&ct, &g.keys[0]),
        Intent::Accept,
    );
    let pt = super::random_bytes(&mut g.rng, 8000);
    let ct = g.sealed(&pt, 3);
    b.add(
        "open 8,000 bytes as the second of 3 recipients",
        &["unbox", "several_recipients", "large_plaintext"],
        "box1.unbox",
        unbox_args(&ct, &g.keys[1]),
        Intent::Accept,
    );
    b.add(
        "a stranger opens a message to 7 recipients",
        &["unbox", "max_recipients", "wrong_key"],
        "box1.unbox",
        unbox_args(&ct7, &g.keys[8]),
        Intent::Reject("not_recipient"),
    );
    let ct8 = g.sealed(b"eight", 8);
    b.add(
        "a message with 8 slots, read from the first",
        &["unbox", "eight_slots", "first_slot"],
        "box1.unbox",
        unbox_args(&ct8, &g.keys[0]),
        Intent::Accept,
    );
    b.add(
        "a message with 8 slots, read from the eighth: not tried",
        &["unbox", "eight_slots", "eighth_slot"],
        "box1.unbox",
        unbox_args(&ct8, &g.keys[7]),
        Intent::Reject("not_recipient"),
    );

    // Tampering, one region at a time, on a message to 3 whose reader holds slot 2.
    let pt = super::random_bytes(&mut g.rng, 40);
    let ct = g.sealed(&pt, 3);
    let reader = &g.keys[1];
    let slot2 = PREFIX_LEN + SLOT_LEN..PREFIX_LEN + 2 * SLOT_LEN;
    let body = PREFIX_LEN + 3 * SLOT_LEN..ct.len();
    for (flag, range, kind) in [
        ("tampered_nonce", 0..24, "not_recipient"),
        ("tampered_ephemeral", 24..PREFIX_LEN, "not_recipient"),
        ("tampered_slot", slot2, "not_recipient"),
        ("tampered_body", body, "bad_body"),
    ] {
        let bad = flip(&mut g.rng, &ct, range);
        b.add(
            &format!("one bit flipped: {flag}"),
            &["unbox", "several_recipients", flag],
            "box1.unbox",
            unbox_args(&bad, reader),
            Intent::Reject(kind),
        );
    }
    let mut low = ct.clone();
    low[24..PREFIX_LEN].fill(0);
    b.add(
        "the ephemeral key replaced by the all-zero point",
        &["unbox", "several_recipients", "low_order_ephemeral"],
        "box1.unbox",
        unbox_args(&low, reader),
        Intent::Reject("not_recipient"),
    );

    // Crafted slots with a recipient count that does not match the message.
    for (flag, count) in [("zero_count", 0u8), ("count_past_end", 200u8)] {
        let p = g.params();
        let reader = &g.keys[0];
        let shared = crypto::x25519(
            &p.ephemeral_secret,
            &crypto::ed25519_pk_to_curve25519(reader.public()).expect("converts"),
        )
        .expect("not low order");
        let mut slot_plain = vec![count];
        slot_plain.extend_from_slice(&p.body_key);
        let mut ct = p.nonce.to_vec();
        ct.extend_from_slice(&crypto::x25519_base(&p.ephemeral_secret));
        ct.extend_from_slice(&crypto::secretbox_seal(&shared, &p.nonce, &slot_plain));
        ct.extend_from_slice(&crypto::secretbox_seal(&p.body_key, &p.nonce, b"crafted body"));
        b.add(
            &format!("a slot that opens but says {count} recipients"),
            &["unbox", "one_recipient", flag],
            "box1.unbox",
            unbox_args(&ct, reader),
            Intent::Reject("bad_body"),
        );
    }

    // Truncation and content strings.
    let ct = g.sealed(b"", 1);
    for len in [ct.len() - 1, 20] {
        b.add(
            &format!("a ciphertext of {len} bytes"),
            &["unbox", "truncated"],
            "box1.unbox",
            unbox_args(&ct[..len], &g.keys[0]),
            Intent::Reject("not_recipient"),
        );
    }
    let ct = g.sealed(b"suffix", 1);
    let b64 = content::encode(BoxFormat::Box1, &ct);
    let bare = b64.trim_end_matches(".box").to_string();
    for (what, c) in [
        ("no suffix", bare.clone()),
        ("the .box2 suffix", format!("{bare}.box2")),
    ] {
        b.add(
            &format!("content with {what}"),
            &["unbox", "content_suffix"],
            "box1.unbox",
            json!({"content": c, "seed": h(g.keys[0].seed())}),
            Intent::Reject("invalid_content"),
        );
    }
    b.finish()
}
