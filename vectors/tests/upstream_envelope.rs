//! envelope-spec's vectors (read from `SSB_UPSTREAM_VECTORS`) through our box2 code: all 7
//! agree (6 positive: box, unbox, DeriveSecret, slot, unslot, cloaked id; 1 negative: boxing an
//! empty plaintext is refused), and the labels and error codes are the spec's.

use ssb_vectors::file::upstream_dir;
use ssb_vectors::upstream::envelope::{check_constants, check_vectors};

#[test]
fn envelope_spec_all_7() {
    let Some(dir) = upstream_dir() else {
        println!("skipped: SSB_UPSTREAM_VECTORS is not set");
        return;
    };
    let verdicts = check_vectors(&dir).unwrap();
    for v in &verdicts {
        let sign = if v.negative { "negative" } else { "positive" };
        match &v.result {
            Ok(None) => println!("{} ({}, {sign}): agrees", v.file, v.kind),
            Ok(Some(r)) => println!("{} ({}, {sign}): agrees: {r}", v.file, v.kind),
            Err(e) => println!("{} ({}, {sign}): DIFFERS: {e}", v.file, v.kind),
        }
    }
    assert_eq!(verdicts.len(), 7, "envelope-spec has 7 vector files");
    assert_eq!(verdicts.iter().filter(|v| v.negative).count(), 1);
    let agree = verdicts.iter().filter(|v| v.result.is_ok()).count();
    assert_eq!(agree, 7, "{agree} of 7 envelope-spec vectors agree");
    let problems = check_constants(&dir).unwrap();
    assert!(problems.is_empty(), "{problems:?}");
}
