//! The delivery worker: one task that stores emissions in the outbox, sends what is due
//! (up to [`MAX_IN_FLIGHT`] requests at once, each in its own task), and records every
//! attempt with the delivery's next state.
//!
//! A delivery is *leased* when its request starts (its due time moves past the request's
//! timeout), so it is never sent twice at once, and a crash mid-request sends it again
//! after the lease: at least once, never silently dropped.

use super::event::{self, Emission};
use super::{backoff, signature, WebhookConfig};
use crate::clock::now_ms;
use anyhow::Context;
use std::time::{Duration, Instant};
use switchboard_store::webhooks::{AttemptOutcome, AttemptRecord, DueDelivery, NewWebhookEvent};
use switchboard_store::{SharedStore, StoreResult};
use tokio::sync::mpsc;
use tokio::task::{JoinError, JoinSet};
use tokio_util::sync::CancellationToken;

/// Requests in flight at once, across all subscriptions.
pub const MAX_IN_FLIGHT: usize = 16;
/// Added to the request timeout to form the lease.
const LEASE_MARGIN: Duration = Duration::from_secs(5);
/// The longest sleep between looks at the outbox (a safety net; new work wakes it).
const IDLE_WAKE: Duration = Duration::from_secs(30);
/// How long shutdown waits for requests already sent; the rest go again after restart.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(3);

pub struct Worker {
    store: SharedStore,
    cfg: WebhookConfig,
    client: reqwest::Client,
}

/// One finished request.
struct Sent {
    delivery_id: i64,
    attempt: AttemptRecord,
}

impl Worker {
    pub fn new(store: SharedStore, cfg: WebhookConfig) -> anyhow::Result<Worker> {
        let client = reqwest::Client::builder()
            .timeout(cfg.timeout)
            // A redirect is an answer, not a delivery: the receiver should be configured
            // with its final URL, and following could leak the body elsewhere.
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("Switchboard-Webhooks/", env!("CARGO_PKG_VERSION")))
            .build()
            .context("building the webhook HTTP client")?;
        Ok(Worker { store, cfg, client })
    }

    /// Runs until `shutdown`; then stores what is still queued and gives requests in
    /// flight [`SHUTDOWN_GRACE`] to finish.
    pub async fn run(
        self,
        mut rx: mpsc::Receiver<Emission>,
        wake: std::sync::Arc<tokio::sync::Notify>,
        shutdown: CancellationToken,
    ) {
        let mut sending: JoinSet<Sent> = JoinSet::new();
        let mut open = true;
        loop {
            let wait = self.start_due(&mut sending).await;
            tokio::select! {
                biased;
                _ = shutdown.cancelled() => break,
                Some(done) = sending.join_next(), if !sending.is_empty() => self.finish(done).await,
                received = rx.recv(), if open => match received {
                    Some(emission) => self.record(emission).await,
                    None => open = false,
                },
                _ = wake.notified() => {}
                _ = tokio::time::sleep(wait) => {}
            }
        }
        rx.close();
        while let Ok(emission) = rx.try_recv() {
            self.record(emission).await;
        }
        let drained = tokio::time::timeout(SHUTDOWN_GRACE, async {
            while let Some(done) = sending.join_next().await {
                self.finish(done).await;
            }
        })
        .await;
        if drained.is_err() {
            tracing::info!(
                requests = sending.len(),
                "webhook requests still running at shutdown; they are sent again after restart"
            );
            sending.abort_all();
        }
    }

    /// Stores the event and its deliveries (failures are logged: the channel path has
    /// nobody to tell).
    async fn record(&self, emission: Emission) {
        let kind = emission.kind();
        if let Err(e) = store_emission(&self.store, emission).await {
            tracing::error!(event = kind.as_str(), error = %e, "webhook event not recorded");
        }
    }

    /// Starts requests for what is due (as many as there is room for) and says how long to
    /// sleep: until the next delivery is due, or, with every slot taken, until a request
    /// finishes (which wakes the loop anyway). Looks with a read first, so an idle relay
    /// (no webhooks, nothing due) never takes the database's write lock here.
    async fn start_due(&self, sending: &mut JoinSet<Sent>) -> Duration {
        loop {
            let now = now_ms();
            match self.store.next_webhook_due().await {
                Ok(None) => return IDLE_WAKE,
                Ok(Some(at)) if at > now => {
                    let wait = u64::try_from(at - now).unwrap_or(0);
                    return Duration::from_millis(wait).min(IDLE_WAKE);
                }
                Ok(Some(_)) => {}
                Err(e) => {
                    tracing::error!(error = %e, "cannot read the next webhook due time");
                    return Duration::from_secs(1);
                }
            }
            let room = MAX_IN_FLIGHT.saturating_sub(sending.len());
            if room == 0 {
                return IDLE_WAKE;
            }
            let lease = now + millis(self.cfg.timeout + LEASE_MARGIN);
            let due = match self
                .store
                .claim_webhook_deliveries(now, lease, room as u32)
                .await
            {
                Ok(due) if !due.is_empty() => due,
                Ok(_) => return Duration::from_secs(1),
                Err(e) => {
                    tracing::error!(error = %e, "cannot lease due webhook deliveries");
                    return Duration::from_secs(1);
                }
            };
            for d in due {
                sending.spawn(send(self.client.clone(), d));
            }
        }
    }

    /// Records the attempt and what follows: delivered on 2xx, else a retry after the
    /// backoff, or giving up after the last attempt.
    async fn finish(&self, done: Result<Sent, JoinError>) {
        let sent = match done {
            Ok(sent) => sent,
            Err(e) => {
                // The lease brings the delivery back; nothing to record.
                tracing::error!(error = %e, "a webhook request task failed");
                return;
            }
        };
        let ok = sent
            .attempt
            .status_code
            .is_some_and(|c| (200..300).contains(&c));
        let outcome = if ok {
            AttemptOutcome::Delivered
        } else if sent.attempt.attempt >= self.cfg.attempts {
            tracing::warn!(
                delivery = sent.delivery_id,
                "webhook delivery failed; no attempts left"
            );
            AttemptOutcome::GaveUp
        } else {
            let wait = backoff::delay(
                self.cfg.retry_base,
                sent.attempt.attempt,
                backoff::random_jitter(),
            );
            AttemptOutcome::RetryAt(now_ms() + millis(wait))
        };
        if let Err(e) = self
            .store
            .record_webhook_attempt(sent.delivery_id, sent.attempt, outcome)
            .await
        {
            tracing::error!(delivery = sent.delivery_id, error = %e, "cannot record a webhook attempt");
        }
    }
}

fn millis(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

/// One POST of one delivery, signed at the moment it is sent.
async fn send(client: reqwest::Client, d: DueDelivery) -> Sent {
    let body = event::body(d.event_id, &d.kind, d.event_at, &d.data);
    let started_at = now_ms();
    let signature = signature::header(&d.secret, started_at / 1000, &body);
    let clock = Instant::now();
    let result = client
        .post(&d.url)
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .header("Switchboard-Event", &d.kind)
        .header("Switchboard-Delivery", d.delivery_id.to_string())
        .header("Switchboard-Signature", signature)
        .body(body)
        .send()
        .await;
    let (status_code, error) = match result {
        Ok(resp) => (Some(resp.status().as_u16()), None),
        Err(e) => (None, Some(describe(&e))),
    };
    Sent {
        delivery_id: d.delivery_id,
        attempt: AttemptRecord {
            attempt: d.attempts + 1,
            started_at,
            duration_ms: millis(clock.elapsed()),
            status_code,
            error,
        },
    }
}

/// The error with its causes ("connection refused" sits a few sources deep).
fn describe(e: &reqwest::Error) -> String {
    let mut text = if e.is_timeout() {
        "timed out".to_string()
    } else if e.is_connect() {
        "could not connect".to_string()
    } else {
        e.to_string()
    };
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

/// Stores the event and a delivery per subscriber, unless nobody subscribes to its type.
/// Idempotent: the event's natural key is stored once.
pub(crate) async fn store_emission(store: &SharedStore, emission: Emission) -> StoreResult<()> {
    let kind = emission.kind();
    // Most relays have no webhooks: ask the small table before reading anything else.
    let hooks = store.list_webhooks().await?;
    if !hooks
        .iter()
        .any(|h| h.events.iter().any(|e| e == kind.as_str()))
    {
        return Ok(());
    }
    let (dedup_key, data) = match &emission {
        Emission::Conversation(kind, id) => match store.conversation(*id).await? {
            Some(rec) => (
                event::conversation_key(*kind, *id),
                event::conversation_data(&rec),
            ),
            None => return Ok(()),
        },
        Emission::Ticket {
            kind,
            ticket,
            changed,
            reply,
        } => {
            // The author's name for the e-mail a site sends; a failed lookup only leaves
            // it out.
            let name = match reply.as_ref().and_then(|r| r.agent) {
                Some(id) => store.agent(id).await.ok().flatten().map(|a| a.display_name),
                None => None,
            };
            let reply = reply
                .as_ref()
                .map(|r| (r.body.as_str(), r.agent, name.as_deref()));
            (
                event::ticket_key(*kind, ticket),
                event::ticket_data(ticket, changed, reply),
            )
        }
    };
    store
        .enqueue_webhook_event(NewWebhookEvent {
            dedup_key,
            kind: kind.as_str().to_string(),
            data: data.to_string(),
            at: now_ms(),
        })
        .await?;
    Ok(())
}
