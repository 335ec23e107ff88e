//! A relay killed with SIGKILL mid-conversation loses nothing it acknowledged; after a
//! restart on the same data dir both sides resume with exactly what they missed and the
//! conversation goes on with seq continuing without gaps.

use anyhow::{ensure, Result};
use switchboard_e2e::{AgentClient, Relay, RelayOptions, VisitorClient};
use switchboard_shared::{AgentCommand, ClientMsgId, EventKind, ResumePoint, Seq, ServerFrame};

fn message_body(e: &EventKind) -> Option<&str> {
    match e {
        EventKind::Message { body, .. } => Some(body),
        _ => None,
    }
}

#[tokio::test]
async fn a_killed_relay_keeps_every_acknowledged_message_and_both_sides_resume_with_only_what_they_missed(
) -> Result<()> {
    let mut relay = Relay::spawn_with(RelayOptions {
        agent_grace_ms: Some(30_000),
        ..Default::default()
    })
    .await?;
    let outcome: Result<()> = async {
        let anna = relay.add_agent("Anna", 2).await?;
        let (mut agent, _) = AgentClient::connect(&relay, &anna).await?;
        let mut visitor = VisitorClient::started(&relay, "visitor").await?;
        visitor.expect_agent_joined().await?;
        let conv = agent.expect_assigned().await?.id;

        // A few acknowledged messages each way.
        let mut acked: Vec<(Seq, String)> = Vec::new();
        for i in 0..5 {
            let body = format!("Frage {i}");
            acked.push((visitor.send(&body).await?, body));
            let body = format!("Antwort {i}");
            acked.push((agent.send(conv, &body).await?, body));
        }
        let last = acked.last().unwrap().0;
        visitor
            .expect_event("the last answer", |e| message_body(e) == Some("Antwort 4"))
            .await?;
        agent
            .expect_event(conv, "its own last answer", |e| {
                message_body(e) == Some("Antwort 4")
            })
            .await?;

        // The visitor drops off; the agent writes three more (acknowledged) it will miss.
        visitor.cut();
        let visitor_holds = visitor.last_seq();
        ensure!(
            visitor_holds == last,
            "visitor holds {visitor_holds}, last message is {last}"
        );
        let agent_holds = agent.last_seq(conv);
        for i in 0..3 {
            let body = format!("Nachtrag {i}");
            acked.push((agent.send(conv, &body).await?, body));
        }
        // One more goes out and the relay dies before (or after) storing it: either is
        // fine, but if it is stored it must be replayed like any other event.
        let in_flight = ClientMsgId::try_from("in-flight".to_string()).unwrap();
        agent
            .send_cmd(&AgentCommand::Send {
                conversation_id: conv,
                client_id: in_flight,
                body: "kurz vor dem Absturz".into(),
            })
            .await?;
        relay.kill().await?;
        relay.restart().await?;

        // Every acknowledged message is in the transcript exactly once under its seq, and
        // the transcript has no gaps.
        let history = relay.history(&agent.token, conv).await?;
        let seqs: Vec<Seq> = history.iter().map(|e| e.seq).collect();
        ensure!(
            seqs == (1..=seqs.len() as u64).collect::<Vec<_>>(),
            "transcript seqs {seqs:?}"
        );
        for (seq, body) in &acked {
            let found: Vec<&Seq> = history
                .iter()
                .filter(|e| message_body(&e.event) == Some(body.as_str()))
                .map(|e| &e.seq)
                .collect();
            ensure!(
                found == vec![seq],
                "{body:?} acknowledged as seq {seq}, transcript has it at {found:?}"
            );
        }
        let stored_last = *seqs.last().unwrap();

        // The visitor resumes with token and last_seq and gets exactly what it missed.
        visitor.follow(&relay);
        let welcome = visitor.reconnect().await?;
        let view = welcome.conversation.clone();
        ensure!(
            !welcome.token_issued,
            "the relay issued a new token instead of recognising the old one"
        );
        ensure!(
            view.as_ref().map(|c| (c.id, c.last_seq)) == Some((conv, stored_last)),
            "welcome conversation {view:?}"
        );
        let mut replayed = Vec::new();
        while replayed.last().copied() != Some(stored_last) {
            let (seq, _) = visitor.expect_event("a replayed event", |_| true).await?;
            replayed.push(seq);
        }
        ensure!(
            replayed == (visitor_holds + 1..=stored_last).collect::<Vec<_>>(),
            "visitor holding {visitor_holds} got replayed {replayed:?}"
        );

        // The agent resumes with its resume list (as if it held only up to before its own
        // three late messages) and gets exactly the rest.
        agent.cut();
        let held = std::mem::take(&mut agent.conn.held);
        agent = AgentClient::connect_with_token(&relay, &anna, &agent.token.clone()).await?;
        let welcome = agent
            .hello(vec![ResumePoint {
                conversation_id: conv,
                last_seq: agent_holds,
            }])
            .await?;
        drop(held);
        ensure!(
            welcome.conversations.iter().any(|c| c.id == conv),
            "agent welcome lists {:?}",
            welcome.conversations
        );
        let mut replayed = Vec::new();
        while replayed.last().copied() != Some(stored_last) {
            let (seq, _) = agent
                .expect_event(conv, "a replayed event", |_| true)
                .await?;
            replayed.push(seq);
        }
        ensure!(
            replayed == (agent_holds + 1..=stored_last).collect::<Vec<_>>(),
            "agent holding {agent_holds} got replayed {replayed:?}"
        );

        // The conversation goes on, seq continuing without a gap.
        let next = visitor.send("Sind Sie wieder da?").await?;
        ensure!(
            next == stored_last + 1,
            "first seq after restart {next}, last stored {stored_last}"
        );
        let (seq, _) = agent
            .expect_event(conv, "the visitor's new message", |e| {
                message_body(e) == Some("Sind Sie wieder da?")
            })
            .await?;
        ensure!(seq == next, "agent got it as {seq}");
        let answer = agent.send(conv, "Ja, alles gut").await?;
        ensure!(answer == next + 1, "agent's answer stored as {answer}");
        let (seq, _) = visitor
            .expect_event("the agent's answer", |e| {
                message_body(e) == Some("Ja, alles gut")
            })
            .await?;
        ensure!(seq == answer, "visitor got it as {seq}");
        visitor
            .conn
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
        Ok(())
    }
    .await;
    relay.finish(outcome)
}

#[tokio::test]
async fn a_relay_stopped_with_sigterm_exits_cleanly_and_serves_the_same_data_after_a_restart(
) -> Result<()> {
    let mut relay = Relay::spawn().await?;
    let outcome: Result<()> = async {
        let anna = relay.add_agent("Anna", 1).await?;
        let (mut agent, _) = AgentClient::connect(&relay, &anna).await?;
        let mut visitor = VisitorClient::started(&relay, "visitor").await?;
        visitor.expect_agent_joined().await?;
        let conv = agent.expect_assigned().await?.id;
        let seq = visitor.send("Hallo").await?;
        let status = relay.stop().await?;
        ensure!(status.success(), "relay exited with {status} after SIGTERM");
        // Open connections were told the relay is going away (1001) rather than just dropped.
        let code = visitor
            .conn
            .expect_closed(switchboard_e2e::DEFAULT_TIMEOUT)
            .await?;
        ensure!(
            code == Some(1001),
            "visitor connection closed with {code:?} on shutdown"
        );
        relay.restart().await?;
        let history = relay.history(&agent.token, conv).await?;
        ensure!(
            history
                .iter()
                .any(|e| e.seq == seq && message_body(&e.event) == Some("Hallo")),
            "message missing after a graceful restart: {history:?}"
        );
        Ok(())
    }
    .await;
    relay.finish(outcome)
}
