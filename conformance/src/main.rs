//! `ssb-harness`: the command line of the SSB conformance harness.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use clap::{CommandFactory, Parser, Subcommand};
use ssb_conformance::adapter::{Adapter, Process, Reference};
use ssb_conformance::deviations::Deviations;
use ssb_conformance::report::Report;
use ssb_conformance::rules::Rules;
use ssb_conformance::runner;
use ssb_conformance::selection::Requirements;
use ssb_conformance::{shs1, workspace_root};
use ssb_vectors::generate;

mod antientropy_cmd;
mod check_cmd;
mod node_cmd;
mod scaling_cmd;
mod sim_cmd;
mod sweep_cmd;

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
    ///
    /// Exit codes: 0 every case that ran passed (or is a documented deviation); 1 a case
    /// failed; 2 bad usage or setup (unknown suite or case, the adapter did not start);
    /// 3 nothing failed but a requirement does not hold (--require, --strict, or no case ran).
    Check {
        /// Adapter command (see conformance/ADAPTER.md); default: the built-in reference.
        #[arg(long)]
        adapter: Option<String>,
        /// Comma-separated suites; default: every suite. Suites the adapter does not list are
        /// skipped.
        #[arg(long, value_delimiter = ',')]
        suite: Vec<String>,
        /// Run only these cases (comma-separated ids such as boxstream/0007).
        #[arg(long, value_delimiter = ',')]
        case: Vec<String>,
        /// Exit 3 unless these suites (comma-separated) run with every case supported.
        #[arg(long, value_delimiter = ',')]
        require: Vec<String>,
        /// Exit 3 unless every selected suite runs with every case supported.
        #[arg(long)]
        strict: bool,
        /// Also write a JUnit XML report to this file.
        #[arg(long)]
        junit: Option<PathBuf>,
        /// Directory of vector files; default: the vectors compiled into this binary.
        #[arg(long)]
        vectors: Option<PathBuf>,
        /// Directory that receives conformance/<adapter>/ (report.json, report.md,
        /// report.html, failures.jsonl); default: ./reports.
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
        /// Run the built-in reference with this rule's fault switched on; `all`: run every
        /// rule's suite with its fault and write reports/conformance/faults.{md,json}.
        #[arg(long, conflicts_with = "adapter")]
        fault: Option<String>,
        /// Replay the cases of FILE (a vector file of one suite, such as a `fuzz` finding)
        /// instead of the vector directory's suites.
        #[arg(long)]
        cases: Option<PathBuf>,
    },
    /// Differential fuzzing: mutate the inputs of a suite's vectors, compare the adapter's
    /// answers with the reference's, and save each disagreement, shrunk, as a case file that
    /// `check --cases FILE` replays.
    Fuzz(FuzzArgs),
    /// Vector files: generate them, or check the committed ones.
    Vectors {
        #[command(subcommand)]
        action: VectorsAction,
    },
    /// Run a simulation scenario (sim/scenarios/NAME.toml or a path) and write
    /// reports/sim/<scenario>/; or sweep many seeds (`sim sweep`) and merge shards of a sweep
    /// (`sim sweep-merge`).
    Sim(sim_cmd::SimCli),
    /// Wall time and peak memory of one scenario at several sizes, each run in its own process
    /// (same per-node workload; hubs grow with the node count): reports/sim/scaling.md and
    /// scaling.svg.
    SimScaling(scaling_cmd::ScalingArgs),
    /// Suites × implementations from the reports, every disagreement classified:
    /// reports/conformance/matrix.{md,json}.
    Matrix(ssb_conformance::matrix::MatrixArgs),
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
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell) to standard output.
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
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
    let _logs = ssb_conformance::logging::init();
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
        Command::Sim(cli) => sim_cmd::run(cli, workspace_root().join("reports")),
        Command::SimScaling(a) => scaling_cmd::run(a),
        Command::Matrix(a) => ssb_conformance::matrix::run(a),
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
            fault: Some(rule),
            vectors,
            reports,
            ..
        } if rule == "all" => fault_table(vectors, reports),
        Command::Check {
            adapter,
            suite,
            case,
            require,
            strict,
            junit,
            vectors,
            reports,
            deviations,
            timeout_ms,
            fault,
            cases,
            ..
        } => check_cmd::run(check_cmd::CheckArgs {
            adapter,
            fault,
            case_file: cases,
            suites: suite,
            cases: case,
            vectors,
            reports: reports.unwrap_or_else(|| PathBuf::from("reports")),
            deviations,
            timeout: Duration::from_millis(timeout_ms),
            requirements: Requirements { require, strict },
            junit,
        }),
        Command::Fuzz(a) => fuzz(a),
        Command::Completions { shell } => {
            // Generated into memory first: clap_complete panics when its writer fails, and a
            // reader that closes the pipe early (`| grep -q`, `| head`) is not an error.
            let mut script = Vec::new();
            clap_complete::generate(shell, &mut Cli::command(), "ssb-harness", &mut script);
            match std::io::Write::write_all(&mut std::io::stdout().lock(), &script) {
                Ok(()) => Ok(ExitCode::SUCCESS),
                Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(ExitCode::SUCCESS),
                Err(e) => Err(e).context("writing the completion script"),
            }
        }
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
    let reports = a.reports.unwrap_or_else(|| PathBuf::from("reports"));
    let (json, md) = report.write(&reports.join("conformance").join(&a.name))?;
    println!("report: {} and {}", md.display(), json.display());
    Ok(if report.failures() == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// `check --fault all`: every rule's fault against its suite; writes the detection table.
fn fault_table(vectors: Option<PathBuf>, reports: Option<PathBuf>) -> anyhow::Result<ExitCode> {
    let vectors = vectors.unwrap_or_else(|| workspace_root().join("vectors"));
    let reports = reports.unwrap_or_else(|| workspace_root().join("reports"));
    let detections = ssb_conformance::faults::detect(&vectors, &Rules::builtin())?;
    let missed: Vec<&str> = detections
        .iter()
        .filter(|d| !d.caught)
        .map(|d| d.rule.as_str())
        .collect();
    let (json, md) = ssb_conformance::faults::write_table(&reports.join("conformance"), &detections)?;
    println!(
        "faults: {} rules, {} caught as required, missed: {}",
        detections.len(),
        detections.len() - missed.len(),
        if missed.is_empty() {
            "none".to_string()
        } else {
            missed.join(", ")
        }
    );
    println!("table: {} and {}", md.display(), json.display());
    Ok(if missed.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

#[derive(clap::Args)]
struct FuzzArgs {
    /// Adapter command of the implementation under test (see conformance/ADAPTER.md).
    #[arg(long)]
    adapter: String,
    /// Comma-separated suites whose inputs are mutated; the time is shared between them.
    #[arg(long, value_delimiter = ',', required = true)]
    suite: Vec<String>,
    /// How long to fuzz in all (60s, 2m, 500ms).
    #[arg(long, default_value = "60s", value_parser = ssb_conformance::difffuzz::parse_duration)]
    time: Duration,
    /// Stop after this many mutants per suite, if the time is not up first.
    #[arg(long, default_value_t = u64::MAX)]
    max_mutants: u64,
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Directory of vector files.
    #[arg(long)]
    vectors: Option<PathBuf>,
    /// TOML file of documented deviations: mutants of a case it covers are not findings.
    #[arg(long)]
    deviations: Option<PathBuf>,
    /// Directory that receives fuzz/<adapter>/<suite>-fNNN.json.
    #[arg(long)]
    reports: Option<PathBuf>,
    /// Count two refusals with different kinds as a disagreement too.
    #[arg(long)]
    strict_kinds: bool,
    /// Time limit for one adapter request.
    #[arg(long, default_value_t = 10_000)]
    timeout_ms: u64,
}

fn fuzz(a: FuzzArgs) -> anyhow::Result<ExitCode> {
    use ssb_conformance::difffuzz;
    let vectors = a.vectors.unwrap_or_else(|| workspace_root().join("vectors"));
    let reports = a.reports.unwrap_or_else(|| workspace_root().join("reports"));
    let deviations = match &a.deviations {
        Some(p) => Deviations::load(p)?,
        None => Deviations::default(),
    };
    let (mut adapter, _) = Process::start(&a.adapter, Duration::from_millis(a.timeout_ms))
        .map_err(|e| anyhow::anyhow!("adapter {:?}: {e:?}", a.adapter))?;
    let out = reports.join("fuzz").join(adapter.name());
    let per_suite = a.time / a.suite.len().max(1) as u32;
    let mut findings = 0;
    for suite in &a.suite {
        let file = runner::load_suite(&vectors, suite)?;
        let cfg = difffuzz::Config {
            suite: suite.clone(),
            time: per_suite,
            max_mutants: a.max_mutants,
            seed: a.seed,
            out: out.clone(),
            strict_kinds: a.strict_kinds,
        };
        let s = difffuzz::run(&cfg, &file, &mut adapter, &mut Reference, &deviations)?;
        println!(
            "{suite}: {} mutants, {} agree, {} not comparable (the reference refused the arguments), \
             {} documented deviations, {} refused with another kind, {} findings",
            s.mutants,
            s.agreements,
            s.malformed,
            s.documented,
            s.kind_differences,
            s.findings.len()
        );
        for f in &s.findings {
            println!(
                "  {}: {} -> adapter {}, reference {}",
                f.path.display(),
                f.op,
                f.adapter,
                f.reference
            );
        }
        findings += s.findings.len();
    }
    Ok(if findings == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
