//! `ssb-harness shs1 server|client EXE`: tests any executable that follows the shs1-testsuite
//! exe protocol (see `ssb_impl::shs1_exe`) with generated peers, the method of shs1-testsuite:
//! per seed, 20 well-behaved peers and 40 faulty ones (eight kinds, five each: the five of
//! shs1-testsuite, then a well-formed msg3/msg4 signed by another key, a hello whose HMAC
//! differs only in its last byte, and a signature by the right key over the wrong data). A
//! well-behaved run must end with the right 112-byte outcome and exit 0; a faulty one with a
//! non-zero exit and no further output. A last test checks that the executable's ephemeral
//! keys never repeat across the well-behaved runs. Every read has a deadline, so a hanging
//! executable fails its test. EXE may carry arguments (split on white space) when no file has
//! that whole name.

use std::io::{Read, Write};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

use rand_chacha::ChaCha20Rng;
use rand_core::{RngCore, SeedableRng};
use ssb_impl::crypto;
use ssb_impl::shs::steps::{hello, msg3_key, msg3_signed, msg4_key, msg4_signed};
use ssb_impl::shs::{Action, Client, Handshake, Outcome, Server};
use ssb_impl::shs1_exe::outcome_bytes;
use ssb_impl::Keypair;

/// Which side the executable under test plays.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Role {
    Server,
    Client,
}

/// How the generated peer misbehaves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fault {
    None,
    /// msg1 (or msg2) is random bytes.
    RandomHello,
    /// msg1 (or msg2) is HMACed with another network key.
    WrongNetworkHello,
    /// msg3 (or msg4) is random bytes.
    RandomAuth,
    /// msg3 (or msg4) is the right plaintext boxed with a random key.
    AuthWrongKey,
    /// msg3 (or msg4) is random plaintext boxed with the right key.
    AuthRandomPlaintext,
    /// msg3 (or msg4) well-formed and boxed with the right key, but signed by another key
    /// (msg3 still names the real client's key): only a signature check refuses it.
    AuthOtherSigner,
    /// msg1 (or msg2) whose HMAC differs from the right one in its last byte only: a MAC
    /// compared on a prefix accepts it.
    HelloLastByte,
    /// msg3 (or msg4) signed by the right key over the wrong data (the text without the
    /// network key).
    AuthWrongData,
}

impl Fault {
    fn describe(&self, role: Role) -> &'static str {
        match (self, role) {
            (Fault::None, _) => "well-behaved peer",
            (Fault::RandomHello, Role::Server) => "random msg1",
            (Fault::RandomHello, Role::Client) => "random msg2",
            (Fault::WrongNetworkHello, Role::Server) => "msg1 HMACed with another network key",
            (Fault::WrongNetworkHello, Role::Client) => "msg2 HMACed with another network key",
            (Fault::RandomAuth, Role::Server) => "random msg3",
            (Fault::RandomAuth, Role::Client) => "random msg4",
            (Fault::AuthWrongKey, Role::Server) => "msg3 boxed with a random key",
            (Fault::AuthWrongKey, Role::Client) => "msg4 boxed with a random key",
            (Fault::AuthRandomPlaintext, Role::Server) => "random plaintext boxed as msg3",
            (Fault::AuthRandomPlaintext, Role::Client) => "random plaintext boxed as msg4",
            (Fault::AuthOtherSigner, Role::Server) => "well-formed msg3 signed by another key",
            (Fault::AuthOtherSigner, Role::Client) => "well-formed msg4 signed by another key",
            (Fault::HelloLastByte, Role::Server) => "msg1 whose HMAC differs in its last byte",
            (Fault::HelloLastByte, Role::Client) => "msg2 whose HMAC differs in its last byte",
            (Fault::AuthWrongData, Role::Server) => "msg3 signed over the wrong data",
            (Fault::AuthWrongData, Role::Client) => "msg4 signed over the wrong data",
        }
    }
}

/// The tests of one run, in order: 20 well-behaved, then five of each fault (the last three
/// kinds come after shs1-testsuite's five, so its test numbers stay as they were).
fn plan() -> Vec<Fault> {
    let mut v = vec![Fault::None; 20];
    for f in [
        Fault::RandomHello,
        Fault::WrongNetworkHello,
        Fault::RandomAuth,
        Fault::AuthWrongKey,
        Fault::AuthRandomPlaintext,
        Fault::AuthOtherSigner,
        Fault::HelloLastByte,
        Fault::AuthWrongData,
    ] {
        v.extend([f; 5]);
    }
    v
}

/// A running executable with a deadline on every read.
struct Exe {
    child: Child,
    stdin: Option<ChildStdin>,
    out: Receiver<Vec<u8>>,
    buf: Vec<u8>,
    deadline: Instant,
}

impl Exe {
    fn start(exe: &str, args: &[String], timeout: Duration) -> Result<Self, String> {
        let (program, extra): (String, Vec<String>) = if std::path::Path::new(exe).exists() {
            (exe.to_string(), vec![])
        } else {
            let mut words = exe.split_whitespace().map(str::to_string);
            (words.next().unwrap_or_default(), words.collect())
        };
        let mut child = Command::new(&program)
            .args(&extra)
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("cannot start {program}: {e}"))?;
        let mut stdout = child.stdout.take().expect("piped");
        let (tx, out) = mpsc::channel();
        std::thread::spawn(move || {
            let mut chunk = [0u8; 4096];
            while let Ok(n) = stdout.read(&mut chunk) {
                if n == 0 || tx.send(chunk[..n].to_vec()).is_err() {
                    break;
                }
            }
        });
        let stdin = child.stdin.take();
        Ok(Exe {
            child,
            stdin,
            out,
            buf: Vec::new(),
            deadline: Instant::now() + timeout,
        })
    }

    fn write(&mut self, bytes: &[u8]) -> Result<(), String> {
        let stdin = self.stdin.as_mut().ok_or("stdin closed")?;
        stdin
            .write_all(bytes)
            .and_then(|_| stdin.flush())
            .map_err(|e| format!("writing to the executable: {e}"))
    }

    fn read(&mut self, n: usize, what: &str) -> Result<Vec<u8>, String> {
        while self.buf.len() < n {
            let left = self.deadline.saturating_duration_since(Instant::now());
            match self.out.recv_timeout(left) {
                Ok(chunk) => self.buf.extend_from_slice(&chunk),
                Err(RecvTimeoutError::Timeout) => return Err(format!("timed out waiting for {what}")),
                Err(RecvTimeoutError::Disconnected) => {
                    return Err(format!(
                        "executable closed its output after {} of {n} bytes of {what}",
                        self.buf.len()
                    ))
                }
            }
        }
        Ok(self.buf.drain(..n).collect())
    }

    /// Closes stdin, waits for the exit, and returns the exit success and any bytes written
    /// after what was read.
    fn finish(mut self) -> Result<(bool, usize), String> {
        self.stdin = None;
        loop {
            if let Some(status) = self.child.try_wait().map_err(|e| e.to_string())? {
                // Collect whatever output is still in flight.
                while let Ok(chunk) = self.out.recv_timeout(Duration::from_millis(200)) {
                    self.buf.extend_from_slice(&chunk);
                }
                return Ok((status.success(), self.buf.len()));
            }
            if Instant::now() > self.deadline {
                let _ = self.child.kill();
                let _ = self.child.wait();
                return Err("executable did not exit in time".into());
            }
            std::thread::sleep(Duration::from_millis(2));
        }
    }
}

impl Drop for Exe {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

fn random<const N: usize>(rng: &mut ChaCha20Rng) -> [u8; N] {
    let mut b = [0u8; N];
    rng.fill_bytes(&mut b);
    b
}

/// A hello whose HMAC is the right one but for its last byte.
fn hello_last_byte(net: &[u8; 32], eph_pk: &[u8; 32]) -> [u8; 64] {
    let mut h = hello(net, eph_pk);
    h[31] ^= 0x01;
    h
}

/// A signature over `signed` without its first 32 bytes (the network key): right key, wrong data.
fn sign_without_network(keys: &Keypair, signed: &[u8]) -> [u8; 64] {
    keys.sign(&signed[32..])
}

fn send(hs: &mut impl Handshake) -> Vec<u8> {
    match hs.next() {
        Action::Send(b) => b,
        other => panic!("our own handshake machine is out of step: {other:?}"),
    }
}

fn check_outcome(got: &[u8], ours: &Outcome) -> Result<(), String> {
    // The executable's encrypt side is our decrypt side and the other way round.
    let mirrored = Outcome {
        remote: ours.remote,
        encrypt_key: ours.decrypt_key,
        encrypt_nonce: ours.decrypt_nonce,
        decrypt_key: ours.encrypt_key,
        decrypt_nonce: ours.encrypt_nonce,
    };
    if got == outcome_bytes(&mirrored).as_slice() {
        Ok(())
    } else {
        Err(format!(
            "outcome differs: got {}, expected {}",
            hex::encode(got),
            hex::encode(outcome_bytes(&mirrored))
        ))
    }
}

fn expect_clean_failure(exe: Exe) -> Result<(), String> {
    match exe.finish()? {
        (false, 0) => Ok(()),
        (true, _) => Err("executable exited 0 after a faulty peer".into()),
        (false, extra) => Err(format!("executable wrote {extra} more bytes after the fault")),
    }
}

/// Tests a server executable: we play the client.
fn test_server(
    exe: &str,
    rng: &mut ChaCha20Rng,
    fault: Fault,
    timeout: Duration,
    ephemerals: &mut Vec<[u8; 32]>,
) -> Result<(), String> {
    let net: [u8; 32] = random(rng);
    let server = Keypair::generate(rng);
    let client = Keypair::generate(rng);
    let eph: [u8; 32] = random(rng);
    let args = [
        hex::encode(net),
        hex::encode(server.libsodium_secret()),
        hex::encode(server.public()),
    ];
    let mut c = Client::with_ephemeral(net, client.clone(), server.id(), eph).map_err(|e| e.to_string())?;
    let mut p = Exe::start(exe, &args, timeout)?;
    let msg1 = send(&mut c);
    match fault {
        Fault::RandomHello => p.write(&random::<64>(rng))?,
        Fault::WrongNetworkHello => p.write(&hello(&random(rng), &crypto::x25519_base(&eph)))?,
        Fault::HelloLastByte => p.write(&hello_last_byte(&net, &crypto::x25519_base(&eph)))?,
        _ => p.write(&msg1)?,
    }
    if matches!(
        fault,
        Fault::RandomHello | Fault::WrongNetworkHello | Fault::HelloLastByte
    ) {
        return expect_clean_failure(p);
    }
    let msg2 = p.read(64, "msg2")?;
    let server_eph: [u8; 32] = msg2[32..].try_into().expect("64");
    if fault == Fault::None {
        ephemerals.push(server_eph);
    }
    let _ = c.next();
    c.receive(&msg2)
        .map_err(|e| format!("executable's msg2 refused: {e}"))?;
    let msg3 = send(&mut c);
    let ab = crypto::x25519(&eph, &server_eph).map_err(|e| e.to_string())?;
    let a_b_long = {
        let curve = crypto::ed25519_pk_to_curve25519(server.public()).map_err(|e| e.to_string())?;
        crypto::x25519(&eph, &curve).map_err(|e| e.to_string())?
    };
    let key3 = msg3_key(&net, &ab, &a_b_long);
    // A msg3 boxed with the right key around `sig` and the real client's key.
    let boxed_msg3 = |sig: [u8; 64]| {
        let plain = [&sig[..], &client.public()[..]].concat();
        crypto::secretbox_seal(&key3, &[0; 24], &plain)
    };
    let signed3 = msg3_signed(&net, server.public(), &ab);
    match fault {
        Fault::AuthOtherSigner => p.write(&boxed_msg3(Keypair::generate(rng).sign(&signed3)))?,
        Fault::AuthWrongData => p.write(&boxed_msg3(sign_without_network(&client, &signed3)))?,
        Fault::RandomAuth => p.write(&random::<112>(rng))?,
        Fault::AuthWrongKey => {
            let plain = crypto::secretbox_open(&key3, &[0; 24], &msg3).map_err(|e| e.to_string())?;
            p.write(&crypto::secretbox_seal(&random(rng), &[0; 24], &plain))?
        }
        Fault::AuthRandomPlaintext => {
            p.write(&crypto::secretbox_seal(&key3, &[0; 24], &random::<96>(rng)))?
        }
        _ => p.write(&msg3)?,
    }
    if fault != Fault::None {
        return expect_clean_failure(p);
    }
    let msg4 = p.read(80, "msg4")?;
    let _ = c.next();
    c.receive(&msg4)
        .map_err(|e| format!("executable's msg4 refused: {e}"))?;
    let Action::Done(ours) = c.next() else {
        return Err("handshake did not finish".into());
    };
    check_outcome(&p.read(112, "the outcome")?, &ours)?;
    match p.finish()? {
        (true, 0) => Ok(()),
        (ok, extra) => Err(format!(
            "after the outcome: exit success {ok}, {extra} extra bytes"
        )),
    }
}

/// Tests a client executable: we play the server.
fn test_client(
    exe: &str,
    rng: &mut ChaCha20Rng,
    fault: Fault,
    timeout: Duration,
    ephemerals: &mut Vec<[u8; 32]>,
) -> Result<(), String> {
    let net: [u8; 32] = random(rng);
    let server = Keypair::generate(rng);
    let eph: [u8; 32] = random(rng);
    let args = [hex::encode(net), hex::encode(server.public())];
    let mut s = Server::with_ephemeral(net, server.clone(), Server::accept_all(), eph);
    let mut p = Exe::start(exe, &args, timeout)?;
    let msg1 = p.read(64, "msg1")?;
    if fault == Fault::None {
        ephemerals.push(msg1[32..].try_into().expect("64"));
    }
    let _ = s.next();
    s.receive(&msg1)
        .map_err(|e| format!("executable's msg1 refused: {e}"))?;
    let msg2 = send(&mut s);
    match fault {
        Fault::RandomHello => p.write(&random::<64>(rng))?,
        Fault::WrongNetworkHello => p.write(&hello(&random(rng), &crypto::x25519_base(&eph)))?,
        Fault::HelloLastByte => p.write(&hello_last_byte(&net, &crypto::x25519_base(&eph)))?,
        _ => p.write(&msg2)?,
    }
    if matches!(
        fault,
        Fault::RandomHello | Fault::WrongNetworkHello | Fault::HelloLastByte
    ) {
        return expect_clean_failure(p);
    }
    let msg3 = p.read(112, "msg3")?;
    let _ = s.next();
    s.receive(&msg3)
        .map_err(|e| format!("executable's msg3 refused: {e}"))?;
    let msg4 = send(&mut s);
    let Action::Done(ours) = s.next() else {
        return Err("handshake did not finish".into());
    };
    let key4 = {
        let client_eph: [u8; 32] = msg1[32..].try_into().expect("64");
        let ab = crypto::x25519(&eph, &client_eph).map_err(|e| e.to_string())?;
        let a_b_long = crypto::x25519(&server.curve25519_secret(), &client_eph).map_err(|e| e.to_string())?;
        let client_curve =
            crypto::ed25519_pk_to_curve25519(ours.remote.as_bytes()).map_err(|e| e.to_string())?;
        let a_long_b = crypto::x25519(&eph, &client_curve).map_err(|e| e.to_string())?;
        let key4 = msg4_key(&net, &ab, &a_b_long, &a_long_b);
        let plain3 = crypto::secretbox_open(&msg3_key(&net, &ab, &a_b_long), &[0; 24], &msg3)
            .map_err(|_| "msg3 does not open under our own key".to_string())?;
        let sig_a: [u8; 64] = plain3[..64].try_into().expect("96 bytes");
        (key4, msg4_signed(&net, &sig_a, ours.remote.as_bytes(), &ab))
    };
    let (key4, signed4) = key4;
    match fault {
        Fault::AuthOtherSigner => {
            let sig = Keypair::generate(rng).sign(&signed4);
            p.write(&crypto::secretbox_seal(&key4, &[0; 24], &sig))?
        }
        Fault::AuthWrongData => {
            let sig = sign_without_network(&server, &signed4);
            p.write(&crypto::secretbox_seal(&key4, &[0; 24], &sig))?
        }
        Fault::RandomAuth => p.write(&random::<80>(rng))?,
        Fault::AuthWrongKey => {
            let plain = crypto::secretbox_open(&key4, &[0; 24], &msg4).map_err(|e| e.to_string())?;
            p.write(&crypto::secretbox_seal(&random(rng), &[0; 24], &plain))?
        }
        Fault::AuthRandomPlaintext => {
            p.write(&crypto::secretbox_seal(&key4, &[0; 24], &random::<64>(rng)))?
        }
        _ => p.write(&msg4)?,
    }
    if fault != Fault::None {
        return expect_clean_failure(p);
    }
    check_outcome(&p.read(112, "the outcome")?, &ours)?;
    match p.finish()? {
        (true, 0) => Ok(()),
        (ok, extra) => Err(format!(
            "after the outcome: exit success {ok}, {extra} extra bytes"
        )),
    }
}

/// One test's result.
pub struct TestResult {
    pub number: usize,
    pub description: &'static str,
    pub error: Option<String>,
}

/// The number of tests of one run: the handshakes of [`plan`] and the ephemeral-key check.
pub const TESTS: usize = 20 + 8 * 5 + 1;

/// Runs the tests of one seed against `exe` in `role`.
pub fn run(exe: &str, role: Role, seed: u64, timeout: Duration) -> Vec<TestResult> {
    let mut rng = ChaCha20Rng::seed_from_u64(seed);
    let mut ephemerals = Vec::new();
    let mut results: Vec<TestResult> = plan()
        .into_iter()
        .enumerate()
        .map(|(i, fault)| {
            let r = match role {
                Role::Server => test_server(exe, &mut rng, fault, timeout, &mut ephemerals),
                Role::Client => test_client(exe, &mut rng, fault, timeout, &mut ephemerals),
            };
            TestResult {
                number: i + 1,
                description: fault.describe(role),
                error: r.err(),
            }
        })
        .collect();
    results.push(TestResult {
        number: results.len() + 1,
        description: "ephemeral keys never repeat across the well-behaved runs",
        error: repeated(&ephemerals),
    });
    results
}

/// Why a list of ephemeral keys is not all distinct (or too short to tell), if it is not.
fn repeated(keys: &[[u8; 32]]) -> Option<String> {
    if keys.len() < 2 {
        return Some(format!(
            "only {} ephemeral key(s) seen: the well-behaved runs failed",
            keys.len()
        ));
    }
    let distinct: std::collections::BTreeSet<&[u8; 32]> = keys.iter().collect();
    (distinct.len() < keys.len()).then(|| {
        format!(
            "{} ephemeral keys over {} well-behaved runs: key material is reused across sessions",
            distinct.len(),
            keys.len()
        )
    })
}
