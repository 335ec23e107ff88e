//! Finding the relay binary. `SWITCHBOARD_BIN` wins; otherwise the debug build in the
//! workspace's target directory, built once per test process when it is missing or when
//! `SWITCHBOARD_E2E_BUILD=1` asks for a fresh build.

use anyhow::{anyhow, Result};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

/// Built (or found) at most once per test binary, even when tests start relays in parallel:
/// the first caller builds, the others block on the `OnceLock` until it is done.
static BINARY: OnceLock<Result<PathBuf, String>> = OnceLock::new();

/// Path to the `switchboard` binary, building it first if needed.
pub fn relay_binary() -> Result<PathBuf> {
    BINARY
        .get_or_init(locate_or_build)
        .clone()
        .map_err(|e| anyhow!(e))
}

pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ lives inside the workspace")
        .to_path_buf()
}

fn target_dir() -> PathBuf {
    let root = workspace_root();
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) if Path::new(&dir).is_absolute() => PathBuf::from(dir),
        Some(dir) => root.join(dir),
        None => root.join("target"),
    }
}

fn locate_or_build() -> Result<PathBuf, String> {
    if let Some(bin) = std::env::var_os("SWITCHBOARD_BIN") {
        let bin = PathBuf::from(bin);
        return if bin.is_file() {
            Ok(bin)
        } else {
            Err(format!("SWITCHBOARD_BIN={} is not a file", bin.display()))
        };
    }
    let bin = target_dir()
        .join("debug")
        .join(format!("switchboard{}", std::env::consts::EXE_SUFFIX));
    let force = std::env::var("SWITCHBOARD_E2E_BUILD").is_ok_and(|v| v == "1");
    if force || !bin.is_file() {
        let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
        let status = Command::new(cargo)
            .args(["build", "-p", "switchboard-relay", "--bin", "switchboard"])
            .current_dir(workspace_root())
            .status()
            .map_err(|e| format!("could not run cargo build: {e}"))?;
        if !status.success() {
            return Err(format!("cargo build -p switchboard-relay failed: {status}"));
        }
    }
    if bin.is_file() {
        Ok(bin)
    } else {
        Err(format!("{} does not exist after building", bin.display()))
    }
}
