//! Our scheduler against turmoil's (issue 5, item 6): a scenario small enough for both, of
//! honest nodes only, run by our event-driven world and by turmoil 0.7, must end in the same
//! outcome. Two scenarios: the smoke scenario's shape (hubs) cut down to ten nodes, and twelve
//! nodes on a random 3-regular graph where every node replicates every feed (multi-hop relay).
//!
//! - **Ours.** `ssb_sim::run` runs the scenario and returns its summary. The summary holds no
//!   per-node stores, so the test also replays the same run on the public [`World`] API (the
//!   same draws from the seed, in the same order, as `run.rs` makes for honest nodes without
//!   faults) and reads every node's store at the end. The replay is checked to be that run: its
//!   event count, connections, dial failures, deliveries, duplicates, bytes sent per node and
//!   convergence percentiles equal the summary's.
//! - **Turmoil.** One turmoil client host per node (`n0`, `n1`, …) runs a tokio loop around the
//!   same sans-IO `Node` (same keys, same configuration: replication scope and peers to dial),
//!   over `turmoil::net` TCP with the real secret handshake and box-stream of
//!   `ssb_impl::driver::{connect, accept}`, ticking it on turmoil's clock (1 ms steps, latency
//!   drawn in the scenario's range). Each node publishes the contents it published in our run,
//!   with the same timestamps, at the same simulated times, so its feed is the same messages with
//!   the same ids. At the end of the scenario's duration every host reports its store. The
//!   turmoil run is made twice and must store the same messages at the same simulated times.
//!
//! The outcome compared is, for every node, every feed it stores and the ids of that feed's
//! messages from sequence 1 to the latest. Both runs must give identical outcomes, both must have
//! converged (every node holds its own feed and every feed in its scope, complete, with its
//! author's ids, and nothing else), every message must have been stored once per holder and every
//! link opened once under both, and the outcome must be non-trivial (every node holds feeds of at
//! least two others).

use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};
use std::rc::Rc;
use std::sync::Arc;
use std::time::Duration;

use rand_chacha::ChaCha20Rng;
use rand_core::{RngCore, SeedableRng};
use serde_json::{json, Value as Json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::mpsc;

use ssb_impl::driver;
use ssb_impl::legacy::message::MsgId;
use ssb_impl::node::{ConnId, Node, NodeConfig, NodeEvent, Output, PeerAddr, Replication, SignatureMemo};
use ssb_impl::shs;
use ssb_impl::store::{MemoryBlobs, MemoryStore};
use ssb_impl::{FeedId, Keypair};
use ssb_sim::metrics::Percentiles;
use ssb_sim::scenario::Scenario;
use ssb_sim::topology;
use ssb_sim::world::{Ev, Observed, Role, World};

/// Every feed a node stores, with the ids of its messages from sequence 1 on.
type Holdings = BTreeMap<FeedId, Vec<MsgId>>;
/// Holdings of every node, by host index.
type Outcome = Vec<Holdings>;

/// The port every turmoil host listens on.
const PORT: u16 = 8008;

/// The shape of the bundled smoke scenario, cut down to ten honest nodes and no faults: three
/// hubs that replicate every feed, every other node linked to two of them and following four
/// feeds, five messages each over four seconds. Built on the defaults rather than loaded, so
/// later additions to the smoke file (faults, Byzantine nodes, groups) do not change it.
fn hubs() -> Scenario {
    let mut sc = Scenario {
        name: "turmoil-agrees-hubs".into(),
        seed: 1,
        nodes: 10,
        duration_s: 15,
        replication: "ebt".into(),
        ..Scenario::default()
    };
    sc.topology.kind = "hubs".into();
    sc.topology.hubs = 3;
    sc.topology.degree = 2;
    sc.follows.kind = "random".into();
    sc.follows.count = 4;
    sc.workload.messages_per_node = 5;
    sc.workload.start_s = 1;
    sc.workload.end_s = 5;
    sc.network.latency_min_ms = 10;
    sc.network.latency_max_ms = 100;
    sc
}

/// Twelve nodes on a random 3-regular graph, each replicating every feed: feeds travel several
/// hops through other nodes.
fn mesh() -> Scenario {
    let mut sc = hubs();
    sc.name = "turmoil-agrees-mesh".into();
    sc.seed = 5;
    sc.nodes = 12;
    sc.topology.kind = "random_regular".into();
    sc.topology.degree = 3;
    sc.follows.kind = "everyone".into();
    sc.workload.messages_per_node = 4;
    sc
}

/// What `run.rs` derives from the seed before the run starts, for honest nodes without faults.
struct Plan {
    keys: Vec<Keypair>,
    ids: Vec<FeedId>,
    follows: Vec<BTreeSet<usize>>,
    /// Feeds (host indices) each node replicates.
    scope: Vec<BTreeSet<usize>>,
    configs: Vec<NodeConfig>,
    /// When each node's first tick comes, in µs.
    first_tick_us: Vec<u64>,
    /// Publish times, in the order they are scheduled: (µs, host).
    publishes: Vec<(u64, usize)>,
    /// The setup stream, where the run goes on drawing message contents.
    setup: ChaCha20Rng,
}

/// `run.rs`'s `host_keys`.
fn host_keys(seed: u64, i: usize) -> Keypair {
    Keypair::from_seed(ssb_impl::crypto::sha256(
        format!("ssb-sim host {seed} {i}").as_bytes(),
    ))
}

/// `run.rs`'s `uniform`.
fn uniform(rng: &mut ChaCha20Rng, lo: u64, hi: u64) -> u64 {
    lo + rng.next_u64() % (hi.saturating_sub(lo) + 1)
}

fn plan(sc: &Scenario) -> Plan {
    let n = sc.nodes;
    let mut setup = ChaCha20Rng::seed_from_u64(sc.seed);
    let keys: Vec<Keypair> = (0..n).map(|h| host_keys(sc.seed, h)).collect();
    let ids: Vec<FeedId> = keys.iter().map(Keypair::id).collect();
    let adj = topology::connections(&sc.topology, n, &mut setup);
    let (follows, hops) = topology::follows(&sc.follows, n, &mut setup);
    let follows: Vec<BTreeSet<usize>> = follows
        .iter()
        .enumerate()
        .map(|(h, f)| f.iter().copied().filter(|a| *a != h).collect())
        .collect();
    let memo = sc.signature_memo.then(|| Arc::new(SignatureMemo::new(4_000_000)));
    let mut scope = Vec::new();
    let mut configs = Vec::new();
    for (h, links) in adj.iter().enumerate() {
        // Hubs are pubs: they replicate every feed.
        let s: BTreeSet<usize> = if sc.topology.kind == "hubs" && h < sc.topology.hubs {
            (0..n).filter(|a| *a != h).collect()
        } else {
            topology::scope(&follows, h, hops)
        };
        let peers = links
            .iter()
            .filter(|j| **j > h)
            .map(|j| PeerAddr {
                host: format!("n{j}"),
                port: 0,
                key: ids[*j],
            })
            .collect();
        configs.push(NodeConfig {
            hops: 0,
            replicate: s.iter().map(|a| ids[*a]).collect(),
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
        scope.push(s);
    }
    let tick_us = sc.network.tick_ms.max(1) * 1000;
    let first_tick_us = (0..n).map(|_| setup.next_u64() % tick_us).collect();
    let (w0, w1) = (sc.workload.start_s * 1_000_000, sc.workload.end_s * 1_000_000);
    let mut publishes = Vec::new();
    for h in 0..n {
        for _ in 0..sc.workload.messages_per_node {
            publishes.push((uniform(&mut setup, w0, w1), h));
        }
    }
    Plan {
        keys,
        ids,
        follows,
        scope,
        configs,
        first_tick_us,
        publishes,
        setup,
    }
}

/// `run.rs`'s `content`.
fn content(rng: &mut ChaCha20Rng, sc: &Scenario, follows: &BTreeSet<usize>, ids: &[FeedId], n: u64) -> Json {
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

fn holdings(node: &Node) -> Holdings {
    let store = node.store();
    store
        .feeds()
        .into_iter()
        .map(|(feed, latest)| {
            let ids = (1..=latest)
                .map(|s| {
                    store
                        .get(&feed, s)
                        .expect("a memory store reads")
                        .unwrap_or_else(|| panic!("{feed:?} has a gap at {s}"))
                        .id
                })
                .collect();
            (feed, ids)
        })
        .collect()
}

/// One message a node published in our run, to publish again under turmoil.
#[derive(Clone)]
struct Published {
    at_us: u64,
    timestamp_ms: u64,
    content: Json,
}

/// A message a node stored from a peer: (simulated ms, host, author host, sequence).
type Append = (u64, usize, usize, u64);

/// What our run counted, to check against `ssb_sim::run`'s summary.
#[derive(Debug, Default, PartialEq)]
struct Counts {
    events: u64,
    connections: u64,
    dial_failures: u64,
    delivered: u64,
    duplicates: u64,
    bytes_sent: Vec<u64>,
    published: usize,
    /// Convergence times (p50, p99, max), in ms.
    convergence_ms: (u64, u64, u64),
}

/// Convergence time of every message: from its publication to the last node storing it.
fn convergence(appends: &[Append], published: &[Vec<Published>]) -> Percentiles {
    let mut last: BTreeMap<(usize, u64), u64> = BTreeMap::new();
    for (ms, _, a, seq) in appends {
        let t = last.entry((*a, *seq)).or_default();
        *t = (*t).max(*ms);
    }
    let mut times = Vec::new();
    for (a, msgs) in published.iter().enumerate() {
        for (i, m) in msgs.iter().enumerate() {
            let at = last.get(&(a, i as u64 + 1)).copied().unwrap_or(m.timestamp_ms);
            times.push(at.saturating_sub(m.timestamp_ms));
        }
    }
    Percentiles::of(times)
}

/// Our run.
struct Ours {
    outcome: Outcome,
    counts: Counts,
    published: Vec<Vec<Published>>,
}

/// Our run, replayed on the public `World` API exactly as `run.rs` drives it.
fn run_ours(sc: &Scenario) -> Ours {
    let n = sc.nodes;
    let mut p = plan(sc);
    let author: BTreeMap<FeedId, usize> = p.ids.iter().enumerate().map(|(a, id)| (*id, a)).collect();
    let mut world = World::new(
        sc.seed,
        (sc.network.latency_min_ms, sc.network.latency_max_ms),
        sc.network.loss,
        sc.network.retransmit_ms,
    );
    for h in 0..n {
        let node = Node::new(
            p.keys[h].clone(),
            p.configs[h].clone(),
            Box::new(MemoryStore::new()),
            Box::new(MemoryBlobs::new()),
        )
        .expect("a memory store opens");
        world.add_host(p.keys[h].clone(), Role::Honest, node);
    }
    let tick_us = sc.network.tick_ms.max(1) * 1000;
    for (h, at) in p.first_tick_us.iter().enumerate() {
        world.schedule(*at, Ev::Tick { host: h });
    }
    for (at, h) in &p.publishes {
        world.schedule(*at, Ev::Publish { host: *h });
    }
    let mut counts = Counts {
        bytes_sent: vec![0; n],
        ..Counts::default()
    };
    let mut published: Vec<Vec<Published>> = vec![Vec::new(); n];
    let mut appends: Vec<Append> = Vec::new();
    while let Some(ev) = world.pop(sc.duration_s * 1_000_000) {
        match ev {
            Ev::Publish { host } => {
                let now = world.now_ms();
                let count = published[host].len() as u64;
                let c = content(&mut p.setup, sc, &p.follows[host], &p.ids, count);
                let node = world.hosts[host].node.as_mut().expect("up");
                let msg = node.publish(&c, now).expect("publish");
                assert_eq!(msg.sequence, count + 1);
                published[host].push(Published {
                    at_us: world.now_us,
                    timestamp_ms: now,
                    content: c,
                });
                counts.published += 1;
                world.touch(host);
            }
            Ev::Tick { host } => {
                world.handle(Ev::Tick { host });
                world.schedule(world.now_us + tick_us, Ev::Tick { host });
            }
            other => world.handle(other),
        }
        world.settle();
        let now = world.now_ms();
        for o in std::mem::take(&mut world.observed) {
            match o {
                Observed::Sent { host, bytes } => counts.bytes_sent[host] += bytes as u64,
                Observed::LinkUp { .. } => counts.connections += 1,
                Observed::DialFailed { .. } => counts.dial_failures += 1,
                Observed::Node {
                    host,
                    event:
                        NodeEvent::Appended {
                            feed,
                            sequence,
                            from: Some(_),
                        },
                } => {
                    counts.delivered += 1;
                    appends.push((now, host, author[&feed], sequence));
                }
                _ => {}
            }
        }
    }
    counts.events = world.steps;
    let c = convergence(&appends, &published);
    counts.convergence_ms = (c.p50, c.p99, c.max);
    let nodes: Vec<&Node> = world.hosts.iter().map(|h| h.node.as_ref().expect("up")).collect();
    counts.duplicates = nodes.iter().map(|n| n.stats.duplicates).sum();
    Ours {
        outcome: nodes.iter().map(|n| holdings(n)).collect(),
        counts,
        published,
    }
}

// ---- turmoil: the node over simulated TCP -------------------------------------------------------

enum Event {
    Connected {
        conn: ConnId,
        peer: FeedId,
        we_dialed: bool,
        writer: mpsc::UnboundedSender<WriterMsg>,
    },
    Bytes(ConnId, Vec<u8>),
    Drained(ConnId),
    Gone(ConnId),
}

enum WriterMsg {
    Data(Vec<u8>),
    Close,
}

/// The node's clock: milliseconds of simulated time.
fn now_ms() -> u64 {
    turmoil::elapsed().as_millis() as u64
}

/// Splits an authenticated stream into a reader task and a writer task (as the tokio runtime
/// does).
fn run_conn(
    conn: ConnId,
    bs: driver::BoxStream<turmoil::net::TcpStream>,
    we_dialed: bool,
    ev_tx: mpsc::UnboundedSender<Event>,
) {
    let peer = bs.peer();
    let (mut r, mut w) = tokio::io::split(bs);
    let (wtx, mut wrx) = mpsc::unbounded_channel::<WriterMsg>();
    let _ = ev_tx.send(Event::Connected {
        conn,
        peer,
        we_dialed,
        writer: wtx,
    });
    let ev_w = ev_tx.clone();
    tokio::task::spawn_local(async move {
        while let Some(m) = wrx.recv().await {
            match m {
                WriterMsg::Data(bytes) => {
                    if w.write_all(&bytes).await.is_err() {
                        let _ = ev_w.send(Event::Gone(conn));
                        return;
                    }
                    if wrx.is_empty() {
                        let _ = w.flush().await;
                        let _ = ev_w.send(Event::Drained(conn));
                    }
                }
                WriterMsg::Close => {
                    let _ = w.shutdown().await;
                    return;
                }
            }
        }
    });
    tokio::task::spawn_local(async move {
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            match r.read(&mut buf).await {
                Ok(0) | Err(_) => {
                    let _ = ev_tx.send(Event::Gone(conn));
                    return;
                }
                Ok(n) => {
                    if ev_tx.send(Event::Bytes(conn, buf[..n].to_vec())).is_err() {
                        return;
                    }
                }
            }
        }
    });
}

/// What one turmoil host tells the test when its time is up.
struct Report {
    holdings: Holdings,
    connections: u64,
    /// Messages stored from peers: (simulated ms, feed, sequence), in order.
    appends: Vec<(u64, FeedId, u64)>,
}

/// One node's software on a turmoil host: listen, dial the configured peers on every tick,
/// publish on schedule, feed the node every event, and at `end` report its store.
#[allow(clippy::too_many_arguments)]
async fn node_host(
    h: usize,
    keys: Keypair,
    config: NodeConfig,
    seed: [u8; 32],
    mut publishes: std::collections::VecDeque<Published>,
    tick_ms: u64,
    end: Duration,
    reports: Rc<RefCell<BTreeMap<usize, Report>>>,
) -> turmoil::Result {
    let net = shs::MAIN_NETWORK_KEY;
    let listener = turmoil::net::TcpListener::bind(("0.0.0.0", PORT)).await?;
    let mut node = Node::new(
        keys.clone(),
        config,
        Box::new(MemoryStore::new()),
        Box::new(MemoryBlobs::new()),
    )?;
    let (ev_tx, mut ev_rx) = mpsc::unbounded_channel::<Event>();
    let mut rng = ChaCha20Rng::from_seed(seed);
    let mut accept_seed = [0u8; 32];
    rng.fill_bytes(&mut accept_seed);
    {
        let keys = keys.clone();
        let ev_tx = ev_tx.clone();
        tokio::task::spawn_local(async move {
            let mut rng = ChaCha20Rng::from_seed(accept_seed);
            let mut n = 0u64;
            loop {
                let Ok((tcp, _)) = listener.accept().await else {
                    continue;
                };
                n += 1;
                let conn = ConnId(n);
                let mut conn_seed = [0u8; 32];
                rng.fill_bytes(&mut conn_seed);
                let keys = keys.clone();
                let ev_tx = ev_tx.clone();
                tokio::task::spawn_local(async move {
                    let mut rng = ChaCha20Rng::from_seed(conn_seed);
                    let hs = driver::accept(tcp, net, keys, Box::new(|_| true), &mut rng);
                    if let Ok(Ok(bs)) = tokio::time::timeout(Duration::from_secs(10), hs).await {
                        run_conn(conn, bs, false, ev_tx);
                    }
                });
            }
        });
    }
    let start = tokio::time::Instant::now();
    let mut tick = tokio::time::interval(Duration::from_millis(tick_ms));
    let mut writers: BTreeMap<ConnId, mpsc::UnboundedSender<WriterMsg>> = BTreeMap::new();
    let mut next_conn = 1u64 << 32;
    let mut connections = 0;
    let mut appends = Vec::new();
    loop {
        let next_publish = publishes
            .front()
            .map_or(start + end, |p| start + Duration::from_micros(p.at_us));
        tokio::select! {
            biased;
            _ = tokio::time::sleep_until(start + end) => break,
            ev = ev_rx.recv() => {
                let now = now_ms();
                match ev.expect("the host holds a sender") {
                    Event::Connected { conn, peer, we_dialed, writer } => {
                        connections += 1;
                        writers.insert(conn, writer);
                        node.connected(conn, peer, we_dialed, now);
                    }
                    Event::Bytes(conn, bytes) => node.received(conn, &bytes, now),
                    Event::Drained(conn) => node.drained(conn),
                    Event::Gone(conn) => {
                        if writers.remove(&conn).is_some() {
                            node.disconnected(conn);
                        }
                    }
                }
            }
            _ = tokio::time::sleep_until(next_publish), if !publishes.is_empty() => {
                let p = publishes.pop_front().expect("not empty");
                node.publish(&p.content, p.timestamp_ms)?;
            }
            _ = tick.tick() => node.tick(now_ms()),
        }
        if node.needs_sync() {
            node.sync();
        }
        for e in node.take_events() {
            if let NodeEvent::Appended {
                feed,
                sequence,
                from: Some(_),
            } = e
            {
                appends.push((now_ms(), feed, sequence));
            }
        }
        for out in node.take_outputs() {
            match out {
                Output::Send { conn, bytes } => {
                    if let Some(w) = writers.get(&conn) {
                        let _ = w.send(WriterMsg::Data(bytes));
                    }
                }
                Output::Close { conn, .. } => {
                    if let Some(w) = writers.remove(&conn) {
                        let _ = w.send(WriterMsg::Close);
                    }
                    node.disconnected(conn);
                }
                Output::Dial { addr } => {
                    next_conn += 1;
                    let conn = ConnId(next_conn);
                    let mut seed = [0u8; 32];
                    rng.fill_bytes(&mut seed);
                    let keys = keys.clone();
                    let ev_tx = ev_tx.clone();
                    tokio::task::spawn_local(async move {
                        let mut rng = ChaCha20Rng::from_seed(seed);
                        let go = async {
                            let tcp = turmoil::net::TcpStream::connect((addr.host.as_str(), PORT))
                                .await
                                .ok()?;
                            driver::connect(tcp, net, keys, addr.key, &mut rng).await.ok()
                        };
                        if let Ok(Some(bs)) = tokio::time::timeout(Duration::from_secs(10), go).await {
                            run_conn(conn, bs, true, ev_tx);
                        }
                    });
                }
            }
        }
    }
    let report = Report {
        holdings: holdings(&node),
        connections,
        appends,
    };
    reports.borrow_mut().insert(h, report);
    Ok(())
}

/// The run under turmoil.
struct Theirs {
    outcome: Outcome,
    /// Connections the nodes saw open (each link counted at both ends).
    connections: u64,
    /// Every message stored from a peer, by host in the order stored.
    appends: Vec<Append>,
}

/// The same nodes under turmoil.
fn run_turmoil(sc: &Scenario, published: &[Vec<Published>]) -> Theirs {
    let n = sc.nodes;
    let p = plan(sc);
    let author: BTreeMap<FeedId, usize> = p.ids.iter().enumerate().map(|(a, id)| (*id, a)).collect();
    let end = Duration::from_secs(sc.duration_s);
    let mut sim = turmoil::Builder::new()
        .simulation_duration(end + Duration::from_secs(5))
        .tick_duration(Duration::from_millis(1))
        .min_message_latency(Duration::from_millis(sc.network.latency_min_ms))
        .max_message_latency(Duration::from_millis(sc.network.latency_max_ms))
        .epoch(std::time::UNIX_EPOCH)
        .rng_seed(sc.seed)
        .build();
    let reports: Rc<RefCell<BTreeMap<usize, Report>>> = Default::default();
    for (h, publishes) in published.iter().enumerate() {
        let seed = ssb_impl::crypto::sha256(format!("turmoil host {} {h}", sc.seed).as_bytes());
        sim.client(
            format!("n{h}"),
            node_host(
                h,
                p.keys[h].clone(),
                p.configs[h].clone(),
                seed,
                publishes.iter().cloned().collect(),
                sc.network.tick_ms,
                end,
                reports.clone(),
            ),
        );
    }
    sim.run().expect("the turmoil simulation completes");
    let mut reports = reports.take();
    let mut theirs = Theirs {
        outcome: Vec::new(),
        connections: 0,
        appends: Vec::new(),
    };
    for h in 0..n {
        let r = reports.remove(&h).expect("every host reported");
        theirs.connections += r.connections;
        theirs
            .appends
            .extend(r.appends.iter().map(|(ms, f, seq)| (*ms, h, author[f], *seq)));
        theirs.outcome.push(r.holdings);
    }
    theirs
}

/// Converged: node `h` holds exactly its own feed and the feeds in its scope, each with every
/// message its author published, and they are the author's own messages.
fn check_converged(which: &str, outcome: &Outcome, p: &Plan, published: &[Vec<Published>]) {
    let authored: Vec<&Vec<MsgId>> = (0..outcome.len())
        .map(|a| outcome[a].get(&p.ids[a]).expect("a node holds its own feed"))
        .collect();
    for (h, held) in outcome.iter().enumerate() {
        let want: BTreeSet<FeedId> = p.scope[h].iter().chain([&h]).map(|a| p.ids[*a]).collect();
        let got: BTreeSet<FeedId> = held.keys().copied().collect();
        assert_eq!(
            got, want,
            "{which}: node {h} holds other feeds than its own and its scope"
        );
        for a in std::iter::once(h).chain(p.scope[h].iter().copied()) {
            let msgs = &held[&p.ids[a]];
            assert_eq!(
                msgs.len(),
                published[a].len(),
                "{which}: node {h} holds {} of the {} messages of node {a}",
                msgs.len(),
                published[a].len()
            );
            assert_eq!(
                msgs, authored[a],
                "{which}: node {h} holds other messages of node {a}"
            );
        }
    }
}

/// The first node whose holdings differ, in words.
fn first_difference(ours: &Outcome, theirs: &Outcome) -> Option<String> {
    for (h, (a, b)) in ours.iter().zip(theirs).enumerate() {
        if a == b {
            continue;
        }
        let feeds: BTreeSet<&FeedId> = a.keys().chain(b.keys()).collect();
        for f in feeds {
            let (x, y) = (a.get(f), b.get(f));
            if x != y {
                return Some(format!(
                    "node {h}, feed {f:?}: ours {} messages, turmoil {} messages{}",
                    x.map_or(0, Vec::len),
                    y.map_or(0, Vec::len),
                    if x.map(Vec::len) == y.map(Vec::len) {
                        " (different ids)"
                    } else {
                        ""
                    }
                ));
            }
        }
    }
    (ours.len() != theirs.len()).then(|| format!("{} nodes against {}", ours.len(), theirs.len()))
}

/// Runs `sc` under both schedulers and checks that they agree.
fn agree(sc: &Scenario) {
    sc.check().expect("a runnable scenario");
    assert!(!sc.follows.contact_messages);
    assert_eq!(sc.network.loss, 0.0);
    let n = sc.nodes;
    let p = plan(sc);

    // Ours: the run itself, then its replay with the stores.
    let summary = ssb_sim::run(sc, &mut |_, _| {}).unwrap_or_else(|v| panic!("{v}"));
    assert!(summary.invariants.held);
    assert_eq!(summary.follows_unreachable, 0);
    assert_eq!(summary.messages_converged, summary.messages_published);
    let ours = run_ours(sc);
    let c = &summary.convergence_ms;
    let from_summary = Counts {
        events: summary.events,
        connections: summary.connections,
        dial_failures: summary.dial_failures,
        delivered: summary.messages_delivered,
        duplicates: summary.duplicates,
        bytes_sent: summary.per_node_bytes_sent.clone(),
        published: summary.messages_published,
        convergence_ms: (c.p50, c.p99, c.max),
    };
    assert_eq!(
        ours.counts, from_summary,
        "the replay is not the run ssb_sim::run made"
    );
    assert_eq!(ours.counts.published, n * sc.workload.messages_per_node);

    // Turmoil, twice: one seed, one run.
    let theirs = run_turmoil(sc, &ours.published);
    let again = run_turmoil(sc, &ours.published);
    assert!(theirs.appends == again.appends, "turmoil did not replay its run");

    check_converged("ours", &ours.outcome, &p, &ours.published);
    check_converged("turmoil", &theirs.outcome, &p, &ours.published);
    if let Some(d) = first_difference(&ours.outcome, &theirs.outcome) {
        panic!("the two schedulers disagree: {d}");
    }
    assert!(ours.outcome == theirs.outcome);
    // Every message a node holds from others arrived once, and over as many links, under both.
    assert_eq!(theirs.appends.len() as u64, ours.counts.delivered);
    assert_eq!(theirs.connections, 2 * ours.counts.connections);

    // Not trivial: every node holds feeds of at least two others.
    let feeds: Vec<usize> = ours.outcome.iter().map(BTreeMap::len).collect();
    assert!(feeds.iter().all(|k| *k >= 3), "feeds held per node: {feeds:?}");
    let messages: Vec<usize> = ours
        .outcome
        .iter()
        .map(|held| held.values().map(Vec::len).sum())
        .collect();
    let tc = convergence(&theirs.appends, &ours.published);
    println!(
        "{}: {n} nodes, {} messages published, {} deliveries over {} links; feeds held per node \
         {feeds:?}, messages held per node {messages:?}; convergence p50/max ours {}/{} ms, \
         turmoil {}/{} ms; our world handled {} events",
        sc.name,
        ours.counts.published,
        ours.counts.delivered,
        ours.counts.connections,
        c.p50,
        c.max,
        tc.p50,
        tc.max,
        ours.counts.events,
    );
}

#[test]
fn hubs_agree() {
    agree(&hubs());
}

#[test]
fn mesh_agrees() {
    agree(&mesh());
}
