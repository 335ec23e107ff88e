//! One client WebSocket: bound to a chosen loopback source address (so N is not capped by
//! one address's ephemeral port range), small tungstenite buffers (so the generator's own
//! memory stays small), and the real protocol types for every frame.

use anyhow::{anyhow, bail, Context, Result};
use futures_util::{SinkExt, StreamExt};
use serde::Serialize;
use std::net::{Ipv4Addr, SocketAddr, ToSocketAddrs};
use std::time::Duration;
use switchboard_shared::ServerFrame;
use tokio::net::{TcpSocket, TcpStream};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::WebSocketStream;

pub type Ws = WebSocketStream<TcpStream>;

/// How long a connect + upgrade + welcome may take.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(30);

fn config() -> WebSocketConfig {
    // 4 KiB read buffer instead of 128 KiB. Frames wait in the write buffer until a flush
    // (`send` flushes, `feed` does not), so a typing frame and the message after it leave in
    // one write, as a browser's would: on two shared cores the generator's syscalls are CPU
    // the relay does not get.
    WebSocketConfig::default()
        .read_buffer_size(4 * 1024)
        .write_buffer_size(4 * 1024)
        .max_write_buffer_size(1024 * 1024)
        .max_message_size(Some(1024 * 1024))
        .max_frame_size(Some(1024 * 1024))
}

/// Connects from `source` to `url` (`ws://host:port/path`), sending `origin` if given.
pub async fn connect(url: &str, source: Ipv4Addr, origin: Option<&str>) -> Result<Ws> {
    let mut req = url.into_client_request().context("bad relay url")?;
    if let Some(o) = origin {
        req.headers_mut()
            .insert("Origin", HeaderValue::from_str(o).context("bad origin")?);
    }
    let uri = req.uri();
    let host = uri.host().ok_or_else(|| anyhow!("no host in {url}"))?;
    let port = uri.port_u16().unwrap_or(80);
    let dst: SocketAddr = (host, port)
        .to_socket_addrs()?
        .find(|a| a.is_ipv4())
        .ok_or_else(|| anyhow!("{host} has no IPv4 address"))?;
    let socket = TcpSocket::new_v4()?;
    socket
        .bind(SocketAddr::new(source.into(), 0))
        .with_context(|| format!("binding to {source}"))?;
    let stream = socket.connect(dst).await?;
    stream.set_nodelay(true)?;
    let (ws, _resp) = tokio_tungstenite::client_async_with_config(req, stream, Some(config()))
        .await
        .context("websocket upgrade")?;
    Ok(ws)
}

/// Sends a frame now (with whatever was fed before it).
pub async fn send_json<T: Serialize>(ws: &mut Ws, frame: &T) -> Result<()> {
    let text = serde_json::to_string(frame)?;
    ws.send(Message::text(text)).await?;
    Ok(())
}

/// Queues a frame to leave with the next [`send_json`].
pub async fn feed_json<T: Serialize>(ws: &mut Ws, frame: &T) -> Result<()> {
    let text = serde_json::to_string(frame)?;
    ws.feed(Message::text(text)).await?;
    Ok(())
}

/// What arrived on a socket.
pub enum Incoming {
    Frame(Box<ServerFrame>),
    /// A text frame that is not a `ServerFrame`.
    Unparsed,
    /// Ping/pong or anything else without meaning to us.
    Other,
    /// The connection ended: the close code as text (`eof`, `1006` for a broken socket).
    Closed(String),
}

pub fn classify(msg: Option<Result<Message, tokio_tungstenite::tungstenite::Error>>) -> Incoming {
    match msg {
        Some(Ok(Message::Text(t))) => match serde_json::from_str::<ServerFrame>(t.as_str()) {
            Ok(f) => Incoming::Frame(Box::new(f)),
            Err(_) => Incoming::Unparsed,
        },
        Some(Ok(Message::Close(c))) => {
            Incoming::Closed(c.map_or("none".into(), |c| u16::from(c.code).to_string()))
        }
        Some(Ok(_)) => Incoming::Other,
        Some(Err(_)) => Incoming::Closed("1006".into()),
        None => Incoming::Closed("eof".into()),
    }
}

/// Reads until a frame `pick` accepts (the welcome), failing on an error frame or a close.
pub async fn await_frame<T>(
    ws: &mut Ws,
    mut pick: impl FnMut(ServerFrame) -> Option<T>,
) -> Result<T> {
    loop {
        match classify(ws.next().await) {
            Incoming::Frame(f) => {
                if let ServerFrame::Error { code, .. } = &*f {
                    bail!("error frame {code:?}");
                }
                if let Some(t) = pick(*f) {
                    return Ok(t);
                }
            }
            Incoming::Closed(code) => bail!("closed ({code}) before the welcome"),
            Incoming::Unparsed | Incoming::Other => {}
        }
    }
}

/// Frame type names for the per-type counters.
pub fn frame_name(f: &ServerFrame) -> &'static str {
    match f {
        ServerFrame::VisitorWelcome { .. } => "visitor_welcome",
        ServerFrame::AgentWelcome { .. } => "agent_welcome",
        ServerFrame::Event { .. } => "event",
        ServerFrame::Sent { .. } => "sent",
        ServerFrame::Receipt { .. } => "receipt",
        ServerFrame::Typing { .. } => "typing",
        ServerFrame::Queue { .. } => "queue",
        ServerFrame::Availability { .. } => "availability",
        ServerFrame::ConversationAssigned { .. } => "conversation_assigned",
        ServerFrame::ConversationRemoved { .. } => "conversation_removed",
        ServerFrame::QueueSnapshot { .. } => "queue_snapshot",
        ServerFrame::Load(_) => "load",
        ServerFrame::Tickets { .. } => "tickets",
        ServerFrame::Error { .. } => "error",
        ServerFrame::Pong => "pong",
    }
}
