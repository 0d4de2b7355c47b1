//! Encrypted message content as it travels in a classic message: the ciphertext in canonical
//! standard base64 (padded, unused bits zero) followed by a suffix naming the format, `.box` for
//! private-box (box1) and `.box2` for the envelope format (box2).

use base64::engine::general_purpose::STANDARD;
use base64::Engine;

/// The two encrypted-content formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BoxFormat {
    /// private-box, suffix `.box`.
    Box1,
    /// envelope, suffix `.box2`.
    Box2,
}

impl BoxFormat {
    pub fn suffix(self) -> &'static str {
        match self {
            BoxFormat::Box1 => ".box",
            BoxFormat::Box2 => ".box2",
        }
    }
}

/// Why a content string is not encrypted content of the expected format.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ContentError {
    #[error("content does not end with {expected}")]
    Suffix { expected: &'static str },
    #[error("content before {suffix} is not canonical base64")]
    Base64 { suffix: &'static str },
    #[error("content holds no ciphertext")]
    Empty,
}

/// `<base64>.box` or `<base64>.box2`.
pub fn encode(format: BoxFormat, ciphertext: &[u8]) -> String {
    let mut s = STANDARD.encode(ciphertext);
    s.push_str(format.suffix());
    s
}

/// The ciphertext of a content string of `format`. The suffix must be exactly the format's
/// (`.box2` is not private-box content, nor `.box` envelope content), and the base64 canonical.
pub fn decode(format: BoxFormat, content: &str) -> Result<Vec<u8>, ContentError> {
    let suffix = format.suffix();
    let b64 = content
        .strip_suffix(suffix)
        .ok_or(ContentError::Suffix { expected: suffix })?;
    if b64.is_empty() {
        return Err(ContentError::Empty);
    }
    STANDARD.decode(b64).map_err(|_| ContentError::Base64 { suffix })
}

/// Which format a content string claims by its suffix, if either.
pub fn format_of(content: &str) -> Option<BoxFormat> {
    if content.ends_with(".box2") {
        Some(BoxFormat::Box2)
    } else if content.ends_with(".box") {
        Some(BoxFormat::Box1)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_refusals() {
        let s = encode(BoxFormat::Box2, b"abc");
        assert_eq!(s, "YWJj.box2");
        assert_eq!(decode(BoxFormat::Box2, &s).unwrap(), b"abc");
        assert_eq!(format_of(&s), Some(BoxFormat::Box2));
        assert_eq!(format_of("YWJj.box"), Some(BoxFormat::Box1));
        assert_eq!(format_of("YWJj"), None);
        assert_eq!(
            decode(BoxFormat::Box1, &s),
            Err(ContentError::Suffix { expected: ".box" })
        );
        assert_eq!(
            decode(BoxFormat::Box2, "YWJj.box"),
            Err(ContentError::Suffix { expected: ".box2" })
        );
        assert_eq!(decode(BoxFormat::Box1, ".box"), Err(ContentError::Empty));
        // Non-zero unused bits, missing padding, URL alphabet.
        for bad in ["YR==.box", "YQ.box", "-_-_.box"] {
            assert!(matches!(
                decode(BoxFormat::Box1, bad),
                Err(ContentError::Base64 { .. })
            ));
        }
    }
}
