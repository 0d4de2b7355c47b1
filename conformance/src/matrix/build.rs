//! Building the matrix: the reports and deviations files of every implementation read and
//! joined, the cells counted, the disagreements grouped by the entry that covers them, and what
//! is left unclassified flagged.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use serde::Deserialize;
use serde_json::Value;

use super::*;
use crate::deviations::Deviations;

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

struct Loaded {
    spec: ReportSpec,
    file: Option<ReportFile>,
    deviations: Option<Deviations>,
}

/// Case id → status over every report of one implementation; where two reports hold one case
/// (two live peers of one stack), a disagreement outranks a pass, which outranks unsupported.
type CaseIndex = BTreeMap<String, Status>;

fn rank(s: Status) -> u8 {
    match s {
        Status::Unsupported => 0,
        Status::Pass => 1,
        Status::Deviation | Status::Fail => 2,
    }
}

/// The sorted names of the folders in `dir` (those holding `want_file`, if given).
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
                    let st = idx.entry(c.id.clone()).or_insert(c.status);
                    if rank(c.status) > rank(*st) {
                        *st = c.status;
                    }
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

    let mut findings: BTreeMap<String, Vec<String>> = std::fs::read_dir(root.join("reports/findings"))
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| e.file_name().to_str().map(str::to_string))
        .filter(|n| n.ends_with(".md"))
        .map(|n| (format!("reports/findings/{n}"), Vec::new()))
        .collect();
    for d in &disagreements {
        if let Some(f) = &d.finding {
            let by = format!("{} · {} · {}", d.implementation, d.suite, d.covers);
            let names = findings.entry(f.clone()).or_default();
            if !names.contains(&by) {
                names.push(by);
            }
        }
    }

    Matrix {
        columns,
        suites,
        cells,
        disagreements,
        ours,
        findings,
        flagged,
    }
}

/// The first `n` ids, then how many more.
pub(super) fn short_list(ids: &[String], n: usize) -> String {
    if ids.len() <= n {
        ids.join(", ")
    } else {
        format!("{} and {} more", ids[..n].join(", "), ids.len() - n)
    }
}
