//! Fuzzes the reference node as a hostile peer sees it: arbitrary bytes arrive on a connection
//! (after the handshake) of a node that holds a small feed and replicates the peer.
//!
//! Input layout: the first byte `k % 4` picks the connection's start (we dialled or not; EBT or
//! legacy), the next byte `c % 8` the number of chunk-size bytes that follow (chunks of `1 + b`
//! bytes, used in a cycle), and the rest is what the peer sends. A few well-formed calls
//! (`ebt.replicate`, `createHistoryStream`, `blobs.createWants`) are prepended when the third byte
//! is odd, so the fuzzer starts inside open streams.
//!
//! Invariants:
//! - no panic in `received`, `drained`, `tick` or `disconnected`;
//! - nothing reaches the store unvalidated: every stored message of the peer's feed validates
//!   and chains;
//! - the node's queued output stays bounded (the high-water mark plus one batch of answers).

#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use serde_json::json;
use ssb_impl::feed::validate::FeedValidator;
use ssb_impl::legacy::{parse, Mode};
use ssb_impl::muxrpc::{Body, CallType, Endpoint, Limits};
use ssb_impl::node::{ConnId, Node, NodeConfig, Output, Replication};
use ssb_impl::store::{MemoryBlobs, MemoryStore, Store};
use ssb_impl::Keypair;

fn preamble() -> &'static Vec<u8> {
    static P: OnceLock<Vec<u8>> = OnceLock::new();
    P.get_or_init(|| {
        let mut e = Endpoint::new(Limits::default());
        let peer = Keypair::from_seed([2; 32]).id().to_string();
        let me = Keypair::from_seed([1; 32]).id().to_string();
        let ebt = e.call(&["ebt", "replicate"], CallType::Duplex, json!([{"version": 3}]));
        e.send(ebt, Body::json(&json!({ me.clone(): 0, peer.clone(): 2 })));
        e.call(&["createHistoryStream"], CallType::Source, json!([{"id": me, "live": true}]));
        e.call(&["blobs", "createWants"], CallType::Source, json!([]));
        e.take_output()
    })
}

fuzz_target!(|input: &[u8]| {
    if input.len() < 3 {
        return;
    }
    let (mode, nchunks, pre) = (input[0] % 4, (input[1] % 8) as usize, input[2] & 1 == 1);
    let rest = &input[3..];
    let (sizes, stream) = rest.split_at(nchunks.min(rest.len()));
    let me = Keypair::from_seed([1; 32]);
    let peer = Keypair::from_seed([2; 32]).id();
    let config = NodeConfig {
        replicate: [peer].into(),
        replication: if mode & 2 == 0 { Replication::Ebt } else { Replication::Legacy },
        high_water: 16 * 1024,
        ..NodeConfig::default()
    };
    let mut node = Node::new(me, config, Box::new(MemoryStore::new()), Box::new(MemoryBlobs::new())).unwrap();
    for i in 0..3 {
        node.publish(&json!({"type": "post", "text": i}), 1_000 + i).unwrap();
    }
    let conn = ConnId(1);
    node.connected(conn, peer, mode & 1 == 1, 2_000);
    let mut bytes = Vec::new();
    if pre {
        bytes.extend_from_slice(preamble());
    }
    bytes.extend_from_slice(stream);
    let mut at = 0;
    let mut i = 0;
    let mut closed = false;
    while at < bytes.len() && !closed {
        let n = sizes.get(i % sizes.len().max(1)).map_or(bytes.len(), |b| 1 + *b as usize);
        let end = (at + n).min(bytes.len());
        node.received(conn, &bytes[at..end], 3_000 + i as u64);
        at = end;
        i += 1;
        for out in node.take_outputs() {
            match out {
                Output::Send { bytes, .. } => assert!(bytes.len() <= 16 * 1024 + 8 * 1024 * 1024),
                Output::Close { .. } => closed = true,
                Output::Dial { .. } => {}
            }
        }
        node.drained(conn);
        node.tick(4_000);
    }
    node.disconnected(conn);
    // What the node stored of the peer's feed validates as a feed.
    let mut v = FeedValidator::new(None);
    for m in node.store().range(&peer, 1, usize::MAX).unwrap() {
        let value = parse(m.value.as_bytes(), Mode::JsCompat).unwrap();
        v.append(&value).expect("a stored message validates");
    }
});
