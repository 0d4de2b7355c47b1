//! Loaders and checkers for the Bendy Butt and meta feed vectors, evaluated with
//! `ssb_impl::bendybutt`:
//! - `go-metafeed/` (canonical): `testvector-simple.json` (3 entries),
//!   `testvector-metafeed-managment.json` (4 entries), `testvector-metafeed-bad-messages.json`
//!   (12 cases), `testvector-metafeed-bad-content.json` (7 cases) and
//!   `example-feed-entry.bendybutt` (one unsigned payload);
//! - `ssb-meta-feeds/test/testvector-metafeed-managment.json`: the JS variant, whose 4th entry
//!   adds an existing bamboo subfeed;
//! - `bendy-butt-spec/`: the spec-era file and `examples/m0.bbmsg`, which predate the final
//!   encoding and are only reported on ([`check_spec_era_file`], [`check_raw_message`]);
//! - `ssb-bfe-spec/bfe.json`: the BFE registry ([`load_bfe_registry`]).
//!
//! A good entry passes when our validator accepts it in feed order and every recorded field
//! (key, author, sequence, previous, timestamp, signature, content and content signature)
//! equals what we decode and re-encode. A bad case passes when its valid entries are accepted
//! and its invalid entry is rejected for the fault the case's `Description` names
//! ([`expected_rejection`]); the case's `Reason` string is reported but not trusted, because
//! several disagree with their description.

use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde_json::Value as Json;
use ssb_impl::bendybutt::bencode::{self, Value};
use ssb_impl::bendybutt::bfe::{self, MsgRef, TfkFault};
use ssb_impl::bendybutt::message::{
    self, Content, FeedError, FeedValidator, MessageError, Payload, Verified,
};
use ssb_impl::bendybutt::metafeed::{
    self, MetafeedEntry, MetafeedError, MetafeedFeedError, MetafeedValidator,
};
use ssb_impl::crypto;

use super::{decode_hex, read_json, UpstreamError};

pub const SIMPLE_FILE: &str = "go-metafeed/testvector-simple.json";
pub const MANAGEMENT_FILE: &str = "go-metafeed/testvector-metafeed-managment.json";
pub const BAD_MESSAGES_FILE: &str = "go-metafeed/testvector-metafeed-bad-messages.json";
pub const BAD_CONTENT_FILE: &str = "go-metafeed/testvector-metafeed-bad-content.json";
pub const EXAMPLE_ENTRY_FILE: &str = "go-metafeed/example-feed-entry.bendybutt";
pub const JS_MANAGEMENT_FILE: &str = "ssb-meta-feeds/test/testvector-metafeed-managment.json";
pub const SPEC_MANAGEMENT_FILE: &str = "bendy-butt-spec/testvector-metafeed-managment.json";
pub const SPEC_EXAMPLE_FILE: &str = "bendy-butt-spec/examples/m0.bbmsg";
pub const BFE_FILE: &str = "ssb-bfe-spec/bfe.json";

/// A `Metadata` item: a name with a hex string or a feed id.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct MetaItem {
    pub name: String,
    #[serde(default)]
    pub hex_string: Option<String>,
    #[serde(default)]
    pub feed: Option<String>,
}

/// A file of good entries (`simple`, `managment`).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct GoodFile {
    pub description: String,
    pub metadata: Vec<MetaItem>,
    pub entries: Vec<GoodEntry>,
}

/// One good entry, in feed order.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct GoodEntry {
    /// Hex of the encoded message.
    pub encoded_data: String,
    pub key: String,
    pub author: String,
    pub sequence: u64,
    pub previous: Option<String>,
    pub timestamp: i64,
    pub highlevel_content: Json,
    /// Hex of the BFE signature.
    pub signature: String,
}

/// A file of bad cases.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct BadFile {
    pub description: String,
    pub cases: Vec<BadCase>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct BadCase {
    pub description: String,
    pub metadata: Vec<MetaItem>,
    pub entries: Vec<BadEntry>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct BadEntry {
    pub encoded_data: String,
    pub invalid: bool,
    pub reason: String,
}

/// Reads a good-entry file below `dir`.
pub fn load_good(dir: &Path, rel: &str) -> Result<(PathBuf, GoodFile), UpstreamError> {
    read_json(dir, rel)
}

/// Reads a bad-case file below `dir`.
pub fn load_bad(dir: &Path, rel: &str) -> Result<(PathBuf, BadFile), UpstreamError> {
    read_json(dir, rel)
}

fn read_bytes(dir: &Path, rel: &str) -> Result<(PathBuf, Vec<u8>), UpstreamError> {
    let path = dir.join(rel);
    let bytes = std::fs::read(&path).map_err(|source| UpstreamError::Missing {
        path: path.clone(),
        source,
    })?;
    Ok((path, bytes))
}

fn record_error(path: &Path, record: &str, problem: impl Into<String>) -> UpstreamError {
    UpstreamError::Record {
        path: path.to_path_buf(),
        record: record.to_string(),
        problem: problem.into(),
    }
}

/// Which validator the entries go through.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layer {
    /// Message rules only ([`FeedValidator`]); content is compared loosely.
    Feed,
    /// Message rules and meta feed content rules ([`MetafeedValidator`]).
    Metafeed,
}

enum Validator {
    Feed(FeedValidator),
    Metafeed(MetafeedValidator),
}

impl Validator {
    fn new(layer: Layer) -> Validator {
        match layer {
            Layer::Feed => Validator::Feed(FeedValidator::new(None)),
            Layer::Metafeed => Validator::Metafeed(MetafeedValidator::new(None)),
        }
    }

    fn append(&mut self, bytes: &[u8]) -> Result<(Verified, Option<MetafeedEntry>), MetafeedFeedError> {
        match self {
            Validator::Feed(v) => Ok((v.append(bytes)?, None)),
            Validator::Metafeed(v) => v.append(bytes).map(|(ver, e)| (ver, Some(e))),
        }
    }
}

/// The verdict on one good entry.
#[derive(Debug, Clone)]
pub struct EntryReport {
    pub index: usize,
    pub sequence: u64,
    /// The checks that were made and held.
    pub passed: Vec<&'static str>,
    /// What did not hold (empty: the entry passes).
    pub failures: Vec<String>,
}

impl EntryReport {
    pub fn ok(&self) -> bool {
        self.failures.is_empty()
    }
}

impl std::fmt::Display for EntryReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "entry {} (sequence {}): {} [{}]",
            self.index,
            self.sequence,
            if self.ok() { "ok" } else { "FAIL" },
            if self.ok() {
                self.passed.join(", ")
            } else {
                self.failures.join("; ")
            }
        )
    }
}

/// Standard padded base64, for comparing with the vectors' base64 fields.
pub fn base64_std(bytes: &[u8]) -> String {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [chunk[0], *chunk.get(1).unwrap_or(&0), *chunk.get(2).unwrap_or(&0)];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(A[((n >> (18 - 6 * i)) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// Whether a JSON value from `HighlevelContent` describes a bencode value. Strings match raw
/// or BFE-string (`06 00`) bytes, booleans match the integers 0/1 (as `testvector-simple.json`
/// encodes them) or BFE booleans, `null` matches BFE nil.
pub fn json_matches(j: &Json, v: &Value) -> bool {
    match (j, v) {
        (Json::String(s), Value::Bytes(b)) => {
            b == s.as_bytes() || b.strip_prefix(&[6, 0]) == Some(s.as_bytes())
        }
        (Json::Bool(t), Value::Int(i)) => *i == i64::from(*t),
        (Json::Bool(t), Value::Bytes(b)) => b.as_slice() == [6, 1, u8::from(*t)],
        (Json::Number(n), Value::Int(i)) => n.as_i64() == Some(*i),
        (Json::Null, Value::Bytes(b)) => b.as_slice() == bfe::NIL,
        (Json::Array(a), Value::List(l)) => {
            a.len() == l.len() && a.iter().zip(l).all(|(j, v)| json_matches(j, v))
        }
        (Json::Object(o), Value::Dict(d)) => {
            o.len() == d.len()
                && o.iter()
                    .all(|(k, j)| d.get(k.as_bytes()).is_some_and(|v| json_matches(j, v)))
        }
        _ => false,
    }
}

/// The `[content, {Name, HexString}]` form of signed content: the content JSON and the hex.
fn split_signed_json(j: &Json) -> Option<(&Json, &str)> {
    let [content, sig] = j.as_array()?.as_slice() else {
        return None;
    };
    Some((content, sig.get("HexString")?.as_str()?))
}

fn check_content(
    entry: &GoodEntry,
    content: &Content,
    meta: Option<&MetafeedEntry>,
    metadata: &[MetaItem],
    r: &mut EntryReport,
) {
    let hc = &entry.highlevel_content;
    match (content, meta) {
        (Content::Signed { dict, signature }, meta) => {
            let Some((cj, sig_hex)) = split_signed_json(hc) else {
                r.failures
                    .push(format!("HighlevelContent is not [content, {{HexString}}]: {hc}"));
                return;
            };
            if sig_hex == hex::encode(bfe::encode_signature(signature)) {
                r.passed.push("content signature bytes");
            } else {
                r.failures.push(format!("content signature {sig_hex} differs"));
            }
            match meta {
                Some(MetafeedEntry::Management(c)) => {
                    r.passed.push("content signature valid");
                    if c.to_json() == *cj {
                        r.passed.push("content");
                    } else {
                        r.failures
                            .push(format!("content {} differs from {cj}", c.to_json()));
                    }
                    let feeds: Vec<_> = metadata
                        .iter()
                        .filter_map(|m| m.feed.as_deref())
                        .filter_map(|f| bfe::FeedRef::parse(f).ok())
                        .collect();
                    if feeds.contains(&c.subfeed) {
                        r.passed.push("subfeed in Metadata");
                    } else {
                        r.failures
                            .push(format!("subfeed {} is not in Metadata", c.subfeed));
                    }
                    if let Some(n) = c.nonce {
                        let hex_n = hex::encode(n);
                        if metadata
                            .iter()
                            .any(|m| m.hex_string.as_deref() == Some(hex_n.as_str()))
                        {
                            r.passed.push("nonce in Metadata");
                        } else {
                            r.failures.push(format!("nonce {hex_n} is not in Metadata"));
                        }
                    }
                }
                Some(MetafeedEntry::Encrypted(_)) => {
                    r.failures.push("signed content reported as encrypted".into())
                }
                None => {
                    if json_matches(cj, &Value::Dict(dict.clone())) {
                        r.passed.push("content");
                    } else {
                        r.failures.push(format!(
                            "content {:?} differs from {cj}",
                            Value::Dict(dict.clone())
                        ));
                    }
                }
            }
        }
        (Content::Encrypted(b), _) => {
            if hc.as_str() == Some(base64_std(b).as_str()) {
                r.passed.push("content");
            } else {
                r.failures
                    .push(format!("encrypted content {} differs from {hc}", base64_std(b)));
            }
        }
        (Content::Dict(d), _) => {
            if json_matches(hc, &Value::Dict(d.clone())) {
                r.passed.push("content");
            } else {
                r.failures
                    .push(format!("content {:?} differs from {hc}", Value::Dict(d.clone())));
            }
        }
    }
}

/// Checks the entries of a good file in feed order through the validator of `layer`.
pub fn check_good(path: &Path, file: &GoodFile, layer: Layer) -> Result<Vec<EntryReport>, UpstreamError> {
    let mut validator = Validator::new(layer);
    let mut out = Vec::new();
    for (index, entry) in file.entries.iter().enumerate() {
        let record = format!("Entries[{index}]");
        let bytes = decode_hex(path, &record, "EncodedData", &entry.encoded_data)?;
        let mut r = EntryReport {
            index,
            sequence: entry.sequence,
            passed: Vec::new(),
            failures: Vec::new(),
        };
        match validator.append(&bytes) {
            Err(e) => r.failures.push(format!("rejected: {e}")),
            Ok((v, meta)) => {
                r.passed.push("accepted (decode, chain, signature)");
                let m = &v.message;
                let mut expect = |name: &'static str, ok: bool, detail: String| {
                    if ok {
                        r.passed.push(name);
                    } else {
                        r.failures.push(format!("{name}: {detail}"));
                    }
                };
                expect("re-encode", m.encode() == bytes, "re-encoding differs".into());
                let key = v.key.to_string();
                expect(
                    "key",
                    key == entry.key && MsgRef::parse(&entry.key).as_ref() == Ok(&v.key),
                    format!("{key} != {}", entry.key),
                );
                let author = m.author().to_string();
                expect(
                    "author",
                    author == entry.author,
                    format!("{author} != {}", entry.author),
                );
                expect(
                    "sequence",
                    m.sequence() == entry.sequence,
                    format!("{} != {}", m.sequence(), entry.sequence),
                );
                let prev = m.previous().map(|p| p.to_string());
                expect(
                    "previous",
                    prev == entry.previous,
                    format!("{prev:?} != {:?}", entry.previous),
                );
                expect(
                    "timestamp",
                    m.payload.timestamp == entry.timestamp,
                    format!("{} != {}", m.payload.timestamp, entry.timestamp),
                );
                let sig = hex::encode(bfe::encode_signature(&m.signature));
                expect(
                    "signature",
                    sig == entry.signature,
                    format!("{sig} != {}", entry.signature),
                );
                check_content(entry, m.content(), meta.as_ref(), &file.metadata, &mut r);
            }
        }
        out.push(r);
    }
    Ok(out)
}

/// The fault a rejection is for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rejection {
    AuthorTfk(TfkFault),
    PreviousTfk(TfkFault),
    FirstPreviousNotNil,
    WrongPrevious,
    SignatureTfk(TfkFault),
    SignatureInvalid,
    WrongSequence,
    TooLong,
    ContentType,
    SubfeedTfk(TfkFault),
    MetafeedTfk(TfkFault),
    NonceTfk(TfkFault),
    NonceTooShort,
    NonceTooLong,
    ContentSignatureInvalid,
    /// Any other error, with its text.
    Other(String),
}

/// What fault our error names.
pub fn classify(e: &MetafeedFeedError) -> Rejection {
    let msg = |m: &MessageError| match m {
        MessageError::Author(r) => Rejection::AuthorTfk(r.fault()),
        MessageError::Previous(r) => Rejection::PreviousTfk(r.fault()),
        MessageError::FirstPreviousNotNil { .. } => Rejection::FirstPreviousNotNil,
        MessageError::Signature(r) => Rejection::SignatureTfk(r.fault()),
        MessageError::SignatureInvalid => Rejection::SignatureInvalid,
        MessageError::TooLong { .. } => Rejection::TooLong,
        other => Rejection::Other(other.to_string()),
    };
    match e {
        MetafeedFeedError::Feed(FeedError::Message(m)) => msg(m),
        MetafeedFeedError::Feed(FeedError::WrongPrevious { .. }) => Rejection::WrongPrevious,
        MetafeedFeedError::Feed(FeedError::WrongSequence { .. }) => Rejection::WrongSequence,
        MetafeedFeedError::Content(c) => match c {
            MetafeedError::UnknownType { .. } | MetafeedError::Type(_) => Rejection::ContentType,
            MetafeedError::Subfeed(r) => Rejection::SubfeedTfk(r.fault()),
            MetafeedError::Metafeed(r) => Rejection::MetafeedTfk(r.fault()),
            MetafeedError::Nonce(r) => Rejection::NonceTfk(r.fault()),
            MetafeedError::NonceLength { got } if *got < 32 => Rejection::NonceTooShort,
            MetafeedError::NonceLength { .. } => Rejection::NonceTooLong,
            MetafeedError::ContentSignatureInvalid { .. } => Rejection::ContentSignatureInvalid,
            other => Rejection::Other(other.to_string()),
        },
        other => Rejection::Other(other.to_string()),
    }
}

/// The fault each go-metafeed bad case describes, by its `Description`.
pub fn expected_rejection(description: &str) -> Option<Rejection> {
    use Rejection::*;
    use TfkFault::{Format, Length, Type};
    Some(match description {
        // testvector-metafeed-bad-messages.json
        "1.1: Author with bad TFK type" => AuthorTfk(Type),
        "1.2: Author with bad TFK format" => AuthorTfk(Format),
        "1.3: Author with bad TFK length" => AuthorTfk(Length),
        "2.1: previous with bad TFK type" => PreviousTfk(Type),
        "2.2: previous with bad TFK format" => PreviousTfk(Format),
        "2.3: previous with bad TFK length" => PreviousTfk(Length),
        "3.1: bad first NULL previous" => FirstPreviousNotNil,
        "3.2: 2nd message has wrong previous" => WrongPrevious,
        // The marker `ac ab` is not a registered BFE type.
        "4.1: invalid signature marker, first two bytes" => SignatureTfk(Type),
        "4.2: broken signature (bits flipped)" => SignatureInvalid,
        "5.1: two messages with bad sequences (1 and 3)" => WrongSequence,
        "6.1: message too long" => TooLong,
        // testvector-metafeed-bad-content.json
        "1.1: bad type value" => ContentType,
        // `ff ff` is not a registered BFE type.
        "2.1: broken subfeed TFK" => SubfeedTfk(Type),
        "2.2: broken metafeed TFK" => MetafeedTfk(Type),
        // `aa bb` is not a registered BFE type.
        "3.1: bad nonce prefix" => NonceTfk(Type),
        "3.2: bad nonce length (short)" => NonceTooShort,
        "3.3: bad nonce length (long)" => NonceTooLong,
        "4.1: bad content signature" => ContentSignatureInvalid,
        _ => return None,
    })
}

/// The verdict on one bad case.
#[derive(Debug, Clone)]
pub struct CaseReport {
    pub description: String,
    /// The invalid entry's `Reason`, as recorded.
    pub reason: String,
    /// Valid predecessor entries, and how many we accepted.
    pub valid_entries: usize,
    pub accepted: usize,
    pub expected: Option<Rejection>,
    /// What our validator said about the invalid entry (`None`: accepted it).
    pub got: Option<Rejection>,
    pub error: String,
    pub problem: Option<String>,
}

impl CaseReport {
    pub fn ok(&self) -> bool {
        self.problem.is_none()
    }
}

impl std::fmt::Display for CaseReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} (Reason {:?}): {}/{} valid accepted; rejected with {:?}: {}",
            self.description, self.reason, self.accepted, self.valid_entries, self.got, self.error
        )?;
        if let Some(p) = &self.problem {
            write!(f, " — FAIL: {p}")?;
        }
        Ok(())
    }
}

/// Runs every case of a bad file through a fresh validator of `layer`.
pub fn check_bad(path: &Path, file: &BadFile, layer: Layer) -> Result<Vec<CaseReport>, UpstreamError> {
    let mut out = Vec::new();
    for (ci, case) in file.cases.iter().enumerate() {
        let mut validator = Validator::new(layer);
        let mut r = CaseReport {
            description: case.description.clone(),
            reason: String::new(),
            valid_entries: 0,
            accepted: 0,
            expected: expected_rejection(&case.description),
            got: None,
            error: String::new(),
            problem: None,
        };
        let invalid: Vec<_> = case.entries.iter().filter(|e| e.invalid).collect();
        if invalid.len() != 1 || !case.entries.last().is_some_and(|e| e.invalid) {
            return Err(record_error(
                path,
                &format!("Cases[{ci}]"),
                "expected exactly one invalid entry, the last",
            ));
        }
        for (ei, entry) in case.entries.iter().enumerate() {
            let record = format!("Cases[{ci}].Entries[{ei}]");
            let bytes = decode_hex(path, &record, "EncodedData", &entry.encoded_data)?;
            let result = validator.append(&bytes);
            if !entry.invalid {
                r.valid_entries += 1;
                match result {
                    Ok(_) => r.accepted += 1,
                    Err(e) => {
                        r.problem = Some(format!("valid entry {ei} ({:?}) rejected: {e}", entry.reason));
                    }
                }
                continue;
            }
            r.reason = entry.reason.clone();
            match result {
                Ok(_) => r.problem = Some("invalid entry accepted".into()),
                Err(e) => {
                    let got = classify(&e);
                    r.error = e.to_string();
                    match &r.expected {
                        None => r.problem = Some("no expected fault is known for this description".into()),
                        Some(want) if *want != got => {
                            r.problem = Some(format!("rejected for {got:?}, the case describes {want:?}"))
                        }
                        Some(_) => {}
                    }
                    r.got = Some(got);
                }
            }
        }
        out.push(r);
    }
    Ok(out)
}

/// For a message with `[dictionary, signature]` content whose dictionary has a `subfeed` of at
/// least 32 bytes: whether the content signature verifies with the last 32 bytes of `subfeed`
/// over `"bendybutt"` ‖ dictionary (what the good vectors use) and over the bare dictionary.
pub fn content_signature_variants(encoded: &[u8]) -> Option<(bool, bool)> {
    let v = bencode::decode(encoded).ok()?;
    let content = v.as_list()?.first()?.as_list()?.get(4)?.as_list()?;
    let [Value::Dict(dict), Value::Bytes(sig)] = content else {
        return None;
    };
    let sub = dict.get(b"subfeed".as_slice())?.as_bytes()?;
    let key: [u8; 32] = sub.get(sub.len().checked_sub(32)?..)?.try_into().ok()?;
    let sig: [u8; 64] = sig.get(2..)?.try_into().ok()?;
    let bare = bencode::encode(&Value::Dict(dict.clone()));
    let prefixed = [message::CONTENT_SIGNATURE_PREFIX, &bare].concat();
    Some((
        crypto::ed25519_verify(&key, &prefixed, &sig),
        crypto::ed25519_verify(&key, &bare, &sig),
    ))
}

/// Decodes `example-feed-entry.bendybutt`, the raw payload written by go-metafeed's
/// `feed_test.go`, and checks that it re-encodes to the same bytes.
pub fn load_example_entry(dir: &Path) -> Result<Payload, UpstreamError> {
    let (path, bytes) = read_bytes(dir, EXAMPLE_ENTRY_FILE)?;
    let payload = Payload::decode(&bytes).map_err(|e| record_error(&path, "payload", e.to_string()))?;
    if payload.encode() != bytes {
        return Err(record_error(&path, "payload", "re-encoding differs"));
    }
    Ok(payload)
}

/// What holds for a message in an older encoding, checked below our strict decoder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawReport {
    pub name: String,
    /// Canonical bencode that re-encodes to the same bytes.
    pub bencode_round_trip: bool,
    /// sha256 of the bytes, standard base64.
    pub key_b64: String,
    /// The message signature verifies with the author field's last 32 bytes over the payload.
    pub message_signature: bool,
    /// The content signature (if any) with the given key: over `"bendybutt"` ‖ dictionary, and
    /// over the bare dictionary.
    pub content_signature: Option<(bool, bool)>,
    /// [`ssb_impl::bendybutt::message::Message::decode`]'s verdict.
    pub decode: Result<(), String>,
    /// [`metafeed::validate_message`]'s verdict, when the message decodes.
    pub metafeed: Option<Result<(), String>>,
}

/// Checks an encoded message of any era. The content signature is checked with the `subfeed`
/// field's last 32 bytes when `subfeed_signs_content`, else with the author's.
pub fn check_raw_message(name: &str, bytes: &[u8], subfeed_signs_content: bool) -> RawReport {
    let value = bencode::decode(bytes).ok();
    let parts = value.as_ref().and_then(|v| {
        let [payload, sig] = v.as_list()? else { return None };
        let author = payload.as_list()?.first()?.as_bytes()?;
        let author: [u8; 32] = author.get(author.len().checked_sub(32)?..)?.try_into().ok()?;
        let sig: [u8; 64] = sig.as_bytes()?.get(2..)?.try_into().ok()?;
        Some((bencode::encode(payload), author, sig, payload))
    });
    let message_signature = parts
        .as_ref()
        .is_some_and(|(p, a, s, _)| crypto::ed25519_verify(a, p, s));
    let content_signature = parts.as_ref().and_then(|(_, author, _, payload)| {
        let content = payload.as_list()?.get(4)?.as_list()?;
        let [Value::Dict(dict), Value::Bytes(sig)] = content else {
            return None;
        };
        let key: [u8; 32] = if subfeed_signs_content {
            let sub = dict.get(b"subfeed".as_slice())?.as_bytes()?;
            sub.get(sub.len().checked_sub(32)?..)?.try_into().ok()?
        } else {
            *author
        };
        let sig: [u8; 64] = sig.get(2..)?.try_into().ok()?;
        let bare = bencode::encode(&Value::Dict(dict.clone()));
        let prefixed = [message::CONTENT_SIGNATURE_PREFIX, &bare].concat();
        Some((
            crypto::ed25519_verify(&key, &prefixed, &sig),
            crypto::ed25519_verify(&key, &bare, &sig),
        ))
    });
    let decoded = message::Message::decode(bytes);
    RawReport {
        name: name.to_string(),
        bencode_round_trip: value.as_ref().is_some_and(|v| bencode::encode(v) == bytes),
        key_b64: base64_std(&crypto::sha256(bytes)),
        message_signature,
        content_signature,
        metafeed: decoded.as_ref().ok().map(|m| {
            metafeed::validate_message(m, None)
                .map(|_| ())
                .map_err(|e| e.to_string())
        }),
        decode: decoded.map(|_| ()).map_err(|e| e.to_string()),
    }
}

/// [`check_raw_message`] on each entry of the spec-era `bendy-butt-spec` file, with whether
/// the recorded `Key` (`%<base64>.bbmsg-v1`) is sha256 of the bytes.
pub fn check_spec_era_file(dir: &Path) -> Result<Vec<(RawReport, bool)>, UpstreamError> {
    let (path, file) = load_good(dir, SPEC_MANAGEMENT_FILE)?;
    let mut out = Vec::new();
    for (i, entry) in file.entries.iter().enumerate() {
        let record = format!("Entries[{i}]");
        let bytes = decode_hex(&path, &record, "EncodedData", &entry.encoded_data)?;
        let r = check_raw_message(&record, &bytes, true);
        let key_ok = entry.key == format!("%{}.bbmsg-v1", r.key_b64);
        out.push((r, key_ok));
    }
    Ok(out)
}

/// [`check_raw_message`] on `bendy-butt-spec/examples/m0.bbmsg` (content signed by the author).
pub fn check_spec_example(dir: &Path) -> Result<RawReport, UpstreamError> {
    let (_, bytes) = read_bytes(dir, SPEC_EXAMPLE_FILE)?;
    Ok(check_raw_message("m0.bbmsg", &bytes, false))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct BfeType {
    code: u8,
    #[serde(rename = "type")]
    name: String,
    formats: Vec<BfeFormat>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct BfeFormat {
    code: u8,
    format: String,
    #[serde(default)]
    data_length: Option<usize>,
    #[serde(default)]
    #[allow(dead_code)]
    signature_length: Option<usize>,
    #[serde(default)]
    #[allow(dead_code)]
    sigil: Option<String>,
    #[serde(default)]
    #[allow(dead_code)]
    suffix: Option<String>,
}

/// One row of `bfe.json`: `(type code, type, format code, format, data_length)`.
pub type BfeRow = (u8, String, u8, String, Option<usize>);

/// `ssb-bfe-spec/bfe.json` as [`BfeRow`]s, in file order.
pub fn load_bfe_registry(dir: &Path) -> Result<Vec<BfeRow>, UpstreamError> {
    let (_, types): (_, Vec<BfeType>) = read_json(dir, BFE_FILE)?;
    Ok(types
        .into_iter()
        .flat_map(|t| {
            t.formats
                .into_iter()
                .map(move |f| (t.code, t.name.clone(), f.code, f.format, f.data_length))
        })
        .collect())
}

/// Our reading of a recorded rejection reason: true when `reason` names the same fault as the
/// case's description (used to list the vectors whose `Reason` disagrees with themselves).
pub fn reason_agrees(reason: &str, expected: &Rejection) -> bool {
    let r = reason.to_ascii_lowercase();
    match expected {
        Rejection::AuthorTfk(_) => r.contains("author"),
        Rejection::PreviousTfk(_) | Rejection::FirstPreviousNotNil | Rejection::WrongPrevious => {
            r.contains("previous")
        }
        Rejection::SignatureTfk(_) | Rejection::SignatureInvalid => r.contains("signature"),
        Rejection::WrongSequence => r.contains("sequence"),
        Rejection::TooLong => r.contains("long") || r.contains("big"),
        Rejection::ContentType => r.contains("type"),
        Rejection::SubfeedTfk(_) => r.contains("subfeed"),
        Rejection::MetafeedTfk(_) => r.contains("metafeed"),
        Rejection::NonceTfk(_) | Rejection::NonceTooShort | Rejection::NonceTooLong => r.contains("nonce"),
        Rejection::ContentSignatureInvalid => r.contains("signature"),
        Rejection::Other(_) => false,
    }
}
