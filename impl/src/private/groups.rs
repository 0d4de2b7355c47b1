//! Private groups (ssbc/private-group-spec v8): how recipients become envelope (box2) keys, how
//! groups are named, and the content of the messages that create a group and add members.
//!
//! - Key schemes ([`schemes`]): a group's symmetric key, a direct-message key shared with another
//!   feed, a symmetric key for oneself, a P.O. Box key.
//! - DM key ([`dm_key`]): HKDF-SHA-256 of X25519(my curve25519 secret, your curve25519 public)
//!   with salt `SHA-256("envelope-dm-v1-extract-salt")` and info
//!   `SLP(["envelope-ssb-dm-v1/key", a, b])`, where `a`, `b` are `BFE(dh_public) ‖ BFE(feed_id)`
//!   of the two sides sorted bytewise; for feeds, the DH keys are the ed25519 keys converted.
//! - P.O. Box key ([`po_box_key_as_author`], [`po_box_key_as_box`]): the same with the P.O. Box
//!   salt and context, the author's DH key as BFE `03 00` and the P.O. Box's as `03 01`, the
//!   P.O. Box id being BFE `07 00`.
//! - Group id ([`group_id`]): the cloaked id of the group's `group/init` message under its read
//!   key, written `ssb:identity/group/<base64url>`.
//! - Unboxing ([`open`]): group keys are tried on the first slot only (the spec puts the one
//!   group key there), every other key on up to 16 slots.
//! - Content ([`init_root_content`], [`add_member_content`], [`validate`]): the v2 schemas of
//!   `group/init` (root) and `group/add-member`, and of ordinary group content, checked exactly
//!   as their JSON Schemas say (tuple `items` constrain the first element only).

use std::cmp::Ordering;

use base64::engine::general_purpose::{STANDARD, URL_SAFE};
use base64::Engine;
use serde_json::{json, Map, Value};

use crate::bendybutt::bfe::{EncryptionKeyFormat, FeedRef, MsgRef, TYPE_ENCRYPTION_KEY, TYPE_IDENTITY};
use crate::crypto;
use crate::identity::Keypair;

use super::box2::{self, Box2Error, Context, Opened, RecipientKey};
use super::kdf;

/// The canonical key-scheme labels (private-group-spec `key-schemes.json`).
pub mod schemes {
    pub const PRIVATE_GROUP: &str = "envelope-large-symmetric-group";
    pub const FEED_ID_DM: &str = "envelope-id-based-dm-converted-ed25519";
    pub const FEED_ID_METAFEED_DM: &str = "envelope-id-based-metafeed-announced-curve25519";
    pub const FEED_ID_SELF: &str = "envelope-symmetric-key-for-self";
    pub const PO_BOX: &str = "envelope-id-based-pobox-curve25519";
}

/// The DM key's HKDF constants (private-group-spec `direct-messages/constants.json`).
pub const DM_SALT: &str = "envelope-dm-v1-extract-salt";
pub const DM_INFO_CONTEXT: &str = "envelope-ssb-dm-v1/key";
/// The P.O. Box key's HKDF constants (private-group-spec `po-box/constants.json`).
pub const PO_BOX_SALT: &str = "envelope-pobox-v1-extract-salt";
pub const PO_BOX_INFO_CONTEXT: &str = "envelope-ssb-pobox-v1/key";

/// The most recipients of a group message, and the depth readers look.
pub const MAX_RECIPIENTS: usize = box2::MAX_RECIPIENTS;

/// Why a key could not be derived, a group id computed or content accepted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GroupError {
    /// The spec forbids a DM key with oneself (restriction 3); use the self key.
    #[error("a DM key with oneself is not allowed")]
    SelfDm,
    #[error("feed key cannot be converted to curve25519")]
    BadFeedKey,
    #[error("X25519 gave the all-zero secret (a low-order public key)")]
    LowOrder,
    #[error("the P.O. Box secret does not belong to this P.O. Box id")]
    KeyMismatch,
    #[error("{0:?} is not a P.O. Box id")]
    BadPoBoxId(String),
    #[error("{0:?} is not a group id")]
    BadGroupId(String),
    #[error(transparent)]
    Box2(#[from] Box2Error),
    #[error("{path}: {problem}")]
    Schema { path: String, problem: String },
}

impl GroupError {
    /// The adapter-protocol error kind.
    pub fn kind(&self) -> &'static str {
        match self {
            GroupError::SelfDm => "self_dm",
            GroupError::BadFeedKey => "invalid_feed_key",
            GroupError::LowOrder => "low_order",
            GroupError::KeyMismatch => "key_mismatch",
            GroupError::BadPoBoxId(_) | GroupError::BadGroupId(_) => "invalid_id",
            GroupError::Box2(e) => e.kind(),
            GroupError::Schema { .. } => "schema_mismatch",
        }
    }
}

/// How the two `BFE(dh_public) ‖ BFE(id)` blobs of a DM or P.O. Box key are put in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InfoOrder {
    /// Bytewise, smallest first: what the spec says.
    Bytewise,
    /// What ssb-private-group-keys does: JavaScript's default `Array#sort`, which compares the
    /// buffers as strings (UTF-8 decoded, invalid bytes replaced by U+FFFD) by UTF-16 code
    /// units, keeping the caller's order on a tie. For the DM keys of random feeds this differs
    /// from the spec's order about one time in seven; a reader may try both to open what the JS
    /// stack wrote. P.O. Box keys are never affected: their two blobs differ in the second
    /// byte (`03 00` against `03 01`), which both orders compare alike.
    JsString,
}

/// JavaScript's default comparison of two `Buffer`s in `Array#sort`.
pub fn js_string_cmp(a: &[u8], b: &[u8]) -> Ordering {
    let a = String::from_utf8_lossy(a);
    let b = String::from_utf8_lossy(b);
    a.encode_utf16().cmp(b.encode_utf16())
}

fn ordered<'a>(mine: &'a [u8], yours: &'a [u8], order: InfoOrder) -> [&'a [u8]; 2] {
    let cmp = match order {
        InfoOrder::Bytewise => mine.cmp(yours),
        InfoOrder::JsString => js_string_cmp(mine, yours),
    };
    if cmp == Ordering::Greater {
        [yours, mine]
    } else {
        [mine, yours]
    }
}

fn dh_bfe(format: EncryptionKeyFormat, public: &[u8; 32]) -> Vec<u8> {
    let mut v = vec![TYPE_ENCRYPTION_KEY, format.code()];
    v.extend_from_slice(public);
    v
}

/// The shared-key construction of DM and P.O. Box keys.
fn shared_key(
    salt: &str,
    context: &str,
    my_secret: &[u8; 32],
    mine: &[u8],
    your_public: &[u8; 32],
    yours: &[u8],
    order: InfoOrder,
) -> Result<[u8; 32], GroupError> {
    let ikm = crypto::x25519(my_secret, your_public).map_err(|_| GroupError::LowOrder)?;
    let [a, b] = ordered(mine, yours, order);
    let info = kdf::slp_encode(&[context.as_bytes(), a, b]).expect("short info elements");
    Ok(kdf::hkdf32(&crypto::sha256(salt.as_bytes()), &ikm, &info))
}

/// The DM key between my feed and yours, from curve25519 DH keys (spec order).
pub fn dm_key(
    my_dh_secret: &[u8; 32],
    my_dh_public: &[u8; 32],
    my_feed: &FeedRef,
    your_dh_public: &[u8; 32],
    your_feed: &FeedRef,
) -> Result<RecipientKey, GroupError> {
    dm_key_ordered(
        my_dh_secret,
        my_dh_public,
        my_feed,
        your_dh_public,
        your_feed,
        InfoOrder::Bytewise,
    )
}

/// [`dm_key`] with the info blobs put in `order`.
pub fn dm_key_ordered(
    my_dh_secret: &[u8; 32],
    my_dh_public: &[u8; 32],
    my_feed: &FeedRef,
    your_dh_public: &[u8; 32],
    your_feed: &FeedRef,
    order: InfoOrder,
) -> Result<RecipientKey, GroupError> {
    if my_dh_public == your_dh_public || my_feed == your_feed {
        return Err(GroupError::SelfDm);
    }
    let mut mine = dh_bfe(EncryptionKeyFormat::Box2DmDh, my_dh_public);
    mine.extend_from_slice(&my_feed.to_bfe());
    let mut yours = dh_bfe(EncryptionKeyFormat::Box2DmDh, your_dh_public);
    yours.extend_from_slice(&your_feed.to_bfe());
    let key = shared_key(
        DM_SALT,
        DM_INFO_CONTEXT,
        my_dh_secret,
        &mine,
        your_dh_public,
        &yours,
        order,
    )?;
    Ok(RecipientKey::new(key, schemes::FEED_ID_DM))
}

/// The DM key between the feed `my_feed` (whose signing keys are `me`) and the feed `your_feed`,
/// their ed25519 keys converted to curve25519.
pub fn dm_key_for_feeds(
    me: &Keypair,
    my_feed: &FeedRef,
    your_feed: &FeedRef,
    order: InfoOrder,
) -> Result<RecipientKey, GroupError> {
    let my_public = crypto::ed25519_pk_to_curve25519(me.public()).map_err(|_| GroupError::BadFeedKey)?;
    let your_public = crypto::ed25519_pk_to_curve25519(&your_feed.key).map_err(|_| GroupError::BadFeedKey)?;
    dm_key_ordered(
        &me.curve25519_secret(),
        &my_public,
        my_feed,
        &your_public,
        your_feed,
        order,
    )
}

/// A P.O. Box id: a curve25519 public key, `ssb:identity/po-box/<base64url>` (BFE `07 00`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PoBoxId(pub [u8; 32]);

/// A group id: the cloaked id of the group's init message, `ssb:identity/group/<base64url>`
/// (the v1 form `%<base64>.cloaked` is also read).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct GroupId(pub [u8; 32]);

fn parse_identity_uri(s: &str, format: &str) -> Option<[u8; 32]> {
    let b64 = s
        .strip_prefix("ssb:identity/")?
        .strip_prefix(format)?
        .strip_prefix('/')?;
    let bytes = URL_SAFE.decode(b64).ok()?;
    bytes.try_into().ok()
}

impl PoBoxId {
    pub fn parse(s: &str) -> Result<PoBoxId, GroupError> {
        parse_identity_uri(s, "po-box")
            .map(PoBoxId)
            .ok_or_else(|| GroupError::BadPoBoxId(s.to_string()))
    }

    pub fn to_uri(&self) -> String {
        format!("ssb:identity/po-box/{}", URL_SAFE.encode(self.0))
    }

    /// BFE: `07 00` ‖ key.
    pub fn to_bfe(&self) -> Vec<u8> {
        let mut v = vec![TYPE_IDENTITY, 0];
        v.extend_from_slice(&self.0);
        v
    }
}

impl GroupId {
    /// `ssb:identity/group/<padded base64url>`, or the v1 `%<base64>.cloaked`.
    pub fn parse(s: &str) -> Result<GroupId, GroupError> {
        let v1 = || {
            let b64 = s.strip_prefix('%')?.strip_suffix(".cloaked")?;
            STANDARD.decode(b64).ok()?.try_into().ok()
        };
        parse_identity_uri(s, "group")
            .or_else(v1)
            .map(GroupId)
            .ok_or_else(|| GroupError::BadGroupId(s.to_string()))
    }

    pub fn to_uri(&self) -> String {
        format!("ssb:identity/group/{}", URL_SAFE.encode(self.0))
    }

    /// The v1 form, `%<base64>.cloaked`.
    pub fn to_sigil(&self) -> String {
        format!("%{}.cloaked", STANDARD.encode(self.0))
    }
}

impl std::fmt::Display for GroupId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.to_uri())
    }
}

/// The P.O. Box key as a feed writing to (or reading from) a P.O. Box: my feed's curve25519
/// DH keys and the P.O. Box id.
pub fn po_box_key_as_author(
    my_dh_secret: &[u8; 32],
    my_dh_public: &[u8; 32],
    my_feed: &FeedRef,
    po_box: &PoBoxId,
    order: InfoOrder,
) -> Result<RecipientKey, GroupError> {
    let mut mine = dh_bfe(EncryptionKeyFormat::Box2DmDh, my_dh_public);
    mine.extend_from_slice(&my_feed.to_bfe());
    let mut theirs = dh_bfe(EncryptionKeyFormat::Box2PoboxDh, &po_box.0);
    theirs.extend_from_slice(&po_box.to_bfe());
    let key = shared_key(
        PO_BOX_SALT,
        PO_BOX_INFO_CONTEXT,
        my_dh_secret,
        &mine,
        &po_box.0,
        &theirs,
        order,
    )?;
    Ok(RecipientKey::new(key, schemes::PO_BOX))
}

/// The P.O. Box key as the holder of the P.O. Box secret reading a message by `author` (whose
/// curve25519 DH public key is `author_dh_public`).
pub fn po_box_key_as_box(
    box_secret: &[u8; 32],
    po_box: &PoBoxId,
    author_dh_public: &[u8; 32],
    author: &FeedRef,
    order: InfoOrder,
) -> Result<RecipientKey, GroupError> {
    if crypto::x25519_base(box_secret) != po_box.0 {
        return Err(GroupError::KeyMismatch);
    }
    let mut mine = dh_bfe(EncryptionKeyFormat::Box2PoboxDh, &po_box.0);
    mine.extend_from_slice(&po_box.to_bfe());
    let mut theirs = dh_bfe(EncryptionKeyFormat::Box2DmDh, author_dh_public);
    theirs.extend_from_slice(&author.to_bfe());
    let key = shared_key(
        PO_BOX_SALT,
        PO_BOX_INFO_CONTEXT,
        box_secret,
        &mine,
        author_dh_public,
        &theirs,
        order,
    )?;
    Ok(RecipientKey::new(key, schemes::PO_BOX))
}

/// The group id: the cloaked id of the init message under its read key.
pub fn group_id(init_msg: &MsgRef, init_read_key: &[u8; 32]) -> GroupId {
    GroupId(box2::cloaked_msg_id(init_msg, init_read_key))
}

/// The group id from a group's init message (its id, context and ciphertext) and the group key,
/// which the spec puts in the first slot.
pub fn group_id_from_init(
    init_msg: &MsgRef,
    ctx: &Context,
    ciphertext: &[u8],
    group_key: &[u8; 32],
) -> Result<GroupId, GroupError> {
    let key = RecipientKey::new(*group_key, schemes::PRIVATE_GROUP);
    let opened = box2::open_key(ciphertext, ctx, std::slice::from_ref(&key), 1)?;
    Ok(group_id(init_msg, &opened.read_key))
}

/// Unboxes a group or DM message: keys of the group scheme on the first slot only, the others
/// (self, DM, P.O. Box) on up to `max_attempts` slots.
pub fn open(
    ciphertext: &[u8],
    ctx: &Context,
    keys: &[RecipientKey],
    max_attempts: usize,
) -> Result<Opened, Box2Error> {
    let (group, other): (Vec<RecipientKey>, Vec<RecipientKey>) = keys
        .iter()
        .cloned()
        .partition(|k| k.scheme == schemes::PRIVATE_GROUP);
    match box2::open(ciphertext, ctx, &group, 1) {
        Err(Box2Error::NotRecipient) => box2::open(ciphertext, ctx, &other, max_attempts),
        done => done,
    }
}

/// The content of a group's root `group/init` message (v2).
pub fn init_root_content(group_key: &[u8; 32]) -> Value {
    let root = || json!({"root": null, "previous": null});
    json!({
        "type": "group/init",
        "version": "v2",
        "secret": STANDARD.encode(group_key),
        "tangles": {"group": root(), "epoch": root(), "members": root()},
    })
}

/// What a `group/add-member` (v2) message says.
#[derive(Debug, Clone)]
pub struct AddMember {
    pub group_key: [u8; 32],
    /// Keys of earlier epochs, oldest first.
    pub old_keys: Vec<[u8; 32]>,
    /// The group's init message (classic).
    pub root: MsgRef,
    /// The root meta feed (bendybutt-v1) of the group's creator.
    pub creator: FeedRef,
    pub text: Option<String>,
    pub group_id: GroupId,
    /// The feeds added (bendybutt-v1 root meta feeds), 1–15.
    pub members: Vec<FeedRef>,
    /// The group tangle's previous messages (at least one).
    pub group_previous: Vec<MsgRef>,
    /// The members tangle's root (the epoch's init) and previous messages.
    pub members_root: MsgRef,
    pub members_previous: Vec<MsgRef>,
}

/// The content of a `group/add-member` message (v2). Whether it satisfies the schema is
/// [`validate`]'s business.
pub fn add_member_content(a: &AddMember) -> Value {
    let ids = |v: &[MsgRef]| v.iter().map(|m| Value::String(m.to_uri())).collect::<Vec<_>>();
    let mut c = Map::new();
    c.insert("type".into(), json!("group/add-member"));
    c.insert("version".into(), json!("v2"));
    c.insert("secret".into(), json!(STANDARD.encode(a.group_key)));
    if !a.old_keys.is_empty() {
        let old: Vec<Value> = a.old_keys.iter().map(|k| json!(STANDARD.encode(k))).collect();
        c.insert("oldSecrets".into(), Value::Array(old));
    }
    c.insert("root".into(), json!(a.root.to_uri()));
    c.insert("creator".into(), json!(a.creator.to_uri()));
    if let Some(t) = &a.text {
        c.insert("text".into(), json!(t));
    }
    let mut recps = vec![json!(a.group_id.to_uri())];
    recps.extend(a.members.iter().map(|f| json!(f.to_uri())));
    c.insert("recps".into(), Value::Array(recps));
    c.insert(
        "tangles".into(),
        json!({
            "group": {"root": a.root.to_uri(), "previous": ids(&a.group_previous)},
            "members": {"root": a.members_root.to_uri(), "previous": ids(&a.members_previous)},
        }),
    );
    Value::Object(c)
}

/// The group-message schemas of the private-group spec.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Schema {
    /// `group/init` v2 for a new group (`group/initRoot/v2/schema.json`).
    InitRoot,
    /// `group/add-member` v2 (`group/add-member/v2/schema.json`).
    AddMember,
    /// Any content posted to a group (`group/content/schema.json`).
    Content,
}

impl Schema {
    pub fn from_name(name: &str) -> Option<Schema> {
        match name {
            "init_root" => Some(Schema::InitRoot),
            "add_member" => Some(Schema::AddMember),
            "content" => Some(Schema::Content),
            _ => None,
        }
    }
}

fn bad(path: &str, problem: impl Into<String>) -> GroupError {
    GroupError::Schema {
        path: path.to_string(),
        problem: problem.into(),
    }
}

/// 42 characters of `alphabet`, one whose unused bits are zero, and `=`: canonical base64 of 32
/// bytes, as the schemas' patterns say.
fn is_b64_32(s: &str, url: bool) -> bool {
    let b = s.as_bytes();
    let in_alphabet = |c: u8| {
        c.is_ascii_alphanumeric()
            || if url {
                c == b'_' || c == b'-'
            } else {
                c == b'/' || c == b'+'
            }
    };
    b.len() == 44
        && b[..42].iter().all(|c| in_alphabet(*c))
        && b"AEIMQUYcgkosw048".contains(&b[42])
        && b[43] == b'='
}

fn check_pattern(v: &Value, path: &str, prefix: &str, url: bool, what: &str) -> Result<(), GroupError> {
    let s = v.as_str().ok_or_else(|| bad(path, "is not a string"))?;
    match s.strip_prefix(prefix) {
        Some(rest) if is_b64_32(rest, url) => Ok(()),
        _ => Err(bad(path, format!("is not {what}"))),
    }
}

fn secret(v: &Value, path: &str) -> Result<(), GroupError> {
    check_pattern(v, path, "", false, "a base64 secret of 32 bytes")
}

fn message_id(v: &Value, path: &str) -> Result<(), GroupError> {
    check_pattern(v, path, "ssb:message/classic/", true, "a classic message URI")
}

fn feed_id(v: &Value, path: &str) -> Result<(), GroupError> {
    check_pattern(v, path, "ssb:feed/bendybutt-v1/", true, "a bendybutt-v1 feed URI")
}

fn group_id_value(v: &Value, path: &str) -> Result<(), GroupError> {
    check_pattern(v, path, "ssb:identity/group/", true, "a group URI")
}

fn exact(v: &Value, path: &str, want: &str) -> Result<(), GroupError> {
    match v.as_str() {
        Some(s) if s == want => Ok(()),
        Some(_) => Err(bad(path, format!("is not {want:?}"))),
        None => Err(bad(path, "is not a string")),
    }
}

fn object<'a>(v: &'a Value, path: &str, required: &[&str]) -> Result<&'a Map<String, Value>, GroupError> {
    let o = v.as_object().ok_or_else(|| bad(path, "is not an object"))?;
    for r in required {
        if !o.contains_key(*r) {
            return Err(bad(path, format!("lacks {r}")));
        }
    }
    Ok(o)
}

fn only(o: &Map<String, Value>, path: &str, allowed: &[&str]) -> Result<(), GroupError> {
    match o.keys().find(|k| !allowed.contains(&k.as_str())) {
        Some(k) => Err(bad(path, format!("has additional property {k}"))),
        None => Ok(()),
    }
}

fn array<'a>(v: &'a Value, path: &str, min: usize, max: Option<usize>) -> Result<&'a [Value], GroupError> {
    let a = v.as_array().ok_or_else(|| bad(path, "is not an array"))?;
    if a.len() < min || max.is_some_and(|m| a.len() > m) {
        return Err(bad(path, format!("has {} items", a.len())));
    }
    Ok(a)
}

fn null_tangle(v: &Value, path: &str) -> Result<(), GroupError> {
    let o = object(v, path, &["root", "previous"])?;
    for k in ["root", "previous"] {
        if !o[k].is_null() {
            return Err(bad(&format!("{path}.{k}"), "is not null"));
        }
    }
    Ok(())
}

fn update_tangle(v: &Value, path: &str) -> Result<(), GroupError> {
    let o = object(v, path, &["root", "previous"])?;
    message_id(&o["root"], &format!("{path}.root"))?;
    let previous = array(&o["previous"], &format!("{path}.previous"), 1, None)?;
    // A tuple `items`: only the first element is constrained.
    message_id(&previous[0], &format!("{path}.previous[0]"))
}

/// Checks group-message content against one of the spec's schemas.
pub fn validate(schema: Schema, content: &Value) -> Result<(), GroupError> {
    match schema {
        Schema::InitRoot => {
            let o = object(content, "content", &["type", "version", "secret", "tangles"])?;
            only(o, "content", &["type", "version", "secret", "tangles"])?;
            exact(&o["type"], "type", "group/init")?;
            exact(&o["version"], "version", "v2")?;
            secret(&o["secret"], "secret")?;
            let t = object(&o["tangles"], "tangles", &["group", "epoch", "members"])?;
            for k in ["group", "epoch", "members"] {
                null_tangle(&t[k], &format!("tangles.{k}"))?;
            }
            Ok(())
        }
        Schema::AddMember => {
            let required = ["type", "version", "secret", "root", "creator", "recps", "tangles"];
            let o = object(content, "content", &required)?;
            only(o, "content", &[&required[..], &["oldSecrets", "text"]].concat())?;
            exact(&o["type"], "type", "group/add-member")?;
            exact(&o["version"], "version", "v2")?;
            secret(&o["secret"], "secret")?;
            if let Some(old) = o.get("oldSecrets") {
                let old = array(old, "oldSecrets", 0, None)?;
                if let Some(first) = old.first() {
                    secret(first, "oldSecrets[0]")?;
                }
            }
            message_id(&o["root"], "root")?;
            feed_id(&o["creator"], "creator")?;
            if let Some(text) = o.get("text") {
                if !text.is_string() {
                    return Err(bad("text", "is not a string"));
                }
            }
            let recps = array(&o["recps"], "recps", 2, Some(MAX_RECIPIENTS))?;
            group_id_value(&recps[0], "recps[0]")?;
            for (i, r) in recps.iter().enumerate().skip(1) {
                feed_id(r, &format!("recps[{i}]"))?;
            }
            let t = object(&o["tangles"], "tangles", &["group", "members"])?;
            update_tangle(&t["group"], "tangles.group")?;
            update_tangle(&t["members"], "tangles.members")
        }
        Schema::Content => {
            let o = object(content, "content", &["type", "recps", "tangles"])?;
            if !o["type"].is_string() {
                return Err(bad("type", "is not a string"));
            }
            let recps = array(&o["recps"], "recps", 1, Some(1))?;
            group_id_value(&recps[0], "recps[0]")?;
            let t = object(&o["tangles"], "tangles", &["group"])?;
            update_tangle(&t["group"], "tangles.group")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bendybutt::bfe::MsgFormat;
    use rand_chacha::ChaCha20Rng;
    use rand_core::SeedableRng;

    #[test]
    fn dm_key_is_shared_and_refuses_self() {
        let mut rng = ChaCha20Rng::seed_from_u64(3);
        for _ in 0..20 {
            let a = Keypair::generate(&mut rng);
            let b = Keypair::generate(&mut rng);
            let fa = FeedRef::classic(*a.public());
            let fb = FeedRef::bendybutt(*b.public());
            for order in [InfoOrder::Bytewise, InfoOrder::JsString] {
                let k1 = dm_key_for_feeds(&a, &fa, &fb, order).unwrap();
                let k2 = dm_key_for_feeds(&b, &fb, &fa, order).unwrap();
                assert_eq!(k1, k2);
                assert_eq!(k1.scheme, schemes::FEED_ID_DM);
            }
            assert_eq!(
                dm_key_for_feeds(&a, &fa, &fa, InfoOrder::Bytewise),
                Err(GroupError::SelfDm)
            );
        }
    }

    #[test]
    fn po_box_key_is_shared() {
        let mut rng = ChaCha20Rng::seed_from_u64(4);
        let a = Keypair::generate(&mut rng);
        let fa = FeedRef::classic(*a.public());
        let box_secret = [42u8; 32];
        let po = PoBoxId(crypto::x25519_base(&box_secret));
        let a_pub = crypto::ed25519_pk_to_curve25519(a.public()).unwrap();
        let k1 = po_box_key_as_author(&a.curve25519_secret(), &a_pub, &fa, &po, InfoOrder::Bytewise).unwrap();
        let k2 = po_box_key_as_box(&box_secret, &po, &a_pub, &fa, InfoOrder::Bytewise).unwrap();
        assert_eq!(k1, k2);
        assert_eq!(PoBoxId::parse(&po.to_uri()), Ok(po));
        assert_eq!(
            po_box_key_as_box(&[1; 32], &po, &a_pub, &fa, InfoOrder::Bytewise),
            Err(GroupError::KeyMismatch)
        );
    }

    #[test]
    fn js_order_is_utf16_of_lossy_utf8() {
        // 0x80 decodes to U+FFFD, above U+00E9 (c3 a9): the byte order is the other way round.
        assert_eq!(js_string_cmp(&[0x80], &[0xc3, 0xa9]), Ordering::Greater);
        assert_eq!([0x80u8].as_slice().cmp([0xc3u8, 0xa9].as_slice()), Ordering::Less);
        // A supplementary character (surrogates D800..) sorts below U+E000..U+FFFF.
        assert_eq!(
            js_string_cmp("\u{10000}".as_bytes(), "\u{e000}".as_bytes()),
            Ordering::Less
        );
        // Two different invalid bytes both decode to U+FFFD: a tie.
        assert_eq!(js_string_cmp(&[0x80], &[0x81]), Ordering::Equal);
    }

    #[test]
    fn content_builders_satisfy_their_schemas() {
        let init = init_root_content(&[7; 32]);
        assert_eq!(validate(Schema::InitRoot, &init), Ok(()));
        let mut extra = init.clone();
        extra["recps"] = json!([]);
        assert_eq!(
            validate(Schema::InitRoot, &extra).unwrap_err().kind(),
            "schema_mismatch"
        );
        let root = MsgRef::new(MsgFormat::Classic, &[1; 32]).unwrap();
        let a = AddMember {
            group_key: [7; 32],
            old_keys: vec![],
            root: root.clone(),
            creator: FeedRef::bendybutt([2; 32]),
            text: Some("welcome".into()),
            group_id: GroupId([3; 32]),
            members: vec![FeedRef::bendybutt([4; 32])],
            group_previous: vec![MsgRef::new(MsgFormat::Classic, &[5; 32]).unwrap()],
            members_root: root,
            members_previous: vec![MsgRef::new(MsgFormat::Classic, &[6; 32]).unwrap()],
        };
        let c = add_member_content(&a);
        assert_eq!(validate(Schema::AddMember, &c), Ok(()));
        let mut classic_member = c.clone();
        classic_member["recps"][1] = json!(FeedRef::classic([4; 32]).to_uri());
        assert!(validate(Schema::AddMember, &classic_member).is_err());
        // Only the first element of a tuple-typed array is checked.
        let mut odd_previous = c.clone();
        odd_previous["tangles"]["group"]["previous"]
            .as_array_mut()
            .unwrap()
            .push(json!(42));
        assert_eq!(validate(Schema::AddMember, &odd_previous), Ok(()));
    }

    #[test]
    fn ids_parse() {
        let g = GroupId([9; 32]);
        assert_eq!(GroupId::parse(&g.to_uri()), Ok(g));
        assert_eq!(GroupId::parse(&g.to_sigil()), Ok(g));
        assert!(GroupId::parse("ssb:identity/po-box/AAAA").is_err());
    }
}
