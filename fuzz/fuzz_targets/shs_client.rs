//! Fuzzes the secret-handshake `Client` with the bytes a server would send.
//!
//! The first input byte picks a mode:
//! - 0: the rest is split into msg2 / msg4 attempts (each preceded by a length byte) and fed
//!   whenever the client asks to receive;
//! - 1: a valid msg2 from a real server, then the rest as msg4;
//! - 2: a valid msg2, then the valid msg4 XOR-ed with the rest (a mask).
//!
//! Invariants: no panic; a failed client stays failed (`next()` is `Failed`, later `receive`
//! calls fail); msg4 is accepted only when it is exactly the server's valid msg4, and then the
//! outcome mirrors the server's.

#![no_main]

use libfuzzer_sys::fuzz_target;
use ssb_impl::shs::{Action, Client, Handshake, Outcome, Server, MAIN_NETWORK_KEY, MSG2_LEN, MSG4_LEN};
use ssb_impl::Keypair;

fn server() -> Server {
    Server::with_ephemeral(
        MAIN_NETWORK_KEY,
        Keypair::from_seed([2; 32]),
        Server::accept_all(),
        [4; 32],
    )
}

fn client() -> Client {
    let server_id = Keypair::from_seed([2; 32]).id();
    Client::with_ephemeral(MAIN_NETWORK_KEY, Keypair::from_seed([1; 32]), server_id, [3; 32]).unwrap()
}

fn send(h: &mut impl Handshake) -> Vec<u8> {
    match h.next() {
        Action::Send(b) => b,
        other => panic!("expected Send, got {other:?}"),
    }
}

fn feed(c: &mut Client, msg: &[u8]) -> bool {
    match c.receive(msg) {
        Ok(()) => true,
        Err(_) => {
            assert_eq!(c.next(), Action::Failed);
            assert!(c.receive(msg).is_err());
            assert_eq!(c.next(), Action::Failed);
            false
        }
    }
}

/// Runs a real server against `c` up to msg4; returns msg4 and the server's outcome.
fn valid_msg4(c: &mut Client) -> (Vec<u8>, Outcome) {
    let mut s = server();
    let msg1 = send(c);
    s.receive(&msg1).expect("server takes msg1");
    let msg2 = send(&mut s);
    assert_eq!(msg2.len(), MSG2_LEN);
    assert!(feed(c, &msg2), "valid msg2 refused");
    let msg3 = send(c);
    s.receive(&msg3).expect("server takes msg3");
    let msg4 = send(&mut s);
    assert_eq!(msg4.len(), MSG4_LEN);
    let Action::Done(so) = s.next() else {
        panic!("server not done")
    };
    assert_eq!(c.next(), Action::Receive(MSG4_LEN));
    (msg4, so)
}

fn after_msg4(c: &mut Client, accepted: bool, so: &Outcome) {
    if accepted {
        let Action::Done(co) = c.next() else {
            panic!("client not done after msg4")
        };
        assert_eq!(co.encrypt_key, so.decrypt_key);
        assert_eq!(co.encrypt_nonce, so.decrypt_nonce);
        assert_eq!(co.decrypt_key, so.encrypt_key);
        assert_eq!(co.decrypt_nonce, so.encrypt_nonce);
        assert!(c.receive(&[]).is_err(), "a finished client takes more bytes");
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let mut c = client();
    match mode % 3 {
        0 => {
            let mut input = rest;
            for _ in 0..8 {
                match c.next() {
                    Action::Send(_) => continue,
                    Action::Receive(_) => {
                        let Some((&len, tail)) = input.split_first() else {
                            return;
                        };
                        let n = (len as usize).min(tail.len());
                        let (msg, tail) = tail.split_at(n);
                        input = tail;
                        if !feed(&mut c, msg) {
                            return;
                        }
                    }
                    Action::Done(_) => panic!("client finished on fuzz bytes"),
                    Action::Failed => panic!("Failed without a failing receive"),
                }
            }
        }
        1 => {
            let (msg4, so) = valid_msg4(&mut c);
            let ok = feed(&mut c, rest);
            assert_eq!(ok, rest == msg4, "msg4 verdict wrong");
            after_msg4(&mut c, ok, &so);
        }
        _ => {
            let (mut msg4, so) = valid_msg4(&mut c);
            let mut flipped = false;
            for (b, m) in msg4.iter_mut().zip(rest) {
                *b ^= m;
                flipped |= *m != 0;
            }
            let ok = feed(&mut c, &msg4);
            assert_eq!(ok, !flipped, "mutated msg4 verdict wrong");
            after_msg4(&mut c, ok, &so);
        }
    }
});
