//! Anti-entropy after van Renesse, Dumitriu, Gough and Thomas, "Efficient Reconciliation and
//! Flow Control for Anti-Entropy Protocols" (LADIS 2008), the paper Scuttlebutt is named after:
//! participants that gossip their mappings' versions and exchange deltas under a per-message
//! limit (MTU), in precise or Scuttlebutt reconciliation and four orderings, with an AIMD flow
//! control of update rates ([`participant`], [`simulate`]); the figures ([`figure`]); and the
//! same measures taken of SSB replication (EBT and createHistoryStream) under a per-link
//! bandwidth cap ([`ssb`]).

pub mod config;
pub mod figure;
pub mod participant;
pub mod queue;
pub mod report;
pub mod simulate;
pub mod ssb;

pub use config::{Config, Ordering};
pub use simulate::{run, Sample, Series};
