//! A message store for simulations: every simulated node has its own feeds and heads, but the
//! message texts live once, in a [`Pool`] shared by all nodes of a run (a message's id is the
//! hash of its text, so two nodes holding one id hold one text). A node's store keeps 16 bytes
//! per message instead of a copy of it, which is what lets thousands of nodes that each hold
//! thousands of messages fit in memory. It answers exactly as `MemoryStore` does (a test checks
//! both on one sequence of appends).
//!
//! It also models a disk under a crash: appends since the last `sync` are not durable, and
//! [`SharedStore::crash`] drops all but a prefix of them, as a log whose torn tail is truncated
//! on reopening would.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

use ssb_impl::legacy::message::MsgId;
use ssb_impl::store::{Latest, Store, StoreError, StoredMsg, MAX_VALUE_BYTES};
use ssb_impl::FeedId;

/// One message as every node holding it sees it.
#[derive(Debug)]
struct Shared {
    id: MsgId,
    author: FeedId,
    sequence: u64,
    timestamp: f64,
    value: Box<str>,
}

/// The texts of a run's messages, by id. Only looked up, never iterated, so the hash map's
/// order cannot leak into a run.
#[derive(Debug, Clone, Default)]
pub struct Pool(Arc<Mutex<HashMap<MsgId, Arc<Shared>>>>);

impl Pool {
    pub fn new() -> Pool {
        Pool::default()
    }

    /// Distinct messages held by any node.
    pub fn len(&self) -> usize {
        self.0.lock().expect("pool").len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn get(&self, id: &MsgId) -> Option<Arc<Shared>> {
        self.0.lock().expect("pool").get(id).cloned()
    }

    fn intern(&self, m: &StoredMsg) -> Arc<Shared> {
        self.0
            .lock()
            .expect("pool")
            .entry(m.id)
            .or_insert_with(|| {
                Arc::new(Shared {
                    id: m.id,
                    author: m.author,
                    sequence: m.sequence,
                    timestamp: m.timestamp,
                    value: m.value.clone().into_boxed_str(),
                })
            })
            .clone()
    }
}

/// One message in one node's store.
#[derive(Debug, Clone)]
struct Held {
    msg: Arc<Shared>,
    received: u64,
}

impl Held {
    fn to_stored(&self) -> StoredMsg {
        StoredMsg {
            id: self.msg.id,
            author: self.msg.author,
            sequence: self.msg.sequence,
            timestamp: self.msg.timestamp,
            received: self.received,
            value: self.msg.value.to_string(),
        }
    }
}

/// One node's store over a shared [`Pool`].
#[derive(Debug)]
pub struct SharedStore {
    pool: Pool,
    /// Per feed: `msgs[i]` has sequence `i + 1`.
    feeds: BTreeMap<FeedId, Vec<Held>>,
    count: u64,
    /// The feeds of the appends since the last sync, in order (not durable yet).
    unsynced: Vec<FeedId>,
}

impl SharedStore {
    pub fn new(pool: Pool) -> SharedStore {
        SharedStore {
            pool,
            feeds: BTreeMap::new(),
            count: 0,
            unsynced: Vec::new(),
        }
    }

    /// Appends not made durable yet.
    pub fn unsynced(&self) -> usize {
        self.unsynced.len()
    }

    /// The host crashed: of the appends not yet synced, only the first `keep` survive; the
    /// others are dropped, newest first (each is then its feed's last message). Returns how
    /// many were lost.
    pub fn crash(&mut self, keep: usize) -> usize {
        let lost = self.unsynced.len().saturating_sub(keep);
        for _ in 0..lost {
            let feed = self.unsynced.pop().expect("counted");
            if let Some(v) = self.feeds.get_mut(&feed) {
                v.pop();
                self.count -= 1;
                if v.is_empty() {
                    self.feeds.remove(&feed);
                }
            }
        }
        self.unsynced.clear();
        lost
    }

    fn feed(&self, author: &FeedId) -> &[Held] {
        self.feeds.get(author).map_or(&[], Vec::as_slice)
    }

    fn holds(&self, id: &MsgId) -> Option<&Held> {
        let shared = self.pool.get(id)?;
        let held = self
            .feed(&shared.author)
            .get(usize::try_from(shared.sequence.checked_sub(1)?).ok()?)?;
        (held.msg.id == *id).then_some(held)
    }
}

impl Store for SharedStore {
    fn append(&mut self, msgs: &[StoredMsg]) -> Result<(), StoreError> {
        // The rules of `Store::append`, in its order: size, duplicate id, then sequence (with
        // the earlier messages of the batch counted).
        let mut pending: BTreeMap<FeedId, u64> = BTreeMap::new();
        for (i, m) in msgs.iter().enumerate() {
            if m.value.len() > MAX_VALUE_BYTES {
                return Err(StoreError::TooLarge {
                    what: "message value",
                    size: m.value.len() as u64,
                    max: MAX_VALUE_BYTES as u64,
                });
            }
            if self.holds(&m.id).is_some() || msgs[..i].iter().any(|e| e.id == m.id) {
                return Err(StoreError::Duplicate { id: m.id });
            }
            let have = pending
                .entry(m.author)
                .or_insert_with(|| self.feeds.get(&m.author).map_or(0, |f| f.len() as u64));
            if m.sequence != *have + 1 {
                return Err(StoreError::OutOfOrder {
                    author: m.author,
                    expected: *have + 1,
                    got: m.sequence,
                });
            }
            *have += 1;
        }
        for m in msgs {
            let msg = self.pool.intern(m);
            self.feeds.entry(m.author).or_default().push(Held {
                msg,
                received: m.received,
            });
            self.count += 1;
            self.unsynced.push(m.author);
        }
        Ok(())
    }

    fn sync(&mut self) -> Result<(), StoreError> {
        self.unsynced.clear();
        Ok(())
    }

    fn latest(&self, author: &FeedId) -> Option<Latest> {
        self.feed(author).last().map(|h| Latest {
            sequence: h.msg.sequence,
            id: h.msg.id,
            timestamp: h.msg.timestamp,
        })
    }

    fn get(&self, author: &FeedId, sequence: u64) -> Result<Option<StoredMsg>, StoreError> {
        let Some(i) = sequence.checked_sub(1).and_then(|i| usize::try_from(i).ok()) else {
            return Ok(None);
        };
        Ok(self.feed(author).get(i).map(Held::to_stored))
    }

    fn get_by_id(&self, id: &MsgId) -> Result<Option<StoredMsg>, StoreError> {
        Ok(self.holds(id).map(Held::to_stored))
    }

    fn range(&self, author: &FeedId, from: u64, limit: usize) -> Result<Vec<StoredMsg>, StoreError> {
        let start = usize::try_from(from.max(1) - 1).unwrap_or(usize::MAX);
        Ok(self
            .feed(author)
            .iter()
            .skip(start)
            .take(limit)
            .map(Held::to_stored)
            .collect())
    }

    fn feeds(&self) -> Vec<(FeedId, u64)> {
        self.feeds
            .iter()
            .filter(|(_, v)| !v.is_empty())
            .map(|(f, v)| (*f, v.len() as u64))
            .collect()
    }

    fn len(&self) -> u64 {
        self.count
    }

    fn as_any_mut(&mut self) -> Option<&mut dyn std::any::Any> {
        Some(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ssb_impl::store::MemoryStore;
    use ssb_impl::Keypair;

    fn msg(author: &Keypair, seq: u64, salt: u8) -> StoredMsg {
        let value = format!(
            "{{\"author\":\"{}\",\"sequence\":{seq},\"salt\":{salt}}}",
            author.id()
        );
        StoredMsg {
            id: MsgId(ssb_impl::crypto::sha256(value.as_bytes())),
            author: author.id(),
            sequence: seq,
            timestamp: seq as f64,
            received: 100 + seq,
            value,
        }
    }

    /// Two nodes over one pool answer like two memory stores, refusals included.
    #[test]
    fn answers_like_the_memory_store() {
        let (a, b) = (Keypair::from_seed([1; 32]), Keypair::from_seed([2; 32]));
        let pool = Pool::new();
        let mut shared = [SharedStore::new(pool.clone()), SharedStore::new(pool.clone())];
        let mut memory = [MemoryStore::new(), MemoryStore::new()];
        let batches: Vec<(usize, Vec<StoredMsg>)> = vec![
            (0, vec![msg(&a, 1, 0), msg(&a, 2, 0)]),
            (1, vec![msg(&a, 1, 0)]),
            (1, vec![msg(&a, 1, 0)]),                // duplicate
            (1, vec![msg(&a, 3, 0)]),                // out of order
            (1, vec![msg(&a, 2, 9), msg(&a, 2, 9)]), // duplicate inside the batch
            (1, vec![msg(&a, 2, 1), msg(&b, 1, 0)]), // another branch of a at 2
            (0, vec![msg(&b, 2, 0)]),                // b's feed starts at 1
            (0, vec![msg(&b, 1, 0), msg(&b, 2, 0), msg(&a, 3, 0)]),
        ];
        for (node, batch) in batches {
            let s = shared[node].append(&batch).map_err(|e| e.to_string());
            let m = memory[node].append(&batch).map_err(|e| e.to_string());
            assert_eq!(s, m, "{batch:?}");
        }
        for node in 0..2 {
            let (s, m) = (&shared[node], &memory[node]);
            assert_eq!(s.feeds(), m.feeds());
            assert_eq!(s.len(), m.len());
            for k in [&a, &b] {
                assert_eq!(s.latest(&k.id()), m.latest(&k.id()));
                assert_eq!(
                    format!("{:?}", s.range(&k.id(), 0, 10).unwrap()),
                    format!("{:?}", m.range(&k.id(), 0, 10).unwrap())
                );
                for seq in 0..5 {
                    let got = s.get(&k.id(), seq).unwrap();
                    assert_eq!(format!("{got:?}"), format!("{:?}", m.get(&k.id(), seq).unwrap()));
                    if let Some(g) = got {
                        assert_eq!(
                            format!("{:?}", s.get_by_id(&g.id).unwrap()),
                            format!("{:?}", Some(g))
                        );
                    }
                }
            }
        }
        // Node 1's branch at a/2 is not node 0's message.
        let other = msg(&a, 2, 1);
        assert!(shared[0].get_by_id(&other.id).unwrap().is_none());
        assert!(shared[1].get_by_id(&other.id).unwrap().is_some());
        assert_eq!(pool.len(), 6);
    }

    /// A crash keeps what was synced and a prefix of the rest; feeds stay chains.
    #[test]
    fn a_crash_loses_a_suffix_of_the_unsynced_appends() {
        let (a, b) = (Keypair::from_seed([1; 32]), Keypair::from_seed([2; 32]));
        let mut s = SharedStore::new(Pool::new());
        s.append(&[msg(&a, 1, 0), msg(&a, 2, 0)]).unwrap();
        s.sync().unwrap();
        s.append(&[msg(&b, 1, 0), msg(&a, 3, 0), msg(&b, 2, 0), msg(&a, 4, 0)])
            .unwrap();
        assert_eq!(s.unsynced(), 4);
        assert_eq!(s.crash(2), 2);
        assert_eq!(s.crash(0), 0, "nothing unsynced is left");
        assert_eq!(
            s.feeds(),
            vec![(a.id(), 3), (b.id(), 1)]
                .into_iter()
                .collect::<BTreeMap<_, _>>()
                .into_iter()
                .collect::<Vec<_>>()
        );
        assert_eq!(s.len(), 4);
        // The lost messages come back by replication like any others.
        s.append(&[msg(&a, 4, 0), msg(&b, 2, 0)]).unwrap();
        assert_eq!(s.latest(&b.id()).unwrap().sequence, 2);
    }
}
