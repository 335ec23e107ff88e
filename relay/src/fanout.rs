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
//! State that a newer value replaces (the agents-online count for visitors, the queue
//! snapshot for agents) does not travel through those channels at all: each audience has one
//! `watch` slot holding the latest encoded frame, and every connection of that audience
//! holds a receiver (16 bytes). A burst of changes then costs each connection at most one
//! frame, the newest, when it next gets to run; it can never fill a channel and get a
//! healthy-but-busy client dropped (before, 64 queue snapshots in 1.6 s dropped every agent,
//! and the agents-online changes that followed dropped every visitor). Fan-out to every
//! visitor is one `send_replace` plus one wake-up per connection.
//!
//! A live connection's channel is a [`Mailbox`]: a queue behind a mutex, ~100 bytes while
//! empty. tokio's bounded channel allocates ~830 bytes up front (a cache-padded 512-byte
//! header and a first block of 32 slots), about a fifth of an idle connection. Endpoints
//! still get a tokio receiver from [`Hub::register`] (their `greet` returns it); the
//! connection hands it back through [`Hub::go_live`] once greeted, which moves anything
//! queued into the mailbox, in order, and frees it.
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
use tokio::sync::{mpsc, watch};

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

/// The sending end of a connection's channel: tokio's while it greets, its mailbox after.
enum Tx {
    Greeting(mpsc::Sender<Delivery>),
    Live(MailboxSender),
}

impl Tx {
    /// False when the channel is full or its receiver is gone.
    fn try_send(&self, msg: Delivery) -> bool {
        match self {
            Tx::Greeting(tx) => tx.try_send(msg).is_ok(),
            Tx::Live(tx) => tx.try_send(msg),
        }
    }
}

struct Registered {
    party: Party,
    tx: Tx,
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
    /// Latest-state receivers of connections still greeting: subscribed at registration
    /// (before the welcome is built, so no change falls between the two) and taken by the
    /// connection task once it is live. Not in `Registered`, where every live connection would
    /// carry the empty slot.
    pending_latest: HashMap<ConnId, Latest>,
    topics: HashMap<ConversationId, Vec<ConnId>>,
}

impl State {
    fn remove(&mut self, id: ConnId) {
        let Some(entry) = self.conns.remove(&id) else {
            return;
        };
        self.pending_latest.remove(&id);
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

/// The latest state frame of one audience (`None` until the first one).
pub type Latest = watch::Receiver<Option<Utf8Bytes>>;

/// Cheap cloneable handle to the hub.
#[derive(Clone)]
pub struct Hub {
    state: Arc<Mutex<State>>,
    /// Latest `availability` frame, for every visitor connection.
    visitors_latest: Arc<watch::Sender<Option<Utf8Bytes>>>,
    /// Latest `queue_snapshot` frame, for every agent connection.
    agents_latest: Arc<watch::Sender<Option<Utf8Bytes>>>,
}

impl Default for Hub {
    fn default() -> Self {
        Self {
            state: Arc::default(),
            visitors_latest: Arc::new(watch::channel(None).0),
            agents_latest: Arc::new(watch::channel(None).0),
        }
    }
}

impl Hub {
    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while holding this lock cannot leave the maps inconsistent in a way that
        // matters more than losing every connection, so recover the guard.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Registers a greeted connection and returns its id and the receiving end.
    pub fn register(&self, party: Party) -> (ConnId, mpsc::Receiver<Delivery>) {
        let (tx, rx) = mpsc::channel(CONNECTION_CHANNEL);
        let latest = match party {
            Party::Visitor(_) => self.visitors_latest.subscribe(),
            Party::Agent(_) => self.agents_latest.subscribe(),
        };
        let mut s = self.lock();
        s.next += 1;
        let id = s.next;
        s.conns.insert(
            id,
            Registered {
                party,
                tx: Tx::Greeting(tx),
                topics: Vec::new(),
            },
        );
        s.pending_latest.insert(id, latest);
        match s.by_party.entry(party) {
            Entry::Occupied(mut ids) => ids.get_mut().push(id),
            Entry::Vacant(slot) => {
                slot.insert(Ids::One(id));
            }
        }
        (id, rx)
    }

    /// A greeted connection trades the receiver [`register`](Self::register) gave it for its
    /// mailbox. What was queued moves over first, in order: sends happen under the hub lock,
    /// held here, so nothing can slip in between. If the hub already dropped the connection
    /// (or never had it), the mailbox is closed and yields what was queued, then `None`.
    pub fn go_live(&self, id: Option<ConnId>, mut greeting: mpsc::Receiver<Delivery>) -> Mailbox {
        let mut s = self.lock();
        let (tx, mut mailbox) = mailbox();
        let entry = id.and_then(|id| s.conns.get_mut(&id));
        {
            let mut queue = mailbox.lock();
            while let Ok(msg) = greeting.try_recv() {
                queue.items.push_back(msg);
            }
        }
        match entry {
            Some(entry) => entry.tx = Tx::Live(tx),
            None => drop(tx),
        }
        drop(s);
        mailbox.shrink();
        mailbox
    }

    pub fn unregister(&self, id: ConnId) {
        self.lock().remove(id);
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
        self.visitors_latest.send_replace(Some(frame));
    }

    /// Every agent connection gets `frame` (the queue snapshot) as the latest state.
    pub fn broadcast_agents(&self, frame: Utf8Bytes) {
        self.agents_latest.send_replace(Some(frame));
    }

    /// Hands a registered connection its latest-state receiver (once): it reports every
    /// change since the connection registered.
    pub fn latest_for(&self, id: ConnId) -> Option<Latest> {
        self.lock().pending_latest.remove(&id)
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

#[derive(Default)]
struct Queue {
    items: VecDeque<Delivery>,
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

    /// The next delivery; `None` once the hub dropped this connection and the queue is empty.
    pub async fn recv(&mut self) -> Option<Delivery> {
        poll_fn(|cx| self.poll_recv(cx)).await
    }

    fn poll_recv(&mut self, cx: &mut Context<'_>) -> Poll<Option<Delivery>> {
        let mut q = self.lock();
        if let Some(msg) = q.items.pop_front() {
            if q.items.is_empty() && q.items.capacity() > 32 {
                // A burst is over: give its buffer back rather than keep it while idle.
                q.items = VecDeque::new();
            }
            return Poll::Ready(Some(msg));
        }
        if q.sender_gone {
            return Poll::Ready(None);
        }
        if !q.waker.as_ref().is_some_and(|w| w.will_wake(cx.waker())) {
            q.waker = Some(cx.waker().clone());
        }
        Poll::Pending
    }

    /// Frees spare room (after moving a greeting's queue in).
    fn shrink(&mut self) {
        self.lock().items.shrink_to_fit();
    }
}

impl Drop for Mailbox {
    fn drop(&mut self) {
        let mut q = self.lock();
        q.receiver_gone = true;
        q.items.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(s: &str) -> Outbound {
        Outbound::Frame(Utf8Bytes::from(s.to_string()))
    }

    #[tokio::test]
    async fn only_subscribers_of_a_conversation_get_its_events() {
        let hub = Hub::default();
        let (a, mut ra) = hub.register(Party::Agent(AgentId(1)));
        let (_b, mut rb) = hub.register(Party::Agent(AgentId(2)));
        hub.subscribe(a, ConversationId(7));
        hub.publish(ConversationId(7), frame("x"));
        assert!(ra.try_recv().is_ok());
        assert!(rb.try_recv().is_err());
    }

    #[tokio::test]
    async fn a_connection_that_cannot_keep_up_is_dropped_not_waited_for() {
        let hub = Hub::default();
        let (a, mut ra) = hub.register(Party::Visitor(VisitorId(1)));
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
    async fn a_burst_of_state_changes_reaches_a_slow_connection_as_the_newest_only() {
        let hub = Hub::default();
        let (v, _rv) = hub.register(Party::Visitor(VisitorId(1)));
        let (a, _ra) = hub.register(Party::Agent(AgentId(1)));
        let mut latest_v = hub.latest_for(v).unwrap();
        let mut latest_a = hub.latest_for(a).unwrap();
        for n in 0..1000 {
            hub.broadcast_visitors(Utf8Bytes::from(format!("online {n}")));
        }
        assert_eq!(hub.connection_count(), 2, "nobody is dropped");
        latest_v.changed().await.unwrap();
        assert_eq!(
            latest_v
                .borrow_and_update()
                .as_ref()
                .map(|f| f.as_str().to_string()),
            Some("online 999".to_string())
        );
        assert!(!latest_v.has_changed().unwrap(), "one frame for the burst");
        assert!(
            !latest_a.has_changed().unwrap(),
            "agents do not get visitor state"
        );
        hub.broadcast_agents(Utf8Bytes::from_static("queue"));
        latest_a.changed().await.unwrap();
        assert!(!latest_v.has_changed().unwrap());
    }

    #[tokio::test]
    async fn going_live_keeps_what_was_queued_in_order_then_takes_new_deliveries() {
        let hub = Hub::default();
        let (a, ra) = hub.register(Party::Visitor(VisitorId(1)));
        hub.subscribe(a, ConversationId(1));
        hub.publish(ConversationId(1), frame("1"));
        hub.publish(ConversationId(1), frame("2"));
        let mut live = hub.go_live(Some(a), ra);
        hub.publish(ConversationId(1), frame("3"));
        for want in ["1", "2", "3"] {
            match live.recv().await.as_deref() {
                Some(Outbound::Frame(f)) => assert_eq!(f.as_str(), want),
                other => panic!("expected frame {want}, got {other:?}"),
            }
        }
        hub.unregister(a);
        assert!(
            live.recv().await.is_none(),
            "unregistered: the mailbox closes"
        );
    }

    #[tokio::test]
    async fn a_live_connection_that_cannot_keep_up_is_dropped_after_its_queue_drains() {
        let hub = Hub::default();
        let (a, ra) = hub.register(Party::Visitor(VisitorId(1)));
        hub.subscribe(a, ConversationId(1));
        let mut live = hub.go_live(Some(a), ra);
        for _ in 0..=CONNECTION_CHANNEL {
            hub.publish(ConversationId(1), frame("x"));
        }
        assert_eq!(hub.connection_count(), 0);
        let mut n = 0;
        while live.recv().await.is_some() {
            n += 1;
        }
        assert_eq!(n, CONNECTION_CHANNEL);
    }

    #[tokio::test]
    async fn a_waiting_connection_wakes_for_a_delivery_and_a_closed_mailbox_refuses() {
        let hub = Hub::default();
        let (a, ra) = hub.register(Party::Agent(AgentId(1)));
        hub.subscribe(a, ConversationId(2));
        let mut live = hub.go_live(Some(a), ra);
        let waiting = tokio::spawn(async move { live.recv().await.is_some() });
        tokio::task::yield_now().await;
        hub.publish(ConversationId(2), frame("y"));
        assert!(waiting.await.unwrap());
        // The receiver is gone now: the next delivery drops the connection from the hub.
        hub.publish(ConversationId(2), frame("z"));
        assert_eq!(hub.connection_count(), 0);
    }

    #[tokio::test]
    async fn going_live_after_the_hub_dropped_the_connection_yields_the_queue_then_closes() {
        let hub = Hub::default();
        let (a, ra) = hub.register(Party::Visitor(VisitorId(1)));
        hub.subscribe(a, ConversationId(1));
        hub.publish(ConversationId(1), frame("1"));
        hub.unregister(a);
        let mut live = hub.go_live(Some(a), ra);
        assert!(live.recv().await.is_some());
        assert!(live.recv().await.is_none());
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
        let (a, ra) = hub.register(Party::Agent(AgentId(1)));
        let (b, mut rb) = hub.register(Party::Agent(AgentId(1)));
        let mut la = hub.go_live(Some(a), ra);
        hub.send_party(Party::Agent(AgentId(1)), frame("both"));
        assert!(la.recv().await.is_some());
        assert!(rb.try_recv().is_ok());
        hub.unregister(b);
        hub.send_party(Party::Agent(AgentId(1)), frame("a only"));
        assert!(la.recv().await.is_some());
        hub.unregister(a);
        assert_eq!(hub.connection_count(), 0);
        let state = hub.lock();
        assert!(state.by_party.is_empty() && state.pending_latest.is_empty());
    }
}
