//! Tags: short free-form labels agents put on tickets to find them again. Stored lower
//! case and trimmed, so "Rückruf" and " rückruf " are one tag.

use super::{TicketError, TicketResult, Tickets};
use switchboard_shared::AgentId;
use switchboard_store::tickets::TicketEventKind;

/// Longest tag, in characters.
pub const MAX_TAG_CHARS: usize = 40;
/// Most tags on one ticket.
pub const MAX_TAGS: usize = 20;

/// The stored form of a tag, or why it is refused.
pub fn normalise_tag(raw: &str) -> TicketResult<String> {
    let tag = raw.trim().to_lowercase();
    if tag.is_empty() {
        return Err(TicketError::Invalid("a tag cannot be empty".into()));
    }
    if tag.chars().count() > MAX_TAG_CHARS {
        return Err(TicketError::Invalid(format!(
            "a tag has at most {MAX_TAG_CHARS} characters"
        )));
    }
    if tag.chars().any(char::is_control) {
        return Err(TicketError::Invalid(
            "a tag cannot contain control characters".into(),
        ));
    }
    Ok(tag)
}

impl Tickets {
    /// Replaces the ticket's tags; the change (if any) is in the history.
    pub async fn set_tags(
        &self,
        id: i64,
        by: AgentId,
        raw: &[String],
    ) -> TicketResult<Vec<String>> {
        if raw.len() > MAX_TAGS {
            return Err(TicketError::Invalid(format!(
                "a ticket has at most {MAX_TAGS} tags"
            )));
        }
        let mut tags = raw
            .iter()
            .map(|t| normalise_tag(t))
            .collect::<TicketResult<Vec<_>>>()?;
        tags.sort();
        tags.dedup();
        let store = self.chat.store();
        let before = store.ticket_tags(id).await?;
        if before == tags {
            return Ok(tags);
        }
        // The history entry goes through the versioned change, so a missing ticket is
        // refused before any tag is written.
        let to = tags.clone();
        self.modify(id, Some(by), |_, c, _, _| {
            c.events.push(TicketEventKind::TagsChanged {
                from: before.clone(),
                to: to.clone(),
            });
            Ok(())
        })
        .await?;
        store.set_ticket_tags(id, tags.clone()).await?;
        Ok(tags)
    }

    pub async fn tags(&self, id: i64) -> TicketResult<Vec<String>> {
        self.get(id).await?;
        Ok(self.chat.store().ticket_tags(id).await?)
    }
}
