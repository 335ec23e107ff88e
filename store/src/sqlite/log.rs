//! Reading the log in commit order, and the stream readers' cursors. Cursors are written by
//! the group-commit writer (see [`super::writer`]), like every other write to the log.

use super::rows;
use crate::{LogEntry, LogPage, StoreResult};
use sqlx::{Row, SqlitePool};

/// Reads the head first: every event with a position up to it is committed (positions
/// follow commit order), so a short page means the reader has seen all of them.
pub(super) async fn read_log(
    pool: &SqlitePool,
    after: i64,
    kinds: &[&str],
    limit: u32,
) -> StoreResult<LogPage> {
    let head = head(pool).await?;
    let kinds = serde_json::to_string(kinds)
        .map_err(|e| crate::StoreError::Corrupt(format!("reader kinds: {e}")))?;
    let rows = sqlx::query(
        "SELECT conversation_id, seq, at, payload, rowid AS pos FROM events \
         WHERE rowid > ?1 AND rowid <= ?2 \
           AND (?3 = '[]' OR kind IN (SELECT value FROM json_each(?3))) \
         ORDER BY rowid LIMIT ?4",
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

pub(super) async fn head(pool: &SqlitePool) -> StoreResult<i64> {
    Ok(
        sqlx::query_scalar("SELECT COALESCE(MAX(rowid), 0) FROM events")
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
