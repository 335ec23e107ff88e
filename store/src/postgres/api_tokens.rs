//! API tokens for integrations. Lookups join the creating admin, so disabling that admin
//! stops their tokens the way it stops their sessions.

use super::{constraint, rows};
use crate::webhooks::{ApiTokenRecord, NewApiToken};
use crate::{AgentRecord, StoreError, StoreResult};
use sqlx::postgres::PgRow;
use sqlx::{PgPool, Row};
use switchboard_shared::AgentId;

const COLUMNS: &str = "t.id, t.name, t.scopes, t.created_by, t.created_at, t.revoked_at";

fn token(row: &PgRow) -> StoreResult<ApiTokenRecord> {
    let scopes: String = row.try_get("scopes")?;
    Ok(ApiTokenRecord {
        id: row.try_get("id")?,
        name: row.try_get("name")?,
        scopes: scopes.split_whitespace().map(str::to_string).collect(),
        created_by: AgentId(row.try_get("created_by")?),
        created_at: row.try_get("created_at")?,
        revoked_at: row.try_get("revoked_at")?,
    })
}

pub(super) async fn create(pool: &PgPool, new: NewApiToken) -> StoreResult<ApiTokenRecord> {
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO api_tokens (name, scopes, token_hash, created_by, created_at) \
         VALUES ($1, $2, $3, $4, $5) RETURNING id",
    )
    .bind(&new.name)
    .bind(new.scopes.join(" "))
    .bind(&new.token_hash[..])
    .bind(new.created_by.0)
    .bind(new.at)
    .fetch_one(pool)
    .await
    .map_err(|e| constraint(e, || "api token".into()))?;
    Ok(ApiTokenRecord {
        id,
        name: new.name,
        scopes: new.scopes,
        created_by: new.created_by,
        created_at: new.at,
        revoked_at: None,
    })
}

pub(super) async fn by_hash(
    pool: &PgPool,
    token_hash: [u8; 32],
) -> StoreResult<Option<(ApiTokenRecord, AgentRecord)>> {
    let sql = format!(
        "SELECT {COLUMNS} FROM api_tokens t JOIN agents a ON a.id = t.created_by \
         WHERE t.token_hash = $1 AND t.revoked_at IS NULL AND NOT a.disabled"
    );
    let Some(row) = sqlx::query(&sql)
        .bind(&token_hash[..])
        .fetch_optional(pool)
        .await?
    else {
        return Ok(None);
    };
    let record = token(&row)?;
    let agent_sql = format!("SELECT {} FROM agents WHERE id = $1", rows::AGENT_COLUMNS);
    let agent = sqlx::query(&agent_sql)
        .bind(record.created_by.0)
        .fetch_optional(pool)
        .await?
        .as_ref()
        .map(rows::agent)
        .transpose()?
        .ok_or(StoreError::NotFound)?;
    Ok(Some((record, agent)))
}

pub(super) async fn list(pool: &PgPool) -> StoreResult<Vec<ApiTokenRecord>> {
    let sql = format!("SELECT {COLUMNS} FROM api_tokens t ORDER BY t.id");
    sqlx::query(&sql)
        .fetch_all(pool)
        .await?
        .iter()
        .map(token)
        .collect()
}

pub(super) async fn revoke(pool: &PgPool, id: i64, now: i64) -> StoreResult<()> {
    let done =
        sqlx::query("UPDATE api_tokens SET revoked_at = coalesce(revoked_at, $1) WHERE id = $2")
            .bind(now)
            .bind(id)
            .execute(pool)
            .await?;
    if done.rows_affected() == 0 {
        return Err(StoreError::NotFound);
    }
    Ok(())
}
