//! Bendy Butt: the bencoded, BFE-typed feed format of SSB meta feeds.
//!
//! - [`bencode`]: the value model and the strict (canonical-only) decoder and encoder;
//! - [`bfe`]: binary field encodings (type-format-key values) and the conversion of feed and
//!   message ids to and from sigil strings and `ssb:` URIs;
//! - [`message`]: messages `[[author, sequence, previous, timestamp, content], signature]`,
//!   signing, keys, the size limit and the feed validator;
//! - [`metafeed`]: meta feed management content (`metafeed/add/derived`,
//!   `metafeed/add/existing`, `metafeed/tombstone`) and its subfeed signature.

pub mod bencode;
pub mod bfe;
pub mod message;
pub mod metafeed;

pub use bfe::{Bfe, FeedFormat, FeedRef, MsgFormat, MsgRef};
pub use message::{Content, FeedValidator, Message, Payload};
pub use metafeed::{MetafeedContent, MetafeedMsgType, MetafeedValidator};
