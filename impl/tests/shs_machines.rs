//! The secret handshake state machines against each other: success, and each failure named by
//! its step.

use ssb_impl::shs::{run_pair, Action, Client, Handshake, Server, ShsError, Step, MAIN_NETWORK_KEY};
use ssb_impl::Keypair;

fn kp(b: u8) -> Keypair {
    Keypair::from_seed([b; 32])
}

fn pair(client_net: [u8; 32], server_net: [u8; 32], server_key_seen: u8, accept: bool) -> (Client, Server) {
    let c = Client::with_ephemeral(client_net, kp(1), kp(server_key_seen).id(), [3; 32]).unwrap();
    let s = Server::with_ephemeral(server_net, kp(2), Box::new(move |_| accept), [4; 32]);
    (c, s)
}

#[test]
fn handshake_succeeds_and_keys_mirror() {
    let (mut c, mut s) = pair(MAIN_NETWORK_KEY, MAIN_NETWORK_KEY, 2, true);
    let (co, so) = run_pair(&mut c, &mut s).unwrap();
    assert_eq!(co.remote, kp(2).id());
    assert_eq!(so.remote, kp(1).id());
    assert_eq!(co.encrypt_key, so.decrypt_key);
    assert_eq!(co.encrypt_nonce, so.decrypt_nonce);
    assert_eq!(co.decrypt_key, so.encrypt_key);
    assert_eq!(co.decrypt_nonce, so.encrypt_nonce);
    assert_ne!(co.encrypt_key, co.decrypt_key);
    assert!(matches!(c.next(), Action::Done(_)));
}

#[test]
fn wrong_network_is_refused_at_msg1() {
    let (mut c, mut s) = pair([9; 32], MAIN_NETWORK_KEY, 2, true);
    let err = run_pair(&mut c, &mut s).unwrap_err();
    assert_eq!(err, (false, ShsError::BadHmac { step: Step::Msg1 }));
    assert_eq!(err.1.kind(), "msg1_rejected");
    assert_eq!(s.next(), Action::Failed);
}

#[test]
fn wrong_server_key_is_refused_at_msg3() {
    let (mut c, mut s) = pair(MAIN_NETWORK_KEY, MAIN_NETWORK_KEY, 7, true);
    let err = run_pair(&mut c, &mut s).unwrap_err();
    assert_eq!(err, (false, ShsError::BoxOpen { step: Step::Msg3 }));
}

#[test]
fn refused_client_names_the_client() {
    let (mut c, mut s) = pair(MAIN_NETWORK_KEY, MAIN_NETWORK_KEY, 2, false);
    let err = run_pair(&mut c, &mut s).unwrap_err();
    assert_eq!(
        err,
        (
            false,
            ShsError::ClientRefused {
                step: Step::Msg3,
                client: kp(1).id()
            }
        )
    );
    assert_eq!(err.1.kind(), "client_refused");
}

#[test]
fn short_and_unexpected_input_is_an_error() {
    let (mut c, _) = pair(MAIN_NETWORK_KEY, MAIN_NETWORK_KEY, 2, true);
    // The client must send msg1 before it reads anything.
    assert!(matches!(c.receive(&[0; 64]), Err(ShsError::Unexpected { .. })));
    let (mut c, _) = pair(MAIN_NETWORK_KEY, MAIN_NETWORK_KEY, 2, true);
    assert!(matches!(c.next(), Action::Send(m) if m.len() == 64));
    assert_eq!(c.next(), Action::Receive(64));
    assert_eq!(
        c.receive(&[0; 10]),
        Err(ShsError::BadLength {
            step: Step::Msg2,
            expected: 64,
            got: 10
        })
    );
}
