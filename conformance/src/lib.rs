//! ssb-conformance: runs the vector suites against an implementation under test (the built-in
//! reference, or any process speaking the adapter protocol of `ADAPTER.md`), drives
//! shs1-testsuite executables, and writes reports. The `ssb-harness` binary is its CLI.

pub mod adapter;
pub mod check_order;
pub mod deviations;
pub mod difffuzz;
pub mod failures;
pub mod faults;
pub mod go_peer;
pub mod html;
pub mod js_peer;
pub mod junit;
pub mod live;
pub mod logging;
pub mod matrix;
pub mod report;
pub mod rules;
pub mod runner;
pub mod selection;
pub mod shs1;

use std::path::PathBuf;

/// The workspace root this binary was built from: the default home of `vectors/` for the
/// developer commands (`vectors generate`, `vectors verify`). `check` needs no checkout: its
/// vectors are compiled in and its reports go under the current directory.
pub fn workspace_root() -> PathBuf {
    let root = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/.."));
    root.canonicalize().unwrap_or(root)
}
