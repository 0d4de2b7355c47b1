//! SSB identities: ed25519 keypairs, feed ids in the `@<base64>.ed25519` sigil form, and the
//! secret file that `ssb-keys` writes (a JSON object, preceded and followed by `#` comment lines).

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use rand_core::CryptoRngCore;
use zeroize::Zeroize;

use crate::crypto;

/// Why a feed id, key string or secret file was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdentityError {
    #[error("feed id must start with '@', got {0:?}")]
    MissingSigil(String),
    #[error("feed id must end with '.ed25519', got {0:?}")]
    UnknownSuffix(String),
    #[error("key is not canonical base64: {0}")]
    BadBase64(String),
    #[error("key has {got} bytes, expected {expected}")]
    BadLength { expected: usize, got: usize },
    #[error("secret file is not valid JSON after removing comments: {0}")]
    SecretJson(String),
    #[error("secret file field {0:?} is missing or not a string")]
    SecretField(&'static str),
    #[error("secret file curve must be \"ed25519\", got {0:?}")]
    SecretCurve(String),
    #[error("secret file is inconsistent: {0}")]
    SecretMismatch(&'static str),
    #[error("could not read secret file: {0}")]
    Io(String),
}

/// An ed25519 public key used as a feed id. Ordered by its bytes (compared as four big-endian
/// words, which is the same order without a `memcmp` call per comparison: feed ids key most of
/// the node's maps).
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct FeedId(pub [u8; 32]);

/// The bytes as four big-endian words: ordering these orders the bytes.
pub(crate) fn words(b: &[u8; 32]) -> [u64; 4] {
    let w = |i: usize| u64::from_be_bytes(b[i * 8..i * 8 + 8].try_into().expect("8 bytes"));
    [w(0), w(1), w(2), w(3)]
}

impl Ord for FeedId {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        words(&self.0).cmp(&words(&other.0))
    }
}

impl PartialOrd for FeedId {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl FeedId {
    /// Parses `@<base64 of 32 bytes>.ed25519`. Base64 must be canonical (padding present,
    /// no stray bits), as ssb-ref's regular expression and a byte round trip demand.
    pub fn parse(s: &str) -> Result<Self, IdentityError> {
        let rest = s
            .strip_prefix('@')
            .ok_or_else(|| IdentityError::MissingSigil(s.to_string()))?;
        Ok(FeedId(parse_ed25519_b64(rest, s)?))
    }

    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }
}

impl std::fmt::Display for FeedId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "@{}.ed25519", STANDARD.encode(self.0))
    }
}

impl std::fmt::Debug for FeedId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "FeedId({self})")
    }
}

impl std::str::FromStr for FeedId {
    type Err = IdentityError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        FeedId::parse(s)
    }
}

/// Decodes `<base64>.ed25519` of exactly `N` bytes.
fn parse_ed25519_b64<const N: usize>(rest: &str, whole: &str) -> Result<[u8; N], IdentityError> {
    let b64 = rest
        .strip_suffix(".ed25519")
        .ok_or_else(|| IdentityError::UnknownSuffix(whole.to_string()))?;
    let bytes = STANDARD
        .decode(b64)
        .map_err(|e| IdentityError::BadBase64(e.to_string()))?;
    if STANDARD.encode(&bytes) != b64 {
        return Err(IdentityError::BadBase64(format!("{b64:?} does not round-trip")));
    }
    let got = bytes.len();
    bytes
        .try_into()
        .map_err(|_| IdentityError::BadLength { expected: N, got })
}

/// An ed25519 keypair, kept as its 32-byte seed (libsodium's 64-byte secret key is
/// `seed ‖ public`).
#[derive(Clone)]
pub struct Keypair {
    seed: [u8; 32],
    public: [u8; 32],
}

impl Drop for Keypair {
    fn drop(&mut self) {
        self.seed.zeroize();
    }
}

impl std::fmt::Debug for Keypair {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Keypair({})", self.id())
    }
}

impl Keypair {
    pub fn from_seed(seed: [u8; 32]) -> Self {
        let public = crypto::ed25519_public_from_seed(&seed);
        Keypair { seed, public }
    }

    /// A fresh keypair from the caller's RNG.
    pub fn generate(rng: &mut impl CryptoRngCore) -> Self {
        let mut seed = [0u8; 32];
        rng.fill_bytes(&mut seed);
        Self::from_seed(seed)
    }

    /// From libsodium's 64-byte secret key `seed ‖ public`; the public half must match.
    pub fn from_libsodium_secret(sk: &[u8]) -> Result<Self, IdentityError> {
        if sk.len() != 64 {
            return Err(IdentityError::BadLength {
                expected: 64,
                got: sk.len(),
            });
        }
        let kp = Self::from_seed(sk[..32].try_into().expect("checked length"));
        if kp.public[..] != sk[32..] {
            return Err(IdentityError::SecretMismatch(
                "public half of the secret key does not match its seed",
            ));
        }
        Ok(kp)
    }

    pub fn seed(&self) -> &[u8; 32] {
        &self.seed
    }

    pub fn public(&self) -> &[u8; 32] {
        &self.public
    }

    /// libsodium's 64-byte secret key.
    pub fn libsodium_secret(&self) -> [u8; 64] {
        let mut out = [0u8; 64];
        out[..32].copy_from_slice(&self.seed);
        out[32..].copy_from_slice(&self.public);
        out
    }

    pub fn id(&self) -> FeedId {
        FeedId(self.public)
    }

    pub fn sign(&self, msg: &[u8]) -> [u8; 64] {
        crypto::ed25519_sign(&self.seed, msg)
    }

    /// The curve25519 secret scalar for X25519 (`crypto_sign_ed25519_sk_to_curve25519`).
    pub fn curve25519_secret(&self) -> [u8; 32] {
        crypto::ed25519_seed_to_curve25519(&self.seed)
    }

    /// Parses the secret file `ssb-keys` writes: `#` comment lines around a JSON object with
    /// `curve`, `public`, `private` and `id`. Every field is checked against the others.
    pub fn from_secret_file(text: &str) -> Result<Self, IdentityError> {
        let json: String = text
            .lines()
            .filter(|l| !l.trim_start().starts_with('#'))
            .collect::<Vec<_>>()
            .join("\n");
        let v: serde_json::Value =
            serde_json::from_str(&json).map_err(|e| IdentityError::SecretJson(e.to_string()))?;
        let field = |name: &'static str| {
            v.get(name)
                .and_then(|x| x.as_str())
                .ok_or(IdentityError::SecretField(name))
        };
        let curve = field("curve")?;
        if curve != "ed25519" {
            return Err(IdentityError::SecretCurve(curve.to_string()));
        }
        let private = field("private")?;
        let sk: [u8; 64] = parse_ed25519_b64(private, private)?;
        let kp = Self::from_libsodium_secret(&sk)?;
        let public: [u8; 32] = parse_ed25519_b64(field("public")?, field("public")?)?;
        if public != kp.public {
            return Err(IdentityError::SecretMismatch(
                "\"public\" is not the key of \"private\"",
            ));
        }
        if FeedId::parse(field("id")?)? != kp.id() {
            return Err(IdentityError::SecretMismatch("\"id\" is not \"@\" + \"public\""));
        }
        Ok(kp)
    }

    /// Reads and parses a secret file from disk.
    pub fn read_secret_file(path: &std::path::Path) -> Result<Self, IdentityError> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| IdentityError::Io(format!("{}: {e}", path.display())))?;
        Self::from_secret_file(&text)
    }

    /// The secret file text in the layout `ssb-keys` writes.
    pub fn to_secret_file(&self) -> String {
        let public = format!("{}.ed25519", STANDARD.encode(self.public));
        let private = format!("{}.ed25519", STANDARD.encode(self.libsodium_secret()));
        format!(
            "# ssb secret key, written by ssb-harness in the layout ssb-keys uses.\n\
             # Whoever holds the \"private\" value below can publish as this identity:\n\
             # keep this file to yourself and never paste it anywhere.\n\
             \n\
             {{\n  \"curve\": \"ed25519\",\n  \"public\": \"{public}\",\n  \"private\": \"{private}\",\n  \"id\": \"{}\"\n}}\n\
             \n\
             # the public id of this key, safe to share: {}\n",
            self.id(),
            self.id()
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The word-wise order is the byte order (every prefix length, every differing byte).
    #[test]
    fn feed_ids_order_like_their_bytes() {
        for i in 0..32 {
            for (x, y) in [(0u8, 1u8), (0x7f, 0x80), (0xfe, 0xff), (1, 0)] {
                let mut a = [0x55u8; 32];
                let mut b = a;
                a[i] = x;
                b[i] = y;
                b[31 - (i % 32)] ^= if 31 - i > i { 0xff } else { 0 };
                assert_eq!(FeedId(a).cmp(&FeedId(b)), a.cmp(&b), "byte {i}");
                let id = |k: [u8; 32]| crate::legacy::message::MsgId(k);
                assert_eq!(id(a).cmp(&id(b)), a.cmp(&b), "byte {i}");
            }
        }
    }

    #[test]
    fn feed_id_round_trip_and_errors() {
        let kp = Keypair::from_seed([3u8; 32]);
        let s = kp.id().to_string();
        assert_eq!(FeedId::parse(&s).unwrap(), kp.id());
        assert!(matches!(
            FeedId::parse(&s[1..]),
            Err(IdentityError::MissingSigil(_))
        ));
        assert!(matches!(
            FeedId::parse(&s.replace(".ed25519", ".sha256")),
            Err(IdentityError::UnknownSuffix(_))
        ));
        assert!(matches!(
            FeedId::parse("@AAAA.ed25519"),
            Err(IdentityError::BadLength { expected: 32, got: 3 })
        ));
        assert!(matches!(
            FeedId::parse("@!!!.ed25519"),
            Err(IdentityError::BadBase64(_))
        ));
    }

    #[test]
    fn secret_file_round_trip_and_mismatch() {
        let kp = Keypair::from_seed([5u8; 32]);
        let text = kp.to_secret_file();
        let back = Keypair::from_secret_file(&text).unwrap();
        assert_eq!(back.public(), kp.public());
        let other = Keypair::from_seed([6u8; 32]);
        let forged = text.replace(&kp.id().to_string(), &other.id().to_string());
        assert!(matches!(
            Keypair::from_secret_file(&forged),
            Err(IdentityError::SecretMismatch(_))
        ));
        assert!(matches!(
            Keypair::from_secret_file("# only a comment"),
            Err(IdentityError::SecretJson(_))
        ));
        let wrong_curve = text.replace("\"curve\": \"ed25519\"", "\"curve\": \"k256\"");
        assert!(matches!(
            Keypair::from_secret_file(&wrong_curve),
            Err(IdentityError::SecretCurve(_))
        ));
    }
}
