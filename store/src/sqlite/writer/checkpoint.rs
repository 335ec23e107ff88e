//! WAL checkpoints off the writer's thread.
//!
//! SQLite checkpoints in the committing connection once the WAL passes
//! `wal_autocheckpoint` pages (default 1,000). Under load one batch dirties about that many
//! pages, so the writer checkpointed after nearly every commit: ~10 % of its time (perf),
//! with an extra `fsync` of the database file in the path of every acknowledgement.
//! Here a thread with its own connection runs `PASSIVE` checkpoints (they never block the
//! writer) when the writer reports commits, at most every [`PAUSE`]. The writer keeps a high
//! `wal_autocheckpoint` ([`WRITER_AUTOCHECKPOINT`]) as the backstop: a passive checkpoint
//! cannot finish while commits keep arriving, and only a checkpoint that finished lets the
//! next transaction start the WAL file over; the writer's own checkpoint is then small,
//! because this thread has already copied almost everything.

use super::sql;
use std::path::Path;
use std::sync::mpsc::{sync_channel, Receiver, RecvTimeoutError, SyncSender, TrySendError};
use std::time::Duration;

/// Pages in the WAL before the writer checkpoints itself (~32 MiB at 4 KiB pages).
pub(super) const WRITER_AUTOCHECKPOINT: u32 = 8_000;

/// Shortest time between two checkpoints of this thread. Short, because under steady load
/// only the writer's backstop checkpoint restarts the WAL, inside a commit, and it copies what
/// this thread has not yet copied: at 200 ms those commits grew from 6 to 19 ms over a minute
/// at 10,000 msgs/s; at 20 ms, 4 to 12 ms, for ~10 % of a core here (docs/PERFORMANCE.md).
const PAUSE: Duration = Duration::from_millis(20);

/// The writer's side: reports commits without ever waiting.
pub(super) struct Nudge(SyncSender<()>);

impl Nudge {
    pub(super) fn committed(&self) {
        // Full means a nudge is already pending; disconnected means the thread stopped
        // (the writer's backstop still checkpoints).
        if let Err(TrySendError::Disconnected(())) = self.0.try_send(()) {
            tracing::debug!("checkpoint thread gone");
        }
    }
}

/// Starts the checkpoint thread. It stops, after a last checkpoint, when the [`Nudge`] is
/// dropped (the writer stopped).
pub(super) fn spawn(path: &Path) -> std::io::Result<Nudge> {
    let (tx, rx) = sync_channel(1);
    let path = path.to_path_buf();
    std::thread::Builder::new()
        .name("sqlite-checkpoint".into())
        .spawn(move || run(&path, rx))?;
    Ok(Nudge(tx))
}

fn run(path: &Path, rx: Receiver<()>) {
    let conn = match sql::open(path) {
        Ok(conn) => conn,
        Err(e) => {
            tracing::warn!(error = %e, "no checkpoint thread; the writer checkpoints alone");
            return;
        }
    };
    // A nudge, or a minute without one (the pools' rare writes also grow the WAL).
    while let Ok(()) | Err(RecvTimeoutError::Timeout) = rx.recv_timeout(Duration::from_secs(60)) {
        checkpoint(&conn);
        std::thread::sleep(PAUSE);
    }
    checkpoint(&conn);
}

fn checkpoint(conn: &rusqlite::Connection) {
    let started = std::time::Instant::now();
    // (busy, pages in the log, pages checkpointed)
    match conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |r| {
        Ok((r.get::<_, i64>(1)?, r.get::<_, i64>(2)?))
    }) {
        Ok((log, copied)) => tracing::debug!(
            log,
            copied,
            took_us = started.elapsed().as_micros() as u64,
            "WAL checkpoint"
        ),
        Err(e) => tracing::warn!(error = %e, "WAL checkpoint failed"),
    }
}
