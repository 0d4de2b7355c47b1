//! One run of a scenario: builds the hosts (honest reference nodes with memory stores, and the
//! Byzantine ones), schedules the workload and the faults, drives the world to the end, checks
//! the invariants during and after the run, and returns the summary. A violated invariant stops
//! the run at once; the error names the seed and the command that replays it.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use rand_chacha::ChaCha20Rng;
use rand_core::{RngCore, SeedableRng};
use serde_json::json;
use ssb_impl::legacy::message::{sign_message, MsgId};
use ssb_impl::legacy::{self, Mode};
use ssb_impl::node::{Node, NodeConfig, NodeEvent, PeerAddr, Replication, SignatureMemo};
use ssb_impl::store::{MemoryBlobs, StoredMsg};
use ssb_impl::{FeedId, Keypair};

use crate::metrics::{Invariants, Metrics, MsgStat, Percentiles, Summary};
use crate::scenario::Scenario;
use crate::shared_store::{Pool, SharedStore};
use crate::topology;
use crate::world::{Ev, Observed, Role, World};

/// Why a run stopped early.
#[derive(Debug, Clone, thiserror::Error)]
#[error("invariant violated at {at_ms} ms: {what}\nreplay: {replay}")]
pub struct Violation {
    pub at_ms: u64,
    pub what: String,
    pub replay: String,
}

struct Plan {
    /// The author index of each host's feed (the two halves of a forker share one).
    author: Vec<usize>,
    /// The author index of each feed.
    by_feed: BTreeMap<FeedId, usize>,
    /// Followed feeds that no path of replicating nodes brings to the follower.
    unreachable: usize,
    /// Feeds (author indices) each host should end up holding.
    expect: Vec<BTreeSet<usize>>,
    configs: Vec<NodeConfig>,
}

/// What a run lets a caller watch, besides its summary: the hosts as built, every message a
/// host publishes, and the world at the end. Every method does nothing unless overridden.
pub trait Observer {
    /// Host `host` is built with `keys` and `config`; called once per host, in host order, before
    /// the run starts (a host that restarts after a crash is built again with the same ones).
    fn planned(&mut self, _host: usize, _keys: &Keypair, _config: &NodeConfig) {}
    /// Host `host` published `msg` on its own feed (the two halves of a forker share one): a
    /// workload message, a contact at time 0, a group operation. `content` is the JSON content it was published with, where the run has
    /// it (not for group messages, which the group simulation signs and encrypts itself).
    /// Forgeries, which a forger stores under another feed, are not publications.
    fn published(&mut self, _host: usize, _msg: &StoredMsg, _content: Option<&serde_json::Value>) {}
    /// The run reached its end without a violation along the way; called once, before the final
    /// checks and the summary. `world.hosts[h].node` holds each running host's final store.
    fn finished(&mut self, _world: &World) {}
}

/// The observer that watches nothing.
struct Unobserved;

impl Observer for Unobserved {}

fn host_keys(seed: u64, i: usize) -> Keypair {
    Keypair::from_seed(ssb_impl::crypto::sha256(
        format!("ssb-sim host {seed} {i}").as_bytes(),
    ))
}

fn uniform(rng: &mut ChaCha20Rng, lo: u64, hi: u64) -> u64 {
    lo + rng.next_u64() % (hi.saturating_sub(lo) + 1)
}

/// The content of one workload message.
fn content(
    rng: &mut ChaCha20Rng,
    sc: &Scenario,
    follows: &BTreeSet<usize>,
    ids: &[FeedId],
    n: u64,
) -> serde_json::Value {
    let w = &sc.workload;
    let total = (w.post + w.contact + w.about + w.vote).max(1) as u64;
    let pick = rng.next_u64() % total;
    let text_len = uniform(rng, w.text_min as u64, w.text_max as u64) as usize;
    let text: String = (0..text_len)
        .map(|i| (b'a' + ((i as u64 + n) % 26) as u8) as char)
        .collect();
    if pick < w.post as u64 {
        json!({"type": "post", "text": text})
    } else if pick < (w.post + w.contact) as u64 && !follows.is_empty() {
        // A follow the author already has: the graph, and so the scope, stays as planned.
        let k = follows
            .iter()
            .nth((rng.next_u64() % follows.len() as u64) as usize)
            .expect("not empty");
        json!({"type": "contact", "contact": ids[*k].to_string(), "following": true})
    } else if pick < (w.post + w.contact + w.about) as u64 {
        json!({"type": "about", "about": ids[0].to_string(), "name": format!("node {n}")})
    } else {
        json!({"type": "vote", "vote": {"link": format!("%{}=.sha256", "A".repeat(43)), "value": 1, "expression": "Like"}})
    }
}

/// Runs a scenario. `progress(now_ms, end_ms)` is called about once per simulated second.
pub fn run(sc: &Scenario, progress: &mut dyn FnMut(u64, u64)) -> Result<Summary, Violation> {
    run_observed(sc, progress, &mut Unobserved)
}

/// Runs a scenario as [`run`] does, telling `observer` what it builds, publishes and ends with.
pub fn run_observed(
    sc: &Scenario,
    progress: &mut dyn FnMut(u64, u64),
    observer: &mut dyn Observer,
) -> Result<Summary, Violation> {
    let n = sc.nodes;
    let mut setup = ChaCha20Rng::seed_from_u64(sc.seed);
    let mut world = World::new(
        sc.seed,
        (sc.network.latency_min_ms, sc.network.latency_max_ms),
        sc.network.loss,
        sc.network.retransmit_ms,
    );
    world.slow_kib_per_s = sc.byzantine.slow_kib_per_s;
    let byz = &sc.byzantine;
    // Roles from the end of the list: flooders, forgers, then forker pairs.
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
    let adj = topology::connections(&sc.topology, n, &mut setup);
    let (follows, hops) = topology::follows(&sc.follows, n, &mut setup);
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
    let mut plan = Plan {
        by_feed: (0..n).filter(|h| author[*h] == *h).map(|h| (ids[h], h)).collect(),
        unreachable: 0,
        author: author.clone(),
        expect: Vec::new(),
        configs: Vec::new(),
    };
    let memo = sc.signature_memo.then(|| Arc::new(SignatureMemo::new(4_000_000)));
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
        plan.expect.push(scope.clone());
        let peers = adj[h]
            .iter()
            .filter(|j| **j > h)
            .map(|j| PeerAddr {
                host: format!("n{j}"),
                port: 0,
                key: ids[*j],
            })
            .collect();
        plan.configs.push(NodeConfig {
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
            ..NodeConfig::default()
        });
    }
    // A feed travels only through nodes that replicate it: a follower expects a feed only if
    // the author reaches it over links between such nodes.
    let replicates = plan.expect.clone();
    for a in (0..n).filter(|a| author[*a] == *a) {
        let carries = |h: usize| author[h] == a || replicates[h].contains(&a);
        let mut seen = BTreeSet::from([a]);
        let mut stack = vec![a];
        // Both halves of a forker publish the feed.
        for (h, _) in author.iter().enumerate().filter(|(h, au)| **au == a && *h != a) {
            seen.insert(h);
            stack.push(h);
        }
        while let Some(x) = stack.pop() {
            for &y in &adj[x] {
                if carries(y) && seen.insert(y) {
                    stack.push(y);
                }
            }
        }
        for h in 0..n {
            if plan.expect[h].contains(&a) && !seen.contains(&h) {
                plan.expect[h].remove(&a);
                plan.unreachable += 1;
            }
        }
    }
    let pool = Pool::new();
    for h in 0..n {
        observer.planned(h, &keys[h], &plan.configs[h]);
        let node = Node::new(
            keys[h].clone(),
            plan.configs[h].clone(),
            Box::new(SharedStore::new(pool.clone())),
            Box::new(MemoryBlobs::new()),
        )
        .expect("a memory store opens");
        world.add_host(keys[h].clone(), roles[h], node);
    }
    // Follows as contact messages, published at time 0.
    if sc.follows.contact_messages {
        for h in 0..n {
            if roles[h] != Role::Honest {
                continue;
            }
            let node = world.hosts[h].node.as_mut().expect("up");
            for a in &follows[h] {
                let c = json!({"type": "contact", "contact": ids[*a].to_string(), "following": true});
                let msg = node.publish(&c, 0).expect("publish a contact");
                observer.published(h, &msg, Some(&c));
            }
        }
    }
    // Ticks, staggered.
    let tick_us = sc.network.tick_ms.max(1) * 1000;
    for h in 0..n {
        let at = setup.next_u64() % tick_us;
        world.schedule(at, Ev::Tick { host: h });
    }
    // The workload: publish times drawn in the window; a forker's two halves publish at the same
    // times (so their feeds fork at the same sequences).
    let (w0, w1) = (sc.workload.start_s * 1_000_000, sc.workload.end_s * 1_000_000);
    for h in 0..n {
        let count = match roles[h] {
            Role::Honest | Role::Slow => sc.workload.messages_per_node,
            Role::Forger => sc.workload.messages_per_node.div_ceil(2),
            Role::Forker if author[h] == h => sc.workload.messages_per_node,
            _ => 0,
        };
        for _ in 0..count {
            let at = uniform(&mut setup, w0, w1);
            world.schedule(at, Ev::Publish { host: h });
            if roles[h] == Role::Forker {
                world.schedule(at, Ev::Publish { host: h + 1 });
            }
        }
        // The second branch grows one message longer, so that EBT carries it to nodes holding
        // the first (two branches of one length are never exchanged: each side already holds
        // that many messages).
        if roles[h] == Role::Forker && author[h] == h && count > 0 {
            world.schedule(w1, Ev::Publish { host: h + 1 });
        }
    }
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
        let honest: Vec<usize> = honest_authors.iter().copied().collect();
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

    let mut group_sim = (sc.groups.count > 0).then(|| {
        let honest: Vec<usize> = honest_authors.iter().copied().collect();
        crate::groups::GroupSim::plan(&sc.groups, &honest, &mut world, &mut setup)
    });
    let mut m = Metrics::new(n);
    let mut genuine: BTreeMap<(usize, u64), Vec<MsgId>> = BTreeMap::new();
    let mut published: BTreeMap<usize, u64> = BTreeMap::new();
    let replay = format!(
        "ssb-harness sim {} --seed {} --nodes {}",
        sc.name, sc.seed, sc.nodes
    );
    let violation = |at_ms: u64, what: String| Violation {
        at_ms,
        what,
        replay: replay.clone(),
    };
    let end_us = sc.duration_s * 1_000_000;
    let mut next_progress = 0;
    let mut down_depth = vec![0u32; n];
    while let Some(ev) = world.pop(end_us) {
        let now = world.now_ms();
        if now >= next_progress {
            progress(now, sc.duration_s * 1000);
            next_progress = now + 1000;
        }
        match ev {
            Ev::Publish { host } => publish(
                &mut world,
                sc,
                host,
                &follows,
                &ids,
                &plan,
                &mut m,
                &mut genuine,
                &mut published,
                &mut setup,
                observer,
            ),
            Ev::Down { host } => {
                down_depth[host] += 1;
                if let Some(node) = world.hosts[host].node.take() {
                    let (mut store, blobs) = node.into_parts();
                    // What was not synced is torn: a random prefix of it survives.
                    if let Some(s) = store.as_any_mut().and_then(|a| a.downcast_mut::<SharedStore>()) {
                        let keep = (setup.next_u64() % (s.unsynced() as u64 + 1)) as usize;
                        m.torn_lost += s.crash(keep) as u64;
                    }
                    world.hosts[host].parked = Some((store, blobs));
                    world.drop_host_links(host);
                }
            }
            Ev::Up { host } => {
                down_depth[host] = down_depth[host].saturating_sub(1);
                if down_depth[host] == 0 {
                    if let Some((store, blobs)) = world.hosts[host].parked.take() {
                        let node = Node::new(keys[host].clone(), plan.configs[host].clone(), store, blobs)
                            .expect("a parked store reopens");
                        world.hosts[host].node = Some(node);
                        world.schedule(world.now_us, Ev::Tick { host });
                    }
                }
            }
            Ev::Group(op) => {
                if let Some(g) = group_sim.as_mut() {
                    if let Some((host, msg)) = g.handle(op, &mut world, &mut setup) {
                        observer.published(host, &msg, None);
                        record(&world, host, &msg, &plan, &mut m, &mut genuine, &mut published);
                    }
                }
            }
            Ev::Tick { host } => {
                world.handle(Ev::Tick { host });
                world.schedule(world.now_us + tick_us, Ev::Tick { host });
            }
            other => world.handle(other),
        }
        world.settle();
        for o in std::mem::take(&mut world.observed) {
            observe(&world, o, &roles, &plan, &mut m, &genuine, now).map_err(|w| violation(now, w))?;
        }
    }
    progress(sc.duration_s * 1000, sc.duration_s * 1000);
    observer.finished(&world);

    // After the run: convergence of every honest, running node on every honest feed in scope.
    let mut violations = Vec::new();
    for h in 0..n {
        let Some(node) = world.hosts[h].node.as_ref() else {
            continue;
        };
        if roles[h] != Role::Honest {
            continue;
        }
        for a in &plan.expect[h] {
            if roles[*a] != Role::Honest {
                continue;
            }
            let want = published.get(a).copied().unwrap_or(0);
            let have = node.store().latest(&ids[*a]).map_or(0, |l| l.sequence);
            if have != want {
                // The first failure also says what the node knows of the feed, to start from
                // when replaying the seed.
                let mut v = format!("node {h} holds {have} of the {want} messages of node {a}");
                if violations.is_empty() {
                    v.push_str(&format!(" [{}]", node.explain_feed(&ids[*a])));
                }
                violations.push(v);
            }
        }
    }
    for h in 0..n {
        if roles[h] == Role::Forker && author[h] == h && !m.forks.contains_key(&ids[h].to_string()) {
            // The branches meet at an honest node when the two halves are linked through honest
            // nodes that replicate the feed.
            let carries = |x: usize| x == h + 1 || (roles[x] == Role::Honest && replicates[x].contains(&h));
            let mut seen = BTreeSet::from([h]);
            let mut stack = vec![h];
            while let Some(x) = stack.pop() {
                for &y in &adj[x] {
                    if carries(y) && seen.insert(y) {
                        stack.push(y);
                    }
                }
            }
            let meet = seen.contains(&(h + 1)) && seen.len() > 2;
            if meet && published.get(&h).copied().unwrap_or(0) > 0 {
                violations.push(format!(
                    "the fork of node {h}'s feed was not detected by any honest node"
                ));
            }
        }
    }
    let groups = group_sim.as_ref().map(|g| {
        let (summary, v) = g.check(&world, &plan.expect);
        violations.extend(v);
        summary
    });
    const MAX_QUEUED: usize = 64 * 1024 * 1024 + 1024 * 1024;
    if m.max_queued_bytes > MAX_QUEUED {
        violations.push(format!("a link held {} bytes in flight", m.max_queued_bytes));
    }
    if let Some(v) = violations.first() {
        return Err(violation(
            sc.duration_s * 1000,
            format!(
                "{v} (and {} more{}; {} connections made, {} dials failed, {} messages delivered, {} events, {} rejected, closes {:?})",
                violations.len() - 1,
                violations[1..].iter().take(4).map(|v| format!(", {v}")).collect::<String>(),
                m.connections,
                m.dial_failures,
                m.delivered,
                world.steps,
                m.rejected,
                m.closes
            ),
        ));
    }
    m.duplicates = (0..n)
        .filter(|h| roles[*h] == Role::Honest)
        .filter_map(|h| world.hosts[h].node.as_ref())
        .map(|node| node.stats.duplicates)
        .sum();
    let conv = m.convergence();
    let converged = conv.len();
    let total_bytes: u64 = m.bytes_sent.iter().sum();
    Ok(Summary {
        scenario: sc.name.clone(),
        seed: sc.seed,
        nodes: n,
        replication: sc.replication.clone(),
        duration_s: sc.duration_s,
        invariants: Invariants {
            held: true,
            checked: vec![
                "no honest node stores a message its author did not sign".into(),
                "every fork of a forking feed is detected by an honest node, where honest nodes replicating the feed link its two halves".into(),
                "every honest node holds, at the end, every honest feed in its scope that a path of nodes replicating it connects to its author".into(),
                "bytes in flight per link stay bounded".into(),
            ]
            .into_iter()
            .chain(groups.iter().flat_map(|_| {
                [
                    "every group member holds the group key and reads every message of the group, those posted before it joined included".to_string(),
                    "no other honest node holds a group's key or reads any of its messages".to_string(),
                    "every honest node that replicates a member stores its group ciphertexts".to_string(),
                ]
            }))
            .collect(),
            violations: Vec::new(),
        },
        follows_unreachable: plan.unreachable,
        messages_published: m.messages.len(),
        messages_converged: converged,
        convergence_ms: Percentiles::of(conv),
        messages_delivered: m.delivered,
        duplicates: m.duplicates,
        rejected: m.rejected,
        bytes_sent: total_bytes,
        bytes_per_delivered: if m.delivered == 0 { 0.0 } else { (total_bytes as f64 / m.delivered as f64).round() },
        redundancy: if m.delivered == 0 {
            0.0
        } else {
            ((m.delivered + m.duplicates) as f64 / m.delivered as f64 * 1000.0).round() / 1000.0
        },
        per_node_bytes: Percentiles::of(m.bytes_sent.clone()),
        per_node_bytes_sent: m.bytes_sent.clone(),
        connections: m.connections,
        dial_failures: m.dial_failures,
        closes: m.closes.clone(),
        forks_detected: m.forks.clone(),
        max_queued_bytes_per_link: m.max_queued_bytes,
        messages_lost_to_torn_writes: m.torn_lost,
        timeline_deliveries_per_s: m.timeline.clone(),
        events: world.steps,
        groups,
    })
}

#[allow(clippy::too_many_arguments)]
fn publish(
    world: &mut World,
    sc: &Scenario,
    host: usize,
    follows: &[BTreeSet<usize>],
    ids: &[FeedId],
    plan: &Plan,
    m: &mut Metrics,
    genuine: &mut BTreeMap<(usize, u64), Vec<MsgId>>,
    published: &mut BTreeMap<usize, u64>,
    rng: &mut ChaCha20Rng,
    observer: &mut dyn Observer,
) {
    let now = world.now_ms();
    let role = world.hosts[host].role;
    let a = plan.author[host];
    let count = published.get(&a).copied().unwrap_or(0);
    let own_keys = world.hosts[host].keys.clone();
    let Some(node) = world.hosts[host].node.as_mut() else {
        return;
    };
    match role {
        Role::Honest | Role::Forker | Role::Slow => {
            let mut c = content(rng, sc, &follows[host], ids, count);
            if role == Role::Forker && a != host {
                c["text"] = json!(format!("the other branch {}", rng.next_u64()));
            }
            let Ok(msg) = node.publish(&c, now) else { return };
            world.touch(host);
            observer.published(host, &msg, Some(&c));
            record(world, host, &msg, plan, m, genuine, published);
        }
        Role::Forger => {
            // The next message of a random honest feed it holds, signed with its own key: the
            // author field names the victim, the signature cannot verify.
            let me = own_keys.id();
            let victims: Vec<FeedId> = node.scope().iter().copied().filter(|f| *f != me).collect();
            if victims.is_empty() {
                return;
            }
            let victim = victims[(rng.next_u64() % victims.len() as u64) as usize];
            let latest = node.store().latest(&victim);
            let seq = latest.map_or(0, |l| l.sequence) + 1;
            let forger = own_keys;
            let content = legacy::parse(br#"{"type":"post","text":"forged"}"#, Mode::JsCompat).expect("JSON");
            let (mut msg, _) = sign_message(
                &forger,
                latest.map(|l| l.id),
                seq as u32,
                now as f64,
                content,
                None,
            );
            msg.insert("author".into(), legacy::Value::string(&victim.to_string()));
            // Re-sign the edited message with the forger's key (still the wrong key).
            let unsigned = msg.without("signature");
            let sig = forger.sign(&ssb_impl::legacy::message::signed_bytes(&unsigned, None));
            let mut msg = unsigned;
            use base64::Engine;
            msg.insert(
                "signature".into(),
                legacy::Value::string(&format!(
                    "{}.sig.ed25519",
                    base64::engine::general_purpose::STANDARD.encode(sig)
                )),
            );
            let v = legacy::Value::Object(msg);
            let units = legacy::to_signing_units(&v);
            let stored = StoredMsg {
                id: MsgId(legacy::latin1_sha256(&units)),
                author: victim,
                sequence: seq,
                timestamp: now as f64,
                received: now,
                value: String::from_utf16_lossy(&units),
            };
            if node.store_mut().append(std::slice::from_ref(&stored)).is_ok() {
                node.notify_appended(victim, seq);
                world.touch(host);
            }
        }
        Role::Flooder => {}
    }
}

/// Notes a message published by `host`: genuine (for the forgery check) and, for the first
/// branch of a feed, awaited by every honest node that replicates it.
fn record(
    world: &World,
    host: usize,
    msg: &StoredMsg,
    plan: &Plan,
    m: &mut Metrics,
    genuine: &mut BTreeMap<(usize, u64), Vec<MsgId>>,
    published: &mut BTreeMap<usize, u64>,
) {
    let a = plan.author[host];
    genuine.entry((a, msg.sequence)).or_default().push(msg.id);
    if a != host {
        return; // the second branch: counted once, with the first
    }
    published.insert(a, msg.sequence);
    if world.hosts[host].role == Role::Honest {
        let waiting = (0..plan.expect.len())
            .filter(|h| *h != host && world.hosts[*h].role == Role::Honest && plan.expect[*h].contains(&a))
            .count();
        m.messages.insert(
            (a, msg.sequence),
            MsgStat {
                published_ms: msg.received,
                waiting,
                converged_ms: (waiting == 0).then_some(msg.received),
            },
        );
    }
}

fn observe(
    world: &World,
    o: Observed,
    roles: &[Role],
    plan: &Plan,
    m: &mut Metrics,
    genuine: &BTreeMap<(usize, u64), Vec<MsgId>>,
    now: u64,
) -> Result<(), String> {
    match o {
        Observed::Sent { host, bytes } => m.bytes_sent[host] += bytes as u64,
        Observed::Queued { bytes } => m.max_queued_bytes = m.max_queued_bytes.max(bytes),
        Observed::LinkUp { .. } => m.connections += 1,
        Observed::DialFailed { .. } => m.dial_failures += 1,
        Observed::Node { host, event } => {
            if roles[host] != Role::Honest {
                return Ok(());
            }
            match event {
                NodeEvent::Appended { feed, sequence, from } => {
                    if from.is_none() {
                        return Ok(());
                    }
                    m.delivered_at(now);
                    let Some(&a) = plan.by_feed.get(&feed) else {
                        return Ok(());
                    };
                    let node = world.hosts[host].node.as_ref().expect("it just appended");
                    let id = node.store().get(&feed, sequence).ok().flatten().map(|s| s.id);
                    let ok =
                        id.is_some_and(|id| genuine.get(&(a, sequence)).is_some_and(|g| g.contains(&id)));
                    if !ok {
                        return Err(format!(
                            "honest node {host} stored {feed} sequence {sequence}, which its author never published"
                        ));
                    }
                    if plan.expect[host].contains(&a) {
                        if let Some(s) = m.messages.get_mut(&(a, sequence)) {
                            s.waiting = s.waiting.saturating_sub(1);
                            if s.waiting == 0 && s.converged_ms.is_none() {
                                s.converged_ms = Some(now);
                            }
                        }
                    }
                }
                NodeEvent::Rejected { .. } => m.rejected += 1,
                NodeEvent::Fork { author, .. } => *m.forks.entry(author.to_string()).or_default() += 1,
                NodeEvent::Closed { reason, .. } => {
                    let key = reason.split(':').next().unwrap_or("").to_string();
                    *m.closes.entry(key).or_default() += 1;
                }
                NodeEvent::BlobStored { .. } => {}
            }
        }
    }
    Ok(())
}
