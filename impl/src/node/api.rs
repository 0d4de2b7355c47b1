//! The calls a node answers. Any peer: `whoami`, `manifest`, `createHistoryStream`,
//! `ebt.replicate`, `blobs.has`, `blobs.size`, `blobs.get`, `blobs.createWants`. The node's own
//! key only (a local client): `publish`, `blobs.add`, `blobs.want`, `ctl.replicate`,
//! `ctl.connect`, `ctl.status`. Anything else is answered with an error naming the method.

use serde_json::{json, Value as Json};

use super::core::{ConnId, Node, PendingSend, SendKind};
use crate::ebt::{self, Session};
use crate::history::HistoryQuery;
use crate::identity::FeedId;
use crate::muxrpc::rpc::manifest_json;
use crate::muxrpc::{Body, CallType, RpcError, StreamId};
use crate::store::blobs::BlobId;

/// Every method with its type, as the manifest lists them.
pub const METHODS: &[(&str, CallType)] = &[
    ("whoami", CallType::Async),
    ("manifest", CallType::Async),
    ("createHistoryStream", CallType::Source),
    ("ebt.replicate", CallType::Duplex),
    ("blobs.has", CallType::Async),
    ("blobs.size", CallType::Async),
    ("blobs.get", CallType::Source),
    ("blobs.createWants", CallType::Source),
    ("blobs.add", CallType::Sink),
    ("blobs.want", CallType::Async),
    ("publish", CallType::Async),
    ("ctl.replicate", CallType::Async),
    ("ctl.connect", CallType::Async),
    ("ctl.status", CallType::Async),
];

const LOCAL_ONLY: &[&str] = &[
    "publish",
    "blobs.add",
    "blobs.want",
    "ctl.replicate",
    "ctl.connect",
    "ctl.status",
];

fn err(name: &str, msg: impl Into<String>) -> RpcError {
    RpcError::new(name, msg)
}

/// A blob id from a call's first argument: a string, or `{key|id, ...}`.
fn blob_arg(args: &[Json]) -> Option<(BlobId, Option<u64>)> {
    match args.first()? {
        Json::String(s) => Some((BlobId::parse(s).ok()?, None)),
        Json::Object(o) => {
            let s = o.get("key").or_else(|| o.get("id"))?.as_str()?;
            Some((BlobId::parse(s).ok()?, o.get("max").and_then(Json::as_u64)))
        }
        _ => None,
    }
}

impl Node {
    pub(super) fn on_call(
        &mut self,
        conn: ConnId,
        id: StreamId,
        name: Vec<String>,
        call_type: CallType,
        args: Vec<Json>,
    ) {
        let method = name.join(".");
        let Some(c) = self.conns.get(&conn) else { return };
        let local = c.peer == self.me;
        let known = METHODS.iter().find(|(m, _)| *m == method);
        let refusal = match known {
            None => Some(err(
                "Error",
                format!("method:{method} is not in list of allowed methods"),
            )),
            Some(_) if LOCAL_ONLY.contains(&method.as_str()) && !local => Some(err(
                "Error",
                format!("method:{method} is not in list of allowed methods"),
            )),
            Some((_, t)) if *t != call_type => Some(err(
                "Error",
                format!("{method} is a {} call, not {}", t.name(), call_type.name()),
            )),
            Some(_) => None,
        };
        if let Some(e) = refusal {
            self.fail(conn, id, call_type, e);
            return;
        }
        match method.as_str() {
            "whoami" => self.reply(conn, id, Ok(json!({"id": self.me.to_string()}))),
            "manifest" => self.reply(conn, id, Ok(manifest_json(METHODS))),
            "createHistoryStream" => self.serve_history(conn, id, &args),
            "ebt.replicate" => self.serve_ebt(conn, id, &args),
            "blobs.has" => {
                let r = match args.first() {
                    Some(Json::Array(ids)) => Ok(Json::Array(
                        ids.iter()
                            .map(|i| {
                                let b = i.as_str().and_then(|s| BlobId::parse(s).ok());
                                Json::Bool(b.is_some_and(|b| self.blobs.has(&b).is_some()))
                            })
                            .collect(),
                    )),
                    _ => match blob_arg(&args) {
                        Some((b, _)) => Ok(Json::Bool(self.blobs.has(&b).is_some())),
                        None => Err(err("Error", "blobs.has needs a blob id")),
                    },
                };
                self.reply(conn, id, r)
            }
            "blobs.size" => {
                let r = match blob_arg(&args) {
                    Some((b, _)) => Ok(self.blobs.has(&b).map_or(Json::Null, |s| json!(s))),
                    None => Err(err("Error", "blobs.size needs a blob id")),
                };
                self.reply(conn, id, r)
            }
            "blobs.get" => self.serve_blob(conn, id, &args),
            "blobs.createWants" => self.serve_wants(conn, id),
            "blobs.add" => {
                if let Some(c) = self.conns.get_mut(&conn) {
                    c.blob_adds.insert(id, Vec::new());
                }
            }
            "blobs.want" => match blob_arg(&args) {
                Some((b, _)) => self.want_blob(b, Some((conn, id))),
                None => self.reply(conn, id, Err(err("Error", "blobs.want needs a blob id"))),
            },
            "publish" => {
                let r = match args.first() {
                    Some(content) => self
                        .publish(content, self.now)
                        .map_err(|e| err("Error", e.to_string())),
                    None => Err(err("Error", "publish needs content")),
                };
                let r = r.map(|m| {
                    let v: Json = serde_json::from_str(&m.value).unwrap_or(Json::Null);
                    json!({"key": m.id.to_string(), "value": v, "timestamp": m.received})
                });
                self.reply(conn, id, r)
            }
            "ctl.replicate" => {
                let r = match args.first().and_then(Json::as_str).map(FeedId::parse) {
                    Some(Ok(f)) => {
                        self.replicate(f);
                        Ok(Json::Bool(true))
                    }
                    _ => Err(err("Error", "ctl.replicate needs a feed id")),
                };
                self.reply(conn, id, r)
            }
            "ctl.connect" => {
                let r = match args.first().and_then(Json::as_str).map(str::parse) {
                    Some(Ok(addr)) => {
                        self.add_peer(addr);
                        self.tick(self.now);
                        Ok(Json::Bool(true))
                    }
                    _ => Err(err("Error", "ctl.connect needs HOST:PORT:@ID")),
                };
                self.reply(conn, id, r)
            }
            "ctl.status" => {
                let feeds: serde_json::Map<String, Json> = self
                    .store
                    .feeds()
                    .into_iter()
                    .map(|(f, s)| (f.to_string(), json!(s)))
                    .collect();
                let peers: Vec<String> = self.connected_peers().iter().map(|p| p.to_string()).collect();
                let r = json!({
                    "id": self.me.to_string(),
                    "feeds": feeds,
                    "peers": peers,
                    "messages": self.store.len(),
                    "appended": self.stats.appended,
                    "rejected": self.stats.rejected,
                });
                self.reply(conn, id, Ok(r))
            }
            _ => unreachable!("every listed method is handled"),
        }
    }

    fn reply(&mut self, conn: ConnId, id: StreamId, r: Result<Json, RpcError>) {
        if let Some(c) = self.conns.get_mut(&conn) {
            c.rpc.respond(id, r.map(|v| Body::json(&v)));
        }
    }

    fn fail(&mut self, conn: ConnId, id: StreamId, t: CallType, e: RpcError) {
        let Some(c) = self.conns.get_mut(&conn) else {
            return;
        };
        if t == CallType::Async {
            c.rpc.respond(id, Err(e));
        } else {
            c.rpc.end(id, Some(e));
        }
    }

    fn serve_history(&mut self, conn: ConnId, id: StreamId, args: &[Json]) {
        let q = match HistoryQuery::from_args(args) {
            Ok(q) => q,
            Err(e) => return self.fail(conn, id, CallType::Source, err("Error", e.to_string())),
        };
        let Some(c) = self.conns.get_mut(&conn) else {
            return;
        };
        let kind = SendKind::History {
            keys: q.keys,
            live: q.live,
            left: q.limit,
        };
        if q.limit == Some(0) || (!q.old && !q.live) {
            c.rpc.end(id, None);
            return;
        }
        if q.old {
            c.pending.push_back(PendingSend {
                stream: id,
                feed: q.id,
                next: q.from,
                to: u64::MAX,
                kind,
            });
        } else {
            let next = self.store.latest(&q.id).map_or(0, |l| l.sequence) + 1;
            c.live.insert(
                id,
                super::core::LiveSub {
                    feed: q.id,
                    next: next.max(q.from),
                    keys: q.keys,
                    left: q.limit,
                },
            );
        }
    }

    fn serve_ebt(&mut self, conn: ConnId, id: StreamId, args: &[Json]) {
        let opts = args.first().and_then(Json::as_object);
        let version = opts.and_then(|o| o.get("version")).and_then(Json::as_u64);
        let format = opts
            .and_then(|o| o.get("format"))
            .and_then(Json::as_str)
            .unwrap_or("classic");
        if version != Some(3) {
            return self.fail(
                conn,
                id,
                CallType::Duplex,
                err("Error", "expected ebt.replicate({version: 3})"),
            );
        }
        if format != "classic" {
            return self.fail(
                conn,
                id,
                CallType::Duplex,
                err("Error", format!("unsupported format {format}")),
            );
        }
        let local = self.opening_notes(conn);
        let Some(c) = self.conns.get_mut(&conn) else {
            return;
        };
        if c.ebt.is_some() {
            return self.fail(
                conn,
                id,
                CallType::Duplex,
                err("Error", "already replicating with this peer"),
            );
        }
        let (session, opening) = Session::open(&local, self.clocks.get(&c.peer));
        c.rpc.send(id, Body::json(&ebt::notes_to_json(&opening)));
        c.ebt = Some((id, session));
        self.opened(conn, &opening);
    }
}
