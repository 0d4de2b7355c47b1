//! Box-stream through kuska-handshake's async `BoxStreamWrite` / `BoxStreamRead`
//! (`kuska_ssb::handshake::async_std`), the face kuska-ssb's RPC layer and Solar use, driven
//! to completion over in-memory streams.

use crate::args::{bool_arg, hex_arg, hex_n, OpError};
use async_std::io::{ReadExt, WriteExt};
use async_std::task::block_on;
use kuska_ssb::handshake::async_std::{BoxStreamRead, BoxStreamWrite};
use kuska_ssb::handshake::sodiumoxide::crypto::secretbox;
use kuska_ssb::handshake::KeyNonce;
use serde_json::{json, Value};
use std::io::ErrorKind;

/// The buffer size kuska-ssb's own example client (`examples/ssb-cli.rs`) gives both halves.
pub const CAPACITY: usize = 0x8000;

pub fn key_nonce(key: &[u8], nonce: &[u8]) -> KeyNonce {
    KeyNonce::new(
        secretbox::Key::from_slice(key).expect("32-byte key"),
        secretbox::Nonce::from_slice(nonce).expect("24-byte nonce"),
    )
}

/// Seals `writes` as kuska's writer does: one `write_all` and `flush` per entry (kuska frames
/// at most 4096 bytes per box), then `goodbye()` if asked.
pub fn seal(key: &[u8], nonce: &[u8], writes: &[Vec<u8>], goodbye: bool) -> std::io::Result<Vec<u8>> {
    let mut out: Vec<u8> = Vec::new();
    block_on(async {
        let mut w = BoxStreamWrite::new(&mut out, key_nonce(key, nonce), CAPACITY);
        for bytes in writes {
            w.write_all(bytes).await?;
            w.flush().await?;
        }
        if goodbye {
            w.goodbye().await?;
        }
        Ok::<(), std::io::Error>(())
    })?;
    Ok(out)
}

/// `boxstream.encrypt`.
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
    let out = seal(
        &hex_n(a, "key", 32)?,
        &hex_n(a, "nonce", 24)?,
        &writes,
        bool_arg(a, "goodbye")?,
    )
    .map_err(|e| OpError::new("write_failed", format!("kuska: {e}")))?;
    Ok(json!({ "output": hex::encode(out) }))
}

/// The kind of a read error, from kuska's own error values (kuska's io errors carry
/// `kuska_handshake::Error` inside).
fn read_error(e: std::io::Error) -> OpError {
    if e.kind() == ErrorKind::UnexpectedEof {
        return OpError::new("truncated", format!("kuska: {e}"));
    }
    // kuska_handshake::Error is glob-exported twice (boxstream and handshake), so the
    // variant is recognised by kuska's own message for it.
    let inner = e.get_ref().map(|i| i.to_string()).unwrap_or_default();
    let kind = match inner.as_str() {
        "secretbox::open failed in header decryption" => "header_auth_failed",
        "secretbox::open failed in body decryption" => "body_auth_failed",
        _ => "read_failed",
    };
    OpError::new(kind, format!("kuska: {e}"))
}

/// Opens a box-stream as kuska's reader does: every `read` returns the plaintext of one box
/// (the buffer is as large as kuska's), `Ok(0)` is the goodbye. kuska reads nothing after the
/// goodbye, and a box with an empty body yields no read at all.
pub fn open(key: &[u8], nonce: &[u8], input: &[u8]) -> Result<(Vec<Vec<u8>>, bool), OpError> {
    block_on(async {
        let mut r = BoxStreamRead::new(input, key_nonce(key, nonce), CAPACITY);
        let mut bodies = Vec::new();
        let mut buf = vec![0u8; CAPACITY];
        // Each box needs a 34-byte header: the loop is bounded by the input.
        for _ in 0..=input.len() / 34 + 1 {
            match r.read(&mut buf).await {
                Ok(0) => return Ok((bodies, true)),
                Ok(n) => bodies.push(buf[..n].to_vec()),
                Err(e) => return Err(read_error(e)),
            }
        }
        Err(OpError::new("read_failed", "more reads than the input has boxes"))
    })
}

/// `boxstream.decrypt`.
pub fn decrypt(a: &Value) -> Result<Value, OpError> {
    let input = hex_arg(a, "input")?;
    let (bodies, _) = open(&hex_n(a, "key", 32)?, &hex_n(a, "nonce", 24)?, &input)?;
    let bodies: Vec<String> = bodies.iter().map(hex::encode).collect();
    Ok(json!({ "bodies": bodies }))
}
