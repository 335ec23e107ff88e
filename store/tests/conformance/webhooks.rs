//! Integrations: API tokens (found by hash while neither revoked nor of a disabled admin)
//! and webhooks (subscriptions, an outbox that stores an event once per key, deliveries
//! leased while they are sent, attempts that move them on).

use crate::fixtures::agent;
use crate::harness::Db;
use switchboard_shared::AgentId;
use switchboard_store::webhooks::{
    AttemptOutcome, AttemptRecord, DeliveryStatus, NewApiToken, NewWebhook, NewWebhookEvent,
};
use switchboard_store::{AgentPatch, SharedStore, StoreError};

conformance!(
    api_tokens_are_found_by_hash_until_revoked_or_their_admin_is_disabled,
    webhooks_are_created_listed_and_deleted,
    an_event_is_enqueued_once_per_key_with_a_delivery_per_subscriber,
    claimed_deliveries_are_leased_until_the_lease_ends,
    an_attempt_is_logged_and_moves_its_delivery_on,
    deleting_a_webhook_drops_its_pending_deliveries,
);

fn token(name: &str, hash: u8, by: AgentId, at: i64) -> NewApiToken {
    NewApiToken {
        name: name.into(),
        scopes: vec!["tickets:read".into(), "tickets:write".into()],
        token_hash: [hash; 32],
        created_by: by,
        at,
    }
}

async fn api_tokens_are_found_by_hash_until_revoked_or_their_admin_is_disabled(db: Db) {
    let s = &db.store;
    let anna = agent(s, "anna@example.com").await;
    let ben = agent(s, "ben@example.com").await;
    let first = s.create_api_token(token("crm", 1, anna, 10)).await.unwrap();
    assert_eq!(
        (
            first.name.as_str(),
            first.created_by,
            first.created_at,
            first.revoked_at
        ),
        ("crm", anna, 10, None)
    );
    assert_eq!(first.scopes, ["tickets:read", "tickets:write"]);
    let second = s.create_api_token(token("erp", 2, ben, 20)).await.unwrap();

    let (found, by) = s.api_token_by_hash([1; 32]).await.unwrap().unwrap();
    assert_eq!((found, by.id), (first.clone(), anna));
    assert!(
        s.api_token_by_hash([9; 32]).await.unwrap().is_none(),
        "unknown"
    );
    assert_eq!(
        s.list_api_tokens().await.unwrap(),
        [first.clone(), second.clone()]
    );

    s.revoke_api_token(first.id, 50).await.unwrap();
    assert!(
        s.api_token_by_hash([1; 32]).await.unwrap().is_none(),
        "revoked"
    );
    s.revoke_api_token(first.id, 60).await.unwrap();
    let listed = s.list_api_tokens().await.unwrap();
    assert_eq!(
        listed[0].revoked_at,
        Some(50),
        "the first revocation counts"
    );
    assert_eq!(
        listed[1], second,
        "revoked ones are listed too, oldest first"
    );
    let ghost = s.revoke_api_token(second.id + 1_000, 70).await;
    assert!(matches!(ghost, Err(StoreError::NotFound)), "{ghost:?}");

    assert!(s.api_token_by_hash([2; 32]).await.unwrap().is_some());
    let disable = AgentPatch {
        disabled: Some(true),
        ..AgentPatch::default()
    };
    s.update_agent(ben, disable).await.unwrap();
    assert!(
        s.api_token_by_hash([2; 32]).await.unwrap().is_none(),
        "its admin is disabled"
    );
}

fn webhook(url: &str, events: &[&str], by: AgentId, at: i64) -> NewWebhook {
    NewWebhook {
        url: url.into(),
        events: events.iter().map(|e| e.to_string()).collect(),
        secret: format!("secret of {url}"),
        created_by: by,
        at,
    }
}

fn event(key: &str, kind: &str, at: i64) -> NewWebhookEvent {
    NewWebhookEvent {
        dedup_key: key.into(),
        kind: kind.into(),
        data: format!(r#"{{"key":"{key}"}}"#),
        at,
    }
}

async fn webhooks_are_created_listed_and_deleted(db: Db) {
    let s = &db.store;
    let anna = agent(s, "anna@example.com").await;
    let a = s
        .create_webhook(webhook(
            "https://a.example/hook",
            &["ticket.created"],
            anna,
            10,
        ))
        .await
        .unwrap();
    assert_eq!(
        (
            a.url.as_str(),
            a.secret.as_str(),
            a.created_by,
            a.created_at
        ),
        (
            "https://a.example/hook",
            "secret of https://a.example/hook",
            anna,
            10
        )
    );
    assert_eq!(a.events, ["ticket.created"]);
    let events = ["ticket.created", "conversation.ended"];
    let b = s
        .create_webhook(webhook("https://b.example/hook", &events, anna, 20))
        .await
        .unwrap();
    assert_eq!(s.list_webhooks().await.unwrap(), [a.clone(), b.clone()]);
    assert_eq!(s.webhook(b.id).await.unwrap(), Some(b.clone()));

    s.delete_webhook(a.id, 30).await.unwrap();
    assert_eq!(s.list_webhooks().await.unwrap(), std::slice::from_ref(&b));
    assert_eq!(s.webhook(a.id).await.unwrap(), None);
    let again = s.delete_webhook(a.id, 40).await;
    assert!(matches!(again, Err(StoreError::NotFound)), "{again:?}");
    let ghost = s.delete_webhook(b.id + 1_000, 40).await;
    assert!(matches!(ghost, Err(StoreError::NotFound)), "{ghost:?}");
}

/// Two subscribers, one of them to two kinds.
async fn two_subscribers(s: &SharedStore) -> (i64, i64) {
    let anna = agent(s, "anna@example.com").await;
    let both = ["ticket.created", "ticket.updated"];
    let w1 = s.create_webhook(webhook("https://one.example", &both, anna, 1));
    let w1 = w1.await.unwrap().id;
    let w2 = s.create_webhook(webhook("https://two.example", &["ticket.created"], anna, 2));
    (w1, w2.await.unwrap().id)
}

async fn an_event_is_enqueued_once_per_key_with_a_delivery_per_subscriber(db: Db) {
    let s = &db.store;
    let (w1, w2) = two_subscribers(s).await;
    assert_eq!(s.next_webhook_due().await.unwrap(), None);
    let created = event("ticket.created:1", "ticket.created", 100);
    assert_eq!(s.enqueue_webhook_event(created.clone()).await.unwrap(), 2);
    assert_eq!(
        s.enqueue_webhook_event(created).await.unwrap(),
        0,
        "a retried action emits its event once"
    );
    let updated = event("ticket.updated:1", "ticket.updated", 110);
    assert_eq!(s.enqueue_webhook_event(updated).await.unwrap(), 1);
    // Nobody wants it: nothing is stored, so a later subscriber gets the key's event.
    let ended = event("conversation.ended:7", "conversation.ended", 120);
    assert_eq!(s.enqueue_webhook_event(ended.clone()).await.unwrap(), 0);
    let anna = s.list_webhooks().await.unwrap()[0].created_by;
    let w3 = s
        .create_webhook(webhook(
            "https://three.example",
            &["conversation.ended"],
            anna,
            3,
        ))
        .await
        .unwrap()
        .id;
    assert_eq!(s.enqueue_webhook_event(ended).await.unwrap(), 1);
    assert_eq!(s.next_webhook_due().await.unwrap(), Some(100));

    let log = s.webhook_deliveries(w1, 10).await.unwrap();
    let kinds: Vec<&str> = log.iter().map(|d| d.kind.as_str()).collect();
    assert_eq!(kinds, ["ticket.updated", "ticket.created"], "newest first");
    for d in &log {
        assert_eq!(d.status, DeliveryStatus::Pending);
        assert_eq!(Some(d.created_at), d.next_attempt_at, "due at once");
        assert!(d.attempts.is_empty());
    }
    assert_eq!(s.webhook_deliveries(w1, 1).await.unwrap().len(), 1);
    let two = s.webhook_deliveries(w2, 10).await.unwrap();
    assert_eq!(two.len(), 1);
    assert_eq!(
        two[0].event_id, log[1].event_id,
        "one event, a delivery each"
    );
    assert_eq!(s.webhook_deliveries(w3, 10).await.unwrap().len(), 1);
}

async fn claimed_deliveries_are_leased_until_the_lease_ends(db: Db) {
    let s = &db.store;
    let anna = agent(s, "anna@example.com").await;
    let hook = s
        .create_webhook(webhook("https://one.example", &["ticket.created"], anna, 1))
        .await
        .unwrap();
    for (i, at) in [100, 110, 120].into_iter().enumerate() {
        let e = event(&format!("ticket.created:{i}"), "ticket.created", at);
        assert_eq!(s.enqueue_webhook_event(e).await.unwrap(), 1);
    }
    assert!(
        s.claim_webhook_deliveries(99, 1_000, 10)
            .await
            .unwrap()
            .is_empty(),
        "none due"
    );
    let first = s.claim_webhook_deliveries(105, 1_000, 10).await.unwrap();
    assert_eq!(first.len(), 1);
    let d = &first[0];
    assert_eq!(
        (
            d.url.as_str(),
            d.secret.as_str(),
            d.kind.as_str(),
            d.event_at,
            d.attempts
        ),
        (
            "https://one.example",
            hook.secret.as_str(),
            "ticket.created",
            100,
            0
        )
    );
    assert_eq!(d.data, r#"{"key":"ticket.created:0"}"#);
    let limited = s.claim_webhook_deliveries(130, 1_000, 1).await.unwrap();
    assert_eq!(limited.len(), 1, "at most `limit`");
    assert_eq!(limited[0].event_at, 110, "the earliest due first");
    let rest = s.claim_webhook_deliveries(130, 1_000, 10).await.unwrap();
    assert_eq!(rest.iter().map(|d| d.event_at).collect::<Vec<_>>(), [120]);
    assert!(
        s.claim_webhook_deliveries(999, 2_000, 10)
            .await
            .unwrap()
            .is_empty(),
        "leased"
    );
    assert_eq!(s.next_webhook_due().await.unwrap(), Some(1_000));
    let again = s.claim_webhook_deliveries(1_000, 2_000, 10).await.unwrap();
    let mut ids: Vec<i64> = again.iter().map(|d| d.delivery_id).collect();
    ids.sort_unstable();
    let mut expected: Vec<i64> = [&first, &limited, &rest]
        .iter()
        .flat_map(|c| c.iter().map(|d| d.delivery_id))
        .collect();
    expected.sort_unstable();
    assert_eq!(ids, expected, "an expired lease makes them due again");
}

async fn an_attempt_is_logged_and_moves_its_delivery_on(db: Db) {
    let s = &db.store;
    let anna = agent(s, "anna@example.com").await;
    let hook = s
        .create_webhook(webhook("https://one.example", &["ticket.created"], anna, 1))
        .await
        .unwrap()
        .id;
    for i in 0..3 {
        let e = event(&format!("ticket.created:{i}"), "ticket.created", 100 + i);
        s.enqueue_webhook_event(e).await.unwrap();
    }
    let mut claimed = s.claim_webhook_deliveries(200, 300, 10).await.unwrap();
    claimed.sort_by_key(|d| d.event_at);
    let [ok, retry, hopeless] = [0, 1, 2].map(|i| claimed[i].delivery_id);
    let attempt = |n: u32, code: Option<u16>, error: Option<&str>| AttemptRecord {
        attempt: n,
        started_at: 200 + i64::from(n),
        duration_ms: 15,
        status_code: code,
        error: error.map(String::from),
    };
    let delivered = attempt(1, Some(204), None);
    s.record_webhook_attempt(ok, delivered.clone(), AttemptOutcome::Delivered)
        .await
        .unwrap();
    let timed_out = attempt(1, None, Some("timeout"));
    s.record_webhook_attempt(retry, timed_out.clone(), AttemptOutcome::RetryAt(5_000))
        .await
        .unwrap();
    let refused = attempt(1, Some(410), None);
    s.record_webhook_attempt(hopeless, refused.clone(), AttemptOutcome::GaveUp)
        .await
        .unwrap();

    let log = s.webhook_deliveries(hook, 10).await.unwrap();
    let by_id = |id: i64| log.iter().find(|d| d.id == id).unwrap();
    assert_eq!(by_id(ok).status, DeliveryStatus::Delivered);
    assert_eq!(by_id(ok).attempts, [delivered]);
    assert_eq!(by_id(ok).next_attempt_at, None);
    assert_eq!(by_id(retry).status, DeliveryStatus::Pending);
    assert_eq!(by_id(retry).next_attempt_at, Some(5_000));
    assert_eq!(by_id(retry).attempts, std::slice::from_ref(&timed_out));
    assert_eq!(by_id(hopeless).status, DeliveryStatus::Failed);
    assert_eq!(by_id(hopeless).attempts, [refused]);
    assert_eq!(s.next_webhook_due().await.unwrap(), Some(5_000));

    assert!(s
        .claim_webhook_deliveries(4_999, 6_000, 10)
        .await
        .unwrap()
        .is_empty());
    let due = s.claim_webhook_deliveries(5_000, 6_000, 10).await.unwrap();
    assert_eq!(due.len(), 1);
    assert_eq!((due[0].delivery_id, due[0].attempts), (retry, 1));
    let second = attempt(2, Some(200), None);
    s.record_webhook_attempt(retry, second.clone(), AttemptOutcome::Delivered)
        .await
        .unwrap();
    let log = s.webhook_deliveries(hook, 10).await.unwrap();
    let d = log.iter().find(|d| d.id == retry).unwrap();
    assert_eq!(d.status, DeliveryStatus::Delivered);
    assert_eq!(d.attempts, [timed_out, second], "attempts in order");
    assert_eq!(s.next_webhook_due().await.unwrap(), None);
}

async fn deleting_a_webhook_drops_its_pending_deliveries(db: Db) {
    let s = &db.store;
    let (w1, w2) = two_subscribers(s).await;
    let e = event("ticket.created:1", "ticket.created", 100);
    assert_eq!(s.enqueue_webhook_event(e).await.unwrap(), 2);
    s.delete_webhook(w1, 150).await.unwrap();
    let due = s.claim_webhook_deliveries(200, 300, 10).await.unwrap();
    assert_eq!(due.len(), 1, "only the remaining subscriber's");
    assert_eq!(due[0].url, "https://two.example");
    s.delete_webhook(w2, 250).await.unwrap();
    assert_eq!(s.next_webhook_due().await.unwrap(), None);
    assert!(s
        .claim_webhook_deliveries(1_000, 2_000, 10)
        .await
        .unwrap()
        .is_empty());
    let later = event("ticket.created:2", "ticket.created", 400);
    assert_eq!(
        s.enqueue_webhook_event(later).await.unwrap(),
        0,
        "no subscribers left"
    );
}
