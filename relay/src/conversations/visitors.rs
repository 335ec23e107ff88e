//! Visitor identity: an opaque random token kept by the widget, stored only as a hash.

use super::{Chat, ChatResult};
use crate::auth;
use crate::clock::now_ms;
use switchboard_shared::{ConversationView, ErrorCode};
use switchboard_store::{ConversationRecord, VisitorId};

#[derive(Debug, Clone)]
pub struct VisitorIdentity {
    pub id: VisitorId,
    pub site: String,
    /// Set when the relay issued a new token: sent to the client once.
    pub new_token: Option<String>,
}

impl Chat {
    /// Finds the visitor behind `token`, or makes a new visitor when there is no token.
    /// A token that is unknown or belongs to another site is refused, not silently
    /// replaced, so the widget can tell the visitor's history is gone.
    pub async fn identify_visitor(
        &self,
        site: &str,
        token: Option<&str>,
    ) -> ChatResult<VisitorIdentity> {
        let now = now_ms();
        match token {
            Some(token) => {
                let visitor = self
                    .store()
                    .visitor_by_token(auth::token_hash(token))
                    .await?
                    .filter(|v| v.site_id == site)
                    .ok_or(ErrorCode::InvalidToken)?;
                self.store().touch_visitor(visitor.id, now).await?;
                Ok(VisitorIdentity {
                    id: visitor.id,
                    site: visitor.site_id,
                    new_token: None,
                })
            }
            None => {
                let (text, hash) = auth::new_token()?;
                let visitor = self.store().create_visitor(site, hash, now).await?;
                Ok(VisitorIdentity {
                    id: visitor.id,
                    site: visitor.site_id,
                    new_token: Some(text),
                })
            }
        }
    }

    /// The visitor's conversation within the resume window, if any (of any status, so a
    /// reload after the end still shows the transcript).
    pub async fn visitor_conversation(
        &self,
        visitor: VisitorId,
    ) -> ChatResult<Option<ConversationRecord>> {
        let window = i64::try_from(self.inner.cfg.visitor_resume.as_millis()).unwrap_or(i64::MAX);
        let since = now_ms().saturating_sub(window);
        Ok(self
            .store()
            .latest_conversation_for_visitor(visitor, since)
            .await?)
    }

    /// Agents taking chats of `site` now.
    pub fn agents_online(&self, site: &str) -> u32 {
        self.router().agents_online(site)
    }

    /// Queue position and estimate of a queued conversation.
    pub fn queue_position(
        &self,
        conv: switchboard_shared::ConversationId,
    ) -> Option<(u32, Option<u32>)> {
        let r = self.router();
        let pos = r.position_of(conv)?;
        let site = &r.live(conv)?.site;
        Some((pos, r.estimate_secs(pos, site)))
    }

    /// The client-facing view of a stored conversation, with the agent's display name.
    pub fn view(&self, rec: &ConversationRecord) -> ConversationView {
        let agent = rec.agent_id.map(|id| switchboard_shared::AgentRef {
            id,
            name: self.router().agent_name(id).unwrap_or("").to_string(),
        });
        ConversationView {
            id: rec.id,
            site: rec.site_id.clone(),
            status: rec.status,
            visitor: rec.info.clone(),
            agent,
            last_seq: rec.last_seq,
            created_at: rec.created_at,
        }
    }
}
