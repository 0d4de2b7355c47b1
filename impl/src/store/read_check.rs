//! Verify on read: the incremental form of [`super::verify`] for logs too large to verify when
//! the store is opened. A record is checked the first time it is read — its value parses, is the
//! signing encoding of itself, carries a valid signature (and hash), agrees with the record's
//! id, author, sequence and timestamp, and names as `previous` the id of its feed's record
//! before it — and only then served. A record that fails is refused with
//! [`super::StoreError::Corrupt`] every time it is asked for, and the refusal is logged at WARN
//! with the count of refusals so far. Records already checked are remembered by log offset, so
//! the cost is one signature verification per record per process, paid when it is first served.

use std::cell::RefCell;
use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use super::StoredMsg;
use crate::legacy::message::{check_message, MsgId};
use crate::legacy::{parse, to_signing_units, Mode};

/// What a store remembers while verifying on read.
#[derive(Debug, Default)]
pub struct ReadCheck {
    hmac_key: Option<[u8; 32]>,
    /// Checks run only while armed: a node reads its whole log once when it starts (to build its
    /// follow graph and private index), and verifying that pass is the cost this avoids; it
    /// arms the check once it is ready to serve.
    armed: Arc<AtomicBool>,
    /// Log offsets of the records that passed.
    passed: RefCell<BTreeSet<u64>>,
    /// Log offsets of the records that failed (each logged once).
    failed: RefCell<BTreeSet<u64>>,
    refusals: RefCell<u64>,
}

/// Arms a [`ReadCheck`] that was made disarmed.
#[derive(Debug, Clone)]
pub struct Arming(Arc<AtomicBool>);

impl Arming {
    pub fn arm(&self) {
        self.0.store(true, Ordering::Release);
    }
}

/// What [`ReadCheck`] has done so far.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ReadCheckStats {
    /// Records verified and found good.
    pub passed: u64,
    /// Distinct records found bad.
    pub failed: u64,
    /// Reads refused (a bad record asked for twice counts twice).
    pub refusals: u64,
}

impl ReadCheck {
    /// Checks records for a network signing with `hmac_key` (`None`: the main network).
    pub fn new(hmac_key: Option<[u8; 32]>, armed: bool) -> Self {
        ReadCheck {
            hmac_key,
            armed: Arc::new(AtomicBool::new(armed)),
            ..ReadCheck::default()
        }
    }

    /// A handle that arms the check from outside the store.
    pub fn arming(&self) -> Arming {
        Arming(self.armed.clone())
    }

    /// Whether the record at `offset` still needs checking; `Err` when it failed before.
    pub fn needs_check(&self, offset: u64) -> Result<bool, String> {
        if !self.armed.load(Ordering::Acquire) {
            return Ok(false);
        }
        if self.failed.borrow().contains(&offset) {
            *self.refusals.borrow_mut() += 1;
            return Err(format!(
                "record at offset {offset} failed verification on read and is not served"
            ));
        }
        Ok(!self.passed.borrow().contains(&offset))
    }

    /// Checks `m`, read at `offset`, whose feed's record before it has id `previous` (`None` for
    /// sequence 1), and remembers the verdict.
    pub fn check(&self, offset: u64, m: &StoredMsg, previous: Option<MsgId>) -> Result<(), String> {
        match verify_record(m, previous, self.hmac_key.as_ref()) {
            Ok(()) => {
                self.passed.borrow_mut().insert(offset);
                Ok(())
            }
            Err(why) => {
                self.failed.borrow_mut().insert(offset);
                let refusals = {
                    let mut r = self.refusals.borrow_mut();
                    *r += 1;
                    *r
                };
                let why = format!(
                    "record at offset {offset} ({} sequence {}) failed verification on read: {why}",
                    m.author, m.sequence
                );
                tracing::warn!(
                    offset,
                    refusals,
                    bad_records = self.failed.borrow().len(),
                    "{why}; not served (run `ssb-harness doctor` on the store)"
                );
                Err(why)
            }
        }
    }

    pub fn stats(&self) -> ReadCheckStats {
        ReadCheckStats {
            passed: self.passed.borrow().len() as u64,
            failed: self.failed.borrow().len() as u64,
            refusals: *self.refusals.borrow(),
        }
    }
}

/// The checks of one record, as the doctor makes them for a record in order.
fn verify_record(m: &StoredMsg, previous: Option<MsgId>, hmac_key: Option<&[u8; 32]>) -> Result<(), String> {
    let value = parse(m.value.as_bytes(), Mode::JsCompat).map_err(|e| format!("unparsable value: {e}"))?;
    if !to_signing_units(&value).into_iter().eq(m.value.encode_utf16()) {
        return Err("the stored text is not the signing encoding of its value".into());
    }
    let c = check_message(&value, hmac_key).map_err(|e| format!("{}: {e}", e.kind()))?;
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
    if c.previous != previous {
        let shown = |p: Option<MsgId>| p.map_or("null".to_string(), |p| p.to_string());
        differs.push(format!(
            "previous {} (the feed's record before it is {})",
            shown(c.previous),
            shown(previous)
        ));
    }
    if differs.is_empty() {
        Ok(())
    } else {
        Err(format!("the message has {}", differs.join(", ")))
    }
}
