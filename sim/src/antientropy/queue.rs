//! The anti-entropy model's event queue and seed: events ordered by (time, insertion), the same
//! order as the simulated world's queue, and a ChaCha20 generator seeded the way the world seeds
//! its own, so a scenario's seed replays a run exactly.
//!
//! The world's queue carries the SSB world's own event enum (links, box-stream bytes, node
//! ticks) and is private to it; reconciliation participants exchange digests and deltas, not
//! bytes, so they get this generic queue with the same ordering instead of new world variants.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;

struct Entry<E> {
    at: u64,
    seq: u64,
    ev: E,
}

impl<E> PartialEq for Entry<E> {
    fn eq(&self, o: &Self) -> bool {
        (self.at, self.seq) == (o.at, o.seq)
    }
}
impl<E> Eq for Entry<E> {}
impl<E> PartialOrd for Entry<E> {
    fn partial_cmp(&self, o: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(o))
    }
}
impl<E> Ord for Entry<E> {
    fn cmp(&self, o: &Self) -> std::cmp::Ordering {
        (self.at, self.seq).cmp(&(o.at, o.seq))
    }
}

/// Events in (time in microseconds, insertion) order; idle time costs nothing.
pub struct Queue<E> {
    heap: BinaryHeap<Reverse<Entry<E>>>,
    seq: u64,
    pub now_us: u64,
}

impl<E> Default for Queue<E> {
    fn default() -> Self {
        Queue {
            heap: BinaryHeap::new(),
            seq: 0,
            now_us: 0,
        }
    }
}

impl<E> Queue<E> {
    /// Schedules `ev` at `at_us` (never before now).
    pub fn schedule(&mut self, at_us: u64, ev: E) {
        self.seq += 1;
        self.heap.push(Reverse(Entry {
            at: at_us.max(self.now_us),
            seq: self.seq,
            ev,
        }));
    }

    /// The next event at or before `until_us`, with the clock moved to its time.
    pub fn pop(&mut self, until_us: u64) -> Option<E> {
        if self.heap.peek()?.0.at > until_us {
            return None;
        }
        let Reverse(e) = self.heap.pop()?;
        self.now_us = e.at;
        Some(e.ev)
    }

    pub fn len(&self) -> usize {
        self.heap.len()
    }

    pub fn is_empty(&self) -> bool {
        self.heap.is_empty()
    }
}

/// The generator of a run: the seed's little-endian bytes and a tag, as the world seeds its own.
pub fn rng(seed: u64, tag: &[u8; 8]) -> ChaCha20Rng {
    let mut s = [0u8; 32];
    s[..8].copy_from_slice(&seed.to_le_bytes());
    s[8..16].copy_from_slice(tag);
    ChaCha20Rng::from_seed(s)
}
