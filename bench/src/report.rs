//! The results: one serialisable [`Summary`] (the `--json` file CI reads) and the human
//! table printed from it.

use crate::config::Plan;
use crate::database::{DatabaseReport, DbCpu};
use crate::metrics::Counters;
use crate::procfs::{Limits, TcpDrops};
use hdrhistogram::Histogram;
use serde::Serialize;

#[derive(Debug, Default, Serialize)]
pub struct Summary {
    /// False when anything was lost or duplicated, or the run failed.
    pub ok: bool,
    pub failures: Vec<String>,
    /// Messages acknowledged by the relay that the other side never received, all steps.
    pub lost: u64,
    /// Messages a receiver got more than once, all steps.
    pub duplicated: u64,
    pub plan: Option<Plan>,
    /// The relay's database: backend, masked URL, the bench's PostgreSQL schema.
    pub database: Option<DatabaseReport>,
    pub machine: Machine,
    pub limits: LimitsReport,
    pub setup: Setup,
    /// Relay RSS with the agents connected and no visitor, bytes.
    pub baseline_rss: Option<u64>,
    pub memory: Vec<MemPoint>,
    pub idle: Option<Idle>,
    /// One event (an agents-online change) to every idle visitor, per round.
    pub fanout: Vec<FanoutRound>,
    /// Every idle visitor reconnecting at once (`--storm`).
    pub storm: Option<Storm>,
    pub steps: Vec<StepResult>,
    pub counters: Counters,
    pub wall_secs: f64,
}

/// A reconnect storm: idle visitors dropped at once, back (welcomed again) after `secs`.
#[derive(Debug, Default, Clone, Serialize)]
pub struct Storm {
    pub visitors: u32,
    pub reconnected: u32,
    pub failed: u32,
    /// Attempts after a failed one (the relay refused with 503, a reset, a timeout).
    pub retries: u32,
    pub secs: f64,
}

/// One fan-out round, timed from the coordinator's trigger command.
#[derive(Debug, Default, Clone, Serialize)]
pub struct FanoutRound {
    pub visitors: u32,
    pub received: u32,
    /// First and last visitor's arrival after the trigger, ms.
    pub first_ms: f64,
    pub last_ms: f64,
}

#[derive(Debug, Default, Serialize)]
pub struct Machine {
    pub cpus: usize,
    pub mem_total_kib: u64,
    pub kernel: String,
}

impl Machine {
    pub fn read() -> Machine {
        let mem = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
        let mem_total_kib = mem
            .lines()
            .find_map(|l| l.strip_prefix("MemTotal:"))
            .and_then(|r| r.split_whitespace().next()?.parse().ok())
            .unwrap_or(0);
        Machine {
            cpus: std::thread::available_parallelism().map_or(1, |n| n.get()),
            mem_total_kib,
            kernel: std::fs::read_to_string("/proc/sys/kernel/osrelease")
                .unwrap_or_default()
                .trim()
                .to_string(),
        }
    }
}

#[derive(Debug, Default, Serialize)]
pub struct LimitsReport {
    pub coordinator: Limits,
    pub workers: Vec<Limits>,
    pub relay: Option<Limits>,
}

#[derive(Debug, Default, Serialize)]
pub struct Setup {
    pub relay_start_secs: f64,
    pub agents_connected: u32,
    pub agents_failed: u32,
    pub conversations_started: u32,
    pub conversations_failed: u32,
    pub start_conversations_secs: f64,
}

#[derive(Debug, Serialize)]
pub struct MemPoint {
    pub visitors: u32,
    pub connect_secs: f64,
    /// New visitor sessions (TCP connect, upgrade, hello, welcome received) of this step
    /// per second of the slowest worker's connect phase.
    pub connects_per_sec: f64,
    pub failed: u32,
    /// Set-up time of this step's sessions, TCP connect to welcome.
    pub setup_latency: Percentiles,
    /// Machine-wide handshakes dropped by full listen backlogs and SYNs sent again during
    /// this step (anything else connecting on the machine counts too).
    pub tcp_drops: Option<TcpDrops>,
    /// Relay CPU while this step connected, per cent of one core (the machine's cores are
    /// shared with the workers).
    pub relay_cpu_percent: Option<f64>,
    /// The database server's CPU over the same window; see [`StepResult`].
    pub database_cpu_percent: Option<f64>,
    pub rss: Option<u64>,
    /// (RSS now − baseline) / visitors, bytes per idle connection.
    pub bytes_per_conn: Option<f64>,
    pub relay_fds: Option<u64>,
    pub relay_threads: Option<u64>,
}

#[derive(Debug, Serialize)]
pub struct Idle {
    pub visitors: u32,
    pub secs: f64,
    /// CPU seconds the relay used during the idle window.
    pub relay_cpu_secs: f64,
    pub relay_cpu_percent: f64,
    /// CPU seconds the database server used during the idle window; see [`StepResult`].
    pub database_cpu_secs: Option<f64>,
    pub database_cpu_percent: Option<f64>,
}

#[derive(Debug, Default, Serialize)]
pub struct Percentiles {
    pub count: u64,
    pub p50_ms: f64,
    pub p90_ms: f64,
    pub p99_ms: f64,
    pub p999_ms: f64,
    pub max_ms: f64,
}

impl Percentiles {
    pub fn of(h: &Histogram<u64>) -> Percentiles {
        let ms = |q: f64| h.value_at_quantile(q) as f64 / 1000.0;
        Percentiles {
            count: h.len(),
            p50_ms: ms(0.50),
            p90_ms: ms(0.90),
            p99_ms: ms(0.99),
            p999_ms: ms(0.999),
            max_ms: h.max() as f64 / 1000.0,
        }
    }
}

#[derive(Debug, Default, Serialize)]
pub struct StepResult {
    pub target_rate: u32,
    pub secs: u64,
    pub sent: u64,
    pub acked: u64,
    pub received: u64,
    pub typing_sent: u64,
    /// Acknowledged (persisted) messages per second, over the time until the last ack.
    pub achieved_rate: f64,
    pub lost: u64,
    pub duplicated: u64,
    /// Send → the other side's `event`.
    pub latency: Percentiles,
    /// Send → the sender's `sent` (durable).
    pub ack_latency: Percentiles,
    /// The relay's stamp (`at`, when it accepted the message; 1 ms resolution) → the other
    /// side's `event`: the relay's store, publish and delivery, and the receiving client. The
    /// rest of `latency` is the sending client, the network and the relay's read.
    pub after_stamp: Percentiles,
    pub relay_cpu_percent: Option<f64>,
    /// The PostgreSQL server's CPU over the step's wall window, per cent of one core: user
    /// and system time of every process named `postgres` on this machine (and of the
    /// backends they reaped). It counts whatever the server does, so it assumes the server
    /// serves nobody else meanwhile, which holds on the bench machine. None for SQLite (it
    /// runs inside the relay, in `relay_cpu_percent`) and for a server on another host.
    pub database_cpu_percent: Option<f64>,
    /// With `--hop-times`: where inside the relay the step's messages spent their time.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub hops: Vec<crate::hops::HopTimes>,
    /// All generator worker processes together: on one box they share the relay's cores.
    pub generator_cpu_percent: Option<f64>,
    pub relay_rss: Option<u64>,
}

fn mib(b: u64) -> String {
    format!("{:.1} MiB", b as f64 / 1048576.0)
}

fn percent(v: Option<f64>, blank: &str) -> String {
    v.map_or(blank.into(), |c| format!("{c:.0}%"))
}

pub fn print(s: &Summary) {
    let db_cpu = s.database.as_ref().map_or(DbCpu::NotSampled, |d| d.cpu());
    let db = |v: Option<f64>| percent(v, db_cpu.blank());
    println!();
    println!(
        "== switchboard-bench ({}) on {} ==",
        s.plan.as_ref().map_or("", |p| p.profile.as_str()),
        s.database
            .as_ref()
            .map_or("an unknown database".into(), |d| d.describe())
    );
    println!(
        "machine: {} cpus, {} MiB, kernel {}",
        s.machine.cpus,
        s.machine.mem_total_kib / 1024,
        s.machine.kernel
    );
    let lim = |l: &Limits| {
        format!(
            "pid {} nofile {}/{}",
            l.pid,
            l.open_files_soft.map_or("?".into(), |v| v.to_string()),
            l.open_files_hard.map_or("?".into(), |v| v.to_string())
        )
    };
    println!("limits: coordinator {}", lim(&s.limits.coordinator));
    for w in &s.limits.workers {
        println!("        worker {}", lim(w));
    }
    if let Some(r) = &s.limits.relay {
        println!("        relay {}", lim(r));
    }
    if let Some((lo, hi)) = s.limits.coordinator.port_range {
        println!(
            "        ephemeral ports {lo}-{hi} ({} per source address)",
            hi - lo + 1
        );
    }
    println!(
        "setup: relay start {:.1}s, agents {} ok / {} failed, conversations {} ok / {} failed ({:.1}s)",
        s.setup.relay_start_secs,
        s.setup.agents_connected,
        s.setup.agents_failed,
        s.setup.conversations_started,
        s.setup.conversations_failed,
        s.setup.start_conversations_secs
    );
    println!();
    println!("idle visitors | connect/s | failed | relay RSS   | per idle conn | fds    | threads | set-up p50 / p99 / max ms | listen overflows / SYN retr. | relay CPU | db CPU");
    if let Some(b) = s.baseline_rss {
        println!(
            "{:>13} | {:>9} | {:>6} | {:>11} | {:>13} | {:>6} |",
            0,
            "-",
            "-",
            mib(b),
            "-",
            "-"
        );
    }
    for m in &s.memory {
        let l = &m.setup_latency;
        println!(
            "{:>13} | {:>9.0} | {:>6} | {:>11} | {:>13} | {:>6} | {:>7} | {:>25} | {:>28} | {:>9} | {}",
            m.visitors,
            m.connects_per_sec,
            m.failed,
            m.rss.map_or("-".into(), mib),
            m.bytes_per_conn
                .map_or("-".into(), |b| format!("{:.2} KiB", b / 1024.0)),
            m.relay_fds.map_or("-".into(), |v| v.to_string()),
            m.relay_threads.map_or("-".into(), |v| v.to_string()),
            format!("{:.1} / {:.1} / {:.0}", l.p50_ms, l.p99_ms, l.max_ms),
            m.tcp_drops.map_or("-".into(), |d| format!(
                "{} / {}",
                d.listen_overflows, d.syn_retrans
            )),
            percent(m.relay_cpu_percent, "-"),
            db(m.database_cpu_percent),
        );
    }
    if let Some(i) = &s.idle {
        let db_idle = match (i.database_cpu_secs, i.database_cpu_percent) {
            (Some(c), Some(p)) => format!("{c:.3}s ({p:.2}% of one core)"),
            _ => db_cpu.blank().into(),
        };
        println!(
            "idle: {} visitors for {:.0}s: relay CPU {:.3}s ({:.2}% of one core), db CPU {db_idle}",
            i.visitors, i.secs, i.relay_cpu_secs, i.relay_cpu_percent
        );
    }
    if let Some(st) = &s.storm {
        println!(
            "reconnect storm: {} of {} idle visitors welcomed again in {:.2}s ({:.0}/s), {} retries, {} gave up",
            st.reconnected,
            st.visitors,
            st.secs,
            f64::from(st.reconnected) / st.secs.max(1e-3),
            st.retries,
            st.failed
        );
    }
    for (n, f) in s.fanout.iter().enumerate() {
        println!(
            "fan-out {}: {} of {} visitors got the event; first after {:.1} ms, last after {:.1} ms",
            n + 1,
            f.received,
            f.visitors,
            f.first_ms,
            f.last_ms
        );
    }
    println!();
    println!("target/s | achieved/s |   acked |  lost | dup | p50 ms | p90 ms | p99 ms | p99.9 ms | max ms | ack p99 | relay CPU |   db CPU | gen. CPU");
    for st in &s.steps {
        let l = &st.latency;
        println!(
            "{:>8} | {:>10.0} | {:>7} | {:>5} | {:>3} | {:>6.2} | {:>6.2} | {:>6.2} | {:>8.2} | {:>6.1} | {:>7.2} | {:>9} | {:>8} | {}",
            st.target_rate,
            st.achieved_rate,
            st.acked,
            st.lost,
            st.duplicated,
            l.p50_ms,
            l.p90_ms,
            l.p99_ms,
            l.p999_ms,
            l.max_ms,
            st.ack_latency.p99_ms,
            percent(st.relay_cpu_percent, "-"),
            db(st.database_cpu_percent),
            percent(st.generator_cpu_percent, "-"),
        );
    }
    println!();
    println!("latency split (the relay stamps a message as it accepts it; 1 ms resolution):");
    println!("target/s | stamp → received p50 / p90 / p99 / p99.9 ms");
    for st in &s.steps {
        let a = &st.after_stamp;
        println!(
            "{:>8} | {:.2} / {:.2} / {:.2} / {:.2}",
            st.target_rate, a.p50_ms, a.p90_ms, a.p99_ms, a.p999_ms
        );
    }
    if s.steps.iter().any(|st| !st.hops.is_empty()) {
        println!();
        println!("inside the relay (--hop-times), p50 / p99 / p99.9 ms:");
        println!("target/s | {}", crate::hops::ORDER.join(" | "));
        for st in &s.steps {
            let cells: Vec<String> = crate::hops::ORDER
                .iter()
                .map(|name| {
                    st.hops
                        .iter()
                        .find(|h| h.hop == *name)
                        .map_or("-".into(), |h| {
                            let t = &h.times;
                            format!("{:.2} / {:.2} / {:.2}", t.p50_ms, t.p99_ms, t.p999_ms)
                        })
                })
                .collect();
            println!("{:>8} | {}", st.target_rate, cells.join(" | "));
        }
    }
    println!();
    let c = &s.counters;
    println!(
        "errors: connect failed {}, hello failed {}, error frames {:?}, closes {:?}, unparsed {}",
        c.connect_failed, c.hello_failed, c.errors, c.closes, c.unparsed
    );
    println!(
        "lost {} duplicated {}  ({:.1}s)",
        s.lost, s.duplicated, s.wall_secs
    );
    for f in &s.failures {
        println!("FAILED: {f}");
    }
    println!("{}", if s.ok { "OK" } else { "NOT OK" });
}
