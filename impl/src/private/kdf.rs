//! Key derivation for the envelope (box2) and private-group specs: the shallow length-prefixed
//! (SLP) encoding of a list of byte strings (envelope-spec `encoding/slp.md`) and HKDF with
//! SHA-256 (RFC 5869), on which `DeriveSecret`, cloaked ids and the DM / P.O. Box keys are built.

use hmac::{Hmac, Mac};
use sha2::Sha256;

/// The longest element SLP can encode: its length is a little-endian `u16`.
pub const SLP_MAX_ELEMENT: usize = u16::MAX as usize;

/// The longest HKDF-SHA-256 output (255 blocks of 32 bytes).
pub const HKDF_MAX_OUTPUT: usize = 255 * 32;

/// An SLP element longer than 65535 bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("SLP element {index} has {len} bytes; at most 65535 fit a u16 length")]
pub struct SlpError {
    pub index: usize,
    pub len: usize,
}

/// More HKDF output asked than 255 hash blocks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("HKDF-SHA-256 gives at most 8160 bytes, {0} asked")]
pub struct OutputTooLong(pub usize);

/// SLP: every element prefixed with its length as a little-endian `u16`, concatenated.
/// Lengths are checked before anything is allocated.
pub fn slp_encode(elements: &[&[u8]]) -> Result<Vec<u8>, SlpError> {
    let mut total = 0usize;
    for (index, e) in elements.iter().enumerate() {
        if e.len() > SLP_MAX_ELEMENT {
            return Err(SlpError { index, len: e.len() });
        }
        total += 2 + e.len();
    }
    let mut out = Vec::with_capacity(total);
    for e in elements {
        out.extend_from_slice(&(e.len() as u16).to_le_bytes());
        out.extend_from_slice(e);
    }
    Ok(out)
}

type HmacSha256 = Hmac<Sha256>;

fn hmac(key: &[u8]) -> HmacSha256 {
    <HmacSha256 as Mac>::new_from_slice(key).expect("HMAC takes any key length")
}

/// HKDF-Extract: `PRK = HMAC-SHA-256(salt, IKM)`.
pub fn hkdf_extract(salt: &[u8], ikm: &[u8]) -> [u8; 32] {
    let mut m = hmac(salt);
    m.update(ikm);
    m.finalize().into_bytes().into()
}

/// HKDF-Expand into `out` (at most [`HKDF_MAX_OUTPUT`] bytes). Like envelope-js's
/// `futoin-hkdf` `expand`, the PRK may be any length: it is only ever an HMAC key.
pub fn hkdf_expand(prk: &[u8], info: &[u8], out: &mut [u8]) -> Result<(), OutputTooLong> {
    if out.len() > HKDF_MAX_OUTPUT {
        return Err(OutputTooLong(out.len()));
    }
    let base = hmac(prk);
    let mut previous: Option<[u8; 32]> = None;
    for (i, chunk) in out.chunks_mut(32).enumerate() {
        let mut m = base.clone();
        if let Some(p) = &previous {
            m.update(p);
        }
        m.update(info);
        // i < 255, checked above.
        m.update(&[(i + 1) as u8]);
        let block: [u8; 32] = m.finalize().into_bytes().into();
        chunk.copy_from_slice(&block[..chunk.len()]);
        previous = Some(block);
    }
    Ok(())
}

/// 32 bytes of HKDF-Expand.
pub fn hkdf_expand32(prk: &[u8], info: &[u8]) -> [u8; 32] {
    let mut out = [0u8; 32];
    hkdf_expand(prk, info, &mut out).expect("32 bytes is below the HKDF limit");
    out
}

/// HKDF (extract, then expand) into 32 bytes.
pub fn hkdf32(salt: &[u8], ikm: &[u8], info: &[u8]) -> [u8; 32] {
    hkdf_expand32(&hkdf_extract(salt, ikm), info)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slp_matches_the_spec_example() {
        // The list of envelope-spec encoding/slp.md's "Example 2", encoded by hand.
        let enc = slp_encode(&[b"envelope", b"@feedID", b"%msgID", b"read key"]).unwrap();
        let expected = hex::decode(concat!(
            "0800656e76656c6f7065",
            "070040666565644944",
            "0600256d73674944",
            "080072656164206b6579"
        ))
        .unwrap();
        assert_eq!(enc, expected);
    }

    #[test]
    fn slp_limits() {
        let big = vec![0u8; 65535];
        let enc = slp_encode(&[&big]).unwrap();
        assert_eq!(&enc[..2], &[0xff, 0xff]);
        let too_big = vec![0u8; 65536];
        assert_eq!(
            slp_encode(&[b"x", &too_big]),
            Err(SlpError { index: 1, len: 65536 })
        );
        assert_eq!(slp_encode(&[]).unwrap(), Vec::<u8>::new());
        assert_eq!(slp_encode(&[b""]).unwrap(), vec![0, 0]);
    }

    #[test]
    fn hkdf_rfc5869_case_1() {
        let ikm = [0x0bu8; 22];
        let salt = hex::decode("000102030405060708090a0b0c").unwrap();
        let info = hex::decode("f0f1f2f3f4f5f6f7f8f9").unwrap();
        let prk = hkdf_extract(&salt, &ikm);
        assert_eq!(
            hex::encode(prk),
            "077709362c2e32df0ddc3f0dc47bba6390b6c73bb50f9c3122ec844ad7c2b3e5"
        );
        let mut okm = [0u8; 42];
        hkdf_expand(&prk, &info, &mut okm).unwrap();
        assert_eq!(
            hex::encode(okm),
            "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865"
        );
        let mut too_long = vec![0u8; HKDF_MAX_OUTPUT + 1];
        assert_eq!(
            hkdf_expand(&prk, &info, &mut too_long),
            Err(OutputTooLong(HKDF_MAX_OUTPUT + 1))
        );
    }
}
