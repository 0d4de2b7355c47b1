//! `ssb-harness matrix` on a small fixture tree (conformance/tests/fixtures/matrix/): the table
//! (every implementation a column, a missing report shown as such, an unlisted report and an
//! unlisted adapter folder kept), the classification taken from the deviations entries, the
//! network's reading of a spec ambiguity, ours (fixed) with its covering case, and everything
//! unclassified flagged with a failing exit status. Then the committed deviations files: every
//! entry classified, every their-bug with a findings page that exists.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;
use ssb_conformance::deviations::{Class, Deviations};
use ssb_conformance::workspace_root;

fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let dest = to.join(e.file_name());
        if e.path().is_dir() {
            copy_tree(&e.path(), &dest);
        } else {
            std::fs::copy(e.path(), &dest).unwrap();
        }
    }
}

/// Runs `matrix` on a copy of the fixture tree; its exit code, stdout, matrix.md and matrix.json.
fn run_matrix() -> (Option<i32>, String, String, Value, tempfile::TempDir) {
    run_matrix_with(&[])
}

/// The same with more arguments.
fn run_matrix_with(extra: &[&str]) -> (Option<i32>, String, String, Value, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    copy_tree(
        &workspace_root().join("conformance/tests/fixtures/matrix"),
        dir.path(),
    );
    let out = Command::new(env!("CARGO_BIN_EXE_ssb-harness"))
        .args(["matrix", "--root"])
        .arg(dir.path())
        .args(extra)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let md = std::fs::read_to_string(dir.path().join("reports/conformance/matrix.md")).unwrap_or_else(|e| {
        panic!(
            "no matrix.md ({e}); stderr: {}",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    let json: Value = serde_json::from_str(
        &std::fs::read_to_string(dir.path().join("reports/conformance/matrix.json")).unwrap(),
    )
    .unwrap();
    (out.status.code(), stdout, md, json, dir)
}

fn row<'a>(md: &'a str, suite: &str) -> &'a str {
    md.lines()
        .find(|l| l.starts_with(&format!("| {suite} |")))
        .unwrap_or_else(|| panic!("no row for {suite} in\n{md}"))
}

fn disagreement<'a>(json: &'a Value, imp: &str, first_case: &str) -> &'a Value {
    json["disagreements"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["implementation"] == imp && d["cases"][0] == first_case)
        .unwrap_or_else(|| panic!("no disagreement of {imp} at {first_case}"))
}

#[test]
fn table_columns_cells_and_missing_reports() {
    let (_, _, md, json, _dir) = run_matrix();
    // Registry order, then the unlisted report (delta), then the unlisted adapter folder (epsilon).
    assert!(
        md.contains("| suite | ref | alpha | beta | gamma | delta | epsilon |"),
        "header:\n{md}"
    );
    assert_eq!(
        row(&md, "shs"),
        "| shs | [pass 3/3](ref/report.md) | [dev 2 · pass 1/3](alpha/report.md) | [dev 1 · pass 2/3](beta/report.md) \
         | **no report** | [pass 2/2](delta/report.md) | **no report** |"
    );
    assert_eq!(
        row(&md, "box1"),
        "| box1 | [pass 2/2](ref/report.md) | [dev 1 · pass 1/2](alpha/report.md) \
         | [**FAIL 1** · pass 0/2 · unsup 1](beta/report.md) | **no report** | – | **no report** |"
    );
    // A suite the adapter does not implement; a live report that is missing shows in its row.
    assert!(row(&md, "history")
        .starts_with("| history | [pass 1/1](ref/report.md) | [unsupported](alpha/report.md) | – |"));
    assert!(row(&md, "live").starts_with("| live | – | – | **no report** | **no report** |"));
    // Links to the per-implementation reports; the missing ones named.
    assert!(md.contains("[alpha](alpha/report.md)"));
    assert!(md.contains("**no report** (`reports/conformance/gamma/report.json` is missing)"));
    assert!(md.contains("**no report** (`reports/conformance/beta-peer/report.json` is missing)"));
    let cols: Vec<&str> = json["columns"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(cols, ["ref", "alpha", "beta", "gamma", "delta", "epsilon"]);
    assert_eq!(json["columns"][4]["unlisted"], true);
    assert_eq!(json["cells"]["box1"]["beta"][0]["counts"]["fail"], 1);
}

#[test]
fn disagreements_are_classified_from_the_deviations_entries() {
    let (_, _, md, json, _dir) = run_matrix();
    let bug = disagreement(&json, "alpha", "shs/0002");
    assert_eq!(bug["class"], "their-bug");
    assert_eq!(bug["finding"], "reports/findings/alpha-crash.md");
    assert!(
        md.contains("- finding: [reports/findings/alpha-crash.md](../../reports/findings/alpha-crash.md)")
    );
    assert!(md.contains("- minimal case: `shs/0002`"));

    // alpha's reading of shs/0003 is shared by beta; ours and delta... delta does not run it:
    // alpha + beta against ref, so the majority reads as alpha does.
    let amb = disagreement(&json, "alpha", "shs/0003");
    assert_eq!(amb["class"], "spec-ambiguity");
    assert_eq!(amb["majority"], "other");
    let verdicts: Vec<(&str, &str)> = amb["network"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| {
            (
                v["implementation"].as_str().unwrap(),
                v["verdict"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        verdicts,
        [
            ("ref", "as-vectors"),
            ("alpha", "differs"),
            ("beta", "differs"),
            ("gamma", "not-run"),
            ("delta", "not-run"),
            ("epsilon", "not-run")
        ]
    );
    assert!(md.contains("- the network: as the vectors: ref; differs: beta; not run: gamma, delta, epsilon"));
    assert!(md.contains(
        "- readings among the implementations that run these cases: as the vectors 1 (ref), \
         otherwise 2 (alpha, beta); majority: not the vectors' reading"
    ));
    // beta's entry has no suite (it matches every suite) and is classified the same way.
    assert_eq!(disagreement(&json, "beta", "shs/0003")["class"], "spec-ambiguity");

    // Ours: the fixed disagreement, with the case of our report that covers it.
    assert_eq!(json["ours"][0]["covered_by"], serde_json::json!(["shs/0001"]));
    assert!(md.contains("#### shs · flag `valid` — found with alpha, fixed in 0000000"));
    // Every findings page, with what names it.
    assert!(
        md.contains("- [alpha-crash.md](../../reports/findings/alpha-crash.md): alpha · shs · shs/0002\n")
    );
    assert!(md.contains(
        "- [beta-interop.md](../../reports/findings/beta-interop.md): named by no deviations entry"
    ));
    // Ours, open: an entry that says our vector is at fault is listed, not flagged.
    assert!(md.contains("#### boxstream · boxstream/0001 · alpha — open, found with alpha"));
    assert_eq!(json["summary"]["ours-open"], 1);
    assert_eq!(json["summary"]["their-bug"], 1);
    assert_eq!(json["summary"]["spec-ambiguity"], 2);
}

#[test]
fn unclassified_and_undocumented_disagreements_are_flagged() {
    let (code, stdout, md, json, _dir) = run_matrix();
    assert_eq!(code, Some(1), "flagged disagreements fail the command:\n{stdout}");
    let unclassified = disagreement(&json, "alpha", "box1/0002");
    assert!(unclassified["class"].is_null());
    assert_eq!(unclassified["covers"], "flag `eighth_slot`");
    let undocumented = disagreement(&json, "beta", "box1/0002");
    assert!(undocumented["class"].is_null());
    assert_eq!(undocumented["covers"], "");
    let flagged: Vec<&str> = json["flagged"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f.as_str().unwrap())
        .collect();
    assert!(flagged
        .iter()
        .any(|f| f.starts_with("alpha (alpha) box1: box1/0002: unclassified deviation")));
    assert!(flagged
        .iter()
        .any(|f| f.starts_with("beta (beta) box1: box1/0002: undocumented failure")));
    assert!(flagged
        .iter()
        .any(|f| f.starts_with("adapter folder conformance/adapters/epsilon has no report")));
    // A report whose deviation no entry covers any more: checked with an older deviations file.
    assert!(flagged.iter().any(|f| f.starts_with(
        "beta (beta) boxstream: boxstream/0001: documented deviations in the report, but no entry of \
         conformance/adapters/beta/deviations.toml covers them now"
    )));
    assert_eq!(flagged.len(), 4, "{flagged:?}");
    assert!(md.contains("unclassified: 3 (3 cases)"));
    assert!(stdout.contains("flagged: alpha (alpha) box1: box1/0002: unclassified deviation"));
}

#[test]
fn run_reruns_only_the_checks_whose_toolchain_exists() {
    let (_, stdout, _, _, dir) = run_matrix_with(&["--run"]);
    let ran = std::fs::read_to_string(dir.path().join("ran-ref.txt")).unwrap();
    assert!(
        ran.trim().ends_with("ssb-harness"),
        "{{harness}} is this binary: {ran}"
    );
    assert!(!dir.path().join("ran-gamma.txt").exists());
    assert!(
        stdout.contains("gamma: needs ssb-harness-no-such-toolchain (not on PATH); committed report kept")
    );
    assert!(stdout.contains("alpha: no run command; committed report kept"));
}

#[test]
fn files_without_classes_still_load() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("old.toml");
    std::fs::write(
        &path,
        "[[deviation]]\nsuite = \"shs\"\nflag = \"x\"\nreason = \"old style\"\n",
    )
    .unwrap();
    let d = Deviations::load(&path).unwrap();
    let (_, e) = d.entry_for("shs", "shs/0001", &["x".to_string()]).unwrap();
    assert_eq!(e.class, None);
    assert_eq!(d.lookup("shs", "shs/0001", &["x".to_string()]), Some("old style"));
    std::fs::write(
        &path,
        "[[deviation]]\nflag = \"x\"\nreason = \"r\"\nclass = \"our-bug\"\n",
    )
    .unwrap();
    assert!(Deviations::load(&path).is_err(), "an unknown class is refused");
}

fn deviation_files(root: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for adapter in std::fs::read_dir(root.join("conformance/adapters"))
        .unwrap()
        .flatten()
    {
        for f in std::fs::read_dir(adapter.path()).unwrap().flatten() {
            let name = f.file_name().to_string_lossy().into_owned();
            if name.starts_with("deviations") && name.ends_with(".toml") {
                files.push(f.path());
            }
        }
    }
    files.sort();
    files
}

#[test]
fn committed_deviations_are_classified_and_their_bugs_have_findings() {
    let root = workspace_root();
    let files = deviation_files(&root);
    assert!(files.len() >= 4, "deviations files found: {files:?}");
    for f in files {
        let d = Deviations::load(&f).unwrap();
        for e in d.entries() {
            let what = format!("{} ({})", f.display(), e.covers());
            let class = e.class.unwrap_or_else(|| panic!("{what}: no class"));
            if class == Class::TheirBug {
                let page = e
                    .finding
                    .as_ref()
                    .unwrap_or_else(|| panic!("{what}: their bug without a finding"));
                assert!(root.join(page).is_file(), "{what}: {page} does not exist");
            }
            if let Some(page) = &e.finding {
                assert!(
                    page.starts_with("reports/findings/") && root.join(page).is_file(),
                    "{what}: {page}"
                );
            }
        }
    }
}
