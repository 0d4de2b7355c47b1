//! The envelope format (box2, ssbc/envelope-spec v1): encryption of one message to up to 16
//! recipient keys, bound to its place in a feed.
//!
//! Layout: `header_box(32) ‖ key_slot_1 … key_slot_n (32 each) ‖ extensions ‖ body_box`.
//!
//! - Every key comes from the message's one-time `msg_key` through `DeriveSecret`:
//!   `read_key = Derive(msg_key, ["read_key"])`, `header_key = Derive(read_key, ["header_key"])`,
//!   `body_key = Derive(read_key, ["body_key"])`, where
//!   `Derive(key, labels) = HKDF-Expand-SHA256(key, SLP(["envelope", feed_id, prev_msg_id, …labels]), 32)`
//!   and the ids are BFE (type-format-key) encoded. A first message has no previous id: the
//!   spec then uses the message id of the feed's format with an all-zero key.
//! - `header_box = secretbox(offset_u16_le ‖ flags ‖ 13 extension bytes, zero nonce, header_key)`;
//!   `offset` is where the body box starts.
//! - `key_slot = msg_key XOR Derive(recipient_key, ["slot_key", scheme])`.
//! - The extensions region between the slots and the body is not specified yet (WIP upstream);
//!   this implementation uses it only for padding, which readers skip by the header's offset.
//! - `body_box = secretbox(plaintext, zero nonce, body_key)`.
//!
//! Unboxing tries each trial key on each of the first `max_attempts` slots (a slot is only tried
//! when at least a body authenticator and one byte follow it) and takes the first whose derived
//! `header_key` opens the header box. The private-group spec lets a message have 16 slots and
//! tells readers to look 16 deep; envelope-js looks 8 deep unless told otherwise.

use rand_core::CryptoRngCore;

use crate::bendybutt::bfe::{decode_msg_or_nil, FeedFormat, FeedRef, MsgFormat, MsgRef, RefError};
use crate::crypto::{self, SECRETBOX_MAC_LEN};

use super::kdf;

/// Bytes of the header box: a 16-byte authenticator and the 16-byte header.
pub const HEADER_BOX_LEN: usize = 32;
/// Bytes of one key slot.
pub const SLOT_LEN: usize = 32;
/// The most recipients (key slots) a message may have (private-group spec).
pub const MAX_RECIPIENTS: usize = 16;
/// How many slots a reader tries by default: the private-group spec's 16.
pub const DEFAULT_MAX_ATTEMPTS: usize = 16;
/// envelope-js's default, for comparison.
pub const ENVELOPE_JS_MAX_ATTEMPTS: usize = 8;
/// The shortest envelope with a slot to try: header box, one slot, body authenticator, one byte.
pub const MIN_LEN: usize = HEADER_BOX_LEN + SLOT_LEN + SECRETBOX_MAC_LEN + 1;

const ZERO_NONCE: [u8; 24] = [0; 24];

/// The `DeriveSecret` and cloaked-id labels (envelope-spec `derive_secret/constants.json`,
/// `cloaked_msg_id/constants.json`).
pub mod labels {
    pub const ENVELOPE: &str = "envelope";
    pub const READ_KEY: &str = "read_key";
    pub const HEADER_KEY: &str = "header_key";
    pub const BODY_KEY: &str = "body_key";
    pub const SLOT_KEY: &str = "slot_key";
    pub const CLOAKED_MSG_ID: &str = "cloaked_msg_id";
}

/// Why boxing or unboxing failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Box2Error {
    #[error("box requires a non-empty plaintext")]
    EmptyPlaintext,
    #[error("box requires a msg_key that is not all zero")]
    ZeroMsgKey,
    #[error("box requires at least one recipient")]
    NoRecipients,
    #[error("{got} recipients; at most {max}")]
    TooManyRecipients { got: usize, max: usize },
    #[error("the body would start at byte {offset}, past the 16-bit offset")]
    TooLarge { offset: usize },
    #[error("DeriveSecret refuses an empty label")]
    EmptyLabel,
    #[error("DeriveSecret label of {len} bytes does not fit SLP's 16-bit length")]
    LabelTooLong { len: usize },
    #[error("feed id: {0}")]
    BadFeed(RefError),
    #[error("previous message id: {0}")]
    BadPrevious(RefError),
    #[error("no nil previous id is defined for {0:?} feeds")]
    NilPreviousFormat(FeedFormat),
    /// No tried slot yielded a key that opens the header box (also: the envelope is too short to
    /// hold a slot, or a read key does not open the header).
    #[error("no key opens the header")]
    NotRecipient,
    #[error("header offset {offset} does not point at a body inside the envelope")]
    BadOffset { offset: u16 },
    #[error("the header opened but the body does not")]
    BadBody,
}

impl Box2Error {
    /// The adapter-protocol error kind.
    pub fn kind(&self) -> &'static str {
        match self {
            Box2Error::EmptyPlaintext => "empty_plaintext",
            Box2Error::ZeroMsgKey => "zero_msg_key",
            Box2Error::NoRecipients => "no_recipients",
            Box2Error::TooManyRecipients { .. } => "too_many_recipients",
            Box2Error::TooLarge { .. } => "too_large",
            Box2Error::EmptyLabel => "empty_label",
            Box2Error::LabelTooLong { .. } => "label_too_long",
            Box2Error::BadFeed(_) | Box2Error::BadPrevious(_) => "invalid_context",
            Box2Error::NilPreviousFormat(_) => "unsupported_feed_format",
            Box2Error::NotRecipient => "not_recipient",
            Box2Error::BadOffset { .. } => "bad_offset",
            Box2Error::BadBody => "bad_body",
        }
    }
}

/// A key to box to or to try: 32 bytes and the name of its key-management scheme.
#[derive(Clone, PartialEq, Eq)]
pub struct RecipientKey {
    pub key: [u8; 32],
    pub scheme: String,
}

impl RecipientKey {
    pub fn new(key: [u8; 32], scheme: &str) -> Self {
        RecipientKey {
            key,
            scheme: scheme.to_string(),
        }
    }
}

impl std::fmt::Debug for RecipientKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "RecipientKey({})", self.scheme)
    }
}

/// Where a message sits: its author's feed id and its previous message id, BFE encoded. Every
/// key of the envelope is bound to them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Context {
    feed: Vec<u8>,
    previous: Vec<u8>,
}

impl Context {
    /// The context of a message by `feed` after `previous` (`None` for a feed's first message).
    pub fn new(feed: &FeedRef, previous: Option<&MsgRef>) -> Result<Context, Box2Error> {
        let previous = match previous {
            Some(p) => p.to_bfe(),
            None => nil_previous(feed.format)?,
        };
        Ok(Context {
            feed: feed.to_bfe(),
            previous,
        })
    }

    /// From BFE bytes; `previous` may be BFE nil (`06 02`).
    pub fn from_bfe(feed: &[u8], previous: &[u8]) -> Result<Context, Box2Error> {
        let feed = FeedRef::from_bfe(feed).map_err(Box2Error::BadFeed)?;
        let previous = decode_msg_or_nil(previous).map_err(Box2Error::BadPrevious)?;
        Context::new(&feed, previous.as_ref())
    }

    /// The feed id as BFE.
    pub fn feed_bfe(&self) -> &[u8] {
        &self.feed
    }

    /// The previous message id as BFE (the zero-key id for a first message).
    pub fn previous_bfe(&self) -> &[u8] {
        &self.previous
    }

    /// `DeriveSecret`: HKDF-Expand-SHA256 of `key` with the SLP of
    /// `["envelope", feed, previous, …labels]`, 32 bytes. Labels must be non-empty (as
    /// envelope-js requires) and at most 65535 bytes.
    pub fn derive(&self, key: &[u8; 32], labels: &[&[u8]]) -> Result<[u8; 32], Box2Error> {
        if labels.iter().any(|l| l.is_empty()) {
            return Err(Box2Error::EmptyLabel);
        }
        let mut info: Vec<&[u8]> = Vec::with_capacity(3 + labels.len());
        info.extend_from_slice(&[labels::ENVELOPE.as_bytes(), &self.feed, &self.previous]);
        info.extend_from_slice(labels);
        let info = kdf::slp_encode(&info).map_err(|e| Box2Error::LabelTooLong { len: e.len })?;
        Ok(kdf::hkdf_expand32(key, &info))
    }

    fn derive_label(&self, key: &[u8; 32], label: &str) -> [u8; 32] {
        self.derive(key, &[label.as_bytes()])
            .expect("the spec's labels are short and non-empty")
    }

    /// The XOR mask of a recipient's key slot: `Derive(key, ["slot_key", scheme])`.
    pub fn slot_mask(&self, recipient: &RecipientKey) -> Result<[u8; 32], Box2Error> {
        self.derive(
            &recipient.key,
            &[labels::SLOT_KEY.as_bytes(), recipient.scheme.as_bytes()],
        )
    }

    /// `msg_key → read_key`.
    pub fn read_key(&self, msg_key: &[u8; 32]) -> [u8; 32] {
        self.derive_label(msg_key, labels::READ_KEY)
    }

    /// `read_key → header_key`.
    pub fn header_key(&self, read_key: &[u8; 32]) -> [u8; 32] {
        self.derive_label(read_key, labels::HEADER_KEY)
    }

    /// `read_key → body_key`.
    pub fn body_key(&self, read_key: &[u8; 32]) -> [u8; 32] {
        self.derive_label(read_key, labels::BODY_KEY)
    }
}

/// The previous id of a feed's first message: the feed format's message id with a zero key
/// (the mapping envelope-js applies; other feed formats have none).
fn nil_previous(feed: FeedFormat) -> Result<Vec<u8>, Box2Error> {
    let format = match feed {
        FeedFormat::Classic => MsgFormat::Classic,
        FeedFormat::GabbyGroveV1 => MsgFormat::GabbyGroveV1,
        FeedFormat::BendyButtV1 => MsgFormat::BendyButtV1,
        FeedFormat::ButtwooV1 => MsgFormat::ButtwooV1,
        other => return Err(Box2Error::NilPreviousFormat(other)),
    };
    Ok(MsgRef::new(format, &vec![0u8; format.id_len()])
        .expect("the zero id has the format's length")
        .to_bfe())
}

fn xor32(a: &[u8; 32], b: &[u8]) -> [u8; 32] {
    let mut out = *a;
    for (o, x) in out.iter_mut().zip(b) {
        *o ^= x;
    }
    out
}

/// A key slot for `recipient`.
pub fn slot(ctx: &Context, msg_key: &[u8; 32], recipient: &RecipientKey) -> Result<[u8; 32], Box2Error> {
    Ok(xor32(msg_key, &ctx.slot_mask(recipient)?))
}

/// The `msg_key` a slot holds for `recipient` (garbage when the slot is not theirs).
pub fn unslot(ctx: &Context, slot: &[u8; 32], recipient: &RecipientKey) -> Result<[u8; 32], Box2Error> {
    Ok(xor32(slot, &ctx.slot_mask(recipient)?))
}

/// The decrypted 16-byte header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    /// Where the body box starts.
    pub offset: u16,
    /// Which extensions are active; none is defined yet, so readers ignore it.
    pub flags: u8,
    pub extensions: [u8; 13],
}

impl Header {
    fn encode(&self) -> [u8; 16] {
        let mut h = [0u8; 16];
        h[..2].copy_from_slice(&self.offset.to_le_bytes());
        h[2] = self.flags;
        h[3..].copy_from_slice(&self.extensions);
        h
    }

    fn decode(h: &[u8]) -> Header {
        Header {
            offset: u16::from_le_bytes([h[0], h[1]]),
            flags: h[2],
            extensions: h[3..16].try_into().expect("16-byte header"),
        }
    }
}

/// Boxes `plaintext` for 1–16 recipients, with `padding` (bytes the caller chose, random for
/// real messages) between the slots and the body.
pub fn seal(
    plaintext: &[u8],
    ctx: &Context,
    msg_key: &[u8; 32],
    recipients: &[RecipientKey],
    padding: &[u8],
) -> Result<Vec<u8>, Box2Error> {
    seal_with(plaintext, ctx, msg_key, recipients, padding, MAX_RECIPIENTS, 0)
}

/// [`seal`] with a `msg_key` drawn from `rng` and no padding.
pub fn seal_random(
    rng: &mut impl CryptoRngCore,
    plaintext: &[u8],
    ctx: &Context,
    recipients: &[RecipientKey],
) -> Result<Vec<u8>, Box2Error> {
    let mut msg_key = [0u8; 32];
    while msg_key == [0u8; 32] {
        rng.fill_bytes(&mut msg_key);
    }
    seal(plaintext, ctx, &msg_key, recipients, &[])
}

/// [`seal`] with a recipient limit other than 16 and the header's flags byte chosen: for tests
/// and vectors that need envelopes the spec does not allow writers to make.
pub fn seal_with(
    plaintext: &[u8],
    ctx: &Context,
    msg_key: &[u8; 32],
    recipients: &[RecipientKey],
    padding: &[u8],
    max_recipients: usize,
    flags: u8,
) -> Result<Vec<u8>, Box2Error> {
    if plaintext.is_empty() {
        return Err(Box2Error::EmptyPlaintext);
    }
    if msg_key == &[0u8; 32] {
        return Err(Box2Error::ZeroMsgKey);
    }
    if recipients.is_empty() {
        return Err(Box2Error::NoRecipients);
    }
    if recipients.len() > max_recipients {
        return Err(Box2Error::TooManyRecipients {
            got: recipients.len(),
            max: max_recipients,
        });
    }
    let offset = HEADER_BOX_LEN + recipients.len() * SLOT_LEN + padding.len();
    let offset16 = u16::try_from(offset).map_err(|_| Box2Error::TooLarge { offset })?;
    let slots = recipients
        .iter()
        .map(|r| slot(ctx, msg_key, r))
        .collect::<Result<Vec<_>, _>>()?;
    let read_key = ctx.read_key(msg_key);
    let header = Header {
        offset: offset16,
        flags,
        extensions: [0; 13],
    };
    let mut out = Vec::with_capacity(offset + SECRETBOX_MAC_LEN + plaintext.len());
    out.extend_from_slice(&crypto::secretbox_seal(
        &ctx.header_key(&read_key),
        &ZERO_NONCE,
        &header.encode(),
    ));
    for s in &slots {
        out.extend_from_slice(s);
    }
    out.extend_from_slice(padding);
    out.extend_from_slice(&crypto::secretbox_seal(
        &ctx.body_key(&read_key),
        &ZERO_NONCE,
        plaintext,
    ));
    Ok(out)
}

/// How many slots a reader tries in an envelope of `len` bytes, at most `max_attempts`: slot `j`
/// is tried when a body authenticator and at least one byte follow it.
pub fn slots_to_try(len: usize, max_attempts: usize) -> usize {
    if len < MIN_LEN {
        0
    } else {
        max_attempts.min((len - MIN_LEN) / SLOT_LEN + 1)
    }
}

/// What opening the header gave.
#[derive(Clone, PartialEq, Eq)]
pub struct OpenedKey {
    pub read_key: [u8; 32],
    /// The slot (0-based) that held our key.
    pub slot: usize,
    /// Which trial key opened it.
    pub key_index: usize,
    pub header: Header,
}

impl std::fmt::Debug for OpenedKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "OpenedKey {{ slot: {}, key_index: {}, header: {:?} }}",
            self.slot, self.key_index, self.header
        )
    }
}

/// A fully opened envelope.
#[derive(Clone, PartialEq, Eq)]
pub struct Opened {
    pub plaintext: Vec<u8>,
    pub key: OpenedKey,
}

impl std::fmt::Debug for Opened {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Opened {{ {} bytes, {:?} }}", self.plaintext.len(), self.key)
    }
}

fn open_header(ciphertext: &[u8], ctx: &Context, read_key: &[u8; 32]) -> Option<Header> {
    let boxed = ciphertext.get(..HEADER_BOX_LEN)?;
    crypto::secretbox_open(&ctx.header_key(read_key), &ZERO_NONCE, boxed)
        .ok()
        .map(|h| Header::decode(&h))
}

/// Tries every trial key on the first `max_attempts` slots; the read key and header of the
/// first that opens the header box.
pub fn open_key(
    ciphertext: &[u8],
    ctx: &Context,
    trial_keys: &[RecipientKey],
    max_attempts: usize,
) -> Result<OpenedKey, Box2Error> {
    let slots = slots_to_try(ciphertext.len(), max_attempts);
    if slots == 0 {
        return Err(Box2Error::NotRecipient);
    }
    for (key_index, recipient) in trial_keys.iter().enumerate() {
        let mask = ctx.slot_mask(recipient)?;
        for j in 0..slots {
            let start = HEADER_BOX_LEN + j * SLOT_LEN;
            let msg_key = xor32(&mask, &ciphertext[start..start + SLOT_LEN]);
            let read_key = ctx.read_key(&msg_key);
            if let Some(header) = open_header(ciphertext, ctx, &read_key) {
                return Ok(OpenedKey {
                    read_key,
                    slot: j,
                    key_index,
                    header,
                });
            }
        }
    }
    Err(Box2Error::NotRecipient)
}

fn open_body(ciphertext: &[u8], ctx: &Context, key: OpenedKey) -> Result<Opened, Box2Error> {
    let offset = key.header.offset;
    let start = usize::from(offset);
    let min = HEADER_BOX_LEN + (key.slot + 1) * SLOT_LEN;
    if start < min || start + SECRETBOX_MAC_LEN > ciphertext.len() {
        return Err(Box2Error::BadOffset { offset });
    }
    let plaintext = crypto::secretbox_open(&ctx.body_key(&key.read_key), &ZERO_NONCE, &ciphertext[start..])
        .map_err(|_| Box2Error::BadBody)?;
    Ok(Opened { plaintext, key })
}

/// Unboxes with trial keys, looking `max_attempts` slots deep. The body must start after the
/// slot that opened and leave room for its authenticator.
pub fn open(
    ciphertext: &[u8],
    ctx: &Context,
    trial_keys: &[RecipientKey],
    max_attempts: usize,
) -> Result<Opened, Box2Error> {
    let key = open_key(ciphertext, ctx, trial_keys, max_attempts)?;
    open_body(ciphertext, ctx, key)
}

/// Unboxes with a message's read key (a read capability someone entrusted). The body must start
/// after the first slot.
pub fn open_with_read_key(
    ciphertext: &[u8],
    ctx: &Context,
    read_key: &[u8; 32],
) -> Result<Opened, Box2Error> {
    let header = open_header(ciphertext, ctx, read_key).ok_or(Box2Error::NotRecipient)?;
    open_body(
        ciphertext,
        ctx,
        OpenedKey {
            read_key: *read_key,
            slot: 0,
            key_index: 0,
            header,
        },
    )
}

/// The cloaked id of a published envelope (envelope-spec `cloaked_msg_id`): HKDF-Expand of its
/// read key over the SLP of `["cloaked_msg_id", BFE(msg_id)]`. 32 bytes, not BFE encoded.
pub fn cloaked_msg_id(msg_id: &MsgRef, read_key: &[u8; 32]) -> [u8; 32] {
    let info = kdf::slp_encode(&[labels::CLOAKED_MSG_ID.as_bytes(), &msg_id.to_bfe()])
        .expect("a message id is at most 66 bytes");
    kdf::hkdf_expand32(read_key, &info)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx() -> Context {
        Context::new(&FeedRef::classic([1; 32]), None).unwrap()
    }

    fn recps(n: usize) -> Vec<RecipientKey> {
        (0..n)
            .map(|i| RecipientKey::new([i as u8 + 1; 32], "envelope-large-symmetric-group"))
            .collect()
    }

    #[test]
    fn round_trip_every_slot() {
        let c = ctx();
        for n in 1..=16 {
            let r = recps(n);
            let ct = seal(b"hi", &c, &[9; 32], &r, &[]).unwrap();
            assert_eq!(ct.len(), 32 + 32 * n + 16 + 2);
            for (i, k) in r.iter().enumerate() {
                let o = open(&ct, &c, std::slice::from_ref(k), 16).unwrap();
                assert_eq!(o.plaintext, b"hi");
                assert_eq!(o.key.slot, i);
                let by_read = open_with_read_key(&ct, &c, &o.key.read_key).unwrap();
                assert_eq!(by_read.plaintext, b"hi");
                if i >= 8 {
                    assert_eq!(
                        open(&ct, &c, std::slice::from_ref(k), 8),
                        Err(Box2Error::NotRecipient)
                    );
                }
            }
        }
        assert_eq!(
            seal(b"hi", &c, &[9; 32], &recps(17), &[]),
            Err(Box2Error::TooManyRecipients { got: 17, max: 16 })
        );
    }

    #[test]
    fn refusals() {
        let c = ctx();
        let r = recps(1);
        assert_eq!(seal(b"", &c, &[9; 32], &r, &[]), Err(Box2Error::EmptyPlaintext));
        assert_eq!(seal(b"x", &c, &[0; 32], &r, &[]), Err(Box2Error::ZeroMsgKey));
        assert_eq!(seal(b"x", &c, &[9; 32], &[], &[]), Err(Box2Error::NoRecipients));
        let empty_scheme = [RecipientKey::new([1; 32], "")];
        assert_eq!(
            seal(b"x", &c, &[9; 32], &empty_scheme, &[]),
            Err(Box2Error::EmptyLabel)
        );
        let pad = vec![0u8; 65536 - 64];
        assert_eq!(
            seal(b"x", &c, &[9; 32], &r, &pad),
            Err(Box2Error::TooLarge { offset: 65536 })
        );
        let ct = seal(b"x", &c, &[9; 32], &r, &[]).unwrap();
        for len in 0..ct.len() {
            assert!(open(&ct[..len], &c, &r, 16).is_err());
        }
    }

    #[test]
    fn nil_previous_per_format() {
        let bb = Context::new(&FeedRef::bendybutt([2; 32]), None).unwrap();
        assert_eq!(&bb.previous_bfe()[..2], &[1, 4]);
        assert!(bb.previous_bfe()[2..].iter().all(|b| *b == 0));
        assert_eq!(
            Context::new(&FeedRef::new(FeedFormat::Bamboo, [2; 32]), None),
            Err(Box2Error::NilPreviousFormat(FeedFormat::Bamboo))
        );
        let from_nil = Context::from_bfe(&FeedRef::classic([1; 32]).to_bfe(), &[6, 2]).unwrap();
        assert_eq!(from_nil, ctx());
    }
}
