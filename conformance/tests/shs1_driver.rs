//! `ssb-harness shs1` against our own shs1-testsuite executables: all 45 tests of a seed pass in
//! both roles, and a program that does not follow the protocol fails every test instead of
//! hanging the driver.

use std::time::Duration;

use ssb_conformance::shs1::{run, Role};

fn exe(name: &str) -> String {
    // The impl crate's binaries are built into the same target directory as this test.
    let me = std::env::current_exe().unwrap();
    let dir = me.parent().unwrap().parent().unwrap();
    let path = dir.join(name);
    assert!(
        path.exists(),
        "{} not built: run `cargo build --workspace` first",
        path.display()
    );
    path.display().to_string()
}

#[test]
fn our_server_executable_passes_seed_2() {
    let results = run(&exe("ssb-shs1-server"), Role::Server, 2, Duration::from_secs(10));
    assert_eq!(results.len(), ssb_conformance::shs1::TESTS);
    let failed: Vec<_> = results
        .iter()
        .filter_map(|r| r.error.as_ref().map(|e| (r.number, e)))
        .collect();
    assert!(failed.is_empty(), "{failed:?}");
}

#[test]
fn our_client_executable_passes_seed_2() {
    let results = run(&exe("ssb-shs1-client"), Role::Client, 2, Duration::from_secs(10));
    assert_eq!(results.len(), ssb_conformance::shs1::TESTS);
    let failed: Vec<_> = results
        .iter()
        .filter_map(|r| r.error.as_ref().map(|e| (r.number, e)))
        .collect();
    assert!(failed.is_empty(), "{failed:?}");
}

#[test]
fn a_program_that_ignores_the_protocol_fails_every_well_behaved_test() {
    // `cat` echoes msg1 back as "msg2": it never produces a valid handshake.
    let results = run("cat", Role::Server, 1, Duration::from_millis(500));
    assert!(results[..20].iter().all(|r| r.error.is_some()));
}
