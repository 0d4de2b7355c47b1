//! Fuzzes private-box (box1) opening: `ssb_impl::private::box1` and the `.box` content decoder.
//!
//! Input layout: `mode ‖ rest`. Mode bit 0 clear: `rest` is a ciphertext opened by a fixed
//! reader (and as content text when it is UTF-8). Mode bit 0 set: `rest = n ‖ reader ‖ limit ‖
//! plen ‖ plaintext(plen) ‖ edits`: a valid message is sealed to `1 + n % 8` feeds (with the
//! limit raised to 8 when needed), then the edits (`ssb_fuzz::apply_edits` records) are applied
//! to it and reader `reader % 9` (the ninth is a stranger) opens it, trying `1 + limit % 255` slots.
//!
//! Invariants: no panic; arbitrary bytes never open; an unedited message opens for exactly the
//! recipients within the slots tried and for no one else; an edited message that opens gives
//! the original plaintext (no forgery).

#![no_main]

use libfuzzer_sys::fuzz_target;
use ssb_fuzz::apply_edits;
use ssb_impl::private::box1::{self, SealParams};
use ssb_impl::private::content::{self, BoxFormat};
use ssb_impl::Keypair;

fn keys() -> Vec<Keypair> {
    (0..9u8)
        .map(|i| Keypair::from_seed([i.wrapping_mul(37).wrapping_add(1); 32]))
        .collect()
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let ks = keys();
    if mode & 1 == 0 {
        assert!(box1::open(rest, &ks[0]).is_err(), "arbitrary bytes opened");
        if let Ok(s) = std::str::from_utf8(rest) {
            if let Ok(ct) = content::decode(BoxFormat::Box1, s) {
                assert_eq!(
                    content::encode(BoxFormat::Box1, &ct),
                    s,
                    "content is not canonical"
                );
                assert!(box1::open(&ct, &ks[0]).is_err());
            }
        }
        return;
    }
    let [n, reader, limit, plen, rest @ ..] = rest else {
        return;
    };
    let n = 1 + usize::from(*n) % 8;
    let reader = usize::from(*reader) % 9;
    let tries = 1 + usize::from(*limit) % 255;
    let plen = usize::from(*plen).min(rest.len());
    let (plain, edits) = rest.split_at(plen);
    let params = SealParams {
        nonce: [mode; 24],
        body_key: [n as u8; 32],
        ephemeral_secret: [plen as u8 ^ 0x5a; 32],
    };
    let pubs: Vec<[u8; 32]> = ks[..n].iter().map(|k| *k.public()).collect();
    let curve = box1::feed_keys_to_curve(&pubs).expect("fixed keys convert");
    let ct = box1::seal_curve(plain, &curve, &params, n.max(7)).expect("valid seal");
    let secret = ks[reader].curve25519_secret();
    let got = box1::open_curve(&ct, &secret, tries);
    if reader < n && reader < tries {
        assert_eq!(got.as_deref(), Ok(plain), "recipient cannot open");
    } else {
        assert!(
            got.is_err(),
            "opened by a non-recipient or beyond the slots tried"
        );
    }
    let edited = apply_edits(&ct, edits);
    if let Ok(p) = box1::open_curve(&edited, &secret, tries) {
        assert_eq!(p, plain, "forged plaintext");
    }
});
