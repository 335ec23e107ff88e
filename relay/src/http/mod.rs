//! The HTTP edge: the REST API under `/api/v1` (one module per feature: auth, agents,
//! conversations, canned responses, tickets), `/healthz`, and the widget's files.
//! [`error`] holds the one mapping from errors to responses; [`openapi`] the API's
//! description, generated from the handlers.

pub mod agents;
pub mod api_tokens;
pub mod assets;
pub mod auth;
pub mod canned;
pub mod conversations;
#[cfg(feature = "embed-assets")]
mod embedded;
pub mod error;
pub mod landing;
pub mod openapi;
pub mod reports;
pub mod sites;
pub mod tickets;
pub mod webhooks;

use crate::app::AppState;
use axum::extract::{DefaultBodyLimit, Request};
use axum::http::header;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;

/// Largest REST request body, in bytes. The largest real one (a ticket with a 4,000
/// character description, every field full) is under 20 KB.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

pub fn router() -> Router<AppState> {
    let (api, doc) = OpenApiRouter::with_openapi(openapi::ApiDoc::openapi())
        .nest("/api/v1", api())
        .split_for_parts();
    let doc = openapi::Document::new(&doc);
    let api = api
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(middleware::from_fn(refuse_large_bodies));
    Router::new()
        .route("/healthz", get(healthz))
        .route("/api/v1/openapi.json", get(move || async move { doc }))
        .merge(api)
}

/// 413 from the `Content-Length` alone, before a byte of the body is read; a chunked body is
/// cut off by `DefaultBodyLimit` while reading and answered 413 by [`auth::body`].
async fn refuse_large_bodies(req: Request, next: Next) -> Response {
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    if declared.is_some_and(|n| n > MAX_BODY_BYTES as u64) {
        return error::ApiError::TooLarge.into_response();
    }
    next.run(req).await
}

/// REST API v1: each feature module owns its routes and their documentation.
fn api() -> OpenApiRouter<AppState> {
    auth::router()
        .merge(agents::router())
        .merge(conversations::router())
        .merge(canned::router())
        .merge(tickets::router())
        .merge(sites::router())
        .merge(reports::router())
        .merge(api_tokens::router())
        .merge(webhooks::router())
}

/// Liveness: the process serves requests and the database answers.
async fn healthz(
    axum::extract::State(app): axum::extract::State<AppState>,
) -> Result<&'static str, error::ApiError> {
    app.store.list_sites().await?;
    Ok("ok")
}
