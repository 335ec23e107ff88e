//! The writer's statements, on its own rusqlite connection. Each is prepared once and
//! cached by the connection; statement texts are fixed (optional values are bound as a
//! "change it" flag and a value) so the cache always hits.

use super::tails::Tails;
use super::{Outcome, Receipt};
use crate::sqlite::rows::{
    self, encode_event, event_side, seq_from_db, seq_to_db, side_str, status_str,
    CONVERSATION_COLUMNS,
};
use crate::sqlite::BUSY_TIMEOUT;
use crate::{
    AppendRequest, ConversationRecord, ConversationUpdate, NewConversation, StoreError,
    StoreResult, StoredEvent, VisitorId, VisitorRecord,
};
use rusqlite::{ffi, params, Connection, OptionalExtension};
use std::path::Path;
use switchboard_shared::{ConversationId, ConversationStatus, Side};

/// Opens a connection (the writer's, the checkpointer's) to a file the pools have created,
/// switched to WAL and migrated. Same durability settings as theirs: `synchronous=FULL`,
/// foreign keys on.
pub(crate) fn open(path: &Path) -> StoreResult<Connection> {
    let conn = Connection::open(path)?;
    conn.busy_timeout(BUSY_TIMEOUT)?;
    conn.pragma_update(None, "synchronous", "FULL")?;
    conn.pragma_update(None, "foreign_keys", true)?;
    // Enough for every statement here, so none is ever re-prepared.
    conn.set_prepared_statement_cache_capacity(32);
    Ok(conn)
}

/// A unique or foreign-key violation is the caller's mistake, not the database's.
fn constraint(e: rusqlite::Error, what: impl FnOnce() -> String) -> StoreError {
    if let rusqlite::Error::SqliteFailure(f, _) = &e {
        match f.extended_code {
            ffi::SQLITE_CONSTRAINT_UNIQUE | ffi::SQLITE_CONSTRAINT_PRIMARYKEY => {
                return StoreError::Conflict(what())
            }
            ffi::SQLITE_CONSTRAINT_FOREIGNKEY => return StoreError::NotFound,
            _ => {}
        }
    }
    StoreError::Write(Box::new(e))
}

/// `Ok` when the request is finished: written, or refused before it wrote anything.
/// `Err` when a statement failed and the transaction can no longer be trusted.
///
/// A plain message is one `INSERT`: the next seq and the duplicate check come from the
/// writer's memory of the conversation ([`Tails`]); the conversation row is written only
/// when the event changes its state.
pub(super) fn append(
    conn: &Connection,
    tails: &mut Tails,
    req: &AppendRequest,
) -> StoreResult<Outcome> {
    let conversation = req.conversation_id.0;
    let (kind, payload) = match encode_event(&req.event) {
        Ok(encoded) => encoded,
        Err(e) => return Ok(Outcome::Failed(e)),
    };
    let Some(tail) = tails.get(conn, conversation)? else {
        return Ok(Outcome::Failed(StoreError::NotFound));
    };
    if let Some((side, client_id)) = &req.dedup {
        if tail.may_hold(*side, client_id) {
            // Also finds an event appended earlier in this same batch: it is in the
            // transaction. Rare (a resend), so a scan of the conversation's events is fine.
            let earlier: Option<i64> = conn
                .prepare_cached(
                    "SELECT seq FROM events \
                     WHERE conversation_id = ? AND side = ? AND client_id = ?",
                )?
                .query_row(
                    params![conversation, side_str(*side), client_id.as_str()],
                    |r| r.get(0),
                )
                .optional()?;
            if let Some(seq) = earlier {
                return Ok(Outcome::Duplicate(seq_from_db(seq)?));
            }
        }
    }
    let seq = tail.last_seq + 1;
    // Recorded before the insert: if anything below fails, the batch rolls back and the
    // writer forgets this tail (`Tails::rollback`).
    tail.record(seq, req.dedup.as_ref().map(|(side, id)| (*side, id)));
    if req.update != ConversationUpdate::default() {
        update_conversation(conn, req.conversation_id, &req.update)?;
    }
    let side = req
        .dedup
        .as_ref()
        .map(|(side, _)| *side)
        .or_else(|| event_side(&req.event));
    conn.prepare_cached(
        "INSERT INTO events (conversation_id, seq, at, kind, side, client_id, payload) \
         VALUES (?, ?, ?, ?, ?, ?, ?)",
    )?
    .execute(params![
        conversation,
        seq,
        req.at,
        kind,
        side.map(side_str),
        req.dedup.as_ref().map(|(_, id)| id.as_str()),
        payload,
    ])?;
    // The event's log position (see migration 0014).
    let pos = conn.last_insert_rowid();

    Ok(Outcome::New(
        StoredEvent {
            conversation_id: req.conversation_id,
            seq: seq_from_db(seq)?,
            at: req.at,
            event: req.event.clone(),
        },
        pos,
        payload,
    ))
}

/// A stream reader's cursor: raised, never lowered.
pub(super) fn save_cursor(
    conn: &Connection,
    reader: &str,
    pos: i64,
    now: i64,
) -> StoreResult<Outcome> {
    conn.prepare_cached(
        "INSERT INTO stream_cursors (reader, pos, updated_at) VALUES (?1, ?2, ?3) \
         ON CONFLICT (reader) DO UPDATE SET pos = MAX(pos, excluded.pos), updated_at = ?3",
    )?
    .execute(params![reader, pos, now])?;
    Ok(Outcome::Done)
}

/// Applies the state change an event describes, in the event's transaction. Each nullable
/// column gets a "change it" flag and a value, so the statement text is fixed.
fn update_conversation(
    conn: &Connection,
    id: ConversationId,
    u: &ConversationUpdate,
) -> StoreResult<()> {
    conn.prepare_cached(
        "UPDATE conversations SET \
            status      = CASE WHEN ?2  THEN ?3  ELSE status      END, \
            agent_id    = CASE WHEN ?4  THEN ?5  ELSE agent_id    END, \
            queue_rank  = CASE WHEN ?6  THEN ?7  ELSE queue_rank  END, \
            queued_at   = CASE WHEN ?8  THEN ?9  ELSE queued_at   END, \
            assigned_at = CASE WHEN ?10 THEN ?11 ELSE assigned_at END, \
            ended_at    = CASE WHEN ?12 THEN ?13 ELSE ended_at    END \
         WHERE id = ?1",
    )?
    .execute(params![
        id.0,
        u.status.is_some(),
        u.status.map(status_str),
        u.agent_id.is_some(),
        u.agent_id.flatten().map(|a| a.0),
        u.queue_rank.is_some(),
        u.queue_rank.flatten(),
        u.queued_at.is_some(),
        u.queued_at.flatten(),
        u.assigned_at.is_some(),
        u.assigned_at.flatten(),
        u.ended_at.is_some(),
        u.ended_at.flatten(),
    ])?;
    Ok(())
}

/// Raises one side's receipts, never lowers them, and never past the last event: a client
/// claiming to have read seq 10^9 must not poison the row forever.
pub(super) fn record_receipt(
    conn: &Connection,
    tails: &mut Tails,
    r: &Receipt,
) -> StoreResult<Outcome> {
    let Some(tail) = tails.get(conn, r.conversation_id.0)? else {
        return Ok(Outcome::Failed(StoreError::NotFound));
    };
    let last = tail.last_seq;
    let sql = match r.side {
        Side::Visitor => {
            "UPDATE conversations SET \
                visitor_delivered = MAX(visitor_delivered, ?2), \
                visitor_read      = MAX(visitor_read,      ?3) \
             WHERE id = ?1"
        }
        Side::Agent => {
            "UPDATE conversations SET \
                agent_delivered = MAX(agent_delivered, ?2), \
                agent_read      = MAX(agent_read,      ?3) \
             WHERE id = ?1"
        }
    };
    conn.prepare_cached(sql)?.execute(params![
        r.conversation_id.0,
        seq_to_db(r.delivered).min(last),
        seq_to_db(r.read).min(last),
    ])?;
    Ok(Outcome::Done)
}

pub(super) fn create_visitor(
    conn: &Connection,
    site_id: &str,
    token_hash: &[u8; 32],
    now: i64,
) -> StoreResult<VisitorRecord> {
    conn.prepare_cached(
        "INSERT INTO visitors (site_id, token_hash, created_at, last_seen_at) \
         VALUES (?, ?, ?, ?) RETURNING id, site_id, created_at, last_seen_at",
    )?
    .query_row(params![site_id, &token_hash[..], now, now], |r| {
        Ok(VisitorRecord {
            id: VisitorId(r.get(0)?),
            site_id: r.get(1)?,
            created_at: r.get(2)?,
            last_seen_at: r.get(3)?,
        })
    })
    .map_err(|e| constraint(e, || "visitor token".into()))
}

/// Moves `last_seen_at` forward only (clocks of concurrent calls may disagree). An unknown
/// visitor is refused before anything is written, so the batch carries on.
pub(super) fn touch_visitor(conn: &Connection, id: VisitorId, now: i64) -> StoreResult<Outcome> {
    let changed = conn
        .prepare_cached("UPDATE visitors SET last_seen_at = MAX(last_seen_at, ?) WHERE id = ?")?
        .execute(params![now, id.0])?;
    Ok(if changed == 0 {
        Outcome::Failed(StoreError::NotFound)
    } else {
        Outcome::Done
    })
}

/// A new conversation has no events yet (its `last_seq` is 0). A queued one starts waiting now.
/// An unknown site or visitor is `NotFound`.
pub(super) fn create_conversation(
    conn: &Connection,
    new: &NewConversation,
) -> StoreResult<ConversationRecord> {
    let queued_at = (new.status == ConversationStatus::Queued).then_some(new.at);
    let mut stmt = conn.prepare_cached(&format!(
        "INSERT INTO conversations (site_id, visitor_id, status, \
            visitor_name, visitor_email, visitor_customer_number, visitor_page_url, \
            visitor_locale, visitor_browser, queue_rank, created_at, queued_at) \
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING {CONVERSATION_COLUMNS}"
    ))?;
    stmt.query_row(
        params![
            new.site_id,
            new.visitor_id.0,
            status_str(new.status),
            new.info.name,
            new.info.email,
            new.info.customer_number,
            new.info.page_url,
            new.info.locale,
            new.info.browser,
            new.queue_rank,
            new.at,
            queued_at,
        ],
        |r| Ok(rows::conversation(r)),
    )
    .map_err(|e| constraint(e, || "conversation".into()))?
}
