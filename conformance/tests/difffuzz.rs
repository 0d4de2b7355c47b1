//! `ssb-harness fuzz` finds a planted disagreement: the reference adapter with one rule's fault
//! switched on, fuzzed against the reference, yields a finding whose saved case file
//! `check --cases FILE` replays (failing on the faulty adapter, passing on the reference); and a
//! correct implementation that checks in another order yields no finding.

use std::process::Command;

use ssb_conformance::adapter::Reference;
use ssb_conformance::check_order::Reversed;
use ssb_conformance::deviations::Deviations;
use ssb_conformance::difffuzz::{self, Config};
use ssb_conformance::faults::{fault, Faulty};
use ssb_conformance::runner::load_suite;
use ssb_conformance::workspace_root;
use ssb_vectors::VectorFile;

fn config(suite: &str, out: &std::path::Path, mutants: u64) -> Config {
    Config {
        suite: suite.into(),
        // Bounded by the mutant count; the time is only a backstop.
        time: std::time::Duration::from_secs(120),
        max_mutants: mutants,
        seed: 3,
        out: out.to_path_buf(),
        strict_kinds: false,
    }
}

#[test]
fn a_planted_fault_is_found_shrunk_saved_and_replayed() {
    let tmp = tempfile::tempdir().unwrap();
    let file = load_suite(&workspace_root().join("vectors"), "boxstream").unwrap();
    let planted = fault("BOX-AUTH-BODY").unwrap();
    let s = difffuzz::run(
        &config("boxstream", tmp.path(), 600),
        &file,
        &mut Faulty(planted),
        &mut Reference,
        &Deviations::default(),
    )
    .unwrap();
    assert!(!s.findings.is_empty(), "no disagreement in {} mutants", s.mutants);
    let finding = &s.findings[0];
    let saved = VectorFile::load(&finding.path).unwrap();
    assert_eq!(saved.suite, "boxstream");
    assert_eq!(saved.cases.len(), 1);
    assert_eq!(saved.cases[0].expect, finding.reference);

    // The saved case replays through the CLI: it fails on the faulty adapter process...
    let harness = env!("CARGO_BIN_EXE_ssb-harness");
    let adapter = format!("{} --fault BOX-AUTH-BODY", env!("CARGO_BIN_EXE_ssb-ref-adapter"));
    let reports = tmp.path().join("reports");
    let run = |adapter: Option<&str>| {
        let mut c = Command::new(harness);
        c.args(["check", "--cases"])
            .arg(&finding.path)
            .arg("--reports")
            .arg(&reports);
        if let Some(a) = adapter {
            c.args(["--adapter", a]);
        }
        c.output().unwrap()
    };
    let faulty = run(Some(&adapter));
    assert!(
        !faulty.status.success(),
        "{}",
        String::from_utf8_lossy(&faulty.stdout)
    );
    assert!(String::from_utf8_lossy(&faulty.stdout).contains("1 cases, 0 pass, 1 fail"));
    // ...and passes on the reference.
    let reference = run(None);
    assert!(
        reference.status.success(),
        "{}",
        String::from_utf8_lossy(&reference.stdout)
    );
}

#[test]
fn shrinking_keeps_a_smaller_input_that_still_disagrees() {
    let tmp = tempfile::tempdir().unwrap();
    let file = load_suite(&workspace_root().join("vectors"), "feed-legacy").unwrap();
    let planted = fault("LEG-SIGNATURE").unwrap();
    let s = difffuzz::run(
        &config("feed-legacy", tmp.path(), 400),
        &file,
        &mut Faulty(planted),
        &mut Reference,
        &Deviations::default(),
    )
    .unwrap();
    assert!(!s.findings.is_empty(), "no disagreement in {} mutants", s.mutants);
    for f in &s.findings {
        let saved = VectorFile::load(&f.path).unwrap();
        let case = &saved.cases[0];
        // The reference refuses the shrunk input and the faulty implementation accepts it.
        assert!(ssb_vectors::reference::dispatch(&case.input.op, &case.input.args).is_err());
        assert!(ssb_conformance::faults::dispatch(planted, &case.input.op, &case.input.args).is_ok());
    }
}

#[test]
fn a_correct_implementation_with_another_check_order_has_no_findings() {
    let tmp = tempfile::tempdir().unwrap();
    let file = load_suite(&workspace_root().join("vectors"), "feed-legacy").unwrap();
    let s = difffuzz::run(
        &config("feed-legacy", tmp.path(), 400),
        &file,
        &mut Reversed,
        &mut Reference,
        &Deviations::default(),
    )
    .unwrap();
    assert!(s.findings.is_empty(), "{:?}", s.findings);
    assert!(s.mutants >= 400 && s.agreements > 0);
}

#[test]
fn durations_parse() {
    assert_eq!(difffuzz::parse_duration("60s").unwrap().as_secs(), 60);
    assert_eq!(difffuzz::parse_duration("2m").unwrap().as_secs(), 120);
    assert_eq!(difffuzz::parse_duration("500ms").unwrap().as_millis(), 500);
    assert_eq!(difffuzz::parse_duration("90").unwrap().as_secs(), 90);
    assert!(difffuzz::parse_duration("soon").is_err());
}
