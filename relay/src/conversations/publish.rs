//! From committed events and routing changes to frames on the wire. Every frame is encoded
//! once, then handed to the hub.

use super::Chat;
use crate::fanout::{Hub, Outbound, Party};
use axum::extract::ws::Utf8Bytes;
use switchboard_shared::{AgentId, ServerFrame};
use switchboard_store::{CommitListener, StoredEvent};

pub fn encode(frame: &ServerFrame) -> Utf8Bytes {
    Utf8Bytes::from(frame.to_json())
}

pub fn event_frame(ev: &StoredEvent) -> Utf8Bytes {
    encode(&ServerFrame::Event {
        conversation_id: ev.conversation_id,
        seq: ev.seq,
        at: ev.at,
        event: ev.event.clone(),
    })
}

/// The store's commit listener: publishes each committed event to the connections that
/// follow its conversation, in commit order (the store guarantees the order; the hub keeps
/// it because each connection has one FIFO channel).
pub struct Publisher {
    hub: Hub,
}

impl Publisher {
    pub fn new(hub: Hub) -> Self {
        Self { hub }
    }
}

impl CommitListener for Publisher {
    fn committed(&self, events: &[StoredEvent]) {
        for ev in events {
            self.hub.publish(
                ev.conversation_id,
                Outbound::Event {
                    conversation_id: ev.conversation_id,
                    seq: ev.seq,
                    frame: event_frame(ev),
                },
            );
        }
    }
}

impl Chat {
    /// Queue positions and estimates to every queued visitor, the queue to every agent, and
    /// the agents-online count to visitors when it changed.
    pub(crate) fn broadcast_queue(&self) {
        let (positions, entries, agents, online) = {
            let r = self.router();
            let positions: Vec<_> = r
                .queue_positions()
                .into_iter()
                .map(|(conv, visitor, pos)| (conv, visitor, pos, r.estimate_secs(pos)))
                .collect();
            (
                positions,
                r.queue_entries(),
                r.connected_agents(),
                r.agents_online(),
            )
        };
        let hub = self.hub();
        for (conversation_id, visitor, position, estimated_wait_secs) in positions {
            let frame = encode(&ServerFrame::Queue {
                conversation_id,
                position,
                estimated_wait_secs,
            });
            hub.send_party(Party::Visitor(visitor), Outbound::Frame(frame));
        }
        let snapshot = encode(&ServerFrame::QueueSnapshot { entries });
        for agent in agents {
            hub.send_party(Party::Agent(agent), Outbound::Frame(snapshot.clone()));
        }
        let changed = {
            let mut last = self
                .inner
                .last_availability
                .lock()
                .unwrap_or_else(|p| p.into_inner());
            let changed = *last != Some(online);
            *last = Some(online);
            changed
        };
        if changed {
            hub.broadcast_visitors(Outbound::Frame(encode(&ServerFrame::Availability {
                agents_online: online,
            })));
        }
    }

    /// The agent's current presence and load, to all their consoles.
    pub(crate) fn send_load(&self, agent: AgentId) {
        let load = self.router().load_of(agent);
        if let Some(load) = load {
            self.hub().send_party(
                Party::Agent(agent),
                Outbound::Frame(encode(&ServerFrame::Load(load))),
            );
        }
    }
}
