//! Row mapping: SQL rows to records. The text forms of enums and sequence numbers are the
//! backend-neutral [`crate::codec`]. Anything that can only go wrong because the database
//! holds unexpected data becomes [`StoreError::Corrupt`], never a panic.

pub(crate) use crate::codec::{parse_role, parse_status, seq_from_db, seq_to_db};
use crate::{
    AgentRecord, ConversationRecord, StoreError, StoreResult, StoredEvent, VisitorId, VisitorRecord,
};
use sqlx::postgres::PgRow;
use sqlx::Row;
use switchboard_shared::{AgentId, ConversationId, EventKind, Seq, SupportLevel, VisitorInfo};

/// Columns of `agents`, in the order [`agent`] reads them.
pub(crate) const AGENT_COLUMNS: &str =
    "id, email, display_name, password_hash, role, max_concurrent_chats, support_level, \
     disabled, created_at";

/// Columns of `visitors`, in the order [`visitor`] reads them.
pub(crate) const VISITOR_COLUMNS: &str = "id, site_id, created_at, last_seen_at";

/// Columns of `conversations`, in the order [`conversation`] reads them. `last_seq` is a
/// column of the row here: the event log's writer raises it in the transaction that
/// appends, under the row's lock.
pub(crate) const CONVERSATION_COLUMNS: &str = "id, site_id, visitor_id, status, agent_id, \
    visitor_name, visitor_email, visitor_customer_number, visitor_page_url, visitor_locale, \
    visitor_browser, last_seq, queue_rank, created_at, queued_at, assigned_at, ended_at, \
    visitor_delivered, visitor_read, agent_delivered, agent_read";

pub(crate) fn agent(row: &PgRow) -> StoreResult<AgentRecord> {
    let max: i64 = row.try_get("max_concurrent_chats")?;
    Ok(AgentRecord {
        id: AgentId(row.try_get("id")?),
        email: row.try_get("email")?,
        display_name: row.try_get("display_name")?,
        password_hash: row.try_get("password_hash")?,
        role: parse_role(row.try_get("role")?)?,
        max_concurrent_chats: u32::try_from(max)
            .map_err(|_| StoreError::Corrupt(format!("max_concurrent_chats {max} out of range")))?,
        support_level: {
            let level: String = row.try_get("support_level")?;
            SupportLevel::parse(&level)
                .ok_or_else(|| StoreError::Corrupt(format!("unknown support level {level:?}")))?
        },
        disabled: row.try_get("disabled")?,
        created_at: row.try_get("created_at")?,
    })
}

pub(crate) fn visitor(row: &PgRow) -> StoreResult<VisitorRecord> {
    Ok(VisitorRecord {
        id: VisitorId(row.try_get("id")?),
        site_id: row.try_get("site_id")?,
        created_at: row.try_get("created_at")?,
        last_seen_at: row.try_get("last_seen_at")?,
    })
}

/// Reads the columns of [`CONVERSATION_COLUMNS`].
pub(crate) fn conversation(row: &PgRow) -> StoreResult<ConversationRecord> {
    let seq = |col: &str| -> StoreResult<Seq> { seq_from_db(row.try_get(col)?) };
    let status: &str = row.try_get("status")?;
    Ok(ConversationRecord {
        id: ConversationId(row.try_get("id")?),
        site_id: row.try_get("site_id")?,
        visitor_id: VisitorId(row.try_get("visitor_id")?),
        status: parse_status(status)?,
        agent_id: row.try_get::<Option<i64>, _>("agent_id")?.map(AgentId),
        info: VisitorInfo {
            name: row.try_get("visitor_name")?,
            email: row.try_get("visitor_email")?,
            customer_number: row.try_get("visitor_customer_number")?,
            page_url: row.try_get("visitor_page_url")?,
            locale: row.try_get("visitor_locale")?,
            browser: row.try_get("visitor_browser")?,
        },
        last_seq: seq("last_seq")?,
        queue_rank: row.try_get("queue_rank")?,
        created_at: row.try_get("created_at")?,
        queued_at: row.try_get("queued_at")?,
        assigned_at: row.try_get("assigned_at")?,
        ended_at: row.try_get("ended_at")?,
        visitor_delivered: seq("visitor_delivered")?,
        visitor_read: seq("visitor_read")?,
        agent_delivered: seq("agent_delivered")?,
        agent_read: seq("agent_read")?,
    })
}

/// Reads `conversation_id, seq, at, payload`.
pub(crate) fn event(row: &PgRow) -> StoreResult<StoredEvent> {
    let payload: &str = row.try_get("payload")?;
    let event: EventKind = serde_json::from_str(payload)
        .map_err(|e| StoreError::Corrupt(format!("event payload: {e}")))?;
    Ok(StoredEvent {
        conversation_id: ConversationId(row.try_get("conversation_id")?),
        seq: seq_from_db(row.try_get("seq")?)?,
        at: row.try_get("at")?,
        event,
    })
}
