//! Messages received in one batch of input are checked together: parsing, the field rules and
//! the signature (the costly, pure part) run for the whole batch, on several threads when the
//! node is given more than one (`NodeConfig::verify_threads`); then each message is placed in
//! its feed one by one, in arrival order, exactly as if it had been checked alone. The verdict
//! of every message is the same whatever the thread count: only the time changes.

use std::collections::BTreeMap;
use std::sync::Arc;

use ed25519_dalek::VerifyingKey;

use super::core::{ConnId, Node};
use crate::crypto;
use crate::identity::FeedId;
use crate::legacy::message::{prepare, Prepared};
use crate::legacy::MessageError;
use crate::legacy::{self, Mode, Value};

/// A message body waiting to be checked.
#[derive(Debug, Clone)]
pub(super) struct Incoming {
    pub conn: ConnId,
    pub peer: FeedId,
    /// The feed a createHistoryStream was asked for (its messages must be of it).
    pub expect: Option<FeedId>,
    pub bytes: Vec<u8>,
}

/// Why a message failed before its place in a feed was looked at.
pub(super) enum Early {
    NotJson,
    Invalid(MessageError),
    WrongFeed(FeedId),
}

/// `f` over `items`, on up to `threads` threads, results in order.
fn par_map<T: Sync, R: Send>(items: &[T], threads: usize, f: impl Fn(&T) -> R + Sync) -> Vec<R> {
    if threads <= 1 || items.len() < 16 {
        return items.iter().map(f).collect();
    }
    let chunk = items.len().div_ceil(threads);
    std::thread::scope(|s| {
        let handles: Vec<_> = items
            .chunks(chunk)
            .map(|c| s.spawn(|| c.iter().map(&f).collect::<Vec<R>>()))
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().expect("a checking thread panicked"))
            .collect()
    })
}

/// Parses a body; a `{key, value, timestamp}` wrapper is taken off.
fn parse_message(bytes: &[u8]) -> Option<Value> {
    let v = legacy::parse(bytes, Mode::JsCompat).ok()?;
    Some(match &v {
        Value::Object(o) if o.contains_key("value") && !o.contains_key("author") => {
            o.get("value").cloned().unwrap_or(Value::Null)
        }
        _ => v,
    })
}

impl Node {
    /// Decoded key of an author (`None`: a key libsodium refuses), cached.
    pub(super) fn verifying_key(&mut self, author: &FeedId) -> Option<VerifyingKey> {
        if self.verifying_keys.len() > 100_000 {
            self.verifying_keys.clear();
        }
        *self.verifying_keys.entry(*author).or_insert_with(|| {
            crypto::ed25519_key_ok(&author.0)
                .then(|| VerifyingKey::from_bytes(&author.0).ok())
                .flatten()
        })
    }

    /// Checks and ingests every message received since the last call, in arrival order.
    pub(super) fn flush_inbox(&mut self) {
        if self.inbox.is_empty() {
            return;
        }
        let batch = std::mem::take(&mut self.inbox);
        let hmac = self.config.hmac_key;
        let threads = self.config.verify_threads.max(1);
        let memo_arc = self.config.signature_memo.clone();
        let memo = memo_arc.as_deref();
        let body_memo = memo.filter(|_| hmac.is_none());
        // A body another node of this process checked already is not parsed again.
        let remembered: Vec<Option<(Arc<Prepared>, Option<bool>)>> = batch
            .iter()
            .map(|m| body_memo.and_then(|mm| mm.prepared(&m.bytes)))
            .collect();
        let parsed: Vec<Option<Result<Prepared, Early>>> = par_map(&batch, threads, |m| {
            if body_memo.is_some_and(|mm| mm.knows(&m.bytes)) {
                return None;
            }
            let v = match parse_message(&m.bytes) {
                Some(v) => v,
                None => return Some(Err(Early::NotJson)),
            };
            Some(prepare(&v, hmac.as_ref()).map_err(Early::Invalid))
        });
        let prepared: Vec<Result<Prepared, Early>> = parsed
            .into_iter()
            .zip(&remembered)
            .zip(&batch)
            .map(|((p, r), m)| {
                let p = match (p, r) {
                    (Some(p), _) => {
                        if let (Ok(p), Some(mm)) = (&p, body_memo) {
                            mm.put_prepared(&m.bytes, Arc::new(p.clone()));
                        }
                        p
                    }
                    (None, Some((known, _))) => Ok(Prepared::clone(known)),
                    // Forgotten in between (the memo was cleared): parse it here.
                    (None, None) => parse_message(&m.bytes)
                        .ok_or(Early::NotJson)
                        .and_then(|v| prepare(&v, hmac.as_ref()).map_err(Early::Invalid)),
                };
                p.and_then(|p| match m.expect {
                    Some(f) if f != p.checked.author => Err(Early::WrongFeed(f)),
                    _ => Ok(p),
                })
            })
            .collect();
        let keys: BTreeMap<FeedId, Option<VerifyingKey>> = prepared
            .iter()
            .filter_map(|p| p.as_ref().ok().map(|p| p.checked.author))
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .map(|a| (a, self.verifying_key(&a)))
            .collect();
        let scope = &self.scope;
        let checks: Vec<(&Result<Prepared, Early>, Option<bool>)> = prepared
            .iter()
            .zip(&remembered)
            .map(|(p, r)| (p, r.as_ref().and_then(|r| r.1)))
            .collect();
        // Feeds out of scope are dropped without a check.
        let signatures: Vec<bool> = par_map(&checks, threads, |(p, known)| {
            p.as_ref().is_ok_and(|p| {
                let author = &p.checked.author;
                if !scope.contains(author) {
                    return false;
                }
                if let Some(v) = known {
                    return *v;
                }
                if let Some(v) = memo.and_then(|m| m.get(&author.0, &p.signed, &p.signature)) {
                    return v;
                }
                let ok = keys[author]
                    .as_ref()
                    .is_some_and(|vk| crypto::ed25519_verify_key(vk, &p.signed, &p.signature));
                if let Some(m) = memo {
                    m.put(&author.0, &p.signed, &p.signature, ok);
                }
                ok
            })
        });
        if let Some(mm) = body_memo {
            for (((m, p), ok), (_, known)) in batch.iter().zip(&prepared).zip(&signatures).zip(&checks) {
                if known.is_none() && p.as_ref().is_ok_and(|p| scope.contains(&p.checked.author)) {
                    mm.set_verdict(&m.bytes, *ok);
                }
            }
        }
        for ((m, p), signature_ok) in batch.into_iter().zip(prepared).zip(signatures) {
            if !self.conns.contains_key(&m.conn) {
                continue;
            }
            match p {
                Err(Early::NotJson) => self.reject(m.peer, "message is not JSON".into()),
                Err(Early::Invalid(e)) => self.reject(m.peer, format!("invalid message: {e}")),
                Err(Early::WrongFeed(f)) => self.reject(
                    m.peer,
                    format!("createHistoryStream for {f} sent another feed's message"),
                ),
                Ok(p) => {
                    self.ingest_prepared(Some((m.conn, m.peer)), p, Some(signature_ok));
                }
            }
        }
    }
}
