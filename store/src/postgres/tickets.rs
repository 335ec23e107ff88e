//! Tickets, their history, the category list and site business hours. Plain queries on the
//! pool: ticket writes are rare next to chat messages, so they skip the group-commit writer.
//! Every change writes the row and its history entries in one transaction.
//!
//! Safe with several relays on one database without the SQLite store's single writer:
//! creation relies on the unique `conversation_id` (`ON CONFLICT DO NOTHING`, a second
//! creator waits for the first to commit and then finds its ticket), and a change is one
//! `UPDATE … WHERE version = $n`, which PostgreSQL re-checks against the row a concurrent
//! change committed, so of two changes from the same version exactly one wins.

use super::constraint;
use crate::tickets::{
    NewTicket, SiteHours, SlaState, TicketChange, TicketChannel, TicketEvent, TicketEventKind,
    TicketFilter, TicketPriority, TicketRecord, TicketStatus,
};
use crate::{StoreError, StoreResult};
use sqlx::postgres::PgRow;
use sqlx::{PgConnection, PgPool, Row};
use switchboard_shared::{AgentId, ConversationId, SupportLevel};

const TICKET_COLUMNS: &str = "id, conversation_id, site_id, customer_name, customer_contact, \
    customer_number, channel, subject, description, priority, category, status, assignee_id, \
    support_level, created_at, updated_at, first_response_at, resolved_at, \
    first_response_due_at, resolution_due_at, pending_since, paused_ms, sla_due_at, version";

/// The same columns of a query that calls the tickets table `t`.
pub(super) const TICKET_COLUMNS_T: &str = "t.id, t.conversation_id, t.site_id, \
    t.customer_name, t.customer_contact, t.customer_number, t.channel, t.subject, \
    t.description, t.priority, t.category, t.status, t.assignee_id, t.support_level, \
    t.created_at, t.updated_at, t.first_response_at, t.resolved_at, t.first_response_due_at, \
    t.resolution_due_at, t.pending_since, t.paused_ms, t.sla_due_at, t.version";

fn corrupt(what: &str, value: &str) -> StoreError {
    StoreError::Corrupt(format!("unknown ticket {what} {value:?}"))
}

pub(super) fn ticket(row: &PgRow) -> StoreResult<TicketRecord> {
    let channel: String = row.try_get("channel")?;
    let priority: String = row.try_get("priority")?;
    let status: String = row.try_get("status")?;
    let level: String = row.try_get("support_level")?;
    Ok(TicketRecord {
        id: row.try_get("id")?,
        conversation_id: row
            .try_get::<Option<i64>, _>("conversation_id")?
            .map(ConversationId),
        site_id: row.try_get("site_id")?,
        customer_name: row.try_get("customer_name")?,
        customer_contact: row.try_get("customer_contact")?,
        customer_number: row.try_get("customer_number")?,
        channel: TicketChannel::parse(&channel).ok_or_else(|| corrupt("channel", &channel))?,
        subject: row.try_get("subject")?,
        description: row.try_get("description")?,
        priority: TicketPriority::parse(&priority).ok_or_else(|| corrupt("priority", &priority))?,
        category: row.try_get("category")?,
        status: TicketStatus::parse(&status).ok_or_else(|| corrupt("status", &status))?,
        assignee: row.try_get::<Option<i64>, _>("assignee_id")?.map(AgentId),
        support_level: SupportLevel::parse(&level).ok_or_else(|| corrupt("level", &level))?,
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
        first_response_at: row.try_get("first_response_at")?,
        resolved_at: row.try_get("resolved_at")?,
        first_response_due_at: row.try_get("first_response_due_at")?,
        resolution_due_at: row.try_get("resolution_due_at")?,
        pending_since: row.try_get("pending_since")?,
        paused_ms: row.try_get("paused_ms")?,
        sla_due_at: row.try_get("sla_due_at")?,
        version: row.try_get("version")?,
    })
}

fn event(row: &PgRow) -> StoreResult<TicketEvent> {
    let payload: String = row.try_get("payload")?;
    Ok(TicketEvent {
        id: row.try_get("id")?,
        ticket_id: row.try_get("ticket_id")?,
        at: row.try_get("at")?,
        agent_id: row.try_get::<Option<i64>, _>("agent_id")?.map(AgentId),
        event: serde_json::from_str(&payload)
            .map_err(|e| StoreError::Corrupt(format!("ticket event payload: {e}")))?,
    })
}

async fn insert_event(
    conn: &mut PgConnection,
    ticket_id: i64,
    at: i64,
    by: Option<AgentId>,
    kind: &TicketEventKind,
) -> StoreResult<()> {
    let payload = serde_json::to_string(kind)
        .map_err(|e| StoreError::Corrupt(format!("ticket event payload: {e}")))?;
    sqlx::query(
        "INSERT INTO ticket_events (ticket_id, at, agent_id, kind, payload) \
         VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(ticket_id)
    .bind(at)
    .bind(by.map(|a| a.0))
    .bind(kind.kind())
    .bind(payload)
    .execute(conn)
    .await
    .map_err(|e| constraint(e, || "ticket event".into()))?;
    Ok(())
}

/// Creates the ticket with its `created` entry, or — when the conversation already became a
/// ticket — returns that one unchanged. `true` when this call created it.
pub(super) async fn create(pool: &PgPool, new: NewTicket) -> StoreResult<(TicketRecord, bool)> {
    let mut tx = pool.begin().await?;
    let inserted = sqlx::query(&format!(
        "INSERT INTO tickets (conversation_id, site_id, customer_name, customer_contact, \
         customer_number, channel, subject, description, priority, category, status, \
         assignee_id, support_level, created_at, updated_at, first_response_at, \
         first_response_due_at, resolution_due_at, sla_due_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 'new', $11, $12, $13, $14, $15, $16, \
         $17, $18) \
         ON CONFLICT (conversation_id) DO NOTHING RETURNING {TICKET_COLUMNS}"
    ))
    .bind(new.conversation_id.map(|c| c.0))
    .bind(&new.site_id)
    .bind(&new.customer_name)
    .bind(&new.customer_contact)
    .bind(&new.customer_number)
    .bind(new.channel.as_str())
    .bind(&new.subject)
    .bind(&new.description)
    .bind(new.priority.as_str())
    .bind(&new.category)
    .bind(new.assignee.map(|a| a.0))
    .bind(new.support_level.as_str())
    .bind(new.at)
    .bind(new.at)
    .bind(new.first_response_at)
    .bind(new.first_response_due_at)
    .bind(new.resolution_due_at)
    .bind(new.sla_due_at)
    .fetch_optional(&mut *tx)
    .await
    .map_err(|e| constraint(e, || "ticket".into()))?;
    let Some(row) = inserted else {
        // The conversation's ticket exists: a concurrent creator's INSERT made this one wait
        // until it committed, so the ticket is visible to the next statement.
        tx.rollback().await?;
        let conv = new.conversation_id.ok_or(StoreError::NotFound)?;
        let existing = for_conversation(pool, conv).await?;
        return existing.map(|t| (t, false)).ok_or(StoreError::NotFound);
    };
    let rec = ticket(&row)?;
    let created = TicketEventKind::Created {
        channel: new.channel,
    };
    insert_event(&mut tx, rec.id, new.at, new.by, &created).await?;
    tx.commit().await?;
    Ok((rec, true))
}

pub(super) async fn get(pool: &PgPool, id: i64) -> StoreResult<Option<TicketRecord>> {
    let row = sqlx::query(&format!(
        "SELECT {TICKET_COLUMNS} FROM tickets WHERE id = $1"
    ))
    .bind(id)
    .fetch_optional(pool)
    .await?;
    row.as_ref().map(ticket).transpose()
}

pub(super) async fn for_conversation(
    pool: &PgPool,
    conv: ConversationId,
) -> StoreResult<Option<TicketRecord>> {
    let row = sqlx::query(&format!(
        "SELECT {TICKET_COLUMNS} FROM tickets WHERE conversation_id = $1"
    ))
    .bind(conv.0)
    .fetch_optional(pool)
    .await?;
    row.as_ref().map(ticket).transpose()
}

pub(super) async fn list(pool: &PgPool, f: TicketFilter) -> StoreResult<Vec<TicketRecord>> {
    // Each filter is `($n IS NULL OR column = $n)`, so one statement serves every
    // combination. The casts give each reused parameter one type wherever it appears.
    let rows = sqlx::query(&format!(
        "SELECT {TICKET_COLUMNS} FROM tickets \
         WHERE ($1::text IS NULL OR status = $1::text) \
           AND ($2::text IS NULL OR priority = $2::text) \
           AND ($3::text IS NULL OR category = $3::text) \
           AND ($4::text IS NULL OR support_level = $4::text) \
           AND ($5::bigint IS NULL OR assignee_id = $5::bigint) \
           AND ($8::text IS NULL \
                OR id IN (SELECT ticket_id FROM ticket_tags WHERE tag = $8::text)) \
           AND ($9::text IS NULL OR subject ILIKE $9::text ESCAPE '\\' \
                OR description ILIKE $9::text ESCAPE '\\' \
                OR customer_name ILIKE $9::text ESCAPE '\\' \
                OR customer_contact ILIKE $9::text ESCAPE '\\' \
                OR customer_number ILIKE $9::text ESCAPE '\\') \
           AND ($10::text IS NULL OR ($10::text = 'breached') = ({BREACHED}) \
                AND ($10::text <> 'paused' OR pending_since IS NOT NULL) \
                AND ($10::text <> 'running' OR (pending_since IS NULL \
                     AND status NOT IN ('resolved', 'closed')))) \
           AND ($12::text[] IS NULL OR site_id = ANY($12::text[])) \
         ORDER BY sla_due_at IS NULL, sla_due_at, id LIMIT $6 OFFSET $7"
    ))
    .bind(f.status.map(TicketStatus::as_str))
    .bind(f.priority.map(TicketPriority::as_str))
    .bind(f.category)
    .bind(f.support_level.map(SupportLevel::as_str))
    .bind(f.assignee.map(|a| a.0))
    .bind(i64::from(f.limit))
    .bind(i64::from(f.offset))
    .bind(f.tag)
    .bind(f.search.as_deref().map(like_pattern))
    .bind(f.sla.map(SlaState::as_str))
    .bind(f.now)
    .bind(f.sites)
    .fetch_all(pool)
    .await?;
    rows.iter().map(ticket).collect()
}

/// A target is breached when it was met late, or is unmet and the clock (standing still
/// while pending) is past it: `sla::breached` in the relay, as SQL with `$11` = now.
const BREACHED: &str = "coalesce(first_response_at, pending_since, $11::bigint) \
    > first_response_due_at \
    OR coalesce(resolved_at, pending_since, $11::bigint) > resolution_due_at";

/// `%text%` for ILIKE, with the wildcards in `text` taken literally. ILIKE ignores case
/// beyond ASCII too (by the database's locale), where SQLite's LIKE folds ASCII only.
fn like_pattern(text: &str) -> String {
    let mut p = String::with_capacity(text.len() + 2);
    p.push('%');
    for c in text.chars() {
        if matches!(c, '%' | '_' | '\\') {
            p.push('\\');
        }
        p.push(c);
    }
    p.push('%');
    p
}

/// Writes the change if nobody changed the ticket since it was read (`Conflict` otherwise).
/// A concurrent change of the same row makes the UPDATE wait for its commit and then
/// re-check `version` against the row it committed (READ COMMITTED), so it finds no row.
pub(super) async fn change(pool: &PgPool, c: TicketChange) -> StoreResult<TicketRecord> {
    let mut tx = pool.begin().await?;
    let row = sqlx::query(&format!(
        "UPDATE tickets SET priority = $1, category = $2, status = $3, assignee_id = $4, \
         support_level = $5, first_response_at = $6, resolved_at = $7, \
         first_response_due_at = $8, resolution_due_at = $9, pending_since = $10, \
         paused_ms = $11, sla_due_at = $12, updated_at = $13, version = version + 1 \
         WHERE id = $14 AND version = $15 RETURNING {TICKET_COLUMNS}"
    ))
    .bind(c.priority.as_str())
    .bind(&c.category)
    .bind(c.status.as_str())
    .bind(c.assignee.map(|a| a.0))
    .bind(c.support_level.as_str())
    .bind(c.first_response_at)
    .bind(c.resolved_at)
    .bind(c.first_response_due_at)
    .bind(c.resolution_due_at)
    .bind(c.pending_since)
    .bind(c.paused_ms)
    .bind(c.sla_due_at)
    .bind(c.at)
    .bind(c.ticket_id)
    .bind(c.expected_version)
    .fetch_optional(&mut *tx)
    .await
    .map_err(|e| constraint(e, || "ticket".into()))?;
    let Some(row) = row else {
        tx.rollback().await?;
        return match get(pool, c.ticket_id).await? {
            Some(_) => Err(StoreError::Conflict("the ticket changed meanwhile".into())),
            None => Err(StoreError::NotFound),
        };
    };
    let rec = ticket(&row)?;
    for ev in &c.events {
        insert_event(&mut tx, rec.id, c.at, c.by, ev).await?;
    }
    tx.commit().await?;
    Ok(rec)
}

pub(super) async fn events(pool: &PgPool, id: i64) -> StoreResult<Vec<TicketEvent>> {
    let rows = sqlx::query(
        "SELECT id, ticket_id, at, agent_id, payload FROM ticket_events \
         WHERE ticket_id = $1 ORDER BY id",
    )
    .bind(id)
    .fetch_all(pool)
    .await?;
    rows.iter().map(event).collect()
}

pub(super) async fn categories(pool: &PgPool) -> StoreResult<Vec<String>> {
    let rows =
        sqlx::query("SELECT name FROM ticket_categories ORDER BY position, name COLLATE \"C\"")
            .fetch_all(pool)
            .await?;
    rows.iter()
        .map(|r| r.try_get("name").map_err(StoreError::from))
        .collect()
}

pub(super) async fn site_hours(pool: &PgPool, site: &str) -> StoreResult<Option<SiteHours>> {
    let row = sqlx::query("SELECT timezone, week FROM site_business_hours WHERE site_id = $1")
        .bind(site)
        .fetch_optional(pool)
        .await?;
    let Some(row) = row else { return Ok(None) };
    let week: String = row.try_get("week")?;
    Ok(Some(SiteHours {
        timezone: row.try_get("timezone")?,
        week: serde_json::from_str(&week)
            .map_err(|e| StoreError::Corrupt(format!("business hours: {e}")))?,
    }))
}

pub(super) async fn set_site_hours(
    pool: &PgPool,
    site: &str,
    hours: &SiteHours,
) -> StoreResult<()> {
    let week = serde_json::to_string(&hours.week)
        .map_err(|e| StoreError::Corrupt(format!("business hours: {e}")))?;
    sqlx::query(
        "INSERT INTO site_business_hours (site_id, timezone, week) VALUES ($1, $2, $3) \
         ON CONFLICT (site_id) DO UPDATE SET timezone = excluded.timezone, week = excluded.week",
    )
    .bind(site)
    .bind(&hours.timezone)
    .bind(week)
    .execute(pool)
    .await
    .map_err(|e| constraint(e, || "business hours".into()))?;
    Ok(())
}
