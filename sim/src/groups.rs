//! Private groups in a simulation (envelope/box2 and the private-group key schemes): groups
//! created by honest nodes, members added in batches over time with `group/add-member`
//! messages, and members posting to their groups. Every message is ciphertext in its author's
//! feed and replicates like any other; the nodes decrypt while indexing.
//!
//! The invariants, checked at the end: every member holds the group key and reads every
//! message of the group (those posted before it joined as well: the key is the group's); no
//! other node holds the key or reads any of them; and every honest node that replicates an
//! author stores that author's group ciphertexts.

use std::collections::BTreeSet;

use rand_chacha::ChaCha20Rng;
use rand_core::RngCore;
use serde::{Deserialize, Serialize};
use serde_json::json;
use ssb_impl::legacy::message::MsgId;
use ssb_impl::node::Recipient;
use ssb_impl::private::groups::GroupId;
use ssb_impl::store::StoredMsg;

use crate::world::{Ev, Role, World};

/// The `[groups]` table of a scenario.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct GroupsConfig {
    /// Groups created (0: none).
    pub count: usize,
    /// Members of each group at the end, its creator included.
    pub members: usize,
    /// Members added by one `group/add-member` (1–14).
    pub batch: usize,
    /// When the first group is created; the others follow a second apart.
    pub create_s: u64,
    /// Seconds between two batches of one group.
    pub add_every_s: u64,
    /// Messages posted to each group, by members, between its creation and `last_post_s`.
    pub messages: usize,
    pub last_post_s: u64,
}

impl Default for GroupsConfig {
    fn default() -> Self {
        GroupsConfig {
            count: 0,
            members: 10,
            batch: 3,
            create_s: 2,
            add_every_s: 5,
            messages: 10,
            last_post_s: 60,
        }
    }
}

/// A group operation on the event queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GroupOp {
    Create(usize),
    /// The next batch of members of group `.0`.
    Add(usize),
    Post(usize),
}

struct SimGroup {
    creator: usize,
    /// Members not added yet, in the order they will be.
    pending: Vec<usize>,
    joined: Vec<usize>,
    id: Option<GroupId>,
}

struct Post {
    group: usize,
    author: usize,
    id: MsgId,
    text: String,
}

/// What the groups of a run did (in `summary.json`).
#[derive(Debug, Clone, Serialize)]
pub struct GroupsSummary {
    pub groups: usize,
    pub members: usize,
    pub add_member_messages: usize,
    pub group_messages: usize,
    /// (member, group message) pairs read, and how many there should be.
    pub member_reads: usize,
    pub member_reads_expected: usize,
    /// (non-member, group message) pairs read: must be 0.
    pub non_member_reads: usize,
    /// Encrypted messages the honest nodes looked at, and opened.
    pub box2_checked: u64,
    pub box2_opened: u64,
}

/// The groups of one run.
pub struct GroupSim {
    groups: Vec<SimGroup>,
    posts: Vec<Post>,
    adds: usize,
    batch: usize,
    add_every_us: u64,
}

const RETRY_US: u64 = 1_000_000;

impl GroupSim {
    /// Picks creators and members among `honest` and schedules the operations.
    pub fn plan(cfg: &GroupsConfig, honest: &[usize], world: &mut World, rng: &mut ChaCha20Rng) -> GroupSim {
        let mut groups = Vec::new();
        for g in 0..cfg.count {
            let mut pool = honest.to_vec();
            for i in (1..pool.len()).rev() {
                pool.swap(i, (rng.next_u64() % (i as u64 + 1)) as usize);
            }
            pool.truncate(cfg.members.max(1));
            let created = (cfg.create_s + g as u64) * 1_000_000;
            world.schedule(created, Ev::Group(GroupOp::Create(g)));
            let span = cfg.last_post_s.saturating_sub(cfg.create_s + g as u64).max(1) * 1_000_000;
            for _ in 0..cfg.messages {
                let at = created + 1 + rng.next_u64() % span;
                world.schedule(at, Ev::Group(GroupOp::Post(g)));
            }
            groups.push(SimGroup {
                creator: pool[0],
                pending: pool[1..].to_vec(),
                joined: Vec::new(),
                id: None,
            });
        }
        GroupSim {
            groups,
            posts: Vec::new(),
            adds: 0,
            batch: cfg.batch.clamp(1, 14),
            add_every_us: cfg.add_every_s.max(1) * 1_000_000,
        }
    }

    /// Carries out one operation; one whose node is down is tried again a second later. The
    /// message published, with its host.
    pub fn handle(
        &mut self,
        op: GroupOp,
        world: &mut World,
        rng: &mut ChaCha20Rng,
    ) -> Option<(usize, StoredMsg)> {
        let now_us = world.now_us;
        let now = world.now_ms();
        match op {
            GroupOp::Create(g) => {
                let h = self.groups[g].creator;
                let Some(node) = world.hosts[h].node.as_mut() else {
                    world.schedule(now_us + RETRY_US, Ev::Group(op));
                    return None;
                };
                let (id, msg) = node.create_group(rng, now).expect("a group is created");
                world.touch(h);
                let grp = &mut self.groups[g];
                grp.id = Some(id);
                grp.joined.push(h);
                if !grp.pending.is_empty() {
                    world.schedule(now_us + self.add_every_us, Ev::Group(GroupOp::Add(g)));
                }
                Some((h, msg))
            }
            GroupOp::Add(g) => {
                let grp = &self.groups[g];
                let (h, id) = (grp.creator, grp.id.expect("created before members are added"));
                let take = self.batch.min(grp.pending.len());
                let batch: Vec<usize> = grp.pending[..take].to_vec();
                let feeds: Vec<_> = batch.iter().map(|m| world.hosts[*m].keys.id()).collect();
                let Some(node) = world.hosts[h].node.as_mut() else {
                    world.schedule(now_us + RETRY_US, Ev::Group(op));
                    return None;
                };
                let msg = node.add_members(id, &feeds, rng, now).expect("members are added");
                world.touch(h);
                self.adds += 1;
                let grp = &mut self.groups[g];
                grp.pending.drain(..take);
                grp.joined.extend(batch);
                if !grp.pending.is_empty() {
                    world.schedule(now_us + self.add_every_us, Ev::Group(GroupOp::Add(g)));
                }
                Some((h, msg))
            }
            GroupOp::Post(g) => {
                let grp = &self.groups[g];
                let Some(id) = grp.id else {
                    world.schedule(now_us + RETRY_US, Ev::Group(op));
                    return None;
                };
                // A member that has the key already (its add-member has reached it).
                let ready: Vec<usize> = grp
                    .joined
                    .iter()
                    .copied()
                    .filter(|m| {
                        world.hosts[*m]
                            .node
                            .as_ref()
                            .is_some_and(|n| n.groups().contains_key(&id))
                    })
                    .collect();
                if ready.is_empty() {
                    world.schedule(now_us + RETRY_US, Ev::Group(op));
                    return None;
                }
                let h = ready[(rng.next_u64() % ready.len() as u64) as usize];
                let text = format!("group {g} message {} by node {h}", self.posts.len());
                let content = json!({"type": "post", "text": text});
                let node = world.hosts[h].node.as_mut().expect("checked above");
                let m = node
                    .publish_box2(&content, &[Recipient::Group(id)], rng, now)
                    .expect("a member posts");
                world.touch(h);
                self.posts.push(Post {
                    group: g,
                    author: h,
                    id: m.id,
                    text,
                });
                Some((h, m))
            }
        }
    }

    /// The feeds whose group messages every other honest node must store (the authors).
    pub fn authors(&self) -> BTreeSet<usize> {
        self.posts.iter().map(|p| p.author).collect()
    }

    /// Checks the invariants on the running honest nodes; the summary and the violations.
    pub fn check(&self, world: &World, expect: &[BTreeSet<usize>]) -> (GroupsSummary, Vec<String>) {
        let mut v = Vec::new();
        let mut s = GroupsSummary {
            groups: self.groups.iter().filter(|g| g.id.is_some()).count(),
            members: self.groups.iter().map(|g| g.joined.len()).sum(),
            add_member_messages: self.adds,
            group_messages: self.posts.len(),
            member_reads: 0,
            member_reads_expected: 0,
            non_member_reads: 0,
            box2_checked: 0,
            box2_opened: 0,
        };
        for (h, host) in world.hosts.iter().enumerate() {
            let Some(node) = host.node.as_ref() else { continue };
            if host.role != Role::Honest {
                continue;
            }
            s.box2_checked += node.private_stats().checked;
            s.box2_opened += node.private_stats().opened;
            for (g, grp) in self.groups.iter().enumerate() {
                let Some(id) = grp.id else { continue };
                let member = grp.joined.contains(&h);
                // A member learns the key from its add-member message, which the creator
                // publishes: owed only where it is owed the creator's feed.
                let key_owed = member && (h == grp.creator || expect[h].contains(&grp.creator));
                let holds = node.groups().contains_key(&id);
                if (key_owed && !holds) || (!member && holds) {
                    v.push(format!(
                        "node {h} {} group {g}'s key",
                        if member {
                            "is a member and lacks"
                        } else {
                            "is no member and holds"
                        }
                    ));
                }
                for p in self.posts.iter().filter(|p| p.group == g) {
                    let read = node.read_private(&p.id);
                    if member {
                        // A post is owed to a member that is owed the key and the post's feed.
                        let owed = key_owed && (p.author == h || expect[h].contains(&p.author));
                        match read.and_then(|r| r.content["text"].as_str()) {
                            Some(t) if t == p.text => {
                                if owed {
                                    s.member_reads_expected += 1;
                                }
                                s.member_reads += 1;
                            }
                            Some(t) => v.push(format!("node {h} read {:?} instead of {:?}", t, p.text)),
                            None if owed => {
                                s.member_reads_expected += 1;
                                v.push(format!("member {h} cannot read {} in group {g}", p.id))
                            }
                            None => {}
                        }
                    } else if read.is_some() {
                        s.non_member_reads += 1;
                        v.push(format!("node {h}, no member of group {g}, read {}", p.id));
                    }
                    let author = world.hosts[p.author].keys.id();
                    let stored = node.store().get_by_id(&p.id).ok().flatten().is_some();
                    if (p.author == h || expect[h].contains(&p.author)) && !stored {
                        v.push(format!(
                            "node {h} does not store {author}'s group ciphertext {}",
                            p.id
                        ));
                    }
                }
            }
        }
        (s, v)
    }
}
