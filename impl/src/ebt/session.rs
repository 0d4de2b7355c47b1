//! One EBT v3 session with one peer, sans-IO: notes and feed positions go in, the notes and
//! message ranges to send come out; the node reads the messages from its store. Request skipping:
//! the opening notes leave out every feed whose sequence equals what the peer held at the end of
//! the last session (it will send a note itself if it has news, and then we answer with ours);
//! with no remembered clock (a lost state) every note is sent. A peer that sends a message we
//! already hold is asked to stop sending that feed (the lazy side of the tree); a lazy peer that
//! announces more than we hold is asked to send again.

use std::collections::BTreeMap;

use super::clock::{Note, Notes};
use crate::identity::FeedId;

/// What the node must do for the session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    SendNotes(Notes),
    /// Send the messages `from..=to` of `feed`, in order.
    SendRange {
        feed: FeedId,
        from: u64,
        to: u64,
    },
}

/// The state of one session.
#[derive(Debug, Clone, Default)]
pub struct Session {
    /// The peer's latest note per feed, this session.
    theirs: Notes,
    /// What we last told the peer per feed.
    told: Notes,
    /// Per feed, the highest sequence the peer is known to hold (told us, sent us, or we sent).
    known: BTreeMap<FeedId, u64>,
    /// Messages received from this peer that we already held.
    pub duplicates: u64,
}

fn notes_of(actions: &mut Vec<Action>, feed: FeedId, note: Note) {
    if let Some(Action::SendNotes(n)) = actions.iter_mut().find(|a| matches!(a, Action::SendNotes(_))) {
        n.insert(feed, note);
    } else {
        actions.push(Action::SendNotes(Notes::from([(feed, note)])));
    }
}

impl Session {
    /// Opens a session. `local` is our note for every feed we replicate; `remembered` is the
    /// peer's clock from the last session (`None` if we have none). Returns the opening notes,
    /// which may be empty (`{}`) when nothing changed.
    pub fn open(local: &Notes, remembered: Option<&Notes>) -> (Session, Notes) {
        let mut s = Session::default();
        let mut opening = Notes::new();
        for (&feed, &note) in local {
            let skip = match (remembered.and_then(|r| r.get(&feed)), note) {
                (Some(Note::Replicate { sequence: theirs, .. }), Note::Replicate { sequence: ours, .. }) => {
                    *theirs == ours
                }
                _ => false,
            };
            if !skip {
                opening.insert(feed, note);
                s.told.insert(feed, note);
            }
        }
        (s, opening)
    }

    /// The peer's notes arrive. `local(feed)` gives our note for a feed (`None`: we do not
    /// replicate it).
    pub fn on_notes(&mut self, notes: &Notes, local: impl Fn(&FeedId) -> Option<Note>) -> Vec<Action> {
        let mut actions = Vec::new();
        for (&feed, &theirs) in notes {
            self.theirs.insert(feed, theirs);
            let ours = local(&feed);
            // Answer a feed we skipped, or one we do not replicate, once.
            let answer = ours.unwrap_or(Note::DontReplicate);
            let mut reply = match self.told.get(&feed) {
                None => Some(answer),
                Some(t) => (t.sequence() != answer.sequence()).then_some(answer),
            };
            let (
                Some(Note::Replicate {
                    sequence: our_seq,
                    receive: we_receive,
                }),
                Some(their_seq),
            ) = (ours, theirs.sequence())
            else {
                if let Some(r) = reply {
                    self.told.insert(feed, r);
                    notes_of(&mut actions, feed, r);
                }
                continue;
            };
            // The peer's note is the truth about what it holds (it may have lost messages).
            self.known.insert(feed, their_seq);
            // A lazy peer that holds more than we do: ask it to send.
            let told_lazy = matches!(self.told.get(&feed), Some(Note::Replicate { receive: false, .. }));
            if their_seq > our_seq && (told_lazy || !we_receive) {
                reply = Some(Note::Replicate {
                    sequence: our_seq,
                    receive: true,
                });
            }
            if let Some(r) = reply {
                self.told.insert(feed, r);
                notes_of(&mut actions, feed, r);
            }
            if theirs.wants_messages() && our_seq > their_seq {
                actions.push(Action::SendRange {
                    feed,
                    from: their_seq + 1,
                    to: our_seq,
                });
                self.known.insert(feed, our_seq);
            }
        }
        actions
    }

    /// We appended message `sequence` of `feed` (published, or received from anyone).
    pub fn on_local_append(&mut self, feed: FeedId, sequence: u64, from_this_peer: bool) -> Vec<Action> {
        let mut actions = Vec::new();
        if from_this_peer {
            self.known.insert(feed, sequence);
            return actions;
        }
        match self.theirs.get(&feed) {
            Some(Note::Replicate { receive: true, .. }) => {
                let known = self.known.get(&feed).copied().unwrap_or(0);
                if known + 1 == sequence {
                    actions.push(Action::SendRange {
                        feed,
                        from: sequence,
                        to: sequence,
                    });
                    self.known.insert(feed, sequence);
                }
            }
            Some(Note::Replicate { receive: false, .. }) => {
                // A lazy peer hears of the news through a note.
                let receive = self.told.get(&feed).is_none_or(|t| t.wants_messages());
                let n = Note::Replicate { sequence, receive };
                self.told.insert(feed, n);
                notes_of(&mut actions, feed, n);
            }
            _ => {}
        }
        actions
    }

    /// The peer sent message `sequence` of `feed`, which we already held: ask it to stop.
    pub fn on_duplicate(&mut self, feed: FeedId, sequence: u64, our_seq: u64) -> Vec<Action> {
        self.duplicates += 1;
        let k = self.known.entry(feed).or_insert(0);
        *k = (*k).max(sequence);
        if self.told.get(&feed).is_some_and(|t| !t.wants_messages()) {
            return Vec::new();
        }
        let n = Note::Replicate {
            sequence: our_seq,
            receive: false,
        };
        self.told.insert(feed, n);
        vec![Action::SendNotes(Notes::from([(feed, n)]))]
    }

    /// We start (or stop) replicating a feed during the session.
    pub fn on_want(&mut self, feed: FeedId, note: Note) -> Vec<Action> {
        // A peer that said it does not replicate the feed is not asked again.
        if self.told.get(&feed) == Some(&note) || self.theirs.get(&feed) == Some(&Note::DontReplicate) {
            return Vec::new();
        }
        self.told.insert(feed, note);
        vec![Action::SendNotes(Notes::from([(feed, note)]))]
    }

    /// The peer's clock as it stands, to remember for the next session's request skipping:
    /// what it told us, raised by what it has since received.
    pub fn remote_clock(&self) -> Notes {
        let mut out = self.theirs.clone();
        for (feed, note) in out.iter_mut() {
            if let (Note::Replicate { sequence, receive }, Some(&k)) = (*note, self.known.get(feed)) {
                *note = Note::Replicate {
                    sequence: sequence.max(k),
                    receive,
                };
            }
        }
        out
    }

    /// The peer's last note for a feed.
    pub fn their_note(&self, feed: &FeedId) -> Option<Note> {
        self.theirs.get(feed).copied()
    }

    /// Whether the peer should be sent messages of `feed` (it asked for them).
    pub fn peer_receives(&self, feed: &FeedId) -> bool {
        self.theirs.get(feed).is_some_and(|n| n.wants_messages())
    }
}
