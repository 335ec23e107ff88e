//! The hub: which connections a party has, which conversations each follows, and delivery
//! into their mailboxes.

use super::mailbox::{mailbox, MailboxSender};
use super::{ConnId, Delivery, Mailbox, Outbound, Party};
use axum::extract::ws::Utf8Bytes;
use std::collections::hash_map::Entry;
// foldhash rather than std's SipHash: these maps are looked up for every message and their
// keys are ids the relay assigns (~140 instructions per SipHash, callgrind).
use foldhash::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use switchboard_shared::ConversationId;
use tokio::sync::mpsc;

struct Registered {
    party: Party,
    tx: MailboxSender,
    topics: Vec<ConversationId>,
    /// A visitor's site (availability differs by site when agents are limited to sites).
    site: Option<Arc<str>>,
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
        // A greeting connection's mailbox stays for `go_live` (closed now, it yields `None` at
        // once: the connection closes with 4002); `unregister` removes it.
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
        self.register_on(party, None)
    }

    /// As [`Hub::register`], for a visitor of `site`.
    pub fn register_on(
        &self,
        party: Party,
        site: Option<Arc<str>>,
    ) -> (ConnId, mpsc::Receiver<Delivery>) {
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
                site,
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
    /// the hub dropped the connection meanwhile (it fell behind), the mailbox yields `None`
    /// at once; without a registration it is closed and empty.
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

    /// Every visitor connection gets `frame_for(its site)` (availability) as the latest
    /// state; `None` sends nothing to that connection.
    pub fn broadcast_visitors_by_site(&self, frame_for: impl Fn(&str) -> Option<Utf8Bytes>) {
        let s = self.lock();
        for entry in s.conns.values() {
            if let (Party::Visitor(_), Some(site)) = (entry.party, &entry.site) {
                if let Some(frame) = frame_for(site) {
                    entry.tx.set_state(&frame);
                }
            }
        }
    }

    /// Every agent connection gets `frame_for(agent)` (their queue snapshot) as the latest
    /// state; `None` sends nothing to that connection.
    pub fn broadcast_agents_by(&self, frame_for: impl Fn(Party) -> Option<Utf8Bytes>) {
        let s = self.lock();
        for id in &s.agents {
            if let Some(entry) = s.conns.get(id) {
                if let Some(frame) = frame_for(entry.party) {
                    entry.tx.set_state(&frame);
                }
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

#[cfg(test)]
mod tests;
