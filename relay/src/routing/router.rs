//! The routing state machine. Lives behind one `std::sync::Mutex` in the conversation
//! service; every method is synchronous and quick, so the lock is never held across I/O.
//! Because assignment decisions are made under that lock, two visitors arriving at once can
//! never both take an agent's last slot.

use super::capacity::AgentSlots;
use super::queue::WaitQueue;
// foldhash: looked up for every message, keyed by ids the relay assigns (see fanout::hub).
use foldhash::HashMap;
use std::collections::VecDeque;
use std::sync::Arc;
use switchboard_shared::{
    AgentId, ConversationId, ErrorCode, Load, Presence, QueueEntry, VisitorInfo,
};
use switchboard_store::VisitorId;

/// How many recent handle times feed the wait estimate.
const HANDLE_TIME_WINDOW: usize = 50;

/// A conversation that is queued or active: who takes part, for routing and fan-out.
#[derive(Debug, Clone)]
pub struct LiveConversation {
    pub visitor: VisitorId,
    pub site: String,
    pub agent: Option<AgentId>,
    pub info: VisitorInfo,
    pub created_at: i64,
    /// When it (last) entered the queue.
    pub waiting_since: i64,
    /// When the current agent got it (for handle times).
    pub assigned_at: Option<i64>,
    /// Serialises lifecycle changes (assign, transfer, requeue, end) of this one
    /// conversation across their store writes, so the stored order of those events always
    /// matches the order of the router's decisions. Messages do not take it.
    pub lifecycle: Arc<tokio::sync::Mutex<()>>,
}

impl LiveConversation {
    pub fn new(
        visitor: VisitorId,
        site: String,
        info: VisitorInfo,
        created_at: i64,
        waiting_since: i64,
    ) -> Self {
        Self {
            visitor,
            site,
            agent: None,
            info,
            created_at,
            waiting_since,
            assigned_at: None,
            lifecycle: Arc::default(),
        }
    }
}

#[derive(Debug, Default)]
pub struct Router {
    agents: HashMap<AgentId, AgentSlots>,
    queue: WaitQueue,
    live: HashMap<ConversationId, LiveConversation>,
    tick: u64,
    handle_times: VecDeque<i64>,
}

impl Router {
    /// Rebuilds routing from what the store holds after a (re)start.
    pub fn restore(
        agents: impl IntoIterator<Item = (AgentId, String, u32)>,
        open: impl IntoIterator<Item = (ConversationId, LiveConversation, Option<i64>)>,
        handle_times: Vec<i64>,
    ) -> Self {
        let mut r = Router::default();
        for (id, name, max) in agents {
            r.agents.insert(id, AgentSlots::new(name, max));
        }
        let mut ranked = Vec::new();
        for (id, conv, rank) in open {
            match conv.agent {
                Some(agent) => {
                    if let Some(slots) = r.agents.get_mut(&agent) {
                        slots.active.insert(id);
                    }
                }
                // A conversation whose rank was never stored queues by its id (= creation order).
                None => ranked.push((id, rank.unwrap_or(id.0))),
            }
            r.live.insert(id, conv);
        }
        r.queue = WaitQueue::from_ranked(ranked);
        r.handle_times = handle_times.into_iter().take(HANDLE_TIME_WINDOW).collect();
        r
    }

    // ------------------------------------------------------------------ agents

    /// Registers or refreshes an agent's name and cap (from their account).
    pub fn upsert_agent(&mut self, id: AgentId, name: &str, max: u32) {
        let slots = self
            .agents
            .entry(id)
            .or_insert_with(|| AgentSlots::new(name.to_string(), max));
        slots.name = name.to_string();
        slots.max = max;
    }

    /// The sites whose chats the agent takes (`None`: every site). Chats they hold stay.
    pub fn set_agent_sites(&mut self, id: AgentId, sites: Option<Arc<[String]>>) {
        if let Some(s) = self.agents.get_mut(&id) {
            s.sites = sites;
        }
    }

    /// A connection of this agent said hello. The first connection after the grace period
    /// ran out (presence offline) brings the agent back online.
    pub fn agent_connected(&mut self, id: AgentId) {
        if let Some(s) = self.agents.get_mut(&id) {
            s.connections += 1;
            if s.presence == Presence::Offline {
                s.presence = Presence::Online;
            }
        }
    }

    /// A connection closed. Returns the disconnect generation when it was the agent's last
    /// connection and they hold chats: the caller starts a grace timer with it.
    pub fn agent_disconnected(&mut self, id: AgentId) -> Option<u64> {
        let s = self.agents.get_mut(&id)?;
        s.connections = s.connections.saturating_sub(1);
        if s.connections > 0 {
            return None;
        }
        s.disconnect_generation += 1;
        if s.active.is_empty() {
            s.presence = Presence::Offline;
            return None;
        }
        Some(s.disconnect_generation)
    }

    /// The agent's account was disabled: offline now, whatever connections are still closing,
    /// with no grace period. Returns the disconnect generation for [`Router::grace_expired`],
    /// which the caller runs at once.
    pub fn disable_agent(&mut self, id: AgentId) -> Option<u64> {
        let s = self.agents.get_mut(&id)?;
        s.connections = 0;
        s.presence = Presence::Offline;
        s.disconnect_generation += 1;
        Some(s.disconnect_generation)
    }

    /// Agents with chats but no connection (after a restart): generations for grace timers.
    pub fn disconnected_with_chats(&mut self) -> Vec<(AgentId, u64)> {
        let mut out = Vec::new();
        for (id, s) in &mut self.agents {
            if s.connections == 0 && !s.active.is_empty() {
                s.disconnect_generation += 1;
                out.push((*id, s.disconnect_generation));
            }
        }
        out
    }

    /// The grace period of a disconnect ran out. If the agent has not come back since, they go
    /// offline and their chats go to the front of the queue, in their original order.
    /// Returns the requeued conversations with their new front ranks.
    pub fn grace_expired(
        &mut self,
        id: AgentId,
        generation: u64,
        now: i64,
    ) -> Vec<(ConversationId, i64)> {
        let Some(s) = self.agents.get_mut(&id) else {
            return Vec::new();
        };
        if s.connections > 0 || s.disconnect_generation != generation {
            return Vec::new();
        }
        s.presence = Presence::Offline;
        let chats: Vec<ConversationId> = std::mem::take(&mut s.active).into_iter().collect();
        let mut out = Vec::new();
        // Reserve front ranks from the last to the first so the first ends up at the front.
        for &conv in chats.iter().rev() {
            let rank = self.queue.reserve_front();
            self.queue.push_ranked(conv, rank);
            if let Some(live) = self.live.get_mut(&conv) {
                live.agent = None;
                live.waiting_since = now;
            }
            out.push((conv, rank));
        }
        out.reverse();
        out
    }

    pub fn set_presence(&mut self, id: AgentId, presence: Presence) -> Option<Load> {
        let s = self.agents.get_mut(&id)?;
        s.presence = presence;
        Some(s.load_frame())
    }

    /// Changes a cap. Lowering it below the current load keeps every chat; the agent simply
    /// gets no new one until below the cap.
    pub fn set_max(&mut self, id: AgentId, max: u32) -> Option<Load> {
        let s = self.agents.get_mut(&id)?;
        s.max = max;
        Some(s.load_frame())
    }

    pub fn load_of(&self, id: AgentId) -> Option<Load> {
        self.agents.get(&id).map(AgentSlots::load_frame)
    }

    pub fn agent_name(&self, id: AgentId) -> Option<&str> {
        self.agents.get(&id).map(|s| s.name.as_str())
    }

    /// Conversations an agent holds, ascending.
    pub fn chats_of(&self, id: AgentId) -> Vec<ConversationId> {
        self.agents
            .get(&id)
            .map(|s| s.active.iter().copied().collect())
            .unwrap_or_default()
    }

    pub fn agent_owns(&self, id: AgentId, conv: ConversationId) -> bool {
        self.agents
            .get(&id)
            .is_some_and(|s| s.active.contains(&conv))
    }

    /// Agents that take chats of `site` now (online and connected), full or not.
    pub fn agents_online(&self, site: &str) -> u32 {
        let n = self
            .agents
            .values()
            .filter(|s| s.takes_chats() && s.serves(site))
            .count();
        u32::try_from(n).unwrap_or(u32::MAX)
    }

    /// Agents taking chats now: how many take every site's, and per site how many more are
    /// limited to sites including it (sorted by site).
    pub fn online_by_site(&self) -> (u32, Vec<(String, u32)>) {
        let mut everywhere = 0u32;
        let mut per_site: std::collections::BTreeMap<&str, u32> = Default::default();
        for s in self.agents.values().filter(|s| s.takes_chats()) {
            match &s.sites {
                None => everywhere = everywhere.saturating_add(1),
                Some(sites) => {
                    for site in sites.iter() {
                        *per_site.entry(site.as_str()).or_insert(0) += 1;
                    }
                }
            }
        }
        let per_site = per_site
            .into_iter()
            .map(|(s, n)| (s.to_string(), n))
            .collect();
        (everywhere, per_site)
    }

    /// Whether any agent is limited to some sites (then queue snapshots and availability
    /// differ by site; otherwise one of each serves everyone).
    pub fn any_site_limits(&self) -> bool {
        self.agents.values().any(|s| s.sites.is_some())
    }

    /// The sites an agent takes chats of (`None`: every site).
    pub fn sites_of(&self, id: AgentId) -> Option<Arc<[String]>> {
        self.agents.get(&id).and_then(|s| s.sites.clone())
    }

    /// (id, name, presence as seen by others, active, max) for every known agent.
    pub fn roster(&self) -> Vec<(AgentId, String, Presence, u32, u32)> {
        let mut v: Vec<_> = self
            .agents
            .iter()
            .map(|(id, s)| {
                let presence = if s.connections == 0 {
                    Presence::Offline
                } else {
                    s.presence
                };
                (*id, s.name.clone(), presence, s.load(), s.max)
            })
            .collect();
        v.sort_by_key(|e| e.0);
        v
    }

    // ------------------------------------------------------------------ conversations

    /// A conversation joins the queue at its rank: its id for new conversations (creation
    /// order), a rank below every other for requeued ones.
    pub fn enqueue(&mut self, id: ConversationId, conv: LiveConversation, rank: i64) {
        self.live.insert(id, conv);
        self.queue.push_ranked(id, rank);
    }

    pub fn live(&self, id: ConversationId) -> Option<&LiveConversation> {
        self.live.get(&id)
    }

    pub fn mark_assigned_at(&mut self, id: ConversationId, at: i64) {
        if let Some(live) = self.live.get_mut(&id) {
            live.assigned_at = Some(at);
        }
    }

    pub fn is_queued(&self, id: ConversationId) -> bool {
        self.live.get(&id).is_some_and(|c| c.agent.is_none())
    }

    /// Assigns waiting chats to routable agents of their site, in queue order, until nobody
    /// who could take one is free. The least-loaded agent wins; ties go to whoever was
    /// assigned least recently (round robin). A chat whose site has no free agent keeps its
    /// place and the chats behind it go on (sites do not wait for each other). Everything is
    /// applied in memory before this returns.
    pub fn drain(&mut self) -> Vec<(ConversationId, AgentId)> {
        let mut out = Vec::new();
        if !self.agents.values().any(AgentSlots::routable) {
            return out;
        }
        // Sites found without a free agent in this pass: their chats are skipped quickly.
        let mut full: Vec<String> = Vec::new();
        let waiting: Vec<ConversationId> = self.queue.iter().collect();
        for conv in waiting {
            let Some(site) = self.live.get(&conv).map(|c| c.site.clone()) else {
                continue;
            };
            if full.contains(&site) {
                continue;
            }
            let best = self
                .agents
                .iter()
                .filter(|(_, s)| s.routable() && s.serves(&site))
                .min_by_key(|(id, s)| (s.load(), s.last_assigned, **id))
                .map(|(id, _)| *id);
            let Some(agent) = best else {
                full.push(site);
                if !self.agents.values().any(AgentSlots::routable) {
                    break;
                }
                continue;
            };
            self.queue.remove(conv);
            self.tick += 1;
            if let Some(s) = self.agents.get_mut(&agent) {
                s.active.insert(conv);
                s.last_assigned = self.tick;
            }
            if let Some(live) = self.live.get_mut(&conv) {
                live.agent = Some(agent);
            }
            out.push((conv, agent));
            if !self.agents.values().any(AgentSlots::routable) {
                break;
            }
        }
        out
    }

    /// Moves a chat between agents, only within the target's cap.
    pub fn transfer(
        &mut self,
        conv: ConversationId,
        from: AgentId,
        to: AgentId,
    ) -> Result<(), ErrorCode> {
        if !self.agent_owns(from, conv) {
            return Err(ErrorCode::UnknownConversation);
        }
        let target = self.agents.get(&to).ok_or(ErrorCode::UnknownAgent)?;
        if from == to {
            return Err(ErrorCode::InvalidField);
        }
        let site_served = self.live.get(&conv).is_none_or(|c| target.serves(&c.site));
        if !target.takes_chats() || !site_served {
            return Err(ErrorCode::AgentUnavailable);
        }
        if !target.has_free_slot() {
            return Err(ErrorCode::AgentFull);
        }
        if let Some(s) = self.agents.get_mut(&from) {
            s.active.remove(&conv);
        }
        if let Some(s) = self.agents.get_mut(&to) {
            s.active.insert(conv);
        }
        if let Some(live) = self.live.get_mut(&conv) {
            live.agent = Some(to);
        }
        Ok(())
    }

    /// The one place a conversation leaves routing (ended, left as a message): frees the
    /// agent's slot or the queue place. Returns what it was.
    pub fn finish(&mut self, conv: ConversationId) -> Option<LiveConversation> {
        let live = self.live.remove(&conv)?;
        match live.agent {
            Some(agent) => {
                if let Some(s) = self.agents.get_mut(&agent) {
                    s.active.remove(&conv);
                }
            }
            None => {
                self.queue.remove(conv);
            }
        }
        Some(live)
    }

    pub fn record_handle_time(&mut self, ms: i64) {
        self.handle_times.push_front(ms.max(0));
        self.handle_times.truncate(HANDLE_TIME_WINDOW);
    }

    // ------------------------------------------------------------------ the queue, as others see it

    /// Estimated wait for a queue position of `site`: with S free-able slots among agents
    /// taking that site's chats and an average handle time H, a slot opens about every H/S, so position p
    /// waits about p·H/S. `None` when nobody takes chats or there is no history yet.
    pub fn estimate_secs(&self, position: u32, site: &str) -> Option<u32> {
        let slots: u64 = self
            .agents
            .values()
            .filter(|s| s.takes_chats() && s.serves(site))
            .map(|s| u64::from(s.max))
            .sum();
        if slots == 0 || self.handle_times.is_empty() {
            return None;
        }
        let n = i64::try_from(self.handle_times.len()).ok()?;
        let avg_ms = u64::try_from(self.handle_times.iter().sum::<i64>() / n).ok()?;
        let ms = avg_ms.saturating_mul(u64::from(position)) / slots;
        Some(u32::try_from(ms.div_ceil(1000)).unwrap_or(u32::MAX).max(1))
    }

    /// Every queued conversation with its visitor, site and 1-based position among the
    /// waiting chats of its site (only that site's agents serve it).
    pub fn queue_positions(&self) -> Vec<(ConversationId, VisitorId, &str, u32)> {
        let mut ahead: HashMap<&str, u32> = HashMap::default();
        self.queue
            .iter()
            .filter_map(|id| {
                let live = self.live.get(&id)?;
                let n = ahead.entry(live.site.as_str()).or_insert(0);
                *n += 1;
                Some((id, live.visitor, live.site.as_str(), *n))
            })
            .collect()
    }

    pub fn position_of(&self, conv: ConversationId) -> Option<u32> {
        let site = &self.live.get(&conv)?.site;
        let mut n = 0u32;
        for id in self.queue.iter() {
            if self.live.get(&id).is_some_and(|c| &c.site == site) {
                n = n.saturating_add(1);
            }
            if id == conv {
                return Some(n);
            }
        }
        None
    }

    /// The first `max` waiting visitors of `sites` (`None`: every site) as agents see them
    /// (metadata only), and how many of those sites wait in all.
    pub fn queue_head(&self, max: usize, sites: Option<&[String]>) -> (Vec<QueueEntry>, u32) {
        let mut entries = Vec::new();
        let mut total = 0u32;
        for id in self.queue.iter() {
            let Some(live) = self.live.get(&id) else {
                continue;
            };
            if sites.is_some_and(|sites| !sites.contains(&live.site)) {
                continue;
            }
            total = total.saturating_add(1);
            if entries.len() < max {
                entries.push(QueueEntry {
                    conversation_id: id,
                    position: total,
                    waiting_since: live.waiting_since,
                    visitor_name: live.info.name.clone(),
                });
            }
        }
        (entries, total)
    }

    /// The agents who should see queue snapshots: everyone connected.
    pub fn connected_agents(&self) -> Vec<AgentId> {
        self.agents
            .iter()
            .filter(|(_, s)| s.connections > 0)
            .map(|(id, _)| *id)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn conv(n: i64) -> (ConversationId, LiveConversation) {
        (
            ConversationId(n),
            LiveConversation::new(VisitorId(n), "acme".into(), VisitorInfo::default(), 0, 0),
        )
    }

    fn router_with(agents: &[(i64, u32)]) -> Router {
        let mut r = Router::default();
        for &(id, max) in agents {
            r.upsert_agent(AgentId(id), &format!("a{id}"), max);
            r.agent_connected(AgentId(id));
        }
        r
    }

    fn enqueue(r: &mut Router, n: i64) {
        let (id, c) = conv(n);
        r.enqueue(id, c, n);
    }

    #[test]
    fn the_least_loaded_agent_gets_the_chat_and_ties_rotate() {
        let mut r = router_with(&[(1, 3), (2, 3)]);
        for n in 1..=4 {
            enqueue(&mut r, n);
        }
        let got: Vec<i64> = r.drain().into_iter().map(|(_, a)| a.0).collect();
        assert_eq!(got, vec![1, 2, 1, 2]);
    }

    #[test]
    fn no_agent_exceeds_the_cap_and_the_rest_wait_in_order() {
        let mut r = router_with(&[(1, 1), (2, 2)]);
        for n in 1..=5 {
            enqueue(&mut r, n);
        }
        assert_eq!(r.drain().len(), 3);
        assert_eq!(
            r.queue_positions()
                .iter()
                .map(|p| (p.0 .0, p.3))
                .collect::<Vec<_>>(),
            vec![(4, 1), (5, 2)]
        );
        r.finish(ConversationId(1));
        let next = r.drain();
        assert_eq!(next.len(), 1);
        assert_eq!(next[0].0, ConversationId(4));
    }

    #[test]
    fn lowering_a_cap_keeps_chats_but_stops_new_ones() {
        let mut r = router_with(&[(1, 3)]);
        enqueue(&mut r, 1);
        enqueue(&mut r, 2);
        assert_eq!(r.drain().len(), 2);
        r.set_max(AgentId(1), 1);
        enqueue(&mut r, 3);
        assert!(r.drain().is_empty());
        assert_eq!(r.chats_of(AgentId(1)).len(), 2);
        r.finish(ConversationId(1));
        assert!(r.drain().is_empty(), "still at the cap of 1");
        r.finish(ConversationId(2));
        assert_eq!(r.drain().len(), 1);
    }

    #[test]
    fn away_agents_keep_chats_and_get_no_new_ones() {
        let mut r = router_with(&[(1, 3)]);
        enqueue(&mut r, 1);
        r.drain();
        r.set_presence(AgentId(1), Presence::Away);
        enqueue(&mut r, 2);
        assert!(r.drain().is_empty());
        assert!(r.agent_owns(AgentId(1), ConversationId(1)));
    }

    #[test]
    fn transfer_respects_the_targets_cap() {
        let mut r = router_with(&[(1, 2), (2, 1)]);
        for n in 1..=3 {
            enqueue(&mut r, n);
        }
        r.drain();
        let c1 = r.chats_of(AgentId(1))[0];
        assert_eq!(
            r.transfer(c1, AgentId(1), AgentId(2)),
            Err(ErrorCode::AgentFull)
        );
        assert_eq!(
            r.transfer(c1, AgentId(1), AgentId(9)),
            Err(ErrorCode::UnknownAgent)
        );
        let c2 = r.chats_of(AgentId(2))[0];
        r.finish(c2);
        assert_eq!(r.transfer(c1, AgentId(1), AgentId(2)), Ok(()));
        assert!(r.agent_owns(AgentId(2), c1));
    }

    #[test]
    fn an_agent_back_within_grace_keeps_chats_otherwise_they_go_to_the_front() {
        let mut r = router_with(&[(1, 2)]);
        enqueue(&mut r, 1);
        enqueue(&mut r, 2);
        r.drain();
        enqueue(&mut r, 3);
        let g = r.agent_disconnected(AgentId(1)).unwrap();
        r.agent_connected(AgentId(1));
        assert!(
            r.grace_expired(AgentId(1), g, 0).is_empty(),
            "a stale timer changes nothing"
        );
        let g = r.agent_disconnected(AgentId(1)).unwrap();
        let requeued = r.grace_expired(AgentId(1), g, 0);
        assert_eq!(
            requeued.iter().map(|c| c.0 .0).collect::<Vec<_>>(),
            vec![1, 2]
        );
        let order: Vec<i64> = r.queue_positions().iter().map(|p| p.0 .0).collect();
        assert_eq!(order, vec![1, 2, 3]);
    }

    #[test]
    fn the_wait_estimate_scales_with_position_and_capacity() {
        let mut r = router_with(&[(1, 2)]);
        assert_eq!(r.estimate_secs(1, "acme"), None);
        r.record_handle_time(120_000);
        assert_eq!(r.estimate_secs(1, "acme"), Some(60));
        assert_eq!(r.estimate_secs(4, "acme"), Some(240));
    }

    fn enqueue_for(r: &mut Router, n: i64, site: &str) {
        let c = LiveConversation::new(VisitorId(n), site.into(), VisitorInfo::default(), 0, 0);
        r.enqueue(ConversationId(n), c, n);
    }

    #[test]
    fn agents_take_only_their_sites_chats_and_sites_do_not_wait_for_each_other() {
        // Agent 1 works for acme only, agent 2 for every site.
        let mut r = router_with(&[(1, 5), (2, 1)]);
        r.set_agent_sites(AgentId(1), Some(Arc::from(vec!["acme".to_string()])));
        r.upsert_agent(AgentId(2), "a2", 0); // full for now
        enqueue_for(&mut r, 1, "brand");
        enqueue_for(&mut r, 2, "acme");
        enqueue_for(&mut r, 3, "brand");
        enqueue_for(&mut r, 4, "acme");
        // Nobody free for "brand": its chats keep their places, acme's are taken.
        let got: Vec<(i64, i64)> = r.drain().iter().map(|(c, a)| (c.0, a.0)).collect();
        assert_eq!(got, vec![(2, 1), (4, 1)]);
        // Positions count within a site.
        let pos: Vec<(i64, u32)> = r.queue_positions().iter().map(|p| (p.0 .0, p.3)).collect();
        assert_eq!(pos, vec![(1, 1), (3, 2)]);
        assert_eq!(r.position_of(ConversationId(3)), Some(2));
        // Agent 1 sees none of brand's queue; agent 2 would see all.
        assert_eq!(r.queue_head(10, Some(&["acme".to_string()])).1, 0);
        assert_eq!(r.queue_head(10, None).1, 2);
        assert_eq!((r.agents_online("acme"), r.agents_online("brand")), (2, 1));
        // A transfer to an agent of another site is refused.
        enqueue_for(&mut r, 5, "brand");
        r.upsert_agent(AgentId(2), "a2", 3);
        let got: Vec<(i64, i64)> = r.drain().iter().map(|(c, a)| (c.0, a.0)).collect();
        assert_eq!(got, vec![(1, 2), (3, 2), (5, 2)]);
        assert_eq!(
            r.transfer(ConversationId(1), AgentId(2), AgentId(1)),
            Err(ErrorCode::AgentUnavailable)
        );
    }
}
