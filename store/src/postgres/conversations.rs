//! Conversation rows and event reads. Creating conversations, appends and receipts are not
//! here: they go through the group-commit [`super::writer`].

use super::rows::{self, seq_to_db, CONVERSATION_COLUMNS};
use crate::{ConversationRecord, StoreResult, StoredEvent, VisitorId};
use sqlx::PgPool;
use switchboard_shared::{ConversationId, Seq};

pub(super) async fn get(
    pool: &PgPool,
    id: ConversationId,
) -> StoreResult<Option<ConversationRecord>> {
    let row = sqlx::query(&format!(
        "SELECT {CONVERSATION_COLUMNS} FROM conversations WHERE id = ?"
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
         WHERE visitor_id = ? AND created_at >= ? \
         ORDER BY created_at DESC, id DESC LIMIT 1"
    ))
    .bind(visitor.0)
    .bind(since)
    .fetch_optional(pool)
    .await?;
    row.as_ref().map(rows::conversation).transpose()
}

/// Oldest first. The WHERE clause matches the partial index `conversations_open` word for
/// word, which is what lets SQLite use it.
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
         WHERE conversation_id = ? AND seq > ? ORDER BY seq LIMIT ?",
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
        "SELECT MAX(0, ended_at - assigned_at) FROM conversations \
         WHERE ended_at IS NOT NULL AND assigned_at IS NOT NULL \
         ORDER BY ended_at DESC LIMIT ?",
    )
    .bind(i64::from(limit))
    .fetch_all(pool)
    .await?;
    Ok(times)
}
