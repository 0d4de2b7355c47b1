//! A random source that hands out bytes the harness chose, so that ssb-crypto's own key
//! generation (`generate_ephemeral_keypair_with_rng`) makes the vector's ephemeral key.

use rand_core::{CryptoRng, Error, RngCore};

/// Yields `bytes` once, then zeros. Only ever used for one 32-byte key.
pub struct GivenBytes {
    bytes: Vec<u8>,
    pos: usize,
}

impl GivenBytes {
    pub fn new(bytes: &[u8]) -> Self {
        GivenBytes {
            bytes: bytes.to_vec(),
            pos: 0,
        }
    }
}

impl RngCore for GivenBytes {
    fn next_u32(&mut self) -> u32 {
        let mut b = [0u8; 4];
        self.fill_bytes(&mut b);
        u32::from_le_bytes(b)
    }
    fn next_u64(&mut self) -> u64 {
        let mut b = [0u8; 8];
        self.fill_bytes(&mut b);
        u64::from_le_bytes(b)
    }
    fn fill_bytes(&mut self, dest: &mut [u8]) {
        for d in dest.iter_mut() {
            *d = self.bytes.get(self.pos).copied().unwrap_or(0);
            self.pos += 1;
        }
    }
    fn try_fill_bytes(&mut self, dest: &mut [u8]) -> Result<(), Error> {
        self.fill_bytes(dest);
        Ok(())
    }
}

impl CryptoRng for GivenBytes {}
