//! Specifications of ticket storage: one ticket per conversation, history written with
//! every change, stale changes refused, the list sorted by SLA due time.

use super::SqliteStore;
use crate::tickets::{
    NewTicket, SiteHours, TicketChange, TicketChannel, TicketEventKind, TicketFilter,
    TicketPriority, TicketStatus,
};
use crate::{NewConversation, NoListener, SiteRecord, Store, StoreError};
use std::sync::Arc;
use switchboard_shared::{ConversationId, ConversationStatus, SupportLevel, VisitorInfo};
use tempfile::TempDir;

async fn store() -> (TempDir, SqliteStore, ConversationId) {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("t.db");
    let store = SqliteStore::open(path.to_str().expect("utf-8 path"), Arc::new(NoListener))
        .await
        .expect("open");
    let site = SiteRecord {
        id: "acme".into(),
        name: "Acme".into(),
        allowed_origins: vec![],
        prechat: Default::default(),
    };
    store.upsert_site(site).await.expect("site");
    let visitor = store
        .create_visitor("acme", [3; 32], 1)
        .await
        .expect("visitor");
    let conv = store
        .create_conversation(NewConversation {
            site_id: "acme".into(),
            visitor_id: visitor.id,
            info: VisitorInfo::default(),
            status: ConversationStatus::AwaitingTicket,
            queue_rank: None,
            at: 1,
        })
        .await
        .expect("conversation");
    (dir, store, conv.id)
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

#[tokio::test]
async fn a_conversation_becomes_one_ticket_however_often_it_is_converted() {
    let (_dir, store, conv) = store().await;
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
    store.close().await;
}

#[tokio::test]
async fn a_change_is_written_with_its_history_and_a_stale_one_is_refused() {
    let (_dir, store, _) = store().await;
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
    store.close().await;
}

#[tokio::test]
async fn the_list_filters_and_sorts_by_sla_due_time_with_tickets_without_one_last() {
    let (_dir, store, _) = store().await;
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
    store.close().await;
}

#[tokio::test]
async fn categories_default_to_the_five_of_the_issue_and_business_hours_round_trip() {
    let (_dir, store, _) = store().await;
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
    store.close().await;
}

#[tokio::test]
async fn two_conversions_of_one_conversation_at_once_create_one_ticket() {
    let (_dir, store, conv) = store().await;
    let (a, b) = tokio::join!(
        store.create_ticket(new_ticket(Some(conv), 100)),
        store.create_ticket(new_ticket(Some(conv), 200)),
    );
    let (a, a_created) = a.unwrap();
    let (b, b_created) = b.unwrap();
    assert_eq!(a.id, b.id);
    assert!(a_created ^ b_created, "exactly one call created it");
    assert_eq!(store.ticket_events(a.id).await.unwrap().len(), 1);
    store.close().await;
}
