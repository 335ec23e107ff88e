//! `/ws/agent`: what each agent frame does. An agent acts only on conversations the router
//! says are theirs; anything else is `unknown_conversation`, whether or not it exists.

use super::connection::{Conn, Endpoint};
use crate::auth;
use crate::conversations::{ChatError, ChatResult};
use crate::fanout::{Delivery, Party};
use std::collections::HashMap;
use switchboard_shared::text::MessageBody;
use switchboard_shared::{
    AgentCommand, AgentId, AgentRef, Author, ClientMsgId, ConversationId, ErrorCode, ServerFrame,
    Side, AGENT_TYPES, PROTOCOL_VERSION, VISITOR_ONLY_TYPES,
};
use tokio::sync::mpsc;

pub struct AgentEndpoint {
    me: AgentRef,
    session: [u8; 32],
}

impl AgentEndpoint {
    fn owned(&self, conn: &Conn, conv: ConversationId) -> ChatResult<()> {
        if conn.chat.agent_owns(self.me.id, conv) {
            Ok(())
        } else {
            Err(ErrorCode::UnknownConversation.into())
        }
    }
}

impl Endpoint for AgentEndpoint {
    const AGENT: bool = true;
    type Command = AgentCommand;
    const TYPES: &'static [&'static str] = AGENT_TYPES;
    const FOREIGN_TYPES: &'static [&'static str] = VISITOR_ONLY_TYPES;

    fn is_hello(cmd: &AgentCommand) -> bool {
        matches!(cmd, AgentCommand::Hello { .. })
    }

    fn client_id(cmd: &AgentCommand) -> Option<&ClientMsgId> {
        cmd.client_id()
    }

    async fn greet(
        conn: &mut Conn,
        hello: AgentCommand,
    ) -> Result<(Self, mpsc::Receiver<Delivery>), ChatError> {
        let AgentCommand::Hello {
            protocol,
            token,
            resume,
        } = hello
        else {
            return Err(ErrorCode::HelloRequired.into());
        };
        if protocol != PROTOCOL_VERSION {
            return Err(ErrorCode::UnsupportedVersion.into());
        }
        let agent = conn.chat.agent_for_token(&token).await?;
        let (conn_id, rx) = conn.chat.hub().register(Party::Agent(agent.id));
        conn.count_against(Party::Agent(agent.id), None);
        conn.conn_id = Some(conn_id);
        let chats = conn.chat.agent_connected(&agent);
        let me = AgentRef {
            id: agent.id,
            name: agent.display_name.clone(),
        };
        let endpoint = AgentEndpoint {
            me: me.clone(),
            session: auth::token_hash(&token),
        };
        // From here on the agent counts as connected: any failure must undo that.
        match greet_connected(conn, &chats, me, resume).await {
            Ok(()) => {
                conn.chat.agent_ready(agent.id).await;
                Ok((endpoint, rx))
            }
            Err(e) => {
                endpoint.closed(conn).await;
                Err(e)
            }
        }
    }

    fn session_hash(&self) -> Option<[u8; 32]> {
        Some(self.session)
    }

    async fn handle(&mut self, conn: &mut Conn, cmd: AgentCommand) -> ChatResult<()> {
        let me = self.me.id;
        match cmd {
            AgentCommand::Hello { .. } => Err(ErrorCode::AlreadyGreeted.into()),
            AgentCommand::SetPresence { presence } => {
                conn.chat.set_presence(me, presence).await;
                Ok(())
            }
            AgentCommand::Send {
                conversation_id,
                client_id,
                body,
            } => {
                let body = MessageBody::parse(&body)?;
                self.owned(conn, conversation_id)?;
                let author = Author::Agent {
                    id: me,
                    name: self.me.name.clone(),
                };
                let (seq, duplicate) = conn
                    .chat
                    .store_message(
                        conversation_id,
                        author,
                        Side::Agent,
                        client_id.clone(),
                        body,
                    )
                    .await?;
                conn.acknowledge(client_id, conversation_id, seq, duplicate)
                    .await
            }
            AgentCommand::Typing {
                conversation_id,
                active,
            } => {
                self.owned(conn, conversation_id)?;
                if conn.typing_allowed(conversation_id, active) {
                    conn.chat.typing(conversation_id, Side::Agent, active);
                }
                Ok(())
            }
            AgentCommand::Ack {
                conversation_id,
                seq,
            } => {
                self.owned(conn, conversation_id)?;
                let (delivered, read) = conn.receipt(conversation_id, Some(seq), None)?;
                conn.chat
                    .receipt(conversation_id, Side::Agent, delivered, read)
                    .await
            }
            AgentCommand::Read {
                conversation_id,
                seq,
            } => {
                self.owned(conn, conversation_id)?;
                let (delivered, read) = conn.receipt(conversation_id, None, Some(seq))?;
                conn.chat
                    .receipt(conversation_id, Side::Agent, delivered, read)
                    .await
            }
            AgentCommand::Transfer {
                conversation_id,
                to_agent,
            } => {
                self.owned(conn, conversation_id)?;
                conn.chat.transfer(conversation_id, me, to_agent).await
            }
            AgentCommand::EndConversation { conversation_id } => {
                self.owned(conn, conversation_id)?;
                conn.chat
                    .end_conversation(conversation_id, Side::Agent)
                    .await
            }
            AgentCommand::Ping {} => {
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
            conn.chat.agent_disconnected(self.me.id);
        }
    }
}

/// Sends the welcome, then replays each held conversation from where the console was.
async fn greet_connected(
    conn: &mut Conn,
    chats: &[ConversationId],
    me: AgentRef,
    resume: Vec<switchboard_shared::ResumePoint>,
) -> ChatResult<()> {
    let gone = |_| ChatError::Refused(ErrorCode::Internal);
    let mut views = Vec::with_capacity(chats.len());
    let mut last_seqs = HashMap::new();
    for conv in chats {
        if let Some(rec) = conn.chat.store().conversation(*conv).await? {
            last_seqs.insert(rec.id, rec.last_seq);
            views.push(conn.chat.view(&rec));
        }
    }
    let id: AgentId = me.id;
    let load = conn.chat.load_of(id).ok_or(ErrorCode::Internal)?;
    let (queue, queue_total) = conn.chat.queue_head(id);
    let welcome = ServerFrame::AgentWelcome {
        protocol: PROTOCOL_VERSION,
        agent: me,
        load,
        conversations: views,
        queue,
        queue_total,
    };
    conn.send(&welcome).await.map_err(gone)?;
    let resume: HashMap<ConversationId, u64> = resume
        .into_iter()
        .map(|r| (r.conversation_id, r.last_seq))
        .collect();
    for conv in chats {
        let held = resume.get(conv).copied().unwrap_or(0);
        let after = held.min(last_seqs.get(conv).copied().unwrap_or(0));
        conn.follow(*conv, after).await.map_err(gone)?;
    }
    Ok(())
}
