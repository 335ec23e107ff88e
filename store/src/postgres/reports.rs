//! Report facts (see [`crate::reports`]): one aggregate query for chats, one for tickets,
//! on the pool. Each walks the items created in the range once, reading their events
//! through the primary key (`events (conversation_id, seq)`, `ticket_events_by_ticket`).

use crate::reports::{ChatFact, ReportRange, TicketFact};
use crate::tickets::{TicketChannel, TicketPriority, TicketStatus};
use crate::{StoreError, StoreResult};
use sqlx::postgres::PgRow;
use sqlx::{PgPool, Row};
use switchboard_shared::{AgentId, ConversationId, SupportLevel};

fn corrupt(what: &str, value: &str) -> StoreError {
    StoreError::Corrupt(format!("unknown {what} {value:?} in a report row"))
}

fn count(row: &PgRow, column: &str) -> StoreResult<u32> {
    let n: i64 = row.try_get(column)?;
    u32::try_from(n).map_err(|_| StoreError::Corrupt(format!("{column} = {n}")))
}

/// A stored score outside 1–5 is corrupt data, not a rating.
fn score(row: &PgRow, column: &str) -> StoreResult<Option<u8>> {
    let s: Option<i64> = row.try_get(column)?;
    s.map(|s| {
        u8::try_from(s)
            .ok()
            .filter(|s| (1..=5).contains(s))
            .ok_or_else(|| StoreError::Corrupt(format!("{column} = {s}")))
    })
    .transpose()
}

/// Conversations with a `started` event (the visitor asked for a live chat), one row each.
pub(super) async fn chats(pool: &PgPool, range: &ReportRange) -> StoreResult<Vec<ChatFact>> {
    let rows = sqlx::query(
        "SELECT c.id, c.site_id, c.agent_id, c.created_at, c.assigned_at, c.ended_at, \
           MIN(CASE WHEN e.kind = 'agent_joined' THEN e.at END) AS first_joined_at, \
           MIN(CASE WHEN e.kind = 'message' AND e.side = 'agent' THEN e.at END) \
             AS first_agent_message_at, \
           COUNT(*) FILTER (WHERE e.kind = 'transferred') AS transfers, \
           COUNT(*) FILTER (WHERE e.kind = 'requeued') AS requeues, \
           MIN(CASE WHEN e.kind = 'rated' THEN (e.payload::json ->> 'score')::bigint END) \
             AS rating, \
           EXISTS (SELECT 1 FROM tickets t WHERE t.conversation_id = c.id) AS became_ticket \
         FROM conversations c JOIN events e ON e.conversation_id = c.id \
         WHERE c.created_at >= $1 AND c.created_at < $2 \
           AND ($3::text IS NULL OR c.site_id = $3::text) \
         GROUP BY c.id HAVING COUNT(*) FILTER (WHERE e.kind = 'started') > 0 ORDER BY c.id",
    )
    .bind(range.from)
    .bind(range.to)
    .bind(range.site.as_deref())
    .fetch_all(pool)
    .await?;
    rows.iter()
        .map(|row| {
            Ok(ChatFact {
                conversation_id: ConversationId(row.try_get("id")?),
                site_id: row.try_get("site_id")?,
                agent: row.try_get::<Option<i64>, _>("agent_id")?.map(AgentId),
                created_at: row.try_get("created_at")?,
                first_joined_at: row.try_get("first_joined_at")?,
                assigned_at: row.try_get("assigned_at")?,
                first_agent_message_at: row.try_get("first_agent_message_at")?,
                ended_at: row.try_get("ended_at")?,
                transfers: count(row, "transfers")?,
                requeues: count(row, "requeues")?,
                became_ticket: row.try_get("became_ticket")?,
                rating: score(row, "rating")?,
            })
        })
        .collect()
}

/// Every ticket created in the range, with counts from its history and its rating.
pub(super) async fn tickets(pool: &PgPool, range: &ReportRange) -> StoreResult<Vec<TicketFact>> {
    // A reopen is a status change out of `resolved`/`closed` to a working status
    // (`resolved` → `closed` is not one).
    let rows = sqlx::query(
        "SELECT t.id, t.site_id, t.channel, t.priority, t.category, t.support_level, t.status, \
           t.assignee_id, t.created_at, t.first_response_at, t.resolved_at, \
           t.first_response_due_at, t.resolution_due_at, t.pending_since, \
           (SELECT COUNT(*) FROM ticket_events v WHERE v.ticket_id = t.id AND v.kind = 'reply') \
             AS replies, \
           (SELECT COUNT(*) FROM ticket_events v \
             WHERE v.ticket_id = t.id AND v.kind = 'escalated') AS escalations, \
           EXISTS (SELECT 1 FROM ticket_events v \
             WHERE v.ticket_id = t.id AND v.kind = 'status_changed' \
               AND v.payload::json ->> 'from' IN ('resolved', 'closed') \
               AND v.payload::json ->> 'to' NOT IN ('resolved', 'closed')) AS reopened, \
           r.score AS rating, \
           CASE WHEN r.ticket_id IS NULL THEN NULL ELSE COALESCE(r.agent_id, t.assignee_id) END \
             AS rating_agent \
         FROM tickets t LEFT JOIN ticket_ratings r ON r.ticket_id = t.id \
         WHERE t.created_at >= $1 AND t.created_at < $2 \
           AND ($3::text IS NULL OR t.site_id = $3::text) \
         ORDER BY t.id",
    )
    .bind(range.from)
    .bind(range.to)
    .bind(range.site.as_deref())
    .fetch_all(pool)
    .await?;
    rows.iter().map(ticket).collect()
}

fn ticket(row: &PgRow) -> StoreResult<TicketFact> {
    let channel: String = row.try_get("channel")?;
    let priority: String = row.try_get("priority")?;
    let status: String = row.try_get("status")?;
    let level: String = row.try_get("support_level")?;
    Ok(TicketFact {
        id: row.try_get("id")?,
        site_id: row.try_get("site_id")?,
        channel: TicketChannel::parse(&channel).ok_or_else(|| corrupt("channel", &channel))?,
        priority: TicketPriority::parse(&priority).ok_or_else(|| corrupt("priority", &priority))?,
        category: row.try_get("category")?,
        support_level: SupportLevel::parse(&level).ok_or_else(|| corrupt("level", &level))?,
        status: TicketStatus::parse(&status).ok_or_else(|| corrupt("status", &status))?,
        assignee: row.try_get::<Option<i64>, _>("assignee_id")?.map(AgentId),
        created_at: row.try_get("created_at")?,
        first_response_at: row.try_get("first_response_at")?,
        resolved_at: row.try_get("resolved_at")?,
        first_response_due_at: row.try_get("first_response_due_at")?,
        resolution_due_at: row.try_get("resolution_due_at")?,
        pending_since: row.try_get("pending_since")?,
        replies: count(row, "replies")?,
        escalations: count(row, "escalations")?,
        reopened: row.try_get("reopened")?,
        rating: score(row, "rating")?,
        rating_agent: row.try_get::<Option<i64>, _>("rating_agent")?.map(AgentId),
    })
}
