//! The live check against a reference node process is repeatable: a second run against the same
//! peer (which keeps the harness feed and the first run's live message) gives the same verdicts,
//! and against a port where nothing listens no case passes (`live/0002`, the wrong-network
//! refusal, requires a peer that is there).

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

const BIN: &str = env!("CARGO_BIN_EXE_ssb-harness");

/// Runs `check --peer`; returns its summary line (`live: N cases, P pass, F fail, ...`).
fn check(port: u16, id: &str, name: &str, reports: &std::path::Path) -> (String, String) {
    let out = Command::new(BIN)
        .args([
            "check",
            "--peer",
            &format!("127.0.0.1:{port}"),
            "--peer-id",
            id,
            "--name",
            name,
        ])
        .arg("--reports")
        .arg(reports)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    let summary = text
        .lines()
        .find(|l| l.starts_with("live:"))
        .unwrap_or("")
        .to_string();
    (summary, text)
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[test]
fn a_second_live_check_gives_the_same_verdicts_and_a_dead_port_passes_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let ids = Command::new(BIN)
        .args(["check", "--print-harness-id"])
        .output()
        .unwrap();
    let ids = String::from_utf8(ids.stdout).unwrap();
    let port = free_port();
    let mut node = Command::new(BIN);
    node.args([
        "node",
        "--listen",
        &format!("127.0.0.1:{port}"),
        "--seed",
        "live-rerun",
        "--data",
    ])
    .arg(tmp.path().join("data"));
    for id in ids.lines() {
        node.args(["--replicate", id]);
    }
    let mut child = node.stdout(Stdio::piped()).stderr(Stdio::null()).spawn().unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.as_mut().unwrap())
        .read_line(&mut line)
        .unwrap();
    let ready: serde_json::Value = serde_json::from_str(&line).unwrap();
    let id = ready["id"].as_str().unwrap().to_string();
    let reports = tmp.path().join("reports");
    let first = check(port, &id, "first", &reports);
    let second = check(port, &id, "second", &reports);
    child.kill().unwrap();
    let _ = child.wait();
    assert!(first.0.contains(" 0 fail"), "first run: {}", first.1);
    assert!(second.1.contains("already holds 11 messages"), "{}", second.1);
    assert_eq!(first.0, second.0, "second run: {}", second.1);

    let dead = free_port();
    let (summary, text) = check(dead, &id, "dead", &reports);
    assert!(summary.contains(" 0 pass"), "against a dead port: {text}");
}
