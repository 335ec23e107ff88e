//! # The committed stream
//!
//! What reacts to a conversation after the fact reads the log of committed events
//! ([`switchboard_store::EventLog::read_log`]), not a call from the code path that wrote:
//! a relay killed between writing an event and reacting to it reacts after its restart.
//!
//! - [`Reader`]: one reaction (turning chats into tickets: [`tickets`]; webhook events for
//!   conversations: [`webhooks`]). Its handler must be idempotent: after a crash the events
//!   since its last saved cursor are handled again.
//! - [`Stream`]: the handle. The commit listener tells it what this relay committed
//!   ([`Stream::committed`]); each reader runs as its own task, keeps its place in the
//!   store (`stream_cursors`) and reports how far it has got, so a request can wait until
//!   the reactions to what it wrote have happened ([`Stream::settled`]).
//!
//! The fan-out to connections is the commit listener itself (synchronous, in commit order,
//! before the writer answers); readers are for reactions that touch the store or the
//! outside world.
//!
//! A new reader (no cursor yet) starts at the log's head: it does not replay history.
//! Several relays on one database run the same readers; their handlers are idempotent, so
//! that costs work, not correctness.

pub mod tickets;
pub mod webhooks;

use async_trait::async_trait;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use switchboard_store::{LogEntry, SharedStore, StoreError};
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// Events a reader takes per read.
const PAGE: u32 = 256;
/// How often an idle reader looks for events another relay committed (this relay's own
/// commits wake it at once).
const POLL: Duration = Duration::from_secs(1);
/// Waits after a failed read or a failed handler before trying again (doubling).
const BACKOFF_MIN: Duration = Duration::from_millis(50);
const BACKOFF_MAX: Duration = Duration::from_secs(5);
/// Longest a request waits in [`Stream::settled`]; the reaction happens later anyway.
const SETTLE_TIMEOUT: Duration = Duration::from_secs(5);

/// Why a handler did not finish with an event.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    /// Try again (the database is unreachable, a write was refused for now).
    #[error("retry: {0}")]
    Retry(String),
    /// This event can never be handled (it refers to what no longer exists): logged and
    /// passed over, so one bad event cannot stop the reader for good.
    #[error("skipped: {0}")]
    Skip(String),
}

impl From<StoreError> for ReadError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound
            | StoreError::Corrupt(_)
            | StoreError::Conflict(_)
            | StoreError::Invalid(_) => ReadError::Skip(e.to_string()),
            other => ReadError::Retry(other.to_string()),
        }
    }
}

/// One reaction to committed events.
#[async_trait]
pub trait Reader: Send + Sync + 'static {
    /// Its name in `stream_cursors`; never change it (the reader would start over at the
    /// head and miss what happened in between).
    fn name(&self) -> &'static str;
    /// The event kinds it handles (the `kind` tags); it is not given any other.
    fn kinds(&self) -> &'static [&'static str];
    /// Handles one event; must be idempotent.
    async fn handle(&self, entry: &LogEntry) -> Result<(), ReadError>;
}

/// Cheap cloneable handle; see the module docs.
#[derive(Clone, Default)]
pub struct Stream {
    inner: Arc<Inner>,
}

#[derive(Default)]
struct Inner {
    readers: Mutex<Vec<Slot>>,
}

/// What the stream knows of one reader.
#[derive(Clone)]
struct Slot {
    kinds: &'static [&'static str],
    /// The newest position this relay committed of a kind the reader handles: it wakes the
    /// reader (commits of other kinds do not, so a busy chat costs the readers nothing).
    relevant: Arc<watch::Sender<i64>>,
    /// How far the reader has got.
    done: watch::Receiver<i64>,
}

impl Stream {
    /// From the commit listener, for each batch: the position and the `kind` tag of every
    /// committed event, in commit order.
    pub fn committed<'a>(&self, events: impl Iterator<Item = (i64, &'a str)> + Clone) {
        for slot in self.slots().iter() {
            let newest = events
                .clone()
                .filter(|(_, kind)| slot.kinds.contains(kind))
                .map(|(pos, _)| pos)
                .max();
            if let Some(pos) = newest {
                slot.relevant.send_if_modified(|last| {
                    let newer = pos > *last;
                    if newer {
                        *last = pos;
                    }
                    newer
                });
            }
        }
    }

    /// Waits until every reader has handled what this relay had committed for it when
    /// called (so the ticket for a chat that just ended exists before the caller answers).
    /// Gives up quietly after [`SETTLE_TIMEOUT`]: the readers still get there.
    pub async fn settled(&self) {
        let readers = self.slots().clone();
        let all = async {
            for mut slot in readers {
                let target = *slot.relevant.borrow();
                // An error means the reader stopped (shutdown): nothing left to wait for.
                let _ = slot.done.wait_for(|pos| *pos >= target).await;
            }
        };
        if tokio::time::timeout(SETTLE_TIMEOUT, all).await.is_err() {
            tracing::warn!("stream readers are behind; not waiting longer");
        }
    }

    /// The readers; never held across an `.await`.
    fn slots(&self) -> std::sync::MutexGuard<'_, Vec<Slot>> {
        self.inner.readers.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Starts `reader` as a task of `tasks`; it stops when `shutdown` is cancelled.
    pub fn spawn(
        &self,
        reader: impl Reader,
        store: SharedStore,
        shutdown: CancellationToken,
        tasks: &TaskTracker,
    ) {
        // Until it has read its cursor, nobody waits for it (i64::MAX); then it reports.
        let (done, progress) = watch::channel(i64::MAX);
        let relevant = Arc::new(watch::Sender::new(0));
        let wake = relevant.subscribe();
        let slot = Slot {
            kinds: reader.kinds(),
            relevant,
            done: progress,
        };
        self.slots().push(slot);
        tasks.spawn(run(reader, store, wake, done, shutdown));
    }
}

async fn run(
    reader: impl Reader,
    store: SharedStore,
    mut committed: watch::Receiver<i64>,
    done: watch::Sender<i64>,
    shutdown: CancellationToken,
) {
    let name = reader.name();
    let mut backoff = Backoff::default();
    let mut cursor = loop {
        match start(&store, name).await {
            Ok(cursor) => break cursor,
            Err(e) => {
                tracing::warn!(reader = name, error = %e, "cannot read the stream cursor");
                if backoff.wait(&shutdown).await.is_err() {
                    return;
                }
            }
        }
    };
    done.send_replace(cursor);
    loop {
        let page = match store.read_log(cursor, reader.kinds(), PAGE).await {
            Ok(page) => page,
            Err(e) => {
                tracing::warn!(reader = name, error = %e, "cannot read the log");
                if backoff.wait(&shutdown).await.is_err() {
                    return;
                }
                continue;
            }
        };
        backoff = Backoff::default();
        for entry in &page.entries {
            loop {
                match reader.handle(entry).await {
                    Ok(()) => break,
                    Err(ReadError::Skip(why)) => {
                        tracing::error!(reader = name, pos = entry.pos, conversation = %entry.event.conversation_id, %why, "event passed over");
                        break;
                    }
                    Err(ReadError::Retry(why)) => {
                        tracing::warn!(reader = name, pos = entry.pos, %why, "handling failed; trying again");
                        // Not saved: after a restart this event is handled again.
                        if backoff.wait(&shutdown).await.is_err() {
                            return;
                        }
                    }
                }
            }
            backoff = Backoff::default();
        }
        if page.through > cursor {
            cursor = page.through;
            // A failed save costs only work: the events since the saved cursor are handled
            // again after a restart, and handlers are idempotent.
            if !page.entries.is_empty() {
                if let Err(e) = store
                    .save_cursor(name, cursor, crate::clock::now_ms())
                    .await
                {
                    tracing::warn!(reader = name, error = %e, "cannot save the stream cursor");
                }
            }
            done.send_replace(cursor);
            continue;
        }
        done.send_replace(cursor);
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = committed.changed() => {}
            _ = tokio::time::sleep(POLL) => {}
        }
    }
}

/// The saved cursor, or (for a reader's first run) the head, saved at once.
async fn start(store: &SharedStore, name: &str) -> Result<i64, StoreError> {
    if let Some(pos) = store.cursor(name).await? {
        return Ok(pos);
    }
    let head = store.log_head().await?;
    store
        .save_cursor(name, head, crate::clock::now_ms())
        .await?;
    tracing::info!(
        reader = name,
        pos = head,
        "stream reader starts at the head"
    );
    Ok(head)
}

struct Backoff(Duration);

impl Default for Backoff {
    fn default() -> Self {
        Backoff(BACKOFF_MIN)
    }
}

impl Backoff {
    /// Sleeps, doubling the next wait; `Err` when shutdown came first.
    async fn wait(&mut self, shutdown: &CancellationToken) -> Result<(), ()> {
        let wait = self.0;
        self.0 = (self.0 * 2).min(BACKOFF_MAX);
        tokio::select! {
            _ = shutdown.cancelled() => Err(()),
            _ = tokio::time::sleep(wait) => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use switchboard_shared::{EventKind, Side};
    use switchboard_store::kind_tag;

    /// Readers name the kinds they handle as text: each must be the tag an event is stored
    /// with, or the reader would never see it.
    #[test]
    fn the_kinds_readers_ask_for_are_stored_tags() {
        let stored: Vec<String> = [
            EventKind::Started,
            EventKind::Ended { by: Side::Agent },
            EventKind::LeftMessage,
        ]
        .iter()
        .map(|e| {
            let json = serde_json::to_string(e).unwrap_or_default();
            kind_tag(&json).unwrap_or_default().to_string()
        })
        .collect();
        for kind in super::tickets::KINDS.iter().chain(super::webhooks::KINDS) {
            assert!(stored.iter().any(|s| s == kind), "{kind} is no stored tag");
        }
        assert_eq!(kind_tag("not json"), None);
    }
}
