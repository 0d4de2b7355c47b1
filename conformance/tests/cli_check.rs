//! `ssb-harness check` as CI runs it: exit codes (unknown suite, a failing case, `--strict`,
//! `--require`, an adapter that supports nothing), one case at a time with `--case`,
//! `failures.jsonl` replayed through an adapter, the JUnit and HTML reports, `sim --help`.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use serde_json::Value;
use ssb_conformance::workspace_root;
use ssb_vectors::{embedded, VectorFile};

const HARNESS: &str = env!("CARGO_BIN_EXE_ssb-harness");

fn fixture(name: &str) -> String {
    workspace_root()
        .join("conformance/tests/fixtures")
        .join(name)
        .display()
        .to_string()
}

fn check(dir: &Path, args: &[&str]) -> Output {
    Command::new(HARNESS)
        .arg("check")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("ssb-harness runs")
}

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

fn report_json(dir: &Path, adapter: &str) -> Value {
    let p = dir.join("reports/conformance").join(adapter).join("report.json");
    serde_json::from_str(&std::fs::read_to_string(&p).unwrap()).unwrap()
}

/// A vectors directory whose boxstream file has `n` expectations changed, so the reference
/// fails exactly those cases.
fn tampered_vectors(dir: &Path, n: usize) -> (PathBuf, Vec<String>) {
    let mut file = embedded::load("boxstream").unwrap().unwrap();
    let mut ids = Vec::new();
    for c in file
        .cases
        .iter_mut()
        .filter(|c| c.expected_error().is_none())
        .take(n)
    {
        c.expect = serde_json::json!({"output": "00"});
        ids.push(c.id.clone());
    }
    let vdir = dir.join("vectors");
    std::fs::create_dir_all(&vdir).unwrap();
    std::fs::write(vdir.join("boxstream.json"), file.to_json()).unwrap();
    (vdir, ids)
}

#[test]
fn unknown_suite_is_an_error_listing_the_valid_ones() {
    let tmp = tempfile::tempdir().unwrap();
    let o = check(tmp.path(), &["--suite", "boxstrem"]);
    assert_eq!(code(&o), 2, "{}", text(&o));
    let t = text(&o);
    assert!(t.contains("unknown suite boxstrem"), "{t}");
    assert!(t.contains("boxstream") && t.contains("feed-legacy"), "{t}");
    let o = check(tmp.path(), &["--require", "boxstrem"]);
    assert_eq!(code(&o), 2, "{}", text(&o));
    // An adapter that cannot start is a setup error too, said in one line.
    let o = check(tmp.path(), &["--adapter", "/nonexistent/adapter --flag"]);
    assert_eq!(code(&o), 2, "{}", text(&o));
    assert!(text(&o).contains("did not start: cannot start"), "{}", text(&o));
}

#[test]
fn an_adapter_that_supports_nothing_does_not_pass() {
    let tmp = tempfile::tempdir().unwrap();
    let adapter = fixture("adapter-unsupported.sh");
    let o = check(tmp.path(), &["--adapter", &adapter, "--suite", "boxstream"]);
    assert_eq!(code(&o), 3, "{}", text(&o));
    assert!(text(&o).contains("no case ran"), "{}", text(&o));
    // Asking for a suite it does not list at all: skipped, and required, so unmet.
    let o = check(tmp.path(), &["--adapter", &adapter, "--require", "box1"]);
    assert_eq!(code(&o), 3, "{}", text(&o));
    assert!(
        text(&o).contains("box1: required (--require) but skipped"),
        "{}",
        text(&o)
    );
}

#[test]
fn strict_and_require_pass_when_everything_runs() {
    let tmp = tempfile::tempdir().unwrap();
    let o = check(tmp.path(), &["--suite", "boxstream,shs", "--strict"]);
    assert_eq!(code(&o), 0, "{}", text(&o));
    let o = check(tmp.path(), &["--suite", "shs", "--require", "boxstream"]);
    assert_eq!(code(&o), 0, "{}", text(&o));
    // --require adds its suite to the run.
    let r = report_json(tmp.path(), "reference");
    let suites: Vec<&str> = r["suites"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["suite"].as_str().unwrap())
        .collect();
    assert_eq!(suites, ["shs", "boxstream"]);
    // The reference ships no `unsupported` suite, but an adapter listing only boxstream is
    // held to the others under --strict.
    let adapter = fixture("adapter-unsupported.sh");
    let o = check(
        tmp.path(),
        &["--adapter", &adapter, "--suite", "boxstream,box1", "--strict"],
    );
    assert_eq!(code(&o), 3, "{}", text(&o));
}

#[test]
fn a_failing_case_exits_1_and_is_named_on_the_terminal() {
    let tmp = tempfile::tempdir().unwrap();
    let (vdir, ids) = tampered_vectors(tmp.path(), 2);
    let o = check(
        tmp.path(),
        &["--vectors", vdir.to_str().unwrap(), "--suite", "boxstream"],
    );
    assert_eq!(code(&o), 1, "{}", text(&o));
    let out = String::from_utf8_lossy(&o.stdout);
    for id in &ids {
        assert!(
            out.lines()
                .any(|l| l.starts_with(&format!("  FAIL {id} [")) && l.contains("result differs")),
            "{id} not listed: {out}"
        );
    }
    assert!(out.contains(&format!(
        "FAIL: {} cases",
        embedded::load("boxstream").unwrap().unwrap().cases.len()
    )));
    // --strict does not turn a failure into exit 3.
    let o = check(
        tmp.path(),
        &[
            "--vectors",
            vdir.to_str().unwrap(),
            "--suite",
            "boxstream",
            "--strict",
        ],
    );
    assert_eq!(code(&o), 1, "{}", text(&o));
}

#[test]
fn case_runs_exactly_the_named_cases() {
    let tmp = tempfile::tempdir().unwrap();
    let o = check(tmp.path(), &["--case", "muxrpc/0002,shs/0005,shs/0001"]);
    assert_eq!(code(&o), 0, "{}", text(&o));
    let r = report_json(tmp.path(), "reference");
    let got: Vec<(String, Vec<String>)> = r["suites"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["suite"].as_str().unwrap().to_string(),
                s["cases"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|c| c["id"].as_str().unwrap().to_string())
                    .collect(),
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            (
                "shs".to_string(),
                vec!["shs/0001".to_string(), "shs/0005".to_string()]
            ),
            ("muxrpc".to_string(), vec!["muxrpc/0002".to_string()]),
        ]
    );
    let o = check(tmp.path(), &["--case", "shs/9999"]);
    assert_eq!(code(&o), 2, "{}", text(&o));
    assert!(text(&o).contains("shs has no such case"), "{}", text(&o));
}

#[test]
fn failures_jsonl_replays_through_the_adapter() {
    let tmp = tempfile::tempdir().unwrap();
    let (vdir, ids) = tampered_vectors(tmp.path(), 3);
    let adapter = env!("CARGO_BIN_EXE_ssb-ref-adapter");
    let o = check(
        tmp.path(),
        &[
            "--adapter",
            adapter,
            "--vectors",
            vdir.to_str().unwrap(),
            "--suite",
            "boxstream",
        ],
    );
    assert_eq!(code(&o), 1, "{}", text(&o));
    let dir = tmp.path().join("reports/conformance/ssb-impl");
    let jsonl = std::fs::read_to_string(dir.join("failures.jsonl")).unwrap();
    let lines: Vec<Value> = jsonl.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let cases: Vec<&str> = lines.iter().map(|l| l["case"].as_str().unwrap()).collect();
    assert_eq!(cases, ids.iter().map(String::as_str).collect::<Vec<_>>());
    // Pipe the file into the adapter as it is; each answer equals the report's `actual`, and the
    // request's args equal the vector's input in full.
    let mut child = Command::new(adapter)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(jsonl.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    let answers: Vec<Value> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(answers.len(), lines.len());
    let report = report_json(tmp.path(), "ssb-impl");
    let file = VectorFile::load(&vdir.join("boxstream.json")).unwrap();
    for (req, ans) in lines.iter().zip(&answers) {
        assert_eq!(ans["id"], req["id"]);
        let id = req["case"].as_str().unwrap();
        let rc = report["suites"][0]["cases"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["id"] == id)
            .unwrap();
        assert_eq!(ans["ok"], rc["actual"], "{id}");
        let vc = file.cases.iter().find(|c| c.id == id).unwrap();
        assert_eq!(
            req["args"], vc.input.args,
            "{id}: request must carry the full input"
        );
        assert_eq!(
            rc["input"], vc.input.args,
            "{id}: report.json must carry the full input"
        );
    }
}

#[test]
fn junit_and_html_reports_are_written() {
    let tmp = tempfile::tempdir().unwrap();
    let (vdir, ids) = tampered_vectors(tmp.path(), 1);
    let adapter = fixture("adapter-unsupported.sh");
    // The reference on the tampered boxstream file: passes and one failure.
    let o = check(
        tmp.path(),
        &[
            "--vectors",
            vdir.to_str().unwrap(),
            "--suite",
            "boxstream",
            "--junit",
            "out/junit.xml",
        ],
    );
    assert_eq!(code(&o), 1, "{}", text(&o));
    let xml = std::fs::read_to_string(tmp.path().join("out/junit.xml")).unwrap();
    assert!(xml.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites "));
    let total = embedded::load("boxstream").unwrap().unwrap().cases.len();
    assert!(
        xml.contains(&format!(
            "<testsuite name=\"boxstream\" tests=\"{total}\" failures=\"1\""
        )),
        "{xml}"
    );
    assert_eq!(xml.matches("<testcase ").count(), total);
    assert_eq!(xml.matches("<failure ").count(), 1);
    assert!(xml.contains(&format!("name=\"{}: ", ids[0])));
    // A skipped suite and unsupported cases appear as <skipped>.
    let o = check(
        tmp.path(),
        &[
            "--adapter",
            &adapter,
            "--suite",
            "boxstream,box1",
            "--junit",
            "u.xml",
        ],
    );
    assert_eq!(code(&o), 3, "{}", text(&o));
    let xml = std::fs::read_to_string(tmp.path().join("u.xml")).unwrap();
    assert!(
        xml.contains("<skipped message=\"suite skipped: not in the adapter&apos;s capabilities\"/>"),
        "{xml}"
    );
    assert_eq!(xml.matches("<skipped ").count(), total + 1);

    let html = std::fs::read_to_string(tmp.path().join("reports/conformance/reference/report.html")).unwrap();
    assert!(html.starts_with("<!DOCTYPE html>"));
    for external in ["<script", "<link", "src=", "@import", "url("] {
        assert!(
            !html.contains(external),
            "report.html must be self-contained: {external}"
        );
    }
    assert!(
        html.contains(&format!("id=\"case-{}\" open", ids[0])),
        "failing case open"
    );
    assert_eq!(html.matches("<details id=\"case-boxstream/").count(), total);
    assert!(html.contains("<a href=\"https://ssbc.github.io/scuttlebutt-protocol-guide/\">"));
}

#[test]
fn sim_help_lists_every_bundled_scenario_and_every_flag_has_help() {
    let o = Command::new(HARNESS).args(["sim", "--help"]).output().unwrap();
    let help = String::from_utf8_lossy(&o.stdout);
    let mut names: Vec<String> = std::fs::read_dir(workspace_root().join("sim/scenarios"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .map(|p| p.file_stem().unwrap().to_string_lossy().into_owned())
        // The anti-entropy model's scenarios are run by `ssb-harness antientropy`, not `sim`.
        .filter(|n| !n.starts_with("antientropy-"))
        .collect();
    names.sort();
    assert!(!names.is_empty());
    for n in &names {
        assert!(
            help.lines().any(|l| l.trim_start().starts_with(&format!("{n} "))),
            "sim --help does not list {n}: {help}"
        );
    }
    // Every option line of the help carries a description after the flag.
    for l in help.lines().filter(|l| l.trim_start().starts_with("--")) {
        let t = l.trim();
        let flag_end = t.find("  ").unwrap_or(t.len());
        assert!(flag_end < t.len(), "no help for {t:?}");
    }
}

/// CI's install check once failed here: `completions bash | grep -q` closed the pipe early and
/// clap_complete panicked on the failed write (exit 101). A reader that stops early is normal.
#[test]
fn completions_survive_a_reader_that_closes_the_pipe() {
    let full = Command::new(HARNESS)
        .args(["completions", "bash"])
        .output()
        .expect("ssb-harness runs");
    assert_eq!(code(&full), 0, "{}", text(&full));
    assert!(
        String::from_utf8_lossy(&full.stdout).contains("_ssb-harness() {")
            || String::from_utf8_lossy(&full.stdout).contains("complete -F")
    );
    // Close our end of stdout before the child writes: its write fails with EPIPE.
    let mut child = Command::new(HARNESS)
        .args(["completions", "bash"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("ssb-harness runs");
    drop(child.stdout.take());
    let out = child.wait_with_output().expect("waits");
    assert_eq!(code(&out), 0, "closed pipe: {}", text(&out));
    assert!(!text(&out).contains("panicked"), "{}", text(&out));
}
