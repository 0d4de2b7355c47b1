//! Fuzzes the secret-handshake `Server` with the bytes a client would send.
//!
//! The first input byte picks a mode:
//! - 0: the rest is split into msg1 / msg3 attempts (each preceded by a length byte) and fed
//!   whenever the server asks to receive;
//! - 1: a valid msg1 from a real client, then the rest as msg3;
//! - 2: a valid msg1, then the valid msg3 XOR-ed with the rest (a mask).
//!
//! Invariants: no panic; a failed server stays failed (`next()` is `Failed`, later `receive`
//! calls fail); msg3 is accepted only when it is exactly the client's valid msg3.

#![no_main]

use libfuzzer_sys::fuzz_target;
use ssb_impl::shs::{Action, Client, Handshake, Server, MAIN_NETWORK_KEY, MSG1_LEN, MSG3_LEN};
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

/// Feeds `msg` to `s`; on failure checks the machine stays failed. Returns whether it was taken.
fn feed(s: &mut Server, msg: &[u8]) -> bool {
    match s.receive(msg) {
        Ok(()) => true,
        Err(_) => {
            assert_eq!(s.next(), Action::Failed);
            assert!(s.receive(msg).is_err());
            assert_eq!(s.next(), Action::Failed);
            false
        }
    }
}

/// A valid client msg1 and msg3 against `server`, which has received msg1 and sent msg2.
fn valid_msg1_msg3(s: &mut Server) -> Vec<u8> {
    let mut c = client();
    let msg1 = send(&mut c);
    assert_eq!(msg1.len(), MSG1_LEN);
    assert!(feed(s, &msg1), "valid msg1 refused");
    let msg2 = send(s);
    c.receive(&msg2).expect("client takes the server's msg2");
    let msg3 = send(&mut c);
    assert_eq!(msg3.len(), MSG3_LEN);
    assert_eq!(s.next(), Action::Receive(MSG3_LEN));
    msg3
}

fn after_msg3(s: &mut Server, accepted: bool) {
    if accepted {
        assert!(matches!(s.next(), Action::Send(m) if m.len() == 80));
        assert!(matches!(s.next(), Action::Done(_)));
        assert!(s.receive(&[]).is_err(), "a finished server takes more bytes");
        assert!(matches!(s.next(), Action::Done(_)));
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let mut s = server();
    match mode % 3 {
        0 => {
            let mut input = rest;
            for _ in 0..8 {
                match s.next() {
                    Action::Send(_) => continue,
                    Action::Receive(_) => {
                        let Some((&len, tail)) = input.split_first() else {
                            return;
                        };
                        let n = (len as usize).min(tail.len());
                        let (msg, tail) = tail.split_at(n);
                        input = tail;
                        if !feed(&mut s, msg) {
                            return;
                        }
                    }
                    Action::Done(_) => panic!("server finished on fuzz bytes"),
                    Action::Failed => panic!("Failed without a failing receive"),
                }
            }
        }
        1 => {
            let msg3 = valid_msg1_msg3(&mut s);
            let ok = feed(&mut s, rest);
            assert_eq!(ok, rest == msg3, "msg3 verdict wrong");
            after_msg3(&mut s, ok);
        }
        _ => {
            let mut msg3 = valid_msg1_msg3(&mut s);
            let mut flipped = false;
            for (b, m) in msg3.iter_mut().zip(rest) {
                *b ^= m;
                flipped |= *m != 0;
            }
            let ok = feed(&mut s, &msg3);
            assert_eq!(ok, !flipped, "mutated msg3 verdict wrong");
            after_msg3(&mut s, ok);
        }
    }
});
