//! `ssb-harness sim SCENARIO`: runs a simulation with a progress bar and writes
//! `reports/sim/<scenario>/` (summary.json, report.md, plots). A violated invariant stops the
//! run: the invariant, the seed and the command that replays it are printed, and the exit code
//! is 1. `sim sweep` and `sim sweep-merge` are in [`crate::sweep_cmd`].

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use clap::{Args, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};
use ssb_sim::report::{self, RunFacts};
use ssb_sim::sweep::{Outcome, Task};
use ssb_sim::{replay, Scenario, Summary};

use crate::sweep_cmd;

/// Shown by `sim --help`: the bundled scenarios (a test keeps the list equal to sim/scenarios/),
/// the replay form and where sweeps are.
const AFTER_HELP: &str = "Bundled scenarios (sim/scenarios/NAME.toml; a path to a TOML file works too):
  smoke          50 nodes, 3 pubs, one partition that heals; runs in CI
  churn          100 nodes; five leave every 10 s, one crashes and restarts
  byzantine      60 nodes with forgers, forking identities, flooders and slow peers
  groups         100 nodes, 5 private groups growing to 12 members, box2 messages
  legacy-vs-ebt  the smoke workload by EBT and by createHistoryStream: bandwidth of both
  thousand       1,000 nodes, 10 pubs, 20,000 messages by EBT
(antientropy-*.toml are the anti-entropy model's: ssb-harness antientropy)

Every failure prints one command that replays it, every override included, e.g.
  ssb-harness sim byzantine --seed 2484 --swarm --set nodes=12

Sweeps of many seeds: ssb-harness sim sweep --help";

/// `sim`: one run, or a sweep of many.
#[derive(Args)]
#[command(args_conflicts_with_subcommands = true, subcommand_negates_reqs = true, after_help = AFTER_HELP)]
pub struct SimCli {
    #[command(subcommand)]
    pub action: Option<SimAction>,
    #[command(flatten)]
    pub run: RunArgs,
}

#[derive(Subcommand)]
pub enum SimAction {
    /// Run many seeds of the scenarios in parallel processes and report every violation with the
    /// command that replays it (reports/sim/sweep/).
    Sweep(sweep_cmd::SweepArgs),
    /// Combine the sweep.json of several shards into one sweep and report.
    SweepMerge(sweep_cmd::MergeArgs),
}

/// One run of one scenario.
#[derive(Args, Clone, Default)]
pub struct RunArgs {
    /// Bundled scenario name (smoke, byzantine, churn, groups, legacy-vs-ebt, thousand) or a path
    /// to a scenario TOML file.
    #[arg(required = true)]
    pub scenario: Option<String>,
    /// The run's seed (overrides the scenario's): every random choice of the run comes from it.
    #[arg(long)]
    pub seed: Option<u64>,
    /// Node count (overrides the scenario's).
    #[arg(long)]
    pub nodes: Option<usize>,
    /// Replication method, overriding the scenario's (ebt or legacy).
    #[arg(long)]
    pub replication: Option<String>,
    /// Directory that receives sim/<scenario>/.
    #[arg(long)]
    pub reports: Option<PathBuf>,
    /// Turn off the signature memo shared between simulated nodes.
    #[arg(long)]
    pub no_memo: bool,
    /// Hub nodes, overriding the scenario's (hub topologies).
    #[arg(long)]
    pub hubs: Option<usize>,
    /// Follows per node, overriding the scenario's.
    #[arg(long)]
    pub follows: Option<usize>,
    /// Draw the scenario's knobs (nodes, topology, faults, Byzantine mix, method, …) from the
    /// seed, within the scenario's [swarm] ranges.
    #[arg(long)]
    pub swarm: bool,
    /// Override any scenario field: PATH=VALUE with a TOML value, e.g. --set nodes=12
    /// --set byzantine.forkers=0 --set 'faults.partition=[]'. Applied after --swarm.
    #[arg(long = "set", value_name = "PATH=VALUE")]
    pub sets: Vec<String>,
    /// Print the run's outcome as one JSON line and write no report (what sweeps run).
    #[arg(long, hide = true)]
    pub outcome_json: bool,
}

/// The scenario that `a` describes: loaded, seeded, drawn by the swarm, overridden.
pub fn scenario_of(a: &RunArgs) -> anyhow::Result<Scenario> {
    let name = a.scenario.as_deref().unwrap_or("smoke");
    let mut sc = Scenario::load(name).map_err(|e| anyhow::anyhow!(e))?;
    if let Some(s) = a.seed {
        sc.seed = s;
    }
    if a.swarm {
        ssb_sim::swarm::apply(&mut sc);
    }
    if let Some(n) = a.nodes {
        sc.nodes = n;
    }
    if let Some(r) = &a.replication {
        sc.replication = r.clone();
    }
    if a.no_memo {
        sc.signature_memo = false;
    }
    if let Some(h) = a.hubs {
        sc.topology.hubs = h;
    }
    if let Some(f) = a.follows {
        sc.follows.count = f;
    }
    for s in &a.sets {
        replay::set(&mut sc, s).map_err(|e| anyhow::anyhow!("--set {e}"))?;
    }
    sc.check().map_err(|e| anyhow::anyhow!(e))?;
    Ok(sc)
}

fn run_one(sc: &Scenario) -> anyhow::Result<Result<(Summary, RunFacts), ssb_sim::Violation>> {
    let bar = ProgressBar::new(sc.duration_s * 1000).with_style(
        ProgressStyle::with_template("{prefix:>14} [{bar:30}] {pos}/{len} simulated ms ({elapsed})")
            .expect("template")
            .progress_chars("=> "),
    );
    bar.set_prefix(format!("{} {}", sc.name, sc.replication));
    let started = Instant::now();
    let r = ssb_sim::run(sc, &mut |now, _| bar.set_position(now));
    bar.finish_and_clear();
    Ok(r.map(|s| {
        (
            s,
            RunFacts {
                wall_ms: started.elapsed().as_millis(),
                peak_rss_kb: report::peak_rss_kb(),
            },
        )
    }))
}

/// A run for a sweep: no report, one JSON line of outcome on stdout, exit 0 whatever it found.
fn outcome_json(a: &RunArgs) -> anyhow::Result<ExitCode> {
    let task = Task {
        scenario: a.scenario.clone().unwrap_or_default(),
        seed: a.seed.unwrap_or(1),
        swarm: a.swarm,
        sets: a.sets.clone(),
    };
    let started = Instant::now();
    let sc = match scenario_of(a) {
        Ok(sc) => sc,
        Err(e) => {
            let o = Outcome {
                task,
                replication: String::new(),
                nodes: 0,
                status: ssb_sim::sweep::RunStatus::Refused,
                invariant: None,
                what: Some(e.to_string()),
                replay: String::new(),
                not_exercised: Vec::new(),
                digest: None,
                shrunk: None,
                wall_ms: 0,
            };
            println!("{}", serde_json::to_string(&o)?);
            return Ok(ExitCode::SUCCESS);
        }
    };
    let r = ssb_sim::run(&sc, &mut |_, _| {});
    let mut o = Outcome::of(&task, &sc, &r);
    o.wall_ms = started.elapsed().as_millis() as u64;
    println!("{}", serde_json::to_string(&o)?);
    Ok(ExitCode::SUCCESS)
}

pub fn run(cli: SimCli, reports: PathBuf) -> anyhow::Result<ExitCode> {
    match cli.action {
        Some(SimAction::Sweep(a)) => return sweep_cmd::sweep(a, reports),
        Some(SimAction::SweepMerge(a)) => return sweep_cmd::merge(a, reports),
        None => {}
    }
    let a = cli.run;
    if a.outcome_json {
        return outcome_json(&a);
    }
    let sc = scenario_of(&a)?;
    let reports = a.reports.clone().unwrap_or(reports);
    let methods: Vec<String> = if sc.compare_replication {
        vec!["ebt".into(), "legacy".into()]
    } else {
        vec![sc.replication.clone()]
    };
    let dir = reports.join("sim").join(&sc.name);
    let mut results = Vec::new();
    for m in &methods {
        let mut s = sc.clone();
        s.replication = m.clone();
        match run_one(&s)? {
            Ok((summary, facts)) => {
                let ne = summary.invariants.not_exercised();
                println!(
                    "{} ({m}): no invariant violated{}; {} messages, convergence p50 {} ms, p99 {} ms, max {} ms; {} bytes per delivered message; {:.1} s wall",
                    s.name,
                    if ne.is_empty() { String::new() } else { format!(" (not exercised: {})", ne.join(", ")) },
                    summary.messages_published,
                    summary.convergence_ms.p50,
                    summary.convergence_ms.p99,
                    summary.convergence_ms.max,
                    summary.bytes_per_delivered,
                    facts.wall_ms as f64 / 1000.0
                );
                results.push((s, summary, facts));
            }
            Err(v) => {
                eprintln!("{v}");
                return Ok(ExitCode::FAILURE);
            }
        }
    }
    for (i, (s, summary, facts)) in results.iter().enumerate() {
        let sub = if i == 0 {
            dir.clone()
        } else {
            dir.join(&s.replication)
        };
        let written = report::write(&sub, s, summary, facts)?;
        for w in written {
            println!("wrote {}", w.display());
        }
    }
    if results.len() == 2 {
        let (e, l) = (&results[0].1, &results[1].1);
        let path = dir.join("comparison.md");
        let text = format!(
            "# EBT and createHistoryStream on one workload ({} nodes, seed {})\n\n| | EBT | legacy |\n|---|---:|---:|\n| bytes sent | {} | {} |\n| bytes per delivered message | {:.0} | {:.0} |\n| messages delivered | {} | {} |\n| duplicates | {} | {} |\n| convergence p50 / p99 (ms) | {} / {} | {} / {} |\n\nLegacy sends {:.2}× the bytes of EBT.\n",
            e.nodes,
            e.seed,
            e.bytes_sent,
            l.bytes_sent,
            e.bytes_per_delivered,
            l.bytes_per_delivered,
            e.messages_delivered,
            l.messages_delivered,
            e.duplicates,
            l.duplicates,
            e.convergence_ms.p50,
            e.convergence_ms.p99,
            l.convergence_ms.p50,
            l.convergence_ms.p99,
            l.bytes_sent as f64 / e.bytes_sent.max(1) as f64
        );
        std::fs::write(&path, text)?;
        println!("wrote {}", path.display());
    }
    Ok(ExitCode::SUCCESS)
}
