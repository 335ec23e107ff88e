//! The smoke profile against the debug relay, as CI runs it: a thousand connections, a
//! hundred conversations, 500 messages/s for 10 s, and not one message lost or duplicated.

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
    assert!(
        summary["ok"].as_bool().unwrap_or(false),
        "summary not ok: {}",
        summary["failures"]
    );
    assert!(out.status.success(), "exit status {}", out.status);
    assert!(took < Duration::from_secs(60), "smoke took {took:?}");
}
