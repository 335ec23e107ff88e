//! Agents, their sessions, sites and visitors: plain queries on the pool. Tokens arrive
//! already hashed; this file never sees a secret.

use super::constraint;
use super::rows::{self, AGENT_COLUMNS, VISITOR_COLUMNS};
use crate::{
    AgentPatch, AgentRecord, NewAgent, SiteOptions, SiteRecord, StoreError, StoreResult, VisitorId,
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
         VALUES ($1, $2, $3, $4, $5, $6, FALSE, $7) RETURNING {AGENT_COLUMNS}"
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
    let row = sqlx::query(&format!("SELECT {AGENT_COLUMNS} FROM agents WHERE id = $1"))
        .bind(id.0)
        .fetch_optional(pool)
        .await?;
    row.as_ref().map(rows::agent).transpose()
}

/// Case-insensitive, like the unique index `agents_email` on `lower(email)` (which this
/// lookup uses).
pub(super) async fn agent_by_email(pool: &PgPool, email: &str) -> StoreResult<Option<AgentRecord>> {
    let row = sqlx::query(&format!(
        "SELECT {AGENT_COLUMNS} FROM agents WHERE lower(email) = lower($1)"
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
            display_name         = COALESCE($2, display_name), \
            password_hash        = COALESCE($3, password_hash), \
            role                 = COALESCE($4, role), \
            max_concurrent_chats = COALESCE($5, max_concurrent_chats), \
            disabled             = COALESCE($6, disabled), \
            support_level        = COALESCE($7, support_level) \
         WHERE id = $1 RETURNING {AGENT_COLUMNS}"
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
    let rows = sqlx::query(
        "SELECT site_id FROM agent_sites WHERE agent_id = $1 ORDER BY site_id COLLATE \"C\"",
    )
    .bind(id.0)
    .fetch_all(pool)
    .await?;
    rows.iter()
        .map(|r| r.try_get("site_id").map_err(StoreError::from))
        .collect()
}

pub(super) async fn all_agent_sites(pool: &PgPool) -> StoreResult<Vec<(AgentId, String)>> {
    let rows = sqlx::query(
        "SELECT agent_id, site_id FROM agent_sites ORDER BY agent_id, site_id COLLATE \"C\"",
    )
    .fetch_all(pool)
    .await?;
    rows.iter()
        .map(|r| Ok((AgentId(r.try_get("agent_id")?), r.try_get("site_id")?)))
        .collect()
}

/// One transaction: the agent's rows are replaced whole, or not at all. It locks the agent's
/// row first, so two replacements for one agent take turns instead of leaving the union of
/// both lists (`NO KEY UPDATE`: sessions and chats may still reference the agent meanwhile).
/// A site named twice is stored once.
pub(super) async fn set_agent_sites(
    pool: &PgPool,
    id: AgentId,
    sites: &[String],
) -> StoreResult<()> {
    let mut tx = pool.begin().await?;
    let known = sqlx::query("SELECT 1 FROM agents WHERE id = $1 FOR NO KEY UPDATE")
        .bind(id.0)
        .fetch_optional(&mut *tx)
        .await?;
    if known.is_none() {
        return Err(StoreError::NotFound);
    }
    sqlx::query("DELETE FROM agent_sites WHERE agent_id = $1")
        .bind(id.0)
        .execute(&mut *tx)
        .await?;
    sqlx::query(
        "INSERT INTO agent_sites (agent_id, site_id) \
         SELECT $1, site FROM unnest($2::text[]) AS site \
         ON CONFLICT DO NOTHING",
    )
    .bind(id.0)
    .bind(sites)
    .execute(&mut *tx)
    .await
    .map_err(|e| constraint(e, || "agent site".into()))?;
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
         VALUES ($1, $2, $3, $4)",
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
         WHERE s.token_hash = $1 AND s.revoked_at IS NULL AND s.expires_at > $2 \
           AND NOT a.disabled",
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
        "UPDATE agent_sessions SET revoked_at = $1 WHERE token_hash = $2 AND revoked_at IS NULL",
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
        "UPDATE agent_sessions SET revoked_at = $1 WHERE agent_id = $2 AND revoked_at IS NULL",
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
    // The first statement locks the site's row (a new site: its key in the primary key
    // index), so a concurrent upsert or update of the same site waits until this one's
    // origins are committed too.
    let o = &site.options;
    sqlx::query(
        "INSERT INTO sites (id, name, prechat, accent, widget_position, greeting, \
            offline_behaviour, queue_offer_message_after_secs, unresolved_to_ticket, \
            chat_within_hours) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) \
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
/// The `UPDATE` locks the site's row until the origins are replaced too.
pub(super) async fn update_site(pool: &PgPool, site: SiteRecord) -> StoreResult<()> {
    let mut tx = pool.begin().await?;
    let o = &site.options;
    let updated = sqlx::query(
        "UPDATE sites SET name = $1, prechat = $2, accent = $3, widget_position = $4, \
            greeting = $5, offline_behaviour = $6, queue_offer_message_after_secs = $7, \
            unresolved_to_ticket = $8, chat_within_hours = $9 \
         WHERE id = $10",
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

/// The origins in the order given (`position` from 0; an origin named twice keeps its
/// first place), in two statements whatever their number.
async fn replace_origins(conn: &mut PgConnection, site: &SiteRecord) -> StoreResult<()> {
    sqlx::query("DELETE FROM site_origins WHERE site_id = $1")
        .bind(&site.id)
        .execute(&mut *conn)
        .await?;
    sqlx::query(
        "INSERT INTO site_origins (site_id, position, origin) \
         SELECT $1, o.n - 1, o.origin FROM unnest($2::text[]) WITH ORDINALITY AS o (origin, n) \
         ORDER BY o.n \
         ON CONFLICT DO NOTHING",
    )
    .bind(&site.id)
    .bind(&site.allowed_origins)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// One statement, so the site and its origins come from the same snapshot.
const SITES_WITH_ORIGINS: &str = "SELECT s.id, s.name, s.prechat, s.accent, s.widget_position, \
     s.greeting, s.offline_behaviour, s.queue_offer_message_after_secs, s.unresolved_to_ticket, \
     s.chat_within_hours, o.origin FROM sites s LEFT JOIN site_origins o ON o.site_id = s.id";

pub(super) async fn site(pool: &PgPool, id: &str) -> StoreResult<Option<SiteRecord>> {
    let rows = sqlx::query(&format!(
        "{SITES_WITH_ORIGINS} WHERE s.id = $1 ORDER BY o.position"
    ))
    .bind(id)
    .fetch_all(pool)
    .await?;
    Ok(group_sites(&rows)?.pop())
}

pub(super) async fn list_sites(pool: &PgPool) -> StoreResult<Vec<SiteRecord>> {
    let rows = sqlx::query(&format!(
        "{SITES_WITH_ORIGINS} ORDER BY s.id COLLATE \"C\", o.position"
    ))
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

/// `Conflict` if the token hash is taken, `NotFound` for an unknown site.
pub(super) async fn create_visitor(
    pool: &PgPool,
    site_id: &str,
    token_hash: [u8; 32],
    now: i64,
) -> StoreResult<VisitorRecord> {
    let row = sqlx::query(&format!(
        "INSERT INTO visitors (site_id, token_hash, created_at, last_seen_at) \
         VALUES ($1, $2, $3, $3) RETURNING {VISITOR_COLUMNS}"
    ))
    .bind(site_id)
    .bind(&token_hash[..])
    .bind(now)
    .fetch_one(pool)
    .await
    .map_err(|e| constraint(e, || "visitor token".into()))?;
    rows::visitor(&row)
}

pub(super) async fn visitor_by_token(
    pool: &PgPool,
    token_hash: [u8; 32],
) -> StoreResult<Option<VisitorRecord>> {
    let row = sqlx::query(&format!(
        "SELECT {VISITOR_COLUMNS} FROM visitors WHERE token_hash = $1"
    ))
    .bind(&token_hash[..])
    .fetch_optional(pool)
    .await?;
    row.as_ref().map(rows::visitor).transpose()
}

/// Moves `last_seen_at` forward only (clocks of concurrent calls may disagree); one
/// statement, so concurrent touches cannot move it back. `NotFound` for an unknown visitor.
pub(super) async fn touch_visitor(pool: &PgPool, id: VisitorId, now: i64) -> StoreResult<()> {
    let done =
        sqlx::query("UPDATE visitors SET last_seen_at = GREATEST(last_seen_at, $1) WHERE id = $2")
            .bind(now)
            .bind(id.0)
            .execute(pool)
            .await?;
    if done.rows_affected() == 0 {
        return Err(StoreError::NotFound);
    }
    Ok(())
}

/// `NewAgent` carries no timestamp, so agent creation uses the wall clock.
fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}
