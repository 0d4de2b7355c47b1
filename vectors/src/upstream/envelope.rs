//! Loader and checker for `envelope-spec/` (ssbc/envelope-spec v1.1.1): the seven vectors in
//! `vectors/` (box, box refused for an empty plaintext, unbox, DeriveSecret, slot, unslot,
//! cloaked id) run through `ssb_impl::private::box2`, and the label and error-code constants
//! compared with ours. Every file of `vectors/` is dispatched on its `type`, so a file of a type
//! we do not know is a failure, not a silent skip. Binary fields are standard base64; ids are
//! BFE (type-format-key) bytes.

use std::path::Path;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use serde_json::Value;
use ssb_impl::bendybutt::bfe::MsgRef;
use ssb_impl::private::box2::{self, labels, Box2Error, Context, RecipientKey};

use super::{json_files, read_json, UpstreamError};

/// The folder, relative to the upstream directory.
pub const DIR: &str = "envelope-spec";

/// One vector file's verdict.
#[derive(Debug, Clone)]
pub struct Verdict {
    pub file: String,
    pub kind: String,
    /// Whether the vector expects a failure.
    pub negative: bool,
    /// `Ok` when we agree (with a remark on how, if not byte for byte); else what differed.
    pub result: Result<Option<String>, String>,
}

pub(crate) fn field<'a>(v: &'a Value, path: &[&str]) -> Result<&'a Value, String> {
    let mut cur = v;
    for p in path {
        cur = cur
            .get(*p)
            .ok_or_else(|| format!("no field {}", path.join(".")))?;
    }
    Ok(cur)
}

pub(crate) fn b64(v: &Value, path: &[&str]) -> Result<Vec<u8>, String> {
    let s = field(v, path)?
        .as_str()
        .ok_or_else(|| format!("{} is not a string", path.join(".")))?;
    STANDARD
        .decode(s)
        .map_err(|e| format!("{}: bad base64: {e}", path.join(".")))
}

pub(crate) fn b64_32(v: &Value, path: &[&str]) -> Result<[u8; 32], String> {
    let b = b64(v, path)?;
    let n = b.len();
    b.try_into()
        .map_err(|_| format!("{}: {n} bytes, expected 32", path.join(".")))
}

fn context(input: &Value) -> Result<Context, String> {
    Context::from_bfe(&b64(input, &["feed_id"])?, &b64(input, &["prev_msg_id"])?).map_err(|e| e.to_string())
}

/// A `{key, scheme}` (or, in `box2.json`, `{key, key_type}`) recipient.
fn recipient(v: &Value) -> Result<RecipientKey, String> {
    let scheme = v
        .get("scheme")
        .or_else(|| v.get("key_type"))
        .and_then(Value::as_str)
        .ok_or("recipient without scheme")?;
    Ok(RecipientKey::new(b64_32(v, &["key"])?, scheme))
}

fn same(what: &str, got: &[u8], want: &[u8]) -> Result<(), String> {
    if got == want {
        Ok(())
    } else {
        Err(format!(
            "{what}: got {}, expected {}",
            STANDARD.encode(got),
            STANDARD.encode(want)
        ))
    }
}

fn check_vector(v: &Value) -> Result<(), String> {
    let kind = field(v, &["type"])?.as_str().ok_or("type is not a string")?;
    let input = field(v, &["input"])?;
    let error_code = v.get("error_code").and_then(Value::as_str);
    match kind {
        "box" => {
            let ctx = context(input)?;
            let recps = field(input, &["recp_keys"])?
                .as_array()
                .ok_or("recp_keys is not a list")?
                .iter()
                .map(recipient)
                .collect::<Result<Vec<_>, _>>()?;
            let got = box2::seal(
                &b64(input, &["plain_text"])?,
                &ctx,
                &b64_32(input, &["msg_key"])?,
                &recps,
                &[],
            );
            match (error_code, got) {
                (None, Ok(ct)) => same("ciphertext", &ct, &b64(v, &["output", "ciphertext"])?),
                (Some("boxEmptyPlainText"), Err(Box2Error::EmptyPlaintext)) => Ok(()),
                (Some("boxZerodMsgKey"), Err(Box2Error::ZeroMsgKey)) => Ok(()),
                (want, got) => Err(format!("expected {want:?}, got {got:?}")),
            }
        }
        "unbox" => {
            let ctx = context(input)?;
            let r = recipient(field(input, &["recipient"])?)?;
            let opened = box2::open(
                &b64(input, &["ciphertext"])?,
                &ctx,
                &[r],
                box2::DEFAULT_MAX_ATTEMPTS,
            )
            .map_err(|e| format!("unbox failed: {e}"))?;
            same(
                "plain_text",
                &opened.plaintext,
                &b64(v, &["output", "plain_text"])?,
            )
        }
        "derive_secret" => {
            let ctx = context(input)?;
            let read = ctx.read_key(&b64_32(input, &["msg_key"])?);
            same("read_key", &read, &b64(v, &["output", "read_key"])?)?;
            same(
                "header_key",
                &ctx.header_key(&read),
                &b64(v, &["output", "header_key"])?,
            )?;
            same(
                "body_key",
                &ctx.body_key(&read),
                &b64(v, &["output", "body_key"])?,
            )
        }
        "slot" => {
            let ctx = context(input)?;
            let r = recipient(field(input, &["recipient"])?)?;
            let slot = box2::slot(&ctx, &b64_32(input, &["msg_key"])?, &r).map_err(|e| e.to_string())?;
            same("key_slot", &slot, &b64(v, &["output", "key_slot"])?)
        }
        "unslot" => {
            let ctx = context(input)?;
            let r = recipient(field(input, &["recipient"])?)?;
            let key = box2::unslot(&ctx, &b64_32(input, &["key_slot"])?, &r).map_err(|e| e.to_string())?;
            same("msg_key", &key, &b64(v, &["output", "msg_key"])?)
        }
        "cloaked_id" => {
            let id = MsgRef::from_bfe(&b64(input, &["public_msg_id"])?).map_err(|e| e.to_string())?;
            let got = box2::cloaked_msg_id(&id, &b64_32(input, &["read_key"])?);
            same("cloaked_msg_id", &got, &b64(v, &["output", "cloaked_msg_id"])?)
        }
        other => Err(format!("unknown vector type {other:?}")),
    }
}

/// Checks every file in `envelope-spec/vectors/`, in name order.
pub fn check_vectors(dir: &Path) -> Result<Vec<Verdict>, UpstreamError> {
    check_files(dir, &format!("{DIR}/vectors"), |v| {
        let negative = v.get("error_code").is_some_and(|e| !e.is_null());
        (negative, check_vector(v).map(|()| None))
    })
}

/// One verdict per JSON file of `sub`, in name order: `check` says whether the file expects a
/// failure and how the check went. Shared with the private-group-spec loader.
pub(crate) fn check_files(
    dir: &Path,
    sub: &str,
    check: impl Fn(&Value) -> (bool, Result<Option<String>, String>),
) -> Result<Vec<Verdict>, UpstreamError> {
    let mut out = Vec::new();
    for name in json_files(dir, sub)? {
        let (_, v): (_, Value) = read_json(dir, &format!("{sub}/{name}"))?;
        let (negative, result) = check(&v);
        out.push(Verdict {
            kind: v["type"].as_str().unwrap_or("?").to_string(),
            negative,
            result,
            file: name,
        });
    }
    Ok(out)
}

/// Compares the label constants and error codes with ours; the differences.
pub fn check_constants(dir: &Path) -> Result<Vec<String>, UpstreamError> {
    let mut problems = Vec::new();
    let (_, derive): (_, Value) = read_json(dir, &format!("{DIR}/derive_secret/constants.json"))?;
    for (k, ours) in [
        ("read_key", labels::READ_KEY),
        ("header_key", labels::HEADER_KEY),
        ("body_key", labels::BODY_KEY),
        ("slot_key", labels::SLOT_KEY),
    ] {
        if derive[k] != ours {
            problems.push(format!("derive_secret label {k}: {} vs ours {ours}", derive[k]));
        }
    }
    let (_, cloaked): (_, Value) = read_json(dir, &format!("{DIR}/cloaked_msg_id/constants.json"))?;
    if cloaked["cloaked_msg_id"] != labels::CLOAKED_MSG_ID {
        problems.push(format!("cloaked label: {}", cloaked["cloaked_msg_id"]));
    }
    let (_, codes): (_, Value) = read_json(dir, &format!("{DIR}/error_codes.json"))?;
    let codes = codes.as_object().cloned().unwrap_or_default();
    let mut names: Vec<&String> = codes.keys().collect();
    names.sort();
    if names != ["boxEmptyPlainText", "boxZerodMsgKey"] {
        problems.push(format!(
            "error codes are {names:?}; we map boxEmptyPlainText and boxZerodMsgKey"
        ));
    }
    Ok(problems)
}
