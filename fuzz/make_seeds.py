#!/usr/bin/env python3
"""Writes the committed seed corpora (fuzz/corpus/TARGET/seed-*) and checks they stay small.

Seeds come from the committed vectors (legacy JSON, muxrpc frames, EBT notes) and, for the
targets that start past the crypto, from well-formed sessions built here: muxrpc calls of
every kind and messages of the peer's feed signed with the fuzz target's fixed peer key
(seed [2; 32]). Run from anywhere: python3 fuzz/make_seeds.py. Needs the `cryptography`
package for ed25519 (only for the node_session seeds).
"""
import base64
import hashlib
import json
import os
import struct

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CORPUS = os.path.join(ROOT, "fuzz", "corpus")
MAX_SEED = 8 * 1024


def write(target, name, data):
    assert len(data) <= MAX_SEED, (target, name, len(data))
    d = os.path.join(CORPUS, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "seed-" + name), "wb") as f:
        f.write(data)


def vectors(name):
    with open(os.path.join(ROOT, "vectors", name)) as f:
        return json.load(f)["cases"]


# --- from the vectors -------------------------------------------------------------------------

def from_vectors():
    n = 0
    for c in vectors("feed-legacy.json"):
        j = c["input"].get("args", {}).get("json")
        if j and len(j) // 2 <= MAX_SEED and n < 40:
            write("legacy_parse", c["id"].replace("/", "-"), bytes.fromhex(j))
            n += 1
    n = 0
    for c in vectors("muxrpc.json"):
        out = c.get("expect", {})
        out = out.get("output") if isinstance(out, dict) else None
        if c["input"]["op"] == "muxrpc.encode" and out and n < 30:
            # body limit 0xffff, one chunk, then the frames.
            write("muxrpc_decode", c["id"].replace("/", "-"), b"\xff\xff\x00" + bytes.fromhex(out))
            n += 1
    n = 0
    for c in vectors("ebt.json"):
        if c["input"]["op"] == "ebt.notes.decode" and n < 30:
            write("ebt_notes", c["id"].replace("/", "-"), c["input"]["args"]["json"].encode())
            n += 1


# --- node_session: plaintext sessions ---------------------------------------------------------

def frame(req, body, stream=False, end=False, kind="json"):
    if kind == "json":
        body = json.dumps(body, separators=(",", ":")).encode()
        t = 2
    elif kind == "string":
        body = body.encode()
        t = 1
    else:
        t = 0
    flags = (8 if stream else 0) | (4 if end else 0) | t
    return struct.pack(">BIi", flags, len(body), req) + body


def feed_id(pk):
    return "@" + base64.b64encode(pk).decode() + ".ed25519"


def peer_feed(n):
    """n messages of the peer's feed (key from seed [2; 32]), as JSON values."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    from cryptography.hazmat.primitives import serialization

    sk = Ed25519PrivateKey.from_private_bytes(bytes([2] * 32))
    pk = sk.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    author = feed_id(pk)
    prev = None
    out = []
    for seq in range(1, n + 1):
        msg = {
            "previous": prev,
            "author": author,
            "sequence": seq,
            "timestamp": 1700000000000 + seq,
            "hash": "sha256",
            "content": {"type": "post", "text": "seed %d" % seq},
        }
        signing = json.dumps(msg, indent=2).encode()
        msg["signature"] = base64.b64encode(sk.sign(signing)).decode() + ".sig.ed25519"
        text = json.dumps(msg, indent=2).encode()
        prev = "%" + base64.b64encode(hashlib.sha256(text).digest()).decode() + ".sha256"
        out.append(msg)
    return author, out


def node_id():
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    from cryptography.hazmat.primitives import serialization

    sk = Ed25519PrivateKey.from_private_bytes(bytes([1] * 32))
    return feed_id(sk.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw))


def sessions():
    peer, msgs = peer_feed(4)
    me = node_id()
    blob = "&" + base64.b64encode(hashlib.sha256(b"seed blob").digest()).decode() + ".sha256"
    # mode byte (bit 0 we dialled, bit 1 legacy, bit 2 goodbye), write-size byte, plaintext.
    ebt = frame(1, {"name": ["ebt", "replicate"], "type": "duplex", "args": [{"version": 3, "format": "classic"}]}, stream=True)
    ebt += frame(1, {me: 0, peer: 8}, stream=True)
    for m in msgs:
        ebt += frame(1, m, stream=True)
    write("node_session", "ebt-incoming", bytes([0, 255]) + ebt)
    write("node_session", "ebt-incoming-goodbye-small-writes", bytes([4, 0]) + ebt)
    # We dialled: the node calls ebt.replicate as request 1; the peer answers on -1.
    ans = frame(-1, {me: 0, peer: 8}, stream=True)
    for m in msgs:
        ans += frame(-1, m, stream=True)
    write("node_session", "ebt-answer", bytes([1, 255]) + ans)
    hist = frame(2, {"name": ["createHistoryStream"], "type": "source", "args": [{"id": me, "seq": 1, "live": True, "keys": True}]}, stream=True)
    hist += frame(3, {"name": ["createHistoryStream"], "type": "source", "args": [{"id": me, "limit": 2, "keys": False}]}, stream=True)
    hist += frame(-2, {"key": "x", "value": msgs[0]}, stream=True)
    write("node_session", "history", bytes([2, 255]) + hist)
    # Legacy replication answered by the peer (we dialled: our createHistoryStream is -1... -n).
    leg = b"".join(frame(-i, m, stream=True) for i in (1, 2) for m in msgs)
    write("node_session", "legacy-answer", bytes([3, 255]) + leg)
    calls = frame(4, {"name": ["whoami"], "type": "async", "args": []})
    calls += frame(5, {"name": ["blobs", "has"], "type": "async", "args": [blob]})
    calls += frame(6, {"name": ["blobs", "get"], "type": "source", "args": [blob]}, stream=True)
    calls += frame(7, {"name": ["blobs", "createWants"], "type": "source", "args": []}, stream=True)
    calls += frame(-7, {blob: -1}, stream=True)
    calls += frame(8, {"name": ["blobs", "add"], "type": "sink", "args": []}, stream=True)
    calls += frame(8, b"seed blob", stream=True, kind="binary")
    calls += frame(8, True, stream=True, end=True)
    calls += frame(9, {"name": ["gossip", "ping"], "type": "duplex", "args": [{"timeout": 1000}]}, stream=True)
    calls += frame(10, {"name": ["nope"], "type": "async", "args": []})
    calls += frame(11, "a string body", kind="string")
    calls += frame(1, True, stream=True, end=True)
    write("node_session", "calls", bytes([0, 7]) + calls)
    write("node_session", "goodbye", bytes([4, 255]) + bytes(9))


# --- store_records and store_recover ----------------------------------------------------------

def stores():
    good = b"".join(bytes([0, k, 0, 0]) for k in range(8))
    write("store_records", "good", b"\x00" + good)
    write("store_records", "torn-tail", b"\x00" + good[:16] + bytes([2, 4, 77, 0]) + bytes([3, 0, 200, 0]))
    write("store_records", "damaged-last", b"\x00" + good[:16] + bytes([1, 4, 130, 0]))
    write("store_records", "damaged-middle", b"\x02" + good[:8] + bytes([1, 2, 9, 3]) + good[8:])
    write("store_records", "forged", b"\x00" + good[:8] + bytes([5, 2, 40, 0]) + good[12:16])
    # A forgery that lands inside a multi-byte character (found by fuzzing the target itself).
    write("store_records", "forged-inside-a-character", b"SS@\x0c\x0d")
    write("store_records", "garbage-then-good", b"\x00" + good[:8] + bytes([4, 0, 255, 0xEE]) + good[8:12])
    write("store_recover", "fixture", bytes([2]))
    write("store_recover", "fixture-and-index", bytes([6]))
    write("store_recover", "header-only", bytes([1]))


if __name__ == "__main__":
    from_vectors()
    stores()
    sessions()
    total = 0
    for d, _, files in os.walk(CORPUS):
        for f in files:
            if f.startswith("seed-"):
                total += os.path.getsize(os.path.join(d, f))
    print("seeds: %d bytes" % total)
