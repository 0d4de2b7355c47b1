//! The client side of the secret handshake: sends msg1 and msg3, checks msg2 and msg4.

use rand_core::CryptoRngCore;

use super::{
    hello, msg3_signed, msg4_signed, outcome, verify_hello, Action, Handshake, Outcome, Secrets, ShsError,
    Step,
};
use crate::crypto;
use crate::identity::{FeedId, Keypair};

enum State {
    SendHello,
    AwaitHello,
    SendAuth {
        server_eph: [u8; 32],
        server_mac: [u8; 32],
        secrets: Secrets,
    },
    AwaitAccept {
        server_eph: [u8; 32],
        server_mac: [u8; 32],
        secrets: Secrets,
        sig_a: [u8; 64],
    },
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

    fn fail(&mut self, e: ShsError) -> Result<(), ShsError> {
        self.state = State::Failed;
        Err(e)
    }

    fn on_hello(&mut self, msg: &[u8]) -> Result<(), ShsError> {
        let (server_eph, server_mac) = verify_hello(Step::Msg2, &self.net, msg)?;
        let ab = crypto::x25519(&self.eph_sk, &server_eph)
            .map_err(|_| ShsError::LowOrderKey { step: Step::Msg2 })?;
        let a_b_long =
            crypto::x25519(&self.eph_sk, &self.server_curve).map_err(|_| ShsError::InvalidServerKey)?;
        self.state = State::SendAuth {
            server_eph,
            server_mac,
            secrets: Secrets { ab, a_b_long },
        };
        Ok(())
    }

    fn on_accept(&mut self, msg: &[u8]) -> Result<Outcome, ShsError> {
        let step = Step::Msg4;
        let State::AwaitAccept {
            server_eph,
            server_mac,
            secrets,
            sig_a,
        } = &self.state
        else {
            return Err(ShsError::Unexpected {
                step,
                state: "not awaiting msg4",
            });
        };
        if msg.len() != super::MSG4_LEN {
            return Err(ShsError::BadLength {
                step,
                expected: super::MSG4_LEN,
                got: msg.len(),
            });
        }
        let a_long_b = crypto::x25519(&self.keys.curve25519_secret(), server_eph)
            .map_err(|_| ShsError::LowOrderKey { step })?;
        let key = secrets.msg4_key(&self.net, &a_long_b);
        let plain = crypto::secretbox_open(&key, &[0u8; 24], msg).map_err(|_| ShsError::BoxOpen { step })?;
        let sig_b: [u8; 64] = plain
            .as_slice()
            .try_into()
            .map_err(|_| ShsError::BoxOpen { step })?;
        let signed = msg4_signed(&self.net, sig_a, self.keys.public(), &secrets.ab);
        if !crypto::ed25519_verify(&self.server_pub, &signed, &sig_b) {
            return Err(ShsError::BadSignature { step });
        }
        Ok(outcome(
            FeedId(self.server_pub),
            &key,
            self.keys.public(),
            &self.server_pub,
            &self.hello_mac,
            server_mac,
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
                Action::Receive(super::MSG2_LEN)
            }
            State::SendAuth {
                server_eph,
                server_mac,
                secrets,
            } => {
                let sig_a = self
                    .keys
                    .sign(&msg3_signed(&self.net, &self.server_pub, &secrets.ab));
                let mut plain = [0u8; 96];
                plain[..64].copy_from_slice(&sig_a);
                plain[64..].copy_from_slice(self.keys.public());
                let msg3 = crypto::secretbox_seal(&secrets.msg3_key(&self.net), &[0u8; 24], &plain);
                self.state = State::AwaitAccept {
                    server_eph,
                    server_mac,
                    secrets,
                    sig_a,
                };
                Action::Send(msg3)
            }
            s @ State::AwaitAccept { .. } => {
                self.state = s;
                Action::Receive(super::MSG4_LEN)
            }
            State::Done(o) => {
                self.state = State::Done(o.clone());
                Action::Done(o)
            }
            State::Failed => Action::Failed,
        }
    }

    fn receive(&mut self, bytes: &[u8]) -> Result<(), ShsError> {
        match self.state {
            State::AwaitHello => match self.on_hello(bytes) {
                Ok(()) => Ok(()),
                Err(e) => self.fail(e),
            },
            State::AwaitAccept { .. } => match self.on_accept(bytes) {
                Ok(o) => {
                    self.state = State::Done(o);
                    Ok(())
                }
                Err(e) => self.fail(e),
            },
            State::SendHello | State::SendAuth { .. } => {
                let e = ShsError::Unexpected {
                    step: Step::Msg2,
                    state: "has a message to send first",
                };
                self.fail(e)
            }
            State::Done(_) | State::Failed => Err(ShsError::Unexpected {
                step: Step::Msg4,
                state: "finished",
            }),
        }
    }
}
