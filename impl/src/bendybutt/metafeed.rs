//! Meta feed management content (ssb-meta-feeds-spec v1, as the go-metafeed vectors encode it):
//! the `metafeed/add/derived`, `metafeed/add/existing` and `metafeed/tombstone` messages a meta
//! feed publishes about its subfeeds, their validation, and their double signature.
//!
//! The content of a management message is `[dictionary, content signature]`
//! ([`Content::Signed`]); the dictionary holds BFE values:
//! - `type`: BFE string, one of the three types above;
//! - `subfeed`: BFE feed id of any registered format (its key signs the content);
//! - `metafeed`: BFE feed id, the meta feed, which must be the message author;
//! - `feedpurpose`: BFE string, required on `metafeed/add/*`;
//! - `nonce`: BFE any-bytes (`06 03`) of exactly 32 bytes, required on
//!   `metafeed/add/derived` (from which the subfeed key was derived);
//! - `tangles` (optional): `{name: {root, previous}}` with `root` nil or a message id and
//!   `previous` nil or a list of message ids;
//! - any other key is kept as it is ([`MetafeedContent::extra`]).
//!
//! The content signature is checked with the subfeed key
//! ([`crate::bendybutt::message::verify_content_signature`]). A meta feed may also publish
//! encrypted content, which stays opaque ([`MetafeedEntry::Encrypted`]).

use std::collections::BTreeMap;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use serde_json::json;

use super::bencode::{Dict, Value};
use super::bfe::{self, Bfe, FeedRef, MsgRef, RefError};
use super::message::{self, Content, FeedError, FeedValidator, Message, Verified};
use crate::identity::Keypair;

/// The kind of a management message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum MetafeedMsgType {
    AddDerived,
    AddExisting,
    Tombstone,
}

impl MetafeedMsgType {
    pub const ALL: [MetafeedMsgType; 3] = [
        MetafeedMsgType::AddDerived,
        MetafeedMsgType::AddExisting,
        MetafeedMsgType::Tombstone,
    ];

    /// The `type` string.
    pub fn as_str(self) -> &'static str {
        match self {
            MetafeedMsgType::AddDerived => "metafeed/add/derived",
            MetafeedMsgType::AddExisting => "metafeed/add/existing",
            MetafeedMsgType::Tombstone => "metafeed/tombstone",
        }
    }

    pub fn parse(s: &str) -> Option<MetafeedMsgType> {
        Self::ALL.into_iter().find(|t| t.as_str() == s)
    }

    fn is_add(self) -> bool {
        self != MetafeedMsgType::Tombstone
    }
}

/// A tangle point: `root` (nil: this message is the root) and `previous` (nil or the tips).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Tangle {
    pub root: Option<MsgRef>,
    pub previous: Option<Vec<MsgRef>>,
}

/// Decoded management content.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MetafeedContent {
    pub kind: MetafeedMsgType,
    pub subfeed: FeedRef,
    pub metafeed: FeedRef,
    pub feedpurpose: Option<String>,
    pub nonce: Option<[u8; 32]>,
    /// By tangle name (the raw dictionary key).
    pub tangles: Option<BTreeMap<Vec<u8>, Tangle>>,
    /// Every other key of the dictionary.
    pub extra: Dict,
}

/// What a meta feed message holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MetafeedEntry {
    Management(MetafeedContent),
    /// Encrypted content, opaque here.
    Encrypted(Vec<u8>),
}

/// Why content is not valid meta feed management content.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MetafeedError {
    #[error("meta feed content must be [dictionary, subfeed signature] or encrypted, got {got}")]
    NotSigned { got: &'static str },
    #[error("meta feed content has no {field:?} field")]
    MissingField { field: &'static str },
    #[error("meta feed content field {field:?} must be a byte string, got a {found}")]
    NotBytes {
        field: &'static str,
        found: &'static str,
    },
    #[error("meta feed content type: {0}")]
    Type(RefError),
    #[error("meta feed content type {got:?} is not metafeed/add/derived, metafeed/add/existing or metafeed/tombstone")]
    UnknownType { got: String },
    #[error("meta feed content subfeed: {0}")]
    Subfeed(RefError),
    #[error("meta feed content metafeed: {0}")]
    Metafeed(RefError),
    #[error("meta feed content names metafeed {metafeed}, but the message author is {author}")]
    MetafeedNotAuthor { metafeed: FeedRef, author: FeedRef },
    #[error("meta feed content feedpurpose: {0}")]
    FeedPurpose(RefError),
    #[error("meta feed content nonce: {0}")]
    Nonce(RefError),
    #[error("meta feed content nonce has {got} bytes, must have 32")]
    NonceLength { got: usize },
    #[error("meta feed content tangles: {problem}")]
    Tangles { problem: String },
    #[error("meta feed content tangle {tangle:?} {field}: {error}")]
    TangleRef {
        tangle: String,
        field: &'static str,
        error: RefError,
    },
    #[error("meta feed content signature does not verify with the subfeed key {subfeed}")]
    ContentSignatureInvalid { subfeed: FeedRef },
    #[error("signing key {key} is not the subfeed {subfeed}")]
    KeyNotSubfeed { key: String, subfeed: FeedRef },
}

const TYPE: &str = "type";
const SUBFEED: &str = "subfeed";
const METAFEED: &str = "metafeed";
const FEEDPURPOSE: &str = "feedpurpose";
const NONCE: &str = "nonce";
const TANGLES: &str = "tangles";
const KNOWN: [&str; 6] = [TYPE, SUBFEED, METAFEED, FEEDPURPOSE, NONCE, TANGLES];

fn get_bytes<'a>(dict: &'a Dict, field: &'static str) -> Result<Option<&'a [u8]>, MetafeedError> {
    match dict.get(field.as_bytes()) {
        None => Ok(None),
        Some(Value::Bytes(b)) => Ok(Some(b)),
        Some(other) => Err(MetafeedError::NotBytes {
            field,
            found: other.kind(),
        }),
    }
}

fn require_bytes<'a>(dict: &'a Dict, field: &'static str) -> Result<&'a [u8], MetafeedError> {
    get_bytes(dict, field)?.ok_or(MetafeedError::MissingField { field })
}

fn decode_nonce(bytes: &[u8]) -> Result<[u8; 32], MetafeedError> {
    match Bfe::decode(bytes).map_err(|e| MetafeedError::Nonce(e.into()))? {
        Bfe::AnyBytes(b) => b
            .as_slice()
            .try_into()
            .map_err(|_| MetafeedError::NonceLength { got: b.len() }),
        other => {
            let (t, f) = other.type_format();
            Err(MetafeedError::Nonce(if t == bfe::TYPE_GENERIC {
                RefError::WrongFormat {
                    expected: "any-bytes",
                    got: bfe::format_info(t, f).map(|(n, _)| n).unwrap_or("?"),
                }
            } else {
                RefError::WrongType {
                    expected: "generic",
                    got: other.type_name(),
                }
            }))
        }
    }
}

fn decode_tangles(v: &Value) -> Result<BTreeMap<Vec<u8>, Tangle>, MetafeedError> {
    let problem = |p: String| MetafeedError::Tangles { problem: p };
    let dict = v
        .as_dict()
        .ok_or_else(|| problem(format!("must be a dictionary, got a {}", v.kind())))?;
    let mut out = BTreeMap::new();
    for (name, point) in dict {
        let tangle = String::from_utf8_lossy(name).into_owned();
        let point = point.as_dict().ok_or_else(|| {
            problem(format!(
                "tangle {tangle:?} must be a dictionary, got a {}",
                point.kind()
            ))
        })?;
        if let Some(k) = point
            .keys()
            .find(|k| k.as_slice() != b"root" && k.as_slice() != b"previous")
        {
            return Err(problem(format!(
                "tangle {tangle:?} has unknown key {:?}",
                String::from_utf8_lossy(k)
            )));
        }
        let ref_err = |field: &'static str, error: RefError| MetafeedError::TangleRef {
            tangle: tangle.clone(),
            field,
            error,
        };
        let root = match point.get(b"root".as_slice()) {
            None => return Err(problem(format!("tangle {tangle:?} has no root"))),
            Some(Value::Bytes(b)) => bfe::decode_msg_or_nil(b).map_err(|e| ref_err("root", e))?,
            Some(other) => {
                return Err(problem(format!(
                    "tangle {tangle:?} root must be a byte string, got a {}",
                    other.kind()
                )))
            }
        };
        let previous = match point.get(b"previous".as_slice()) {
            None => return Err(problem(format!("tangle {tangle:?} has no previous"))),
            Some(Value::Bytes(b)) if b.as_slice() == bfe::NIL => None,
            Some(Value::List(items)) => Some(
                items
                    .iter()
                    .map(|item| match item {
                        Value::Bytes(b) => MsgRef::from_bfe(b).map_err(|e| ref_err("previous", e)),
                        other => Err(problem(format!(
                            "tangle {tangle:?} previous items must be byte strings, got a {}",
                            other.kind()
                        ))),
                    })
                    .collect::<Result<Vec<_>, _>>()?,
            ),
            Some(other) => {
                return Err(problem(format!(
                    "tangle {tangle:?} previous must be nil or a list, got a {}",
                    other.kind()
                )))
            }
        };
        out.insert(name.clone(), Tangle { root, previous });
    }
    Ok(out)
}

impl MetafeedContent {
    /// Decodes and checks a management content dictionary (not its signature).
    pub fn from_dict(dict: &Dict) -> Result<MetafeedContent, MetafeedError> {
        let type_str = bfe::decode_string(require_bytes(dict, TYPE)?).map_err(MetafeedError::Type)?;
        let kind = MetafeedMsgType::parse(&type_str).ok_or(MetafeedError::UnknownType { got: type_str })?;
        let subfeed = FeedRef::from_bfe(require_bytes(dict, SUBFEED)?).map_err(MetafeedError::Subfeed)?;
        let metafeed = FeedRef::from_bfe(require_bytes(dict, METAFEED)?).map_err(MetafeedError::Metafeed)?;
        let feedpurpose = match get_bytes(dict, FEEDPURPOSE)? {
            Some(b) => Some(bfe::decode_string(b).map_err(MetafeedError::FeedPurpose)?),
            None if kind.is_add() => return Err(MetafeedError::MissingField { field: FEEDPURPOSE }),
            None => None,
        };
        let nonce = match get_bytes(dict, NONCE)? {
            Some(b) => Some(decode_nonce(b)?),
            None if kind == MetafeedMsgType::AddDerived => {
                return Err(MetafeedError::MissingField { field: NONCE })
            }
            None => None,
        };
        let tangles = dict.get(TANGLES.as_bytes()).map(decode_tangles).transpose()?;
        let extra = dict
            .iter()
            .filter(|(k, _)| !KNOWN.iter().any(|n| n.as_bytes() == k.as_slice()))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        Ok(MetafeedContent {
            kind,
            subfeed,
            metafeed,
            feedpurpose,
            nonce,
            tangles,
            extra,
        })
    }

    /// The content dictionary.
    pub fn to_dict(&self) -> Dict {
        let mut d = self.extra.clone();
        let mut put = |k: &str, v: Value| {
            d.insert(k.as_bytes().to_vec(), v);
        };
        put(TYPE, Value::Bytes(bfe::encode_string(self.kind.as_str())));
        put(SUBFEED, Value::Bytes(self.subfeed.to_bfe()));
        put(METAFEED, Value::Bytes(self.metafeed.to_bfe()));
        if let Some(p) = &self.feedpurpose {
            put(FEEDPURPOSE, Value::Bytes(bfe::encode_string(p)));
        }
        if let Some(n) = &self.nonce {
            put(NONCE, Value::Bytes(Bfe::AnyBytes(n.to_vec()).encode()));
        }
        if let Some(tangles) = &self.tangles {
            let t = tangles
                .iter()
                .map(|(name, point)| {
                    let root = point
                        .root
                        .as_ref()
                        .map(MsgRef::to_bfe)
                        .unwrap_or(bfe::NIL.to_vec());
                    let previous = match &point.previous {
                        None => Value::Bytes(bfe::NIL.to_vec()),
                        Some(p) => Value::List(p.iter().map(|m| Value::Bytes(m.to_bfe())).collect()),
                    };
                    (
                        name.clone(),
                        Value::dict([("root", Value::Bytes(root)), ("previous", previous)]),
                    )
                })
                .collect();
            put(TANGLES, Value::Dict(t));
        }
        d
    }

    /// Signs the content with the subfeed's keypair, giving `[dictionary, signature]`.
    pub fn sign(&self, subfeed: &Keypair, hmac_key: Option<&[u8; 32]>) -> Result<Content, MetafeedError> {
        if subfeed.public() != &self.subfeed.key {
            return Err(MetafeedError::KeyNotSubfeed {
                key: FeedRef::classic(*subfeed.public()).to_string(),
                subfeed: self.subfeed,
            });
        }
        Ok(message::sign_content(self.to_dict(), subfeed, hmac_key))
    }

    /// The content as JSON, in the form of the vectors' `HighlevelContent`: feed and message ids
    /// as classic sigils or `ssb:` URIs, the nonce as base64, tangles with `null` for nil.
    /// Extra keys are left out.
    pub fn to_json(&self) -> serde_json::Value {
        let mut o = serde_json::Map::new();
        o.insert("type".into(), json!(self.kind.as_str()));
        if let Some(p) = &self.feedpurpose {
            o.insert("feedpurpose".into(), json!(p));
        }
        o.insert("subfeed".into(), json!(self.subfeed.to_string()));
        o.insert("metafeed".into(), json!(self.metafeed.to_string()));
        if let Some(n) = &self.nonce {
            o.insert("nonce".into(), json!(STANDARD.encode(n)));
        }
        if let Some(tangles) = &self.tangles {
            let t: serde_json::Map<String, serde_json::Value> = tangles
                .iter()
                .map(|(name, point)| {
                    let root = point.root.as_ref().map(|r| r.to_string());
                    let previous = point
                        .previous
                        .as_ref()
                        .map(|p| p.iter().map(|m| m.to_string()).collect::<Vec<_>>());
                    (
                        String::from_utf8_lossy(name).into_owned(),
                        json!({"root": root, "previous": previous}),
                    )
                })
                .collect();
            o.insert("tangles".into(), serde_json::Value::Object(t));
        }
        serde_json::Value::Object(o)
    }
}

/// Checks the content of a meta feed message by `author`: encrypted content passes as it is;
/// otherwise it must be signed management content naming `author` as its metafeed, with a
/// content signature by the subfeed key.
pub fn validate_content(
    content: &Content,
    author: &FeedRef,
    hmac_key: Option<&[u8; 32]>,
) -> Result<MetafeedEntry, MetafeedError> {
    let (dict, signature) = match content {
        Content::Encrypted(b) => return Ok(MetafeedEntry::Encrypted(b.clone())),
        Content::Dict(_) => {
            return Err(MetafeedError::NotSigned {
                got: "a dictionary without a signature",
            })
        }
        Content::Signed { dict, signature } => (dict, signature),
    };
    let c = MetafeedContent::from_dict(dict)?;
    if c.metafeed != *author {
        return Err(MetafeedError::MetafeedNotAuthor {
            metafeed: c.metafeed,
            author: *author,
        });
    }
    if !message::verify_content_signature(dict, signature, &c.subfeed.key, hmac_key) {
        return Err(MetafeedError::ContentSignatureInvalid { subfeed: c.subfeed });
    }
    Ok(MetafeedEntry::Management(c))
}

/// [`validate_content`] for a decoded message.
pub fn validate_message(msg: &Message, hmac_key: Option<&[u8; 32]>) -> Result<MetafeedEntry, MetafeedError> {
    validate_content(msg.content(), msg.author(), hmac_key)
}

/// Why a message cannot be appended to a meta feed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MetafeedFeedError {
    #[error(transparent)]
    Feed(#[from] FeedError),
    #[error(transparent)]
    Content(#[from] MetafeedError),
}

/// Validates a meta feed: every message must pass [`FeedValidator`] and [`validate_content`]
/// (with the same HMAC key); a message that fails either leaves the state unchanged.
#[derive(Debug, Clone, Default)]
pub struct MetafeedValidator {
    feed: FeedValidator,
}

impl MetafeedValidator {
    pub fn new(hmac_key: Option<[u8; 32]>) -> MetafeedValidator {
        MetafeedValidator {
            feed: FeedValidator::new(hmac_key),
        }
    }

    /// The underlying feed validator (its state).
    pub fn feed(&self) -> &FeedValidator {
        &self.feed
    }

    pub fn append(&mut self, bytes: &[u8]) -> Result<(Verified, MetafeedEntry), MetafeedFeedError> {
        let v = self.feed.check(bytes)?;
        let entry = validate_message(&v.message, self.feed.hmac_key())?;
        self.feed.accept(&v);
        Ok((v, entry))
    }
}

impl MetafeedError {
    /// The adapter-protocol kind (suite feed-bendybutt): one per meta feed content rule.
    pub fn kind(&self) -> &'static str {
        match self {
            MetafeedError::UnknownType { .. } | MetafeedError::Type(_) => "metafeed_type",
            MetafeedError::Subfeed(_) => "metafeed_subfeed",
            MetafeedError::Metafeed(_) | MetafeedError::MetafeedNotAuthor { .. } => "metafeed_metafeed",
            MetafeedError::Nonce(_) | MetafeedError::NonceLength { .. } => "metafeed_nonce",
            MetafeedError::ContentSignatureInvalid { .. } => "metafeed_content_signature",
            MetafeedError::KeyNotSubfeed { .. } => "invalid_args",
            MetafeedError::NotSigned { .. }
            | MetafeedError::MissingField { .. }
            | MetafeedError::NotBytes { .. }
            | MetafeedError::FeedPurpose(_)
            | MetafeedError::Tangles { .. }
            | MetafeedError::TangleRef { .. } => "metafeed_content",
        }
    }
}

impl MetafeedFeedError {
    /// The adapter-protocol kind (suite feed-bendybutt).
    pub fn kind(&self) -> &'static str {
        match self {
            MetafeedFeedError::Feed(f) => f.kind(),
            MetafeedFeedError::Content(c) => c.kind(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bendybutt::message::Payload;

    fn add_derived(mf: &Keypair, sub: &Keypair) -> MetafeedContent {
        MetafeedContent {
            kind: MetafeedMsgType::AddDerived,
            subfeed: FeedRef::classic(*sub.public()),
            metafeed: FeedRef::bendybutt(*mf.public()),
            feedpurpose: Some("main".into()),
            nonce: Some([0x23; 32]),
            tangles: Some(BTreeMap::from([(b"metafeed".to_vec(), Tangle::default())])),
            extra: Dict::new(),
        }
    }

    #[test]
    fn round_trip_and_validate() {
        let mf = Keypair::from_seed([1; 32]);
        let sub = Keypair::from_seed([2; 32]);
        let c = add_derived(&mf, &sub);
        assert_eq!(MetafeedContent::from_dict(&c.to_dict()), Ok(c.clone()));
        let content = c.sign(&sub, None).unwrap();
        let author = FeedRef::bendybutt(*mf.public());
        assert_eq!(
            validate_content(&content, &author, None),
            Ok(MetafeedEntry::Management(c.clone()))
        );
        assert!(matches!(
            validate_content(&content, &FeedRef::bendybutt([0; 32]), None),
            Err(MetafeedError::MetafeedNotAuthor { .. })
        ));
        assert!(matches!(
            validate_content(&content, &author, Some(&[3; 32])),
            Err(MetafeedError::ContentSignatureInvalid { .. })
        ));
        assert!(matches!(
            c.sign(&mf, None),
            Err(MetafeedError::KeyNotSubfeed { .. })
        ));
        assert!(matches!(
            validate_content(&Content::Dict(c.to_dict()), &author, None),
            Err(MetafeedError::NotSigned { .. })
        ));
        assert_eq!(
            validate_content(&Content::Encrypted(vec![5, 1]), &author, None),
            Ok(MetafeedEntry::Encrypted(vec![5, 1]))
        );
    }

    #[test]
    fn field_rules() {
        let mf = Keypair::from_seed([1; 32]);
        let sub = Keypair::from_seed([2; 32]);
        let base = add_derived(&mf, &sub).to_dict();
        let with = |k: &str, v: Option<Value>| {
            let mut d = base.clone();
            match v {
                Some(v) => d.insert(k.as_bytes().to_vec(), v),
                None => d.remove(k.as_bytes()),
            };
            MetafeedContent::from_dict(&d)
        };
        let b = |x: &[u8]| Some(Value::bytes(x));
        assert_eq!(
            with("type", b(&bfe::encode_string("metafeed/add"))),
            Err(MetafeedError::UnknownType {
                got: "metafeed/add".into()
            })
        );
        assert!(matches!(
            with("type", b(b"metafeed/add/derived")),
            Err(MetafeedError::Type(_))
        ));
        assert_eq!(
            with("nonce", None),
            Err(MetafeedError::MissingField { field: "nonce" })
        );
        assert_eq!(
            with("feedpurpose", None),
            Err(MetafeedError::MissingField { field: "feedpurpose" })
        );
        assert_eq!(
            with("nonce", b(&[[6, 3].as_slice(), &[0; 31]].concat())),
            Err(MetafeedError::NonceLength { got: 31 })
        );
        assert_eq!(
            with("nonce", b(&[0x23; 32])),
            Err(MetafeedError::Nonce(RefError::Bfe(bfe::BfeError::UnknownType {
                code: 0x23
            })))
        );
        assert!(matches!(
            with("nonce", b(&FeedRef::classic([0; 32]).to_bfe())),
            Err(MetafeedError::Nonce(RefError::WrongType { .. }))
        ));
        assert!(matches!(
            with("nonce", b(&bfe::encode_string("x"))),
            Err(MetafeedError::Nonce(RefError::WrongFormat { .. }))
        ));
        assert!(matches!(
            with("subfeed", b(&[0xff; 34])),
            Err(MetafeedError::Subfeed(_))
        ));
        assert!(matches!(
            with("metafeed", Some(Value::Int(1))),
            Err(MetafeedError::NotBytes {
                field: "metafeed",
                ..
            })
        ));
        assert!(matches!(
            with("tangles", Some(Value::Int(1))),
            Err(MetafeedError::Tangles { .. })
        ));
        let tangle = |root: Value, previous: Value| {
            Some(Value::dict([(
                "metafeed",
                Value::dict([("root", root), ("previous", previous)]),
            )]))
        };
        let m = MsgRef::bendybutt([4; 32]).to_bfe();
        let ok = with(
            "tangles",
            tangle(
                Value::bytes(m.clone()),
                Value::List(vec![Value::bytes(m.clone())]),
            ),
        )
        .unwrap();
        let t = &ok.tangles.as_ref().unwrap()[b"metafeed".as_slice()];
        assert_eq!(t.root, Some(MsgRef::bendybutt([4; 32])));
        assert_eq!(t.previous.as_deref(), Some(&[MsgRef::bendybutt([4; 32])][..]));
        assert!(matches!(
            with(
                "tangles",
                tangle(Value::bytes(vec![1, 4]), Value::bytes(bfe::NIL))
            ),
            Err(MetafeedError::TangleRef { field: "root", .. })
        ));
        assert!(matches!(
            with("tangles", tangle(Value::bytes(bfe::NIL), Value::bytes(m.clone()))),
            Err(MetafeedError::Tangles { .. })
        ));
        // Unknown keys are kept.
        let extra = with("reason", b(&bfe::encode_string("why"))).unwrap();
        assert_eq!(extra.extra.len(), 1);
        assert_eq!(MetafeedContent::from_dict(&extra.to_dict()), Ok(extra));
        // A tombstone needs neither feedpurpose nor nonce.
        let mut tomb = base.clone();
        tomb.remove(b"nonce".as_slice());
        tomb.remove(b"feedpurpose".as_slice());
        tomb.insert(
            b"type".to_vec(),
            Value::bytes(bfe::encode_string("metafeed/tombstone")),
        );
        assert_eq!(
            MetafeedContent::from_dict(&tomb).unwrap().kind,
            MetafeedMsgType::Tombstone
        );
    }

    #[test]
    fn validator_keeps_state_on_content_failure() {
        let mf = Keypair::from_seed([1; 32]);
        let sub = Keypair::from_seed([2; 32]);
        let author = FeedRef::bendybutt(*mf.public());
        let plain = Payload {
            author,
            sequence: 1,
            previous: None,
            timestamp: 0,
            content: Content::Dict(Dict::new()),
        }
        .sign(&mf, None)
        .unwrap();
        let mut v = MetafeedValidator::new(None);
        assert!(matches!(
            v.append(&plain.encode()),
            Err(MetafeedFeedError::Content(MetafeedError::NotSigned { .. }))
        ));
        assert!(v.feed().state().is_none());
        let good = Payload {
            content: add_derived(&mf, &sub).sign(&sub, None).unwrap(),
            ..plain.payload.clone()
        }
        .sign(&mf, None)
        .unwrap();
        let (verified, entry) = v.append(&good.encode()).unwrap();
        assert_eq!(verified.key, good.key());
        assert!(matches!(entry, MetafeedEntry::Management(_)));
        assert_eq!(v.feed().state().unwrap().sequence, 1);
    }
}
