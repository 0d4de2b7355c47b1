//! Fuzzes the box-stream `Decrypter` with arbitrary bytes in arbitrary chunking.
//!
//! Input layout: `mode ‖ n ‖ n chunk sizes ‖ payload`. Mode bit 0 clear: the payload is the wire
//! itself. Mode bit 0 set: the payload's first half is encrypted as a valid stream (cut into
//! writes at the chunk sizes, goodbye if mode bit 1), then XOR-ed with the second half, so the
//! fuzzer reaches body and goodbye states.
//!
//! Invariants: no panic; errors are sticky and yield no further events; every body has 1..=4096
//! bytes; the result does not depend on chunking (one feed vs. the given chunks); bodies are a
//! prefix of what was encrypted; `finish()` agrees with what `feed` reported.

#![no_main]

use libfuzzer_sys::fuzz_target;
use ssb_impl::boxstream::{BoxStreamError, Decrypter, Encrypter, Event, MAX_BODY};

const KEY: [u8; 32] = [0x11; 32];
const NONCE: [u8; 24] = [0xfe; 24];

fn run(wire: &[u8], chunks: &[usize]) -> (Vec<Event>, Option<BoxStreamError>, Result<(), BoxStreamError>) {
    let mut dec = Decrypter::new(KEY, NONCE);
    let mut events = Vec::new();
    let mut first_err = None;
    let mut feed = |dec: &mut Decrypter, part: &[u8], events: &mut Vec<Event>| {
        let before = events.len();
        let r = dec.feed(part, events);
        match first_err {
            None => first_err = r.err(),
            Some(e) => {
                assert_eq!(r, Err(e), "error not sticky");
                assert_eq!(events.len(), before, "events after an error");
            }
        }
    };
    let mut pos = 0;
    if chunks.iter().any(|&n| n > 0) {
        for &n in chunks.iter().cycle() {
            if pos >= wire.len() {
                break;
            }
            let end = (pos + n).min(wire.len());
            feed(&mut dec, &wire[pos..end], &mut events);
            pos = end;
        }
    } else {
        feed(&mut dec, wire, &mut events);
    }
    feed(&mut dec, &[], &mut events);
    let fin = dec.finish();
    (events, first_err, fin)
}

fn normalized(e: Option<BoxStreamError>) -> Option<BoxStreamError> {
    match e {
        Some(BoxStreamError::DataAfterGoodbye(_)) => Some(BoxStreamError::DataAfterGoodbye(0)),
        other => other,
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let Some((&n, rest)) = rest.split_first() else {
        return;
    };
    let n = (n as usize % 16).min(rest.len());
    let (sizes, payload) = rest.split_at(n);
    // Chunk sizes 0..=1020 (0 = an empty feed), so frames of up to 4096 bytes can be split.
    let chunks: Vec<usize> = sizes.iter().map(|&b| b as usize * 4).collect();

    let (wire, plain) = if mode & 1 == 0 {
        (payload.to_vec(), None)
    } else {
        let (plain, mask) = payload.split_at(payload.len() / 2);
        let mut enc = Encrypter::new(KEY, NONCE);
        let mut wire = Vec::new();
        let mut p = plain;
        for &c in chunks.iter().cycle().take(64) {
            if p.is_empty() {
                break;
            }
            let (w, tail) = p.split_at((c * 5).min(p.len()));
            enc.encrypt(w, &mut wire);
            p = tail;
        }
        enc.encrypt(p, &mut wire);
        if mode & 2 != 0 {
            enc.goodbye(&mut wire);
        }
        for (b, m) in wire.iter_mut().zip(mask) {
            *b ^= m;
        }
        (wire, Some(plain.to_vec()))
    };

    let (events, err, fin) = run(&wire, &chunks);
    let (events_whole, err_whole, fin_whole) = run(&wire, &[]);
    assert_eq!(events, events_whole, "events depend on chunking");
    assert_eq!(
        normalized(err),
        normalized(err_whole),
        "error depends on chunking"
    );
    assert_eq!(
        normalized(fin.err()),
        normalized(fin_whole.err()),
        "finish depends on chunking"
    );

    let mut got = Vec::new();
    for (i, e) in events.iter().enumerate() {
        match e {
            Event::Body(b) => {
                assert!((1..=MAX_BODY).contains(&b.len()), "body of {} bytes", b.len());
                got.extend_from_slice(b);
            }
            Event::Goodbye => assert_eq!(i, events.len() - 1, "events after the goodbye"),
        }
    }
    let saw_goodbye = events.last() == Some(&Event::Goodbye);
    match fin {
        Ok(()) => assert!(saw_goodbye && err.is_none()),
        Err(BoxStreamError::NoGoodbye) => assert!(!saw_goodbye && err.is_none()),
        Err(BoxStreamError::Truncated(_)) if err.is_none() => assert!(!saw_goodbye),
        Err(e) => assert_eq!(err, Some(e), "finish error differs from the feed error"),
    }
    match plain {
        // Authentication: no forged bytes.
        Some(plain) => assert!(
            got.len() <= plain.len() && got[..] == plain[..got.len()],
            "forged plaintext"
        ),
        // Arbitrary bytes do not authenticate.
        None => assert!(events.is_empty(), "random bytes decrypted"),
    }
});
