//! Loader and checker for `private-group-spec/` (ssbc/private-group-spec v8.1.0): the seven files
//! of `vectors/` (DM key, P.O. Box key, group id, and four unbox files, two of them the same
//! messages with classic sigil ids) run through `ssb_impl::private::groups`, and the key-scheme
//! labels and HKDF constants compared with ours. Files are dispatched on their `type`; an
//! unknown type is a failure.

use std::path::Path;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use serde_json::Value;
use ssb_impl::bendybutt::bfe::{Bfe, EncryptionKeyFormat, FeedRef, IdentityFormat, MsgRef};
use ssb_impl::private::box2::{Context, RecipientKey};
use ssb_impl::private::content::{self, BoxFormat};
use ssb_impl::private::groups::{self, schemes, InfoOrder, PoBoxId};

use super::envelope::{b64, b64_32, check_files, field, Verdict};
use super::{read_json, UpstreamError};

/// The folder, relative to the upstream directory.
pub const DIR: &str = "private-group-spec";

/// A BFE encryption key of the given format: its 32 bytes.
fn dh_key(v: &Value, name: &str, format: EncryptionKeyFormat) -> Result<[u8; 32], String> {
    match Bfe::decode(&b64(v, &[name])?) {
        Ok(Bfe::EncryptionKey(f, k)) if f == format => Ok(k),
        other => Err(format!("{name}: not a {format:?} key: {other:?}")),
    }
}

fn feed(v: &Value, name: &str) -> Result<FeedRef, String> {
    FeedRef::from_bfe(&b64(v, &[name])?).map_err(|e| format!("{name}: {e}"))
}

fn str_field<'a>(v: &'a Value, path: &[&str]) -> Result<&'a str, String> {
    field(v, path)?
        .as_str()
        .ok_or_else(|| format!("{} is not a string", path.join(".")))
}

/// The envelope context and ciphertext of a `{key, value}` message.
fn message(m: &Value) -> Result<(MsgRef, Context, Vec<u8>), String> {
    let key = MsgRef::parse(str_field(m, &["key"])?).map_err(|e| e.to_string())?;
    let author = FeedRef::parse(str_field(m, &["value", "author"])?).map_err(|e| e.to_string())?;
    let previous = match field(m, &["value", "previous"])? {
        Value::Null => None,
        p => Some(MsgRef::parse(p.as_str().ok_or("previous is not a string")?).map_err(|e| e.to_string())?),
    };
    let ctx = Context::new(&author, previous.as_ref()).map_err(|e| e.to_string())?;
    let ct =
        content::decode(BoxFormat::Box2, str_field(m, &["value", "content"])?).map_err(|e| e.to_string())?;
    Ok((key, ctx, ct))
}

fn key_and_scheme(v: &Value, got: &RecipientKey) -> Result<(), String> {
    let key = b64(v, &["output", "shared_key"])?;
    let scheme = b64(v, &["output", "key_scheme"])?;
    if got.key[..] != key[..] {
        return Err(format!(
            "shared_key: got {}, expected {}",
            STANDARD.encode(got.key),
            STANDARD.encode(key)
        ));
    }
    if got.scheme.as_bytes() != scheme {
        return Err(format!("key_scheme: got {}", got.scheme));
    }
    Ok(())
}

/// Rewrites every v1 group id (`%<base64>.cloaked`) in `v` to its v2 URI.
fn v1_group_ids_to_uris(v: &Value) -> Value {
    match v {
        Value::String(s) if s.ends_with(".cloaked") => match groups::GroupId::parse(s) {
            Ok(g) => Value::String(g.to_uri()),
            Err(_) => v.clone(),
        },
        Value::Array(a) => Value::Array(a.iter().map(v1_group_ids_to_uris).collect()),
        Value::Object(o) => Value::Object(
            o.iter()
                .map(|(k, x)| (k.clone(), v1_group_ids_to_uris(x)))
                .collect(),
        ),
        other => other.clone(),
    }
}

/// `Ok(None)` when we agree byte for byte, `Ok(Some(remark))` when we agree after a documented
/// normalization.
fn check_vector(v: &Value) -> Result<Option<String>, String> {
    let kind = str_field(v, &["type"])?;
    let input = field(v, &["input"])?;
    match kind {
        "direct_message_shared_key" => {
            let got = groups::dm_key(
                &dh_key(input, "my_dh_secret", EncryptionKeyFormat::Box2DmDh)?,
                &dh_key(input, "my_dh_public", EncryptionKeyFormat::Box2DmDh)?,
                &feed(input, "my_feed_id")?,
                &dh_key(input, "your_dh_public", EncryptionKeyFormat::Box2DmDh)?,
                &feed(input, "your_feed_id")?,
            )
            .map_err(|e| e.to_string())?;
            key_and_scheme(v, &got).map(|()| None)
        }
        "po_box_key" => {
            let po_public = dh_key(input, "po_box_dh_public", EncryptionKeyFormat::Box2PoboxDh)?;
            let po_box = match Bfe::decode(&b64(input, &["po_box_id"])?) {
                Ok(Bfe::Identity(IdentityFormat::PoBox, k)) => PoBoxId(k),
                other => return Err(format!("po_box_id: not a P.O. Box id: {other:?}")),
            };
            if po_box.0 != po_public {
                return Err("po_box_id and po_box_dh_public hold different keys".into());
            }
            let got = groups::po_box_key_as_author(
                &dh_key(input, "my_dh_secret", EncryptionKeyFormat::Box2DmDh)?,
                &dh_key(input, "my_dh_public", EncryptionKeyFormat::Box2DmDh)?,
                &feed(input, "my_feed_id")?,
                &po_box,
                InfoOrder::Bytewise,
            )
            .map_err(|e| e.to_string())?;
            key_and_scheme(v, &got).map(|()| None)
        }
        "group_id" => {
            let (id, ctx, ct) = message(field(input, &["group_init_msg"])?)?;
            let got = groups::group_id_from_init(&id, &ctx, &ct, &b64_32(input, &["group_key"])?)
                .map_err(|e| e.to_string())?;
            let want = str_field(v, &["output", "group_id"])?;
            if got.to_uri() == want {
                Ok(None)
            } else {
                Err(format!("group_id: got {}, expected {want}", got.to_uri()))
            }
        }
        "unbox" => {
            let keys = field(input, &["trial_keys"])?
                .as_array()
                .ok_or("trial_keys is not a list")?
                .iter()
                .map(|k| {
                    let scheme = str_field(k, &["scheme"])?;
                    Ok(RecipientKey::new(b64_32(k, &["key"])?, scheme))
                })
                .collect::<Result<Vec<_>, String>>()?;
            let msgs = field(input, &["msgs"])?.as_array().ok_or("msgs is not a list")?;
            let want = field(v, &["output", "msgsContent"])?
                .as_array()
                .ok_or("msgsContent is not a list")?;
            if msgs.len() != want.len() {
                return Err("msgs and msgsContent differ in length".into());
            }
            let mut remark = None;
            for (i, (m, w)) in msgs.iter().zip(want).enumerate() {
                let (_, ctx, ct) = message(m)?;
                let opened = groups::open(&ct, &ctx, &keys, groups::MAX_RECIPIENTS)
                    .map_err(|e| format!("message {i}: {e}"))?;
                let got: Value = serde_json::from_slice(&opened.plaintext)
                    .map_err(|e| format!("message {i}: plaintext is not JSON: {e}"))?;
                if &got == w {
                    continue;
                }
                // The URI variants were made by rewriting the sigil files' ids, ciphertexts
                // included unchanged: their plaintext still holds v1 group ids.
                if &v1_group_ids_to_uris(&got) == w {
                    remark = Some(
                        "plaintext holds v1 group ids (%….cloaked); equal once they are written as v2 URIs"
                            .to_string(),
                    );
                    continue;
                }
                return Err(format!("message {i}: got {got}, expected {w}"));
            }
            Ok(remark)
        }
        other => Err(format!("unknown vector type {other:?}")),
    }
}

/// Checks every file in `private-group-spec/vectors/`, in name order.
pub fn check_vectors(dir: &Path) -> Result<Vec<Verdict>, UpstreamError> {
    check_files(dir, &format!("{DIR}/vectors"), |v| (false, check_vector(v)))
}

/// Compares `key-schemes.json` and the DM / P.O. Box constants with ours; the differences.
pub fn check_constants(dir: &Path) -> Result<Vec<String>, UpstreamError> {
    let mut problems = Vec::new();
    let (_, ks): (_, Value) = read_json(dir, &format!("{DIR}/key-schemes.json"))?;
    let ours = [
        ("private_group", schemes::PRIVATE_GROUP),
        ("feed_id_dm", schemes::FEED_ID_DM),
        ("feed_id_metafeed_dm", schemes::FEED_ID_METAFEED_DM),
        ("feed_id_self", schemes::FEED_ID_SELF),
        ("po_box", schemes::PO_BOX),
    ];
    let theirs = ks["scheme"].as_object().cloned().unwrap_or_default();
    if theirs.len() != ours.len() {
        problems.push(format!(
            "{} key schemes upstream, {} ours",
            theirs.len(),
            ours.len()
        ));
    }
    for (k, label) in ours {
        if theirs.get(k).and_then(Value::as_str) != Some(label) {
            problems.push(format!("scheme {k}: {:?} vs ours {label}", theirs.get(k)));
        }
    }
    for (file, salt, context) in [
        (
            "direct-messages/constants.json",
            groups::DM_SALT,
            groups::DM_INFO_CONTEXT,
        ),
        (
            "po-box/constants.json",
            groups::PO_BOX_SALT,
            groups::PO_BOX_INFO_CONTEXT,
        ),
    ] {
        let (_, c): (_, Value) = read_json(dir, &format!("{DIR}/{file}"))?;
        if c["SALT"] != salt || c["INFO_CONTEXT"] != context {
            problems.push(format!("{file}: {c} vs ours {salt} / {context}"));
        }
    }
    Ok(problems)
}
