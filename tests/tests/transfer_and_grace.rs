//! Transfers move a chat only to an online agent with a free slot; a dropped agent keeps
//! their chats for the grace period and loses them to the front of the queue after it.

use anyhow::{ensure, Result};
use std::time::Duration;
use switchboard_e2e::{AgentClient, Relay, RelayOptions, VisitorClient};
use switchboard_shared::{
    AgentCommand, Author, ConversationStatus, ErrorCode, EventKind, Presence, RemovalReason,
    ServerFrame,
};

fn is_transferred(f: &ServerFrame) -> bool {
    matches!(
        f,
        ServerFrame::Event {
            event: EventKind::Transferred { .. },
            ..
        }
    )
}

#[tokio::test]
async fn a_transfer_to_a_full_agent_is_refused_and_changes_nothing_and_one_to_a_free_agent_moves_the_chat(
) -> Result<()> {
    let relay = Relay::spawn().await?;
    let outcome: Result<()> = async {
        // Ben (cap 1) is alone online and takes the first visitor; then Anna takes the second.
        let ben = relay.add_agent("Ben", 1).await?;
        let anna = relay.add_agent("Anna", 2).await?;
        let cleo = relay.add_agent("Cleo", 2).await?;
        let (mut b, _) = AgentClient::connect(&relay, &ben).await?;
        let mut first = VisitorClient::started(&relay, "first").await?;
        ensure!(first.expect_agent_joined().await?.id == ben.id, "first visitor should go to Ben");
        b.expect_assigned().await?;
        let (mut a, _) = AgentClient::connect(&relay, &anna).await?;
        let mut second = VisitorClient::started(&relay, "second").await?;
        ensure!(second.expect_agent_joined().await?.id == anna.id, "second visitor should go to Anna");
        let conv = a.expect_assigned().await?.id;
        second.send("Hallo, ich brauche Hilfe").await?;

        // To Ben, who is full: agent_full, and nobody sees a change.
        let code = a.refused(&AgentCommand::Transfer { conversation_id: conv, to_agent: ben.id }).await?;
        ensure!(code == ErrorCode::AgentFull, "transfer to a full agent answered {code:?}");
        a.conn.expect_none("conversation_removed", |f| matches!(f, ServerFrame::ConversationRemoved { .. })).await?;
        b.conn.expect_none("conversation_assigned", |f| matches!(f, ServerFrame::ConversationAssigned { .. })).await?;
        second.conn.expect_none("a Transferred event", is_transferred).await?;
        let (_, view) = relay.conversation_status(&a.token, conv).await?;
        ensure!(view["conversation"]["agent"]["id"] == anna.id.0, "after a refused transfer: {view}");
        let seq = a.send(conv, "Ich bin weiterhin für Sie da").await?;
        second.expect_event("Anna's message", |e| matches!(e, EventKind::Message { .. })).await?;

        // To Cleo while she is away: agent_unavailable.
        let (mut c, _) = AgentClient::connect(&relay, &cleo).await?;
        c.set_presence(Presence::Away).await?;
        let code = a.refused(&AgentCommand::Transfer { conversation_id: conv, to_agent: cleo.id }).await?;
        ensure!(code == ErrorCode::AgentUnavailable, "transfer to an away agent answered {code:?}");
        c.set_presence(Presence::Online).await?;

        // To Cleo, online with free slots: the chat moves.
        ensure!(a.transfer(conv, cleo.id).await? == RemovalReason::TransferredAway, "removal reason");
        let assigned = c.expect_assigned().await?;
        ensure!(assigned.id == conv && assigned.status == ConversationStatus::Active, "Cleo got {assigned:?}");
        ensure!(assigned.agent.as_ref().map(|r| r.id) == Some(cleo.id), "view names {:?}", assigned.agent);
        // Her history follows, including the message Anna sent before the transfer.
        c.expect_event(conv, "the earlier message in the history", |e| {
            matches!(e, EventKind::Message { body, .. } if body == "Ich bin weiterhin für Sie da")
        })
        .await?;
        ensure!(c.last_seq(conv) >= seq, "Cleo's history stops at {}", c.last_seq(conv));
        let (_, event) = second.expect_event("Transferred", |e| matches!(e, EventKind::Transferred { .. })).await?;
        let EventKind::Transferred { from, to } = event else { unreachable!() };
        ensure!(from.id == anna.id && to.id == cleo.id && to.name == "Cleo", "Transferred from {from:?} to {to:?}");

        // Cleo talks to the visitor now; Anna no longer can.
        c.send(conv, "Hier ist Cleo").await?;
        let (_, msg) = second.expect_event("Cleo's message", |e| matches!(e, EventKind::Message { body, .. } if body == "Hier ist Cleo")).await?;
        ensure!(matches!(msg, EventKind::Message { author: Author::Agent { id, .. }, .. } if id == cleo.id), "author {msg:?}");
        let client_id = a.next_client_id();
        let code = a.refused(&AgentCommand::Send { conversation_id: conv, client_id, body: "noch da?".into() }).await?;
        ensure!(code == ErrorCode::UnknownConversation, "Anna sending after the transfer got {code:?}");
        let (status, _) = relay.conversation_status(&a.token, conv).await?;
        ensure!(status == 404, "Anna reads the transcript after the transfer: {status}");
        first.conn.expect_none("anything about the other chat", is_transferred).await?;
        Ok(())
    }
    .await;
    relay.finish(outcome)
}

#[tokio::test]
async fn an_agent_who_reconnects_within_the_grace_period_keeps_their_chats() -> Result<()> {
    let relay = Relay::spawn_with(RelayOptions {
        agent_grace_ms: Some(1500),
        ..Default::default()
    })
    .await?;
    let outcome: Result<()> = async {
        let anna = relay.add_agent("Anna", 1).await?;
        let (mut a, _) = AgentClient::connect(&relay, &anna).await?;
        let mut v = VisitorClient::started(&relay, "visitor").await?;
        v.expect_agent_joined().await?;
        let conv = a.expect_assigned().await?.id;
        a.expect_event(conv, "AgentJoined in the history", |e| {
            matches!(e, EventKind::AgentJoined { .. })
        })
        .await?;

        a.cut();
        // The agent is gone for 300 ms (a simulated network blip, not synchronisation);
        // meanwhile the visitor writes.
        tokio::time::sleep(Duration::from_millis(300)).await;
        let missed = v.send("Sind Sie noch da?").await?;
        let welcome = a.reconnect().await?;
        ensure!(
            welcome.conversations.iter().any(|c| c.id == conv),
            "welcome lists {:?}",
            welcome.conversations
        );
        ensure!(
            welcome.load.active == 1,
            "load after reconnect {:?}",
            welcome.load
        );
        let (seq, _) = a
            .expect_event(conv, "the missed message", |e| {
                matches!(e, EventKind::Message { .. })
            })
            .await?;
        ensure!(
            seq == missed,
            "replayed seq {seq}, the visitor's message is {missed}"
        );

        // Well past the grace period, the chat is still Anna's and nobody saw a requeue.
        tokio::time::sleep(Duration::from_millis(2000)).await;
        v.conn
            .expect_none("a Requeued event", |f| {
                matches!(
                    f,
                    ServerFrame::Event {
                        event: EventKind::Requeued { .. },
                        ..
                    }
                )
            })
            .await?;
        a.conn
            .expect_none("conversation_removed", |f| {
                matches!(f, ServerFrame::ConversationRemoved { .. })
            })
            .await?;
        a.send(conv, "Ja, bin wieder da").await?;
        v.expect_event(
            "Anna's answer",
            |e| matches!(e, EventKind::Message { body, .. } if body == "Ja, bin wieder da"),
        )
        .await?;
        Ok(())
    }
    .await;
    relay.finish(outcome)
}

#[tokio::test]
async fn an_agent_who_stays_away_past_the_grace_period_has_their_chat_requeued_ahead_of_waiting_visitors(
) -> Result<()> {
    let relay = Relay::spawn_with(RelayOptions {
        agent_grace_ms: Some(1500),
        ..Default::default()
    })
    .await?;
    let outcome: Result<()> = async {
        let anna = relay.add_agent("Anna", 1).await?;
        let ben = relay.add_agent("Ben", 1).await?;
        let (mut a, _) = AgentClient::connect(&relay, &anna).await?;
        let mut dropped = VisitorClient::started(&relay, "dropped").await?;
        ensure!(dropped.expect_agent_joined().await?.id == anna.id, "first visitor should go to Anna");
        let dropped_conv = a.expect_assigned().await?.id;
        let (mut b, _) = AgentClient::connect(&relay, &ben).await?;
        let mut busy = VisitorClient::started(&relay, "busy").await?;
        ensure!(busy.expect_agent_joined().await?.id == ben.id, "second visitor should go to Ben");
        let busy_conv = b.expect_assigned().await?.id;
        let mut waiting = VisitorClient::started(&relay, "waiting").await?;
        waiting.expect("queue position 1", |f| matches!(f, ServerFrame::Queue { position: 1, .. })).await?;

        // Anna drops and does not come back.
        a.cut();
        let (_, event) = dropped.expect_event("Requeued", |e| matches!(e, EventKind::Requeued { .. })).await?;
        ensure!(matches!(&event, EventKind::Requeued { from } if from.id == anna.id), "{event:?}");
        dropped.expect("queue position 1", |f| matches!(f, ServerFrame::Queue { position: 1, .. })).await?;
        waiting.expect("queue position 2", |f| matches!(f, ServerFrame::Queue { position: 2, .. })).await?;
        b.expect("queue snapshot with the requeued chat first", |f| {
            matches!(f, ServerFrame::QueueSnapshot { entries, .. } if entries.len() == 2 && entries[0].conversation_id == dropped_conv)
        })
        .await?;

        // The next free agent takes the requeued chat before the visitor who waited longer.
        b.end(busy_conv).await?;
        let joined = dropped.expect_agent_joined().await?;
        ensure!(joined.id == ben.id, "requeued chat joined by {joined:?}");
        let assigned = b.expect_assigned().await?;
        ensure!(assigned.id == dropped_conv, "Ben was assigned {assigned:?}, expected the requeued chat");
        waiting.expect("queue position 1", |f| matches!(f, ServerFrame::Queue { position: 1, .. })).await?;
        waiting.conn.expect_none("AgentJoined", |f| matches!(f, ServerFrame::Event { event: EventKind::AgentJoined { .. }, .. })).await?;
        Ok(())
    }
    .await;
    relay.finish(outcome)
}
