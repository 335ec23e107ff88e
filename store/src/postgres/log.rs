//! Reading the log in commit order, and the stream readers' cursors.

use super::rows;
use crate::{LogEntry, LogPage, StoreResult};
use sqlx::{PgPool, Row};

/// Reads the head first: every event with a position up to it is committed (positions
/// follow commit order), so a short page means the reader has seen all of them.
pub(super) async fn read_log(
    pool: &PgPool,
    after: i64,
    kinds: &[&str],
    limit: u32,
) -> StoreResult<LogPage> {
    let head = head(pool).await?;
    let rows = sqlx::query(
        "SELECT conversation_id, seq, at, payload, pos FROM events \
         WHERE pos > $1 AND pos <= $2 \
           AND (cardinality($3::text[]) = 0 OR kind = ANY($3::text[])) \
         ORDER BY pos LIMIT $4",
    )
    .bind(after)
    .bind(head)
    .bind(kinds)
    .bind(i64::from(limit))
    .fetch_all(pool)
    .await?;
    let entries = rows
        .iter()
        .map(|row| {
            Ok(LogEntry {
                pos: row.try_get("pos")?,
                event: rows::event(row)?,
            })
        })
        .collect::<StoreResult<Vec<_>>>()?;
    let through = match entries.last() {
        Some(last) if entries.len() >= limit as usize => last.pos,
        _ => head.max(after),
    };
    Ok(LogPage { entries, through })
}

pub(super) async fn head(pool: &PgPool) -> StoreResult<i64> {
    Ok(sqlx::query_scalar("SELECT pos FROM log_head")
        .fetch_one(pool)
        .await?)
}

pub(super) async fn cursor(pool: &PgPool, reader: &str) -> StoreResult<Option<i64>> {
    Ok(
        sqlx::query_scalar("SELECT pos FROM stream_cursors WHERE reader = $1")
            .bind(reader)
            .fetch_optional(pool)
            .await?,
    )
}

/// Raised, never lowered.
pub(super) async fn save_cursor(
    pool: &PgPool,
    reader: &str,
    pos: i64,
    now: i64,
) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO stream_cursors (reader, pos, updated_at) VALUES ($1, $2, $3) \
         ON CONFLICT (reader) DO UPDATE \
         SET pos = GREATEST(stream_cursors.pos, excluded.pos), updated_at = excluded.updated_at",
    )
    .bind(reader)
    .bind(pos)
    .bind(now)
    .execute(pool)
    .await?;
    Ok(())
}
