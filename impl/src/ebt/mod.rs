//! Epidemic broadcast trees (EBT) v3, the `ebt.replicate` duplex of ssb-ebt: both peers send
//! notes (vector clocks, [`clock`]) and then the messages the other asked for, live.
//! [`session`] holds the per-peer state machine.

pub mod clock;
pub mod session;

pub use clock::{decode_notes, notes_to_json, Note, NoteError, Notes};
pub use session::{Action, Session};
