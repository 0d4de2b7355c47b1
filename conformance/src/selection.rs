//! What one `ssb-harness check` run covers and what it must prove: where the vectors come from
//! (compiled into the binary, or `--vectors DIR`), which suites and cases run (`--suite`,
//! `--case`), and which suites must run with every case supported (`--require`, `--strict`).
//! The outcome is the exit code CI reads, see [`ExitStatus`].

use std::collections::BTreeSet;
use std::path::PathBuf;

use ssb_vectors::{embedded, generate, VectorFile};

use crate::runner::{Status, SuiteResult};

/// Where vector files are read from.
#[derive(Debug, Clone)]
pub enum VectorSource {
    /// The files compiled into this binary (the committed `vectors/*.json`).
    Embedded,
    /// `<dir>/<suite>.json`.
    Dir(PathBuf),
}

impl VectorSource {
    pub fn load(&self, suite: &str) -> anyhow::Result<VectorFile> {
        match self {
            VectorSource::Embedded => match embedded::load(suite) {
                Some(r) => Ok(r?),
                None => anyhow::bail!("no embedded vector file for suite {suite:?}"),
            },
            VectorSource::Dir(dir) => Ok(VectorFile::load(&dir.join(format!("{suite}.json")))?),
        }
    }

    /// How a report names the source.
    pub fn describe(&self, relative_to: &std::path::Path) -> String {
        match self {
            VectorSource::Embedded => format!("embedded in ssb-harness {}", env!("CARGO_PKG_VERSION")),
            VectorSource::Dir(d) => d.strip_prefix(relative_to).unwrap_or(d).display().to_string(),
        }
    }
}

/// The suites `check` knows, in report order.
pub fn known_suites() -> Vec<&'static str> {
    generate::SUITES.iter().map(|(n, _)| *n).collect()
}

/// Fails with the list of valid names when `names` holds one that is not a suite.
pub fn check_suite_names(flag: &str, names: &[String]) -> anyhow::Result<()> {
    let known = known_suites();
    let unknown: Vec<&str> = names
        .iter()
        .map(String::as_str)
        .filter(|n| !known.contains(n))
        .collect();
    if unknown.is_empty() {
        return Ok(());
    }
    anyhow::bail!(
        "{flag}: unknown suite{} {}; valid suites: {}",
        if unknown.len() > 1 { "s" } else { "" },
        unknown.join(", "),
        known.join(", ")
    )
}

/// The suites a run covers: `--suite` (or every suite), plus the suites of `--case` ids and of
/// `--require`, in report order. With `--case`, only the suites of the named cases.
pub fn suites_to_run(suite: &[String], cases: &[String], require: &[String]) -> anyhow::Result<Vec<String>> {
    check_suite_names("--suite", suite)?;
    check_suite_names("--require", require)?;
    let mut wanted: BTreeSet<&str> = BTreeSet::new();
    if !cases.is_empty() {
        let of_cases: Vec<String> = cases.iter().map(|c| case_suite(c).to_string()).collect();
        check_suite_names("--case", &of_cases)?;
        for c in cases {
            wanted.insert(case_suite(c));
        }
    } else if suite.is_empty() {
        wanted.extend(known_suites());
    } else {
        wanted.extend(suite.iter().map(String::as_str));
    }
    wanted.extend(require.iter().map(String::as_str));
    Ok(known_suites()
        .into_iter()
        .filter(|s| wanted.contains(s))
        .map(str::to_string)
        .collect())
}

/// The suite a case id names: the part before its `/`.
fn case_suite(id: &str) -> &str {
    id.split('/').next().unwrap_or(id)
}

/// Keeps only the cases of `file` named in `ids` (all when `ids` is empty); an id of this suite
/// that the file does not hold is an error naming the nearest ids.
pub fn select_cases(file: &mut VectorFile, ids: &[String]) -> anyhow::Result<()> {
    if ids.is_empty() {
        return Ok(());
    }
    let mine: Vec<&String> = ids.iter().filter(|i| case_suite(i) == file.suite).collect();
    for id in &mine {
        if !file.cases.iter().any(|c| &c.id == *id) {
            anyhow::bail!(
                "--case {id}: {} has no such case (its ids run from {} to {})",
                file.suite,
                file.cases.first().map(|c| c.id.as_str()).unwrap_or("-"),
                file.cases.last().map(|c| c.id.as_str()).unwrap_or("-")
            );
        }
    }
    file.cases.retain(|c| mine.contains(&&c.id));
    Ok(())
}

/// The exit codes of `check`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitStatus {
    /// Every case that ran passed or is a documented deviation, and every requirement holds.
    Pass = 0,
    /// At least one case failed.
    Fail = 1,
    /// Bad usage or setup (unknown suite or case, adapter did not start, unreadable file);
    /// returned by `main` for any error.
    Error = 2,
    /// Nothing failed, but a requirement does not hold: a `--require`d suite (with `--strict`,
    /// any selected suite) was skipped or has unsupported cases, or no case ran at all.
    Unmet = 3,
}

/// What `--require` and `--strict` ask of a run.
#[derive(Debug, Clone, Default)]
pub struct Requirements {
    pub require: Vec<String>,
    pub strict: bool,
}

impl Requirements {
    /// One line per requirement that `results` do not meet.
    pub fn unmet(&self, results: &[SuiteResult]) -> Vec<String> {
        let mut out = Vec::new();
        let ran: usize = results
            .iter()
            .map(|r| r.cases.len() - r.count(Status::Unsupported))
            .sum();
        if ran == 0 {
            out.push(
                "no case ran: every selected suite was skipped or unsupported, so nothing was tested".into(),
            );
        }
        for r in results {
            if !(self.strict || self.require.contains(&r.suite)) {
                continue;
            }
            let why = if self.strict { "--strict" } else { "--require" };
            if let Some(skip) = &r.skipped {
                out.push(format!("{}: required ({why}) but skipped: {skip}", r.suite));
            } else if r.count(Status::Unsupported) > 0 {
                out.push(format!(
                    "{}: required ({why}) but {} of {} cases are unsupported",
                    r.suite,
                    r.count(Status::Unsupported),
                    r.cases.len()
                ));
            }
        }
        out
    }

    /// The exit status of a run with `failures` failing cases.
    pub fn status(&self, results: &[SuiteResult]) -> ExitStatus {
        let failures: usize = results.iter().map(|r| r.count(Status::Fail)).sum();
        if failures > 0 {
            ExitStatus::Fail
        } else if !self.unmet(results).is_empty() {
            ExitStatus::Unmet
        } else {
            ExitStatus::Pass
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|x| x.to_string()).collect()
    }

    #[test]
    fn unknown_suite_lists_the_valid_ones() {
        let e = suites_to_run(&s(&["boxstrem"]), &[], &[])
            .unwrap_err()
            .to_string();
        assert!(e.contains("unknown suite boxstrem"), "{e}");
        assert!(
            e.contains("boxstream") && e.contains("shs") && e.contains("groups"),
            "{e}"
        );
        let e = suites_to_run(&[], &[], &s(&["nope"])).unwrap_err().to_string();
        assert!(e.starts_with("--require"), "{e}");
        let e = suites_to_run(&[], &s(&["boxstrem/0001"]), &[])
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("--case"), "{e}");
    }

    #[test]
    fn cases_pick_their_suites_in_report_order() {
        let got = suites_to_run(&[], &s(&["muxrpc/0002", "shs/0001"]), &[]).unwrap();
        assert_eq!(got, s(&["shs", "muxrpc"]));
        let got = suites_to_run(&s(&["box1"]), &[], &s(&["shs"])).unwrap();
        assert_eq!(got, s(&["shs", "box1"]));
        assert_eq!(suites_to_run(&[], &[], &[]).unwrap().len(), known_suites().len());
    }

    #[test]
    fn select_cases_keeps_named_ids_and_refuses_missing_ones() {
        let mut f = VectorSource::Embedded.load("boxstream").unwrap();
        let n = f.cases.len();
        select_cases(&mut f, &[]).unwrap();
        assert_eq!(f.cases.len(), n);
        select_cases(&mut f, &s(&["boxstream/0003", "shs/0001"])).unwrap();
        assert_eq!(f.cases.len(), 1);
        assert_eq!(f.cases[0].id, "boxstream/0003");
        let mut f = VectorSource::Embedded.load("boxstream").unwrap();
        let e = select_cases(&mut f, &s(&["boxstream/9999"]))
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("boxstream/9999") && e.contains("boxstream/0001"),
            "{e}"
        );
    }

    fn result(suite: &str, statuses: &[Status], skipped: bool) -> SuiteResult {
        SuiteResult {
            suite: suite.into(),
            skipped: skipped.then(|| "not in the adapter's capabilities".into()),
            counts: Default::default(),
            cases: statuses
                .iter()
                .enumerate()
                .map(|(i, st)| crate::runner::CaseResult {
                    id: format!("{suite}/{:04}", i + 1),
                    comment: String::new(),
                    flags: vec![],
                    rule: "R".into(),
                    status: *st,
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
    fn exit_status_follows_failures_then_requirements() {
        use Status::*;
        let none = Requirements::default();
        let strict = Requirements {
            strict: true,
            ..Default::default()
        };
        let req_shs = Requirements {
            require: s(&["shs"]),
            strict: false,
        };
        let ok = [
            result("shs", &[Pass, Pass], false),
            result("box1", &[Pass, Unsupported], false),
        ];
        assert_eq!(none.status(&ok), ExitStatus::Pass);
        assert_eq!(req_shs.status(&ok), ExitStatus::Pass);
        assert_eq!(strict.status(&ok), ExitStatus::Unmet);
        let skipped = [result("shs", &[], true), result("box1", &[Pass], false)];
        assert_eq!(none.status(&skipped), ExitStatus::Pass);
        assert_eq!(req_shs.status(&skipped), ExitStatus::Unmet);
        assert!(req_shs.unmet(&skipped)[0].contains("shs: required (--require) but skipped"));
        let nothing = [result("shs", &[Unsupported, Unsupported], false)];
        assert_eq!(none.status(&nothing), ExitStatus::Unmet);
        let failing = [result("shs", &[Fail], false), result("box1", &[], true)];
        assert_eq!(strict.status(&failing), ExitStatus::Fail);
        let deviation = [result("shs", &[Deviation, Pass], false)];
        assert_eq!(strict.status(&deviation), ExitStatus::Pass);
    }
}
