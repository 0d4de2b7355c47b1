//! Wycheproof's HKDF-SHA-256 cases (read from `SSB_UPSTREAM_VECTORS`) through
//! `ssb_impl::private::kdf`, which box2's DeriveSecret, cloaked ids and the DM and P.O. Box keys
//! are built on: all 86 decided as Wycheproof says (83 valid outputs equal, the 3 invalid ones,
//! outputs longer than 255 blocks, refused).

use serde_json::Value;
use ssb_impl::private::kdf::{hkdf_expand, hkdf_extract};
use ssb_vectors::file::upstream_dir;

#[test]
fn wycheproof_hkdf_sha256() {
    let Some(dir) = upstream_dir() else {
        println!("skipped: SSB_UPSTREAM_VECTORS is not set");
        return;
    };
    let path = dir.join("wycheproof/hkdf_sha256_test.json");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let doc: Value = serde_json::from_str(&text).unwrap();
    let h = |t: &Value, k: &str| hex::decode(t[k].as_str().unwrap()).unwrap();
    let (mut valid, mut invalid) = (0, 0);
    for t in doc["testGroups"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|g| g["tests"].as_array().unwrap())
    {
        let id = &t["tcId"];
        let size = t["size"].as_u64().unwrap() as usize;
        let prk = hkdf_extract(&h(t, "salt"), &h(t, "ikm"));
        let mut out = vec![0u8; size.min(1 << 16)];
        let got = hkdf_expand(&prk, &h(t, "info"), &mut out);
        match t["result"].as_str().unwrap() {
            "valid" => {
                assert!(got.is_ok(), "tcId {id}: refused");
                assert_eq!(hex::encode(&out), t["okm"].as_str().unwrap(), "tcId {id}");
                valid += 1;
            }
            _ => {
                assert!(got.is_err(), "tcId {id}: accepted");
                invalid += 1;
            }
        }
    }
    println!("hkdf_sha256_test.json: {valid} valid agree, {invalid} invalid refused");
    assert_eq!(valid + invalid, doc["numberOfTests"].as_u64().unwrap() as usize);
}
