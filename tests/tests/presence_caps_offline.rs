//! Presence and caps change routing at once; with nobody online a visitor can still leave a
//! message; an ended chat can be rated once.

use anyhow::{ensure, Result};
use serde_json::json;
use switchboard_e2e::{AgentClient, Relay, VisitorClient};
use switchboard_shared::{
    ConversationStatus, ErrorCode, EventKind, Presence, RemovalReason, ServerFrame, VisitorCommand,
};

#[tokio::test]
async fn an_away_agent_keeps_their_chat_gets_no_new_one_and_takes_the_queue_head_when_back_online(
) -> Result<()> {
    let relay = Relay::spawn().await?;
    let outcome: Result<()> = async {
        let anna = relay.add_agent("Anna", 3).await?;
        let (mut a, _) = AgentClient::connect(&relay, &anna).await?;
        let mut first = VisitorClient::started(&relay, "first").await?;
        first.expect_agent_joined().await?;
        let held = a.expect_assigned().await?.id;

        let load = a.set_presence(Presence::Away).await?;
        ensure!(load.active == 1, "away keeps the chat: {load:?}");
        let mut second = VisitorClient::started(&relay, "second").await?;
        ensure!(
            second.expect_queue_position().await? == 1,
            "second waits while Anna is away"
        );
        a.conn
            .expect_none("conversation_assigned", |f| {
                matches!(f, ServerFrame::ConversationAssigned { .. })
            })
            .await?;
        // The held chat still works both ways.
        a.send(held, "Ich bin gleich wieder da").await?;
        first.send("Danke").await?;

        a.set_presence(Presence::Online).await?;
        ensure!(
            second.expect_agent_joined().await?.id == anna.id,
            "back online: admitted"
        );
        a.expect_assigned().await?;
        Ok(())
    }
    .await;
    relay.finish(outcome)
}

#[tokio::test]
async fn an_admin_lowering_a_cap_keeps_current_chats_and_raising_it_admits_the_queue_head_at_once(
) -> Result<()> {
    let relay = Relay::spawn().await?;
    let outcome: Result<()> = async {
        let admin = relay.add_admin("Chefin", 1).await?;
        let admin_token = relay.login(&admin).await?.token;
        let ben = relay.add_agent("Ben", 3).await?;
        let (mut b, _) = AgentClient::connect(&relay, &ben).await?;
        let mut v1 = VisitorClient::started(&relay, "v1").await?;
        let mut v2 = VisitorClient::started(&relay, "v2").await?;
        v1.expect_agent_joined().await?;
        v2.expect_agent_joined().await?;
        let c1 = b.expect_assigned().await?.id;
        b.expect_assigned().await?;

        ensure!(
            relay
                .set_max_chats(&admin_token, ben.id, 1)
                .await?
                .is_success(),
            "PATCH cap 1"
        );
        let mut v3 = VisitorClient::started(&relay, "v3").await?;
        ensure!(
            v3.expect_queue_position().await? == 1,
            "over the new cap: v3 waits"
        );
        // Ending one chat leaves Ben at 1 = the cap: still no new chat.
        b.end(c1).await?;
        b.conn
            .expect_none("conversation_assigned", |f| {
                matches!(f, ServerFrame::ConversationAssigned { .. })
            })
            .await?;

        ensure!(
            relay
                .set_max_chats(&admin_token, ben.id, 2)
                .await?
                .is_success(),
            "PATCH cap 2"
        );
        ensure!(
            v3.expect_agent_joined().await?.id == ben.id,
            "raising the cap admits v3"
        );
        b.expect_assigned().await?;

        // Only admins may change caps.
        let ben_token = relay.login(&ben).await?.token;
        let status = relay.set_max_chats(&ben_token, ben.id, 10).await?;
        ensure!(
            status == reqwest::StatusCode::FORBIDDEN,
            "an agent changing caps got {status}"
        );
        Ok(())
    }
    .await;
    relay.finish(outcome)
}

#[tokio::test]
async fn with_nobody_online_a_visitor_leaves_a_message_that_is_stored_once_for_the_ticket_workflow(
) -> Result<()> {
    let relay = Relay::spawn().await?;
    let outcome: Result<()> = async {
        let admin = relay.add_admin("Chefin", 1).await?;
        let admin_token = relay.login(&admin).await?.token;
        let mut v = VisitorClient::connect(&relay, "offline").await?;
        let welcome = v.hello().await?;
        ensure!(welcome.agents_online == 0, "nobody is online");

        let client_id = v.next_client_id();
        let leave = VisitorCommand::LeaveMessage {
            client_id: client_id.clone(),
            body: "Bitte rufen Sie mich wegen der Wartung zurück.".into(),
            name: Some("Jonas".into()),
            email: Some("jonas@example.de".into()),
            customer_number: Some("K-1007".into()),
        };
        v.send_cmd(&leave).await?;
        let sent = v
            .expect("sent", |f| matches!(f, ServerFrame::Sent { .. }))
            .await?;
        let ServerFrame::Sent {
            conversation_id,
            seq,
            duplicate,
            ..
        } = sent
        else {
            unreachable!()
        };
        ensure!(!duplicate, "first submission is new");
        // A resend after a dropped connection is stored once.
        v.send_cmd(&leave).await?;
        let again = v
            .expect("sent again", |f| matches!(f, ServerFrame::Sent { .. }))
            .await?;
        ensure!(
            matches!(again, ServerFrame::Sent { seq: s, duplicate: true, .. } if s == seq),
            "resend answered {again:?}"
        );

        let (_, body) = relay
            .conversation_status(&admin_token, conversation_id)
            .await?;
        let status: ConversationStatus =
            serde_json::from_value(body["conversation"]["status"].clone())?;
        ensure!(
            status == ConversationStatus::AwaitingTicket,
            "stored as {status:?}"
        );
        ensure!(
            body["conversation"]["visitor"]["customer_number"] == json!("K-1007"),
            "contact details kept: {body}"
        );
        let history = relay.history(&admin_token, conversation_id).await?;
        let messages = history
            .iter()
            .filter(|e| matches!(e.event, EventKind::Message { .. }))
            .count();
        ensure!(messages == 1, "exactly one stored message, got {history:?}");
        ensure!(
            history.iter().any(|e| e.event == EventKind::LeftMessage),
            "marked as left message: {history:?}"
        );
        Ok(())
    }
    .await;
    relay.finish(outcome)
}

#[tokio::test]
async fn a_visitor_can_rate_an_ended_chat_once_and_not_before_it_ends() -> Result<()> {
    let relay = Relay::spawn().await?;
    let outcome: Result<()> = async {
        let anna = relay.add_agent("Anna", 1).await?;
        let (mut a, _) = AgentClient::connect(&relay, &anna).await?;
        let mut v = VisitorClient::started(&relay, "rater").await?;
        v.expect_agent_joined().await?;
        let conv = a.expect_assigned().await?.id;

        let rate = VisitorCommand::Rate {
            score: 5,
            comment: Some("Sehr hilfreich".into()),
        };
        ensure!(
            v.refused(&rate).await? == ErrorCode::NotRatable,
            "rating before the end"
        );
        v.end().await?;
        ensure!(
            a.expect_removed(conv).await? == RemovalReason::Ended,
            "agent told of the end"
        );
        let bad = VisitorCommand::Rate {
            score: 6,
            comment: None,
        };
        ensure!(v.refused(&bad).await? == ErrorCode::InvalidField, "score 6");
        v.send_cmd(&rate).await?;
        let (_, event) = v
            .expect_event("Rated", |e| matches!(e, EventKind::Rated { .. }))
            .await?;
        ensure!(
            event
                == EventKind::Rated {
                    score: 5,
                    comment: Some("Sehr hilfreich".into())
                },
            "stored rating {event:?}"
        );
        ensure!(
            v.refused(&rate).await? == ErrorCode::NotRatable,
            "a second rating"
        );
        Ok(())
    }
    .await;
    relay.finish(outcome)
}
