//! The connection tasks inside a worker: idle visitors (hello'ed, reading whatever comes),
//! chatting visitors and agents. Chatting connections send on an open-loop schedule (a tick
//! per message, never waiting for the previous `sent`), so a slow relay shows up as latency
//! and a lower achieved rate, not as a politely slower generator.
//!
//! A message body carries `sb <sender> <number> <send time in µs since the Unix epoch>`,
//! so the other side measures send → `event` latency across processes (one machine, one
//! clock) and the coordinator can match every acknowledged message with its receipt.

use crate::conn::{classify, feed_json, frame_name, send_json, Incoming, Ws};
use crate::metrics::{Counters, StepStats};
use futures_util::StreamExt;
use std::collections::HashMap;
use std::sync::atomic::{AtomicI64, AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use switchboard_shared::{
    AgentCommand, Author, ClientMsgId, ConversationId, ErrorCode, EventKind, Presence, ServerFrame,
    VisitorCommand,
};
use tokio::sync::{mpsc, watch};
use tokio::time::{Interval, MissedTickBehavior};

/// Filler so a message looks like a short chat line (~100 bytes on the wire body).
const FILLER: &str = "lorem ipsum dolor sit amet, consectetur adipiscing elit";

/// State every connection task of a worker shares. Locks are held only for a counter
/// update, never across an `.await`.
pub struct Shared {
    pub worker: u32,
    pub step: Mutex<StepStats>,
    pub counters: Mutex<Counters>,
    /// Messages sent whose `sent` (or `error`) has not arrived yet.
    pub inflight: AtomicI64,
    /// Micros since `epoch` of the last message received from the other side (for the
    /// drain's "quiet for a while" test).
    pub last_rx: AtomicU64,
    /// Visitors whose conversation an agent joined.
    pub joined: AtomicU32,
    pub epoch: Instant,
    /// Availability frames since the last fan-out arm, and the first/last arrival (unix µs).
    pub fanout_seen: AtomicU32,
    pub fanout_first_us: AtomicU64,
    pub fanout_last_us: AtomicU64,
    /// Idle visitors back (welcomed again) / given up since the last storm began.
    pub reconnected: AtomicU32,
    pub reconnect_failed: AtomicU32,
    /// Reconnect attempts after a first failed one (refused, reset, timed out).
    pub reconnect_retries: AtomicU32,
}

impl Shared {
    pub fn new(worker: u32) -> Shared {
        Shared {
            worker,
            step: Mutex::new(StepStats::default()),
            counters: Mutex::new(Counters::default()),
            inflight: AtomicI64::new(0),
            last_rx: AtomicU64::new(0),
            joined: AtomicU32::new(0),
            epoch: Instant::now(),
            fanout_seen: AtomicU32::new(0),
            fanout_first_us: AtomicU64::new(u64::MAX),
            fanout_last_us: AtomicU64::new(0),
            reconnected: AtomicU32::new(0),
            reconnect_failed: AtomicU32::new(0),
            reconnect_retries: AtomicU32::new(0),
        }
    }

    pub fn counters(&self) -> Counters {
        self.counters.lock().expect("counters lock").clone()
    }

    fn count(&self, f: impl FnOnce(&mut Counters)) {
        f(&mut self.counters.lock().expect("counters lock"));
    }
}

/// Control messages from the worker's command loop to a chatting connection.
#[derive(Debug, Clone, Copy)]
pub enum Ctl {
    Start,
    /// An agent sets its presence (fan-out trigger).
    Presence(Presence),
    Traffic {
        until: Instant,
        /// Messages per second into each of this connection's conversations.
        rate: f64,
        typing_every: u32,
    },
}

pub fn unix_micros() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_micros() as u64)
        .unwrap_or(0)
}

fn client_id(conv: i64, no: u32) -> ClientMsgId {
    ClientMsgId::try_from(format!("m{conv}-{no}")).expect("generated client ids are valid")
}

fn parse_client_id(id: &ClientMsgId) -> Option<(i64, u32)> {
    let (c, n) = id.as_str().strip_prefix('m')?.split_once('-')?;
    Some((c.parse().ok()?, n.parse().ok()?))
}

/// (sender, number, send time µs) from a bench message body.
fn parse_body(body: &str) -> Option<(&str, u32, u64)> {
    let mut it = body.split(' ');
    if it.next()? != "sb" {
        return None;
    }
    Some((
        it.next()?,
        it.next()?.parse().ok()?,
        it.next()?.parse().ok()?,
    ))
}

/// The sending half of a chatting connection: numbering, pending sends, schedule.
struct Outbox {
    me: String,
    is_agent: bool,
    next_no: HashMap<i64, u32>,
    pending: HashMap<(i64, u32), Instant>,
    schedule: Option<Schedule>,
}

struct Schedule {
    until: Instant,
    interval: Interval,
    typing_every: u32,
    ticks: u64,
}

impl Outbox {
    fn new(me: String, is_agent: bool) -> Outbox {
        Outbox {
            me,
            is_agent,
            next_no: HashMap::new(),
            pending: HashMap::new(),
            schedule: None,
        }
    }

    /// Starts sending: one tick per message over all `convs` conversations, with a random
    /// phase so thousands of connections do not send in lockstep.
    fn start(&mut self, until: Instant, rate: f64, typing_every: u32, convs: usize, seed: u64) {
        let per_sec = rate * convs as f64;
        if per_sec <= 0.0 {
            return;
        }
        let period = Duration::from_secs_f64(1.0 / per_sec);
        let phase = Duration::from_nanos(
            seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) % period.as_nanos().max(1) as u64,
        );
        let mut interval = tokio::time::interval_at((Instant::now() + phase).into(), period);
        interval.set_missed_tick_behavior(MissedTickBehavior::Skip);
        self.schedule = Some(Schedule {
            until,
            interval,
            typing_every,
            ticks: 0,
        });
    }

    /// Waits for the next tick; pending forever when not sending. Returns whether the tick
    /// should send the typing frame too.
    async fn tick(&mut self) -> Option<bool> {
        match &mut self.schedule {
            Some(s) => {
                s.interval.tick().await;
                if Instant::now() >= s.until {
                    self.schedule = None;
                    return None;
                }
                s.ticks += 1;
                Some(s.typing_every > 0 && s.ticks % u64::from(s.typing_every) == 0)
            }
            None => std::future::pending().await,
        }
    }

    /// Numbers the next message into `conv` and returns (client id, body).
    fn next(&mut self, conv: i64, shared: &Shared) -> (ClientMsgId, String) {
        let no = self.next_no.entry(conv).or_insert(0);
        *no += 1;
        let no = *no;
        self.pending.insert((conv, no), Instant::now());
        shared.inflight.fetch_add(1, Ordering::Relaxed);
        shared.step.lock().expect("step lock").sent += 1;
        let body = format!("sb {} {no} {} {FILLER}", self.me, unix_micros());
        (client_id(conv, no), body)
    }

    fn acked(&mut self, id: &ClientMsgId, duplicate: bool, shared: &Shared) {
        let Some((conv, no)) = parse_client_id(id) else {
            return;
        };
        if let Some(at) = self.pending.remove(&(conv, no)) {
            shared.inflight.fetch_sub(1, Ordering::Relaxed);
            let micros = at.elapsed().as_micros() as u64;
            shared.step.lock().expect("step lock").record_ack(
                (conv, self.is_agent),
                no,
                micros,
                duplicate,
            );
        }
    }

    fn refused(&mut self, id: Option<&ClientMsgId>, shared: &Shared) {
        if let Some((conv, no)) = id.and_then(parse_client_id) {
            if self.pending.remove(&(conv, no)).is_some() {
                shared.inflight.fetch_sub(1, Ordering::Relaxed);
            }
        }
    }
}

/// Counts every frame by type, and `error` frames by code.
fn common(shared: &Shared, frame: &ServerFrame) {
    if let ServerFrame::Availability { .. } = frame {
        let now = unix_micros();
        shared.fanout_seen.fetch_add(1, Ordering::Relaxed);
        shared.fanout_first_us.fetch_min(now, Ordering::Relaxed);
        shared.fanout_last_us.fetch_max(now, Ordering::Relaxed);
    }
    shared.count(|c| {
        *c.frames_in.entry(frame_name(frame).into()).or_default() += 1;
        if let ServerFrame::Error { code, .. } = frame {
            *c.errors.entry(error_name(*code)).or_default() += 1;
        }
    });
}

fn error_name(code: ErrorCode) -> String {
    serde_json::to_value(code)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_else(|| format!("{code:?}"))
}

/// A message event from the other side: record its arrival and latency, in all and since
/// the relay stamped it (`at`, milliseconds: the split is good to 1 ms, and says whether a
/// slow message was slow before the relay accepted it or after).
fn received(shared: &Shared, conv: i64, author_is_agent: bool, body: &str, at_ms: i64) {
    let Some((_sender, no, sent_us)) = parse_body(body) else {
        return;
    };
    let now = unix_micros();
    let micros = now.saturating_sub(sent_us);
    let after_stamp = now.saturating_sub(u64::try_from(at_ms).unwrap_or(0) * 1000);
    shared.step.lock().expect("step lock").record_receive(
        (conv, author_is_agent),
        no,
        micros,
        after_stamp,
    );
    shared
        .last_rx
        .store(shared.epoch.elapsed().as_micros() as u64, Ordering::Relaxed);
}

fn closed(shared: &Shared, code: String) {
    shared.count(|c| *c.closes.entry(code).or_default() += 1);
}

/// A visitor with the widget open and no conversation: reads and counts, sends nothing.
/// Attempts per visitor in a reconnect storm before it gives up.
const RECONNECT_ATTEMPTS: u32 = 8;

/// How an idle visitor reconnects in a storm: where to, from where, as whom.
pub struct Reconnect {
    pub url: String,
    pub origin: String,
    pub site: String,
    pub src: std::net::Ipv4Addr,
    pub token: Option<String>,
}

pub async fn idle_visitor(
    mut ws: Ws,
    shared: Arc<Shared>,
    mut storm: watch::Receiver<u64>,
    mut again: Reconnect,
) {
    loop {
        tokio::select! {
            m = ws.next() => match classify(m) {
                Incoming::Frame(f) => common(&shared, &f),
                Incoming::Unparsed => shared.count(|c| c.unparsed += 1),
                Incoming::Other => {}
                Incoming::Closed(code) => return closed(&shared, code),
            },
            changed = storm.changed() => {
                if changed.is_err() {
                    return;
                }
                // Drop the socket (as a network blip would) and come back with the token,
                // backing off and retrying as the widget does (the relay may answer 503
                // while it still holds the old sockets).
                drop(ws);
                let mut r = Err((false, anyhow::anyhow!("not tried")));
                for attempt in 0..RECONNECT_ATTEMPTS {
                    if attempt > 0 {
                        shared.reconnect_retries.fetch_add(1, Ordering::Relaxed);
                        let jitter = (shared.epoch.elapsed().subsec_micros() % 250) as u64;
                        let backoff = (250u64 << attempt.min(4)).min(4_000) + jitter;
                        tokio::time::sleep(Duration::from_millis(backoff)).await;
                    }
                    r = crate::worker::visitor_connect(
                        &again.url, again.src, &again.origin, &again.site, again.token.clone(),
                    )
                    .await;
                    if r.is_ok() {
                        break;
                    }
                }
                match r {
                    Ok((new_ws, token)) => {
                        ws = new_ws;
                        again.token = token;
                        shared.reconnected.fetch_add(1, Ordering::Relaxed);
                    }
                    Err((_, e)) => {
                        if shared.reconnect_failed.fetch_add(1, Ordering::Relaxed) < 5 {
                            eprintln!("worker {}: reconnect: {e:#}", shared.worker);
                        }
                        return;
                    }
                }
            }
        }
    }
}

/// A visitor who starts a conversation on `Ctl::Start` and chats on `Ctl::Traffic`.
pub async fn chatting_visitor(
    mut ws: Ws,
    mut ctl: mpsc::Receiver<Ctl>,
    shared: Arc<Shared>,
    me: String,
    seed: u64,
) {
    let mut out = Outbox::new(me, false);
    let mut conv: Option<i64> = None;
    let mut joined = false;
    loop {
        tokio::select! {
            c = ctl.recv() => match c {
                None => return,
                Some(Ctl::Start) => {
                    let start = VisitorCommand::StartConversation {
                        name: None, email: None, customer_number: None, page_url: None,
                    };
                    if send_json(&mut ws, &start).await.is_err() {
                        return closed(&shared, "send_failed".into());
                    }
                }
                Some(Ctl::Presence(_)) => {} // agents only
                Some(Ctl::Traffic { until, rate, typing_every }) => {
                    if conv.is_some() {
                        out.start(until, rate, typing_every, 1, seed);
                    }
                }
            },
            typing = out.tick() => {
                let (Some(typing), Some(c)) = (typing, conv) else { continue };
                if typing {
                    shared.step.lock().expect("step lock").typing_sent += 1;
                    if feed_json(&mut ws, &VisitorCommand::Typing { active: true }).await.is_err() {
                        return closed(&shared, "send_failed".into());
                    }
                }
                let (client_id, body) = out.next(c, &shared);
                if send_json(&mut ws, &VisitorCommand::Send { client_id, body }).await.is_err() {
                    return closed(&shared, "send_failed".into());
                }
            }
            m = ws.next() => match classify(m) {
                Incoming::Frame(f) => {
                    common(&shared, &f);
                    match *f {
                        ServerFrame::Event { conversation_id, event, at, .. } => match event {
                            EventKind::Started => conv = Some(conversation_id.0),
                            EventKind::AgentJoined { .. } => {
                                conv = Some(conversation_id.0);
                                if !joined {
                                    joined = true;
                                    shared.joined.fetch_add(1, Ordering::Relaxed);
                                }
                            }
                            EventKind::Message { author: Author::Agent { .. }, body, .. } => {
                                received(&shared, conversation_id.0, true, &body, at);
                            }
                            _ => {}
                        },
                        ServerFrame::Sent { client_id, duplicate, .. } => out.acked(&client_id, duplicate, &shared),
                        ServerFrame::Error { client_id, .. } => out.refused(client_id.as_ref(), &shared),
                        _ => {}
                    }
                }
                Incoming::Unparsed => shared.count(|c| c.unparsed += 1),
                Incoming::Other => {}
                Incoming::Closed(code) => return closed(&shared, code),
            },
        }
    }
}

/// An agent: learns its conversations from `conversation_assigned` and, on `Ctl::Traffic`,
/// sends round-robin into all of them.
pub async fn agent(
    mut ws: Ws,
    mut ctl: mpsc::Receiver<Ctl>,
    shared: Arc<Shared>,
    me: String,
    seed: u64,
) {
    let mut out = Outbox::new(me, true);
    let mut convs: Vec<i64> = Vec::new();
    let mut turn = 0usize;
    loop {
        tokio::select! {
            c = ctl.recv() => match c {
                None => return,
                Some(Ctl::Start) => {}
                Some(Ctl::Presence(presence)) => {
                    if send_json(&mut ws, &AgentCommand::SetPresence { presence }).await.is_err() {
                        return closed(&shared, "send_failed".into());
                    }
                }
                Some(Ctl::Traffic { until, rate, typing_every }) => {
                    out.start(until, rate, typing_every, convs.len(), seed);
                }
            },
            typing = out.tick() => {
                let Some(typing) = typing else { continue };
                if convs.is_empty() {
                    continue;
                }
                turn = (turn + 1) % convs.len();
                let c = convs[turn];
                let conversation_id = ConversationId(c);
                if typing {
                    shared.step.lock().expect("step lock").typing_sent += 1;
                    let t = AgentCommand::Typing { conversation_id, active: true };
                    if feed_json(&mut ws, &t).await.is_err() {
                        return closed(&shared, "send_failed".into());
                    }
                }
                let (client_id, body) = out.next(c, &shared);
                if send_json(&mut ws, &AgentCommand::Send { conversation_id, client_id, body }).await.is_err() {
                    return closed(&shared, "send_failed".into());
                }
            }
            m = ws.next() => match classify(m) {
                Incoming::Frame(f) => {
                    common(&shared, &f);
                    match *f {
                        ServerFrame::ConversationAssigned { conversation }
                            if !convs.contains(&conversation.id.0) =>
                        {
                            convs.push(conversation.id.0);
                        }
                        ServerFrame::ConversationRemoved { conversation_id, .. } => {
                            convs.retain(|c| *c != conversation_id.0);
                        }
                        ServerFrame::Event { conversation_id, at, event: EventKind::Message { author: Author::Visitor, body, .. }, .. } => {
                            received(&shared, conversation_id.0, false, &body, at);
                        }
                        ServerFrame::Sent { client_id, duplicate, .. } => out.acked(&client_id, duplicate, &shared),
                        ServerFrame::Error { client_id, .. } => out.refused(client_id.as_ref(), &shared),
                        _ => {}
                    }
                }
                Incoming::Unparsed => shared.count(|c| c.unparsed += 1),
                Incoming::Other => {}
                Incoming::Closed(code) => return closed(&shared, code),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_body_carries_sender_number_and_send_time() {
        let body = format!("sb v0.3 17 1700000000000000 {FILLER}");
        assert_eq!(parse_body(&body), Some(("v0.3", 17, 1_700_000_000_000_000)));
        assert_eq!(parse_body("hello there"), None);
        assert_eq!(parse_client_id(&client_id(42, 9)), Some((42, 9)));
    }
}
