//! The `ebt` suite's ops on the reference: EBT v3 notes encoded and decoded one at a time
//! (`ebt.note.encode`, `ebt.note.decode`), a whole notes body decoded (`ebt.notes.decode`), and
//! one per-peer session driven step by step (`ebt.session`), all with `ssb_impl::ebt`.
//!
//! A session's actions are reported in a canonical form so that implementations that batch or
//! order their output differently still compare: per step, the notes sent (merged into one
//! object, if any) first, then the message ranges sent, ordered by feed id text and sequence,
//! with adjacent ranges of one feed joined.

use std::collections::BTreeMap;

use serde_json::{json, Map, Value};
use ssb_impl::ebt::clock::{decode_notes, notes_from_json, notes_to_json};
use ssb_impl::ebt::{Action, Note, NoteError, Notes, Session};
use ssb_impl::FeedId;

use super::OpError;

fn note_error(e: NoteError) -> OpError {
    OpError::new(e.kind(), e.to_string())
}

fn bool_arg(args: &Value, name: &str) -> Result<bool, OpError> {
    args.get(name)
        .and_then(Value::as_bool)
        .ok_or_else(|| OpError::args(format!("{name} must be a boolean")))
}

fn u64_arg(v: Option<&Value>, name: &str) -> Result<u64, OpError> {
    v.and_then(Value::as_u64)
        .ok_or_else(|| OpError::args(format!("{name} must be a non-negative integer")))
}

fn feed_arg(v: Option<&Value>, name: &str) -> Result<FeedId, OpError> {
    let s = v
        .and_then(Value::as_str)
        .ok_or_else(|| OpError::args(format!("{name} must be a feed id")))?;
    FeedId::parse(s).map_err(|e| OpError::args(format!("{name}: {e}")))
}

/// A decoded note as the ops report it. `-1` reads as `{replicate: false, receive: false,
/// sequence: -1}` (its low bit is set, and no sequence goes with it).
pub fn note_json(n: Note) -> Value {
    match n {
        Note::DontReplicate => json!({"replicate": false, "receive": false, "sequence": -1}),
        Note::Replicate { sequence, receive } => {
            json!({"replicate": true, "receive": receive, "sequence": sequence})
        }
    }
}

/// `ebt.note.encode`: the integer for `{sequence, receive, replicate}`; a note that would pass
/// 2^53 - 1 is refused (`too_large`), as a decoder would refuse it.
pub fn note_encode(args: &Value) -> Result<Value, OpError> {
    let replicate = bool_arg(args, "replicate")?;
    let receive = bool_arg(args, "receive")?;
    let sequence = u64_arg(args.get("sequence"), "sequence")?;
    let note = if replicate {
        // No note carries a sequence past 2^52 - 1 (the node saturates; the op refuses).
        if sequence > (ssb_impl::ebt::clock::MAX_NOTE >> 1) as u64 {
            return Err(note_error(NoteError::TooLarge));
        }
        Note::Replicate { sequence, receive }
    } else {
        Note::DontReplicate
    };
    let v = note.encode();
    // What we send must be what a peer can read back.
    let back = Note::decode(v).map_err(note_error)?;
    if back != note {
        return Err(OpError::new(
            "internal",
            format!("{note:?} encodes to {v}, which reads back as {back:?}"),
        ));
    }
    Ok(json!(v))
}

/// `ebt.note.decode`: one JSON value read as a note.
pub fn note_decode(args: &Value) -> Result<Value, OpError> {
    let v = args.get("value").ok_or_else(|| OpError::args("value missing"))?;
    Note::from_json(v).map(note_json).map_err(note_error)
}

fn notes_json(notes: &Notes) -> Value {
    let m: Map<String, Value> = notes
        .iter()
        .map(|(f, n)| (f.to_string(), note_json(*n)))
        .collect();
    Value::Object(m)
}

/// `ebt.notes.decode`: the JSON text of a notes body.
pub fn notes_decode(args: &Value) -> Result<Value, OpError> {
    let text = args
        .get("json")
        .and_then(Value::as_str)
        .ok_or_else(|| OpError::args("json must be a string"))?;
    decode_notes(text.as_bytes())
        .map(|n| notes_json(&n))
        .map_err(note_error)
}

/// Our sequences per feed (`local`), as the session's caller keeps them.
type Local = BTreeMap<FeedId, u64>;

fn our_note(local: &Local, feed: &FeedId) -> Option<Note> {
    local.get(feed).map(|&sequence| Note::Replicate {
        sequence,
        receive: true,
    })
}

fn local_notes(local: &Local) -> Notes {
    local
        .keys()
        .filter_map(|f| Some((*f, our_note(local, f)?)))
        .collect()
}

/// One step's actions in the canonical form (see the module doc).
fn actions_json(actions: Vec<Action>) -> Value {
    let mut notes = Notes::new();
    let mut any_notes = false;
    let mut ranges: Vec<(String, u64, u64)> = Vec::new();
    for a in actions {
        match a {
            Action::SendNotes(n) => {
                any_notes = true;
                notes.extend(n);
            }
            Action::SendRange { feed, from, to } => ranges.push((feed.to_string(), from, to)),
        }
    }
    ranges.sort();
    let mut joined: Vec<(String, u64, u64)> = Vec::new();
    for (feed, from, to) in ranges {
        match joined.last_mut() {
            Some(last) if last.0 == feed && last.2.checked_add(1) == Some(from) => last.2 = to,
            _ => joined.push((feed, from, to)),
        }
    }
    let mut out = Vec::new();
    if any_notes {
        out.push(json!({ "notes": notes_to_json(&notes) }));
    }
    for (feed, from, to) in joined {
        out.push(json!({"send": {"feed": feed, "from": from, "to": to}}));
    }
    Value::Array(out)
}

fn local_arg(args: &Value) -> Result<Local, OpError> {
    let obj = args
        .get("local")
        .and_then(Value::as_object)
        .ok_or_else(|| OpError::args("local must be an object of feed → sequence"))?;
    let mut local = Local::new();
    for (k, v) in obj {
        let feed = FeedId::parse(k).map_err(|e| OpError::args(format!("local: {e}")))?;
        local.insert(feed, u64_arg(Some(v), "local sequence")?);
    }
    Ok(local)
}

/// The feed and sequence of an `append`, `duplicate` or `want` step.
fn position(v: &Value) -> Result<(FeedId, u64), OpError> {
    Ok((
        feed_arg(v.get("feed"), "step feed")?,
        u64_arg(v.get("sequence"), "step sequence")?,
    ))
}

/// `ebt.session`: opens a session and runs its steps; see conformance/ADAPTER.md.
pub fn session(args: &Value) -> Result<Value, OpError> {
    let mut local = local_arg(args)?;
    let remembered = match args.get("remembered") {
        None | Some(Value::Null) => None,
        Some(r) => Some(notes_from_json(r).map_err(note_error)?),
    };
    let steps = args
        .get("steps")
        .and_then(Value::as_array)
        .ok_or_else(|| OpError::args("steps must be a list"))?;
    let (mut s, opening) = Session::open(&local_notes(&local), remembered.as_ref());
    let mut out = Vec::with_capacity(steps.len());
    for step in steps {
        let obj = step
            .as_object()
            .filter(|o| o.len() == 1)
            .ok_or_else(|| OpError::args("a step is an object with one key"))?;
        let (kind, v) = obj.iter().next().expect("one key");
        let actions = match kind.as_str() {
            "notes" => {
                let notes = notes_from_json(v).map_err(note_error)?;
                // One peer: nobody else sends, so a peer ahead of us is always asked.
                s.on_notes(&notes, |f| our_note(&local, f), |_, _| true)
            }
            "append" => {
                let (feed, sequence) = position(v)?;
                local.insert(feed, sequence);
                s.on_local_append(feed, sequence, false)
            }
            "duplicate" => {
                let (feed, sequence) = position(v)?;
                let ours = local.get(&feed).copied().unwrap_or(0);
                s.on_duplicate(feed, sequence, ours)
            }
            "want" => {
                let (feed, sequence) = position(v)?;
                local.insert(feed, sequence);
                let note = our_note(&local, &feed).expect("inserted above");
                s.on_want(feed, note)
            }
            other => return Err(OpError::args(format!("unknown step {other:?}"))),
        };
        out.push(actions_json(actions));
    }
    Ok(json!({"opening": notes_to_json(&opening), "steps": out}))
}
