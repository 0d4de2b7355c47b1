//! Fuzzes the legacy JSON parser (`ssb_impl::legacy::parse`) and the signing encoding
//! (`to_signing_units`, `JSON.stringify(v, null, 2)`) with arbitrary bytes.
//!
//! Invariants:
//! - no panic, in either mode;
//! - `Mode::Strict` accepts a subset of what `Mode::JsCompat` accepts, with the same value (the
//!   same signing encoding);
//! - when JsCompat parsing succeeds, the signing encoding `s1` is well-formed UTF-16 (lone
//!   surrogates are escaped), and parsing `s1` again gives a value whose signing encoding is
//!   `s1` again (a fixed point after one step: `Infinity` → `null`, `-0` → `0`, `1.0` → `1`,
//!   duplicate keys collapse), and the same holds for the compact encoding (`JSON.stringify(v)`);
//! - the encodings never contain a duplicate key, −0 or an infinite number, so Strict parses them
//!   too unless the value holds a lone surrogate (which Strict refuses, and only then);
//! - when Strict fails on a fault both modes refuse (syntax, UTF-8, depth), JsCompat fails with
//!   the same error;
//! - a failing parse reports an offset within the input.

#![no_main]

use libfuzzer_sys::fuzz_target;
use ssb_impl::legacy::{parse, to_compact_units, to_signing_units, Mode, ParseErrorKind, Value};

fn has_lone_surrogate(v: &Value) -> bool {
    match v {
        Value::String(s) => s.has_lone_surrogate(),
        Value::Array(items) => items.iter().any(has_lone_surrogate),
        Value::Object(o) => o
            .iter()
            .any(|(k, v)| k.has_lone_surrogate() || has_lone_surrogate(v)),
        _ => false,
    }
}

/// Re-parses an encoding and checks it is a fixed point of `encode`.
fn check_fixed_point(units: &[u16], encode: fn(&Value) -> Vec<u16>, what: &str) -> Value {
    let text = String::from_utf16(units).unwrap_or_else(|e| panic!("{what} is not well-formed UTF-16: {e}"));
    let v2 = parse(text.as_bytes(), Mode::JsCompat)
        .unwrap_or_else(|e| panic!("{what} does not parse again: {e}\n{text}"));
    assert_eq!(
        encode(&v2),
        units,
        "{what} is not stable under parse ∘ stringify\n{text}"
    );
    // Strict refuses an encoding only for a lone surrogate (the encoding has no duplicate key, no
    // −0 and no infinite number).
    match parse(text.as_bytes(), Mode::Strict) {
        Ok(v3) => {
            assert!(
                !has_lone_surrogate(&v2),
                "Strict accepted a lone surrogate\n{text}"
            );
            assert_eq!(
                encode(&v3),
                units,
                "Strict and JsCompat disagree on {what}\n{text}"
            );
        }
        Err(e) => {
            assert_eq!(
                e.kind,
                ParseErrorKind::LoneSurrogate,
                "Strict refuses {what}: {e}\n{text}"
            );
            assert!(has_lone_surrogate(&v2), "LoneSurrogate without one\n{text}");
        }
    }
    v2
}

fuzz_target!(|data: &[u8]| {
    let compat = parse(data, Mode::JsCompat);
    let strict = parse(data, Mode::Strict);
    if let Err(e) = &compat {
        assert!(
            e.offset <= data.len(),
            "error offset {} beyond input {}",
            e.offset,
            data.len()
        );
    }
    if let Err(e) = &strict {
        assert!(
            e.offset <= data.len(),
            "error offset {} beyond input {}",
            e.offset,
            data.len()
        );
    }

    if let Ok(s) = &strict {
        let c = compat
            .as_ref()
            .unwrap_or_else(|e| panic!("Strict accepts, JsCompat refuses: {e}"));
        assert_eq!(
            to_signing_units(s),
            to_signing_units(c),
            "Strict and JsCompat values differ"
        );
    }
    if let Err(s) = &strict {
        // Both modes walk the same path until Strict meets a fault only it refuses; so when
        // Strict fails on a fault both refuse, JsCompat fails there too.
        let strict_only = matches!(
            s.kind,
            ParseErrorKind::DuplicateKey | ParseErrorKind::LoneSurrogate | ParseErrorKind::ForbiddenNumber
        );
        if !strict_only {
            assert_eq!(
                compat.as_ref().err(),
                Some(s),
                "Strict and JsCompat refuse differently"
            );
        }
    }

    let Ok(v) = compat else { return };
    let s1 = to_signing_units(&v);
    let v2 = check_fixed_point(&s1, to_signing_units, "signing encoding");
    let c1 = to_compact_units(&v);
    check_fixed_point(&c1, to_compact_units, "compact encoding");
    // Both encodings describe the same value.
    assert_eq!(
        to_compact_units(&v2),
        c1,
        "compact and signing encodings disagree"
    );
});
