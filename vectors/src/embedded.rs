//! The committed vector files (`vectors/*.json`), compiled into every binary that links this
//! crate, so an installed `ssb-harness` checks an implementation from any directory without a
//! checkout. `ssb-harness check --vectors DIR` reads files from disk instead.

use crate::file::{FileError, VectorFile};

/// Each suite's vector file as committed, in the order of [`crate::generate::SUITES`].
pub const FILES: &[(&str, &str)] = &[
    ("shs", include_str!("../shs.json")),
    ("boxstream", include_str!("../boxstream.json")),
    ("feed-legacy", include_str!("../feed-legacy.json")),
    ("feed-bendybutt", include_str!("../feed-bendybutt.json")),
    ("muxrpc", include_str!("../muxrpc.json")),
    ("ebt", include_str!("../ebt.json")),
    ("history", include_str!("../history.json")),
    ("box1", include_str!("../box1.json")),
    ("box2", include_str!("../box2.json")),
    ("groups", include_str!("../groups.json")),
];

/// The embedded text of `suite`'s vector file.
pub fn text(suite: &str) -> Option<&'static str> {
    FILES.iter().find(|(s, _)| *s == suite).map(|(_, t)| *t)
}

/// The embedded vector file of `suite`, parsed and checked; `None` for an unknown suite.
pub fn load(suite: &str) -> Option<Result<VectorFile, FileError>> {
    text(suite).map(|t| VectorFile::parse(t, &format!("embedded {suite}.json")))
}
