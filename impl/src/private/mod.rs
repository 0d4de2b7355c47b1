//! Private messages: the two encryption formats SSB carries inside message content, and the key
//! management of private groups.
//!
//! - [`box1`]: private-box, the classic format: a message encrypted to 1–7 feeds, whose
//!   ed25519 keys are converted to curve25519; content `<base64>.box`.
//! - [`box2`]: the envelope format (envelope-spec): header box, key slots, an extensions region
//!   (used here for padding), body box; every key bound to the author's feed id and the previous
//!   message id by `DeriveSecret`; content `<base64>.box2`.
//! - [`kdf`]: what box2 derives its keys with: shallow length-prefixed (SLP) encoding and
//!   HKDF-SHA-256.
//! - [`groups`]: the private-group key schemes (private-group-spec): group keys, direct-message
//!   keys from X25519 of feed keys, P.O. Box keys, cloaked message ids and group ids, trying keys
//!   in the order the spec allows, and the `group/init` and `group/add-member` content.
//! - [`content`]: the `<base64>.box` and `<base64>.box2` content strings.
//!
//! Everything here is pure: keys, nonces and padding come from the caller (or from a
//! caller-supplied RNG in the `*_random` helpers), and every decoder returns a typed error for
//! any input.

pub mod box1;
pub mod box2;
pub mod content;
pub mod groups;
pub mod kdf;
