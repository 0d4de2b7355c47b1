//! Two reference nodes over real TCP on 127.0.0.1: replication by EBT and by createHistoryStream
//! in both directions, live updates, follow-graph scope, blobs each way, and a hostile client
//! that is cut off.

use std::time::Duration;

use serde_json::json;
use ssb_impl::node::client::Client;
use ssb_impl::node::runtime::{self, NodeHandle, RuntimeConfig, MAIN_NETWORK_KEY};
use ssb_impl::node::{Node, NodeConfig, PeerAddr, Replication};
use ssb_impl::store::{BlobId, MemoryBlobs, MemoryStore};
use ssb_impl::Keypair;

async fn start(seed: u8, config: NodeConfig) -> NodeHandle {
    let keys = Keypair::from_seed([seed; 32]);
    let node = Node::new(
        keys.clone(),
        config,
        Box::new(MemoryStore::new()),
        Box::new(MemoryBlobs::new()),
    )
    .unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let rt = RuntimeConfig {
        seed: [seed; 32],
        tick_ms: 50,
        ..RuntimeConfig::default()
    };
    runtime::spawn(node, keys, listener, rt)
}

fn addr(h: &NodeHandle) -> PeerAddr {
    PeerAddr {
        host: "127.0.0.1".into(),
        port: h.addr.port(),
        key: h.id,
    }
}

async fn publish_n(h: &NodeHandle, n: usize) {
    for i in 0..n {
        h.publish(json!({"type": "post", "text": format!("message {i}")}))
            .await
            .unwrap();
    }
}

/// Replicates `n` messages each way with one method; checks ids match on both sides.
async fn both_ways(method: Replication, n: u64) {
    let a = start(
        1,
        NodeConfig {
            replication: method,
            ..NodeConfig::default()
        },
    )
    .await;
    // b checks signatures on two threads, a on one: both paths are exercised.
    let b = start(
        2,
        NodeConfig {
            replication: method,
            verify_threads: 2,
            ..NodeConfig::default()
        },
    )
    .await;
    publish_n(&a, n as usize).await;
    publish_n(&b, n as usize).await;
    a.replicate(b.id);
    b.replicate(a.id);
    a.connect(addr(&b));
    assert!(
        b.wait_for(a.id, n, Duration::from_secs(60)).await,
        "b did not get a's feed"
    );
    assert!(
        a.wait_for(b.id, n, Duration::from_secs(60)).await,
        "a did not get b's feed"
    );
    for seq in [1, n / 2, n] {
        assert_eq!(
            a.get(a.id, seq).await.unwrap().id,
            b.get(a.id, seq).await.unwrap().id
        );
    }
    // Live: a new message reaches the other side over the open connection.
    a.publish(json!({"type": "post", "text": "live"})).await.unwrap();
    assert!(
        b.wait_for(a.id, n + 1, Duration::from_secs(10)).await,
        "live update missing"
    );
    let events = b.events().await;
    assert!(
        !events
            .iter()
            .any(|e| matches!(e, ssb_impl::node::NodeEvent::Rejected { .. })),
        "{events:?}"
    );
    a.stop().await;
    b.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ebt_replicates_both_ways() {
    both_ways(Replication::Ebt, 1000).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn legacy_replicates_both_ways() {
    both_ways(Replication::Legacy, 1000).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn follows_decide_the_scope() {
    let a = start(3, NodeConfig::default()).await;
    let b = start(4, NodeConfig::default()).await;
    let c = start(5, NodeConfig::default()).await;
    publish_n(&c, 5).await;
    publish_n(&b, 5).await;
    // b follows c; a follows b: a replicates c at two hops through b.
    b.publish(json!({"type": "contact", "contact": c.id.to_string(), "following": true}))
        .await
        .unwrap();
    a.publish(json!({"type": "contact", "contact": b.id.to_string(), "following": true}))
        .await
        .unwrap();
    b.connect(addr(&c));
    assert!(b.wait_for(c.id, 5, Duration::from_secs(10)).await);
    a.connect(addr(&b));
    assert!(a.wait_for(b.id, 6, Duration::from_secs(10)).await);
    assert!(
        a.wait_for(c.id, 5, Duration::from_secs(10)).await,
        "two hops away"
    );
    // An unfollow shrinks nothing already stored, but a block stops replication of new ones.
    a.publish(json!({"type": "contact", "contact": c.id.to_string(), "blocking": true}))
        .await
        .unwrap();
    c.publish(json!({"type": "post", "text": "after the block"}))
        .await
        .unwrap();
    assert!(b.wait_for(c.id, 6, Duration::from_secs(10)).await);
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(a.latest(c.id).await, 5, "a blocked c and still got its message");
    for h in [a, b, c] {
        h.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn blobs_fetched_each_way() {
    let a = start(6, NodeConfig::default()).await;
    let b = start(7, NodeConfig::default()).await;
    let big: Vec<u8> = (0..300_000u32).map(|i| (i % 251) as u8).collect();
    let small = b"a small blob".to_vec();
    let ida = a.add_blob(big.clone()).await.unwrap();
    let idb = b.add_blob(small.clone()).await.unwrap();
    assert_eq!(ida, BlobId::of(&big));
    a.connect(addr(&b));
    b.want_blob(ida);
    a.want_blob(idb);
    assert!(
        b.wait_blob(ida, Duration::from_secs(10)).await,
        "b did not fetch a's blob"
    );
    assert!(
        a.wait_blob(idb, Duration::from_secs(10)).await,
        "a did not fetch b's blob"
    );
    assert_eq!(b.has_blob(ida).await, Some(big.len() as u64));
    a.stop().await;
    b.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_clients_are_cut_off() {
    let a = start(8, NodeConfig::default()).await;
    publish_n(&a, 3).await;
    let evil = Keypair::from_seed([9; 32]);
    let target = a.addr.to_string();
    let connect = || Client::connect(&target, MAIN_NETWORK_KEY, evil.clone(), a.id, [1; 32]);

    // A header claiming a 2 GiB body: cut off before any body byte.
    let mut c = connect().await.unwrap();
    c.write_raw(&[0x02, 0x7f, 0xff, 0xff, 0xff, 0, 0, 0, 1])
        .await
        .unwrap();
    assert!(
        c.wait_closed(Duration::from_secs(5)).await.is_some(),
        "huge body not refused"
    );

    // Garbage after the handshake (body type 3).
    let mut c = connect().await.unwrap();
    c.write_raw(&[0x0b, 0, 0, 0, 1, 0, 0, 0, 1, 0]).await.unwrap();
    assert!(
        c.wait_closed(Duration::from_secs(5)).await.is_some(),
        "garbage not refused"
    );

    // Thousands of calls: every one answered, and the node still serves others afterwards.
    let mut c = connect().await.unwrap();
    for _ in 0..3000 {
        c.rpc
            .call(&["whoami"], ssb_impl::muxrpc::CallType::Async, json!([]));
    }
    let mut answered = 0;
    while answered < 3000 {
        match c.next_event(Duration::from_secs(10)).await.unwrap() {
            ssb_impl::muxrpc::RpcEvent::Response { result, .. } => {
                assert!(result.is_ok(), "{result:?}");
                answered += 1;
            }
            other => panic!("unexpected {other:?}"),
        }
    }
    // Opening streams beyond the limit gets refusals, not memory.
    for _ in 0..1100 {
        c.rpc.call(
            &["createHistoryStream"],
            ssb_impl::muxrpc::CallType::Source,
            json!([{"id": a.id.to_string(), "live": true, "old": false}]),
        );
    }
    let mut refused = 0;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while refused < 1100 - 1024 && tokio::time::Instant::now() < deadline {
        if let Ok(ssb_impl::muxrpc::RpcEvent::End { error: Some(_), .. }) =
            c.next_event(Duration::from_secs(5)).await
        {
            refused += 1;
        }
    }
    assert!(refused >= 1100 - 1024, "only {refused} streams refused");
    // A message that is not valid never reaches the store.
    let mut c2 = connect().await.unwrap();
    let whoami = c2
        .call(&["whoami"], json!([]), Duration::from_secs(5))
        .await
        .unwrap();
    assert_eq!(whoami.to_json().unwrap()["id"], a.id.to_string());
    a.stop().await;
}

/// Two peers hold the same feed; a third replicates it from both. EBT asks one of them to send
/// and keeps the other lazy, so few messages arrive twice; when the sender goes away, the lazy
/// peer is asked and new messages still arrive.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ebt_keeps_one_sender_per_feed_and_repairs() {
    let p1 = start(20, NodeConfig::default()).await;
    let p2 = start(21, NodeConfig::default()).await;
    let x = start(22, NodeConfig::default()).await;
    publish_n(&p1, 2000).await;
    p2.replicate(p1.id);
    p2.connect(addr(&p1));
    assert!(p2.wait_for(p1.id, 2000, Duration::from_secs(30)).await);
    x.replicate(p1.id);
    x.connect(addr(&p1));
    x.connect(addr(&p2));
    assert!(x.wait_for(p1.id, 2000, Duration::from_secs(30)).await);
    let dups = x.stats().await.duplicates;
    assert!(dups < 400, "{dups} of 2000 messages arrived twice");
    // The connection to p2 goes away; p1 (the author) publishes on and x keeps up.
    p2.stop().await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    publish_n(&p1, 50).await;
    assert!(
        x.wait_for(p1.id, 2050, Duration::from_secs(10)).await,
        "no new messages after the sender left"
    );
    p1.stop().await;
    x.stop().await;
}
