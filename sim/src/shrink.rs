//! Shrinking a failing run: from a scenario that violates an invariant, try smaller ones — fewer
//! nodes, a shorter run, fewer messages, fewer faults, fewer Byzantine nodes, no loss — and keep
//! each that still violates the same invariant, until no candidate does or the budget is spent.
//! The caller runs the candidates (in child processes, so a crash or hang is contained); the
//! result is the smallest scenario found, whose [`crate::replay::command`] reproduces it.

use crate::scenario::Scenario;

/// Smaller variants of `sc`, most promising first, each valid.
pub fn candidates(sc: &Scenario) -> Vec<(String, Scenario)> {
    let mut out: Vec<(String, Scenario)> = Vec::new();
    let mut push = |label: String, c: Scenario| {
        if c.check().is_ok() {
            out.push((label, c));
        }
    };
    let byz = sc.byzantine.forgers + 2 * sc.byzantine.forkers + sc.byzantine.flooders + sc.byzantine.slow;
    let min_nodes = (byz + 2).max(2);
    for n in [
        min_nodes,
        sc.nodes / 2,
        sc.nodes * 3 / 4,
        sc.nodes.saturating_sub(1),
    ] {
        if n >= min_nodes && n < sc.nodes {
            let mut c = sc.clone();
            c.nodes = n;
            c.faults.crash.retain(|k| k.node < n);
            push(format!("nodes={n}"), c);
        }
    }
    for i in 0..sc.faults.partition.len() {
        let mut c = sc.clone();
        c.faults.partition.remove(i);
        push(format!("without partition {i}"), c);
    }
    for i in 0..sc.faults.crash.len() {
        let mut c = sc.clone();
        c.faults.crash.remove(i);
        push(format!("without crash {i}"), c);
    }
    if let Some(ch) = &sc.faults.churn {
        if ch.count > 0 {
            let mut c = sc.clone();
            c.faults.churn.as_mut().expect("some").count = 0;
            push("without churn".into(), c);
        }
    }
    let b = &sc.byzantine;
    for (name, v) in [
        ("forgers", b.forgers),
        ("forkers", b.forkers),
        ("flooders", b.flooders),
        ("slow", b.slow),
    ] {
        if v > 0 {
            let mut c = sc.clone();
            let field = match name {
                "forgers" => &mut c.byzantine.forgers,
                "forkers" => &mut c.byzantine.forkers,
                "flooders" => &mut c.byzantine.flooders,
                _ => &mut c.byzantine.slow,
            };
            *field = 0;
            push(format!("{name}=0"), c.clone());
            if v > 1 {
                let mut c = sc.clone();
                match name {
                    "forgers" => c.byzantine.forgers = v - 1,
                    "forkers" => c.byzantine.forkers = v - 1,
                    "flooders" => c.byzantine.flooders = v - 1,
                    _ => c.byzantine.slow = v - 1,
                }
                push(format!("{name}={}", v - 1), c);
            }
        }
    }
    if sc.groups.count > 1 {
        let mut c = sc.clone();
        c.groups.count = 1;
        push("groups.count=1".into(), c);
    }
    let m = sc.workload.messages_per_node;
    for k in [1, m / 2] {
        if k >= 1 && k < m {
            let mut c = sc.clone();
            c.workload.messages_per_node = k;
            push(format!("messages_per_node={k}"), c);
        }
    }
    if sc.network.loss > 0.0 {
        let mut c = sc.clone();
        c.network.loss = 0.0;
        push("loss=0".into(), c);
    }
    // A shorter run: the workload window and the faults shrink with it.
    let d = sc.duration_s;
    let shorter = d * 3 / 4;
    let last_fault = sc
        .faults
        .partition
        .iter()
        .map(|p| p.heal_s)
        .chain(sc.faults.crash.iter().map(|c| c.restart_s))
        .max()
        .unwrap_or(0);
    if shorter >= 10 && shorter > last_fault {
        let mut c = sc.clone();
        c.duration_s = shorter;
        c.workload.end_s = c.workload.end_s.min(shorter);
        c.workload.start_s = c.workload.start_s.min(c.workload.end_s);
        push(format!("duration_s={shorter}"), c);
    }
    out
}

/// A size to compare runs by: nodes first, then faults, messages and time.
pub fn size(sc: &Scenario) -> (usize, usize, usize, u64) {
    let b = &sc.byzantine;
    (
        sc.nodes,
        sc.faults.partition.len() + sc.faults.crash.len() + b.forgers + b.forkers + b.flooders + b.slow,
        sc.workload.messages_per_node,
        sc.duration_s,
    )
}

/// What shrinking found.
pub struct Shrunk {
    pub scenario: Scenario,
    /// Candidates run, and the steps that were kept.
    pub tried: usize,
    pub steps: Vec<String>,
}

/// Greedy shrinking: `fails(candidate)` runs a candidate and says whether it violates the same
/// invariant. At most `budget` candidates are run.
pub fn shrink(sc: &Scenario, budget: usize, fails: &mut dyn FnMut(&Scenario) -> bool) -> Shrunk {
    let mut best = sc.clone();
    let mut tried = 0;
    let mut steps = Vec::new();
    'outer: while tried < budget {
        for (label, c) in candidates(&best) {
            if tried >= budget {
                break 'outer;
            }
            tried += 1;
            if fails(&c) {
                best = c;
                steps.push(label);
                continue 'outer;
            }
        }
        break;
    }
    Shrunk {
        scenario: best,
        tried,
        steps,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn candidates_are_smaller_and_valid() {
        let sc = Scenario::load("churn").unwrap();
        let cs = candidates(&sc);
        assert!(!cs.is_empty());
        for (label, c) in &cs {
            assert!(c.check().is_ok(), "{label}");
            assert!(
                size(c) < size(&sc) || label == "loss=0" || label == "without churn",
                "{label} is not smaller"
            );
        }
    }

    #[test]
    fn shrinking_finds_the_smallest_failing_node_count() {
        // A stand-in failure: any run of 7 nodes or more "fails".
        let mut sc = Scenario::load("smoke").unwrap();
        sc.faults.partition.clear();
        let s = shrink(&sc, 100, &mut |c| c.nodes >= 7);
        assert_eq!(s.scenario.nodes, 7, "{:?}", s.steps);
        assert!(s.tried <= 100);
    }
}
