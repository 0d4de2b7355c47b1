//! Swarm testing (as TigerBeetle's VOPR does it): in a swarm run the seed picks not only the
//! run's randomness but the scenario's knobs too — node count, topology, degree, follows,
//! latency, loss, workload, partitions, crashes, the Byzantine mix and the replication method —
//! each within the ranges of the scenario's `[swarm]` table, so that a sweep over seeds visits
//! corners nobody would have written down. The draw uses its own generator, derived from the
//! seed, so `--swarm --seed S` always gives the same scenario.

use rand_chacha::ChaCha20Rng;
use rand_core::{RngCore, SeedableRng};
use serde::{Deserialize, Serialize};

use crate::scenario::{Crash, Partition, Scenario};
use crate::schedule::uniform;

/// The `[swarm]` table: inclusive ranges `[low, high]` for each knob. An empty list of choices
/// keeps the scenario's own value.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SwarmRanges {
    pub nodes: [usize; 2],
    /// Topology kinds to pick from.
    pub topology: Vec<String>,
    pub degree: [usize; 2],
    pub hubs: [usize; 2],
    pub follows: [usize; 2],
    pub latency_ms: [u64; 2],
    pub loss: [f64; 2],
    /// Replication methods to pick from.
    pub replication: Vec<String>,
    pub messages_per_node: [usize; 2],
    pub partitions: [usize; 2],
    pub crashes: [usize; 2],
    pub forgers: [usize; 2],
    pub forkers: [usize; 2],
    /// Seconds between the two halves of a forking identity.
    pub fork_delay_s: [u64; 2],
    pub flooders: [usize; 2],
    pub slow: [usize; 2],
    /// Seconds every fault ends before the run does, so that the nodes can converge.
    pub settle_s: u64,
}

impl Default for SwarmRanges {
    fn default() -> Self {
        SwarmRanges {
            nodes: [4, 40],
            topology: vec!["random_regular".into(), "small_world".into(), "hubs".into()],
            degree: [1, 5],
            hubs: [1, 4],
            follows: [1, 10],
            latency_ms: [1, 250],
            loss: [0.0, 0.05],
            replication: vec!["ebt".into(), "legacy".into()],
            messages_per_node: [1, 10],
            partitions: [0, 2],
            crashes: [0, 2],
            forgers: [0, 2],
            forkers: [0, 1],
            fork_delay_s: [0, 20],
            flooders: [0, 1],
            slow: [0, 1],
            settle_s: 45,
        }
    }
}

fn pick<T: Copy>(rng: &mut ChaCha20Rng, r: [T; 2]) -> u64
where
    u64: From<T>,
{
    let (lo, hi) = (u64::from(r[0]), u64::from(r[1]));
    uniform(rng, lo.min(hi), lo.max(hi))
}

fn pick_n(rng: &mut ChaCha20Rng, r: [usize; 2]) -> usize {
    let (lo, hi) = (r[0].min(r[1]) as u64, r[0].max(r[1]) as u64);
    uniform(rng, lo, hi) as usize
}

fn choose<'a>(rng: &mut ChaCha20Rng, from: &'a [String]) -> Option<&'a String> {
    let i = rng.next_u64();
    (!from.is_empty()).then(|| &from[(i % from.len() as u64) as usize])
}

fn fraction(rng: &mut ChaCha20Rng, lo: f64, hi: f64) -> f64 {
    let x = lo + (rng.next_u64() as f64 / u64::MAX as f64) * (hi - lo);
    (x * 1000.0).round() / 1000.0
}

/// Replaces the knobs of `sc` by a draw from its `[swarm]` ranges for `sc.seed`. Every draw is
/// made in a fixed order whatever the ranges, and the result always passes
/// [`Scenario::check`] (honest nodes stay a majority, faults end `settle_s` before the end).
pub fn apply(sc: &mut Scenario) {
    let r = sc.swarm.clone();
    let mut rng = ChaCha20Rng::seed_from_u64(sc.seed ^ 0x5357_4152_4d5f_5345);
    sc.nodes = pick_n(&mut rng, r.nodes).max(2);
    if let Some(t) = choose(&mut rng, &r.topology) {
        sc.topology.kind = t.clone();
    }
    sc.topology.degree = pick_n(&mut rng, r.degree).max(1);
    sc.topology.hubs = pick_n(&mut rng, r.hubs).clamp(1, sc.nodes);
    sc.follows.count = pick_n(&mut rng, r.follows);
    let (a, b) = (pick(&mut rng, r.latency_ms), pick(&mut rng, r.latency_ms));
    sc.network.latency_min_ms = a.min(b);
    sc.network.latency_max_ms = a.max(b);
    sc.network.loss = fraction(&mut rng, r.loss[0], r.loss[1]);
    if let Some(m) = choose(&mut rng, &r.replication) {
        sc.replication = m.clone();
    }
    sc.workload.messages_per_node = pick_n(&mut rng, r.messages_per_node);
    // The Byzantine mix, trimmed so that honest nodes stay more than half.
    let b = &mut sc.byzantine;
    b.forgers = pick_n(&mut rng, r.forgers);
    b.forkers = pick_n(&mut rng, r.forkers);
    b.flooders = pick_n(&mut rng, r.flooders);
    b.slow = pick_n(&mut rng, r.slow);
    let n = sc.nodes;
    let byz = |b: &crate::scenario::Byzantine| b.forgers + 2 * b.forkers + b.flooders + b.slow;
    while byz(b) * 2 >= n && byz(b) > 0 {
        if b.flooders > 0 {
            b.flooders -= 1;
        } else if b.slow > 0 {
            b.slow -= 1;
        } else if b.forgers > 0 {
            b.forgers -= 1;
        } else {
            b.forkers -= 1;
        }
    }
    let honest = n - byz(b);
    // Faults inside the workload window, healed `settle_s` before the end.
    let last = sc.duration_s.saturating_sub(r.settle_s).max(sc.workload.end_s);
    let (w0, w1) = (sc.workload.start_s, sc.workload.end_s.max(sc.workload.start_s));
    let partitions = pick_n(&mut rng, r.partitions);
    sc.faults.partition = (0..partitions)
        .map(|_| {
            let at_s = uniform(&mut rng, w0, w1);
            let heal_s = (at_s + uniform(&mut rng, 2, 40)).min(last);
            Partition {
                at_s,
                heal_s,
                fraction: fraction(&mut rng, 0.1, 0.5),
            }
        })
        .collect();
    let crashes = pick_n(&mut rng, r.crashes);
    sc.faults.crash = (0..crashes)
        .map(|_| {
            // Honest hosts come first in the host list (roles are taken from its end).
            let node = (rng.next_u64() % honest.max(1) as u64) as usize;
            let at_s = uniform(&mut rng, w0, w1);
            let restart_s = (at_s + uniform(&mut rng, 1, 30)).min(last);
            Crash {
                node,
                at_s,
                restart_s,
            }
        })
        .collect();
    // Draws added after the first release of the swarm come last, so that older seeds keep
    // drawing the same knobs.
    sc.byzantine.fork_delay_s = pick(&mut rng, r.fork_delay_s);
    sc.compare_replication = false;
    sc.origin.swarm = true;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_seed_draws_one_scenario_and_it_runs() {
        for seed in 0..200 {
            let mut a = Scenario::load("smoke").unwrap();
            a.seed = seed;
            apply(&mut a);
            let mut b = Scenario::load("smoke").unwrap();
            b.seed = seed;
            apply(&mut b);
            assert_eq!(toml::to_string(&a).unwrap(), toml::to_string(&b).unwrap());
            a.check().unwrap_or_else(|e| panic!("seed {seed}: {e}"));
            let byz = a.byzantine.forgers + 2 * a.byzantine.forkers + a.byzantine.flooders + a.byzantine.slow;
            assert!(byz * 2 < a.nodes, "seed {seed}: {byz} Byzantine of {}", a.nodes);
            for p in &a.faults.partition {
                assert!(p.heal_s + a.swarm.settle_s <= a.duration_s.max(a.workload.end_s + a.swarm.settle_s));
            }
        }
    }

    #[test]
    fn seeds_visit_the_ranges() {
        let mut kinds = std::collections::BTreeSet::new();
        let mut methods = std::collections::BTreeSet::new();
        let (mut small, mut large) = (usize::MAX, 0);
        for seed in 0..300 {
            let mut a = Scenario::load("smoke").unwrap();
            a.seed = seed;
            apply(&mut a);
            kinds.insert(a.topology.kind.clone());
            methods.insert(a.replication.clone());
            small = small.min(a.nodes);
            large = large.max(a.nodes);
        }
        assert_eq!(kinds.len(), 3, "{kinds:?}");
        assert_eq!(methods.len(), 2);
        let r = Scenario::load("smoke").unwrap().swarm;
        assert!(
            small <= r.nodes[0] + 2 && large >= r.nodes[1] - 2,
            "{small}..{large}"
        );
    }
}
