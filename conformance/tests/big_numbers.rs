//! Integers beyond u64 in signed content (issue 12, item 5): serde_json's default number parser
//! reads `123456789012345680000` one ulp away from what JSON.parse gives, so a message that
//! passed through a `serde_json::Value` no longer verified. With `float_roundtrip` (impl's
//! Cargo.toml) the reference adapter, read from the literal request line, accepts it in both
//! `feed.validate` and `history.query`, and the node publishes such content unchanged.

use std::io::Write;
use std::process::{Command, Stdio};

use ssb_impl::legacy::message::sign_message;
use ssb_impl::legacy::{to_compact_units, Object, Value as L};
use ssb_impl::Keypair;

const BIG: &str = "123456789012345680000";

/// A validly signed first message whose content holds `n` (written as JSON.stringify writes it).
fn message(keys: &Keypair, n: f64) -> String {
    let mut content = Object::new();
    content.insert("type".into(), L::string("post"));
    content.insert("n".into(), L::Number(n));
    let (m, _) = sign_message(keys, None, 1, 1_700_000_000_000.0, L::Object(content), None);
    String::from_utf16(&to_compact_units(&L::Object(m))).unwrap()
}

fn ask(lines: &[String]) -> Vec<serde_json::Value> {
    let mut child = Command::new(env!("CARGO_BIN_EXE_ssb-ref-adapter"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    for l in lines {
        stdin.write_all(format!("{l}\n").as_bytes()).unwrap();
    }
    drop(stdin);
    let out = child.wait_with_output().unwrap();
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[test]
fn the_reference_adapter_accepts_integers_beyond_u64_in_both_ops() {
    let keys = Keypair::from_seed([0x12; 32]);
    for n in [
        BIG.parse::<f64>().unwrap(),
        -BIG.parse::<f64>().unwrap(),
        18446744073709551616.0,
    ] {
        let text = message(&keys, n);
        // As JSON.stringify writes it: 2^64 is 18446744073709552000.
        let written = String::from_utf16(&to_compact_units(&L::Number(n))).unwrap();
        assert!(text.contains(&format!("\"n\":{written}")), "{text}");
        let validate = serde_json::json!({"id": 1, "op": "feed.validate",
            "args": {"state": null, "hmac_key": null, "message": hex::encode(&text)}})
        .to_string();
        // The message object itself, spliced in as written: the number stays a literal integer.
        let history = format!(
            r#"{{"id":2,"op":"history.query","args":{{"feed":[{text}],"live":[],"args":[{{"id":"{}"}}],"now":1700000000001}}}}"#,
            keys.id()
        );
        let answers = ask(&[validate, history]);
        assert!(answers[0].get("ok").is_some(), "feed.validate: {}", answers[0]);
        let items = &answers[1]["ok"]["items"];
        assert_eq!(
            items.as_array().map(Vec::len),
            Some(1),
            "history.query: {}",
            answers[1]
        );
        assert_eq!(items[0]["value"]["content"]["n"].as_f64(), Some(n));
    }
}

#[test]
fn serde_json_reads_the_integer_as_json_parse_does() {
    // The root cause, pinned: parsed through serde_json::Value it is the nearest double.
    let v: serde_json::Value = serde_json::from_str(BIG).unwrap();
    assert_eq!(v.as_f64(), Some(BIG.parse::<f64>().unwrap()));
    let v: serde_json::Value = serde_json::from_str(&format!("-{BIG}")).unwrap();
    assert_eq!(v.as_f64(), Some(-BIG.parse::<f64>().unwrap()));
}

#[test]
fn the_node_publishes_such_content_unchanged() {
    use ssb_impl::node::{Node, NodeConfig};
    use ssb_impl::store::{MemoryBlobs, MemoryStore};
    let mut node = Node::new(
        Keypair::from_seed([0x13; 32]),
        NodeConfig::default(),
        Box::new(MemoryStore::new()),
        Box::new(MemoryBlobs::new()),
    )
    .unwrap();
    // What a client's `publish` call carries, read as the RPC layer reads it.
    let content: serde_json::Value =
        serde_json::from_str(&format!(r#"{{"type":"post","n":{BIG}}}"#)).unwrap();
    let stored = node.publish(&content, 1_700_000_000_000).unwrap();
    assert!(
        stored.value.contains(&format!("\"n\": {BIG}")),
        "{}",
        stored.value
    );
}
