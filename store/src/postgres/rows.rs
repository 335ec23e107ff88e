//! Row mapping: SQL rows to records, and the text forms of enums and sequence numbers.
//! Anything that can only go wrong because the file holds unexpected data becomes
//! [`StoreError::Corrupt`], never a panic.

pub(crate) use crate::codec::{
    encode_event, event_side, parse_role, parse_status, seq_from_db, seq_to_db, side_str,
    status_str,
};
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

/// Columns of `conversations`, in the order [`conversation`] reads them. `last_seq` is the
/// last entry of the events' primary key (one index seek): the writer keeps it out of the
/// row so a plain message does not rewrite the conversation (migration 0011).
pub(crate) const CONVERSATION_COLUMNS: &str = "id, site_id, visitor_id, status, agent_id, \
    visitor_name, visitor_email, visitor_customer_number, visitor_page_url, visitor_locale, \
    visitor_browser, \
    (SELECT COALESCE(MAX(seq), 0) FROM events \
        WHERE events.conversation_id = conversations.id) AS last_seq, \
    queue_rank, created_at, queued_at, assigned_at, ended_at, \
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

/// A row's columns by name: sqlx's rows (the pools) and rusqlite's (the writer) both implement
/// it, so one mapping serves both.
pub(crate) trait Columns {
    fn int(&self, col: &str) -> StoreResult<i64>;
    fn opt_int(&self, col: &str) -> StoreResult<Option<i64>>;
    fn text(&self, col: &str) -> StoreResult<String>;
    fn opt_text(&self, col: &str) -> StoreResult<Option<String>>;
}

impl Columns for PgRow {
    fn int(&self, col: &str) -> StoreResult<i64> {
        Ok(self.try_get(col)?)
    }
    fn opt_int(&self, col: &str) -> StoreResult<Option<i64>> {
        Ok(self.try_get(col)?)
    }
    fn text(&self, col: &str) -> StoreResult<String> {
        Ok(self.try_get(col)?)
    }
    fn opt_text(&self, col: &str) -> StoreResult<Option<String>> {
        Ok(self.try_get(col)?)
    }
}

impl Columns for rusqlite::Row<'_> {
    fn int(&self, col: &str) -> StoreResult<i64> {
        Ok(self.get(col)?)
    }
    fn opt_int(&self, col: &str) -> StoreResult<Option<i64>> {
        Ok(self.get(col)?)
    }
    fn text(&self, col: &str) -> StoreResult<String> {
        Ok(self.get(col)?)
    }
    fn opt_text(&self, col: &str) -> StoreResult<Option<String>> {
        Ok(self.get(col)?)
    }
}

/// Reads the columns of [`CONVERSATION_COLUMNS`].
pub(crate) fn conversation(row: &impl Columns) -> StoreResult<ConversationRecord> {
    let seq = |col: &str| -> StoreResult<Seq> { seq_from_db(row.int(col)?) };
    Ok(ConversationRecord {
        id: ConversationId(row.int("id")?),
        site_id: row.text("site_id")?,
        visitor_id: VisitorId(row.int("visitor_id")?),
        status: parse_status(&row.text("status")?)?,
        agent_id: row.opt_int("agent_id")?.map(AgentId),
        info: VisitorInfo {
            name: row.opt_text("visitor_name")?,
            email: row.opt_text("visitor_email")?,
            customer_number: row.opt_text("visitor_customer_number")?,
            page_url: row.opt_text("visitor_page_url")?,
            locale: row.opt_text("visitor_locale")?,
            browser: row.opt_text("visitor_browser")?,
        },
        last_seq: seq("last_seq")?,
        queue_rank: row.opt_int("queue_rank")?,
        created_at: row.int("created_at")?,
        queued_at: row.opt_int("queued_at")?,
        assigned_at: row.opt_int("assigned_at")?,
        ended_at: row.opt_int("ended_at")?,
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
