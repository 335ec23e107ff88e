//! Routing: agents get chats up to their cap, the rest wait in a FIFO queue, and a freed
//! slot admits the head of the queue at once.

use anyhow::{ensure, Result};
use futures_util::future::join_all;
use std::collections::HashMap;
use switchboard_e2e::{AgentClient, Relay, VisitorClient, WsConn};
use switchboard_shared::{AgentId, ConversationId, EventKind, RemovalReason, ServerFrame};

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
                ensure!(load.active <= cap, "{}: load frame says {} active, cap {cap}", agent.label(), load.active);
                ensure!(load.max == cap, "{}: load frame says max {}, cap {cap}", agent.label(), load.max);
            }
            _ => {}
        }
        ensure!(holding <= cap as i64, "{}: held {holding} chats at once, cap {cap}", agent.label());
        ensure!(holding >= 0, "{}: more removals than assignments", agent.label());
    }
    Ok(())
}

#[tokio::test]
async fn four_chats_fill_two_agents_of_cap_two_and_the_fifth_visitor_is_admitted_when_a_chat_ends() -> Result<()> {
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
        ensure!(joined_by.get(&anna.id).map(Vec::len) == Some(2), "AgentJoined per agent: {joined_by:?}");
        ensure!(joined_by.get(&ben.id).map(Vec::len) == Some(2), "AgentJoined per agent: {joined_by:?}");

        // The agents' side agrees: each got exactly the two conversations naming them.
        for (agent, info) in [(&mut a, &anna), (&mut b, &ben)] {
            let mut got = vec![agent.expect_assigned().await?.id, agent.expect_assigned().await?.id];
            got.sort();
            let mut want: Vec<ConversationId> =
                joined_by[&info.id].iter().map(|&i| visitors[i].conversation.unwrap()).collect();
            want.sort();
            ensure!(got == want, "{} was assigned {got:?}, visitors saw {want:?}", info.name);
            agent.conn.expect_none("third assignment", |f| matches!(f, ServerFrame::ConversationAssigned { .. })).await?;
        }

        // The fifth waits first in line and is not routed.
        let mut fifth = VisitorClient::started(&relay, "visitor4").await?;
        fifth.expect("queue position 1", |f| matches!(f, ServerFrame::Queue { position: 1, .. })).await?;
        fifth
            .conn
            .expect_none("AgentJoined while all agents are full", |f| {
                matches!(f, ServerFrame::Event { event: EventKind::AgentJoined { .. }, .. })
            })
            .await?;

        // Anna ends one of her chats: the fifth visitor is hers at once, Ben gets nothing.
        let first_of_anna = joined_by[&anna.id][0];
        let ended = visitors[first_of_anna].conversation_id()?;
        ensure!(a.end(ended).await? == RemovalReason::Ended, "removal reason of an ended chat");
        visitors[first_of_anna].expect_event("Ended", |e| matches!(e, EventKind::Ended { .. })).await?;
        let joined = fifth.expect_agent_joined().await?;
        ensure!(joined.id == anna.id, "the fifth visitor got {joined:?}, expected Anna whose chat ended");
        let assigned = a.expect_assigned().await?;
        ensure!(assigned.id == fifth.conversation_id()?, "Anna was assigned {assigned:?}");
        b.conn.expect_none("assignment to Ben", |f| matches!(f, ServerFrame::ConversationAssigned { .. })).await?;
        assert_never_over_cap(&a.conn, 2)?;
        assert_never_over_cap(&b.conn, 2)?;
        Ok(())
    }
    .await;
    relay.finish(outcome)
}

/// FIFO, observably: the relay numbers conversations in the order it creates them (the
/// store's autoincrement id), and a conversation is created when the relay processes
/// `start_conversation`. So "order of arrival at the relay" is ascending conversation id,
/// and FIFO means: the first chats routed are the lowest ids, queue positions rise with
/// the id, and each freed slot admits the lowest waiting id.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_concurrent_visitors_fill_three_agents_to_their_caps_and_the_rest_wait_and_are_admitted_in_fifo_order(
) -> Result<()> {
    let relay = Relay::spawn().await?;
    let outcome: Result<()> = async {
        let caps = [1u32, 2, 3];
        let mut agents = Vec::new();
        for (i, cap) in caps.iter().enumerate() {
            let info = relay.add_agent(&format!("Agent{i}"), *cap).await?;
            agents.push(AgentClient::connect(&relay, &info).await?.0);
        }

        let relay_ref = &relay;
        let arrivals = join_all((0..50).map(|i| async move {
            VisitorClient::started(relay_ref, &format!("visitor{i}")).await
        }))
        .await;
        let mut visitors = arrivals.into_iter().collect::<Result<Vec<_>>>()?;
        visitors.sort_by_key(|v| v.conversation);
        let ids: Vec<ConversationId> = visitors.iter().map(|v| v.conversation.unwrap()).collect();

        // Each agent is assigned exactly its cap, and not one more.
        let mut holding: Vec<Vec<ConversationId>> = Vec::new();
        for (agent, cap) in agents.iter_mut().zip(caps) {
            let mut mine = Vec::new();
            for _ in 0..cap {
                mine.push(agent.expect_assigned().await?.id);
            }
            agent.conn.expect_none("assignment over the cap", |f| matches!(f, ServerFrame::ConversationAssigned { .. })).await?;
            holding.push(mine);
        }
        let mut assigned: Vec<ConversationId> = holding.iter().flatten().copied().collect();
        assigned.sort();
        ensure!(assigned == ids[..6], "routed {assigned:?}, but the six earliest arrivals are {:?}", &ids[..6]);

        // The six routed visitors see their agent join; the 44 others wait at positions
        // 1..=44 in arrival order.
        for (i, v) in visitors.iter_mut().enumerate() {
            let id = v.conversation.unwrap();
            if i < 6 {
                let joined = v.expect_agent_joined().await?;
                let owner = holding.iter().position(|h| h.contains(&id)).unwrap();
                ensure!(joined.id == agents[owner].id(), "{} joined by {joined:?}", v.name);
            } else {
                if v.conn.latest_queue_position().is_none() {
                    v.expect("a queue frame", |f| matches!(f, ServerFrame::Queue { .. })).await?;
                }
                v.conn.expect_none("AgentJoined", |f| {
                    matches!(f, ServerFrame::Event { event: EventKind::AgentJoined { .. }, .. })
                })
                .await?;
                let position = v.conn.latest_queue_position().unwrap();
                ensure!(position as usize == i - 5, "{} (conversation {id}) is at position {position}, expected {}", v.name, i - 5);
            }
        }
        // Agents see the same queue.
        let snapshot = agents[0]
            .expect("a queue snapshot of 44", |f| matches!(f, ServerFrame::QueueSnapshot { entries } if entries.len() == 44))
            .await?;
        if let ServerFrame::QueueSnapshot { entries } = snapshot {
            let order: Vec<(ConversationId, u32)> = entries.iter().map(|e| (e.conversation_id, e.position)).collect();
            let want: Vec<(ConversationId, u32)> = ids[6..].iter().copied().zip(1..).collect();
            ensure!(order == want, "queue snapshot {order:?}");
        }

        // Free one slot at a time (agents and visitors take turns ending): the queue head
        // goes to the agent whose chat ended, and the next in line moves to position 1.
        let mut next_waiting = 6;
        for step in 0..44 {
            let k = step % 3;
            let ending = holding[k].remove(0);
            let vi = ids.iter().position(|c| *c == ending).unwrap();
            if step % 2 == 0 {
                agents[k].end(ending).await?;
            } else {
                visitors[vi].end().await?;
                ensure!(agents[k].expect_removed(ending).await? == RemovalReason::Ended, "removal reason");
            }
            let head = &mut visitors[next_waiting];
            let joined = head.expect_agent_joined().await?;
            ensure!(
                joined.id == agents[k].id(),
                "step {step}: {} was joined by {joined:?}, expected {} whose chat ended",
                head.name,
                agents[k].info.name
            );
            let got = agents[k].expect_assigned().await?;
            ensure!(got.id == ids[next_waiting], "step {step}: agent got {got:?}, queue head is {}", ids[next_waiting]);
            holding[k].push(got.id);
            next_waiting += 1;
            if next_waiting < 50 {
                visitors[next_waiting]
                    .expect("queue position 1", |f| matches!(f, ServerFrame::Queue { position: 1, .. }))
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
