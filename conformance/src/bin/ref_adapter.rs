//! `ssb-ref-adapter`: the reference implementation behind the adapter protocol
//! (`conformance/ADAPTER.md`): one JSON request per line on stdin, one response per line out.
//!
//! `--fault RULE-ID` (or the environment variable `SSB_FAULT`) switches on that rule's fault
//! (`ssb_conformance::faults`): the adapter then breaks exactly that rule the way a careless
//! implementer would. `SSB_CHECK_ORDER=reverse` checks classic messages in another order
//! (`ssb_conformance::check_order`).

use std::io::{BufRead, Write};

use serde_json::{json, Value};
use ssb_conformance::{check_order, faults};
use ssb_vectors::reference::{self, OpError};

/// How this process answers ops.
enum Mode {
    Reference,
    Fault(&'static faults::Fault),
    Reversed,
}

impl Mode {
    fn dispatch(&self, op: &str, args: &Value) -> Result<Value, OpError> {
        match self {
            Mode::Reference => reference::dispatch(op, args),
            Mode::Fault(f) => faults::dispatch(f, op, args),
            Mode::Reversed => check_order::dispatch(op, args),
        }
    }
}

fn answer(mode: &Mode, line: &str) -> Value {
    let req: Value = match serde_json::from_str(line) {
        Ok(v) => v,
        Err(e) => return json!({"id": null, "error": {"kind": "invalid_request", "message": e.to_string()}}),
    };
    let id = req.get("id").cloned().unwrap_or(Value::Null);
    let Some(op) = req.get("op").and_then(Value::as_str) else {
        return json!({"id": id, "error": {"kind": "invalid_request", "message": "op missing"}});
    };
    let args = req.get("args").cloned().unwrap_or_else(|| json!({}));
    match mode.dispatch(op, &args) {
        Ok(ok) => json!({"id": id, "ok": ok}),
        Err(e) => json!({"id": id, "error": {"kind": e.kind, "message": e.message}}),
    }
}

/// The mode asked for by the command line and the environment.
fn mode() -> Result<Mode, String> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut fault = std::env::var("SSB_FAULT").ok().filter(|s| !s.is_empty());
    let mut i = 0;
    while i < args.len() {
        match args[i].as_str() {
            "--fault" => {
                fault = Some(args.get(i + 1).cloned().ok_or("--fault needs a rule id")?);
                i += 2;
            }
            other => {
                return Err(format!(
                    "unknown argument {other:?} (usage: ssb-ref-adapter [--fault RULE-ID])"
                ))
            }
        }
    }
    if let Some(rule) = fault {
        return faults::fault(&rule)
            .map(Mode::Fault)
            .ok_or_else(|| format!("no fault switch for rule {rule:?}"));
    }
    match std::env::var("SSB_CHECK_ORDER").ok().as_deref() {
        None | Some("") | Some("reference") => Ok(Mode::Reference),
        Some("reverse") => Ok(Mode::Reversed),
        Some(other) => Err(format!(
            "SSB_CHECK_ORDER={other:?}: expected reverse or reference"
        )),
    }
}

fn main() -> std::process::ExitCode {
    let mode = match mode() {
        Ok(m) => m,
        Err(e) => {
            eprintln!("ssb-ref-adapter: {e}");
            return std::process::ExitCode::from(2);
        }
    };
    let stdin = std::io::stdin();
    let mut out = std::io::stdout().lock();
    for line in stdin.lock().lines() {
        let Ok(line) = line else { break };
        if line.trim().is_empty() {
            continue;
        }
        let mut text = answer(&mode, &line).to_string();
        text.push('\n');
        if out.write_all(text.as_bytes()).and_then(|_| out.flush()).is_err() {
            break;
        }
    }
    std::process::ExitCode::SUCCESS
}
