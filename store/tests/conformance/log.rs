//! The committed log over all conversations: positions in commit order, pages filtered by
//! kind whose `through` lets a reader pass what it does not care about, and cursors that
//! are durable and never move back.

use crate::fixtures::{acme, conversation, system_event, visitor_message};
use crate::harness::Db;
use switchboard_shared::{ConversationStatus, EventKind, Side};
use switchboard_store::StoredEvent;

conformance!(
    the_log_lists_every_committed_event_in_commit_order_with_the_listeners_positions,
    a_page_filtered_by_kind_moves_the_reader_past_other_kinds,
    a_cursor_is_durable_and_never_moves_back,
);

/// Five events, one after another, over two conversations.
async fn five_events(db: &Db) -> Vec<StoredEvent> {
    let visitor = acme(db).await;
    let a = conversation(&db.store, visitor, ConversationStatus::Active, 1).await;
    let b = conversation(&db.store, visitor, ConversationStatus::Active, 2).await;
    let reqs = [
        system_event(a, EventKind::Started, 10),
        visitor_message(a, "m1", "eins"),
        system_event(b, EventKind::Started, 11),
        visitor_message(b, "m1", "zwei"),
        system_event(a, EventKind::Ended { by: Side::Visitor }, 12),
    ];
    let mut events = Vec::new();
    for req in reqs {
        match db.store.append(req).await.unwrap() {
            switchboard_store::Appended::New(ev) => events.push(ev),
            dup => panic!("{dup:?}"),
        }
    }
    events
}

async fn the_log_lists_every_committed_event_in_commit_order_with_the_listeners_positions(db: Db) {
    assert_eq!(db.store.log_head().await.unwrap(), 0);
    let empty = db.store.read_log(0, &[], 10).await.unwrap();
    assert!(empty.entries.is_empty());
    assert_eq!(empty.through, 0);

    let appended = five_events(&db).await;
    let page = db.store.read_log(0, &[], 100).await.unwrap();
    let events: Vec<StoredEvent> = page.entries.iter().map(|e| e.event.clone()).collect();
    assert_eq!(events, appended, "commit order");
    let positions: Vec<i64> = page.entries.iter().map(|e| e.pos).collect();
    assert!(
        positions.windows(2).all(|w| w[0] < w[1]),
        "positions rise: {positions:?}"
    );
    let head = db.store.log_head().await.unwrap();
    assert_eq!(positions.last(), Some(&head));
    assert_eq!(page.through, head);
    let heard: Vec<i64> = db.recorder.positions().iter().map(|(p, _)| *p).collect();
    assert_eq!(heard, positions, "the listener got the same positions");

    // In pages: a full page ends at its last entry.
    let first = db.store.read_log(0, &[], 2).await.unwrap();
    assert_eq!(first.entries.len(), 2);
    assert_eq!(first.through, positions[1]);
    let second = db.store.read_log(first.through, &[], 2).await.unwrap();
    let got: Vec<i64> = second.entries.iter().map(|e| e.pos).collect();
    assert_eq!(got, positions[2..4]);
    let rest = db.store.read_log(head, &[], 2).await.unwrap();
    assert!(rest.entries.is_empty());
    assert_eq!(rest.through, head);
}

async fn a_page_filtered_by_kind_moves_the_reader_past_other_kinds(db: Db) {
    let appended = five_events(&db).await;
    let head = db.store.log_head().await.unwrap();
    let ended = db.store.read_log(0, &["ended"], 100).await.unwrap();
    assert_eq!(ended.entries.len(), 1);
    assert_eq!(ended.entries[0].event, appended[4]);
    assert_eq!(ended.through, head, "the reader passes the other kinds too");

    let started = db
        .store
        .read_log(0, &["started", "ended"], 100)
        .await
        .unwrap();
    let kinds: Vec<&StoredEvent> = started.entries.iter().map(|e| &e.event).collect();
    assert_eq!(kinds, [&appended[0], &appended[2], &appended[4]]);

    let one = db.store.read_log(0, &["message"], 1).await.unwrap();
    assert_eq!(one.entries.len(), 1);
    assert_eq!(one.entries[0].event, appended[1]);
    assert_eq!(
        one.through, one.entries[0].pos,
        "a full page ends at its last entry"
    );
    let next = db
        .store
        .read_log(one.through, &["message"], 1)
        .await
        .unwrap();
    assert_eq!(next.entries[0].event, appended[3]);
    let done = db
        .store
        .read_log(next.through, &["message"], 1)
        .await
        .unwrap();
    assert!(done.entries.is_empty());
    assert_eq!(done.through, head);

    let none = db.store.read_log(0, &["rated"], 10).await.unwrap();
    assert!(none.entries.is_empty());
    assert_eq!(none.through, head);
}

async fn a_cursor_is_durable_and_never_moves_back(db: Db) {
    five_events(&db).await;
    assert_eq!(db.store.cursor("tickets").await.unwrap(), None);
    db.store.save_cursor("tickets", 3, 100).await.unwrap();
    assert_eq!(db.store.cursor("tickets").await.unwrap(), Some(3));
    db.store.save_cursor("tickets", 2, 101).await.unwrap();
    assert_eq!(
        db.store.cursor("tickets").await.unwrap(),
        Some(3),
        "never back"
    );
    db.store.save_cursor("tickets", 5, 102).await.unwrap();
    db.store.save_cursor("webhooks", 1, 103).await.unwrap();
    let db = db.reopen().await;
    assert_eq!(db.store.cursor("tickets").await.unwrap(), Some(5));
    assert_eq!(db.store.cursor("webhooks").await.unwrap(), Some(1));
    assert_eq!(db.store.cursor("nobody").await.unwrap(), None);
}
