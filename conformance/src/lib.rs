//! ssb-conformance: runs the vector suites against an implementation under test (the built-in
//! reference, or any process speaking the adapter protocol of `ADAPTER.md`), drives
//! shs1-testsuite executables, and writes reports. The `ssb-harness` binary is its CLI.

pub mod adapter;
pub mod check_order;
pub mod deviations;
pub mod go_peer;
pub mod difffuzz;
pub mod faults;
pub mod js_peer;
pub mod live;
pub mod matrix;
pub mod report;
pub mod rules;
pub mod runner;
pub mod shs1;

use std::path::PathBuf;

/// The workspace root this binary was built from: the default home of `vectors/` and `reports/`.
pub fn workspace_root() -> PathBuf {
    let root = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/.."));
    root.canonicalize().unwrap_or(root)
}
