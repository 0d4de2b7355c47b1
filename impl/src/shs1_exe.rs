//! The shs1-testsuite executable protocol: a server or client handshake over standard input and
//! output, followed by the 112-byte outcome `encrypt_key ‖ encrypt_nonce ‖ decrypt_key ‖
//! decrypt_nonce`. On any fault the program writes nothing more and exits non-zero.
//!
//! Server: `EXE NETID_HEX SERVER_SK_HEX SERVER_PK_HEX` (the secret key in libsodium's 64-byte
//! form). Client: `EXE NETID_HEX SERVER_PK_HEX`; the client's own long-term key is fresh.

use std::io::{Read, Write};

use rand_core::CryptoRngCore;

use crate::identity::{FeedId, Keypair};
use crate::shs::{Action, Client, Handshake, Outcome, Server};

fn hex_arg<const N: usize>(args: &[String], i: usize, name: &str) -> Result<[u8; N], String> {
    let s = args.get(i).ok_or_else(|| format!("missing argument {name}"))?;
    let v = hex::decode(s).map_err(|e| format!("{name} is not hex: {e}"))?;
    let got = v.len();
    v.try_into()
        .map_err(|_| format!("{name} has {got} bytes, expected {N}"))
}

/// Runs a handshake over blocking streams; `Err` names what failed.
pub fn drive<H: Handshake>(
    hs: &mut H,
    input: &mut impl Read,
    output: &mut impl Write,
) -> Result<Outcome, String> {
    loop {
        match hs.next() {
            Action::Send(b) => {
                output
                    .write_all(&b)
                    .and_then(|_| output.flush())
                    .map_err(|e| format!("write: {e}"))?;
            }
            Action::Receive(n) => {
                let mut buf = vec![0u8; n];
                input.read_exact(&mut buf).map_err(|e| format!("read: {e}"))?;
                hs.receive(&buf).map_err(|e| e.to_string())?;
            }
            Action::Done(o) => return Ok(o),
            Action::Failed => return Err("handshake failed".into()),
        }
    }
}

/// The 112-byte outcome record.
pub fn outcome_bytes(o: &Outcome) -> Vec<u8> {
    [
        &o.encrypt_key[..],
        &o.encrypt_nonce,
        &o.decrypt_key,
        &o.decrypt_nonce,
    ]
    .concat()
}

/// The server role; `args` excludes the program name.
pub fn run_server(
    args: &[String],
    rng: &mut impl CryptoRngCore,
    input: &mut impl Read,
    output: &mut impl Write,
) -> Result<(), String> {
    let net: [u8; 32] = hex_arg(args, 0, "NETID_HEX")?;
    let sk: [u8; 64] = hex_arg(args, 1, "SERVER_SK_HEX")?;
    let pk: [u8; 32] = hex_arg(args, 2, "SERVER_PK_HEX")?;
    let keys = Keypair::from_libsodium_secret(&sk).map_err(|e| e.to_string())?;
    if *keys.public() != pk {
        return Err("SERVER_PK_HEX is not the public key of SERVER_SK_HEX".into());
    }
    let mut server = Server::new(net, keys, Server::accept_all(), rng);
    let o = drive(&mut server, input, output)?;
    output
        .write_all(&outcome_bytes(&o))
        .and_then(|_| output.flush())
        .map_err(|e| e.to_string())
}

/// The client role; `args` excludes the program name.
pub fn run_client(
    args: &[String],
    rng: &mut impl CryptoRngCore,
    input: &mut impl Read,
    output: &mut impl Write,
) -> Result<(), String> {
    let net: [u8; 32] = hex_arg(args, 0, "NETID_HEX")?;
    let pk: [u8; 32] = hex_arg(args, 1, "SERVER_PK_HEX")?;
    let keys = Keypair::generate(rng);
    let mut client = Client::new(net, keys, FeedId(pk), rng).map_err(|e| e.to_string())?;
    let o = drive(&mut client, input, output)?;
    output
        .write_all(&outcome_bytes(&o))
        .and_then(|_| output.flush())
        .map_err(|e| e.to_string())
}
