//! Envelope (box2) properties: any 1–16 recipients, padding and flags round-trip; each key is
//! found exactly when it lies within `max_attempts` slots; the read key and the cloaked id
//! follow; a flipped bit in the header box, the reader's slot or the body stops it opening,
//! while the padding is not authenticated (the spec defines no extension to do so); opening
//! arbitrary bytes in any context never panics.

use proptest::prelude::*;
use ssb_impl::bendybutt::bfe::{FeedRef, MsgFormat, MsgRef};
use ssb_impl::private::box2::{self, Box2Error, Context, RecipientKey, HEADER_BOX_LEN, SLOT_LEN};

fn ctx(feed: [u8; 32], prev: Option<[u8; 32]>) -> Context {
    let prev = prev.map(|p| MsgRef::new(MsgFormat::Classic, &p).unwrap());
    Context::new(&FeedRef::classic(feed), prev.as_ref()).unwrap()
}

fn recipients(keys: &[[u8; 32]]) -> Vec<RecipientKey> {
    keys.iter()
        .enumerate()
        .map(|(i, k)| {
            RecipientKey::new(
                *k,
                if i == 0 {
                    "envelope-large-symmetric-group"
                } else {
                    "envelope-id-based-dm-converted-ed25519"
                },
            )
        })
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn round_trip(
        feed: [u8; 32],
        prev: Option<[u8; 32]>,
        msg_key in any::<[u8; 32]>().prop_filter("not zero", |k| k != &[0; 32]),
        keys in proptest::collection::vec(any::<[u8; 32]>(), 1..=16),
        plain in proptest::collection::vec(any::<u8>(), 1..200),
        padding in proptest::collection::vec(any::<u8>(), 0..70),
        flags: u8,
        reader: prop::sample::Index,
        max_attempts in 0usize..20,
    ) {
        let c = ctx(feed, prev);
        let r = recipients(&keys);
        let ct = box2::seal_with(&plain, &c, &msg_key, &r, &padding, 16, flags).unwrap();
        prop_assert_eq!(ct.len(), HEADER_BOX_LEN + SLOT_LEN * r.len() + padding.len() + 16 + plain.len());
        let j = reader.index(r.len());
        // A key equal to an earlier one opens the earlier slot.
        let first = r.iter().position(|k| k == &r[j]).unwrap();
        let got = box2::open(&ct, &c, &r[j..=j], max_attempts);
        if first < max_attempts {
            let o = got.unwrap();
            prop_assert_eq!(&o.plaintext, &plain);
            prop_assert_eq!(o.key.slot, first);
            prop_assert_eq!(o.key.header.flags, flags);
            prop_assert_eq!(o.key.read_key, c.read_key(&msg_key));
            let by_read = box2::open_with_read_key(&ct, &c, &o.key.read_key).unwrap();
            prop_assert_eq!(by_read.plaintext, plain);
        } else {
            prop_assert_eq!(got, Err(Box2Error::NotRecipient));
        }
    }

    #[test]
    fn tampering(
        keys in proptest::collection::vec(any::<[u8; 32]>(), 2..=5),
        padding in proptest::collection::vec(any::<u8>(), 1..40),
        at: prop::sample::Index,
        bit in 0u8..8,
    ) {
        let c = ctx([7; 32], Some([8; 32]));
        let r = recipients(&keys);
        let ct = box2::seal(b"tamper with me", &c, &[5; 32], &r, &padding).unwrap();
        let i = at.index(ct.len());
        let mut bad = ct.clone();
        bad[i] ^= 1 << bit;
        let slots_end = HEADER_BOX_LEN + SLOT_LEN * r.len();
        let reader_slot = HEADER_BOX_LEN..HEADER_BOX_LEN + SLOT_LEN;
        let got = box2::open(&bad, &c, &r[..1], 16);
        if i < HEADER_BOX_LEN || reader_slot.contains(&i) {
            prop_assert_eq!(got, Err(Box2Error::NotRecipient));
        } else if i >= slots_end + padding.len() {
            prop_assert_eq!(got, Err(Box2Error::BadBody));
        } else {
            // Another recipient's slot, or the padding: neither is authenticated for this reader.
            prop_assert!(got.is_ok());
        }
    }

    #[test]
    fn opening_any_bytes_never_panics(
        bytes in proptest::collection::vec(any::<u8>(), 0..400),
        feed_bfe in proptest::collection::vec(any::<u8>(), 0..40),
        prev_bfe in proptest::collection::vec(any::<u8>(), 0..40),
        read_key: [u8; 32],
        max_attempts in 0usize..40,
    ) {
        let c = Context::from_bfe(&feed_bfe, &prev_bfe).unwrap_or_else(|_| ctx([1; 32], None));
        let keys = recipients(&[[1; 32], [2; 32]]);
        let _ = box2::open(&bytes, &c, &keys, max_attempts);
        let _ = box2::open_with_read_key(&bytes, &c, &read_key);
        let _ = box2::slots_to_try(bytes.len(), max_attempts);
    }
}

#[test]
fn crafted_headers() {
    // With the keys in hand, a writer can put anything in the header: every offset that is not
    // after the opened slot with room for an authenticator is refused before any allocation.
    let c = ctx([3; 32], None);
    let k = RecipientKey::new([4; 32], "envelope-large-symmetric-group");
    let msg_key = [6u8; 32];
    let read_key = c.read_key(&msg_key);
    for offset in [0u16, 31, 63, 200, u16::MAX] {
        let mut header = [0u8; 16];
        header[..2].copy_from_slice(&offset.to_le_bytes());
        let mut ct = ssb_impl::crypto::secretbox_seal(&c.header_key(&read_key), &[0; 24], &header);
        ct.extend_from_slice(&box2::slot(&c, &msg_key, &k).unwrap());
        ct.extend_from_slice(&ssb_impl::crypto::secretbox_seal(
            &c.body_key(&read_key),
            &[0; 24],
            b"body",
        ));
        assert_eq!(
            box2::open(&ct, &c, std::slice::from_ref(&k), 16),
            Err(Box2Error::BadOffset { offset }),
            "offset {offset}"
        );
    }
}
