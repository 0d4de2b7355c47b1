//! The argument and answer edits behind the fault switches ([`super::table`]): each one a bug
//! an implementer could plausibly write, applied around the reference's correct code.

use serde_json::{json, Map, Value};
use ssb_impl::legacy::{self, JsString, Mode};
use ssb_vectors::reference::{self, OpError};

// ---- helpers ----------------------------------------------------------------------------------

fn set(v: &mut Value, key: &str, x: Value) {
    if let Some(o) = v.as_object_mut() {
        o.insert(key.into(), x);
    }
}

fn remove(v: &mut Value, key: &str) {
    if let Some(o) = v.as_object_mut() {
        o.shift_remove(key);
    }
}

/// The createHistoryStream options object of a `history.query` (the first call argument).
fn history_opts(args: &mut Value) -> Option<&mut Map<String, Value>> {
    args.get_mut("args")?.get_mut(0)?.as_object_mut()
}

fn hex_field(v: &Value, key: &str) -> Option<Vec<u8>> {
    hex::decode(v.get(key)?.as_str()?).ok()
}

/// The `legacy.encode` answer for a signing encoding given as text.
fn encode_answer(text: &str) -> Value {
    let units: Vec<u16> = text.encode_utf16().collect();
    json!({
        "signing": hex::encode(text),
        "length": units.len(),
        "sha256": hex::encode(legacy::latin1_sha256(&units)),
    })
}

// ---- shs --------------------------------------------------------------------------------------

pub fn shs_accept_everyone(a: &mut Value) {
    set(a, "accept_client", Value::Bool(true));
}

pub fn shs_swap_nonces(_: &Value, v: &mut Value) {
    if let Some(o) = v.get_mut("outcome").and_then(Value::as_object_mut) {
        let e = o.get("encrypt_nonce").cloned();
        let d = o.get("decrypt_nonce").cloned();
        if let (Some(e), Some(d)) = (e, d) {
            o.insert("encrypt_nonce".into(), d);
            o.insert("decrypt_nonce".into(), e);
        }
    }
}

// ---- boxstream --------------------------------------------------------------------------------

pub fn box_no_goodbye(a: &mut Value) {
    set(a, "goodbye", Value::Bool(false));
}

pub fn box_join_bodies(_: &Value, v: &mut Value) {
    if let Some(bodies) = v.get("bodies").and_then(Value::as_array) {
        let joined: String = bodies.iter().filter_map(Value::as_str).collect();
        let merged = if bodies.is_empty() {
            vec![]
        } else {
            vec![Value::String(joined)]
        };
        set(v, "bodies", Value::Array(merged));
    }
}

/// Encrypts with a nonce counter kept in a u64 over the last 8 bytes: it wraps without carrying
/// into the first 16 bytes.
pub fn box_u64_nonce(args: &Value, r: Result<Value, OpError>) -> Result<Value, OpError> {
    let (Ok(key), Ok(nonce)) = (
        reference::array_arg::<32>(args, "key"),
        reference::array_arg::<24>(args, "nonce"),
    ) else {
        return r;
    };
    let writes: Vec<Vec<u8>> = match args.get("writes").and_then(Value::as_array) {
        Some(w) => w
            .iter()
            .filter_map(|x| x.as_str())
            .filter_map(|s| hex::decode(s).ok())
            .collect(),
        None => return r,
    };
    let goodbye = args.get("goodbye").and_then(Value::as_bool).unwrap_or(false);
    let bump = |n: &mut [u8; 24], by: u64| {
        let mut low = [0u8; 8];
        low.copy_from_slice(&n[16..]);
        let x = u64::from_be_bytes(low).wrapping_add(by);
        n[16..].copy_from_slice(&x.to_be_bytes());
    };
    let mut n = nonce;
    let mut out = Vec::new();
    for w in &writes {
        for chunk in w.chunks(4096) {
            let mut enc = ssb_impl::boxstream::Encrypter::new(key, n);
            enc.encrypt(chunk, &mut out);
            bump(&mut n, 2);
        }
    }
    if goodbye {
        ssb_impl::boxstream::Encrypter::new(key, n).goodbye(&mut out);
    }
    Ok(json!({ "output": hex::encode(out) }))
}

// ---- feed-legacy ------------------------------------------------------------------------------

pub fn legacy_no_hmac(a: &mut Value) {
    set(a, "hmac_key", Value::Null);
}

fn parse_message(args: &Value) -> Option<legacy::Value> {
    let bytes = reference::bytes_arg(args, "message").ok()?;
    legacy::parse(&bytes, Mode::JsCompat).ok()
}

/// Checks the 8192 limit on the UTF-8 bytes of the signing encoding, not its UTF-16 units.
pub fn legacy_size_in_bytes(args: &Value, r: Result<Value, OpError>) -> Result<Value, OpError> {
    match (&r, parse_message(args)) {
        (Ok(_), Some(m)) => {
            let units = legacy::to_signing_units(&m);
            if String::from_utf16_lossy(&units).len() > 8192 {
                return Err(OpError::new("too_long", "signing encoding over 8192 bytes"));
            }
            r
        }
        _ => r,
    }
}

/// The message id hashed over the compact JSON (`JSON.stringify(msg)`) instead of the signing
/// encoding.
pub fn legacy_id_compact(args: &Value, v: &mut Value) {
    if let Some(m) = parse_message(args) {
        let units = legacy::to_compact_units(&m);
        let id = ssb_impl::legacy::message::MsgId(legacy::latin1_sha256(&units));
        set(v, "id", Value::String(id.to_string()));
    }
}

/// Rebuilds `v` with `f` applied to every number and string (keys stay as they are).
fn map_leaves(v: &legacy::Value, f: &mut dyn FnMut(&legacy::Value) -> legacy::Value) -> legacy::Value {
    match v {
        legacy::Value::Array(a) => legacy::Value::Array(a.iter().map(|x| map_leaves(x, f)).collect()),
        legacy::Value::Object(o) => {
            let mut out = legacy::Object::new();
            for (k, x) in o.iter() {
                out.insert(k.clone(), map_leaves(x, f));
            }
            legacy::Value::Object(out)
        }
        other => f(other),
    }
}

fn replace_lone_surrogates(v: &mut legacy::Value) {
    *v = map_leaves(v, &mut |x| match x {
        legacy::Value::String(s) => {
            legacy::Value::String(JsString::from(String::from_utf16_lossy(&s.0).as_str()))
        }
        other => other.clone(),
    });
}

/// Strings are decoded lossily (lone surrogates become U+FFFD) before the signature is checked.
pub fn legacy_lossy_strings(a: &mut Value) {
    let Some(mut m) = parse_message(a) else { return };
    replace_lone_surrogates(&mut m);
    let text = String::from_utf16_lossy(&legacy::to_compact_units(&m));
    set(a, "message", Value::String(hex::encode(text)));
}

/// Verifies ed25519 the lenient way: S reduced mod L, the key not checked for small order, the
/// cofactorless equation on R's bytes.
fn lenient_verify(public: &[u8; 32], msg: &[u8], sig: &[u8; 64]) -> bool {
    use curve25519_dalek::edwards::CompressedEdwardsY;
    use curve25519_dalek::scalar::Scalar;
    use curve25519_dalek::EdwardsPoint;
    let Some(a) = CompressedEdwardsY(*public).decompress() else {
        return false;
    };
    let mut s_bytes = [0u8; 32];
    s_bytes.copy_from_slice(&sig[32..]);
    let s = Scalar::from_bytes_mod_order(s_bytes);
    let mut h = Vec::with_capacity(64 + msg.len());
    h.extend_from_slice(&sig[..32]);
    h.extend_from_slice(public);
    h.extend_from_slice(msg);
    let k = Scalar::from_bytes_mod_order_wide(&ssb_impl::crypto::sha512(&h));
    let r = EdwardsPoint::vartime_double_scalar_mul_basepoint(&k, &(-a), &s);
    r.compress().to_bytes()[..] == sig[..32]
}

pub fn legacy_lenient_signature(args: &Value, r: Result<Value, OpError>) -> Result<Value, OpError> {
    let Err(e) = &r else { return r };
    if e.kind != "invalid_signature" {
        return r;
    }
    let Some(legacy::Value::Object(full)) = parse_message(args) else {
        return r;
    };
    let author = full
        .get("author")
        .and_then(|a| a.as_str())
        .map(|s| s.to_string_lossy());
    let sig = full
        .get("signature")
        .and_then(|a| a.as_str())
        .map(|s| s.to_string_lossy());
    let (Some(author), Some(sig)) = (author, sig) else {
        return r;
    };
    let Ok(id) = ssb_impl::FeedId::parse(&author) else {
        return r;
    };
    let Some(sig) = sig
        .strip_suffix(".sig.ed25519")
        .and_then(ssb_impl::legacy::message::canonical_b64)
        .and_then(|b| <[u8; 64]>::try_from(b).ok())
    else {
        return r;
    };
    let unsigned = full.without("signature");
    let hmac = args
        .get("hmac_key")
        .and_then(Value::as_str)
        .and_then(ssb_impl::legacy::message::canonical_b64)
        .and_then(|b| <[u8; 32]>::try_from(b).ok());
    let signed = ssb_impl::legacy::message::signed_bytes(&unsigned, hmac.as_ref());
    if lenient_verify(&id.0, &signed, &sig) {
        let id = ssb_impl::legacy::message::message_id(&full).to_string();
        return Ok(json!({ "id": id }));
    }
    r
}

/// Non-ASCII characters written as `\uXXXX` escapes (an ASCII-only JSON writer).
pub fn legacy_ascii_escapes(_: &Value, v: &mut Value) {
    let Some(bytes) = hex_field(v, "signing") else {
        return;
    };
    let text = String::from_utf8_lossy(&bytes);
    let mut out = String::new();
    for c in text.chars() {
        if (c as u32) < 0x7f {
            out.push(c);
        } else {
            let mut buf = [0u16; 2];
            for u in c.encode_utf16(&mut buf) {
                out.push_str(&format!("\\u{:04x}", u));
            }
        }
    }
    *v = encode_answer(&out);
}

/// Pretty-printed by a generic JSON library: keys in input order, its own number format.
pub fn legacy_generic_json(args: &Value, r: Result<Value, OpError>) -> Result<Value, OpError> {
    let Ok(bytes) = reference::bytes_arg(args, "json") else {
        return r;
    };
    match serde_json::from_slice::<Value>(&bytes) {
        Ok(v) => {
            let text = serde_json::to_string_pretty(&v).unwrap_or_default();
            Ok(encode_answer(&text))
        }
        Err(e) => Err(OpError::new("invalid_json", e.to_string())),
    }
}

/// Numbers written with Rust's float formatting instead of ECMAScript's Number::toString.
pub fn legacy_rust_numbers(args: &Value, r: Result<Value, OpError>) -> Result<Value, OpError> {
    let Ok(_) = &r else { return r };
    let Ok(bytes) = reference::bytes_arg(args, "json") else {
        return r;
    };
    let Ok(mut v) = legacy::parse(&bytes, Mode::JsCompat) else {
        return r;
    };
    let mut numbers = Vec::new();
    mark_numbers(&mut v, &mut numbers);
    let mut text = String::from_utf16_lossy(&legacy::to_signing_units(&v));
    for (i, x) in numbers.iter().enumerate() {
        let rust = if x.is_finite() {
            format!("{x}")
        } else {
            "null".into()
        };
        text = text.replacen(&format!("\"\\u0000{i}\""), &rust, 1);
    }
    Ok(encode_answer(&text))
}

fn mark_numbers(v: &mut legacy::Value, out: &mut Vec<f64>) {
    *v = map_leaves(v, &mut |x| match x {
        legacy::Value::Number(n) => {
            let i = out.len();
            out.push(*n);
            legacy::Value::String(JsString::from(format!("\u{0}{i}").as_str()))
        }
        other => other.clone(),
    });
}

// ---- feed-bendybutt ---------------------------------------------------------------------------

pub fn bb_no_hmac(a: &mut Value) {
    set(a, "hmac_key", Value::Null);
}

/// Message keys written in standard base64 instead of the URL-safe alphabet of `ssb:` URIs.
pub fn bb_standard_base64_keys(_: &Value, v: &mut Value) {
    if let Some(keys) = v.get_mut("keys").and_then(Value::as_array_mut) {
        for k in keys {
            if let Some(s) = k.as_str() {
                *k = Value::String(s.replace('-', "+").replace('_', "/"));
            }
        }
    }
}

// ---- muxrpc -----------------------------------------------------------------------------------

/// The stream and end flag bits swapped in every header written, and read back the same way.
pub fn mux_swap_flag_bits(_: &Value, v: &mut Value) {
    if let Some(out) = hex_field(v, "output") {
        let mut b = out;
        let mut i = 0;
        while i + 9 <= b.len() {
            let len = u32::from_be_bytes([b[i + 1], b[i + 2], b[i + 3], b[i + 4]]) as usize;
            let f = b[i];
            b[i] = (f & !0x0c) | ((f & 0x08) >> 1) | ((f & 0x04) << 1);
            i += 9 + len;
        }
        set(v, "output", Value::String(hex::encode(b)));
    }
    if let Some(ps) = v.get_mut("packets").and_then(Value::as_array_mut) {
        for p in ps {
            let s = p.get("stream").cloned();
            let e = p.get("end").cloned();
            if let (Some(s), Some(e)) = (s, e) {
                set(p, "stream", e);
                set(p, "end", s);
            }
        }
    }
}

fn endpoint_steps(v: &mut Value) -> impl Iterator<Item = &mut Value> {
    v.get_mut("steps")
        .and_then(Value::as_array_mut)
        .into_iter()
        .flat_map(|s| s.iter_mut())
}

pub fn mux_no_fault(_: &Value, v: &mut Value) {
    set(v, "fault", Value::Null);
}

pub fn mux_uncounted(_: &Value, v: &mut Value) {
    set(v, "unknown_packets", json!(0));
}

pub fn mux_no_max_refused(a: &mut Value) {
    if let Some(l) = a.get_mut("limits") {
        remove(l, "max_refused");
    }
}

pub fn mux_no_max_streams(a: &mut Value) {
    if let Some(l) = a.get_mut("limits") {
        remove(l, "max_streams");
    }
}

fn is_refusal(p: &Value) -> bool {
    p.get("end") == Some(&Value::Bool(true)) && p.get("body") == Some(&json!({"error": true}))
}

/// Calls it cannot serve are dropped silently instead of refused with an error end.
pub fn mux_no_refusals(_: &Value, v: &mut Value) {
    for step in endpoint_steps(v) {
        if let Some(sent) = step.get_mut("sent").and_then(Value::as_array_mut) {
            sent.retain(|p| !is_refusal(p));
        }
    }
}

/// A call without `args` is passed on with `null` args instead of `[]`.
pub fn mux_null_args(_: &Value, v: &mut Value) {
    for step in endpoint_steps(v) {
        if let Some(events) = step.get_mut("events").and_then(Value::as_array_mut) {
            for e in events {
                if let Some(c) = e.get_mut("call") {
                    if c.get("args") == Some(&json!([])) {
                        set(c, "args", Value::Null);
                    }
                }
            }
        }
    }
}

/// An end is reported every time the peer sends one.
pub fn mux_double_end(_: &Value, v: &mut Value) {
    for step in endpoint_steps(v) {
        if let Some(events) = step.get_mut("events").and_then(Value::as_array_mut) {
            let ends: Vec<Value> = events
                .iter()
                .filter(|e| e.get("end").is_some())
                .cloned()
                .collect();
            events.extend(ends);
        }
    }
}

/// A stream the peer ends is not ended on our side.
pub fn mux_no_closing_end(_: &Value, v: &mut Value) {
    for step in endpoint_steps(v) {
        if let Some(sent) = step.get_mut("sent").and_then(Value::as_array_mut) {
            sent.retain(|p| {
                !(p.get("end") == Some(&Value::Bool(true))
                    && p.get("stream") == Some(&Value::Bool(true))
                    && !is_refusal(p))
            });
        }
    }
}

/// An error answer to our async call is taken as a success.
pub fn mux_error_as_ok(_: &Value, v: &mut Value) {
    for step in endpoint_steps(v) {
        if let Some(events) = step.get_mut("events").and_then(Value::as_array_mut) {
            for e in events {
                if let Some(r) = e.get_mut("response").and_then(Value::as_object_mut) {
                    if let Some(err) = r.shift_remove("error") {
                        r.insert("ok".into(), err);
                    }
                }
            }
        }
    }
}

pub fn mux_no_goodbye(_: &Value, v: &mut Value) {
    for step in endpoint_steps(v) {
        if let Some(sent) = step.get_mut("sent").and_then(Value::as_array_mut) {
            sent.retain(|p| p != "goodbye");
        }
    }
}

/// Incoming packets of one read dispatched by kind, new calls first, not in arrival order.
pub fn mux_calls_first(_: &Value, v: &mut Value) {
    for step in endpoint_steps(v) {
        if let Some(events) = step.get_mut("events").and_then(Value::as_array_mut) {
            events.sort_by_key(|e| e.get("call").is_none());
        }
    }
}

/// Only the first data packet a step delivers reaches the caller.
pub fn mux_first_data_only(_: &Value, v: &mut Value) {
    for step in endpoint_steps(v) {
        if let Some(events) = step.get_mut("events").and_then(Value::as_array_mut) {
            let mut seen = false;
            events.retain(|e| {
                if e.get("data").is_some() {
                    let keep = !seen;
                    seen = true;
                    keep
                } else {
                    true
                }
            });
        }
    }
}

/// Every answer body is reported as JSON, whatever its type.
pub fn mux_all_json(_: &Value, v: &mut Value) {
    for step in endpoint_steps(v) {
        if let Some(events) = step.get_mut("events").and_then(Value::as_array_mut) {
            for e in events {
                if let Some(r) = e.get_mut("response") {
                    if r.get("type").is_some() {
                        set(r, "type", json!("json"));
                    }
                }
            }
        }
    }
}

// ---- ebt --------------------------------------------------------------------------------------

/// The receive bit inverted: notes encode `receive` as 1 instead of 0, and decode it so.
pub fn ebt_receive_inverted(_: &Value, v: &mut Value) {
    match v {
        Value::Number(n) => {
            if let Some(x) = n.as_i64().filter(|x| *x >= 0) {
                *v = json!(x ^ 1);
            }
        }
        Value::Object(o) => {
            if let Some(Value::Bool(b)) = o.get("receive").cloned() {
                o.insert("receive".into(), Value::Bool(!b));
            }
            for (_, x) in o.iter_mut() {
                if let Some(i) = x.as_i64().filter(|i| *i >= 0) {
                    *x = json!(i ^ 1);
                }
            }
        }
        _ => {}
    }
}

/// Notes kept in an i32: encodings past 2^31 wrap.
pub fn ebt_i32_notes(_: &Value, v: &mut Value) {
    if let Some(x) = v.as_i64() {
        *v = json!(x as i32);
    }
    if let Some(o) = v.as_object_mut() {
        if let Some(s) = o.get("sequence").and_then(Value::as_i64) {
            o.insert("sequence".into(), json!(s as i32));
        }
    }
}

/// Integral floats (2.0, -0) refused as notes: only JSON integers are read.
pub fn ebt_integers_only(args: &Value, r: Result<Value, OpError>) -> Result<Value, OpError> {
    let refuse = || {
        Err(OpError::new(
            "not_an_integer",
            "a note must be written as an integer",
        ))
    };
    if let Some(x) = args.get("value") {
        if x.is_f64() {
            return refuse();
        }
    }
    if let Some(text) = args.get("json").and_then(Value::as_str) {
        if let Ok(Value::Object(o)) = serde_json::from_str::<Value>(text) {
            if o.values().any(Value::is_f64) {
                return refuse();
            }
        }
    }
    r
}

/// Request skipping forgotten: every feed goes into the opening clock.
pub fn ebt_forget_remembered(a: &mut Value) {
    set(a, "remembered", Value::Null);
}

/// A feed the peer answered -1 for last time is never asked for again: left out of the
/// opening clock even though we replicate it.
pub fn ebt_stale_block_kept(args: &Value, v: &mut Value) {
    let blocked: Vec<String> = args
        .get("remembered")
        .and_then(Value::as_object)
        .map(|o| {
            o.iter()
                .filter(|(_, x)| x.as_i64() == Some(-1))
                .map(|(k, _)| k.clone())
                .collect()
        })
        .unwrap_or_default();
    if let Some(o) = v.get_mut("opening").and_then(Value::as_object_mut) {
        o.retain(|k, _| !blocked.contains(k));
    }
}

fn step_notes(a: &mut Value) -> impl Iterator<Item = &mut Map<String, Value>> {
    a.get_mut("steps")
        .and_then(Value::as_array_mut)
        .into_iter()
        .flat_map(|s| s.iter_mut())
        .filter_map(|s| s.get_mut("notes").and_then(Value::as_object_mut))
}

/// The peer's receive flag ignored: a lazy note is read as an eager one.
pub fn ebt_ignore_lazy(a: &mut Value) {
    for notes in step_notes(a) {
        for (_, x) in notes.iter_mut() {
            if let Some(n) = x.as_i64().filter(|n| *n > 0 && n & 1 == 1) {
                *x = json!(n & !1);
            }
        }
    }
}

/// The peer's -1 (do not replicate) read as 0.
pub fn ebt_peer_minus_one_as_zero(a: &mut Value) {
    for notes in step_notes(a) {
        for (_, x) in notes.iter_mut() {
            if x.as_i64() == Some(-1) {
                *x = json!(0);
            }
        }
    }
}

/// Messages sent from the peer's sequence itself instead of the one after it.
pub fn ebt_send_from_off_by_one(_: &Value, v: &mut Value) {
    if let Some(steps) = v.get_mut("steps").and_then(Value::as_array_mut) {
        for actions in steps.iter_mut().filter_map(Value::as_array_mut) {
            for a in actions {
                if let Some(s) = a.get_mut("send").and_then(Value::as_object_mut) {
                    if let Some(from) = s.get("from").and_then(Value::as_i64) {
                        s.insert("from".into(), json!(from - 1));
                    }
                }
            }
        }
    }
}

/// Feeds at sequence 0 left out of the opening clock.
pub fn ebt_opening_skips_empty(_: &Value, v: &mut Value) {
    if let Some(o) = v.get_mut("opening").and_then(Value::as_object_mut) {
        o.retain(|_, x| !matches!(x.as_i64(), Some(0) | Some(1)));
    }
}

/// `want` requests from the application ignored.
pub fn ebt_ignore_want(args: &Value, v: &mut Value) {
    let wants: Vec<bool> = args
        .get("steps")
        .and_then(Value::as_array)
        .map(|s| s.iter().map(|x| x.get("want").is_some()).collect())
        .unwrap_or_default();
    if let Some(steps) = v.get_mut("steps").and_then(Value::as_array_mut) {
        for (i, s) in steps.iter_mut().enumerate() {
            if wants.get(i) == Some(&true) {
                *s = json!([]);
            }
        }
    }
}

// ---- history ----------------------------------------------------------------------------------

pub fn hist_ignore_keys(a: &mut Value) {
    if let Some(o) = history_opts(a) {
        o.shift_remove("keys");
    }
}

pub fn hist_ignore_limit(a: &mut Value) {
    if let Some(o) = history_opts(a) {
        o.shift_remove("limit");
    }
}

pub fn hist_ignore_live(a: &mut Value) {
    if let Some(o) = history_opts(a) {
        o.shift_remove("live");
        o.shift_remove("old");
    }
}

/// The limit applied to the stored messages only; live ones are not counted.
pub fn hist_live_unlimited(a: &mut Value) {
    if let Some(o) = history_opts(a) {
        if o.get("live") == Some(&Value::Bool(true)) {
            o.shift_remove("limit");
        }
    }
}

/// `seq` taken as exclusive: the stream starts one after it.
pub fn hist_seq_exclusive(a: &mut Value) {
    if let Some(o) = history_opts(a) {
        if let Some(s) = o.get("seq").and_then(Value::as_i64).filter(|s| *s >= 1) {
            o.insert("seq".into(), json!(s + 1));
        }
    }
}

/// Invalid options ignored: the stream is served as if they were absent.
pub fn hist_options_unchecked(_: &Value, v: &mut Value) {
    if v.get("error").is_some_and(|e| !e.is_null()) {
        set(v, "error", Value::Null);
    }
}

/// Messages with one timestamp served newest first.
pub fn hist_ties_reversed(_: &Value, v: &mut Value) {
    let Some(items) = v.get_mut("items").and_then(Value::as_array_mut) else {
        return;
    };
    let ts = |x: &Value| {
        x.get("value")
            .unwrap_or(x)
            .get("timestamp")
            .and_then(Value::as_f64)
    };
    let mut i = 0;
    while i < items.len() {
        let mut j = i + 1;
        while j < items.len() && ts(&items[j]).is_some() && ts(&items[j]) == ts(&items[i]) {
            j += 1;
        }
        items[i..j].reverse();
        i = j;
    }
}

/// A feed the node holds nothing of ends the stream with an error.
pub fn hist_unknown_feed_errors(args: &Value, v: &mut Value) {
    let feed_known = |id: &str| {
        args.get("feed").and_then(Value::as_array).is_some_and(|f| {
            f.iter()
                .any(|m| m.get("author").and_then(Value::as_str) == Some(id))
        })
    };
    let id = args
        .get("args")
        .and_then(|a| a.get(0))
        .and_then(|o| o.get("id"))
        .and_then(Value::as_str)
        .map(str::to_string);
    if let Some(id) = id {
        if !feed_known(&id) && v.get("error") == Some(&Value::Null) {
            set(v, "error", json!("unknown_feed"));
        }
    }
}

// ---- box1, box2, groups -----------------------------------------------------------------------

pub fn box1_fixed_nonce(a: &mut Value) {
    set(a, "nonce", Value::String("00".repeat(24)));
}

/// The plaintext's last byte lost (a length off by one).
pub fn plaintext_short(_: &Value, v: &mut Value) {
    if let Some(p) = v.get("plaintext").and_then(Value::as_str) {
        let cut = p.len().saturating_sub(2);
        let short = p[..cut].to_string();
        set(v, "plaintext", Value::String(short));
    }
}

pub fn box2_no_read_key(_: &Value, v: &mut Value) {
    remove(v, "read_key");
}

/// The message context (feed and previous) built without `previous`.
pub fn box2_ignore_previous(a: &mut Value) {
    if a.get("previous").is_some_and(|p| !p.is_null()) {
        set(a, "previous", Value::Null);
    }
}

/// Only classic feed ids understood.
pub fn box2_classic_only(args: &Value, r: Result<Value, OpError>) -> Result<Value, OpError> {
    let feed = args.get("feed").and_then(Value::as_str).unwrap_or("");
    if feed.starts_with("ssb:feed/") {
        return Err(OpError::new("unsupported_feed_format", "only @….ed25519 feeds"));
    }
    r
}

/// Keys written in reverse byte order.
pub fn key_reversed(_: &Value, v: &mut Value) {
    if let Some(k) = hex_field(v, "key") {
        let rev: Vec<u8> = k.into_iter().rev().collect();
        set(v, "key", Value::String(hex::encode(rev)));
    }
}

/// The DM key's two info blobs sorted as JavaScript's default `Array#sort` compares them
/// (as strings), not bytewise as the spec says.
pub fn groups_js_sorted_dm(args: &Value, r: Result<Value, OpError>) -> Result<Value, OpError> {
    use ssb_impl::bendybutt::bfe::FeedRef;
    use ssb_impl::private::groups::{dm_key_for_feeds, InfoOrder};
    let Ok(mut v) = r else { return r };
    let feeds = (
        args.get("my_feed")
            .and_then(Value::as_str)
            .and_then(|s| FeedRef::parse(s).ok()),
        args.get("your_feed")
            .and_then(Value::as_str)
            .and_then(|s| FeedRef::parse(s).ok()),
    );
    if let (Ok(seed), (Some(mine), Some(yours))) = (reference::array_arg::<32>(args, "my_seed"), feeds) {
        let me = ssb_impl::Keypair::from_seed(seed);
        if let Ok(k) = dm_key_for_feeds(&me, &mine, &yours, InfoOrder::JsString) {
            set(&mut v, "key", Value::String(hex::encode(k.key)));
        }
    }
    Ok(v)
}

/// The group id cloaked with the group key itself, the init message never opened for its read
/// key.
pub fn groups_id_from_group_key(args: &Value, r: Result<Value, OpError>) -> Result<Value, OpError> {
    let (Some(id), Some(key)) = (args.get("init").and_then(|i| i.get("key")), args.get("group_key")) else {
        return r;
    };
    match reference::dispatch("groups.cloaked_id", &json!({"msg_id": id, "read_key": key})) {
        Ok(v) => Ok(json!({ "group_id": v["group_id"] })),
        Err(_) => r,
    }
}

/// The group id written in standard base64 instead of the URL-safe alphabet.
pub fn groups_standard_base64(_: &Value, v: &mut Value) {
    if let Some(g) = v.get("group_id").and_then(Value::as_str) {
        let s = g.replace('-', "+").replace('_', "/");
        set(v, "group_id", Value::String(s));
    }
    if let Some(c) = hex_field(v, "cloaked") {
        let rev: Vec<u8> = c.into_iter().rev().collect();
        set(v, "cloaked", Value::String(hex::encode(rev)));
    }
}

fn schema_skip(args: &Value, r: Result<Value, OpError>, schema: &str) -> Result<Value, OpError> {
    match &r {
        Err(e)
            if e.kind == "schema_mismatch" && args.get("schema").and_then(Value::as_str) == Some(schema) =>
        {
            Ok(json!({ "valid": true }))
        }
        _ => r,
    }
}

pub fn groups_init_unchecked(args: &Value, r: Result<Value, OpError>) -> Result<Value, OpError> {
    schema_skip(args, r, "init_root")
}

pub fn groups_add_member_unchecked(args: &Value, r: Result<Value, OpError>) -> Result<Value, OpError> {
    schema_skip(args, r, "add_member")
}

pub fn groups_content_unchecked(args: &Value, r: Result<Value, OpError>) -> Result<Value, OpError> {
    schema_skip(args, r, "content")
}

/// Tangle `previous` lists checked as if every item had to be a message id.
pub fn groups_strict_tuples(args: &Value, r: Result<Value, OpError>) -> Result<Value, OpError> {
    fn non_string_in_previous(v: &Value) -> bool {
        match v {
            Value::Object(o) => o.iter().any(|(k, x)| {
                (k == "previous" && x.as_array().is_some_and(|a| a.iter().any(|i| !i.is_string())))
                    || non_string_in_previous(x)
            }),
            Value::Array(a) => a.iter().any(non_string_in_previous),
            _ => false,
        }
    }
    if r.is_ok() && args.get("content").is_some_and(non_string_in_previous) {
        return Err(OpError::new("schema_mismatch", "previous items must be ids"));
    }
    r
}
