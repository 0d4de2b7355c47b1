//! Bendy Butt messages (bendy-butt-spec, as implemented by go-metafeed and the JS
//! `ssb-bendy-butt`): decoding, encoding, signing, the message key, and the validation of a
//! feed's messages in order.
//!
//! A message is the bencoded list `[payload, signature]` with
//! `payload = [author, sequence, previous, timestamp, content]`:
//! - `author`: BFE feed id, format bendybutt-v1 (`00 03` ‖ 32-byte ed25519 key);
//! - `sequence`: integer ≥ 1;
//! - `previous`: BFE nil (`06 02`) on sequence 1, else the BFE bendybutt-v1 message id
//!   (`01 04` ‖ 32 bytes) of the message before;
//! - `timestamp`: integer (any sign);
//! - `content`: a byte string (encrypted content, opaque here), a dictionary, or
//!   `[dictionary, content signature]` where the content signature is a BFE signature;
//! - `signature`: BFE signature `04 00` ‖ ed25519 signature of the author key over the encoded
//!   payload.
//!
//! With an HMAC key (a network's `caps.sign`, as for classic messages) the ed25519 signature is
//! over `auth(hmac_key, input)` (HMAC-SHA-512-256) instead of the input itself; this holds for
//! both the message signature and content signatures. The vectors use no HMAC key.
//!
//! A content signature signs `"bendybutt"` ‖ encoded content dictionary, with the key that the
//! content names (for meta feed management, the subfeed); see [`crate::bendybutt::metafeed`].
//!
//! The message key (id) is sha256 of the whole encoded message, as a bendybutt-v1 message id.
//! An encoded message is at most [`MAX_MESSAGE_SIZE`] bytes.

use super::bencode::{self, BencodeError, Dict, Value};
use super::bfe::{self, FeedFormat, FeedRef, MsgFormat, MsgRef, RefError};
use crate::crypto;
use crate::identity::Keypair;

/// The largest encoded message, in bytes.
pub const MAX_MESSAGE_SIZE: usize = 8192;

/// What a content signature signs before the encoded content dictionary.
pub const CONTENT_SIGNATURE_PREFIX: &[u8] = b"bendybutt";

/// A message's content.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Content {
    /// A byte string: encrypted content (a BFE `encrypted` value by the spec), kept opaque.
    Encrypted(Vec<u8>),
    /// A dictionary without a content signature.
    Dict(Dict),
    /// `[dictionary, content signature]`: the dictionary signed by a second key.
    Signed { dict: Dict, signature: [u8; 64] },
}

impl Content {
    /// The dictionary, for plain and signed content.
    pub fn dict(&self) -> Option<&Dict> {
        match self {
            Content::Encrypted(_) => None,
            Content::Dict(d) | Content::Signed { dict: d, .. } => Some(d),
        }
    }

    /// The bencode value as it appears in the payload.
    pub fn to_value(&self) -> Value {
        match self {
            Content::Encrypted(b) => Value::Bytes(b.clone()),
            Content::Dict(d) => Value::Dict(d.clone()),
            Content::Signed { dict, signature } => Value::List(vec![
                Value::Dict(dict.clone()),
                Value::Bytes(bfe::encode_signature(signature)),
            ]),
        }
    }

    /// The encrypted content decoded as a BFE `encrypted` value (box1/box2), if it is one.
    pub fn encrypted_bfe(&self) -> Option<(bfe::EncryptedFormat, &[u8])> {
        match self {
            Content::Encrypted(b) => match b.as_slice() {
                [bfe::TYPE_ENCRYPTED, f, data @ ..] => Some((bfe::EncryptedFormat::from_code(*f)?, data)),
                _ => None,
            },
            _ => None,
        }
    }
}

/// The signed part of a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Payload {
    pub author: FeedRef,
    pub sequence: u64,
    pub previous: Option<MsgRef>,
    pub timestamp: i64,
    pub content: Content,
}

/// A decoded message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    pub payload: Payload,
    pub signature: [u8; 64],
}

/// A field of a message, for error messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    Author,
    Sequence,
    Previous,
    Timestamp,
    Content,
    ContentSignature,
    Signature,
}

impl std::fmt::Display for Field {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Field::Author => "author",
            Field::Sequence => "sequence",
            Field::Previous => "previous",
            Field::Timestamp => "timestamp",
            Field::Content => "content",
            Field::ContentSignature => "content signature",
            Field::Signature => "signature",
        })
    }
}

/// Why bytes are not a valid Bendy Butt message, or why a message cannot be signed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MessageError {
    #[error("message is {len} bytes, more than the limit of {max}")]
    TooLong { len: usize, max: usize },
    #[error("message is not canonical bencode: {0}")]
    Bencode(#[from] BencodeError),
    #[error("message must be a list [payload, signature], got {got}")]
    NotMessageList { got: String },
    #[error("payload must be a list [author, sequence, previous, timestamp, content], got {got}")]
    NotPayloadList { got: String },
    #[error("{field} must be a {expected}, got a {found}")]
    WrongKind {
        field: Field,
        expected: &'static str,
        found: &'static str,
    },
    #[error("author: {0}")]
    Author(RefError),
    #[error("sequence must be at least 1, got {got}")]
    SequenceNotPositive { got: i64 },
    #[error("sequence {got} does not fit a bencode integer")]
    SequenceTooLarge { got: u64 },
    #[error("previous must be nil (06 02) on sequence 1, got {len} bytes 0x{hex}")]
    FirstPreviousNotNil { len: usize, hex: String },
    #[error("previous is nil on sequence {sequence}; only sequence 1 has no previous")]
    PreviousMissing { sequence: u64 },
    #[error("previous: {0}")]
    Previous(RefError),
    #[error("content must be a byte string, a dictionary or [dictionary, signature], got {got}")]
    ContentShape { got: String },
    #[error("content signature: {0}")]
    ContentSignature(RefError),
    #[error("signature: {0}")]
    Signature(RefError),
    #[error("signature does not verify with the author key")]
    SignatureInvalid,
    #[error("signing key {key} is not the author {author}")]
    KeyNotAuthor { key: String, author: String },
}

fn describe(v: &Value) -> String {
    match v {
        Value::List(l) => format!("a list of {} items", l.len()),
        other => format!("a {}", other.kind()),
    }
}

fn bytes_field(v: &Value, field: Field) -> Result<&[u8], MessageError> {
    v.as_bytes().ok_or(MessageError::WrongKind {
        field,
        expected: "byte string",
        found: v.kind(),
    })
}

fn int_field(v: &Value, field: Field) -> Result<i64, MessageError> {
    v.as_int().ok_or(MessageError::WrongKind {
        field,
        expected: "integer",
        found: v.kind(),
    })
}

/// What an ed25519 signature covers: `input`, or `auth(hmac_key, input)` with an HMAC key.
fn signing_input(input: Vec<u8>, hmac_key: Option<&[u8; 32]>) -> Vec<u8> {
    match hmac_key {
        Some(k) => crypto::auth(k, &input).to_vec(),
        None => input,
    }
}

impl Payload {
    /// Checks the rules a payload obeys whatever its bytes: bendybutt-v1 author, sequence ≥ 1
    /// and representable, previous nil exactly on sequence 1 and a bendybutt-v1 id otherwise.
    pub fn check(&self) -> Result<(), MessageError> {
        check_author(&self.author)?;
        if self.sequence == 0 {
            return Err(MessageError::SequenceNotPositive { got: 0 });
        }
        if i64::try_from(self.sequence).is_err() {
            return Err(MessageError::SequenceTooLarge { got: self.sequence });
        }
        match (&self.previous, self.sequence) {
            (Some(p), 1) => {
                let b = p.to_bfe();
                Err(MessageError::FirstPreviousNotNil {
                    len: b.len(),
                    hex: hex::encode(b),
                })
            }
            (None, 1) => Ok(()),
            (None, sequence) => Err(MessageError::PreviousMissing { sequence }),
            (Some(p), _) => check_previous_format(p),
        }
    }

    /// The payload as a bencode list.
    pub fn to_value(&self) -> Value {
        let previous = match &self.previous {
            Some(p) => p.to_bfe(),
            None => bfe::NIL.to_vec(),
        };
        Value::List(vec![
            Value::Bytes(self.author.to_bfe()),
            Value::Int(i64::try_from(self.sequence).unwrap_or(i64::MAX)),
            Value::Bytes(previous),
            Value::Int(self.timestamp),
            self.content.to_value(),
        ])
    }

    /// The encoded payload: what the message signature signs (without an HMAC key).
    pub fn encode(&self) -> Vec<u8> {
        bencode::encode(&self.to_value())
    }

    /// Signs the payload with the author's keypair (and the network HMAC key, if any). Refuses
    /// a payload that breaks [`Payload::check`], a keypair that is not the author, and a
    /// message that would exceed [`MAX_MESSAGE_SIZE`].
    pub fn sign(self, keypair: &Keypair, hmac_key: Option<&[u8; 32]>) -> Result<Message, MessageError> {
        self.check()?;
        if keypair.public() != &self.author.key {
            return Err(MessageError::KeyNotAuthor {
                key: FeedRef::bendybutt(*keypair.public()).to_uri(),
                author: self.author.to_uri(),
            });
        }
        let signature = crypto::ed25519_sign(keypair.seed(), &signing_input(self.encode(), hmac_key));
        let msg = Message {
            payload: self,
            signature,
        };
        let len = bencode::encoded_len(&msg.to_value());
        if len > MAX_MESSAGE_SIZE {
            return Err(MessageError::TooLong {
                len,
                max: MAX_MESSAGE_SIZE,
            });
        }
        Ok(msg)
    }
}

fn check_author(author: &FeedRef) -> Result<(), MessageError> {
    if author.format != FeedFormat::BendyButtV1 {
        return Err(MessageError::Author(RefError::WrongFormat {
            expected: FeedFormat::BendyButtV1.name(),
            got: author.format.name(),
        }));
    }
    Ok(())
}

fn check_previous_format(previous: &MsgRef) -> Result<(), MessageError> {
    if previous.format() != MsgFormat::BendyButtV1 {
        return Err(MessageError::Previous(RefError::WrongFormat {
            expected: MsgFormat::BendyButtV1.name(),
            got: previous.format().name(),
        }));
    }
    Ok(())
}

impl Payload {
    /// Decodes an encoded payload on its own (the bytes the message signature signs), with the
    /// checks of [`Message::decode`] that concern the payload.
    pub fn decode(bytes: &[u8]) -> Result<Payload, MessageError> {
        if bytes.len() > MAX_MESSAGE_SIZE {
            return Err(MessageError::TooLong {
                len: bytes.len(),
                max: MAX_MESSAGE_SIZE,
            });
        }
        Payload::from_value(&bencode::decode(bytes)?)
    }

    /// The payload of a decoded bencode value `[author, sequence, previous, timestamp, content]`.
    pub fn from_value(value: &Value) -> Result<Payload, MessageError> {
        let [author, sequence, previous, timestamp, content] = value.as_list().unwrap_or_default() else {
            return Err(MessageError::NotPayloadList { got: describe(value) });
        };

        let author = FeedRef::from_bfe(bytes_field(author, Field::Author)?).map_err(MessageError::Author)?;
        check_author(&author)?;

        let sequence = int_field(sequence, Field::Sequence)?;
        let sequence = u64::try_from(sequence)
            .ok()
            .filter(|s| *s >= 1)
            .ok_or(MessageError::SequenceNotPositive { got: sequence })?;

        let previous_bytes = bytes_field(previous, Field::Previous)?;
        let previous = if sequence == 1 {
            if previous_bytes != bfe::NIL {
                return Err(MessageError::FirstPreviousNotNil {
                    len: previous_bytes.len(),
                    hex: hex::encode(previous_bytes),
                });
            }
            None
        } else {
            let p = bfe::decode_msg_or_nil(previous_bytes)
                .map_err(MessageError::Previous)?
                .ok_or(MessageError::PreviousMissing { sequence })?;
            check_previous_format(&p)?;
            Some(p)
        };

        let timestamp = int_field(timestamp, Field::Timestamp)?;
        let content = decode_content(content)?;
        Ok(Payload {
            author,
            sequence,
            previous,
            timestamp,
            content,
        })
    }
}

impl Message {
    /// Decodes and checks the structure of a message: size, canonical bencode, shape, every
    /// BFE field and the previous/sequence rule of [`Payload::check`]. No signature is checked;
    /// see [`Message::verify`].
    pub fn decode(bytes: &[u8]) -> Result<Message, MessageError> {
        if bytes.len() > MAX_MESSAGE_SIZE {
            return Err(MessageError::TooLong {
                len: bytes.len(),
                max: MAX_MESSAGE_SIZE,
            });
        }
        let value = bencode::decode(bytes)?;
        let [payload, signature] = value.as_list().unwrap_or_default() else {
            return Err(MessageError::NotMessageList {
                got: describe(&value),
            });
        };
        let payload = Payload::from_value(payload)?;
        let signature = bfe::decode_signature(bytes_field(signature, Field::Signature)?)
            .map_err(MessageError::Signature)?;
        Ok(Message { payload, signature })
    }

    /// [`Message::decode`] followed by [`Message::verify`].
    pub fn decode_verified(bytes: &[u8], hmac_key: Option<&[u8; 32]>) -> Result<Message, MessageError> {
        let msg = Message::decode(bytes)?;
        msg.verify(hmac_key)?;
        Ok(msg)
    }

    /// Checks the message signature with the author's key.
    pub fn verify(&self, hmac_key: Option<&[u8; 32]>) -> Result<(), MessageError> {
        let input = signing_input(self.payload.encode(), hmac_key);
        if crypto::ed25519_verify(&self.payload.author.key, &input, &self.signature) {
            Ok(())
        } else {
            Err(MessageError::SignatureInvalid)
        }
    }

    /// The message as a bencode list `[payload, signature]`.
    pub fn to_value(&self) -> Value {
        Value::List(vec![
            self.payload.to_value(),
            Value::Bytes(bfe::encode_signature(&self.signature)),
        ])
    }

    /// The encoded message; for a decoded message, exactly the bytes it was decoded from.
    pub fn encode(&self) -> Vec<u8> {
        bencode::encode(&self.to_value())
    }

    /// The message key: sha256 of the encoded message, as a bendybutt-v1 message id.
    pub fn key(&self) -> MsgRef {
        message_key(&self.encode())
    }

    pub fn author(&self) -> &FeedRef {
        &self.payload.author
    }

    pub fn sequence(&self) -> u64 {
        self.payload.sequence
    }

    pub fn previous(&self) -> Option<&MsgRef> {
        self.payload.previous.as_ref()
    }

    pub fn content(&self) -> &Content {
        &self.payload.content
    }
}

/// The key of an encoded message: sha256 of its bytes, as a bendybutt-v1 message id.
pub fn message_key(encoded: &[u8]) -> MsgRef {
    MsgRef::bendybutt(crypto::sha256(encoded))
}

fn decode_content(v: &Value) -> Result<Content, MessageError> {
    match v {
        Value::Bytes(b) => Ok(Content::Encrypted(b.clone())),
        Value::Dict(d) => Ok(Content::Dict(d.clone())),
        Value::List(items) => match items.as_slice() {
            [Value::Dict(dict), sig] => {
                let sig = bytes_field(sig, Field::ContentSignature)?;
                let signature = bfe::decode_signature(sig).map_err(MessageError::ContentSignature)?;
                Ok(Content::Signed {
                    dict: dict.clone(),
                    signature,
                })
            }
            _ => Err(MessageError::ContentShape { got: describe(v) }),
        },
        Value::Int(_) => Err(MessageError::ContentShape { got: describe(v) }),
    }
}

/// Signs a content dictionary with `keypair` (for meta feed management: the subfeed's key):
/// ed25519 over `"bendybutt"` ‖ encoded dictionary (through the HMAC key, if any).
pub fn sign_content(dict: Dict, keypair: &Keypair, hmac_key: Option<&[u8; 32]>) -> Content {
    let input = content_signing_input(&dict, hmac_key);
    let signature = crypto::ed25519_sign(keypair.seed(), &input);
    Content::Signed { dict, signature }
}

/// Checks a content signature made by the ed25519 key `key` (see [`sign_content`]).
pub fn verify_content_signature(
    dict: &Dict,
    signature: &[u8; 64],
    key: &[u8; 32],
    hmac_key: Option<&[u8; 32]>,
) -> bool {
    crypto::ed25519_verify(key, &content_signing_input(dict, hmac_key), signature)
}

fn content_signing_input(dict: &Dict, hmac_key: Option<&[u8; 32]>) -> Vec<u8> {
    let mut input = CONTENT_SIGNATURE_PREFIX.to_vec();
    bencode::encode_into(&Value::Dict(dict.clone()), &mut input);
    signing_input(input, hmac_key)
}

/// Where a feed stands: its author, the last sequence and the last message key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeedState {
    pub author: FeedRef,
    pub sequence: u64,
    pub last_key: MsgRef,
}

/// Why a message cannot be appended to a feed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FeedError {
    #[error(transparent)]
    Message(#[from] MessageError),
    #[error("the first message of a feed must have sequence 1, got {got}")]
    FirstSequence { got: u64 },
    #[error("author {got} is not the feed's author {expected}")]
    AuthorMismatch { expected: FeedRef, got: FeedRef },
    #[error("sequence must be {expected} (last + 1), got {got}")]
    WrongSequence { expected: u64, got: u64 },
    #[error("previous must be {expected} (the last message's key), got {got}")]
    WrongPrevious { expected: MsgRef, got: MsgRef },
}

/// A message that passed every check, with its key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    pub message: Message,
    pub key: MsgRef,
}

/// Validates one Bendy Butt feed, message by message, in order: each message must decode
/// ([`Message::decode`]), come from the feed's author, have the next sequence, name the last
/// message's key as `previous`, and carry a valid signature. A new feed starts at sequence 1
/// (previous nil); [`FeedValidator::resume`] continues from a known state.
#[derive(Debug, Clone, Default)]
pub struct FeedValidator {
    hmac_key: Option<[u8; 32]>,
    state: Option<FeedState>,
}

impl FeedValidator {
    /// A validator for a new feed; `hmac_key` is the network's signing HMAC key, if any.
    pub fn new(hmac_key: Option<[u8; 32]>) -> FeedValidator {
        FeedValidator {
            hmac_key,
            state: None,
        }
    }

    /// A validator that continues a feed from `state`.
    pub fn resume(state: FeedState, hmac_key: Option<[u8; 32]>) -> FeedValidator {
        FeedValidator {
            hmac_key,
            state: Some(state),
        }
    }

    pub fn state(&self) -> Option<&FeedState> {
        self.state.as_ref()
    }

    pub fn hmac_key(&self) -> Option<&[u8; 32]> {
        self.hmac_key.as_ref()
    }

    /// Checks `bytes` as the next message without changing the state.
    pub fn check(&self, bytes: &[u8]) -> Result<Verified, FeedError> {
        let message = Message::decode(bytes)?;
        let p = &message.payload;
        match &self.state {
            None => {
                if p.sequence != 1 {
                    return Err(FeedError::FirstSequence { got: p.sequence });
                }
            }
            Some(s) => {
                if p.author != s.author {
                    return Err(FeedError::AuthorMismatch {
                        expected: s.author,
                        got: p.author,
                    });
                }
                let expected = s.sequence.saturating_add(1);
                if p.sequence != expected {
                    return Err(FeedError::WrongSequence {
                        expected,
                        got: p.sequence,
                    });
                }
                // Message::decode guarantees a previous on every sequence after 1.
                if let Some(prev) = &p.previous {
                    if *prev != s.last_key {
                        return Err(FeedError::WrongPrevious {
                            expected: s.last_key.clone(),
                            got: prev.clone(),
                        });
                    }
                }
            }
        }
        message.verify(self.hmac_key.as_ref())?;
        Ok(Verified {
            key: message_key(bytes),
            message,
        })
    }

    /// Makes a message returned by [`FeedValidator::check`] on this validator the feed's last.
    pub fn accept(&mut self, verified: &Verified) {
        self.state = Some(FeedState {
            author: verified.message.payload.author,
            sequence: verified.message.payload.sequence,
            last_key: verified.key.clone(),
        });
    }

    /// [`FeedValidator::check`], then [`FeedValidator::accept`].
    pub fn append(&mut self, bytes: &[u8]) -> Result<Verified, FeedError> {
        let v = self.check(bytes)?;
        self.accept(&v);
        Ok(v)
    }
}

impl MessageError {
    /// The adapter-protocol kind (suite feed-bendybutt): one per rule family.
    pub fn kind(&self) -> &'static str {
        match self {
            MessageError::TooLong { .. } => "too_long",
            MessageError::Bencode(_) => "invalid_bencode",
            MessageError::NotMessageList { .. }
            | MessageError::NotPayloadList { .. }
            | MessageError::WrongKind { .. }
            | MessageError::ContentShape { .. } => "invalid_shape",
            MessageError::Author(_) => "invalid_author",
            MessageError::SequenceNotPositive { .. } | MessageError::SequenceTooLarge { .. } => {
                "invalid_sequence"
            }
            MessageError::FirstPreviousNotNil { .. }
            | MessageError::PreviousMissing { .. }
            | MessageError::Previous(_) => "invalid_previous",
            MessageError::ContentSignature(_) | MessageError::Signature(_) => "invalid_signature_format",
            MessageError::SignatureInvalid => "invalid_signature",
            MessageError::KeyNotAuthor { .. } => "invalid_args",
        }
    }
}

impl FeedError {
    /// The adapter-protocol kind (suite feed-bendybutt).
    pub fn kind(&self) -> &'static str {
        match self {
            FeedError::Message(m) => m.kind(),
            FeedError::FirstSequence { .. } => "first_sequence_not_one",
            FeedError::AuthorMismatch { .. } => "author_mismatch",
            FeedError::WrongSequence { .. } => "sequence_mismatch",
            FeedError::WrongPrevious { .. } => "previous_mismatch",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kp(n: u8) -> Keypair {
        Keypair::from_seed([n; 32])
    }

    fn dict(pairs: &[(&str, &[u8])]) -> Dict {
        pairs
            .iter()
            .map(|(k, v)| (k.as_bytes().to_vec(), Value::bytes(*v)))
            .collect()
    }

    fn sign(k: &Keypair, seq: u64, prev: Option<MsgRef>, content: Content) -> Message {
        Payload {
            author: FeedRef::bendybutt(*k.public()),
            sequence: seq,
            previous: prev,
            timestamp: 1_000 + seq as i64,
            content,
        }
        .sign(k, None)
        .unwrap()
    }

    #[test]
    fn sign_decode_verify_round_trip() {
        let k = kp(1);
        let m = sign(&k, 1, None, Content::Dict(dict(&[("type", b"\x06\x00test")])));
        let bytes = m.encode();
        let d = Message::decode(&bytes).unwrap();
        assert_eq!(d, m);
        assert_eq!(d.encode(), bytes);
        d.verify(None).unwrap();
        assert_eq!(d.key(), message_key(&bytes));
        // Another HMAC key makes the signature invalid.
        assert_eq!(d.verify(Some(&[9; 32])), Err(MessageError::SignatureInvalid));
        let h = Payload {
            content: Content::Encrypted(vec![5, 1, 1, 2, 3]),
            ..m.payload.clone()
        }
        .sign(&k, Some(&[9; 32]))
        .unwrap();
        h.verify(Some(&[9; 32])).unwrap();
        assert_eq!(h.verify(None), Err(MessageError::SignatureInvalid));
        assert_eq!(
            h.content().encrypted_bfe(),
            Some((bfe::EncryptedFormat::Box2, &[1u8, 2, 3][..]))
        );
    }

    #[test]
    fn content_signature() {
        let sub = kp(2);
        let d = dict(&[("type", b"\x06\x00x")]);
        let Content::Signed { dict, signature } = sign_content(d, &sub, None) else {
            panic!("signed")
        };
        assert!(verify_content_signature(&dict, &signature, sub.public(), None));
        assert!(!verify_content_signature(&dict, &signature, kp(3).public(), None));
        assert!(!verify_content_signature(
            &dict,
            &signature,
            sub.public(),
            Some(&[1; 32])
        ));
        let mut input = b"bendybutt".to_vec();
        input.extend(bencode::encode(&Value::Dict(dict.clone())));
        assert!(crypto::ed25519_verify(sub.public(), &input, &signature));
    }

    #[test]
    fn sign_refuses_bad_payloads() {
        let k = kp(1);
        let base = Payload {
            author: FeedRef::bendybutt(*k.public()),
            sequence: 1,
            previous: None,
            timestamp: 0,
            content: Content::Encrypted(vec![]),
        };
        let other = Payload {
            author: FeedRef::bendybutt(*kp(2).public()),
            ..base.clone()
        };
        assert!(matches!(
            other.sign(&k, None),
            Err(MessageError::KeyNotAuthor { .. })
        ));
        let classic = Payload {
            author: FeedRef::classic(*k.public()),
            ..base.clone()
        };
        assert!(matches!(
            classic.sign(&k, None),
            Err(MessageError::Author(RefError::WrongFormat { .. }))
        ));
        let no_prev = Payload {
            sequence: 2,
            ..base.clone()
        };
        assert_eq!(
            no_prev.sign(&k, None),
            Err(MessageError::PreviousMissing { sequence: 2 })
        );
        let prev_on_first = Payload {
            previous: Some(MsgRef::bendybutt([0; 32])),
            ..base.clone()
        };
        assert!(matches!(
            prev_on_first.sign(&k, None),
            Err(MessageError::FirstPreviousNotNil { len: 34, .. })
        ));
        let classic_prev = Payload {
            sequence: 2,
            previous: Some(MsgRef::new(MsgFormat::Classic, &[0; 32]).unwrap()),
            ..base.clone()
        };
        assert!(matches!(
            classic_prev.sign(&k, None),
            Err(MessageError::Previous(RefError::WrongFormat { .. }))
        ));
        let zero = Payload {
            sequence: 0,
            ..base.clone()
        };
        assert_eq!(
            zero.sign(&k, None),
            Err(MessageError::SequenceNotPositive { got: 0 })
        );
        let huge = Payload {
            sequence: u64::MAX,
            previous: Some(MsgRef::bendybutt([0; 32])),
            ..base.clone()
        };
        assert!(matches!(
            huge.sign(&k, None),
            Err(MessageError::SequenceTooLarge { .. })
        ));
    }

    #[test]
    fn size_limit_boundary() {
        let k = kp(4);
        // Find the content length that makes the message exactly MAX_MESSAGE_SIZE bytes.
        let with_len = |n: usize| Payload {
            author: FeedRef::bendybutt(*k.public()),
            sequence: 1,
            previous: None,
            timestamp: 0,
            content: Content::Encrypted(vec![0x41; n]),
        };
        let probe = with_len(8000).sign(&k, None).unwrap().encode().len();
        let n = 8000 + (MAX_MESSAGE_SIZE - probe);
        let max = with_len(n).sign(&k, None).unwrap();
        let bytes = max.encode();
        assert_eq!(bytes.len(), MAX_MESSAGE_SIZE);
        assert!(Message::decode_verified(&bytes, None).is_ok());
        assert_eq!(
            with_len(n + 1).sign(&k, None),
            Err(MessageError::TooLong {
                len: MAX_MESSAGE_SIZE + 1,
                max: MAX_MESSAGE_SIZE
            })
        );
        let mut long = bytes.clone();
        long.push(b'e');
        assert_eq!(
            Message::decode(&long),
            Err(MessageError::TooLong {
                len: MAX_MESSAGE_SIZE + 1,
                max: MAX_MESSAGE_SIZE
            })
        );
    }

    #[test]
    fn structural_errors() {
        let k = kp(5);
        let good = sign(&k, 1, None, Content::Dict(Dict::new()));
        let mut v = good.to_value();
        let decode = |v: &Value| Message::decode(&bencode::encode(v));
        assert!(matches!(
            decode(&Value::List(vec![])),
            Err(MessageError::NotMessageList { .. })
        ));
        assert!(matches!(
            decode(&Value::Int(1)),
            Err(MessageError::NotMessageList { .. })
        ));
        let Value::List(top) = &mut v else { panic!() };
        let Value::List(payload) = &mut top[0] else {
            panic!()
        };
        payload[1] = Value::bytes("1");
        assert_eq!(
            decode(&v),
            Err(MessageError::WrongKind {
                field: Field::Sequence,
                expected: "integer",
                found: "byte string"
            })
        );
        let Value::List(top) = &mut v else { panic!() };
        let Value::List(payload) = &mut top[0] else {
            panic!()
        };
        payload[1] = Value::Int(-1);
        assert_eq!(decode(&v), Err(MessageError::SequenceNotPositive { got: -1 }));
        let Value::List(top) = &mut v else { panic!() };
        let Value::List(payload) = &mut top[0] else {
            panic!()
        };
        payload[1] = Value::Int(1);
        payload[4] = Value::Int(3);
        assert!(matches!(decode(&v), Err(MessageError::ContentShape { .. })));
        let Value::List(top) = &mut v else { panic!() };
        let Value::List(payload) = &mut top[0] else {
            panic!()
        };
        payload[4] = Value::List(vec![Value::Dict(Dict::new()), Value::bytes(vec![4, 0, 1])]);
        assert!(matches!(
            decode(&v),
            Err(MessageError::ContentSignature(RefError::Bfe(
                bfe::BfeError::BadLength { .. }
            )))
        ));
        let Value::List(top) = &mut v else { panic!() };
        let Value::List(payload) = &mut top[0] else {
            panic!()
        };
        payload.pop();
        assert!(matches!(decode(&v), Err(MessageError::NotPayloadList { .. })));
        // Non-canonical bytes are refused before anything else.
        let mut bytes = good.encode();
        let pos = bytes.windows(3).position(|w| w == b"i1e").unwrap();
        bytes.splice(pos..pos + 3, *b"i01e");
        assert!(matches!(
            Message::decode(&bytes),
            Err(MessageError::Bencode(BencodeError::IntegerLeadingZero { .. }))
        ));
    }

    #[test]
    fn feed_validator_chain() {
        let k = kp(6);
        let m1 = sign(&k, 1, None, Content::Encrypted(vec![1]));
        let m2 = sign(&k, 2, Some(m1.key()), Content::Encrypted(vec![2]));
        let m3 = sign(&k, 3, Some(m2.key()), Content::Encrypted(vec![3]));
        let mut v = FeedValidator::new(None);
        assert_eq!(v.check(&m2.encode()), Err(FeedError::FirstSequence { got: 2 }));
        let r1 = v.append(&m1.encode()).unwrap();
        assert_eq!(r1.key, m1.key());
        assert_eq!(
            v.check(&m3.encode()),
            Err(FeedError::WrongSequence { expected: 2, got: 3 })
        );
        let forged = sign(
            &k,
            2,
            Some(MsgRef::bendybutt([0; 32])),
            Content::Encrypted(vec![]),
        );
        assert!(matches!(
            v.check(&forged.encode()),
            Err(FeedError::WrongPrevious { .. })
        ));
        let stranger = sign(&kp(7), 2, Some(m1.key()), Content::Encrypted(vec![]));
        assert!(matches!(
            v.check(&stranger.encode()),
            Err(FeedError::AuthorMismatch { .. })
        ));
        let mut bad_sig = m2.clone();
        bad_sig.signature[10] ^= 1;
        assert_eq!(
            v.check(&bad_sig.encode()),
            Err(FeedError::Message(MessageError::SignatureInvalid))
        );
        // A failed check leaves the state unchanged.
        assert_eq!(v.state().unwrap().sequence, 1);
        v.append(&m2.encode()).unwrap();
        v.append(&m3.encode()).unwrap();
        let s = v.state().unwrap().clone();
        assert_eq!((s.sequence, s.last_key.clone()), (3, m3.key()));
        let m4 = sign(&k, 4, Some(m3.key()), Content::Encrypted(vec![4]));
        let mut resumed = FeedValidator::resume(s, None);
        resumed.append(&m4.encode()).unwrap();
    }
}
