//! Flags and profiles. A profile fills in every parameter; any flag given on the command line
//! wins over the profile's value. [`Plan`] is the resolved, checked result the coordinator
//! runs.

use anyhow::{bail, Result};
use clap::{Args, Parser, Subcommand, ValueEnum};
use std::net::Ipv4Addr;
use std::path::PathBuf;
use switchboard_shared::limits::FRAMES_PER_SECOND;

#[derive(Debug, Parser)]
#[command(
    name = "switchboard-bench",
    version,
    about = "Load generator for the Switchboard relay: idle connections, message rate, latency, loss"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
    #[command(flatten)]
    pub run: RunArgs,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Internal: one worker process, driven by the coordinator over stdin/stdout.
    #[command(hide = true)]
    Worker,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Profile {
    /// CI-sized: 1,000 visitors, 10 agents, 500 msgs/s for 10 s; under a minute.
    Smoke,
    /// The memory curve up to 19,000 visitors, then message rates stepping up to 20,000/s.
    Full,
}

#[derive(Debug, Clone, Args)]
pub struct RunArgs {
    /// Which preset fills in the parameters not given as flags.
    #[arg(long, value_enum, default_value = "smoke")]
    pub profile: Profile,
    /// The relay binary to start (default: target/release/switchboard if present, else
    /// target/debug/switchboard, under CARGO_TARGET_DIR when set).
    #[arg(long)]
    pub relay_bin: Option<PathBuf>,
    /// Use a relay that is already running (e.g. ws://127.0.0.1:8080) instead of starting
    /// one; its site `--site` must exist and `--agent-login` must name agent accounts.
    #[arg(long)]
    pub relay_url: Option<String>,
    /// With --relay-url: the relay's pid, so its RSS and CPU can be sampled.
    #[arg(long)]
    pub relay_pid: Option<u32>,
    /// With --relay-url: agent logins as `email:password`, repeatable (one per agent).
    #[arg(long)]
    pub agent_login: Vec<String>,
    /// Site id the visitors greet.
    #[arg(long, default_value = "bench")]
    pub site: String,
    /// Origin header the visitors send (must be allowed for the site).
    #[arg(long, default_value = "http://bench.local")]
    pub origin: String,
    /// Visitor connections, comma-separated steps for the memory curve (the last is N).
    #[arg(long, value_delimiter = ',')]
    pub visitors: Option<Vec<u32>>,
    /// Agent connections (M).
    #[arg(long)]
    pub agents: Option<u32>,
    /// Chat cap per agent (K); M × K conversations carry the traffic.
    #[arg(long)]
    pub max_chats: Option<u32>,
    /// Target message rates in messages/s, comma-separated steps (R).
    #[arg(long, value_delimiter = ',')]
    pub rates: Option<Vec<u32>>,
    /// Seconds each rate step sends for.
    #[arg(long)]
    pub duration_secs: Option<u64>,
    /// Share of the messages the agents send (the visitors send the rest).
    #[arg(long)]
    pub agent_share: Option<f64>,
    /// A `typing` frame before every this-many messages (0 = none).
    #[arg(long)]
    pub typing_every: Option<u32>,
    /// Longest wait after a step for messages still in flight, in seconds.
    #[arg(long)]
    pub drain_secs: Option<u64>,
    /// Length of the idle-CPU window with all connections open and no traffic, in seconds.
    #[arg(long)]
    pub idle_secs: Option<u64>,
    /// Worker processes (each holds at most 15,000 sockets; raised if needed).
    #[arg(long)]
    pub workers: Option<u32>,
    /// Loopback source addresses 127.0.0.2 … used for client sockets.
    #[arg(long)]
    pub source_addrs: Option<u32>,
    /// Connections a worker opens at once.
    #[arg(long)]
    pub connect_concurrency: Option<u32>,
    /// Conversations started per second, over all workers. Faster starts build a queue,
    /// and the relay then sends every agent a queue snapshot every 25 ms (see
    /// docs/PERFORMANCE.md: that is what closes connections with 4002 at 500/s).
    #[arg(long, default_value_t = 100)]
    pub start_rate: u32,
    /// Highest frames/s any one connection may send (the relay allows 20/s).
    #[arg(long, default_value_t = 18.0)]
    pub max_conn_frames_per_sec: f64,
    /// Fan-out rounds after the idle window: one agent toggles away/online, which changes
    /// the agents-online count every visitor is told; each round measures how long the
    /// relay takes to reach every idle visitor (0 = skip).
    #[arg(long, default_value_t = 3)]
    pub fanout_rounds: u32,
    /// After the fan-out rounds: every idle visitor drops its socket at once and reconnects
    /// with its token (a reconnect storm); measures how long until all are welcomed again.
    #[arg(long)]
    pub storm: bool,
    /// Stop stepping up the rate once a step achieves less than this share of its target.
    #[arg(long, default_value_t = 0.9)]
    pub min_achieved: f64,
    /// Hard limit for the whole run in seconds; everything is stopped after it.
    #[arg(long)]
    pub max_secs: Option<u64>,
    /// Write the JSON summary here.
    #[arg(long)]
    pub json: Option<PathBuf>,
    /// The relay's database. postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE: the bench
    /// creates a fresh schema `bench_<pid>_<unix secs>` there for the run and drops it
    /// afterwards (unless --keep-data); sqlite://PATH: passed to the relay as given. Default:
    /// SQLite in the relay's temp data dir. With --relay-url it only names that relay's
    /// database for the report and the database CPU column.
    #[arg(long)]
    pub database_url: Option<String>,
    /// Keep the relay's temp data dir (database and relay.log) after the run, and the
    /// PostgreSQL schema with --database-url postgres://….
    #[arg(long)]
    pub keep_data: bool,
    /// Start the relay with `--hop-times-file` and report, per rate step, how long messages
    /// spent in each hop inside it (queue, commit, publish, mailbox, write). Only with a
    /// relay the bench starts.
    #[arg(long)]
    pub hop_times: bool,
}

/// Sockets one worker process may hold: well under the 20,000 open-file limit.
pub const MAX_SOCKETS_PER_WORKER: u32 = 15_000;

/// The resolved parameters of one run.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Plan {
    pub profile: String,
    pub visitor_steps: Vec<u32>,
    pub agents: u32,
    pub max_chats: u32,
    pub conversations: u32,
    pub rates: Vec<u32>,
    pub duration_secs: u64,
    pub agent_share: f64,
    pub typing_every: u32,
    pub drain_secs: u64,
    pub idle_secs: u64,
    pub workers: u32,
    pub source_addrs: Vec<Ipv4Addr>,
    pub connect_concurrency: u32,
    pub start_rate: u32,
    pub fanout_rounds: u32,
    pub storm: bool,
    pub max_conn_frames_per_sec: f64,
    pub min_achieved: f64,
    pub max_secs: u64,
    pub site: String,
    pub origin: String,
    pub hop_times: bool,
}

impl Plan {
    pub fn resolve(a: &RunArgs) -> Result<Plan> {
        // (visitors, agents, cap, rates, secs, workers, addrs, idle, drain, max_secs)
        let (v, m, k, r, d, w, s, idle, drain, max) = match a.profile {
            Profile::Smoke => (vec![1_000], 10, 10, vec![500], 10, 2, 2, 3, 5, 55),
            Profile::Full => (
                vec![1_000, 5_000, 10_000, 19_000],
                400,
                8,
                vec![1_000, 2_000, 3_000, 5_000, 10_000, 20_000],
                10,
                2,
                4,
                10,
                // A saturated step leaves seconds of backlog queued in the relay; a short
                // drain would count those messages as lost (45,814 at 10,000/s with 5 s).
                30,
                590,
            ),
        };
        let visitor_steps = a.visitors.clone().unwrap_or(v);
        let agents = a.agents.unwrap_or(m);
        let max_chats = a.max_chats.unwrap_or(k);
        let n = *visitor_steps.last().unwrap_or(&0);
        if visitor_steps.windows(2).any(|w| w[0] > w[1]) || n == 0 {
            bail!("--visitors must be non-empty and ascending");
        }
        let conversations = (agents * max_chats).min(n);
        let sockets = n + agents;
        let workers = a
            .workers
            .unwrap_or(w)
            .max(sockets.div_ceil(MAX_SOCKETS_PER_WORKER));
        let addrs = a.source_addrs.unwrap_or(s).clamp(1, 250);
        let plan = Plan {
            profile: format!("{:?}", a.profile).to_lowercase(),
            visitor_steps,
            agents,
            max_chats,
            conversations,
            rates: a.rates.clone().unwrap_or(r),
            duration_secs: a.duration_secs.unwrap_or(d),
            agent_share: a.agent_share.unwrap_or(0.25).clamp(0.0, 1.0),
            typing_every: a.typing_every.unwrap_or(5),
            drain_secs: a.drain_secs.unwrap_or(drain),
            idle_secs: a.idle_secs.unwrap_or(idle),
            workers,
            source_addrs: (0..addrs)
                .map(|i| Ipv4Addr::new(127, 0, 0, 2 + i as u8))
                .collect(),
            connect_concurrency: a.connect_concurrency.unwrap_or(256).max(1),
            start_rate: a.start_rate.max(1),
            fanout_rounds: a.fanout_rounds.min(20),
            storm: a.storm,
            max_conn_frames_per_sec: a.max_conn_frames_per_sec.min(FRAMES_PER_SECOND as f64),
            min_achieved: a.min_achieved,
            max_secs: a.max_secs.unwrap_or(max),
            site: a.site.clone(),
            origin: a.origin.clone(),
            hop_times: a.hop_times,
        };
        if plan.hop_times && a.relay_url.is_some() {
            bail!("--hop-times needs a relay the bench starts (not --relay-url)");
        }
        plan.check_rates()?;
        Ok(plan)
    }

    /// Frames per second per sent message, counting the typing frames.
    pub fn frames_per_message(&self) -> f64 {
        if self.typing_every == 0 {
            1.0
        } else {
            1.0 + 1.0 / self.typing_every as f64
        }
    }

    /// Refuses rates that would push one connection over the relay's per-connection frame
    /// limit: the run would then measure our own `rate_limited` errors, not the relay.
    fn check_rates(&self) -> Result<()> {
        if self.conversations == 0 {
            bail!("no conversations: need --agents ≥ 1 and --max-chats ≥ 1");
        }
        let top = self.rates.iter().copied().max().unwrap_or(0) as f64;
        let fpm = self.frames_per_message();
        let agent_conn = top * self.agent_share / self.agents as f64 * fpm;
        let visitor_conn = top * (1.0 - self.agent_share) / self.conversations as f64 * fpm;
        let cap = self.max_conn_frames_per_sec;
        if agent_conn > cap {
            let need = (top * self.agent_share * fpm / cap).ceil();
            bail!(
                "rate {top}/s needs {agent_conn:.1} frames/s per agent connection (limit {cap}): \
                 use --agents {need} or a lower --agent-share"
            );
        }
        if visitor_conn > cap {
            bail!(
                "rate {top}/s needs {visitor_conn:.1} frames/s per visitor in a conversation \
                 (limit {cap}): raise --agents × --max-chats"
            );
        }
        Ok(())
    }
}
