//! Fuzzes BFE (type-format-key) decoding and the id conversions of
//! `ssb_impl::bendybutt::bfe`: binary values, sigil strings and `ssb:` URIs.
//!
//! The whole input is tried as a BFE value (and as each typed field decoder), and, when it is
//! UTF-8, as a feed id and a message id string. When the first byte has its top bit set, a valid
//! id string is also built (bits 0..=3: the form and format; the second byte: the id bytes) and
//! the rest of the input applied to it as byte edits (3-byte records `lo, hi, value`:
//! `pos = u16(lo, hi)`, the two top bits choose overwrite (0, 3), insert (1) or delete (2) at
//! `pos % len`), so the fuzzer reaches near-valid sigils and `ssb:` URIs.
//!
//! Invariants:
//! - no panic;
//! - a decoded value re-encodes to exactly its bytes, its type/format bytes are the input's
//!   first two, and the registry knows them with the data length the input has;
//! - the typed decoders (`FeedRef::from_bfe`, `MsgRef::from_bfe`, `decode_signature`,
//!   `decode_string`, `decode_msg_or_nil`) accept exactly the `Bfe::decode` results of their
//!   kind, and their values re-encode to the input;
//! - a parsed id string gives an id whose sigil / URI form parses back to the same id; a classic
//!   message sigil agrees with the legacy `MsgId::parse`.

#![no_main]

use libfuzzer_sys::fuzz_target;
use ssb_fuzz::apply_edits;
use ssb_impl::bendybutt::bfe::{self, Bfe, FeedFormat, FeedRef, MsgFormat, MsgRef};
use ssb_impl::legacy::message::MsgId;

fn binary(data: &[u8]) {
    let decoded = Bfe::decode(data);
    if let Ok(v) = &decoded {
        assert_eq!(v.encode(), data, "BFE value does not re-encode to its bytes");
        let (t, f) = v.type_format();
        assert_eq!([t, f], data[..2]);
        let (_, len) = bfe::format_info(t, f).expect("decoded an unregistered type/format");
        if let Some(len) = len {
            assert_eq!(data.len() - 2, len, "data length not the format's fixed length");
        }
        assert_eq!(bfe::type_name(t), Some(v.type_name()));
    }

    match FeedRef::from_bfe(data) {
        Ok(r) => {
            assert_eq!(r.to_bfe(), data);
            assert_eq!(decoded.as_ref().ok(), Some(&Bfe::Feed(r)));
            let uri = r.to_uri();
            assert_eq!(FeedRef::parse(&uri).as_ref(), Ok(&r), "{uri}");
            assert_eq!(FeedRef::parse(&r.to_string()).as_ref(), Ok(&r));
            if let Some(s) = r.to_sigil() {
                assert_eq!(r.format, FeedFormat::Classic);
                assert_eq!(FeedRef::parse(&s).as_ref(), Ok(&r), "{s}");
            }
        }
        Err(_) => assert!(!matches!(decoded, Ok(Bfe::Feed(_))), "from_bfe refuses a feed"),
    }
    match MsgRef::from_bfe(data) {
        Ok(r) => {
            assert_eq!(r.to_bfe(), data);
            assert_eq!(decoded.as_ref().ok(), Some(&Bfe::Message(r.clone())));
            assert_eq!(r.id().len(), r.format().id_len());
            assert_eq!(MsgRef::new(r.format(), r.id()).as_ref(), Ok(&r));
            let uri = r.to_uri();
            assert_eq!(MsgRef::parse(&uri).as_ref(), Ok(&r), "{uri}");
            assert_eq!(MsgRef::parse(&r.to_string()).as_ref(), Ok(&r));
            if let Some(s) = r.to_sigil() {
                assert!(matches!(r.format(), MsgFormat::Classic | MsgFormat::Cloaked));
                assert_eq!(MsgRef::parse(&s).as_ref(), Ok(&r), "{s}");
            }
        }
        Err(_) => assert!(
            !matches!(decoded, Ok(Bfe::Message(_))),
            "from_bfe refuses a message id"
        ),
    }
    match bfe::decode_signature(data) {
        Ok(s) => {
            assert_eq!(bfe::encode_signature(&s), data);
            assert_eq!(decoded.as_ref().ok(), Some(&Bfe::Signature(s)));
        }
        Err(_) => assert!(!matches!(decoded, Ok(Bfe::Signature(_)))),
    }
    match bfe::decode_string(data) {
        Ok(s) => {
            assert_eq!(bfe::encode_string(&s), data);
            assert_eq!(decoded.as_ref().ok(), Some(&Bfe::String(s)));
        }
        Err(_) => assert!(!matches!(decoded, Ok(Bfe::String(_)))),
    }
    match bfe::decode_msg_or_nil(data) {
        Ok(None) => assert_eq!(data, bfe::NIL),
        Ok(Some(r)) => assert_eq!(r.to_bfe(), data),
        Err(_) => assert!(!matches!(decoded, Ok(Bfe::Message(_) | Bfe::Nil))),
    }
    if let Err(e) = &decoded {
        let _ = (e.fault(), e.to_string());
    }
}

fn text(s: &str) {
    if let Ok(r) = FeedRef::parse(s) {
        let again = FeedRef::parse(&r.to_uri()).expect("a feed URI does not parse back");
        assert_eq!(again, r);
        assert_eq!(FeedRef::parse(&r.to_string()).as_ref(), Ok(&r));
        assert_eq!(FeedRef::from_bfe(&r.to_bfe()).as_ref(), Ok(&r));
        if let Some(sigil) = r.to_sigil() {
            // A classic sigil is canonical: parsing accepted only the one spelling.
            if s.starts_with('@') {
                assert_eq!(sigil, s, "a feed sigil parsed but is not canonical");
            }
        }
    }
    if let Ok(r) = MsgRef::parse(s) {
        let again = MsgRef::parse(&r.to_uri()).expect("a message URI does not parse back");
        assert_eq!(again, r);
        assert_eq!(MsgRef::parse(&r.to_string()).as_ref(), Ok(&r));
        assert_eq!(MsgRef::from_bfe(&r.to_bfe()).as_ref(), Ok(&r));
        if s.starts_with('%') {
            assert_eq!(
                r.to_sigil().as_deref(),
                Some(s),
                "a message sigil parsed but is not canonical"
            );
        }
        if r.format() == MsgFormat::Classic {
            let legacy = MsgId::parse(&r.to_sigil().expect("classic ids have a sigil"));
            assert_eq!(
                legacy.map(|m| m.0.to_vec()),
                Some(r.id().to_vec()),
                "legacy MsgId disagrees"
            );
        }
    }
    // The legacy parser accepts a classic sigil exactly when the BFE one does.
    if let Some(m) = MsgId::parse(s) {
        let r = MsgRef::parse(s).expect("legacy MsgId accepts a sigil MsgRef refuses");
        assert_eq!((r.format(), r.id()), (MsgFormat::Classic, &m.0[..]));
    } else if s.ends_with(".sha256") && s.starts_with('%') {
        assert!(
            MsgRef::parse(s).is_err(),
            "MsgRef accepts a classic sigil legacy MsgId refuses: {s}"
        );
    }
}

/// A valid id string picked by `sel` (form and format) with id bytes derived from `fill`.
fn valid_id(sel: u8, fill: u8) -> String {
    let bytes: Vec<u8> = (0..64u8)
        .map(|i| fill.wrapping_mul(i.wrapping_add(1)) ^ i)
        .collect();
    let key: [u8; 32] = bytes[..32].try_into().expect("32 bytes");
    if sel & 1 == 0 {
        let formats = FeedFormat::ALL;
        let r = FeedRef::new(formats[usize::from(sel >> 1) % formats.len()], key);
        if sel & 0x40 != 0 {
            r.to_uri()
        } else {
            r.to_string()
        }
    } else {
        let formats = MsgFormat::ALL;
        let f = formats[usize::from(sel >> 1) % formats.len()];
        let r = MsgRef::new(f, &bytes[..f.id_len()]).expect("right length");
        if sel & 0x40 != 0 {
            r.to_uri()
        } else {
            r.to_string()
        }
    }
}

fuzz_target!(|data: &[u8]| {
    binary(data);
    if let Ok(s) = std::str::from_utf8(data) {
        text(s);
    }
    if let [sel, fill, edits @ ..] = data {
        if sel & 0x80 != 0 {
            let edited = apply_edits(valid_id(*sel & 0x7f, *fill).as_bytes(), edits);
            if let Ok(s) = std::str::from_utf8(&edited) {
                text(s);
            }
        }
    }
});
