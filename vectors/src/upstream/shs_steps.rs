//! The per-step secret-handshake records of `shs-test-secret-handshake/data.json`
//! (auditdrivencrypto/test-secret-handshake 1.0.2), loaded into typed records and checked with
//! our implementation: `ssb_impl::shs::steps` for the messages and keys the protocol defines,
//! `ssb_impl::crypto` for the Diffie-Hellman values and key derivations around them.
//!
//! Each record is one call of a function of the 2017 JS `secret-handshake/crypto.js`:
//! `{name, args, result}`, every binary value a lowercase hex string. The JS functions mutate
//! the state they are given and the recorder serialized the arguments *after* the call, so a
//! record's `args[0]` already holds the fields the call set (for a state-returning call it is
//! identical to `result`; for a rejected call it holds what was set before the rejection). The
//! checker therefore takes only true inputs from `args[0]` (keys, ephemeral keys, the network
//! key, the incoming message) and recomputes every derived field itself.
//!
//! Field meanings, as established by recomputing them (K = `app_key`, a/b = client/server
//! ephemeral, A/B = client/server long-term key):
//! - `local.kx_sk` = `crypto_sign_ed25519_sk_to_curve25519(seed_keypair(random))`, i.e. the
//!   *clamped* first half of sha512(`random`); `local.kx_pk` = x25519_base of it, which equals
//!   libsodium's `crypto_box_seed_keypair(random)` public key (whose secret key is the same
//!   bytes unclamped). `local.app_mac` = auth(K, kx_pk).
//! - `secret` = ab (x25519 of the ephemerals), `shash` = sha256(ab).
//! - `a_bob` = aB (client ephemeral × server long-term), `secret2` = sha256(K ‖ ab ‖ aB), the
//!   msg3 box key.
//! - `b_alice` = Ab (client long-term × server ephemeral), `secret3` = sha256(K ‖ ab ‖ aB ‖ Ab),
//!   the msg4 box key.
//! - `local.hello` (client) / `remote.hello` (server) = sig_A ‖ A, the plaintext of msg3.
//! - In `clean` records: `secret` = sha256(secret3) (the box-stream master key),
//!   `encryptKey` = sha256(secret ‖ remote.publicKey), `decryptKey` = sha256(secret ‖
//!   local.publicKey); the other secrets are nulled, including `local.kx_sk`.
//!
//! Upstream skips the 12 `clean` records; [`check_shs_steps`] reports them as skipped.
//! [`check_shs_box_stream_keys`] checks their box-stream keys separately, by recomputing the
//! msg4 key of the step record that precedes each of them in the same session.

use std::path::{Path, PathBuf};

use serde_json::{Map, Value};
use ssb_impl::crypto;
use ssb_impl::shs::{steps, Step};
use ssb_impl::FeedId;

use super::{decode_hex, read_json, UpstreamError};

/// Path of the records below the upstream directory.
pub const SHS_STEPS_FILE: &str = "shs-test-secret-handshake/data.json";

/// The recorded function of the JS `secret-handshake/crypto.js`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Function {
    Initialize,
    ToKeys,
    CreateChallenge,
    VerifyChallenge,
    ClientVerifyChallenge,
    ClientCreateAuth,
    ServerVerifyAuth,
    ServerCreateAccept,
    ClientVerifyAccept,
    Clean,
}

impl Function {
    /// Every function, in protocol order.
    pub const ALL: [Function; 10] = [
        Function::Initialize,
        Function::ToKeys,
        Function::CreateChallenge,
        Function::VerifyChallenge,
        Function::ClientVerifyChallenge,
        Function::ClientCreateAuth,
        Function::ServerVerifyAuth,
        Function::ServerCreateAccept,
        Function::ClientVerifyAccept,
        Function::Clean,
    ];

    /// The JS name, as in the record's `name`.
    pub fn name(self) -> &'static str {
        match self {
            Function::Initialize => "initialize",
            Function::ToKeys => "toKeys",
            Function::CreateChallenge => "createChallenge",
            Function::VerifyChallenge => "verifyChallenge",
            Function::ClientVerifyChallenge => "clientVerifyChallenge",
            Function::ClientCreateAuth => "clientCreateAuth",
            Function::ServerVerifyAuth => "serverVerifyAuth",
            Function::ServerCreateAccept => "serverCreateAccept",
            Function::ClientVerifyAccept => "clientVerifyAccept",
            Function::Clean => "clean",
        }
    }

    /// The function of a JS name.
    pub fn from_name(name: &str) -> Option<Function> {
        Function::ALL.into_iter().find(|f| f.name() == name)
    }
}

/// One side's keys in a handshake state (`local` or `remote`). Absent and `null` fields are
/// `None`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Party {
    /// Long-term ed25519 public key.
    pub public_key: Option<[u8; 32]>,
    /// Long-term ed25519 secret key, libsodium layout `seed ‖ public key`.
    pub secret_key: Option<[u8; 64]>,
    /// Ephemeral curve25519 public key.
    pub kx_pk: Option<[u8; 32]>,
    /// Ephemeral curve25519 secret key.
    pub kx_sk: Option<[u8; 32]>,
    /// The hello's HMAC: auth(K, kx_pk).
    pub app_mac: Option<[u8; 32]>,
    /// sig_A ‖ A, the plaintext of msg3.
    pub hello: Option<[u8; 96]>,
}

/// A handshake state object of the JS implementation, with the JS-internal `auth` field
/// dropped. Absent and `null` fields are `None`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct State {
    /// The network key K.
    pub app_key: Option<[u8; 32]>,
    /// Seed of the long-term key, when the state was made from one.
    pub seed: Option<[u8; 32]>,
    /// Seed of the ephemeral key pair.
    pub random: Option<[u8; 32]>,
    pub local: Party,
    pub remote: Party,
    /// ab; in `clean` records, sha256(secret3).
    pub secret: Option<[u8; 32]>,
    /// sha256(ab).
    pub shash: Option<[u8; 32]>,
    /// aB.
    pub a_bob: Option<[u8; 32]>,
    /// sha256(K ‖ ab ‖ aB): the msg3 key.
    pub secret2: Option<[u8; 32]>,
    /// Ab.
    pub b_alice: Option<[u8; 32]>,
    /// sha256(K ‖ ab ‖ aB ‖ Ab): the msg4 key.
    pub secret3: Option<[u8; 32]>,
    /// Box-stream key for sending (`clean` records only).
    pub encrypt_key: Option<[u8; 32]>,
    /// Box-stream key for receiving (`clean` records only).
    pub decrypt_key: Option<[u8; 32]>,
}

/// An argument or result of a recorded call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ShsValue {
    /// A hex string: a message or a seed.
    Bytes(Vec<u8>),
    /// A handshake state.
    State(Box<State>),
    /// `{publicKey, secretKey}`, the ed25519 key pair of `toKeys`.
    Keys {
        public_key: [u8; 32],
        secret_key: [u8; 64],
    },
}

impl ShsValue {
    fn state(&self) -> Option<&State> {
        match self {
            ShsValue::State(s) => Some(s),
            _ => None,
        }
    }

    fn bytes(&self) -> Option<&[u8]> {
        match self {
            ShsValue::Bytes(b) => Some(b),
            _ => None,
        }
    }
}

/// One record of `data.json`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShsRecord {
    /// Position in the file's array, from 0.
    pub index: usize,
    pub function: Function,
    pub args: Vec<ShsValue>,
    /// `None` when the recorded result is `null`: the call rejected its input.
    pub result: Option<ShsValue>,
}

impl ShsRecord {
    /// Upstream's result is `null`: a conforming implementation must reject the input.
    pub fn must_reject(&self) -> bool {
        self.result.is_none()
    }

    /// A short label for messages: `#12 clientVerifyAccept`.
    pub fn label(&self) -> String {
        format!("#{} {}", self.index, self.function.name())
    }
}

/// Loads `shs-test-secret-handshake/data.json` from the upstream directory.
pub fn load_shs_steps(dir: &Path) -> Result<Vec<ShsRecord>, UpstreamError> {
    let (path, json): (PathBuf, Value) = read_json(dir, SHS_STEPS_FILE)?;
    let bad = |record: String, problem: String| UpstreamError::Record {
        path: path.clone(),
        record,
        problem,
    };
    let Value::Array(items) = json else {
        return Err(bad("(top level)".into(), "expected an array of records".into()));
    };
    let mut out = Vec::with_capacity(items.len());
    for (index, item) in items.iter().enumerate() {
        let Value::Object(obj) = item else {
            return Err(bad(format!("#{index}"), "not an object".into()));
        };
        let name = obj.get("name").and_then(Value::as_str).unwrap_or("");
        let label = format!("#{index} {name}");
        let function = Function::from_name(name)
            .ok_or_else(|| bad(label.clone(), format!("unknown function {name:?}")))?;
        let Some(Value::Array(args)) = obj.get("args") else {
            return Err(bad(label, "`args` is not an array".into()));
        };
        let d = Decoder {
            path: &path,
            record: &label,
        };
        let args = args
            .iter()
            .enumerate()
            .map(|(i, a)| d.value(a, &format!("args[{i}]")))
            .collect::<Result<Vec<_>, _>>()?;
        let result = match obj.get("result") {
            None => return Err(bad(label, "no `result`".into())),
            Some(Value::Null) => None,
            Some(v) => Some(d.value(v, "result")?),
        };
        out.push(ShsRecord {
            index,
            function,
            args,
            result,
        });
    }
    Ok(out)
}

/// Decodes the JSON values of one record, naming the record and field on failure.
struct Decoder<'a> {
    path: &'a Path,
    record: &'a str,
}

impl Decoder<'_> {
    fn err(&self, problem: String) -> UpstreamError {
        UpstreamError::Record {
            path: self.path.to_path_buf(),
            record: self.record.to_string(),
            problem,
        }
    }

    fn value(&self, v: &Value, at: &str) -> Result<ShsValue, UpstreamError> {
        match v {
            Value::String(s) => Ok(ShsValue::Bytes(decode_hex(self.path, self.record, at, s)?)),
            Value::Object(obj) if !obj.contains_key("local") && obj.contains_key("publicKey") => {
                let public_key = self.fixed(obj, "publicKey", at)?;
                let secret_key = self.fixed(obj, "secretKey", at)?;
                self.only(obj, &["publicKey", "secretKey"], at)?;
                match (public_key, secret_key) {
                    (Some(public_key), Some(secret_key)) => Ok(ShsValue::Keys {
                        public_key,
                        secret_key,
                    }),
                    _ => Err(self.err(format!("{at}: key pair without publicKey or secretKey"))),
                }
            }
            Value::Object(obj) => Ok(ShsValue::State(Box::new(self.state(obj, at)?))),
            other => Err(self.err(format!("{at}: unexpected JSON value {other}"))),
        }
    }

    fn state(&self, obj: &Map<String, Value>, at: &str) -> Result<State, UpstreamError> {
        self.only(
            obj,
            &[
                "app_key",
                "seed",
                "random",
                "local",
                "remote",
                "secret",
                "shash",
                "a_bob",
                "secret2",
                "b_alice",
                "secret3",
                "encryptKey",
                "decryptKey",
                // JS test-harness artefact ({okay, random float} or a bool): not protocol data.
                "auth",
            ],
            at,
        )?;
        Ok(State {
            app_key: self.fixed(obj, "app_key", at)?,
            seed: self.fixed(obj, "seed", at)?,
            random: self.fixed(obj, "random", at)?,
            local: self.party(obj, "local", at)?,
            remote: self.party(obj, "remote", at)?,
            secret: self.fixed(obj, "secret", at)?,
            shash: self.fixed(obj, "shash", at)?,
            a_bob: self.fixed(obj, "a_bob", at)?,
            secret2: self.fixed(obj, "secret2", at)?,
            b_alice: self.fixed(obj, "b_alice", at)?,
            secret3: self.fixed(obj, "secret3", at)?,
            encrypt_key: self.fixed(obj, "encryptKey", at)?,
            decrypt_key: self.fixed(obj, "decryptKey", at)?,
        })
    }

    fn party(&self, obj: &Map<String, Value>, key: &str, at: &str) -> Result<Party, UpstreamError> {
        let at = format!("{at}.{key}");
        let p = match obj.get(key) {
            None | Some(Value::Null) => return Ok(Party::default()),
            Some(Value::Object(p)) => p,
            Some(other) => return Err(self.err(format!("{at}: expected an object, got {other}"))),
        };
        self.only(
            p,
            &["publicKey", "secretKey", "kx_pk", "kx_sk", "app_mac", "hello"],
            &at,
        )?;
        Ok(Party {
            public_key: self.fixed(p, "publicKey", &at)?,
            secret_key: self.fixed(p, "secretKey", &at)?,
            kx_pk: self.fixed(p, "kx_pk", &at)?,
            kx_sk: self.fixed(p, "kx_sk", &at)?,
            app_mac: self.fixed(p, "app_mac", &at)?,
            hello: self.fixed(p, "hello", &at)?,
        })
    }

    /// Refuses keys outside `allowed`, so that a misread format shows up as an error.
    fn only(&self, obj: &Map<String, Value>, allowed: &[&str], at: &str) -> Result<(), UpstreamError> {
        match obj.keys().find(|k| !allowed.contains(&k.as_str())) {
            Some(k) => Err(self.err(format!("{at}: unknown field {k:?}"))),
            None => Ok(()),
        }
    }

    /// A hex field of exactly `N` bytes; absent or `null` gives `None`.
    fn fixed<const N: usize>(
        &self,
        obj: &Map<String, Value>,
        key: &str,
        at: &str,
    ) -> Result<Option<[u8; N]>, UpstreamError> {
        let field = format!("{at}.{key}");
        match obj.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => {
                let bytes = decode_hex(self.path, self.record, &field, s)?;
                let len = bytes.len();
                bytes
                    .try_into()
                    .map(Some)
                    .map_err(|_| self.err(format!("{field}: expected {N} bytes, got {len}")))
            }
            Some(other) => Err(self.err(format!("{field}: expected a hex string, got {other}"))),
        }
    }
}

/// How one record fared.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RecordStatus {
    /// Every field matched, or a must-reject input was rejected.
    Pass,
    /// A mismatch, a wrong acceptance or rejection, or a record we could not evaluate.
    Fail,
    /// Not checked (`clean`, which upstream skips too).
    Skipped,
}

/// The outcome of one record, for tests and for the harness report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordResult {
    /// Position in `data.json`, from 0.
    pub index: usize,
    /// The JS function name.
    pub name: String,
    /// Upstream's result is `null`.
    pub must_reject: bool,
    pub status: RecordStatus,
    /// The record fields found equal to ours (`result.secret2`, `state.a_bob`, …).
    pub compared: Vec<String>,
    /// Why it failed or was skipped; for a rejection, our error.
    pub detail: String,
}

impl RecordResult {
    pub fn passed(&self) -> bool {
        self.status == RecordStatus::Pass
    }
}

impl std::fmt::Display for RecordResult {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let status = match self.status {
            RecordStatus::Pass => "pass",
            RecordStatus::Fail => "FAIL",
            RecordStatus::Skipped => "skipped",
        };
        write!(f, "#{} {} {status}", self.index, self.name)?;
        if self.must_reject {
            f.write_str(" (must reject)")?;
        }
        if !self.detail.is_empty() {
            write!(f, ": {}", self.detail)?;
        }
        Ok(())
    }
}

/// Counts over a list of [`RecordResult`]s.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ShsSummary {
    /// Records evaluated (not skipped).
    pub checked: usize,
    pub passed: usize,
    pub failed: usize,
    /// Checked records whose upstream result is `null`.
    pub must_reject: usize,
    /// Must-reject records we rejected (and so passed).
    pub rejected: usize,
    pub skipped: usize,
}

/// Tallies results.
pub fn summarize(results: &[RecordResult]) -> ShsSummary {
    let mut s = ShsSummary::default();
    for r in results {
        match r.status {
            RecordStatus::Skipped => {
                s.skipped += 1;
                continue;
            }
            RecordStatus::Pass => s.passed += 1,
            RecordStatus::Fail => s.failed += 1,
        }
        s.checked += 1;
        if r.must_reject {
            s.must_reject += 1;
            if r.status == RecordStatus::Pass {
                s.rejected += 1;
            }
        }
    }
    s
}

/// Loads `data.json` and evaluates every record except `clean` with our implementation.
pub fn check_shs_steps(dir: &Path) -> Result<Vec<RecordResult>, UpstreamError> {
    Ok(check_records(&load_shs_steps(dir)?))
}

/// Evaluates loaded records (see [`check_shs_steps`]).
pub fn check_records(records: &[ShsRecord]) -> Vec<RecordResult> {
    records.iter().map(check_record).collect()
}

/// Checks the box-stream keys of every `clean` record: the msg4 key is recomputed from the step
/// record that precedes it in the same session (`serverCreateAccept` or `clientVerifyAccept`
/// with the same local ephemeral key) and fed to `steps::outcome`; `encryptKey`, `decryptKey`
/// and `secret` (sha256 of the msg4 key) must match. Box-stream nonces are not recorded.
pub fn check_shs_box_stream_keys(dir: &Path) -> Result<Vec<RecordResult>, UpstreamError> {
    Ok(check_box_stream_keys(&load_shs_steps(dir)?))
}

/// See [`check_shs_box_stream_keys`].
pub fn check_box_stream_keys(records: &[ShsRecord]) -> Vec<RecordResult> {
    records
        .iter()
        .filter(|r| r.function == Function::Clean)
        .map(|clean| {
            let mut cmp = Cmp::new(false);
            let outcome = clean_keys(records, clean, &mut cmp);
            cmp.finish(clean, outcome)
        })
        .collect()
}

/// Why evaluation stopped early.
enum Stop {
    /// Our implementation refused the input.
    Rejected(String),
    /// The record lacks an input we need.
    Input(String),
}

type Eval = Result<(), Stop>;

fn rejected(e: impl std::fmt::Display) -> Stop {
    Stop::Rejected(e.to_string())
}

fn need<T: Copy>(v: Option<T>, what: &str) -> Result<T, Stop> {
    v.ok_or_else(|| Stop::Input(format!("record has no {what}")))
}

/// Compares our values with the record's, collecting matches and mismatches.
struct Cmp {
    /// For rejected calls: fields absent upstream were never set, which is not a mismatch.
    partial: bool,
    compared: Vec<String>,
    mismatches: Vec<String>,
}

impl Cmp {
    fn new(partial: bool) -> Self {
        Cmp {
            partial,
            compared: Vec::new(),
            mismatches: Vec::new(),
        }
    }

    fn check(&mut self, field: &str, ours: &[u8], theirs: Option<&[u8]>) {
        match theirs {
            Some(t) if t == ours => self.compared.push(field.to_string()),
            Some(t) => self.mismatches.push(format!(
                "{field}: ours {} ≠ upstream {}",
                hex::encode(ours),
                hex::encode(t)
            )),
            None if self.partial => {}
            None => self.mismatches.push(format!("{field}: absent upstream")),
        }
    }

    fn finish(self, record: &ShsRecord, outcome: Eval) -> RecordResult {
        let must_reject = record.must_reject();
        let (status, detail) = match outcome {
            Err(Stop::Input(why)) => (RecordStatus::Fail, format!("cannot evaluate: {why}")),
            Err(Stop::Rejected(why)) if !must_reject => (RecordStatus::Fail, format!("we rejected: {why}")),
            Ok(()) if must_reject => (
                RecordStatus::Fail,
                "we accepted an input upstream rejects".to_string(),
            ),
            _ if !self.mismatches.is_empty() => (RecordStatus::Fail, self.mismatches.join("; ")),
            Err(Stop::Rejected(why)) => (RecordStatus::Pass, format!("rejected: {why}")),
            Ok(()) if self.compared.is_empty() => (RecordStatus::Fail, "no field compared".to_string()),
            Ok(()) => (RecordStatus::Pass, String::new()),
        };
        RecordResult {
            index: record.index,
            name: record.function.name().to_string(),
            must_reject,
            status,
            compared: self.compared,
            detail,
        }
    }
}

fn check_record(record: &ShsRecord) -> RecordResult {
    if record.function == Function::Clean {
        return RecordResult {
            index: record.index,
            name: record.function.name().to_string(),
            must_reject: record.must_reject(),
            status: RecordStatus::Skipped,
            compared: Vec::new(),
            detail: "upstream skips `clean` (see check_shs_box_stream_keys)".to_string(),
        };
    }
    let mut cmp = Cmp::new(record.must_reject());
    let outcome = eval(record, &mut cmp);
    cmp.finish(record, outcome)
}

fn seed_of(p: &Party) -> Result<[u8; 32], Stop> {
    let sk = need(p.secret_key, "local.secretKey")?;
    Ok(sk[..32].try_into().expect("64-byte key"))
}

fn dh(secret: &[u8; 32], public: &[u8; 32], what: &str) -> Result<[u8; 32], Stop> {
    crypto::x25519(secret, public).map_err(|e| Stop::Rejected(format!("{what}: {e}")))
}

fn curve(ed_public: &[u8; 32], what: &str) -> Result<[u8; 32], Stop> {
    crypto::ed25519_pk_to_curve25519(ed_public).map_err(|e| Stop::Rejected(format!("{what}: {e}")))
}

fn cat(a: &[u8], b: &[u8]) -> Vec<u8> {
    [a, b].concat()
}

fn o<const N: usize>(v: &Option<[u8; N]>) -> Option<&[u8]> {
    v.as_ref().map(|a| &a[..])
}

/// The inputs and derived values of one side in the middle of a handshake.
struct Session {
    net: [u8; 32],
    ab: [u8; 32],
    a_b_long: [u8; 32],
    a_long_b: [u8; 32],
    sig_a: [u8; 64],
    client_pub: [u8; 32],
    server_pub: [u8; 32],
}

/// Recomputes ab, aB and Ab from a server's state after msg3 (comparing them on the way).
fn server_session(s: &State, cmp: &mut Cmp, prefix: &str) -> Result<Session, Stop> {
    let net = need(s.app_key, "app_key")?;
    let kx_sk = need(s.local.kx_sk, "local.kx_sk")?;
    let seed = seed_of(&s.local)?;
    let server_pub = need(s.local.public_key, "local.publicKey")?;
    let remote_kx = need(s.remote.kx_pk, "remote.kx_pk")?;
    let hello = need(s.remote.hello, "remote.hello")?;
    let client_pub = need(s.remote.public_key, "remote.publicKey")?;
    let ab = dh(&kx_sk, &remote_kx, "ab")?;
    cmp.check(&format!("{prefix}secret"), &ab, o(&s.secret));
    let a_b_long = dh(&crypto::ed25519_seed_to_curve25519(&seed), &remote_kx, "aB")?;
    cmp.check(&format!("{prefix}a_bob"), &a_b_long, o(&s.a_bob));
    let a_long_b = dh(&kx_sk, &curve(&client_pub, "client key")?, "Ab")?;
    cmp.check(&format!("{prefix}b_alice"), &a_long_b, o(&s.b_alice));
    Ok(Session {
        net,
        ab,
        a_b_long,
        a_long_b,
        sig_a: hello[..64].try_into().expect("96 bytes"),
        client_pub,
        server_pub,
    })
}

/// Recomputes ab, aB, Ab and the client's signature from a client's state after msg2.
fn client_session(s: &State, cmp: &mut Cmp, prefix: &str) -> Result<Session, Stop> {
    let net = need(s.app_key, "app_key")?;
    let kx_sk = need(s.local.kx_sk, "local.kx_sk")?;
    let seed = seed_of(&s.local)?;
    let client_pub = need(s.local.public_key, "local.publicKey")?;
    let server_pub = need(s.remote.public_key, "remote.publicKey")?;
    let remote_kx = need(s.remote.kx_pk, "remote.kx_pk")?;
    let ab = dh(&kx_sk, &remote_kx, "ab")?;
    cmp.check(&format!("{prefix}secret"), &ab, o(&s.secret));
    let a_b_long = dh(&kx_sk, &curve(&server_pub, "server key")?, "aB")?;
    cmp.check(&format!("{prefix}a_bob"), &a_b_long, o(&s.a_bob));
    let a_long_b = dh(&crypto::ed25519_seed_to_curve25519(&seed), &remote_kx, "Ab")?;
    let (_, sig_a) = steps::client_auth(&net, &seed, &client_pub, &server_pub, &ab, &a_b_long);
    cmp.check(
        &format!("{prefix}local.hello"),
        &cat(&sig_a, &client_pub),
        o(&s.local.hello),
    );
    Ok(Session {
        net,
        ab,
        a_b_long,
        a_long_b,
        sig_a,
        client_pub,
        server_pub,
    })
}

fn eval(record: &ShsRecord, cmp: &mut Cmp) -> Eval {
    let arg_state = record.args.first().and_then(ShsValue::state);
    let msg = record.args.get(1).and_then(ShsValue::bytes);
    // The state after the call: the result, or for a rejected call the (mutated) argument.
    let after = match &record.result {
        Some(ShsValue::State(s)) => Some(&**s),
        None => arg_state,
        _ => None,
    };
    let result_bytes = record.result.as_ref().and_then(ShsValue::bytes);
    let state = || arg_state.ok_or_else(|| Stop::Input("args[0] is not a state".into()));
    let after = || after.ok_or_else(|| Stop::Input("result is not a state".into()));
    let message = || msg.ok_or_else(|| Stop::Input("args[1] is not a message".into()));
    let result_msg = || result_bytes.ok_or_else(|| Stop::Input("result is not a message".into()));

    match record.function {
        Function::Clean => Ok(()),
        Function::ToKeys => eval_to_keys(record, cmp),
        Function::Initialize => {
            let s = state()?;
            let r = after()?;
            let net = need(s.app_key, "app_key")?;
            let random = need(s.random, "random")?;
            let seed = match s.seed {
                Some(seed) => seed,
                None => seed_of(&s.local)?,
            };
            let public = crypto::ed25519_public_from_seed(&seed);
            cmp.check("local.publicKey", &public, o(&r.local.public_key));
            cmp.check("local.secretKey", &cat(&seed, &public), o(&r.local.secret_key));
            // libsodium crypto_box_seed_keypair: sk = sha512(seed)[..32], pk = x25519_base(sk).
            let box_sk: [u8; 32] = crypto::sha512(&random)[..32].try_into().expect("64 bytes");
            let kx_pk = crypto::x25519_base(&box_sk);
            cmp.check("local.kx_pk", &kx_pk, o(&r.local.kx_pk));
            // The JS of 2017 made the pair with crypto_sign_seed_keypair + the ed25519 → curve25519
            // conversions, so the recorded secret is the clamped form of the same bytes.
            let kx_sk = crypto::ed25519_seed_to_curve25519(&random);
            cmp.check("local.kx_sk", &kx_sk, o(&r.local.kx_sk));
            let via_ed = curve(
                &crypto::ed25519_public_from_seed(&random),
                "ephemeral ed25519 key",
            )?;
            cmp.check("local.kx_pk (ed25519 conversion)", &via_ed, o(&r.local.kx_pk));
            let hello = steps::hello(&net, &kx_pk);
            cmp.check("local.app_mac", &hello[..32], o(&r.local.app_mac));
            Ok(())
        }
        Function::CreateChallenge => {
            let s = state()?;
            let net = need(s.app_key, "app_key")?;
            let kx_pk = need(s.local.kx_pk, "local.kx_pk")?;
            cmp.check("result", &steps::hello(&net, &kx_pk), Some(result_msg()?));
            Ok(())
        }
        Function::VerifyChallenge | Function::ClientVerifyChallenge => {
            let s = state()?;
            let r = after()?;
            let msg = message()?;
            let net = need(s.app_key, "app_key")?;
            let kx_sk = need(s.local.kx_sk, "local.kx_sk")?;
            let client = record.function == Function::ClientVerifyChallenge || s.remote.public_key.is_some();
            let step = if client { Step::Msg2 } else { Step::Msg1 };
            let (eph, mac) = steps::verify_hello(step, &net, msg).map_err(rejected)?;
            cmp.check("remote.kx_pk", &eph, o(&r.remote.kx_pk));
            cmp.check("remote.app_mac", &mac, o(&r.remote.app_mac));
            let ab = dh(&kx_sk, &eph, "ab")?;
            cmp.check("secret", &ab, o(&r.secret));
            cmp.check("shash", &crypto::sha256(&ab), o(&r.shash));
            if record.function == Function::VerifyChallenge {
                return Ok(());
            }
            let seed = seed_of(&s.local)?;
            let client_pub = need(s.local.public_key, "local.publicKey")?;
            let server_pub = need(s.remote.public_key, "remote.publicKey")?;
            let a_b_long = dh(&kx_sk, &curve(&server_pub, "server key")?, "aB")?;
            cmp.check("a_bob", &a_b_long, o(&r.a_bob));
            cmp.check("secret2", &steps::msg3_key(&net, &ab, &a_b_long), o(&r.secret2));
            let (_, sig_a) = steps::client_auth(&net, &seed, &client_pub, &server_pub, &ab, &a_b_long);
            cmp.check("local.hello", &cat(&sig_a, &client_pub), o(&r.local.hello));
            Ok(())
        }
        Function::ClientCreateAuth => {
            let s = state()?;
            let expected = result_msg()?;
            let x = client_session(s, cmp, "state.")?;
            let key = steps::msg3_key(&x.net, &x.ab, &x.a_b_long);
            cmp.check("state.secret2", &key, o(&s.secret2));
            let seed = seed_of(&s.local)?;
            let (msg3, _) =
                steps::client_auth(&x.net, &seed, &x.client_pub, &x.server_pub, &x.ab, &x.a_b_long);
            cmp.check("result", &msg3, Some(expected));
            Ok(())
        }
        Function::ServerVerifyAuth => {
            let s = state()?;
            let r = after()?;
            let msg = message()?;
            let net = need(s.app_key, "app_key")?;
            let kx_sk = need(s.local.kx_sk, "local.kx_sk")?;
            let seed = seed_of(&s.local)?;
            let server_pub = need(s.local.public_key, "local.publicKey")?;
            let remote_kx = need(s.remote.kx_pk, "remote.kx_pk")?;
            let ab = dh(&kx_sk, &remote_kx, "ab")?;
            cmp.check("secret", &ab, o(&r.secret));
            cmp.check("shash", &crypto::sha256(&ab), o(&r.shash));
            let a_b_long = dh(&crypto::ed25519_seed_to_curve25519(&seed), &remote_kx, "aB")?;
            cmp.check("a_bob", &a_b_long, o(&r.a_bob));
            cmp.check("secret2", &steps::msg3_key(&net, &ab, &a_b_long), o(&r.secret2));
            let (sig_a, client_pub) =
                steps::open_client_auth(&net, &server_pub, &ab, &a_b_long, msg).map_err(rejected)?;
            cmp.check("remote.hello", &cat(&sig_a, &client_pub), o(&r.remote.hello));
            cmp.check("remote.publicKey", &client_pub, o(&r.remote.public_key));
            let a_long_b = dh(&kx_sk, &curve(&client_pub, "client key")?, "Ab")?;
            cmp.check("b_alice", &a_long_b, o(&r.b_alice));
            let key = steps::msg4_key(&net, &ab, &a_b_long, &a_long_b);
            cmp.check("secret3", &key, o(&r.secret3));
            Ok(())
        }
        Function::ServerCreateAccept => {
            let s = state()?;
            let expected = result_msg()?;
            let seed = seed_of(&s.local)?;
            let x = server_session(s, cmp, "state.")?;
            let key = steps::msg4_key(&x.net, &x.ab, &x.a_b_long, &x.a_long_b);
            cmp.check("state.secret3", &key, o(&s.secret3));
            let msg4 = steps::server_accept(&x.net, &seed, &key, &x.sig_a, &x.client_pub, &x.ab);
            cmp.check("result", &msg4, Some(expected));
            Ok(())
        }
        Function::ClientVerifyAccept => {
            let s = state()?;
            let r = after()?;
            let msg = message()?;
            let x = client_session(s, cmp, "")?;
            cmp.check("shash", &crypto::sha256(&x.ab), o(&r.shash));
            cmp.check(
                "secret2",
                &steps::msg3_key(&x.net, &x.ab, &x.a_b_long),
                o(&r.secret2),
            );
            cmp.check("b_alice", &x.a_long_b, o(&r.b_alice));
            let key = steps::msg4_key(&x.net, &x.ab, &x.a_b_long, &x.a_long_b);
            cmp.check("secret3", &key, o(&r.secret3));
            steps::open_server_accept(&x.net, &x.server_pub, &key, &x.sig_a, &x.client_pub, &x.ab, msg)
                .map_err(rejected)?;
            Ok(())
        }
    }
}

/// `toKeys(seed)` gives the ed25519 pair of the seed; `toKeys(keys)` returns `keys` unchanged.
fn eval_to_keys(record: &ShsRecord, cmp: &mut Cmp) -> Eval {
    let Some(ShsValue::Keys {
        public_key,
        secret_key,
    }) = &record.result
    else {
        return Err(Stop::Input("result is not a key pair".into()));
    };
    let seed: [u8; 32] = match record.args.first() {
        Some(ShsValue::Bytes(seed)) => seed
            .as_slice()
            .try_into()
            .map_err(|_| Stop::Input(format!("seed has {} bytes", seed.len())))?,
        Some(ShsValue::Keys { secret_key: sk, .. }) => {
            cmp.check("result.secretKey (unchanged)", sk, Some(secret_key));
            sk[..32].try_into().expect("64 bytes")
        }
        _ => return Err(Stop::Input("args[0] is neither a seed nor a key pair".into())),
    };
    let public = crypto::ed25519_public_from_seed(&seed);
    cmp.check("result.publicKey", &public, Some(public_key));
    cmp.check("result.secretKey", &cat(&seed, &public), Some(secret_key));
    Ok(())
}

/// The box-stream keys of one `clean` record (see [`check_shs_box_stream_keys`]).
fn clean_keys(records: &[ShsRecord], clean: &ShsRecord, cmp: &mut Cmp) -> Eval {
    let c = clean
        .args
        .first()
        .and_then(ShsValue::state)
        .ok_or_else(|| Stop::Input("args[0] is not a state".into()))?;
    let local_kx = need(c.local.kx_pk, "local.kx_pk")?;
    let prev = records[..clean.index.min(records.len())]
        .iter()
        .rev()
        .find(|r| {
            matches!(
                r.function,
                Function::ServerCreateAccept | Function::ClientVerifyAccept
            ) && r
                .args
                .first()
                .and_then(ShsValue::state)
                .and_then(|s| s.local.kx_pk)
                == Some(local_kx)
        })
        .ok_or_else(|| Stop::Input("no earlier step record of this session".into()))?;
    let s = prev.args[0].state().expect("matched a state above");
    let prefix = format!("{}.state.", prev.label());
    let x = if prev.function == Function::ServerCreateAccept {
        server_session(s, cmp, &prefix)?
    } else {
        client_session(s, cmp, &prefix)?
    };
    let key = steps::msg4_key(&x.net, &x.ab, &x.a_b_long, &x.a_long_b);
    cmp.check(&format!("{prefix}secret3"), &key, o(&s.secret3));
    let local_pub = need(c.local.public_key, "local.publicKey")?;
    let remote_pub = need(c.remote.public_key, "remote.publicKey")?;
    let local_mac = need(c.local.app_mac, "local.app_mac")?;
    let remote_mac = need(c.remote.app_mac, "remote.app_mac")?;
    let out = steps::outcome(FeedId(remote_pub), &key, &local_pub, &local_mac, &remote_mac);
    cmp.check(
        "secret (sha256 of the msg4 key)",
        &crypto::sha256(&key),
        o(&c.secret),
    );
    cmp.check("encryptKey", &out.encrypt_key, o(&c.encrypt_key));
    cmp.check("decryptKey", &out.decrypt_key, o(&c.decrypt_key));
    Ok(())
}
