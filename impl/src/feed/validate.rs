//! The per-feed validation state machine for classic messages, as ssb-validate appends: the
//! first message has `previous: null` and sequence 1; each later one names the id of the last as
//! `previous`, has its sequence + 1 and the same author, and a valid signature. A validly signed
//! message that contradicts what the feed already holds is a fork, reported with both ids.

use crate::identity::FeedId;
use crate::legacy::message::{prepare, Checked, MsgId, Prepared};
use crate::legacy::{MessageError, Value};

/// What the validator remembers of the last message of a feed.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FeedState {
    pub id: MsgId,
    pub sequence: f64,
    /// Not used by any rule; kept because ssb-validate's state carries it.
    pub timestamp: Option<f64>,
}

/// Why a message was not appended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum FeedError {
    #[error(transparent)]
    Invalid(#[from] MessageError),
    /// Two validly signed messages claim one place in the feed.
    #[error("fork at sequence {sequence}: {existing} and {new}")]
    Fork {
        sequence: u32,
        existing: MsgId,
        new: MsgId,
    },
}

impl FeedError {
    pub fn kind(&self) -> &'static str {
        match self {
            FeedError::Invalid(e) => e.kind(),
            FeedError::Fork { .. } => "fork",
        }
    }

    /// The underlying message error (`Fork` for a fork).
    pub fn message_error(&self) -> MessageError {
        match self {
            FeedError::Invalid(e) => *e,
            FeedError::Fork { .. } => MessageError::Fork,
        }
    }
}

/// The feed-position rules alone, on a message whose fields have been checked.
pub fn check_position(state: Option<&FeedState>, c: &Checked) -> Result<(), MessageError> {
    match state {
        None if c.previous.is_some() => Err(MessageError::FirstPreviousNotNull),
        None if c.sequence != 1.0 => Err(MessageError::FirstSequenceNotOne),
        None => Ok(()),
        Some(s) if c.sequence != s.sequence + 1.0 => Err(MessageError::SequenceMismatch),
        Some(s) if c.previous != Some(s.id) => Err(MessageError::PreviousMismatch),
        Some(_) => Ok(()),
    }
}

/// Validates `msg` as the message after `state` (`None`: the first of its feed), with no memory
/// of earlier messages: the adapter op `feed.validate`. Returns the message's id and new state.
pub fn validate_next(
    state: Option<&FeedState>,
    msg: &Value,
    hmac_key: Option<&[u8; 32]>,
) -> Result<(Checked, FeedState), MessageError> {
    let p = prepare(msg, hmac_key)?;
    check_position(state, &p.checked)?;
    p.verdict(p.signature_ok())?;
    let c = p.checked;
    let next = FeedState {
        id: c.id,
        sequence: c.sequence,
        timestamp: Some(c.timestamp),
    };
    Ok((c, next))
}

/// One feed's validator, remembering every id so that forks can be proven.
#[derive(Debug, Clone, Default)]
pub struct FeedValidator {
    author: Option<FeedId>,
    hmac_key: Option<[u8; 32]>,
    /// `ids[i]` is the id of the message with sequence `i + 1`.
    ids: Vec<MsgId>,
    last: Option<FeedState>,
}

impl FeedValidator {
    pub fn new(hmac_key: Option<[u8; 32]>) -> Self {
        FeedValidator {
            hmac_key,
            ..Default::default()
        }
    }

    pub fn state(&self) -> Option<&FeedState> {
        self.last.as_ref()
    }

    pub fn len(&self) -> usize {
        self.ids.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }

    /// Validates and appends one message; returns its id.
    pub fn append(&mut self, msg: &Value) -> Result<MsgId, FeedError> {
        let p = prepare(msg, self.hmac_key.as_ref())?;
        self.append_prepared(p, None)
    }

    /// Appends a prepared message; `verified` says whether its signature is already known to be
    /// valid (batch validation), `None` means check it here.
    pub fn append_prepared(&mut self, p: Prepared, verified: Option<bool>) -> Result<MsgId, FeedError> {
        let sig_ok =
            |p: &Prepared| verified.unwrap_or_else(|| p.signature_ok()) && p.after_signature.is_none();
        let c = &p.checked;
        if self.author.is_some_and(|a| a != c.author) {
            return Err(MessageError::AuthorMismatch.into());
        }
        match (check_position(self.last.as_ref(), c), self.last) {
            (Ok(()), _) => {}
            // The right place, but another previous: a fork at the sequence before, if signed.
            (Err(MessageError::PreviousMismatch), Some(last)) => {
                return Err(match c.previous {
                    Some(other) if sig_ok(&p) => FeedError::Fork {
                        sequence: last.sequence as u32,
                        existing: last.id,
                        new: other,
                    },
                    _ => MessageError::PreviousMismatch.into(),
                })
            }
            // A place we already hold: the same message again, or a fork if it differs.
            (Err(MessageError::SequenceMismatch), Some(last))
                if c.sequence >= 1.0 && c.sequence <= last.sequence =>
            {
                let held = self.ids[c.sequence as usize - 1];
                return Err(if held != c.id && sig_ok(&p) {
                    FeedError::Fork {
                        sequence: c.sequence as u32,
                        existing: held,
                        new: c.id,
                    }
                } else {
                    MessageError::SequenceMismatch.into()
                });
            }
            (Err(e), _) => return Err(e.into()),
        }
        p.verdict(verified.unwrap_or_else(|| p.signature_ok()))?;
        let c = p.checked;
        self.author = Some(c.author);
        self.ids.push(c.id);
        self.last = Some(FeedState {
            id: c.id,
            sequence: c.sequence,
            timestamp: Some(c.timestamp),
        });
        Ok(c.id)
    }
}
