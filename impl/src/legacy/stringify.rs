//! `JSON.stringify(value, null, 2)` byte for byte, as UTF-16 code units: the signing encoding of
//! legacy messages. Numbers are formatted as ECMAScript's Number::toString (via `ryu-js`;
//! `1e+21`, `5e-324`, −0 → `0`, non-finite → `null`); strings escape `"` `\` and control
//! characters (`\b \f \n \r \t`, others `\u00xx`) and, as JSON.stringify has since ES2019, lone
//! surrogates as `\udxxx`; everything else, non-ASCII included, is written as is.

use super::value::{JsString, Value};

/// `JSON.stringify(v, null, 2)` as UTF-16 code units.
pub fn to_signing_units(v: &Value) -> Vec<u16> {
    let mut out = Vec::with_capacity(256);
    write_value(&mut out, v, 0, Some(2));
    out
}

/// `JSON.stringify(o, null, 2)` of an object, without wrapping it in a [`Value`] first.
pub fn object_signing_units(o: &super::value::Object) -> Vec<u16> {
    let mut out = Vec::with_capacity(1024);
    write_object(&mut out, o, 0, Some(2));
    out
}

/// `JSON.stringify(v)` (no indentation) as UTF-16 code units.
pub fn to_compact_units(v: &Value) -> Vec<u16> {
    let mut out = Vec::with_capacity(256);
    write_value(&mut out, v, 0, None);
    out
}

fn push_ascii(out: &mut Vec<u16>, s: &str) {
    out.extend(s.bytes().map(u16::from));
}

fn newline(out: &mut Vec<u16>, level: usize, indent: Option<usize>) {
    if let Some(n) = indent {
        out.push(u16::from(b'\n'));
        out.extend(std::iter::repeat_n(u16::from(b' '), level * n));
    }
}

/// ECMAScript Number::toString for a finite double; `null` for NaN and the infinities.
pub fn number_to_string(n: f64) -> String {
    if !n.is_finite() {
        "null".into()
    } else if n == 0.0 {
        "0".into()
    } else {
        ryu_js::Buffer::new().format_finite(n).to_string()
    }
}

fn write_string(out: &mut Vec<u16>, s: &JsString) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    out.push(u16::from(b'"'));
    let units = s.units();
    let mut i = 0;
    while i < units.len() {
        let u = units[i];
        match u {
            0x22 => push_ascii(out, "\\\""),
            0x5c => push_ascii(out, "\\\\"),
            0x08 => push_ascii(out, "\\b"),
            0x0c => push_ascii(out, "\\f"),
            0x0a => push_ascii(out, "\\n"),
            0x0d => push_ascii(out, "\\r"),
            0x09 => push_ascii(out, "\\t"),
            0xd800..=0xdbff if matches!(units.get(i + 1), Some(0xdc00..=0xdfff)) => {
                out.push(u);
                out.push(units[i + 1]);
                i += 1;
            }
            u if u < 0x20 || (0xd800..=0xdfff).contains(&u) => {
                push_ascii(out, "\\u");
                for shift in [12, 8, 4, 0] {
                    out.push(u16::from(HEX[usize::from((u >> shift) & 0xf)]));
                }
            }
            u => out.push(u),
        }
        i += 1;
    }
    out.push(u16::from(b'"'));
}

fn write_value(out: &mut Vec<u16>, v: &Value, level: usize, indent: Option<usize>) {
    match v {
        Value::Null => push_ascii(out, "null"),
        Value::Bool(true) => push_ascii(out, "true"),
        Value::Bool(false) => push_ascii(out, "false"),
        Value::Number(n) => push_ascii(out, &number_to_string(*n)),
        Value::String(s) => write_string(out, s),
        Value::Array(items) if items.is_empty() => push_ascii(out, "[]"),
        Value::Array(items) => {
            out.push(u16::from(b'['));
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(u16::from(b','));
                }
                newline(out, level + 1, indent);
                write_value(out, item, level + 1, indent);
            }
            newline(out, level, indent);
            out.push(u16::from(b']'));
        }
        Value::Object(o) => write_object(out, o, level, indent),
    }
}

fn write_object(out: &mut Vec<u16>, o: &super::value::Object, level: usize, indent: Option<usize>) {
    match o {
        o if o.is_empty() => push_ascii(out, "{}"),
        o => {
            out.push(u16::from(b'{'));
            for (i, (k, item)) in o.iter().enumerate() {
                if i > 0 {
                    out.push(u16::from(b','));
                }
                newline(out, level + 1, indent);
                write_string(out, k);
                out.push(u16::from(b':'));
                if indent.is_some() {
                    out.push(u16::from(b' '));
                }
                write_value(out, item, level + 1, indent);
            }
            newline(out, level, indent);
            out.push(u16::from(b'}'));
        }
    }
}

/// The UTF-16 units as Rust text (lone surrogates become U+FFFD): for display only.
pub fn units_to_string_lossy(units: &[u16]) -> String {
    String::from_utf16_lossy(units)
}

/// The UTF-16 units as UTF-8 bytes when well-formed (lone surrogates as WTF-8 otherwise cannot
/// be sent as UTF-8 text; callers decide).
pub fn units_to_utf8(units: &[u16]) -> Option<String> {
    String::from_utf16(units).ok()
}
