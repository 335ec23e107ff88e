//! Opt-in timing of the hops a message takes inside the relay (`--hop-times`): waiting for
//! the writer, the transaction, the hand-over to the publisher, a receiving connection's
//! mailbox, and the socket write. Once a second one log line gives each hop's count and
//! p50 / p99 / max; the load bench's "stamp → received" says how much of a message's time
//! is spent after the relay took it, this says where.
//!
//! Off by default, and then a hop costs one relaxed atomic load. On, each record takes a
//! process-wide lock for a histogram update (tens of nanoseconds, uncontended nearly
//! always); it is a measuring instrument, not something to leave on in production.

use hdrhistogram::Histogram;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;

/// One leg of a message's way from the stamp (`at`) to the receiving socket.
#[derive(Debug, Clone, Copy)]
pub enum Hop {
    /// Handed to the store → its transaction begins (the writer was busy).
    Queue = 0,
    /// Transaction begins → durable (statements, `COMMIT`, `fsync`).
    Commit,
    /// Durable → the publisher takes the batch (a tokio worker must be free).
    Publish,
    /// Published to the hub → a receiving connection takes it from its mailbox.
    Mailbox,
    /// A connection's flush: the `send` that puts its frames on the socket.
    Write,
}

const NAMES: [&str; 5] = ["queue", "commit", "publish", "mailbox", "write"];

static ENABLED: AtomicBool = AtomicBool::new(false);
static HISTOGRAMS: Mutex<Vec<Histogram<u64>>> = Mutex::new(Vec::new());

/// True while hop timing is on (callers skip taking `Instant`s otherwise).
pub fn enabled() -> bool {
    ENABLED.load(Ordering::Relaxed)
}

/// Records the time from `from` to `to` for `hop`.
pub fn record(hop: Hop, from: Instant, to: Instant) {
    if !enabled() {
        return;
    }
    let us = u64::try_from(to.saturating_duration_since(from).as_micros()).unwrap_or(u64::MAX);
    if let Ok(mut hists) = HISTOGRAMS.lock() {
        if let Some(h) = hists.get_mut(hop as usize) {
            h.saturating_record(us.max(1));
        }
    }
}

/// Turns hop timing on and logs (then clears) the histograms every second until `stop`.
pub fn start(stop: CancellationToken) -> anyhow::Result<()> {
    {
        let mut hists = HISTOGRAMS
            .lock()
            .map_err(|_| anyhow::anyhow!("hop histograms poisoned"))?;
        hists.clear();
        for _ in NAMES {
            // 1 µs to 10 min, 2 significant digits.
            hists.push(Histogram::new_with_bounds(1, 600_000_000, 2)?);
        }
    }
    ENABLED.store(true, Ordering::Relaxed);
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(1));
        tick.tick().await;
        loop {
            tokio::select! {
                _ = tick.tick() => {
                    if let Some(line) = take_report() {
                        tracing::info!(target: "switchboard::hops", "hops (µs): {line}");
                    }
                }
                _ = stop.cancelled() => break,
            }
        }
    });
    Ok(())
}

/// Each hop's figures since the last call (then cleared), or `None` if nothing was recorded.
fn take_report() -> Option<String> {
    let mut hists = HISTOGRAMS.lock().ok()?;
    if hists.iter().all(|h| h.is_empty()) {
        return None;
    }
    let mut line = String::new();
    for (name, h) in NAMES.iter().zip(hists.iter_mut()) {
        if !line.is_empty() {
            line.push_str(" | ");
        }
        line.push_str(&format!(
            "{name} n={} p50={} p99={} p999={} max={}",
            h.len(),
            h.value_at_quantile(0.5),
            h.value_at_quantile(0.99),
            h.value_at_quantile(0.999),
            h.max()
        ));
        h.reset();
    }
    Some(line)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn records_each_hop_once_started_and_clears_after_a_report() {
        let t0 = Instant::now();
        record(Hop::Commit, t0, t0 + Duration::from_micros(900));
        assert!(take_report().is_none(), "off: nothing is recorded");

        let stop = CancellationToken::new();
        start(stop.clone()).unwrap();
        record(Hop::Commit, t0, t0 + Duration::from_micros(900));
        record(Hop::Commit, t0, t0 + Duration::from_micros(1_500));
        record(Hop::Write, t0, t0 + Duration::from_micros(40));
        let line = take_report().unwrap();
        assert!(line.starts_with("queue n=0 "), "{line}");
        assert!(line.contains("| commit n=2 p50=903 "), "{line}");
        assert!(line.contains(" max=1503 | publish n=0"), "{line}");
        assert!(
            line.contains("| write n=1 p50=40 p99=40 p999=40 max=40"),
            "{line}"
        );
        assert!(take_report().is_none(), "cleared after each report");
        stop.cancel();
    }
}
