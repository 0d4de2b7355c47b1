//! Bencode, the wire encoding of Bendy Butt messages: a value model (integers, byte strings,
//! lists, dictionaries), a strict decoder that accepts only the canonical form, and an encoder.
//!
//! Canonical form, as BEP 3 defines it and Bendy Butt relies on (a message's key is the hash of
//! its bytes, and its signature covers the bytes of its payload, so one value must have exactly
//! one encoding):
//! - integers `i<decimal>e`: no leading zeros, no `-0`, no `+`, no empty digits;
//! - byte strings `<length>:<bytes>`: the length in decimal without leading zeros;
//! - lists `l…e`;
//! - dictionaries `d…e`: byte-string keys, sorted as raw bytes, no key twice.
//!
//! The decoder never panics: every length is checked against the input that remains before
//! anything is allocated, nesting deeper than [`DEFAULT_MAX_DEPTH`] (or the limit given to
//! [`decode_with_depth`]) is refused, and integers must fit an `i64`. Because only the canonical
//! form is accepted, `encode(&decode(b)?) == b` for every accepted `b`.

use std::collections::BTreeMap;

/// Nesting depth [`decode`] accepts: a scalar at top level has depth 0, a list of scalars 1.
pub const DEFAULT_MAX_DEPTH: usize = 32;

/// A bencode dictionary. `BTreeMap` orders its keys as raw bytes, which is the order bencode
/// requires, so encoding a `Dict` is canonical by construction.
pub type Dict = BTreeMap<Vec<u8>, Value>;

/// A bencode value.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Value {
    Int(i64),
    Bytes(Vec<u8>),
    List(Vec<Value>),
    Dict(Dict),
}

impl Value {
    /// A byte-string value.
    pub fn bytes(b: impl Into<Vec<u8>>) -> Value {
        Value::Bytes(b.into())
    }

    /// A dictionary value from `(key, value)` pairs; a later pair replaces an earlier one with
    /// the same key.
    pub fn dict<K: Into<Vec<u8>>>(pairs: impl IntoIterator<Item = (K, Value)>) -> Value {
        Value::Dict(pairs.into_iter().map(|(k, v)| (k.into(), v)).collect())
    }

    pub fn as_int(&self) -> Option<i64> {
        match self {
            Value::Int(i) => Some(*i),
            _ => None,
        }
    }

    pub fn as_bytes(&self) -> Option<&[u8]> {
        match self {
            Value::Bytes(b) => Some(b),
            _ => None,
        }
    }

    pub fn as_list(&self) -> Option<&[Value]> {
        match self {
            Value::List(l) => Some(l),
            _ => None,
        }
    }

    pub fn as_dict(&self) -> Option<&Dict> {
        match self {
            Value::Dict(d) => Some(d),
            _ => None,
        }
    }

    /// What kind of value this is, for error messages: `integer`, `byte string`, `list` or
    /// `dictionary`.
    pub fn kind(&self) -> &'static str {
        match self {
            Value::Int(_) => "integer",
            Value::Bytes(_) => "byte string",
            Value::List(_) => "list",
            Value::Dict(_) => "dictionary",
        }
    }

    /// The canonical encoding of this value.
    pub fn encode(&self) -> Vec<u8> {
        encode(self)
    }
}

impl std::fmt::Debug for Value {
    /// Byte strings print as text when they are printable ASCII, else as hex.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Value::Int(i) => write!(f, "{i}"),
            Value::Bytes(b) => {
                if b.iter().all(|c| (0x20..0x7f).contains(c)) {
                    write!(f, "{:?}", String::from_utf8_lossy(b))
                } else {
                    write!(f, "0x{}", hex::encode(b))
                }
            }
            Value::List(l) => f.debug_list().entries(l).finish(),
            Value::Dict(d) => f
                .debug_map()
                .entries(d.iter().map(|(k, v)| (Value::Bytes(k.clone()), v)))
                .finish(),
        }
    }
}

/// Why bytes are not canonical bencode. `at` is the byte offset of the problem.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BencodeError {
    #[error("bencode: input ends at byte {at} where {expected} was expected")]
    UnexpectedEnd { at: usize, expected: &'static str },
    #[error("bencode: byte 0x{byte:02x} at {at} does not start a value (expected i, l, d or a digit)")]
    InvalidValueStart { at: usize, byte: u8 },
    #[error("bencode: byte 0x{byte:02x} at {at} is not allowed in {context}")]
    UnexpectedByte {
        at: usize,
        byte: u8,
        context: &'static str,
    },
    #[error("bencode: integer at {at} has no digits")]
    EmptyInteger { at: usize },
    #[error("bencode: integer at {at} has a leading zero")]
    IntegerLeadingZero { at: usize },
    #[error("bencode: integer at {at} is -0")]
    NegativeZero { at: usize },
    #[error("bencode: integer at {at} does not fit a signed 64-bit integer")]
    IntegerOutOfRange { at: usize },
    #[error("bencode: byte-string length at {at} has a leading zero")]
    LengthLeadingZero { at: usize },
    #[error("bencode: byte-string length at {at} is too large to represent")]
    LengthOverflow { at: usize },
    #[error("bencode: byte string at {at} declares {len} bytes but only {remaining} remain")]
    LengthExceedsInput { at: usize, len: usize, remaining: usize },
    #[error("bencode: dictionary key at {at} is a {found}, not a byte string")]
    KeyNotByteString { at: usize, found: &'static str },
    #[error("bencode: dictionary key at {at} is not greater than the previous key (keys must be sorted)")]
    UnsortedKeys { at: usize },
    #[error("bencode: dictionary key at {at} repeats the previous key")]
    DuplicateKey { at: usize },
    #[error("bencode: value at {at} is nested deeper than the limit of {limit}")]
    TooDeep { at: usize, limit: usize },
    #[error("bencode: {remaining} bytes follow the value that ends at {at}")]
    TrailingBytes { at: usize, remaining: usize },
}

/// Decodes exactly one canonical value that spans all of `input`, nesting at most
/// [`DEFAULT_MAX_DEPTH`] deep.
pub fn decode(input: &[u8]) -> Result<Value, BencodeError> {
    decode_with_depth(input, DEFAULT_MAX_DEPTH)
}

/// [`decode`] with a nesting limit of `max_depth`.
pub fn decode_with_depth(input: &[u8], max_depth: usize) -> Result<Value, BencodeError> {
    let (value, end) = decode_prefix(input, max_depth)?;
    if end != input.len() {
        return Err(BencodeError::TrailingBytes {
            at: end,
            remaining: input.len() - end,
        });
    }
    Ok(value)
}

/// Decodes one canonical value at the start of `input` and returns it with the number of bytes
/// it took; what follows is not looked at.
pub fn decode_prefix(input: &[u8], max_depth: usize) -> Result<(Value, usize), BencodeError> {
    let mut d = Decoder {
        input,
        pos: 0,
        max_depth,
    };
    let v = d.value(0)?;
    Ok((v, d.pos))
}

struct Decoder<'a> {
    input: &'a [u8],
    pos: usize,
    max_depth: usize,
}

impl Decoder<'_> {
    fn peek(&self, expected: &'static str) -> Result<u8, BencodeError> {
        self.input
            .get(self.pos)
            .copied()
            .ok_or(BencodeError::UnexpectedEnd {
                at: self.pos,
                expected,
            })
    }

    fn value(&mut self, depth: usize) -> Result<Value, BencodeError> {
        let start = self.pos;
        match self.peek("a value")? {
            b'i' => self.integer().map(Value::Int),
            b'0'..=b'9' => self.byte_string().map(Value::Bytes),
            b'l' | b'd' if depth >= self.max_depth => Err(BencodeError::TooDeep {
                at: start,
                limit: self.max_depth,
            }),
            b'l' => {
                self.pos += 1;
                let mut items = Vec::new();
                while self.peek("a list item or 'e'")? != b'e' {
                    items.push(self.value(depth + 1)?);
                }
                self.pos += 1;
                Ok(Value::List(items))
            }
            b'd' => {
                self.pos += 1;
                let mut dict = Dict::new();
                let mut last: Option<Vec<u8>> = None;
                loop {
                    let key_at = self.pos;
                    let b = self.peek("a dictionary key or 'e'")?;
                    if b == b'e' {
                        break;
                    }
                    if !b.is_ascii_digit() {
                        let found = match b {
                            b'i' => "integer",
                            b'l' => "list",
                            b'd' => "dictionary",
                            _ => return Err(BencodeError::InvalidValueStart { at: key_at, byte: b }),
                        };
                        return Err(BencodeError::KeyNotByteString { at: key_at, found });
                    }
                    let key = self.byte_string()?;
                    if let Some(prev) = &last {
                        match key.as_slice().cmp(prev.as_slice()) {
                            std::cmp::Ordering::Less => {
                                return Err(BencodeError::UnsortedKeys { at: key_at })
                            }
                            std::cmp::Ordering::Equal => {
                                return Err(BencodeError::DuplicateKey { at: key_at })
                            }
                            std::cmp::Ordering::Greater => {}
                        }
                    }
                    let value = self.value(depth + 1)?;
                    last = Some(key.clone());
                    dict.insert(key, value);
                }
                self.pos += 1;
                Ok(Value::Dict(dict))
            }
            byte => Err(BencodeError::InvalidValueStart { at: start, byte }),
        }
    }

    /// `i<digits>e` at `self.pos`.
    fn integer(&mut self) -> Result<i64, BencodeError> {
        let start = self.pos;
        self.pos += 1; // 'i'
        let negative = self.peek("an integer")? == b'-';
        if negative {
            self.pos += 1;
        }
        let digits_at = self.pos;
        // Accumulate negatively so that i64::MIN is representable.
        let mut acc: i64 = 0;
        loop {
            let b = self.peek("a digit or 'e'")?;
            match b {
                b'0'..=b'9' => {
                    if self.pos > digits_at && self.input[digits_at] == b'0' {
                        return Err(BencodeError::IntegerLeadingZero { at: start });
                    }
                    let d = i64::from(b - b'0');
                    acc = acc
                        .checked_mul(10)
                        .and_then(|a| a.checked_sub(d))
                        .ok_or(BencodeError::IntegerOutOfRange { at: start })?;
                    self.pos += 1;
                }
                b'e' => break,
                byte => {
                    return Err(BencodeError::UnexpectedByte {
                        at: self.pos,
                        byte,
                        context: "an integer",
                    })
                }
            }
        }
        if self.pos == digits_at {
            return Err(BencodeError::EmptyInteger { at: start });
        }
        self.pos += 1; // 'e'
        if negative {
            if acc == 0 {
                return Err(BencodeError::NegativeZero { at: start });
            }
            Ok(acc)
        } else {
            acc.checked_neg()
                .ok_or(BencodeError::IntegerOutOfRange { at: start })
        }
    }

    /// `<length>:<bytes>` at `self.pos`; the length is checked against the remaining input
    /// before the bytes are copied.
    fn byte_string(&mut self) -> Result<Vec<u8>, BencodeError> {
        let start = self.pos;
        let mut len: usize = 0;
        loop {
            let b = self.peek("a length digit or ':'")?;
            match b {
                b'0'..=b'9' => {
                    if self.pos > start && self.input[start] == b'0' {
                        return Err(BencodeError::LengthLeadingZero { at: start });
                    }
                    len = len
                        .checked_mul(10)
                        .and_then(|l| l.checked_add(usize::from(b - b'0')))
                        .ok_or(BencodeError::LengthOverflow { at: start })?;
                    self.pos += 1;
                }
                b':' => break,
                byte => {
                    return Err(BencodeError::UnexpectedByte {
                        at: self.pos,
                        byte,
                        context: "a byte-string length",
                    })
                }
            }
        }
        self.pos += 1; // ':'
        let remaining = self.input.len() - self.pos;
        if len > remaining {
            return Err(BencodeError::LengthExceedsInput {
                at: start,
                len,
                remaining,
            });
        }
        let bytes = self.input[self.pos..self.pos + len].to_vec();
        self.pos += len;
        Ok(bytes)
    }
}

/// The canonical encoding of `value`.
pub fn encode(value: &Value) -> Vec<u8> {
    let mut out = Vec::with_capacity(encoded_len(value));
    encode_into(value, &mut out);
    out
}

/// Appends the canonical encoding of `value` to `out`.
pub fn encode_into(value: &Value, out: &mut Vec<u8>) {
    match value {
        Value::Int(i) => {
            out.push(b'i');
            out.extend_from_slice(i.to_string().as_bytes());
            out.push(b'e');
        }
        Value::Bytes(b) => encode_bytes_into(b, out),
        Value::List(items) => {
            out.push(b'l');
            for item in items {
                encode_into(item, out);
            }
            out.push(b'e');
        }
        Value::Dict(dict) => {
            out.push(b'd');
            for (k, v) in dict {
                encode_bytes_into(k, out);
                encode_into(v, out);
            }
            out.push(b'e');
        }
    }
}

fn encode_bytes_into(b: &[u8], out: &mut Vec<u8>) {
    out.extend_from_slice(b.len().to_string().as_bytes());
    out.push(b':');
    out.extend_from_slice(b);
}

fn decimal_len(mut n: u64) -> usize {
    let mut len = 1;
    while n >= 10 {
        n /= 10;
        len += 1;
    }
    len
}

/// The length of `encode(value)`, computed without encoding.
pub fn encoded_len(value: &Value) -> usize {
    match value {
        Value::Int(i) => 2 + usize::from(*i < 0) + decimal_len(i.unsigned_abs()),
        Value::Bytes(b) => decimal_len(b.len() as u64) + 1 + b.len(),
        Value::List(items) => 2 + items.iter().map(encoded_len).sum::<usize>(),
        Value::Dict(dict) => {
            2 + dict
                .iter()
                .map(|(k, v)| decimal_len(k.len() as u64) + 1 + k.len() + encoded_len(v))
                .sum::<usize>()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(input: &[u8]) -> Value {
        let v = decode(input).unwrap_or_else(|e| panic!("{:?}: {e}", String::from_utf8_lossy(input)));
        assert_eq!(encode(&v), input);
        assert_eq!(encoded_len(&v), input.len());
        v
    }

    fn err(input: &[u8]) -> BencodeError {
        decode(input).expect_err(&String::from_utf8_lossy(input))
    }

    #[test]
    fn integers() {
        assert_eq!(ok(b"i0e"), Value::Int(0));
        assert_eq!(ok(b"i-7e"), Value::Int(-7));
        assert_eq!(ok(b"i10e"), Value::Int(10));
        assert_eq!(ok(b"i9223372036854775807e"), Value::Int(i64::MAX));
        assert_eq!(ok(b"i-9223372036854775808e"), Value::Int(i64::MIN));
        assert_eq!(
            err(b"i9223372036854775808e"),
            BencodeError::IntegerOutOfRange { at: 0 }
        );
        assert_eq!(
            err(b"i-9223372036854775809e"),
            BencodeError::IntegerOutOfRange { at: 0 }
        );
        assert_eq!(err(b"i-0e"), BencodeError::NegativeZero { at: 0 });
        assert_eq!(err(b"i03e"), BencodeError::IntegerLeadingZero { at: 0 });
        assert_eq!(err(b"i-03e"), BencodeError::IntegerLeadingZero { at: 0 });
        assert_eq!(err(b"i00e"), BencodeError::IntegerLeadingZero { at: 0 });
        assert_eq!(err(b"ie"), BencodeError::EmptyInteger { at: 0 });
        assert_eq!(err(b"i-e"), BencodeError::EmptyInteger { at: 0 });
        assert!(matches!(err(b"i+1e"), BencodeError::UnexpectedByte { at: 1, .. }));
        assert!(matches!(err(b"i1"), BencodeError::UnexpectedEnd { at: 2, .. }));
    }

    #[test]
    fn byte_strings() {
        assert_eq!(ok(b"0:"), Value::bytes(b""));
        assert_eq!(ok(b"4:spam"), Value::bytes(b"spam"));
        assert_eq!(err(b"04:spam"), BencodeError::LengthLeadingZero { at: 0 });
        assert_eq!(err(b"00:"), BencodeError::LengthLeadingZero { at: 0 });
        assert_eq!(
            err(b"5:spam"),
            BencodeError::LengthExceedsInput {
                at: 0,
                len: 5,
                remaining: 4
            }
        );
        assert_eq!(
            err(b"99999999999999999999999999:x"),
            BencodeError::LengthOverflow { at: 0 }
        );
        // A huge but representable length is refused before any allocation.
        assert!(matches!(
            err(b"18446744073709551615:x"),
            BencodeError::LengthExceedsInput { .. }
        ));
        assert!(matches!(err(b"4"), BencodeError::UnexpectedEnd { at: 1, .. }));
        assert!(matches!(err(b"4x"), BencodeError::UnexpectedByte { at: 1, .. }));
    }

    #[test]
    fn lists_and_dicts() {
        assert_eq!(ok(b"le"), Value::List(vec![]));
        assert_eq!(ok(b"de"), Value::Dict(Dict::new()));
        let v = ok(b"d1:ai1e1:bl1:xee");
        assert_eq!(
            v,
            Value::dict([("a", Value::Int(1)), ("b", Value::List(vec![Value::bytes("x")]))])
        );
        // Keys sort as raw bytes: "B" (0x42) < "a" (0x61) < "aa" < "b".
        ok(b"d1:Bi0e1:ai0e2:aai0e1:bi0ee");
        assert_eq!(err(b"d1:bi0e1:ai0ee"), BencodeError::UnsortedKeys { at: 7 });
        assert_eq!(err(b"d1:ai0e1:ai0ee"), BencodeError::DuplicateKey { at: 7 });
        assert_eq!(
            err(b"di1ei2ee"),
            BencodeError::KeyNotByteString {
                at: 1,
                found: "integer"
            }
        );
        assert!(matches!(
            err(b"d1:ae"),
            BencodeError::InvalidValueStart { at: 4, .. }
        ));
        assert!(matches!(err(b"l"), BencodeError::UnexpectedEnd { at: 1, .. }));
        assert_eq!(err(b"lei0e"), BencodeError::TrailingBytes { at: 2, remaining: 3 });
        assert!(matches!(err(b""), BencodeError::UnexpectedEnd { at: 0, .. }));
        assert!(matches!(
            err(b"x"),
            BencodeError::InvalidValueStart { at: 0, byte: b'x' }
        ));
    }

    #[test]
    fn depth_limit() {
        let nested = |n: usize| [vec![b'l'; n], vec![b'e'; n]].concat();
        assert!(decode_with_depth(&nested(3), 3).is_ok());
        assert_eq!(
            decode_with_depth(&nested(4), 3),
            Err(BencodeError::TooDeep { at: 3, limit: 3 })
        );
        assert!(decode(&nested(DEFAULT_MAX_DEPTH)).is_ok());
        assert!(matches!(
            decode(&nested(100_000)),
            Err(BencodeError::TooDeep { .. })
        ));
    }

    #[test]
    fn prefix_reports_consumed_length() {
        let (v, n) = decode_prefix(b"i5eXYZ", 4).unwrap();
        assert_eq!((v, n), (Value::Int(5), 3));
    }

    #[test]
    fn debug_is_readable() {
        let v = Value::dict([("k", Value::List(vec![Value::bytes(vec![0u8, 1]), Value::Int(-1)]))]);
        assert_eq!(format!("{v:?}"), r#"{"k": [0x0001, -1]}"#);
    }
}
