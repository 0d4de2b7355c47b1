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

/// The checker is not vacuous: a changed byte, a dropped rejection or a made-up rejection fail.
#[test]
fn upstream_shs_tampered_records_fail() {
    use ssb_vectors::upstream::shs_steps::{check_records, load_shs_steps, Function, ShsValue};
    let Some(dir) = upstream_dir() else {
        println!("skipped: SSB_UPSTREAM_VECTORS is not set");
        return;
    };
    let records = load_shs_steps(&dir).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(records.len(), 159);
    let fails = |records: &[_]| {
        check_records(records)
            .iter()
            .filter(|r| r.status == RecordStatus::Fail)
            .count()
    };
    assert_eq!(fails(&records), 0);

    // A changed byte in each message-producing record's result.
    for f in [
        Function::CreateChallenge,
        Function::ClientCreateAuth,
        Function::ServerCreateAccept,
    ] {
        let mut t = records.clone();
        let r = t.iter_mut().find(|r| r.function == f).expect("present");
        let Some(ShsValue::Bytes(b)) = &mut r.result else {
            panic!("bytes result")
        };
        b[5] ^= 1;
        assert_eq!(fails(&t), 1, "{f:?}");
    }
    // A changed derived secret in a state result.
    let mut t = records.clone();
    let r = t
        .iter_mut()
        .find(|r| r.function == Function::ServerVerifyAuth && r.result.is_some())
        .unwrap();
    let Some(ShsValue::State(s)) = &mut r.result else {
        panic!("state result")
    };
    s.secret3.as_mut().unwrap()[0] ^= 1;
    assert_eq!(fails(&t), 1);
    // A must-reject record made positive: we still reject it, which is now a failure.
    let mut t = records.clone();
    let r = t.iter_mut().find(|r| r.result.is_none()).unwrap();
    r.result = Some(r.args[0].clone());
    assert_eq!(fails(&t), 1);
    // An accepted verification made must-reject: we accept it, which is a failure.
    let mut t = records.clone();
    let r = t
        .iter_mut()
        .find(|r| r.function == Function::ClientVerifyAccept)
        .unwrap();
    r.result = None;
    assert_eq!(fails(&t), 1);
    // A tampered incoming message makes our verification reject a record upstream accepts.
    let mut t = records.clone();
    let r = t
        .iter_mut()
        .find(|r| r.function == Function::ClientVerifyAccept)
        .unwrap();
    let ShsValue::Bytes(m) = &mut r.args[1] else {
        panic!("message")
    };
    m[40] ^= 1;
    assert_eq!(fails(&t), 1);
}

/// Malformed files give a typed error naming the file and record; nothing panics.
#[test]
fn upstream_shs_malformed_files_are_errors() {
    use ssb_vectors::upstream::shs_steps::load_shs_steps;
    use ssb_vectors::upstream::UpstreamError;
    let root = std::env::temp_dir().join(format!("ssb-upstream-shs-{}", std::process::id()));
    let sub = root.join("shs-test-secret-handshake");
    std::fs::create_dir_all(&sub).unwrap();
    let file = sub.join("data.json");
    let _ = std::fs::remove_file(&file);
    assert!(matches!(
        load_shs_steps(&root),
        Err(UpstreamError::Missing { .. })
    ));
    let cases: &[(&str, &str)] = &[
        ("[{", "not the expected JSON"),
        ("{}", "expected an array"),
        (r#"[{"name":"nope","args":[],"result":null}]"#, "unknown function"),
        (
            r#"[{"name":"createChallenge","args":["zz"],"result":null}]"#,
            "bad hex",
        ),
        (
            r#"[{"name":"createChallenge","args":[{"app_key":"00"}],"result":null}]"#,
            "expected 32 bytes",
        ),
        (
            r#"[{"name":"createChallenge","args":[{"local":{"kx_pk":7}}],"result":null}]"#,
            "hex string",
        ),
        (
            r#"[{"name":"createChallenge","args":[{"what":"00"}],"result":null}]"#,
            "unknown field",
        ),
        (r#"[{"name":"createChallenge","args":[{}]}]"#, "no `result`"),
        (
            r#"[{"name":"toKeys","args":[{"publicKey":"00"}],"result":null}]"#,
            "expected 32 bytes",
        ),
        (r#"[3]"#, "not an object"),
    ];
    for (text, want) in cases {
        std::fs::write(&file, text).unwrap();
        let err = load_shs_steps(&root).expect_err(text).to_string();
        assert!(err.contains(want), "{text}: {err}");
        assert!(err.contains("data.json"), "{text}: {err}");
    }
    // A well-formed but incomplete record is evaluated as a failure, not a panic.
    std::fs::write(&file, r#"[{"name":"serverVerifyAuth","args":[{},"00"],"result":null},
        {"name":"toKeys","args":[{"publicKey":"00000000000000000000000000000000000000000000000000000000000000000"}],"result":null}]"#)
        .unwrap();
    assert!(load_shs_steps(&root).is_err());
    std::fs::write(
        &file,
        r#"[{"name":"serverVerifyAuth","args":[{},"00"],"result":null},
        {"name":"clientVerifyAccept","args":[{}],"result":{}},{"name":"clean","args":[{}],"result":{}}]"#,
    )
    .unwrap();
    let results = check_shs_steps(&root).unwrap();
    assert_eq!(summarize(&results).failed, 2);
    assert!(results[0].detail.contains("cannot evaluate"), "{}", results[0]);
    let keys = check_shs_box_stream_keys(&root).unwrap();
    assert_eq!(keys.len(), 1);
    assert!(!keys[0].passed());
    std::fs::remove_dir_all(&root).unwrap();
}
