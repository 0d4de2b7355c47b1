//! The store doctor: reads a store directory (`log.bin`, `index.bin`, `blobs/`) without trusting
//! any of it, and says what is wrong. It checks every record's framing and checksum, parses each
//! value with the legacy JsCompat parser and validates it again as a message of its feed
//! (signature, first message at sequence 1, `previous` and sequence chaining, in log order),
//! checks that the record's stored id, author, sequence and timestamp are the message's and that
//! its text is exactly the signing encoding, compares `index.bin` with the log, and re-hashes
//! every blob. With `repair` it cuts a torn tail, rebuilds the index from the log (only when the
//! log is otherwise sound) and removes leftover temporary blob files; it never drops a good
//! record, so corruption in the middle of the log, invalid messages and damaged blobs are
//! reported and left for a human. The one bad record it does cut is a damaged *last* record
//! (complete, bad checksum, nothing good after it), which the store refuses to open with; each
//! repair is appended to `recovery.log` like the store's own recoveries.
//!
//! It also reports the past recoveries `recovery.log` holds, a log that is missing or empty
//! while the index, blobs or the own-feed marker show the directory was in use (`log_lost`),
//! and a log holding fewer of the owner's messages than the marker records (`own_feed_behind`).

use std::collections::{BTreeMap, BTreeSet};
use std::fs::{File, OpenOptions};
use std::io;
use std::path::{Path, PathBuf};

use super::blobs::{read_checked, walk, Found};
use super::disk::{load_index, write_index};
use super::log::{
    damaged_complete_record, decode_payload, log_header, write_at, IndexEntry, Scanner, Step, LOG_FILE,
    LOG_HEADER_LEN,
};
use super::own_feed;
use super::recovery::{self, Recovery};
use super::StoreError;
use crate::feed::{validate_next, FeedState};
use crate::identity::FeedId;
use crate::legacy::message::{check_message, MsgId};
use crate::legacy::{parse, to_signing_units, Mode};

/// One thing the doctor found wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// What kind of problem: `log_missing`, `bad_header`, `torn_header`, `torn_tail`,
    /// `corrupt_record`, `undecodable_record`, `out_of_order`, `duplicate_id`,
    /// `damaged_record`, `log_lost`, `own_feed_behind`,
    /// `unparsable_value`, `invalid_message`, `record_mismatch`, `non_canonical_value`,
    /// `index_missing`, `index_inconsistent`, `index_behind`, `blob_mismatch`, `blob_unreadable`,
    /// `blob_temp`, `blob_stray`.
    pub kind: &'static str,
    /// Where in the log, for log problems.
    pub offset: Option<u64>,
    pub detail: String,
    /// Whether `repair` fixed it.
    pub repaired: bool,
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.kind)?;
        if let Some(o) = self.offset {
            write!(f, " at offset {o}")?;
        }
        write!(f, ": {}", self.detail)?;
        if self.repaired {
            write!(f, " (repaired)")?;
        }
        Ok(())
    }
}

/// What the doctor found and did.
#[derive(Debug, Clone, Default)]
pub struct DoctorReport {
    pub dir: PathBuf,
    /// Length of the log as found.
    pub log_bytes: u64,
    /// Records with a good checksum.
    pub records: u64,
    pub feeds: u64,
    /// Messages whose signature (and place in their feed) verified.
    pub signatures_verified: u64,
    /// Entries in `index.bin` (0 if unreadable).
    pub index_entries: u64,
    pub blobs: u64,
    pub blob_bytes: u64,
    pub problems: Vec<Problem>,
    /// What `repair` did.
    pub repairs: Vec<String>,
    /// Past recoveries, from `recovery.log`.
    pub history: recovery::History,
    /// Each feed's last sequence in the log.
    pub own_heads: BTreeMap<FeedId, u64>,
}

impl DoctorReport {
    /// No problem found.
    pub fn is_clean(&self) -> bool {
        self.problems.is_empty()
    }

    /// Problems that are damage, not the normal state after a crash: everything except an index
    /// that is a correct prefix of the log (`index_behind`: the index is written after the log's
    /// fsync and not fsynced itself, so a crash leaves it behind, and open catches it up).
    pub fn corruption(&self) -> impl Iterator<Item = &Problem> {
        self.problems.iter().filter(|p| p.kind != "index_behind")
    }

    /// No damage found (an index behind the log is not damage; see [`DoctorReport::corruption`]).
    pub fn is_sound(&self) -> bool {
        self.corruption().next().is_none()
    }

    /// Problems that are still there (found and not repaired).
    pub fn unrepaired(&self) -> impl Iterator<Item = &Problem> {
        self.problems.iter().filter(|p| !p.repaired)
    }

    /// Whether some problem of this kind was found.
    pub fn has(&self, kind: &str) -> bool {
        self.problems.iter().any(|p| p.kind == kind)
    }

    fn problem(&mut self, kind: &'static str, offset: Option<u64>, detail: impl Into<String>) -> usize {
        self.problems.push(Problem {
            kind,
            offset,
            detail: detail.into(),
            repaired: false,
        });
        self.problems.len() - 1
    }
}

impl std::fmt::Display for DoctorReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}: {} records in {} feeds ({} signatures verified), {} index entries, {} blobs ({} bytes): ",
            self.dir.display(),
            self.records,
            self.feeds,
            self.signatures_verified,
            self.index_entries,
            self.blobs,
            self.blob_bytes
        )?;
        if self.is_clean() {
            writeln!(f, "clean")?;
            for l in self.history_lines() {
                writeln!(f, "{l}")?;
            }
            return Ok(());
        }
        let repaired = self.problems.iter().filter(|p| p.repaired).count();
        let n = self.problems.len();
        let s = if n == 1 { "" } else { "s" };
        writeln!(f, "{n} problem{s}, {repaired} repaired")?;
        const SHOWN: usize = 20;
        for p in self.problems.iter().take(SHOWN) {
            writeln!(f, "  problem: {p}")?;
        }
        if self.problems.len() > SHOWN {
            writeln!(f, "  ... and {} more problems", self.problems.len() - SHOWN)?;
        }
        for r in &self.repairs {
            writeln!(f, "  repaired: {r}")?;
        }
        for l in self.history_lines() {
            writeln!(f, "{l}")?;
        }
        Ok(())
    }
}

impl DoctorReport {
    /// The past recoveries, as lines to print after the report.
    pub fn history_lines(&self) -> Vec<String> {
        let h = &self.history;
        if h.recoveries.is_empty() && h.unreadable_lines == 0 {
            return vec!["past recoveries: none recorded".into()];
        }
        let dropped: u64 = h.recoveries.iter().map(|r| r.records_dropped).sum();
        let cut: u64 = h.recoveries.iter().map(|r| r.bytes_cut).sum();
        let mut out = vec![format!(
            "past recoveries: {}{} ({dropped} records dropped, {cut} bytes cut in all){}",
            h.recoveries.len(),
            if h.truncated { " or more" } else { "" },
            if h.unreadable_lines > 0 {
                format!(", {} unreadable lines", h.unreadable_lines)
            } else {
                String::new()
            }
        )];
        const SHOWN: usize = 10;
        let skip = h.recoveries.len().saturating_sub(SHOWN);
        if skip > 0 {
            out.push(format!("  ... {skip} earlier ones"));
        }
        for r in &h.recoveries[skip..] {
            out.push(format!("  recovery: {r}"));
        }
        out
    }
}

/// Checks the store in `dir` (messages signed without an HMAC key); with `repair`, mends what
/// can be mended without losing data.
pub fn run(dir: &Path, repair: bool) -> Result<DoctorReport, StoreError> {
    run_with(dir, repair, None)
}

/// [`run`] for a network whose messages are signed with the HMAC key `hmac_key`.
pub fn run_with(dir: &Path, repair: bool, hmac_key: Option<&[u8; 32]>) -> Result<DoctorReport, StoreError> {
    if !dir.is_dir() {
        return Err(io::Error::new(
            io::ErrorKind::NotFound,
            format!("{} is not a directory", dir.display()),
        )
        .into());
    }
    let mut r = DoctorReport {
        dir: dir.to_path_buf(),
        ..Default::default()
    };
    check_own_feed(dir, &mut r)?;
    check_log(dir, repair, hmac_key, &mut r)?;
    check_blobs(dir, repair, &mut r)?;
    check_marker(dir, &mut r)?;
    r.history = recovery::history(dir)?;
    Ok(r)
}

/// Only the log, without repairing, for [`super::verify`].
pub(crate) fn check_log_only(dir: &Path, hmac_key: Option<&[u8; 32]>) -> Result<DoctorReport, StoreError> {
    let mut r = DoctorReport {
        dir: dir.to_path_buf(),
        ..Default::default()
    };
    check_log(dir, false, hmac_key, &mut r)?;
    Ok(r)
}

/// A log that is gone while the rest of the directory shows it was in use.
fn check_own_feed(dir: &Path, r: &mut DoctorReport) -> Result<(), StoreError> {
    let ev = own_feed::inspect(dir)?;
    if let Some(why) = ev.lost_log() {
        r.problem(
            "log_lost",
            None,
            format!("{why}: a node starting here would fork its own feed; restore log.bin"),
        );
    }
    Ok(())
}

/// The marker against the log (after `check_log`, which counts the feeds).
fn check_marker(dir: &Path, r: &mut DoctorReport) -> Result<(), StoreError> {
    let Some(Ok(m)) = own_feed::read_marker(dir)? else {
        return Ok(());
    };
    let in_log = r.own_heads.get(&m.id).copied().unwrap_or(0);
    if let Some((have, marked)) = own_feed::own_feed_behind(Some(&m), &m.id, in_log) {
        r.problem(
            "own_feed_behind",
            None,
            format!(
                "the log holds {} up to sequence {have}, the marker says it published up to {marked}: \
                 the log lost messages (restored from an older copy?); the node must sync its own \
                 feed from peers before it publishes",
                m.id
            ),
        );
    }
    Ok(())
}

fn check_log(
    dir: &Path,
    repair: bool,
    hmac_key: Option<&[u8; 32]>,
    r: &mut DoctorReport,
) -> Result<(), StoreError> {
    let path = dir.join(LOG_FILE);
    let opened = if repair {
        OpenOptions::new().read(true).write(true).open(&path)
    } else {
        File::open(&path)
    };
    let log = match opened {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            r.problem("log_missing", None, "there is no log.bin");
            return Ok(());
        }
        Err(e) => return Err(e.into()),
    };
    let len = log.metadata()?.len();
    r.log_bytes = len;
    let header = log_header();
    let mut head = vec![0u8; len.min(LOG_HEADER_LEN) as usize];
    super::log::read_at(&log, 0, &mut head)?;
    if head[..] != header[..head.len()] {
        r.problem(
            "bad_header",
            Some(0),
            "log.bin does not start with the log header (magic, version)",
        );
        return Ok(());
    }
    if len < LOG_HEADER_LEN {
        let p = r.problem(
            "torn_header",
            Some(0),
            format!("log.bin is {len} bytes, a partial header"),
        );
        if repair {
            log.set_len(0)?;
            write_at(&log, 0, &header)?;
            log.sync_all()?;
            r.problems[p].repaired = true;
            r.repairs.push("rewrote the torn log header".into());
        }
        return Ok(());
    }

    // What the log must satisfy for the store to open it; the index is compared only then.
    let mut openable = true;
    let mut entries: Vec<IndexEntry> = Vec::new();
    let mut seqs: BTreeMap<FeedId, u64> = BTreeMap::new();
    let mut ids: BTreeSet<MsgId> = BTreeSet::new();
    let mut states: BTreeMap<FeedId, FeedState> = BTreeMap::new();
    let mut torn: Option<(u64, usize, bool)> = None;
    let mut sc = Scanner::new(&log, LOG_HEADER_LEN, len);
    loop {
        let (offset, payload) = match sc.next_step()? {
            Step::End => break,
            Step::Record { offset, payload } => (offset, payload),
            Step::Bad {
                offset,
                reason,
                resync: Some(next),
            } => {
                r.problem(
                    "corrupt_record",
                    Some(offset),
                    format!("{reason}; a good record follows at offset {next}"),
                );
                openable = false;
                sc.seek(next);
                continue;
            }
            Step::Bad {
                offset,
                reason,
                resync: None,
            } => {
                let damaged = damaged_complete_record(&log, offset, len)?;
                let p = match &damaged {
                    Some(d) => r.problem("damaged_record", Some(offset), format!("{reason}: {d}")),
                    None => r.problem(
                        "torn_tail",
                        Some(offset),
                        format!("{} bytes: {reason}", len - offset),
                    ),
                };
                torn = Some((offset, p, damaged.is_some()));
                break;
            }
        };
        r.records += 1;
        let m = match decode_payload(payload) {
            Ok(m) => m,
            Err(why) => {
                r.problem("undecodable_record", Some(offset), why);
                openable = false;
                continue;
            }
        };
        let at = Some(offset);
        if !ids.insert(m.id) {
            r.problem("duplicate_id", at, format!("message {} is stored twice", m.id));
            openable = false;
            continue;
        }
        let expected = seqs.get(&m.author).copied().unwrap_or(0) + 1;
        // Out of order: reported, then the feed is followed on from this record, so that one
        // gap is one problem.
        let in_order = m.sequence == expected;
        if !in_order {
            r.problem(
                "out_of_order",
                at,
                format!(
                    "{} sequence {} where {expected} was expected",
                    m.author, m.sequence
                ),
            );
            openable = false;
        }
        seqs.insert(m.author, m.sequence);
        entries.push(IndexEntry::for_msg(offset, payload.len() as u32, &m));

        let who = format!("{} sequence {}", m.author, m.sequence);
        let value = match parse(m.value.as_bytes(), Mode::JsCompat) {
            Ok(v) => v,
            Err(e) => {
                r.problem("unparsable_value", at, format!("{who}: {e}"));
                continue;
            }
        };
        if !to_signing_units(&value).into_iter().eq(m.value.encode_utf16()) {
            r.problem(
                "non_canonical_value",
                at,
                format!("{who}: the stored text is not the signing encoding of its value"),
            );
        }
        let fallback = FeedState {
            id: m.id,
            sequence: m.sequence as f64,
            timestamp: Some(m.timestamp),
        };
        // Out of order, only what the message says about itself can be checked.
        let verdict = match (in_order, states.get(&m.author)) {
            (true, state) => validate_next(state, &value, hmac_key),
            (false, _) => check_message(&value, hmac_key).map(|c| {
                let next = FeedState {
                    id: c.id,
                    sequence: c.sequence,
                    timestamp: Some(c.timestamp),
                };
                (c, next)
            }),
        };
        match verdict {
            Ok((c, next)) => {
                r.signatures_verified += 1;
                let mut differs = Vec::new();
                if c.id != m.id {
                    differs.push(format!("id {} (record says {})", c.id, m.id));
                }
                if c.author != m.author {
                    differs.push(format!("author {}", c.author));
                }
                if c.sequence != m.sequence as f64 {
                    differs.push(format!("sequence {}", c.sequence));
                }
                if c.timestamp.to_bits() != m.timestamp.to_bits() {
                    differs.push(format!("timestamp {} (record says {})", c.timestamp, m.timestamp));
                }
                if !differs.is_empty() {
                    r.problem(
                        "record_mismatch",
                        at,
                        format!("{who}: the message has {}", differs.join(", ")),
                    );
                }
                states.insert(m.author, next);
            }
            Err(e) => {
                r.problem("invalid_message", at, format!("{who}: {}: {e}", e.kind()));
                // Go on from what the store holds, so one bad message is reported once.
                states.insert(m.author, fallback);
            }
        }
    }
    r.feeds = seqs.len() as u64;
    r.own_heads = seqs.clone();

    if let Some((offset, p, damaged)) = torn {
        if repair {
            log.set_len(offset)?;
            log.sync_all()?;
            r.problems[p].repaired = true;
            let what = if damaged {
                "the damaged last record"
            } else {
                "the torn tail"
            };
            r.repairs
                .push(format!("cut {what}: {} bytes at offset {offset}", len - offset));
            let _ = recovery::record(
                dir,
                &Recovery {
                    action: if damaged {
                        "damaged_record_dropped"
                    } else {
                        "torn_tail_cut"
                    }
                    .into(),
                    by: "doctor".into(),
                    records_kept: r.records,
                    records_dropped: u64::from(damaged),
                    bytes_cut: len - offset,
                    offset: Some(offset),
                    detail: r.problems[p].detail.clone(),
                },
            );
        }
    }

    let loaded = load_index(dir)?;
    if let Ok(ie) = &loaded {
        r.index_entries = ie.len() as u64;
    }
    if !openable {
        return Ok(());
    }
    let found = match &loaded {
        Err(fault) if fault.missing => Some(("index_missing", fault.why.clone())),
        Err(fault) => Some(("index_inconsistent", fault.why.clone())),
        Ok(ie) if ie.len() > entries.len() => Some((
            "index_inconsistent",
            format!(
                "index.bin has {} entries, the log {} records",
                ie.len(),
                entries.len()
            ),
        )),
        Ok(ie) => match ie.iter().zip(&entries).position(|(a, b)| !a.same_as(b)) {
            Some(i) => Some((
                "index_inconsistent",
                format!("index entry {i} does not match the log"),
            )),
            None if ie.len() < entries.len() => Some((
                "index_behind",
                format!(
                    "index.bin covers {} of {} records (the store catches up on open)",
                    ie.len(),
                    entries.len()
                ),
            )),
            None => None,
        },
    };
    if let Some((kind, detail)) = found {
        let p = r.problem(kind, None, detail);
        if repair {
            write_index(dir, &entries)?;
            r.problems[p].repaired = true;
            r.index_entries = entries.len() as u64;
            r.repairs.push(format!(
                "rebuilt index.bin from the log ({} entries)",
                entries.len()
            ));
            let _ = recovery::record(
                dir,
                &Recovery {
                    action: "index_rebuilt".into(),
                    by: "doctor".into(),
                    records_kept: entries.len() as u64,
                    records_dropped: 0,
                    bytes_cut: 0,
                    offset: None,
                    detail: r.problems[p].detail.clone(),
                },
            );
        }
    }
    Ok(())
}

fn check_blobs(dir: &Path, repair: bool, r: &mut DoctorReport) -> Result<(), StoreError> {
    for f in walk(dir)? {
        match f {
            Found::Blob { id, path, size } => {
                r.blobs += 1;
                r.blob_bytes += size;
                match read_checked(&path, &id) {
                    Ok(_) => {}
                    Err(StoreError::Corrupt(why)) => {
                        r.problem("blob_mismatch", None, why);
                    }
                    Err(e) => {
                        r.problem("blob_unreadable", None, format!("blob {id}: {e}"));
                    }
                }
            }
            Found::Temp(path) => {
                let p = r.problem(
                    "blob_temp",
                    None,
                    format!("leftover temporary file {}", path.display()),
                );
                if repair {
                    std::fs::remove_file(&path)?;
                    r.problems[p].repaired = true;
                    r.repairs.push(format!("removed {}", path.display()));
                }
            }
            Found::Stray(path) => {
                r.problem(
                    "blob_stray",
                    None,
                    format!("{} does not fit the blob layout", path.display()),
                );
            }
        }
    }
    Ok(())
}
