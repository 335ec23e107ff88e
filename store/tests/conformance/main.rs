//! # The backend conformance suite
//!
//! The contract of [`switchboard_store::Store`] (the crate docs) as specifications, written
//! once against [`switchboard_store::SharedStore`] and run for every backend: each test `x`
//! becomes `x::sqlite` (always, on a fresh temp file) and `x::postgres` (on a schema of its
//! own in the database `SWITCHBOARD_TEST_DATABASE_URL` names; skipped, with one line on
//! stderr, when it is unset). Nothing here names a backend type: what only one backend
//! has (SQLite's writer batches, file locks, WAL) is tested beside that backend.
//!
//! ## Layout
//! - `harness.rs`: opening a fresh database per test and backend, reopening it, dropping it
//!   afterwards (also when the test panics); the recording [`CommitListener`].
//! - `fixtures.rs`: the small world most tests start from, and request builders.
//! - `events.rs`: the event log — ordering, idempotency, gap-free seq under concurrency,
//!   paging, the listener, receipts, unknown conversations.
//! - `durability.rs`: closing and reopening the same database.
//! - `log.rs`: the commit-ordered log, its readers' pages and cursors.
//! - `conversations.rs`, `accounts.rs`, `sites.rs`, `console.rs`, `tickets.rs`,
//!   `reports.rs`, `webhooks.rs`: the records, each operation with an asserted outcome.
//!
//! [`CommitListener`]: switchboard_store::CommitListener

/// Runs each named `async fn(Db)` of the calling module on every backend: `name::sqlite`
/// and `name::postgres`.
macro_rules! conformance {
    ($($name:ident),+ $(,)?) => {$(
        mod $name {
            use crate::harness::{run, Backend};

            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn sqlite() {
                run(Backend::Sqlite, super::$name).await
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn postgres() {
                run(Backend::Postgres, super::$name).await
            }
        }
    )+};
}

mod fixtures;
mod harness;

mod accounts;
mod console;
mod conversations;
mod durability;
mod events;
mod log;
mod reports;
mod sites;
mod tickets;
mod webhooks;
