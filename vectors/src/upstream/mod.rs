//! Loaders for upstream vectors, read from the directory named by `SSB_UPSTREAM_VECTORS`.
//!
//! The upstream files are never copied into this repository: every loader takes the directory
//! returned by [`crate::file::upstream_dir`] and reads the file it needs at run time. A file
//! that is missing, is not JSON, or holds a value we cannot decode is an [`UpstreamError`]
//! naming the file and the record; no decoder panics on a malformed file.
//!
//! - [`shs_steps`]: `shs-test-secret-handshake/data.json`, the per-step secret-handshake
//!   records, checked with `ssb_impl::shs::steps` and `ssb_impl::crypto`.
//! - [`wycheproof`]: the ed25519, x25519 and HMAC-SHA-512 files of `wycheproof/`, checked with
//!   `ssb_impl::crypto`.
//! - [`envelope`], [`private_group`], [`private_box`]: `envelope-spec/`, `private-group-spec/`
//!   and `private-box-rs/` (with the ssb-legacy-msg private message), checked with
//!   `ssb_impl::private`.

pub mod envelope;
pub mod go_ssb_legacy;
pub mod legacy_msg;
pub mod legacy_value;
pub mod metafeed;
pub mod private_box;
pub mod private_group;
pub mod shs_steps;
pub mod validation_dataset;
pub mod wycheproof;

use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;

/// Why an upstream vector file could not be used.
#[derive(Debug, thiserror::Error)]
pub enum UpstreamError {
    /// The file is absent or unreadable.
    #[error("{}: cannot read upstream vector file: {source}", path.display())]
    Missing { path: PathBuf, source: std::io::Error },
    /// The file is not JSON of the expected shape.
    #[error("{}: not the expected JSON: {source}", path.display())]
    Json {
        path: PathBuf,
        source: serde_json::Error,
    },
    /// A field of one record is not valid hex.
    #[error("{}: record {record}: field {field}: bad hex: {source}", path.display())]
    Hex {
        path: PathBuf,
        record: String,
        field: String,
        source: hex::FromHexError,
    },
    /// A record has an unexpected shape (wrong length, type or name).
    #[error("{}: record {record}: {problem}", path.display())]
    Record {
        path: PathBuf,
        record: String,
        problem: String,
    },
}

/// Reads `dir/rel` as JSON into `T`.
pub(crate) fn read_json<T: DeserializeOwned>(dir: &Path, rel: &str) -> Result<(PathBuf, T), UpstreamError> {
    let path = dir.join(rel);
    let text = std::fs::read_to_string(&path).map_err(|source| UpstreamError::Missing {
        path: path.clone(),
        source,
    })?;
    let value = serde_json::from_str(&text).map_err(|source| UpstreamError::Json {
        path: path.clone(),
        source,
    })?;
    Ok((path, value))
}

/// The `.json` files of `dir/rel`, by name, in name order.
pub(crate) fn json_files(dir: &Path, rel: &str) -> Result<Vec<String>, UpstreamError> {
    let path = dir.join(rel);
    let mut names: Vec<String> = std::fs::read_dir(&path)
        .map_err(|source| UpstreamError::Missing {
            path: path.clone(),
            source,
        })?
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".json"))
        .collect();
    names.sort();
    Ok(names)
}

/// Decodes a hex field, naming the file, record and field on failure.
pub(crate) fn decode_hex(path: &Path, record: &str, field: &str, s: &str) -> Result<Vec<u8>, UpstreamError> {
    hex::decode(s).map_err(|source| UpstreamError::Hex {
        path: path.to_path_buf(),
        record: record.to_string(),
        field: field.to_string(),
        source,
    })
}
