//! `ssb-shs1-faulty BUG server|client ARGS…`: a test fixture, not a tool. A secret-handshake
//! executable in the shs1-testsuite exe protocol (`ssb_impl::shs1_exe`) with one deliberate bug,
//! so that tests can show that `ssb-harness shs1` catches each class:
//!
//! - `none`: no bug (the control: it must pass every test);
//! - `no-signature-check`: the peer's msg3/msg4 is opened but its signature never verified;
//! - `mac-prefix`: the peer's hello HMAC compared on its first 16 bytes only;
//! - `fixed-ephemeral`: the ephemeral key drawn from a generator seeded with a constant, so it
//!   is the same in every session.
//!
//! Server arguments: `NETID_HEX SERVER_SK_HEX SERVER_PK_HEX`; client: `NETID_HEX SERVER_PK_HEX`.

use std::io::{Read, Write};
use std::process::ExitCode;

use rand_chacha::ChaCha20Rng;
use rand_core::{OsRng, RngCore, SeedableRng};
use ssb_impl::crypto;
use ssb_impl::shs::steps;
use ssb_impl::shs1_exe::outcome_bytes;
use ssb_impl::{FeedId, Keypair};

#[derive(Clone, Copy, PartialEq)]
enum Bug {
    None,
    NoSignatureCheck,
    MacPrefix,
    FixedEphemeral,
}

fn hex_arg<const N: usize>(args: &[String], i: usize) -> Result<[u8; N], String> {
    let v = hex::decode(args.get(i).ok_or("missing argument")?).map_err(|e| e.to_string())?;
    v.try_into()
        .map_err(|_| format!("argument {i} has the wrong length"))
}

fn read<const N: usize>(input: &mut impl Read) -> Result<[u8; N], String> {
    let mut b = [0u8; N];
    input.read_exact(&mut b).map_err(|e| e.to_string())?;
    Ok(b)
}

fn write(out: &mut impl Write, b: &[u8]) -> Result<(), String> {
    out.write_all(b)
        .and_then(|_| out.flush())
        .map_err(|e| e.to_string())
}

/// Checks a hello, with the bug's MAC comparison; gives the peer's ephemeral key and MAC.
fn check_hello(bug: Bug, net: &[u8; 32], msg: &[u8; 64]) -> Result<([u8; 32], [u8; 32]), String> {
    if bug == Bug::MacPrefix {
        let want = crypto::auth(net, msg[32..].try_into().expect("64"));
        if want[..16] != msg[..16] {
            return Err("bad hello".into());
        }
        return Ok((
            msg[32..].try_into().expect("64"),
            msg[..32].try_into().expect("64"),
        ));
    }
    steps::verify_hello(steps_step(), net, msg).map_err(|e| e.to_string())
}

fn steps_step() -> ssb_impl::shs::Step {
    ssb_impl::shs::Step::Msg1
}

fn ephemeral(bug: Bug) -> [u8; 32] {
    let mut e = [0u8; 32];
    if bug == Bug::FixedEphemeral {
        ChaCha20Rng::seed_from_u64(7).fill_bytes(&mut e);
    } else {
        OsRng.fill_bytes(&mut e);
    }
    e
}

fn server(bug: Bug, args: &[String], input: &mut impl Read, out: &mut impl Write) -> Result<(), String> {
    let net: [u8; 32] = hex_arg(args, 0)?;
    let sk: [u8; 64] = hex_arg(args, 1)?;
    let keys = Keypair::from_libsodium_secret(&sk).map_err(|e| e.to_string())?;
    let msg1: [u8; 64] = read(input)?;
    let (client_eph, client_mac) = check_hello(bug, &net, &msg1)?;
    let eph = ephemeral(bug);
    let my_hello = steps::hello(&net, &crypto::x25519_base(&eph));
    write(out, &my_hello)?;
    let ab = crypto::x25519(&eph, &client_eph).map_err(|e| e.to_string())?;
    let a_b_long = crypto::x25519(&keys.curve25519_secret(), &client_eph).map_err(|e| e.to_string())?;
    let msg3: [u8; 112] = read(input)?;
    let (sig_a, client_pub) = if bug == Bug::NoSignatureCheck {
        let plain = crypto::secretbox_open(&steps::msg3_key(&net, &ab, &a_b_long), &[0; 24], &msg3)
            .map_err(|_| "msg3 does not open")?;
        let sig: [u8; 64] = plain[..64].try_into().expect("96");
        let pk: [u8; 32] = plain[64..].try_into().expect("96");
        (sig, pk)
    } else {
        steps::open_client_auth(&net, keys.public(), &ab, &a_b_long, &msg3).map_err(|e| e.to_string())?
    };
    let client_curve = crypto::ed25519_pk_to_curve25519(&client_pub).map_err(|e| e.to_string())?;
    let a_long_b = crypto::x25519(&eph, &client_curve).map_err(|e| e.to_string())?;
    let key4 = steps::msg4_key(&net, &ab, &a_b_long, &a_long_b);
    write(
        out,
        &steps::server_accept(&net, keys.seed(), &key4, &sig_a, &client_pub, &ab),
    )?;
    let my_mac: [u8; 32] = my_hello[..32].try_into().expect("64");
    let o = steps::outcome(FeedId(client_pub), &key4, keys.public(), &my_mac, &client_mac);
    write(out, &outcome_bytes(&o))
}

fn client(bug: Bug, args: &[String], input: &mut impl Read, out: &mut impl Write) -> Result<(), String> {
    let net: [u8; 32] = hex_arg(args, 0)?;
    let server_pub: [u8; 32] = hex_arg(args, 1)?;
    let keys = if bug == Bug::FixedEphemeral {
        Keypair::generate(&mut ChaCha20Rng::seed_from_u64(8))
    } else {
        Keypair::generate(&mut OsRng)
    };
    let eph = ephemeral(bug);
    let my_hello = steps::hello(&net, &crypto::x25519_base(&eph));
    write(out, &my_hello)?;
    let msg2: [u8; 64] = read(input)?;
    let (server_eph, server_mac) = check_hello(bug, &net, &msg2)?;
    let ab = crypto::x25519(&eph, &server_eph).map_err(|e| e.to_string())?;
    let server_curve = crypto::ed25519_pk_to_curve25519(&server_pub).map_err(|e| e.to_string())?;
    let a_b_long = crypto::x25519(&eph, &server_curve).map_err(|e| e.to_string())?;
    let (msg3, sig_a) = steps::client_auth(&net, keys.seed(), keys.public(), &server_pub, &ab, &a_b_long);
    write(out, &msg3)?;
    let a_long_b = crypto::x25519(&keys.curve25519_secret(), &server_eph).map_err(|e| e.to_string())?;
    let key4 = steps::msg4_key(&net, &ab, &a_b_long, &a_long_b);
    let msg4: [u8; 80] = read(input)?;
    if bug == Bug::NoSignatureCheck {
        crypto::secretbox_open(&key4, &[0; 24], &msg4).map_err(|_| "msg4 does not open")?;
    } else {
        steps::open_server_accept(&net, &server_pub, &key4, &sig_a, keys.public(), &ab, &msg4)
            .map_err(|e| e.to_string())?;
    }
    let my_mac: [u8; 32] = my_hello[..32].try_into().expect("64");
    let o = steps::outcome(FeedId(server_pub), &key4, keys.public(), &my_mac, &server_mac);
    write(out, &outcome_bytes(&o))
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let bug = match args.first().map(String::as_str) {
        Some("none") => Bug::None,
        Some("no-signature-check") => Bug::NoSignatureCheck,
        Some("mac-prefix") => Bug::MacPrefix,
        Some("fixed-ephemeral") => Bug::FixedEphemeral,
        _ => {
            eprintln!("usage: ssb-shs1-faulty none|no-signature-check|mac-prefix|fixed-ephemeral server|client ARGS…");
            return ExitCode::from(2);
        }
    };
    let (mut input, mut out) = (std::io::stdin().lock(), std::io::stdout().lock());
    let r = match args.get(1).map(String::as_str) {
        Some("server") => server(bug, &args[2..], &mut input, &mut out),
        Some("client") => client(bug, &args[2..], &mut input, &mut out),
        _ => Err("the second argument must be server or client".into()),
    };
    match r {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("ssb-shs1-faulty: {e}");
            ExitCode::FAILURE
        }
    }
}
