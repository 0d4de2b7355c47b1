//! Regression tests for what the first sweeps found, each named after the seed that showed it,
//! and the proof that a deliberately broken node fails the fork-detection invariant.

use ssb_sim::invariants::Status;
use ssb_sim::{run, Scenario, Summary, Violation};

fn quiet(sc: &Scenario) -> Result<Summary, Violation> {
    run(sc, &mut |_, _| {})
}

fn status(s: &Summary, name: &str) -> (Status, String) {
    let c = s
        .invariants
        .checks
        .iter()
        .find(|c| c.name == name)
        .expect("checked");
    (c.status, c.detail.clone())
}

/// Seed 1069 of smoke at 50 nodes failed "the fork was not detected". No honest node ever held
/// the forker's first branch: every pub took the second branch from its first source, and EBT
/// never offers a branch of the same length. The fork was invisible to honest nodes, so
/// detection is not owed; the run says so instead of passing or failing it.
#[test]
fn seed_1069_smoke_fork_that_no_honest_node_can_see_is_not_owed() {
    let mut sc = Scenario::load("smoke").unwrap();
    sc.seed = 1069;
    sc.nodes = 50;
    let s = quiet(&sc).unwrap_or_else(|v| panic!("{v}"));
    let (st, detail) = status(&s, "fork_detection");
    assert_eq!(st, Status::NotExercised, "{detail}");
    assert!(detail.contains("0 honest holders of one branch"), "{detail}");
    assert!(s.forks_detected.is_empty());
}

/// `sim smoke --nodes 4` and `--nodes 6` (seed 1) failed the same way: with 4 nodes host 0 is
/// the only honest node; with 6 the branches never reach two joined honest nodes.
#[test]
fn seed_1_smoke_with_4_and_6_nodes_owes_no_fork_detection() {
    for n in [4, 6] {
        let mut sc = Scenario::load("smoke").unwrap();
        sc.nodes = n;
        let s = quiet(&sc).unwrap_or_else(|v| panic!("{n} nodes: {v}"));
        assert_eq!(status(&s, "fork_detection").0, Status::NotExercised, "{n} nodes");
    }
    // With 4 nodes the single honest node is owed no honest feed.
    let mut sc = Scenario::load("smoke").unwrap();
    sc.nodes = 4;
    let s = quiet(&sc).unwrap();
    assert_eq!(status(&s, "convergence").0, Status::NotExercised);
}

/// Seed 2484 of byzantine at 20 nodes by createHistoryStream: node 5's only link is to a
/// forger, whose copy of a victim's feed stops at its first forgery. The plan counted the forger
/// as a carrier and owed node 5 every feed; a forger carries nothing reliably, so node 5 is owed
/// nothing, and the printed replay now keeps the replication method.
#[test]
fn seed_2484_byzantine_legacy_node_behind_a_forger_is_owed_nothing() {
    use rand_core::SeedableRng;
    let mut sc = Scenario::load("byzantine").unwrap();
    sc.seed = 2484;
    sc.nodes = 20;
    sc.replication = "legacy".into();
    let mut setup = rand_chacha::ChaCha20Rng::seed_from_u64(sc.seed);
    let plan = ssb_sim::plan::Plan::new(&sc, &mut setup);
    assert!(plan.adj[5]
        .iter()
        .all(|j| plan.roles[*j] == ssb_sim::world::Role::Forger));
    // Owed no honest feed (only the forger's own, which it never publishes).
    assert!(plan.expect[5]
        .iter()
        .all(|a| plan.roles[*a] != ssb_sim::world::Role::Honest));
    let s = quiet(&sc).unwrap_or_else(|v| panic!("{v}"));
    assert!(s.invariants.held);
    assert_eq!(
        ssb_sim::replay::command(&sc),
        "ssb-harness sim byzantine --seed 2484 --set nodes=20 --set replication=legacy"
    );
}

/// `sim smoke --hubs 0` simulated a network without a single link and reported every invariant
/// held. A hubs topology without hubs is refused now, and a run without links says its
/// invariants were not exercised.
#[test]
fn smoke_with_no_hubs_is_refused_and_a_linkless_run_exercises_nothing() {
    let mut sc = Scenario::load("smoke").unwrap();
    sc.topology.hubs = 0;
    assert!(sc.check().unwrap_err().contains("at least one hub"));
    // Nodes that follow nobody and no pubs: nothing is owed, nothing to converge.
    let mut sc = Scenario::load("smoke").unwrap();
    sc.nodes = 3;
    sc.topology.kind = "random_regular".into();
    sc.byzantine.forgers = 0;
    sc.byzantine.forkers = 0;
    sc.follows.count = 0;
    sc.faults.partition.clear();
    let s = quiet(&sc).unwrap();
    assert_eq!(status(&s, "convergence").0, Status::NotExercised);
    assert_eq!(status(&s, "fork_detection").0, Status::NotExercised);
}

/// Swarm seeds 6, 11 and 25 of groups failed "member cannot read": the members were not owed
/// the creator's feed (whose add-member message carries the key) or the post's author's feed.
#[test]
fn seeds_6_11_25_groups_swarm_owe_reads_only_through_owed_feeds() {
    for seed in [6, 11, 25] {
        let mut sc = Scenario::load("groups").unwrap();
        sc.seed = seed;
        ssb_sim::swarm::apply(&mut sc);
        let s = quiet(&sc).unwrap_or_else(|v| panic!("seed {seed}: {v}"));
        let g = s.groups.as_ref().unwrap();
        assert_eq!(g.non_member_reads, 0);
        assert!(g.member_reads >= g.member_reads_expected, "seed {seed}");
    }
}

/// A node that refuses a fork's messages but never reports the fork fails the invariant, and
/// the violation's replay command carries the sabotage switch.
#[test]
fn a_node_that_skips_fork_detection_fails_fork_detection() {
    let mut sc = Scenario::load("smoke").unwrap();
    let honest = quiet(&sc).unwrap();
    assert_eq!(status(&honest, "fork_detection").0, Status::Held);
    sc.sabotage = "skip_fork_detection".into();
    let v = quiet(&sc).expect_err("the broken node is caught");
    assert_eq!(v.invariant, "fork_detection", "{v}");
    assert_eq!(
        v.replay,
        "ssb-harness sim smoke --seed 1 --set sabotage=skip_fork_detection"
    );
}

/// Seed 2 of the sweep tests' tiny scenario (shrunk to 5 nodes) failed fork detection: the
/// delayed second half was down when the pubs first dialled it, and a node dials no key it is
/// already connected to — both halves share one — so no honest node ever connected to it. The
/// invariant now counts a node linked to both halves as joined to a half only where that half
/// dials it or it has no link to the other half.
#[test]
fn seed_2_tiny_fork_behind_a_shared_key_is_not_owed() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/tiny.toml");
    let mut sc = Scenario::load(path).unwrap();
    sc.seed = 2;
    for s in [
        "byzantine.forgers=0",
        "duration_s=50",
        "nodes=5",
        "workload.messages_per_node=1",
    ] {
        ssb_sim::replay::set(&mut sc, s).unwrap();
    }
    let s = quiet(&sc).unwrap_or_else(|v| panic!("{v}"));
    assert_eq!(status(&s, "fork_detection").0, Status::NotExercised);
    // Sabotaged, a run where the fork is owed still fails (seed 1 of the same scenario).
    let mut sc = Scenario::load(path).unwrap();
    sc.sabotage = "skip_fork_detection".into();
    assert_eq!(quiet(&sc).unwrap_err().invariant, "fork_detection");
}

/// The swarm draw of `scenario` for `seed`, as `ssb-harness sim SCENARIO --seed SEED --swarm`.
fn swarm(scenario: &str, seed: u64) -> Scenario {
    let mut sc = Scenario::load(scenario).unwrap();
    sc.seed = seed;
    ssb_sim::swarm::apply(&mut sc);
    sc
}

/// Swarm seed 782 of churn: node 4 never got node 1's only message. Two forgers both claimed
/// the feed; each invalid message made node 4 switch the feed's source to the first other peer
/// claiming more, which was always the other forger, so the honest peer holding the message
/// was never asked. A peer that sent an invalid message of a feed is not asked for it again
/// that session.
#[test]
fn seed_782_churn_swarm_two_forgers_do_not_take_turns_as_a_feeds_source() {
    let s = quiet(&swarm("churn", 782)).unwrap_or_else(|v| panic!("{v}"));
    assert_eq!(status(&s, "convergence").0, Status::Held);
    assert!(s.invariants.held);
}

/// Swarm seed 3176 of churn: node 24 held 2 of node 6's 3 messages; the same alternation
/// between two forgers (conns 7 and 8) kept the feed from the honest conn 9.
#[test]
fn seed_3176_churn_swarm_an_honest_third_peer_is_asked_past_two_forgers() {
    let s = quiet(&swarm("churn", 3176)).unwrap_or_else(|v| panic!("{v}"));
    assert_eq!(status(&s, "convergence").0, Status::Held);
    assert!(s.invariants.held);
}

/// Swarm seed 1431 of groups (a ring): host 5 held 20 of host 2's 21. Host 2's note of 21
/// came while host 6, the source, was trusted to hold as much, so host 2 was not asked; once
/// host 6 had delivered its last message nothing asked again, since host 2 had no news left to
/// announce. The source is now reviewed after every message it delivers.
#[test]
fn seed_1431_groups_swarm_an_exhausted_source_gives_way_to_a_peer_with_more() {
    let s = quiet(&swarm("groups", 1431)).unwrap_or_else(|v| panic!("{v}"));
    assert_eq!(status(&s, "convergence").0, Status::Held);
    assert!(s.invariants.held);
}

/// Swarm seed 2511 of groups: node 14 held 14 of node 0's 18; its source (conn 7) held 14 and
/// conn 9 announced 18, yet node 14's note to conn 9 was "14, lazy". The same exhausted source
/// as seed 1431, where a request made of conn 9 was also cleared by the lazy note that told it
/// of message 14 from conn 7. The review of the source after each delivery makes it hold (a news
/// note keeping the receive flag did too, but broke the `lazy_append` EBT vectors that follow
/// epidemic-broadcast-trees, and was left out).
#[test]
fn seed_2511_groups_swarm_converges_past_invalid_senders() {
    let s = quiet(&swarm("groups", 2511)).unwrap_or_else(|v| panic!("{v}"));
    assert_eq!(status(&s, "convergence").0, Status::Held);
    assert!(s.invariants.held);
}

/// Swarm seed 4346 of churn: the fork of node 13's feed was owed detection (nodes 11-13 held
/// the first branch at 6, the rest the second at 7) and nobody detected it: the nodes at 6
/// never took message 7 from a holder of the longer branch (which would have shown the fork).
/// Holds with the two node fixes above together (a peer that sent an invalid message is not asked
/// again; an exhausted source is reviewed after each delivery); not isolated to one of them.
#[test]
fn seed_4346_churn_swarm_an_owed_fork_is_detected() {
    let s = quiet(&swarm("churn", 4346)).unwrap_or_else(|v| panic!("{v}"));
    assert_eq!(status(&s, "fork_detection").0, Status::Held);
    assert!(!s.forks_detected.is_empty());
    assert!(s.invariants.held);
}
