//! Fuzzes classic message validation (`legacy::message::check_message`,
//! `feed::validate_next`) with arbitrary and with near-valid messages.
//!
//! The first input byte picks a mode (`mode % 4`):
//! - 0: the rest is JSON text, parsed in JsCompat mode and validated as it is;
//! - 1: byte edits to the compact text (`JSON.stringify(msg)`) of a fixed valid signed message;
//! - 2: the same edits to its signing text (`JSON.stringify(msg, null, 2)`);
//! - 3: the rest is JSON text used as the *content* of a message signed here, which is then
//!   serialized, parsed again and validated.
//!
//! Edits are 3-byte records `lo, hi, value`: `pos = u16(lo, hi)`; the two top bits of `pos`
//! choose overwrite (0, 3), insert (1) or delete (2) at `pos % len`.
//!
//! Invariants:
//! - no panic;
//! - `check_message` and `validate_next(None, …)` agree up to the rules of a feed's first message
//!   (previous null, sequence 1), and an accepted message's id is `message_id` of the value;
//! - an edited message is accepted only if it is the original message (same encoding, same id): a
//!   signature cannot be moved to another message, whatever the spelling of its text (escapes,
//!   white space, number forms, duplicate keys);
//! - a message signed here over any content is accepted after a trip through its own text
//!   exactly when its content and size are valid, with the id that signing gave.

#![no_main]

use ssb_fuzz::apply_edits;
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use ssb_impl::feed::validate_next;
use ssb_impl::legacy::message::{
    check_content, check_message, message_id, sign_message, MsgId, MAX_MESSAGE_UNITS,
};
use ssb_impl::legacy::{parse, to_compact_units, to_signing_units, MessageError, Mode, Object, Value};
use ssb_impl::Keypair;

struct Fixture {
    keys: Keypair,
    msg: Object,
    id: MsgId,
    compact: Vec<u8>,
    signing: Vec<u8>,
}

fn fixture() -> &'static Fixture {
    static F: OnceLock<Fixture> = OnceLock::new();
    F.get_or_init(|| {
        let keys = Keypair::from_seed([7; 32]);
        // Content with something for each part of the grammar: escapes, non-ASCII (2-, 3- and
        // 4-byte UTF-8), numbers, nesting, an integer-like key.
        let content = parse(
            r#"{"type":"post","text":"h\u00e9llo \"w\" ✓ 🎉\n","n":[1,2.5,-3e-7,true,false,null],"7":{"a":"b"},"root":null}"#
                .as_bytes(),
            Mode::Strict,
        )
        .expect("fixture content parses");
        let (msg, id) = sign_message(&keys, None, 1, 1.0, content, None);
        let utf8 = |units: Vec<u16>| String::from_utf16(&units).expect("well-formed").into_bytes();
        let compact = utf8(to_compact_units(&Value::Object(msg.clone())));
        let signing = utf8(to_signing_units(&Value::Object(msg.clone())));
        let f = Fixture {
            keys,
            msg,
            id,
            compact,
            signing,
        };
        // The fixture itself must validate.
        let v = parse(&f.compact, Mode::JsCompat).expect("fixture parses");
        assert_eq!(check_message(&v, None).expect("fixture validates").id, f.id);
        f
    })
}

/// Validates `v` both ways and checks they agree; returns the verdict of `check_message`.
fn validate(v: &Value) -> Result<MsgId, MessageError> {
    let checked = check_message(v, None);
    let next = validate_next(None, v, None);
    match (&checked, &next) {
        (Ok(c), Ok((n, state))) => {
            assert_eq!(c.id, n.id);
            assert_eq!(state.id, c.id);
            assert_eq!(
                c.sequence, 1.0,
                "validate_next accepted a first message with sequence {}",
                c.sequence
            );
            assert!(
                c.previous.is_none(),
                "validate_next accepted a first message with a previous"
            );
        }
        (Ok(c), Err(e)) => assert!(
            matches!(
                e,
                MessageError::FirstPreviousNotNull | MessageError::FirstSequenceNotOne
            ),
            "check_message accepts {c:?}, validate_next refuses: {e:?}"
        ),
        (Err(e), Ok(_)) => panic!("validate_next accepts, check_message refuses: {e:?}"),
        (Err(_), Err(_)) => {}
    }
    let c = checked?;
    let Value::Object(o) = v else {
        panic!("a non-object validated")
    };
    assert_eq!(
        c.id,
        message_id(o),
        "accepted message's id is not message_id of its value"
    );
    Ok(c.id)
}

fn edited(text: &[u8], edits: &[u8]) {
    let f = fixture();
    let bytes = apply_edits(text, edits);
    let Ok(v) = parse(&bytes, Mode::JsCompat) else {
        return;
    };
    if let Ok(id) = validate(&v) {
        assert_eq!(
            id,
            f.id,
            "an edited message with another id validated: {}",
            String::from_utf8_lossy(&bytes)
        );
        // The value may still differ where the encoding cannot tell (`1e999` for `null`).
        assert_eq!(
            to_signing_units(&v),
            to_signing_units(&Value::Object(f.msg.clone())),
            "an edited message with another encoding validated"
        );
    }
}

fn content_trip(json: &[u8]) {
    let f = fixture();
    let Ok(content) = parse(json, Mode::JsCompat) else {
        return;
    };
    let content_ok = check_content(&content).is_ok();
    let (msg, id) = sign_message(&f.keys, None, 1, 1.0, content, None);
    assert_eq!(id, message_id(&msg));
    let units = to_signing_units(&Value::Object(msg.clone()));
    let too_long = units.len() > MAX_MESSAGE_UNITS;
    // Validate the message as built, and as its compact and signing texts parse back.
    let compact =
        String::from_utf16(&to_compact_units(&Value::Object(msg.clone()))).expect("well-formed UTF-16");
    let signing = String::from_utf16(&units).expect("well-formed UTF-16");
    let reparsed = [
        Value::Object(msg),
        parse(compact.as_bytes(), Mode::JsCompat).expect("compact text parses"),
        parse(signing.as_bytes(), Mode::JsCompat).expect("signing text parses"),
    ];
    for v in &reparsed {
        match validate(v) {
            Ok(got) => {
                assert!(
                    content_ok && !too_long,
                    "accepted: content_ok {content_ok}, too_long {too_long}"
                );
                assert_eq!(got, id, "the id changed on a trip through text");
            }
            Err(MessageError::TooLong) => assert!(too_long, "TooLong for {} units", units.len()),
            Err(e) => assert!(
                !content_ok,
                "a signed message with valid content was refused: {e:?}"
            ),
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    match mode % 4 {
        0 => {
            if let Ok(v) = parse(rest, Mode::JsCompat) {
                let _ = validate(&v);
            }
        }
        1 => edited(&fixture().compact, rest),
        2 => edited(&fixture().signing, rest),
        _ => content_trip(rest),
    }
});
