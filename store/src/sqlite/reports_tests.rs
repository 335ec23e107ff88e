//! A measurement of the report queries over many items, on SQLite with rows written
//! directly (thousands of chats through the writer would take minutes). The report facts'
//! specifications are backend-neutral: `store/tests/conformance/reports.rs`.

use super::SqliteStore;
use crate::reports::ReportRange;
use crate::{NewAgent, Records, Role, VisitorId};
use std::sync::Arc;
use switchboard_shared::SupportLevel;
use tempfile::TempDir;

/// Monday 2026-11-02 00:00 UTC.
const T0: i64 = 1_793_577_600_000;
const S: i64 = 1_000;
const H: i64 = 3_600 * S;

struct World {
    _dir: TempDir,
    store: SqliteStore,
    acme: VisitorId,
}

/// Two sites, two agents (Anna L1 with id 1, Ben L2) and a visitor of `acme`.
async fn world() -> World {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("r.db");
    let store = SqliteStore::open(path.to_str().expect("utf-8"), Arc::new(crate::NoListener))
        .await
        .expect("open");
    // Plain rows: the measurement needs nothing of a site but its id.
    for site in ["acme", "beta"] {
        sqlx::query("INSERT INTO sites (id, name) VALUES (?, ?)")
            .bind(site)
            .bind(site)
            .execute(&store.write)
            .await
            .expect("site");
    }
    for (name, level) in [("Anna", SupportLevel::L1), ("Ben", SupportLevel::L2)] {
        store
            .create_agent(NewAgent {
                email: format!("{name}@example.com"),
                display_name: name.into(),
                password_hash: "x".into(),
                role: Role::Agent,
                max_concurrent_chats: 3,
                support_level: level,
            })
            .await
            .expect("agent");
    }
    let acme = store.create_visitor("acme", [1; 32], 0).await.expect("v");
    World {
        _dir: dir,
        store,
        acme: acme.id,
    }
}

/// Measurement, not a specification: `cargo test -p switchboard-store --release --lib
/// report_queries_over_many_items -- --ignored --nocapture`. Numbers in docs/REPORTS.md.
#[tokio::test]
#[ignore]
async fn report_queries_over_many_items() {
    const CHATS: i64 = 20_000;
    const TICKETS: i64 = 10_000;
    let w = world().await;
    let mut tx = w.store.write.begin().await.expect("tx");
    for i in 0..CHATS {
        let at = T0 + i * 60 * S;
        sqlx::query(
            "INSERT INTO conversations (id, site_id, visitor_id, status, agent_id, created_at, \
             assigned_at, ended_at) VALUES (?, 'acme', ?, 'ended', 1, ?, ?, ?)",
        )
        .bind(1_000_000 + i)
        .bind(w.acme.0)
        .bind(at)
        .bind(at + 10 * S)
        .bind(at + 300 * S)
        .execute(&mut *tx)
        .await
        .expect("conversation");
        let events = [
            ("started", None, 0),
            ("agent_joined", None, 10),
            ("message", Some("visitor"), 20),
            ("message", Some("agent"), 40),
            ("ended", Some("agent"), 300),
        ];
        for (seq, (kind, side, after)) in events.iter().enumerate() {
            sqlx::query(
                "INSERT INTO events (conversation_id, seq, at, kind, side, payload) \
                 VALUES (?, ?, ?, ?, ?, '{}')",
            )
            .bind(1_000_000 + i)
            .bind(seq as i64 + 1)
            .bind(at + after * S)
            .bind(kind)
            .bind(side)
            .execute(&mut *tx)
            .await
            .expect("event");
        }
    }
    for i in 0..TICKETS {
        let at = T0 + i * 120 * S;
        sqlx::query(
            "INSERT INTO tickets (id, site_id, channel, subject, description, priority, category, \
             status, assignee_id, support_level, created_at, updated_at, first_response_at, \
             resolved_at, first_response_due_at, resolution_due_at) VALUES (?, 'acme', \
             'offline_form', 's', 'd', 'medium', 'complaint', 'resolved', 1, 'L1', ?, ?, ?, ?, ?, ?)",
        )
        .bind(1_000_000 + i)
        .bind(at)
        .bind(at)
        .bind(at + H)
        .bind(at + 2 * H)
        .bind(at + 8 * H)
        .bind(at + 72 * H)
        .execute(&mut *tx)
        .await
        .expect("ticket");
        for (kind, payload) in [
            ("created", r#"{"kind":"created","channel":"offline_form"}"#),
            ("reply", r#"{"kind":"reply","body":"b"}"#),
            (
                "status_changed",
                r#"{"kind":"status_changed","from":"open","to":"resolved"}"#,
            ),
        ] {
            sqlx::query(
                "INSERT INTO ticket_events (ticket_id, at, agent_id, kind, payload) \
                 VALUES (?, ?, 1, ?, ?)",
            )
            .bind(1_000_000 + i)
            .bind(at)
            .bind(kind)
            .bind(payload)
            .execute(&mut *tx)
            .await
            .expect("ticket event");
        }
    }
    tx.commit().await.expect("commit");
    // Half of each: a range over the first half of the chats' and tickets' times.
    let range = ReportRange {
        from: T0,
        to: T0 + CHATS / 2 * 60 * S,
        site: Some("acme".into()),
    };
    for _ in 0..3 {
        let started = std::time::Instant::now();
        let chats = w.store.report_chats(&range).await.expect("chats");
        let chat_time = started.elapsed();
        let started = std::time::Instant::now();
        let tickets = w.store.report_tickets(&range).await.expect("tickets");
        let ticket_time = started.elapsed();
        println!(
            "{} of {CHATS} chats in {chat_time:?}, {} of {TICKETS} tickets in {ticket_time:?}",
            chats.len(),
            tickets.len()
        );
    }
}
