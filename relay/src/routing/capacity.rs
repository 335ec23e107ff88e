//! One agent's chat slots. A slot is held exactly while the conversation id is in `active`;
//! the router is the only code that inserts or removes ids, so capacity is freed by one path
//! whatever ends the chat (end, transfer, grace timeout).

use std::collections::BTreeSet;
use std::sync::Arc;
use switchboard_shared::{ConversationId, Load, Presence};

#[derive(Debug, Clone)]
pub struct AgentSlots {
    pub name: String,
    pub max: u32,
    /// What the agent chose (online/away); `Offline` once the grace period ran out.
    pub presence: Presence,
    /// Open WebSocket connections (an agent may have the console open twice).
    pub connections: u32,
    /// Bumped on every disconnect so a stale grace timer can tell it is stale.
    pub disconnect_generation: u64,
    pub active: BTreeSet<ConversationId>,
    /// Router tick of the last assignment: the round-robin tie-breaker.
    pub last_assigned: u64,
    /// The sites whose chats this agent takes; `None`: every site (admins, and agents for
    /// whom no sites are set).
    pub sites: Option<Arc<[String]>>,
}

impl AgentSlots {
    pub fn new(name: String, max: u32) -> Self {
        Self {
            name,
            max,
            presence: Presence::Offline,
            connections: 0,
            disconnect_generation: 0,
            active: BTreeSet::new(),
            last_assigned: 0,
            sites: None,
        }
    }

    /// Takes chats of `site` (whether or not it can now).
    pub fn serves(&self, site: &str) -> bool {
        self.sites
            .as_ref()
            .is_none_or(|sites| sites.iter().any(|s| s == site))
    }

    pub fn load(&self) -> u32 {
        u32::try_from(self.active.len()).unwrap_or(u32::MAX)
    }

    /// Takes chats right now: chose online and is connected.
    pub fn takes_chats(&self) -> bool {
        self.presence == Presence::Online && self.connections > 0
    }

    pub fn has_free_slot(&self) -> bool {
        self.load() < self.max
    }

    /// Routable = takes chats and has a free slot.
    pub fn routable(&self) -> bool {
        self.takes_chats() && self.has_free_slot()
    }

    pub fn load_frame(&self) -> Load {
        Load {
            presence: self.presence,
            active: self.load(),
            max: self.max,
        }
    }
}
