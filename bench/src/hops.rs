//! The relay's hop times (`switchboard serve --hop-times-file`): one JSON line a second with
//! each hop's histogram (`{"at_ms": …, "hops": {"queue": [[µs, count], …], …}}`), merged here
//! over a rate step, so a step reports where inside the relay its messages spent their time.

use crate::metrics::{add_pairs, new_histogram};
use crate::report::Percentiles;
use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::Path;

/// The relay's hops in the order a message takes them (relay/src/hops.rs).
pub const ORDER: [&str; 5] = ["queue", "commit", "publish", "mailbox", "write"];

#[derive(Deserialize)]
struct Line {
    at_ms: i64,
    hops: BTreeMap<String, Vec<(u64, u64)>>,
}

/// One hop's times over a step.
#[derive(Debug, Serialize)]
pub struct HopTimes {
    pub hop: String,
    pub times: Percentiles,
}

/// Waits (up to `timeout`) until the relay has written the second that holds `to_ms`, then
/// merges the lines whose second overlaps `[from_ms, to_ms]`: a line covers the second
/// before its `at_ms`, and the relay writes one every second. Hops the relay reports that
/// [`ORDER`] does not know come last.
pub async fn step(
    file: &Path,
    from_ms: i64,
    to_ms: i64,
    timeout: std::time::Duration,
) -> Result<Vec<HopTimes>> {
    let began = std::time::Instant::now();
    loop {
        let lines = read(file)?;
        if lines.iter().any(|l| l.at_ms >= to_ms) || began.elapsed() >= timeout {
            return Ok(merge(lines, from_ms, to_ms));
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
}

fn read(file: &Path) -> Result<Vec<Line>> {
    let text = std::fs::read_to_string(file)
        .with_context(|| format!("reading the relay's hop times {}", file.display()))?;
    // The relay may be writing the last line right now: a torn last line is skipped.
    let mut lines: Vec<Line> = text
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect();
    lines.sort_by_key(|l| l.at_ms);
    Ok(lines)
}

fn merge(lines: Vec<Line>, from_ms: i64, to_ms: i64) -> Vec<HopTimes> {
    let mut merged: BTreeMap<String, hdrhistogram::Histogram<u64>> = BTreeMap::new();
    for line in lines.into_iter().filter(|l| l.at_ms > from_ms) {
        let last = line.at_ms >= to_ms;
        for (hop, pairs) in line.hops {
            add_pairs(merged.entry(hop).or_insert_with(new_histogram), &pairs);
        }
        if last {
            break;
        }
    }
    let rank = |hop: &str| ORDER.iter().position(|h| *h == hop).unwrap_or(ORDER.len());
    let mut hops: Vec<HopTimes> = merged
        .into_iter()
        .map(|(hop, h)| HopTimes {
            times: Percentiles::of(&h),
            hop,
        })
        .collect();
    hops.sort_by_key(|h| rank(&h.hop));
    hops
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[tokio::test]
    async fn merges_the_seconds_of_a_step_in_hop_order() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("hops.jsonl");
        let lines = [
            r#"{"at_ms":1000,"hops":{"commit":[[5000,9]],"queue":[]}}"#,
            r#"{"at_ms":2000,"hops":{"commit":[[300,1],[900,2]],"queue":[[20,3]]}}"#,
            r#"{"at_ms":3000,"hops":{"commit":[[700,1]],"queue":[[40,1]]}}"#,
            r#"{"at_ms":4500,"hops":{"commit":[[7000,1]],"queue":[[40,1]]}}"#,
            r#"{"at_ms":55"#,
        ];
        std::fs::write(&file, lines.join("\n")).unwrap();
        let hops = step(&file, 1_000, 2_500, Duration::from_secs(5))
            .await
            .unwrap();
        let names: Vec<&str> = hops.iter().map(|h| h.hop.as_str()).collect();
        assert_eq!(names, ["queue", "commit"]);
        assert_eq!(hops[0].times.count, 4);
        assert_eq!(hops[1].times.count, 4);
        assert_eq!(hops[1].times.p50_ms, 0.7);
        assert_eq!(hops[1].times.max_ms, 0.9);
    }
}
