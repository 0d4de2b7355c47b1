//! The shs1 driver's fault kinds beyond shs1-testsuite's five catch the bug classes that pass
//! those five: a signature never verified (a well-formed msg3/msg4 signed by another key, and
//! one signed over the wrong data), a MAC compared on a prefix (a hello whose HMAC differs in
//! its last byte), and key material reused across sessions (the ephemeral-key check). The
//! executables are `ssb-shs1-faulty`, each with one bug; with no bug it passes everything.

use std::time::Duration;

use ssb_conformance::shs1::{run, Role, TESTS};

fn failures(bug: &str, role: Role) -> Vec<(usize, &'static str)> {
    let exe = format!(
        "{} {bug} {}",
        env!("CARGO_BIN_EXE_ssb-shs1-faulty"),
        match role {
            Role::Server => "server",
            Role::Client => "client",
        }
    );
    let results = run(&exe, role, 4, Duration::from_secs(10));
    assert_eq!(results.len(), TESTS);
    results
        .iter()
        .filter(|r| r.error.is_some())
        .map(|r| (r.number, r.description))
        .collect()
}

fn described(f: &[(usize, &'static str)], part: &str) -> usize {
    f.iter().filter(|(_, d)| d.contains(part)).count()
}

#[test]
fn without_a_bug_every_test_passes() {
    for role in [Role::Server, Role::Client] {
        assert_eq!(failures("none", role), vec![], "{role:?}");
    }
}

#[test]
fn a_signature_never_verified_is_caught_by_the_new_kinds() {
    for role in [Role::Server, Role::Client] {
        let f = failures("no-signature-check", role);
        assert_eq!(described(&f, "signed by another key"), 5, "{role:?}: {f:?}");
        assert_eq!(described(&f, "signed over the wrong data"), 5, "{role:?}: {f:?}");
        // Every well-behaved run still passes: the bug shows only with a forged signature.
        assert!(f.iter().all(|(n, _)| *n > 20), "{role:?}: {f:?}");
    }
}

#[test]
fn a_mac_compared_on_a_prefix_is_caught_by_the_last_byte_hello() {
    for role in [Role::Server, Role::Client] {
        let f = failures("mac-prefix", role);
        assert_eq!(described(&f, "differs in its last byte"), 5, "{role:?}: {f:?}");
        // shs1-testsuite's 45 tests alone pass it.
        assert!(f.iter().all(|(n, _)| *n > 45), "{role:?}: {f:?}");
    }
}

#[test]
fn reused_ephemeral_keys_are_caught_across_the_honest_runs() {
    for role in [Role::Server, Role::Client] {
        let f = failures("fixed-ephemeral", role);
        assert_eq!(
            f,
            vec![(TESTS, "ephemeral keys never repeat across the well-behaved runs")],
            "{role:?}"
        );
    }
}
