//! Secret handshake and box-stream throughput, against raw secretbox (ours and libsodium's).
//!
//! Groups (Criterion ids):
//! * `shs/handshake_pair` — one full client+server handshake with the sans-IO machines in
//!   memory, fresh ephemeral keys from a seeded ChaCha RNG every iteration.
//! * `boxstream/encrypt_4096`, `boxstream/decrypt_4096` — `Encrypter::encrypt` of a 4096-byte
//!   write into a reused, cleared `Vec`; `Decrypter::feed` of the frames it makes.
//! * `secretbox/{ours,libsodium}_{seal,open}_4096` — the raw primitive on 4096 bytes in place:
//!   `ssb_impl::crypto::secretbox_*_detached` (the backend box-stream uses) and libsodium's
//!   `crypto_secretbox_*detached`. The open benches copy the ciphertext into the work buffer
//!   first (both sides alike), since an in-place open destroys its input.
//!
//! After the groups, when Criterion really measured (not `cargo test --benches`, `--list`,
//! `--test`, `--profile-time`), a summary of the figures and ratios is printed and written to
//! `reports/bench/shs_boxstream.md`, but only if every benchmark ran in this invocation.
//! `cargo bench -p ssb-benches -- --quick` gives a faster, rougher run.

use std::fmt::Write as _;
use std::hint::black_box;
use std::path::PathBuf;
use std::time::{Duration, Instant, SystemTime};

use criterion::{criterion_group, Criterion, Throughput};
use ssb_benches::{
    boxstream_pair, criterion_dir, encrypted_frames, interleaved_encrypt_vs_raw, is_measuring_run,
    machine_description, payload, read_estimate, utc_timestamp, Estimate, HandshakeFixture, WRITE_LEN,
};
use ssb_impl::boxstream::HEADER_LEN;
use ssb_impl::crypto;

/// Frames kept for the decrypt bench: enough to cycle through, small enough (≈130 KiB) to stay
/// in cache like the encrypt bench's single input buffer.
const DECRYPT_FRAMES: usize = 32;

const SECRETBOX_KEY: [u8; 32] = [0x4b; 32];
const SECRETBOX_NONCE: [u8; 24] = [0x07; 24];

fn bench_handshake(c: &mut Criterion) {
    let mut group = c.benchmark_group("shs");
    group.throughput(Throughput::Elements(1));
    let mut fixture = HandshakeFixture::new(1);
    group.bench_function("handshake_pair", |b| b.iter(|| black_box(fixture.handshake())));
    group.finish();
}

fn bench_boxstream(c: &mut Criterion) {
    let mut group = c.benchmark_group("boxstream");
    group.throughput(Throughput::Bytes(WRITE_LEN as u64));
    let data = payload(WRITE_LEN);

    let (mut enc, _) = boxstream_pair(2);
    let mut out = Vec::with_capacity(WRITE_LEN + HEADER_LEN);
    group.bench_function("encrypt_4096", |b| {
        b.iter(|| {
            out.clear();
            enc.encrypt(black_box(&data), &mut out);
            black_box(&mut out);
        })
    });

    let (mut enc, dec_start) = boxstream_pair(2);
    let frames = encrypted_frames(&mut enc, &data, DECRYPT_FRAMES);
    let mut events = Vec::with_capacity(4);
    group.bench_function("decrypt_4096", |b| {
        b.iter_custom(|iters| {
            // Nonces advance per frame, so start over from a fresh decrypter at each wrap.
            let mut dec = dec_start.clone();
            let mut next = 0;
            let start = Instant::now();
            for _ in 0..iters {
                if next == frames.len() {
                    dec = dec_start.clone();
                    next = 0;
                }
                dec.feed(black_box(&frames[next]), &mut events)
                    .expect("frames made by the matching encrypter");
                black_box(&mut events);
                events.clear();
                next += 1;
            }
            start.elapsed()
        })
    });
    group.finish();
}

fn sodium_seal(buf: &mut [u8], nonce: &[u8; 24], key: &[u8; 32]) -> [u8; 16] {
    let mut mac = [0u8; 16];
    // SAFETY: libsodium allows c == m (in place); every pointer covers the length given.
    let rc = unsafe {
        libsodium_sys::crypto_secretbox_detached(
            buf.as_mut_ptr(),
            mac.as_mut_ptr(),
            buf.as_ptr(),
            buf.len() as u64,
            nonce.as_ptr(),
            key.as_ptr(),
        )
    };
    assert_eq!(rc, 0);
    mac
}

fn sodium_open(buf: &mut [u8], mac: &[u8; 16], nonce: &[u8; 24], key: &[u8; 32]) -> bool {
    // SAFETY: libsodium allows m == c (in place); every pointer covers the length given.
    unsafe {
        libsodium_sys::crypto_secretbox_open_detached(
            buf.as_mut_ptr(),
            buf.as_ptr(),
            mac.as_ptr(),
            buf.len() as u64,
            nonce.as_ptr(),
            key.as_ptr(),
        ) == 0
    }
}

fn bench_secretbox(c: &mut Criterion) {
    // SAFETY: sodium_init is idempotent and thread-safe; it must run before any other call.
    assert!(unsafe { libsodium_sys::sodium_init() } >= 0, "sodium_init failed");
    let key = SECRETBOX_KEY;
    let plain = payload(WRITE_LEN);

    // Both backends must agree before their speeds are compared.
    let mut ours_ct = plain.clone();
    let ours_mac = crypto::secretbox_seal_detached(&key, &SECRETBOX_NONCE, &mut ours_ct);
    let mut sodium_ct = plain.clone();
    let sodium_mac = sodium_seal(&mut sodium_ct, &SECRETBOX_NONCE, &key);
    assert_eq!((ours_ct.as_slice(), ours_mac), (sodium_ct.as_slice(), sodium_mac));

    let mut group = c.benchmark_group("secretbox");
    group.throughput(Throughput::Bytes(WRITE_LEN as u64));

    let mut buf = plain.clone();
    let mut nonce = SECRETBOX_NONCE;
    group.bench_function("ours_seal_4096", |b| {
        b.iter(|| {
            crypto::increment_nonce_be(&mut nonce);
            black_box(crypto::secretbox_seal_detached(&key, &nonce, black_box(&mut buf)))
        })
    });
    group.bench_function("libsodium_seal_4096", |b| {
        b.iter(|| {
            crypto::increment_nonce_be(&mut nonce);
            black_box(sodium_seal(black_box(&mut buf), &nonce, &key))
        })
    });
    group.bench_function("ours_open_4096", |b| {
        b.iter(|| {
            buf.copy_from_slice(black_box(&ours_ct));
            crypto::secretbox_open_detached(&key, &SECRETBOX_NONCE, &ours_mac, &mut buf).expect("valid box");
            black_box(&mut buf);
        })
    });
    group.bench_function("libsodium_open_4096", |b| {
        b.iter(|| {
            buf.copy_from_slice(black_box(&ours_ct));
            assert!(sodium_open(&mut buf, &ours_mac, &SECRETBOX_NONCE, &key));
            black_box(&mut buf);
        })
    });
    group.finish();
}

fn config() -> Criterion {
    // 8 benchmarks × (1 s warm-up + 4 s measurement + analysis) ≈ 50 s for a full run.
    Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(4))
        .sample_size(50)
}

criterion_group! {
    name = benches;
    config = config();
    targets = bench_handshake, bench_boxstream, bench_secretbox
}

/// One row of the results table.
struct Row {
    id: &'static str,
    what: &'static str,
    /// Payload bytes per iteration, or `None` for the handshake (reported per second).
    bytes: Option<usize>,
}

const ROWS: [Row; 7] = [
    Row {
        id: "shs/handshake_pair",
        what: "SHS handshake, client + server machines in memory",
        bytes: None,
    },
    Row {
        id: "boxstream/encrypt_4096",
        what: "box-stream encrypt, 4096-byte writes",
        bytes: Some(WRITE_LEN),
    },
    Row {
        id: "boxstream/decrypt_4096",
        what: "box-stream decrypt (`feed`), 4096-byte frames",
        bytes: Some(WRITE_LEN),
    },
    Row {
        id: "secretbox/ours_seal_4096",
        what: "raw secretbox seal, ours (crypto_secretbox 0.1)",
        bytes: Some(WRITE_LEN),
    },
    Row {
        id: "secretbox/libsodium_seal_4096",
        what: "raw secretbox seal, libsodium",
        bytes: Some(WRITE_LEN),
    },
    Row {
        id: "secretbox/ours_open_4096",
        what: "raw secretbox open, ours (incl. 4 KiB copy-in)",
        bytes: Some(WRITE_LEN),
    },
    Row {
        id: "secretbox/libsodium_open_4096",
        what: "raw secretbox open, libsodium (incl. 4 KiB copy-in)",
        bytes: Some(WRITE_LEN),
    },
];

/// The box-stream goal: encrypt throughput at least this share of raw secretbox's.
const GOAL: f64 = 0.90;

fn fmt_time(ns: f64) -> String {
    if ns >= 1e6 {
        format!("{:.3} ms", ns / 1e6)
    } else if ns >= 1e3 {
        format!("{:.3} µs", ns / 1e3)
    } else {
        format!("{ns:.1} ns")
    }
}

fn fmt_rate(e: &Estimate, bytes: Option<usize>) -> String {
    match bytes {
        Some(n) => format!(
            "{:.1} MB/s ({:.1}–{:.1})",
            e.mb_per_s(n),
            n as f64 * 1e3 / e.mean_hi,
            n as f64 * 1e3 / e.mean_lo
        ),
        None => format!(
            "{:.0} handshakes/s ({:.0}–{:.0})",
            e.per_second(),
            1e9 / e.mean_hi,
            1e9 / e.mean_lo
        ),
    }
}

/// `a ÷ b` as throughput: time of `b` over time of `a`, with the range the CIs allow.
fn ratio(fast: &Estimate, slow: &Estimate) -> (f64, f64, f64) {
    (
        slow.mean / fast.mean,
        slow.mean_lo / fast.mean_hi,
        slow.mean_hi / fast.mean_lo,
    )
}

fn fmt_ratio((r, lo, hi): (f64, f64, f64)) -> String {
    format!(
        "{:.1} % (CI range {:.1}–{:.1} %)",
        r * 100.0,
        lo * 100.0,
        hi * 100.0
    )
}

fn summarize(started: SystemTime, quick: bool) {
    let dir = criterion_dir();
    let mut found = Vec::new();
    let mut missing = Vec::new();
    for row in &ROWS {
        match read_estimate(&dir, row.id, started) {
            Ok(e) => found.push((row, e)),
            Err(why) => missing.push(why),
        }
    }
    let get = |id: &str| found.iter().find(|(r, _)| r.id == id).map(|(_, e)| *e);

    let mut md = String::new();
    let _ = writeln!(md, "# Secret handshake and box-stream benchmarks\n");
    let _ = writeln!(
        md,
        "Generated by `cargo bench -p ssb-benches --bench shs_boxstream`{} at {} on {}.\n",
        if quick { " (`--quick`)" } else { "" },
        utc_timestamp(SystemTime::now()),
        machine_description()
    );
    let _ = writeln!(
        md,
        "Criterion means with their 95 % confidence intervals; MB = 10⁶ bytes of payload \
         (Criterion's own console output shows MiB/s). Throughput is single-threaded.\n"
    );
    let _ = writeln!(
        md,
        "| benchmark | Criterion id | mean time | median | rate at mean (CI) |"
    );
    let _ = writeln!(md, "|---|---|---|---|---|");
    for (row, e) in &found {
        let _ = writeln!(
            md,
            "| {} | `{}` | {} | {} | {} |",
            row.what,
            row.id,
            fmt_time(e.mean),
            fmt_time(e.median),
            fmt_rate(e, row.bytes)
        );
    }

    let _ = writeln!(md, "\n## Ratios\n");
    let _ = writeln!(md, "| ratio (throughput) | value | goal |");
    let _ = writeln!(md, "|---|---|---|");
    if let (Some(bs), Some(raw)) = (get("boxstream/encrypt_4096"), get("secretbox/ours_seal_4096")) {
        let r = ratio(&bs, &raw);
        let verdict = if r.0 >= GOAL {
            "≥ 90 %: **met**"
        } else {
            "≥ 90 %: **not met**"
        };
        let _ = writeln!(
            md,
            "| box-stream encrypt ÷ raw secretbox seal (same backend) | {} | {verdict} |",
            fmt_ratio(r)
        );
    }
    let cross = interleaved_encrypt_vs_raw(if quick { 100 } else { 300 }, 128);
    let _ = writeln!(
        md,
        "| same, interleaved cross-check (median of {} paired rounds of 128 ops: {:.0} vs {:.0} MB/s) \
         | {:.1} % | ≥ 90 %: {} |",
        cross.rounds,
        WRITE_LEN as f64 * 1e3 / cross.boxstream_ns,
        WRITE_LEN as f64 * 1e3 / cross.raw_ns,
        cross.ratio * 100.0,
        if cross.ratio >= GOAL { "met" } else { "not met" }
    );
    if let (Some(bs), Some(raw)) = (get("boxstream/decrypt_4096"), get("secretbox/ours_open_4096")) {
        let _ = writeln!(
            md,
            "| box-stream decrypt ÷ raw secretbox open (same backend) | {} | — |",
            fmt_ratio(ratio(&bs, &raw))
        );
    }
    if let (Some(ours), Some(na)) = (
        get("secretbox/ours_seal_4096"),
        get("secretbox/libsodium_seal_4096"),
    ) {
        let _ = writeln!(
            md,
            "| our secretbox seal ÷ libsodium | {} | — |",
            fmt_ratio(ratio(&ours, &na))
        );
    }
    if let (Some(ours), Some(na)) = (
        get("secretbox/ours_open_4096"),
        get("secretbox/libsodium_open_4096"),
    ) {
        let _ = writeln!(
            md,
            "| our secretbox open ÷ libsodium | {} | — |",
            fmt_ratio(ratio(&ours, &na))
        );
    }
    if let Some(hs) = get("shs/handshake_pair") {
        let _ = writeln!(
            md,
            "| handshakes per second (client + server work, one core) | {:.0} | — |",
            hs.per_second()
        );
    }

    println!("\n{md}");
    if !missing.is_empty() {
        println!("Report not written; missing from this run:");
        for m in &missing {
            println!("  {m}");
        }
        return;
    }
    let out_dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../reports/bench");
    let path = out_dir.join("shs_boxstream.md");
    match std::fs::create_dir_all(&out_dir).and_then(|()| std::fs::write(&path, &md)) {
        Ok(()) => println!("Summary written to {}", path.display()),
        Err(e) => eprintln!("could not write {}: {e}", path.display()),
    }
}

fn main() {
    let started = SystemTime::now();
    benches();
    Criterion::default().configure_from_args().final_summary();
    let args: Vec<String> = std::env::args().collect();
    if is_measuring_run(&args) {
        summarize(started, args.iter().any(|a| a == "--quick"));
    }
}
