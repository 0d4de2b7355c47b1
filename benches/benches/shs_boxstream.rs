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
//! * `boxstream_parts/{header_seal_18,frame_copy_4096}` — what a frame costs besides the body
//!   seal: the 18-byte header box and the copy of the write into the output `Vec`.
//!
//! After the groups, when Criterion really measured (not `cargo test --benches`, `--list`,
//! `--test`, `--profile-time`), the same operations run once more interleaved (short batches
//! in rotating order, ratios taken round by round) because Criterion's one-after-another
//! figures compare different moments of a noisy machine. The summary — headline ratios from the
//! interleaved run, Criterion's estimates read back from `estimates.json` beside them — is
//! printed and written to `reports/bench/shs_boxstream.md`, but only if every benchmark ran in
//! this invocation (a filtered run prints without writing).
//! `cargo bench -p ssb-benches -- --quick` gives a faster, rougher run.

use std::fmt::Write as _;
use std::hint::black_box;
use std::path::PathBuf;
use std::time::{Duration, SystemTime};

use criterion::{criterion_group, Criterion, Throughput};
use ssb_benches::{
    criterion_dir, interleave, is_measuring_run, machine_description, median, paired_ratio, payload,
    read_estimate, utc_timestamp, BoxDecrypt, BoxEncrypt, Estimate, FrameCopy, HandshakeFixture, RawOpen,
    RawSeal, SECRETBOX_KEY, SECRETBOX_NONCE, WRITE_LEN,
};
use ssb_impl::crypto;

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
    let mut enc = BoxEncrypt::new(2);
    group.bench_function("encrypt_4096", |b| b.iter(|| enc.run()));
    let mut dec = BoxDecrypt::new(2);
    group.bench_function("decrypt_4096", |b| b.iter(|| dec.run()));
    group.finish();
}

/// libsodium's `crypto_secretbox_detached` of a buffer in place, with a counting nonce: the
/// counterpart of [`RawSeal`].
struct SodiumSeal {
    nonce: [u8; 24],
    buf: Vec<u8>,
}

impl SodiumSeal {
    fn new(len: usize) -> Self {
        sodium_init();
        SodiumSeal {
            nonce: SECRETBOX_NONCE,
            buf: payload(len),
        }
    }

    fn seal(buf: &mut [u8], nonce: &[u8; 24]) -> [u8; 16] {
        let mut mac = [0u8; 16];
        // SAFETY: libsodium allows c == m (in place); every pointer covers the length given.
        let rc = unsafe {
            libsodium_sys::crypto_secretbox_detached(
                buf.as_mut_ptr(),
                mac.as_mut_ptr(),
                buf.as_ptr(),
                buf.len() as u64,
                nonce.as_ptr(),
                SECRETBOX_KEY.as_ptr(),
            )
        };
        assert_eq!(rc, 0);
        mac
    }

    fn run(&mut self) {
        crypto::increment_nonce_be(&mut self.nonce);
        black_box(Self::seal(black_box(&mut self.buf), &self.nonce));
    }
}

/// libsodium's `crypto_secretbox_open_detached` in place, copying the box in first: the
/// counterpart of [`RawOpen`], on the same bytes.
struct SodiumOpen {
    mac: [u8; 16],
    boxed: Vec<u8>,
    buf: Vec<u8>,
}

impl SodiumOpen {
    fn new() -> Self {
        sodium_init();
        let ours = RawOpen::new();
        let (boxed, mac) = ours.sealed();
        SodiumOpen {
            mac,
            boxed: boxed.to_vec(),
            buf: boxed.to_vec(),
        }
    }

    fn run(&mut self) {
        self.buf.copy_from_slice(black_box(&self.boxed));
        // SAFETY: libsodium allows m == c (in place); every pointer covers the length given.
        let rc = unsafe {
            libsodium_sys::crypto_secretbox_open_detached(
                self.buf.as_mut_ptr(),
                self.buf.as_ptr(),
                self.mac.as_ptr(),
                self.buf.len() as u64,
                SECRETBOX_NONCE.as_ptr(),
                SECRETBOX_KEY.as_ptr(),
            )
        };
        assert_eq!(rc, 0, "libsodium opens our box");
        black_box(&mut self.buf);
    }
}

fn sodium_init() {
    // SAFETY: sodium_init is idempotent and thread-safe; it must run before any other call.
    assert!(unsafe { libsodium_sys::sodium_init() } >= 0, "sodium_init failed");
}

fn bench_secretbox(c: &mut Criterion) {
    // Both backends must agree before their speeds are compared.
    let mut ours = payload(WRITE_LEN);
    let ours_mac = crypto::secretbox_seal_detached(&SECRETBOX_KEY, &SECRETBOX_NONCE, &mut ours);
    sodium_init();
    let mut theirs = payload(WRITE_LEN);
    let theirs_mac = SodiumSeal::seal(&mut theirs, &SECRETBOX_NONCE);
    assert!(ours == theirs && ours_mac == theirs_mac, "backends disagree");

    let mut group = c.benchmark_group("secretbox");
    group.throughput(Throughput::Bytes(WRITE_LEN as u64));
    let mut op = RawSeal::new(WRITE_LEN);
    group.bench_function("ours_seal_4096", |b| b.iter(|| op.run()));
    let mut op = SodiumSeal::new(WRITE_LEN);
    group.bench_function("libsodium_seal_4096", |b| b.iter(|| op.run()));
    let mut op = RawOpen::new();
    group.bench_function("ours_open_4096", |b| b.iter(|| op.run()));
    let mut op = SodiumOpen::new();
    group.bench_function("libsodium_open_4096", |b| b.iter(|| op.run()));
    group.finish();
}

/// The two things box-stream encryption does besides sealing the body, each on its own: the
/// 18-byte header box, and moving the write into the output `Vec` behind 34 bytes of header
/// space (what `Encrypter::frame` does before sealing in place).
fn bench_parts(c: &mut Criterion) {
    let mut group = c.benchmark_group("boxstream_parts");
    group.measurement_time(Duration::from_secs(2));
    let mut op = RawSeal::new(18);
    group.bench_function("header_seal_18", |b| b.iter(|| op.run()));
    let mut op = FrameCopy::new();
    group.bench_function("frame_copy_4096", |b| b.iter(|| op.run()));
    group.finish();
}

fn config() -> Criterion {
    // 7 benchmarks × (1 s warm-up + 4 s measurement + analysis) + 2 × (1 s + 2 s) ≈ 50 s.
    Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(4))
        .sample_size(50)
}

criterion_group! {
    name = benches;
    config = config();
    targets = bench_handshake, bench_boxstream, bench_secretbox, bench_parts
}

/// One row of the results table.
struct Row {
    id: &'static str,
    what: &'static str,
    /// Payload bytes per iteration for a MB/s figure; `None` for the handshake (reported per
    /// second) and the parts (time only).
    bytes: Option<usize>,
}

const ROWS: [Row; 9] = [
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
    Row {
        id: "boxstream_parts/header_seal_18",
        what: "part: header box, secretbox seal of 18 bytes (ours)",
        bytes: None,
    },
    Row {
        id: "boxstream_parts/frame_copy_4096",
        what: "part: header space + 4096-byte copy into the output `Vec`",
        bytes: None,
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

fn fmt_rate(row: &Row, e: &Estimate) -> String {
    match (row.bytes, row.id) {
        (Some(n), _) => format!(
            "{:.1} MB/s ({:.1}–{:.1})",
            e.mb_per_s(n),
            n as f64 * 1e3 / e.mean_hi,
            n as f64 * 1e3 / e.mean_lo
        ),
        (None, "shs/handshake_pair") => format!(
            "{:.0} handshakes/s ({:.0}–{:.0})",
            e.per_second(),
            1e9 / e.mean_hi,
            1e9 / e.mean_lo
        ),
        (None, _) => "—".to_string(),
    }
}

/// Throughput of `a` relative to `b` (time of `b` over time of `a`) from Criterion's estimates:
/// at the means, with the range the two confidence intervals allow, and at the medians.
fn criterion_ratio(a: &Estimate, b: &Estimate) -> String {
    format!(
        "{:.1} % ({:.1}–{:.1} %) | {:.1} %",
        b.mean / a.mean * 100.0,
        b.mean_lo / a.mean_hi * 100.0,
        b.mean_hi / a.mean_lo * 100.0,
        b.median / a.median * 100.0
    )
}

/// The cross-check: every throughput operation again, interleaved, medians per operation.
struct CrossCheck {
    rounds: usize,
    /// Median ns per call, by operation name.
    medians: Vec<(&'static str, f64)>,
    times: Vec<(&'static str, Vec<f64>)>,
}

impl CrossCheck {
    fn run(rounds: usize) -> Self {
        let (mut enc, mut dec) = (BoxEncrypt::new(3), BoxDecrypt::new(3));
        let (mut seal, mut open) = (RawSeal::new(WRITE_LEN), RawOpen::new());
        let (mut na_seal, mut na_open) = (SodiumSeal::new(WRITE_LEN), SodiumOpen::new());
        let (mut header, mut copy) = (RawSeal::new(18), FrameCopy::new());
        let names = [
            "encrypt", "decrypt", "seal", "open", "na_seal", "na_open", "header", "copy",
        ];
        let times = interleave(
            rounds,
            &mut [
                &mut || enc.run(),
                &mut || dec.run(),
                &mut || seal.run(),
                &mut || open.run(),
                &mut || na_seal.run(),
                &mut || na_open.run(),
                &mut || header.run(),
                &mut || copy.run(),
            ],
        );
        let times: Vec<_> = names.into_iter().zip(times).collect();
        let medians = times.iter().map(|(n, t)| (*n, median(&mut t.clone()))).collect();
        CrossCheck {
            rounds,
            medians,
            times,
        }
    }

    fn ns(&self, name: &str) -> f64 {
        self.medians.iter().find(|(n, _)| *n == name).expect("known op").1
    }

    fn times(&self, name: &str) -> &[f64] {
        &self.times.iter().find(|(n, _)| *n == name).expect("known op").1
    }

    /// Per-round throughput ratio of `a` to `b`.
    fn ratio(&self, a: &str, b: &str) -> f64 {
        paired_ratio(self.times(a), self.times(b))
    }

    fn mb_s(&self, name: &str) -> f64 {
        WRITE_LEN as f64 * 1e3 / self.ns(name)
    }
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
    let cross = CrossCheck::run(if quick { 60 } else { 200 });

    let mut md = String::new();
    let _ = writeln!(md, "# Secret handshake and box-stream benchmarks\n");
    let _ = writeln!(
        md,
        "Generated by `cargo bench -p ssb-benches --bench shs_boxstream`{} at {} on {}.\n",
        if quick { " (`--quick`)" } else { "" },
        utc_timestamp(SystemTime::now()),
        machine_description()
    );

    let _ = writeln!(md, "## Headline\n");
    let encrypt_ratio = cross.ratio("encrypt", "seal");
    let _ = writeln!(
        md,
        "| figure | value |\n|---|---|\n\
         | **box-stream encrypt ÷ raw secretbox seal (same backend); goal ≥ 90 %** | **{:.1} % — goal {}** |\n\
         | box-stream encrypt, 4096-byte writes | {:.1} MB/s |\n\
         | box-stream decrypt, 4096-byte frames | {:.1} MB/s ({:.1} % of raw open) |\n\
         | raw secretbox seal, ours / libsodium | {:.1} / {:.1} MB/s ({:.1} %) |\n\
         | raw secretbox open, ours / libsodium | {:.1} / {:.1} MB/s ({:.1} %) |",
        encrypt_ratio * 100.0,
        if encrypt_ratio >= GOAL { "met" } else { "NOT met" },
        cross.mb_s("encrypt"),
        cross.mb_s("decrypt"),
        cross.ratio("decrypt", "open") * 100.0,
        cross.mb_s("seal"),
        cross.mb_s("na_seal"),
        cross.ratio("seal", "na_seal") * 100.0,
        cross.mb_s("open"),
        cross.mb_s("na_open"),
        cross.ratio("open", "na_open") * 100.0,
    );
    if let Some(hs) = get("shs/handshake_pair") {
        let _ = writeln!(
            md,
            "| handshakes per second (client + server work, one core) | {:.0} (mean), {:.0} (median) |",
            hs.per_second(),
            1e9 / hs.median
        );
    }
    let (body, header, copy) = (cross.ns("seal"), cross.ns("header"), cross.ns("copy"));
    let _ = writeln!(
        md,
        "\nThroughputs and ratios above come from an interleaved run after the Criterion groups: \
         the same operations as the benches, {} rounds each timing about 1 ms of every \
         operation in rotating order; medians per operation, ratios taken round by round, so \
         load from other processes mostly cancels. MB = 10⁶ bytes of payload, one core.\n\n\
         Where an encrypted frame's time goes: body seal {} + header box (18-byte seal) {} + \
         header space and copy of the write {} = {} against {} measured \
         ({:.1} % predicted). The header box alone costs {:.1} % of the body seal for 0.4 % of \
         the bytes.",
        cross.rounds,
        fmt_time(body),
        fmt_time(header),
        fmt_time(copy),
        fmt_time(body + header + copy),
        fmt_time(cross.ns("encrypt")),
        body / (body + header + copy) * 100.0,
        header / body * 100.0
    );

    let _ = writeln!(md, "\n## Criterion estimates\n");
    let _ = writeln!(
        md,
        "Per iteration: mean with its 95 % confidence interval, median, and the regression slope \
         Criterion prints as `time:`. Criterion measures one benchmark after another, so on a busy \
         machine a ratio of two of its figures also compares two moments' load.\n"
    );
    let _ = writeln!(
        md,
        "| benchmark | Criterion id | mean | median | slope | rate at mean (CI) |"
    );
    let _ = writeln!(md, "|---|---|---|---|---|---|");
    for (row, e) in &found {
        let _ = writeln!(
            md,
            "| {} | `{}` | {} | {} | {} | {} |",
            row.what,
            row.id,
            fmt_time(e.mean),
            fmt_time(e.median),
            e.slope.map_or("—".to_string(), fmt_time),
            fmt_rate(row, e)
        );
    }
    let _ = writeln!(
        md,
        "\n| throughput ratio | interleaved | Criterion means (CI range) | Criterion medians |"
    );
    let _ = writeln!(md, "|---|---|---|---|");
    let pairs = [
        (
            "box-stream encrypt ÷ raw secretbox seal (same backend)",
            "boxstream/encrypt_4096",
            "secretbox/ours_seal_4096",
            ("encrypt", "seal"),
        ),
        (
            "box-stream decrypt ÷ raw secretbox open (same backend)",
            "boxstream/decrypt_4096",
            "secretbox/ours_open_4096",
            ("decrypt", "open"),
        ),
        (
            "our secretbox seal ÷ libsodium's",
            "secretbox/ours_seal_4096",
            "secretbox/libsodium_seal_4096",
            ("seal", "na_seal"),
        ),
        (
            "our secretbox open ÷ libsodium's",
            "secretbox/ours_open_4096",
            "secretbox/libsodium_open_4096",
            ("open", "na_open"),
        ),
    ];
    for (what, a, b, (x, y)) in pairs {
        if let (Some(a), Some(b)) = (get(a), get(b)) {
            let _ = writeln!(
                md,
                "| {what} | {:.1} % | {} |",
                cross.ratio(x, y) * 100.0,
                criterion_ratio(&a, &b)
            );
        }
    }

    println!("\n{md}");
    if !missing.is_empty() {
        println!("Report not written; missing from this run:");
        for m in &missing {
            println!("  {m}");
        }
        return;
    }
    let manifest_dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let out_dir = manifest_dir
        .parent()
        .unwrap_or(&manifest_dir)
        .join("reports/bench");
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
