//! Reading ADAPTER.md arguments (hex strings, booleans) and the error answer of an op.

use serde_json::Value;

/// An op's error answer: the kind the harness compares and a message for humans.
pub struct OpError {
    pub kind: String,
    pub message: String,
}

impl OpError {
    pub fn new(kind: &str, message: impl Into<String>) -> Self {
        OpError {
            kind: kind.to_string(),
            message: message.into(),
        }
    }
    pub fn unsupported(reason: &str) -> Self {
        OpError::new("unsupported", reason)
    }
    pub fn invalid(message: impl Into<String>) -> Self {
        OpError::new("invalid_args", message)
    }
}

/// A required hex argument, decoded.
pub fn hex_arg(a: &Value, key: &str) -> Result<Vec<u8>, OpError> {
    let s = a
        .get(key)
        .and_then(Value::as_str)
        .ok_or_else(|| OpError::invalid(format!("`{key}` missing or not a string")))?;
    hex::decode(s).map_err(|e| OpError::invalid(format!("`{key}` is not hex: {e}")))
}

/// A required hex argument of exactly `n` bytes.
pub fn hex_n(a: &Value, key: &str, n: usize) -> Result<Vec<u8>, OpError> {
    let v = hex_arg(a, key)?;
    if v.len() != n {
        return Err(OpError::invalid(format!("`{key}` is {} bytes, not {n}", v.len())));
    }
    Ok(v)
}

pub fn bool_arg(a: &Value, key: &str) -> Result<bool, OpError> {
    a.get(key)
        .and_then(Value::as_bool)
        .ok_or_else(|| OpError::invalid(format!("`{key}` missing or not a boolean")))
}
