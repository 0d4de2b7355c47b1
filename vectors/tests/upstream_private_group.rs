//! private-group-spec's vectors (read from `SSB_UPSTREAM_VECTORS`) through our groups code: all
//! 7 files agree (DM key, P.O. Box key, group id, unbox with previous null and not null, each
//! in `ssb:` URI and classic sigil form), and the key-scheme labels and HKDF constants are the
//! spec's. The URI forms of the unbox files were made upstream by rewriting the classic files'
//! ids without re-encrypting: their ciphertexts decrypt to v1 group ids (`%….cloaked`), which
//! equal the expected `ssb:identity/group/…` ids once rewritten; the test says so.

use ssb_vectors::file::upstream_dir;
use ssb_vectors::upstream::private_group::{check_constants, check_vectors};

#[test]
fn private_group_spec_all_7_files() {
    let Some(dir) = upstream_dir() else {
        println!("skipped: SSB_UPSTREAM_VECTORS is not set");
        return;
    };
    let verdicts = check_vectors(&dir).unwrap();
    for v in &verdicts {
        match &v.result {
            Ok(None) => println!("{} ({}): agrees", v.file, v.kind),
            Ok(Some(r)) => println!("{} ({}): agrees: {r}", v.file, v.kind),
            Err(e) => println!("{} ({}): DIFFERS: {e}", v.file, v.kind),
        }
    }
    assert_eq!(verdicts.len(), 7, "private-group-spec has 7 vector files");
    let agree = verdicts.iter().filter(|v| v.result.is_ok()).count();
    assert_eq!(agree, 7, "{agree} of 7 private-group-spec files agree");
    // unbox1.json and unbox2.json decrypt to the same bytes as their .classic twins.
    let normalized: Vec<&str> = verdicts
        .iter()
        .filter(|v| matches!(v.result, Ok(Some(_))))
        .map(|v| v.file.as_str())
        .collect();
    assert_eq!(normalized, ["unbox1.json", "unbox2.json"]);
    let problems = check_constants(&dir).unwrap();
    assert!(problems.is_empty(), "{problems:?}");
}
