//! Chats that become tickets: a message left while nobody could chat (`left_message`), and
//! a chat that ended unresolved (`ended`, when the site says so). Conversion is idempotent
//! per conversation, and the ticket's `ticket.created` webhook is stored before the reader
//! moves on: after a crash at any point there is exactly one ticket and one delivery.

use super::{ReadError, Reader};
use crate::conversations::Chat;
use crate::tickets::conversion;
use async_trait::async_trait;
use switchboard_shared::{Author, EventKind};
use switchboard_store::LogEntry;

pub struct TicketConversion {
    pub chat: Chat,
}

/// The event kinds this reader handles.
pub const KINDS: &[&str] = &["ended", "left_message"];

#[async_trait]
impl Reader for TicketConversion {
    fn name(&self) -> &'static str {
        "tickets.conversion"
    }

    fn kinds(&self) -> &'static [&'static str] {
        KINDS
    }

    async fn handle(&self, entry: &LogEntry) -> Result<(), ReadError> {
        let conv = entry.event.conversation_id;
        let store = self.chat.store();
        match entry.event.event {
            EventKind::Ended { .. } => {
                let Some(rec) = store.conversation(conv).await? else {
                    return Ok(());
                };
                // Requeueing clears the agent: none at the end means it ended in the queue.
                let ended_in_queue = rec.agent_id.is_none();
                conversion::unresolved_chat_ticket(&self.chat, conv, ended_in_queue).await?;
            }
            EventKind::LeftMessage => {
                // The visitor's message that the `left_message` event follows.
                let events = store.all_events(conv).await?;
                let text = events
                    .iter()
                    .take_while(|e| e.seq < entry.event.seq)
                    .filter_map(|e| match &e.event {
                        EventKind::Message {
                            author: Author::Visitor,
                            body,
                            ..
                        } => Some(body.as_str()),
                        _ => None,
                    })
                    .last()
                    .unwrap_or_default()
                    .to_string();
                conversion::offline_message_ticket(&self.chat, conv, &text).await?;
            }
            _ => {}
        }
        Ok(())
    }
}
