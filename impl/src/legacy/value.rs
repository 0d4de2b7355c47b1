//! The legacy value model: the JSON values that classic SSB messages are made of, kept with
//! everything their signatures depend on. Strings are UTF-16 code units (a lone surrogate
//! survives, as in JavaScript); numbers are IEEE doubles; objects keep V8's property order:
//! integer-like keys (canonical array indices 0 ..= 2³² − 2) first in ascending numeric order,
//! then the other keys in insertion order.

/// A string as JavaScript holds it: UTF-16 code units, which need not be well-formed.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct JsString(pub Vec<u16>);

impl JsString {
    pub fn units(&self) -> &[u16] {
        &self.0
    }

    /// Length in UTF-16 code units (JavaScript's `.length`).
    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The string as Rust text, if it is well-formed UTF-16.
    pub fn as_string(&self) -> Option<String> {
        String::from_utf16(&self.0).ok()
    }

    /// The string as Rust text, lone surrogates replaced by U+FFFD.
    pub fn to_string_lossy(&self) -> String {
        String::from_utf16_lossy(&self.0)
    }

    pub fn eq_str(&self, s: &str) -> bool {
        self.0.iter().copied().eq(s.encode_utf16())
    }

    /// Whether it holds a surrogate code unit that is not part of a pair.
    pub fn has_lone_surrogate(&self) -> bool {
        char::decode_utf16(self.0.iter().copied()).any(|c| c.is_err())
    }

    /// If the string is a canonical array index (`0`, or no leading zero, value ≤ 2³² − 2),
    /// that index: V8 orders such keys first.
    pub fn array_index(&self) -> Option<u32> {
        let u = &self.0;
        if u.is_empty() || u.len() > 10 || (u.len() > 1 && u[0] == u16::from(b'0')) {
            return None;
        }
        let mut n: u64 = 0;
        for &c in u {
            if !(u16::from(b'0')..=u16::from(b'9')).contains(&c) {
                return None;
            }
            n = n * 10 + u64::from(c - u16::from(b'0'));
        }
        (n < u64::from(u32::MAX)).then_some(n as u32)
    }
}

impl From<&str> for JsString {
    fn from(s: &str) -> Self {
        JsString(s.encode_utf16().collect())
    }
}

impl std::fmt::Debug for JsString {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:?}", self.to_string_lossy())
    }
}

/// A JSON object in V8 property order. Lookup is linear: message objects are small, and order
/// must never depend on hashing.
#[derive(Clone, PartialEq, Default)]
pub struct Object {
    /// Integer-like keys, ascending.
    indexed: Vec<(u32, JsString, Value)>,
    /// Other keys, in insertion order.
    named: Vec<(JsString, Value)>,
}

impl Object {
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets `key`. An existing key keeps its position and takes the new value (as assignment
    /// and `JSON.parse` do); returns whether the key was already present.
    pub fn insert(&mut self, key: JsString, value: Value) -> bool {
        if let Some(i) = key.array_index() {
            match self.indexed.binary_search_by_key(&i, |e| e.0) {
                Ok(pos) => {
                    self.indexed[pos].2 = value;
                    true
                }
                Err(pos) => {
                    self.indexed.insert(pos, (i, key, value));
                    false
                }
            }
        } else if let Some(e) = self.named.iter_mut().find(|e| e.0 == key) {
            e.1 = value;
            true
        } else {
            self.named.push((key, value));
            false
        }
    }

    pub fn get(&self, key: &str) -> Option<&Value> {
        self.iter().find(|(k, _)| k.eq_str(key)).map(|(_, v)| v)
    }

    pub fn contains_key(&self, key: &str) -> bool {
        self.get(key).is_some()
    }

    pub fn len(&self) -> usize {
        self.indexed.len() + self.named.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Entries in V8 order.
    pub fn iter(&self) -> impl Iterator<Item = (&JsString, &Value)> {
        self.indexed
            .iter()
            .map(|(_, k, v)| (k, v))
            .chain(self.named.iter().map(|(k, v)| (k, v)))
    }

    /// The keys in V8 order.
    pub fn keys(&self) -> impl Iterator<Item = &JsString> {
        self.iter().map(|(k, _)| k)
    }

    /// A copy without `key` (used to get the signed part of a message).
    pub fn without(&self, key: &str) -> Object {
        Object {
            indexed: self
                .indexed
                .iter()
                .filter(|e| !e.1.eq_str(key))
                .cloned()
                .collect(),
            named: self.named.iter().filter(|e| !e.0.eq_str(key)).cloned().collect(),
        }
    }
}

impl std::fmt::Debug for Object {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}

/// A legacy JSON value.
#[derive(Clone, PartialEq, Debug)]
pub enum Value {
    Null,
    Bool(bool),
    /// Any double, including the ones JSON cannot spell (`JSON.stringify` prints them `null`).
    Number(f64),
    String(JsString),
    Array(Vec<Value>),
    Object(Object),
}

impl Value {
    pub fn as_object(&self) -> Option<&Object> {
        match self {
            Value::Object(o) => Some(o),
            _ => None,
        }
    }

    pub fn as_str(&self) -> Option<&JsString> {
        match self {
            Value::String(s) => Some(s),
            _ => None,
        }
    }

    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Value::Number(n) => Some(*n),
            _ => None,
        }
    }

    /// JavaScript's `typeof` for a parsed value (arrays and null are "object").
    pub fn type_of(&self) -> &'static str {
        match self {
            Value::Null | Value::Array(_) | Value::Object(_) => "object",
            Value::Bool(_) => "boolean",
            Value::Number(_) => "number",
            Value::String(_) => "string",
        }
    }

    pub fn string(s: &str) -> Value {
        Value::String(JsString::from(s))
    }
}
