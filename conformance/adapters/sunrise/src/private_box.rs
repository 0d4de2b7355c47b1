//! Private-box (box1) through the `private-box` crate: `decrypt_key` (find and open the slot)
//! and `decrypt_body`, the two halves of its `decrypt`, so that a slot that opens and a body
//! that does not can be told apart.

use crate::args::{hex_n, OpError};
use serde_json::{json, Value};
use ssb_crypto::Keypair;

pub const BOX_REASON: &str = "private-box 0.6.0's encrypt draws the nonce, the body key and the one-time key itself (Nonce::generate, Key::generate, generate_ephemeral_keypair): given randomness cannot be passed";

/// `box1.unbox`. The crate takes the ciphertext bytes; the `.box` content string is checked
/// with ssb-validate's `is_canonical_base64` (the sunrise-choir check for boxed content) and
/// the suffix, then decoded.
pub fn unbox(a: &Value) -> Result<Value, OpError> {
    let content = a
        .get("content")
        .and_then(Value::as_str)
        .ok_or_else(|| OpError::invalid("`content` missing"))?;
    let keypair = Keypair::from_seed(&hex_n(a, "seed", 32)?).ok_or_else(|| OpError::invalid("bad seed"))?;
    let Some(b64) = content.strip_suffix(".box") else {
        return Err(OpError::new("invalid_content", "no .box suffix"));
    };
    if !ssb_validate::utils::is_canonical_base64(content) {
        return Err(OpError::new(
            "invalid_content",
            "ssb-validate: is_canonical_base64 is false",
        ));
    }
    let bytes = base64::decode(b64).map_err(|e| OpError::new("invalid_content", format!("base64: {e}")))?;
    let Some(msg_key) = private_box::decrypt_key(&bytes, &keypair) else {
        return Err(OpError::new(
            "not_recipient",
            "private-box: decrypt_key found no slot",
        ));
    };
    match private_box::decrypt_body(&bytes, &msg_key) {
        Some(p) => Ok(json!({ "plaintext": hex::encode(p) })),
        None => Err(OpError::new("bad_body", "private-box: decrypt_body did not open")),
    }
}
