//! Secret handshake through ssb-handshake's synchronous `sync::client_side` /
//! `sync::server_side`, which take the ephemeral key pair as an argument. The pair is made by
//! ssb-crypto's `generate_ephemeral_keypair_with_rng` from the vector's scalar, and the stream
//! is an in-memory wire that hands the role the peer's messages in turn.

use crate::args::{hex_n, OpError};
use crate::given_rng::GivenBytes;
use serde_json::{json, Value};
use ssb_crypto::ephemeral::generate_ephemeral_keypair_with_rng;
use ssb_crypto::{Keypair, NetworkKey, PublicKey};
use ssb_handshake::HandshakeError;

/// The peer's side of a connection: its messages, released one at a time (the next one only
/// after the role under test has written, as a peer answers only what it has read), and
/// everything the role wrote.
struct Wire {
    incoming: Vec<Vec<u8>>,
    /// Which incoming message the role reads now, and how far.
    msg: usize,
    pos: usize,
    started: bool,
    written: Vec<u8>,
}

/// The wire error: never raised (the end of a message reads as 0 bytes, the end of file).
#[derive(Debug)]
struct WireError;

struct WireRef<'a>(&'a mut Wire);

impl genio::Read for WireRef<'_> {
    type ReadError = WireError;
    fn read(&mut self, buf: &mut [u8]) -> Result<usize, WireError> {
        let w = &mut *self.0;
        w.started = true;
        let Some(m) = w.incoming.get(w.msg) else {
            return Ok(0);
        };
        let n = buf.len().min(m.len() - w.pos);
        buf[..n].copy_from_slice(&m[w.pos..w.pos + n]);
        w.pos += n;
        Ok(n)
    }
}

impl genio::Write for WireRef<'_> {
    type WriteError = WireError;
    type FlushError = WireError;
    fn write(&mut self, buf: &[u8]) -> Result<usize, WireError> {
        let w = &mut *self.0;
        if w.started {
            // The role answers the message it read: the peer's next message follows.
            w.msg += 1;
            w.pos = 0;
            w.started = false;
        }
        w.written.extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> Result<(), WireError> {
        Ok(())
    }
    fn size_hint(&mut self, _bytes: usize) {}
}

fn incoming(a: &Value) -> Result<Vec<Vec<u8>>, OpError> {
    a.get("incoming")
        .and_then(Value::as_array)
        .ok_or_else(|| OpError::invalid("`incoming` missing"))?
        .iter()
        .map(|m| {
            m.as_str()
                .and_then(|s| hex::decode(s).ok())
                .ok_or_else(|| OpError::invalid("an incoming message is not hex"))
        })
        .collect()
}

fn keypair(a: &Value, key: &str) -> Result<Keypair, OpError> {
    Keypair::from_seed(&hex_n(a, key, 32)?).ok_or_else(|| OpError::invalid(format!("`{key}` is not a seed")))
}

/// ADAPTER.md's outcome from the library's `HandshakeKeys` (a type ssb-handshake does not
/// export by name, hence a macro).
macro_rules! outcome {
    ($k:expr) => {
        json!({
            "remote_public": hex::encode($k.peer_key.0),
            "encrypt_key": hex::encode($k.write_key.0),
            "encrypt_nonce": hex::encode($k.write_starting_nonce.0),
            "decrypt_key": hex::encode($k.read_key.0),
            "decrypt_nonce": hex::encode($k.read_starting_nonce.0),
        })
    };
}

/// The rejected message, from the library's error and the message the wire was on.
fn error_kind(e: &HandshakeError<WireError>, client: bool, msg: usize) -> OpError {
    use HandshakeError::*;
    let kind = match (client, e) {
        (
            true,
            ServerHelloVerifyFailed
            | ServerHelloDeserializeFailed
            | SharedAInvalid
            | SharedBInvalid
            | SharedCInvalid,
        ) => "msg2_rejected",
        (true, ServerAcceptVerifyFailed | ServerAcceptDeserializeFailed) => "msg4_rejected",
        (true, UnexpectedEnd | Io(_)) if msg == 0 => "msg2_rejected",
        (true, UnexpectedEnd | Io(_)) => "msg4_rejected",
        (false, ClientHelloVerifyFailed | ClientHelloDeserializeFailed | SharedAInvalid | SharedBInvalid) => {
            "msg1_rejected"
        }
        (false, ClientAuthVerifyFailed | ClientAuthDeserializeFailed | SharedCInvalid) => "msg3_rejected",
        (false, UnexpectedEnd | Io(_)) if msg == 0 => "msg1_rejected",
        (false, UnexpectedEnd | Io(_)) => "msg3_rejected",
        _ => "handshake_failed",
    };
    OpError::new(kind, format!("ssb-handshake: {e:?}"))
}

/// `shs.client`.
pub fn client(a: &Value) -> Result<Value, OpError> {
    let net = NetworkKey::from_slice(&hex_n(a, "network_key", 32)?).expect("32 bytes");
    let me = keypair(a, "client_seed")?;
    let server = PublicKey::from_slice(&hex_n(a, "server_public", 32)?).expect("32 bytes");
    let eph = generate_ephemeral_keypair_with_rng(&mut GivenBytes::new(&hex_n(a, "client_ephemeral", 32)?));
    let mut wire = Wire {
        incoming: incoming(a)?,
        msg: 0,
        pos: 0,
        started: false,
        written: Vec::new(),
    };
    let r = ssb_handshake::sync::client_side(WireRef(&mut wire), &net, &me, &server, eph);
    match r {
        Ok(k) => Ok(json!({
            "msg1": hex::encode(&wire.written[..64]),
            "msg3": hex::encode(&wire.written[64..176]),
            "outcome": outcome!(k),
        })),
        Err(e) => Err(error_kind(&e, true, wire.msg)),
    }
}

/// `shs.server`. ssb-handshake has no authorisation hook: `server_side` answers every client
/// whose msg3 verifies, so `accept_client` cannot be passed to it (see DEVIATIONS.md).
pub fn server(a: &Value) -> Result<Value, OpError> {
    let net = NetworkKey::from_slice(&hex_n(a, "network_key", 32)?).expect("32 bytes");
    let me = keypair(a, "server_seed")?;
    let eph = generate_ephemeral_keypair_with_rng(&mut GivenBytes::new(&hex_n(a, "server_ephemeral", 32)?));
    let mut wire = Wire {
        incoming: incoming(a)?,
        msg: 0,
        pos: 0,
        started: false,
        written: Vec::new(),
    };
    let r = ssb_handshake::sync::server_side(WireRef(&mut wire), &net, &me, eph);
    match r {
        Ok(k) => Ok(json!({
            "msg2": hex::encode(&wire.written[..64]),
            "msg4": hex::encode(&wire.written[64..144]),
            "outcome": outcome!(k),
        })),
        Err(e) => Err(error_kind(&e, false, wire.msg)),
    }
}
