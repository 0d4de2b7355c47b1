//! `ssb-harness`: the command line of the SSB conformance harness.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use clap::{Parser, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};
use serde_json::Value;
use ssb_conformance::adapter::{Adapter, Process, Reference};
use ssb_conformance::deviations::Deviations;
use ssb_conformance::report::Report;
use ssb_conformance::rules::Rules;
use ssb_conformance::runner::{self, SuiteResult};
use ssb_conformance::{shs1, workspace_root};
use ssb_vectors::generate;

mod antientropy_cmd;
mod node_cmd;
mod scaling_cmd;
mod sim_cmd;

#[derive(Parser)]
#[command(
    name = "ssb-harness",
    version,
    about = "Conformance harness for Secure Scuttlebutt implementations"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run vector suites against an implementation and write a report.
    Check {
        /// Adapter command (see conformance/ADAPTER.md); default: the built-in reference.
        #[arg(long)]
        adapter: Option<String>,
        /// Comma-separated suites; default: every suite the adapter supports.
        #[arg(long, value_delimiter = ',')]
        suite: Vec<String>,
        /// Directory of vector files.
        #[arg(long)]
        vectors: Option<PathBuf>,
        /// Directory that receives conformance/<adapter>/report.{json,md}.
        #[arg(long)]
        reports: Option<PathBuf>,
        /// TOML file of documented deviations of this implementation.
        #[arg(long)]
        deviations: Option<PathBuf>,
        /// Time limit for one adapter request.
        #[arg(long, default_value_t = 10_000)]
        timeout_ms: u64,
        /// Check a running peer at HOST:PORT instead of vectors (suite `live`).
        #[arg(long, requires = "peer_id")]
        peer: Option<String>,
        /// The peer's identity (@...ed25519).
        #[arg(long)]
        peer_id: Option<String>,
        /// Seed of the harness identity whose feed the peer must replicate (`--print-harness-id`).
        #[arg(long, default_value = "default")]
        harness_seed: String,
        /// Print the two harness feed ids for --harness-seed (the peer must replicate both) and
        /// exit.
        #[arg(long)]
        print_harness_id: bool,
        /// Network key (base64) of the peer; default: the main network's.
        #[arg(long)]
        network_key: Option<String>,
        /// Report name for a live check: reports/conformance/<NAME>/.
        #[arg(long, default_value = "peer")]
        name: String,
        /// Seconds the peer has to replicate the harness feed.
        #[arg(long, default_value_t = 20)]
        replicate_timeout_s: u64,
    },
    /// Vector files: generate them, or check the committed ones.
    Vectors {
        #[command(subcommand)]
        action: VectorsAction,
    },
    /// Run a simulation scenario (sim/scenarios/NAME.toml or a path) and write
    /// reports/sim/<scenario>/.
    Sim {
        scenario: String,
        #[arg(long)]
        seed: Option<u64>,
        #[arg(long)]
        nodes: Option<usize>,
        /// Replication method, overriding the scenario's (ebt or legacy).
        #[arg(long)]
        replication: Option<String>,
        /// Directory that receives sim/<scenario>/.
        #[arg(long)]
        reports: Option<PathBuf>,
        /// Turn off the signature memo shared between simulated nodes.
        #[arg(long)]
        no_memo: bool,
        /// Hub nodes, overriding the scenario's (hub topologies).
        #[arg(long)]
        hubs: Option<usize>,
        /// Follows per node, overriding the scenario's.
        #[arg(long)]
        follows: Option<usize>,
    },
    /// Wall time and peak memory of one scenario at several sizes, each run in its own process
    /// (same per-node workload; hubs grow with the node count): reports/sim/scaling.md and
    /// scaling.svg.
    SimScaling(scaling_cmd::ScalingArgs),
    /// Anti-entropy after van Renesse et al. (reconciliation orderings, flow control) and the
    /// same measures of EBT and createHistoryStream under a bandwidth cap:
    /// reports/sim/antientropy/.
    Antientropy(antientropy_cmd::AntientropyArgs),
    /// Run the reference node: a long-running SSB peer on real TCP.
    Node(node_cmd::NodeArgs),
    /// Verify a node's store (every record, signature, chain, index and blob); with --repair,
    /// truncate a torn tail and rebuild indexes. Exits 1 if it finds damage.
    Doctor {
        /// The node's data directory.
        dir: PathBuf,
        #[arg(long)]
        repair: bool,
    },
    /// Test an executable in the shs1-testsuite exe protocol with generated peers.
    Shs1 {
        /// The role the executable plays.
        #[arg(value_enum)]
        role: shs1::Role,
        /// The executable.
        exe: String,
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Time limit for one test.
        #[arg(long, default_value_t = 5_000)]
        timeout_ms: u64,
    },
}

#[derive(Subcommand)]
enum VectorsAction {
    /// Regenerate every vector file from the reference implementation.
    Generate {
        #[arg(long, default_value_t = generate::DEFAULT_SEED)]
        seed: u64,
        /// Output directory; default: the workspace's vectors/.
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Check that the committed vector files equal what the generator produces.
    Verify {
        #[arg(long, default_value_t = generate::DEFAULT_SEED)]
        seed: u64,
        #[arg(long)]
        dir: Option<PathBuf>,
    },
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_writer(std::io::stderr)
        .init();
    match run(Cli::parse()) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("ssb-harness: {e:#}");
            ExitCode::from(2)
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Node(args) => node_cmd::run(args),
        Command::Sim {
            scenario,
            seed,
            nodes,
            replication,
            reports,
            no_memo,
            hubs,
            follows,
        } => sim_cmd::run(sim_cmd::SimArgs {
            scenario,
            seed,
            nodes,
            replication,
            reports: reports.unwrap_or_else(|| workspace_root().join("reports")),
            no_memo,
            hubs,
            follows,
        }),
        Command::SimScaling(a) => scaling_cmd::run(a),
        Command::Antientropy(a) => antientropy_cmd::run(a, workspace_root()),
        Command::Doctor { dir, repair } => {
            let report = ssb_impl::store::doctor::run(&dir, repair)
                .with_context(|| format!("checking {}", dir.display()))?;
            print!("{report}");
            if !report.is_clean() && report.is_sound() {
                println!("no corruption: only an index behind the log, which opening the store catches up");
            }
            Ok(if report.is_sound() {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            })
        }
        Command::Check {
            reports,
            deviations,
            peer,
            peer_id,
            harness_seed,
            print_harness_id,
            network_key,
            name,
            replicate_timeout_s,
            ..
        } if peer.is_some() || print_harness_id => live_check(LiveArgs {
            peer,
            peer_id,
            harness_seed,
            print_harness_id,
            network_key,
            name,
            reports,
            deviations,
            replicate_timeout: Duration::from_secs(replicate_timeout_s),
        }),
        Command::Check {
            adapter,
            suite,
            vectors,
            reports,
            deviations,
            timeout_ms,
            ..
        } => check(
            adapter,
            suite,
            vectors,
            reports,
            deviations,
            Duration::from_millis(timeout_ms),
        ),
        Command::Vectors {
            action: VectorsAction::Generate { seed, out },
        } => {
            let dir = out.unwrap_or_else(|| workspace_root().join("vectors"));
            for path in
                generate::write_all(&dir, seed).with_context(|| format!("writing {}", dir.display()))?
            {
                println!("wrote {}", path.display());
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Vectors {
            action: VectorsAction::Verify { seed, dir },
        } => {
            let dir = dir.unwrap_or_else(|| workspace_root().join("vectors"));
            let mut drift = 0;
            for (name, file) in generate::generate_all(seed) {
                let path = dir.join(&name);
                let committed = std::fs::read_to_string(&path).unwrap_or_default();
                if committed == file.to_json() {
                    println!("{name}: up to date ({} cases)", file.cases.len());
                } else {
                    println!("{name}: DIFFERS from the generator (run `ssb-harness vectors generate`)");
                    drift += 1;
                }
            }
            Ok(if drift == 0 {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            })
        }
        Command::Shs1 {
            role,
            exe,
            seed,
            timeout_ms,
        } => {
            let results = shs1::run(&exe, role, seed, Duration::from_millis(timeout_ms));
            let mut failed = 0;
            for r in &results {
                match &r.error {
                    None => println!("ok {} - {}", r.number, r.description),
                    Some(e) => {
                        failed += 1;
                        println!("not ok {} - {}: {e}", r.number, r.description);
                    }
                }
            }
            println!(
                "shs1 {role:?} seed {seed}: {} passed, {failed} failed",
                results.len() - failed
            );
            Ok(if failed == 0 {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            })
        }
    }
}

fn check(
    adapter_cmd: Option<String>,
    suites: Vec<String>,
    vectors: Option<PathBuf>,
    reports: Option<PathBuf>,
    deviations: Option<PathBuf>,
    timeout: Duration,
) -> anyhow::Result<ExitCode> {
    let vectors = vectors.unwrap_or_else(|| workspace_root().join("vectors"));
    let reports = reports.unwrap_or_else(|| workspace_root().join("reports"));
    let deviations = match deviations {
        Some(p) => Deviations::load(&p)?,
        None => Deviations::default(),
    };
    let rules = Rules::builtin();
    let (mut adapter, caps): (Box<dyn Adapter>, Value) = match &adapter_cmd {
        None => (Box::new(Reference), ssb_vectors::reference::capabilities()),
        Some(cmd) => {
            let (p, caps) =
                Process::start(cmd, timeout).map_err(|e| anyhow::anyhow!("adapter {cmd:?}: {e:?}"))?;
            (Box::new(p), caps)
        }
    };
    let supported: Vec<String> = caps
        .get("suites")
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(|s| s.as_str().map(str::to_string)).collect())
        .unwrap_or_default();
    let wanted: Vec<String> = if suites.is_empty() {
        generate::SUITES.iter().map(|(n, _)| n.to_string()).collect()
    } else {
        suites
    };
    let mut results: Vec<SuiteResult> = Vec::new();
    for suite in &wanted {
        if !supported.contains(suite) {
            results.push(SuiteResult {
                suite: suite.clone(),
                skipped: Some("not in the adapter's capabilities".into()),
                counts: Default::default(),
                cases: vec![],
            });
            continue;
        }
        let file = runner::load_suite(&vectors, suite)?;
        let bar = ProgressBar::new(file.cases.len() as u64).with_style(
            ProgressStyle::with_template("{prefix:>10} [{bar:30}] {pos}/{len}")
                .expect("template")
                .progress_chars("=> "),
        );
        bar.set_prefix(suite.clone());
        let r = runner::run_suite(adapter.as_mut(), &file, &rules, &deviations, || bar.inc(1));
        bar.finish_and_clear();
        println!(
            "{suite}: {} cases, {} pass, {} fail, {} documented deviations, {} unsupported",
            r.cases.len(),
            r.count(runner::Status::Pass),
            r.count(runner::Status::Fail),
            r.count(runner::Status::Deviation),
            r.count(runner::Status::Unsupported)
        );
        results.push(r);
    }
    let report = Report {
        adapter: adapter.name(),
        capabilities: caps,
        // Relative to the workspace when inside it, so a report reads the same on every machine.
        vectors: vectors
            .strip_prefix(workspace_root())
            .unwrap_or(&vectors)
            .display()
            .to_string(),
        suites: &results,
        rules: &rules,
    };
    let dir = reports.join("conformance").join(adapter.name());
    let (json, md) = report.write(&dir)?;
    println!("report: {} and {}", md.display(), json.display());
    Ok(if report.failures() == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

struct LiveArgs {
    peer: Option<String>,
    peer_id: Option<String>,
    harness_seed: String,
    print_harness_id: bool,
    network_key: Option<String>,
    name: String,
    reports: Option<PathBuf>,
    deviations: Option<PathBuf>,
    replicate_timeout: Duration,
}

fn live_check(a: LiveArgs) -> anyhow::Result<ExitCode> {
    let harness = ssb_conformance::live::harness_keys(&a.harness_seed).id();
    if a.print_harness_id {
        println!("{harness}");
        println!("{}", ssb_conformance::live::tie_keys(&a.harness_seed).id());
        return Ok(ExitCode::SUCCESS);
    }
    let addr = a.peer.expect("clap requires --peer here");
    let peer_id = a.peer_id.expect("clap requires --peer-id with --peer");
    let peer_id = ssb_impl::FeedId::parse(&peer_id).map_err(|e| anyhow::anyhow!("--peer-id: {e}"))?;
    let mut network_key = ssb_impl::node::runtime::MAIN_NETWORK_KEY;
    if let Some(k) = &a.network_key {
        let b = ssb_impl::legacy::message::canonical_b64(k)
            .filter(|b| b.len() == 32)
            .ok_or_else(|| anyhow::anyhow!("--network-key is not 32 bytes of base64"))?;
        network_key.copy_from_slice(&b);
    }
    let deviations = match &a.deviations {
        Some(p) => Deviations::load(p)?,
        None => Deviations::default(),
    };
    let rules = Rules::builtin();
    let cfg = ssb_conformance::live::LiveConfig {
        addr: addr.clone(),
        peer_id,
        network_key,
        harness_seed: a.harness_seed.clone(),
        feed_len: 10,
        replicate_timeout: a.replicate_timeout,
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let result = rt.block_on(ssb_conformance::live::run(cfg, rules.clone(), deviations))?;
    println!(
        "live: {} cases, {} pass, {} fail, {} documented deviations",
        result.cases.len(),
        result.count(runner::Status::Pass),
        result.count(runner::Status::Fail),
        result.count(runner::Status::Deviation)
    );
    let results = [result];
    let report = Report {
        adapter: a.name.clone(),
        capabilities: serde_json::json!({"peer": peer_id.to_string(), "harness": harness.to_string()}),
        vectors: "live peer".into(),
        suites: &results,
        rules: &rules,
    };
    let reports = a.reports.unwrap_or_else(|| workspace_root().join("reports"));
    let (json, md) = report.write(&reports.join("conformance").join(&a.name))?;
    println!("report: {} and {}", md.display(), json.display());
    Ok(if report.failures() == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
