//! Fan-out: who is connected, and who listens to which conversation, kept apart (as in
//! centrifuge's hub). A frame is encoded once; every receiver gets a cheap clone of the same
//! bytes.
//!
//! Each connection has one bounded channel. The hub never waits on it: when a connection's
//! channel is full the hub forgets that connection and drops its sender, so the connection
//! task sees its channel close, tells the client to reconnect (close code 4002) and the
//! client resumes from its last sequence number. A slow reader therefore costs itself a
//! reconnect, never the relay memory or other clients latency.
//!
//! Each connection's channel is a [`Mailbox`]: a queue behind a mutex, ~100 bytes while
//! empty (tokio's bounded channel allocates ~830 bytes up front: a cache-padded 512-byte
//! header and a first block of 32 slots, a fifth of an idle connection).
//!
//! State that a newer value replaces (the agents-online count for visitors, the queue
//! snapshot for agents) does not queue: each mailbox has one slot for the latest state
//! frame, which a broadcast overwrites. A burst of changes then costs each connection at
//! most one frame, the newest, when it next gets to run; it can never fill a channel and
//! get a healthy-but-busy client dropped (before, 64 queue snapshots in 1.6 s dropped every
//! agent, and the agents-online changes that followed dropped every visitor). Fan-out to
//! every visitor is one slot write and one wake-up per connection, under the hub lock (a
//! `watch` receiver per connection did the same wake-ups but cost each idle connection
//! 170 bytes of waiting state).
//!
//! Endpoints still get a tokio receiver from [`Hub::register`] (their `greet` returns it);
//! it never receives anything. The hub delivers into the mailbox from registration on, and
//! the connection takes it with [`Hub::go_live`] once greeted.
//!
//! Today this is in-process; with several relay nodes a Redis subscriber feeds `publish`.

use axum::extract::ws::Utf8Bytes;
use std::collections::hash_map::Entry;
use std::collections::{HashMap, VecDeque};
use std::future::poll_fn;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll, Waker};
use switchboard_shared::{AgentId, ConversationId, Seq};
use switchboard_store::VisitorId;
use tokio::sync::mpsc;

/// Capacity of each connection's channel, in frames. A connection task handles its own
/// client's commands inline, so while it waits for a durable write (the group commit's p99
/// was 0.1–0.3 s at 3,000–5,000 msgs/s) the events of its conversations queue up: an agent
/// with 8 busy chats gets ~100 frames/s. 64 slots dropped healthy agents with 4002 at
/// 5,000 msgs/s (12,611 messages cut off in one run); 512 tolerates a stall of ~5 s. The
/// bound is a count, not a reservation: a [`Mailbox`] grows as it fills and gives its
/// buffer back once drained, so only a connection that really falls behind holds more (at
/// most 512 pointers to frames shared with other receivers).
pub const CONNECTION_CHANNEL: usize = 512;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Party {
    Visitor(VisitorId),
    Agent(AgentId),
}

pub type ConnId = u64;

/// What travels through a connection's channel: shared, so one publish allocates once
/// whatever the number of receivers, and a channel slot is one pointer (an idle channel's
/// first block of slots is allocated up front, so slot size is per-connection memory).
pub type Delivery = Arc<Outbound>;

/// What the relay asks a connection task to do.
#[derive(Debug, Clone)]
pub enum Outbound {
    /// A durable event (already encoded). The task drops seqs it already sent.
    Event {
        conversation_id: ConversationId,
        seq: Seq,
        frame: Utf8Bytes,
    },
    /// An ephemeral frame, sent as is.
    Frame(Utf8Bytes),
    /// Start following a conversation: send `announce` first (if any), then replay history.
    Follow {
        conversation_id: ConversationId,
        announce: Option<Utf8Bytes>,
    },
    /// Stop following a conversation, then send `frame`.
    Unfollow {
        conversation_id: ConversationId,
        frame: Utf8Bytes,
    },
    /// The agent session with this token hash was revoked: close if it is yours.
    SessionRevoked(Box<[u8; 32]>),
    /// Every session of this party was revoked (the agent was disabled): close.
    AllSessionsRevoked,
}

struct Registered {
    party: Party,
    tx: MailboxSender,
    topics: Vec<ConversationId>,
}

/// The connections of one party: nearly always one, kept inline (a `Vec` would be one more
/// heap block per visitor).
#[derive(Debug, Clone, PartialEq)]
enum Ids {
    One(ConnId),
    Many(Vec<ConnId>),
}

impl Ids {
    fn push(&mut self, id: ConnId) {
        match self {
            Ids::One(first) => *self = Ids::Many(vec![*first, id]),
            Ids::Many(ids) => ids.push(id),
        }
    }

    /// Removes `id`; true when no connection is left.
    fn remove(&mut self, id: ConnId) -> bool {
        match self {
            Ids::One(only) => *only == id,
            Ids::Many(ids) => {
                ids.retain(|&c| c != id);
                ids.is_empty()
            }
        }
    }

    fn to_vec(&self) -> Vec<ConnId> {
        match self {
            Ids::One(id) => vec![*id],
            Ids::Many(ids) => ids.clone(),
        }
    }
}

#[derive(Default)]
struct State {
    next: ConnId,
    conns: HashMap<ConnId, Registered>,
    by_party: HashMap<Party, Ids>,
    /// Mailboxes of connections still greeting (delivered to from registration on, so no
    /// event or state change falls between the welcome and the loop); taken by
    /// [`Hub::go_live`].
    greeting: HashMap<ConnId, Mailbox>,
    /// Agent connections (few), for the queue snapshot.
    agents: Vec<ConnId>,
    topics: HashMap<ConversationId, Vec<ConnId>>,
}

impl State {
    fn remove(&mut self, id: ConnId) {
        let Some(entry) = self.conns.remove(&id) else {
            return;
        };
        // A greeting connection's mailbox stays for `go_live` (closed now, it yields what was
        // queued, then `None`); `unregister` removes it.
        if let Party::Agent(_) = entry.party {
            self.agents.retain(|&c| c != id);
        }
        if let Some(ids) = self.by_party.get_mut(&entry.party) {
            if ids.remove(id) {
                self.by_party.remove(&entry.party);
            }
        }
        for topic in entry.topics {
            self.unlink(topic, id);
        }
    }

    fn unlink(&mut self, topic: ConversationId, id: ConnId) {
        if let Some(list) = self.topics.get_mut(&topic) {
            list.retain(|&c| c != id);
            if list.is_empty() {
                self.topics.remove(&topic);
            }
        }
    }

    /// Sends without waiting; a full or closed channel drops the connection (see module docs).
    fn deliver(&mut self, ids: &[ConnId], msg: &Delivery) {
        let mut dead = Vec::new();
        for id in ids {
            if let Some(entry) = self.conns.get(id) {
                if !entry.tx.try_send(msg.clone()) {
                    dead.push(*id);
                }
            }
        }
        for id in dead {
            tracing::debug!(
                conn = id,
                "connection too slow or gone; dropping it from the hub"
            );
            self.remove(id);
        }
    }
}

/// Cheap cloneable handle to the hub.
#[derive(Clone, Default)]
pub struct Hub {
    state: Arc<Mutex<State>>,
}

impl Hub {
    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while holding this lock cannot leave the maps inconsistent in a way that
        // matters more than losing every connection, so recover the guard.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Registers a connection that passed its `hello` checks. The receiver it returns never
    /// receives anything (`Endpoint::greet` still names tokio's type); the hub delivers into
    /// the connection's mailbox, which [`go_live`](Self::go_live) hands over.
    pub fn register(&self, party: Party) -> (ConnId, mpsc::Receiver<Delivery>) {
        let (tx, mailbox) = mailbox();
        let mut s = self.lock();
        s.next += 1;
        let id = s.next;
        s.conns.insert(
            id,
            Registered {
                party,
                tx,
                topics: Vec::new(),
            },
        );
        s.greeting.insert(id, mailbox);
        if let Party::Agent(_) = party {
            s.agents.push(id);
        }
        match s.by_party.entry(party) {
            Entry::Occupied(mut ids) => ids.get_mut().push(id),
            Entry::Vacant(slot) => {
                slot.insert(Ids::One(id));
            }
        }
        drop(s);
        (id, mpsc::channel(1).1)
    }

    /// The greeted connection's mailbox, with everything delivered since registration. If
    /// the hub dropped the connection meanwhile (it fell behind), the mailbox yields what
    /// was queued, then `None`; without a registration it is closed and empty.
    pub fn go_live(&self, id: Option<ConnId>, greeting: mpsc::Receiver<Delivery>) -> Mailbox {
        drop(greeting);
        let taken = id.and_then(|id| self.lock().greeting.remove(&id));
        taken.unwrap_or_else(|| mailbox().1)
    }

    pub fn unregister(&self, id: ConnId) {
        let mut s = self.lock();
        s.remove(id);
        s.greeting.remove(&id);
    }

    /// The connection follows a conversation's events from now on.
    pub fn subscribe(&self, id: ConnId, topic: ConversationId) {
        let mut s = self.lock();
        let Some(entry) = s.conns.get_mut(&id) else {
            return;
        };
        if entry.topics.contains(&topic) {
            return;
        }
        entry.topics.push(topic);
        s.topics.entry(topic).or_default().push(id);
    }

    /// Every connection of `party` stops following `topic` (transfer, requeue, end).
    pub fn unsubscribe_party(&self, party: Party, topic: ConversationId) {
        let mut s = self.lock();
        let ids = s.by_party.get(&party).map(Ids::to_vec).unwrap_or_default();
        for id in ids {
            if let Some(entry) = s.conns.get_mut(&id) {
                entry.topics.retain(|&t| t != topic);
            }
            s.unlink(topic, id);
        }
    }

    pub fn publish(&self, topic: ConversationId, msg: Outbound) {
        let mut s = self.lock();
        let Some(ids) = s.topics.get(&topic).cloned() else {
            return;
        };
        s.deliver(&ids, &Arc::new(msg));
    }

    pub fn send_party(&self, party: Party, msg: Outbound) {
        let mut s = self.lock();
        let Some(ids) = s.by_party.get(&party).map(Ids::to_vec) else {
            return;
        };
        s.deliver(&ids, &Arc::new(msg));
    }

    /// Every visitor connection gets `frame` (availability) as the latest state, replacing
    /// any not yet sent.
    pub fn broadcast_visitors(&self, frame: Utf8Bytes) {
        let s = self.lock();
        for entry in s.conns.values() {
            if let Party::Visitor(_) = entry.party {
                entry.tx.set_state(&frame);
            }
        }
    }

    /// Every agent connection gets `frame` (the queue snapshot) as the latest state.
    pub fn broadcast_agents(&self, frame: Utf8Bytes) {
        let s = self.lock();
        for id in &s.agents {
            if let Some(entry) = s.conns.get(id) {
                entry.tx.set_state(&frame);
            }
        }
    }

    pub fn connection_count(&self) -> usize {
        self.lock().conns.len()
    }
}

/// A connection's channel once it is live: bounded by [`CONNECTION_CHANNEL`], never waited
/// on by the sender (see the module docs), closed for the receiver when the hub drops the
/// sender. An empty mailbox holds no buffer.
pub struct Mailbox(Arc<Mutex<Queue>>);

/// The hub's end of a [`Mailbox`].
struct MailboxSender(Arc<Mutex<Queue>>);

/// What a connection's mailbox yields.
#[derive(Debug)]
pub enum Mail {
    Delivery(Delivery),
    /// The newest state frame of the connection's audience (availability or queue snapshot).
    State(Utf8Bytes),
}

#[derive(Default)]
struct Queue {
    items: VecDeque<Delivery>,
    /// The latest state frame not yet taken; a newer one replaces it.
    state: Option<Utf8Bytes>,
    /// The connection task waiting for an item.
    waker: Option<Waker>,
    sender_gone: bool,
    receiver_gone: bool,
}

fn mailbox() -> (MailboxSender, Mailbox) {
    let shared = Arc::new(Mutex::new(Queue::default()));
    (MailboxSender(shared.clone()), Mailbox(shared))
}

fn lock_queue(q: &Mutex<Queue>) -> MutexGuard<'_, Queue> {
    // Every critical section leaves the queue consistent; a panic elsewhere cannot break it.
    q.lock().unwrap_or_else(|p| p.into_inner())
}

impl MailboxSender {
    fn try_send(&self, msg: Delivery) -> bool {
        let mut q = lock_queue(&self.0);
        if q.receiver_gone || q.items.len() >= CONNECTION_CHANNEL {
            return false;
        }
        q.items.push_back(msg);
        let waker = q.waker.take();
        drop(q);
        if let Some(w) = waker {
            w.wake();
        }
        true
    }
}

impl MailboxSender {
    fn set_state(&self, frame: &Utf8Bytes) {
        let mut q = lock_queue(&self.0);
        if q.receiver_gone {
            return;
        }
        q.state = Some(frame.clone());
        let waker = q.waker.take();
        drop(q);
        if let Some(w) = waker {
            w.wake();
        }
    }
}

impl Drop for MailboxSender {
    fn drop(&mut self) {
        let mut q = lock_queue(&self.0);
        q.sender_gone = true;
        let waker = q.waker.take();
        drop(q);
        if let Some(w) = waker {
            w.wake();
        }
    }
}

impl Mailbox {
    fn lock(&mut self) -> MutexGuard<'_, Queue> {
        lock_queue(&self.0)
    }

    /// Whether [`Mailbox::recv`] would answer at once (a delivery, a state frame, or the
    /// hub's goodbye).
    pub fn has_mail(&mut self) -> bool {
        let q = self.lock();
        !q.items.is_empty() || q.state.is_some() || q.sender_gone
    }

    /// The next delivery (in order), else the latest state frame; `None` once the hub
    /// dropped this connection and the queue is empty.
    pub async fn recv(&mut self) -> Option<Mail> {
        poll_fn(|cx| self.poll_recv(cx)).await
    }

    fn poll_recv(&mut self, cx: &mut Context<'_>) -> Poll<Option<Mail>> {
        let mut q = self.lock();
        if let Some(msg) = q.items.pop_front() {
            if q.items.is_empty() && q.items.capacity() > 32 {
                // A burst is over: give its buffer back rather than keep it while idle.
                q.items = VecDeque::new();
            }
            return Poll::Ready(Some(Mail::Delivery(msg)));
        }
        if q.sender_gone {
            return Poll::Ready(None);
        }
        if let Some(frame) = q.state.take() {
            return Poll::Ready(Some(Mail::State(frame)));
        }
        if !q.waker.as_ref().is_some_and(|w| w.will_wake(cx.waker())) {
            q.waker = Some(cx.waker().clone());
        }
        Poll::Pending
    }
}

impl Drop for Mailbox {
    fn drop(&mut self) {
        let mut q = self.lock();
        q.receiver_gone = true;
        q.items.clear();
        q.state = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
    async fn a_connection_that_cannot_keep_up_is_dropped_after_its_queue_drains() {
        let hub = Hub::default();
        let (a, mut ra) = live(&hub, Party::Visitor(VisitorId(1)));
        hub.subscribe(a, ConversationId(1));
        for _ in 0..=CONNECTION_CHANNEL {
            hub.publish(ConversationId(1), frame("x"));
        }
        assert_eq!(hub.connection_count(), 0);
        let mut n = 0;
        while ra.recv().await.is_some() {
            n += 1;
        }
        assert_eq!(
            n, CONNECTION_CHANNEL,
            "buffered frames drain, then the channel closes"
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
    async fn a_connection_dropped_while_greeting_gets_its_queue_then_the_close() {
        let hub = Hub::default();
        let (a, rx) = hub.register(Party::Visitor(VisitorId(1)));
        hub.subscribe(a, ConversationId(1));
        for _ in 0..=CONNECTION_CHANNEL {
            hub.publish(ConversationId(1), frame("x"));
        }
        assert_eq!(hub.connection_count(), 0);
        let mut live = hub.go_live(Some(a), rx);
        let mut n = 0;
        while live.recv().await.is_some() {
            n += 1;
        }
        assert_eq!(n, CONNECTION_CHANNEL);
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
}
