//! EBT v3 notes (vector clocks). A note is a JSON object mapping feed ids to integers: `-1`
//! says "I do not replicate this feed"; any other value is `sequence * 2 + flag`, where flag 0
//! asks the peer to send messages of the feed and flag 1 says "I replicate it, but do not send
//! me its messages" (the lazy side of a tree). Decoding refuses what is not such an integer:
//! non-integers, negatives other than -1, values past 2^53 - 1 (past JavaScript's safe
//! integers), and keys that are not classic feed ids.

use std::collections::BTreeMap;

use serde_json::{Map, Number, Value as Json};

use crate::identity::FeedId;

/// The largest value a note can hold (JavaScript's `Number.MAX_SAFE_INTEGER`).
pub const MAX_NOTE: i64 = (1 << 53) - 1;

/// What one note says.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Note {
    /// `-1`: do not replicate.
    DontReplicate,
    /// The sender holds `sequence` messages of the feed; `receive` asks for more.
    Replicate { sequence: u64, receive: bool },
}

impl Note {
    /// The integer of the note. Sequences past 2^52 - 1 (which no note can carry) are sent as
    /// the largest that fits.
    pub fn encode(self) -> i64 {
        match self {
            Note::DontReplicate => -1,
            Note::Replicate { sequence, receive } => {
                let seq = sequence.min((MAX_NOTE >> 1) as u64) as i64;
                (seq << 1) | i64::from(!receive)
            }
        }
    }

    pub fn decode(v: i64) -> Result<Note, NoteError> {
        match v {
            -1 => Ok(Note::DontReplicate),
            v if v < 0 => Err(NoteError::Negative),
            v if v > MAX_NOTE => Err(NoteError::TooLarge),
            v => Ok(Note::Replicate {
                sequence: (v >> 1) as u64,
                receive: v & 1 == 0,
            }),
        }
    }

    /// Reads a JSON number as a note.
    pub fn from_json(v: &Json) -> Result<Note, NoteError> {
        let Json::Number(n) = v else {
            return Err(NoteError::NotANumber);
        };
        if let Some(i) = n.as_i64() {
            return Note::decode(i);
        }
        if n.as_u64().is_some() {
            return Err(NoteError::TooLarge);
        }
        match n.as_f64() {
            // 2.0 written as `2.0` or `2e0` is an integer to JavaScript.
            Some(f) if f.fract() == 0.0 && f.abs() <= MAX_NOTE as f64 => Note::decode(f as i64),
            Some(f) if f.fract() == 0.0 && f > 0.0 => Err(NoteError::TooLarge),
            Some(f) if f.fract() == 0.0 => Err(NoteError::Negative),
            _ => Err(NoteError::NotAnInteger),
        }
    }

    pub fn sequence(self) -> Option<u64> {
        match self {
            Note::DontReplicate => None,
            Note::Replicate { sequence, .. } => Some(sequence),
        }
    }

    pub fn wants_messages(self) -> bool {
        matches!(self, Note::Replicate { receive: true, .. })
    }
}

/// Why a notes object was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum NoteError {
    #[error("notes are not a JSON object")]
    NotAnObject,
    #[error("a note is not a number")]
    NotANumber,
    #[error("a note is not an integer")]
    NotAnInteger,
    #[error("a note is negative and not -1")]
    Negative,
    #[error("a note is past 2^53 - 1")]
    TooLarge,
    #[error("a key is not a classic feed id")]
    InvalidFeed,
    #[error("notes are not JSON")]
    NotJson,
}

impl NoteError {
    pub fn kind(&self) -> &'static str {
        match self {
            NoteError::NotAnObject => "not_an_object",
            NoteError::NotANumber => "not_a_number",
            NoteError::NotAnInteger => "not_an_integer",
            NoteError::Negative => "negative",
            NoteError::TooLarge => "too_large",
            NoteError::InvalidFeed => "invalid_feed",
            NoteError::NotJson => "not_json",
        }
    }
}

/// A set of notes, ordered by feed.
pub type Notes = BTreeMap<FeedId, Note>;

/// Decodes a notes object from JSON bytes.
pub fn decode_notes(body: &[u8]) -> Result<Notes, NoteError> {
    let v: Json = serde_json::from_slice(body).map_err(|_| NoteError::NotJson)?;
    notes_from_json(&v)
}

pub fn notes_from_json(v: &Json) -> Result<Notes, NoteError> {
    let Json::Object(o) = v else {
        return Err(NoteError::NotAnObject);
    };
    let mut out = Notes::new();
    for (k, v) in o {
        let feed = FeedId::parse(k).map_err(|_| NoteError::InvalidFeed)?;
        out.insert(feed, Note::from_json(v)?);
    }
    Ok(out)
}

/// Encodes notes as a JSON object (feeds in id order).
pub fn notes_to_json(notes: &Notes) -> Json {
    let mut m = Map::new();
    for (f, n) in notes {
        m.insert(f.to_string(), Json::Number(Number::from(n.encode())));
    }
    Json::Object(m)
}
