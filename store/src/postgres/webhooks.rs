//! Webhook subscriptions, the event outbox and the delivery log. Plain queries on the pool:
//! webhook traffic is small next to chat messages. An event and its deliveries are written
//! in one transaction; an attempt and the delivery's next state in another, so the log and
//! the outbox never disagree.
//!
//! Several relays share the outbox: each claims due deliveries with `FOR UPDATE SKIP
//! LOCKED`, so a delivery is leased to one of them and the others take the next ones
//! instead of waiting; an event's dedup key is unique, so it is stored once however many
//! relays emit it.

use crate::webhooks::{
    AttemptOutcome, AttemptRecord, DeliveryRecord, DeliveryStatus, DueDelivery, NewWebhook,
    NewWebhookEvent, WebhookRecord,
};
use crate::{StoreError, StoreResult};
use sqlx::postgres::PgRow;
use sqlx::{PgPool, Row};
use std::collections::HashMap;
use switchboard_shared::AgentId;

const COLUMNS: &str = "id, url, events, secret, created_by, created_at";

fn webhook(row: &PgRow) -> StoreResult<WebhookRecord> {
    let events: String = row.try_get("events")?;
    Ok(WebhookRecord {
        id: row.try_get("id")?,
        url: row.try_get("url")?,
        events: events.split_whitespace().map(str::to_string).collect(),
        secret: row.try_get("secret")?,
        created_by: AgentId(row.try_get("created_by")?),
        created_at: row.try_get("created_at")?,
    })
}

pub(super) async fn create(pool: &PgPool, new: NewWebhook) -> StoreResult<WebhookRecord> {
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO webhooks (url, events, secret, created_by, created_at) \
         VALUES ($1, $2, $3, $4, $5) RETURNING id",
    )
    .bind(&new.url)
    .bind(new.events.join(" "))
    .bind(&new.secret)
    .bind(new.created_by.0)
    .bind(new.at)
    .fetch_one(pool)
    .await
    .map_err(|e| super::constraint(e, || "webhook".into()))?;
    Ok(WebhookRecord {
        id,
        url: new.url,
        events: new.events,
        secret: new.secret,
        created_by: new.created_by,
        created_at: new.at,
    })
}

pub(super) async fn list(pool: &PgPool) -> StoreResult<Vec<WebhookRecord>> {
    let sql = format!("SELECT {COLUMNS} FROM webhooks WHERE deleted_at IS NULL ORDER BY id");
    sqlx::query(&sql)
        .fetch_all(pool)
        .await?
        .iter()
        .map(webhook)
        .collect()
}

pub(super) async fn get(pool: &PgPool, id: i64) -> StoreResult<Option<WebhookRecord>> {
    let sql = format!("SELECT {COLUMNS} FROM webhooks WHERE id = $1 AND deleted_at IS NULL");
    sqlx::query(&sql)
        .bind(id)
        .fetch_optional(pool)
        .await?
        .as_ref()
        .map(webhook)
        .transpose()
}

/// Soft delete (the log stays readable in the database); pending deliveries are dropped.
pub(super) async fn delete(pool: &PgPool, id: i64, now: i64) -> StoreResult<()> {
    let mut tx = pool.begin().await?;
    let done =
        sqlx::query("UPDATE webhooks SET deleted_at = $1 WHERE id = $2 AND deleted_at IS NULL")
            .bind(now)
            .bind(id)
            .execute(&mut *tx)
            .await?;
    if done.rows_affected() == 0 {
        return Err(StoreError::NotFound);
    }
    sqlx::query(
        "UPDATE webhook_deliveries SET status = 'failed', next_at = NULL \
         WHERE webhook_id = $1 AND status = 'pending'",
    )
    .bind(id)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Stores the event and one pending delivery per subscription that wants it, due now.
/// Nothing is stored when nobody subscribes, or when the event's key was stored before.
/// Returns the number of deliveries created.
pub(super) async fn enqueue(pool: &PgPool, ev: NewWebhookEvent) -> StoreResult<usize> {
    let mut tx = pool.begin().await?;
    // The subscribers' rows stay share-locked until the commit, so a concurrent delete of
    // one waits and then drops the delivery made here (or, committed first, makes this
    // read skip the webhook): no pending delivery outlives its webhook. `events` is the
    // list `create` joined with single spaces.
    let subscribers: Vec<i64> = sqlx::query_scalar(
        "SELECT id FROM webhooks \
         WHERE deleted_at IS NULL AND $1 = ANY(string_to_array(events, ' ')) \
         ORDER BY id FOR SHARE",
    )
    .bind(&ev.kind)
    .fetch_all(&mut *tx)
    .await?;
    if subscribers.is_empty() {
        return Ok(0);
    }
    // A second insert of the key waits until the first commits, then does nothing.
    let event_id: Option<i64> = sqlx::query_scalar(
        "INSERT INTO webhook_events (dedup_key, type, data, created_at) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (dedup_key) DO NOTHING RETURNING id",
    )
    .bind(&ev.dedup_key)
    .bind(&ev.kind)
    .bind(&ev.data)
    .bind(ev.at)
    .fetch_optional(&mut *tx)
    .await?;
    let Some(event_id) = event_id else {
        return Ok(0);
    };
    sqlx::query(
        "INSERT INTO webhook_deliveries (webhook_id, event_id, status, next_at, created_at) \
         SELECT unnest($1::bigint[]), $2, 'pending', $3, $3",
    )
    .bind(&subscribers)
    .bind(event_id)
    .bind(ev.at)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(subscribers.len())
}

/// Leases up to `limit` pending deliveries due at `now` (their due time becomes
/// `lease_until`, so no one takes them again while their request runs) and returns them
/// with what is needed to send them, the oldest due taken first, returned in id order.
///
/// One statement: the due rows are locked `FOR UPDATE OF d SKIP LOCKED` (the delivery
/// rows only, not their webhooks), so relays claiming at once take different deliveries.
/// A row another relay leased and committed meanwhile is re-checked against its new
/// `next_at` when locked, and left out.
pub(super) async fn claim(
    pool: &PgPool,
    now: i64,
    lease_until: i64,
    limit: u32,
) -> StoreResult<Vec<DueDelivery>> {
    let rows = sqlx::query(
        "WITH due AS ( \
             SELECT d.id FROM webhook_deliveries d JOIN webhooks w ON w.id = d.webhook_id \
             WHERE d.status = 'pending' AND d.next_at <= $2 AND w.deleted_at IS NULL \
             ORDER BY d.next_at, d.id LIMIT $3 \
             FOR UPDATE OF d SKIP LOCKED), \
         leased AS ( \
             UPDATE webhook_deliveries d SET next_at = $1 FROM due WHERE d.id = due.id \
             RETURNING d.id, d.attempts, d.webhook_id, d.event_id) \
         SELECT l.id AS delivery_id, l.attempts, w.url, w.secret, e.id AS event_id, \
                e.type, e.data, e.created_at AS event_at \
         FROM leased l \
         JOIN webhooks w ON w.id = l.webhook_id \
         JOIN webhook_events e ON e.id = l.event_id \
         ORDER BY l.id",
    )
    .bind(lease_until)
    .bind(now)
    .bind(i64::from(limit))
    .fetch_all(pool)
    .await?;
    rows.iter()
        .map(|row| {
            Ok(DueDelivery {
                delivery_id: row.try_get("delivery_id")?,
                attempts: small(row, "attempts")?,
                url: row.try_get("url")?,
                secret: row.try_get("secret")?,
                event_id: row.try_get("event_id")?,
                kind: row.try_get("type")?,
                data: row.try_get("data")?,
                event_at: row.try_get("event_at")?,
            })
        })
        .collect()
}

/// An attempt counter: `BIGINT` in the table, `u32` in the records.
fn small(row: &PgRow, column: &str) -> StoreResult<u32> {
    let v: i64 = row.try_get(column)?;
    u32::try_from(v).map_err(|_| StoreError::Corrupt(format!("webhook {column} {v}")))
}

/// When the earliest pending delivery is due, if any.
pub(super) async fn next_due(pool: &PgPool) -> StoreResult<Option<i64>> {
    Ok(
        sqlx::query_scalar("SELECT min(next_at) FROM webhook_deliveries WHERE status = 'pending'")
            .fetch_one(pool)
            .await?,
    )
}

pub(super) async fn record_attempt(
    pool: &PgPool,
    delivery_id: i64,
    attempt: AttemptRecord,
    outcome: AttemptOutcome,
) -> StoreResult<()> {
    let (status, next_at) = match outcome {
        AttemptOutcome::Delivered => (DeliveryStatus::Delivered, None),
        AttemptOutcome::RetryAt(at) => (DeliveryStatus::Pending, Some(at)),
        AttemptOutcome::GaveUp => (DeliveryStatus::Failed, None),
    };
    let mut tx = pool.begin().await?;
    sqlx::query(
        "INSERT INTO webhook_attempts \
         (delivery_id, attempt, started_at, duration_ms, status_code, error) \
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(delivery_id)
    .bind(i64::from(attempt.attempt))
    .bind(attempt.started_at)
    .bind(attempt.duration_ms)
    .bind(attempt.status_code.map(i64::from))
    .bind(&attempt.error)
    .execute(&mut *tx)
    .await?;
    // Only a pending delivery moves on: one dropped by deleting its webhook stays dropped.
    sqlx::query(
        "UPDATE webhook_deliveries SET attempts = $1, status = $2, next_at = $3 \
         WHERE id = $4 AND status = 'pending'",
    )
    .bind(i64::from(attempt.attempt))
    .bind(status.as_str())
    .bind(next_at)
    .bind(delivery_id)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(())
}

/// The webhook's most recent deliveries, newest first, each with its attempts in order.
pub(super) async fn deliveries(
    pool: &PgPool,
    webhook_id: i64,
    limit: u32,
) -> StoreResult<Vec<DeliveryRecord>> {
    let rows = sqlx::query(
        "SELECT d.id, d.event_id, e.type, d.status, d.next_at, d.created_at \
         FROM webhook_deliveries d JOIN webhook_events e ON e.id = d.event_id \
         WHERE d.webhook_id = $1 ORDER BY d.id DESC LIMIT $2",
    )
    .bind(webhook_id)
    .bind(i64::from(limit))
    .fetch_all(pool)
    .await?;
    let ids = rows
        .iter()
        .map(|row| row.try_get::<i64, _>("id"))
        .collect::<Result<Vec<_>, _>>()?;
    // The attempts of every listed delivery in one query, not one query per delivery.
    let mut attempts: HashMap<i64, Vec<AttemptRecord>> = HashMap::new();
    let attempt_rows = sqlx::query(
        "SELECT delivery_id, attempt, started_at, duration_ms, status_code, error \
         FROM webhook_attempts WHERE delivery_id = ANY($1::bigint[]) \
         ORDER BY delivery_id, attempt, id",
    )
    .bind(&ids)
    .fetch_all(pool)
    .await?;
    for a in &attempt_rows {
        let code: Option<i64> = a.try_get("status_code")?;
        attempts
            .entry(a.try_get("delivery_id")?)
            .or_default()
            .push(AttemptRecord {
                attempt: small(a, "attempt")?,
                started_at: a.try_get("started_at")?,
                duration_ms: a.try_get("duration_ms")?,
                status_code: code.and_then(|c| u16::try_from(c).ok()),
                error: a.try_get("error")?,
            });
    }
    rows.iter()
        .zip(ids)
        .map(|(row, id)| {
            let status: String = row.try_get("status")?;
            Ok(DeliveryRecord {
                id,
                event_id: row.try_get("event_id")?,
                kind: row.try_get("type")?,
                status: DeliveryStatus::parse(&status)
                    .ok_or_else(|| StoreError::Corrupt(format!("delivery status {status:?}")))?,
                next_attempt_at: row.try_get("next_at")?,
                created_at: row.try_get("created_at")?,
                attempts: attempts.remove(&id).unwrap_or_default(),
            })
        })
        .collect()
}
