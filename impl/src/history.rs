//! `createHistoryStream`, the legacy replication call: the messages of one feed from a sequence
//! on. Options as ssb-db reads them: `id` (the feed, required), `sequence` or else `seq`
//! (inclusive; 0, negative or absent = from the first; not an integer = an error), `live` (keep the stream open for new messages; default false),
//! `old` (send what is stored; default true), `keys` (wrap each value as `{key, value,
//! timestamp}`; default true), `limit` (at most this many messages, old and live together;
//! absent or negative = no limit). This module reads options and formats answers; the node
//! streams them.

use serde_json::Value as Json;

use crate::identity::FeedId;
use crate::store::StoredMsg;

/// A createHistoryStream request, read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HistoryQuery {
    pub id: FeedId,
    /// The first sequence to send (at least 1).
    pub from: u64,
    pub live: bool,
    pub old: bool,
    pub keys: bool,
    pub limit: Option<u64>,
}

/// Why a request was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum HistoryError {
    #[error("createHistoryStream needs an options object")]
    NoOptions,
    #[error("`id` is not a feed id")]
    InvalidId,
    #[error("`seq` is not an integer")]
    InvalidSeq,
    #[error("`limit` is not an integer")]
    InvalidLimit,
    #[error("a flag (`live`, `old`, `keys`) is not a boolean")]
    InvalidFlag,
}

impl HistoryError {
    pub fn kind(&self) -> &'static str {
        match self {
            HistoryError::NoOptions => "no_options",
            HistoryError::InvalidId => "invalid_id",
            HistoryError::InvalidSeq => "invalid_seq",
            HistoryError::InvalidLimit => "invalid_limit",
            HistoryError::InvalidFlag => "invalid_flag",
        }
    }
}

fn flag(o: &serde_json::Map<String, Json>, key: &str, default: bool) -> Result<bool, HistoryError> {
    match o.get(key) {
        None | Some(Json::Null) => Ok(default),
        Some(Json::Bool(b)) => Ok(*b),
        Some(_) => Err(HistoryError::InvalidFlag),
    }
}

fn integer(v: &Json) -> Option<i64> {
    let n = v.as_number()?;
    n.as_i64().or_else(|| {
        n.as_f64()
            .filter(|f| f.fract() == 0.0 && f.abs() < 9.0e15)
            .map(|f| f as i64)
    })
}

impl HistoryQuery {
    /// Reads the call's arguments (the first one is the options object).
    pub fn from_args(args: &[Json]) -> Result<HistoryQuery, HistoryError> {
        let Some(Json::Object(o)) = args.first() else {
            return Err(HistoryError::NoOptions);
        };
        let id = o
            .get("id")
            .and_then(Json::as_str)
            .and_then(|s| FeedId::parse(s).ok())
            .ok_or(HistoryError::InvalidId)?;
        // As ssb-db and ssb-db2 read it: `sequence` first, and a negative value (clients send
        // -1) means from the start.
        let seq = match o.get("sequence").or_else(|| o.get("seq")) {
            None | Some(Json::Null) => 0,
            Some(v) => integer(v).ok_or(HistoryError::InvalidSeq)?.max(0),
        };
        let limit = match o.get("limit") {
            None | Some(Json::Null) => None,
            Some(v) => {
                let l = integer(v).ok_or(HistoryError::InvalidLimit)?;
                (l >= 0).then_some(l as u64)
            }
        };
        Ok(HistoryQuery {
            id,
            from: (seq as u64).max(1),
            live: flag(o, "live", false)?,
            old: flag(o, "old", true)?,
            keys: flag(o, "keys", true)?,
            limit,
        })
    }
}

/// One answer of the stream: the value as signed, or `{key, value, timestamp}`.
pub fn format_message(m: &StoredMsg, keys: bool) -> Vec<u8> {
    if !keys {
        return m.value.clone().into_bytes();
    }
    let mut out = Vec::with_capacity(m.value.len() + 120);
    out.extend_from_slice(b"{\"key\":\"");
    out.extend_from_slice(m.id.to_string().as_bytes());
    out.extend_from_slice(b"\",\"value\":");
    out.extend_from_slice(m.value.as_bytes());
    out.extend_from_slice(b",\"timestamp\":");
    out.extend_from_slice(m.received.to_string().as_bytes());
    out.push(b'}');
    out
}
