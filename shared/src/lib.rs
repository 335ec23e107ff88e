//! # Switchboard shared crate
//!
//! The wire protocol between the relay and its two kinds of clients (the visitor widget and
//! the agent console), and the small domain types both ends need. It is compiled into the
//! WebAssembly widget that every visitor downloads, so it depends on `serde` and `serde_json`
//! only and carries no server code.
//!
//! ## Layout
//! - [`ids`]: typed identifiers and the client-generated message id.
//! - [`limits`]: every size and rate limit the relay enforces, in one place.
//! - [`text`]: validated user text (`MessageBody`, `DisplayName`): parse once at the edge.
//! - [`protocol`]: the JSON frames, `#[serde(tag = "type")]`, and the error codes.
//!
//! The protocol is described for humans in `docs/PROTOCOL.md`; [`protocol::PROTOCOL_VERSION`]
//! is the version both ends announce.

pub mod ids;
pub mod limits;
pub mod protocol;
pub mod text;

pub use ids::{AgentId, ClientMsgId, ConversationId, Seq};
pub use protocol::*;
