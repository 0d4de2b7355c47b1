//! Loader and checker for `ssb-validation-dataset` (126 classic messages, each against the state
//! of the feed before it, with an optional HMAC key): accept/reject must agree, the error's
//! reason must be the dataset's, and an accepted message must have the dataset's id. The file is
//! read with our legacy parser so that key order and number formats survive. [`read_cases`] and
//! [`judge_case`] also serve the older revision of the dataset that go-ssb carries.

use std::path::Path;

use ssb_impl::feed::{validate_next, FeedState};
use ssb_impl::legacy::message::{parse_hmac_key, MsgId};
use ssb_impl::legacy::{self, Mode, Value};

use super::UpstreamError;

/// One case's verdict.
#[derive(Debug, Clone)]
pub struct DatasetCase {
    pub index: usize,
    pub valid: bool,
    pub expected_error: Option<String>,
    /// Our id, or our error's kind.
    pub ours: Result<String, String>,
    /// `None` when we agree with the dataset (accept/reject, the reason, the id).
    pub problem: Option<String>,
    /// `state.timestamp`, if the case has one (no rule reads it).
    pub state_timestamp: Option<f64>,
}

/// Reads a dataset file: a JSON array of cases, parsed as `JSON.parse` would.
pub fn read_cases(path: &Path) -> Result<Vec<Value>, UpstreamError> {
    let bytes = std::fs::read(path).map_err(|source| UpstreamError::Missing {
        path: path.to_path_buf(),
        source,
    })?;
    let bad = |problem: String| UpstreamError::Record {
        path: path.to_path_buf(),
        record: "0".into(),
        problem,
    };
    match legacy::parse(&bytes, Mode::JsCompat).map_err(|e| bad(format!("not JSON: {e}")))? {
        Value::Array(cases) => Ok(cases),
        _ => Err(bad("not an array".into())),
    }
}

/// Judges case `i` (`{state, hmacKey, message, valid, error, id}`) of the file at `path`.
pub fn judge_case(path: &Path, i: usize, case: &Value) -> Result<DatasetCase, UpstreamError> {
    let bad = |problem: String| UpstreamError::Record {
        path: path.to_path_buf(),
        record: i.to_string(),
        problem,
    };
    let o = case
        .as_object()
        .ok_or_else(|| bad("case is not an object".into()))?;
    let field = |k: &str| o.get(k).ok_or_else(|| bad(format!("missing field {k}")));
    let valid = matches!(field("valid")?, Value::Bool(true));
    let expected_error = field("error")?.as_str().map(|s| s.to_string_lossy());
    let (state, state_timestamp) = match field("state")? {
        Value::Null => (None, None),
        Value::Object(s) => {
            let id = s
                .get("id")
                .and_then(Value::as_str)
                .and_then(|x| MsgId::parse(&x.to_string_lossy()));
            let timestamp = s.get("timestamp").and_then(Value::as_f64);
            match (id, s.get("sequence").and_then(Value::as_f64)) {
                (Some(id), Some(sequence)) => (
                    Some(FeedState {
                        id,
                        sequence,
                        timestamp,
                    }),
                    timestamp,
                ),
                _ => return Err(bad("state lacks id or sequence".into())),
            }
        }
        _ => return Err(bad("state is neither null nor an object".into())),
    };
    let message = field("message")?;
    let ours = parse_hmac_key(field("hmacKey")?)
        .and_then(|key| validate_next(state.as_ref(), message, key.as_ref()));
    let want_id = o.get("id").and_then(Value::as_str).map(|s| s.to_string_lossy());
    let problem = match (&ours, valid) {
        (Ok((c, _)), true) if Some(c.id.to_string()) == want_id => None,
        (Ok((c, _)), true) => Some(format!("id {} != {:?}", c.id, want_id)),
        (Ok(_), false) => Some(format!("accepted; dataset says {expected_error:?}")),
        (Err(e), true) => Some(format!("refused ({e:?}); dataset says valid")),
        (Err(e), false) if Some(e.dataset_reason()) == expected_error.as_deref() => None,
        (Err(e), false) => Some(format!(
            "refused as {e:?} ({}), dataset says {expected_error:?}",
            e.dataset_reason()
        )),
    };
    Ok(DatasetCase {
        index: i,
        valid,
        expected_error,
        ours: ours
            .map(|(c, _)| c.id.to_string())
            .map_err(|e| e.kind().to_string()),
        problem,
        state_timestamp,
    })
}

/// Checks every case of `<upstream>/ssb-validation-dataset/data.json`.
pub fn check_validation_dataset(upstream: &Path) -> Result<Vec<DatasetCase>, UpstreamError> {
    let path = upstream.join("ssb-validation-dataset/data.json");
    read_cases(&path)?
        .iter()
        .enumerate()
        .map(|(i, case)| judge_case(&path, i, case))
        .collect()
}
