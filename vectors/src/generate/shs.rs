//! Vectors for the secret handshake (`vectors/shs.json`): honest handshakes in both roles,
//! and each message corrupted in each of its regions, wrong keys, replays and refusals.

use rand_chacha::ChaCha20Rng;
use rand_core::{RngCore, SeedableRng};
use serde_json::{json, Value};
use ssb_impl::crypto;
use ssb_impl::shs::steps::{msg3_key, msg3_signed, msg4_key, msg4_signed};
use ssb_impl::shs::{Action, Client, Handshake, Server, MAIN_NETWORK_KEY};
use ssb_impl::Keypair;

use super::{h, Builder, Intent};
use crate::file::VectorFile;

const NOTES: &[(&str, &str)] = &[
    (
        "client_role",
        "the adapter plays the client (op shs.client); incoming = [msg2, msg4]",
    ),
    (
        "server_role",
        "the adapter plays the server (op shs.server); incoming = [msg1, msg3]",
    ),
    (
        "valid",
        "an honest handshake: every byte sent and every derived key must match",
    ),
    ("main_network", "network key is the main SSB network's caps.shs"),
    (
        "other_network",
        "network key is a random 32-byte key (private network)",
    ),
    ("wrong_network_key", "the peer used a different network key"),
    (
        "wrong_server_key",
        "the client believes the server has a different long-term key than it has",
    ),
    ("corrupt_msg1", "one bit of msg1 (client hello) is flipped"),
    ("corrupt_msg2", "one bit of msg2 (server hello) is flipped"),
    ("corrupt_msg3", "msg3 (client authenticate) is damaged or forged"),
    ("corrupt_msg4", "msg4 (server accept) is damaged or forged"),
    ("region_hmac", "the flipped bit is in the 32-byte HMAC of a hello"),
    (
        "region_key",
        "the flipped bit is in the 32-byte ephemeral key of a hello",
    ),
    (
        "region_box_mac",
        "the flipped bit is in the 16-byte secretbox authenticator",
    ),
    (
        "region_box_signature",
        "the flipped bit is in the ciphertext over the signature",
    ),
    (
        "region_box_key",
        "the flipped bit is in the ciphertext over the client's long-term key",
    ),
    (
        "region_signature",
        "a correctly boxed message whose signature is wrong",
    ),
    (
        "region_inner_key",
        "a correctly boxed msg3 naming another client key than the one that signed",
    ),
    (
        "non_canonical_s",
        "a correctly boxed message whose signature has S + L in place of S (libsodium refuses)",
    ),
    ("wrong_length", "a message one byte short"),
    (
        "replayed_msg3",
        "msg3 recorded from an earlier session between the same two keys",
    ),
    (
        "client_refused",
        "the server's authorisation hook refuses the (valid) client",
    ),
    (
        "low_order_ephemeral",
        "a hello with a valid HMAC over an ephemeral key of small order (all-zero X25519 result)",
    ),
];

/// The keys of one handshake.
struct Parties {
    net: [u8; 32],
    client: Keypair,
    client_eph: [u8; 32],
    server: Keypair,
    server_eph: [u8; 32],
}

impl Parties {
    fn draw(rng: &mut ChaCha20Rng, net: [u8; 32]) -> Self {
        Parties {
            net,
            client: Keypair::generate(rng),
            client_eph: bytes32(rng),
            server: Keypair::generate(rng),
            server_eph: bytes32(rng),
        }
    }

    fn client_args(&self, incoming: &[&[u8]]) -> Value {
        self.client_args_for(self.server.public(), incoming)
    }

    fn client_args_for(&self, server_public: &[u8; 32], incoming: &[&[u8]]) -> Value {
        json!({
            "network_key": h(&self.net),
            "client_seed": h(self.client.seed()),
            "client_ephemeral": h(&self.client_eph),
            "server_public": h(server_public),
            "incoming": incoming.iter().map(|m| h(m)).collect::<Vec<_>>(),
        })
    }

    fn server_args(&self, incoming: &[&[u8]], accept_client: bool) -> Value {
        json!({
            "network_key": h(&self.net),
            "server_seed": h(self.server.seed()),
            "server_ephemeral": h(&self.server_eph),
            "accept_client": accept_client,
            "incoming": incoming.iter().map(|m| h(m)).collect::<Vec<_>>(),
        })
    }

    /// The four messages of the honest handshake.
    fn transcript(&self) -> [Vec<u8>; 4] {
        self.transcript_with(self.net, self.net, *self.server.public())
    }

    /// The messages as far as the two sides get, with the given views of the world; messages
    /// a side never gets to send are empty.
    fn transcript_with(
        &self,
        client_net: [u8; 32],
        server_net: [u8; 32],
        server_seen: [u8; 32],
    ) -> [Vec<u8>; 4] {
        let mut c = Client::with_ephemeral(
            client_net,
            self.client.clone(),
            ssb_impl::FeedId(server_seen),
            self.client_eph,
        )
        .expect("generated keys are valid");
        let mut s = Server::with_ephemeral(
            server_net,
            self.server.clone(),
            Server::accept_all(),
            self.server_eph,
        );
        let mut msgs: [Vec<u8>; 4] = Default::default();
        msgs[0] = send(&mut c);
        let _ = s.next();
        if s.receive(&msgs[0]).is_err() {
            return msgs;
        }
        msgs[1] = send(&mut s);
        let _ = c.next();
        if c.receive(&msgs[1]).is_err() {
            return msgs;
        }
        msgs[2] = send(&mut c);
        let _ = s.next();
        if s.receive(&msgs[2]).is_err() {
            return msgs;
        }
        msgs[3] = send(&mut s);
        msgs
    }

    /// The client's view of the secrets: (ab, aB, Ab).
    fn secrets(&self) -> ([u8; 32], [u8; 32], [u8; 32]) {
        let server_eph_pk = crypto::x25519_base(&self.server_eph);
        let ab = crypto::x25519(&self.client_eph, &server_eph_pk).expect("random keys");
        let server_curve = crypto::ed25519_pk_to_curve25519(self.server.public()).expect("valid key");
        let a_b_long = crypto::x25519(&self.client_eph, &server_curve).expect("random keys");
        let a_long_b = crypto::x25519(&self.client.curve25519_secret(), &server_eph_pk).expect("random keys");
        (ab, a_b_long, a_long_b)
    }

    /// msg3 boxed correctly around the given signature and client key.
    fn forge_msg3(&self, sig: &[u8; 64], client_pub: &[u8; 32]) -> Vec<u8> {
        let (ab, a_b_long, _) = self.secrets();
        let plain = [&sig[..], client_pub].concat();
        crypto::secretbox_seal(&msg3_key(&self.net, &ab, &a_b_long), &[0; 24], &plain)
    }

    /// The client's honest msg3 signature.
    fn sig_a(&self) -> [u8; 64] {
        let (ab, _, _) = self.secrets();
        self.client
            .sign(&msg3_signed(&self.net, self.server.public(), &ab))
    }

    /// msg4 boxed correctly around the given signature.
    fn forge_msg4(&self, sig: &[u8; 64]) -> Vec<u8> {
        let (ab, a_b_long, a_long_b) = self.secrets();
        crypto::secretbox_seal(&msg4_key(&self.net, &ab, &a_b_long, &a_long_b), &[0; 24], sig)
    }

    /// The server's msg4 signature made with `signer`.
    fn sig_b(&self, signer: &Keypair) -> [u8; 64] {
        let (ab, _, _) = self.secrets();
        signer.sign(&msg4_signed(&self.net, &self.sig_a(), self.client.public(), &ab))
    }
}

fn send(hs: &mut impl Handshake) -> Vec<u8> {
    match hs.next() {
        Action::Send(b) => b,
        other => panic!("generator bug: expected a message to send, got {other:?}"),
    }
}

fn bytes32(rng: &mut ChaCha20Rng) -> [u8; 32] {
    let mut b = [0u8; 32];
    rng.fill_bytes(&mut b);
    b
}

/// A copy of `msg` with one bit flipped at a position drawn from `range`.
fn flip(rng: &mut ChaCha20Rng, msg: &[u8], range: std::ops::Range<usize>) -> Vec<u8> {
    let mut out = msg.to_vec();
    let i = range.start + (rng.next_u32() as usize) % range.len();
    out[i] ^= 1 << (rng.next_u32() % 8);
    out
}

/// S + L: the same signature with a non-canonical S (S < L < 2^253, so no overflow).
fn non_canonical_s(sig: &[u8; 64]) -> [u8; 64] {
    const L: [u8; 32] = [
        0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde, 0x14, 0, 0,
        0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10,
    ];
    let mut out = *sig;
    let mut carry = 0u16;
    for i in 0..32 {
        let v = sig[32 + i] as u16 + L[i] as u16 + carry;
        out[32 + i] = v as u8;
        carry = v >> 8;
    }
    out
}

/// A hello with a valid HMAC over a small-order ephemeral key (X25519 gives all zeros).
fn low_order_hello(net: &[u8; 32]) -> Vec<u8> {
    ssb_impl::shs::steps::hello(net, &[0u8; 32]).to_vec()
}

pub fn generate(seed: u64) -> VectorFile {
    let mut rng = ChaCha20Rng::seed_from_u64(seed ^ 0x5348_5331); // "SHS1"
    let mut b = Builder::new(
        "shs",
        "Secret handshake v1: each role against a recorded peer; see conformance/ADAPTER.md (suite shs)",
        NOTES,
    );

    // Honest handshakes, both roles, main and private networks.
    for (i, net_flag) in [
        "main_network",
        "main_network",
        "main_network",
        "other_network",
        "other_network",
    ]
    .iter()
    .enumerate()
    {
        let net = if *net_flag == "main_network" {
            MAIN_NETWORK_KEY
        } else {
            bytes32(&mut rng)
        };
        let p = Parties::draw(&mut rng, net);
        let m = p.transcript();
        b.add(
            &format!("honest handshake {}, server role", i + 1),
            &["server_role", "valid", net_flag],
            "shs.server",
            p.server_args(&[&m[0], &m[2]], true),
            Intent::Accept,
        );
        b.add(
            &format!("honest handshake {}, client role", i + 1),
            &["client_role", "valid", net_flag],
            "shs.client",
            p.client_args(&[&m[1], &m[3]]),
            Intent::Accept,
        );
    }

    // Wrong network key.
    let p = Parties::draw(&mut rng, MAIN_NETWORK_KEY);
    let other = bytes32(&mut rng);
    let m_client_other = p.transcript_with(other, MAIN_NETWORK_KEY, *p.server.public());
    b.add(
        "client hello made with another network key",
        &["server_role", "wrong_network_key", "corrupt_msg1"],
        "shs.server",
        p.server_args(&[&m_client_other[0], &[0u8; 112]], true),
        Intent::Reject("msg1_rejected"),
    );
    let m_server_other = p.transcript_with(MAIN_NETWORK_KEY, MAIN_NETWORK_KEY, *p.server.public());
    let other_hello = ssb_impl::shs::steps::hello(&other, &crypto::x25519_base(&p.server_eph));
    b.add(
        "server hello made with another network key",
        &["client_role", "wrong_network_key", "corrupt_msg2"],
        "shs.client",
        p.client_args(&[&other_hello, &m_server_other[3]]),
        Intent::Reject("msg2_rejected"),
    );

    // Wrong server key: the client's msg3 cannot be opened by the real server; a msg4 signed by
    // another key is refused by the client.
    let p = Parties::draw(&mut rng, MAIN_NETWORK_KEY);
    let impostor = Keypair::generate(&mut rng);
    let m = p.transcript_with(MAIN_NETWORK_KEY, MAIN_NETWORK_KEY, *impostor.public());
    b.add(
        "client authenticates to a server key the server does not have",
        &["server_role", "wrong_server_key", "corrupt_msg3"],
        "shs.server",
        p.server_args(&[&m[0], &m[2]], true),
        Intent::Reject("msg3_rejected"),
    );
    let honest = p.transcript();
    b.add(
        "msg4 signed by a key other than the server key the client expects",
        &[
            "client_role",
            "wrong_server_key",
            "corrupt_msg4",
            "region_signature",
        ],
        "shs.client",
        p.client_args(&[&honest[1], &p.forge_msg4(&p.sig_b(&impostor))]),
        Intent::Reject("msg4_rejected"),
    );

    // Each hello corrupted in each region.
    for (region, range) in [("region_hmac", 0..32), ("region_key", 32..64)] {
        for _ in 0..2 {
            let p = Parties::draw(&mut rng, MAIN_NETWORK_KEY);
            let m = p.transcript();
            b.add(
                &format!("msg1 with a bit flipped in {}", &region[7..]),
                &["server_role", "corrupt_msg1", region],
                "shs.server",
                p.server_args(&[&flip(&mut rng, &m[0], range.clone()), &m[2]], true),
                Intent::Reject("msg1_rejected"),
            );
            b.add(
                &format!("msg2 with a bit flipped in {}", &region[7..]),
                &["client_role", "corrupt_msg2", region],
                "shs.client",
                p.client_args(&[&flip(&mut rng, &m[1], range.clone()), &m[3]]),
                Intent::Reject("msg2_rejected"),
            );
        }
    }

    // msg3 corrupted in each region of its box, and forged inside a valid box.
    for (region, range) in [
        ("region_box_mac", 0..16),
        ("region_box_signature", 16..80),
        ("region_box_key", 80..112),
    ] {
        for _ in 0..2 {
            let p = Parties::draw(&mut rng, MAIN_NETWORK_KEY);
            let m = p.transcript();
            b.add(
                &format!("msg3 with a bit flipped in {}", &region[7..]),
                &["server_role", "corrupt_msg3", region],
                "shs.server",
                p.server_args(&[&m[0], &flip(&mut rng, &m[2], range.clone())], true),
                Intent::Reject("msg3_rejected"),
            );
        }
    }
    let p = Parties::draw(&mut rng, MAIN_NETWORK_KEY);
    let m = p.transcript();
    let bad_sig: [u8; 64] = flip(&mut rng, &p.sig_a(), 0..64).try_into().expect("64");
    b.add(
        "msg3 boxed correctly around a signature with one bit flipped",
        &["server_role", "corrupt_msg3", "region_signature"],
        "shs.server",
        p.server_args(&[&m[0], &p.forge_msg3(&bad_sig, p.client.public())], true),
        Intent::Reject("msg3_rejected"),
    );
    let stranger = Keypair::generate(&mut rng);
    b.add(
        "msg3 boxed correctly, signed by the client but naming another client key",
        &["server_role", "corrupt_msg3", "region_inner_key"],
        "shs.server",
        p.server_args(&[&m[0], &p.forge_msg3(&p.sig_a(), stranger.public())], true),
        Intent::Reject("msg3_rejected"),
    );
    b.add(
        "msg3 boxed correctly around the client's signature with S + L",
        &["server_role", "corrupt_msg3", "non_canonical_s"],
        "shs.server",
        p.server_args(
            &[
                &m[0],
                &p.forge_msg3(&non_canonical_s(&p.sig_a()), p.client.public()),
            ],
            true,
        ),
        Intent::Reject("msg3_rejected"),
    );
    b.add(
        "msg3 one byte short",
        &["server_role", "corrupt_msg3", "wrong_length"],
        "shs.server",
        p.server_args(&[&m[0], &m[2][..111]], true),
        Intent::Reject("msg3_rejected"),
    );

    // msg4 corrupted in each region of its box, and forged inside a valid box.
    for (region, range) in [("region_box_mac", 0..16), ("region_box_signature", 16..80)] {
        for _ in 0..2 {
            let p = Parties::draw(&mut rng, MAIN_NETWORK_KEY);
            let m = p.transcript();
            b.add(
                &format!("msg4 with a bit flipped in {}", &region[7..]),
                &["client_role", "corrupt_msg4", region],
                "shs.client",
                p.client_args(&[&m[1], &flip(&mut rng, &m[3], range.clone())]),
                Intent::Reject("msg4_rejected"),
            );
        }
    }
    let p = Parties::draw(&mut rng, MAIN_NETWORK_KEY);
    let m = p.transcript();
    let bad_sig: [u8; 64] = flip(&mut rng, &p.sig_b(&p.server), 0..64).try_into().expect("64");
    b.add(
        "msg4 boxed correctly around a signature with one bit flipped",
        &["client_role", "corrupt_msg4", "region_signature"],
        "shs.client",
        p.client_args(&[&m[1], &p.forge_msg4(&bad_sig)]),
        Intent::Reject("msg4_rejected"),
    );
    b.add(
        "msg4 boxed correctly around the server's signature with S + L",
        &["client_role", "corrupt_msg4", "non_canonical_s"],
        "shs.client",
        p.client_args(&[&m[1], &p.forge_msg4(&non_canonical_s(&p.sig_b(&p.server)))]),
        Intent::Reject("msg4_rejected"),
    );
    b.add(
        "msg4 one byte short",
        &["client_role", "corrupt_msg4", "wrong_length"],
        "shs.client",
        p.client_args(&[&m[1], &m[3][..79]]),
        Intent::Reject("msg4_rejected"),
    );

    // A msg3 replayed from an earlier session of the same two keys.
    let p = Parties::draw(&mut rng, MAIN_NETWORK_KEY);
    let earlier = p.transcript();
    let later = Parties {
        client_eph: bytes32(&mut rng),
        server_eph: bytes32(&mut rng),
        ..p
    };
    let now = later.transcript();
    b.add(
        "msg3 recorded from an earlier session, replayed after a fresh msg1",
        &["server_role", "corrupt_msg3", "replayed_msg3"],
        "shs.server",
        later.server_args(&[&now[0], &earlier[2]], true),
        Intent::Reject("msg3_rejected"),
    );

    // The server refuses a valid client.
    let p = Parties::draw(&mut rng, MAIN_NETWORK_KEY);
    let m = p.transcript();
    b.add(
        "valid client refused by the server's authorisation hook",
        &["server_role", "client_refused"],
        "shs.server",
        p.server_args(&[&m[0], &m[2]], false),
        Intent::Reject("client_refused"),
    );

    // Small-order ephemeral keys behind a valid HMAC.
    let p = Parties::draw(&mut rng, MAIN_NETWORK_KEY);
    let m = p.transcript();
    b.add(
        "client hello carrying the all-zero ephemeral key with a valid HMAC",
        &["server_role", "corrupt_msg1", "low_order_ephemeral"],
        "shs.server",
        p.server_args(&[&low_order_hello(&p.net), &m[2]], true),
        Intent::Reject("msg1_rejected"),
    );
    b.add(
        "server hello carrying the all-zero ephemeral key with a valid HMAC",
        &["client_role", "corrupt_msg2", "low_order_ephemeral"],
        "shs.client",
        p.client_args(&[&low_order_hello(&p.net), &m[3]]),
        Intent::Reject("msg2_rejected"),
    );
    b.finish()
}
