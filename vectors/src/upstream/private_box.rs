//! Loader and checker for private-box (box1) ciphertexts made by the JS reference:
//! `private-box-rs/test/simple.json` (one ciphertext for two recipients, given as ed25519
//! keypairs in libsodium's 64-byte layout), opened by each recipient with
//! `ssb_impl::private::box1`; and, as a second source, the private message of the
//! `ssb-legacy-msg` test feed, which its author addressed to itself.

use std::path::Path;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use serde::Deserialize;
use ssb_impl::identity::Keypair;
use ssb_impl::private::box1::{self, Box1Error};
use ssb_impl::private::content::{self, BoxFormat};

use super::{read_json, UpstreamError};

/// The private-box-rs file, relative to the upstream directory.
pub const SIMPLE: &str = "private-box-rs/test/simple.json";
/// The ssb-legacy-msg private message and its author's secret file.
pub const LEGACY_PRIVATE: &str = "ssb-legacy-msg/test-data/alice/private-valid.json";
pub const LEGACY_SECRET: &str = "ssb-legacy-msg/test-data/alice/secret";

#[derive(Deserialize)]
struct Simple {
    cypher_text: String,
    msg: String,
    keys: Vec<SimpleKey>,
}

#[derive(Deserialize)]
struct SimpleKey {
    public: String,
    secret: String,
}

/// What each recipient of `simple.json` got.
#[derive(Debug)]
pub struct SimpleReport {
    pub ciphertext_len: usize,
    /// Per key: `Ok(())` when it opened to the expected text.
    pub recipients: Vec<Result<(), String>>,
    /// A key that is no recipient must not open it.
    pub stranger: Result<Vec<u8>, Box1Error>,
}

fn bad(path: &Path, problem: impl Into<String>) -> UpstreamError {
    UpstreamError::Record {
        path: path.to_path_buf(),
        record: "simple".into(),
        problem: problem.into(),
    }
}

/// Opens `simple.json`'s ciphertext with each of its keys.
pub fn check_simple(dir: &Path) -> Result<SimpleReport, UpstreamError> {
    let (path, s): (_, Simple) = read_json(dir, SIMPLE)?;
    let ct = STANDARD
        .decode(&s.cypher_text)
        .map_err(|e| bad(&path, format!("cypher_text: {e}")))?;
    let mut recipients = Vec::new();
    for (i, k) in s.keys.iter().enumerate() {
        let secret = STANDARD
            .decode(&k.secret)
            .map_err(|e| bad(&path, format!("key {i}: {e}")))?;
        let keys =
            Keypair::from_libsodium_secret(&secret).map_err(|e| bad(&path, format!("key {i}: {e}")))?;
        if STANDARD.encode(keys.public()) != k.public {
            return Err(bad(&path, format!("key {i}: public does not match secret")));
        }
        recipients.push(match box1::open(&ct, &keys) {
            Ok(p) if p == s.msg.as_bytes() => Ok(()),
            Ok(p) => Err(format!("key {i} opened to {:?}", String::from_utf8_lossy(&p))),
            Err(e) => Err(format!("key {i}: {e}")),
        });
    }
    let stranger = box1::open(&ct, &Keypair::from_seed([7; 32]));
    Ok(SimpleReport {
        ciphertext_len: ct.len(),
        recipients,
        stranger,
    })
}

/// Opens the ssb-legacy-msg private message with its author's key; the plaintext.
pub fn open_legacy_private(dir: &Path) -> Result<Result<Vec<u8>, Box1Error>, UpstreamError> {
    let (path, msg): (_, serde_json::Value) = read_json(dir, LEGACY_PRIVATE)?;
    let secret_path = dir.join(LEGACY_SECRET);
    let text = std::fs::read_to_string(&secret_path).map_err(|source| UpstreamError::Missing {
        path: secret_path.clone(),
        source,
    })?;
    let keys = Keypair::from_secret_file(&text).map_err(|e| UpstreamError::Record {
        path: secret_path,
        record: "secret".into(),
        problem: e.to_string(),
    })?;
    let record = |problem: String| UpstreamError::Record {
        path: path.clone(),
        record: "private-valid".into(),
        problem,
    };
    let c = msg["value"]["content"]
        .as_str()
        .ok_or_else(|| record("content is not a string".into()))?;
    let ct = content::decode(BoxFormat::Box1, c).map_err(|e| record(e.to_string()))?;
    Ok(box1::open(&ct, &keys))
}
