//! A broken implementation under test costs one case, never a hang or a panic of the harness:
//! an adapter that hangs times out, one that dies is restarted, one that prints garbage or
//! answers the wrong request is reported as an adapter failure.

use std::time::{Duration, Instant};

use serde_json::json;
use ssb_conformance::adapter::{Adapter, CallError, Process};
use ssb_conformance::workspace_root;

fn fixture(name: &str) -> String {
    workspace_root()
        .join("conformance/tests/fixtures")
        .join(name)
        .display()
        .to_string()
}

fn transport_message(r: Result<serde_json::Value, CallError>) -> String {
    match r {
        Err(CallError::Transport(m)) => m,
        other => panic!("expected a transport failure, got {other:?}"),
    }
}

#[test]
fn hanging_adapter_times_out_per_request() {
    let (mut p, caps) = Process::start(&fixture("adapter-hangs.sh"), Duration::from_millis(300)).unwrap();
    assert_eq!(caps["name"], "hangs");
    let t = Instant::now();
    let m = transport_message(p.call("shs.client", &json!({})));
    assert!(m.contains("no answer within 300 ms"), "{m}");
    assert!(t.elapsed() < Duration::from_secs(5));
}

#[test]
fn crashing_adapter_is_reported_with_its_stderr_and_restarted() {
    let (mut p, _) = Process::start(&fixture("adapter-crashes.sh"), Duration::from_secs(5)).unwrap();
    let m = transport_message(p.call("shs.client", &json!({})));
    assert!(m.contains("giving up"), "stderr tail missing: {m}");
    // The next call starts a new process, which answers its first request.
    let again = p.call("boxstream.encrypt", &json!({}));
    assert!(
        again.is_ok(),
        "restarted adapter should answer its first request: {again:?}"
    );
}

#[test]
fn garbage_and_wrong_ids_are_adapter_failures() {
    let (mut p, _) = Process::start(&fixture("adapter-garbage.sh"), Duration::from_secs(5)).unwrap();
    let m = transport_message(p.call("shs.client", &json!({})));
    assert!(m.contains("not JSON"), "{m}");
    // The restarted process answers request 3 with id 1.
    let m = transport_message(p.call("shs.client", &json!({})));
    assert!(m.contains("expected"), "{m}");
}

#[test]
fn missing_adapter_is_a_clear_error() {
    let err = Process::start("/nonexistent/adapter --flag", Duration::from_secs(1))
        .err()
        .unwrap();
    assert!(matches!(err, CallError::Transport(m) if m.contains("cannot start")));
}

#[test]
fn crash_report_keeps_the_last_twenty_stderr_lines() {
    let (mut p, _) = Process::start(&fixture("adapter-noisy-crash.sh"), Duration::from_secs(5)).unwrap();
    let m = transport_message(p.call("boxstream.encrypt", &json!({})));
    assert!(m.contains("adapter stderr, last 20 lines:"), "{m}");
    let kept: Vec<&str> = m.lines().filter(|l| l.starts_with("noisy stderr line")).collect();
    let want: Vec<String> = (11..=30).map(|i| format!("noisy stderr line {i}")).collect();
    assert_eq!(kept, want, "{m}");
}
