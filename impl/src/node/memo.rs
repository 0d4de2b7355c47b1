//! A memo of pure checks shared by many nodes of one process (a simulation): the ed25519 check
//! is a pure function of (key, signed bytes, signature), and parsing a message body and checking
//! its fields (`legacy::message::prepare`, without an HMAC key) a pure function of the body, so
//! what one simulated node computed can be reused by the others that receive the same bytes.
//! Every node still runs its own validation state machine (its feed's position, scope, forks);
//! only the parsing and the curve arithmetic are shared. Switch it off (no memo in
//! `NodeConfig`) to show that a run gives the same outcome without it.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use crate::crypto;
use crate::legacy::message::Prepared;

/// Bodies whose prepared form is kept, at most (the map is cleared when it is reached).
const MAX_PREPARED: usize = 300_000;

/// A checked body and, once known, its signature's verdict.
type PreparedEntry = (Arc<Prepared>, Option<bool>);

/// Verdicts by the sha256 of key ‖ signature ‖ signed bytes.
#[derive(Debug, Default)]
pub struct SignatureMemo {
    verdicts: Mutex<HashMap<[u8; 32], bool>>,
    /// Bodies (exactly as received) that prepared without error, by their bytes.
    prepared: Mutex<HashMap<Vec<u8>, PreparedEntry>>,
    /// Bound on the entries kept (the memo is cleared when it is reached).
    max_entries: usize,
}

impl SignatureMemo {
    pub fn new(max_entries: usize) -> Self {
        SignatureMemo {
            verdicts: Mutex::new(HashMap::new()),
            prepared: Mutex::new(HashMap::new()),
            max_entries,
        }
    }

    fn key(public: &[u8; 32], msg: &[u8], sig: &[u8; 64]) -> [u8; 32] {
        crypto::sha256_concat(&[public, sig, msg])
    }

    /// The verdict if known.
    pub fn get(&self, public: &[u8; 32], msg: &[u8], sig: &[u8; 64]) -> Option<bool> {
        let k = Self::key(public, msg, sig);
        self.verdicts.lock().ok()?.get(&k).copied()
    }

    pub fn put(&self, public: &[u8; 32], msg: &[u8], sig: &[u8; 64], ok: bool) {
        let k = Self::key(public, msg, sig);
        if let Ok(mut m) = self.verdicts.lock() {
            if m.len() >= self.max_entries {
                m.clear();
            }
            m.insert(k, ok);
        }
    }

    /// The prepared form of a body seen before, with its signature's verdict if known.
    pub fn prepared(&self, body: &[u8]) -> Option<PreparedEntry> {
        self.prepared.lock().ok()?.get(body).cloned()
    }

    /// Whether a body's prepared form is kept.
    pub fn knows(&self, body: &[u8]) -> bool {
        self.prepared.lock().is_ok_and(|m| m.contains_key(body))
    }

    /// Keeps the prepared form of `body`.
    pub fn put_prepared(&self, body: &[u8], p: Arc<Prepared>) {
        if let Ok(mut m) = self.prepared.lock() {
            if m.len() >= MAX_PREPARED.min(self.max_entries) && !m.contains_key(body) {
                m.clear();
            }
            m.entry(body.to_vec()).or_insert((p, None));
        }
    }

    /// Records the signature verdict of a kept body.
    pub fn set_verdict(&self, body: &[u8], ok: bool) {
        if let Ok(mut m) = self.prepared.lock() {
            if let Some(e) = m.get_mut(body) {
                e.1 = Some(ok);
            }
        }
    }

    pub fn len(&self) -> usize {
        self.verdicts.lock().map_or(0, |m| m.len())
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}
