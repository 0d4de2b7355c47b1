//! Fuzzes the canonical bencode decoder and the Bendy Butt message / meta feed layers on top of
//! it (`ssb_impl::bendybutt::{bencode, message, metafeed}`).
//!
//! The first input byte picks a mode (`mode % 4`):
//! - 0, 1: the rest is the input as it is (bencode, then a message, a payload, a feed's first
//!   message and a meta feed's first message);
//! - 2: byte edits to a fixed valid signed meta feed message (`metafeed/add/derived` with a
//!   content signature), so the fuzzer explores near-valid messages;
//! - 3: byte edits to a fixed valid second message (sequence 2, dictionary content), checked
//!   against a feed resumed after the first.
//!
//! Edits are 3-byte records `lo, hi, value`: `pos = u16(lo, hi)`; the two top bits of `pos`
//! choose overwrite (0, 3), insert (1) or delete (2) at `pos % len`.
//!
//! Invariants:
//! - no panic;
//! - canonical form: a decoded value re-encodes to exactly the input, `encoded_len` is its
//!   length; `decode_prefix` agrees with `decode` on the prefix it took; a smaller depth limit
//!   never accepts what a larger one refuses;
//! - a decoded `Message` (and `Payload`) re-encodes to exactly its bytes and passes
//!   `Payload::check`;
//! - a message the feed validator accepts has key `message_key(bytes)`; decoded meta feed
//!   content re-encodes (`to_dict`) to the dictionary it came from;
//! - an edited message is accepted (signature verified) only if it is the original bytes: one
//!   value has one encoding and a signature cannot be moved to other bytes.

#![no_main]

use ssb_fuzz::apply_edits;
use std::collections::BTreeMap;
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use ssb_impl::bendybutt::bencode::{self, Dict, Value};
use ssb_impl::bendybutt::message::{
    message_key, FeedState, FeedValidator, Message, Payload, MAX_MESSAGE_SIZE,
};
use ssb_impl::bendybutt::metafeed::{
    self, MetafeedContent, MetafeedEntry, MetafeedMsgType, MetafeedValidator, Tangle,
};
use ssb_impl::bendybutt::{Content, FeedRef};
use ssb_impl::Keypair;

struct Fixture {
    first: Vec<u8>,
    second: Vec<u8>,
    state_after_first: FeedState,
}

fn fixture() -> &'static Fixture {
    static F: OnceLock<Fixture> = OnceLock::new();
    F.get_or_init(|| {
        let mf = Keypair::from_seed([7; 32]);
        let sub = Keypair::from_seed([8; 32]);
        let content = MetafeedContent {
            kind: MetafeedMsgType::AddDerived,
            subfeed: FeedRef::classic(*sub.public()),
            metafeed: FeedRef::bendybutt(*mf.public()),
            feedpurpose: Some("main".into()),
            nonce: Some([0x23; 32]),
            tangles: Some(BTreeMap::from([(b"metafeed".to_vec(), Tangle::default())])),
            extra: Dict::new(),
        }
        .sign(&sub, None)
        .expect("subfeed signs");
        let first = Payload {
            author: FeedRef::bendybutt(*mf.public()),
            sequence: 1,
            previous: None,
            timestamp: 1_650_000_000_000,
            content,
        }
        .sign(&mf, None)
        .expect("first message signs");
        let first_bytes = first.encode();
        let mut v = FeedValidator::new(None);
        v.append(&first_bytes).expect("fixture: first message validates");
        let state_after_first = v.state().expect("a state").clone();
        let mut dict = Dict::new();
        dict.insert(b"type".to_vec(), Value::bytes(b"\x06\x00test".to_vec()));
        dict.insert(b"n".to_vec(), Value::Int(-42));
        dict.insert(
            b"l".to_vec(),
            Value::List(vec![Value::Int(0), Value::bytes(b"x".to_vec())]),
        );
        let second = Payload {
            author: FeedRef::bendybutt(*mf.public()),
            sequence: 2,
            previous: Some(first.key()),
            timestamp: -1,
            content: Content::Dict(dict),
        }
        .sign(&mf, None)
        .expect("second message signs");
        let second_bytes = second.encode();
        v.append(&second_bytes)
            .expect("fixture: second message validates");
        let mut m = MetafeedValidator::new(None);
        m.append(&first_bytes)
            .expect("fixture: meta feed message validates");
        Fixture {
            first: first_bytes,
            second: second_bytes,
            state_after_first,
        }
    })
}

fn check_bencode(data: &[u8]) {
    let full = bencode::decode(data);
    if let Ok(v) = &full {
        assert_eq!(
            bencode::encode(v),
            data,
            "decoded value does not re-encode to its input"
        );
        assert_eq!(bencode::encoded_len(v), data.len(), "encoded_len is wrong");
        assert_eq!(&v.encode(), data);
    }
    match bencode::decode_prefix(data, bencode::DEFAULT_MAX_DEPTH) {
        Ok((v, n)) => {
            assert!(n <= data.len() && n > 0, "prefix length {n} of {}", data.len());
            assert_eq!(bencode::encode(&v), &data[..n], "prefix does not re-encode");
            match &full {
                Ok(w) => assert_eq!((&v, n), (w, data.len())),
                Err(e) => assert!(
                    matches!(e, bencode::BencodeError::TrailingBytes { at, .. } if *at == n),
                    "decode_prefix took {n} bytes, decode says {e:?}"
                ),
            }
        }
        Err(e) => assert_eq!(full.as_ref().err(), Some(&e), "decode and decode_prefix disagree"),
    }
    // Depth limits are monotone (the first byte picks a small limit).
    let limit = usize::from(data.first().copied().unwrap_or(0) % 8);
    if let Ok(v) = bencode::decode_with_depth(data, limit) {
        let deeper = bencode::decode_with_depth(data, limit + 1).expect("a larger depth limit refuses");
        assert_eq!(v, deeper);
    }
}

fn check_dict_content(dict: &Dict) {
    if let Ok(c) = MetafeedContent::from_dict(dict) {
        assert_eq!(
            &c.to_dict(),
            dict,
            "meta feed content does not re-encode to its dictionary"
        );
        let _ = c.to_json();
    }
}

/// Runs every message-level check on `bytes`; returns whether a first-message feed validator
/// accepted it.
fn check_message(bytes: &[u8], resume: Option<&FeedState>) -> bool {
    if let Ok(p) = Payload::decode(bytes) {
        assert_eq!(
            p.encode(),
            bytes,
            "decoded payload does not re-encode to its bytes"
        );
        p.check().expect("a decoded payload fails Payload::check");
    }
    let decoded = Message::decode(bytes);
    if let Ok(m) = &decoded {
        assert!(bytes.len() <= MAX_MESSAGE_SIZE);
        assert_eq!(
            m.encode(),
            bytes,
            "decoded message does not re-encode to its bytes"
        );
        assert_eq!(m.key(), message_key(bytes));
        m.payload.check().expect("a decoded message fails Payload::check");
        let _ = m.verify(None);
        let _ = m.verify(Some(&[1; 32]));
        let _ = metafeed::validate_message(m, None);
        if let Some(d) = m.content().dict() {
            check_dict_content(d);
        }
        let _ = m.content().encrypted_bfe();
        let _ = (m.author().to_string(), m.previous().map(|p| p.to_string()));
    }

    let mut accepted = false;
    let mut feed = match resume {
        Some(s) => FeedValidator::resume(s.clone(), None),
        None => FeedValidator::new(None),
    };
    match feed.check(bytes) {
        Ok(v) => {
            accepted = true;
            assert_eq!(v.key, message_key(bytes));
            assert_eq!(
                Some(&v.message),
                decoded.as_ref().ok(),
                "validator and decode disagree"
            );
            v.message.verify(None).expect("accepted message does not verify");
            feed.accept(&v);
            let st = feed.state().expect("state after accept");
            assert_eq!((st.sequence, &st.last_key), (v.message.sequence(), &v.key));
        }
        Err(_) => assert!(feed.state() == resume, "check changed the state"),
    }

    if resume.is_none() {
        let mut m = MetafeedValidator::new(None);
        match m.append(bytes) {
            Ok((v, entry)) => {
                assert!(
                    accepted,
                    "meta feed validator accepts what the feed validator refuses"
                );
                if let MetafeedEntry::Management(c) = entry {
                    assert_eq!(c.metafeed, *v.message.author());
                }
            }
            Err(_) => assert!(
                m.feed().state().is_none(),
                "a refused message changed the meta feed"
            ),
        }
    }
    accepted
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    match mode % 4 {
        0 | 1 => {
            check_bencode(rest);
            if let Ok(Value::Dict(d)) = bencode::decode(rest) {
                check_dict_content(&d);
            }
            check_message(rest, None);
        }
        2 => {
            let f = fixture();
            let bytes = apply_edits(&f.first, rest);
            check_bencode(&bytes);
            if check_message(&bytes, None) {
                assert_eq!(bytes, f.first, "an edited first message validated");
            }
        }
        _ => {
            let f = fixture();
            let bytes = apply_edits(&f.second, rest);
            check_bencode(&bytes);
            if check_message(&bytes, Some(&f.state_after_first)) {
                assert_eq!(bytes, f.second, "an edited second message validated");
            }
        }
    }
});
