//! # switchboard-e2e
//!
//! End-to-end specifications against a real `switchboard` relay process: every test starts
//! its own relay on port 0 with a fresh data directory and database, talks to it over real
//! WebSockets and HTTP, and may kill, stop or restart it. Nothing here links the relay's code; the only
//! shared code is the wire protocol (`switchboard_shared`), which is the contract.
//!
//! ## Layout
//! - [`binary`]: finds (and if needed builds, once per test binary) the `switchboard` binary.
//! - [`database`]: SQLite (default) or, with `SWITCHBOARD_E2E_DATABASE=postgres`, a
//!   PostgreSQL schema of its own per relay; [`skip_on_postgres`] for SQLite-only tests.
//! - [`relay`]: [`Relay`], one relay process with its temp dir, database, CLI helpers and
//!   log capture.
//! - [`api`]: the REST calls the specifications need (login, logout, transcripts, agents).
//! - [`ws`]: [`ws::WsConn`], one WebSocket with an inbox, `expect`, barriers and cuts.
//! - [`visitor`] / [`agent`]: [`VisitorClient`] and [`AgentClient`], one method per action.
//! - [`resilient`]: a client that survives cut connections the way the widget and console
//!   must (outbox, resume from `last_seq`, dedup by `seq`), for the chaos specification.
//!
//! Every wait has a timeout ([`DEFAULT_TIMEOUT`] unless a test says otherwise), so a relay
//! that stops answering fails a test instead of hanging the suite.

pub mod agent;
pub mod api;
pub mod binary;
pub mod database;
pub mod relay;
pub mod resilient;
pub mod visitor;
pub mod ws;

pub use agent::AgentClient;
pub use database::{skip_on_postgres, Backend};
pub use relay::{AgentInfo, Relay, RelayOptions};
pub use visitor::VisitorClient;
pub use ws::{Incoming, WsConn};

use std::time::Duration;

/// How long any single wait for the relay may take before the test fails.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

/// The site every relay is created with, and the origin its pages are served from.
pub const SITE: &str = "acme";
pub const SITE_ORIGIN: &str = "https://shop.example";
