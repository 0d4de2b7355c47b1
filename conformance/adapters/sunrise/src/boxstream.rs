//! Box-stream through ssb-boxstream's `BoxWriter` and `BoxReader` (futures `AsyncWrite` /
//! `AsyncRead`), polled by hand over in-memory streams so that a reader that waits forever
//! shows up as such instead of hanging the adapter.

use crate::args::{bool_arg, hex_arg, hex_n, OpError};
use futures::executor::block_on;
use futures::io::{AsyncRead, AsyncWriteExt, Cursor};
use futures::task::noop_waker;
use serde_json::{json, Value};
use ssb_boxstream::{BoxReader, BoxWriter};
use ssb_crypto::secretbox::{Key, Nonce};
use std::pin::Pin;
use std::task::{Context, Poll};

fn key_nonce(a: &Value) -> Result<(Key, Nonce), OpError> {
    Ok((
        Key::from_slice(&hex_n(a, "key", 32)?).expect("32 bytes"),
        Nonce::from_slice(&hex_n(a, "nonce", 24)?).expect("24 bytes"),
    ))
}

/// `boxstream.encrypt`: ssb-boxstream buffers writes until a flush (or 4096 bytes), so each
/// entry is one `write_all` and one `flush`, as an application sends one message; the goodbye
/// is `close()`.
pub fn encrypt(a: &Value) -> Result<Value, OpError> {
    let writes = a
        .get("writes")
        .and_then(Value::as_array)
        .ok_or_else(|| OpError::invalid("`writes` missing"))?
        .iter()
        .enumerate()
        .map(|(i, w)| {
            w.as_str()
                .and_then(|s| hex::decode(s).ok())
                .ok_or_else(|| OpError::invalid(format!("writes[{i}] is not hex")))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let goodbye = bool_arg(a, "goodbye")?;
    let (key, nonce) = key_nonce(a)?;
    let mut w = BoxWriter::new(Vec::new(), key, nonce);
    block_on(async {
        for bytes in &writes {
            w.write_all(bytes).await?;
            w.flush().await?;
        }
        if goodbye {
            w.close().await?;
        }
        Ok::<(), std::io::Error>(())
    })
    .map_err(|e| OpError::new("write_failed", format!("ssb-boxstream: {e}")))?;
    Ok(json!({ "output": hex::encode(w.into_inner()) }))
}

/// `boxstream.decrypt`: polls a `BoxReader` with a buffer of one box. `Ok(0)` with
/// `is_closed()` is the goodbye; `Ok(0)` without it is a box of zero bytes (which an
/// application would take for the end of file). The reader never looks past the goodbye.
pub fn decrypt(a: &Value) -> Result<Value, OpError> {
    let input = hex_arg(a, "input")?;
    let (key, nonce) = key_nonce(a)?;
    let frames = input.len() / 34 + 2;
    let mut r = BoxReader::new(Cursor::new(input), key, nonce);
    let waker = noop_waker();
    let mut cx = Context::from_waker(&waker);
    let mut buf = vec![0u8; 4096];
    let mut bodies: Vec<String> = Vec::new();
    for _ in 0..frames {
        match Pin::new(&mut r).poll_read(&mut cx, &mut buf) {
            Poll::Ready(Ok(0)) if r.is_closed() => return Ok(json!({ "bodies": bodies })),
            Poll::Ready(Ok(n)) => bodies.push(hex::encode(&buf[..n])),
            Poll::Ready(Err(e)) => {
                let inner = e.get_ref().map(|i| i.to_string()).unwrap_or_default();
                let kind = match inner.as_str() {
                    "Failed to decrypt header" => "header_auth_failed",
                    "Failed to decrypt body" => "body_auth_failed",
                    _ => "read_failed",
                };
                return Err(OpError::new(kind, format!("ssb-boxstream: {e}")));
            }
            Poll::Pending => {
                return Err(OpError::new(
                    "stalled",
                    "ssb-boxstream: BoxReader::poll_read returned Pending at the end of the input, having got 0 bytes (or part of a box) from its reader, without registering a waker: the end of file is never reported and the task waits forever",
                ));
            }
        }
    }
    Err(OpError::new("read_failed", "more reads than the input has boxes"))
}
