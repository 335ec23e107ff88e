//! Routing: which agent gets which conversation. Pure in-memory decisions, no I/O: the
//! conversation service persists what the router decided and tells the clients.
//!
//! - [`capacity`]: one agent's presence, connection count and chat slots.
//! - [`queue`]: the FIFO waiting queue with durable ranks.
//! - [`router`]: the state machine tying them together (assign, transfer, requeue, finish).

pub mod capacity;
pub mod queue;
pub mod router;

pub use router::{LiveConversation, Router};
