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
    },
    /// Vector files: generate them, or check the committed ones.
    Vectors {
        #[command(subcommand)]
        action: VectorsAction,
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
        Command::Check {
            adapter,
            suite,
            vectors,
            reports,
            deviations,
            timeout_ms,
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
