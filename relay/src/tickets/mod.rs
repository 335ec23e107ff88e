//! The ticket workflow: a chat that could not be finished live becomes a ticket and
//! follows it to resolution. Knows no HTTP types; the store keeps rows and history.
//!
//! - [`sla`]: pure SLA arithmetic (business hours, due times, pauses, breaches).
//! - [`conversion`]: conversations becoming tickets (offline message, agent conversion),
//!   idempotent per conversation.
//! - [`workflow`]: changes to a ticket (status, priority, category, assignee, escalation,
//!   notes, replies), each written with its history entry.
//! - [`assignment`]: category rules → support level and an agent (round robin, least
//!   loaded) for new and escalated tickets.
//! - [`manual`]: tickets opened directly (a phone call, an integration's form or mailbox).
//! - [`tags`]: labels to find tickets again.
//! - [`customer`]: what the visitor sees of their tickets in the widget, and their CSAT.

pub mod assignment;
pub mod conversion;
pub mod customer;
pub mod manual;
pub mod sla;
pub mod tags;
pub mod workflow;

use crate::conversations::{Chat, ChatError};
use serde::Serialize;
use sla::BusinessHours;
use switchboard_store::tickets::{SlaPolicyRecord, TicketFilter, TicketRecord};
use switchboard_store::{SiteRecord, StoreError};

#[derive(Debug, thiserror::Error)]
pub enum TicketError {
    /// No such ticket or conversation, or a conversation the caller does not hold.
    #[error("not found")]
    NotFound,
    /// The request breaks a workflow rule; the text says which.
    #[error("{0}")]
    Invalid(String),
    /// The ticket kept changing under us (after retries).
    #[error("conflict: {0}")]
    Conflict(String),
    #[error(transparent)]
    Store(StoreError),
    #[error(transparent)]
    Chat(#[from] ChatError),
}

impl From<StoreError> for TicketError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound => TicketError::NotFound,
            StoreError::Conflict(what) => TicketError::Conflict(what),
            StoreError::Invalid(what) => TicketError::Invalid(what),
            other => TicketError::Store(other),
        }
    }
}

pub type TicketResult<T> = Result<T, TicketError>;

/// Cheap cloneable handle to the ticket workflow (the conversation service inside).
#[derive(Clone)]
pub struct Tickets {
    chat: Chat,
}

/// One SLA target as clients see it.
#[derive(Debug, Clone, Serialize, PartialEq, Eq, utoipa::ToSchema)]
pub struct TargetView {
    pub due_at: i64,
    pub met_at: Option<i64>,
    pub breached: bool,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq, utoipa::ToSchema)]
pub struct SlaView {
    pub first_response: TargetView,
    pub resolution: TargetView,
    /// Pending on the customer: the clock stands still.
    pub paused: bool,
    /// Either target breached.
    pub breached: bool,
}

/// A ticket with its SLA state at the time of the request.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct TicketView {
    #[serde(flatten)]
    pub ticket: TicketRecord,
    pub sla: SlaView,
}

impl TicketView {
    pub fn new(ticket: TicketRecord, now: i64) -> Self {
        let first_response = TargetView {
            due_at: ticket.first_response_due_at,
            met_at: ticket.first_response_at,
            breached: sla::breached(
                ticket.first_response_due_at,
                ticket.first_response_at,
                ticket.pending_since,
                now,
            ),
        };
        let resolution = TargetView {
            due_at: ticket.resolution_due_at,
            met_at: ticket.resolved_at,
            breached: sla::breached(
                ticket.resolution_due_at,
                ticket.resolved_at,
                ticket.pending_since,
                now,
            ),
        };
        let sla = SlaView {
            breached: first_response.breached || resolution.breached,
            paused: ticket.pending_since.is_some(),
            first_response,
            resolution,
        };
        TicketView { ticket, sla }
    }
}

impl Tickets {
    pub fn new(chat: &Chat) -> Self {
        Tickets { chat: chat.clone() }
    }

    pub async fn get(&self, id: i64) -> TicketResult<TicketRecord> {
        self.chat
            .store()
            .ticket(id)
            .await?
            .ok_or(TicketError::NotFound)
    }

    pub async fn list(&self, filter: TicketFilter) -> TicketResult<Vec<TicketRecord>> {
        Ok(self.chat.store().list_tickets(filter).await?)
    }

    /// The category must be one of the configured list.
    pub async fn check_category(&self, category: &str) -> TicketResult<()> {
        let known = self.chat.store().ticket_categories().await?;
        if known.iter().any(|c| c == category) {
            Ok(())
        } else {
            Err(TicketError::Invalid(format!(
                "category must be one of: {}",
                known.join(", ")
            )))
        }
    }

    pub async fn business_hours(&self, site: &str) -> TicketResult<BusinessHours> {
        Ok(hours_of(self.chat.store(), site).await?)
    }

    /// Is live chat closed on `site` at `now`? Only when its admin chose "live chat only
    /// within business hours" (`chat_within_hours`) and `now` is outside them; otherwise
    /// hours count for SLA due times only and chat follows agent presence.
    /// The hours are read only when the site asks for it.
    pub async fn chat_closed(&self, site: &SiteRecord, now: i64) -> TicketResult<bool> {
        if !site.options.chat_within_hours {
            return Ok(false);
        }
        Ok(!hours_of(self.chat.store(), &site.id).await?.is_open(now))
    }

    /// The targets in force for every priority (stored or default), in minutes.
    pub async fn sla_policies(&self) -> TicketResult<Vec<SlaPolicyRecord>> {
        let stored = self.chat.store().sla_policies().await?;
        Ok(sla::Policy::from_stored(&stored).to_records())
    }

    /// Sets one priority's targets: whole minutes of business time, first response at least
    /// one minute, resolution no sooner than the first response, neither beyond a year.
    /// Applies to due times computed from then on.
    pub async fn set_sla_policy(&self, policy: SlaPolicyRecord) -> TicketResult<()> {
        const YEAR_MINUTES: u32 = 366 * 24 * 60;
        let (first, resolution) = (policy.first_response_minutes, policy.resolution_minutes);
        if first == 0 || resolution > YEAR_MINUTES {
            return Err(TicketError::Invalid(
                "targets are 1 minute to a year of business time".into(),
            ));
        }
        if resolution < first {
            return Err(TicketError::Invalid(
                "the resolution target cannot be shorter than the first-response target".into(),
            ));
        }
        Ok(self.chat.store().set_sla_policy(policy).await?)
    }

    pub async fn set_business_hours(&self, site: &str, hours: &BusinessHours) -> TicketResult<()> {
        let store = self.chat.store();
        if store.site(site).await?.is_none() {
            return Err(TicketError::NotFound);
        }
        Ok(store.set_site_hours(site, hours.to_stored()).await?)
    }
}

/// What a site's due times are computed with: its business hours and the SLA policy.
pub(crate) async fn clock_of(
    store: &switchboard_store::SharedStore,
    site: &str,
) -> Result<sla::SlaClock, StoreError> {
    Ok(sla::SlaClock {
        hours: hours_of(store, site).await?,
        policy: sla::Policy::from_stored(&store.sla_policies().await?),
    })
}

/// A site's business hours; the defaults when none are set. Hours stored in a form the
/// rules no longer accept are logged and replaced by the defaults, so one bad row cannot
/// stop tickets from being created.
pub(crate) async fn hours_of(
    store: &switchboard_store::SharedStore,
    site: &str,
) -> Result<BusinessHours, StoreError> {
    Ok(match store.site_hours(site).await? {
        None => BusinessHours::default(),
        Some(stored) => BusinessHours::from_stored(&stored).unwrap_or_else(|e| {
            tracing::warn!(site, error = %e, "stored business hours unusable; using the defaults");
            BusinessHours::default()
        }),
    })
}
