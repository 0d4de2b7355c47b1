//! Crash safety of the reference node: `ssb-harness node` publishes on request from a local
//! client (its own key) and is killed with SIGKILL while calls are in flight, three times over;
//! after each kill `ssb-harness doctor` finds no corruption, the node restarts on the same
//! directory, and every message whose publish was acknowledged is stored with the id the
//! acknowledgement named.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::{json, Value};
use ssb_impl::muxrpc::{CallType, RpcEvent};
use ssb_impl::node::client::Client;
use ssb_impl::node::runtime::MAIN_NETWORK_KEY;
use ssb_impl::store::{DiskStore, Store, SyncPolicy};
use ssb_impl::Keypair;

const BIN: &str = env!("CARGO_BIN_EXE_ssb-harness");

fn start_node(dir: &Path) -> (Child, String) {
    let mut child = Command::new(BIN)
        .args(["node", "--listen", "127.0.0.1:0", "--data"])
        .arg(dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start ssb-harness node");
    let mut line = String::new();
    BufReader::new(child.stdout.as_mut().unwrap())
        .read_line(&mut line)
        .expect("ready line");
    let ready: Value = serde_json::from_str(&line).unwrap_or_else(|e| panic!("{e}: {line:?}"));
    (child, ready["listen"].as_str().unwrap().to_string())
}

/// Publishes in a pipeline of 32 calls until `kill_after` acknowledgements, then kills the node
/// with calls still in flight. Returns the acknowledged (sequence, id) pairs.
async fn publish_until_killed(
    keys: &Keypair,
    addr: &str,
    child: &mut Child,
    kill_after: usize,
) -> Vec<(u64, String)> {
    let mut c = Client::connect(addr, MAIN_NETWORK_KEY, keys.clone(), keys.id(), [3; 32])
        .await
        .expect("connect as the node's own key");
    let mut acked = Vec::new();
    let mut sent = 0;
    while acked.len() < kill_after {
        while sent - acked.len() < 32 {
            c.rpc.call(
                &["publish"],
                CallType::Async,
                json!([{"type": "post", "text": format!("crash test {sent}"), "pad": "x".repeat(300)}]),
            );
            sent += 1;
        }
        match c
            .next_event(Duration::from_secs(10))
            .await
            .expect("publish answer")
        {
            RpcEvent::Response { result, .. } => {
                let v = result.expect("publish ok").to_json().unwrap();
                acked.push((
                    v["value"]["sequence"].as_u64().unwrap(),
                    v["key"].as_str().unwrap().to_string(),
                ));
            }
            other => panic!("unexpected {other:?}"),
        }
    }
    // More calls on the wire, then SIGKILL mid-write.
    for i in 0..32 {
        c.rpc.call(
            &["publish"],
            CallType::Async,
            json!([{"type": "post", "text": format!("in flight {i}")}]),
        );
    }
    let _ = c.flush().await;
    child.kill().expect("SIGKILL");
    let _ = child.wait();
    acked
}

#[test]
fn sigkill_loses_no_acknowledged_message() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("node");
    std::fs::create_dir_all(&dir).unwrap();
    let keys = Keypair::from_seed([42; 32]);
    std::fs::write(dir.join("secret"), keys.to_secret_file()).unwrap();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let mut all_acked = Vec::new();
    for round in 0..3 {
        let (mut child, addr) = start_node(&dir);
        let acked = rt.block_on(publish_until_killed(&keys, &addr, &mut child, 150 + 50 * round));
        all_acked.extend(acked);
        let out = Command::new(BIN).arg("doctor").arg(&dir).output().unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "round {round}: doctor found problems:\n{text}"
        );
    }
    // Restart once more: the node opens the directory and serves the feed.
    let (mut child, addr) = start_node(&dir);
    let served = rt.block_on(async {
        let mut c = Client::connect(&addr, MAIN_NETWORK_KEY, keys.clone(), keys.id(), [4; 32])
            .await
            .unwrap();
        c.call(&["ctl", "status"], json!([]), Duration::from_secs(5))
            .await
            .unwrap()
            .to_json()
            .unwrap()
    });
    child.kill().unwrap();
    let _ = child.wait();
    let (store, _) = DiskStore::open(&dir, SyncPolicy::Never).unwrap();
    let latest = store.latest(&keys.id()).unwrap().sequence;
    assert_eq!(served["feeds"][keys.id().to_string()].as_u64(), Some(latest));
    assert!(all_acked.len() >= 600);
    for (seq, id) in &all_acked {
        let m = store
            .get(&keys.id(), *seq)
            .unwrap()
            .unwrap_or_else(|| panic!("acknowledged {seq} lost"));
        assert_eq!(&m.id.to_string(), id, "sequence {seq} holds another message");
    }
    let out = Command::new(BIN).arg("doctor").arg(&dir).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stdout));
}
