//! `legacy-value-testdata` through our legacy value model in strict mode: all 2,084 rejects
//! refused and all 3,316 accepts encoded, measured and hashed exactly.

use ssb_vectors::file::upstream_dir;
use ssb_vectors::upstream::legacy_value::check_legacy_values;

#[test]
fn legacy_value_testdata_all_5400() {
    let Some(dir) = upstream_dir() else {
        println!("skipped: SSB_UPSTREAM_VECTORS is not set");
        return;
    };
    let cases = check_legacy_values(&dir).unwrap();
    let count = |d: &str| cases.iter().filter(|c| c.dir == d).count();
    assert_eq!(
        (
            count("syntax"),
            count("surrogate"),
            count("duplicate"),
            count("number"),
            count("yay")
        ),
        (2005, 24, 13, 42, 3316)
    );
    let bad: Vec<_> = cases.iter().filter(|c| c.problem.is_some()).collect();
    for c in bad.iter().take(15) {
        println!("{}/{}: {}", c.dir, c.name, c.problem.as_ref().unwrap());
    }
    assert!(bad.is_empty(), "{} of {} cases differ", bad.len(), cases.len());
    println!(
        "legacy-value-testdata: {} of {} cases agree",
        cases.len(),
        cases.len()
    );
}
