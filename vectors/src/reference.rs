//! The adapter-protocol ops (`conformance/ADAPTER.md`) implemented by the reference node. The
//! generator computes every `expect` with these functions, `ssb-ref-adapter` serves them over
//! stdin/stdout, and `ssb-harness check` calls them in-process for the built-in reference.
//! The `ebt` and `history` suites' ops live in the submodules of the same names, the muxrpc
//! RPC layer's `muxrpc.endpoint` in `rpc`, and the `box1`, `box2` and `groups` suites' in
//! `private`.

mod ebt;
mod history;
mod private;
mod rpc;

use serde_json::{json, Value};
use ssb_impl::boxstream::{Decrypter, Encrypter, Event};
use ssb_impl::shs::replay::{replay, Transcript};
use ssb_impl::shs::{Client, Outcome, Server, Step};
use ssb_impl::{FeedId, Keypair};

/// The suites the reference implements.
pub const SUITES: &[&str] = &[
    "shs",
    "boxstream",
    "feed-legacy",
    "feed-bendybutt",
    "muxrpc",
    "ebt",
    "history",
    "box1",
    "box2",
    "groups",
];

/// An op's failure: `kind` is compared with vectors, `message` is for people.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpError {
    pub kind: String,
    pub message: String,
}

impl OpError {
    pub fn new(kind: &str, message: impl Into<String>) -> Self {
        OpError {
            kind: kind.to_string(),
            message: message.into(),
        }
    }

    fn args(message: impl Into<String>) -> Self {
        OpError::new("invalid_args", message)
    }
}

/// The `capabilities` result.
pub fn capabilities() -> Value {
    json!({"name": "ssb-impl", "version": env!("CARGO_PKG_VERSION"), "suites": SUITES})
}

/// Runs one op.
pub fn dispatch(op: &str, args: &Value) -> Result<Value, OpError> {
    match op {
        "capabilities" => Ok(capabilities()),
        "shs.client" => shs_client(args),
        "shs.server" => shs_server(args),
        "boxstream.encrypt" => boxstream_encrypt(args),
        "boxstream.decrypt" => boxstream_decrypt(args),
        "legacy.encode" => legacy_encode(args),
        "feed.validate" => feed_validate(args),
        "bendybutt.validate" => bendybutt_validate(args),
        "muxrpc.encode" => muxrpc_encode(args),
        "muxrpc.decode" => muxrpc_decode(args),
        "muxrpc.endpoint" => rpc::endpoint(args),
        "ebt.note.encode" => ebt::note_encode(args),
        "ebt.note.decode" => ebt::note_decode(args),
        "ebt.notes.decode" => ebt::notes_decode(args),
        "ebt.session" => ebt::session(args),
        "history.query" => history::query(args),
        "box1.box" => private::box1_box(args),
        "box1.unbox" => private::box1_unbox(args),
        "box2.box" => private::box2_box(args),
        "box2.unbox" => private::box2_unbox(args),
        "box2.derive_secret" => private::box2_derive_secret(args),
        "groups.dm_key" => private::groups_dm_key(args),
        "groups.po_box_key" => private::groups_po_box_key(args),
        "groups.group_id" => private::groups_group_id(args),
        "groups.cloaked_id" => private::groups_cloaked_id(args),
        "groups.unbox" => private::groups_unbox(args),
        "groups.validate" => private::groups_validate(args),
        other => Err(OpError::new(
            "unsupported",
            format!("op {other:?} is not implemented"),
        )),
    }
}

/// A binary argument given as hex.
pub fn bytes_arg(args: &Value, name: &str) -> Result<Vec<u8>, OpError> {
    let s = args
        .get(name)
        .and_then(Value::as_str)
        .ok_or_else(|| OpError::args(format!("{name} missing")))?;
    hex::decode(s).map_err(|e| OpError::args(format!("{name}: {e}")))
}

/// A binary argument of exactly `N` bytes.
pub fn array_arg<const N: usize>(args: &Value, name: &str) -> Result<[u8; N], OpError> {
    let v = bytes_arg(args, name)?;
    let got = v.len();
    v.try_into()
        .map_err(|_| OpError::args(format!("{name}: {got} bytes, expected {N}")))
}

fn list_arg(args: &Value, name: &str) -> Result<Vec<Vec<u8>>, OpError> {
    let list = args
        .get(name)
        .and_then(Value::as_array)
        .ok_or_else(|| OpError::args(format!("{name} missing")))?;
    list.iter()
        .map(|v| {
            let s = v
                .as_str()
                .ok_or_else(|| OpError::args(format!("{name}: entries must be hex strings")))?;
            hex::decode(s).map_err(|e| OpError::args(format!("{name}: {e}")))
        })
        .collect()
}

fn outcome_json(o: &Outcome) -> Value {
    json!({
        "remote_public": hex::encode(o.remote.0),
        "encrypt_key": hex::encode(o.encrypt_key),
        "encrypt_nonce": hex::encode(o.encrypt_nonce),
        "decrypt_key": hex::encode(o.decrypt_key),
        "decrypt_nonce": hex::encode(o.decrypt_nonce),
    })
}

fn transcript_json(t: &Transcript, names: [&str; 2]) -> Value {
    let mut v = serde_json::Map::new();
    for (name, msg) in names.iter().zip(&t.sent) {
        v.insert(name.to_string(), Value::String(hex::encode(msg)));
    }
    v.insert("outcome".into(), outcome_json(&t.outcome));
    Value::Object(v)
}

fn shs_client(args: &Value) -> Result<Value, OpError> {
    let net = array_arg::<32>(args, "network_key")?;
    let keys = Keypair::from_seed(array_arg(args, "client_seed")?);
    let eph = array_arg::<32>(args, "client_ephemeral")?;
    let server = FeedId(array_arg(args, "server_public")?);
    let incoming = list_arg(args, "incoming")?;
    let mut client =
        Client::with_ephemeral(net, keys, server, eph).map_err(|e| OpError::new(e.kind(), e.to_string()))?;
    let t = replay(&mut client, &incoming, Step::Msg2).map_err(|e| OpError::new(e.kind(), e.to_string()))?;
    Ok(transcript_json(&t, ["msg1", "msg3"]))
}

fn shs_server(args: &Value) -> Result<Value, OpError> {
    let net = array_arg::<32>(args, "network_key")?;
    let keys = Keypair::from_seed(array_arg(args, "server_seed")?);
    let eph = array_arg::<32>(args, "server_ephemeral")?;
    let accept = args
        .get("accept_client")
        .and_then(Value::as_bool)
        .ok_or_else(|| OpError::args("accept_client missing"))?;
    let incoming = list_arg(args, "incoming")?;
    let mut server = Server::with_ephemeral(net, keys, Box::new(move |_| accept), eph);
    let t = replay(&mut server, &incoming, Step::Msg1).map_err(|e| OpError::new(e.kind(), e.to_string()))?;
    Ok(transcript_json(&t, ["msg2", "msg4"]))
}

fn boxstream_encrypt(args: &Value) -> Result<Value, OpError> {
    let mut enc = Encrypter::new(array_arg(args, "key")?, array_arg(args, "nonce")?);
    let goodbye = args
        .get("goodbye")
        .and_then(Value::as_bool)
        .ok_or_else(|| OpError::args("goodbye missing"))?;
    let mut out = Vec::new();
    for w in list_arg(args, "writes")? {
        enc.encrypt(&w, &mut out);
    }
    if goodbye {
        enc.goodbye(&mut out);
    }
    Ok(json!({"output": hex::encode(out)}))
}

fn boxstream_decrypt(args: &Value) -> Result<Value, OpError> {
    let mut dec = Decrypter::new(array_arg(args, "key")?, array_arg(args, "nonce")?);
    let input = bytes_arg(args, "input")?;
    let mut events = Vec::new();
    let fail = |e: ssb_impl::boxstream::BoxStreamError| OpError::new(e.kind(), e.to_string());
    dec.feed(&input, &mut events).map_err(fail)?;
    dec.finish().map_err(fail)?;
    let bodies: Vec<Value> = events
        .iter()
        .filter_map(|e| match e {
            Event::Body(b) => Some(Value::String(hex::encode(b))),
            Event::Goodbye => None,
        })
        .collect();
    Ok(json!({ "bodies": bodies }))
}

fn json_text_arg(args: &Value, name: &str) -> Result<ssb_impl::legacy::Value, OpError> {
    let bytes = bytes_arg(args, name)?;
    ssb_impl::legacy::parse(&bytes, ssb_impl::legacy::Mode::JsCompat)
        .map_err(|e| OpError::new("invalid_json", format!("{name}: {e}")))
}

fn legacy_encode(args: &Value) -> Result<Value, OpError> {
    let v = json_text_arg(args, "json")?;
    let units = ssb_impl::legacy::to_signing_units(&v);
    Ok(json!({
        "signing": hex::encode(String::from_utf16_lossy(&units)),
        "length": units.len(),
        "sha256": hex::encode(ssb_impl::legacy::latin1_sha256(&units)),
    }))
}

/// Converts a serde_json value (an adapter argument) into the legacy model.
fn to_legacy(v: &Value) -> ssb_impl::legacy::Value {
    use ssb_impl::legacy::Value as L;
    match v {
        Value::Null => L::Null,
        Value::Bool(b) => L::Bool(*b),
        Value::Number(n) => L::Number(n.as_f64().unwrap_or(f64::NAN)),
        Value::String(s) => L::string(s),
        Value::Array(a) => L::Array(a.iter().map(to_legacy).collect()),
        Value::Object(o) => {
            let mut obj = ssb_impl::legacy::Object::new();
            for (k, v) in o {
                obj.insert(k.as_str().into(), to_legacy(v));
            }
            L::Object(obj)
        }
    }
}

fn feed_validate(args: &Value) -> Result<Value, OpError> {
    use ssb_impl::feed::{validate_next, FeedState};
    use ssb_impl::legacy::message::{parse_hmac_key, MsgId};
    let state = match args.get("state") {
        None | Some(Value::Null) => None,
        Some(s) => {
            let id = s.get("id").and_then(Value::as_str).and_then(MsgId::parse);
            let seq = s.get("sequence").and_then(Value::as_f64);
            match (id, seq) {
                (Some(id), Some(sequence)) => Some(FeedState {
                    id,
                    sequence,
                    timestamp: s.get("timestamp").and_then(Value::as_f64),
                }),
                _ => return Err(OpError::args("state needs id and sequence")),
            }
        }
    };
    let hmac = args
        .get("hmac_key")
        .map(to_legacy)
        .unwrap_or(ssb_impl::legacy::Value::Null);
    let msg = json_text_arg(args, "message")?;
    let fail = |e: ssb_impl::legacy::MessageError| OpError::new(e.family(), format!("{} ({e})", e.kind()));
    let key = parse_hmac_key(&hmac).map_err(fail)?;
    let (checked, _) = validate_next(state.as_ref(), &msg, key.as_ref()).map_err(fail)?;
    Ok(json!({ "id": checked.id.to_string() }))
}

fn bendybutt_validate(args: &Value) -> Result<Value, OpError> {
    use ssb_impl::bendybutt::message::FeedValidator;
    use ssb_impl::bendybutt::metafeed::MetafeedValidator;
    let messages = list_arg(args, "messages")?;
    let metafeed = args
        .get("metafeed")
        .and_then(Value::as_bool)
        .ok_or_else(|| OpError::args("metafeed missing"))?;
    let hmac: Option<[u8; 32]> = match args.get("hmac_key") {
        None | Some(Value::Null) => None,
        Some(_) => Some(array_arg(args, "hmac_key")?),
    };
    let mut keys = Vec::new();
    let mut plain = FeedValidator::new(hmac);
    let mut meta = MetafeedValidator::new(hmac);
    for (i, m) in messages.iter().enumerate() {
        let fail =
            |kind: &str, e: &dyn std::fmt::Display| OpError::new(kind, format!("message {}: {e}", i + 1));
        let key = if metafeed {
            meta.append(m)
                .map(|(v, _)| v.key)
                .map_err(|e| fail(e.kind(), &e))?
        } else {
            plain.append(m).map(|v| v.key).map_err(|e| fail(e.kind(), &e))?
        };
        keys.push(Value::String(key.to_uri()));
    }
    Ok(json!({ "keys": keys }))
}

fn packet_arg(v: &Value) -> Result<ssb_impl::muxrpc::Packet, OpError> {
    use ssb_impl::muxrpc::{BodyType, Packet};
    let flag = |k: &str| {
        v.get(k)
            .and_then(Value::as_bool)
            .ok_or_else(|| OpError::args(format!("packet {k} missing")))
    };
    let body_type = v
        .get("type")
        .and_then(Value::as_str)
        .and_then(BodyType::from_name)
        .ok_or_else(|| OpError::args("packet type must be binary, string or json"))?;
    let request = v
        .get("req")
        .and_then(Value::as_i64)
        .and_then(|r| i32::try_from(r).ok())
        .ok_or_else(|| OpError::args("packet req must be an int32"))?;
    Ok(Packet {
        stream: flag("stream")?,
        end: flag("end")?,
        body_type,
        request,
        body: bytes_arg(v, "body")?,
    })
}

fn packet_json(p: &ssb_impl::muxrpc::Packet) -> Value {
    json!({"stream": p.stream, "end": p.end, "type": p.body_type.name(), "req": p.request, "body": hex::encode(&p.body)})
}

fn muxrpc_encode(args: &Value) -> Result<Value, OpError> {
    let packets = args
        .get("packets")
        .and_then(Value::as_array)
        .ok_or_else(|| OpError::args("packets missing"))?;
    let goodbye = args
        .get("goodbye")
        .and_then(Value::as_bool)
        .ok_or_else(|| OpError::args("goodbye missing"))?;
    let mut out = Vec::new();
    for p in packets {
        packet_arg(p)?.encode(&mut out);
    }
    if goodbye {
        out.extend_from_slice(&ssb_impl::muxrpc::GOODBYE);
    }
    Ok(json!({ "output": hex::encode(out) }))
}

fn muxrpc_decode(args: &Value) -> Result<Value, OpError> {
    use ssb_impl::muxrpc::{Decoder, Event};
    let max_body = args
        .get("max_body")
        .and_then(Value::as_u64)
        .and_then(|m| usize::try_from(m).ok())
        .ok_or_else(|| OpError::args("max_body missing"))?;
    let input = bytes_arg(args, "input")?;
    let mut dec = Decoder::new(max_body);
    let mut events = Vec::new();
    let fail = |e: ssb_impl::muxrpc::CodecError| OpError::new(e.kind(), e.to_string());
    dec.feed(&input, &mut events).map_err(fail)?;
    let goodbye = dec.finish().map_err(fail)?;
    let packets: Vec<Value> = events
        .iter()
        .filter_map(|e| match e {
            Event::Packet(p) => Some(packet_json(p)),
            Event::Goodbye => None,
        })
        .collect();
    Ok(json!({ "packets": packets, "goodbye": goodbye }))
}
