//! The reference with its checks of a classic message in another order (`SSB_CHECK_ORDER=reverse`
//! in `ssb-ref-adapter`): the signature is verified before the message's place in the feed, and
//! `previous` is compared before `sequence`. ADAPTER.md promises that the order of checks never
//! decides a case, which holds when every invalid case carries one fault; a test runs every
//! suite against this order.

use serde_json::{json, Value};
use ssb_impl::feed::FeedState;
use ssb_impl::legacy::message::{parse_hmac_key, prepare, Checked, MsgId};
use ssb_impl::legacy::MessageError;
use ssb_vectors::reference::{self, OpError};

/// The feed-position rules, `previous` first.
fn position_reversed(state: Option<&FeedState>, c: &Checked) -> Result<(), MessageError> {
    match state {
        None if c.sequence != 1.0 => Err(MessageError::FirstSequenceNotOne),
        None if c.previous.is_some() => Err(MessageError::FirstPreviousNotNull),
        None => Ok(()),
        Some(s) if c.previous != Some(s.id) => Err(MessageError::PreviousMismatch),
        Some(s) if c.sequence != s.sequence + 1.0 => Err(MessageError::SequenceMismatch),
        Some(_) => Ok(()),
    }
}

fn feed_validate(args: &Value) -> Result<Value, OpError> {
    let state = match args.get("state") {
        None | Some(Value::Null) => None,
        Some(s) => {
            let id = s.get("id").and_then(Value::as_str).and_then(MsgId::parse);
            let seq = s.get("sequence").and_then(Value::as_f64);
            match (id, seq) {
                (Some(id), Some(sequence)) => Some(FeedState {
                    id,
                    sequence,
                    timestamp: s.get("timestamp").and_then(Value::as_f64),
                }),
                _ => return Err(OpError::new("invalid_args", "state needs id and sequence")),
            }
        }
    };
    let fail = |e: MessageError| OpError::new(e.family(), format!("{} ({e})", e.kind()));
    let hmac_arg = match args.get("hmac_key") {
        None => ssb_impl::legacy::Value::Null,
        Some(k) => {
            let text = serde_json::to_string(k).unwrap_or_default();
            ssb_impl::legacy::parse(text.as_bytes(), ssb_impl::legacy::Mode::JsCompat)
                .map_err(|e| OpError::new("invalid_args", format!("hmac_key: {e}")))?
        }
    };
    let hmac = parse_hmac_key(&hmac_arg).map_err(fail)?;
    let bytes = reference::bytes_arg(args, "message")?;
    let msg = ssb_impl::legacy::parse(&bytes, ssb_impl::legacy::Mode::JsCompat)
        .map_err(|e| OpError::new("invalid_json", format!("message: {e}")))?;
    let p = prepare(&msg, hmac.as_ref()).map_err(fail)?;
    // The signature before the place in the feed: the reverse of the reference.
    p.verdict(p.signature_ok()).map_err(fail)?;
    position_reversed(state.as_ref(), &p.checked).map_err(fail)?;
    Ok(json!({ "id": p.checked.id.to_string() }))
}

/// Runs one op with the reversed check order (ops other than `feed.validate` are the
/// reference's).
pub fn dispatch(op: &str, args: &Value) -> Result<Value, OpError> {
    match op {
        "capabilities" => {
            let mut caps = reference::capabilities();
            caps["name"] = json!("ssb-impl-reversed");
            Ok(caps)
        }
        "feed.validate" => feed_validate(args),
        _ => reference::dispatch(op, args),
    }
}

/// The reversed order, called in-process.
pub struct Reversed;

impl crate::adapter::Adapter for Reversed {
    fn name(&self) -> String {
        "reference-reversed".into()
    }

    fn call(&mut self, op: &str, args: &Value) -> Result<Value, crate::adapter::CallError> {
        dispatch(op, args).map_err(|e| crate::adapter::CallError::Op {
            kind: e.kind,
            message: e.message,
        })
    }
}
