//! **Private groups.** When the scenario has groups, on the running honest nodes at the end:
//! every member that is owed the creator's feed (whose add-member messages carry the key; see
//! [`super::convergence`] for "owed") holds the group key, and reads every message of the group
//! (those posted before it joined included) whose author's feed it is owed; no other honest node
//! holds a group's key or reads any of its messages; every honest node owed a member's feed
//! stores that member's group ciphertexts. Checked by [`crate::groups::GroupSim::check`]. Not
//! exercised when no group was created.

use super::Verdict;
use crate::groups::GroupsSummary;

pub const NAME: &str = "groups";
pub const STATEMENT: &str = "group members hold the key and read every group message they are owed; no other honest node does; nodes owed a member's feed store its ciphertexts";

pub fn verdict(summary: &GroupsSummary, violations: Vec<String>) -> Verdict {
    if summary.groups == 0 {
        return Verdict::not_exercised(NAME, STATEMENT, "no group was created");
    }
    Verdict::judged(
        NAME,
        STATEMENT,
        format!(
            "{} groups, {} members, {} reads by members of {} expected",
            summary.groups, summary.members, summary.member_reads, summary.member_reads_expected
        ),
        violations,
    )
}
