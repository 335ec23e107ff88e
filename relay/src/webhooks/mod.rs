//! # Webhooks
//!
//! Tells a site's systems what happened: `conversation.started`, `conversation.ended`,
//! `ticket.created`, `ticket.updated`, `ticket.resolved`, as signed JSON POSTs.
//!
//! - [`Events`]: the handle the domain holds; each emission point is one line and never
//!   waits or fails the caller.
//! - [`event`]: the event types, their `data`, their natural keys, the body.
//! - [`worker`]: records emissions in the outbox (the store, before any sending), sends
//!   due deliveries, records every attempt, schedules retries.
//! - [`signature`]: the `Switchboard-Signature` header (HMAC-SHA256, Stripe-style).
//! - [`backoff`]: the retry schedule (exponential, with jitter).
//!
//! Guarantee: at least once per subscription while attempts last. Conversation events and
//! the tickets the system opens are stored by readers of the committed stream
//! ([`crate::stream`]) before they move on ([`Events::record_now`]), so a crash loses
//! none of them. Other ticket emissions wait in a bounded channel for milliseconds before
//! they are stored; a crash in that window (or a full channel, which is logged) loses
//! them. Once stored, a delivery survives restarts.

pub mod backoff;
pub mod event;
pub mod signature;
pub mod worker;

pub use event::EventType;

pub use event::Emission;
use std::time::Duration;
use switchboard_store::tickets::TicketRecord;
use switchboard_store::SharedStore;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// Emissions waiting to be stored. Beyond this the relay is far behind its database, and
/// dropping (with a log line) is better than growing without bound.
const CHANNEL_CAPACITY: usize = 10_000;

/// Delivery settings (from `serve` flags).
#[derive(Debug, Clone)]
pub struct WebhookConfig {
    /// Attempts per delivery, the first included.
    pub attempts: u32,
    /// The wait after the first failure; later waits grow by [`backoff::FACTOR`].
    pub retry_base: Duration,
    /// One request's time limit.
    pub timeout: Duration,
}

impl Default for WebhookConfig {
    fn default() -> Self {
        Self {
            attempts: 5,
            retry_base: Duration::from_secs(1),
            timeout: Duration::from_secs(10),
        }
    }
}

/// Cheap cloneable handle: where the domain reports what happened.
#[derive(Clone)]
pub struct Events {
    tx: mpsc::Sender<Emission>,
    store: SharedStore,
    /// Wakes the worker when an event was stored without the channel.
    wake: std::sync::Arc<tokio::sync::Notify>,
    /// Owns the worker, so shutdown can wait for it (see [`Events::stopped`]).
    tasks: TaskTracker,
}

impl Events {
    /// Starts the worker; it stops when `shutdown` is cancelled.
    pub fn start(
        store: SharedStore,
        cfg: WebhookConfig,
        shutdown: CancellationToken,
    ) -> anyhow::Result<Events> {
        let (tx, rx) = mpsc::channel(CHANNEL_CAPACITY);
        let worker = worker::Worker::new(store.clone(), cfg)?;
        let wake = std::sync::Arc::new(tokio::sync::Notify::new());
        let tasks = TaskTracker::new();
        tasks.spawn(worker.run(rx, wake.clone(), shutdown));
        tasks.close();
        Ok(Events {
            tx,
            store,
            wake,
            tasks,
        })
    }

    /// Stores the event (and its deliveries) now, for callers that must not go on before
    /// it is durable (readers of the committed stream). Idempotent by the event's key.
    pub async fn record_now(&self, emission: Emission) -> switchboard_store::StoreResult<()> {
        worker::store_emission(&self.store, emission).await?;
        self.wake.notify_one();
        Ok(())
    }

    /// `ticket.created`, stored before this returns (see [`Events::record_now`]).
    pub async fn ticket_created_now(
        &self,
        ticket: &TicketRecord,
    ) -> switchboard_store::StoreResult<()> {
        self.record_now(Emission::Ticket {
            kind: EventType::TicketCreated,
            ticket: Box::new(ticket.clone()),
            changed: Vec::new(),
            reply: None,
        })
        .await
    }

    /// Waits until the worker has stored what it received and finished (or abandoned to a
    /// later restart) its requests. Call after shutdown was requested, before the store
    /// closes.
    pub async fn stopped(&self) {
        self.tasks.wait().await;
    }

    fn emit(&self, emission: Emission) {
        let kind = emission.kind().as_str();
        if let Err(e) = self.tx.try_send(emission) {
            tracing::warn!(event = kind, error = %e, "webhook event dropped");
        }
    }

    /// Safe to call again for the same ticket (e.g. a retried conversion): sent once.
    pub fn ticket_created(&self, ticket: &TicketRecord) {
        self.emit(Emission::Ticket {
            kind: EventType::TicketCreated,
            ticket: Box::new(ticket.clone()),
            changed: Vec::new(),
            reply: None,
        });
    }

    /// After a stored change: `ticket.updated`, and `ticket.resolved` if it resolved it;
    /// `reply` is the public reply the change carried.
    pub fn ticket_changed(
        &self,
        before: &TicketRecord,
        after: &TicketRecord,
        reply: Option<event::PublicReply>,
    ) {
        for emission in event::ticket_changes(before, after, reply) {
            self.emit(emission);
        }
    }
}
