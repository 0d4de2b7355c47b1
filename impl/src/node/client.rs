//! A muxrpc client over TCP: handshake, then calls one at a time or several streams at once.
//! Used by local tools (a node's own key may `publish`), by tests, and by the live-peer
//! conformance check, which needs to send odd requests and see exactly what comes back.

use std::collections::VecDeque;
use std::time::Duration;

use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha20Rng;
use serde_json::Value as Json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::driver::{self, BoxStream};
use crate::identity::{FeedId, Keypair};
use crate::muxrpc::{Body, CallType, Endpoint, Limits, RpcError, RpcEvent, StreamId};

/// Why a client call failed.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("connect: {0}")]
    Connect(String),
    #[error("the peer answered with an error: {0}")]
    Remote(RpcError),
    #[error("no answer within {0:?}")]
    Timeout(Duration),
    #[error("connection closed: {0}")]
    Closed(String),
}

/// What a source call gave: its items, and how it ended.
#[derive(Debug, Clone)]
pub struct SourceResult {
    pub items: Vec<Body>,
    /// `Some(error)` if the stream ended with an error; `None` if it ended normally or was
    /// still open when the wait ended (`open` tells which).
    pub error: Option<RpcError>,
    pub open: bool,
}

/// A connected client.
pub struct Client {
    io: BoxStream<TcpStream>,
    pub rpc: Endpoint,
    pub peer: FeedId,
    backlog: VecDeque<RpcEvent>,
    closed: Option<String>,
}

impl Client {
    /// Connects and handshakes with `server` on network `net`.
    pub async fn connect(
        addr: &str,
        net: [u8; 32],
        keys: Keypair,
        server: FeedId,
        seed: [u8; 32],
    ) -> Result<Client, ClientError> {
        let tcp = TcpStream::connect(addr)
            .await
            .map_err(|e| ClientError::Connect(e.to_string()))?;
        let _ = tcp.set_nodelay(true);
        let mut rng = ChaCha20Rng::from_seed(seed);
        let io = tokio::time::timeout(
            Duration::from_secs(10),
            driver::connect(tcp, net, keys, server, &mut rng),
        )
        .await
        .map_err(|_| ClientError::Connect("handshake timed out".into()))?
        .map_err(|e| ClientError::Connect(e.to_string()))?;
        Ok(Client {
            peer: io.peer(),
            io,
            rpc: Endpoint::new(Limits::default()),
            backlog: VecDeque::new(),
            closed: None,
        })
    }

    /// Writes what the endpoint has queued.
    pub async fn flush(&mut self) -> Result<(), ClientError> {
        let out = self.rpc.take_output();
        if !out.is_empty() {
            self.io
                .write_all(&out)
                .await
                .map_err(|e| ClientError::Closed(e.to_string()))?;
            self.io
                .flush()
                .await
                .map_err(|e| ClientError::Closed(e.to_string()))?;
        }
        Ok(())
    }

    /// Writes raw bytes inside the box-stream (for malformed-packet checks).
    pub async fn write_raw(&mut self, bytes: &[u8]) -> Result<(), ClientError> {
        self.io
            .write_all(bytes)
            .await
            .map_err(|e| ClientError::Closed(e.to_string()))?;
        self.io
            .flush()
            .await
            .map_err(|e| ClientError::Closed(e.to_string()))
    }

    /// The next event, waiting at most `timeout`.
    pub async fn next_event(&mut self, timeout: Duration) -> Result<RpcEvent, ClientError> {
        if let Some(e) = self.backlog.pop_front() {
            return Ok(e);
        }
        let deadline = tokio::time::Instant::now() + timeout;
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            self.flush().await?;
            if let Some(e) = self.backlog.pop_front() {
                return Ok(e);
            }
            if let Some(why) = &self.closed {
                return Err(ClientError::Closed(why.clone()));
            }
            let read = tokio::time::timeout_at(deadline, self.io.read(&mut buf)).await;
            let n = match read {
                Err(_) => return Err(ClientError::Timeout(timeout)),
                Ok(Ok(0)) => {
                    self.closed = Some("the peer ended the stream".into());
                    continue;
                }
                Ok(Ok(n)) => n,
                Ok(Err(e)) => {
                    self.closed = Some(e.to_string());
                    continue;
                }
            };
            let mut evs = Vec::new();
            if let Err(e) = self.rpc.receive(&buf[..n], &mut evs) {
                self.closed = Some(format!("muxrpc: {e}"));
            }
            self.backlog.extend(evs);
        }
    }

    /// Whether the peer has closed the connection (waits up to `timeout` for it).
    pub async fn wait_closed(&mut self, timeout: Duration) -> Option<String> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            match self.next_event(left).await {
                Err(ClientError::Closed(why)) => return Some(why),
                Err(_) => return None,
                Ok(RpcEvent::Goodbye) => return Some("goodbye".into()),
                Ok(_) => continue,
            }
        }
    }

    /// Events for other streams than the one awaited are kept for later.
    async fn wait_for(
        &mut self,
        timeout: Duration,
        mut want: impl FnMut(&RpcEvent) -> bool,
    ) -> Result<RpcEvent, ClientError> {
        let deadline = tokio::time::Instant::now() + timeout;
        let mut skipped = Vec::new();
        let res = loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            match self.next_event(left).await {
                Ok(e) if want(&e) => break Ok(e),
                Ok(RpcEvent::Call { id, call_type, .. }) => {
                    // Calls from the peer while we wait: refuse them.
                    let e = RpcError::new("Error", "the harness client serves nothing");
                    if call_type == CallType::Async {
                        self.rpc.respond(id, Err(e));
                    } else {
                        self.rpc.end(id, Some(e));
                    }
                }
                Ok(e) => skipped.push(e),
                Err(e) => break Err(e),
            }
        };
        for e in skipped.into_iter().rev() {
            self.backlog.push_front(e);
        }
        res
    }

    /// An async call.
    pub async fn call(&mut self, name: &[&str], args: Json, timeout: Duration) -> Result<Body, ClientError> {
        let id = self.rpc.call(name, CallType::Async, args);
        match self
            .wait_for(
                timeout,
                |e| matches!(e, RpcEvent::Response { id: i, .. } if *i == id),
            )
            .await?
        {
            RpcEvent::Response { result, .. } => result.map_err(ClientError::Remote),
            _ => unreachable!("waited for a response"),
        }
    }

    /// A source call, read until it ends, `max_items` arrive, or `timeout` passes (then
    /// `open` is true). Sets no limit of its own otherwise.
    pub async fn source(
        &mut self,
        name: &[&str],
        args: Json,
        max_items: usize,
        timeout: Duration,
    ) -> Result<SourceResult, ClientError> {
        let id = self.rpc.call(name, CallType::Source, args);
        self.read_stream(id, max_items, timeout).await
    }

    /// Reads a stream of ours until it ends, `max_items` arrive, or `timeout` passes.
    pub async fn read_stream(
        &mut self,
        id: StreamId,
        max_items: usize,
        timeout: Duration,
    ) -> Result<SourceResult, ClientError> {
        let deadline = tokio::time::Instant::now() + timeout;
        let mut items = Vec::new();
        loop {
            if items.len() >= max_items {
                return Ok(SourceResult {
                    items,
                    error: None,
                    open: true,
                });
            }
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            let ev = self
                .wait_for(left, |e| match e {
                    RpcEvent::Data { id: i, .. } | RpcEvent::End { id: i, .. } => *i == id,
                    _ => false,
                })
                .await;
            match ev {
                Ok(RpcEvent::Data { body, .. }) => items.push(body),
                Ok(RpcEvent::End { error, .. }) => {
                    return Ok(SourceResult {
                        items,
                        error,
                        open: false,
                    })
                }
                Ok(_) => unreachable!("waited for data or end"),
                Err(ClientError::Timeout(_)) => {
                    return Ok(SourceResult {
                        items,
                        error: None,
                        open: true,
                    })
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// Says goodbye and closes.
    pub async fn close(mut self) {
        self.rpc.goodbye();
        let _ = self.flush().await;
        let _ = self.io.shutdown().await;
    }
}
