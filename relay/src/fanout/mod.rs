//! Fan-out: who is connected, and who listens to which conversation, kept apart (as in
//! centrifuge's hub). A frame is encoded once; every receiver gets a cheap clone of the same
//! bytes.
//!
//! Each connection has one bounded channel. The hub never waits on it: when a connection's
//! channel is full the hub forgets that connection and drops its sender, so the connection
//! task sees its channel close, tells the client to reconnect (close code 4002) and the
//! client resumes from its last sequence number. A slow reader therefore costs itself a
//! reconnect, never the relay memory or other clients latency.
//!
//! Each connection's channel is a [`Mailbox`]: a queue behind a mutex, ~100 bytes while
//! empty (tokio's bounded channel allocates ~830 bytes up front: a cache-padded 512-byte
//! header and a first block of 32 slots, a fifth of an idle connection).
//!
//! State that a newer value replaces (the agents-online count for visitors, the queue
//! snapshot for agents) does not queue: each mailbox has one slot for the latest state
//! frame, which a broadcast overwrites. A burst of changes then costs each connection at
//! most one frame, the newest, when it next gets to run; it can never fill a channel and
//! get a healthy-but-busy client dropped (before, 64 queue snapshots in 1.6 s dropped every
//! agent, and the agents-online changes that followed dropped every visitor). Fan-out to
//! every visitor is one slot write and one wake-up per connection, under the hub lock (a
//! `watch` receiver per connection did the same wake-ups but cost each idle connection
//! 170 bytes of waiting state).
//!
//! Endpoints still get a tokio receiver from [`Hub::register`] (their `greet` returns it);
//! it never receives anything. The hub delivers into the mailbox from registration on, and
//! the connection takes it with [`Hub::go_live`] once greeted.
//!
//! Today this is in-process; with several relay nodes a Redis subscriber feeds `publish`.

use axum::extract::ws::Utf8Bytes;
use std::sync::Arc;
use switchboard_shared::{AgentId, ConversationId, Seq};
use switchboard_store::VisitorId;

/// Capacity of each connection's channel, in frames. A connection task handles its own
/// client's commands inline, so while it waits for a durable write (the group commit's p99
/// was 0.1–0.3 s at 3,000–5,000 msgs/s) the events of its conversations queue up: an agent
/// with 8 busy chats gets ~100 frames/s. 64 slots dropped healthy agents with 4002 at
/// 5,000 msgs/s (12,611 messages cut off in one run); 512 tolerates a stall of ~5 s. The
/// bound is a count, not a reservation: a [`Mailbox`] grows as it fills and gives its
/// buffer back once drained, so only a connection that really falls behind holds more (at
/// most 512 pointers to frames shared with other receivers).
pub const CONNECTION_CHANNEL: usize = 512;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Party {
    Visitor(VisitorId),
    Agent(AgentId),
}

pub type ConnId = u64;

/// What travels through a connection's channel: shared, so one publish allocates once
/// whatever the number of receivers, and a channel slot is one pointer (an idle channel's
/// first block of slots is allocated up front, so slot size is per-connection memory).
pub type Delivery = Arc<Outbound>;

/// What the relay asks a connection task to do.
#[derive(Debug, Clone)]
pub enum Outbound {
    /// A durable event (already encoded). The task drops seqs it already sent.
    Event {
        conversation_id: ConversationId,
        seq: Seq,
        frame: Utf8Bytes,
        /// When it was handed to the hub (hop timing, see [`crate::hops`]).
        published: std::time::Instant,
    },
    /// An ephemeral frame, sent as is.
    Frame(Utf8Bytes),
    /// Start following a conversation: send `announce` first (if any), then replay history.
    Follow {
        conversation_id: ConversationId,
        announce: Option<Utf8Bytes>,
    },
    /// Stop following a conversation, then send `frame`.
    Unfollow {
        conversation_id: ConversationId,
        frame: Utf8Bytes,
    },
    /// The agent session with this token hash was revoked: close if it is yours.
    SessionRevoked(Box<[u8; 32]>),
    /// Every session of this party was revoked (the agent was disabled): close.
    AllSessionsRevoked,
}

mod hub;
mod mailbox;

pub use hub::Hub;
pub use mailbox::{Mail, Mailbox};
