//! Loader and checker for `ssb-validation-dataset` (126 classic messages, each against the state
//! of the feed before it, with an optional HMAC key): accept/reject must agree, the error's
//! reason must be the dataset's, and an accepted message must have the dataset's id. The file is
//! read with our legacy parser so that key order and number formats survive.

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
    pub ours: Result<String, String>,
    /// `None` when we agree with the dataset.
    pub problem: Option<String>,
}

fn field<'a>(o: &'a legacy::Object, k: &str, path: &Path, i: usize) -> Result<&'a Value, UpstreamError> {
    o.get(k).ok_or_else(|| UpstreamError::Record {
        path: path.to_path_buf(),
        record: i.to_string(),
        problem: format!("missing field {k}"),
    })
}

/// Checks every case of `<upstream>/ssb-validation-dataset/data.json`.
pub fn check_validation_dataset(upstream: &Path) -> Result<Vec<DatasetCase>, UpstreamError> {
    let path = upstream.join("ssb-validation-dataset/data.json");
    let bytes = std::fs::read(&path).map_err(|source| UpstreamError::Missing {
        path: path.clone(),
        source,
    })?;
    let bad = |i: usize, problem: String| UpstreamError::Record {
        path: path.clone(),
        record: i.to_string(),
        problem,
    };
    let doc = legacy::parse(&bytes, Mode::JsCompat).map_err(|e| bad(0, format!("not JSON: {e}")))?;
    let Value::Array(cases) = doc else {
        return Err(bad(0, "not an array".into()));
    };
    let mut out = Vec::new();
    for (i, case) in cases.iter().enumerate() {
        let o = case
            .as_object()
            .ok_or_else(|| bad(i, "case is not an object".into()))?;
        let valid = matches!(field(o, "valid", &path, i)?, Value::Bool(true));
        let expected_error = field(o, "error", &path, i)?.as_str().map(|s| s.to_string_lossy());
        let state = match field(o, "state", &path, i)? {
            Value::Null => None,
            Value::Object(s) => {
                let id = s
                    .get("id")
                    .and_then(Value::as_str)
                    .and_then(|x| MsgId::parse(&x.to_string_lossy()));
                let seq = s.get("sequence").and_then(Value::as_f64);
                let ts = s.get("timestamp").and_then(Value::as_f64);
                match (id, seq) {
                    (Some(id), Some(sequence)) => Some(FeedState {
                        id,
                        sequence,
                        timestamp: ts,
                    }),
                    _ => return Err(bad(i, "state lacks id or sequence".into())),
                }
            }
            _ => return Err(bad(i, "state is neither null nor an object".into())),
        };
        let ours = parse_hmac_key(field(o, "hmacKey", &path, i)?).and_then(|key| {
            validate_next(
                state.as_ref(),
                field(o, "message", &path, i).unwrap_or(&Value::Null),
                key.as_ref(),
            )
        });
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
        out.push(DatasetCase {
            index: i,
            valid,
            expected_error,
            ours: ours
                .map(|(c, _)| c.id.to_string())
                .map_err(|e| e.kind().to_string()),
            problem,
        });
    }
    Ok(out)
}
