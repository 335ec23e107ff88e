//! The HTTP edge: the REST API under `/api/v1` (one module per feature: auth, agents,
//! conversations, canned responses, tickets), `/healthz`, and the widget's files.
//! [`error`] holds the one mapping from errors to responses.

pub mod agents;
pub mod api_tokens;
pub mod assets;
pub mod auth;
pub mod canned;
pub mod conversations;
#[cfg(feature = "embed-assets")]
mod embedded;
pub mod error;
pub mod reports;
pub mod sites;
pub mod tickets;
pub mod webhooks;

use crate::app::AppState;
use axum::routing::get;
use axum::Router;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/healthz", get(healthz))
        .nest("/api/v1", api())
}

/// REST API v1: each feature module owns its routes.
fn api() -> Router<AppState> {
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
    app.chat.store().list_sites().await?;
    Ok("ok")
}
