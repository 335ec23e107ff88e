//! A conversation's life: started (queued), assigned, transferred, requeued, ended, or left
//! as a message. Every change takes the conversation's lifecycle lock, re-checks the
//! router, writes the event together with the new state in one store append, and only then
//! tells the clients. The agent's slot is freed only by `Router::finish`/`transfer`/
//! `grace_expired`, whatever path ends the chat.

use super::publish::encode;
use super::visitors::VisitorIdentity;
use super::{Chat, ChatResult};
use crate::clock::now_ms;
use crate::fanout::{Outbound, Party};
use crate::routing::LiveConversation;
use std::sync::Arc;
use switchboard_shared::text::MessageBody;
use switchboard_shared::{
    AgentId, AgentRef, ClientMsgId, ConversationId, ConversationStatus, ErrorCode, EventKind,
    RemovalReason, Seq, ServerFrame, Side, VisitorInfo,
};
use switchboard_store::{AppendRequest, Appended, ConversationUpdate, NewConversation, VisitorId};

type Lifecycle = Arc<tokio::sync::Mutex<()>>;

impl Chat {
    fn lifecycle_of(&self, conv: ConversationId) -> Option<Lifecycle> {
        self.router().live(conv).map(|l| l.lifecycle.clone())
    }

    fn agent_ref(&self, id: AgentId) -> AgentRef {
        AgentRef {
            id,
            name: self.router().agent_name(id).unwrap_or("").to_string(),
        }
    }

    async fn append(
        &self,
        conv: ConversationId,
        event: EventKind,
        update: ConversationUpdate,
    ) -> ChatResult<Appended> {
        let req = AppendRequest {
            conversation_id: conv,
            at: now_ms(),
            event,
            dedup: None,
            update,
        };
        Ok(self.store().append(req).await?)
    }

    /// Tells an agent's consoles that a conversation is theirs; they replay its history.
    async fn announce_assignment(&self, conv: ConversationId, agent: AgentId) -> ChatResult<()> {
        if let Some(rec) = self.store().conversation(conv).await? {
            let frame = encode(&ServerFrame::ConversationAssigned {
                conversation: self.view(&rec),
            });
            self.hub().send_party(
                Party::Agent(agent),
                Outbound::Follow {
                    conversation_id: conv,
                    announce: Some(frame),
                },
            );
        }
        self.send_load(agent);
        Ok(())
    }

    fn announce_removal(&self, conv: ConversationId, agent: AgentId, reason: RemovalReason) {
        let hub = self.hub();
        hub.unsubscribe_party(Party::Agent(agent), conv);
        let frame = encode(&ServerFrame::ConversationRemoved {
            conversation_id: conv,
            reason,
        });
        hub.send_party(
            Party::Agent(agent),
            Outbound::Unfollow {
                conversation_id: conv,
                frame,
            },
        );
        self.send_load(agent);
    }

    /// A visitor asks for a live chat: stored as queued, then routed.
    pub async fn start_conversation(
        &self,
        visitor: &VisitorIdentity,
        info: VisitorInfo,
    ) -> ChatResult<ConversationId> {
        // Intake is serialised: the existence check, the insert (which fixes the id) and the
        // enqueue happen as one step, so queue order is creation order (rank = id) even when
        // many visitors arrive at once, and two tabs cannot both open a conversation.
        let intake = self.inner.intake.lock().await;
        if let Some(c) = self.visitor_conversation(visitor.id).await? {
            if matches!(
                c.status,
                ConversationStatus::Queued | ConversationStatus::Active
            ) {
                return Err(ErrorCode::ConversationExists.into());
            }
        }
        let now = now_ms();
        let rec = self
            .store()
            .create_conversation(NewConversation {
                site_id: visitor.site.clone(),
                visitor_id: visitor.id,
                info: info.clone(),
                status: ConversationStatus::Queued,
                queue_rank: None,
                at: now,
            })
            .await?;
        let rank = rec.id.0;
        let live = LiveConversation::new(visitor.id, visitor.site.clone(), info, now, now);
        // Held until `Started` is stored, so no assignment can be stored before it.
        let lifecycle = live.lifecycle.clone().lock_owned().await;
        self.router().enqueue(rec.id, live, rank);
        drop(intake);
        self.hub().send_party(
            Party::Visitor(visitor.id),
            Outbound::Follow {
                conversation_id: rec.id,
                announce: None,
            },
        );
        let update = ConversationUpdate {
            queue_rank: Some(Some(rank)),
            queued_at: Some(Some(now)),
            ..Default::default()
        };
        let started = self.append(rec.id, EventKind::Started, update).await;
        drop(lifecycle);
        started?;
        self.rebalance().await;
        Ok(rec.id)
    }

    /// Assigns waiting visitors to free agents and makes each assignment durable, then
    /// updates everyone's view of the queue. Called after anything that can free capacity.
    pub(crate) async fn rebalance(&self) {
        let assignments = self.router().drain();
        for (conv, agent) in assignments {
            if let Err(e) = self.persist_assignment(conv, agent).await {
                tracing::error!(%conv, %agent, error = %e, "could not store an assignment");
            }
        }
        self.broadcast_queue();
    }

    async fn persist_assignment(&self, conv: ConversationId, agent: AgentId) -> ChatResult<()> {
        let Some(lock) = self.lifecycle_of(conv) else {
            return Ok(());
        };
        let _guard = lock.lock().await;
        let still_ours = self.router().live(conv).and_then(|l| l.agent) == Some(agent);
        if !still_ours {
            return Ok(());
        }
        let now = now_ms();
        let update = ConversationUpdate {
            status: Some(ConversationStatus::Active),
            agent_id: Some(Some(agent)),
            queue_rank: Some(None),
            assigned_at: Some(Some(now)),
            ..Default::default()
        };
        self.append(
            conv,
            EventKind::AgentJoined {
                agent: self.agent_ref(agent),
            },
            update,
        )
        .await?;
        self.router().mark_assigned_at(conv, now);
        self.announce_assignment(conv, agent).await
    }

    /// Moves a chat to another agent, only within the target's cap.
    pub async fn transfer(
        &self,
        conv: ConversationId,
        from: AgentId,
        to: AgentId,
    ) -> ChatResult<()> {
        let lock = self
            .lifecycle_of(conv)
            .ok_or(ErrorCode::UnknownConversation)?;
        let guard = lock.lock().await;
        self.router().transfer(conv, from, to)?;
        let event = EventKind::Transferred {
            from: self.agent_ref(from),
            to: self.agent_ref(to),
        };
        let update = ConversationUpdate {
            agent_id: Some(Some(to)),
            ..Default::default()
        };
        self.hub().unsubscribe_party(Party::Agent(from), conv);
        self.append(conv, event, update).await?;
        self.announce_removal(conv, from, RemovalReason::TransferredAway);
        self.announce_assignment(conv, to).await?;
        drop(guard);
        self.rebalance().await;
        Ok(())
    }

    /// Ends a chat (by either side). The caller has checked the actor may.
    pub async fn end_conversation(&self, conv: ConversationId, by: Side) -> ChatResult<()> {
        let lock = self
            .lifecycle_of(conv)
            .ok_or(ErrorCode::ConversationEnded)?;
        let guard = lock.lock().await;
        if self.router().live(conv).is_none() {
            return Err(ErrorCode::ConversationEnded.into());
        }
        let now = now_ms();
        let update = ConversationUpdate {
            status: Some(ConversationStatus::Ended),
            queue_rank: Some(None),
            ended_at: Some(Some(now)),
            ..Default::default()
        };
        self.append(conv, EventKind::Ended { by }, update).await?;
        crate::failpoint::hit("chat_ended");
        let finished = self.router().finish(conv);
        if let Some(live) = finished {
            if let Some(agent) = live.agent {
                if let Some(at) = live.assigned_at {
                    self.router().record_handle_time(now - at);
                }
                self.announce_removal(conv, agent, RemovalReason::Ended);
            }
        }
        drop(guard);
        self.rebalance().await;
        // Readers of the committed stream turn an unresolved chat into a ticket and send
        // `conversation.ended`; answer once they have (or after a while: they still will).
        self.stream().settled().await;
        Ok(())
    }

    /// After the grace period: the agent's chats go back to the front of the queue.
    pub(crate) async fn requeue_after_grace(&self, agent: AgentId, generation: u64) {
        // Take every lifecycle lock first, so no assignment of these chats can be stored
        // between the router's decision and the Requeued events.
        let chats = self.router().chats_of(agent);
        let locks: Vec<Lifecycle> = chats.iter().filter_map(|c| self.lifecycle_of(*c)).collect();
        let mut guards = Vec::with_capacity(locks.len());
        for l in &locks {
            guards.push(l.lock().await);
        }
        let now = now_ms();
        let from = self.agent_ref(agent);
        let requeued = self.router().grace_expired(agent, generation, now);
        for (conv, rank) in &requeued {
            self.hub().unsubscribe_party(Party::Agent(agent), *conv);
            let update = ConversationUpdate {
                status: Some(ConversationStatus::Queued),
                agent_id: Some(None),
                queue_rank: Some(Some(*rank)),
                queued_at: Some(Some(now)),
                assigned_at: Some(None),
                ..Default::default()
            };
            if let Err(e) = self
                .append(*conv, EventKind::Requeued { from: from.clone() }, update)
                .await
            {
                tracing::error!(%conv, error = %e, "could not store a requeue");
            }
        }
        if !requeued.is_empty() {
            tracing::info!(%agent, chats = requeued.len(), "grace period over; chats requeued at the front");
        }
        drop(guards);
        self.rebalance().await;
    }

    /// A message left while nobody could chat: stored on a conversation that waits for a
    /// ticket. A queued visitor who gives up waiting converts their conversation; resends
    /// (same client id) are stored once.
    pub async fn leave_message(
        &self,
        visitor: &VisitorIdentity,
        info: VisitorInfo,
        client_id: ClientMsgId,
        body: MessageBody,
    ) -> ChatResult<(ConversationId, Seq, bool)> {
        let existing = self.visitor_conversation(visitor.id).await?;
        let (conv, created) = match existing {
            Some(c) if c.status == ConversationStatus::Active => {
                return Err(ErrorCode::ConversationExists.into())
            }
            Some(c)
                if matches!(
                    c.status,
                    ConversationStatus::Queued | ConversationStatus::AwaitingTicket
                ) =>
            {
                (c.id, false)
            }
            _ => {
                let rec = self
                    .store()
                    .create_conversation(NewConversation {
                        site_id: visitor.site.clone(),
                        visitor_id: visitor.id,
                        info,
                        status: ConversationStatus::AwaitingTicket,
                        queue_rank: None,
                        at: now_ms(),
                    })
                    .await?;
                self.hub().send_party(
                    Party::Visitor(visitor.id),
                    Outbound::Follow {
                        conversation_id: rec.id,
                        announce: None,
                    },
                );
                (rec.id, true)
            }
        };
        let (seq, duplicate) = self
            .store_message(
                conv,
                switchboard_shared::Author::Visitor,
                Side::Visitor,
                client_id,
                body,
            )
            .await?;
        // A queued conversation leaves the queue and waits for a ticket instead.
        if let Some(lock) = self.lifecycle_of(conv) {
            let guard = lock.lock().await;
            if self.router().is_queued(conv) {
                let update = ConversationUpdate {
                    status: Some(ConversationStatus::AwaitingTicket),
                    queue_rank: Some(None),
                    ..Default::default()
                };
                self.append(conv, EventKind::LeftMessage, update).await?;
                self.router().finish(conv);
            }
            drop(guard);
            self.broadcast_queue();
        } else if created || !self.left_message_recorded(conv).await? {
            // New, or an earlier attempt stopped between the message and this event.
            self.append(conv, EventKind::LeftMessage, ConversationUpdate::default())
                .await?;
        }
        // The ticket comes from the `left_message` event (see `stream::tickets`); the
        // visitor is answered once it exists.
        self.stream().settled().await;
        Ok((conv, seq, duplicate))
    }

    /// Whether the conversation has its `left_message` event (it turns into a ticket).
    async fn left_message_recorded(&self, conv: ConversationId) -> ChatResult<bool> {
        let events = self.store().all_events(conv).await?;
        Ok(events
            .iter()
            .any(|e| matches!(e.event, EventKind::LeftMessage)))
    }

    /// The visitor's CSAT rating of an ended conversation, stored once as a `Rated` event.
    pub async fn rate(
        &self,
        visitor: VisitorId,
        conv: ConversationId,
        score: u8,
        comment: Option<String>,
    ) -> ChatResult<()> {
        let rec = self
            .store()
            .conversation(conv)
            .await?
            .filter(|c| c.visitor_id == visitor)
            .ok_or(ErrorCode::NoConversation)?;
        if rec.status != ConversationStatus::Ended {
            return Err(ErrorCode::NotRatable.into());
        }
        // The dedup key makes "one rating per conversation" a store guarantee, also
        // against two tabs rating at once.
        let once = ClientMsgId::try_from(String::from("csat")).map_err(|_| ErrorCode::Internal)?;
        let req = AppendRequest {
            conversation_id: conv,
            at: now_ms(),
            event: EventKind::Rated { score, comment },
            dedup: Some((Side::Visitor, once)),
            update: ConversationUpdate::default(),
        };
        match self.store().append(req).await? {
            Appended::New(_) => Ok(()),
            Appended::Duplicate { .. } => Err(ErrorCode::NotRatable.into()),
        }
    }
}
