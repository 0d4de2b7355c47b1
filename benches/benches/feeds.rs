//! Classic feed validation throughput: one by one, batched, against raw ed25519 verification
//! and against ssb-validate in Node, on one stream of messages, in one run.
//!
//! The workload ([`Workload`]): 20 feeds × 500 classic messages (posts whose content is
//! 300–600 bytes of text with some non-ASCII), signed with `sign_message`, serialized to
//! compact JSON text and interleaved. Operations, each walking that stream and starting over at
//! its end with fresh validators:
//!
//! * `single` — `legacy::parse(text, Mode::JsCompat)` + the author's `FeedValidator::append`;
//! * `batch_N` — parse + `BatchValidator::validate` of N messages at a time (several N);
//! * `raw_verify` — `crypto::ed25519_verify` over the same (key, signed bytes, signature);
//! * `sodium_verify` — libsodium's `crypto_sign_verify_detached` on the same triples (what
//!   ssb-validate ends up calling, through sodium-native);
//! * `ssb_validate` — `JSON.parse` + ssb-validate 4's `append` in Node (`benches/js/
//!   validate-bench.js --serve`, fed the same messages as JSON lines), timed inside Node;
//! * the profile ([`Part`]): the steps of `single` one by one — parse, field checks, the deep
//!   copies, the signing encoding, the latin-1 sha256 id, the signed bytes, UTF-16 → UTF-8,
//!   `prepare` as a whole, ed25519 verify and its sha512, the feed bookkeeping — each timed on
//!   the freshly made output of the steps before it, and `check_message(parse(text))`.
//!
//! Four phases (verify, batch, ssb-validate, profile) each interleave `single` with what it is
//! compared to (`interleave_sized`: calls of about 20 ms in an order rotating from round to
//! round; medians per operation; ratios round by round), since the machine is shared and noisy.
//! The figures, the ratios against the goals, the profile and what follows from it are printed
//! and written to `reports/bench/feeds.md`.
//!
//! `cargo bench -p ssb-benches --bench feeds` measures (about 85 s; `-- --quick` for a rougher
//! run of about 25 s). Without `--bench` (`cargo test --benches`) it runs a
//! smoke test on a tiny workload instead. The Node side needs `node` (or `$NODE`) and
//! `benches/js/node_modules` (`npm ci` there; a measuring run does it if the directory is
//! missing); without them the ssb-validate figure is reported as not measured. With
//! `FEEDS_JSONL=path` a measuring run also keeps the messages there, for
//! `node benches/js/validate-bench.js path` on its own.

use std::fmt::Write as _;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::time::{Duration, Instant, SystemTime};

use ssb_benches::feeds::{
    timer_overhead_ns, BatchValidation, Part, PartOp, RawVerify, SingleValidation, Triple, Workload,
};
use ssb_benches::{
    interleave_sized, is_measuring_run, machine_description, median, paired_ratio, utc_timestamp, Sample,
};

const FEEDS: usize = 20;
const PER_FEED: usize = 500;
const SEED: u64 = 0x55B_FEED5;
const CHUNKS: [usize; 5] = [32, 64, 128, 256, 1024];
const SLICE: Duration = Duration::from_millis(20);

/// Goals: single ÷ raw verify, batch ÷ single, single ÷ ssb-validate.
const GOAL_SINGLE_VS_VERIFY: f64 = 0.80;
const GOAL_BATCH_VS_SINGLE: f64 = 1.6;
const GOAL_SINGLE_VS_JS: f64 = 10.0;

// ---------------------------------------------------------------------------------------------
// libsodium reference verification

fn sodium_init() {
    // SAFETY: sodium_init is idempotent and thread-safe; it must run before any other call.
    assert!(unsafe { libsodium_sys::sodium_init() } >= 0, "sodium_init failed");
}

fn sodium_verify(t: &Triple) -> bool {
    // SAFETY: the signature is 64 bytes, the key 32, the message pointer covers its length.
    unsafe {
        libsodium_sys::crypto_sign_verify_detached(
            t.signature.as_ptr(),
            t.signed.as_ptr(),
            t.signed.len() as u64,
            t.public.as_ptr(),
        ) == 0
    }
}

struct SodiumVerify<'a> {
    w: &'a Workload,
    next: usize,
    invalid: u64,
}

impl SodiumVerify<'_> {
    fn run(&mut self, n: usize) -> u64 {
        for _ in 0..n {
            if self.next == self.w.len() {
                self.next = 0;
            }
            if !sodium_verify(std::hint::black_box(&self.w.triples[self.next])) {
                self.invalid += 1;
            }
            self.next += 1;
        }
        n as u64
    }
}

// ---------------------------------------------------------------------------------------------
// The Node side

/// What `validate-bench.js --serve` says about itself and the stream after a checked pass.
struct NodeHello {
    backend: String,
    versions: String,
    messages: u64,
    valid: u64,
    ids_sha256: String,
}

struct NodeSide {
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
    hello: NodeHello,
    invalid: u64,
}

fn js_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("js")
}

fn node_binary() -> String {
    std::env::var("NODE").unwrap_or_else(|_| "node".to_string())
}

impl NodeSide {
    /// Starts the Node side on `jsonl`; with `install`, runs `npm ci` first if `node_modules` is
    /// missing.
    fn start(jsonl: &Path, install: bool) -> Result<NodeSide, String> {
        let dir = js_dir();
        if !dir.join("node_modules").is_dir() {
            if !install {
                return Err(format!(
                    "{} has no node_modules (run `npm ci` there)",
                    dir.display()
                ));
            }
            eprintln!("feeds: running `npm ci` in {}", dir.display());
            let status = Command::new("npm")
                .args(["ci", "--no-audit", "--no-fund"])
                .current_dir(&dir)
                .stdout(Stdio::null())
                .status()
                .map_err(|e| format!("npm: {e}"))?;
            if !status.success() {
                return Err(format!("`npm ci` in {} failed ({status})", dir.display()));
            }
        }
        let mut child = Command::new(node_binary())
            .arg(dir.join("validate-bench.js"))
            .arg(jsonl)
            .arg("--serve")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .map_err(|e| format!("{}: {e}", node_binary()))?;
        let stdin = child.stdin.take().expect("piped");
        let stdout = BufReader::new(child.stdout.take().expect("piped"));
        let mut side = NodeSide {
            child,
            stdin,
            stdout,
            hello: NodeHello {
                backend: String::new(),
                versions: String::new(),
                messages: 0,
                valid: 0,
                ids_sha256: String::new(),
            },
            invalid: 0,
        };
        let v = side.request("hello")?;
        let s = |k: &str| v.get(k).and_then(|x| x.as_str()).unwrap_or("").to_string();
        let n = |k: &str| v.get(k).and_then(serde_json::Value::as_u64).unwrap_or(0);
        side.hello = NodeHello {
            backend: s("backend"),
            versions: s("versions"),
            messages: n("messages"),
            valid: n("valid"),
            ids_sha256: s("ids_sha256"),
        };
        Ok(side)
    }

    fn request(&mut self, line: &str) -> Result<serde_json::Value, String> {
        writeln!(self.stdin, "{line}")
            .and_then(|()| self.stdin.flush())
            .map_err(|e| format!("writing to node: {e}"))?;
        let mut reply = String::new();
        match self.stdout.read_line(&mut reply) {
            Ok(0) => Err("node exited (see its stderr above)".to_string()),
            Ok(_) => serde_json::from_str(&reply).map_err(|e| format!("node said {reply:?}: {e}")),
            Err(e) => Err(format!("reading from node: {e}")),
        }
    }

    /// Validates the next `n` messages in Node: `(messages, nanoseconds inside Node)`.
    fn run(&mut self, n: usize) -> Result<(u64, f64), String> {
        let v = self.request(&format!("run {n}"))?;
        let msgs = v
            .get("msgs")
            .and_then(serde_json::Value::as_u64)
            .ok_or("no msgs")?;
        let ns = v.get("ns").and_then(serde_json::Value::as_f64).ok_or("no ns")?;
        self.invalid += v.get("invalid").and_then(serde_json::Value::as_u64).unwrap_or(0);
        Ok((msgs, ns))
    }
}

impl Drop for NodeSide {
    fn drop(&mut self) {
        let _ = writeln!(self.stdin, "quit");
        let _ = self.stdin.flush();
        let deadline = Instant::now() + Duration::from_secs(2);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The stream as JSON lines in a temporary file, removed on drop.
struct TempJsonl(PathBuf);

impl TempJsonl {
    fn write(w: &Workload) -> std::io::Result<TempJsonl> {
        let path = std::env::temp_dir().join(format!("ssb-benches-feeds-{}.jsonl", std::process::id()));
        std::fs::write(&path, w.jsonl())?;
        Ok(TempJsonl(path))
    }
}

impl Drop for TempJsonl {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// Starts Node and checks it agrees with us on the stream; `Err` says why there is no Node side.
fn node_side(w: &Workload, jsonl: &Path, install: bool) -> Result<NodeSide, String> {
    let side = NodeSide::start(jsonl, install)?;
    let h = &side.hello;
    if h.messages != w.len() as u64 || h.valid != w.len() as u64 {
        return Err(format!(
            "ssb-validate accepted {} of {} messages (we sent {})",
            h.valid,
            h.messages,
            w.len()
        ));
    }
    if h.ids_sha256 != w.ids_sha256() {
        return Err("ssb-validate computed other message ids than ours".to_string());
    }
    Ok(side)
}

// ---------------------------------------------------------------------------------------------
// Measuring

/// Per-round nanoseconds per item of every operation of one phase, by name.
struct Phase {
    rounds: usize,
    times: Vec<(String, Vec<f64>)>,
}

impl Phase {
    fn times(&self, name: &str) -> &[f64] {
        &self
            .times
            .iter()
            .find(|(n, _)| n == name)
            .unwrap_or_else(|| panic!("no op {name}"))
            .1
    }

    /// Median nanoseconds per item.
    fn ns(&self, name: &str) -> f64 {
        median(&mut self.times(name).to_vec())
    }

    /// Items per second at the median.
    fn rate(&self, name: &str) -> f64 {
        1e9 / self.ns(name)
    }

    /// Throughput of `a` relative to `b`, median of the per-round ratios.
    fn ratio(&self, a: &str, b: &str) -> f64 {
        paired_ratio(self.times(a), self.times(b))
    }

    /// The 25th and 75th percentiles of the per-round throughput ratio of `a` to `b`.
    fn ratio_iqr(&self, a: &str, b: &str) -> (f64, f64) {
        let mut r: Vec<f64> = self
            .times(a)
            .iter()
            .zip(self.times(b))
            .map(|(x, y)| y / x)
            .collect();
        r.sort_by(f64::total_cmp);
        let q = |p: f64| r[((r.len() - 1) as f64 * p).round() as usize];
        (q(0.25), q(0.75))
    }
}

type Op<'a> = (String, Box<dyn FnMut(usize) -> Sample + 'a>);

fn run_phase(rounds: usize, slice: Duration, mut ops: Vec<Op<'_>>) -> Phase {
    let names: Vec<String> = ops.iter().map(|(n, _)| n.clone()).collect();
    let mut refs: Vec<&mut dyn FnMut(usize) -> Sample> = ops
        .iter_mut()
        .map(|(_, op)| op.as_mut() as &mut dyn FnMut(usize) -> Sample)
        .collect();
    let times = interleave_sized(rounds, slice, &mut refs);
    Phase {
        rounds,
        times: names.into_iter().zip(times).collect(),
    }
}

fn chunk_name(c: usize) -> String {
    format!("batch_{c}")
}

fn single_op<'a>(single: &'a mut SingleValidation<'_>) -> Op<'a> {
    ("single".into(), Box::new(|n| Sample::items(single.run(n))))
}

/// Rounds of each phase: `(verify, batch, node, profile)`.
fn rounds(quick: bool) -> [usize; 4] {
    if quick {
        [50, 30, 30, 30]
    } else {
        [200, 120, 200, 120]
    }
}

/// The phases of one run: each interleaves single validation with what it is compared to.
struct Phases {
    /// single, single_lean, raw_verify, sodium_verify.
    verify: Phase,
    /// single, batch_N.
    batch: Phase,
    /// single, ssb_validate (if the Node side runs).
    node: Option<Phase>,
    /// single and the parts.
    profile: Phase,
}

fn verify_phase(w: &Workload, rounds: usize, slice: Duration) -> Phase {
    let mut single = SingleValidation::new(w);
    let mut lean = SingleValidation::lean(w);
    let mut raw = RawVerify::new(w);
    let mut sodium = SodiumVerify {
        w,
        next: 0,
        invalid: 0,
    };
    let phase = run_phase(
        rounds,
        slice,
        vec![
            single_op(&mut single),
            ("single_lean".into(), Box::new(|n| Sample::items(lean.run(n)))),
            ("raw_verify".into(), Box::new(|n| Sample::items(raw.run(n)))),
            ("sodium_verify".into(), Box::new(|n| Sample::items(sodium.run(n)))),
        ],
    );
    assert_eq!(
        single.invalid + lean.invalid + raw.invalid + sodium.invalid,
        0,
        "a valid message was refused"
    );
    phase
}

fn batch_phase(w: &Workload, rounds: usize, slice: Duration) -> Phase {
    let mut single = SingleValidation::new(w);
    let mut batches: Vec<BatchValidation> = CHUNKS.iter().map(|&c| BatchValidation::new(w, c)).collect();
    let phase = {
        let mut ops: Vec<Op> = vec![single_op(&mut single)];
        for b in batches.iter_mut() {
            ops.push((chunk_name(b.chunk()), Box::new(|n| Sample::items(b.run(n)))));
        }
        run_phase(rounds, slice, ops)
    };
    assert_eq!(single.invalid, 0, "a valid message was refused");
    for b in &batches {
        assert_eq!(b.invalid, 0, "batch {} refused a valid message", b.chunk());
    }
    phase
}

fn node_phase(w: &Workload, rounds: usize, slice: Duration, node: &mut NodeSide) -> Phase {
    // Node has sat idle through the phases before; let its JIT and heap settle again first.
    let t = Instant::now();
    while t.elapsed() < slice * 100 {
        node.run(w.len().min(1000))
            .unwrap_or_else(|e| panic!("node side: {e}"));
    }
    let mut single = SingleValidation::new(w);
    let phase = run_phase(
        rounds,
        slice,
        vec![
            single_op(&mut single),
            (
                "ssb_validate".into(),
                Box::new(|n| {
                    let (items, ns) = node.run(n).unwrap_or_else(|e| panic!("node side: {e}"));
                    Sample {
                        items,
                        self_ns: Some(ns),
                    }
                }),
            ),
        ],
    );
    assert_eq!(single.invalid, 0, "a valid message was refused");
    assert_eq!(node.invalid, 0, "ssb-validate refused a message");
    phase
}

fn profile_phase(w: &Workload, rounds: usize, slice: Duration) -> Phase {
    let mut single = SingleValidation::new(w);
    let timer = timer_overhead_ns();
    let mut parts: Vec<PartOp> = Part::ALL.iter().map(|&p| PartOp::new(w, p, timer)).collect();
    let phase = {
        let mut ops: Vec<Op> = vec![single_op(&mut single)];
        for p in parts.iter_mut() {
            ops.push((
                p.part().name().into(),
                Box::new(|n| {
                    let (items, ns) = p.run(n);
                    Sample {
                        items,
                        self_ns: Some(ns),
                    }
                }),
            ));
        }
        run_phase(rounds, slice, ops)
    };
    assert_eq!(single.invalid, 0, "a valid message was refused");
    phase
}

fn run_phases(w: &Workload, quick: bool, slice: Duration, node: Option<&mut NodeSide>) -> Phases {
    let [rv, rb, rn, rp] = rounds(quick);
    eprintln!("feeds: verify phase, {rv} rounds…");
    let verify = verify_phase(w, rv, slice);
    eprintln!("feeds: batch phase, {rb} rounds…");
    let batch = batch_phase(w, rb, slice);
    let node = node.map(|n| {
        eprintln!("feeds: ssb-validate phase, {rn} rounds…");
        node_phase(w, rn, slice, n)
    });
    eprintln!("feeds: profile phase, {rp} rounds…");
    let profile = profile_phase(w, rp, slice);
    Phases {
        verify,
        batch,
        node,
        profile,
    }
}

// ---------------------------------------------------------------------------------------------
// The report

fn fmt_ns(ns: f64) -> String {
    if ns >= 1e3 {
        format!("{:.2} µs", ns / 1e3)
    } else {
        format!("{ns:.0} ns")
    }
}

fn fmt_rate(r: f64) -> String {
    format!("{r:.0}")
}

fn verdict(met: bool) -> &'static str {
    if met {
        "met"
    } else {
        "**NOT met**"
    }
}

struct Report<'a> {
    w: &'a Workload,
    quick: bool,
    p: Phases,
    /// Node's versions and sodium backend, or why there is no Node side.
    node: Result<(String, String), String>,
    elapsed: Duration,
}

impl Report<'_> {
    fn best_chunk(&self) -> usize {
        let b = &self.p.batch;
        *CHUNKS
            .iter()
            .min_by(|x, y| b.ns(&chunk_name(**x)).total_cmp(&b.ns(&chunk_name(**y))))
            .expect("chunks")
    }

    fn markdown(&self) -> String {
        let mut md = String::new();
        let _ = writeln!(md, "# Classic feed validation benchmarks\n");
        let _ = writeln!(
            md,
            "Generated by `cargo bench -p ssb-benches --bench feeds`{} at {} on {}; the run took {:.0} s.\n",
            if self.quick { " (`--quick`)" } else { "" },
            utc_timestamp(SystemTime::now()),
            machine_description(),
            self.elapsed.as_secs_f64()
        );
        md.push_str(&self.headline_markdown());
        md.push_str(&self.workload_markdown());
        md.push_str(&self.batch_markdown());
        md.push_str(&self.profile_markdown());
        md.push_str(&self.findings_markdown());
        md.push_str(&self.method_markdown());
        md
    }

    fn headline_markdown(&self) -> String {
        let (v, bt) = (&self.p.verify, &self.p.batch);
        let mut md = String::new();
        let best = self.best_chunk();
        let bn = chunk_name(best);
        let _ = writeln!(md, "## Headline\n");
        let _ = writeln!(md, "| figure | per second | per message |\n|---|---|---|");
        let mut row = |what: &str, ph: &Phase, name: &str, unit: &str| {
            let _ = writeln!(
                md,
                "| {what} | {} {unit} | {} |",
                fmt_rate(ph.rate(name)),
                fmt_ns(ph.ns(name))
            );
        };
        row(
            "single validation: `parse` (JsCompat) + the author's `FeedValidator::append`",
            v,
            "single",
            "msgs/s",
        );
        row(
            "*projection:* single validation with the bench's `prepare_lean` (see Findings)",
            v,
            "single_lean",
            "msgs/s",
        );
        row(
            &format!("batch validation: `parse` + `BatchValidator::validate`, best chunk ({best} messages)"),
            bt,
            &bn,
            "msgs/s",
        );
        row(
            "raw `crypto::ed25519_verify` (ed25519-dalek, libsodium's rules), same triples",
            v,
            "raw_verify",
            "verifications/s",
        );
        row(
            "raw libsodium `crypto_sign_verify_detached`, same triples (reference)",
            v,
            "sodium_verify",
            "verifications/s",
        );
        if let Some(n) = &self.p.node {
            row(
                "ssb-validate 4.1.4 in Node: `JSON.parse` + `append`",
                n,
                "ssb_validate",
                "msgs/s",
            );
        }

        let _ = writeln!(
            md,
            "\n| ratio of throughputs (each from its own interleaved phase) | goal | measured (IQR over rounds) | |\n|---|---|---|---|"
        );
        let r = v.ratio("single", "raw_verify");
        let (lo, hi) = v.ratio_iqr("single", "raw_verify");
        let _ = writeln!(
            md,
            "| **single ÷ raw ed25519 verify** | ≥ {:.0} % | **{:.1} %** ({:.1}–{:.1} %) | {} |",
            GOAL_SINGLE_VS_VERIFY * 100.0,
            r * 100.0,
            lo * 100.0,
            hi * 100.0,
            verdict(r >= GOAL_SINGLE_VS_VERIFY)
        );
        let r = bt.ratio(&bn, "single");
        let (lo, hi) = bt.ratio_iqr(&bn, "single");
        let _ = writeln!(
            md,
            "| **batch (best chunk, {best}) ÷ single** | ≥ {GOAL_BATCH_VS_SINGLE:.1}× | **{r:.2}×** ({lo:.2}–{hi:.2}×) | {} |",
            verdict(r >= GOAL_BATCH_VS_SINGLE)
        );
        match &self.p.node {
            Some(n) => {
                let r = n.ratio("single", "ssb_validate");
                let (lo, hi) = n.ratio_iqr("single", "ssb_validate");
                let _ = writeln!(
                    md,
                    "| **single ÷ ssb-validate** | ≥ {GOAL_SINGLE_VS_JS:.0}× | **{r:.2}×** ({lo:.2}–{hi:.2}×) | {} |",
                    verdict(r >= GOAL_SINGLE_VS_JS)
                );
            }
            None => {
                let _ = writeln!(
                    md,
                    "| **single ÷ ssb-validate** | ≥ {GOAL_SINGLE_VS_JS:.0}× | not measured | — |"
                );
            }
        }
        let _ = writeln!(
            md,
            "| raw verify, ours ÷ libsodium's | — | {:.1} % | |",
            v.ratio("raw_verify", "sodium_verify") * 100.0
        );
        if let Some(n) = &self.p.node {
            let _ = writeln!(
                md,
                "| ssb-validate's time per message ÷ one verification (ours / libsodium's): the \
                 most a validator that verifies each message alone can gain over it | — | \
                 {:.2}× / {:.2}× | |",
                n.ns("ssb_validate") / v.ns("raw_verify"),
                n.ns("ssb_validate") / v.ns("sodium_verify")
            );
        }
        match &self.node {
            Ok((versions, backend)) => {
                let _ = writeln!(md, "\nNode side: {versions}; chloride's backend: {backend}.");
            }
            Err(why) => {
                let _ = writeln!(md, "\nNode side not measured: {why}.");
            }
        }
        md
    }

    fn workload_markdown(&self) -> String {
        let w = self.w;
        let mut md = String::new();
        let text = w.size_stats(|i| w.texts[i].len());
        let content = w.size_stats(|i| w.content_bytes(i));
        let units = w.size_stats(|i| w.signing_len(i));
        let signed = w.size_stats(|i| w.triples[i].signed.len());
        let _ = writeln!(md, "\n## Workload\n");
        let _ = writeln!(
            md,
            "{} feeds × {} classic messages = {} messages, built with `sign_message` (seeded, so \
             the same every run) and interleaved at random with each feed in sequence order. \
             Every message is a `post`: a `text` with {:.1} % non-ASCII bytes (accented Latin, \
             Cyrillic, CJK, emoji outside the BMP) and escapes, a quarter with a `channel`, a \
             third replies (`root`, `branch`), a fifth with `mentions`; a quarter of the \
             timestamps have a fractional part.\n\n\
             | size (min / mean / max) | |\n|---|---|\n\
             | content, compact JSON, UTF-8 bytes | {} / {:.0} / {} |\n\
             | message, compact JSON text (what is parsed), UTF-8 bytes | {} / {:.0} / {} |\n\
             | signing encoding (`JSON.stringify(msg, null, 2)`), UTF-16 units | {} / {:.0} / {} |\n\
             | signed bytes (UTF-8 of the encoding without the signature) | {} / {:.0} / {} |\n",
            w.feeds,
            w.per_feed,
            w.len(),
            w.non_ascii_share() * 100.0,
            content.0,
            content.1,
            content.2,
            text.0,
            text.1,
            text.2,
            units.0,
            units.1,
            units.2,
            signed.0,
            signed.1,
            signed.2
        );
        let _ = writeln!(
            md,
            "Every operation accepted every message in every round{}.",
            if self.p.node.is_some() {
                "; ssb-validate accepted them all too and computed the same message ids (sha256 \
                 of all ids in stream order compared)"
            } else {
                ""
            }
        );
        md
    }

    fn batch_markdown(&self) -> String {
        let b = &self.p.batch;
        let best = self.best_chunk();
        let mut md = String::new();
        let _ = writeln!(md, "\n## Batch chunk sizes\n");
        let _ = writeln!(
            md,
            "Batch phase: single validation ({} msgs/s here) interleaved with batch validation at \
             each chunk size.\n",
            fmt_rate(b.rate("single"))
        );
        let _ = writeln!(
            md,
            "| chunk | msgs/s | per message | ÷ single (IQR) |\n|---|---|---|---|"
        );
        for c in CHUNKS {
            let n = chunk_name(c);
            let (lo, hi) = b.ratio_iqr(&n, "single");
            let _ = writeln!(
                md,
                "| {c}{} | {} | {} | {:.2}× ({lo:.2}–{hi:.2}×) |",
                if c == best { " (best)" } else { "" },
                fmt_rate(b.rate(&n)),
                fmt_ns(b.ns(&n)),
                b.ratio(&n, "single")
            );
        }
        md
    }

    fn profile_markdown(&self) -> String {
        let b = &self.p.profile;
        let mut md = String::new();
        let single = b.ns("single");
        let verify = b.ns("ed25519_verify");
        let parse = b.ns("parse");
        let prepare = b.ns("prepare");
        let feed = b.ns("feed_bookkeeping");
        let check = b.ns("check_message");
        let rest = single - parse - prepare - verify - feed;
        let _ = writeln!(md, "\n## Where single validation spends its time\n");
        let _ = writeln!(
            md,
            "Profile phase: single validation ({} per message here; `ed25519_verify` in the flow \
             is {:.1} % of it) interleaved with its parts, each timed alone inside the flow: on \
             the output of the steps before it, made untimed just before (fresh and in cache, as \
             in single validation), timer cost subtracted.\n",
            fmt_ns(single),
            verify / single * 100.0
        );
        let _ = writeln!(md, "| part | per message | share of single |\n|---|---|---|");
        let mut row = |what: &str, ns: f64| {
            let _ = writeln!(md, "| {what} | {} | {:.1} % |", fmt_ns(ns), ns / single * 100.0);
        };
        row("**single validation** (parse + append)", single);
        row("`parse` (JsCompat) of the compact JSON text", parse);
        row(
            "`prepare`: field rules, signing encoding, id, signed bytes",
            prepare,
        );
        row("`ed25519_verify`", verify);
        row(
            "feed state: validator lookup by `author` + `append_prepared` (signature known)",
            feed,
        );
        row(
            "remainder (single − the four): the steps back to back rather than alone (caches, \
             branch predictors, allocator)",
            rest,
        );
        row(
            "*for comparison:* `check_message(parse(text))`, parse + prepare + verify back to back",
            check,
        );
        let _ = writeln!(
            md,
            "\nInside `prepare` (and, for scale, one part of `ed25519_verify`):\n"
        );
        let _ = writeln!(
            md,
            "| part | per message | share of prepare | what |\n|---|---|---|---|"
        );
        for (name, what) in PREPARE_PARTS {
            let ns = b.ns(name);
            let _ = writeln!(
                md,
                "| `{name}` | {} | {:.1} % | {what} |",
                fmt_ns(ns),
                ns / prepare * 100.0
            );
        }
        let sum: f64 = PREPARE_PARTS[..6].iter().map(|(n, _)| b.ns(n)).sum();
        let _ = writeln!(
            md,
            "\nThe first six rows are disjoint and are all `prepare` does besides small checks: \
             they add up to {} against {} for `prepare` as a whole ({:.0} %).",
            fmt_ns(sum),
            fmt_ns(prepare),
            sum / prepare * 100.0
        );
        md
    }

    fn findings_markdown(&self) -> String {
        let b = &self.p.profile;
        let v = &self.p.verify;
        let mut md = String::new();
        let ns = |n: &str| b.ns(n);
        let budget = v.ns("raw_verify") / GOAL_SINGLE_VS_VERIFY - v.ns("raw_verify");
        let overhead = v.ns("single") - v.ns("raw_verify");
        let _ = writeln!(md, "\n## Findings\n");
        let _ = writeln!(
            md,
            "* Single validation costs {} per message beyond the signature check (verify phase: \
             {} against {}); the 80 % goal allows {}.",
            fmt_ns(overhead),
            fmt_ns(v.ns("single")),
            fmt_ns(v.ns("raw_verify")),
            fmt_ns(budget)
        );
        let lean = v.ns("single_lean");
        let (lean_lo, lean_hi) = v.ratio_iqr("single_lean", "raw_verify");
        let _ = writeln!(
            md,
            "* `prepare` encodes the message once and cuts the signed bytes from that encoding \
             (the order check has put `signature` last, so the encoding without it is the full \
             one cut before `,\\n  \"signature\": ` plus `\\n}}`). The bench's `prepare_lean` \
             does the same and also writes UTF-8 directly and skips a few allocations in the field \
             checks (checked to give the same `Prepared` for every message): {} against {} for \
             `prepare`; single validation with it (`append_prepared` on its output, verify phase) \
             takes {} per message: **{:.1} %** of raw verify (IQR {:.1}–{:.1} %), against {:.1} % now.",
            fmt_ns(ns("prepare_lean")),
            fmt_ns(ns("prepare")),
            fmt_ns(lean),
            v.ratio("single_lean", "raw_verify") * 100.0,
            lean_lo * 100.0,
            lean_hi * 100.0,
            v.ratio("single", "raw_verify") * 100.0
        );
        let _ = writeln!(
            md,
            "* UTF-16 → UTF-8 of the signed encoding costs {} with `String::from_utf16_lossy` and \
             {} written directly; the key-order check, base64 decoding and canonical re-encoding \
             of author, previous and signature cost {}; `parse` costs {} for {:.0} bytes of text.",
            fmt_ns(ns("utf16_to_utf8")),
            fmt_ns(ns("utf16_to_utf8_direct")),
            fmt_ns(ns("field_checks")),
            fmt_ns(ns("parse")),
            self.w.size_stats(|i| self.w.texts[i].len()).1
        );
        if let Some(n) = &self.p.node {
            let _ = writeln!(
                md,
                "* ssb-validate takes {} per message, of which libsodium's verification (through \
                 sodium-native) is about {}: with one `ed25519_verify` per message, a validator \
                 cannot be more than {:.1}× faster than ssb-validate however little else it does. \
                 The 10× goal needs fewer verifications per message than one: batching gives \
                 {:.1}× here, more cores would multiply that.",
                fmt_ns(n.ns("ssb_validate")),
                fmt_ns(v.ns("sodium_verify")),
                n.ns("ssb_validate") / v.ns("raw_verify"),
                n.ns("ssb_validate") / self.p.batch.ns(&chunk_name(self.best_chunk()))
            );
        }
        md
    }

    fn method_markdown(&self) -> String {
        let p = &self.p;
        let mut md = String::new();
        let _ = writeln!(md, "\n## Method\n");
        let _ = writeln!(
            md,
            "One process, one core. Four phases, each interleaving single validation with what it \
             is compared to, so each ratio is taken against single validation measured at the same \
             moments and after the same neighbours: verify ({} rounds: single, single with \
             `prepare_lean`, raw verify ours and libsodium's), batch ({} rounds: single, batch \
             at chunk sizes {:?}), ssb-validate ({}) and profile ({} rounds: single and its parts). A round calls every operation of its \
             phase once for about {} ms of wall-clock time (units per call sized once up front), \
             in an order that rotates from round to round. Every operation walks the whole stream \
             in order and starts again at the first message with fresh validators at its end. \
             Figures are medians over rounds of nanoseconds per message; ratios are medians of the \
             per-round ratios, where load from other processes mostly cancels (IQR: the middle half \
             of the per-round ratios).\n\n\
             The ssb-validate figure is timed inside Node (`process.hrtime` around its loop; no \
             pipe I/O): `benches/js/validate-bench.js --serve` reads the same messages from a \
             JSON-lines file and, per message, runs `JSON.parse` and `validate.append(state, \
             null, msg)` with one state for all feeds (reset at the end of the stream), after a \
             checked pass at start-up and about {} s of warm-up right before its phase. Of all \
             figures it varies most from run to run on a loaded machine (V8's garbage collector \
             works on helper threads, which compete with other processes for the two cores). \
             `node benches/js/validate-bench.js FILE` runs it standalone.",
            p.verify.rounds,
            p.batch.rounds,
            CHUNKS,
            p.node.as_ref().map_or("not run".to_string(), |n| format!(
                "{} rounds: single, ssb-validate",
                n.rounds
            )),
            p.profile.rounds,
            SLICE.as_millis(),
            (SLICE * 100).as_secs(),
        );
        md
    }
}

/// The parts of `prepare` in the profile table: name and what it is.
const PREPARE_PARTS: [(&str, &str); 10] = [
    (
        "field_checks",
        "key order (7 `String`s), author/previous/signature to `String`, base64 decode and \
         re-encode (canonical check), content rule",
    ),
    (
        "clone_message",
        "`Value::Object(msg.clone())`: deep copy of the message, only to stringify it",
    ),
    (
        "stringify_message",
        "`to_signing_units`: `JSON.stringify(msg, null, 2)` as UTF-16",
    ),
    (
        "latin1_sha256",
        "`latin1_sha256(units)`: low bytes into a new `Vec<u8>`, sha256 (the id)",
    ),
    (
        "without_signature",
        "`msg.without(\"signature\")`: deep copy minus the signature",
    ),
    (
        "signed_bytes",
        "`signed_bytes(unsigned)`: another deep copy, stringify again, UTF-16 → UTF-8",
    ),
    (
        "utf16_to_utf8",
        "of which: `String::from_utf16_lossy` of the unsigned encoding",
    ),
    (
        "verify_sha512",
        "sha512(R ‖ A ‖ signed bytes), inside `ed25519_verify`",
    ),
    (
        "prepare_lean",
        "*proposed:* `prepare` with one encoding, no copies, direct UTF-8 (see Findings)",
    ),
    (
        "utf16_to_utf8_direct",
        "*proposed:* UTF-16 → UTF-8 written directly (what `prepare_lean` uses)",
    ),
];

fn measure(quick: bool) {
    let started = Instant::now();
    sodium_init();
    eprintln!("feeds: generating {FEEDS} × {PER_FEED} messages…");
    let w = Workload::generate(FEEDS, PER_FEED, SEED);
    eprintln!(
        "feeds: {} messages in {:.1} s",
        w.len(),
        started.elapsed().as_secs_f64()
    );
    let jsonl = TempJsonl::write(&w).expect("write the messages for Node");
    if let Some(keep) = std::env::var_os("FEEDS_JSONL") {
        match std::fs::copy(&jsonl.0, &keep) {
            Ok(_) => eprintln!("feeds: messages also written to {}", Path::new(&keep).display()),
            Err(e) => eprintln!("feeds: could not write {}: {e}", Path::new(&keep).display()),
        }
    }
    let mut node = node_side(&w, &jsonl.0, true);
    if let Err(why) = &node {
        eprintln!("feeds: ssb-validate not measured: {why}");
    }
    let node_info = node
        .as_ref()
        .map(|n| (n.hello.versions.clone(), n.hello.backend.clone()))
        .map_err(Clone::clone);
    let phases = run_phases(&w, quick, SLICE, node.as_mut().ok());
    drop(node);
    let report = Report {
        w: &w,
        quick,
        p: phases,
        node: node_info,
        elapsed: started.elapsed(),
    };
    let md = report.markdown();
    println!("\n{md}");
    let manifest_dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let out_dir = manifest_dir
        .parent()
        .unwrap_or(&manifest_dir)
        .join("reports/bench");
    let path = out_dir.join("feeds.md");
    match std::fs::create_dir_all(&out_dir).and_then(|()| std::fs::write(&path, &md)) {
        Ok(()) => println!("Summary written to {}", path.display()),
        Err(e) => eprintln!("could not write {}: {e}", path.display()),
    }
}

/// `cargo test --benches`: every operation on a tiny workload, each phase for two short rounds
/// (the Node one if the Node side is installed), the report rendered but not written.
fn smoke() {
    let t = Instant::now();
    sodium_init();
    let w = Workload::generate(3, 8, SEED);
    let jsonl = TempJsonl::write(&w).expect("temp file");
    let mut node = match node_side(&w, &jsonl.0, false) {
        Ok(n) => Some(n),
        Err(why) => {
            println!("feeds smoke: Node side skipped: {why}");
            None
        }
    };
    let slice = Duration::from_millis(1);
    let p = Phases {
        verify: verify_phase(&w, 2, slice),
        batch: batch_phase(&w, 2, slice),
        node: node.as_mut().map(|n| node_phase(&w, 2, slice, n)),
        profile: profile_phase(&w, 2, slice),
    };
    assert!(
        w.triples.iter().all(sodium_verify),
        "libsodium accepts our signatures"
    );
    let checked = p.node.is_some();
    let md = Report {
        w: &w,
        quick: true,
        p,
        node: Err("smoke test".into()),
        elapsed: t.elapsed(),
    }
    .markdown();
    assert!(md.contains("## Headline") && md.contains("## Findings"));
    println!(
        "feeds smoke: ok ({} messages, Node side {}) in {:.1} s",
        w.len(),
        if checked { "checked" } else { "skipped" },
        t.elapsed().as_secs_f64()
    );
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.iter().any(|a| a == "--list") {
        return;
    }
    if is_measuring_run(&args) {
        measure(args.iter().any(|a| a == "--quick"));
    } else {
        smoke();
    }
}
