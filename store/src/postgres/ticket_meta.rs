//! What surrounds a ticket besides its row and history: the customer's rating (CSAT),
//! tags, the category → level/strategy assignment rules and the choice of an assignee, and
//! the tickets of one visitor (what the widget shows them).

use super::constraint;
use super::tickets::{ticket, TICKET_COLUMNS_T};
use crate::tickets::{
    AssignmentRule, AssignmentStrategy, SlaPolicyRecord, TicketPriority, TicketRating, TicketRecord,
};
use crate::VisitorId;
use crate::{StoreError, StoreResult};
use sqlx::{PgPool, Row};
use switchboard_shared::{AgentId, SupportLevel};

/// Stores the rating once; a second one is a `Conflict`.
pub(super) async fn rate(pool: &PgPool, r: &TicketRating) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO ticket_ratings (ticket_id, agent_id, score, comment, rated_at) \
         VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(r.ticket_id)
    .bind(r.agent_id.map(|a| a.0))
    .bind(i64::from(r.score))
    .bind(&r.comment)
    .bind(r.rated_at)
    .execute(pool)
    .await
    .map_err(|e| constraint(e, || "the ticket is already rated".into()))?;
    Ok(())
}

pub(super) async fn rating(pool: &PgPool, ticket_id: i64) -> StoreResult<Option<TicketRating>> {
    let row = sqlx::query(
        "SELECT ticket_id, agent_id, score, comment, rated_at FROM ticket_ratings \
         WHERE ticket_id = $1",
    )
    .bind(ticket_id)
    .fetch_optional(pool)
    .await?;
    let Some(row) = row else { return Ok(None) };
    let score: i64 = row.try_get("score")?;
    Ok(Some(TicketRating {
        ticket_id: row.try_get("ticket_id")?,
        agent_id: row.try_get::<Option<i64>, _>("agent_id")?.map(AgentId),
        score: u8::try_from(score)
            .map_err(|_| StoreError::Corrupt(format!("rating score {score}")))?,
        comment: row.try_get("comment")?,
        rated_at: row.try_get("rated_at")?,
    }))
}

/// Replaces the ticket's tags (already normalised by the caller).
pub(super) async fn set_tags(pool: &PgPool, ticket_id: i64, tags: &[String]) -> StoreResult<()> {
    let mut tx = pool.begin().await?;
    // Two replacements of one ticket's tags take turns on its row: otherwise the second
    // one's DELETE, not seeing the first one's uncommitted tags, would leave the union of
    // both lists. (The SQLite store's single writer serialises them.)
    sqlx::query("SELECT 1 FROM tickets WHERE id = $1 FOR NO KEY UPDATE")
        .bind(ticket_id)
        .fetch_optional(&mut *tx)
        .await?;
    sqlx::query("DELETE FROM ticket_tags WHERE ticket_id = $1")
        .bind(ticket_id)
        .execute(&mut *tx)
        .await?;
    sqlx::query(
        "INSERT INTO ticket_tags (ticket_id, tag) SELECT $1, unnest($2::text[]) \
         ON CONFLICT DO NOTHING",
    )
    .bind(ticket_id)
    .bind(tags)
    .execute(&mut *tx)
    .await
    .map_err(|e| constraint(e, || "tag".into()))?;
    tx.commit().await?;
    Ok(())
}

pub(super) async fn tags(pool: &PgPool, ticket_id: i64) -> StoreResult<Vec<String>> {
    let rows =
        sqlx::query("SELECT tag FROM ticket_tags WHERE ticket_id = $1 ORDER BY tag COLLATE \"C\"")
            .bind(ticket_id)
            .fetch_all(pool)
            .await?;
    rows.iter()
        .map(|r| r.try_get("tag").map_err(StoreError::from))
        .collect()
}

pub(super) async fn rules(pool: &PgPool) -> StoreResult<Vec<AssignmentRule>> {
    let rows = sqlx::query(
        "SELECT r.category, r.support_level, r.strategy FROM assignment_rules r \
         JOIN ticket_categories c ON c.name = r.category \
         ORDER BY c.position, c.name COLLATE \"C\"",
    )
    .fetch_all(pool)
    .await?;
    rows.iter()
        .map(|r| {
            let level: String = r.try_get("support_level")?;
            let strategy: String = r.try_get("strategy")?;
            Ok(AssignmentRule {
                category: r.try_get("category")?,
                support_level: SupportLevel::parse(&level)
                    .ok_or_else(|| StoreError::Corrupt(format!("rule level {level:?}")))?,
                strategy: AssignmentStrategy::parse(&strategy)
                    .ok_or_else(|| StoreError::Corrupt(format!("rule strategy {strategy:?}")))?,
            })
        })
        .collect()
}

/// Inserts or replaces the rule of its category (`NotFound` for an unknown category).
pub(super) async fn set_rule(pool: &PgPool, rule: &AssignmentRule) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO assignment_rules (category, support_level, strategy) VALUES ($1, $2, $3) \
         ON CONFLICT (category) DO UPDATE SET support_level = excluded.support_level, \
         strategy = excluded.strategy",
    )
    .bind(&rule.category)
    .bind(rule.support_level.as_str())
    .bind(rule.strategy.as_str())
    .execute(pool)
    .await
    .map_err(|e| constraint(e, || "assignment rule".into()))?;
    Ok(())
}

/// The enabled agent of `level` that `strategy` picks, or `None` (manual, or nobody at
/// that level). Round robin: the agent whose last ticket assignment is oldest (never
/// assigned first; assignments are the history's `assigned` entries). Least loaded: fewest
/// tickets not yet resolved or closed. Ties by id.
///
/// Only a read, as in the SQLite store: the relay assigns with a later `change_ticket`, so
/// two tickets picked at the same moment (on one relay or several) can go to one agent.
pub(super) async fn pick_assignee(
    pool: &PgPool,
    level: SupportLevel,
    strategy: AssignmentStrategy,
    site: &str,
) -> StoreResult<Option<AgentId>> {
    let order = match strategy {
        AssignmentStrategy::Manual => return Ok(None),
        // History ids are monotonic, so the newest `assigned` entry naming the agent is
        // their last assignment; NULL (never assigned) sorts first (PostgreSQL sorts NULL
        // last unless told). `to` is compared as text: a cast to bigint could be tried on
        // another kind's `to` (a status) before the `kind` test rules the row out.
        AssignmentStrategy::RoundRobin => {
            "(SELECT max(e.id) FROM ticket_events e WHERE e.kind = 'assigned' \
               AND e.payload::json ->> 'to' = a.id::text) NULLS FIRST, a.id"
        }
        AssignmentStrategy::LeastLoaded => {
            "(SELECT count(*) FROM tickets t WHERE t.assignee_id = a.id \
               AND t.status NOT IN ('resolved', 'closed')), a.id"
        }
    };
    let row = sqlx::query(&format!(
        "SELECT a.id FROM agents a WHERE NOT a.disabled AND a.support_level = $1 \
           AND (a.role = 'admin' \
                OR NOT EXISTS (SELECT 1 FROM agent_sites s WHERE s.agent_id = a.id) \
                OR EXISTS (SELECT 1 FROM agent_sites s \
                           WHERE s.agent_id = a.id AND s.site_id = $2)) \
         ORDER BY {order} LIMIT 1"
    ))
    .bind(level.as_str())
    .bind(site)
    .fetch_optional(pool)
    .await?;
    row.map(|r| r.try_get::<i64, _>("id").map(AgentId))
        .transpose()
        .map_err(StoreError::from)
}

/// The visitor's tickets, newest first (through the conversations they came from).
pub(super) async fn of_visitor(
    pool: &PgPool,
    visitor: VisitorId,
    limit: u32,
) -> StoreResult<Vec<TicketRecord>> {
    let rows = sqlx::query(&format!(
        "SELECT {TICKET_COLUMNS_T} FROM tickets t JOIN conversations c \
         ON c.id = t.conversation_id WHERE c.visitor_id = $1 ORDER BY t.id DESC LIMIT $2"
    ))
    .bind(visitor.0)
    .bind(i64::from(limit))
    .fetch_all(pool)
    .await?;
    rows.iter().map(ticket).collect()
}

pub(super) async fn sla_policies(pool: &PgPool) -> StoreResult<Vec<SlaPolicyRecord>> {
    let rows = sqlx::query(
        "SELECT priority, first_response_minutes, resolution_minutes FROM sla_policies \
         ORDER BY priority COLLATE \"C\"",
    )
    .fetch_all(pool)
    .await?;
    rows.iter()
        .map(|r| {
            let priority: String = r.try_get("priority")?;
            let minutes = |col: &str| -> StoreResult<u32> {
                let v: i64 = r.try_get(col)?;
                u32::try_from(v).map_err(|_| StoreError::Corrupt(format!("{col} {v}")))
            };
            Ok(SlaPolicyRecord {
                priority: TicketPriority::parse(&priority)
                    .ok_or_else(|| StoreError::Corrupt(format!("policy priority {priority:?}")))?,
                first_response_minutes: minutes("first_response_minutes")?,
                resolution_minutes: minutes("resolution_minutes")?,
            })
        })
        .collect()
}

pub(super) async fn set_sla_policy(pool: &PgPool, p: &SlaPolicyRecord) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO sla_policies (priority, first_response_minutes, resolution_minutes) \
         VALUES ($1, $2, $3) ON CONFLICT (priority) DO UPDATE SET \
         first_response_minutes = excluded.first_response_minutes, \
         resolution_minutes = excluded.resolution_minutes",
    )
    .bind(p.priority.as_str())
    .bind(i64::from(p.first_response_minutes))
    .bind(i64::from(p.resolution_minutes))
    .execute(pool)
    .await
    .map_err(|e| constraint(e, || "SLA policy".into()))?;
    Ok(())
}
