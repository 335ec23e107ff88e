//! Reading the log in commit order, and the stream readers' cursors. Cursors are written by
//! the group-commit writer (see [`super::writer`]), like every other write to the log.

use super::rows;
use crate::{LogEntry, StoreResult};
use sqlx::{Row, SqlitePool};

pub(super) async fn events_since(
    pool: &SqlitePool,
    pos: i64,
    limit: u32,
) -> StoreResult<Vec<LogEntry>> {
    let rows = sqlx::query(
        "SELECT conversation_id, seq, at, payload, pos FROM events \
         WHERE pos > ? ORDER BY pos LIMIT ?",
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

pub(super) async fn head(pool: &SqlitePool) -> StoreResult<i64> {
    Ok(
        sqlx::query_scalar("SELECT COALESCE(MAX(pos), 0) FROM events")
            .fetch_one(pool)
            .await?,
    )
}

pub(super) async fn cursor(pool: &SqlitePool, reader: &str) -> StoreResult<Option<i64>> {
    Ok(
        sqlx::query_scalar("SELECT pos FROM stream_cursors WHERE reader = ?")
            .bind(reader)
            .fetch_optional(pool)
            .await?,
    )
}
