//! The private-message suites hold the cases issue 6 asks for: box1 from 1 to 7 recipients,
//! box2 from 1 to 16 with a wrong key, a tampered slot, header and body, nil previous ids and
//! the slot limit, and groups with DM, P.O. Box, group and cloaked ids; and every op of the
//! three suites is exercised.

use std::collections::BTreeSet;

use ssb_vectors::generate::{generate_all, DEFAULT_SEED};
use ssb_vectors::VectorFile;

fn suite(name: &str) -> VectorFile {
    generate_all(DEFAULT_SEED)
        .into_iter()
        .find(|(n, _)| n == &format!("{name}.json"))
        .map(|(_, f)| f)
        .unwrap_or_else(|| panic!("no suite {name}"))
}

fn flags(f: &VectorFile) -> BTreeSet<String> {
    f.cases.iter().flat_map(|c| c.flags.clone()).collect()
}

fn ops(f: &VectorFile) -> BTreeSet<String> {
    f.cases.iter().map(|c| c.input.op.clone()).collect()
}

/// The recipient counts of the successful box cases.
fn box_counts(f: &VectorFile, op: &str) -> BTreeSet<usize> {
    f.cases
        .iter()
        .filter(|c| c.input.op == op && c.expected_error().is_none())
        .map(|c| c.input.args["recipients"].as_array().map_or(0, Vec::len))
        .collect()
}

#[test]
fn box1_cases() {
    let f = suite("box1");
    assert_eq!(box_counts(&f, "box1.box"), (1..=7).collect());
    let fl = flags(&f);
    for want in [
        "too_many_recipients",
        "no_recipients",
        "wrong_key",
        "eighth_slot",
        "tampered_slot",
        "tampered_body",
        "truncated",
        "content_suffix",
        "first_slot",
        "last_slot",
    ] {
        assert!(fl.contains(want), "box1 lacks {want}");
    }
    assert_eq!(ops(&f), ["box1.box", "box1.unbox"].map(String::from).into());
}

#[test]
fn box2_cases() {
    let f = suite("box2");
    assert_eq!(box_counts(&f, "box2.box"), (1..=16).collect());
    let from_last_slot = f
        .cases
        .iter()
        .filter(|c| c.input.op == "box2.unbox" && c.flags.iter().any(|x| x == "last_slot"))
        .count();
    assert!(from_last_slot >= 16, "an unbox from the last slot of every count");
    let fl = flags(&f);
    for want in [
        "too_many_recipients",
        "wrong_key",
        "tampered_slot",
        "tampered_header",
        "tampered_body",
        "nil_previous",
        "slot_limit",
        "beyond_eight",
        "padding",
        "read_key",
        "long_label",
        "label_over_limit",
    ] {
        assert!(fl.contains(want), "box2 lacks {want}");
    }
    assert_eq!(
        ops(&f),
        ["box2.box", "box2.derive_secret", "box2.unbox"]
            .map(String::from)
            .into()
    );
}

#[test]
fn groups_cases() {
    let f = suite("groups");
    let fl = flags(&f);
    for want in [
        "sort_order",
        "self_dm",
        "reverse",
        "box_side",
        "group_key_not_first",
        "tuple_items",
    ] {
        assert!(fl.contains(want), "groups lacks {want}");
    }
    assert_eq!(
        ops(&f),
        [
            "groups.cloaked_id",
            "groups.dm_key",
            "groups.group_id",
            "groups.po_box_key",
            "groups.unbox",
            "groups.validate"
        ]
        .map(String::from)
        .into()
    );
    // A key and its reverse are equal.
    for pair in f.cases.windows(2) {
        if pair[1].flags.contains(&"reverse".to_string()) {
            assert_eq!(
                pair[0].expect, pair[1].expect,
                "{} and {}",
                pair[0].id, pair[1].id
            );
        }
    }
}
