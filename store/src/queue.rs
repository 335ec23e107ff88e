//! The queue in front of a group-commit writer (both backends have one): callers hand it a
//! job with a reply channel and wait; `close` stops taking jobs and waits until the writer
//! has answered everything queued.

use crate::{StoreError, StoreResult};
use std::sync::Mutex;
use tokio::sync::{mpsc, oneshot};

pub(crate) struct JobQueue<J> {
    /// `None` once closed. Callers clone the sender under the lock (no await while holding
    /// it) and send outside; when the last clone is gone the channel closes and the writer
    /// drains what is queued and stops.
    jobs: Mutex<Option<mpsc::Sender<J>>>,
    /// Completes when the writer has stopped; taken by the first `close` to wait.
    stopped: Mutex<Option<oneshot::Receiver<()>>>,
}

impl<J> JobQueue<J> {
    pub fn new(jobs: mpsc::Sender<J>, stopped: oneshot::Receiver<()>) -> Self {
        JobQueue {
            jobs: Mutex::new(Some(jobs)),
            stopped: Mutex::new(Some(stopped)),
        }
    }

    /// Hands a job to the writer and waits for its answer.
    pub async fn submit<T>(
        &self,
        job: impl FnOnce(oneshot::Sender<StoreResult<T>>) -> J,
    ) -> StoreResult<T> {
        let sender = match self.jobs.lock() {
            Ok(guard) => guard.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        };
        let sender = sender.ok_or(StoreError::Closed)?;
        let (reply, answer) = oneshot::channel();
        sender
            .send(job(reply))
            .await
            .map_err(|_| StoreError::Closed)?;
        // Our clone must not outlive the send: `close` waits for every clone to go.
        drop(sender);
        // The writer answers every job it takes; a dropped reply means it died.
        answer.await.map_err(|_| StoreError::Closed)?
    }

    /// Stops taking jobs (later calls get [`StoreError::Closed`]) and waits until the writer
    /// has answered everything queued or being queued. Safe to call more than once.
    pub async fn close(&self) {
        drop(take(&self.jobs));
        if let Some(stopped) = take(&self.stopped) {
            // An error means the writer ended without reporting: it panicked.
            if stopped.await.is_err() {
                tracing::error!("the store's writer failed");
            }
        }
    }
}

fn take<T>(m: &Mutex<Option<T>>) -> Option<T> {
    match m.lock() {
        Ok(mut guard) => guard.take(),
        Err(poisoned) => poisoned.into_inner().take(),
    }
}
