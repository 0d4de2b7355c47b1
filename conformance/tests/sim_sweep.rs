//! `ssb-harness sim sweep`: a sweep catches a deliberately broken node, the replay command it
//! prints reproduces the violation when run alone, shrinking finds a smaller failing run, and
//! shards merged give the same sweep as one unsharded run.

use std::path::{Path, PathBuf};
use std::process::Command;

use ssb_sim::sweep::{RunStatus, SweepFile};

fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_ssb-harness")
}

fn tiny() -> String {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../sim/tests/fixtures/tiny.toml");
    p.canonicalize().unwrap().display().to_string()
}

fn harness(args: &[&str]) -> std::process::Output {
    Command::new(bin()).args(args).output().expect("ssb-harness runs")
}

fn read(dir: &Path) -> SweepFile {
    serde_json::from_str(&std::fs::read_to_string(dir.join("sweep.json")).unwrap()).unwrap()
}

/// Splits a printed replay command into arguments (single-quoted words as the shell would).
fn words(cmd: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    for c in cmd.chars() {
        match c {
            '\'' => quoted = !quoted,
            ' ' if !quoted => {
                if !cur.is_empty() {
                    out.push(std::mem::take(&mut cur));
                }
            }
            c => cur.push(c),
        }
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

#[test]
fn a_broken_node_fails_the_sweep_and_the_printed_command_reproduces_it_smaller() {
    let dir = tempfile::tempdir().unwrap();
    let out: PathBuf = dir.path().join("sweep");
    let t = tiny();
    let o = harness(&[
        "sim",
        "sweep",
        &t,
        "--seeds",
        "1..2",
        "--methods",
        "ebt",
        "--set",
        "sabotage=skip_fork_detection",
        "--jobs",
        "2",
        "--shrink",
        "1",
        "--shrink-budget",
        "12",
        "--out",
        out.to_str().unwrap(),
    ]);
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert_eq!(o.status.code(), Some(1), "the sweep must fail: {stdout}");
    let f = read(&out);
    let failed: Vec<_> = f
        .runs
        .iter()
        .filter(|r| r.status == RunStatus::Violated)
        .collect();
    assert!(!failed.is_empty(), "{stdout}");
    let first = failed[0];
    assert_eq!(first.invariant.as_deref(), Some("fork_detection"));
    assert!(
        stdout.contains(&first.replay),
        "the replay command is printed: {stdout}"
    );
    // The printed command, run alone, reproduces the violation.
    let w = words(&first.replay);
    assert_eq!(&w[..2], ["ssb-harness", "sim"]);
    let args: Vec<&str> = w[1..].iter().map(String::as_str).collect();
    let alone = harness(&[&args[..], &["--reports", dir.path().to_str().unwrap()]].concat());
    assert_eq!(alone.status.code(), Some(1));
    let err = String::from_utf8_lossy(&alone.stderr);
    assert!(err.contains("invariant fork_detection violated"), "{err}");
    // Shrinking found a smaller run that fails the same way.
    let shrunk = first.shrunk.as_ref().expect("shrinking found a smaller run");
    let w = words(shrunk);
    let args: Vec<&str> = w[1..].iter().map(String::as_str).collect();
    let small = harness(&[&args[..], &["--outcome-json"]].concat());
    let o: ssb_sim::sweep::Outcome = serde_json::from_slice(&small.stdout).unwrap();
    assert_eq!(o.status, RunStatus::Violated);
    assert_eq!(o.invariant.as_deref(), Some("fork_detection"));
    assert!(
        o.nodes < first.nodes || shrunk.len() > first.replay.len(),
        "{shrunk}"
    );
    assert!(o.nodes <= first.nodes);
    // And without the sabotage the same seeds hold.
    let honest = harness(&[
        "sim",
        "sweep",
        &t,
        "--seeds",
        "1..2",
        "--methods",
        "ebt",
        "--jobs",
        "2",
        "--out",
        dir.path().join("honest").to_str().unwrap(),
    ]);
    assert!(
        honest.status.success(),
        "{}",
        String::from_utf8_lossy(&honest.stdout)
    );
}

#[test]
fn shards_merged_equal_the_unsharded_sweep() {
    let dir = tempfile::tempdir().unwrap();
    let t = tiny();
    let whole = dir.path().join("whole");
    let o = harness(&[
        "sim",
        "sweep",
        &t,
        "--seeds",
        "1..6",
        "--swarm",
        "--jobs",
        "2",
        "--out",
        whole.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stdout));
    let mut parts = Vec::new();
    for k in 0..3 {
        let d = dir.path().join(format!("shard-{k}"));
        let o = Command::new(bin())
            .args([
                "sim", "sweep", &t, "--seeds", "1..6", "--swarm", "--jobs", "1", "--shard", "3", "--out",
            ])
            .arg(&d)
            // K comes from the batch engine's array index.
            .env("SLURM_ARRAY_TASK_ID", k.to_string())
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        let f = read(&d);
        assert_eq!(f.shard.map(|s| (s.index, s.count)), Some((k, 3)));
        assert!(f.runs.iter().all(|r| r.task.seed % 3 == k));
        parts.push(d);
    }
    let merged = dir.path().join("merged");
    let mut args = vec!["sim".to_string(), "sweep-merge".into()];
    args.extend(parts.iter().map(|p| p.display().to_string()));
    args.extend(["--out".into(), merged.display().to_string()]);
    let o = Command::new(bin()).args(&args).output().unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let (a, b) = (read(&whole), read(&merged));
    assert_eq!(a.runs.len(), 6);
    let ids = |f: &SweepFile| f.runs.iter().map(|r| r.identity()).collect::<Vec<_>>();
    assert_eq!(ids(&a), ids(&b));
    assert!(
        a.runs.iter().all(|r| r.digest.is_some()),
        "every run held and has a summary digest"
    );
    assert_eq!(
        ssb_sim::sweep::table_markdown(&a),
        ssb_sim::sweep::table_markdown(&b)
    );
}
