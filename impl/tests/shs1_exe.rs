//! The shs1-testsuite executable protocol (`ssb_impl::shs1_exe`): `run_server` and `run_client`
//! in-process over a Unix socket pair against a peer built from our sans-IO `Client`/`Server`
//! (the 112-byte outcome mirrors the peer's keys; a corrupted peer message makes `run_*` fail
//! without writing anything more), and the real `ssb-shs1-server` / `ssb-shs1-client` binaries
//! once with a well-behaved and once with a faulty peer.

use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::process::{Child, ChildStdin, ChildStdout, Command, ExitStatus, Stdio};
use std::sync::{mpsc, Arc, Mutex};
use std::time::Duration;

use rand::SeedableRng;
use rand_chacha::ChaCha20Rng;
use ssb_impl::shs::{Action, Client, Handshake, Outcome, Server, MAIN_NETWORK_KEY};
use ssb_impl::shs1_exe::{outcome_bytes, run_client, run_server};
use ssb_impl::Keypair;

/// Guard against hangs only: no test asserts anything about time.
const LIMIT: Duration = Duration::from_secs(30);

fn server_keys() -> Keypair {
    Keypair::from_seed([0x42; 32])
}

fn server_args() -> Vec<String> {
    let k = server_keys();
    vec![
        hex::encode(MAIN_NETWORK_KEY),
        hex::encode(k.libsodium_secret()),
        hex::encode(k.public()),
    ]
}

fn client_args() -> Vec<String> {
    vec![hex::encode(MAIN_NETWORK_KEY), hex::encode(server_keys().public())]
}

/// What the peer did.
#[derive(Debug)]
enum PeerEnd {
    /// The handshake finished; the peer's outcome.
    Done(Outcome),
    /// The peer sent its corrupted message and stopped.
    SentCorrupt,
    /// The peer's machine refused what the program sent (shown in failure messages).
    Refused(#[allow(dead_code)] String),
}

/// Drives our sans-IO machine as the program's peer. The peer's `corrupt`-th message (0 = its
/// first) has one bit flipped, after which the peer stops.
fn drive_peer<H: Handshake>(
    hs: &mut H,
    r: &mut impl Read,
    w: &mut impl Write,
    corrupt: Option<usize>,
) -> PeerEnd {
    let mut sent = 0;
    loop {
        match hs.next() {
            Action::Send(mut b) => {
                let bad = corrupt == Some(sent);
                if bad {
                    b[40] ^= 0x04;
                }
                w.write_all(&b).unwrap();
                w.flush().unwrap();
                sent += 1;
                if bad {
                    return PeerEnd::SentCorrupt;
                }
            }
            Action::Receive(n) => {
                let mut buf = vec![0u8; n];
                if let Err(e) = r.read_exact(&mut buf) {
                    return PeerEnd::Refused(format!("read: {e}"));
                }
                if let Err(e) = hs.receive(&buf) {
                    return PeerEnd::Refused(e.to_string());
                }
            }
            Action::Done(o) => return PeerEnd::Done(o),
            Action::Failed => return PeerEnd::Refused("failed".into()),
        }
    }
}

/// The bytes the program's outcome must be, given the peer's outcome (mirrored directions).
fn mirrored(peer: &Outcome) -> Vec<u8> {
    [
        &peer.decrypt_key[..],
        &peer.decrypt_nonce,
        &peer.encrypt_key,
        &peer.encrypt_nonce,
    ]
    .concat()
}

fn socket_pair() -> (UnixStream, UnixStream) {
    let (a, b) = UnixStream::pair().unwrap();
    for s in [&a, &b] {
        s.set_read_timeout(Some(LIMIT)).unwrap();
        s.set_write_timeout(Some(LIMIT)).unwrap();
    }
    (a, b)
}

#[derive(Clone, Copy)]
enum Role {
    Server,
    Client,
}

enum PeerKind {
    Client(Client),
    Server(Server),
}

fn peer_client(seed: u64) -> PeerKind {
    let mut rng = ChaCha20Rng::seed_from_u64(seed);
    PeerKind::Client(
        Client::new(
            MAIN_NETWORK_KEY,
            Keypair::from_seed([0x11; 32]),
            server_keys().id(),
            &mut rng,
        )
        .unwrap(),
    )
}

fn peer_server(seed: u64) -> PeerKind {
    let mut rng = ChaCha20Rng::seed_from_u64(seed);
    PeerKind::Server(Server::new(
        MAIN_NETWORK_KEY,
        server_keys(),
        Server::accept_all(),
        &mut rng,
    ))
}

fn drive(peer: &mut PeerKind, r: &mut impl Read, w: &mut impl Write, corrupt: Option<usize>) -> PeerEnd {
    match peer {
        PeerKind::Client(c) => drive_peer(c, r, w, corrupt),
        PeerKind::Server(s) => drive_peer(s, r, w, corrupt),
    }
}

/// Runs `run_server` or `run_client` on one end of a socket pair in a thread and our peer (the
/// other role) on the other end. Returns the program's result, the peer's end, and every byte
/// the program wrote after the peer stopped reading.
fn in_process(role: Role, corrupt: Option<usize>) -> (Result<(), String>, PeerEnd, Vec<u8>) {
    let (mine, theirs) = socket_pair();
    let program = std::thread::spawn(move || {
        let mut rng = ChaCha20Rng::seed_from_u64(7);
        let (mut r, mut w) = (&theirs, &theirs);
        match role {
            Role::Server => run_server(&server_args(), &mut rng, &mut r, &mut w),
            Role::Client => run_client(&client_args(), &mut rng, &mut r, &mut w),
        }
        // `theirs` drops here, so the peer reads end of stream after whatever was written.
    });
    let mut peer = match role {
        Role::Server => peer_client(8),
        Role::Client => peer_server(8),
    };
    let end = drive(&mut peer, &mut &mine, &mut &mine, corrupt);
    let result = program.join().unwrap();
    let mut rest = Vec::new();
    (&mine).read_to_end(&mut rest).unwrap();
    (result, end, rest)
}

#[test]
fn run_server_outcome_mirrors_the_client() {
    let (result, end, rest) = in_process(Role::Server, None);
    assert_eq!(result, Ok(()));
    let PeerEnd::Done(client_outcome) = end else {
        panic!("peer: {end:?}")
    };
    assert_eq!(client_outcome.remote, server_keys().id());
    assert_eq!(rest.len(), 112);
    // Layout: encrypt_key ‖ encrypt_nonce ‖ decrypt_key ‖ decrypt_nonce of the server, which are
    // the client's decrypt and encrypt parameters.
    assert_eq!(&rest[..32], &client_outcome.decrypt_key);
    assert_eq!(&rest[32..56], &client_outcome.decrypt_nonce);
    assert_eq!(&rest[56..88], &client_outcome.encrypt_key);
    assert_eq!(&rest[88..], &client_outcome.encrypt_nonce);
    assert_eq!(rest, mirrored(&client_outcome));
}

#[test]
fn run_client_outcome_mirrors_the_server() {
    let (result, end, rest) = in_process(Role::Client, None);
    assert_eq!(result, Ok(()));
    let PeerEnd::Done(server_outcome) = end else {
        panic!("peer: {end:?}")
    };
    // run_client's long-term key is fresh from its RNG: the server saw some client, not itself.
    assert_ne!(server_outcome.remote, server_keys().id());
    assert_eq!(rest, mirrored(&server_outcome));
    assert_eq!(rest.len(), 112);
}

#[test]
fn run_server_stops_silently_on_a_corrupt_msg1() {
    let (result, end, rest) = in_process(Role::Server, Some(0));
    assert!(matches!(end, PeerEnd::SentCorrupt), "peer: {end:?}");
    let err = result.unwrap_err();
    assert!(err.contains("msg1"), "{err}");
    assert!(
        rest.is_empty(),
        "server wrote {} bytes after a bad msg1",
        rest.len()
    );
}

#[test]
fn run_server_stops_silently_on_a_corrupt_msg3() {
    let (result, end, rest) = in_process(Role::Server, Some(1));
    assert!(matches!(end, PeerEnd::SentCorrupt), "peer: {end:?}");
    let err = result.unwrap_err();
    assert!(err.contains("msg3"), "{err}");
    // msg2 was read by the peer; nothing may follow it.
    assert!(
        rest.is_empty(),
        "server wrote {} bytes after a bad msg3",
        rest.len()
    );
}

#[test]
fn run_client_stops_silently_on_a_corrupt_msg2() {
    let (result, end, rest) = in_process(Role::Client, Some(0));
    assert!(matches!(end, PeerEnd::SentCorrupt), "peer: {end:?}");
    let err = result.unwrap_err();
    assert!(err.contains("msg2"), "{err}");
    assert!(
        rest.is_empty(),
        "client wrote {} bytes after a bad msg2",
        rest.len()
    );
}

#[test]
fn run_client_stops_silently_on_a_corrupt_msg4() {
    let (result, end, rest) = in_process(Role::Client, Some(1));
    assert!(matches!(end, PeerEnd::SentCorrupt), "peer: {end:?}");
    let err = result.unwrap_err();
    assert!(err.contains("msg4"), "{err}");
    assert!(
        rest.is_empty(),
        "client wrote {} bytes after a bad msg4",
        rest.len()
    );
}

#[test]
fn bad_arguments_fail_before_any_io() {
    let mut rng = ChaCha20Rng::seed_from_u64(9);
    let other = Keypair::from_seed([0x43; 32]);
    let mismatched = vec![
        hex::encode(MAIN_NETWORK_KEY),
        hex::encode(server_keys().libsodium_secret()),
        hex::encode(other.public()),
    ];
    let cases: Vec<(bool, Vec<String>)> = vec![
        (true, vec![]),
        (true, mismatched),
        (true, vec!["zz".into(), "00".into(), "00".into()]),
        (false, vec![hex::encode(MAIN_NETWORK_KEY)]),
        (
            false,
            vec![hex::encode([1u8; 31]), hex::encode(server_keys().public())],
        ),
        // A small-order "server key" cannot be converted for key exchange.
        (false, vec![hex::encode(MAIN_NETWORK_KEY), hex::encode([0u8; 32])]),
    ];
    for (server, args) in cases {
        let mut input: &[u8] = &[0u8; 200];
        let mut out = Vec::new();
        let r = if server {
            run_server(&args, &mut rng, &mut input, &mut out)
        } else {
            run_client(&args, &mut rng, &mut input, &mut out)
        };
        assert!(r.is_err(), "{args:?} accepted");
        assert!(out.is_empty(), "{args:?} wrote {} bytes", out.len());
        assert_eq!(input.len(), 200, "{args:?} read its input");
    }
}

#[test]
fn outcome_bytes_layout() {
    let o = Outcome {
        remote: server_keys().id(),
        encrypt_key: [1; 32],
        encrypt_nonce: [2; 24],
        decrypt_key: [3; 32],
        decrypt_nonce: [4; 24],
    };
    let b = outcome_bytes(&o);
    let want: Vec<u8> = [vec![1u8; 32], vec![2; 24], vec![3; 32], vec![4; 24]].concat();
    assert_eq!(b, want);
}

// ---- the real binaries ---------------------------------------------------------------------------

/// A spawned binary with its pipes, killed by a watchdog if the test stalls.
struct Spawned {
    stdin: Option<ChildStdin>,
    stdout: ChildStdout,
    child: Arc<Mutex<Child>>,
    done: mpsc::Sender<()>,
}

fn spawn(exe: &str, args: &[String]) -> Spawned {
    let mut child = Command::new(exe)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdin = child.stdin.take();
    let stdout = child.stdout.take().unwrap();
    let child = Arc::new(Mutex::new(child));
    let (done, rx) = mpsc::channel::<()>();
    let watched = Arc::clone(&child);
    std::thread::spawn(move || {
        if rx.recv_timeout(LIMIT).is_err() {
            let _ = watched.lock().unwrap().kill();
        }
    });
    Spawned {
        stdin,
        stdout,
        child,
        done,
    }
}

impl Spawned {
    /// Closes stdin, reads stdout to its end, and waits for the exit status.
    fn finish(mut self) -> (Vec<u8>, ExitStatus) {
        drop(self.stdin.take());
        let mut rest = Vec::new();
        self.stdout.read_to_end(&mut rest).unwrap();
        let _ = self.done.send(());
        let status = self.child.lock().unwrap().wait().unwrap();
        (rest, status)
    }
}

fn binary_session(
    exe: &str,
    args: &[String],
    mut peer: PeerKind,
    corrupt: Option<usize>,
) -> (PeerEnd, Vec<u8>, ExitStatus) {
    let mut p = spawn(exe, args);
    let end = drive(&mut peer, &mut p.stdout, p.stdin.as_mut().unwrap(), corrupt);
    let (rest, status) = p.finish();
    (end, rest, status)
}

#[test]
fn server_binary_with_good_and_faulty_clients() {
    let exe = env!("CARGO_BIN_EXE_ssb-shs1-server");
    let (end, rest, status) = binary_session(exe, &server_args(), peer_client(10), None);
    let PeerEnd::Done(o) = end else {
        panic!("peer: {end:?}")
    };
    assert!(status.success(), "{status}");
    assert_eq!(rest, mirrored(&o));

    let (end, rest, status) = binary_session(exe, &server_args(), peer_client(11), Some(1));
    assert!(matches!(end, PeerEnd::SentCorrupt), "peer: {end:?}");
    assert!(!status.success(), "{status}");
    assert!(
        rest.is_empty(),
        "server binary wrote {} bytes after a bad msg3",
        rest.len()
    );
}

#[test]
fn client_binary_with_good_and_faulty_servers() {
    let exe = env!("CARGO_BIN_EXE_ssb-shs1-client");
    let (end, rest, status) = binary_session(exe, &client_args(), peer_server(12), None);
    let PeerEnd::Done(o) = end else {
        panic!("peer: {end:?}")
    };
    assert!(status.success(), "{status}");
    assert_eq!(rest, mirrored(&o));

    let (end, rest, status) = binary_session(exe, &client_args(), peer_server(13), Some(1));
    assert!(matches!(end, PeerEnd::SentCorrupt), "peer: {end:?}");
    assert!(!status.success(), "{status}");
    assert!(
        rest.is_empty(),
        "client binary wrote {} bytes after a bad msg4",
        rest.len()
    );
}
