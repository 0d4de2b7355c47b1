//! The cryptographic primitives SSB uses, in one place: NaCl secretbox (XSalsa20-Poly1305),
//! libsodium's `crypto_auth` (HMAC-SHA-512 truncated to 32 bytes), SHA-256, X25519, ed25519
//! signatures with libsodium's acceptance rules, and the ed25519 → curve25519 key conversions.
//!
//! Every other module calls these functions, so the libsodium differential tests
//! (`tests/crypto_differential.rs`) cover the whole stack. All functions are pure: keys and
//! nonces come from the caller.

use crypto_secretbox::aead::{AeadInPlace, KeyInit};
use crypto_secretbox::XSalsa20Poly1305;
use curve25519_dalek::edwards::CompressedEdwardsY;
use ed25519_dalek::{Signer, SigningKey, VerifyingKey};
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256, Sha512};

/// Bytes of a secretbox key.
pub const SECRETBOX_KEY_LEN: usize = 32;
/// Bytes of a secretbox nonce.
pub const SECRETBOX_NONCE_LEN: usize = 24;
/// Bytes of a secretbox authenticator (Poly1305 tag).
pub const SECRETBOX_MAC_LEN: usize = 16;
/// Bytes of a `crypto_auth` tag.
pub const AUTH_TAG_LEN: usize = 32;

/// A failed cryptographic check. Deliberately carries no detail: callers name the step.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum CryptoError {
    /// A secretbox did not open (wrong key or nonce, or tampered bytes).
    #[error("secretbox authentication failed")]
    BoxOpen,
    /// A ciphertext shorter than the 16-byte authenticator.
    #[error("secretbox ciphertext shorter than its authenticator")]
    BoxTooShort,
    /// X25519 produced the all-zero shared secret (a low-order peer key).
    #[error("x25519 result is all zero (low-order public key)")]
    LowOrderPoint,
    /// An ed25519 public key that libsodium refuses to convert (not a point, small order, or
    /// outside the prime-order subgroup).
    #[error("ed25519 public key cannot be converted to curve25519")]
    BadEdPublicKey,
}

/// secretbox (XSalsa20-Poly1305) in the NaCl layout: `mac(16) ‖ ciphertext`.
pub fn secretbox_seal(key: &[u8; 32], nonce: &[u8; 24], plaintext: &[u8]) -> Vec<u8> {
    let mut out = vec![0u8; SECRETBOX_MAC_LEN + plaintext.len()];
    out[SECRETBOX_MAC_LEN..].copy_from_slice(plaintext);
    let (mac, body) = out.split_at_mut(SECRETBOX_MAC_LEN);
    mac.copy_from_slice(&secretbox_seal_detached(key, nonce, body));
    out
}

/// Opens a box made by [`secretbox_seal`].
pub fn secretbox_open(key: &[u8; 32], nonce: &[u8; 24], boxed: &[u8]) -> Result<Vec<u8>, CryptoError> {
    if boxed.len() < SECRETBOX_MAC_LEN {
        return Err(CryptoError::BoxTooShort);
    }
    let (mac, body) = boxed.split_at(SECRETBOX_MAC_LEN);
    let mut plain = body.to_vec();
    let mac: [u8; 16] = mac.try_into().expect("split at 16");
    secretbox_open_detached(key, nonce, &mac, &mut plain)?;
    Ok(plain)
}

/// Encrypts `buf` in place and returns its 16-byte authenticator.
pub fn secretbox_seal_detached(key: &[u8; 32], nonce: &[u8; 24], buf: &mut [u8]) -> [u8; 16] {
    let cipher = XSalsa20Poly1305::new(key.into());
    let tag = cipher
        .encrypt_in_place_detached(nonce.into(), b"", buf)
        .expect("XSalsa20-Poly1305 accepts any length that fits in memory");
    tag.into()
}

/// Checks `mac` and decrypts `buf` in place; on failure `buf` is left unchanged.
pub fn secretbox_open_detached(
    key: &[u8; 32],
    nonce: &[u8; 24],
    mac: &[u8; 16],
    buf: &mut [u8],
) -> Result<(), CryptoError> {
    let cipher = XSalsa20Poly1305::new(key.into());
    cipher
        .decrypt_in_place_detached(nonce.into(), b"", buf, mac.into())
        .map_err(|_| CryptoError::BoxOpen)
}

/// libsodium `crypto_auth`: HMAC-SHA-512 truncated to its first 32 bytes.
pub fn auth(key: &[u8; 32], msg: &[u8]) -> [u8; 32] {
    let mut mac = <Hmac<Sha512> as Mac>::new_from_slice(key).expect("HMAC takes any key length");
    mac.update(msg);
    let full = mac.finalize().into_bytes();
    full[..32].try_into().expect("sha512 is 64 bytes")
}

/// libsodium `crypto_auth_verify`, in constant time.
pub fn auth_verify(key: &[u8; 32], msg: &[u8], tag: &[u8; 32]) -> bool {
    let mut mac = <Hmac<Sha512> as Mac>::new_from_slice(key).expect("HMAC takes any key length");
    mac.update(msg);
    mac.verify_truncated_left(tag).is_ok()
}

/// HMAC-SHA-512 with any key length, truncated to `tag_len` bytes (≤ 64); used to check the
/// Wycheproof cases, whose keys are not always 32 bytes.
pub fn hmac_sha512_truncated(key: &[u8], msg: &[u8], tag_len: usize) -> Vec<u8> {
    let mut mac = <Hmac<Sha512> as Mac>::new_from_slice(key).expect("HMAC takes any key length");
    mac.update(msg);
    mac.finalize().into_bytes()[..tag_len.min(64)].to_vec()
}

/// SHA-256.
pub fn sha256(data: &[u8]) -> [u8; 32] {
    Sha256::digest(data).into()
}

/// SHA-256 over the concatenation of `parts`, without building the concatenation.
pub fn sha256_concat(parts: &[&[u8]]) -> [u8; 32] {
    let mut h = Sha256::new();
    for p in parts {
        h.update(p);
    }
    h.finalize().into()
}

/// X25519 public key of a secret scalar (`crypto_scalarmult_base`).
pub fn x25519_base(secret: &[u8; 32]) -> [u8; 32] {
    x25519_dalek::x25519(*secret, x25519_dalek::X25519_BASEPOINT_BYTES)
}

/// X25519 (`crypto_scalarmult`), refusing an all-zero result as libsodium does.
pub fn x25519(secret: &[u8; 32], public: &[u8; 32]) -> Result<[u8; 32], CryptoError> {
    let shared = x25519_dalek::x25519(*secret, *public);
    if shared.iter().all(|b| *b == 0) {
        Err(CryptoError::LowOrderPoint)
    } else {
        Ok(shared)
    }
}

/// The ed25519 public key of a 32-byte seed.
pub fn ed25519_public_from_seed(seed: &[u8; 32]) -> [u8; 32] {
    SigningKey::from_bytes(seed).verifying_key().to_bytes()
}

/// Detached ed25519 signature with the key derived from `seed`.
pub fn ed25519_sign(seed: &[u8; 32], msg: &[u8]) -> [u8; 64] {
    SigningKey::from_bytes(seed).sign(msg).to_bytes()
}

/// Verifies a detached ed25519 signature with libsodium's rules
/// (`crypto_sign_verify_detached`, libsodium ≥ 1.0.16 without `ED25519_COMPAT`):
/// the public key must be a canonical encoding of a point that is not of small order, `S` must
/// be canonical (< ℓ), `R` must not be a small-order point, and the recomputed `R` must equal the
/// signature's `R` byte for byte. The equation is the cofactorless one.
pub fn ed25519_verify(public: &[u8; 32], msg: &[u8], sig: &[u8; 64]) -> bool {
    let r: &[u8; 32] = sig[..32].try_into().expect("64 bytes");
    if !is_canonical_point_encoding(public) || has_small_order(public) || has_small_order(r) {
        return false;
    }
    let Ok(vk) = VerifyingKey::from_bytes(public) else {
        return false;
    };
    ed25519_verify_key(&vk, msg, sig)
}

/// [`ed25519_verify`] with the public key already decoded (a node verifying many messages of
/// one author decodes its key once). The byte rules on the key must have been checked when it
/// was decoded ([`ed25519_key_ok`]).
pub fn ed25519_verify_key(vk: &VerifyingKey, msg: &[u8], sig: &[u8; 64]) -> bool {
    let r: &[u8; 32] = sig[..32].try_into().expect("64 bytes");
    if has_small_order(r) {
        return false;
    }
    // `verify`: canonical S, the cofactorless equation, and the recomputed R compared with the
    // signature's R bytes, as libsodium compares them; small-order A and R are refused above by
    // their bytes, as libsodium refuses them (`verify_strict` would decode R and compare points).
    use ed25519_dalek::Verifier;
    vk.verify(msg, &ed25519_dalek::Signature::from_bytes(sig)).is_ok()
}

/// The byte rules libsodium applies to a public key: a canonical encoding of a point not of
/// small order.
pub fn ed25519_key_ok(public: &[u8; 32]) -> bool {
    is_canonical_point_encoding(public) && !has_small_order(public)
}

/// The part of libsodium's verification rules that reads only the bytes: a canonical public key
/// encoding that is not of small order, an `R` not of small order, and `S` below ℓ. Batch
/// verification applies these first, since its equation alone would not.
pub fn ed25519_encoding_ok(public: &[u8; 32], sig: &[u8; 64]) -> bool {
    let r: &[u8; 32] = sig[..32].try_into().expect("64 bytes");
    let s: [u8; 32] = sig[32..].try_into().expect("64 bytes");
    is_canonical_point_encoding(public)
        && !has_small_order(public)
        && !has_small_order(r)
        && curve25519_dalek::Scalar::from_canonical_bytes(s).is_some().into()
}

/// libsodium's `ge25519_is_canonical`: the y coordinate (sign bit ignored) is below p.
fn is_canonical_point_encoding(s: &[u8; 32]) -> bool {
    let top_is_max = s[31] & 0x7f == 0x7f;
    let middle_all_ones = s[1..31].iter().all(|b| *b == 0xff);
    !(top_is_max && middle_all_ones && s[0] >= 0xed)
}

/// libsodium's `ge25519_has_small_order`: the encoding (sign bit ignored) is one of the
/// encodings, canonical or not, of a point of order 1, 2, 4 or 8.
fn has_small_order(s: &[u8; 32]) -> bool {
    // The y coordinates of the eight torsion points, plus the non-canonical encodings y + p of
    // those whose y + p still fits in 255 bits (y = 0 and y = 1 and y = p - 1 → 2p - 1 does not).
    const BLOCKLIST: [[u8; 32]; 7] = [
        // 0 (order 4)
        [0; 32],
        // 1 (order 1)
        [
            0x01, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
        ],
        // 2707385501144840649318225287225658788936804267575313519463743609750303402022 (order 8)
        [
            0x26, 0xe8, 0x95, 0x8f, 0xc2, 0xb2, 0x27, 0xb0, 0x45, 0xc3, 0xf4, 0x89, 0xf2, 0xef, 0x98, 0xf0,
            0xd5, 0xdf, 0xac, 0x05, 0xd3, 0xc6, 0x33, 0x39, 0xb1, 0x38, 0x02, 0x88, 0x6d, 0x53, 0xfc, 0x05,
        ],
        // 55188659117513257062467267217118295137698188065244968500265048394206261417927 (order 8)
        [
            0xc7, 0x17, 0x6a, 0x70, 0x3d, 0x4d, 0xd8, 0x4f, 0xba, 0x3c, 0x0b, 0x76, 0x0d, 0x10, 0x67, 0x0f,
            0x2a, 0x20, 0x53, 0xfa, 0x2c, 0x39, 0xcc, 0xc6, 0x4e, 0xc7, 0xfd, 0x77, 0x92, 0xac, 0x03, 0x7a,
        ],
        // p - 1 (order 2)
        [
            0xec, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
            0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f,
        ],
        // p (non-canonical 0)
        [
            0xed, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
            0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f,
        ],
        // p + 1 (non-canonical 1)
        [
            0xee, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
            0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f,
        ],
    ];
    let mut masked = *s;
    masked[31] &= 0x7f;
    BLOCKLIST.contains(&masked)
}

/// `crypto_sign_ed25519_pk_to_curve25519`: the Montgomery u-coordinate of an ed25519 public
/// key. Refused, as libsodium does, when the key is not a point, has small order, or lies
/// outside the prime-order subgroup.
pub fn ed25519_pk_to_curve25519(public: &[u8; 32]) -> Result<[u8; 32], CryptoError> {
    if has_small_order(public) {
        return Err(CryptoError::BadEdPublicKey);
    }
    let point = CompressedEdwardsY(*public)
        .decompress()
        .ok_or(CryptoError::BadEdPublicKey)?;
    if !point.is_torsion_free() {
        return Err(CryptoError::BadEdPublicKey);
    }
    Ok(point.to_montgomery().to_bytes())
}

/// SHA-512.
pub fn sha512(data: &[u8]) -> [u8; 64] {
    Sha512::digest(data).into()
}

/// `crypto_sign_ed25519_sk_to_curve25519`: the clamped first half of SHA-512(seed).
pub fn ed25519_seed_to_curve25519(seed: &[u8; 32]) -> [u8; 32] {
    let h = Sha512::digest(seed);
    let mut out: [u8; 32] = h[..32].try_into().expect("64 bytes");
    out[0] &= 248;
    out[31] &= 127;
    out[31] |= 64;
    out
}

/// Increments a 24-byte big-endian nonce, wrapping at 2¹⁹² as libsodium's `sodium_increment`
/// does on a big-endian reading (box-stream counts this way).
pub fn increment_nonce_be(nonce: &mut [u8; 24]) {
    for b in nonce.iter_mut().rev() {
        let (v, carry) = b.overflowing_add(1);
        *b = v;
        if !carry {
            break;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nonce_increment_carries() {
        let mut n = [0u8; 24];
        n[23] = 0xff;
        n[22] = 0xff;
        increment_nonce_be(&mut n);
        assert_eq!(n[21], 1);
        assert_eq!(n[22], 0);
        assert_eq!(n[23], 0);
        let mut all = [0xffu8; 24];
        increment_nonce_be(&mut all);
        assert_eq!(all, [0u8; 24]);
    }

    #[test]
    fn secretbox_round_trip_and_tamper() {
        let key = [7u8; 32];
        let nonce = [9u8; 24];
        let boxed = secretbox_seal(&key, &nonce, b"hello");
        assert_eq!(boxed.len(), 21);
        assert_eq!(secretbox_open(&key, &nonce, &boxed).unwrap(), b"hello");
        let mut bad = boxed.clone();
        bad[20] ^= 1;
        assert_eq!(secretbox_open(&key, &nonce, &bad), Err(CryptoError::BoxOpen));
        assert_eq!(
            secretbox_open(&key, &nonce, &boxed[..15]),
            Err(CryptoError::BoxTooShort)
        );
    }

    #[test]
    fn small_order_blocklist_matches_torsion_points() {
        use curve25519_dalek::constants::EIGHT_TORSION;
        for p in EIGHT_TORSION.iter() {
            assert!(has_small_order(&p.compress().to_bytes()), "{:?}", p.compress());
        }
    }

    #[test]
    fn x25519_refuses_zero_point() {
        assert_eq!(x25519(&[1u8; 32], &[0u8; 32]), Err(CryptoError::LowOrderPoint));
    }
}
