//! Parsing JSON text into the legacy value model, in one of two modes:
//!
//! - [`Mode::JsCompat`] accepts exactly what `JSON.parse` accepts: duplicate keys (first
//!   position, last value), `\u` escapes of lone surrogates, numbers that round to ±Infinity or
//!   −0. This is what the JavaScript stack (ssb-validate) admits into feeds.
//! - [`Mode::Strict`] is the legacy data model of the SSB spec (as legacy-value-testdata tests
//!   it): the same grammar, but duplicate keys, lone surrogates and numbers that round to
//!   ±Infinity or −0 are errors.
//!
//! The input must be UTF-8. Nesting is limited to [`MAX_DEPTH`]: a message within the 8192-unit
//! size limit cannot nest deeper than about 90 levels, so the limit never refuses a valid message
//! while it bounds the recursion on hostile input.

use super::value::{JsString, Object, Value};

/// Deepest nesting accepted.
pub const MAX_DEPTH: usize = 1024;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Strict,
    JsCompat,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParseErrorKind {
    InvalidUtf8,
    /// Not JSON at all; the text says what was expected.
    Syntax(&'static str),
    DuplicateKey,
    LoneSurrogate,
    /// A number that rounds to ±Infinity or −0 (strict mode).
    ForbiddenNumber,
    TooDeep,
}

/// Why a text was refused, and where (a byte offset).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("{kind:?} at byte {offset}")]
pub struct ParseError {
    pub kind: ParseErrorKind,
    pub offset: usize,
}

/// Parses one JSON value, surrounded by optional white space, from `input`.
pub fn parse(input: &[u8], mode: Mode) -> Result<Value, ParseError> {
    let text = std::str::from_utf8(input).map_err(|e| ParseError {
        kind: ParseErrorKind::InvalidUtf8,
        offset: e.valid_up_to(),
    })?;
    parse_str(text, mode)
}

/// Parses one JSON value from text.
pub fn parse_str(text: &str, mode: Mode) -> Result<Value, ParseError> {
    let mut p = Parser {
        s: text.as_bytes(),
        text,
        pos: 0,
        mode,
    };
    p.ws();
    let v = p.value(0)?;
    p.ws();
    if p.pos != p.s.len() {
        return Err(p.err(ParseErrorKind::Syntax("end of input")));
    }
    Ok(v)
}

struct Parser<'a> {
    s: &'a [u8],
    text: &'a str,
    pos: usize,
    mode: Mode,
}

impl Parser<'_> {
    fn err(&self, kind: ParseErrorKind) -> ParseError {
        ParseError {
            kind,
            offset: self.pos,
        }
    }

    fn ws(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.s.get(self.pos) {
            self.pos += 1;
        }
    }

    fn peek(&self) -> Option<u8> {
        self.s.get(self.pos).copied()
    }

    fn expect_word(&mut self, word: &'static str, v: Value) -> Result<Value, ParseError> {
        if self.s[self.pos..].starts_with(word.as_bytes()) {
            self.pos += word.len();
            Ok(v)
        } else {
            Err(self.err(ParseErrorKind::Syntax("a JSON value")))
        }
    }

    fn value(&mut self, depth: usize) -> Result<Value, ParseError> {
        match self.peek() {
            Some(b'{') => self.object(depth + 1),
            Some(b'[') => self.array(depth + 1),
            Some(b'"') => Ok(Value::String(self.string()?)),
            Some(b't') => self.expect_word("true", Value::Bool(true)),
            Some(b'f') => self.expect_word("false", Value::Bool(false)),
            Some(b'n') => self.expect_word("null", Value::Null),
            Some(b'-' | b'0'..=b'9') => self.number(),
            _ => Err(self.err(ParseErrorKind::Syntax("a JSON value"))),
        }
    }

    fn object(&mut self, depth: usize) -> Result<Value, ParseError> {
        if depth > MAX_DEPTH {
            return Err(self.err(ParseErrorKind::TooDeep));
        }
        self.pos += 1;
        let mut obj = Object::new();
        self.ws();
        if self.peek() == Some(b'}') {
            self.pos += 1;
            return Ok(Value::Object(obj));
        }
        loop {
            self.ws();
            if self.peek() != Some(b'"') {
                return Err(self.err(ParseErrorKind::Syntax("a string key")));
            }
            let key_at = self.pos;
            let key = self.string()?;
            self.ws();
            if self.peek() != Some(b':') {
                return Err(self.err(ParseErrorKind::Syntax("':'")));
            }
            self.pos += 1;
            self.ws();
            let v = self.value(depth)?;
            if obj.insert(key, v) && self.mode == Mode::Strict {
                return Err(ParseError {
                    kind: ParseErrorKind::DuplicateKey,
                    offset: key_at,
                });
            }
            self.ws();
            match self.peek() {
                Some(b',') => self.pos += 1,
                Some(b'}') => {
                    self.pos += 1;
                    return Ok(Value::Object(obj));
                }
                _ => return Err(self.err(ParseErrorKind::Syntax("',' or '}'"))),
            }
        }
    }

    fn array(&mut self, depth: usize) -> Result<Value, ParseError> {
        if depth > MAX_DEPTH {
            return Err(self.err(ParseErrorKind::TooDeep));
        }
        self.pos += 1;
        let mut items = Vec::new();
        self.ws();
        if self.peek() == Some(b']') {
            self.pos += 1;
            return Ok(Value::Array(items));
        }
        loop {
            self.ws();
            items.push(self.value(depth)?);
            self.ws();
            match self.peek() {
                Some(b',') => self.pos += 1,
                Some(b']') => {
                    self.pos += 1;
                    return Ok(Value::Array(items));
                }
                _ => return Err(self.err(ParseErrorKind::Syntax("',' or ']'"))),
            }
        }
    }

    fn hex4(&mut self) -> Result<u16, ParseError> {
        let digits = self
            .s
            .get(self.pos..self.pos + 4)
            .ok_or(self.err(ParseErrorKind::Syntax("4 hex digits")))?;
        let mut v = 0u16;
        for &d in digits {
            let n = (d as char)
                .to_digit(16)
                .ok_or(self.err(ParseErrorKind::Syntax("4 hex digits")))?;
            v = v * 16 + n as u16;
        }
        self.pos += 4;
        Ok(v)
    }

    fn string(&mut self) -> Result<JsString, ParseError> {
        let at = self.pos;
        let s = self.string_units()?;
        // UTF-8 text cannot spell a lone surrogate, so one here came from `\u` escapes.
        if self.mode == Mode::Strict && s.has_lone_surrogate() {
            return Err(ParseError {
                kind: ParseErrorKind::LoneSurrogate,
                offset: at,
            });
        }
        Ok(s)
    }

    fn string_units(&mut self) -> Result<JsString, ParseError> {
        self.pos += 1; // the opening quote
        let mut out: Vec<u16> = Vec::new();
        loop {
            let start = self.pos;
            // Copy a run of ordinary characters at once.
            while let Some(&b) = self.s.get(self.pos) {
                if b == b'"' || b == b'\\' || b < 0x20 {
                    break;
                }
                self.pos += 1;
            }
            if start < self.pos {
                // The run ends on an ASCII byte, so it is a whole UTF-8 slice.
                out.extend(self.text[start..self.pos].encode_utf16());
            }
            match self.peek() {
                None => return Err(self.err(ParseErrorKind::Syntax("closing '\"'"))),
                Some(b'"') => {
                    self.pos += 1;
                    return Ok(JsString(out));
                }
                Some(b'\\') => {
                    self.pos += 1;
                    let c = self.peek().ok_or(self.err(ParseErrorKind::Syntax("an escape")))?;
                    self.pos += 1;
                    let unit = match c {
                        b'"' => 0x22,
                        b'\\' => 0x5c,
                        b'/' => 0x2f,
                        b'b' => 0x08,
                        b'f' => 0x0c,
                        b'n' => 0x0a,
                        b'r' => 0x0d,
                        b't' => 0x09,
                        b'u' => self.hex4()?,
                        _ => {
                            self.pos -= 1;
                            return Err(self.err(ParseErrorKind::Syntax("a valid escape")));
                        }
                    };
                    out.push(unit);
                }
                Some(_) => {
                    return Err(self.err(ParseErrorKind::Syntax("no raw control character in a string")))
                }
            }
        }
    }

    fn number(&mut self) -> Result<Value, ParseError> {
        let start = self.pos;
        if self.peek() == Some(b'-') {
            self.pos += 1;
        }
        match self.peek() {
            Some(b'0') => self.pos += 1,
            Some(b'1'..=b'9') => {
                while let Some(b'0'..=b'9') = self.peek() {
                    self.pos += 1;
                }
            }
            _ => return Err(self.err(ParseErrorKind::Syntax("a digit"))),
        }
        if self.peek() == Some(b'.') {
            self.pos += 1;
            if !matches!(self.peek(), Some(b'0'..=b'9')) {
                return Err(self.err(ParseErrorKind::Syntax("a digit after '.'")));
            }
            while let Some(b'0'..=b'9') = self.peek() {
                self.pos += 1;
            }
        }
        if let Some(b'e' | b'E') = self.peek() {
            self.pos += 1;
            if let Some(b'+' | b'-') = self.peek() {
                self.pos += 1;
            }
            if !matches!(self.peek(), Some(b'0'..=b'9')) {
                return Err(self.err(ParseErrorKind::Syntax("a digit in the exponent")));
            }
            while let Some(b'0'..=b'9') = self.peek() {
                self.pos += 1;
            }
        }
        // The grammar above is a subset of what Rust's (correctly rounding) parser accepts.
        let n: f64 = self.text[start..self.pos].parse().map_err(|_| ParseError {
            kind: ParseErrorKind::Syntax("a number"),
            offset: start,
        })?;
        if self.mode == Mode::Strict && (n.is_infinite() || (n == 0.0 && n.is_sign_negative())) {
            return Err(ParseError {
                kind: ParseErrorKind::ForbiddenNumber,
                offset: start,
            });
        }
        Ok(Value::Number(n))
    }
}
