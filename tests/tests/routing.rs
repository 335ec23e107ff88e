//! Routing: agents get chats up to their cap, the rest wait in a FIFO queue, and a freed
//! slot admits the head of the queue at once.

use anyhow::{ensure, Result};
use futures_util::future::join_all;
use std::collections::HashMap;
use switchboard_e2e::{AgentClient, Relay, VisitorClient, WsConn};
use switchboard_shared::{
    AgentId, ConversationId, EventKind, QueueEntry, RemovalReason, ServerFrame,
};

/// Replays an agent's whole frame log and checks it never held more chats than `cap`:
/// the running count of `conversation_assigned` minus `conversation_removed` and every
/// `load` frame's `active` stay within the cap, and `load.max` is the cap.
fn assert_never_over_cap(agent: &WsConn, cap: u32) -> Result<()> {
    let mut holding: i64 = 0;
    for frame in &agent.log {
        match frame {
            ServerFrame::ConversationAssigned { .. } => holding += 1,
            ServerFrame::ConversationRemoved { .. } => holding -= 1,
            ServerFrame::Load(load) => {
                ensure!(
                    load.active <= cap,
                    "{}: load frame says {} active, cap {cap}",
                    agent.label(),
                    load.active
                );
                ensure!(
                    load.max == cap,
                    "{}: load frame says max {}, cap {cap}",
                    agent.label(),
                    load.max
                );
            }
            _ => {}
        }
        ensure!(
            holding <= cap as i64,
            "{}: held {holding} chats at once, cap {cap}",
            agent.label()
        );
        ensure!(
            holding >= 0,
            "{}: more removals than assignments",
            agent.label()
        );
    }
    Ok(())
}

#[tokio::test]
async fn four_chats_fill_two_agents_of_cap_two_and_the_fifth_visitor_is_admitted_when_a_chat_ends(
) -> Result<()> {
    let relay = Relay::spawn().await?;
    let outcome: Result<()> = async {
        let anna = relay.add_agent("Anna", 2).await?;
        let ben = relay.add_agent("Ben", 2).await?;
        let (mut a, _) = AgentClient::connect(&relay, &anna).await?;
        let (mut b, _) = AgentClient::connect(&relay, &ben).await?;

        // Four visitors, one after the other: each is routed at once.
        let mut visitors = Vec::new();
        let mut joined_by: HashMap<AgentId, Vec<usize>> = HashMap::new();
        for i in 0..4 {
            let mut v = VisitorClient::started(&relay, &format!("visitor{i}")).await?;
            let agent = v.expect_agent_joined().await?;
            joined_by.entry(agent.id).or_default().push(i);
            visitors.push(v);
        }
        ensure!(
            joined_by.get(&anna.id).map(Vec::len) == Some(2),
            "AgentJoined per agent: {joined_by:?}"
        );
        ensure!(
            joined_by.get(&ben.id).map(Vec::len) == Some(2),
            "AgentJoined per agent: {joined_by:?}"
        );

        // The agents' side agrees: each got exactly the two conversations naming them.
        for (agent, info) in [(&mut a, &anna), (&mut b, &ben)] {
            let mut got = vec![
                agent.expect_assigned().await?.id,
                agent.expect_assigned().await?.id,
            ];
            got.sort();
            let mut want: Vec<ConversationId> = joined_by[&info.id]
                .iter()
                .map(|&i| visitors[i].conversation.unwrap())
                .collect();
            want.sort();
            ensure!(
                got == want,
                "{} was assigned {got:?}, visitors saw {want:?}",
                info.name
            );
            agent
                .conn
                .expect_none("third assignment", |f| {
                    matches!(f, ServerFrame::ConversationAssigned { .. })
                })
                .await?;
        }

        // The fifth waits first in line and is not routed.
        let mut fifth = VisitorClient::started(&relay, "visitor4").await?;
        fifth
            .expect("queue position 1", |f| {
                matches!(f, ServerFrame::Queue { position: 1, .. })
            })
            .await?;
        fifth
            .conn
            .expect_none("AgentJoined while all agents are full", |f| {
                matches!(
                    f,
                    ServerFrame::Event {
                        event: EventKind::AgentJoined { .. },
                        ..
                    }
                )
            })
            .await?;

        // Anna ends one of her chats: the fifth visitor is hers at once, Ben gets nothing.
        let first_of_anna = joined_by[&anna.id][0];
        let ended = visitors[first_of_anna].conversation_id()?;
        ensure!(
            a.end(ended).await? == RemovalReason::Ended,
            "removal reason of an ended chat"
        );
        visitors[first_of_anna]
            .expect_event("Ended", |e| matches!(e, EventKind::Ended { .. }))
            .await?;
        let joined = fifth.expect_agent_joined().await?;
        ensure!(
            joined.id == anna.id,
            "the fifth visitor got {joined:?}, expected Anna whose chat ended"
        );
        let assigned = a.expect_assigned().await?;
        ensure!(
            assigned.id == fifth.conversation_id()?,
            "Anna was assigned {assigned:?}"
        );
        b.conn
            .expect_none("assignment to Ben", |f| {
                matches!(f, ServerFrame::ConversationAssigned { .. })
            })
            .await?;
        assert_never_over_cap(&a.conn, 2)?;
        assert_never_over_cap(&b.conn, 2)?;
        Ok(())
    }
    .await;
    relay.finish(outcome)
}

/// Fifty visitors start at once against three agents with caps 1, 2 and 3.
struct Crowd {
    relay: Relay,
    caps: [u32; 3],
    agents: Vec<AgentClient>,
    /// Sorted by conversation id.
    visitors: Vec<VisitorClient>,
    /// What each agent was assigned in the first burst.
    holding: Vec<Vec<ConversationId>>,
}

async fn fifty_visitors_arrive_at_once() -> Result<Crowd> {
    visitors_arrive_at_once(50).await
}

/// `n` visitors start chats at once while three agents (caps 1, 2, 3) are online.
async fn visitors_arrive_at_once(n: usize) -> Result<Crowd> {
    let relay = Relay::spawn().await?;
    let caps = [1u32, 2, 3];
    let mut agents = Vec::new();
    for (i, cap) in caps.iter().enumerate() {
        let info = relay.add_agent(&format!("Agent{i}"), *cap).await?;
        agents.push(AgentClient::connect(&relay, &info).await?.0);
    }
    let relay_ref = &relay;
    let arrivals =
        join_all((0..n).map(|i| async move {
            VisitorClient::started(relay_ref, &format!("visitor{i}")).await
        }))
        .await;
    let mut visitors = arrivals.into_iter().collect::<Result<Vec<_>>>()?;
    visitors.sort_by_key(|v| v.conversation);
    // Each agent is assigned exactly its cap, and not one more.
    let mut holding = Vec::new();
    for (agent, cap) in agents.iter_mut().zip(caps) {
        let mut mine = Vec::new();
        for _ in 0..cap {
            mine.push(agent.expect_assigned().await?.id);
        }
        agent
            .conn
            .expect_none("assignment over the cap", |f| {
                matches!(f, ServerFrame::ConversationAssigned { .. })
            })
            .await?;
        holding.push(mine);
    }
    Ok(Crowd {
        relay,
        caps,
        agents,
        visitors,
        holding,
    })
}

/// Waits for the queue snapshot that counts `total` waiting, and checks that it lists the
/// head of the queue: positions 1..=`listed`, without gaps or duplicates.
async fn queue_snapshot_of(
    agent: &mut AgentClient,
    total: u32,
    listed: u32,
) -> Result<Vec<QueueEntry>> {
    let snapshot = agent
        .expect(
            &format!("a queue snapshot of {total} waiting"),
            |f| matches!(f, ServerFrame::QueueSnapshot { total: t, .. } if *t == total),
        )
        .await?;
    let ServerFrame::QueueSnapshot { entries, .. } = snapshot else {
        unreachable!()
    };
    let positions: Vec<u32> = entries.iter().map(|e| e.position).collect();
    ensure!(
        positions == (1..=listed).collect::<Vec<u32>>(),
        "snapshot positions {positions:?}"
    );
    Ok(entries)
}

/// Snapshots list the head of the queue only (50), so they carry the total: with 54 waiting,
/// a console must be able to say 54, not 50, both from live snapshots and from its welcome.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_queue_longer_than_the_snapshot_is_counted_in_full_for_agents() -> Result<()> {
    let mut crowd = visitors_arrive_at_once(60).await?;
    let outcome: Result<()> = async {
        let entries = queue_snapshot_of(&mut crowd.agents[0], 54, 50).await?;
        // A console opened now (the same agent's second tab) is told the same in its welcome.
        let info = crowd.agents[0].info.clone();
        let (_second, welcome) = AgentClient::connect(&crowd.relay, &info).await?;
        ensure!(
            welcome.queue_total == 54 && welcome.queue.len() == 50,
            "welcome lists {} of {}",
            welcome.queue.len(),
            welcome.queue_total
        );
        ensure!(
            welcome
                .queue
                .iter()
                .map(|e| e.conversation_id)
                .collect::<Vec<_>>()
                == entries
                    .iter()
                    .map(|e| e.conversation_id)
                    .collect::<Vec<_>>(),
            "the welcome's head of the queue differs from the last snapshot"
        );
        Ok(())
    }
    .await;
    crowd.relay.finish(outcome)
}

/// FIFO needs an observable arrival order. The relay numbers conversations in the order it
/// creates them (the store's autoincrement id) when it processes `start_conversation`, so we
/// take ascending conversation id as the order of arrival. Then FIFO means: the chats
/// routed first are the lowest ids, and the waiting visitors' positions rise with their id.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_arrivals_are_served_in_the_order_the_relay_created_their_conversations(
) -> Result<()> {
    let crowd = fifty_visitors_arrive_at_once().await?;
    let outcome: Result<()> = async {
        let ids: Vec<ConversationId> = crowd
            .visitors
            .iter()
            .map(|v| v.conversation.unwrap())
            .collect();
        let mut routed: Vec<ConversationId> = crowd.holding.iter().flatten().copied().collect();
        routed.sort();
        ensure!(
            routed == ids[..6],
            "routed {routed:?}, but the six earliest conversations are {:?}",
            &ids[..6]
        );
        Ok(())
    }
    .await;
    crowd.relay.finish(outcome)
}

/// Whatever order concurrent arrivals get, the queue must be a proper FIFO from then on:
/// positions 1..=44 without gaps or duplicates, the agents' snapshot agrees with what the
/// visitors were told, and each freed slot admits position 1 to the agent who freed it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_concurrent_visitors_fill_three_agents_to_their_caps_and_the_rest_are_admitted_head_first(
) -> Result<()> {
    let Crowd {
        relay,
        caps,
        mut agents,
        mut visitors,
        mut holding,
    } = fifty_visitors_arrive_at_once().await?;
    let outcome: Result<()> = async {
        let routed: Vec<ConversationId> = holding.iter().flatten().copied().collect();
        ensure!(routed.len() == 6, "routed {routed:?}");
        // The agents' snapshot of 44 is the queue once every arrival is in (snapshots are
        // sent on each change; only the final queue has 44 entries).
        let entries = queue_snapshot_of(&mut agents[0], 44, 44).await?;
        let by_position: Vec<ConversationId> = entries.iter().map(|e| e.conversation_id).collect();
        // The six routed visitors see their agent join; each of the 44 others is told the
        // position the agents see (the latest `queue` frame it gets).
        let mut line: Vec<usize> = Vec::new(); // visitor index by position
        for id in &by_position {
            line.push(
                visitors
                    .iter()
                    .position(|v| v.conversation == Some(*id))
                    .unwrap(),
            );
        }
        for v in visitors.iter_mut() {
            let id = v.conversation.unwrap();
            if let Some(owner) = holding.iter().position(|h| h.contains(&id)) {
                let joined = v.expect_agent_joined().await?;
                ensure!(
                    joined.id == agents[owner].id(),
                    "{} joined by {joined:?}",
                    v.name
                );
            } else {
                let want = by_position
                    .iter()
                    .position(|c| *c == id)
                    .map(|p| p as u32 + 1);
                let Some(want) = want else {
                    anyhow::bail!(
                        "{} (conversation {id}) is neither routed nor queued",
                        v.name
                    )
                };
                if v.conn.latest_queue_position() != Some(want) {
                    v.expect(
                        &format!("queue position {want}"),
                        |f| matches!(f, ServerFrame::Queue { position, .. } if *position == want),
                    )
                    .await?;
                }
                v.conn
                    .expect_none("AgentJoined", |f| {
                        matches!(
                            f,
                            ServerFrame::Event {
                                event: EventKind::AgentJoined { .. },
                                ..
                            }
                        )
                    })
                    .await?;
                let last = v.conn.latest_queue_position();
                ensure!(
                    last == Some(want),
                    "{} was last told position {last:?}, agents see {want}",
                    v.name
                );
            }
        }

        // Free one slot at a time (agents and visitors take turns ending): the queue head
        // goes to the agent whose chat ended, and the next in line moves to position 1.
        for step in 0..44 {
            let k = step % 3;
            let ending = holding[k].remove(0);
            let vi = visitors
                .iter()
                .position(|v| v.conversation == Some(ending))
                .unwrap();
            if step % 2 == 0 {
                agents[k].end(ending).await?;
            } else {
                visitors[vi].end().await?;
                ensure!(
                    agents[k].expect_removed(ending).await? == RemovalReason::Ended,
                    "removal reason"
                );
            }
            let head = &mut visitors[line[step]];
            let joined = head.expect_agent_joined().await?;
            ensure!(
                joined.id == agents[k].id(),
                "step {step}: {} was joined by {joined:?}, expected {} whose chat ended",
                head.name,
                agents[k].info.name
            );
            let got = agents[k].expect_assigned().await?;
            ensure!(
                got.id == by_position[step],
                "step {step}: agent got {got:?}, queue head is {}",
                by_position[step]
            );
            holding[k].push(got.id);
            if let Some(next) = line.get(step + 1) {
                visitors[*next]
                    .expect("queue position 1", |f| {
                        matches!(f, ServerFrame::Queue { position: 1, .. })
                    })
                    .await?;
            }
        }
        for (agent, cap) in agents.iter_mut().zip(caps) {
            agent.conn.sync().await?;
            assert_never_over_cap(&agent.conn, cap)?;
        }
        Ok(())
    }
    .await;
    relay.finish(outcome)
}
