//! The real-browser specifications in `tests/browser/` (Node's test runner, playwright-core
//! driving Debian's Chromium). Installs what they need when missing: the Debian `chromium`
//! package (playwright may not download a browser of its own) and the pinned npm packages.

use crate::toolchain::{apt_install, deb_installed};
use crate::{run_checked, Workspace};
use anyhow::{Context, Result};
use std::path::Path;
use std::process::{Command, ExitStatus};

const CHROMIUM: &str = "/usr/bin/chromium";

/// Runs `npm ci` and `node --test` in `tests/browser`; returns node's exit status.
pub fn run(ws: &Workspace) -> Result<ExitStatus> {
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
    println!("xtask: browser specifications (node --test)");
    Command::new("node")
        .current_dir(&dir)
        .arg("--test")
        .env(
            "SWITCHBOARD_BIN",
            ws.target_dir.join("debug").join("switchboard"),
        )
        .env("SWITCHBOARD_ASSETS", ws.target_dir.join("assets"))
        .env("CHROMIUM_PATH", CHROMIUM)
        .status()
        .context("could not start `node --test` (is Node.js installed?)")
}
