//! The `history` suite's op on the reference: `history.query` runs a real `ssb_impl::node::Node`
//! over a memory store, sans-IO. The feed is added with `add_message`, a fake peer connects as
//! `ConnId(1)`, a muxrpc client endpoint of our own sends the `createHistoryStream` call, and the
//! node's answers are decoded from the bytes it writes; then the `live` messages are added and
//! the answers collected again. Every message is received at `now`, so the `timestamp` of a
//! `{key, value, timestamp}` answer is `now`.

use serde_json::{json, Value};
use ssb_impl::history::HistoryQuery;
use ssb_impl::muxrpc::{CallType, Endpoint, Limits, RpcError, RpcEvent, StreamId};
use ssb_impl::node::{ConnId, Node, NodeConfig, Output};
use ssb_impl::store::{MemoryBlobs, MemoryStore};
use ssb_impl::Keypair;

use super::OpError;

/// The node's own key and the fake peer's: any keys will do, as long as neither authors the feed.
const NODE_SEED: [u8; 32] = [0x4e; 32];
const PEER_SEED: [u8; 32] = [0x50; 32];
const PEER: ConnId = ConnId(1);

/// What came back on the stream so far.
#[derive(Default)]
struct Answers {
    items: Vec<Value>,
    ended: bool,
    error: Option<RpcError>,
}

fn internal(message: impl Into<String>) -> OpError {
    OpError::new("internal", message)
}

fn messages_arg(args: &Value, name: &str) -> Result<Vec<ssb_impl::legacy::Value>, OpError> {
    let list = args
        .get(name)
        .and_then(Value::as_array)
        .ok_or_else(|| OpError::args(format!("{name} must be a list of message values")))?;
    list.iter()
        .enumerate()
        .map(|(i, m)| {
            let text = serde_json::to_vec(m).map_err(|e| OpError::args(format!("{name}[{i}]: {e}")))?;
            ssb_impl::legacy::parse(&text, ssb_impl::legacy::Mode::JsCompat)
                .map_err(|e| OpError::args(format!("{name}[{i}]: {e:?}")))
        })
        .collect()
}

fn add_all(node: &mut Node, msgs: &[ssb_impl::legacy::Value], name: &str, now: u64) -> Result<(), OpError> {
    for (i, m) in msgs.iter().enumerate() {
        node.add_message(m, now)
            .map_err(|e| OpError::args(format!("{name}[{i}] was not added: {e}")))?;
    }
    Ok(())
}

/// Hands the node's output to the client endpoint and records what it says about `stream`.
fn collect(
    node: &mut Node,
    client: &mut Endpoint,
    stream: StreamId,
    got: &mut Answers,
) -> Result<(), OpError> {
    let mut events = Vec::new();
    // Draining the write queue may let the node send more: go on until it has nothing left.
    loop {
        let mut sent = false;
        for out in node.take_outputs() {
            if let Output::Send { conn, bytes } = out {
                if conn == PEER {
                    sent = true;
                    client
                        .receive(&bytes, &mut events)
                        .map_err(|e| internal(format!("the node's bytes do not decode: {e}")))?;
                }
            }
        }
        if !sent {
            break;
        }
        node.drained(PEER);
    }
    for ev in events {
        match ev {
            RpcEvent::Data { id, body } if id == stream => {
                if got.ended {
                    return Err(internal("data after the end of the stream"));
                }
                let v = body
                    .to_json()
                    .ok_or_else(|| internal("an answer that is not a JSON body"))?;
                got.items.push(v);
            }
            RpcEvent::End { id, error } if id == stream => {
                got.ended = true;
                got.error = error;
            }
            // The node's own calls to the peer (`blobs.createWants`) go unanswered.
            _ => {}
        }
    }
    Ok(())
}

/// The error kind of a stream that ended with `error`: the node answers `{name, message}`, and
/// its message must be the one `HistoryQuery::from_args` gives for these arguments.
fn error_kind(call_args: &[Value], error: &Option<RpcError>) -> Result<Value, OpError> {
    let expected = HistoryQuery::from_args(call_args).err();
    match (error, expected) {
        (None, None) => Ok(Value::Null),
        (Some(e), Some(k)) if e.message == k.to_string() => Ok(json!(k.kind())),
        (got, want) => Err(internal(format!(
            "the node ended the stream with {got:?}, the options read as {want:?}"
        ))),
    }
}

/// `history.query`: see conformance/ADAPTER.md.
pub fn query(args: &Value) -> Result<Value, OpError> {
    let feed = messages_arg(args, "feed")?;
    let live = messages_arg(args, "live")?;
    let call_args = args
        .get("args")
        .and_then(Value::as_array)
        .ok_or_else(|| OpError::args("args must be the list of createHistoryStream arguments"))?;
    let now = args
        .get("now")
        .and_then(Value::as_u64)
        .ok_or_else(|| OpError::args("now must be a time in ms"))?;

    let mut node = Node::new(
        Keypair::from_seed(NODE_SEED),
        NodeConfig::default(),
        Box::new(MemoryStore::new()),
        Box::new(MemoryBlobs::new()),
    )
    .map_err(|e| internal(format!("node: {e}")))?;
    add_all(&mut node, &feed, "feed", now)?;
    node.connected(PEER, Keypair::from_seed(PEER_SEED).id(), false, now);

    let mut client = Endpoint::new(Limits::default());
    let stream = client.call(
        &["createHistoryStream"],
        CallType::Source,
        Value::Array(call_args.clone()),
    );
    let mut got = Answers::default();
    collect(&mut node, &mut client, stream, &mut got)?;
    node.received(PEER, &client.take_output(), now);
    collect(&mut node, &mut client, stream, &mut got)?;
    add_all(&mut node, &live, "live", now)?;
    collect(&mut node, &mut client, stream, &mut got)?;

    Ok(json!({
        "items": got.items,
        "ended": got.ended,
        "error": error_kind(call_args, &got.error)?,
    }))
}
