//! The vector files compiled into the binary are the committed ones, one per suite.

use std::path::PathBuf;

use ssb_vectors::{embedded, generate};

fn vectors_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn every_suite_is_embedded_as_committed() {
    let names: Vec<&str> = generate::SUITES.iter().map(|(n, _)| *n).collect();
    let embedded_names: Vec<&str> = embedded::FILES.iter().map(|(n, _)| *n).collect();
    assert_eq!(
        names, embedded_names,
        "embedded::FILES must list generate::SUITES in order"
    );
    for (suite, text) in embedded::FILES {
        let on_disk = std::fs::read_to_string(vectors_dir().join(format!("{suite}.json"))).unwrap();
        assert!(
            on_disk == *text,
            "{suite}: embedded text differs from the committed file"
        );
        let file = embedded::load(suite).expect("listed").expect("parses");
        assert_eq!(file.suite, *suite);
        assert!(!file.cases.is_empty(), "{suite} has no cases");
    }
    assert!(embedded::load("boxstrem").is_none());
}
