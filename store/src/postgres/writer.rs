//! The event log's group-commit writer on PostgreSQL: one task, one connection of its own,
//! one transaction per batch of whatever appends and receipts have queued up.
//!
//! A batch costs the same few statements whatever its size (the rows go as arrays through
//! `unnest`):
//!
//! 1. `BEGIN`; lock the batch's conversations (`SELECT … ORDER BY id FOR NO KEY UPDATE`: in id
//!    order, so batches of two relays cannot deadlock) and read their `last_seq`;
//! 2. find the client ids of the batch that are stored already (resends);
//! 3. number the new events in memory, in request order; take their log positions by
//!    raising `log_head` (its row stays locked until the commit, so positions follow commit
//!    order across relays); insert them in one statement; raise `last_seq`, apply each
//!    event's conversation change and the receipts;
//! 4. `COMMIT`. Only then does the [`CommitListener`] see the new events (in commit order)
//!    and only then does each caller get its answer. If anything before the commit fails,
//!    nothing of the batch is acknowledged.
//!
//! The row lock is held until the commit, so a second relay appending to the same
//! conversation waits for it and numbers after it: seq is gap-free and in commit order. A
//! statement that fails for a reason of its own (a constraint) fails the batch, which is
//! then run again one request per transaction so only the bad request is refused. A lost
//! connection fails the batch and every batch after it until a reconnect (with backoff)
//! succeeds; the relay keeps serving, and clients keep unacknowledged messages in their
//! outbox and resend them.
//!
//! One window stays: a connection lost while `COMMIT` is in flight leaves the outcome
//! unknown. The caller gets an error; a resend with its client id is then answered as a
//! duplicate if the commit did land (the event exists but was not fanned out live; the
//! other side sees it on its next resume).

use crate::codec::{encode_event, event_side, seq_from_db, seq_to_db, side_str, status_str};
use crate::queue::JobQueue;
use crate::{
    AppendRequest, Appended, CommitListener, CommitStamps, Committed, ConversationUpdate,
    StoreError, StoreResult, StoredEvent,
};
use sqlx::postgres::{PgConnectOptions, PgConnection};
use sqlx::{ConnectOptions, Connection, Row};
use std::collections::HashMap;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Arc;
use std::time::{Duration, Instant};
use switchboard_shared::{ConversationId, Seq, Side};
use tokio::sync::{mpsc, oneshot};

/// Most requests committed by one transaction.
const MAX_BATCH: usize = 1024;
/// Requests queued beyond this make callers wait (backpressure instead of unbounded memory).
const QUEUE_CAPACITY: usize = 8 * MAX_BATCH;
/// First and longest wait between reconnect attempts after the connection was lost.
const BACKOFF_MIN: Duration = Duration::from_millis(100);
const BACKOFF_MAX: Duration = Duration::from_secs(5);
/// A batch not committed after this long is given up (see `Writer::commit`).
const BATCH_TIMEOUT: Duration = Duration::from_secs(10);
/// A batch taking longer than this is logged as a warning.
const SLOW_BATCH: Duration = Duration::from_secs(1);

enum Job {
    Append {
        req: AppendRequest,
        reply: oneshot::Sender<StoreResult<Appended>>,
        queued: Instant,
    },
    Receipt {
        receipt: Receipt,
        reply: oneshot::Sender<StoreResult<()>>,
    },
}

pub(crate) struct Receipt {
    pub conversation_id: ConversationId,
    pub side: Side,
    pub delivered: Seq,
    pub read: Seq,
}

/// What one request came to inside the transaction, before we know whether it commits.
enum Outcome {
    /// A new event, its log position, its `EventKind` as stored JSON.
    New(StoredEvent, i64, String),
    Duplicate(Seq),
    Done,
    Failed(StoreError),
}

/// The handle the store keeps: a queue to the writer task.
pub(super) struct Log {
    jobs: JobQueue<Job>,
}

impl Log {
    /// Connects the writer's own connection and starts the writer task.
    pub async fn spawn(
        options: PgConnectOptions,
        listener: Arc<dyn CommitListener>,
    ) -> Result<Log, sqlx::Error> {
        let conn = options.connect().await?;
        let (tx, rx) = mpsc::channel(QUEUE_CAPACITY);
        let (done, stopped) = oneshot::channel();
        tokio::spawn(async move {
            Writer {
                conn: Some(conn),
                options,
                backoff: BACKOFF_MIN,
                retry_at: None,
            }
            .run(rx, &*listener)
            .await;
            let _ = done.send(());
        });
        Ok(Log {
            jobs: JobQueue::new(tx, stopped),
        })
    }

    pub async fn append(&self, req: AppendRequest) -> StoreResult<Appended> {
        let queued = Instant::now();
        self.submit(|reply| Job::Append { req, reply, queued })
            .await
    }

    pub async fn receipt(&self, receipt: Receipt) -> StoreResult<()> {
        self.submit(|reply| Job::Receipt { receipt, reply }).await
    }

    /// Stops taking writes and waits until everything queued is committed and answered.
    pub async fn close(&self) {
        self.jobs.close().await;
    }

    async fn submit<T>(
        &self,
        job: impl FnOnce(oneshot::Sender<StoreResult<T>>) -> Job,
    ) -> StoreResult<T> {
        self.jobs.submit(job).await
    }
}

struct Writer {
    /// `None` after the connection was lost, until a reconnect succeeds.
    conn: Option<PgConnection>,
    options: PgConnectOptions,
    backoff: Duration,
    /// While disconnected: no reconnect attempt before this (batches fail at once).
    retry_at: Option<Instant>,
}

/// Why a batch did not commit.
enum BatchFailed {
    /// A statement failed on a working connection: run the batch again one by one.
    Statement(sqlx::Error),
    /// The connection is gone (or never came back): fail the whole batch.
    Connection(String),
}

impl Writer {
    async fn run(mut self, mut rx: mpsc::Receiver<Job>, listener: &dyn CommitListener) {
        let mut batch = Vec::with_capacity(MAX_BATCH);
        while rx.recv_many(&mut batch, MAX_BATCH).await > 0 {
            let jobs = std::mem::take(&mut batch);
            let started = Instant::now();
            let requests = jobs.len();
            match self.commit(&jobs).await {
                Ok(outcomes) => finish(jobs, outcomes, started, listener),
                Err(BatchFailed::Connection(why)) => fail_all(jobs, &why),
                Err(BatchFailed::Statement(e)) => {
                    tracing::warn!(error = %e, requests, "batch failed; retrying one by one");
                    for job in jobs {
                        let one = vec![job];
                        let started = Instant::now();
                        match self.commit(&one).await {
                            Ok(outcomes) => finish(one, outcomes, started, listener),
                            Err(BatchFailed::Connection(why)) => fail_all(one, &why),
                            Err(BatchFailed::Statement(e)) => {
                                // Refused alone: the request's own fault (a value the
                                // database cannot store) or a failed write.
                                let error = match StoreError::from(e) {
                                    StoreError::Backend(e) => StoreError::Write(e),
                                    other => other,
                                };
                                finish(one, vec![Outcome::Failed(error)], started, listener)
                            }
                        }
                    }
                }
            }
            let took = started.elapsed();
            if took > SLOW_BATCH {
                tracing::warn!(?took, requests, "slow group commit");
            }
        }
        if let Some(conn) = self.conn.take() {
            let _ = conn.close().await;
        }
    }

    /// The connection, reconnecting when the backoff allows.
    async fn connection(&mut self) -> Result<&mut PgConnection, BatchFailed> {
        if self.conn.is_none() {
            if let Some(at) = self.retry_at {
                if Instant::now() < at {
                    return Err(BatchFailed::Connection(
                        "the database connection is lost; reconnecting".into(),
                    ));
                }
            }
            match self.options.connect().await {
                Ok(conn) => {
                    tracing::info!("event log writer reconnected to the database");
                    self.conn = Some(conn);
                    self.backoff = BACKOFF_MIN;
                    self.retry_at = None;
                }
                Err(e) => {
                    self.retry_at = Some(Instant::now() + self.backoff);
                    self.backoff = (self.backoff * 2).min(BACKOFF_MAX);
                    return Err(BatchFailed::Connection(format!(
                        "the database is unreachable: {e}"
                    )));
                }
            }
        }
        self.conn
            .as_mut()
            .ok_or_else(|| BatchFailed::Connection("no database connection".into()))
    }

    /// Runs one batch in one transaction; on `Ok`, everything the outcomes report is
    /// committed.
    async fn commit(&mut self, jobs: &[Job]) -> Result<Vec<Outcome>, BatchFailed> {
        let conn = self.connection().await?;
        let run = async {
            match conn.begin().await {
                Ok(mut tx) => match batch(&mut tx, jobs).await {
                    Ok(outcomes) => tx.commit().await.map(|()| outcomes),
                    Err(e) => Err(e),
                },
                Err(e) => Err(e),
            }
        };
        // A server that stopped answering (a network cut drops packets, nothing resets the
        // connection) would hold every append forever: after this long the connection is
        // given up, the batch refused and the connection made again.
        let Ok(result) = tokio::time::timeout(BATCH_TIMEOUT, run).await else {
            tracing::error!(?BATCH_TIMEOUT, "the database did not answer; reconnecting");
            self.conn = None;
            self.retry_at = Some(Instant::now() + self.backoff);
            return Err(BatchFailed::Connection(format!(
                "the database did not answer within {BATCH_TIMEOUT:?}"
            )));
        };
        match result {
            Ok(outcomes) => Ok(outcomes),
            Err(e) if lost(&e) => {
                tracing::error!(error = %e, "event log writer lost the database connection");
                self.conn = None;
                self.retry_at = Some(Instant::now() + self.backoff);
                Err(BatchFailed::Connection(format!("write failed: {e}")))
            }
            Err(e) => Err(BatchFailed::Statement(e)),
        }
    }
}

/// Errors after which the connection cannot be trusted (as opposed to a refused statement).
fn lost(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::Database(db) => {
            // Class 08: connection exception; 57P01..03: the server is shutting down.
            db.code()
                .is_some_and(|c| c.starts_with("08") || c.starts_with("57P"))
        }
        sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::Protocol(_)
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::WorkerCrashed => true,
        _ => false,
    }
}

/// Steps 1–3 inside the open transaction.
async fn batch(conn: &mut PgConnection, jobs: &[Job]) -> Result<Vec<Outcome>, sqlx::Error> {
    // Encode first: an event that cannot be encoded is refused before anything is written.
    let encoded: Vec<Option<StoreResult<(String, String)>>> = jobs
        .iter()
        .map(|job| match job {
            Job::Append { req, .. } => Some(encode_event(&req.event)),
            Job::Receipt { .. } => None,
        })
        .collect();

    let mut ids: Vec<i64> = jobs.iter().map(|j| j.conversation().0).collect();
    ids.sort_unstable();
    ids.dedup();
    let mut last_seq: HashMap<i64, i64> = sqlx::query(
        "SELECT id, last_seq FROM conversations WHERE id = ANY($1) ORDER BY id \
         FOR NO KEY UPDATE",
    )
    .bind(&ids)
    .fetch_all(&mut *conn)
    .await?
    .iter()
    .map(|r| Ok((r.try_get::<i64, _>(0)?, r.try_get::<i64, _>(1)?)))
    .collect::<Result<_, sqlx::Error>>()?;

    // Client ids of this batch already stored (resends).
    let mut keys = (Vec::new(), Vec::new(), Vec::new());
    for job in jobs {
        if let Job::Append { req, .. } = job {
            if let Some((side, id)) = &req.dedup {
                keys.0.push(req.conversation_id.0);
                keys.1.push(side_str(*side));
                keys.2.push(id.as_str());
            }
        }
    }
    let mut stored: HashMap<(i64, String, String), i64> = HashMap::new();
    if !keys.0.is_empty() {
        let rows = sqlx::query(
            // LATERAL: one probe of `events_dedup` per key. A plain join lets the planner
            // hash the whole (ever-growing) events table instead.
            "SELECT k.c, k.s, k.id, e.seq \
             FROM unnest($1::bigint[], $2::text[], $3::text[]) AS k(c, s, id) \
             CROSS JOIN LATERAL ( \
                 SELECT seq FROM events \
                 WHERE conversation_id = k.c AND side = k.s AND client_id = k.id) AS e",
        )
        .bind(&keys.0)
        .bind(&keys.1)
        .bind(&keys.2)
        .fetch_all(&mut *conn)
        .await?;
        for r in rows {
            stored.insert((r.try_get(0)?, r.try_get(1)?, r.try_get(2)?), r.try_get(3)?);
        }
    }

    let mut rows = EventRows::default();
    let mut updates: Vec<(i64, &ConversationUpdate)> = Vec::new();
    let mut receipts: HashMap<i64, [i64; 4]> = HashMap::new();
    let mut outcomes = Vec::with_capacity(jobs.len());
    for (job, encoded) in jobs.iter().zip(encoded) {
        let conversation = job.conversation().0;
        let Some(last) = last_seq.get_mut(&conversation) else {
            outcomes.push(Outcome::Failed(StoreError::NotFound));
            continue;
        };
        match job {
            Job::Append { req, .. } => {
                let (kind, payload) = match encoded {
                    Some(Ok(encoded)) => encoded,
                    Some(Err(e)) => {
                        outcomes.push(Outcome::Failed(e));
                        continue;
                    }
                    None => {
                        outcomes.push(Outcome::Failed(StoreError::Corrupt(
                            "an append without its encoding".into(),
                        )));
                        continue;
                    }
                };
                let key = req
                    .dedup
                    .as_ref()
                    .map(|(side, id)| (conversation, side_str(*side).to_string(), id.to_string()));
                if let Some(seq) = key.as_ref().and_then(|k| stored.get(k)) {
                    outcomes.push(match seq_from_db(*seq) {
                        Ok(seq) => Outcome::Duplicate(seq),
                        Err(e) => Outcome::Failed(e),
                    });
                    continue;
                }
                *last += 1;
                let seq = *last;
                if let Some(key) = key {
                    stored.insert(key, seq);
                }
                if req.update != ConversationUpdate::default() {
                    updates.push((conversation, &req.update));
                }
                let side = req
                    .dedup
                    .as_ref()
                    .map(|(side, _)| *side)
                    .or_else(|| event_side(&req.event));
                rows.push(
                    conversation,
                    seq,
                    req.at,
                    kind,
                    side.map(side_str),
                    req.dedup.as_ref().map(|(_, id)| id.to_string()),
                    payload.clone(),
                );
                outcomes.push(match seq_from_db(seq) {
                    // The position is handed out below, once the batch holds the log's lock.
                    Ok(seq) => Outcome::New(
                        StoredEvent {
                            conversation_id: req.conversation_id,
                            seq,
                            at: req.at,
                            event: req.event.clone(),
                        },
                        0,
                        payload,
                    ),
                    Err(e) => Outcome::Failed(e),
                });
            }
            Job::Receipt { receipt: r, .. } => {
                // Never past the last event: a client claiming to have read seq 10^9 must
                // not poison the row forever.
                let (delivered, read) = (
                    seq_to_db(r.delivered).min(*last),
                    seq_to_db(r.read).min(*last),
                );
                let entry = receipts.entry(conversation).or_default();
                let at = match r.side {
                    Side::Visitor => 0,
                    Side::Agent => 2,
                };
                entry[at] = entry[at].max(delivered);
                entry[at + 1] = entry[at + 1].max(read);
                outcomes.push(Outcome::Done);
            }
        }
    }

    if !rows.conversation.is_empty() {
        // Positions follow commit order across relays: raising `log_head` locks its row
        // until this batch commits, so batches hand out positions one after the other.
        // Last in the batch's work before the inserts, to hold that lock briefly.
        let new = i64::try_from(rows.conversation.len()).unwrap_or(i64::MAX);
        let head: i64 = sqlx::query_scalar("UPDATE log_head SET pos = pos + $1 RETURNING pos")
            .bind(new)
            .fetch_one(&mut *conn)
            .await?;
        let mut next = head - new;
        for outcome in &mut outcomes {
            if let Outcome::New(_, pos, _) = outcome {
                next += 1;
                *pos = next;
                rows.pos.push(next);
            }
        }
        sqlx::query(
            "INSERT INTO events (conversation_id, seq, at, kind, side, client_id, payload, pos) \
             SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::bigint[], $4::text[], \
                                  $5::text[], $6::text[], $7::text[], $8::bigint[])",
        )
        .bind(&rows.conversation)
        .bind(&rows.seq)
        .bind(&rows.at)
        .bind(&rows.kind)
        .bind(&rows.side)
        .bind(&rows.client_id)
        .bind(&rows.payload)
        .bind(&rows.pos)
        .execute(&mut *conn)
        .await?;
    }
    for (id, u) in updates {
        update_conversation(conn, id, u).await?;
    }
    // One new row version per conversation and batch: its raised `last_seq` and receipts
    // together (neither column is indexed, so PostgreSQL updates the row in place: HOT).
    let raised: std::collections::HashSet<i64> = rows.conversation.iter().copied().collect();
    let mut cols: [Vec<i64>; 6] = Default::default();
    for (id, last) in &last_seq {
        let raised = raised.contains(id);
        let receipt = receipts.get(id);
        if !raised && receipt.is_none() {
            continue;
        }
        cols[0].push(*id);
        cols[1].push(*last);
        for (i, v) in receipt.copied().unwrap_or_default().into_iter().enumerate() {
            cols[i + 2].push(v);
        }
    }
    if !cols[0].is_empty() {
        sqlx::query(
            "UPDATE conversations c SET \
                last_seq          = v.last_seq, \
                visitor_delivered = GREATEST(c.visitor_delivered, v.vd), \
                visitor_read      = GREATEST(c.visitor_read, v.vr), \
                agent_delivered   = GREATEST(c.agent_delivered, v.ad), \
                agent_read        = GREATEST(c.agent_read, v.ar) \
             FROM unnest($1::bigint[], $2::bigint[], $3::bigint[], $4::bigint[], $5::bigint[], \
                         $6::bigint[]) AS v(id, last_seq, vd, vr, ad, ar) \
             WHERE c.id = v.id",
        )
        .bind(&cols[0])
        .bind(&cols[1])
        .bind(&cols[2])
        .bind(&cols[3])
        .bind(&cols[4])
        .bind(&cols[5])
        .execute(&mut *conn)
        .await?;
    }
    Ok(outcomes)
}

/// The new events of a batch, column by column (bound as arrays).
#[derive(Default)]
struct EventRows {
    conversation: Vec<i64>,
    seq: Vec<i64>,
    at: Vec<i64>,
    kind: Vec<String>,
    side: Vec<Option<&'static str>>,
    client_id: Vec<Option<String>>,
    payload: Vec<String>,
    pos: Vec<i64>,
}

impl EventRows {
    #[allow(clippy::too_many_arguments)]
    fn push(
        &mut self,
        conversation: i64,
        seq: i64,
        at: i64,
        kind: String,
        side: Option<&'static str>,
        client_id: Option<String>,
        payload: String,
    ) {
        self.conversation.push(conversation);
        self.seq.push(seq);
        self.at.push(at);
        self.kind.push(kind);
        self.side.push(side);
        self.client_id.push(client_id);
        self.payload.push(payload);
    }
}

/// The state change an event describes, in the event's transaction.
async fn update_conversation(
    conn: &mut PgConnection,
    id: i64,
    u: &ConversationUpdate,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE conversations SET \
            status      = CASE WHEN $2  THEN $3  ELSE status      END, \
            agent_id    = CASE WHEN $4  THEN $5  ELSE agent_id    END, \
            queue_rank  = CASE WHEN $6  THEN $7  ELSE queue_rank  END, \
            queued_at   = CASE WHEN $8  THEN $9  ELSE queued_at   END, \
            assigned_at = CASE WHEN $10 THEN $11 ELSE assigned_at END, \
            ended_at    = CASE WHEN $12 THEN $13 ELSE ended_at    END \
         WHERE id = $1",
    )
    .bind(id)
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
    .execute(conn)
    .await?;
    Ok(())
}

impl Job {
    fn conversation(&self) -> ConversationId {
        match self {
            Job::Append { req, .. } => req.conversation_id,
            Job::Receipt { receipt, .. } => receipt.conversation_id,
        }
    }

    fn answer(self, outcome: Outcome) {
        match (self, outcome) {
            (Job::Append { reply, .. }, Outcome::New(event, _, _)) => {
                let _ = reply.send(Ok(Appended::New(event)));
            }
            (Job::Append { reply, .. }, Outcome::Duplicate(seq)) => {
                let _ = reply.send(Ok(Appended::Duplicate { seq }));
            }
            (Job::Receipt { reply, .. }, Outcome::Done) => {
                let _ = reply.send(Ok(()));
            }
            (job, Outcome::Failed(e)) => job.fail(e),
            (job, _) => job.fail(StoreError::Corrupt("writer mixed up a reply".into())),
        }
    }

    fn fail(self, e: StoreError) {
        match self {
            Job::Append { reply, .. } => {
                let _ = reply.send(Err(e));
            }
            Job::Receipt { reply, .. } => {
                let _ = reply.send(Err(e));
            }
        }
    }
}

/// Tell the listener, then answer the callers.
fn finish(jobs: Vec<Job>, outcomes: Vec<Outcome>, started: Instant, listener: &dyn CommitListener) {
    let committed = Instant::now();
    let new_events: Vec<Committed<'_>> = jobs
        .iter()
        .zip(&outcomes)
        .filter_map(|(job, o)| match (job, o) {
            (Job::Append { queued, .. }, Outcome::New(event, pos, event_json)) => Some(Committed {
                event,
                pos: *pos,
                event_json,
                stamps: CommitStamps {
                    queued: *queued,
                    started,
                    committed,
                },
            }),
            _ => None,
        })
        .collect();
    if !new_events.is_empty()
        && catch_unwind(AssertUnwindSafe(|| listener.committed(&new_events))).is_err()
    {
        tracing::error!(events = new_events.len(), "commit listener panicked");
    }
    for (job, outcome) in jobs.into_iter().zip(outcomes) {
        job.answer(outcome);
    }
}

fn fail_all(jobs: Vec<Job>, why: &str) {
    for job in jobs {
        job.fail(StoreError::CommitFailed(why.to_string()));
    }
}
