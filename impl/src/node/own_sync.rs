//! "Sync own feed first": after its store was recovered (or restored, or started over), a node
//! holds its own publishing until a peer has told it how far it holds the node's own feed, and
//! the node's store has caught up to that. Publishing before that could reuse a sequence number
//! the world has already seen under this identity: a fork of the node's own feed.
//!
//! What a peer holds of our feed comes from its EBT notes (the session's remote clock, or the
//! clock remembered from an earlier session). A peer that does not replicate our feed (note
//! `-1`) tells nothing; peers that replicate only over `createHistoryStream` are not asked.
//! While held, [`Node::publish_value`](super::Node) refuses with a typed error that says why;
//! everything else (replication, serving, blobs) runs as usual, so the missing messages of the
//! own feed arrive the ordinary way. Sans-IO: the state is decided from what the node already
//! knows, at the moment of a publish.

use std::collections::BTreeMap;

use super::core::{Node, NodeError};
use crate::identity::FeedId;

/// The hold on publishing.
#[derive(Debug, Clone, Default)]
pub struct OwnFeedSync {
    /// Why publishing is held (`None`: not held).
    held: Option<String>,
}

impl OwnFeedSync {
    pub fn is_held(&self) -> bool {
        self.held.is_some()
    }
}

impl Node {
    /// Holds publishing until a peer has said how much of our own feed it has and we hold at
    /// least that much (`why` is said in the error a publish gets meanwhile).
    pub fn hold_publishing_until_own_feed_synced(&mut self, why: impl Into<String>) {
        let why = why.into();
        tracing::warn!(feed = %self.me, "publishing held until a peer confirms this feed's head: {why}");
        self.own_sync.held = Some(why);
    }

    /// Whether publishing is held.
    pub fn publishing_held(&self) -> bool {
        self.own_sync.is_held()
    }

    /// What the peers told us they hold of our feed, by peer: the live EBT sessions' view first,
    /// then clocks remembered from earlier sessions.
    fn own_heads_heard(&self) -> BTreeMap<FeedId, u64> {
        let mut heard = BTreeMap::new();
        for c in self.conns.values() {
            if let Some((_, session)) = &c.ebt {
                if let Some(seq) = session.remote_clock().get(&self.me).and_then(|n| n.sequence()) {
                    heard.insert(c.peer, seq);
                }
            }
        }
        for c in self.conns.values() {
            if let Some(seq) = self
                .clocks
                .get(&c.peer)
                .and_then(|n| n.get(&self.me))
                .and_then(|n| n.sequence())
            {
                heard.entry(c.peer).or_insert(seq);
            }
        }
        heard
    }

    /// `Err` while publishing is held; releases the hold once it can.
    pub(super) fn check_own_feed_synced(&mut self) -> Result<(), NodeError> {
        let Some(why) = &self.own_sync.held else {
            return Ok(());
        };
        let ours = self.store.latest(&self.me).map_or(0, |l| l.sequence);
        let heard = self.own_heads_heard();
        let Some((peer, most)) = heard.iter().max_by_key(|(_, s)| **s).map(|(p, s)| (*p, *s)) else {
            return Err(NodeError::OwnFeedNotSynced(format!(
                "{why}; no connected peer has told us yet how far it holds our feed (we hold {ours})"
            )));
        };
        if most > ours {
            return Err(NodeError::OwnFeedNotSynced(format!(
                "{why}; peer {peer} holds our feed up to {most}, we hold {ours}: waiting for the rest"
            )));
        }
        tracing::warn!(
            feed = %self.me,
            ours,
            peers = heard.len(),
            most,
            "own feed synced: publishing resumes"
        );
        self.own_sync.held = None;
        Ok(())
    }
}
