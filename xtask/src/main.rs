//! Project commands, run from anywhere in the repository as `cargo xtask <command>`:
//!
//! - `run`:  build the relay in release mode and serve the demo in the foreground.
//! - `test`: build the relay binary the end-to-end tests spawn, then run every test: the
//!   Rust suites (end-to-end on SQLite), the end-to-end suite again on PostgreSQL when
//!   `SWITCHBOARD_TEST_DATABASE_URL` names a database, then the browser specifications
//!   (on PostgreSQL when it is there, else on SQLite).
//! - `assets`: only build the browser parts into `target/assets/`.
//!
//! Both commands build the browser parts first through [`build_wasm`]: the widget is compiled
//! to WebAssembly and published as hashed, precompressed files in `target/assets/`.
//!
//! # Layout
//! - `toolchain`: which cargo/rustc can build for wasm32 here (rustup's std, or Debian's
//!   `rustc-web` building std from source), installing the Debian packages when needed.
//! - `wasm`: the widget and console pipeline: cargo build, wasm-bindgen (as a library), wasm-opt.
//! - `wasm_opt`: a project-local npm `binaryen`, installed when missing.
//! - `assets`: content hashes, precompression, `manifest.json`, the size table and budgets.
//! - `minify`: terser for the loader and the glue.
//! - `readme_sizes`: the README's size table checked against the build's figures.
//! - `browser`: the Chromium specifications in `tests/browser/` (installs Chromium, npm ci).

mod assets;
mod browser;
mod minify;
mod readme_sizes;
mod toolchain;
mod unexport;
mod wasm;
mod wasm_opt;

use anyhow::{bail, Context, Result};
use std::env;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

/// The PostgreSQL database the tests may create schemas in (the store's conformance suite
/// reads it too); unset, the PostgreSQL part of `cargo xtask test` is skipped.
const PG_URL_VAR: &str = "SWITCHBOARD_TEST_DATABASE_URL";
/// Tells the end-to-end harness and the browser suite which backend the relays use.
const E2E_BACKEND_VAR: &str = "SWITCHBOARD_E2E_DATABASE";
/// Test threads of the PostgreSQL end-to-end run at most: every relay may hold 9 connections
/// (a pool of 8 opened on demand, and the writer's), a test can run two relays and CLI calls
/// open their own; 4 threads stay well below the server's default `max_connections` of 100.
const PG_TEST_THREADS: usize = 4;

const USAGE: &str = "usage: cargo xtask <command>

commands:
  run    build the relay (release) and serve the demo site on $SWITCHBOARD_LISTEN
         (default 127.0.0.1:8080); prints the URL and the demo login
  test   build the relay binary and run the whole test suite; with
         SWITCHBOARD_TEST_DATABASE_URL=postgres://USER@HOST/DATABASE also on PostgreSQL
  assets only build the widget and the console (WebAssembly) into target/assets/";

fn main() -> Result<ExitCode> {
    let command = env::args().nth(1);
    match command.as_deref() {
        Some("run") => run(),
        Some("test") => test(),
        Some("assets") => {
            build_wasm(&Workspace::locate()?)?;
            Ok(ExitCode::SUCCESS)
        }
        Some("-h" | "--help" | "help") => {
            println!("{USAGE}");
            Ok(ExitCode::SUCCESS)
        }
        _ => {
            eprintln!("{USAGE}");
            Ok(ExitCode::from(2))
        }
    }
}

/// `cargo xtask run`: the relay in the foreground, with a demo site and agent.
fn run() -> Result<ExitCode> {
    let ws = Workspace::locate()?;
    build_wasm(&ws)?;
    ws.cargo(&[
        "build",
        "--release",
        "-p",
        "switchboard-relay",
        "--bin",
        "switchboard",
    ])?;

    let listen = env::var("SWITCHBOARD_LISTEN").unwrap_or_else(|_| "127.0.0.1:8080".into());
    let mut relay = Command::new(ws.target_dir.join("release").join(exe("switchboard")));
    relay
        .current_dir(&ws.root)
        .args(["serve", "--demo", "--listen", &listen])
        .args(["--data-dir", "./data", "--static-dir", "examples"])
        .arg("--assets-dir")
        .arg(ws.target_dir.join("assets"));
    exec(relay)
}

/// `cargo xtask test`: the end-to-end tests spawn the debug relay binary, so it is built
/// first; `cargo test` alone would not build another package's binary for them. The
/// workspace's tests run the end-to-end suite on SQLite; with a PostgreSQL database named,
/// that suite runs again with every relay on PostgreSQL, and the browser suite runs there
/// (once: it checks the widget and the console, which do not see the backend).
fn test() -> Result<ExitCode> {
    let ws = Workspace::locate()?;
    build_wasm(&ws)?;
    readme_sizes::check(
        &ws.root.join("README.md"),
        &ws.target_dir.join("assets").join("manifest.json"),
    )?;
    ws.cargo(&["build", "-p", "switchboard-relay", "--bin", "switchboard"])?;
    // SQLite here whatever the caller's environment says; PostgreSQL comes next.
    let status = ws
        .cargo_command(&["test", "--workspace"])
        .env(E2E_BACKEND_VAR, "sqlite")
        .status()
        .context("could not start `cargo test`")?;
    if !status.success() {
        return Ok(exit_code(status.code()));
    }
    let postgres = postgres_url();
    match &postgres {
        Some(_) => {
            println!("xtask: end-to-end specifications on PostgreSQL ({E2E_BACKEND_VAR}=postgres)");
            let mut cmd = ws.cargo_command(&["test", "-p", "switchboard-e2e"]);
            cmd.env(E2E_BACKEND_VAR, "postgres");
            if env::var_os("RUST_TEST_THREADS").is_none() {
                cmd.env("RUST_TEST_THREADS", pg_test_threads().to_string());
            }
            let status = cmd.status().context("could not start `cargo test`")?;
            if !status.success() {
                return Ok(exit_code(status.code()));
            }
        }
        None => println!(
            "xtask: PostgreSQL part skipped: set {PG_URL_VAR}=postgres://USER@HOST/DATABASE \
             (a database the tests may create schemas in) to run it"
        ),
    }
    // Last, so the suite's closing lines are the browser runner's summary.
    let browser = browser::run(&ws, postgres.is_some())?;
    Ok(exit_code(browser.code()))
}

/// The PostgreSQL database of the tests, when one is named.
fn postgres_url() -> Option<String> {
    env::var(PG_URL_VAR)
        .ok()
        .filter(|url| !url.trim().is_empty())
}

/// Test threads for the PostgreSQL run: as many as cargo would use, but no more than
/// [`PG_TEST_THREADS`].
fn pg_test_threads() -> usize {
    std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
        .min(PG_TEST_THREADS)
}

/// The browser parts, compiled to WebAssembly before the relay that serves them is built or
/// tested: the widget, then the agent console (into `target/assets/console/`; the widget's
/// publishing replaces `target/assets/`, so the console comes second).
fn build_wasm(ws: &Workspace) -> Result<()> {
    wasm::build(ws, &wasm::WIDGET)?;
    wasm::build(ws, &wasm::CONSOLE)
}

/// Where the repository is and where cargo puts its output.
struct Workspace {
    root: PathBuf,
    target_dir: PathBuf,
}

impl Workspace {
    fn locate() -> Result<Self> {
        // xtask/ sits directly in the workspace root.
        let root = Path::new(env!("CARGO_MANIFEST_DIR"))
            .parent()
            .context("xtask has no parent directory")?
            .to_path_buf();
        // Honour CARGO_TARGET_DIR. Cargo resolves a relative one against the directory it was
        // started in; we run cargo from the root, so make it absolute first.
        let target_dir = match env::var_os("CARGO_TARGET_DIR") {
            Some(dir) => env::current_dir()
                .context("cannot read the current directory")?
                .join(dir),
            None => root.join("target"),
        };
        Ok(Self { root, target_dir })
    }

    /// A cargo command in the workspace root, using the same cargo that runs xtask.
    fn cargo_command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
        cmd.current_dir(&self.root)
            .env("CARGO_TARGET_DIR", &self.target_dir)
            .args(args);
        cmd
    }

    /// Runs cargo with the output streamed; fails when cargo fails.
    fn cargo(&self, args: &[&str]) -> Result<()> {
        let status = self
            .cargo_command(args)
            .status()
            .with_context(|| format!("could not start `cargo {}`", args.join(" ")))?;
        if !status.success() {
            bail!("`cargo {}` failed ({status})", args.join(" "));
        }
        Ok(())
    }
}

/// Replaces this process with `cmd`, so the relay owns the terminal: Ctrl-C reaches it
/// directly and it shuts down gracefully, with nothing in between to forward signals.
#[cfg(unix)]
fn exec(mut cmd: Command) -> Result<ExitCode> {
    use std::os::unix::process::CommandExt;
    let err = cmd.exec(); // returns only on failure
    Err(err).with_context(|| format!("could not start {:?}", cmd.get_program()))
}

/// Elsewhere the console delivers Ctrl-C to every process attached to it, the relay
/// included; we wait for it and pass on its exit code.
#[cfg(not(unix))]
fn exec(mut cmd: Command) -> Result<ExitCode> {
    let status = cmd
        .status()
        .with_context(|| format!("could not start {:?}", cmd.get_program()))?;
    Ok(exit_code(status.code()))
}

/// Runs `cmd` with its output streamed; fails when it cannot start or exits non-zero.
fn run_checked(cmd: &mut Command) -> Result<()> {
    let status = cmd
        .status()
        .with_context(|| format!("could not start {:?}", cmd.get_program()))?;
    if !status.success() {
        bail!("{cmd:?} failed ({status})");
    }
    Ok(())
}

/// A child's exit code as ours; a child killed by a signal has none and counts as failure.
fn exit_code(code: Option<i32>) -> ExitCode {
    match code {
        Some(0) => ExitCode::SUCCESS,
        Some(c) => ExitCode::from(u8::try_from(c).unwrap_or(1)),
        None => ExitCode::FAILURE,
    }
}

fn exe(name: &str) -> String {
    format!("{name}{}", env::consts::EXE_SUFFIX)
}
