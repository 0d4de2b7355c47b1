//! Runs one side of the handshake against a fixed list of the peer's messages, recording what
//! that side sends. This is how vectors describe a handshake: the peer's messages are data.

use super::{Action, Handshake, Outcome, ShsError, Step};

/// What one side sent, and its outcome.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transcript {
    /// The messages this side sent, in order (msg1, msg3 for a client; msg2, msg4 for a server).
    pub sent: Vec<Vec<u8>>,
    pub outcome: Outcome,
}

/// Drives `hs`, feeding it `incoming` in order. Missing peer messages are an error of the step
/// that needed them (as if the peer had closed the connection).
pub fn replay<H: Handshake>(
    hs: &mut H,
    incoming: &[Vec<u8>],
    first_read: Step,
) -> Result<Transcript, ShsError> {
    let mut sent = Vec::new();
    let mut next_in = incoming.iter();
    let mut step = first_read;
    loop {
        match hs.next() {
            Action::Send(b) => sent.push(b),
            Action::Receive(n) => {
                let msg = next_in.next().ok_or(ShsError::BadLength {
                    step,
                    expected: n,
                    got: 0,
                })?;
                hs.receive(msg)?;
                // The side that reads msg1 reads msg3 next; the side that reads msg2 reads msg4.
                step = match step {
                    Step::Msg1 => Step::Msg3,
                    _ => Step::Msg4,
                };
            }
            Action::Done(outcome) => return Ok(Transcript { sent, outcome }),
            Action::Failed => {
                return Err(ShsError::Unexpected {
                    step,
                    state: "failed",
                });
            }
        }
    }
}
