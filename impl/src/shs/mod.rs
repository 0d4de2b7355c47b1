//! Secret handshake (SHS v1): the four-message mutual authentication that opens every SSB
//! connection, as sans-IO state machines.
//!
//! A [`Client`] or [`Server`] is driven through the [`Handshake`] trait: [`Handshake::next`]
//! says whether to send bytes, to read a given number of bytes, or that the handshake is done,
//! and [`Handshake::receive`] takes the bytes read. The machines never touch a socket, a clock or
//! an RNG: ephemeral keys come from the caller. The [`Outcome`] carries what box-stream needs.
//!
//! Message layout (K = network key, a/b = client/server ephemeral, A/B = long-term keys):
//! msg1 = auth(K, a) ‖ a; msg2 = auth(K, b) ‖ b;
//! msg3 = secretbox(sha256(K‖ab‖aB), 0, sign_A(K‖B‖sha256(ab)) ‖ A);
//! msg4 = secretbox(sha256(K‖ab‖aB‖Ab), 0, sign_B(K‖sig_A‖A‖sha256(ab))).

mod client;
pub mod replay;
mod server;
pub mod steps;

pub use client::Client;
pub use server::{Authorizer, Server};

use crate::identity::FeedId;

/// The main SSB network key (`caps.shs`), `1KHLiKZvAvjbY1ziZEHMXawbCEIM6qwjCDm3VYRan/s=`.
pub const MAIN_NETWORK_KEY: [u8; 32] = [
    0xd4, 0xa1, 0xcb, 0x88, 0xa6, 0x6f, 0x02, 0xf8, 0xdb, 0x63, 0x5c, 0xe2, 0x64, 0x41, 0xcc, 0x5d, 0xac,
    0x1b, 0x08, 0x42, 0x0c, 0xea, 0xac, 0x23, 0x08, 0x39, 0xb7, 0x55, 0x84, 0x5a, 0x9f, 0xfb,
];

/// Sizes of the four messages.
pub const MSG1_LEN: usize = 64;
pub const MSG2_LEN: usize = 64;
pub const MSG3_LEN: usize = 112;
pub const MSG4_LEN: usize = 80;

/// Which of the four messages a failure belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// Client hello (client → server).
    Msg1,
    /// Server hello (server → client).
    Msg2,
    /// Client authenticate (client → server).
    Msg3,
    /// Server accept (server → client).
    Msg4,
}

impl std::fmt::Display for Step {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Step::Msg1 => "msg1 (client hello)",
            Step::Msg2 => "msg2 (server hello)",
            Step::Msg3 => "msg3 (client authenticate)",
            Step::Msg4 => "msg4 (server accept)",
        })
    }
}

/// Why a handshake failed. Every variant names the step.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ShsError {
    #[error("{step}: expected {expected} bytes, got {got}")]
    BadLength { step: Step, expected: usize, got: usize },
    #[error("{step}: HMAC does not verify under this network key")]
    BadHmac { step: Step },
    #[error("{step}: ephemeral key gives an all-zero shared secret")]
    LowOrderKey { step: Step },
    #[error("{step}: box does not open (wrong network key, wrong server key, or tampered)")]
    BoxOpen { step: Step },
    #[error("{step}: signature does not verify")]
    BadSignature { step: Step },
    #[error("{step}: peer's long-term key cannot be used for key exchange")]
    BadLongTermKey { step: Step },
    #[error("{step}: server refused client {client}")]
    ClientRefused { step: Step, client: FeedId },
    #[error("{step}: bytes given when none were expected (handshake {state})")]
    Unexpected { step: Step, state: &'static str },
    #[error("the configured server public key cannot be used for key exchange")]
    InvalidServerKey,
}

impl ShsError {
    /// The step the failure belongs to (`None` for a configuration error).
    pub fn step(&self) -> Option<Step> {
        match self {
            ShsError::BadLength { step, .. }
            | ShsError::BadHmac { step }
            | ShsError::LowOrderKey { step }
            | ShsError::BoxOpen { step }
            | ShsError::BadSignature { step }
            | ShsError::BadLongTermKey { step }
            | ShsError::ClientRefused { step, .. }
            | ShsError::Unexpected { step, .. } => Some(*step),
            ShsError::InvalidServerKey => None,
        }
    }

    /// The error kind of the adapter protocol (`conformance/ADAPTER.md`).
    pub fn kind(&self) -> &'static str {
        match self {
            ShsError::ClientRefused { .. } => "client_refused",
            ShsError::InvalidServerKey => "invalid_args",
            other => match other.step() {
                Some(Step::Msg1) => "msg1_rejected",
                Some(Step::Msg2) => "msg2_rejected",
                Some(Step::Msg3) => "msg3_rejected",
                _ => "msg4_rejected",
            },
        }
    }
}

/// What a finished handshake gives each side: who the peer is and the box-stream parameters.
#[derive(Clone, PartialEq, Eq)]
pub struct Outcome {
    /// The peer's long-term ed25519 public key.
    pub remote: FeedId,
    pub encrypt_key: [u8; 32],
    pub encrypt_nonce: [u8; 24],
    pub decrypt_key: [u8; 32],
    pub decrypt_nonce: [u8; 24],
}

impl std::fmt::Debug for Outcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Outcome")
            .field("remote", &self.remote)
            .finish_non_exhaustive()
    }
}

/// What a handshake machine wants next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Write these bytes to the peer.
    Send(Vec<u8>),
    /// Read exactly this many bytes and pass them to [`Handshake::receive`].
    Receive(usize),
    /// The handshake succeeded.
    Done(Outcome),
    /// The handshake failed earlier; nothing more will happen.
    Failed,
}

/// The common driving interface of [`Client`] and [`Server`].
pub trait Handshake {
    /// What to do next. `Send` is returned once per message.
    fn next(&mut self) -> Action;
    /// Feeds the bytes read after `Receive(n)`. Any failure is final.
    fn receive(&mut self, bytes: &[u8]) -> Result<(), ShsError>;
}

/// Runs a client and a server against each other in memory; used by tests, benches and the
/// vector generator. Returns both outcomes, or the first error with the side that raised it.
pub fn run_pair(client: &mut Client, server: &mut Server) -> Result<(Outcome, Outcome), (bool, ShsError)> {
    let mut to_server: Vec<u8> = Vec::new();
    let mut to_client: Vec<u8> = Vec::new();
    let mut done: (Option<Outcome>, Option<Outcome>) = (None, None);
    for _ in 0..16 {
        if done.0.is_none() {
            match client.next() {
                Action::Send(b) => to_server.extend_from_slice(&b),
                Action::Receive(n) if to_client.len() >= n => {
                    let msg: Vec<u8> = to_client.drain(..n).collect();
                    client.receive(&msg).map_err(|e| (true, e))?;
                }
                Action::Done(o) => done.0 = Some(o),
                _ => {}
            }
        }
        if done.1.is_none() {
            match server.next() {
                Action::Send(b) => to_client.extend_from_slice(&b),
                Action::Receive(n) if to_server.len() >= n => {
                    let msg: Vec<u8> = to_server.drain(..n).collect();
                    server.receive(&msg).map_err(|e| (false, e))?;
                }
                Action::Done(o) => done.1 = Some(o),
                _ => {}
            }
        }
        if let (Some(c), Some(s)) = &done {
            return Ok((c.clone(), s.clone()));
        }
    }
    unreachable!("a handshake finishes or fails within four exchanges")
}
