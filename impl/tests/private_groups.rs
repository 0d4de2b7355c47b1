//! Private-group properties: DM keys are the same from both sides for any two feeds (classic or
//! bendybutt-v1), in either sort order; P.O. Box keys likewise, and never depend on the sort
//! order; a group id computed from an init message equals the cloaked id of that message under
//! its read key; group keys are found in the first slot only; the builders' content passes the
//! schemas, and validation never panics on any JSON.

use proptest::prelude::*;
use serde_json::json;
use ssb_impl::bendybutt::bfe::{FeedRef, MsgFormat, MsgRef};
use ssb_impl::crypto;
use ssb_impl::private::box2::{self, Box2Error, Context, RecipientKey};
use ssb_impl::private::groups::{self, schemes, GroupId, InfoOrder, PoBoxId, Schema};
use ssb_impl::Keypair;

fn feed(k: &Keypair, bendy: bool) -> FeedRef {
    if bendy {
        FeedRef::bendybutt(*k.public())
    } else {
        FeedRef::classic(*k.public())
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn dm_keys_are_shared(a: [u8; 32], b: [u8; 32], a_bendy: bool, b_bendy: bool) {
        prop_assume!(a != b);
        let (ka, kb) = (Keypair::from_seed(a), Keypair::from_seed(b));
        let (fa, fb) = (feed(&ka, a_bendy), feed(&kb, b_bendy));
        for order in [InfoOrder::Bytewise, InfoOrder::JsString] {
            let x = groups::dm_key_for_feeds(&ka, &fa, &fb, order).unwrap();
            let y = groups::dm_key_for_feeds(&kb, &fb, &fa, order).unwrap();
            prop_assert_eq!(x, y);
        }
    }

    #[test]
    fn po_box_keys_are_shared_and_order_free(a: [u8; 32], box_secret: [u8; 32]) {
        let ka = Keypair::from_seed(a);
        let fa = FeedRef::classic(*ka.public());
        let po = PoBoxId(crypto::x25519_base(&box_secret));
        let dh = crypto::ed25519_pk_to_curve25519(ka.public()).unwrap();
        let x = groups::po_box_key_as_author(&ka.curve25519_secret(), &dh, &fa, &po, InfoOrder::Bytewise);
        let y = groups::po_box_key_as_box(&box_secret, &po, &dh, &fa, InfoOrder::Bytewise);
        let z = groups::po_box_key_as_author(&ka.curve25519_secret(), &dh, &fa, &po, InfoOrder::JsString);
        prop_assert_eq!(&x, &y);
        prop_assert_eq!(&x, &z);
    }

    #[test]
    fn validation_never_panics(s in ".{0,200}") {
        let v: serde_json::Value = serde_json::from_str(&s).unwrap_or(json!(s));
        for schema in [Schema::InitRoot, Schema::AddMember, Schema::Content] {
            let _ = groups::validate(schema, &v);
            let _ = groups::validate(schema, &json!({"type": v.clone(), "recps": [v.clone()], "tangles": {"group": v.clone()}}));
        }
        let _ = GroupId::parse(&s);
        let _ = PoBoxId::parse(&s);
    }
}

#[test]
fn group_id_from_init_and_the_first_slot_rule() {
    let author = FeedRef::classic([9; 32]);
    let ctx = Context::new(&author, None).unwrap();
    let group_key = [1u8; 32];
    let own = RecipientKey::new([2; 32], schemes::FEED_ID_SELF);
    let group = RecipientKey::new(group_key, schemes::PRIVATE_GROUP);
    let plain = serde_json::to_vec(&groups::init_root_content(&group_key)).unwrap();
    let init_id = MsgRef::new(MsgFormat::Classic, &[3; 32]).unwrap();
    let msg_key = [4u8; 32];
    let ct = box2::seal(&plain, &ctx, &msg_key, &[group.clone(), own.clone()], &[]).unwrap();
    let gid = groups::group_id_from_init(&init_id, &ctx, &ct, &group_key).unwrap();
    assert_eq!(gid, groups::group_id(&init_id, &ctx.read_key(&msg_key)));
    assert_eq!(GroupId::parse(&gid.to_uri()), Ok(gid));
    let opened = groups::open(&ct, &ctx, std::slice::from_ref(&own), 16).unwrap();
    assert_eq!(opened.plaintext, plain);
    let content: serde_json::Value = serde_json::from_slice(&opened.plaintext).unwrap();
    assert_eq!(groups::validate(Schema::InitRoot, &content), Ok(()));

    // The group key in the second slot is not looked for.
    let swapped = box2::seal(&plain, &ctx, &msg_key, &[own.clone(), group.clone()], &[]).unwrap();
    assert!(groups::group_id_from_init(&init_id, &ctx, &swapped, &group_key).is_err());
    assert_eq!(
        groups::open(&swapped, &ctx, std::slice::from_ref(&group), 16).map(|o| o.plaintext),
        Err(Box2Error::NotRecipient)
    );
    assert!(groups::open(&swapped, &ctx, &[group, own], 16).is_ok());
}
