//! Classic SSB messages: the fields and their order, the signing encoding
//! (`JSON.stringify(msg, null, 2)`), signatures (ed25519 over the UTF-8 of that text, or over its
//! HMAC-SHA-512-256 under the network's `caps.sign` key on HMAC-signed networks), message ids
//! (`%` + base64 sha256 over the low byte of each UTF-16 unit + `.sha256`) and the rules a single
//! message must meet on its own, independent of the feed it belongs to.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;

use super::stringify::to_signing_units;
use super::value::{JsString, Object, Value};
use super::{latin1_sha256, MessageError as E};
use crate::crypto;
use crate::identity::{FeedId, Keypair};

/// Largest signing encoding of a whole message, in UTF-16 code units.
pub const MAX_MESSAGE_UNITS: usize = 8192;

/// A message id: the sha256 of the message's signing encoding (latin-1 view). Ordered by its
/// bytes, like [`crate::FeedId`].
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct MsgId(pub [u8; 32]);

impl Ord for MsgId {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        crate::identity::words(&self.0).cmp(&crate::identity::words(&other.0))
    }
}

impl PartialOrd for MsgId {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl std::fmt::Display for MsgId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "%{}.sha256", STANDARD.encode(self.0))
    }
}

impl std::fmt::Debug for MsgId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "MsgId({self})")
    }
}

impl MsgId {
    /// Parses `%<canonical base64 of 32 bytes>.sha256`.
    pub fn parse(s: &str) -> Option<MsgId> {
        let b64 = s.strip_prefix('%')?.strip_suffix(".sha256")?;
        let bytes = canonical_b64(b64)?;
        Some(MsgId(bytes.try_into().ok()?))
    }
}

/// Decodes base64 that is canonical: standard alphabet, padding present, unused bits zero.
/// The `STANDARD` engine of base64 0.22 already refuses everything else (canonical padding
/// mode, no trailing bits), so no re-encoding check is needed; `tests` pins that.
pub fn canonical_b64(s: &str) -> Option<Vec<u8>> {
    STANDARD.decode(s).ok()
}

/// Decodes base64 the way Node's `Buffer.from(s, 'base64')` does: both alphabets, characters
/// outside them skipped, decoding stops at the first `=`, a final lone character dropped. The JS
/// stack and the ssb-validation-dataset decode keys this way before judging their length.
pub fn lenient_b64(s: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(s.len() * 3 / 4);
    let (mut acc, mut bits) = (0u32, 0u32);
    for c in s.bytes() {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' | b'-' => 62,
            b'/' | b'_' => 63,
            b'=' => break,
            _ => continue,
        };
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
        }
    }
    out
}

/// The id of a message value (with its signature).
pub fn message_id(msg: &Object) -> MsgId {
    MsgId(latin1_sha256(&to_signing_units(&Value::Object(msg.clone()))))
}

/// The bytes an author signs: UTF-8 of the signing encoding of the message without its
/// signature (lone surrogates are escaped by the encoding, so it is always valid UTF-8), passed
/// through `crypto_auth` with `hmac_key` on HMAC-signed networks.
pub fn signed_bytes(unsigned: &Object, hmac_key: Option<&[u8; 32]>) -> Vec<u8> {
    let units = to_signing_units(&Value::Object(unsigned.clone()));
    let text = String::from_utf16_lossy(&units).into_bytes();
    match hmac_key {
        Some(k) => crypto::auth(k, &text).to_vec(),
        None => text,
    }
}

/// Builds and signs a message: `previous, sequence, author, timestamp, hash, content, signature`
/// in the order ssb-validate creates them.
pub fn sign_message(
    keys: &Keypair,
    previous: Option<MsgId>,
    sequence: u32,
    timestamp: f64,
    content: Value,
    hmac_key: Option<&[u8; 32]>,
) -> (Object, MsgId) {
    let mut msg = Object::new();
    msg.insert(
        "previous".into(),
        previous.map_or(Value::Null, |p| Value::string(&p.to_string())),
    );
    msg.insert("sequence".into(), Value::Number(f64::from(sequence)));
    msg.insert("author".into(), Value::string(&keys.id().to_string()));
    msg.insert("timestamp".into(), Value::Number(timestamp));
    msg.insert("hash".into(), Value::string("sha256"));
    msg.insert("content".into(), content);
    let sig = keys.sign(&signed_bytes(&msg, hmac_key));
    msg.insert(
        "signature".into(),
        Value::string(&format!("{}.sig.ed25519", STANDARD.encode(sig))),
    );
    let id = message_id(&msg);
    (msg, id)
}

/// Checks an HMAC key given as a JSON value (`null` = none): a canonical base64 string of 32
/// bytes.
pub fn parse_hmac_key(v: &Value) -> Result<Option<[u8; 32]>, E> {
    match v {
        Value::Null => Ok(None),
        Value::String(s) => {
            let s = s.to_string_lossy();
            let key: [u8; 32] = lenient_b64(&s).try_into().map_err(|_| E::HmacKeyLength)?;
            if canonical_b64(&s).is_none() {
                return Err(E::HmacKeyNotCanonical);
            }
            Ok(Some(key))
        }
        _ => Err(E::HmacKeyNotString),
    }
}

/// What one message says about itself once its fields check out.
#[derive(Debug, Clone)]
pub struct Checked {
    pub id: MsgId,
    pub author: FeedId,
    pub previous: Option<MsgId>,
    pub sequence: f64,
    pub timestamp: f64,
}

fn string_field<'a>(msg: &'a Object, key: &str) -> Option<&'a JsString> {
    msg.get(key).and_then(Value::as_str)
}

/// The key order a signed message must have: previous, author/sequence (either order),
/// timestamp, hash, content, signature, and nothing else.
pub fn has_valid_order(msg: &Object) -> bool {
    let k: Vec<&JsString> = msg.keys().collect();
    k.len() == 7
        && k[0].eq_str("previous")
        && ((k[1].eq_str("author") && k[2].eq_str("sequence"))
            || (k[1].eq_str("sequence") && k[2].eq_str("author")))
        && k[3].eq_str("timestamp")
        && k[4].eq_str("hash")
        && k[5].eq_str("content")
        && k[6].eq_str("signature")
}

/// The signing encoding without its last entry, `signature`: the full encoding cut where
/// `,\n  "signature": ` starts, closed with `\n}`. Strings in the encoding never hold a raw
/// newline, so that text occurs only where the top-level `signature` entry begins.
fn without_signature_units(units: &[u16]) -> Option<Vec<u16>> {
    let marker: Vec<u16> = ",\n  \"signature\": ".encode_utf16().collect();
    let at = units
        .windows(marker.len())
        .rposition(|w| w == marker.as_slice())?;
    let mut out = Vec::with_capacity(at + 2);
    out.extend_from_slice(&units[..at]);
    out.extend("\n}".encode_utf16());
    Some(out)
}

/// JavaScript's `~~n === n`: an integer that survives conversion to int32.
pub fn is_int32(n: f64) -> bool {
    n.fract() == 0.0 && n >= f64::from(i32::MIN) && n <= f64::from(i32::MAX)
}

/// The content rule: an object whose `type` is a string of 3..=52 UTF-16 units, or a string of
/// canonical base64 followed by `.box` and anything (ssb-validate's rule, which admits `.box2`
/// and future box formats; see `vectors/feed-legacy.json` flags `box_suffix_*`).
pub fn check_content(content: &Value) -> Result<(), E> {
    match content {
        Value::Null => Err(E::ContentNull),
        Value::Array(_) => Err(E::ContentArray),
        Value::Object(o) => match o.get("type") {
            Some(Value::String(t)) if t.len() < 3 => Err(E::ContentTypeTooShort),
            Some(Value::String(t)) if t.len() > 52 => Err(E::ContentTypeTooLong),
            Some(Value::String(_)) => Ok(()),
            _ => Err(E::ContentTypeNotString),
        },
        Value::String(s) => {
            let text = s.to_string_lossy();
            let Some(dot) = text.find(".box") else {
                return Err(E::ContentBoxSuffix);
            };
            if text[..dot].is_empty() || canonical_b64(&text[..dot]).is_none() {
                return Err(E::ContentBoxNotCanonical);
            }
            Ok(())
        }
        _ => Err(E::ContentNotStringOrObject),
    }
}

/// A message whose fields check out, with what its signature check needs.
#[derive(Debug, Clone)]
pub struct Prepared {
    pub checked: Checked,
    /// Signing-encoding length in UTF-16 units (≤ 8192 for a valid message).
    pub units: usize,
    /// The signing encoding itself (what a store keeps as the message's text).
    pub encoding: Vec<u16>,
    pub signed: Vec<u8>,
    pub signature: [u8; 64],
    /// A fault reported only once the signature has verified (a non-canonical author encoding:
    /// the dataset judges the signature first, the JS stack refuses such an author outright).
    pub after_signature: Option<E>,
}

impl Prepared {
    /// The ed25519 check, with libsodium's rules.
    pub fn signature_ok(&self) -> bool {
        crypto::ed25519_verify(&self.checked.author.0, &self.signed, &self.signature)
    }

    /// The verdict once the signature's validity is known.
    pub fn verdict(&self, signature_ok: bool) -> Result<(), E> {
        match (signature_ok, self.after_signature) {
            (false, _) => Err(E::SignatureInvalid),
            (true, Some(e)) => Err(e),
            (true, None) => Ok(()),
        }
    }
}

/// Checks every field rule of one message (not its signature, nor its place in a feed). The
/// order of the checks decides which error a message with several faults gets; it follows the
/// ssb-validation-dataset.
pub fn prepare(msg: &Value, hmac_key: Option<&[u8; 32]>) -> Result<Prepared, E> {
    let msg = match msg {
        Value::Null => return Err(E::Null),
        Value::Object(o) => o,
        _ => return Err(E::NotAnObject),
    };
    if !has_valid_order(msg) {
        return Err(E::InvalidOrder);
    }
    let author = match msg.get("author") {
        Some(Value::String(s)) => s.to_string_lossy(),
        _ => return Err(E::AuthorNotString),
    };
    let Some(author_b64) = author.strip_suffix(".ed25519") else {
        return Err(E::AuthorSuffix);
    };
    let author_b64 = author_b64.strip_prefix('@').ok_or(E::AuthorSigil)?;
    let author = FeedId(lenient_b64(author_b64).try_into().map_err(|_| E::AuthorLength)?);
    let after_signature = canonical_b64(author_b64)
        .is_none()
        .then_some(E::AuthorNotCanonical);
    let sequence = match msg.get("sequence") {
        Some(Value::Number(n)) if is_int32(*n) => *n,
        _ => return Err(E::SequenceNotInteger),
    };
    let previous = match msg.get("previous") {
        Some(Value::Null) => None,
        Some(Value::String(s)) => Some(MsgId::parse(&s.to_string_lossy()).ok_or(E::PreviousNotMsgId)?),
        _ => return Err(E::PreviousNotMsgId),
    };
    let timestamp = match msg.get("timestamp") {
        Some(Value::Number(n)) => *n,
        _ => return Err(E::TimestampNotNumber),
    };
    if !string_field(msg, "hash").is_some_and(|h| h.eq_str("sha256")) {
        return Err(E::HashNotSha256);
    }
    check_content(msg.get("content").unwrap_or(&Value::Null))?;
    let sig = match msg.get("signature") {
        Some(Value::String(s)) => s.to_string_lossy(),
        _ => return Err(E::SignatureSuffix),
    };
    let sig_b64 = sig.strip_suffix(".sig.ed25519").ok_or(E::SignatureSuffix)?;
    let sig_bytes = canonical_b64(sig_b64).ok_or(E::SignatureNotCanonical)?;
    let signature: [u8; 64] = sig_bytes.try_into().map_err(|_| E::SignatureLength)?;
    let units = super::stringify::object_signing_units(msg);
    if units.len() > MAX_MESSAGE_UNITS {
        return Err(E::TooLong);
    }
    // One encoding serves both the id and the signed bytes (the order check above put
    // `signature` last).
    let signed = match without_signature_units(&units) {
        Some(unsigned) => {
            let text = String::from_utf16_lossy(&unsigned).into_bytes();
            match hmac_key {
                Some(k) => crypto::auth(k, &text).to_vec(),
                None => text,
            }
        }
        None => signed_bytes(&msg.without("signature"), hmac_key),
    };
    Ok(Prepared {
        checked: Checked {
            id: MsgId(latin1_sha256(&units)),
            author,
            previous,
            sequence,
            timestamp,
        },
        units: units.len(),
        encoding: units,
        signed,
        signature,
        after_signature,
    })
}

/// Checks every rule one message must meet on its own, its signature included.
pub fn check_message(msg: &Value, hmac_key: Option<&[u8; 32]>) -> Result<Checked, E> {
    let p = prepare(msg, hmac_key)?;
    p.verdict(p.signature_ok())?;
    Ok(p.checked)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_b64_refuses_non_canonical_forms() {
        assert_eq!(canonical_b64("aGk="), Some(b"hi".to_vec()));
        assert_eq!(canonical_b64("aGl="), None, "unused bits set");
        assert_eq!(canonical_b64("aGk"), None, "padding missing");
        assert_eq!(canonical_b64("aGk=="), None, "too much padding");
        assert_eq!(canonical_b64("aG k="), None);
    }

    #[test]
    fn the_cut_encoding_equals_the_encoding_of_the_unsigned_message() {
        let keys = Keypair::from_seed([9; 32]);
        let mut content = Object::new();
        content.insert("type".into(), Value::string("post"));
        content.insert(
            "text".into(),
            Value::string("a \"signature\": inside\n,\n  \"signature\": "),
        );
        let (msg, _) = sign_message(&keys, None, 1, 1.0, Value::Object(content), None);
        let full = super::super::stringify::object_signing_units(&msg);
        let cut = without_signature_units(&full).unwrap();
        assert_eq!(cut, to_signing_units(&Value::Object(msg.without("signature"))));
        assert!(check_message(&Value::Object(msg), None).is_ok());
    }
}
