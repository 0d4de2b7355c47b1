//! One anti-entropy participant, sans-IO: its replica of every participant's mappings, the
//! digest it gossips, the deltas it answers with (precise or Scuttlebutt reconciliation, in the
//! four orderings of van Renesse et al.), and the flow-control state that limits how fast it
//! may update its own mappings. Time comes in as an argument and randomness (tie-breaking
//! among participants) as a generator; what it wants sent comes out as [`Action`]s.

use std::collections::VecDeque;

use rand_core::RngCore;

use super::config::{Flow, Ordering};

/// One mapping's new value: participant `origin`'s key `key` at `version`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Delta {
    pub origin: u32,
    pub key: u32,
    /// The origin's own counter when it wrote the value (versions of one origin only grow).
    pub version: u64,
    pub value: u64,
    /// When the origin wrote it (microseconds; what the oldest/newest orderings rank by).
    pub born_us: u64,
}

/// What a participant tells a peer it already holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Digest {
    /// Precise reconciliation: the version of every mapping, origin-major.
    Precise(Vec<u64>),
    /// Scuttlebutt: the highest version held of each origin.
    Scuttle(Vec<u64>),
}

/// The flow-control figures exchanged in a digest (updates per second).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rates {
    pub desired: f64,
    pub max: f64,
}

/// A gossip message. An exchange is push-pull in three messages: p sends its digest; q answers
/// with its own digest and the deltas p lacks; p sends the deltas q lacks.
#[derive(Debug, Clone, PartialEq)]
pub enum Msg {
    Digest {
        digest: Digest,
        rates: Option<Rates>,
    },
    Reply {
        digest: Digest,
        deltas: Vec<Delta>,
        rates: Option<Rates>,
    },
    Deltas {
        deltas: Vec<Delta>,
    },
}

/// What a participant asks its driver to do, or reports.
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    Send {
        to: usize,
        msg: Msg,
    },
    /// A delta set was cut to the MTU: `available` deltas were owed, `sent` went.
    Overflow {
        to: usize,
        available: usize,
        sent: usize,
    },
}

/// Flow control: the participant's maximum update rate, adapted additively up and
/// multiplicatively down, and the application's updates held back beyond it.
#[derive(Debug, Clone)]
struct FlowState {
    cfg: Flow,
    desired: f64,
    max: f64,
    tokens: f64,
    last_us: u64,
    /// Keys written by the application and not yet published, oldest first (a key written
    /// again while waiting keeps its place: the newer value replaces the older).
    pending: VecDeque<(u32, u64)>,
    waiting: Vec<bool>,
    /// The value each waiting key will be published with.
    waiting_value: Vec<u64>,
}

impl FlowState {
    /// The rate wanted: the application's, and while writes wait, at least the initial rate
    /// (so a backlog drains after the application stops writing).
    fn wanted(&self) -> f64 {
        if self.pending.is_empty() {
            self.desired
        } else {
            self.desired.max(self.cfg.initial_rate)
        }
    }
}

/// One participant.
pub struct Participant {
    pub id: usize,
    n: usize,
    k: usize,
    ordering: Ordering,
    version: Vec<u64>,
    value: Vec<u64>,
    born: Vec<u64>,
    /// Highest version held per origin (Scuttlebutt's digest).
    max_seen: Vec<u64>,
    clock: u64,
    flow: Option<FlowState>,
}

impl Participant {
    pub fn new(id: usize, n: usize, k: usize, ordering: Ordering, flow: Option<&Flow>) -> Participant {
        Participant {
            id,
            n,
            k,
            ordering,
            version: vec![0; n * k],
            value: vec![0; n * k],
            born: vec![0; n * k],
            max_seen: vec![0; n],
            clock: 0,
            flow: flow.map(|f| FlowState {
                cfg: f.clone(),
                desired: f.initial_rate,
                max: f.initial_rate,
                tokens: 1.0,
                last_us: 0,
                pending: VecDeque::new(),
                waiting: vec![false; k],
                waiting_value: vec![0; k],
            }),
        }
    }

    /// The version held of `origin`'s `key`.
    pub fn version(&self, origin: usize, key: usize) -> u64 {
        self.version[origin * self.k + key]
    }

    /// Every version held, origin-major.
    pub fn versions(&self) -> &[u64] {
        &self.version
    }

    /// The maximum update rate flow control allows now (`None` without flow control).
    pub fn max_rate(&self) -> Option<f64> {
        self.flow.as_ref().map(|f| f.max)
    }

    /// Application writes waiting for flow control, and when the oldest was written.
    pub fn backlog(&self) -> (usize, Option<u64>) {
        self.flow
            .as_ref()
            .map_or((0, None), |f| (f.pending.len(), f.pending.front().map(|p| p.1)))
    }

    /// The rate the application wants now (flow control only).
    pub fn set_desired(&mut self, rate: f64) {
        if let Some(f) = self.flow.as_mut() {
            f.desired = rate;
        }
    }

    /// The application writes `value` under its own `key`; without flow control it is published
    /// at once, with it as soon as the maximum rate allows. Returns the deltas published now.
    pub fn write(&mut self, key: usize, value: u64, now_us: u64) -> Vec<Delta> {
        let key = key % self.k;
        match self.flow.as_mut() {
            None => vec![self.publish(key, value, now_us)],
            Some(f) => {
                if !f.waiting[key] {
                    f.waiting[key] = true;
                    f.pending.push_back((key as u32, now_us));
                }
                f.waiting_value[key] = value;
                self.release(now_us)
            }
        }
    }

    /// Publishes held-back writes the maximum rate now allows.
    pub fn release(&mut self, now_us: u64) -> Vec<Delta> {
        let mut out = Vec::new();
        let Some(f) = self.flow.as_mut() else { return out };
        let dt = now_us.saturating_sub(f.last_us) as f64 / 1e6;
        f.last_us = now_us;
        f.tokens = (f.tokens + dt * f.max).min(1.0);
        let mut keys = Vec::new();
        while f.tokens >= 1.0 {
            let Some((key, _)) = f.pending.pop_front() else {
                break;
            };
            f.waiting[key as usize] = false;
            f.tokens -= 1.0;
            keys.push((key as usize, f.waiting_value[key as usize]));
        }
        for (key, value) in keys {
            out.push(self.publish(key, value, now_us));
        }
        out
    }

    fn publish(&mut self, key: usize, value: u64, now_us: u64) -> Delta {
        self.clock += 1;
        let i = self.id * self.k + key;
        self.version[i] = self.clock;
        self.value[i] = value;
        self.born[i] = now_us;
        self.max_seen[self.id] = self.clock;
        Delta {
            origin: self.id as u32,
            key: key as u32,
            version: self.clock,
            value,
            born_us: now_us,
        }
    }

    fn digest(&self) -> Digest {
        if self.ordering.is_scuttlebutt() {
            Digest::Scuttle(self.max_seen.clone())
        } else {
            Digest::Precise(self.version.clone())
        }
    }

    fn rates(&self) -> Option<Rates> {
        self.flow.as_ref().map(|f| Rates {
            desired: f.wanted(),
            max: f.max,
        })
    }

    /// Starts an exchange with `peer`.
    pub fn gossip(&self, peer: usize) -> Action {
        Action::Send {
            to: peer,
            msg: Msg::Digest {
                digest: self.digest(),
                rates: self.rates(),
            },
        }
    }

    /// Handles a message from `from`. `mtu` caps the deltas of one message (`None`: no cap);
    /// `rng` breaks ties among participants.
    pub fn receive(
        &mut self,
        from: usize,
        msg: Msg,
        mtu: Option<usize>,
        rng: &mut dyn RngCore,
    ) -> Vec<Action> {
        let mut out = Vec::new();
        match msg {
            Msg::Digest { digest, rates } => {
                if let Some(r) = rates {
                    self.share(r);
                }
                let mine = self.digest();
                let deltas = self.deltas_for(from, &digest, mtu, rng, &mut out);
                out.push(Action::Send {
                    to: from,
                    msg: Msg::Reply {
                        digest: mine,
                        deltas,
                        rates: self.rates(),
                    },
                });
            }
            Msg::Reply {
                digest,
                deltas,
                rates,
            } => {
                if let Some(r) = rates {
                    self.share(r);
                }
                self.apply(from, &deltas);
                let deltas = self.deltas_for(from, &digest, mtu, rng, &mut out);
                out.push(Action::Send {
                    to: from,
                    msg: Msg::Deltas { deltas },
                });
            }
            Msg::Deltas { deltas } => self.apply(from, &deltas),
        }
        out
    }

    /// Splits the two participants' maximum rates between them: one that wants less than half
    /// gets what it wants and the other the rest; neither holds more than it wants.
    fn share(&mut self, peer: Rates) {
        let Some(f) = self.flow.as_mut() else { return };
        let wanted = f.wanted();
        let total = f.max + peer.max;
        let half = total / 2.0;
        let mine = if wanted <= half {
            wanted
        } else if peer.desired <= half {
            total - peer.desired
        } else {
            half
        };
        f.max = mine.min(wanted).max(f.cfg.floor);
    }

    /// Additive increase after a delta set that fitted, multiplicative decrease after one that
    /// overflowed.
    fn adapt(&mut self, overflowed: bool) {
        let Some(f) = self.flow.as_mut() else { return };
        f.max = if overflowed {
            f.max * f.cfg.decrease
        } else {
            (f.max + f.cfg.increase).min(f.wanted().max(f.cfg.floor))
        }
        .max(f.cfg.floor);
    }

    /// The deltas `peer` lacks according to its digest, at most `mtu`, in this participant's
    /// ordering.
    fn deltas_for(
        &mut self,
        peer: usize,
        digest: &Digest,
        mtu: Option<usize>,
        rng: &mut dyn RngCore,
        out: &mut Vec<Action>,
    ) -> Vec<Delta> {
        let cap = mtu.unwrap_or(usize::MAX);
        let (chosen, available) = match (self.ordering, digest) {
            (Ordering::PreciseOldest | Ordering::PreciseNewest, Digest::Precise(theirs))
                if theirs.len() == self.version.len() =>
            {
                let mut owed: Vec<usize> = (0..self.version.len())
                    .filter(|&i| self.version[i] > theirs[i])
                    .collect();
                let available = owed.len();
                if self.ordering == Ordering::PreciseOldest {
                    owed.sort_by_key(|&i| (self.born[i], i));
                } else {
                    owed.sort_by_key(|&i| (std::cmp::Reverse(self.born[i]), i));
                }
                owed.truncate(cap);
                (
                    owed.into_iter().map(|i| self.delta(i)).collect::<Vec<_>>(),
                    available,
                )
            }
            (Ordering::ScuttleBreadth | Ordering::ScuttleDepth, Digest::Scuttle(theirs))
                if theirs.len() == self.n =>
            {
                // Per origin, the mappings newer than the peer's highest version, oldest first.
                let per: Vec<Vec<usize>> = (0..self.n)
                    .map(|r| {
                        let mut v: Vec<usize> = (r * self.k..(r + 1) * self.k)
                            .filter(|&i| self.version[i] > theirs[r])
                            .collect();
                        v.sort_by_key(|&i| self.version[i]);
                        v
                    })
                    .collect();
                let available: usize = per.iter().map(Vec::len).sum();
                // A random order of origins breaks ties.
                let mut order: Vec<usize> = (0..self.n).collect();
                for i in (1..order.len()).rev() {
                    order.swap(i, (rng.next_u64() % (i as u64 + 1)) as usize);
                }
                let mut picked = Vec::new();
                if self.ordering == Ordering::ScuttleDepth {
                    order.sort_by_key(|&r| std::cmp::Reverse(per[r].len()));
                    'outer: for r in order {
                        for &i in &per[r] {
                            if picked.len() >= cap {
                                break 'outer;
                            }
                            picked.push(i);
                        }
                    }
                } else {
                    let deepest = per.iter().map(Vec::len).max().unwrap_or(0);
                    'rank: for rank in 0..deepest {
                        for &r in &order {
                            if let Some(&i) = per[r].get(rank) {
                                if picked.len() >= cap {
                                    break 'rank;
                                }
                                picked.push(i);
                            }
                        }
                    }
                }
                (picked.into_iter().map(|i| self.delta(i)).collect(), available)
            }
            // A digest of the other kind, or of another size: nothing can be owed safely.
            (_, d) => {
                let len = match d {
                    Digest::Precise(v) | Digest::Scuttle(v) => v.len(),
                };
                tracing::warn!(
                    participant = self.id,
                    peer,
                    entries = len,
                    "digest of the wrong kind or size: no deltas sent"
                );
                (Vec::new(), 0)
            }
        };
        let overflowed = available > chosen.len();
        if mtu.is_some() {
            self.adapt(overflowed);
        }
        if overflowed {
            out.push(Action::Overflow {
                to: peer,
                available,
                sent: chosen.len(),
            });
        }
        chosen
    }

    fn delta(&self, i: usize) -> Delta {
        Delta {
            origin: (i / self.k) as u32,
            key: (i % self.k) as u32,
            version: self.version[i],
            value: self.value[i],
            born_us: self.born[i],
        }
    }

    /// Takes every delta newer than what is held (its own mappings are never overwritten).
    fn apply(&mut self, from: usize, deltas: &[Delta]) {
        let mut dropped = 0usize;
        for d in deltas {
            let (r, key) = (d.origin as usize, d.key as usize);
            if r >= self.n || key >= self.k || r == self.id {
                dropped += 1;
                continue;
            }
            let i = r * self.k + key;
            if d.version > self.version[i] {
                self.version[i] = d.version;
                self.value[i] = d.value;
                self.born[i] = d.born_us;
            }
            if self.ordering.is_scuttlebutt() {
                self.max_seen[r] = self.max_seen[r].max(d.version);
            }
        }
        if dropped > 0 {
            tracing::warn!(
                participant = self.id,
                from,
                dropped,
                of = deltas.len(),
                "deltas outside the table or for our own mappings dropped"
            );
        }
    }
}
