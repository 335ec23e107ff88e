//! The smoke profile against the debug relay, as CI runs it: a thousand connections, a
//! hundred conversations, 500 messages/s for 10 s, and not one message lost or duplicated;
//! with `--hop-times`, so the relay's per-hop times reach the summary too.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

/// The debug relay beside this test's bench binary, built first if it is missing.
fn debug_relay() -> PathBuf {
    let bench = Path::new(env!("CARGO_BIN_EXE_switchboard-bench"));
    let relay = bench.with_file_name(format!("switchboard{}", std::env::consts::EXE_SUFFIX));
    if !relay.is_file() {
        let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
        let status = Command::new(cargo)
            .args(["build", "-p", "switchboard-relay", "--bin", "switchboard"])
            .current_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join(".."))
            .status()
            .expect("running cargo build for the relay");
        assert!(status.success(), "building the relay failed");
    }
    relay
}

#[test]
fn the_smoke_profile_loses_and_duplicates_nothing_within_a_minute() {
    let relay = debug_relay();
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("smoke.json");
    let began = Instant::now();
    let out = Command::new(env!("CARGO_BIN_EXE_switchboard-bench"))
        .args(["--profile", "smoke", "--relay-bin"])
        .arg(&relay)
        .arg("--json")
        .arg(&json)
        .arg("--hop-times")
        .output()
        .expect("running switchboard-bench");
    let took = began.elapsed();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    println!("{stdout}\n{stderr}");
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).expect("the JSON summary"))
            .expect("valid JSON");
    assert_eq!(summary["lost"], 0, "lost messages");
    assert_eq!(summary["duplicated"], 0, "duplicated messages");
    let step = &summary["steps"][0];
    assert!(
        step["acked"].as_u64().unwrap_or(0) > 0,
        "nothing was measured"
    );
    assert_eq!(
        step["acked"], step["received"],
        "every acknowledged message arrived once"
    );
    // Every acknowledged message went through the store's queue and commit and the
    // publisher, and every received one came out of a connection's mailbox.
    let hops: Vec<(&str, u64)> = step["hops"]
        .as_array()
        .expect("per-hop times in the step")
        .iter()
        .map(|h| {
            let name = h["hop"].as_str().unwrap_or("?");
            (name, h["times"]["count"].as_u64().unwrap_or(0))
        })
        .collect();
    let names: Vec<&str> = hops.iter().map(|h| h.0).collect();
    assert_eq!(names, ["queue", "commit", "publish", "mailbox", "write"]);
    let count = |name: &str| hops.iter().find(|h| h.0 == name).map_or(0, |h| h.1);
    let (acked, received) = (
        step["acked"].as_u64().unwrap_or(0),
        step["received"].as_u64().unwrap_or(0),
    );
    for hop in ["queue", "commit", "publish"] {
        assert!(count(hop) >= acked, "{hop}: {} of {acked}", count(hop));
    }
    assert!(
        count("mailbox") >= received,
        "mailbox: {}",
        count("mailbox")
    );
    assert!(count("write") > 0, "no socket write timed");
    assert!(
        summary["ok"].as_bool().unwrap_or(false),
        "summary not ok: {}",
        summary["failures"]
    );
    assert!(out.status.success(), "exit status {}", out.status);
    assert!(took < Duration::from_secs(60), "smoke took {took:?}");
}
