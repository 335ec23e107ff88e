//! One relay process per test: a fresh temp dir and a fresh database (SQLite in the temp
//! dir, or a PostgreSQL schema of its own: [`crate::database`]) with the site `acme` created
//! through the CLI, `switchboard serve` on port 0, stderr captured into `relay.log` in the
//! temp dir. Dropping a [`Relay`] kills the process, waits for it to be gone and then drops
//! its database; if the test is failing, the log tail is printed.

use crate::binary::relay_binary;
use crate::database::{Backend, Database};
use crate::{SITE, SITE_ORIGIN};
use anyhow::{anyhow, bail, Context, Result};
use std::fs::OpenOptions;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{ExitStatus, Stdio};
use std::time::Duration;
use switchboard_shared::AgentId;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

/// How long a start-up may take before we give up (debug builds run migrations too).
const START_TIMEOUT: Duration = Duration::from_secs(30);
/// How long a SIGTERM may take to finish a graceful shutdown.
const STOP_TIMEOUT: Duration = Duration::from_secs(15);
/// How long `Drop` waits for a SIGKILLed relay to be gone before dropping its database.
const REAP_TIMEOUT: Duration = Duration::from_secs(5);
/// The relay reads its database URL from here when no flag gives one: never from the
/// environment of whoever runs the tests, so it is removed from every child's.
const DATABASE_URL_ENV: &str = "SWITCHBOARD_DATABASE_URL";

/// Flags for `switchboard serve`; `None` keeps the relay's default.
#[derive(Debug, Clone, Default)]
pub struct RelayOptions {
    pub agent_grace_ms: Option<u64>,
    pub visitor_resume_secs: Option<u64>,
    pub dev: bool,
    /// More `serve` flags, e.g. `--webhook-retry-ms 100`.
    pub extra_args: Vec<String>,
    /// The relay's soft open-file limit (`RLIMIT_NOFILE`), set in the child only.
    pub nofile: Option<u64>,
    /// Environment variables for `switchboard serve` (not for the CLI calls), e.g. a crash
    /// point; [`Relay::set_env`] changes them for the next start.
    pub env: Vec<(String, String)>,
    /// On PostgreSQL: reach the database through `127.0.0.1:<port>` (a proxy the test
    /// controls) instead of the server's own address.
    pub database_port: Option<u16>,
}

/// An agent account created through the CLI.
#[derive(Debug, Clone)]
pub struct AgentInfo {
    pub id: AgentId,
    pub name: String,
    pub email: String,
    pub password: String,
    pub max_chats: u32,
}

pub struct Relay {
    dir: tempfile::TempDir,
    /// Dropped after `Drop for Relay` has ended the process (fields drop after the body).
    database: Database,
    opts: RelayOptions,
    child: Option<Child>,
    port: u16,
    /// Incremented on every (re)start, so log lines from different runs can be told apart.
    runs: u32,
    pub(crate) http: reqwest::Client,
}

impl Relay {
    /// A relay with default options.
    pub async fn spawn() -> Result<Relay> {
        Self::spawn_with(RelayOptions::default()).await
    }

    pub async fn spawn_with(opts: RelayOptions) -> Result<Relay> {
        let dir = tempfile::Builder::new()
            .prefix("switchboard-e2e-")
            .tempdir()?;
        let http = reqwest::Client::builder()
            .timeout(crate::DEFAULT_TIMEOUT)
            .build()?;
        let database = Database::create().await?;
        let mut relay = Relay {
            dir,
            database,
            opts,
            child: None,
            port: 0,
            runs: 0,
            http,
        };
        relay
            .cli(&[
                "site",
                "add",
                "--id",
                SITE,
                "--name",
                "Acme",
                "--origin",
                SITE_ORIGIN,
            ])
            .await?;
        relay.start().await?;
        Ok(relay)
    }

    /// The temp dir: the log, and on SQLite the database.
    pub fn data_dir(&self) -> &Path {
        self.dir.path()
    }

    /// Which database this relay runs on.
    pub fn backend(&self) -> Backend {
        self.database.backend()
    }

    /// The `--database-url` every `switchboard` call of this relay gets (`None`: SQLite in
    /// [`Relay::data_dir`]).
    pub fn database_url(&self) -> Option<&str> {
        self.database.url()
    }

    pub fn log_path(&self) -> PathBuf {
        self.dir.path().join("relay.log")
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn http_url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{}", self.port, path)
    }

    pub fn ws_url(&self, path: &str) -> String {
        format!("ws://127.0.0.1:{}{}", self.port, path)
    }

    /// Runs `switchboard <args> --data-dir DIR [--database-url URL]` to completion and
    /// returns its stdout.
    pub async fn cli(&self, args: &[&str]) -> Result<String> {
        let bin = tokio::task::spawn_blocking(relay_binary).await??;
        let mut cmd = Command::new(&bin);
        cmd.args(args);
        self.store_args(&mut cmd);
        let out = cmd
            .stdin(Stdio::null())
            .output()
            .await
            .with_context(|| format!("running {} {args:?}", bin.display()))?;
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        if !out.status.success() {
            bail!(
                "switchboard {args:?} failed ({}):\nstdout: {stdout}\nstderr: {}",
                out.status,
                String::from_utf8_lossy(&out.stderr)
            );
        }
        Ok(stdout)
    }

    /// Creates an agent (role agent) with a chat cap; e-mail and password derive from `name`.
    pub async fn add_agent(&self, name: &str, max_chats: u32) -> Result<AgentInfo> {
        self.create_agent(name, max_chats, false).await
    }

    pub async fn add_admin(&self, name: &str, max_chats: u32) -> Result<AgentInfo> {
        self.create_agent(name, max_chats, true).await
    }

    async fn create_agent(&self, name: &str, max_chats: u32, admin: bool) -> Result<AgentInfo> {
        let email = format!("{}@agents.example", name.to_lowercase().replace(' ', "."));
        let password = format!("pw-{}-correct-horse", name.to_lowercase().replace(' ', "-"));
        let cap = max_chats.to_string();
        let mut args = vec![
            "agent",
            "add",
            "--email",
            &email,
            "--name",
            name,
            "--password",
            &password,
            "--max-chats",
            &cap,
        ];
        if admin {
            args.push("--admin");
        }
        let out = self.cli(&args).await?;
        // "agent <id> created"
        let id = out
            .lines()
            .find_map(|l| {
                let mut words = l.split_whitespace();
                match (words.next(), words.next(), words.next()) {
                    (Some("agent"), Some(id), Some("created")) => id.parse::<i64>().ok(),
                    _ => None,
                }
            })
            .ok_or_else(|| anyhow!("`agent add` printed no `agent <id> created` line: {out:?}"))?;
        Ok(AgentInfo {
            id: AgentId(id),
            name: name.to_string(),
            email,
            password,
            max_chats,
        })
    }

    /// `--data-dir` and, on PostgreSQL, `--database-url`; never a URL from our environment.
    fn store_args(&self, cmd: &mut Command) {
        cmd.arg("--data-dir")
            .arg(self.dir.path())
            .env_remove(DATABASE_URL_ENV);
        if let Some(url) = self.database.url() {
            match self.opts.database_port {
                Some(port) => cmd
                    .arg("--database-url")
                    .arg(crate::database::via_port(url, port)),
                None => cmd.arg("--database-url").arg(url),
            };
        }
    }

    /// Starts `switchboard serve` on the data dir and waits for its listening line.
    async fn start(&mut self) -> Result<()> {
        if self.child.is_some() {
            bail!("relay is already running");
        }
        let bin = tokio::task::spawn_blocking(relay_binary).await??;
        self.runs += 1;
        let mut log = OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.log_path())?;
        writeln!(log, "===== e2e: relay start #{} =====", self.runs)?;
        let mut cmd = Command::new(bin);
        cmd.args(["serve", "--listen", "127.0.0.1:0"]);
        self.store_args(&mut cmd);
        cmd.envs(self.opts.env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::from(log.try_clone()?))
            .kill_on_drop(true);
        if let Some(ms) = self.opts.agent_grace_ms {
            cmd.arg("--agent-grace-ms").arg(ms.to_string());
        }
        if let Some(secs) = self.opts.visitor_resume_secs {
            cmd.arg("--visitor-resume-secs").arg(secs.to_string());
        }
        if self.opts.dev {
            cmd.arg("--dev");
        }
        cmd.args(&self.opts.extra_args);
        if let Some(soft) = self.opts.nofile {
            // SAFETY: runs in the forked child before exec; getrlimit/setrlimit are
            // async-signal-safe and touch only the struct on this stack.
            unsafe {
                cmd.pre_exec(move || {
                    let mut lim = libc::rlimit {
                        rlim_cur: 0,
                        rlim_max: 0,
                    };
                    if libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) != 0 {
                        return Err(std::io::Error::last_os_error());
                    }
                    lim.rlim_cur = soft.min(lim.rlim_max);
                    if libc::setrlimit(libc::RLIMIT_NOFILE, &lim) != 0 {
                        return Err(std::io::Error::last_os_error());
                    }
                    Ok(())
                });
            }
        }
        let mut child = cmd.spawn().context("spawning switchboard serve")?;
        let stdout = child.stdout.take().expect("stdout is piped");
        let mut lines = BufReader::new(stdout).lines();
        let found = tokio::time::timeout(START_TIMEOUT, async {
            while let Some(line) = lines.next_line().await? {
                writeln!(log, "[stdout] {line}")?;
                if let Some(port) = parse_listening_line(&line) {
                    return Ok::<_, anyhow::Error>(Some(port));
                }
            }
            Ok(None)
        })
        .await;
        let port = match found {
            Ok(Ok(Some(port))) => port,
            other => {
                let _ = child.start_kill();
                let _ = child.wait().await;
                bail!(
                    "relay did not print `switchboard listening on http://127.0.0.1:PORT` ({other:?}); log:\n{}",
                    self.log_tail(40)
                );
            }
        };
        // Keep draining stdout so the relay never blocks on a full pipe.
        tokio::spawn(async move {
            while let Ok(Some(line)) = lines.next_line().await {
                let _ = writeln!(log, "[stdout] {line}");
            }
        });
        self.port = port;
        self.child = Some(child);
        Ok(())
    }

    /// SIGKILL: the relay gets no chance to flush anything it has not already committed.
    pub async fn kill(&mut self) -> Result<()> {
        let mut child = self
            .child
            .take()
            .ok_or_else(|| anyhow!("relay is not running"))?;
        child.start_kill()?;
        child.wait().await?;
        Ok(())
    }

    /// SIGTERM and wait for a graceful exit; returns its exit status.
    pub async fn stop(&mut self) -> Result<ExitStatus> {
        let mut child = self
            .child
            .take()
            .ok_or_else(|| anyhow!("relay is not running"))?;
        let pid = child
            .id()
            .ok_or_else(|| anyhow!("relay has already exited"))?;
        let status = std::process::Command::new("kill")
            .args(["-TERM", &pid.to_string()])
            .status()?;
        if !status.success() {
            bail!("kill -TERM {pid} failed");
        }
        match tokio::time::timeout(STOP_TIMEOUT, child.wait()).await {
            Ok(status) => Ok(status?),
            Err(_) => {
                child.start_kill()?;
                child.wait().await?;
                bail!(
                    "relay did not exit within {STOP_TIMEOUT:?} of SIGTERM; log:\n{}",
                    self.log_tail(40)
                )
            }
        }
    }

    /// Waits for the relay to exit by itself (a crash point, a fatal error) and returns its
    /// exit status; kills it and fails when it is still running after `timeout`.
    pub async fn wait_exit(&mut self, timeout: Duration) -> Result<ExitStatus> {
        let mut child = self
            .child
            .take()
            .ok_or_else(|| anyhow!("relay is not running"))?;
        match tokio::time::timeout(timeout, child.wait()).await {
            Ok(status) => Ok(status?),
            Err(_) => {
                child.start_kill()?;
                child.wait().await?;
                bail!(
                    "relay was still running {timeout:?} later; log:\n{}",
                    self.log_tail(40)
                )
            }
        }
    }

    /// Replaces the environment variables of the next `serve` ([`RelayOptions::env`]).
    pub fn set_env(&mut self, env: Vec<(String, String)>) {
        self.opts.env = env;
    }

    /// Starts the relay again on the same database (after `kill` or `stop`); the port changes.
    pub async fn restart(&mut self) -> Result<()> {
        if self.child.is_some() {
            self.kill().await?;
        }
        self.start().await
    }

    /// Passes a test's outcome through, printing the relay's log tail when it failed.
    pub fn finish<T>(&self, outcome: Result<T>) -> Result<T> {
        if let Err(e) = &outcome {
            eprintln!(
                "test failed: {e:#}\n----- relay log tail ({}) -----\n{}\n-----",
                self.log_path().display(),
                self.log_tail(60)
            );
        }
        outcome
    }

    /// The last `n` lines of the relay's log (stderr, plus stdout lines and start markers).
    pub fn log_tail(&self, n: usize) -> String {
        let text = std::fs::read_to_string(self.log_path()).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(n)..].join("\n")
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        if let Some(child) = self.child.as_mut() {
            // Gone before the database is dropped: its connections and locks go with it.
            let _ = child.start_kill();
            reap(child);
        }
        if std::thread::panicking() {
            eprintln!(
                "----- relay log tail ({}) -----\n{}\n-----",
                self.log_path().display(),
                self.log_tail(60)
            );
        }
    }
}

/// Waits (blocking, bounded) for a killed child to exit; `Drop` cannot `.await`.
fn reap(child: &mut Child) {
    let deadline = std::time::Instant::now() + REAP_TIMEOUT;
    while std::time::Instant::now() < deadline {
        match child.try_wait() {
            Ok(None) => std::thread::sleep(Duration::from_millis(5)),
            Ok(Some(_)) | Err(_) => return,
        }
    }
    eprintln!("warning: relay process still running {REAP_TIMEOUT:?} after SIGKILL");
}

fn parse_listening_line(line: &str) -> Option<u16> {
    let rest = line.split("listening on http://").nth(1)?;
    let addr = rest.split_whitespace().next()?.trim_end_matches('/');
    addr.rsplit(':').next()?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::parse_listening_line;

    #[test]
    fn the_port_is_read_from_the_listening_line() {
        assert_eq!(
            parse_listening_line("switchboard listening on http://127.0.0.1:43121"),
            Some(43121)
        );
        assert_eq!(
            parse_listening_line("  INFO switchboard listening on http://127.0.0.1:80/ x"),
            Some(80)
        );
        assert_eq!(parse_listening_line("starting"), None);
    }
}
