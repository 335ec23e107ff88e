//! Sites and visitors: round trips, the console's options surviving the CLI's upsert, an
//! update only of an existing site.

use crate::fixtures::{acme, site};
use crate::harness::Db;
use switchboard_shared::{FieldRule, OfflineBehaviour, PrechatFields, WidgetPosition};
use switchboard_store::{SiteOptions, SiteRecord, StoreError};

conformance!(
    sites_and_visitors_round_trip,
    an_update_replaces_everything_and_a_later_upsert_keeps_the_options,
    updating_an_unknown_site_is_not_found_and_creates_nothing,
);

async fn sites_and_visitors_round_trip(db: Db) {
    let visitor = acme(&db).await;
    let beta = SiteRecord {
        id: "beta".into(),
        name: "Beta".into(),
        allowed_origins: vec!["https://b.example".into(), "https://a.example".into()],
        prechat: PrechatFields {
            name: FieldRule::Required,
            email: FieldRule::Optional,
            customer_number: FieldRule::Off,
        },
        options: Default::default(),
    };
    db.store.upsert_site(beta.clone()).await.unwrap();
    assert_eq!(db.store.site("beta").await.unwrap(), Some(beta.clone()));
    let renamed = SiteRecord {
        name: "Beta GmbH".into(),
        allowed_origins: vec![],
        ..beta
    };
    db.store.upsert_site(renamed.clone()).await.unwrap();
    let sites = db.store.list_sites().await.unwrap();
    let ids: Vec<&str> = sites.iter().map(|s| s.id.as_str()).collect();
    assert_eq!(ids, ["acme", "beta"]);
    assert_eq!(sites[1], renamed);
    assert_eq!(sites[0].allowed_origins, ["https://acme.example"]);
    assert_eq!(db.store.site("nope").await.unwrap(), None);

    let v = db.store.visitor_by_token([7; 32]).await.unwrap().unwrap();
    assert_eq!((v.id, v.site_id.as_str()), (visitor, "acme"));
    assert_eq!((v.created_at, v.last_seen_at), (1_000, 1_000));
    db.store.touch_visitor(v.id, 5_000).await.unwrap();
    let touched = db.store.visitor_by_token([7; 32]).await.unwrap().unwrap();
    assert_eq!((touched.created_at, touched.last_seen_at), (1_000, 5_000));
    assert!(db.store.visitor_by_token([9; 32]).await.unwrap().is_none());
    let twin = db.store.create_visitor("acme", [7; 32], 1).await;
    assert!(matches!(twin, Err(StoreError::Conflict(_))), "{twin:?}");
    let homeless = db.store.create_visitor("nope", [8; 32], 1).await;
    assert!(
        matches!(homeless, Err(StoreError::NotFound)),
        "{homeless:?}"
    );
}

async fn an_update_replaces_everything_and_a_later_upsert_keeps_the_options(db: Db) {
    db.store.upsert_site(site("acme", "Acme")).await.unwrap();
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
        ..site("acme", "Acme GmbH")
    };
    db.store.update_site(edited.clone()).await.unwrap();
    assert_eq!(db.store.site("acme").await.unwrap(), Some(edited.clone()));

    // The CLI (or the demo seed) saves the site again: name and origins change, the
    // admins' options stay.
    db.store.upsert_site(site("acme", "Acme AG")).await.unwrap();
    let now = db.store.site("acme").await.unwrap().unwrap();
    assert_eq!(now.name, "Acme AG");
    assert_eq!(now.allowed_origins, ["https://acme.example"]);
    assert_eq!(now.options, edited.options);
}

async fn updating_an_unknown_site_is_not_found_and_creates_nothing(db: Db) {
    let err = db
        .store
        .update_site(site("acme", "Acme"))
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::NotFound), "{err:?}");
    assert_eq!(db.store.list_sites().await.unwrap(), vec![]);
}
