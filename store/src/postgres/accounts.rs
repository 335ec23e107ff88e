//! Agents, their sessions, sites and visitors: plain queries on the pools. Tokens arrive
//! already hashed; this file never sees a secret.

use super::constraint;
use super::rows::{self, AGENT_COLUMNS};
use crate::{
    AgentPatch, AgentRecord, NewAgent, SiteOptions, SiteRecord, StoreError, StoreResult,
    VisitorRecord,
};
use sqlx::{PgConnection, PgPool, Row};
use switchboard_shared::{AgentId, OfflineBehaviour, WidgetPosition};

pub(super) async fn create_agent(pool: &PgPool, new: NewAgent) -> StoreResult<AgentRecord> {
    let now = now_ms();
    let row = sqlx::query(&format!(
        "INSERT INTO agents \
           (email, display_name, password_hash, role, max_concurrent_chats, support_level, \
            disabled, created_at) \
         VALUES (?, ?, ?, ?, ?, ?, 0, ?) RETURNING {AGENT_COLUMNS}"
    ))
    .bind(&new.email)
    .bind(&new.display_name)
    .bind(&new.password_hash)
    .bind(new.role.as_str())
    .bind(i64::from(new.max_concurrent_chats))
    .bind(new.support_level.as_str())
    .bind(now)
    .fetch_one(pool)
    .await
    .map_err(|e| constraint(e, || format!("agent e-mail {}", new.email)))?;
    rows::agent(&row)
}

pub(super) async fn agent(pool: &PgPool, id: AgentId) -> StoreResult<Option<AgentRecord>> {
    let row = sqlx::query(&format!("SELECT {AGENT_COLUMNS} FROM agents WHERE id = ?"))
        .bind(id.0)
        .fetch_optional(pool)
        .await?;
    row.as_ref().map(rows::agent).transpose()
}

/// Case-insensitive (ASCII), like the UNIQUE constraint on the column.
pub(super) async fn agent_by_email(pool: &PgPool, email: &str) -> StoreResult<Option<AgentRecord>> {
    let row = sqlx::query(&format!(
        "SELECT {AGENT_COLUMNS} FROM agents WHERE email = ?"
    ))
    .bind(email)
    .fetch_optional(pool)
    .await?;
    row.as_ref().map(rows::agent).transpose()
}

pub(super) async fn list_agents(pool: &PgPool) -> StoreResult<Vec<AgentRecord>> {
    let rows = sqlx::query(&format!("SELECT {AGENT_COLUMNS} FROM agents ORDER BY id"))
        .fetch_all(pool)
        .await?;
    rows.iter().map(rows::agent).collect()
}

pub(super) async fn update_agent(
    pool: &PgPool,
    id: AgentId,
    patch: AgentPatch,
) -> StoreResult<AgentRecord> {
    let row = sqlx::query(&format!(
        "UPDATE agents SET \
            display_name         = COALESCE(?2, display_name), \
            password_hash        = COALESCE(?3, password_hash), \
            role                 = COALESCE(?4, role), \
            max_concurrent_chats = COALESCE(?5, max_concurrent_chats), \
            disabled             = COALESCE(?6, disabled), \
            support_level        = COALESCE(?7, support_level) \
         WHERE id = ?1 RETURNING {AGENT_COLUMNS}"
    ))
    .bind(id.0)
    .bind(patch.display_name)
    .bind(patch.password_hash)
    .bind(patch.role.map(|r| r.as_str()))
    .bind(patch.max_concurrent_chats.map(i64::from))
    .bind(patch.disabled)
    .bind(patch.support_level.map(|l| l.as_str()))
    .fetch_optional(pool)
    .await?;
    row.as_ref()
        .map(rows::agent)
        .transpose()?
        .ok_or(StoreError::NotFound)
}

pub(super) async fn agent_sites(pool: &PgPool, id: AgentId) -> StoreResult<Vec<String>> {
    let rows = sqlx::query("SELECT site_id FROM agent_sites WHERE agent_id = ? ORDER BY site_id")
        .bind(id.0)
        .fetch_all(pool)
        .await?;
    rows.iter()
        .map(|r| r.try_get("site_id").map_err(StoreError::from))
        .collect()
}

pub(super) async fn all_agent_sites(pool: &PgPool) -> StoreResult<Vec<(AgentId, String)>> {
    let rows = sqlx::query("SELECT agent_id, site_id FROM agent_sites ORDER BY agent_id, site_id")
        .fetch_all(pool)
        .await?;
    rows.iter()
        .map(|r| Ok((AgentId(r.try_get("agent_id")?), r.try_get("site_id")?)))
        .collect()
}

/// One transaction: the agent's rows are replaced whole, or not at all. It writes first, so
/// it takes the write lock through the busy timeout (a transaction that read first could
/// not wait for another writer: SQLite answers `SQLITE_BUSY` at once).
pub(super) async fn set_agent_sites(
    pool: &PgPool,
    id: AgentId,
    sites: &[String],
) -> StoreResult<()> {
    let mut tx = pool.begin().await?;
    sqlx::query("DELETE FROM agent_sites WHERE agent_id = ?")
        .bind(id.0)
        .execute(&mut *tx)
        .await?;
    let known = sqlx::query("SELECT 1 FROM agents WHERE id = ?")
        .bind(id.0)
        .fetch_optional(&mut *tx)
        .await?;
    if known.is_none() {
        return Err(StoreError::NotFound);
    }
    for site in sites {
        sqlx::query("INSERT OR IGNORE INTO agent_sites (agent_id, site_id) VALUES (?, ?)")
            .bind(id.0)
            .bind(site)
            .execute(&mut *tx)
            .await
            .map_err(|e| constraint(e, || format!("site {site}")))?;
    }
    tx.commit().await?;
    Ok(())
}

pub(super) async fn create_session(
    pool: &PgPool,
    token_hash: [u8; 32],
    agent: AgentId,
    now: i64,
    expires_at: i64,
) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO agent_sessions (token_hash, agent_id, created_at, expires_at) \
         VALUES (?, ?, ?, ?)",
    )
    .bind(&token_hash[..])
    .bind(agent.0)
    .bind(now)
    .bind(expires_at)
    .execute(pool)
    .await
    .map_err(|e| constraint(e, || "session token".into()))?;
    Ok(())
}

pub(super) async fn session_agent(
    pool: &PgPool,
    token_hash: [u8; 32],
    now: i64,
) -> StoreResult<Option<AgentRecord>> {
    let row = sqlx::query(
        "SELECT a.id, a.email, a.display_name, a.password_hash, a.role, \
                a.max_concurrent_chats, a.support_level, a.disabled, a.created_at \
         FROM agent_sessions s JOIN agents a ON a.id = s.agent_id \
         WHERE s.token_hash = ? AND s.revoked_at IS NULL AND s.expires_at > ? \
           AND a.disabled = 0",
    )
    .bind(&token_hash[..])
    .bind(now)
    .fetch_optional(pool)
    .await?;
    row.as_ref().map(rows::agent).transpose()
}

/// Idempotent: revoking an unknown or already revoked session does nothing.
pub(super) async fn revoke_session(
    pool: &PgPool,
    token_hash: [u8; 32],
    now: i64,
) -> StoreResult<()> {
    sqlx::query(
        "UPDATE agent_sessions SET revoked_at = ? WHERE token_hash = ? AND revoked_at IS NULL",
    )
    .bind(now)
    .bind(&token_hash[..])
    .execute(pool)
    .await?;
    Ok(())
}

pub(super) async fn revoke_agent_sessions(
    pool: &PgPool,
    agent: AgentId,
    now: i64,
) -> StoreResult<()> {
    sqlx::query(
        "UPDATE agent_sessions SET revoked_at = ? WHERE agent_id = ? AND revoked_at IS NULL",
    )
    .bind(now)
    .bind(agent.0)
    .execute(pool)
    .await?;
    Ok(())
}

/// Creates a site, or replaces an existing one's name, pre-chat fields and whole origin
/// list in one transaction (what `switchboard site add` and the demo seed manage). An
/// existing site keeps its options: they are the admins', edited in the console.
pub(super) async fn upsert_site(pool: &PgPool, site: SiteRecord) -> StoreResult<()> {
    let mut tx = pool.begin().await?;
    // The first statement writes, so the write lock is taken (with busy_timeout) up front.
    let o = &site.options;
    sqlx::query(
        "INSERT INTO sites (id, name, prechat, accent, widget_position, greeting, \
            offline_behaviour, queue_offer_message_after_secs, unresolved_to_ticket, \
            chat_within_hours) \
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) \
         ON CONFLICT (id) DO UPDATE SET name = excluded.name, prechat = excluded.prechat",
    )
    .bind(&site.id)
    .bind(&site.name)
    .bind(prechat_json(&site)?)
    .bind(&o.accent)
    .bind(o.position.as_str())
    .bind(&o.greeting)
    .bind(o.offline_behaviour.as_str())
    .bind(i64::from(o.queue_offer_message_after_secs))
    .bind(o.unresolved_to_ticket)
    .bind(o.chat_within_hours)
    .execute(&mut *tx)
    .await?;
    replace_origins(&mut tx, &site).await?;
    tx.commit().await?;
    Ok(())
}

/// Replaces everything of an existing site in one transaction; `NotFound` if it is unknown.
pub(super) async fn update_site(pool: &PgPool, site: SiteRecord) -> StoreResult<()> {
    let mut tx = pool.begin().await?;
    let o = &site.options;
    let updated = sqlx::query(
        "UPDATE sites SET name = ?, prechat = ?, accent = ?, widget_position = ?, greeting = ?, \
            offline_behaviour = ?, queue_offer_message_after_secs = ?, unresolved_to_ticket = ?, \
            chat_within_hours = ? \
         WHERE id = ?",
    )
    .bind(&site.name)
    .bind(prechat_json(&site)?)
    .bind(&o.accent)
    .bind(o.position.as_str())
    .bind(&o.greeting)
    .bind(o.offline_behaviour.as_str())
    .bind(i64::from(o.queue_offer_message_after_secs))
    .bind(o.unresolved_to_ticket)
    .bind(o.chat_within_hours)
    .bind(&site.id)
    .execute(&mut *tx)
    .await?;
    if updated.rows_affected() == 0 {
        return Err(StoreError::NotFound);
    }
    replace_origins(&mut tx, &site).await?;
    tx.commit().await?;
    Ok(())
}

fn prechat_json(site: &SiteRecord) -> StoreResult<String> {
    serde_json::to_string(&site.prechat).map_err(|e| StoreError::Corrupt(e.to_string()))
}

async fn replace_origins(conn: &mut PgConnection, site: &SiteRecord) -> StoreResult<()> {
    sqlx::query("DELETE FROM site_origins WHERE site_id = ?")
        .bind(&site.id)
        .execute(&mut *conn)
        .await?;
    for (position, origin) in (0_i64..).zip(&site.allowed_origins) {
        sqlx::query(
            "INSERT INTO site_origins (site_id, position, origin) VALUES (?, ?, ?) \
             ON CONFLICT DO NOTHING",
        )
        .bind(&site.id)
        .bind(position)
        .bind(origin)
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

/// One statement, so the site and its origins come from the same snapshot.
const SITES_WITH_ORIGINS: &str = "SELECT s.id, s.name, s.prechat, s.accent, s.widget_position, \
     s.greeting, s.offline_behaviour, s.queue_offer_message_after_secs, s.unresolved_to_ticket, \
     s.chat_within_hours, o.origin FROM sites s LEFT JOIN site_origins o ON o.site_id = s.id";

pub(super) async fn site(pool: &PgPool, id: &str) -> StoreResult<Option<SiteRecord>> {
    let rows = sqlx::query(&format!(
        "{SITES_WITH_ORIGINS} WHERE s.id = ? ORDER BY o.position"
    ))
    .bind(id)
    .fetch_all(pool)
    .await?;
    Ok(group_sites(&rows)?.pop())
}

pub(super) async fn list_sites(pool: &PgPool) -> StoreResult<Vec<SiteRecord>> {
    let rows = sqlx::query(&format!("{SITES_WITH_ORIGINS} ORDER BY s.id, o.position"))
        .fetch_all(pool)
        .await?;
    group_sites(&rows)
}

/// Folds rows ordered by site into one record per site.
fn group_sites(rows: &[sqlx::postgres::PgRow]) -> StoreResult<Vec<SiteRecord>> {
    let mut sites: Vec<SiteRecord> = Vec::new();
    for row in rows {
        let id: String = row.try_get("id")?;
        let origin: Option<String> = row.try_get("origin")?;
        if sites.last().map(|s| &s.id) != Some(&id) {
            sites.push(SiteRecord {
                id,
                name: row.try_get("name")?,
                allowed_origins: vec![],
                prechat: serde_json::from_str(&row.try_get::<String, _>("prechat")?)
                    .map_err(|e| StoreError::Corrupt(format!("site prechat: {e}")))?,
                options: site_options(row)?,
            });
        }
        if let (Some(site), Some(origin)) = (sites.last_mut(), origin) {
            site.allowed_origins.push(origin);
        }
    }
    Ok(sites)
}

fn site_options(row: &sqlx::postgres::PgRow) -> StoreResult<SiteOptions> {
    let corrupt = |what: &str| StoreError::Corrupt(format!("site {what}"));
    let position: String = row.try_get("widget_position")?;
    let offline: String = row.try_get("offline_behaviour")?;
    let offer: i64 = row.try_get("queue_offer_message_after_secs")?;
    Ok(SiteOptions {
        accent: row.try_get("accent")?,
        position: WidgetPosition::parse(&position).ok_or_else(|| corrupt("widget_position"))?,
        greeting: row.try_get("greeting")?,
        offline_behaviour: OfflineBehaviour::parse(&offline)
            .ok_or_else(|| corrupt("offline_behaviour"))?,
        queue_offer_message_after_secs: u32::try_from(offer)
            .map_err(|_| corrupt("queue_offer_message_after_secs"))?,
        unresolved_to_ticket: row.try_get("unresolved_to_ticket")?,
        chat_within_hours: row.try_get("chat_within_hours")?,
    })
}

pub(super) async fn visitor_by_token(
    pool: &PgPool,
    token_hash: [u8; 32],
) -> StoreResult<Option<VisitorRecord>> {
    let row = sqlx::query(
        "SELECT id, site_id, created_at, last_seen_at FROM visitors WHERE token_hash = ?",
    )
    .bind(&token_hash[..])
    .fetch_optional(pool)
    .await?;
    row.as_ref().map(rows::visitor).transpose()
}

/// `NewAgent` carries no timestamp, so agent creation uses the wall clock.
fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}
