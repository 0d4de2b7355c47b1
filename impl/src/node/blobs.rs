//! Blob replication as ssb-blobs does it: each peer calls the other's `blobs.createWants`, a
//! source on which the callee announces the blobs it wants (`{id: -1}`, minus the hop count)
//! and answers the caller's wants it can meet (`{id: size}`); a peer that hears of a blob it
//! wants fetches it with `blobs.get` and checks its hash and size before storing it.

use serde_json::{json, Map, Value as Json};

use super::core::{BlobGet, ConnId, Node, NodeError, NodeEvent};
use crate::identity::FeedId;
use crate::muxrpc::{Body, CallType, RpcError, StreamId};
use crate::store::blobs::BlobId;

/// Bytes per `blobs.get` packet.
const CHUNK: usize = 64 * 1024;

impl Node {
    /// Stores a blob; resolves local wants and tells peers that wanted it.
    pub fn add_blob(&mut self, data: &[u8]) -> Result<BlobId, NodeError> {
        if data.len() as u64 > self.config.max_blob {
            return Err(NodeError::Invalid("blob over the size limit".into()));
        }
        let id = self.blobs.add(data)?;
        self.blob_stored(id, data.len() as u64);
        Ok(id)
    }

    fn blob_stored(&mut self, id: BlobId, size: u64) {
        for (conn, call) in self.wants.remove(&id).unwrap_or_default() {
            if let Some(c) = self.conns.get_mut(&conn) {
                c.rpc.respond(call, Ok(Body::json(&Json::Bool(true))));
            }
        }
        let have = json!({ id.to_string(): size });
        for c in self.conns.values_mut() {
            if let (true, Some(out)) = (c.their_wants.remove(&id), c.wants_out) {
                c.rpc.send(out, Body::json(&have));
            }
        }
    }

    /// Wants a blob: asks every peer; `call` is a local `blobs.want` call to answer when it comes.
    pub fn want_blob(&mut self, id: BlobId, call: Option<(ConnId, StreamId)>) {
        if self.blobs.has(&id).is_some() {
            if let Some((conn, sid)) = call {
                if let Some(c) = self.conns.get_mut(&conn) {
                    c.rpc.respond(sid, Ok(Body::json(&Json::Bool(true))));
                }
            }
            return;
        }
        let fresh = !self.wants.contains_key(&id);
        let waiting = self.wants.entry(id).or_default();
        if let Some(call) = call {
            waiting.push(call);
        }
        if fresh {
            let want = json!({ id.to_string(): -1 });
            for c in self.conns.values_mut() {
                if let Some(out) = c.wants_out {
                    c.rpc.send(out, Body::json(&want));
                }
            }
        }
        self.flush();
    }

    /// The peer called our `blobs.createWants`: send it what we want.
    pub(super) fn serve_wants(&mut self, conn: ConnId, id: StreamId) {
        let wants: Map<String, Json> = self.wants.keys().map(|b| (b.to_string(), json!(-1))).collect();
        let Some(c) = self.conns.get_mut(&conn) else {
            return;
        };
        if let Some(old) = c.wants_out.replace(id) {
            c.rpc.end(old, None);
        }
        c.rpc.send(id, Body::json(&Json::Object(wants)));
    }

    /// An object from the peer's `blobs.createWants` stream: its wants and its haves.
    pub(super) fn on_their_wants(&mut self, conn: ConnId, body: Body) {
        let Some(Json::Object(o)) = body.to_json() else {
            return;
        };
        let mut fetch = Vec::new();
        let mut haves = Map::new();
        let Some(c) = self.conns.get_mut(&conn) else {
            return;
        };
        for (k, v) in o.iter().take(10_000) {
            let (Ok(id), Some(n)) = (BlobId::parse(k), v.as_i64()) else {
                continue;
            };
            if n < 0 {
                match self.blobs.has(&id) {
                    Some(size) => {
                        haves.insert(k.clone(), json!(size));
                    }
                    None if c.their_wants.len() < 10_000 => {
                        c.their_wants.insert(id);
                    }
                    None => {}
                }
            } else if self.wants.contains_key(&id)
                && (n as u64) <= self.config.max_blob
                && !c.blob_gets.values().any(|g| g.id == id)
            {
                fetch.push(id);
            }
        }
        if let (false, Some(out)) = (haves.is_empty(), c.wants_out) {
            c.rpc.send(out, Body::json(&Json::Object(haves)));
        }
        for id in fetch {
            let sid = c
                .rpc
                .call(&["blobs", "get"], CallType::Source, json!([id.to_string()]));
            c.blob_gets.insert(sid, BlobGet { id, data: Vec::new() });
        }
    }

    /// A `blobs.get` we made has ended normally.
    pub(super) fn blob_arrived(&mut self, get: BlobGet, from: FeedId) {
        if BlobId::of(&get.data) != get.id {
            tracing::warn!(%from, blob = %get.id, "blob does not match its id");
            self.stats.rejected += 1;
            return;
        }
        match self.blobs.add(&get.data) {
            Ok(id) => {
                self.events.push(NodeEvent::BlobStored { id, from });
                self.blob_stored(id, get.data.len() as u64);
            }
            Err(e) => tracing::error!("blob store: {e}"),
        }
    }

    /// The peer calls `blobs.get`: send the blob in chunks, or an error.
    pub(super) fn serve_blob(&mut self, conn: ConnId, id: StreamId, args: &[Json]) {
        let arg = match args.first() {
            Some(Json::String(s)) => BlobId::parse(s).ok().map(|b| (b, None)),
            Some(Json::Object(o)) => o
                .get("key")
                .or_else(|| o.get("id"))
                .and_then(Json::as_str)
                .and_then(|s| BlobId::parse(s).ok())
                .map(|b| (b, o.get("max").and_then(Json::as_u64))),
            _ => None,
        };
        let data = match arg {
            None => Err(RpcError::new("Error", "blobs.get needs a blob id")),
            Some((b, max)) => match (self.blobs.get(&b), max) {
                (Ok(Some(d)), Some(m)) if d.len() as u64 > m => Err(RpcError::new(
                    "Error",
                    format!("blob is {} bytes, over max {m}", d.len()),
                )),
                (Ok(Some(d)), _) => Ok(d),
                (Ok(None), _) => Err(RpcError::new("Error", format!("no blob {b}"))),
                (Err(e), _) => Err(RpcError::new("Error", e.to_string())),
            },
        };
        let Some(c) = self.conns.get_mut(&conn) else {
            return;
        };
        match data {
            Ok(d) => {
                for chunk in d.chunks(CHUNK) {
                    c.rpc.send(id, Body::binary(chunk.to_vec()));
                }
                c.rpc.end(id, None);
            }
            Err(e) => c.rpc.end(id, Some(e)),
        }
    }
}
