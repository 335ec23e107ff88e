//! The customer's side of a ticket: what the widget shows a visitor of their tickets (the
//! team's public replies, never notes), the push when one changes, and the CSAT rating the
//! visitor gives once a ticket is resolved.

use super::{TicketError, TicketResult, Tickets};
use crate::clock::now_ms;
use crate::fanout::{Outbound, Party};
use std::collections::HashMap;
use switchboard_shared::{AgentId, CustomerReply, CustomerTicket, ServerFrame};
use switchboard_store::tickets::{TicketEventKind, TicketRating, TicketRecord, TicketStatus};
use switchboard_store::{StoreError, VisitorId};

/// How many of a visitor's tickets the widget gets (newest first).
const VISITOR_TICKETS: u32 = 10;

/// Can the customer rate it now? Resolved or closed, and not rated yet.
fn ratable(t: &TicketRecord, rated: bool) -> bool {
    !rated && matches!(t.status, TicketStatus::Resolved | TicketStatus::Closed)
}

impl Tickets {
    /// The visitor's tickets as the widget shows them, newest first.
    pub async fn for_visitor(&self, visitor: VisitorId) -> TicketResult<Vec<CustomerTicket>> {
        let store = self.chat.store();
        let mut names: HashMap<AgentId, Option<String>> = HashMap::new();
        let mut out = Vec::new();
        for t in store.tickets_of_visitor(visitor, VISITOR_TICKETS).await? {
            let mut replies = Vec::new();
            for e in store.ticket_events(t.id).await? {
                let TicketEventKind::Reply { body } = e.event else {
                    continue;
                };
                let author = match e.agent_id {
                    Some(id) => match names.get(&id) {
                        Some(name) => name.clone(),
                        None => {
                            let name = store.agent(id).await?.map(|a| a.display_name);
                            names.insert(id, name.clone());
                            name
                        }
                    },
                    None => None,
                };
                replies.push(CustomerReply {
                    id: e.id,
                    at: e.at,
                    author,
                    body,
                });
            }
            let rating = store.ticket_rating(t.id).await?.map(|r| r.score);
            out.push(CustomerTicket {
                id: t.id,
                subject: t.subject.clone(),
                status: t.status.as_str().to_string(),
                created_at: t.created_at,
                can_rate: ratable(&t, rating.is_some()),
                rating,
                replies,
            });
        }
        Ok(out)
    }

    /// Sends the visitor behind `ticket` their fresh ticket list, on every open widget.
    /// Best effort: the next `hello` sends the list anyway, so a failure is only logged.
    pub async fn notify_customer(&self, ticket: &TicketRecord) {
        let Some(conv) = ticket.conversation_id else {
            return;
        };
        let visitor = match self.chat.store().conversation(conv).await {
            Ok(Some(rec)) => rec.visitor_id,
            Ok(None) => return,
            Err(e) => {
                tracing::warn!(ticket = ticket.id, error = %e, "customer not notified");
                return;
            }
        };
        match self.for_visitor(visitor).await {
            Ok(tickets) => {
                let frame = ServerFrame::Tickets { tickets }.to_json().into();
                self.chat
                    .hub()
                    .send_party(Party::Visitor(visitor), Outbound::Frame(frame));
            }
            Err(e) => tracing::warn!(ticket = ticket.id, error = %e, "customer not notified"),
        }
    }

    /// The visitor rates one of their resolved tickets (1–5, optional comment), once. The
    /// rating is stored against the ticket's assignee at this moment.
    pub async fn rate(
        &self,
        visitor: VisitorId,
        ticket_id: i64,
        score: u8,
        comment: Option<String>,
    ) -> TicketResult<()> {
        if !(1..=5).contains(&score) {
            return Err(TicketError::Invalid("score must be 1 to 5".into()));
        }
        let store = self.chat.store();
        let t = store
            .ticket(ticket_id)
            .await?
            .ok_or(TicketError::NotFound)?;
        // Someone else's ticket is "not found", like any conversation that is not yours.
        let conv = t.conversation_id.ok_or(TicketError::NotFound)?;
        let owner = store.conversation(conv).await?.map(|c| c.visitor_id);
        if owner != Some(visitor) {
            return Err(TicketError::NotFound);
        }
        if !ratable(&t, false) {
            return Err(TicketError::Invalid("the ticket is not resolved".into()));
        }
        let rating = TicketRating {
            ticket_id,
            agent_id: t.assignee,
            score,
            comment,
            rated_at: now_ms(),
        };
        match store.rate_ticket(rating).await {
            Ok(()) => {}
            Err(StoreError::Conflict(_)) => {
                return Err(TicketError::Invalid("the ticket is already rated".into()))
            }
            Err(e) => return Err(e.into()),
        }
        self.notify_customer(&t).await;
        Ok(())
    }
}
