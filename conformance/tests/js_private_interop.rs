//! Private messages between the reference node and the JavaScript stack, through live nodes over
//! real TCP on 127.0.0.1 replicating with EBT (secret-stack 6 + ssb-db2 6 + ssb-ebt 9,
//! `conformance/adapters/js-node/peer.js`):
//!
//! - box2 (envelope) to a private group: our node creates the group and publishes to it, the JS
//!   peer reads it with envelope-js (and ssb-db2's own ssb-box2 reads it too); the JS peer
//!   publishes to the group key (with envelope-js, and through ssb-db2's own `create`) and our node
//!   reads it as a group message.
//! - box1 (private-box): our node boxes to the JS peer's feed and ssb-keys opens it (ssb-db2's
//!   ssb-box too); ssb-db2 boxes to our feed and our node opens it.
//!
//! and, each way, a message for someone else is not read.

use std::path::Path;
use std::time::{Duration, Instant};

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use serde_json::{json, Value as Json};
use ssb_conformance::js_peer::{free_port, fresh_dir, JsPeer, JsPeerOptions, Stack};
use ssb_impl::legacy::message::MsgId;
use ssb_impl::node::runtime::{self, NodeHandle};
use ssb_impl::node::{NodeConfig, NodeEvent, PrivateRead, ReadVia, Recipient, Replication};
use ssb_impl::private::groups::GroupId;
use ssb_impl::store::StoredMsg;
use ssb_impl::{FeedId, Keypair};

const WAIT: Duration = Duration::from_secs(20);

/// A db2 peer whose connections never time out (the steps below leave the connection idle).
fn js_peer(dir: &Path, seed: u8) -> JsPeer {
    JsPeer::start(&JsPeerOptions {
        stack: Stack::Db2,
        port: free_port(),
        data: fresh_dir(dir, &format!("db2-{seed}")),
        seed_hex: hex::encode([seed; 32]),
        ebt: true,
        timeout_ms: Some(0),
    })
    .unwrap_or_else(|e| panic!("JS peer (these tests need node and npm on PATH): {e}"))
}

/// Our node, replicating `replicate` with EBT.
async fn our_node(seed: u8, replicate: FeedId) -> NodeHandle {
    let config = NodeConfig {
        replication: Replication::Ebt,
        replicate: [replicate].into_iter().collect(),
        ..NodeConfig::default()
    };
    runtime::spawn_in_memory(Keypair::from_seed([seed; 32]), config)
        .await
        .unwrap()
}

/// The JS peer replicates our feed and dials us; it then runs EBT with us both ways.
fn js_connects(js: &mut JsPeer, ours: &NodeHandle) {
    js.cmd("replicate", json!({"feed": ours.id.to_string(), "on": true}))
        .unwrap();
    js.cmd(
        "connect",
        json!({"host": "127.0.0.1", "port": ours.addr.port(), "key": ours.id.to_string()}),
    )
    .unwrap();
}

fn js_waits_for(js: &mut JsPeer, feed: FeedId, seq: u64) {
    js.cmd(
        "wait",
        json!({"feed": feed.to_string(), "seq": seq, "timeout_ms": WAIT.as_millis() as u64}),
    )
    .unwrap_or_else(|e| panic!("the JS peer did not replicate {feed} up to {seq}: {e}"));
}

/// The `content` field of a stored message: the ciphertext string for a private message.
fn content_of(m: &StoredMsg) -> String {
    let v: Json = serde_json::from_str(&m.value).unwrap();
    v["content"]
        .as_str()
        .unwrap_or_else(|| panic!("not encrypted: {}", m.value))
        .to_string()
}

fn msg_id(s: &Json) -> MsgId {
    MsgId::parse(s.as_str().unwrap()).unwrap()
}

fn no_rejections(events: Vec<NodeEvent>) {
    let rejected: Vec<_> = events
        .into_iter()
        .filter(|e| matches!(e, NodeEvent::Rejected { .. }))
        .collect();
    assert!(rejected.is_empty(), "{rejected:?}");
}

fn lap(t: &mut Instant, what: &str) {
    eprintln!("{:>6} ms  {what}", t.elapsed().as_millis());
    *t = Instant::now();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn box2_group_messages_both_ways() {
    let t0 = Instant::now();
    let mut t = Instant::now();
    let tmp = tempfile::tempdir().unwrap();
    let mut js = js_peer(tmp.path(), 61);
    let js_id = FeedId::parse(&js.id).unwrap();
    let ours = our_node(62, js_id).await;
    lap(&mut t, "JS peer and our node started");

    // Our node creates a group and writes to it.
    let (group, init) = ours.create_group().await.unwrap();
    let info = ours
        .groups()
        .await
        .into_iter()
        .find(|(g, _)| *g == group)
        .map(|(_, i)| i)
        .expect("the new group is in groups()");
    assert_eq!(info.init, Some(init.id));
    let group_key = B64.encode(info.key);
    let text = json!({"type": "post", "text": "to the group, from the reference node"});
    let ours_msg = ours
        .publish_box2(text.clone(), vec![Recipient::Group(group)])
        .await
        .unwrap();
    assert!(content_of(&ours_msg).ends_with(".box2"), "{}", ours_msg.value);
    // The plaintext is `text` with the `recps` the node adds.
    let mut want = text.clone();
    want["recps"] = json!([group.to_uri()]);
    let own = ours
        .read_private(ours_msg.id)
        .await
        .expect("our node reads its own group message");
    assert_eq!(
        own,
        PrivateRead {
            content: want.clone(),
            via: ReadVia::Group(group)
        }
    );

    // ssb-db2 learns the group too (ssb-box2), so the JS stack's own indexing decrypts as well.
    let added = js
        .cmd(
            "addGroup",
            json!({"groupId": group.to_uri(), "groupKey": group_key}),
        )
        .unwrap();
    assert_eq!(added["groups"], json!([group.to_uri()]));

    // (a) The JS peer replicates our feed over EBT and reads our group message.
    js_connects(&mut js, &ours);
    js_waits_for(&mut js, ours.id, ours_msg.sequence);
    lap(&mut t, "the JS peer replicated our group/init and group message");
    let read = js
        .cmd(
            "unboxBox2",
            json!({"msg": ours_msg.id.to_string(), "groupKey": group_key}),
        )
        .unwrap();
    assert_eq!(
        read["read"],
        json!(true),
        "envelope-js did not read our message: {read}"
    );
    assert_eq!(
        read["content"], want,
        "envelope-js plaintext of our group message"
    );
    assert_eq!(
        read["plaintext"].as_str(),
        Some(serde_json::to_string(&want).unwrap().as_str()),
        "the plaintext bytes the JS stack opened are the ones our node boxed"
    );
    assert_eq!(
        read["db2"]["decrypted"],
        json!(true),
        "ssb-db2 did not decrypt it: {read}"
    );
    assert_eq!(
        read["db2"]["content"], want,
        "ssb-db2's plaintext of our group message"
    );
    // The group/init: JS reads it with the group key, and the group id it derives is ours.
    let read_init = js
        .cmd(
            "unboxBox2",
            json!({"msg": init.id.to_string(), "groupKey": group_key}),
        )
        .unwrap();
    assert_eq!(read_init["read"], json!(true), "{read_init}");
    assert_eq!(read_init["content"]["type"], json!("group/init"), "{read_init}");
    let js_group = GroupId::parse(read_init["cloakedId"].as_str().unwrap()).unwrap();
    assert_eq!(
        js_group, group,
        "the JS stack derives another group id from our group/init"
    );
    // Negative: another group key does not open it.
    let wrong = js
        .cmd(
            "unboxBox2",
            json!({"msg": ours_msg.id.to_string(), "groupKey": B64.encode([0x5a; 32])}),
        )
        .unwrap();
    assert_eq!(wrong["read"], json!(false), "read with a wrong key: {wrong}");
    lap(
        &mut t,
        "the JS peer read our group message (envelope-js and ssb-db2)",
    );

    // (b) The JS peer writes to the group: with envelope-js as its first message (nil previous in
    // the context), through ssb-db2's own create, and with envelope-js again (a previous id).
    let js_text = json!({"type": "post", "text": "to the group, from the JS stack"});
    let js_env = js
        .cmd("publishBox2", json!({"groupKey": group_key, "content": js_text}))
        .unwrap();
    assert_eq!(
        (js_env["seq"].as_u64(), &js_env["previous"]),
        (Some(1), &Json::Null),
        "{js_env}"
    );
    assert!(js_env["content"].as_str().unwrap().ends_with(".box2"), "{js_env}");
    let db2_text = json!({"type": "post", "text": "to the group, from ssb-db2's create"});
    let js_db2 = js
        .cmd(
            "publishBox2",
            json!({"groupId": group.to_uri(), "via": "ssb-db2", "content": db2_text}),
        )
        .unwrap();
    let mut db2_want = db2_text.clone();
    db2_want["recps"] = json!([group.to_uri()]);
    let js_text2 = json!({"type": "post", "text": "to the group again", "n": [1, 2.5, "three"]});
    let js_env2 = js
        .cmd("publishBox2", json!({"groupKey": group_key, "content": js_text2}))
        .unwrap();
    assert_eq!(js_env2["previous"], js_db2["key"], "{js_env2}");
    // Negative: a message to another group's key.
    let other = js
        .cmd(
            "publishBox2",
            json!({"groupKey": B64.encode([0xa5; 32]), "content": {"type": "post", "text": "not for you"}}),
        )
        .unwrap();
    let last = other["seq"].as_u64().unwrap();
    assert!(
        ours.wait_for(js_id, last, WAIT).await,
        "our node did not replicate the JS feed up to {last}"
    );
    lap(&mut t, "our node replicated the JS peer's four box2 messages");
    for (m, content, what) in [
        (&js_env, js_text, "envelope-js, first message"),
        (&js_db2, db2_want, "ssb-db2's create"),
        (&js_env2, js_text2, "envelope-js, with a previous"),
    ] {
        assert_eq!(
            ours.read_private(msg_id(&m["key"])).await,
            Some(PrivateRead {
                content,
                via: ReadVia::Group(group)
            }),
            "our read of the JS group message ({what})"
        );
    }
    assert_eq!(
        ours.read_private(msg_id(&other["key"])).await,
        None,
        "our node read a message boxed to another group key"
    );
    // The JS messages are stored as the JS stack wrote them.
    let stored = ours.get(js_id, js_env["seq"].as_u64().unwrap()).await.unwrap();
    assert_eq!(stored.id, msg_id(&js_env["key"]));
    assert_eq!(content_of(&stored), js_env["content"].as_str().unwrap());
    no_rejections(ours.events().await);
    lap(&mut t, "our node read the JS group messages, not the other one");
    eprintln!("box2 total {} ms", t0.elapsed().as_millis());
    ours.stop().await;
    js.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn box1_private_messages_both_ways() {
    let t0 = Instant::now();
    let mut t = Instant::now();
    let tmp = tempfile::tempdir().unwrap();
    let mut js = js_peer(tmp.path(), 63);
    let js_id = FeedId::parse(&js.id).unwrap();
    let ours = our_node(64, js_id).await;
    let stranger = Keypair::from_seed([65; 32]).id();
    lap(&mut t, "JS peer and our node started");

    // (c) Our node boxes to the JS peer's feed (and itself); and one to a stranger only.
    let text = json!({"type": "post", "text": "private-box, from the reference node"});
    let to_js = ours.publish_box1(text.clone(), vec![js_id]).await.unwrap();
    // The plaintext is `text` with the `recps` the node adds (itself first), as the JS stack does.
    let mut text = text;
    text["recps"] = json!([ours.id.to_string(), js.id]);
    assert!(content_of(&to_js).ends_with(".box"), "{}", to_js.value);
    assert_eq!(
        ours.read_private(to_js.id).await,
        Some(PrivateRead {
            content: text.clone(),
            via: ReadVia::Box1
        })
    );
    let to_stranger = ours
        .publish_box1(
            json!({"type": "post", "text": "not for the JS peer"}),
            vec![stranger],
        )
        .await
        .unwrap();
    js_connects(&mut js, &ours);
    js_waits_for(&mut js, ours.id, to_stranger.sequence);
    lap(&mut t, "the JS peer replicated our two box1 messages");
    let read = js.cmd("unboxBox1", json!({"msg": to_js.id.to_string()})).unwrap();
    assert_eq!(
        read["read"],
        json!(true),
        "ssb-keys did not read our message: {read}"
    );
    assert_eq!(read["content"], text, "ssb-keys' plaintext of our box1 message");
    assert_eq!(
        read["db2"]["decrypted"],
        json!(true),
        "ssb-db2 did not decrypt it: {read}"
    );
    assert_eq!(
        read["db2"]["content"], text,
        "ssb-db2's plaintext of our box1 message"
    );
    let not_read = js
        .cmd("unboxBox1", json!({"msg": to_stranger.id.to_string()}))
        .unwrap();
    assert_eq!(not_read["read"], json!(false), "{not_read}");
    assert_eq!(not_read["db2"]["decrypted"], json!(false), "{not_read}");
    lap(&mut t, "the JS peer read ours to it, not ours to a stranger");

    // (d) ssb-db2 boxes to our feed (and its own); and one to itself and a stranger.
    let js_text = json!({"type": "post", "text": "private-box, from ssb-db2"});
    let for_us = js
        .cmd(
            "publishBox1",
            json!({"content": js_text, "recps": [ours.id.to_string(), js.id]}),
        )
        .unwrap();
    assert!(for_us["content"].as_str().unwrap().ends_with(".box"), "{for_us}");
    let not_for_us = js
        .cmd(
            "publishBox1",
            json!({"content": {"type": "post", "text": "not for the reference node"},
                   "recps": [js.id, stranger.to_string()]}),
        )
        .unwrap();
    let last = not_for_us["seq"].as_u64().unwrap();
    assert!(
        ours.wait_for(js_id, last, WAIT).await,
        "our node did not replicate the JS feed up to {last}"
    );
    lap(&mut t, "our node replicated the JS peer's two box1 messages");
    let mut want = js_text.clone();
    want["recps"] = json!([ours.id.to_string(), js.id]);
    assert_eq!(
        ours.read_private(msg_id(&for_us["key"])).await,
        Some(PrivateRead {
            content: want,
            via: ReadVia::Box1
        }),
        "our read of the JS box1 message"
    );
    assert_eq!(
        ours.read_private(msg_id(&not_for_us["key"])).await,
        None,
        "our node read a box1 message not addressed to it"
    );
    no_rejections(ours.events().await);
    lap(&mut t, "our node read the JS message to it, not the other one");
    eprintln!("box1 total {} ms", t0.elapsed().as_millis());
    ours.stop().await;
    js.stop();
}
