//! The anti-entropy paper's questions asked of SSB replication: reference nodes (the real
//! sans-IO node, secret handshake and box-stream, on the simulator's world) replicating every
//! feed over links capped at a number of bytes per second, while every node publishes at a
//! rate that rises step by step. Once a simulated second it measures, as the paper does for
//! mappings, the maximum staleness (the age of the oldest message some node still lacks) and
//! the number of stale (node, feed) pairs; per step it says whether the method kept up.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rand_core::RngCore;
use serde::{Deserialize, Serialize};
use serde_json::json;
use ssb_impl::node::{Node, NodeConfig, NodeEvent, PeerAddr, Replication, SignatureMemo};
use ssb_impl::store::MemoryBlobs;
use ssb_impl::{FeedId, Keypair};

use crate::shared_store::{Pool, SharedStore};
use crate::world::{Ev, Observed, Role, World};

/// The SSB comparison's scenario (`sim/scenarios/antientropy-ssb.toml`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SsbConfig {
    pub name: String,
    pub description: String,
    pub seed: u64,
    pub nodes: usize,
    /// Links per node (a random regular graph).
    pub degree: usize,
    /// Bytes per second each direction of every link carries.
    pub cap_bytes_per_s: u64,
    pub latency_min_ms: u64,
    pub latency_max_ms: u64,
    /// Messages each node publishes per second, one step after another.
    pub rates: Vec<f64>,
    /// Seconds each rate lasts.
    pub step_s: u64,
    /// Seconds after the last step, with no publishing, to drain.
    pub drain_s: u64,
    /// Characters of each post's text.
    pub text_len: usize,
    /// A step is sustained when the maximum staleness over its last third stays under this.
    pub sustain_staleness_s: f64,
    /// "ebt", "legacy" (createHistoryStream), or both.
    pub methods: Vec<String>,
}

impl Default for SsbConfig {
    fn default() -> Self {
        SsbConfig {
            name: "antientropy-ssb".into(),
            description: String::new(),
            seed: 1,
            nodes: 16,
            degree: 4,
            cap_bytes_per_s: 8192,
            latency_min_ms: 50,
            latency_max_ms: 100,
            rates: vec![0.25, 0.5, 1.0, 2.0, 4.0],
            step_s: 30,
            drain_s: 30,
            text_len: 200,
            sustain_staleness_s: 10.0,
            methods: vec!["ebt".into(), "legacy".into()],
        }
    }
}

impl SsbConfig {
    pub fn load(name_or_path: &str) -> Result<SsbConfig, String> {
        let dir = crate::scenario::scenarios_dir();
        let path = [
            PathBuf::from(name_or_path),
            dir.join(format!("{name_or_path}.toml")),
            dir.join(format!("antientropy-{name_or_path}.toml")),
        ]
        .into_iter()
        .find(|p| p.is_file())
        .ok_or_else(|| format!("no SSB anti-entropy scenario {name_or_path}"))?;
        let text = std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        let c: SsbConfig = toml::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
        c.check()?;
        Ok(c)
    }

    pub fn check(&self) -> Result<(), String> {
        if !(2..=200).contains(&self.nodes) || self.degree == 0 || self.degree >= self.nodes {
            return Err("nodes in 2..=200 and degree in 1..nodes".into());
        }
        if self.rates.is_empty() || self.rates.iter().any(|r| !(0.0..=50.0).contains(r)) {
            return Err("rates: at least one, each in 0..=50 per second".into());
        }
        if self.step_s == 0 || self.step_s * self.rates.len() as u64 + self.drain_s > 3600 {
            return Err("step_s above 0 and the run under an hour".into());
        }
        if self.text_len > 4000 {
            return Err("text_len over 4000".into());
        }
        for m in &self.methods {
            if m != "ebt" && m != "legacy" {
                return Err(format!("method {m}: ebt or legacy"));
            }
        }
        Ok(())
    }

    pub fn duration_s(&self) -> u64 {
        self.step_s * self.rates.len() as u64 + self.drain_s
    }
}

/// The measures at one simulated second.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SsbSample {
    pub t_s: u64,
    pub rate: f64,
    /// Age of the oldest message some node lacks of a feed it replicates (seconds).
    pub max_staleness_s: f64,
    /// (node, feed) pairs behind the feed's author.
    pub stale_pairs: u64,
    /// Messages missing, all nodes together.
    pub missing: u64,
    /// Bytes put on links in this second.
    pub bytes: u64,
}

/// One step of the rising rate.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StepResult {
    pub rate: f64,
    pub peak_staleness_s: f64,
    /// Maximum staleness over the step's last third.
    pub tail_staleness_s: f64,
    pub sustained: bool,
    /// Mean bytes per second on all links.
    pub bytes_per_s: f64,
    /// At the step's end: per feed, how many of the nodes lag (what ordering the lag follows).
    pub lagging_nodes_per_feed: Vec<u64>,
    /// At the step's end: per feed, the messages missing at all nodes together.
    pub missing_per_feed: Vec<u64>,
}

/// One method's run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SsbSeries {
    pub method: String,
    pub samples: Vec<SsbSample>,
    pub steps: Vec<StepResult>,
    /// The highest rate sustained with every lower rate sustained too (0: none).
    pub sustainable_rate: f64,
    pub published: u64,
    pub events: u64,
    /// Links in the graph (each carries `cap_bytes_per_s` each way).
    pub links: usize,
}

fn host_keys(seed: u64, i: usize) -> Keypair {
    Keypair::from_seed(ssb_impl::crypto::sha256(
        format!("ssb-sim antientropy {seed} {i}").as_bytes(),
    ))
}

/// A random regular-ish graph: a ring (connected) plus random chords up to `degree`.
fn graph(n: usize, degree: usize, rng: &mut dyn RngCore) -> Vec<BTreeSet<usize>> {
    let mut adj = vec![BTreeSet::new(); n];
    for i in 0..n {
        let j = (i + 1) % n;
        adj[i].insert(j);
        adj[j].insert(i);
    }
    let mut tries = 0;
    while tries < 100 * n * degree {
        tries += 1;
        let a = (rng.next_u64() % n as u64) as usize;
        let b = (rng.next_u64() % n as u64) as usize;
        if a == b || adj[a].len() >= degree || adj[b].len() >= degree || adj[a].contains(&b) {
            continue;
        }
        adj[a].insert(b);
        adj[b].insert(a);
    }
    adj
}

/// Runs one method ("ebt" or "legacy").
pub fn run(cfg: &SsbConfig, method: &str) -> SsbSeries {
    let n = cfg.nodes;
    let mut setup = super::queue::rng(cfg.seed, b"aessbset");
    let mut world = World::new(cfg.seed, (cfg.latency_min_ms, cfg.latency_max_ms), 0.0, 200);
    world.cap_bytes_per_s = cfg.cap_bytes_per_s;
    let keys: Vec<Keypair> = (0..n).map(|i| host_keys(cfg.seed, i)).collect();
    let ids: Vec<FeedId> = keys.iter().map(Keypair::id).collect();
    let adj = graph(n, cfg.degree, &mut setup);
    let links = adj.iter().map(BTreeSet::len).sum::<usize>() / 2;
    let memo = Arc::new(SignatureMemo::new(1_000_000));
    let pool = Pool::new();
    for h in 0..n {
        let config = NodeConfig {
            hops: 0,
            replicate: ids
                .iter()
                .enumerate()
                .filter(|(j, _)| *j != h)
                .map(|(_, id)| *id)
                .collect(),
            replication: if method == "legacy" {
                Replication::Legacy
            } else {
                Replication::Ebt
            },
            peers: adj[h]
                .iter()
                .filter(|j| **j > h)
                .map(|j| PeerAddr {
                    host: format!("n{j}"),
                    port: 0,
                    key: ids[*j],
                })
                .collect(),
            redial_ms: 1000,
            verify_threads: 1,
            signature_memo: Some(memo.clone()),
            ..NodeConfig::default()
        };
        let node = Node::new(
            keys[h].clone(),
            config,
            Box::new(SharedStore::new(pool.clone())),
            Box::new(MemoryBlobs::new()),
        )
        .expect("a memory store opens");
        world.add_host(keys[h].clone(), Role::Honest, node);
    }
    for h in 0..n {
        world.schedule(setup.next_u64() % 1_000_000, Ev::Tick { host: h });
    }
    // Publish times: each step's rate, evenly spaced per node from a random phase.
    for (i, &rate) in cfg.rates.iter().enumerate() {
        if rate <= 0.0 {
            continue;
        }
        let (t0, t1) = (
            i as u64 * cfg.step_s * 1_000_000,
            (i as u64 + 1) * cfg.step_s * 1_000_000,
        );
        let gap = (1e6 / rate) as u64;
        for h in 0..n {
            let mut t = t0 + setup.next_u64() % gap.max(1);
            while t < t1 {
                world.schedule(t, Ev::Publish { host: h });
                t += gap;
            }
        }
    }
    let by_id: std::collections::BTreeMap<FeedId, usize> =
        ids.iter().enumerate().map(|(i, id)| (*id, i)).collect();
    // published[a][s-1]: when author a published sequence s; held[h][a]: latest sequence held.
    let mut published: Vec<Vec<u64>> = vec![Vec::new(); n];
    let mut held = vec![vec![0u64; n]; n];
    let end = cfg.duration_s() * 1_000_000;
    let mut next_sample = 1_000_000;
    let mut samples = Vec::new();
    let mut bytes = 0u64;
    let mut events = 0u64;
    let mut step_lag: Vec<(Vec<u64>, Vec<u64>)> = Vec::new();
    while let Some(ev) = world.pop(end) {
        events += 1;
        while next_sample <= world.now_us {
            samples.push(sample(cfg, next_sample, &published, &held, bytes));
            bytes = 0;
            if next_sample % (cfg.step_s * 1_000_000) == 0 && step_lag.len() < cfg.rates.len() {
                let behind = |h: usize, a: usize| (published[a].len() as u64).saturating_sub(held[h][a]);
                step_lag.push((
                    (0..n)
                        .map(|a| (0..n).filter(|&h| h != a && behind(h, a) > 0).count() as u64)
                        .collect(),
                    (0..n).map(|a| (0..n).map(|h| behind(h, a)).sum()).collect(),
                ));
            }
            next_sample += 1_000_000;
        }
        match ev {
            Ev::Publish { host } => {
                let now_ms = world.now_ms();
                let text: String = (0..cfg.text_len)
                    .map(|i| (b'a' + ((i + published[host].len()) % 26) as u8) as char)
                    .collect();
                let node = world.hosts[host].node.as_mut().expect("up");
                if node
                    .publish(&json!({"type": "post", "text": text}), now_ms)
                    .is_ok()
                {
                    published[host].push(world.now_us);
                    held[host][host] = published[host].len() as u64;
                }
                world.touch(host);
            }
            Ev::Tick { host } => {
                world.handle(Ev::Tick { host });
                world.schedule(world.now_us + 1_000_000, Ev::Tick { host });
            }
            other => world.handle(other),
        }
        world.settle();
        for o in std::mem::take(&mut world.observed) {
            match o {
                Observed::Node {
                    host,
                    event: NodeEvent::Appended { feed, sequence, .. },
                } => {
                    if let Some(&a) = by_id.get(&feed) {
                        held[host][a] = held[host][a].max(sequence);
                    }
                }
                Observed::Sent { bytes: b, .. } => bytes += b as u64,
                _ => {}
            }
        }
    }
    while next_sample <= end {
        samples.push(sample(cfg, next_sample, &published, &held, bytes));
        bytes = 0;
        next_sample += 1_000_000;
    }
    let steps = steps(cfg, &samples, step_lag);
    let mut sustainable_rate = 0.0;
    for s in &steps {
        if !s.sustained {
            break;
        }
        sustainable_rate = s.rate;
    }
    SsbSeries {
        method: method.to_string(),
        samples,
        steps,
        sustainable_rate,
        published: published.iter().map(|p| p.len() as u64).sum(),
        events,
        links,
    }
}

fn sample(cfg: &SsbConfig, at_us: u64, published: &[Vec<u64>], held: &[Vec<u64>], bytes: u64) -> SsbSample {
    let n = published.len();
    let (mut stale, mut missing, mut oldest) = (0u64, 0u64, u64::MAX);
    for a in 0..n {
        let total = published[a].len() as u64;
        for (h, row) in held.iter().enumerate() {
            if h == a || row[a] >= total {
                continue;
            }
            stale += 1;
            missing += total - row[a];
            oldest = oldest.min(published[a][row[a] as usize]);
        }
    }
    let step = (at_us.saturating_sub(1) / (cfg.step_s * 1_000_000)) as usize;
    SsbSample {
        t_s: at_us / 1_000_000,
        rate: cfg.rates.get(step).copied().unwrap_or(0.0),
        max_staleness_s: if oldest == u64::MAX {
            0.0
        } else {
            at_us.saturating_sub(oldest) as f64 / 1e6
        },
        stale_pairs: stale,
        missing,
        bytes,
    }
}

fn steps(cfg: &SsbConfig, samples: &[SsbSample], mut lag: Vec<(Vec<u64>, Vec<u64>)>) -> Vec<StepResult> {
    cfg.rates
        .iter()
        .enumerate()
        .map(|(i, &rate)| {
            let (t0, t1) = (i as u64 * cfg.step_s, (i as u64 + 1) * cfg.step_s);
            let tail0 = t1 - cfg.step_s / 3;
            let in_step: Vec<&SsbSample> = samples.iter().filter(|s| s.t_s > t0 && s.t_s <= t1).collect();
            let peak = in_step.iter().map(|s| s.max_staleness_s).fold(0.0, f64::max);
            let tail = in_step
                .iter()
                .filter(|s| s.t_s > tail0)
                .map(|s| s.max_staleness_s)
                .fold(0.0, f64::max);
            let bytes: u64 = in_step.iter().map(|s| s.bytes).sum();
            let (lagging, missing) = if i < lag.len() {
                std::mem::take(&mut lag[i])
            } else {
                Default::default()
            };
            StepResult {
                rate,
                peak_staleness_s: peak,
                tail_staleness_s: tail,
                sustained: tail < cfg.sustain_staleness_s,
                bytes_per_s: bytes as f64 / cfg.step_s as f64,
                lagging_nodes_per_feed: lagging,
                missing_per_feed: missing,
            }
        })
        .collect()
}

/// Markdown: per method and step, the staleness, whether it was sustained, the bytes carried,
/// and how the lag spreads over feeds at the step's end.
pub fn table(cfg: &SsbConfig, series: &[SsbSeries]) -> String {
    use std::fmt::Write as _;
    let mut s = String::new();
    let _ = writeln!(
        s,
        "| method | rate (msg/s per node) | peak max staleness (s) | max staleness, last third (s) | sustained (< {} s) | bytes/s on all links | lagging nodes per feed (min–max) | missing messages per feed (min–max) |",
        cfg.sustain_staleness_s
    );
    let _ = writeln!(s, "|---|---|---|---|---|---|---|---|");
    for x in series {
        let name = if x.method == "legacy" {
            "createHistoryStream"
        } else {
            "EBT"
        };
        for st in &x.steps {
            let span = |v: &[u64]| match (v.iter().min(), v.iter().max()) {
                (Some(a), Some(b)) => format!("{a}–{b}"),
                _ => "–".into(),
            };
            let _ = writeln!(
                s,
                "| {name} | {} | {:.1} | {:.1} | {} | {:.0} | {} | {} |",
                st.rate,
                st.peak_staleness_s,
                st.tail_staleness_s,
                if st.sustained { "yes" } else { "no" },
                st.bytes_per_s,
                span(&st.lagging_nodes_per_feed),
                span(&st.missing_per_feed)
            );
        }
    }
    let _ = writeln!(s);
    for x in series {
        let name = if x.method == "legacy" {
            "createHistoryStream"
        } else {
            "EBT"
        };
        let drained = x
            .samples
            .iter()
            .rposition(|m| m.stale_pairs > 0)
            .and_then(|i| x.samples.get(i + 1))
            .map_or("never".to_string(), |m| format!("{} s", m.t_s));
        let _ = writeln!(
            s,
            "- {name}: sustainable rate {} msg/s per node; {} messages published; every node holds every feed from {drained}; {} links, {} B/s on all link directions at most.",
            x.sustainable_rate,
            x.published,
            x.links,
            x.links as u64 * 2 * cfg.cap_bytes_per_s
        );
    }
    s
}

/// Writes `NAME.json`, `NAME-staleness.svg`, `NAME-stale.svg` and `NAME.md`.
pub fn write(dir: &Path, cfg: &SsbConfig, series: &[SsbSeries]) -> std::io::Result<Vec<PathBuf>> {
    use super::figure::{plot, Line};
    std::fs::create_dir_all(dir)?;
    let mut written = Vec::new();
    let json = dir.join(format!("{}.json", cfg.name));
    let mut text = serde_json::to_string(series).map_err(std::io::Error::other)?;
    text.push('\n');
    std::fs::write(&json, text)?;
    written.push(json);
    let marks: Vec<(f64, String)> = cfg
        .rates
        .iter()
        .enumerate()
        .map(|(i, r)| ((i as u64 * cfg.step_s) as f64, format!("{r}/s")))
        .chain(std::iter::once((
            (cfg.rates.len() as u64 * cfg.step_s) as f64,
            "stop".to_string(),
        )))
        .collect();
    let names = |m: &str| {
        if m == "legacy" {
            "createHistoryStream"
        } else {
            "EBT"
        }
    };
    for (suffix, y, f) in [
        (
            "staleness",
            "maximum staleness (s)",
            &(|s: &SsbSample| s.max_staleness_s) as &dyn Fn(&SsbSample) -> f64,
        ),
        ("stale", "stale (node, feed) pairs", &|s: &SsbSample| {
            s.stale_pairs as f64
        }),
    ] {
        let lines: Vec<Line> = series
            .iter()
            .map(|x| Line {
                label: names(&x.method).to_string(),
                points: x.samples.iter().map(|s| (s.t_s as f64, f(s))).collect(),
            })
            .collect();
        let p = dir.join(format!("{}-{suffix}.svg", cfg.name));
        plot(
            &p,
            &format!("SSB under {} B/s per link: {y}", cfg.cap_bytes_per_s),
            y,
            &lines,
            &marks,
        )?;
        written.push(p);
    }
    let md = dir.join(format!("{}.md", cfg.name));
    std::fs::write(
        &md,
        format!(
            "# {} (seed {})\n\n{}\n\nGenerated by `ssb-harness antientropy {}`.\n\n{}",
            cfg.name,
            cfg.seed,
            cfg.description,
            cfg.name,
            table(cfg, series)
        ),
    )?;
    written.push(md);
    Ok(written)
}
