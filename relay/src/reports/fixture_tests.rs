//! Every KPI against a small world computed by hand. The facts below are exactly what the
//! store reads from the rows of `store/src/sqlite/reports_tests.rs` (that test proves the
//! SQL side: rows → these facts); this one proves the definitions: facts → numbers.
//!
//! The world (site `acme`, range one week from Monday T0; times in seconds after T0):
//!
//! | chat | created | joined | 1st agent msg | ended | agent | notes |
//! |---|---|---|---|---|---|---|
//! | C1 | 0 | 10 | 40 | 610 | Anna (L1) | rated 5 |
//! | C2 | 100 | 160 | 220 | 1360 | Ben (L2) | Anna → Ben transfer, rated 3 |
//! | C3 | 200 | 230 | 290 | 530 | Ben | converted to ticket T4 |
//! | C4 | 300 | 320 | – | 900 | – | Anna's link dropped: requeued at 400, visitor gave up; rated 2 |
//!
//! | ticket | channel | prio | category | level | assignee | created | 1st resp | resolved | rating |
//! |---|---|---|---|---|---|---|---|---|---|
//! | T1 | offline | medium | technical_problem | L1 | Anna | 1000 | +2 h | +5 h | 4 (Anna) |
//! | T2 | offline | high | billing_question | L2 (escalated) | Ben | 2000 | +6 h (due +4 h) | +30 h (due +24 h) | 2 (Anna) |
//! | T3 | offline | low | complaint | L1 | – | 3000 | – (due +24 h) | – | – |
//! | T4 | live chat (C3) | critical | product_information | L2 | Ben | 500 | 230 s (chat) | – (paused) | – |
//! | T5 | offline | medium | technical_problem | L1 | Anna | 4000 | +1 h | +6 h (after a reopen) | 5 (none → Anna) |
//!
//! `now` = T0 + 3 days.

use super::compute;
use super::kpis::{Csat, Durations, Rate};
use switchboard_shared::{AgentId, ConversationId, SupportLevel};
use switchboard_store::reports::{ChatFact, ReportRange, TicketFact};
use switchboard_store::tickets::{TicketChannel, TicketPriority, TicketStatus};
use switchboard_store::{AgentRecord, Role};

/// Monday 2026-11-02 00:00 UTC.
pub const T0: i64 = 1_793_577_600_000;
const S: i64 = 1_000;
const H: i64 = 3_600 * S;
const ANNA: AgentId = AgentId(1);
const BEN: AgentId = AgentId(2);

fn agent(id: AgentId, name: &str, level: SupportLevel) -> AgentRecord {
    AgentRecord {
        id,
        email: format!("{name}@example.com"),
        display_name: name.into(),
        password_hash: String::new(),
        role: Role::Agent,
        max_concurrent_chats: 3,
        support_level: level,
        disabled: false,
        created_at: 0,
    }
}

#[allow(clippy::too_many_arguments)]
fn chat(
    id: i64,
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
        conversation_id: ConversationId(id),
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

/// An offline-form ticket created at `created` seconds; targets as the policy sets them.
fn ticket(id: i64, priority: TicketPriority, category: &str, created: i64) -> TicketFact {
    let (fr, res) = match priority {
        TicketPriority::Critical => (H, 8 * H),
        TicketPriority::High => (4 * H, 24 * H),
        TicketPriority::Medium => (8 * H, 72 * H),
        TicketPriority::Low => (24 * H, 120 * H),
    };
    let at = T0 + created * S;
    TicketFact {
        id,
        site_id: "acme".into(),
        channel: TicketChannel::OfflineForm,
        priority,
        category: category.into(),
        support_level: SupportLevel::L1,
        status: TicketStatus::New,
        assignee: None,
        created_at: at,
        first_response_at: None,
        resolved_at: None,
        first_response_due_at: at + fr,
        resolution_due_at: at + res,
        pending_since: None,
        replies: 0,
        escalations: 0,
        reopened: false,
        rating: None,
        rating_agent: None,
    }
}

pub fn world() -> (Vec<ChatFact>, Vec<TicketFact>) {
    let chats = vec![
        chat(1, Some(ANNA), 0, Some(10), Some(40), 610, 0, false, Some(5)),
        chat(
            2,
            Some(BEN),
            100,
            Some(160),
            Some(220),
            1360,
            1,
            false,
            Some(3),
        ),
        chat(3, Some(BEN), 200, Some(230), Some(290), 530, 0, true, None),
        ChatFact {
            first_joined_at: Some(T0 + 320 * S),
            requeues: 1,
            ..chat(4, None, 300, None, None, 900, 0, false, Some(2))
        },
    ];
    let t1 = {
        let mut t = ticket(1, TicketPriority::Medium, "technical_problem", 1000);
        t.status = TicketStatus::Resolved;
        t.assignee = Some(ANNA);
        t.first_response_at = Some(t.created_at + 2 * H);
        t.resolved_at = Some(t.created_at + 5 * H);
        t.replies = 1;
        (t.rating, t.rating_agent) = (Some(4), Some(ANNA));
        t
    };
    let t2 = {
        let mut t = ticket(2, TicketPriority::High, "billing_question", 2000);
        t.status = TicketStatus::Resolved;
        t.support_level = SupportLevel::L2;
        t.assignee = Some(BEN);
        t.first_response_at = Some(t.created_at + 6 * H);
        t.resolved_at = Some(t.created_at + 30 * H);
        t.replies = 2;
        t.escalations = 1;
        (t.rating, t.rating_agent) = (Some(2), Some(ANNA));
        t
    };
    let t3 = ticket(3, TicketPriority::Low, "complaint", 3000);
    let t4 = {
        let mut t = ticket(4, TicketPriority::Critical, "product_information", 500);
        t.channel = TicketChannel::LiveChat;
        t.status = TicketStatus::PendingCustomer;
        t.support_level = SupportLevel::L2;
        t.assignee = Some(BEN);
        t.first_response_at = Some(T0 + 230 * S);
        t.pending_since = Some(t.created_at + H);
        t
    };
    let t5 = {
        let mut t = ticket(5, TicketPriority::Medium, "technical_problem", 4000);
        t.status = TicketStatus::Resolved;
        t.assignee = Some(ANNA);
        t.first_response_at = Some(t.created_at + H);
        t.resolved_at = Some(t.created_at + 6 * H);
        t.replies = 1;
        t.reopened = true;
        (t.rating, t.rating_agent) = (Some(5), Some(ANNA));
        t
    };
    (chats, vec![t1, t2, t3, t4, t5])
}

fn categories() -> Vec<String> {
    [
        "technical_problem",
        "billing_question",
        "product_information",
        "complaint",
        "feature_request",
    ]
    .map(String::from)
    .to_vec()
}

fn d(count: u32, mean_ms: i64, median_ms: i64) -> Durations {
    Durations {
        count,
        mean_ms: Some(mean_ms),
        median_ms: Some(median_ms),
    }
}
const NO_DURATIONS: Durations = Durations {
    count: 0,
    mean_ms: None,
    median_ms: None,
};
fn r(eligible: u32, met: u32, rate: f64) -> Rate {
    Rate {
        eligible,
        met,
        rate: Some(rate),
    }
}
fn no_rate() -> Rate {
    Rate {
        eligible: 0,
        met: 0,
        rate: None,
    }
}
fn c(count: u32, average: f64, satisfied: u32, rate: f64) -> Csat {
    Csat {
        count,
        average: Some(average),
        satisfied,
        rate: Some(rate),
    }
}
fn no_csat() -> Csat {
    Csat {
        count: 0,
        average: None,
        satisfied: 0,
        rate: None,
    }
}

fn report() -> super::Report {
    let (chats, tickets) = world();
    let agents = [
        agent(ANNA, "Anna", SupportLevel::L1),
        agent(BEN, "Ben", SupportLevel::L2),
    ];
    let range = ReportRange {
        from: T0,
        to: T0 + 7 * 24 * H,
        site: Some("acme".into()),
    };
    compute(range, &chats, &tickets, &agents, &categories(), T0 + 72 * H)
}

#[test]
fn overall_kpis_match_the_hand_computed_values() {
    let k = report().overall;
    // Volume: 4 chats; 5 tickets: live_chat 1 (T4), offline_form 4.
    assert_eq!((k.volume.chats, k.volume.tickets), (4, 5));
    let counts = |m: &std::collections::BTreeMap<String, u32>| -> Vec<(String, u32)> {
        m.iter().map(|(k, v)| (k.clone(), *v)).collect()
    };
    assert_eq!(
        counts(&k.volume.tickets_by_channel),
        [("live_chat".into(), 1), ("offline_form".into(), 4)]
    );
    // low T3, medium T1+T5, high T2, critical T4.
    assert_eq!(
        counts(&k.volume.tickets_by_priority),
        [
            ("critical".into(), 1),
            ("high".into(), 1),
            ("low".into(), 1),
            ("medium".into(), 2)
        ]
    );
    assert_eq!(
        counts(&k.volume.tickets_by_category),
        [
            ("billing_question".into(), 1),
            ("complaint".into(), 1),
            ("feature_request".into(), 0),
            ("product_information".into(), 1),
            ("technical_problem".into(), 2)
        ]
    );

    // Chat FRT: C1 40−0 = 40 s, C2 220−100 = 120 s, C3 290−200 = 90 s (C4 unanswered).
    // Mean 250/3 = 83.333 s → 83 333 ms; median of 40, 90, 120 = 90 s.
    assert_eq!(k.first_response.chats, d(3, 83_333, 90_000));
    // Ticket FRT: T1 2 h, T2 6 h, T5 1 h (T3 none, T4 a live chat: excluded).
    // Mean 9 h / 3 = 3 h = 10 800 000 ms; median of 1, 2, 6 h = 2 h.
    assert_eq!(k.first_response.tickets, d(3, 10_800_000, 7_200_000));
    // Handle time: C1 610−10 = 600 s, C2 1360−160 = 1200 s, C3 530−230 = 300 s.
    // Mean 2100/3 = 700 s; median 600 s.
    assert_eq!(k.handle_time, d(3, 700_000, 600_000));
    // Resolution: T1 5 h, T2 30 h, T5 6 h. Mean 41/3 h = 13.667 h = 49 200 000 ms;
    // median 6 h = 21 600 000 ms.
    assert_eq!(k.resolution_time, d(3, 49_200_000, 21_600_000));
    // FCR chats: C1–C4 were taken by an agent and ended; only C1 without transfer,
    // requeue (C4) or ticket (C3): 1/4.
    assert_eq!(k.first_contact_resolution.chats, r(4, 1, 0.25));
    // FCR tickets: offline and resolved T1, T2, T5; T2 escalated + 2 replies, T5 reopened: 1/3.
    assert_eq!(k.first_contact_resolution.tickets, r(3, 1, 0.3333));
    // CSAT chats 5, 3, 2: mean 10/3 = 3.3333; 4–5: one (5) of 3.
    assert_eq!(k.csat.chats, c(3, 3.3333, 1, 0.3333));
    // CSAT tickets 4, 2, 5: mean 11/3 = 3.6667; two of three.
    assert_eq!(k.csat.tickets, c(3, 3.6667, 2, 0.6667));
    // All six: 21/6 = 3.5; 5, 4, 5 satisfied: 3/6.
    assert_eq!(k.csat.all, c(6, 3.5, 3, 0.5));
    // SLA first response: T1 2 h ≤ 8 h ✓, T2 6 h > 4 h ✗, T3 unanswered and 72 h > 24 h ✗,
    // T4 answered at 230 s ≤ 500 s + 1 h ✓, T5 1 h ≤ 8 h ✓ → 3/5.
    assert_eq!(k.sla.first_response, r(5, 3, 0.6));
    // SLA resolution: T1 5 h ≤ 72 h ✓, T2 30 h > 24 h ✗, T5 6 h ≤ 72 h ✓; T3 still running
    // (due at 120 h), T4 paused 1 h after creation, before its 8 h: not counted → 2/3.
    assert_eq!(k.sla.resolution, r(3, 2, 0.6667));
}

#[test]
fn per_agent_kpis_count_each_item_for_the_agent_it_belongs_to() {
    let rep = report();
    let ids: Vec<Option<AgentId>> = rep.by_agent.iter().map(|a| a.agent_id).collect();
    assert_eq!(
        ids,
        [Some(ANNA), Some(BEN), None],
        "agents by id, unattributed last"
    );

    let anna = &rep.by_agent[0];
    assert_eq!(anna.agent_name.as_deref(), Some("Anna"));
    assert_eq!(anna.support_level, Some(SupportLevel::L1));
    let k = &anna.kpis;
    // Anna: chat C1; tickets T1, T5; ratings of T1 (hers), T2 (stored against her), T5
    // (stored without an agent: its assignee, her).
    assert_eq!((k.volume.chats, k.volume.tickets), (1, 2));
    assert_eq!(k.first_response.chats, d(1, 40_000, 40_000));
    // T1 2 h, T5 1 h: mean = median = 1.5 h = 5 400 000 ms.
    assert_eq!(k.first_response.tickets, d(2, 5_400_000, 5_400_000));
    assert_eq!(k.handle_time, d(1, 600_000, 600_000));
    // T1 5 h, T5 6 h: 5.5 h = 19 800 000 ms.
    assert_eq!(k.resolution_time, d(2, 19_800_000, 19_800_000));
    assert_eq!(k.first_contact_resolution.chats, r(1, 1, 1.0));
    assert_eq!(k.first_contact_resolution.tickets, r(2, 1, 0.5));
    assert_eq!(k.csat.chats, c(1, 5.0, 1, 1.0));
    assert_eq!(k.csat.tickets, c(3, 3.6667, 2, 0.6667));
    // 5, 4, 2, 5: 16/4 = 4.0; three satisfied.
    assert_eq!(k.csat.all, c(4, 4.0, 3, 0.75));
    assert_eq!(k.sla.first_response, r(2, 2, 1.0));
    assert_eq!(k.sla.resolution, r(2, 2, 1.0));

    let ben = &rep.by_agent[1].kpis;
    // Ben: chats C2 (transferred to him), C3; tickets T2, T4; no ratings stored for him on
    // tickets.
    assert_eq!((ben.volume.chats, ben.volume.tickets), (2, 2));
    // C2 120 s, C3 90 s → 105 s.
    assert_eq!(ben.first_response.chats, d(2, 105_000, 105_000));
    assert_eq!(ben.first_response.tickets, d(1, 21_600_000, 21_600_000));
    // C2 1200 s, C3 300 s → 750 s.
    assert_eq!(ben.handle_time, d(2, 750_000, 750_000));
    assert_eq!(ben.resolution_time, d(1, 108_000_000, 108_000_000));
    assert_eq!(ben.first_contact_resolution.chats, r(2, 0, 0.0));
    assert_eq!(ben.first_contact_resolution.tickets, r(1, 0, 0.0));
    assert_eq!(ben.csat.chats, c(1, 3.0, 0, 0.0));
    assert_eq!(ben.csat.tickets, no_csat());
    assert_eq!(ben.csat.all, c(1, 3.0, 0, 0.0));
    // T2 ✗, T4 ✓; resolution: T2 ✗, T4 paused (not counted).
    assert_eq!(ben.sla.first_response, r(2, 1, 0.5));
    assert_eq!(ben.sla.resolution, r(1, 0, 0.0));

    let nobody = &rep.by_agent[2];
    assert_eq!(
        (nobody.agent_name.as_deref(), nobody.support_level),
        (None, None)
    );
    let k = &nobody.kpis;
    // C4 (requeued, no agent at the end, never answered) and T3 (unassigned).
    assert_eq!((k.volume.chats, k.volume.tickets), (1, 1));
    assert_eq!(k.first_response.chats, NO_DURATIONS);
    // Ended in the queue: no handle time; taken once, so FCR-eligible, and missed.
    assert_eq!(k.handle_time, NO_DURATIONS);
    assert_eq!(k.first_contact_resolution.chats, r(1, 0, 0.0));
    assert_eq!(k.csat.chats, c(1, 2.0, 0, 0.0));
    assert_eq!(k.sla.first_response, r(1, 0, 0.0));
    assert_eq!(k.sla.resolution, no_rate());
}

#[test]
fn per_level_kpis_use_the_agents_level_for_chats_and_the_tickets_own_level() {
    let rep = report();
    let levels: Vec<Option<SupportLevel>> = rep.by_level.iter().map(|l| l.support_level).collect();
    use SupportLevel::*;
    assert_eq!(levels, [Some(L1), Some(L2), Some(L3), None]);

    let l1 = &rep.by_level[0].kpis;
    // L1: chat C1 (Anna); tickets T1, T3, T5 (T2 was escalated to L2).
    assert_eq!((l1.volume.chats, l1.volume.tickets), (1, 3));
    assert_eq!(l1.first_response.tickets, d(2, 5_400_000, 5_400_000));
    // T1 ✓, T3 ✗, T5 ✓ → 2/3; resolution T1 ✓, T5 ✓ (T3 running).
    assert_eq!(l1.sla.first_response, r(3, 2, 0.6667));
    assert_eq!(l1.sla.resolution, r(2, 2, 1.0));
    // Level ratings follow the ticket: T1 4, T5 5 → 4.5, both satisfied.
    assert_eq!(l1.csat.tickets, c(2, 4.5, 2, 1.0));

    let l2 = &rep.by_level[1].kpis;
    // L2: chats C2, C3 (Ben); tickets T2, T4.
    assert_eq!((l2.volume.chats, l2.volume.tickets), (2, 2));
    assert_eq!(l2.handle_time, d(2, 750_000, 750_000));
    assert_eq!(l2.csat.tickets, c(1, 2.0, 0, 0.0));
    assert_eq!(l2.sla.first_response, r(2, 1, 0.5));

    let l3 = &rep.by_level[2].kpis;
    assert_eq!((l3.volume.chats, l3.volume.tickets), (0, 0));
    assert_eq!(l3.first_response.chats, NO_DURATIONS);
    assert_eq!(l3.sla.first_response, no_rate());

    // No agent: C4 only.
    let none = &rep.by_level[3].kpis;
    assert_eq!((none.volume.chats, none.volume.tickets), (1, 0));
}
