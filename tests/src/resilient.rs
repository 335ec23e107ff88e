//! A client that survives cut connections the way the widget and the console must:
//!
//! - every message goes into an **outbox** first and leaves it only when `sent` arrives;
//!   after a reconnect the whole outbox is resent with the *same* `client_id`, so a message
//!   whose `sent` was lost in the cut is stored once (the relay answers `duplicate: true`);
//! - it resumes with the highest **contiguous** `seq` it holds (visitor `last_seq`, agent
//!   resume list), so the relay replays exactly what is missing;
//! - it **dedups** events by `seq`: a seq it already holds is dropped (and must carry the
//!   same event, or the relay is contradicting itself).
//!
//! [`Resilient::run`] drives one side of a chat: sends `messages` messages at random
//! intervals while cutting its own TCP connection `cuts` times at random moments (right
//! away, right after writing a `send` before its `sent` came back, or right after reading a
//! frame, which may be in the middle of a replay), until everything is acknowledged and
//! everything the other side sent has arrived.

use crate::ws::{ConnectError, Incoming, WsConn};
use crate::SITE;
use anyhow::{anyhow, bail, Result};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::collections::{BTreeMap, HashMap};
use std::time::Duration;
use switchboard_shared::{
    AgentCommand, Author, ClientMsgId, ConversationId, ErrorCode, EventKind, ResumePoint, Seq,
    ServerFrame, VisitorCommand, PROTOCOL_VERSION,
};
use tokio::time::Instant;

/// Which endpoint, and the credentials to resume there.
#[derive(Debug, Clone)]
pub enum Role {
    Visitor { token: String, origin: String },
    Agent { token: String },
}

#[derive(Debug, Clone)]
pub struct Plan {
    /// How many messages this side sends; client ids are `{prefix}{0..messages}`.
    pub messages: usize,
    pub prefix: String,
    /// Pause before each send, drawn uniformly from this range (ms).
    pub send_every_ms: (u64, u64),
    /// How many times to cut the connection, and the pause before each cut (ms).
    pub cuts: usize,
    pub cut_every_ms: (u64, u64),
    /// How many messages the other side will send (we are done when all have arrived).
    pub expect_from_other: usize,
    pub deadline: Instant,
    /// Seed of the random pauses and cut modes, printed so a failing run can be replayed.
    pub seed: u64,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum CutMode {
    AfterNextSend,
    AfterNextFrame,
}

pub struct Resilient {
    pub label: String,
    url: String,
    role: Role,
    pub conversation: ConversationId,
    conn: Option<WsConn>,
    /// Events up to this seq were held before the run started.
    pub base_seq: Seq,
    /// Every event held, deduplicated by seq.
    pub events: BTreeMap<Seq, EventKind>,
    /// Messages written but not yet acknowledged, in send order.
    outbox: Vec<(ClientMsgId, String)>,
    /// `client_id` -> `seq` from `sent`.
    pub acked: HashMap<String, Seq>,
    pub cuts_done: usize,
    pub reconnects: usize,
    /// Connection attempts the relay refused (rate limit, overload) and we retried.
    pub refused_attempts: usize,
    /// Events received again after a resume and dropped.
    pub duplicate_events_dropped: usize,
    /// `sent` frames with `duplicate: true` (resends of stored messages).
    pub duplicate_acks: usize,
}

impl Resilient {
    pub fn new(
        label: &str,
        url: String,
        role: Role,
        conversation: ConversationId,
        base_seq: Seq,
    ) -> Resilient {
        Resilient {
            label: label.to_string(),
            url,
            role,
            conversation,
            conn: None,
            base_seq,
            events: BTreeMap::new(),
            outbox: Vec::new(),
            acked: HashMap::new(),
            cuts_done: 0,
            reconnects: 0,
            refused_attempts: 0,
            duplicate_events_dropped: 0,
            duplicate_acks: 0,
        }
    }

    fn is_visitor(&self) -> bool {
        matches!(self.role, Role::Visitor { .. })
    }

    /// The highest seq such that every seq from `base_seq + 1` up to it is held.
    pub fn contiguous_seq(&self) -> Seq {
        let mut s = self.base_seq;
        while self.events.contains_key(&(s + 1)) {
            s += 1;
        }
        s
    }

    /// Client ids of the messages held, in seq order, written by the visitor (`true`) or
    /// by an agent (`false`).
    pub fn message_ids(&self, by_visitor: bool) -> Vec<String> {
        self.events
            .values()
            .filter_map(|e| match e {
                EventKind::Message {
                    author, client_id, ..
                } if matches!(author, Author::Visitor) == by_visitor => Some(
                    client_id
                        .as_ref()
                        .map(|c| c.to_string())
                        .unwrap_or_else(|| "<no client_id>".into()),
                ),
                _ => None,
            })
            .collect()
    }

    fn own_and_other_counts(&self) -> (usize, usize) {
        let mine = self.message_ids(self.is_visitor()).len();
        let theirs = self.message_ids(!self.is_visitor()).len();
        (mine, theirs)
    }

    pub fn summary(&self) -> String {
        let (mine, theirs) = self.own_and_other_counts();
        format!(
            "{}: held up to seq {} (contiguous {}), own messages held {mine}, other side's {theirs}, \
             acked {}, outbox {}, cuts {}, reconnects {}, refused attempts {}, duplicate events dropped {}, \
             duplicate acks {}",
            self.label,
            self.events.keys().next_back().copied().unwrap_or(self.base_seq),
            self.contiguous_seq(),
            self.acked.len(),
            self.outbox.len(),
            self.cuts_done,
            self.reconnects,
            self.refused_attempts,
            self.duplicate_events_dropped,
            self.duplicate_acks
        )
    }

    fn cut(&mut self) {
        if let Some(mut conn) = self.conn.take() {
            conn.cut();
        }
        self.cuts_done += 1;
    }

    /// Runs the plan to completion, or fails with a summary at the deadline.
    pub async fn run(&mut self, plan: &Plan) -> Result<()> {
        let mut rng = StdRng::seed_from_u64(plan.seed);
        let mut next_send = Instant::now() + pick(&mut rng, plan.send_every_ms);
        let mut next_cut = Instant::now() + pick(&mut rng, plan.cut_every_ms);
        let mut sent = 0usize;
        let mut armed: Option<CutMode> = None;
        loop {
            let (mine, theirs) = self.own_and_other_counts();
            if sent == plan.messages
                && self.conn.is_some()
                && self.outbox.is_empty()
                && self.cuts_done >= plan.cuts
                && mine >= plan.messages
                && theirs >= plan.expect_from_other
            {
                return Ok(());
            }
            if Instant::now() >= plan.deadline {
                bail!("deadline passed (seed {}): {}", plan.seed, self.summary());
            }
            if self.conn.is_none() {
                self.reconnect(plan.deadline).await?;
                continue;
            }
            let mut wake = plan.deadline;
            if sent < plan.messages {
                wake = wake.min(next_send);
            }
            if self.cuts_done < plan.cuts {
                wake = wake.min(next_cut);
            }
            let conn = self.conn.as_mut().expect("connected");
            match conn.read_until(wake).await? {
                Some(Incoming::Frame(frame)) => {
                    self.handle(frame)?;
                    if armed == Some(CutMode::AfterNextFrame) {
                        armed = None;
                        self.cut();
                        continue;
                    }
                }
                Some(Incoming::Closed(_)) => {
                    self.conn = None;
                    continue;
                }
                None => {}
            }
            let now = Instant::now();
            if sent < plan.messages && now >= next_send {
                let client_id = ClientMsgId::try_from(format!("{}{sent}", plan.prefix))
                    .expect("valid client id");
                let body = format!("{} says message number {sent}", self.label);
                self.outbox.push((client_id.clone(), body.clone()));
                sent += 1;
                next_send = now + pick(&mut rng, plan.send_every_ms);
                if self.write_send(client_id, body).await.is_err() {
                    self.conn = None;
                    continue;
                }
                if armed == Some(CutMode::AfterNextSend) {
                    armed = None;
                    self.cut();
                    continue;
                }
            }
            if self.cuts_done < plan.cuts && now >= next_cut {
                next_cut = now + pick(&mut rng, plan.cut_every_ms);
                // A cut still armed from last time (no send or frame came since) happens now.
                // Once everything is sent, "after the next send" would never come.
                let modes = if sent < plan.messages { 3 } else { 2 };
                if armed.take().is_some() {
                    self.cut();
                } else {
                    match rng.random_range(0..modes) {
                        0 => self.cut(),
                        1 => armed = Some(CutMode::AfterNextFrame),
                        _ => armed = Some(CutMode::AfterNextSend),
                    }
                }
            }
        }
    }

    async fn write_send(&mut self, client_id: ClientMsgId, body: String) -> Result<()> {
        let conn = self.conn.as_mut().ok_or_else(|| anyhow!("not connected"))?;
        match &self.role {
            Role::Visitor { .. } => {
                conn.send_json(&VisitorCommand::Send { client_id, body })
                    .await
            }
            Role::Agent { .. } => {
                conn.send_json(&AgentCommand::Send {
                    conversation_id: self.conversation,
                    client_id,
                    body,
                })
                .await
            }
        }
    }

    fn handle(&mut self, frame: ServerFrame) -> Result<()> {
        match frame {
            ServerFrame::Event {
                conversation_id,
                seq,
                event,
                ..
            } if conversation_id == self.conversation => {
                if seq <= self.base_seq {
                    self.duplicate_events_dropped += 1;
                } else if let Some(held) = self.events.get(&seq) {
                    if *held != event {
                        bail!("{}: seq {seq} arrived twice with different events: {held:?} vs {event:?}", self.label);
                    }
                    self.duplicate_events_dropped += 1;
                } else {
                    if matches!(event, EventKind::Ended { .. } | EventKind::Requeued { .. }) {
                        bail!(
                            "{}: the chat was interrupted by {event:?} at seq {seq}",
                            self.label
                        );
                    }
                    self.events.insert(seq, event);
                }
            }
            ServerFrame::Sent {
                client_id,
                conversation_id,
                seq,
                duplicate,
            } => {
                if conversation_id != self.conversation {
                    bail!(
                        "{}: sent for {client_id} names conversation {conversation_id}",
                        self.label
                    );
                }
                if duplicate {
                    self.duplicate_acks += 1;
                }
                if let Some(earlier) = self.acked.get(client_id.as_str()) {
                    if *earlier != seq {
                        bail!(
                            "{}: {client_id} acknowledged as seq {earlier} and later as seq {seq}",
                            self.label
                        );
                    }
                }
                self.outbox.retain(|(c, _)| *c != client_id);
                self.acked.insert(client_id.to_string(), seq);
            }
            ServerFrame::Error {
                code: ErrorCode::RateLimited,
                ..
            } => {
                // The frame was dropped; the outbox still holds it and the next reconnect
                // resends it. Reconnect now, which also slows us down.
                self.refused_attempts += 1;
                if let Some(mut conn) = self.conn.take() {
                    conn.cut();
                }
            }
            ServerFrame::Error {
                code,
                message,
                client_id,
            } => {
                bail!(
                    "{}: relay refused a frame: {code:?} ({message}) client_id {client_id:?}",
                    self.label
                )
            }
            _ => {}
        }
        Ok(())
    }

    /// Connects again (backing off while the relay refuses), says hello with the resume
    /// point, waits for the welcome and resends the outbox.
    async fn reconnect(&mut self, deadline: Instant) -> Result<()> {
        let mut backoff = Duration::from_millis(50);
        loop {
            if Instant::now() >= deadline {
                bail!("deadline passed while reconnecting: {}", self.summary());
            }
            match self.try_resume(deadline).await {
                Ok(conn) => {
                    self.conn = Some(conn);
                    self.reconnects += 1;
                    let outbox = self.outbox.clone();
                    for (client_id, body) in outbox {
                        if self.write_send(client_id, body).await.is_err() {
                            self.conn = None;
                            break;
                        }
                    }
                    return Ok(());
                }
                Err(Retry::Later(_)) => {
                    self.refused_attempts += 1;
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(Duration::from_secs(1));
                }
                Err(Retry::Never(e)) => return Err(e),
            }
        }
    }

    async fn try_resume(&mut self, deadline: Instant) -> Result<WsConn, Retry> {
        let origin = match &self.role {
            Role::Visitor { origin, .. } => Some(origin.as_str()),
            Role::Agent { .. } => None,
        };
        let mut conn = match WsConn::connect(&self.url, origin, &self.label).await {
            Ok(conn) => conn,
            Err(ConnectError::Refused(status))
                if status.as_u16() == 429 || status.as_u16() == 503 =>
            {
                return Err(Retry::Later(anyhow!("upgrade refused with {status}")))
            }
            Err(ConnectError::Refused(status)) => {
                return Err(Retry::Never(anyhow!(
                    "{}: upgrade refused with {status}",
                    self.label
                )))
            }
            Err(ConnectError::Other(e)) => return Err(Retry::Later(e)),
        };
        let last_seq = self.contiguous_seq();
        let hello = match &self.role {
            Role::Visitor { token, .. } => serde_json::to_value(VisitorCommand::Hello {
                protocol: PROTOCOL_VERSION,
                site: SITE.into(),
                token: Some(token.clone()),
                last_seq: Some(last_seq),
                locale: None,
            }),
            Role::Agent { token } => serde_json::to_value(AgentCommand::Hello {
                protocol: PROTOCOL_VERSION,
                token: token.clone(),
                resume: vec![ResumePoint {
                    conversation_id: self.conversation,
                    last_seq,
                }],
            }),
        }
        .expect("hello serialises");
        if conn.send_json(&hello).await.is_err() {
            return Err(Retry::Later(anyhow!("hello could not be written")));
        }
        let wait = deadline.min(Instant::now() + crate::DEFAULT_TIMEOUT);
        loop {
            let frame = match conn.read_until(wait).await {
                Ok(Some(Incoming::Frame(frame))) => frame,
                Ok(Some(Incoming::Closed(code))) => {
                    return Err(Retry::Later(anyhow!("closed during hello: {code:?}")))
                }
                Ok(None) => {
                    return Err(Retry::Never(anyhow!(
                        "{}: no welcome within the timeout",
                        self.label
                    )))
                }
                Err(e) => return Err(Retry::Never(e)),
            };
            match frame {
                ServerFrame::VisitorWelcome { conversation, .. } => {
                    return match conversation {
                        Some(view) if view.id == self.conversation => Ok(conn),
                        other => Err(Retry::Never(anyhow!(
                            "{}: resumed welcome does not carry conversation {}: {other:?}",
                            self.label,
                            self.conversation
                        ))),
                    };
                }
                ServerFrame::AgentWelcome { conversations, .. } => {
                    return if conversations.iter().any(|c| c.id == self.conversation) {
                        Ok(conn)
                    } else {
                        Err(Retry::Never(anyhow!(
                            "{}: resumed welcome no longer lists conversation {}",
                            self.label,
                            self.conversation
                        )))
                    };
                }
                ServerFrame::Error {
                    code: ErrorCode::RateLimited | ErrorCode::Internal,
                    ..
                } => return Err(Retry::Later(anyhow!("refused during hello"))),
                ServerFrame::Error { code, message, .. } => {
                    return Err(Retry::Never(anyhow!(
                        "{}: hello refused: {code:?} ({message})",
                        self.label
                    )))
                }
                // Anything before the welcome (there should be nothing) is handled normally.
                other => self.handle(other).map_err(Retry::Never)?,
            }
        }
    }
}

fn pick(rng: &mut StdRng, (lo, hi): (u64, u64)) -> Duration {
    Duration::from_millis(rng.random_range(lo..=hi))
}

enum Retry {
    Later(#[allow(dead_code)] anyhow::Error),
    Never(anyhow::Error),
}
