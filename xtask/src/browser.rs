//! The real-browser specifications in `tests/browser/` (Node's test runner, playwright-core
//! driving Debian's Chromium). Installs what they need when missing: the Debian `chromium`
//! package (playwright may not download a browser of its own) and the pinned npm packages.

use crate::toolchain::{apt_install, deb_installed};
use crate::{run_checked, Workspace, E2E_BACKEND_VAR};
use anyhow::{Context, Result};
use std::path::Path;
use std::process::{Command, ExitStatus};

const CHROMIUM: &str = "/usr/bin/chromium";

/// Spec files run at once at most on PostgreSQL: each relay may hold 9 connections, and the
/// server's default `max_connections` is 100 (node's own default is one per core but one).
const PG_CONCURRENCY: usize = 4;

/// Runs `npm ci` and `node --test` in `tests/browser`; returns node's exit status. With
/// `postgres`, every relay gets a schema of its own in `SWITCHBOARD_TEST_DATABASE_URL`
/// (`lib/relay.mjs`).
pub fn run(ws: &Workspace, postgres: bool) -> Result<ExitStatus> {
    if !Path::new(CHROMIUM).is_file() || !deb_installed("chromium") {
        apt_install(&["chromium", "chromium-driver"])?;
    }
    let dir = ws.root.join("tests").join("browser");
    println!("xtask: npm ci in {}", dir.display());
    run_checked(Command::new("npm").current_dir(&dir).args([
        "ci",
        "--no-audit",
        "--no-fund",
        "--loglevel=error",
    ]))?;
    let mut node = Command::new("node");
    node.current_dir(&dir).arg("--test");
    if postgres {
        println!("xtask: browser specifications on PostgreSQL (node --test)");
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        node.arg(format!(
            "--test-concurrency={}",
            cores.saturating_sub(1).clamp(1, PG_CONCURRENCY)
        ))
        .env(E2E_BACKEND_VAR, "postgres");
    } else {
        println!("xtask: browser specifications on SQLite (node --test)");
        node.env(E2E_BACKEND_VAR, "sqlite");
    }
    node.env(
        "SWITCHBOARD_BIN",
        ws.target_dir.join("debug").join("switchboard"),
    )
    .env("SWITCHBOARD_ASSETS", ws.target_dir.join("assets"))
    .env("CHROMIUM_PATH", CHROMIUM)
    .status()
    .context("could not start `node --test` (is Node.js installed?)")
}
