//! `ssb-harness node`: the reference node as a long-running peer. The data directory holds the
//! key (`secret`, the ssb-keys file format), the message log and its indexes, and `blobs/`.
//! Prints one JSON line when it listens (`{"event":"ready","id":..,"listen":..}`), then logs
//! with tracing (RUST_LOG, WARN by default) on stderr.
//!
//! Before it opens the store it makes the identity-safety checks
//! ([`ssb_impl::store::own_feed`]): a data directory whose log is missing or empty while the
//! index, blobs or the own-feed marker show it held a feed is refused (the override is
//! `--i-know-this-feed-is-new`), and so is one whose marker names another key. It verifies every
//! stored message's signature first when the log is small enough (`--verify-on-open`). When the
//! log may have lost messages of the node's own feed (it holds less than the marker says was
//! published, records were dropped, or the log was started over), publishing waits until a peer
//! has said how far it holds the feed (`--own-feed-sync`).

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::Args;
use ssb_impl::node::runtime::{self, RuntimeConfig};
use ssb_impl::node::{Node, NodeConfig, PeerAddr, Replication};
use ssb_impl::store::own_feed::{self, check_start, own_feed_behind};
use ssb_impl::store::verify::{self, Verified, VerifyOnOpen};
use ssb_impl::store::{DiskBlobs, DiskStore, Store, SyncPolicy};
use ssb_impl::{FeedId, Keypair};

#[derive(Args)]
pub struct NodeArgs {
    /// Address to listen on (loopback in tests).
    #[arg(long, default_value = "127.0.0.1:8008")]
    listen: String,
    /// Data directory (created if missing).
    #[arg(long)]
    data: PathBuf,
    /// ssb-keys secret file; created if missing. Default: DATA/secret.
    #[arg(long, conflicts_with = "seed")]
    key: Option<PathBuf>,
    /// Derive the key from this seed (tests and simulations) instead of a key file.
    #[arg(long)]
    seed: Option<String>,
    /// Peers to keep connected to, as HOST:PORT:@ID (repeatable).
    #[arg(long)]
    connect: Vec<PeerAddr>,
    /// Follow hops within which feeds are replicated.
    #[arg(long, default_value_t = 2)]
    hops: u32,
    /// Feeds to replicate whatever the follow graph says (repeatable).
    #[arg(long)]
    replicate: Vec<String>,
    /// Replication method on the connections this node makes: ebt or legacy.
    #[arg(long, default_value = "ebt")]
    replication: Replication,
    /// Network key (base64); default: the main network's.
    #[arg(long)]
    network_key: Option<String>,
    /// Start even though the data directory shows this feed published before and its log is
    /// gone (or the directory belonged to another key). The node then publishes from what the
    /// log holds, which forks the feed if its old messages exist anywhere.
    #[arg(long)]
    i_know_this_feed_is_new: bool,
    /// When publishing waits until a peer has said how far it holds this node's feed: auto
    /// (after a recovery that dropped records, after starting over with
    /// --i-know-this-feed-is-new, or when the log holds less of the feed than the own-feed
    /// marker records), always, or off.
    #[arg(long, default_value = "auto")]
    own_feed_sync: OwnFeedSyncMode,
    /// Verify every stored message's signature before serving anything: auto (all of the log
    /// on open when it is at most 32 MiB, each record when first read above that), always (on
    /// open), on-read (each record when first read, before it is served) or never.
    #[arg(long, default_value = "auto")]
    verify_on_open: VerifyOnOpen,
}

/// `--own-feed-sync`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum OwnFeedSyncMode {
    Auto,
    Always,
    Off,
}

/// The key a seed string names: ed25519 from sha256("ssb-harness node seed:" + seed).
pub fn key_from_seed(seed: &str) -> Keypair {
    Keypair::from_seed(ssb_impl::crypto::sha256(
        format!("ssb-harness node seed:{seed}").as_bytes(),
    ))
}

fn load_or_create_key(path: &std::path::Path) -> anyhow::Result<Keypair> {
    if path.exists() {
        return Keypair::read_secret_file(path).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()));
    }
    let mut seed = [0u8; 32];
    rand_core::RngCore::fill_bytes(&mut rand_core::OsRng, &mut seed);
    let keys = Keypair::from_seed(seed);
    std::fs::write(path, keys.to_secret_file()).with_context(|| format!("writing {}", path.display()))?;
    Ok(keys)
}

pub fn run(args: NodeArgs) -> anyhow::Result<ExitCode> {
    std::fs::create_dir_all(&args.data).with_context(|| format!("creating {}", args.data.display()))?;
    let keys = match (&args.seed, &args.key) {
        (Some(s), _) => key_from_seed(s),
        (None, Some(k)) => load_or_create_key(k)?,
        (None, None) => load_or_create_key(&args.data.join("secret"))?,
    };
    let me = keys.id();
    let evidence =
        own_feed::inspect(&args.data).with_context(|| format!("reading {}", args.data.display()))?;
    check_start(&evidence, &me, args.i_know_this_feed_is_new)?;
    let lost = evidence.lost_log();
    if let Some(why) = &lost {
        tracing::warn!("starting over as told (--i-know-this-feed-is-new): {why}");
    }
    let verified = verify::verify(&args.data, args.verify_on_open, None)
        .with_context(|| format!("verifying the store in {}", args.data.display()))?;
    let on_read = args.verify_on_open.verify_on_read(&verified);
    match verified {
        Verified::Clean { messages } => tracing::info!(messages, "every stored message verified"),
        Verified::Skipped { log_bytes, why } => tracing::info!(log_bytes, "not verified on open: {why}"),
        Verified::Damaged { problems } => {
            let shown: Vec<String> = problems.iter().take(10).map(|p| format!("  {p}")).collect();
            anyhow::bail!(
                "refusing to serve a damaged store: {} problems found on open (run `ssb-harness doctor {}`):\n{}",
                problems.len(),
                args.data.display(),
                shown.join("\n")
            );
        }
    }
    let (mut store, opened) = DiskStore::open(&args.data, SyncPolicy::OnSync)
        .with_context(|| format!("opening the store in {}", args.data.display()))?;
    tracing::info!(?opened, "store opened");
    // The node reads its whole log once as it starts (follow graph, private index); records
    // are verified from when it is ready to serve.
    let arming = on_read.then(|| store.verify_on_read_later(None));
    let marker = store.set_owner(me).context("reading the own-feed marker")?;
    let in_log = store.latest(&me).map_or(0, |l| l.sequence);
    let behind = own_feed_behind(marker.as_ref(), &me, in_log);
    let mut hold = match args.own_feed_sync {
        OwnFeedSyncMode::Off => None,
        OwnFeedSyncMode::Always => Some("--own-feed-sync always".to_string()),
        OwnFeedSyncMode::Auto => {
            let mut why = Vec::new();
            // A torn tail holds no acknowledged message (a publish is acknowledged after its
            // fsync) and an index is derived data: only a recovery that dropped complete
            // records can have lost published messages of this feed.
            let dropped: u64 = opened.recoveries.iter().map(|r| r.records_dropped).sum();
            if dropped > 0 {
                why.push(format!("the store dropped {dropped} records on open"));
            }
            if let Some((have, marked)) = behind {
                why.push(format!(
                    "the log holds this feed up to {have}, the own-feed marker says {marked} were published"
                ));
            }
            if lost.is_some() {
                why.push("the log was started over".into());
            }
            (!why.is_empty()).then(|| {
                format!(
                    "{} (--own-feed-sync off publishes without waiting)",
                    why.join("; ")
                )
            })
        }
    };
    if let (Some((have, marked)), OwnFeedSyncMode::Off) = (behind, args.own_feed_sync) {
        tracing::warn!(
            have,
            marked,
            "the log is behind the own-feed marker and --own-feed-sync is off"
        );
    }
    let blobs = DiskBlobs::open(&args.data).with_context(|| "opening the blob store")?;
    let mut replicate = std::collections::BTreeSet::new();
    for r in &args.replicate {
        replicate.insert(FeedId::parse(r).map_err(|e| anyhow::anyhow!("--replicate {r}: {e}"))?);
    }
    let config = NodeConfig {
        hops: args.hops,
        replicate,
        replication: args.replication,
        peers: args.connect.clone(),
        verify_threads: std::thread::available_parallelism().map_or(1, |n| n.get()),
        ..NodeConfig::default()
    };
    let mut rt_config = RuntimeConfig::default();
    if let Some(k) = &args.network_key {
        let bytes = ssb_impl::legacy::message::canonical_b64(k)
            .filter(|b| b.len() == 32)
            .ok_or_else(|| anyhow::anyhow!("--network-key is not 32 bytes of base64"))?;
        rt_config.network_key.copy_from_slice(&bytes);
    }
    rand_core::RngCore::fill_bytes(&mut rand_core::OsRng, &mut rt_config.seed);
    let mut node = Node::new(keys.clone(), config, Box::new(store), Box::new(blobs))?;
    if let Some(why) = hold.take() {
        node.hold_publishing_until_own_feed_synced(why);
    }
    if let Some(arming) = arming {
        arming.arm();
        background_verify(args.data.clone());
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    rt.block_on(async move {
        let listener = tokio::net::TcpListener::bind(&args.listen)
            .await
            .with_context(|| format!("listening on {}", args.listen))?;
        let handle = runtime::spawn(node, keys, listener, rt_config);
        println!(
            "{}",
            serde_json::json!({"event": "ready", "id": handle.id.to_string(), "listen": handle.addr.to_string()})
        );
        std::future::pending::<()>().await;
        Ok::<_, anyhow::Error>(())
    })?;
    Ok(ExitCode::SUCCESS)
}

/// The whole log verified on a thread of its own while the node serves (each record is also
/// verified when it is first read, before it is served): damage is reported at WARN without
/// waiting for a peer to ask for the damaged record.
fn background_verify(dir: std::path::PathBuf) {
    let spawned = std::thread::Builder::new()
        .name("verify-log".into())
        .spawn(move || {
            let started = std::time::Instant::now();
            match verify::verify(&dir, VerifyOnOpen::Always, None) {
                Ok(Verified::Clean { messages }) => tracing::info!(
                    messages,
                    secs = started.elapsed().as_secs_f64(),
                    "background verification: every stored message verified"
                ),
                Ok(Verified::Damaged { problems }) => {
                    for p in problems.iter().take(10) {
                        tracing::warn!("background verification: {p}");
                    }
                    tracing::warn!(
                        problems = problems.len(),
                        "background verification found damage; damaged records are not served \
                         (run `ssb-harness doctor {}`)",
                        dir.display()
                    );
                }
                Ok(Verified::Skipped { .. }) => {}
                Err(e) => tracing::warn!("background verification could not read the store: {e}"),
            }
        });
    if let Err(e) = spawned {
        tracing::warn!("background verification not started: {e}");
    }
}
