//! Specifications of the report facts: rows written with chosen times (through the same
//! store calls the relay uses) come back as exactly the facts the KPIs are computed from.
//! The world is the one of `relay/src/reports/fixture_tests.rs`, which computes every KPI
//! from these facts by hand; here: items outside the range or of another site stay out,
//! `to` is exclusive, offline messages are not chats, counts come from the history.

use crate::harness::Db;
use switchboard_shared::{
    AgentId, AgentRef, Author, ClientMsgId, ConversationId, ConversationStatus, EventKind, Side,
    SupportLevel, VisitorInfo,
};
use switchboard_store::reports::{ChatFact, ReportRange, TicketFact};
use switchboard_store::tickets::TicketRating;
use switchboard_store::tickets::{
    NewTicket, TicketChange, TicketChannel, TicketEventKind, TicketPriority, TicketRecord,
    TicketStatus,
};
use switchboard_store::{
    AppendRequest, ConversationUpdate, NewAgent, NewConversation, Role, SharedStore, VisitorId,
};

conformance!(
    chats_in_the_range_come_back_as_the_fixtures_facts,
    tickets_in_the_range_carry_their_history_counts_and_ratings,
    the_range_is_half_open_and_the_site_optional,
);

/// Monday 2026-11-02 00:00 UTC.
const T0: i64 = 1_793_577_600_000;
const S: i64 = 1_000;
const H: i64 = 3_600 * S;
const WEEK: i64 = 7 * 24 * H;

struct World {
    store: SharedStore,
    acme: VisitorId,
    beta: VisitorId,
    anna: AgentId,
    ben: AgentId,
}

/// The ids the world's items got, in the order the fixture names them (C1–C4, T1–T5).
struct Built {
    chats: [ConversationId; 4],
    tickets: [i64; 5],
}

async fn world(db: &Db) -> World {
    let store = db.store.clone();
    // The fixture needs nothing of a site but its id.
    for site in ["acme", "beta"] {
        store
            .upsert_site(crate::fixtures::site(site, site))
            .await
            .expect("site");
    }
    let mut agents = Vec::new();
    for (name, level) in [("Anna", SupportLevel::L1), ("Ben", SupportLevel::L2)] {
        let agent = store
            .create_agent(NewAgent {
                email: format!("{name}@example.com"),
                display_name: name.into(),
                password_hash: "x".into(),
                role: Role::Agent,
                max_concurrent_chats: 3,
                support_level: level,
            })
            .await
            .expect("agent");
        agents.push(agent.id);
    }
    let acme = store.create_visitor("acme", [1; 32], 0).await.expect("v");
    let beta = store.create_visitor("beta", [2; 32], 0).await.expect("v");
    World {
        store,
        acme: acme.id,
        beta: beta.id,
        anna: agents[0],
        ben: agents[1],
    }
}

fn agent_ref(id: AgentId) -> AgentRef {
    AgentRef {
        id,
        name: String::new(),
    }
}

impl World {
    async fn conversation(&self, visitor: VisitorId, site: &str, at: i64) -> ConversationId {
        let status = ConversationStatus::Queued;
        self.store
            .create_conversation(NewConversation {
                site_id: site.into(),
                visitor_id: visitor,
                info: VisitorInfo::default(),
                status,
                queue_rank: None,
                at,
            })
            .await
            .expect("conversation")
            .id
    }

    async fn event(
        &self,
        conv: ConversationId,
        at: i64,
        event: EventKind,
        update: ConversationUpdate,
    ) {
        let dedup = matches!(event, EventKind::Rated { .. }).then(|| {
            (
                Side::Visitor,
                ClientMsgId::try_from(String::from("csat")).expect("id"),
            )
        });
        self.store
            .append(AppendRequest {
                conversation_id: conv,
                at,
                event,
                dedup,
                update,
            })
            .await
            .expect("append");
    }

    /// A live chat: started at `created`, taken by `agent` at `joined`, first agent message
    /// at `msg`, ended at `ended` (all seconds after T0, `ended` by the agent when answered).
    async fn chat(
        &self,
        visitor: VisitorId,
        site: &str,
        created: i64,
        answered: Option<(AgentId, i64, i64)>,
        ended: i64,
    ) -> ConversationId {
        let conv = self.conversation(visitor, site, T0 + created * S).await;
        let queued = ConversationUpdate {
            queued_at: Some(Some(T0 + created * S)),
            ..Default::default()
        };
        self.event(conv, T0 + created * S, EventKind::Started, queued)
            .await;
        if let Some((agent, joined, msg)) = answered {
            let update = ConversationUpdate {
                status: Some(ConversationStatus::Active),
                agent_id: Some(Some(agent)),
                assigned_at: Some(Some(T0 + joined * S)),
                ..Default::default()
            };
            let joined_ev = EventKind::AgentJoined {
                agent: agent_ref(agent),
            };
            self.event(conv, T0 + joined * S, joined_ev, update).await;
            // A visitor message first: only agent messages count.
            let hello = EventKind::Message {
                author: Author::Visitor,
                client_id: None,
                body: "Hallo?".into(),
            };
            self.event(conv, T0 + joined * S + 1, hello, Default::default())
                .await;
            for at in [msg, msg + 5] {
                let reply = EventKind::Message {
                    author: Author::Agent {
                        id: agent,
                        name: String::new(),
                    },
                    client_id: None,
                    body: "Guten Tag".into(),
                };
                self.event(conv, T0 + at * S, reply, Default::default())
                    .await;
            }
        }
        let end = ConversationUpdate {
            status: Some(ConversationStatus::Ended),
            ended_at: Some(Some(T0 + ended * S)),
            ..Default::default()
        };
        let by = if answered.is_some() {
            Side::Agent
        } else {
            Side::Visitor
        };
        self.event(conv, T0 + ended * S, EventKind::Ended { by }, end)
            .await;
        conv
    }

    async fn rate_chat(&self, conv: ConversationId, at: i64, score: u8) {
        let rated = EventKind::Rated {
            score,
            comment: None,
        };
        self.event(conv, T0 + at * S, rated, Default::default())
            .await;
    }

    async fn ticket(&self, new: NewTicket) -> TicketRecord {
        self.store.create_ticket(new).await.expect("ticket").0
    }

    /// One change at `at` ms, as the relay's workflow would write it.
    async fn change(
        &self,
        id: i64,
        at: i64,
        by: AgentId,
        edit: impl FnOnce(&mut TicketChange),
    ) -> TicketRecord {
        let current = self.store.ticket(id).await.expect("read").expect("ticket");
        let mut c = TicketChange::from_record(&current, Some(by), at);
        edit(&mut c);
        self.store.change_ticket(c).await.expect("change")
    }

    async fn reply(&self, id: i64, at: i64, by: AgentId) {
        self.change(id, at, by, |c| {
            if c.first_response_at.is_none() {
                c.first_response_at = Some(at);
            }
            if c.status == TicketStatus::New {
                c.events.push(TicketEventKind::StatusChanged {
                    from: TicketStatus::New,
                    to: TicketStatus::Open,
                });
                c.status = TicketStatus::Open;
            }
            c.events.push(TicketEventKind::Reply {
                body: "Antwort".into(),
            });
        })
        .await;
    }

    async fn set_status(&self, id: i64, at: i64, by: AgentId, to: TicketStatus) {
        self.change(id, at, by, |c| {
            c.events
                .push(TicketEventKind::StatusChanged { from: c.status, to });
            c.status = to;
            // As the workflow does: `resolved` sets it, `closed` keeps it, reopening clears it.
            c.resolved_at = match to {
                TicketStatus::Resolved => Some(at),
                TicketStatus::Closed => c.resolved_at.or(Some(at)),
                _ => None,
            };
            c.pending_since = (to == TicketStatus::PendingCustomer).then_some(at);
        })
        .await;
    }

    /// The customer's rating, with a chosen agent (or none) and time.
    async fn rate_ticket(&self, id: i64, agent: Option<AgentId>, score: u8, at: i64) {
        let rating = TicketRating {
            ticket_id: id,
            agent_id: agent,
            score,
            comment: None,
            rated_at: at,
        };
        self.store.rate_ticket(rating).await.expect("rating");
    }
}

fn new_ticket(
    site: &str,
    channel: TicketChannel,
    priority: TicketPriority,
    category: &str,
    created: i64,
    (fr, res): (i64, i64),
) -> NewTicket {
    NewTicket {
        conversation_id: None,
        site_id: site.into(),
        customer_name: Some("Kundin".into()),
        customer_contact: None,
        customer_number: None,
        channel,
        subject: "Frage".into(),
        description: "Frage".into(),
        priority,
        category: category.into(),
        assignee: None,
        support_level: SupportLevel::L1,
        first_response_at: None,
        first_response_due_at: created + fr,
        resolution_due_at: created + res,
        sla_due_at: Some(created + fr),
        by: None,
        at: created,
    }
}

/// Builds the fixture world of `relay/src/reports/fixture_tests.rs` plus items that must
/// stay out of an `acme` report for that week.
async fn build(w: &World) -> Built {
    let (anna, ben) = (w.anna, w.ben);
    // C1..C4: ids 1..4.
    let c1 = w.chat(w.acme, "acme", 0, Some((anna, 10, 40)), 610).await;
    w.rate_chat(c1, 700, 5).await;
    let c2 = w
        .chat(w.acme, "acme", 100, Some((anna, 160, 220)), 1360)
        .await;
    // Transferred to Ben before it ended: the event sits before `ended` in time, after it in
    // sequence, which the facts do not care about.
    let moved = ConversationUpdate {
        agent_id: Some(Some(ben)),
        ..Default::default()
    };
    let transfer = EventKind::Transferred {
        from: agent_ref(anna),
        to: agent_ref(ben),
    };
    w.event(c2, T0 + 400 * S, transfer, moved).await;
    w.rate_chat(c2, 1400, 3).await;
    let c3 = w
        .chat(w.acme, "acme", 200, Some((ben, 230, 290)), 530)
        .await;
    // C4: Anna took it at 320 s, her connection did not come back: requeued at 400 s; the
    // visitor gave up waiting at 900 s. Nobody holds it at the end.
    let c4 = w.conversation(w.acme, "acme", T0 + 300 * S).await;
    w.event(c4, T0 + 300 * S, EventKind::Started, Default::default())
        .await;
    let taken = ConversationUpdate {
        status: Some(ConversationStatus::Active),
        agent_id: Some(Some(anna)),
        assigned_at: Some(Some(T0 + 320 * S)),
        ..Default::default()
    };
    let joined = EventKind::AgentJoined {
        agent: agent_ref(anna),
    };
    w.event(c4, T0 + 320 * S, joined, taken).await;
    let back = ConversationUpdate {
        status: Some(ConversationStatus::Queued),
        agent_id: Some(None),
        assigned_at: Some(None),
        queued_at: Some(Some(T0 + 400 * S)),
        ..Default::default()
    };
    let requeued = EventKind::Requeued {
        from: agent_ref(anna),
    };
    w.event(c4, T0 + 400 * S, requeued, back).await;
    let end = ConversationUpdate {
        status: Some(ConversationStatus::Ended),
        ended_at: Some(Some(T0 + 900 * S)),
        ..Default::default()
    };
    let by_visitor = EventKind::Ended { by: Side::Visitor };
    w.event(c4, T0 + 900 * S, by_visitor, end).await;
    w.rate_chat(c4, 950, 2).await;

    // An offline message: a conversation without `started`, not a chat; it becomes T1.
    let offline = w.conversation(w.acme, "acme", T0 + 1000 * S).await;
    let left = ConversationUpdate {
        status: Some(ConversationStatus::AwaitingTicket),
        ..Default::default()
    };
    w.event(offline, T0 + 1000 * S, EventKind::LeftMessage, left)
        .await;

    use TicketChannel::*;
    use TicketPriority::*;
    // T1: medium, answered after 2 h, resolved after 5 h, rated 4 for Anna.
    let at = T0 + 1000 * S;
    let mut t = new_ticket(
        "acme",
        OfflineForm,
        Medium,
        "technical_problem",
        at,
        (8 * H, 72 * H),
    );
    t.conversation_id = Some(offline);
    t.assignee = Some(anna);
    let t1 = w.ticket(t).await.id;
    w.reply(t1, at + 2 * H, anna).await;
    w.set_status(t1, at + 5 * H, anna, TicketStatus::Resolved)
        .await;
    w.rate_ticket(t1, Some(anna), 4, at + 6 * H).await;

    // T2: high; escalated to L2; two replies (6 h, 7 h); resolved at 30 h by Anna, rated 2
    // for her, then reassigned to Ben.
    let at = T0 + 2000 * S;
    let mut t = new_ticket(
        "acme",
        OfflineForm,
        High,
        "billing_question",
        at,
        (4 * H, 24 * H),
    );
    t.assignee = Some(anna);
    let t2 = w.ticket(t).await.id;
    w.change(t2, at + H, anna, |c| {
        c.events.push(TicketEventKind::Escalated {
            from: SupportLevel::L1,
            to: SupportLevel::L2,
            reason: "Rechnungssystem".into(),
        });
        c.support_level = SupportLevel::L2;
    })
    .await;
    w.reply(t2, at + 6 * H, anna).await;
    w.reply(t2, at + 7 * H, anna).await;
    w.set_status(t2, at + 30 * H, anna, TicketStatus::Resolved)
        .await;
    w.rate_ticket(t2, Some(anna), 2, at + 31 * H).await;
    w.change(t2, at + 32 * H, anna, |c| {
        c.events.push(TicketEventKind::Assigned {
            from: Some(anna),
            to: Some(ben),
        });
        c.assignee = Some(ben);
    })
    .await;

    // T3: low, unassigned, untouched.
    let at = T0 + 3000 * S;
    let t3 = w
        .ticket(new_ticket(
            "acme",
            OfflineForm,
            Low,
            "complaint",
            at,
            (24 * H, 120 * H),
        ))
        .await
        .id;

    // T4: chat C3 converted at 500 s (answered live at 230 s), then pending on the customer.
    let at = T0 + 500 * S;
    let mut t = new_ticket(
        "acme",
        LiveChat,
        Critical,
        "product_information",
        at,
        (H, 8 * H),
    );
    t.conversation_id = Some(c3);
    t.assignee = Some(ben);
    t.support_level = SupportLevel::L2;
    t.first_response_at = Some(T0 + 230 * S);
    let t4 = w.ticket(t).await.id;
    w.set_status(t4, at + H, ben, TicketStatus::PendingCustomer)
        .await;

    // T5: medium; answered after 1 h, resolved at 3 h, reopened at 4 h, resolved at 6 h;
    // rated 5 with no agent stored.
    let at = T0 + 4000 * S;
    let mut t = new_ticket(
        "acme",
        OfflineForm,
        Medium,
        "technical_problem",
        at,
        (8 * H, 72 * H),
    );
    t.assignee = Some(anna);
    let t5 = w.ticket(t).await.id;
    w.reply(t5, at + H, anna).await;
    w.set_status(t5, at + 3 * H, anna, TicketStatus::Resolved)
        .await;
    w.set_status(t5, at + 4 * H, anna, TicketStatus::Open).await;
    w.set_status(t5, at + 6 * H, anna, TicketStatus::Resolved)
        .await;
    w.rate_ticket(t5, None, 5, at + 7 * H).await;
    // resolved → closed is not a reopen.
    w.set_status(t5, at + 8 * H, anna, TicketStatus::Closed)
        .await;

    // Outside: a chat 1 s before the range, one exactly at its (exclusive) end, a ticket
    // 10 s before it, and a chat and a ticket of another site inside it.
    w.chat(w.acme, "acme", -1, Some((anna, 5, 6)), 60).await;
    w.chat(w.acme, "acme", WEEK / S, None, WEEK / S + 10).await;
    w.ticket(new_ticket(
        "acme",
        OfflineForm,
        Low,
        "complaint",
        T0 - 10 * S,
        (H, H),
    ))
    .await;
    w.chat(w.beta, "beta", 50, Some((ben, 60, 70)), 80).await;
    w.ticket(new_ticket(
        "beta",
        OfflineForm,
        Low,
        "complaint",
        T0 + 50 * S,
        (H, H),
    ))
    .await;
    Built {
        chats: [c1, c2, c3, c4],
        tickets: [t1, t2, t3, t4, t5],
    }
}

fn acme_week() -> ReportRange {
    ReportRange {
        from: T0,
        to: T0 + WEEK,
        site: Some("acme".into()),
    }
}

#[allow(clippy::too_many_arguments)]
fn chat(
    id: ConversationId,
    agent: Option<AgentId>,
    created: i64,
    joined: Option<i64>,
    first_msg: Option<i64>,
    ended: i64,
    transfers: u32,
    became_ticket: bool,
    rating: Option<u8>,
) -> ChatFact {
    ChatFact {
        conversation_id: id,
        site_id: "acme".into(),
        agent,
        created_at: T0 + created * S,
        first_joined_at: joined.map(|j| T0 + j * S),
        assigned_at: joined.map(|j| T0 + j * S),
        first_agent_message_at: first_msg.map(|m| T0 + m * S),
        ended_at: Some(T0 + ended * S),
        transfers,
        requeues: 0,
        became_ticket,
        rating,
    }
}

async fn chats_in_the_range_come_back_as_the_fixtures_facts(db: Db) {
    let w = world(&db).await;
    let built = build(&w).await;
    let (anna, ben) = (w.anna, w.ben);
    let [c1, c2, c3, c4] = built.chats;
    let chats = w.store.report_chats(&acme_week()).await.expect("chats");
    let expected = vec![
        chat(
            c1,
            Some(anna),
            0,
            Some(10),
            Some(40),
            610,
            0,
            false,
            Some(5),
        ),
        chat(
            c2,
            Some(ben),
            100,
            Some(160),
            Some(220),
            1360,
            1,
            false,
            Some(3),
        ),
        chat(c3, Some(ben), 200, Some(230), Some(290), 530, 0, true, None),
        ChatFact {
            first_joined_at: Some(T0 + 320 * S),
            requeues: 1,
            ..chat(c4, None, 300, None, None, 900, 0, false, Some(2))
        },
    ];
    assert_eq!(chats, expected);
}

async fn tickets_in_the_range_carry_their_history_counts_and_ratings(db: Db) {
    let w = world(&db).await;
    let built = build(&w).await;
    let (anna, ben) = (w.anna, w.ben);
    let tickets = w.store.report_tickets(&acme_week()).await.expect("tickets");
    let ids: Vec<i64> = tickets.iter().map(|t| t.id).collect();
    assert_eq!(ids, built.tickets);
    let view = |t: &TicketFact| {
        (
            t.channel,
            t.support_level,
            t.assignee,
            t.first_response_at.map(|a| a - t.created_at),
            t.resolved_at.map(|a| a - t.created_at),
            (t.replies, t.escalations, t.reopened),
            (t.rating, t.rating_agent),
        )
    };
    use SupportLevel::*;
    use TicketChannel::*;
    assert_eq!(
        view(&tickets[0]),
        (
            OfflineForm,
            L1,
            Some(anna),
            Some(2 * H),
            Some(5 * H),
            (1, 0, false),
            (Some(4), Some(anna))
        )
    );
    assert_eq!(
        view(&tickets[1]),
        (
            OfflineForm,
            L2,
            Some(ben),
            Some(6 * H),
            Some(30 * H),
            (2, 1, false),
            (Some(2), Some(anna))
        )
    );
    assert_eq!(
        view(&tickets[2]),
        (
            OfflineForm,
            L1,
            None,
            None,
            None,
            (0, 0, false),
            (None, None)
        )
    );
    // Answered live 270 s before the ticket existed.
    assert_eq!(
        view(&tickets[3]),
        (
            LiveChat,
            L2,
            Some(ben),
            Some(-270 * S),
            None,
            (0, 0, false),
            (None, None)
        )
    );
    assert_eq!(tickets[3].pending_since, Some(tickets[3].created_at + H));
    assert_eq!(tickets[3].status, TicketStatus::PendingCustomer);
    // The rating stored without an agent counts for the assignee.
    assert_eq!(
        view(&tickets[4]),
        (
            OfflineForm,
            L1,
            Some(anna),
            Some(H),
            Some(6 * H),
            (1, 0, true),
            (Some(5), Some(anna))
        )
    );
    let t1 = &tickets[0];
    assert_eq!(
        (
            t1.priority,
            t1.category.as_str(),
            t1.created_at,
            t1.first_response_due_at,
            t1.resolution_due_at
        ),
        (
            TicketPriority::Medium,
            "technical_problem",
            T0 + 1000 * S,
            T0 + 1000 * S + 8 * H,
            T0 + 1000 * S + 72 * H
        )
    );
}

async fn the_range_is_half_open_and_the_site_optional(db: Db) {
    let w = world(&db).await;
    build(&w).await;
    let mut all_sites = acme_week();
    all_sites.site = None;
    let chats = w.store.report_chats(&all_sites).await.expect("chats");
    let sites: Vec<(&str, i64)> = chats
        .iter()
        .map(|c| (c.site_id.as_str(), (c.created_at - T0) / S))
        .collect();
    // C1–C4 and beta's chat; not the one at T0 − 1 s nor the one at exactly T0 + 1 week.
    assert_eq!(
        sites,
        [
            ("acme", 0),
            ("acme", 100),
            ("acme", 200),
            ("acme", 300),
            ("beta", 50)
        ]
    );
    let tickets = w.store.report_tickets(&all_sites).await.expect("tickets");
    assert_eq!(
        tickets.len(),
        6,
        "T1–T5 and beta's, not the one before the range"
    );

    // Moving `from` to the end-of-range chat's time includes it: `from` is inclusive.
    let last = ReportRange {
        from: T0 + WEEK,
        to: T0 + WEEK + 1,
        site: Some("acme".into()),
    };
    let chats = w.store.report_chats(&last).await.expect("chats");
    assert_eq!(chats.len(), 1);
    assert_eq!(chats[0].agent, None);
    let unknown = ReportRange {
        site: Some("nowhere".into()),
        ..acme_week()
    };
    assert!(w
        .store
        .report_chats(&unknown)
        .await
        .expect("chats")
        .is_empty());
}
