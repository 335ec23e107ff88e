//! Webhook events for conversations (`conversation.started`, `conversation.ended`), stored in
//! the outbox from the committed events, so a crash right after a chat began or ended
//! still sends them.

use super::{ReadError, Reader};
use crate::webhooks::{Emission, EventType};
use async_trait::async_trait;
use switchboard_shared::EventKind;
use switchboard_store::LogEntry;

pub struct ConversationWebhooks {
    pub events: crate::webhooks::Events,
}

/// The event kinds this reader handles.
pub const KINDS: &[&str] = &["started", "ended"];

#[async_trait]
impl Reader for ConversationWebhooks {
    fn name(&self) -> &'static str {
        "webhooks.conversations"
    }

    fn kinds(&self) -> &'static [&'static str] {
        KINDS
    }

    async fn handle(&self, entry: &LogEntry) -> Result<(), ReadError> {
        let kind = match entry.event.event {
            EventKind::Started => EventType::ConversationStarted,
            EventKind::Ended { .. } => EventType::ConversationEnded,
            _ => return Ok(()),
        };
        let conversation = entry.event.conversation_id;
        self.events
            .record_now(Emission::Conversation(kind, conversation))
            .await?;
        Ok(())
    }
}
