//! The simulator's invariants, one checker per file. Each file's doc comment states exactly when
//! its invariant is owed and held, beside the code that checks it. A checker answers one of
//! three verdicts: held, violated (with what), or not exercised — the run could not test it (no
//! link ever came up, no forker, no followed feed reachable, …) — so that a run which tested
//! nothing never counts as a pass of that invariant.

pub mod bounded_flight;
pub mod convergence;
pub mod fork_detection;
pub mod groups;
pub mod no_forgery;

use serde::Serialize;

use crate::ledger::Ledger;
use crate::metrics::Metrics;
use crate::plan::Plan;
use crate::world::World;

/// How an invariant fared in one run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Held,
    Violated,
    NotExercised,
}

/// One invariant's verdict, as `summary.json` records it.
#[derive(Debug, Clone, Serialize)]
pub struct Verdict {
    /// Short stable name (`fork_detection`), used by sweeps and shrinking.
    pub name: &'static str,
    pub statement: &'static str,
    pub status: Status,
    /// What was exercised (counts), or why it was not.
    pub detail: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub violations: Vec<String>,
}

impl Verdict {
    pub fn held(name: &'static str, statement: &'static str, detail: String) -> Verdict {
        Verdict {
            name,
            statement,
            status: Status::Held,
            detail,
            violations: Vec::new(),
        }
    }

    pub fn not_exercised(name: &'static str, statement: &'static str, why: &str) -> Verdict {
        Verdict {
            name,
            statement,
            status: Status::NotExercised,
            detail: why.to_string(),
            violations: Vec::new(),
        }
    }

    /// Held if `violations` is empty, else violated.
    pub fn judged(
        name: &'static str,
        statement: &'static str,
        detail: String,
        violations: Vec<String>,
    ) -> Verdict {
        let status = if violations.is_empty() {
            Status::Held
        } else {
            Status::Violated
        };
        Verdict {
            name,
            statement,
            status,
            detail,
            violations,
        }
    }
}

/// What the final checks look at.
pub struct Ending<'a> {
    pub plan: &'a Plan,
    pub world: &'a World,
    pub metrics: &'a Metrics,
    pub ledger: &'a Ledger,
}

/// The checks made once the run reached its end (the forgery check runs during the run too).
pub fn final_checks(e: &Ending, groups: Option<Verdict>) -> Vec<Verdict> {
    let mut v = vec![
        no_forgery::verdict(e),
        fork_detection::check(e),
        convergence::check(e),
        bounded_flight::check(e),
    ];
    v.extend(groups);
    v
}
