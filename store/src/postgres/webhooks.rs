//! Webhook subscriptions, the event outbox and the delivery log. Plain queries on the pools:
//! webhook traffic is small next to chat messages. An event and its deliveries are written
//! in one transaction; an attempt and the delivery's next state in another, so the log and
//! the outbox never disagree.

use crate::webhooks::{
    AttemptOutcome, AttemptRecord, DeliveryRecord, DeliveryStatus, DueDelivery, NewWebhook,
    NewWebhookEvent, WebhookRecord,
};
use crate::{StoreError, StoreResult};
use sqlx::postgres::PgRow;
use sqlx::{PgPool, Row};
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
         VALUES (?, ?, ?, ?, ?) RETURNING id",
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
    let sql = format!("SELECT {COLUMNS} FROM webhooks WHERE id = ? AND deleted_at IS NULL");
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
        sqlx::query("UPDATE webhooks SET deleted_at = ? WHERE id = ? AND deleted_at IS NULL")
            .bind(now)
            .bind(id)
            .execute(&mut *tx)
            .await?;
    if done.rows_affected() == 0 {
        return Err(StoreError::NotFound);
    }
    sqlx::query(
        "UPDATE webhook_deliveries SET status = 'failed', next_at = NULL \
         WHERE webhook_id = ? AND status = 'pending'",
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
    // Read before the transaction: a deferred transaction that reads first and writes later
    // fails at once (SQLITE_BUSY_SNAPSHOT) if the chat writer committed in between, while
    // one that starts with its INSERT waits on busy_timeout like every other write.
    let subscribers: Vec<i64> =
        sqlx::query("SELECT id, events FROM webhooks WHERE deleted_at IS NULL")
            .fetch_all(pool)
            .await?
            .iter()
            .filter_map(|row| {
                let events: String = row.try_get("events").ok()?;
                events
                    .split_whitespace()
                    .any(|e| e == ev.kind)
                    .then(|| row.try_get::<i64, _>("id").ok())
                    .flatten()
            })
            .collect();
    if subscribers.is_empty() {
        return Ok(0);
    }
    let mut tx = pool.begin().await?;
    let event_id: Option<i64> = sqlx::query_scalar(
        "INSERT INTO webhook_events (dedup_key, type, data, created_at) VALUES (?, ?, ?, ?) \
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
    for webhook_id in &subscribers {
        sqlx::query(
            "INSERT INTO webhook_deliveries (webhook_id, event_id, status, next_at, created_at) \
             VALUES (?, ?, 'pending', ?, ?)",
        )
        .bind(webhook_id)
        .bind(event_id)
        .bind(ev.at)
        .bind(ev.at)
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    Ok(subscribers.len())
}

/// Leases up to `limit` pending deliveries due at `now` (their due time becomes
/// `lease_until`, so no one takes them again while their request runs) and returns them
/// with what is needed to send them, oldest due first.
pub(super) async fn claim(
    pool: &PgPool,
    now: i64,
    lease_until: i64,
    limit: u32,
) -> StoreResult<Vec<DueDelivery>> {
    let mut tx = pool.begin().await?;
    let ids: Vec<i64> = sqlx::query_scalar(
        "UPDATE webhook_deliveries SET next_at = ? WHERE id IN ( \
             SELECT d.id FROM webhook_deliveries d JOIN webhooks w ON w.id = d.webhook_id \
             WHERE d.status = 'pending' AND d.next_at <= ? AND w.deleted_at IS NULL \
             ORDER BY d.next_at, d.id LIMIT ?) \
         RETURNING id",
    )
    .bind(lease_until)
    .bind(now)
    .bind(limit)
    .fetch_all(&mut *tx)
    .await?;
    let mut out = Vec::with_capacity(ids.len());
    for id in ids {
        let row = sqlx::query(
            "SELECT d.id AS delivery_id, d.attempts, w.url, w.secret, e.id AS event_id, \
                    e.type, e.data, e.created_at AS event_at \
             FROM webhook_deliveries d \
             JOIN webhooks w ON w.id = d.webhook_id \
             JOIN webhook_events e ON e.id = d.event_id \
             WHERE d.id = ?",
        )
        .bind(id)
        .fetch_one(&mut *tx)
        .await?;
        out.push(DueDelivery {
            delivery_id: row.try_get("delivery_id")?,
            attempts: row.try_get("attempts")?,
            url: row.try_get("url")?,
            secret: row.try_get("secret")?,
            event_id: row.try_get("event_id")?,
            kind: row.try_get("type")?,
            data: row.try_get("data")?,
            event_at: row.try_get("event_at")?,
        });
    }
    tx.commit().await?;
    out.sort_by_key(|d| d.delivery_id);
    Ok(out)
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
         VALUES (?, ?, ?, ?, ?, ?)",
    )
    .bind(delivery_id)
    .bind(attempt.attempt)
    .bind(attempt.started_at)
    .bind(attempt.duration_ms)
    .bind(attempt.status_code.map(i64::from))
    .bind(&attempt.error)
    .execute(&mut *tx)
    .await?;
    // Only a pending delivery moves on: one dropped by deleting its webhook stays dropped.
    sqlx::query(
        "UPDATE webhook_deliveries SET attempts = ?, status = ?, next_at = ? \
         WHERE id = ? AND status = 'pending'",
    )
    .bind(attempt.attempt)
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
         WHERE d.webhook_id = ? ORDER BY d.id DESC LIMIT ?",
    )
    .bind(webhook_id)
    .bind(limit)
    .fetch_all(pool)
    .await?;
    let mut out = Vec::with_capacity(rows.len());
    for row in &rows {
        let status: String = row.try_get("status")?;
        let id: i64 = row.try_get("id")?;
        let attempts = sqlx::query(
            "SELECT attempt, started_at, duration_ms, status_code, error \
             FROM webhook_attempts WHERE delivery_id = ? ORDER BY attempt, id",
        )
        .bind(id)
        .fetch_all(pool)
        .await?
        .iter()
        .map(|a| {
            let code: Option<i64> = a.try_get("status_code")?;
            Ok(AttemptRecord {
                attempt: a.try_get("attempt")?,
                started_at: a.try_get("started_at")?,
                duration_ms: a.try_get("duration_ms")?,
                status_code: code.and_then(|c| u16::try_from(c).ok()),
                error: a.try_get("error")?,
            })
        })
        .collect::<StoreResult<Vec<_>>>()?;
        out.push(DeliveryRecord {
            id,
            event_id: row.try_get("event_id")?,
            kind: row.try_get("type")?,
            status: DeliveryStatus::parse(&status)
                .ok_or_else(|| StoreError::Corrupt(format!("delivery status {status:?}")))?,
            next_attempt_at: row.try_get("next_at")?,
            created_at: row.try_get("created_at")?,
            attempts,
        });
    }
    Ok(out)
}
