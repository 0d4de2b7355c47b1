//! Box-stream: the framing that encrypts an SSB connection after the secret handshake.
//!
//! Each body of 1..=4096 bytes travels as a 34-byte header box followed by the body's
//! ciphertext. The header box is `secretbox(nonce n, len(u16 BE) ‖ body_mac(16))`; the body is
//! encrypted with nonce n+1 and its authenticator travels in the header; the next frame starts at
//! nonce n+2 (nonces are 24-byte big-endian counters). The goodbye is a header box over 18 zero
//! bytes. Sans-IO: [`Encrypter`] appends frames to a buffer, [`Decrypter`] takes bytes in any
//! chunking and yields bodies.

use crate::crypto::{self, increment_nonce_be};

/// Largest body of one frame.
pub const MAX_BODY: usize = 4096;
/// Bytes of a header box: 16 (MAC) + 2 (length) + 16 (body MAC).
pub const HEADER_LEN: usize = 34;

/// Why a box-stream was refused. `kind()` gives the adapter protocol's name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum BoxStreamError {
    #[error("stream ended inside a {0}")]
    Truncated(&'static str),
    #[error("stream ended on a frame boundary without the goodbye (possible truncation attack)")]
    NoGoodbye,
    #[error("header box does not open (tampered, reordered, or wrong key/nonce)")]
    HeaderAuth,
    #[error("body box does not open")]
    BodyAuth,
    #[error("header announces a body of {0} bytes, more than 4096")]
    BodyTooLong(usize),
    #[error("header announces an empty body but is not the goodbye")]
    EmptyBody,
    /// Carries how many bytes followed the goodbye in the input that revealed them (a lower bound).
    #[error("{0} or more bytes after the goodbye")]
    DataAfterGoodbye(usize),
}

impl BoxStreamError {
    pub fn kind(&self) -> &'static str {
        match self {
            BoxStreamError::Truncated(_) | BoxStreamError::NoGoodbye => "truncated",
            BoxStreamError::HeaderAuth => "header_auth_failed",
            BoxStreamError::BodyAuth => "body_auth_failed",
            BoxStreamError::BodyTooLong(_) => "body_too_long",
            BoxStreamError::EmptyBody => "empty_body",
            BoxStreamError::DataAfterGoodbye(_) => "data_after_goodbye",
        }
    }
}

/// Encrypts one direction of a connection.
#[derive(Clone)]
pub struct Encrypter {
    key: [u8; 32],
    nonce: [u8; 24],
    said_goodbye: bool,
}

impl Encrypter {
    pub fn new(key: [u8; 32], nonce: [u8; 24]) -> Self {
        Encrypter {
            key,
            nonce,
            said_goodbye: false,
        }
    }

    /// Appends the frames for `data` to `out`: nothing for an empty write, one frame per 4096
    /// bytes otherwise. Writing after the goodbye is a caller bug and appends nothing.
    pub fn encrypt(&mut self, data: &[u8], out: &mut Vec<u8>) {
        if self.said_goodbye {
            return;
        }
        out.reserve(data.len() + data.len().div_ceil(MAX_BODY) * HEADER_LEN);
        for chunk in data.chunks(MAX_BODY) {
            self.frame(chunk, out);
        }
    }

    fn frame(&mut self, body: &[u8], out: &mut Vec<u8>) {
        let start = out.len();
        out.resize(start + HEADER_LEN, 0);
        out.extend_from_slice(body);
        let header_nonce = self.nonce;
        increment_nonce_be(&mut self.nonce);
        let (header, body_buf) = out[start..].split_at_mut(HEADER_LEN);
        let body_mac = crypto::secretbox_seal_detached(&self.key, &self.nonce, body_buf);
        increment_nonce_be(&mut self.nonce);
        header[16..18].copy_from_slice(&(body.len() as u16).to_be_bytes());
        header[18..].copy_from_slice(&body_mac);
        let header_mac = crypto::secretbox_seal_detached(&self.key, &header_nonce, &mut header[16..]);
        header[..16].copy_from_slice(&header_mac);
    }

    /// Appends the goodbye (a header box over 18 zero bytes); later calls append nothing.
    pub fn goodbye(&mut self, out: &mut Vec<u8>) {
        if self.said_goodbye {
            return;
        }
        self.said_goodbye = true;
        out.extend_from_slice(&crypto::secretbox_seal(&self.key, &self.nonce, &[0u8; 18]));
    }

    pub fn said_goodbye(&self) -> bool {
        self.said_goodbye
    }
}

/// What an opened header announces.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Header {
    /// A body of this many bytes follows, with this authenticator.
    Body { len: usize, mac: [u8; 16] },
    /// The peer closed the stream.
    Goodbye,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Header,
    Body { len: usize, mac: [u8; 16] },
    Ended,
    Failed(BoxStreamError),
}

/// Something the decrypter yields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    Body(Vec<u8>),
    Goodbye,
}

/// Decrypts one direction of a connection, from bytes in any chunking.
#[derive(Clone)]
pub struct Decrypter {
    key: [u8; 32],
    nonce: [u8; 24],
    phase: Phase,
    buf: Vec<u8>,
}

impl Decrypter {
    pub fn new(key: [u8; 32], nonce: [u8; 24]) -> Self {
        Decrypter {
            key,
            nonce,
            phase: Phase::Header,
            buf: Vec::new(),
        }
    }

    /// Opens one 34-byte header box (low-level API; [`Decrypter::feed`] uses it).
    pub fn open_header(&mut self, boxed: &[u8; HEADER_LEN]) -> Result<Header, BoxStreamError> {
        let mac: [u8; 16] = boxed[..16].try_into().expect("34 bytes");
        let mut plain: [u8; 18] = boxed[16..].try_into().expect("34 bytes");
        crypto::secretbox_open_detached(&self.key, &self.nonce, &mac, &mut plain)
            .map_err(|_| BoxStreamError::HeaderAuth)?;
        if plain == [0u8; 18] {
            return Ok(Header::Goodbye);
        }
        let len = u16::from_be_bytes([plain[0], plain[1]]) as usize;
        if len == 0 {
            return Err(BoxStreamError::EmptyBody);
        }
        if len > MAX_BODY {
            return Err(BoxStreamError::BodyTooLong(len));
        }
        increment_nonce_be(&mut self.nonce);
        Ok(Header::Body {
            len,
            mac: plain[2..].try_into().expect("18 bytes"),
        })
    }

    /// Decrypts a body in place with the MAC its header announced (low-level API).
    pub fn open_body(&mut self, mac: &[u8; 16], body: &mut [u8]) -> Result<(), BoxStreamError> {
        crypto::secretbox_open_detached(&self.key, &self.nonce, mac, body)
            .map_err(|_| BoxStreamError::BodyAuth)?;
        increment_nonce_be(&mut self.nonce);
        Ok(())
    }

    /// Takes the next bytes of the stream and appends what they complete to `events`. After an
    /// error every later call returns the same error.
    pub fn feed(&mut self, mut input: &[u8], events: &mut Vec<Event>) -> Result<(), BoxStreamError> {
        loop {
            match self.phase {
                Phase::Failed(e) => return Err(e),
                Phase::Ended => {
                    if input.is_empty() {
                        return Ok(());
                    }
                    return self.fail(BoxStreamError::DataAfterGoodbye(input.len()));
                }
                Phase::Header => {
                    let Some(header) = self.take(&mut input, HEADER_LEN) else {
                        return Ok(());
                    };
                    let header: [u8; HEADER_LEN] = header.as_slice().try_into().expect("took 34");
                    match self.open_header(&header) {
                        Ok(Header::Goodbye) => {
                            events.push(Event::Goodbye);
                            self.phase = Phase::Ended;
                        }
                        Ok(Header::Body { len, mac }) => self.phase = Phase::Body { len, mac },
                        Err(e) => return self.fail(e),
                    }
                }
                Phase::Body { len, mac } => {
                    let Some(mut body) = self.take(&mut input, len) else {
                        return Ok(());
                    };
                    if let Err(e) = self.open_body(&mac, &mut body) {
                        return self.fail(e);
                    }
                    events.push(Event::Body(body));
                    self.phase = Phase::Header;
                }
            }
        }
    }

    /// Moves `n` bytes (buffered ones first) out of `input`, or buffers all of it and says
    /// `None` when it is not enough. The buffer never holds more than one frame part.
    fn take(&mut self, input: &mut &[u8], n: usize) -> Option<Vec<u8>> {
        let need = n - self.buf.len();
        if input.len() < need {
            self.buf.extend_from_slice(input);
            *input = &[];
            return None;
        }
        let (now, rest) = input.split_at(need);
        *input = rest;
        if self.buf.is_empty() {
            return Some(now.to_vec());
        }
        let mut out = std::mem::take(&mut self.buf);
        out.extend_from_slice(now);
        Some(out)
    }

    fn fail(&mut self, e: BoxStreamError) -> Result<(), BoxStreamError> {
        self.phase = Phase::Failed(e);
        Err(e)
    }

    /// Called at the end of the transport: the stream must have ended with the goodbye. A
    /// stream that stops without it may have been cut by an attacker, so that is an error too
    /// ([`BoxStreamError::NoGoodbye`]), as in pull-box-stream.
    pub fn finish(&self) -> Result<(), BoxStreamError> {
        match self.phase {
            Phase::Failed(e) => Err(e),
            Phase::Ended => Ok(()),
            Phase::Header if self.buf.is_empty() => Err(BoxStreamError::NoGoodbye),
            Phase::Header => Err(BoxStreamError::Truncated("header")),
            Phase::Body { .. } => Err(BoxStreamError::Truncated("body")),
        }
    }

    /// Whether the goodbye has been read.
    pub fn ended(&self) -> bool {
        self.phase == Phase::Ended
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pair() -> (Encrypter, Decrypter) {
        (Encrypter::new([1; 32], [2; 24]), Decrypter::new([1; 32], [2; 24]))
    }

    #[test]
    fn round_trip_split_and_goodbye() {
        let (mut enc, mut dec) = pair();
        let mut wire = Vec::new();
        enc.encrypt(&[], &mut wire);
        assert!(wire.is_empty(), "empty write emits nothing");
        let data: Vec<u8> = (0..10_000u32).map(|i| i as u8).collect();
        enc.encrypt(&data, &mut wire);
        assert_eq!(wire.len(), 10_000 + 3 * HEADER_LEN);
        enc.goodbye(&mut wire);
        let mut events = Vec::new();
        for chunk in wire.chunks(7) {
            dec.feed(chunk, &mut events).unwrap();
        }
        assert_eq!(events.len(), 4);
        let joined: Vec<u8> = events
            .iter()
            .filter_map(|e| match e {
                Event::Body(b) => Some(b.clone()),
                _ => None,
            })
            .flatten()
            .collect();
        assert_eq!(joined, data);
        assert_eq!(events.last(), Some(&Event::Goodbye));
        assert_eq!(dec.finish(), Ok(()));
        assert_eq!(
            dec.feed(&[0], &mut events),
            Err(BoxStreamError::DataAfterGoodbye(1))
        );
    }

    #[test]
    fn truncation_is_reported_at_finish() {
        let (mut enc, mut dec) = pair();
        let mut wire = Vec::new();
        enc.encrypt(b"hello", &mut wire);
        let mut events = Vec::new();
        assert_eq!(dec.finish(), Err(BoxStreamError::NoGoodbye));
        dec.feed(&wire[..20], &mut events).unwrap();
        assert_eq!(dec.finish(), Err(BoxStreamError::Truncated("header")));
        dec.feed(&wire[20..36], &mut events).unwrap();
        assert_eq!(dec.finish(), Err(BoxStreamError::Truncated("body")));
    }

    #[test]
    fn tampering_is_detected_per_region() {
        let (mut enc, _) = pair();
        let mut wire = Vec::new();
        enc.encrypt(b"hello world", &mut wire);
        for (i, want) in [
            (0, BoxStreamError::HeaderAuth),
            (20, BoxStreamError::HeaderAuth),
            (40, BoxStreamError::BodyAuth),
        ] {
            let mut bad = wire.clone();
            bad[i] ^= 0x10;
            let mut dec = Decrypter::new([1; 32], [2; 24]);
            assert_eq!(dec.feed(&bad, &mut Vec::new()), Err(want), "byte {i}");
        }
    }
}
