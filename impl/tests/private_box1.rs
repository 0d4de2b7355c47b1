//! private-box (box1) properties: what we seal opens for every recipient and only for them;
//! libsodium's own primitives (scalarmult, secretbox, the ed25519 → curve25519 conversions) open
//! it too, so the layout is the format's and not only ours; no byte string makes opening panic;
//! a flipped bit anywhere but in another recipient's slot stops it opening.

use std::sync::Once;

use libsodium_sys as na;
use proptest::prelude::*;
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;
use ssb_impl::private::box1::{self, Box1Error, SealParams, PREFIX_LEN, SLOT_LEN};
use ssb_impl::private::content::{self, BoxFormat};
use ssb_impl::Keypair;

fn init() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        // SAFETY: sodium_init is idempotent and thread-safe.
        assert!(unsafe { na::sodium_init() } >= 0);
    });
}

/// Opens a private-box with libsodium alone, as the JS reference does (its slot loop, 7 tries).
fn sodium_open(ct: &[u8], keys: &Keypair) -> Option<Vec<u8>> {
    init();
    let mut curve_sk = [0u8; 32];
    let sk = keys.libsodium_secret();
    // SAFETY: 32-byte output, 64-byte input.
    unsafe { na::crypto_sign_ed25519_sk_to_curve25519(curve_sk.as_mut_ptr(), sk.as_ptr()) };
    if ct.len() < 56 {
        return None;
    }
    let nonce = &ct[..24];
    let mut shared = [0u8; 32];
    // SAFETY: 32-byte buffers.
    if unsafe { na::crypto_scalarmult(shared.as_mut_ptr(), curve_sk.as_ptr(), ct[24..56].as_ptr()) } != 0 {
        return None;
    }
    for i in 0..7 {
        let s = 56 + 49 * i;
        if s + 49 + 16 > ct.len() {
            return None;
        }
        let mut slot = [0u8; 33];
        // SAFETY: 49 bytes in, 33 out, 24-byte nonce, 32-byte key.
        let rc = unsafe {
            na::crypto_secretbox_open_easy(
                slot.as_mut_ptr(),
                ct[s..].as_ptr(),
                49,
                nonce.as_ptr(),
                shared.as_ptr(),
            )
        };
        if rc == 0 {
            let start = 56 + 49 * usize::from(slot[0]);
            if start + 16 > ct.len() {
                return None;
            }
            let body = &ct[start..];
            let mut out = vec![0u8; body.len() - 16];
            // SAFETY: body.len() bytes in, body.len() - 16 out.
            let rc = unsafe {
                na::crypto_secretbox_open_easy(
                    out.as_mut_ptr(),
                    body.as_ptr(),
                    body.len() as u64,
                    nonce.as_ptr(),
                    slot[1..].as_ptr(),
                )
            };
            return (rc == 0).then_some(out);
        }
    }
    None
}

fn keys(seed: u64, n: usize) -> Vec<Keypair> {
    let mut rng = ChaCha20Rng::seed_from_u64(seed);
    (0..n).map(|_| Keypair::generate(&mut rng)).collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn sealed_opens_for_recipients_only(seed: u64, n in 1usize..=7, plain in proptest::collection::vec(any::<u8>(), 0..300)) {
        let ks = keys(seed, n + 1);
        let pubs: Vec<[u8; 32]> = ks[..n].iter().map(|k| *k.public()).collect();
        let mut rng = ChaCha20Rng::seed_from_u64(seed ^ 1);
        let ct = box1::seal_random(&mut rng, &plain, &pubs).unwrap();
        prop_assert_eq!(ct.len(), PREFIX_LEN + n * SLOT_LEN + 16 + plain.len());
        for k in &ks[..n] {
            prop_assert_eq!(box1::open(&ct, k).unwrap(), plain.clone());
            prop_assert_eq!(sodium_open(&ct, k), Some(plain.clone()));
        }
        prop_assert_eq!(box1::open(&ct, &ks[n]), Err(Box1Error::NotRecipient));
        prop_assert_eq!(sodium_open(&ct, &ks[n]), None);
        let c = content::encode(BoxFormat::Box1, &ct);
        prop_assert_eq!(content::decode(BoxFormat::Box1, &c).unwrap(), ct);
    }

    #[test]
    fn a_flipped_bit_stops_it(seed: u64, n in 1usize..=4, at: prop::sample::Index, bit in 0u8..8) {
        let ks = keys(seed, n);
        let pubs: Vec<[u8; 32]> = ks.iter().map(|k| *k.public()).collect();
        let mut rng = ChaCha20Rng::seed_from_u64(seed ^ 2);
        let ct = box1::seal_random(&mut rng, b"some private text", &pubs).unwrap();
        let i = at.index(ct.len());
        let mut bad = ct.clone();
        bad[i] ^= 1 << bit;
        // The reader holds the first slot: flips in other slots do not concern it. X25519
        // ignores the top bit of a public key (RFC 7748 §5, libsodium too), so flipping the
        // ephemeral key's last bit changes nothing: that one bit is left out.
        let other_slots = PREFIX_LEN + SLOT_LEN..PREFIX_LEN + n * SLOT_LEN;
        let ignored_bit = i == PREFIX_LEN - 1 && bit == 7;
        if !other_slots.contains(&i) && !ignored_bit {
            prop_assert!(box1::open(&bad, &ks[0]).is_err());
        }
    }

    #[test]
    fn opening_any_bytes_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..400), max in 0usize..300) {
        let k = keys(9, 1).remove(0);
        let _ = box1::open(&bytes, &k);
        let _ = box1::open_curve(&bytes, &k.curve25519_secret(), max);
        let _ = box1::open_body(&bytes, &box1::BodyKey { count: bytes.first().copied().unwrap_or(0), key: [1; 32] });
        let s = String::from_utf8_lossy(&bytes);
        let _ = content::decode(BoxFormat::Box1, &s);
    }
}

#[test]
fn limits_and_params() {
    let ks = keys(1, 8);
    let pubs: Vec<[u8; 32]> = ks.iter().map(|k| *k.public()).collect();
    let p = SealParams {
        nonce: [1; 24],
        body_key: [2; 32],
        ephemeral_secret: [3; 32],
    };
    // Deterministic given the parameters.
    assert_eq!(box1::seal(b"x", &pubs[..2], &p), box1::seal(b"x", &pubs[..2], &p));
    let curve = box1::feed_keys_to_curve(&pubs).unwrap();
    let eight = box1::seal_curve(b"eight", &curve, &p, 8).unwrap();
    assert_eq!(box1::open(&eight, &ks[6]).unwrap(), b"eight");
    assert_eq!(box1::open(&eight, &ks[7]), Err(Box1Error::NotRecipient));
    assert_eq!(
        box1::open_curve(&eight, &ks[7].curve25519_secret(), 8).unwrap(),
        b"eight"
    );
    assert_eq!(box1::seal_curve(b"x", &curve, &p, 0), Err(Box1Error::BadLimit(0)));
    assert_eq!(
        box1::seal_curve(b"x", &curve, &p, 256),
        Err(Box1Error::BadLimit(256))
    );
}
