//! Loaders and checkers for go-ssb's `message/legacy` test data.
//!
//! - [`check_zip`]: `testdata.zip`, 235 real messages of one feed, each stored as three entries
//!   `NNNNN.full` (compact `{key, value, timestamp}` as in the log), `NNNNN.input` (the signing
//!   encoding of `value`, `JSON.stringify(value, null, 2)`) and `NNNNN.noSig` (the same without
//!   `signature`: the bytes the signature covers). For each message our signing encoding must be
//!   `.input` byte for byte, our encoding without the signature `.noSig`, our id `key`, and the
//!   signature must verify; then the whole feed is appended in order to a [`FeedValidator`].
//! - [`check_fuzzed`]: `testdata-fuzzed.json`, an older 60-case revision of
//!   ssb-validation-dataset, judged as [`super::validation_dataset`] judges the current one, and
//!   matched to the equal case of the current `ssb-validation-dataset/data.json`.

use std::io::Read;
use std::path::Path;

use ssb_impl::crypto;
use ssb_impl::feed::FeedValidator;
use ssb_impl::legacy::message::{check_message, message_id, prepare};
use ssb_impl::legacy::stringify::units_to_utf8;
use ssb_impl::legacy::{self, Mode, Object, Value};

use super::validation_dataset::{judge_case, read_cases};
use super::UpstreamError;

/// The zip of real messages, relative to the upstream directory.
pub const ZIP: &str = "go-ssb-legacy/message/legacy/testdata.zip";
/// The older validation-dataset revision, relative to the upstream directory.
pub const FUZZED: &str = "go-ssb-legacy/message/legacy/testdata-fuzzed.json";
/// The current validation dataset the fuzzed cases are matched against.
pub const DATASET: &str = "ssb-validation-dataset/data.json";

/// The three zip entries of one message.
#[derive(Debug, Clone)]
pub struct ZipMessage {
    /// The `NNNNN` of the entry names (the message's sequence number).
    pub number: u32,
    pub full: Vec<u8>,
    pub input: Vec<u8>,
    pub no_sig: Vec<u8>,
}

/// Reads `testdata.zip`. Its layout must be exactly `NNNNN.full`, `NNNNN.input` and
/// `NNNNN.noSig` for `NNNNN` = 00001, 00002, … with nothing else in the archive.
pub fn read_zip(upstream: &Path) -> Result<Vec<ZipMessage>, UpstreamError> {
    let path = upstream.join(ZIP);
    let bad = |record: &str, problem: String| UpstreamError::Record {
        path: path.clone(),
        record: record.to_string(),
        problem,
    };
    let file = std::fs::File::open(&path).map_err(|source| UpstreamError::Missing {
        path: path.clone(),
        source,
    })?;
    let mut archive =
        zip::ZipArchive::new(file).map_err(|e| bad("zip", format!("not a zip archive: {e}")))?;
    let mut entries: std::collections::BTreeMap<(u32, String), Vec<u8>> = Default::default();
    for i in 0..archive.len() {
        let mut f = archive
            .by_index(i)
            .map_err(|e| bad(&format!("entry {i}"), e.to_string()))?;
        let name = f.name().to_string();
        let (number, ext) = name
            .split_once('.')
            .filter(|(n, e)| n.len() == 5 && n.bytes().all(|b| b.is_ascii_digit()) && !e.contains('.'))
            .and_then(|(n, e)| Some((n.parse::<u32>().ok()?, e)))
            .filter(|(_, e)| ["full", "input", "noSig"].contains(e))
            .ok_or_else(|| bad(&name, "not an NNNNN.full / .input / .noSig entry".into()))?;
        let mut bytes = Vec::new();
        f.read_to_end(&mut bytes)
            .map_err(|e| bad(&name, format!("cannot read: {e}")))?;
        if entries.insert((number, ext.to_string()), bytes).is_some() {
            return Err(bad(&name, "entry appears twice".into()));
        }
    }
    let count = entries.len() / 3;
    let mut out = Vec::with_capacity(count);
    for number in 1..=count as u32 {
        let mut take = |ext: &str| {
            entries
                .remove(&(number, ext.to_string()))
                .ok_or_else(|| bad(&format!("{number:05}.{ext}"), "entry missing".into()))
        };
        out.push(ZipMessage {
            number,
            full: take("full")?,
            input: take("input")?,
            no_sig: take("noSig")?,
        });
    }
    if let Some(((n, ext), _)) = entries.into_iter().next() {
        return Err(bad(
            &format!("{n:05}.{ext}"),
            "entry outside 1..=N or without its companions".into(),
        ));
    }
    Ok(out)
}

/// `Ok` when `ours` is `theirs`; else where they first differ, with the text around it.
pub fn compare_bytes(what: &str, ours: &[u8], theirs: &[u8]) -> Result<(), String> {
    if ours == theirs {
        return Ok(());
    }
    let at = ours
        .iter()
        .zip(theirs)
        .position(|(a, b)| a != b)
        .unwrap_or(ours.len().min(theirs.len()));
    let around =
        |b: &[u8]| String::from_utf8_lossy(&b[at.saturating_sub(40)..(at + 40).min(b.len())]).into_owned();
    Err(format!(
        "{what} differs at byte {at} (ours {} bytes, theirs {}): ours …{:?}…, theirs …{:?}…",
        ours.len(),
        theirs.len(),
        around(ours),
        around(theirs)
    ))
}

/// UTF-8 of a signing encoding (always valid: the encoding escapes lone surrogates).
fn utf8(units: &[u16]) -> Vec<u8> {
    units_to_utf8(units)
        .unwrap_or_else(|| String::from_utf16_lossy(units))
        .into_bytes()
}

/// One zip message's verdicts; each is `Ok` when we agree with the data.
#[derive(Debug, Clone)]
pub struct ZipCase {
    pub number: u32,
    /// The `key` of `.full`.
    pub key: String,
    /// Our signing encoding of `.full`'s `value` is `.input`.
    pub encoding: Result<(), String>,
    /// Our signing encoding of `value` without `signature` is `.noSig`.
    pub no_sig: Result<(), String>,
    /// `.input` parsed and encoded again is `.input` (go-ssb's `encode_test.go`).
    pub reencode: Result<(), String>,
    /// Our id of `value` is `key`.
    pub id: Result<(), String>,
    /// `check_message` accepts `value` (every single-message rule and the signature), and the
    /// signature also verifies over the `.noSig` bytes exactly as stored.
    pub signature: Result<(), String>,
    /// `.full` encoded again compactly (`JSON.stringify`) is `.full`.
    pub compact: Result<(), String>,
    /// `.full` is within the strict legacy data model (no duplicate keys, lone surrogates or
    /// numbers rounding to ±Infinity/−0), not just what `JSON.parse` takes.
    pub strict: bool,
    /// The largest UTF-16 code unit of `.input`: above 0x7f the UTF-8 signed bytes and the
    /// latin-1 hashed bytes differ; above 0xff the id hash drops the unit's high byte.
    pub max_unit: u16,
}

impl ZipCase {
    /// Every failed verdict, named.
    pub fn problems(&self) -> Vec<String> {
        [
            &self.encoding,
            &self.no_sig,
            &self.reencode,
            &self.id,
            &self.signature,
            &self.compact,
        ]
        .into_iter()
        .filter_map(|r| r.as_ref().err().cloned())
        .collect()
    }
}

/// What appending the zip's messages in order to one [`FeedValidator`] gave.
#[derive(Debug, Clone)]
pub struct FeedRun {
    /// Messages appended before the first refusal (all of them when `refused` is `None`).
    pub appended: usize,
    /// Appended messages whose returned id is the data's `key`.
    pub ids_match: usize,
    /// The first refused message's number and why.
    pub refused: Option<(u32, String)>,
}

/// The whole zip's verdicts.
#[derive(Debug, Clone)]
pub struct ZipReport {
    pub cases: Vec<ZipCase>,
    pub feed: FeedRun,
}

/// Checks every message of `testdata.zip`, then the feed they form.
pub fn check_zip(upstream: &Path) -> Result<ZipReport, UpstreamError> {
    let path = upstream.join(ZIP);
    let messages = read_zip(upstream)?;
    let mut cases = Vec::with_capacity(messages.len());
    let mut values = Vec::with_capacity(messages.len());
    for m in &messages {
        let record = format!("{:05}.full", m.number);
        let bad = |problem: String| UpstreamError::Record {
            path: path.clone(),
            record: record.clone(),
            problem,
        };
        let full = legacy::parse(&m.full, Mode::JsCompat).map_err(|e| bad(format!("not JSON: {e}")))?;
        let strict = legacy::parse(&m.full, Mode::Strict).is_ok();
        let outer = full.as_object().ok_or_else(|| bad("not an object".into()))?;
        let key = outer
            .get("key")
            .and_then(Value::as_str)
            .ok_or_else(|| bad("no string key".into()))?
            .to_string_lossy();
        let value = outer
            .get("value")
            .cloned()
            .ok_or_else(|| bad("no value".into()))?;
        let obj: &Object = value
            .as_object()
            .ok_or_else(|| bad("value is not an object".into()))?;

        let units = legacy::to_signing_units(&value);
        let encoding = compare_bytes("signing encoding", &utf8(&units), &m.input);
        let no_sig = compare_bytes(
            "encoding without signature",
            &utf8(&legacy::to_signing_units(&Value::Object(
                obj.without("signature"),
            ))),
            &m.no_sig,
        );
        let reencode = match legacy::parse(&m.input, Mode::JsCompat) {
            Ok(v) => compare_bytes(
                ".input re-encoded",
                &utf8(&legacy::to_signing_units(&v)),
                &m.input,
            ),
            Err(e) => Err(format!(".input does not parse: {e}")),
        };
        let ours = message_id(obj).to_string();
        let id = if ours == key {
            Ok(())
        } else {
            Err(format!("id {ours} != key {key}"))
        };
        let signature = match (check_message(&value, None), prepare(&value, None)) {
            (Ok(c), Ok(p)) if crypto::ed25519_verify(&c.author.0, &m.no_sig, &p.signature) => Ok(()),
            (Ok(_), _) => Err("signature does not verify over the stored .noSig bytes".into()),
            (Err(e), _) => Err(format!("check_message refuses it: {e} ({})", e.kind())),
        };
        let compact = compare_bytes(
            "compact re-encoding",
            &utf8(&legacy::to_compact_units(&full)),
            &m.full,
        );
        cases.push(ZipCase {
            number: m.number,
            key,
            encoding,
            no_sig,
            reencode,
            id,
            signature,
            compact,
            strict,
            max_unit: units.iter().copied().max().unwrap_or(0),
        });
        values.push(value);
    }

    let mut validator = FeedValidator::new(None);
    let mut feed = FeedRun {
        appended: 0,
        ids_match: 0,
        refused: None,
    };
    for (case, value) in cases.iter().zip(&values) {
        match validator.append(value) {
            Ok(id) => {
                feed.appended += 1;
                feed.ids_match += usize::from(id.to_string() == case.key);
            }
            Err(e) => {
                feed.refused = Some((case.number, format!("{e} ({})", e.kind())));
                break;
            }
        }
    }
    Ok(ZipReport { cases, feed })
}

/// One case of `testdata-fuzzed.json`.
#[derive(Debug, Clone)]
pub struct FuzzedCase {
    pub index: usize,
    pub valid: bool,
    pub expected_error: Option<String>,
    /// Our id, or our error's kind.
    pub ours: Result<String, String>,
    /// `None` when we agree with the case (accept/reject, the dataset's reason, the id).
    pub problem: Option<String>,
    /// The index of the equal case of the current `ssb-validation-dataset/data.json`, comparing
    /// the parsed values (as `JSON.parse` gives them: numbers are doubles, key order counts).
    pub dataset_index: Option<usize>,
    /// `state.timestamp`, if the case has one.
    pub state_timestamp: Option<f64>,
}

/// Checks every case of `testdata-fuzzed.json` and finds each one's equal in the current
/// ssb-validation-dataset.
pub fn check_fuzzed(upstream: &Path) -> Result<Vec<FuzzedCase>, UpstreamError> {
    let path = upstream.join(FUZZED);
    let cases = read_cases(&path)?;
    let dataset = read_cases(&upstream.join(DATASET))?;
    let mut out = Vec::with_capacity(cases.len());
    for (i, case) in cases.iter().enumerate() {
        let c = judge_case(&path, i, case)?;
        out.push(FuzzedCase {
            index: c.index,
            valid: c.valid,
            expected_error: c.expected_error,
            ours: c.ours,
            problem: c.problem,
            dataset_index: dataset.iter().position(|d| d == case),
            state_timestamp: c.state_timestamp,
        });
    }
    Ok(out)
}
