//! The `box1`, `box2` and `groups` suites' ops on the reference (`ssb_impl::private`). Ids are
//! strings as they appear in messages (classic sigils or `ssb:` URIs), keys and bytes hex,
//! content strings `<base64>.box` / `<base64>.box2`. See `conformance/ADAPTER.md`.

use serde_json::{json, Value};
use ssb_impl::bendybutt::bfe::{FeedRef, MsgRef};
use ssb_impl::crypto;
use ssb_impl::private::box1::{self, Box1Error, SealParams};
use ssb_impl::private::box2::{self, Box2Error, Context, RecipientKey};
use ssb_impl::private::content::{self, BoxFormat, ContentError};
use ssb_impl::private::groups::{self, GroupError, GroupId, InfoOrder, PoBoxId, Schema};
use ssb_impl::Keypair;

use super::{array_arg, bytes_arg, OpError};

fn box1_err(e: Box1Error) -> OpError {
    OpError::new(e.kind(), e.to_string())
}

fn box2_err(e: Box2Error) -> OpError {
    OpError::new(e.kind(), e.to_string())
}

fn group_err(e: GroupError) -> OpError {
    OpError::new(e.kind(), e.to_string())
}

fn content_err(e: ContentError) -> OpError {
    OpError::new("invalid_content", e.to_string())
}

fn str_arg<'a>(args: &'a Value, name: &str) -> Result<&'a str, OpError> {
    args.get(name)
        .and_then(Value::as_str)
        .ok_or_else(|| OpError::args(format!("{name} must be a string")))
}

fn content_arg(args: &Value, format: BoxFormat) -> Result<Vec<u8>, OpError> {
    content::decode(format, str_arg(args, "content")?).map_err(content_err)
}

fn feed_arg(args: &Value, name: &str) -> Result<FeedRef, OpError> {
    let s = str_arg(args, name)?;
    FeedRef::parse(s).map_err(|e| OpError::new("invalid_context", format!("{name}: {e}")))
}

/// `previous`: a message id string or null.
fn previous_arg(args: &Value, name: &str) -> Result<Option<MsgRef>, OpError> {
    match args.get(name) {
        Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => MsgRef::parse(s)
            .map(Some)
            .map_err(|e| OpError::new("invalid_context", format!("{name}: {e}"))),
        _ => Err(OpError::args(format!("{name} must be a message id or null"))),
    }
}

fn context_arg(args: &Value, feed: &str, previous: &str) -> Result<Context, OpError> {
    Context::new(&feed_arg(args, feed)?, previous_arg(args, previous)?.as_ref()).map_err(box2_err)
}

fn recipients_arg(args: &Value, name: &str) -> Result<Vec<RecipientKey>, OpError> {
    let list = args
        .get(name)
        .and_then(Value::as_array)
        .ok_or_else(|| OpError::args(format!("{name} must be a list of {{key, scheme}}")))?;
    list.iter()
        .map(|r| {
            Ok(RecipientKey::new(
                array_arg::<32>(r, "key")?,
                str_arg(r, "scheme")?,
            ))
        })
        .collect()
}

fn usize_arg(args: &Value, name: &str) -> Result<usize, OpError> {
    args.get(name)
        .and_then(Value::as_u64)
        .and_then(|n| usize::try_from(n).ok())
        .ok_or_else(|| OpError::args(format!("{name} must be a non-negative integer")))
}

pub(crate) fn box1_box(args: &Value) -> Result<Value, OpError> {
    let recipients = args
        .get("recipients")
        .and_then(Value::as_array)
        .ok_or_else(|| OpError::args("recipients must be a list"))?
        .iter()
        .map(|r| {
            let h = r
                .as_str()
                .ok_or_else(|| OpError::args("recipients: hex strings"))?;
            let b = hex::decode(h).map_err(|e| OpError::args(format!("recipients: {e}")))?;
            <[u8; 32]>::try_from(b).map_err(|_| OpError::args("recipients: 32 bytes each"))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let params = SealParams {
        nonce: array_arg(args, "nonce")?,
        body_key: array_arg(args, "body_key")?,
        ephemeral_secret: array_arg(args, "ephemeral_secret")?,
    };
    let ct = box1::seal(&bytes_arg(args, "plaintext")?, &recipients, &params).map_err(box1_err)?;
    Ok(json!({ "content": content::encode(BoxFormat::Box1, &ct) }))
}

pub(crate) fn box1_unbox(args: &Value) -> Result<Value, OpError> {
    let keys = Keypair::from_seed(array_arg(args, "seed")?);
    let ct = content_arg(args, BoxFormat::Box1)?;
    let plain = box1::open(&ct, &keys).map_err(box1_err)?;
    Ok(json!({ "plaintext": hex::encode(plain) }))
}

pub(crate) fn box2_box(args: &Value) -> Result<Value, OpError> {
    let ctx = context_arg(args, "feed", "previous")?;
    let recipients = recipients_arg(args, "recipients")?;
    let ct = box2::seal(
        &bytes_arg(args, "plaintext")?,
        &ctx,
        &array_arg(args, "msg_key")?,
        &recipients,
        &[],
    )
    .map_err(box2_err)?;
    Ok(json!({ "content": content::encode(BoxFormat::Box2, &ct) }))
}

pub(crate) fn box2_unbox(args: &Value) -> Result<Value, OpError> {
    let ctx = context_arg(args, "feed", "previous")?;
    let ct = content_arg(args, BoxFormat::Box2)?;
    let opened = if args.get("read_key").is_some() {
        box2::open_with_read_key(&ct, &ctx, &array_arg(args, "read_key")?)
    } else {
        box2::open(
            &ct,
            &ctx,
            &recipients_arg(args, "trial_keys")?,
            usize_arg(args, "max_attempts")?,
        )
    }
    .map_err(box2_err)?;
    Ok(json!({
        "plaintext": hex::encode(&opened.plaintext),
        "read_key": hex::encode(opened.key.read_key),
    }))
}

pub(crate) fn box2_derive_secret(args: &Value) -> Result<Value, OpError> {
    let ctx = context_arg(args, "feed", "previous")?;
    let labels = args
        .get("labels")
        .and_then(Value::as_array)
        .ok_or_else(|| OpError::args("labels must be a list of strings"))?
        .iter()
        .map(|l| l.as_str().ok_or_else(|| OpError::args("labels must be strings")))
        .collect::<Result<Vec<_>, _>>()?;
    let labels: Vec<&[u8]> = labels.iter().map(|l| l.as_bytes()).collect();
    let secret = ctx.derive(&array_arg(args, "key")?, &labels).map_err(box2_err)?;
    Ok(json!({ "secret": hex::encode(secret) }))
}

fn key_json(k: &RecipientKey) -> Value {
    json!({ "key": hex::encode(k.key), "scheme": k.scheme })
}

/// The curve25519 DH public key of a feed.
fn feed_dh_public(feed: &FeedRef) -> Result<[u8; 32], OpError> {
    crypto::ed25519_pk_to_curve25519(&feed.key).map_err(|_| group_err(GroupError::BadFeedKey))
}

/// A seed and the feed id it signs for.
fn my_keys(args: &Value) -> Result<(Keypair, FeedRef), OpError> {
    let me = Keypair::from_seed(array_arg(args, "my_seed")?);
    let my_feed =
        FeedRef::parse(str_arg(args, "my_feed")?).map_err(|e| OpError::args(format!("my_feed: {e}")))?;
    if &my_feed.key != me.public() {
        return Err(OpError::args("my_feed is not the feed of my_seed"));
    }
    Ok((me, my_feed))
}

pub(crate) fn groups_dm_key(args: &Value) -> Result<Value, OpError> {
    let (me, my_feed) = my_keys(args)?;
    let your_feed =
        FeedRef::parse(str_arg(args, "your_feed")?).map_err(|e| OpError::args(format!("your_feed: {e}")))?;
    let k = groups::dm_key_for_feeds(&me, &my_feed, &your_feed, InfoOrder::Bytewise).map_err(group_err)?;
    Ok(key_json(&k))
}

pub(crate) fn groups_po_box_key(args: &Value) -> Result<Value, OpError> {
    let po_box = PoBoxId::parse(str_arg(args, "po_box_id")?).map_err(group_err)?;
    let k = if args.get("po_box_secret").is_some() {
        let author = FeedRef::parse(str_arg(args, "author_feed")?)
            .map_err(|e| OpError::args(format!("author_feed: {e}")))?;
        groups::po_box_key_as_box(
            &array_arg(args, "po_box_secret")?,
            &po_box,
            &feed_dh_public(&author)?,
            &author,
            InfoOrder::Bytewise,
        )
    } else {
        let (me, my_feed) = my_keys(args)?;
        groups::po_box_key_as_author(
            &me.curve25519_secret(),
            &feed_dh_public(&my_feed)?,
            &my_feed,
            &po_box,
            InfoOrder::Bytewise,
        )
    }
    .map_err(group_err)?;
    Ok(key_json(&k))
}

pub(crate) fn groups_group_id(args: &Value) -> Result<Value, OpError> {
    let init = args
        .get("init")
        .ok_or_else(|| OpError::args("init must be {key, author, previous, content}"))?;
    let id = MsgRef::parse(str_arg(init, "key")?).map_err(|e| OpError::args(format!("init.key: {e}")))?;
    let ctx = context_arg(init, "author", "previous")?;
    let ct = content_arg(init, BoxFormat::Box2)?;
    let g = groups::group_id_from_init(&id, &ctx, &ct, &array_arg(args, "group_key")?).map_err(group_err)?;
    Ok(json!({ "group_id": g.to_uri() }))
}

pub(crate) fn groups_cloaked_id(args: &Value) -> Result<Value, OpError> {
    let id = MsgRef::parse(str_arg(args, "msg_id")?).map_err(|e| OpError::args(format!("msg_id: {e}")))?;
    let cloaked = box2::cloaked_msg_id(&id, &array_arg(args, "read_key")?);
    Ok(json!({ "cloaked": hex::encode(cloaked), "group_id": GroupId(cloaked).to_uri() }))
}

pub(crate) fn groups_unbox(args: &Value) -> Result<Value, OpError> {
    let ctx = context_arg(args, "author", "previous")?;
    let ct = content_arg(args, BoxFormat::Box2)?;
    let keys = recipients_arg(args, "trial_keys")?;
    let opened = groups::open(&ct, &ctx, &keys, groups::MAX_RECIPIENTS).map_err(box2_err)?;
    Ok(json!({ "plaintext": hex::encode(&opened.plaintext) }))
}

pub(crate) fn groups_validate(args: &Value) -> Result<Value, OpError> {
    let name = str_arg(args, "schema")?;
    let schema = Schema::from_name(name).ok_or_else(|| OpError::args(format!("unknown schema {name:?}")))?;
    let content = args
        .get("content")
        .ok_or_else(|| OpError::args("content missing"))?;
    groups::validate(schema, content).map_err(group_err)?;
    Ok(json!({ "valid": true }))
}
