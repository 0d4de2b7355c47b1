//! Private messages at the node: the keys it holds and what it could read.
//!
//! The node keeps its feed key (private-box and DM keys), a symmetric key for itself (derived
//! from its feed secret, so it survives a restart without another file), and group keys. Every
//! message that enters the store — received or published, and every stored one when the node
//! opens — is indexed: `<base64>.box` content is opened with the feed key, `<base64>.box2`
//! content with the group keys (first slot only), the self key and the DM key with its author
//! (up to `box2_attempts` slots; the DM key in the spec's order, then in the order
//! ssb-private-group-keys uses when that differs). Ciphertexts are stored and replicated like any
//! message; only this index holds plaintext, in memory.
//!
//! A `group/add-member` the node can read gives it that group's key, and a `group/init` it
//! wrote (boxed to the group and to itself) gives it back the key of a group it created; a new
//! key is tried at once on every box2 message the node could not read yet, so a member added
//! late reads the group's earlier messages.

use std::collections::{BTreeMap, BTreeSet};

use rand_core::CryptoRngCore;
use serde_json::Value as Json;

use super::core::{Node, NodeError};
use crate::bendybutt::bfe::{FeedRef, MsgRef};
use crate::identity::{FeedId, Keypair};
use crate::legacy::message::MsgId;
use crate::legacy::Value;
use crate::private::box2::{self, Context, RecipientKey};
use crate::private::content::{self, BoxFormat};
use crate::private::groups::{self, schemes, GroupId, InfoOrder};
use crate::private::{box1, kdf};
use crate::store::StoredMsg;

/// Label of the self key's derivation from the feed secret.
const SELF_KEY_INFO: &[u8] = b"ssb-harness/envelope-symmetric-key-for-self/v1";

/// Who a box2 message is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Recipient {
    /// A group whose key the node holds (its key goes in the first slot).
    Group(GroupId),
    /// A feed, by the DM key between it and us.
    Feed(FeedId),
    /// Ourselves, by the self key.
    Myself,
}

/// How the node read a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReadVia {
    Box1,
    Group(GroupId),
    /// The DM key with the author.
    Dm,
    SelfKey,
}

/// A message the node could decrypt.
#[derive(Debug, Clone, PartialEq)]
pub struct PrivateRead {
    pub content: Json,
    pub via: ReadVia,
}

/// What a group is to the node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupInfo {
    pub key: [u8; 32],
    /// The group's `group/init` message, when known.
    pub init: Option<MsgId>,
}

/// Counters of the private index.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PrivateStats {
    /// Encrypted messages looked at (box1 and box2).
    pub checked: u64,
    /// Of those, read.
    pub opened: u64,
    /// Box2 messages tried again when a group key arrived.
    pub retried: u64,
    /// Opened, but the plaintext is not JSON (not indexed).
    pub not_json: u64,
}

/// The node's private keys and the plaintext index.
pub struct PrivateIndex {
    self_key: [u8; 32],
    groups: BTreeMap<GroupId, GroupInfo>,
    /// The group keys as tried on a message's first slot, and whose each is.
    group_trial: Vec<RecipientKey>,
    group_via: Vec<GroupId>,
    /// Per author, the other keys tried on its messages, computed once: the self key, then
    /// the DM keys with the author (the spec's order first; none for our own feed).
    other_trial: BTreeMap<FeedId, Vec<RecipientKey>>,
    read: BTreeMap<MsgId, PrivateRead>,
    /// Box2 messages the node could not read (yet), by their place in the store: a new group
    /// key is tried on them, read back from the store (no ciphertext is kept here).
    unread: BTreeSet<(FeedId, u64)>,
    pub stats: PrivateStats,
}

impl PrivateIndex {
    pub fn new(keys: &Keypair) -> PrivateIndex {
        PrivateIndex {
            self_key: kdf::hkdf32(b"", keys.seed(), SELF_KEY_INFO),
            groups: BTreeMap::new(),
            group_trial: Vec::new(),
            group_via: Vec::new(),
            other_trial: BTreeMap::new(),
            read: BTreeMap::new(),
            unread: BTreeSet::new(),
            stats: PrivateStats::default(),
        }
    }

    /// The self key and the DM keys with `author` (see `other_trial`).
    fn other_keys(&mut self, keys: &Keypair, me: FeedId, author: FeedId) -> &[RecipientKey] {
        let self_key = self.self_key;
        self.other_trial.entry(author).or_insert_with(|| {
            let mut out = vec![RecipientKey::new(self_key, schemes::FEED_ID_SELF)];
            if author != me {
                let (mine, theirs) = (FeedRef::from(me), FeedRef::from(author));
                for order in [InfoOrder::Bytewise, InfoOrder::JsString] {
                    if let Ok(k) = groups::dm_key_for_feeds(keys, &mine, &theirs, order) {
                        if !out.contains(&k) {
                            out.push(k);
                        }
                    }
                }
            }
            out
        })
    }
}

impl From<MsgId> for MsgRef {
    fn from(id: MsgId) -> MsgRef {
        MsgRef::new(crate::bendybutt::bfe::MsgFormat::Classic, &id.0).expect("32 bytes")
    }
}

/// The content string, author and previous id of a stored message whose content is encrypted.
fn boxed_parts(m: &StoredMsg) -> Option<(BoxFormat, Vec<u8>, Option<MsgId>)> {
    if !m.value.contains(".box") {
        return None;
    }
    let v: Json = serde_json::from_str(&m.value).ok()?;
    let text = v.get("content")?.as_str()?;
    let format = content::format_of(text)?;
    let ciphertext = content::decode(format, text).ok()?;
    let previous = match v.get("previous")? {
        Json::Null => None,
        Json::String(s) => Some(MsgId::parse(s)?),
        _ => return None,
    };
    Some((format, ciphertext, previous))
}

fn box2_context(author: FeedId, previous: Option<MsgId>) -> Option<Context> {
    Context::new(&FeedRef::from(author), previous.map(MsgRef::from).as_ref()).ok()
}

impl Node {
    /// The plaintext of a message this node could read.
    pub fn read_private(&self, id: &MsgId) -> Option<&PrivateRead> {
        self.private.read.get(id)
    }

    /// Every message the node read, by id.
    pub fn private_reads(&self) -> impl Iterator<Item = (&MsgId, &PrivateRead)> {
        self.private.read.iter()
    }

    pub fn private_stats(&self) -> &PrivateStats {
        &self.private.stats
    }

    /// The groups whose keys the node holds.
    pub fn groups(&self) -> &BTreeMap<GroupId, GroupInfo> {
        &self.private.groups
    }

    /// Adds a group key (learnt elsewhere); box2 messages not read yet are tried with it.
    pub fn add_group_key(&mut self, group: GroupId, key: [u8; 32], init: Option<MsgId>) {
        if let Some(g) = self.private.groups.get_mut(&group) {
            if g.init.is_none() {
                g.init = init;
            }
            return;
        }
        self.private.groups.insert(group, GroupInfo { key, init });
        self.private
            .group_trial
            .push(RecipientKey::new(key, schemes::PRIVATE_GROUP));
        self.private.group_via.push(group);
        self.retry_unread(group, key);
    }

    fn retry_unread(&mut self, group: GroupId, key: [u8; 32]) {
        let trial = [RecipientKey::new(key, schemes::PRIVATE_GROUP)];
        let mut opened = Vec::new();
        for (feed, seq) in &self.private.unread {
            let Ok(Some(m)) = self.store.get(feed, *seq) else {
                continue;
            };
            let Some((BoxFormat::Box2, ciphertext, previous)) = boxed_parts(&m) else {
                continue;
            };
            let Some(ctx) = box2_context(m.author, previous) else {
                continue;
            };
            if let Ok(o) = box2::open(&ciphertext, &ctx, &trial, 1) {
                opened.push(((*feed, *seq), m.id, o.plaintext));
            }
        }
        self.private.stats.retried += self.private.unread.len() as u64;
        for (place, id, plaintext) in opened {
            self.private.unread.remove(&place);
            self.learn(id, &plaintext, ReadVia::Group(group), None);
        }
    }

    /// Indexes a message that entered the store (see the module documentation).
    pub(super) fn index_private(&mut self, m: &StoredMsg) {
        let Some((format, ciphertext, previous)) = boxed_parts(m) else {
            return;
        };
        self.private.stats.checked += 1;
        match format {
            BoxFormat::Box1 => {
                if let Ok(plaintext) = box1::open(&ciphertext, &self.keys) {
                    self.learn(m.id, &plaintext, ReadVia::Box1, None);
                }
            }
            BoxFormat::Box2 => {
                let Some(ctx) = box2_context(m.author, previous) else {
                    return;
                };
                // Group keys on the first slot only, then the others on up to
                // `box2_attempts` slots (as `groups::open` does, keeping track of which key).
                let p = &mut self.private;
                let opened = match box2::open(&ciphertext, &ctx, &p.group_trial, 1) {
                    Ok(o) => {
                        let via = ReadVia::Group(p.group_via[o.key.key_index]);
                        Some((o, via))
                    }
                    Err(_) => {
                        let trial = p.other_keys(&self.keys, self.me, m.author);
                        box2::open(&ciphertext, &ctx, trial, self.config.box2_attempts)
                            .ok()
                            .map(|o| {
                                let via = if o.key.key_index == 0 {
                                    ReadVia::SelfKey
                                } else {
                                    ReadVia::Dm
                                };
                                (o, via)
                            })
                    }
                };
                match opened {
                    Some((o, via)) => self.learn(m.id, &o.plaintext, via, Some(o.key.read_key)),
                    None => {
                        self.private.unread.insert((m.author, m.sequence));
                    }
                }
            }
        }
    }
    /// Records a plaintext; group keys it carries join the keyring.
    fn learn(&mut self, id: MsgId, plaintext: &[u8], via: ReadVia, read_key: Option<[u8; 32]>) {
        let Ok(content) = serde_json::from_slice::<Json>(plaintext) else {
            // Opened, but not JSON: no content to index.
            self.private.stats.not_json += 1;
            return;
        };
        self.private.stats.opened += 1;
        let kind = content.get("type").and_then(Json::as_str).unwrap_or("");
        let secret = content
            .get("secret")
            .or_else(|| content.get("groupKey"))
            .and_then(Json::as_str)
            .and_then(crate::legacy::message::canonical_b64)
            .and_then(|b| <[u8; 32]>::try_from(b).ok());
        let mut new_group = None;
        match (kind, secret) {
            ("group/init", Some(key)) if via == ReadVia::SelfKey => {
                if let Some(rk) = read_key {
                    new_group = Some((groups::group_id(&MsgRef::from(id), &rk), key, Some(id)));
                }
            }
            ("group/add-member", Some(key)) if matches!(via, ReadVia::Dm | ReadVia::SelfKey) => {
                let group = content
                    .get("recps")
                    .and_then(|r| r.get(0))
                    .and_then(Json::as_str)
                    .and_then(|s| GroupId::parse(s).ok());
                let init = content
                    .get("root")
                    .and_then(Json::as_str)
                    .and_then(|s| MsgRef::parse(s).ok())
                    .and_then(|r| <[u8; 32]>::try_from(r.id()).ok())
                    .map(MsgId);
                if let Some(g) = group {
                    new_group = Some((g, key, init));
                }
            }
            _ => {}
        }
        self.private.read.insert(id, PrivateRead { content, via });
        if let Some((g, key, init)) = new_group {
            self.add_group_key(g, key, init);
        }
    }

    /// Publishes `content` boxed with box2 to `recipients` (a group first if any, at most 16
    /// slots). For feed recipients the self key is added, so the author reads its own DMs; a
    /// `recps` field naming the recipients is added to the content if it has none.
    pub fn publish_box2(
        &mut self,
        content: &Json,
        recipients: &[Recipient],
        rng: &mut impl CryptoRngCore,
        now: u64,
    ) -> Result<StoredMsg, NodeError> {
        let mut recipients = recipients.to_vec();
        recipients.sort_by_key(|r| !matches!(r, Recipient::Group(_)));
        if recipients
            .iter()
            .filter(|r| matches!(r, Recipient::Group(_)))
            .count()
            > 1
        {
            return Err(NodeError::Invalid("at most one group per message".into()));
        }
        if recipients.iter().any(|r| matches!(r, Recipient::Feed(_)))
            && !recipients.contains(&Recipient::Myself)
        {
            recipients.push(Recipient::Myself);
        }
        let mut keys = Vec::new();
        let mut recps = Vec::new();
        for r in &recipients {
            match r {
                Recipient::Group(g) => {
                    let info = self
                        .private
                        .groups
                        .get(g)
                        .ok_or_else(|| NodeError::Invalid(format!("no key for group {}", g.to_uri())))?;
                    keys.push(RecipientKey::new(info.key, schemes::PRIVATE_GROUP));
                    recps.push(Json::String(g.to_uri()));
                }
                Recipient::Feed(f) if *f == self.me => {
                    keys.push(RecipientKey::new(self.private.self_key, schemes::FEED_ID_SELF));
                    recps.push(Json::String(f.to_string()));
                }
                Recipient::Feed(f) => {
                    let dm = self.private.other_keys(&self.keys, self.me, *f).get(1).cloned();
                    keys.push(dm.ok_or_else(|| NodeError::Invalid(format!("no DM key for {f}")))?);
                    recps.push(Json::String(f.to_string()));
                }
                Recipient::Myself => {
                    keys.push(RecipientKey::new(self.private.self_key, schemes::FEED_ID_SELF));
                }
            }
        }
        keys.dedup();
        let mut content = content.clone();
        if let Json::Object(o) = &mut content {
            if !o.contains_key("recps") && !recps.is_empty() {
                o.insert("recps".into(), Json::Array(recps));
            }
        }
        let plaintext = serde_json::to_vec(&content).map_err(|e| NodeError::Invalid(e.to_string()))?;
        let previous = self.store.latest(&self.me).map(|l| l.id);
        let ctx =
            box2_context(self.me, previous).ok_or_else(|| NodeError::Invalid("no box2 context".into()))?;
        let ciphertext =
            box2::seal_random(rng, &plaintext, &ctx, &keys).map_err(|e| NodeError::Invalid(e.to_string()))?;
        let text = content::encode(BoxFormat::Box2, &ciphertext);
        self.publish_value(Value::string(&text), now)
    }

    /// Publishes `content` boxed with private-box to `recipients` and ourselves (at most 7); a
    /// `recps` field naming them (ourselves first) is added to the content if it has none.
    pub fn publish_box1(
        &mut self,
        content: &Json,
        recipients: &[FeedId],
        rng: &mut impl CryptoRngCore,
        now: u64,
    ) -> Result<StoredMsg, NodeError> {
        let mut feeds = vec![self.me];
        for f in recipients {
            if !feeds.contains(f) {
                feeds.push(*f);
            }
        }
        let keys: Vec<[u8; 32]> = feeds.iter().map(|f| f.0).collect();
        let mut content = content.clone();
        if let Json::Object(o) = &mut content {
            if !o.contains_key("recps") {
                let recps = feeds.iter().map(|f| Json::String(f.to_string())).collect();
                o.insert("recps".into(), Json::Array(recps));
            }
        }
        let plaintext = serde_json::to_vec(&content).map_err(|e| NodeError::Invalid(e.to_string()))?;
        let ciphertext =
            box1::seal_random(rng, &plaintext, &keys).map_err(|e| NodeError::Invalid(e.to_string()))?;
        let text = content::encode(BoxFormat::Box1, &ciphertext);
        self.publish_value(Value::string(&text), now)
    }

    /// Creates a private group: a random key, a `group/init` boxed to the group and to
    /// ourselves. Returns the group id and the init message.
    pub fn create_group(
        &mut self,
        rng: &mut impl CryptoRngCore,
        now: u64,
    ) -> Result<(GroupId, StoredMsg), NodeError> {
        let mut key = [0u8; 32];
        rng.fill_bytes(&mut key);
        let content = groups::init_root_content(&key);
        let plaintext = serde_json::to_vec(&content).map_err(|e| NodeError::Invalid(e.to_string()))?;
        let previous = self.store.latest(&self.me).map(|l| l.id);
        let ctx =
            box2_context(self.me, previous).ok_or_else(|| NodeError::Invalid("no box2 context".into()))?;
        let keys = [
            RecipientKey::new(key, schemes::PRIVATE_GROUP),
            RecipientKey::new(self.private.self_key, schemes::FEED_ID_SELF),
        ];
        let ciphertext =
            box2::seal_random(rng, &plaintext, &ctx, &keys).map_err(|e| NodeError::Invalid(e.to_string()))?;
        let text = content::encode(BoxFormat::Box2, &ciphertext);
        let m = self.publish_value(Value::string(&text), now)?;
        let group = groups::group_id_from_init(&MsgRef::from(m.id), &ctx, &ciphertext, &key)
            .map_err(|e| NodeError::Invalid(e.to_string()))?;
        // Indexing the init (read with the self key) has added the group already.
        self.add_group_key(group, key, Some(m.id));
        Ok((group, m))
    }

    /// Adds `members` to a group we hold the key of: a `group/add-member` boxed to the group and
    /// to each member by its DM key (at most 15 members).
    pub fn add_members(
        &mut self,
        group: GroupId,
        members: &[FeedId],
        rng: &mut impl CryptoRngCore,
        now: u64,
    ) -> Result<StoredMsg, NodeError> {
        let info = self
            .private
            .groups
            .get(&group)
            .cloned()
            .ok_or_else(|| NodeError::Invalid(format!("no key for group {}", group.to_uri())))?;
        let init = MsgRef::from(
            info.init
                .ok_or_else(|| NodeError::Invalid("the group's init message is not known".into()))?,
        );
        let add = groups::AddMember {
            group_key: info.key,
            old_keys: Vec::new(),
            root: init.clone(),
            creator: FeedRef::from(self.me),
            text: None,
            group_id: group,
            members: members.iter().map(|f| FeedRef::from(*f)).collect(),
            group_previous: vec![init.clone()],
            members_root: init.clone(),
            members_previous: vec![init],
        };
        let content = groups::add_member_content(&add);
        let mut recipients = vec![Recipient::Group(group)];
        recipients.extend(
            members
                .iter()
                .filter(|f| **f != self.me)
                .map(|f| Recipient::Feed(*f)),
        );
        self.publish_box2(&content, &recipients, rng, now)
    }
}
