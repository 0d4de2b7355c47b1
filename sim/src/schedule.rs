//! Putting a plan on the clock: the nodes' staggered scheduler ticks, the workload's publish
//! times (a forker's two halves publish at the same times, the second one message more), and
//! the faults — partitions, crashes and churn — as events on the world's queue, all drawn from
//! the scenario's setup generator.

use rand_chacha::ChaCha20Rng;
use rand_core::RngCore;

use crate::plan::Plan;
use crate::scenario::Scenario;
use crate::world::{Ev, Role, World};

pub(crate) fn uniform(rng: &mut ChaCha20Rng, lo: u64, hi: u64) -> u64 {
    lo + rng.next_u64() % (hi.saturating_sub(lo) + 1)
}

/// Microseconds between a host's scheduler ticks.
pub fn tick_us(sc: &Scenario) -> u64 {
    sc.network.tick_ms.max(1) * 1000
}

/// Schedules ticks, the workload and the faults of `sc`.
pub fn schedule(sc: &Scenario, plan: &Plan, world: &mut World, setup: &mut ChaCha20Rng) {
    let n = sc.nodes;
    let tick = tick_us(sc);
    for h in 0..n {
        let at = setup.next_u64() % tick;
        world.schedule(at, Ev::Tick { host: h });
    }
    workload(sc, plan, world, setup);
    faults(sc, plan, world, setup);
}

/// Publish times drawn in the window; a forker's second half publishes `fork_delay_s` after the
/// first (at the same times by default), so their feeds fork at the same sequences. A delayed
/// second half stays offline until its first publication.
fn workload(sc: &Scenario, plan: &Plan, world: &mut World, setup: &mut ChaCha20Rng) {
    let (w0, w1) = (sc.workload.start_s * 1_000_000, sc.workload.end_s * 1_000_000);
    let delay = sc.byzantine.fork_delay_s * 1_000_000;
    for h in 0..sc.nodes {
        let role = plan.roles[h];
        let count = match role {
            Role::Honest | Role::Slow => sc.workload.messages_per_node,
            Role::Forger => sc.workload.messages_per_node.div_ceil(2),
            Role::Forker if plan.author[h] == h => sc.workload.messages_per_node,
            _ => 0,
        };
        let times: Vec<u64> = (0..count).map(|_| uniform(setup, w0, w1)).collect();
        // A delayed second half is a device restored from an old backup: offline from the start
        // (so it never takes the first half's messages for its own) until its first publication.
        if role == Role::Forker && delay > 0 {
            if let Some(first) = times.iter().min() {
                world.schedule(0, Ev::Down { host: h + 1 });
                world.schedule(first + delay, Ev::Up { host: h + 1 });
            }
        }
        for at in times {
            world.schedule(at, Ev::Publish { host: h });
            if role == Role::Forker {
                world.schedule(at + delay, Ev::Publish { host: h + 1 });
            }
        }
        // The second branch grows one message longer, so that EBT carries it to nodes holding
        // the first (two branches of one length are never exchanged: each side already holds
        // that many messages).
        if role == Role::Forker && plan.author[h] == h && count > 0 {
            world.schedule(w1 + delay, Ev::Publish { host: h + 1 });
        }
    }
}

fn faults(sc: &Scenario, plan: &Plan, world: &mut World, setup: &mut ChaCha20Rng) {
    let n = sc.nodes;
    for p in &sc.faults.partition {
        let mut order: Vec<usize> = (0..n).collect();
        for i in (1..n).rev() {
            order.swap(i, (setup.next_u64() % (i as u64 + 1)) as usize);
        }
        let side: Vec<usize> = order[..((n as f64 * p.fraction) as usize).min(n)].to_vec();
        world.schedule(p.at_s * 1_000_000, Ev::Partition { side });
        world.schedule(p.heal_s * 1_000_000, Ev::Heal);
    }
    for c in &sc.faults.crash {
        if c.node < n {
            world.schedule(c.at_s * 1_000_000, Ev::Down { host: c.node });
            world.schedule(c.restart_s * 1_000_000, Ev::Up { host: c.node });
        }
    }
    if let Some(ch) = &sc.faults.churn {
        let honest: Vec<usize> = plan.honest_authors.iter().copied().collect();
        let mut t = ch.every_s;
        while t < ch.until_s && !honest.is_empty() {
            for _ in 0..ch.count {
                let h = honest[(setup.next_u64() % honest.len() as u64) as usize];
                world.schedule(t * 1_000_000, Ev::Down { host: h });
                world.schedule((t + ch.offline_s) * 1_000_000, Ev::Up { host: h });
            }
            t += ch.every_s;
        }
    }
}
