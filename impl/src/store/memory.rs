//! [`MemoryStore`]: every message in memory, in ordered maps. For simulations and tests, and the
//! model the disk store is checked against.

use std::collections::BTreeMap;

use super::{check_batch, Latest, Store, StoreError, StoredMsg};
use crate::identity::FeedId;
use crate::legacy::message::MsgId;

/// A store that keeps everything in memory; `sync` does nothing.
#[derive(Debug, Clone, Default)]
pub struct MemoryStore {
    /// Per feed, its messages: `msgs[i]` has sequence `i + 1`.
    feeds: BTreeMap<FeedId, Vec<StoredMsg>>,
    /// Message id → (author, sequence).
    ids: BTreeMap<MsgId, (FeedId, u64)>,
}

impl MemoryStore {
    pub fn new() -> Self {
        Self::default()
    }

    fn feed(&self, author: &FeedId) -> &[StoredMsg] {
        self.feeds.get(author).map_or(&[], Vec::as_slice)
    }
}

impl Store for MemoryStore {
    fn append(&mut self, msgs: &[StoredMsg]) -> Result<(), StoreError> {
        check_batch(
            msgs,
            |a| self.feed(a).len() as u64,
            |id| self.ids.contains_key(id),
        )?;
        for m in msgs {
            self.ids.insert(m.id, (m.author, m.sequence));
            self.feeds.entry(m.author).or_default().push(m.clone());
        }
        Ok(())
    }

    fn sync(&mut self) -> Result<(), StoreError> {
        Ok(())
    }

    fn latest(&self, author: &FeedId) -> Option<Latest> {
        self.feed(author).last().map(|m| Latest {
            sequence: m.sequence,
            id: m.id,
            timestamp: m.timestamp,
        })
    }

    fn get(&self, author: &FeedId, sequence: u64) -> Result<Option<StoredMsg>, StoreError> {
        let Some(i) = sequence.checked_sub(1) else {
            return Ok(None);
        };
        Ok(usize::try_from(i)
            .ok()
            .and_then(|i| self.feed(author).get(i))
            .cloned())
    }

    fn get_by_id(&self, id: &MsgId) -> Result<Option<StoredMsg>, StoreError> {
        match self.ids.get(id) {
            Some((author, sequence)) => self.get(author, *sequence),
            None => Ok(None),
        }
    }

    fn range(&self, author: &FeedId, from: u64, limit: usize) -> Result<Vec<StoredMsg>, StoreError> {
        let feed = self.feed(author);
        let start = usize::try_from(from.max(1) - 1).unwrap_or(usize::MAX);
        Ok(feed.iter().skip(start).take(limit).cloned().collect())
    }

    fn feeds(&self) -> Vec<(FeedId, u64)> {
        self.feeds
            .iter()
            .map(|(a, msgs)| (*a, msgs.len() as u64))
            .collect()
    }

    fn len(&self) -> u64 {
        self.ids.len() as u64
    }
}
