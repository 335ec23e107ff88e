//! Report facts: one flat row per chat and per ticket created in a date range, with exactly
//! what the KPIs need (times, counts, the rating). The relay's `reports` module computes the
//! KPIs from these in plain Rust, so the definitions live in one place and are testable
//! without a database; the store only gathers the rows (see `docs/REPORTS.md`).

use crate::tickets::{TicketChannel, TicketPriority, TicketStatus};
use switchboard_shared::{AgentId, ConversationId, SupportLevel};

/// Which items a report covers: those *created* in `[from, to)` (Unix ms), of one site or
/// of all sites.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportRange {
    pub from: i64,
    pub to: i64,
    pub site: Option<String>,
}

/// A conversation in which the visitor asked for a live chat (it has a `started` event).
/// Offline messages that never queued are not chats; they appear as tickets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChatFact {
    pub conversation_id: ConversationId,
    pub site_id: String,
    /// The agent holding the chat last (`None`: no agent ever took it, or it was requeued
    /// and ended while waiting).
    pub agent: Option<AgentId>,
    pub created_at: i64,
    /// The first `agent_joined` event: an agent took the chat at some point.
    pub first_joined_at: Option<i64>,
    /// When the current assignment from the queue began (transfers keep it).
    pub assigned_at: Option<i64>,
    /// The first message written by an agent.
    pub first_agent_message_at: Option<i64>,
    pub ended_at: Option<i64>,
    pub transfers: u32,
    pub requeues: u32,
    /// The conversation became a ticket (converted, or the visitor left a message instead).
    pub became_ticket: bool,
    /// The visitor's CSAT score (1–5), from the `rated` event.
    pub rating: Option<u8>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TicketFact {
    pub id: i64,
    pub site_id: String,
    pub channel: TicketChannel,
    pub priority: TicketPriority,
    pub category: String,
    pub support_level: SupportLevel,
    pub status: TicketStatus,
    pub assignee: Option<AgentId>,
    pub created_at: i64,
    pub first_response_at: Option<i64>,
    pub resolved_at: Option<i64>,
    pub first_response_due_at: i64,
    pub resolution_due_at: i64,
    pub pending_since: Option<i64>,
    /// Public replies in the history.
    pub replies: u32,
    pub escalations: u32,
    /// Ever moved from `resolved`/`closed` back to another status.
    pub reopened: bool,
    /// The customer's CSAT score (1–5) from `ticket_ratings`.
    pub rating: Option<u8>,
    /// Who the rating counts for: the agent stored with it, else the assignee.
    pub rating_agent: Option<AgentId>,
}
