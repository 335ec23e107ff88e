//! What the agent console needs beside conversations: canned responses, internal notes and
//! a visitor's earlier conversations. Plain queries on the pool (rare, small writes).

use super::constraint;
use super::rows::{self, CONVERSATION_COLUMNS};
use crate::{
    CannedResponse, ConversationRecord, NewCanned, Note, StoreError, StoreResult, VisitorId,
};
use sqlx::postgres::PgRow;
use sqlx::{PgPool, Row};
use switchboard_shared::{AgentId, ConversationId};

const CANNED_COLUMNS: &str = "id, shortcut, title, body, site_id, created_at, updated_at";

fn canned(row: &PgRow) -> StoreResult<CannedResponse> {
    Ok(CannedResponse {
        id: row.try_get("id")?,
        shortcut: row.try_get("shortcut")?,
        title: row.try_get("title")?,
        body: row.try_get("body")?,
        site_id: row.try_get("site_id")?,
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
    })
}

fn note(row: &PgRow) -> StoreResult<Note> {
    Ok(Note {
        id: row.try_get("id")?,
        conversation_id: ConversationId(row.try_get("conversation_id")?),
        agent_id: AgentId(row.try_get("agent_id")?),
        body: row.try_get("body")?,
        created_at: row.try_get("created_at")?,
    })
}

/// By shortcut ignoring case, compared byte by byte whatever the database's collation (the
/// order SQLite gives its `NOCASE` column).
pub(super) async fn list_canned(pool: &PgPool) -> StoreResult<Vec<CannedResponse>> {
    let rows = sqlx::query(&format!(
        "SELECT {CANNED_COLUMNS} FROM canned_responses ORDER BY lower(shortcut) COLLATE \"C\""
    ))
    .fetch_all(pool)
    .await?;
    rows.iter().map(canned).collect()
}

pub(super) async fn create_canned(
    pool: &PgPool,
    new: NewCanned,
    now: i64,
) -> StoreResult<CannedResponse> {
    let row = sqlx::query(&format!(
        "INSERT INTO canned_responses (shortcut, title, body, site_id, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $5) RETURNING {CANNED_COLUMNS}"
    ))
    .bind(&new.shortcut)
    .bind(&new.title)
    .bind(&new.body)
    .bind(&new.site_id)
    .bind(now)
    .fetch_one(pool)
    .await
    .map_err(|e| constraint(e, || format!("canned response /{}", new.shortcut)))?;
    canned(&row)
}

pub(super) async fn update_canned(
    pool: &PgPool,
    id: i64,
    new: NewCanned,
    now: i64,
) -> StoreResult<CannedResponse> {
    let row = sqlx::query(&format!(
        "UPDATE canned_responses SET shortcut = $1, title = $2, body = $3, site_id = $4, \
         updated_at = $5 WHERE id = $6 RETURNING {CANNED_COLUMNS}"
    ))
    .bind(&new.shortcut)
    .bind(&new.title)
    .bind(&new.body)
    .bind(&new.site_id)
    .bind(now)
    .bind(id)
    .fetch_optional(pool)
    .await
    .map_err(|e| constraint(e, || format!("canned response /{}", new.shortcut)))?;
    row.as_ref()
        .map(canned)
        .transpose()?
        .ok_or(StoreError::NotFound)
}

pub(super) async fn delete_canned(pool: &PgPool, id: i64) -> StoreResult<()> {
    let done = sqlx::query("DELETE FROM canned_responses WHERE id = $1")
        .bind(id)
        .execute(pool)
        .await?;
    if done.rows_affected() == 0 {
        return Err(StoreError::NotFound);
    }
    Ok(())
}

pub(super) async fn add_note(
    pool: &PgPool,
    conversation: ConversationId,
    agent: AgentId,
    body: &str,
    now: i64,
) -> StoreResult<Note> {
    let row = sqlx::query(
        "INSERT INTO conversation_notes (conversation_id, agent_id, body, created_at) \
         VALUES ($1, $2, $3, $4) RETURNING id, conversation_id, agent_id, body, created_at",
    )
    .bind(conversation.0)
    .bind(agent.0)
    .bind(body)
    .bind(now)
    .fetch_one(pool)
    .await
    .map_err(|e| constraint(e, || "note".into()))?;
    note(&row)
}

pub(super) async fn notes(pool: &PgPool, conversation: ConversationId) -> StoreResult<Vec<Note>> {
    let rows = sqlx::query(
        "SELECT id, conversation_id, agent_id, body, created_at FROM conversation_notes \
         WHERE conversation_id = $1 ORDER BY id",
    )
    .bind(conversation.0)
    .fetch_all(pool)
    .await?;
    rows.iter().map(note).collect()
}

/// Newest first.
pub(super) async fn conversations_of_visitor(
    pool: &PgPool,
    visitor: VisitorId,
    limit: u32,
) -> StoreResult<Vec<ConversationRecord>> {
    let rows = sqlx::query(&format!(
        "SELECT {CONVERSATION_COLUMNS} FROM conversations WHERE visitor_id = $1 \
         ORDER BY created_at DESC, id DESC LIMIT $2"
    ))
    .bind(visitor.0)
    .bind(i64::from(limit))
    .fetch_all(pool)
    .await?;
    rows.iter().map(rows::conversation).collect()
}
