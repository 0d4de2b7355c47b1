//! `ssb-harness sim SCENARIO`: runs a simulation with a progress bar and writes
//! `reports/sim/<scenario>/` (summary.json, report.md, plots). A violated invariant stops the
//! run: the seed and the command that replays it are printed, and the exit code is 1.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use indicatif::{ProgressBar, ProgressStyle};
use ssb_sim::report::{self, RunFacts};
use ssb_sim::{Scenario, Summary};

pub struct SimArgs {
    pub scenario: String,
    pub seed: Option<u64>,
    pub nodes: Option<usize>,
    pub replication: Option<String>,
    pub reports: PathBuf,
    pub no_memo: bool,
    pub hubs: Option<usize>,
    pub follows: Option<usize>,
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

pub fn run(a: SimArgs) -> anyhow::Result<ExitCode> {
    let mut sc = Scenario::load(&a.scenario).map_err(|e| anyhow::anyhow!(e))?;
    if let Some(s) = a.seed {
        sc.seed = s;
    }
    if let Some(n) = a.nodes {
        sc.nodes = n;
    }
    if let Some(r) = a.replication {
        sc.replication = r;
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
    sc.check().map_err(|e| anyhow::anyhow!(e))?;
    let methods: Vec<String> = if sc.compare_replication {
        vec!["ebt".into(), "legacy".into()]
    } else {
        vec![sc.replication.clone()]
    };
    let dir = a.reports.join("sim").join(&sc.name);
    let mut results = Vec::new();
    for m in &methods {
        let mut s = sc.clone();
        s.replication = m.clone();
        match run_one(&s)? {
            Ok((summary, facts)) => {
                println!(
                    "{} ({m}): invariants held; {} messages, convergence p50 {} ms, p99 {} ms, max {} ms; {} bytes per delivered message; {:.1} s wall",
                    s.name,
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
