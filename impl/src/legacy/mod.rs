//! Classic ("legacy") SSB messages: the JSON value model whose exact bytes signatures cover
//! ([`value`], [`parse`], [`stringify`]), and messages built on it (signing encoding, message
//! id, field rules, signatures).

pub mod parse;
pub mod stringify;
pub mod value;

pub use parse::{parse, Mode, ParseError, ParseErrorKind};
pub use stringify::{to_compact_units, to_signing_units};
pub use value::{JsString, Object, Value};

/// The message id hash: sha256 over the low byte of each UTF-16 code unit of the signing
/// encoding (what JavaScript's `Buffer.from(str, 'binary')` gives), not over UTF-8.
pub fn latin1_sha256(units: &[u16]) -> [u8; 32] {
    let bytes: Vec<u8> = units.iter().map(|u| *u as u8).collect();
    crate::crypto::sha256(&bytes)
}

pub mod message;

/// Why a classic message (or a message at a place in a feed) is invalid. `kind()` is the name
/// used by vectors and adapters; `dataset_reason()` the reason string of the
/// ssb-validation-dataset; `js_message()` the start of the error message ssb-validate 4 gives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum MessageError {
    #[error("message is null")]
    Null,
    #[error("message is not an object")]
    NotAnObject,
    #[error("keys are not previous, author/sequence, timestamp, hash, content, signature")]
    InvalidOrder,
    #[error("author is not a string")]
    AuthorNotString,
    #[error("author does not end with .ed25519")]
    AuthorSuffix,
    #[error("author does not start with @")]
    AuthorSigil,
    #[error("author is not canonical base64")]
    AuthorNotCanonical,
    #[error("author is not 32 bytes")]
    AuthorLength,
    #[error("sequence is not an integer")]
    SequenceNotInteger,
    #[error("previous is neither null nor a message id")]
    PreviousNotMsgId,
    #[error("timestamp is not a number")]
    TimestampNotNumber,
    #[error("hash is not \"sha256\"")]
    HashNotSha256,
    #[error("content is null")]
    ContentNull,
    #[error("content is an array")]
    ContentArray,
    #[error("content is neither a string nor an object")]
    ContentNotStringOrObject,
    #[error("content type is not a string")]
    ContentTypeNotString,
    #[error("content type is shorter than 3 UTF-16 units")]
    ContentTypeTooShort,
    #[error("content type is longer than 52 UTF-16 units")]
    ContentTypeTooLong,
    #[error("content string does not contain .box")]
    ContentBoxSuffix,
    #[error("content string before .box is not canonical base64")]
    ContentBoxNotCanonical,
    #[error("signature does not end with .sig.ed25519")]
    SignatureSuffix,
    #[error("signature is not canonical base64")]
    SignatureNotCanonical,
    #[error("signature is not 64 bytes")]
    SignatureLength,
    #[error("message is longer than 8192 UTF-16 units")]
    TooLong,
    #[error("signature does not verify")]
    SignatureInvalid,
    #[error("HMAC key is not a string")]
    HmacKeyNotString,
    #[error("HMAC key is not canonical base64")]
    HmacKeyNotCanonical,
    #[error("HMAC key is not 32 bytes")]
    HmacKeyLength,
    #[error("first message of a feed has a previous")]
    FirstPreviousNotNull,
    #[error("first message of a feed does not have sequence 1")]
    FirstSequenceNotOne,
    #[error("sequence is not one more than the last message's")]
    SequenceMismatch,
    #[error("previous is not the id of the last message")]
    PreviousMismatch,
    #[error("author is not the feed's author")]
    AuthorMismatch,
    #[error("a different valid message already holds this sequence (fork)")]
    Fork,
}

impl MessageError {
    /// The name used in vectors and by adapters.
    pub fn kind(&self) -> &'static str {
        use MessageError::*;
        match self {
            Null => "message_null",
            NotAnObject => "message_not_object",
            InvalidOrder => "invalid_order",
            AuthorNotString => "author_not_string",
            AuthorSuffix => "author_suffix",
            AuthorSigil => "author_sigil",
            AuthorNotCanonical => "author_not_canonical",
            AuthorLength => "author_length",
            SequenceNotInteger => "sequence_not_integer",
            PreviousNotMsgId => "previous_not_msg_id",
            TimestampNotNumber => "timestamp_not_number",
            HashNotSha256 => "hash_not_sha256",
            ContentNull => "content_null",
            ContentArray => "content_array",
            ContentNotStringOrObject => "content_not_string_or_object",
            ContentTypeNotString => "content_type_not_string",
            ContentTypeTooShort => "content_type_too_short",
            ContentTypeTooLong => "content_type_too_long",
            ContentBoxSuffix => "content_box_suffix",
            ContentBoxNotCanonical => "content_box_not_canonical",
            SignatureSuffix => "signature_suffix",
            SignatureNotCanonical => "signature_not_canonical",
            SignatureLength => "signature_length",
            TooLong => "too_long",
            SignatureInvalid => "signature_invalid",
            HmacKeyNotString => "hmac_key_not_string",
            HmacKeyNotCanonical => "hmac_key_not_canonical",
            HmacKeyLength => "hmac_key_length",
            FirstPreviousNotNull => "first_previous_not_null",
            FirstSequenceNotOne => "first_sequence_not_one",
            SequenceMismatch => "sequence_mismatch",
            PreviousMismatch => "previous_mismatch",
            AuthorMismatch => "author_mismatch",
            Fork => "fork",
        }
    }

    /// The reason string the ssb-validation-dataset gives for this fault.
    pub fn dataset_reason(&self) -> &'static str {
        use MessageError::*;
        match self {
            Null => "Message must not be null",
            NotAnObject => "Message must be an object",
            InvalidOrder => "Message must have a valid order",
            AuthorNotString => "Message author must be a string",
            AuthorSuffix | AuthorSigil => "Message author must end with '.ed25519'",
            AuthorNotCanonical | AuthorLength => "Author must decode to a value with 32 bytes",
            SequenceNotInteger => "Message sequence must be a number",
            TimestampNotNumber => "Message timestamp must be a number",
            HashNotSha256 => "Message hash must be 'sha256'",
            ContentNull => "Message content must not be null",
            ContentArray => "Message content must not be an array",
            ContentNotStringOrObject => "Message content must be a string or an object",
            ContentTypeNotString => "Message content type must be a string",
            ContentTypeTooShort => "Message content type length must not be less than 3",
            ContentTypeTooLong => "Message content type length must not be greater than 52",
            ContentBoxSuffix => "Message content string must contain '.box'",
            ContentBoxNotCanonical => "Message content string base64 must be canonical",
            SignatureSuffix => "Message signature must end with '.sig.ed25519'",
            SignatureNotCanonical => "Signature base64 must be canonical",
            SignatureLength => "Signature must decode to a value with 64 bytes",
            TooLong => "Message must decode a value with fewer than 8192 bytes (latin1)",
            SignatureInvalid => "Signature value must verify the unsigned message bytes",
            HmacKeyNotString => "HMAC key must be a string",
            HmacKeyNotCanonical => "HMAC key must be canonical base64",
            HmacKeyLength => "HMAC key must decode to a value with 32 bytes",
            PreviousNotMsgId | FirstPreviousNotNull | PreviousMismatch | Fork => {
                "Message previous must be the previous message ID"
            }
            FirstSequenceNotOne | SequenceMismatch | AuthorMismatch => "Message sequence must be the next",
        }
    }

    /// The adapter-protocol kind (`conformance/ADAPTER.md`, suite feed-legacy): the rule family,
    /// as ssb-validate's error categories draw them.
    pub fn family(&self) -> &'static str {
        use MessageError::*;
        match self {
            Null | NotAnObject | AuthorNotString | AuthorSuffix | AuthorSigil | AuthorNotCanonical
            | AuthorLength => "invalid_author",
            SignatureSuffix | SignatureNotCanonical | SignatureLength => "invalid_signature_format",
            FirstPreviousNotNull => "first_previous_not_null",
            FirstSequenceNotOne => "first_sequence_not_one",
            SequenceMismatch | AuthorMismatch => "sequence_mismatch",
            PreviousMismatch | Fork => "previous_mismatch",
            TimestampNotNumber => "timestamp_not_number",
            InvalidOrder => "invalid_order",
            SequenceNotInteger
            | PreviousNotMsgId
            | HashNotSha256
            | ContentNull
            | ContentArray
            | ContentNotStringOrObject
            | ContentBoxSuffix
            | ContentBoxNotCanonical => "invalid_properties",
            ContentTypeNotString | ContentTypeTooShort | ContentTypeTooLong => "invalid_content_type",
            TooLong => "too_long",
            HmacKeyNotString | HmacKeyNotCanonical | HmacKeyLength => "invalid_hmac_key",
            SignatureInvalid => "invalid_signature",
        }
    }

    /// How ssb-validate 4 (JavaScript) words this fault: the start of its error message.
    pub fn js_message(&self) -> &'static str {
        use MessageError::*;
        match self {
            Null | NotAnObject | AuthorNotString | AuthorSuffix | AuthorSigil | AuthorNotCanonical
            | AuthorLength => "invalid message: must have author",
            SignatureSuffix | SignatureNotCanonical | SignatureLength => {
                "invalid message: signature type must match author type"
            }
            SequenceMismatch | AuthorMismatch => "invalid message: expected sequence",
            PreviousMismatch | Fork => "invalid message: expected different previous message",
            FirstPreviousNotNull => "initial message must have previous: null",
            FirstSequenceNotOne => "initial message must have sequence: 1",
            TimestampNotNumber => "initial message must have timestamp",
            InvalidOrder => "message must have keys in allowed order",
            SequenceNotInteger
            | PreviousNotMsgId
            | HashNotSha256
            | ContentNull
            | ContentArray
            | ContentNotStringOrObject
            | ContentBoxSuffix
            | ContentBoxNotCanonical => "message has invalid properties",
            ContentTypeNotString | ContentTypeTooShort | ContentTypeTooLong => "type must be a string",
            TooLong => "Encoded message must not be larger than 8192 bytes",
            HmacKeyNotString | HmacKeyNotCanonical | HmacKeyLength => "invalid HMAC key",
            SignatureInvalid => "invalid signature",
        }
    }
}
