//! Delivery under a flaky network: both sides of a chat send at once while their TCP
//! connections are cut at random moments. With the client doing its part (outbox, resend
//! with the same client id, resume from the last seq, dedup by seq), every message arrives
//! exactly once, in order, on both sides and in the stored transcript.

use anyhow::{ensure, Result};
use std::collections::HashMap;
use std::time::Duration;
use switchboard_e2e::resilient::{Plan, Resilient, Role};
use switchboard_e2e::{AgentClient, Relay, RelayOptions, VisitorClient, SITE_ORIGIN};
use switchboard_shared::EventKind;
use tokio::time::Instant;

const MESSAGES: usize = 150;
const VISITOR_CUTS: usize = 100;
const AGENT_CUTS: usize = 5;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_message_arrives_exactly_once_and_in_order_while_connections_are_cut_a_hundred_times(
) -> Result<()> {
    let started = Instant::now();
    // A long agent grace period: the agent's cuts must never requeue the chat.
    let relay = Relay::spawn_with(RelayOptions {
        agent_grace_ms: Some(20_000),
        ..Default::default()
    })
    .await?;
    let outcome: Result<()> = async {
        let anna = relay.add_agent("Anna", 1).await?;
        let (mut agent, _) = AgentClient::connect(&relay, &anna).await?;
        let mut visitor = VisitorClient::started(&relay, "visitor").await?;
        let (base, _) = visitor
            .expect_event("AgentJoined", |e| {
                matches!(e, EventKind::AgentJoined { .. })
            })
            .await?;
        let conv = agent.expect_assigned().await?.id;
        agent
            .expect_event(conv, "AgentJoined", |e| {
                matches!(e, EventKind::AgentJoined { .. })
            })
            .await?;
        // Both now hold seq 1..=base; the chaos starts from there on fresh connections.
        let token = visitor.token.clone().unwrap();
        visitor.cut();
        agent.cut();

        let seed = std::env::var("CHAOS_SEED")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(rand::random::<u64>);
        eprintln!("chaos seed {seed} (set CHAOS_SEED to replay)");
        let deadline = Instant::now() + Duration::from_secs(50);
        let visitor_plan = Plan {
            messages: MESSAGES,
            prefix: "v-".into(),
            send_every_ms: (40, 160),
            cuts: VISITOR_CUTS,
            cut_every_ms: (60, 260),
            expect_from_other: MESSAGES,
            deadline,
            seed,
        };
        let agent_plan = Plan {
            prefix: "a-".into(),
            cuts: AGENT_CUTS,
            cut_every_ms: (1500, 4000),
            seed: seed.wrapping_add(1),
            ..visitor_plan.clone()
        };
        let mut v = Resilient::new(
            "visitor",
            relay.ws_url("/ws/visitor"),
            Role::Visitor {
                token,
                origin: SITE_ORIGIN.into(),
            },
            conv,
            base,
        );
        let mut a = Resilient::new(
            "agent",
            relay.ws_url("/ws/agent"),
            Role::Agent {
                token: agent.token.clone(),
            },
            conv,
            base,
        );
        let (rv, ra) = tokio::join!(v.run(&visitor_plan), a.run(&agent_plan));
        eprintln!("{}\n{}", v.summary(), a.summary());
        rv?;
        ra?;

        let visitor_ids: Vec<String> = (0..MESSAGES).map(|i| format!("v-{i}")).collect();
        let agent_ids: Vec<String> = (0..MESSAGES).map(|i| format!("a-{i}")).collect();
        for side in [&v, &a] {
            ensure!(
                side.message_ids(true) == visitor_ids,
                "{}: visitor messages held {:?}",
                side.label,
                side.message_ids(true)
            );
            ensure!(
                side.message_ids(false) == agent_ids,
                "{}: agent messages held {:?}",
                side.label,
                side.message_ids(false)
            );
            let top = side.events.keys().next_back().copied().unwrap_or(base);
            ensure!(
                side.contiguous_seq() == top,
                "{}: gap below seq {top}: {}",
                side.label,
                side.summary()
            );
            ensure!(
                side.cuts_done
                    >= if side.label == "visitor" {
                        VISITOR_CUTS
                    } else {
                        AGENT_CUTS
                    },
                "cuts"
            );
            // Every acknowledgement names the seq the message is held under.
            for (seq, event) in &side.events {
                if let EventKind::Message {
                    client_id: Some(id),
                    ..
                } = event
                {
                    if let Some(acked) = side.acked.get(id.as_str()) {
                        ensure!(
                            acked == seq,
                            "{}: {id} acked as {acked}, held as {seq}",
                            side.label
                        );
                    }
                }
            }
            ensure!(
                side.acked.len() == MESSAGES,
                "{}: {} messages acknowledged",
                side.label,
                side.acked.len()
            );
        }
        ensure!(
            v.events == a.events,
            "visitor and agent hold different histories"
        );

        // The transcript holds each message exactly once, without gaps.
        let login = relay.login(&anna).await?;
        let history = relay.history(&login.token, conv).await?;
        let seqs: Vec<u64> = history.iter().map(|e| e.seq).collect();
        ensure!(
            seqs == (1..=seqs.len() as u64).collect::<Vec<_>>(),
            "transcript seqs {seqs:?}"
        );
        let mut count: HashMap<String, usize> = HashMap::new();
        for e in &history {
            if let EventKind::Message {
                client_id: Some(id),
                ..
            } = &e.event
            {
                *count.entry(id.to_string()).or_default() += 1;
            }
            if e.seq > base {
                ensure!(
                    v.events.get(&e.seq) == Some(&e.event),
                    "transcript seq {} differs from the clients",
                    e.seq
                );
            }
        }
        ensure!(
            count.len() == 2 * MESSAGES,
            "transcript has {} distinct messages",
            count.len()
        );
        ensure!(
            count.values().all(|n| *n == 1),
            "messages stored more than once: {:?}",
            count.iter().filter(|(_, n)| **n > 1).collect::<Vec<_>>()
        );
        ensure!(
            started.elapsed() < Duration::from_secs(60),
            "took {:?}",
            started.elapsed()
        );
        Ok(())
    }
    .await;
    relay.finish(outcome)
}
