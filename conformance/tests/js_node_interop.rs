//! Interop of the reference node with the JavaScript stack over real TCP on 127.0.0.1
//! (`conformance/adapters/js-node/peer.js`): EBT with secret-stack 6 + ssb-db2 6 + ssb-ebt 9
//! in both directions and with either side dialling; legacy createHistoryStream replication with
//! ssb-server 16 (ssb-replicate, EBT off); createHistoryStream read each way; a blob fetched each
//! way; and the live-peer check run against a JS peer, every failure documented.

use std::path::Path;
use std::time::Duration;

use serde_json::{json, Value};
use ssb_conformance::deviations::Deviations;
use ssb_conformance::js_peer::{free_port, fresh_dir, JsPeer, JsPeerOptions, Stack};
use ssb_conformance::live::{self, LiveConfig};
use ssb_conformance::rules::Rules;
use ssb_conformance::runner::Status;
use ssb_conformance::workspace_root;
use ssb_impl::legacy::message::check_message;
use ssb_impl::legacy::{self as lg, Mode};
use ssb_impl::node::client::Client;
use ssb_impl::node::runtime::{self, NodeHandle, MAIN_NETWORK_KEY};
use ssb_impl::node::{NodeConfig, PeerAddr, Replication};
use ssb_impl::store::BlobId;
use ssb_impl::{FeedId, Keypair};

const WAIT: Duration = Duration::from_secs(60);

fn js_peer(dir: &Path, stack: Stack, seed: u8, ebt: bool) -> JsPeer {
    JsPeer::start(&JsPeerOptions {
        stack,
        port: free_port(),
        data: fresh_dir(dir, &format!("{}-{seed}", stack.name())),
        seed_hex: hex::encode([seed; 32]),
        ebt,
        timeout_ms: None,
    })
    .unwrap_or_else(|e| panic!("JS peer: {e}"))
}

async fn our_node(seed: u8, replication: Replication, replicate: &[FeedId]) -> NodeHandle {
    let config = NodeConfig {
        replication,
        replicate: replicate.iter().copied().collect(),
        ..NodeConfig::default()
    };
    runtime::spawn_in_memory(Keypair::from_seed([seed; 32]), config)
        .await
        .unwrap()
}

async fn publish(h: &NodeHandle, n: u64) {
    for i in 0..n {
        h.publish(json!({"type": "post", "text": format!("from rust {i}")}))
            .await
            .unwrap();
    }
}

fn addr_of(js: &JsPeer) -> PeerAddr {
    js.addr().parse().unwrap()
}

/// n messages each way between our node and a JS peer, then one live message each way.
async fn replicate_both_ways(js: &mut JsPeer, ours: &NodeHandle, n: u64, we_dial: bool) {
    let js_id = FeedId::parse(&js.id).unwrap();
    js.cmd("publish", json!({"n": n, "monotonic_ts": true})).unwrap();
    publish(ours, n).await;
    js.cmd("replicate", json!({"feed": ours.id.to_string(), "on": true}))
        .unwrap();
    if we_dial {
        ours.connect(addr_of(js));
    } else {
        js.cmd(
            "connect",
            json!({"host": "127.0.0.1", "port": ours.addr.port(), "key": ours.id.to_string()}),
        )
        .unwrap();
    }
    assert!(
        ours.wait_for(js_id, n, WAIT).await,
        "our node did not get the JS feed"
    );
    js.cmd(
        "wait",
        json!({"feed": ours.id.to_string(), "seq": n, "timeout_ms": 60_000}),
    )
    .unwrap();
    // Same messages on both sides.
    for seq in [1, n / 2, n] {
        let theirs = js.cmd("get", json!({"feed": js.id, "seq": seq})).unwrap();
        assert_eq!(
            theirs["key"].as_str(),
            Some(ours.get(js_id, seq).await.unwrap().id.to_string().as_str())
        );
        let mine = js
            .cmd("get", json!({"feed": ours.id.to_string(), "seq": seq}))
            .unwrap();
        assert_eq!(
            mine["key"].as_str(),
            Some(ours.get(ours.id, seq).await.unwrap().id.to_string().as_str())
        );
    }
    // Live, over the open connection.
    publish(ours, 1).await;
    js.cmd("publish", json!({"n": 1, "monotonic_ts": true})).unwrap();
    js.cmd(
        "wait",
        json!({"feed": ours.id.to_string(), "seq": n + 1, "timeout_ms": 30_000}),
    )
    .unwrap();
    assert!(ours.wait_for(js_id, n + 1, WAIT).await, "live JS message missing");
    let rejected: Vec<_> = ours
        .events()
        .await
        .into_iter()
        .filter(|e| matches!(e, ssb_impl::node::NodeEvent::Rejected { .. }))
        .collect();
    assert!(rejected.is_empty(), "{rejected:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ebt_with_db2_they_dial() {
    let tmp = tempfile::tempdir().unwrap();
    let mut js = js_peer(tmp.path(), Stack::Db2, 31, true);
    let js_id = FeedId::parse(&js.id).unwrap();
    let ours = our_node(32, Replication::Ebt, &[js_id]).await;
    replicate_both_ways(&mut js, &ours, 1000, false).await;
    ours.stop().await;
    js.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ebt_with_db2_we_dial() {
    let tmp = tempfile::tempdir().unwrap();
    let mut js = js_peer(tmp.path(), Stack::Db2, 33, true);
    let js_id = FeedId::parse(&js.id).unwrap();
    let ours = our_node(34, Replication::Ebt, &[js_id]).await;
    replicate_both_ways(&mut js, &ours, 1000, true).await;
    ours.stop().await;
    js.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn legacy_with_ssb_server() {
    let tmp = tempfile::tempdir().unwrap();
    let mut js = js_peer(tmp.path(), Stack::Classic, 35, false);
    let js_id = FeedId::parse(&js.id).unwrap();
    let ours = our_node(36, Replication::Legacy, &[js_id]).await;
    replicate_both_ways(&mut js, &ours, 1000, true).await;
    ours.stop().await;
    js.stop();
}

fn ids(values: &[Value]) -> Vec<String> {
    values
        .iter()
        .map(|v| {
            let text = serde_json::to_string(v.get("value").unwrap_or(v)).unwrap();
            let parsed = lg::parse(text.as_bytes(), Mode::JsCompat).unwrap();
            check_message(&parsed, None).map_or("invalid".into(), |c| c.id.to_string())
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn create_history_stream_read_each_way() {
    let tmp = tempfile::tempdir().unwrap();
    let mut js = js_peer(tmp.path(), Stack::Db2, 37, true);
    let ours = our_node(38, Replication::Ebt, &[]).await;
    publish(&ours, 50).await;
    js.cmd("publish", json!({"n": 50, "monotonic_ts": true})).unwrap();
    js.cmd(
        "connect",
        json!({"host": "127.0.0.1", "port": ours.addr.port(), "key": ours.id.to_string()}),
    )
    .unwrap();
    // JS reads our feed.
    let got = js
        .cmd(
            "remote",
            json!({"key": ours.id.to_string(), "method": ["createHistoryStream"], "type": "source",
                   "args": [{"id": ours.id.to_string(), "seq": 10, "keys": false}]}),
        )
        .unwrap();
    let values = got["values"].as_array().unwrap();
    let mut want = Vec::new();
    for seq in 10..=50 {
        want.push(ours.get(ours.id, seq).await.unwrap().id.to_string());
    }
    assert_eq!(ids(values), want, "JS read of our createHistoryStream");
    assert_eq!(got["ended"], json!(true));
    // We read the JS feed.
    let js_id = FeedId::parse(&js.id).unwrap();
    let mut c = Client::connect(
        &format!("127.0.0.1:{}", js.port),
        MAIN_NETWORK_KEY,
        Keypair::from_seed([39; 32]),
        js_id,
        [39; 32],
    )
    .await
    .unwrap();
    let r = c
        .source(
            &["createHistoryStream"],
            json!([{"id": js.id, "keys": false}]),
            1000,
            Duration::from_secs(10),
        )
        .await
        .unwrap();
    assert_eq!(r.items.len(), 50);
    let mut want = Vec::new();
    for seq in 1..=50 {
        want.push(js.cmd("get", json!({"feed": js.id, "seq": seq})).unwrap()["key"].clone());
    }
    let got: Vec<Value> = r
        .items
        .iter()
        .map(|b| {
            let v = lg::parse(&b.bytes, Mode::JsCompat).unwrap();
            json!(check_message(&v, None).unwrap().id.to_string())
        })
        .collect();
    assert_eq!(got, want, "our read of ssb-db2's createHistoryStream");
    c.close().await;
    ours.stop().await;
    js.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn blobs_each_way_with_db2() {
    let tmp = tempfile::tempdir().unwrap();
    let mut js = js_peer(tmp.path(), Stack::Db2, 40, true);
    let ours = our_node(41, Replication::Ebt, &[]).await;
    let theirs: Vec<u8> = (0..150_000u32).map(|i| (i * 7 % 256) as u8).collect();
    let data_b64 = {
        use base64::Engine;
        base64::engine::general_purpose::STANDARD.encode(&theirs)
    };
    let added = js.cmd("blobAdd", json!({"data_b64": data_b64})).unwrap();
    let their_blob = BlobId::parse(added["blob"].as_str().unwrap()).unwrap();
    assert_eq!(their_blob, BlobId::of(&theirs));
    let mine = b"a blob made by the reference node".to_vec();
    let my_blob = ours.add_blob(mine.clone()).await.unwrap();
    js.cmd(
        "connect",
        json!({"host": "127.0.0.1", "port": ours.addr.port(), "key": ours.id.to_string()}),
    )
    .unwrap();
    ours.want_blob(their_blob);
    assert!(
        ours.wait_blob(their_blob, WAIT).await,
        "our node did not fetch the JS blob"
    );
    let got = js
        .cmd(
            "blobWant",
            json!({"blob": my_blob.to_string(), "timeout_ms": 30_000}),
        )
        .unwrap();
    assert_eq!(got["size"], json!(mine.len()));
    ours.stop().await;
    js.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn live_check_against_a_js_peer_is_documented() {
    let tmp = tempfile::tempdir().unwrap();
    let mut js = js_peer(tmp.path(), Stack::Db2, 42, true);
    let harness = live::harness_keys("default").id();
    js.cmd("replicate", json!({"feed": harness.to_string(), "on": true}))
        .unwrap();
    let deviations =
        Deviations::load(&workspace_root().join("conformance/adapters/js-node/deviations-db2.toml")).unwrap();
    let result = live::run(
        LiveConfig {
            addr: format!("127.0.0.1:{}", js.port),
            peer_id: FeedId::parse(&js.id).unwrap(),
            network_key: MAIN_NETWORK_KEY,
            harness_seed: "default".into(),
            feed_len: 10,
            replicate_timeout: Duration::from_secs(20),
        },
        Rules::builtin(),
        deviations,
    )
    .await
    .unwrap();
    let failed: Vec<_> = result.cases.iter().filter(|c| c.status == Status::Fail).collect();
    assert!(failed.is_empty(), "undocumented failures: {failed:#?}");
    assert!(
        result.count(Status::Pass) >= 15,
        "too few passes: {:#?}",
        result.cases
    );
    js.stop();
}
