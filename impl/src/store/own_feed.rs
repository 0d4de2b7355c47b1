//! Identity safety for a data directory: the evidence that a node's own feed was published from
//! it, and the check a node makes before it opens the store, so that losing `log.bin` never
//! makes it publish its own feed again from sequence 1 (a fork every peer would see).
//!
//! # The marker
//!
//! `DIR/own-feed.json` is written by the disk store the first time it syncs a message of its
//! owner's feed (see [`super::DiskStore::set_owner`]) and rewritten whenever the owner's head
//! moves on: `{"id":"@….ed25519","sequence":N}`, the highest own sequence known durable in the
//! log. It is written after the log's fsync (it never claims more than the log held), through a
//! temporary file and a rename; the first one is fsynced with its directory.
//!
//! # The start check
//!
//! [`inspect`] looks at the directory *before* the store is opened (opening an empty log
//! rewrites `index.bin`, the last evidence of the old records). [`Evidence::lost_log`] says why
//! the directory cannot be a new feed's: the log is missing or holds no record while the index
//! has entries, blobs are stored, or the marker says the owner published. The node then refuses
//! to start unless told the feed is new. After opening, [`own_feed_behind`] compares the
//! marker with the log: a log restored from an older copy holds fewer of the owner's messages
//! than the marker says were published.

use std::fs::{self, OpenOptions};
use std::io::{self, Write};
use std::path::Path;

use super::blobs::{walk, Found};
use super::log::{
    INDEX_ENTRY_LEN, INDEX_FILE, INDEX_HEADER_LEN, LOG_FILE, LOG_HEADER_LEN, PAYLOAD_FIXED, RECORD_HEADER_LEN,
};
use crate::identity::FeedId;

/// The marker file.
pub const MARKER_FILE: &str = "own-feed.json";

/// The largest marker read (a marker is under 100 bytes).
const MAX_MARKER: u64 = 4096;

/// What the marker says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Marker {
    pub id: FeedId,
    /// The highest own sequence written to the log and synced.
    pub sequence: u64,
}

impl Marker {
    pub fn encode(&self) -> Vec<u8> {
        let mut v = serde_json::to_vec(&serde_json::json!({
            "id": self.id.to_string(),
            "sequence": self.sequence,
        }))
        .expect("a JSON object serializes");
        v.push(b'\n');
        v
    }

    pub fn decode(bytes: &[u8]) -> Result<Marker, String> {
        let v: serde_json::Value =
            serde_json::from_slice(bytes).map_err(|e| format!("{MARKER_FILE} is not JSON: {e}"))?;
        let id = v
            .get("id")
            .and_then(|i| i.as_str())
            .ok_or_else(|| format!("{MARKER_FILE} has no id"))?;
        let id = FeedId::parse(id).map_err(|e| format!("{MARKER_FILE}: id: {e}"))?;
        let sequence = v
            .get("sequence")
            .and_then(|s| s.as_u64())
            .ok_or_else(|| format!("{MARKER_FILE} has no sequence"))?;
        Ok(Marker { id, sequence })
    }
}

/// Reads the marker; `Ok(None)` when there is none.
pub fn read_marker(dir: &Path) -> io::Result<Option<Result<Marker, String>>> {
    let path = dir.join(MARKER_FILE);
    let len = match fs::metadata(&path) {
        Ok(m) => m.len(),
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e),
    };
    if len > MAX_MARKER {
        return Ok(Some(Err(format!(
            "{MARKER_FILE} is {len} bytes, more than a marker"
        ))));
    }
    Ok(Some(Marker::decode(&fs::read(&path)?)))
}

/// Writes the marker through a temporary file and a rename; `durable` fsyncs it and the
/// directory.
pub fn write_marker(dir: &Path, m: &Marker, durable: bool) -> io::Result<()> {
    let tmp = dir.join("own-feed.json.tmp");
    let mut f = OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .open(&tmp)?;
    f.write_all(&m.encode())?;
    if durable {
        f.sync_all()?;
    }
    drop(f);
    fs::rename(&tmp, dir.join(MARKER_FILE))?;
    if durable {
        super::log::sync_dir(dir)?;
    }
    Ok(())
}

/// What a data directory holds, looked at before the store opens it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Evidence {
    /// `log.bin` exists.
    pub log_exists: bool,
    /// `log.bin` is long enough to hold a record.
    pub log_has_records: bool,
    /// Entries `index.bin` claims (from its length; not checked).
    pub index_entries: u64,
    /// Blobs stored (files in the blob layout).
    pub blobs: u64,
    /// The marker, if any (an unreadable one counts as evidence too).
    pub marker: Option<Result<Marker, String>>,
}

impl Evidence {
    /// Why the directory looks like it held a feed whose log is gone: `None` if the log holds
    /// records or nothing else points to earlier use.
    pub fn lost_log(&self) -> Option<String> {
        if self.log_has_records {
            return None;
        }
        let mut why = Vec::new();
        if self.index_entries > 0 {
            why.push(format!("{INDEX_FILE} indexes {} records", self.index_entries));
        }
        if self.blobs > 0 {
            why.push(format!("{} blobs are stored", self.blobs));
        }
        match &self.marker {
            Some(Ok(m)) => why.push(format!(
                "{MARKER_FILE} says {} published up to sequence {}",
                m.id, m.sequence
            )),
            Some(Err(e)) => why.push(format!("{MARKER_FILE} exists ({e})")),
            None => {}
        }
        if why.is_empty() {
            return None;
        }
        let log = if self.log_exists {
            format!("{LOG_FILE} holds no record")
        } else {
            format!("{LOG_FILE} is missing")
        };
        Some(format!("{log} but {}", why.join(", ")))
    }
}

/// Looks at `dir` without changing anything.
pub fn inspect(dir: &Path) -> io::Result<Evidence> {
    let mut ev = Evidence::default();
    match fs::metadata(dir.join(LOG_FILE)) {
        Ok(m) => {
            ev.log_exists = true;
            ev.log_has_records = m.len() >= LOG_HEADER_LEN + RECORD_HEADER_LEN + PAYLOAD_FIXED as u64;
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => return Err(e),
    }
    match fs::metadata(dir.join(INDEX_FILE)) {
        Ok(m) => ev.index_entries = m.len().saturating_sub(INDEX_HEADER_LEN) / INDEX_ENTRY_LEN as u64,
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => return Err(e),
    }
    if dir.is_dir() {
        ev.blobs = walk(dir)?
            .iter()
            .filter(|f| matches!(f, Found::Blob { .. }))
            .count() as u64;
    }
    ev.marker = read_marker(dir)?;
    Ok(ev)
}

/// Why a node must not start (or must not publish yet) on a data directory.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdentityError {
    /// The log is gone but other evidence of the feed is there.
    #[error(
        "refusing to start: {0}. Starting would publish this feed again from sequence 1, a fork \
         every peer would refuse. Restore log.bin from a backup, or start with \
         --i-know-this-feed-is-new if the feed really is new (its old messages are then lost to \
         this node)"
    )]
    LostLog(String),
    /// The marker names another feed than the key the node runs with.
    #[error(
        "refusing to start: {MARKER_FILE} says this data directory publishes {marker}, but the key \
         is {key}. Use the right key, or --i-know-this-feed-is-new to take the directory over"
    )]
    OtherFeed { marker: FeedId, key: FeedId },
}

/// The start check for a node with key `me`: an error if the directory must not be used as it
/// is (unless `allow_new`).
pub fn check_start(ev: &Evidence, me: &FeedId, allow_new: bool) -> Result<(), IdentityError> {
    if allow_new {
        return Ok(());
    }
    if let Some(why) = ev.lost_log() {
        return Err(IdentityError::LostLog(why));
    }
    if let Some(Ok(m)) = &ev.marker {
        if m.id != *me {
            return Err(IdentityError::OtherFeed {
                marker: m.id,
                key: *me,
            });
        }
    }
    Ok(())
}

/// How far the log is behind what the marker says `me` published: `Some((in_log, marker))` when
/// the log holds fewer of `me`'s messages than the marker records.
pub fn own_feed_behind(marker: Option<&Marker>, me: &FeedId, in_log: u64) -> Option<(u64, u64)> {
    let m = marker?;
    (m.id == *me && m.sequence > in_log).then_some((in_log, m.sequence))
}
