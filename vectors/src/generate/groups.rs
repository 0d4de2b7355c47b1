//! Vectors for private groups (`vectors/groups.json`): DM keys between feeds (both directions,
//! both feed formats, the cases where JavaScript's default sort puts the key material in
//! another order than the spec's bytewise sort, oneself, an unconvertible key), P.O. Box keys
//! from both sides, group ids from init messages, cloaked ids, unboxing with the group key
//! tried on the first slot only, and the `group/init`, `group/add-member` and group-content
//! schemas.

use rand_chacha::ChaCha20Rng;
use rand_core::{RngCore, SeedableRng};
use serde_json::{json, Value};
use ssb_impl::bendybutt::bfe::{FeedRef, MsgFormat, MsgRef};
use ssb_impl::crypto;
use ssb_impl::private::box2::{self, Context, RecipientKey};
use ssb_impl::private::content::{self, BoxFormat};
use ssb_impl::private::groups::{self, schemes, AddMember, GroupId, InfoOrder, PoBoxId};
use ssb_impl::Keypair;

use super::{h, Builder, Intent};
use crate::file::VectorFile;

const NOTES: &[(&str, &str)] = &[
    ("dm_key", "op groups.dm_key: key and scheme must match, or the error kind"),
    (
        "po_box_key",
        "op groups.po_box_key: key and scheme must match, or the error kind",
    ),
    ("group_id", "op groups.group_id: the group id must match, or the error kind"),
    ("cloaked_id", "op groups.cloaked_id: the cloaked id must match"),
    ("unbox", "op groups.unbox: the plaintext must match, or the error kind"),
    ("validate", "op groups.validate: valid, or schema_mismatch"),
    ("classic_feeds", "both feeds are classic"),
    ("bendybutt_feed", "one side is a bendybutt-v1 feed"),
    (
        "reverse",
        "the same pair computed from the other side: the key must be the same",
    ),
    (
        "sort_order",
        "bytewise and JavaScript's default Array#sort (UTF-16 of the UTF-8-decoded bytes) put the two BFE key blobs in different orders; the spec says bytewise",
    ),
    (
        "self_dm",
        "a DM key with oneself, which the spec forbids (use the self key instead)",
    ),
    (
        "invalid_feed_key",
        "the other feed's key is a small-order point with no curve25519 form",
    ),
    ("author_side", "computed by a feed writing to the P.O. Box"),
    ("box_side", "computed by the holder of the P.O. Box secret"),
    (
        "low_order",
        "the P.O. Box key is a low-order point: X25519 gives all zeros",
    ),
    ("nil_previous", "the init message is its feed's first"),
    (
        "group_key_not_first",
        "the group key is in the second slot: readers try group keys on the first only",
    ),
    ("wrong_key", "no key given opens the message"),
    ("bendybutt_msg", "a bendybutt-v1 message id"),
    ("dm_slot", "opened with a DM key"),
    ("self_slot", "opened with the self key"),
    ("po_box_slot", "opened with a P.O. Box key"),
    ("deep_slot", "the opening key is in slot 16"),
    ("init_root", "schema group/init v2 (root)"),
    ("add_member", "schema group/add-member v2"),
    ("group_content", "schema of content posted to a group"),
    ("built", "content made by the reference's builder"),
    ("additional_property", "a property the schema does not list"),
    ("missing_property", "a required property missing"),
    (
        "secret_not_canonical",
        "a secret whose base64 has non-zero unused bits",
    ),
    ("tangle_not_null", "a root init whose tangle root is not null"),
    ("extra_tangle", "a tangle the schema does not name (allowed)"),
    ("classic_member", "a classic feed among the members, where v2 wants bendybutt-v1 root feeds"),
    ("too_many_recps", "17 recipients, more than 16"),
    ("too_few_recps", "only the group id, fewer than 2 recipients"),
    (
        "tuple_items",
        "a bad element after the first of an array the schema types as a one-item tuple: not checked",
    ),
    ("wrong_type", "a value of the wrong JSON type"),
    ("wrong_version", "version v1 where v2 is required"),
];

fn draw<const N: usize>(rng: &mut ChaCha20Rng) -> [u8; N] {
    let mut b = [0u8; N];
    rng.fill_bytes(&mut b);
    b
}

fn classic_msg(rng: &mut ChaCha20Rng) -> MsgRef {
    MsgRef::new(MsgFormat::Classic, &draw::<32>(rng)).expect("32 bytes")
}

fn recps_json(r: &[RecipientKey]) -> Value {
    Value::Array(
        r.iter()
            .map(|k| json!({"key": h(&k.key), "scheme": k.scheme}))
            .collect(),
    )
}

fn dm_args(me: &Keypair, my_feed: &FeedRef, your_feed: &FeedRef) -> Value {
    json!({"my_seed": h(me.seed()), "my_feed": my_feed.to_string(), "your_feed": your_feed.to_string()})
}

/// The `groups.unbox` / `groups.group_id` view of a message.
fn msg_json(id: Option<&MsgRef>, author: &FeedRef, previous: Option<&MsgRef>, ct: &[u8]) -> Value {
    let mut v = json!({
        "author": author.to_string(),
        "previous": previous.map_or(Value::Null, |p| Value::String(p.to_string())),
        "content": content::encode(BoxFormat::Box2, ct),
    });
    if let Some(id) = id {
        v["key"] = json!(id.to_string());
    }
    v
}

pub fn generate(seed: u64) -> VectorFile {
    let mut rng = ChaCha20Rng::seed_from_u64(seed ^ 0x4752_5053); // "GRPS"
    let mut b = Builder::new(
        "groups",
        "Private groups: DM and P.O. Box keys, group and cloaked ids, unboxing, content schemas; see conformance/ADAPTER.md (suite groups)",
        NOTES,
    );

    // DM keys. Pairs are drawn until the two sort orders agree (or, for the sort_order
    // cases, disagree), so that only the flagged cases depend on the order.
    let pair = |rng: &mut ChaCha20Rng, second_bendy: bool, orders_differ: bool| {
        for _ in 0..1000 {
            let a = Keypair::generate(rng);
            let b = Keypair::generate(rng);
            let fa = FeedRef::classic(*a.public());
            let fb = if second_bendy {
                FeedRef::bendybutt(*b.public())
            } else {
                FeedRef::classic(*b.public())
            };
            let spec = groups::dm_key_for_feeds(&a, &fa, &fb, InfoOrder::Bytewise).expect("keys convert");
            let js = groups::dm_key_for_feeds(&a, &fa, &fb, InfoOrder::JsString).expect("keys convert");
            if (spec != js) == orders_differ {
                return (a, fa, b, fb);
            }
        }
        panic!("generator bug: no pair found in 1000 draws");
    };
    for (what, second_bendy, differ, flag) in [
        ("two classic feeds", false, false, "classic_feeds"),
        ("a classic and a bendybutt-v1 feed", true, false, "bendybutt_feed"),
        (
            "two classic feeds where JavaScript's default sort and the spec's bytewise sort disagree",
            false,
            true,
            "classic_feeds",
        ),
    ] {
        let (a, fa, bk, fb) = pair(&mut rng, second_bendy, differ);
        let mut flags = vec!["dm_key", flag];
        if differ {
            flags.push("sort_order");
        }
        b.add(
            &format!("DM key between {what}"),
            &flags,
            "groups.dm_key",
            dm_args(&a, &fa, &fb),
            Intent::Accept,
        );
        flags.push("reverse");
        b.add(
            "the same DM key from the other side",
            &flags,
            "groups.dm_key",
            dm_args(&bk, &fb, &fa),
            Intent::Accept,
        );
    }
    let (alice, fa, carol, fc) = pair(&mut rng, true, false);
    b.add(
        "a DM key with oneself",
        &["dm_key", "self_dm"],
        "groups.dm_key",
        dm_args(&alice, &fa, &fa),
        Intent::Reject("self_dm"),
    );
    let mut identity = [0u8; 32];
    identity[0] = 1;
    b.add(
        "a DM key with a feed whose key is the identity point",
        &["dm_key", "invalid_feed_key"],
        "groups.dm_key",
        dm_args(&alice, &fa, &FeedRef::classic(identity)),
        Intent::Reject("invalid_feed_key"),
    );

    // P.O. Box keys.
    let box_secret: [u8; 32] = draw(&mut rng);
    let po = PoBoxId(crypto::x25519_base(&box_secret));
    b.add(
        "P.O. Box key as the author",
        &["po_box_key", "author_side"],
        "groups.po_box_key",
        json!({"my_seed": h(alice.seed()), "my_feed": fa.to_string(), "po_box_id": po.to_uri()}),
        Intent::Accept,
    );
    b.add(
        "the same key as the P.O. Box",
        &["po_box_key", "box_side"],
        "groups.po_box_key",
        json!({"po_box_secret": h(&box_secret), "po_box_id": po.to_uri(), "author_feed": fa.to_string()}),
        Intent::Accept,
    );
    b.add(
        "P.O. Box key for a bendybutt-v1 author",
        &["po_box_key", "author_side", "bendybutt_feed"],
        "groups.po_box_key",
        json!({"my_seed": h(carol.seed()), "my_feed": fc.to_string(), "po_box_id": po.to_uri()}),
        Intent::Accept,
    );
    b.add(
        "a P.O. Box whose key is the all-zero point",
        &["po_box_key", "author_side", "low_order"],
        "groups.po_box_key",
        json!({"my_seed": h(alice.seed()), "my_feed": fa.to_string(), "po_box_id": PoBoxId([0; 32]).to_uri()}),
        Intent::Reject("low_order"),
    );

    // Group ids from init messages.
    for (what, first) in [("a later message", false), ("its feed's first message", true)] {
        let group_key: [u8; 32] = draw(&mut rng);
        let own_key: [u8; 32] = draw(&mut rng);
        let previous = (!first).then(|| classic_msg(&mut rng));
        let ctx = Context::new(&fa, previous.as_ref()).expect("classic");
        let plain = serde_json::to_vec(&groups::init_root_content(&group_key)).expect("json");
        let recps = [
            RecipientKey::new(group_key, schemes::PRIVATE_GROUP),
            RecipientKey::new(own_key, schemes::FEED_ID_SELF),
        ];
        let ct = box2::seal(&plain, &ctx, &draw(&mut rng), &recps, &[]).expect("seals");
        let id = classic_msg(&mut rng);
        let init = msg_json(Some(&id), &fa, previous.as_ref(), &ct);
        let mut flags = vec!["group_id"];
        if first {
            flags.push("nil_previous");
        }
        b.add(
            &format!("group id from an init message that is {what}"),
            &flags,
            "groups.group_id",
            json!({"group_key": h(&group_key), "init": init}),
            Intent::Accept,
        );
        if first {
            b.add(
                "group id with a key that is not the group's",
                &["group_id", "wrong_key"],
                "groups.group_id",
                json!({"group_key": h(&own_key), "init": init}),
                Intent::Reject("not_recipient"),
            );
            let swapped = [recps[1].clone(), recps[0].clone()];
            let ct = box2::seal(&plain, &ctx, &draw(&mut rng), &swapped, &[]).expect("seals");
            b.add(
                "group id from an init message whose group key is in the second slot",
                &["group_id", "group_key_not_first"],
                "groups.group_id",
                json!({"group_key": h(&group_key), "init": msg_json(Some(&id), &fa, None, &ct)}),
                Intent::Reject("not_recipient"),
            );
        }
    }
    b.add(
        "cloaked id of a classic message",
        &["cloaked_id"],
        "groups.cloaked_id",
        json!({"msg_id": classic_msg(&mut rng).to_string(), "read_key": h(&draw::<32>(&mut rng))}),
        Intent::Accept,
    );
    b.add(
        "cloaked id of a bendybutt-v1 message",
        &["cloaked_id", "bendybutt_msg"],
        "groups.cloaked_id",
        json!({"msg_id": MsgRef::bendybutt(draw(&mut rng)).to_string(), "read_key": h(&draw::<32>(&mut rng))}),
        Intent::Accept,
    );

    // Unboxing with the group rule: group keys on the first slot only.
    let previous = classic_msg(&mut rng);
    let ctx = Context::new(&fa, Some(&previous)).expect("classic");
    let key = |rng: &mut ChaCha20Rng, scheme: &str| RecipientKey::new(draw(rng), scheme);
    let group = key(&mut rng, schemes::PRIVATE_GROUP);
    let dms: Vec<RecipientKey> = (0..15).map(|_| key(&mut rng, schemes::FEED_ID_DM)).collect();
    let own = key(&mut rng, schemes::FEED_ID_SELF);
    let pobox = key(&mut rng, schemes::PO_BOX);
    let text = br#"{"type":"post","text":"to the group"}"#;
    let unbox = |ct: &[u8], keys: &[RecipientKey]| {
        let mut v = msg_json(None, &fa, Some(&previous), ct);
        v["trial_keys"] = recps_json(keys);
        v
    };
    let mut all = vec![group.clone()];
    all.extend(dms.iter().cloned());
    let ct = box2::seal(text, &ctx, &draw(&mut rng), &all, &[]).expect("seals");
    b.add(
        "a message to a group and 15 feeds, read with the group key",
        &["unbox"],
        "groups.unbox",
        unbox(&ct, &[dms[0].clone(), group.clone()]),
        Intent::Accept,
    );
    b.add(
        "the same, read by the feed in slot 16",
        &["unbox", "dm_slot", "deep_slot"],
        "groups.unbox",
        unbox(&ct, &[group.clone(), dms[14].clone()]),
        Intent::Accept,
    );
    let swapped = [dms[0].clone(), group.clone(), own.clone()];
    let ct = box2::seal(text, &ctx, &draw(&mut rng), &swapped, &[]).expect("seals");
    b.add(
        "a group key in the second slot is not found",
        &["unbox", "group_key_not_first"],
        "groups.unbox",
        unbox(&ct, std::slice::from_ref(&group)),
        Intent::Reject("not_recipient"),
    );
    b.add(
        "the same message read with the self key in slot 3",
        &["unbox", "self_slot"],
        "groups.unbox",
        unbox(&ct, &[group.clone(), own.clone()]),
        Intent::Accept,
    );
    let ct = box2::seal(text, &ctx, &draw(&mut rng), &[pobox.clone(), own.clone()], &[]).expect("seals");
    b.add(
        "a message to a P.O. Box",
        &["unbox", "po_box_slot"],
        "groups.unbox",
        unbox(&ct, std::slice::from_ref(&pobox)),
        Intent::Accept,
    );
    b.add(
        "no key of the message",
        &["unbox", "wrong_key"],
        "groups.unbox",
        unbox(&ct, &[group.clone(), dms[3].clone()]),
        Intent::Reject("not_recipient"),
    );

    // Content schemas.
    let validate = |schema: &str, content: Value| json!({"schema": schema, "content": content});
    let init = groups::init_root_content(&draw(&mut rng));
    b.add(
        "a root group/init made by the builder",
        &["validate", "init_root", "built"],
        "groups.validate",
        validate("init_root", init.clone()),
        Intent::Accept,
    );
    let edit = |v: &Value, f: &dyn Fn(&mut Value)| {
        let mut v = v.clone();
        f(&mut v);
        v
    };
    let gid = GroupId(draw(&mut rng));
    let some_msg = classic_msg(&mut rng).to_uri();
    let mut init_cases: Vec<(&str, &str, Value, Intent)> = vec![
        (
            "a root init with recps",
            "additional_property",
            edit(&init, &|v| v["recps"] = json!([gid.to_uri()])),
            Intent::Reject("schema_mismatch"),
        ),
        (
            "a root init without the members tangle",
            "missing_property",
            edit(&init, &|v| {
                v["tangles"].as_object_mut().expect("object").remove("members");
            }),
            Intent::Reject("schema_mismatch"),
        ),
        (
            "a root init whose epoch tangle has a root",
            "tangle_not_null",
            edit(&init, &|v| v["tangles"]["epoch"]["root"] = json!(some_msg)),
            Intent::Reject("schema_mismatch"),
        ),
        (
            "a root init with one more tangle",
            "extra_tangle",
            edit(&init, &|v| {
                v["tangles"]["other"] = json!({"root": null, "previous": null})
            }),
            Intent::Accept,
        ),
        (
            "a root init given as an array",
            "wrong_type",
            json!([init.clone()]),
            Intent::Reject("schema_mismatch"),
        ),
    ];
    let mut secret = init["secret"].as_str().expect("string").to_string();
    secret.replace_range(42..43, "B");
    init_cases.push((
        "a root init whose secret has non-zero unused bits",
        "secret_not_canonical",
        edit(&init, &|v| v["secret"] = json!(secret)),
        Intent::Reject("schema_mismatch"),
    ));
    for (what, flag, content, intent) in init_cases {
        b.add(
            what,
            &["validate", "init_root", flag],
            "groups.validate",
            validate("init_root", content),
            intent,
        );
    }
    let bb = |rng: &mut ChaCha20Rng| FeedRef::bendybutt(draw(rng));
    let root = classic_msg(&mut rng);
    let add = AddMember {
        group_key: draw(&mut rng),
        old_keys: vec![draw(&mut rng)],
        root: root.clone(),
        creator: bb(&mut rng),
        text: Some("welcome!".into()),
        group_id: gid,
        members: vec![bb(&mut rng), bb(&mut rng)],
        group_previous: vec![classic_msg(&mut rng)],
        members_root: root.clone(),
        members_previous: vec![classic_msg(&mut rng), classic_msg(&mut rng)],
    };
    let am = groups::add_member_content(&add);
    b.add(
        "a group/add-member made by the builder",
        &["validate", "add_member", "built"],
        "groups.validate",
        validate("add_member", am.clone()),
        Intent::Accept,
    );
    let minimal = groups::add_member_content(&AddMember {
        old_keys: vec![],
        text: None,
        members: vec![bb(&mut rng)],
        ..add.clone()
    });
    b.add(
        "a group/add-member without text or oldSecrets",
        &["validate", "add_member", "built"],
        "groups.validate",
        validate("add_member", minimal),
        Intent::Accept,
    );
    let classic_feed = FeedRef::classic(draw(&mut rng)).to_uri();
    let many: Vec<Value> = std::iter::once(json!(gid.to_uri()))
        .chain((0..16).map(|_| json!(bb(&mut rng).to_uri())))
        .collect();
    let am_cases: Vec<(&str, &str, Value, Intent)> = vec![
        (
            "a classic feed as a member",
            "classic_member",
            edit(&am, &|v| v["recps"][1] = json!(classic_feed)),
            Intent::Reject("schema_mismatch"),
        ),
        (
            "a classic feed as the creator",
            "classic_member",
            edit(&am, &|v| v["creator"] = json!(classic_feed)),
            Intent::Reject("schema_mismatch"),
        ),
        (
            "17 recipients",
            "too_many_recps",
            edit(&am, &|v| v["recps"] = Value::Array(many.clone())),
            Intent::Reject("schema_mismatch"),
        ),
        (
            "only the group id as recipient",
            "too_few_recps",
            edit(&am, &|v| v["recps"] = json!([gid.to_uri()])),
            Intent::Reject("schema_mismatch"),
        ),
        (
            "a number after the first previous of the members tangle",
            "tuple_items",
            edit(&am, &|v| v["tangles"]["members"]["previous"][1] = json!(42)),
            Intent::Accept,
        ),
        (
            "a second old secret that is not base64",
            "tuple_items",
            edit(&am, &|v| {
                v["oldSecrets"]
                    .as_array_mut()
                    .expect("array")
                    .push(json!("not a secret"))
            }),
            Intent::Accept,
        ),
        (
            "text that is a number",
            "wrong_type",
            edit(&am, &|v| v["text"] = json!(7)),
            Intent::Reject("schema_mismatch"),
        ),
        (
            "version v1",
            "wrong_version",
            edit(&am, &|v| v["version"] = json!("v1")),
            Intent::Reject("schema_mismatch"),
        ),
        (
            "an add-member with a field of its own",
            "additional_property",
            edit(&am, &|v| v["note"] = json!("hi")),
            Intent::Reject("schema_mismatch"),
        ),
    ];
    for (what, flag, content, intent) in am_cases {
        b.add(
            what,
            &["validate", "add_member", flag],
            "groups.validate",
            validate("add_member", content),
            intent,
        );
    }
    let post = json!({
        "type": "post",
        "text": "hello group",
        "recps": [gid.to_uri()],
        "tangles": {"group": {"root": root.to_uri(), "previous": [classic_msg(&mut rng).to_uri()]}},
    });
    let content_cases: Vec<(&str, &str, Value, Intent)> = vec![
        (
            "a post to a group, with fields of its own",
            "additional_property",
            post.clone(),
            Intent::Accept,
        ),
        (
            "a post to a group and a feed",
            "too_many_recps",
            edit(&post, &|v| {
                v["recps"]
                    .as_array_mut()
                    .expect("array")
                    .push(json!(add.creator.to_uri()))
            }),
            Intent::Reject("schema_mismatch"),
        ),
        (
            "a post to a feed instead of a group",
            "wrong_type",
            edit(&post, &|v| v["recps"] = json!([add.creator.to_uri()])),
            Intent::Reject("schema_mismatch"),
        ),
        (
            "a post without tangles",
            "missing_property",
            edit(&post, &|v| {
                v.as_object_mut().expect("object").remove("tangles");
            }),
            Intent::Reject("schema_mismatch"),
        ),
    ];
    for (what, flag, content, intent) in content_cases {
        b.add(
            what,
            &["validate", "group_content", flag],
            "groups.validate",
            validate("content", content),
            intent,
        );
    }
    b.finish()
}
