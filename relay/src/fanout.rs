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
//! Today this is in-process; with several relay nodes a Redis subscriber feeds `publish`.

use axum::extract::ws::Utf8Bytes;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use switchboard_shared::{AgentId, ConversationId, Seq};
use switchboard_store::VisitorId;
use tokio::sync::mpsc;

/// Capacity of each connection's channel: enough for a burst of events while the socket
/// drains, small enough that an idle connection stays cheap.
pub const CONNECTION_CHANNEL: usize = 64;

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

struct Entry {
    party: Party,
    tx: mpsc::Sender<Delivery>,
    topics: Vec<ConversationId>,
}

#[derive(Default)]
struct State {
    next: ConnId,
    conns: HashMap<ConnId, Entry>,
    by_party: HashMap<Party, Vec<ConnId>>,
    topics: HashMap<ConversationId, Vec<ConnId>>,
}

impl State {
    fn remove(&mut self, id: ConnId) {
        let Some(entry) = self.conns.remove(&id) else {
            return;
        };
        if let Some(list) = self.by_party.get_mut(&entry.party) {
            list.retain(|&c| c != id);
            if list.is_empty() {
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
                if entry.tx.try_send(msg.clone()).is_err() {
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

    /// Registers a greeted connection and returns its id and the receiving end.
    pub fn register(&self, party: Party) -> (ConnId, mpsc::Receiver<Delivery>) {
        let (tx, rx) = mpsc::channel(CONNECTION_CHANNEL);
        let mut s = self.lock();
        s.next += 1;
        let id = s.next;
        s.conns.insert(
            id,
            Entry {
                party,
                tx,
                topics: Vec::new(),
            },
        );
        s.by_party.entry(party).or_default().push(id);
        (id, rx)
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
        let ids = s.by_party.get(&party).cloned().unwrap_or_default();
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
        let Some(ids) = s.by_party.get(&party).cloned() else {
            return;
        };
        s.deliver(&ids, &Arc::new(msg));
    }

    /// Every visitor connection (availability changes).
    pub fn broadcast_visitors(&self, msg: Outbound) {
        let mut s = self.lock();
        let ids: Vec<ConnId> = s
            .conns
            .iter()
            .filter(|(_, e)| matches!(e.party, Party::Visitor(_)))
            .map(|(id, _)| *id)
            .collect();
        s.deliver(&ids, &Arc::new(msg));
    }

    pub fn connection_count(&self) -> usize {
        self.lock().conns.len()
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
}
