//! `ssb-harness antientropy`: runs anti-entropy scenarios (van Renesse et al.'s reconciliation
//! and flow-control experiments, and the same measures of SSB replication under a bandwidth
//! cap) and writes their data, figures and tables to `reports/sim/antientropy/`.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use ssb_sim::antientropy::{report, ssb, Config};

#[derive(clap::Args, Debug)]
pub struct AntientropyArgs {
    /// Scenarios (sim/scenarios/antientropy-NAME.toml, or a path); "ssb" scenarios run
    /// reference nodes, the others the reconciliation model.
    #[arg(value_delimiter = ',', default_value = "base,flow,ssb")]
    pub scenarios: Vec<String>,
    /// Directory that receives sim/antientropy/ (default: the workspace's reports/).
    #[arg(long)]
    pub reports: Option<PathBuf>,
    /// Override the scenario's seed.
    #[arg(long)]
    pub seed: Option<u64>,
}

fn is_ssb(name: &str) -> bool {
    let text = ssb_sim::scenario::scenarios_dir().join(format!("antientropy-{name}.toml"));
    let path = if std::path::Path::new(name).is_file() {
        PathBuf::from(name)
    } else {
        text
    };
    std::fs::read_to_string(path).is_ok_and(|t| t.lines().any(|l| l.trim_start().starts_with("methods")))
}

pub fn run(a: AntientropyArgs, workspace_root: PathBuf) -> anyhow::Result<ExitCode> {
    let dir = a
        .reports
        .unwrap_or_else(|| workspace_root.join("reports"))
        .join("sim/antientropy");
    for name in &a.scenarios {
        let t = Instant::now();
        let written = if is_ssb(name) {
            let mut cfg = ssb::SsbConfig::load(name).map_err(anyhow::Error::msg)?;
            if let Some(s) = a.seed {
                cfg.seed = s;
            }
            let series: Vec<_> = cfg.methods.iter().map(|m| ssb::run(&cfg, m)).collect();
            print!("{}", ssb::table(&cfg, &series));
            ssb::write(&dir, &cfg, &series)?
        } else {
            let mut cfg = Config::load(name).map_err(anyhow::Error::msg)?;
            if let Some(s) = a.seed {
                cfg.seed = s;
            }
            let series = report::run_all(&cfg);
            print!("{}", report::table(&cfg, &series));
            report::write(&dir, &cfg, &series)?
        };
        println!("{name}: {:.1} s wall", t.elapsed().as_secs_f64());
        for p in written {
            println!("  wrote {}", p.display());
        }
    }
    Ok(ExitCode::SUCCESS)
}
