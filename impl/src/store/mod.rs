//! The reference node's message store: the [`Store`] trait that the node codes against, the
//! stored form of a message ([`StoredMsg`]), its errors, and the rules every store applies to an
//! append. Two stores implement it: [`MemoryStore`] (for simulation and tests) and [`DiskStore`]
//! (an append-only log with persisted indexes, see [`log`] and [`disk`]). [`blobs`] stores blobs
//! by their sha256, and [`doctor`] checks (and with `repair`, mends) a store directory.
//! [`recovery`] records every change made to make a store usable again, [`own_feed`] holds the
//! identity-safety checks a node makes before it opens its store, and [`verify`] checks every
//! stored message's signature when a store is opened, or [`read_check`] each record the first
//! time it is read, for stores too large to verify on open.
//!
//! Stores are sans-IO friendly in the way that matters for a deterministic simulation: they never
//! read a clock or draw randomness (the caller passes receive times), and nothing observable
//! depends on hash-map iteration order.

pub mod blobs;
pub mod disk;
pub mod doctor;
pub mod log;
pub mod memory;
pub mod own_feed;
pub mod read_check;
pub mod recovery;
pub mod verify;

pub use blobs::{BlobId, Blobs, DiskBlobs, MemoryBlobs, MAX_BLOB_SIZE};
pub use disk::{DiskStore, OpenMode, OpenReport, SyncPolicy};
pub use memory::MemoryStore;

use std::collections::BTreeMap;

use crate::identity::FeedId;
use crate::legacy::message::{Checked, MsgId};
use crate::legacy::{parse, to_signing_units, Mode, ParseError, Value};

/// One message as a store holds it.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredMsg {
    pub id: MsgId,
    pub author: FeedId,
    pub sequence: u64,
    /// The message's own `timestamp` field.
    pub timestamp: f64,
    /// Local receive time in ms, passed by the caller.
    pub received: u64,
    /// The message value as JSON text, exactly as signed (V8 `JSON.stringify(v, null, 2)`
    /// output); parsing it with the legacy JsCompat parser gives back a value that validates.
    pub value: String,
}

impl StoredMsg {
    /// The stored form of a message that has been validated (`checked` is what validation said
    /// about `value`).
    pub fn from_checked(checked: &Checked, value: &Value, received: u64) -> StoredMsg {
        StoredMsg {
            id: checked.id,
            author: checked.author,
            sequence: checked.sequence as u64,
            timestamp: checked.timestamp,
            received,
            // The signing encoding escapes lone surrogates, so it is always well-formed UTF-16.
            value: String::from_utf16_lossy(&to_signing_units(value)),
        }
    }

    /// The value parsed back with the legacy JsCompat parser.
    pub fn parse_value(&self) -> Result<Value, ParseError> {
        parse(self.value.as_bytes(), Mode::JsCompat)
    }
}

/// The head of a feed.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Latest {
    pub sequence: u64,
    pub id: MsgId,
    pub timestamp: f64,
}

/// Why a store operation failed. `kind()` names the variant for reports and adapters.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("i/o error: {0}")]
    Io(#[from] std::io::Error),
    /// The message is not the next one of its feed (the first message of a feed has sequence 1).
    #[error("{author} sequence {got} is out of order: expected {expected}")]
    OutOfOrder { author: FeedId, expected: u64, got: u64 },
    /// A message with this id is already stored (or comes earlier in the same batch).
    #[error("message {id} is already stored")]
    Duplicate { id: MsgId },
    /// A message value or blob larger than the store accepts.
    #[error("{what} of {size} bytes is larger than the limit of {max}")]
    TooLarge { what: &'static str, size: u64, max: u64 },
    /// Stored data that is not what was written (bad checksum, bad framing, a record that does
    /// not decode, a blob whose content does not hash to its id...).
    #[error("store is corrupt: {0}")]
    Corrupt(String),
    /// An earlier write or fsync failed in a way that leaves the store's state on disk unknown;
    /// the store refuses further writes. Reopening it recovers.
    #[error("store refuses writes after an earlier failure: {0}")]
    Poisoned(String),
}

impl StoreError {
    pub fn kind(&self) -> &'static str {
        match self {
            StoreError::Io(_) => "io",
            StoreError::OutOfOrder { .. } => "out_of_order",
            StoreError::Duplicate { .. } => "duplicate",
            StoreError::TooLarge { .. } => "too_large",
            StoreError::Corrupt(_) => "corrupt",
            StoreError::Poisoned(_) => "poisoned",
        }
    }
}

/// A message store. Every implementation gives the same answers for the same appends.
pub trait Store: Send {
    /// Appends messages the caller has validated. Refuses (typed error, nothing written) a
    /// message whose sequence is not latest+1 for its author or whose id is already stored.
    /// A batch is all or nothing: if any message is refused, none is appended.
    fn append(&mut self, msgs: &[StoredMsg]) -> Result<(), StoreError>;
    /// Makes every appended message durable (fsync for the disk store). The node acknowledges
    /// only after this.
    fn sync(&mut self) -> Result<(), StoreError>;
    fn latest(&self, author: &FeedId) -> Option<Latest>;
    fn get(&self, author: &FeedId, sequence: u64) -> Result<Option<StoredMsg>, StoreError>;
    fn get_by_id(&self, id: &MsgId) -> Result<Option<StoredMsg>, StoreError>;
    /// Messages of one feed with sequence >= from, at most `limit`, in sequence order. A record
    /// that cannot be read (or, verifying on read, fails) makes the whole call an error.
    fn range(&self, author: &FeedId, from: u64, limit: usize) -> Result<Vec<StoredMsg>, StoreError>;
    /// Every feed with its latest sequence, sorted by FeedId.
    fn feeds(&self) -> Vec<(FeedId, u64)>;
    /// Number of messages stored.
    fn len(&self) -> u64;
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// The store as `Any`, for a harness that needs its concrete type (a simulator tearing the
    /// unsynced tail of a crashed host's store). `None` unless a store opts in.
    fn as_any_mut(&mut self) -> Option<&mut dyn std::any::Any> {
        None
    }
}

/// The largest message value (JSON text, in UTF-8 bytes) a store accepts. A valid message is at
/// most 8192 UTF-16 units, at most 3 UTF-8 bytes each, so this never refuses one.
pub const MAX_VALUE_BYTES: usize = log::MAX_PAYLOAD - log::PAYLOAD_FIXED;

/// Checks a batch against the rules of [`Store::append`], given the stores's current heads and a
/// way to ask whether an id is stored. Both stores use it, so they refuse the same batches with
/// the same errors: for each message in order, first the size, then a duplicate id, then the
/// sequence.
pub(crate) fn check_batch(
    msgs: &[StoredMsg],
    latest: impl Fn(&FeedId) -> u64,
    has_id: impl Fn(&MsgId) -> bool,
) -> Result<(), StoreError> {
    let mut heads: BTreeMap<FeedId, u64> = BTreeMap::new();
    let mut ids: std::collections::BTreeSet<MsgId> = std::collections::BTreeSet::new();
    for m in msgs {
        if m.value.len() > MAX_VALUE_BYTES {
            return Err(StoreError::TooLarge {
                what: "message value",
                size: m.value.len() as u64,
                max: MAX_VALUE_BYTES as u64,
            });
        }
        if has_id(&m.id) || !ids.insert(m.id) {
            return Err(StoreError::Duplicate { id: m.id });
        }
        let head = heads.entry(m.author).or_insert_with(|| latest(&m.author));
        let expected = *head + 1;
        if m.sequence != expected {
            return Err(StoreError::OutOfOrder {
                author: m.author,
                expected,
                got: m.sequence,
            });
        }
        *head = expected;
    }
    Ok(())
}
