//! The tokio driver: runs the sans-IO secret handshake over any `AsyncRead + AsyncWrite`
//! (a real TCP stream, a simulated one, an in-memory pipe) and then wraps the transport in a
//! box-stream that is itself `AsyncRead + AsyncWrite`.
//!
//! The driver sets no timeouts of its own: wrap calls in `tokio::time::timeout` where a stalled
//! peer must be cut off.

use std::io;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use rand_core::CryptoRngCore;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadBuf};

use crate::boxstream::{BoxStreamError, Decrypter, Encrypter, Event, MAX_BODY};
use crate::identity::{FeedId, Keypair};
use crate::shs::{Action, Authorizer, Client, Handshake, Outcome, Server, ShsError};

/// Why `connect` or `accept` failed.
#[derive(Debug, thiserror::Error)]
pub enum DriverError {
    #[error("handshake refused: {0}")]
    Handshake(#[from] ShsError),
    #[error("transport failed while {doing}: {source}")]
    Io { doing: &'static str, source: io::Error },
}

/// Runs a handshake machine to completion over `io`.
pub async fn handshake<S, H>(io: &mut S, hs: &mut H) -> Result<Outcome, DriverError>
where
    S: AsyncRead + AsyncWrite + Unpin,
    H: Handshake,
{
    loop {
        match hs.next() {
            Action::Send(bytes) => {
                io.write_all(&bytes).await.map_err(|source| DriverError::Io {
                    doing: "sending a handshake message",
                    source,
                })?;
                io.flush().await.map_err(|source| DriverError::Io {
                    doing: "sending a handshake message",
                    source,
                })?;
            }
            Action::Receive(n) => {
                let mut buf = vec![0u8; n];
                io.read_exact(&mut buf).await.map_err(|source| DriverError::Io {
                    doing: "reading a handshake message",
                    source,
                })?;
                hs.receive(&buf)?;
            }
            Action::Done(outcome) => return Ok(outcome),
            Action::Failed => {
                return Err(DriverError::Io {
                    doing: "continuing a failed handshake",
                    source: io::Error::other("handshake already failed"),
                })
            }
        }
    }
}

/// Client side: handshakes with `server` and returns the encrypted stream.
pub async fn connect<S>(
    mut io: S,
    net: [u8; 32],
    keys: Keypair,
    server: FeedId,
    rng: &mut impl CryptoRngCore,
) -> Result<BoxStream<S>, DriverError>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let mut client = Client::new(net, keys, server, rng)?;
    let outcome = handshake(&mut io, &mut client).await?;
    Ok(BoxStream::new(io, outcome))
}

/// Server side: handshakes with whoever connects (if `authorize` lets them in).
pub async fn accept<S>(
    mut io: S,
    net: [u8; 32],
    keys: Keypair,
    authorize: Authorizer,
    rng: &mut impl CryptoRngCore,
) -> Result<BoxStream<S>, DriverError>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let mut server = Server::new(net, keys, authorize, rng);
    let outcome = handshake(&mut io, &mut server).await?;
    Ok(BoxStream::new(io, outcome))
}

/// An authenticated, encrypted duplex stream. Writes are encrypted (bodies ≤ 4096 bytes);
/// `shutdown` sends the goodbye; reads end (0 bytes) after the peer's goodbye. A transport that
/// closes without the goodbye reads as `UnexpectedEof`, a tampered frame as `InvalidData`, in
/// both cases after every body authenticated before the fault has been read. The stream stops
/// reading at the goodbye, so bytes after it are never looked at, however the transport splits
/// them (the sans-IO [`Decrypter`] reports them; this reader, like a socket after FIN, does not).
pub struct BoxStream<S> {
    io: S,
    peer: FeedId,
    enc: Encrypter,
    dec: Decrypter,
    /// Ciphertext accepted from the caller and not yet written.
    pending: Vec<u8>,
    pending_pos: usize,
    /// Plaintext decrypted and not yet read.
    plain: Vec<u8>,
    plain_pos: usize,
    events: Vec<Event>,
    read_buf: Box<[u8]>,
    eof: bool,
    /// The peer's goodbye has been decrypted: the stream is over.
    goodbye: bool,
    /// A decryption failure, reported once the bodies decoded before it have been read.
    failed: Option<BoxStreamError>,
}

fn invalid(e: BoxStreamError) -> io::Error {
    let kind = match e {
        BoxStreamError::Truncated(_) | BoxStreamError::NoGoodbye => io::ErrorKind::UnexpectedEof,
        _ => io::ErrorKind::InvalidData,
    };
    io::Error::new(kind, e)
}

impl<S> BoxStream<S> {
    pub fn new(io: S, outcome: Outcome) -> Self {
        BoxStream {
            io,
            peer: outcome.remote,
            enc: Encrypter::new(outcome.encrypt_key, outcome.encrypt_nonce),
            dec: Decrypter::new(outcome.decrypt_key, outcome.decrypt_nonce),
            pending: Vec::new(),
            pending_pos: 0,
            plain: Vec::new(),
            plain_pos: 0,
            events: Vec::new(),
            read_buf: vec![0u8; 64 * 1024].into_boxed_slice(),
            eof: false,
            goodbye: false,
            failed: None,
        }
    }

    /// The authenticated peer.
    pub fn peer(&self) -> FeedId {
        self.peer
    }

    /// The transport underneath.
    pub fn get_ref(&self) -> &S {
        &self.io
    }
}

impl<S: AsyncWrite + Unpin> BoxStream<S> {
    fn poll_drain(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        while self.pending_pos < self.pending.len() {
            let n = ready!(Pin::new(&mut self.io).poll_write(cx, &self.pending[self.pending_pos..]))?;
            if n == 0 {
                return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
            }
            self.pending_pos += n;
        }
        self.pending.clear();
        self.pending_pos = 0;
        Poll::Ready(Ok(()))
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for BoxStream<S> {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        let this = &mut *self;
        if this.enc.said_goodbye() {
            return Poll::Ready(Err(io::Error::new(
                io::ErrorKind::BrokenPipe,
                "box-stream write after goodbye",
            )));
        }
        ready!(this.poll_drain(cx))?;
        // Accept up to 16 bodies per call, so the pending buffer stays bounded.
        let n = buf.len().min(16 * MAX_BODY);
        this.enc.encrypt(&buf[..n], &mut this.pending);
        // Start writing now; whatever the transport does not take waits for the next call.
        if let Poll::Ready(Err(e)) = this.poll_drain(cx) {
            return Poll::Ready(Err(e));
        }
        Poll::Ready(Ok(n))
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        ready!(self.poll_drain(cx))?;
        Pin::new(&mut self.io).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = &mut *self;
        if !this.enc.said_goodbye() {
            this.enc.goodbye(&mut this.pending);
        }
        ready!(this.poll_drain(cx))?;
        Pin::new(&mut this.io).poll_shutdown(cx)
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for BoxStream<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = &mut *self;
        loop {
            if this.plain_pos < this.plain.len() {
                let n = buf.remaining().min(this.plain.len() - this.plain_pos);
                buf.put_slice(&this.plain[this.plain_pos..this.plain_pos + n]);
                this.plain_pos += n;
                if this.plain_pos == this.plain.len() {
                    this.plain.clear();
                    this.plain_pos = 0;
                }
                return Poll::Ready(Ok(()));
            }
            if let Some(e) = this.failed {
                return Poll::Ready(Err(invalid(e)));
            }
            if this.goodbye || this.eof {
                return Poll::Ready(Ok(()));
            }
            let mut rb = ReadBuf::new(&mut this.read_buf);
            ready!(Pin::new(&mut this.io).poll_read(cx, &mut rb))?;
            let got = rb.filled().len();
            if got == 0 {
                this.eof = true;
                // Only the goodbye ends a box-stream; a close without it is a truncation.
                this.failed = this.dec.finish().err();
                continue;
            }
            let chunk = this.read_buf[..got].to_vec();
            match this.dec.feed(&chunk, &mut this.events) {
                Ok(()) | Err(BoxStreamError::DataAfterGoodbye(_)) => {}
                Err(e) => this.failed = Some(e),
            }
            for ev in this.events.drain(..) {
                match ev {
                    Event::Body(b) => this.plain.extend_from_slice(&b),
                    Event::Goodbye => this.goodbye = true,
                }
            }
        }
    }
}
