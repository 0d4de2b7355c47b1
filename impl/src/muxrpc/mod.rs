//! muxrpc: SSB's RPC protocol over box-stream. [`codec`] holds the packet-stream framing (a
//! 9-byte header, a body, the 9-zero-byte goodbye); the RPC layer builds on it.

pub mod codec;
pub mod rpc;

pub use codec::{BodyType, CodecError, Decoder, Event, Packet, DEFAULT_MAX_BODY, GOODBYE, HEADER_LEN};
pub use rpc::{Body, CallType, Endpoint, Limits, RpcError, RpcEvent, RpcFault, StreamId};
