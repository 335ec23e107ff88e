use super::*;
use crate::fanout::{Mail, CONNECTION_CHANNEL};
use std::task::{Context, Poll};
use switchboard_shared::AgentId;
use switchboard_store::VisitorId;

fn frame(s: &str) -> Outbound {
    Outbound::Frame(Utf8Bytes::from(s.to_string()))
}

/// Registers and greets at once: the connection's mailbox.
fn live(hub: &Hub, party: Party) -> (ConnId, Mailbox) {
    let (id, rx) = hub.register(party);
    (id, hub.go_live(Some(id), rx))
}

fn text(mail: Option<Mail>) -> String {
    match mail {
        Some(Mail::Delivery(d)) => match &*d {
            Outbound::Frame(f) => f.as_str().to_string(),
            other => format!("{other:?}"),
        },
        Some(Mail::State(f)) => format!("state {}", f.as_str()),
        None => "closed".to_string(),
    }
}

/// What the mailbox holds right now (without waiting).
fn ready(mailbox: &mut Mailbox) -> Option<Mail> {
    let waker = std::task::Waker::noop();
    match mailbox.poll_recv(&mut Context::from_waker(waker)) {
        Poll::Ready(mail) => mail,
        Poll::Pending => None,
    }
}

#[tokio::test]
async fn only_subscribers_of_a_conversation_get_its_events() {
    let hub = Hub::default();
    let (a, mut ra) = live(&hub, Party::Agent(AgentId(1)));
    let (_b, mut rb) = live(&hub, Party::Agent(AgentId(2)));
    hub.subscribe(a, ConversationId(7));
    hub.publish(ConversationId(7), frame("x"));
    assert_eq!(text(ready(&mut ra)), "x");
    assert!(ready(&mut rb).is_none());
}

#[tokio::test]
async fn a_connection_that_cannot_keep_up_is_dropped_and_told_at_once() {
    let hub = Hub::default();
    let (a, mut ra) = live(&hub, Party::Visitor(VisitorId(1)));
    hub.subscribe(a, ConversationId(1));
    for _ in 0..=CONNECTION_CHANNEL {
        hub.publish(ConversationId(1), frame("x"));
    }
    assert_eq!(hub.connection_count(), 0);
    assert!(
        ra.recv().await.is_none(),
        "the close comes ahead of the backlog, which is discarded (the client resumes)"
    );
}

#[tokio::test]
async fn what_arrives_while_greeting_waits_in_order_for_the_live_connection() {
    let hub = Hub::default();
    let (a, rx) = hub.register(Party::Visitor(VisitorId(1)));
    hub.subscribe(a, ConversationId(1));
    hub.publish(ConversationId(1), frame("1"));
    hub.broadcast_visitors(Utf8Bytes::from_static("online 1"));
    hub.publish(ConversationId(1), frame("2"));
    let mut live = hub.go_live(Some(a), rx);
    hub.publish(ConversationId(1), frame("3"));
    for want in ["1", "2", "3", "state online 1"] {
        assert_eq!(text(live.recv().await), want);
    }
    hub.unregister(a);
    assert!(
        live.recv().await.is_none(),
        "unregistered: the mailbox closes"
    );
}

#[tokio::test]
async fn a_connection_dropped_while_greeting_is_closed_when_it_goes_live() {
    let hub = Hub::default();
    let (a, rx) = hub.register(Party::Visitor(VisitorId(1)));
    hub.subscribe(a, ConversationId(1));
    for _ in 0..=CONNECTION_CHANNEL {
        hub.publish(ConversationId(1), frame("x"));
    }
    assert_eq!(hub.connection_count(), 0);
    let mut live = hub.go_live(Some(a), rx);
    assert!(
        live.recv().await.is_none(),
        "closed at once, the backlog discarded"
    );
    hub.unregister(a);
    assert!(hub.lock().greeting.is_empty());
}

#[tokio::test]
async fn a_failed_greeting_leaves_nothing_behind() {
    let hub = Hub::default();
    let (a, _rx) = hub.register(Party::Agent(AgentId(1)));
    hub.unregister(a);
    let s = hub.lock();
    assert!(s.conns.is_empty() && s.greeting.is_empty());
    assert!(s.by_party.is_empty() && s.agents.is_empty());
}

#[tokio::test]
async fn a_waiting_connection_wakes_for_a_delivery_and_a_closed_mailbox_refuses() {
    let hub = Hub::default();
    let (a, mut live) = live(&hub, Party::Agent(AgentId(1)));
    hub.subscribe(a, ConversationId(2));
    let waiting = tokio::spawn(async move { live.recv().await.is_some() });
    tokio::task::yield_now().await;
    hub.publish(ConversationId(2), frame("y"));
    assert!(waiting.await.unwrap());
    // The receiver is gone now: the next delivery drops the connection from the hub.
    hub.publish(ConversationId(2), frame("z"));
    assert_eq!(hub.connection_count(), 0);
}

#[tokio::test]
async fn a_burst_of_state_changes_reaches_a_slow_connection_as_the_newest_only() {
    let hub = Hub::default();
    let (_v, mut rv) = live(&hub, Party::Visitor(VisitorId(1)));
    let (_a, mut ra) = live(&hub, Party::Agent(AgentId(1)));
    for n in 0..1000 {
        hub.broadcast_visitors(Utf8Bytes::from(format!("online {n}")));
    }
    assert_eq!(hub.connection_count(), 2, "nobody is dropped");
    assert_eq!(text(rv.recv().await), "state online 999");
    assert!(ready(&mut rv).is_none(), "one frame for the burst");
    assert!(ready(&mut ra).is_none(), "agents do not get visitor state");
    hub.broadcast_agents(Utf8Bytes::from_static("queue"));
    assert_eq!(text(ra.recv().await), "state queue");
    assert!(ready(&mut rv).is_none());
}

#[tokio::test]
async fn a_waiting_connection_wakes_for_a_state_change() {
    let hub = Hub::default();
    let (_v, mut rv) = live(&hub, Party::Visitor(VisitorId(1)));
    let waiting = tokio::spawn(async move { text(rv.recv().await) });
    tokio::task::yield_now().await;
    hub.broadcast_visitors(Utf8Bytes::from_static("online 3"));
    assert_eq!(waiting.await.unwrap(), "state online 3");
}

#[test]
fn a_party_with_one_connection_keeps_it_inline_and_several_in_a_list() {
    let mut ids = Ids::One(1);
    assert!(!ids.remove(2));
    ids.push(2);
    assert_eq!(ids, Ids::Many(vec![1, 2]));
    assert!(!ids.remove(1));
    assert_eq!(ids.to_vec(), vec![2]);
    assert!(ids.remove(2), "the last one gone");
    assert!(Ids::One(3).remove(3));
}

#[tokio::test]
async fn every_connection_of_a_party_gets_what_is_sent_to_it() {
    let hub = Hub::default();
    let (a, mut la) = live(&hub, Party::Agent(AgentId(1)));
    let (b, mut lb) = live(&hub, Party::Agent(AgentId(1)));
    hub.send_party(Party::Agent(AgentId(1)), frame("both"));
    assert_eq!(text(ready(&mut la)), "both");
    assert_eq!(text(ready(&mut lb)), "both");
    hub.unregister(b);
    hub.send_party(Party::Agent(AgentId(1)), frame("a only"));
    assert_eq!(text(ready(&mut la)), "a only");
    hub.unregister(a);
    assert_eq!(hub.connection_count(), 0);
    let state = hub.lock();
    assert!(state.by_party.is_empty() && state.agents.is_empty());
}
