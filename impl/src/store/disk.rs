//! [`DiskStore`]: messages in an append-only log on disk, with in-memory indexes that are also
//! persisted. The file formats are in [`super::log`].
//!
//! # Layout
//!
//! `DIR/log.bin` is the log, the only source of truth. `DIR/index.bin` is derived data: one
//! fixed-size entry per record, in log order. In memory the store keeps, per feed, the location
//! (offset, length) of each of its records by sequence and the feed's head, and a map from message
//! id to location (`BTreeMap`s); values stay on disk and `get` reads them back with a positioned
//! read, checking the record's checksum and that it is the record asked for.
//!
//! # Writes and fsync
//!
//! `append` checks the whole batch first (sequence is latest + 1, id not stored, size), then
//! writes all its records with one positioned write at the end of the log; if the write fails
//! the log is cut back to its previous length (if even that fails, the store is poisoned and
//! refuses further writes until reopened). Nothing is fsynced by `append` under the default
//! [`SyncPolicy::OnSync`]: `sync` fsyncs the log (`fdatasync`), and only then writes the index
//! entries of the records appended since the last sync, so that the persisted index never
//! covers log bytes that are not durable. The index itself is never fsynced: after a crash it
//! may be behind, torn or ahead of the log, and open notices and repairs that. A failed fsync
//! poisons the store (the kernel may have dropped the dirty pages; retrying would lie).
//! [`SyncPolicy::EveryAppend`] syncs at the end of every append; [`SyncPolicy::Never`] never
//! fsyncs (tests and benches; `sync` still writes the index entries). Creating the log fsyncs it
//! and its directory.
//!
//! # Open
//!
//! Open checks the header, then (in the default [`OpenMode::Verify`]) reads every record,
//! checking its framing and checksum, that its payload decodes and that each feed's sequences
//! run 1, 2, 3... with no id twice. A bad record after which no good record follows is a torn
//! tail: the log is cut there (and fsynced) and [`OpenReport`] says how many bytes went. A bad
//! record with good records after it is corruption in the middle: open fails with
//! [`StoreError::Corrupt`] and leaves the file as it is ([`super::doctor`] tells more). The
//! persisted index is then compared entry by entry with the log: a correct prefix is completed
//! (`index_caught_up`), anything else (missing, bad header or checksum, ahead of the log, a
//! different entry) is rewritten from the log (`index_rebuilt`). [`OpenMode::TrustIndex`] takes
//! the records the index covers on trust once the index is consistent in itself and its first
//! and last records match the log, and scans only the log after it; a damaged record among the
//! trusted ones is then found by the `get` that reads it, or by the doctor.
//!
//! # Verify on read
//!
//! [`DiskStore::verify_on_read`] makes every read check the record's signature, hash, fields and
//! chaining the first time it is read ([`super::read_check`]); a record that fails is refused.
//!
//! The store does not lock its directory: one `DiskStore` per directory at a time.

use std::collections::BTreeMap;
use std::fs::{File, OpenOptions};
use std::io::{self, BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};

use super::log::{
    self, damaged_complete_record, decode_head, decode_payload, encode_record, index_header, log_header,
    read_at, record_crc, sync_dir, write_at, IndexEntry, Scanner, Step, INDEX_ENTRY_LEN, INDEX_FILE,
    INDEX_HEADER_LEN, LOG_FILE, LOG_HEADER_LEN, MAX_PAYLOAD, PAYLOAD_FIXED, RECORD_HEADER_LEN,
};
use super::own_feed::{self, Marker};
use super::read_check::{Arming, ReadCheck, ReadCheckStats};
use super::recovery::{self, Recovery};
use super::{check_batch, Latest, Store, StoreError, StoredMsg};
use crate::identity::FeedId;
use crate::legacy::message::MsgId;

/// When the disk store fsyncs its log.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SyncPolicy {
    /// At the end of every `append`.
    EveryAppend,
    /// Only in `sync()`.
    #[default]
    OnSync,
    /// Never (tests and benches): nothing is durable.
    Never,
}

/// How much of the log open reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OpenMode {
    /// Read and check every record.
    #[default]
    Verify,
    /// Trust the records a consistent index covers; read only the log after them.
    TrustIndex,
}

/// What open found and did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OpenReport {
    /// Records in the log after recovery.
    pub records: u64,
    /// Feeds in the log.
    pub feeds: u64,
    /// Length of the log after recovery, header included.
    pub log_bytes: u64,
    /// Whether the log was created by this open.
    pub created: bool,
    /// Bytes cut from a torn tail (or a torn header).
    pub truncated_bytes: u64,
    /// Why they were cut.
    pub truncated_reason: Option<String>,
    /// Records whose checksum this open checked (all of them under [`OpenMode::Verify`]).
    pub records_checked: u64,
    /// Whether `index.bin` was missing or wrong and was rewritten from the log.
    pub index_rebuilt: bool,
    /// Why it was rewritten.
    pub index_reason: Option<String>,
    /// Entries added to an index that was a correct but incomplete account of the log.
    pub index_caught_up: u64,
    /// Every change open made to make the store usable (also logged at WARN and appended to
    /// `recovery.log`).
    pub recoveries: Vec<Recovery>,
}

impl OpenReport {
    /// Whether open had to change anything but a missing index on a new store.
    pub fn recovered(&self) -> bool {
        !self.recoveries.is_empty()
    }
}

/// Where a record is in the log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Loc {
    offset: u64,
    /// Payload length.
    len: u32,
}

#[derive(Debug)]
struct Feed {
    /// `locs[i]` is the record of sequence `i + 1`.
    locs: Vec<Loc>,
    latest: Latest,
}

/// The in-memory indexes.
#[derive(Debug, Default)]
struct Indexes {
    feeds: BTreeMap<FeedId, Feed>,
    ids: BTreeMap<MsgId, Loc>,
}

impl Indexes {
    fn latest_seq(&self, author: &FeedId) -> u64 {
        self.feeds.get(author).map_or(0, |f| f.latest.sequence)
    }

    /// Adds a record, checking that it is the next of its feed and that its id is new.
    fn add(&mut self, e: &IndexEntry) -> Result<(), String> {
        let expected = self.latest_seq(&e.author) + 1;
        if e.sequence != expected {
            return Err(format!(
                "{} sequence {} where {expected} was expected",
                e.author, e.sequence
            ));
        }
        if self.ids.contains_key(&e.id) {
            return Err(format!("message {} appears twice", e.id));
        }
        self.insert(e);
        Ok(())
    }

    fn insert(&mut self, e: &IndexEntry) {
        let loc = Loc {
            offset: e.offset,
            len: e.len,
        };
        let latest = Latest {
            sequence: e.sequence,
            id: e.id,
            timestamp: e.timestamp,
        };
        self.ids.insert(e.id, loc);
        self.feeds
            .entry(e.author)
            .and_modify(|f| {
                f.locs.push(loc);
                f.latest = latest;
            })
            .or_insert_with(|| Feed {
                locs: vec![loc],
                latest,
            });
    }
}

/// A message store on disk.
#[derive(Debug)]
pub struct DiskStore {
    dir: PathBuf,
    policy: SyncPolicy,
    log: File,
    /// Length of the log (the next record goes here).
    log_len: u64,
    /// `index.bin`, or `None` once writing it failed (the next open rebuilds it).
    index: Option<File>,
    /// Entries in `index.bin`.
    index_entries: u64,
    /// Entries of records appended since the last sync, not yet in `index.bin`.
    pending: Vec<IndexEntry>,
    idx: Indexes,
    poisoned: Option<String>,
    scratch: Vec<u8>,
    /// The node's own feed, whose head the marker ([`own_feed`]) records.
    owner: Option<FeedId>,
    /// The sequence the marker holds now.
    marker_seq: u64,
    /// Verify on read ([`super::read_check`]), when turned on.
    read_check: Option<ReadCheck>,
}

fn corrupt(what: impl Into<String>) -> StoreError {
    StoreError::Corrupt(what.into())
}

/// Why `index.bin` cannot be used as it is.
#[derive(Debug, Clone)]
pub(crate) struct IndexFault {
    pub missing: bool,
    pub why: String,
}

impl IndexFault {
    fn bad(why: impl Into<String>) -> Self {
        IndexFault {
            missing: false,
            why: why.into(),
        }
    }
}

/// Reads `index.bin`: every entry, or why it cannot be used (missing, bad header, a partial or
/// damaged entry). Entries are only decoded, not checked against each other or the log.
pub(crate) fn load_index(dir: &Path) -> Result<Result<Vec<IndexEntry>, IndexFault>, StoreError> {
    let file = match File::open(dir.join(INDEX_FILE)) {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            return Ok(Err(IndexFault {
                missing: true,
                why: "index.bin is missing".into(),
            }))
        }
        Err(e) => return Err(e.into()),
    };
    let len = file.metadata()?.len();
    if len < INDEX_HEADER_LEN {
        return Ok(Err(IndexFault::bad(format!(
            "index.bin is {len} bytes, shorter than its header"
        ))));
    }
    let body = len - INDEX_HEADER_LEN;
    if !body.is_multiple_of(INDEX_ENTRY_LEN as u64) {
        return Ok(Err(IndexFault::bad(format!(
            "index.bin ends with a partial entry ({} bytes)",
            body % INDEX_ENTRY_LEN as u64
        ))));
    }
    let mut r = BufReader::with_capacity(1 << 20, file);
    let mut header = [0u8; INDEX_HEADER_LEN as usize];
    r.read_exact(&mut header)?;
    if header != index_header() {
        return Ok(Err(IndexFault::bad(
            "index.bin has a bad header (magic, version or entry size)",
        )));
    }
    let n = body / INDEX_ENTRY_LEN as u64;
    let mut entries = Vec::new();
    let mut b = [0u8; INDEX_ENTRY_LEN];
    for i in 0..n {
        r.read_exact(&mut b)?;
        match IndexEntry::decode(&b) {
            Ok(e) => entries.push(e),
            Err(why) => return Ok(Err(IndexFault::bad(format!("index entry {i}: {why}")))),
        }
    }
    Ok(Ok(entries))
}

/// Writes `index.bin` afresh (through a temporary file and a rename); returns it open for
/// appending more entries.
pub(crate) fn write_index(dir: &Path, entries: &[IndexEntry]) -> io::Result<File> {
    let tmp = dir.join("index.bin.tmp");
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(true)
        .open(&tmp)?;
    let mut w = BufWriter::with_capacity(1 << 20, &file);
    w.write_all(&index_header())?;
    for e in entries {
        w.write_all(&e.encode())?;
    }
    w.flush()?;
    drop(w);
    std::fs::rename(&tmp, dir.join(INDEX_FILE))?;
    Ok(file)
}

/// Reads and checks the record at `loc`.
fn read_record(file: &File, loc: Loc) -> Result<StoredMsg, StoreError> {
    let mut buf = vec![0u8; RECORD_HEADER_LEN as usize + loc.len as usize];
    read_at(file, loc.offset, &mut buf).map_err(|e| {
        if e.kind() == io::ErrorKind::UnexpectedEof {
            corrupt(format!(
                "record at offset {} is past the end of the log",
                loc.offset
            ))
        } else {
            StoreError::Io(e)
        }
    })?;
    let len = u32::from_le_bytes(buf[0..4].try_into().expect("4 bytes"));
    let crc = u32::from_le_bytes(buf[4..8].try_into().expect("4 bytes"));
    let payload = &buf[RECORD_HEADER_LEN as usize..];
    if len != loc.len || record_crc(len, payload) != crc {
        return Err(corrupt(format!(
            "record at offset {} has a bad length or checksum",
            loc.offset
        )));
    }
    decode_payload(payload).map_err(|why| corrupt(format!("record at offset {}: {why}", loc.offset)))
}

/// The result of reading the log.
struct Scanned {
    entries: Vec<IndexEntry>,
    idx: Indexes,
    end: u64,
    checked: u64,
}

/// Reads the records of `[start, file_len)` into `s`; cuts a torn tail (and reports it);
/// refuses corruption in the middle.
fn scan_log(
    log: &File,
    start: u64,
    file_len: u64,
    s: &mut Scanned,
    report: &mut OpenReport,
) -> Result<(), StoreError> {
    let mut sc = Scanner::new(log, start, file_len);
    loop {
        match sc.next_step()? {
            Step::End => break,
            Step::Record { offset, payload } => {
                let len = payload.len() as u32;
                let head = decode_head(payload)
                    .map_err(|why| corrupt(format!("record at offset {offset}: {why}")))?;
                let e = IndexEntry::new(offset, len, &head);
                s.idx
                    .add(&e)
                    .map_err(|why| corrupt(format!("record at offset {offset}: {why}")))?;
                s.entries.push(e);
                s.checked += 1;
            }
            Step::Bad {
                offset,
                reason,
                resync: Some(next),
            } => {
                return Err(corrupt(format!(
                    "record at offset {offset}: {reason}; a good record follows at offset {next}"
                )))
            }
            Step::Bad {
                offset,
                reason,
                resync: None,
            } => {
                if let Some(damage) = damaged_complete_record(log, offset, file_len)? {
                    return Err(corrupt(format!(
                        "record at offset {offset}: {reason}: {damage}. Open does not drop it; \
                         `doctor --repair` cuts it (and records that in recovery.log)"
                    )));
                }
                report.truncated_bytes = file_len - offset;
                report.truncated_reason = Some(format!("torn tail at offset {offset}: {reason}"));
                s.end = offset;
                return Ok(());
            }
        }
    }
    s.end = sc.position();
    Ok(())
}

/// Checks that a loaded index is consistent in itself and with the log's ends, for
/// [`OpenMode::TrustIndex`]; returns the indexes and the log offset it covers.
fn trust_index(log: &File, file_len: u64, entries: &[IndexEntry]) -> Result<(Indexes, u64), String> {
    let mut idx = Indexes::default();
    let mut at = LOG_HEADER_LEN;
    for (i, e) in entries.iter().enumerate() {
        if e.offset != at {
            return Err(format!(
                "entry {i} is at offset {} where {at} was expected",
                e.offset
            ));
        }
        if (e.len as usize) < PAYLOAD_FIXED || e.len as usize > MAX_PAYLOAD {
            return Err(format!("entry {i} has length {}", e.len));
        }
        idx.add(e).map_err(|why| format!("entry {i}: {why}"))?;
        at = e.end();
    }
    if at > file_len {
        return Err(format!("index covers {at} bytes, the log has {file_len}"));
    }
    for e in [entries.first(), entries.last()].into_iter().flatten() {
        let loc = Loc {
            offset: e.offset,
            len: e.len,
        };
        let m = read_record(log, loc).map_err(|err| format!("indexed record: {err}"))?;
        if m.author != e.author || m.sequence != e.sequence || m.id != e.id {
            return Err(format!("record at offset {} is not the one indexed", e.offset));
        }
    }
    Ok((idx, at))
}

/// Turns what open did into [`Recovery`] records: logged at WARN and appended to
/// `recovery.log`. A failure to append is logged and does not fail the open (the store itself
/// is sound).
fn record_recoveries(dir: &Path, report: &mut OpenReport) {
    let kept = report.records;
    let mut found = Vec::new();
    if report.truncated_bytes > 0 {
        let reason = report.truncated_reason.clone().unwrap_or_default();
        let header = reason == "torn log header";
        found.push(Recovery {
            action: if header {
                "torn_header_rewritten"
            } else {
                "torn_tail_cut"
            }
            .into(),
            by: "open".into(),
            records_kept: kept,
            records_dropped: 0,
            bytes_cut: report.truncated_bytes,
            offset: Some(if header { 0 } else { report.log_bytes }),
            detail: reason,
        });
    }
    if report.index_rebuilt {
        found.push(Recovery {
            action: "index_rebuilt".into(),
            by: "open".into(),
            records_kept: kept,
            records_dropped: 0,
            bytes_cut: 0,
            offset: None,
            detail: report.index_reason.clone().unwrap_or_default(),
        });
    }
    if report.index_caught_up > 0 {
        found.push(Recovery {
            action: "index_caught_up".into(),
            by: "open".into(),
            records_kept: kept,
            records_dropped: 0,
            bytes_cut: 0,
            offset: None,
            detail: format!(
                "{} index entries added after the log's last synced records",
                report.index_caught_up
            ),
        });
    }
    for r in &found {
        let _ = recovery::record(dir, r);
    }
    report.recoveries = found;
}

impl DiskStore {
    /// Opens (creating if needed) the store in `dir`, checking every record.
    pub fn open(dir: &Path, policy: SyncPolicy) -> Result<(DiskStore, OpenReport), StoreError> {
        Self::open_with(dir, policy, OpenMode::Verify)
    }

    /// Opens the store in `dir`, reading as much of the log as `mode` says.
    pub fn open_with(
        dir: &Path,
        policy: SyncPolicy,
        mode: OpenMode,
    ) -> Result<(DiskStore, OpenReport), StoreError> {
        std::fs::create_dir_all(dir)?;
        let mut report = OpenReport::default();
        let log = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(dir.join(LOG_FILE))?;
        let mut file_len = log.metadata()?.len();
        let header = log_header();
        if file_len < LOG_HEADER_LEN {
            let mut b = vec![0u8; file_len as usize];
            read_at(&log, 0, &mut b)?;
            if b[..] != header[..b.len()] {
                return Err(corrupt("log.bin does not start with the log header"));
            }
            if file_len > 0 {
                report.truncated_bytes = file_len;
                report.truncated_reason = Some("torn log header".into());
            }
            report.created = file_len == 0;
            log.set_len(0)?;
            write_at(&log, 0, &header)?;
            if policy != SyncPolicy::Never {
                log.sync_all()?;
                sync_dir(dir)?;
            }
            file_len = LOG_HEADER_LEN;
        } else {
            let mut b = [0u8; LOG_HEADER_LEN as usize];
            read_at(&log, 0, &mut b)?;
            if b[..8] != log::LOG_MAGIC {
                return Err(corrupt("log.bin does not start with the log magic"));
            }
            if b != header {
                return Err(corrupt(format!(
                    "log.bin has format version {} (flags {:?}); this store reads version {}",
                    u32::from_le_bytes(b[8..12].try_into().expect("4 bytes")),
                    &b[12..16],
                    log::LOG_VERSION
                )));
            }
        }

        let loaded = load_index(dir)?;
        let mut s = Scanned {
            entries: Vec::new(),
            idx: Indexes::default(),
            end: LOG_HEADER_LEN,
            checked: 0,
        };
        // Under TrustIndex, a consistent index stands for the log it covers.
        let mut trusted = false;
        if let (OpenMode::TrustIndex, Ok(entries)) = (mode, &loaded) {
            if let Ok((idx, covered)) = trust_index(&log, file_len, entries) {
                s.idx = idx;
                s.entries = entries.clone();
                s.end = covered;
                trusted = true;
            }
        }
        let start = s.end;
        scan_log(&log, start, file_len, &mut s, &mut report)?;
        if s.end < file_len {
            log.set_len(s.end)?;
            if policy != SyncPolicy::Never {
                log.sync_all()?;
            }
        }

        // Bring index.bin in line with the log.
        let index_ok = match &loaded {
            Ok(ie) if trusted => Ok(ie.len()),
            Ok(ie) if ie.len() > s.entries.len() => Err(format!(
                "index.bin has {} entries, the log {} records",
                ie.len(),
                s.entries.len()
            )),
            Ok(ie) => match ie.iter().zip(&s.entries).position(|(a, b)| !a.same_as(b)) {
                Some(i) => Err(format!("index entry {i} does not match the log")),
                None => Ok(ie.len()),
            },
            Err(fault) => Err(fault.why.clone()),
        };
        let (index, index_entries) = match index_ok {
            Ok(n) => {
                let file = OpenOptions::new().write(true).open(dir.join(INDEX_FILE))?;
                let missing = &s.entries[n..];
                if !missing.is_empty() {
                    // Index only durable log bytes.
                    if policy != SyncPolicy::Never {
                        log.sync_data()?;
                    }
                    let bytes: Vec<u8> = missing.iter().flat_map(|e| e.encode()).collect();
                    write_at(
                        &file,
                        INDEX_HEADER_LEN + n as u64 * INDEX_ENTRY_LEN as u64,
                        &bytes,
                    )?;
                    report.index_caught_up = missing.len() as u64;
                }
                (file, s.entries.len() as u64)
            }
            Err(why) => {
                if policy != SyncPolicy::Never {
                    log.sync_data()?;
                }
                // A new store (or one whose every record was a torn tail) has no index yet:
                // writing the first one is not a recovery.
                let new_store = s.entries.is_empty()
                    && matches!(&loaded, Err(f) if f.missing)
                    && report.truncated_bytes == 0;
                report.index_rebuilt = !new_store;
                report.index_reason = Some(why);
                (write_index(dir, &s.entries)?, s.entries.len() as u64)
            }
        };

        report.records = s.entries.len() as u64;
        report.feeds = s.idx.feeds.len() as u64;
        report.log_bytes = s.end;
        report.records_checked = s.checked;
        record_recoveries(dir, &mut report);
        let store = DiskStore {
            dir: dir.to_path_buf(),
            policy,
            log,
            log_len: s.end,
            index: Some(index),
            index_entries,
            pending: Vec::new(),
            idx: s.idx,
            poisoned: None,
            scratch: Vec::new(),
            owner: None,
            marker_seq: 0,
            read_check: None,
        };
        Ok((store, report))
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Makes `me` the owner of this store: from now on, each `sync` that makes more of `me`'s
    /// messages durable records the new head in the own-feed marker ([`own_feed`]). Returns
    /// the marker as it was (`None` if absent or unreadable).
    pub fn set_owner(&mut self, me: FeedId) -> io::Result<Option<Marker>> {
        let marker = own_feed::read_marker(&self.dir)?.and_then(Result::ok);
        self.owner = Some(me);
        self.marker_seq = marker.filter(|m| m.id == me).map_or(0, |m| m.sequence);
        self.update_marker();
        Ok(marker)
    }

    /// Writes the marker if the owner's durable head moved past it. A failure is logged: the
    /// marker is a safety net, not the data.
    fn update_marker(&mut self) {
        let Some(me) = self.owner else { return };
        let head = self.idx.latest_seq(&me);
        if head <= self.marker_seq {
            return;
        }
        let first = self.marker_seq == 0;
        let m = Marker {
            id: me,
            sequence: head,
        };
        match own_feed::write_marker(&self.dir, &m, first && self.policy != SyncPolicy::Never) {
            Ok(()) => self.marker_seq = head,
            Err(e) => tracing::warn!(dir = %self.dir.display(), "could not write the own-feed marker: {e}"),
        }
    }

    pub fn policy(&self) -> SyncPolicy {
        self.policy
    }

    /// Length of the log in bytes, header included.
    pub fn log_bytes(&self) -> u64 {
        self.log_len
    }

    fn check_writable(&self) -> Result<(), StoreError> {
        match &self.poisoned {
            Some(why) => Err(StoreError::Poisoned(why.clone())),
            None => Ok(()),
        }
    }

    fn read_checked(&self, loc: Loc, author: &FeedId, sequence: u64) -> Result<StoredMsg, StoreError> {
        let m = read_record(&self.log, loc)?;
        if m.author != *author || m.sequence != sequence {
            return Err(corrupt(format!(
                "record at offset {} holds {} sequence {}, not {author} sequence {sequence}",
                loc.offset, m.author, m.sequence
            )));
        }
        self.verify_read(loc, &m)?;
        Ok(m)
    }

    /// Turns on verification on read ([`super::read_check`]): from now on every record is
    /// verified (signature, hash, fields, chaining) the first time it is read, and refused if it
    /// fails. For stores too large to verify when opened.
    pub fn verify_on_read(&mut self, hmac_key: Option<[u8; 32]>) {
        self.read_check = Some(ReadCheck::new(hmac_key, true));
    }

    /// Verification on read that starts when the returned handle is armed: reads before that
    /// (a node's start-up pass over its whole log) are not verified.
    pub fn verify_on_read_later(&mut self, hmac_key: Option<[u8; 32]>) -> Arming {
        let rc = ReadCheck::new(hmac_key, false);
        let arming = rc.arming();
        self.read_check = Some(rc);
        arming
    }

    /// What verification on read has done, when it is on.
    pub fn read_check_stats(&self) -> Option<ReadCheckStats> {
        self.read_check.as_ref().map(ReadCheck::stats)
    }

    /// Verification on read of `m`, read at `loc`, when it is on.
    fn verify_read(&self, loc: Loc, m: &StoredMsg) -> Result<(), StoreError> {
        let Some(rc) = &self.read_check else {
            return Ok(());
        };
        if !rc.needs_check(loc.offset).map_err(corrupt)? {
            return Ok(());
        }
        let previous = match m.sequence {
            0 | 1 => None,
            n => {
                let feed = self.idx.feeds.get(&m.author);
                let before = feed.and_then(|f| usize::try_from(n - 2).ok().and_then(|i| f.locs.get(i)));
                match before {
                    Some(l) => Some(read_record(&self.log, *l)?.id),
                    None => {
                        return Err(corrupt(format!(
                            "record at offset {}: {} sequence {} has no record before it",
                            loc.offset, m.author, m.sequence
                        )))
                    }
                }
            }
        };
        rc.check(loc.offset, m, previous).map_err(corrupt)
    }
}

impl Store for DiskStore {
    fn append(&mut self, msgs: &[StoredMsg]) -> Result<(), StoreError> {
        self.check_writable()?;
        check_batch(
            msgs,
            |a| self.idx.latest_seq(a),
            |id| self.idx.ids.contains_key(id),
        )?;
        if msgs.is_empty() {
            return Ok(());
        }
        self.scratch.clear();
        let mut entries = Vec::with_capacity(msgs.len());
        let mut at = self.log_len;
        for m in msgs {
            let len = encode_record(m, &mut self.scratch)?;
            let e = IndexEntry::for_msg(at, len, m);
            at = e.end();
            entries.push(e);
        }
        if let Err(e) = write_at(&self.log, self.log_len, &self.scratch) {
            if let Err(e2) = self.log.set_len(self.log_len) {
                self.poisoned = Some(format!(
                    "a write failed ({e}) and cutting the log back failed too ({e2})"
                ));
            }
            return Err(e.into());
        }
        for e in &entries {
            self.idx.insert(e);
        }
        self.log_len = at;
        self.pending.extend(entries);
        if self.policy == SyncPolicy::EveryAppend {
            self.sync()?;
        }
        Ok(())
    }

    fn sync(&mut self) -> Result<(), StoreError> {
        self.check_writable()?;
        if self.policy != SyncPolicy::Never {
            if let Err(e) = self.log.sync_data() {
                self.poisoned = Some(format!("fsync of the log failed: {e}"));
                return Err(e.into());
            }
        }
        if self.pending.is_empty() {
            return Ok(());
        }
        self.update_marker();
        if let Some(index) = &self.index {
            let bytes: Vec<u8> = self.pending.iter().flat_map(|e| e.encode()).collect();
            let at = INDEX_HEADER_LEN + self.index_entries * INDEX_ENTRY_LEN as u64;
            match write_at(index, at, &bytes) {
                Ok(()) => self.index_entries += self.pending.len() as u64,
                // The index is derived data: stop writing it; the next open rebuilds it.
                Err(_) => self.index = None,
            }
        }
        self.pending.clear();
        Ok(())
    }

    fn latest(&self, author: &FeedId) -> Option<Latest> {
        self.idx.feeds.get(author).map(|f| f.latest)
    }

    fn get(&self, author: &FeedId, sequence: u64) -> Result<Option<StoredMsg>, StoreError> {
        let Some(feed) = self.idx.feeds.get(author) else {
            return Ok(None);
        };
        let Some(i) = sequence.checked_sub(1).and_then(|i| usize::try_from(i).ok()) else {
            return Ok(None);
        };
        match feed.locs.get(i) {
            Some(loc) => self.read_checked(*loc, author, sequence).map(Some),
            None => Ok(None),
        }
    }

    fn get_by_id(&self, id: &MsgId) -> Result<Option<StoredMsg>, StoreError> {
        let Some(loc) = self.idx.ids.get(id) else {
            return Ok(None);
        };
        let m = read_record(&self.log, *loc)?;
        if m.id != *id {
            return Err(corrupt(format!(
                "record at offset {} holds {}, not {id}",
                loc.offset, m.id
            )));
        }
        self.verify_read(*loc, &m)?;
        Ok(Some(m))
    }

    fn range(&self, author: &FeedId, from: u64, limit: usize) -> Result<Vec<StoredMsg>, StoreError> {
        let Some(feed) = self.idx.feeds.get(author) else {
            return Ok(Vec::new());
        };
        let start = usize::try_from(from.max(1) - 1).unwrap_or(usize::MAX);
        let locs = feed.locs.iter().enumerate().skip(start).take(limit);
        locs.map(|(i, loc)| self.read_checked(*loc, author, i as u64 + 1))
            .collect()
    }

    fn feeds(&self) -> Vec<(FeedId, u64)> {
        self.idx
            .feeds
            .iter()
            .map(|(a, f)| (*a, f.latest.sequence))
            .collect()
    }

    fn len(&self) -> u64 {
        self.idx.ids.len() as u64
    }
}
