//! `ssb-harness node`: the reference node as a long-running peer. The data directory holds the
//! key (`secret`, the ssb-keys file format), the message log and its indexes, and `blobs/`.
//! Prints one JSON line when it listens (`{"event":"ready","id":..,"listen":..}`), then logs
//! with tracing (RUST_LOG) on stderr.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::Args;
use ssb_impl::node::runtime::{self, RuntimeConfig};
use ssb_impl::node::{Node, NodeConfig, PeerAddr, Replication};
use ssb_impl::store::{DiskBlobs, DiskStore, SyncPolicy};
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
    let (store, opened) = DiskStore::open(&args.data, SyncPolicy::OnSync)
        .with_context(|| format!("opening the store in {}", args.data.display()))?;
    tracing::info!(?opened, "store opened");
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
    let node = Node::new(keys.clone(), config, Box::new(store), Box::new(blobs))?;
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
