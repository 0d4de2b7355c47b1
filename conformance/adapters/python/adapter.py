#!/usr/bin/env python3
"""An ssb-harness adapter skeleton in Python: the adapter protocol of conformance/ADAPTER.md
(one JSON request per line in, one response per line out) with the boxstream suite
implemented on PyNaCl's secretbox. Add a suite: list it in CAPS and add its ops to OPS."""
import json
import sys

from nacl.exceptions import CryptoError
from nacl.secret import SecretBox

CAPS = {"name": "python-skeleton", "version": "pynacl", "suites": ["boxstream"]}
GOODBYE = bytes(18)  # a header whose body length and body MAC are all zero


class OpError(Exception):
    def __init__(self, kind, message=""):
        super().__init__(message)
        self.kind = kind


def bump(nonce, by=1):  # nonces are 24-byte big-endian counters that wrap
    return ((int.from_bytes(nonce, "big") + by) % (1 << 192)).to_bytes(24, "big")


def seal(box, nonce, data):  # secretbox without the nonce prefix: MAC (16 bytes) then ciphertext
    return box.encrypt(data, nonce).ciphertext


def encrypt(a):
    box, nonce, out = SecretBox(bytes.fromhex(a["key"])), bytes.fromhex(a["nonce"]), b""
    bodies = [w[i:i + 4096] for w in map(bytes.fromhex, a["writes"]) for i in range(0, len(w), 4096)]
    for body in bodies:
        sealed = seal(box, bump(nonce), body)  # the body first: its MAC goes into the header
        out += seal(box, nonce, len(body).to_bytes(2, "big") + sealed[:16]) + sealed[16:]
        nonce = bump(nonce, 2)
    if a.get("goodbye"):
        out += seal(box, nonce, GOODBYE)
    return {"output": out.hex()}


def decrypt(a):
    box, nonce, data = SecretBox(bytes.fromhex(a["key"])), bytes.fromhex(a["nonce"]), bytes.fromhex(a["input"])
    bodies, at = [], 0
    while True:
        if len(data) - at < 34:
            raise OpError("truncated", "input ends inside a header or before the goodbye")
        try:
            header = box.decrypt(data[at:at + 34], nonce)
        except CryptoError:
            raise OpError("header_auth_failed")
        at += 34
        length = int.from_bytes(header[:2], "big")
        if header == GOODBYE:
            if at != len(data):
                raise OpError("data_after_goodbye")
            return {"bodies": bodies}
        if length > 4096:
            raise OpError("body_too_long", f"{length} bytes")
        if length == 0:
            raise OpError("empty_body")
        if len(data) - at < length:
            raise OpError("truncated", "input ends inside a body")
        try:
            bodies.append(box.decrypt(header[2:] + data[at:at + length], bump(nonce)).hex())
        except CryptoError:
            raise OpError("body_auth_failed")
        at, nonce = at + length, bump(nonce, 2)


OPS = {"capabilities": lambda a: CAPS, "boxstream.encrypt": encrypt, "boxstream.decrypt": decrypt}

for line in sys.stdin:
    if not line.strip():
        continue
    req = json.loads(line)
    try:
        op = OPS.get(req.get("op"))
        if op is None:
            raise OpError("unsupported", f"no op {req.get('op')!r}")
        reply = {"id": req.get("id"), "ok": op(req.get("args", {}))}
    except OpError as e:
        reply = {"id": req.get("id"), "error": {"kind": e.kind, "message": str(e)}}
    except (KeyError, ValueError, TypeError) as e:
        reply = {"id": req.get("id"), "error": {"kind": "invalid_args", "message": repr(e)}}
    print(json.dumps(reply), flush=True)
