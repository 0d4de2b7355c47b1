//! Runs vector suites against an adapter and classifies every case: pass, fail, a documented
//! deviation of that implementation, or unsupported by it.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use ssb_vectors::{Case, VectorFile};

use crate::adapter::{Adapter, CallError};
use crate::deviations::Deviations;
use crate::rules::Rules;

/// What happened to one case.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Pass,
    Fail,
    /// Failed in the way the implementation's deviations file documents.
    Deviation,
    Unsupported,
}

/// One case's result.
#[derive(Debug, Clone, Serialize)]
pub struct CaseResult {
    pub id: String,
    pub comment: String,
    pub flags: Vec<String>,
    pub rule: String,
    pub status: Status,
    /// The adapter op the case sends (empty for live checks, which send no adapter request).
    pub op: String,
    /// The op's arguments, in full.
    pub input: Value,
    pub expected: Value,
    pub actual: Value,
    /// Why it failed, or the documented reason for a deviation.
    pub reason: String,
}

/// One suite's results.
#[derive(Debug, Clone, Serialize)]
pub struct SuiteResult {
    pub suite: String,
    pub skipped: Option<String>,
    pub counts: BTreeMap<String, usize>,
    pub cases: Vec<CaseResult>,
}

impl SuiteResult {
    pub fn count(&self, s: Status) -> usize {
        self.cases.iter().filter(|c| c.status == s).count()
    }
}

fn actual_json(r: &Result<Value, CallError>) -> Value {
    match r {
        Ok(v) => v.clone(),
        Err(CallError::Op { kind, message }) => serde_json::json!({"error": kind, "message": message}),
        Err(CallError::Transport(m)) => serde_json::json!({"error": "adapter_failure", "message": m}),
    }
}

/// Compares an answer with a case's expectation; `None` when they agree, else why not.
pub fn compare(case: &Case, got: &Result<Value, CallError>) -> Option<String> {
    match (case.expected_error(), got) {
        (Some(kind), Err(e)) if e.kind() == kind => None,
        (Some(kind), Err(e)) => Some(format!("expected error {kind}, got error {}", e.kind())),
        (Some(kind), Ok(_)) => Some(format!("expected error {kind}, but the implementation accepted")),
        (None, Ok(v)) if *v == case.expect => None,
        (None, Ok(v)) => Some(format!(
            "result differs: {}",
            first_difference(&case.expect, v, "$")
        )),
        (None, Err(e)) => Some(format!("expected success, got error {}", e.kind())),
    }
}

/// A JSON path to the first place where `want` and `got` differ.
fn first_difference(want: &Value, got: &Value, path: &str) -> String {
    match (want, got) {
        (Value::Object(w), Value::Object(g)) => {
            for (k, wv) in w {
                match g.get(k) {
                    None => return format!("{path}.{k} missing"),
                    Some(gv) if gv != wv => return first_difference(wv, gv, &format!("{path}.{k}")),
                    _ => {}
                }
            }
            match g.keys().find(|k| !w.contains_key(*k)) {
                Some(k) => format!("{path}.{k} unexpected"),
                None => format!("{path} differs"),
            }
        }
        (Value::Array(w), Value::Array(g)) if w.len() != g.len() => {
            format!("{path} has {} entries, expected {}", g.len(), w.len())
        }
        (Value::Array(w), Value::Array(g)) => match w.iter().zip(g).position(|(a, b)| a != b) {
            Some(i) => first_difference(&w[i], &g[i], &format!("{path}[{i}]")),
            None => format!("{path} differs"),
        },
        _ => format!("{path} differs"),
    }
}

/// Runs every case of `file` against `adapter`.
pub fn run_suite(
    adapter: &mut dyn Adapter,
    file: &VectorFile,
    rules: &Rules,
    deviations: &Deviations,
    mut progress: impl FnMut(),
) -> SuiteResult {
    let mut cases = Vec::with_capacity(file.cases.len());
    for case in &file.cases {
        let got = adapter.call(&case.input.op, &case.input.args);
        let (status, reason) = match compare(case, &got) {
            None => (Status::Pass, String::new()),
            Some(_) if matches!(&got, Err(CallError::Op { kind, .. }) if kind == "unsupported") => (
                Status::Unsupported,
                "the adapter does not implement this op".into(),
            ),
            Some(why) => match deviations.lookup(&file.suite, &case.id, &case.flags) {
                Some(documented) => (Status::Deviation, format!("{documented} ({why})")),
                None => (Status::Fail, why),
            },
        };
        cases.push(CaseResult {
            id: case.id.clone(),
            comment: case.comment.clone(),
            flags: case.flags.clone(),
            rule: rules.rule_for(&file.suite, &case.flags).to_string(),
            status,
            op: case.input.op.clone(),
            input: case.input.args.clone(),
            expected: case.expect.clone(),
            actual: actual_json(&got),
            reason,
        });
        progress();
    }
    let mut result = SuiteResult {
        suite: file.suite.clone(),
        skipped: None,
        counts: BTreeMap::new(),
        cases,
    };
    for s in [Status::Pass, Status::Fail, Status::Deviation, Status::Unsupported] {
        let name = serde_json::to_value(s)
            .expect("status")
            .as_str()
            .expect("string")
            .to_string();
        result.counts.insert(name, result.count(s));
    }
    result.counts.insert("total".into(), result.cases.len());
    result
}

/// Loads `<dir>/<suite>.json`.
pub fn load_suite(dir: &Path, suite: &str) -> anyhow::Result<VectorFile> {
    Ok(VectorFile::load(&dir.join(format!("{suite}.json")))?)
}
