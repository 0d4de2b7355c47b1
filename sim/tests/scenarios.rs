//! The simulator's promises: a seed replays a run byte for byte, the signature memo changes
//! nothing but time, the bundled smoke and Byzantine scenarios hold their invariants (forgeries
//! rejected, forks detected, flooders cut off), and a violated invariant names the seed and the
//! command that replays it.

use ssb_sim::{run, Scenario};

fn quiet(sc: &Scenario) -> Result<ssb_sim::Summary, ssb_sim::Violation> {
    run(sc, &mut |_, _| {})
}

#[test]
fn smoke_holds_and_one_seed_gives_identical_summaries() {
    let sc = Scenario::load("smoke").unwrap();
    let a = quiet(&sc).unwrap_or_else(|v| panic!("{v}"));
    let b = quiet(&sc).unwrap_or_else(|v| panic!("{v}"));
    assert!(a.invariants.held);
    assert_eq!(a.messages_converged, a.messages_published);
    assert!(!a.forks_detected.is_empty(), "the forking feed was not detected");
    assert!(a.rejected > 0, "the forger's messages were not seen");
    assert_eq!(
        serde_json::to_string_pretty(&a).unwrap(),
        serde_json::to_string_pretty(&b).unwrap()
    );
    let mut other = sc.clone();
    other.seed = 2;
    let c = quiet(&other).unwrap_or_else(|v| panic!("{v}"));
    assert_ne!(a.bytes_sent, c.bytes_sent, "another seed, another run");
}

#[test]
fn the_signature_memo_changes_no_outcome() {
    let mut sc = Scenario::load("smoke").unwrap();
    sc.nodes = 25;
    sc.signature_memo = true;
    let with = quiet(&sc).unwrap_or_else(|v| panic!("{v}"));
    sc.signature_memo = false;
    let without = quiet(&sc).unwrap_or_else(|v| panic!("{v}"));
    assert_eq!(
        serde_json::to_string(&with).unwrap(),
        serde_json::to_string(&without).unwrap()
    );
}

#[test]
fn byzantine_nodes_are_refused() {
    let mut sc = Scenario::load("byzantine").unwrap();
    sc.nodes = 30;
    sc.workload.messages_per_node = 4;
    let s = quiet(&sc).unwrap_or_else(|v| panic!("{v}"));
    assert!(s.invariants.held);
    assert!(s.rejected > 0, "forged messages were never offered");
    assert_eq!(s.forks_detected.len(), 2, "{:?}", s.forks_detected);
    assert!(
        s.closes.keys().any(|k| k.contains("muxrpc")),
        "the flooders were not cut off: {:?}",
        s.closes
    );
    // The slow peers read 4 KiB/s: what is in flight towards them stays within a node's write
    // high-water mark (plus one packet), not the whole backlog.
    assert_eq!(sc.byzantine.slow, 2);
    assert!(
        s.max_queued_bytes_per_link <= ssb_impl::node::NodeConfig::default().high_water + 64 * 1024,
        "{} bytes in flight on one link",
        s.max_queued_bytes_per_link
    );
}

#[test]
fn legacy_replication_converges_too() {
    let mut sc = Scenario::load("legacy-vs-ebt").unwrap();
    sc.replication = "legacy".into();
    sc.nodes = 20;
    let s = quiet(&sc).unwrap_or_else(|v| panic!("{v}"));
    assert_eq!(s.messages_converged, s.messages_published);
}

#[test]
fn a_violation_names_the_seed_and_the_replay_command() {
    let mut sc = Scenario::load("smoke").unwrap();
    sc.nodes = 20;
    sc.seed = 7;
    sc.byzantine.forgers = 0;
    sc.byzantine.forkers = 0;
    // A partition that never heals: the two sides cannot converge.
    sc.faults.partition = vec![ssb_sim::scenario::Partition {
        at_s: 2,
        heal_s: 10_000,
        fraction: 0.5,
    }];
    let v = quiet(&sc).expect_err("an unhealed partition cannot converge");
    assert!(v.what.contains("holds"), "{v}");
    assert_eq!(v.invariant, "convergence");
    // Every change to the bundled scenario is in the replay command.
    assert_eq!(
        v.replay,
        "ssb-harness sim smoke --seed 7 --set byzantine.forgers=0 --set byzantine.forkers=0 \
         --set 'faults.partition=[{ at_s = 2, fraction = 0.5, heal_s = 10000 }]' --set nodes=20"
    );
}

#[test]
fn group_members_read_their_groups_and_nobody_else_does() {
    let mut sc = Scenario::load("groups").unwrap();
    sc.nodes = 40;
    sc.groups.count = 3;
    sc.groups.messages = 8;
    let s = quiet(&sc).unwrap_or_else(|v| panic!("{v}"));
    let g = s.groups.as_ref().expect("a groups summary");
    assert!(s.invariants.held);
    assert_eq!(g.groups, 3);
    assert_eq!(g.members, 3 * sc.groups.members);
    assert_eq!(g.group_messages, 3 * 8);
    assert_eq!(g.member_reads, g.member_reads_expected);
    assert_eq!(g.member_reads_expected, g.members * 8);
    assert_eq!(g.non_member_reads, 0);
    // Every honest node looked at every encrypted message (init, add-member, posts) it stored.
    assert!(
        g.box2_checked
            >= (sc.nodes as u64 - 1) * (g.groups + g.add_member_messages + g.group_messages) as u64
    );
}

#[test]
fn crashed_hosts_lose_their_unsynced_tail_and_catch_up() {
    let mut sc = Scenario::load("churn").unwrap();
    sc.nodes = 50;
    // Received messages are synced once a tick: a long tick leaves more to lose in a crash.
    sc.network.tick_ms = 5_000;
    let s = quiet(&sc).unwrap_or_else(|v| panic!("{v}"));
    assert!(s.invariants.held);
    assert!(s.messages_lost_to_torn_writes > 0, "no crash tore anything");
    assert_eq!(s.messages_converged, s.messages_published);
}
