//! One run of a scenario: builds the hosts (honest reference nodes with memory stores, and the
//! Byzantine ones), schedules the workload and the faults, drives the world to the end, checks
//! the invariants during and after the run, and returns the summary. A violated invariant stops
//! the run at once; the error names the seed and the command that replays it.

use std::collections::BTreeSet;

use rand_chacha::ChaCha20Rng;
use rand_core::{RngCore, SeedableRng};
use serde_json::json;
use ssb_impl::legacy::message::{sign_message, MsgId};
use ssb_impl::legacy::{self, Mode};
use ssb_impl::node::{Node, NodeConfig, NodeEvent};
use ssb_impl::store::{MemoryBlobs, StoredMsg};
use ssb_impl::{FeedId, Keypair};

use crate::invariants::{self, no_forgery, Ending, Status, Verdict};
use crate::ledger::Ledger;
use crate::metrics::{Invariants, Metrics, MsgStat, Percentiles, Summary};
use crate::plan::Plan;
use crate::replay;
use crate::scenario::Scenario;
use crate::schedule::{self, uniform};
use crate::shared_store::{Pool, SharedStore};
use crate::world::{Ev, Observed, Role, World};

/// Why a run failed: the first invariant violated, what happened, and the command that replays
/// it.
#[derive(Debug, Clone, thiserror::Error)]
#[error("invariant {invariant} violated at {at_ms} ms: {what}\nreplay: {replay}")]
pub struct Violation {
    pub at_ms: u64,
    /// The invariant's name ([`crate::invariants`]).
    pub invariant: String,
    pub what: String,
    pub replay: String,
    /// Every invariant's verdict, where the run reached its end.
    pub verdicts: Vec<Verdict>,
}

/// What a run lets a caller watch, besides its summary: the hosts as built, every message a
/// host publishes, and the world at the end. Every method does nothing unless overridden.
pub trait Observer {
    /// Host `host` is built with `keys` and `config`; called once per host, in host order, before
    /// the run starts (a host that restarts after a crash is built again with the same ones).
    fn planned(&mut self, _host: usize, _keys: &Keypair, _config: &NodeConfig) {}
    /// Host `host` published `msg` on its own feed (the two halves of a forker share one): a
    /// workload message, a contact at time 0, a group operation. `content` is the JSON content it
    /// was published with, where the run has it (not for group messages, which the group
    /// simulation signs and encrypts itself). Forgeries, which a forger stores under another
    /// feed, are not publications.
    fn published(&mut self, _host: usize, _msg: &StoredMsg, _content: Option<&serde_json::Value>) {}
    /// The run reached its end without a violation along the way; called once, before the final
    /// checks and the summary. `world.hosts[h].node` holds each running host's final store.
    fn finished(&mut self, _world: &World) {}
}

/// The observer that watches nothing.
struct Unobserved;

impl Observer for Unobserved {}

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

/// The state a run carries from event to event.
struct Running<'a> {
    sc: &'a Scenario,
    plan: Plan,
    world: World,
    setup: ChaCha20Rng,
    metrics: Metrics,
    ledger: Ledger,
    group_sim: Option<crate::groups::GroupSim>,
    down_depth: Vec<u32>,
}

/// Builds the hosts of a plan: one reference node each over a shared message pool.
fn build_world(sc: &Scenario, plan: &Plan, observer: &mut dyn Observer) -> World {
    let mut world = World::new(
        sc.seed,
        (sc.network.latency_min_ms, sc.network.latency_max_ms),
        sc.network.loss,
        sc.network.retransmit_ms,
    );
    world.slow_kib_per_s = sc.byzantine.slow_kib_per_s;
    let pool = Pool::new();
    for h in 0..sc.nodes {
        observer.planned(h, &plan.keys[h], &plan.configs[h]);
        let node = Node::new(
            plan.keys[h].clone(),
            plan.configs[h].clone(),
            Box::new(SharedStore::new(pool.clone())),
            Box::new(MemoryBlobs::new()),
        )
        .expect("a memory store opens");
        world.add_host(plan.keys[h].clone(), plan.roles[h], node);
    }
    world
}

/// Runs a scenario as [`run`] does, telling `observer` what it builds, publishes and ends with.
pub fn run_observed(
    sc: &Scenario,
    progress: &mut dyn FnMut(u64, u64),
    observer: &mut dyn Observer,
) -> Result<Summary, Violation> {
    let mut setup = ChaCha20Rng::seed_from_u64(sc.seed);
    let plan = Plan::new(sc, &mut setup);
    let world = build_world(sc, &plan, observer);
    let mut r = Running {
        sc,
        metrics: Metrics::new(sc.nodes),
        ledger: Ledger::default(),
        group_sim: None,
        down_depth: vec![0; sc.nodes],
        plan,
        world,
        setup,
    };
    r.publish_contacts(observer);
    schedule::schedule(sc, &r.plan, &mut r.world, &mut r.setup);
    r.group_sim = (sc.groups.count > 0).then(|| {
        let honest: Vec<usize> = r.plan.honest_authors.iter().copied().collect();
        crate::groups::GroupSim::plan(&sc.groups, &honest, &mut r.world, &mut r.setup)
    });
    let replay = replay::command(sc);
    r.event_loop(progress, observer)
        .map_err(|(at_ms, what)| Violation {
            at_ms,
            invariant: no_forgery::NAME.into(),
            what,
            replay: replay.clone(),
            verdicts: Vec::new(),
        })?;
    observer.finished(&r.world);
    r.finish(replay)
}

impl Running<'_> {
    /// Follows as contact messages, published at time 0.
    fn publish_contacts(&mut self, observer: &mut dyn Observer) {
        if !self.sc.follows.contact_messages {
            return;
        }
        for h in 0..self.sc.nodes {
            if self.plan.roles[h] != Role::Honest {
                continue;
            }
            let node = self.world.hosts[h].node.as_mut().expect("up");
            for a in &self.plan.follows[h] {
                let c =
                    json!({"type": "contact", "contact": self.plan.ids[*a].to_string(), "following": true});
                let msg = node.publish(&c, 0).expect("publish a contact");
                observer.published(h, &msg, Some(&c));
            }
        }
    }

    /// Handles every event up to the end; a forgery stored by an honest node stops it.
    fn event_loop(
        &mut self,
        progress: &mut dyn FnMut(u64, u64),
        observer: &mut dyn Observer,
    ) -> Result<(), (u64, String)> {
        let sc = self.sc;
        let end_us = sc.duration_s * 1_000_000;
        let tick_us = schedule::tick_us(sc);
        let mut next_progress = 0;
        while let Some(ev) = self.world.pop(end_us) {
            let now = self.world.now_ms();
            if now >= next_progress {
                progress(now, sc.duration_s * 1000);
                next_progress = now + 1000;
            }
            match ev {
                Ev::Publish { host } => self.publish(host, observer),
                Ev::Down { host } => self.down(host),
                Ev::Up { host } => self.up(host),
                Ev::Group(op) => {
                    if let Some(g) = self.group_sim.as_mut() {
                        if let Some((host, msg)) = g.handle(op, &mut self.world, &mut self.setup) {
                            observer.published(host, &msg, None);
                            self.record(host, &msg);
                        }
                    }
                }
                Ev::Tick { host } => {
                    self.world.handle(Ev::Tick { host });
                    self.world
                        .schedule(self.world.now_us + tick_us, Ev::Tick { host });
                }
                other => self.world.handle(other),
            }
            self.world.settle();
            for o in std::mem::take(&mut self.world.observed) {
                self.observe(o, now).map_err(|w| (now, w))?;
            }
        }
        progress(sc.duration_s * 1000, sc.duration_s * 1000);
        Ok(())
    }

    /// A host stops: what it had not synced is torn (a random prefix of it survives).
    fn down(&mut self, host: usize) {
        self.down_depth[host] += 1;
        if let Some(node) = self.world.hosts[host].node.take() {
            let (mut store, blobs) = node.into_parts();
            if let Some(s) = store.as_any_mut().and_then(|a| a.downcast_mut::<SharedStore>()) {
                let keep = (self.setup.next_u64() % (s.unsynced() as u64 + 1)) as usize;
                self.metrics.torn_lost += s.crash(keep) as u64;
            }
            self.world.hosts[host].parked = Some((store, blobs));
            self.world.drop_host_links(host);
        }
    }

    /// A host restarts over its parked store, once every overlapping outage has ended.
    fn up(&mut self, host: usize) {
        self.down_depth[host] = self.down_depth[host].saturating_sub(1);
        if self.down_depth[host] > 0 {
            return;
        }
        if let Some((store, blobs)) = self.world.hosts[host].parked.take() {
            let node = Node::new(
                self.plan.keys[host].clone(),
                self.plan.configs[host].clone(),
                store,
                blobs,
            )
            .expect("a parked store reopens");
            self.world.hosts[host].node = Some(node);
            self.world.schedule(self.world.now_us, Ev::Tick { host });
        }
    }

    /// The final checks and the summary.
    fn finish(self, replay: String) -> Result<Summary, Violation> {
        let sc = self.sc;
        let (groups, groups_verdict) = match self.group_sim.as_ref() {
            Some(g) => {
                let (summary, v) = g.check(&self.world, &self.plan.expect);
                let verdict = invariants::groups::verdict(&summary, v);
                (Some(summary), Some(verdict))
            }
            None => (None, None),
        };
        let ending = Ending {
            plan: &self.plan,
            world: &self.world,
            metrics: &self.metrics,
            ledger: &self.ledger,
        };
        let verdicts = invariants::final_checks(&ending, groups_verdict);
        if let Some(bad) = verdicts.iter().find(|v| v.status == Status::Violated) {
            let v = &bad.violations;
            let m = &self.metrics;
            return Err(Violation {
                at_ms: sc.duration_s * 1000,
                invariant: bad.name.to_string(),
                what: format!(
                    "{} (and {} more{}; {} connections made, {} dials failed, {} messages delivered, {} events, {} rejected, closes {:?})",
                    v[0],
                    v.len() - 1,
                    v[1..].iter().take(4).map(|v| format!(", {v}")).collect::<String>(),
                    m.connections,
                    m.dial_failures,
                    m.delivered,
                    self.world.steps,
                    m.rejected,
                    m.closes
                ),
                replay,
                verdicts,
            });
        }
        Ok(summarize(
            sc,
            &self.plan,
            &self.world,
            self.metrics,
            verdicts,
            groups,
        ))
    }

    /// A workload publication by `host`: honest and forking hosts publish on their own feed, a
    /// forger stores a forgery of a victim's next message where its peers will ask for it.
    fn publish(&mut self, host: usize, observer: &mut dyn Observer) {
        let sc = self.sc;
        let world = &mut self.world;
        let now = world.now_ms();
        let role = world.hosts[host].role;
        let a = self.plan.author[host];
        let count = self.ledger.published.get(&a).copied().unwrap_or(0);
        let own_keys = world.hosts[host].keys.clone();
        let Some(node) = world.hosts[host].node.as_mut() else {
            return;
        };
        match role {
            Role::Honest | Role::Forker | Role::Slow => {
                let mut c = content(
                    &mut self.setup,
                    sc,
                    &self.plan.follows[host],
                    &self.plan.ids,
                    count,
                );
                if role == Role::Forker && a != host {
                    c["text"] = json!(format!("the other branch {}", self.setup.next_u64()));
                }
                let Ok(msg) = node.publish(&c, now) else { return };
                world.touch(host);
                observer.published(host, &msg, Some(&c));
                self.record(host, &msg);
            }
            Role::Forger => {
                // The next message of a random honest feed it holds, signed with its own key: the
                // author field names the victim, the signature cannot verify.
                let me = own_keys.id();
                let victims: Vec<FeedId> = node.scope().iter().copied().filter(|f| *f != me).collect();
                if victims.is_empty() {
                    return;
                }
                let victim = victims[(self.setup.next_u64() % victims.len() as u64) as usize];
                let stored = forgery(&own_keys, victim, node.store().latest(&victim), now);
                let seq = stored.sequence;
                if node.store_mut().append(std::slice::from_ref(&stored)).is_ok() {
                    node.notify_appended(victim, seq);
                    world.touch(host);
                }
            }
            Role::Flooder => {}
        }
    }

    /// Notes a message published by `host`: genuine (for the forgery check) and, for the first
    /// branch of a feed, awaited by every honest node that is owed it.
    fn record(&mut self, host: usize, msg: &StoredMsg) {
        let plan = &self.plan;
        let a = plan.author[host];
        let forking = plan.roles[host] == Role::Forker;
        self.ledger.note(host, a, msg.sequence, msg.id, forking);
        if a != host || plan.roles[host] != Role::Honest {
            return; // the second branch is counted once, with the first
        }
        let waiting = (0..plan.expect.len())
            .filter(|h| *h != host && plan.roles[*h] == Role::Honest && plan.expect[*h].contains(&a))
            .count();
        self.metrics.messages.insert(
            (a, msg.sequence),
            MsgStat {
                published_ms: msg.received,
                waiting,
                converged_ms: (waiting == 0).then_some(msg.received),
            },
        );
    }

    fn observe(&mut self, o: Observed, now: u64) -> Result<(), String> {
        let m = &mut self.metrics;
        match o {
            Observed::Sent { host, bytes } => m.bytes_sent[host] += bytes as u64,
            Observed::Queued { bytes } => m.max_queued_bytes = m.max_queued_bytes.max(bytes),
            Observed::LinkUp { .. } => m.connections += 1,
            Observed::DialFailed { .. } => m.dial_failures += 1,
            Observed::Node { host, event } => {
                if self.plan.roles[host] != Role::Honest {
                    return Ok(());
                }
                match event {
                    NodeEvent::Appended { feed, sequence, from } => {
                        if from.is_none() {
                            return Ok(());
                        }
                        m.delivered_at(now);
                        no_forgery::on_appended(
                            &self.plan,
                            &self.world,
                            &self.ledger,
                            host,
                            &feed,
                            sequence,
                        )?;
                        let Some(&a) = self.plan.by_feed.get(&feed) else {
                            return Ok(());
                        };
                        if self.plan.expect[host].contains(&a) {
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
}

/// A forger's message for `victim`'s next sequence: the author field names the victim, the
/// signature is the forger's own (so it cannot verify).
fn forgery(forger: &Keypair, victim: FeedId, latest: Option<ssb_impl::store::Latest>, now: u64) -> StoredMsg {
    let seq = latest.map_or(0, |l| l.sequence) + 1;
    let content = legacy::parse(br#"{"type":"post","text":"forged"}"#, Mode::JsCompat).expect("JSON");
    let (mut msg, _) = sign_message(
        forger,
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
    StoredMsg {
        id: MsgId(legacy::latin1_sha256(&units)),
        author: victim,
        sequence: seq,
        timestamp: now as f64,
        received: now,
        value: String::from_utf16_lossy(&units),
    }
}

/// The summary of a run that held.
fn summarize(
    sc: &Scenario,
    plan: &Plan,
    world: &World,
    mut m: Metrics,
    verdicts: Vec<Verdict>,
    groups: Option<crate::groups::GroupsSummary>,
) -> Summary {
    let n = sc.nodes;
    m.duplicates = (0..n)
        .filter(|h| plan.roles[*h] == Role::Honest)
        .filter_map(|h| world.hosts[h].node.as_ref())
        .map(|node| node.stats.duplicates)
        .sum();
    let conv = m.convergence();
    let converged = conv.len();
    let total_bytes: u64 = m.bytes_sent.iter().sum();
    Summary {
        scenario: sc.name.clone(),
        seed: sc.seed,
        nodes: n,
        replication: sc.replication.clone(),
        duration_s: sc.duration_s,
        invariants: Invariants {
            held: true,
            checks: verdicts,
        },
        follows_unreachable: plan.unreachable,
        messages_published: m.messages.len(),
        messages_converged: converged,
        convergence_ms: Percentiles::of(conv),
        messages_delivered: m.delivered,
        duplicates: m.duplicates,
        rejected: m.rejected,
        bytes_sent: total_bytes,
        bytes_per_delivered: if m.delivered == 0 {
            0.0
        } else {
            (total_bytes as f64 / m.delivered as f64).round()
        },
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
    }
}
