//! The Python adapter skeleton (`conformance/adapters/python/`, stdlib plus PyNaCl) passes the
//! whole `boxstream` suite through `ssb-harness check --strict`. The pinned PyNaCl is installed
//! into a virtual environment under the target directory on first run, as the JS tests install
//! their npm packages.

use std::path::PathBuf;
use std::process::Command;

use ssb_conformance::workspace_root;

fn venv_python() -> PathBuf {
    let venv = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("python-adapter-venv");
    let python = venv.join("bin/python3");
    let has_nacl = |p: &PathBuf| {
        Command::new(p)
            .args(["-c", "import nacl.secret"])
            .status()
            .is_ok_and(|s| s.success())
    };
    if has_nacl(&python) {
        return python;
    }
    let st = Command::new("python3")
        .args(["-m", "venv"])
        .arg(&venv)
        .status()
        .expect("this test needs python3 on PATH");
    assert!(st.success(), "python3 -m venv failed");
    let req = workspace_root().join("conformance/adapters/python/requirements.txt");
    let out = Command::new(&python)
        .args([
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            "-r",
        ])
        .arg(&req)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "pip install -r {}: {}",
        req.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(has_nacl(&python), "PyNaCl does not import after installing it");
    python
}

#[test]
fn python_skeleton_passes_boxstream() {
    let python = venv_python();
    let adapter = workspace_root().join("conformance/adapters/python/adapter.py");
    let tmp = tempfile::tempdir().unwrap();
    let o = Command::new(env!("CARGO_BIN_EXE_ssb-harness"))
        .args(["check", "--suite", "boxstream", "--strict", "--adapter"])
        .arg(format!("{} {}", python.display(), adapter.display()))
        .current_dir(tmp.path())
        .output()
        .unwrap();
    let out = String::from_utf8_lossy(&o.stdout);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{out}{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let n = ssb_vectors::embedded::load("boxstream")
        .unwrap()
        .unwrap()
        .cases
        .len();
    assert!(
        out.contains(&format!("boxstream: {n} cases, {n} pass, 0 fail")),
        "{out}"
    );
    assert!(tmp
        .path()
        .join("reports/conformance/python-skeleton/report.html")
        .is_file());
}
