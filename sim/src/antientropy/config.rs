//! Anti-entropy scenarios (`sim/scenarios/antientropy-*.toml`): the participants, the gossip
//! period and link delay, the MTU and update-rate schedules, the reconciliation orderings to
//! compare, and the flow-control settings.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// How a sender picks which deltas fit in one gossip message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Ordering {
    /// Precise reconciliation, the least recently updated mappings first.
    PreciseOldest,
    /// Precise reconciliation, the most recently updated mappings first.
    PreciseNewest,
    /// Scuttlebutt: every participant's deltas in version order, taken one rank at a time
    /// across participants (in a random order of participants).
    ScuttleBreadth,
    /// Scuttlebutt: the participants with the most deltas to send first (ties in random
    /// order), each in version order.
    ScuttleDepth,
}

impl Ordering {
    pub fn name(self) -> &'static str {
        match self {
            Ordering::PreciseOldest => "precise-oldest",
            Ordering::PreciseNewest => "precise-newest",
            Ordering::ScuttleBreadth => "scuttle-breadth",
            Ordering::ScuttleDepth => "scuttle-depth",
        }
    }

    pub fn is_scuttlebutt(self) -> bool {
        matches!(self, Ordering::ScuttleBreadth | Ordering::ScuttleDepth)
    }
}

/// From `at_s` on, a value holds (until the next step).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Step {
    pub at_s: f64,
    pub value: f64,
}

/// The value of a step schedule at time `t_s` (`None` before its first step).
pub fn at(steps: &[Step], t_s: f64) -> Option<f64> {
    steps.iter().rev().find(|s| s.at_s <= t_s).map(|s| s.value)
}

/// The flow-control scheme's constants.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Flow {
    /// The maximum update rate every participant starts with (updates per second).
    pub initial_rate: f64,
    /// Added to a participant's maximum rate after a gossip message that fitted the MTU.
    pub increase: f64,
    /// A participant's maximum rate is multiplied by this after a message that overflowed.
    pub decrease: f64,
    /// The lowest maximum rate (a participant is never silenced altogether).
    pub floor: f64,
}

impl Default for Flow {
    fn default() -> Self {
        Flow {
            initial_rate: 1.0,
            increase: 0.05,
            decrease: 0.9,
            floor: 0.01,
        }
    }
}

/// One anti-entropy scenario.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    pub name: String,
    pub description: String,
    pub seed: u64,
    pub participants: usize,
    pub keys: usize,
    pub duration_s: u64,
    pub gossip_period_ms: u64,
    /// One-way delay of a gossip message, drawn uniformly in this range.
    pub delay_min_ms: u64,
    pub delay_max_ms: u64,
    /// Deltas per gossip message from each step's time on (no limit before the first step).
    pub mtu: Vec<Step>,
    /// Updates per second each participant's application wants, from each step's time on.
    pub update_rate: Vec<Step>,
    /// The orderings run, one run each.
    pub orderings: Vec<Ordering>,
    /// Run each ordering without flow control, with it, or both (`[false, true]`).
    pub flow_control: Vec<bool>,
    pub flow: Flow,
}

impl Default for Config {
    fn default() -> Self {
        let step = |at_s: f64, value: f64| Step { at_s, value };
        Config {
            name: "antientropy".into(),
            description: String::new(),
            seed: 1,
            participants: 128,
            keys: 64,
            duration_s: 160,
            gossip_period_ms: 1000,
            delay_min_ms: 50,
            delay_max_ms: 100,
            mtu: vec![step(15.0, 100.0)],
            update_rate: vec![step(0.0, 1.0), step(25.0, 2.0), step(75.0, 1.0), step(120.0, 0.0)],
            orderings: vec![
                Ordering::PreciseOldest,
                Ordering::PreciseNewest,
                Ordering::ScuttleBreadth,
                Ordering::ScuttleDepth,
            ],
            flow_control: vec![false],
            flow: Flow::default(),
        }
    }
}

impl Config {
    /// Loads `sim/scenarios/antientropy-NAME.toml`, `NAME.toml` there, or a path.
    pub fn load(name_or_path: &str) -> Result<Config, String> {
        let dir = crate::scenario::scenarios_dir();
        let candidates: Vec<PathBuf> = vec![
            PathBuf::from(name_or_path),
            dir.join(format!("{name_or_path}.toml")),
            dir.join(format!("antientropy-{name_or_path}.toml")),
        ];
        let path = candidates
            .into_iter()
            .find(|p| p.is_file())
            .ok_or_else(|| format!("no anti-entropy scenario {name_or_path}"))?;
        Self::from_file(&path)
    }

    pub fn from_file(path: &Path) -> Result<Config, String> {
        let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
        let c: Config = toml::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
        c.check()?;
        Ok(c)
    }

    /// Rejects settings the model cannot run.
    pub fn check(&self) -> Result<(), String> {
        if self.participants < 2 || self.participants > 4096 {
            return Err(format!("participants {} outside 2..=4096", self.participants));
        }
        if self.keys == 0 || self.keys > 4096 {
            return Err(format!("keys {} outside 1..=4096", self.keys));
        }
        if self.participants * self.participants * self.keys > 64 << 20 {
            return Err("participants² × keys over 64 Mi mappings".into());
        }
        if self.gossip_period_ms == 0 || self.delay_min_ms > self.delay_max_ms {
            return Err("a gossip period above 0 and delay_min_ms <= delay_max_ms".into());
        }
        if self.duration_s == 0 || self.duration_s > 100_000 {
            return Err(format!("duration_s {} outside 1..=100000", self.duration_s));
        }
        if self.orderings.is_empty() || self.flow_control.is_empty() {
            return Err("at least one ordering and one flow_control setting".into());
        }
        if self.mtu.iter().any(|s| s.value < 1.0)
            || self.update_rate.iter().any(|s| s.value < 0.0 || s.value > 1000.0)
        {
            return Err("an MTU of at least 1 and update rates in 0..=1000".into());
        }
        let f = &self.flow;
        if !(f.decrease > 0.0 && f.decrease < 1.0) || f.increase < 0.0 || f.floor <= 0.0 {
            return Err("flow: decrease in (0, 1), increase >= 0, floor > 0".into());
        }
        Ok(())
    }
}
