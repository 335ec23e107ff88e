//! Conversation rows: created as asked, found per visitor, the open ones for routing, and
//! the handle times of ended chats.

use crate::fixtures::{acme, conversation, system_event};
use crate::harness::Db;
use switchboard_shared::{ConversationId, ConversationStatus, EventKind, Side, VisitorInfo};
use switchboard_store::{AppendRequest, ConversationUpdate, NewConversation};

conformance!(
    a_new_conversation_is_stored_as_asked,
    latest_conversation_for_visitor_honours_since,
    open_conversations_are_the_queued_and_active_ones,
    a_visitors_conversations_are_listed_newest_first,
    recent_handle_times_are_those_of_the_last_ended_chats_newest_first,
);

async fn a_new_conversation_is_stored_as_asked(db: Db) {
    let visitor = acme(&db).await;
    let info = VisitorInfo {
        name: Some("Vera".into()),
        email: Some("vera@example.com".into()),
        ..VisitorInfo::default()
    };
    let new = NewConversation {
        site_id: "acme".into(),
        visitor_id: visitor,
        info: info.clone(),
        status: ConversationStatus::Queued,
        queue_rank: Some(7),
        at: 1_234,
    };
    let created = db.store.create_conversation(new).await.unwrap();
    assert_eq!(created.visitor_id, visitor);
    assert_eq!(created.site_id, "acme");
    assert_eq!(created.status, ConversationStatus::Queued);
    assert_eq!(created.info, info);
    assert_eq!((created.last_seq, created.queue_rank), (0, Some(7)));
    assert_eq!(
        (created.created_at, created.queued_at),
        (1_234, Some(1_234))
    );
    assert_eq!(
        (created.agent_id, created.assigned_at, created.ended_at),
        (None, None, None)
    );
    assert_eq!(
        db.store.conversation(created.id).await.unwrap(),
        Some(created)
    );
}

async fn latest_conversation_for_visitor_honours_since(db: Db) {
    let visitor = acme(&db).await;
    let other = db
        .store
        .create_visitor("acme", [8; 32], 1)
        .await
        .unwrap()
        .id;
    conversation(&db.store, visitor, ConversationStatus::Ended, 100).await;
    let newer = conversation(&db.store, visitor, ConversationStatus::Ended, 200).await;
    conversation(&db.store, other, ConversationStatus::Active, 300).await;

    let latest = db.store.latest_conversation_for_visitor(visitor, 0).await;
    assert_eq!(latest.unwrap().map(|c| c.id), Some(newer));
    let at_the_edge = db.store.latest_conversation_for_visitor(visitor, 200).await;
    assert_eq!(at_the_edge.unwrap().map(|c| c.id), Some(newer));
    let later = db.store.latest_conversation_for_visitor(visitor, 201).await;
    assert!(later.unwrap().is_none());
}

async fn open_conversations_are_the_queued_and_active_ones(db: Db) {
    let visitor = acme(&db).await;
    let queued = conversation(&db.store, visitor, ConversationStatus::Queued, 1).await;
    let active = conversation(&db.store, visitor, ConversationStatus::Active, 2).await;
    conversation(&db.store, visitor, ConversationStatus::Ended, 3).await;
    conversation(&db.store, visitor, ConversationStatus::AwaitingTicket, 4).await;
    let ending = conversation(&db.store, visitor, ConversationStatus::Active, 5).await;
    let end = AppendRequest {
        update: ConversationUpdate {
            status: Some(ConversationStatus::Ended),
            ..ConversationUpdate::default()
        },
        ..system_event(ending, EventKind::Ended { by: Side::Visitor }, 6)
    };
    db.store.append(end).await.unwrap();
    let open: Vec<ConversationId> = db
        .store
        .open_conversations()
        .await
        .unwrap()
        .iter()
        .map(|c| c.id)
        .collect();
    assert_eq!(open, [queued, active]);
}

async fn a_visitors_conversations_are_listed_newest_first(db: Db) {
    let visitor = acme(&db).await;
    let first = conversation(&db.store, visitor, ConversationStatus::Ended, 100).await;
    let second = conversation(&db.store, visitor, ConversationStatus::Active, 200).await;
    let stranger = db
        .store
        .create_visitor("acme", [8; 32], 1)
        .await
        .unwrap()
        .id;
    conversation(&db.store, stranger, ConversationStatus::Active, 300).await;
    let ids: Vec<_> = db
        .store
        .conversations_of_visitor(visitor, 10)
        .await
        .unwrap()
        .iter()
        .map(|c| c.id)
        .collect();
    assert_eq!(ids, vec![second, first]);
    let one = db.store.conversations_of_visitor(visitor, 1).await.unwrap();
    assert_eq!(one.len(), 1);
    assert_eq!(one[0].id, second);
}

async fn recent_handle_times_are_those_of_the_last_ended_chats_newest_first(db: Db) {
    let visitor = acme(&db).await;
    assert!(db.store.recent_handle_times(10).await.unwrap().is_empty());
    for (assigned, ended) in [(Some(10), 70), (None, 80), (Some(50), 90), (Some(60), 100)] {
        let c = conversation(&db.store, visitor, ConversationStatus::Active, 1).await;
        let end = AppendRequest {
            update: ConversationUpdate {
                status: Some(ConversationStatus::Ended),
                assigned_at: Some(assigned),
                ended_at: Some(Some(ended)),
                ..ConversationUpdate::default()
            },
            ..system_event(c, EventKind::Ended { by: Side::Agent }, ended)
        };
        db.store.append(end).await.unwrap();
    }
    conversation(&db.store, visitor, ConversationStatus::Active, 1).await;
    assert_eq!(
        db.store.recent_handle_times(10).await.unwrap(),
        [40, 40, 60]
    );
    assert_eq!(db.store.recent_handle_times(2).await.unwrap(), [40, 40]);
}
