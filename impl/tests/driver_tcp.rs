//! The tokio driver (`driver::connect` / `driver::accept`) end to end: over real TCP on
//! 127.0.0.1 (handshake, 100,000 bytes each way, goodbye → EOF, wrong network key, wrong server
//! key, refused client) and over in-memory `tokio::io::duplex` pipes (any `AsyncRead +
//! AsyncWrite` works; a tampered or truncated stream after the handshake reads as an error).
//! Every test runs under `tokio::time::timeout` so a bug cannot hang the suite.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use rand::{RngCore, SeedableRng};
use rand_chacha::ChaCha20Rng;
use ssb_impl::boxstream::BoxStreamError;
use ssb_impl::driver::{accept, connect, DriverError};
use ssb_impl::shs::{Server, ShsError, Step, MAIN_NETWORK_KEY, MSG1_LEN, MSG3_LEN};
use ssb_impl::Keypair;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, DuplexStream, ReadBuf};
use tokio::net::{TcpListener, TcpStream};

const LIMIT: Duration = Duration::from_secs(30);
const PAYLOAD: usize = 100_000;

fn kp(b: u8) -> Keypair {
    Keypair::from_seed([b; 32])
}

fn rng(seed: u64) -> ChaCha20Rng {
    ChaCha20Rng::seed_from_u64(seed)
}

fn payload(seed: u64, len: usize) -> Vec<u8> {
    let mut v = vec![0u8; len];
    rng(seed).fill_bytes(&mut v);
    v
}

async fn guarded<T>(f: impl Future<Output = T>) -> T {
    tokio::time::timeout(LIMIT, f).await.expect("test timed out")
}

/// Writes `send` then shuts down (goodbye), while reading the peer's bytes to EOF.
async fn exchange<T: AsyncRead + AsyncWrite>(stream: T, send: Vec<u8>) -> Vec<u8> {
    let (mut rd, mut wr) = tokio::io::split(stream);
    let writer = async move {
        wr.write_all(&send).await.expect("box-stream write");
        wr.shutdown().await.expect("box-stream shutdown");
    };
    let reader = async move {
        let mut got = Vec::new();
        rd.read_to_end(&mut got).await.expect("box-stream read");
        got
    };
    let ((), got) = tokio::join!(writer, reader);
    got
}

/// A transport whose `shutdown` only flushes: the connection stays open, so a reader can only
/// see end-of-stream through the box-stream goodbye.
struct KeepOpen<S>(S);

impl<S: AsyncRead + Unpin> AsyncRead for KeepOpen<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_read(cx, buf)
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for KeepOpen<S> {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.0).poll_write(cx, buf)
    }
    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_flush(cx)
    }
    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_flush(cx)
    }
}

async fn tcp_pair() -> (TcpListener, std::net::SocketAddr) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    (listener, addr)
}

#[tokio::test]
async fn tcp_handshake_then_100k_each_way_then_goodbye() {
    guarded(async {
        let (listener, addr) = tcp_pair().await;
        let to_server = payload(1, PAYLOAD);
        let to_client = payload(2, PAYLOAD);
        let expect_from_client = to_server.clone();
        let reply = to_client.clone();
        let server = tokio::spawn(async move {
            let (sock, _) = listener.accept().await.unwrap();
            let bs = accept(sock, MAIN_NETWORK_KEY, kp(2), Server::accept_all(), &mut rng(10))
                .await
                .expect("server handshake");
            assert_eq!(bs.peer(), kp(1).id());
            let got = exchange(bs, reply).await;
            assert_eq!(got.len(), PAYLOAD);
            assert!(got == expect_from_client, "server received different bytes");
        });
        let sock = TcpStream::connect(addr).await.unwrap();
        let bs = connect(sock, MAIN_NETWORK_KEY, kp(1), kp(2).id(), &mut rng(11))
            .await
            .expect("client handshake");
        assert_eq!(bs.peer(), kp(2).id());
        let got = exchange(bs, to_server).await;
        assert_eq!(got.len(), PAYLOAD);
        assert!(got == to_client, "client received different bytes");
        server.await.unwrap();
    })
    .await;
}

#[tokio::test]
async fn tcp_eof_comes_from_the_goodbye_not_the_socket_close() {
    guarded(async {
        let (listener, addr) = tcp_pair().await;
        let (release_tx, release_rx) = tokio::sync::oneshot::channel::<()>();
        let server = tokio::spawn(async move {
            let (sock, _) = listener.accept().await.unwrap();
            let mut r = rng(20);
            let mut bs = accept(
                KeepOpen(sock),
                MAIN_NETWORK_KEY,
                kp(2),
                Server::accept_all(),
                &mut r,
            )
            .await
            .unwrap();
            let got = exchange(&mut bs, b"from server".to_vec()).await;
            // Keep the socket open until the client has finished reading.
            release_rx.await.unwrap();
            drop(bs);
            got
        });
        let sock = TcpStream::connect(addr).await.unwrap();
        let mut bs = connect(KeepOpen(sock), MAIN_NETWORK_KEY, kp(1), kp(2).id(), &mut rng(21))
            .await
            .unwrap();
        // Both sockets stay open (shutdown only flushes, and the server holds its socket until
        // released), so each read_to_end can only have ended on the peer's goodbye.
        let got = exchange(&mut bs, b"from client".to_vec()).await;
        assert_eq!(got, b"from server");
        release_tx.send(()).unwrap();
        assert_eq!(server.await.unwrap(), b"from client");
        drop(bs);
    })
    .await;
}

/// Runs one TCP handshake with the given client parameters and server authoriser.
async fn tcp_handshake(
    client_net: [u8; 32],
    server_key_expected: u8,
    allow: bool,
) -> (Result<(), DriverError>, Result<(), DriverError>) {
    let (listener, addr) = tcp_pair().await;
    let server = tokio::spawn(async move {
        let (sock, _) = listener.accept().await.unwrap();
        accept(
            sock,
            MAIN_NETWORK_KEY,
            kp(2),
            Box::new(move |_| allow),
            &mut rng(30),
        )
        .await
        .map(|_| ())
    });
    let sock = TcpStream::connect(addr).await.unwrap();
    let client = connect(
        sock,
        client_net,
        kp(1),
        kp(server_key_expected).id(),
        &mut rng(31),
    )
    .await
    .map(|_| ());
    (client, server.await.unwrap())
}

#[tokio::test]
async fn tcp_wrong_network_key_fails_at_msg1() {
    guarded(async {
        let (client, server) = tcp_handshake([9; 32], 2, true).await;
        assert!(
            matches!(
                server,
                Err(DriverError::Handshake(ShsError::BadHmac { step: Step::Msg1 }))
            ),
            "server: {server:?}"
        );
        assert!(
            matches!(client, Err(DriverError::Io { .. })),
            "client: {client:?}"
        );
    })
    .await;
}

#[tokio::test]
async fn tcp_wrong_server_key_fails_at_msg3() {
    guarded(async {
        let (client, server) = tcp_handshake(MAIN_NETWORK_KEY, 7, true).await;
        assert!(
            matches!(
                server,
                Err(DriverError::Handshake(ShsError::BoxOpen { step: Step::Msg3 }))
            ),
            "server: {server:?}"
        );
        assert!(
            matches!(client, Err(DriverError::Io { .. })),
            "client: {client:?}"
        );
    })
    .await;
}

#[tokio::test]
async fn tcp_refused_client_sees_the_connection_close() {
    guarded(async {
        let (client, server) = tcp_handshake(MAIN_NETWORK_KEY, 2, false).await;
        match server {
            Err(DriverError::Handshake(ShsError::ClientRefused { step, client })) => {
                assert_eq!(step, Step::Msg3);
                assert_eq!(client, kp(1).id());
            }
            other => panic!("server: {other:?}"),
        }
        assert!(
            matches!(client, Err(DriverError::Io { .. })),
            "client: {client:?}"
        );
    })
    .await;
}

#[tokio::test]
async fn tcp_sanity_all_three_parameters_correct_succeeds() {
    // The control for the three failure tests above: same helper, right parameters.
    guarded(async {
        let (client, server) = tcp_handshake(MAIN_NETWORK_KEY, 2, true).await;
        assert!(client.is_ok(), "client: {client:?}");
        assert!(server.is_ok(), "server: {server:?}");
    })
    .await;
}

#[tokio::test]
async fn duplex_pipe_with_a_tiny_buffer_works_and_shutdown_is_final() {
    guarded(async {
        // 77 bytes: smaller than msg3 and than one frame, so every write is partial.
        let (a, b) = tokio::io::duplex(77);
        let (mut rc, mut rs) = (rng(40), rng(41));
        let (client, server) = tokio::join!(
            connect(a, MAIN_NETWORK_KEY, kp(1), kp(2).id(), &mut rc),
            accept(b, MAIN_NETWORK_KEY, kp(2), Server::accept_all(), &mut rs),
        );
        let (mut client, mut server) = (client.unwrap(), server.unwrap());
        assert_eq!(client.peer(), kp(2).id());
        assert_eq!(server.peer(), kp(1).id());

        let up = payload(3, 20_000);
        let down = payload(4, 9_000);
        let (got_c, got_s) = tokio::join!(
            exchange(&mut client, up.clone()),
            exchange(&mut server, down.clone())
        );
        assert!(got_c == down, "client received different bytes");
        assert!(got_s == up, "server received different bytes");

        // After the goodbye: writing is refused, reading keeps returning end of stream.
        let err = client.write_all(b"late").await.unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::BrokenPipe);
        let mut buf = [0u8; 8];
        assert_eq!(client.read(&mut buf).await.unwrap(), 0);
    })
    .await;
}

/// Client → relay → server, server → client through a second relay that changes nothing. The
/// client sends one 100-byte frame and the goodbye; the server reads to the end. Returns what
/// the server read and how its reading ended.
async fn read_to_end_through_relay(
    flip_at: Option<usize>,
    cut_at: Option<usize>,
) -> (Vec<u8>, io::Result<()>) {
    let (client_io, relay_c) = tokio::io::duplex(4096);
    let (relay_s, server_io) = tokio::io::duplex(4096);
    // Split each relay end so that each direction has its own task.
    let (c_from, c_back) = tokio::io::split(relay_c);
    let (s_to, s_from) = tokio::io::split(relay_s);
    let up = tokio::spawn(relay_halves(c_from, s_from, flip_at, cut_at));
    let down = tokio::spawn(relay_halves(s_to, c_back, None, None));

    let (mut rc, mut rs) = (rng(50), rng(51));
    let client = async {
        let mut bs = connect(client_io, MAIN_NETWORK_KEY, kp(1), kp(2).id(), &mut rc)
            .await
            .expect("client handshake");
        bs.write_all(&[0x5a; 100]).await.unwrap();
        bs.shutdown().await.unwrap();
        // Keep the stream (and so the transport) alive until the server is done.
        bs
    };
    let server = async {
        let mut bs = accept(server_io, MAIN_NETWORK_KEY, kp(2), Server::accept_all(), &mut rs)
            .await
            .expect("server handshake");
        let mut got = Vec::new();
        let mut buf = [0u8; 64];
        loop {
            match bs.read(&mut buf).await {
                Ok(0) => return (got, Ok(())),
                Ok(n) => got.extend_from_slice(&buf[..n]),
                Err(e) => return (got, Err(e)),
            }
        }
    };
    let (_client, result) = tokio::join!(client, server);
    up.abort();
    down.abort();
    result
}

/// Copies one direction of a relay, flipping the lowest bit of the byte at stream offset
/// `flip_at` and closing the pipe at offset `cut_at`.
async fn relay_halves(
    mut from: tokio::io::ReadHalf<DuplexStream>,
    mut to: tokio::io::WriteHalf<DuplexStream>,
    flip_at: Option<usize>,
    cut_at: Option<usize>,
) {
    let mut buf = [0u8; 256];
    let mut pos = 0usize;
    loop {
        let n = match from.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        if let Some(at) = flip_at {
            if (pos..pos + n).contains(&at) {
                buf[at - pos] ^= 0x01;
            }
        }
        let keep = match cut_at {
            Some(cut) if pos + n >= cut => cut - pos,
            _ => n,
        };
        if to.write_all(&buf[..keep]).await.is_err() {
            break;
        }
        pos += keep;
        if keep < n || cut_at == Some(pos) {
            break;
        }
    }
    let _ = to.shutdown().await;
}

/// Stream offset of the first box-stream byte from client to server.
const AFTER_HANDSHAKE: usize = MSG1_LEN + MSG3_LEN;

fn inner(e: &io::Error) -> Option<BoxStreamError> {
    e.get_ref()
        .and_then(|i| i.downcast_ref::<BoxStreamError>())
        .copied()
}

#[tokio::test]
async fn relay_without_tampering_delivers_then_ends_on_goodbye() {
    let (got, end) = guarded(read_to_end_through_relay(None, None)).await;
    assert_eq!(got, vec![0x5a; 100]);
    end.expect("clean end after the goodbye");
}

#[tokio::test]
async fn tampered_header_reads_as_invalid_data() {
    let (got, end) = guarded(read_to_end_through_relay(Some(AFTER_HANDSHAKE + 5), None)).await;
    assert!(got.is_empty());
    let err = end.unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::InvalidData, "{err}");
    assert_eq!(inner(&err), Some(BoxStreamError::HeaderAuth));
}

#[tokio::test]
async fn tampered_body_reads_as_invalid_data() {
    let (got, end) = guarded(read_to_end_through_relay(Some(AFTER_HANDSHAKE + 34 + 50), None)).await;
    assert!(got.is_empty(), "a tampered body must not be delivered");
    let err = end.unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::InvalidData, "{err}");
    assert_eq!(inner(&err), Some(BoxStreamError::BodyAuth));
}

#[tokio::test]
async fn tampered_goodbye_reads_as_invalid_data() {
    let (got, end) = guarded(read_to_end_through_relay(
        Some(AFTER_HANDSHAKE + 34 + 100 + 20),
        None,
    ))
    .await;
    // The authentic body is delivered before the error, whether or not it arrived in the same
    // transport read as the bad goodbye.
    assert_eq!(got, [0x5a; 100], "got {} bytes", got.len());
    let err = end.unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::InvalidData, "{err}");
    assert_eq!(inner(&err), Some(BoxStreamError::HeaderAuth));
}

#[tokio::test]
async fn stream_cut_inside_a_frame_reads_as_unexpected_eof() {
    for (cut, want) in [
        (AFTER_HANDSHAKE + 20, BoxStreamError::Truncated("header")),
        (AFTER_HANDSHAKE + 34 + 10, BoxStreamError::Truncated("body")),
        (
            AFTER_HANDSHAKE + 34 + 100 + 33,
            BoxStreamError::Truncated("header"),
        ),
    ] {
        let (got, end) = guarded(read_to_end_through_relay(None, Some(cut))).await;
        assert!(got.len() == 100 || cut < AFTER_HANDSHAKE + 134, "cut {cut}");
        let err = end.unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::UnexpectedEof, "cut {cut}: {err}");
        assert_eq!(inner(&err), Some(want), "cut {cut}");
    }
}

#[tokio::test]
async fn stream_cut_on_a_frame_boundary_without_goodbye_is_an_error() {
    // The body arrives, then the transport closes without the goodbye: a possible truncation
    // attack, reported as UnexpectedEof (NoGoodbye) rather than a clean end of stream.
    let (got, end) = guarded(read_to_end_through_relay(None, Some(AFTER_HANDSHAKE + 34 + 100))).await;
    assert_eq!(got, vec![0x5a; 100]);
    let err = end.expect_err("end without goodbye must be an error");
    assert_eq!(err.kind(), io::ErrorKind::UnexpectedEof, "{err}");
    assert_eq!(inner(&err), Some(BoxStreamError::NoGoodbye));
}

#[tokio::test]
async fn tampered_handshake_byte_fails_the_handshake() {
    guarded(async {
        // Flip a bit of msg3 on its way to the server.
        let (client_io, relay_c) = tokio::io::duplex(4096);
        let (relay_s, server_io) = tokio::io::duplex(4096);
        let (c_from, c_back) = tokio::io::split(relay_c);
        let (s_to, s_from) = tokio::io::split(relay_s);
        let up = tokio::spawn(relay_halves(c_from, s_from, Some(MSG1_LEN + 40), None));
        let down = tokio::spawn(relay_halves(s_to, c_back, None, None));
        let (mut rc, mut rs) = (rng(60), rng(61));
        let (client, server) = tokio::join!(
            connect(client_io, MAIN_NETWORK_KEY, kp(1), kp(2).id(), &mut rc),
            accept(server_io, MAIN_NETWORK_KEY, kp(2), Server::accept_all(), &mut rs),
        );
        assert!(
            matches!(
                server,
                Err(DriverError::Handshake(ShsError::BoxOpen { step: Step::Msg3 }))
            ),
            "server: {:?}",
            server.err()
        );
        assert!(
            matches!(client, Err(DriverError::Io { .. })),
            "client: {:?}",
            client.err()
        );
        up.abort();
        down.abort();
    })
    .await;
}

/// One read carrying a good frame and a tampered goodbye: the body first, then the error; and a
/// good stream with a trailing byte in the same read ends cleanly at the goodbye, as it does when
/// the byte arrives in a later read.
#[tokio::test]
async fn one_read_with_a_good_frame_and_a_fault_delivers_the_frame_first() {
    use ssb_impl::boxstream::Encrypter;
    use ssb_impl::identity::FeedId;
    use ssb_impl::shs::Outcome;
    let outcome = Outcome {
        remote: FeedId([9; 32]),
        encrypt_key: [0; 32],
        encrypt_nonce: [0; 24],
        decrypt_key: [1; 32],
        decrypt_nonce: [2; 24],
    };
    let mut wire = Vec::new();
    let mut enc = Encrypter::new([1; 32], [2; 24]);
    enc.encrypt(b"hello", &mut wire);
    enc.goodbye(&mut wire);
    for (tail, want_err) in [(None, true), (Some(0u8), false)] {
        let mut bytes = wire.clone();
        match tail {
            None => *bytes.last_mut().unwrap() ^= 1,
            Some(b) => bytes.push(b),
        }
        let mut stream = ssb_impl::driver::BoxStream::new(std::io::Cursor::new(bytes), outcome.clone());
        let mut got = Vec::new();
        let end = stream.read_to_end(&mut got).await;
        assert_eq!(got, b"hello");
        assert_eq!(end.is_err(), want_err, "{end:?}");
    }
}
