//! Our scheduler against turmoil's (issue 5, item 6): a scenario small enough for both, of
//! honest nodes only, run by our event-driven world and by turmoil 0.7, must end in the same
//! outcome. Two scenarios: the smoke scenario's shape (hubs) cut down to ten nodes, and twelve
//! nodes on a random 3-regular graph where every node replicates every feed (multi-hop relay).
//!
//! - **Ours.** `ssb_sim::run_observed` runs the scenario (the very run `ssb_sim::run` makes)
//!   and returns its summary; its observer records each node's keys and configuration as the run
//!   builds them, every message each node publishes (its content, id and time), and every
//!   node's store at the end.
//! - **Turmoil.** One turmoil client host per node (`n0`, `n1`, …) runs a tokio loop around the
//!   same sans-IO `Node` (the keys and configuration our run built it with: replication scope and
//!   peers to dial), over `turmoil::net` TCP with the real secret handshake and box-stream of
//!   `ssb_impl::driver::{connect, accept}`, ticking it on turmoil's clock (1 ms steps, latency
//!   drawn in the scenario's range). Each node publishes the contents it published in our run,
//!   with the same timestamps, at the same simulated millisecond, and each message must get the
//!   id it got in our run. At the end of the scenario's duration every host reports its store.
//!   The turmoil run is made twice and must store the same messages at the same simulated times.
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
use serde_json::Value as Json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::mpsc;

use ssb_impl::driver;
use ssb_impl::legacy::message::MsgId;
use ssb_impl::node::{ConnId, Node, NodeConfig, NodeEvent, Output, SignatureMemo};
use ssb_impl::shs;
use ssb_impl::store::{MemoryBlobs, MemoryStore, StoredMsg};
use ssb_impl::{FeedId, Keypair};
use ssb_sim::metrics::Percentiles;
use ssb_sim::scenario::Scenario;
use ssb_sim::world::World;
use ssb_sim::Observer;

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
    /// When it was published, and the time the node was given to publish it, in ms.
    at_ms: u64,
    content: Json,
    /// Its id in our run.
    id: MsgId,
}

/// A message a node stored from a peer: (simulated ms, host, author host, sequence).
type Append = (u64, usize, usize, u64);

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
            let at = last.get(&(a, i as u64 + 1)).copied().unwrap_or(m.at_ms);
            times.push(at.saturating_sub(m.at_ms));
        }
    }
    Percentiles::of(times)
}

/// Our run, as its observer saw it.
#[derive(Default)]
struct Ours {
    /// Each node's keys and configuration, as the run built it.
    keys: Vec<Keypair>,
    configs: Vec<NodeConfig>,
    /// Every message each node published, in order.
    published: Vec<Vec<Published>>,
    /// Every node's store at the end.
    outcome: Outcome,
    /// Events the world handled.
    events: u64,
}

impl Ours {
    fn ids(&self) -> Vec<FeedId> {
        self.keys.iter().map(Keypair::id).collect()
    }
}

impl Observer for Ours {
    fn planned(&mut self, host: usize, keys: &Keypair, config: &NodeConfig) {
        assert_eq!(host, self.keys.len(), "hosts are built once each, in order");
        self.keys.push(keys.clone());
        self.configs.push(config.clone());
        self.published.push(Vec::new());
    }

    fn published(&mut self, host: usize, msg: &StoredMsg, content: Option<&Json>) {
        let feed = &mut self.published[host];
        assert_eq!(msg.author, self.keys[host].id());
        assert_eq!(msg.sequence, feed.len() as u64 + 1);
        feed.push(Published {
            at_ms: msg.received,
            content: content
                .expect("a workload message comes with its content")
                .clone(),
            id: msg.id,
        });
    }

    fn finished(&mut self, world: &World) {
        assert!(self.outcome.is_empty(), "a run finishes once");
        for (h, host) in world.hosts.iter().enumerate() {
            assert_eq!(host.keys.id(), self.keys[h].id());
        }
        self.outcome = world
            .hosts
            .iter()
            .map(|h| holdings(h.node.as_ref().expect("no node is down at the end")))
            .collect();
        self.events = world.steps;
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
            .map_or(start + end, |p| start + Duration::from_millis(p.at_ms));
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
                let msg = node.publish(&p.content, p.at_ms)?;
                assert_eq!(msg.id, p.id, "node {h} published another message than in our run");
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

/// The nodes of our run under turmoil.
fn run_turmoil(sc: &Scenario, ours: &Ours) -> Theirs {
    let n = sc.nodes;
    let author: BTreeMap<FeedId, usize> = ours
        .ids()
        .into_iter()
        .enumerate()
        .map(|(a, id)| (id, a))
        .collect();
    let end = Duration::from_secs(sc.duration_s);
    let mut sim = turmoil::Builder::new()
        .simulation_duration(end + Duration::from_secs(5))
        .tick_duration(Duration::from_millis(1))
        .min_message_latency(Duration::from_millis(sc.network.latency_min_ms))
        .max_message_latency(Duration::from_millis(sc.network.latency_max_ms))
        .epoch(std::time::UNIX_EPOCH)
        .rng_seed(sc.seed)
        .build();
    // The nodes of this run share a signature memo of their own, as ours did.
    let memo = sc.signature_memo.then(|| Arc::new(SignatureMemo::new(4_000_000)));
    let reports: Rc<RefCell<BTreeMap<usize, Report>>> = Default::default();
    for (h, publishes) in ours.published.iter().enumerate() {
        let seed = ssb_impl::crypto::sha256(format!("turmoil host {} {h}", sc.seed).as_bytes());
        let config = NodeConfig {
            signature_memo: memo.clone(),
            ..ours.configs[h].clone()
        };
        sim.client(
            format!("n{h}"),
            node_host(
                h,
                ours.keys[h].clone(),
                config,
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

/// Converged: node `h` holds exactly its own feed and the feeds in its scope (the feeds its
/// configuration replicates), each with every message its author published, and they are the
/// author's own messages, with the ids they got when published in our run.
fn check_converged(which: &str, outcome: &Outcome, ours: &Ours) {
    let ids = ours.ids();
    let author: BTreeMap<FeedId, usize> = ids.iter().enumerate().map(|(a, id)| (*id, a)).collect();
    let authored: Vec<Vec<MsgId>> = ours
        .published
        .iter()
        .map(|feed| feed.iter().map(|p| p.id).collect())
        .collect();
    for (h, held) in outcome.iter().enumerate() {
        let config = &ours.configs[h];
        assert_eq!(config.hops, 0, "the scope is the configured feeds");
        let want: BTreeSet<FeedId> = config.replicate.iter().chain([&ids[h]]).copied().collect();
        let got: BTreeSet<FeedId> = held.keys().copied().collect();
        assert_eq!(
            got, want,
            "{which}: node {h} holds other feeds than its own and its scope"
        );
        for f in &want {
            let a = author[f];
            let msgs = &held[f];
            assert_eq!(
                msgs.len(),
                ours.published[a].len(),
                "{which}: node {h} holds {} of the {} messages of node {a}",
                msgs.len(),
                ours.published[a].len()
            );
            assert_eq!(
                msgs, &authored[a],
                "{which}: node {h} holds other messages of node {a} than it published"
            );
        }
    }
}

/// Messages each node holds of other nodes' feeds.
fn held_from_others(outcome: &Outcome, ids: &[FeedId]) -> usize {
    outcome
        .iter()
        .enumerate()
        .map(|(h, held)| {
            held.iter()
                .filter(|(f, _)| **f != ids[h])
                .map(|(_, m)| m.len())
                .sum::<usize>()
        })
        .sum()
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

    // Ours: the run itself, watched.
    let mut ours = Ours::default();
    let summary = ssb_sim::run_observed(sc, &mut |_, _| {}, &mut ours).unwrap_or_else(|v| panic!("{v}"));
    assert!(summary.invariants.held);
    assert_eq!(summary.follows_unreachable, 0);
    assert_eq!(summary.messages_converged, summary.messages_published);
    assert_eq!(summary.messages_published, n * sc.workload.messages_per_node);
    assert_eq!(ours.keys.len(), n);
    assert_eq!(ours.outcome.len(), n, "the run finished");
    assert_eq!(ours.events, summary.events);
    let published: Vec<usize> = ours.published.iter().map(Vec::len).collect();
    assert!(
        published.iter().all(|k| *k == sc.workload.messages_per_node),
        "messages published per node: {published:?}"
    );

    // Turmoil, twice: one seed, one run.
    let theirs = run_turmoil(sc, &ours);
    let again = run_turmoil(sc, &ours);
    assert!(theirs.appends == again.appends, "turmoil did not replay its run");
    assert!(theirs.outcome == again.outcome, "turmoil did not replay its run");

    check_converged("ours", &ours.outcome, &ours);
    check_converged("turmoil", &theirs.outcome, &ours);
    if let Some(d) = first_difference(&ours.outcome, &theirs.outcome) {
        panic!("the two schedulers disagree: {d}");
    }
    assert!(ours.outcome == theirs.outcome);
    // Every message a node holds from others arrived once, and over as many links, under both.
    let ids = ours.ids();
    let from_others = held_from_others(&ours.outcome, &ids) as u64;
    assert_eq!(summary.messages_delivered, from_others);
    assert_eq!(theirs.appends.len() as u64, from_others);
    let distinct: BTreeSet<(usize, usize, u64)> =
        theirs.appends.iter().map(|(_, h, a, s)| (*h, *a, *s)).collect();
    assert_eq!(
        distinct.len(),
        theirs.appends.len(),
        "turmoil stored a message twice"
    );
    assert_eq!(theirs.connections, 2 * summary.connections);

    // Not trivial: every node holds feeds of at least two others.
    let feeds: Vec<usize> = ours.outcome.iter().map(BTreeMap::len).collect();
    assert!(feeds.iter().all(|k| *k >= 3), "feeds held per node: {feeds:?}");
    let messages: Vec<usize> = ours
        .outcome
        .iter()
        .map(|held| held.values().map(Vec::len).sum())
        .collect();
    let c = &summary.convergence_ms;
    let tc = convergence(&theirs.appends, &ours.published);
    println!(
        "{}: {n} nodes, {} messages published, {} deliveries over {} links; feeds held per node \
         {feeds:?}, messages held per node {messages:?}; convergence p50/max ours {}/{} ms, \
         turmoil {}/{} ms; our world handled {} events",
        sc.name,
        summary.messages_published,
        summary.messages_delivered,
        summary.connections,
        c.p50,
        c.max,
        tc.p50,
        tc.max,
        summary.events,
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
