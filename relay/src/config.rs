//! Command line and environment: one typed struct per subcommand; every flag has a matching
//! `SWITCHBOARD_*` environment variable and its `///` doc is its `--help` text.

use clap::{Args, Parser, Subcommand, ValueEnum};
use std::net::SocketAddr;
use std::path::PathBuf;

#[derive(Debug, Parser)]
#[command(name = "switchboard", version, about = "Switchboard live-chat relay")]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the relay: WebSockets for visitors and agents, the REST API and static pages.
    Serve(ServeArgs),
    /// Manage agent accounts.
    #[command(subcommand)]
    Agent(AgentCommand),
    /// Manage sites (which web pages may embed the widget).
    #[command(subcommand)]
    Site(SiteCommand),
    /// Bring the database's schema up to this build's (the relay does it on start too; for
    /// deploys that migrate as a step of their own). Refuses a schema from a newer build.
    Migrate(StoreArgs),
}

/// Where the data lives; shared by every subcommand.
#[derive(Debug, Clone, Args)]
pub struct StoreArgs {
    /// Directory for the embedded SQLite database.
    #[arg(long, env = "SWITCHBOARD_DATA_DIR", default_value = "./data")]
    pub data_dir: PathBuf,
    /// Database URL: sqlite://PATH or postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE;
    /// defaults to sqlite://<data-dir>/switchboard.db.
    #[arg(long, env = "SWITCHBOARD_DATABASE_URL")]
    pub database_url: Option<String>,
}

impl StoreArgs {
    pub fn url(&self) -> String {
        self.database_url.clone().unwrap_or_else(|| {
            format!(
                "sqlite://{}",
                self.data_dir.join("switchboard.db").display()
            )
        })
    }
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Clone, Args)]
pub struct ServeArgs {
    /// Address and port to listen on (port 0 picks a free one).
    #[arg(long, env = "SWITCHBOARD_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    #[command(flatten)]
    pub store: StoreArgs,
    /// How long an agent whose connection dropped keeps their chats, in milliseconds.
    #[arg(long, env = "SWITCHBOARD_AGENT_GRACE_MS", default_value_t = 30_000)]
    pub agent_grace_ms: u64,
    /// How long a visitor can come back (reload, new tab) to the same conversation, in seconds.
    #[arg(
        long,
        env = "SWITCHBOARD_VISITOR_RESUME_SECS",
        default_value_t = 86_400
    )]
    pub visitor_resume_secs: u64,
    /// Lifetime of an agent login session, in seconds.
    #[arg(long, env = "SWITCHBOARD_SESSION_TTL_SECS", default_value_t = 43_200)]
    pub session_ttl_secs: u64,
    /// Development mode: accept visitor connections from any http://localhost:* or
    /// http://127.0.0.1:* origin, whatever the site's list says.
    #[arg(long, env = "SWITCHBOARD_DEV")]
    pub dev: bool,
    /// Create a demo site and a demo agent if missing, allow localhost origins, and print
    /// the URL and login.
    #[arg(long)]
    pub demo: bool,
    /// Directory of the built widget (`widget.js`, hashed assets), as written by
    /// `cargo xtask`; served at `/widget.js` and `/assets/`.
    #[arg(long, env = "SWITCHBOARD_ASSETS_DIR")]
    pub assets_dir: Option<PathBuf>,
    /// Serve the files of this directory (e.g. the example host pages) at `/`.
    #[arg(long, env = "SWITCHBOARD_STATIC_DIR")]
    pub static_dir: Option<PathBuf>,
    /// New WebSocket connections one IP address may open per minute (0 = unlimited).
    #[arg(long, env = "SWITCHBOARD_IP_CONNECTIONS_PER_MINUTE",
          default_value_t = switchboard_shared::limits::CONNECTIONS_PER_IP_PER_MINUTE)]
    pub ip_connections_per_minute: u32,
    /// Frames all visitors of one site may send per second together (the burst is twice
    /// that), so one busy or abusive site cannot take the relay from the others; 0 = no limit.
    #[arg(long, env = "SWITCHBOARD_SITE_FRAMES_PER_SECOND",
          default_value_t = switchboard_shared::limits::SITE_FRAMES_PER_SECOND)]
    pub site_frames_per_second: u32,
    /// A connection must send a complete request head (also the next one on a kept-alive
    /// connection) within this many milliseconds, or it is closed.
    #[arg(
        long,
        env = "SWITCHBOARD_HEADER_READ_TIMEOUT_MS",
        default_value_t = 10_000
    )]
    pub header_read_timeout_ms: u64,
    /// Connections one client address may hold that are not (yet) WebSockets: mid-request,
    /// idle keep-alive, or silent. Capped at a quarter of the unfinished share of the budget.
    #[arg(long, env = "SWITCHBOARD_PENDING_PER_IP", default_value_t = 64)]
    pub pending_per_ip: usize,
    /// A write to a WebSocket client that makes no progress for this many seconds (the
    /// client stopped reading) closes its connection; it resumes when it reconnects.
    #[arg(long, env = "SWITCHBOARD_STALLED_WRITE_SECS", default_value_t = 20)]
    pub stalled_write_secs: u64,
    /// Attempts per webhook delivery (the first included) before it is marked failed.
    #[arg(long, env = "SWITCHBOARD_WEBHOOK_ATTEMPTS", default_value_t = 5)]
    pub webhook_attempts: u32,
    /// Wait before the first webhook retry, in milliseconds; each further retry waits four
    /// times longer (±20 % jitter): 1 s, 4 s, 16 s, 64 s by default.
    #[arg(long, env = "SWITCHBOARD_WEBHOOK_RETRY_MS", default_value_t = 1_000)]
    pub webhook_retry_ms: u64,
    /// Time limit of one webhook request, in milliseconds.
    #[arg(long, env = "SWITCHBOARD_WEBHOOK_TIMEOUT_MS", default_value_t = 10_000)]
    pub webhook_timeout_ms: u64,
    /// Log, once a second, how long messages spent in each hop inside the relay (queue,
    /// commit, publish, mailbox, write): a measuring aid for the load bench.
    #[arg(long, env = "SWITCHBOARD_HOP_TIMES")]
    pub hop_times: bool,
    /// As --hop-times, and also append each second's histograms to this file as one JSON
    /// line (the load bench's --hop-times reads it).
    #[arg(long, env = "SWITCHBOARD_HOP_TIMES_FILE")]
    pub hop_times_file: Option<PathBuf>,
    /// Log format on stderr.
    #[arg(
        long,
        env = "SWITCHBOARD_LOG_FORMAT",
        value_enum,
        default_value = "text"
    )]
    pub log_format: LogFormat,
}

#[derive(Debug, Subcommand)]
pub enum AgentCommand {
    /// Create an agent account.
    Add {
        #[command(flatten)]
        store: StoreArgs,
        /// Login e-mail address.
        #[arg(long)]
        email: String,
        /// Name shown to visitors.
        #[arg(long)]
        name: String,
        /// Password (prefer --password-stdin: arguments are visible to other users).
        #[arg(long, conflicts_with = "password_stdin")]
        password: Option<String>,
        /// Read the password from the first line of standard input.
        #[arg(long)]
        password_stdin: bool,
        /// Most chats the agent holds at once.
        #[arg(long, default_value_t = 3)]
        max_chats: u32,
        /// Make the agent an administrator.
        #[arg(long)]
        admin: bool,
        /// Support level: L1 (first contact), L2 or L3 (escalations).
        #[arg(long, default_value = "L1")]
        level: String,
        /// A site the agent works for (repeatable): their chats, queue and tickets. None:
        /// every site. Admins always work for every site.
        #[arg(long = "site")]
        sites: Vec<String>,
    },
    /// List agent accounts.
    List {
        #[command(flatten)]
        store: StoreArgs,
    },
}

#[derive(Debug, Subcommand)]
pub enum SiteCommand {
    /// Create or replace a site.
    Add {
        #[command(flatten)]
        store: StoreArgs,
        /// Public id used in the script tag, e.g. `acme`.
        #[arg(long)]
        id: String,
        /// Display name (the team name in the widget header).
        #[arg(long)]
        name: Option<String>,
        /// An origin allowed to embed the widget, e.g. https://www.example.com (repeatable).
        #[arg(long = "origin")]
        origins: Vec<String>,
        /// Pre-chat fields as `field=rule` pairs, fields name|email|customer_number, rules
        /// off|optional|required, e.g. `--prechat name=required,email=optional`.
        #[arg(long, default_value = "")]
        prechat: String,
    },
}

impl ServeArgs {
    /// The webhook delivery settings.
    pub fn webhooks(&self) -> crate::webhooks::WebhookConfig {
        crate::webhooks::WebhookConfig {
            attempts: self.webhook_attempts.max(1),
            retry_base: std::time::Duration::from_millis(self.webhook_retry_ms),
            timeout: std::time::Duration::from_millis(self.webhook_timeout_ms.max(1)),
        }
    }
}
