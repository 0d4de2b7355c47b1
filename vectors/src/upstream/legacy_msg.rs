//! Loader and checker for `ssb-legacy-msg/test-data/alice`: a three-message classic feed of the
//! test identity in `secret` (seq 1 `about`, seq 2 a private `.box` message, seq 3 a `post`),
//! as 8 samples: the `about` message from the log (whole entry and value), its signing encoding
//! without and with `signature`, the valid post and private message, and two tampered copies
//! (the post's text changed, the private message's sequence changed, signatures kept) that must
//! be refused for their signature and hash to other ids than the ones they carry.

use std::path::{Path, PathBuf};

use ssb_impl::crypto;
use ssb_impl::feed::{FeedError, FeedValidator};
use ssb_impl::identity::Keypair;
use ssb_impl::legacy::message::{check_message, message_id, prepare, sign_message, MsgId};
use ssb_impl::legacy::{self, MessageError, Mode, Object, Value};

use super::go_ssb_legacy::compare_bytes;
use super::UpstreamError;

/// The sample folder, relative to the upstream directory.
pub const DIR: &str = "ssb-legacy-msg/test-data/alice";

/// The samples, and whether each is a tampered one.
pub const SAMPLES: [(&str, bool); 8] = [
    ("about-full-from-log.json", false),
    ("about-value-from-log.json", false),
    ("about-value-to-sign.json", false),
    ("about-value-to-verify.json", false),
    ("private-valid.json", false),
    ("post-valid.json", false),
    ("post-tampered.json", true),
    ("private-tampered.json", true),
];

/// One sample's verdict.
#[derive(Debug, Clone)]
pub struct Sample {
    pub file: &'static str,
    pub tampered: bool,
    /// What we checked, in words (for the report).
    pub checked: &'static str,
    /// Every check that failed; empty when we agree with the sample.
    pub problems: Vec<String>,
}

/// All verdicts.
#[derive(Debug, Clone)]
pub struct LegacyMsgReport {
    pub samples: Vec<Sample>,
    /// about → private-valid → post-valid appended to one [`FeedValidator`]: the ids it
    /// returned, or why it stopped.
    pub feed: Result<Vec<MsgId>, String>,
    /// The tampered post appended in its place (after about and private-valid): our refusal.
    pub tampered_post_in_feed: Result<MsgId, FeedError>,
    /// The three valid messages signed anew with the key in `secret` by our `sign_message`:
    /// `Ok` when each comes out equal to the sample, id included.
    pub resigned: Result<(), String>,
}

struct Files {
    dir: PathBuf,
}

impl Files {
    fn bytes(&self, name: &str) -> Result<Vec<u8>, UpstreamError> {
        let path = self.dir.join(name);
        std::fs::read(&path).map_err(|source| UpstreamError::Missing { path, source })
    }

    fn bad(&self, name: &str, problem: String) -> UpstreamError {
        UpstreamError::Record {
            path: self.dir.join(name),
            record: "0".into(),
            problem,
        }
    }

    fn json(&self, name: &str) -> Result<Value, UpstreamError> {
        legacy::parse(&self.bytes(name)?, Mode::Strict).map_err(|e| self.bad(name, format!("not JSON: {e}")))
    }

    /// A log entry's `(key, value)`.
    fn entry(&self, name: &str) -> Result<(String, Value), UpstreamError> {
        let v = self.json(name)?;
        let o = v
            .as_object()
            .ok_or_else(|| self.bad(name, "not an object".into()))?;
        match (o.get("key").and_then(Value::as_str), o.get("value")) {
            (Some(k), Some(v)) => Ok((k.to_string_lossy(), v.clone())),
            _ => Err(self.bad(name, "not a {key, value, timestamp} log entry".into())),
        }
    }
}

fn obj(v: &Value) -> Object {
    v.as_object().cloned().unwrap_or_default()
}

fn utf8(units: &[u16]) -> Vec<u8> {
    String::from_utf16_lossy(units).into_bytes()
}

/// The compact JSON text of a log sample: the file less the one newline the generator wrote
/// after it (the two signing-encoding files have none).
fn compact_text(raw: &[u8]) -> &[u8] {
    raw.strip_suffix(b"\n").unwrap_or(raw)
}

fn expect(problems: &mut Vec<String>, ok: bool, what: impl FnOnce() -> String) {
    if !ok {
        problems.push(what());
    }
}

/// `check_message` must accept `v` and give `want` as its id.
fn accepted(problems: &mut Vec<String>, v: &Value, want: &str) {
    match check_message(v, None) {
        Ok(c) => expect(problems, c.id.to_string() == want, || {
            format!("id {} != {want}", c.id)
        }),
        Err(e) => problems.push(format!("refused: {e} ({})", e.kind())),
    }
}

/// `check_message` must refuse `v` for its signature, and `v` must not hash to `carried`.
fn refused_for_signature(problems: &mut Vec<String>, v: &Value, carried: &str) {
    match check_message(v, None) {
        Err(MessageError::SignatureInvalid) => {}
        Err(e) => problems.push(format!("refused, but for {e} ({}), not the signature", e.kind())),
        Ok(c) => problems.push(format!("accepted with id {}", c.id)),
    }
    let ours = message_id(&obj(v)).to_string();
    expect(problems, ours != carried, || {
        format!("hashes to the key it carries, {carried}")
    });
}

/// The keys whose values differ between two objects.
fn differing_keys(a: &Value, b: &Value) -> Vec<String> {
    let (a, b) = (obj(a), obj(b));
    let mut keys: Vec<String> = a
        .iter()
        .filter(|(k, v)| b.get(&k.to_string_lossy()) != Some(*v))
        .map(|(k, _)| k.to_string_lossy())
        .collect();
    keys.extend(
        b.keys()
            .map(|k| k.to_string_lossy())
            .filter(|k| !a.contains_key(k)),
    );
    keys
}

/// Re-signs `sample` with `keys`, from its own fields, and compares.
fn resign(keys: &Keypair, sample: &Value) -> Result<(), String> {
    let o = obj(sample);
    let num = |k: &str| o.get(k).and_then(Value::as_f64).ok_or(format!("no number {k}"));
    let previous = match o.get("previous") {
        Some(Value::String(s)) => Some(MsgId::parse(&s.to_string_lossy()).ok_or("bad previous")?),
        _ => None,
    };
    let content = o.get("content").cloned().ok_or("no content")?;
    let (msg, id) = sign_message(
        keys,
        previous,
        num("sequence")? as u32,
        num("timestamp")?,
        content,
        None,
    );
    if Value::Object(msg.clone()) != *sample {
        return Err(format!("re-signed message differs: {msg:?}"));
    }
    if id != message_id(&o) {
        return Err(format!("re-signed id {id} differs"));
    }
    Ok(())
}

/// Checks the 8 samples, the feed they form and the key file.
pub fn check_legacy_msg(upstream: &Path) -> Result<LegacyMsgReport, UpstreamError> {
    let f = Files {
        dir: upstream.join(DIR),
    };
    let (about_key, about) = f.entry("about-full-from-log.json")?;
    let about_log = f.json("about-value-from-log.json")?;
    let to_sign = f.bytes("about-value-to-sign.json")?;
    let to_verify = f.bytes("about-value-to-verify.json")?;
    let (private_key, private) = f.entry("private-valid.json")?;
    let post = f.json("post-valid.json")?;
    let (post_tampered_key, post_tampered) = f.entry("post-tampered.json")?;
    let (private_tampered_key, private_tampered) = f.entry("private-tampered.json")?;
    let secret = String::from_utf8_lossy(&f.bytes("secret")?).into_owned();
    let keys = Keypair::from_secret_file(&secret).map_err(|e| f.bad("secret", e.to_string()))?;

    let mut samples = Vec::new();
    let mut push = |file: &'static str, checked: &'static str, problems: Vec<String>| {
        let tampered = SAMPLES.iter().any(|(n, t)| *n == file && *t);
        samples.push(Sample {
            file,
            tampered,
            checked,
            problems,
        });
    };

    // about-full-from-log.json
    let mut p = Vec::new();
    accepted(&mut p, &about, &about_key);
    let full = f.json("about-full-from-log.json")?;
    let raw = f.bytes("about-full-from-log.json")?;
    if let Err(e) = compare_bytes(
        "compact re-encoding",
        &utf8(&legacy::to_compact_units(&full)),
        compact_text(&raw),
    ) {
        p.push(e);
    }
    expect(
        &mut p,
        about.as_object().and_then(|o| o.get("author")) == Some(&Value::string(&keys.id().to_string())),
        || "author is not the key in `secret`".into(),
    );
    push(
        "about-full-from-log.json",
        "valid, id = key, compact text (less its final newline) round-trips, author = secret's id",
        p,
    );

    // about-value-from-log.json
    let mut p = Vec::new();
    accepted(&mut p, &about_log, &about_key);
    expect(&mut p, about_log == about, || {
        "not the value of about-full-from-log.json".into()
    });
    let raw = f.bytes("about-value-from-log.json")?;
    if let Err(e) = compare_bytes(
        "compact re-encoding",
        &utf8(&legacy::to_compact_units(&about_log)),
        compact_text(&raw),
    ) {
        p.push(e);
    }
    push(
        "about-value-from-log.json",
        "valid, id = about key, equal to the log entry's value",
        p,
    );

    // about-value-to-sign.json: the signing encoding without signature, the signed bytes.
    let mut p = Vec::new();
    let unsigned = obj(&about).without("signature");
    if let Err(e) = compare_bytes(
        "encoding without signature",
        &utf8(&legacy::to_signing_units(&Value::Object(unsigned))),
        &to_sign,
    ) {
        p.push(e);
    }
    match prepare(&about, None) {
        Ok(pr) => {
            expect(&mut p, pr.signed == to_sign, || {
                "our signed bytes are not the file".into()
            });
            expect(
                &mut p,
                crypto::ed25519_verify(&pr.checked.author.0, &to_sign, &pr.signature),
                || "the signature does not verify over the file's bytes".into(),
            );
            expect(&mut p, keys.sign(&to_sign) == pr.signature, || {
                "signing the file with `secret` gives another signature".into()
            });
        }
        Err(e) => p.push(format!("refused: {e}")),
    }
    push(
        "about-value-to-sign.json",
        "our encoding without signature = file; signature verifies over it",
        p,
    );

    // about-value-to-verify.json: the signing encoding with signature, the hashed bytes.
    let mut p = Vec::new();
    let units = legacy::to_signing_units(&about);
    if let Err(e) = compare_bytes("signing encoding", &utf8(&units), &to_verify) {
        p.push(e);
    }
    let file_units: Vec<u16> = String::from_utf8_lossy(&to_verify).encode_utf16().collect();
    let hashed = MsgId(legacy::latin1_sha256(&file_units)).to_string();
    expect(&mut p, hashed == about_key, || {
        format!("the file hashes to {hashed}, not {about_key}")
    });
    match legacy::parse(&to_verify, Mode::Strict) {
        Ok(v) => expect(&mut p, v == about, || {
            "parses to another value than the log's".into()
        }),
        Err(e) => p.push(format!("does not parse: {e}")),
    }
    push(
        "about-value-to-verify.json",
        "our signing encoding = file; its hash = about key",
        p,
    );

    // private-valid.json
    let mut p = Vec::new();
    accepted(&mut p, &private, &private_key);
    let content = obj(&private).get("content").cloned();
    expect(
        &mut p,
        content
            .as_ref()
            .and_then(Value::as_str)
            .is_some_and(|s| s.to_string_lossy().ends_with(".box")),
        || format!("content is not a .box string: {content:?}"),
    );
    push("private-valid.json", "valid (string .box content), id = key", p);

    // post-valid.json: a bare value; its id is the key the tampered copy carries.
    let mut p = Vec::new();
    accepted(&mut p, &post, &post_tampered_key);
    push(
        "post-valid.json",
        "valid, id = the key post-tampered.json carries",
        p,
    );

    // post-tampered.json: text "Bob?" → "Bab?", signature kept.
    let mut p = Vec::new();
    refused_for_signature(&mut p, &post_tampered, &post_tampered_key);
    let diff = differing_keys(&post, &post_tampered);
    expect(&mut p, diff == ["content"], || {
        format!("differs from post-valid.json in {diff:?}, not just content")
    });
    push(
        "post-tampered.json",
        "refused for its signature; hashes to another id than its key",
        p,
    );

    // private-tampered.json: sequence 2 → 3, signature kept.
    let mut p = Vec::new();
    refused_for_signature(&mut p, &private_tampered, &private_tampered_key);
    let diff = differing_keys(&private, &private_tampered);
    expect(&mut p, diff == ["sequence"], || {
        format!("differs from private-valid.json in {diff:?}, not just sequence")
    });
    expect(&mut p, private_tampered_key == private_key, || {
        "carries another key than private-valid.json".into()
    });
    push(
        "private-tampered.json",
        "refused for its signature; hashes to another id than its key",
        p,
    );

    let mut v = FeedValidator::new(None);
    let feed = [&about, &private, &post]
        .into_iter()
        .map(|m| v.append(m).map_err(|e| format!("{e} ({})", e.kind())))
        .collect::<Result<Vec<_>, _>>();
    let mut v = FeedValidator::new(None);
    let tampered_post_in_feed = [&about, &private, &post_tampered]
        .into_iter()
        .map(|m| v.append(m))
        .collect::<Result<Vec<_>, _>>()
        .map(|ids| ids[2]);
    let resigned = [&about, &private, &post]
        .into_iter()
        .try_for_each(|m| resign(&keys, m));
    Ok(LegacyMsgReport {
        samples,
        feed,
        tampered_post_in_feed,
        resigned,
    })
}
