//! What is counted and how it is merged.
//!
//! A message is identified by (conversation, which side sent it, the sender's message number).
//! The sender records which numbers the relay acknowledged (`sent`); the receiver — the
//! *other* side of the conversation, often in another worker process — records which numbers
//! reached it and how long after the send timestamp in the body. The coordinator merges both
//! sets over all workers: acknowledged but never received is **lost**, received twice by
//! the same connection is **duplicated**.

use hdrhistogram::Histogram;
use serde::{Deserialize, Serialize};
use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet, HashMap};

/// Latencies are recorded in microseconds, up to a minute, with 3 significant digits.
pub fn new_histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 60_000_000, 3).expect("static histogram bounds are valid")
}

/// Cumulative per-worker counts of everything that went wrong (or closed).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Counters {
    pub connect_failed: u64,
    /// Connected but no welcome (refused hello, timeout).
    pub hello_failed: u64,
    /// `error` frames by code.
    pub errors: BTreeMap<String, u64>,
    /// Closes by code (`1006` when the socket just broke, `eof` for an end without a close).
    pub closes: BTreeMap<String, u64>,
    /// Frames we could not parse as a `ServerFrame`.
    pub unparsed: u64,
    /// Server frames by type, for the curious (typing, queue, receipts…). Borrowed names:
    /// counting a frame must not allocate (it runs for every frame the generator reads).
    pub frames_in: BTreeMap<Cow<'static, str>, u64>,
}

impl Counters {
    pub fn add(&mut self, other: &Counters) {
        self.connect_failed += other.connect_failed;
        self.hello_failed += other.hello_failed;
        self.unparsed += other.unparsed;
        for (k, v) in &other.errors {
            *self.errors.entry(k.clone()).or_default() += v;
        }
        for (k, v) in &other.closes {
            *self.closes.entry(k.clone()).or_default() += v;
        }
        for (k, v) in &other.frames_in {
            *self.frames_in.entry(k.clone()).or_default() += v;
        }
    }
}

/// Key of one direction of one conversation: (conversation id, sent by the agent).
pub type Stream = (i64, bool);

/// A set of message numbers as inclusive ranges (one range when nothing is missing).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct MsgSet {
    pub conversation: i64,
    pub from_agent: bool,
    pub ranges: Vec<(u32, u32)>,
}

/// A worker's live counts for the current traffic step.
pub struct StepStats {
    pub sent: u64,
    pub typing_sent: u64,
    pub acked: u64,
    pub ack_duplicate: u64,
    pub received: u64,
    pub duplicates: u64,
    pub latency: Histogram<u64>,
    pub ack_latency: Histogram<u64>,
    /// The relay's `at` stamp (taken as it accepts the message) → the other side has it.
    pub after_stamp: Histogram<u64>,
    pub acked_ids: HashMap<Stream, BTreeSet<u32>>,
    pub received_ids: HashMap<Stream, BTreeSet<u32>>,
}

impl Default for StepStats {
    fn default() -> Self {
        StepStats {
            sent: 0,
            typing_sent: 0,
            acked: 0,
            ack_duplicate: 0,
            received: 0,
            duplicates: 0,
            latency: new_histogram(),
            ack_latency: new_histogram(),
            after_stamp: new_histogram(),
            acked_ids: HashMap::new(),
            received_ids: HashMap::new(),
        }
    }
}

impl StepStats {
    pub fn record_ack(&mut self, stream: Stream, no: u32, micros: u64, duplicate: bool) {
        self.acked += 1;
        if duplicate {
            self.ack_duplicate += 1;
        }
        self.ack_latency.saturating_record(micros.max(1));
        self.acked_ids.entry(stream).or_default().insert(no);
    }

    /// Records a message's arrival, `micros` after it was sent and `after_stamp` after the
    /// relay stamped it. Returns false when this connection had already received it.
    pub fn record_receive(
        &mut self,
        stream: Stream,
        no: u32,
        micros: u64,
        after_stamp: u64,
    ) -> bool {
        if !self.received_ids.entry(stream).or_default().insert(no) {
            self.duplicates += 1;
            return false;
        }
        self.received += 1;
        self.latency.saturating_record(micros.max(1));
        self.after_stamp.saturating_record(after_stamp.max(1));
        true
    }

    pub fn into_report(self, step: u32, busy_secs: f64) -> StepReport {
        StepReport {
            step,
            busy_secs,
            sent: self.sent,
            typing_sent: self.typing_sent,
            acked: self.acked,
            ack_duplicate: self.ack_duplicate,
            received: self.received,
            duplicates: self.duplicates,
            latency: histogram_pairs(&self.latency),
            ack_latency: histogram_pairs(&self.ack_latency),
            after_stamp: histogram_pairs(&self.after_stamp),
            acked_ids: to_sets(self.acked_ids),
            received_ids: to_sets(self.received_ids),
        }
    }
}

/// One worker's result for one traffic step, as sent to the coordinator.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StepReport {
    pub step: u32,
    /// From the first send until the last acknowledgement (or the drain gave up).
    pub busy_secs: f64,
    pub sent: u64,
    pub typing_sent: u64,
    pub acked: u64,
    pub ack_duplicate: u64,
    pub received: u64,
    pub duplicates: u64,
    /// (microseconds, count) pairs of the delivery-latency histogram.
    pub latency: Vec<(u64, u64)>,
    pub ack_latency: Vec<(u64, u64)>,
    #[serde(default)]
    pub after_stamp: Vec<(u64, u64)>,
    pub acked_ids: Vec<MsgSet>,
    pub received_ids: Vec<MsgSet>,
}

/// (value, count) pairs of a histogram, to ship it from a worker to the coordinator.
pub fn histogram_pairs(h: &Histogram<u64>) -> Vec<(u64, u64)> {
    h.iter_recorded()
        .map(|v| (v.value_iterated_to(), v.count_at_value()))
        .collect()
}

pub fn add_pairs(h: &mut Histogram<u64>, pairs: &[(u64, u64)]) {
    for &(v, n) in pairs {
        h.saturating_record_n(v, n);
    }
}

fn to_sets(map: HashMap<Stream, BTreeSet<u32>>) -> Vec<MsgSet> {
    map.into_iter()
        .map(|((conversation, from_agent), set)| {
            let mut ranges: Vec<(u32, u32)> = Vec::new();
            for n in set {
                match ranges.last_mut() {
                    Some(r) if r.1 + 1 == n => r.1 = n,
                    _ => ranges.push((n, n)),
                }
            }
            MsgSet {
                conversation,
                from_agent,
                ranges,
            }
        })
        .collect()
}

/// Every message number received anywhere during the run, by stream: used to decide which
/// acknowledged messages were lost (a message acknowledged in one step may arrive during
/// the next step's traffic if a drain was too short; it is late, not lost).
#[derive(Default)]
pub struct ReceivedIndex(HashMap<Stream, BTreeSet<u32>>);

impl ReceivedIndex {
    pub fn add(&mut self, sets: &[MsgSet]) {
        for s in sets {
            let e = self.0.entry((s.conversation, s.from_agent)).or_default();
            for &(lo, hi) in &s.ranges {
                e.extend(lo..=hi);
            }
        }
    }

    /// Acknowledged messages in `acked` that nobody received.
    pub fn missing(&self, acked: &[MsgSet]) -> u64 {
        let mut lost = 0;
        for s in acked {
            let got = self.0.get(&(s.conversation, s.from_agent));
            for &(lo, hi) in &s.ranges {
                lost += match got {
                    Some(g) => (lo..=hi).filter(|n| !g.contains(n)).count() as u64,
                    None => u64::from(hi - lo + 1),
                };
            }
        }
        lost
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_acknowledged_message_nobody_received_is_lost_and_a_second_copy_is_a_duplicate() {
        let mut sender = StepStats::default();
        for n in 1..=5 {
            sender.record_ack((7, false), n, 100, false);
        }
        let mut receiver = StepStats::default();
        for n in [1, 2, 4, 5] {
            assert!(receiver.record_receive((7, false), n, 200, 100));
        }
        assert!(!receiver.record_receive((7, false), 4, 200, 100));
        let s = sender.into_report(0, 1.0);
        let r = receiver.into_report(0, 1.0);
        assert_eq!(s.acked_ids[0].ranges, vec![(1, 5)]);
        assert_eq!(r.received_ids[0].ranges, vec![(1, 2), (4, 5)]);
        assert_eq!(r.duplicates, 1);
        let mut index = ReceivedIndex::default();
        index.add(&r.received_ids);
        assert_eq!(index.missing(&s.acked_ids), 1);
    }
}
