//! The ssb-validation-dataset through our feed validator: 126/126 agree on accept/reject, the
//! reason of every rejection is the dataset's, and every accepted message has the dataset's id.

use ssb_vectors::file::upstream_dir;
use ssb_vectors::upstream::validation_dataset::check_validation_dataset;

#[test]
fn validation_dataset_all_126() {
    let Some(dir) = upstream_dir() else {
        println!("skipped: SSB_UPSTREAM_VECTORS is not set");
        return;
    };
    let cases = check_validation_dataset(&dir).unwrap();
    assert_eq!(cases.len(), 126);
    assert_eq!(cases.iter().filter(|c| c.valid).count(), 27);
    let bad: Vec<_> = cases.iter().filter(|c| c.problem.is_some()).collect();
    for c in &bad {
        println!("#{}: {}", c.index, c.problem.as_ref().unwrap());
    }
    assert!(bad.is_empty(), "{} of 126 cases disagree", bad.len());
}
