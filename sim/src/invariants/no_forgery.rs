//! **No forgery is stored.** Holds when every message an honest node stores from a peer is one
//! its author published: its id is among the ids the ledger recorded for that feed and
//! sequence (for a forking identity, either branch's). Checked on every `Appended` event of an
//! honest node as it happens, so a violation stops the run at its time. Not exercised when no
//! honest node ever stored a message received from a peer.

use ssb_impl::FeedId;

use super::{Ending, Verdict};
use crate::ledger::Ledger;
use crate::plan::Plan;
use crate::world::World;

pub const NAME: &str = "no_forgery";
pub const STATEMENT: &str = "no honest node stores a message its author did not publish";

/// Checks one message that honest `host` just stored from a peer.
pub fn on_appended(
    plan: &Plan,
    world: &World,
    ledger: &Ledger,
    host: usize,
    feed: &FeedId,
    sequence: u64,
) -> Result<(), String> {
    let Some(&a) = plan.by_feed.get(feed) else {
        return Ok(());
    };
    let node = world.hosts[host].node.as_ref().expect("it just appended");
    let id = node.store().get(feed, sequence).ok().flatten().map(|s| s.id);
    if id.is_some_and(|id| ledger.is_genuine(a, sequence, &id)) {
        Ok(())
    } else {
        Err(format!(
            "honest node {host} stored {feed} sequence {sequence}, which its author never published"
        ))
    }
}

/// The verdict at the end (a violation stopped the run earlier, so reaching here means held).
pub fn verdict(e: &Ending) -> Verdict {
    if e.metrics.delivered == 0 {
        return Verdict::not_exercised(NAME, STATEMENT, "no honest node stored a message from a peer");
    }
    Verdict::held(
        NAME,
        STATEMENT,
        format!(
            "{} messages stored from peers, {} refused",
            e.metrics.delivered, e.metrics.rejected
        ),
    )
}
