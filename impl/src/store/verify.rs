//! Verify on open: before a node serves anything from a disk store, every stored message is
//! checked as the doctor checks it (signature, chaining within its feed, the record's fields
//! against the message, the canonical text), so that a record changed on disk with a valid
//! checksum is refused instead of served. Opening the store checks framing and checksums only;
//! this adds the cryptographic check, at the cost of one signature verification per message,
//! so by default it runs only for logs up to [`DEFAULT_MAX_BYTES`]; a larger log is verified
//! record by record as it is read instead ([`super::read_check`], [`VerifyOnOpen::verify_on_read`]).

use std::path::Path;

use super::doctor::{self, Problem};
use super::StoreError;

/// Logs up to this many bytes are verified on open by default (32 MiB: some 50,000 messages,
/// a few seconds on one core).
pub const DEFAULT_MAX_BYTES: u64 = 32 << 20;

/// When to verify.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum VerifyOnOpen {
    /// When the log is at most [`DEFAULT_MAX_BYTES`]; a larger log is verified on read.
    #[default]
    Auto,
    Always,
    /// Not on open: every record is verified the first time it is read, before it is served.
    OnRead,
    Never,
}

impl VerifyOnOpen {
    /// Whether a store opened after `verified` should verify its records on read: when `mode`
    /// asks for it, or when `Auto` skipped a log too large to verify on open.
    pub fn verify_on_read(self, verified: &Verified) -> bool {
        match self {
            VerifyOnOpen::OnRead => true,
            VerifyOnOpen::Auto => matches!(verified, Verified::Skipped { .. }),
            VerifyOnOpen::Always | VerifyOnOpen::Never => false,
        }
    }
}

impl std::str::FromStr for VerifyOnOpen {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "auto" => Ok(VerifyOnOpen::Auto),
            "always" => Ok(VerifyOnOpen::Always),
            "on-read" => Ok(VerifyOnOpen::OnRead),
            "never" => Ok(VerifyOnOpen::Never),
            _ => Err(format!("{s:?}: expected auto, always, on-read or never")),
        }
    }
}

/// What verification found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verified {
    /// Every message verified.
    Clean { messages: u64 },
    /// Not run (the mode, or the log is larger than the limit).
    Skipped { log_bytes: u64, why: String },
    /// Damage that opening the store does not catch or mend.
    Damaged { problems: Vec<Problem> },
}

/// Problems that open itself deals with (a torn tail or header is cut, the index is rebuilt or
/// caught up) and are therefore not a reason to refuse the store.
fn handled_by_open(p: &Problem) -> bool {
    matches!(
        p.kind,
        "torn_tail" | "torn_header" | "index_missing" | "index_inconsistent" | "index_behind"
    )
}

/// Verifies the log in `dir` as `mode` says, for a network signing with `hmac_key`.
pub fn verify(dir: &Path, mode: VerifyOnOpen, hmac_key: Option<&[u8; 32]>) -> Result<Verified, StoreError> {
    let log_bytes = match std::fs::metadata(dir.join(super::log::LOG_FILE)) {
        Ok(m) => m.len(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => 0,
        Err(e) => return Err(e.into()),
    };
    match mode {
        VerifyOnOpen::Never => {
            return Ok(Verified::Skipped {
                log_bytes,
                why: "verification is off".into(),
            })
        }
        VerifyOnOpen::OnRead => {
            return Ok(Verified::Skipped {
                log_bytes,
                why: "each record is verified when it is first read".into(),
            })
        }
        VerifyOnOpen::Auto if log_bytes > DEFAULT_MAX_BYTES => {
            return Ok(Verified::Skipped {
                log_bytes,
                why: format!(
                    "the log is larger than {} MiB: each record is verified when it is first read \
                     (--verify-on-open always verifies everything now)",
                    DEFAULT_MAX_BYTES >> 20
                ),
            })
        }
        _ => {}
    }
    let r = doctor::check_log_only(dir, hmac_key)?;
    let problems: Vec<Problem> = r
        .problems
        .into_iter()
        .filter(|p| !handled_by_open(p) && p.kind != "log_missing")
        .collect();
    if problems.is_empty() {
        Ok(Verified::Clean {
            messages: r.signatures_verified,
        })
    } else {
        Ok(Verified::Damaged { problems })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auto_verifies_on_read_exactly_when_it_skipped_the_log() {
        let skipped = Verified::Skipped {
            log_bytes: DEFAULT_MAX_BYTES + 1,
            why: String::new(),
        };
        let clean = Verified::Clean { messages: 3 };
        assert!(VerifyOnOpen::Auto.verify_on_read(&skipped));
        assert!(!VerifyOnOpen::Auto.verify_on_read(&clean));
        assert!(VerifyOnOpen::OnRead.verify_on_read(&skipped));
        assert!(!VerifyOnOpen::Never.verify_on_read(&skipped));
        assert!(!VerifyOnOpen::Always.verify_on_read(&clean));
        assert_eq!("on-read".parse::<VerifyOnOpen>(), Ok(VerifyOnOpen::OnRead));
        assert!("sometimes".parse::<VerifyOnOpen>().is_err());
    }

    #[test]
    fn a_log_over_the_limit_is_skipped_by_auto_and_on_read() {
        let dir = tempfile::tempdir().unwrap();
        let log = std::fs::File::create(dir.path().join(super::super::log::LOG_FILE)).unwrap();
        log.set_len(DEFAULT_MAX_BYTES + 1).unwrap();
        for mode in [VerifyOnOpen::Auto, VerifyOnOpen::OnRead, VerifyOnOpen::Never] {
            let v = verify(dir.path(), mode, None).unwrap();
            assert!(
                matches!(v, Verified::Skipped { log_bytes, .. } if log_bytes == DEFAULT_MAX_BYTES + 1),
                "{mode:?}: {v:?}"
            );
            assert_eq!(mode.verify_on_read(&v), mode != VerifyOnOpen::Never);
        }
    }
}
