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
pub mod openapi;
pub mod reports;
pub mod sites;
pub mod tickets;
pub mod webhooks;

use crate::app::AppState;
use axum::routing::get;
use axum::Router;
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;

pub fn router() -> Router<AppState> {
    let (api, doc) = OpenApiRouter::with_openapi(openapi::ApiDoc::openapi())
        .nest("/api/v1", api())
        .split_for_parts();
    let doc = openapi::Document::new(&doc);
    Router::new()
        .route("/healthz", get(healthz))
        .route("/api/v1/openapi.json", get(move || async move { doc }))
        .merge(api)
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
    app.chat.store().list_sites().await?;
    Ok("ok")
}
