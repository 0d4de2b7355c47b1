//! `ssb-harness check` against vectors: picks suites and cases, runs them through the adapter
//! with a progress bar, prints a line per suite and every failing case id with a one-line
//! reason, writes the reports (`report.{json,md,html}`, `failures.jsonl`, and `--junit FILE`),
//! and returns the exit code of [`ExitStatus`].

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};
use serde_json::Value;
use ssb_conformance::adapter::{Adapter, CallError, Process, Reference};
use ssb_conformance::deviations::Deviations;
use ssb_conformance::report::Report;
use ssb_conformance::rules::Rules;
use ssb_conformance::runner::{self, Status, SuiteResult};
use ssb_conformance::selection::{self, ExitStatus, Requirements, VectorSource};
use ssb_conformance::{junit, logging, workspace_root};

/// Failing cases listed per suite on the terminal; the reports hold every one.
const MAX_LISTED: usize = 25;

pub struct CheckArgs {
    pub adapter: Option<String>,
    /// Run the built-in reference with this rule's fault switched on (`--fault RULE`).
    pub fault: Option<String>,
    /// Replay the cases of this vector-schema file (`--cases FILE`) instead of the suites.
    pub case_file: Option<PathBuf>,
    pub suites: Vec<String>,
    pub cases: Vec<String>,
    pub vectors: Option<PathBuf>,
    pub reports: PathBuf,
    pub deviations: Option<PathBuf>,
    pub timeout: Duration,
    pub requirements: Requirements,
    pub junit: Option<PathBuf>,
}

/// The first line of `s`, cut to `n` characters.
fn one_line(s: &str, n: usize) -> String {
    let first = s.lines().next().unwrap_or("");
    let mut out: String = first.chars().take(n).collect();
    if first.chars().count() > n || s.lines().nth(1).is_some() {
        out.push('…');
    }
    out
}

fn print_suite(r: &SuiteResult) {
    println!(
        "{}: {} cases, {} pass, {} fail, {} documented deviations, {} unsupported",
        r.suite,
        r.cases.len(),
        r.count(Status::Pass),
        r.count(Status::Fail),
        r.count(Status::Deviation),
        r.count(Status::Unsupported)
    );
    let failing: Vec<_> = r.cases.iter().filter(|c| c.status == Status::Fail).collect();
    for c in failing.iter().take(MAX_LISTED) {
        println!("  FAIL {} [{}]: {}", c.id, c.rule, one_line(&c.reason, 160));
    }
    if failing.len() > MAX_LISTED {
        println!(
            "  … and {} more failing cases (every one is in report.md and failures.jsonl)",
            failing.len() - MAX_LISTED
        );
    }
}

pub fn run(a: CheckArgs) -> anyhow::Result<ExitCode> {
    let source = match &a.vectors {
        Some(d) => VectorSource::Dir(d.clone()),
        None => VectorSource::Embedded,
    };
    // Load (and select from) every file before starting the adapter: a bad --case is a usage
    // error, reported before anything runs. A case file replaces the suites: its one suite, its
    // cases.
    let mut files = Vec::new();
    match &a.case_file {
        Some(p) => {
            let mut file = ssb_vectors::VectorFile::load(p)?;
            selection::select_cases(&mut file, &a.cases)?;
            files.push(file);
        }
        None => {
            let wanted = selection::suites_to_run(&a.suites, &a.cases, &a.requirements.require)?;
            for suite in &wanted {
                let mut file = source.load(suite)?;
                selection::select_cases(&mut file, &a.cases)?;
                files.push(file);
            }
        }
    }
    let deviations = match &a.deviations {
        Some(p) => Deviations::load(p)?,
        None => Deviations::default(),
    };
    let rules = Rules::builtin();
    let (mut adapter, caps): (Box<dyn Adapter>, Value) = match (&a.adapter, &a.fault) {
        (None, Some(rule)) => {
            let f = ssb_conformance::faults::fault(rule)
                .ok_or_else(|| anyhow::anyhow!("--fault {rule}: no fault switch for that rule"))?;
            (
                Box::new(ssb_conformance::faults::Faulty(f)),
                ssb_vectors::reference::capabilities(),
            )
        }
        (None, None) => (Box::new(Reference), ssb_vectors::reference::capabilities()),
        (Some(cmd), _) => {
            let (p, caps) = Process::start(cmd, a.timeout).map_err(|e| match e {
                CallError::Transport(m) => anyhow::anyhow!("adapter {cmd:?} did not start: {m}"),
                CallError::Op { kind, message } => {
                    anyhow::anyhow!("adapter {cmd:?} answered capabilities with error {kind}: {message}")
                }
            })?;
            (Box::new(p), caps)
        }
    };
    let supported: Vec<String> = caps
        .get("suites")
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(|s| s.as_str().map(str::to_string)).collect())
        .unwrap_or_default();
    let mut results: Vec<SuiteResult> = Vec::new();
    for file in &files {
        if !supported.contains(&file.suite) {
            let r = SuiteResult {
                suite: file.suite.clone(),
                skipped: Some("not in the adapter's capabilities".into()),
                counts: Default::default(),
                cases: vec![],
            };
            println!("{}: skipped (not in the adapter's capabilities)", r.suite);
            results.push(r);
            continue;
        }
        let bar = ProgressBar::new(file.cases.len() as u64).with_style(
            ProgressStyle::with_template("{prefix:>14} [{bar:30}] {pos}/{len}")
                .expect("template")
                .progress_chars("=> "),
        );
        bar.set_prefix(file.suite.clone());
        let r = logging::with_bar(&bar, || {
            runner::run_suite(adapter.as_mut(), file, &rules, &deviations, || bar.inc(1))
        });
        bar.finish_and_clear();
        print_suite(&r);
        results.push(r);
    }
    if a.cases.is_empty() && a.case_file.is_none() {
        for w in deviations.unused(&results) {
            eprintln!("warning: {w}");
        }
    }
    let report = Report {
        adapter: adapter.name(),
        capabilities: caps,
        // Relative to the workspace when inside it, so a report reads the same on every machine.
        vectors: source.describe(&workspace_root()),
        suites: &results,
        rules: &rules,
    };
    let mut dir = a.reports.join("conformance").join(adapter.name());
    if let Some(p) = &a.case_file {
        // A replayed case file gets its own report, beside the adapter's full one.
        let stem = p
            .file_stem()
            .map_or("cases".into(), |s| s.to_string_lossy().to_string());
        dir = dir.join("cases").join(ssb_conformance::adapter::sanitize(&stem));
    }
    let written = report.write_all(&dir)?;
    for p in &written {
        println!("report: {}", p.display());
    }
    if let Some(path) = &a.junit {
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent)?;
        }
        std::fs::write(path, junit::render(&report))?;
        println!("junit: {}", path.display());
    }
    let status = a.requirements.status(&results);
    for line in a.requirements.unmet(&results) {
        println!("requirement not met: {line}");
    }
    let word = match status {
        ExitStatus::Pass => "PASS",
        ExitStatus::Fail => "FAIL",
        ExitStatus::Unmet => "REQUIREMENT NOT MET",
        ExitStatus::Error => "ERROR",
    };
    let all = results.iter().flat_map(|r| &r.cases);
    println!(
        "{word}: {} cases, {} pass, {} fail, {} documented deviations, {} unsupported, {} suites skipped (exit {})",
        all.clone().count(),
        all.clone().filter(|c| c.status == Status::Pass).count(),
        report.failures(),
        all.clone().filter(|c| c.status == Status::Deviation).count(),
        all.clone().filter(|c| c.status == Status::Unsupported).count(),
        results.iter().filter(|r| r.skipped.is_some()).count(),
        status as u8
    );
    Ok(ExitCode::from(status as u8))
}
