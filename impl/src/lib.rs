//! ssb-impl: a reference Secure Scuttlebutt node.
//!
//! The protocol cores (`shs`, `boxstream`) are sans-IO state machines: they take bytes and give
//! bytes, and never open sockets, read clocks or draw randomness themselves. `driver` runs them
//! over any tokio `AsyncRead + AsyncWrite`; `crypto` holds every primitive they use.

pub mod bendybutt;
pub mod boxstream;
pub mod crypto;
pub mod driver;
pub mod feed;
pub mod identity;
pub mod legacy;
pub mod muxrpc;
pub mod shs;
pub mod shs1_exe;

pub use identity::{FeedId, Keypair};
