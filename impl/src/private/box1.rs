//! private-box (box1), the classic SSB private-message format (auditdrivencrypto/private-box):
//! a message encrypted to 1–7 recipients without revealing who they are or how many.
//!
//! Layout: `nonce(24) ‖ ephemeral_public(32) ‖ slot_1 … slot_n ‖ body_box`, where each slot is
//! `secretbox(n ‖ body_key, nonce, X25519(ephemeral_secret, recipient))` (1 + 32 bytes boxed:
//! 49) and `body_box = secretbox(plaintext, nonce, body_key)`. The recipient count travels inside
//! every slot (as its first byte, the order the reference code writes), so the body starts at
//! `56 + 49·n`. Recipients are feeds: their ed25519 keys are converted to curve25519, and a
//! recipient opens with the curve25519 form of its secret key.
//!
//! A reader tries at most [`MAX_RECIPIENTS`] slots (the format's documented limit; the JS code
//! tries one more), stopping early where a slot would leave no room for the body's
//! authenticator.

use rand_core::CryptoRngCore;

use crate::crypto::{self, SECRETBOX_MAC_LEN};
use crate::identity::Keypair;

/// Bytes of the nonce.
pub const NONCE_LEN: usize = 24;
/// Bytes before the first slot: nonce and ephemeral public key.
pub const PREFIX_LEN: usize = 24 + 32;
/// Bytes of one slot: a secretbox of the count byte and the 32-byte body key.
pub const SLOT_LEN: usize = 1 + 32 + SECRETBOX_MAC_LEN;
/// The documented number of recipients, and of slots a reader tries.
pub const MAX_RECIPIENTS: usize = 7;
/// The largest limit the format can carry (the count is one byte).
pub const MAX_RECIPIENTS_LIMIT: usize = 255;
/// The shortest ciphertext that holds one slot and a body authenticator.
pub const MIN_LEN: usize = PREFIX_LEN + SLOT_LEN + SECRETBOX_MAC_LEN;

/// Why sealing or opening failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Box1Error {
    #[error("a private-box needs at least one recipient")]
    NoRecipients,
    #[error("{got} recipients; at most {max}")]
    TooManyRecipients { got: usize, max: usize },
    #[error("recipient limit {0} is outside 1..=255")]
    BadLimit(usize),
    #[error("recipient {index}'s ed25519 key cannot be converted to curve25519")]
    BadRecipientKey { index: usize },
    /// No slot opened with our key: the message is not for us, or too short to hold a slot, or
    /// its ephemeral key is of low order.
    #[error("no slot opens with this key")]
    NotRecipient,
    /// A slot opened but the body did not: a tampered body, or a recipient count that puts the
    /// body outside the ciphertext.
    #[error("a slot opened but the body does not")]
    BadBody,
}

impl Box1Error {
    /// The adapter-protocol error kind.
    pub fn kind(&self) -> &'static str {
        match self {
            Box1Error::NoRecipients => "no_recipients",
            Box1Error::TooManyRecipients { .. } => "too_many_recipients",
            Box1Error::BadLimit(_) => "invalid_args",
            Box1Error::BadRecipientKey { .. } => "invalid_recipient",
            Box1Error::NotRecipient => "not_recipient",
            Box1Error::BadBody => "bad_body",
        }
    }
}

/// The random inputs of one seal, drawn by the caller.
#[derive(Clone)]
pub struct SealParams {
    pub nonce: [u8; NONCE_LEN],
    pub body_key: [u8; 32],
    /// The ephemeral curve25519 secret (clamped by X25519 as libsodium clamps it).
    pub ephemeral_secret: [u8; 32],
}

impl SealParams {
    /// Fresh parameters from the caller's RNG.
    pub fn random(rng: &mut impl CryptoRngCore) -> Self {
        let mut p = SealParams {
            nonce: [0; NONCE_LEN],
            body_key: [0; 32],
            ephemeral_secret: [0; 32],
        };
        rng.fill_bytes(&mut p.nonce);
        rng.fill_bytes(&mut p.body_key);
        rng.fill_bytes(&mut p.ephemeral_secret);
        p
    }
}

fn check_limit(max: usize) -> Result<(), Box1Error> {
    if (1..=MAX_RECIPIENTS_LIMIT).contains(&max) {
        Ok(())
    } else {
        Err(Box1Error::BadLimit(max))
    }
}

/// Seals `plaintext` to curve25519 public keys, allowing up to `max` (1..=255) recipients.
pub fn seal_curve(
    plaintext: &[u8],
    recipients: &[[u8; 32]],
    params: &SealParams,
    max: usize,
) -> Result<Vec<u8>, Box1Error> {
    check_limit(max)?;
    if recipients.is_empty() {
        return Err(Box1Error::NoRecipients);
    }
    if recipients.len() > max {
        return Err(Box1Error::TooManyRecipients {
            got: recipients.len(),
            max,
        });
    }
    let n = recipients.len();
    let mut out = Vec::with_capacity(PREFIX_LEN + n * SLOT_LEN + SECRETBOX_MAC_LEN + plaintext.len());
    out.extend_from_slice(&params.nonce);
    out.extend_from_slice(&crypto::x25519_base(&params.ephemeral_secret));
    let mut count_and_key = [0u8; 33];
    count_and_key[0] = n as u8;
    count_and_key[1..].copy_from_slice(&params.body_key);
    for (index, r) in recipients.iter().enumerate() {
        let shared =
            crypto::x25519(&params.ephemeral_secret, r).map_err(|_| Box1Error::BadRecipientKey { index })?;
        out.extend_from_slice(&crypto::secretbox_seal(&shared, &params.nonce, &count_and_key));
    }
    out.extend_from_slice(&crypto::secretbox_seal(
        &params.body_key,
        &params.nonce,
        plaintext,
    ));
    Ok(out)
}

/// Seals `plaintext` to 1–7 feeds given by their ed25519 public keys.
pub fn seal(plaintext: &[u8], recipients: &[[u8; 32]], params: &SealParams) -> Result<Vec<u8>, Box1Error> {
    let curve = feed_keys_to_curve(recipients)?;
    seal_curve(plaintext, &curve, params, MAX_RECIPIENTS)
}

/// [`seal`] with parameters drawn from `rng`.
pub fn seal_random(
    rng: &mut impl CryptoRngCore,
    plaintext: &[u8],
    recipients: &[[u8; 32]],
) -> Result<Vec<u8>, Box1Error> {
    seal(plaintext, recipients, &SealParams::random(rng))
}

/// Converts feed (ed25519) public keys to curve25519, naming the first that cannot be.
pub fn feed_keys_to_curve(recipients: &[[u8; 32]]) -> Result<Vec<[u8; 32]>, Box1Error> {
    recipients
        .iter()
        .enumerate()
        .map(|(index, k)| {
            crypto::ed25519_pk_to_curve25519(k).map_err(|_| Box1Error::BadRecipientKey { index })
        })
        .collect()
}

/// What a slot holds: the recipient count and the body key.
#[derive(Clone, PartialEq, Eq)]
pub struct BodyKey {
    pub count: u8,
    pub key: [u8; 32],
}

impl std::fmt::Debug for BodyKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "BodyKey {{ count: {}, .. }}", self.count)
    }
}

/// Tries the first `max` slots (fewer when the ciphertext ends sooner) with the curve25519
/// secret `secret`; the count and body key of the slot that opens.
pub fn open_key(ciphertext: &[u8], secret: &[u8; 32], max: usize) -> Result<BodyKey, Box1Error> {
    check_limit(max)?;
    if ciphertext.len() < MIN_LEN {
        return Err(Box1Error::NotRecipient);
    }
    let nonce: [u8; NONCE_LEN] = ciphertext[..NONCE_LEN].try_into().expect("length checked");
    let ephemeral: [u8; 32] = ciphertext[NONCE_LEN..PREFIX_LEN]
        .try_into()
        .expect("length checked");
    let shared = crypto::x25519(secret, &ephemeral).map_err(|_| Box1Error::NotRecipient)?;
    for i in 0..max {
        let start = PREFIX_LEN + i * SLOT_LEN;
        if start + SLOT_LEN + SECRETBOX_MAC_LEN > ciphertext.len() {
            break;
        }
        if let Ok(plain) = crypto::secretbox_open(&shared, &nonce, &ciphertext[start..start + SLOT_LEN]) {
            return Ok(BodyKey {
                count: plain[0],
                key: plain[1..].try_into().expect("33 bytes boxed"),
            });
        }
    }
    Err(Box1Error::NotRecipient)
}

/// Opens the body with a key from [`open_key`] (or one entrusted by a recipient).
pub fn open_body(ciphertext: &[u8], key: &BodyKey) -> Result<Vec<u8>, Box1Error> {
    let start = PREFIX_LEN + usize::from(key.count) * SLOT_LEN;
    if ciphertext.len() < start + SECRETBOX_MAC_LEN {
        return Err(Box1Error::BadBody);
    }
    let nonce: [u8; NONCE_LEN] = ciphertext[..NONCE_LEN].try_into().expect("length checked");
    crypto::secretbox_open(&key.key, &nonce, &ciphertext[start..]).map_err(|_| Box1Error::BadBody)
}

/// Opens a private-box with a curve25519 secret, trying up to `max` slots.
pub fn open_curve(ciphertext: &[u8], secret: &[u8; 32], max: usize) -> Result<Vec<u8>, Box1Error> {
    let key = open_key(ciphertext, secret, max)?;
    open_body(ciphertext, &key)
}

/// Opens a private-box as the feed `keys` (its ed25519 secret converted to curve25519), trying
/// the documented 7 slots.
pub fn open(ciphertext: &[u8], keys: &Keypair) -> Result<Vec<u8>, Box1Error> {
    open_curve(ciphertext, &keys.curve25519_secret(), MAX_RECIPIENTS)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand_chacha::ChaCha20Rng;
    use rand_core::SeedableRng;

    #[test]
    fn seal_open_every_slot() {
        let mut rng = ChaCha20Rng::seed_from_u64(7);
        let keys: Vec<Keypair> = (0..7).map(|_| Keypair::generate(&mut rng)).collect();
        let pubs: Vec<[u8; 32]> = keys.iter().map(|k| *k.public()).collect();
        for n in 1..=7 {
            let ct = seal_random(&mut rng, b"hello", &pubs[..n]).unwrap();
            assert_eq!(ct.len(), PREFIX_LEN + n * SLOT_LEN + 16 + 5);
            for k in &keys[..n] {
                assert_eq!(open(&ct, k).unwrap(), b"hello");
            }
            for k in &keys[n..] {
                assert_eq!(open(&ct, k), Err(Box1Error::NotRecipient));
            }
        }
        assert_eq!(seal_random(&mut rng, b"x", &[]), Err(Box1Error::NoRecipients));
        let eight = [pubs[0]; 8];
        assert_eq!(
            seal_random(&mut rng, b"x", &eight),
            Err(Box1Error::TooManyRecipients { got: 8, max: 7 })
        );
    }

    #[test]
    fn empty_plaintext_and_short_inputs() {
        let mut rng = ChaCha20Rng::seed_from_u64(8);
        let k = Keypair::generate(&mut rng);
        let ct = seal_random(&mut rng, b"", &[*k.public()]).unwrap();
        assert_eq!(ct.len(), MIN_LEN);
        assert_eq!(open(&ct, &k).unwrap(), b"");
        for len in 0..MIN_LEN {
            assert_eq!(open(&ct[..len], &k), Err(Box1Error::NotRecipient));
        }
    }
}
