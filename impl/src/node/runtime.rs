//! The node over real TCP with tokio: one task owns the sans-IO [`Node`] and takes events from
//! the listener, the connections and the local [`NodeHandle`]; each connection has a reader
//! task and a writer task around its box-stream. The clock (wall time in ms) and the handshake
//! randomness (a ChaCha20 stream from the given seed) are supplied here, not in the node. A
//! failing `accept` (out of file descriptors) backs off instead of spinning ([`RuntimeMetrics`]
//! counts it).

use std::net::SocketAddr;
use std::time::Duration;

use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha20Rng;
use serde_json::Value as Json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, oneshot};

use super::config::PeerAddr;
use super::core::{ConnId, Node, NodeEvent, Output};
use super::private::{GroupInfo, PrivateRead, Recipient};
use crate::driver;
use crate::identity::{FeedId, Keypair};
use crate::legacy::message::MsgId;
use crate::private::groups::GroupId;
use crate::store::blobs::BlobId;
use crate::store::StoredMsg;

/// The SSB main network's key (`caps.shs`).
pub const MAIN_NETWORK_KEY: [u8; 32] = [
    0xd4, 0xa1, 0xcb, 0x88, 0xa6, 0x6f, 0x02, 0xf8, 0xdb, 0x63, 0x5c, 0xe2, 0x64, 0x41, 0xcc, 0x5d, 0xac,
    0x1b, 0x08, 0x42, 0x0c, 0xea, 0xac, 0x23, 0x08, 0x39, 0xb7, 0x55, 0x84, 0x5a, 0x9f, 0xfb,
];

/// How long a handshake may take before the connection is dropped.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// Settings of the driver (the node's own are in [`super::NodeConfig`]).
#[derive(Debug, Clone)]
pub struct RuntimeConfig {
    pub network_key: [u8; 32],
    /// Seed of the handshake randomness.
    pub seed: [u8; 32],
    /// Milliseconds between scheduler ticks.
    pub tick_ms: u64,
}

impl Default for RuntimeConfig {
    fn default() -> Self {
        RuntimeConfig {
            network_key: MAIN_NETWORK_KEY,
            seed: [7; 32],
            tick_ms: 250,
        }
    }
}

enum Command {
    Publish(Json, Option<u64>, oneshot::Sender<Result<StoredMsg, String>>),
    Latest(FeedId, oneshot::Sender<u64>),
    Get(FeedId, u64, oneshot::Sender<Option<StoredMsg>>),
    Replicate(FeedId),
    Connect(PeerAddr),
    AddBlob(Vec<u8>, oneshot::Sender<Result<BlobId, String>>),
    WantBlob(BlobId),
    HasBlob(BlobId, oneshot::Sender<Option<u64>>),
    Events(oneshot::Sender<Vec<NodeEvent>>),
    Peers(oneshot::Sender<Vec<FeedId>>),
    Stats(oneshot::Sender<super::core::NodeStats>),
    Stop(oneshot::Sender<()>),
    /// Runs on the node with the runtime's randomness and clock (the private-message calls).
    With(NodeCall),
}

type NodeCall = Box<dyn FnOnce(&mut Node, &mut ChaCha20Rng, u64) + Send>;

enum Event {
    Connected {
        conn: ConnId,
        peer: FeedId,
        we_dialed: bool,
        writer: mpsc::UnboundedSender<WriterMsg>,
    },
    Bytes(ConnId, Vec<u8>),
    Drained(ConnId),
    Gone(ConnId, String),
}

enum WriterMsg {
    Data(Vec<u8>),
    Close,
}

/// A running node: ask it things, stop it.
#[derive(Clone)]
pub struct NodeHandle {
    tx: mpsc::UnboundedSender<Command>,
    pub id: FeedId,
    pub addr: SocketAddr,
    metrics: std::sync::Arc<RuntimeMetrics>,
}

/// Counters of the driver itself (the node's are [`super::core::NodeStats`]).
#[derive(Debug, Default)]
pub struct RuntimeMetrics {
    /// `accept` calls that failed (out of file descriptors, mostly).
    pub accept_errors: std::sync::atomic::AtomicU64,
    /// Time spent backing off after them, in ms.
    pub accept_backoff_ms: std::sync::atomic::AtomicU64,
}

/// The first pause after a failed `accept`, and the longest.
const ACCEPT_BACKOFF_MIN: Duration = Duration::from_millis(5);
const ACCEPT_BACKOFF_MAX: Duration = Duration::from_secs(1);
/// At most one log line about failing accepts per this long.
const ACCEPT_LOG_EVERY: Duration = Duration::from_secs(5);

/// Backing off when `accept` fails: a failing accept (no file descriptor left, say) fails again
/// at once, so retrying without a pause spins a core. The pause doubles from
/// [`ACCEPT_BACKOFF_MIN`] to [`ACCEPT_BACKOFF_MAX`] and starts over after a success; the log
/// line is a WARN at most every [`ACCEPT_LOG_EVERY`], with the count since the last one.
#[derive(Debug, Default)]
struct AcceptBackoff {
    pause: Option<Duration>,
    last_log: Option<std::time::Instant>,
    unlogged: u64,
}

impl AcceptBackoff {
    fn succeeded(&mut self) {
        self.pause = None;
    }

    /// Counts a failure; returns how long to pause.
    fn failed(&mut self, e: &std::io::Error, m: &RuntimeMetrics, now: std::time::Instant) -> Duration {
        use std::sync::atomic::Ordering::Relaxed;
        let pause = self
            .pause
            .map_or(ACCEPT_BACKOFF_MIN, |p| (p * 2).min(ACCEPT_BACKOFF_MAX));
        self.pause = Some(pause);
        m.accept_errors.fetch_add(1, Relaxed);
        m.accept_backoff_ms.fetch_add(pause.as_millis() as u64, Relaxed);
        self.unlogged += 1;
        if self
            .last_log
            .is_none_or(|t| now.duration_since(t) >= ACCEPT_LOG_EVERY)
        {
            tracing::warn!(
                errors = self.unlogged,
                total = m.accept_errors.load(Relaxed),
                pause_ms = pause.as_millis() as u64,
                "accept failed: {e}; backing off"
            );
            self.last_log = Some(now);
            self.unlogged = 0;
        }
        pause
    }
}

fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

impl NodeHandle {
    async fn ask<T>(&self, make: impl FnOnce(oneshot::Sender<T>) -> Command) -> Option<T> {
        let (tx, rx) = oneshot::channel();
        self.tx.send(make(tx)).ok()?;
        rx.await.ok()
    }

    pub async fn publish(&self, content: Json) -> Result<StoredMsg, String> {
        self.ask(|tx| Command::Publish(content, None, tx))
            .await
            .unwrap_or_else(|| Err("node stopped".into()))
    }

    /// Publishes with a given timestamp (ms) instead of the clock's: reproducible feeds.
    pub async fn publish_at(&self, content: Json, timestamp: u64) -> Result<StoredMsg, String> {
        self.ask(|tx| Command::Publish(content, Some(timestamp), tx))
            .await
            .unwrap_or_else(|| Err("node stopped".into()))
    }

    pub async fn latest(&self, feed: FeedId) -> u64 {
        self.ask(|tx| Command::Latest(feed, tx)).await.unwrap_or(0)
    }

    pub async fn get(&self, feed: FeedId, seq: u64) -> Option<StoredMsg> {
        self.ask(|tx| Command::Get(feed, seq, tx)).await.flatten()
    }

    pub fn replicate(&self, feed: FeedId) {
        let _ = self.tx.send(Command::Replicate(feed));
    }

    pub fn connect(&self, addr: PeerAddr) {
        let _ = self.tx.send(Command::Connect(addr));
    }

    pub async fn add_blob(&self, data: Vec<u8>) -> Result<BlobId, String> {
        self.ask(|tx| Command::AddBlob(data, tx))
            .await
            .unwrap_or_else(|| Err("node stopped".into()))
    }

    pub fn want_blob(&self, id: BlobId) {
        let _ = self.tx.send(Command::WantBlob(id));
    }

    pub async fn has_blob(&self, id: BlobId) -> Option<u64> {
        self.ask(|tx| Command::HasBlob(id, tx)).await.flatten()
    }

    /// Events since the last call.
    pub async fn events(&self) -> Vec<NodeEvent> {
        self.ask(Command::Events).await.unwrap_or_default()
    }

    pub async fn stats(&self) -> super::core::NodeStats {
        self.ask(Command::Stats).await.unwrap_or_default()
    }

    pub async fn peers(&self) -> Vec<FeedId> {
        self.ask(Command::Peers).await.unwrap_or_default()
    }

    /// Waits until `feed` holds `seq` messages; false on timeout.
    pub async fn wait_for(&self, feed: FeedId, seq: u64, timeout: Duration) -> bool {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            if self.latest(feed).await >= seq {
                return true;
            }
            if tokio::time::Instant::now() >= deadline {
                return false;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    /// Waits until a blob is stored; false on timeout.
    pub async fn wait_blob(&self, id: BlobId, timeout: Duration) -> bool {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            if self.has_blob(id).await.is_some() {
                return true;
            }
            if tokio::time::Instant::now() >= deadline {
                return false;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    /// Runs `f` on the node (with the runtime's randomness and the time) and returns its answer.
    async fn with<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Node, &mut ChaCha20Rng, u64) -> T + Send + 'static,
    ) -> Option<T> {
        self.ask(|tx| {
            Command::With(Box::new(move |node, rng, now| {
                let _ = tx.send(f(node, rng, now));
            }))
        })
        .await
    }

    /// Publishes `content` boxed with box2 to `recipients` (see [`Node::publish_box2`]).
    pub async fn publish_box2(&self, content: Json, recipients: Vec<Recipient>) -> Result<StoredMsg, String> {
        self.with(move |n, rng, now| {
            n.publish_box2(&content, &recipients, rng, now)
                .map_err(|e| e.to_string())
        })
        .await
        .unwrap_or_else(|| Err("node stopped".into()))
    }

    /// Publishes `content` boxed with private-box to `recipients` and ourselves.
    pub async fn publish_box1(&self, content: Json, recipients: Vec<FeedId>) -> Result<StoredMsg, String> {
        self.with(move |n, rng, now| {
            n.publish_box1(&content, &recipients, rng, now)
                .map_err(|e| e.to_string())
        })
        .await
        .unwrap_or_else(|| Err("node stopped".into()))
    }

    /// Creates a private group; its id and init message.
    pub async fn create_group(&self) -> Result<(GroupId, StoredMsg), String> {
        self.with(move |n, rng, now| n.create_group(rng, now).map_err(|e| e.to_string()))
            .await
            .unwrap_or_else(|| Err("node stopped".into()))
    }

    /// Adds members to a group we hold the key of.
    pub async fn add_members(&self, group: GroupId, members: Vec<FeedId>) -> Result<StoredMsg, String> {
        self.with(move |n, rng, now| {
            n.add_members(group, &members, rng, now)
                .map_err(|e| e.to_string())
        })
        .await
        .unwrap_or_else(|| Err("node stopped".into()))
    }

    /// Gives the node a group key learnt elsewhere.
    pub async fn add_group_key(&self, group: GroupId, key: [u8; 32]) {
        self.with(move |n, _, _| n.add_group_key(group, key, None)).await;
    }

    /// The groups whose keys the node holds.
    pub async fn groups(&self) -> Vec<(GroupId, GroupInfo)> {
        self.with(|n, _, _| n.groups().iter().map(|(g, i)| (*g, i.clone())).collect())
            .await
            .unwrap_or_default()
    }

    /// What the node read of a private message, if it could.
    pub async fn read_private(&self, id: MsgId) -> Option<PrivateRead> {
        self.with(move |n, _, _| n.read_private(&id).cloned())
            .await
            .flatten()
    }

    /// Says goodbye to every peer and stops.
    /// The driver's counters (failed accepts and the time spent backing off).
    pub fn metrics(&self) -> &RuntimeMetrics {
        &self.metrics
    }

    pub async fn stop(&self) {
        let _ = self.ask(Command::Stop).await;
    }
}

/// A node with memory stores, listening on 127.0.0.1 (an ephemeral port), with the default
/// runtime settings: for tests and tools.
pub async fn spawn_in_memory(keys: Keypair, config: super::NodeConfig) -> std::io::Result<NodeHandle> {
    let node = Node::new(
        keys.clone(),
        config,
        Box::new(crate::store::MemoryStore::new()),
        Box::new(crate::store::MemoryBlobs::new()),
    )
    .map_err(std::io::Error::other)?;
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    Ok(spawn(node, keys, listener, RuntimeConfig::default()))
}

/// Starts a node listening on `listener`; returns its handle. The node runs until stopped.
pub fn spawn(node: Node, keys: Keypair, listener: TcpListener, config: RuntimeConfig) -> NodeHandle {
    let addr = listener.local_addr().expect("a bound listener has an address");
    let (cmd_tx, cmd_rx) = mpsc::unbounded_channel();
    let (ev_tx, ev_rx) = mpsc::unbounded_channel();
    let id = node.id();
    let mut rng = ChaCha20Rng::from_seed(config.seed);
    let mut accept_seed = [0u8; 32];
    rand_chacha::rand_core::RngCore::fill_bytes(&mut rng, &mut accept_seed);
    let metrics = std::sync::Arc::new(RuntimeMetrics::default());
    let accept_task = tokio::spawn(accept_loop(
        listener,
        keys.clone(),
        config.network_key,
        accept_seed,
        ev_tx.clone(),
        metrics.clone(),
    ));
    tokio::spawn(async move {
        let mut actor = Actor {
            node,
            keys,
            config,
            rng,
            ev_tx,
            writers: Default::default(),
            next_conn: 1 << 32,
        };
        actor.run(cmd_rx, ev_rx).await;
        accept_task.abort();
    });
    NodeHandle {
        tx: cmd_tx,
        id,
        addr,
        metrics,
    }
}

async fn accept_loop(
    listener: TcpListener,
    keys: Keypair,
    net: [u8; 32],
    seed: [u8; 32],
    ev_tx: mpsc::UnboundedSender<Event>,
    metrics: std::sync::Arc<RuntimeMetrics>,
) {
    let mut rng = ChaCha20Rng::from_seed(seed);
    let mut n: u64 = 0;
    let mut backoff = AcceptBackoff::default();
    loop {
        let (tcp, from) = match listener.accept().await {
            Ok(accepted) => {
                backoff.succeeded();
                accepted
            }
            Err(e) => {
                let pause = backoff.failed(&e, &metrics, tokio::time::Instant::now().into_std());
                tokio::time::sleep(pause).await;
                continue;
            }
        };
        n += 1;
        let conn = ConnId(n);
        let mut conn_seed = [0u8; 32];
        rand_chacha::rand_core::RngCore::fill_bytes(&mut rng, &mut conn_seed);
        let keys = keys.clone();
        let ev_tx = ev_tx.clone();
        tokio::spawn(async move {
            let _ = tcp.set_nodelay(true);
            let mut rng = ChaCha20Rng::from_seed(conn_seed);
            let hs = driver::accept(tcp, net, keys, Box::new(|_| true), &mut rng);
            match tokio::time::timeout(HANDSHAKE_TIMEOUT, hs).await {
                Ok(Ok(bs)) => run_conn(conn, bs, false, ev_tx),
                Ok(Err(e)) => tracing::info!(%from, "incoming handshake failed: {e}"),
                Err(_) => tracing::info!(%from, "incoming handshake timed out"),
            }
        });
    }
}

/// Splits an authenticated stream into a reader and a writer task.
fn run_conn(
    conn: ConnId,
    bs: driver::BoxStream<TcpStream>,
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
    tokio::spawn(async move {
        while let Some(m) = wrx.recv().await {
            match m {
                WriterMsg::Data(bytes) => {
                    if let Err(e) = w.write_all(&bytes).await {
                        let _ = ev_w.send(Event::Gone(conn, format!("write failed: {e}")));
                        return;
                    }
                    if wrx.is_empty() {
                        let _ = w.flush().await;
                        let _ = ev_w.send(Event::Drained(conn));
                    }
                }
                WriterMsg::Close => {
                    let _ = tokio::time::timeout(Duration::from_secs(2), w.shutdown()).await;
                    return;
                }
            }
        }
    });
    tokio::spawn(async move {
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            match r.read(&mut buf).await {
                Ok(0) => {
                    let _ = ev_tx.send(Event::Gone(conn, "the peer closed the stream".into()));
                    return;
                }
                Ok(n) => {
                    if ev_tx.send(Event::Bytes(conn, buf[..n].to_vec())).is_err() {
                        return;
                    }
                }
                Err(e) => {
                    let _ = ev_tx.send(Event::Gone(conn, format!("read failed: {e}")));
                    return;
                }
            }
        }
    });
}

struct Actor {
    node: Node,
    keys: Keypair,
    config: RuntimeConfig,
    rng: ChaCha20Rng,
    ev_tx: mpsc::UnboundedSender<Event>,
    writers: std::collections::BTreeMap<ConnId, mpsc::UnboundedSender<WriterMsg>>,
    next_conn: u64,
}

impl Actor {
    async fn run(
        &mut self,
        mut cmd_rx: mpsc::UnboundedReceiver<Command>,
        mut ev_rx: mpsc::UnboundedReceiver<Event>,
    ) {
        let mut tick = tokio::time::interval(Duration::from_millis(self.config.tick_ms.max(1)));
        let mut last_sync = tokio::time::Instant::now();
        loop {
            tokio::select! {
                cmd = cmd_rx.recv() => {
                    let Some(cmd) = cmd else { break };
                    if let Command::Stop(done) = cmd {
                        self.stop().await;
                        let _ = done.send(());
                        break;
                    }
                    self.command(cmd);
                }
                ev = ev_rx.recv() => {
                    let Some(mut ev) = ev else { break };
                    // Bytes already queued for the same connection join this batch, so the node
                    // checks more messages at once (up to 1 MiB).
                    while let Event::Bytes(conn, bytes) = &mut ev {
                        match ev_rx.try_recv() {
                            Ok(Event::Bytes(c, more)) if c == *conn && bytes.len() < 1 << 20 => {
                                bytes.extend_from_slice(&more)
                            }
                            Ok(other) => {
                                self.event(ev);
                                ev = other;
                            }
                            Err(_) => break,
                        }
                    }
                    self.event(ev);
                }
                _ = tick.tick() => self.node.tick(now_ms()),
            }
            // Group commit: one fsync when the burst of input is over, or every 100 ms within it.
            if self.node.needs_sync()
                && (ev_rx.is_empty() || last_sync.elapsed() >= Duration::from_millis(100))
            {
                self.node.sync();
                last_sync = tokio::time::Instant::now();
            }
            self.dispatch();
        }
    }

    fn command(&mut self, cmd: Command) {
        let now = now_ms();
        match cmd {
            Command::Publish(content, at, tx) => {
                let r = self.node.publish(&content, at.unwrap_or(now));
                let _ = tx.send(r.map_err(|e| e.to_string()));
            }
            Command::Latest(f, tx) => {
                let _ = tx.send(self.node.store().latest(&f).map_or(0, |l| l.sequence));
            }
            Command::Get(f, s, tx) => {
                let _ = tx.send(self.node.get(&f, s).ok().flatten());
            }
            Command::Replicate(f) => self.node.replicate(f),
            Command::Connect(a) => {
                self.node.add_peer(a);
                self.node.tick(now);
            }
            Command::AddBlob(d, tx) => {
                let _ = tx.send(self.node.add_blob(&d).map_err(|e| e.to_string()));
            }
            Command::WantBlob(id) => self.node.want_blob(id, None),
            Command::HasBlob(id, tx) => {
                let _ = tx.send(self.node.blobs().has(&id));
            }
            Command::Events(tx) => {
                let _ = tx.send(self.node.take_events());
            }
            Command::Peers(tx) => {
                let _ = tx.send(self.node.connected_peers());
            }
            Command::Stats(tx) => {
                let _ = tx.send(self.node.stats.clone());
            }
            Command::With(f) => f(&mut self.node, &mut self.rng, now),
            Command::Stop(_) => {}
        }
    }

    fn event(&mut self, ev: Event) {
        let now = now_ms();
        match ev {
            Event::Connected {
                conn,
                peer,
                we_dialed,
                writer,
            } => {
                tracing::info!(%peer, we_dialed, "connected");
                self.writers.insert(conn, writer);
                self.node.connected(conn, peer, we_dialed, now);
            }
            Event::Bytes(conn, bytes) => self.node.received(conn, &bytes, now),
            Event::Drained(conn) => self.node.drained(conn),
            Event::Gone(conn, why) => {
                if self.writers.remove(&conn).is_some() {
                    tracing::info!(conn = conn.0, %why, "connection ended");
                    self.node.disconnected(conn);
                }
            }
        }
    }

    fn dispatch(&mut self) {
        for out in self.node.take_outputs() {
            match out {
                Output::Send { conn, bytes } => {
                    if let Some(w) = self.writers.get(&conn) {
                        let _ = w.send(WriterMsg::Data(bytes));
                    }
                }
                Output::Close { conn, reason } => {
                    tracing::info!(conn = conn.0, %reason, "cutting the connection off");
                    if let Some(w) = self.writers.remove(&conn) {
                        let _ = w.send(WriterMsg::Close);
                    }
                    self.node.disconnected(conn);
                }
                Output::Dial { addr } => self.dial(addr),
            }
        }
    }

    fn dial(&mut self, addr: PeerAddr) {
        self.next_conn += 1;
        let conn = ConnId(self.next_conn);
        let mut seed = [0u8; 32];
        rand_chacha::rand_core::RngCore::fill_bytes(&mut self.rng, &mut seed);
        let keys = self.keys.clone();
        let net = self.config.network_key;
        let ev_tx = self.ev_tx.clone();
        tokio::spawn(async move {
            let mut rng = ChaCha20Rng::from_seed(seed);
            let go = async {
                let tcp = TcpStream::connect((addr.host.as_str(), addr.port))
                    .await
                    .map_err(|e| e.to_string())?;
                let _ = tcp.set_nodelay(true);
                driver::connect(tcp, net, keys, addr.key, &mut rng)
                    .await
                    .map_err(|e| e.to_string())
            };
            match tokio::time::timeout(HANDSHAKE_TIMEOUT, go).await {
                Ok(Ok(bs)) => run_conn(conn, bs, true, ev_tx),
                Ok(Err(e)) => tracing::info!(%addr, "dial failed: {e}"),
                Err(_) => tracing::info!(%addr, "dial timed out"),
            }
        });
    }

    async fn stop(&mut self) {
        let conns: Vec<ConnId> = self.writers.keys().copied().collect();
        for c in conns {
            self.node.close(c, "node stopping".into());
        }
        self.dispatch();
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
