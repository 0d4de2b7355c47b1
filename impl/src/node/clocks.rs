//! The peers' EBT clocks remembered between sessions (request skipping): at most a fixed number
//! of peers, the one stored least recently forgotten first, so peers that connect under ever new
//! identities cost bounded memory. Forgetting a clock only costs the next session with that peer
//! a full opening.

use std::collections::BTreeMap;

use crate::ebt::Notes;
use crate::identity::FeedId;

/// Peers whose clocks are kept, at most.
pub const MAX_REMEMBERED: usize = 4096;

#[derive(Debug, Default)]
pub(super) struct PeerClocks {
    by_peer: BTreeMap<FeedId, (u64, Notes)>,
    /// Insertion stamp → peer, oldest first.
    order: BTreeMap<u64, FeedId>,
    next: u64,
}

impl PeerClocks {
    pub fn get(&self, peer: &FeedId) -> Option<&Notes> {
        self.by_peer.get(peer).map(|(_, n)| n)
    }

    pub fn insert(&mut self, peer: FeedId, clock: Notes) {
        self.insert_bounded(peer, clock, MAX_REMEMBERED);
    }

    fn insert_bounded(&mut self, peer: FeedId, clock: Notes, max: usize) {
        let stamp = self.next;
        self.next += 1;
        if let Some((old, _)) = self.by_peer.insert(peer, (stamp, clock)) {
            self.order.remove(&old);
        }
        self.order.insert(stamp, peer);
        while self.by_peer.len() > max {
            let Some((_, oldest)) = self.order.pop_first() else {
                break;
            };
            self.by_peer.remove(&oldest);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_least_recently_stored_clock_goes_first() {
        let peer = |i: u8| FeedId([i; 32]);
        let mut c = PeerClocks::default();
        for i in 0..5 {
            c.insert_bounded(peer(i), Notes::new(), 3);
        }
        assert_eq!(c.by_peer.len(), 3);
        assert!(c.get(&peer(0)).is_none() && c.get(&peer(1)).is_none());
        // Storing peer 2 again makes peer 3 the oldest.
        c.insert_bounded(peer(2), Notes::new(), 3);
        c.insert_bounded(peer(9), Notes::new(), 3);
        assert!(c.get(&peer(3)).is_none());
        assert!(c.get(&peer(2)).is_some() && c.get(&peer(4)).is_some() && c.get(&peer(9)).is_some());
        assert_eq!(c.order.len(), 3);
    }
}
