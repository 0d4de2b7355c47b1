//! Sweeps: many seeds of the bundled scenarios, each run judged by its invariants. This module
//! holds what a sweep is made of and what it leaves behind — the runs to make (scenario × seed,
//! × replication method unless the swarm draws it), the slice a shard takes, each run's outcome,
//! the merge of shards, and `sweep.json` / `report.md`. Running the processes is the caller's
//! (the `ssb-harness sim sweep` command), so that one run's crash or hang stays in its process.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde::{Deserialize, Serialize};

use crate::run::Violation;
use crate::scenario::Scenario;
use crate::Summary;

/// The bundled scenarios a sweep takes by default.
pub const BUNDLED: &[&str] = &[
    "smoke",
    "byzantine",
    "churn",
    "groups",
    "legacy-vs-ebt",
    "thousand",
];

/// One run to make.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Task {
    pub scenario: String,
    pub seed: u64,
    pub swarm: bool,
    /// Overrides (`PATH=VALUE`), e.g. the replication method of a plain sweep.
    pub sets: Vec<String>,
}

impl Task {
    /// The arguments after `ssb-harness sim`.
    pub fn args(&self) -> Vec<String> {
        let mut a = vec![self.scenario.clone(), "--seed".into(), self.seed.to_string()];
        if self.swarm {
            a.push("--swarm".into());
        }
        for s in &self.sets {
            a.push("--set".into());
            a.push(s.clone());
        }
        a
    }
}

/// The runs of one seed: each scenario once in a swarm sweep (the seed draws the method), else
/// each scenario by each method. With `spread`, the seed runs only scenario `seed % count`, so
/// that N seeds cost N runs (or N × methods) and still cover every scenario.
pub fn tasks_for_seed(
    scenarios: &[String],
    seed: u64,
    swarm: bool,
    methods: &[String],
    spread: bool,
) -> Vec<Task> {
    let mut out = Vec::new();
    let chosen: Vec<&String> = if spread && !scenarios.is_empty() {
        vec![&scenarios[(seed % scenarios.len() as u64) as usize]]
    } else {
        scenarios.iter().collect()
    };
    for s in chosen {
        if swarm {
            out.push(Task {
                scenario: s.clone(),
                seed,
                swarm,
                sets: Vec::new(),
            });
        } else {
            for m in methods {
                out.push(Task {
                    scenario: s.clone(),
                    seed,
                    swarm,
                    sets: vec![format!("replication={m}")],
                });
            }
        }
    }
    out
}

/// A slice of the seed space: shard `index` of `count` takes the seeds `s` with
/// `s % count == index`, so shards are disjoint and together cover every seed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Shard {
    pub index: u64,
    pub count: u64,
}

impl Shard {
    /// Parses `K/N` (0 ≤ K < N).
    pub fn parse(s: &str) -> Result<Shard, String> {
        let (k, n) = s.split_once('/').ok_or_else(|| format!("{s:?} is not K/N"))?;
        let index: u64 = k
            .trim()
            .parse()
            .map_err(|_| format!("{s:?}: K is not a number"))?;
        let count: u64 = n
            .trim()
            .parse()
            .map_err(|_| format!("{s:?}: N is not a number"))?;
        if count == 0 || index >= count {
            return Err(format!("shard {s}: need 0 <= K < N"));
        }
        Ok(Shard { index, count })
    }

    pub fn takes(&self, seed: u64) -> bool {
        seed % self.count == self.index
    }
}

/// How one run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RunStatus {
    /// No invariant violated.
    Held,
    Violated,
    /// The process panicked or died.
    Crashed,
    /// It ran past the sweep's time limit for one run.
    TimedOut,
    /// The scenario could not be built (refused settings).
    Refused,
}

impl RunStatus {
    pub fn failed(self) -> bool {
        matches!(
            self,
            RunStatus::Violated | RunStatus::Crashed | RunStatus::TimedOut
        )
    }
}

/// One run's outcome, as a child process prints it and `sweep.json` keeps it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Outcome {
    pub task: Task,
    pub replication: String,
    pub nodes: usize,
    pub status: RunStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub invariant: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub what: Option<String>,
    /// The command that replays the run, every override included.
    pub replay: String,
    /// Invariants the run could not exercise.
    #[serde(default)]
    pub not_exercised: Vec<String>,
    /// sha256 of the run's `summary.json`, for runs that held: equal digests, equal runs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub digest: Option<String>,
    /// The smallest failing replay the shrinker found, if it ran.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shrunk: Option<String>,
    /// Wall time of the run (varies; not part of a run's identity).
    #[serde(default)]
    pub wall_ms: u64,
}

impl Outcome {
    /// The outcome of an in-process run.
    pub fn of(task: &Task, sc: &Scenario, r: &Result<Summary, Violation>) -> Outcome {
        let base = Outcome {
            task: task.clone(),
            replication: sc.replication.clone(),
            nodes: sc.nodes,
            status: RunStatus::Held,
            invariant: None,
            what: None,
            replay: crate::replay::command(sc),
            not_exercised: Vec::new(),
            digest: None,
            shrunk: None,
            wall_ms: 0,
        };
        match r {
            Ok(s) => {
                let json = serde_json::to_string_pretty(s).expect("a summary serialises");
                let digest = ssb_impl::crypto::sha256(json.as_bytes());
                Outcome {
                    not_exercised: s
                        .invariants
                        .not_exercised()
                        .iter()
                        .map(|n| n.to_string())
                        .collect(),
                    digest: Some(digest.iter().map(|b| format!("{b:02x}")).collect()),
                    ..base
                }
            }
            Err(v) => Outcome {
                status: RunStatus::Violated,
                invariant: Some(v.invariant.clone()),
                what: Some(v.what.clone()),
                replay: v.replay.clone(),
                ..base
            },
        }
    }

    /// The run's identity and result without its wall time (what equal sweeps share).
    pub fn identity(&self) -> Outcome {
        Outcome {
            wall_ms: 0,
            ..self.clone()
        }
    }
}

/// What a sweep (or a merge of shards) leaves in `sweep.json`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SweepFile {
    pub scenarios: Vec<String>,
    pub swarm: bool,
    /// Each seed ran one scenario (`seed % count`) rather than all of them.
    #[serde(default)]
    pub spread: bool,
    /// The seeds asked for, as the command line gave them (`1..200`, or `from 812 for 300 s`).
    pub seeds: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shard: Option<Shard>,
    /// Sweeps merged into this one (0 for a sweep run directly).
    #[serde(default)]
    pub merged_from: usize,
    pub jobs: usize,
    pub wall_s: f64,
    /// Every run, sorted by task.
    pub runs: Vec<Outcome>,
}

impl SweepFile {
    pub fn sort(&mut self) {
        self.runs.sort_by(|a, b| a.task.cmp(&b.task));
    }

    pub fn failures(&self) -> Vec<&Outcome> {
        self.runs.iter().filter(|r| r.status.failed()).collect()
    }
}

/// Combines the sweeps of several shards into one; a run that two of them both made must have
/// the same outcome, else the merge fails (a seed did not replay).
pub fn merge(parts: Vec<SweepFile>) -> Result<SweepFile, String> {
    let first = parts.first().ok_or("nothing to merge")?;
    let mut out = SweepFile {
        scenarios: first.scenarios.clone(),
        swarm: first.swarm,
        spread: first.spread,
        seeds: first.seeds.clone(),
        shard: None,
        merged_from: parts.len(),
        jobs: 0,
        wall_s: 0.0,
        runs: Vec::new(),
    };
    // Shards of one sweep must all be there, once each: a missing shard would pass unseen.
    let shards: Vec<Shard> = parts.iter().filter_map(|p| p.shard).collect();
    if !shards.is_empty() {
        if shards.len() != parts.len() {
            return Err("cannot merge shards with a sweep that was not sharded".into());
        }
        let count = shards[0].count;
        if shards.iter().any(|s| s.count != count) {
            return Err("the shards come from sweeps split into different numbers of shards".into());
        }
        let mut have: Vec<u64> = shards.iter().map(|s| s.index).collect();
        have.sort_unstable();
        let missing: Vec<u64> = (0..count).filter(|k| !have.contains(k)).collect();
        if !missing.is_empty() {
            return Err(format!("shards {missing:?} of {count} are missing"));
        }
        if have.len() as u64 != count {
            return Err(format!("a shard of {count} is given twice"));
        }
    }
    let mut seen: BTreeMap<Task, Outcome> = BTreeMap::new();
    for p in &parts {
        if p.swarm != out.swarm {
            return Err("cannot merge a swarm sweep with a plain one".into());
        }
        for s in &p.scenarios {
            if !out.scenarios.contains(s) {
                out.scenarios.push(s.clone());
            }
        }
        out.jobs += p.jobs;
        out.wall_s = out.wall_s.max(p.wall_s);
        for r in &p.runs {
            match seen.get(&r.task) {
                Some(prev) if prev.identity() != r.identity() => {
                    return Err(format!(
                        "{} ran twice with different outcomes ({:?} and {:?})",
                        r.replay, prev.status, r.status
                    ))
                }
                Some(_) => {}
                None => {
                    seen.insert(r.task.clone(), r.clone());
                }
            }
        }
    }
    out.runs = seen.into_values().collect();
    out.sort();
    Ok(out)
}

/// Counts per scenario × replication method.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Cell {
    pub runs: usize,
    pub held: usize,
    pub violated: usize,
    pub crashed: usize,
    pub timed_out: usize,
    pub refused: usize,
    /// Runs in which each invariant could not be exercised.
    pub not_exercised: BTreeMap<String, usize>,
}

pub fn table(f: &SweepFile) -> BTreeMap<(String, String), Cell> {
    let mut t: BTreeMap<(String, String), Cell> = BTreeMap::new();
    for r in &f.runs {
        let c = t
            .entry((r.task.scenario.clone(), r.replication.clone()))
            .or_default();
        c.runs += 1;
        match r.status {
            RunStatus::Held => c.held += 1,
            RunStatus::Violated => c.violated += 1,
            RunStatus::Crashed => c.crashed += 1,
            RunStatus::TimedOut => c.timed_out += 1,
            RunStatus::Refused => c.refused += 1,
        }
        for n in &r.not_exercised {
            *c.not_exercised.entry(n.clone()).or_default() += 1;
        }
    }
    t
}

/// The table as text (terminal and `report.md`).
pub fn table_markdown(f: &SweepFile) -> String {
    let mut md = String::from(
        "| scenario | replication | runs | held | violated | crashed | timed out | refused | not exercised (runs) |\n|---|---|---:|---:|---:|---:|---:|---:|---|\n",
    );
    for ((s, m), c) in table(f) {
        let ne: Vec<String> = c.not_exercised.iter().map(|(k, v)| format!("{k} {v}")).collect();
        let _ = writeln!(
            md,
            "| {s} | {m} | {} | {} | {} | {} | {} | {} | {} |",
            c.runs,
            c.held,
            c.violated,
            c.crashed,
            c.timed_out,
            c.refused,
            ne.join(", ")
        );
    }
    md
}

/// `report.md` of a sweep.
pub fn report_markdown(f: &SweepFile) -> String {
    let failures = f.failures();
    let mut md = format!(
        "# Simulation sweep\n\n{} runs of {} ({}), seeds {}{}{}; {} jobs, {:.1} s wall.\n\n",
        f.runs.len(),
        f.scenarios.join(", "),
        match (f.swarm, f.spread) {
            (true, true) => "swarm, one scenario per seed: each seed also draws the scenario's knobs",
            (true, false) => "swarm: each seed also draws the scenario's knobs",
            (false, true) => "one scenario per seed, by each replication method",
            (false, false) => "each scenario by each replication method",
        },
        f.seeds,
        f.shard
            .map_or(String::new(), |s| format!(", shard {}/{}", s.index, s.count)),
        if f.merged_from > 0 {
            format!(", merged from {} shards", f.merged_from)
        } else {
            String::new()
        },
        f.jobs,
        f.wall_s
    );
    md.push_str(&table_markdown(f));
    let _ = writeln!(md, "\n## Failures: {}\n", failures.len());
    for r in failures {
        let _ = writeln!(
            md,
            "- **{:?}** {} ({}, {} nodes){}\n  - replay: `{}`{}",
            r.status,
            r.invariant.as_deref().unwrap_or(""),
            r.replication,
            r.nodes,
            r.what.as_ref().map_or(String::new(), |w| format!(
                ": {}",
                w.chars().take(400).collect::<String>()
            )),
            r.replay,
            r.shrunk
                .as_ref()
                .map_or(String::new(), |s| format!("\n  - smallest found: `{s}`"))
        );
    }
    md.push_str(
        "\nA run that could not exercise an invariant (no link came up, no forker, no followed feed reachable) counts it as *not exercised*, never as held.\n",
    );
    md
}

#[cfg(test)]
mod tests {
    use super::*;

    fn outcome(scenario: &str, seed: u64, status: RunStatus) -> Outcome {
        Outcome {
            task: Task {
                scenario: scenario.into(),
                seed,
                swarm: true,
                sets: vec![],
            },
            replication: "ebt".into(),
            nodes: 5,
            status,
            invariant: None,
            what: None,
            replay: format!("ssb-harness sim {scenario} --seed {seed} --swarm"),
            not_exercised: vec![],
            digest: None,
            shrunk: None,
            wall_ms: seed,
        }
    }

    fn file(runs: Vec<Outcome>) -> SweepFile {
        SweepFile {
            scenarios: vec!["smoke".into()],
            swarm: true,
            spread: false,
            seeds: "1..4".into(),
            shard: None,
            merged_from: 0,
            jobs: 1,
            wall_s: 1.0,
            runs,
        }
    }

    #[test]
    fn shards_are_disjoint_and_cover_the_seeds() {
        let shards: Vec<Shard> = (0..3).map(|k| Shard::parse(&format!("{k}/3")).unwrap()).collect();
        for seed in 0..100 {
            assert_eq!(shards.iter().filter(|s| s.takes(seed)).count(), 1);
        }
        assert!(Shard::parse("3/3").is_err());
        assert!(Shard::parse("1").is_err());
    }

    #[test]
    fn a_merge_needs_every_shard_once() {
        let shard = |k: u64| {
            let mut f = file(vec![outcome("smoke", k, RunStatus::Held)]);
            f.shard = Some(Shard { index: k, count: 3 });
            f
        };
        assert!(merge(vec![shard(0), shard(1), shard(2)]).is_ok());
        assert!(merge(vec![shard(0), shard(2)]).unwrap_err().contains("[1]"));
        assert!(merge(vec![shard(0), shard(1), shard(1)]).is_err());
    }

    #[test]
    fn a_merge_refuses_a_seed_that_did_not_replay() {
        let a = file(vec![outcome("smoke", 1, RunStatus::Held)]);
        let b = file(vec![outcome("smoke", 1, RunStatus::Violated)]);
        assert!(merge(vec![a.clone(), b]).is_err());
        let c = file(vec![outcome("smoke", 2, RunStatus::Held)]);
        let m = merge(vec![c, a]).unwrap();
        assert_eq!(m.runs.iter().map(|r| r.task.seed).collect::<Vec<_>>(), vec![1, 2]);
        assert_eq!(m.merged_from, 2);
        let t = table(&m);
        assert_eq!(t[&("smoke".to_string(), "ebt".to_string())].held, 2);
    }
}
