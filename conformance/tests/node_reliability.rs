//! Reliability of `ssb-harness node` as a process: it refuses a data directory whose log is gone
//! while the index and the own-feed marker show it published (and the override starts it with
//! publishing held until peers confirm the feed), refuses to serve a record changed on disk with
//! a valid checksum, and backs off (with a logged count) when `accept` fails for want of file
//! descriptors instead of spinning a core.

use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::{json, Value};
use ssb_impl::node::client::Client;
use ssb_impl::node::runtime::MAIN_NETWORK_KEY;
use ssb_impl::store::log::{record_crc, INDEX_FILE, LOG_FILE};
use ssb_impl::Keypair;

const BIN: &str = env!("CARGO_BIN_EXE_ssb-harness");

/// Starts `cmd` (a node), waits for its ready line; `Err(stderr)` if it exits instead.
fn start(mut cmd: Command, stderr_to: &Path) -> Result<(Child, String), String> {
    let err = std::fs::File::create(stderr_to).unwrap();
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::from(err))
        .spawn()
        .expect("start ssb-harness node");
    let mut line = String::new();
    BufReader::new(child.stdout.as_mut().unwrap())
        .read_line(&mut line)
        .expect("read stdout");
    if line.is_empty() {
        let status = child.wait().unwrap();
        let mut text = String::new();
        std::fs::File::open(stderr_to)
            .unwrap()
            .read_to_string(&mut text)
            .unwrap();
        return Err(format!("{status}: {text}"));
    }
    let ready: Value = serde_json::from_str(&line).unwrap_or_else(|e| panic!("{e}: {line:?}"));
    Ok((child, ready["listen"].as_str().unwrap().to_string()))
}

fn node_cmd(dir: &Path, extra: &[&str]) -> Command {
    let mut c = Command::new(BIN);
    c.args(["node", "--listen", "127.0.0.1:0", "--data"])
        .arg(dir)
        .args(extra);
    c
}

fn stop(mut child: Child) {
    child.kill().unwrap();
    let _ = child.wait();
}

/// Publishes `n` posts as the node's own key; the answers (message or error text).
fn publish(rt: &tokio::runtime::Runtime, keys: &Keypair, addr: &str, n: usize) -> Vec<Result<Value, String>> {
    rt.block_on(async {
        let mut c = Client::connect(addr, MAIN_NETWORK_KEY, keys.clone(), keys.id(), [5; 32])
            .await
            .expect("connect as the node's own key");
        let mut out = Vec::new();
        for i in 0..n {
            let r = c
                .call(
                    &["publish"],
                    json!([{"type": "post", "text": format!("reliability {i}")}]),
                    Duration::from_secs(10),
                )
                .await;
            out.push(r.map(|b| b.to_json().unwrap()).map_err(|e| e.to_string()));
        }
        c.close().await;
        out
    })
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

fn keyed_dir(tmp: &Path, seed: u8) -> (std::path::PathBuf, Keypair) {
    let dir = tmp.join("node");
    std::fs::create_dir_all(&dir).unwrap();
    let keys = Keypair::from_seed([seed; 32]);
    std::fs::write(dir.join("secret"), keys.to_secret_file()).unwrap();
    (dir, keys)
}

#[test]
fn a_lost_log_is_refused_and_the_override_holds_publishing_until_synced() {
    let tmp = tempfile::tempdir().unwrap();
    let (dir, keys) = keyed_dir(tmp.path(), 43);
    let err = tmp.path().join("stderr");
    let rt = runtime();
    let (child, addr) = start(node_cmd(&dir, &[]), &err).unwrap();
    let acked = publish(&rt, &keys, &addr, 3);
    assert!(acked.iter().all(Result::is_ok), "{acked:?}");
    stop(child);
    assert!(dir.join("own-feed.json").exists());

    let index = std::fs::read(dir.join(INDEX_FILE)).unwrap();
    let log = std::fs::read(dir.join(LOG_FILE)).unwrap();
    for (what, empty) in [("missing", false), ("empty", true)] {
        if empty {
            std::fs::write(dir.join(LOG_FILE), b"").unwrap();
        } else {
            std::fs::remove_file(dir.join(LOG_FILE)).unwrap();
        }
        match start(node_cmd(&dir, &[]), &err) {
            Err(text) => {
                assert!(text.contains("refusing to start"), "{what}: {text}");
                assert!(text.contains("--i-know-this-feed-is-new"), "{what}: {text}");
                assert!(text.contains("published up to sequence 3"), "{what}: {text}");
            }
            Ok((child, _)) => {
                stop(child);
                panic!("log {what}: the node started");
            }
        }
        // The evidence is untouched.
        assert_eq!(std::fs::read(dir.join(INDEX_FILE)).unwrap(), index, "{what}");
        let doctor = Command::new(BIN).arg("doctor").arg(&dir).output().unwrap();
        let text = String::from_utf8_lossy(&doctor.stdout);
        assert!(
            !doctor.status.success() && text.contains("log_lost"),
            "{what}: {text}"
        );
    }

    // The override starts it, and publishing waits for a peer to confirm the feed's head.
    let (child, addr) = start(node_cmd(&dir, &["--i-know-this-feed-is-new"]), &err).unwrap();
    let held = publish(&rt, &keys, &addr, 1);
    stop(child);
    let e = held[0].as_ref().expect_err("publishing is held");
    assert!(e.contains("own feed not synced"), "{e}");
    // Nothing was published at sequence 1 under the old identity.
    let text = std::fs::read(dir.join(LOG_FILE)).unwrap();
    assert!(text.len() <= 16, "the log holds {} bytes", text.len());

    // With the log back, the node starts and continues the feed at sequence 4.
    std::fs::write(dir.join(LOG_FILE), &log).unwrap();
    let (child, addr) = start(node_cmd(&dir, &[]), &err).unwrap();
    let next = publish(&rt, &keys, &addr, 1);
    stop(child);
    let m = next[0].as_ref().unwrap();
    assert_eq!(m["value"]["sequence"], 4, "{m}");
}

/// The offsets of the records in a log.
fn record_offsets(log: &[u8]) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut at = 16;
    while at + 8 <= log.len() {
        let len = u32::from_le_bytes(log[at..at + 4].try_into().unwrap()) as usize;
        out.push((at, len));
        at += 8 + len;
    }
    out
}

#[test]
fn a_record_changed_with_a_valid_checksum_is_not_served() {
    let tmp = tempfile::tempdir().unwrap();
    let (dir, keys) = keyed_dir(tmp.path(), 44);
    let err = tmp.path().join("stderr");
    let rt = runtime();
    let (child, addr) = start(node_cmd(&dir, &[]), &err).unwrap();
    assert!(publish(&rt, &keys, &addr, 5).iter().all(Result::is_ok));
    stop(child);
    let mut log = std::fs::read(dir.join(LOG_FILE)).unwrap();
    let (at, len) = record_offsets(&log)[2];
    let value = &log[at + 8 + 88..at + 8 + len];
    let digit = value.windows(13).position(|w| w == b"reliability 2").unwrap() + 12;
    log[at + 8 + 88 + digit] = b'7';
    let crc = record_crc(len as u32, &log[at + 8..at + 8 + len]);
    log[at + 4..at + 8].copy_from_slice(&crc.to_le_bytes());
    std::fs::write(dir.join(LOG_FILE), &log).unwrap();
    match start(node_cmd(&dir, &[]), &err) {
        Err(text) => {
            assert!(text.contains("refusing to serve a damaged store"), "{text}");
            assert!(text.contains(&format!("offset {at}")), "{text}");
        }
        Ok((child, _)) => {
            stop(child);
            panic!("the node serves a tampered record");
        }
    }
    // Verification off: it starts (the operator asked for it) and serves the tampered record.
    let (child, addr) = start(node_cmd(&dir, &["--verify-on-open", "never"]), &err).unwrap();
    let (n, _) = history(&rt, &keys, &addr);
    stop(child);
    assert_eq!(n, 5, "verification off serves every record, the tampered one too");
    // Verification on read (what a log over 32 MiB gets by default): the node starts; a batch
    // that holds the tampered record is not served, the stream ends with the error.
    let (child, addr) = start(node_cmd(&dir, &["--verify-on-open", "on-read"]), &err).unwrap();
    let (n, error) = history(&rt, &keys, &addr);
    stop(child);
    assert_eq!(n, 0, "the batch holding record 3 is refused");
    let error = error.expect("the stream ends with an error");
    assert!(error.contains("failed verification on read"), "{error}");
    let text = std::fs::read_to_string(&err).unwrap();
    assert!(
        text.contains("failed verification on read"),
        "a WARN names the record: {text}"
    );
}

/// How many messages of `keys`' feed `createHistoryStream` serves, and the error it ends with.
fn history(rt: &tokio::runtime::Runtime, keys: &Keypair, addr: &str) -> (usize, Option<String>) {
    rt.block_on(async {
        let mut c = Client::connect(addr, MAIN_NETWORK_KEY, keys.clone(), keys.id(), [9; 32])
            .await
            .expect("connect");
        let r = c
            .source(
                &["createHistoryStream"],
                json!([{"id": keys.id().to_string(), "seq": 1, "live": false}]),
                100,
                Duration::from_secs(10),
            )
            .await
            .expect("history");
        c.close().await;
        (r.items.len(), r.error.map(|e| e.to_string()))
    })
}

/// The text without terminal colour sequences (`ESC [ ... m`).
fn strip_ansi(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            for c in chars.by_ref() {
                if c == 'm' {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// User and system CPU time of a process, in clock ticks.
fn cpu_ticks(pid: u32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    // Fields after the command name (which is in parentheses).
    let rest = &stat[stat.rfind(')').unwrap() + 2..];
    let f: Vec<&str> = rest.split(' ').collect();
    // utime and stime are fields 14 and 15 of the whole line: 12 and 13 here.
    f[11].parse::<u64>().unwrap() + f[12].parse::<u64>().unwrap()
}

#[test]
#[cfg(target_os = "linux")]
fn accept_backs_off_when_file_descriptors_run_out() {
    if Command::new("prlimit").arg("--version").output().is_err() {
        eprintln!("prlimit (util-linux) is not installed: skipped");
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("node");
    let err = tmp.path().join("stderr");
    let mut cmd = Command::new("prlimit");
    cmd.args([
        "--nofile=40:40",
        BIN,
        "node",
        "--listen",
        "127.0.0.1:0",
        "--seed",
        "fds",
        "--data",
    ])
    .arg(&dir);
    let (child, addr) = start(cmd, &err).unwrap();
    // Connections that never handshake hold a descriptor each for the handshake timeout (10 s).
    let mut held = Vec::new();
    for _ in 0..60 {
        match std::net::TcpStream::connect(&addr) {
            Ok(s) => held.push(s),
            Err(_) => break,
        }
    }
    std::thread::sleep(Duration::from_millis(500));
    let before = cpu_ticks(child.id());
    std::thread::sleep(Duration::from_secs(3));
    let after = cpu_ticks(child.id());
    drop(held);
    stop(child);
    let ticks_per_s = 100;
    let cpu_s = (after - before) as f64 / ticks_per_s as f64;
    eprintln!("{cpu_s} s of CPU in 3 s while out of descriptors");
    let text = strip_ansi(&std::fs::read_to_string(&err).unwrap());
    assert!(
        text.contains("accept failed") && text.contains("backing off"),
        "no log line about failing accepts:\n{text}"
    );
    // A retry without a pause keeps a core busy (~3 s of CPU in 3 s); backing off, the node
    // sleeps up to a second between tries.
    assert!(cpu_s < 0.5, "{cpu_s} s of CPU in 3 s while out of descriptors");
    // Rate-limited: one line per 5 s at most, and it carries a count.
    let lines = text.lines().filter(|l| l.contains("accept failed")).count();
    assert!(lines <= 2, "{lines} lines:\n{text}");
    assert!(text.contains("errors="), "{text}");
}

/// `ctl.status`'s sequence of `feed`, asked as the node's own key.
fn status_seq(rt: &tokio::runtime::Runtime, keys: &Keypair, addr: &str, feed: &str) -> u64 {
    rt.block_on(async {
        let mut c = Client::connect(addr, MAIN_NETWORK_KEY, keys.clone(), keys.id(), [8; 32])
            .await
            .expect("connect");
        let v = c
            .call(&["ctl", "status"], json!([]), Duration::from_secs(5))
            .await
            .expect("status")
            .to_json()
            .unwrap();
        c.close().await;
        v["feeds"][feed].as_u64().unwrap_or(0)
    })
}

#[test]
fn a_log_restored_from_an_older_copy_syncs_the_own_feed_from_a_peer_before_publishing() {
    use ssb_impl::node::runtime::spawn_in_memory;
    use ssb_impl::node::{NodeConfig, PeerAddr};
    let tmp = tempfile::tempdir().unwrap();
    let (dir, keys) = keyed_dir(tmp.path(), 45);
    let me = keys.id().to_string();
    let err = tmp.path().join("stderr");
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let (child, addr) = start(node_cmd(&dir, &[]), &err).unwrap();
    assert!(publish(&rt, &keys, &addr, 5).iter().all(Result::is_ok));
    stop(child);
    let backup = std::fs::read(dir.join(LOG_FILE)).unwrap();

    // Three more, which a peer that replicates this feed receives.
    let peer = rt
        .block_on(spawn_in_memory(
            Keypair::from_seed([46; 32]),
            NodeConfig {
                replicate: [keys.id()].into(),
                ..NodeConfig::default()
            },
        ))
        .unwrap();
    let peer_addr = |addr: &str| {
        let (host, port) = addr.rsplit_once(':').unwrap();
        PeerAddr {
            host: host.into(),
            port: port.parse().unwrap(),
            key: keys.id(),
        }
    };
    let (child, addr) = start(node_cmd(&dir, &[]), &err).unwrap();
    peer.connect(peer_addr(&addr));
    assert!(publish(&rt, &keys, &addr, 3).iter().all(Result::is_ok));
    assert!(
        rt.block_on(peer.wait_for(keys.id(), 8, Duration::from_secs(20))),
        "the peer has 8"
    );
    stop(child);

    // The log restored from the copy of 5: the marker says 8 were published.
    std::fs::write(dir.join(LOG_FILE), &backup).unwrap();
    let _ = std::fs::remove_file(dir.join(INDEX_FILE));
    let (child, addr) = start(node_cmd(&dir, &[]), &err).unwrap();
    let held = publish(&rt, &keys, &addr, 1);
    let e = held[0].as_ref().expect_err("publishing is held");
    assert!(
        e.contains("own feed not synced") && e.contains("we hold 5"),
        "{e}"
    );
    // The peer comes back; the node gets 6..8 from it, then publishes 9, not a second 6.
    peer.connect(peer_addr(&addr));
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while status_seq(&rt, &keys, &addr, &me) < 8 && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(200));
    }
    assert_eq!(
        status_seq(&rt, &keys, &addr, &me),
        8,
        "the own feed came back from the peer"
    );
    let next = publish(&rt, &keys, &addr, 1);
    stop(child);
    let m = next[0].as_ref().expect("publishing resumes");
    assert_eq!(m["value"]["sequence"], 9, "{m}");
    rt.block_on(peer.stop());
}
