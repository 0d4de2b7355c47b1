//! Property tests of the sans-IO cores: box-stream round trips for arbitrary writes and
//! arbitrary re-chunking of the wire; `Decrypter::feed` on arbitrary or tampered bytes (no
//! panic, sticky errors, chunking-independent results, `finish()` consistent); the SHS
//! `Client`/`Server` fed garbage at every step (no panic, failure is final) and succeeding with
//! mirrored keys for any keys and ephemerals; `FeedId` parsing and `Keypair::from_secret_file`
//! on arbitrary text.

use proptest::collection::vec;
use proptest::prelude::*;
use ssb_impl::boxstream::{BoxStreamError, Decrypter, Encrypter, Event, HEADER_LEN, MAX_BODY};
use ssb_impl::shs::{
    run_pair, Action, Client, Handshake, Server, ShsError, Step, MSG1_LEN, MSG2_LEN, MSG3_LEN, MSG4_LEN,
};
use ssb_impl::{FeedId, Keypair};

/// Modest case counts; failures are reported with their minimal input rather than persisted
/// (integration tests have no `lib.rs` next to them for proptest's regression files).
fn config(cases: u32) -> ProptestConfig {
    ProptestConfig {
        cases,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

/// Feeds `wire` to `dec` cut at the given chunk sizes (cycled; a 0 is an empty feed; no
/// non-zero size means one feed of everything), then one empty feed. Returns the events and the
/// first error, checking that every later feed repeats it and yields nothing.
fn feed_chunked(
    dec: &mut Decrypter,
    wire: &[u8],
    chunks: &[usize],
) -> Result<(Vec<Event>, Option<BoxStreamError>), TestCaseError> {
    let mut events = Vec::new();
    let mut first_err = None;
    let mut feed = |dec: &mut Decrypter, part: &[u8]| -> Result<(), TestCaseError> {
        let before = events.len();
        let r = dec.feed(part, &mut events);
        match first_err {
            None => first_err = r.err(),
            Some(e) => {
                prop_assert_eq!(r, Err(e), "error not sticky");
                prop_assert_eq!(events.len(), before, "events after an error");
            }
        }
        Ok(())
    };
    if chunks.iter().all(|&n| n == 0) {
        feed(dec, wire)?;
    } else {
        let mut pos = 0;
        for &n in chunks.iter().cycle() {
            if pos >= wire.len() {
                break;
            }
            let end = (pos + n).min(wire.len());
            feed(dec, &wire[pos..end])?;
            pos = end;
        }
    }
    feed(dec, &[])?;
    Ok((events, first_err))
}

/// The error with chunking-dependent detail removed (`DataAfterGoodbye` counts the bytes of the
/// feed call that carried them).
fn normalized(e: Option<BoxStreamError>) -> Option<BoxStreamError> {
    match e {
        Some(BoxStreamError::DataAfterGoodbye(_)) => Some(BoxStreamError::DataAfterGoodbye(0)),
        other => other,
    }
}

fn bodies(events: &[Event]) -> Vec<u8> {
    events
        .iter()
        .filter_map(|e| match e {
            Event::Body(b) => Some(&b[..]),
            Event::Goodbye => None,
        })
        .flatten()
        .copied()
        .collect()
}

fn encrypt_all(key: [u8; 32], nonce: [u8; 24], writes: &[Vec<u8>], goodbye: bool) -> Vec<u8> {
    let mut enc = Encrypter::new(key, nonce);
    let mut wire = Vec::new();
    for w in writes {
        enc.encrypt(w, &mut wire);
    }
    if goodbye {
        enc.goodbye(&mut wire);
    }
    wire
}

fn nonce_strategy() -> impl Strategy<Value = [u8; 24]> {
    // Random nonces, and nonces a few steps from the 2¹⁹² wrap-around (carry propagation).
    prop_oneof![
        any::<[u8; 24]>(),
        any::<u8>().prop_map(|low| {
            let mut n = [0xff; 24];
            n[23] = low | 0xf0;
            n
        }),
    ]
}

fn writes_strategy() -> impl Strategy<Value = Vec<Vec<u8>>> {
    vec(
        prop_oneof![
            3 => vec(any::<u8>(), 0..300),
            1 => vec(any::<u8>(), 4090..4100),
            1 => vec(any::<u8>(), 0..10_000),
        ],
        0..6,
    )
}

proptest! {
    #![proptest_config(config(96))]

    #[test]
    fn boxstream_round_trip_any_writes_any_chunking(
        key in any::<[u8; 32]>(),
        nonce in nonce_strategy(),
        writes in writes_strategy(),
        chunks in vec(0usize..5000, 0..20),
    ) {
        let wire = encrypt_all(key, nonce, &writes, true);
        let want: Vec<u8> = writes.concat();
        let frames: usize = writes.iter().map(|w| w.len().div_ceil(MAX_BODY)).sum();
        prop_assert_eq!(wire.len(), want.len() + (frames + 1) * HEADER_LEN);

        let mut dec = Decrypter::new(key, nonce);
        let (events, err) = feed_chunked(&mut dec, &wire, &chunks)?;
        prop_assert_eq!(err, None);
        prop_assert_eq!(events.len(), frames + 1);
        prop_assert_eq!(events.last(), Some(&Event::Goodbye));
        for e in &events[..frames] {
            match e {
                Event::Body(b) => prop_assert!((1..=MAX_BODY).contains(&b.len()), "frame of {}", b.len()),
                Event::Goodbye => prop_assert!(false, "goodbye before the end"),
            }
        }
        prop_assert!(bodies(&events) == want, "bodies differ from the writes");
        prop_assert_eq!(dec.finish(), Ok(()));
        prop_assert!(dec.ended());
    }

    #[test]
    fn decrypter_never_panics_on_arbitrary_bytes(
        key in any::<[u8; 32]>(),
        nonce in any::<[u8; 24]>(),
        wire in vec(any::<u8>(), 0..3000),
        chunks in vec(0usize..200, 0..30),
    ) {
        let mut dec = Decrypter::new(key, nonce);
        let (events, err) = feed_chunked(&mut dec, &wire, &chunks)?;
        // Random bytes never authenticate.
        prop_assert!(events.is_empty());
        let fin = dec.finish();
        match err {
            Some(e) => {
                prop_assert_eq!(e, BoxStreamError::HeaderAuth);
                prop_assert_eq!(fin, Err(e));
            }
            None => {
                prop_assert!(wire.len() < HEADER_LEN);
                if wire.is_empty() {
                    prop_assert_eq!(fin, Err(BoxStreamError::NoGoodbye));
                } else {
                    prop_assert_eq!(fin, Err(BoxStreamError::Truncated("header")));
                }
            }
        }
    }

    #[test]
    fn decrypter_on_tampered_streams_yields_a_prefix_and_is_chunking_independent(
        key in any::<[u8; 32]>(),
        nonce in nonce_strategy(),
        writes in writes_strategy(),
        goodbye in any::<bool>(),
        flips in vec((any::<prop::sample::Index>(), 1u8..=255), 0..3),
        cut in proptest::option::of(any::<prop::sample::Index>()),
        tail in vec(any::<u8>(), 0..50),
        chunks in vec(0usize..300, 1..20),
    ) {
        let original: Vec<u8> = writes.concat();
        let mut wire = encrypt_all(key, nonce, &writes, goodbye);
        let clean_len = wire.len();
        if !wire.is_empty() {
            for (at, x) in &flips {
                let i = at.index(wire.len());
                wire[i] ^= x;
            }
        }
        if let Some(c) = cut {
            wire.truncate(c.index(wire.len() + 1));
        }
        wire.extend_from_slice(&tail);
        let untouched = flips.is_empty() && cut.is_none() && tail.is_empty();

        let mut whole = Decrypter::new(key, nonce);
        let (events_whole, err_whole) = feed_chunked(&mut whole, &wire, &[])?;
        let mut chunked = Decrypter::new(key, nonce);
        let (events, err) = feed_chunked(&mut chunked, &wire, &chunks)?;
        prop_assert_eq!(&events, &events_whole, "events depend on chunking");
        prop_assert_eq!(normalized(err), normalized(err_whole), "error depends on chunking");
        prop_assert_eq!(
            normalized(chunked.finish().err()),
            normalized(whole.finish().err()),
            "finish depends on chunking"
        );

        // Authentication: whatever came out is a prefix of what went in.
        let got = bodies(&events);
        prop_assert!(got.len() <= original.len() && got[..] == original[..got.len()], "forged plaintext");
        let saw_goodbye = events.contains(&Event::Goodbye);
        if saw_goodbye {
            prop_assert_eq!(events.last(), Some(&Event::Goodbye));
        }
        match chunked.finish() {
            Ok(()) => prop_assert!(saw_goodbye && err.is_none()),
            Err(BoxStreamError::NoGoodbye) => prop_assert!(!saw_goodbye && err.is_none()),
            Err(e) => {
                let is_truncation = matches!(e, BoxStreamError::Truncated(_));
                prop_assert!(err == Some(e) || (err.is_none() && is_truncation), "finish {:?} vs feed {:?}", e, err);
            }
        }
        if untouched {
            prop_assert_eq!(err, None);
            prop_assert!(got == original);
            let want = if goodbye { Ok(()) } else { Err(BoxStreamError::NoGoodbye) };
            prop_assert_eq!(chunked.finish(), want);
        }
        if goodbye && wire.len() > clean_len && flips.is_empty() && cut.is_none() {
            // Fed at once, the error counts the whole tail.
            prop_assert_eq!(err_whole, Some(BoxStreamError::DataAfterGoodbye(tail.len())));
            prop_assert!(got == original);
        }
    }
}

// ---- secret handshake ----------------------------------------------------------------------------

fn machines(net: [u8; 32], cs: [u8; 32], ss: [u8; 32], ce: [u8; 32], se: [u8; 32]) -> (Client, Server) {
    let server_keys = Keypair::from_seed(ss);
    let c = Client::with_ephemeral(net, Keypair::from_seed(cs), server_keys.id(), ce).unwrap();
    let s = Server::with_ephemeral(net, server_keys, Server::accept_all(), se);
    (c, s)
}

fn send(h: &mut impl Handshake) -> Result<Vec<u8>, TestCaseError> {
    match h.next() {
        Action::Send(b) => Ok(b),
        other => Err(TestCaseError::fail(format!("expected Send, got {other:?}"))),
    }
}

/// The garbage fed at a step: arbitrary bytes of arbitrary length, of the expected length, or
/// the valid message with some bits flipped.
#[derive(Debug, Clone)]
enum Garbage {
    Bytes(Vec<u8>),
    ExactLen(Vec<u8>),
    Flipped(Vec<(prop::sample::Index, u8)>),
}

fn garbage_strategy() -> impl Strategy<Value = Garbage> {
    prop_oneof![
        vec(any::<u8>(), 0..300).prop_map(Garbage::Bytes),
        vec(any::<u8>(), 112).prop_map(Garbage::ExactLen),
        vec((any::<prop::sample::Index>(), 1u8..=255), 1..4).prop_map(Garbage::Flipped),
    ]
}

fn make_garbage(g: &Garbage, valid: &[u8]) -> Vec<u8> {
    match g {
        Garbage::Bytes(b) => b.clone(),
        Garbage::ExactLen(b) => b[..valid.len()].to_vec(),
        Garbage::Flipped(flips) => {
            let mut m = valid.to_vec();
            // Apply the flips to distinct positions so they cannot cancel out.
            let mut used = Vec::new();
            for (at, x) in flips {
                let i = at.index(m.len());
                if !used.contains(&i) {
                    used.push(i);
                    m[i] ^= x;
                }
            }
            m
        }
    }
}

/// Feeds `bad` to a machine expecting `expected_len` bytes at `step`: it must fail, name the
/// step, and stay failed.
fn check_refused(
    h: &mut impl Handshake,
    bad: &[u8],
    step: Step,
    expected_len: usize,
) -> Result<(), TestCaseError> {
    let err = h.receive(bad);
    prop_assert!(err.is_err(), "garbage accepted at {}", step);
    let err = err.unwrap_err();
    prop_assert_eq!(err.step(), Some(step));
    if bad.len() != expected_len {
        prop_assert_eq!(
            err,
            ShsError::BadLength {
                step,
                expected: expected_len,
                got: bad.len()
            }
        );
    }
    prop_assert_eq!(h.next(), Action::Failed);
    prop_assert!(h.receive(bad).is_err());
    prop_assert_eq!(h.next(), Action::Failed);
    Ok(())
}

proptest! {
    #![proptest_config(config(64))]

    #[test]
    fn handshake_succeeds_for_any_keys_and_ephemerals(
        net in any::<[u8; 32]>(),
        cs in any::<[u8; 32]>(),
        ss in any::<[u8; 32]>(),
        ce in any::<[u8; 32]>(),
        se in any::<[u8; 32]>(),
    ) {
        let (mut c, mut s) = machines(net, cs, ss, ce, se);
        let (co, so) = run_pair(&mut c, &mut s).map_err(|e| TestCaseError::fail(format!("{e:?}")))?;
        prop_assert_eq!(co.remote, Keypair::from_seed(ss).id());
        prop_assert_eq!(so.remote, Keypair::from_seed(cs).id());
        prop_assert_eq!(co.encrypt_key, so.decrypt_key);
        prop_assert_eq!(co.encrypt_nonce, so.decrypt_nonce);
        prop_assert_eq!(co.decrypt_key, so.encrypt_key);
        prop_assert_eq!(co.decrypt_nonce, so.encrypt_nonce);
        prop_assert_ne!(co.encrypt_key, co.decrypt_key);
        prop_assert!(matches!(c.next(), Action::Done(_)));
        prop_assert!(matches!(s.next(), Action::Done(_)));
        // A finished machine refuses more bytes and stays done.
        prop_assert!(c.receive(&[0; 80]).is_err());
        prop_assert!(matches!(c.next(), Action::Done(_)));
    }

    #[test]
    fn machines_never_panic_on_garbage_at_any_step(
        net in any::<[u8; 32]>(),
        cs in any::<[u8; 32]>(),
        ss in any::<[u8; 32]>(),
        ce in any::<[u8; 32]>(),
        se in any::<[u8; 32]>(),
        step in 0usize..4,
        garbage in garbage_strategy(),
    ) {
        let (mut c, mut s) = machines(net, cs, ss, ce, se);
        let msg1 = send(&mut c)?;
        prop_assert_eq!(s.next(), Action::Receive(MSG1_LEN));
        if step == 0 {
            return check_refused(&mut s, &make_garbage(&garbage, &msg1), Step::Msg1, MSG1_LEN);
        }
        s.receive(&msg1).unwrap();
        let msg2 = send(&mut s)?;
        prop_assert_eq!(c.next(), Action::Receive(MSG2_LEN));
        if step == 1 {
            return check_refused(&mut c, &make_garbage(&garbage, &msg2), Step::Msg2, MSG2_LEN);
        }
        c.receive(&msg2).unwrap();
        let msg3 = send(&mut c)?;
        prop_assert_eq!(s.next(), Action::Receive(MSG3_LEN));
        if step == 2 {
            return check_refused(&mut s, &make_garbage(&garbage, &msg3), Step::Msg3, MSG3_LEN);
        }
        s.receive(&msg3).unwrap();
        let msg4 = send(&mut s)?;
        prop_assert_eq!(c.next(), Action::Receive(MSG4_LEN));
        check_refused(&mut c, &make_garbage(&garbage, &msg4), Step::Msg4, MSG4_LEN)?;
        // The server finished regardless of what happened to the client.
        prop_assert!(matches!(s.next(), Action::Done(_)));
    }

    #[test]
    fn bytes_out_of_turn_are_refused(
        garbage in vec(any::<u8>(), 0..200),
        seed in any::<[u8; 32]>(),
    ) {
        // A client that has not sent msg1 yet, and a server that has msg2 to send.
        let (mut c, mut s) = machines([7; 32], seed, [2; 32], [3; 32], [4; 32]);
        let r = c.receive(&garbage);
        prop_assert!(matches!(r, Err(ShsError::Unexpected { .. })), "{:?}", r);
        prop_assert_eq!(c.next(), Action::Failed);

        let (mut c, _) = machines([7; 32], seed, [2; 32], [3; 32], [4; 32]);
        let msg1 = send(&mut c)?;
        s.receive(&msg1).unwrap();
        let r = s.receive(&garbage);
        prop_assert!(matches!(r, Err(ShsError::Unexpected { .. })), "{:?}", r);
        prop_assert_eq!(s.next(), Action::Failed);
    }
}

// ---- identities ----------------------------------------------------------------------------------

proptest! {
    #![proptest_config(config(256))]

    #[test]
    fn feed_id_parse_never_panics_and_accepts_only_canonical(s in any::<String>()) {
        if let Ok(id) = FeedId::parse(&s) {
            prop_assert_eq!(id.to_string(), s);
        }
    }

    #[test]
    fn feed_id_parse_of_mutated_ids(
        bytes in any::<[u8; 32]>(),
        edits in vec((any::<prop::sample::Index>(), prop_oneof![Just('='), Just('.'), Just('@'), Just('A'), Just('/'), Just('-'), any::<char>()]), 1..3),
        cut in proptest::option::of(any::<prop::sample::Index>()),
    ) {
        let valid = FeedId(bytes).to_string();
        let mut chars: Vec<char> = valid.chars().collect();
        for (at, ch) in &edits {
            let i = at.index(chars.len());
            chars[i] = *ch;
        }
        if let Some(c) = cut {
            chars.truncate(c.index(chars.len() + 1));
        }
        let s: String = chars.into_iter().collect();
        match FeedId::parse(&s) {
            Ok(id) => {
                prop_assert_eq!(id.to_string(), s.clone());
                if s == valid {
                    prop_assert_eq!(id, FeedId(bytes));
                }
            }
            Err(_) => prop_assert_ne!(s, valid),
        }
    }

    #[test]
    fn feed_id_round_trips(bytes in any::<[u8; 32]>()) {
        let id = FeedId(bytes);
        let s = id.to_string();
        prop_assert_eq!(s.len(), 53);
        prop_assert_eq!(FeedId::parse(&s), Ok(id));
        prop_assert_eq!(s.parse::<FeedId>(), Ok(id));
    }

    #[test]
    fn secret_file_parse_never_panics(text in any::<String>()) {
        if let Ok(kp) = Keypair::from_secret_file(&text) {
            // Only a consistent file parses; its key round-trips.
            let back = Keypair::from_secret_file(&kp.to_secret_file()).unwrap();
            prop_assert_eq!(back.public(), kp.public());
        }
    }

    #[test]
    fn mutated_secret_files_never_give_another_key(
        seed in any::<[u8; 32]>(),
        edits in vec((any::<prop::sample::Index>(), any::<char>()), 1..4),
        cut in proptest::option::of(any::<prop::sample::Index>()),
    ) {
        let kp = Keypair::from_seed(seed);
        let mut chars: Vec<char> = kp.to_secret_file().chars().collect();
        for (at, ch) in &edits {
            let i = at.index(chars.len());
            chars[i] = *ch;
        }
        if let Some(c) = cut {
            chars.truncate(c.index(chars.len() + 1));
        }
        let text: String = chars.into_iter().collect();
        if let Ok(back) = Keypair::from_secret_file(&text) {
            prop_assert_eq!(back.public(), kp.public());
            prop_assert_eq!(back.seed(), kp.seed());
        }
    }
}

#[test]
fn secret_file_of_any_seed_parses() {
    // The unmutated control for the property above.
    for b in [0u8, 1, 0x7f, 0xff] {
        let kp = Keypair::from_seed([b; 32]);
        assert_eq!(
            Keypair::from_secret_file(&kp.to_secret_file()).unwrap().public(),
            kp.public()
        );
    }
}
