//! Fuzzes the reference node past the crypto: a secret handshake between the node's key and a
//! peer's key is completed once (fixed keys and ephemeral secrets), and each input is box-stream
//! *plaintext* the peer sends on that session. The input is encrypted with the session's real
//! keys, cut into writes, decrypted by the node's side of the box-stream and handed to the node,
//! so every execution spends its time in muxrpc, EBT, history and ingest rather than in the
//! handshake or in signing a fixture (the node's store is built once and cloned).
//!
//! Input layout: the first byte `k`: `k & 1` we dialled, `k & 2` legacy replication, `k & 4`
//! end with a box-stream goodbye; the second byte `w` sets the write size (`1 + w * 16` bytes of
//! wire); the rest is the plaintext, sent as box-stream bodies of at most 4096 bytes.
//! `fuzz/corpus/node_session/` seeds it with well-formed sessions (EBT notes and signed messages
//! of the peer's feed, history calls, blob wants, calls of every type).
//!
//! Invariants:
//! - no panic in the box-stream, the node or its driver-facing calls;
//! - the box-stream decrypts exactly the bodies that were encrypted (no error);
//! - what the node sends back is a valid box-stream and decodes as muxrpc at the peer, with no
//!   protocol fault;
//! - nothing reaches the store unvalidated: the stored messages of the peer's feed validate and
//!   chain, and the node's own feed is unchanged.

#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use ssb_impl::boxstream::{Decrypter, Encrypter, Event};
use ssb_impl::feed::validate::FeedValidator;
use ssb_impl::legacy::message::sign_message;
use ssb_impl::legacy::{parse, to_signing_units, Mode, Object, Value};
use ssb_impl::muxrpc::{Endpoint, Limits};
use ssb_impl::node::runtime::MAIN_NETWORK_KEY;
use ssb_impl::node::{ConnId, Node, NodeConfig, Output, Replication};
use ssb_impl::shs::{self, Outcome};
use ssb_impl::store::{MemoryBlobs, MemoryStore, Store, StoredMsg};
use ssb_impl::Keypair;

const NODE_SEED: [u8; 32] = [1; 32];
const PEER_SEED: [u8; 32] = [2; 32];
const OWN_MESSAGES: u32 = 3;

/// The session: (peer's outcome, node's outcome).
fn session() -> &'static (Outcome, Outcome) {
    static S: OnceLock<(Outcome, Outcome)> = OnceLock::new();
    S.get_or_init(|| {
        let node = Keypair::from_seed(NODE_SEED);
        let mut server =
            shs::Server::with_ephemeral(MAIN_NETWORK_KEY, node.clone(), shs::Server::accept_all(), [4; 32]);
        let mut client = shs::Client::with_ephemeral(
            MAIN_NETWORK_KEY,
            Keypair::from_seed(PEER_SEED),
            node.id(),
            [3; 32],
        )
        .expect("client");
        shs::run_pair(&mut client, &mut server).expect("handshake")
    })
}

/// The node's store: its own feed of a few posts.
fn base_store() -> &'static MemoryStore {
    static S: OnceLock<MemoryStore> = OnceLock::new();
    S.get_or_init(|| {
        let keys = Keypair::from_seed(NODE_SEED);
        let mut store = MemoryStore::new();
        let mut prev = None;
        for seq in 1..=OWN_MESSAGES {
            let mut content = Object::new();
            content.insert("type".into(), Value::string("post"));
            content.insert("text".into(), Value::string(&format!("own {seq}")));
            let ts = 1e12 + f64::from(seq);
            let (o, id) = sign_message(&keys, prev, seq, ts, Value::Object(content), None);
            let value = String::from_utf16(&to_signing_units(&Value::Object(o))).expect("UTF-16");
            store
                .append(&[StoredMsg {
                    id,
                    author: keys.id(),
                    sequence: u64::from(seq),
                    timestamp: ts,
                    received: 0,
                    value,
                }])
                .expect("append");
            prev = Some(id);
        }
        store
    })
}

fuzz_target!(|input: &[u8]| {
    if input.len() < 2 {
        return;
    }
    let (mode, write) = (input[0], 1 + input[1] as usize * 16);
    let plaintext = &input[2..];
    let (peer_side, node_side) = session();
    let me = Keypair::from_seed(NODE_SEED);
    let peer = Keypair::from_seed(PEER_SEED).id();
    let config = NodeConfig {
        replicate: [peer].into(),
        replication: if mode & 2 == 0 {
            Replication::Ebt
        } else {
            Replication::Legacy
        },
        high_water: 16 * 1024,
        ..NodeConfig::default()
    };
    let mut node = Node::new(
        me.clone(),
        config,
        Box::new(base_store().clone()),
        Box::new(MemoryBlobs::new()),
    )
    .expect("node");
    let conn = ConnId(1);
    node.connected(conn, peer, mode & 1 == 1, 2_000);

    // The peer's side: encrypt the plaintext.
    let mut enc = Encrypter::new(peer_side.encrypt_key, peer_side.encrypt_nonce);
    let mut wire = Vec::new();
    enc.encrypt(plaintext, &mut wire);
    if mode & 4 != 0 {
        enc.goodbye(&mut wire);
    }
    // The node's side: decrypt in writes of `write` bytes, hand the bodies to the node.
    let mut dec = Decrypter::new(node_side.decrypt_key, node_side.decrypt_nonce);
    let mut node_enc = Encrypter::new(node_side.encrypt_key, node_side.encrypt_nonce);
    let mut back = Vec::new();
    let mut received = Vec::new();
    let mut closed = false;
    let mut events = Vec::new();
    for (i, part) in wire.chunks(write).enumerate() {
        if closed {
            break;
        }
        events.clear();
        dec.feed(part, &mut events).expect("a valid box-stream decrypts");
        for ev in events.drain(..) {
            match ev {
                Event::Body(b) => {
                    received.extend_from_slice(&b);
                    node.received(conn, &b, 3_000 + i as u64);
                }
                Event::Goodbye => closed = true,
            }
        }
        for out in node.take_outputs() {
            match out {
                Output::Send { bytes, .. } => node_enc.encrypt(&bytes, &mut back),
                Output::Close { .. } => closed = true,
                Output::Dial { .. } => {}
            }
        }
        node.drained(conn);
        node.tick(4_000 + i as u64);
    }
    assert_eq!(
        received,
        plaintext[..received.len()],
        "bodies are what was encrypted"
    );
    node.disconnected(conn);

    // The peer reads what the node sent: a valid box-stream carrying valid muxrpc.
    let mut peer_dec = Decrypter::new(peer_side.decrypt_key, peer_side.decrypt_nonce);
    let mut peer_rpc = Endpoint::new(Limits::default());
    let mut bodies = Vec::new();
    peer_dec
        .feed(&back, &mut bodies)
        .expect("the node's box-stream decrypts");
    let mut rpc_events = Vec::new();
    for ev in bodies {
        if let Event::Body(b) = ev {
            peer_rpc
                .receive(&b, &mut rpc_events)
                .expect("the node sends valid muxrpc");
            rpc_events.clear();
        }
    }

    // Nothing unvalidated was stored; the node's own feed is as it was.
    let mut v = FeedValidator::new(None);
    for m in node.store().range(&peer, 1, usize::MAX).expect("range") {
        let value = parse(m.value.as_bytes(), Mode::JsCompat).expect("stored JSON parses");
        v.append(&value).expect("a stored message validates");
    }
    assert_eq!(
        node.store().latest(&me.id()).map(|l| l.sequence),
        Some(u64::from(OWN_MESSAGES))
    );
});
