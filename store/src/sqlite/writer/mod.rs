//! The group-commit writer: one thread, one dedicated connection, one transaction per batch.
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
//! Steps 3 and 4 run in a tokio task (the publisher) that takes settled batches in commit
//! order, so the writer starts the next transaction while the last one's events are
//! encoded and fanned out (that was ~12 % of the writer's time). A task rather than a thread
//! of its own: what it does is wake connection tasks (their mailboxes, their replies), and
//! from a runtime worker those wake-ups stay in tokio's run queues instead of each being a
//! wake-up from outside the runtime; alternating pairs measured less relay CPU and shorter
//! tails that way (docs/PERFORMANCE.md, seventh round). WAL checkpoints run on a second
//! thread ([`checkpoint`]).
//!
//! If a statement fails in step 1 (a constraint, disk full, an I/O error), that request may
//! have written half of itself, and SQLite may even have rolled back the whole transaction.
//! So the batch is rolled back and run again one request per transaction: the bad request
//! fails alone and the others commit. This keeps the common path at one statement per
//! message (no `SAVEPOINT`/`RELEASE` pair): the next `seq` and the duplicate check come
//! from the writer's memory of each conversation ([`tails`]), and the conversation row is
//! written only when an event changes its state.
//!
//! Why a thread of its own with rusqlite rather than a task on a sqlx connection: sqlx runs
//! each SQLite connection on a worker thread and every statement is a round trip to it (a
//! channel send and a wake-up each way). `perf` at 3,000 msgs/s put 42 % of the relay's
//! samples on that thread, mostly context switches, and 1.4 % in SQLite itself. Here the
//! whole batch runs on the thread that owns the connection, with cached prepared
//! statements: one wake-up per batch instead of two or three per message. Both libraries
//! link the same libsqlite3 (`libsqlite3-sys`), so locking between this connection and
//! sqlx's pools is SQLite's own.
//!
//! Visitors and conversations are created here too (not on a second write connection):
//! two writers on one SQLite file wait for each other through `busy_timeout`, whose sleeps
//! stalled single writes for over a second under load (measured by the bench).
//!
//! The writer shares no memory with other threads: its state is the connection, its
//! memory of conversations ([`tails`]) and the channel it owns.

mod checkpoint;
mod lock;
mod sql;
mod tails;

use crate::{
    AppendRequest, Appended, CommitListener, CommitStamps, Committed, ConversationRecord,
    NewConversation, StoreError, StoreResult, StoredEvent, VisitorId, VisitorRecord,
};
use rusqlite::Connection;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};
use switchboard_shared::{ConversationId, Seq, Side};
pub(super) use tails::Tails;
use tokio::sync::{mpsc, oneshot};

pub(crate) use sql::open;

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
        /// When the caller handed it over (hop timing, see [`crate::CommitStamps`]).
        queued: Instant,
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
    SaveCursor {
        reader: String,
        pos: i64,
        now: i64,
        reply: oneshot::Sender<StoreResult<()>>,
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
    /// A new event, its log position, and its `EventKind` as the JSON text that was stored.
    New(StoredEvent, i64, String),
    /// Already stored (a resend): nothing was written.
    Duplicate(Seq),
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
    Commit(rusqlite::Error),
}

/// Settled batches waiting for the publisher. Small: if fan-out falls behind, the
/// writer waits rather than piling up answered-but-unpublished work.
const PUBLISH_QUEUE: usize = 4;

/// Pages SQLite caches for the writer (negative: KiB). Index pages of busy conversations are
/// touched by every batch; the default 2 MiB re-read them from the OS on every commit.
const WRITER_CACHE_KIB: i64 = 32 * 1024;

/// What a transaction settled: each job with its outcome, in order, ready to publish.
pub(super) struct Settled {
    jobs: Vec<Job>,
    outcomes: Vec<Outcome>,
    /// When the transaction began and when it was durable (or failed).
    started: Instant,
    committed: Instant,
}

impl Settled {
    /// A batch whose transaction began at `started` and ended (committed or not) now.
    fn now(jobs: Vec<Job>, outcomes: Vec<Outcome>, started: Instant) -> Settled {
        Settled {
            jobs,
            outcomes,
            started,
            committed: Instant::now(),
        }
    }
}

/// Starts the writer, its publisher task and its checkpoint thread (from inside a tokio
/// runtime). The returned receiver completes when all work is done: every sender is gone
/// (the store was closed and in-flight calls have queued their last request), the queue is
/// drained, every answer sent and the connection closed.
pub(crate) fn spawn(
    path: &Path,
    rx: mpsc::Receiver<Job>,
    listener: Arc<dyn CommitListener>,
) -> StoreResult<oneshot::Receiver<()>> {
    let conn = open(path)?;
    conn.pragma_update(None, "cache_size", -WRITER_CACHE_KIB)?;
    conn.pragma_update(
        None,
        "wal_autocheckpoint",
        checkpoint::WRITER_AUTOCHECKPOINT,
    )?;
    let io = |e: std::io::Error| StoreError::Backend(Box::new(e));
    let nudge = checkpoint::spawn(path).map_err(io)?;
    let (done, stopped) = oneshot::channel();
    let (settled_tx, mut settled_rx) = mpsc::channel::<Settled>(PUBLISH_QUEUE);
    let lock = lock::EventsLock::new(path);
    tokio::spawn(async move {
        while let Some(settled) = settled_rx.recv().await {
            finish(settled, &*listener);
        }
        let _ = done.send(());
    });
    std::thread::Builder::new()
        .name("sqlite-writer".into())
        .spawn(move || run(conn, lock, rx, settled_tx, &nudge))
        .map_err(io)?;
    Ok(stopped)
}

/// Commits batches until every job sender is gone; each settled batch goes to the publish
/// thread in commit order. `publish` is dropped last, after the connection is closed.
fn run(
    mut conn: Connection,
    mut lock: lock::EventsLock,
    mut rx: mpsc::Receiver<Job>,
    publish: mpsc::Sender<Settled>,
    nudge: &checkpoint::Nudge,
) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    let mut tails = Tails::default();
    while rx.blocking_recv_many(&mut batch, MAX_BATCH) > 0 {
        let (started, requests) = (Instant::now(), batch.len());
        if batch.iter().any(Job::touches_events) {
            if let Err(e) = lock.claim() {
                let refused;
                (refused, batch) = batch.into_iter().partition(Job::touches_events);
                for job in refused {
                    job.fail(match &e {
                        StoreError::InUse(path) => StoreError::InUse(path.clone()),
                        other => StoreError::CommitFailed(other.to_string()),
                    });
                }
                if batch.is_empty() {
                    // Everything was refused and answered: no transaction to open.
                    continue;
                }
            }
        }
        for settled in settle(&mut conn, &mut tails, std::mem::take(&mut batch)) {
            if publish.blocking_send(settled).is_err() {
                // The publisher is gone (its runtime shut down, or it panicked): answering is
                // impossible, and callers see their reply channel closed (`StoreError::Closed`).
                tracing::error!("the publisher is gone; the writer stops");
                return;
            }
        }
        nudge.committed();
        let took = started.elapsed();
        if took > SLOW_BATCH {
            tracing::warn!(?took, requests, "slow group commit");
        }
    }
    if let Err((_, e)) = conn.close() {
        tracing::warn!(error = %e, "closing the writer connection failed");
    }
    // Released before the publisher (dropping `publish`) reports the store closed, so
    // a store opened right after a close can take it.
    drop(lock);
    drop(publish);
}

/// Commits one batch and answers every job in it, on the calling thread (tests; a fresh
/// `Tails` is a writer that has just started).
#[cfg(test)]
pub(super) fn process(
    conn: &mut Connection,
    tails: &mut Tails,
    jobs: Vec<Job>,
    listener: &dyn CommitListener,
) {
    for settled in settle(conn, tails, jobs) {
        finish(settled, listener);
    }
}

/// Steps 1 and 2: commits one batch and settles every job in it, whatever happens.
fn settle(conn: &mut Connection, tails: &mut Tails, jobs: Vec<Job>) -> Vec<Settled> {
    let started = Instant::now();
    match run_batch(conn, tails, &jobs) {
        Ok(outcomes) => vec![Settled::now(jobs, outcomes, started)],
        Err(BatchFailed::Commit(e)) => {
            tracing::error!(error = %e, requests = jobs.len(), "group commit failed");
            vec![failed(jobs, &e, started)]
        }
        Err(BatchFailed::Aborted { index, error }) => {
            tracing::warn!(%error, request = index, "batch aborted; retrying one by one");
            jobs.into_iter()
                .map(|job| {
                    let jobs = vec![job];
                    let started = Instant::now();
                    match run_batch(conn, tails, &jobs) {
                        Ok(outcomes) => Settled::now(jobs, outcomes, started),
                        Err(BatchFailed::Commit(e)) => failed(jobs, &e, started),
                        Err(BatchFailed::Aborted { error, .. }) => {
                            Settled::now(jobs, vec![Outcome::Failed(error)], started)
                        }
                    }
                })
                .collect()
        }
    }
}

/// Steps 3 and 4: tell the listener, then answer the callers.
fn finish(
    Settled {
        jobs,
        outcomes,
        started,
        committed,
    }: Settled,
    listener: &dyn CommitListener,
) {
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

/// Nothing of the batch is durable: every job fails with the commit's error.
fn failed(jobs: Vec<Job>, error: &rusqlite::Error, started: Instant) -> Settled {
    let outcomes = jobs
        .iter()
        .map(|_| Outcome::Failed(StoreError::CommitFailed(error.to_string())))
        .collect();
    Settled::now(jobs, outcomes, started)
}

impl Job {
    /// Appends and receipts rely on the writer's [`Tails`], so on [`lock`].
    fn touches_events(&self) -> bool {
        matches!(self, Job::Append { .. } | Job::Receipt { .. })
    }

    fn answer(self, outcome: Outcome) {
        // A caller that stopped waiting (its task was cancelled) is no error: the write
        // stands, and a resend is answered as a duplicate.
        fn send<T>(reply: oneshot::Sender<StoreResult<T>>, r: StoreResult<T>) {
            let _ = reply.send(r);
        }
        let mixed_up = || StoreError::Corrupt("writer mixed up a reply".into());
        match (self, outcome) {
            (Job::Append { reply, .. }, Outcome::New(event, _, _)) => {
                send(reply, Ok(Appended::New(event)))
            }
            (Job::Append { reply, .. }, Outcome::Duplicate(seq)) => {
                send(reply, Ok(Appended::Duplicate { seq }))
            }
            (
                Job::Receipt { reply, .. }
                | Job::TouchVisitor { reply, .. }
                | Job::SaveCursor { reply, .. },
                Outcome::Done,
            ) => send(reply, Ok(())),
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
            Job::Receipt { reply, .. }
            | Job::TouchVisitor { reply, .. }
            | Job::SaveCursor { reply, .. } => {
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
fn run_batch(
    conn: &mut Connection,
    tails: &mut Tails,
    jobs: &[Job],
) -> Result<Vec<Outcome>, BatchFailed> {
    // IMMEDIATE takes the write lock now, waiting up to busy_timeout for pool writers. A
    // deferred transaction would read first and could then fail to upgrade with SQLITE_BUSY,
    // which busy_timeout does not retry.
    let started = Instant::now();
    conn.execute_batch("BEGIN IMMEDIATE")
        .map_err(BatchFailed::Commit)?;
    let mut outcomes = Vec::with_capacity(jobs.len());
    for (index, job) in jobs.iter().enumerate() {
        let outcome = match job {
            Job::Append { req, .. } => sql::append(conn, tails, req),
            Job::Receipt { receipt, .. } => sql::record_receipt(conn, tails, receipt),
            Job::CreateVisitor {
                site_id,
                token_hash,
                now,
                ..
            } => sql::create_visitor(conn, site_id, token_hash, *now).map(Outcome::Visitor),
            Job::TouchVisitor { id, now, .. } => sql::touch_visitor(conn, *id, *now),
            Job::CreateConversation { new, .. } => {
                sql::create_conversation(conn, new).map(|c| Outcome::Conversation(Box::new(c)))
            }
            Job::SaveCursor {
                reader, pos, now, ..
            } => sql::save_cursor(conn, reader, *pos, *now),
        };
        match outcome {
            Ok(outcome) => outcomes.push(outcome),
            Err(error) => {
                rollback(conn, tails);
                return Err(BatchFailed::Aborted { index, error });
            }
        }
    }
    let statements = started.elapsed();
    if let Err(e) = conn.execute_batch("COMMIT") {
        rollback(conn, tails);
        return Err(BatchFailed::Commit(e));
    }
    tails.commit();
    // Off by default; `RUST_LOG=switchboard_store=debug` shows where a batch's time goes
    // (statements vs. WAL write + fsync) when latency needs explaining.
    tracing::debug!(
        requests = jobs.len(),
        statements_us = statements.as_micros() as u64,
        commit_us = (started.elapsed() - statements).as_micros() as u64,
        "group commit"
    );
    Ok(outcomes)
}

/// Leaves the connection outside any transaction, whatever state it is in, and forgets
/// what the transaction taught the writer's memory.
fn rollback(conn: &mut Connection, tails: &mut Tails) {
    // Fails harmlessly with "no transaction is active" when SQLite already rolled back.
    let _ = conn.execute_batch("ROLLBACK");
    tails.rollback();
}
