//! Packet-stream framing through kuska-ssb's `rpc::RpcWriter`, the only public face of its
//! packet codec (`rpc::stream::Header` is private). The writer sits on a kuska box-stream; the
//! adapter opens that box-stream again with kuska's reader to get the packet bytes back.

use crate::args::{hex_arg, OpError};
use crate::boxstream::{open, CAPACITY};
use async_std::task::block_on;
use kuska_ssb::handshake::async_std::BoxStreamWrite;
use kuska_ssb::rpc::{BodyType, RpcType, RpcWriter};
use serde_json::{json, Value};

pub const GOODBYE_REASON: &str = "kuska-ssb writes no muxrpc goodbye (nine zero bytes): RpcWriter::close() sends only the box-stream goodbye";
pub const DECODE_REASON: &str = "kuska-ssb's packet decoder is reachable only as RpcReader::recv, whose RecvMsg drops the stream and end flags (and, for calls and ends, the body bytes); rpc::stream::Header is private, so the packets cannot be reported";
pub const END_REASON: &str = "kuska-ssb's RpcWriter writes an end/error packet only as send_stream_eof (JSON `true`, stream) or send_error (string body {\"name\":\"Error\",\"stack\":\"\",\"message\":…}); this packet is neither";
pub const ENDPOINT_REASON: &str = "kuska-ssb 0.4 has no muxrpc endpoint to drive: RpcReader::recv/RpcWriter::send_* frame single packets over a live box-stream and the application (Solar) keeps track of calls, streams and their ends";

/// Any key and nonce: the box-stream only carries the packets from kuska's writer to its reader.
const KEY: [u8; 32] = [7; 32];
const NONCE: [u8; 24] = [9; 24];

fn body_type(t: &str) -> Result<BodyType, OpError> {
    match t {
        "binary" => Ok(BodyType::Binary),
        "string" => Ok(BodyType::UTF8),
        "json" => Ok(BodyType::JSON),
        _ => Err(OpError::invalid(format!("unknown packet type {t:?}"))),
    }
}

/// One packet as the harness gives it.
struct Wanted {
    stream: bool,
    end: bool,
    kind: BodyType,
    req: i32,
    body: Vec<u8>,
}

fn wanted(p: &Value) -> Result<Wanted, OpError> {
    Ok(Wanted {
        stream: p.get("stream").and_then(Value::as_bool).unwrap_or(false),
        end: p.get("end").and_then(Value::as_bool).unwrap_or(false),
        kind: body_type(p.get("type").and_then(Value::as_str).unwrap_or(""))?,
        req: p
            .get("req")
            .and_then(Value::as_i64)
            .and_then(|r| i32::try_from(r).ok())
            .ok_or_else(|| OpError::invalid("`req` is not an int32"))?,
        body: hex_arg(p, "body")?,
    })
}

/// The message of an error body exactly as kuska's `send_error` would write it, if it is one.
fn kuska_error_message(body: &[u8]) -> Option<String> {
    let v: Value = serde_json::from_slice(body).ok()?;
    let o = v.as_object()?;
    let keys: Vec<&str> = o.keys().map(String::as_str).collect();
    if keys != ["name", "stack", "message"] || o["name"] != "Error" || o["stack"] != "" {
        return None;
    }
    let m = o["message"].as_str()?.to_string();
    (serde_json::to_string(&json!({"name": "Error", "stack": "", "message": m}))
        .ok()?
        .as_bytes()
        == body)
        .then_some(m)
}

/// `muxrpc.encode`: each packet through the `RpcWriter` call that writes it (kuska writes the
/// negated request number it is given, so a packet of number `r` is sent as an answer to
/// `-r`): `send_response` for packets without the end flag, `send_stream_eof` and `send_error`
/// for the two end packets kuska can write.
pub fn encode(a: &Value) -> Result<Value, OpError> {
    if a.get("goodbye").and_then(Value::as_bool) == Some(true) {
        return Err(OpError::unsupported(GOODBYE_REASON));
    }
    let packets = a
        .get("packets")
        .and_then(Value::as_array)
        .ok_or_else(|| OpError::invalid("`packets` missing"))?
        .iter()
        .map(wanted)
        .collect::<Result<Vec<_>, _>>()?;
    for p in &packets {
        if p.req == i32::MIN {
            return Err(OpError::unsupported(
                "kuska-ssb negates the request number it is given; -2^31 has no i32 negation",
            ));
        }
        if p.end {
            let eof = p.stream && matches!(p.kind, BodyType::JSON) && p.body == b"true";
            let err = matches!(p.kind, BodyType::UTF8) && kuska_error_message(&p.body).is_some();
            if !eof && !err {
                return Err(OpError::unsupported(END_REASON));
            }
        }
    }
    let mut out: Vec<u8> = Vec::new();
    block_on(async {
        let mut w = RpcWriter::new(BoxStreamWrite::new(
            &mut out,
            crate::boxstream::key_nonce(&KEY, &NONCE),
            CAPACITY,
        ));
        for p in &packets {
            let rpc_type = if p.stream { RpcType::Source } else { RpcType::Async };
            if !p.end {
                w.send_response(-p.req, rpc_type, p.kind, &p.body).await?;
            } else if p.stream && matches!(p.kind, BodyType::JSON) && p.body == b"true" {
                w.send_stream_eof(-p.req).await?;
            } else {
                let m = kuska_error_message(&p.body).expect("checked above");
                w.send_error(-p.req, rpc_type, &m).await?;
            }
        }
        w.close().await
    })
    .map_err(|e| OpError::new("write_failed", format!("kuska: {e}")))?;
    let (bodies, _) = open(&KEY, &NONCE, &out)?;
    Ok(json!({ "output": hex::encode(bodies.concat()) }))
}
