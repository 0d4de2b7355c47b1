//! **Bytes in flight stay bounded.** Holds when no link ever held more than a node's
//! `max_queued` (64 MiB, after which it cuts the peer off) plus one MiB of bytes sent and not
//! yet read — whatever floods or slow readers do. Not exercised when no link ever came up.

use super::{Ending, Verdict};

pub const NAME: &str = "bounded_flight";
pub const STATEMENT: &str = "bytes in flight per link stay bounded";

/// The bound: a node's `max_queued` plus a MiB.
pub const MAX_QUEUED: usize = 64 * 1024 * 1024 + 1024 * 1024;

pub fn check(e: &Ending) -> Verdict {
    if e.metrics.connections == 0 {
        return Verdict::not_exercised(NAME, STATEMENT, "no link came up");
    }
    let most = e.metrics.max_queued_bytes;
    let violations = if most > MAX_QUEUED {
        vec![format!("a link held {most} bytes in flight")]
    } else {
        Vec::new()
    };
    Verdict::judged(
        NAME,
        STATEMENT,
        format!("at most {most} bytes in flight on a link"),
        violations,
    )
}
