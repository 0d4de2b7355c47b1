//! Interop with the JavaScript reference stack: over real TCP on 127.0.0.1, our client completes
//! a secret handshake with the JS `secret-handshake` server and exchanges box-stream data, and
//! the JS client does the same with our server; and the JS adapter, run through the harness,
//! passes every vector or fails only where its deviations file documents why.

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

use rand_chacha::ChaCha20Rng;
use rand_core::{RngCore, SeedableRng};
use serde_json::Value;
use ssb_conformance::adapter::Process;
use ssb_conformance::deviations::Deviations;
use ssb_conformance::rules::Rules;
use ssb_conformance::runner::{load_suite, run_suite, Status};
use ssb_conformance::workspace_root;
use ssb_impl::shs::{Server, MAIN_NETWORK_KEY};
use ssb_impl::{driver, FeedId, Keypair};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::time::timeout;

const LIMIT: Duration = Duration::from_secs(30);

fn node_peer(args: &[String]) -> std::process::Child {
    let dir = common::ensure_js();
    Command::new("node")
        .arg(dir.join("tcp-peer.js"))
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("node must be on PATH")
}

fn last_json_line(child: std::process::Child) -> Value {
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "JS peer failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    serde_json::from_str(text.lines().last().expect("JS peer printed nothing")).unwrap()
}

#[tokio::test]
async fn our_client_talks_to_the_js_server_over_tcp() {
    let mut rng = ChaCha20Rng::seed_from_u64(11);
    let server_seed = {
        let mut s = [0u8; 32];
        rng.fill_bytes(&mut s);
        s
    };
    let mut js = node_peer(&[
        "server".into(),
        "--seed".into(),
        hex::encode(server_seed),
        "--network-key".into(),
        hex::encode(MAIN_NETWORK_KEY),
    ]);
    let mut first = String::new();
    BufReader::new(js.stdout.as_mut().unwrap())
        .read_line(&mut first)
        .unwrap();
    let hello: Value = serde_json::from_str(&first).expect("JS server announces its port");
    let port = hello["port"].as_u64().unwrap();
    let server_public: [u8; 32] = hex::decode(hello["public"].as_str().unwrap())
        .unwrap()
        .try_into()
        .unwrap();
    assert_eq!(
        server_public,
        *Keypair::from_seed(server_seed).public(),
        "same seed, same key in JS and Rust"
    );

    let me = Keypair::generate(&mut rng);
    let my_public = hex::encode(me.public());
    let payload: Vec<u8> = (0..50_000u32).map(|i| (i * 7) as u8).collect();
    timeout(LIMIT, async {
        let tcp = TcpStream::connect(("127.0.0.1", port as u16)).await.unwrap();
        let mut stream = driver::connect(tcp, MAIN_NETWORK_KEY, me, FeedId(server_public), &mut rng)
            .await
            .unwrap();
        assert_eq!(stream.peer(), FeedId(server_public));
        stream.write_all(&payload).await.unwrap();
        stream.flush().await.unwrap();
        let mut echoed = vec![0u8; payload.len()];
        stream.read_exact(&mut echoed).await.unwrap();
        assert_eq!(echoed, payload, "the JS server echoes what it decrypted");
        stream.shutdown().await.unwrap();
        let mut rest = Vec::new();
        stream
            .read_to_end(&mut rest)
            .await
            .expect("the JS server ends with a goodbye");
        assert!(rest.is_empty());
    })
    .await
    .expect("exchange with the JS server timed out");
    let done = last_json_line(js);
    assert_eq!(done["ok"], true);
    assert_eq!(
        done["remote_public"], my_public,
        "the JS server authenticated our key"
    );
}

#[tokio::test]
async fn js_client_talks_to_our_server_over_tcp() {
    common::ensure_js();
    let mut rng = ChaCha20Rng::seed_from_u64(12);
    let server = Keypair::generate(&mut rng);
    let server_public = hex::encode(server.public());
    let client_seed = {
        let mut s = [0u8; 32];
        rng.fill_bytes(&mut s);
        s
    };
    let payload: Vec<u8> = (0..30_000u32).map(|i| (i * 13 + 5) as u8).collect();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let js = node_peer(&[
        "client".into(),
        "--seed".into(),
        hex::encode(client_seed),
        "--network-key".into(),
        hex::encode(MAIN_NETWORK_KEY),
        "--connect".into(),
        format!("127.0.0.1:{port}"),
        "--server-public".into(),
        server_public,
        "--payload".into(),
        hex::encode(&payload),
    ]);
    timeout(LIMIT, async {
        let (tcp, _) = listener.accept().await.unwrap();
        let mut stream = driver::accept(tcp, MAIN_NETWORK_KEY, server, Server::accept_all(), &mut rng)
            .await
            .unwrap();
        assert_eq!(stream.peer(), Keypair::from_seed(client_seed).id());
        // Echo until the client's goodbye, then say goodbye.
        let mut got = Vec::new();
        let mut buf = vec![0u8; 8192];
        loop {
            let n = stream.read(&mut buf).await.unwrap();
            if n == 0 {
                break;
            }
            got.extend_from_slice(&buf[..n]);
            stream.write_all(&buf[..n]).await.unwrap();
            stream.flush().await.unwrap();
        }
        assert_eq!(got, payload, "we decrypted what the JS client sent");
        stream.shutdown().await.unwrap();
    })
    .await
    .expect("exchange with the JS client timed out");
    assert_eq!(
        last_json_line(js)["ok"],
        true,
        "the JS client read back its payload"
    );
}

#[test]
fn js_adapter_passes_or_documents_every_case() {
    let dir = common::ensure_js();
    let cmd = format!("node {}", dir.join("adapter.js").display());
    let (mut p, caps) = Process::start(&cmd, Duration::from_secs(20)).unwrap();
    assert_eq!(caps["name"], "ssb-js");
    let deviations = Deviations::load(&dir.join("deviations.toml")).unwrap();
    let rules = Rules::builtin();
    for suite in ["shs", "boxstream"] {
        let file = load_suite(&workspace_root().join("vectors"), suite).unwrap();
        let r = run_suite(&mut p, &file, &rules, &deviations, || {});
        let failing: Vec<_> = r
            .cases
            .iter()
            .filter(|c| c.status == Status::Fail)
            .map(|c| (&c.id, &c.reason))
            .collect();
        assert!(
            failing.is_empty(),
            "{suite}: undocumented JS failures {failing:?}"
        );
        assert_eq!(r.count(Status::Unsupported), 0);
        if suite == "shs" {
            assert_eq!(
                r.count(Status::Pass),
                r.cases.len(),
                "the JS handshake agrees on every case"
            );
        }
    }
}
