//! What a node is told at start: replication scope and method, limits, peers to dial.

use std::collections::BTreeSet;

use crate::identity::FeedId;
use crate::muxrpc::Limits;

/// How the node replicates on the connections it makes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Replication {
    /// `ebt.replicate` (falling back to createHistoryStream if the peer refuses it).
    Ebt,
    /// One `createHistoryStream` per feed, live.
    Legacy,
}

impl std::str::FromStr for Replication {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "ebt" => Ok(Replication::Ebt),
            "legacy" => Ok(Replication::Legacy),
            _ => Err(format!("unknown replication method {s:?} (ebt or legacy)")),
        }
    }
}

/// A peer to dial: `HOST:PORT:@ID`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct PeerAddr {
    pub host: String,
    pub port: u16,
    pub key: FeedId,
}

impl std::str::FromStr for PeerAddr {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let bad = || format!("{s:?} is not HOST:PORT:@ID");
        let (rest, key) = s.rsplit_once(":@").ok_or_else(bad)?;
        let (host, port) = rest.rsplit_once(':').ok_or_else(bad)?;
        Ok(PeerAddr {
            host: host.to_string(),
            port: port.parse().map_err(|_| bad())?,
            key: FeedId::parse(&format!("@{key}")).map_err(|e| format!("{s:?}: {e}"))?,
        })
    }
}

impl std::fmt::Display for PeerAddr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}:{}", self.host, self.port, self.key)
    }
}

/// A node's settings.
#[derive(Debug, Clone)]
pub struct NodeConfig {
    /// Follow hops within which feeds are replicated (0: only our own).
    pub hops: u32,
    /// Feeds replicated whatever the follow graph says.
    pub replicate: BTreeSet<FeedId>,
    pub replication: Replication,
    pub limits: Limits,
    /// The HMAC key of a test network's signatures (`caps.sign`), if any.
    pub hmac_key: Option<[u8; 32]>,
    /// Peers the scheduler keeps dialing.
    pub peers: Vec<PeerAddr>,
    /// Milliseconds between attempts to dial a peer that is not connected.
    pub redial_ms: u64,
    /// Bytes queued towards a peer before the node waits for them to drain.
    pub high_water: usize,
    /// Bytes queued towards a peer that does not read before it is cut off.
    pub max_queued: usize,
    /// Largest blob fetched or served.
    pub max_blob: u64,
    /// Threads that check the signatures of a batch of received messages (1: the caller's
    /// thread only, as a simulation wants it). Verdicts do not depend on it.
    pub verify_threads: usize,
    /// Signature verdicts shared with other nodes of this process (simulations only).
    pub signature_memo: Option<std::sync::Arc<super::memo::SignatureMemo>>,
    /// Make appended messages durable at the end of every batch of input. Off, the driver calls
    /// [`super::Node::sync`] when it sees fit (the tokio runtime: whenever its queue of events
    /// runs dry, and at least every 100 ms), which groups many batches into one fsync. Published
    /// messages are durable before `publish` returns either way.
    pub sync_each_batch: bool,
    /// How many key slots of a box2 message the node tries with each non-group key (the JS
    /// stack tries 8; envelopes hold up to 16).
    pub box2_attempts: usize,
    /// Test-only sabotage: refuse a fork's messages as usual but never report the fork
    /// (`NodeEvent::Fork`). The simulator sets it to show that its fork-detection invariant and
    /// its sweeps catch a node that misses forks; nothing else should.
    pub skip_fork_detection: bool,
}

impl Default for NodeConfig {
    fn default() -> Self {
        NodeConfig {
            hops: 2,
            replicate: BTreeSet::new(),
            replication: Replication::Ebt,
            // The node parses every JSON body itself (messages with the legacy parser, notes and
            // call arguments as JSON), so the codec's own check would be a second parse.
            limits: Limits {
                check_json: false,
                ..Limits::default()
            },
            hmac_key: None,
            peers: Vec::new(),
            redial_ms: 1000,
            high_water: 256 * 1024,
            max_queued: 64 * 1024 * 1024,
            max_blob: crate::store::blobs::MAX_BLOB_SIZE as u64,
            sync_each_batch: false,
            verify_threads: 1,
            box2_attempts: crate::private::box2::DEFAULT_MAX_ATTEMPTS,
            signature_memo: None,
            skip_fork_detection: false,
        }
    }
}
