//! Packet-stream framing through ssb-packetstream's `PacketSink` (encoding, goodbye on close)
//! and `PacketStream` (decoding), over in-memory streams.

use crate::args::{hex_arg, OpError};
use futures::executor::block_on;
use futures::io::Cursor;
use futures::{SinkExt, StreamExt};
use serde_json::{json, Value};
use ssb_packetstream::{BodyType, IsEnd, IsStream, Packet, PacketSink, PacketStream};

pub const ENDPOINT_REASON: &str = "ssb-packetstream 0.2.1 stops at packets: its `mux` multiplexes packets to a handler by request number, but there is no RPC layer (no call bodies, async answers, stream ends or error bodies, no refusal of unknown calls) to drive step by step";

fn body_type(t: &str) -> Result<BodyType, OpError> {
    match t {
        "binary" => Ok(BodyType::Binary),
        "string" => Ok(BodyType::Utf8),
        "json" => Ok(BodyType::Json),
        _ => Err(OpError::invalid(format!("unknown packet type {t:?}"))),
    }
}

fn type_name(t: BodyType) -> &'static str {
    match t {
        BodyType::Binary => "binary",
        BodyType::Utf8 => "string",
        BodyType::Json => "json",
    }
}

/// `muxrpc.encode`: every packet is sent into a `PacketSink`; the goodbye is `close()`.
pub fn encode(a: &Value) -> Result<Value, OpError> {
    let goodbye = a.get("goodbye").and_then(Value::as_bool).unwrap_or(false);
    let mut packets = Vec::new();
    for p in a
        .get("packets")
        .and_then(Value::as_array)
        .ok_or_else(|| OpError::invalid("`packets` missing"))?
    {
        let flag = |k: &str| p.get(k).and_then(Value::as_bool).unwrap_or(false);
        let req = p
            .get("req")
            .and_then(Value::as_i64)
            .and_then(|r| i32::try_from(r).ok())
            .ok_or_else(|| OpError::invalid("`req` is not an int32"))?;
        packets.push(Packet::new(
            if flag("stream") {
                IsStream::Yes
            } else {
                IsStream::No
            },
            if flag("end") { IsEnd::Yes } else { IsEnd::No },
            body_type(p.get("type").and_then(Value::as_str).unwrap_or(""))?,
            req,
            hex_arg(p, "body")?,
        ));
    }
    let mut sink = PacketSink::new(Vec::new());
    block_on(async {
        for p in packets {
            sink.send(p).await.map_err(|e| e.to_string())?;
        }
        if goodbye {
            sink.close().await.map_err(|e| e.to_string())?;
        }
        Ok::<(), String>(())
    })
    .map_err(|e| OpError::new("write_failed", format!("ssb-packetstream: {e}")))?;
    Ok(json!({ "output": hex::encode(sink.into_inner()) }))
}

/// `muxrpc.decode`: reads a `PacketStream` to its end. The stream ends with `None` after the
/// goodbye, and with the error `NoGoodbye` when its reader ends between packets, which is the
/// op's `goodbye: false`; an end inside a header or body is its `Header` / `Body` error.
/// ssb-packetstream has no body limit (`max_body` cannot be passed) and reads nothing after
/// the goodbye.
pub fn decode(a: &Value) -> Result<Value, OpError> {
    let input = hex_arg(a, "input")?;
    let bound = input.len() / 9 + 2;
    let mut s = PacketStream::new(Cursor::new(input));
    let mut packets = Vec::new();
    for _ in 0..bound {
        match block_on(s.next()) {
            Some(Ok(p)) => packets.push(json!({
                "stream": p.is_stream(),
                "end": p.is_end(),
                "type": type_name(p.body_type),
                "req": p.id,
                "body": hex::encode(&p.body),
            })),
            None => return Ok(json!({ "packets": packets, "goodbye": true })),
            // The crate's two error enums are both glob-exported as `Error`, so neither can be
            // named: the variant is recognised by its message.
            Some(Err(e)) => {
                let text = e.to_string();
                if text.starts_with("PacketStream underlying reader closed without goodbye") {
                    return Ok(json!({ "packets": packets, "goodbye": false }));
                }
                let kind = if text.starts_with("IO error while reading packet") {
                    "truncated"
                } else {
                    "read_failed"
                };
                return Err(OpError::new(kind, format!("ssb-packetstream: {text}")));
            }
        }
    }
    Err(OpError::new(
        "read_failed",
        "more packets than the input can hold",
    ))
}
