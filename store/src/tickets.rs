//! Ticket records: what the store keeps about a ticket and its history. The relay's
//! `tickets` domain decides the workflow (SLA due times, allowed changes); the store only
//! keeps rows consistent (one ticket per conversation, history written with each change).

use serde::{Deserialize, Serialize};
use switchboard_shared::{AgentId, ConversationId, SupportLevel};

/// Text forms in one place: `as_str` for binding, `parse` for rows and requests.
macro_rules! text_enum {
    ($(#[$m:meta])* $name:ident { $($variant:ident = $text:literal),+ $(,)? }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
        #[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
        #[serde(rename_all = "snake_case")]
        pub enum $name { $($variant),+ }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }
            pub fn parse(s: &str) -> Option<Self> {
                match s { $($text => Some($name::$variant),)+ _ => None }
            }
        }
    };
}

text_enum!(
    /// How the ticket reached us.
    TicketChannel { LiveChat = "live_chat", OfflineForm = "offline_form" }
);
text_enum!(
    TicketPriority { Low = "low", Medium = "medium", High = "high", Critical = "critical" }
);
text_enum!(
    /// `new` only at creation; `resolved` and `closed` can be reopened to `open`.
    TicketStatus {
        New = "new",
        Open = "open",
        PendingCustomer = "pending_customer",
        Resolved = "resolved",
        Closed = "closed",
    }
);

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TicketRecord {
    pub id: i64,
    pub conversation_id: Option<ConversationId>,
    pub site_id: String,
    pub customer_name: Option<String>,
    /// E-mail or another way to reach the customer.
    pub customer_contact: Option<String>,
    pub customer_number: Option<String>,
    pub channel: TicketChannel,
    pub subject: String,
    pub description: String,
    pub priority: TicketPriority,
    pub category: String,
    pub status: TicketStatus,
    pub assignee: Option<AgentId>,
    pub support_level: SupportLevel,
    pub created_at: i64,
    pub updated_at: i64,
    pub first_response_at: Option<i64>,
    pub resolved_at: Option<i64>,
    pub first_response_due_at: i64,
    pub resolution_due_at: i64,
    /// Set while pending on the customer: the SLA clock stands still since then.
    pub pending_since: Option<i64>,
    /// Business milliseconds spent pending so far (already added to the due times).
    pub paused_ms: i64,
    /// The next open target's due time (what the list sorts by); `None` when none runs.
    pub sla_due_at: Option<i64>,
    /// Raised by every update; an update names the version it read.
    #[serde(skip)]
    pub version: i64,
}

/// A ticket to create; `conversation_id` makes creation idempotent per conversation.
#[derive(Debug, Clone)]
pub struct NewTicket {
    pub conversation_id: Option<ConversationId>,
    pub site_id: String,
    pub customer_name: Option<String>,
    pub customer_contact: Option<String>,
    pub customer_number: Option<String>,
    pub channel: TicketChannel,
    pub subject: String,
    pub description: String,
    pub priority: TicketPriority,
    pub category: String,
    pub assignee: Option<AgentId>,
    pub support_level: SupportLevel,
    /// Set when the customer already had an answer (a live chat an agent converts).
    pub first_response_at: Option<i64>,
    pub first_response_due_at: i64,
    pub resolution_due_at: i64,
    /// The next SLA due time (see `TicketRecord::sla_due_at`).
    pub sla_due_at: Option<i64>,
    /// Who created it (`None`: the system).
    pub by: Option<AgentId>,
    pub at: i64,
}

/// One entry of a ticket's history, stored as JSON beside its `kind`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum TicketEventKind {
    Created {
        channel: TicketChannel,
    },
    StatusChanged {
        from: TicketStatus,
        to: TicketStatus,
    },
    PriorityChanged {
        from: TicketPriority,
        to: TicketPriority,
    },
    CategoryChanged {
        from: String,
        to: String,
    },
    Assigned {
        from: Option<AgentId>,
        to: Option<AgentId>,
    },
    Escalated {
        from: SupportLevel,
        to: SupportLevel,
        reason: String,
    },
    /// Internal: agents only.
    Note {
        body: String,
    },
    /// Public: meant for the customer.
    Reply {
        body: String,
    },
    TagsChanged {
        from: Vec<String>,
        to: Vec<String>,
    },
}

impl TicketEventKind {
    pub fn kind(&self) -> &'static str {
        match self {
            TicketEventKind::Created { .. } => "created",
            TicketEventKind::StatusChanged { .. } => "status_changed",
            TicketEventKind::PriorityChanged { .. } => "priority_changed",
            TicketEventKind::CategoryChanged { .. } => "category_changed",
            TicketEventKind::Assigned { .. } => "assigned",
            TicketEventKind::Escalated { .. } => "escalated",
            TicketEventKind::Note { .. } => "note",
            TicketEventKind::Reply { .. } => "reply",
            TicketEventKind::TagsChanged { .. } => "tags_changed",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TicketEvent {
    pub id: i64,
    pub ticket_id: i64,
    pub at: i64,
    pub agent_id: Option<AgentId>,
    #[serde(flatten)]
    pub event: TicketEventKind,
}

/// The new state of a ticket's mutable columns, written with its history entries in one
/// transaction, only if the row is still at `expected_version`.
#[derive(Debug, Clone)]
pub struct TicketChange {
    pub ticket_id: i64,
    pub expected_version: i64,
    pub priority: TicketPriority,
    pub category: String,
    pub status: TicketStatus,
    pub assignee: Option<AgentId>,
    pub support_level: SupportLevel,
    pub first_response_at: Option<i64>,
    pub resolved_at: Option<i64>,
    pub first_response_due_at: i64,
    pub resolution_due_at: i64,
    pub pending_since: Option<i64>,
    pub paused_ms: i64,
    pub sla_due_at: Option<i64>,
    pub events: Vec<TicketEventKind>,
    pub by: Option<AgentId>,
    pub at: i64,
}

impl TicketChange {
    /// Starts from the ticket as read: nothing changes until a field is set.
    pub fn from_record(t: &TicketRecord, by: Option<AgentId>, at: i64) -> Self {
        TicketChange {
            ticket_id: t.id,
            expected_version: t.version,
            priority: t.priority,
            category: t.category.clone(),
            status: t.status,
            assignee: t.assignee,
            support_level: t.support_level,
            first_response_at: t.first_response_at,
            resolved_at: t.resolved_at,
            first_response_due_at: t.first_response_due_at,
            resolution_due_at: t.resolution_due_at,
            pending_since: t.pending_since,
            paused_ms: t.paused_ms,
            sla_due_at: t.sla_due_at,
            events: Vec::new(),
            by,
            at,
        }
    }
}

/// List filters; `None` matches everything. Sorted by `sla_due_at` (none last), then id.
#[derive(Debug, Clone, Default)]
pub struct TicketFilter {
    pub status: Option<TicketStatus>,
    pub priority: Option<TicketPriority>,
    pub category: Option<String>,
    pub support_level: Option<SupportLevel>,
    pub assignee: Option<AgentId>,
    /// Tickets carrying this tag.
    pub tag: Option<String>,
    /// Case-insensitive substring of subject, description or customer name/contact/number.
    pub search: Option<String>,
    /// Where the ticket stands against its SLA at `now`.
    pub sla: Option<SlaState>,
    /// Only tickets of these sites (the caller's); `None`: every site.
    pub sites: Option<Vec<String>>,
    /// The clock for `sla` (Unix ms).
    pub now: i64,
    pub limit: u32,
    pub offset: u32,
}

text_enum!(
    /// A ticket against its SLA targets: `breached` (a target missed, or overdue and still
    /// open), `paused` (pending on the customer, not breached), `running` (open, clock
    /// running, nothing breached yet).
    SlaState { Breached = "breached", Paused = "paused", Running = "running" }
);

/// A site's business hours as stored: IANA zone and, Monday first, seven optional
/// `[opens, closes]` windows in minutes after local midnight.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SiteHours {
    pub timezone: String,
    pub week: Vec<Option<[u32; 2]>>,
}

/// The customer's verdict on a resolved ticket (CSAT 1–5), stored against the agent who
/// held the ticket when it was rated.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TicketRating {
    pub ticket_id: i64,
    pub agent_id: Option<AgentId>,
    pub score: u8,
    pub comment: Option<String>,
    pub rated_at: i64,
}

text_enum!(
    /// How a new ticket of a category gets an agent.
    AssignmentStrategy {
        Manual = "manual",
        RoundRobin = "round_robin",
        LeastLoaded = "least_loaded",
    }
);

/// Which level handles a category and how its tickets are assigned.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AssignmentRule {
    pub category: String,
    pub support_level: SupportLevel,
    pub strategy: AssignmentStrategy,
}

/// An SLA target pair for one priority, in business minutes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SlaPolicyRecord {
    pub priority: TicketPriority,
    pub first_response_minutes: u32,
    pub resolution_minutes: u32,
}
