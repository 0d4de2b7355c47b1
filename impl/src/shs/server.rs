//! The server side of the secret handshake: checks msg1 and msg3, asks the authorisation hook,
//! sends msg2 and msg4.

use rand_core::CryptoRngCore;

use super::steps::{hello, msg4_key, open_client_auth, outcome, server_accept, verify_hello};
use super::{Action, Handshake, Outcome, ShsError, Step, MSG1_LEN, MSG3_LEN};
use crate::crypto;
use crate::identity::{FeedId, Keypair};

/// Decides whether an authenticated client may connect.
pub type Authorizer = Box<dyn FnMut(&FeedId) -> bool + Send>;

/// What the server knows after msg1.
#[derive(Clone, Copy)]
struct AfterHello {
    client_eph: [u8; 32],
    client_mac: [u8; 32],
    ab: [u8; 32],
}

enum State {
    AwaitHello,
    SendHello(AfterHello),
    AwaitAuth(AfterHello),
    SendAccept(Vec<u8>, Outcome),
    Done(Outcome),
    Failed,
}

/// A handshake server.
pub struct Server {
    net: [u8; 32],
    keys: Keypair,
    eph_sk: [u8; 32],
    eph_pk: [u8; 32],
    hello_mac: [u8; 32],
    authorize: Authorizer,
    state: State,
}

impl Server {
    /// A server with an ephemeral key drawn from `rng` that asks `authorize` about each client.
    pub fn new(net: [u8; 32], keys: Keypair, authorize: Authorizer, rng: &mut impl CryptoRngCore) -> Self {
        let mut eph = [0u8; 32];
        rng.fill_bytes(&mut eph);
        Self::with_ephemeral(net, keys, authorize, eph)
    }

    /// A server with the given ephemeral curve25519 secret scalar (vectors, replays).
    pub fn with_ephemeral(net: [u8; 32], keys: Keypair, authorize: Authorizer, eph_sk: [u8; 32]) -> Self {
        let eph_pk = crypto::x25519_base(&eph_sk);
        Server {
            net,
            keys,
            eph_sk,
            eph_pk,
            hello_mac: crypto::auth(&net, &eph_pk),
            authorize,
            state: State::AwaitHello,
        }
    }

    /// An authoriser that lets every client in.
    pub fn accept_all() -> Authorizer {
        Box::new(|_| true)
    }

    fn on_hello(&self, msg: &[u8]) -> Result<AfterHello, ShsError> {
        let (client_eph, client_mac) = verify_hello(Step::Msg1, &self.net, msg)?;
        let ab = crypto::x25519(&self.eph_sk, &client_eph)
            .map_err(|_| ShsError::LowOrderKey { step: Step::Msg1 })?;
        Ok(AfterHello {
            client_eph,
            client_mac,
            ab,
        })
    }

    fn on_auth(&mut self, h: AfterHello, msg: &[u8]) -> Result<(Vec<u8>, Outcome), ShsError> {
        let step = Step::Msg3;
        let a_b_long = crypto::x25519(&self.keys.curve25519_secret(), &h.client_eph)
            .map_err(|_| ShsError::LowOrderKey { step })?;
        let (sig_a, client_pub) = open_client_auth(&self.net, self.keys.public(), &h.ab, &a_b_long, msg)?;
        let client_curve =
            crypto::ed25519_pk_to_curve25519(&client_pub).map_err(|_| ShsError::BadLongTermKey { step })?;
        let client = FeedId(client_pub);
        if !(self.authorize)(&client) {
            return Err(ShsError::ClientRefused { step, client });
        }
        let a_long_b =
            crypto::x25519(&self.eph_sk, &client_curve).map_err(|_| ShsError::BadLongTermKey { step })?;
        let key = msg4_key(&self.net, &h.ab, &a_b_long, &a_long_b);
        let msg4 = server_accept(&self.net, self.keys.seed(), &key, &sig_a, &client_pub, &h.ab);
        let out = outcome(client, &key, self.keys.public(), &self.hello_mac, &h.client_mac);
        Ok((msg4, out))
    }
}

impl Handshake for Server {
    fn next(&mut self) -> Action {
        match std::mem::replace(&mut self.state, State::Failed) {
            State::AwaitHello => {
                self.state = State::AwaitHello;
                Action::Receive(MSG1_LEN)
            }
            State::SendHello(h) => {
                self.state = State::AwaitAuth(h);
                Action::Send(hello(&self.net, &self.eph_pk).to_vec())
            }
            s @ State::AwaitAuth(_) => {
                self.state = s;
                Action::Receive(MSG3_LEN)
            }
            State::SendAccept(msg4, outcome) => {
                self.state = State::Done(outcome);
                Action::Send(msg4)
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
            State::AwaitHello => self.on_hello(bytes).map(State::SendHello),
            State::AwaitAuth(h) => {
                let h = *h;
                self.on_auth(h, bytes).map(|(msg4, o)| State::SendAccept(msg4, o))
            }
            State::SendHello(_) | State::SendAccept(..) => Err(ShsError::Unexpected {
                step: Step::Msg3,
                state: "has a message to send first",
            }),
            State::Done(_) | State::Failed => {
                return Err(ShsError::Unexpected {
                    step: Step::Msg3,
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
