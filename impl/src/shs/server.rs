//! The server side of the secret handshake: checks msg1 and msg3, asks the authorisation hook,
//! sends msg2 and msg4.

use rand_core::CryptoRngCore;

use super::{
    hello, msg3_signed, msg4_signed, outcome, verify_hello, Action, Handshake, Outcome, Secrets, ShsError,
    Step,
};
use crate::crypto;
use crate::identity::{FeedId, Keypair};

/// Decides whether an authenticated client may connect.
pub type Authorizer = Box<dyn FnMut(&FeedId) -> bool + Send>;

enum State {
    AwaitHello,
    SendHello {
        client_eph: [u8; 32],
        client_mac: [u8; 32],
        ab: [u8; 32],
    },
    AwaitAuth {
        client_eph: [u8; 32],
        client_mac: [u8; 32],
        ab: [u8; 32],
    },
    SendAccept {
        msg4: Vec<u8>,
        outcome: Outcome,
    },
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

    fn on_hello(&mut self, msg: &[u8]) -> Result<(), ShsError> {
        let (client_eph, client_mac) = verify_hello(Step::Msg1, &self.net, msg)?;
        let ab = crypto::x25519(&self.eph_sk, &client_eph)
            .map_err(|_| ShsError::LowOrderKey { step: Step::Msg1 })?;
        self.state = State::SendHello {
            client_eph,
            client_mac,
            ab,
        };
        Ok(())
    }

    fn on_auth(&mut self, msg: &[u8]) -> Result<(Vec<u8>, Outcome), ShsError> {
        let step = Step::Msg3;
        let State::AwaitAuth {
            client_eph,
            client_mac,
            ab,
        } = &self.state
        else {
            return Err(ShsError::Unexpected {
                step,
                state: "not awaiting msg3",
            });
        };
        if msg.len() != super::MSG3_LEN {
            return Err(ShsError::BadLength {
                step,
                expected: super::MSG3_LEN,
                got: msg.len(),
            });
        }
        let a_b_long = crypto::x25519(&self.keys.curve25519_secret(), client_eph)
            .map_err(|_| ShsError::LowOrderKey { step })?;
        let secrets = Secrets { ab: *ab, a_b_long };
        let plain = crypto::secretbox_open(&secrets.msg3_key(&self.net), &[0u8; 24], msg)
            .map_err(|_| ShsError::BoxOpen { step })?;
        let sig_a: [u8; 64] = plain[..64].try_into().expect("112 - 16 = 96 bytes");
        let client_pub: [u8; 32] = plain[64..].try_into().expect("96 bytes");
        if !crypto::ed25519_verify(
            &client_pub,
            &msg3_signed(&self.net, self.keys.public(), ab),
            &sig_a,
        ) {
            return Err(ShsError::BadSignature { step });
        }
        let client_curve =
            crypto::ed25519_pk_to_curve25519(&client_pub).map_err(|_| ShsError::BadLongTermKey { step })?;
        let client = FeedId(client_pub);
        if !(self.authorize)(&client) {
            return Err(ShsError::ClientRefused { step, client });
        }
        let a_long_b =
            crypto::x25519(&self.eph_sk, &client_curve).map_err(|_| ShsError::BadLongTermKey { step })?;
        let key = secrets.msg4_key(&self.net, &a_long_b);
        let sig_b = self.keys.sign(&msg4_signed(&self.net, &sig_a, &client_pub, ab));
        let msg4 = crypto::secretbox_seal(&key, &[0u8; 24], &sig_b);
        let out = outcome(
            client,
            &key,
            self.keys.public(),
            &client_pub,
            &self.hello_mac,
            client_mac,
        );
        Ok((msg4, out))
    }
}

impl Handshake for Server {
    fn next(&mut self) -> Action {
        match std::mem::replace(&mut self.state, State::Failed) {
            State::AwaitHello => {
                self.state = State::AwaitHello;
                Action::Receive(super::MSG1_LEN)
            }
            State::SendHello {
                client_eph,
                client_mac,
                ab,
            } => {
                self.state = State::AwaitAuth {
                    client_eph,
                    client_mac,
                    ab,
                };
                Action::Send(hello(&self.net, &self.eph_pk).to_vec())
            }
            s @ State::AwaitAuth { .. } => {
                self.state = s;
                Action::Receive(super::MSG3_LEN)
            }
            State::SendAccept { msg4, outcome } => {
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
        let result = match self.state {
            State::AwaitHello => self.on_hello(bytes),
            State::AwaitAuth { .. } => self.on_auth(bytes).map(|(msg4, outcome)| {
                self.state = State::SendAccept { msg4, outcome };
            }),
            State::SendHello { .. } | State::SendAccept { .. } => Err(ShsError::Unexpected {
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
        if result.is_err() {
            self.state = State::Failed;
        }
        result
    }
}
