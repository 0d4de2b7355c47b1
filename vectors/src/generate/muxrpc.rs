//! Vectors for muxrpc (`vectors/muxrpc.json`). The packet-stream framing: every flag and body
//! type combination, request numbers at the int32 edges, and decoding of honest, truncated,
//! oversized and malformed streams, the goodbye and what follows it. Then the RPC layer
//! (`muxrpc.endpoint`, cases in [`super::muxrpc_endpoint`]).

use rand_chacha::ChaCha20Rng;
use rand_core::{RngCore, SeedableRng};
use serde_json::{json, Value};
use ssb_impl::muxrpc::{BodyType, Packet, GOODBYE};

use super::{h, Builder, Intent};
use crate::file::VectorFile;

const NOTES: &[(&str, &str)] = &[
    ("encode", "op muxrpc.encode: the bytes must match exactly"),
    (
        "decode",
        "op muxrpc.decode: the packets and the goodbye flag must match, or the error kind",
    ),
    (
        "flags",
        "one combination of the stream and end/error flags and the body type",
    ),
    (
        "request_edge",
        "request numbers at the int32 edges, and negative (response) numbers",
    ),
    ("empty_body", "a body of zero bytes"),
    (
        "error_body",
        "an end/error packet carrying a JSON error object {name, message, stack}",
    ),
    ("goodbye", "the stream ends with nine zero bytes"),
    (
        "no_goodbye",
        "the input ends on a packet boundary without the goodbye (the transport closed)",
    ),
    ("truncated", "the input ends inside a header or a body"),
    (
        "body_limit",
        "a header announcing more than max_body bytes, refused before the body is read",
    ),
    ("body_at_limit", "a body of exactly max_body bytes, accepted"),
    ("unknown_type", "body type bits 3, which no codec defines"),
    (
        "zero_request",
        "request number 0 on a packet that is not the goodbye",
    ),
    (
        "bad_body",
        "a string body that is not UTF-8, or a JSON body that is not JSON",
    ),
    ("data_after_goodbye", "bytes after the goodbye"),
    ("invalid_utf8", "a string body whose bytes are not UTF-8"),
    (
        "reserved_flag_bits",
        "flag bits 4–7 set: no codec defines them, and they are ignored",
    ),
    // The RPC layer (muxrpc_endpoint.rs).
    (
        "endpoint",
        "op muxrpc.endpoint: one endpoint driven step by step; each step's events and sent packets, the fault and the count of ignored packets must match",
    ),
    ("async_call", "an async call and its answer (ours, or the peer's)"),
    (
        "async_error",
        "an async call answered with an error body {name, message, stack}",
    ),
    (
        "string_result",
        "an async answer that is a JSON string (sent with the JSON body type)",
    ),
    (
        "source",
        "our source call: data, then the callee's end (true), which we answer with our end",
    ),
    (
        "source_served",
        "a source the peer calls: we send, end our half, and the peer's end closes the stream",
    ),
    (
        "peer_end",
        "the peer ends a stream we serve before we do: our half ends at once, once, and nothing more is sent on it",
    ),
    (
        "peer_error_end",
        "the peer ends a stream with an error: reported with the error, our half ends with true",
    ),
    (
        "end_twice",
        "the peer ends our stream twice: the second end is ignored, not answered",
    ),
    (
        "end_twice_served",
        "the peer ends a stream it called twice: the second end is ignored, not answered",
    ),
    ("data_after_end", "data after the peer's end of the stream: ignored"),
    (
        "error_after_end",
        "an error end after the peer's normal end: ignored",
    ),
    ("sink", "our sink call: we send and end, the peer ends"),
    ("duplex", "a duplex: both sides send, each ends its half"),
    (
        "duplex_peer_end",
        "the peer ends a duplex first: our half ends at once, and nothing more is sent on it",
    ),
    (
        "unknown_request",
        "an answer to a request number we never used: ignored and counted",
    ),
    (
        "unknown_stream",
        "a stream packet for a stream that does not exist: ignored and counted",
    ),
    (
        "reused_request",
        "the peer reuses the request number of its unanswered async call: ignored and counted",
    ),
    (
        "answer_flag_mismatch",
        "an answer whose stream flag does not match our call: dropped and counted; the call stays open",
    ),
    ("missing_args", "an async call without args: called with []"),
    ("missing_args_stream", "a stream call without args: called with []"),
    (
        "args_not_array",
        "args that are not a list: the value is the only argument",
    ),
    (
        "no_name",
        "a call without a usable name (none, an empty list, a part that is not a string): refused with an error",
    ),
    ("string_name", "a name given as a string: a name of one part"),
    ("dotted_name", "a name given as a dotted string: split on the dots"),
    ("no_type", "a call without a type and without the stream flag: async"),
    (
        "no_type_stream",
        "a call without a type and with the stream flag: a source",
    ),
    (
        "type_mismatch",
        "a declared type that does not match the stream flag: refused with an error",
    ),
    ("sync", "type sync: read as async"),
    (
        "refused_stream_data",
        "packets on the request number of a refused stream call: dropped and counted until the peer ends it",
    ),
    (
        "stream_limit",
        "more open streams and pending calls than max_streams: the call is refused with an error",
    ),
    (
        "flood",
        "more refused calls than max_refused: the endpoint gives up with fault flood",
    ),
    (
        "peer_goodbye",
        "the peer's goodbye: reported; the endpoint sends nothing of itself",
    ),
    ("our_goodbye", "our goodbye: nine zero bytes, sent once"),
    (
        "malformed_header",
        "a malformed header mid-session: the endpoint gives up with the codec's error kind",
    ),
    (
        "interleaved",
        "streams and calls of both sides interleaved, packets cut across reads",
    ),
];

fn body_for(t: BodyType, rng: &mut ChaCha20Rng) -> Vec<u8> {
    match t {
        BodyType::Binary => {
            let mut b = vec![0u8; 1 + (rng.next_u32() % 40) as usize];
            rng.fill_bytes(&mut b);
            b
        }
        BodyType::String => format!("hello {} — ünïcode 🌍", rng.next_u32()).into_bytes(),
        BodyType::Json => {
            serde_json::to_vec(&json!({"name": ["whoami"], "args": [], "n": rng.next_u32()})).expect("JSON")
        }
    }
}

fn packet_json(p: &Packet) -> Value {
    json!({"stream": p.stream, "end": p.end, "type": p.body_type.name(), "req": p.request, "body": h(&p.body)})
}

fn wire(packets: &[Packet], goodbye: bool) -> Vec<u8> {
    let mut out = Vec::new();
    for p in packets {
        p.encode(&mut out);
    }
    if goodbye {
        out.extend_from_slice(&GOODBYE);
    }
    out
}

pub fn generate(seed: u64) -> VectorFile {
    let mut rng = ChaCha20Rng::seed_from_u64(seed ^ 0x4d55_5852); // "MUXR"
    let mut b = Builder::new(
        "muxrpc",
        "muxrpc packet-stream framing; see conformance/ADAPTER.md (suite muxrpc)",
        NOTES,
    );
    let encode = |b: &mut Builder, comment: &str, flags: &[&str], packets: &[Packet], goodbye: bool| {
        let mut all = vec!["encode"];
        all.extend_from_slice(flags);
        let args =
            json!({"packets": packets.iter().map(packet_json).collect::<Vec<_>>(), "goodbye": goodbye});
        b.add(comment, &all, "muxrpc.encode", args, Intent::Accept);
    };
    let decode =
        |b: &mut Builder, comment: &str, flags: &[&str], input: &[u8], max_body: usize, intent: Intent| {
            let mut all = vec!["decode"];
            all.extend_from_slice(flags);
            b.add(
                comment,
                &all,
                "muxrpc.decode",
                json!({"input": h(input), "max_body": max_body}),
                intent,
            );
        };
    const LIMIT: usize = 1024 * 1024;

    // Every flag combination, each encoded and decoded.
    let mut all_packets = Vec::new();
    for t in [BodyType::Binary, BodyType::String, BodyType::Json] {
        for stream in [false, true] {
            for end in [false, true] {
                let req = 1 + (rng.next_u32() % 1000) as i32;
                let p = Packet {
                    stream,
                    end,
                    body_type: t,
                    request: if end { -req } else { req },
                    body: body_for(t, &mut rng),
                };
                let name = format!("{} body, stream {stream}, end {end}", t.name());
                encode(&mut b, &name, &["flags"], std::slice::from_ref(&p), false);
                decode(
                    &mut b,
                    &name,
                    &["flags", "no_goodbye"],
                    &wire(std::slice::from_ref(&p), false),
                    LIMIT,
                    Intent::Accept,
                );
                all_packets.push(p);
            }
        }
    }
    encode(
        &mut b,
        "twelve packets and the goodbye",
        &["flags", "goodbye"],
        &all_packets,
        true,
    );
    decode(
        &mut b,
        "twelve packets and the goodbye",
        &["flags", "goodbye"],
        &wire(&all_packets, true),
        LIMIT,
        Intent::Accept,
    );

    let edges = [1, -1, 255, 256, -65536, i32::MAX, i32::MIN, -i32::MAX];
    let edge_packets: Vec<Packet> = edges
        .iter()
        .map(|&r| Packet {
            stream: false,
            end: false,
            body_type: BodyType::Binary,
            request: r,
            body: vec![r as u8],
        })
        .collect();
    encode(
        &mut b,
        "request numbers at the edges",
        &["request_edge"],
        &edge_packets,
        false,
    );
    decode(
        &mut b,
        "request numbers at the edges",
        &["request_edge", "no_goodbye"],
        &wire(&edge_packets, false),
        LIMIT,
        Intent::Accept,
    );

    let empties: Vec<Packet> = [BodyType::Binary, BodyType::String]
        .iter()
        .map(|&t| Packet {
            stream: true,
            end: true,
            body_type: t,
            request: -3,
            body: vec![],
        })
        .collect();
    encode(
        &mut b,
        "empty binary and string bodies",
        &["empty_body"],
        &empties,
        true,
    );
    decode(
        &mut b,
        "empty binary and string bodies",
        &["empty_body", "goodbye"],
        &wire(&empties, true),
        LIMIT,
        Intent::Accept,
    );
    let err = Packet {
        stream: false,
        end: true,
        body_type: BodyType::Json,
        request: -4,
        body: serde_json::to_vec(&json!({"name": "Error", "message": "no such method: nope", "stack": ""}))
            .expect("JSON"),
    };
    encode(
        &mut b,
        "an error response",
        &["error_body"],
        std::slice::from_ref(&err),
        false,
    );
    decode(
        &mut b,
        "an error response",
        &["error_body", "no_goodbye"],
        &wire(std::slice::from_ref(&err), false),
        LIMIT,
        Intent::Accept,
    );
    decode(
        &mut b,
        "only the goodbye",
        &["goodbye"],
        &GOODBYE,
        LIMIT,
        Intent::Accept,
    );
    decode(
        &mut b,
        "no bytes at all",
        &["no_goodbye"],
        &[],
        LIMIT,
        Intent::Accept,
    );

    // Damaged and hostile input.
    let two = wire(&all_packets[..2], true);
    let first_len = wire(&all_packets[..1], false).len();
    decode(
        &mut b,
        "input ends 5 bytes into a header",
        &["truncated"],
        &two[..first_len + 5],
        LIMIT,
        Intent::Reject("truncated"),
    );
    decode(
        &mut b,
        "input ends inside a body",
        &["truncated"],
        &two[..first_len + 9 + 1],
        LIMIT,
        Intent::Reject("truncated"),
    );
    decode(
        &mut b,
        "input ends 4 bytes into the goodbye",
        &["truncated"],
        &two[..two.len() - 5],
        LIMIT,
        Intent::Reject("truncated"),
    );
    let big = Packet {
        stream: true,
        end: false,
        body_type: BodyType::Binary,
        request: 9,
        body: vec![7; 1025],
    };
    decode(
        &mut b,
        "a body of 1025 bytes with max_body 1024",
        &["body_limit"],
        &wire(std::slice::from_ref(&big), false),
        1024,
        Intent::Reject("body_too_large"),
    );
    decode(
        &mut b,
        "a body of 1024 bytes with max_body 1024",
        &["body_at_limit", "no_goodbye"],
        &wire(
            &[Packet {
                body: vec![7; 1024],
                ..big
            }],
            false,
        ),
        1024,
        Intent::Accept,
    );
    let huge_header = [0u8, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 1];
    decode(
        &mut b,
        "a header announcing 4 GiB, and nothing after it",
        &["body_limit"],
        &huge_header,
        LIMIT,
        Intent::Reject("body_too_large"),
    );
    decode(
        &mut b,
        "body type bits 3",
        &["unknown_type"],
        &[3, 0, 0, 0, 1, 0, 0, 0, 1, 0x41],
        LIMIT,
        Intent::Reject("unknown_body_type"),
    );
    decode(
        &mut b,
        "request 0 with a body",
        &["zero_request"],
        &[0, 0, 0, 0, 1, 0, 0, 0, 0, 0x41],
        LIMIT,
        Intent::Reject("zero_request"),
    );
    decode(
        &mut b,
        "request 0 with the stream flag and no body",
        &["zero_request"],
        &[8, 0, 0, 0, 0, 0, 0, 0, 0],
        LIMIT,
        Intent::Reject("zero_request"),
    );
    decode(
        &mut b,
        "string body that is not UTF-8",
        &["bad_body", "invalid_utf8"],
        &[1, 0, 0, 0, 2, 0, 0, 0, 1, 0xc3, 0x28],
        LIMIT,
        Intent::Reject("invalid_string"),
    );
    decode(
        &mut b,
        "JSON body that is not JSON",
        &["bad_body"],
        &[2, 0, 0, 0, 3, 0, 0, 0, 1, b'{', b'a', b'}'],
        LIMIT,
        Intent::Reject("invalid_json"),
    );
    decode(
        &mut b,
        "empty JSON body",
        &["bad_body", "empty_body"],
        &[2, 0, 0, 0, 0, 0, 0, 0, 1],
        LIMIT,
        Intent::Reject("invalid_json"),
    );
    decode(
        &mut b,
        "flag bits 4-7 set on a binary packet",
        &["reserved_flag_bits", "no_goodbye"],
        &[0xf0, 0, 0, 0, 1, 0, 0, 0, 1, 0x41],
        LIMIT,
        Intent::Accept,
    );
    let mut after = wire(&all_packets[..1], true);
    after.extend_from_slice(&wire(&all_packets[1..2], false));
    decode(
        &mut b,
        "a packet after the goodbye",
        &["data_after_goodbye"],
        &after,
        LIMIT,
        Intent::Reject("data_after_goodbye"),
    );
    super::muxrpc_endpoint::add_cases(&mut b, &mut rng);
    b.finish()
}
