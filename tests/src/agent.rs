//! An agent, as the console would be: logs in over REST, says hello with the token and a
//! resume list, then one method per action. Conversations it holds are tracked from the
//! frames it reads (`conversation_assigned` / `conversation_removed`).

use crate::relay::{AgentInfo, Relay};
use crate::ws::WsConn;
use crate::DEFAULT_TIMEOUT;
use anyhow::{anyhow, Result};
use switchboard_shared::{
    AgentCommand, AgentId, AgentRef, ClientMsgId, ConversationId, ConversationView, ErrorCode,
    EventKind, Load, Presence, QueueEntry, RemovalReason, ResumePoint, Seq, ServerFrame,
    PROTOCOL_VERSION,
};

/// What `agent_welcome` said.
#[derive(Debug, Clone)]
pub struct AgentWelcome {
    pub agent: AgentRef,
    pub load: Load,
    pub conversations: Vec<ConversationView>,
    pub queue: Vec<QueueEntry>,
    pub queue_total: u32,
}

pub struct AgentClient {
    pub conn: WsConn,
    pub info: AgentInfo,
    pub token: String,
    url: String,
    sent: u64,
    /// Random per client object, so two objects for the same person never reuse a client id.
    tag: u32,
}

impl AgentClient {
    /// Logs in, connects and says hello with an empty resume list.
    pub async fn connect(relay: &Relay, info: &AgentInfo) -> Result<(AgentClient, AgentWelcome)> {
        let login = relay.login(info).await?;
        let mut agent = Self::connect_with_token(relay, info, &login.token).await?;
        let welcome = agent.hello(Vec::new()).await?;
        Ok((agent, welcome))
    }

    /// Connects with a token but sends no hello yet.
    pub async fn connect_with_token(
        relay: &Relay,
        info: &AgentInfo,
        token: &str,
    ) -> Result<AgentClient> {
        let url = relay.ws_url("/ws/agent");
        let conn = WsConn::connect(&url, None, &info.name)
            .await
            .map_err(|e| anyhow!("{}: {e}", info.name))?;
        Ok(AgentClient {
            conn,
            info: info.clone(),
            token: token.to_string(),
            url,
            sent: 0,
            tag: rand::random(),
        })
    }

    pub fn id(&self) -> AgentId {
        self.info.id
    }

    pub async fn send_cmd(&mut self, cmd: &AgentCommand) -> Result<()> {
        self.conn.send_json(cmd).await
    }

    pub async fn raw_text(&mut self, text: impl Into<String>) -> Result<()> {
        self.conn.send_text(text).await
    }

    pub async fn raw_binary(&mut self, bytes: Vec<u8>) -> Result<()> {
        self.conn.send_binary(bytes).await
    }

    /// Sends hello with `resume` and waits for `agent_welcome`.
    pub async fn hello(&mut self, resume: Vec<ResumePoint>) -> Result<AgentWelcome> {
        let hello = AgentCommand::Hello {
            protocol: PROTOCOL_VERSION,
            token: self.token.clone(),
            resume,
        };
        self.send_cmd(&hello).await?;
        let frame = self
            .conn
            .expect("agent_welcome", DEFAULT_TIMEOUT, |f| {
                matches!(f, ServerFrame::AgentWelcome { .. })
            })
            .await?;
        let ServerFrame::AgentWelcome {
            agent,
            load,
            conversations,
            queue,
            queue_total,
            ..
        } = frame
        else {
            unreachable!()
        };
        Ok(AgentWelcome {
            agent,
            load,
            conversations,
            queue,
            queue_total,
        })
    }

    /// The highest `seq` this agent holds for a conversation.
    pub fn last_seq(&self, conversation: ConversationId) -> Seq {
        self.conn.held.get(&conversation).copied().unwrap_or(0)
    }

    /// The resume list the console would send: every conversation it holds events of.
    pub fn resume_points(&self) -> Vec<ResumePoint> {
        self.conn
            .held
            .iter()
            .map(|(c, s)| ResumePoint {
                conversation_id: *c,
                last_seq: *s,
            })
            .collect()
    }

    pub fn next_client_id(&mut self) -> ClientMsgId {
        self.sent += 1;
        ClientMsgId::try_from(format!(
            "agent{}-{:08x}-{}",
            self.info.id, self.tag, self.sent
        ))
        .expect("valid client id")
    }

    /// Sends a message and returns its `seq` once acknowledged as durable.
    pub async fn send(&mut self, conversation: ConversationId, body: &str) -> Result<Seq> {
        let client_id = self.next_client_id();
        let cmd = AgentCommand::Send {
            conversation_id: conversation,
            client_id: client_id.clone(),
            body: body.into(),
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
        let ServerFrame::Sent { seq, .. } = frame else {
            unreachable!()
        };
        Ok(seq)
    }

    /// Sends a command that must be refused; returns the error code.
    pub async fn refused(&mut self, cmd: &AgentCommand) -> Result<ErrorCode> {
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

    /// Waits for a durable event in `conversation`; returns `(seq, event)`.
    pub async fn expect_event(
        &mut self,
        conversation: ConversationId,
        what: &str,
        pred: impl Fn(&EventKind) -> bool,
    ) -> Result<(Seq, EventKind)> {
        let frame = self
            .conn
            .expect(what, DEFAULT_TIMEOUT, |f| {
                matches!(f, ServerFrame::Event { conversation_id, event, .. } if *conversation_id == conversation && pred(event))
            })
            .await?;
        let ServerFrame::Event { seq, event, .. } = frame else {
            unreachable!()
        };
        Ok((seq, event))
    }

    /// Waits for the next `conversation_assigned`.
    pub async fn expect_assigned(&mut self) -> Result<ConversationView> {
        let frame = self
            .expect("conversation_assigned", |f| {
                matches!(f, ServerFrame::ConversationAssigned { .. })
            })
            .await?;
        let ServerFrame::ConversationAssigned { conversation } = frame else {
            unreachable!()
        };
        Ok(conversation)
    }

    /// Waits for `conversation_removed` of `conversation`; returns the reason.
    pub async fn expect_removed(&mut self, conversation: ConversationId) -> Result<RemovalReason> {
        let frame = self
            .expect("conversation_removed", |f| {
                matches!(f, ServerFrame::ConversationRemoved { conversation_id, .. } if *conversation_id == conversation)
            })
            .await?;
        let ServerFrame::ConversationRemoved { reason, .. } = frame else {
            unreachable!()
        };
        Ok(reason)
    }

    /// Ends a chat and waits until the relay took it off this agent.
    pub async fn end(&mut self, conversation: ConversationId) -> Result<RemovalReason> {
        self.send_cmd(&AgentCommand::EndConversation {
            conversation_id: conversation,
        })
        .await?;
        self.expect_removed(conversation).await
    }

    /// Transfers a chat and waits until it is off this agent.
    pub async fn transfer(
        &mut self,
        conversation: ConversationId,
        to: AgentId,
    ) -> Result<RemovalReason> {
        self.send_cmd(&AgentCommand::Transfer {
            conversation_id: conversation,
            to_agent: to,
        })
        .await?;
        self.expect_removed(conversation).await
    }

    /// Sets presence and waits for the `load` frame that reflects it. Older `load` frames
    /// still in the inbox are dropped first so they cannot be mistaken for the answer.
    pub async fn set_presence(&mut self, presence: Presence) -> Result<Load> {
        let keep: Vec<ServerFrame> = self
            .conn
            .take_inbox()
            .into_iter()
            .filter(|f| !matches!(f, ServerFrame::Load(_)))
            .collect();
        for f in keep {
            self.conn.push_back(f);
        }
        self.send_cmd(&AgentCommand::SetPresence { presence })
            .await?;
        let frame = self
            .expect(
                "load with the new presence",
                |f| matches!(f, ServerFrame::Load(l) if l.presence == presence),
            )
            .await?;
        let ServerFrame::Load(load) = frame else {
            unreachable!()
        };
        Ok(load)
    }

    /// Points later reconnects at `relay`'s current address (its port changes on restart).
    pub fn follow(&mut self, relay: &Relay) {
        self.url = relay.ws_url("/ws/agent");
    }

    /// Drops the TCP connection without a close frame.
    pub fn cut(&mut self) {
        self.conn.cut();
    }

    /// Opens a new connection and says hello with the resume list of what it holds.
    pub async fn reconnect(&mut self) -> Result<AgentWelcome> {
        let held = std::mem::take(&mut self.conn.held);
        self.conn = WsConn::connect(&self.url, None, &self.info.name)
            .await
            .map_err(|e| anyhow!("{}: {e}", self.info.name))?;
        self.conn.held = held;
        let resume = self.resume_points();
        self.hello(resume).await
    }
}
