//! The packet-stream codec that muxrpc speaks inside a box-stream. A packet is a 9-byte header —
//! flags (1 byte: bit 3 stream, bit 2 end-or-error, bits 0–1 body type: 0 binary, 1 UTF-8
//! string, 2 JSON), body length (u32 big-endian), request number (i32 big-endian; negative
//! numbers answer the request of the same absolute value) — followed by the body. Nine zero
//! bytes say goodbye. Sans-IO: [`Packet::encode`] appends bytes, [`Decoder`] takes bytes in any
//! chunking, checks each header before it buffers a body, and refuses bodies over its limit.

/// Bytes of a header.
pub const HEADER_LEN: usize = 9;
/// The goodbye: a header of nine zero bytes.
pub const GOODBYE: [u8; HEADER_LEN] = [0; HEADER_LEN];
/// The body limit a [`Decoder`] uses unless told otherwise (1 MiB).
pub const DEFAULT_MAX_BODY: usize = 1024 * 1024;

const FLAG_STREAM: u8 = 0b1000;
const FLAG_END: u8 = 0b0100;
const TYPE_MASK: u8 = 0b0011;

/// How a body is to be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyType {
    Binary,
    String,
    Json,
}

impl BodyType {
    fn bits(self) -> u8 {
        match self {
            BodyType::Binary => 0,
            BodyType::String => 1,
            BodyType::Json => 2,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            BodyType::Binary => "binary",
            BodyType::String => "string",
            BodyType::Json => "json",
        }
    }

    pub fn from_name(s: &str) -> Option<BodyType> {
        match s {
            "binary" => Some(BodyType::Binary),
            "string" => Some(BodyType::String),
            "json" => Some(BodyType::Json),
            _ => None,
        }
    }
}

/// One packet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Packet {
    pub stream: bool,
    /// End of a stream, or (with a JSON body) an error.
    pub end: bool,
    pub body_type: BodyType,
    /// Positive for a request, negative for its responses; never 0 (that is the goodbye).
    pub request: i32,
    pub body: Vec<u8>,
}

/// Why bytes are not a valid packet stream. `kind()` is the adapter protocol's name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum CodecError {
    #[error("body type 3 is not defined")]
    UnknownBodyType,
    #[error("body of {0} bytes is over the limit of {1}")]
    BodyTooLarge(u64, usize),
    #[error("request number 0 on a packet that is not the goodbye")]
    ZeroRequest,
    #[error("a string body is not UTF-8")]
    InvalidString,
    #[error("a JSON body is not JSON")]
    InvalidJson,
    #[error("input ends inside a {0}")]
    Truncated(&'static str),
    #[error("{0} or more bytes after the goodbye")]
    DataAfterGoodbye(usize),
}

impl CodecError {
    pub fn kind(&self) -> &'static str {
        match self {
            CodecError::UnknownBodyType => "unknown_body_type",
            CodecError::BodyTooLarge(..) => "body_too_large",
            CodecError::ZeroRequest => "zero_request",
            CodecError::InvalidString => "invalid_string",
            CodecError::InvalidJson => "invalid_json",
            CodecError::Truncated(_) => "truncated",
            CodecError::DataAfterGoodbye(_) => "data_after_goodbye",
        }
    }
}

impl Packet {
    /// Appends the packet's bytes to `out`.
    pub fn encode(&self, out: &mut Vec<u8>) {
        let mut flags = self.body_type.bits();
        if self.stream {
            flags |= FLAG_STREAM;
        }
        if self.end {
            flags |= FLAG_END;
        }
        out.push(flags);
        out.extend_from_slice(&(self.body.len() as u32).to_be_bytes());
        out.extend_from_slice(&self.request.to_be_bytes());
        out.extend_from_slice(&self.body);
    }
}

/// What the decoder yields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    Packet(Packet),
    Goodbye,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Header,
    Body { flags: u8, len: usize, request: i32 },
    Ended,
    Failed(CodecError),
}

/// A streaming decoder with a body limit.
#[derive(Debug, Clone)]
pub struct Decoder {
    max_body: usize,
    /// Whether JSON bodies are parsed to refuse what is not JSON (a consumer that parses every
    /// body itself can skip this second parse).
    check_json: bool,
    phase: Phase,
    buf: Vec<u8>,
}

impl Default for Decoder {
    fn default() -> Self {
        Decoder::new(DEFAULT_MAX_BODY)
    }
}

impl Decoder {
    /// A decoder that refuses bodies over `max_body` bytes (before buffering them).
    pub fn new(max_body: usize) -> Self {
        Decoder {
            max_body,
            check_json: true,
            phase: Phase::Header,
            buf: Vec::new(),
        }
    }

    /// A decoder that leaves JSON bodies unchecked: the caller parses them and handles what is
    /// not JSON itself.
    pub fn without_json_check(mut self) -> Self {
        self.check_json = false;
        self
    }

    /// Takes the next bytes and appends the packets they complete to `events`. After an error
    /// every call returns it again.
    pub fn feed(&mut self, mut input: &[u8], events: &mut Vec<Event>) -> Result<(), CodecError> {
        loop {
            match self.phase {
                Phase::Failed(e) => return Err(e),
                Phase::Ended if input.is_empty() => return Ok(()),
                Phase::Ended => return self.fail(CodecError::DataAfterGoodbye(input.len())),
                Phase::Header => {
                    let Some(h) = self.take(&mut input, HEADER_LEN) else {
                        return Ok(());
                    };
                    if h == GOODBYE {
                        events.push(Event::Goodbye);
                        self.phase = Phase::Ended;
                        continue;
                    }
                    let flags = h[0];
                    let len = u32::from_be_bytes([h[1], h[2], h[3], h[4]]);
                    let request = i32::from_be_bytes([h[5], h[6], h[7], h[8]]);
                    if flags & TYPE_MASK == 3 {
                        return self.fail(CodecError::UnknownBodyType);
                    }
                    if len as u64 > self.max_body as u64 {
                        return self.fail(CodecError::BodyTooLarge(u64::from(len), self.max_body));
                    }
                    if request == 0 {
                        return self.fail(CodecError::ZeroRequest);
                    }
                    self.phase = Phase::Body {
                        flags,
                        len: len as usize,
                        request,
                    };
                }
                Phase::Body { flags, len, request } => {
                    let Some(body) = self.take(&mut input, len) else {
                        return Ok(());
                    };
                    let body_type = match flags & TYPE_MASK {
                        0 => BodyType::Binary,
                        1 => BodyType::String,
                        _ => BodyType::Json,
                    };
                    match body_type {
                        BodyType::String if std::str::from_utf8(&body).is_err() => {
                            return self.fail(CodecError::InvalidString)
                        }
                        // JSON bodies are judged as JSON.parse judges them.
                        BodyType::Json
                            if self.check_json
                                && crate::legacy::parse(&body, crate::legacy::Mode::JsCompat).is_err() =>
                        {
                            return self.fail(CodecError::InvalidJson)
                        }
                        _ => {}
                    }
                    events.push(Event::Packet(Packet {
                        stream: flags & FLAG_STREAM != 0,
                        end: flags & FLAG_END != 0,
                        body_type,
                        request,
                        body,
                    }));
                    self.phase = Phase::Header;
                }
            }
        }
    }

    /// At the end of the transport: an error if it stopped inside a packet. Returns whether
    /// the goodbye was seen.
    pub fn finish(&self) -> Result<bool, CodecError> {
        match self.phase {
            Phase::Failed(e) => Err(e),
            Phase::Ended => Ok(true),
            Phase::Header if self.buf.is_empty() => Ok(false),
            Phase::Header => Err(CodecError::Truncated("header")),
            Phase::Body { .. } => Err(CodecError::Truncated("body")),
        }
    }

    fn take(&mut self, input: &mut &[u8], n: usize) -> Option<Vec<u8>> {
        let need = n - self.buf.len();
        if input.len() < need {
            self.buf.extend_from_slice(input);
            *input = &[];
            return None;
        }
        let (now, rest) = input.split_at(need);
        *input = rest;
        let mut out = std::mem::take(&mut self.buf);
        out.extend_from_slice(now);
        Some(out)
    }

    fn fail(&mut self, e: CodecError) -> Result<(), CodecError> {
        self.phase = Phase::Failed(e);
        Err(e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn packet(stream: bool, end: bool, t: BodyType, request: i32, body: &[u8]) -> Packet {
        Packet {
            stream,
            end,
            body_type: t,
            request,
            body: body.to_vec(),
        }
    }

    #[test]
    fn header_layout_and_round_trip_in_any_chunking() {
        let p = packet(true, false, BodyType::Json, -7, b"{\"a\":1}");
        let mut wire = Vec::new();
        p.encode(&mut wire);
        assert_eq!(&wire[..9], &[0b1010, 0, 0, 0, 7, 0xff, 0xff, 0xff, 0xf9]);
        wire.extend_from_slice(&GOODBYE);
        for chunk in [1, 2, 9, 10, 100] {
            let mut d = Decoder::default();
            let mut ev = Vec::new();
            for c in wire.chunks(chunk) {
                d.feed(c, &mut ev).unwrap();
            }
            assert_eq!(
                ev,
                vec![Event::Packet(p.clone()), Event::Goodbye],
                "chunk {chunk}"
            );
            assert_eq!(d.finish(), Ok(true));
        }
    }

    #[test]
    fn limits_are_checked_before_buffering() {
        let mut d = Decoder::new(10);
        let header = [0u8, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 1];
        assert_eq!(
            d.feed(&header, &mut Vec::new()),
            Err(CodecError::BodyTooLarge(u32::MAX as u64, 10))
        );
        assert!(d.buf.capacity() < 64, "no body buffer was allocated");
        let mut d = Decoder::default();
        assert_eq!(
            d.feed(&[3, 0, 0, 0, 0, 0, 0, 0, 1], &mut Vec::new()),
            Err(CodecError::UnknownBodyType)
        );
    }
}
