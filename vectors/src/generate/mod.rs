//! The deterministic vector generator: every case's input is drawn from a ChaCha20 RNG seeded
//! with `--seed` (default [`DEFAULT_SEED`]) and every `expect` is what the reference
//! implementation ([`crate::reference`]) answers. The builder also checks that each case fails
//! (or succeeds) the way its author intended, so a generator bug cannot slip into a file.

mod box1;
mod box2;
mod boxstream;
mod ebt;
mod ebt_session;
mod feed_bendybutt;
mod feed_legacy;
mod groups;
mod history;
mod muxrpc;
mod muxrpc_endpoint;
mod shs;

pub use feed_legacy::author as feed_legacy_author;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::{json, Value};

use crate::file::{Case, Input, VectorFile};
use crate::reference;

/// The seed of the committed vector files.
pub const DEFAULT_SEED: u64 = 1;

/// A suite's generator: the seed in, the vector file out.
pub type Generator = fn(u64) -> VectorFile;

/// Every suite's file name and generator.
pub const SUITES: &[(&str, Generator)] = &[
    ("shs", shs::generate),
    ("boxstream", boxstream::generate),
    ("feed-legacy", feed_legacy::generate),
    ("feed-bendybutt", feed_bendybutt::generate),
    ("muxrpc", muxrpc::generate),
    ("ebt", ebt::generate),
    ("history", history::generate),
    ("box1", box1::generate),
    ("box2", box2::generate),
    ("groups", groups::generate),
];

/// All vector files for `seed`, in a fixed order.
pub fn generate_all(seed: u64) -> Vec<(String, VectorFile)> {
    SUITES
        .iter()
        .map(|(name, f)| (format!("{name}.json"), f(seed)))
        .collect()
}

/// Writes every vector file into `dir`; returns the paths written.
pub fn write_all(dir: &Path, seed: u64) -> std::io::Result<Vec<PathBuf>> {
    std::fs::create_dir_all(dir)?;
    let mut written = Vec::new();
    for (name, file) in generate_all(seed) {
        let path = dir.join(name);
        std::fs::write(&path, file.to_json())?;
        written.push(path);
    }
    Ok(written)
}

/// What the author of a case means it to show.
enum Intent {
    Accept,
    Reject(&'static str),
}

/// Collects the cases of one suite, numbering them and computing their `expect`.
struct Builder {
    suite: &'static str,
    description: &'static str,
    notes: &'static [(&'static str, &'static str)],
    cases: Vec<Case>,
}

impl Builder {
    fn new(
        suite: &'static str,
        description: &'static str,
        notes: &'static [(&'static str, &'static str)],
    ) -> Self {
        Builder {
            suite,
            description,
            notes,
            cases: Vec::new(),
        }
    }

    fn add(&mut self, comment: &str, flags: &[&str], op: &str, args: Value, intent: Intent) {
        let id = format!("{}/{:04}", self.suite, self.cases.len() + 1);
        let expect = match (reference::dispatch(op, &args), intent) {
            (Ok(v), Intent::Accept) => v,
            (Err(e), Intent::Reject(kind)) if e.kind == kind => json!({ "error": kind }),
            (got, Intent::Accept) => panic!("generator bug: {id} ({comment}) meant to succeed, got {got:?}"),
            (got, Intent::Reject(kind)) => {
                panic!("generator bug: {id} ({comment}) meant to fail with {kind}, got {got:?}")
            }
        };
        self.cases.push(Case {
            id,
            comment: comment.to_string(),
            flags: flags.iter().map(|f| f.to_string()).collect(),
            input: Input {
                op: op.to_string(),
                args,
            },
            expect,
        });
    }

    fn finish(self) -> VectorFile {
        let notes: BTreeMap<String, String> = self
            .notes
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let file = VectorFile {
            suite: self.suite.to_string(),
            version: 1,
            description: self.description.to_string(),
            notes,
            cases: self.cases,
        };
        if let Err(problem) = file.check() {
            panic!("generator bug in suite {}: {problem}", file.suite);
        }
        file
    }
}

fn h(bytes: &[u8]) -> Value {
    Value::String(hex::encode(bytes))
}

/// `len` bytes drawn from the generator's RNG (plaintexts, keys and nonces of the vectors).
pub(crate) fn random_bytes(rng: &mut rand_chacha::ChaCha20Rng, len: usize) -> Vec<u8> {
    let mut v = vec![0u8; len];
    rand_core::RngCore::fill_bytes(rng, &mut v);
    v
}

/// The flag naming a recipient count of a box format allowing at most `max`.
pub(crate) fn count_flag(n: usize, max: usize) -> &'static str {
    match n {
        1 => "one_recipient",
        _ if n == max => "max_recipients",
        _ => "several_recipients",
    }
}
