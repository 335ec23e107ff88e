//! The WebSocket edge: `/ws/visitor` and `/ws/agent`. Both use the one connection shape in
//! [`connection`]; [`visitor`] and [`agent`] only say what each frame type does.

pub mod agent;
pub mod connection;
pub mod visitor;

#[cfg(test)]
mod footprint;

use crate::app::AppState;
use crate::listener::{Place, Upgrade};
use axum::extract::ws::WebSocketUpgrade;
use axum::extract::{ConnectInfo, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Extension;
use axum::Router;
use connection::{Conn, ConnContext, Endpoint};
use std::net::SocketAddr;
use std::sync::Arc;
use switchboard_shared::limits::MAX_FRAME_BYTES;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/ws/visitor", get(visitor_upgrade))
        .route("/ws/agent", get(agent_upgrade))
}

/// Small buffers keep idle connections cheap (tungstenite's default 128 KiB read buffer
/// would become resident on the first read, and it never shrinks); frames are capped at
/// `MAX_FRAME_BYTES`, so anything larger is refused before it is buffered.
fn configure(ws: WebSocketUpgrade, (read, write): Buffers) -> WebSocketUpgrade {
    ws.read_buffer_size(read)
        .write_buffer_size(write)
        .max_write_buffer_size(MAX_FRAME_BYTES * 4)
        .max_message_size(MAX_FRAME_BYTES)
        .max_frame_size(MAX_FRAME_BYTES)
}

/// A visitor's read buffer. Visitors are most connections and mostly idle, and each holds
/// its buffer for as long as it is connected; their frames are short (a chat message is a
/// few hundred bytes), and a longer one is read in several chunks. Agents, few and busy,
/// keep 1 KiB.
///
/// The write side: frames are fed and flushed once the connection has nothing more to send
/// (`Conn::send_text`); tungstenite writes early only when this much is waiting. The buffer
/// keeps the size of the largest batch, so visitors get room for an ack and the echo of their
/// message, agents (many chats, bursts of events) more.
type Buffers = (usize, usize);
const VISITOR_BUFFERS: Buffers = (256, 512);
const AGENT_BUFFERS: Buffers = (1024, 8 * 1024);

/// Longer User-Agent strings are cut: they are shown, not parsed, by the relay.
const MAX_USER_AGENT_CHARS: usize = 300;

/// The client's context, or `None` when its address is over the connection rate limit.
fn context(app: &AppState, addr: SocketAddr, headers: &HeaderMap) -> Option<ConnContext> {
    if !app.ip_limiter.allow(addr.ip()) {
        tracing::warn!(ip = %addr.ip(), "connection rate limit hit");
        return None;
    }
    let origin = headers
        .get(header::ORIGIN)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    // Only for display; a client may send anything here, so it is cut, never parsed.
    let user_agent = headers
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .map(|ua| ua.chars().take(MAX_USER_AGENT_CHARS).collect());
    Some(ConnContext {
        origin,
        user_agent,
        ip: addr.ip(),
        dev: app.dev,
        edge: app.edge.clone(),
    })
}

/// Upgrades to a WebSocket served by endpoint `E`, as a task the app can wait for.
fn upgrade<E: Endpoint + 'static>(
    buffers: Buffers,
    app: AppState,
    addr: SocketAddr,
    place: Option<&Place>,
    headers: &HeaderMap,
    ws: WebSocketUpgrade,
) -> Response {
    // The socket claims its share first: visitors may fill only theirs (agents always fit).
    let kind = if E::AGENT {
        Upgrade::Agent
    } else {
        Upgrade::Visitor
    };
    if place.is_some_and(|p| !p.upgrade(kind)) {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            [(header::RETRY_AFTER, "5")],
            "relay at capacity; retry later",
        )
            .into_response();
    }
    let Some(ctx) = context(&app, addr, headers) else {
        return (
            StatusCode::TOO_MANY_REQUESTS,
            "too many connections from this address",
        )
            .into_response();
    };
    let (chat, tasks) = (app.chat, app.connections);
    configure(ws, buffers).on_upgrade(move |socket| {
        // Its own task rather than axum's upgrade task: that one keeps its captures (the
        // upgrade config, this closure) beside our future for as long as the connection
        // lives, 2.3 KB per idle connection instead of the future's own size.
        tasks.spawn(connection::serve::<E>(Conn::new(socket, chat, ctx)));
        std::future::ready(())
    })
}

async fn visitor_upgrade(
    State(app): State<AppState>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    place: Option<Extension<Arc<Place>>>,
    headers: HeaderMap,
    ws: WebSocketUpgrade,
) -> Response {
    let place = place.as_ref().map(|Extension(p)| &**p);
    upgrade::<visitor::VisitorEndpoint>(VISITOR_BUFFERS, app, addr, place, &headers, ws)
}

async fn agent_upgrade(
    State(app): State<AppState>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    place: Option<Extension<Arc<Place>>>,
    headers: HeaderMap,
    ws: WebSocketUpgrade,
) -> Response {
    let place = place.as_ref().map(|Extension(p)| &**p);
    upgrade::<agent::AgentEndpoint>(AGENT_BUFFERS, app, addr, place, &headers, ws)
}
