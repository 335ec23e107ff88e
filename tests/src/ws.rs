//! One WebSocket to the relay. Frames are read into an inbox so that a test can wait for
//! the frame it cares about (`expect`) without losing the ones that arrived before it, and
//! every frame ever received is kept in `log` for whole-run assertions (loads, counts).

use crate::DEFAULT_TIMEOUT;
use anyhow::{anyhow, bail, Result};
use futures_util::{SinkExt, StreamExt};
use serde::Serialize;
use std::collections::{HashMap, VecDeque};
use std::time::Duration;
use switchboard_shared::{ConversationId, ErrorCode, Seq, ServerFrame};
use tokio::net::TcpStream;
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::{HeaderValue, StatusCode};
use tokio_tungstenite::tungstenite::{self, Message};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

pub type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// What reading the socket produced.
#[derive(Debug, Clone, PartialEq)]
#[allow(clippy::large_enum_variant)] // short-lived values; boxing would only add noise
pub enum Incoming {
    Frame(ServerFrame),
    /// The connection ended; the close code if the relay sent a close frame.
    Closed(Option<u16>),
}

/// Why a connection could not be opened.
#[derive(Debug)]
pub enum ConnectError {
    /// The HTTP upgrade was answered with this status instead of 101.
    Refused(StatusCode),
    Other(anyhow::Error),
}

impl std::fmt::Display for ConnectError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ConnectError::Refused(s) => write!(f, "upgrade refused with HTTP {s}"),
            ConnectError::Other(e) => write!(f, "{e:#}"),
        }
    }
}

impl std::error::Error for ConnectError {}

pub struct WsConn {
    socket: Option<Socket>,
    /// Frames received but not yet consumed by `next`/`expect`, oldest first.
    inbox: VecDeque<ServerFrame>,
    /// Every frame received on this connection, in order.
    pub log: Vec<ServerFrame>,
    /// Highest `seq` of an `event` frame received, per conversation (carried across
    /// reconnects by the clients, so it is what they hold).
    pub held: HashMap<ConversationId, Seq>,
    closed: Option<Option<u16>>,
    label: String,
}

impl WsConn {
    /// Opens `url`, sending `Origin` when given (browsers always do on `/ws/visitor`).
    pub async fn connect(
        url: &str,
        origin: Option<&str>,
        label: &str,
    ) -> Result<WsConn, ConnectError> {
        Self::connect_via(url, origin, label, None).await
    }

    /// As [`WsConn::connect`], from the local address `source` when given (any 127.x.y.z
    /// works on loopback), so a test can be several clients by address.
    pub async fn connect_via(
        url: &str,
        origin: Option<&str>,
        label: &str,
        source: Option<std::net::IpAddr>,
    ) -> Result<WsConn, ConnectError> {
        let mut req = url
            .into_client_request()
            .map_err(|e| ConnectError::Other(e.into()))?;
        if let Some(origin) = origin {
            let value = HeaderValue::from_str(origin).map_err(|e| ConnectError::Other(e.into()))?;
            req.headers_mut().insert("Origin", value);
        }
        let connecting = async move {
            let Some(source) = source else {
                return tokio_tungstenite::connect_async(req).await;
            };
            let uri = req.uri().clone();
            let host = uri.host().unwrap_or("127.0.0.1").to_string();
            let port = uri.port_u16().unwrap_or(80);
            let target: std::net::SocketAddr = format!("{host}:{port}")
                .parse()
                .map_err(|_| tungstenite::Error::Url(tungstenite::error::UrlError::NoHostName))?;
            let socket = tokio::net::TcpSocket::new_v4()?;
            socket.bind((source, 0).into())?;
            let stream = socket.connect(target).await?;
            tokio_tungstenite::client_async(req, tokio_tungstenite::MaybeTlsStream::Plain(stream))
                .await
        };
        match tokio::time::timeout(DEFAULT_TIMEOUT, connecting).await {
            Err(_) => Err(ConnectError::Other(anyhow!(
                "{label}: connecting to {url} timed out"
            ))),
            Ok(Err(tungstenite::Error::Http(resp))) => Err(ConnectError::Refused(resp.status())),
            Ok(Err(e)) => Err(ConnectError::Other(anyhow!(
                "{label}: connecting to {url}: {e}"
            ))),
            Ok(Ok((socket, _resp))) => Ok(WsConn {
                socket: Some(socket),
                inbox: VecDeque::new(),
                log: Vec::new(),
                held: HashMap::new(),
                closed: None,
                label: label.to_string(),
            }),
        }
    }

    pub fn label(&self) -> &str {
        &self.label
    }

    /// `Some(code)` once the connection is known to be closed.
    pub fn closed(&self) -> Option<Option<u16>> {
        self.closed
    }

    async fn write(&mut self, msg: Message) -> Result<()> {
        let label = self.label.clone();
        let socket = self
            .socket
            .as_mut()
            .ok_or_else(|| anyhow!("{label}: socket is gone"))?;
        match tokio::time::timeout(DEFAULT_TIMEOUT, socket.send(msg)).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => Err(anyhow!("{label}: write failed: {e}")),
            Err(_) => Err(anyhow!("{label}: write timed out")),
        }
    }

    pub async fn send_json<T: Serialize>(&mut self, value: &T) -> Result<()> {
        self.write(Message::text(serde_json::to_string(value)?))
            .await
    }

    pub async fn send_text(&mut self, text: impl Into<String>) -> Result<()> {
        self.write(Message::text(text.into())).await
    }

    pub async fn send_binary(&mut self, bytes: Vec<u8>) -> Result<()> {
        self.write(Message::binary(bytes)).await
    }

    /// Drops the TCP stream without a close frame, like a phone losing its network.
    pub fn cut(&mut self) {
        self.socket = None;
        self.closed = Some(None);
    }

    /// A polite close (close frame 1000).
    pub async fn close(&mut self) {
        if let Some(mut s) = self.socket.take() {
            let _ = tokio::time::timeout(Duration::from_secs(2), s.close(None)).await;
        }
        self.closed = Some(Some(1000));
    }

    /// Reads one thing from the socket itself (not the inbox), waiting at most until `deadline`.
    async fn read_socket(&mut self, deadline: Instant) -> Result<Incoming> {
        match self.poll_socket(deadline).await? {
            Some(incoming) => Ok(incoming),
            None => bail!("{}: timed out waiting for a frame", self.label),
        }
    }

    /// Like `read_socket`, but `None` when nothing arrived before `deadline`.
    async fn poll_socket(&mut self, deadline: Instant) -> Result<Option<Incoming>> {
        if let Some(code) = self.closed {
            return Ok(Some(Incoming::Closed(code)));
        }
        let label = self.label.clone();
        let socket = self
            .socket
            .as_mut()
            .ok_or_else(|| anyhow!("{label}: socket is gone"))?;
        loop {
            let next = match tokio::time::timeout_at(deadline, socket.next()).await {
                Ok(next) => next,
                Err(_) => return Ok(None),
            };
            let incoming = match next {
                Some(Ok(Message::Text(text))) => match serde_json::from_str::<ServerFrame>(&text) {
                    Ok(frame) => Incoming::Frame(frame),
                    Err(e) => {
                        bail!("{label}: relay sent a frame outside the protocol ({e}): {text}")
                    }
                },
                Some(Ok(Message::Binary(b))) => {
                    bail!("{label}: relay sent a binary frame ({} bytes)", b.len())
                }
                Some(Ok(Message::Ping(_) | Message::Pong(_) | Message::Frame(_))) => continue,
                Some(Ok(Message::Close(frame))) => {
                    Incoming::Closed(frame.map(|f| u16::from(f.code)))
                }
                Some(Err(_)) | None => Incoming::Closed(None),
            };
            match &incoming {
                Incoming::Frame(frame) => {
                    if let ServerFrame::Event {
                        conversation_id,
                        seq,
                        ..
                    } = frame
                    {
                        let held = self.held.entry(*conversation_id).or_default();
                        *held = (*held).max(*seq);
                    }
                    self.log.push(frame.clone());
                }
                Incoming::Closed(code) => {
                    self.closed = Some(*code);
                    self.socket = None;
                }
            }
            return Ok(Some(incoming));
        }
    }

    /// The next frame or close, inbox first; `None` when nothing arrived before `deadline`.
    pub async fn read_until(&mut self, deadline: Instant) -> Result<Option<Incoming>> {
        if let Some(frame) = self.inbox.pop_front() {
            return Ok(Some(Incoming::Frame(frame)));
        }
        self.poll_socket(deadline).await
    }

    /// The next frame or close, inbox first.
    pub async fn recv(&mut self, timeout: Duration) -> Result<Incoming> {
        if let Some(frame) = self.inbox.pop_front() {
            return Ok(Incoming::Frame(frame));
        }
        self.read_socket(Instant::now() + timeout).await
    }

    /// The next frame; a closed connection is an error.
    pub async fn next_frame(&mut self) -> Result<ServerFrame> {
        match self.recv(DEFAULT_TIMEOUT).await? {
            Incoming::Frame(f) => Ok(f),
            Incoming::Closed(code) => bail!(
                "{}: connection closed ({code:?}) while waiting for a frame",
                self.label
            ),
        }
    }

    /// Waits for the first frame matching `pred`, keeping every other frame in the inbox.
    /// An `error` frame that does not match fails at once (with its code), so a refused
    /// command does not turn into a ten-second timeout.
    pub async fn expect(
        &mut self,
        what: &str,
        timeout: Duration,
        pred: impl Fn(&ServerFrame) -> bool,
    ) -> Result<ServerFrame> {
        if let Some(i) = self.inbox.iter().position(&pred) {
            return Ok(self.inbox.remove(i).expect("index is in range"));
        }
        let deadline = Instant::now() + timeout;
        loop {
            match self.read_socket(deadline).await {
                Ok(Incoming::Frame(frame)) if pred(&frame) => return Ok(frame),
                Ok(Incoming::Frame(ServerFrame::Error {
                    code,
                    message,
                    client_id,
                })) => bail!(
                    "{}: expected {what}, got error {code:?} ({message}, client_id {client_id:?})",
                    self.label
                ),
                Ok(Incoming::Frame(frame)) => self.inbox.push_back(frame),
                Ok(Incoming::Closed(code)) => bail!(
                    "{}: connection closed ({code:?}) while expecting {what}; unconsumed: {:?}",
                    self.label,
                    self.inbox
                ),
                Err(e) => bail!("{e}: expected {what}; unconsumed: {:?}", self.inbox),
            }
        }
    }

    /// Waits for an `error` frame (skipping other frames into the inbox).
    pub async fn expect_error(&mut self) -> Result<(ErrorCode, Option<String>)> {
        match self
            .expect("an error frame", DEFAULT_TIMEOUT, |f| {
                matches!(f, ServerFrame::Error { .. })
            })
            .await?
        {
            ServerFrame::Error {
                code, client_id, ..
            } => Ok((code, client_id.map(|c| c.to_string()))),
            _ => unreachable!(),
        }
    }

    /// Reads until the relay closes the connection and returns the close code (None when the
    /// TCP stream ended without a close frame). Frames read meanwhile go to the inbox.
    pub async fn expect_closed(&mut self, timeout: Duration) -> Result<Option<u16>> {
        let deadline = Instant::now() + timeout;
        loop {
            match self.read_socket(deadline).await? {
                Incoming::Closed(code) => return Ok(code),
                Incoming::Frame(frame) => self.inbox.push_back(frame),
            }
        }
    }

    /// A barrier: sends `ping` and waits for `pong`. The relay answers frames of one
    /// connection in order, so every reply to an earlier frame has arrived once this returns
    /// (it sits in the inbox).
    pub async fn sync(&mut self) -> Result<()> {
        self.send_text(r#"{"type":"ping"}"#).await?;
        self.expect("pong", DEFAULT_TIMEOUT, |f| matches!(f, ServerFrame::Pong))
            .await?;
        Ok(())
    }

    /// Asserts that nothing matching `pred` arrived up to a `sync` barrier (what the relay
    /// sent in reply to this connection's earlier frames has arrived by then).
    pub async fn expect_none(
        &mut self,
        what: &str,
        pred: impl Fn(&ServerFrame) -> bool,
    ) -> Result<()> {
        self.sync().await?;
        if let Some(f) = self.inbox.iter().find(|f| pred(f)) {
            bail!("{}: expected no {what}, got {f:?}", self.label);
        }
        Ok(())
    }

    /// The position in the latest `queue` frame received so far, if any.
    pub fn latest_queue_position(&self) -> Option<u32> {
        self.log.iter().rev().find_map(|f| match f {
            ServerFrame::Queue { position, .. } => Some(*position),
            _ => None,
        })
    }

    /// Puts a frame back at the end of the inbox.
    pub fn push_back(&mut self, frame: ServerFrame) {
        self.inbox.push_back(frame);
    }

    /// Takes every unconsumed frame.
    pub fn take_inbox(&mut self) -> Vec<ServerFrame> {
        self.inbox.drain(..).collect()
    }

    /// Unconsumed frames, without taking them.
    pub fn inbox(&self) -> impl Iterator<Item = &ServerFrame> {
        self.inbox.iter()
    }
}
