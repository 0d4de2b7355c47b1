//! Wycheproof ed25519, x25519 and HMAC-SHA-512 vectors (read from `SSB_UPSTREAM_VECTORS`) run
//! through `ssb_impl::crypto`: no `valid` case rejected, no `invalid` case accepted, `acceptable`
//! cases we reject printed with their flags, every file fully loaded (`numberOfTests`), and every
//! ed25519 and x25519 case decided exactly as libsodium decides it (our compatibility criterion
//! with the JS stack).

use std::sync::Once;

use ssb_vectors::file::upstream_dir;
use ssb_vectors::upstream::wycheproof::{
    check_ed25519, check_hmac_sha512, check_x25519, load_ed25519, load_hmac_sha512, load_x25519, CaseResult,
    Expected, Report,
};

fn sodium() {
    static INIT: Once = Once::new();
    INIT.call_once(|| {
        // SAFETY: sodium_init has no preconditions and may be called more than once.
        assert!(unsafe { libsodium_sys::sodium_init() } >= 0, "sodium_init failed");
    });
}

/// libsodium `crypto_sign_verify_detached`. It reads exactly 64 signature bytes and 32 key
/// bytes, so other lengths are refused before the call, as the JS bindings do.
fn sodium_ed25519_verify(pk: &[u8], msg: &[u8], sig: &[u8]) -> bool {
    sodium();
    if pk.len() != 32 || sig.len() != 64 {
        return false;
    }
    // SAFETY: the pointers are valid for the lengths libsodium reads (64, msg.len(), 32).
    unsafe {
        libsodium_sys::crypto_sign_verify_detached(sig.as_ptr(), msg.as_ptr(), msg.len() as u64, pk.as_ptr())
            == 0
    }
}

/// libsodium `crypto_scalarmult`: the shared secret, or `None` when it returns -1.
fn sodium_x25519(sk: &[u8], pk: &[u8]) -> Option<[u8; 32]> {
    sodium();
    if sk.len() != 32 || pk.len() != 32 {
        return None;
    }
    let mut q = [0u8; 32];
    // SAFETY: q, sk and pk are 32 bytes each.
    let rc = unsafe { libsodium_sys::crypto_scalarmult(q.as_mut_ptr(), sk.as_ptr(), pk.as_ptr()) };
    (rc == 0).then_some(q)
}

fn print_and_assert(file: &str, report: &Report) {
    let failures: Vec<String> = report.failures().map(CaseResult::to_string).collect();
    let differences: Vec<String> = report
        .acceptable_differences()
        .map(CaseResult::to_string)
        .collect();
    println!(
        "{file}: {} loaded, {} checked, {} failures, {} acceptable cases we reject",
        report.loaded,
        report.results.len(),
        failures.len(),
        differences.len()
    );
    for d in &differences {
        println!("  acceptable difference: {d}");
    }
    assert!(
        failures.is_empty(),
        "{file}: {} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert_eq!(
        report.loaded, report.number_of_tests,
        "{file}: cases loaded ≠ numberOfTests"
    );
}

#[test]
fn upstream_wycheproof_ed25519() {
    let Some(dir) = upstream_dir() else {
        println!("skipped: SSB_UPSTREAM_VECTORS is not set");
        return;
    };
    let report = check_ed25519(&dir).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(report.number_of_tests, 151);
    assert_eq!(report.results.len(), 151);
    print_and_assert("ed25519_test.json", &report);
    let loaded = load_ed25519(&dir).unwrap_or_else(|e| panic!("{e}"));
    let results = &report.results;

    let mut disagreements = Vec::new();
    for (case, ours) in loaded.cases.iter().zip(results) {
        assert_eq!(case.tc_id, ours.tc_id);
        let sodium = sodium_ed25519_verify(&case.public_key, &case.msg, &case.sig);
        if sodium != ours.ours_accepts {
            disagreements.push(format!(
                "{ours}; libsodium {}",
                if sodium { "accepts" } else { "rejects" }
            ));
        }
    }
    assert!(
        disagreements.is_empty(),
        "ed25519: we disagree with libsodium on {} cases:\n{}",
        disagreements.len(),
        disagreements.join("\n")
    );
}

#[test]
fn upstream_wycheproof_x25519() {
    let Some(dir) = upstream_dir() else {
        println!("skipped: SSB_UPSTREAM_VECTORS is not set");
        return;
    };
    let report = check_x25519(&dir).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(report.number_of_tests, 518);
    assert_eq!(report.results.len(), 518);
    print_and_assert("x25519_test.json", &report);
    let loaded = load_x25519(&dir).unwrap_or_else(|e| panic!("{e}"));
    let results = &report.results;

    let mut disagreements = Vec::new();
    for (case, ours) in loaded.cases.iter().zip(results) {
        assert_eq!(case.tc_id, ours.tc_id);
        let sodium = sodium_x25519(&case.private, &case.public);
        let ours_out = ours.ours_accepts.then(|| ours.ours_output.clone());
        if sodium.map(|s| s.to_vec()) != ours_out {
            disagreements.push(format!(
                "{ours}; libsodium {}",
                sodium.map_or("rejects".to_string(), |s| format!("gives {}", hex::encode(s)))
            ));
        }
    }
    assert!(
        disagreements.is_empty(),
        "x25519: we disagree with libsodium on {} cases:\n{}",
        disagreements.len(),
        disagreements.join("\n")
    );
    // Every acceptable case we reject is one whose shared secret is all zero (libsodium's rule).
    for r in report.acceptable_differences() {
        let case = loaded
            .cases
            .iter()
            .find(|c| c.tc_id == r.tc_id)
            .expect("same file");
        assert!(case.shared.iter().all(|b| *b == 0), "{r}");
        assert_eq!(r.expected, Expected::Acceptable);
    }
}

#[test]
fn upstream_wycheproof_hmac_sha512() {
    let Some(dir) = upstream_dir() else {
        println!("skipped: SSB_UPSTREAM_VECTORS is not set");
        return;
    };
    let loaded = load_hmac_sha512(&dir).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(loaded.cases.len(), loaded.number_of_tests);
    assert_eq!(loaded.number_of_tests, 174);
    let report = check_hmac_sha512(&dir).unwrap_or_else(|e| panic!("{e}"));
    let results = &report.results;
    let with_256_bit_tags = loaded.cases.iter().filter(|c| c.tag_size == 256).count();
    assert_eq!(results.len(), with_256_bit_tags);
    assert_eq!(results.len(), 87);
    assert!(results
        .iter()
        .any(|r| r.expected == Expected::Valid && r.ours_accepts));
    assert!(results
        .iter()
        .any(|r| r.expected == Expected::Invalid && !r.ours_accepts));
    print_and_assert("hmac_sha512_test.json", &report);
    assert_eq!(report.acceptable_differences().count(), 0);
}

/// Malformed files give a typed error naming the file and case; nothing panics.
#[test]
fn upstream_wycheproof_malformed_files_are_errors() {
    use ssb_vectors::upstream::UpstreamError;
    let root = std::env::temp_dir().join(format!("ssb-upstream-wycheproof-{}", std::process::id()));
    let sub = root.join("wycheproof");
    std::fs::create_dir_all(&sub).unwrap();
    let _ = std::fs::remove_file(sub.join("x25519_test.json"));
    assert!(matches!(check_x25519(&root), Err(UpstreamError::Missing { .. })));
    let header = r#""algorithm":"A","numberOfTests":1,"notes":{}"#;
    let files: &[(&str, String, &str)] = &[
        ("x25519_test.json", "nope".to_string(), "not the expected JSON"),
        ("x25519_test.json", format!("{{{header}}}"), "testGroups"),
        (
            "x25519_test.json",
            format!(
                r#"{{{header},"testGroups":[{{"tests":[{{"tcId":7,"flags":[],"public":"0g","private":"","shared":"","result":"valid"}}]}}]}}"#
            ),
            "tcId 7",
        ),
        (
            "x25519_test.json",
            format!(
                r#"{{{header},"testGroups":[{{"tests":[{{"tcId":7,"public":"","private":"","shared":"","result":"maybe"}}]}}]}}"#
            ),
            "maybe",
        ),
        (
            "ed25519_test.json",
            format!(
                r#"{{{header},"testGroups":[{{"publicKey":{{"pk":"00"}},"tests":[{{"tcId":9,"msg":"","sig":"abc","result":"invalid"}}]}}]}}"#
            ),
            "tcId 9",
        ),
        (
            "hmac_sha512_test.json",
            format!(
                r#"{{{header},"testGroups":[{{"keySize":8,"tagSize":256,"tests":[{{"tcId":3,"key":"x","msg":"","tag":"","result":"valid"}}]}}]}}"#
            ),
            "tcId 3",
        ),
    ];
    for (name, text, want) in files {
        std::fs::write(sub.join(name), text).unwrap();
        let err = match *name {
            "x25519_test.json" => check_x25519(&root).map(|_| ()),
            "ed25519_test.json" => check_ed25519(&root).map(|_| ()),
            _ => check_hmac_sha512(&root).map(|_| ()),
        }
        .expect_err(text)
        .to_string();
        assert!(err.contains(want) && err.contains(name), "{text}: {err}");
    }
    // Wrong lengths are decoded and then rejected by the checker, not a panic.
    std::fs::write(
        sub.join("x25519_test.json"),
        format!(
            r#"{{{header},"testGroups":[{{"tests":[{{"tcId":1,"flags":[],"public":"00","private":"00","shared":"00","result":"valid"}}]}}]}}"#
        ),
    )
    .unwrap();
    let report = check_x25519(&root).unwrap();
    assert_eq!(report.failures().count(), 1);
    std::fs::write(
        sub.join("ed25519_test.json"),
        format!(
            r#"{{{header},"testGroups":[{{"publicKey":{{"pk":"00"}},"tests":[{{"tcId":1,"msg":"","sig":"00","result":"invalid"}}]}}]}}"#
        ),
    )
    .unwrap();
    let report = check_ed25519(&root).unwrap();
    assert_eq!(report.failures().count(), 0);
    assert!(!report.results[0].ours_accepts);
    std::fs::remove_dir_all(&root).unwrap();
}
