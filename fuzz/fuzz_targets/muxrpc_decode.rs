//! Fuzzes the muxrpc packet-stream decoder (`ssb_impl::muxrpc::Decoder`).
//!
//! Input layout: two bytes give the body limit (`u16` little-endian, so that limits are hit
//! often), the next byte `k % 8` the number of chunk-size bytes that follow (each a chunk of
//! `1 + b` bytes, used in a cycle; none: one chunk), and the rest is the byte stream.
//!
//! Invariants:
//! - no panic in `feed` or `finish`;
//! - the chunking does not matter: the events and the final verdict equal those of one `feed`
//!   of the whole stream (`DataAfterGoodbye` counts what one call saw, so it is compared by
//!   kind); once a `feed` has failed, every later call fails the same way and adds no event;
//! - canonical framing: every decoded packet re-encodes (`Packet::encode`) to exactly the bytes
//!   it came from, except flag bits 4-7 (undefined; ignored by the decoder, not kept in
//!   `Packet`), so the events re-encoded are a prefix of the input, and all of it when `finish`
//!   succeeds; decoded packets respect the limit, have a nonzero request number, and a
//!   string body is UTF-8.

#![no_main]

use libfuzzer_sys::fuzz_target;
use ssb_impl::muxrpc::{BodyType, CodecError, Decoder, Event, GOODBYE};

fn same_verdict(a: &Result<bool, CodecError>, b: &Result<bool, CodecError>) -> bool {
    match (a, b) {
        (Err(CodecError::DataAfterGoodbye(_)), Err(CodecError::DataAfterGoodbye(_))) => true,
        _ => a == b,
    }
}

fuzz_target!(|input: &[u8]| {
    if input.len() < 3 {
        return;
    }
    let max_body = usize::from(u16::from_le_bytes([input[0], input[1]]));
    let k = usize::from(input[2] % 8).min(input.len() - 3);
    let sizes: Vec<usize> = input[3..3 + k].iter().map(|&b| 1 + usize::from(b)).collect();
    let data = &input[3 + k..];

    // One feed of everything.
    let mut whole = Decoder::new(max_body);
    let mut whole_events = Vec::new();
    let whole_fed = whole.feed(data, &mut whole_events);
    let whole_verdict = whole.finish();
    if let Err(e) = whole_fed {
        assert_eq!(whole_verdict, Err(e), "finish repeats the feed error");
    }

    // The same bytes in chunks.
    let mut chunked = Decoder::new(max_body);
    let mut events = Vec::new();
    let mut first_error: Option<CodecError> = None;
    let mut rest = data;
    let mut i = 0;
    while !rest.is_empty() {
        let n = if sizes.is_empty() {
            rest.len()
        } else {
            sizes[i % sizes.len()].min(rest.len())
        };
        i += 1;
        let (now, later) = rest.split_at(n);
        rest = later;
        let before = events.len();
        match (chunked.feed(now, &mut events), first_error) {
            (Err(e), None) => first_error = Some(e),
            (Err(e), Some(first)) => {
                assert_eq!(e, first, "a failed decoder keeps its error");
                assert_eq!(events.len(), before, "no events after an error");
            }
            (Ok(()), Some(first)) => panic!("a failed decoder ({first:?}) accepted more input"),
            (Ok(()), None) => {}
        }
    }
    let verdict = chunked.finish();
    if let Some(e) = first_error {
        assert_eq!(verdict, Err(e), "finish repeats the first error");
    }
    assert_eq!(events, whole_events, "events depend on the chunking");
    assert!(
        same_verdict(&verdict, &whole_verdict),
        "{verdict:?} vs {whole_verdict:?}"
    );

    // Re-encoding gives back the bytes, except the flag bits 4-7, which no codec defines: the
    // decoder ignores them (as packet-stream-codec does) and `Packet` does not keep them.
    let mut at = 0;
    for (n, ev) in events.iter().enumerate() {
        let mut again = Vec::new();
        match ev {
            Event::Packet(p) => {
                assert!(p.body.len() <= max_body, "body over the limit");
                assert_ne!(p.request, 0, "request 0 decoded as a packet");
                if p.body_type == BodyType::String {
                    assert!(std::str::from_utf8(&p.body).is_ok(), "string body is not UTF-8");
                }
                p.encode(&mut again);
            }
            Event::Goodbye => {
                assert_eq!(n, events.len() - 1, "the goodbye is the last event");
                again.extend_from_slice(&GOODBYE);
            }
        }
        let orig = &data[at..at + again.len()];
        assert_eq!(orig[0] & 0x0f, again[0], "flags do not re-encode");
        assert_eq!(
            orig[1..],
            again[1..],
            "packet {n} does not re-encode to its bytes"
        );
        at += again.len();
    }
    if verdict.is_ok() {
        assert_eq!(at, data.len(), "a clean end consumed all input");
        assert_eq!(verdict, Ok(events.last() == Some(&Event::Goodbye)));
    }
});
