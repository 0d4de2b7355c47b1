//! The upstream secret-handshake step records (`shs-test-secret-handshake/data.json`, read from
//! `SSB_UPSTREAM_VECTORS`) evaluated with our step functions and crypto: all 147 checked
//! records pass, the 7 must-reject records are rejected, the 12 `clean` records are skipped as
//! upstream does, and the box-stream keys of those 12 `clean` records match ours.

use ssb_vectors::file::upstream_dir;
use ssb_vectors::upstream::shs_steps::{
    check_shs_box_stream_keys, check_shs_steps, summarize, RecordStatus, ShsSummary,
};

#[test]
fn upstream_shs_step_records() {
    let Some(dir) = upstream_dir() else {
        println!("skipped: SSB_UPSTREAM_VECTORS is not set");
        return;
    };
    let results = check_shs_steps(&dir).unwrap_or_else(|e| panic!("{e}"));
    let failures: Vec<String> = results
        .iter()
        .filter(|r| r.status == RecordStatus::Fail)
        .map(|r| r.to_string())
        .collect();
    assert!(
        failures.is_empty(),
        "{} records fail:\n{}",
        failures.len(),
        failures.join("\n")
    );
    for r in results.iter().filter(|r| r.must_reject) {
        println!("{r}");
    }
    let summary = summarize(&results);
    assert_eq!(
        summary,
        ShsSummary {
            checked: 147,
            passed: 147,
            failed: 0,
            must_reject: 7,
            rejected: 7,
            skipped: 12,
        }
    );
    assert!(results
        .iter()
        .filter(|r| r.status == RecordStatus::Skipped)
        .all(|r| r.name == "clean"));
    let compared: usize = results.iter().map(|r| r.compared.len()).sum();
    println!("{summary:?}; {compared} fields compared");
}

#[test]
fn upstream_shs_box_stream_keys() {
    let Some(dir) = upstream_dir() else {
        println!("skipped: SSB_UPSTREAM_VECTORS is not set");
        return;
    };
    let results = check_shs_box_stream_keys(&dir).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(results.len(), 12);
    for r in &results {
        assert!(r.passed(), "{r}");
        for field in ["encryptKey", "decryptKey"] {
            assert!(r.compared.iter().any(|c| c == field), "{r}: {field} not compared");
        }
    }
}
