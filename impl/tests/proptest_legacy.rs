//! The legacy JSON parser and serializer on arbitrary input: never a panic; what parses
//! re-encodes to a fixed point (parse → stringify → parse gives the same value and text); and
//! message validation of arbitrary JSON never panics.

use proptest::prelude::*;
use ssb_impl::legacy::message::check_message;
use ssb_impl::legacy::{parse, to_signing_units, Mode};

fn json_like() -> impl Strategy<Value = String> {
    let leaf = prop_oneof![
        Just("null".to_string()),
        Just("true".to_string()),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(|f| format!("{f:e}")),
        "[a-z0-9\\\\\"\u{1}-\u{1f}é🌍]{0,8}".prop_map(|s| serde_json::to_string(&s).unwrap()),
        (0xd800u32..0xe000).prop_map(|u| format!("\"\\u{u:04x}\"")),
    ];
    leaf.prop_recursive(4, 32, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..5).prop_map(|v| format!("[{}]", v.join(","))),
            prop::collection::vec(("[a-c0-3]{1,3}", inner), 0..5).prop_map(|v| {
                let fields: Vec<String> = v.into_iter().map(|(k, x)| format!("\"{k}\": {x}")).collect();
                format!("{{{}}}", fields.join(", "))
            }),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn parser_never_panics_on_bytes(bytes in prop::collection::vec(any::<u8>(), 0..256)) {
        let _ = parse(&bytes, Mode::JsCompat);
        let _ = parse(&bytes, Mode::Strict);
    }

    #[test]
    fn stringify_is_a_fixed_point(text in json_like()) {
        let v = parse(text.as_bytes(), Mode::JsCompat).expect("generated JSON parses");
        let once = to_signing_units(&v);
        let reparsed = parse(String::from_utf16(&once).unwrap().as_bytes(), Mode::JsCompat).unwrap();
        prop_assert_eq!(&to_signing_units(&reparsed), &once);
        // -0 and 0 print alike, so compare the values through their encoding only.
    }

    #[test]
    fn validation_never_panics(text in json_like()) {
        let v = parse(text.as_bytes(), Mode::JsCompat).unwrap();
        let _ = check_message(&v, None);
    }
}

#[test]
fn deep_nesting_is_an_error_not_a_stack_overflow() {
    let deep = "[".repeat(100_000);
    assert!(parse(deep.as_bytes(), Mode::JsCompat).is_err());
    let ok = format!("{}{}", "[".repeat(500), "]".repeat(500));
    assert!(parse(ok.as_bytes(), Mode::JsCompat).is_ok());
}
