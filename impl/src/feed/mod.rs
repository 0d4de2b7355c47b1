//! Feeds of classic messages: the per-feed validation state machine (first message, previous,
//! sequence, author, signature), fork detection, and batch validation across many feeds.

pub mod batch;
pub mod validate;

pub use batch::BatchValidator;
pub use validate::{validate_next, FeedError, FeedState, FeedValidator};
