//! From committed events and routing changes to frames on the wire. Every frame is encoded
//! once, then handed to the hub.

use super::Chat;
use crate::fanout::{Hub, Outbound, Party};
use crate::hops::{self, Hop};
use axum::extract::ws::Utf8Bytes;
use std::collections::HashMap;
use std::time::{Duration, Instant};
use switchboard_shared::{AgentId, ConversationId, QueueEntry, ServerFrame};
use switchboard_store::{CommitListener, Committed, StoredEvent};

/// How long queue changes are gathered before they are announced.
pub const QUEUE_COALESCE: Duration = Duration::from_millis(25);

/// Most entries a queue snapshot (and an agent's welcome) lists: the head of the queue. The
/// snapshot goes to every agent on every change; uncapped, 1,000 waiting visitors made it
/// ~100 KB every 25 ms per agent. Positions are absolute and the frame carries the total, so
/// a console still shows where each listed visitor is and how many wait behind them.
pub const QUEUE_SNAPSHOT_MAX: usize = 50;

/// What was last announced, so only changes are sent.
#[derive(Default)]
pub(crate) struct Announced {
    positions: HashMap<ConversationId, (u32, Option<u32>)>,
    snapshots: Snapshots,
    availability: Option<Online>,
}

/// The queue head agents see: one for all, or one per agent (agents limited to sites).
#[derive(Debug, Clone, PartialEq)]
enum Snapshots {
    One((Vec<QueueEntry>, u32)),
    PerAgent(HashMap<AgentId, (Vec<QueueEntry>, u32)>),
}

impl Default for Snapshots {
    fn default() -> Self {
        Snapshots::One((Vec::new(), 0))
    }
}

/// Agents online as visitors see it: one count, or the agents of every site plus, per site,
/// those limited to it (sites not listed have only the former).
#[derive(Debug, Clone, PartialEq)]
enum Online {
    One(u32),
    PerSite(Vec<(String, u32)>, u32),
}

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
    /// Told the newest committed position, to wake the stream's readers.
    stream: crate::stream::Stream,
}

impl Publisher {
    pub fn new(hub: Hub, stream: crate::stream::Stream) -> Self {
        Self { hub, stream }
    }
}

impl CommitListener for Publisher {
    fn committed(&self, events: &[Committed<'_>]) {
        let published = Instant::now();
        for &Committed {
            event,
            event_json,
            stamps,
            ..
        } in events
        {
            hops::record(Hop::Queue, stamps.queued, stamps.started);
            hops::record(Hop::Commit, stamps.started, stamps.committed);
            hops::record(Hop::Publish, stamps.committed, published);
            let (conversation_id, seq) = (event.conversation_id, event.seq);
            let frame = ServerFrame::event_json(conversation_id, seq, event.at, event_json);
            self.hub.publish(
                conversation_id,
                Outbound::Event {
                    conversation_id,
                    seq,
                    frame: Utf8Bytes::from(frame),
                    published,
                },
            );
        }
        // Wakes the stream readers that handle any of these kinds.
        self.stream.committed(events.iter().map(|c| {
            (
                c.pos,
                switchboard_store::kind_tag(c.event_json).unwrap_or_default(),
            )
        }));
    }
}

impl Chat {
    /// Asks for a queue announcement. Announcements are coalesced (see
    /// [`QUEUE_COALESCE`]): fifty visitors arriving at once cause a few announcements, not
    /// fifty, so a burst cannot flood connection channels.
    pub(crate) fn broadcast_queue(&self) {
        self.inner.queue_dirty.notify_one();
    }

    /// Runs until shutdown: waits for a request, lets the burst settle, announces.
    pub(crate) async fn announce_queue_loop(self) {
        loop {
            tokio::select! {
                _ = self.inner.queue_dirty.notified() => {
                    tokio::time::sleep(QUEUE_COALESCE).await;
                    self.announce_queue();
                }
                _ = self.inner.shutdown.cancelled() => break,
            }
        }
    }

    /// Sends what changed since the last announcement: each queued visitor's position and
    /// estimate, the queue to every agent, the agents-online count to visitors.
    /// Tells waiting visitors their new place and estimate, agents the queue's head, and
    /// visitors how many agents are online, each only when it changed. With agents limited
    /// to sites, positions, estimates and availability count per site and each agent sees
    /// the queue of their own sites; without, one snapshot and one availability serve all.
    fn announce_queue(&self) {
        let (positions, snapshots, online) = {
            let r = self.router();
            let positions: Vec<_> = r
                .queue_positions()
                .into_iter()
                .map(|(conv, visitor, site, pos)| (conv, visitor, pos, r.estimate_secs(pos, site)))
                .collect();
            let by_site = r.any_site_limits();
            let snapshots: Snapshots = if by_site {
                let mut per_agent = HashMap::new();
                for agent in r.connected_agents() {
                    let sites = r.sites_of(agent);
                    per_agent.insert(agent, r.queue_head(QUEUE_SNAPSHOT_MAX, sites.as_deref()));
                }
                Snapshots::PerAgent(per_agent)
            } else {
                Snapshots::One(r.queue_head(QUEUE_SNAPSHOT_MAX, None))
            };
            let (everywhere, per_site) = r.online_by_site();
            let online = if by_site {
                Online::PerSite(per_site, everywhere)
            } else {
                Online::One(everywhere)
            };
            (positions, snapshots, online)
        };
        let (moved, snapshots, availability) = {
            let mut last = self
                .inner
                .announced
                .lock()
                .unwrap_or_else(|p| p.into_inner());
            let mut now = HashMap::with_capacity(positions.len());
            let mut moved = Vec::new();
            for (conv, visitor, pos, est) in positions {
                if last.positions.get(&conv) != Some(&(pos, est)) {
                    moved.push((conv, visitor, pos, est));
                }
                now.insert(conv, (pos, est));
            }
            last.positions = now;
            let snapshots = (last.snapshots != snapshots).then(|| {
                last.snapshots = snapshots.clone();
                snapshots
            });
            let availability = (last.availability.as_ref() != Some(&online)).then(|| {
                last.availability = Some(online.clone());
                online
            });
            (moved, snapshots, availability)
        };
        let hub = self.hub();
        for (conversation_id, visitor, position, estimated_wait_secs) in moved {
            let frame = encode(&ServerFrame::Queue {
                conversation_id,
                position,
                estimated_wait_secs,
            });
            hub.send_party(Party::Visitor(visitor), Outbound::Frame(frame));
        }
        match snapshots {
            Some(Snapshots::One((entries, total))) => {
                hub.broadcast_agents(encode(&ServerFrame::QueueSnapshot { entries, total }));
            }
            Some(Snapshots::PerAgent(per_agent)) => {
                let frames: HashMap<AgentId, Utf8Bytes> = per_agent
                    .into_iter()
                    .map(|(agent, (entries, total))| {
                        (
                            agent,
                            encode(&ServerFrame::QueueSnapshot { entries, total }),
                        )
                    })
                    .collect();
                hub.broadcast_agents_by(|party| match party {
                    Party::Agent(a) => frames.get(&a).cloned(),
                    Party::Visitor(_) => None,
                });
            }
            None => {}
        }
        match availability {
            Some(Online::One(agents_online)) => {
                hub.broadcast_visitors(encode(&ServerFrame::Availability { agents_online }));
            }
            Some(Online::PerSite(per_site, everywhere)) => {
                let frames: HashMap<String, Utf8Bytes> = per_site
                    .into_iter()
                    .map(|(site, n)| {
                        let agents_online = everywhere.saturating_add(n);
                        (site, encode(&ServerFrame::Availability { agents_online }))
                    })
                    .collect();
                let rest = encode(&ServerFrame::Availability {
                    agents_online: everywhere,
                });
                hub.broadcast_visitors_by_site(|site| {
                    Some(frames.get(site).cloned().unwrap_or_else(|| rest.clone()))
                });
            }
            None => {}
        }
    }

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
