//! Loader and checker for `legacy-value-testdata`: 2,084 texts the strict legacy data model must
//! refuse (syntax, lone surrogates, duplicate keys, numbers rounding to ±Infinity or −0) and
//! 3,316 it must accept with an exact signing encoding, UTF-16 length and latin-1 sha256.

use std::path::Path;

use ssb_impl::legacy::{self, Mode};

use super::UpstreamError;

/// The reject directories and what the case must be refused for.
pub const REJECT_DIRS: &[&str] = &["syntax", "surrogate", "duplicate", "number"];

/// One case's verdict.
#[derive(Debug, Clone)]
pub struct ValueCase {
    pub dir: &'static str,
    pub name: String,
    /// `None` when our result matches; else what differed.
    pub problem: Option<String>,
}

fn read(path: &Path) -> Result<Vec<u8>, UpstreamError> {
    std::fs::read(path).map_err(|source| UpstreamError::Missing {
        path: path.to_path_buf(),
        source,
    })
}

fn sorted_files(dir: &Path) -> Result<Vec<std::path::PathBuf>, UpstreamError> {
    let entries = std::fs::read_dir(dir).map_err(|source| UpstreamError::Missing {
        path: dir.to_path_buf(),
        source,
    })?;
    let mut files: Vec<_> = entries.filter_map(|e| e.ok()).map(|e| e.path()).collect();
    files.sort();
    Ok(files)
}

/// Checks every case under `<upstream>/legacy-value-testdata`.
pub fn check_legacy_values(upstream: &Path) -> Result<Vec<ValueCase>, UpstreamError> {
    let root = upstream.join("legacy-value-testdata");
    let mut out = Vec::new();
    for dir in REJECT_DIRS {
        for path in sorted_files(&root.join(dir))? {
            let input = read(&path)?;
            let problem = match legacy::parse(&input, Mode::Strict) {
                Ok(v) => Some(format!("accepted, should be refused: {v:?}")),
                Err(_) => None,
            };
            out.push(ValueCase {
                dir,
                name: file_name(&path),
                problem,
            });
        }
    }
    for path in sorted_files(&root.join("yay"))? {
        if path.extension().is_some() {
            continue; // the .json_signing, .length and .sha256 companions
        }
        let input = read(&path)?;
        let with = |ext: &str| path.with_file_name(format!("{}.{ext}", file_name(&path)));
        let want_signing = read(&with("json_signing"))?;
        let want_len = read(&with("length"))?;
        let want_hash = read(&with("sha256"))?;
        let problem = match legacy::parse(&input, Mode::Strict) {
            Err(e) => Some(format!("refused, should be accepted: {e}")),
            Ok(v) => {
                let units = legacy::to_signing_units(&v);
                let signing = String::from_utf16(&units).map(String::into_bytes);
                if signing.as_deref().ok() != Some(want_signing.as_slice()) {
                    Some(format!(
                        "signing encoding differs: got {:?}, want {:?}",
                        String::from_utf16_lossy(&units),
                        String::from_utf8_lossy(&want_signing)
                    ))
                } else if units.len().to_string().as_bytes() != want_len.as_slice() {
                    Some(format!(
                        "length {} != {}",
                        units.len(),
                        String::from_utf8_lossy(&want_len)
                    ))
                } else if legacy::latin1_sha256(&units).as_slice() != want_hash.as_slice() {
                    Some("sha256 differs".into())
                } else {
                    None
                }
            }
        };
        out.push(ValueCase {
            dir: "yay",
            name: file_name(&path),
            problem,
        });
    }
    Ok(out)
}

fn file_name(p: &Path) -> String {
    p.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}
