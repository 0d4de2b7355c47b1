//! Fuzzes the EBT notes parser (`ssb_impl::ebt::decode_notes`) and the session state machine
//! fed with what it parses.
//!
//! Invariants:
//! - no panic on any bytes;
//! - notes that decode re-encode (`notes_to_json`) to notes that decode to the same thing, and
//!   every note's integer decodes back to it;
//! - a session opened over a fixed local clock and given the notes answers with ranges that
//!   are not empty and name a feed the peer asked for, starting after what the peer holds.

#![no_main]

use libfuzzer_sys::fuzz_target;
use ssb_impl::ebt::{decode_notes, notes_to_json, Action, Note, Notes, Session};
use ssb_impl::FeedId;

fuzz_target!(|input: &[u8]| {
    let Ok(notes) = decode_notes(input) else { return };
    let again = serde_json::to_vec(&notes_to_json(&notes)).expect("serializes");
    assert_eq!(decode_notes(&again).as_ref(), Ok(&notes));
    for n in notes.values() {
        assert_eq!(Note::decode(n.encode()), Ok(*n));
    }
    // Our clock: every feed the peer named, at sequence 5, plus one feed of our own.
    let mut local = Notes::new();
    local.insert(FeedId([7; 32]), Note::Replicate { sequence: 3, receive: true });
    for f in notes.keys() {
        local.insert(*f, Note::Replicate { sequence: 5, receive: true });
    }
    let (mut s, _) = Session::open(&local, None);
    for a in s.on_notes(&notes, |f| local.get(f).copied(), |_, _| true) {
        if let Action::SendRange { feed, from, to } = a {
            assert!(from <= to);
            let theirs = notes[&feed];
            assert!(theirs.wants_messages());
            assert_eq!(Some(from - 1), theirs.sequence());
        }
    }
});
