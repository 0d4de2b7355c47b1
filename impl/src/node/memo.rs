//! A memo of signature verdicts shared by many nodes of one process (a simulation): the
//! ed25519 check is a pure function of (key, signed bytes, signature), so a verdict computed
//! by one simulated node can be reused by the others that receive the same message. Every node
//! still runs its own validation state machine; only the curve arithmetic is shared. Switch it
//! off (no memo in `NodeConfig`) to show that a run gives the same outcome without it.

use std::collections::HashMap;
use std::sync::Mutex;

use crate::crypto;

/// Verdicts by the sha256 of key ‖ signature ‖ signed bytes.
#[derive(Debug, Default)]
pub struct SignatureMemo {
    verdicts: Mutex<HashMap<[u8; 32], bool>>,
    /// Bound on the entries kept (the memo is cleared when it is reached).
    max_entries: usize,
}

impl SignatureMemo {
    pub fn new(max_entries: usize) -> Self {
        SignatureMemo {
            verdicts: Mutex::new(HashMap::new()),
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

    pub fn len(&self) -> usize {
        self.verdicts.lock().map_or(0, |m| m.len())
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}
