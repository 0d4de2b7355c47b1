//! Wycheproof (C2SP/wycheproof) primitive vectors — `wycheproof/ed25519_test.json`,
//! `x25519_test.json` and `hmac_sha512_test.json` — loaded into typed cases and run through
//! `ssb_impl::crypto`.
//!
//! Policy: a `valid` case we reject, or an `invalid` case we accept, is a failure. An
//! `acceptable` case is never a failure; when we do not accept it, it is listed as a difference
//! (with its flags), since our primitives follow libsodium rather than the most lenient reading
//! (x25519 refuses an all-zero shared secret as `crypto_scalarmult` does). Accepting any case but
//! computing a different x25519 shared secret than Wycheproof's is a failure.
//!
//! The files' formats follow the schemas beside them (`eddsa_verify_schema_v1.json`,
//! `xdh_comp_schema_v1.json`, `mac_test_schema_v1.json`); only the fields the checks need are
//! read, and hex fields are decoded with errors naming the file and `tcId`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use ssb_impl::crypto;

use super::{decode_hex, read_json, UpstreamError};

/// Paths of the files below the upstream directory.
pub const ED25519_FILE: &str = "wycheproof/ed25519_test.json";
pub const X25519_FILE: &str = "wycheproof/x25519_test.json";
pub const HMAC_SHA512_FILE: &str = "wycheproof/hmac_sha512_test.json";

/// Wycheproof's verdict on a case.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Expected {
    Valid,
    Invalid,
    Acceptable,
}

impl std::fmt::Display for Expected {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Expected::Valid => "valid",
            Expected::Invalid => "invalid",
            Expected::Acceptable => "acceptable",
        })
    }
}

/// What a flag means (the file's `notes`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Note {
    #[serde(default)]
    pub bug_type: String,
    #[serde(default)]
    pub description: String,
}

/// A loaded file: its header and its cases, flattened out of the test groups.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Loaded<C> {
    pub path: PathBuf,
    pub algorithm: String,
    /// The header's `numberOfTests`.
    pub number_of_tests: usize,
    pub notes: BTreeMap<String, Note>,
    pub cases: Vec<C>,
}

/// An ed25519 verification case (group public key copied into each case).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ed25519Case {
    pub tc_id: u64,
    pub comment: String,
    pub flags: Vec<String>,
    /// The group's public key; Wycheproof's keys are all 32 bytes, but a different length is
    /// kept and rejected by the checker.
    pub public_key: Vec<u8>,
    pub msg: Vec<u8>,
    /// Not always 64 bytes: truncated and padded signatures are cases.
    pub sig: Vec<u8>,
    pub result: Expected,
}

/// An X25519 case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct X25519Case {
    pub tc_id: u64,
    pub comment: String,
    pub flags: Vec<String>,
    pub public: Vec<u8>,
    pub private: Vec<u8>,
    pub shared: Vec<u8>,
    pub result: Expected,
}

/// An HMAC-SHA-512 case (group sizes copied into each case).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HmacCase {
    pub tc_id: u64,
    pub comment: String,
    pub flags: Vec<String>,
    /// Key size of the group, in bits.
    pub key_size: u32,
    /// Tag size of the group, in bits.
    pub tag_size: u32,
    pub key: Vec<u8>,
    pub msg: Vec<u8>,
    pub tag: Vec<u8>,
    pub result: Expected,
}

/// How a case compares with Wycheproof.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CaseStatus {
    /// Same verdict (and, for x25519, the same shared secret).
    Agree,
    /// `valid` rejected, `invalid` accepted, or a wrong output.
    Failure,
    /// An `acceptable` case we reject: allowed, but reported.
    AcceptableDiffers,
}

/// The outcome of one case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaseResult {
    pub tc_id: u64,
    pub comment: String,
    pub flags: Vec<String>,
    /// Wycheproof's verdict.
    pub expected: Expected,
    /// Whether our implementation accepted the case.
    pub ours_accepts: bool,
    /// Our output when we accepted (the x25519 shared secret, the HMAC tag); empty otherwise.
    pub ours_output: Vec<u8>,
    pub status: CaseStatus,
    /// What went wrong or differs; empty when we agree.
    pub detail: String,
}

impl CaseResult {
    /// A failure or a listed difference.
    pub fn is_difference(&self) -> bool {
        self.status != CaseStatus::Agree
    }
}

impl std::fmt::Display for CaseResult {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "tcId {} [{}] wycheproof {}, ours {}",
            self.tc_id,
            self.flags.join(", "),
            self.expected,
            if self.ours_accepts { "accept" } else { "reject" }
        )?;
        if !self.comment.is_empty() {
            write!(f, " ({})", self.comment)?;
        }
        if !self.detail.is_empty() {
            write!(f, ": {}", self.detail)?;
        }
        Ok(())
    }
}

/// The checked cases of one file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    pub path: PathBuf,
    /// The header's `numberOfTests`.
    pub number_of_tests: usize,
    /// Cases found in the file.
    pub loaded: usize,
    /// One entry per checked case (all cases, except HMAC groups whose tag is not 256 bits).
    pub results: Vec<CaseResult>,
}

impl Report {
    pub fn failures(&self) -> impl Iterator<Item = &CaseResult> {
        self.results.iter().filter(|r| r.status == CaseStatus::Failure)
    }

    pub fn acceptable_differences(&self) -> impl Iterator<Item = &CaseResult> {
        self.results
            .iter()
            .filter(|r| r.status == CaseStatus::AcceptableDiffers)
    }
}

// ---- file shapes (only the fields used) ----

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawFile<G> {
    algorithm: String,
    number_of_tests: usize,
    #[serde(default)]
    notes: BTreeMap<String, Note>,
    test_groups: Vec<G>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawEdGroup {
    public_key: RawEdKey,
    tests: Vec<RawEdTest>,
}

#[derive(Deserialize)]
struct RawEdKey {
    pk: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawEdTest {
    tc_id: u64,
    #[serde(default)]
    comment: String,
    #[serde(default)]
    flags: Vec<String>,
    msg: String,
    sig: String,
    result: Expected,
}

#[derive(Deserialize)]
struct RawXGroup {
    tests: Vec<RawXTest>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawXTest {
    tc_id: u64,
    #[serde(default)]
    comment: String,
    #[serde(default)]
    flags: Vec<String>,
    public: String,
    private: String,
    shared: String,
    result: Expected,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawMacGroup {
    key_size: u32,
    tag_size: u32,
    tests: Vec<RawMacTest>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawMacTest {
    tc_id: u64,
    #[serde(default)]
    comment: String,
    #[serde(default)]
    flags: Vec<String>,
    key: String,
    msg: String,
    tag: String,
    result: Expected,
}

fn tc(id: u64) -> String {
    format!("tcId {id}")
}

/// Loads `wycheproof/ed25519_test.json`.
pub fn load_ed25519(dir: &Path) -> Result<Loaded<Ed25519Case>, UpstreamError> {
    let (path, raw): (PathBuf, RawFile<RawEdGroup>) = read_json(dir, ED25519_FILE)?;
    let mut cases = Vec::new();
    for (g, group) in raw.test_groups.into_iter().enumerate() {
        let public_key = decode_hex(
            &path,
            &format!("testGroups[{g}]"),
            "publicKey.pk",
            &group.public_key.pk,
        )?;
        for t in group.tests {
            let id = tc(t.tc_id);
            cases.push(Ed25519Case {
                tc_id: t.tc_id,
                msg: decode_hex(&path, &id, "msg", &t.msg)?,
                sig: decode_hex(&path, &id, "sig", &t.sig)?,
                public_key: public_key.clone(),
                comment: t.comment,
                flags: t.flags,
                result: t.result,
            });
        }
    }
    Ok(Loaded {
        path,
        algorithm: raw.algorithm,
        number_of_tests: raw.number_of_tests,
        notes: raw.notes,
        cases,
    })
}

/// Loads `wycheproof/x25519_test.json`.
pub fn load_x25519(dir: &Path) -> Result<Loaded<X25519Case>, UpstreamError> {
    let (path, raw): (PathBuf, RawFile<RawXGroup>) = read_json(dir, X25519_FILE)?;
    let mut cases = Vec::new();
    for group in raw.test_groups {
        for t in group.tests {
            let id = tc(t.tc_id);
            cases.push(X25519Case {
                tc_id: t.tc_id,
                public: decode_hex(&path, &id, "public", &t.public)?,
                private: decode_hex(&path, &id, "private", &t.private)?,
                shared: decode_hex(&path, &id, "shared", &t.shared)?,
                comment: t.comment,
                flags: t.flags,
                result: t.result,
            });
        }
    }
    Ok(Loaded {
        path,
        algorithm: raw.algorithm,
        number_of_tests: raw.number_of_tests,
        notes: raw.notes,
        cases,
    })
}

/// Loads `wycheproof/hmac_sha512_test.json` (every group, whatever its tag size).
pub fn load_hmac_sha512(dir: &Path) -> Result<Loaded<HmacCase>, UpstreamError> {
    let (path, raw): (PathBuf, RawFile<RawMacGroup>) = read_json(dir, HMAC_SHA512_FILE)?;
    let mut cases = Vec::new();
    for group in raw.test_groups {
        for t in group.tests {
            let id = tc(t.tc_id);
            cases.push(HmacCase {
                tc_id: t.tc_id,
                key_size: group.key_size,
                tag_size: group.tag_size,
                key: decode_hex(&path, &id, "key", &t.key)?,
                msg: decode_hex(&path, &id, "msg", &t.msg)?,
                tag: decode_hex(&path, &id, "tag", &t.tag)?,
                comment: t.comment,
                flags: t.flags,
                result: t.result,
            });
        }
    }
    Ok(Loaded {
        path,
        algorithm: raw.algorithm,
        number_of_tests: raw.number_of_tests,
        notes: raw.notes,
        cases,
    })
}

/// Applies the policy to one case.
fn judge(
    tc_id: u64,
    comment: &str,
    flags: &[String],
    expected: Expected,
    ours: Option<Vec<u8>>,
    wrong_output: Option<String>,
) -> CaseResult {
    let ours_accepts = ours.is_some();
    let (status, detail) = match (wrong_output, expected, ours_accepts) {
        (Some(why), _, true) => (CaseStatus::Failure, why),
        (_, Expected::Valid, false) => (CaseStatus::Failure, "valid case rejected".to_string()),
        (_, Expected::Invalid, true) => (CaseStatus::Failure, "invalid case accepted".to_string()),
        (_, Expected::Acceptable, false) => (
            CaseStatus::AcceptableDiffers,
            "acceptable case rejected".to_string(),
        ),
        _ => (CaseStatus::Agree, String::new()),
    };
    CaseResult {
        tc_id,
        comment: comment.to_string(),
        flags: flags.to_vec(),
        expected,
        ours_accepts,
        ours_output: ours.unwrap_or_default(),
        status,
        detail,
    }
}

/// `ssb_impl::crypto::ed25519_verify` on one case; a key that is not 32 bytes or a signature
/// that is not 64 bytes is rejected without calling it.
pub fn ed25519_accepts(case: &Ed25519Case) -> bool {
    match (
        <&[u8; 32]>::try_from(case.public_key.as_slice()),
        <&[u8; 64]>::try_from(case.sig.as_slice()),
    ) {
        (Ok(pk), Ok(sig)) => crypto::ed25519_verify(pk, &case.msg, sig),
        _ => false,
    }
}

/// `ssb_impl::crypto::x25519` on one case: the shared secret, or `None` when refused (also for
/// inputs that are not 32 bytes).
pub fn x25519_output(case: &X25519Case) -> Option<[u8; 32]> {
    let sk = <&[u8; 32]>::try_from(case.private.as_slice()).ok()?;
    let pk = <&[u8; 32]>::try_from(case.public.as_slice()).ok()?;
    crypto::x25519(sk, pk).ok()
}

/// Runs every ed25519 case through our verifier.
pub fn check_ed25519_cases(cases: &[Ed25519Case]) -> Vec<CaseResult> {
    cases
        .iter()
        .map(|c| {
            let ours = ed25519_accepts(c).then(Vec::new);
            judge(c.tc_id, &c.comment, &c.flags, c.result, ours, None)
        })
        .collect()
}

/// Runs every x25519 case through our `x25519`, comparing the shared secret when we accept.
pub fn check_x25519_cases(cases: &[X25519Case]) -> Vec<CaseResult> {
    cases
        .iter()
        .map(|c| {
            let ours = x25519_output(c);
            let wrong = ours.filter(|s| s[..] != c.shared[..]).map(|s| {
                format!(
                    "shared secret ours {} ≠ wycheproof {}",
                    hex::encode(s),
                    hex::encode(&c.shared)
                )
            });
            judge(
                c.tc_id,
                &c.comment,
                &c.flags,
                c.result,
                ours.map(|s| s.to_vec()),
                wrong,
            )
        })
        .collect()
}

/// Runs the HMAC-SHA-512 cases with 256-bit tags (libsodium `crypto_auth` length) through
/// `hmac_sha512_truncated`, with the key as given; other tag sizes are not checked. We
/// "accept" a case when our tag equals the case's tag.
pub fn check_hmac_sha512_cases(cases: &[HmacCase]) -> Vec<CaseResult> {
    cases
        .iter()
        .filter(|c| c.tag_size == 256)
        .map(|c| {
            let tag = crypto::hmac_sha512_truncated(&c.key, &c.msg, 32);
            let ours = (tag == c.tag).then_some(tag);
            judge(c.tc_id, &c.comment, &c.flags, c.result, ours, None)
        })
        .collect()
}

fn report<C>(loaded: &Loaded<C>, results: Vec<CaseResult>) -> Report {
    Report {
        path: loaded.path.clone(),
        number_of_tests: loaded.number_of_tests,
        loaded: loaded.cases.len(),
        results,
    }
}

/// Loads and checks `wycheproof/ed25519_test.json`.
pub fn check_ed25519(dir: &Path) -> Result<Report, UpstreamError> {
    let loaded = load_ed25519(dir)?;
    let results = check_ed25519_cases(&loaded.cases);
    Ok(report(&loaded, results))
}

/// Loads and checks `wycheproof/x25519_test.json`.
pub fn check_x25519(dir: &Path) -> Result<Report, UpstreamError> {
    let loaded = load_x25519(dir)?;
    let results = check_x25519_cases(&loaded.cases);
    Ok(report(&loaded, results))
}

/// Loads and checks `wycheproof/hmac_sha512_test.json` (256-bit tag groups).
pub fn check_hmac_sha512(dir: &Path) -> Result<Report, UpstreamError> {
    let loaded = load_hmac_sha512(dir)?;
    let results = check_hmac_sha512_cases(&loaded.cases);
    Ok(report(&loaded, results))
}
