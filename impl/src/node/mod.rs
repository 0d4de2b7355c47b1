//! The reference node, sans-IO: [`Node`] owns the store, the follow graph and one muxrpc
//! endpoint per connection, and answers the node API (`whoami`, `manifest`,
//! `createHistoryStream`, `ebt.replicate`, `blobs.*`, and for its own key `publish` and the
//! `ctl.*` calls). Connections, bytes, drained write queues and the time come in as calls; bytes
//! to write, connections to close and peers to dial come out as [`Output`]s. The handshake and
//! box-stream sit below it, in the driver ([`runtime`] over tokio, or a simulator).

mod api;
mod blobs;
pub mod client;
mod clocks;
mod config;
mod core;
mod inbox;
mod ingest;
pub mod memo;
mod own_sync;
mod private;
pub mod runtime;

pub use config::{NodeConfig, PeerAddr, Replication};
pub use core::{ConnId, Node, NodeError, NodeEvent, NodeStats, Output};
pub use memo::SignatureMemo;
pub use private::{GroupInfo, PrivateRead, PrivateStats, ReadVia, Recipient};
