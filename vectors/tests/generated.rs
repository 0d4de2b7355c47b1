//! Our vector files: the committed `vectors/*.json` equal what the generator produces from the
//! default seed (a drift test), generation is deterministic, another seed gives other inputs,
//! and every file satisfies its JSON Schema and the file rules.

use std::path::PathBuf;

use ssb_vectors::generate::{generate_all, DEFAULT_SEED};
use ssb_vectors::VectorFile;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn committed_files_equal_the_generator_output() {
    for (name, file) in generate_all(DEFAULT_SEED) {
        let path = root().join(&name);
        let committed = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        assert!(
            committed == file.to_json(),
            "{name} drifted from the generator: run `cargo run -p ssb-conformance --bin ssb-harness -- vectors generate`"
        );
        let loaded = VectorFile::load(&path).unwrap();
        assert_eq!(loaded, file);
    }
}

#[test]
fn generation_is_deterministic_and_seeded() {
    let a = generate_all(DEFAULT_SEED);
    let b = generate_all(DEFAULT_SEED);
    let c = generate_all(DEFAULT_SEED + 1);
    for ((x, y), z) in a.iter().zip(&b).zip(&c) {
        assert_eq!(x.1.to_json(), y.1.to_json(), "{} differs between two runs", x.0);
        assert_ne!(x.1.to_json(), z.1.to_json(), "{} ignores the seed", x.0);
        // Same cases, same ids and flags, whatever the seed.
        let ids = |f: &VectorFile| {
            f.cases
                .iter()
                .map(|c| (c.id.clone(), c.flags.clone()))
                .collect::<Vec<_>>()
        };
        assert_eq!(ids(&x.1), ids(&z.1));
    }
}

#[test]
fn files_match_their_schemas() {
    let schema_dir = root().join("schema");
    let load = |name: &str| -> serde_json::Value {
        serde_json::from_str(&std::fs::read_to_string(schema_dir.join(name)).unwrap()).unwrap()
    };
    let generic = load("vector-file.schema.json");
    for (suite, _) in ssb_vectors::generate::SUITES {
        let mut specific = load(&format!("{suite}.schema.json"));
        // Resolve the relative $ref to the generic schema locally.
        specific["allOf"][0] = generic.clone();
        let validator = jsonschema::JSONSchema::compile(&specific).unwrap();
        let doc: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(root().join(format!("{suite}.json"))).unwrap())
                .unwrap();
        if let Err(errors) = validator.validate(&doc) {
            let msgs: Vec<String> = errors
                .take(5)
                .map(|e| format!("{} at {}", e, e.instance_path))
                .collect();
            panic!("{suite}.json does not match its schema: {msgs:?}");
        }
        // And a broken document is refused, so the schema is not vacuous.
        let mut broken = doc.clone();
        broken["cases"][0]["expect"] = serde_json::json!({"error": "no_such_kind"});
        assert!(
            !validator.is_valid(&broken),
            "{suite} schema accepts an unknown error kind"
        );
    }
}

#[test]
fn muxrpc_endpoint_schema_is_not_vacuous() {
    let load = |p: PathBuf| -> serde_json::Value {
        serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap()
    };
    let mut schema = load(root().join("schema/muxrpc.schema.json"));
    schema["allOf"][0] = load(root().join("schema/vector-file.schema.json"));
    let validator = jsonschema::JSONSchema::compile(&schema).unwrap();
    let doc = load(root().join("muxrpc.json"));
    let i = doc["cases"]
        .as_array()
        .unwrap()
        .iter()
        .position(|c| c["input"]["op"] == "muxrpc.endpoint")
        .expect("an endpoint case");
    assert!(validator.is_valid(&doc));
    let broken = |f: &dyn Fn(&mut serde_json::Value)| {
        let mut d = doc.clone();
        f(&mut d["cases"][i]);
        d
    };
    for d in [
        broken(&|c| c["input"]["args"]["steps"][0] = serde_json::json!({"jump": {}})),
        broken(&|c| c["input"]["args"]["limits"] = serde_json::json!({"max_body": 1})),
        broken(&|c| c["expect"]["steps"][0]["events"] = serde_json::json!([{"bogus": 1}])),
        broken(&|c| c["expect"]["steps"][0]["sent"] = serde_json::json!(["hello"])),
        broken(&|c| c["expect"]["fault"] = serde_json::json!("no_such_kind")),
        broken(&|c| {
            c["expect"].as_object_mut().unwrap().remove("unknown_packets");
        }),
    ] {
        assert!(
            !validator.is_valid(&d),
            "the muxrpc schema accepts a broken endpoint case"
        );
    }
}

#[test]
fn required_edge_cases_are_present() {
    let all = generate_all(DEFAULT_SEED);
    let flags_of = |suite: &str| -> Vec<String> {
        let f = &all.iter().find(|(n, _)| n == &format!("{suite}.json")).unwrap().1;
        f.cases.iter().flat_map(|c| c.flags.clone()).collect()
    };
    let shs = flags_of("shs");
    for f in [
        "valid",
        "wrong_network_key",
        "wrong_server_key",
        "corrupt_msg1",
        "corrupt_msg2",
        "corrupt_msg3",
        "corrupt_msg4",
        "region_hmac",
        "region_key",
        "region_box_mac",
        "region_signature",
        "replayed_msg3",
        "client_refused",
    ] {
        assert!(shs.contains(&f.to_string()), "shs lacks {f}");
    }
    let bs = flags_of("boxstream");
    for f in [
        "empty_write",
        "one_byte",
        "max_body_minus_one",
        "max_body",
        "max_body_plus_one",
        "large_write",
        "goodbye",
        "truncated_header",
        "flipped_header_mac",
        "flipped_body",
        "reordered_frames",
        "data_after_goodbye",
    ] {
        assert!(bs.contains(&f.to_string()), "boxstream lacks {f}");
    }
    let ebt = flags_of("ebt");
    for f in [
        "minus_one",
        "beyond_int32",
        "max_safe",
        "too_large",
        "integral_float",
        "non_integer",
        "negative",
        "not_a_number",
        "invalid_feed",
        "empty_object",
        "not_an_object",
        "lost_state",
        "request_skipping",
        "stale_block",
        "empty_clock",
        "send_range",
        "peer_lazy",
        "lazy_append",
        "duplicate",
        "lazy_ahead",
        "peer_dont_replicate",
        "foreign_feed",
        "live_append",
    ] {
        assert!(ebt.contains(&f.to_string()), "ebt lacks {f}");
    }
    let muxrpc = flags_of("muxrpc");
    for f in [
        "endpoint",
        "async_call",
        "async_error",
        "source",
        "peer_end",
        "end_twice",
        "end_twice_served",
        "data_after_end",
        "error_after_end",
        "unknown_request",
        "unknown_stream",
        "missing_args",
        "args_not_array",
        "no_name",
        "dotted_name",
        "type_mismatch",
        "sync",
        "stream_limit",
        "flood",
        "duplex",
        "peer_goodbye",
        "malformed_header",
        "interleaved",
    ] {
        assert!(muxrpc.contains(&f.to_string()), "muxrpc lacks {f}");
    }
    let history = flags_of("history");
    for f in [
        "seq_absent",
        "seq_zero",
        "seq_one",
        "seq_middle",
        "seq_last",
        "seq_past_end",
        "sequence_alias",
        "invalid_seq",
        "limit_zero",
        "limit_one",
        "limit_negative",
        "limit_large",
        "keys_default",
        "keys_true",
        "keys_false",
        "old_false_live_false",
        "live_only",
        "live",
        "live_limit",
        "same_timestamp",
        "unknown_feed",
        "invalid_id",
        "no_options",
        "invalid_flag",
    ] {
        assert!(history.contains(&f.to_string()), "history lacks {f}");
    }
}

#[test]
fn vector_file_rules_catch_mistakes() {
    let (_, mut f) = generate_all(DEFAULT_SEED).remove(0);
    f.cases[1].id = f.cases[0].id.clone();
    assert!(f.check().unwrap_err().contains("twice"));
    let (_, mut f) = generate_all(DEFAULT_SEED).remove(0);
    f.cases[0].flags.push("unexplained".into());
    assert!(f.check().unwrap_err().contains("unexplained"));
}
