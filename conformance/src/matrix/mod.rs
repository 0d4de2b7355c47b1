//! The conformance matrix (`ssb-harness matrix`): every vector suite and the live-peer suite
//! against every implementation, read from the per-implementation reports
//! (`reports/conformance/<name>/report.json`), and below it every disagreement classified as
//! their bug, spec ambiguity, documented deviation, or ours (open, or fixed). The classification is data:
//! the `class` and `finding` of each entry in the implementation's deviations file, and the
//! `[[fixed]]` entries of the registry (`conformance/implementations.toml`); this module only
//! joins them with the reports and flags what is left unclassified.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::deviations::Class;
use crate::rules::Rules;
use crate::runner::Status;

mod build;
mod render;
mod rerun;

pub use build::build;
pub use rerun::rerun;

/// The registry's path from the workspace root.
pub const REGISTRY: &str = "conformance/implementations.toml";
/// Where the reports live, from the workspace root; the matrix is written there too.
pub const REPORTS: &str = "reports/conformance";

/// The suite of live-peer checks (`check --peer`), shown after the vector suites.
const LIVE: &str = "live";

/// The registry: which implementations the matrix shows, and the disagreements that were ours.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Registry {
    #[serde(rename = "implementation")]
    pub implementations: Vec<ImplSpec>,
    #[serde(default, rename = "fixed")]
    pub fixed: Vec<Fixed>,
}

/// One implementation: a column of the matrix.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ImplSpec {
    /// Column heading.
    pub name: String,
    /// What it is (libraries, versions).
    pub title: String,
    /// Our own implementation: its disagreements with the vectors are ours, never classified away.
    #[serde(default)]
    pub ours: bool,
    /// Folders under `conformance/adapters/` that belong to it (so they do not show twice).
    #[serde(default)]
    pub adapters: Vec<String>,
    #[serde(default, rename = "report")]
    pub reports: Vec<ReportSpec>,
}

/// One report of an implementation (vector suites through an adapter, or a live peer).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReportSpec {
    /// `reports/conformance/<dir>/report.json`.
    pub dir: String,
    /// The deviations file the report was checked with, from the workspace root.
    #[serde(default)]
    pub deviations: Option<String>,
    /// The suites it covers, so that a missing report shows in those rows.
    #[serde(default)]
    pub suites: Vec<String>,
    /// The shell command that rewrites the report (`--run`); `{harness}` is this binary.
    #[serde(default)]
    pub run: Option<String>,
    /// Programs `run` needs on PATH; without them `--run` keeps the committed report.
    #[serde(default)]
    pub needs: Vec<String>,
}

/// A disagreement that was ours: fixed, and the cases that now cover it.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Fixed {
    pub suite: String,
    #[serde(default)]
    pub flag: Option<String>,
    #[serde(default)]
    pub cases: Vec<String>,
    /// The implementation whose run showed it.
    pub found_with: String,
    /// The commit that fixed it.
    pub commit: String,
    pub summary: String,
}

impl Registry {
    pub fn load(path: &Path) -> anyhow::Result<Self> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| anyhow::anyhow!("cannot read registry {}: {e}", path.display()))?;
        toml::from_str(&text).map_err(|e| anyhow::anyhow!("registry {}: {e}", path.display()))
    }
}

// ---- the matrix ----

/// Case counts of one suite in one report.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Counts {
    pub total: usize,
    pub pass: usize,
    pub fail: usize,
    pub deviation: usize,
    pub unsupported: usize,
}

impl Counts {
    fn add(&mut self, s: Status) {
        self.total += 1;
        match s {
            Status::Pass => self.pass += 1,
            Status::Fail => self.fail += 1,
            Status::Deviation => self.deviation += 1,
            Status::Unsupported => self.unsupported += 1,
        }
    }
}

/// One report's part of a cell.
#[derive(Debug, Clone, Serialize)]
pub struct Part {
    pub report: String,
    /// `pass`, `fail`, `deviation`, `unsupported` or `no-report`.
    pub status: &'static str,
    pub counts: Counts,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub skipped: Option<String>,
}

impl Part {
    fn new(report: &str, counts: Counts, skipped: Option<String>) -> Part {
        let status = if skipped.is_some() || counts.total == counts.unsupported {
            "unsupported"
        } else if counts.fail > 0 {
            "fail"
        } else if counts.deviation > 0 {
            "deviation"
        } else {
            "pass"
        };
        Part {
            report: report.to_string(),
            status,
            counts,
            skipped,
        }
    }

    fn missing(report: &str) -> Part {
        Part {
            report: report.to_string(),
            status: "no-report",
            counts: Counts::default(),
            skipped: None,
        }
    }

    fn text(&self) -> String {
        let c = &self.counts;
        match self.status {
            "no-report" => "**no report**".into(),
            "unsupported" => match &self.skipped {
                Some(_) => "unsupported".into(),
                None => format!("unsupported {}", c.total),
            },
            _ => {
                let mut t = match self.status {
                    "fail" => format!("**FAIL {}** · ", c.fail),
                    "deviation" => format!("dev {} · ", c.deviation),
                    _ => String::new(),
                };
                if self.status == "fail" && c.deviation > 0 {
                    let _ = write!(t, "dev {} · ", c.deviation);
                }
                let _ = write!(t, "pass {}/{}", c.pass, c.total);
                if c.unsupported > 0 {
                    let _ = write!(t, " · unsup {}", c.unsupported);
                }
                t
            }
        }
    }
}

/// A report of one implementation, found or missing.
#[derive(Debug, Clone, Serialize)]
pub struct ReportInfo {
    pub dir: String,
    pub present: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub adapter: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deviations: Option<String>,
}

/// One column.
#[derive(Debug, Clone, Serialize)]
pub struct Column {
    pub name: String,
    pub title: String,
    pub ours: bool,
    /// Not in the registry: found as a report or an adapter folder.
    pub unlisted: bool,
    pub reports: Vec<ReportInfo>,
}

/// How one implementation treats the cases of a disagreement.
#[derive(Debug, Clone, Serialize)]
pub struct Verdict {
    pub implementation: String,
    /// `as-vectors` (every case passes), `differs` (one deviates or fails), `unsupported`,
    /// or `not-run` (no report holds them).
    pub verdict: &'static str,
}

/// One disagreement: the failing or deviating cases of one implementation that one deviations
/// entry covers (or that none covers).
#[derive(Debug, Clone, Serialize)]
pub struct Disagreement {
    pub implementation: String,
    pub report: String,
    pub suite: String,
    /// `their-bug`, `spec-ambiguity`, `deviation`, or `None` when unclassified.
    pub class: Option<Class>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub finding: Option<String>,
    /// What the entry covers (`flag x` or case ids); empty when no entry covers the cases.
    pub covers: String,
    pub reason: String,
    pub cases: Vec<String>,
    /// The rules the cases check, with their statements: the vectors' reading.
    pub rules: BTreeMap<String, String>,
    /// How every implementation treats the same cases.
    pub network: Vec<Verdict>,
    /// For a spec ambiguity: whether most implementations that run the cases read them as the
    /// vectors do (`vectors`), otherwise (`other`), or neither (`split`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub majority: Option<&'static str>,
}

/// A fixed disagreement of ours, with the cases that now cover it.
#[derive(Debug, Clone, Serialize)]
pub struct Ours {
    #[serde(flatten)]
    pub fixed: Fixed,
    pub covered_by: Vec<String>,
    pub network: Vec<Verdict>,
}

/// The whole matrix.
#[derive(Debug, Clone, Serialize)]
pub struct Matrix {
    pub columns: Vec<Column>,
    pub suites: Vec<String>,
    /// suite → implementation → parts (one per report holding the suite).
    pub cells: BTreeMap<String, BTreeMap<String, Vec<Part>>>,
    pub disagreements: Vec<Disagreement>,
    pub ours: Vec<Ours>,
    /// Every page under `reports/findings/` → the disagreements whose entry names it (none for a
    /// bug found outside the vector suites, in an interop test for example).
    pub findings: BTreeMap<String, Vec<String>>,
    /// What is left unclassified or inconsistent; the command fails when this is not empty.
    pub flagged: Vec<String>,
}

/// `ssb-harness matrix`.
#[derive(Debug, clap::Args)]
pub struct MatrixArgs {
    /// Workspace (or fixture tree) holding reports/conformance/ and conformance/adapters/.
    #[arg(long)]
    pub root: Option<PathBuf>,
    /// The registry; default: <root>/conformance/implementations.toml.
    #[arg(long)]
    pub registry: Option<PathBuf>,
    /// Re-run each report's check first where its toolchain is on PATH.
    #[arg(long)]
    pub run: bool,
}

/// Runs the command: writes the matrix; fails (exit 1) when something is left unclassified.
pub fn run(a: MatrixArgs) -> anyhow::Result<std::process::ExitCode> {
    let root = a.root.unwrap_or_else(crate::workspace_root);
    let registry = Registry::load(&a.registry.unwrap_or_else(|| root.join(REGISTRY)))?;
    if a.run {
        let harness = std::env::current_exe()?;
        for line in rerun(&root, &registry, &harness) {
            println!("{line}");
        }
    }
    let m = build(&root, &registry, &Rules::builtin());
    let (json, md) = m.write(&root)?;
    let class = |c: Option<Class>| m.disagreements.iter().filter(|d| d.class == c).count();
    println!(
        "matrix: {} implementations ({} without a report), {} suites; disagreements: {} their bugs, {} spec ambiguities, {} deviations, {} ours open, {} unclassified; {} ours fixed",
        m.columns.len(),
        m.columns.iter().filter(|c| c.reports.iter().all(|r| !r.present)).count(),
        m.suites.len(),
        class(Some(Class::TheirBug)),
        class(Some(Class::SpecAmbiguity)),
        class(Some(Class::Deviation)),
        class(Some(Class::Ours)),
        class(None),
        m.ours.len()
    );
    for f in &m.flagged {
        println!("flagged: {f}");
    }
    println!("matrix: {} and {}", md.display(), json.display());
    Ok(if m.flagged.is_empty() {
        std::process::ExitCode::SUCCESS
    } else {
        std::process::ExitCode::FAILURE
    })
}
