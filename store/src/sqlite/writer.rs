//! The group-commit writer: one task, one dedicated connection, one transaction per batch.
//!
//! `fsync` dominates the cost of a durable write (`synchronous=FULL`), so every append and
//! receipt waiting in the channel when the writer comes round is committed together: one
//! `fsync` acknowledges up to [`MAX_BATCH`] requests. The order of work for a batch is fixed,
//! because the fan-out and the clients depend on it:
//!
//! 1. `BEGIN IMMEDIATE`, then each request in turn. A request that is refused for a reason
//!    known before it writes anything (duplicate, unknown conversation) just records its
//!    answer; the transaction carries on.
//! 2. `COMMIT`: if it fails, *every* request of the batch gets an error, because nothing
//!    that is not durable may be acknowledged.
//! 3. The [`CommitListener`] sees all new events of the batch, once, in append order
//!    (so in sequence order per conversation).
//! 4. Only then does each caller get its answer.
//!
//! If a statement fails in step 1 (a constraint, disk full, an I/O error), that request may
//! have written half of itself, and SQLite may even have rolled back the whole transaction.
//! So the batch is rolled back and run again one request per transaction: the bad request
//! fails alone and the others commit. This keeps the common path at 2-3 statements per
//! request (no `SAVEPOINT`/`RELEASE` pair), which is where the writer spends its time.
//!
//! Visitors and conversations are created here too (not on a second write connection):
//! two writers on one SQLite file wait for each other through `busy_timeout`, whose sleeps
//! stalled single writes for over a second under load (measured by the bench).
//!
//! The writer holds no lock at all: its state is the connection and the channel it owns.

use super::rows::{encode_event, event_side, seq_from_db, seq_to_db, side_str, status_str};
use super::{accounts, conversations};
use crate::{
    AppendRequest, Appended, CommitListener, ConversationRecord, ConversationUpdate,
    NewConversation, StoreError, StoreResult, StoredEvent, VisitorId, VisitorRecord,
};
use sqlx::{Connection, SqliteConnection};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Arc;
use std::time::{Duration, Instant};
use switchboard_shared::{ClientMsgId, ConversationId, Seq, Side};
use tokio::sync::{mpsc, oneshot};

/// Most requests committed by one transaction. Large enough that one `fsync` serves a burst,
/// small enough that one transaction never holds the write lock for long.
pub(crate) const MAX_BATCH: usize = 512;

/// A batch taking longer than this is logged as a warning.
const SLOW_BATCH: Duration = Duration::from_secs(1);

/// Requests queued beyond this make callers wait (backpressure instead of unbounded memory).
pub(crate) const QUEUE_CAPACITY: usize = 8 * MAX_BATCH;

pub(crate) enum Job {
    Append {
        req: AppendRequest,
        reply: oneshot::Sender<StoreResult<Appended>>,
    },
    Receipt {
        receipt: Receipt,
        reply: oneshot::Sender<StoreResult<()>>,
    },
    CreateVisitor {
        site_id: String,
        token_hash: [u8; 32],
        now: i64,
        reply: oneshot::Sender<StoreResult<VisitorRecord>>,
    },
    TouchVisitor {
        id: VisitorId,
        now: i64,
        reply: oneshot::Sender<StoreResult<()>>,
    },
    CreateConversation {
        new: NewConversation,
        reply: oneshot::Sender<StoreResult<ConversationRecord>>,
    },
}

pub(crate) struct Receipt {
    pub conversation_id: ConversationId,
    pub side: Side,
    pub delivered: Seq,
    pub read: Seq,
}

/// What one request did inside the transaction, before we know whether it commits.
/// `Failed` is a refusal that wrote nothing (unknown conversation), so the batch carries on.
enum Outcome {
    Appended(Appended),
    /// A receipt or a visitor touch: nothing to report but success.
    Done,
    Visitor(VisitorRecord),
    /// Boxed: a record is several times the size of the other outcomes.
    Conversation(Box<ConversationRecord>),
    Failed(StoreError),
}

/// Why a batch transaction did not commit.
enum BatchFailed {
    /// A statement of request `index` failed; the transaction has been rolled back.
    Aborted { index: usize, error: StoreError },
    /// `BEGIN` or `COMMIT` failed: nothing of the batch is durable.
    Commit(sqlx::Error),
}

/// Runs until every sender is gone (the store was closed and in-flight calls have queued
/// their last request), then closes the connection.
pub(crate) async fn run(
    mut conn: SqliteConnection,
    mut rx: mpsc::Receiver<Job>,
    listener: Arc<dyn CommitListener>,
) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    while rx.recv_many(&mut batch, MAX_BATCH).await > 0 {
        let (started, requests) = (Instant::now(), batch.len());
        process(&mut conn, std::mem::take(&mut batch), &*listener).await;
        // The connection has sqlx's statement logging off (it costs throughput), so slow
        // commits (a slow disk, lock waits on busy_timeout) are reported here.
        let took = started.elapsed();
        if took > SLOW_BATCH {
            tracing::warn!(?took, requests, "slow group commit");
        }
    }
    if let Err(e) = conn.close().await {
        tracing::warn!(error = %e, "closing the writer connection failed");
    }
}

/// Commits one batch and answers every job in it, whatever happens.
pub(super) async fn process(
    conn: &mut SqliteConnection,
    jobs: Vec<Job>,
    listener: &dyn CommitListener,
) {
    match run_batch(conn, &jobs).await {
        Ok(outcomes) => finish(jobs, outcomes, listener),
        Err(BatchFailed::Commit(e)) => {
            tracing::error!(error = %e, requests = jobs.len(), "group commit failed");
            fail_all(jobs, &e);
        }
        Err(BatchFailed::Aborted { index, error }) => {
            tracing::warn!(%error, request = index, "batch aborted; retrying one by one");
            for job in jobs {
                let jobs = [job];
                match run_batch(conn, &jobs).await {
                    Ok(outcomes) => finish(jobs.into(), outcomes, listener),
                    Err(BatchFailed::Commit(e)) => fail_all(jobs.into(), &e),
                    Err(BatchFailed::Aborted { error, .. }) => {
                        let [job] = jobs;
                        job.answer(Outcome::Failed(error));
                    }
                }
            }
        }
    }
}

/// Step 3 and 4: tell the listener, then answer the callers.
fn finish(jobs: Vec<Job>, outcomes: Vec<Outcome>, listener: &dyn CommitListener) {
    let new_events: Vec<StoredEvent> = outcomes
        .iter()
        .filter_map(|o| match o {
            Outcome::Appended(Appended::New(ev)) => Some(ev.clone()),
            _ => None,
        })
        .collect();
    if !new_events.is_empty() {
        // A panicking listener is a bug in the fan-out; it must not kill the writer and with
        // it every later append. The events are committed either way.
        if catch_unwind(AssertUnwindSafe(|| listener.committed(&new_events))).is_err() {
            tracing::error!(events = new_events.len(), "commit listener panicked");
        }
    }
    for (job, outcome) in jobs.into_iter().zip(outcomes) {
        job.answer(outcome);
    }
}

fn fail_all(jobs: Vec<Job>, error: &sqlx::Error) {
    for job in jobs {
        job.answer(Outcome::Failed(shared_error(error)));
    }
}

/// `sqlx::Error` is not `Clone`; each caller of a failed batch gets its own copy of the text.
fn shared_error(error: &sqlx::Error) -> StoreError {
    StoreError::Database(sqlx::Error::Io(std::io::Error::other(format!(
        "group commit failed: {error}"
    ))))
}

impl Job {
    fn answer(self, outcome: Outcome) {
        // A caller that stopped waiting (its task was cancelled) is no error: the write
        // stands, and a resend is answered as a duplicate.
        fn send<T>(reply: oneshot::Sender<StoreResult<T>>, r: StoreResult<T>) {
            let _ = reply.send(r);
        }
        let mixed_up = || StoreError::Corrupt("writer mixed up a reply".into());
        match (self, outcome) {
            (Job::Append { reply, .. }, Outcome::Appended(a)) => send(reply, Ok(a)),
            (Job::Receipt { reply, .. } | Job::TouchVisitor { reply, .. }, Outcome::Done) => {
                send(reply, Ok(()))
            }
            (Job::CreateVisitor { reply, .. }, Outcome::Visitor(v)) => send(reply, Ok(v)),
            (Job::CreateConversation { reply, .. }, Outcome::Conversation(c)) => {
                send(reply, Ok(*c))
            }
            (job, Outcome::Failed(e)) => job.fail(e),
            (job, _) => job.fail(mixed_up()),
        }
    }

    fn fail(self, e: StoreError) {
        match self {
            Job::Append { reply, .. } => {
                let _ = reply.send(Err(e));
            }
            Job::Receipt { reply, .. } | Job::TouchVisitor { reply, .. } => {
                let _ = reply.send(Err(e));
            }
            Job::CreateVisitor { reply, .. } => {
                let _ = reply.send(Err(e));
            }
            Job::CreateConversation { reply, .. } => {
                let _ = reply.send(Err(e));
            }
        }
    }
}

/// Step 1 and 2 for one batch. On `Ok`, everything the outcomes report is committed.
async fn run_batch(conn: &mut SqliteConnection, jobs: &[Job]) -> Result<Vec<Outcome>, BatchFailed> {
    // IMMEDIATE takes the write lock now, waiting up to busy_timeout for pool writers. A
    // deferred transaction would read first and could then fail to upgrade with SQLITE_BUSY,
    // which busy_timeout does not retry.
    sqlx::query("BEGIN IMMEDIATE")
        .execute(&mut *conn)
        .await
        .map_err(BatchFailed::Commit)?;
    let mut outcomes = Vec::with_capacity(jobs.len());
    for (index, job) in jobs.iter().enumerate() {
        let outcome = match job {
            Job::Append { req, .. } => append(conn, req).await,
            Job::Receipt { receipt, .. } => record_receipt(conn, receipt).await,
            Job::CreateVisitor {
                site_id,
                token_hash,
                now,
                ..
            } => accounts::create_visitor(conn, site_id, *token_hash, *now)
                .await
                .map(Outcome::Visitor),
            Job::TouchVisitor { id, now, .. } => accounts::touch_visitor(conn, *id, *now)
                .await
                .map(|()| Outcome::Done)
                .or_else(|e| match e {
                    // Refused before writing: the batch carries on.
                    StoreError::NotFound => Ok(Outcome::Failed(StoreError::NotFound)),
                    other => Err(other),
                }),
            Job::CreateConversation { new, .. } => conversations::create(conn, new)
                .await
                .map(|c| Outcome::Conversation(Box::new(c))),
        };
        match outcome {
            Ok(outcome) => outcomes.push(outcome),
            Err(error) => {
                rollback(conn).await;
                return Err(BatchFailed::Aborted { index, error });
            }
        }
    }
    if let Err(e) = sqlx::query("COMMIT").execute(&mut *conn).await {
        rollback(conn).await;
        return Err(BatchFailed::Commit(e));
    }
    Ok(outcomes)
}

/// Leaves the connection outside any transaction, whatever state it is in.
async fn rollback(conn: &mut SqliteConnection) {
    // Fails harmlessly with "no transaction is active" when SQLite already rolled back.
    let _ = sqlx::query("ROLLBACK").execute(&mut *conn).await;
}

/// `Ok` when the request is finished: written, or refused before it wrote anything.
/// `Err` when a statement failed and the transaction can no longer be trusted.
async fn append(conn: &mut SqliteConnection, req: &AppendRequest) -> StoreResult<Outcome> {
    let conversation = req.conversation_id.0;
    let (kind, payload) = match encode_event(&req.event) {
        Ok(encoded) => encoded,
        Err(e) => return Ok(Outcome::Failed(e)),
    };
    // The duplicate check rides in the UPDATE (two statements per new message instead of
    // three: each statement is a round trip to sqlx's SQLite thread, which is where the
    // writer spends its time). No row back means a duplicate or an unknown conversation;
    // only then is the earlier event looked up.
    let Some(seq) = next_seq_and_update(conn, req.conversation_id, &req.update, &req.dedup).await?
    else {
        if let Some((side, client_id)) = &req.dedup {
            // Also finds an event appended earlier in this same batch: it is in the transaction.
            let earlier: Option<i64> = sqlx::query_scalar(
                "SELECT seq FROM events WHERE conversation_id = ? AND side = ? AND client_id = ?",
            )
            .bind(conversation)
            .bind(side_str(*side))
            .bind(client_id.as_str())
            .fetch_optional(&mut *conn)
            .await?;
            if let Some(seq) = earlier {
                return Ok(Outcome::Appended(Appended::Duplicate {
                    seq: seq_from_db(seq)?,
                }));
            }
        }
        return Ok(Outcome::Failed(StoreError::NotFound));
    };
    let side = req
        .dedup
        .as_ref()
        .map(|(side, _)| *side)
        .or_else(|| event_side(&req.event));
    sqlx::query(
        "INSERT INTO events (conversation_id, seq, at, kind, side, client_id, payload) \
         VALUES (?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(conversation)
    .bind(seq)
    .bind(req.at)
    .bind(kind)
    .bind(side.map(side_str))
    .bind(req.dedup.as_ref().map(|(_, id)| id.as_str()))
    .bind(payload)
    .execute(&mut *conn)
    .await?;

    Ok(Outcome::Appended(Appended::New(StoredEvent {
        conversation_id: req.conversation_id,
        seq: seq_from_db(seq)?,
        at: req.at,
        event: req.event.clone(),
    })))
}

/// Takes the next sequence number and applies the update in one statement, so the event and
/// the state it describes are written together. With `dedup`, nothing happens (`None`) when
/// that side already sent that client id in this conversation. Each nullable column gets a "change it" flag
/// and a value, so the statement text is fixed and SQLite prepares it once. `None` when the
/// conversation does not exist (nothing written).
async fn next_seq_and_update(
    conn: &mut SqliteConnection,
    id: ConversationId,
    u: &ConversationUpdate,
    dedup: &Option<(Side, ClientMsgId)>,
) -> StoreResult<Option<i64>> {
    let seq: Option<i64> = sqlx::query_scalar(
        "UPDATE conversations SET last_seq = last_seq + 1, \
            status      = CASE WHEN ?2  THEN ?3  ELSE status      END, \
            agent_id    = CASE WHEN ?4  THEN ?5  ELSE agent_id    END, \
            queue_rank  = CASE WHEN ?6  THEN ?7  ELSE queue_rank  END, \
            queued_at   = CASE WHEN ?8  THEN ?9  ELSE queued_at   END, \
            assigned_at = CASE WHEN ?10 THEN ?11 ELSE assigned_at END, \
            ended_at    = CASE WHEN ?12 THEN ?13 ELSE ended_at    END \
         WHERE id = ?1 AND (?14 IS NULL OR NOT EXISTS (SELECT 1 FROM events \
            WHERE conversation_id = ?1 AND side = ?14 AND client_id = ?15)) \
         RETURNING last_seq",
    )
    .bind(id.0)
    .bind(u.status.is_some())
    .bind(u.status.map(status_str))
    .bind(u.agent_id.is_some())
    .bind(u.agent_id.flatten().map(|a| a.0))
    .bind(u.queue_rank.is_some())
    .bind(u.queue_rank.flatten())
    .bind(u.queued_at.is_some())
    .bind(u.queued_at.flatten())
    .bind(u.assigned_at.is_some())
    .bind(u.assigned_at.flatten())
    .bind(u.ended_at.is_some())
    .bind(u.ended_at.flatten())
    .bind(dedup.as_ref().map(|(side, _)| side_str(*side)))
    .bind(dedup.as_ref().map(|(_, id)| id.as_str()))
    .fetch_optional(&mut *conn)
    .await?;
    Ok(seq)
}

/// Raises one side's receipts, never lowers them, and never past the last event: a client
/// claiming to have read seq 10^9 must not poison the row forever.
async fn record_receipt(conn: &mut SqliteConnection, r: &Receipt) -> StoreResult<Outcome> {
    let sql = match r.side {
        Side::Visitor => {
            "UPDATE conversations SET \
                visitor_delivered = MAX(visitor_delivered, MIN(?2, last_seq)), \
                visitor_read      = MAX(visitor_read,      MIN(?3, last_seq)) \
             WHERE id = ?1"
        }
        Side::Agent => {
            "UPDATE conversations SET \
                agent_delivered = MAX(agent_delivered, MIN(?2, last_seq)), \
                agent_read      = MAX(agent_read,      MIN(?3, last_seq)) \
             WHERE id = ?1"
        }
    };
    let done = sqlx::query(sql)
        .bind(r.conversation_id.0)
        .bind(seq_to_db(r.delivered))
        .bind(seq_to_db(r.read))
        .execute(&mut *conn)
        .await?;
    if done.rows_affected() == 0 {
        return Ok(Outcome::Failed(StoreError::NotFound));
    }
    Ok(Outcome::Done)
}
