//! The OpenAPI document of the REST API, generated from the code: every handler carries a
//! `#[utoipa::path]` annotation and is registered with `utoipa_axum::routes!`, which adds the
//! route to the router and its description to the document in one step, so a route cannot
//! exist undocumented. Served at `GET /api/v1/openapi.json`.

use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use std::sync::Arc;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

/// Tag names, one per REST module.
pub mod tag {
    pub const AUTH: &str = "auth";
    pub const AGENTS: &str = "agents";
    pub const CONVERSATIONS: &str = "conversations";
    pub const CANNED: &str = "canned responses";
    pub const TICKETS: &str = "tickets";
    pub const SITES: &str = "sites";
    pub const REPORTS: &str = "reports";
    pub const API_TOKENS: &str = "api tokens";
    pub const WEBHOOKS: &str = "webhooks";
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Switchboard REST API",
        description = "Agents, conversations, canned responses, tickets, sites, reports, API \
            tokens and webhooks. Authenticate with `Authorization: Bearer <token>`: an agent \
            session from `POST /api/v1/auth/login`, or an API token (`sbk_…`) for the scopes \
            it was given. Errors are `{\"error\": {\"code\", \"message\"}}`. The WebSocket \
            protocol is described in docs/PROTOCOL.md."
    ),
    modifiers(&BearerAuth),
    security(("bearer" = [])),
    tags(
        (name = "auth", description = "Log in and out (agent sessions)"),
        (name = "agents", description = "Agent accounts, caps, roles, support levels"),
        (name = "conversations", description = "Chats: details, transcripts, notes"),
        (name = "canned responses", description = "Answers agents insert with /shortcut"),
        (name = "tickets", description = "The ticket workflow: SLA, escalation, replies, CSAT"),
        (name = "sites", description = "Sites embedding the widget and their settings"),
        (name = "reports", description = "Support KPIs over a date range, JSON and CSV"),
        (name = "api tokens", description = "Scoped, revocable tokens for integrations"),
        (name = "webhooks", description = "Signed event deliveries and their log"),
    )
)]
pub struct ApiDoc;

/// Every error answer: `{"error": {"code": "not_found", "message": "…"}}` (see
/// `error.rs`). Described here; the mapping builds it with `json!`.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)] // only read by the document
pub struct ErrorBody {
    error: ErrorDetail,
}

#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
struct ErrorDetail {
    /// `unauthorized`, `forbidden`, `not_found`, `conflict`, `invalid`, …
    code: String,
    message: String,
}

/// 401 and 403: what every operation behind a token can answer.
#[derive(utoipa::IntoResponses)]
#[allow(dead_code)] // only read by the document
pub enum AuthErrors {
    #[response(status = 401, description = "no valid token")]
    Unauthorized(ErrorBody),
    #[response(status = 403, description = "not allowed (role or scope)")]
    Forbidden(ErrorBody),
}

/// 422: the body or a parameter is invalid; the message says which.
#[derive(utoipa::IntoResponses)]
#[allow(dead_code)] // only read by the document
pub enum InvalidInput {
    #[response(status = 422, description = "invalid input (the message says which)")]
    Invalid(ErrorBody),
}

/// Declares the bearer scheme every operation uses.
struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, doc: &mut utoipa::openapi::OpenApi) {
        let scheme = HttpBuilder::new()
            .scheme(HttpAuthScheme::Bearer)
            .description(Some(
                "An agent session token, or an API token (`sbk_…`) with the scope the \
                 operation names",
            ))
            .build();
        doc.components
            .get_or_insert_with(Default::default)
            .add_security_scheme("bearer", SecurityScheme::Http(scheme));
    }
}

/// The document as served: encoded once at start-up.
#[derive(Clone)]
pub struct Document(Arc<Result<String, String>>);

impl Document {
    pub fn new(doc: &utoipa::openapi::OpenApi) -> Self {
        Document(Arc::new(doc.to_pretty_json().map_err(|e| e.to_string())))
    }
}

impl IntoResponse for Document {
    fn into_response(self) -> Response {
        match self.0.as_ref() {
            Ok(json) => {
                ([(header::CONTENT_TYPE, "application/json")], json.clone()).into_response()
            }
            Err(e) => {
                tracing::error!(error = %e, "the OpenAPI document could not be encoded");
                StatusCode::INTERNAL_SERVER_ERROR.into_response()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    /// Routes go through `routes!` (documented) everywhere but in the edge module itself
    /// (`/healthz`, the document), the static assets and the landing page (`/`, HTML).
    #[test]
    fn every_rest_route_is_registered_with_its_documentation() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/http");
        let mut undocumented = Vec::new();
        for entry in std::fs::read_dir(&dir).expect("src/http is readable") {
            let path = entry.expect("directory entry").path();
            let name = path
                .file_name()
                .and_then(|n| n.to_str())
                .unwrap_or_default();
            if [
                "mod.rs",
                "assets.rs",
                "embedded.rs",
                "openapi.rs",
                "landing.rs",
            ]
            .contains(&name)
            {
                continue;
            }
            let text = std::fs::read_to_string(&path).expect("source is readable");
            if text.contains(".route(\"") {
                undocumented.push(name.to_string());
            }
        }
        assert!(
            undocumented.is_empty(),
            "plain axum routes (use utoipa_axum::routes!): {undocumented:?}"
        );
    }
}
