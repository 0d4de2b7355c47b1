//! Detection power as a test: every rule of `rules.toml` served by the adapter protocol has a
//! fault switch in the reference adapter, and with that fault on, the rule's suite fails in at
//! least one case (two where the rule's cases hold both sides of a limit). The table "rule →
//! cases that catch its fault" is written to reports/conformance/faults.{md,json}. Also: the
//! switch works through the `ssb-ref-adapter` process (`--fault` and `SSB_FAULT`), and a
//! correct implementation that checks classic messages in another order passes every suite.

use std::process::Command;
use std::time::Duration;

use ssb_conformance::adapter::{Adapter, Process};
use ssb_conformance::check_order::Reversed;
use ssb_conformance::deviations::Deviations;
use ssb_conformance::faults::{self, ADAPTER_SUITES, FAULTS};
use ssb_conformance::rules::Rules;
use ssb_conformance::runner::{load_suite, run_suite, Status};
use ssb_conformance::workspace_root;

#[test]
fn every_rule_has_exactly_one_fault_switch_and_no_switch_names_an_unknown_rule() {
    let rules = Rules::builtin();
    for r in rules
        .rules
        .iter()
        .filter(|r| ADAPTER_SUITES.contains(&r.suite.as_str()))
    {
        let n = FAULTS.iter().filter(|f| f.rule == r.id).count();
        assert_eq!(n, 1, "rule {} has {n} fault switches", r.id);
    }
    for f in FAULTS {
        assert!(
            rules.get(f.rule).is_some(),
            "fault switch for unknown rule {}",
            f.rule
        );
        assert!(
            !f.ops.is_empty() && !f.bug.is_empty(),
            "{} is not described",
            f.rule
        );
    }
}

#[test]
fn every_fault_is_caught_and_the_table_is_written() {
    let vectors = workspace_root().join("vectors");
    let detections = faults::detect(&vectors, &Rules::builtin()).unwrap();
    let (json, md) = faults::write_table(&workspace_root().join("reports/conformance"), &detections).unwrap();
    assert!(json.exists() && md.exists());
    let missed: Vec<String> = detections
        .iter()
        .filter(|d| !d.caught)
        .map(|d| {
            format!(
                "{} ({} of {} catches: {:?})",
                d.rule,
                d.caught_by.len(),
                d.required(),
                d.bug
            )
        })
        .collect();
    assert!(missed.is_empty(), "faults not caught as required: {missed:#?}");
    // Each fault is caught by at least one case of its own rule, not only by other rules' cases.
    let only_others: Vec<&str> = detections
        .iter()
        .filter(|d| d.cases > 0 && !d.caught_by.iter().any(|c| c.rule == d.rule))
        .map(|d| d.rule.as_str())
        .collect();
    assert!(
        only_others.is_empty(),
        "caught only by other rules' cases: {only_others:?}"
    );
    let text = std::fs::read_to_string(md).unwrap();
    assert!(text.contains(&format!(
        "**{} of {} faults caught",
        detections.len(),
        detections.len()
    )));
}

#[test]
fn the_fault_switch_works_through_the_adapter_process() {
    let exe = env!("CARGO_BIN_EXE_ssb-ref-adapter");
    let file = load_suite(&workspace_root().join("vectors"), "feed-legacy").unwrap();
    let rules = Rules::builtin();
    let (mut p, _) =
        Process::start(&format!("{exe} --fault LEG-SIGNATURE"), Duration::from_secs(20)).unwrap();
    // Named apart from the reference, so that its report does not overwrite the reference's.
    assert_eq!(p.name(), "ssb-impl-fault-LEG-SIGNATURE");
    let r = run_suite(&mut p, &file, &rules, &Deviations::default(), || {});
    let failed: Vec<&str> = r
        .cases
        .iter()
        .filter(|c| c.status == Status::Fail)
        .map(|c| c.rule.as_str())
        .collect();
    assert!(failed.contains(&"LEG-SIGNATURE"), "{failed:?}");
    // The same through the environment, one request by hand.
    let case = file
        .cases
        .iter()
        .find(|c| rules.rule_for(&file.suite, &c.flags) == "LEG-SIGNATURE")
        .unwrap();
    let line = serde_json::json!({"id": 1, "op": case.input.op, "args": case.input.args}).to_string();
    let out = Command::new(exe)
        .env("SSB_FAULT", "LEG-SIGNATURE")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .and_then(|mut c| {
            use std::io::Write;
            c.stdin
                .take()
                .unwrap()
                .write_all(format!("{line}\n").as_bytes())?;
            c.wait_with_output()
        })
        .unwrap();
    let answer: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(answer.get("ok").is_some(), "the skipped check accepts: {answer}");
    // An unknown rule is refused at start.
    let status = Command::new(exe)
        .args(["--fault", "NO-SUCH-RULE"])
        .status()
        .unwrap();
    assert!(!status.success());
}

#[test]
fn checks_in_reverse_order_pass_every_suite() {
    let rules = Rules::builtin();
    for (suite, _) in ssb_vectors::generate::SUITES {
        let file = load_suite(&workspace_root().join("vectors"), suite).unwrap();
        let r = run_suite(&mut Reversed, &file, &rules, &Deviations::default(), || {});
        let failing: Vec<_> = r
            .cases
            .iter()
            .filter(|c| c.status != Status::Pass)
            .map(|c| (&c.id, &c.reason))
            .collect();
        assert!(failing.is_empty(), "{suite} with checks reversed: {failing:?}");
    }
    assert_eq!(Reversed.name(), "reference-reversed");
}

#[test]
fn reverse_order_would_have_failed_the_old_two_fault_cases() {
    // The old feed-legacy/0094: sequence and previous both wrong. The two orders disagree on
    // it, which is why every case now carries one fault.
    use ssb_impl::legacy::message::sign_message;
    use ssb_impl::legacy::{to_compact_units, Object, Value as L};
    let keys = ssb_impl::Keypair::from_seed([9; 32]);
    let mut content = Object::new();
    content.insert("type".into(), L::string("post"));
    let (m1, id1) = sign_message(&keys, None, 1, 1.0, L::Object(content.clone()), None);
    let (m2, id2) = sign_message(&keys, Some(id1), 2, 2.0, L::Object(content.clone()), None);
    let (m3, _) = sign_message(&keys, Some(id2), 3, 3.0, L::Object(content), None);
    let _ = (m1, m2);
    let text = String::from_utf16(&to_compact_units(&L::Object(m3))).unwrap();
    let args = serde_json::json!({
        "state": {"id": id1.to_string(), "sequence": 1.0},
        "hmac_key": null,
        "message": hex::encode(text),
    });
    let reference = ssb_vectors::reference::dispatch("feed.validate", &args).unwrap_err();
    let reversed = ssb_conformance::check_order::dispatch("feed.validate", &args).unwrap_err();
    assert_eq!(reference.kind, "sequence_mismatch");
    assert_eq!(reversed.kind, "previous_mismatch");
}
