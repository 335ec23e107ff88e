//! The relay under test as a child process: a fresh temp data dir (relay.log, hop times, and
//! the SQLite database unless `--database-url` names another), the site and the agents
//! created through its own CLI, `serve` on port 0, and agent logins over its REST API.

use crate::config::Plan;
use crate::database::{masked, Database};
use anyhow::{anyhow, bail, Context, Result};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio::process::{Child, Command};

const START_TIMEOUT: Duration = Duration::from_secs(30);
const STOP_TIMEOUT: Duration = Duration::from_secs(15);

/// An agent account: login e-mail and password.
#[derive(Debug, Clone)]
pub struct Login {
    pub email: String,
    pub password: String,
}

/// The relay's per-second hop histograms (`--hop-times-file`), in its data dir.
pub const HOPS_FILE: &str = "hops.jsonl";

pub struct RelayProc {
    child: Child,
    pub pid: u32,
    pub port: u16,
    pub dir: tempfile::TempDir,
}

/// target/release/switchboard if it exists, else target/debug/switchboard; the target dir
/// is CARGO_TARGET_DIR when set, else the workspace's `target/`.
pub fn default_binary() -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap_or(Path::new("."));
    let target = match std::env::var_os("CARGO_TARGET_DIR") {
        Some(d) if Path::new(&d).is_absolute() => PathBuf::from(d),
        Some(d) => root.join(d),
        None => root.join("target"),
    };
    let release = target.join("release").join("switchboard");
    if release.is_file() {
        release
    } else {
        target.join("debug").join("switchboard")
    }
}

/// Runs `switchboard <args> --data-dir DIR <db_args>` and returns its stdout. `db_args` (a
/// URL that may hold a password) stay out of any error message.
async fn cli(bin: &Path, dir: &Path, db_args: &[String], args: &[&str]) -> Result<String> {
    let out = Command::new(bin)
        .args(args)
        .arg("--data-dir")
        .arg(dir)
        .args(db_args)
        .stdin(Stdio::null())
        .output()
        .await
        .with_context(|| format!("running {} {args:?}", bin.display()))?;
    if !out.status.success() {
        let mut err = String::from_utf8_lossy(&out.stderr).into_owned();
        // In case the relay's message quotes the URL whole.
        for a in db_args {
            err = err.replace(a.as_str(), &masked(a));
        }
        bail!("switchboard {args:?} failed: {err}");
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Makes the child die with us even if we are killed (no orphaned relay or worker).
pub fn die_with_parent(cmd: &mut Command) {
    // SAFETY: prctl is async-signal-safe; the closure allocates nothing.
    unsafe {
        cmd.pre_exec(|| {
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
            Ok(())
        });
    }
}

impl RelayProc {
    /// Creates the site and `plan.agents` agents in `db`, then starts `serve` on it.
    pub async fn start(bin: &Path, plan: &Plan, db: &Database) -> Result<(RelayProc, Vec<Login>)> {
        if !bin.is_file() {
            bail!(
                "relay binary {} not found: build it (cargo build --release -p switchboard-relay --bin switchboard) or pass --relay-bin",
                bin.display()
            );
        }
        let dir = tempfile::Builder::new()
            .prefix("switchboard-bench-")
            .tempdir()?;
        let d = dir.path().to_path_buf();
        let db_args = db.relay_args();
        cli(
            bin,
            &d,
            &db_args,
            &[
                "site",
                "add",
                "--id",
                &plan.site,
                "--name",
                "Bench",
                "--origin",
                &plan.origin,
            ],
        )
        .await?;
        let logins: Vec<Login> = (0..plan.agents)
            .map(|i| Login {
                email: format!("agent{i}@bench.example"),
                password: format!("bench-password-{i}"),
            })
            .collect();
        // `agent add` hashes the password (argon2): two at a time, one per core.
        let cap = plan.max_chats.to_string();
        for pair in logins.chunks(2) {
            let mut runs = Vec::new();
            for l in pair {
                let name = l.email.split('@').next().unwrap_or("agent").to_string();
                let args = [
                    "agent",
                    "add",
                    "--email",
                    &l.email,
                    "--name",
                    &name,
                    "--password",
                    &l.password,
                    "--max-chats",
                    &cap,
                ];
                let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
                let (bin, d, db_args) = (bin.to_path_buf(), d.clone(), db_args.clone());
                runs.push(tokio::spawn(async move {
                    let a: Vec<&str> = args.iter().map(String::as_str).collect();
                    cli(&bin, &d, &db_args, &a).await
                }));
            }
            for r in runs {
                r.await??;
            }
        }
        let log = std::fs::File::create(d.join("relay.log"))?;
        let mut cmd = Command::new(bin);
        cmd.args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--ip-connections-per-minute",
            "0",
            // The bench's one site carries every visitor: the per-site frame limit would cap
            // the rate steps, which measure the relay, not a tenant's fair share.
            "--site-frames-per-second",
            "0",
            // Its visitors come from a few source addresses, thousands mid-handshake at once:
            // the per-address share of unfinished sockets (64 by default; the relay caps any
            // value at a quarter of the unfinished share) would refuse some of them.
            "--pending-per-ip",
            "100000",
            "--data-dir",
        ])
        .arg(&d)
        .args(&db_args);
        if plan.hop_times {
            cmd.arg("--hop-times-file").arg(d.join(HOPS_FILE));
        }
        cmd.stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::from(log))
            .kill_on_drop(true);
        die_with_parent(&mut cmd);
        let mut child = cmd.spawn().context("spawning switchboard serve")?;
        let pid = child.id().ok_or_else(|| anyhow!("relay exited at once"))?;
        let stdout = child
            .stdout
            .take()
            .ok_or_else(|| anyhow!("stdout is piped"))?;
        let mut lines = BufReader::new(stdout).lines();
        let port = tokio::time::timeout(START_TIMEOUT, async {
            while let Some(line) = lines.next_line().await? {
                if let Some(rest) = line.split("listening on http://").nth(1) {
                    let port = rest
                        .split_whitespace()
                        .next()
                        .and_then(|a| a.rsplit(':').next());
                    if let Some(p) = port.and_then(|p| p.parse::<u16>().ok()) {
                        return Ok(p);
                    }
                }
            }
            bail!(
                "relay exited before printing its address; see {}",
                d.join("relay.log").display()
            )
        })
        .await
        .map_err(|_| anyhow!("relay did not start within {START_TIMEOUT:?}"))??;
        // Keep draining stdout so the relay never blocks on a full pipe.
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        Ok((
            RelayProc {
                child,
                pid,
                port,
                dir,
            },
            logins,
        ))
    }

    pub fn url(&self) -> String {
        format!("ws://127.0.0.1:{}", self.port)
    }

    /// Whether the relay is still running (it may have crashed under load).
    pub fn alive(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// SIGTERM, then SIGKILL if it does not exit in time.
    pub async fn stop(mut self, keep: bool) -> Result<()> {
        // SAFETY: kill(2) on our own child's pid.
        unsafe {
            libc::kill(self.pid as libc::pid_t, libc::SIGTERM);
        }
        if tokio::time::timeout(STOP_TIMEOUT, self.child.wait())
            .await
            .is_err()
        {
            self.child.start_kill()?;
            self.child.wait().await?;
        }
        if keep {
            let path = self.dir.keep();
            eprintln!("relay data kept in {}", path.display());
        }
        Ok(())
    }

    pub fn log_tail(&self, n: usize) -> String {
        let text = std::fs::read_to_string(self.dir.path().join("relay.log")).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(n)..].join("\n")
    }
}

/// `POST /api/v1/auth/login` over a plain HTTP/1.1 connection; returns (agent id, token).
pub async fn login(ws_url: &str, l: &Login) -> Result<(i64, String)> {
    let addr = ws_url
        .strip_prefix("ws://")
        .ok_or_else(|| anyhow!("only ws:// relay urls are supported"))?
        .trim_end_matches('/');
    let body = serde_json::json!({"email": l.email, "password": l.password}).to_string();
    let mut s = TcpStream::connect(addr)
        .await
        .with_context(|| format!("connecting to {addr}"))?;
    let req = format!(
        "POST /api/v1/auth/login HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    s.write_all(req.as_bytes()).await?;
    let mut resp = String::new();
    tokio::time::timeout(Duration::from_secs(30), s.read_to_string(&mut resp))
        .await
        .map_err(|_| anyhow!("login timed out"))??;
    let (head, json) = resp
        .split_once("\r\n\r\n")
        .ok_or_else(|| anyhow!("bad HTTP response"))?;
    if !head.starts_with("HTTP/1.1 200") {
        bail!(
            "login {} failed: {}",
            l.email,
            head.lines().next().unwrap_or("")
        );
    }
    let v: serde_json::Value = serde_json::from_str(json).context("login response")?;
    let token = v["token"]
        .as_str()
        .ok_or_else(|| anyhow!("no token in login response"))?;
    let id = v["agent"]["id"]
        .as_i64()
        .ok_or_else(|| anyhow!("no agent id in login response"))?;
    Ok((id, token.to_string()))
}
