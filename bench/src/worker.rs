//! One worker process (`switchboard-bench worker`): holds up to ~15,000 client sockets and
//! obeys the coordinator's commands read from stdin, one JSON reply per command on stdout.
//! It exits by itself when stdin closes (the coordinator died) or after `max_secs`.

use crate::conn::{self, await_frame, send_json};
use crate::conversation::{agent, chatting_visitor, idle_visitor, Ctl, Reconnect, Shared};
use crate::ipc::{FromWorker, ToWorker, TrafficSpec, WorkerSpec};
use crate::metrics::{histogram_pairs, new_histogram};
use crate::procfs;
use anyhow::{anyhow, Context, Result};
use hdrhistogram::Histogram;
use std::net::Ipv4Addr;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};
use switchboard_shared::{AgentCommand, Presence, ServerFrame, VisitorCommand, PROTOCOL_VERSION};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::sync::{mpsc, watch, Semaphore};
use tokio::task::JoinSet;

/// How long the drain waits with nothing arriving before it calls a step finished.
const QUIET: Duration = Duration::from_millis(1000);

struct Worker {
    spec: WorkerSpec,
    shared: Arc<Shared>,
    /// Control channels of the chatting visitors and the agents.
    chatters: Vec<mpsc::Sender<Ctl>>,
    agents: Vec<mpsc::Sender<Ctl>>,
    visitors_held: u32,
    /// Idle visitors (those a reconnect storm reconnects).
    idle: u32,
    /// Bumped to make every idle visitor drop its socket and reconnect at once.
    storm: watch::Sender<u64>,
    /// Counts every socket opened, to spread them over the source addresses.
    sockets: u64,
}

pub async fn run() -> Result<()> {
    procfs::raise_nofile();
    let mut lines = BufReader::new(tokio::io::stdin()).lines();
    let first = lines
        .next_line()
        .await?
        .ok_or_else(|| anyhow!("no spec on stdin"))?;
    let spec: WorkerSpec = serde_json::from_str(&first).context("worker spec")?;
    let max = Duration::from_secs(spec.max_secs);
    std::thread::spawn(move || {
        std::thread::sleep(max);
        eprintln!("worker: hard time limit reached, exiting");
        std::process::exit(3);
    });
    let mut w = Worker {
        shared: Arc::new(Shared::new(spec.index)),
        spec,
        chatters: Vec::new(),
        agents: Vec::new(),
        visitors_held: 0,
        idle: 0,
        storm: watch::channel(0).0,
        sockets: 0,
    };
    let mut stdout = tokio::io::stdout();
    reply(
        &mut stdout,
        &FromWorker::Ready {
            limits: procfs::limits(std::process::id()),
        },
    )
    .await?;
    while let Some(line) = lines.next_line().await? {
        let cmd: ToWorker = serde_json::from_str(&line).context("worker command")?;
        let answer = match cmd {
            ToWorker::ConnectAgents => w.connect_agents().await,
            ToWorker::ConnectVisitors { total } => w.connect_visitors(total).await,
            ToWorker::StartConversations { per_sec } => w.start_conversations(per_sec).await,
            ToWorker::Traffic(t) => w.traffic(t).await,
            ToWorker::FanoutArm => Ok(w.fanout_arm()),
            ToWorker::Storm { timeout_ms } => Ok(w.storm(timeout_ms).await),
            ToWorker::FanoutTrigger { presence } => w.fanout_trigger(presence).await,
            ToWorker::FanoutWait { timeout_ms } => Ok(w.fanout_wait(timeout_ms).await),
            ToWorker::Quit => break,
        };
        let answer = answer.unwrap_or_else(|e| FromWorker::Failed {
            error: format!("{e:#}"),
        });
        reply(&mut stdout, &answer).await?;
    }
    // Exit without closing 15,000 sockets one by one; the kernel does it.
    std::process::exit(0);
}

/// A connected visitor: its socket, the source address it used, its token.
type Connected = (conn::Ws, Ipv4Addr, Option<String>);

/// Connects a visitor and waits for its welcome; returns the token the relay issued (or the
/// one given). The error says whether the socket itself failed (true) or the hello.
pub async fn visitor_connect(
    url: &str,
    src: Ipv4Addr,
    origin: &str,
    site: &str,
    token: Option<String>,
) -> Result<(conn::Ws, Option<String>), (bool, anyhow::Error)> {
    tokio::time::timeout(conn::CONNECT_TIMEOUT, async {
        let mut ws = conn::connect(url, src, Some(origin))
            .await
            .map_err(|e| (true, e))?;
        let hello = VisitorCommand::Hello {
            protocol: PROTOCOL_VERSION,
            site: site.to_string(),
            token: token.clone(),
            last_seq: None,
            locale: None,
        };
        send_json(&mut ws, &hello).await.map_err(|e| (false, e))?;
        let issued = await_frame(&mut ws, |f| match f {
            ServerFrame::VisitorWelcome { token, .. } => Some(token),
            _ => None,
        })
        .await
        .map_err(|e| (false, e))?;
        Ok((ws, issued.or(token)))
    })
    .await
    .unwrap_or_else(|_| Err((false, anyhow!("visitor connect timed out"))))
}

async fn reply(out: &mut tokio::io::Stdout, msg: &FromWorker) -> Result<()> {
    let mut line = serde_json::to_string(msg)?;
    line.push('\n');
    out.write_all(line.as_bytes()).await?;
    out.flush().await?;
    Ok(())
}

impl Worker {
    fn next_source(&mut self) -> Ipv4Addr {
        let addrs = &self.spec.source_addrs;
        let a = addrs[(self.sockets as usize + self.spec.index as usize) % addrs.len()];
        self.sockets += 1;
        a
    }

    async fn connect_agents(&mut self) -> Result<FromWorker> {
        let url = format!("{}/ws/agent", self.spec.url);
        let mut set = JoinSet::new();
        for cred in self.spec.agents.clone() {
            let src = self.next_source();
            let url = url.clone();
            set.spawn(async move {
                tokio::time::timeout(conn::CONNECT_TIMEOUT, async {
                    let mut ws = conn::connect(&url, src, None).await?;
                    let hello = AgentCommand::Hello {
                        protocol: PROTOCOL_VERSION,
                        token: cred.token.clone(),
                        resume: vec![],
                    };
                    send_json(&mut ws, &hello).await?;
                    await_frame(&mut ws, |f| {
                        matches!(f, ServerFrame::AgentWelcome { .. }).then_some(())
                    })
                    .await?;
                    Ok::<_, anyhow::Error>((ws, cred.id))
                })
                .await
                .map_err(|_| anyhow!("agent connect timed out"))?
            });
        }
        let (mut connected, mut failed) = (0, 0);
        while let Some(r) = set.join_next().await {
            match r? {
                Ok((ws, id)) => {
                    let (tx, rx) = mpsc::channel(4);
                    self.agents.push(tx);
                    tokio::spawn(agent(
                        ws,
                        rx,
                        self.shared.clone(),
                        format!("a{id}"),
                        id as u64,
                    ));
                    connected += 1;
                }
                Err(e) => {
                    eprintln!("worker {}: agent: {e:#}", self.spec.index);
                    self.shared.counters.lock().expect("counters").hello_failed += 1;
                    failed += 1;
                }
            }
        }
        Ok(FromWorker::Agents {
            connected,
            failed,
            counters: self.shared.counters(),
        })
    }

    async fn connect_visitors(&mut self, total: u32) -> Result<FromWorker> {
        let began = Instant::now();
        let url = format!("{}/ws/visitor", self.spec.url);
        let permits = Arc::new(Semaphore::new(self.spec.connect_concurrency as usize));
        let mut set = JoinSet::new();
        let mut setup = new_histogram();
        for idx in self.visitors_held..total {
            let src = self.next_source();
            let (url, origin, site) = (
                url.clone(),
                self.spec.origin.clone(),
                self.spec.site.clone(),
            );
            let permit = permits.clone().acquire_owned().await?;
            set.spawn(async move {
                let _permit = permit;
                // From before the TCP connect to the welcome: the whole session set-up.
                let t = Instant::now();
                let r = visitor_connect(&url, src, &origin, &site, None)
                    .await
                    .map(|(ws, token)| (ws, src, token));
                (idx, r, t.elapsed())
            });
            // Reap finished connects as we go so the JoinSet does not hold 15,000 results.
            while let Some(done) = set.try_join_next() {
                self.visitor_timed(done?, &mut setup);
            }
        }
        let mut failed = 0;
        while let Some(done) = set.join_next().await {
            if !self.visitor_timed(done?, &mut setup) {
                failed += 1;
            }
        }
        let failed = failed.max(total.saturating_sub(self.visitors_held));
        Ok(FromWorker::Visitors {
            held: self.visitors_held,
            failed,
            secs: began.elapsed().as_secs_f64(),
            setup_latency: histogram_pairs(&setup),
            counters: self.shared.counters(),
        })
    }

    /// [`visitor_done`](Self::visitor_done), recording a successful set-up's time.
    fn visitor_timed(
        &mut self,
        (idx, r, took): (u32, Result<Connected, (bool, anyhow::Error)>, Duration),
        setup: &mut Histogram<u64>,
    ) -> bool {
        if r.is_ok() {
            setup.saturating_record((took.as_micros() as u64).max(1));
        }
        self.visitor_done((idx, r))
    }

    /// Starts the task of a connected visitor; returns false for a failed one.
    fn visitor_done(&mut self, (idx, r): (u32, Result<Connected, (bool, anyhow::Error)>)) -> bool {
        match r {
            Ok((ws, src, token)) => {
                self.visitors_held += 1;
                if idx < self.spec.chatters {
                    let (tx, rx) = mpsc::channel(4);
                    self.chatters.push(tx);
                    let me = format!("v{}.{idx}", self.spec.index);
                    let seed = u64::from(self.spec.index) << 32 | u64::from(idx);
                    tokio::spawn(chatting_visitor(ws, rx, self.shared.clone(), me, seed));
                } else {
                    self.idle += 1;
                    let again = Reconnect {
                        url: format!("{}/ws/visitor", self.spec.url),
                        origin: self.spec.origin.clone(),
                        site: self.spec.site.clone(),
                        src,
                        token,
                    };
                    let storm = self.storm.subscribe();
                    tokio::spawn(idle_visitor(ws, self.shared.clone(), storm, again));
                }
                true
            }
            Err((connecting, e)) => {
                let mut c = self.shared.counters.lock().expect("counters");
                if connecting {
                    c.connect_failed += 1;
                } else {
                    c.hello_failed += 1;
                }
                if c.connect_failed + c.hello_failed <= 5 {
                    eprintln!("worker {}: visitor {idx}: {e:#}", self.spec.index);
                }
                false
            }
        }
    }

    async fn start_conversations(&mut self, per_sec: u32) -> Result<FromWorker> {
        let gap = Duration::from_secs_f64(1.0 / f64::from(per_sec.max(1)));
        for tx in &self.chatters {
            let _ = tx.send(Ctl::Start).await;
            tokio::time::sleep(gap).await;
        }
        let want = self.chatters.len() as u32;
        let deadline = Instant::now() + Duration::from_secs(60);
        while self.shared.joined.load(Ordering::Relaxed) < want && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let joined = self.shared.joined.load(Ordering::Relaxed);
        Ok(FromWorker::Started {
            joined,
            failed: want - joined.min(want),
            counters: self.shared.counters(),
        })
    }

    /// Every idle visitor drops its socket and reconnects with its token, all at once.
    async fn storm(&mut self, timeout_ms: u64) -> FromWorker {
        let began = Instant::now();
        let s = &self.shared;
        s.reconnected.store(0, Ordering::Relaxed);
        s.reconnect_failed.store(0, Ordering::Relaxed);
        s.reconnect_retries.store(0, Ordering::Relaxed);
        self.storm.send_modify(|g| *g += 1);
        let deadline = began + Duration::from_millis(timeout_ms);
        let done =
            || s.reconnected.load(Ordering::Relaxed) + s.reconnect_failed.load(Ordering::Relaxed);
        while done() < self.idle && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        FromWorker::Storm {
            visitors: self.idle,
            reconnected: s.reconnected.load(Ordering::Relaxed),
            failed: s.reconnect_failed.load(Ordering::Relaxed),
            retries: s.reconnect_retries.load(Ordering::Relaxed),
            secs: began.elapsed().as_secs_f64(),
        }
    }

    fn fanout_arm(&mut self) -> FromWorker {
        let s = &self.shared;
        s.fanout_seen.store(0, Ordering::Relaxed);
        s.fanout_first_us.store(u64::MAX, Ordering::Relaxed);
        s.fanout_last_us.store(0, Ordering::Relaxed);
        FromWorker::Done
    }

    async fn fanout_trigger(&mut self, presence: Presence) -> Result<FromWorker> {
        let agent = self
            .agents
            .first()
            .ok_or_else(|| anyhow!("this worker has no agent to trigger a fan-out"))?;
        agent
            .send(Ctl::Presence(presence))
            .await
            .map_err(|_| anyhow!("the trigger agent is gone"))?;
        Ok(FromWorker::Done)
    }

    async fn fanout_wait(&mut self, timeout_ms: u64) -> FromWorker {
        let deadline = Instant::now() + Duration::from_millis(timeout_ms);
        let s = &self.shared;
        while s.fanout_seen.load(Ordering::Relaxed) < self.visitors_held
            && Instant::now() < deadline
        {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        FromWorker::FanoutSeen {
            visitors: self.visitors_held,
            received: s.fanout_seen.load(Ordering::Relaxed),
            first_us: s.fanout_first_us.load(Ordering::Relaxed),
            last_us: s.fanout_last_us.load(Ordering::Relaxed),
        }
    }

    async fn traffic(&mut self, t: TrafficSpec) -> Result<FromWorker> {
        let began = Instant::now();
        let until = began + Duration::from_secs(t.secs);
        let visitor = Ctl::Traffic {
            until,
            rate: t.visitor_rate,
            typing_every: t.typing_every,
        };
        let agent = Ctl::Traffic {
            until,
            rate: t.agent_rate,
            typing_every: t.typing_every,
        };
        for tx in &self.chatters {
            let _ = tx.send(visitor).await;
        }
        for tx in &self.agents {
            let _ = tx.send(agent).await;
        }
        tokio::time::sleep_until(until.into()).await;
        // Drain: first every sent message acknowledged (or refused), then nothing arriving
        // for QUIET, within drain_secs in all.
        let deadline = Instant::now() + Duration::from_secs(t.drain_secs);
        while self.shared.inflight.load(Ordering::Relaxed) > 0 && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let busy_secs = began.elapsed().as_secs_f64();
        loop {
            let last = Duration::from_micros(self.shared.last_rx.load(Ordering::Relaxed));
            let quiet_for = self.shared.epoch.elapsed().saturating_sub(last);
            if quiet_for >= QUIET || Instant::now() >= deadline {
                break;
            }
            tokio::time::sleep(QUIET - quiet_for).await;
        }
        let stats = std::mem::take(&mut *self.shared.step.lock().expect("step lock"));
        Ok(FromWorker::TrafficDone {
            report: Box::new(stats.into_report(t.step, busy_secs)),
            counters: self.shared.counters(),
        })
    }
}
