//! Classic (legacy) feed messages through kuska-ssb's `feed` module: `stringify_json` and
//! `ssb_sha256` for the signing encoding and the message id, `Message::from_slice` for
//! checking one message.

use crate::args::{hex_arg, OpError};
use kuska_ssb::crypto::ToSodiumObject;
use kuska_ssb::feed::{ssb_sha256, stringify_json, Error as FeedError, Message};
use serde_json::{json, Value};

pub const STATE_REASON: &str = "kuska-ssb's Message::from_value checks one message alone (field kinds and signature): it keeps no feed state and has no check of sequence or previous against the feed's last message";
pub const HMAC_REASON: &str = "kuska-ssb's Message::from_value verifies the plain ed25519 signature only: it takes no HMAC key (caps.sign) for networks that sign HMACed messages";

/// `legacy.encode`: parse as kuska does (`serde_json::from_slice`, built with
/// `preserve_order` and `arbitrary_precision` by kuska-ssb), then `stringify_json` and
/// `ssb_sha256`. The length is counted on kuska's output, in UTF-16 units.
pub fn encode(a: &Value) -> Result<Value, OpError> {
    let text = hex_arg(a, "json")?;
    let v: Value = serde_json::from_slice(&text)
        .map_err(|e| OpError::new("invalid_json", format!("serde_json (as kuska parses): {e}")))?;
    let signing = stringify_json(&v).map_err(|e| OpError::new("encode_failed", e.to_string()))?;
    let hash = ssb_sha256(&v).map_err(|e| OpError::new("encode_failed", e.to_string()))?;
    Ok(json!({
        "signing": hex::encode(signing.as_bytes()),
        "length": signing.encode_utf16().count(),
        "sha256": hex::encode(hash.as_ref()),
    }))
}

/// `feed.validate` without state or HMAC key: `Message::from_slice`, then `Message::id`.
/// kuska's errors are coarse; `CryptoFormat` comes from parsing either the signature or the
/// author, and kuska's own parser of the signature string tells which.
pub fn validate(a: &Value) -> Result<Value, OpError> {
    if !a.get("state").is_none_or(Value::is_null) {
        return Err(OpError::unsupported(STATE_REASON));
    }
    if !a.get("hmac_key").is_none_or(Value::is_null) {
        return Err(OpError::unsupported(HMAC_REASON));
    }
    let text = hex_arg(a, "message")?;
    match Message::from_slice(&text) {
        Ok(m) => Ok(json!({ "id": m.id().to_string() })),
        Err(e) => Err(map_error(e, &text)),
    }
}

fn map_error(e: FeedError, text: &[u8]) -> OpError {
    let message = format!("kuska: {e} ({e:?})");
    let kind = match e {
        FeedError::Json(_) => "invalid_json",
        FeedError::InvalidSignature => "invalid_signature",
        FeedError::InvalidJson => {
            // kuska's cast! of a field to the kind it expects: the message is not an object,
            // or one of previous, sequence, timestamp, hash, content, signature, author is
            // missing or of another JSON kind.
            let v: Value = serde_json::from_slice(text).unwrap_or(Value::Null);
            match v.as_object() {
                None => "invalid_author",
                Some(o) if !o.get("author").is_some_and(Value::is_string) => "invalid_author",
                Some(o) if !o.get("signature").is_some_and(Value::is_string) => "invalid_signature_format",
                Some(o) if !o.get("timestamp").is_some_and(Value::is_number) => "timestamp_not_number",
                Some(_) => "invalid_properties",
            }
        }
        FeedError::CryptoFormat(_) | FeedError::Base64Decode(_) => {
            let sig = serde_json::from_slice::<Value>(text)
                .ok()
                .and_then(|v| v.get("signature").and_then(Value::as_str).map(str::to_string));
            match sig {
                Some(s) if s.as_str().to_ed25519_signature().is_err() => "invalid_signature_format",
                _ => "invalid_author",
            }
        }
        _ => "validate_failed",
    };
    OpError::new(kind, message)
}
