//! The five event types and what each carries in `data`. Each event has a natural key, so
//! a domain action that runs twice (a retried conversion, a resent offline message) still
//! emits its event once.

use serde_json::{json, Value};
use switchboard_shared::{AgentId, ConversationId};
use switchboard_store::tickets::{TicketRecord, TicketStatus};
use switchboard_store::ConversationRecord;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventType {
    ConversationStarted,
    ConversationEnded,
    TicketCreated,
    TicketUpdated,
    TicketResolved,
}

impl EventType {
    pub const ALL: [EventType; 5] = [
        EventType::ConversationStarted,
        EventType::ConversationEnded,
        EventType::TicketCreated,
        EventType::TicketUpdated,
        EventType::TicketResolved,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            EventType::ConversationStarted => "conversation.started",
            EventType::ConversationEnded => "conversation.ended",
            EventType::TicketCreated => "ticket.created",
            EventType::TicketUpdated => "ticket.updated",
            EventType::TicketResolved => "ticket.resolved",
        }
    }

    pub fn parse(s: &str) -> Option<EventType> {
        EventType::ALL.into_iter().find(|t| t.as_str() == s)
    }
}

/// What the domain hands over. Conversation events carry only the id: the worker reads the
/// conversation when it records the event, so the emission point stays one cheap line.
#[derive(Debug, Clone)]
pub enum Emission {
    Conversation(EventType, ConversationId),
    Ticket {
        kind: EventType,
        ticket: Box<TicketRecord>,
        /// Field names that changed (`ticket.updated` and `ticket.resolved` only).
        changed: Vec<&'static str>,
        /// The public reply this change carried, so the site can e-mail it to the customer.
        reply: Option<PublicReply>,
    },
}

/// A reply for the customer, as a webhook carries it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublicReply {
    pub body: String,
    pub agent: Option<AgentId>,
}

impl Emission {
    pub fn kind(&self) -> EventType {
        match self {
            Emission::Conversation(kind, _) | Emission::Ticket { kind, .. } => *kind,
        }
    }
}

/// `ticket.updated` for every stored change, plus `ticket.resolved` when the change
/// resolved it.
pub fn ticket_changes(
    before: &TicketRecord,
    after: &TicketRecord,
    reply: Option<PublicReply>,
) -> Vec<Emission> {
    let mut changed = Vec::new();
    let fields: [(&'static str, bool); 7] = [
        ("status", before.status != after.status),
        ("priority", before.priority != after.priority),
        ("category", before.category != after.category),
        ("assignee", before.assignee != after.assignee),
        ("support_level", before.support_level != after.support_level),
        (
            "first_response_at",
            before.first_response_at != after.first_response_at,
        ),
        ("sla", before.sla_due_at != after.sla_due_at),
    ];
    for (name, differs) in fields {
        if differs {
            changed.push(name);
        }
    }
    let resolved =
        after.status == TicketStatus::Resolved && before.status != TicketStatus::Resolved;
    let mut out = vec![Emission::Ticket {
        kind: EventType::TicketUpdated,
        ticket: Box::new(after.clone()),
        changed: changed.clone(),
        reply: reply.clone(),
    }];
    if resolved {
        out.push(Emission::Ticket {
            kind: EventType::TicketResolved,
            ticket: Box::new(after.clone()),
            changed,
            reply,
        });
    }
    out
}

/// The event's natural key: the same key twice is one event.
pub fn ticket_key(kind: EventType, t: &TicketRecord) -> String {
    match kind {
        EventType::TicketCreated => format!("{}:{}", kind.as_str(), t.id),
        _ => format!("{}:{}:{}", kind.as_str(), t.id, t.version),
    }
}

pub fn conversation_key(kind: EventType, id: ConversationId) -> String {
    format!("{}:{}", kind.as_str(), id.0)
}

/// `reply` is `(body, agent id, agent name)` when the change carried a public reply.
pub fn ticket_data(
    ticket: &TicketRecord,
    changed: &[&'static str],
    reply: Option<(&str, Option<AgentId>, Option<&str>)>,
) -> Value {
    let mut data = json!({ "ticket": ticket });
    if !changed.is_empty() {
        data["changed"] = json!(changed);
    }
    if let Some((body, agent_id, agent_name)) = reply {
        data["reply"] = json!({ "body": body, "agent_id": agent_id, "agent_name": agent_name });
    }
    data
}

/// The conversation as stored when the event was recorded.
pub fn conversation_data(c: &ConversationRecord) -> Value {
    json!({
        "conversation": {
            "id": c.id.0,
            "site_id": c.site_id,
            "status": c.status,
            "agent_id": c.agent_id.map(|a| a.0),
            "visitor": {
                "name": c.info.name,
                "email": c.info.email,
                "customer_number": c.info.customer_number,
                "page_url": c.info.page_url,
                "locale": c.info.locale,
            },
            "created_at": c.created_at,
            "assigned_at": c.assigned_at,
            "ended_at": c.ended_at,
        }
    })
}

/// The request body: the same bytes on every attempt, so receivers can deduplicate by `id`.
pub fn body(event_id: i64, kind: &str, created_at: i64, data: &str) -> Vec<u8> {
    let data: Value = serde_json::from_str(data).unwrap_or(Value::Null);
    json!({
        "id": format!("evt_{event_id}"),
        "type": kind,
        "created_at": created_at,
        "data": data,
    })
    .to_string()
    .into_bytes()
}
