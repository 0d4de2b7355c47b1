//! **Convergence.** At the end, every honest node that is running holds every message published
//! on every honest feed it is owed. A node is owed a feed it replicates (follows, within its
//! hops, or every feed for a pub) when a path of planned links through nodes that carry the feed
//! — its author, honest and slow reference nodes that replicate it; not forgers, whose copy stops
//! at their first forgery, nor flooders — joins the author to it ([`crate::plan::Plan::carries`]).
//! Partitions heal and crashed hosts restart before the end in the bundled scenarios; a scenario
//! whose faults outlast the run violates this by design. Not exercised when no honest node is owed
//! an honest feed (no links, no follows, every follow unreachable) or nothing was published.

use super::{Ending, Verdict};
use crate::world::Role;

pub const NAME: &str = "convergence";
pub const STATEMENT: &str =
    "every running honest node holds, at the end, every honest feed it is owed (a path of nodes carrying the feed joins it to the author)";

pub fn check(e: &Ending) -> Verdict {
    let plan = e.plan;
    let owed = plan.owed_pairs();
    if owed == 0 {
        return Verdict::not_exercised(
            NAME,
            STATEMENT,
            &format!(
                "no honest node is owed an honest feed ({} followed feeds unreachable)",
                plan.unreachable
            ),
        );
    }
    if e.ledger.published.is_empty() {
        return Verdict::not_exercised(NAME, STATEMENT, "nothing was published");
    }
    let mut violations = Vec::new();
    let mut checked = 0;
    for (h, host) in e.world.hosts.iter().enumerate() {
        let Some(node) = host.node.as_ref() else { continue };
        if plan.roles[h] != Role::Honest {
            continue;
        }
        for a in &plan.expect[h] {
            if plan.roles[*a] != Role::Honest {
                continue;
            }
            checked += 1;
            let want = e.ledger.published.get(a).copied().unwrap_or(0);
            let have = node.store().latest(&plan.ids[*a]).map_or(0, |l| l.sequence);
            if have != want {
                // The first failure also says what the node knows of the feed, to start from
                // when replaying the seed.
                let mut v = format!("node {h} holds {have} of the {want} messages of node {a}");
                if violations.is_empty() {
                    v.push_str(&format!(" [{}]", node.explain_feed(&plan.ids[*a])));
                }
                violations.push(v);
            }
        }
    }
    Verdict::judged(
        NAME,
        STATEMENT,
        format!(
            "{checked} (node, feed) pairs checked; {} followed feeds unreachable",
            plan.unreachable
        ),
        violations,
    )
}
