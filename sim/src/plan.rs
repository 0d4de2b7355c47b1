//! Planning a run: from a scenario and its seed, every host's role (honest, forger, the two
//! halves of a forking identity, flooder, slow reader), its keys, its links, whose feeds it
//! follows and replicates, its node configuration, and which feeds each honest host is owed at
//! the end (those a path of nodes that really carry the feed connects to its author).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use rand_chacha::ChaCha20Rng;
use ssb_impl::node::{NodeConfig, PeerAddr, Replication, SignatureMemo};
use ssb_impl::{FeedId, Keypair};

use crate::scenario::Scenario;
use crate::topology;
use crate::world::Role;

/// Everything decided before the first event.
pub struct Plan {
    pub roles: Vec<Role>,
    /// The author index of each host's feed (the two halves of a forker share one).
    pub author: Vec<usize>,
    pub keys: Vec<Keypair>,
    pub ids: Vec<FeedId>,
    /// The author index of each feed.
    pub by_feed: BTreeMap<FeedId, usize>,
    /// Planned links, as neighbour sets.
    pub adj: Vec<BTreeSet<usize>>,
    /// Feeds (author indices) each host follows.
    pub follows: Vec<BTreeSet<usize>>,
    pub hops: u32,
    /// Hosts whose feeds are honest (role `Honest`, each its own author).
    pub honest_authors: BTreeSet<usize>,
    /// Feeds each host's node is configured to replicate.
    pub replicates: Vec<BTreeSet<usize>>,
    /// Feeds (author indices) each host should end up holding.
    pub expect: Vec<BTreeSet<usize>>,
    /// Followed feeds that no path of carrying nodes brings to the follower.
    pub unreachable: usize,
    pub configs: Vec<NodeConfig>,
}

fn host_keys(seed: u64, i: usize) -> Keypair {
    Keypair::from_seed(ssb_impl::crypto::sha256(
        format!("ssb-sim host {seed} {i}").as_bytes(),
    ))
}

impl Plan {
    /// Whether host `h` passes on the messages of feed `a` it receives: its own feed, or a feed
    /// it replicates as an honest or slow reference node. Forgers do not (their copy of a victim's
    /// feed stops at their first forgery, which they store in its place), nor do flooders.
    pub fn carries(&self, h: usize, a: usize) -> bool {
        self.author[h] == a
            || (matches!(self.roles[h], Role::Honest | Role::Slow) && self.replicates[h].contains(&a))
    }

    /// Draws the plan of `sc` from the setup generator.
    pub fn new(sc: &Scenario, setup: &mut ChaCha20Rng) -> Plan {
        let n = sc.nodes;
        let byz = &sc.byzantine;
        // Roles from the end of the list: flooders, slow readers, forgers, then forker pairs.
        let mut roles = vec![Role::Honest; n];
        let mut i = n;
        for _ in 0..byz.flooders {
            i -= 1;
            roles[i] = Role::Flooder;
        }
        for _ in 0..byz.slow {
            i -= 1;
            roles[i] = Role::Slow;
        }
        for _ in 0..byz.forgers {
            i -= 1;
            roles[i] = Role::Forger;
        }
        let mut author: Vec<usize> = (0..n).collect();
        for _ in 0..byz.forkers {
            if i < 2 {
                break;
            }
            roles[i - 1] = Role::Forker;
            roles[i - 2] = Role::Forker;
            author[i - 1] = i - 2;
            i -= 2;
        }
        let keys: Vec<Keypair> = (0..n).map(|h| host_keys(sc.seed, author[h])).collect();
        let ids: Vec<FeedId> = keys.iter().map(Keypair::id).collect();
        let adj = topology::connections(&sc.topology, n, setup);
        let (follows, hops) = topology::follows(&sc.follows, n, setup);
        // Follows name feeds (authors), never a host's own feed or a flooder's.
        let follows: Vec<BTreeSet<usize>> = follows
            .iter()
            .enumerate()
            .map(|(h, f)| {
                f.iter()
                    .map(|b| author[*b])
                    .filter(|a| *a != author[h] && roles[*a] != Role::Flooder)
                    .collect()
            })
            .collect();
        let honest_authors: BTreeSet<usize> = (0..n).filter(|h| roles[*h] == Role::Honest).collect();
        let memo = sc.signature_memo.then(|| Arc::new(SignatureMemo::new(4_000_000)));
        let mut replicates = Vec::with_capacity(n);
        let mut configs = Vec::with_capacity(n);
        for h in 0..n {
            let scope = match roles[h] {
                // A forger replicates every honest feed, so it can announce forged messages of them.
                Role::Forger => honest_authors.clone(),
                // Hubs are pubs: they replicate every feed.
                _ if sc.topology.kind == "hubs" && h < sc.topology.hubs => (0..n)
                    .filter(|a| *a == author[*a] && *a != h && roles[*a] != Role::Flooder)
                    .collect(),
                _ => topology::scope(&follows, h, hops),
            };
            let peers = adj[h]
                .iter()
                .filter(|j| **j > h)
                .map(|j| PeerAddr {
                    host: format!("n{j}"),
                    port: 0,
                    key: ids[*j],
                })
                .collect();
            configs.push(NodeConfig {
                hops: if sc.follows.contact_messages { hops } else { 0 },
                replicate: if sc.follows.contact_messages && roles[h] != Role::Forger {
                    Default::default()
                } else {
                    scope.iter().map(|a| ids[*a]).collect()
                },
                replication: if sc.replication == "legacy" {
                    Replication::Legacy
                } else {
                    Replication::Ebt
                },
                peers,
                redial_ms: sc.network.tick_ms,
                verify_threads: 1,
                signature_memo: memo.clone(),
                skip_fork_detection: sc.sabotage == "skip_fork_detection",
                ..NodeConfig::default()
            });
            replicates.push(scope);
        }
        let mut plan = Plan {
            by_feed: (0..n).filter(|h| author[*h] == *h).map(|h| (ids[h], h)).collect(),
            roles,
            author,
            keys,
            ids,
            adj,
            follows,
            hops,
            honest_authors,
            expect: replicates.clone(),
            replicates,
            unreachable: 0,
            configs,
        };
        // A feed travels only through nodes that carry it: a follower is owed a feed only if the
        // author reaches it over links between such nodes.
        for a in (0..n).filter(|a| plan.author[*a] == *a) {
            // Both halves of a forker publish the feed.
            let starts: Vec<usize> = (0..n).filter(|h| plan.author[*h] == a).collect();
            let seen = plan.reach(&starts, |h| plan.carries(h, a));
            for h in 0..n {
                if plan.expect[h].contains(&a) && !seen.contains(&h) {
                    plan.expect[h].remove(&a);
                    plan.unreachable += 1;
                }
            }
        }
        plan
    }

    /// Hosts reached from `starts` over planned links, entering only hosts that `enter` admits
    /// (the starts themselves always).
    pub fn reach(&self, starts: &[usize], enter: impl Fn(usize) -> bool) -> BTreeSet<usize> {
        let mut seen: BTreeSet<usize> = starts.iter().copied().collect();
        let mut stack: Vec<usize> = starts.to_vec();
        while let Some(x) = stack.pop() {
            for &y in &self.adj[x] {
                if !seen.contains(&y) && enter(y) {
                    seen.insert(y);
                    stack.push(y);
                }
            }
        }
        seen
    }

    /// Honest hosts owed at least one feed: the convergence check has something to check.
    pub fn owed_pairs(&self) -> usize {
        (0..self.roles.len())
            .filter(|h| self.roles[*h] == Role::Honest)
            .map(|h| {
                self.expect[h]
                    .iter()
                    .filter(|a| self.roles[**a] == Role::Honest)
                    .count()
            })
            .sum()
    }

    /// The forking feeds: (first half, second half) host pairs.
    pub fn forkers(&self) -> Vec<(usize, usize)> {
        (0..self.roles.len())
            .filter(|h| self.roles[*h] == Role::Forker && self.author[*h] == *h)
            .filter_map(|h| {
                (0..self.roles.len())
                    .find(|x| *x != h && self.author[*x] == h)
                    .map(|x| (h, x))
            })
            .collect()
    }
}
