//! The HTTP edge: the REST API under `/api/v1`, `/healthz`, and static pages.
//! [`error`] holds the one mapping from errors to responses.

pub mod api;
pub mod assets;
#[cfg(feature = "embed-assets")]
mod embedded;
pub mod error;

use crate::app::AppState;
use axum::routing::get;
use axum::Router;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/healthz", get(healthz))
        .nest("/api/v1", api::router())
}

/// Liveness: the process serves requests and the database answers.
async fn healthz(
    axum::extract::State(app): axum::extract::State<AppState>,
) -> Result<&'static str, error::ApiError> {
    app.chat.store().list_sites().await?;
    Ok("ok")
}
