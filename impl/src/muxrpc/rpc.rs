//! The muxrpc call layer over the packet-stream codec, sans-IO. A call is a packet with a JSON
//! body `{name: [..], args: [..], type}` and a positive request number; its answers carry the
//! negated number. `async` calls get one packet back (the end flag set with an error body
//! `{name, message, stack}`); `source`, `sink` and `duplex` calls open a stream (stream flag on
//! every packet) that each side closes with an end packet (`true`, or an error). A stream is
//! gone once both sides have ended it; ending twice and data after an end are refused without
//! answering them. The endpoint bounds the number of open streams and pending calls per peer.

use std::collections::BTreeMap;

use serde_json::{json, Value as Json};

use super::codec::{BodyType, CodecError, Decoder, Event, Packet, GOODBYE};

/// The four kinds of call (`sync` is answered as `async`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallType {
    Async,
    Source,
    Sink,
    Duplex,
}

impl CallType {
    pub fn name(self) -> &'static str {
        match self {
            CallType::Async => "async",
            CallType::Source => "source",
            CallType::Sink => "sink",
            CallType::Duplex => "duplex",
        }
    }

    pub fn from_name(s: &str) -> Option<CallType> {
        match s {
            "async" | "sync" => Some(CallType::Async),
            "source" => Some(CallType::Source),
            "sink" => Some(CallType::Sink),
            "duplex" => Some(CallType::Duplex),
            _ => None,
        }
    }

    fn is_stream(self) -> bool {
        self != CallType::Async
    }
}

/// An error as muxrpc carries it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RpcError {
    pub name: String,
    pub message: String,
}

impl RpcError {
    pub fn new(name: &str, message: impl Into<String>) -> Self {
        RpcError {
            name: name.into(),
            message: message.into(),
        }
    }

    pub fn to_json(&self) -> Json {
        json!({"name": self.name, "message": self.message, "stack": ""})
    }

    /// Reads an error body; anything else becomes a generic error carrying the text.
    pub fn from_body(body: &[u8]) -> Self {
        match serde_json::from_slice::<Json>(body) {
            Ok(Json::Object(o)) => RpcError {
                name: o
                    .get("name")
                    .and_then(Json::as_str)
                    .unwrap_or("Error")
                    .to_string(),
                message: o.get("message").and_then(Json::as_str).unwrap_or("").to_string(),
            },
            _ => RpcError::new("Error", String::from_utf8_lossy(body)),
        }
    }
}

impl std::fmt::Display for RpcError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.name, self.message)
    }
}

/// A stream or call as this endpoint names it: `ours` if we sent the request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct StreamId {
    pub ours: bool,
    pub request: u32,
}

impl StreamId {
    /// The request number we put on packets of this stream.
    fn outgoing(self) -> i32 {
        if self.ours {
            self.request as i32
        } else {
            -(self.request as i32)
        }
    }
}

/// A body with its type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Body {
    pub body_type: BodyType,
    pub bytes: Vec<u8>,
}

impl Body {
    pub fn json(v: &Json) -> Self {
        Body {
            body_type: BodyType::Json,
            bytes: serde_json::to_vec(v).unwrap_or_default(),
        }
    }

    /// JSON text the caller already has (a message value as signed).
    pub fn json_text(text: impl Into<Vec<u8>>) -> Self {
        Body {
            body_type: BodyType::Json,
            bytes: text.into(),
        }
    }

    pub fn binary(bytes: Vec<u8>) -> Self {
        Body {
            body_type: BodyType::Binary,
            bytes,
        }
    }

    pub fn to_json(&self) -> Option<Json> {
        (self.body_type == BodyType::Json)
            .then(|| serde_json::from_slice(&self.bytes).ok())
            .flatten()
    }
}

/// What the endpoint reports to the application.
#[derive(Debug, Clone, PartialEq)]
pub enum RpcEvent {
    /// The peer calls us. Answer an async call with [`Endpoint::respond`]; a stream call with
    /// [`Endpoint::send`] / [`Endpoint::end`].
    Call {
        id: StreamId,
        name: Vec<String>,
        call_type: CallType,
        args: Vec<Json>,
    },
    /// The answer to one of our async calls.
    Response {
        id: StreamId,
        result: Result<Body, RpcError>,
    },
    /// Data on a stream.
    Data { id: StreamId, body: Body },
    /// The peer ended a stream (`None`: normally).
    End { id: StreamId, error: Option<RpcError> },
    /// The peer said goodbye.
    Goodbye,
}

/// Why the endpoint gave up on a peer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RpcFault {
    #[error("framing: {0}")]
    Codec(#[from] CodecError),
    #[error("{0} calls refused for want of room: the peer floods")]
    Flood(u32),
}

impl RpcFault {
    pub fn kind(&self) -> &'static str {
        match self {
            RpcFault::Codec(e) => e.kind(),
            RpcFault::Flood(_) => "flood",
        }
    }
}

/// Limits on one peer.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub max_body: usize,
    /// Streams the peer may hold open at once (its calls and ours together).
    pub max_streams: usize,
    /// Refused calls tolerated before the peer is cut off.
    pub max_refused: u32,
    /// Whether the codec refuses JSON bodies that are not JSON (off when the application parses
    /// every body itself and handles what is not JSON).
    pub check_json: bool,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_body: super::codec::DEFAULT_MAX_BODY,
            max_streams: 1024,
            max_refused: 10_000,
            check_json: true,
        }
    }
}

/// An open stream (or a pending async call of ours). A stream is forgotten once the peer has
/// ended it (our half is ended then too).
#[derive(Debug, Clone, Copy)]
struct StreamState {
    call_type: CallType,
    we_ended: bool,
}

/// One side of a muxrpc connection.
#[derive(Debug)]
pub struct Endpoint {
    decoder: Decoder,
    limits: Limits,
    next_request: u32,
    /// Open streams, and async calls of ours that await an answer.
    streams: BTreeMap<StreamId, StreamState>,
    /// Async calls of the peer that we have not answered.
    pending_async: BTreeMap<u32, ()>,
    out: Vec<u8>,
    refused: u32,
    /// Streams of the peer that we refused and it has not ended (at most `max_streams`).
    refused_streams: std::collections::BTreeSet<u32>,
    said_goodbye: bool,
    /// Packets that named no stream we know (ignored, counted).
    pub unknown_packets: u64,
}

impl Endpoint {
    pub fn new(limits: Limits) -> Self {
        Endpoint {
            decoder: if limits.check_json {
                Decoder::new(limits.max_body)
            } else {
                Decoder::new(limits.max_body).without_json_check()
            },
            limits,
            next_request: 1,
            streams: BTreeMap::new(),
            pending_async: BTreeMap::new(),
            out: Vec::new(),
            refused: 0,
            refused_streams: std::collections::BTreeSet::new(),
            said_goodbye: false,
            unknown_packets: 0,
        }
    }

    /// Bytes waiting to be written to the peer.
    pub fn take_output(&mut self) -> Vec<u8> {
        std::mem::take(&mut self.out)
    }

    pub fn has_output(&self) -> bool {
        !self.out.is_empty()
    }

    /// Bytes queued and not yet taken.
    pub fn queued(&self) -> usize {
        self.out.len()
    }

    pub fn open_streams(&self) -> usize {
        self.streams.len()
    }

    pub fn is_open(&self, id: StreamId) -> bool {
        self.streams.get(&id).is_some_and(|s| !s.we_ended)
    }

    /// Queues a packet; nothing goes out after our goodbye (the peer's codec would refuse it).
    fn push(&mut self, p: Packet) {
        if !self.said_goodbye {
            p.encode(&mut self.out);
        }
    }

    /// Calls the peer; returns the stream (or call) id.
    pub fn call(&mut self, name: &[&str], call_type: CallType, args: Json) -> StreamId {
        let n = self.next_request;
        self.next_request = if n >= i32::MAX as u32 { 1 } else { n + 1 };
        let id = StreamId {
            ours: true,
            request: n,
        };
        let body = json!({"name": name, "args": args, "type": call_type.name()});
        self.push(Packet {
            stream: call_type.is_stream(),
            end: false,
            body_type: BodyType::Json,
            request: n as i32,
            body: serde_json::to_vec(&body).unwrap_or_default(),
        });
        self.streams.insert(
            id,
            StreamState {
                call_type,
                // A source's caller writes nothing; it ends its half when the callee does.
                we_ended: false,
            },
        );
        id
    }

    /// Answers an async call of the peer.
    pub fn respond(&mut self, id: StreamId, result: Result<Body, RpcError>) {
        if id.ours || self.pending_async.remove(&id.request).is_none() {
            return;
        }
        let (end, body) = match result {
            Ok(b) => (false, b),
            Err(e) => (true, Body::json(&e.to_json())),
        };
        self.push(Packet {
            stream: false,
            end,
            body_type: body.body_type,
            request: id.outgoing(),
            body: body.bytes,
        });
    }

    /// Sends data on an open stream; false if the stream is not open on our side.
    pub fn send(&mut self, id: StreamId, body: Body) -> bool {
        if !self.is_open(id) {
            return false;
        }
        self.push(Packet {
            stream: true,
            end: false,
            body_type: body.body_type,
            request: id.outgoing(),
            body: body.bytes,
        });
        true
    }

    /// Ends our half of a stream (with an error, or normally). Ending twice sends nothing.
    pub fn end(&mut self, id: StreamId, error: Option<RpcError>) {
        let Some(s) = self.streams.get_mut(&id) else {
            return;
        };
        if s.we_ended {
            return;
        }
        s.we_ended = true;
        let body = error.map_or(Json::Bool(true), |e| e.to_json());
        self.push(Packet {
            stream: true,
            end: true,
            body_type: BodyType::Json,
            request: id.outgoing(),
            body: serde_json::to_vec(&body).unwrap_or_default(),
        });
    }

    /// Says goodbye: nothing more will be sent.
    pub fn goodbye(&mut self) {
        if !self.said_goodbye {
            self.said_goodbye = true;
            self.out.extend_from_slice(&GOODBYE);
        }
    }

    /// Takes bytes from the peer; appends what they mean to `events`. An error means the peer
    /// must be cut off (the reason is the error).
    pub fn receive(&mut self, bytes: &[u8], events: &mut Vec<RpcEvent>) -> Result<(), RpcFault> {
        let mut packets = Vec::new();
        let res = self.decoder.feed(bytes, &mut packets);
        for ev in packets {
            match ev {
                Event::Goodbye => events.push(RpcEvent::Goodbye),
                Event::Packet(p) => self.on_packet(p, events)?,
            }
        }
        res.map_err(RpcFault::from)
    }

    /// At the end of the transport: whether it ended cleanly.
    pub fn finish(&self) -> Result<bool, CodecError> {
        self.decoder.finish()
    }

    fn on_packet(&mut self, p: Packet, events: &mut Vec<RpcEvent>) -> Result<(), RpcFault> {
        let ours = p.request < 0;
        let id = StreamId {
            ours,
            request: p.request.unsigned_abs(),
        };
        let body = Body {
            body_type: p.body_type,
            bytes: p.body,
        };
        if ours {
            let Some(s) = self.streams.get_mut(&id).copied() else {
                self.unknown_packets += 1;
                return Ok(());
            };
            // An answer must carry the stream flag of the call it answers (packet-stream routes
            // by it): one that does not is dropped and the call stays open.
            if (s.call_type == CallType::Async) == p.stream {
                self.unknown_packets += 1;
                return Ok(());
            }
            if s.call_type == CallType::Async {
                self.streams.remove(&id);
                let result = if p.end {
                    Err(RpcError::from_body(&body.bytes))
                } else {
                    Ok(body)
                };
                events.push(RpcEvent::Response { id, result });
                return Ok(());
            }
            self.on_stream_packet(id, s, p.end, body, events);
            return Ok(());
        }
        // The peer's request number: a new call, or a stream it opened before.
        if let Some(s) = self.streams.get(&id).copied() {
            self.on_stream_packet(id, s, p.end, body, events);
            return Ok(());
        }
        if self.pending_async.contains_key(&id.request) {
            self.unknown_packets += 1;
            return Ok(());
        }
        // A stream we refused: its data is dropped until the peer ends it.
        if self.refused_streams.contains(&id.request) {
            if p.end {
                self.refused_streams.remove(&id.request);
            }
            self.unknown_packets += 1;
            return Ok(());
        }
        if p.end {
            // An end for a stream already gone (the second end of a pair): nothing to answer.
            self.unknown_packets += 1;
            return Ok(());
        }
        self.on_call(id, p.stream, body, events)
    }

    fn on_stream_packet(
        &mut self,
        id: StreamId,
        s: StreamState,
        end: bool,
        body: Body,
        events: &mut Vec<RpcEvent>,
    ) {
        if !end {
            events.push(RpcEvent::Data { id, body });
            return;
        }
        let error = match body.to_json() {
            Some(Json::Bool(true)) => None,
            _ => Some(RpcError::from_body(&body.bytes)),
        };
        events.push(RpcEvent::End { id, error });
        if !s.we_ended {
            // Both halves end ("closed by both ends", as the protocol guide puts it): ours goes
            // with theirs. (muxrpc's pull-weird does this for source and sink, echoing the
            // peer's value; packet-stream itself never ends a half.)
            self.end(id, None);
        }
        self.streams.remove(&id);
    }

    fn on_call(
        &mut self,
        id: StreamId,
        stream_flag: bool,
        body: Body,
        events: &mut Vec<RpcEvent>,
    ) -> Result<(), RpcFault> {
        let parsed = body.to_json();
        let obj = parsed.as_ref().and_then(Json::as_object);
        let name: Option<Vec<String>> = obj.and_then(|o| match o.get("name") {
            Some(Json::Array(parts)) if !parts.is_empty() => {
                parts.iter().map(|p| p.as_str().map(str::to_string)).collect()
            }
            Some(Json::String(s)) => Some(s.split('.').map(str::to_string).collect()),
            _ => None,
        });
        let declared = obj
            .and_then(|o| o.get("type"))
            .and_then(Json::as_str)
            .and_then(CallType::from_name);
        let call_type = match declared {
            Some(t) => t,
            None if stream_flag => CallType::Source,
            None => CallType::Async,
        };
        // A stream call must come with the stream flag and an async call without it.
        let refuse = |this: &mut Self, why: &str| {
            this.refused += 1;
            this.reply_error(id, stream_flag, RpcError::new("Error", why));
            if this.refused > this.limits.max_refused {
                Err(RpcFault::Flood(this.refused))
            } else {
                Ok(())
            }
        };
        let Some(name) = name else {
            return refuse(self, "call without a name");
        };
        if call_type.is_stream() != stream_flag {
            return refuse(self, "call type does not match the stream flag");
        }
        let args = match obj.and_then(|o| o.get("args")) {
            None | Some(Json::Null) => Vec::new(),
            Some(Json::Array(a)) => a.clone(),
            Some(other) => vec![other.clone()],
        };
        if self.streams.len() + self.pending_async.len() >= self.limits.max_streams {
            return refuse(self, "too many open streams");
        }
        if call_type.is_stream() {
            self.streams.insert(
                id,
                StreamState {
                    call_type,
                    we_ended: false,
                },
            );
        } else {
            self.pending_async.insert(id.request, ());
        }
        events.push(RpcEvent::Call {
            id,
            name,
            call_type,
            args,
        });
        Ok(())
    }

    fn reply_error(&mut self, id: StreamId, stream: bool, e: RpcError) {
        if stream && self.refused_streams.len() < self.limits.max_streams {
            self.refused_streams.insert(id.request);
        }
        self.push(Packet {
            stream,
            end: true,
            body_type: BodyType::Json,
            request: id.outgoing(),
            body: serde_json::to_vec(&e.to_json()).unwrap_or_default(),
        });
    }
}

/// The manifest the node publishes (`manifest` call): method path → call type.
pub fn manifest_json(methods: &[(&str, CallType)]) -> Json {
    let mut root = serde_json::Map::new();
    for (path, t) in methods {
        let mut parts: Vec<&str> = path.split('.').collect();
        let Some(last) = parts.pop() else { continue };
        let mut node = &mut root;
        for p in parts {
            let entry = node
                .entry(p.to_string())
                .or_insert_with(|| Json::Object(Default::default()));
            if !entry.is_object() {
                *entry = Json::Object(Default::default());
            }
            node = entry.as_object_mut().expect("made an object above");
        }
        node.insert(last.to_string(), Json::String(t.name().to_string()));
    }
    Json::Object(root)
}
