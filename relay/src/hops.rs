//! Opt-in timing of the hops a message takes inside the relay (`--hop-times`): waiting for
//! the writer, the transaction, the hand-over to the publisher, a receiving connection's
//! mailbox, and the socket write. Once a second one log line gives each hop's count and
//! p50 / p99 / max, and with `--hop-times-file` one JSON line with the histograms themselves
//! (`{"at_ms": …, "hops": {"queue": [[µs, count], …], …}}`), which the load bench merges
//! per rate step. The bench's "stamp → received" says how much of a message's time is spent
//! after the relay took it; this says where.
//!
//! Off by default, and then a hop costs one relaxed atomic load. On, each record takes a
//! process-wide lock for a histogram update (tens of nanoseconds, uncontended nearly
//! always); it is a measuring instrument, not something to leave on in production.

use hdrhistogram::Histogram;
use std::io::Write;
use std::path::PathBuf;
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

/// The hops in order, as named in the log and the JSON lines.
pub const NAMES: [&str; 5] = ["queue", "commit", "publish", "mailbox", "write"];

/// The histograms, one per hop, behind an on/off switch. One process-wide instance
/// ([`RECORDER`]); tests make their own.
struct Recorder {
    enabled: AtomicBool,
    hists: Mutex<Vec<Histogram<u64>>>,
}

static RECORDER: Recorder = Recorder::new();

/// True while hop timing is on (callers skip taking `Instant`s otherwise).
pub fn enabled() -> bool {
    RECORDER.enabled.load(Ordering::Relaxed)
}

/// Records the time from `from` to `to` for `hop`.
pub fn record(hop: Hop, from: Instant, to: Instant) {
    RECORDER.record(hop, from, to);
}

impl Recorder {
    const fn new() -> Recorder {
        Recorder {
            enabled: AtomicBool::new(false),
            hists: Mutex::new(Vec::new()),
        }
    }

    fn enable(&self) -> anyhow::Result<()> {
        let mut hists = self
            .hists
            .lock()
            .map_err(|_| anyhow::anyhow!("hop histograms poisoned"))?;
        hists.clear();
        for _ in NAMES {
            // 1 µs to 10 min, 2 significant digits.
            hists.push(Histogram::new_with_bounds(1, 600_000_000, 2)?);
        }
        self.enabled.store(true, Ordering::Relaxed);
        Ok(())
    }

    fn record(&self, hop: Hop, from: Instant, to: Instant) {
        if !self.enabled.load(Ordering::Relaxed) {
            return;
        }
        let us = u64::try_from(to.saturating_duration_since(from).as_micros()).unwrap_or(u64::MAX);
        if let Ok(mut hists) = self.hists.lock() {
            if let Some(h) = hists.get_mut(hop as usize) {
                h.saturating_record(us.max(1));
            }
        }
    }

    /// Each hop's histogram since the last call (then cleared); `None` only if the lock is
    /// poisoned.
    fn take(&self) -> Option<Snapshot> {
        let mut hists = self.hists.lock().ok()?;
        let taken = hists
            .iter_mut()
            .map(|h| {
                let taken = h.clone();
                h.reset();
                taken
            })
            .collect();
        Some(Snapshot(taken))
    }
}

/// Turns hop timing on and, every second until `stop`, logs the histograms (and appends
/// them to `file`, if given), then clears them.
pub fn start(file: Option<PathBuf>, stop: CancellationToken) -> anyhow::Result<()> {
    let mut out = match &file {
        Some(path) => Some(
            std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)
                .map_err(|e| anyhow::anyhow!("opening {}: {e}", path.display()))?,
        ),
        None => None,
    };
    RECORDER.enable()?;
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(1));
        tick.tick().await;
        loop {
            tokio::select! {
                _ = tick.tick() => {}
                _ = stop.cancelled() => break,
            }
            let Some(snapshot) = RECORDER.take() else {
                continue;
            };
            if !snapshot.is_empty() {
                tracing::info!(target: "switchboard::hops", "hops (µs): {}", snapshot.summary());
            }
            // Every second, quiet ones too: a reader waiting for the second that holds a
            // given moment knows it has it once a later line exists.
            if let Some(f) = &mut out {
                // A few KiB a second; a failed write loses only this diagnostic.
                let line = snapshot.json(crate::clock::now_ms());
                if let Err(e) = writeln!(f, "{line}") {
                    tracing::warn!(error = %e, "writing hop times failed; no more will be written");
                    out = None;
                }
            }
        }
    });
    Ok(())
}

/// What each hop recorded over one period, in [`NAMES`] order.
struct Snapshot(Vec<Histogram<u64>>);

impl Snapshot {
    fn is_empty(&self) -> bool {
        self.0.iter().all(Histogram::is_empty)
    }

    /// `queue n=… p50=… p99=… p999=… max=… | commit …`, in µs.
    fn summary(&self) -> String {
        let parts: Vec<String> = NAMES
            .iter()
            .zip(&self.0)
            .map(|(name, h)| {
                format!(
                    "{name} n={} p50={} p99={} p999={} max={}",
                    h.len(),
                    h.value_at_quantile(0.5),
                    h.value_at_quantile(0.99),
                    h.value_at_quantile(0.999),
                    h.max()
                )
            })
            .collect();
        parts.join(" | ")
    }

    /// `{"at_ms": …, "hops": {"queue": [[µs, count], …], …}}`.
    fn json(&self, at_ms: i64) -> String {
        let hops: serde_json::Map<String, serde_json::Value> = NAMES
            .iter()
            .zip(&self.0)
            .map(|(name, h)| {
                let pairs: Vec<(u64, u64)> = h
                    .iter_recorded()
                    .map(|v| (v.value_iterated_to(), v.count_at_value()))
                    .collect();
                ((*name).to_string(), serde_json::json!(pairs))
            })
            .collect();
        serde_json::json!({ "at_ms": at_ms, "hops": hops }).to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_each_hop_once_enabled_and_clears_after_a_report() {
        let rec = Recorder::new();
        let t0 = Instant::now();
        rec.record(Hop::Commit, t0, t0 + Duration::from_micros(900));
        assert!(rec.take().unwrap().is_empty(), "off: nothing is recorded");

        rec.enable().unwrap();
        rec.record(Hop::Commit, t0, t0 + Duration::from_micros(900));
        rec.record(Hop::Commit, t0, t0 + Duration::from_micros(1_500));
        rec.record(Hop::Write, t0, t0 + Duration::from_micros(40));
        let snapshot = rec.take().unwrap();
        let line = snapshot.summary();
        assert!(line.starts_with("queue n=0 "), "{line}");
        assert!(line.contains("| commit n=2 p50=903 "), "{line}");
        assert!(line.contains(" max=1503 | publish n=0"), "{line}");
        assert!(
            line.contains("| write n=1 p50=40 p99=40 p999=40 max=40"),
            "{line}"
        );
        let json: serde_json::Value = serde_json::from_str(&snapshot.json(7)).unwrap();
        assert_eq!(json["at_ms"], 7);
        assert_eq!(
            json["hops"]["commit"],
            serde_json::json!([[903, 1], [1503, 1]])
        );
        assert_eq!(json["hops"]["queue"], serde_json::json!([]));
        assert!(rec.take().unwrap().is_empty(), "cleared after each report");
    }
}
