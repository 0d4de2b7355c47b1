//! Private-box (box1) through kuska-ssb's `feed::privatebox_decipher`.

use crate::args::{hex_n, OpError};
use kuska_ssb::feed::{is_privatebox, privatebox_decipher, Error as FeedError};
use kuska_ssb::handshake::sodiumoxide::crypto::sign::ed25519;
use serde_json::{json, Value};

pub const BOX_REASON: &str = "kuska-ssb's privatebox_cipher draws the nonce, the body key and the one-time key itself (secretbox::gen_nonce, gen_key, ed25519::gen_keypair) and takes the plaintext as &str: given randomness and binary plaintexts cannot be passed";

/// `box1.unbox`: `is_privatebox` (the suffix test kuska offers callers), then
/// `privatebox_decipher` with the secret key of the seed. kuska returns the plaintext as a
/// `String` made with `String::from_utf8_lossy`, so bytes that are not UTF-8 come back as
/// U+FFFD; the adapter reports the bytes of that string.
pub fn unbox(a: &Value) -> Result<Value, OpError> {
    let content = a
        .get("content")
        .and_then(Value::as_str)
        .ok_or_else(|| OpError::invalid("`content` missing"))?;
    let seed = ed25519::Seed::from_slice(&hex_n(a, "seed", 32)?).expect("32 bytes");
    let (_, sk) = ed25519::keypair_from_seed(&seed);
    if !is_privatebox(content) {
        return Err(OpError::new(
            "invalid_content",
            "kuska: is_privatebox is false (no .box suffix)",
        ));
    }
    match privatebox_decipher(content, &sk) {
        Ok(Some(text)) => Ok(json!({ "plaintext": hex::encode(text.as_bytes()) })),
        Ok(None) => Err(OpError::new("not_recipient", "kuska: no slot opened (Ok(None))")),
        Err(e) => {
            let kind = match e {
                FeedError::Base64Decode(_) => "invalid_content",
                FeedError::FailedToDecipher => "bad_body",
                FeedError::CannotReadNonce | FeedError::CannotCreateKey => "not_recipient",
                _ => "unbox_failed",
            };
            Err(OpError::new(kind, format!("kuska: {e} ({e:?})")))
        }
    }
}
