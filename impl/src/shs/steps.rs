//! The secret handshake's computations as pure functions, one per step, shared by the
//! [`Client`](super::Client) and [`Server`](super::Server) machines and exposed so that the
//! upstream per-step vectors (`shs-test-secret-handshake`) can be checked field by field.

use super::{Outcome, ShsError, Step, MSG3_LEN, MSG4_LEN};
use crate::crypto;
use crate::identity::FeedId;

/// `auth(K, eph_pk) ‖ eph_pk`: msg1 and msg2 share this shape.
pub fn hello(net: &[u8; 32], eph_pk: &[u8; 32]) -> [u8; 64] {
    let mut out = [0u8; 64];
    out[..32].copy_from_slice(&crypto::auth(net, eph_pk));
    out[32..].copy_from_slice(eph_pk);
    out
}

/// Checks a hello (msg1 or msg2) and returns the peer's ephemeral key and its HMAC.
pub fn verify_hello(step: Step, net: &[u8; 32], msg: &[u8]) -> Result<([u8; 32], [u8; 32]), ShsError> {
    if msg.len() != 64 {
        return Err(ShsError::BadLength {
            step,
            expected: 64,
            got: msg.len(),
        });
    }
    let mac: [u8; 32] = msg[..32].try_into().expect("64 bytes");
    let eph: [u8; 32] = msg[32..].try_into().expect("64 bytes");
    if !crypto::auth_verify(net, &eph, &mac) {
        return Err(ShsError::BadHmac { step });
    }
    Ok((eph, mac))
}

/// Key of the msg3 box: sha256(K ‖ ab ‖ aB).
pub fn msg3_key(net: &[u8; 32], ab: &[u8; 32], a_b_long: &[u8; 32]) -> [u8; 32] {
    crypto::sha256_concat(&[net, ab, a_b_long])
}

/// Key of the msg4 box: sha256(K ‖ ab ‖ aB ‖ Ab).
pub fn msg4_key(net: &[u8; 32], ab: &[u8; 32], a_b_long: &[u8; 32], a_long_b: &[u8; 32]) -> [u8; 32] {
    crypto::sha256_concat(&[net, ab, a_b_long, a_long_b])
}

/// The text the client signs in msg3: K ‖ B ‖ sha256(ab).
pub fn msg3_signed(net: &[u8; 32], server_pub: &[u8; 32], ab: &[u8; 32]) -> Vec<u8> {
    [&net[..], server_pub, &crypto::sha256(ab)].concat()
}

/// The text the server signs in msg4: K ‖ sig_A ‖ A ‖ sha256(ab).
pub fn msg4_signed(net: &[u8; 32], sig_a: &[u8; 64], client_pub: &[u8; 32], ab: &[u8; 32]) -> Vec<u8> {
    [&net[..], sig_a, client_pub, &crypto::sha256(ab)].concat()
}

/// msg3: the client's signature and long-term key, boxed under the msg3 key with a zero nonce.
/// Returns the message and the signature (the server's msg4 signs over it).
pub fn client_auth(
    net: &[u8; 32],
    client_seed: &[u8; 32],
    client_pub: &[u8; 32],
    server_pub: &[u8; 32],
    ab: &[u8; 32],
    a_b_long: &[u8; 32],
) -> (Vec<u8>, [u8; 64]) {
    let sig_a = crypto::ed25519_sign(client_seed, &msg3_signed(net, server_pub, ab));
    let mut plain = [0u8; 96];
    plain[..64].copy_from_slice(&sig_a);
    plain[64..].copy_from_slice(client_pub);
    (
        crypto::secretbox_seal(&msg3_key(net, ab, a_b_long), &[0u8; 24], &plain),
        sig_a,
    )
}

/// Opens msg3 and checks the client's signature; gives the client's signature and key.
pub fn open_client_auth(
    net: &[u8; 32],
    server_pub: &[u8; 32],
    ab: &[u8; 32],
    a_b_long: &[u8; 32],
    msg: &[u8],
) -> Result<([u8; 64], [u8; 32]), ShsError> {
    let step = Step::Msg3;
    if msg.len() != MSG3_LEN {
        return Err(ShsError::BadLength {
            step,
            expected: MSG3_LEN,
            got: msg.len(),
        });
    }
    let plain = crypto::secretbox_open(&msg3_key(net, ab, a_b_long), &[0u8; 24], msg)
        .map_err(|_| ShsError::BoxOpen { step })?;
    let sig_a: [u8; 64] = plain[..64].try_into().expect("112 - 16 = 96 bytes");
    let client_pub: [u8; 32] = plain[64..].try_into().expect("96 bytes");
    if !crypto::ed25519_verify(&client_pub, &msg3_signed(net, server_pub, ab), &sig_a) {
        return Err(ShsError::BadSignature { step });
    }
    Ok((sig_a, client_pub))
}

/// msg4: the server's signature boxed under the msg4 key (`key`) with a zero nonce.
pub fn server_accept(
    net: &[u8; 32],
    server_seed: &[u8; 32],
    key: &[u8; 32],
    sig_a: &[u8; 64],
    client_pub: &[u8; 32],
    ab: &[u8; 32],
) -> Vec<u8> {
    let sig_b = crypto::ed25519_sign(server_seed, &msg4_signed(net, sig_a, client_pub, ab));
    crypto::secretbox_seal(key, &[0u8; 24], &sig_b)
}

/// Opens msg4 with the msg4 key and checks the server's signature.
pub fn open_server_accept(
    net: &[u8; 32],
    server_pub: &[u8; 32],
    key: &[u8; 32],
    sig_a: &[u8; 64],
    client_pub: &[u8; 32],
    ab: &[u8; 32],
    msg: &[u8],
) -> Result<(), ShsError> {
    let step = Step::Msg4;
    if msg.len() != MSG4_LEN {
        return Err(ShsError::BadLength {
            step,
            expected: MSG4_LEN,
            got: msg.len(),
        });
    }
    let plain = crypto::secretbox_open(key, &[0u8; 24], msg).map_err(|_| ShsError::BoxOpen { step })?;
    let sig_b: [u8; 64] = plain
        .as_slice()
        .try_into()
        .map_err(|_| ShsError::BoxOpen { step })?;
    if !crypto::ed25519_verify(server_pub, &msg4_signed(net, sig_a, client_pub, ab), &sig_b) {
        return Err(ShsError::BadSignature { step });
    }
    Ok(())
}

/// Box-stream keys: sha256(sha256(msg4_key) ‖ recipient's long-term key) for each direction,
/// nonces from the first 24 bytes of the recipient's hello HMAC.
pub fn outcome(
    remote: FeedId,
    msg4_key: &[u8; 32],
    local_pub: &[u8; 32],
    local_hello_mac: &[u8; 32],
    remote_hello_mac: &[u8; 32],
) -> Outcome {
    let master = crypto::sha256(msg4_key);
    Outcome {
        remote,
        encrypt_key: crypto::sha256_concat(&[&master, &remote.0]),
        encrypt_nonce: remote_hello_mac[..24].try_into().expect("32 bytes"),
        decrypt_key: crypto::sha256_concat(&[&master, local_pub]),
        decrypt_nonce: local_hello_mac[..24].try_into().expect("32 bytes"),
    }
}
