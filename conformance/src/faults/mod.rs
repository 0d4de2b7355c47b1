//! Fault switches for the reference implementation: for each rule of `conformance/rules.toml`,
//! one realistic bug (a check skipped, the wrong encoding, an option ignored, an off-by-one)
//! that `ssb-ref-adapter --fault RULE-ID` (or `SSB_FAULT`) and `ssb-harness check --fault`
//! switch on. Running a rule's suite with its fault on measures whether the vectors catch that
//! bug: [`detect`] gives, per rule, the cases that fail, and [`write_table`] the report
//! `reports/conformance/faults.{md,json}`.

mod edits;
mod table;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Serialize;
use serde_json::{json, Value};
use ssb_vectors::reference::{self, OpError};
use ssb_vectors::VectorFile;

use crate::adapter::{Adapter, CallError};
use crate::deviations::Deviations;
use crate::rules::Rules;
use crate::runner::{self, Status};

pub use table::FAULTS;

/// Suites served by the adapter protocol; the `live` suite's rules are checked against a running
/// peer and have no switch in the adapter (a node-level fault is another tool's job).
pub const ADAPTER_SUITES: &[&str] = reference::SUITES;

/// How a fault changes the reference's behaviour for the ops it applies to.
pub enum Break {
    /// The check is skipped: a rejection whose kind (or detailed kind, the first word of the
    /// reference's message) is listed, and whose message contains `detail`, becomes an
    /// acceptance.
    Skip {
        kinds: &'static [&'static str],
        detail: &'static str,
    },
    /// The arguments are misread before the real work (an option ignored, a bound moved).
    Args(fn(&mut Value)),
    /// A successful answer is computed the wrong way (an encoding, a flag, an order).
    Answer(fn(&Value, &mut Value)),
    /// Anything else: the arguments and the reference's own answer in, the faulty answer out.
    Custom(fn(&Value, Result<Value, OpError>) -> Result<Value, OpError>),
}

/// One rule's fault switch.
pub struct Fault {
    pub rule: &'static str,
    /// The ops the bug lives in; every other op behaves as the reference.
    pub ops: &'static [&'static str],
    /// The bug, as an implementer would describe it.
    pub bug: &'static str,
    pub brk: Break,
}

/// The fault switch of `rule`, if it has one.
pub fn fault(rule: &str) -> Option<&'static Fault> {
    FAULTS.iter().find(|f| f.rule == rule)
}

/// What an implementation that skipped a check answers for `op`: the real answer cannot be
/// known, but an acceptance is what the vectors must catch. `feed.validate` gets the id the
/// message would have.
fn accepted(op: &str, args: &Value) -> Value {
    match op {
        "feed.validate" => {
            let id = reference::bytes_arg(args, "message")
                .ok()
                .and_then(|b| ssb_impl::legacy::parse(&b, ssb_impl::legacy::Mode::JsCompat).ok())
                .and_then(|v| match v {
                    ssb_impl::legacy::Value::Object(o) => {
                        Some(ssb_impl::legacy::message::message_id(&o).to_string())
                    }
                    _ => None,
                });
            json!({ "id": id })
        }
        "boxstream.decrypt" => json!({ "bodies": [] }),
        "muxrpc.decode" => json!({ "packets": [], "goodbye": false }),
        "bendybutt.validate" => json!({ "keys": [] }),
        "groups.validate" => json!({ "valid": true }),
        _ => json!({}),
    }
}

fn matches_skip(e: &OpError, kinds: &[&str], detail: &str) -> bool {
    let first = e.message.split_whitespace().next().unwrap_or("");
    (kinds.contains(&e.kind.as_str()) || kinds.contains(&first)) && e.message.contains(detail)
}

/// Runs `op` on the reference with `fault` switched on.
pub fn dispatch(fault: &Fault, op: &str, args: &Value) -> Result<Value, OpError> {
    if op == "capabilities" {
        // Its own name, so that its reports never overwrite the reference's.
        let mut caps = reference::capabilities();
        caps["name"] = json!(format!("ssb-impl-fault-{}", fault.rule));
        return Ok(caps);
    }
    if !fault.ops.contains(&op) {
        return reference::dispatch(op, args);
    }
    match &fault.brk {
        Break::Skip { kinds, detail } => match reference::dispatch(op, args) {
            Err(e) if matches_skip(&e, kinds, detail) => Ok(accepted(op, args)),
            other => other,
        },
        Break::Args(edit) => {
            let mut a = args.clone();
            edit(&mut a);
            reference::dispatch(op, &a)
        }
        Break::Answer(edit) => reference::dispatch(op, args).map(|mut v| {
            edit(args, &mut v);
            v
        }),
        Break::Custom(f) => f(args, reference::dispatch(op, args)),
    }
}

/// The reference with one fault switched on, called in-process.
pub struct Faulty(pub &'static Fault);

impl Adapter for Faulty {
    fn name(&self) -> String {
        format!("reference-fault-{}", self.0.rule)
    }

    fn call(&mut self, op: &str, args: &Value) -> Result<Value, CallError> {
        dispatch(self.0, op, args).map_err(|e| CallError::Op {
            kind: e.kind,
            message: e.message,
        })
    }
}

/// One case that fails with a fault on.
#[derive(Debug, Clone, Serialize)]
pub struct Catch {
    pub case: String,
    /// The rule that case checks (another rule's case may catch the fault too).
    pub rule: String,
}

/// How the vectors fare against one rule's fault.
#[derive(Debug, Clone, Serialize)]
pub struct Detection {
    pub rule: String,
    pub suite: String,
    pub bug: String,
    /// Cases of the rule itself.
    pub cases: usize,
    /// Whether the rule's cases hold both sides of a limit (an accepted and a refused input):
    /// then two catches are required.
    pub boundary: bool,
    pub caught_by: Vec<Catch>,
    /// Whether the fault is caught as often as required.
    pub caught: bool,
}

impl Detection {
    /// Catches required: two for a rule with boundary values, else one.
    pub fn required(&self) -> usize {
        if self.boundary {
            2
        } else {
            1
        }
    }
}

/// Runs every adapter-suite rule's suite with that rule's fault on. A rule without a fault
/// switch is reported with no catches (and so fails the requirement).
pub fn detect(vectors: &Path, rules: &Rules) -> anyhow::Result<Vec<Detection>> {
    let mut files: BTreeMap<String, VectorFile> = BTreeMap::new();
    let mut out = Vec::new();
    for rule in rules
        .rules
        .iter()
        .filter(|r| ADAPTER_SUITES.contains(&r.suite.as_str()))
    {
        if !files.contains_key(&rule.suite) {
            files.insert(rule.suite.clone(), runner::load_suite(vectors, &rule.suite)?);
        }
        let file = &files[&rule.suite];
        let own: Vec<_> = file
            .cases
            .iter()
            .filter(|c| rules.rule_for(&file.suite, &c.flags) == rule.id)
            .collect();
        let boundary = own.iter().any(|c| c.expected_error().is_some())
            && own.iter().any(|c| c.expected_error().is_none());
        let (bug, caught_by) = match fault(&rule.id) {
            None => ("(no fault switch)".to_string(), vec![]),
            Some(f) => {
                let r = runner::run_suite(&mut Faulty(f), file, rules, &Deviations::default(), || {});
                let catches = r
                    .cases
                    .iter()
                    .filter(|c| c.status == Status::Fail)
                    .map(|c| Catch {
                        case: c.id.clone(),
                        rule: c.rule.clone(),
                    })
                    .collect();
                (f.bug.to_string(), catches)
            }
        };
        let mut d = Detection {
            rule: rule.id.clone(),
            suite: rule.suite.clone(),
            bug,
            cases: own.len(),
            boundary,
            caught_by,
            caught: false,
        };
        d.caught = d.caught_by.len() >= d.required();
        out.push(d);
    }
    Ok(out)
}

/// Writes `faults.json` and `faults.md` into `dir`; returns their paths.
pub fn write_table(dir: &Path, detections: &[Detection]) -> anyhow::Result<(PathBuf, PathBuf)> {
    std::fs::create_dir_all(dir)?;
    let json_path = dir.join("faults.json");
    let md_path = dir.join("faults.md");
    let mut text = serde_json::to_string_pretty(&json!({
        "rules": detections.len(),
        "caught": detections.iter().filter(|d| d.caught).count(),
        "faults": detections,
    }))?;
    text.push('\n');
    std::fs::write(&json_path, text)?;
    std::fs::write(&md_path, markdown(detections))?;
    Ok((json_path, md_path))
}

fn markdown(detections: &[Detection]) -> String {
    let caught = detections.iter().filter(|d| d.caught).count();
    let mut s = String::from("# Fault detection: one realistic bug per rule\n\n");
    s.push_str(
        "Each rule of `conformance/rules.toml` served by the adapter protocol has a fault switch in \
         the reference adapter (`ssb-ref-adapter --fault RULE-ID`, or `SSB_FAULT`; in-process \
         `ssb-harness check --fault RULE-ID`). With the fault on, the rule's suite is run; the \
         cases that fail are the ones that catch the bug. A rule whose cases hold both sides of a \
         limit must be caught by two cases, any other by one. Regenerate with \
         `ssb-harness check --fault all`; `cargo test -p ssb-conformance --test fault_switches` \
         checks it.\n\n",
    );
    s.push_str(&format!(
        "**{caught} of {} faults caught as required.** The `live` suite's rules are checked \
         against a running peer and have no switch here.\n\n",
        detections.len()
    ));
    s.push_str("| rule | bug switched on | own cases | caught by | required | verdict |\n");
    s.push_str("|---|---|---|---|---|---|\n");
    for d in detections {
        let mut by: Vec<String> = d
            .caught_by
            .iter()
            .take(8)
            .map(|c| {
                let short = c.case.rsplit('/').next().unwrap_or(&c.case);
                if c.rule == d.rule {
                    short.to_string()
                } else {
                    format!("{short} ({})", c.rule)
                }
            })
            .collect();
        if d.caught_by.len() > 8 {
            by.push(format!("… {} in all", d.caught_by.len()));
        }
        s.push_str(&format!(
            "| {} | {} | {} | {} | {} | {} |\n",
            d.rule,
            d.bug.replace('|', "\\|"),
            d.cases,
            if by.is_empty() {
                "none".into()
            } else {
                by.join(", ")
            },
            d.required(),
            if d.caught { "caught" } else { "**MISSED**" }
        ));
    }
    s
}
