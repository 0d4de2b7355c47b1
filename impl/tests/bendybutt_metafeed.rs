//! A meta feed written with our own signer, end to end: `metafeed/add/derived`,
//! `metafeed/add/existing` (bamboo subfeed), encrypted content and a `metafeed/tombstone` whose
//! tangle points back at the add, with and without a network HMAC key. Every message
//! round-trips byte for byte and validates; the same feed under another HMAC key, or with a
//! content signature by the wrong key, is refused for that reason.

use std::collections::BTreeMap;

use ssb_impl::bendybutt::bfe::{EncryptedFormat, FeedFormat, FeedRef, MsgRef};
use ssb_impl::bendybutt::message::{Content, FeedError, Message, MessageError, Payload};
use ssb_impl::bendybutt::metafeed::{
    MetafeedContent, MetafeedEntry, MetafeedError, MetafeedFeedError, MetafeedMsgType, MetafeedValidator,
    Tangle,
};
use ssb_impl::bendybutt::Bfe;
use ssb_impl::Keypair;

struct Fixture {
    mf: Keypair,
    main: Keypair,
    bamboo: Keypair,
}

fn fixture() -> Fixture {
    Fixture {
        mf: Keypair::from_seed([0xa1; 32]),
        main: Keypair::from_seed([0xb2; 32]),
        bamboo: Keypair::from_seed([0xc3; 32]),
    }
}

fn metafeed_tangle(root: Option<&MsgRef>, previous: Option<&MsgRef>) -> Option<BTreeMap<Vec<u8>, Tangle>> {
    Some(BTreeMap::from([(
        b"metafeed".to_vec(),
        Tangle {
            root: root.cloned(),
            previous: previous.map(|p| vec![p.clone()]),
        },
    )]))
}

/// The four messages of the feed, encoded.
fn write_feed(f: &Fixture, hmac: Option<&[u8; 32]>) -> Vec<Vec<u8>> {
    let author = FeedRef::bendybutt(*f.mf.public());
    let mut out: Vec<Message> = Vec::new();
    let mut push = |content: Content| {
        let m = Payload {
            author,
            sequence: out.len() as u64 + 1,
            previous: out.last().map(Message::key),
            timestamp: 1_700_000_000_000 + out.len() as i64,
            content,
        }
        .sign(&f.mf, hmac)
        .unwrap();
        out.push(m);
        out.last().unwrap().key()
    };
    let add = MetafeedContent {
        kind: MetafeedMsgType::AddDerived,
        subfeed: FeedRef::classic(*f.main.public()),
        metafeed: author,
        feedpurpose: Some("main".into()),
        nonce: Some([7; 32]),
        tangles: metafeed_tangle(None, None),
        extra: Default::default(),
    };
    let add_key = push(add.sign(&f.main, hmac).unwrap());
    let existing = MetafeedContent {
        kind: MetafeedMsgType::AddExisting,
        subfeed: FeedRef::new(FeedFormat::Bamboo, *f.bamboo.public()),
        metafeed: author,
        feedpurpose: Some("legacy".into()),
        nonce: None,
        tangles: metafeed_tangle(None, None),
        extra: Default::default(),
    };
    push(existing.sign(&f.bamboo, hmac).unwrap());
    push(Content::Encrypted(
        Bfe::Encrypted(EncryptedFormat::Box2, vec![9; 48]).encode(),
    ));
    let tombstone = MetafeedContent {
        kind: MetafeedMsgType::Tombstone,
        subfeed: FeedRef::classic(*f.main.public()),
        metafeed: author,
        feedpurpose: None,
        nonce: None,
        tangles: metafeed_tangle(Some(&add_key), Some(&add_key)),
        extra: Default::default(),
    };
    push(tombstone.sign(&f.main, hmac).unwrap());
    out.iter().map(Message::encode).collect()
}

fn run(hmac: Option<[u8; 32]>) {
    let f = fixture();
    let feed = write_feed(&f, hmac.as_ref());
    let mut v = MetafeedValidator::new(hmac);
    let mut kinds = Vec::new();
    for bytes in &feed {
        let (verified, entry) = v.append(bytes).unwrap();
        assert_eq!(verified.message.encode(), *bytes);
        assert_eq!(Message::decode(bytes).unwrap(), verified.message);
        kinds.push(match entry {
            MetafeedEntry::Management(c) => Some(c.kind),
            MetafeedEntry::Encrypted(_) => None,
        });
    }
    assert_eq!(
        kinds,
        [
            Some(MetafeedMsgType::AddDerived),
            Some(MetafeedMsgType::AddExisting),
            None,
            Some(MetafeedMsgType::Tombstone)
        ]
    );
    let Ok(Message { payload, .. }) = Message::decode(&feed[3]) else {
        panic!("decodes")
    };
    let c = MetafeedContent::from_dict(payload.content.dict().unwrap()).unwrap();
    let t = &c.tangles.unwrap()[b"metafeed".as_slice()];
    assert_eq!(t.root, Some(Message::decode(&feed[0]).unwrap().key()));
}

#[test]
fn own_meta_feed_without_hmac() {
    run(None);
}

#[test]
fn own_meta_feed_with_hmac() {
    run(Some([0x5a; 32]));
}

#[test]
fn wrong_hmac_key_is_a_signature_failure() {
    let f = fixture();
    let feed = write_feed(&f, Some(&[1; 32]));
    let mut v = MetafeedValidator::new(Some([2; 32]));
    assert_eq!(
        v.append(&feed[0]).unwrap_err(),
        MetafeedFeedError::Feed(FeedError::Message(MessageError::SignatureInvalid))
    );
}

#[test]
fn content_signed_by_the_wrong_key_is_refused() {
    let f = fixture();
    let author = FeedRef::bendybutt(*f.mf.public());
    let add = MetafeedContent {
        kind: MetafeedMsgType::AddDerived,
        subfeed: FeedRef::classic(*f.main.public()),
        metafeed: author,
        feedpurpose: Some("main".into()),
        nonce: Some([7; 32]),
        tangles: None,
        extra: Default::default(),
    };
    // Sign with the bamboo key, then claim the main subfeed.
    let forged = MetafeedContent {
        subfeed: FeedRef::classic(*f.bamboo.public()),
        ..add.clone()
    }
    .sign(&f.bamboo, None)
    .unwrap();
    let Content::Signed { signature, .. } = forged else {
        panic!("signed")
    };
    let content = Content::Signed {
        dict: add.to_dict(),
        signature,
    };
    let m = Payload {
        author,
        sequence: 1,
        previous: None,
        timestamp: 0,
        content,
    }
    .sign(&f.mf, None)
    .unwrap();
    let mut v = MetafeedValidator::new(None);
    assert!(matches!(
        v.append(&m.encode()),
        Err(MetafeedFeedError::Content(MetafeedError::ContentSignatureInvalid { subfeed }))
            if subfeed == add.subfeed
    ));
    assert!(v.feed().state().is_none());
}
