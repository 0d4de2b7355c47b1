//! Scenarios are data: a TOML file names the node count, the topology, the follow graph, the
//! workload, the network (latency, loss), the faults (partitions, crashes, churn), the
//! Byzantine nodes, the duration and the seed. Every field has a default, so a scenario file
//! says only what differs.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// A whole scenario.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Scenario {
    pub name: String,
    pub description: String,
    pub seed: u64,
    pub nodes: usize,
    /// Simulated seconds the run lasts (workload, faults, then settling).
    pub duration_s: u64,
    /// "ebt" or "legacy": how nodes replicate on the connections they make.
    pub replication: String,
    pub topology: Topology,
    pub follows: Follows,
    pub workload: Workload,
    pub network: Network,
    pub faults: Faults,
    pub byzantine: Byzantine,
    /// Private groups: created, members added over time, messages posted to them.
    pub groups: crate::groups::GroupsConfig,
    /// Share signature verdicts between simulated nodes (a pure function: the outcome is the
    /// same without it, which a test shows).
    pub signature_memo: bool,
    /// Run the scenario by EBT and by createHistoryStream and compare their bandwidth.
    pub compare_replication: bool,
    /// Test-only: break the honest nodes on purpose, to show that the invariants and the sweep
    /// catch it. "" (none) or "skip_fork_detection" (nodes refuse a fork's messages but never
    /// report the fork).
    pub sabotage: String,
    /// The ranges a swarm sweep draws this scenario's knobs from (`[swarm]`; see
    /// [`crate::swarm`]).
    pub swarm: crate::swarm::SwarmRanges,
    /// Where the scenario came from, for the replay command (not part of the file).
    #[serde(skip)]
    pub origin: Origin,
}

/// How a scenario was made: the bundled name or path it was loaded from, and whether a swarm
/// draw changed its knobs. [`crate::replay::command`] turns this and the scenario's fields into
/// the command that replays it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Origin {
    pub source: String,
    pub swarm: bool,
}

impl Default for Scenario {
    fn default() -> Self {
        Scenario {
            name: "unnamed".into(),
            description: String::new(),
            seed: 1,
            nodes: 20,
            duration_s: 120,
            replication: "ebt".into(),
            topology: Topology::default(),
            follows: Follows::default(),
            workload: Workload::default(),
            network: Network::default(),
            faults: Faults::default(),
            byzantine: Byzantine::default(),
            groups: Default::default(),
            signature_memo: true,
            compare_replication: false,
            sabotage: String::new(),
            swarm: Default::default(),
            origin: Origin::default(),
        }
    }
}

/// Who connects to whom.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Topology {
    /// "random_regular" (each node `degree` neighbours), "small_world" (a ring of `degree`
    /// neighbours, each edge rewired with probability `rewire`), or "hubs" (`hubs` pub-like
    /// nodes; every other node connects to `degree` of them).
    pub kind: String,
    pub degree: usize,
    pub rewire: f64,
    pub hubs: usize,
}

impl Default for Topology {
    fn default() -> Self {
        Topology {
            kind: "random_regular".into(),
            degree: 3,
            rewire: 0.1,
            hubs: 3,
        }
    }
}

/// Whose feeds each node replicates.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Follows {
    /// "everyone", "random" (`count` feeds), "power_law" (a few popular feeds followed by many;
    /// `count` on average), or "friends_of_friends" (`count` follows, replicated at two hops).
    pub kind: String,
    pub count: usize,
    /// Publish the follows as real `contact` messages (the nodes derive their scope from them)
    /// instead of configuring each node's replication set directly.
    pub contact_messages: bool,
}

impl Default for Follows {
    fn default() -> Self {
        Follows {
            kind: "random".into(),
            count: 5,
            contact_messages: false,
        }
    }
}

/// What the nodes publish.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Workload {
    /// Messages each honest node publishes over the window.
    pub messages_per_node: usize,
    pub start_s: u64,
    pub end_s: u64,
    /// Relative weights of post, contact, about and vote messages.
    pub post: u32,
    pub contact: u32,
    pub about: u32,
    pub vote: u32,
    /// Text length of posts, in bytes, drawn uniformly.
    pub text_min: usize,
    pub text_max: usize,
}

impl Default for Workload {
    fn default() -> Self {
        Workload {
            messages_per_node: 10,
            start_s: 1,
            end_s: 60,
            post: 70,
            contact: 10,
            about: 10,
            vote: 10,
            text_min: 20,
            text_max: 400,
        }
    }
}

/// The simulated network.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Network {
    /// One-way latency of a link, drawn uniformly per link.
    pub latency_min_ms: u64,
    pub latency_max_ms: u64,
    /// Probability that a segment is lost; TCP delivers it after a retransmission timeout.
    pub loss: f64,
    pub retransmit_ms: u64,
    /// Milliseconds between the nodes' scheduler ticks (redials).
    pub tick_ms: u64,
}

impl Default for Network {
    fn default() -> Self {
        Network {
            latency_min_ms: 10,
            latency_max_ms: 100,
            loss: 0.0,
            retransmit_ms: 200,
            tick_ms: 1000,
        }
    }
}

/// Faults on a schedule.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Faults {
    pub partition: Vec<Partition>,
    pub crash: Vec<Crash>,
    pub churn: Option<Churn>,
}

/// From `at_s` to `heal_s`, the first `fraction` of the nodes (by a seeded shuffle) cannot
/// reach the others: their links are cut and redials fail.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Partition {
    pub at_s: u64,
    pub heal_s: u64,
    pub fraction: f64,
}

/// A node stops at `at_s` (losing what it had not made durable) and restarts at `restart_s`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Crash {
    pub node: usize,
    pub at_s: u64,
    pub restart_s: u64,
}

/// Random nodes leave and come back: every `every_s`, `count` nodes go offline for `offline_s`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Churn {
    pub every_s: u64,
    pub count: usize,
    pub offline_s: u64,
    pub until_s: u64,
}

/// Misbehaving nodes (taken from the end of the node list).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Byzantine {
    /// Publish messages for other nodes' feeds, signed with the wrong key.
    pub forgers: usize,
    /// Publish two different messages at one sequence of their own feed, one to each half of
    /// their neighbours.
    pub forkers: usize,
    /// Seconds the second half of a forking identity publishes after the first (0: at the same
    /// times): a second device restored from an old backup, offline until its first
    /// publication, that goes on publishing its own branch.
    pub fork_delay_s: u64,
    /// Send oversized and endless data to their neighbours.
    pub flooders: usize,
    /// Reference nodes that read slowly (at `slow_kib_per_s`), so their peers' writes back up.
    pub slow: usize,
    pub slow_kib_per_s: u64,
}

impl Default for Byzantine {
    fn default() -> Self {
        Byzantine {
            forgers: 0,
            forkers: 0,
            fork_delay_s: 0,
            flooders: 0,
            slow: 0,
            slow_kib_per_s: 16,
        }
    }
}

/// Where the bundled scenarios live.
pub fn scenarios_dir() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/scenarios"))
}

impl Scenario {
    /// A bundled scenario by name (`smoke`) or a TOML file by path.
    pub fn load(name_or_path: &str) -> Result<Scenario, String> {
        let path = if Path::new(name_or_path).exists() {
            PathBuf::from(name_or_path)
        } else {
            scenarios_dir().join(format!("{name_or_path}.toml"))
        };
        let text = std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        let mut s: Scenario = toml::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
        s.origin.source = name_or_path.to_string();
        s.check()?;
        Ok(s)
    }

    /// Refuses settings that cannot run.
    pub fn check(&self) -> Result<(), String> {
        let byz =
            self.byzantine.forgers + self.byzantine.forkers + self.byzantine.flooders + self.byzantine.slow;
        if self.nodes < 2 || byz >= self.nodes {
            return Err(format!(
                "{} nodes with {byz} Byzantine ones cannot run",
                self.nodes
            ));
        }
        if !matches!(self.replication.as_str(), "ebt" | "legacy") {
            return Err(format!("replication {:?}: ebt or legacy", self.replication));
        }
        if self.network.latency_min_ms > self.network.latency_max_ms {
            return Err("latency_min_ms is above latency_max_ms".into());
        }
        if self.workload.end_s < self.workload.start_s || self.workload.end_s > self.duration_s {
            return Err("the workload window must lie within the duration".into());
        }
        if self.topology.kind == "hubs" && self.topology.hubs == 0 {
            return Err("a hubs topology needs at least one hub (topology.hubs = 0)".into());
        }
        if !matches!(
            self.topology.kind.as_str(),
            "hubs" | "small_world" | "random_regular"
        ) {
            return Err(format!(
                "topology {:?}: random_regular, small_world or hubs",
                self.topology.kind
            ));
        }
        if self.topology.degree == 0 {
            return Err("topology.degree must be at least 1".into());
        }
        if !matches!(self.sabotage.as_str(), "" | "skip_fork_detection") {
            return Err(format!(
                "sabotage {:?}: \"\" or \"skip_fork_detection\"",
                self.sabotage
            ));
        }
        Ok(())
    }
}
