//! The coordinator and its worker processes talk in JSON lines: commands on the worker's
//! stdin, replies on its stdout (logs go to stderr). One reply per command, in order.

use crate::metrics::{Counters, StepReport};
use crate::procfs::Limits;
use serde::{Deserialize, Serialize};
use std::net::Ipv4Addr;
use switchboard_shared::Presence;

/// Everything a worker needs to know, sent as its first stdin line.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct WorkerSpec {
    pub index: u32,
    /// `ws://host:port` of the relay.
    pub url: String,
    pub site: String,
    pub origin: String,
    /// Client sockets bind to these, round-robin, before connecting.
    pub source_addrs: Vec<Ipv4Addr>,
    /// The agents this worker connects (session tokens from the REST login).
    pub agents: Vec<AgentCred>,
    /// The first `chatters` visitors of this worker take part in conversations.
    pub chatters: u32,
    pub connect_concurrency: u32,
    /// The worker exits by itself after this many seconds, whatever happens.
    pub max_secs: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AgentCred {
    pub id: i64,
    pub token: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "cmd", rename_all = "snake_case")]
pub enum ToWorker {
    /// Connect every agent of the spec and wait for their welcome.
    ConnectAgents,
    /// Open visitor connections (hello'ed) until the worker holds `total`.
    ConnectVisitors {
        total: u32,
    },
    /// Every chatter starts a conversation; wait until an agent joined each one.
    StartConversations {
        per_sec: u32,
    },
    /// Exchange messages for a while, then drain and report.
    Traffic(TrafficSpec),
    /// Every idle visitor drops its socket and reconnects with its token; wait (at most
    /// `timeout_ms`) until all are welcomed again or gave up.
    Storm {
        timeout_ms: u64,
    },
    /// Forget the availability frames seen so far (a fan-out round begins).
    FanoutArm,
    /// The worker's first agent sets this presence (changes the agents-online count).
    FanoutTrigger {
        presence: Presence,
    },
    /// Wait (at most `timeout_ms`) until every visitor of this worker got an availability
    /// frame since the arm.
    FanoutWait {
        timeout_ms: u64,
    },
    Quit,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
pub struct TrafficSpec {
    pub step: u32,
    /// Messages per second each visitor sends into its conversation.
    pub visitor_rate: f64,
    /// Messages per second an agent sends into each of its conversations.
    pub agent_rate: f64,
    /// A typing frame before every this-many messages (0 = none).
    pub typing_every: u32,
    pub secs: u64,
    pub drain_secs: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "reply", rename_all = "snake_case")]
pub enum FromWorker {
    Ready {
        limits: Limits,
    },
    Agents {
        connected: u32,
        failed: u32,
        counters: Counters,
    },
    Visitors {
        held: u32,
        failed: u32,
        secs: f64,
        /// (microseconds, count) pairs: each new session's set-up time, from the TCP
        /// connect to the welcome (a dropped SYN shows here as a 1 s retransmission).
        setup_latency: Vec<(u64, u64)>,
        counters: Counters,
    },
    Started {
        joined: u32,
        failed: u32,
        counters: Counters,
    },
    TrafficDone {
        report: Box<StepReport>,
        counters: Counters,
    },
    Storm {
        visitors: u32,
        reconnected: u32,
        failed: u32,
        retries: u32,
        secs: f64,
    },
    /// Reply to `FanoutArm` and `FanoutTrigger`.
    Done,
    FanoutSeen {
        /// Visitors of this worker and how many got the frame.
        visitors: u32,
        received: u32,
        /// Unix micros of the first and last arrival.
        first_us: u64,
        last_us: u64,
    },
    Failed {
        error: String,
    },
}
