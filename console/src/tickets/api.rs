//! The ticket REST calls (docs/TICKETS.md, "REST API") through the console's one fetch
//! wrapper, [`crate::api::call`]; bodies are the relay's JSON, read with serde.

use crate::api::{call, parse, ApiError};
use serde::Deserialize;
use serde_json::{json, Value};
use switchboard_shared::ServerFrame;

type Result<T> = std::result::Result<T, ApiError>;

/// One SLA target as computed for this request.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Target {
    pub due_at: i64,
    pub met_at: Option<i64>,
    pub breached: bool,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Sla {
    pub first_response: Target,
    pub resolution: Target,
    pub paused: bool,
    pub breached: bool,
}

/// A ticket as the list and the detail show it (the fields the console reads).
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Ticket {
    pub id: i64,
    pub conversation_id: Option<i64>,
    pub site_id: String,
    pub customer_name: Option<String>,
    pub customer_contact: Option<String>,
    pub customer_number: Option<String>,
    pub channel: String,
    pub subject: String,
    pub description: String,
    pub priority: String,
    pub category: String,
    pub status: String,
    pub assignee: Option<i64>,
    pub support_level: String,
    pub created_at: i64,
    pub updated_at: i64,
    /// The running target's due time; `None` while paused, resolved or closed.
    pub sla_due_at: Option<i64>,
    pub sla: Sla,
}

/// The SLA state the list filters by (client-side: the API has no parameter for it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SlaState {
    Breached,
    Paused,
    Running,
}

impl SlaState {
    pub const ALL: [SlaState; 3] = [SlaState::Breached, SlaState::Running, SlaState::Paused];

    pub fn code(self) -> &'static str {
        match self {
            SlaState::Breached => "breached",
            SlaState::Paused => "paused",
            SlaState::Running => "running",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|st| st.code() == s)
    }
}

impl Ticket {
    /// Breached wins over paused: a breach stays a breach while the customer is waited on.
    /// A ticket with no running target and no breach (resolved in time) has no state.
    pub fn sla_state(&self) -> Option<SlaState> {
        if self.sla.breached {
            Some(SlaState::Breached)
        } else if self.sla.paused {
            Some(SlaState::Paused)
        } else if self.sla_due_at.is_some() {
            Some(SlaState::Running)
        } else {
            None
        }
    }
}

/// One history entry: `kind` plus the kind's fields (kept as JSON, shown by kind).
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Entry {
    pub id: i64,
    pub at: i64,
    pub agent_id: Option<i64>,
    pub kind: String,
    #[serde(flatten)]
    pub fields: serde_json::Map<String, Value>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Rating {
    pub score: u8,
    pub comment: Option<String>,
    pub rated_at: i64,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Detail {
    pub ticket: Ticket,
    #[serde(default)]
    pub history: Vec<Entry>,
    #[serde(default)]
    pub tags: Vec<String>,
    pub rating: Option<Rating>,
    pub transcript: Option<Vec<ServerFrame>>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Page {
    pub tickets: Vec<Ticket>,
    pub next_offset: Option<u32>,
}

/// The list's server-side filters; empty strings mean "any".
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Filter {
    pub status: String,
    pub priority: String,
    pub category: String,
    pub level: String,
    pub assignee: String,
    pub tag: String,
    pub q: String,
    /// SLA state now: "breached", "running", "paused" (the relay computes it).
    pub sla: String,
}

impl Filter {
    /// The query string of `GET /tickets` (without `?`), values percent-encoded.
    pub fn query(&self, limit: u32, offset: u32) -> String {
        let mut parts = Vec::new();
        for (key, value) in [
            ("status", &self.status),
            ("priority", &self.priority),
            ("category", &self.category),
            ("level", &self.level),
            ("assignee", &self.assignee),
            ("tag", &self.tag),
            ("q", &self.q),
            ("sla", &self.sla),
        ] {
            let value = value.trim();
            if !value.is_empty() {
                parts.push(format!("{key}={}", encode(value)));
            }
        }
        parts.push(format!("limit={limit}"));
        parts.push(format!("offset={offset}"));
        parts.join("&")
    }
}

/// Percent-encoding of a query value (RFC 3986 unreserved characters stay).
pub fn encode(value: &str) -> String {
    let mut out = String::new();
    for b in value.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

pub async fn list(token: &str, filter: &Filter, limit: u32, offset: u32) -> Result<Page> {
    let path = format!("/api/v1/tickets?{}", filter.query(limit, offset));
    parse(&call("GET", &path, Some(token), None).await?)
}

pub async fn detail(token: &str, id: i64) -> Result<Detail> {
    let path = format!("/api/v1/tickets/{id}");
    parse(&call("GET", &path, Some(token), None).await?)
}

async fn send(token: &str, method: &str, path: String, body: Value) -> Result<()> {
    call(method, &path, Some(token), Some(body.to_string())).await?;
    Ok(())
}

/// `PATCH /tickets/{id}` with any of `status`, `priority`, `category`, `assignee`.
pub async fn patch(token: &str, id: i64, body: Value) -> Result<()> {
    send(token, "PATCH", format!("/api/v1/tickets/{id}"), body).await
}

pub async fn note(token: &str, id: i64, body: &str) -> Result<()> {
    let path = format!("/api/v1/tickets/{id}/notes");
    send(token, "POST", path, json!({ "body": body })).await
}

pub async fn reply(token: &str, id: i64, body: &str) -> Result<()> {
    let path = format!("/api/v1/tickets/{id}/replies");
    send(token, "POST", path, json!({ "body": body })).await
}

pub async fn escalate(token: &str, id: i64, reason: &str) -> Result<()> {
    let path = format!("/api/v1/tickets/{id}/escalate");
    send(token, "POST", path, json!({ "reason": reason })).await
}

pub async fn set_tags(token: &str, id: i64, tags: &[String]) -> Result<()> {
    let path = format!("/api/v1/tickets/{id}/tags");
    send(token, "PUT", path, json!({ "tags": tags })).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_query_names_only_set_filters_and_encodes_values() {
        let f = Filter {
            priority: "high".into(),
            q: "Rechnung März & mehr".into(),
            tag: " ".into(),
            ..Filter::default()
        };
        assert_eq!(
            f.query(25, 50),
            "priority=high&q=Rechnung%20M%C3%A4rz%20%26%20mehr&limit=25&offset=50"
        );
    }

    #[test]
    fn a_listed_ticket_reads_with_its_sla_state() {
        let text = r#"{"id":3,"conversation_id":null,"site_id":"demo","customer_name":"Olga",
            "customer_contact":"o@example.de","customer_number":null,"channel":"offline_form",
            "subject":"Wartung","description":"Wartung bitte","priority":"medium",
            "category":"technical_problem","status":"pending_customer","assignee":null,
            "support_level":"L1","created_at":1,"updated_at":2,"first_response_at":null,
            "resolved_at":null,"first_response_due_at":10,"resolution_due_at":20,
            "pending_since":5,"paused_ms":0,"sla_due_at":null,
            "sla":{"first_response":{"due_at":10,"met_at":null,"breached":false},
                   "resolution":{"due_at":20,"met_at":null,"breached":false},
                   "paused":true,"breached":false}}"#;
        let t: Ticket = serde_json::from_str(text).expect("a ticket");
        assert_eq!(t.sla_state(), Some(SlaState::Paused));
        let breached = Ticket {
            sla: Sla {
                breached: true,
                ..t.sla.clone()
            },
            ..t.clone()
        };
        assert_eq!(breached.sla_state(), Some(SlaState::Breached));
    }

    #[test]
    fn history_entries_keep_their_kind_fields() {
        let e: Entry = serde_json::from_str(
            r#"{"id":7,"ticket_id":3,"at":9,"agent_id":2,"kind":"escalated","from":"L1","to":"L2","reason":"Hardware"}"#,
        )
        .expect("an entry");
        assert_eq!(e.kind, "escalated");
        assert_eq!(e.fields["reason"], "Hardware");
        assert_eq!(e.agent_id, Some(2));
    }
}
