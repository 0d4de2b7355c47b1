//! ssb-harness conformance adapter for kuska-ssb 0.4: reads one ADAPTER.md request per line on
//! standard input, answers one line on standard output, and calls only kuska-ssb (and the
//! kuska-handshake and kuska-sodiumoxide crates it re-exports) for the protocol work.

mod args;
mod boxstream;
mod feed;
mod muxrpc;
mod private_box;

use args::OpError;
use serde_json::{json, Value};
use std::io::{BufRead, Write};
use std::panic::{catch_unwind, AssertUnwindSafe};

/// What the adapter tells the harness about itself, including why some ops cannot be run.
fn capabilities() -> Value {
    json!({
        "name": "kuska",
        "version": "kuska-ssb@0.4.0 kuska-handshake@0.2.0 kuska-sodiumoxide@0.2.5-0",
        "suites": ["shs", "boxstream", "feed-legacy", "muxrpc", "box1"],
        "unsupported": {
            "shs.client": args::SHS_REASON,
            "shs.server": args::SHS_REASON,
            "feed.validate (with state)": feed::STATE_REASON,
            "feed.validate (with hmac_key)": feed::HMAC_REASON,
            "muxrpc.encode (goodbye)": muxrpc::GOODBYE_REASON,
            "muxrpc.encode (other end packets)": muxrpc::END_REASON,
            "muxrpc.decode": muxrpc::DECODE_REASON,
            "muxrpc.endpoint": muxrpc::ENDPOINT_REASON,
            "box1.box": private_box::BOX_REASON,
            "feed-bendybutt, ebt, history, box2, groups": "kuska-ssb 0.4 implements none of these (no Bendy Butt, no EBT, no envelope/box2 or private groups); createHistoryStream exists only as a client call over a live connection",
        }
    })
}

fn dispatch(op: &str, a: &Value) -> Result<Value, OpError> {
    match op {
        "capabilities" => Ok(capabilities()),
        "shs.client" | "shs.server" => Err(OpError::unsupported(args::SHS_REASON)),
        "boxstream.encrypt" => boxstream::encrypt(a),
        "boxstream.decrypt" => boxstream::decrypt(a),
        "legacy.encode" => feed::encode(a),
        "feed.validate" => feed::validate(a),
        "muxrpc.encode" => muxrpc::encode(a),
        "muxrpc.decode" => Err(OpError::unsupported(muxrpc::DECODE_REASON)),
        "muxrpc.endpoint" => Err(OpError::unsupported(muxrpc::ENDPOINT_REASON)),
        "box1.box" => Err(OpError::unsupported(private_box::BOX_REASON)),
        "box1.unbox" => private_box::unbox(a),
        _ => Err(OpError::unsupported(
            "kuska-ssb 0.4 has no counterpart of this op",
        )),
    }
}

/// Runs one request; a panic inside kuska-ssb is caught and reported as the error kind `panic`,
/// so that the harness records it against the case (and the finding can quote it).
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
    let out = catch_unwind(AssertUnwindSafe(|| dispatch(op, &a)));
    match out {
        Ok(Ok(ok)) => json!({"id": id, "ok": ok}),
        Ok(Err(e)) => json!({"id": id, "error": {"kind": e.kind, "message": e.message}}),
        Err(p) => {
            let what = p
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_else(|| "non-string panic payload".into());
            json!({"id": id, "error": {"kind": "panic", "message": format!("kuska-ssb panicked: {what}")}})
        }
    }
}

fn main() {
    kuska_ssb::handshake::sodiumoxide::init().expect("libsodium init");
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
