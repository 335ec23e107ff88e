//! Tickets: one per conversation, history written with every change, stale changes
//! refused, the list sorted by SLA due time and filtered; ratings, tags, assignment rules
//! and the assignee picked by them, SLA policies, business hours.

use crate::fixtures::acme;
use crate::harness::Db;
use switchboard_shared::{AgentId, ConversationId, ConversationStatus, SupportLevel, VisitorInfo};
use switchboard_store::tickets::{
    NewTicket, SiteHours, SlaPolicyRecord, TicketChange, TicketChannel, TicketEventKind,
    TicketFilter, TicketPriority, TicketStatus,
};
use switchboard_store::{NewConversation, SharedStore, SiteRecord, StoreError};

conformance!(
    a_conversation_becomes_one_ticket_however_often_it_is_converted,
    a_change_is_written_with_its_history_and_a_stale_one_is_refused,
    the_list_filters_and_sorts_by_sla_due_time_with_tickets_without_one_last,
    categories_default_to_the_five_of_the_issue_and_business_hours_round_trip,
    two_conversions_of_one_conversation_at_once_create_one_ticket,
    a_ticket_is_rated_once_and_the_rating_names_the_agent,
    tags_replace_and_filter_and_search_finds_text_case_insensitively_and_literally,
    rules_round_trip_and_the_assignee_is_picked_by_strategy_among_the_level,
    a_visitor_sees_only_their_own_tickets_newest_first,
    the_sla_filter_tells_breached_paused_and_running_tickets_apart_at_a_given_time,
    an_agents_sites_scope_the_ticket_list_and_replace_whole,
    sla_policies_are_set_per_priority_and_replaced,
    a_tickets_history_names_who_did_what_oldest_first,
);

/// The site `acme`, its visitor, and a conversation awaiting its ticket.
async fn world(db: &Db) -> (ConversationId, SharedStore) {
    let visitor = acme(db).await;
    let conv = db
        .store
        .create_conversation(NewConversation {
            site_id: "acme".into(),
            visitor_id: visitor,
            info: VisitorInfo::default(),
            status: ConversationStatus::AwaitingTicket,
            queue_rank: None,
            at: 1,
        })
        .await
        .expect("conversation");
    (conv.id, db.store.clone())
}

fn new_ticket(conv: Option<ConversationId>, due: i64) -> NewTicket {
    NewTicket {
        conversation_id: conv,
        site_id: "acme".into(),
        customer_name: Some("Jonas".into()),
        customer_contact: None,
        customer_number: None,
        channel: TicketChannel::OfflineForm,
        subject: "Wartung".into(),
        description: "Bitte zurückrufen".into(),
        priority: TicketPriority::Medium,
        category: "technical_problem".into(),
        assignee: None,
        support_level: SupportLevel::L1,
        first_response_at: None,
        first_response_due_at: due,
        resolution_due_at: due * 2,
        sla_due_at: Some(due),
        by: None,
        at: 10,
    }
}

async fn agent(store: &SharedStore, email: &str, level: SupportLevel) -> AgentId {
    store
        .create_agent(switchboard_store::NewAgent {
            email: email.into(),
            display_name: email.into(),
            password_hash: "x".into(),
            role: switchboard_store::Role::Agent,
            max_concurrent_chats: 3,
            support_level: level,
        })
        .await
        .expect("agent")
        .id
}

/// Assigns `ticket` to `to` the way the workflow does: a change with an `assigned` entry.
async fn assign(store: &SharedStore, ticket: i64, to: AgentId) {
    let t = store.ticket(ticket).await.unwrap().unwrap();
    let mut c = TicketChange::from_record(&t, None, 10);
    c.events.push(TicketEventKind::Assigned {
        from: c.assignee,
        to: Some(to),
    });
    c.assignee = Some(to);
    store.change_ticket(c).await.unwrap();
}

async fn a_conversation_becomes_one_ticket_however_often_it_is_converted(db: Db) {
    let (conv, store) = world(&db).await;
    let (first, created) = store
        .create_ticket(new_ticket(Some(conv), 100))
        .await
        .unwrap();
    assert!(created);
    let (again, created) = store
        .create_ticket(new_ticket(Some(conv), 999))
        .await
        .unwrap();
    assert!(!created);
    assert_eq!(again, first);
    let history = store.ticket_events(first.id).await.unwrap();
    assert_eq!(history.len(), 1, "one `created` entry: {history:?}");
    assert_eq!(
        store.ticket_for_conversation(conv).await.unwrap(),
        Some(first)
    );
}

async fn a_change_is_written_with_its_history_and_a_stale_one_is_refused(db: Db) {
    let (_, store) = world(&db).await;
    let (t, _) = store.create_ticket(new_ticket(None, 100)).await.unwrap();
    let mut change = TicketChange::from_record(&t, None, 20);
    change.status = TicketStatus::Open;
    change.events.push(TicketEventKind::StatusChanged {
        from: TicketStatus::New,
        to: TicketStatus::Open,
    });
    let stale = change.clone();
    let changed = store.change_ticket(change).await.unwrap();
    assert_eq!(changed.status, TicketStatus::Open);
    assert_eq!(changed.updated_at, 20);
    assert!(matches!(
        store.change_ticket(stale).await,
        Err(StoreError::Conflict(_))
    ));
    assert_eq!(store.ticket_events(t.id).await.unwrap().len(), 2);
    let mut unknown = TicketChange::from_record(&t, None, 30);
    unknown.category = "astrology".into();
    unknown.expected_version = changed.version;
    assert!(
        store.change_ticket(unknown).await.is_err(),
        "unknown category"
    );
}

async fn the_list_filters_and_sorts_by_sla_due_time_with_tickets_without_one_last(db: Db) {
    let (_, store) = world(&db).await;
    let (late, _) = store.create_ticket(new_ticket(None, 300)).await.unwrap();
    let (soon, _) = store.create_ticket(new_ticket(None, 100)).await.unwrap();
    let mut none = new_ticket(None, 50);
    none.sla_due_at = None;
    none.priority = TicketPriority::High;
    let (without, _) = store.create_ticket(none).await.unwrap();
    let all = store
        .list_tickets(TicketFilter {
            limit: 10,
            ..Default::default()
        })
        .await
        .unwrap();
    let ids: Vec<i64> = all.iter().map(|t| t.id).collect();
    assert_eq!(ids, vec![soon.id, late.id, without.id]);
    let high = store
        .list_tickets(TicketFilter {
            priority: Some(TicketPriority::High),
            limit: 10,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(high.len(), 1);
    let page = store
        .list_tickets(TicketFilter {
            limit: 1,
            offset: 1,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(page[0].id, late.id);
}

async fn categories_default_to_the_five_of_the_issue_and_business_hours_round_trip(db: Db) {
    let (_, store) = world(&db).await;
    assert_eq!(
        store.ticket_categories().await.unwrap(),
        vec![
            "technical_problem",
            "billing_question",
            "product_information",
            "complaint",
            "feature_request"
        ]
    );
    assert_eq!(store.site_hours("acme").await.unwrap(), None);
    let hours = SiteHours {
        timezone: "America/New_York".into(),
        week: vec![Some([540, 1020]), None, None, None, None, None, None],
    };
    store.set_site_hours("acme", hours.clone()).await.unwrap();
    assert_eq!(store.site_hours("acme").await.unwrap(), Some(hours));
}

async fn two_conversions_of_one_conversation_at_once_create_one_ticket(db: Db) {
    let (conv, store) = world(&db).await;
    let (a, b) = tokio::join!(
        store.create_ticket(new_ticket(Some(conv), 100)),
        store.create_ticket(new_ticket(Some(conv), 200)),
    );
    let (a, a_created) = a.unwrap();
    let (b, b_created) = b.unwrap();
    assert_eq!(a.id, b.id);
    assert!(a_created ^ b_created, "exactly one call created it");
    assert_eq!(store.ticket_events(a.id).await.unwrap().len(), 1);
}

async fn a_ticket_is_rated_once_and_the_rating_names_the_agent(db: Db) {
    let (conv, store) = world(&db).await;
    let anna = agent(&store, "anna@x", SupportLevel::L1).await;
    let (t, _) = store
        .create_ticket(new_ticket(Some(conv), 100))
        .await
        .unwrap();
    let rating = switchboard_store::tickets::TicketRating {
        ticket_id: t.id,
        agent_id: Some(anna),
        score: 4,
        comment: Some("schnell".into()),
        rated_at: 50,
    };
    store.rate_ticket(rating.clone()).await.unwrap();
    let again = store
        .rate_ticket(switchboard_store::tickets::TicketRating {
            score: 1,
            ..rating.clone()
        })
        .await;
    assert!(matches!(again, Err(StoreError::Conflict(_))), "{again:?}");
    assert_eq!(store.ticket_rating(t.id).await.unwrap(), Some(rating));
}

async fn tags_replace_and_filter_and_search_finds_text_case_insensitively_and_literally(db: Db) {
    let (_, store) = world(&db).await;
    let (a, _) = store.create_ticket(new_ticket(None, 100)).await.unwrap();
    let mut other = new_ticket(None, 200);
    other.subject = "Rechnung 100% falsch".into();
    other.customer_number = Some("K-4711".into());
    let (b, _) = store.create_ticket(other).await.unwrap();
    store
        .set_ticket_tags(a.id, vec!["rueckruf".into(), "wartung".into()])
        .await
        .unwrap();
    store
        .set_ticket_tags(a.id, vec!["wartung".into()])
        .await
        .unwrap();
    assert_eq!(store.ticket_tags(a.id).await.unwrap(), vec!["wartung"]);
    let find = |tag: Option<&str>, search: Option<&str>| {
        let f = TicketFilter {
            tag: tag.map(String::from),
            search: search.map(String::from),
            limit: 10,
            ..Default::default()
        };
        let store = &store;
        async move {
            let list = store.list_tickets(f).await.unwrap();
            list.iter().map(|t| t.id).collect::<Vec<_>>()
        }
    };
    assert_eq!(find(Some("wartung"), None).await, vec![a.id]);
    assert!(find(Some("rueckruf"), None).await.is_empty());
    assert_eq!(find(None, Some("RECHNUNG")).await, vec![b.id]);
    assert_eq!(find(None, Some("k-4711")).await, vec![b.id]);
    assert_eq!(find(None, Some("100%")).await, vec![b.id]);
    // `%` is literal: "0%f" is not in any text.
    assert!(find(None, Some("0%f")).await.is_empty());
    assert_eq!(find(None, Some("zurück")).await, vec![a.id, b.id]);
}

async fn rules_round_trip_and_the_assignee_is_picked_by_strategy_among_the_level(db: Db) {
    use switchboard_store::tickets::{AssignmentRule, AssignmentStrategy};
    let (_, store) = world(&db).await;
    let l1 = agent(&store, "l1@x", SupportLevel::L1).await;
    let a = agent(&store, "a@x", SupportLevel::L2).await;
    let b = agent(&store, "b@x", SupportLevel::L2).await;
    let rule = AssignmentRule {
        category: "billing_question".into(),
        support_level: SupportLevel::L2,
        strategy: AssignmentStrategy::RoundRobin,
    };
    store.set_assignment_rule(rule.clone()).await.unwrap();
    assert_eq!(store.assignment_rules().await.unwrap(), vec![rule]);
    let unknown = store
        .set_assignment_rule(AssignmentRule {
            category: "no_such".into(),
            support_level: SupportLevel::L1,
            strategy: AssignmentStrategy::Manual,
        })
        .await;
    assert!(matches!(unknown, Err(StoreError::NotFound)), "{unknown:?}");

    let pick = |s| store.pick_ticket_assignee(SupportLevel::L2, s, "acme");
    assert_eq!(pick(AssignmentStrategy::Manual).await.unwrap(), None);
    // Round robin: never assigned first (ties by id), then whoever waited longest.
    assert_eq!(pick(AssignmentStrategy::RoundRobin).await.unwrap(), Some(a));
    let (t1, _) = store.create_ticket(new_ticket(None, 1)).await.unwrap();
    assign(&store, t1.id, a).await;
    assert_eq!(pick(AssignmentStrategy::RoundRobin).await.unwrap(), Some(b));
    let (t2, _) = store.create_ticket(new_ticket(None, 2)).await.unwrap();
    assign(&store, t2.id, b).await;
    assert_eq!(pick(AssignmentStrategy::RoundRobin).await.unwrap(), Some(a));
    // Least loaded: a has one open ticket, b two → a; once a's is resolved, still a (0 < 2).
    let (t3, _) = store.create_ticket(new_ticket(None, 3)).await.unwrap();
    assign(&store, t3.id, b).await;
    assert_eq!(
        pick(AssignmentStrategy::LeastLoaded).await.unwrap(),
        Some(a)
    );
    let (t4, _) = store.create_ticket(new_ticket(None, 4)).await.unwrap();
    assign(&store, t4.id, a).await;
    assign(&store, t4.id, a).await; // no-op entry, same agent
    let (t5, _) = store.create_ticket(new_ticket(None, 5)).await.unwrap();
    assign(&store, t5.id, a).await;
    assert_eq!(
        pick(AssignmentStrategy::LeastLoaded).await.unwrap(),
        Some(b)
    );
    // L1 agents are never picked for L2, and disabled agents never.
    assert_ne!(
        pick(AssignmentStrategy::LeastLoaded).await.unwrap(),
        Some(l1)
    );
    store
        .update_agent(
            b,
            switchboard_store::AgentPatch {
                disabled: Some(true),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(
        pick(AssignmentStrategy::LeastLoaded).await.unwrap(),
        Some(a)
    );
}

async fn a_visitor_sees_only_their_own_tickets_newest_first(db: Db) {
    let (conv, store) = world(&db).await;
    let (mine, _) = store
        .create_ticket(new_ticket(Some(conv), 1))
        .await
        .unwrap();
    let (_unlinked, _) = store.create_ticket(new_ticket(None, 2)).await.unwrap();
    let owner = store.conversation(conv).await.unwrap().unwrap().visitor_id;
    let ids: Vec<i64> = store
        .tickets_of_visitor(owner, 10)
        .await
        .unwrap()
        .iter()
        .map(|t| t.id)
        .collect();
    assert_eq!(ids, vec![mine.id]);
    let stranger = store.create_visitor("acme", [9; 32], 1).await.unwrap();
    assert!(store
        .tickets_of_visitor(stranger.id, 10)
        .await
        .unwrap()
        .is_empty());
}

async fn the_sla_filter_tells_breached_paused_and_running_tickets_apart_at_a_given_time(db: Db) {
    use switchboard_store::tickets::SlaState;
    let (_, store) = world(&db).await;
    // Now is 500. Overdue: first response due at 100, never answered.
    let (overdue, _) = store.create_ticket(new_ticket(None, 100)).await.unwrap();
    // Running: due at 1000.
    let (running, _) = store.create_ticket(new_ticket(None, 1000)).await.unwrap();
    // Paused since 50, due at 100: the clock stopped before the due time.
    let (paused, _) = store.create_ticket(new_ticket(None, 100)).await.unwrap();
    let mut c = TicketChange::from_record(&paused, None, 50);
    c.status = TicketStatus::PendingCustomer;
    c.pending_since = Some(50);
    c.events.push(TicketEventKind::StatusChanged {
        from: TicketStatus::New,
        to: TicketStatus::PendingCustomer,
    });
    store.change_ticket(c).await.unwrap();
    // Answered late (at 150, due 100) and resolved in time: breached for good.
    let (late, _) = store.create_ticket(new_ticket(None, 100)).await.unwrap();
    let mut c = TicketChange::from_record(&late, None, 300);
    c.first_response_at = Some(150);
    c.resolved_at = Some(160);
    c.status = TicketStatus::Resolved;
    c.events.push(TicketEventKind::StatusChanged {
        from: TicketStatus::New,
        to: TicketStatus::Resolved,
    });
    store.change_ticket(c).await.unwrap();
    // Answered and resolved in time: in no state.
    let (done, _) = store.create_ticket(new_ticket(None, 1000)).await.unwrap();
    let mut c = TicketChange::from_record(&done, None, 300);
    c.first_response_at = Some(200);
    c.resolved_at = Some(300);
    c.status = TicketStatus::Resolved;
    c.events.push(TicketEventKind::StatusChanged {
        from: TicketStatus::New,
        to: TicketStatus::Resolved,
    });
    store.change_ticket(c).await.unwrap();

    let ids = |sla| {
        let store = &store;
        async move {
            let f = TicketFilter {
                sla: Some(sla),
                now: 500,
                limit: 10,
                ..Default::default()
            };
            let mut ids: Vec<i64> = store
                .list_tickets(f)
                .await
                .unwrap()
                .iter()
                .map(|t| t.id)
                .collect();
            ids.sort();
            ids
        }
    };
    assert_eq!(ids(SlaState::Breached).await, vec![overdue.id, late.id]);
    assert_eq!(ids(SlaState::Paused).await, vec![paused.id]);
    assert_eq!(ids(SlaState::Running).await, vec![running.id]);
    let _ = done;
}

async fn an_agents_sites_scope_the_ticket_list_and_replace_whole(db: Db) {
    let (_, store) = world(&db).await;
    let other = SiteRecord {
        id: "brandschutz".into(),
        name: "Brandschutz".into(),
        allowed_origins: vec![],
        prechat: Default::default(),
        options: Default::default(),
    };
    store.upsert_site(other).await.unwrap();
    let (a, _) = store.create_ticket(new_ticket(None, 100)).await.unwrap();
    let mut theirs = new_ticket(None, 200);
    theirs.site_id = "brandschutz".into();
    let (b, _) = store.create_ticket(theirs).await.unwrap();
    let ids = |sites: Option<Vec<String>>| {
        let store = &store;
        async move {
            let f = TicketFilter {
                sites,
                limit: 10,
                ..Default::default()
            };
            let list = store.list_tickets(f).await.unwrap();
            list.iter().map(|t| t.id).collect::<Vec<_>>()
        }
    };
    assert_eq!(ids(None).await, vec![a.id, b.id]);
    assert_eq!(ids(Some(vec!["acme".into()])).await, vec![a.id]);
    assert_eq!(ids(Some(vec!["brandschutz".into()])).await, vec![b.id]);
    assert!(ids(Some(vec![])).await.is_empty());

    let agent = store
        .create_agent(switchboard_store::NewAgent {
            email: "anna@acme.example".into(),
            display_name: "Anna".into(),
            password_hash: "$argon2id$stub".into(),
            role: switchboard_store::Role::Agent,
            max_concurrent_chats: 2,
            support_level: SupportLevel::L1,
        })
        .await
        .unwrap();
    assert!(store.agent_sites(agent.id).await.unwrap().is_empty());
    let both = ["brandschutz".to_string(), "acme".to_string()];
    store.set_agent_sites(agent.id, &both).await.unwrap();
    assert_eq!(
        store.agent_sites(agent.id).await.unwrap(),
        vec!["acme", "brandschutz"]
    );
    // Unknown site: nothing changes.
    let bad = ["acme".to_string(), "nowhere".to_string()];
    assert!(matches!(
        store.set_agent_sites(agent.id, &bad).await,
        Err(switchboard_store::StoreError::NotFound)
    ));
    assert_eq!(store.agent_sites(agent.id).await.unwrap().len(), 2);
    store.set_agent_sites(agent.id, &[]).await.unwrap();
    assert!(store.all_agent_sites().await.unwrap().is_empty());
}

async fn sla_policies_are_set_per_priority_and_replaced(db: Db) {
    let (_, store) = world(&db).await;
    assert!(
        store.sla_policies().await.unwrap().is_empty(),
        "defaults are the relay's"
    );
    let high = SlaPolicyRecord {
        priority: TicketPriority::High,
        first_response_minutes: 60,
        resolution_minutes: 480,
    };
    let low = SlaPolicyRecord {
        priority: TicketPriority::Low,
        first_response_minutes: 1_440,
        resolution_minutes: 7_200,
    };
    store.set_sla_policy(high.clone()).await.unwrap();
    store.set_sla_policy(low.clone()).await.unwrap();
    let faster = SlaPolicyRecord {
        first_response_minutes: 30,
        ..high
    };
    store.set_sla_policy(faster.clone()).await.unwrap();
    let mut policies = store.sla_policies().await.unwrap();
    policies.sort_by_key(|p| p.priority.as_str());
    assert_eq!(policies, vec![faster, low]);
}

async fn a_tickets_history_names_who_did_what_oldest_first(db: Db) {
    let (conv, store) = world(&db).await;
    let anna = agent(&store, "anna@x", SupportLevel::L1).await;
    let mut new = new_ticket(Some(conv), 100);
    new.by = Some(anna);
    new.assignee = Some(anna);
    let (t, created) = store.create_ticket(new).await.unwrap();
    assert!(created);
    assert_eq!(
        (t.conversation_id, t.status, t.assignee, t.version >= 0),
        (Some(conv), TicketStatus::New, Some(anna), true)
    );
    assert_eq!(store.ticket(t.id).await.unwrap(), Some(t.clone()));
    assert!(store.ticket(t.id + 1_000).await.unwrap().is_none());
    let mut c = TicketChange::from_record(&t, Some(anna), 20);
    c.priority = TicketPriority::High;
    c.events.push(TicketEventKind::PriorityChanged {
        from: TicketPriority::Medium,
        to: TicketPriority::High,
    });
    c.events.push(TicketEventKind::Note {
        body: "intern".into(),
    });
    let changed = store.change_ticket(c).await.unwrap();
    assert_eq!(changed.priority, TicketPriority::High);
    assert_ne!(changed.version, t.version, "a change raises the version");
    let history = store.ticket_events(t.id).await.unwrap();
    let entries: Vec<(i64, Option<AgentId>, &TicketEventKind)> = history
        .iter()
        .map(|e| (e.at, e.agent_id, &e.event))
        .collect();
    assert_eq!(
        entries,
        vec![
            (
                10,
                Some(anna),
                &TicketEventKind::Created {
                    channel: TicketChannel::OfflineForm
                }
            ),
            (
                20,
                Some(anna),
                &TicketEventKind::PriorityChanged {
                    from: TicketPriority::Medium,
                    to: TicketPriority::High
                }
            ),
            (
                20,
                Some(anna),
                &TicketEventKind::Note {
                    body: "intern".into()
                }
            ),
        ]
    );
    assert!(history.iter().all(|e| e.ticket_id == t.id));
}
