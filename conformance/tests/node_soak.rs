//! Soak: `ssb-harness node` (a real process, disk store) under steady replication load from
//! several peers, its own key publishing through the local API, and hostile connections
//! (garbage, half handshakes, connect-and-close churn), for a bounded time. Checked: the
//! process's resident memory and open descriptors stay bounded (sampled from /proc), it
//! replicates every message the peers published, and after it is killed every message it
//! acknowledged or replicated is in its store with the right id.
//!
//! Bounded in time and count: `SSB_SOAK_SECS` (default 45) of load, then at most 30 s for
//! replication to finish and 12 s for hostile connections to time out. Figures are printed
//! (run with `--nocapture` to see them).

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::json;
use ssb_impl::node::client::Client;
use ssb_impl::node::runtime::{self, MAIN_NETWORK_KEY};
use ssb_impl::node::{NodeConfig, PeerAddr};
use ssb_impl::store::{DiskStore, Store, SyncPolicy};
use ssb_impl::{FeedId, Keypair};

const BIN: &str = env!("CARGO_BIN_EXE_ssb-harness");
const PEERS: usize = 4;
/// Messages each peer publishes per second, and the node's own key.
const PEER_RATE: u64 = 25;
const OWN_RATE: u64 = 10;
/// Hostile connections open at once, at most; and in all, at most.
const HOSTILE_AT_ONCE: usize = 24;
const HOSTILE_MAX: u64 = 20_000;

fn node_keys(seed: &str) -> Keypair {
    Keypair::from_seed(ssb_impl::crypto::sha256(
        format!("ssb-harness node seed:{seed}").as_bytes(),
    ))
}

fn start_node(dir: &Path, replicate: &[FeedId]) -> (Child, String) {
    let mut cmd = Command::new(BIN);
    cmd.args(["node", "--listen", "127.0.0.1:0", "--seed", "soak", "--data"])
        .arg(dir);
    for f in replicate {
        cmd.arg("--replicate").arg(f.to_string());
    }
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start ssb-harness node");
    let mut line = String::new();
    BufReader::new(child.stdout.as_mut().unwrap())
        .read_line(&mut line)
        .expect("ready line");
    let ready: serde_json::Value = serde_json::from_str(&line).unwrap_or_else(|e| panic!("{e}: {line:?}"));
    (child, ready["listen"].as_str().unwrap().to_string())
}

/// Resident memory (KiB) and open descriptors of a process.
fn sample(pid: u32) -> (u64, usize) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let rss = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0);
    let fds = std::fs::read_dir(format!("/proc/{pid}/fd")).map_or(0, |d| d.count());
    (rss, fds)
}

/// One hostile connection, chosen by `i`: garbage, a half handshake, or connect and close.
fn hostile(addr: &str, i: u64) {
    let Ok(mut s) = std::net::TcpStream::connect(addr) else {
        return;
    };
    let _ = s.set_write_timeout(Some(Duration::from_millis(200)));
    match i % 3 {
        0 => {
            let junk: Vec<u8> = (0..256).map(|k| (k as u64 * 31 + i) as u8).collect();
            let _ = s.write_all(&junk);
        }
        1 => {
            // The first 32 of the 64 bytes of a client hello, then silence for a while.
            let _ = s.write_all(&[0x42; 32]);
            std::thread::sleep(Duration::from_millis(300));
        }
        _ => {}
    }
}

#[test]
#[cfg(target_os = "linux")]
fn a_node_under_load_and_attack_stays_bounded_and_loses_nothing() {
    let secs: u64 = std::env::var("SSB_SOAK_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(45);
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("node");
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let peer_keys: Vec<Keypair> = (0..PEERS)
        .map(|i| Keypair::from_seed([100 + i as u8; 32]))
        .collect();
    let ids: Vec<FeedId> = peer_keys.iter().map(Keypair::id).collect();
    let (mut child, addr) = start_node(&dir, &ids);
    let pid = child.id();
    let me = node_keys("soak");
    let (host, port) = addr.rsplit_once(':').unwrap();
    let node_addr = PeerAddr {
        host: host.to_string(),
        port: port.parse().unwrap(),
        key: me.id(),
    };

    // The peers: in-memory nodes that dial the node and publish steadily.
    let peers: Vec<_> = rt.block_on(async {
        let mut v = Vec::new();
        for k in &peer_keys {
            let h = runtime::spawn_in_memory(k.clone(), NodeConfig::default())
                .await
                .unwrap();
            h.connect(node_addr.clone());
            v.push(h);
        }
        v
    });
    let start = Instant::now();
    let warm = sample(pid);

    // Hostile connections on threads, bounded in number and time.
    let stop_hostile = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let hostile_done = Arc::new(AtomicU64::new(0));
    let hostile_threads: Vec<_> = (0..HOSTILE_AT_ONCE)
        .map(|t| {
            let (addr, stop, done) = (addr.clone(), stop_hostile.clone(), hostile_done.clone());
            std::thread::spawn(move || {
                let mut i = t as u64;
                while !stop.load(Ordering::Relaxed) && done.load(Ordering::Relaxed) < HOSTILE_MAX {
                    hostile(&addr, i);
                    done.fetch_add(1, Ordering::Relaxed);
                    i += HOSTILE_AT_ONCE as u64;
                }
            })
        })
        .collect();

    // Load: every peer and the node's own key publish at a steady rate; samples every second.
    let mut samples = vec![warm];
    let own_acked = rt.block_on(async {
        let mut own = Client::connect(&addr, MAIN_NETWORK_KEY, me.clone(), me.id(), [6; 32])
            .await
            .expect("connect as the node's key");
        let mut acked: Vec<(u64, String)> = Vec::new();
        let mut tick = tokio::time::interval(Duration::from_millis(100));
        let mut n = 0u64;
        while start.elapsed() < Duration::from_secs(secs) {
            tick.tick().await;
            n += 1;
            for p in &peers {
                for _ in 0..PEER_RATE / 10 {
                    p.publish(json!({"type": "post", "text": format!("soak {n}")}))
                        .await
                        .expect("peer publish");
                }
            }
            if n.is_multiple_of(10 / OWN_RATE.min(10)) {
                let v = own
                    .call(
                        &["publish"],
                        json!([{"type": "post", "text": format!("own {n}")}]),
                        Duration::from_secs(10),
                    )
                    .await
                    .expect("own publish")
                    .to_json()
                    .unwrap();
                acked.push((
                    v["value"]["sequence"].as_u64().unwrap(),
                    v["key"].as_str().unwrap().to_string(),
                ));
            }
            if n.is_multiple_of(10) {
                samples.push(sample(pid));
            }
        }
        own.close().await;
        acked
    });
    stop_hostile.store(true, Ordering::Relaxed);
    for t in hostile_threads {
        t.join().unwrap();
    }
    let published: Vec<u64> = rt.block_on(async {
        let mut v = Vec::new();
        for p in &peers {
            v.push(p.latest(p.id).await);
        }
        v
    });

    // Replication catches up (bounded), and the hostile connections time out.
    let caught_up = rt.block_on(async {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let mut c = Client::connect(&addr, MAIN_NETWORK_KEY, me.clone(), me.id(), [7; 32])
                .await
                .expect("connect");
            let status = c
                .call(&["ctl", "status"], json!([]), Duration::from_secs(10))
                .await
                .expect("status")
                .to_json()
                .unwrap();
            c.close().await;
            let held: Vec<u64> = ids
                .iter()
                .map(|f| status["feeds"][f.to_string()].as_u64().unwrap_or(0))
                .collect();
            if held == published || Instant::now() > deadline {
                break held;
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    });
    std::thread::sleep(Duration::from_secs(12));
    let settled = sample(pid);
    samples.push(settled);
    child.kill().unwrap();
    let _ = child.wait();

    let max_rss = samples.iter().map(|s| s.0).max().unwrap();
    let max_fds = samples.iter().map(|s| s.1).max().unwrap();
    let total_peer: u64 = published.iter().sum();
    eprintln!(
        "soak: {secs} s, {PEERS} peers published {total_peer} messages ({published:?}), own key {} acknowledged, \
         {} hostile connections; RSS {} KiB after warm-up, max {max_rss} KiB, {} KiB settled; \
         descriptors {} after warm-up, max {max_fds}, {} settled",
        own_acked.len(),
        hostile_done.load(Ordering::Relaxed),
        warm.0,
        settled.0,
        warm.1,
        settled.1
    );
    assert_eq!(caught_up, published, "the node replicated every peer message");
    // Bounded: the store is on disk; memory holds indexes (about 150 bytes a message) and
    // buffers. 64 MiB over the warm-up figure is far above that for these counts.
    assert!(
        max_rss < warm.0 + 64 * 1024,
        "RSS grew from {} to {max_rss} KiB",
        warm.0
    );
    // Descriptors come back once the hostile connections are gone: the peers' connections,
    // the store's files and the runtime's own remain.
    assert!(
        settled.1 <= warm.1 + PEERS + 4,
        "descriptors: {} after warm-up, {} at the end",
        warm.1,
        settled.1
    );
    assert!(max_fds < 1024, "{max_fds} descriptors at the peak");

    // Everything acknowledged or replicated is in the store, with the right ids.
    let (store, _) = DiskStore::open(&dir, SyncPolicy::Never).unwrap();
    for (seq, id) in &own_acked {
        let m = store
            .get(&me.id(), *seq)
            .unwrap()
            .unwrap_or_else(|| panic!("acknowledged own message {seq} lost"));
        assert_eq!(&m.id.to_string(), id);
    }
    rt.block_on(async {
        for (p, n) in peers.iter().zip(&published) {
            for seq in 1..=*n {
                let theirs = p.get(p.id, seq).await.expect("the peer holds its feed");
                let ours = store.get(&p.id, seq).unwrap().expect("replicated message stored");
                assert_eq!(ours.id, theirs.id, "{} sequence {seq}", p.id);
            }
        }
        for p in &peers {
            p.stop().await;
        }
    });
}
