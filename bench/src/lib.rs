//! # Switchboard load generator
//!
//! Measures what one relay process holds and how fast it moves messages, over real
//! WebSockets and the real protocol, with the relay running as its own process.
//!
//! ## Layout
//! - [`config`]: flags, the `smoke`/`full` profiles, the resolved [`config::Plan`].
//! - [`coordinator`]: the run, phase by phase; starts the relay and the worker processes.
//! - [`relay_proc`]: the relay child process (CLI set-up, `serve`, REST login, stop).
//! - [`database`]: the relay's database (`--database-url`): SQLite, or a PostgreSQL schema
//!   of the run's own; the database server's CPU.
//! - [`worker`]: one worker process holding up to ~15,000 client sockets.
//! - [`ipc`]: the JSON-lines commands and replies between coordinator and workers.
//! - [`conn`]: one client WebSocket (source address, small buffers, frame helpers).
//! - [`conversation`]: the connection tasks: idle visitors, chatting visitors, agents.
//! - [`metrics`]: counters, histograms, lost/duplicate accounting and its merge.
//! - [`procfs`]: RSS, CPU time and limits from /proc.
//! - [`hops`]: the relay's own per-hop times (`--hop-times`), merged per rate step.
//! - [`report`]: the JSON summary and the human table.

pub mod config;
pub mod conn;
pub mod conversation;
pub mod coordinator;
pub mod database;
pub mod hops;
pub mod ipc;
pub mod metrics;
pub mod procfs;
pub mod relay_proc;
pub mod report;
pub mod worker;

use anyhow::{Context, Result};
use config::{Cli, Command};
use std::process::ExitCode;

/// Exit code when the run finished but lost or duplicated messages (or failed otherwise).
pub const EXIT_NOT_OK: u8 = 1;

/// Entry point for the binary: a worker, or a whole run (coordinator).
pub fn main_with(cli: Cli) -> Result<ExitCode> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("tokio runtime")?;
    match cli.command {
        Some(Command::Worker) => {
            rt.block_on(worker::run())?;
            Ok(ExitCode::SUCCESS)
        }
        None => {
            let json = cli.run.json.clone();
            let summary = rt.block_on(coordinator::run(cli.run));
            report::print(&summary);
            if let Some(path) = json {
                let text = serde_json::to_string_pretty(&summary)?;
                std::fs::write(&path, text)
                    .with_context(|| format!("writing {}", path.display()))?;
            }
            // Do not wait for stray tasks (sockets of a failed run) on the way out.
            rt.shutdown_background();
            Ok(if summary.ok {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(EXIT_NOT_OK)
            })
        }
    }
}
