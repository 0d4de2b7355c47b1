//! **Fork detection.** A forking identity runs as two hosts that share one key and publish
//! different messages at the same sequences (the second branch one message longer; with
//! `fork_delay_s`, later). A fork is *owed* detection when, at the end of the run, an honest
//! running node holds one branch and a holder of the other branch — another honest running node,
//! or the half that publishes it — holds it *longer*, and the two are joined by a path of honest
//! running nodes that replicate the feed. Then replication must have offered the shorter, honest
//! side the longer side's next message, whose sequence it already holds or whose `previous` names
//! another message: a fork, with both ids. Held when every owed fork was reported
//! (`NodeEvent::Fork`) by at least one honest node.
//!
//! Not owed, by design of the protocol rather than a miss: branches that never reach an honest
//! node joined through honest replicators to the other branch (a forker's half relays only its
//! own branch; slow and forging nodes are not honest witnesses); branches of equal length
//! (replication exchanges only what one side has beyond the other); and a shorter side that is a
//! forker's half (it detects the fork itself, but is no honest witness). The two halves share
//! one key and a node dials no key it is already connected to, so a node linked to both halves
//! counts as joined to a half only where that half dials it (the lower host dials) or it has no
//! link to the other half. Not exercised when no fork was owed.

use super::{Ending, Verdict};
use crate::world::Role;

pub const NAME: &str = "fork_detection";
pub const STATEMENT: &str = "every fork is detected by an honest node where an honest node holding one branch is joined, through honest replicating nodes, to a longer copy of the other";

/// Which branch each running holder of forking feed `a` holds, and at what length: the honest
/// nodes and the two halves.
fn holders(e: &Ending, a: usize) -> Vec<(usize, usize, u64)> {
    let feed = e.plan.ids[a];
    let mut out = Vec::new();
    for (h, host) in e.world.hosts.iter().enumerate() {
        let half = e.plan.roles[h] == Role::Forker && e.plan.author[h] == a;
        if e.plan.roles[h] != Role::Honest && !half {
            continue;
        }
        let Some(node) = host.node.as_ref() else { continue };
        let Some(latest) = node.store().latest(&feed) else {
            continue;
        };
        if let Some(b) = e.ledger.branch_of(a, latest.sequence, &latest.id) {
            out.push((h, b, latest.sequence));
        }
    }
    out
}

pub fn check(e: &Ending) -> Verdict {
    let forkers = e.plan.forkers();
    if forkers.is_empty() {
        return Verdict::not_exercised(NAME, STATEMENT, "no forking identity");
    }
    let mut owed = 0;
    let mut violations = Vec::new();
    let mut unowed = Vec::new();
    for &(a, second) in &forkers {
        // The halves share one key, and a node dials no key it is already connected to: a node
        // linked to both halves reaches a half only where that half dials it (the lower host
        // dials) or it has no link to the other half.
        let other_half = |y: usize| if y == a { second } else { a };
        let reaches_half = |y: usize, z: usize| y < z || !e.plan.adj[z].contains(&other_half(y));
        let held = holders(e, a);
        let witness = |x: usize| {
            e.plan.roles[x] == Role::Honest && e.world.alive(x) && e.plan.replicates[x].contains(&a)
        };
        let is_honest = |x: usize| e.plan.roles[x] == Role::Honest;
        let meet = held.iter().filter(|(x, _, _)| is_honest(*x)).any(|(x, bx, lx)| {
            let joined = e.plan.reach(&[*x], witness);
            held.iter().any(|(y, by, ly)| {
                by != bx
                    && ly > lx
                    && if is_honest(*y) {
                        joined.contains(y)
                    } else {
                        e.plan.adj[*y]
                            .iter()
                            .any(|z| joined.contains(z) && reaches_half(*y, *z))
                    }
            })
        });
        if !meet {
            let honest = held.iter().filter(|h| e.plan.roles[h.0] == Role::Honest);
            let (b0, b1) = honest.fold(
                (0, 0),
                |(b0, b1), h| if h.1 == 0 { (b0 + 1, b1) } else { (b0, b1 + 1) },
            );
            unowed.push(format!(
                "node {a}: {b0} honest holders of one branch, {b1} of the other; no honest holder joined to a longer other branch"
            ));
            continue;
        }
        owed += 1;
        if !e.metrics.forks.contains_key(&e.plan.ids[a].to_string()) {
            let h: Vec<String> = held.iter().map(|(h, b, l)| format!("{h}:{b}@{l}")).collect();
            violations.push(format!(
                "the fork of node {a}'s feed was owed detection and no honest node detected it (honest holders node:branch@length: {})",
                h.join(" ")
            ));
        }
    }
    if owed == 0 {
        return Verdict::not_exercised(
            NAME,
            STATEMENT,
            &format!("no fork was owed detection ({})", unowed.join("; ")),
        );
    }
    Verdict::judged(
        NAME,
        STATEMENT,
        format!("{owed} of {} forks owed detection", forkers.len()),
        violations,
    )
}
