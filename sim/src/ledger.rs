//! What the run's authors really published, kept beside the world to judge it: every genuine
//! message id at each (feed, sequence), each feed's latest published sequence, and for a forking
//! identity which branch each id belongs to.

use std::collections::BTreeMap;

use ssb_impl::legacy::message::MsgId;

/// The record of publications.
#[derive(Debug, Default)]
pub struct Ledger {
    /// Genuine ids by (author index, sequence): one per branch.
    pub genuine: BTreeMap<(usize, u64), Vec<MsgId>>,
    /// The latest sequence of the first (or only) branch of each author.
    pub published: BTreeMap<usize, u64>,
    /// For forking feeds, by (author index, sequence): the id on branch 0 (the author's own
    /// host) and on branch 1 (its second half).
    pub branches: BTreeMap<(usize, u64), [Option<MsgId>; 2]>,
}

impl Ledger {
    /// Notes that `host`, publishing for `author`, put `id` at `sequence`.
    pub fn note(&mut self, host: usize, author: usize, sequence: u64, id: MsgId, forking: bool) {
        self.genuine.entry((author, sequence)).or_default().push(id);
        if forking {
            let b = usize::from(host != author);
            self.branches.entry((author, sequence)).or_default()[b] = Some(id);
        }
        if host == author {
            self.published.insert(author, sequence);
        }
    }

    pub fn is_genuine(&self, author: usize, sequence: u64, id: &MsgId) -> bool {
        self.genuine
            .get(&(author, sequence))
            .is_some_and(|g| g.contains(id))
    }

    /// The branch of a forking feed that `id` at `sequence` lies on: 0, 1, or neither (`None`,
    /// also where both branches hold the same message).
    pub fn branch_of(&self, author: usize, sequence: u64, id: &MsgId) -> Option<usize> {
        let b = self.branches.get(&(author, sequence))?;
        match (b[0].as_ref() == Some(id), b[1].as_ref() == Some(id)) {
            (true, false) => Some(0),
            (false, true) => Some(1),
            _ => None,
        }
    }
}
