//! The smoke profile against the debug relay, as CI runs it: a thousand connections, a
//! hundred conversations, 500 messages/s for 10 s, and not one message lost or duplicated;
//! with `--hop-times`, so the relay's per-hop times reach the summary too. The same on
//! PostgreSQL when `SWITCHBOARD_TEST_DATABASE_URL` names a database (as for the store's and
//! the end-to-end suites), in a schema of the bench's own.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The PostgreSQL database the other suites use too, e.g. `postgres://postgres@127.0.0.1:5432/test`.
const PG_URL_VAR: &str = "SWITCHBOARD_TEST_DATABASE_URL";

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

/// Runs the smoke profile with `extra` flags; returns the JSON summary, the process output
/// (printed) and how long it took.
fn smoke(extra: &[&str]) -> (serde_json::Value, Output, Duration) {
    // One run at a time: two would share the machine's cores and the time limit.
    static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());
    let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let relay = debug_relay();
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("smoke.json");
    let began = Instant::now();
    let out = Command::new(env!("CARGO_BIN_EXE_switchboard-bench"))
        .args(["--profile", "smoke", "--relay-bin"])
        .arg(&relay)
        .arg("--json")
        .arg(&json)
        .args(extra)
        .output()
        .expect("running switchboard-bench");
    let took = began.elapsed();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    println!("{stdout}\n{stderr}");
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).expect("the JSON summary"))
            .expect("valid JSON");
    (summary, out, took)
}

/// Nothing lost or duplicated, something measured, every acknowledged message received.
fn assert_delivered(summary: &serde_json::Value) {
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
}

#[test]
fn the_smoke_profile_loses_and_duplicates_nothing_within_a_minute() {
    let (summary, out, took) = smoke(&["--hop-times"]);
    assert_delivered(&summary);
    assert_eq!(summary["database"]["backend"], "sqlite");
    let step = &summary["steps"][0];
    assert!(
        step["database_cpu_percent"].is_null(),
        "SQLite's CPU is the relay's"
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

#[test]
fn the_smoke_profile_on_postgresql_loses_and_duplicates_nothing_in_a_schema_of_its_own() {
    let Ok(url) = std::env::var(PG_URL_VAR) else {
        eprintln!("skipped: set {PG_URL_VAR}=postgres://USER@HOST/DATABASE to run on PostgreSQL");
        return;
    };
    let (summary, out, _) = smoke(&["--database-url", &url]);
    assert_delivered(&summary);
    let db = &summary["database"];
    assert_eq!(db["backend"], "postgres");
    assert!(
        db["schema"]
            .as_str()
            .is_some_and(|s| s.starts_with("bench_")),
        "the bench's own schema: {db}"
    );
    assert!(
        summary["ok"].as_bool().unwrap_or(false),
        "summary not ok: {}",
        summary["failures"]
    );
    assert!(out.status.success(), "exit status {}", out.status);
    let schema = db["schema"].as_str().unwrap_or_default();
    assert!(
        !schema_exists(&url, schema),
        "schema {schema} was left behind"
    );
}

/// Whether `schema` exists in the database at `url`.
fn schema_exists(url: &str, schema: &str) -> bool {
    use sqlx::Connection;
    let rt = tokio::runtime::Runtime::new().expect("a tokio runtime");
    rt.block_on(async {
        let mut conn = sqlx::PgConnection::connect(url)
            .await
            .expect("connecting to PostgreSQL");
        let found: Option<(String,)> =
            sqlx::query_as("SELECT nspname::text FROM pg_namespace WHERE nspname = $1")
                .bind(schema)
                .fetch_optional(&mut conn)
                .await
                .expect("querying pg_namespace");
        found.is_some()
    })
}
