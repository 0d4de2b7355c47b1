//! The vector file format shared by every suite (after Wycheproof):
//! `{suite, version, description, notes: {FLAG: meaning}, cases: [{id, comment, flags, input, expect}]}`.
//! `input` is `{op, args}` as sent to an adapter; `expect` is the adapter's `ok` value or
//! `{"error": KIND}`. The JSON Schema is `vectors/schema/vector-file.schema.json`.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// One vector file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VectorFile {
    pub suite: String,
    pub version: u32,
    pub description: String,
    /// Every flag used by a case, with what it means.
    pub notes: BTreeMap<String, String>,
    pub cases: Vec<Case>,
}

/// One case.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Case {
    /// Stable id, `<suite>/<4 digits>`.
    pub id: String,
    pub comment: String,
    pub flags: Vec<String>,
    pub input: Input,
    pub expect: Value,
}

/// What the harness sends: an adapter op and its arguments.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Input {
    pub op: String,
    pub args: Value,
}

impl Case {
    /// The error kind this case expects, if it expects an error.
    pub fn expected_error(&self) -> Option<&str> {
        let obj = self.expect.as_object()?;
        if obj.len() == 1 {
            obj.get("error")?.as_str()
        } else {
            None
        }
    }
}

/// Why a vector file was refused.
#[derive(Debug, thiserror::Error)]
pub enum FileError {
    #[error("{path}: {source}")]
    Io { path: String, source: std::io::Error },
    #[error("{path}: not a vector file: {source}")]
    Json { path: String, source: serde_json::Error },
    #[error("{path}: {problem}")]
    Invalid { path: String, problem: String },
}

impl VectorFile {
    /// Reads and checks a vector file.
    pub fn load(path: &Path) -> Result<Self, FileError> {
        let p = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|source| FileError::Io {
            path: p.clone(),
            source,
        })?;
        Self::parse(&text, &p)
    }

    /// Parses and checks the text of a vector file; `origin` names it in errors.
    pub fn parse(text: &str, origin: &str) -> Result<Self, FileError> {
        let file: VectorFile = serde_json::from_str(text).map_err(|source| FileError::Json {
            path: origin.to_string(),
            source,
        })?;
        file.check().map_err(|problem| FileError::Invalid {
            path: origin.to_string(),
            problem,
        })?;
        Ok(file)
    }

    /// The rules the schema cannot say: ids unique and prefixed by the suite, every flag
    /// explained in `notes`, every note used.
    pub fn check(&self) -> Result<(), String> {
        let mut ids = BTreeSet::new();
        let mut used = BTreeSet::new();
        let prefix = format!("{}/", self.suite);
        for c in &self.cases {
            if !c.id.starts_with(&prefix) {
                return Err(format!("case id {} does not start with {prefix}", c.id));
            }
            if !ids.insert(c.id.as_str()) {
                return Err(format!("case id {} appears twice", c.id));
            }
            for f in &c.flags {
                if !self.notes.contains_key(f) {
                    return Err(format!(
                        "case {} uses flag {f}, which notes does not explain",
                        c.id
                    ));
                }
                used.insert(f.as_str());
            }
        }
        if let Some(unused) = self.notes.keys().find(|k| !used.contains(k.as_str())) {
            return Err(format!("note {unused} is used by no case"));
        }
        Ok(())
    }

    /// The canonical text of the file: pretty JSON, two-space indent, final newline.
    pub fn to_json(&self) -> String {
        let mut s = serde_json::to_string_pretty(self).expect("vector files serialize");
        s.push('\n');
        s
    }
}

/// The path of the upstream vectors (`SSB_UPSTREAM_VECTORS`), or `None` when unset: tests then
/// print that they were skipped. A relative path is taken from the current directory or, failing
/// that, from the workspace root (cargo runs tests inside each package's directory, while CI
/// and the README give the path from the root). A set variable naming no directory panics: a
/// test that was asked to use upstream vectors must not pass without them.
pub fn upstream_dir() -> Option<std::path::PathBuf> {
    let given = std::path::PathBuf::from(std::env::var_os("SSB_UPSTREAM_VECTORS")?);
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let found = if given.is_absolute() {
        Some(given.clone()).filter(|p| p.is_dir())
    } else {
        [given.clone(), workspace.join(&given)]
            .into_iter()
            .find(|p| p.is_dir())
    };
    match found {
        Some(p) => Some(p.canonicalize().unwrap_or(p)),
        None => panic!("SSB_UPSTREAM_VECTORS={} is not a directory", given.display()),
    }
}
