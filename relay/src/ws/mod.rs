//! The WebSocket edge: `/ws/visitor` and `/ws/agent`. Both use the one connection shape in
//! [`connection`]; [`visitor`] and [`agent`] only say what each frame type does.

pub mod agent;
pub mod connection;
pub mod visitor;

use crate::app::AppState;
use axum::extract::ws::WebSocketUpgrade;
use axum::extract::{ConnectInfo, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use connection::{ConnContext, Endpoint};
use std::net::SocketAddr;
use switchboard_shared::limits::MAX_FRAME_BYTES;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/ws/visitor", get(visitor_upgrade))
        .route("/ws/agent", get(agent_upgrade))
}

/// Small buffers keep idle connections cheap (tungstenite's default 128 KiB read buffer
/// would become resident on the first read); frames are capped at `MAX_FRAME_BYTES`, so
/// anything larger is refused before it is buffered.
fn configure(ws: WebSocketUpgrade) -> WebSocketUpgrade {
    ws.read_buffer_size(1024)
        .write_buffer_size(0)
        .max_write_buffer_size(MAX_FRAME_BYTES * 4)
        .max_message_size(MAX_FRAME_BYTES)
        .max_frame_size(MAX_FRAME_BYTES)
}

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
    })
}

/// Upgrades to a WebSocket served by endpoint `E`, as a task the app can wait for.
fn upgrade<E: Endpoint + 'static>(
    app: AppState,
    addr: SocketAddr,
    headers: &HeaderMap,
    ws: WebSocketUpgrade,
) -> Response {
    let Some(ctx) = context(&app, addr, headers) else {
        return (
            StatusCode::TOO_MANY_REQUESTS,
            "too many connections from this address",
        )
            .into_response();
    };
    let tasks = app.connections.clone();
    configure(ws)
        .on_upgrade(move |socket| tasks.track_future(connection::serve::<E>(socket, app.chat, ctx)))
}

async fn visitor_upgrade(
    State(app): State<AppState>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    ws: WebSocketUpgrade,
) -> Response {
    upgrade::<visitor::VisitorEndpoint>(app, addr, &headers, ws)
}

async fn agent_upgrade(
    State(app): State<AppState>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    ws: WebSocketUpgrade,
) -> Response {
    upgrade::<agent::AgentEndpoint>(app, addr, &headers, ws)
}
