//! Conversation rows and event reads. Appends and receipts are not here: they go through
//! the group-commit [`super::writer`]. Creating a conversation is a plain insert on the pool
//! (it has no events yet, so it cannot race an append).

use super::constraint;
use super::rows::{self, seq_to_db, CONVERSATION_COLUMNS};
use crate::codec::status_str;
use crate::{ConversationRecord, NewConversation, StoreResult, StoredEvent, VisitorId};
use sqlx::PgPool;
use switchboard_shared::{ConversationId, ConversationStatus, Seq};

/// A new conversation has no events yet (its `last_seq` is 0). A queued one starts waiting now.
/// An unknown site or visitor is `NotFound`.
pub(super) async fn create(pool: &PgPool, new: NewConversation) -> StoreResult<ConversationRecord> {
    let queued_at = (new.status == ConversationStatus::Queued).then_some(new.at);
    let row = sqlx::query(&format!(
        "INSERT INTO conversations (site_id, visitor_id, status, \
            visitor_name, visitor_email, visitor_customer_number, visitor_page_url, \
            visitor_locale, visitor_browser, queue_rank, created_at, queued_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) \
         RETURNING {CONVERSATION_COLUMNS}"
    ))
    .bind(&new.site_id)
    .bind(new.visitor_id.0)
    .bind(status_str(new.status))
    .bind(&new.info.name)
    .bind(&new.info.email)
    .bind(&new.info.customer_number)
    .bind(&new.info.page_url)
    .bind(&new.info.locale)
    .bind(&new.info.browser)
    .bind(new.queue_rank)
    .bind(new.at)
    .bind(queued_at)
    .fetch_one(pool)
    .await
    .map_err(|e| constraint(e, || "conversation".into()))?;
    rows::conversation(&row)
}

pub(super) async fn get(
    pool: &PgPool,
    id: ConversationId,
) -> StoreResult<Option<ConversationRecord>> {
    let row = sqlx::query(&format!(
        "SELECT {CONVERSATION_COLUMNS} FROM conversations WHERE id = $1"
    ))
    .bind(id.0)
    .fetch_optional(pool)
    .await?;
    row.as_ref().map(rows::conversation).transpose()
}

pub(super) async fn latest_for_visitor(
    pool: &PgPool,
    visitor: VisitorId,
    since: i64,
) -> StoreResult<Option<ConversationRecord>> {
    let row = sqlx::query(&format!(
        "SELECT {CONVERSATION_COLUMNS} FROM conversations \
         WHERE visitor_id = $1 AND created_at >= $2 \
         ORDER BY created_at DESC, id DESC LIMIT 1"
    ))
    .bind(visitor.0)
    .bind(since)
    .fetch_optional(pool)
    .await?;
    row.as_ref().map(rows::conversation).transpose()
}

/// Oldest first. The WHERE clause is the predicate of the partial index `conversations_open`,
/// which is what lets the planner use it.
pub(super) async fn open(pool: &PgPool) -> StoreResult<Vec<ConversationRecord>> {
    let rows = sqlx::query(&format!(
        "SELECT {CONVERSATION_COLUMNS} FROM conversations \
         WHERE status IN ('queued', 'active') ORDER BY id"
    ))
    .fetch_all(pool)
    .await?;
    rows.iter().map(rows::conversation).collect()
}

pub(super) async fn events_after(
    pool: &PgPool,
    id: ConversationId,
    after: Seq,
    limit: u32,
) -> StoreResult<Vec<StoredEvent>> {
    let rows = sqlx::query(
        "SELECT conversation_id, seq, at, payload FROM events \
         WHERE conversation_id = $1 AND seq > $2 ORDER BY seq LIMIT $3",
    )
    .bind(id.0)
    .bind(seq_to_db(after))
    .bind(i64::from(limit))
    .fetch_all(pool)
    .await?;
    rows.iter().map(rows::event).collect()
}

/// Most recently ended first. Chats that ended without an agent have no handle time; a
/// negative difference (clock step) counts as 0. Matches the partial index
/// `conversations_handled`.
pub(super) async fn recent_handle_times(pool: &PgPool, limit: u32) -> StoreResult<Vec<i64>> {
    let times = sqlx::query_scalar(
        "SELECT GREATEST(0, ended_at - assigned_at) FROM conversations \
         WHERE ended_at IS NOT NULL AND assigned_at IS NOT NULL \
         ORDER BY ended_at DESC LIMIT $1",
    )
    .bind(i64::from(limit))
    .fetch_all(pool)
    .await?;
    Ok(times)
}
