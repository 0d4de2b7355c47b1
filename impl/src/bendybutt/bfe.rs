//! BFE ("binary field encodings", also called TFK: type-format-key), the typed binary values
//! that every field of a Bendy Butt message carries: `[type byte][format byte][data]`, with the
//! types and formats of the `ssb-bfe-spec` registry (`bfe.json`, v0.8.0). Also the conversion
//! of feed and message ids between BFE, the classic sigil strings (`@<base64>.ed25519`,
//! `%<base64>.sha256`, `%<base64>.cloaked`) and `ssb:` URIs
//! (`ssb:feed/<format>/<base64url>`, `ssb:message/<format>/<base64url>`).
//!
//! Decoding checks the type and format codes against the registry and the data length against
//! the format's fixed length where it has one; it never panics.

use base64::alphabet;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig, STANDARD, URL_SAFE};
use base64::engine::DecodePaddingMode;
use base64::Engine;

/// One registry entry: a type code and name with its formats (code, name, fixed data length).
struct TypeEntry {
    code: u8,
    name: &'static str,
    formats: &'static [(u8, &'static str, Option<usize>)],
}

/// The `ssb-bfe-spec` v0.8.0 registry.
const REGISTRY: &[TypeEntry] = &[
    TypeEntry {
        code: 0,
        name: "feed",
        formats: &[
            (0, "classic", Some(32)),
            (1, "gabbygrove-v1", Some(32)),
            (2, "bamboo", Some(32)),
            (3, "bendybutt-v1", Some(32)),
            (4, "buttwoo-v1", Some(32)),
            (5, "indexed-v1", Some(32)),
        ],
    },
    TypeEntry {
        code: 1,
        name: "message",
        formats: &[
            (0, "classic", Some(32)),
            (1, "gabbygrove-v1", Some(32)),
            (2, "cloaked", Some(32)),
            (3, "bamboo", Some(64)),
            (4, "bendybutt-v1", Some(32)),
            (5, "buttwoo-v1", Some(32)),
            (6, "indexed-v1", Some(32)),
        ],
    },
    TypeEntry {
        code: 2,
        name: "blob",
        formats: &[(0, "classic", Some(32))],
    },
    TypeEntry {
        code: 3,
        name: "encryption-key",
        formats: &[(0, "box2-dm-dh", Some(32)), (1, "box2-pobox-dh", Some(32))],
    },
    TypeEntry {
        code: 4,
        name: "signature",
        formats: &[(0, "msg-ed25519", Some(64))],
    },
    TypeEntry {
        code: 5,
        name: "encrypted",
        formats: &[(0, "box1", None), (1, "box2", None)],
    },
    TypeEntry {
        code: 6,
        name: "generic",
        formats: &[
            (0, "string-UTF8", None),
            (1, "boolean", Some(1)),
            (2, "nil", Some(0)),
            (3, "any-bytes", None),
        ],
    },
    TypeEntry {
        code: 7,
        name: "identity",
        formats: &[(0, "po-box", Some(32)), (1, "group", Some(32))],
    },
];

/// The name of a registered type code.
pub fn type_name(code: u8) -> Option<&'static str> {
    REGISTRY.iter().find(|t| t.code == code).map(|t| t.name)
}

/// The name and fixed data length (`None`: any length) of a registered type/format pair.
pub fn format_info(type_code: u8, format_code: u8) -> Option<(&'static str, Option<usize>)> {
    let t = REGISTRY.iter().find(|t| t.code == type_code)?;
    t.formats
        .iter()
        .find(|f| f.0 == format_code)
        .map(|&(_, name, len)| (name, len))
}

/// Every registered `(type code, type name, format code, format name, fixed length)`, in code
/// order; for checking the table against `bfe.json`.
pub fn registry() -> Vec<(u8, &'static str, u8, &'static str, Option<usize>)> {
    REGISTRY
        .iter()
        .flat_map(|t| t.formats.iter().map(|&(c, n, l)| (t.code, t.name, c, n, l)))
        .collect()
}

/// Why bytes are not a valid BFE value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BfeError {
    #[error("BFE value has {len} bytes; a type byte and a format byte are needed")]
    TooShort { len: usize },
    #[error("BFE type 0x{code:02x} is not registered")]
    UnknownType { code: u8 },
    #[error("BFE format 0x{code:02x} is not registered for type {type_name}")]
    UnknownFormat { type_name: &'static str, code: u8 },
    #[error("BFE {type_name}/{format_name} needs {expected} data bytes, got {got}")]
    BadLength {
        type_name: &'static str,
        format_name: &'static str,
        expected: usize,
        got: usize,
    },
    #[error("BFE string is not UTF-8 (valid up to byte {valid_up_to})")]
    BadUtf8 { valid_up_to: usize },
    #[error("BFE boolean byte must be 0x00 or 0x01, got 0x{byte:02x}")]
    BadBoolean { byte: u8 },
}

/// Why a BFE value is not the kind of reference a field needs.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RefError {
    #[error(transparent)]
    Bfe(#[from] BfeError),
    #[error("expected a BFE {expected}, got a {got}")]
    WrongType {
        expected: &'static str,
        got: &'static str,
    },
    #[error("expected BFE format {expected}, got {got}")]
    WrongFormat {
        expected: &'static str,
        got: &'static str,
    },
}

/// Which part of a type-format-key value is wrong.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TfkFault {
    /// The type byte is unregistered or not the type the field needs.
    Type,
    /// The format byte is unregistered or not the format the field needs.
    Format,
    /// The data has the wrong length for the format (or the value has no type/format bytes).
    Length,
    /// The data has the right length but is not a valid value (UTF-8, boolean byte).
    Data,
}

impl BfeError {
    pub fn fault(&self) -> TfkFault {
        match self {
            BfeError::UnknownType { .. } => TfkFault::Type,
            BfeError::UnknownFormat { .. } => TfkFault::Format,
            BfeError::TooShort { .. } | BfeError::BadLength { .. } => TfkFault::Length,
            BfeError::BadUtf8 { .. } | BfeError::BadBoolean { .. } => TfkFault::Data,
        }
    }
}

impl RefError {
    pub fn fault(&self) -> TfkFault {
        match self {
            RefError::Bfe(e) => e.fault(),
            RefError::WrongType { .. } => TfkFault::Type,
            RefError::WrongFormat { .. } => TfkFault::Format,
        }
    }
}

macro_rules! format_enum {
    ($(#[$m:meta])* $name:ident, $type_code:expr, { $($(#[$vm:meta])* $variant:ident = $code:expr),+ $(,)? }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum $name {
            $($(#[$vm])* $variant),+
        }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The format byte.
            pub fn code(self) -> u8 {
                match self {
                    $($name::$variant => $code),+
                }
            }

            /// The format for a format byte, if registered.
            pub fn from_code(code: u8) -> Option<Self> {
                Self::ALL.iter().copied().find(|f| f.code() == code)
            }

            /// The registry name (`bfe.json`'s `format`).
            pub fn name(self) -> &'static str {
                format_info($type_code, self.code()).map(|(n, _)| n).unwrap_or("?")
            }

            /// The format of a registry name.
            pub fn from_name(name: &str) -> Option<Self> {
                Self::ALL.iter().copied().find(|f| f.name() == name)
            }
        }
    };
}

/// The type byte of feed ids.
pub const TYPE_FEED: u8 = 0;
/// The type byte of message ids.
pub const TYPE_MESSAGE: u8 = 1;
/// The type byte of blob ids.
pub const TYPE_BLOB: u8 = 2;
/// The type byte of encryption keys.
pub const TYPE_ENCRYPTION_KEY: u8 = 3;
/// The type byte of signatures.
pub const TYPE_SIGNATURE: u8 = 4;
/// The type byte of encrypted data.
pub const TYPE_ENCRYPTED: u8 = 5;
/// The type byte of generic values (string, boolean, nil, bytes).
pub const TYPE_GENERIC: u8 = 6;
/// The type byte of identities.
pub const TYPE_IDENTITY: u8 = 7;

format_enum!(
    /// Feed formats (type 0x00).
    FeedFormat, TYPE_FEED, {
    Classic = 0,
    GabbyGroveV1 = 1,
    Bamboo = 2,
    BendyButtV1 = 3,
    ButtwooV1 = 4,
    IndexedV1 = 5,
});

format_enum!(
    /// Message id formats (type 0x01).
    MsgFormat, TYPE_MESSAGE, {
    Classic = 0,
    GabbyGroveV1 = 1,
    Cloaked = 2,
    /// 64-byte ids.
    Bamboo = 3,
    BendyButtV1 = 4,
    ButtwooV1 = 5,
    IndexedV1 = 6,
});

format_enum!(
    /// Encryption-key formats (type 0x03).
    EncryptionKeyFormat, TYPE_ENCRYPTION_KEY, {
    Box2DmDh = 0,
    Box2PoboxDh = 1,
});

format_enum!(
    /// Encrypted-data formats (type 0x05).
    EncryptedFormat, TYPE_ENCRYPTED, {
    Box1 = 0,
    Box2 = 1,
});

format_enum!(
    /// Identity formats (type 0x07).
    IdentityFormat, TYPE_IDENTITY, {
    PoBox = 0,
    Group = 1,
});

impl MsgFormat {
    /// The id length of this format.
    pub fn id_len(self) -> usize {
        if self == MsgFormat::Bamboo {
            64
        } else {
            32
        }
    }
}

/// A feed id: a format and a 32-byte ed25519 public key.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FeedRef {
    pub format: FeedFormat,
    pub key: [u8; 32],
}

/// A message id: a format and its hash (64 bytes for bamboo, 32 for every other format).
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct MsgRef {
    format: MsgFormat,
    id: Vec<u8>,
}

/// A decoded BFE value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Bfe {
    Feed(FeedRef),
    Message(MsgRef),
    Blob([u8; 32]),
    EncryptionKey(EncryptionKeyFormat, [u8; 32]),
    Signature([u8; 64]),
    Encrypted(EncryptedFormat, Vec<u8>),
    String(String),
    Bool(bool),
    Nil,
    AnyBytes(Vec<u8>),
    Identity(IdentityFormat, [u8; 32]),
}

/// The BFE encoding of nil: `06 02`.
pub const NIL: [u8; 2] = [TYPE_GENERIC, 2];

impl Bfe {
    /// Decodes a BFE value that spans all of `bytes`.
    pub fn decode(bytes: &[u8]) -> Result<Bfe, BfeError> {
        let (t, f, data) = split(bytes)?;
        Ok(match t {
            TYPE_FEED => Bfe::Feed(FeedRef {
                format: FeedFormat::from_code(f).expect("checked by split"),
                key: arr32(data),
            }),
            TYPE_MESSAGE => Bfe::Message(MsgRef {
                format: MsgFormat::from_code(f).expect("checked by split"),
                id: data.to_vec(),
            }),
            TYPE_BLOB => Bfe::Blob(arr32(data)),
            TYPE_ENCRYPTION_KEY => Bfe::EncryptionKey(
                EncryptionKeyFormat::from_code(f).expect("checked by split"),
                arr32(data),
            ),
            TYPE_SIGNATURE => Bfe::Signature(data.try_into().expect("checked by split")),
            TYPE_ENCRYPTED => Bfe::Encrypted(
                EncryptedFormat::from_code(f).expect("checked by split"),
                data.to_vec(),
            ),
            TYPE_GENERIC => match f {
                0 => Bfe::String(String::from_utf8(data.to_vec()).map_err(|e| BfeError::BadUtf8 {
                    valid_up_to: e.utf8_error().valid_up_to(),
                })?),
                1 => match data[0] {
                    0 => Bfe::Bool(false),
                    1 => Bfe::Bool(true),
                    byte => return Err(BfeError::BadBoolean { byte }),
                },
                2 => Bfe::Nil,
                _ => Bfe::AnyBytes(data.to_vec()),
            },
            _ => Bfe::Identity(
                IdentityFormat::from_code(f).expect("checked by split"),
                arr32(data),
            ),
        })
    }

    /// The type and format bytes.
    pub fn type_format(&self) -> (u8, u8) {
        match self {
            Bfe::Feed(r) => (TYPE_FEED, r.format.code()),
            Bfe::Message(r) => (TYPE_MESSAGE, r.format.code()),
            Bfe::Blob(_) => (TYPE_BLOB, 0),
            Bfe::EncryptionKey(f, _) => (TYPE_ENCRYPTION_KEY, f.code()),
            Bfe::Signature(_) => (TYPE_SIGNATURE, 0),
            Bfe::Encrypted(f, _) => (TYPE_ENCRYPTED, f.code()),
            Bfe::String(_) => (TYPE_GENERIC, 0),
            Bfe::Bool(_) => (TYPE_GENERIC, 1),
            Bfe::Nil => (TYPE_GENERIC, 2),
            Bfe::AnyBytes(_) => (TYPE_GENERIC, 3),
            Bfe::Identity(f, _) => (TYPE_IDENTITY, f.code()),
        }
    }

    /// The encoding: type byte, format byte, data.
    pub fn encode(&self) -> Vec<u8> {
        let (t, f) = self.type_format();
        let data: &[u8] = match self {
            Bfe::Feed(r) => &r.key,
            Bfe::Message(r) => &r.id,
            Bfe::Blob(k) | Bfe::EncryptionKey(_, k) | Bfe::Identity(_, k) => k,
            Bfe::Signature(s) => s,
            Bfe::Encrypted(_, d) | Bfe::AnyBytes(d) => d,
            Bfe::String(s) => s.as_bytes(),
            Bfe::Bool(b) => {
                if *b {
                    &[1]
                } else {
                    &[0]
                }
            }
            Bfe::Nil => &[],
        };
        let mut out = Vec::with_capacity(2 + data.len());
        out.extend_from_slice(&[t, f]);
        out.extend_from_slice(data);
        out
    }

    /// The type name of this value, as in the registry.
    pub fn type_name(&self) -> &'static str {
        type_name(self.type_format().0).unwrap_or("?")
    }
}

fn arr32(data: &[u8]) -> [u8; 32] {
    data.try_into().expect("length checked by split")
}

/// Splits `bytes` into type, format and data, checking codes and the fixed length.
fn split(bytes: &[u8]) -> Result<(u8, u8, &[u8]), BfeError> {
    let [t, f, data @ ..] = bytes else {
        return Err(BfeError::TooShort { len: bytes.len() });
    };
    let type_name = type_name(*t).ok_or(BfeError::UnknownType { code: *t })?;
    let (format_name, len) = format_info(*t, *f).ok_or(BfeError::UnknownFormat { type_name, code: *f })?;
    if let Some(expected) = len {
        if data.len() != expected {
            return Err(BfeError::BadLength {
                type_name,
                format_name,
                expected,
                got: data.len(),
            });
        }
    }
    Ok((*t, *f, data))
}

/// Decodes a BFE value that must have type `expected` (a type byte).
fn decode_typed(bytes: &[u8], expected: u8) -> Result<Bfe, RefError> {
    // A wrong type is reported before the format and length of that type are looked at.
    if let Some(&t) = bytes.first() {
        if t != expected {
            if let Some(got) = type_name(t) {
                return Err(RefError::WrongType {
                    expected: type_name(expected).unwrap_or("?"),
                    got,
                });
            }
        }
    }
    Ok(Bfe::decode(bytes)?)
}

/// Decodes a 64-byte ed25519 signature (`04 00` ‖ signature).
pub fn decode_signature(bytes: &[u8]) -> Result<[u8; 64], RefError> {
    match decode_typed(bytes, TYPE_SIGNATURE)? {
        Bfe::Signature(s) => Ok(s),
        other => Err(wrong_type("signature", &other)),
    }
}

/// Encodes a 64-byte ed25519 signature as BFE (`04 00` ‖ signature).
pub fn encode_signature(sig: &[u8; 64]) -> Vec<u8> {
    Bfe::Signature(*sig).encode()
}

/// Decodes a BFE generic UTF-8 string (`06 00` ‖ text).
pub fn decode_string(bytes: &[u8]) -> Result<String, RefError> {
    match decode_typed(bytes, TYPE_GENERIC)? {
        Bfe::String(s) => Ok(s),
        other => Err(RefError::WrongFormat {
            expected: "string-UTF8",
            got: generic_format_name(&other),
        }),
    }
}

/// Encodes a BFE generic UTF-8 string (`06 00` ‖ text).
pub fn encode_string(s: &str) -> Vec<u8> {
    Bfe::String(s.to_string()).encode()
}

fn wrong_type(expected: &'static str, got: &Bfe) -> RefError {
    RefError::WrongType {
        expected,
        got: got.type_name(),
    }
}

fn generic_format_name(v: &Bfe) -> &'static str {
    let (t, f) = v.type_format();
    format_info(t, f).map(|(n, _)| n).unwrap_or("?")
}

/// Decodes either nil (`06 02`) or a message id: `Ok(None)` for nil.
pub fn decode_msg_or_nil(bytes: &[u8]) -> Result<Option<MsgRef>, RefError> {
    if bytes == NIL {
        return Ok(None);
    }
    MsgRef::from_bfe(bytes).map(Some)
}

/// Why a sigil string or `ssb:` URI is not a feed or message id.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RefParseError {
    #[error("{0:?} is neither a sigil id nor an ssb: URI of the expected kind")]
    UnknownForm(String),
    #[error("{input:?}: format {format:?} is not a registered {kind} format")]
    UnknownFormat {
        input: String,
        kind: &'static str,
        format: String,
    },
    #[error("{input:?}: not canonical base64")]
    BadBase64 { input: String },
    #[error("{input:?}: decodes to {got} bytes, expected {expected}")]
    BadLength {
        input: String,
        expected: usize,
        got: usize,
    },
}

/// Padded or unpadded base64url, as `ssb:` URIs are written either way; other trailing bits
/// are refused.
const URL_SAFE_ANY_PAD: GeneralPurpose = GeneralPurpose::new(
    &alphabet::URL_SAFE,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

fn decode_b64(
    engine: &impl Engine,
    text: &str,
    input: &str,
    expected: usize,
) -> Result<Vec<u8>, RefParseError> {
    let bytes = engine.decode(text).map_err(|_| RefParseError::BadBase64 {
        input: input.to_string(),
    })?;
    if bytes.len() != expected {
        return Err(RefParseError::BadLength {
            input: input.to_string(),
            expected,
            got: bytes.len(),
        });
    }
    Ok(bytes)
}

impl FeedRef {
    pub fn new(format: FeedFormat, key: [u8; 32]) -> FeedRef {
        FeedRef { format, key }
    }

    /// A bendybutt-v1 feed id.
    pub fn bendybutt(key: [u8; 32]) -> FeedRef {
        FeedRef::new(FeedFormat::BendyButtV1, key)
    }

    /// A classic (`@….ed25519`) feed id.
    pub fn classic(key: [u8; 32]) -> FeedRef {
        FeedRef::new(FeedFormat::Classic, key)
    }

    /// Decodes a BFE feed id.
    pub fn from_bfe(bytes: &[u8]) -> Result<FeedRef, RefError> {
        match decode_typed(bytes, TYPE_FEED)? {
            Bfe::Feed(r) => Ok(r),
            other => Err(wrong_type("feed", &other)),
        }
    }

    /// `00 <format>` ‖ key.
    pub fn to_bfe(&self) -> Vec<u8> {
        Bfe::Feed(*self).encode()
    }

    /// The classic sigil form `@<base64>.ed25519`, for classic feeds only.
    pub fn to_sigil(&self) -> Option<String> {
        (self.format == FeedFormat::Classic).then(|| format!("@{}.ed25519", STANDARD.encode(self.key)))
    }

    /// `ssb:feed/<format>/<padded base64url>`.
    pub fn to_uri(&self) -> String {
        format!("ssb:feed/{}/{}", self.format.name(), URL_SAFE.encode(self.key))
    }

    /// Parses a classic sigil (`@<base64>.ed25519`, canonical padded base64) or an
    /// `ssb:feed/<format>/<base64url>` URI.
    pub fn parse(s: &str) -> Result<FeedRef, RefParseError> {
        if let Some(b64) = s.strip_prefix('@').and_then(|r| r.strip_suffix(".ed25519")) {
            let key = decode_b64(&STANDARD, b64, s, 32)?;
            return Ok(FeedRef::classic(key.try_into().expect("length checked")));
        }
        let rest = s
            .strip_prefix("ssb:feed/")
            .ok_or_else(|| RefParseError::UnknownForm(s.to_string()))?;
        let (format, b64) = rest
            .split_once('/')
            .ok_or_else(|| RefParseError::UnknownForm(s.to_string()))?;
        let format = FeedFormat::from_name(format).ok_or_else(|| RefParseError::UnknownFormat {
            input: s.to_string(),
            kind: "feed",
            format: format.to_string(),
        })?;
        let key = decode_b64(&URL_SAFE_ANY_PAD, b64, s, 32)?;
        Ok(FeedRef::new(format, key.try_into().expect("length checked")))
    }
}

impl From<crate::identity::FeedId> for FeedRef {
    fn from(id: crate::identity::FeedId) -> FeedRef {
        FeedRef::classic(id.0)
    }
}

impl std::fmt::Display for FeedRef {
    /// The classic sigil for classic feeds, the `ssb:` URI for every other format (the
    /// convention of the go-metafeed vectors).
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.to_sigil() {
            Some(s) => f.write_str(&s),
            None => f.write_str(&self.to_uri()),
        }
    }
}

impl std::fmt::Debug for FeedRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "FeedRef({self})")
    }
}

impl std::str::FromStr for FeedRef {
    type Err = RefParseError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        FeedRef::parse(s)
    }
}

impl MsgRef {
    /// A message id of `format`; `id` must have the format's length.
    pub fn new(format: MsgFormat, id: &[u8]) -> Result<MsgRef, BfeError> {
        if id.len() != format.id_len() {
            return Err(BfeError::BadLength {
                type_name: "message",
                format_name: format.name(),
                expected: format.id_len(),
                got: id.len(),
            });
        }
        Ok(MsgRef {
            format,
            id: id.to_vec(),
        })
    }

    /// A bendybutt-v1 message id.
    pub fn bendybutt(hash: [u8; 32]) -> MsgRef {
        MsgRef {
            format: MsgFormat::BendyButtV1,
            id: hash.to_vec(),
        }
    }

    pub fn format(&self) -> MsgFormat {
        self.format
    }

    /// The hash bytes.
    pub fn id(&self) -> &[u8] {
        &self.id
    }

    /// Decodes a BFE message id.
    pub fn from_bfe(bytes: &[u8]) -> Result<MsgRef, RefError> {
        match decode_typed(bytes, TYPE_MESSAGE)? {
            Bfe::Message(r) => Ok(r),
            other => Err(wrong_type("message", &other)),
        }
    }

    /// `01 <format>` ‖ id.
    pub fn to_bfe(&self) -> Vec<u8> {
        let mut out = vec![TYPE_MESSAGE, self.format.code()];
        out.extend_from_slice(&self.id);
        out
    }

    /// `%<base64>.sha256` for classic and `%<base64>.cloaked` for cloaked ids.
    pub fn to_sigil(&self) -> Option<String> {
        let suffix = match self.format {
            MsgFormat::Classic => "sha256",
            MsgFormat::Cloaked => "cloaked",
            _ => return None,
        };
        Some(format!("%{}.{suffix}", STANDARD.encode(&self.id)))
    }

    /// `ssb:message/<format>/<padded base64url>`.
    pub fn to_uri(&self) -> String {
        format!("ssb:message/{}/{}", self.format.name(), URL_SAFE.encode(&self.id))
    }

    /// Parses `%<base64>.sha256`, `%<base64>.cloaked` or `ssb:message/<format>/<base64url>`.
    pub fn parse(s: &str) -> Result<MsgRef, RefParseError> {
        if let Some(rest) = s.strip_prefix('%') {
            let (b64, format) = if let Some(b) = rest.strip_suffix(".sha256") {
                (b, MsgFormat::Classic)
            } else if let Some(b) = rest.strip_suffix(".cloaked") {
                (b, MsgFormat::Cloaked)
            } else {
                return Err(RefParseError::UnknownForm(s.to_string()));
            };
            let id = decode_b64(&STANDARD, b64, s, 32)?;
            return Ok(MsgRef { format, id });
        }
        let rest = s
            .strip_prefix("ssb:message/")
            .ok_or_else(|| RefParseError::UnknownForm(s.to_string()))?;
        let (format, b64) = rest
            .split_once('/')
            .ok_or_else(|| RefParseError::UnknownForm(s.to_string()))?;
        let format = MsgFormat::from_name(format).ok_or_else(|| RefParseError::UnknownFormat {
            input: s.to_string(),
            kind: "message",
            format: format.to_string(),
        })?;
        let id = decode_b64(&URL_SAFE_ANY_PAD, b64, s, format.id_len())?;
        Ok(MsgRef { format, id })
    }
}

impl std::fmt::Display for MsgRef {
    /// The sigil for classic and cloaked ids, the `ssb:` URI for every other format.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.to_sigil() {
            Some(s) => f.write_str(&s),
            None => f.write_str(&self.to_uri()),
        }
    }
}

impl std::fmt::Debug for MsgRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "MsgRef({self})")
    }
}

impl std::str::FromStr for MsgRef {
    type Err = RefParseError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        MsgRef::parse(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registry_shape() {
        let r = registry();
        assert_eq!(r.len(), 25);
        assert_eq!(format_info(0, 3), Some(("bendybutt-v1", Some(32))));
        assert_eq!(format_info(1, 3), Some(("bamboo", Some(64))));
        assert_eq!(format_info(6, 2), Some(("nil", Some(0))));
        assert_eq!(format_info(5, 1), Some(("box2", None)));
        assert_eq!(format_info(8, 0), None);
        for f in FeedFormat::ALL {
            assert_eq!(FeedFormat::from_name(f.name()), Some(*f));
        }
        for f in MsgFormat::ALL {
            assert_eq!(MsgFormat::from_code(f.code()), Some(*f));
            assert_eq!(format_info(1, f.code()).unwrap().1, Some(f.id_len()));
        }
    }

    #[test]
    fn round_trips() {
        let values = [
            Bfe::Feed(FeedRef::bendybutt([7; 32])),
            Bfe::Message(MsgRef::new(MsgFormat::Bamboo, &[9; 64]).unwrap()),
            Bfe::Blob([1; 32]),
            Bfe::EncryptionKey(EncryptionKeyFormat::Box2PoboxDh, [2; 32]),
            Bfe::Signature([3; 64]),
            Bfe::Encrypted(EncryptedFormat::Box2, b"ciphertext".to_vec()),
            Bfe::String("héllo".into()),
            Bfe::Bool(true),
            Bfe::Bool(false),
            Bfe::Nil,
            Bfe::AnyBytes(vec![]),
            Bfe::Identity(IdentityFormat::Group, [4; 32]),
        ];
        for v in values {
            let enc = v.encode();
            assert_eq!(Bfe::decode(&enc), Ok(v.clone()), "{v:?}");
        }
        assert_eq!(Bfe::Nil.encode(), NIL);
        assert_eq!(Bfe::Bool(true).encode(), [6, 1, 1]);
    }

    #[test]
    fn decode_errors() {
        assert_eq!(Bfe::decode(&[]), Err(BfeError::TooShort { len: 0 }));
        assert_eq!(Bfe::decode(&[0]), Err(BfeError::TooShort { len: 1 }));
        assert_eq!(Bfe::decode(&[0xff, 0]), Err(BfeError::UnknownType { code: 0xff }));
        assert_eq!(
            Bfe::decode(&[0, 0xff]),
            Err(BfeError::UnknownFormat {
                type_name: "feed",
                code: 0xff
            })
        );
        assert_eq!(
            Bfe::decode(&[0, 3, 1, 2]),
            Err(BfeError::BadLength {
                type_name: "feed",
                format_name: "bendybutt-v1",
                expected: 32,
                got: 2
            })
        );
        assert_eq!(Bfe::decode(&[6, 1, 2]), Err(BfeError::BadBoolean { byte: 2 }));
        assert_eq!(Bfe::decode(&[6, 1]).unwrap_err().fault(), TfkFault::Length);
        assert_eq!(Bfe::decode(&[6, 2, 0]).unwrap_err().fault(), TfkFault::Length);
        assert_eq!(
            Bfe::decode(&[6, 0, 0xff]),
            Err(BfeError::BadUtf8 { valid_up_to: 0 })
        );
    }

    #[test]
    fn typed_decoding() {
        let feed = FeedRef::bendybutt([5; 32]);
        assert_eq!(FeedRef::from_bfe(&feed.to_bfe()), Ok(feed));
        let msg = MsgRef::bendybutt([6; 32]);
        let e = FeedRef::from_bfe(&msg.to_bfe()).unwrap_err();
        assert_eq!(e.fault(), TfkFault::Type);
        assert_eq!(
            e,
            RefError::WrongType {
                expected: "feed",
                got: "message"
            }
        );
        // A wrong type is reported even when the length would also be wrong for that type.
        assert_eq!(FeedRef::from_bfe(&[1, 4, 0]).unwrap_err().fault(), TfkFault::Type);
        assert_eq!(decode_msg_or_nil(&NIL), Ok(None));
        assert_eq!(decode_msg_or_nil(&msg.to_bfe()), Ok(Some(msg)));
        assert_eq!(decode_string(&encode_string("x")), Ok("x".into()));
        assert_eq!(
            decode_string(&NIL),
            Err(RefError::WrongFormat {
                expected: "string-UTF8",
                got: "nil"
            })
        );
        assert_eq!(decode_signature(&encode_signature(&[8; 64])), Ok([8; 64]));
        assert_eq!(
            decode_signature(&[0xac, 0xab]).unwrap_err().fault(),
            TfkFault::Type
        );
    }

    #[test]
    fn sigils_and_uris() {
        let classic = "@Oo6OYCGsjLP3n+cep4FiHJJZGHyqKWztnhDk7vJhi3A=.ed25519";
        let f = FeedRef::parse(classic).unwrap();
        assert_eq!(f.format, FeedFormat::Classic);
        assert_eq!(f.to_string(), classic);
        assert_eq!(
            f.to_uri(),
            "ssb:feed/classic/Oo6OYCGsjLP3n-cep4FiHJJZGHyqKWztnhDk7vJhi3A="
        );
        assert_eq!(FeedRef::parse(&f.to_uri()), Ok(f));

        let uri = "ssb:feed/bendybutt-v1/b99R2e7lj8h7NFqGhOu6lCGy8gLxWV-J4ORd1X7rP3c=";
        let b = FeedRef::parse(uri).unwrap();
        assert_eq!(b.format, FeedFormat::BendyButtV1);
        assert_eq!(b.to_string(), uri);
        assert_eq!(b.to_sigil(), None);
        assert_eq!(FeedRef::parse(uri.trim_end_matches('=')), Ok(b));

        let m = "ssb:message/bendybutt-v1/rIqfhMR7cpwQCemll4cE48gzdYdWqDCxkQdLq4Yprxc=";
        let r = MsgRef::parse(m).unwrap();
        assert_eq!(r.format(), MsgFormat::BendyButtV1);
        assert_eq!(r.to_string(), m);
        let classic_msg = MsgRef::new(MsgFormat::Classic, r.id()).unwrap();
        let sigil = classic_msg.to_string();
        assert!(sigil.starts_with('%') && sigil.ends_with(".sha256"), "{sigil}");
        assert_eq!(MsgRef::parse(&sigil), Ok(classic_msg));

        assert!(matches!(
            FeedRef::parse("ssb:feed/nope/AAAA"),
            Err(RefParseError::UnknownFormat { .. })
        ));
        assert!(matches!(
            FeedRef::parse("@AAAA.ed25519"),
            Err(RefParseError::BadLength { got: 3, .. })
        ));
        assert!(matches!(
            FeedRef::parse("@Oo6OYCGsjLP3n-cep4FiHJJZGHyqKWztnhDk7vJhi3A=.ed25519"),
            Err(RefParseError::BadBase64 { .. })
        ));
        // Non-canonical trailing bits are refused.
        assert!(matches!(
            FeedRef::parse("@Oo6OYCGsjLP3n+cep4FiHJJZGHyqKWztnhDk7vJhi3B=.ed25519"),
            Err(RefParseError::BadBase64 { .. })
        ));
        assert!(matches!(
            MsgRef::parse("ssb:message/bamboo/AAAA"),
            Err(RefParseError::BadLength { expected: 64, .. })
        ));
        assert!(matches!(
            MsgRef::parse("#foo"),
            Err(RefParseError::UnknownForm(_))
        ));
    }
}
