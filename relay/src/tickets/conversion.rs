//! Conversations becoming tickets. Idempotent per conversation: the store's unique
//! `conversation_id` makes a retried conversion return the ticket the first one created.

use super::assignment::rule_for;
use super::{clock_of, sla, TicketError, TicketResult, Tickets};
use crate::clock::now_ms;
use crate::conversations::{Chat, ChatError};
use switchboard_shared::{
    AgentId, Author, ConversationId, ConversationStatus, ErrorCode, EventKind, Side, SupportLevel,
};
use switchboard_store::tickets::{NewTicket, TicketChannel, TicketPriority, TicketRecord};
use switchboard_store::{ConversationRecord, SharedStore, StoreError, StoreResult};

/// Subjects are the first line of the text, at most this many characters.
const SUBJECT_CHARS: usize = 80;

pub(super) fn subject_of(text: &str) -> String {
    let line = text
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .unwrap_or("");
    if line.chars().count() <= SUBJECT_CHARS {
        return line.to_string();
    }
    let cut: String = line.chars().take(SUBJECT_CHARS - 1).collect();
    format!("{}…", cut.trim_end())
}

struct Draft<'a> {
    conv: &'a ConversationRecord,
    channel: TicketChannel,
    text: &'a str,
    priority: TicketPriority,
    category: String,
    level: SupportLevel,
    assignee: Option<AgentId>,
    first_response_at: Option<i64>,
}

async fn create(store: &SharedStore, d: Draft<'_>) -> StoreResult<(TicketRecord, bool)> {
    let now = now_ms();
    let clock = clock_of(store, &d.conv.site_id).await?;
    let (first_due, resolution_due) = sla::due_times(&clock, now, d.priority, 0);
    let status = switchboard_store::tickets::TicketStatus::New;
    store
        .create_ticket(NewTicket {
            conversation_id: Some(d.conv.id),
            site_id: d.conv.site_id.clone(),
            customer_name: d.conv.info.name.clone(),
            customer_contact: d.conv.info.email.clone(),
            customer_number: d.conv.info.customer_number.clone(),
            channel: d.channel,
            subject: subject_of(d.text),
            description: d.text.to_string(),
            priority: d.priority,
            category: d.category,
            assignee: d.assignee,
            support_level: d.level,
            first_response_at: d.first_response_at,
            first_response_due_at: first_due,
            resolution_due_at: resolution_due,
            sla_due_at: sla::next_due(status, d.first_response_at, first_due, resolution_due),
            by: d.assignee,
            at: now,
        })
        .await
}

/// An offline message (a conversation awaiting a ticket) becomes a ticket of the
/// `offline_form` channel: medium priority, the first configured category, L1. The first
/// message is its description; later ones only extend the linked transcript. `None` when
/// the conversation is not (or no longer) awaiting a ticket, e.g. assigned meanwhile.
pub async fn offline_message_ticket(
    chat: &Chat,
    conv: ConversationId,
    message: &str,
) -> StoreResult<Option<TicketRecord>> {
    let store = chat.store();
    if let Some(existing) = store.ticket_for_conversation(conv).await? {
        return Ok(Some(existing));
    }
    let rec = store
        .conversation(conv)
        .await?
        .ok_or(StoreError::NotFound)?;
    if rec.status != ConversationStatus::AwaitingTicket {
        return Ok(None);
    }
    system_ticket(chat, &rec, TicketChannel::OfflineForm, message)
        .await
        .map(Some)
}

/// A ticket the system opens for a customer (offline message, unresolved chat): medium
/// priority, the first configured category, the level and assignee its rule picks.
/// Idempotent per conversation; `ticket.created` is stored for every call (the webhook
/// outbox drops repeats by the event's key).
async fn system_ticket(
    chat: &Chat,
    rec: &ConversationRecord,
    channel: TicketChannel,
    text: &str,
) -> StoreResult<TicketRecord> {
    let store = chat.store();
    let category = store
        .ticket_categories()
        .await?
        .into_iter()
        .next()
        .ok_or_else(|| StoreError::Corrupt("no ticket categories configured".into()))?;
    let rule = rule_for(store, &category).await?;
    let draft = Draft {
        conv: rec,
        channel,
        text,
        priority: TicketPriority::Medium,
        category,
        level: rule.support_level,
        assignee: None,
        first_response_at: None,
    };
    let (ticket, created) = create(store, draft).await?;
    crate::failpoint::hit("ticket_created");
    // Stored before the stream reader that called this moves on: a crash here makes it
    // call again, find the ticket and store the (deduplicated) event then.
    chat.events().ticket_created_now(&ticket).await?;
    if !created {
        return Ok(ticket);
    }
    let tickets = Tickets::new(chat);
    // The ticket exists whatever happens next; a failed assignment leaves it unassigned
    // in the list, where an agent picks it up by hand.
    let ticket = match tickets.auto_assign(ticket.clone()).await {
        Ok(assigned) => assigned,
        Err(e) => {
            tracing::warn!(ticket = ticket.id, error = %e, "automatic assignment failed");
            ticket
        }
    };
    // The widget lists it under the visitor's requests at once.
    tickets.notify_customer(&ticket).await;
    Ok(ticket)
}

/// Path 4: a chat that ended unresolved becomes a ticket when its site says so
/// (`unresolved_to_ticket`). Unresolved: it ended while still queued (the visitor left before
/// any agent was free), or no agent ever wrote in it. Only chats in which the visitor wrote
/// something count (there is nothing to answer otherwise); their messages are the
/// description. `None` when the setting is off or the chat was answered.
pub async fn unresolved_chat_ticket(
    chat: &Chat,
    conv: ConversationId,
    ended_in_queue: bool,
) -> StoreResult<Option<TicketRecord>> {
    let store = chat.store();
    let Some(rec) = store.conversation(conv).await? else {
        return Ok(None);
    };
    let wanted = store
        .site(&rec.site_id)
        .await?
        .is_some_and(|site| site.options.unresolved_to_ticket);
    if !wanted {
        return Ok(None);
    }
    let mut visitor_lines = Vec::new();
    let mut answered = false;
    for ev in store.all_events(conv).await? {
        if let EventKind::Message { author, body, .. } = ev.event {
            match author {
                Author::Visitor => visitor_lines.push(body),
                Author::Agent { .. } => answered = true,
            }
        }
    }
    if (answered && !ended_in_queue) || visitor_lines.is_empty() {
        return Ok(None);
    }
    let text = visitor_lines.join("\n");
    let ticket = system_ticket(chat, &rec, TicketChannel::LiveChat, &text).await?;
    tracing::info!(%conv, ticket = ticket.id, "unresolved chat became a ticket");
    Ok(Some(ticket))
}

/// What an agent fills in to convert a live chat.
#[derive(Debug, Clone)]
pub struct LiveConversion {
    pub category: String,
    pub priority: TicketPriority,
    pub support_level: SupportLevel,
    pub summary: String,
}

impl Tickets {
    /// The agent holding a live chat turns it into a ticket assigned to them, and the chat
    /// ends. A retry returns the same ticket (`false`: not created now) and finishes the
    /// end if the first attempt stopped before it.
    pub async fn convert_live(
        &self,
        agent: AgentId,
        conv: ConversationId,
        req: LiveConversion,
    ) -> TicketResult<(TicketRecord, bool)> {
        let store = self.chat.store();
        let owns = self.chat.agent_owns(agent, conv);
        let (ticket, created) = match store.ticket_for_conversation(conv).await? {
            Some(existing) => (existing, false),
            None if !owns => return Err(TicketError::NotFound),
            None => {
                self.check_category(&req.category).await?;
                let rec = store
                    .conversation(conv)
                    .await?
                    .ok_or(TicketError::NotFound)?;
                let draft = Draft {
                    conv: &rec,
                    channel: TicketChannel::LiveChat,
                    text: &req.summary,
                    priority: req.priority,
                    category: req.category,
                    level: req.support_level,
                    assignee: Some(agent),
                    // The customer was answered live: the first response happened.
                    first_response_at: Some(rec.assigned_at.unwrap_or(rec.created_at)),
                };
                create(store, draft).await?
            }
        };
        self.chat.events().ticket_created(&ticket);
        // Asked again: the chat may have been transferred while the ticket was written, and
        // then it is no longer this agent's to end. (`end_conversation` does not know the
        // actor; a transfer in the instant between this check and the end remains possible.)
        if self.chat.agent_owns(agent, conv) {
            match self.chat.end_conversation(conv, Side::Agent).await {
                Ok(()) | Err(ChatError::Refused(ErrorCode::ConversationEnded)) => {}
                Err(e) => return Err(e.into()),
            }
        }
        if created {
            self.notify_customer(&ticket).await;
        }
        Ok((ticket, created))
    }

    /// The ticket a conversation became, if any.
    pub async fn of_conversation(&self, conv: ConversationId) -> TicketResult<TicketRecord> {
        self.chat
            .store()
            .ticket_for_conversation(conv)
            .await?
            .ok_or(TicketError::NotFound)
    }
}

#[cfg(test)]
mod tests {
    use super::subject_of;

    #[test]
    fn a_subject_is_the_first_non_empty_line_cut_to_eighty_characters() {
        assert_eq!(
            subject_of("\n  Drucker streikt \nDetails"),
            "Drucker streikt"
        );
        let long = "x".repeat(100);
        let s = subject_of(&long);
        assert_eq!(s.chars().count(), 80);
        assert!(s.ends_with('…'));
    }
}
