//! Replaying a run: `--set PATH=VALUE` overrides of any scenario field (the value in TOML, so
//! `nodes=12`, `byzantine.forkers=0`, `faults.partition=[]`), and the one command that
//! reproduces a scenario exactly — its source, seed and swarm flag, then a `--set` for every
//! field that differs from what those give. A sweep prints it for every failure and the
//! shrinker for the smallest failure it finds.

use crate::scenario::Scenario;

/// Fields never written as overrides: the seed has its own flag, the swarm table is the
/// file's, and these are summaries of others.
const SKIP: &[&str] = &["seed", "swarm", "name", "description"];

/// Applies one `PATH=VALUE` override to `sc`.
pub fn set(sc: &mut Scenario, assignment: &str) -> Result<(), String> {
    let (path, value) = assignment
        .split_once('=')
        .ok_or_else(|| format!("{assignment:?} is not PATH=VALUE"))?;
    let value: toml::Value = match toml::from_str::<toml::Table>(&format!("v = {value}")) {
        Ok(mut t) => t.remove("v").expect("parsed"),
        // A bare word is a string.
        Err(_) => toml::Value::String(value.to_string()),
    };
    let mut root = toml::Value::try_from(&*sc).map_err(|e| e.to_string())?;
    let mut at = &mut root;
    let keys: Vec<&str> = path.trim().split('.').collect();
    for (i, k) in keys.iter().enumerate() {
        let table = at
            .as_table_mut()
            .ok_or_else(|| format!("{path}: {} is not a table", keys[..i].join(".")))?;
        if i + 1 == keys.len() {
            table.insert(k.to_string(), value.clone());
            break;
        }
        at = table
            .entry(k.to_string())
            .or_insert_with(|| toml::Value::Table(Default::default()));
    }
    let origin = sc.origin.clone();
    let mut next: Scenario = root
        .try_into()
        .map_err(|e: toml::de::Error| format!("{path}: {}", e.message()))?;
    next.origin = origin;
    *sc = next;
    Ok(())
}

/// TOML's inline form of a value (`[{ at_s = 2, … }]`).
fn inline(v: &toml::Value) -> String {
    match v {
        toml::Value::Table(t) => {
            let parts: Vec<String> = t.iter().map(|(k, v)| format!("{k} = {}", inline(v))).collect();
            format!("{{ {} }}", parts.join(", "))
        }
        toml::Value::Array(a) => {
            let parts: Vec<String> = a.iter().map(inline).collect();
            format!("[{}]", parts.join(", "))
        }
        other => other.to_string(),
    }
}

/// A value as `--set` takes it: a string bare where it cannot be read as anything else.
fn cli_value(v: &toml::Value) -> String {
    if let toml::Value::String(s) = v {
        let bare = !s.is_empty()
            && s.chars().all(|c| c.is_ascii_alphanumeric() || "_-".contains(c))
            && toml::from_str::<toml::Table>(&format!("v = {s}")).is_err();
        if bare {
            return s.clone();
        }
    }
    inline(v)
}

fn diff_into(base: &toml::Value, now: &toml::Value, prefix: &str, out: &mut Vec<String>) {
    match (base, now) {
        (toml::Value::Table(b), toml::Value::Table(n)) => {
            for (k, v) in n {
                if prefix.is_empty() && SKIP.contains(&k.as_str()) {
                    continue;
                }
                let path = if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}.{k}")
                };
                match b.get(k) {
                    Some(bv) => diff_into(bv, v, &path, out),
                    None => out.push(format!("{path}={}", cli_value(v))),
                }
            }
        }
        (b, n) if b != n => out.push(format!("{prefix}={}", cli_value(n))),
        _ => {}
    }
}

/// The overrides that turn `base` into `now`.
pub fn diff(base: &Scenario, now: &Scenario) -> Vec<String> {
    let b = toml::Value::try_from(base).expect("a scenario serialises");
    let n = toml::Value::try_from(now).expect("a scenario serialises");
    let mut out = Vec::new();
    diff_into(&b, &n, "", &mut out);
    out
}

/// What `sc`'s origin gives before any override: the loaded file at `sc`'s seed, drawn by the
/// swarm if the run was.
pub fn base_of(sc: &Scenario) -> Scenario {
    let mut base = if sc.origin.source.is_empty() {
        Scenario::load(&sc.name).unwrap_or_default()
    } else {
        Scenario::load(&sc.origin.source).unwrap_or_default()
    };
    base.seed = sc.seed;
    if sc.origin.swarm {
        crate::swarm::apply(&mut base);
    }
    base
}

fn quote(arg: &str) -> String {
    if arg
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "-_.=/:,".contains(c))
    {
        arg.to_string()
    } else {
        format!("'{}'", arg.replace('\'', r"'\''"))
    }
}

/// The arguments after `ssb-harness sim` that rebuild `sc` exactly.
pub fn args(sc: &Scenario) -> Vec<String> {
    let source = if sc.origin.source.is_empty() {
        sc.name.clone()
    } else {
        sc.origin.source.clone()
    };
    let mut out = vec![source, "--seed".into(), sc.seed.to_string()];
    if sc.origin.swarm {
        out.push("--swarm".into());
    }
    for s in diff(&base_of(sc), sc) {
        out.push("--set".into());
        out.push(s);
    }
    out
}

/// The command that replays `sc`.
pub fn command(sc: &Scenario) -> String {
    let a: Vec<String> = args(sc).iter().map(|a| quote(a)).collect();
    format!("ssb-harness sim {}", a.join(" "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overrides_reach_nested_fields_and_the_command_rebuilds_the_scenario() {
        let mut sc = Scenario::load("smoke").unwrap();
        sc.seed = 77;
        set(&mut sc, "nodes=12").unwrap();
        set(&mut sc, "byzantine.forkers=0").unwrap();
        set(&mut sc, "faults.partition=[]").unwrap();
        set(&mut sc, "replication=legacy").unwrap();
        assert_eq!(
            (sc.nodes, sc.byzantine.forkers, sc.replication.as_str()),
            (12, 0, "legacy")
        );
        assert!(sc.faults.partition.is_empty());
        let cmd = command(&sc);
        assert!(cmd.starts_with("ssb-harness sim smoke --seed 77 "), "{cmd}");
        // Rebuild from the printed arguments.
        let a = args(&sc);
        let mut again = Scenario::load(&a[0]).unwrap();
        again.seed = a[2].parse().unwrap();
        for pair in a[3..].chunks(2) {
            assert_eq!(pair[0], "--set");
            set(&mut again, &pair[1]).unwrap();
        }
        assert_eq!(toml::to_string(&again).unwrap(), toml::to_string(&sc).unwrap());
        assert!(set(&mut sc, "nodes").is_err());
        assert!(set(&mut sc, "no_such_field=1").is_err());
    }

    #[test]
    fn a_swarm_run_replays_from_its_seed_alone() {
        let mut sc = Scenario::load("byzantine").unwrap();
        sc.seed = 2484;
        crate::swarm::apply(&mut sc);
        assert_eq!(command(&sc), "ssb-harness sim byzantine --seed 2484 --swarm");
        sc.faults.crash.clear();
        assert!(
            command(&sc).ends_with("--swarm --set 'faults.crash=[]'")
                || sc.faults.crash == base_of(&sc).faults.crash
        );
    }
}
