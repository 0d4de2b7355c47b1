//! `matrix --run`: re-runs the checks whose toolchain is on PATH before the matrix is built.

use std::path::Path;

use super::Registry;

/// Whether `program` is an executable file on PATH.
fn on_path(program: &str) -> bool {
    std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).any(|d| d.join(program).is_file()))
        .unwrap_or(false)
}

/// `--run`: rewrites each report whose `run` command has its programs on PATH; keeps the
/// committed report of the others (said on stderr). Returns a line per report.
pub fn rerun(root: &Path, registry: &Registry, harness: &Path) -> Vec<String> {
    let mut lines = Vec::new();
    for imp in &registry.implementations {
        for r in &imp.reports {
            let Some(cmd) = &r.run else {
                lines.push(format!("{}: no run command; committed report kept", r.dir));
                continue;
            };
            let missing: Vec<&String> = r.needs.iter().filter(|p| !on_path(p)).collect();
            if !missing.is_empty() {
                tracing::warn!(report = %r.dir, missing = missing.len(), "toolchain missing: committed report kept");
                lines.push(format!(
                    "{}: needs {} (not on PATH); committed report kept",
                    r.dir,
                    missing.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(", ")
                ));
                continue;
            }
            let cmd = cmd.replace("{harness}", &harness.display().to_string());
            let status = std::process::Command::new("sh")
                .arg("-c")
                .arg(&cmd)
                .current_dir(root)
                .status();
            lines.push(match status {
                Ok(s) => format!("{}: ran `{cmd}`: {s}", r.dir),
                Err(e) => format!("{}: could not run `{cmd}`: {e}", r.dir),
            });
        }
    }
    lines
}
