//! The run, phase by phase: the database prepared, relay up, agents logged in, workers
//! started; agents connect; visitors connect in steps (RSS after each: the memory curve); an
//! idle window (relay and database CPU with everyone connected and no traffic); conversations
//! start; message-rate steps; then everything stops, the results are merged and the
//! database's schema (PostgreSQL) is dropped.

use crate::config::{Plan, RunArgs};
use crate::conversation::unix_micros;
use crate::database::{Database, DbCpu};
use crate::hops;
use crate::ipc::{AgentCred, FromWorker, ToWorker, TrafficSpec, WorkerSpec};
use crate::metrics::{add_pairs, new_histogram, Counters, MsgSet, ReceivedIndex};
use crate::procfs::{self, Sample, TcpDrops};
use crate::relay_proc::{self, die_with_parent, Login, RelayProc};
use crate::report::{
    FanoutRound, Idle, Machine, MemPoint, Percentiles, StepResult, Storm, Summary,
};
use anyhow::{anyhow, bail, Context, Result};
use futures_util::future::try_join_all;
use std::process::Stdio;
use std::time::{Duration, Instant};
use switchboard_shared::Presence;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader, Lines};
use tokio::process::{Child, ChildStdin, ChildStdout, Command};

/// Pause after connecting before RSS is read, so the relay's buffers settle.
const SETTLE: Duration = Duration::from_secs(2);

struct WorkerProc {
    child: Child,
    stdin: ChildStdin,
    lines: Lines<BufReader<ChildStdout>>,
}

impl WorkerProc {
    /// CPU seconds the worker process has used so far (the generator's share of the box).
    fn cpu_secs(&self) -> Option<f64> {
        procfs::sample(self.child.id()?).ok().map(|s| s.cpu_secs)
    }

    async fn spawn(spec: &WorkerSpec) -> Result<WorkerProc> {
        let exe = std::env::current_exe()?;
        let mut cmd = Command::new(exe);
        cmd.arg("worker")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true);
        die_with_parent(&mut cmd);
        let mut child = cmd.spawn().context("spawning a worker")?;
        let mut stdin = child.stdin.take().ok_or_else(|| anyhow!("worker stdin"))?;
        let stdout = child
            .stdout
            .take()
            .ok_or_else(|| anyhow!("worker stdout"))?;
        let mut line = serde_json::to_string(spec)?;
        line.push('\n');
        stdin.write_all(line.as_bytes()).await?;
        Ok(WorkerProc {
            child,
            stdin,
            lines: BufReader::new(stdout).lines(),
        })
    }

    async fn ask(&mut self, cmd: &ToWorker, timeout: Duration) -> Result<FromWorker> {
        let mut line = serde_json::to_string(cmd)?;
        line.push('\n');
        self.stdin.write_all(line.as_bytes()).await?;
        self.recv(timeout).await
    }

    async fn recv(&mut self, timeout: Duration) -> Result<FromWorker> {
        let line = tokio::time::timeout(timeout, self.lines.next_line())
            .await
            .map_err(|_| anyhow!("worker did not answer within {timeout:?}"))??
            .ok_or_else(|| anyhow!("worker exited"))?;
        match serde_json::from_str(&line).context("worker reply")? {
            FromWorker::Failed { error } => bail!("worker failed: {error}"),
            reply => Ok(reply),
        }
    }
}

/// Sends each worker its command and waits for all replies.
async fn ask_all(
    workers: &mut [WorkerProc],
    cmd: impl Fn(usize) -> ToWorker,
    timeout: Duration,
) -> Result<Vec<FromWorker>> {
    try_join_all(workers.iter_mut().enumerate().map(|(i, w)| {
        let c = cmd(i);
        async move { w.ask(&c, timeout).await }
    }))
    .await
}

/// The `i`-th of `parts` near-equal shares of `total`.
fn share(total: u32, parts: u32, i: usize) -> u32 {
    total / parts + u32::from((i as u32) < total % parts)
}

fn unix_ms() -> i64 {
    i64::try_from(unix_micros() / 1_000).unwrap_or(i64::MAX)
}

/// Where the relay runs and, if we know its pid, how to sample it and its database.
struct Target {
    url: String,
    pid: Option<u32>,
    proc: Option<RelayProc>,
    db_cpu: DbCpu,
}

impl Target {
    fn sample(&self) -> Option<Sample> {
        self.pid.and_then(|p| procfs::sample(p).ok())
    }

    /// The database server's CPU seconds so far (None: SQLite in the relay, or not local).
    fn db_cpu_secs(&self) -> Option<f64> {
        self.db_cpu.sample()
    }
}

/// CPU used between two readings over `wall` seconds, in per cent of one core.
fn cpu_percent(before: Option<f64>, after: Option<f64>, wall: f64) -> Option<f64> {
    before
        .zip(after)
        .map(|(a, b)| 100.0 * (b - a) / wall.max(1e-3))
}

/// Runs the whole benchmark within `max_secs`; the summary holds whatever was measured.
pub async fn run(args: RunArgs) -> Summary {
    let began = Instant::now();
    let mut s = Summary {
        machine: Machine::read(),
        ..Default::default()
    };
    s.limits.coordinator = procfs::limits(std::process::id());
    let mut args = args;
    if args.relay_url.is_some() && !args.agent_login.is_empty() {
        args.agents = Some(args.agent_login.len() as u32);
    }
    let outcome = match Plan::resolve(&args) {
        Ok(plan) => {
            s.plan = Some(plan.clone());
            run_on_database(&args, &plan, &mut s).await
        }
        Err(e) => Err(e),
    };
    if let Err(e) = outcome {
        s.failures.push(format!("{e:#}"));
    }
    if s.lost > 0 {
        s.failures.push(format!("{} messages lost", s.lost));
    }
    if s.duplicated > 0 {
        s.failures
            .push(format!("{} messages duplicated", s.duplicated));
    }
    s.ok = s.failures.is_empty();
    s.wall_secs = began.elapsed().as_secs_f64();
    s
}

/// Prepares the database, runs the phases within `max_secs`, and drops the database's schema
/// whatever happened (the relay is stopped by then: on a timeout, killed as it is dropped).
async fn run_on_database(args: &RunArgs, plan: &Plan, s: &mut Summary) -> Result<()> {
    let url = args.database_url.as_deref();
    // Named in the report even if preparing it fails.
    s.database = Database::external(url).ok().map(|d| d.report);
    let db = match args.relay_url {
        None => Database::prepare(url).await?,
        Some(_) => Database::external(url)?,
    };
    s.database = Some(db.report.clone());
    eprintln!("bench: database {}", db.report.describe());
    let limit = Duration::from_secs(plan.max_secs);
    let result = match tokio::time::timeout(limit, phases(args, plan, &db, s)).await {
        Ok(r) => r,
        Err(_) => Err(anyhow!("time limit of {}s reached; stopped", plan.max_secs)),
    };
    let finished = db.finish(args.keep_data).await;
    match (result, finished) {
        (Err(e), Err(f)) => {
            s.failures.push(format!("{f:#}"));
            Err(e)
        }
        (r, f) => r.and(f),
    }
}

async fn phases(args: &RunArgs, plan: &Plan, db: &Database, s: &mut Summary) -> Result<()> {
    // 1. The relay and the agents' session tokens.
    let t = Instant::now();
    let (mut target, logins) = match &args.relay_url {
        None => {
            let bin = args
                .relay_bin
                .clone()
                .unwrap_or_else(relay_proc::default_binary);
            eprintln!(
                "bench: starting {} with {} agents",
                bin.display(),
                plan.agents
            );
            let (p, logins) = RelayProc::start(&bin, plan, db).await?;
            (
                Target {
                    url: p.url(),
                    pid: Some(p.pid),
                    proc: Some(p),
                    db_cpu: db.report.cpu(),
                },
                logins,
            )
        }
        Some(url) => {
            let logins = args
                .agent_login
                .iter()
                .map(|l| {
                    let (email, password) = l
                        .split_once(':')
                        .ok_or_else(|| anyhow!("--agent-login wants email:password"))?;
                    Ok(Login {
                        email: email.into(),
                        password: password.into(),
                    })
                })
                .collect::<Result<Vec<_>>>()?;
            (
                Target {
                    url: url.trim_end_matches('/').to_string(),
                    pid: args.relay_pid,
                    proc: None,
                    db_cpu: db.report.cpu(),
                },
                logins,
            )
        }
    };
    s.limits.relay = target.pid.map(procfs::limits);
    let creds = login_all(&target.url, &logins).await?;
    s.setup.relay_start_secs = t.elapsed().as_secs_f64();

    // 2. Workers, each with its share of agents and chatting visitors.
    let mut workers = Vec::new();
    let mut next_agent = 0usize;
    for i in 0..plan.workers as usize {
        let n_agents = share(plan.agents, plan.workers, i) as usize;
        let spec = WorkerSpec {
            index: i as u32,
            url: target.url.clone(),
            site: plan.site.clone(),
            origin: plan.origin.clone(),
            source_addrs: plan.source_addrs.clone(),
            agents: creds[next_agent..next_agent + n_agents].to_vec(),
            chatters: share(plan.conversations, plan.workers, i),
            connect_concurrency: plan.connect_concurrency,
            max_secs: plan.max_secs + 30,
        };
        next_agent += n_agents;
        workers.push(WorkerProc::spawn(&spec).await?);
    }
    for w in &mut workers {
        if let FromWorker::Ready { limits } = w.recv(Duration::from_secs(30)).await? {
            s.limits.workers.push(limits);
        }
    }
    let mut counters = vec![Counters::default(); workers.len()];
    let result = drive(plan, s, &mut workers, &mut target, &mut counters).await;
    // Merged whatever happened, so a failed run still shows its errors and closes.
    for c in &counters {
        s.counters.add(c);
    }
    for w in &mut workers {
        let _ = w.stdin.write_all(b"{\"cmd\":\"quit\"}\n").await;
    }
    for w in &mut workers {
        let _ = tokio::time::timeout(Duration::from_secs(10), w.child.wait()).await;
    }
    if let Some(mut p) = target.proc.take() {
        if !p.alive() {
            s.failures.push(format!(
                "the relay exited during the run; log tail:\n{}",
                p.log_tail(20)
            ));
        }
        p.stop(args.keep_data).await?;
    }
    result
}

/// CPU seconds of all worker processes together, if every one could be read.
fn generator_cpu(workers: &[WorkerProc]) -> Option<f64> {
    workers.iter().map(WorkerProc::cpu_secs).sum()
}

/// One fan-out round: arm every worker, have the first agent change presence (so the
/// agents-online count changes), wait until every visitor got its availability frame.
async fn fanout_round(workers: &mut [WorkerProc], presence: Presence) -> Result<FanoutRound> {
    let short = Duration::from_secs(10);
    ask_all(workers, |_| ToWorker::FanoutArm, short).await?;
    let t0 = unix_micros();
    ask_all(
        &mut workers[..1],
        |_| ToWorker::FanoutTrigger { presence },
        short,
    )
    .await?;
    let replies = ask_all(
        workers,
        |_| ToWorker::FanoutWait { timeout_ms: 5_000 },
        Duration::from_secs(15),
    )
    .await?;
    let mut r = FanoutRound::default();
    let (mut first, mut last) = (u64::MAX, 0u64);
    for reply in replies {
        if let FromWorker::FanoutSeen {
            visitors,
            received,
            first_us,
            last_us,
        } = reply
        {
            r.visitors += visitors;
            r.received += received;
            first = first.min(first_us);
            last = last.max(last_us);
        }
    }
    r.first_ms = first.saturating_sub(t0) as f64 / 1000.0;
    r.last_ms = last.saturating_sub(t0) as f64 / 1000.0;
    Ok(r)
}

async fn login_all(url: &str, logins: &[Login]) -> Result<Vec<AgentCred>> {
    let mut creds = Vec::with_capacity(logins.len());
    // The relay verifies an argon2 hash per login: two at a time keeps both cores busy.
    for pair in logins.chunks(2) {
        let got = try_join_all(pair.iter().map(|l| relay_proc::login(url, l))).await?;
        creds.extend(got.into_iter().map(|(id, token)| AgentCred { id, token }));
    }
    Ok(creds)
}

async fn drive(
    plan: &Plan,
    s: &mut Summary,
    workers: &mut [WorkerProc],
    target: &mut Target,
    counters: &mut [Counters],
) -> Result<()> {
    let w = plan.workers;
    let long = Duration::from_secs(plan.max_secs);

    // 3. Agents first: visitors connected later are not each told about every agent.
    for (i, r) in ask_all(workers, |_| ToWorker::ConnectAgents, long)
        .await?
        .into_iter()
        .enumerate()
    {
        if let FromWorker::Agents {
            connected,
            failed,
            counters: c,
        } = r
        {
            s.setup.agents_connected += connected;
            s.setup.agents_failed += failed;
            counters[i] = c;
        }
    }
    tokio::time::sleep(SETTLE).await;
    let base = target.sample();
    s.baseline_rss = base.map(|b| b.rss);
    eprintln!(
        "bench: {} agents connected; relay RSS {:?}",
        s.setup.agents_connected, s.baseline_rss
    );

    // 4. The memory curve: idle visitors in steps.
    for &n in &plan.visitor_steps {
        let drops_before = TcpDrops::read();
        let before = target.sample();
        let db_before = target.db_cpu_secs();
        let t = Instant::now();
        let replies = ask_all(
            workers,
            |i| ToWorker::ConnectVisitors {
                total: share(n, w, i),
            },
            long,
        )
        .await?;
        let tcp_drops = TcpDrops::read()
            .zip(drops_before)
            .map(|(now, then)| now.since(then));
        let (mut held, mut failed, mut secs) = (0, 0, 0f64);
        let mut setup = new_histogram();
        for (i, r) in replies.into_iter().enumerate() {
            if let FromWorker::Visitors {
                held: h,
                failed: f,
                secs: t,
                setup_latency,
                counters: c,
            } = r
            {
                held += h;
                failed += f;
                secs = secs.max(t);
                add_pairs(&mut setup, &setup_latency);
                counters[i] = c;
            }
        }
        let after = target.sample();
        let db_after = target.db_cpu_secs();
        let wall = t.elapsed().as_secs_f64();
        tokio::time::sleep(SETTLE).await;
        let now = target.sample();
        let prev = s.memory.last().map_or(0, |m| m.visitors);
        let point = MemPoint {
            visitors: held,
            connect_secs: secs,
            connects_per_sec: f64::from(held.saturating_sub(prev)) / secs.max(1e-3),
            failed,
            setup_latency: Percentiles::of(&setup),
            tcp_drops,
            relay_cpu_percent: cpu_percent(
                before.map(|x| x.cpu_secs),
                after.map(|x| x.cpu_secs),
                wall,
            ),
            database_cpu_percent: cpu_percent(db_before, db_after, wall),
            rss: now.map(|x| x.rss),
            bytes_per_conn: match (now, base) {
                (Some(x), Some(b)) if held > 0 => {
                    Some((x.rss as f64 - b.rss as f64) / f64::from(held))
                }
                _ => None,
            },
            relay_fds: now.map(|x| x.open_fds),
            relay_threads: now.map(|x| x.threads),
        };
        eprintln!(
            "bench: {held} visitors ({failed} failed) in {secs:.2}s; set-up p99 {:.1} ms; RSS {:?}",
            point.setup_latency.p99_ms, point.rss
        );
        s.memory.push(point);
    }

    // 5. Idle: everyone connected, nobody talking.
    let visitors = s.memory.last().map_or(0, |m| m.visitors);
    let t0 = target.sample();
    let db0 = target.db_cpu_secs();
    let idle_start = Instant::now();
    tokio::time::sleep(Duration::from_secs(plan.idle_secs)).await;
    if let (Some(a), Some(b)) = (t0, target.sample()) {
        let db1 = target.db_cpu_secs();
        let secs = idle_start.elapsed().as_secs_f64();
        let cpu = b.cpu_secs - a.cpu_secs;
        let db_cpu = db0.zip(db1).map(|(a, b)| b - a);
        s.idle = Some(Idle {
            visitors,
            secs,
            relay_cpu_secs: cpu,
            relay_cpu_percent: 100.0 * cpu / secs,
            database_cpu_secs: db_cpu,
            database_cpu_percent: db_cpu.map(|c| 100.0 * c / secs),
        });
    }

    // 5b. Fan-out: one event to every idle visitor.
    for round in 0..plan.fanout_rounds {
        let presence = if round % 2 == 0 {
            Presence::Away
        } else {
            Presence::Online
        };
        let r = fanout_round(workers, presence).await?;
        eprintln!(
            "bench: fan-out {}: {} of {} visitors in {:.1} ms",
            round + 1,
            r.received,
            r.visitors,
            r.last_ms
        );
        s.fanout.push(r);
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    if plan.fanout_rounds % 2 == 1 {
        // Leave the trigger agent online so it takes its share of conversations.
        ask_all(
            &mut workers[..1],
            |_| ToWorker::FanoutTrigger {
                presence: Presence::Online,
            },
            long,
        )
        .await?;
    }

    // 5c. Reconnect storm: every idle visitor at once.
    if plan.storm {
        let replies = ask_all(
            workers,
            |_| ToWorker::Storm { timeout_ms: 30_000 },
            Duration::from_secs(60),
        )
        .await?;
        let mut st = Storm::default();
        for r in replies {
            if let FromWorker::Storm {
                visitors,
                reconnected,
                failed,
                retries,
                secs,
            } = r
            {
                st.retries += retries;
                st.visitors += visitors;
                st.reconnected += reconnected;
                st.failed += failed;
                st.secs = st.secs.max(secs);
            }
        }
        eprintln!(
            "bench: reconnect storm: {} of {} idle visitors back in {:.2}s ({} retries, {} gave up)",
            st.reconnected, st.visitors, st.secs, st.retries, st.failed
        );
        if st.reconnected < st.visitors {
            s.failures.push(format!(
                "reconnect storm: only {} of {} visitors came back",
                st.reconnected, st.visitors
            ));
        }
        s.storm = Some(st);
    }

    // 6. Conversations.
    let t = Instant::now();
    let replies = ask_all(
        workers,
        |i| ToWorker::StartConversations {
            per_sec: share(plan.start_rate, w, i).max(1),
        },
        long,
    )
    .await?;
    for (i, r) in replies.into_iter().enumerate() {
        if let FromWorker::Started {
            joined,
            failed,
            counters: c,
        } = r
        {
            s.setup.conversations_started += joined;
            s.setup.conversations_failed += failed;
            counters[i] = c;
        }
    }
    s.setup.start_conversations_secs = t.elapsed().as_secs_f64();
    eprintln!(
        "bench: {} conversations started",
        s.setup.conversations_started
    );
    let convs = s.setup.conversations_started;
    if convs == 0 {
        bail!("no conversation was started; nothing to measure");
    }

    // 7. Message-rate steps.
    let mut index = ReceivedIndex::default();
    let mut acked_sets: Vec<Vec<MsgSet>> = Vec::new();
    for (step, &rate) in plan.rates.iter().enumerate() {
        let spec = TrafficSpec {
            step: step as u32,
            visitor_rate: f64::from(rate) * (1.0 - plan.agent_share) / f64::from(convs),
            agent_rate: f64::from(rate) * plan.agent_share / f64::from(convs),
            typing_every: plan.typing_every,
            secs: plan.duration_secs,
            drain_secs: plan.drain_secs,
        };
        let before = target.sample();
        let db_before = target.db_cpu_secs();
        let gen_before = generator_cpu(workers);
        let t = Instant::now();
        let from_ms = unix_ms();
        let replies = ask_all(workers, |_| ToWorker::Traffic(spec), long).await?;
        let to_ms = unix_ms();
        let after = target.sample();
        let db_after = target.db_cpu_secs();
        let gen_after = generator_cpu(workers);
        let wall = t.elapsed().as_secs_f64();
        let mut st = StepResult {
            target_rate: rate,
            secs: plan.duration_secs,
            ..Default::default()
        };
        let (mut lat, mut ack_lat, mut stamped) =
            (new_histogram(), new_histogram(), new_histogram());
        let mut busy = 0f64;
        let mut acked_here = Vec::new();
        for (i, r) in replies.into_iter().enumerate() {
            if let FromWorker::TrafficDone {
                report,
                counters: c,
            } = r
            {
                st.sent += report.sent;
                st.acked += report.acked;
                st.received += report.received;
                st.typing_sent += report.typing_sent;
                st.duplicated += report.duplicates;
                busy = busy.max(report.busy_secs);
                add_pairs(&mut lat, &report.latency);
                add_pairs(&mut ack_lat, &report.ack_latency);
                add_pairs(&mut stamped, &report.after_stamp);
                index.add(&report.received_ids);
                acked_here.extend(report.acked_ids);
                counters[i] = c;
            }
        }
        acked_sets.push(acked_here);
        st.achieved_rate = st.acked as f64 / busy.max(1e-3);
        st.latency = Percentiles::of(&lat);
        st.ack_latency = Percentiles::of(&ack_lat);
        st.after_stamp = Percentiles::of(&stamped);
        if let (Some(a), Some(b)) = (before, after) {
            st.relay_cpu_percent = Some(100.0 * (b.cpu_secs - a.cpu_secs) / wall);
            st.relay_rss = Some(b.rss);
        }
        st.database_cpu_percent = cpu_percent(db_before, db_after, wall);
        st.generator_cpu_percent = cpu_percent(gen_before, gen_after, wall);
        if let (true, Some(p)) = (plan.hop_times, &target.proc) {
            let file = p.dir.path().join(relay_proc::HOPS_FILE);
            st.hops = hops::step(&file, from_ms, to_ms, Duration::from_secs(5)).await?;
        }
        eprintln!(
            "bench: rate {rate}/s: achieved {:.0}/s, p99 {:.2} ms, acked {} received {}",
            st.achieved_rate, st.latency.p99_ms, st.acked, st.received
        );
        let saturated = st.achieved_rate < plan.min_achieved * f64::from(rate);
        s.steps.push(st);
        if target.proc.as_mut().is_some_and(|p| !p.alive()) {
            bail!("the relay exited during rate {rate}/s");
        }
        if saturated {
            eprintln!("bench: rate {rate}/s not reached; stopping the steps here");
            break;
        }
    }

    // Lost: acknowledged in a step, received in no step at all.
    for (st, acked) in s.steps.iter_mut().zip(&acked_sets) {
        st.lost = index.missing(acked);
    }
    s.lost = s.steps.iter().map(|x| x.lost).sum();
    s.duplicated = s.steps.iter().map(|x| x.duplicated).sum();
    for (i, st) in s.steps.iter().enumerate() {
        if st.acked == 0 {
            s.failures.push(format!(
                "step {i} ({}/s): no message was acknowledged",
                st.target_rate
            ));
        }
    }
    Ok(())
}
