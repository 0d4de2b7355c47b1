//! ssb-harness conformance adapter for the sunrise-choir SSB crates: reads one ADAPTER.md
//! request per line on standard input, answers one line on standard output, and calls only
//! those crates (ssb-handshake, ssb-boxstream, ssb-packetstream, ssb-validate,
//! ssb-verify-signatures, ssb-legacy-msg-data, private-box, and their ssb-crypto) for the
//! protocol work.

mod args;
mod boxstream;
mod feed;
mod given_rng;
mod muxrpc;
mod private_box;
mod shs;

use args::OpError;
use serde_json::{json, Value};
use std::io::{BufRead, Write};
use std::panic::{catch_unwind, AssertUnwindSafe};

const VERSIONS: &str = "ssb-handshake@0.5.1 ssb-boxstream@0.2.2 ssb-packetstream@0.2.1 ssb-validate@1.4.2 ssb-verify-signatures@1.1.1 ssb-legacy-msg-data@0.1.4 private-box@0.6.0 ssb-crypto@0.2.3 (dalek)";

/// Why the suites no sunrise-choir crate implements are not run.
const NO_CRATE: &str = "no sunrise-choir (or ssb-ngi-pointer) crate on crates.io implements Bendy Butt feed validation, EBT, createHistoryStream, envelope (box2) or private groups; ssb-bfe-rs 0.2.1 (which builds) only encodes and decodes BFE values, which no op of these suites takes alone, so it is not linked";

fn capabilities() -> Value {
    json!({
        "name": "sunrise",
        "version": VERSIONS,
        "suites": ["shs", "boxstream", "feed-legacy", "muxrpc", "box1"],
        "unsupported": {
            "feed.validate (with state)": feed::STATE_REASON,
            "muxrpc.endpoint": muxrpc::ENDPOINT_REASON,
            "box1.box": private_box::BOX_REASON,
            "feed-bendybutt, ebt, history, box2, groups": NO_CRATE,
        }
    })
}

fn dispatch(op: &str, a: &Value) -> Result<Value, OpError> {
    match op {
        "capabilities" => Ok(capabilities()),
        "shs.client" => shs::client(a),
        "shs.server" => shs::server(a),
        "boxstream.encrypt" => boxstream::encrypt(a),
        "boxstream.decrypt" => boxstream::decrypt(a),
        "legacy.encode" => feed::encode(a),
        "feed.validate" => feed::validate(a),
        "muxrpc.encode" => muxrpc::encode(a),
        "muxrpc.decode" => muxrpc::decode(a),
        "muxrpc.endpoint" => Err(OpError::unsupported(muxrpc::ENDPOINT_REASON)),
        "box1.box" => Err(OpError::unsupported(private_box::BOX_REASON)),
        "box1.unbox" => private_box::unbox(a),
        _ => Err(OpError::unsupported(NO_CRATE)),
    }
}

/// Runs one request; a panic inside the crates is caught and reported as the error kind
/// `panic`, so that the harness records it against the case.
fn answer(line: &str) -> Value {
    let req: Value = match serde_json::from_str(line) {
        Ok(v) => v,
        Err(e) => {
            return json!({"id": null, "error": {"kind": "invalid_args", "message": format!("request is not JSON: {e}")}})
        }
    };
    let id = req.get("id").cloned().unwrap_or(Value::Null);
    let op = req.get("op").and_then(Value::as_str).unwrap_or("");
    let a = req.get("args").cloned().unwrap_or_else(|| json!({}));
    match catch_unwind(AssertUnwindSafe(|| dispatch(op, &a))) {
        Ok(Ok(ok)) => json!({"id": id, "ok": ok}),
        Ok(Err(e)) => json!({"id": id, "error": {"kind": e.kind, "message": e.message}}),
        Err(p) => {
            let what = p
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_else(|| "non-string panic payload".into());
            json!({"id": id, "error": {"kind": "panic", "message": format!("panicked: {what}")}})
        }
    }
}

fn main() {
    let stdin = std::io::stdin();
    let mut stdout = std::io::stdout().lock();
    for line in stdin.lock().lines() {
        let Ok(line) = line else { break };
        if line.trim().is_empty() {
            continue;
        }
        let resp = answer(&line);
        if writeln!(stdout, "{resp}").and_then(|_| stdout.flush()).is_err() {
            break;
        }
    }
}
