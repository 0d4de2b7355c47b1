//! `ssb-harness sim sweep` and `sim sweep-merge`: many seeds of the simulator's scenarios, each
//! run in a child process of this binary (`sim … --outcome-json`), `--jobs` at a time, so that a
//! run that panics or hangs is one failed run, not a failed sweep. A table of outcomes per
//! scenario × replication method, every failure's replay command, the smallest failing command
//! the shrinker finds, and `reports/sim/sweep/{sweep.json,report.md}`. `--shard K/N` runs a
//! disjoint slice of the seeds (K from Slurm's or Kubernetes' array index when only N is
//! given), and `sweep-merge` combines the slices.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use rand_core::RngCore;
use ssb_sim::sweep::{self, Outcome, RunStatus, Shard, SweepFile, Task};
use ssb_sim::{replay, shrink, Scenario};

#[derive(Args, Clone)]
#[command(
    after_help = "Examples:\n  ssb-harness sim sweep --seeds 1..200 --swarm            every bundled scenario, 200 seeds, knobs drawn from each seed\n  ssb-harness sim sweep --seeds 1..5000 --swarm --spread   5,000 seeds, each running one bundled scenario\n  ssb-harness sim sweep smoke byzantine --time 10m --jobs 2\n  ssb-harness sim sweep --seeds 1..10000 --swarm --shard 3/8 --out shard-3\n  ssb-harness sim sweep --seeds 1..10000 --swarm --shard 8   (K from SLURM_ARRAY_TASK_ID or JOB_COMPLETION_INDEX)\n  ssb-harness sim sweep-merge shard-*"
)]
pub struct SweepArgs {
    /// Scenarios to sweep (bundled names or TOML paths); default: every bundled scenario.
    pub scenarios: Vec<String>,
    /// Seeds A..B (inclusive).
    #[arg(long, conflicts_with = "time")]
    pub seeds: Option<String>,
    /// Sweep for this long (e.g. 90s, 10m, 2h), seeds counting up from --from.
    #[arg(long)]
    pub time: Option<String>,
    /// First seed of a --time sweep; default: drawn from the operating system (printed).
    #[arg(long)]
    pub from: Option<u64>,
    /// Runs at a time, each in its own process; default: one per core.
    #[arg(long)]
    pub jobs: Option<usize>,
    /// Draw each run's knobs from its seed within the scenario's [swarm] ranges.
    #[arg(long)]
    pub swarm: bool,
    /// Each seed runs one scenario (seed % count) instead of all of them: N seeds, N runs.
    #[arg(long)]
    pub spread: bool,
    /// Replication methods of a plain (non-swarm) sweep.
    #[arg(long, value_delimiter = ',', default_value = "ebt,legacy")]
    pub methods: Vec<String>,
    /// A slice of the seeds: K/N takes the seeds s with s % N == K. N alone takes K from
    /// SLURM_ARRAY_TASK_ID or JOB_COMPLETION_INDEX.
    #[arg(long)]
    pub shard: Option<String>,
    /// Extra overrides for every run (PATH=VALUE), e.g. --set sabotage=skip_fork_detection.
    #[arg(long = "set", value_name = "PATH=VALUE")]
    pub sets: Vec<String>,
    /// Where sweep.json and report.md go; default: reports/sim/sweep (shard K: …/sweep/shard-K).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Seconds one run may take before it counts as hung.
    #[arg(long, default_value_t = 300)]
    pub run_timeout_s: u64,
    /// Failures to shrink (0: none).
    #[arg(long, default_value_t = 3)]
    pub shrink: usize,
    /// Candidate runs the shrinker may make per failure.
    #[arg(long, default_value_t = 40)]
    pub shrink_budget: usize,
}

#[derive(Args, Clone)]
pub struct MergeArgs {
    /// Shard directories (each with a sweep.json) or sweep.json files.
    #[arg(required = true)]
    pub parts: Vec<PathBuf>,
    /// Where the merged sweep.json and report.md go; default: reports/sim/sweep.
    #[arg(long)]
    pub out: Option<PathBuf>,
}

/// Parses `90s`, `10m`, `2h` or plain seconds.
pub fn parse_duration(s: &str) -> anyhow::Result<Duration> {
    let s = s.trim();
    let (num, unit) = s.split_at(s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len()));
    let n: u64 = num
        .parse()
        .map_err(|_| anyhow::anyhow!("{s:?} is not a duration (90s, 10m, 2h)"))?;
    let secs = match unit {
        "" | "s" => n,
        "m" | "min" => n * 60,
        "h" => n * 3600,
        _ => anyhow::bail!("{s:?} is not a duration (90s, 10m, 2h)"),
    };
    Ok(Duration::from_secs(secs))
}

fn parse_seeds(s: &str) -> anyhow::Result<(u64, u64)> {
    let (a, b) = s
        .split_once("..")
        .ok_or_else(|| anyhow::anyhow!("--seeds {s:?}: A..B"))?;
    let a: u64 = a.trim().parse()?;
    let b: u64 = b.trim().trim_start_matches('=').parse()?;
    anyhow::ensure!(a <= b, "--seeds {s}: A must not exceed B");
    Ok((a, b))
}

/// The shard of `--shard`, with K from the batch engine's array index when only N is given.
pub fn shard_of(arg: &str) -> anyhow::Result<Shard> {
    if arg.contains('/') {
        return Shard::parse(arg).map_err(|e| anyhow::anyhow!(e));
    }
    let count: u64 = arg
        .parse()
        .map_err(|_| anyhow::anyhow!("--shard {arg:?}: K/N or N"))?;
    let k = ["SLURM_ARRAY_TASK_ID", "JOB_COMPLETION_INDEX"]
        .iter()
        .find_map(|v| std::env::var(v).ok())
        .ok_or_else(|| {
            anyhow::anyhow!(
                "--shard {arg}: no K given and neither SLURM_ARRAY_TASK_ID nor JOB_COMPLETION_INDEX is set"
            )
        })?;
    Shard::parse(&format!("{}/{count}", k.trim())).map_err(|e| anyhow::anyhow!(e))
}

/// Runs `ssb-harness sim ARGS --outcome-json` in a child process with a time limit.
pub fn run_child(exe: &Path, task: &Task, timeout: Duration) -> Outcome {
    let started = Instant::now();
    let failed = |status: RunStatus, what: String| Outcome {
        task: task.clone(),
        replication: String::new(),
        nodes: 0,
        status,
        invariant: None,
        what: Some(what),
        replay: format!("ssb-harness sim {}", task.args().join(" ")),
        not_exercised: Vec::new(),
        digest: None,
        shrunk: None,
        wall_ms: started.elapsed().as_millis() as u64,
    };
    let mut child = match Command::new(exe)
        .arg("sim")
        .args(task.args())
        .arg("--outcome-json")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
    {
        Ok(c) => c,
        Err(e) => {
            return failed(
                RunStatus::Crashed,
                format!("could not start {}: {e}", exe.display()),
            )
        }
    };
    // Readers on both pipes, so that a chatty child never blocks on a full pipe.
    let mut out = child.stdout.take().expect("piped");
    let mut err = child.stderr.take().expect("piped");
    let out_reader = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = out.read_to_string(&mut s);
        s
    });
    let err_reader = std::thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = err.read_to_end(&mut buf);
        let tail = buf.len().saturating_sub(2000);
        String::from_utf8_lossy(&buf[tail..]).into_owned()
    });
    let status = loop {
        match child.try_wait() {
            Ok(Some(s)) => break Some(s),
            Ok(None) if started.elapsed() > timeout => {
                let _ = child.kill();
                let _ = child.wait();
                break None;
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(10)),
            Err(_) => break None,
        }
    };
    let stdout = out_reader.join().unwrap_or_default();
    let stderr = err_reader.join().unwrap_or_default();
    let Some(status) = status else {
        return failed(
            RunStatus::TimedOut,
            format!("no outcome within {} s", timeout.as_secs()),
        );
    };
    match stdout
        .lines()
        .rev()
        .find_map(|l| serde_json::from_str::<Outcome>(l).ok())
    {
        Some(mut o) if status.success() => {
            o.wall_ms = started.elapsed().as_millis() as u64;
            o
        }
        _ => failed(
            RunStatus::Crashed,
            format!("the run exited with {status}; stderr ends: {}", stderr.trim()),
        ),
    }
}

/// Seeds to hand out: a range, or counting up until a deadline.
struct Seeds {
    next: u64,
    last: Option<u64>,
    deadline: Option<Instant>,
    shard: Option<Shard>,
}

impl Seeds {
    fn next(&mut self) -> Option<u64> {
        loop {
            if self.deadline.is_some_and(|d| Instant::now() >= d) {
                return None;
            }
            let s = self.next;
            if self.last.is_some_and(|l| s > l) {
                return None;
            }
            self.next = s.checked_add(1)?;
            if self.shard.is_none_or(|sh| sh.takes(s)) {
                return Some(s);
            }
        }
    }
}

fn write_sweep(dir: &Path, f: &SweepFile) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir)?;
    std::fs::write(dir.join("sweep.json"), serde_json::to_string_pretty(f)? + "\n")?;
    std::fs::write(dir.join("report.md"), sweep::report_markdown(f))?;
    Ok(())
}

fn print_failures(f: &SweepFile) {
    let failures = f.failures();
    if failures.is_empty() {
        println!("no invariant violated in {} runs", f.runs.len());
        return;
    }
    println!(
        "{} of {} runs failed; replay each with:",
        failures.len(),
        f.runs.len()
    );
    for r in failures {
        println!(
            "  {}  # {:?} {}",
            r.replay,
            r.status,
            r.invariant.as_deref().unwrap_or("")
        );
        if let Some(s) = &r.shrunk {
            println!("    smallest found: {s}");
        }
    }
}

/// Shrinks a failing run: candidates run as child processes; one counts when it fails the same
/// way (the same invariant, or the same crash or hang).
fn shrink_failure(exe: &Path, o: &Outcome, budget: usize, timeout: Duration) -> Option<String> {
    let mut sc = {
        let a = crate::sim_cmd::RunArgs {
            scenario: Some(o.task.scenario.clone()),
            seed: Some(o.task.seed),
            swarm: o.task.swarm,
            sets: o.task.sets.clone(),
            ..Default::default()
        };
        crate::sim_cmd::scenario_of(&a).ok()?
    };
    sc.compare_replication = false;
    let mut fails = |c: &Scenario| {
        let task = Task {
            scenario: o.task.scenario.clone(),
            seed: c.seed,
            swarm: c.origin.swarm,
            sets: replay::diff(&replay::base_of(c), c),
        };
        let r = run_child(exe, &task, timeout);
        r.status == o.status && r.invariant == o.invariant
    };
    let s = shrink::shrink(&sc, budget, &mut fails);
    (!s.steps.is_empty()).then(|| replay::command(&s.scenario))
}

pub fn sweep(a: SweepArgs, reports: PathBuf) -> anyhow::Result<ExitCode> {
    let scenarios: Vec<String> = if a.scenarios.is_empty() {
        sweep::BUNDLED.iter().map(|s| s.to_string()).collect()
    } else {
        a.scenarios.clone()
    };
    for s in &scenarios {
        Scenario::load(s).map_err(|e| anyhow::anyhow!(e))?;
    }
    for m in &a.methods {
        anyhow::ensure!(
            matches!(m.as_str(), "ebt" | "legacy"),
            "--methods {m:?}: ebt or legacy"
        );
    }
    let shard = a.shard.as_deref().map(shard_of).transpose()?;
    let (seeds, seeds_text) = match (&a.seeds, &a.time) {
        (Some(s), _) => {
            let (lo, hi) = parse_seeds(s)?;
            (
                Seeds {
                    next: lo,
                    last: Some(hi),
                    deadline: None,
                    shard,
                },
                format!("{lo}..{hi}"),
            )
        }
        (None, Some(t)) => {
            let d = parse_duration(t)?;
            let from = a.from.unwrap_or_else(|| {
                let mut b = [0u8; 4];
                rand_core::OsRng.fill_bytes(&mut b);
                u64::from(u32::from_le_bytes(b))
            });
            (
                Seeds {
                    next: from,
                    last: None,
                    deadline: Some(Instant::now() + d),
                    shard,
                },
                format!("from {from} for {t}"),
            )
        }
        (None, None) => anyhow::bail!("give --seeds A..B or --time DURATION"),
    };
    let jobs = a
        .jobs
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
        .max(1);
    let out = a.out.clone().unwrap_or_else(|| {
        let base = reports.join("sim").join("sweep");
        match shard {
            Some(s) => base.join(format!("shard-{}", s.index)),
            None => base,
        }
    });
    let exe = std::env::current_exe()?;
    let timeout = Duration::from_secs(a.run_timeout_s.max(1));
    println!(
        "sweep: {} ({}{}), seeds {seeds_text}{}, {jobs} jobs",
        scenarios.join(", "),
        if a.swarm { "swarm" } else { "plain" },
        if a.spread { ", one scenario per seed" } else { "" },
        shard.map_or(String::new(), |s| format!(", shard {}/{}", s.index, s.count))
    );
    let started = Instant::now();
    // Tasks come seed by seed; workers take the next one as they free up.
    let queue = Arc::new(Mutex::new((seeds, Vec::<Task>::new())));
    let next_task = {
        let queue = queue.clone();
        let scenarios = scenarios.clone();
        let (swarm, methods, extra, spread) = (a.swarm, a.methods.clone(), a.sets.clone(), a.spread);
        move || -> Option<Task> {
            let mut q = queue.lock().expect("not poisoned");
            if q.1.is_empty() {
                let seed = q.0.next()?;
                let mut tasks = sweep::tasks_for_seed(&scenarios, seed, swarm, &methods, spread);
                for t in &mut tasks {
                    t.sets.extend(extra.iter().cloned());
                }
                tasks.reverse();
                q.1 = tasks;
            }
            q.1.pop()
        }
    };
    let total = match (&a.seeds, shard) {
        (Some(s), _) => {
            let (lo, hi) = parse_seeds(s)?;
            let per_seed =
                if a.spread { 1 } else { scenarios.len() } * if a.swarm { 1 } else { a.methods.len() };
            let n = (lo..=hi).filter(|s| shard.is_none_or(|sh| sh.takes(*s))).count();
            Some((n * per_seed) as u64)
        }
        _ => None,
    };
    let bar = match total {
        Some(t) => ProgressBar::new(t).with_style(
            ProgressStyle::with_template("sweep [{bar:30}] {pos}/{len} runs, {msg} ({elapsed}, eta {eta})")
                .expect("template")
                .progress_chars("=> "),
        ),
        None => ProgressBar::new_spinner().with_style(
            ProgressStyle::with_template("sweep {spinner} {pos} runs, {msg} ({elapsed})").expect("template"),
        ),
    };
    bar.set_message("0 failed");
    let (tx, rx) = mpsc::channel::<Outcome>();
    let next_task = Arc::new(Mutex::new(next_task));
    let mut workers = Vec::new();
    for _ in 0..jobs {
        let (tx, next_task, exe) = (tx.clone(), next_task.clone(), exe.clone());
        workers.push(std::thread::spawn(move || loop {
            let task = { (next_task.lock().expect("not poisoned"))() };
            let Some(task) = task else { break };
            if tx.send(run_child(&exe, &task, timeout)).is_err() {
                break;
            }
        }));
    }
    drop(tx);
    let mut runs = Vec::new();
    let mut failed = 0;
    for o in rx {
        if o.status.failed() {
            failed += 1;
            bar.suspend(|| {
                eprintln!(
                    "FAILED {:?} {}: {}",
                    o.status,
                    o.invariant.as_deref().unwrap_or(""),
                    o.replay
                )
            });
            bar.set_message(format!("{failed} failed"));
        }
        bar.inc(1);
        runs.push(o);
    }
    for w in workers {
        let _ = w.join();
    }
    bar.finish_and_clear();
    let mut f = SweepFile {
        scenarios,
        swarm: a.swarm,
        spread: a.spread,
        seeds: seeds_text,
        shard,
        merged_from: 0,
        jobs,
        wall_s: (started.elapsed().as_secs_f64() * 10.0).round() / 10.0,
        runs,
    };
    f.sort();
    write_sweep(&out, &f)?;
    // Shrink the first failures (after writing, so a long shrink loses nothing).
    let to_shrink: Vec<usize> = (0..f.runs.len())
        .filter(|i| f.runs[*i].status.failed())
        .take(a.shrink)
        .collect();
    for i in to_shrink {
        println!("shrinking {}", f.runs[i].replay);
        if let Some(s) = shrink_failure(&exe, &f.runs[i], a.shrink_budget, timeout) {
            f.runs[i].shrunk = Some(s);
        }
    }
    write_sweep(&out, &f)?;
    print!("{}", sweep::table_markdown(&f));
    print_failures(&f);
    println!(
        "{} runs in {:.1} s; wrote {}",
        f.runs.len(),
        f.wall_s,
        out.join("sweep.json").display()
    );
    Ok(if f.failures().is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

pub fn merge(a: MergeArgs, reports: PathBuf) -> anyhow::Result<ExitCode> {
    let mut parts = Vec::new();
    for p in &a.parts {
        let file = if p.is_dir() {
            p.join("sweep.json")
        } else {
            p.clone()
        };
        let text = std::fs::read_to_string(&file).map_err(|e| anyhow::anyhow!("{}: {e}", file.display()))?;
        let f: SweepFile =
            serde_json::from_str(&text).map_err(|e| anyhow::anyhow!("{}: {e}", file.display()))?;
        parts.push(f);
    }
    let f = sweep::merge(parts).map_err(|e| anyhow::anyhow!(e))?;
    let out = a.out.unwrap_or_else(|| reports.join("sim").join("sweep"));
    write_sweep(&out, &f)?;
    print!("{}", sweep::table_markdown(&f));
    print_failures(&f);
    println!(
        "merged {} sweeps, {} runs; wrote {}",
        f.merged_from,
        f.runs.len(),
        out.join("sweep.json").display()
    );
    Ok(if f.failures().is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
