//! `ssb-ref-adapter`: the reference implementation behind the adapter protocol
//! (`conformance/ADAPTER.md`): one JSON request per line on stdin, one response per line out.

use std::io::{BufRead, Write};

use serde_json::{json, Value};
use ssb_vectors::reference;

fn answer(line: &str) -> Value {
    let req: Value = match serde_json::from_str(line) {
        Ok(v) => v,
        Err(e) => return json!({"id": null, "error": {"kind": "invalid_request", "message": e.to_string()}}),
    };
    let id = req.get("id").cloned().unwrap_or(Value::Null);
    let Some(op) = req.get("op").and_then(Value::as_str) else {
        return json!({"id": id, "error": {"kind": "invalid_request", "message": "op missing"}});
    };
    let args = req.get("args").cloned().unwrap_or_else(|| json!({}));
    match reference::dispatch(op, &args) {
        Ok(ok) => json!({"id": id, "ok": ok}),
        Err(e) => json!({"id": id, "error": {"kind": e.kind, "message": e.message}}),
    }
}

fn main() {
    let stdin = std::io::stdin();
    let mut out = std::io::stdout().lock();
    for line in stdin.lock().lines() {
        let Ok(line) = line else { break };
        if line.trim().is_empty() {
            continue;
        }
        let mut text = answer(&line).to_string();
        text.push('\n');
        if out.write_all(text.as_bytes()).and_then(|_| out.flush()).is_err() {
            break;
        }
    }
}
