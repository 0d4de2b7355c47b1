//! A run's report in `reports/sim/<scenario>/`: `summary.json` (the [`Summary`], the same bytes
//! for the same seed), `report.md` (the figures in words, with the wall time and memory of this
//! run, which vary), and SVG plots: deliveries over time, bytes sent per node, and the
//! convergence figures.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use plotters::prelude::*;

use crate::metrics::Summary;
use crate::scenario::Scenario;

/// What only this run knows (not in `summary.json`).
#[derive(Debug, Clone, Default)]
pub struct RunFacts {
    pub wall_ms: u128,
    pub peak_rss_kb: Option<u64>,
}

/// This process's peak resident memory (Linux), in KiB.
pub fn peak_rss_kb() -> Option<u64> {
    let s = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = s.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

fn plot_err<E: std::fmt::Display>(e: E) -> std::io::Error {
    std::io::Error::other(e.to_string())
}

fn line_plot(path: &Path, title: &str, x_label: &str, y_label: &str, ys: &[u64]) -> std::io::Result<()> {
    let root = SVGBackend::new(path, (720, 360)).into_drawing_area();
    root.fill(&WHITE).map_err(plot_err)?;
    let max_y = ys.iter().copied().max().unwrap_or(1).max(1);
    let mut chart = ChartBuilder::on(&root)
        .caption(title, ("sans-serif", 18))
        .margin(12)
        .x_label_area_size(36)
        .y_label_area_size(56)
        .build_cartesian_2d(0u64..(ys.len().max(1) as u64), 0u64..(max_y + max_y / 10 + 1))
        .map_err(plot_err)?;
    chart
        .configure_mesh()
        .x_desc(x_label)
        .y_desc(y_label)
        .draw()
        .map_err(plot_err)?;
    chart
        .draw_series(LineSeries::new(
            ys.iter().enumerate().map(|(i, y)| (i as u64, *y)),
            &BLUE,
        ))
        .map_err(plot_err)?;
    root.present().map_err(plot_err)?;
    Ok(())
}

/// Writes the report; returns the paths written.
pub fn write(dir: &Path, sc: &Scenario, s: &Summary, facts: &RunFacts) -> std::io::Result<Vec<PathBuf>> {
    std::fs::create_dir_all(dir)?;
    let mut written = Vec::new();
    let json = dir.join("summary.json");
    let mut text = serde_json::to_string_pretty(s).map_err(plot_err)?;
    text.push('\n');
    std::fs::write(&json, text)?;
    written.push(json);
    // This run's wall time and memory, apart from the summary (they vary between runs).
    let run_json = dir.join("run.json");
    let facts_json = serde_json::json!({"wall_ms": facts.wall_ms as u64, "peak_rss_kb": facts.peak_rss_kb});
    std::fs::write(&run_json, format!("{facts_json}\n"))?;
    written.push(run_json);

    let timeline = dir.join("deliveries.svg");
    line_plot(
        &timeline,
        "Messages delivered per simulated second",
        "simulated seconds",
        "messages stored",
        &s.timeline_deliveries_per_s,
    )?;
    written.push(timeline);
    let mut load = s.per_node_bytes_sent.clone();
    load.sort_unstable();
    let load_path = dir.join("per-node-load.svg");
    line_plot(
        &load_path,
        "Bytes sent per node (sorted)",
        "nodes, least to most",
        "bytes sent",
        &load,
    )?;
    written.push(load_path);

    let mut md = String::new();
    let _ = writeln!(md, "# Simulation: {}\n", s.scenario);
    if !sc.description.is_empty() {
        let _ = writeln!(md, "{}\n", sc.description);
    }
    let _ = writeln!(
        md,
        "Seed {}, {} nodes, {} replication, {} simulated seconds. Replay: `ssb-harness sim {} --seed {} --nodes {}`.\n",
        s.seed, s.nodes, s.replication, s.duration_s, s.scenario, s.seed, s.nodes
    );
    let _ = writeln!(
        md,
        "This run: {:.1} s of wall time, peak memory {}.\n",
        facts.wall_ms as f64 / 1000.0,
        facts.peak_rss_kb.map_or("not measured".to_string(), |k| format!(
            "{:.0} MiB",
            k as f64 / 1024.0
        ))
    );
    let _ = writeln!(
        md,
        "## Invariants: {}\n",
        if s.invariants.held {
            "none violated"
        } else {
            "VIOLATED"
        }
    );
    md.push_str("| invariant | verdict | what was checked |\n|---|---|---|\n");
    for c in &s.invariants.checks {
        let status = match c.status {
            crate::invariants::Status::Held => "held",
            crate::invariants::Status::Violated => "**violated**",
            crate::invariants::Status::NotExercised => "not exercised",
        };
        let _ = writeln!(md, "| {} — {} | {status} | {} |", c.name, c.statement, c.detail);
        for v in &c.violations {
            let _ = writeln!(md, "| | violation | {v} |");
        }
    }
    md.push('\n');
    md.push_str("\n## Figures\n\n| figure | value |\n|---|---:|\n");
    let rows: Vec<(&str, String)> = vec![
        ("messages published", s.messages_published.to_string()),
        (
            "messages that reached every node that follows their author",
            s.messages_converged.to_string(),
        ),
        (
            "convergence time p50 / p99 / max (ms)",
            format!(
                "{} / {} / {}",
                s.convergence_ms.p50, s.convergence_ms.p99, s.convergence_ms.max
            ),
        ),
        (
            "messages delivered (stored by a follower)",
            s.messages_delivered.to_string(),
        ),
        ("duplicates received", s.duplicates.to_string()),
        (
            "redundancy (copies received per message stored)",
            format!("{:.3}", s.redundancy),
        ),
        ("bytes sent in all", s.bytes_sent.to_string()),
        (
            "bytes sent per message delivered",
            format!("{:.0}", s.bytes_per_delivered),
        ),
        (
            "bytes sent per node p50 / p99 / max",
            format!(
                "{} / {} / {}",
                s.per_node_bytes.p50, s.per_node_bytes.p99, s.per_node_bytes.max
            ),
        ),
        ("messages rejected by honest nodes", s.rejected.to_string()),
        (
            "connections made / dials that failed",
            format!("{} / {}", s.connections, s.dial_failures),
        ),
        (
            "largest bytes in flight on one link",
            s.max_queued_bytes_per_link.to_string(),
        ),
        (
            "received messages lost to torn writes in crashes (then replicated again)",
            s.messages_lost_to_torn_writes.to_string(),
        ),
        ("events simulated", s.events.to_string()),
    ];
    for (k, v) in rows {
        let _ = writeln!(md, "| {k} | {v} |");
    }
    if !s.closes.is_empty() {
        md.push_str("\n## Connections cut by honest nodes, by reason\n\n");
        for (k, v) in &s.closes {
            let _ = writeln!(md, "- {k}: {v}");
        }
    }
    if !s.forks_detected.is_empty() {
        md.push_str("\n## Forks detected (reports by honest nodes)\n\n");
        for (k, v) in &s.forks_detected {
            let _ = writeln!(md, "- `{k}`: {v}");
        }
    }
    if let Some(g) = &s.groups {
        md.push_str("\n## Private groups (box2)\n\n| figure | value |\n|---|---:|\n");
        let rows = [
            ("groups created", g.groups.to_string()),
            ("members (creators included)", g.members.to_string()),
            ("group/add-member messages", g.add_member_messages.to_string()),
            ("messages posted to groups", g.group_messages.to_string()),
            (
                "(member, group message) pairs read / expected",
                format!("{} / {}", g.member_reads, g.member_reads_expected),
            ),
            (
                "(non-member, group message) pairs read",
                g.non_member_reads.to_string(),
            ),
            (
                "encrypted messages checked / opened by honest nodes",
                format!("{} / {}", g.box2_checked, g.box2_opened),
            ),
        ];
        for (k, v) in rows {
            let _ = writeln!(md, "| {k} | {v} |");
        }
    }
    md.push_str("\n## Plots\n\n![deliveries](deliveries.svg)\n\n![per-node load](per-node-load.svg)\n");
    let md_path = dir.join("report.md");
    std::fs::write(&md_path, md)?;
    written.push(md_path);
    Ok(written)
}
