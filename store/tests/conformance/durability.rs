//! Closing and reopening the same database (same file, same schema): everything
//! acknowledged is there, nothing refused is, and numbering and dedup go on where they were.

use crate::fixtures::{
    acme, agent, client_id_of, conversation, new_seq, system_event, visitor_message,
};
use crate::harness::Db;
use std::collections::HashSet;
use switchboard_shared::{ConversationStatus, EventKind, Side};
use switchboard_store::{AppendRequest, Appended, ConversationUpdate, StoreError};

conformance!(
    everything_survives_closing_and_reopening_the_database,
    close_finishes_queued_writes_and_refuses_new_ones,
);

async fn everything_survives_closing_and_reopening_the_database(db: Db) {
    let visitor = acme(&db).await;
    let anna = agent(&db.store, "anna@example.com").await;
    let c = conversation(&db.store, visitor, ConversationStatus::Queued, 10).await;
    db.store
        .append(system_event(c, EventKind::Started, 10))
        .await
        .unwrap();
    db.store
        .append(visitor_message(c, "m1", "Hallo"))
        .await
        .unwrap();
    let ended = AppendRequest {
        update: ConversationUpdate {
            status: Some(ConversationStatus::Ended),
            agent_id: Some(Some(anna)),
            ended_at: Some(Some(99)),
            ..ConversationUpdate::default()
        },
        ..system_event(c, EventKind::Ended { by: Side::Agent }, 99)
    };
    db.store.append(ended).await.unwrap();
    db.store
        .record_receipt(c, Side::Visitor, 3, 2)
        .await
        .unwrap();
    db.store
        .add_note(c, anna, "Rückruf erledigt", 300)
        .await
        .unwrap();
    let before = db.store.events_after(c, 0, 100).await.unwrap();
    let head = db.store.log_head().await.unwrap();

    let db = db.reopen().await;
    assert_eq!(db.store.events_after(c, 0, 100).await.unwrap(), before);
    assert_eq!(db.store.log_head().await.unwrap(), head);
    let row = db.store.conversation(c).await.unwrap().unwrap();
    assert_eq!(row.last_seq, 3);
    assert_eq!((row.visitor_delivered, row.visitor_read), (3, 2));
    assert_eq!(row.status, ConversationStatus::Ended);
    assert_eq!(row.agent_id, Some(anna));
    assert_eq!(row.ended_at, Some(99));
    assert_eq!(row.info.name.as_deref(), Some("Vera"));
    let me = db.store.agent(anna).await.unwrap().unwrap();
    assert_eq!(
        (me.email.as_str(), me.support_level),
        ("anna@example.com", switchboard_shared::SupportLevel::L2)
    );
    let notes = db.store.notes(c).await.unwrap();
    assert_eq!(notes.len(), 1);
    assert_eq!(
        db.store
            .visitor_by_token([7; 32])
            .await
            .unwrap()
            .unwrap()
            .id,
        visitor
    );
    // Numbering and dedup continue where they were, and the listener hears of it.
    assert_eq!(
        db.store
            .append(visitor_message(c, "m1", "Hallo"))
            .await
            .unwrap(),
        Appended::Duplicate { seq: 2 }
    );
    let next = db
        .store
        .append(visitor_message(c, "m2", "?"))
        .await
        .unwrap();
    assert_eq!(new_seq(&next), 4);
    assert!(db.recorder.has(c, 4));
    assert!(db.store.log_head().await.unwrap() > head);
}

/// Appends racing a close: each is either acknowledged and stored, or refused with
/// `Closed` and not stored; after a reopen exactly the acknowledged ones are there, gap-free.
async fn close_finishes_queued_writes_and_refuses_new_ones(db: Db) {
    let visitor = acme(&db).await;
    let c = conversation(&db.store, visitor, ConversationStatus::Active, 1).await;
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..50 {
        let store = db.store.clone();
        tasks.spawn(async move {
            let id = format!("m{i}");
            (id.clone(), store.append(visitor_message(c, &id, "x")).await)
        });
    }
    tokio::task::yield_now().await;
    db.store.close().await;
    let after = db.store.append(visitor_message(c, "late", "x")).await;
    assert!(matches!(after, Err(StoreError::Closed)), "{after:?}");
    let mut acknowledged = HashSet::new();
    while let Some(done) = tasks.join_next().await {
        match done.unwrap() {
            (id, Ok(appended)) => {
                new_seq(&appended);
                acknowledged.insert(id);
            }
            (_, Err(e)) => assert!(matches!(e, StoreError::Closed), "{e:?}"),
        }
    }
    db.store.close().await;
    let db = db.reopen().await;
    let stored = db.store.events_after(c, 0, 100).await.unwrap();
    let ids: HashSet<String> = stored
        .iter()
        .map(|e| client_id_of(&e.event).unwrap())
        .collect();
    assert_eq!(ids, acknowledged, "stored exactly what was acknowledged");
    let expected: Vec<u64> = (1..=acknowledged.len() as u64).collect();
    assert_eq!(crate::fixtures::seqs(&stored), expected);
    let next = db
        .store
        .append(visitor_message(c, "late", "x"))
        .await
        .unwrap();
    assert_eq!(new_seq(&next), acknowledged.len() as u64 + 1);
}
