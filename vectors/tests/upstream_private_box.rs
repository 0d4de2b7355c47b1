//! private-box ciphertexts made by the JS reference (read from `SSB_UPSTREAM_VECTORS`): the
//! private-box-rs case opens for both its recipients and not for a stranger, and the
//! ssb-legacy-msg test feed's private message opens for its author.

use ssb_impl::private::box1::Box1Error;
use ssb_vectors::file::upstream_dir;
use ssb_vectors::upstream::private_box::{check_simple, open_legacy_private};

#[test]
fn private_box_rs_simple() {
    let Some(dir) = upstream_dir() else {
        println!("skipped: SSB_UPSTREAM_VECTORS is not set");
        return;
    };
    let r = check_simple(&dir).unwrap();
    println!(
        "simple.json: {} bytes, recipients: {:?}, stranger: {:?}",
        r.ciphertext_len, r.recipients, r.stranger
    );
    assert_eq!(r.ciphertext_len, 56 + 2 * 49 + 16 + 67);
    assert_eq!(r.recipients.len(), 2);
    for res in &r.recipients {
        assert_eq!(res, &Ok(()));
    }
    assert_eq!(r.stranger, Err(Box1Error::NotRecipient));
}

#[test]
fn legacy_msg_private_message_opens_for_its_author() {
    let Some(dir) = upstream_dir() else {
        println!("skipped: SSB_UPSTREAM_VECTORS is not set");
        return;
    };
    let plain = open_legacy_private(&dir).unwrap().unwrap();
    let v: serde_json::Value = serde_json::from_slice(&plain).unwrap();
    println!("ssb-legacy-msg private message: {v}");
    assert!(v.get("type").is_some(), "{v}");
}
