//! Classic (legacy) feed messages through ssb-legacy-msg-data (parsing, the signing encoding,
//! its length and hash input), ssb-validate (the message rules of a feed's first message) and
//! ssb-verify-signatures (the signature, with or without an HMAC key).

use crate::args::{hex_arg, OpError};
use serde_json::{json, Value as JsonValue};
use ssb_legacy_msg_data::json::{from_slice, to_string};
use ssb_legacy_msg_data::legacy_length;
use ssb_legacy_msg_data::value::Value;
use ssb_multiformats::multihash::Multihash;
use ssb_validate::error::Error as ValidateError;
use ssb_validate::message_value::validate_message_value_hash_chain;
use ssb_validate::utils::multihash_from_bytes;
use ssb_verify_signatures::{verify_message_value, Error as VerifyError};

pub const STATE_REASON: &str = "ssb-validate checks a message against the previous message's full value (validate_message_value_hash_chain(msg, Some(previous_bytes)) compares author, sequence and the hash of those bytes); the op's state holds only the previous id and sequence, from which that value cannot be rebuilt";

fn hash_bytes(h: Multihash) -> [u8; 32] {
    match h {
        Multihash::Message(b) | Multihash::Blob(b) => b,
    }
}

/// `legacy.encode`: `json::from_slice`, then `json::to_string(value, false)` (the signing
/// encoding), `legacy_length`, and ssb-validate's `multihash_from_bytes` of that encoding.
pub fn encode(a: &JsonValue) -> Result<JsonValue, OpError> {
    let text = hex_arg(a, "json")?;
    let v: Value =
        from_slice(&text).map_err(|e| OpError::new("invalid_json", format!("ssb-legacy-msg-data: {e:?}")))?;
    let signing = to_string(&v, false).map_err(|e| OpError::new("encode_failed", format!("{e:?}")))?;
    let hash = hash_bytes(multihash_from_bytes(signing.as_bytes()));
    Ok(json!({
        "signing": hex::encode(signing.as_bytes()),
        "length": legacy_length(&signing),
        "sha256": hex::encode(hash),
    }))
}

/// The caps.sign key as bytes for ssb-verify-signatures, which takes raw bytes (it refuses
/// any length but 32 itself). A value that is not a base64 string cannot be passed at all.
fn hmac_bytes(a: &JsonValue) -> Result<Option<Vec<u8>>, OpError> {
    match a.get("hmac_key") {
        None | Some(JsonValue::Null) => Ok(None),
        Some(JsonValue::String(s)) => base64::decode(s)
            .map(Some)
            .map_err(|e| OpError::new("invalid_hmac_key", format!("not base64: {e}"))),
        Some(other) => Err(OpError::new("invalid_hmac_key", format!("not a string: {other}"))),
    }
}

/// `feed.validate` of a feed's first message: `validate_message_value_hash_chain(msg, None)`,
/// then `verify_message_value(msg, hmac)`; the id is the multihash of the signing encoding.
pub fn validate(a: &JsonValue) -> Result<JsonValue, OpError> {
    if !a.get("state").is_none_or(JsonValue::is_null) {
        return Err(OpError::unsupported(STATE_REASON));
    }
    let hmac = hmac_bytes(a)?;
    let text = hex_arg(a, "message")?;
    validate_message_value_hash_chain(&text, None::<&[u8]>).map_err(|e| validate_error(e, &text))?;
    verify_message_value(&text, hmac.as_deref()).map_err(verify_error)?;
    let v: Value = from_slice(&text).map_err(|e| OpError::new("invalid_json", format!("{e:?}")))?;
    let signing = to_string(&v, false).map_err(|e| OpError::new("encode_failed", format!("{e:?}")))?;
    Ok(json!({ "id": multihash_from_bytes(signing.as_bytes()).to_legacy_string() }))
}

fn validate_error(e: ValidateError, text: &[u8]) -> OpError {
    let message = format!("ssb-validate: {e}");
    let kind = match &e {
        ValidateError::InvalidMessage { source, .. } => match from_slice::<Value>(text) {
            // Not JSON as ssb-legacy-msg-data reads it.
            Err(_) => "invalid_json",
            // JSON, but not the SsbMessageValue struct serde expects. ssb-legacy-msg-data's
            // content check names its fault; a field of the wrong JSON kind comes back as
            // `ExpectedString` / `ExpectedNumber` without its name, so the family is the field
            // whose kind serde could not take; a key missing or unknown is the key set
            // (`deny_unknown_fields`), which is the order rule's family.
            Ok(Value::Object(fields)) => {
                let s = format!("{source:?}");
                let kind_of = |k: &str| fields.get(k);
                if s.contains("content had") || s.contains("content type") {
                    "invalid_content_type"
                } else if s.contains("missing field") || s.contains("unknown field") {
                    "invalid_order"
                } else if !matches!(kind_of("author"), Some(Value::String(_))) {
                    "invalid_author"
                } else if !matches!(kind_of("timestamp"), Some(Value::Float(_))) {
                    "timestamp_not_number"
                } else if !matches!(kind_of("signature"), Some(Value::String(_))) {
                    "invalid_signature_format"
                } else {
                    "invalid_properties"
                }
            }
            Ok(_) => "invalid_author",
        },
        ValidateError::InvalidMessageValueOrder { .. } => "invalid_order",
        ValidateError::InvalidHashFunction { .. } | ValidateError::InvalidBase64 { .. } => {
            "invalid_properties"
        }
        ValidateError::InvalidMessageValueLength { .. } => "too_long",
        ValidateError::FirstMessageDidNotHaveSequenceOfOne { .. } => "first_sequence_not_one",
        ValidateError::FirstMessageDidNotHavePreviousOfNull { .. } => "first_previous_not_null",
        _ => "validate_failed",
    };
    OpError::new(kind, message)
}

fn verify_error(e: VerifyError) -> OpError {
    let kind = match &e {
        VerifyError::InvalidSignature { .. } => "invalid_signature",
        VerifyError::InvalidSignatureBytes
        | VerifyError::InvalidSignatureString { .. }
        | VerifyError::InvalidSignatureStringBase64Encoding { .. } => "invalid_signature_format",
        VerifyError::InvalidKeyBytes
        | VerifyError::InvalidAuthorString { .. }
        | VerifyError::InvalidAuthorStringBase64Encoding { .. } => "invalid_author",
        VerifyError::InvalidHmac => "invalid_hmac_key",
        VerifyError::InvalidSsbMessage { .. } => "invalid_json",
        _ => "invalid_properties",
    };
    OpError::new(kind, format!("ssb-verify-signatures: {e}"))
}
