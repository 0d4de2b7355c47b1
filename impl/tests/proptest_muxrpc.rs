//! Property tests of the muxrpc packet-stream codec (`ssb_impl::muxrpc`): arbitrary packet
//! sequences (any bytes for binary bodies, any UTF-8 for string bodies, serde_json-generated
//! JSON text for JSON bodies, nonzero request numbers) survive `Packet::encode` → `Decoder` in
//! any chunking, with and without the goodbye; the decoder never panics on arbitrary bytes and
//! any limit, and its verdict does not depend on the chunking; a header announcing more than
//! `max_body` is refused as `BodyTooLarge` as soon as the header is complete, before any body
//! byte arrives.

use proptest::collection::vec;
use proptest::prelude::*;
use serde_json::Value;
use ssb_impl::muxrpc::{BodyType, CodecError, Decoder, Event, Packet, GOODBYE, HEADER_LEN};

/// Modest case counts, no persistence (integration tests have no `lib.rs` for regression files).
fn config(cases: u32) -> ProptestConfig {
    ProptestConfig {
        cases,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        (-1e15f64..1e15).prop_map(Value::from),
        ".{0,12}".prop_map(Value::String),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            vec(inner.clone(), 0..4).prop_map(Value::Array),
            vec((".{0,6}", inner), 0..4).prop_map(|kv| Value::Object(kv.into_iter().collect())),
        ]
    })
}

fn packet() -> impl Strategy<Value = Packet> {
    let body = prop_oneof![
        vec(any::<u8>(), 0..64).prop_map(|b| (BodyType::Binary, b)),
        ".{0,24}".prop_map(|s: String| (BodyType::String, s.into_bytes())),
        json_value().prop_map(|v| (BodyType::Json, v.to_string().into_bytes())),
    ];
    let request = any::<i32>().prop_filter("request 0 is the goodbye", |r| *r != 0);
    (any::<bool>(), any::<bool>(), request, body).prop_map(|(stream, end, request, (body_type, body))| {
        Packet {
            stream,
            end,
            body_type,
            request,
            body,
        }
    })
}

/// Feeds `wire` cut at `chunks` (cycled; none: one feed). Returns the events and `finish()`,
/// checking that a failed decoder stays failed and yields nothing more.
fn feed_chunked(
    dec: &mut Decoder,
    wire: &[u8],
    chunks: &[usize],
) -> Result<(Vec<Event>, Result<bool, CodecError>), TestCaseError> {
    let mut events = Vec::new();
    let mut first_err: Option<CodecError> = None;
    let mut rest = wire;
    let mut i = 0;
    while !rest.is_empty() {
        let n = if chunks.is_empty() {
            rest.len()
        } else {
            chunks[i % chunks.len()].min(rest.len())
        };
        i += 1;
        let (now, later) = rest.split_at(n);
        rest = later;
        let before = events.len();
        let r = dec.feed(now, &mut events);
        match first_err {
            None => first_err = r.err(),
            Some(e) => {
                prop_assert_eq!(r, Err(e));
                prop_assert_eq!(events.len(), before);
            }
        }
    }
    let verdict = dec.finish();
    if let Some(e) = first_err {
        prop_assert_eq!(verdict, Err(e));
    }
    Ok((events, verdict))
}

/// Verdicts compared by kind for `DataAfterGoodbye`, whose count is what one feed call saw.
fn same_verdict(a: &Result<bool, CodecError>, b: &Result<bool, CodecError>) -> bool {
    match (a, b) {
        (Err(CodecError::DataAfterGoodbye(_)), Err(CodecError::DataAfterGoodbye(_))) => true,
        _ => a == b,
    }
}

proptest! {
    #![proptest_config(config(256))]

    #[test]
    fn packets_round_trip_in_any_chunking(
        packets in vec(packet(), 0..8),
        goodbye in any::<bool>(),
        chunks in vec(1usize..40, 0..6),
    ) {
        let mut wire = Vec::new();
        for p in &packets {
            p.encode(&mut wire);
        }
        if goodbye {
            wire.extend_from_slice(&GOODBYE);
        }
        let mut dec = Decoder::default();
        let (events, verdict) = feed_chunked(&mut dec, &wire, &chunks)?;
        let mut expected: Vec<Event> = packets.into_iter().map(Event::Packet).collect();
        if goodbye {
            expected.push(Event::Goodbye);
        }
        prop_assert_eq!(events, expected);
        prop_assert_eq!(verdict, Ok(goodbye));
    }

    #[test]
    fn decoder_never_panics_and_ignores_chunking(
        wire in vec(any::<u8>(), 0..200),
        max_body in 0usize..80,
        chunks in vec(1usize..20, 1..6),
    ) {
        let mut whole = Decoder::new(max_body);
        let (whole_events, whole_verdict) = feed_chunked(&mut whole, &wire, &[])?;
        let mut cut = Decoder::new(max_body);
        let (events, verdict) = feed_chunked(&mut cut, &wire, &chunks)?;
        prop_assert_eq!(events, whole_events);
        prop_assert!(same_verdict(&verdict, &whole_verdict), "{:?} vs {:?}", verdict, whole_verdict);
    }

    #[test]
    fn oversized_body_is_refused_at_the_header(
        max_body in 0usize..100_000,
        extra in 1u64..=u64::from(u32::MAX),
        flags in 0u8..=255,
        request in any::<i32>().prop_filter("nonzero", |r| *r != 0),
        byte_by_byte in any::<bool>(),
    ) {
        // any flags but body type 3 (checked first)
        let flags = (flags & !3) | ((flags & 3) % 3);
        let len = max_body as u64 + extra.min(u64::from(u32::MAX) - max_body as u64);
        let mut header = vec![flags];
        header.extend_from_slice(&(len as u32).to_be_bytes());
        header.extend_from_slice(&request.to_be_bytes());
        prop_assert_eq!(header.len(), HEADER_LEN);
        let mut dec = Decoder::new(max_body);
        let mut events = Vec::new();
        let expected = Err(CodecError::BodyTooLarge(len, max_body));
        if byte_by_byte {
            for b in &header[..HEADER_LEN - 1] {
                prop_assert_eq!(dec.feed(std::slice::from_ref(b), &mut events), Ok(()));
            }
            prop_assert_eq!(dec.feed(&header[HEADER_LEN - 1..], &mut events), expected);
        } else {
            prop_assert_eq!(dec.feed(&header, &mut events), expected);
        }
        prop_assert!(events.is_empty());
        prop_assert_eq!(dec.finish(), Err(CodecError::BodyTooLarge(len, max_body)));
    }
}
