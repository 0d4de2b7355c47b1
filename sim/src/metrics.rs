//! What a run measures: for every published message, when it was published and when the last
//! node that should hold it stored it (convergence time); bytes sent per node and in all;
//! messages delivered and duplicates (redundancy); connections and why they closed; forks seen;
//! a timeline of deliveries per simulated second. Everything is keyed by ordered maps, so the
//! summary of a seed is the same bytes on every run.

use std::collections::BTreeMap;

use serde::Serialize;

/// One published message's journey.
#[derive(Debug, Clone, Default)]
pub struct MsgStat {
    pub published_ms: u64,
    /// Honest nodes that should store it and have not yet.
    pub waiting: usize,
    pub converged_ms: Option<u64>,
}

#[derive(Debug, Default)]
pub struct Metrics {
    /// By (author host, sequence).
    pub messages: BTreeMap<(usize, u64), MsgStat>,
    pub bytes_sent: Vec<u64>,
    pub delivered: u64,
    pub duplicates: u64,
    pub rejected: u64,
    pub connections: u64,
    pub dial_failures: u64,
    pub closes: BTreeMap<String, u64>,
    pub forks: BTreeMap<String, u64>,
    /// Deliveries per simulated second.
    pub timeline: Vec<u64>,
    pub max_queued_bytes: usize,
    pub torn_lost: u64,
}

/// Percentiles of a sorted list.
fn pct(sorted: &[u64], p: f64) -> u64 {
    if sorted.is_empty() {
        return 0;
    }
    let i = ((sorted.len() - 1) as f64 * p).round() as usize;
    sorted[i]
}

/// The summary of a run (`summary.json`): no wall-clock figures, so one seed gives one file.
#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    pub scenario: String,
    pub seed: u64,
    pub nodes: usize,
    pub replication: String,
    pub duration_s: u64,
    pub invariants: Invariants,
    /// (follower, feed) pairs with no path of replicating nodes between author and follower:
    /// not expected to converge.
    pub follows_unreachable: usize,
    pub messages_published: usize,
    pub messages_converged: usize,
    pub convergence_ms: Percentiles,
    pub messages_delivered: u64,
    pub duplicates: u64,
    pub rejected: u64,
    pub bytes_sent: u64,
    /// Bytes sent (all traffic, handshakes excluded) per message delivered.
    pub bytes_per_delivered: f64,
    /// (deliveries + duplicates) / deliveries: how many copies of a message a node receives.
    pub redundancy: f64,
    pub per_node_bytes: Percentiles,
    /// Bytes sent by each host, in host order.
    pub per_node_bytes_sent: Vec<u64>,
    pub connections: u64,
    pub dial_failures: u64,
    pub closes: BTreeMap<String, u64>,
    pub forks_detected: BTreeMap<String, u64>,
    pub max_queued_bytes_per_link: usize,
    /// Received messages that crashed hosts had not synced and lost (they replicate again).
    pub messages_lost_to_torn_writes: u64,
    pub timeline_deliveries_per_s: Vec<u64>,
    pub events: u64,
    /// The private groups of the run, if the scenario has any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub groups: Option<crate::groups::GroupsSummary>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Percentiles {
    pub p50: u64,
    pub p99: u64,
    pub max: u64,
}

impl Percentiles {
    pub fn of(mut v: Vec<u64>) -> Percentiles {
        v.sort_unstable();
        Percentiles {
            p50: pct(&v, 0.5),
            p99: pct(&v, 0.99),
            max: v.last().copied().unwrap_or(0),
        }
    }
}

/// The invariants of a run: `held` is true when none was violated; each check says whether it
/// held or could not be exercised by this run.
#[derive(Debug, Clone, Serialize)]
pub struct Invariants {
    pub held: bool,
    pub checks: Vec<crate::invariants::Verdict>,
}

impl Invariants {
    /// The names of the invariants this run could not exercise.
    pub fn not_exercised(&self) -> Vec<&'static str> {
        self.checks
            .iter()
            .filter(|c| c.status == crate::invariants::Status::NotExercised)
            .map(|c| c.name)
            .collect()
    }
}

impl Metrics {
    pub fn new(hosts: usize) -> Metrics {
        Metrics {
            bytes_sent: vec![0; hosts],
            ..Default::default()
        }
    }

    pub fn delivered_at(&mut self, ms: u64) {
        self.delivered += 1;
        let s = (ms / 1000) as usize;
        if self.timeline.len() <= s {
            self.timeline.resize(s + 1, 0);
        }
        self.timeline[s] += 1;
    }

    /// Convergence times of the messages that converged.
    pub fn convergence(&self) -> Vec<u64> {
        self.messages
            .values()
            .filter_map(|m| m.converged_ms.map(|c| c - m.published_ms))
            .collect()
    }
}
