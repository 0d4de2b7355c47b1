//! Cases of the muxrpc RPC layer (`muxrpc.endpoint`, in `vectors/muxrpc.json` after the framing
//! cases): calls and answers of both sides, streams of every type and how they end, what an
//! endpoint ignores, how it refuses a call, its limits, the goodbye, and a fault mid-session.
//! Every case is checked here for what its author means it to show, so that a change of the
//! reference that changes the point of a case stops the generator.

use base64::Engine as _;
use rand_chacha::ChaCha20Rng;
use rand_core::RngCore;
use serde_json::{json, Value};
use ssb_impl::muxrpc::{BodyType, Packet, GOODBYE};

use super::{Builder, Intent};

const OP: &str = "muxrpc.endpoint";

fn text(v: &Value) -> String {
    serde_json::to_string(v).expect("JSON")
}

/// The bytes of one packet of the peer.
fn wire(req: i32, stream: bool, end: bool, body_type: BodyType, body: Vec<u8>) -> Vec<u8> {
    let mut out = Vec::new();
    Packet {
        stream,
        end,
        body_type,
        request: req,
        body,
    }
    .encode(&mut out);
    out
}

fn wire_json(req: i32, stream: bool, end: bool, body: &Value) -> Vec<u8> {
    wire(req, stream, end, BodyType::Json, text(body).into_bytes())
}

/// The peer sends one packet with a JSON body.
fn recv(req: i32, stream: bool, end: bool, body: Value) -> Value {
    json!({"recv": {"packet": {"req": req, "stream": stream, "end": end, "type": "json", "body": text(&body)}}})
}

fn recv_typed(req: i32, stream: bool, end: bool, body_type: &str, body: &str) -> Value {
    json!({"recv": {"packet": {"req": req, "stream": stream, "end": end, "type": body_type, "body": body}}})
}

/// The peer sends these bytes (several packets, parts of packets, anything).
fn recv_hex(bytes: &[u8]) -> Value {
    json!({"recv": {"hex": hex::encode(bytes)}})
}

/// A call's body as the peer writes it.
fn call_body(name: &[&str], call_type: &str, args: Value) -> Value {
    json!({"name": name, "type": call_type, "args": args})
}

/// An error body as JavaScript peers write it.
fn error_body(name: &str, message: &str) -> Value {
    json!({"name": name, "message": message, "stack": format!("{name}: {message}\n    at peer.js:1:1")})
}

fn call(name: &[&str], call_type: &str, args: Value) -> Value {
    json!({"call": {"name": name, "type": call_type, "args": args}})
}

fn respond(req: u32, ok: Value) -> Value {
    json!({"respond": {"req": req, "ok": ok}})
}

fn respond_error(req: u32, name: &str, message: &str) -> Value {
    json!({"respond": {"req": req, "error": {"name": name, "message": message}}})
}

fn send(req: u32, ours: bool, body: Value) -> Value {
    json!({"send": {"req": req, "ours": ours, "body": body}})
}

fn end(req: u32, ours: bool) -> Value {
    json!({"end": {"req": req, "ours": ours}})
}

fn goodbye() -> Value {
    json!({"goodbye": {}})
}

/// A packet as the result reports one the endpoint wrote.
fn sent(req: i32, stream: bool, end: bool, body: Value) -> Value {
    json!({"req": req, "stream": stream, "end": end, "type": "json", "body": body})
}

/// The refusal of a call the endpoint makes up itself (its text is free).
fn refusal(req: i32, stream: bool) -> Value {
    sent(req, stream, true, json!({"error": true}))
}

fn close(req: i32) -> Value {
    sent(req, true, true, json!(true))
}

struct Cases<'a> {
    b: &'a mut Builder,
    rng: &'a mut ChaCha20Rng,
}

impl Cases<'_> {
    /// Adds a case and checks that the reference's answer shows what the case is for.
    fn add(
        &mut self,
        comment: &str,
        flags: &[&str],
        limits: Option<Value>,
        steps: Vec<Value>,
        meant: impl Fn(&Value) -> bool,
    ) {
        let mut all = vec!["endpoint"];
        all.extend_from_slice(flags);
        let mut args = json!({});
        if let Some(l) = limits {
            args["limits"] = l;
        }
        args["steps"] = Value::Array(steps);
        self.b.add(comment, &all, OP, args, Intent::Accept);
        let case = self.b.cases.last().expect("just added");
        assert!(
            meant(&case.expect),
            "generator bug: {} ({comment}) does not show what it is meant to: {}",
            case.id,
            case.expect
        );
    }

    fn n(&mut self, below: u32) -> u32 {
        self.rng.next_u32() % below
    }

    fn feed(&mut self) -> String {
        let mut k = [0u8; 32];
        self.rng.fill_bytes(&mut k);
        format!("@{}.ed25519", base64::engine::general_purpose::STANDARD.encode(k))
    }

    fn blob(&mut self) -> String {
        let mut k = [0u8; 32];
        self.rng.fill_bytes(&mut k);
        format!("&{}.sha256", base64::engine::general_purpose::STANDARD.encode(k))
    }
}

/// Shortcuts into a result.
fn step(e: &Value, i: usize) -> &Value {
    &e["steps"][i]
}

fn events(e: &Value, i: usize) -> &Vec<Value> {
    step(e, i)["events"].as_array().expect("events")
}

fn sent_of(e: &Value, i: usize) -> &Vec<Value> {
    step(e, i)["sent"].as_array().expect("sent")
}

fn quiet(e: &Value, i: usize) -> bool {
    events(e, i).is_empty() && sent_of(e, i).is_empty()
}

fn unknown(e: &Value) -> u64 {
    e["unknown_packets"].as_u64().expect("count")
}

fn clean(e: &Value) -> bool {
    e["fault"].is_null()
}

pub(super) fn add_cases(b: &mut Builder, rng: &mut ChaCha20Rng) {
    let mut c = Cases { b, rng };

    // ---- async calls
    let feed = c.feed();
    let blob = c.blob();
    let seq = c.n(1000);
    c.add(
        "our async calls answered: a JSON value, a binary body, a string body",
        &["async_call"],
        None,
        vec![
            call(&["whoami"], "async", json!([])),
            call(&["blobs", "get"], "async", json!([blob])),
            call(&["getAddress"], "async", json!([])),
            recv(-1, false, false, json!({"id": feed, "seq": seq})),
            recv_typed(-2, false, false, "binary", "00ff7f80"),
            recv_typed(-3, false, false, "string", "net:203.0.113.7:8008~shs:AAAA"),
        ],
        |e| {
            clean(e)
                && sent_of(e, 0)[0]["req"] == 1
                && sent_of(e, 2)[0]["req"] == 3
                && events(e, 3)[0]["response"]["ok"]["seq"] == seq
                && events(e, 4)[0]["response"]["type"] == "binary"
                && events(e, 5)[0]["response"]["type"] == "string"
                && unknown(e) == 0
        },
    );
    let feed = c.feed();
    c.add(
        "the peer's async call, with no type as muxrpc writes it, answered",
        &["async_call", "no_type"],
        None,
        vec![
            recv(1, false, false, json!({"name": ["whoami"], "args": []})),
            respond(1, json!({"id": feed})),
        ],
        |e| {
            events(e, 0)[0]["call"]["type"] == "async"
                && sent_of(e, 1)[0] == sent(-1, false, false, json!({"id": feed}))
        },
    );
    let blob = c.blob();
    c.add(
        "our async call answered with an error {name, message, stack}",
        &["async_error"],
        None,
        vec![
            call(&["blobs", "has"], "async", json!(["not a hash"])),
            recv(
                -1,
                false,
                true,
                error_body("Error", &format!("invalid hash: not a hash, try {blob}")),
            ),
        ],
        |e| events(e, 1)[0]["response"]["error"]["name"] == "Error" && unknown(e) == 0,
    );
    c.add(
        "the peer's async call answered with an error",
        &["async_error"],
        None,
        vec![
            recv(
                1,
                false,
                false,
                call_body(&["blobs", "has"], "async", json!(["x"])),
            ),
            respond_error(1, "TypeError", "invalid hash: x"),
        ],
        |e| {
            sent_of(e, 1)[0]
                == sent(
                    -1,
                    false,
                    true,
                    json!({"name": "TypeError", "message": "invalid hash: x"}),
                )
        },
    );
    let s = c.n(1 << 20);
    c.add(
        "we answer the peer's async call with a JSON string",
        &["string_result"],
        None,
        vec![
            recv(1, false, false, call_body(&["getAddress"], "async", json!([]))),
            respond(1, json!(format!("net:198.51.100.{}:8008", s % 256))),
        ],
        |e| sent_of(e, 1)[0]["type"] == "json",
    );

    // ---- sources, sinks, duplexes and their ends
    let feed = c.feed();
    let (a, b2) = (c.n(100), c.n(100));
    let mut two = wire_json(-1, true, false, &json!({"seq": 1, "n": a}));
    two.extend(wire_json(-1, true, false, &json!({"seq": 2, "n": b2})));
    c.add(
        "our source call: two data packets, then the callee's end, which we answer with ours",
        &["source"],
        None,
        vec![
            call(
                &["createHistoryStream"],
                "source",
                json!([{"id": feed, "seq": 1}]),
            ),
            recv_hex(&two),
            recv(-1, true, true, json!(true)),
        ],
        |e| {
            sent_of(e, 0)[0]["stream"] == true
                && events(e, 1).len() == 2
                && events(e, 2)[0]["end"]["error"].is_null()
                && sent_of(e, 2) == &vec![close(1)]
        },
    );
    let feed = c.feed();
    c.add(
        "a source the peer calls: we send, we end, the peer ends (nothing more is sent)",
        &["source_served"],
        None,
        vec![
            recv(
                1,
                true,
                false,
                call_body(&["createHistoryStream"], "source", json!([{"id": feed}])),
            ),
            send(1, false, json!({"seq": 1})),
            send(1, false, json!({"seq": 2})),
            end(1, false),
            recv(1, true, true, json!(true)),
        ],
        |e| {
            sent_of(e, 3) == &vec![close(-1)]
                && events(e, 4)[0]["end"]["ours"] == false
                && sent_of(e, 4).is_empty()
        },
    );
    let feed = c.feed();
    c.add(
        "the peer ends a source we serve: our half ends at once, once; later sends and ends send nothing",
        &["peer_end"],
        None,
        vec![
            recv(
                1,
                true,
                false,
                call_body(
                    &["createHistoryStream"],
                    "source",
                    json!([{"id": feed, "live": true}]),
                ),
            ),
            send(1, false, json!({"seq": 1})),
            recv(1, true, true, json!(true)),
            send(1, false, json!({"seq": 2})),
            end(1, false),
        ],
        |e| sent_of(e, 2) == &vec![close(-1)] && quiet(e, 3) && quiet(e, 4),
    );
    let feed = c.feed();
    c.add(
        "the peer ends a source it serves with an error: we end our half with true",
        &["peer_error_end"],
        None,
        vec![
            call(&["createHistoryStream"], "source", json!([{"id": feed}])),
            recv(-1, true, false, json!({"seq": 1})),
            recv(-1, true, true, error_body("Error", "database closed")),
        ],
        |e| {
            events(e, 2)[0]["end"]["error"]["message"] == "database closed"
                && sent_of(e, 2) == &vec![close(1)]
        },
    );
    let feed = c.feed();
    c.add(
        "the peer ends our source call twice: the second end is ignored, not answered",
        &["end_twice"],
        None,
        vec![
            call(&["createHistoryStream"], "source", json!([{"id": feed}])),
            recv(-1, true, true, json!(true)),
            recv(-1, true, true, json!(true)),
        ],
        |e| sent_of(e, 1).len() == 1 && quiet(e, 2) && unknown(e) == 1,
    );
    let feed = c.feed();
    c.add(
        "the peer ends a source it called twice, after our end: the second end is ignored, not answered",
        &["end_twice_served"],
        None,
        vec![
            recv(
                1,
                true,
                false,
                call_body(&["createHistoryStream"], "source", json!([{"id": feed}])),
            ),
            end(1, false),
            recv(1, true, true, json!(true)),
            recv(1, true, true, json!(true)),
        ],
        |e| sent_of(e, 2).is_empty() && quiet(e, 3) && unknown(e) == 1,
    );
    let feed = c.feed();
    c.add(
        "data after the peer ended our source call: ignored",
        &["data_after_end"],
        None,
        vec![
            call(&["createHistoryStream"], "source", json!([{"id": feed}])),
            recv(-1, true, false, json!({"seq": 1})),
            recv(-1, true, true, json!(true)),
            recv(-1, true, false, json!({"seq": 2})),
        ],
        |e| quiet(e, 3) && unknown(e) == 1,
    );
    let feed = c.feed();
    c.add(
        "an error end after the peer's normal end: ignored",
        &["error_after_end"],
        None,
        vec![
            call(&["createHistoryStream"], "source", json!([{"id": feed}])),
            recv(-1, true, true, json!(true)),
            recv(-1, true, true, error_body("Error", "late")),
        ],
        |e| quiet(e, 2) && unknown(e) == 1,
    );
    let blob = c.blob();
    c.add(
        "our sink call: we send and end, the peer ends",
        &["sink"],
        None,
        vec![
            call(&["blobs", "add"], "sink", json!([blob])),
            send(1, true, json!({"part": 1})),
            send(1, true, json!({"part": 2})),
            end(1, true),
            recv(-1, true, true, json!(true)),
        ],
        |e| sent_of(e, 3) == &vec![close(1)] && sent_of(e, 4).is_empty() && events(e, 4).len() == 1,
    );
    let n = c.n(1 << 16);
    c.add(
        "a duplex the peer calls: both sides send, we end first, then the peer",
        &["duplex"],
        None,
        vec![
            recv(
                1,
                true,
                false,
                call_body(
                    &["ebt", "replicate"],
                    "duplex",
                    json!([{"version": 3, "format": "classic"}]),
                ),
            ),
            recv(1, true, false, json!({"n": n})),
            send(1, false, json!({"m": 1})),
            send(1, false, json!({"m": 2})),
            recv(1, true, false, json!({"n": n + 1})),
            end(1, false),
            recv(1, true, true, json!(true)),
        ],
        |e| {
            events(e, 0)[0]["call"]["type"] == "duplex"
                && sent_of(e, 5) == &vec![close(-1)]
                && sent_of(e, 6).is_empty()
                && unknown(e) == 0
        },
    );
    let feed = c.feed();
    c.add(
        "our duplex call: both sides send, we end first, the peer sends once more, then ends",
        &["duplex"],
        None,
        vec![
            call(
                &["tunnel", "connect"],
                "duplex",
                json!([{"portal": feed, "target": feed}]),
            ),
            send(1, true, json!([1, 2, 3])),
            recv(-1, true, false, json!([4, 5])),
            end(1, true),
            recv(-1, true, false, json!([6])),
            recv(-1, true, true, json!(true)),
        ],
        |e| events(e, 4).len() == 1 && sent_of(e, 5).is_empty() && unknown(e) == 0,
    );
    c.add(
        "the peer ends a duplex it called first: our half ends at once; later sends and ends send nothing",
        &["duplex_peer_end"],
        None,
        vec![
            recv(
                1,
                true,
                false,
                call_body(&["ebt", "replicate"], "duplex", json!([{"version": 3}])),
            ),
            send(1, false, json!({"m": 1})),
            recv(1, true, true, json!(true)),
            send(1, false, json!({"m": 2})),
            end(1, false),
        ],
        |e| sent_of(e, 2) == &vec![close(-1)] && quiet(e, 3) && quiet(e, 4),
    );

    // ---- what is ignored
    c.add(
        "an answer to a request number we never used: ignored and counted",
        &["unknown_request"],
        None,
        vec![
            call(&["whoami"], "async", json!([])),
            recv(-7, false, false, json!(true)),
            recv(-1, false, false, json!({"id": "me"})),
        ],
        |e| quiet(e, 1) && events(e, 2).len() == 1 && unknown(e) == 1,
    );
    c.add(
        "stream packets for streams that do not exist: ignored and counted",
        &["unknown_stream"],
        None,
        vec![
            recv(-3, true, false, json!({"seq": 1})),
            recv(-4, true, true, json!(true)),
        ],
        |e| quiet(e, 0) && quiet(e, 1) && unknown(e) == 2,
    );
    let n = c.n(1000);
    c.add(
        "the peer uses the number of its unanswered async call again: ignored, one answer",
        &["reused_request"],
        None,
        vec![
            recv(1, false, false, call_body(&["whoami"], "async", json!([]))),
            recv(1, false, false, call_body(&["blobs", "has"], "async", json!([n]))),
            respond(1, json!({"id": "me"})),
        ],
        |e| quiet(e, 1) && sent_of(e, 2).len() == 1 && unknown(e) == 1,
    );
    let feed = c.feed();
    c.add(
        "answers whose stream flag does not match our call: dropped and counted, the calls stay open (packet-stream routes answers by the flag)",
        &["answer_flag_mismatch"],
        None,
        vec![
            call(&["whoami"], "async", json!([])),
            call(&["createHistoryStream"], "source", json!([{"id": feed}])),
            recv(-1, true, false, json!({"id": "me"})),
            recv(-2, false, false, json!({"seq": 1})),
            recv(-2, true, true, json!(true)),
        ],
        |e| {
            quiet(e, 2)
                && quiet(e, 3)
                && events(e, 4)[0].get("end").is_some()
                && sent_of(e, 4) == &vec![close(2)]
                && unknown(e) == 2
        },
    );

    // ---- how calls are read
    c.add(
        "an async call without args: called with []",
        &["missing_args"],
        None,
        vec![
            recv(1, false, false, json!({"name": ["whoami"], "type": "async"})),
            respond(1, json!({"id": "me"})),
        ],
        |e| events(e, 0)[0]["call"]["args"] == json!([]) && sent_of(e, 1).len() == 1,
    );
    c.add(
        "a source call without args: called with []",
        &["missing_args_stream"],
        None,
        vec![
            recv(
                1,
                true,
                false,
                json!({"name": ["replicate", "upto"], "type": "source"}),
            ),
            end(1, false),
            recv(1, true, true, json!(true)),
        ],
        |e| events(e, 0)[0]["call"]["args"] == json!([]) && unknown(e) == 0,
    );
    let blob = c.blob();
    let feed = c.feed();
    c.add(
        "args that are not a list: taken as the only argument",
        &["args_not_array"],
        None,
        vec![
            recv(
                1,
                false,
                false,
                json!({"name": ["blobs", "has"], "type": "async", "args": blob}),
            ),
            recv(
                2,
                true,
                false,
                json!({"name": ["createHistoryStream"], "type": "source", "args": {"id": feed}}),
            ),
        ],
        |e| {
            events(e, 0)[0]["call"]["args"] == json!([blob])
                && events(e, 1)[0]["call"]["args"] == json!([{"id": feed}])
        },
    );
    c.add(
        "calls without a usable name (none, an empty list, a part that is not a string): refused with an error",
        &["no_name"],
        None,
        vec![
            recv(1, false, false, json!({"type": "async", "args": []})),
            recv(2, false, false, json!({"name": [], "type": "async", "args": []})),
            recv(3, false, false, json!({"name": ["blobs", 7], "type": "async", "args": []})),
            recv(4, true, false, json!({"type": "source", "args": []})),
        ],
        |e| {
            (0..4).all(|i| events(e, i).is_empty())
                && sent_of(e, 0) == &vec![refusal(-1, false)]
                && sent_of(e, 3) == &vec![refusal(-4, true)]
        },
    );
    c.add(
        "a name given as a string without dots: a name of one part",
        &["string_name"],
        None,
        vec![
            recv(
                1,
                false,
                false,
                json!({"name": "whoami", "type": "async", "args": []}),
            ),
            respond(1, json!({"id": "me"})),
        ],
        |e| events(e, 0)[0]["call"]["name"] == json!(["whoami"]),
    );
    let blob = c.blob();
    c.add(
        "a name given as a dotted string: split on the dots",
        &["dotted_name"],
        None,
        vec![
            recv(
                1,
                false,
                false,
                json!({"name": "blobs.has", "type": "async", "args": [blob]}),
            ),
            respond(1, json!(false)),
        ],
        |e| events(e, 0)[0]["call"]["name"] == json!(["blobs", "has"]),
    );
    let feed = c.feed();
    c.add(
        "a declared type that does not match the stream flag: refused with an error (the caller's end that follows is ignored)",
        &["type_mismatch"],
        None,
        vec![
            recv(1, false, false, call_body(&["createHistoryStream"], "source", json!([{"id": feed}]))),
            recv(2, true, false, call_body(&["whoami"], "async", json!([]))),
            recv(2, true, true, error_body("Error", "unsupported stream type: async")),
        ],
        |e| {
            sent_of(e, 0) == &vec![refusal(-1, false)]
                && sent_of(e, 1) == &vec![refusal(-2, true)]
                && quiet(e, 2)
                && unknown(e) == 1
        },
    );
    c.add(
        "type sync: read as async",
        &["sync"],
        None,
        vec![
            recv(1, false, false, call_body(&["whoami"], "sync", json!([]))),
            respond(1, json!({"id": "me"})),
        ],
        |e| events(e, 0)[0]["call"]["type"] == "async" && sent_of(e, 1)[0]["stream"] == false,
    );
    let feed = c.feed();
    c.add(
        "a stream call that declares no type: read as a source",
        &["no_type_stream"],
        None,
        vec![
            recv(
                1,
                true,
                false,
                json!({"name": ["createHistoryStream"], "args": [{"id": feed}]}),
            ),
            end(1, false),
            recv(1, true, true, json!(true)),
        ],
        |e| events(e, 0)[0]["call"]["type"] == "source" && sent_of(e, 1) == &vec![close(-1)],
    );
    let mut chunk = vec![0u8; 24];
    c.rng.fill_bytes(&mut chunk);
    c.add(
        "data on a stream call we refused: dropped and counted until the peer ends it (the refused stream is remembered, as packet-stream keeps it)",
        &["refused_stream_data"],
        None,
        vec![
            recv(1, true, false, call_body(&["blobs", "add"], "async", json!([]))),
            recv_typed(1, true, false, "binary", &hex::encode(&chunk[..12])),
            recv_typed(1, true, false, "binary", &hex::encode(&chunk[12..])),
            recv(1, true, true, json!(true)),
        ],
        |e| sent_of(e, 0) == &vec![refusal(-1, true)] && (1..4).all(|i| quiet(e, i)) && unknown(e) == 3,
    );

    // ---- limits
    let feed = c.feed();
    c.add(
        "max_streams 2, our source open: the peer's second stream and an async call are refused; once ours is closed, a call is taken",
        &["stream_limit"],
        Some(json!({"max_streams": 2})),
        vec![
            call(&["createHistoryStream"], "source", json!([{"id": feed}])),
            recv(1, true, false, call_body(&["createHistoryStream"], "source", json!([{"id": feed}]))),
            recv(2, true, false, call_body(&["blobs", "createWants"], "source", json!([]))),
            recv(3, false, false, call_body(&["whoami"], "async", json!([]))),
            end(1, true),
            recv(-1, true, true, json!(true)),
            recv(4, false, false, call_body(&["whoami"], "async", json!([]))),
        ],
        |e| {
            events(e, 1).len() == 1
                && sent_of(e, 2) == &vec![refusal(-2, true)]
                && sent_of(e, 3) == &vec![refusal(-3, false)]
                && events(e, 6).len() == 1
                && clean(e)
        },
    );
    let mut flood = Vec::new();
    for r in 1..=3 {
        flood.extend(wire_json(r, false, false, &json!({"args": [], "type": "async"})));
    }
    flood.extend(wire_json(
        4,
        false,
        false,
        &call_body(&["whoami"], "async", json!([])),
    ));
    c.add(
        "max_refused 2: the third refused call is answered, then the endpoint gives up (flood); the call after it is not read",
        &["flood"],
        Some(json!({"max_refused": 2})),
        vec![recv_hex(&flood), respond(4, json!({"id": "me"}))],
        |e| {
            e["fault"] == "flood"
                && e["steps"].as_array().map(Vec::len) == Some(1)
                && sent_of(e, 0).len() == 3
                && events(e, 0).is_empty()
        },
    );

    // ---- goodbye and faults
    c.add(
        "the peer says goodbye: reported, nothing is sent until our goodbye",
        &["peer_goodbye"],
        None,
        vec![
            recv(1, false, false, call_body(&["whoami"], "async", json!([]))),
            respond(1, json!({"id": "me"})),
            recv_hex(&GOODBYE),
            goodbye(),
        ],
        |e| {
            events(e, 2) == &vec![json!({"goodbye": true})]
                && sent_of(e, 2).is_empty()
                && sent_of(e, 3) == &vec![json!("goodbye")]
        },
    );
    c.add(
        "we say goodbye with nothing open, twice: nine zero bytes, once",
        &["our_goodbye"],
        None,
        vec![
            call(&["whoami"], "async", json!([])),
            recv(-1, false, false, json!({"id": "you"})),
            goodbye(),
            goodbye(),
        ],
        |e| sent_of(e, 2) == &vec![json!("goodbye")] && quiet(e, 3),
    );
    let mut bad = wire_json(2, false, false, &call_body(&["whoami"], "async", json!([])));
    bad.extend_from_slice(&[3, 0, 0, 0, 1, 0, 0, 0, 3, b'A']);
    c.add(
        "a header with body type 3 mid-session: the packets before it are read, then the fault; no later step runs",
        &["malformed_header"],
        None,
        vec![
            recv(1, false, false, call_body(&["whoami"], "async", json!([]))),
            respond(1, json!({"id": "me"})),
            recv_hex(&bad),
            respond(2, json!({"id": "me"})),
        ],
        |e| {
            e["fault"] == "unknown_body_type"
                && e["steps"].as_array().map(Vec::len) == Some(3)
                && events(e, 2).len() == 1
        },
    );

    // ---- everything at once
    let (fa, fb) = (c.feed(), c.feed());
    let blob = c.blob();
    let p1 = wire_json(
        1,
        true,
        false,
        &call_body(&["createHistoryStream"], "source", json!([{"id": fb}])),
    );
    let p2 = wire_json(-1, true, false, &json!({"seq": 1, "author": fa}));
    let p3 = wire_json(2, false, false, &json!({"name": ["whoami"], "args": []}));
    let p4 = wire_json(-2, false, false, &json!(true));
    let p5 = wire_json(-1, true, false, &json!({"seq": 2, "author": fa}));
    let p6 = wire_json(-1, true, true, &json!(true));
    let p7 = wire_json(
        3,
        true,
        false,
        &call_body(&["ebt", "replicate"], "duplex", json!([{"version": 3}])),
    );
    let p8 = wire_json(3, true, false, &json!({ fb.clone(): 4 }));
    let p9 = wire_json(1, true, true, &json!(true));
    let p10 = wire_json(3, true, true, &json!(true));
    let cat = |parts: &[&[u8]]| parts.concat();
    c.add(
        "two streams and two async calls of both sides interleaved, packets cut across reads",
        &["interleaved"],
        None,
        vec![
            call(
                &["createHistoryStream"],
                "source",
                json!([{"id": fa, "live": true}]),
            ),
            call(&["blobs", "has"], "async", json!([blob])),
            recv_hex(&cat(&[&p1, &p2, &p3, &p4, &p5[..5]])),
            send(1, false, json!({"seq": 1, "author": fb})),
            recv_hex(&cat(&[&p5[5..], &p6, &p7[..11]])),
            respond(2, json!({"id": "me"})),
            recv_hex(&cat(&[&p7[11..], &p8])),
            send(3, false, json!({ fa.clone(): 2 })),
            end(1, false),
            end(3, false),
            recv_hex(&cat(&[&p9, &p10])),
        ],
        |e| {
            events(e, 2).len() == 4
                && events(e, 4).len() == 2
                && sent_of(e, 4) == &vec![close(1)]
                && events(e, 6).len() == 2
                && events(e, 10).len() == 2
                && sent_of(e, 10).is_empty()
                && unknown(e) == 0
                && clean(e)
        },
    );
}
