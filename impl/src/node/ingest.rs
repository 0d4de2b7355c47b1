//! Messages entering the store: from a peer (EBT or createHistoryStream) or published here.
//! Every message is validated against the stored end of its feed before it is appended; a
//! validly signed message that contradicts the store is reported as a fork with both ids.
//! After an append the follow graph, the replication scope and every live stream hear of it.

use super::core::{ConnId, Node, NodeError, NodeEvent, PendingSend, SendKind};
use super::inbox::Incoming;
use crate::feed::validate::{check_position, FeedState};
use crate::graph::read_contact;
use crate::identity::FeedId;
use crate::legacy::message::{prepare, sign_message, Prepared};
use crate::legacy::{self, Mode, Value};
use crate::muxrpc::Body;
use crate::store::StoredMsg;

/// What became of one incoming message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Ingested {
    Appended,
    Duplicate,
    /// Not the next message of its feed (a gap), or a feed we do not replicate.
    Ignored,
    Rejected,
}

impl Node {
    /// A message on one of our createHistoryStream calls: checked with the rest of the batch.
    pub(super) fn on_history_data(&mut self, conn: ConnId, feed: FeedId, body: Body) {
        let peer = self.conns[&conn].peer;
        self.inbox.push(Incoming {
            conn,
            peer,
            expect: Some(feed),
            bytes: body.bytes,
        });
    }

    /// A message on an EBT session: checked with the rest of the batch.
    pub(super) fn on_ebt_message(&mut self, conn: ConnId, body: Body) {
        let peer = self.conns[&conn].peer;
        self.inbox.push(Incoming {
            conn,
            peer,
            expect: None,
            bytes: body.bytes,
        });
    }

    /// The signature check, with the author's key decoded once (libsodium's rules throughout).
    fn signature_ok(&mut self, p: &Prepared) -> bool {
        let author = p.checked.author;
        self.verifying_key(&author)
            .is_some_and(|vk| crate::crypto::ed25519_verify_key(&vk, &p.signed, &p.signature))
    }

    pub(super) fn reject(&mut self, from: FeedId, reason: String) {
        tracing::debug!(%from, %reason, "message rejected");
        self.stats.rejected += 1;
        self.events.push(NodeEvent::Rejected { from, reason });
    }

    pub(super) fn ingest_value(&mut self, from: Option<(ConnId, FeedId)>, v: &Value) -> Ingested {
        let peer = from.map_or(self.me, |(_, p)| p);
        match prepare(v, self.config.hmac_key.as_ref()) {
            Ok(p) => self.ingest_prepared(from, p, None),
            Err(e) => {
                self.reject(peer, format!("invalid message: {e}"));
                Ingested::Rejected
            }
        }
    }

    /// Places a checked message in its feed; `signature` is its signature's verdict if already
    /// known (checked in a batch), else it is checked here when needed.
    pub(super) fn ingest_prepared(
        &mut self,
        from: Option<(ConnId, FeedId)>,
        p: Prepared,
        signature: Option<bool>,
    ) -> Ingested {
        let peer = from.map_or(self.me, |(_, p)| p);
        let c = &p.checked;
        let author = c.author;
        if !self.scope.contains(&author) {
            return Ingested::Ignored;
        }
        let latest = self.store.latest(&author);
        let have = latest.map_or(0, |l| l.sequence);
        let seq = c.sequence as u64;
        if c.sequence < 1.0 {
            self.reject(peer, "sequence below 1".into());
            return Ingested::Rejected;
        }
        if seq <= have {
            let existing = self.store.get(&author, seq).ok().flatten();
            match existing {
                Some(e)
                    if e.id != c.id
                        && p.verdict(signature.unwrap_or_else(|| self.signature_ok(&p)))
                            .is_ok() =>
                {
                    if !self.config.skip_fork_detection {
                        tracing::warn!(%author, seq, existing = %e.id, new = %c.id, "fork");
                        self.events.push(NodeEvent::Fork {
                            author,
                            sequence: seq,
                            existing: e.id,
                            new: c.id,
                        });
                    }
                }
                _ => {
                    self.stats.duplicates += 1;
                    if let Some((conn, _)) = from {
                        self.ebt_duplicate(conn, author, seq, have);
                    }
                }
            }
            return Ingested::Duplicate;
        }
        if seq > have + 1 {
            return Ingested::Ignored;
        }
        let state = latest.map(|l| FeedState {
            id: l.id,
            sequence: l.sequence as f64,
            timestamp: Some(l.timestamp),
        });
        let signature_ok = |this: &mut Self| signature.unwrap_or_else(|| this.signature_ok(&p));
        let verdict = check_position(state.as_ref(), c).and_then(|()| p.verdict(signature_ok(self)));
        // The next sequence, validly signed, but chained to another message than ours: the
        // author signed two messages at the sequence before. That is a fork, with both ids.
        if let (Err(crate::legacy::MessageError::PreviousMismatch), Some(l), Some(other)) =
            (verdict, latest, c.previous)
        {
            if p.verdict(signature_ok(self)).is_ok() && !self.config.skip_fork_detection {
                tracing::warn!(%author, seq = l.sequence, existing = %l.id, new = %other, "fork");
                self.events.push(NodeEvent::Fork {
                    author,
                    sequence: l.sequence,
                    existing: l.id,
                    new: other,
                });
            }
        }
        if let Err(e) = verdict {
            self.reject(peer, format!("invalid message: {e}"));
            // A sender of invalid messages is no longer the feed's source, nor a candidate for
            // it this session: ask another peer, else a peer that claims messages it cannot
            // produce would stall the feed (and two such peers would take turns).
            if let Some((conn, _)) = from {
                if let Some((sid, s)) = self.conns.get_mut(&conn).and_then(|c| c.ebt.as_mut()) {
                    let sid = *sid;
                    let actions = s.on_invalid(author, have);
                    self.apply_ebt_actions(conn, sid, actions);
                }
                if self.eager.get(&author) == Some(&conn) {
                    self.eager.remove(&author);
                    self.switch_source(author, conn, have);
                }
            }
            return Ingested::Rejected;
        }
        let c = p.checked.clone();
        let Some(text) = crate::legacy::stringify::units_to_utf8(&p.encoding) else {
            self.reject(peer, "message text is not storable".into());
            return Ingested::Rejected;
        };
        let m = StoredMsg {
            id: c.id,
            author,
            sequence: seq,
            timestamp: c.timestamp,
            received: self.now,
            value: text,
        };
        if let Err(e) = self.store.append(std::slice::from_ref(&m)) {
            tracing::error!("append failed: {e}");
            return Ingested::Rejected;
        }
        self.dirty = true;
        self.stats.appended += 1;
        self.events.push(NodeEvent::Appended {
            feed: author,
            sequence: seq,
            from: from.map(|(_, p)| p),
        });
        // Whoever delivers a feed's news is its source from now on.
        if let Some((conn, _)) = from {
            if self.conns.get(&conn).is_some_and(|c| c.ebt.is_some()) {
                self.eager.insert(author, conn);
            }
        }
        if self.graph_apply(&m) && self.shapes_scope(&m.author) {
            self.rescope();
        }
        self.index_private(&m);
        self.fan_out(author, seq, from.map(|(c, _)| c));
        if from.is_some() {
            self.review_source(author);
        }
        Ingested::Appended
    }

    /// Applies a stored message to the follow graph if it is a contact message of a feed in
    /// scope; returns whether an edge changed.
    pub(super) fn graph_apply(&mut self, m: &StoredMsg) -> bool {
        if !m.value.contains("\"contact\"") {
            return false;
        }
        let Ok(Value::Object(o)) = legacy::parse(m.value.as_bytes(), Mode::JsCompat) else {
            return false;
        };
        match o.get("content").and_then(read_contact) {
            Some(c) => self.graph.apply(m.author, c),
            None => false,
        }
    }

    /// Whether an edge of `author` can change the replication scope: only edges of feeds
    /// within `hops - 1` of us (and our own, whose blocks count at every distance) do.
    fn shapes_scope(&self, author: &FeedId) -> bool {
        *author == self.me
            || (self.config.hops > 0
                && self
                    .graph
                    .hops_from(self.me, self.config.hops - 1)
                    .contains_key(author))
    }

    fn ebt_duplicate(&mut self, conn: ConnId, feed: FeedId, seq: u64, have: u64) {
        let Some(c) = self.conns.get_mut(&conn) else {
            return;
        };
        let Some((sid, s)) = c.ebt.as_mut() else { return };
        let sid = *sid;
        let actions = s.on_duplicate(feed, seq, have);
        self.apply_ebt_actions(conn, sid, actions);
    }

    /// Tells the node's peers of a message written to the store directly (with
    /// [`Node::store_mut`]): EBT notes and live streams go out as for any append.
    pub fn notify_appended(&mut self, feed: FeedId, seq: u64) {
        self.fan_out(feed, seq, None);
        self.after_batch();
    }

    /// Tells every connection that `feed` has a new message `seq` (one pass over them: a pub
    /// has hundreds).
    fn fan_out(&mut self, feed: FeedId, seq: u64, from: Option<ConnId>) {
        for (id, c) in self.conns.iter_mut() {
            if let Some((sid, s)) = c.ebt.as_mut() {
                let sid = *sid;
                let actions = s.on_local_append(feed, seq, from == Some(*id));
                if !actions.is_empty() {
                    super::core::apply_to_conn(c, sid, actions);
                }
            }
            if c.live.is_empty() {
                continue;
            }
            let ready: Vec<_> = c
                .live
                .iter()
                .filter(|(_, l)| l.feed == feed && l.next == seq)
                .map(|(id, l)| (*id, *l))
                .collect();
            for (id, l) in ready {
                c.live.remove(&id);
                c.pending.push_back(PendingSend {
                    stream: id,
                    feed,
                    next: l.next,
                    to: u64::MAX,
                    kind: SendKind::History {
                        keys: l.keys,
                        live: true,
                        left: l.left,
                    },
                });
            }
        }
    }

    /// Adds a message made elsewhere (a local import, a simulator's seed data), validated like
    /// any received message; its feed joins the replication scope.
    pub fn add_message(&mut self, v: &Value, now: u64) -> Result<(), String> {
        self.now = now;
        let author = prepare(v, self.config.hmac_key.as_ref())
            .map_err(|e| e.kind().to_string())?
            .checked
            .author;
        if !self.scope.contains(&author) {
            self.replicate(author);
        }
        let before = self.stats.rejected;
        let r = match self.ingest_value(None, v) {
            Ingested::Appended => Ok(()),
            Ingested::Duplicate => Err("duplicate".into()),
            Ingested::Ignored => Err("not the next message of its feed".into()),
            Ingested::Rejected if self.stats.rejected > before => match self.events.last() {
                Some(NodeEvent::Rejected { reason, .. }) => Err(reason.clone()),
                _ => Err("rejected".into()),
            },
            Ingested::Rejected => Err("rejected".into()),
        };
        self.after_batch();
        r
    }

    /// Publishes a message with `content` (a JSON value) at time `now` (ms); durable on return.
    pub fn publish(&mut self, content: &serde_json::Value, now: u64) -> Result<StoredMsg, NodeError> {
        let text = serde_json::to_vec(content).map_err(|e| NodeError::Invalid(e.to_string()))?;
        let content =
            legacy::parse(&text, Mode::JsCompat).map_err(|e| NodeError::Invalid(format!("{e:?}")))?;
        self.publish_value(content, now)
    }

    pub fn publish_value(&mut self, content: Value, now: u64) -> Result<StoredMsg, NodeError> {
        self.check_own_feed_synced()?;
        self.now = now;
        let latest = self.store.latest(&self.me);
        let seq = latest.map_or(0, |l| l.sequence) + 1;
        // Timestamps stay strictly increasing even if the clock does not.
        let ts = (now as f64).max(latest.map_or(0.0, |l| l.timestamp + 1.0));
        let seq32 = u32::try_from(seq).map_err(|_| NodeError::Invalid("feed is full".into()))?;
        let (msg, id) = sign_message(
            &self.keys,
            latest.map(|l| l.id),
            seq32,
            ts,
            content,
            self.config.hmac_key.as_ref(),
        );
        let v = Value::Object(msg);
        crate::legacy::message::check_message(&v, self.config.hmac_key.as_ref())
            .map_err(|e| NodeError::Invalid(e.to_string()))?;
        let value = crate::legacy::stringify::units_to_utf8(&legacy::to_signing_units(&v))
            .ok_or_else(|| NodeError::Invalid("content is not storable".into()))?;
        let m = StoredMsg {
            id,
            author: self.me,
            sequence: seq,
            timestamp: ts,
            received: now,
            value,
        };
        self.store.append(std::slice::from_ref(&m))?;
        self.store.sync()?;
        self.stats.appended += 1;
        self.events.push(NodeEvent::Appended {
            feed: self.me,
            sequence: seq,
            from: None,
        });
        if self.graph_apply(&m) && self.shapes_scope(&m.author) {
            self.rescope();
        }
        self.index_private(&m);
        self.fan_out(self.me, seq, None);
        self.after_batch();
        Ok(m)
    }
}
