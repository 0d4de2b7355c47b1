//! Differential fuzzing through the adapter protocol (`ssb-harness fuzz`): the inputs of a
//! suite's vectors are mutated with their structure in mind (JSON fields and values, numbers and
//! strings at boundaries, bit flips, cuts and splices in binary frames), each mutant is sent to
//! the implementation under test and to the reference, and every disagreement is shrunk to a
//! small input and saved as a vector file of one case that `ssb-harness check --cases FILE`
//! replays. The reference's answer is the case's `expect`.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use rand_chacha::ChaCha20Rng;
use rand_core::{RngCore, SeedableRng};
use serde_json::{json, Value};
use ssb_vectors::file::Input;
use ssb_vectors::{Case, VectorFile};

use crate::adapter::{Adapter, CallError};
use crate::deviations::Deviations;

/// Most calls spent shrinking one disagreement.
const SHRINK_BUDGET: usize = 300;
/// Most findings saved per suite (distinct by op and the two outcomes).
const MAX_FINDINGS: usize = 20;

/// What one run is asked to do.
pub struct Config {
    pub suite: String,
    /// Stop after this long...
    pub time: Duration,
    /// ...or after this many mutants, whichever comes first.
    pub max_mutants: u64,
    pub seed: u64,
    /// Where finding files go (created when there is one).
    pub out: PathBuf,
    /// Also count two rejections with different kinds as a disagreement. Off by default: a
    /// mutant often carries several faults, and then the order of checks may pick the kind.
    pub strict_kinds: bool,
}

/// One saved disagreement.
#[derive(Debug, Clone)]
pub struct Finding {
    pub path: PathBuf,
    pub op: String,
    pub reference: Value,
    pub adapter: Value,
}

/// What a run did.
#[derive(Debug, Clone, Default)]
pub struct Summary {
    pub mutants: u64,
    /// Mutants the reference refused as malformed arguments (not comparable).
    pub malformed: u64,
    pub agreements: u64,
    /// Disagreements on mutants of a case the deviations file documents.
    pub documented: u64,
    /// Both refused, with different kinds (counted as findings only with `strict_kinds`).
    pub kind_differences: u64,
    pub findings: Vec<Finding>,
}

/// An answer reduced to what is compared.
#[derive(Debug, Clone, PartialEq)]
enum Outcome {
    Ok(Value),
    Refused(String),
    /// The adapter crashed, hung or broke the protocol.
    Broken(String),
}

impl Outcome {
    fn of(r: Result<Value, CallError>) -> Self {
        match r {
            Ok(v) => Outcome::Ok(v),
            Err(CallError::Op { kind, .. }) => Outcome::Refused(kind),
            Err(CallError::Transport(m)) => Outcome::Broken(m),
        }
    }

    fn to_json(&self) -> Value {
        match self {
            Outcome::Ok(v) => v.clone(),
            Outcome::Refused(k) => json!({ "error": k }),
            Outcome::Broken(m) => json!({ "error": "adapter_failure", "message": m }),
        }
    }

    fn label(&self) -> String {
        match self {
            Outcome::Ok(_) => "ok".into(),
            Outcome::Refused(k) => k.clone(),
            Outcome::Broken(_) => "adapter_failure".into(),
        }
    }
}

/// How two outcomes compare.
#[derive(Debug, PartialEq)]
enum Verdict {
    Same,
    /// The reference refused the arguments themselves: nothing to compare.
    NotComparable,
    KindOnly,
    Differ,
}

fn judge(reference: &Outcome, adapter: &Outcome) -> Verdict {
    match (reference, adapter) {
        (Outcome::Refused(k), _) if k == "invalid_args" || k == "internal" || k == "unsupported" => {
            Verdict::NotComparable
        }
        (_, Outcome::Refused(k)) if k == "unsupported" => Verdict::NotComparable,
        (a, b) if a == b => Verdict::Same,
        (Outcome::Refused(_), Outcome::Refused(_)) => Verdict::KindOnly,
        _ => Verdict::Differ,
    }
}

// ---- mutation ---------------------------------------------------------------------------------

const NUMBERS: &[f64] = &[
    0.0,
    -0.0,
    1.0,
    -1.0,
    0.5,
    1.5,
    2.0,
    255.0,
    256.0,
    4096.0,
    4097.0,
    8192.0,
    8193.0,
    65535.0,
    65536.0,
    2147483647.0,
    2147483648.0,
    -2147483648.0,
    -2147483649.0,
    4294967295.0,
    4294967296.0,
    9007199254740991.0,
    9007199254740992.0,
    18446744073709551616.0,
    123456789012345680000.0,
    1e21,
    1e-7,
    -1e300,
];

fn is_hex(s: &str) -> bool {
    !s.is_empty() && s.len().is_multiple_of(2) && s.bytes().all(|b| b.is_ascii_hexdigit())
}

fn pick<'a, T>(rng: &mut ChaCha20Rng, items: &'a [T]) -> &'a T {
    &items[(rng.next_u32() as usize) % items.len()]
}

fn below(rng: &mut ChaCha20Rng, n: usize) -> usize {
    if n == 0 {
        0
    } else {
        (rng.next_u32() as usize) % n
    }
}

/// Every path (object keys and array indices) in `v`, the root included.
fn paths(v: &Value, here: &mut Vec<PathStep>, out: &mut Vec<Vec<PathStep>>) {
    out.push(here.clone());
    match v {
        Value::Object(o) => {
            for (k, x) in o {
                here.push(PathStep::Key(k.clone()));
                paths(x, here, out);
                here.pop();
            }
        }
        Value::Array(a) => {
            for (i, x) in a.iter().enumerate() {
                here.push(PathStep::Index(i));
                paths(x, here, out);
                here.pop();
            }
        }
        _ => {}
    }
}

#[derive(Debug, Clone, PartialEq)]
enum PathStep {
    Key(String),
    Index(usize),
}

fn at_mut<'a>(v: &'a mut Value, path: &[PathStep]) -> Option<&'a mut Value> {
    let mut cur = v;
    for step in path {
        cur = match step {
            PathStep::Key(k) => cur.get_mut(k.as_str())?,
            PathStep::Index(i) => cur.get_mut(*i)?,
        };
    }
    Some(cur)
}

fn at<'a>(v: &'a Value, path: &[PathStep]) -> Option<&'a Value> {
    let mut cur = v;
    for step in path {
        cur = match step {
            PathStep::Key(k) => cur.get(k.as_str())?,
            PathStep::Index(i) => cur.get(*i)?,
        };
    }
    Some(cur)
}

/// Mutates bytes the way a broken peer or a bad frame would.
fn mutate_bytes(rng: &mut ChaCha20Rng, b: &mut Vec<u8>) {
    if b.is_empty() {
        b.push(rng.next_u32() as u8);
        return;
    }
    match below(rng, 7) {
        0 | 1 => {
            let i = below(rng, b.len());
            b[i] ^= 1 << below(rng, 8);
        }
        2 => {
            let cut = below(rng, b.len());
            b.truncate(cut);
        }
        3 => {
            let i = below(rng, b.len());
            b[i] = *pick(rng, &[0x00, 0xff, 0x7f, 0x80]);
        }
        4 => {
            let extra = 1 + below(rng, 32);
            for _ in 0..extra {
                b.push(rng.next_u32() as u8);
            }
        }
        5 => {
            // Splice: repeat a chunk (a frame duplicated or replayed).
            let start = below(rng, b.len());
            let end = (start + 1 + below(rng, 64)).min(b.len());
            let chunk = b[start..end].to_vec();
            let at = below(rng, b.len() + 1);
            b.splice(at..at, chunk);
        }
        _ => {
            let i = below(rng, b.len());
            b.remove(i);
        }
    }
}

/// Mutates a JSON text inside a hex string (a classic message, a clock), keeping it JSON when
/// it was.
fn mutate_json_text(rng: &mut ChaCha20Rng, bytes: &[u8]) -> Option<Vec<u8>> {
    let mut v: Value = serde_json::from_slice(bytes).ok()?;
    if !v.is_object() && !v.is_array() {
        return None;
    }
    mutate_value(rng, &mut v);
    serde_json::to_vec(&v).ok()
}

fn mutate_string(rng: &mut ChaCha20Rng, s: &str) -> String {
    if is_hex(s) {
        let mut b = hex::decode(s).unwrap_or_default();
        if below(rng, 3) == 0 {
            if let Some(m) = mutate_json_text(rng, &b) {
                return hex::encode(m);
            }
        }
        mutate_bytes(rng, &mut b);
        return hex::encode(b);
    }
    let chars: Vec<char> = s.chars().collect();
    match below(rng, 6) {
        0 => String::new(),
        1 if !chars.is_empty() => chars[..below(rng, chars.len())].iter().collect(),
        2 => format!(
            "{s}{}",
            pick(rng, &["\u{0}", "é", "中", "😀", "\u{2028}", "\"", "\\"])
        ),
        3 if !chars.is_empty() => {
            let mut c = chars.clone();
            let i = below(rng, c.len());
            c[i] = *pick(rng, &['A', '0', '/', '+', '-', '_', '=', '.', '@', '%', '&']);
            c.into_iter().collect()
        }
        4 => s.to_uppercase(),
        _ => {
            let mut c = chars.clone();
            if c.len() > 1 {
                let i = below(rng, c.len() - 1);
                c.swap(i, i + 1);
            }
            c.into_iter().collect()
        }
    }
}

fn mutate_number(rng: &mut ChaCha20Rng, n: &serde_json::Number) -> Value {
    if let Some(i) = n.as_i64() {
        if below(rng, 2) == 0 {
            return json!(i + *pick(rng, &[-1i64, 1, 2, -2]));
        }
    }
    let x = *pick(rng, NUMBERS);
    if x.fract() == 0.0 && x.abs() < 9.0e15 && !(x == 0.0 && x.is_sign_negative()) {
        json!(x as i64)
    } else {
        json!(x)
    }
}

/// One structure-aware mutation somewhere in `v`.
pub fn mutate_value(rng: &mut ChaCha20Rng, v: &mut Value) {
    let mut all = Vec::new();
    paths(v, &mut Vec::new(), &mut all);
    let path = pick(rng, &all).clone();
    let Some(node) = at_mut(v, &path) else { return };
    let replacement = match node {
        Value::Null => Some(pick(rng, &[json!(0), json!(""), json!({}), json!([]), json!(false)]).clone()),
        Value::Bool(b) => Some(Value::Bool(!*b)),
        Value::Number(n) => Some(mutate_number(rng, n)),
        Value::String(s) => Some(Value::String(mutate_string(rng, s))),
        Value::Array(a) => {
            match below(rng, 4) {
                0 if !a.is_empty() => {
                    let i = below(rng, a.len());
                    a.remove(i);
                }
                1 if !a.is_empty() => {
                    let i = below(rng, a.len());
                    let x = a[i].clone();
                    a.insert(i, x);
                }
                2 if a.len() > 1 => {
                    let i = below(rng, a.len() - 1);
                    a.swap(i, i + 1);
                }
                _ => a.clear(),
            }
            None
        }
        Value::Object(o) => {
            let keys: Vec<String> = o.keys().cloned().collect();
            match below(rng, 3) {
                0 if !keys.is_empty() => {
                    let k = pick(rng, &keys).clone();
                    o.shift_remove(&k);
                }
                1 => {
                    o.insert("unexpected".into(), json!(1));
                }
                _ if !keys.is_empty() => {
                    let k = pick(rng, &keys).clone();
                    o.insert(k, Value::Null);
                }
                _ => {}
            }
            None
        }
    };
    if let Some(r) = replacement {
        *node = r;
    }
}

// ---- shrinking --------------------------------------------------------------------------------

/// Candidate simplifications of `mutant` toward `original`: each differing leaf put back, each
/// differing string or array cut.
fn candidates(original: &Value, mutant: &Value) -> Vec<Value> {
    let mut out = Vec::new();
    let mut all = Vec::new();
    paths(mutant, &mut Vec::new(), &mut all);
    for path in all.iter().rev() {
        let (Some(m), o) = (at(mutant, path), at(original, path)) else {
            continue;
        };
        if let Some(o) = o {
            if o != m && !path.is_empty() {
                let mut c = mutant.clone();
                if let Some(slot) = at_mut(&mut c, path) {
                    *slot = o.clone();
                    out.push(c);
                }
            }
        }
        match m {
            Value::String(s) if is_hex(s) && s.len() > 2 => {
                for cut in [s.len() / 2, s.len() - 2] {
                    let cut = cut - cut % 2;
                    let mut c = mutant.clone();
                    if let Some(slot) = at_mut(&mut c, path) {
                        *slot = Value::String(s[..cut].to_string());
                        out.push(c);
                    }
                }
            }
            Value::Array(a) if !a.is_empty() => {
                for i in (0..a.len()).rev() {
                    let mut c = mutant.clone();
                    if let Some(Value::Array(slot)) = at_mut(&mut c, path) {
                        slot.remove(i);
                        out.push(c);
                    }
                }
            }
            _ => {}
        }
    }
    out
}

fn size(v: &Value) -> usize {
    serde_json::to_string(v).map_or(0, |s| s.len())
}

/// The smallest variant of `mutant` (greedy, bounded) on which the two still disagree the same
/// way.
fn shrink(
    op: &str,
    original: &Value,
    mutant: Value,
    want: (&Outcome, &Outcome),
    adapter: &mut dyn Adapter,
    reference: &mut dyn Adapter,
) -> (Value, Outcome, Outcome) {
    let mut best = mutant;
    let mut outcomes = (want.0.clone(), want.1.clone());
    let mut budget = SHRINK_BUDGET;
    'outer: loop {
        for c in candidates(original, &best) {
            if budget == 0 {
                break 'outer;
            }
            if size(&c) > size(&best) && c != *original {
                continue;
            }
            budget -= 1;
            let r = Outcome::of(reference.call(op, &c));
            let a = Outcome::of(adapter.call(op, &c));
            if r.label() == want.0.label() && a.label() == want.1.label() && judge(&r, &a) == Verdict::Differ
            {
                best = c;
                outcomes = (r, a);
                continue 'outer;
            }
        }
        break;
    }
    (best, outcomes.0, outcomes.1)
}

// ---- the run ----------------------------------------------------------------------------------

/// Saves one finding as a vector file of one case; returns its path.
fn save(
    out: &Path,
    suite: &str,
    n: usize,
    op: &str,
    args: Value,
    (reference, adapter): (&Outcome, &Outcome),
    origin: &Case,
) -> anyhow::Result<PathBuf> {
    std::fs::create_dir_all(out)?;
    let mut notes = std::collections::BTreeMap::new();
    notes.insert(
        "fuzz".to_string(),
        "found by ssb-harness fuzz: the implementation under test and the reference disagree; expect is the reference's answer".to_string(),
    );
    let file = VectorFile {
        suite: suite.to_string(),
        version: 1,
        description: format!(
            "A differential-fuzzing finding: a mutant of {} on which the adapter answered {} and the reference {}",
            origin.id,
            adapter.label(),
            reference.label()
        ),
        notes,
        cases: vec![Case {
            id: format!("{suite}/f{n:03}"),
            comment: format!("mutant of {} ({})", origin.id, origin.comment),
            flags: vec!["fuzz".into()],
            input: Input {
                op: op.to_string(),
                args,
            },
            expect: reference.to_json(),
        }],
    };
    file.check().map_err(|e| anyhow::anyhow!("finding file: {e}"))?;
    let path = out.join(format!("{suite}-f{n:03}.json"));
    std::fs::write(&path, file.to_json())?;
    Ok(path)
}

/// Refusal kinds and the vector flags that name the same behaviour, where the two differ.
const KIND_FLAGS: &[(&str, &str)] = &[
    ("body_too_large", "body_limit"),
    ("invalid_string", "invalid_utf8"),
];

/// Whether the deviations file covers a disagreement: by the case the mutant came from (its
/// id or flags), or by the behaviour itself (the refusal kind either side gave, read as the
/// flag of the vectors that show it).
fn documented(deviations: &Deviations, suite: &str, origin: &Case, r: &Outcome, a: &Outcome) -> bool {
    let mut flags = origin.flags.clone();
    for o in [r, a] {
        let label = o.label();
        if let Some((_, flag)) = KIND_FLAGS.iter().find(|(k, _)| *k == label) {
            flags.push(flag.to_string());
        }
        flags.push(label);
    }
    deviations.lookup(suite, &origin.id, &flags).is_some()
}

/// Fuzzes `adapter` against `reference` on the inputs of `file` (the suite's vectors).
pub fn run(
    cfg: &Config,
    file: &VectorFile,
    adapter: &mut dyn Adapter,
    reference: &mut dyn Adapter,
    deviations: &Deviations,
) -> anyhow::Result<Summary> {
    let mut rng = ChaCha20Rng::seed_from_u64(cfg.seed);
    let mut summary = Summary::default();
    let mut seen: BTreeSet<(String, String, String)> = BTreeSet::new();
    let start = Instant::now();
    if file.cases.is_empty() {
        return Ok(summary);
    }
    while summary.mutants < cfg.max_mutants && start.elapsed() < cfg.time {
        let origin = pick(&mut rng, &file.cases).clone();
        let op = origin.input.op.clone();
        let mut args = origin.input.args.clone();
        for _ in 0..1 + below(&mut rng, 3) {
            mutate_value(&mut rng, &mut args);
        }
        if args == origin.input.args {
            continue;
        }
        summary.mutants += 1;
        let r = Outcome::of(reference.call(&op, &args));
        let a = Outcome::of(adapter.call(&op, &args));
        match judge(&r, &a) {
            Verdict::Same => summary.agreements += 1,
            Verdict::NotComparable => summary.malformed += 1,
            Verdict::KindOnly if !cfg.strict_kinds => summary.kind_differences += 1,
            Verdict::KindOnly | Verdict::Differ => {
                if documented(deviations, &file.suite, &origin, &r, &a) {
                    summary.documented += 1;
                    continue;
                }
                let key = (op.clone(), r.label(), a.label());
                if seen.contains(&key) || summary.findings.len() >= MAX_FINDINGS {
                    continue;
                }
                let (small, r2, a2) = shrink(&op, &origin.input.args, args, (&r, &a), adapter, reference);
                seen.insert(key);
                let n = summary.findings.len() + 1;
                let path = save(&cfg.out, &file.suite, n, &op, small, (&r2, &a2), &origin)?;
                tracing::warn!(path = %path.display(), op, reference = %r2.label(), adapter = %a2.label(), "disagreement saved");
                summary.findings.push(Finding {
                    path,
                    op,
                    reference: r2.to_json(),
                    adapter: a2.to_json(),
                });
            }
        }
    }
    Ok(summary)
}

/// Reads a duration such as `60s`, `2m`, `500ms` or `90` (seconds).
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    let (num, unit) = match s.find(|c: char| !c.is_ascii_digit()) {
        Some(i) => (&s[..i], &s[i..]),
        None => (s, "s"),
    };
    let n: u64 = num
        .parse()
        .map_err(|_| format!("{s:?} is not a duration (60s, 2m, 500ms)"))?;
    match unit {
        "ms" => Ok(Duration::from_millis(n)),
        "s" => Ok(Duration::from_secs(n)),
        "m" => Ok(Duration::from_secs(n * 60)),
        _ => Err(format!("{s:?}: unit must be ms, s or m")),
    }
}
