//! One EBT v3 session with one peer, sans-IO: notes and feed positions go in, the notes and
//! message ranges to send come out; the node reads the messages from its store. Request skipping:
//! the opening notes leave out every feed whose sequence equals what the peer held at the end of
//! the last session (it will send a note itself if it has news, and then we answer with ours;
//! until then the peer is taken to be where it was, so our own news of the feed still reaches
//! it); with no remembered clock (a lost state) every note is sent. A feed is asked of a peer (the
//! receive flag) when the node says so: in the opening if no other peer sends it, later when the
//! peer announces more than we hold and the node has no better source (`ask`). A peer that sends
//! a message we already hold is asked to stop sending that feed (the lazy side of the tree).
//! A peer that sends an invalid message of a feed is told to stop sending it and is never asked
//! for it again this session, whatever it claims to hold: two such peers would otherwise take
//! turns as the feed's source while an honest third is never asked.

use std::collections::{BTreeMap, BTreeSet};

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
    /// Feeds the peer sent an invalid message of, this session: not asked of it again.
    invalid: BTreeSet<FeedId>,
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
            if skip {
                // The peer is taken to be where it was: so our news of the feed reaches it (a
                // message if it was receiving from us, else a note) without either side having
                // to name the feed first.
                if let Some(r) = remembered.and_then(|r| r.get(&feed)) {
                    s.theirs.insert(feed, *r);
                    if let Some(seq) = r.sequence() {
                        s.known.insert(feed, seq);
                    }
                }
            } else {
                opening.insert(feed, note);
                s.told.insert(feed, note);
            }
        }
        (s, opening)
    }

    /// The peer's notes arrive. `local(feed)` gives our note for a feed (`None`: we do not
    /// replicate it); `ask(feed, their_sequence)` is called for a feed the peer holds more of
    /// than we do and that we have not asked it for, and says whether to ask it now (the node
    /// knows whether another peer already sends that feed).
    pub fn on_notes(
        &mut self,
        notes: &Notes,
        local: impl Fn(&FeedId) -> Option<Note>,
        mut ask: impl FnMut(&FeedId, u64) -> bool,
    ) -> Vec<Action> {
        let mut actions = Vec::new();
        for (&feed, &theirs) in notes {
            self.theirs.insert(feed, theirs);
            let told = self.told.get(&feed).copied();
            let reply = match (local(&feed), theirs.sequence()) {
                // A feed we do not replicate: say so, once.
                (None, _) => (told != Some(Note::DontReplicate)).then_some(Note::DontReplicate),
                // The peer does not replicate it: answer a feed we skipped, never asking.
                (Some(ours), None) => told.is_none().then_some(Note::Replicate {
                    sequence: ours.sequence().unwrap_or(0),
                    receive: false,
                }),
                (Some(ours), Some(their_seq)) => {
                    let our_seq = ours.sequence().unwrap_or(0);
                    // The peer's note is the truth about what it holds (it may have lost some).
                    self.known.insert(feed, their_seq);
                    let asked = told.is_some_and(Note::wants_messages);
                    let want = their_seq > our_seq
                        && !asked
                        && !self.invalid.contains(&feed)
                        && ask(&feed, their_seq);
                    if theirs.wants_messages() && our_seq > their_seq {
                        actions.push(Action::SendRange {
                            feed,
                            from: their_seq + 1,
                            to: our_seq,
                        });
                        self.known.insert(feed, our_seq);
                    }
                    let receive = want || asked;
                    let note = Note::Replicate {
                        sequence: our_seq,
                        receive,
                    };
                    (told != Some(note)
                        && (told.is_none() || want || told.and_then(Note::sequence) != Some(our_seq)))
                    .then_some(note)
                }
            };
            if let Some(r) = reply {
                self.told.insert(feed, r);
                // Notes go before the ranges of the same call.
                match actions.iter_mut().find(|a| matches!(a, Action::SendNotes(_))) {
                    Some(Action::SendNotes(n)) => {
                        n.insert(feed, r);
                    }
                    _ => actions.insert(0, Action::SendNotes(Notes::from([(feed, r)]))),
                }
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
                // A lazy peer hears of the news through a note; having the news, we ask it for
                // nothing (its later notes say when it gets ahead of us), as
                // epidemic-broadcast-trees does (vectors `lazy_append`). A source that runs out
                // is replaced by `Node::review_source`.
                let n = Note::Replicate {
                    sequence,
                    receive: false,
                };
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

    /// The peer sent an invalid message of `feed` (we hold `our_seq`): it is told to stop
    /// sending the feed and is not asked for it again this session.
    pub fn on_invalid(&mut self, feed: FeedId, our_seq: u64) -> Vec<Action> {
        self.invalid.insert(feed);
        self.on_want(
            feed,
            Note::Replicate {
                sequence: our_seq,
                receive: false,
            },
        )
    }

    /// Whether the peer sent an invalid message of `feed` this session.
    pub fn sent_invalid(&self, feed: &FeedId) -> bool {
        self.invalid.contains(feed)
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

    /// The peer's clock as it last told it, to remember for the next session's request
    /// skipping. Not raised by what we sent it: messages in flight when a connection drops never
    /// arrive, and a clock that claimed them would make the next session skip the feed.
    pub fn remote_clock(&self) -> Notes {
        self.theirs.clone()
    }

    /// Our last note to the peer for a feed.
    pub fn told_note(&self, feed: &FeedId) -> Option<Note> {
        self.told.get(feed).copied()
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

#[cfg(test)]
mod tests {
    use super::*;

    fn feed(i: u8) -> FeedId {
        FeedId([i; 32])
    }

    fn rx(sequence: u64, receive: bool) -> Note {
        Note::Replicate { sequence, receive }
    }

    /// A lazy peer asked for a feed (it announced more than we hold) hears of our news from
    /// elsewhere with a plain note, as epidemic-broadcast-trees sends it (vectors
    /// `lazy_append`): the node's `review_source` asks it again if it still holds more.
    #[test]
    fn news_from_elsewhere_reaches_a_lazy_peer_as_a_plain_note() {
        let f = feed(1);
        let (mut s, _) = Session::open(&Notes::from([(f, rx(19, false))]), None);
        let out = s.on_notes(
            &Notes::from([(f, rx(21, false))]),
            |_| Some(rx(19, true)),
            |_, _| true,
        );
        assert_eq!(out, vec![Action::SendNotes(Notes::from([(f, rx(19, true))]))]);
        let out = s.on_local_append(f, 20, false);
        assert_eq!(out, vec![Action::SendNotes(Notes::from([(f, rx(20, false))]))]);
        assert_eq!(s.told_note(&f), Some(rx(20, false)));
    }

    /// A peer that sent an invalid message of a feed is told to stop, and its later claims to
    /// hold more are not answered with a request; other feeds are unaffected.
    #[test]
    fn a_peer_that_sent_an_invalid_message_is_not_asked_again() {
        let (f, g) = (feed(1), feed(2));
        let local = Notes::from([(f, rx(2, true)), (g, rx(0, false))]);
        let (mut s, _) = Session::open(&local, None);
        assert_eq!(
            s.on_invalid(f, 2),
            vec![Action::SendNotes(Notes::from([(f, rx(2, false))]))]
        );
        assert!(s.sent_invalid(&f) && !s.sent_invalid(&g));
        let mut asked = Vec::new();
        let out = s.on_notes(
            &Notes::from([(f, rx(9, false)), (g, rx(5, false))]),
            |x| local.get(x).copied(),
            |x, _| {
                asked.push(*x);
                true
            },
        );
        assert_eq!(asked, vec![g]);
        assert_eq!(out, vec![Action::SendNotes(Notes::from([(g, rx(0, true))]))]);
        assert_eq!(s.told_note(&f), Some(rx(2, false)));
    }
}
