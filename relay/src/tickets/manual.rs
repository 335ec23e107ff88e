//! Tickets opened directly, not from a conversation: an agent logging a phone call, or an
//! integration filing what its own contact form or mailbox received (`POST /tickets`).

use super::assignment::rule_for;
use super::conversion::subject_of;
use super::{clock_of, sla, TicketError, TicketResult, Tickets};
use crate::clock::now_ms;
use switchboard_shared::{AgentId, SupportLevel};
use switchboard_store::tickets::{NewTicket, TicketChannel, TicketPriority, TicketRecord};

/// What the caller gives; `None` fields take the defaults below.
#[derive(Debug, Clone)]
pub struct ManualTicket {
    pub site: String,
    /// `offline_form` (a written message: form, e-mail, call notes) unless said otherwise.
    pub channel: Option<TicketChannel>,
    /// The first line of the description when absent.
    pub subject: Option<String>,
    pub description: String,
    pub customer_name: Option<String>,
    pub customer_contact: Option<String>,
    pub customer_number: Option<String>,
    /// Medium when absent.
    pub priority: Option<TicketPriority>,
    /// The first configured category when absent.
    pub category: Option<String>,
    /// The category rule's level when absent.
    pub support_level: Option<SupportLevel>,
    /// The category rule's strategy picks one when absent.
    pub assignee: Option<AgentId>,
}

impl Tickets {
    /// Opens a ticket with SLA due times from now, in the site's hours.
    pub async fn open(&self, by: AgentId, m: ManualTicket) -> TicketResult<TicketRecord> {
        let store = self.chat.store();
        if store.site(&m.site).await?.is_none() {
            return Err(TicketError::Invalid(format!("unknown site {:?}", m.site)));
        }
        let category = match m.category {
            Some(c) => {
                self.check_category(&c).await?;
                c
            }
            None => store
                .ticket_categories()
                .await?
                .into_iter()
                .next()
                .ok_or_else(|| {
                    TicketError::Invalid("no ticket categories are configured".into())
                })?,
        };
        if let Some(agent) = m.assignee {
            let known = store.agent(agent).await?;
            if known.is_none_or(|a| a.disabled) {
                return Err(TicketError::Invalid(
                    "assignee must be an enabled agent".into(),
                ));
            }
        }
        let rule = rule_for(store, &category).await?;
        let priority = m.priority.unwrap_or(TicketPriority::Medium);
        let now = now_ms();
        let clock = clock_of(store, &m.site).await?;
        let (first_due, resolution_due) = sla::due_times(&clock, now, priority, 0);
        let status = switchboard_store::tickets::TicketStatus::New;
        let subject = match m.subject {
            Some(s) => subject_of(&s),
            None => subject_of(&m.description),
        };
        let (ticket, _) = store
            .create_ticket(NewTicket {
                conversation_id: None,
                site_id: m.site,
                customer_name: m.customer_name,
                customer_contact: m.customer_contact,
                customer_number: m.customer_number,
                channel: m.channel.unwrap_or(TicketChannel::OfflineForm),
                subject,
                description: m.description,
                priority,
                category,
                assignee: m.assignee,
                support_level: m.support_level.unwrap_or(rule.support_level),
                first_response_at: None,
                first_response_due_at: first_due,
                resolution_due_at: resolution_due,
                sla_due_at: sla::next_due(status, None, first_due, resolution_due),
                by: Some(by),
                at: now,
            })
            .await?;
        self.chat.events().ticket_created(&ticket);
        if ticket.assignee.is_some() {
            return Ok(ticket);
        }
        match self.auto_assign(ticket.clone()).await {
            Ok(assigned) => Ok(assigned),
            Err(e) => {
                tracing::warn!(ticket = ticket.id, error = %e, "automatic assignment failed");
                Ok(ticket)
            }
        }
    }
}
