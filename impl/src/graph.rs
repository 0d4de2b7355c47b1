//! The follow graph, from `contact` messages: `{type: "contact", contact: @id, following: bool,
//! blocking: bool}`. The latest message of an author about a contact decides the edge. The
//! replication scope is every feed within `hops` follows of the node (0 = itself only), less
//! every feed the node itself blocks; a feed someone within the scope blocks is still replicated
//! if another follows it (as ssb-friends does for hops > 1, only the node's own blocks are final).

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use crate::identity::FeedId;
use crate::legacy::Value;

/// What one author last said about one contact.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Edge {
    pub following: bool,
    pub blocking: bool,
}

/// A contact message, read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Contact {
    pub contact: FeedId,
    pub following: Option<bool>,
    pub blocking: Option<bool>,
}

/// Reads a message's content as a contact message (`None`: it is not one).
pub fn read_contact(content: &Value) -> Option<Contact> {
    let o = content.as_object()?;
    if !o.get("type")?.as_str()?.eq_str("contact") {
        return None;
    }
    let contact = FeedId::parse(&o.get("contact")?.as_str()?.to_string_lossy()).ok()?;
    let b = |k: &str| match o.get(k) {
        Some(Value::Bool(b)) => Some(*b),
        _ => None,
    };
    let (following, blocking) = (b("following"), b("blocking"));
    (following.is_some() || blocking.is_some()).then_some(Contact {
        contact,
        following,
        blocking,
    })
}

/// Every author's edges.
#[derive(Debug, Clone, Default)]
pub struct FollowGraph {
    edges: BTreeMap<FeedId, BTreeMap<FeedId, Edge>>,
}

impl FollowGraph {
    pub fn new() -> Self {
        Self::default()
    }

    /// Applies one contact message of `author`; returns whether an edge changed.
    pub fn apply(&mut self, author: FeedId, c: Contact) -> bool {
        let e = self
            .edges
            .entry(author)
            .or_default()
            .entry(c.contact)
            .or_default();
        let before = *e;
        if let Some(f) = c.following {
            e.following = f;
            if f {
                e.blocking = false;
            }
        }
        if let Some(b) = c.blocking {
            e.blocking = b;
            if b {
                e.following = false;
            }
        }
        *e != before
    }

    pub fn edge(&self, from: &FeedId, to: &FeedId) -> Edge {
        self.edges
            .get(from)
            .and_then(|m| m.get(to))
            .copied()
            .unwrap_or_default()
    }

    /// Feeds within `hops` follows of `me`, with their distance, less those `me` blocks.
    pub fn hops_from(&self, me: FeedId, hops: u32) -> BTreeMap<FeedId, u32> {
        let mut dist = BTreeMap::from([(me, 0u32)]);
        let mut queue = VecDeque::from([me]);
        while let Some(f) = queue.pop_front() {
            let d = dist[&f];
            if d >= hops {
                continue;
            }
            for (to, e) in self.edges.get(&f).into_iter().flatten() {
                if e.following && !dist.contains_key(to) && !self.edge(&me, to).blocking {
                    dist.insert(*to, d + 1);
                    queue.push_back(*to);
                }
            }
        }
        dist
    }

    /// The replication scope: the feeds of [`FollowGraph::hops_from`].
    pub fn scope(&self, me: FeedId, hops: u32) -> BTreeSet<FeedId> {
        self.hops_from(me, hops).into_keys().collect()
    }

    /// Whether `me` blocks `who` (its connections are refused).
    pub fn blocks(&self, me: &FeedId, who: &FeedId) -> bool {
        self.edge(me, who).blocking
    }
}
