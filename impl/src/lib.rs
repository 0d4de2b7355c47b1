//! ssb-impl: a reference Secure Scuttlebutt node.
//!
//! The protocol cores (`shs`, `boxstream`, `muxrpc`, `ebt`, `history`, `graph`, `node`) are
//! sans-IO state machines: they take bytes and give bytes, and never open sockets, read clocks
//! or draw randomness themselves. `driver` runs the handshake and box-stream over any tokio
//! `AsyncRead + AsyncWrite`, `node::runtime` runs a whole node over TCP; `store` keeps
//! messages and blobs on disk or in memory; `crypto` holds every primitive they use.

pub mod bendybutt;
pub mod boxstream;
pub mod crypto;
pub mod driver;
pub mod ebt;
pub mod feed;
pub mod graph;
pub mod history;
pub mod identity;
pub mod legacy;
pub mod muxrpc;
pub mod node;
pub mod private;
pub mod shs;
pub mod shs1_exe;
pub mod store;

pub use identity::{FeedId, Keypair};
