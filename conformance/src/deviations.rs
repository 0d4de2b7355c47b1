//! Documented deviations of an implementation under test: a TOML file listing case ids or
//! flags where the implementation is known to differ, each with the reason. A failing case that
//! matches one is reported as a deviation instead of a failure; one that matches none fails.
//! An entry may also say what kind of disagreement it is (`class`) and name the findings page
//! written for the implementation's maintainers (`finding`); `ssb-harness matrix` reads both.

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::runner::{CaseResult, Status, SuiteResult};

/// What kind of disagreement a deviation is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Class {
    /// A bug of the implementation: it breaks the spec and the network's behaviour, with a
    /// findings page for its maintainers.
    TheirBug,
    /// The spec can be read two ways (or says nothing); the implementation took another reading.
    SpecAmbiguity,
    /// A known, deliberate or harmless difference: a limit of the library, a stricter or looser
    /// check that breaks nothing the network relies on.
    Deviation,
    /// Our vectors or reference are at fault, not fixed yet (once fixed, the entry goes and the
    /// fix is recorded in the registry's `[[fixed]]`).
    Ours,
}

impl Class {
    pub fn as_str(self) -> &'static str {
        match self {
            Class::TheirBug => "their-bug",
            Class::SpecAmbiguity => "spec-ambiguity",
            Class::Deviation => "deviation",
            Class::Ours => "ours",
        }
    }
}

/// One documented deviation.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Entry {
    /// The suite a `flag` entry belongs to (flags are named per suite, so the same flag may mean
    /// another thing elsewhere); `None` matches every suite.
    #[serde(default)]
    pub suite: Option<String>,
    /// Case ids this entry covers.
    #[serde(default)]
    pub cases: Vec<String>,
    /// Or: every case carrying this flag.
    #[serde(default)]
    pub flag: Option<String>,
    pub reason: String,
    /// What kind of disagreement this is; `None` in files written before classes existed.
    #[serde(default)]
    pub class: Option<Class>,
    /// The findings page (a path from the workspace root, `reports/findings/<impl>-<slug>.md`).
    #[serde(default)]
    pub finding: Option<String>,
}

impl Entry {
    /// What the entry covers, for people: `flag x`, or the case ids.
    pub fn covers(&self) -> String {
        match &self.flag {
            Some(f) => format!("flag `{f}`"),
            None => self.cases.join(", "),
        }
    }
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Deviations {
    #[serde(default, rename = "deviation")]
    entries: Vec<Entry>,
}

impl Deviations {
    pub fn load(path: &Path) -> anyhow::Result<Self> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| anyhow::anyhow!("cannot read deviations file {}: {e}", path.display()))?;
        let d: Deviations =
            toml::from_str(&text).map_err(|e| anyhow::anyhow!("deviations file {}: {e}", path.display()))?;
        if let Some(e) = d.entries.iter().find(|e| e.cases.is_empty() && e.flag.is_none()) {
            anyhow::bail!(
                "deviations file {}: an entry names no case and no flag: {:?}",
                path.display(),
                e.reason
            );
        }
        Ok(d)
    }

    pub fn entries(&self) -> &[Entry] {
        &self.entries
    }

    /// The first entry covering a failing case of `suite`, with its index in the file.
    pub fn entry_for(&self, suite: &str, id: &str, flags: &[String]) -> Option<(usize, &Entry)> {
        self.entries.iter().enumerate().find(|(_, e)| {
            let in_suite = e.suite.as_deref().is_none_or(|s| s == suite);
            e.cases.iter().any(|c| c == id)
                || (in_suite && e.flag.as_ref().is_some_and(|f| flags.contains(f)))
        })
    }

    /// Entries that covered no failing case of `results`, each as a warning line: the
    /// implementation was fixed (the entry is stale) or the entry names a case or flag that does
    /// not exist. Entries about suites that did not run are not judged.
    pub fn unused(&self, results: &[SuiteResult]) -> Vec<String> {
        let ran: Vec<&str> = results
            .iter()
            .filter(|r| r.skipped.is_none())
            .map(|r| r.suite.as_str())
            .collect();
        let deviating: Vec<(&str, &CaseResult)> = results
            .iter()
            .flat_map(|r| r.cases.iter().map(move |c| (r.suite.as_str(), c)))
            .filter(|(_, c)| c.status == Status::Deviation)
            .collect();
        let mut out = Vec::new();
        for (i, e) in self.entries.iter().enumerate() {
            let about_ran = match &e.suite {
                Some(s) => ran.contains(&s.as_str()),
                None => {
                    e.cases
                        .iter()
                        .any(|c| ran.contains(&c.split('/').next().unwrap_or("")))
                        || (e.flag.is_some() && !ran.is_empty())
                }
            };
            if !about_ran {
                continue;
            }
            let used = deviating.iter().any(|(suite, c)| {
                let in_suite = e.suite.as_deref().is_none_or(|s| s == *suite);
                e.cases.contains(&c.id) || (in_suite && e.flag.as_ref().is_some_and(|f| c.flags.contains(f)))
            });
            if !used {
                let what = match &e.flag {
                    Some(f) => format!("flag {f}"),
                    None => format!("cases {}", e.cases.join(", ")),
                };
                out.push(format!(
                    "deviation entry {} ({what}: {:?}) matched no failing case: stale, or a typo",
                    i + 1,
                    e.reason
                ));
            }
        }
        out
    }

    /// The documented reason for a failing case of `suite`, if any entry covers it.
    pub fn lookup(&self, suite: &str, id: &str, flags: &[String]) -> Option<&str> {
        self.entry_for(suite, id, flags).map(|(_, e)| e.reason.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runner::CaseResult;

    fn result(suite: &str, cases: &[(&str, &[&str], Status)]) -> SuiteResult {
        SuiteResult {
            suite: suite.into(),
            skipped: None,
            counts: Default::default(),
            cases: cases
                .iter()
                .map(|(id, flags, status)| CaseResult {
                    id: id.to_string(),
                    comment: String::new(),
                    flags: flags.iter().map(|f| f.to_string()).collect(),
                    rule: "R".into(),
                    status: *status,
                    op: "x".into(),
                    input: serde_json::Value::Null,
                    expected: serde_json::Value::Null,
                    actual: serde_json::Value::Null,
                    reason: String::new(),
                })
                .collect(),
        }
    }

    #[test]
    fn entries_that_cover_no_failure_are_reported() {
        let d: Deviations = toml::from_str(
            r#"
            [[deviation]]
            suite = "boxstream"
            flag = "goodbye"
            reason = "used"
            [[deviation]]
            cases = ["boxstream/0009"]
            reason = "fixed since"
            [[deviation]]
            suite = "muxrpc"
            flag = "empty_body"
            reason = "suite did not run"
            "#,
        )
        .unwrap();
        let results = [result(
            "boxstream",
            &[
                ("boxstream/0001", &["goodbye"], Status::Deviation),
                ("boxstream/0009", &[], Status::Pass),
            ],
        )];
        let unused = d.unused(&results);
        assert_eq!(unused.len(), 1, "{unused:?}");
        assert!(
            unused[0].starts_with("deviation entry 2 (cases boxstream/0009"),
            "{unused:?}"
        );
    }
}
