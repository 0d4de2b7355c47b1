//! The binary installed with `cargo install` into a temporary root and run away from the
//! checkout: it checks the reference with the vectors compiled into it and writes its reports
//! under the current directory. In a file of its own because `cargo install` relinks
//! `target/debug/ssb-harness`, which the other test files run (cargo runs test files one after
//! another, the tests of one file at the same time).

use std::process::{Command, Output};

use serde_json::Value;
use ssb_conformance::workspace_root;

fn code(o: &Output) -> i32 {
    o.status.code().expect("exited")
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

#[test]
fn installed_binary_checks_the_reference_away_from_the_checkout() {
    let root = tempfile::tempdir().unwrap();
    // The workspace's own target directory (cargo's default for a member), so this reuses
    // the compiled dependencies and costs one link.
    let o = Command::new(env!("CARGO"))
        .args(["install", "--locked", "--offline", "--debug", "--path"])
        .arg(workspace_root().join("conformance"))
        .arg("--root")
        .arg(root.path())
        .args(["--bin", "ssb-harness"])
        .output()
        .unwrap();
    assert!(o.status.success(), "cargo install: {}", text(&o));
    let installed = root.path().join("bin/ssb-harness");
    let away = tempfile::tempdir().unwrap();
    let o = Command::new(&installed)
        .args(["check", "--suite", "boxstream,shs", "--strict"])
        .current_dir(away.path())
        .env_remove("SSB_UPSTREAM_VECTORS")
        .output()
        .unwrap();
    assert_eq!(code(&o), 0, "{}", text(&o));
    let r: Value = serde_json::from_str(
        &std::fs::read_to_string(away.path().join("reports/conformance/reference/report.json")).unwrap(),
    )
    .unwrap();
    assert!(
        r["vectors"].as_str().unwrap().starts_with("embedded"),
        "{}",
        r["vectors"]
    );
    assert!(away
        .path()
        .join("reports/conformance/reference/report.html")
        .is_file());
    let o = Command::new(&installed)
        .args(["completions", "bash"])
        .output()
        .unwrap();
    assert!(o.status.success());
    assert!(String::from_utf8_lossy(&o.stdout).contains("ssb-harness"));
}
