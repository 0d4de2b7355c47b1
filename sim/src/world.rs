//! The simulated world: reference nodes (`ssb_impl::node::Node`, the same sans-IO core the TCP
//! runtime drives), links between them, and one event queue ordered by (time, insertion), so
//! a seed replays a run exactly and idle time costs nothing. A link runs the real secret
//! handshake (`shs::run_pair`, ephemeral keys from the scenario's seed) and real box-stream in
//! each direction; bytes arrive after the link's latency, in order, as over TCP (a lost segment
//! arrives after a retransmission timeout).

use std::cmp::Reverse;
use std::collections::{BTreeMap, BTreeSet, BinaryHeap};

use rand_chacha::ChaCha20Rng;
use rand_core::{RngCore, SeedableRng};
use ssb_impl::boxstream::{Decrypter, Encrypter, Event as BoxEvent};
use ssb_impl::node::{ConnId, Node, NodeEvent, Output};
use ssb_impl::shs::{self, Client, Server};
use ssb_impl::{FeedId, Keypair};

/// What a node is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Honest,
    /// Publishes messages for others' feeds with its own (wrong) key.
    Forger,
    /// One half of a forking identity: two nodes share the key and publish different feeds.
    Forker,
    /// Sends a header announcing a huge body on every connection.
    Flooder,
    /// A reference node that reads slowly: bytes towards it arrive at `World::slow_kib_per_s`,
    /// so its peers' writes back up.
    Slow,
}

/// One simulated host.
pub struct Host {
    pub keys: Keypair,
    pub role: Role,
    pub node: Option<Node>,
    /// Kept while the host is down.
    pub parked: Option<(Box<dyn ssb_impl::store::Store>, Box<dyn ssb_impl::store::Blobs>)>,
    pub conns: BTreeMap<ConnId, u64>,
    next_conn: u64,
}

struct Link {
    ends: [(usize, ConnId); 2],
    /// `enc[i]` encrypts what end `i` sends; `dec[i]` decrypts what arrives at end `i`.
    enc: [Encrypter; 2],
    dec: [Decrypter; 2],
    latency_us: u64,
    /// Microseconds end `i` takes to read a KiB (0: as fast as they come).
    read_us_per_kib: [u64; 2],
    /// When the last bytes towards end `i` arrive.
    last_arrival: [u64; 2],
    /// Bytes sent by end `i` and not yet arrived.
    in_flight: [usize; 2],
    up: bool,
}

/// Something that happens at a time.
#[derive(Debug, Clone)]
pub enum Ev {
    Deliver { link: u64, to: usize, bytes: Vec<u8> },
    Drained { link: u64, end: usize },
    Connected { link: u64 },
    LinkDown { link: u64, end: usize },
    Tick { host: usize },
    Publish { host: usize },
    Down { host: usize },
    Up { host: usize },
    Partition { side: Vec<usize> },
    Heal,
    Group(crate::groups::GroupOp),
}

#[derive(Debug, Clone)]
struct Scheduled {
    at: u64,
    seq: u64,
    ev: Ev,
}

impl PartialEq for Scheduled {
    fn eq(&self, o: &Self) -> bool {
        (self.at, self.seq) == (o.at, o.seq)
    }
}
impl Eq for Scheduled {}
impl PartialOrd for Scheduled {
    fn partial_cmp(&self, o: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(o))
    }
}
impl Ord for Scheduled {
    fn cmp(&self, o: &Self) -> std::cmp::Ordering {
        (self.at, self.seq).cmp(&(o.at, o.seq))
    }
}

/// What the world reports to its observer, in time order.
#[derive(Debug, Clone)]
pub enum Observed {
    Node { host: usize, event: NodeEvent },
    Sent { host: usize, bytes: usize },
    LinkUp { a: usize, b: usize },
    DialFailed { from: usize, to: usize },
    Queued { bytes: usize },
}

/// The network and its hosts.
pub struct World {
    pub now_us: u64,
    queue: BinaryHeap<Reverse<Scheduled>>,
    seq: u64,
    pub rng: ChaCha20Rng,
    pub hosts: Vec<Host>,
    links: BTreeMap<u64, Link>,
    next_link: u64,
    latency: (u64, u64),
    loss: f64,
    retransmit_us: u64,
    net_key: [u8; 32],
    /// The hosts cut off from the rest, while a partition lasts.
    partition: Option<BTreeSet<usize>>,
    pub observed: Vec<Observed>,
    dirty: Vec<usize>,
    /// Events handled so far.
    pub steps: u64,
    /// How fast slow hosts read.
    pub slow_kib_per_s: u64,
    /// Bytes per second each direction of a link carries (0: no cap): bytes sent are on the
    /// wire for size / cap after the previous bytes sent that way.
    pub cap_bytes_per_s: u64,
}

impl World {
    pub fn new(seed: u64, latency_ms: (u64, u64), loss: f64, retransmit_ms: u64) -> World {
        let mut s = [0u8; 32];
        s[..8].copy_from_slice(&seed.to_le_bytes());
        s[8..16].copy_from_slice(b"ssb-sim!");
        World {
            now_us: 0,
            queue: BinaryHeap::new(),
            seq: 0,
            rng: ChaCha20Rng::from_seed(s),
            hosts: Vec::new(),
            links: BTreeMap::new(),
            next_link: 1,
            latency: (latency_ms.0 * 1000, latency_ms.1 * 1000),
            loss,
            retransmit_us: retransmit_ms * 1000,
            net_key: shs::MAIN_NETWORK_KEY,
            partition: None,
            observed: Vec::new(),
            dirty: Vec::new(),
            steps: 0,
            slow_kib_per_s: 16,
            cap_bytes_per_s: 0,
        }
    }

    pub fn now_ms(&self) -> u64 {
        self.now_us / 1000
    }

    pub fn add_host(&mut self, keys: Keypair, role: Role, node: Node) -> usize {
        self.hosts.push(Host {
            keys,
            role,
            node: Some(node),
            parked: None,
            conns: BTreeMap::new(),
            next_conn: 1,
        });
        self.hosts.len() - 1
    }

    pub fn schedule(&mut self, at_us: u64, ev: Ev) {
        self.seq += 1;
        self.queue.push(Reverse(Scheduled {
            at: at_us.max(self.now_us),
            seq: self.seq,
            ev,
        }));
    }

    pub fn next_time(&self) -> Option<u64> {
        self.queue.peek().map(|r| r.0.at)
    }

    /// The next event before `until_us`, with the clock moved to its time.
    pub fn pop(&mut self, until_us: u64) -> Option<Ev> {
        let Reverse(s) = self.queue.peek()?;
        if s.at > until_us {
            return None;
        }
        let Reverse(s) = self.queue.pop().expect("peeked");
        self.now_us = s.at;
        self.steps += 1;
        Some(s.ev)
    }

    pub fn alive(&self, h: usize) -> bool {
        self.hosts[h].node.is_some()
    }

    fn cut(&self, a: usize, b: usize) -> bool {
        self.partition
            .as_ref()
            .is_some_and(|side| side.contains(&a) != side.contains(&b))
    }

    fn link_latency(&mut self) -> u64 {
        let (lo, hi) = self.latency;
        lo + self.rng.next_u64() % (hi - lo + 1)
    }

    /// Handles a network event (the run loop handles publishing and hosts going down or up).
    pub fn handle(&mut self, ev: Ev) {
        match ev {
            Ev::Deliver { link, to, bytes } => self.deliver(link, to, bytes),
            Ev::Drained { link, end } => {
                let Some(l) = self.links.get_mut(&link) else {
                    return;
                };
                l.in_flight[end] = 0;
                let (h, c) = l.ends[end];
                if l.up {
                    if let Some(n) = self.hosts[h].node.as_mut() {
                        n.drained(c);
                        self.dirty.push(h);
                    }
                }
            }
            Ev::Connected { link } => {
                let now = self.now_ms();
                let Some(l) = self.links.get(&link) else { return };
                if !l.up {
                    return;
                }
                let ends = l.ends;
                let (a, b) = (ends[0].0, ends[1].0);
                self.observed.push(Observed::LinkUp { a, b });
                for (i, (h, c)) in ends.iter().enumerate() {
                    let peer = self.hosts[ends[1 - i].0].keys.id();
                    if self.hosts[*h].role == Role::Flooder {
                        // A header announcing a 2 GiB body, inside the box-stream.
                        self.send(link, i, &[0x02, 0x7f, 0xff, 0xff, 0xff, 0, 0, 0, 1]);
                        continue;
                    }
                    if let Some(n) = self.hosts[*h].node.as_mut() {
                        n.connected(*c, peer, i == 0, now);
                        self.dirty.push(*h);
                    }
                }
            }
            Ev::LinkDown { link, end } => {
                let Some(l) = self.links.get(&link) else { return };
                let (h, c) = l.ends[end];
                self.hosts[h].conns.remove(&c);
                if let Some(n) = self.hosts[h].node.as_mut() {
                    n.disconnected(c);
                    self.dirty.push(h);
                }
                let l = self.links.get_mut(&link).expect("looked up");
                l.ends[end].1 = ConnId(0);
                if l.ends.iter().all(|(_, c)| c.0 == 0) {
                    self.links.remove(&link);
                }
            }
            Ev::Tick { host } => {
                let now = self.now_ms();
                if let Some(n) = self.hosts[host].node.as_mut() {
                    n.tick(now);
                    // Received messages are made durable once a tick (a group fsync).
                    n.sync();
                    self.dirty.push(host);
                }
            }
            Ev::Publish { .. } | Ev::Down { .. } | Ev::Up { .. } | Ev::Group(_) => {
                unreachable!("handled by the run loop before they reach the world")
            }
            Ev::Partition { side } => {
                let side: BTreeSet<usize> = side.into_iter().collect();
                self.partition = Some(side);
                let crossing: Vec<u64> = self
                    .links
                    .iter()
                    .filter(|(_, l)| l.up && self.cut(l.ends[0].0, l.ends[1].0))
                    .map(|(id, _)| *id)
                    .collect();
                for id in crossing {
                    self.drop_link(id);
                }
            }
            Ev::Heal => self.partition = None,
        }
    }

    /// Takes a link down: both ends learn it after the latency (a reset travels too).
    pub fn drop_link(&mut self, id: u64) {
        let Some(l) = self.links.get_mut(&id) else { return };
        if !l.up {
            return;
        }
        l.up = false;
        let lat = l.latency_us;
        for end in 0..2 {
            self.schedule(self.now_us + lat, Ev::LinkDown { link: id, end });
        }
    }

    /// Every link of a host goes down at once (the host crashed or left).
    pub fn drop_host_links(&mut self, h: usize) {
        let ids: Vec<u64> = self.hosts[h].conns.values().copied().collect();
        for id in ids {
            self.drop_link(id);
        }
    }

    fn deliver(&mut self, link: u64, to: usize, bytes: Vec<u8>) {
        let now = self.now_ms();
        let Some(l) = self.links.get_mut(&link) else {
            return;
        };
        if !l.up {
            return;
        }
        let mut evs = Vec::new();
        let res = l.dec[to].feed(&bytes, &mut evs);
        let (h, c) = l.ends[to];
        let mut plain = Vec::new();
        let mut goodbye = false;
        for e in evs {
            match e {
                BoxEvent::Body(b) => plain.extend_from_slice(&b),
                BoxEvent::Goodbye => goodbye = true,
            }
        }
        if let Some(n) = self.hosts[h].node.as_mut() {
            if !plain.is_empty() {
                n.received(c, &plain, now);
            }
            self.dirty.push(h);
        }
        if goodbye || res.is_err() {
            self.drop_link(link);
        }
    }

    /// End `from` of `link` sends `plain` (box-stream encrypts it).
    fn send(&mut self, link: u64, from: usize, plain: &[u8]) {
        let now = self.now_us;
        let lost = self.loss > 0.0 && (self.rng.next_u64() as f64 / u64::MAX as f64) < self.loss;
        let retransmit = if lost { self.retransmit_us } else { 0 };
        let Some(l) = self.links.get_mut(&link) else {
            return;
        };
        if !l.up {
            return;
        }
        let mut out = Vec::with_capacity(plain.len() + 64);
        l.enc[from].encrypt(plain, &mut out);
        let to = 1 - from;
        let reading = l.read_us_per_kib[to] * out.len() as u64 / 1024;
        let wire = (out.len() as u64 * 1_000_000)
            .checked_div(self.cap_bytes_per_s)
            .unwrap_or(0);
        let at = (now + l.latency_us + retransmit + wire).max(l.last_arrival[to] + reading.max(wire));
        l.last_arrival[to] = at;
        l.in_flight[from] += out.len();
        let queued = l.in_flight[from];
        let host = l.ends[from].0;
        self.observed.push(Observed::Sent {
            host,
            bytes: out.len(),
        });
        self.observed.push(Observed::Queued { bytes: queued });
        self.schedule(at, Ev::Deliver { link, to, bytes: out });
        self.schedule(at, Ev::Drained { link, end: from });
    }

    /// Host `from` dials host `to`: the real handshake, then both ends hear of the connection
    /// after four one-way trips.
    pub fn dial(&mut self, from: usize, to: usize) {
        let linked = self.hosts[from]
            .conns
            .values()
            .filter_map(|id| self.links.get(id))
            .any(|l| l.up && (l.ends[0].0 == to || l.ends[1].0 == to));
        if from == to || !self.alive(to) || self.cut(from, to) || linked {
            self.observed.push(Observed::DialFailed { from, to });
            return;
        }
        let mut eph = [0u8; 64];
        self.rng.fill_bytes(&mut eph);
        let mut rng = ChaCha20Rng::from_seed(eph[..32].try_into().expect("32 bytes"));
        let server_id = self.hosts[to].keys.id();
        let Ok(mut client) = Client::new(self.net_key, self.hosts[from].keys.clone(), server_id, &mut rng)
        else {
            return;
        };
        let mut server = Server::new(
            self.net_key,
            self.hosts[to].keys.clone(),
            Server::accept_all(),
            &mut rng,
        );
        let Ok((co, so)) = shs::run_pair(&mut client, &mut server) else {
            self.observed.push(Observed::DialFailed { from, to });
            return;
        };
        let id = self.next_link;
        self.next_link += 1;
        let mut conn_of = |h: usize| {
            let host = &mut self.hosts[h];
            let c = ConnId(host.next_conn);
            host.next_conn += 1;
            host.conns.insert(c, id);
            c
        };
        let (ca, cb) = (conn_of(from), conn_of(to));
        let latency_us = self.link_latency();
        self.links.insert(
            id,
            Link {
                ends: [(from, ca), (to, cb)],
                enc: [
                    Encrypter::new(co.encrypt_key, co.encrypt_nonce),
                    Encrypter::new(so.encrypt_key, so.encrypt_nonce),
                ],
                dec: [
                    Decrypter::new(co.decrypt_key, co.decrypt_nonce),
                    Decrypter::new(so.decrypt_key, so.decrypt_nonce),
                ],
                latency_us,
                read_us_per_kib: [from, to].map(|h| {
                    if self.hosts[h].role == Role::Slow {
                        1_000_000 / self.slow_kib_per_s.max(1)
                    } else {
                        0
                    }
                }),
                last_arrival: [0; 2],
                in_flight: [0; 2],
                up: true,
            },
        );
        self.schedule(self.now_us + 4 * latency_us, Ev::Connected { link: id });
    }

    /// Runs every host touched since the last call until none has output left.
    pub fn settle(&mut self) {
        while let Some(h) = self.dirty.pop() {
            let Some(n) = self.hosts[h].node.as_mut() else {
                continue;
            };
            let outs = n.take_outputs();
            let events = n.take_events();
            for e in events {
                self.observed.push(Observed::Node { host: h, event: e });
            }
            for out in outs {
                match out {
                    Output::Send { conn, bytes } => {
                        let Some(&link) = self.hosts[h].conns.get(&conn) else {
                            continue;
                        };
                        let end = usize::from(self.links.get(&link).is_some_and(|l| l.ends[1] == (h, conn)));
                        self.send(link, end, &bytes);
                    }
                    Output::Close { conn, .. } => {
                        if let Some(&link) = self.hosts[h].conns.get(&conn) {
                            self.drop_link(link);
                        }
                    }
                    Output::Dial { addr } => {
                        if let Some(to) = addr.host.strip_prefix('n').and_then(|i| i.parse().ok()) {
                            self.dial(h, to);
                        }
                    }
                }
            }
        }
    }

    /// Marks a host as needing its outputs handled.
    pub fn touch(&mut self, h: usize) {
        self.dirty.push(h);
    }

    /// The id of host `h`.
    pub fn id(&self, h: usize) -> FeedId {
        self.hosts[h].keys.id()
    }

    pub fn links_up(&self) -> usize {
        self.links.values().filter(|l| l.up).count()
    }
}
