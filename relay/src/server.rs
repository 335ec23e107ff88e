//! The HTTP server loop: admitted sockets (`listener.rs`) served by hyper's HTTP/1 with a
//! header-read timeout, WebSocket upgrades, and graceful shutdown.
//!
//! Our own loop rather than `axum::serve`, which sets no timer and so no timeout: a client
//! that opens a socket and never finishes its request (slowloris) would hold it forever.
//! Here hyper closes a socket whose request head is not complete within the timeout; the
//! timer starts whenever hyper waits for a head, so it is also the idle timeout of keep-alive
//! sockets. An upgraded socket (a WebSocket) leaves hyper and is timed by the connection
//! loop instead (hello timeout, stalled writes).
//!
//! Each request carries `ConnectInfo<SocketAddr>` (as axum's own server adds it) and the
//! socket's [`Place`], which the WebSocket handlers use to claim their share.

use crate::listener::{GatedListener, Place};
use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::Request;
use axum::Router;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tower_service::Service;

/// How long a shutdown waits for HTTP requests in flight.
const DRAIN: Duration = Duration::from_secs(10);

/// Serves `app` on `listener` until `shutdown`, then lets requests in flight finish (at most
/// [`DRAIN`]). Upgraded WebSockets are not waited for here: they are tasks of their own.
pub async fn serve(
    mut listener: GatedListener,
    app: Router,
    header_timeout: Duration,
    shutdown: CancellationToken,
) {
    let tasks = TaskTracker::new();
    loop {
        let (stream, addr) = tokio::select! {
            accepted = listener.accept() => accepted,
            _ = shutdown.cancelled() => break,
        };
        let place = stream.place();
        let app = app.clone();
        let shutdown = shutdown.clone();
        tasks.spawn(async move {
            let service = hyper::service::service_fn(move |req: Request<Incoming>| {
                let mut req = req.map(Body::new);
                req.extensions_mut().insert(ConnectInfo(addr));
                req.extensions_mut().insert::<Arc<Place>>(place.clone());
                let mut app = app.clone();
                async move { Ok::<_, Infallible>(app.call(req).await.unwrap_or_else(|e| match e {})) }
            });
            let mut builder = http1::Builder::new();
            builder
                .timer(TokioTimer::new())
                .header_read_timeout(header_timeout)
                .keep_alive(true);
            let conn = builder
                .serve_connection(TokioIo::new(stream), service)
                .with_upgrades();
            tokio::pin!(conn);
            let result = tokio::select! {
                result = conn.as_mut() => result,
                _ = shutdown.cancelled() => {
                    conn.as_mut().graceful_shutdown();
                    conn.await
                }
            };
            if let Err(e) = result {
                // Timeouts, resets and malformed requests: the client's doing, not ours.
                tracing::debug!(peer = %addr, error = %e, "connection ended with an error");
            }
        });
    }
    drop(listener);
    tasks.close();
    if tokio::time::timeout(DRAIN, tasks.wait()).await.is_err() {
        tracing::warn!(
            "some HTTP requests did not finish within {} s",
            DRAIN.as_secs()
        );
    }
}
