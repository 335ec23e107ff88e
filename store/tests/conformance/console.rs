//! The agent console's records: canned responses (shortcut unique case-insensitively) and
//! internal notes.

use crate::fixtures::{acme, agent, conversation};
use crate::harness::Db;
use switchboard_shared::{ConversationId, ConversationStatus};
use switchboard_store::{NewCanned, StoreError};

conformance!(
    canned_responses_have_unique_shortcuts_and_can_be_edited_and_deleted,
    notes_belong_to_a_conversation_oldest_first,
);

fn canned(shortcut: &str, site: Option<&str>) -> NewCanned {
    NewCanned {
        shortcut: shortcut.into(),
        title: "Wartung".into(),
        body: "Die Wartung ist alle zwei Jahre fällig.".into(),
        site_id: site.map(String::from),
    }
}

async fn canned_responses_have_unique_shortcuts_and_can_be_edited_and_deleted(db: Db) {
    acme(&db).await;
    assert!(db.store.list_canned().await.unwrap().is_empty());
    let a = db
        .store
        .create_canned(canned("wartung", None), 10)
        .await
        .unwrap();
    assert_eq!(
        (
            a.shortcut.as_str(),
            a.site_id.as_deref(),
            a.created_at,
            a.updated_at
        ),
        ("wartung", None, 10, 10)
    );
    let taken = db.store.create_canned(canned("Wartung", None), 11).await;
    assert!(matches!(taken, Err(StoreError::Conflict(_))), "{taken:?}");
    let b = db
        .store
        .create_canned(canned("preise", Some("acme")), 12)
        .await
        .unwrap();
    assert_eq!(b.site_id.as_deref(), Some("acme"));
    let edited = db
        .store
        .update_canned(a.id, canned("wartung2", Some("acme")), 13)
        .await
        .unwrap();
    assert_eq!(
        (
            edited.shortcut.as_str(),
            edited.updated_at,
            edited.created_at
        ),
        ("wartung2", 13, 10)
    );
    assert_eq!(edited.site_id.as_deref(), Some("acme"));
    let clash = db
        .store
        .update_canned(a.id, canned("PREISE", None), 14)
        .await;
    assert!(matches!(clash, Err(StoreError::Conflict(_))), "{clash:?}");
    let listed = db.store.list_canned().await.unwrap();
    assert!(
        listed.contains(&edited) && listed.contains(&b),
        "{listed:?}"
    );
    db.store.delete_canned(b.id).await.unwrap();
    let gone = db.store.delete_canned(b.id).await;
    assert!(matches!(gone, Err(StoreError::NotFound)), "{gone:?}");
    let all = db.store.list_canned().await.unwrap();
    assert_eq!(all, vec![edited]);
}

async fn notes_belong_to_a_conversation_oldest_first(db: Db) {
    let visitor = acme(&db).await;
    let conv = conversation(&db.store, visitor, ConversationStatus::Active, 100).await;
    let other = conversation(&db.store, visitor, ConversationStatus::Active, 101).await;
    let anna = agent(&db.store, "anna@example.de").await;
    let first = db
        .store
        .add_note(conv, anna, "Kunde ruft morgen an", 200)
        .await
        .unwrap();
    assert_eq!(
        (
            first.conversation_id,
            first.agent_id,
            first.body.as_str(),
            first.created_at
        ),
        (conv, anna, "Kunde ruft morgen an", 200)
    );
    db.store
        .add_note(conv, anna, "Rückruf erledigt", 300)
        .await
        .unwrap();
    let ghost = db
        .store
        .add_note(ConversationId(other.0 + 1_000), anna, "x", 1)
        .await;
    assert!(matches!(ghost, Err(StoreError::NotFound)), "{ghost:?}");
    let notes = db.store.notes(conv).await.unwrap();
    let bodies: Vec<&str> = notes.iter().map(|n| n.body.as_str()).collect();
    assert_eq!(bodies, ["Kunde ruft morgen an", "Rückruf erledigt"]);
    assert_eq!(notes[0], first);
    assert!(db.store.notes(other).await.unwrap().is_empty());
}
