//! The console's state as plain structs: the agent, their load, the queue and the open
//! chats. [`Console::apply`] folds one server frame into it; the UI only reads it. No
//! browser types here, so it is unit-tested natively.

use switchboard_shared::{
    AgentRef, Author, ConversationId, ConversationView, EventKind, Load, Presence, QueueEntry,
    RemovalReason, ResumePoint, Seq, ServerFrame, Side,
};

/// Who wrote a transcript line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Who {
    Visitor,
    /// This console's agent.
    Me,
    /// Another agent (before a transfer).
    OtherAgent,
    System,
}

/// A line of a transcript: a message or what happened (joined, transferred, ended).
#[derive(Debug, Clone, PartialEq)]
pub struct Line {
    /// `None` while an own message is pending (not yet durable).
    pub seq: Option<Seq>,
    pub at: i64,
    pub who: Who,
    /// The author's name for agent lines.
    pub name: Option<String>,
    pub text: LineText,
    pub client_id: Option<String>,
}

/// Message text, or a system line to translate.
#[derive(Debug, Clone, PartialEq)]
pub enum LineText {
    Body(String),
    Started,
    Joined(String),
    Transferred { from: String, to: String },
    Requeued,
    LeftMessage,
    Ended { by_visitor: bool },
    Rated(u8),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Chat {
    pub view: ConversationView,
    pub lines: Vec<Line>,
    /// Highest seq held: resume point and duplicate filter.
    pub last_seq: Seq,
    /// The visitor's receipts: how far they received and read.
    pub delivered: Seq,
    pub read: Seq,
    pub visitor_typing: bool,
    /// Visitor messages after `read_by_me`.
    pub unread: u32,
    /// How far this agent has read, as the relay stored it (`read` receipts) or as shown.
    pub read_by_me: Seq,
    /// Events up to here existed before this console held the chat (a reload replays them):
    /// they are history, not news, so they raise no notification.
    pub replayed_until: Seq,
    /// True once an `ended` event arrived. An ended chat leaves the row of live panes for
    /// the list of ended ones, where it stays until the agent dismisses it.
    pub ended: bool,
    /// The agent opened this ended chat's pane again (to read it); live chats ignore it.
    pub reopened: bool,
}

impl Chat {
    pub fn new(view: ConversationView) -> Self {
        Chat {
            replayed_until: view.last_seq,
            view,
            lines: Vec::new(),
            last_seq: 0,
            delivered: 0,
            read: 0,
            visitor_typing: false,
            unread: 0,
            read_by_me: 0,
            ended: false,
            reopened: false,
        }
    }

    /// Who ended the chat, from its `ended` line (`None`: not ended, or the line is missing).
    pub fn ended_by_visitor(&self) -> Option<bool> {
        self.lines.iter().rev().find_map(|l| match l.text {
            LineText::Ended { by_visitor } => Some(by_visitor),
            _ => None,
        })
    }

    pub fn id(&self) -> ConversationId {
        self.view.id
    }

    /// The mark of an own message: pending, sent, delivered or read.
    pub fn mark(&self, line: &Line) -> &'static str {
        match line.seq {
            None => "pending",
            Some(s) if s <= self.read => "read",
            Some(s) if s <= self.delivered => "delivered",
            Some(_) => "sent",
        }
    }

    /// The relay says this agent has read up to `seq`: only visitor messages after it stay
    /// unread.
    pub fn set_read_by_me(&mut self, seq: Seq) {
        self.read_by_me = self.read_by_me.max(seq);
        let read = self.read_by_me;
        self.unread = self
            .lines
            .iter()
            .filter(|l| l.who == Who::Visitor && l.seq.is_some_and(|s| s > read))
            .count() as u32;
    }

    /// Everything shown is read.
    pub fn mark_all_read(&mut self) {
        self.read_by_me = self.last_seq;
        self.unread = 0;
    }

    /// Adds a pending own message (shown until its event arrives).
    pub fn push_pending(&mut self, client_id: String, body: String, now: i64) {
        self.lines.push(Line {
            seq: None,
            at: now,
            who: Who::Me,
            name: None,
            text: LineText::Body(body),
            client_id: Some(client_id),
        });
    }
}

/// What [`Console::apply`] noticed that the controller may want to react to.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Effects {
    /// A visitor message arrived in this chat (ack it; maybe notify).
    pub visitor_message: Option<(ConversationId, Seq, String)>,
    /// That message is a replay of one stored before this console held the chat.
    pub replayed: bool,
    /// Chats this console did not hold before the welcome (after a reload: all of them);
    /// their read state comes from the relay.
    pub fresh: Vec<ConversationId>,
    /// A chat was assigned to us.
    pub assigned: Option<ConversationId>,
    /// The relay confirmed a message: drop it from the outbox.
    pub sent: Option<String>,
    /// The relay refused something.
    pub error: Option<(String, Option<String>)>,
    pub welcome: bool,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct Console {
    pub me: Option<AgentRef>,
    pub load: Option<Load>,
    /// The head of the queue (the relay lists at most 50) and how many wait in all.
    pub queue: Vec<QueueEntry>,
    pub queue_total: u32,
    pub chats: Vec<Chat>,
    pub connected: bool,
}

impl Console {
    pub fn chat(&self, id: ConversationId) -> Option<&Chat> {
        self.chats.iter().find(|c| c.id() == id)
    }

    pub fn chat_mut(&mut self, id: ConversationId) -> Option<&mut Chat> {
        self.chats.iter_mut().find(|c| c.id() == id)
    }

    /// The panes in the order the agent sees them: the live chats first, in the order they
    /// came, then the ended chats the agent opened again. An ending chat never pushes a live
    /// one aside.
    pub fn pane_ids(&self) -> Vec<ConversationId> {
        let live = self.chats.iter().filter(|c| !c.ended);
        let reopened = self.chats.iter().filter(|c| c.ended && c.reopened);
        live.chain(reopened).map(Chat::id).collect()
    }

    /// The ended chats, newest end last, for the list the agent dismisses them from.
    pub fn ended_ids(&self) -> Vec<ConversationId> {
        self.chats
            .iter()
            .filter(|c| c.ended)
            .map(Chat::id)
            .collect()
    }

    /// The `resume` list for the next `hello`.
    pub fn resume_points(&self) -> Vec<ResumePoint> {
        self.chats
            .iter()
            .filter(|c| !c.ended)
            .map(|c| ResumePoint {
                conversation_id: c.id(),
                last_seq: c.last_seq,
            })
            .collect()
    }

    pub fn presence(&self) -> Presence {
        self.load.map_or(Presence::Offline, |l| l.presence)
    }

    pub fn apply(&mut self, frame: ServerFrame) -> Effects {
        let mut fx = Effects::default();
        match frame {
            ServerFrame::AgentWelcome {
                agent,
                load,
                conversations,
                queue,
                queue_total,
                ..
            } => {
                // Chats the relay no longer gives us (ended, moved, requeued while we were
                // away) go, unless they ended visibly and the agent still reads them.
                self.chats
                    .retain(|c| c.ended || conversations.iter().any(|v| v.id == c.id()));
                for view in conversations {
                    match self.chat_mut(view.id) {
                        Some(c) => c.view = view,
                        None => {
                            fx.fresh.push(view.id);
                            self.chats.push(Chat::new(view));
                        }
                    }
                }
                self.me = Some(agent);
                self.load = Some(load);
                self.queue = queue;
                // Without a total (a relay older than the field) all we know is the list.
                self.queue_total = queue_total.max(self.queue.len() as u32);
                self.connected = true;
                fx.welcome = true;
            }
            ServerFrame::ConversationAssigned { conversation } => {
                fx.assigned = Some(conversation.id);
                match self.chat_mut(conversation.id) {
                    Some(c) => {
                        c.view = conversation;
                        c.ended = false;
                        c.reopened = false;
                    }
                    None => self.chats.push(Chat::new(conversation)),
                }
            }
            ServerFrame::ConversationRemoved {
                conversation_id,
                reason,
            } => {
                // An ended chat stays readable until closed; moved ones leave at once.
                if reason == RemovalReason::Ended {
                    if let Some(c) = self.chat_mut(conversation_id) {
                        if !c.ended {
                            c.reopened = false;
                        }
                        c.ended = true;
                        c.visitor_typing = false;
                    }
                } else {
                    self.chats.retain(|c| c.id() != conversation_id);
                }
            }
            ServerFrame::Event {
                conversation_id,
                seq,
                at,
                event,
            } => {
                let me = self.me.as_ref().map(|a| a.id);
                let Some(chat) = self.chat_mut(conversation_id) else {
                    return fx;
                };
                if seq <= chat.last_seq {
                    return fx; // replayed twice around a reconnect
                }
                chat.last_seq = seq;
                chat.view.last_seq = seq;
                let (who, name, text, client_id) = match event {
                    EventKind::Message {
                        author,
                        client_id,
                        body,
                    } => match author {
                        Author::Visitor => {
                            chat.visitor_typing = false;
                            if seq > chat.read_by_me {
                                chat.unread += 1;
                            }
                            fx.visitor_message = Some((conversation_id, seq, body.clone()));
                            fx.replayed = seq <= chat.replayed_until;
                            (Who::Visitor, None, LineText::Body(body), None)
                        }
                        Author::Agent { id, name } => {
                            let who = if Some(id) == me {
                                Who::Me
                            } else {
                                Who::OtherAgent
                            };
                            (
                                who,
                                Some(name),
                                LineText::Body(body),
                                client_id.map(|c| c.as_str().to_owned()),
                            )
                        }
                    },
                    EventKind::Started => (Who::System, None, LineText::Started, None),
                    EventKind::AgentJoined { agent } => {
                        (Who::System, None, LineText::Joined(agent.name), None)
                    }
                    EventKind::Transferred { from, to } => (
                        Who::System,
                        None,
                        LineText::Transferred {
                            from: from.name,
                            to: to.name,
                        },
                        None,
                    ),
                    EventKind::Requeued { .. } => (Who::System, None, LineText::Requeued, None),
                    EventKind::LeftMessage => (Who::System, None, LineText::LeftMessage, None),
                    EventKind::Ended { by } => {
                        if !chat.ended {
                            chat.reopened = false;
                        }
                        chat.ended = true;
                        chat.visitor_typing = false;
                        (
                            Who::System,
                            None,
                            LineText::Ended {
                                by_visitor: by == Side::Visitor,
                            },
                            None,
                        )
                    }
                    EventKind::Rated { score, .. } => {
                        (Who::System, None, LineText::Rated(score), None)
                    }
                };
                // Our own pending message becomes durable in place.
                if let Some(cid) = &client_id {
                    if let Some(line) = chat
                        .lines
                        .iter_mut()
                        .find(|l| l.seq.is_none() && l.client_id.as_deref() == Some(cid))
                    {
                        line.seq = Some(seq);
                        line.at = at;
                        line.name = name;
                        return fx;
                    }
                }
                chat.lines.push(Line {
                    seq: Some(seq),
                    at,
                    who,
                    name,
                    text,
                    client_id,
                });
            }
            ServerFrame::Sent {
                client_id,
                conversation_id,
                seq,
                ..
            } => {
                let cid = client_id.as_str().to_owned();
                if let Some(chat) = self.chat_mut(conversation_id) {
                    if let Some(line) = chat
                        .lines
                        .iter_mut()
                        .find(|l| l.seq.is_none() && l.client_id.as_deref() == Some(&cid))
                    {
                        // The event will not come again if it was already held (duplicate).
                        if seq <= chat.last_seq {
                            line.seq = Some(seq);
                        }
                    }
                }
                fx.sent = Some(cid);
            }
            ServerFrame::Receipt {
                conversation_id,
                by: Side::Visitor,
                delivered,
                read,
            } => {
                if let Some(c) = self.chat_mut(conversation_id) {
                    c.delivered = c.delivered.max(delivered);
                    c.read = c.read.max(read);
                }
            }
            ServerFrame::Typing {
                conversation_id,
                by: Side::Visitor,
                active,
            } => {
                if let Some(c) = self.chat_mut(conversation_id) {
                    c.visitor_typing = active && !c.ended;
                }
            }
            ServerFrame::QueueSnapshot { entries, total } => {
                self.queue_total = total.max(entries.len() as u32);
                self.queue = entries;
            }
            ServerFrame::Load(load) => self.load = Some(load),
            ServerFrame::Error {
                code, client_id, ..
            } => {
                let code = serde_json::to_value(code)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_owned))
                    .unwrap_or_default();
                fx.error = Some((code, client_id.map(|c| c.as_str().to_owned())));
            }
            _ => {}
        }
        fx
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use switchboard_shared::{AgentId, ConversationStatus, VisitorInfo};

    fn view(id: i64) -> ConversationView {
        ConversationView {
            id: ConversationId(id),
            site: "acme".into(),
            status: ConversationStatus::Active,
            visitor: VisitorInfo::default(),
            agent: None,
            last_seq: 0,
            created_at: 0,
        }
    }

    fn frame(json: &str) -> ServerFrame {
        serde_json::from_str(json).unwrap()
    }

    fn welcomed(ids: &[i64]) -> Console {
        let mut c = Console::default();
        c.apply(ServerFrame::AgentWelcome {
            protocol: 1,
            agent: AgentRef {
                id: AgentId(1),
                name: "Anna".into(),
            },
            load: Load {
                presence: Presence::Online,
                active: ids.len() as u32,
                max: 2,
            },
            conversations: ids.iter().map(|i| view(*i)).collect(),
            queue: vec![],
            queue_total: 0,
        });
        c
    }

    #[test]
    fn the_queue_count_is_the_relays_total_not_the_listed_head() {
        let mut c = welcomed(&[]);
        let entry = r#"{"conversation_id":7,"position":1,"waiting_since":0,"visitor_name":null}"#;
        c.apply(frame(&format!(
            r#"{{"type":"queue_snapshot","entries":[{entry}],"total":73}}"#
        )));
        assert_eq!((c.queue.len(), c.queue_total), (1, 73));
        // Without a total (a relay older than the field) the console counts the list.
        c.apply(frame(&format!(
            r#"{{"type":"queue_snapshot","entries":[{entry}]}}"#
        )));
        assert_eq!((c.queue.len(), c.queue_total), (1, 1));
        c.apply(frame(r#"{"type":"queue_snapshot","entries":[],"total":0}"#));
        assert_eq!((c.queue.len(), c.queue_total), (0, 0));
    }

    #[test]
    fn events_go_to_their_own_chat_and_replays_are_dropped() {
        let mut c = welcomed(&[1, 2]);
        let msg = r#"{"type":"event","conversation_id":2,"seq":1,"at":5,"event":{"kind":"message","author":{"role":"visitor"},"body":"hallo"}}"#;
        let fx = c.apply(frame(msg));
        assert_eq!(fx.visitor_message.map(|m| m.0), Some(ConversationId(2)));
        c.apply(frame(msg));
        assert_eq!(c.chat(ConversationId(2)).unwrap().lines.len(), 1);
        assert_eq!(c.chat(ConversationId(2)).unwrap().unread, 1);
        assert!(c.chat(ConversationId(1)).unwrap().lines.is_empty());
        assert_eq!(c.resume_points()[1].last_seq, 1);
    }

    #[test]
    fn replayed_messages_the_agent_has_read_are_not_unread_and_are_no_news() {
        // A reload: the welcome names a chat with 3 stored events, then the relay replays.
        let mut c = Console::default();
        let mut v = view(1);
        v.last_seq = 3;
        let fx = c.apply(ServerFrame::AgentWelcome {
            protocol: 1,
            agent: AgentRef {
                id: AgentId(1),
                name: "Anna".into(),
            },
            load: Load {
                presence: Presence::Online,
                active: 1,
                max: 2,
            },
            conversations: vec![v],
            queue: vec![],
            queue_total: 0,
        });
        assert_eq!(fx.fresh, vec![ConversationId(1)]);
        let msg = |seq: u64, body: &str| {
            frame(&format!(
                r#"{{"type":"event","conversation_id":1,"seq":{seq},"at":5,"event":{{"kind":"message","author":{{"role":"visitor"}},"body":"{body}"}}}}"#
            ))
        };
        assert!(c.apply(msg(2, "eins")).replayed);
        assert!(c.apply(msg(3, "zwei")).replayed);
        // The relay's stored read receipt: the agent had read seq 2.
        c.chat_mut(ConversationId(1)).unwrap().set_read_by_me(2);
        assert_eq!(c.chat(ConversationId(1)).unwrap().unread, 1);
        let fx = c.apply(msg(4, "drei"));
        assert!(!fx.replayed, "a message after the welcome is news");
        assert_eq!(c.chat(ConversationId(1)).unwrap().unread, 2);
        c.chat_mut(ConversationId(1)).unwrap().mark_all_read();
        assert_eq!(c.chat(ConversationId(1)).unwrap().unread, 0);
    }

    #[test]
    fn an_own_pending_message_becomes_durable_once_and_gets_read_marks() {
        let mut c = welcomed(&[1]);
        let chat = c.chat_mut(ConversationId(1)).unwrap();
        chat.push_pending("a-1".into(), "Guten Tag".into(), 0);
        c.apply(frame(r#"{"type":"event","conversation_id":1,"seq":1,"at":5,"event":{"kind":"message","author":{"role":"agent","id":1,"name":"Anna"},"client_id":"a-1","body":"Guten Tag"}}"#));
        let fx = c.apply(frame(
            r#"{"type":"sent","client_id":"a-1","conversation_id":1,"seq":1,"duplicate":false}"#,
        ));
        assert_eq!(fx.sent.as_deref(), Some("a-1"));
        let chat = c.chat(ConversationId(1)).unwrap();
        assert_eq!(chat.lines.len(), 1);
        assert_eq!(chat.mark(&chat.lines[0]), "sent");
        c.apply(frame(
            r#"{"type":"receipt","conversation_id":1,"by":"visitor","delivered":1,"read":1}"#,
        ));
        let chat = c.chat(ConversationId(1)).unwrap();
        assert_eq!(chat.mark(&chat.lines[0]), "read");
    }

    #[test]
    fn a_welcome_drops_chats_that_are_no_longer_ours_and_keeps_the_rest() {
        let mut c = welcomed(&[1, 2]);
        c.apply(frame(
            r#"{"type":"event","conversation_id":1,"seq":1,"at":5,"event":{"kind":"started"}}"#,
        ));
        let mut again = welcomed(&[1]);
        std::mem::swap(&mut again.chats, &mut c.chats);
        let c2 = {
            let mut c2 = Console {
                chats: again.chats,
                ..Console::default()
            };
            c2.apply(ServerFrame::AgentWelcome {
                protocol: 1,
                agent: again.me.unwrap(),
                load: again.load.unwrap(),
                conversations: vec![view(1)],
                queue: vec![],
                queue_total: 0,
            });
            c2
        };
        assert_eq!(c2.chats.len(), 1);
        assert_eq!(c2.chats[0].last_seq, 1, "held events survive the reconnect");
    }

    #[test]
    fn a_transferred_chat_leaves_and_an_ended_one_stays_marked() {
        let mut c = welcomed(&[1, 2]);
        c.apply(frame(
            r#"{"type":"conversation_removed","conversation_id":1,"reason":"transferred_away"}"#,
        ));
        c.apply(frame(
            r#"{"type":"conversation_removed","conversation_id":2,"reason":"ended"}"#,
        ));
        assert_eq!(c.chats.len(), 1);
        assert!(c.chats[0].ended);
    }

    #[test]
    fn live_chats_come_first_and_an_ended_one_leaves_the_row_until_reopened() {
        let mut c = welcomed(&[1, 2, 3]);
        let ended = r#"{"type":"event","conversation_id":1,"seq":1,"at":5,"event":{"kind":"ended","by":"visitor"}}"#;
        c.apply(frame(ended));
        let ids = |v: &[i64]| v.iter().map(|i| ConversationId(*i)).collect::<Vec<_>>();
        assert_eq!(c.pane_ids(), ids(&[2, 3]));
        assert_eq!(c.ended_ids(), ids(&[1]));
        assert_eq!(
            c.chat(ConversationId(1)).unwrap().ended_by_visitor(),
            Some(true)
        );
        // A newly assigned chat joins the live ones, before the reopened ended one.
        c.chat_mut(ConversationId(1)).unwrap().reopened = true;
        c.apply(frame(&format!(
            r#"{{"type":"conversation_assigned","conversation":{}}}"#,
            serde_json::to_string(&view(4)).unwrap()
        )));
        assert_eq!(c.pane_ids(), ids(&[2, 3, 4, 1]));
        assert_eq!(c.chat(ConversationId(2)).unwrap().ended_by_visitor(), None);
    }
}
