//! The disk store's record of its own recoveries: every time opening (or the doctor) changes
//! the store to make it usable again — a torn tail cut, a damaged last record dropped, an index
//! rebuilt or caught up — it logs a WARN with the counts and appends one JSON line to
//! `DIR/recovery.log`, so that nothing is dropped silently and `doctor` can report past
//! recoveries long after the log line has scrolled away.
//!
//! The store never reads a clock: a line carries no time of its own (the file's modification
//! time says when the last one was written). Lines are small, and reading the log back is
//! bounded ([`MAX_READ`]).

use std::fs::OpenOptions;
use std::io::{self, Read, Write};
use std::path::Path;

/// The file recoveries are appended to.
pub const RECOVERY_FILE: &str = "recovery.log";

/// At most this many bytes of `recovery.log` are read back (the last ones).
pub const MAX_READ: u64 = 1 << 20;

/// One recovery.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Recovery {
    /// What was done: `torn_tail_cut`, `torn_header_rewritten`, `damaged_record_dropped`,
    /// `index_rebuilt`, `index_caught_up`, `log_started_over`.
    pub action: String,
    /// Who did it: `open` or `doctor`.
    pub by: String,
    /// Records in the log after the recovery.
    pub records_kept: u64,
    /// Complete records that were removed (a torn tail holds none: its last record was never
    /// fully written).
    pub records_dropped: u64,
    /// Bytes cut from the log.
    pub bytes_cut: u64,
    /// Offset in the log where it happened, if it is about the log.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub offset: Option<u64>,
    pub detail: String,
}

impl std::fmt::Display for Recovery {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} by {}: {} records kept, {} dropped, {} bytes cut",
            self.action, self.by, self.records_kept, self.records_dropped, self.bytes_cut
        )?;
        if let Some(o) = self.offset {
            write!(f, " at offset {o}")?;
        }
        write!(f, " ({})", self.detail)
    }
}

/// Logs `r` at WARN and appends it to `dir/recovery.log` (fsynced). A failure to write the file
/// is logged too and returned.
pub fn record(dir: &Path, r: &Recovery) -> io::Result<()> {
    tracing::warn!(
        action = %r.action,
        by = %r.by,
        records_kept = r.records_kept,
        records_dropped = r.records_dropped,
        bytes_cut = r.bytes_cut,
        offset = r.offset,
        dir = %dir.display(),
        "store recovery: {}",
        r.detail
    );
    let write = || -> io::Result<()> {
        let mut line = serde_json::to_vec(r).map_err(io::Error::other)?;
        line.push(b'\n');
        let mut f = OpenOptions::new()
            .create(true)
            .append(true)
            .open(dir.join(RECOVERY_FILE))?;
        f.write_all(&line)?;
        f.sync_data()
    };
    write().inspect_err(|e| {
        tracing::warn!(dir = %dir.display(), "could not append to {RECOVERY_FILE}: {e}");
    })
}

/// What `recovery.log` holds.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct History {
    /// The recoveries read back, oldest first (only those in the last [`MAX_READ`] bytes).
    pub recoveries: Vec<Recovery>,
    /// Lines that did not parse (a torn last line, or damage).
    pub unreadable_lines: u64,
    /// Whether the file is longer than what was read.
    pub truncated: bool,
}

/// Reads `dir/recovery.log` back; an absent file is an empty history.
pub fn history(dir: &Path) -> io::Result<History> {
    let mut f = match std::fs::File::open(dir.join(RECOVERY_FILE)) {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(History::default()),
        Err(e) => return Err(e),
    };
    let len = f.metadata()?.len();
    let mut h = History::default();
    if len > MAX_READ {
        use std::io::Seek;
        f.seek(io::SeekFrom::Start(len - MAX_READ))?;
        h.truncated = true;
    }
    let mut bytes = Vec::with_capacity(len.min(MAX_READ) as usize);
    f.take(MAX_READ).read_to_end(&mut bytes)?;
    let mut lines = bytes.split(|b| *b == b'\n').filter(|l| !l.is_empty());
    if h.truncated {
        // The first line read is most likely a partial one.
        lines.next();
    }
    for line in lines {
        match serde_json::from_slice::<Recovery>(line) {
            Ok(r) => h.recoveries.push(r),
            Err(_) => h.unreadable_lines += 1,
        }
    }
    Ok(h)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recoveries_read_back_in_order_and_a_torn_line_is_counted() {
        let dir = std::env::temp_dir().join(format!("ssb-recovery-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let _ = std::fs::remove_file(dir.join(RECOVERY_FILE));
        assert_eq!(history(&dir).unwrap(), History::default());
        let r = |n: u64| Recovery {
            action: "torn_tail_cut".into(),
            by: "open".into(),
            records_kept: n,
            records_dropped: 0,
            bytes_cut: 10 + n,
            offset: Some(16),
            detail: format!("test {n}"),
        };
        record(&dir, &r(1)).unwrap();
        record(&dir, &r(2)).unwrap();
        let mut f = OpenOptions::new()
            .append(true)
            .open(dir.join(RECOVERY_FILE))
            .unwrap();
        f.write_all(b"{\"action\":\"tor").unwrap();
        let h = history(&dir).unwrap();
        assert_eq!(h.recoveries, vec![r(1), r(2)]);
        assert_eq!(h.unreadable_lines, 1);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
