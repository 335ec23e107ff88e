//! `/ws/visitor`: what each visitor frame does. Visitors see only their own conversation:
//! the endpoint never takes a conversation id from the client.

use super::connection::{Conn, Endpoint};
use crate::clock::now_ms;
use crate::conversations::{ChatError, ChatResult, VisitorIdentity};
use crate::fanout::{Delivery, Party};
use crate::tickets::{TicketError, Tickets};
use std::sync::Arc;
use switchboard_shared::text::{parse_field, parse_url_field, MessageBody};
use switchboard_shared::{
    ClientMsgId, ConversationId, ConversationStatus, ErrorCode, ServerFrame, Side, SiteSettings,
    VisitorCommand, VisitorInfo, AGENT_ONLY_TYPES, PROTOCOL_VERSION, VISITOR_TYPES,
};
use tokio::sync::mpsc;

pub struct VisitorEndpoint {
    visitor: VisitorIdentity,
    locale: Option<String>,
    /// The User-Agent of this connection's upgrade, stored with conversations it starts.
    browser: Option<String>,
}

/// Is `origin` allowed to embed `allowed`'s site? Exact match, or any localhost origin in
/// development mode.
pub fn origin_allowed(origin: Option<&str>, allowed: &[String], dev: bool) -> bool {
    let Some(origin) = origin else { return false };
    if allowed.iter().any(|a| a == origin || a == "*") {
        return true;
    }
    dev && ["http://localhost", "http://127.0.0.1", "http://[::1]"]
        .iter()
        .any(|h| {
            origin == *h
                || origin
                    .strip_prefix(h)
                    .is_some_and(|rest| rest.starts_with(':'))
        })
}

fn info_from(
    name: Option<&str>,
    email: Option<&str>,
    customer_number: Option<&str>,
    page_url: Option<&str>,
    locale: Option<String>,
    browser: Option<String>,
) -> Result<VisitorInfo, ErrorCode> {
    Ok(VisitorInfo {
        name: parse_field(name)?,
        email: parse_field(email)?,
        customer_number: parse_field(customer_number)?,
        page_url: parse_url_field(page_url)?,
        locale,
        browser,
    })
}

/// What the widget needs of a site: its name, pre-chat fields and appearance.
fn site_settings(site: &switchboard_store::SiteRecord) -> SiteSettings {
    let o = &site.options;
    SiteSettings {
        name: site.name.clone(),
        prechat: site.prechat,
        accent: o.accent.clone(),
        position: Some(o.position),
        greeting: o.greeting.clone(),
        offline_behaviour: Some(o.offline_behaviour),
        queue_offer_message_after_secs: Some(o.queue_offer_message_after_secs),
        closed: false,
    }
}

impl VisitorEndpoint {
    /// The conversation this connection shows: the newest it follows.
    fn current(conn: &Conn) -> Option<ConversationId> {
        conn.subs.keys().max().copied()
    }

    /// The current conversation, if it is still open and the visitor's.
    fn open(&self, conn: &Conn) -> ChatResult<ConversationId> {
        let conv = Self::current(conn).ok_or(ErrorCode::NoConversation)?;
        if conn.chat.visitor_owns(self.visitor.id, conv) {
            Ok(conv)
        } else {
            Err(ErrorCode::ConversationEnded.into())
        }
    }
}

impl Endpoint for VisitorEndpoint {
    const AGENT: bool = false;
    type Command = VisitorCommand;
    const TYPES: &'static [&'static str] = VISITOR_TYPES;
    const FOREIGN_TYPES: &'static [&'static str] = AGENT_ONLY_TYPES;

    fn is_hello(cmd: &VisitorCommand) -> bool {
        matches!(cmd, VisitorCommand::Hello { .. })
    }

    fn client_id(cmd: &VisitorCommand) -> Option<&ClientMsgId> {
        cmd.client_id()
    }

    async fn greet(
        conn: &mut Conn,
        hello: VisitorCommand,
    ) -> Result<(Self, mpsc::Receiver<Delivery>), ChatError> {
        let VisitorCommand::Hello {
            protocol,
            site,
            token,
            last_seq,
            locale,
        } = hello
        else {
            return Err(ErrorCode::HelloRequired.into());
        };
        if protocol != PROTOCOL_VERSION {
            return Err(ErrorCode::UnsupportedVersion.into());
        }
        let site = conn.chat.site(&site).await?.ok_or(ErrorCode::UnknownSite)?;
        if !origin_allowed(
            conn.ctx.origin.as_deref(),
            &site.allowed_origins,
            conn.ctx.dev,
        ) {
            tracing::warn!(site = %site.id, origin = ?conn.ctx.origin, "visitor origin refused");
            return Err(ErrorCode::OriginNotAllowed.into());
        }
        let locale = parse_field(locale.as_deref())?;
        let mut visitor = conn
            .chat
            .identify_visitor(&site.id, token.as_deref())
            .await?;
        let site_key: Arc<str> = site.id.as_str().into();
        let (conn_id, rx) = conn
            .chat
            .hub()
            .register_on(Party::Visitor(visitor.id), Some(site_key.clone()));
        conn.count_against(Party::Visitor(visitor.id), Some(site_key));
        conn.conn_id = Some(conn_id);
        // A visitor made just now has no conversation and no tickets yet: a first visit (most
        // connections) skips both reads.
        let returning = visitor.new_token.is_none();
        let conversation = if returning {
            conn.chat.visitor_conversation(visitor.id).await?
        } else {
            None
        };
        let gone = || ChatError::Refused(ErrorCode::Internal);
        // Outside the site's hours the widget offers the offline form, like with nobody online.
        let closed = Tickets::new(&conn.chat)
            .chat_closed(&site, now_ms())
            .await
            .map_err(|_| gone())?;
        let welcome = ServerFrame::VisitorWelcome {
            protocol: PROTOCOL_VERSION,
            // Sent once; not kept for the life of the connection.
            token: visitor.new_token.take(),
            conversation: conversation.as_ref().map(|c| conn.chat.view(c)),
            agents_online: if closed {
                0
            } else {
                conn.chat.agents_online(&site.id)
            },
            site: SiteSettings {
                closed,
                ..site_settings(&site)
            },
        };
        conn.send(&welcome).await.map_err(|_| gone())?;
        if let Some(c) = conversation {
            conn.follow(c.id, last_seq.unwrap_or(0).min(c.last_seq))
                .await
                .map_err(|_| gone())?;
            if c.status == ConversationStatus::Queued {
                if let Some((position, estimated_wait_secs)) = conn.chat.queue_position(c.id) {
                    let frame = ServerFrame::Queue {
                        conversation_id: c.id,
                        position,
                        estimated_wait_secs,
                    };
                    conn.send(&frame).await.map_err(|_| gone())?;
                }
            }
        }
        // Replies to their tickets wait for them here (the list is pushed again on change).
        let tickets = if returning {
            Tickets::new(&conn.chat)
                .for_visitor(visitor.id)
                .await
                .map_err(|_| gone())?
        } else {
            Vec::new()
        };
        if !tickets.is_empty() {
            conn.send(&ServerFrame::Tickets { tickets })
                .await
                .map_err(|_| gone())?;
        }
        let browser = conn.ctx.user_agent.clone();
        Ok((
            VisitorEndpoint {
                visitor,
                locale,
                browser,
            },
            rx,
        ))
    }

    async fn handle(&mut self, conn: &mut Conn, cmd: VisitorCommand) -> ChatResult<()> {
        match cmd {
            VisitorCommand::Hello { .. } => Err(ErrorCode::AlreadyGreeted.into()),
            VisitorCommand::StartConversation {
                name,
                email,
                customer_number,
                page_url,
            } => {
                let info = info_from(
                    name.as_deref(),
                    email.as_deref(),
                    customer_number.as_deref(),
                    page_url.as_deref(),
                    self.locale.clone(),
                    self.browser.clone(),
                )?;
                // Read again: the admin may have changed the site since the welcome.
                let site = conn
                    .chat
                    .site(&self.visitor.site)
                    .await?
                    .ok_or(ErrorCode::UnknownSite)?;
                let closed = Tickets::new(&conn.chat)
                    .chat_closed(&site, now_ms())
                    .await
                    .map_err(|_| ChatError::Refused(ErrorCode::Internal))?;
                if closed {
                    return Err(ErrorCode::OutsideBusinessHours.into());
                }
                let conv = conn.chat.start_conversation(&self.visitor, info).await?;
                // Follow at once (the hub's Follow also arrives; following twice is harmless).
                conn.follow(conv, 0)
                    .await
                    .map_err(|_| ErrorCode::Internal)?;
                Ok(())
            }
            VisitorCommand::Send { client_id, body } => {
                let body = MessageBody::parse(&body)?;
                let conv = self.open(conn)?;
                let (seq, duplicate) = conn
                    .chat
                    .store_message(
                        conv,
                        switchboard_shared::Author::Visitor,
                        Side::Visitor,
                        client_id.clone(),
                        body,
                    )
                    .await?;
                conn.acknowledge(client_id, conv, seq, duplicate).await
            }
            VisitorCommand::LeaveMessage {
                client_id,
                body,
                name,
                email,
                customer_number,
            } => {
                let body = MessageBody::parse(&body)?;
                let info = info_from(
                    name.as_deref(),
                    email.as_deref(),
                    customer_number.as_deref(),
                    None,
                    self.locale.clone(),
                    self.browser.clone(),
                )?;
                let (conv, seq, duplicate) = conn
                    .chat
                    .leave_message(&self.visitor, info, client_id.clone(), body)
                    .await?;
                conn.follow(conv, 0)
                    .await
                    .map_err(|_| ErrorCode::Internal)?;
                conn.acknowledge(client_id, conv, seq, duplicate).await
            }
            VisitorCommand::Typing { active } => {
                let conv = self.open(conn)?;
                if conn.typing_allowed(conv, active) {
                    conn.chat.typing(conv, Side::Visitor, active);
                }
                Ok(())
            }
            VisitorCommand::Ack { seq } => {
                let conv = Self::current(conn).ok_or(ErrorCode::NoConversation)?;
                let (delivered, read) = conn.receipt(conv, Some(seq), None)?;
                conn.chat
                    .receipt(conv, Side::Visitor, delivered, read)
                    .await
            }
            VisitorCommand::Read { seq } => {
                let conv = Self::current(conn).ok_or(ErrorCode::NoConversation)?;
                let (delivered, read) = conn.receipt(conv, None, Some(seq))?;
                conn.chat
                    .receipt(conv, Side::Visitor, delivered, read)
                    .await
            }
            VisitorCommand::EndConversation { conversation_id } => {
                let conv = self.open(conn)?;
                // Naming a conversation is allowed only to name one's own: a foreign id ends
                // nothing (the sender's own chat included).
                if conversation_id.is_some_and(|named| named != conv) {
                    return Err(ErrorCode::UnknownConversation.into());
                }
                conn.chat.end_conversation(conv, Side::Visitor).await
            }
            VisitorCommand::Rate { score, comment } => {
                if !(1..=5).contains(&score) {
                    return Err(ErrorCode::InvalidField.into());
                }
                let comment = match comment.as_deref().map(str::trim).filter(|c| !c.is_empty()) {
                    Some(c) => Some(MessageBody::parse(c)?.into_string()),
                    None => None,
                };
                let conv = Self::current(conn).ok_or(ErrorCode::NoConversation)?;
                conn.chat.rate(self.visitor.id, conv, score, comment).await
            }
            VisitorCommand::RateTicket {
                ticket_id,
                score,
                comment,
            } => {
                if !(1..=5).contains(&score) {
                    return Err(ErrorCode::InvalidField.into());
                }
                let comment = match comment.as_deref().map(str::trim).filter(|c| !c.is_empty()) {
                    Some(c) => Some(MessageBody::parse(c)?.into_string()),
                    None => None,
                };
                // Not theirs, not resolved, rated before: one answer, as for chats.
                Tickets::new(&conn.chat)
                    .rate(self.visitor.id, ticket_id, score, comment)
                    .await
                    .map_err(|e| match e {
                        TicketError::NotFound | TicketError::Invalid(_) => {
                            ChatError::Refused(ErrorCode::NotRatable)
                        }
                        other => {
                            tracing::warn!(error = %other, "ticket rating failed");
                            ChatError::Refused(ErrorCode::Internal)
                        }
                    })
            }
            VisitorCommand::Ping {} => {
                conn.send(&ServerFrame::Pong)
                    .await
                    .map_err(|_| ErrorCode::Internal)?;
                Ok(())
            }
        }
    }

    async fn closed(self, conn: &mut Conn) {
        if let Some(id) = conn.conn_id.take() {
            conn.chat.hub().unregister(id);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::origin_allowed;

    #[test]
    fn only_listed_origins_pass_and_localhost_only_in_dev() {
        let allowed = vec!["https://shop.example".to_string()];
        assert!(origin_allowed(
            Some("https://shop.example"),
            &allowed,
            false
        ));
        assert!(!origin_allowed(
            Some("https://evil.example"),
            &allowed,
            false
        ));
        assert!(!origin_allowed(None, &allowed, true));
        assert!(!origin_allowed(
            Some("http://localhost:8080"),
            &allowed,
            false
        ));
        assert!(origin_allowed(
            Some("http://localhost:8080"),
            &allowed,
            true
        ));
        assert!(!origin_allowed(
            Some("http://localhost.evil.example"),
            &allowed,
            true
        ));
    }
}
