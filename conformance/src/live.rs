//! Live-peer conformance (`ssb-harness check --peer HOST:PORT --peer-id @ID`): the harness acts
//! as SSB peers towards a running implementation. A reference node with the harness identity
//! (`--harness-seed`) dials the peer and serves it a feed of its own; a second identity then
//! handshakes (with the right and a wrong network key), calls the peer's muxrpc API with
//! edge-case arguments, checks what the peer stored of the served feed and what it returns, and
//! sends malformed packets. Every check is a case with flags and a rule, in the report format
//! of the vector suites (suite `live`). The peer must replicate the harness feed (start it with
//! the harness id in its replication scope) for the history and EBT cases to pass.

use std::time::Duration;

use serde_json::{json, Value};
use ssb_impl::legacy::message::check_message;
use ssb_impl::legacy::{self, Mode};
use ssb_impl::muxrpc::{Body, CallType, RpcEvent};
use ssb_impl::node::client::{Client, ClientError, SourceResult};
use ssb_impl::node::runtime::{self, NodeHandle, RuntimeConfig};
use ssb_impl::node::{Node, NodeConfig, PeerAddr};
use ssb_impl::store::{MemoryBlobs, MemoryStore};
use ssb_impl::{FeedId, Keypair};

use crate::deviations::Deviations;
use crate::rules::Rules;
use crate::runner::{CaseResult, Status, SuiteResult};

/// What the live check needs to know.
#[derive(Debug, Clone)]
pub struct LiveConfig {
    pub addr: String,
    pub peer_id: FeedId,
    pub network_key: [u8; 32],
    /// The seed of the harness identity whose feed is served.
    pub harness_seed: String,
    /// Messages in the served feed.
    pub feed_len: u64,
    /// How long the peer has to replicate the served feed.
    pub replicate_timeout: Duration,
}

/// The harness identity for a seed.
pub fn harness_keys(seed: &str) -> Keypair {
    Keypair::from_seed(ssb_impl::crypto::sha256(
        format!("ssb-harness live:{seed}").as_bytes(),
    ))
}

/// The second served feed: messages that share one timestamp (ordering by timestamp, as
/// ssb-db2 does, cannot recover their sequence order).
pub fn tie_keys(seed: &str) -> Keypair {
    Keypair::from_seed(ssb_impl::crypto::sha256(
        format!("ssb-harness live tie:{seed}").as_bytes(),
    ))
}

/// Messages in the feed of [`tie_keys`], all with the timestamp `FEED_EPOCH_MS`.
const TIE_LEN: u32 = 6;

/// The feed of [`tie_keys`]: `(value, id)` in sequence order.
fn tie_feed(seed: &str) -> Vec<(legacy::Value, String)> {
    let keys = tie_keys(seed);
    let mut prev = None;
    (1..=TIE_LEN)
        .map(|seq| {
            let content = legacy::parse(
                format!(r#"{{"type":"post","text":"same millisecond {seq}"}}"#).as_bytes(),
                Mode::JsCompat,
            )
            .expect("valid JSON");
            let (msg, id) = ssb_impl::legacy::message::sign_message(
                &keys,
                prev,
                seq,
                FEED_EPOCH_MS as f64,
                content,
                None,
            );
            prev = Some(id);
            (legacy::Value::Object(msg), id.to_string())
        })
        .collect()
}

fn client_keys(seed: &str, n: u8) -> Keypair {
    Keypair::from_seed(ssb_impl::crypto::sha256(
        format!("ssb-harness live client {n}:{seed}").as_bytes(),
    ))
}

const T: Duration = Duration::from_secs(5);

/// Timestamp of the harness feed's first message: the feed is the same on every run, so a peer
/// that keeps its store sees no fork when checked again; the check then serves the feed as far
/// as the peer holds it and publishes the next live message after that.
const FEED_EPOCH_MS: u64 = 1_700_000_000_000;

struct Ctx {
    cfg: LiveConfig,
    harness: NodeHandle,
    /// Ids of the served feed, by sequence (index 0 = sequence 1).
    ids: Vec<String>,
    cases: Vec<CaseResult>,
    rules: Rules,
    deviations: Deviations,
}

impl Ctx {
    fn record(&mut self, flags: &[&str], comment: &str, input: Value, expected: Value, actual: Value) {
        let id = format!("live/{:04}", self.cases.len() + 1);
        let flags: Vec<String> = flags.iter().map(|f| f.to_string()).collect();
        let (status, reason) = if expected == actual {
            (Status::Pass, String::new())
        } else {
            match self.deviations.lookup("live", &id, &flags) {
                Some(d) => (Status::Deviation, d.to_string()),
                None => (
                    Status::Fail,
                    "the peer's answer differs from the expected one".to_string(),
                ),
            }
        };
        println!(
            "{id} {:<10} {comment}",
            match status {
                Status::Pass => "pass",
                Status::Fail => "FAIL",
                Status::Deviation => "deviation",
                Status::Unsupported => "unsupported",
            }
        );
        self.cases.push(CaseResult {
            id,
            comment: comment.to_string(),
            rule: self.rules.rule_for("live", &flags).to_string(),
            flags,
            status,
            op: String::new(),
            input,
            expected,
            actual,
            reason,
        });
    }

    /// A group of cases stopped early: one failing case says why.
    fn aborted(&mut self, group: &str, e: anyhow::Error) {
        self.record(
            &[group, "aborted"],
            &format!("the {group} cases could not all run"),
            json!({"group": group}),
            json!({"completed": true}),
            json!({"completed": false, "error": e.to_string()}),
        );
    }

    async fn client(&self, n: u8) -> Result<Client, ClientError> {
        Client::connect(
            &self.cfg.addr,
            self.cfg.network_key,
            client_keys(&self.cfg.harness_seed, n),
            self.cfg.peer_id,
            [n; 32],
        )
        .await
    }

    fn harness_id(&self) -> String {
        self.harness.id.to_string()
    }

    /// Message ids of a history answer, `"invalid"` for what does not validate.
    fn ids_of(items: &[Body]) -> Vec<String> {
        items
            .iter()
            .map(|b| {
                let Ok(v) = legacy::parse(&b.bytes, Mode::JsCompat) else {
                    return "not JSON".to_string();
                };
                let v = match &v {
                    legacy::Value::Object(o) if o.contains_key("value") && !o.contains_key("author") => {
                        o.get("value").cloned().unwrap_or(legacy::Value::Null)
                    }
                    _ => v,
                };
                check_message(&v, None).map_or("invalid".to_string(), |c| c.id.to_string())
            })
            .collect()
    }

    fn want_ids(&self, from: u64, to: u64) -> Value {
        json!(self
            .ids
            .iter()
            .enumerate()
            .filter(|(i, _)| (*i as u64 + 1) >= from && (*i as u64 + 1) <= to)
            .map(|(_, id)| id.clone())
            .collect::<Vec<_>>())
    }
}

/// The content of message `i` of the harness feed: `base` numbered posts, then the live
/// message's content (each later run's live message has the same content; sequence and
/// `previous` make them different messages).
fn harness_content(i: u64, base: u64) -> Value {
    if i <= base {
        json!({"type": "post", "text": format!("harness message {i}")})
    } else {
        json!({"type": "post", "text": "harness live message"})
    }
}

/// The ids of the harness feed the peer holds already (empty if it holds none, or cannot be
/// asked: the cases then find out why).
async fn peer_holds(cfg: &LiveConfig) -> Vec<String> {
    let h = harness_keys(&cfg.harness_seed).id().to_string();
    let Ok(mut c) = Client::connect(
        &cfg.addr,
        cfg.network_key,
        client_keys(&cfg.harness_seed, 9),
        cfg.peer_id,
        [9; 32],
    )
    .await
    else {
        return Vec::new();
    };
    let r = c
        .source(
            &["createHistoryStream"],
            json!([{"id": h, "keys": false}]),
            100_000,
            T,
        )
        .await;
    c.close().await;
    r.map(|r| Ctx::ids_of(&r.items)).unwrap_or_default()
}

/// The content of the message published during the `live` case.
fn live_content() -> legacy::Value {
    legacy::parse(
        br#"{"type":"post","text":"harness live message"}"#,
        Mode::JsCompat,
    )
    .expect("valid JSON")
}

fn source_summary(r: &Result<SourceResult, ClientError>) -> Value {
    match r {
        Ok(s) => json!({"items": s.items.len(), "ended": !s.open, "error": s.error.is_some()}),
        Err(e) => json!({"failed": e.to_string()}),
    }
}

/// Runs every live case; returns the suite's results.
pub async fn run(cfg: LiveConfig, rules: Rules, deviations: Deviations) -> anyhow::Result<SuiteResult> {
    // The harness node: serves its feed to the peer.
    let hkeys = harness_keys(&cfg.harness_seed);
    let mut node = Node::new(
        hkeys.clone(),
        NodeConfig {
            replicate: [cfg.peer_id].into(),
            ..NodeConfig::default()
        },
        Box::new(MemoryStore::new()),
        Box::new(MemoryBlobs::new()),
    )?;
    let tie = tie_feed(&cfg.harness_seed);
    for (v, _) in &tie {
        node.add_message(v, FEED_EPOCH_MS)
            .map_err(|e| anyhow::anyhow!("tie feed: {e}"))?;
    }
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let harness = runtime::spawn(
        node,
        hkeys,
        listener,
        RuntimeConfig {
            network_key: cfg.network_key,
            ..RuntimeConfig::default()
        },
    );
    let mut cfg = cfg;
    // A peer checked before holds the feed (and the live message) from then: go on from there,
    // so that a second run is the same check, not a fork and not 11 stale expectations.
    let held = peer_holds(&cfg).await;
    let base = cfg.feed_len;
    let n = base.max(held.len() as u64);
    let mut ids = Vec::new();
    for i in 1..=n {
        let m = harness
            .publish_at(harness_content(i, base), FEED_EPOCH_MS + i - 1)
            .await
            .map_err(|e| anyhow::anyhow!(e))?;
        ids.push(m.id.to_string());
    }
    if let Some(at) = held.iter().zip(&ids).position(|(a, b)| a != b) {
        anyhow::bail!(
            "the peer holds another feed under the harness identity {} (message {} differs: a \
             fork, from another version of the harness?); check it with another --harness-seed",
            harness.id,
            at + 1
        );
    }
    if !held.is_empty() {
        println!(
            "the peer already holds {} messages of the harness feed from an earlier run: the check \
             goes on from there ({n} served, the live message is {})",
            held.len(),
            n + 1
        );
    }
    cfg.feed_len = n;
    let (host, port) = cfg
        .addr
        .rsplit_once(':')
        .ok_or_else(|| anyhow::anyhow!("--peer {} is not HOST:PORT", cfg.addr))?;
    harness.connect(PeerAddr {
        host: host.to_string(),
        port: port.parse()?,
        key: cfg.peer_id,
    });
    println!(
        "harness feeds {} ({} messages) and {} ({TIE_LEN} of one millisecond) served to {}",
        harness.id,
        cfg.feed_len,
        tie_keys(&cfg.harness_seed).id(),
        cfg.peer_id
    );
    let mut ctx = Ctx {
        cfg,
        harness,
        ids,
        cases: Vec::new(),
        rules,
        deviations,
    };
    handshakes(&mut ctx).await;
    if let Err(e) = calls(&mut ctx).await {
        ctx.aborted("calls", e);
    }
    if let Err(e) = history(&mut ctx).await {
        ctx.aborted("history", e);
    }
    if let Err(e) = ebt(&mut ctx).await {
        ctx.aborted("ebt", e);
    }
    if let Err(e) = blobs(&mut ctx).await {
        ctx.aborted("blobs", e);
    }
    robustness(&mut ctx).await;
    ctx.harness.stop().await;
    let mut result = SuiteResult {
        suite: "live".into(),
        skipped: None,
        counts: Default::default(),
        cases: ctx.cases,
    };
    for (name, s) in [
        ("pass", Status::Pass),
        ("fail", Status::Fail),
        ("deviation", Status::Deviation),
        ("unsupported", Status::Unsupported),
    ] {
        result.counts.insert(name.into(), result.count(s));
    }
    result.counts.insert("total".into(), result.cases.len());
    Ok(result)
}

async fn handshakes(ctx: &mut Ctx) {
    let ok = ctx.client(1).await;
    let actual = match &ok {
        Ok(c) => json!({"ok": true, "peer": c.peer.to_string()}),
        Err(e) => json!({"ok": false, "error": e.to_string()}),
    };
    ctx.record(
        &["handshake"],
        "handshake on the peer's network key authenticates the peer",
        json!({"network_key": "given"}),
        json!({"ok": true, "peer": ctx.cfg.peer_id.to_string()}),
        actual,
    );
    if let Ok(c) = ok {
        c.close().await;
    }
    let mut wrong = ctx.cfg.network_key;
    wrong[0] ^= 1;
    // A refusal only counts from a peer that is there: nothing listening refuses everything.
    let reachable = tokio::net::TcpStream::connect(&ctx.cfg.addr).await.is_ok();
    let r = Client::connect(
        &ctx.cfg.addr,
        wrong,
        client_keys(&ctx.cfg.harness_seed, 2),
        ctx.cfg.peer_id,
        [2; 32],
    )
    .await;
    ctx.record(
        &["handshake", "wrong_network"],
        "a client on another network is refused",
        json!({"network_key": "first bit flipped"}),
        json!({"reachable": true, "ok": false}),
        json!({"reachable": reachable, "ok": r.is_ok()}),
    );
}

async fn calls(ctx: &mut Ctx) -> anyhow::Result<()> {
    let mut c = ctx.client(3).await?;
    let r = c.call(&["whoami"], json!([]), T).await;
    let actual = match r {
        Ok(b) => b.to_json().unwrap_or(Value::Null),
        Err(e) => json!({"error": e.to_string()}),
    };
    let expected = json!({"id": ctx.cfg.peer_id.to_string()});
    // JS answers `{id}`; compare only the id.
    let actual = match actual.get("id") {
        Some(id) => json!({"id": id}),
        None => actual,
    };
    ctx.record(
        &["whoami"],
        "whoami names the peer",
        json!({"name": ["whoami"]}),
        expected,
        actual,
    );

    let r = c.call(&["harness", "noSuchMethod"], json!([1]), T).await;
    let actual = match &r {
        Err(ClientError::Remote(e)) => json!({"error": true, "has_name": !e.name.is_empty()}),
        Err(e) => json!({"failed": e.to_string()}),
        Ok(_) => json!({"error": false}),
    };
    ctx.record(
        &["unknown_method", "async"],
        "an unknown async method is answered with an error {name, message}",
        json!({"name": ["harness", "noSuchMethod"], "type": "async"}),
        json!({"error": true, "has_name": true}),
        actual,
    );
    let r = c.source(&["harness", "noSuchSource"], json!([]), 10, T).await;
    ctx.record(
        &["unknown_method", "source"],
        "an unknown source method ends its stream with an error",
        json!({"name": ["harness", "noSuchSource"], "type": "source"}),
        json!({"items": 0, "ended": true, "error": true}),
        source_summary(&r),
    );
    c.close().await;
    Ok(())
}

async fn history(ctx: &mut Ctx) -> anyhow::Result<()> {
    let n = ctx.cfg.feed_len;
    let h = ctx.harness_id();
    let mut c = ctx.client(4).await?;
    // Wait for the peer to hold the served feed.
    let deadline = tokio::time::Instant::now() + ctx.cfg.replicate_timeout;
    let held = loop {
        let r = c
            .source(
                &["createHistoryStream"],
                json!([{"id": h, "keys": false}]),
                10_000,
                T,
            )
            .await?;
        let held = Ctx::ids_of(&r.items)
            .iter()
            .filter(|i| ctx.ids.contains(i))
            .count() as u64;
        if held >= n || tokio::time::Instant::now() >= deadline {
            break held;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    ctx.record(
        &["history", "stores_served_feed"],
        "the peer replicates and stores a feed served to it",
        json!({"feed": h, "messages": n}),
        json!({"held": n}),
        json!({"held": held}),
    );
    let cases: Vec<(&[&str], &str, Value, u64, u64)> = vec![
        (
            &["history", "seq_absent"],
            "no seq: the whole feed",
            json!({"id": h, "keys": false}),
            1,
            n,
        ),
        (
            &["history", "seq_zero"],
            "seq 0: the whole feed",
            json!({"id": h, "seq": 0, "keys": false}),
            1,
            n,
        ),
        (
            &["history", "seq_inclusive"],
            "seq 1 is included",
            json!({"id": h, "seq": 1, "keys": false}),
            1,
            n,
        ),
        (
            &["history", "seq_inclusive", "seq_middle"],
            "seq in the middle is included",
            json!({"id": h, "seq": 5, "keys": false}),
            5,
            n,
        ),
        (
            &["history", "seq_past_end"],
            "seq past the end: nothing",
            json!({"id": h, "seq": n + 1, "keys": false}),
            1,
            0,
        ),
        (
            &["history", "sequence_alias"],
            "`sequence` is read as seq",
            json!({"id": h, "sequence": 3, "keys": false}),
            3,
            n,
        ),
        (
            &["history", "limit"],
            "limit 3: the first three",
            json!({"id": h, "limit": 3, "keys": false}),
            1,
            3,
        ),
        (
            &["history", "limit", "seq_middle"],
            "seq and limit together",
            json!({"id": h, "seq": 4, "limit": 2, "keys": false}),
            4,
            5,
        ),
    ];
    for (flags, comment, opts, from, to) in cases {
        let r = c
            .source(&["createHistoryStream"], json!([opts.clone()]), 10_000, T)
            .await?;
        let actual = json!({"ids": Ctx::ids_of(&r.items), "ended": !r.open});
        let expected = json!({"ids": ctx.want_ids(from, to), "ended": true});
        ctx.record(flags, comment, opts, expected, actual);
    }
    // keys: default true wraps {key, value, timestamp}; false sends bare values.
    let r = c
        .source(&["createHistoryStream"], json!([{"id": h}]), 10_000, T)
        .await?;
    let wrapped = r
        .items
        .iter()
        .filter(|b| {
            b.to_json().is_some_and(|v| {
                v.get("key").is_some()
                    && v.get("value").is_some()
                    && v.get("timestamp").is_some_and(Value::is_number)
            })
        })
        .count();
    ctx.record(
        &["history", "keys_default"],
        "keys defaults to true: each item is {key, value, timestamp} with key = the message id",
        json!({"id": h}),
        json!({"wrapped": n, "ids": ctx.want_ids(1, n)}),
        json!({"wrapped": wrapped, "ids": r.items.iter().map(|b| b.to_json().and_then(|v| v.get("key").cloned()).unwrap_or(Value::Null)).collect::<Vec<_>>()}),
    );
    let r = c
        .source(
            &["createHistoryStream"],
            json!([{"id": h, "keys": false}]),
            10_000,
            T,
        )
        .await?;
    let bare = r
        .items
        .iter()
        .filter(|b| b.to_json().is_some_and(|v| v.get("author").is_some()))
        .count();
    ctx.record(
        &["history", "keys_false"],
        "keys false: bare message values",
        json!({"id": h, "keys": false}),
        json!({"bare": n}),
        json!({"bare": bare}),
    );
    let opts = json!({"id": h, "old": false, "live": false});
    let r = c
        .source(&["createHistoryStream"], json!([opts.clone()]), 10_000, T)
        .await;
    ctx.record(
        &["history", "old_false"],
        "old false and live false: an empty stream that ends",
        opts,
        json!({"items": 0, "ended": true, "error": false}),
        source_summary(&r),
    );
    let unknown = harness_keys("nobody").id().to_string();
    let opts = json!({"id": unknown, "keys": false});
    let r = c
        .source(&["createHistoryStream"], json!([opts.clone()]), 10_000, T)
        .await;
    ctx.record(
        &["history", "unknown_feed"],
        "a feed the peer does not hold: an empty stream that ends",
        opts,
        json!({"items": 0, "ended": true, "error": false}),
        source_summary(&r),
    );
    let opts = json!({"id": "not a feed id"});
    let r = c
        .source(&["createHistoryStream"], json!([opts.clone()]), 10_000, T)
        .await;
    let actual = match &r {
        Ok(s) => json!({"ended": !s.open, "error": s.error.is_some()}),
        Err(e) => json!({"failed": e.to_string()}),
    };
    ctx.record(
        &["history", "invalid_id"],
        "an id that is not a feed id ends the stream with an error",
        opts,
        json!({"ended": true, "error": true}),
        actual,
    );
    // Messages of one millisecond come back in sequence order.
    let tie = tie_feed(&ctx.cfg.harness_seed);
    let t = tie_keys(&ctx.cfg.harness_seed).id().to_string();
    let opts = json!({"id": t, "keys": false});
    let deadline = tokio::time::Instant::now() + ctx.cfg.replicate_timeout;
    let got = loop {
        let r = c
            .source(&["createHistoryStream"], json!([opts.clone()]), 10_000, T)
            .await?;
        let got = Ctx::ids_of(&r.items);
        if got.len() >= tie.len() || tokio::time::Instant::now() >= deadline {
            break got;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    ctx.record(
        &["history", "same_timestamp"],
        "messages that share a timestamp are streamed in sequence order",
        opts,
        json!({"ids": tie.iter().map(|(_, id)| id.clone()).collect::<Vec<_>>()}),
        json!({"ids": got}),
    );
    c.close().await;
    // live: the old messages, the stream stays open, then a new message arrives on it.
    let opts = json!({"id": h, "keys": false, "live": true});
    let mut c = ctx.client(4).await?;
    let id = c
        .rpc
        .call(&["createHistoryStream"], CallType::Source, json!([opts.clone()]));
    let live_part = async {
        let old = c.read_stream(id, n as usize, T).await?;
        let quiet = c.read_stream(id, 1, Duration::from_millis(800)).await?;
        let m = ctx
            .harness
            .publish_at(
                json!({"type": "post", "text": "harness live message"}),
                FEED_EPOCH_MS + n,
            )
            .await
            .map_err(ClientError::Closed)?;
        let live = c.read_stream(id, 1, ctx.cfg.replicate_timeout).await?;
        Ok::<_, ClientError>((old, quiet, live, m))
    };
    let actual = match live_part.await {
        Ok((old, quiet, live, m)) => {
            ctx.ids.push(m.id.to_string());
            json!({
                "old": old.items.len(),
                "open_after_old": quiet.items.is_empty() && quiet.open,
                "live": Ctx::ids_of(&live.items),
            })
        }
        Err(e) => json!({"failed": e.to_string()}),
    };
    // The live message's id is known in advance: the feed is reproducible.
    let (_, live_id) = ssb_impl::legacy::message::sign_message(
        &harness_keys(&ctx.cfg.harness_seed),
        ssb_impl::legacy::message::MsgId::parse(&ctx.ids[n as usize - 1]),
        n as u32 + 1,
        (FEED_EPOCH_MS + n) as f64,
        live_content(),
        None,
    );
    let expected = json!({"old": n, "open_after_old": true, "live": [live_id.to_string()]});
    ctx.record(
        &["history", "live"],
        "live: the stored messages, then the stream stays open and carries a new message",
        opts,
        expected,
        actual,
    );
    c.close().await;
    Ok(())
}

async fn ebt(ctx: &mut Ctx) -> anyhow::Result<()> {
    let h = ctx.harness_id();
    let total = ctx.ids.len() as u64;
    let mut c = ctx.client(5).await?;
    let opts = json!({"version": 2});
    let id = c
        .rpc
        .call(&["ebt", "replicate"], CallType::Duplex, json!([opts.clone()]));
    let r = c.read_stream(id, 100, T).await;
    let actual = match &r {
        Ok(s) => json!({"ended": !s.open, "error": s.error.is_some()}),
        Err(e) => json!({"failed": e.to_string()}),
    };
    ctx.record(
        &["ebt", "bad_version"],
        "ebt.replicate with version 2 is refused",
        opts,
        json!({"ended": true, "error": true}),
        actual,
    );
    c.close().await;

    let opts = json!({"version": 3, "format": "classic"});
    let r = ebt_exchange(ctx, 6, &opts, json!({ h.clone(): 0 }), 1 + total as usize, T).await?;
    let opening_is_notes = r
        .items
        .first()
        .and_then(Body::to_json)
        .is_some_and(|v| v.as_object().is_some_and(|o| o.values().all(Value::is_i64)));
    ctx.record(
        &["ebt", "request_from_zero"],
        "ebt v3: notes first; a note {feed: 0} (sequence 0, receive) gets every message in order",
        json!({"args": opts, "notes": {h.clone(): 0}}),
        json!({"opening_is_notes": true, "messages": ctx.want_ids(1, total)}),
        json!({"opening_is_notes": opening_is_notes, "messages": Ctx::ids_of(&messages_in(&r.items))}),
    );

    let wait = Duration::from_millis(1500);
    let r = ebt_exchange(ctx, 7, &opts, json!({ h.clone(): -1 }), 1 + total as usize, wait).await?;
    ctx.record(
        &["ebt", "dont_replicate"],
        "a note of -1 gets no messages of that feed",
        json!({"args": opts, "notes": {h.clone(): -1}}),
        json!({"messages": 0}),
        json!({"messages": messages_in(&r.items).len()}),
    );

    let half = total / 2;
    let r = ebt_exchange(
        ctx,
        8,
        &opts,
        json!({ h.clone(): half << 1 }),
        1 + total as usize,
        T,
    )
    .await?;
    let mut msgs = messages_in(&r.items);
    msgs.truncate((total - half) as usize);
    ctx.record(
        &["ebt", "request_from_middle"],
        "a note with sequence s gets the messages after s, not s itself",
        json!({"args": opts, "notes": {h.clone(): half << 1}}),
        json!({"messages": ctx.want_ids(half + 1, total)}),
        json!({"messages": Ctx::ids_of(&msgs)}),
    );
    Ok(())
}

/// The bodies of a stream that are messages (they have an author), not notes.
fn messages_in(items: &[Body]) -> Vec<Body> {
    items
        .iter()
        .filter(|b| b.to_json().is_some_and(|v| v.get("author").is_some()))
        .cloned()
        .collect()
}

/// Opens `ebt.replicate` with `opts` as client `n`, sends `notes`, and reads what comes back
/// (at most `max` items, or until `wait` passes).
async fn ebt_exchange(
    ctx: &Ctx,
    n: u8,
    opts: &Value,
    notes: Value,
    max: usize,
    wait: Duration,
) -> anyhow::Result<SourceResult> {
    let mut c = ctx.client(n).await?;
    let id = c
        .rpc
        .call(&["ebt", "replicate"], CallType::Duplex, json!([opts.clone()]));
    c.rpc.send(id, Body::json(&notes));
    let r = c.read_stream(id, max, wait).await?;
    c.close().await;
    Ok(r)
}

async fn blobs(ctx: &mut Ctx) -> anyhow::Result<()> {
    let mut c = ctx.client(9).await?;
    let unknown = ssb_impl::store::BlobId::of(b"no peer holds this blob").to_string();
    let r = c.call(&["blobs", "has"], json!([unknown]), T).await;
    let actual = match r {
        Ok(b) => b.to_json().unwrap_or(Value::Null),
        Err(e) => json!({"error": e.to_string()}),
    };
    ctx.record(
        &["blobs", "has_unknown"],
        "blobs.has of a blob the peer lacks is false",
        json!([unknown]),
        json!(false),
        actual,
    );
    let r = c.source(&["blobs", "get"], json!([unknown]), 10, T).await;
    let actual = match &r {
        Ok(s) => json!({"items": s.items.len(), "ended": !s.open, "error": s.error.is_some()}),
        Err(e) => json!({"failed": e.to_string()}),
    };
    ctx.record(
        &["blobs", "get_unknown"],
        "blobs.get of a blob the peer lacks ends with an error and no data",
        json!([unknown]),
        json!({"items": 0, "ended": true, "error": true}),
        actual,
    );
    let r = c.source(&["blobs", "createWants"], json!([]), 1, T).await;
    let actual = match &r {
        Ok(s) => json!({
            "first_is_object": s.items.first().and_then(Body::to_json).is_some_and(|v| v.is_object()),
            "open": s.open,
        }),
        Err(e) => json!({"failed": e.to_string()}),
    };
    ctx.record(
        &["blobs", "create_wants"],
        "blobs.createWants stays open and starts with an object of wants",
        json!([]),
        json!({"first_is_object": true, "open": true}),
        actual,
    );
    c.close().await;
    Ok(())
}

async fn robustness(ctx: &mut Ctx) {
    let bad: [(&[&str], &str, Vec<u8>); 3] = [
        (
            &["muxrpc", "malformed_header"],
            "a packet of body type 3 (undefined) makes the peer close the connection",
            vec![0x0b, 0, 0, 0, 1, 0, 0, 0, 1, b'x'],
        ),
        (
            &["muxrpc", "oversized_body"],
            "a header announcing a 2 GiB body makes the peer close the connection",
            vec![0x02, 0x7f, 0xff, 0xff, 0xff, 0, 0, 0, 1],
        ),
        (
            &["muxrpc", "goodbye"],
            "the goodbye makes the peer end the connection",
            vec![0; 9],
        ),
    ];
    for (flags, comment, bytes) in bad {
        let actual = match ctx.client(10).await {
            Ok(mut c) => match c.write_raw(&bytes).await {
                Ok(()) => json!({"closed": c.wait_closed(Duration::from_secs(3)).await.is_some()}),
                Err(_) => json!({"closed": true}),
            },
            Err(e) => json!({"failed": e.to_string()}),
        };
        ctx.record(
            flags,
            comment,
            json!({"bytes": hex::encode(&bytes)}),
            json!({"closed": true}),
            actual,
        );
    }
    // A burst of calls: every one answered.
    let n = 2000;
    let actual = match ctx.client(11).await {
        Ok(mut c) => {
            for _ in 0..n {
                c.rpc
                    .call(&["harness", "noSuchMethod"], CallType::Async, json!([]));
            }
            let mut answered = 0;
            while answered < n {
                match c.next_event(T).await {
                    Ok(RpcEvent::Response { .. }) => answered += 1,
                    Ok(_) => {}
                    Err(_) => break,
                }
            }
            c.close().await;
            json!({"answered": answered})
        }
        Err(e) => json!({"failed": e.to_string()}),
    };
    ctx.record(
        &["muxrpc", "burst"],
        "2000 calls sent at once are all answered",
        json!({"calls": n}),
        json!({"answered": n}),
        actual,
    );
    // Idle: a connection that says nothing for 6 s is still served.
    let actual = match ctx.client(12).await {
        Ok(mut c) => {
            let closed = c.wait_closed(Duration::from_secs(6)).await;
            let r = c.call(&["harness", "noSuchMethod"], json!([]), T).await;
            json!({"closed": closed.is_some(), "answered": matches!(r, Err(ClientError::Remote(_)) | Ok(_))})
        }
        Err(e) => json!({"failed": e.to_string()}),
    };
    ctx.record(
        &["muxrpc", "idle"],
        "a connection idle for 6 seconds stays open",
        json!({"idle_ms": 6000}),
        json!({"closed": false, "answered": true}),
        actual,
    );
}
