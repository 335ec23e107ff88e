//! Site management: the console's options survive the CLI's upsert, and an update replaces
//! everything of an existing site only.

use super::SqliteStore;
use crate::{NoListener, SiteOptions, SiteRecord, Store, StoreError};
use std::sync::Arc;
use switchboard_shared::{FieldRule, OfflineBehaviour, PrechatFields, WidgetPosition};

async fn store(dir: &tempfile::TempDir) -> SqliteStore {
    let url = format!("sqlite://{}", dir.path().join("t.db").display());
    SqliteStore::open(&url, Arc::new(NoListener))
        .await
        .expect("open")
}

fn site(name: &str) -> SiteRecord {
    SiteRecord {
        id: "acme".into(),
        name: name.into(),
        allowed_origins: vec!["https://acme.example".into()],
        prechat: PrechatFields::default(),
        options: SiteOptions::default(),
    }
}

#[tokio::test]
async fn an_update_replaces_everything_and_a_later_upsert_keeps_the_options() {
    let dir = tempfile::tempdir().unwrap();
    let store = store(&dir).await;
    store.upsert_site(site("Acme")).await.unwrap();
    let edited = SiteRecord {
        allowed_origins: vec![
            "https://www.acme.example".into(),
            "http://localhost:8080".into(),
        ],
        prechat: PrechatFields {
            email: FieldRule::Required,
            ..Default::default()
        },
        options: SiteOptions {
            accent: Some("#c0392b".into()),
            position: WidgetPosition::Left,
            greeting: Some("Moin! Wie können wir helfen?".into()),
            offline_behaviour: OfflineBehaviour::Hide,
            queue_offer_message_after_secs: 45,
            unresolved_to_ticket: true,
            chat_within_hours: true,
        },
        ..site("Acme GmbH")
    };
    store.update_site(edited.clone()).await.unwrap();
    assert_eq!(store.site("acme").await.unwrap(), Some(edited.clone()));

    // The CLI (or the demo seed) saves the site again: name and origins change, the
    // admins' options stay.
    store.upsert_site(site("Acme AG")).await.unwrap();
    let now = store.site("acme").await.unwrap().unwrap();
    assert_eq!(now.name, "Acme AG");
    assert_eq!(now.allowed_origins, ["https://acme.example"]);
    assert_eq!(now.options, edited.options);
    store.close().await;
}

#[tokio::test]
async fn updating_an_unknown_site_is_not_found_and_creates_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let store = store(&dir).await;
    let err = store.update_site(site("Acme")).await.unwrap_err();
    assert!(matches!(err, StoreError::NotFound), "{err:?}");
    assert_eq!(store.list_sites().await.unwrap(), vec![]);
    store.close().await;
}
