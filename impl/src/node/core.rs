//! The node's state and connection lifecycle: connect, bytes in, drained, disconnect, tick.
//! Sends of stored messages are queued per connection and pumped while the peer's write queue
//! is under the high-water mark, so a slow or hostile reader costs bounded memory.

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use serde_json::json;

use super::config::{NodeConfig, PeerAddr, Replication};
use crate::ebt::{self, Note, Notes, Session};
use crate::graph::FollowGraph;
use crate::identity::{FeedId, Keypair};
use crate::legacy::message::MsgId;
use crate::muxrpc::{Body, CallType, Endpoint, RpcEvent, StreamId};
use crate::store::blobs::{BlobId, Blobs};
use crate::store::{Store, StoreError, StoredMsg};

/// A connection, as the driver numbers it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ConnId(pub u64);

/// What the driver must do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Output {
    Send { conn: ConnId, bytes: Vec<u8> },
    Close { conn: ConnId, reason: String },
    Dial { addr: PeerAddr },
}

/// What happened, for logs, tests and the simulator's invariants.
#[derive(Debug, Clone, PartialEq)]
pub enum NodeEvent {
    Appended {
        feed: FeedId,
        sequence: u64,
        from: Option<FeedId>,
    },
    Rejected {
        from: FeedId,
        reason: String,
    },
    Fork {
        author: FeedId,
        sequence: u64,
        existing: MsgId,
        new: MsgId,
    },
    BlobStored {
        id: BlobId,
        from: FeedId,
    },
    Closed {
        peer: FeedId,
        reason: String,
    },
}

/// Counters.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NodeStats {
    pub appended: u64,
    pub rejected: u64,
    pub duplicates: u64,
    pub messages_sent: u64,
    pub bytes_sent: u64,
    pub bytes_received: u64,
    pub connections: u64,
}

/// Why a local operation failed.
#[derive(Debug, thiserror::Error)]
pub enum NodeError {
    #[error("store: {0}")]
    Store(#[from] StoreError),
    #[error("invalid: {0}")]
    Invalid(String),
    /// Publishing is held until the node's own feed is synced from peers (see `own_sync`).
    #[error("own feed not synced: {0}")]
    OwnFeedNotSynced(String),
}

/// Messages of one feed queued for a stream.
#[derive(Debug, Clone)]
pub(super) struct PendingSend {
    pub stream: StreamId,
    pub feed: FeedId,
    pub next: u64,
    /// Last sequence to send; `u64::MAX` = everything stored when the pump gets there.
    pub to: u64,
    pub kind: SendKind,
}

#[derive(Debug, Clone, Copy)]
pub(super) enum SendKind {
    Ebt,
    History {
        keys: bool,
        live: bool,
        left: Option<u64>,
    },
}

/// A live createHistoryStream we serve, waiting for new messages.
#[derive(Debug, Clone, Copy)]
pub(super) struct LiveSub {
    pub feed: FeedId,
    pub next: u64,
    pub keys: bool,
    pub left: Option<u64>,
}

/// A blob being fetched with `blobs.get`.
#[derive(Debug, Clone)]
pub(super) struct BlobGet {
    pub id: BlobId,
    pub data: Vec<u8>,
}

/// One connection.
#[derive(Debug)]
pub(super) struct Conn {
    pub peer: FeedId,
    pub we_dialed: bool,
    pub rpc: Endpoint,
    pub ebt: Option<(StreamId, Session)>,
    /// Our createHistoryStream calls: stream → feed.
    pub history_in: BTreeMap<StreamId, FeedId>,
    /// Whether we replicate over createHistoryStream on this connection.
    pub legacy: bool,
    pub pending: VecDeque<PendingSend>,
    pub live: BTreeMap<StreamId, LiveSub>,
    /// Bytes handed to the driver and not yet reported drained.
    pub in_flight: usize,
    /// Our `blobs.createWants` call to the peer, and the peer's call to us.
    pub wants_in: Option<StreamId>,
    pub wants_out: Option<StreamId>,
    pub their_wants: BTreeSet<BlobId>,
    pub blob_gets: BTreeMap<StreamId, BlobGet>,
    /// Our async calls and what they were for.
    pub calls: BTreeMap<StreamId, &'static str>,
    /// `blobs.add` sinks: stream → bytes so far.
    pub blob_adds: BTreeMap<StreamId, Vec<u8>>,
    /// Notes of feeds we do not replicate, answered so far.
    pub foreign_notes: u64,
    pub closing: bool,
}

/// The node.
pub struct Node {
    pub(super) keys: Keypair,
    pub(super) me: FeedId,
    pub config: NodeConfig,
    pub(super) store: Box<dyn Store>,
    pub(super) blobs: Box<dyn Blobs>,
    pub(super) graph: FollowGraph,
    pub(super) scope: BTreeSet<FeedId>,
    pub(super) conns: BTreeMap<ConnId, Conn>,
    /// Each peer's clock at the end of our last EBT session (request skipping).
    pub(super) clocks: super::clocks::PeerClocks,
    /// The connection asked to send each feed (the eager side of the tree); the others are told
    /// not to send it, and keep us informed with notes.
    pub(super) eager: BTreeMap<FeedId, ConnId>,
    /// Decoded author keys (`None`: a key libsodium refuses).
    pub(super) verifying_keys: BTreeMap<FeedId, Option<ed25519_dalek::VerifyingKey>>,
    /// Messages received and not yet checked (see `inbox`).
    pub(super) inbox: Vec<super::inbox::Incoming>,
    /// Blobs we want, and local `blobs.want` calls waiting for them.
    pub(super) wants: BTreeMap<BlobId, Vec<(ConnId, StreamId)>>,
    pub(super) last_dial: BTreeMap<PeerAddr, u64>,
    pub(super) out: Vec<Output>,
    pub(super) events: Vec<NodeEvent>,
    pub(super) dirty: bool,
    pub(super) now: u64,
    pub stats: NodeStats,
    /// Keys for private messages and what they opened (see `private`).
    pub(super) private: super::private::PrivateIndex,
    /// Whether publishing waits for the own feed to be synced from peers.
    pub(super) own_sync: super::own_sync::OwnFeedSync,
}

impl Node {
    /// A node over a store; reads the follow graph from the stored contact messages.
    pub fn new(
        keys: Keypair,
        config: NodeConfig,
        store: Box<dyn Store>,
        blobs: Box<dyn Blobs>,
    ) -> Result<Node, NodeError> {
        let me = keys.id();
        let private = super::private::PrivateIndex::new(&keys);
        let mut node = Node {
            keys,
            me,
            config,
            store,
            blobs,
            graph: FollowGraph::new(),
            scope: BTreeSet::new(),
            conns: BTreeMap::new(),
            clocks: Default::default(),
            eager: BTreeMap::new(),
            verifying_keys: BTreeMap::new(),
            inbox: Vec::new(),
            wants: BTreeMap::new(),
            last_dial: BTreeMap::new(),
            out: Vec::new(),
            events: Vec::new(),
            dirty: false,
            now: 0,
            stats: NodeStats::default(),
            private,
            own_sync: Default::default(),
        };
        for (feed, latest) in node.store.feeds() {
            let mut from = 1;
            while from <= latest {
                let batch = node.store.range(&feed, from, 512)?;
                if batch.is_empty() {
                    break;
                }
                for m in &batch {
                    node.graph_apply(m);
                    node.index_private(m);
                }
                from = batch.last().map_or(latest + 1, |m| m.sequence + 1);
            }
        }
        node.scope = node.compute_scope();
        Ok(node)
    }

    pub fn id(&self) -> FeedId {
        self.me
    }

    pub fn store(&self) -> &dyn Store {
        self.store.as_ref()
    }

    pub fn blobs(&self) -> &dyn Blobs {
        self.blobs.as_ref()
    }

    /// The store, for tools that write to it without validation (a simulator's Byzantine
    /// nodes). An honest node never does.
    pub fn store_mut(&mut self) -> &mut dyn Store {
        self.store.as_mut()
    }

    /// Takes the node apart (a crash): its store and blobs, to start a node again from them.
    pub fn into_parts(self) -> (Box<dyn Store>, Box<dyn Blobs>) {
        (self.store, self.blobs)
    }

    /// The feeds replicated now.
    pub fn scope(&self) -> &BTreeSet<FeedId> {
        &self.scope
    }

    pub fn graph(&self) -> &FollowGraph {
        &self.graph
    }

    pub fn connected_peers(&self) -> Vec<FeedId> {
        self.conns.values().map(|c| c.peer).collect()
    }

    /// Outputs accumulated so far.
    pub fn take_outputs(&mut self) -> Vec<Output> {
        self.flush();
        std::mem::take(&mut self.out)
    }

    pub fn take_events(&mut self) -> Vec<NodeEvent> {
        std::mem::take(&mut self.events)
    }

    pub(super) fn compute_scope(&self) -> BTreeSet<FeedId> {
        let mut s = self.graph.scope(self.me, self.config.hops);
        s.extend(self.config.replicate.iter().copied());
        s
    }

    /// Our EBT note for a feed (`None`: not replicated).
    pub(super) fn local_note(&self, feed: &FeedId) -> Option<Note> {
        self.scope.contains(feed).then(|| Note::Replicate {
            sequence: self.store.latest(feed).map_or(0, |l| l.sequence),
            receive: true,
        })
    }

    /// Our notes for a new session on `conn`: a feed is asked for only if no other connection
    /// sends it already.
    pub(super) fn opening_notes(&mut self, conn: ConnId) -> Notes {
        let mut notes = Notes::new();
        for f in &self.scope {
            let sequence = self.store.latest(f).map_or(0, |l| l.sequence);
            let receive = self.eager.get(f).is_none_or(|c| *c == conn);
            notes.insert(*f, Note::Replicate { sequence, receive });
        }
        notes
    }

    /// After a session opened on `conn` with `opening`: the feeds it was asked for are sent by
    /// `conn` from here on.
    pub(super) fn opened(&mut self, conn: ConnId, opening: &Notes) {
        for (f, n) in opening {
            if n.wants_messages() {
                self.eager.entry(*f).or_insert(conn);
            }
        }
    }

    /// A peer is connected (after the handshake). `we_dialed`: we are the client.
    pub fn connected(&mut self, conn: ConnId, peer: FeedId, we_dialed: bool, now: u64) {
        self.now = now;
        self.stats.connections += 1;
        if self.graph.blocks(&self.me, &peer) {
            self.out.push(Output::Close {
                conn,
                reason: "blocked peer".into(),
            });
            return;
        }
        let mut c = Conn {
            peer,
            we_dialed,
            rpc: Endpoint::new(self.config.limits),
            ebt: None,
            history_in: BTreeMap::new(),
            legacy: false,
            pending: VecDeque::new(),
            live: BTreeMap::new(),
            in_flight: 0,
            wants_in: None,
            wants_out: None,
            their_wants: BTreeSet::new(),
            blob_gets: BTreeMap::new(),
            calls: BTreeMap::new(),
            blob_adds: BTreeMap::new(),
            foreign_notes: 0,
            closing: false,
        };
        if peer != self.me {
            c.wants_in = Some(c.rpc.call(&["blobs", "createWants"], CallType::Source, json!([])));
        }
        self.conns.insert(conn, c);
        if peer == self.me {
            return; // our own client: no replication
        }
        match (we_dialed, self.config.replication) {
            (true, Replication::Ebt) => self.start_ebt_call(conn),
            (_, Replication::Legacy) => self.start_legacy(conn),
            (false, Replication::Ebt) => {}
        }
    }

    fn start_ebt_call(&mut self, conn: ConnId) {
        let local = self.opening_notes(conn);
        let Some(c) = self.conns.get_mut(&conn) else {
            return;
        };
        let id = c.rpc.call(
            &["ebt", "replicate"],
            CallType::Duplex,
            json!([{"version": 3, "format": "classic"}]),
        );
        let (session, opening) = Session::open(&local, self.clocks.get(&c.peer));
        c.rpc.send(id, Body::json(&ebt::notes_to_json(&opening)));
        c.ebt = Some((id, session));
        self.opened(conn, &opening);
    }

    /// Replicates every feed in scope over createHistoryStream on this connection.
    pub(super) fn start_legacy(&mut self, conn: ConnId) {
        let feeds: Vec<FeedId> = self.scope.iter().copied().collect();
        if let Some(c) = self.conns.get_mut(&conn) {
            c.legacy = true;
        }
        for f in feeds {
            self.request_history(conn, f);
        }
    }

    pub(super) fn request_history(&mut self, conn: ConnId, feed: FeedId) {
        let seq = self.store.latest(&feed).map_or(0, |l| l.sequence) + 1;
        let Some(c) = self.conns.get_mut(&conn) else {
            return;
        };
        if feed == c.peer && feed == self.me || c.history_in.values().any(|f| *f == feed) {
            return;
        }
        let id = c.rpc.call(
            &["createHistoryStream"],
            CallType::Source,
            json!([{"id": feed.to_string(), "seq": seq, "live": true, "keys": false}]),
        );
        c.history_in.insert(id, feed);
    }

    /// Bytes from a peer.
    pub fn received(&mut self, conn: ConnId, bytes: &[u8], now: u64) {
        self.now = now;
        self.stats.bytes_received += bytes.len() as u64;
        // Decoded 16 KiB at a time and answered in between, so calls a peer pipelines count
        // against its stream bound only while they are unanswered (as they would arriving in
        // smaller reads); messages still gather in the inbox across the slices.
        for slice in bytes.chunks(16 * 1024) {
            let mut events = Vec::new();
            let res = match self.conns.get_mut(&conn) {
                Some(c) if !c.closing => c.rpc.receive(slice, &mut events),
                _ => break,
            };
            for ev in events {
                self.on_event(conn, ev);
            }
            if let Err(e) = res {
                self.flush_inbox();
                self.close(conn, format!("muxrpc: {e}"));
                break;
            }
        }
        self.flush_inbox();
        self.after_batch();
    }

    /// Makes every appended message durable (one fsync for all since the last call).
    pub fn sync(&mut self) {
        if self.dirty {
            if let Err(e) = self.store.sync() {
                tracing::error!("store sync failed: {e}");
            }
            self.dirty = false;
        }
    }

    /// Whether messages were appended since the last sync.
    pub fn needs_sync(&self) -> bool {
        self.dirty
    }

    /// Durability and live fan-out after a batch of input.
    pub(super) fn after_batch(&mut self) {
        if self.config.sync_each_batch {
            self.sync();
        }
        // Only connections with something queued: pumping an idle one does nothing, and a pub
        // has hundreds of them for every packet it receives.
        let busy: Vec<ConnId> = self
            .conns
            .iter()
            .filter(|(_, c)| !c.pending.is_empty() || c.rpc.has_output())
            .map(|(id, _)| *id)
            .collect();
        for c in busy {
            self.pump(c);
        }
    }

    fn on_event(&mut self, conn: ConnId, ev: RpcEvent) {
        // Messages wait in the inbox to be checked as a batch; anything else is handled after
        // the messages received before it.
        let ev = match ev {
            RpcEvent::Data { id, body } => match self.buffer_message(conn, id, body) {
                None => return,
                Some(body) => RpcEvent::Data { id, body },
            },
            other => other,
        };
        self.flush_inbox();
        match ev {
            RpcEvent::Call {
                id,
                name,
                call_type,
                args,
            } => self.on_call(conn, id, name, call_type, args),
            RpcEvent::Response { id, result } => self.on_response(conn, id, result),
            RpcEvent::Data { id, body } => self.on_data(conn, id, body),
            RpcEvent::End { id, error } => self.on_end(conn, id, error),
            RpcEvent::Goodbye => self.close(conn, "goodbye".into()),
        }
    }

    fn on_response(&mut self, conn: ConnId, id: StreamId, result: Result<Body, crate::muxrpc::RpcError>) {
        let Some(c) = self.conns.get_mut(&conn) else {
            return;
        };
        let what = c.calls.remove(&id);
        tracing::debug!(?what, ok = result.is_ok(), "response");
    }

    fn on_end(&mut self, conn: ConnId, id: StreamId, error: Option<crate::muxrpc::RpcError>) {
        let Some(c) = self.conns.get_mut(&conn) else {
            return;
        };
        if c.ebt.as_ref().is_some_and(|(s, _)| *s == id) {
            let (_, session) = c.ebt.take().expect("checked above");
            let peer = c.peer;
            self.clocks.insert(peer, session.remote_clock());
            // The peer does not speak EBT: replicate the old way.
            if error.is_some() && !c.legacy && c.we_dialed {
                tracing::info!(%peer, ?error, "ebt.replicate refused; using createHistoryStream");
                self.start_legacy(conn);
            }
            return;
        }
        if c.history_in.remove(&id).is_some() {
            return;
        }
        if c.wants_in == Some(id) {
            c.wants_in = None;
        }
        if c.wants_out == Some(id) {
            c.wants_out = None;
        }
        c.live.remove(&id);
        c.pending.retain(|p| p.stream != id);
        if let Some(get) = c.blob_gets.remove(&id) {
            let peer = c.peer;
            if error.is_none() {
                self.blob_arrived(get, peer);
            }
            return;
        }
        if let Some(data) = c.blob_adds.remove(&id) {
            if let Err(e) = self.add_blob(&data) {
                tracing::warn!("blobs.add: {e}");
            }
        }
    }

    fn on_data(&mut self, conn: ConnId, id: StreamId, body: Body) {
        let Some(c) = self.conns.get_mut(&conn) else {
            return;
        };
        if c.ebt.as_ref().is_some_and(|(s, _)| *s == id) {
            self.on_ebt_data(conn, body);
        } else if let Some(feed) = c.history_in.get(&id).copied() {
            self.on_history_data(conn, feed, body);
        } else if c.wants_in == Some(id) {
            self.on_their_wants(conn, body);
        } else if let Some(get) = c.blob_gets.get_mut(&id) {
            if get.data.len() as u64 + body.bytes.len() as u64 > self.config.max_blob {
                c.blob_gets.remove(&id);
                c.rpc.end(
                    id,
                    Some(crate::muxrpc::RpcError::new("Error", "blob over the size limit")),
                );
            } else {
                get.data.extend_from_slice(&body.bytes);
            }
        } else if let Some(buf) = c.blob_adds.get_mut(&id) {
            if buf.len() as u64 + body.bytes.len() as u64 > self.config.max_blob {
                c.blob_adds.remove(&id);
                c.rpc.end(
                    id,
                    Some(crate::muxrpc::RpcError::new("Error", "blob over the size limit")),
                );
            } else {
                buf.extend_from_slice(&body.bytes);
            }
        }
        // Anything else (data on a source the peer called, on a stream gone) is ignored.
    }

    /// Puts a message of an EBT session or of one of our createHistoryStream calls in the inbox;
    /// gives back any other body.
    fn buffer_message(&mut self, conn: ConnId, id: StreamId, body: Body) -> Option<Body> {
        let c = self.conns.get(&conn)?;
        if let Some(feed) = c.history_in.get(&id).copied() {
            self.on_history_data(conn, feed, body);
            return None;
        }
        // A message has an "author" key; notes (feed ids to integers) never hold that string.
        let ebt = c.ebt.as_ref().is_some_and(|(s, _)| *s == id);
        if ebt && body.bytes.windows(8).any(|w| w == b"\"author\"") {
            self.on_ebt_message(conn, body);
            return None;
        }
        Some(body)
    }

    fn on_ebt_data(&mut self, conn: ConnId, body: Body) {
        let Some(json) = body.to_json() else {
            self.close(conn, "ebt: body is not JSON".into());
            return;
        };
        let notes = match ebt::clock::notes_from_json(&json) {
            Ok(n) => n,
            Err(e) => {
                self.close(conn, format!("ebt: bad notes: {e}"));
                return;
            }
        };
        self.on_notes(conn, notes);
    }

    fn on_notes(&mut self, conn: ConnId, notes: Notes) {
        let foreign = notes.keys().filter(|f| !self.scope.contains(f)).count() as u64;
        let locals: BTreeMap<FeedId, Note> = notes
            .keys()
            .filter_map(|f| Some((*f, self.local_note(f)?)))
            .collect();
        let Some(c) = self.conns.get_mut(&conn) else {
            return;
        };
        c.foreign_notes += foreign;
        if c.foreign_notes > 100_000 {
            self.close(
                conn,
                "ebt: notes for over 100000 feeds we do not replicate".into(),
            );
            return;
        }
        if c.ebt.is_none() {
            return;
        }
        // Who sends each of these feeds now, and how much that peer holds.
        let sources: BTreeMap<FeedId, (ConnId, u64)> = notes
            .keys()
            .filter_map(|f| {
                let e = *self.eager.get(f)?;
                let ec = self.conns.get(&e)?;
                // Until its note arrives it is trusted (a feed skipped at the opening carries
                // the remembered note, so a missing note is one still on its way).
                let held = match ec.ebt.as_ref()?.1.their_note(f) {
                    Some(n) => n.sequence().unwrap_or(0),
                    None => u64::MAX,
                };
                Some((*f, (e, held)))
            })
            .collect();
        let mut granted = Vec::new();
        let c = self.conns.get_mut(&conn).expect("looked up above");
        let Some((sid, session)) = c.ebt.as_mut() else {
            return;
        };
        let sid = *sid;
        let actions = session.on_notes(
            &notes,
            |f| locals.get(f).copied(),
            |f, theirs| {
                // Ask this peer unless another that holds as much is already sending.
                let ok = sources
                    .get(f)
                    .is_none_or(|(e, held)| *e == conn || *held < theirs);
                if ok {
                    granted.push(*f);
                }
                ok
            },
        );
        for f in granted {
            self.eager.insert(f, conn);
        }
        self.apply_ebt_actions(conn, sid, actions);
        // The sender of a feed says it has nothing we lack: ask a peer that does, if any.
        for f in notes.keys() {
            if self.eager.get(f) == Some(&conn) {
                self.review_source(*f);
            }
        }
    }

    /// Whether the feed's source still holds more than we do, as far as we know (its latest
    /// note; a source whose note is still on its way is trusted). If it does not, another
    /// connection that says it holds more is asked instead: the peer that was refused because
    /// this source claimed as much is never asked otherwise, since it has no news to announce.
    /// Called when the source's note arrives and after each message it delivers.
    pub(super) fn review_source(&mut self, feed: FeedId) {
        let Some(&eager) = self.eager.get(&feed) else {
            return;
        };
        let ours = self.store.latest(&feed).map_or(0, |l| l.sequence);
        let held = self.conns.get(&eager).and_then(|c| c.ebt.as_ref()).map(|(_, s)| {
            s.their_note(&feed)
                .map_or(u64::MAX, |n| n.sequence().unwrap_or(0))
        });
        if held.is_some_and(|h| h > ours) {
            return;
        }
        self.switch_source(feed, eager, ours);
    }

    /// Asks the first other connection known to hold more of `feed` than we do to send it,
    /// passing over those that sent an invalid message of it this session.
    pub(super) fn switch_source(&mut self, feed: FeedId, from: ConnId, ours: u64) {
        let next = self.conns.iter().find_map(|(id, c)| {
            let (_, s) = c.ebt.as_ref()?;
            let held = s.their_note(&feed)?.sequence()?;
            (*id != from && held > ours && !s.sent_invalid(&feed)).then_some(*id)
        });
        let Some(next) = next else { return };
        self.eager.insert(feed, next);
        let c = self.conns.get_mut(&next).expect("found above");
        let (sid, s) = c.ebt.as_mut().expect("found above");
        let sid = *sid;
        let actions = s.on_want(
            feed,
            Note::Replicate {
                sequence: ours,
                receive: true,
            },
        );
        self.apply_ebt_actions(next, sid, actions);
    }

    pub(super) fn apply_ebt_actions(&mut self, conn: ConnId, sid: StreamId, actions: Vec<ebt::Action>) {
        if let Some(c) = self.conns.get_mut(&conn) {
            apply_to_conn(c, sid, actions);
        }
    }

    /// The driver wrote everything it was given for this connection.
    pub fn drained(&mut self, conn: ConnId) {
        if let Some(c) = self.conns.get_mut(&conn) {
            c.in_flight = 0;
        }
        self.pump(conn);
    }

    /// Sends queued messages while the connection is under its high-water mark.
    pub(super) fn pump(&mut self, conn: ConnId) {
        loop {
            let Some(c) = self.conns.get_mut(&conn) else {
                return;
            };
            if c.in_flight + c.rpc.queued() >= self.config.high_water {
                break;
            }
            let Some(p) = c.pending.front().cloned() else {
                break;
            };
            if !c.rpc.is_open(p.stream) {
                c.pending.pop_front();
                continue;
            }
            if let SendKind::Ebt = p.kind {
                // The peer may have asked us to stop sending this feed since the range was
                // queued (another peer sends it), or told us it holds more of it.
                let Some((_, session)) = c.ebt.as_ref() else {
                    c.pending.pop_front();
                    continue;
                };
                if !session.peer_receives(&p.feed) {
                    c.pending.pop_front();
                    continue;
                }
                let held = session
                    .their_note(&p.feed)
                    .and_then(|n| n.sequence())
                    .unwrap_or(0);
                if held >= p.next {
                    let front = c.pending.front_mut().expect("peeked above");
                    front.next = held + 1;
                    if front.next > front.to {
                        c.pending.pop_front();
                    }
                    continue;
                }
            }
            let want = match p.kind {
                SendKind::History { left: Some(l), .. } => l.min(64) as usize,
                _ => 64,
            };
            let batch = match self.store.range(&p.feed, p.next, want) {
                Ok(b) => b,
                Err(e) => {
                    // Nothing of the range is sent: a history stream ends with the error, an
                    // EBT range is dropped (the peer asks again or gets the feed elsewhere).
                    tracing::warn!(feed = %p.feed, from = p.next, "store read failed, range not sent: {e}");
                    let c = self.conns.get_mut(&conn).expect("looked up above");
                    c.pending.pop_front();
                    if let SendKind::History { .. } = p.kind {
                        c.rpc.end(
                            p.stream,
                            Some(crate::muxrpc::RpcError::new(
                                "Error",
                                format!("store read failed: {e}"),
                            )),
                        );
                    }
                    continue;
                }
            };
            let c = self.conns.get_mut(&conn).expect("looked up above");
            let mut next = p.next;
            let mut left = match p.kind {
                SendKind::History { left, .. } => left,
                SendKind::Ebt => None,
            };
            for m in batch.iter().take_while(|m| m.sequence <= p.to) {
                if left == Some(0) {
                    break;
                }
                let bytes = match p.kind {
                    SendKind::Ebt => m.value.clone().into_bytes(),
                    SendKind::History { keys, .. } => crate::history::format_message(m, keys),
                };
                self.stats.messages_sent += 1;
                c.rpc.send(p.stream, Body::json_text(bytes));
                next = m.sequence + 1;
                left = left.map(|l| l - 1);
            }
            let exhausted = next > p.to || batch.len() < want || left == Some(0) || next == p.next;
            let front = c.pending.front_mut().expect("peeked above");
            front.next = next;
            if let SendKind::History { left: l, .. } = &mut front.kind {
                *l = left;
            }
            if !exhausted {
                continue;
            }
            c.pending.pop_front();
            if let SendKind::History { keys, live, .. } = p.kind {
                if live && left != Some(0) {
                    c.live.insert(
                        p.stream,
                        LiveSub {
                            feed: p.feed,
                            next,
                            keys,
                            left,
                        },
                    );
                } else {
                    c.rpc.end(p.stream, None);
                }
            }
        }
        self.flush_conn(conn);
    }

    fn flush_conn(&mut self, conn: ConnId) {
        let Some(c) = self.conns.get_mut(&conn) else {
            return;
        };
        if !c.rpc.has_output() {
            return;
        }
        let bytes = c.rpc.take_output();
        c.in_flight += bytes.len();
        self.stats.bytes_sent += bytes.len() as u64;
        let over = c.in_flight > self.config.max_queued;
        self.out.push(Output::Send { conn, bytes });
        if over {
            self.close(conn, "the peer does not read: write queue over its limit".into());
        }
    }

    pub(super) fn flush(&mut self) {
        let conns: Vec<ConnId> = self
            .conns
            .iter()
            .filter(|(_, c)| c.rpc.has_output())
            .map(|(id, _)| *id)
            .collect();
        for c in conns {
            self.flush_conn(c);
        }
    }

    /// Cuts a connection off with a reason (logged, and reported as an event).
    pub fn close(&mut self, conn: ConnId, reason: String) {
        let Some(c) = self.conns.get_mut(&conn) else {
            return;
        };
        if c.closing {
            return;
        }
        c.closing = true;
        c.rpc.goodbye();
        let peer = c.peer;
        self.flush_conn(conn);
        tracing::info!(%peer, %reason, "closing connection");
        self.events.push(NodeEvent::Closed {
            peer,
            reason: reason.clone(),
        });
        self.out.push(Output::Close { conn, reason });
    }

    /// The transport is gone.
    pub fn disconnected(&mut self, conn: ConnId) {
        self.repair_tree(conn);
        if let Some(mut c) = self.conns.remove(&conn) {
            if let Some((_, s)) = c.ebt.take() {
                self.clocks.insert(c.peer, s.remote_clock());
            }
            if !c.closing {
                self.events.push(NodeEvent::Closed {
                    peer: c.peer,
                    reason: "transport closed".into(),
                });
            }
        }
        for waiting in self.wants.values_mut() {
            waiting.retain(|(c, _)| *c != conn);
        }
    }

    /// Feeds `conn` was sending: ask another peer that holds more than we do, if any.
    fn repair_tree(&mut self, gone: ConnId) {
        let orphans: Vec<FeedId> = self
            .eager
            .iter()
            .filter(|(_, c)| **c == gone)
            .map(|(f, _)| *f)
            .collect();
        for f in orphans {
            self.eager.remove(&f);
            let ours = self.store.latest(&f).map_or(0, |l| l.sequence);
            self.switch_source(f, gone, ours);
        }
    }

    /// The scheduler: dials every configured peer that is not connected, at most once per
    /// `redial_ms`.
    pub fn tick(&mut self, now: u64) {
        self.now = now;
        let connected: BTreeSet<FeedId> = self.conns.values().map(|c| c.peer).collect();
        for p in self.config.peers.clone() {
            if connected.contains(&p.key) {
                continue;
            }
            let due = self
                .last_dial
                .get(&p)
                .is_none_or(|t| now.saturating_sub(*t) >= self.config.redial_ms);
            if due {
                self.last_dial.insert(p.clone(), now);
                self.out.push(Output::Dial { addr: p });
            }
        }
        self.flush();
    }

    /// Adds a peer for the scheduler to keep dialing.
    pub fn add_peer(&mut self, addr: PeerAddr) {
        if !self.config.peers.contains(&addr) {
            self.config.peers.push(addr);
        }
    }

    /// Starts replicating a feed whatever the follow graph says.
    pub fn replicate(&mut self, feed: FeedId) {
        self.config.replicate.insert(feed);
        self.rescope();
    }

    /// Recomputes the scope; tells every session about feeds that entered it.
    pub(super) fn rescope(&mut self) {
        let new = self.compute_scope();
        let added: Vec<FeedId> = new.difference(&self.scope).copied().collect();
        self.scope = new;
        if added.is_empty() {
            return;
        }
        let conns: Vec<ConnId> = self.conns.keys().copied().collect();
        for conn in conns {
            for feed in &added {
                let sequence = self.store.latest(feed).map_or(0, |l| l.sequence);
                let receive = self.eager.get(feed).is_none_or(|c| *c == conn);
                let c = self.conns.get_mut(&conn).expect("listed above");
                if let Some((sid, s)) = c.ebt.as_mut() {
                    let sid = *sid;
                    let actions = s.on_want(*feed, Note::Replicate { sequence, receive });
                    if receive {
                        self.eager.insert(*feed, conn);
                    }
                    self.apply_ebt_actions(conn, sid, actions);
                } else if c.legacy {
                    self.request_history(conn, *feed);
                }
            }
        }
    }

    /// What the node knows of one feed's replication, in words (for debugging a simulation).
    pub fn explain_feed(&self, feed: &FeedId) -> String {
        let mut out = format!(
            "have {} eager {:?};",
            self.store.latest(feed).map_or(0, |l| l.sequence),
            self.eager.get(feed)
        );
        for (id, c) in &self.conns {
            let session = c
                .ebt
                .as_ref()
                .map(|(_, s)| (s.their_note(feed), s.told_note(feed)));
            out.push_str(&format!(
                " conn {} peer {} ebt {:?} pending {};",
                id.0,
                c.peer,
                session,
                c.pending.len()
            ));
        }
        out
    }

    /// Stored message, for tests and tools.
    pub fn get(&self, feed: &FeedId, seq: u64) -> Result<Option<StoredMsg>, StoreError> {
        self.store.get(feed, seq)
    }
}

/// Carries out an EBT session's actions on its connection: notes go out at once, ranges of
/// messages join the connection's send queue.
pub(super) fn apply_to_conn(c: &mut Conn, sid: StreamId, actions: Vec<ebt::Action>) {
    for a in actions {
        match a {
            ebt::Action::SendNotes(n) => {
                c.rpc.send(sid, Body::json(&ebt::notes_to_json(&n)));
            }
            ebt::Action::SendRange { feed, from, to } => c.pending.push_back(PendingSend {
                stream: sid,
                feed,
                next: from,
                to,
                kind: SendKind::Ebt,
            }),
        }
    }
}
