//! A visitor, as the widget would be: one method per action, each waiting (with a timeout)
//! for the relay's answer. It remembers its token and the highest `seq` it holds, so
//! `reconnect` resumes the way the widget does after a dropped connection.

use crate::relay::Relay;
use crate::ws::{ConnectError, WsConn};
use crate::{DEFAULT_TIMEOUT, SITE, SITE_ORIGIN};
use anyhow::{anyhow, bail, Result};
use serde_json::json;
use switchboard_shared::{
    AgentRef, ClientMsgId, ConversationId, ConversationView, ErrorCode, EventKind, Seq,
    ServerFrame, VisitorCommand, PROTOCOL_VERSION,
};

/// What `visitor_welcome` said.
#[derive(Debug, Clone)]
pub struct VisitorWelcome {
    pub token_issued: bool,
    pub conversation: Option<ConversationView>,
    pub agents_online: u32,
}

pub struct VisitorClient {
    pub conn: WsConn,
    url: String,
    origin: String,
    pub name: String,
    /// The site named in `hello` ([`SITE`] unless a test changes it).
    pub site: String,
    pub token: Option<String>,
    pub conversation: Option<ConversationId>,
    sent: u64,
    /// Random per client object, so two objects for the same person never reuse a client id.
    tag: u32,
}

impl VisitorClient {
    /// Opens `/ws/visitor` from the site's origin; no hello yet.
    pub async fn connect(relay: &Relay, name: &str) -> Result<VisitorClient> {
        Self::connect_from(relay, name, SITE_ORIGIN)
            .await
            .map_err(|e| anyhow!("{name}: {e}"))
    }

    /// Opens `/ws/visitor` with a chosen `Origin` header.
    pub async fn connect_from(
        relay: &Relay,
        name: &str,
        origin: &str,
    ) -> Result<VisitorClient, ConnectError> {
        let url = relay.ws_url("/ws/visitor");
        let conn = WsConn::connect(&url, Some(origin), name).await?;
        let mut v = Self::from_conn(relay, name, conn);
        v.origin = origin.to_string();
        Ok(v)
    }

    /// A visitor on a connection opened elsewhere (e.g. from another address) to
    /// `/ws/visitor` with the site's origin; no hello yet.
    pub fn from_conn(relay: &Relay, name: &str, conn: WsConn) -> VisitorClient {
        VisitorClient {
            conn,
            url: relay.ws_url("/ws/visitor"),
            origin: SITE_ORIGIN.to_string(),
            name: name.to_string(),
            site: SITE.to_string(),
            token: None,
            conversation: None,
            sent: 0,
            tag: rand::random(),
        }
    }

    /// Connects and says hello (a first visit: a token is issued).
    pub async fn greeted(relay: &Relay, name: &str) -> Result<VisitorClient> {
        let mut v = Self::connect(relay, name).await?;
        v.hello().await?;
        Ok(v)
    }

    /// Connects, says hello and starts a conversation; returns once `Started` arrived.
    pub async fn started(relay: &Relay, name: &str) -> Result<VisitorClient> {
        let mut v = Self::greeted(relay, name).await?;
        v.start().await?;
        Ok(v)
    }

    /// The highest `seq` this visitor holds for its conversation.
    pub fn last_seq(&self) -> Seq {
        self.conversation
            .and_then(|c| self.conn.held.get(&c).copied())
            .unwrap_or(0)
    }

    pub fn conversation_id(&self) -> Result<ConversationId> {
        self.conversation
            .ok_or_else(|| anyhow!("{} has no conversation", self.name))
    }

    pub async fn send_cmd(&mut self, cmd: &VisitorCommand) -> Result<()> {
        self.conn.send_json(cmd).await
    }

    pub async fn raw_text(&mut self, text: impl Into<String>) -> Result<()> {
        self.conn.send_text(text).await
    }

    pub async fn raw_binary(&mut self, bytes: Vec<u8>) -> Result<()> {
        self.conn.send_binary(bytes).await
    }

    /// Sends hello with the token and `last_seq` it holds, waits for `visitor_welcome`.
    pub async fn hello(&mut self) -> Result<VisitorWelcome> {
        let last_seq = self.conversation.map(|_| self.last_seq());
        let hello = VisitorCommand::Hello {
            protocol: PROTOCOL_VERSION,
            site: self.site.clone(),
            token: self.token.clone(),
            last_seq,
            locale: None,
        };
        self.send_cmd(&hello).await?;
        let frame = self
            .conn
            .expect("visitor_welcome", DEFAULT_TIMEOUT, |f| {
                matches!(f, ServerFrame::VisitorWelcome { .. })
            })
            .await?;
        let ServerFrame::VisitorWelcome {
            token,
            conversation,
            agents_online,
            ..
        } = frame
        else {
            unreachable!()
        };
        let token_issued = token.is_some();
        if token.is_some() {
            self.token = token;
        }
        if self.token.is_none() {
            bail!(
                "{}: the relay issued no visitor token on a first visit",
                self.name
            );
        }
        if let Some(view) = &conversation {
            self.conversation = Some(view.id);
        }
        Ok(VisitorWelcome {
            token_issued,
            conversation,
            agents_online,
        })
    }

    /// Asks for a chat; returns the conversation id once the `Started` event arrived.
    pub async fn start(&mut self) -> Result<ConversationId> {
        self.start_with(json!({"type": "start_conversation", "name": self.name}))
            .await
    }

    pub async fn start_with(&mut self, frame: serde_json::Value) -> Result<ConversationId> {
        self.conn.send_json(&frame).await?;
        let started = self
            .conn
            .expect("the Started event", DEFAULT_TIMEOUT, |f| {
                matches!(
                    f,
                    ServerFrame::Event {
                        event: EventKind::Started,
                        ..
                    }
                )
            })
            .await?;
        let ServerFrame::Event {
            conversation_id, ..
        } = started
        else {
            unreachable!()
        };
        self.conversation = Some(conversation_id);
        Ok(conversation_id)
    }

    pub fn next_client_id(&mut self) -> ClientMsgId {
        self.sent += 1;
        ClientMsgId::try_from(format!(
            "{}-{:08x}-{}",
            self.name.replace(' ', "_"),
            self.tag,
            self.sent
        ))
        .expect("valid client id")
    }

    /// Sends a message and returns its `seq` once the relay acknowledged it as durable.
    pub async fn send(&mut self, body: &str) -> Result<Seq> {
        let client_id = self.next_client_id();
        self.send_with_id(client_id, body).await.map(|(seq, _)| seq)
    }

    /// Sends with a chosen client id; returns `(seq, duplicate)` from the `sent` frame.
    pub async fn send_with_id(
        &mut self,
        client_id: ClientMsgId,
        body: &str,
    ) -> Result<(Seq, bool)> {
        let cmd = VisitorCommand::Send {
            client_id: client_id.clone(),
            body: body.to_string(),
        };
        self.send_cmd(&cmd).await?;
        let frame = self
            .conn
            .expect(
                &format!("sent for {client_id}"),
                DEFAULT_TIMEOUT,
                |f| matches!(f, ServerFrame::Sent { client_id: c, .. } if *c == client_id),
            )
            .await?;
        let ServerFrame::Sent { seq, duplicate, .. } = frame else {
            unreachable!()
        };
        Ok((seq, duplicate))
    }

    /// Sends a command that must be refused; returns the error code.
    pub async fn refused(&mut self, cmd: &VisitorCommand) -> Result<ErrorCode> {
        self.send_cmd(cmd).await?;
        Ok(self.conn.expect_error().await?.0)
    }

    pub async fn expect(
        &mut self,
        what: &str,
        pred: impl Fn(&ServerFrame) -> bool,
    ) -> Result<ServerFrame> {
        self.conn.expect(what, DEFAULT_TIMEOUT, pred).await
    }

    pub async fn next_frame(&mut self) -> Result<ServerFrame> {
        self.conn.next_frame().await
    }

    /// Waits for a durable event of a given kind in its conversation; returns `(seq, event)`.
    pub async fn expect_event(
        &mut self,
        what: &str,
        pred: impl Fn(&EventKind) -> bool,
    ) -> Result<(Seq, EventKind)> {
        let frame = self
            .conn
            .expect(
                what,
                DEFAULT_TIMEOUT,
                |f| matches!(f, ServerFrame::Event { event, .. } if pred(event)),
            )
            .await?;
        let ServerFrame::Event { seq, event, .. } = frame else {
            unreachable!()
        };
        Ok((seq, event))
    }

    /// Waits until an agent joins; returns that agent.
    pub async fn expect_agent_joined(&mut self) -> Result<AgentRef> {
        let (_, event) = self
            .expect_event("AgentJoined", |e| {
                matches!(e, EventKind::AgentJoined { .. })
            })
            .await?;
        let EventKind::AgentJoined { agent } = event else {
            unreachable!()
        };
        Ok(agent)
    }

    /// Waits for a `queue` frame and returns the position.
    pub async fn expect_queue_position(&mut self) -> Result<u32> {
        let frame = self
            .expect("a queue frame", |f| matches!(f, ServerFrame::Queue { .. }))
            .await?;
        let ServerFrame::Queue { position, .. } = frame else {
            unreachable!()
        };
        Ok(position)
    }

    /// Ends the conversation and waits for the `Ended` event.
    pub async fn end(&mut self) -> Result<Seq> {
        self.send_cmd(&VisitorCommand::EndConversation {
            conversation_id: None,
        })
        .await?;
        let (seq, _) = self
            .expect_event("Ended", |e| matches!(e, EventKind::Ended { .. }))
            .await?;
        Ok(seq)
    }

    /// Points later reconnects at `relay`'s current address (its port changes on restart).
    pub fn follow(&mut self, relay: &Relay) {
        self.url = relay.ws_url("/ws/visitor");
    }

    /// Drops the TCP connection without a close frame.
    pub fn cut(&mut self) {
        self.conn.cut();
    }

    /// Opens a new connection and resumes with token and `last_seq`.
    pub async fn reconnect(&mut self) -> Result<VisitorWelcome> {
        let held = std::mem::take(&mut self.conn.held);
        self.conn = WsConn::connect(&self.url, Some(&self.origin), &self.name)
            .await
            .map_err(|e| anyhow!("{}: {e}", self.name))?;
        self.conn.held = held;
        self.hello().await
    }
}
