//! ssb-legacy-msg's samples through our legacy message code: 8/8 agree. The about message's
//! signing encoding without and with `signature` is ours byte for byte, its id and the valid
//! messages' ids are ours, the three valid messages form one feed our `FeedValidator` takes, our
//! `sign_message` with the key in `secret` reproduces each of them exactly, and the tampered
//! post (text changed) and private message (sequence changed) are refused for their signature
//! and hash to other ids than the ones they carry.

use ssb_impl::feed::FeedError;
use ssb_impl::legacy::MessageError;
use ssb_vectors::file::upstream_dir;
use ssb_vectors::upstream::legacy_msg::{check_legacy_msg, SAMPLES};

#[test]
fn legacy_msg_all_8() {
    let Some(dir) = upstream_dir() else {
        println!("skipped: SSB_UPSTREAM_VECTORS is not set");
        return;
    };
    let report = check_legacy_msg(&dir).unwrap();
    assert_eq!(report.samples.len(), SAMPLES.len());
    assert_eq!(report.samples.iter().filter(|s| !s.tampered).count(), 6);
    for s in &report.samples {
        let verdict = if s.problems.is_empty() {
            "agrees"
        } else {
            "DIFFERS"
        };
        println!("{}: {verdict} ({})", s.file, s.checked);
        for p in &s.problems {
            println!("    {p}");
        }
    }
    let agree = report.samples.iter().filter(|s| s.problems.is_empty()).count();
    assert_eq!(agree, 8, "{agree} of 8 samples agree");

    let ids: Vec<String> = report
        .feed
        .clone()
        .unwrap()
        .iter()
        .map(|id| id.to_string())
        .collect();
    assert_eq!(
        ids,
        [
            "%4hUgS4j0TwKdsZzOV/tfqiPtqoLw2qYg/Wl9Xy8FPEU=.sha256",
            "%jk52TqbLlv92k1Nfaxe3ZQk/VwtoL9livJTauQVfTr4=.sha256",
            "%KNauoB8BcU5bvDLAvqZM68a6GoztYermNFyXAjCEBxc=.sha256",
        ]
    );
    assert_eq!(
        report.tampered_post_in_feed,
        Err(FeedError::Invalid(MessageError::SignatureInvalid))
    );
    assert_eq!(report.resigned, Ok(()));
}
