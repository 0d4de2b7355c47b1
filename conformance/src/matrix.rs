//! The conformance matrix (`ssb-harness matrix`): every vector suite and the live-peer suite
//! against every implementation, read from the per-implementation reports
//! (`reports/conformance/<name>/report.json`), and below it every disagreement classified as
//! their bug, spec ambiguity, documented deviation or ours (fixed). The classification is data:
//! the `class` and `finding` of each entry in the implementation's deviations file, and the
//! `[[fixed]]` entries of the registry (`conformance/implementations.toml`); this module only
//! joins them with the reports and flags what is left unclassified.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::deviations::{Class, Deviations};
use crate::rules::Rules;
use crate::runner::Status;

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

// ---- the report files, as `report.rs` writes them ----

#[derive(Debug, Clone, Deserialize)]
struct ReportFile {
    adapter: String,
    #[serde(default)]
    capabilities: Value,
    suites: Vec<SuiteFile>,
}

#[derive(Debug, Clone, Deserialize)]
struct SuiteFile {
    suite: String,
    #[serde(default)]
    skipped: Option<String>,
    #[serde(default)]
    cases: Vec<CaseFile>,
}

#[derive(Debug, Clone, Deserialize)]
struct CaseFile {
    id: String,
    #[serde(default)]
    flags: Vec<String>,
    #[serde(default)]
    rule: String,
    status: Status,
    #[serde(default)]
    comment: String,
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
    /// What is left unclassified or inconsistent; the command fails when this is not empty.
    pub flagged: Vec<String>,
}

struct Loaded {
    spec: ReportSpec,
    file: Option<ReportFile>,
    deviations: Option<Deviations>,
}

/// Case id → (status, suite) over every report of one implementation.
type CaseIndex = BTreeMap<String, Status>;

fn discover(dir: &Path, want_file: Option<&str>) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter(|e| e.path().is_dir())
        .filter(|e| want_file.is_none_or(|f| e.path().join(f).is_file()))
        .filter_map(|e| e.file_name().to_str().map(str::to_string))
        .collect();
    names.sort();
    names
}

fn load_report(root: &Path, dir: &str) -> Result<Option<ReportFile>, String> {
    let path = root.join(REPORTS).join(dir).join("report.json");
    if !path.is_file() {
        return Ok(None);
    }
    let text = std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    serde_json::from_str(&text)
        .map(Some)
        .map_err(|e| format!("{REPORTS}/{dir}/report.json does not parse: {e}"))
}

/// Builds the matrix of the workspace (or fixture tree) at `root` from `registry`.
pub fn build(root: &Path, registry: &Registry, rules: &Rules) -> Matrix {
    let mut flagged = Vec::new();
    let mut specs: Vec<(ImplSpec, bool)> = registry
        .implementations
        .iter()
        .map(|i| (i.clone(), false))
        .collect();

    // Reports and adapter folders the registry does not name still get a column.
    let claimed_reports: BTreeSet<String> = specs
        .iter()
        .flat_map(|(i, _)| i.reports.iter().map(|r| r.dir.clone()))
        .collect();
    let mut claimed_adapters: BTreeSet<String> = specs
        .iter()
        .flat_map(|(i, _)| i.adapters.iter().cloned())
        .collect();
    for dir in discover(&root.join(REPORTS), Some("report.json")) {
        if claimed_reports.contains(&dir) {
            continue;
        }
        let deviations = format!("conformance/adapters/{dir}/deviations.toml");
        let deviations = root.join(&deviations).is_file().then_some(deviations);
        claimed_adapters.insert(dir.clone());
        specs.push((
            ImplSpec {
                name: dir.clone(),
                title: format!("not in {REGISTRY}"),
                ours: false,
                adapters: vec![dir.clone()],
                reports: vec![ReportSpec {
                    dir,
                    deviations,
                    suites: vec![],
                    run: None,
                    needs: vec![],
                }],
            },
            true,
        ));
    }
    for dir in discover(&root.join("conformance/adapters"), None) {
        if claimed_adapters.contains(&dir) {
            continue;
        }
        flagged.push(format!(
            "adapter folder conformance/adapters/{dir} has no report (reports/conformance/{dir}/report.json) and no entry in {REGISTRY}"
        ));
        specs.push((
            ImplSpec {
                name: dir.clone(),
                title: format!("adapter folder conformance/adapters/{dir}, not in {REGISTRY}"),
                ours: false,
                adapters: vec![dir.clone()],
                reports: vec![ReportSpec {
                    dir,
                    deviations: None,
                    suites: vec![],
                    run: None,
                    needs: vec![],
                }],
            },
            true,
        ));
    }

    // Load every report and deviations file.
    let mut loaded: Vec<Vec<Loaded>> = Vec::new();
    for (imp, _) in &specs {
        let mut v = Vec::new();
        for r in &imp.reports {
            let file = load_report(root, &r.dir).unwrap_or_else(|e| {
                flagged.push(e);
                None
            });
            let deviations = match &r.deviations {
                Some(p) if root.join(p).is_file() => match Deviations::load(&root.join(p)) {
                    Ok(d) => Some(d),
                    Err(e) => {
                        flagged.push(format!("{e:#}"));
                        None
                    }
                },
                Some(p) => {
                    if file.is_some() {
                        flagged.push(format!("{}: deviations file {p} does not exist", imp.name));
                    }
                    None
                }
                None => None,
            };
            v.push(Loaded {
                spec: r.clone(),
                file,
                deviations,
            });
        }
        loaded.push(v);
    }

    // Rows: the vector suites in their order, then live, then any other suite a report holds.
    let mut suites: Vec<String> = ssb_vectors::generate::SUITES
        .iter()
        .map(|(s, _)| s.to_string())
        .collect();
    suites.push(LIVE.into());
    let mut extra = BTreeSet::new();
    for l in loaded.iter().flatten() {
        for s in l.file.iter().flat_map(|f| &f.suites).map(|s| &s.suite) {
            if !suites.contains(s) {
                extra.insert(s.clone());
            }
        }
    }
    suites.extend(extra);

    // Cells, columns and each implementation's case index.
    let mut cells: BTreeMap<String, BTreeMap<String, Vec<Part>>> = BTreeMap::new();
    let mut columns = Vec::new();
    let mut index: Vec<CaseIndex> = Vec::new();
    for ((imp, unlisted), reports) in specs.iter().zip(&loaded) {
        let mut idx = CaseIndex::new();
        let mut infos = Vec::new();
        for l in reports {
            infos.push(ReportInfo {
                dir: l.spec.dir.clone(),
                present: l.file.is_some(),
                adapter: l.file.as_ref().map(|f| f.adapter.clone()),
                version: l
                    .file
                    .as_ref()
                    .and_then(|f| f.capabilities.get("version"))
                    .and_then(Value::as_str)
                    .map(str::to_string),
                deviations: l.spec.deviations.clone(),
            });
            let Some(file) = &l.file else {
                for s in &l.spec.suites {
                    cells
                        .entry(s.clone())
                        .or_default()
                        .entry(imp.name.clone())
                        .or_default()
                        .push(Part::missing(&l.spec.dir));
                }
                continue;
            };
            for s in &file.suites {
                let mut counts = Counts::default();
                for c in &s.cases {
                    counts.add(c.status);
                    idx.insert(c.id.clone(), c.status);
                }
                cells
                    .entry(s.suite.clone())
                    .or_default()
                    .entry(imp.name.clone())
                    .or_default()
                    .push(Part::new(&l.spec.dir, counts, s.skipped.clone()));
            }
        }
        columns.push(Column {
            name: imp.name.clone(),
            title: imp.title.clone(),
            ours: imp.ours,
            unlisted: *unlisted,
            reports: infos,
        });
        index.push(idx);
    }

    let network = |cases: &[String]| -> Vec<Verdict> {
        columns
            .iter()
            .zip(&index)
            .map(|(col, idx)| {
                let st: Vec<Status> = cases.iter().filter_map(|c| idx.get(c).copied()).collect();
                let verdict = if st.is_empty() {
                    "not-run"
                } else if st.iter().any(|s| matches!(s, Status::Fail | Status::Deviation)) {
                    "differs"
                } else if st.iter().all(|s| *s == Status::Unsupported) {
                    "unsupported"
                } else {
                    "as-vectors"
                };
                Verdict {
                    implementation: col.name.clone(),
                    verdict,
                }
            })
            .collect()
    };

    // Disagreements: the failing and deviating cases of each report, grouped by the entry that
    // covers them.
    let mut disagreements = Vec::new();
    for ((imp, _), reports) in specs.iter().zip(&loaded) {
        for l in reports {
            let Some(file) = &l.file else { continue };
            // (row of the suite, suite, entry index or None) → cases
            let mut groups: BTreeMap<(usize, String, Option<usize>), Vec<&CaseFile>> = BTreeMap::new();
            for s in &file.suites {
                for c in &s.cases {
                    if !matches!(c.status, Status::Fail | Status::Deviation) {
                        continue;
                    }
                    let entry = l
                        .deviations
                        .as_ref()
                        .and_then(|d| d.entry_for(&s.suite, &c.id, &c.flags))
                        .map(|(i, _)| i);
                    let row = suites.iter().position(|x| *x == s.suite).unwrap_or(usize::MAX);
                    groups.entry((row, s.suite.clone(), entry)).or_default().push(c);
                }
            }
            for ((_, suite, entry), cases) in groups {
                let entry = entry.and_then(|i| l.deviations.as_ref().map(|d| &d.entries()[i]));
                let ids: Vec<String> = cases.iter().map(|c| c.id.clone()).collect();
                let rules_of: BTreeMap<String, String> = cases
                    .iter()
                    .map(|c| {
                        let st = rules
                            .get(&c.rule)
                            .map(|r| r.statement.clone())
                            .unwrap_or_default();
                        (c.rule.clone(), st)
                    })
                    .collect();
                let class = if imp.ours {
                    None
                } else {
                    entry.and_then(|e| e.class)
                };
                let finding = entry.and_then(|e| e.finding.clone());
                let what = format!("{} ({}) {suite}: {}", imp.name, l.spec.dir, short_list(&ids, 3));
                if imp.ours {
                    flagged.push(format!(
                        "{what}: our own implementation disagrees with the vectors (ours, not fixed)"
                    ));
                } else if entry.is_none() && cases.iter().any(|c| c.status == Status::Deviation) {
                    flagged.push(format!(
                        "{what}: documented deviations in the report, but no entry of {} covers them now (stale report?)",
                        l.spec.deviations.as_deref().unwrap_or("a deviations file")
                    ));
                } else if entry.is_none() {
                    flagged.push(format!("{what}: undocumented failure (no deviations entry)"));
                } else if class.is_none() {
                    flagged.push(format!(
                        "{what}: unclassified deviation (its entry has no class): {}",
                        entry.map(|e| e.covers()).unwrap_or_default()
                    ));
                }
                match (class, &finding) {
                    (Some(Class::TheirBug), None) => {
                        flagged.push(format!("{what}: their bug without a findings page"))
                    }
                    (_, Some(f)) if !root.join(f).is_file() => {
                        flagged.push(format!("{what}: findings page {f} does not exist"))
                    }
                    _ => {}
                }
                let net = network(&ids);
                // Each implementation that runs the cases counts once: this one for its reading, ours
                // and the others for the vectors' when they pass, for another when they differ.
                let majority = (class == Some(Class::SpecAmbiguity)).then(|| {
                    let (mut vectors, mut theirs) = (0usize, 1usize);
                    for v in net.iter().filter(|v| v.implementation != imp.name) {
                        match v.verdict {
                            "as-vectors" => vectors += 1,
                            "differs" => theirs += 1,
                            _ => {}
                        }
                    }
                    match vectors.cmp(&theirs) {
                        std::cmp::Ordering::Greater => "vectors",
                        std::cmp::Ordering::Less => "other",
                        std::cmp::Ordering::Equal => "split",
                    }
                });
                disagreements.push(Disagreement {
                    implementation: imp.name.clone(),
                    report: l.spec.dir.clone(),
                    suite,
                    class,
                    finding,
                    covers: entry.map(|e| e.covers()).unwrap_or_default(),
                    reason: entry
                        .map(|e| e.reason.clone())
                        .unwrap_or_else(|| cases.first().map(|c| c.comment.clone()).unwrap_or_default()),
                    cases: ids,
                    rules: rules_of,
                    network: net,
                    majority,
                });
            }
        }
    }

    // Ours: each fixed disagreement, with the cases (in our reports) that now cover it.
    let ours_idx: Vec<(&ImplSpec, &Vec<Loaded>)> = specs
        .iter()
        .zip(&loaded)
        .filter(|((i, _), _)| i.ours)
        .map(|((i, _), l)| (i, l))
        .collect();
    let mut ours = Vec::new();
    for f in &registry.fixed {
        let mut covered: Vec<String> = ours_idx
            .iter()
            .flat_map(|(_, ls)| ls.iter())
            .flat_map(|l| l.file.iter().flat_map(|f| &f.suites))
            .filter(|s| s.suite == f.suite)
            .flat_map(|s| &s.cases)
            .filter(|c| f.cases.contains(&c.id) || f.flag.as_ref().is_some_and(|fl| c.flags.contains(fl)))
            .map(|c| c.id.clone())
            .collect();
        covered.sort();
        covered.dedup();
        if covered.is_empty() {
            flagged.push(format!(
                "fixed ({} {}): no case in our reports covers it",
                f.suite,
                f.flag.as_deref().unwrap_or("")
            ));
        }
        let net = network(&covered);
        ours.push(Ours {
            fixed: f.clone(),
            covered_by: covered,
            network: net,
        });
    }

    Matrix {
        columns,
        suites,
        cells,
        disagreements,
        ours,
        flagged,
    }
}

/// The first `n` ids, then how many more.
fn short_list(ids: &[String], n: usize) -> String {
    if ids.len() <= n {
        ids.join(", ")
    } else {
        format!("{} and {} more", ids[..n].join(", "), ids.len() - n)
    }
}

/// A cell: each report's counts, linked to that report (named when the cell holds several).
fn cell_text(parts: &[Part]) -> String {
    let linked = |p: &Part| match p.status {
        "no-report" => p.text(),
        _ => format!("[{}]({}/report.md)", p.text(), p.report),
    };
    if parts.len() == 1 {
        return linked(&parts[0]);
    }
    parts
        .iter()
        .map(|p| format!("{}: {}", p.report, linked(p)))
        .collect::<Vec<_>>()
        .join("<br>")
}

fn md_escape(s: &str) -> String {
    s.replace('|', "\\|").replace('\n', " ")
}

fn network_text(net: &[Verdict], skip: &str) -> String {
    let mut by: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for v in net.iter().filter(|v| v.implementation != skip) {
        by.entry(v.verdict).or_default().push(&v.implementation);
    }
    ["as-vectors", "differs", "unsupported", "not-run"]
        .iter()
        .filter_map(|k| {
            by.get(k).map(|names| {
                let label = match *k {
                    "as-vectors" => "as the vectors",
                    "differs" => "differs",
                    "unsupported" => "unsupported",
                    _ => "not run",
                };
                format!("{label}: {}", names.join(", "))
            })
        })
        .collect::<Vec<_>>()
        .join("; ")
}

/// A link from `reports/conformance/` to a path from the workspace root.
fn link(path: &str) -> String {
    format!("../../{path}")
}

impl Matrix {
    pub fn to_json(&self) -> Value {
        let counts = |class: Option<Class>| self.disagreements.iter().filter(|d| d.class == class).count();
        json!({
            "generated_by": format!("ssb-harness matrix {}", env!("CARGO_PKG_VERSION")),
            "columns": self.columns,
            "suites": self.suites,
            "cells": self.cells,
            "summary": {
                "their-bug": counts(Some(Class::TheirBug)),
                "spec-ambiguity": counts(Some(Class::SpecAmbiguity)),
                "deviation": counts(Some(Class::Deviation)),
                "unclassified": counts(None),
                "ours-fixed": self.ours.len(),
                "flagged": self.flagged.len(),
            },
            "disagreements": self.disagreements,
            "ours": self.ours,
            "flagged": self.flagged,
        })
    }

    pub fn to_markdown(&self) -> String {
        let mut md = String::new();
        md.push_str("# Conformance matrix\n\n");
        let _ = writeln!(
            md,
            "Written by `ssb-harness matrix` {} from the committed reports \
             (`reports/conformance/<report>/report.json`); implementations come from `{REGISTRY}`. \
             A cell counts the cases of one suite: `pass n/total`; `dev` documented deviations (each \
             classified below); **FAIL** undocumented failures; `unsup` cases the library cannot \
             express; `unsupported` a suite it does not implement; **no report** a report the \
             registry expects and that is missing; – a suite none of its reports runs.\n",
            env!("CARGO_PKG_VERSION")
        );
        md.push_str("| suite |");
        for c in &self.columns {
            let _ = write!(md, " {} |", c.name);
        }
        md.push_str("\n|---|");
        md.push_str(&"---|".repeat(self.columns.len()));
        md.push('\n');
        for s in &self.suites {
            let row = self.cells.get(s);
            let _ = write!(md, "| {s} |");
            for c in &self.columns {
                let text = if c.reports.iter().all(|r| !r.present) {
                    "**no report**".to_string()
                } else {
                    match row.and_then(|r| r.get(&c.name)) {
                        Some(parts) => cell_text(parts),
                        None => "–".into(),
                    }
                };
                let _ = write!(md, " {text} |");
            }
            md.push('\n');
        }

        md.push_str("\n## Implementations\n\n");
        for c in &self.columns {
            let reports: Vec<String> = c
                .reports
                .iter()
                .map(|r| {
                    if r.present {
                        let mut t = format!("[{0}]({0}/report.md)", r.dir);
                        if let Some(d) = &r.deviations {
                            let _ = write!(t, " (deviations: [{d}]({}))", link(d));
                        }
                        t
                    } else {
                        format!("**no report** (`{REPORTS}/{}/report.json` is missing)", r.dir)
                    }
                })
                .collect();
            let _ = writeln!(
                md,
                "- **{}**{} — {}: {}",
                c.name,
                if c.ours { " (ours)" } else { "" },
                md_escape(&c.title),
                reports.join("; ")
            );
        }

        let n = |class: Option<Class>| self.disagreements.iter().filter(|d| d.class == class).count();
        let ncases = |class: Option<Class>| {
            self.disagreements
                .iter()
                .filter(|d| d.class == class)
                .map(|d| d.cases.len())
                .sum::<usize>()
        };
        let _ = writeln!(
            md,
            "\n## Disagreements\n\nEvery failing or deviating case of another implementation, grouped by the \
             deviations entry that covers it; the class and findings page are that entry's `class` and \
             `finding`. Their bugs: {} ({} cases); spec ambiguities: {} ({} cases); documented \
             deviations: {} ({} cases); unclassified: {} ({} cases); ours, fixed: {}.",
            n(Some(Class::TheirBug)),
            ncases(Some(Class::TheirBug)),
            n(Some(Class::SpecAmbiguity)),
            ncases(Some(Class::SpecAmbiguity)),
            n(Some(Class::Deviation)),
            ncases(Some(Class::Deviation)),
            n(None),
            ncases(None),
            self.ours.len()
        );

        md.push_str("\n### Their bugs\n\n");
        let bugs: Vec<&Disagreement> = self
            .disagreements
            .iter()
            .filter(|d| d.class == Some(Class::TheirBug))
            .collect();
        if bugs.is_empty() {
            md.push_str("None.\n");
        }
        for d in bugs {
            let _ = writeln!(md, "#### {} · {} · {}\n", d.implementation, d.suite, d.covers);
            if let Some(f) = &d.finding {
                let _ = writeln!(md, "- finding: [{f}]({})", link(f));
            }
            let _ = writeln!(
                md,
                "- minimal case: `{}`{}",
                d.cases[0],
                if d.cases.len() > 1 {
                    format!(" ({} cases: {})", d.cases.len(), short_list(&d.cases, 8))
                } else {
                    String::new()
                }
            );
            let _ = writeln!(md, "- what it does: {}", md_escape(&d.reason));
            let _ = writeln!(
                md,
                "- the others: {}\n",
                network_text(&d.network, &d.implementation)
            );
        }

        md.push_str("\n### Spec ambiguities\n\n");
        let amb: Vec<&Disagreement> = self
            .disagreements
            .iter()
            .filter(|d| d.class == Some(Class::SpecAmbiguity))
            .collect();
        if amb.is_empty() {
            md.push_str("None.\n");
        }
        for d in amb {
            let _ = writeln!(md, "#### {} · {} · {}\n", d.implementation, d.suite, d.covers);
            let _ = writeln!(md, "- cases: {}", short_list(&d.cases, 8));
            for (rule, st) in &d.rules {
                let _ = writeln!(md, "- the vectors' reading ({rule}): {}", md_escape(st));
            }
            let _ = writeln!(md, "- {}'s reading: {}", d.implementation, md_escape(&d.reason));
            let _ = writeln!(
                md,
                "- the network: {}",
                network_text(&d.network, &d.implementation)
            );
            let names = |verdict: &str| -> Vec<&str> {
                d.network
                    .iter()
                    .filter(|v| v.verdict == verdict)
                    .map(|v| v.implementation.as_str())
                    .collect()
            };
            let (vectors, other) = (names("as-vectors"), names("differs"));
            let majority = match d.majority {
                Some("vectors") => "the vectors' reading",
                Some("other") => "not the vectors' reading",
                _ => "none",
            };
            let _ = writeln!(
                md,
                "- readings among the implementations that run these cases: as the vectors {} ({}), otherwise {} ({}); majority: {majority}\n",
                vectors.len(),
                vectors.join(", "),
                other.len(),
                other.join(", ")
            );
        }

        md.push_str("\n### Documented deviations\n\n");
        let devs: Vec<&Disagreement> = self
            .disagreements
            .iter()
            .filter(|d| d.class == Some(Class::Deviation))
            .collect();
        if devs.is_empty() {
            md.push_str("None.\n");
        } else {
            md.push_str("| implementation | suite | covers | cases | why |\n|---|---|---|---:|---|\n");
        }
        for d in devs {
            let _ = writeln!(
                md,
                "| {} | {} | {} | {} | {} |",
                d.implementation,
                d.suite,
                md_escape(&d.covers),
                d.cases.len(),
                md_escape(&d.reason)
            );
        }

        md.push_str("\n### Ours (fixed)\n\n");
        if self.ours.is_empty() {
            md.push_str("None.\n");
        }
        for o in &self.ours {
            let f = &o.fixed;
            let _ = writeln!(
                md,
                "#### {} · {} — found with {}, fixed in {}\n",
                f.suite,
                f.flag
                    .as_ref()
                    .map(|x| format!("flag `{x}`"))
                    .unwrap_or_else(|| f.cases.join(", ")),
                f.found_with,
                f.commit
            );
            let _ = writeln!(md, "- {}", md_escape(&f.summary));
            let _ = writeln!(md, "- covered by: {}", short_list(&o.covered_by, 8));
            let _ = writeln!(md, "- now: {}\n", network_text(&o.network, ""));
        }

        md.push_str("\n### Unclassified and inconsistent\n\n");
        if self.flagged.is_empty() {
            md.push_str("None: every disagreement is classified.\n");
        }
        for f in &self.flagged {
            let _ = writeln!(md, "- {}", md_escape(f));
        }
        md
    }

    /// Writes `matrix.json` and `matrix.md` under `root/reports/conformance/`.
    pub fn write(&self, root: &Path) -> std::io::Result<(PathBuf, PathBuf)> {
        let dir = root.join(REPORTS);
        std::fs::create_dir_all(&dir)?;
        let json_path = dir.join("matrix.json");
        let md_path = dir.join("matrix.md");
        let mut text = serde_json::to_string_pretty(&self.to_json()).expect("JSON");
        text.push('\n');
        std::fs::write(&json_path, text)?;
        std::fs::write(&md_path, self.to_markdown())?;
        Ok((json_path, md_path))
    }
}

/// Whether `program` is an executable file on PATH.
fn on_path(program: &str) -> bool {
    std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).any(|d| d.join(program).is_file()))
        .unwrap_or(false)
}

/// `--run`: rewrites each report whose `run` command has its programs on PATH; keeps the
/// committed report of the others (said on stderr). Returns a line per report.
pub fn rerun(root: &Path, registry: &Registry, harness: &Path) -> Vec<String> {
    let mut lines = Vec::new();
    for imp in &registry.implementations {
        for r in &imp.reports {
            let Some(cmd) = &r.run else {
                lines.push(format!("{}: no run command; committed report kept", r.dir));
                continue;
            };
            let missing: Vec<&String> = r.needs.iter().filter(|p| !on_path(p)).collect();
            if !missing.is_empty() {
                tracing::warn!(report = %r.dir, missing = missing.len(), "toolchain missing: committed report kept");
                lines.push(format!(
                    "{}: needs {} (not on PATH); committed report kept",
                    r.dir,
                    missing.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(", ")
                ));
                continue;
            }
            let cmd = cmd.replace("{harness}", &harness.display().to_string());
            let status = std::process::Command::new("sh")
                .arg("-c")
                .arg(&cmd)
                .current_dir(root)
                .status();
            lines.push(match status {
                Ok(s) => format!("{}: ran `{cmd}`: {s}", r.dir),
                Err(e) => format!("{}: could not run `{cmd}`: {e}", r.dir),
            });
        }
    }
    lines
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
        "matrix: {} implementations ({} without a report), {} suites; disagreements: {} their bugs, {} spec ambiguities, {} deviations, {} unclassified; {} ours fixed",
        m.columns.len(),
        m.columns.iter().filter(|c| c.reports.iter().all(|r| !r.present)).count(),
        m.suites.len(),
        class(Some(Class::TheirBug)),
        class(Some(Class::SpecAmbiguity)),
        class(Some(Class::Deviation)),
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
