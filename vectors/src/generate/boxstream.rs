//! Vectors for box-stream (`vectors/boxstream.json`): encryption of writes of every interesting
//! size, and decryption of honest, truncated, tampered, reordered and crafted streams.

use rand_chacha::ChaCha20Rng;
use rand_core::{RngCore, SeedableRng};
use serde_json::{json, Value};
use ssb_impl::boxstream::{Encrypter, HEADER_LEN};
use ssb_impl::crypto;

use super::{h, Builder, Intent};
use crate::file::VectorFile;

const NOTES: &[(&str, &str)] = &[
    (
        "encrypt",
        "op boxstream.encrypt: the output bytes must match exactly",
    ),
    (
        "decrypt",
        "op boxstream.decrypt: the bodies must match, or the error kind",
    ),
    ("empty_write", "a write of 0 bytes, which sends nothing"),
    ("one_byte", "a write of 1 byte"),
    ("max_body_minus_one", "a write of 4095 bytes: one frame"),
    ("max_body", "a write of 4096 bytes: exactly one full frame"),
    (
        "max_body_plus_one",
        "a write of 4097 bytes: a full frame and a 1-byte frame",
    ),
    (
        "large_write",
        "a write of 100,000 bytes: 24 full frames and one of 1696 bytes",
    ),
    ("several_writes", "several writes, each framed on its own"),
    (
        "goodbye",
        "the stream ends with the goodbye (a header box over 18 zero bytes)",
    ),
    (
        "no_goodbye",
        "the stream stops on a frame boundary without a goodbye (a truncation when decrypting)",
    ),
    ("goodbye_only", "a stream with no data, only the goodbye"),
    (
        "nonce_wraparound",
        "the 24-byte big-endian nonce starts at 2^192 - 1 and wraps to 0",
    ),
    ("truncated_header", "the input ends inside a 34-byte header"),
    ("truncated_body", "the input ends inside a body"),
    (
        "flipped_header_mac",
        "one bit flipped in a header's authenticator",
    ),
    (
        "flipped_header_length",
        "one bit flipped in the ciphertext of a header's length",
    ),
    (
        "flipped_header_body_mac",
        "one bit flipped in the ciphertext of a header's body authenticator",
    ),
    ("flipped_body", "one bit flipped in a body"),
    (
        "reordered_frames",
        "two frames swapped: the nonces no longer match",
    ),
    ("data_after_goodbye", "bytes follow the goodbye"),
    (
        "body_too_long",
        "a validly boxed header announcing a 4097-byte body",
    ),
    (
        "empty_body",
        "a validly boxed header announcing a 0-byte body that is not the goodbye",
    ),
    (
        "authentic_body",
        "the oversized body is boxed correctly at its nonce and a goodbye follows: only the size is wrong",
    ),
    ("wrong_key", "decrypting with another key"),
    ("wrong_nonce", "decrypting with the nonce off by one"),
];

struct Stream {
    key: [u8; 32],
    nonce: [u8; 24],
}

impl Stream {
    fn draw(rng: &mut ChaCha20Rng) -> Self {
        let mut key = [0u8; 32];
        let mut nonce = [0u8; 24];
        rng.fill_bytes(&mut key);
        rng.fill_bytes(&mut nonce);
        Stream { key, nonce }
    }

    fn encrypt_args(&self, writes: &[Vec<u8>], goodbye: bool) -> Value {
        json!({
            "key": h(&self.key),
            "nonce": h(&self.nonce),
            "writes": writes.iter().map(|w| h(w)).collect::<Vec<_>>(),
            "goodbye": goodbye,
        })
    }

    fn decrypt_args(&self, input: &[u8]) -> Value {
        json!({"key": h(&self.key), "nonce": h(&self.nonce), "input": h(input)})
    }

    /// The bytes an honest encrypter writes; also the frame boundaries.
    fn wire(&self, writes: &[Vec<u8>], goodbye: bool) -> (Vec<u8>, Vec<usize>) {
        let mut enc = Encrypter::new(self.key, self.nonce);
        let mut out = Vec::new();
        let mut bounds = vec![0];
        for w in writes {
            for chunk in w.chunks(ssb_impl::boxstream::MAX_BODY) {
                enc.encrypt(chunk, &mut out);
                bounds.push(out.len());
            }
        }
        if goodbye {
            enc.goodbye(&mut out);
            bounds.push(out.len());
        }
        (out, bounds)
    }

    /// A header box announcing `len` with a random body MAC, at the stream's first nonce.
    fn crafted_header(&self, rng: &mut ChaCha20Rng, len: u16) -> Vec<u8> {
        let mut plain = [0u8; 18];
        plain[..2].copy_from_slice(&len.to_be_bytes());
        rng.fill_bytes(&mut plain[2..]);
        crypto::secretbox_seal(&self.key, &self.nonce, &plain)
    }
}

fn flip_at(rng: &mut ChaCha20Rng, wire: &[u8], range: std::ops::Range<usize>) -> Vec<u8> {
    let mut out = wire.to_vec();
    let i = range.start + (rng.next_u32() as usize) % range.len();
    out[i] ^= 1 << (rng.next_u32() % 8);
    out
}

pub fn generate(seed: u64) -> VectorFile {
    let mut rng = ChaCha20Rng::seed_from_u64(seed ^ 0x424f_5853); // "BOXS"
    let mut b = Builder::new(
        "boxstream",
        "Box-stream framing and encryption; see conformance/ADAPTER.md (suite boxstream)",
        NOTES,
    );

    // Writes of each interesting size, encrypted and then decrypted.
    let sizes: [(usize, &str); 6] = [
        (0, "empty_write"),
        (1, "one_byte"),
        (4095, "max_body_minus_one"),
        (4096, "max_body"),
        (4097, "max_body_plus_one"),
        (100_000, "large_write"),
    ];
    for (len, flag) in sizes {
        let s = Stream::draw(&mut rng);
        let writes = vec![super::random_bytes(&mut rng, len)];
        b.add(
            &format!("encrypt one write of {len} bytes, then goodbye"),
            &["encrypt", flag, "goodbye"],
            "boxstream.encrypt",
            s.encrypt_args(&writes, true),
            Intent::Accept,
        );
        let (wire, _) = s.wire(&writes, true);
        b.add(
            &format!("decrypt one write of {len} bytes and the goodbye"),
            &["decrypt", flag, "goodbye"],
            "boxstream.decrypt",
            s.decrypt_args(&wire),
            Intent::Accept,
        );
    }

    let s = Stream::draw(&mut rng);
    let writes = vec![
        super::random_bytes(&mut rng, 3),
        vec![],
        super::random_bytes(&mut rng, 17),
        super::random_bytes(&mut rng, 1),
    ];
    b.add(
        "several writes, one of them empty, then goodbye",
        &["encrypt", "several_writes", "empty_write", "goodbye"],
        "boxstream.encrypt",
        s.encrypt_args(&writes, true),
        Intent::Accept,
    );
    b.add(
        "several writes without a goodbye",
        &["encrypt", "several_writes", "no_goodbye"],
        "boxstream.encrypt",
        s.encrypt_args(&writes, false),
        Intent::Accept,
    );
    let (wire, _) = s.wire(&writes, false);
    b.add(
        "a stream that stops on a frame boundary without a goodbye",
        &["decrypt", "several_writes", "no_goodbye"],
        "boxstream.decrypt",
        s.decrypt_args(&wire),
        Intent::Reject("truncated"),
    );
    b.add(
        "only the goodbye",
        &["encrypt", "goodbye_only", "goodbye"],
        "boxstream.encrypt",
        s.encrypt_args(&[], true),
        Intent::Accept,
    );
    b.add(
        "an empty stream: not even the goodbye",
        &["decrypt", "no_goodbye"],
        "boxstream.decrypt",
        s.decrypt_args(&[]),
        Intent::Reject("truncated"),
    );
    let (wire, _) = s.wire(&[], true);
    b.add(
        "only the goodbye",
        &["decrypt", "goodbye_only", "goodbye"],
        "boxstream.decrypt",
        s.decrypt_args(&wire),
        Intent::Accept,
    );

    // The nonce counter wraps from 2^192 - 1 to 0 between header and body.
    let wrap = Stream {
        nonce: [0xff; 24],
        ..Stream::draw(&mut rng)
    };
    let writes = vec![
        super::random_bytes(&mut rng, 40),
        super::random_bytes(&mut rng, 40),
    ];
    b.add(
        "nonce wraps around inside the first frame",
        &["encrypt", "nonce_wraparound", "several_writes", "goodbye"],
        "boxstream.encrypt",
        wrap.encrypt_args(&writes, true),
        Intent::Accept,
    );
    let (wire, _) = wrap.wire(&writes, true);
    b.add(
        "nonce wraps around inside the first frame",
        &["decrypt", "nonce_wraparound", "several_writes", "goodbye"],
        "boxstream.decrypt",
        wrap.decrypt_args(&wire),
        Intent::Accept,
    );

    // Damaged streams: two frames of 100 and 50 bytes, then the goodbye.
    let s = Stream::draw(&mut rng);
    let writes = vec![
        super::random_bytes(&mut rng, 100),
        super::random_bytes(&mut rng, 50),
    ];
    let (wire, bounds) = s.wire(&writes, true);
    let second = bounds[1];
    let decrypt = |b: &mut Builder, comment: &str, flag: &str, input: &[u8], kind: &'static str| {
        b.add(
            comment,
            &["decrypt", flag],
            "boxstream.decrypt",
            s.decrypt_args(input),
            Intent::Reject(kind),
        );
    };
    decrypt(
        &mut b,
        "input ends 20 bytes into the first header",
        "truncated_header",
        &wire[..20],
        "truncated",
    );
    decrypt(
        &mut b,
        "input ends 20 bytes into the second header",
        "truncated_header",
        &wire[..second + 20],
        "truncated",
    );
    decrypt(
        &mut b,
        "input ends 60 bytes into the first body",
        "truncated_body",
        &wire[..HEADER_LEN + 60],
        "truncated",
    );
    for _ in 0..2 {
        let bad = flip_at(&mut rng, &wire, 0..16);
        decrypt(
            &mut b,
            "bit flipped in the first header's MAC",
            "flipped_header_mac",
            &bad,
            "header_auth_failed",
        );
        let bad = flip_at(&mut rng, &wire, 16..18);
        decrypt(
            &mut b,
            "bit flipped in the first header's length",
            "flipped_header_length",
            &bad,
            "header_auth_failed",
        );
        let bad = flip_at(&mut rng, &wire, 18..HEADER_LEN);
        decrypt(
            &mut b,
            "bit flipped in the first header's body MAC",
            "flipped_header_body_mac",
            &bad,
            "header_auth_failed",
        );
        let bad = flip_at(&mut rng, &wire, second + HEADER_LEN..bounds[2]);
        decrypt(
            &mut b,
            "bit flipped in the second body",
            "flipped_body",
            &bad,
            "body_auth_failed",
        );
    }
    let swapped = [&wire[second..bounds[2]], &wire[..second], &wire[bounds[2]..]].concat();
    decrypt(
        &mut b,
        "first and second frames swapped",
        "reordered_frames",
        &swapped,
        "header_auth_failed",
    );
    let mut trailing = wire.clone();
    trailing.extend_from_slice(&super::random_bytes(&mut rng, 5));
    decrypt(
        &mut b,
        "five bytes after the goodbye",
        "data_after_goodbye",
        &trailing,
        "data_after_goodbye",
    );
    let mut twice = wire.clone();
    twice.extend_from_slice(&wire[bounds[2]..]);
    decrypt(
        &mut b,
        "a second goodbye after the goodbye",
        "data_after_goodbye",
        &twice,
        "data_after_goodbye",
    );

    let long = [
        s.crafted_header(&mut rng, 4097),
        super::random_bytes(&mut rng, 4097 + 16),
    ]
    .concat();
    decrypt(
        &mut b,
        "header announcing 4097 bytes",
        "body_too_long",
        &long,
        "body_too_long",
    );
    let empty = [s.crafted_header(&mut rng, 0), super::random_bytes(&mut rng, 16)].concat();
    decrypt(
        &mut b,
        "header announcing 0 bytes with a non-zero body MAC",
        "empty_body",
        &empty,
        "empty_body",
    );

    let mut other_key = Stream {
        key: s.key,
        nonce: s.nonce,
    };
    other_key.key[0] ^= 1;
    b.add(
        "honest stream decrypted with another key",
        &["decrypt", "wrong_key"],
        "boxstream.decrypt",
        other_key.decrypt_args(&wire),
        Intent::Reject("header_auth_failed"),
    );
    let mut next_nonce = Stream {
        key: s.key,
        nonce: s.nonce,
    };
    crypto::increment_nonce_be(&mut next_nonce.nonce);
    b.add(
        "honest stream decrypted with the nonce plus one",
        &["decrypt", "wrong_nonce"],
        "boxstream.decrypt",
        next_nonce.decrypt_args(&wire),
        Intent::Reject("header_auth_failed"),
    );

    // Appended so the older ids stay: an oversized frame whose header and body both
    // authenticate, then a goodbye, so that the size is the one fault.
    let mut body = super::random_bytes(&mut rng, 4097);
    let mut body_nonce = s.nonce;
    crypto::increment_nonce_be(&mut body_nonce);
    let mac = crypto::secretbox_seal_detached(&s.key, &body_nonce, &mut body);
    let mut plain = [0u8; 18];
    plain[..2].copy_from_slice(&4097u16.to_be_bytes());
    plain[2..].copy_from_slice(&mac);
    let mut bye_nonce = body_nonce;
    crypto::increment_nonce_be(&mut bye_nonce);
    let authentic = [
        crypto::secretbox_seal(&s.key, &s.nonce, &plain),
        body,
        crypto::secretbox_seal(&s.key, &bye_nonce, &[0u8; 18]),
    ]
    .concat();
    b.add(
        "header announcing 4097 bytes over a body that authenticates, then a goodbye",
        &["decrypt", "body_too_long", "authentic_body"],
        "boxstream.decrypt",
        s.decrypt_args(&authentic),
        Intent::Reject("body_too_long"),
    );
    b.finish()
}
