//! One fault switch per rule of `conformance/rules.toml` (the adapter suites), as data: the rule,
//! the ops the bug lives in, the bug in an implementer's words, and how it bends the reference.

use super::edits::*;
use super::{Break, Fault};

const fn skip(kinds: &'static [&'static str]) -> Break {
    Break::Skip { kinds, detail: "" }
}

const fn skip_if(kinds: &'static [&'static str], detail: &'static str) -> Break {
    Break::Skip { kinds, detail }
}

const SHS: &[&str] = &["shs.client", "shs.server"];
const BOX_DEC: &[&str] = &["boxstream.decrypt"];
const BOX_ALL: &[&str] = &["boxstream.encrypt", "boxstream.decrypt"];
const FEED: &[&str] = &["feed.validate"];
const ENCODE: &[&str] = &["legacy.encode"];
const BB: &[&str] = &["bendybutt.validate"];
const MUX: &[&str] = &["muxrpc.encode", "muxrpc.decode"];
const RPC: &[&str] = &["muxrpc.endpoint"];
const NOTE: &[&str] = &["ebt.note.encode", "ebt.note.decode", "ebt.notes.decode"];
const SESSION: &[&str] = &["ebt.session"];
const HIST: &[&str] = &["history.query"];
const BOX1: &[&str] = &["box1.box", "box1.unbox"];
const BOX2: &[&str] = &["box2.box", "box2.unbox", "box2.derive_secret"];
const GROUPS: &[&str] = &[
    "groups.dm_key",
    "groups.po_box_key",
    "groups.group_id",
    "groups.cloaked_id",
    "groups.unbox",
    "groups.validate",
];

macro_rules! fault {
    ($rule:literal, $ops:expr, $bug:literal, $brk:expr) => {
        Fault {
            rule: $rule,
            ops: $ops,
            bug: $bug,
            brk: $brk,
        }
    };
}

/// Every fault switch, in the order of `rules.toml`.
pub static FAULTS: &[Fault] = &[
    // shs
    fault!(
        "SHS-REFUSE",
        SHS,
        "the server's authorisation hook is never consulted",
        Break::Args(shs_accept_everyone)
    ),
    fault!(
        "SHS-LOW-ORDER",
        SHS,
        "no check for an all-zero X25519 result",
        skip_if(&["msg1_rejected", "msg2_rejected"], "all-zero")
    ),
    fault!(
        "SHS-SIG-CANONICAL",
        SHS,
        "handshake signatures verified leniently (never refused once the box opens)",
        skip_if(&["msg3_rejected", "msg4_rejected"], "signature")
    ),
    fault!(
        "SHS-REPLAY",
        SHS,
        "msg3 accepted whenever the server is not sure it fails (no binding to this session)",
        skip(&["msg3_rejected"])
    ),
    fault!(
        "SHS-NETWORK",
        SHS,
        "the hello HMAC (network key) is not verified",
        skip_if(&["msg1_rejected", "msg2_rejected"], "HMAC")
    ),
    fault!(
        "SHS-SERVER-KEY",
        SHS,
        "a box that does not open is taken as authenticated",
        skip_if(&["msg3_rejected", "msg4_rejected"], "box does not open")
    ),
    fault!(
        "SHS-MSG1",
        SHS,
        "the server does not check the client hello",
        skip(&["msg1_rejected"])
    ),
    fault!(
        "SHS-MSG2",
        SHS,
        "the client does not check the server hello",
        skip(&["msg2_rejected"])
    ),
    fault!(
        "SHS-MSG3",
        SHS,
        "the server does not check msg3",
        skip(&["msg3_rejected"])
    ),
    fault!(
        "SHS-MSG4",
        SHS,
        "the client does not check msg4",
        skip(&["msg4_rejected"])
    ),
    fault!(
        "SHS-KEYS",
        SHS,
        "the two directions' box-stream nonces swapped",
        Break::Answer(shs_swap_nonces)
    ),
    // boxstream
    fault!(
        "BOX-GOODBYE",
        BOX_DEC,
        "bytes after the goodbye ignored",
        skip(&["data_after_goodbye"])
    ),
    fault!(
        "BOX-LIMIT",
        BOX_DEC,
        "the 4096-byte body limit not enforced",
        skip(&["body_too_long"])
    ),
    fault!(
        "BOX-EMPTY",
        BOX_DEC,
        "a header announcing 0 bytes accepted",
        skip(&["empty_body"])
    ),
    fault!(
        "BOX-TRUNCATION",
        BOX_DEC,
        "a stream that ends without a goodbye taken as complete",
        skip(&["truncated"])
    ),
    fault!(
        "BOX-TRUNCATED-FRAME",
        BOX_DEC,
        "a partial header at the end ignored",
        skip_if(&["truncated"], "header")
    ),
    fault!(
        "BOX-TRUNCATED-BODY",
        BOX_DEC,
        "a partial body at the end ignored",
        skip_if(&["truncated"], "body")
    ),
    fault!(
        "BOX-NONCE-ORDER",
        BOX_DEC,
        "a header that does not authenticate skipped",
        skip(&["header_auth_failed"])
    ),
    fault!(
        "BOX-NONCE-WRAP",
        BOX_ALL,
        "the nonce counter kept in a u64 over its last 8 bytes (no carry)",
        Break::Custom(box_u64_nonce)
    ),
    fault!(
        "BOX-AUTH-HEADER",
        BOX_DEC,
        "header MAC not checked",
        skip(&["header_auth_failed"])
    ),
    fault!(
        "BOX-AUTH-BODY",
        BOX_DEC,
        "body MAC not checked",
        skip(&["body_auth_failed"])
    ),
    fault!(
        "BOX-DECRYPT",
        BOX_DEC,
        "bodies of consecutive frames joined into one",
        Break::Answer(box_join_bodies)
    ),
    fault!(
        "BOX-FRAMING",
        BOX_ALL,
        "no goodbye frame written",
        Break::Args(box_no_goodbye)
    ),
    // feed-legacy
    fault!(
        "LEG-SIG-EDGE",
        FEED,
        "ed25519 verified leniently (S mod L, small-order keys allowed)",
        Break::Custom(legacy_lenient_signature)
    ),
    fault!(
        "LEG-HMAC",
        FEED,
        "the network's HMAC key ignored when verifying",
        Break::Args(legacy_no_hmac)
    ),
    fault!(
        "LEG-SURROGATE-STORE",
        FEED,
        "strings decoded lossily (lone surrogates become U+FFFD) before verifying",
        Break::Args(legacy_lossy_strings)
    ),
    fault!(
        "LEG-FORK",
        FEED,
        "previous not compared with the feed's last id",
        skip(&["previous_mismatch"])
    ),
    fault!(
        "LEG-PREVIOUS",
        FEED,
        "previous never checked (neither null on the first message nor the last id after)",
        skip(&["previous_mismatch", "first_previous_not_null"])
    ),
    fault!(
        "LEG-SEQUENCE",
        FEED,
        "sequence never compared with the feed state",
        skip(&["sequence_mismatch", "first_sequence_not_one"])
    ),
    fault!(
        "LEG-SIZE",
        FEED,
        "the 8192 limit counted in UTF-8 bytes instead of UTF-16 units",
        Break::Custom(legacy_size_in_bytes)
    ),
    fault!(
        "LEG-ORDER",
        FEED,
        "key order not checked",
        skip(&["invalid_order"])
    ),
    fault!(
        "LEG-INT32",
        FEED,
        "sequence checked as an integer but not as an int32",
        skip_if(&["sequence_not_integer"], "sequence")
    ),
    fault!(
        "LEG-TIMESTAMP",
        FEED,
        "timestamp type not checked",
        skip(&["timestamp_not_number"])
    ),
    fault!(
        "LEG-BOX",
        FEED,
        "string content not checked for a .box suffix",
        skip(&["content_box_suffix", "content_box_not_canonical"])
    ),
    fault!(
        "LEG-SIG-LENGTH",
        FEED,
        "the signature's decoded length not checked",
        skip(&["signature_length"])
    ),
    fault!(
        "LEG-FIELDS",
        FEED,
        "field types not checked",
        skip(&[
            "invalid_author",
            "invalid_properties",
            "invalid_content_type",
            "invalid_signature_format",
            "timestamp_not_number"
        ])
    ),
    fault!(
        "LEG-SIGNATURE",
        FEED,
        "the signature never verified",
        skip(&["invalid_signature"])
    ),
    fault!(
        "LEG-ENC-NUMBER",
        ENCODE,
        "numbers written with Rust's float formatting, not ECMAScript's",
        Break::Custom(legacy_rust_numbers)
    ),
    fault!(
        "LEG-ENC-STRING",
        ENCODE,
        "non-ASCII characters escaped as \\uXXXX",
        Break::Answer(legacy_ascii_escapes)
    ),
    fault!(
        "LEG-ENC-ORDER",
        ENCODE,
        "encoded by a generic JSON library (keys in input order)",
        Break::Custom(legacy_generic_json)
    ),
    fault!(
        "LEG-ENC-JSON",
        ENCODE,
        "a lenient parser: text JSON.parse refuses is accepted",
        skip(&["invalid_json"])
    ),
    fault!(
        "LEG-ID",
        FEED,
        "the message id hashed over the compact JSON instead of the signing encoding",
        Break::Answer(legacy_id_compact)
    ),
    // feed-bendybutt
    fault!(
        "BB-METAFEED",
        BB,
        "metafeed content rules not checked",
        skip(&[
            "metafeed_type",
            "metafeed_subfeed",
            "metafeed_metafeed",
            "metafeed_nonce",
            "metafeed_content_signature",
            "metafeed_content"
        ])
    ),
    fault!("BB-HMAC", BB, "the HMAC key ignored", Break::Args(bb_no_hmac)),
    fault!(
        "BB-AUTHOR",
        BB,
        "the author's format not checked",
        skip(&["invalid_author"])
    ),
    fault!(
        "BB-PREVIOUS",
        BB,
        "previous's format not checked",
        skip(&["invalid_previous"])
    ),
    fault!(
        "BB-SEQUENCE",
        BB,
        "sequence not checked",
        skip(&["invalid_sequence", "sequence_mismatch", "first_sequence_not_one"])
    ),
    fault!(
        "BB-CHAIN",
        BB,
        "messages not chained (previous and author not compared)",
        skip(&["previous_mismatch", "author_mismatch"])
    ),
    fault!(
        "BB-SIGNATURE",
        BB,
        "the signature never verified",
        skip(&["invalid_signature_format", "invalid_signature"])
    ),
    fault!("BB-SIZE", BB, "no size limit", skip(&["too_long"])),
    fault!(
        "BB-CANONICAL",
        BB,
        "non-canonical bencode accepted",
        skip(&["invalid_bencode"])
    ),
    fault!(
        "BB-SHAPE",
        BB,
        "the message's shape not checked",
        skip(&["invalid_shape"])
    ),
    fault!(
        "BB-VALID",
        BB,
        "message keys written in standard base64, not the URI's URL-safe alphabet",
        Break::Answer(bb_standard_base64_keys)
    ),
    // muxrpc
    fault!("MUX-LIMIT", MUX, "no body size limit", skip(&["body_too_large"])),
    fault!(
        "MUX-GOODBYE",
        MUX,
        "bytes after the goodbye ignored",
        skip(&["data_after_goodbye"])
    ),
    fault!(
        "MUX-HEADER",
        MUX,
        "header fields not checked (type 3, request 0, a partial header)",
        skip(&["truncated", "unknown_body_type", "zero_request"])
    ),
    fault!(
        "MUX-BODY",
        MUX,
        "bodies not checked against their type",
        skip(&["invalid_string", "invalid_json"])
    ),
    fault!(
        "MUX-RPC-FAULT",
        RPC,
        "a malformed header mid-session ignored",
        Break::Answer(mux_no_fault)
    ),
    fault!(
        "MUX-RPC-FLOOD",
        RPC,
        "no limit on refused calls",
        Break::Args(mux_no_max_refused)
    ),
    fault!(
        "MUX-RPC-STREAMS",
        RPC,
        "no limit on open streams",
        Break::Args(mux_no_max_streams)
    ),
    fault!(
        "MUX-RPC-REFUSED",
        RPC,
        "packets of refused streams not counted",
        Break::Answer(mux_uncounted)
    ),
    fault!(
        "MUX-RPC-NAME",
        RPC,
        "calls without a usable name dropped silently, not refused",
        Break::Answer(mux_no_refusals)
    ),
    fault!(
        "MUX-RPC-ARGS",
        RPC,
        "a call without args passed on with null args",
        Break::Answer(mux_null_args)
    ),
    fault!(
        "MUX-RPC-TYPE",
        RPC,
        "calls of the wrong type dropped silently, not refused",
        Break::Answer(mux_no_refusals)
    ),
    fault!(
        "MUX-RPC-MATCH",
        RPC,
        "answers whose flags do not match not counted",
        Break::Answer(mux_uncounted)
    ),
    fault!(
        "MUX-RPC-UNKNOWN",
        RPC,
        "packets for unknown requests not counted",
        Break::Answer(mux_uncounted)
    ),
    fault!(
        "MUX-RPC-END-ONCE",
        RPC,
        "an end reported every time the peer sends one",
        Break::Answer(mux_double_end)
    ),
    fault!(
        "MUX-RPC-CLOSE",
        RPC,
        "a stream the peer ends not ended on our side",
        Break::Answer(mux_no_closing_end)
    ),
    fault!(
        "MUX-RPC-ERROR",
        RPC,
        "an error answer taken as a success",
        Break::Answer(mux_error_as_ok)
    ),
    fault!(
        "MUX-RPC-GOODBYE",
        RPC,
        "no goodbye written",
        Break::Answer(mux_no_goodbye)
    ),
    fault!(
        "MUX-RPC-INTERLEAVE",
        RPC,
        "packets of one read dispatched by kind (new calls first), not in arrival order",
        Break::Answer(mux_calls_first)
    ),
    fault!(
        "MUX-RPC-STREAM",
        RPC,
        "only the first data packet of a step delivered",
        Break::Answer(mux_first_data_only)
    ),
    fault!(
        "MUX-RPC-ASYNC",
        RPC,
        "every answer body reported as JSON",
        Break::Answer(mux_all_json)
    ),
    fault!(
        "MUX-FRAMING",
        MUX,
        "the stream and end flag bits swapped",
        Break::Answer(mux_swap_flag_bits)
    ),
    // ebt
    fault!(
        "EBT-NOTE-RANGE",
        NOTE,
        "notes past 2^53 not refused",
        skip(&["too_large"])
    ),
    fault!(
        "EBT-NOTE-INTEGER",
        NOTE,
        "notes not checked to be non-negative integers",
        skip(&["not_an_integer", "negative", "not_a_number"])
    ),
    fault!(
        "EBT-NOTE-NUMBER",
        NOTE,
        "integral floats (2.0, -0) refused as notes",
        Break::Custom(ebt_integers_only)
    ),
    fault!(
        "EBT-NOTE-WIDTH",
        NOTE,
        "notes kept in an i32",
        Break::Answer(ebt_i32_notes)
    ),
    fault!(
        "EBT-NOTES-FEED",
        NOTE,
        "feed ids in a clock not checked",
        skip(&["invalid_feed"])
    ),
    fault!(
        "EBT-NOTES-OBJECT",
        NOTE,
        "a clock that is not a JSON object accepted",
        skip(&["not_an_object", "not_json"])
    ),
    fault!(
        "EBT-NOTE-ENCODING",
        NOTE,
        "the receive bit inverted",
        Break::Answer(ebt_receive_inverted)
    ),
    fault!(
        "EBT-STALE-BLOCK",
        SESSION,
        "a feed the peer refused last time (-1) never asked for again",
        Break::Answer(ebt_stale_block_kept)
    ),
    fault!(
        "EBT-REQUEST-SKIP",
        SESSION,
        "no request skipping: the remembered clock ignored",
        Break::Args(ebt_forget_remembered)
    ),
    fault!(
        "EBT-WANT",
        SESSION,
        "the application's want requests ignored",
        Break::Answer(ebt_ignore_want)
    ),
    fault!(
        "EBT-LAZY",
        SESSION,
        "the peer's receive flag ignored",
        Break::Args(ebt_ignore_lazy)
    ),
    fault!(
        "EBT-DONT-REPLICATE",
        SESSION,
        "the peer's -1 read as 0",
        Break::Args(ebt_peer_minus_one_as_zero)
    ),
    fault!(
        "EBT-SEND",
        SESSION,
        "messages sent from the peer's sequence, not the one after it",
        Break::Answer(ebt_send_from_off_by_one)
    ),
    fault!(
        "EBT-OPENING",
        SESSION,
        "feeds at sequence 0 left out of the opening clock",
        Break::Answer(ebt_opening_skips_empty)
    ),
    // history
    fault!(
        "HIST-OPTIONS",
        HIST,
        "invalid options ignored",
        Break::Answer(hist_options_unchecked)
    ),
    fault!(
        "HIST-ORDER",
        HIST,
        "messages with one timestamp served newest first",
        Break::Answer(hist_ties_reversed)
    ),
    fault!(
        "HIST-UNKNOWN-FEED",
        HIST,
        "an unknown feed ends the stream with an error",
        Break::Answer(hist_unknown_feed_errors)
    ),
    fault!(
        "HIST-LIVE-LIMIT",
        HIST,
        "live messages not counted against the limit",
        Break::Args(hist_live_unlimited)
    ),
    fault!(
        "HIST-LIVE",
        HIST,
        "the live and old options ignored",
        Break::Args(hist_ignore_live)
    ),
    fault!(
        "HIST-LIMIT",
        HIST,
        "the limit option ignored",
        Break::Args(hist_ignore_limit)
    ),
    fault!(
        "HIST-KEYS",
        HIST,
        "the keys option ignored",
        Break::Args(hist_ignore_keys)
    ),
    fault!(
        "HIST-SEQ",
        HIST,
        "seq taken as exclusive",
        Break::Args(hist_seq_exclusive)
    ),
    // box1
    fault!(
        "BOX1-RECIPIENTS",
        BOX1,
        "the recipient count not checked",
        skip(&["too_many_recipients", "no_recipients"])
    ),
    fault!(
        "BOX1-SLOT-DEPTH",
        BOX1,
        "a message not for us answered as if it were",
        skip(&["not_recipient"])
    ),
    fault!(
        "BOX1-CONVERT",
        BOX1,
        "a recipient key that does not convert to curve25519 accepted",
        skip(&["invalid_recipient"])
    ),
    fault!(
        "BOX1-NOT-FOR-ME",
        BOX1,
        "a message not for us answered as if it were",
        skip(&["not_recipient"])
    ),
    fault!(
        "BOX1-BODY",
        BOX1,
        "the body's authenticator and count not checked",
        skip(&["bad_body"])
    ),
    fault!(
        "BOX1-CONTENT",
        BOX1,
        "the .box suffix not checked",
        skip(&["invalid_content"])
    ),
    fault!(
        "BOX1-SEAL",
        BOX1,
        "the nonce argument ignored (a fixed nonce)",
        Break::Args(box1_fixed_nonce)
    ),
    fault!(
        "BOX1-OPEN",
        BOX1,
        "the plaintext's length off by one",
        Break::Answer(plaintext_short)
    ),
    // box2
    fault!(
        "BOX2-RECIPIENTS",
        BOX2,
        "the recipient count not checked",
        skip(&["too_many_recipients", "no_recipients"])
    ),
    fault!(
        "BOX2-SLOT-DEPTH",
        BOX2,
        "a message not for us answered as if it were",
        skip(&["not_recipient"])
    ),
    fault!(
        "BOX2-REFUSE",
        BOX2,
        "an empty plaintext or zero message key accepted",
        skip(&["empty_plaintext", "zero_msg_key"])
    ),
    fault!(
        "BOX2-SLP",
        BOX2,
        "labels of any length accepted",
        skip(&["label_too_long"])
    ),
    fault!(
        "BOX2-EMPTY-LABEL",
        BOX2,
        "empty labels accepted",
        skip(&["empty_label"])
    ),
    fault!(
        "BOX2-NIL-PREVIOUS",
        BOX2,
        "unsupported feed formats accepted",
        skip(&["unsupported_feed_format"])
    ),
    fault!(
        "BOX2-CONTEXT",
        BOX2,
        "a message boxed for another context (feed, previous) answered as if it were ours",
        skip(&["not_recipient"])
    ),
    fault!(
        "BOX2-KEY-SLOTS",
        BOX2,
        "a message not for us answered as if it were",
        skip(&["not_recipient"])
    ),
    fault!(
        "BOX2-BODY",
        BOX2,
        "the body's authenticator not checked",
        skip(&["bad_body"])
    ),
    fault!(
        "BOX2-OFFSET",
        BOX2,
        "the header's offset not checked",
        skip(&["bad_offset"])
    ),
    fault!(
        "BOX2-EXTENSIONS",
        BOX2,
        "the read key left out of the answer",
        Break::Answer(box2_no_read_key)
    ),
    fault!(
        "BOX2-TRUNCATED",
        BOX2,
        "a short envelope answered as if it were for us",
        skip(&["not_recipient"])
    ),
    fault!(
        "BOX2-READ-KEY",
        BOX2,
        "the read key left out of the answer",
        Break::Answer(box2_no_read_key)
    ),
    fault!(
        "BOX2-CONTENT",
        BOX2,
        "the .box2 suffix not checked",
        skip(&["invalid_content"])
    ),
    fault!(
        "BOX2-FEED-FORMATS",
        BOX2,
        "only classic feed ids understood",
        Break::Custom(box2_classic_only)
    ),
    fault!(
        "BOX2-DERIVE",
        BOX2,
        "the derivation context built without previous",
        Break::Args(box2_ignore_previous)
    ),
    fault!(
        "BOX2-BOX",
        BOX2,
        "the message context built without previous",
        Break::Args(box2_ignore_previous)
    ),
    fault!(
        "BOX2-UNBOX",
        BOX2,
        "the plaintext's length off by one",
        Break::Answer(plaintext_short)
    ),
    // groups
    fault!(
        "GROUP-DM-SORT",
        GROUPS,
        "the DM key's info blobs sorted as JavaScript strings, not bytewise",
        Break::Custom(groups_js_sorted_dm)
    ),
    fault!(
        "GROUP-DM-SELF",
        GROUPS,
        "a DM key with oneself accepted",
        skip(&["self_dm"])
    ),
    fault!(
        "GROUP-DM-CONVERT",
        GROUPS,
        "a feed key that does not convert accepted",
        skip(&["invalid_feed_key"])
    ),
    fault!(
        "GROUP-DM-KEY",
        GROUPS,
        "the DM key written in reverse byte order",
        Break::Answer(key_reversed)
    ),
    fault!(
        "GROUP-POBOX-LOW-ORDER",
        GROUPS,
        "no check for a low-order P.O. Box key",
        skip(&["low_order"])
    ),
    fault!(
        "GROUP-POBOX-KEY",
        GROUPS,
        "the P.O. Box key written in reverse byte order",
        Break::Answer(key_reversed)
    ),
    fault!(
        "GROUP-FIRST-SLOT",
        GROUPS,
        "the group key looked for in every slot",
        skip(&["not_recipient"])
    ),
    fault!(
        "GROUP-ID",
        GROUPS,
        "the group id cloaked with the group key, the init never opened for its read key",
        Break::Custom(groups_id_from_group_key)
    ),
    fault!(
        "GROUP-CLOAKED-ID",
        GROUPS,
        "ids written in standard base64 and bytes reversed",
        Break::Answer(groups_standard_base64)
    ),
    fault!(
        "GROUP-UNBOX",
        GROUPS,
        "the plaintext's length off by one",
        Break::Answer(plaintext_short)
    ),
    fault!(
        "GROUP-SCHEMA-TUPLE",
        GROUPS,
        "tangle previous lists read as lists of ids only",
        Break::Custom(groups_strict_tuples)
    ),
    fault!(
        "GROUP-SCHEMA-INIT",
        GROUPS,
        "group/init content not checked",
        Break::Custom(groups_init_unchecked)
    ),
    fault!(
        "GROUP-SCHEMA-ADD-MEMBER",
        GROUPS,
        "group/add-member content not checked",
        Break::Custom(groups_add_member_unchecked)
    ),
    fault!(
        "GROUP-SCHEMA-CONTENT",
        GROUPS,
        "group content not checked",
        Break::Custom(groups_content_unchecked)
    ),
];
