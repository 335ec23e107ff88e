//! Integration records: API tokens (scoped, revocable) and webhooks (subscriptions, the
//! event outbox, the delivery log). The relay decides scopes, signing and retry timing; the
//! store keeps the rows and makes "store before send" one transaction per event.

use serde::Serialize;
use switchboard_shared::AgentId;

/// An API token as listed: never its secret (only its SHA-256 is stored at all).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ApiTokenRecord {
    pub id: i64,
    pub name: String,
    /// Scope names as stored; the relay parses them.
    pub scopes: Vec<String>,
    /// The admin who created it; the token acts on their behalf.
    pub created_by: AgentId,
    pub created_at: i64,
    pub revoked_at: Option<i64>,
}

#[derive(Debug, Clone)]
pub struct NewApiToken {
    pub name: String,
    pub scopes: Vec<String>,
    pub token_hash: [u8; 32],
    pub created_by: AgentId,
    pub at: i64,
}

/// A webhook subscription. The secret is the HMAC key; it is shown once and never listed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct WebhookRecord {
    pub id: i64,
    pub url: String,
    pub events: Vec<String>,
    #[serde(skip)]
    pub secret: String,
    pub created_by: AgentId,
    pub created_at: i64,
}

#[derive(Debug, Clone)]
pub struct NewWebhook {
    pub url: String,
    pub events: Vec<String>,
    pub secret: String,
    pub created_by: AgentId,
    pub at: i64,
}

/// An event for the outbox. `dedup_key` names it naturally (`ticket.created:42`), so a
/// retried domain action emits it once.
#[derive(Debug, Clone)]
pub struct NewWebhookEvent {
    pub dedup_key: String,
    pub kind: String,
    /// The body's `data` object, JSON text.
    pub data: String,
    pub at: i64,
}

/// A pending delivery whose next attempt is due, with everything needed to send it.
#[derive(Debug, Clone)]
pub struct DueDelivery {
    pub delivery_id: i64,
    /// Attempts made so far.
    pub attempts: u32,
    pub url: String,
    pub secret: String,
    pub event_id: i64,
    pub kind: String,
    pub data: String,
    pub event_at: i64,
}

/// One attempt as the log shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AttemptRecord {
    pub attempt: u32,
    pub started_at: i64,
    pub duration_ms: i64,
    /// The receiver's answer; `None` when none came (then `error` says why).
    pub status_code: Option<u16>,
    pub error: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryStatus {
    Pending,
    Delivered,
    Failed,
}

impl DeliveryStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryStatus::Pending => "pending",
            DeliveryStatus::Delivered => "delivered",
            DeliveryStatus::Failed => "failed",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "pending" => Some(DeliveryStatus::Pending),
            "delivered" => Some(DeliveryStatus::Delivered),
            "failed" => Some(DeliveryStatus::Failed),
            _ => None,
        }
    }
}

/// A delivery with its attempts: one entry of the delivery log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DeliveryRecord {
    pub id: i64,
    pub event_id: i64,
    #[serde(rename = "type")]
    pub kind: String,
    pub status: DeliveryStatus,
    pub next_attempt_at: Option<i64>,
    pub created_at: i64,
    pub attempts: Vec<AttemptRecord>,
}

/// What one attempt led to: recorded with the attempt in one transaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AttemptOutcome {
    Delivered,
    RetryAt(i64),
    GaveUp,
}
