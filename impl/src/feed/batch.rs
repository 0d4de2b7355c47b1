//! Batch validation of a stream of classic messages from many feeds: every field and position
//! rule runs message by message exactly as in one-by-one validation, while the ed25519 checks
//! are gathered and done with batch verification. A failing batch is bisected to find the
//! culprits, so each message gets the same verdict as [`FeedValidator::append`] would give.
//!
//! Exactness and its one limit: libsodium's check is cofactorless, and so is ed25519-dalek's
//! batch equation. Before batching, each signature must pass libsodium's encoding rules (checked
//! on the bytes, as [`crypto::ed25519_verify`] does) and its author key must be torsion-free
//! (checked once per author and cached); authors with a torsion component are verified one by
//! one. What remains is a signature whose `R` carries a torsion point: only its author can make
//! one, libsodium refuses it, and a batch may accept it (the batch weights are derived from the
//! inputs, so the author can search for weights that cancel the torsion). Checking every `R` for
//! torsion costs about as much as a verification, so this module does not; a node that must
//! never diverge from libsodium on adversarial authors should validate one by one.

use std::collections::BTreeMap;

use curve25519_dalek::edwards::CompressedEdwardsY;
use ed25519_dalek::{Signature, VerifyingKey};

use super::validate::{FeedError, FeedValidator};
use crate::crypto;
use crate::identity::FeedId;
use crate::legacy::message::{prepare, MsgId, Prepared};
use crate::legacy::Value;

/// Validates messages of many feeds, batching their signature checks.
#[derive(Debug, Clone, Default)]
pub struct BatchValidator {
    hmac_key: Option<[u8; 32]>,
    feeds: BTreeMap<FeedId, FeedValidator>,
    /// Whether each author key seen so far is torsion-free (may be batched).
    batchable_author: BTreeMap<FeedId, bool>,
}

impl BatchValidator {
    pub fn new(hmac_key: Option<[u8; 32]>) -> Self {
        BatchValidator {
            hmac_key,
            ..Default::default()
        }
    }

    /// The validator of one feed, if it has messages.
    pub fn feed(&self, author: &FeedId) -> Option<&FeedValidator> {
        self.feeds.get(author)
    }

    /// Validates `msgs` in order, as calling [`FeedValidator::append`] on each message's
    /// author's validator would, and returns the verdicts in the same order.
    pub fn validate(&mut self, msgs: &[Value]) -> Vec<Result<MsgId, FeedError>> {
        let prepared: Vec<Result<Prepared, FeedError>> = msgs
            .iter()
            .map(|m| prepare(m, self.hmac_key.as_ref()).map_err(FeedError::from))
            .collect();
        let verdicts = self.signature_verdicts(&prepared);
        prepared
            .into_iter()
            .zip(verdicts)
            .map(|(p, ok)| {
                let p = p?;
                let author = p.checked.author;
                let feed = self
                    .feeds
                    .entry(author)
                    .or_insert_with(|| FeedValidator::new(self.hmac_key));
                feed.append_prepared(p, Some(ok))
            })
            .collect()
    }

    fn author_batchable(&mut self, author: &FeedId) -> bool {
        *self.batchable_author.entry(*author).or_insert_with(|| {
            CompressedEdwardsY(author.0)
                .decompress()
                .is_some_and(|p| p.is_torsion_free())
        })
    }

    /// Whether each prepared message's signature verifies (false for unprepared ones).
    fn signature_verdicts(&mut self, prepared: &[Result<Prepared, FeedError>]) -> Vec<bool> {
        let mut verdicts = vec![false; prepared.len()];
        let mut batch: Vec<usize> = Vec::new();
        for (i, p) in prepared.iter().enumerate() {
            let Ok(p) = p else { continue };
            if !crypto::ed25519_encoding_ok(&p.checked.author.0, &p.signature) {
                continue; // libsodium refuses it on its bytes alone
            }
            if self.author_batchable(&p.checked.author) {
                batch.push(i);
            } else {
                verdicts[i] = p.signature_ok();
            }
        }
        self.settle(prepared, &batch, &mut verdicts);
        verdicts
    }

    /// Verifies `idx` as one batch; on failure splits it in halves until the culprits are alone.
    fn settle(&self, prepared: &[Result<Prepared, FeedError>], idx: &[usize], verdicts: &mut [bool]) {
        if idx.is_empty() {
            return;
        }
        if idx.len() <= 2 {
            for &i in idx {
                verdicts[i] = prepared[i].as_ref().is_ok_and(Prepared::signature_ok);
            }
            return;
        }
        let get = |i: usize| prepared[i].as_ref().expect("only prepared messages are batched");
        let msgs: Vec<&[u8]> = idx.iter().map(|&i| get(i).signed.as_slice()).collect();
        let sigs: Vec<Signature> = idx
            .iter()
            .map(|&i| Signature::from_bytes(&get(i).signature))
            .collect();
        let keys: Option<Vec<VerifyingKey>> = idx
            .iter()
            .map(|&i| VerifyingKey::from_bytes(&get(i).checked.author.0).ok())
            .collect();
        if keys.is_some_and(|keys| ed25519_dalek::verify_batch(&msgs, &sigs, &keys).is_ok()) {
            for &i in idx {
                verdicts[i] = true;
            }
            return;
        }
        let (left, right) = idx.split_at(idx.len() / 2);
        self.settle(prepared, left, verdicts);
        self.settle(prepared, right, verdicts);
    }
}
