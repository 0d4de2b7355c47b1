//! Differential tests of `ssb_impl::crypto` against libsodium (`libsodium-sys-stable`): secretbox,
//! `crypto_auth`, SHA-256/512, X25519, ed25519 keys, signing and verification (including
//! small-order, mixed-order and non-canonical inputs) and both ed25519 → curve25519 conversions.
//! Inputs come from a seeded ChaCha20 RNG; every disagreement names the input in hex.

use std::sync::Once;

use curve25519_dalek::constants::{ED25519_BASEPOINT_POINT, EIGHT_TORSION};
use curve25519_dalek::edwards::{CompressedEdwardsY, EdwardsPoint};
use curve25519_dalek::scalar::Scalar;
use libsodium_sys as na;
use rand::{Rng, RngCore, SeedableRng};
use rand_chacha::ChaCha20Rng;
use ssb_impl::crypto::{self, CryptoError};
use ssb_impl::Keypair;

/// Lengths every byte-string test covers before switching to random ones.
const EDGE_LENS: [usize; 17] = [
    0, 1, 2, 15, 16, 17, 31, 32, 33, 63, 64, 65, 127, 128, 1000, 4096, 4097,
];

/// ℓ, the order of the ed25519 base point, little-endian.
const L: [u8; 32] = [
    0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde, 0x14, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10,
];

fn init() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        // SAFETY: sodium_init is safe to call from any thread and idempotent.
        assert!(unsafe { na::sodium_init() } >= 0, "sodium_init failed");
    });
}

fn rng(tag: u64) -> ChaCha20Rng {
    ChaCha20Rng::seed_from_u64(0x55b_d1ff ^ tag)
}

fn h(b: &[u8]) -> String {
    hex::encode(b)
}

fn bytes<const N: usize>(r: &mut ChaCha20Rng) -> [u8; N] {
    let mut b = [0u8; N];
    r.fill_bytes(&mut b);
    b
}

/// The i-th message length: the edge lengths first, then random ones up to `max`.
fn len_for(i: usize, r: &mut ChaCha20Rng, max: usize) -> usize {
    EDGE_LENS.get(i).copied().unwrap_or_else(|| r.gen_range(0..=max))
}

fn random_vec(r: &mut ChaCha20Rng, len: usize) -> Vec<u8> {
    let mut v = vec![0u8; len];
    r.fill_bytes(&mut v);
    v
}

// ---- libsodium wrappers -------------------------------------------------------------------------

fn na_secretbox(key: &[u8; 32], nonce: &[u8; 24], m: &[u8]) -> Vec<u8> {
    let mut c = vec![0u8; m.len() + 16];
    // SAFETY: `c` has room for mlen + MACBYTES; the key and nonce have their libsodium sizes.
    let rc = unsafe {
        na::crypto_secretbox_easy(
            c.as_mut_ptr(),
            m.as_ptr(),
            m.len() as u64,
            nonce.as_ptr(),
            key.as_ptr(),
        )
    };
    assert_eq!(rc, 0);
    c
}

fn na_secretbox_open(key: &[u8; 32], nonce: &[u8; 24], c: &[u8]) -> Option<Vec<u8>> {
    let mut m = vec![0u8; c.len().saturating_sub(16).max(1)];
    // SAFETY: `m` has room for clen - MACBYTES bytes; libsodium refuses clen < MACBYTES itself.
    let rc = unsafe {
        na::crypto_secretbox_open_easy(
            m.as_mut_ptr(),
            c.as_ptr(),
            c.len() as u64,
            nonce.as_ptr(),
            key.as_ptr(),
        )
    };
    (rc == 0).then(|| {
        m.truncate(c.len() - 16);
        m
    })
}

fn na_auth(key: &[u8; 32], m: &[u8]) -> [u8; 32] {
    let mut out = [0u8; 32];
    // SAFETY: crypto_auth_BYTES = 32, crypto_auth_KEYBYTES = 32.
    assert_eq!(
        unsafe { na::crypto_auth(out.as_mut_ptr(), m.as_ptr(), m.len() as u64, key.as_ptr()) },
        0
    );
    out
}

fn na_auth_verify(key: &[u8; 32], m: &[u8], tag: &[u8; 32]) -> bool {
    // SAFETY: as above.
    unsafe { na::crypto_auth_verify(tag.as_ptr(), m.as_ptr(), m.len() as u64, key.as_ptr()) == 0 }
}

fn na_sha256(m: &[u8]) -> [u8; 32] {
    let mut out = [0u8; 32];
    // SAFETY: 32-byte output.
    assert_eq!(
        unsafe { na::crypto_hash_sha256(out.as_mut_ptr(), m.as_ptr(), m.len() as u64) },
        0
    );
    out
}

fn na_sha512(m: &[u8]) -> [u8; 64] {
    let mut out = [0u8; 64];
    // SAFETY: 64-byte output.
    assert_eq!(
        unsafe { na::crypto_hash_sha512(out.as_mut_ptr(), m.as_ptr(), m.len() as u64) },
        0
    );
    out
}

fn na_scalarmult_base(n: &[u8; 32]) -> Option<[u8; 32]> {
    let mut q = [0u8; 32];
    // SAFETY: 32-byte scalar and point.
    (unsafe { na::crypto_scalarmult_base(q.as_mut_ptr(), n.as_ptr()) } == 0).then_some(q)
}

fn na_scalarmult(n: &[u8; 32], p: &[u8; 32]) -> Option<[u8; 32]> {
    let mut q = [0u8; 32];
    // SAFETY: 32-byte scalar and points.
    (unsafe { na::crypto_scalarmult(q.as_mut_ptr(), n.as_ptr(), p.as_ptr()) } == 0).then_some(q)
}

fn na_seed_keypair(seed: &[u8; 32]) -> ([u8; 32], [u8; 64]) {
    let (mut pk, mut sk) = ([0u8; 32], [0u8; 64]);
    // SAFETY: 32-byte pk, 64-byte sk, 32-byte seed.
    assert_eq!(
        unsafe { na::crypto_sign_seed_keypair(pk.as_mut_ptr(), sk.as_mut_ptr(), seed.as_ptr()) },
        0
    );
    (pk, sk)
}

fn na_sign(sk: &[u8; 64], m: &[u8]) -> [u8; 64] {
    let mut sig = [0u8; 64];
    let mut len = 0u64;
    // SAFETY: 64-byte signature buffer and secret key.
    let rc = unsafe {
        na::crypto_sign_detached(
            sig.as_mut_ptr(),
            &mut len,
            m.as_ptr(),
            m.len() as u64,
            sk.as_ptr(),
        )
    };
    assert_eq!((rc, len), (0, 64));
    sig
}

fn na_verify(pk: &[u8; 32], m: &[u8], sig: &[u8; 64]) -> bool {
    // SAFETY: 64-byte signature, 32-byte public key.
    unsafe { na::crypto_sign_verify_detached(sig.as_ptr(), m.as_ptr(), m.len() as u64, pk.as_ptr()) == 0 }
}

fn na_pk_to_curve(pk: &[u8; 32]) -> Option<[u8; 32]> {
    let mut out = [0u8; 32];
    // SAFETY: 32-byte input and output.
    (unsafe { na::crypto_sign_ed25519_pk_to_curve25519(out.as_mut_ptr(), pk.as_ptr()) } == 0).then_some(out)
}

fn na_sk_to_curve(sk: &[u8; 64]) -> [u8; 32] {
    let mut out = [0u8; 32];
    // SAFETY: 64-byte secret key, 32-byte output.
    assert_eq!(
        unsafe { na::crypto_sign_ed25519_sk_to_curve25519(out.as_mut_ptr(), sk.as_ptr()) },
        0
    );
    out
}

// ---- comparison helpers --------------------------------------------------------------------------

/// Checks that ours and libsodium's verification agree and returns the verdict.
fn verify_agrees(what: &str, pk: &[u8; 32], m: &[u8], sig: &[u8; 64]) -> bool {
    let ours = crypto::ed25519_verify(pk, m, sig);
    let theirs = na_verify(pk, m, sig);
    assert_eq!(
        ours,
        theirs,
        "ed25519_verify disagrees with libsodium ({what}): pk={} msg={} sig={}",
        h(pk),
        h(m),
        h(sig)
    );
    ours
}

/// Checks that both ed25519 → curve25519 public key conversions agree, byte for byte when both
/// accept; returns whether they accepted.
fn pk_to_curve_agrees(what: &str, pk: &[u8; 32]) -> bool {
    let ours = crypto::ed25519_pk_to_curve25519(pk);
    let theirs = na_pk_to_curve(pk);
    match (ours, theirs) {
        (Ok(a), Some(b)) => assert_eq!(
            h(&a),
            h(&b),
            "pk_to_curve25519 bytes differ ({what}) for pk={}",
            h(pk)
        ),
        (Err(CryptoError::BadEdPublicKey), None) => {}
        (o, t) => panic!(
            "pk_to_curve25519 disagrees ({what}) for pk={}: ours={o:?} libsodium={t:?}",
            h(pk)
        ),
    }
    theirs.is_some()
}

fn x25519_agrees(what: &str, n: &[u8; 32], p: &[u8; 32]) -> bool {
    let ours = crypto::x25519(n, p);
    let theirs = na_scalarmult(n, p);
    match (ours, theirs) {
        (Ok(a), Some(b)) => assert_eq!(
            h(&a),
            h(&b),
            "x25519 bytes differ ({what}): n={} p={}",
            h(n),
            h(p)
        ),
        (Err(CryptoError::LowOrderPoint), None) => {}
        (o, t) => panic!(
            "x25519 disagrees ({what}): n={} p={}: ours={o:?} libsodium={t:?}",
            h(n),
            h(p)
        ),
    }
    theirs.is_some()
}

/// Little-endian 256-bit addition; `None` on overflow.
fn add_le(a: &[u8; 32], b: &[u8; 32]) -> Option<[u8; 32]> {
    let mut out = [0u8; 32];
    let mut carry = 0u16;
    for i in 0..32 {
        let s = a[i] as u16 + b[i] as u16 + carry;
        out[i] = s as u8;
        carry = s >> 8;
    }
    (carry == 0).then_some(out)
}

/// h = SHA-512(R ‖ A ‖ M) mod ℓ, as both verifiers compute it.
fn challenge(r: &[u8; 32], a: &[u8; 32], m: &[u8]) -> Scalar {
    let digest = na_sha512(&[&r[..], a, m].concat());
    Scalar::from_bytes_mod_order_wide(&digest)
}

fn random_scalar(r: &mut ChaCha20Rng) -> Scalar {
    Scalar::from_bytes_mod_order_wide(&bytes::<64>(r))
}

/// The encodings of small-order points libsodium's blocklist covers: the eight torsion points,
/// each with the sign bit set and clear, plus the non-canonical encodings p and p + 1.
fn small_order_encodings() -> Vec<[u8; 32]> {
    let mut out = Vec::new();
    for t in EIGHT_TORSION.iter() {
        let e = t.compress().to_bytes();
        out.push(e);
        let mut flipped = e;
        flipped[31] ^= 0x80;
        out.push(flipped);
    }
    for k in [0u8, 1] {
        let mut e = [0xffu8; 32];
        e[0] = 0xed + k;
        e[31] = 0x7f;
        out.push(e);
        e[31] = 0xff;
        out.push(e);
    }
    out
}

/// Non-canonical encodings: y = p + k for k in 0..19 (y ≥ p, below 2²⁵⁵), sign bit set or clear.
fn non_canonical_encodings() -> Vec<[u8; 32]> {
    let mut out = Vec::new();
    for k in 0u8..19 {
        let mut e = [0xffu8; 32];
        e[0] = 0xed + k;
        e[31] = 0x7f;
        out.push(e);
        e[31] = 0xff;
        out.push(e);
    }
    out
}

// ---- tests ---------------------------------------------------------------------------------------

#[test]
fn libsodium_is_a_current_release() {
    init();
    // The rules this file compares against (encoding blocklists, canonical S, byte comparison of
    // R) are those of libsodium ≥ 1.0.16; older releases would make the comparison meaningless.
    // SAFETY: sodium_version_string returns a static NUL-terminated string.
    let version = unsafe { std::ffi::CStr::from_ptr(na::sodium_version_string()) };
    let version = version.to_str().unwrap();
    let parts: Vec<u32> = version.split('.').map(|p| p.parse().unwrap()).collect();
    assert!(parts >= vec![1, 0, 16], "libsodium {version}");
}

#[test]
fn secretbox_matches_libsodium() {
    init();
    let mut r = rng(1);
    for i in 0..600 {
        let len = len_for(i, &mut r, 5000);
        let key: [u8; 32] = bytes(&mut r);
        let nonce: [u8; 24] = bytes(&mut r);
        let m = random_vec(&mut r, len);
        let ctx = || format!("key={} nonce={} msg={}", h(&key), h(&nonce), h(&m));

        let ours = crypto::secretbox_seal(&key, &nonce, &m);
        let theirs = na_secretbox(&key, &nonce, &m);
        assert_eq!(h(&ours), h(&theirs), "seal differs: {}", ctx());

        // The detached form is the same box split in two.
        let mut body = m.clone();
        let mac = crypto::secretbox_seal_detached(&key, &nonce, &mut body);
        assert_eq!(
            (&mac[..], &body[..]),
            (&theirs[..16], &theirs[16..]),
            "detached seal: {}",
            ctx()
        );
        crypto::secretbox_open_detached(&key, &nonce, &mac, &mut body).unwrap();
        assert_eq!(body, m, "detached open: {}", ctx());

        assert_eq!(
            crypto::secretbox_open(&key, &nonce, &theirs).as_deref(),
            Ok(&m[..]),
            "{}",
            ctx()
        );
        assert_eq!(
            na_secretbox_open(&key, &nonce, &ours).as_deref(),
            Some(&m[..]),
            "{}",
            ctx()
        );

        // A flipped bit anywhere: both refuse.
        let mut bad = ours.clone();
        let bit = r.gen_range(0..bad.len() * 8);
        bad[bit / 8] ^= 1 << (bit % 8);
        assert_eq!(
            crypto::secretbox_open(&key, &nonce, &bad),
            Err(CryptoError::BoxOpen),
            "bit {bit}: {}",
            ctx()
        );
        assert_eq!(
            na_secretbox_open(&key, &nonce, &bad),
            None,
            "bit {bit}: {}",
            ctx()
        );
        // The detached opener leaves the buffer untouched on failure.
        let mut buf = bad[16..].to_vec();
        let bad_mac: [u8; 16] = bad[..16].try_into().unwrap();
        assert!(crypto::secretbox_open_detached(&key, &nonce, &bad_mac, &mut buf).is_err());
        assert_eq!(
            buf,
            bad[16..],
            "detached open modified its buffer on failure: {}",
            ctx()
        );

        // Truncated: both refuse, ours names the too-short case.
        let cut = r.gen_range(0..ours.len());
        let ours_cut = crypto::secretbox_open(&key, &nonce, &ours[..cut]);
        let want = if cut < 16 {
            CryptoError::BoxTooShort
        } else {
            CryptoError::BoxOpen
        };
        assert_eq!(ours_cut, Err(want), "cut {cut}: {}", ctx());
        assert_eq!(
            na_secretbox_open(&key, &nonce, &ours[..cut]),
            None,
            "cut {cut}: {}",
            ctx()
        );

        // Wrong key or nonce: both refuse.
        let mut key2 = key;
        key2[r.gen_range(0..32)] ^= 1 << r.gen_range(0..8);
        let mut nonce2 = nonce;
        nonce2[r.gen_range(0..24)] ^= 1 << r.gen_range(0..8);
        for (k, n) in [(&key2, &nonce), (&key, &nonce2)] {
            assert!(crypto::secretbox_open(k, n, &ours).is_err(), "{}", ctx());
            assert_eq!(na_secretbox_open(k, n, &ours), None, "{}", ctx());
        }
    }
}

#[test]
fn secretbox_garbage_is_refused_by_both() {
    init();
    let mut r = rng(2);
    for _ in 0..500 {
        let len = r.gen_range(0..80);
        let key: [u8; 32] = bytes(&mut r);
        let nonce: [u8; 24] = bytes(&mut r);
        let c = random_vec(&mut r, len);
        let ours = crypto::secretbox_open(&key, &nonce, &c);
        let theirs = na_secretbox_open(&key, &nonce, &c);
        assert_eq!(
            ours.is_ok(),
            theirs.is_some(),
            "key={} nonce={} box={}",
            h(&key),
            h(&nonce),
            h(&c)
        );
        assert!(
            ours.is_err(),
            "random box opened: key={} nonce={} box={}",
            h(&key),
            h(&nonce),
            h(&c)
        );
    }
}

#[test]
fn auth_matches_libsodium() {
    init();
    let mut r = rng(3);
    for i in 0..800 {
        let len = len_for(i, &mut r, 5000);
        let key: [u8; 32] = bytes(&mut r);
        let m = random_vec(&mut r, len);
        let ctx = || format!("key={} msg={}", h(&key), h(&m));
        let ours = crypto::auth(&key, &m);
        let theirs = na_auth(&key, &m);
        assert_eq!(h(&ours), h(&theirs), "crypto_auth differs: {}", ctx());
        assert_eq!(
            &crypto::hmac_sha512_truncated(&key, &m, 32)[..],
            &ours[..],
            "{}",
            ctx()
        );
        assert!(crypto::auth_verify(&key, &m, &theirs), "{}", ctx());
        assert!(na_auth_verify(&key, &m, &ours), "{}", ctx());

        let mut bad = ours;
        bad[r.gen_range(0..32)] ^= 1 << r.gen_range(0..8);
        assert!(
            !crypto::auth_verify(&key, &m, &bad),
            "flipped tag accepted: {}",
            ctx()
        );
        assert!(!na_auth_verify(&key, &m, &bad), "{}", ctx());

        let garbage: [u8; 32] = bytes(&mut r);
        assert_eq!(
            crypto::auth_verify(&key, &m, &garbage),
            na_auth_verify(&key, &m, &garbage),
            "{}",
            ctx()
        );

        if !m.is_empty() {
            let mut m2 = m.clone();
            let bit = r.gen_range(0..m2.len() * 8);
            m2[bit / 8] ^= 1 << (bit % 8);
            assert!(
                !crypto::auth_verify(&key, &m2, &ours),
                "tampered message accepted: {}",
                ctx()
            );
            assert!(!na_auth_verify(&key, &m2, &ours), "{}", ctx());
        }
    }
}

#[test]
fn hashes_match_libsodium() {
    init();
    let mut r = rng(4);
    for i in 0..800 {
        let len = len_for(i, &mut r, 10_000);
        let m = random_vec(&mut r, len);
        assert_eq!(
            h(&crypto::sha256(&m)),
            h(&na_sha256(&m)),
            "sha256 differs for {}",
            h(&m)
        );
        assert_eq!(
            h(&crypto::sha512(&m)),
            h(&na_sha512(&m)),
            "sha512 differs for {}",
            h(&m)
        );
        // The concatenating form over a random split.
        let a = r.gen_range(0..=m.len());
        let b = r.gen_range(a..=m.len());
        assert_eq!(
            crypto::sha256_concat(&[&m[..a], &m[a..b], &m[b..]]),
            na_sha256(&m),
            "sha256_concat split at {a},{b} differs for {}",
            h(&m)
        );
    }
}

#[test]
fn x25519_matches_libsodium_on_random_inputs() {
    init();
    let mut r = rng(5);
    for _ in 0..500 {
        let n: [u8; 32] = bytes(&mut r);
        let base = crypto::x25519_base(&n);
        assert_eq!(
            Some(base),
            na_scalarmult_base(&n),
            "scalarmult_base differs for n={}",
            h(&n)
        );

        // A real public key, a random 32-byte string (top bit and non-canonical u included).
        let m: [u8; 32] = bytes(&mut r);
        let their_pub = crypto::x25519_base(&m);
        assert!(x25519_agrees("public key", &n, &their_pub));
        let shared = crypto::x25519(&n, &their_pub).unwrap();
        assert_eq!(
            shared,
            crypto::x25519(&m, &base).unwrap(),
            "DH not symmetric: n={} m={}",
            h(&n),
            h(&m)
        );
        let p: [u8; 32] = bytes(&mut r);
        x25519_agrees("random u", &n, &p);
    }
}

#[test]
fn x25519_low_order_points_fail_in_both() {
    init();
    // libsodium's blocklist for curve25519 u-coordinates.
    let mut points: Vec<[u8; 32]> = vec![
        [0; 32],
        {
            let mut e = [0u8; 32];
            e[0] = 1;
            e
        },
        hex::decode("e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800")
            .unwrap()
            .try_into()
            .unwrap(),
        hex::decode("5f9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f1157")
            .unwrap()
            .try_into()
            .unwrap(),
    ];
    for k in [0xecu8, 0xed, 0xee] {
        let mut e = [0xffu8; 32];
        e[0] = k;
        e[31] = 0x7f;
        points.push(e);
    }
    // Each with the (ignored) top bit set as well.
    for i in 0..points.len() {
        let mut e = points[i];
        e[31] |= 0x80;
        points.push(e);
    }
    // The u-coordinates of the ed25519 torsion points, through the birational map.
    for t in EIGHT_TORSION.iter() {
        points.push(t.to_montgomery().to_bytes());
    }
    let mut r = rng(6);
    for p in &points {
        for _ in 0..20 {
            let n: [u8; 32] = bytes(&mut r);
            assert!(
                !x25519_agrees("low-order u", &n, p),
                "libsodium accepted low-order u={}",
                h(p)
            );
            assert_eq!(crypto::x25519(&n, p), Err(CryptoError::LowOrderPoint));
        }
    }
    // Non-canonical u = p + k for small k, which are not all low order.
    for k in 0u8..19 {
        let mut u = [0xffu8; 32];
        u[0] = 0xed + k;
        u[31] = 0x7f;
        let n: [u8; 32] = bytes(&mut r);
        x25519_agrees("non-canonical u", &n, &u);
    }
}

#[test]
fn ed25519_keys_and_signatures_match_libsodium() {
    init();
    let mut r = rng(7);
    for i in 0..400 {
        let seed: [u8; 32] = bytes(&mut r);
        let (pk, sk) = na_seed_keypair(&seed);
        assert_eq!(
            h(&crypto::ed25519_public_from_seed(&seed)),
            h(&pk),
            "public key of seed={}",
            h(&seed)
        );
        let kp = Keypair::from_seed(seed);
        assert_eq!(
            h(&kp.libsodium_secret()),
            h(&sk),
            "secret key of seed={}",
            h(&seed)
        );

        let len = len_for(i, &mut r, 2000);
        let m = random_vec(&mut r, len);
        let ctx = || format!("seed={} msg={}", h(&seed), h(&m));
        let sig = crypto::ed25519_sign(&seed, &m);
        assert_eq!(h(&sig), h(&na_sign(&sk, &m)), "signature differs: {}", ctx());
        assert!(
            verify_agrees("valid", &pk, &m, &sig),
            "valid signature refused: {}",
            ctx()
        );

        // One flipped bit of the signature.
        let mut bad = sig;
        let bit = r.gen_range(0..512);
        bad[bit / 8] ^= 1 << (bit % 8);
        assert!(
            !verify_agrees("mutated signature", &pk, &m, &bad),
            "bit {bit}: {}",
            ctx()
        );

        // One flipped bit of the message, of the key.
        if !m.is_empty() {
            let mut m2 = m.clone();
            let bit = r.gen_range(0..m2.len() * 8);
            m2[bit / 8] ^= 1 << (bit % 8);
            assert!(!verify_agrees("mutated message", &pk, &m2, &sig), "{}", ctx());
        }
        let mut pk2 = pk;
        let bit = r.gen_range(0..256);
        pk2[bit / 8] ^= 1 << (bit % 8);
        verify_agrees("mutated key", &pk2, &m, &sig);

        // Random garbage, and garbage with a canonical-looking S.
        let mut garbage: [u8; 64] = bytes(&mut r);
        verify_agrees("garbage signature", &pk, &m, &garbage);
        garbage[63] &= 0x0f;
        verify_agrees("garbage signature, small S", &pk, &m, &garbage);
        // Garbage public key with a valid signature from another key.
        let gpk: [u8; 32] = bytes(&mut r);
        verify_agrees("garbage key", &gpk, &m, &sig);

        // Non-canonical S: S + ℓ and S + 15ℓ (both below 2²⁵⁶) verify the same equation.
        let s: [u8; 32] = sig[32..].try_into().unwrap();
        let mut s_plus = s;
        for k in 1..=15 {
            s_plus = add_le(&s_plus, &L).expect("S + 15ℓ < 2^256");
            if k == 1 || k == 15 {
                let mut nc = sig;
                nc[32..].copy_from_slice(&s_plus);
                assert!(
                    !verify_agrees("S + kℓ", &pk, &m, &nc),
                    "S + {k}ℓ accepted: {}",
                    ctx()
                );
            }
        }
    }
}

#[test]
fn ed25519_small_order_public_keys_are_refused_by_both() {
    init();
    let mut r = rng(8);
    let b = ED25519_BASEPOINT_POINT;
    for enc in small_order_encodings() {
        let a = CompressedEdwardsY(enc)
            .decompress()
            .expect("torsion encodings decode");
        assert!(a.is_small_order());
        // Random signatures.
        for _ in 0..8 {
            let sig: [u8; 64] = bytes(&mut r);
            assert!(!verify_agrees("small-order key, random sig", &enc, b"m", &sig));
        }
        // Signatures that satisfy the verification equation: R = rB, S = r, and a message with
        // [h]A = identity (found by search). Only the small-order rule refuses them.
        let rs = random_scalar(&mut r);
        let big_r = (rs * b).compress().to_bytes();
        let mut found = 0;
        for ctr in 0u32..400 {
            let m = ctr.to_le_bytes();
            let hh = challenge(&big_r, &enc, &m);
            if (hh * a) != EdwardsPoint::default() {
                continue;
            }
            let mut sig = [0u8; 64];
            sig[..32].copy_from_slice(&big_r);
            sig[32..].copy_from_slice(rs.as_bytes());
            let check = (Scalar::from_bytes_mod_order(sig[32..].try_into().unwrap()) * b - hh * a).compress();
            assert_eq!(check.to_bytes(), big_r, "equation should hold");
            assert!(
                !verify_agrees("small-order key, equation holds", &enc, &m, &sig),
                "key {}",
                h(&enc)
            );
            found += 1;
            if found == 3 {
                break;
            }
        }
        assert!(found > 0, "no message found for key {}", h(&enc));
    }
}

#[test]
fn ed25519_small_order_r_is_refused_by_both() {
    init();
    let mut r = rng(9);
    let b = ED25519_BASEPOINT_POINT;
    let t8 = EIGHT_TORSION[1];
    assert_ne!(
        Scalar::from(4u8) * t8,
        EdwardsPoint::default(),
        "EIGHT_TORSION[1] has order 8"
    );
    for t in EIGHT_TORSION.iter() {
        let r_bytes = t.compress().to_bytes();
        // A mixed-order key A = aB + T8; with S = h·a the recomputed R is -[h]T8, a torsion
        // point. Search for a message where it is exactly T, so only the small-order-R rule
        // refuses the signature.
        let a_scalar = random_scalar(&mut r);
        let a = a_scalar * b + t8;
        let a_enc = a.compress().to_bytes();
        let mut found = false;
        for ctr in 0u32..400 {
            let m = ctr.to_le_bytes();
            let hh = challenge(&r_bytes, &a_enc, &m);
            if -(hh * t8) != *t {
                continue;
            }
            let s = hh * a_scalar;
            let mut sig = [0u8; 64];
            sig[..32].copy_from_slice(&r_bytes);
            sig[32..].copy_from_slice(s.as_bytes());
            assert_eq!(
                (s * b - hh * a).compress().to_bytes(),
                r_bytes,
                "equation should hold"
            );
            assert!(
                !verify_agrees("small-order R", &a_enc, &m, &sig),
                "R={}",
                h(&r_bytes)
            );
            found = true;
            break;
        }
        assert!(found, "no message found for R={}", h(&r_bytes));
        // And with random S.
        let mut sig: [u8; 64] = bytes(&mut r);
        sig[..32].copy_from_slice(&r_bytes);
        sig[63] &= 0x0f;
        let kp = Keypair::from_seed(bytes(&mut r));
        assert!(!verify_agrees("small-order R, random S", kp.public(), b"m", &sig));
    }
}

#[test]
fn ed25519_mixed_order_public_keys_agree() {
    init();
    // libsodium (without ED25519_COMPAT) accepts a mixed-order key A = aB + T when the
    // recomputed R matches byte for byte; ours must give the same answers.
    let mut r = rng(10);
    let b = ED25519_BASEPOINT_POINT;
    let mut accepted = 0;
    for i in 0..64 {
        let t_a = EIGHT_TORSION[1 + i % 7];
        let t_r = Scalar::from(r.gen_range(0u8..8)) * t_a;
        let a_scalar = random_scalar(&mut r);
        let a = a_scalar * b + t_a;
        let a_enc = a.compress().to_bytes();
        let r_scalar = random_scalar(&mut r);
        let big_r = r_scalar * b + t_r;
        let r_enc = big_r.compress().to_bytes();
        for ctr in 0u32..400 {
            let m = [&[i as u8][..], &ctr.to_le_bytes()].concat();
            let hh = challenge(&r_enc, &a_enc, &m);
            let s = r_scalar + hh * a_scalar;
            let mut sig = [0u8; 64];
            sig[..32].copy_from_slice(&r_enc);
            sig[32..].copy_from_slice(s.as_bytes());
            let holds = (s * b - hh * a).compress().to_bytes() == r_enc;
            let verdict = verify_agrees("mixed-order key", &a_enc, &m, &sig);
            if holds {
                assert!(
                    verdict,
                    "libsodium and ours refuse a mixed-order key with R matching"
                );
                accepted += 1;
                break;
            }
            assert!(!verdict);
        }
        // The conversion to curve25519 refuses mixed-order keys in both.
        assert!(!pk_to_curve_agrees("mixed-order key", &a_enc));
    }
    assert_eq!(accepted, 64, "every search for a matching R should succeed");
}

#[test]
fn ed25519_non_canonical_encodings_agree() {
    init();
    let mut r = rng(11);
    let kp = Keypair::from_seed(bytes(&mut r));
    let m = b"non-canonical";
    let sig = kp.sign(m);
    for enc in non_canonical_encodings() {
        // As the public key, with a valid signature by another key and with garbage.
        assert!(
            !verify_agrees("non-canonical key", &enc, m, &sig),
            "key {}",
            h(&enc)
        );
        let g: [u8; 64] = bytes(&mut r);
        assert!(!verify_agrees("non-canonical key, garbage", &enc, m, &g));
        // As R.
        let mut s2 = sig;
        s2[..32].copy_from_slice(&enc);
        assert!(!verify_agrees("non-canonical R", kp.public(), m, &s2));
        // Conversion: libsodium does not check canonicity here, only the point and its order.
        pk_to_curve_agrees("non-canonical key", &enc);
    }
}

#[test]
fn pk_to_curve25519_matches_libsodium() {
    init();
    let mut r = rng(12);
    let mut random_accepted = 0;
    for _ in 0..600 {
        // A real key, and the same y with the sign bit flipped (-A is also in the subgroup).
        let seed: [u8; 32] = bytes(&mut r);
        let (pk, sk) = na_seed_keypair(&seed);
        assert!(
            pk_to_curve_agrees("valid key", &pk),
            "valid key refused: {}",
            h(&pk)
        );
        let mut neg = pk;
        neg[31] ^= 0x80;
        assert!(pk_to_curve_agrees("negated key", &neg));

        // The secret-key conversion, and X25519 between the converted keys.
        let curve_sk = na_sk_to_curve(&sk);
        assert_eq!(
            h(&crypto::ed25519_seed_to_curve25519(&seed)),
            h(&curve_sk),
            "sk_to_curve seed={}",
            h(&seed)
        );
        assert_eq!(Keypair::from_seed(seed).curve25519_secret(), curve_sk);
        let curve_pk = crypto::ed25519_pk_to_curve25519(&pk).unwrap();
        assert_eq!(
            crypto::x25519_base(&curve_sk),
            curve_pk,
            "converted keys do not match, seed={}",
            h(&seed)
        );

        // Random strings: about half decode, an eighth of those are in the subgroup.
        let garbage: [u8; 32] = bytes(&mut r);
        if pk_to_curve_agrees("random bytes", &garbage) {
            random_accepted += 1;
        }

        // Mixed order: a valid key plus a non-trivial torsion point.
        let t = EIGHT_TORSION[r.gen_range(1..8)];
        let mixed = (CompressedEdwardsY(pk).decompress().unwrap() + t)
            .compress()
            .to_bytes();
        assert!(
            !pk_to_curve_agrees("mixed-order key", &mixed),
            "mixed key {}",
            h(&mixed)
        );
    }
    assert!(
        random_accepted > 10,
        "only {random_accepted} random strings converted"
    );
    for enc in small_order_encodings() {
        assert!(
            !pk_to_curve_agrees("small-order key", &enc),
            "small-order key {}",
            h(&enc)
        );
    }
}
