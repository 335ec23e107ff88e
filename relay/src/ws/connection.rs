//! The one shape of every WebSocket connection, visitor or agent:
//!
//! 1. wait (bounded) for `hello`; the endpoint checks it, registers with the hub and sends
//!    its welcome;
//! 2. one task, one `select!` over: shutdown, the hub's mailbox (events to forward, and
//!    the audience's latest state: availability or queue snapshot, newest only), and the
//!    socket (frames to parse and hand to the endpoint);
//! 3. after the loop, the endpoint cleans up (hub, grace period).
//!
//! One task per connection (no reader/writer split) keeps an idle connection to a single
//! small future plus its channel. Durable events are forwarded with per-conversation
//! sequence tracking: the connection subscribes first, then replays from the store, and
//! drops any live event it already sent, so a reconnecting client gets every event once,
//! in order, whatever interleaving of replay and live traffic happens.
//!
//! Memory: whatever lives across the loop's awaits is held by every idle connection for as
//! long as it stays, so the connection is its own task (not axum's upgrade task, whose
//! captures sat beside ours), `Conn` is built before the future and moved in once, and the
//! work of each select branch (greeting, a command, a delivery, cleanup) is boxed. The idle
//! future is ~0.8 KB (`ws/footprint.rs` prints it); it was 1.9 KB inside a 2.3 KB task.

use crate::conversations::encode;
use crate::conversations::{Chat, ChatError};
use crate::fanout::{ConnId, Delivery, Mail, Outbound, Party};
use crate::hops::{self, Hop};
use crate::ratelimit::{FrameLimiter, FrameQuotas};
use axum::extract::ws::{CloseFrame, Message, Utf8Bytes, WebSocket};
use futures_util::SinkExt;
use serde::de::DeserializeOwned;
// foldhash: looked up for every message, keyed by ids the relay assigns (see fanout::hub).
use foldhash::HashMap;
use std::future::Future;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};
use switchboard_shared::limits::{
    HELLO_TIMEOUT_MS, RATE_STRIKES_BEFORE_CLOSE, REPLAY_PAGE, TYPING_THROTTLE_MS,
};
use switchboard_shared::{close, ClientMsgId, ConversationId, ErrorCode, Seq, ServerFrame};
use tokio::sync::mpsc;

/// What the upgrade request told us about the client.
#[derive(Debug, Clone)]
pub struct ConnContext {
    pub origin: Option<String>,
    pub ip: IpAddr,
    /// Development mode: localhost origins are allowed.
    pub dev: bool,
    /// The upgrade request's User-Agent (cut to a sane length), shown to agents.
    pub user_agent: Option<String>,
    /// Limits every connection shares (one pointer).
    pub edge: Arc<EdgeLimits>,
}

/// What every connection is held to beyond its own frame rate.
pub struct EdgeLimits {
    /// Frames per party across its sockets, and per site.
    pub quotas: FrameQuotas,
    /// A write to the client that makes no progress this long (the client stopped reading
    /// and every buffer is full) closes the connection; it resumes after reconnecting.
    pub stalled_write: Duration,
}

impl std::fmt::Debug for EdgeLimits {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EdgeLimits")
            .field("stalled_write", &self.stalled_write)
            .finish_non_exhaustive()
    }
}

/// How long a closing connection waits for the client's half of the close handshake (and
/// reads what the client sent meanwhile), so the close frame arrives instead of a reset.
const CLOSE_LINGER: Duration = Duration::from_secs(2);

/// Per-conversation delivery state of this connection.
#[derive(Debug, Default, Clone, Copy)]
pub struct Sub {
    /// Highest sequence number sent to this client.
    pub last_sent: Seq,
    pub delivered: Seq,
    pub read: Seq,
    pub last_typing: Option<Instant>,
}

/// The socket was closed or broke: stop the loop.
#[derive(Debug)]
pub struct Gone;

pub struct Conn {
    socket: WebSocket,
    pub chat: Chat,
    pub ctx: ConnContext,
    pub conn_id: Option<ConnId>,
    pub subs: HashMap<ConversationId, Sub>,
    limiter: FrameLimiter,
    /// Whom this connection's frames count against once greeted: the party (all its
    /// sockets together) and, for visitors, the site.
    quota_key: Option<(Party, Option<Arc<str>>)>,
    strikes: u32,
    /// Frames fed to the socket since the last flush: the loop flushes once it has nothing
    /// more to send, so a burst (an ack and the echo of the same message, an agent's events)
    /// leaves in one `send` instead of one each.
    unflushed: bool,
}

/// What a frame from the client turned into.
enum Incoming<C> {
    Command(C, Option<ClientMsgId>),
    Refused(ErrorCode, Option<ClientMsgId>),
    Skip,
    Close(u16, &'static str),
    Gone,
}

/// A client endpoint: how to greet and what each command does.
pub trait Endpoint: Sized + Send {
    type Command: DeserializeOwned + Send;
    /// Whether this is the agents' endpoint (agents use the reserved share of sockets).
    const AGENT: bool;
    /// Frame types this endpoint accepts.
    const TYPES: &'static [&'static str];
    /// Frame types only the other endpoint accepts (`wrong_endpoint` rather than
    /// `unknown_type`).
    const FOREIGN_TYPES: &'static [&'static str];

    fn is_hello(cmd: &Self::Command) -> bool;

    /// The command's message id, echoed in an error about it.
    fn client_id(cmd: &Self::Command) -> Option<&ClientMsgId>;

    /// Checks `hello`, registers with the hub (setting `conn.conn_id`) and sends the
    /// welcome; returns the endpoint and the hub channel.
    fn greet(
        conn: &mut Conn,
        hello: Self::Command,
    ) -> impl Future<Output = Result<(Self, mpsc::Receiver<Delivery>), ChatError>> + Send;

    fn handle(
        &mut self,
        conn: &mut Conn,
        cmd: Self::Command,
    ) -> impl Future<Output = Result<(), ChatError>> + Send;

    /// The token hash this connection authenticated with, if any (for revocation).
    fn session_hash(&self) -> Option<[u8; 32]> {
        None
    }

    /// After the loop: unregister, start grace periods.
    fn closed(self, conn: &mut Conn) -> impl Future<Output = ()> + Send;
}

/// Errors after which the connection is closed rather than kept open.
fn closing_code(code: ErrorCode) -> Option<u16> {
    match code {
        ErrorCode::OriginNotAllowed => Some(close::POLICY),
        _ => None,
    }
}

impl Conn {
    /// From now on this connection's frames also count against `party`'s quota (every
    /// socket of it together) and `site`'s.
    pub fn count_against(&mut self, party: Party, site: Option<Arc<str>>) {
        self.quota_key = Some((party, site));
    }

    /// A connection before its `hello`. Built outside [`serve`] and moved in whole, so the
    /// socket and the rest are stored once in the task, not once as arguments and once as
    /// locals.
    pub fn new(socket: WebSocket, chat: Chat, ctx: ConnContext) -> Conn {
        Conn {
            socket,
            chat,
            ctx,
            conn_id: None,
            subs: HashMap::default(),
            limiter: FrameLimiter::new(),
            quota_key: None,
            strikes: 0,
            unflushed: false,
        }
    }
}

/// Serves one connection. A plain function returning an `async move` block, not an
/// `async fn`: an `async fn` moves its argument into a second slot of its state, and every
/// idle connection would carry `Conn` twice.
#[allow(clippy::manual_async_fn)] // deliberate, see above
pub fn serve<E: Endpoint>(mut conn: Conn) -> impl Future<Output = ()> + Send {
    async move {
        let Some((mut endpoint, greeting_rx)) = Box::pin(greeting::<E>(&mut conn)).await else {
            return;
        };
        // The mailbox the hub has delivered into since registration (events, latest state).
        let mut rx = conn.chat.hub().go_live(conn.conn_id, greeting_rx);
        // Only the greeting reads these (the endpoint keeps what it needs): an idle connection
        // should not hold the request's strings.
        conn.ctx.origin = None;
        conn.ctx.user_agent = None;

        // Phase 2: live. Whatever lives across the loop's awaits is part of every idle
        // connection's task, so the loop keeps only handles and the select's own futures.
        loop {
            // Each branch's work is one boxed future, so its locals (a parsed command, a
            // delivery) exist only while it runs, not in every idle connection's state.
            // Writes inside it wait for the socket; a client that stopped reading would hold
            // the task (and its buffers) forever, so the work is bounded by `stalled_write`.
            let step = tokio::select! {
                _ = conn.chat.shutdown_token().cancelled() => {
                    Box::pin(conn.close(close::GOING_AWAY, "relay shutting down")).await;
                    Err(Gone)
                }
                out = rx.recv() => {
                    let session = endpoint.session_hash();
                    let limit = conn.ctx.edge.stalled_write;
                    bounded(limit, Box::pin(conn.delivered(out, session))).await
                }
                msg = conn.socket.recv() => {
                    let incoming = conn.read::<E>(msg);
                    let limit = conn.ctx.edge.stalled_write;
                    bounded(limit, Box::pin(conn.incoming(&mut endpoint, incoming))).await
                }
            };
            // More mail already waiting goes out in the same write.
            if step.is_err()
                || (!rx.has_mail()
                    && bounded(conn.ctx.edge.stalled_write, Box::pin(conn.flush()))
                        .await
                        .is_err())
            {
                break;
            }
        }
        Box::pin(endpoint.closed(&mut conn)).await;
    }
}

/// `work`, or `Gone` when it has not finished after `limit`: a write that long without
/// progress means the client stopped reading. Dropping the connection frees its buffers; the
/// client resumes from its last sequence number when it reconnects.
async fn bounded<F: Future<Output = Result<(), Gone>>>(
    limit: Duration,
    work: F,
) -> Result<(), Gone> {
    match tokio::time::timeout(limit, work).await {
        Ok(result) => result,
        Err(_) => {
            tracing::warn!(
                secs = limit.as_secs(),
                "client stopped reading; closing its connection"
            );
            Err(Gone)
        }
    }
}

/// Phase 1: waits (bounded) for a valid `hello`. Its own boxed future, so its timer and
/// locals are not part of the long-lived connection state.
async fn greeting<E: Endpoint>(conn: &mut Conn) -> Option<(E, mpsc::Receiver<Delivery>)> {
    let shutdown = conn.chat.shutdown_token().clone();
    let deadline = tokio::time::sleep(Duration::from_millis(HELLO_TIMEOUT_MS));
    tokio::pin!(deadline);
    loop {
        // Whatever the last round answered (an error) goes out before waiting again.
        if Box::pin(conn.flush()).await.is_err() {
            return None;
        }
        let msg = tokio::select! {
            _ = &mut deadline => {
                Box::pin(conn.close(close::UNAUTHENTICATED, "no hello in time")).await;
                return None;
            }
            _ = shutdown.cancelled() => {
                Box::pin(conn.close(close::GOING_AWAY, "relay shutting down")).await;
                return None;
            }
            msg = conn.socket.recv() => msg,
        };
        match conn.read::<E>(msg) {
            Incoming::Command(cmd, client_id) => {
                if !E::is_hello(&cmd) {
                    if Box::pin(conn.send_error(ErrorCode::HelloRequired, client_id))
                        .await
                        .is_err()
                    {
                        return None;
                    }
                    continue;
                }
                match Box::pin(E::greet(conn, cmd)).await {
                    Ok(greeted) => {
                        // The welcome (and a returning visitor's replay) leaves now.
                        return Box::pin(conn.flush()).await.ok().map(|()| greeted);
                    }
                    Err(e) => {
                        let code = e.code();
                        if let Some(conn_id) = conn.conn_id.take() {
                            conn.chat.hub().unregister(conn_id);
                        }
                        if Box::pin(conn.send_error(code, None)).await.is_err() {
                            return None;
                        }
                        if let Some(c) = closing_code(code) {
                            Box::pin(conn.close(c, code.describe())).await;
                            return None;
                        }
                    }
                }
            }
            Incoming::Refused(code, client_id) => {
                if Box::pin(conn.send_error(code, client_id)).await.is_err() {
                    return None;
                }
            }
            Incoming::Skip => {}
            Incoming::Close(code, reason) => {
                Box::pin(conn.close(code, reason)).await;
                return None;
            }
            Incoming::Gone => return None,
        }
    }
}

impl Conn {
    /// What the hub sent, or `None`: the hub dropped this connection because it fell
    /// behind, and the client resumes after reconnecting.
    async fn delivered(
        &mut self,
        out: Option<Mail>,
        session: Option<[u8; 32]>,
    ) -> Result<(), Gone> {
        match out {
            Some(Mail::Delivery(out)) => self.outbound(out, session).await,
            Some(Mail::State(frame)) => self.send_text(frame).await,
            None => {
                self.close(close::TOO_SLOW, "too slow; reconnect and resume")
                    .await;
                Err(Gone)
            }
        }
    }

    /// Acts on a frame from the client of a greeted connection.
    async fn incoming<E: Endpoint>(
        &mut self,
        endpoint: &mut E,
        incoming: Incoming<E::Command>,
    ) -> Result<(), Gone> {
        match incoming {
            Incoming::Command(cmd, client_id) => {
                let result = if E::is_hello(&cmd) {
                    Err(ChatError::Refused(ErrorCode::AlreadyGreeted))
                } else {
                    endpoint.handle(self, cmd).await
                };
                match result {
                    Ok(()) => Ok(()),
                    Err(e) => self.send_error(e.code(), client_id).await,
                }
            }
            Incoming::Refused(code, client_id) => self.send_error(code, client_id).await,
            Incoming::Skip => Ok(()),
            Incoming::Close(code, reason) => {
                self.close(code, reason).await;
                Err(Gone)
            }
            Incoming::Gone => Err(Gone),
        }
    }

    /// Turns a socket read into a command or a refusal. Rate limiting applies to every
    /// data frame; a connection that keeps flooding is closed.
    fn read<E: Endpoint>(
        &mut self,
        msg: Option<Result<Message, axum::Error>>,
    ) -> Incoming<E::Command> {
        let text = match msg {
            None | Some(Ok(Message::Close(_))) => return Incoming::Gone,
            Some(Err(e)) => return violation(e),
            Some(Ok(Message::Ping(_) | Message::Pong(_))) => return Incoming::Skip,
            Some(Ok(Message::Binary(_))) => None,
            Some(Ok(Message::Text(t))) => Some(t),
        };
        let within_quota = self.limiter.check()
            && self
                .quota_key
                .as_ref()
                .is_none_or(|(party, site)| self.ctx.edge.quotas.check(*party, site.as_ref()));
        if !within_quota {
            self.strikes += 1;
            if self.strikes >= RATE_STRIKES_BEFORE_CLOSE {
                tracing::warn!(ip = %self.ctx.ip, "closing a flooding connection");
                return Incoming::Close(close::POLICY, "rate limit exceeded");
            }
            return Incoming::Refused(ErrorCode::RateLimited, None);
        }
        let Some(text) = text else {
            return Incoming::Refused(ErrorCode::BinaryNotSupported, None);
        };
        parse::<E>(text.as_str())
    }

    /// Queues a frame; it leaves at the next [`Conn::flush`] (the connection loop and the
    /// greeting flush before they wait), or earlier once the socket's write buffer is full.
    pub async fn send_text(&mut self, text: Utf8Bytes) -> Result<(), Gone> {
        self.unflushed = true;
        self.socket
            .feed(Message::Text(text))
            .await
            .map_err(|_| Gone)
    }

    async fn flush(&mut self) -> Result<(), Gone> {
        if !std::mem::take(&mut self.unflushed) {
            return Ok(());
        }
        let started = hops::enabled().then(Instant::now);
        let flushed = self.socket.flush().await.map_err(|_| Gone);
        if let Some(started) = started {
            hops::record(Hop::Write, started, Instant::now());
        }
        flushed
    }

    pub async fn send(&mut self, frame: &ServerFrame) -> Result<(), Gone> {
        self.send_text(encode(frame)).await
    }

    /// Tells the sender its message is stored (once) under `seq`.
    pub async fn acknowledge(
        &mut self,
        client_id: ClientMsgId,
        conversation_id: ConversationId,
        seq: Seq,
        duplicate: bool,
    ) -> Result<(), ChatError> {
        let sent = ServerFrame::Sent {
            client_id,
            conversation_id,
            seq,
            duplicate,
        };
        self.send(&sent)
            .await
            .map_err(|_| ChatError::Refused(ErrorCode::Internal))
    }

    pub async fn send_error(
        &mut self,
        code: ErrorCode,
        client_id: Option<ClientMsgId>,
    ) -> Result<(), Gone> {
        self.send(&ServerFrame::error(code, client_id)).await
    }

    /// Sends a close frame and waits (briefly) for the client's close in return, reading and
    /// dropping whatever the client sent meanwhile: closing the TCP socket with unread data
    /// in it would send a reset, and the reset often overtakes the close frame.
    async fn close(&mut self, code: u16, reason: &str) {
        let frame = CloseFrame {
            code,
            reason: Utf8Bytes::from(reason.to_string()),
        };
        let socket = &mut self.socket;
        // Best effort: the peer may already be gone, or not reading at all.
        let _ = tokio::time::timeout(CLOSE_LINGER, async move {
            if socket.send(Message::Close(Some(frame))).await.is_err() {
                return;
            }
            while let Some(Ok(msg)) = socket.recv().await {
                if matches!(msg, Message::Close(_)) {
                    break;
                }
            }
        })
        .await;
    }

    /// Forwards what the hub sent.
    async fn outbound(&mut self, out: Delivery, session: Option<[u8; 32]>) -> Result<(), Gone> {
        match &*out {
            Outbound::Event {
                conversation_id,
                seq,
                frame,
                published,
            } => {
                if hops::enabled() {
                    hops::record(Hop::Mailbox, *published, Instant::now());
                }
                let (conv, seq) = (*conversation_id, *seq);
                let Some(last) = self.subs.get(&conv).map(|s| s.last_sent) else {
                    return Ok(());
                };
                if seq <= last {
                    Ok(())
                } else if seq == last + 1 {
                    self.send_text(frame.clone()).await?;
                    if let Some(sub) = self.subs.get_mut(&conv) {
                        sub.last_sent = seq;
                    }
                    Ok(())
                } else {
                    // A gap (should not happen with ordered publishing): fill it from the store.
                    self.replay(conv).await
                }
            }
            Outbound::Frame(frame) => self.send_text(frame.clone()).await,
            Outbound::Follow {
                conversation_id,
                announce,
            } => {
                if let Some(frame) = announce {
                    self.send_text(frame.clone()).await?;
                }
                self.follow(*conversation_id, 0).await
            }
            Outbound::Unfollow {
                conversation_id,
                frame,
            } => {
                self.subs.remove(conversation_id);
                self.send_text(frame.clone()).await
            }
            Outbound::AllSessionsRevoked => {
                self.close(close::REVOKED, "session revoked").await;
                Err(Gone)
            }
            Outbound::SessionRevoked(hash) => {
                if session == Some(**hash) {
                    self.close(close::REVOKED, "session revoked").await;
                    return Err(Gone);
                }
                Ok(())
            }
        }
    }

    /// Starts following a conversation from `after`: subscribe first, then replay, so no
    /// event falls between the two.
    pub async fn follow(&mut self, conv: ConversationId, after: Seq) -> Result<(), Gone> {
        if let Some(id) = self.conn_id {
            self.chat.hub().subscribe(id, conv);
        }
        self.subs.entry(conv).or_insert(Sub {
            last_sent: after,
            delivered: after,
            read: 0,
            last_typing: None,
        });
        self.replay(conv).await
    }

    /// Sends every stored event after what this client holds, page by page.
    async fn replay(&mut self, conv: ConversationId) -> Result<(), Gone> {
        loop {
            let after = self.subs.get(&conv).map(|s| s.last_sent).unwrap_or(0);
            let events = match self
                .chat
                .store()
                .events_after(conv, after, REPLAY_PAGE)
                .await
            {
                Ok(events) => events,
                Err(e) => {
                    tracing::error!(%conv, error = %e, "replay failed; closing so the client resumes later");
                    self.close(close::TRY_AGAIN_LATER, "try again").await;
                    return Err(Gone);
                }
            };
            let n = events.len();
            for ev in events {
                self.send_text(crate::conversations::event_frame(&ev))
                    .await?;
                if let Some(sub) = self.subs.get_mut(&conv) {
                    sub.last_sent = ev.seq;
                }
            }
            if n < REPLAY_PAGE as usize {
                return Ok(());
            }
        }
    }

    /// True when a typing indicator may be forwarded now (throttled per conversation;
    /// "stopped typing" always passes).
    pub fn typing_allowed(&mut self, conv: ConversationId, active: bool) -> bool {
        let Some(sub) = self.subs.get_mut(&conv) else {
            return false;
        };
        let now = Instant::now();
        let throttle = Duration::from_millis(TYPING_THROTTLE_MS);
        if active
            && sub
                .last_typing
                .is_some_and(|t| now.duration_since(t) < throttle)
        {
            return false;
        }
        sub.last_typing = if active { Some(now) } else { None };
        true
    }

    /// Records a delivered/read receipt; refuses one beyond what was sent.
    pub fn receipt(
        &mut self,
        conv: ConversationId,
        delivered: Option<Seq>,
        read: Option<Seq>,
    ) -> Result<(Seq, Seq), ErrorCode> {
        let sub = self
            .subs
            .get_mut(&conv)
            .ok_or(ErrorCode::UnknownConversation)?;
        let claimed = delivered.or(read).unwrap_or(0);
        if claimed > sub.last_sent {
            return Err(ErrorCode::InvalidField);
        }
        if let Some(d) = delivered {
            sub.delivered = sub.delivered.max(d);
        }
        if let Some(r) = read {
            sub.read = sub.read.max(r);
            sub.delivered = sub.delivered.max(r);
        }
        Ok((sub.delivered, sub.read))
    }
}

/// A broken frame from the client: the close code for what it broke (RFC 6455 §7.4.1),
/// or `Gone` when the connection itself failed.
fn violation<C>(e: axum::Error) -> Incoming<C> {
    use tungstenite::error::{CapacityError, Error as WsError};
    let inner = e.into_inner();
    match inner.downcast_ref::<WsError>() {
        // Refused before it was buffered.
        Some(WsError::Capacity(CapacityError::MessageTooLong { .. })) => {
            Incoming::Close(close::TOO_BIG, "frame too large")
        }
        Some(WsError::Capacity(_)) => Incoming::Close(close::TOO_BIG, "too large"),
        Some(WsError::Protocol(_)) => Incoming::Close(close::PROTOCOL_ERROR, "protocol error"),
        Some(WsError::Utf8(_)) => Incoming::Close(close::INVALID_DATA, "text is not UTF-8"),
        _ => Incoming::Gone,
    }
}

/// JSON text → typed command, telling apart bad JSON, unknown types, the other endpoint's
/// types and bad fields.
fn parse<E: Endpoint>(text: &str) -> Incoming<E::Command> {
    match decode::<E>(text) {
        Ok((cmd, client_id)) => Incoming::Command(cmd, client_id),
        Err((code, client_id)) => Incoming::Refused(code, client_id),
    }
}

/// The decoder of client frames (public for the fuzz target in `fuzz/`): the command with the
/// `client_id` an error about it echoes, or the code it is refused with.
///
/// A valid frame (nearly all of them) is parsed once, straight into its type. Only a frame
/// that fails is parsed again as a `serde_json::Value`, to say why; parsing every frame
/// that way first cost ~5 % of the relay's instructions per message (callgrind,
/// docs/PERFORMANCE.md).
pub fn decode<E: Endpoint>(text: &str) -> Decoded<E::Command> {
    // A frame is a JSON object. serde would also take an array with the tag first
    // (`["ping"]`) for a tagged enum, skipping `deny_unknown_fields`; that form is refused.
    if !text.trim_start().starts_with('{') {
        return refusal::<E>(text);
    }
    match serde_json::from_str::<E::Command>(text) {
        Ok(cmd) => {
            let client_id = E::client_id(&cmd).cloned();
            Ok((cmd, client_id))
        }
        Err(_) => refusal::<E>(text),
    }
}

/// What [`decode`] answers.
pub type Decoded<C> = Result<(C, Option<ClientMsgId>), (ErrorCode, Option<ClientMsgId>)>;

/// Why a frame that is not a valid command was refused.
fn refusal<E: Endpoint>(text: &str) -> Decoded<E::Command> {
    let Ok(value) = serde_json::from_str::<serde_json::Value>(text) else {
        return Err((ErrorCode::BadJson, None));
    };
    let client_id = value
        .get("client_id")
        .and_then(serde_json::Value::as_str)
        .and_then(|s| ClientMsgId::try_from(s.to_string()).ok());
    let Some(kind) = value.get("type").and_then(serde_json::Value::as_str) else {
        return Err((ErrorCode::UnknownType, client_id));
    };
    if !E::TYPES.contains(&kind) {
        let code = if E::FOREIGN_TYPES.contains(&kind) {
            ErrorCode::WrongEndpoint
        } else {
            ErrorCode::UnknownType
        };
        return Err((code, client_id));
    }
    match serde_json::from_value::<E::Command>(value) {
        Ok(cmd) => Ok((cmd, client_id)),
        Err(_) => Err((ErrorCode::InvalidField, client_id)),
    }
}
