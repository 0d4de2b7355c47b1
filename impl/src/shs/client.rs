//! The client side of the secret handshake: sends msg1 and msg3, checks msg2 and msg4.

use rand_core::CryptoRngCore;

use super::steps::{client_auth, hello, msg4_key, open_server_accept, outcome, verify_hello};
use super::{Action, Handshake, Outcome, ShsError, Step, MSG2_LEN, MSG4_LEN};
use crate::crypto;
use crate::identity::{FeedId, Keypair};

/// What the client knows after msg2.
#[derive(Clone, Copy)]
struct AfterHello {
    server_eph: [u8; 32],
    server_mac: [u8; 32],
    ab: [u8; 32],
    a_b_long: [u8; 32],
}

enum State {
    SendHello,
    AwaitHello,
    SendAuth(AfterHello),
    AwaitAccept(AfterHello, [u8; 64]),
    Done(Outcome),
    Failed,
}

/// A handshake client: it knows the server's long-term public key in advance.
pub struct Client {
    net: [u8; 32],
    keys: Keypair,
    server_pub: [u8; 32],
    server_curve: [u8; 32],
    eph_sk: [u8; 32],
    eph_pk: [u8; 32],
    hello_mac: [u8; 32],
    state: State,
}

impl Client {
    /// A client with an ephemeral key drawn from `rng`.
    pub fn new(
        net: [u8; 32],
        keys: Keypair,
        server: FeedId,
        rng: &mut impl CryptoRngCore,
    ) -> Result<Self, ShsError> {
        let mut eph = [0u8; 32];
        rng.fill_bytes(&mut eph);
        Self::with_ephemeral(net, keys, server, eph)
    }

    /// A client with the given ephemeral curve25519 secret scalar (vectors, replays).
    pub fn with_ephemeral(
        net: [u8; 32],
        keys: Keypair,
        server: FeedId,
        eph_sk: [u8; 32],
    ) -> Result<Self, ShsError> {
        let server_curve =
            crypto::ed25519_pk_to_curve25519(server.as_bytes()).map_err(|_| ShsError::InvalidServerKey)?;
        let eph_pk = crypto::x25519_base(&eph_sk);
        Ok(Client {
            net,
            keys,
            server_pub: server.0,
            server_curve,
            eph_sk,
            eph_pk,
            hello_mac: crypto::auth(&net, &eph_pk),
            state: State::SendHello,
        })
    }

    fn on_hello(&self, msg: &[u8]) -> Result<AfterHello, ShsError> {
        let (server_eph, server_mac) = verify_hello(Step::Msg2, &self.net, msg)?;
        let ab = crypto::x25519(&self.eph_sk, &server_eph)
            .map_err(|_| ShsError::LowOrderKey { step: Step::Msg2 })?;
        let a_b_long =
            crypto::x25519(&self.eph_sk, &self.server_curve).map_err(|_| ShsError::InvalidServerKey)?;
        Ok(AfterHello {
            server_eph,
            server_mac,
            ab,
            a_b_long,
        })
    }

    fn on_accept(&self, h: &AfterHello, sig_a: &[u8; 64], msg: &[u8]) -> Result<Outcome, ShsError> {
        let a_long_b = crypto::x25519(&self.keys.curve25519_secret(), &h.server_eph)
            .map_err(|_| ShsError::LowOrderKey { step: Step::Msg4 })?;
        let key = msg4_key(&self.net, &h.ab, &h.a_b_long, &a_long_b);
        open_server_accept(
            &self.net,
            &self.server_pub,
            &key,
            sig_a,
            self.keys.public(),
            &h.ab,
            msg,
        )?;
        Ok(outcome(
            FeedId(self.server_pub),
            &key,
            self.keys.public(),
            &self.hello_mac,
            &h.server_mac,
        ))
    }
}

impl Handshake for Client {
    fn next(&mut self) -> Action {
        match std::mem::replace(&mut self.state, State::Failed) {
            State::SendHello => {
                self.state = State::AwaitHello;
                Action::Send(hello(&self.net, &self.eph_pk).to_vec())
            }
            State::AwaitHello => {
                self.state = State::AwaitHello;
                Action::Receive(MSG2_LEN)
            }
            State::SendAuth(h) => {
                let (msg3, sig_a) = client_auth(
                    &self.net,
                    self.keys.seed(),
                    self.keys.public(),
                    &self.server_pub,
                    &h.ab,
                    &h.a_b_long,
                );
                self.state = State::AwaitAccept(h, sig_a);
                Action::Send(msg3)
            }
            s @ State::AwaitAccept(..) => {
                self.state = s;
                Action::Receive(MSG4_LEN)
            }
            State::Done(o) => {
                self.state = State::Done(o.clone());
                Action::Done(o)
            }
            State::Failed => Action::Failed,
        }
    }

    fn receive(&mut self, bytes: &[u8]) -> Result<(), ShsError> {
        let next = match &self.state {
            State::AwaitHello => self.on_hello(bytes).map(State::SendAuth),
            State::AwaitAccept(h, sig_a) => self.on_accept(h, sig_a, bytes).map(State::Done),
            State::SendHello | State::SendAuth(_) => Err(ShsError::Unexpected {
                step: Step::Msg2,
                state: "has a message to send first",
            }),
            State::Done(_) | State::Failed => {
                return Err(ShsError::Unexpected {
                    step: Step::Msg4,
                    state: "finished",
                });
            }
        };
        match next {
            Ok(s) => {
                self.state = s;
                Ok(())
            }
            Err(e) => {
                self.state = State::Failed;
                Err(e)
            }
        }
    }
}
