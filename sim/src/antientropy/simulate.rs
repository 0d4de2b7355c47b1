//! The anti-entropy run: participants on one time-ordered queue, each gossiping once per period
//! with a peer drawn at random, messages delayed by a random link delay, the application writing
//! random keys at the scenario's rate, and once per simulated second the two measures of the
//! paper: the maximum staleness of any mapping anywhere and the number of stale mappings.
//!
//! A participant's copy of a mapping is stale while its version is below the origin's; its
//! staleness is the time since the origin wrote the first value that copy is missing.

use rand_core::RngCore;
use serde::{Deserialize, Serialize};

use super::config::{at, Config, Ordering};
use super::participant::{Action, Msg, Participant};
use super::queue::{rng, Queue};

enum Ev {
    Gossip(usize),
    Deliver { from: usize, to: usize, msg: Msg },
    Write(usize),
    Sample,
}

/// The measures at one simulated second.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Sample {
    pub t_s: u64,
    /// The largest staleness of any stale copy of any mapping, in seconds.
    pub max_staleness_s: f64,
    /// Copies of mappings (participant × origin × key, origin excluded) that are stale.
    pub stale_mappings: u64,
    /// Application writes held back by flow control, all participants together.
    pub backlog: u64,
    /// The oldest held-back write's age, in seconds.
    pub backlog_age_s: f64,
    /// Mean maximum update rate allowed by flow control (updates per second; 0 without it).
    pub mean_max_rate: f64,
    /// Deltas sent in this second, and delta sets cut to the MTU.
    pub deltas_sent: u64,
    pub overflows: u64,
    /// Writes published in this second.
    pub published: u64,
}

/// One run: an ordering, with or without flow control.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Series {
    pub ordering: Ordering,
    pub flow_control: bool,
    pub samples: Vec<Sample>,
    /// Events handled.
    pub events: u64,
}

impl Series {
    pub fn label(&self) -> String {
        if self.flow_control {
            format!("{} + flow control", self.ordering.name())
        } else {
            self.ordering.name().to_string()
        }
    }

    /// The largest maximum staleness in `[from_s, to_s)`.
    pub fn peak_staleness(&self, from_s: u64, to_s: u64) -> f64 {
        self.samples
            .iter()
            .filter(|s| s.t_s >= from_s && s.t_s < to_s)
            .map(|s| s.max_staleness_s)
            .fold(0.0, f64::max)
    }

    /// The largest number of stale mappings in `[from_s, to_s)`.
    pub fn peak_stale(&self, from_s: u64, to_s: u64) -> u64 {
        self.samples
            .iter()
            .filter(|s| s.t_s >= from_s && s.t_s < to_s)
            .map(|s| s.stale_mappings)
            .max()
            .unwrap_or(0)
    }

    /// The first second from which no mapping is stale to the end (None: never).
    pub fn consistent_from(&self) -> Option<u64> {
        let last_stale = self.samples.iter().rposition(|s| s.stale_mappings > 0);
        match last_stale {
            None => self.samples.first().map(|s| s.t_s),
            Some(i) => self.samples.get(i + 1).map(|s| s.t_s),
        }
    }
}

fn uniform(rng: &mut dyn RngCore, lo: u64, hi: u64) -> u64 {
    lo + rng.next_u64() % (hi.saturating_sub(lo) + 1)
}

/// Runs one ordering of a scenario, with or without flow control.
pub fn run(cfg: &Config, ordering: Ordering, flow_control: bool) -> Series {
    let (n, k) = (cfg.participants, cfg.keys);
    let mut rng = rng(cfg.seed, b"antientr");
    let mut q: Queue<Ev> = Queue::default();
    let flow = flow_control.then_some(&cfg.flow);
    let mut ps: Vec<Participant> = (0..n)
        .map(|i| Participant::new(i, n, k, ordering, flow))
        .collect();
    // When each origin wrote each of its versions, per mapping: (version, time).
    let mut history: Vec<Vec<(u64, u64)>> = vec![Vec::new(); n * k];
    let period = cfg.gossip_period_ms * 1000;
    for p in 0..n {
        q.schedule(rng.next_u64() % period, Ev::Gossip(p));
        q.schedule(rng.next_u64() % 1_000_000, Ev::Write(p));
    }
    q.schedule(1_000_000, Ev::Sample);
    let end = cfg.duration_s * 1_000_000;
    let mut samples = Vec::new();
    let mut events = 0u64;
    let (mut sent, mut overflows, mut published) = (0u64, 0u64, 0u64);
    let t_s = |us: u64| us as f64 / 1e6;
    while let Some(ev) = q.pop(end) {
        events += 1;
        let now = q.now_us;
        let mtu = at(&cfg.mtu, t_s(now)).map(|m| m as usize);
        let rate = at(&cfg.update_rate, t_s(now)).unwrap_or(0.0);
        let mut actions = Vec::new();
        let mut from = 0;
        match ev {
            Ev::Gossip(p) => {
                let peer = (p + 1 + (rng.next_u64() % (n as u64 - 1)) as usize) % n;
                ps[p].set_desired(rate);
                let out = ps[p].release(now);
                published += out.len() as u64;
                for d in out {
                    history[d.origin as usize * k + d.key as usize].push((d.version, d.born_us));
                }
                actions.push(ps[p].gossip(peer));
                from = p;
                q.schedule(now + period, Ev::Gossip(p));
            }
            Ev::Deliver { from: f, to, msg } => {
                actions = ps[to].receive(f, msg, mtu, &mut rng);
                from = to;
            }
            Ev::Write(p) => {
                if rate > 0.0 {
                    ps[p].set_desired(rate);
                    let key = (rng.next_u64() % k as u64) as usize;
                    let value = rng.next_u64();
                    let out = ps[p].write(key, value, now);
                    published += out.len() as u64;
                    for d in out {
                        history[d.origin as usize * k + d.key as usize].push((d.version, d.born_us));
                    }
                    q.schedule(now + (1e6 / rate) as u64, Ev::Write(p));
                } else {
                    // Idle: look again at the next step of the schedule, or in a second.
                    let next = cfg
                        .update_rate
                        .iter()
                        .map(|s| (s.at_s * 1e6) as u64)
                        .filter(|&t| t > now)
                        .min()
                        .unwrap_or(now + 1_000_000);
                    q.schedule(next, Ev::Write(p));
                }
            }
            Ev::Sample => {
                samples.push(measure(&ps, &history, k, now, sent, overflows, published));
                sent = 0;
                overflows = 0;
                published = 0;
                q.schedule(now + 1_000_000, Ev::Sample);
            }
        }
        for a in actions {
            match a {
                Action::Send { to, msg } => {
                    sent += match &msg {
                        Msg::Reply { deltas, .. } | Msg::Deltas { deltas } => deltas.len() as u64,
                        Msg::Digest { .. } => 0,
                    };
                    let delay = uniform(&mut rng, cfg.delay_min_ms * 1000, cfg.delay_max_ms * 1000);
                    q.schedule(now + delay, Ev::Deliver { from, to, msg });
                }
                Action::Overflow { .. } => overflows += 1,
            }
        }
    }
    Series {
        ordering,
        flow_control,
        samples,
        events,
    }
}

fn measure(
    ps: &[Participant],
    history: &[Vec<(u64, u64)>],
    k: usize,
    now: u64,
    sent: u64,
    overflows: u64,
    published: u64,
) -> Sample {
    let n = ps.len();
    let mut stale = 0u64;
    let mut oldest_missing = u64::MAX;
    for (r, origin) in ps.iter().enumerate() {
        for key in 0..k {
            let truth = origin.version(r, key);
            if truth == 0 {
                continue;
            }
            let h = &history[r * k + key];
            for (p, holder) in ps.iter().enumerate() {
                if p == r {
                    continue;
                }
                let held = holder.version(r, key);
                if held < truth {
                    stale += 1;
                    let first_missing = h.partition_point(|e| e.0 <= held);
                    if let Some(e) = h.get(first_missing) {
                        oldest_missing = oldest_missing.min(e.1);
                    }
                }
            }
        }
    }
    let (backlog, oldest_wait) = ps.iter().fold((0u64, u64::MAX), |(b, o), p| {
        let (len, first) = p.backlog();
        (b + len as u64, o.min(first.unwrap_or(u64::MAX)))
    });
    let rates: Vec<f64> = ps.iter().filter_map(Participant::max_rate).collect();
    Sample {
        t_s: now / 1_000_000,
        max_staleness_s: if oldest_missing == u64::MAX {
            0.0
        } else {
            (now - oldest_missing) as f64 / 1e6
        },
        stale_mappings: stale,
        backlog,
        backlog_age_s: if oldest_wait == u64::MAX {
            0.0
        } else {
            (now - oldest_wait) as f64 / 1e6
        },
        mean_max_rate: if rates.is_empty() {
            0.0
        } else {
            rates.iter().sum::<f64>() / n as f64
        },
        deltas_sent: sent,
        overflows,
        published,
    }
}
