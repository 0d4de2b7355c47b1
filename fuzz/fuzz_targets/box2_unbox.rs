//! Fuzzes envelope (box2) unboxing: header, key slots, extensions and body
//! (`ssb_impl::private::box2`, `groups::open`), with the context decoded from BFE bytes.
//!
//! Input layout: `mode ‖ rest`. Mode bit 0 clear: `rest = flen ‖ feed BFE(flen) ‖ plen ‖
//! previous BFE(plen) ‖ envelope`: the context is decoded (on failure a fixed one is used) and
//! the envelope opened with fixed trial keys, 16 deep, with a read key and as group content.
//! Mode bit 0 set: `rest = n ‖ reader ‖ attempts ‖ pad ‖ flags ‖ plen ‖ plaintext(plen) ‖
//! edits`: a valid envelope with `1 + n % 17` slots (the limit raised to 17), `pad` bytes of
//! padding and the flags byte is sealed, the edits (`ssb_fuzz::apply_edits` records) applied,
//! and reader `reader % 18` (the 18th holds no slot) opens it trying `attempts % 20` slots.
//!
//! Invariants: no panic; arbitrary bytes never open; an unedited envelope opens exactly for a
//! key within the slots tried, at its slot, with the flags given; an edited envelope that opens
//! gives the original plaintext; the body never starts before the slot that opened.

#![no_main]

use libfuzzer_sys::fuzz_target;
use ssb_fuzz::apply_edits;
use ssb_impl::bendybutt::bfe::{FeedRef, MsgFormat, MsgRef};
use ssb_impl::private::box2::{self, Context, RecipientKey, HEADER_BOX_LEN, SLOT_LEN};
use ssb_impl::private::groups;

fn key(i: usize) -> RecipientKey {
    let scheme = if i == 0 {
        groups::schemes::PRIVATE_GROUP
    } else {
        groups::schemes::FEED_ID_DM
    };
    RecipientKey::new([i as u8 ^ 0xa5; 32], scheme)
}

fn fixed_ctx() -> Context {
    let prev = MsgRef::new(MsgFormat::Classic, &[2; 32]).expect("32 bytes");
    Context::new(&FeedRef::classic([1; 32]), Some(&prev)).expect("classic context")
}

fn split_len(data: &[u8]) -> Option<(&[u8], &[u8])> {
    let (&n, rest) = data.split_first()?;
    let n = usize::from(n).min(rest.len());
    Some(rest.split_at(n))
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    if mode & 1 == 0 {
        let Some((feed, rest)) = split_len(rest) else {
            return;
        };
        let Some((prev, envelope)) = split_len(rest) else {
            return;
        };
        let ctx = match Context::from_bfe(feed, prev) {
            Ok(c) => {
                assert_eq!(Context::from_bfe(c.feed_bfe(), c.previous_bfe()).as_ref(), Ok(&c));
                c
            }
            Err(e) => {
                let _ = (e.kind(), e.to_string());
                fixed_ctx()
            }
        };
        let keys: Vec<RecipientKey> = (0..3).map(key).collect();
        assert!(
            box2::open(envelope, &ctx, &keys, 16).is_err(),
            "arbitrary bytes opened"
        );
        assert!(box2::open_with_read_key(envelope, &ctx, &[7; 32]).is_err());
        assert!(groups::open(envelope, &ctx, &keys, 16).is_err());
        return;
    }
    let [n, reader, attempts, pad, flags, plen, rest @ ..] = rest else {
        return;
    };
    let n = 1 + usize::from(*n) % 17;
    let reader = usize::from(*reader) % 18;
    let attempts = usize::from(*attempts) % 20;
    let plen = usize::from(*plen).min(rest.len());
    let (plain, edits) = rest.split_at(plen);
    if plain.is_empty() {
        return;
    }
    let ctx = fixed_ctx();
    let recipients: Vec<RecipientKey> = (0..n).map(key).collect();
    let padding = vec![*pad; usize::from(*pad) % 64];
    let msg_key = [mode | 1; 32];
    let ct = box2::seal_with(plain, &ctx, &msg_key, &recipients, &padding, 17, *flags).expect("valid seal");
    let trial = [key(reader)];
    match box2::open(&ct, &ctx, &trial, attempts) {
        Ok(o) => {
            assert!(
                reader < n && reader < attempts,
                "opened beyond the slots or by a stranger"
            );
            assert_eq!(o.key.slot, reader);
            assert_eq!(o.key.header.flags, *flags);
            assert_eq!(o.plaintext, plain);
            assert_eq!(o.key.read_key, ctx.read_key(&msg_key));
        }
        Err(e) => assert!(reader >= n || reader >= attempts, "recipient cannot open: {e}"),
    }
    let edited = apply_edits(&ct, edits);
    if let Ok(o) = box2::open(&edited, &ctx, &trial, attempts) {
        assert_eq!(o.plaintext, plain, "forged plaintext");
        assert!(usize::from(o.key.header.offset) >= HEADER_BOX_LEN + (o.key.slot + 1) * SLOT_LEN);
    }
    if let Ok(o) = box2::open_with_read_key(&edited, &ctx, &ctx.read_key(&msg_key)) {
        assert_eq!(o.plaintext, plain, "forged plaintext (read key)");
    }
    if let Ok(o) = groups::open(&edited, &ctx, &trial, attempts) {
        assert_eq!(o.plaintext, plain, "forged plaintext (groups)");
    }
});
