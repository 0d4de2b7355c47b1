//! The muxrpc RPC layer on the reference (`muxrpc.endpoint`): one `ssb_impl::muxrpc::Endpoint`
//! driven step by step. Each step either hands it the peer's bytes or makes it act (call,
//! respond, send, end, goodbye); the result lists, per step, the events the endpoint reported
//! and the packets it wrote (decoded again from its output bytes), then the fault it gave up
//! with, if any, and how many received packets it ignored.
//!
//! Report forms (conformance/ADAPTER.md, suite muxrpc): a body is hex for a binary body, the
//! text for a string body and the JSON value for a JSON body. An error body written (the end
//! flag with a JSON object body) is `{name, message}` when a `respond` or `end` step gave the
//! error, and `{"error": true}` when the endpoint made it up while reading the peer's bytes (its
//! text is free, as an op error's `message` is).

use serde_json::{json, Map, Value};
use ssb_impl::muxrpc::{
    Body, BodyType, CallType, CodecError, Decoder, Endpoint, Event, Limits, Packet, RpcError, RpcEvent,
    StreamId,
};

use super::OpError;

fn internal(message: impl Into<String>) -> OpError {
    OpError::new("internal", message)
}

fn int_arg(v: &Value, name: &str) -> Result<u64, OpError> {
    v.get(name)
        .and_then(Value::as_u64)
        .ok_or_else(|| OpError::args(format!("{name} must be a non-negative integer")))
}

fn bool_arg(v: &Value, name: &str) -> Result<bool, OpError> {
    v.get(name)
        .and_then(Value::as_bool)
        .ok_or_else(|| OpError::args(format!("{name} must be a boolean")))
}

/// A request number as the steps give it: a positive int32.
fn req_arg(v: &Value) -> Result<u32, OpError> {
    v.get("req")
        .and_then(Value::as_u64)
        .filter(|&r| (1..=i32::MAX as u64).contains(&r))
        .map(|r| r as u32)
        .ok_or_else(|| OpError::args("req must be a request number from 1 to 2^31 - 1"))
}

fn limits_arg(args: &Value) -> Result<Limits, OpError> {
    let mut limits = Limits::default();
    match args.get("limits") {
        None | Some(Value::Null) => {}
        Some(l @ Value::Object(o)) => {
            if let Some(k) = o
                .keys()
                .find(|k| !matches!(k.as_str(), "max_streams" | "max_refused"))
            {
                return Err(OpError::args(format!("limits: unknown key {k}")));
            }
            if o.contains_key("max_streams") {
                limits.max_streams = usize::try_from(int_arg(l, "max_streams")?)
                    .map_err(|_| OpError::args("max_streams is too large"))?;
            }
            if o.contains_key("max_refused") {
                limits.max_refused = u32::try_from(int_arg(l, "max_refused")?)
                    .map_err(|_| OpError::args("max_refused is too large"))?;
            }
        }
        Some(_) => return Err(OpError::args("limits must be an object")),
    }
    Ok(limits)
}

fn error_arg(v: &Value) -> Result<RpcError, OpError> {
    let s = |k: &str| {
        v.get(k)
            .and_then(Value::as_str)
            .ok_or_else(|| OpError::args(format!("error.{k} must be a string")))
    };
    Ok(RpcError::new(s("name")?, s("message")?))
}

/// `{"packet": {req, stream, end, type, body}}` (body: hex for binary, else the text) or
/// `{"hex": "…"}`: the bytes the peer sends.
fn recv_bytes(v: &Value) -> Result<Vec<u8>, OpError> {
    match (v.get("hex"), v.get("packet")) {
        (Some(_), None) => super::bytes_arg(v, "hex"),
        (None, Some(p)) => {
            let body_type = p
                .get("type")
                .and_then(Value::as_str)
                .and_then(BodyType::from_name)
                .ok_or_else(|| OpError::args("packet type must be binary, string or json"))?;
            let request = p
                .get("req")
                .and_then(Value::as_i64)
                .and_then(|r| i32::try_from(r).ok())
                .ok_or_else(|| OpError::args("packet req must be an int32"))?;
            let body = match body_type {
                BodyType::Binary => super::bytes_arg(p, "body")?,
                _ => p
                    .get("body")
                    .and_then(Value::as_str)
                    .ok_or_else(|| OpError::args("packet body must be a string"))?
                    .as_bytes()
                    .to_vec(),
            };
            let mut out = Vec::new();
            Packet {
                stream: bool_arg(p, "stream")?,
                end: bool_arg(p, "end")?,
                body_type,
                request,
                body,
            }
            .encode(&mut out);
            Ok(out)
        }
        _ => Err(OpError::args("recv takes exactly one of hex and packet")),
    }
}

/// A body as the op reports it: hex, text, or the JSON value.
fn body_value(body_type: BodyType, bytes: &[u8]) -> Result<Value, OpError> {
    Ok(match body_type {
        BodyType::Binary => Value::String(hex::encode(bytes)),
        BodyType::String => Value::String(
            std::str::from_utf8(bytes)
                .map_err(|_| internal("a string body that is not UTF-8"))?
                .to_string(),
        ),
        BodyType::Json => serde_json::from_slice(bytes)
            .map_err(|e| internal(format!("a JSON body serde_json cannot read: {e}")))?,
    })
}

fn error_json(e: &RpcError) -> Value {
    json!({"name": e.name, "message": e.message})
}

fn event_json(ev: &RpcEvent) -> Result<Value, OpError> {
    Ok(match ev {
        RpcEvent::Call {
            id,
            name,
            call_type,
            args,
        } => json!({"call": {"req": id.request, "name": name, "type": call_type.name(), "args": args}}),
        RpcEvent::Response { id, result: Ok(b) } => json!({"response": {
            "req": id.request, "type": b.body_type.name(), "ok": body_value(b.body_type, &b.bytes)?
        }}),
        RpcEvent::Response { id, result: Err(e) } => {
            json!({"response": {"req": id.request, "error": error_json(e)}})
        }
        RpcEvent::Data { id, body } => json!({"data": {
            "req": id.request, "ours": id.ours, "type": body.body_type.name(),
            "body": body_value(body.body_type, &body.bytes)?
        }}),
        RpcEvent::End { id, error } => json!({"end": {
            "req": id.request, "ours": id.ours, "error": error.as_ref().map(error_json)
        }}),
        RpcEvent::Goodbye => json!({"goodbye": true}),
    })
}

/// Reads back what the endpoint wrote. After our goodbye a new decoder reads on, so that bytes
/// written after it still show (as packets after `"goodbye"`).
struct Output {
    decoder: Decoder,
}

impl Output {
    fn read(&mut self, bytes: &[u8], made_up_errors: bool) -> Result<Vec<Value>, OpError> {
        let mut decoded = Vec::new();
        let mut rest = bytes;
        loop {
            match self.decoder.feed(rest, &mut decoded) {
                Ok(()) => break,
                // Bytes after our own goodbye: read them with a fresh decoder.
                Err(CodecError::DataAfterGoodbye(n)) => {
                    rest = &rest[rest.len() - n..];
                    self.decoder = Decoder::new(usize::MAX);
                }
                Err(e) => {
                    return Err(internal(format!(
                        "the endpoint wrote bytes that do not decode: {e}"
                    )))
                }
            }
        }
        decoded
            .into_iter()
            .map(|e| match e {
                Event::Goodbye => Ok(Value::String("goodbye".into())),
                Event::Packet(p) => sent_packet(&p, made_up_errors),
            })
            .collect()
    }
}

fn sent_packet(p: &Packet, made_up_errors: bool) -> Result<Value, OpError> {
    let mut body = body_value(p.body_type, &p.body)?;
    if p.end && p.body_type == BodyType::Json {
        if let Value::Object(o) = &body {
            body = if made_up_errors {
                json!({"error": true})
            } else {
                let mut e = Map::new();
                e.insert("name".into(), o.get("name").cloned().unwrap_or(Value::Null));
                e.insert("message".into(), o.get("message").cloned().unwrap_or(Value::Null));
                Value::Object(e)
            };
        }
    }
    Ok(json!({"req": p.request, "stream": p.stream, "end": p.end, "type": p.body_type.name(), "body": body}))
}

fn call_type_arg(v: &Value) -> Result<CallType, OpError> {
    match v.get("type").and_then(Value::as_str) {
        Some("async") => Ok(CallType::Async),
        Some("source") => Ok(CallType::Source),
        Some("sink") => Ok(CallType::Sink),
        Some("duplex") => Ok(CallType::Duplex),
        _ => Err(OpError::args("call type must be async, source, sink or duplex")),
    }
}

/// `muxrpc.endpoint`: see conformance/ADAPTER.md.
pub fn endpoint(args: &Value) -> Result<Value, OpError> {
    let limits = limits_arg(args)?;
    let steps = args
        .get("steps")
        .and_then(Value::as_array)
        .ok_or_else(|| OpError::args("steps must be a list"))?;
    let mut ep = Endpoint::new(limits);
    let mut output = Output {
        decoder: Decoder::new(usize::MAX),
    };
    let mut results = Vec::new();
    let mut fault = Value::Null;
    for (i, step) in steps.iter().enumerate() {
        let (kind, v) = match step.as_object().map(|o| o.iter().collect::<Vec<_>>()).as_deref() {
            Some([(k, v)]) => (k.as_str(), *v),
            _ => {
                return Err(OpError::args(format!(
                    "steps[{i}] must be an object with one key"
                )))
            }
        };
        let mut events = Vec::new();
        match kind {
            "recv" => {
                let bytes = recv_bytes(v)?;
                if let Err(f) = ep.receive(&bytes, &mut events) {
                    fault = Value::String(f.kind().to_string());
                }
            }
            "call" => {
                let name: Vec<&str> = v
                    .get("name")
                    .and_then(Value::as_array)
                    .and_then(|a| a.iter().map(Value::as_str).collect())
                    .ok_or_else(|| OpError::args("call name must be a list of strings"))?;
                let call_args = v
                    .get("args")
                    .filter(|a| a.is_array())
                    .ok_or_else(|| OpError::args("call args must be a list"))?;
                ep.call(&name, call_type_arg(v)?, call_args.clone());
            }
            "respond" => {
                let id = StreamId {
                    ours: false,
                    request: req_arg(v)?,
                };
                let result = match (v.get("ok"), v.get("error")) {
                    (Some(ok), None) => Ok(Body::json(ok)),
                    (None, Some(e)) => Err(error_arg(e)?),
                    _ => return Err(OpError::args("respond takes exactly one of ok and error")),
                };
                ep.respond(id, result);
            }
            "send" => {
                let id = StreamId {
                    ours: bool_arg(v, "ours")?,
                    request: req_arg(v)?,
                };
                let body = v.get("body").ok_or_else(|| OpError::args("send body missing"))?;
                ep.send(id, Body::json(body));
            }
            "end" => {
                let id = StreamId {
                    ours: bool_arg(v, "ours")?,
                    request: req_arg(v)?,
                };
                let error = match v.get("error") {
                    None | Some(Value::Null) => None,
                    Some(e) => Some(error_arg(e)?),
                };
                ep.end(id, error);
            }
            "goodbye" => ep.goodbye(),
            other => return Err(OpError::args(format!("steps[{i}]: unknown step {other}"))),
        }
        let events = events.iter().map(event_json).collect::<Result<Vec<_>, _>>()?;
        let sent = output.read(&ep.take_output(), kind == "recv")?;
        results.push(json!({"events": events, "sent": sent}));
        if !fault.is_null() {
            break;
        }
    }
    Ok(json!({"steps": results, "fault": fault, "unknown_packets": ep.unknown_packets}))
}
