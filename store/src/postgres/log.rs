//! Reading the log in commit order, and the stream readers' cursors.

use super::rows;
use crate::{LogEntry, StoreResult};
use sqlx::{PgPool, Row};

pub(super) async fn events_since(
    pool: &PgPool,
    pos: i64,
    limit: u32,
) -> StoreResult<Vec<LogEntry>> {
    let rows = sqlx::query(
        "SELECT conversation_id, seq, at, payload, pos FROM events \
         WHERE pos > $1 ORDER BY pos LIMIT $2",
    )
    .bind(pos)
    .bind(i64::from(limit))
    .fetch_all(pool)
    .await?;
    rows.iter()
        .map(|row| {
            Ok(LogEntry {
                pos: row.try_get("pos")?,
                event: rows::event(row)?,
            })
        })
        .collect()
}

pub(super) async fn head(pool: &PgPool) -> StoreResult<i64> {
    Ok(
        sqlx::query_scalar("SELECT COALESCE(max(pos), 0) FROM events")
            .fetch_one(pool)
            .await?,
    )
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
