//! `failures.jsonl`: every failing case of a run as the adapter request that reproduces it, one
//! per line, ready to pipe into the adapter (`adapter < failures.jsonl`). Each line is a request
//! of `ADAPTER.md` (`id`, `op`, `args`, in full) plus `case`, the vector case id, which adapters
//! ignore; `id` counts from 1 in file order.

use serde_json::{json, Value};

use crate::runner::{Status, SuiteResult};

/// The request lines of the failing cases of `suites`, in report order.
pub fn requests(suites: &[SuiteResult]) -> Vec<Value> {
    suites
        .iter()
        .flat_map(|s| &s.cases)
        .filter(|c| c.status == Status::Fail && !c.op.is_empty())
        .enumerate()
        .map(|(i, c)| json!({"id": i + 1, "op": c.op, "args": c.input, "case": c.id}))
        .collect()
}

/// The text of `failures.jsonl`: one request per line, each ended by `\n` (empty when nothing
/// failed).
pub fn jsonl(suites: &[SuiteResult]) -> String {
    requests(suites)
        .iter()
        .map(|r| format!("{}\n", serde_json::to_string(r).expect("JSON")))
        .collect()
}
