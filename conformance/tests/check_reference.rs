//! The conformance loop end to end on the reference implementation: in-process and through the
//! `ssb-ref-adapter` process, every case of every committed vector file passes; every case maps
//! to a rule; reports are written and say so.

use std::path::Path;
use std::time::Duration;

use ssb_conformance::adapter::{Adapter, Process, Reference};
use ssb_conformance::deviations::Deviations;
use ssb_conformance::report::Report;
use ssb_conformance::rules::Rules;
use ssb_conformance::runner::{load_suite, run_suite, Status};
use ssb_conformance::workspace_root;

fn run_all(adapter: &mut dyn Adapter) -> Vec<ssb_conformance::runner::SuiteResult> {
    let rules = Rules::builtin();
    ssb_vectors::generate::SUITES
        .iter()
        .map(|(s, _)| {
            let file = load_suite(&workspace_root().join("vectors"), s).unwrap();
            run_suite(adapter, &file, &rules, &Deviations::default(), || {})
        })
        .collect()
}

fn assert_all_pass(results: &[ssb_conformance::runner::SuiteResult]) {
    for r in results {
        assert!(!r.cases.is_empty(), "{} has no cases", r.suite);
        let failing: Vec<_> = r
            .cases
            .iter()
            .filter(|c| c.status != Status::Pass)
            .map(|c| (&c.id, &c.reason))
            .collect();
        assert!(failing.is_empty(), "{}: {failing:?}", r.suite);
    }
}

#[test]
fn reference_in_process_passes_every_case() {
    assert_all_pass(&run_all(&mut Reference));
}

#[test]
fn reference_adapter_process_passes_every_case() {
    let exe = env!("CARGO_BIN_EXE_ssb-ref-adapter");
    let (mut p, caps) = Process::start(exe, Duration::from_secs(20)).unwrap();
    assert_eq!(caps["name"], "ssb-impl");
    assert_eq!(p.name(), "ssb-impl");
    assert_all_pass(&run_all(&mut p));
}

#[test]
fn every_case_has_a_rule_and_rule_ids_are_unique() {
    let rules = Rules::builtin();
    let mut ids: Vec<&str> = rules.rules.iter().map(|r| r.id.as_str()).collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), rules.rules.len(), "duplicate rule id");
    for r in run_all(&mut Reference) {
        for c in &r.cases {
            assert_ne!(c.rule, "?", "{} ({:?}) matches no rule", c.id, c.flags);
        }
    }
}

#[test]
fn report_is_written_and_reproducible() {
    let results = run_all(&mut Reference);
    let rules = Rules::builtin();
    let report = Report {
        adapter: "reference".into(),
        capabilities: ssb_vectors::reference::capabilities(),
        vectors: "vectors".into(),
        suites: &results,
        rules: &rules,
    };
    let dir = tempfile::tempdir().unwrap();
    let (json, md) = report.write(dir.path()).unwrap();
    let first = std::fs::read(&json).unwrap();
    report.write(dir.path()).unwrap();
    assert_eq!(first, std::fs::read(&json).unwrap(), "same run, same bytes");
    let v: serde_json::Value = serde_json::from_slice(&first).unwrap();
    assert_eq!(v["suites"][0]["counts"]["fail"], 0);
    assert_eq!(
        v["suites"][0]["counts"]["pass"],
        v["suites"][0]["counts"]["total"]
    );
    let text = std::fs::read_to_string(md).unwrap();
    assert!(text.contains("| shs | "), "{text}");
    assert!(text.contains("## Failures (0)"));
}

#[test]
fn js_deviations_file_parses() {
    let d = Deviations::load(&workspace_root().join("conformance/adapters/js/deviations.toml")).unwrap();
    let flag = |f: &str| vec![f.to_string()];
    assert!(d
        .lookup("boxstream", "boxstream/9999", &flag("data_after_goodbye"))
        .is_some());
    assert!(d
        .lookup("boxstream", "boxstream/9999", &flag("decrypt"))
        .is_none());
    // A flag documented for one suite does not excuse a case of another suite.
    assert!(d
        .lookup("feed-legacy", "feed-legacy/9999", &flag("body_too_long"))
        .is_none());
    assert!(d
        .lookup("muxrpc", "muxrpc/9999", &flag("empty_body"))
        .unwrap()
        .contains("packet-stream-codec"));
    assert!(Deviations::load(Path::new("/nonexistent.toml")).is_err());
}
