//! Writing the matrix: `matrix.md` (the table, the implementations and their reports, every
//! disagreement by class) and `matrix.json` (the same as data).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use serde_json::{json, Value};

use super::build::short_list;
use super::*;

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
                "ours-open": counts(Some(Class::Ours)),
                "unclassified": counts(None),
                "ours-fixed": self.ours.len(),
                "flagged": self.flagged.len(),
            },
            "disagreements": self.disagreements,
            "ours": self.ours,
            "findings": self.findings,
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
             deviations: {} ({} cases); ours, open: {} ({} cases); unclassified: {} ({} cases); ours, \
             fixed: {}.",
            n(Some(Class::TheirBug)),
            ncases(Some(Class::TheirBug)),
            n(Some(Class::SpecAmbiguity)),
            ncases(Some(Class::SpecAmbiguity)),
            n(Some(Class::Deviation)),
            ncases(Some(Class::Deviation)),
            n(Some(Class::Ours)),
            ncases(Some(Class::Ours)),
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

        md.push_str("\n### Ours\n\n");
        let open: Vec<&Disagreement> = self
            .disagreements
            .iter()
            .filter(|d| d.class == Some(Class::Ours))
            .collect();
        if self.ours.is_empty() && open.is_empty() {
            md.push_str("None.\n");
        }
        for d in open {
            let _ = writeln!(
                md,
                "#### {} · {} · {} — open, found with {}\n",
                d.suite, d.covers, d.report, d.implementation
            );
            let _ = writeln!(md, "- {}", md_escape(&d.reason));
            let _ = writeln!(md, "- cases: {}", short_list(&d.cases, 8));
            let _ = writeln!(
                md,
                "- the others: {}\n",
                network_text(&d.network, &d.implementation)
            );
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

        md.push_str("\n### Findings pages\n\n");
        if self.findings.is_empty() {
            md.push_str("None.\n");
        }
        for (page, by) in &self.findings {
            let name = page.rsplit('/').next().unwrap_or(page);
            let by = if by.is_empty() {
                "named by no deviations entry (a bug found outside the vector suites)".to_string()
            } else {
                by.join("; ")
            };
            let _ = writeln!(md, "- [{name}]({}): {}", link(page), md_escape(&by));
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
