//! The node's private index: a group created by one node, members added later, messages to the
//! group before and after a member joined, DMs by box2 and private-box; who reads what, the
//! ciphertexts stored by everyone, and the keys recovered from the log after a restart.

use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha20Rng;
use serde_json::json;
use ssb_impl::legacy::{self, Mode};
use ssb_impl::node::{Node, NodeConfig, ReadVia, Recipient};
use ssb_impl::store::{MemoryBlobs, MemoryStore, StoredMsg};
use ssb_impl::{FeedId, Keypair};

fn node(seed: u8) -> Node {
    let mut n = Node::new(
        Keypair::from_seed([seed; 32]),
        NodeConfig::default(),
        Box::new(MemoryStore::new()),
        Box::new(MemoryBlobs::new()),
    )
    .unwrap();
    for other in 1..=4u8 {
        if other != seed {
            n.replicate(Keypair::from_seed([other; 32]).id());
        }
    }
    n
}

/// Hands every message of `from`'s feed that `to` lacks to `to`, as replication would.
fn sync(from: &Node, to: &mut Node) {
    let feed = from.id();
    let have = to.store().latest(&feed).map_or(0, |l| l.sequence);
    for m in from.store().range(&feed, have + 1, 1000).unwrap() {
        let v = legacy::parse(m.value.as_bytes(), Mode::JsCompat).unwrap();
        to.add_message(&v, 1).unwrap();
    }
}

fn text(n: &Node, m: &StoredMsg) -> Option<String> {
    n.read_private(&m.id)
        .map(|r| r.content["text"].as_str().unwrap_or("").to_string())
}

#[test]
fn members_read_the_group_and_nobody_else_does() {
    let mut rng = ChaCha20Rng::from_seed([9; 32]);
    let (mut alice, mut bob, mut carol) = (node(1), node(2), node(3));
    let (group, init) = alice.create_group(&mut rng, 10).unwrap();
    assert!(alice.groups().contains_key(&group));
    assert_eq!(alice.groups()[&group].init, Some(init.id));

    let early = alice
        .publish_box2(
            &json!({"type": "post", "text": "before bob"}),
            &[Recipient::Group(group)],
            &mut rng,
            11,
        )
        .unwrap();
    assert!(
        early.value.contains(".box2\""),
        "content is ciphertext: {}",
        early.value
    );
    assert!(!early.value.contains("before bob"));
    sync(&alice, &mut bob);
    sync(&alice, &mut carol);
    assert_eq!(text(&alice, &early).as_deref(), Some("before bob"));
    assert_eq!(text(&bob, &early), None, "bob is not a member yet");

    let add = alice.add_members(group, &[bob.id()], &mut rng, 12).unwrap();
    let late = alice
        .publish_box2(
            &json!({"type": "post", "text": "after bob"}),
            &[Recipient::Group(group)],
            &mut rng,
            13,
        )
        .unwrap();
    sync(&alice, &mut bob);
    sync(&alice, &mut carol);
    assert!(
        bob.groups().contains_key(&group),
        "the add-member gave bob the key"
    );
    assert_eq!(bob.read_private(&add.id).unwrap().via, ReadVia::Dm);
    assert_eq!(
        text(&bob, &early).as_deref(),
        Some("before bob"),
        "earlier messages read on joining"
    );
    assert_eq!(text(&bob, &late).as_deref(), Some("after bob"));
    assert_eq!(bob.read_private(&late.id).unwrap().via, ReadVia::Group(group));
    assert!(bob.private_stats().retried > 0);

    // Bob writes to the group; alice reads it, carol stores it and cannot.
    let reply = bob
        .publish_box2(
            &json!({"type": "post", "text": "hi all"}),
            &[Recipient::Group(group)],
            &mut rng,
            14,
        )
        .unwrap();
    sync(&bob, &mut alice);
    sync(&bob, &mut carol);
    assert_eq!(text(&alice, &reply).as_deref(), Some("hi all"));
    for m in [&init, &early, &add, &late, &reply] {
        assert!(carol.read_private(&m.id).is_none());
        assert_eq!(
            carol.store().get(&m.author, m.sequence).unwrap().unwrap().id,
            m.id
        );
    }
    assert!(carol.groups().is_empty());
    assert_eq!(carol.private_stats().opened, 0);
    assert_eq!(carol.private_stats().checked, 5);
}

#[test]
fn direct_messages_by_box2_and_private_box() {
    let mut rng = ChaCha20Rng::from_seed([5; 32]);
    let (mut alice, mut bob, mut carol) = (node(1), node(2), node(3));
    let dm = alice
        .publish_box2(
            &json!({"type": "post", "text": "dm"}),
            &[Recipient::Feed(bob.id())],
            &mut rng,
            1,
        )
        .unwrap();
    let pb = alice
        .publish_box1(&json!({"type": "post", "text": "pb"}), &[bob.id()], &mut rng, 2)
        .unwrap();
    assert!(pb.value.contains(".box\""));
    sync(&alice, &mut bob);
    sync(&alice, &mut carol);
    assert_eq!(alice.read_private(&dm.id).unwrap().via, ReadVia::SelfKey);
    assert_eq!(bob.read_private(&dm.id).unwrap().via, ReadVia::Dm);
    assert_eq!(
        bob.read_private(&dm.id).unwrap().content["recps"],
        json!([bob.id().to_string()])
    );
    assert_eq!(text(&bob, &pb).as_deref(), Some("pb"));
    assert_eq!(alice.read_private(&pb.id).unwrap().via, ReadVia::Box1);
    assert!(carol.read_private(&dm.id).is_none() && carol.read_private(&pb.id).is_none());

    // Eight private-box recipients (us and seven) is one too many.
    let many: Vec<FeedId> = (10..17u8).map(|s| Keypair::from_seed([s; 32]).id()).collect();
    assert!(alice
        .publish_box1(&json!({"type": "x"}), &many, &mut rng, 3)
        .is_err());
    // Two groups in one message are refused; so is a group whose key we lack.
    let (g1, _) = alice.create_group(&mut rng, 4).unwrap();
    let (g2, _) = alice.create_group(&mut rng, 5).unwrap();
    assert!(alice
        .publish_box2(
            &json!({"type": "x"}),
            &[Recipient::Group(g1), Recipient::Group(g2)],
            &mut rng,
            6
        )
        .is_err());
    assert!(bob
        .publish_box2(&json!({"type": "x"}), &[Recipient::Group(g1)], &mut rng, 6)
        .is_err());
}

#[test]
fn keys_come_back_from_the_log_after_a_restart() {
    let mut rng = ChaCha20Rng::from_seed([7; 32]);
    let (mut alice, mut bob) = (node(1), node(2));
    let (group, _) = alice.create_group(&mut rng, 1).unwrap();
    alice.add_members(group, &[bob.id()], &mut rng, 2).unwrap();
    let post = alice
        .publish_box2(
            &json!({"type": "post", "text": "kept"}),
            &[Recipient::Group(group)],
            &mut rng,
            3,
        )
        .unwrap();
    sync(&alice, &mut bob);

    for (seed, n) in [(1u8, alice), (2u8, bob)] {
        let (store, blobs) = n.into_parts();
        let reopened = Node::new(
            Keypair::from_seed([seed; 32]),
            NodeConfig::default(),
            store,
            blobs,
        )
        .unwrap();
        assert!(
            reopened.groups().contains_key(&group),
            "node {seed} lost the group key"
        );
        assert_eq!(
            reopened.read_private(&post.id).map(|r| r.content["text"].clone()),
            Some(json!("kept"))
        );
    }
}
